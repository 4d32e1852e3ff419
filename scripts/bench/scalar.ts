// The scalar workloads' hand-written gradients, and the 1,000-step recurrence, for
// scripts/bench.mjs (compiled there through tsgrad's transformer, with examples/seed.ts).
//
// stagedHand and neuronHand are the backward passes the CS231n notes write by hand (the seed's
// "staged computation" and the sigmoid neuron), returning the gradient on every argument, as
// tsgrad's staged_grad and neuron_grad do. logisticHand keeps the trajectory in a Float64Array
// allocated once, outside the call.

/** ∂/∂(x, y) of (x + σ(y)) / (σ(x) + (x + y)²): the seed's forward pass, then its backward pass. */
export function stagedHand(x: number, y: number): [number, number] {
  const sigy = 1 / (1 + Math.exp(-y));
  const num = x + sigy;
  const sigx = 1 / (1 + Math.exp(-x));
  const xpy = x + y;
  const xpysqr = xpy * xpy;
  const den = sigx + xpysqr;
  const invden = 1 / den;
  // backward
  const dnum = invden;
  const dinvden = num;
  const dden = (-1 / (den * den)) * dinvden;
  const dsigx = dden;
  const dxpysqr = dden;
  const dxpy = 2 * xpy * dxpysqr;
  let dx = dxpy;
  let dy = dxpy;
  dx += (1 - sigx) * sigx * dsigx;
  dx += dnum;
  const dsigy = dnum;
  dy += (1 - sigy) * sigy * dsigy;
  return [dx, dy];
}

/** ∂/∂(w0, w1, w2, x0, x1) of σ(w0 x0 + w1 x1 + w2). */
export function neuronHand(
  w0: number,
  w1: number,
  w2: number,
  x0: number,
  x1: number,
): [number, number, number, number, number] {
  const dot = w0 * x0 + w1 * x1 + w2;
  const f = 1 / (1 + Math.exp(-dot));
  const ddot = (1 - f) * f;
  return [x0 * ddot, x1 * ddot, ddot, w0 * ddot, w1 * ddot];
}

export const STEPS = 1000;

/** The logistic map x ← r x (1 − x), STEPS times from x0. */
/** @differentiable */
export function logistic(r: number, x0: number): number {
  let x = x0;
  for (let step = 0; step < 1000; step++) {
    x = r * x * (1 - x);
  }
  return x;
}

const trajectory = new Float64Array(STEPS);

/** ∂/∂(r, x0) of `logistic`: the forward loop records x, the reverse loop reads it back. */
export function logisticHand(r: number, x0: number): [number, number] {
  const xs = trajectory;
  let x = x0;
  for (let i = 0; i < STEPS; i++) {
    xs[i] = x;
    x = r * x * (1 - x);
  }
  let dr = 0;
  let dx = 1;
  for (let i = STEPS - 1; i >= 0; i--) {
    const xi = xs[i];
    dr += xi * (1 - xi) * dx;
    dx *= r * (1 - 2 * xi);
  }
  return [dr, dx];
}
