// A network whose hidden layer is applied again and again with the same weights (a recurrent
// network unrolled over `steps`, all reading the same input): matrix operations inside a loop, the
// state h carried from step to step, and the activation chosen by a flag. tsgrad keeps each step's
// matrices for its backward step and hands the gradient of h back from step to step.
//
//   npx tsgrad print examples/recurrent.ts --fn recurrentLoss    shows the generated backward loop

import { type Matrix, add, addBias, grad, matmul, matrix, mul, relu, softmaxCrossEntropy, sum, tanh } from "tsgrad";
import { labelAccuracy } from "./network.js";
import { mulberry32, normal } from "./network/rng.js";

/** The input weights U, the recurrent weights W and bias b, the output weights V and bias c. */
export interface Recurrent {
  U: Matrix;
  W: Matrix;
  b: Matrix;
  V: Matrix;
  c: Matrix;
}

/** @differentiable */
export function recurrentLoss(net: Recurrent, X: Matrix, y: Int32Array, steps: number, useRelu: boolean): number {
  const { U, W, b, V, c } = net;
  const input = matmul(X, U);
  let h = tanh(addBias(input, b));
  for (let t = 1; t < steps; t++) {
    const z = addBias(add(matmul(h, W), input), b);
    h = useRelu ? relu(z) : tanh(z);
  }
  const scores = addBias(matmul(h, V), c);
  return softmaxCrossEntropy(scores, y) + 5e-4 * (sum(mul(U, U)) + sum(mul(W, W)) + sum(mul(V, V)));
}

/** Seeded weights, small enough that the repeated layer starts near linear. */
export function initRecurrent(d: number, h: number, k: number, seed: number): Recurrent {
  const gauss = normal(mulberry32(seed));
  const weights = (rows: number, cols: number, scale: number) =>
    matrix(
      rows,
      cols,
      Float64Array.from({ length: rows * cols }, () => scale * gauss()),
    );
  return { U: weights(d, h, 0.5), W: weights(h, h, 0.1), b: matrix(1, h), V: weights(h, k, 0.5), c: matrix(1, k) };
}

/** tsgrad compiles this call to `recurrentLoss_grad_net`: the parameters' gradient alone. */
export const recurrentGrad = grad(recurrentLoss, { wrt: [0] });

/** Full-batch gradient descent; `onProgress` every `every` steps. */
export function trainRecurrent(
  net: Recurrent,
  X: Matrix,
  y: Int32Array,
  { steps, iterations, stepSize, every }: { steps: number; iterations: number; stepSize: number; every: number },
  onProgress: (iteration: number, loss: number) => void,
): void {
  for (let it = 0; it <= iterations; it++) {
    if (it % every === 0) onProgress(it, recurrentLoss(net, X, y, steps, false));
    if (it === iterations) break;
    const [dnet] = recurrentGrad(net, X, y, steps, false);
    for (const key of ["U", "W", "b", "V", "c"] as const) {
      const param = net[key].data;
      const g = dnet[key].data;
      for (let i = 0; i < param.length; i++) param[i] -= stepSize * g[i];
    }
  }
}

/** The fraction of rows whose highest score is their label. */
export function recurrentAccuracy(net: Recurrent, X: Matrix, y: Int32Array, steps: number): number {
  let h = tanh(addBias(matmul(X, net.U), net.b));
  for (let t = 1; t < steps; t++) h = tanh(addBias(add(matmul(h, net.W), matmul(X, net.U)), net.b));
  return labelAccuracy(addBias(matmul(h, net.V), net.c), y);
}
