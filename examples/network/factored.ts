// The two-layer network's loss of network/loops.ts, factored into the small helpers numeric code
// is usually written with: a dense layer, a ReLU, a log-sum-exp and a dot product. Each function
// here is the same function as loopsLoss (the benchmark checks the value and the gradient against
// it); only the way it is written differs. The helpers are of both kinds tsgrad takes:
//
// - `dense`, `relu` and `denseRelu` are unmarked and return a new array: tsgrad inlines them where
//   they are called, so their arrays are the caller's own;
// - `logsumexp` and `dot` are `@differentiable`, take arrays and return a number: the caller's
//   backward pass calls their pullbacks.
//
// Written twice: `factoredLoss` applies the ReLU as a helper of its own,
// `relu(dense(X, W1, b1, n))`, and `layerLoss` with a per-layer helper, `denseRelu`, that applies
// it as it computes the layer, as loopsLoss does.
//
//   npx tsgrad print examples/network/factored.ts --fn factoredLoss

import { grad, gradInto } from "tsgrad";

/** X·W + b for the n rows of X (n × d); W is d × h, row-major. Returns the n × h result. */
function dense(X: Float64Array, W: Float64Array, b: Float64Array, n: number): Float64Array {
  const h = b.length;
  const d = W.length / h;
  const out = new Float64Array(n * h);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < h; j++) {
      let z = b[j];
      for (let c = 0; c < d; c++) z += X[i * d + c] * W[c * h + j];
      out[i * h + j] = z;
    }
  }
  return out;
}

/** max(0, X·W + b): the hidden layer in one pass, as `relu(dense(X, W, b, n))`. */
function denseRelu(X: Float64Array, W: Float64Array, b: Float64Array, n: number): Float64Array {
  const h = b.length;
  const d = W.length / h;
  const out = new Float64Array(n * h);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < h; j++) {
      let z = b[j];
      for (let c = 0; c < d; c++) z += X[i * d + c] * W[c * h + j];
      out[i * h + j] = Math.max(0, z);
    }
  }
  return out;
}

/** max(0, z), element by element, into a new array. */
function relu(z: Float64Array): Float64Array {
  const out = new Float64Array(z.length);
  for (let i = 0; i < z.length; i++) out[i] = Math.max(0, z[i]);
  return out;
}

/** log Σ exp(v[start + c]) over the `count` entries from `start`, shifted by their largest. */
/** @differentiable */
function logsumexp(v: Float64Array, start: number, count: number): number {
  let top = v[start];
  for (let c = 1; c < count; c++) top = Math.max(top, v[start + c]);
  let total = 0;
  for (let c = 0; c < count; c++) total += Math.exp(v[start + c] - top);
  return top + Math.log(total);
}

/** Σ a[i]·b[i]. */
/** @differentiable */
function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * loopsLoss (network/loops.ts), factored: scores = relu(X·W1 + b1)·W2 + b2, the mean softmax loss
 * at the labels y plus 0.5 · reg · (ΣW1² + ΣW2²).
 */
/** @differentiable */
export function factoredLoss(
  W1: Float64Array,
  b1: Float64Array,
  W2: Float64Array,
  b2: Float64Array,
  X: Float64Array,
  y: Int32Array,
  reg: number,
): number {
  const k = b2.length;
  const n = y.length;
  const hidden = relu(dense(X, W1, b1, n));
  const scores = dense(hidden, W2, b2, n);
  let dataLoss = 0;
  for (let i = 0; i < n; i++) dataLoss += logsumexp(scores, i * k, k) - scores[i * k + y[i]];
  return dataLoss / n + 0.5 * reg * (dot(W1, W1) + dot(W2, W2));
}

/** factoredLoss with the per-layer helper: the hidden layer's ReLU applied as the layer is computed. */
/** @differentiable */
export function layerLoss(
  W1: Float64Array,
  b1: Float64Array,
  W2: Float64Array,
  b2: Float64Array,
  X: Float64Array,
  y: Int32Array,
  reg: number,
): number {
  const k = b2.length;
  const n = y.length;
  const hidden = denseRelu(X, W1, b1, n);
  const scores = dense(hidden, W2, b2, n);
  let dataLoss = 0;
  for (let i = 0; i < n; i++) dataLoss += logsumexp(scores, i * k, k) - scores[i * k + y[i]];
  return dataLoss / n + 0.5 * reg * (dot(W1, W1) + dot(W2, W2));
}

/**
 * The gradients on the weights and biases alone, as loops.ts's weightsGrad and weightsGradInto:
 * these calls compile to `factoredLoss_grad_W1_b1_W2_b2`, `factoredLoss_gradInto_W1_b1_W2_b2` and
 * the same for layerLoss.
 */
export const factoredWeightsGrad = grad(factoredLoss, { wrt: [0, 1, 2, 3] });
export const factoredWeightsGradInto = gradInto(factoredLoss, { wrt: [0, 1, 2, 3] });
export const layerWeightsGrad = grad(layerLoss, { wrt: [0, 1, 2, 3] });
export const layerWeightsGradInto = gradInto(layerLoss, { wrt: [0, 1, 2, 3] });
