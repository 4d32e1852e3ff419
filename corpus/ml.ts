// Activations and losses in the styles of brain.js, TensorFlow.js layers (written out on plain
// arrays), ml.js and synaptic: epsilon clipping, numerically stable branches, classes with an
// activate method, a switch on the activation name, Math.max over a spread for log-sum-exp.

import type { Cases } from "./cases.js";
import { erf } from "./special.js";

const EPSILON = 1e-7;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

// style: brain.js (sigmoid as one expression)
/** @differentiable */
export function sigmoid(value: number): number {
  return 1 / (1 + Math.exp(-value));
}

// style: TensorFlow.js (softplus, numerically stable: a branch on the sign, log1p of exp of minus |x|)
/** @differentiable */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

// style: TensorFlow.js (GELU, tanh approximation with a module-level computed constant)
/** @differentiable */
export function gelu(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * Math.pow(x, 3))));
}

// style: TensorFlow.js (exact GELU through erf imported from another module)
/** @differentiable */
export function geluExact(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

// style: TensorFlow.js (swish / SiLU: x times the sigmoid, calling the sigmoid helper)
/** @differentiable */
export function swish(x: number, beta = 1): number {
  return x * sigmoid(beta * x);
}

// style: TensorFlow.js (mish: composition of helpers: x * tanh(softplus(x)))
/** @differentiable */
export function mish(x: number): number {
  return x * Math.tanh(softplus(x));
}

// style: TensorFlow.js layers, a Keras port (ELU: alpha default, expm1 on the negative side)
/** @differentiable */
export function elu(x: number, alpha = 1.0): number {
  return x > 0 ? x : alpha * Math.expm1(x);
}

const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

// style: TensorFlow.js (SELU with its two named module constants, a ternary inside the product)
/** @differentiable */
export function selu(x: number): number {
  return SELU_SCALE * (x > 0 ? x : SELU_ALPHA * (Math.exp(x) - 1));
}

// style: brain.js (leaky ReLU with a module-level alpha)
const leakyReluAlpha = 0.01;
/** @differentiable */
export function leakyRelu(x: number): number {
  return x > 0 ? x : leakyReluAlpha * x;
}

// style: TensorFlow.js losses (Huber on arrays: absolute error, quadratic and linear parts, mean, default delta)
/** @differentiable */
export function huberLoss(yTrue: readonly number[], yPred: readonly number[], delta = 1.0): number {
  let total = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const error = Math.abs(yTrue[i] - yPred[i]);
    const quadratic = Math.min(error, delta);
    const linear = error - quadratic;
    total += 0.5 * quadratic * quadratic + delta * linear;
  }
  return total / yTrue.length;
}

// style: TensorFlow.js losses (log-cosh through softplus: x + softplus(-2x) - log 2)
/** @differentiable */
export function logCoshLoss(yTrue: Float64Array, yPred: Float64Array): number {
  let total = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const x = yPred[i] - yTrue[i];
    total += x + softplus(-2 * x) - Math.LN2;
  }
  return total / yTrue.length;
}

// style: TensorFlow.js losses (binary cross-entropy with epsilon clipping via Math.min/Math.max)
/** @differentiable */
export function binaryCrossentropy(yTrue: readonly number[], yPred: readonly number[]): number {
  let total = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const p = Math.min(Math.max(yPred[i], EPSILON), 1 - EPSILON);
    total -= yTrue[i] * Math.log(p) + (1 - yTrue[i]) * Math.log(1 - p);
  }
  return total / yTrue.length;
}

// style: TensorFlow.js losses (categorical cross-entropy: normalise the predictions first, then clip)
/** @differentiable */
export function categoricalCrossentropy(target: Float64Array, output: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < output.length; i++) sum += output[i];
  let loss = 0;
  for (let i = 0; i < output.length; i++) {
    const p = Math.min(Math.max(output[i] / sum, EPSILON), 1 - EPSILON);
    loss -= target[i] * Math.log(p);
  }
  return loss;
}

// style: ml.js (log-sum-exp with Math.max over a spread, then map/reduce)
/** @differentiable */
export function logSumExp(x: readonly number[]): number {
  const max = Math.max(...x);
  return max + Math.log(x.map((v) => Math.exp(v - max)).reduce((a, b) => a + b, 0));
}

// style: TensorFlow.js (softmax cross-entropy from logits and an integer label, max subtracted in a loop)
/** @differentiable */
export function softmaxCrossEntropy(logits: Float64Array, label: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    if (logits[i] > max) max = logits[i];
  }
  let sumExp = 0;
  for (let i = 0; i < logits.length; i++) {
    sumExp += Math.exp(logits[i] - max);
  }
  return Math.log(sumExp) + max - logits[label];
}

// style: ml.js (mean squared error, throwing when the lengths differ)
/** @differentiable */
export function meanSquaredError(y: readonly number[], yHat: readonly number[]): number {
  if (y.length !== yHat.length) {
    throw new RangeError("the arrays must have the same length");
  }
  let sum = 0;
  for (let i = 0; i < y.length; i++) {
    sum += (y[i] - yHat[i]) ** 2;
  }
  return sum / y.length;
}

// style: TensorFlow.js layers, a Keras port (squared hinge with labels in -1/+1, Math.max(0, ...))
/** @differentiable */
export function squaredHinge(yTrue: readonly number[], yPred: readonly number[]): number {
  let total = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const m = Math.max(0, 1 - yTrue[i] * yPred[i]);
    total += m * m;
  }
  return total / yTrue.length;
}

// style: TensorFlow.js losses (Poisson: prediction minus target times log of prediction plus epsilon)
/** @differentiable */
export function poissonLoss(yTrue: readonly number[], yPred: readonly number[]): number {
  let total = 0;
  for (let i = 0; i < yTrue.length; i++) {
    total += yPred[i] - yTrue[i] * Math.log(yPred[i] + EPSILON);
  }
  return total / yTrue.length;
}

// style: ml.js regression (linear regression loss over a row-major design matrix with an L2 penalty)
/** @differentiable */
export function ridgeLoss(w: Float64Array, b: number, X: Float64Array, y: Float64Array, lambda: number): number {
  const n = y.length;
  const d = w.length;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    let pred = b;
    for (let j = 0; j < d; j++) {
      pred += X[i * d + j] * w[j];
    }
    loss += (pred - y[i]) ** 2;
  }
  let penalty = 0;
  for (let j = 0; j < d; j++) penalty += w[j] * w[j];
  return loss / n + lambda * penalty;
}

// style: ml.js logistic regression (negative log-likelihood with the sigmoid helper per sample)
/** @differentiable */
export function logisticNll(w: Float64Array, X: Float64Array, y: Float64Array): number {
  const d = w.length;
  let nll = 0;
  for (let i = 0; i < y.length; i++) {
    let z = 0;
    for (let j = 0; j < d; j++) z += X[i * d + j] * w[j];
    const p = sigmoid(z);
    nll -= y[i] * Math.log(p) + (1 - y[i]) * Math.log(1 - p);
  }
  return nll;
}

export class Tanh {
  // style: brain.js (an activation class with an activate method)
  /** @differentiable */
  activate(weight: number): number {
    return Math.tanh(weight);
  }
}

// style: brain.js (a switch on the activation name string)
/** @differentiable */
export function activate(value: number, activation: string): number {
  switch (activation) {
    case "sigmoid":
      return 1 / (1 + Math.exp(-value));
    case "tanh":
      return Math.tanh(value);
    case "leaky-relu":
      return value > 0 ? value : 0.01 * value;
    default:
      throw new Error(`unknown activation: ${activation}`);
  }
}

// style: synaptic (a two-layer network's squared error with Float32Array weights, tanh hidden units)
/** @differentiable */
export function tinyNetworkError(W1: Float32Array, W2: Float32Array, x: Float32Array, target: number): number {
  const hidden = W2.length;
  let out = 0;
  for (let h = 0; h < hidden; h++) {
    let z = 0;
    for (let i = 0; i < x.length; i++) z += W1[h * x.length + i] * x[i];
    out += W2[h] * Math.tanh(z);
  }
  return 0.5 * (out - target) ** 2;
}

// style: TensorFlow.js layers (cosine proximity: two l2-normalisations with an epsilon under the sqrt)
/** @differentiable */
export function cosineProximity(yTrue: readonly number[], yPred: readonly number[]): number {
  let nt = 0;
  let np = 0;
  let dot = 0;
  for (let i = 0; i < yTrue.length; i++) {
    nt += yTrue[i] * yTrue[i];
    np += yPred[i] * yPred[i];
    dot += yTrue[i] * yPred[i];
  }
  return -dot / (Math.sqrt(Math.max(nt, EPSILON)) * Math.sqrt(Math.max(np, EPSILON)));
}

const F32 = (...v: number[]) => Float32Array.from(v);

export const cases: Cases = {
  sigmoid: [[0.7], [-2.3]],
  softplus: [[0.7], [-2.3]],
  gelu: [[0.7], [-1.3]],
  geluExact: [[0.7], [-1.3]],
  swish: [[0.7], [-1.3, 1.7]],
  mish: [[0.7], [-1.3]],
  elu: [[0.7], [-1.3, 0.5]],
  selu: [[0.7], [-1.3]],
  leakyRelu: [[0.7], [-1.3]],
  huberLoss: [
    [
      [1, 2.5, -0.75],
      [0.5, 0.25, -0.5],
    ],
    [[1, 2.5, -0.75], [0.5, 0.25, -0.5], 2],
  ],
  logCoshLoss: [[Float64Array.of(1, 2.5, -0.75), Float64Array.of(0.5, 0.25, -0.5)]],
  binaryCrossentropy: [
    [
      [1, 0, 1],
      [0.8, 0.3, 0.55],
    ],
  ],
  categoricalCrossentropy: [[Float64Array.of(0, 1, 0), Float64Array.of(0.2, 0.5, 0.3)]],
  logSumExp: [[[0.5, -1, 2, 0.25]]],
  softmaxCrossEntropy: [{ args: [Float64Array.of(0.5, -1, 2, 0.25), 2], wrt: [0] }],
  meanSquaredError: [
    [
      [1, 2.5, -0.75],
      [0.5, 0.25, -0.5],
    ],
  ],
  squaredHinge: [
    [
      [1, -1, 1],
      [0.3, 0.2, -0.4],
    ],
  ],
  poissonLoss: [
    [
      [1, 2, 0.5],
      [0.7, 2.5, 1.2],
    ],
  ],
  ridgeLoss: [
    [Float64Array.of(0.5, -0.3), 0.1, Float64Array.of(1, 2, 0.5, -1, 2, 0.25), Float64Array.of(1, 0.5, -0.2), 0.01],
  ],
  logisticNll: [[Float64Array.of(0.5, -0.3), Float64Array.of(1, 2, 0.5, -1, 2, 0.25), Float64Array.of(1, 0, 1)]],
  "Tanh.activate": [{ self: new Tanh(), args: [0.7] }],
  activate: [
    [0.7, "sigmoid"],
    [-1.3, "tanh"],
  ],
  tinyNetworkError: [[F32(0.5, -0.25, 1, 0.75), F32(1.5, -0.5), F32(1, 2), 0.25]],
  cosineProximity: [
    [
      [1, 2.5, -0.75],
      [0.5, 0.25, -0.5],
    ],
  ],
};
