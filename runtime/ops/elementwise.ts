// Element-wise arithmetic on matrices of one shape (add, sub, mul), scaling by a number, and a
// bias row broadcast over the rows; each with its ...Into variant, its rule, and the accumulation
// kernels its rule calls. The kernels that only add a gradient in (addTo, subFrom, addScaled,
// addConstant) take matrices or vectors, so any op's rule may use them.
//
// Element-wise ...Into variants may write over an operand: addInto(A, A, B) is A += B.

import type { Matrix, SameSize } from "./matrix.js";
import { accumulate, contribution, rule } from "./rule.js";
import {
  checkElementwiseAlias,
  checkGradBuffer,
  checkNoAlias,
  checkOut,
  checkSameShape,
  fail,
  gradData,
  shapeOf,
} from "./shape.js";

function result<R extends number, C extends number>(A: Matrix<R, C>): Matrix<R, C> {
  return { rows: A.rows, cols: A.cols, data: new Float64Array(A.rows * A.cols) };
}

function checkBinaryInto(op: string, out: Matrix, A: Matrix, B: Matrix): void {
  checkSameShape(op, A, B);
  checkOut(op, out, A.rows, A.cols);
  checkElementwiseAlias(op, out.data, "A", A.data);
  checkElementwiseAlias(op, out.data, "B", B.data);
}

// ---------------------------------------------------------------------------------------------
// Accumulation kernels shared by the rules: they add into dst and allocate nothing.

/** dst += X (matrices of one shape, or vectors of one length). */
export function addTo(dst: Matrix | Float64Array, X: Matrix | Float64Array): void {
  const d = gradData("addTo", dst, X),
    x = X instanceof Float64Array ? X : X.data;
  for (let i = 0; i < d.length; i++) d[i] += x[i];
}

/** dst -= X (matrices of one shape, or vectors of one length). */
export function subFrom(dst: Matrix | Float64Array, X: Matrix | Float64Array): void {
  const d = gradData("subFrom", dst, X),
    x = X instanceof Float64Array ? X : X.data;
  for (let i = 0; i < d.length; i++) d[i] -= x[i];
}

/** dst += s · X (matrices of one shape, or vectors of one length). */
export function addScaled(dst: Matrix | Float64Array, X: Matrix | Float64Array, s: number): void {
  const d = gradData("addScaled", dst, X),
    x = X instanceof Float64Array ? X : X.data;
  for (let i = 0; i < d.length; i++) d[i] += s * x[i];
}

/** dst[i] += c for every entry (a matrix or a vector). */
export function addConstant(dst: Matrix | Float64Array, c: number): void {
  const d = dst instanceof Float64Array ? dst : dst.data;
  for (let i = 0; i < d.length; i++) d[i] += c;
}

/** dst += X ⊙ Y, the element-wise product (matrices of one shape). */
export function addMul(dst: Matrix, X: Matrix, Y: Matrix): void {
  checkSameShape("addMul", X, Y);
  checkGradBuffer("addMul", dst, X.rows, X.cols);
  const d = dst.data,
    x = X.data,
    y = Y.data;
  for (let i = 0; i < d.length; i++) d[i] += x[i] * y[i];
}

/** Σ X ⊙ Y, the sum of the element-wise product of two matrices of one shape (scale's ds). */
export function innerProduct(X: Matrix, Y: Matrix): number {
  checkSameShape("innerProduct", X, Y);
  const x = X.data,
    y = Y.data;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

// ---------------------------------------------------------------------------------------------
// add: y = A + B

/** A + B, entry by entry. */
export function add<R extends number, C extends number, R2 extends number, C2 extends number>(
  A: Matrix<R, C>,
  B: Matrix<R2, C2> & SameSize<R, R2, "row counts"> & SameSize<C, C2, "column counts">,
): Matrix<R, C> {
  checkSameShape("add", A, B);
  return addInto(result(A), A, B);
}

/** out = A + B; out may be A or B. Returns out. */
export function addInto<R extends number, C extends number, R2 extends number, C2 extends number>(
  out: Matrix,
  A: Matrix<R, C>,
  B: Matrix<R2, C2> & SameSize<R, R2, "row counts"> & SameSize<C, C2, "column counts">,
): Matrix<R, C> {
  checkBinaryInto("addInto", out, A, B);
  const o = out.data,
    a = A.data,
    b = B.data;
  for (let i = 0; i < o.length; i++) o[i] = a[i] + b[i];
  return out as Matrix<R, C>;
}

const addRule = rule({
  math: "y = A + B",
  params: ["A", "B"],
  kinds: ["matrix", "matrix"],
  output: "matrix",
  into: "addInto",
  grads: [accumulate("addTo(dA, dy)", "dA += dy"), accumulate("addTo(dB, dy)", "dB += dy")],
});

// ---------------------------------------------------------------------------------------------
// sub: y = A - B

/** A - B, entry by entry. */
export function sub<R extends number, C extends number, R2 extends number, C2 extends number>(
  A: Matrix<R, C>,
  B: Matrix<R2, C2> & SameSize<R, R2, "row counts"> & SameSize<C, C2, "column counts">,
): Matrix<R, C> {
  checkSameShape("sub", A, B);
  return subInto(result(A), A, B);
}

/** out = A - B; out may be A or B. Returns out. */
export function subInto<R extends number, C extends number, R2 extends number, C2 extends number>(
  out: Matrix,
  A: Matrix<R, C>,
  B: Matrix<R2, C2> & SameSize<R, R2, "row counts"> & SameSize<C, C2, "column counts">,
): Matrix<R, C> {
  checkBinaryInto("subInto", out, A, B);
  const o = out.data,
    a = A.data,
    b = B.data;
  for (let i = 0; i < o.length; i++) o[i] = a[i] - b[i];
  return out as Matrix<R, C>;
}

const subRule = rule({
  math: "y = A - B",
  params: ["A", "B"],
  kinds: ["matrix", "matrix"],
  output: "matrix",
  into: "subInto",
  grads: [accumulate("addTo(dA, dy)", "dA += dy"), accumulate("subFrom(dB, dy)", "dB -= dy")],
});

// ---------------------------------------------------------------------------------------------
// mul: y = A ⊙ B (element-wise; matmul is the matrix product)

/** A ⊙ B, entry by entry. */
export function mul<R extends number, C extends number, R2 extends number, C2 extends number>(
  A: Matrix<R, C>,
  B: Matrix<R2, C2> & SameSize<R, R2, "row counts"> & SameSize<C, C2, "column counts">,
): Matrix<R, C> {
  checkSameShape("mul", A, B);
  return mulInto(result(A), A, B);
}

/** out = A ⊙ B; out may be A or B. Returns out. */
export function mulInto<R extends number, C extends number, R2 extends number, C2 extends number>(
  out: Matrix,
  A: Matrix<R, C>,
  B: Matrix<R2, C2> & SameSize<R, R2, "row counts"> & SameSize<C, C2, "column counts">,
): Matrix<R, C> {
  checkBinaryInto("mulInto", out, A, B);
  const o = out.data,
    a = A.data,
    b = B.data;
  for (let i = 0; i < o.length; i++) o[i] = a[i] * b[i];
  return out as Matrix<R, C>;
}

const mulRule = rule({
  math: "y = A ⊙ B",
  params: ["A", "B"],
  kinds: ["matrix", "matrix"],
  output: "matrix",
  into: "mulInto",
  grads: [accumulate("addMul(dA, dy, B)", "dA += dy ⊙ B"), accumulate("addMul(dB, dy, A)", "dB += dy ⊙ A")],
});

// ---------------------------------------------------------------------------------------------
// scale: y = s · A, s a number

/** s · A. */
export function scale<R extends number, C extends number>(A: Matrix<R, C>, s: number): Matrix<R, C> {
  return scaleInto(result(A), A, s);
}

/** out = s · A; out may be A. Returns out. */
export function scaleInto<R extends number, C extends number>(out: Matrix, A: Matrix<R, C>, s: number): Matrix<R, C> {
  checkOut("scaleInto", out, A.rows, A.cols);
  checkElementwiseAlias("scaleInto", out.data, "A", A.data);
  const o = out.data,
    a = A.data;
  for (let i = 0; i < o.length; i++) o[i] = s * a[i];
  return out as Matrix<R, C>;
}

const scaleRule = rule({
  math: "y = s · A",
  params: ["A", "s"],
  kinds: ["matrix", "number"],
  output: "matrix",
  into: "scaleInto",
  grads: [accumulate("addScaled(dA, dy, s)", "dA += s · dy"), contribution("innerProduct(dy, A)", "ds += Σ dy ⊙ A")],
});

// ---------------------------------------------------------------------------------------------
// addBias: y[i, j] = A[i, j] + b[0, j], b a 1×cols row broadcast over the rows of A

function checkBias(op: string, A: Matrix, b: Matrix): void {
  if (b.rows !== 1 || b.cols !== A.cols) {
    fail(op, `cannot broadcast a ${shapeOf(b)} bias over the rows of ${shapeOf(A)} (the bias must be 1×${A.cols})`);
  }
}

/** A with the row b added to each of its rows: addBias(N×H, 1×H) → N×H. */
export function addBias<R extends number, C extends number, C2 extends number>(
  A: Matrix<R, C>,
  b: Matrix<number, C2> & SameSize<C, C2, "column counts">,
): Matrix<R, C> {
  checkBias("addBias", A, b);
  return addBiasInto(result(A), A, b);
}

/** out = A + b on every row; out may be A. Returns out. */
export function addBiasInto<R extends number, C extends number, C2 extends number>(
  out: Matrix,
  A: Matrix<R, C>,
  b: Matrix<number, C2> & SameSize<C, C2, "column counts">,
): Matrix<R, C> {
  checkBias("addBiasInto", A, b);
  checkOut("addBiasInto", out, A.rows, A.cols);
  checkElementwiseAlias("addBiasInto", out.data, "A", A.data);
  // b is read again for every row, so out may be b only when there is one row.
  if (A.rows > 1) checkNoAlias("addBiasInto", out.data, "b", b.data);
  else checkElementwiseAlias("addBiasInto", out.data, "b", b.data);
  const m = A.rows,
    n = A.cols,
    o = out.data,
    a = A.data,
    bias = b.data;
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) o[i * n + j] = a[i * n + j] + bias[j];
  return out as Matrix<R, C>;
}

/** dst[0, j] += Σᵢ X[i, j]: the column sums of X added into a 1×cols row (addBias's db). */
export function addColumnSums(dst: Matrix, X: Matrix): void {
  checkGradBuffer("addColumnSums", dst, 1, X.cols);
  const m = X.rows,
    n = X.cols,
    d = dst.data,
    x = X.data;
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) d[j] += x[i * n + j];
}

const addBiasRule = rule({
  math: "y = A + b (b added to every row)",
  params: ["A", "b"],
  kinds: ["matrix", "matrix"],
  output: "matrix",
  into: "addBiasInto",
  grads: [accumulate("addTo(dA, dy)", "dA += dy"), accumulate("addColumnSums(db, dy)", "db += Σᵢ dy[i, :]")],
});

export const elementwiseRules = {
  add: addRule,
  sub: subRule,
  mul: mulRule,
  scale: scaleRule,
  addBias: addBiasRule,
};
