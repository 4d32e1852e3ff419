// The two-layer network's loss written a second time, with loops over Float64Array (the form of
// network/hand.ts's forward pass), for tsgrad to differentiate. Its gradient is checked against
// the matrix version (examples/network.ts), the hand-written backprop and finite differences.
//
//   npx tsgrad print examples/network/loops.ts --fn loopsLoss

import { grad, gradInto } from "tsgrad";

/**
 * scores = relu(X·W1 + b1)·W2 + b2 over n rows of d inputs; the mean softmax loss at the labels y
 * plus 0.5 · reg · (ΣW1² + ΣW2²). W1 is d × h, W2 is h × k, both row-major.
 */
/** @differentiable */
export function loopsLoss(
  W1: Float64Array,
  b1: Float64Array,
  W2: Float64Array,
  b2: Float64Array,
  X: Float64Array,
  y: Int32Array,
  reg: number,
): number {
  const h = b1.length;
  const k = b2.length;
  const d = W1.length / h;
  const n = y.length;

  // hidden = relu(X·W1 + b1)
  const hidden = new Float64Array(n * h);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < h; j++) {
      let z = b1[j];
      for (let c = 0; c < d; c++) z += X[i * d + c] * W1[c * h + j];
      hidden[i * h + j] = Math.max(0, z);
    }
  }

  // scores = hidden·W2 + b2
  const scores = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) {
      let s = b2[c];
      for (let j = 0; j < h; j++) s += hidden[i * h + j] * W2[j * k + c];
      scores[i * k + c] = s;
    }
  }

  // the softmax loss of each row: log Σ exp(s - max) - (s_y - max)
  let dataLoss = 0;
  for (let i = 0; i < n; i++) {
    let top = scores[i * k];
    for (let c = 1; c < k; c++) top = Math.max(top, scores[i * k + c]);
    let total = 0;
    for (let c = 0; c < k; c++) total += Math.exp(scores[i * k + c] - top);
    dataLoss += Math.log(total) - (scores[i * k + y[i]] - top);
  }

  let squares = 0;
  for (let j = 0; j < W1.length; j++) squares += W1[j] * W1[j];
  for (let j = 0; j < W2.length; j++) squares += W2[j] * W2[j];
  return dataLoss / n + 0.5 * reg * squares;
}

/**
 * The gradient on the weights and biases alone, the four a training step needs: tsgrad compiles
 * these calls to `loopsLoss_grad_W1_b1_W2_b2` and `loopsLoss_gradInto_W1_b1_W2_b2`, which compute
 * no gradient for the data X and reg.
 */
export const weightsGrad = grad(loopsLoss, { wrt: [0, 1, 2, 3] });
export const weightsGradInto = gradInto(loopsLoss, { wrt: [0, 1, 2, 3] });
