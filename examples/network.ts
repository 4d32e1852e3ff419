// The CS231n two-layer network (D = 2, H = 100, K = 3, ReLU, softmax loss, L2 regularization 1e-3)
// on the spiral data set, written with tsgrad's matrix operations and differentiated by tsgrad.
// The hand-written backprop it is checked against lives in network/hand.ts.
//
//   npx tsgrad print examples/network.ts --fn networkLoss    shows the generated backward pass

import { type Matrix, addBias, grad, matmul, matrix, mul, relu, softmaxCrossEntropy, sum } from "tsgrad";
import { REG, SPIRAL_NET, initParams } from "./network/params.js";
import { spiral } from "./network/spiral.js";

/** The network's parameters: two layers of weights and biases. */
export interface Network {
  W1: Matrix;
  b1: Matrix;
  W2: Matrix;
  b2: Matrix;
}

/** @differentiable */
export function networkLoss(net: Network, X: Matrix, y: Int32Array): number {
  const { W1, b1, W2, b2 } = net;
  const hidden = relu(addBias(matmul(X, W1), b1)); // ReLU activation
  const scores = addBias(matmul(hidden, W2), b2);
  const dataLoss = softmaxCrossEntropy(scores, y); // mean of -log(softmax) at the labels
  const regLoss = 0.5 * REG * (sum(mul(W1, W1)) + sum(mul(W2, W2)));
  return dataLoss + regLoss;
}

/** The network's parameters as matrices over network/params.ts's seeded initialization. */
export function initNetwork(seed: number): Network {
  const { d, h, k } = SPIRAL_NET;
  const p = initParams(SPIRAL_NET, seed);
  return { W1: matrix(d, h, p.W1), b1: matrix(1, h, p.b1), W2: matrix(h, k, p.W2), b2: matrix(1, k, p.b2) };
}

/** The fraction of rows the network scores highest at their label. */
export function accuracy(net: Network, X: Matrix, y: Int32Array): number {
  return labelAccuracy(addBias(matmul(relu(addBias(matmul(X, net.W1), net.b1)), net.W2), net.b2), y);
}

/** The fraction of rows of `scores` whose highest score is their label. */
export function labelAccuracy(scores: Matrix, y: Int32Array): number {
  let right = 0;
  for (let i = 0; i < scores.rows; i++) {
    let best = 0;
    for (let j = 1; j < scores.cols; j++)
      if (scores.data[i * scores.cols + j] > scores.data[i * scores.cols + best]) best = j;
    if (best === y[i]) right++;
  }
  return right / scores.rows;
}

/**
 * The gradient of the loss with respect to the network alone: tsgrad compiles this call to
 * `networkLoss_grad_net`, which computes no gradient for the data X.
 */
export const networkGrad = grad(networkLoss, { wrt: [0] });

/** Full-batch gradient descent with tsgrad's gradient; `onProgress` every `every` steps. */
export function train(
  net: Network,
  X: Matrix,
  y: Int32Array,
  steps: number,
  stepSize: number,
  every: number,
  onProgress: (step: number, loss: number) => void,
): void {
  for (let step = 0; step <= steps; step++) {
    if (step % every === 0) onProgress(step, networkLoss(net, X, y));
    if (step === steps) break;
    const [dnet] = networkGrad(net, X, y);
    for (const key of ["W1", "b1", "W2", "b2"] as const) {
      const param = net[key].data;
      const g = dnet[key].data;
      for (let i = 0; i < param.length; i++) param[i] -= stepSize * g[i];
    }
  }
}

/** The spiral data set as a Matrix and labels. */
export function spiralData(seed: number): { X: Matrix; y: Int32Array } {
  const data = spiral({ seed });
  return { X: matrix(data.n, data.d, data.X), y: data.y };
}
