// The checks of `grad(f, { checkFinite: true })`. The generated f_gradChecked is f_grad with a call
// after each line of its backward pass that writes a gradient (transformer/phases/finite.ts):
//
//   let dden = (-1 / (den * den)) * dinvden;
//   checkFinite("staged", "dden", dden, "seed.ts:12", "const invden = 1 / den;");
//
// The first NaN or ±Infinity throws, naming the gradient, the source line whose backward block
// made it and the function, as JAX's NaN debugging names the operation that produced a NaN.

import { type Matrix, isMatrix } from "./ops/matrix.js";

/** Thrown by a checked gradient at its first NaN or Infinity. */
export class NonFiniteGradientError extends RangeError {
  constructor(
    /** The differentiated function. */
    readonly fn: string,
    /** The gradient variable, with the element for an array: `dden`, `dW[3]`. */
    readonly gradient: string,
    readonly value: number,
    /** `file.ts:12`: the source line whose backward block computed it. */
    readonly at: string,
    /** That line's text. */
    readonly line: string,
  ) {
    super(
      `tsgrad: checkFinite: ${gradient} is ${value} in the backward pass of ${fn}, at ${at}: the gradient through \`${line}\` (the first NaN or Infinity of this backward pass)`,
    );
    this.name = "NonFiniteGradientError";
  }
}

type Gradient = number | ArrayLike<number> | Matrix;

/**
 * Throws a NonFiniteGradientError unless every number of `value` is finite: a number, one element
 * (with `index`), or a whole array or matrix gradient (after a kernel added into it).
 *   checkFinite("f", "dx", NaN, "f.ts:3", "const y = Math.log(x);") → throws "dx is NaN ..."
 *   checkFinite("f", "dW", W.data.fill(1), ...)                      → returns
 */
export function checkFinite(
  fn: string,
  gradient: string,
  value: Gradient,
  at: string,
  line: string,
  index?: number,
): void {
  if (typeof value === "number") {
    if (!Number.isFinite(value))
      throw new NonFiniteGradientError(fn, index === undefined ? gradient : `${gradient}[${index}]`, value, at, line);
    return;
  }
  const data = isMatrix(value) ? value.data : (value as ArrayLike<number>);
  for (let i = 0; i < data.length; i++)
    if (!Number.isFinite(data[i])) throw new NonFiniteGradientError(fn, `${gradient}[${i}]`, data[i], at, line);
}
