// Linear algebra: matmul, matvec, transpose and dot, each with its ...Into variant, its backward
// kernels and its rule. The rules are the seed's (CS231n, "Gradients for vectorized operations"):
//   D = W · X   →   dW = dD · Xᵀ,  dX = Wᵀ · dD
// which dimension analysis recovers: dW must be the shape of W, and only dD · Xᵀ has that shape.
// Backward kernels add into their first argument and allocate nothing.

import type { Matrix, SameSize } from "./matrix.js";
import { accumulate, rule } from "./rule.js";
import { checkGradBuffer, checkNoAlias, checkOut, checkSameLength, fail, shapeOf } from "./shape.js";

/** Below this many columns, products sum each entry as one dot product (see multiply). */
const NARROW = 16;

// ---------------------------------------------------------------------------------------------
// matmul: y = A · B, A m×k, B k×n, y m×n

function checkMatmul(op: string, A: Matrix, B: Matrix): void {
  if (A.cols !== B.rows) {
    fail(op, `cannot multiply ${shapeOf(A)} by ${shapeOf(B)} (inner sizes ${A.cols} and ${B.rows} differ)`);
  }
}

/** A · B: matmul(2×3, 3×4) → 2×4. */
export function matmul<R extends number, K extends number, K2 extends number, C extends number>(
  A: Matrix<R, K>,
  B: Matrix<K2, C> & SameSize<K, K2, "inner sizes">,
): Matrix<R, C> {
  checkMatmul("matmul", A, B);
  const out: Matrix<R, C> = { rows: A.rows, cols: B.cols, data: new Float64Array(A.rows * B.cols) };
  multiply(out, A, B);
  return out;
}

/** out = A · B; out must not share memory with A or B. Returns out. */
export function matmulInto<R extends number, K extends number, K2 extends number, C extends number>(
  out: Matrix,
  A: Matrix<R, K>,
  B: Matrix<K2, C> & SameSize<K, K2, "inner sizes">,
): Matrix<R, C> {
  checkMatmul("matmulInto", A, B);
  checkOut("matmulInto", out, A.rows, B.cols);
  checkNoAlias("matmulInto", out.data, "A", A.data);
  checkNoAlias("matmulInto", out.data, "B", B.data);
  out.data.fill(0);
  multiply(out, A, B);
  return out as Matrix<R, C>;
}

// out += A · B. Each entry as one dot product summed in a local when B is narrow (a few columns,
// as in scores = hidden · W2, where a row-at-a-time inner loop would be a few steps long) or short
// (a few rows, as in X · W1 with 2 inputs: a row at a time would pass over out once per row), else
// in i-k-j order, the inner loop walking rows of B and out contiguously. Each order is a function
// of its own: V8 compiled one function holding both loops 1.5-2x slower, whichever ran (and the
// network's products all take the first, so their one call site reaches one loop).
function multiply(out: Matrix, A: Matrix, B: Matrix): void {
  if (B.cols < NARROW || A.cols < NARROW) multiplyByDots(out, A, B);
  else multiplyByRows(out, A, B);
}

function multiplyByDots(out: Matrix, A: Matrix, B: Matrix): void {
  const m = A.rows,
    k = A.cols,
    n = B.cols;
  const a = A.data,
    b = B.data,
    o = out.data;
  for (let i = 0; i < m; i++) {
    const ai = i * k;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[ai + p] * b[p * n + j];
      o[i * n + j] += s;
    }
  }
}

function multiplyByRows(out: Matrix, A: Matrix, B: Matrix): void {
  const m = A.rows,
    k = A.cols,
    n = B.cols;
  const a = A.data,
    b = B.data,
    o = out.data;
  for (let i = 0; i < m; i++) {
    const oi = i * n;
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p];
      const bp = p * n;
      for (let j = 0; j < n; j++) o[oi + j] += aip * b[bp + j];
    }
  }
}

/** dst += X · Yᵀ, X m×k, Y n×k, dst m×n (matmul's dA += dy · Bᵀ). */
export function addMatmulNT(dst: Matrix, X: Matrix, Y: Matrix): void {
  if (X.cols !== Y.cols) {
    fail(
      "addMatmulNT",
      `cannot multiply ${shapeOf(X)} by (${shapeOf(Y)})ᵀ (inner sizes ${X.cols} and ${Y.cols} differ)`,
    );
  }
  checkGradBuffer("addMatmulNT", dst, X.rows, Y.rows);
  checkNoAlias("addMatmulNT", dst.data, "its first factor", X.data);
  checkNoAlias("addMatmulNT", dst.data, "its second factor", Y.data);
  const m = X.rows,
    k = X.cols,
    n = Y.rows;
  const x = X.data,
    yv = Y.data,
    d = dst.data;
  for (let i = 0; i < m; i++) {
    const xi = i * k;
    for (let j = 0; j < n; j++) {
      const yj = j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += x[xi + p] * yv[yj + p];
      d[i * n + j] += s;
    }
  }
}

/** dst += Xᵀ · Y, X k×m, Y k×n, dst m×n (matmul's dB += Aᵀ · dy). */
export function addMatmulTN(dst: Matrix, X: Matrix, Y: Matrix): void {
  if (X.rows !== Y.rows) {
    fail(
      "addMatmulTN",
      `cannot multiply (${shapeOf(X)})ᵀ by ${shapeOf(Y)} (inner sizes ${X.rows} and ${Y.rows} differ)`,
    );
  }
  checkGradBuffer("addMatmulTN", dst, X.cols, Y.cols);
  checkNoAlias("addMatmulTN", dst.data, "its first factor", X.data);
  checkNoAlias("addMatmulTN", dst.data, "its second factor", Y.data);
  // A narrow Y (dW2 += hiddenᵀ · dscores) or a short X (dW1 += Xᵀ · dXW1, 2 inputs): one dot
  // product per entry, summed in a local; else row by row. One function per order, as for multiply.
  if (Y.cols < NARROW || X.cols < NARROW) addProductTNByDots(dst, X, Y);
  else addProductTNByRows(dst, X, Y);
}

function addProductTNByDots(dst: Matrix, X: Matrix, Y: Matrix): void {
  const k = X.rows,
    m = X.cols,
    n = Y.cols;
  const x = X.data,
    yv = Y.data,
    d = dst.data;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += x[p * m + i] * yv[p * n + j];
      d[i * n + j] += s;
    }
  }
}

function addProductTNByRows(dst: Matrix, X: Matrix, Y: Matrix): void {
  const k = X.rows,
    m = X.cols,
    n = Y.cols;
  const x = X.data,
    yv = Y.data,
    d = dst.data;
  for (let p = 0; p < k; p++) {
    for (let i = 0; i < m; i++) {
      const xpi = x[p * m + i];
      const di = i * n,
        yp = p * n;
      for (let j = 0; j < n; j++) d[di + j] += xpi * yv[yp + j];
    }
  }
}

const matmulRule = rule({
  math: "y = A · B",
  params: ["A", "B"],
  kinds: ["matrix", "matrix"],
  output: "matrix",
  into: "matmulInto",
  size: ["A.rows", "B.cols"],
  grads: [accumulate("addMatmulNT(dA, dy, B)", "dA += dy · Bᵀ"), accumulate("addMatmulTN(dB, A, dy)", "dB += Aᵀ · dy")],
});

// ---------------------------------------------------------------------------------------------
// matvec: y = A · x, A m×n, x and y vectors (Float64Array) of lengths n and m

function checkMatvec(op: string, A: Matrix, x: Float64Array): void {
  if (A.cols !== x.length) {
    fail(
      op,
      `cannot multiply ${shapeOf(A)} by a vector of length ${x.length} (inner sizes ${A.cols} and ${x.length} differ)`,
    );
  }
}

/** A · x for a vector x: matvec(2×3, length 3) → length 2. */
export function matvec(A: Matrix, x: Float64Array): Float64Array {
  checkMatvec("matvec", A, x);
  const out = new Float64Array(A.rows);
  multiplyVector(out, A, x);
  return out;
}

/** out = A · x; out must not share memory with A or x. Returns out. */
export function matvecInto(out: Float64Array, A: Matrix, x: Float64Array): Float64Array {
  checkMatvec("matvecInto", A, x);
  if (out.length !== A.rows) fail("matvecInto", `out has length ${out.length}, the result has length ${A.rows}`);
  checkNoAlias("matvecInto", out, "A", A.data);
  checkNoAlias("matvecInto", out, "x", x);
  multiplyVector(out, A, x);
  return out;
}

function multiplyVector(out: Float64Array, A: Matrix, x: Float64Array): void {
  const m = A.rows,
    n = A.cols,
    a = A.data;
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += a[i * n + j] * x[j];
    out[i] = s;
  }
}

/** dst += u · vᵀ (the outer product), u of length m, v of length n, dst m×n (matvec's dA += dy · xᵀ). */
export function addOuter(dst: Matrix, u: Float64Array, v: Float64Array): void {
  checkGradBuffer("addOuter", dst, u.length, v.length);
  const m = u.length,
    n = v.length,
    d = dst.data;
  for (let i = 0; i < m; i++) {
    const ui = u[i];
    for (let j = 0; j < n; j++) d[i * n + j] += ui * v[j];
  }
}

/** dst += Aᵀ · v, A m×n, v of length m, dst of length n (matvec's dx += Aᵀ · dy). */
export function addMatvecT(dst: Float64Array, A: Matrix, v: Float64Array): void {
  if (A.rows !== v.length) {
    fail(
      "addMatvecT",
      `cannot multiply (${shapeOf(A)})ᵀ by a vector of length ${v.length} (inner sizes ${A.rows} and ${v.length} differ)`,
    );
  }
  if (dst.length !== A.cols)
    fail("addMatvecT", `cannot add a gradient of length ${A.cols} into a buffer of length ${dst.length}`);
  checkNoAlias("addMatvecT", dst, "its vector", v);
  const m = A.rows,
    n = A.cols,
    a = A.data;
  for (let i = 0; i < m; i++) {
    const vi = v[i];
    for (let j = 0; j < n; j++) dst[j] += a[i * n + j] * vi;
  }
}

const matvecRule = rule({
  math: "y = A · x",
  params: ["A", "x"],
  kinds: ["matrix", "vector"],
  output: "vector",
  into: "matvecInto",
  size: ["A.rows"],
  grads: [accumulate("addOuter(dA, dy, x)", "dA += dy · xᵀ"), accumulate("addMatvecT(dx, A, dy)", "dx += Aᵀ · dy")],
});

// ---------------------------------------------------------------------------------------------
// transpose: y = Aᵀ, A m×n, y n×m

/** Aᵀ: transpose(2×3) → 3×2. */
export function transpose<R extends number, C extends number>(A: Matrix<R, C>): Matrix<C, R> {
  const out: Matrix<C, R> = { rows: A.cols, cols: A.rows, data: new Float64Array(A.rows * A.cols) };
  transposeData(out.data, A);
  return out;
}

/** out = Aᵀ; out must not share memory with A. Returns out. */
export function transposeInto<R extends number, C extends number>(out: Matrix, A: Matrix<R, C>): Matrix<C, R> {
  checkOut("transposeInto", out, A.cols, A.rows);
  checkNoAlias("transposeInto", out.data, "A", A.data);
  transposeData(out.data, A);
  return out as Matrix<C, R>;
}

function transposeData(o: Float64Array, A: Matrix): void {
  const m = A.rows,
    n = A.cols,
    a = A.data;
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) o[j * m + i] = a[i * n + j];
}

/** dst += Xᵀ, X m×n, dst n×m (transpose's dA += dyᵀ). */
export function addTransposed(dst: Matrix, X: Matrix): void {
  checkGradBuffer("addTransposed", dst, X.cols, X.rows);
  checkNoAlias("addTransposed", dst.data, "its operand", X.data);
  const m = X.rows,
    n = X.cols,
    x = X.data,
    d = dst.data;
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) d[j * m + i] += x[i * n + j];
}

const transposeRule = rule({
  math: "y = Aᵀ",
  params: ["A"],
  kinds: ["matrix"],
  output: "matrix",
  into: "transposeInto",
  size: ["A.cols", "A.rows"],
  grads: [accumulate("addTransposed(dA, dy)", "dA += dyᵀ")],
});

// ---------------------------------------------------------------------------------------------
// dot: y = a · b = Σ a[i] b[i], a and b vectors of one length, y a number

/** The dot product of two vectors: dot([1, 2], [3, 4]) → 11. */
export function dot(a: Float64Array, b: Float64Array): number {
  checkSameLength("dot", "vector", a, b);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

const dotRule = rule({
  math: "y = a · b",
  params: ["a", "b"],
  kinds: ["vector", "vector"],
  output: "number",
  into: null,
  grads: [accumulate("addScaled(da, b, dy)", "da += dy · b"), accumulate("addScaled(db, a, dy)", "db += dy · a")],
});

export const linearRules = {
  matmul: matmulRule,
  matvec: matvecRule,
  transpose: transposeRule,
  dot: dotRule,
};
