// The CS231n two-layer network (D = 2, H = 100, K = 3, ReLU, softmax loss, L2 regularization 1e-3)
// on the spiral data set, written with tsgrad's matrix operations and differentiated by tsgrad.
// The hand-written backprop it is checked against lives in network/hand.ts.
//
//   npx tsgrad print examples/network.ts --fn networkLoss    shows the generated backward pass

import { type Matrix, addBias, grad, matmul, matrix, mul, relu, softmaxCrossEntropy, sum } from "tsgrad";
import { REG, SPIRAL_NET, initParams } from "./network/params.js";
import { spiral } from "./network/spiral.js";

/** @differentiable */
export function networkLoss(W1: Matrix, b1: Matrix, W2: Matrix, b2: Matrix, X: Matrix, y: Int32Array): number {
  const hidden = relu(addBias(matmul(X, W1), b1)); // ReLU activation
  const scores = addBias(matmul(hidden, W2), b2);
  const dataLoss = softmaxCrossEntropy(scores, y); // mean of -log(softmax) at the labels
  const regLoss = 0.5 * REG * (sum(mul(W1, W1)) + sum(mul(W2, W2)));
  return dataLoss + regLoss;
}

export interface Network {
  W1: Matrix;
  b1: Matrix;
  W2: Matrix;
  b2: Matrix;
}

/** The network's parameters as matrices over network/params.ts's seeded initialization. */
export function initNetwork(seed: number): Network {
  const { d, h, k } = SPIRAL_NET;
  const p = initParams(SPIRAL_NET, seed);
  return { W1: matrix(d, h, p.W1), b1: matrix(1, h, p.b1), W2: matrix(h, k, p.W2), b2: matrix(1, k, p.b2) };
}

/** The fraction of rows whose highest score is their label. */
export function accuracy(net: Network, X: Matrix, y: Int32Array): number {
  const scores = addBias(matmul(relu(addBias(matmul(X, net.W1), net.b1)), net.W2), net.b2);
  let right = 0;
  for (let i = 0; i < scores.rows; i++) {
    let best = 0;
    for (let j = 1; j < scores.cols; j++) if (scores.data[i * scores.cols + j] > scores.data[i * scores.cols + best]) best = j;
    if (best === y[i]) right++;
  }
  return right / scores.rows;
}

/** Full-batch gradient descent with tsgrad's gradient; `onProgress` every `every` steps. */
export function train(net: Network, X: Matrix, y: Int32Array, steps: number, stepSize: number, every: number, onProgress: (step: number, loss: number) => void): void {
  const lossGrad = grad(networkLoss, { wrt: [0, 1, 2, 3] });
  for (let step = 0; step <= steps; step++) {
    if (step % every === 0) onProgress(step, networkLoss(net.W1, net.b1, net.W2, net.b2, X, y));
    if (step === steps) break;
    const [dW1, db1, dW2, db2] = lossGrad(net.W1, net.b1, net.W2, net.b2, X, y);
    for (const [param, g] of [[net.W1, dW1], [net.b1, db1], [net.W2, dW2], [net.b2, db2]] as const) {
      for (let i = 0; i < param.data.length; i++) param.data[i] -= stepSize * g.data[i];
    }
  }
}

/** The spiral data set as a Matrix and labels. */
export function spiralData(seed: number): { X: Matrix; y: Int32Array } {
  const data = spiral({ seed });
  return { X: matrix(data.n, data.d, data.X), y: data.y };
}
