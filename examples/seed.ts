// The examples of the CS231n notes "Backpropagation, Intuitions" (see shared/seed), written as
// plain TypeScript and differentiated by tsgrad. `npm start` prints their values and gradients.

/** f(x, y) = x * y: the multiply gate swaps its inputs. At (4, -3): -12, gradients (-3, 4). */
/** @differentiable */
export function multiply(x: number, y: number): number {
  return x * y;
}

/** f(x, y, z) = (x + y) * z, staged: q = x + y, f = q * z. At (-2, 5, -4): -12, gradients (-4, -4, 3). */
/** @differentiable */
export function addThenMultiply(x: number, y: number, z: number): number {
  const q = x + y;
  return q * z;
}

/** max(x, y): the max gate routes the gradient to the input that won. */
/** @differentiable */
export function max(x: number, y: number): number {
  return Math.max(x, y);
}

/** A 2-d sigmoid neuron: f(w, x) = 1 / (1 + e^-(w0 x0 + w1 x1 + w2)). */
/** @differentiable */
export function neuron(w0: number, w1: number, w2: number, x0: number, x1: number): number {
  const dot = w0 * x0 + w1 * x1 + w2;
  return 1 / (1 + Math.exp(-dot)); // sigmoid function
}

/** The staged computation: f(x, y) = (x + sigma(y)) / (sigma(x) + (x + y)^2). */
/** @differentiable */
export function staged(x: number, y: number): number {
  const sigy = 1 / (1 + Math.exp(-y)); // sigmoid in numerator
  const num = x + sigy; // numerator
  const sigx = 1 / (1 + Math.exp(-x)); // sigmoid in denominator
  const xpy = x + y;
  const xpysqr = xpy ** 2;
  const den = sigx + xpysqr; // denominator
  const invden = 1 / den;
  return num * invden;
}

/** The backward-flow circuit: 2 * (x * y + max(z, w)). At (3, -4, 2, -1): -20, gradients (-8, 6, 2, 0). */
/** @differentiable */
export function circuit(x: number, y: number, z: number, w: number): number {
  return 2 * (x * y + Math.max(z, w));
}
