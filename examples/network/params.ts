// The parameters of the two-layer network  scores = relu(X·W1 + b1)·W2 + b2,  as flat row-major
// Float64Arrays, and the helpers that make, copy and update them. Shapes are read back from the
// lengths (h = b1.length, k = b2.length, d = W1.length / h), so a Params carries no extra fields
// and a tsgrad gradient of it has exactly the same keys.

import { mulberry32, normal } from "./rng.js";

/** Weights and biases of the network; W1 is d × h and W2 is h × k, both row-major. */
export interface Params {
  W1: Float64Array;
  b1: Float64Array;
  W2: Float64Array;
  b2: Float64Array;
}

/** Layer sizes: d inputs, h hidden units, k classes. */
export interface Shape {
  d: number;
  h: number;
  k: number;
}

/** The CS231n network on the spiral: 2 inputs, 100 hidden units, 3 classes. */
export const SPIRAL_NET: Shape = { d: 2, h: 100, k: 3 };

/** The L2 regularization strength of the notes; the loss adds 0.5 · REG · (ΣW1² + ΣW2²). */
export const REG = 1e-3;

/** Parameters of the given shape, all zero (the shape of a gradient buffer). */
export function zeroParams({ d, h, k }: Shape): Params {
  return {
    W1: new Float64Array(d * h),
    b1: new Float64Array(h),
    W2: new Float64Array(h * k),
    b2: new Float64Array(k),
  };
}

/**
 * The notes' initialization: every weight scale · randn() (scale 0.01 by default), biases zero.
 * Deterministic for a seed. W1 is filled first, row by row, then W2.
 *
 *   initParams(SPIRAL_NET, 7) → W1: 200 values near ±0.01, b1: 100 zeros, W2: 300, b2: 3 zeros
 */
export function initParams(shape: Shape, seed: number, scale = 0.01): Params {
  const randn = normal(mulberry32(seed));
  const params = zeroParams(shape);
  for (let i = 0; i < params.W1.length; i++) params.W1[i] = scale * randn();
  for (let i = 0; i < params.W2.length; i++) params.W2[i] = scale * randn();
  return params;
}

/** An independent copy (new buffers with the same values). */
export function copyParams(p: Params): Params {
  return { W1: p.W1.slice(), b1: p.b1.slice(), W2: p.W2.slice(), b2: p.b2.slice() };
}

/** The shape the buffer lengths imply; throws if they do not fit together. */
export function shapeOf(p: Params): Shape {
  const h = p.b1.length;
  const k = p.b2.length;
  const d = h > 0 ? p.W1.length / h : 0;
  if (h === 0 || k === 0 || !Number.isInteger(d) || d === 0 || p.W2.length !== h * k) {
    throw new RangeError(
      `params: inconsistent lengths W1 ${p.W1.length}, b1 ${p.b1.length}, W2 ${p.W2.length}, b2 ${p.b2.length}; ` +
        `expected W1 d·h, b1 h, W2 h·k, b2 k`,
    );
  }
  return { d, h, k };
}

/**
 * One step of gradient descent, in place: p ← p − stepSize · g for every buffer. Allocates nothing.
 * `grads` must have the same shape as `params` (a gradient from lossAndGradHand or from tsgrad).
 */
export function sgdStep(params: Params, grads: Params, stepSize: number): void {
  descend(params.W1, grads.W1, stepSize);
  descend(params.b1, grads.b1, stepSize);
  descend(params.W2, grads.W2, stepSize);
  descend(params.b2, grads.b2, stepSize);
}

/**
 * p ← p − stepSize · g, element-wise. The step size is passed on as it came, not negated: V8
 * passes a fractional number between functions it does not inline as a fresh 16-byte box, so
 * `-stepSize` as an argument would allocate four of them per step.
 */
function descend(p: Float64Array, g: Float64Array, stepSize: number): void {
  if (g.length !== p.length)
    throw new RangeError(`sgdStep: gradient of length ${g.length} for a parameter of length ${p.length}`);
  for (let i = 0; i < p.length; i++) p[i] -= stepSize * g[i];
}
