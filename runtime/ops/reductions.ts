// Reductions of a matrix to a number: sum and mean, with their rules. Their gradient spreads
// the output's adjoint evenly over the entries: dA += dy (sum), dA += dy / (m·n) (mean).

import type { Matrix } from "./matrix.js";
import { accumulate, rule } from "./rule.js";

/** The sum of the entries of A (0 for an empty matrix). */
export function sum(A: Matrix): number {
  const a = A.data;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

// sum's kernel is addConstant (elementwise.ts): every entry of dA gets dy.
const sumRule = rule({
  math: "y = Σ A",
  params: ["A"],
  kinds: ["matrix"],
  output: "number",
  into: null,
  grads: [accumulate("addConstant(dA, dy)", "dA += dy (every entry)")],
});

/** The mean of the entries of A (NaN for an empty matrix, as 0 / 0). */
export function mean(A: Matrix): number {
  return sum(A) / A.data.length;
}

/** dst[i] += dy / n for each of the n entries of dst (a matrix or a vector): mean's gradient. */
export function addMeanGrad(dst: Matrix | Float64Array, dy: number): void {
  const d = dst instanceof Float64Array ? dst : dst.data;
  const share = dy / d.length;
  for (let i = 0; i < d.length; i++) d[i] += share;
}

const meanRule = rule({
  math: "y = Σ A / (m·n)",
  params: ["A"],
  kinds: ["matrix"],
  output: "number",
  into: null,
  grads: [accumulate("addMeanGrad(dA, dy)", "dA += dy / (m·n) (every entry)")],
});

export const reductionRules = {
  sum: sumRule,
  mean: meanRule,
};
