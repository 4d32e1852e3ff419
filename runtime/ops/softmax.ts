// Row-wise softmax, logSumExp and the softmax cross-entropy loss, numerically stable: every
// exponent has its row's maximum subtracted first, so exp never overflows.
//   softmax([[1000, 1001]])  →  [[0.2689…, 0.7310…]]   (not NaN from Infinity / Infinity)
// Each row of the input is one example, each column one class, as in the CS231n classifiers.
// The backward kernels recompute what they need from the row (no temporary arrays).

import type { Matrix } from "./matrix.js";
import { accumulate, rule } from "./rule.js";
import {
  checkElementwiseAlias,
  checkGradBuffer,
  checkNoAlias,
  checkOut,
  checkSameShape,
  fail,
  shapeOf,
} from "./shape.js";

/** The largest entry of row i, NaN if the row holds a NaN, -Infinity for an empty row. */
function rowMax(a: Float64Array, start: number, n: number): number {
  let m = -Infinity;
  for (let j = start; j < start + n; j++) {
    const v = a[j];
    if (v > m || v !== v) m = v;
    if (m !== m) break;
  }
  return m;
}

/** log Σⱼ exp(a[j]) over row i, computed as m + log Σ exp(a[j] - m) with m the row's max. */
function rowLogSumExp(a: Float64Array, start: number, n: number): number {
  const m = rowMax(a, start, n);
  if (m === Infinity || m === -Infinity || m !== m) return m;
  let s = 0;
  for (let j = start; j < start + n; j++) s += Math.exp(a[j] - m);
  return m + Math.log(s);
}

// ---------------------------------------------------------------------------------------------
// softmax: y[i, j] = exp(A[i, j]) / Σₖ exp(A[i, k]), each row of y sums to 1

/** The softmax of each row of A: softmax([[0, ln 3]]) → [[0.25, 0.75]]. */
export function softmax<R extends number, C extends number>(A: Matrix<R, C>): Matrix<R, C> {
  return softmaxInto({ rows: A.rows, cols: A.cols, data: new Float64Array(A.rows * A.cols) }, A);
}

/** out = softmax(A) row by row; out may be A. Returns out. */
export function softmaxInto<R extends number, C extends number>(out: Matrix, A: Matrix<R, C>): Matrix<R, C> {
  checkOut("softmaxInto", out, A.rows, A.cols);
  checkElementwiseAlias("softmaxInto", out.data, "A", A.data);
  const m = A.rows,
    n = A.cols,
    a = A.data,
    o = out.data;
  for (let i = 0; i < m; i++) {
    const start = i * n,
      max = rowMax(a, start, n);
    let s = 0;
    for (let j = start; j < start + n; j++) {
      o[j] = Math.exp(a[j] - max);
      s += o[j];
    }
    for (let j = start; j < start + n; j++) o[j] /= s;
  }
  return out as Matrix<R, C>;
}

/** dst[i, :] += y[i, :] ⊙ (dy[i, :] - Σⱼ dy[i, j] y[i, j]): softmax's gradient, row by row, from its output. */
export function addSoftmaxGrad(dst: Matrix, dy: Matrix, y: Matrix): void {
  checkSameShape("addSoftmaxGrad", dy, y);
  checkGradBuffer("addSoftmaxGrad", dst, y.rows, y.cols);
  const m = y.rows,
    n = y.cols,
    d = dst.data,
    g = dy.data,
    v = y.data;
  for (let i = 0; i < m; i++) {
    const start = i * n;
    let inner = 0;
    for (let j = start; j < start + n; j++) inner += g[j] * v[j];
    for (let j = start; j < start + n; j++) d[j] += v[j] * (g[j] - inner);
  }
}

const softmaxRule = rule({
  math: "y = softmax(A) (each row)",
  params: ["A"],
  kinds: ["matrix"],
  output: "matrix",
  into: "softmaxInto",
  grads: [accumulate("addSoftmaxGrad(dA, dy, y)", "dA += y ⊙ (dy - Σⱼ dy ⊙ y) (each row)")],
});

// ---------------------------------------------------------------------------------------------
// logSumExp: y[i, 0] = log Σⱼ exp(A[i, j]); y is a rows×1 column, so it stays a Matrix and
// broadcasts like one (sum, mean, scale and sub with another rows×1 column all apply to it)

/** log Σⱼ exp(A[i, j]) for each row i, as a rows×1 matrix: logSumExp(2×3) → 2×1. */
export function logSumExp<R extends number, C extends number>(A: Matrix<R, C>): Matrix<R, 1> {
  return logSumExpInto({ rows: A.rows, cols: 1, data: new Float64Array(A.rows) }, A);
}

/** out = logSumExp(A), out a rows×1 matrix not sharing memory with A. Returns out. */
export function logSumExpInto<R extends number, C extends number>(out: Matrix, A: Matrix<R, C>): Matrix<R, 1> {
  checkOut("logSumExpInto", out, A.rows, 1);
  checkNoAlias("logSumExpInto", out.data, "A", A.data);
  const m = A.rows,
    n = A.cols,
    a = A.data,
    o = out.data;
  for (let i = 0; i < m; i++) o[i] = rowLogSumExp(a, i * n, n);
  return out as Matrix<R, 1>;
}

/** dst[i, j] += dy[i, 0] · exp(A[i, j] - y[i, 0]): the row's softmax, recomputed from A and y, times dy. */
export function addLogSumExpGrad(dst: Matrix, dy: Matrix, A: Matrix, y: Matrix): void {
  if (y.rows !== A.rows || y.cols !== 1)
    fail("addLogSumExpGrad", `y is ${shapeOf(y)}, logSumExp of ${shapeOf(A)} is ${A.rows}×1`);
  checkSameShape("addLogSumExpGrad", dy, y);
  checkGradBuffer("addLogSumExpGrad", dst, A.rows, A.cols);
  const m = A.rows,
    n = A.cols,
    d = dst.data,
    a = A.data;
  for (let i = 0; i < m; i++) {
    const g = dy.data[i],
      lse = y.data[i];
    for (let j = i * n; j < (i + 1) * n; j++) d[j] += g * Math.exp(a[j] - lse);
  }
}

const logSumExpRule = rule({
  math: "y = log Σⱼ exp(A[:, j]) (each row, y a column)",
  params: ["A"],
  kinds: ["matrix"],
  output: "matrix",
  into: "logSumExpInto",
  size: ["A.rows", "1"],
  grads: [accumulate("addLogSumExpGrad(dA, dy, A, y)", "dA += dy ⊙ exp(A - y) (dy, y broadcast over each row)")],
});

// ---------------------------------------------------------------------------------------------
// softmaxCrossEntropy: y = (1/N) Σᵢ -log softmax(scores)[i, labels[i]]
//                        = (1/N) Σᵢ (logSumExp(scores)[i] - scores[i, labels[i]])

/** Class labels: labels[i] is the class (column) of example (row) i. */
export type Labels = Int32Array | readonly number[];

function checkLabels(op: string, scores: Matrix, labels: Labels): void {
  if (labels.length !== scores.rows) {
    fail(op, `${labels.length} labels for ${shapeOf(scores)} scores (one label per row is needed)`);
  }
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0 || c >= scores.cols) {
      fail(op, `label ${c} of row ${i} is not a class of ${shapeOf(scores)} scores (0 to ${scores.cols - 1})`);
    }
  }
}

/**
 * The softmax classifier's loss: the mean over the rows of -log of the probability softmax gives
 * the row's label. softmaxCrossEntropy(fromRows([[0, 0]]), [1]) → log 2. NaN for no rows.
 */
export function softmaxCrossEntropy(scores: Matrix, labels: Labels): number {
  checkLabels("softmaxCrossEntropy", scores, labels);
  const m = scores.rows,
    n = scores.cols,
    a = scores.data;
  let total = 0;
  for (let i = 0; i < m; i++) total += rowLogSumExp(a, i * n, n) - a[i * n + labels[i]];
  return total / m;
}

/** dst += dy · (softmax(scores) - onehot(labels)) / N, the softmax recomputed row by row. */
export function addSoftmaxCrossEntropyGrad(dst: Matrix, dy: number, scores: Matrix, labels: Labels): void {
  checkLabels("addSoftmaxCrossEntropyGrad", scores, labels);
  checkGradBuffer("addSoftmaxCrossEntropyGrad", dst, scores.rows, scores.cols);
  const m = scores.rows,
    n = scores.cols,
    a = scores.data,
    d = dst.data,
    g = dy / m;
  for (let i = 0; i < m; i++) {
    const start = i * n,
      max = rowMax(a, start, n);
    let s = 0;
    for (let j = start; j < start + n; j++) s += Math.exp(a[j] - max);
    const gs = g / s;
    for (let j = start; j < start + n; j++) d[j] += gs * Math.exp(a[j] - max);
    d[start + labels[i]] -= g;
  }
}

const softmaxCrossEntropyRule = rule({
  math: "y = mean over rows i of -log softmax(scores)[i, labels[i]]",
  params: ["scores", "labels"],
  kinds: ["matrix", "labels"],
  output: "number",
  into: null,
  grads: [
    accumulate(
      "addSoftmaxCrossEntropyGrad(dscores, dy, scores, labels)",
      "dscores += dy · (softmax(scores) - onehot(labels)) / N",
    ),
    null,
  ],
});

export const softmaxRules = {
  softmax: softmaxRule,
  logSumExp: logSumExpRule,
  softmaxCrossEntropy: softmaxCrossEntropyRule,
};
