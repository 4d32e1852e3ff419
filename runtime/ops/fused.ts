// Fused kernels: several ops computed in one pass over memory, as hand-written backprop does it,
// and the table telling the compiler when it may call them (transformer/phases/fuse.ts). A fusion is an
// optimization of generated f_grad / f_gradInto only: users write `relu(addBias(matmul(X, W), b))`
// and the ops' own rules still define the gradient; a fused kernel computes exactly the numbers the
// ops it replaces would have, in the same order, without storing the values between them.
//
//   forward    const XW1 = matmul(X, W1); const biased = addBias(XW1, b1); const hidden = relu(biased);
//              → const hidden = affineReluInto(out, X, W1, b1)            (XW1, biased never stored)
//   backward   addMatmulNT(dhidden, dprod, W2); ... addReluGrad(dbiased, dhidden, hidden);
//              → addMatmulNTRelu(dbiased, dprod, W2, hidden)              (dhidden never stored)
//
// The table's format:
//   forward   pattern: nested calls of matrix ops (keys of matrixRules) over parameter names, the
//             outermost op last computed; into: the fused ...Into kernel, called into(out, ...the
//             parameters in the order the pattern names them); size: the result's shape, as in a
//             MatrixRule. The compiler fuses a chain when every value inside it is read by the next
//             op alone (not by the backward pass, which a fused chain no longer gives it).
//   backward  first, then: two kernel calls, the first adding into a buffer `t` that the second
//             reads and nothing else touches; into: one kernel doing both, naming no `t`; math:
//             its comment in the generated code.

import type { Matrix } from "./matrix.js";
import { checkGradBuffer, checkNoAlias, checkOut, checkSameShape, fail, shapeOf } from "./shape.js";

/** Below this many columns, a product sums each entry as one dot product (as linear.ts's multiply). */
const NARROW = 16;

function checkAffine(op: string, out: Matrix, A: Matrix, B: Matrix, b: Matrix): void {
  if (A.cols !== B.rows)
    fail(op, `cannot multiply ${shapeOf(A)} by ${shapeOf(B)} (inner sizes ${A.cols} and ${B.rows} differ)`);
  if (b.rows !== 1 || b.cols !== B.cols)
    fail(
      op,
      `cannot broadcast a ${shapeOf(b)} bias over the rows of ${A.rows}×${B.cols} (the bias must be 1×${B.cols})`,
    );
  checkOut(op, out, A.rows, B.cols);
  checkNoAlias(op, out.data, "A", A.data);
  checkNoAlias(op, out.data, "B", B.data);
  checkNoAlias(op, out.data, "b", b.data);
}

/** out = A · B + b (b added to every row); the numbers of addBias(matmul(A, B), b). Returns out. */
export function affineInto(out: Matrix, A: Matrix, B: Matrix, b: Matrix): Matrix {
  checkAffine("affineInto", out, A, B, b);
  if (byDots(A, B)) affineByDots(out, A, B, b);
  else affineByRows(out, A, B, b);
  return out;
}

/** out = max(0, A · B + b); the numbers of relu(addBias(matmul(A, B), b)) (NaN stays NaN). Returns out. */
export function affineReluInto(out: Matrix, A: Matrix, B: Matrix, b: Matrix): Matrix {
  checkAffine("affineReluInto", out, A, B, b);
  if (byDots(A, B)) affineReluByDots(out, A, B, b);
  else affineReluByRows(out, A, B, b);
  return out;
}

// Each entry as one dot product in a local when B is narrow (scores = hidden · W2: 3 columns) or
// short (X · W1: 2 rows), the form of the hand-written loops; otherwise row by row, each row of the
// product summed, then the bias (and the ReLU) applied while the row is still in cache. Either way
// every entry is (Σₚ A[i, p] · B[p, j]) + b[j], summed in the order matmul sums it, so the result
// is the unfused ops' to the last bit. One function per order and activation, each called from
// one place: V8 compiled a function holding several of these loops, or one call site reaching
// several of them, up to 2x slower for all but the first it ran.
const byDots = (A: Matrix, B: Matrix) => B.cols < NARROW || A.cols < NARROW;

function affineByDots(out: Matrix, A: Matrix, B: Matrix, b: Matrix): void {
  const m = A.rows,
    k = A.cols,
    n = B.cols;
  const a = A.data,
    w = B.data,
    bias = b.data,
    o = out.data;
  for (let i = 0; i < m; i++) {
    const ai = i * k,
      oi = i * n;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[ai + p] * w[p * n + j];
      o[oi + j] = s + bias[j];
    }
  }
}

function affineReluByDots(out: Matrix, A: Matrix, B: Matrix, b: Matrix): void {
  const m = A.rows,
    k = A.cols,
    n = B.cols;
  const a = A.data,
    w = B.data,
    bias = b.data,
    o = out.data;
  for (let i = 0; i < m; i++) {
    const ai = i * k,
      oi = i * n;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[ai + p] * w[p * n + j];
      s += bias[j];
      o[oi + j] = s > 0 ? s : s <= 0 ? 0 : s;
    }
  }
}

/** out's row i = A's row i · B, before the bias. */
function productRow(o: Float64Array, a: Float64Array, w: Float64Array, i: number, k: number, n: number): void {
  const oi = i * n;
  for (let j = 0; j < n; j++) o[oi + j] = 0;
  for (let p = 0; p < k; p++) {
    const aip = a[i * k + p],
      wp = p * n;
    for (let j = 0; j < n; j++) o[oi + j] += aip * w[wp + j];
  }
}

function affineByRows(out: Matrix, A: Matrix, B: Matrix, b: Matrix): void {
  const m = A.rows,
    k = A.cols,
    n = B.cols;
  const a = A.data,
    w = B.data,
    bias = b.data,
    o = out.data;
  for (let i = 0; i < m; i++) {
    productRow(o, a, w, i, k, n);
    for (let j = 0; j < n; j++) o[i * n + j] += bias[j];
  }
}

function affineReluByRows(out: Matrix, A: Matrix, B: Matrix, b: Matrix): void {
  const m = A.rows,
    k = A.cols,
    n = B.cols;
  const a = A.data,
    w = B.data,
    bias = b.data,
    o = out.data;
  for (let i = 0; i < m; i++) {
    productRow(o, a, w, i, k, n);
    for (let j = 0; j < n; j++) {
      const s = o[i * n + j] + bias[j];
      o[i * n + j] = s > 0 ? s : s <= 0 ? 0 : s;
    }
  }
}

/**
 * dst += (X · Yᵀ) ⊙ (y > 0), X m×k, Y n×k, y and dst m×n: relu's gradient of a product's
 * (addReluGrad(dst, t, y) after addMatmulNT(t, X, Y) into a zero t), without t. An entry where
 * the ReLU was off costs nothing: its dot product is skipped.
 */
export function addMatmulNTRelu(dst: Matrix, X: Matrix, Y: Matrix, y: Matrix): void {
  if (X.cols !== Y.cols) {
    fail(
      "addMatmulNTRelu",
      `cannot multiply ${shapeOf(X)} by (${shapeOf(Y)})ᵀ (inner sizes ${X.cols} and ${Y.cols} differ)`,
    );
  }
  checkGradBuffer("addMatmulNTRelu", dst, X.rows, Y.rows);
  checkSameShape("addMatmulNTRelu", dst, y);
  checkNoAlias("addMatmulNTRelu", dst.data, "its first factor", X.data);
  checkNoAlias("addMatmulNTRelu", dst.data, "its second factor", Y.data);
  const m = X.rows,
    k = X.cols,
    n = Y.rows;
  const x = X.data,
    w = Y.data,
    on = y.data,
    d = dst.data;
  for (let i = 0; i < m; i++) {
    const xi = i * k,
      di = i * n;
    for (let j = 0; j < n; j++) {
      if (!(on[di + j] > 0)) continue;
      const wj = j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += x[xi + p] * w[wj + p];
      d[di + j] += s;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The table

export interface ForwardFusion {
  /** Nested op calls over parameter names: "relu(addBias(matmul(A, B), b))". */
  readonly pattern: string;
  /** The fused ...Into kernel, called into(out, ...params). */
  readonly into: string;
  /** The result's shape over the parameters, as MatrixRule.size. */
  readonly size: readonly [string, string];
  /** The fused computation, for the generated comment: "max(0, A · B + b)". */
  readonly math: string;
}

export interface BackwardFusion {
  /** A kernel adding into the temporary `t`: "addMatmulNT(t, X, Y)". */
  readonly first: string;
  /** The kernel reading `t`, adding into its own buffer: "addReluGrad(dst, t, y)". */
  readonly then: string;
  /** The one kernel doing both: "addMatmulNTRelu(dst, X, Y, y)". */
  readonly into: string;
  /** Its comment in the generated code: "dst += (X · Yᵀ) ⊙ (y > 0)". */
  readonly math: string;
}

/** Longest first: a chain is fused by the first pattern it matches. */
export const forwardFusions: readonly ForwardFusion[] = [
  {
    pattern: "relu(addBias(matmul(A, B), b))",
    into: "affineReluInto",
    size: ["A.rows", "B.cols"],
    math: "max(0, A · B + b)",
  },
  { pattern: "addBias(matmul(A, B), b)", into: "affineInto", size: ["A.rows", "B.cols"], math: "A · B + b" },
];

export const backwardFusions: readonly BackwardFusion[] = [
  {
    first: "addMatmulNT(t, X, Y)",
    then: "addReluGrad(dst, t, y)",
    into: "addMatmulNTRelu(dst, X, Y, y)",
    math: "dst += (X · Yᵀ) ⊙ (y > 0)",
  },
];
