// Two linear classifiers on the spiral data, scores = X·W + b (W is d × k, row-major; b has k
// entries), each loss a `@differentiable` function that tsgrad differentiates:
//
//   svmLoss             the multiclass SVM (hinge) loss, with loops over Float64Array
//   softmaxLoss         softmax cross-entropy, with loops over Float64Array
//   softmaxMatrixLoss   the same softmax loss with the matrix operations (matmul, addBias, ...)
//
// both plus the L2 penalty 0.5 · reg · ΣW². A linear classifier cannot follow the spiral's arms:
// it gets about half of the 300 points right, where the two-layer network gets 98%.
//
// This file imports only "tsgrad", so the tests compile it as it is (test/classifiers.test.ts).
//
//   npx tsgrad print examples/classifiers.ts --fn svmLoss    shows the generated backward pass

import { type Matrix, addBias, grad, gradInto, matmul, mul, softmaxCrossEntropy, sum } from "tsgrad";

/** The SVM's margin Δ: a wrong class costs nothing once its score is Δ below the right one's. */
export const DELTA = 1;

/**
 * The multiclass SVM loss over n rows of X (n × d) with labels y:
 *   (1/n) Σ_i Σ_{j ≠ y_i} max(0, s_ij − s_iy_i + Δ)  +  0.5 · reg · ΣW²,   s_i = x_i·W + b.
 * Math.max routes the gradient to the operand that won, so a margin that is met (≤ 0) passes
 * none, and one that is violated passes +1 to s_ij and −1 to s_iy_i.
 */
/** @differentiable */
export function svmLoss(W: Float64Array, b: Float64Array, X: Float64Array, y: Int32Array, reg: number): number {
  const k = b.length;
  const d = W.length / k;
  const n = y.length;

  // scores = X·W + b
  const scores = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      let s = b[j];
      for (let c = 0; c < d; c++) s += X[i * d + c] * W[c * k + j];
      scores[i * k + j] = s;
    }
  }

  // the hinge on every wrong class of every row
  let dataLoss = 0;
  for (let i = 0; i < n; i++) {
    const label = y[i];
    const correct = scores[i * k + label];
    for (let j = 0; j < k; j++) {
      if (j !== label) dataLoss += Math.max(0, scores[i * k + j] - correct + DELTA);
    }
  }

  let squares = 0;
  for (let c = 0; c < W.length; c++) squares += W[c] * W[c];
  return dataLoss / n + 0.5 * reg * squares;
}

/**
 * The softmax classifier's loss, written with loops: the mean over rows of
 *   −log softmax(s_i)[y_i] = log Σ_j exp(s_ij − max_i) − (s_iy_i − max_i)
 * plus 0.5 · reg · ΣW². Subtracting the row's maximum keeps exp from overflowing; it changes
 * neither the value nor the gradient.
 */
/** @differentiable */
export function softmaxLoss(W: Float64Array, b: Float64Array, X: Float64Array, y: Int32Array, reg: number): number {
  const k = b.length;
  const d = W.length / k;
  const n = y.length;

  const scores = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      let s = b[j];
      for (let c = 0; c < d; c++) s += X[i * d + c] * W[c * k + j];
      scores[i * k + j] = s;
    }
  }

  let dataLoss = 0;
  for (let i = 0; i < n; i++) {
    let top = scores[i * k];
    for (let j = 1; j < k; j++) top = Math.max(top, scores[i * k + j]);
    let total = 0;
    for (let j = 0; j < k; j++) total += Math.exp(scores[i * k + j] - top);
    dataLoss += Math.log(total) - (scores[i * k + y[i]] - top);
  }

  let squares = 0;
  for (let c = 0; c < W.length; c++) squares += W[c] * W[c];
  return dataLoss / n + 0.5 * reg * squares;
}

/** The same softmax loss with the matrix operations: W is d × k, b is 1 × k, X is n × d. */
/** @differentiable */
export function softmaxMatrixLoss(W: Matrix, b: Matrix, X: Matrix, y: Int32Array, reg: number): number {
  const scores = addBias(matmul(X, W), b);
  const dataLoss = softmaxCrossEntropy(scores, y); // mean of -log(softmax) at the labels
  return dataLoss + 0.5 * reg * sum(mul(W, W));
}

/** A loss of the loop form: (W, b, X, y, reg) → number. */
export type LinearLoss = (W: Float64Array, b: Float64Array, X: Float64Array, y: Int32Array, reg: number) => number;

/** Settings of a training run: full-batch gradient descent with a fixed step. */
export interface TrainOptions {
  steps: number;
  stepSize: number;
  reg: number;
  /** Calls onProgress(step, loss) every `every` steps, and after the last one. */
  every?: number;
  onProgress?: (step: number, loss: number) => void;
}

/**
 * Trains W and b in place with tsgrad's gradient of `svmLoss` or `softmaxLoss` and returns the
 * final loss. The gradient arrays are made once, by grad(loss), and refilled by gradInto(loss)
 * at every step, so a step allocates no array.
 */
export function trainLinear(
  loss: LinearLoss,
  W: Float64Array,
  b: Float64Array,
  X: Float64Array,
  y: Int32Array,
  options: TrainOptions,
): number {
  const { steps, stepSize, reg, every = steps, onProgress } = options;
  const grads = grad(loss)(W, b, X, y, reg); // once: dW, db (and gradients of X and reg, unused; the labels y are data, undefined)
  const into = gradInto(loss);
  for (let step = 0; step < steps; step++) {
    if (onProgress && step % every === 0) onProgress(step, loss(W, b, X, y, reg));
    into(grads, W, b, X, y, reg);
    const [dW, db] = grads;
    for (let c = 0; c < W.length; c++) W[c] -= stepSize * dW[c];
    for (let j = 0; j < b.length; j++) b[j] -= stepSize * db[j];
  }
  const final = loss(W, b, X, y, reg);
  onProgress?.(steps, final);
  return final;
}

/** trainLinear for the matrix version: grad(softmaxMatrixLoss) makes new gradient matrices each step. */
export function trainSoftmaxMatrix(W: Matrix, b: Matrix, X: Matrix, y: Int32Array, options: TrainOptions): number {
  const { steps, stepSize, reg, every = steps, onProgress } = options;
  const lossGrad = grad(softmaxMatrixLoss, { wrt: [0, 1] });
  for (let step = 0; step < steps; step++) {
    if (onProgress && step % every === 0) onProgress(step, softmaxMatrixLoss(W, b, X, y, reg));
    const [dW, db] = lossGrad(W, b, X, y, reg);
    for (let c = 0; c < W.data.length; c++) W.data[c] -= stepSize * dW.data[c];
    for (let j = 0; j < b.data.length; j++) b.data[j] -= stepSize * db.data[j];
  }
  const final = softmaxMatrixLoss(W, b, X, y, reg);
  onProgress?.(steps, final);
  return final;
}

/**
 * The fraction of rows whose highest score is their label (the first class wins a tie).
 *   linearAccuracy(W, b, X, y) → 0.5 when half of the rows are classified right
 */
export function linearAccuracy(W: Float64Array, b: Float64Array, X: Float64Array, y: Int32Array): number {
  const k = b.length;
  const d = W.length / k;
  const n = y.length;
  let right = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestScore = -Infinity;
    for (let j = 0; j < k; j++) {
      let s = b[j];
      for (let c = 0; c < d; c++) s += X[i * d + c] * W[c * k + j];
      if (s > bestScore) ((best = j), (bestScore = s));
    }
    if (best === y[i]) right++;
  }
  return right / n;
}
