// Recursive functions, differentiated by tsgrad. A call of a function in the caller's own
// recursion cycle (itself, or functions calling each other) runs the callee's forward pass, which
// keeps its cache; the backward pass hands that cache and the output's gradient to the callee's
// backward pass. Each level runs once forward and once backward: a gradient costs a constant
// times the function, at any depth.

/**
 * x to the power n (n a whole number), one multiplication per level. d/dx = n x^(n-1).
 * @differentiable
 */
export function powRec(x: number, n: number): number {
  if (n <= 0) return 1;
  return x * powRec(x, n - 1);
}
