// A backward iteration whose gradient a branch left at 0 skips the rest of its work
// (transformer/phases/skip-zeros.ts). Oracles: central finite differences, vjp, and a hand derivation where
// the plain chain rule would multiply 0 by an infinite value.

import { beforeAll, describe, expect, it } from "vitest";
import { compile, expectClose, numericEntries, numericGradient } from "./harness.js";

const source = `
/** A ReLU layer: units that are off pass no gradient to their weights. */
/** @differentiable */
export function reluLayer(W: Float64Array, b: Float64Array, x: Float64Array): number {
  const h = b.length;
  const d = x.length;
  let s = 0;
  for (let j = 0; j < h; j++) {
    let z = b[j];
    for (let c = 0; c < d; c++) z += W[c * h + j] * x[c];
    const a = Math.max(0, z);
    s += a * a;
  }
  return s;
}

/** A carried value through a max: its iteration ends by resetting a gradient, so nothing is skipped. */
/** @differentiable */
export function carried(x: number, n: number): number {
  let y = x;
  for (let i = 0; i < n; i++) {
    const t = Math.max(0, y - 0.5);
    y = t * y + 0.25;
  }
  return y;
}

/** abs has a kink, not a zero gradient: the branch leaves a value, nothing to skip by it. */
/** @differentiable */
export function absSum(w: Float64Array, x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < w.length; i++) s += Math.abs(w[i] - 1) * x[i];
  return s;
}
`;

let m: Record<string, any>;

beforeAll(async () => {
  ({ module: m } = await compile(source));
});

describe("zero gradients skip the rest of their iteration", () => {
  it("a ReLU layer: the units that are off skip their weights' lines; gradients agree with finite differences", () => {
    const grad = m.reluLayer_grad.toString();
    expect(grad).toMatch(/\/\/ nothing more flows back from this iteration when (dz_\d+) is 0\n\s*if \(\1 !== 0\) \{/);
    const W = Float64Array.from({ length: 12 }, (_, i) => Math.sin(i * 1.7) * 0.8);
    const b = Float64Array.from([0.3, -0.9, 0.1, -0.2]);
    const x = Float64Array.from([0.5, -1.1, 0.7]);
    const args = [W, b, x];
    // some units on, some off
    const on = b.map((bj, j) => bj + [0, 1, 2].reduce((z, c) => z + W[c * 4 + j] * x[c], 0));
    expect(on.some((z) => z > 0) && on.some((z) => z < 0)).toBe(true);
    const g = m.reluLayer_grad(...args);
    for (const i of [0, 1, 2]) expectClose(Array.from(g[i]), numericEntries(m.reluLayer, args, i));
    const back = m.reluLayer_backward(m.reluLayer_forward(...args).cache, 1);
    for (const i of [0, 1, 2]) expect(Array.from(back[i])).toEqual(Array.from(g[i]));
  });

  it("an input of Infinity behind a unit that is off: its weight's gradient is 0, as the derivative is, not 0 · Infinity = NaN", () => {
    // z = b + W·x = -Infinity for the unit: max(0, z) is 0 for every nearby W, so d/dW = 0.
    const W = Float64Array.from([-1]),
      b = Float64Array.from([0]),
      x = Float64Array.from([Infinity]);
    expect(m.reluLayer(W, b, x)).toBe(0);
    const [dW, db, dx] = m.reluLayer_grad(W, b, x);
    expect(Array.from(dW)).toEqual([0]);
    expect(Array.from(db)).toEqual([0]);
    expect(Array.from(dx)).toEqual([0]);
  });

  it("an iteration that resets a carried gradient is never skipped", () => {
    expect(m.carried_grad.toString()).not.toMatch(/nothing more flows back/);
    for (const x of [0.9, 1.3, 0.2])
      expectClose(
        m.carried_grad(x, 4).slice(0, 1),
        numericGradient((v) => m.carried(v, 4), [x]),
      );
  });

  it("a kink that passes a value (abs) is not a zero gradient: plain code, right gradient", () => {
    const w = Float64Array.from([0.2, 1.7, -0.4]),
      x = Float64Array.from([1.5, -2, 0.3]);
    const g = m.absSum_grad(w, x);
    expectClose(Array.from(g[0]), numericEntries(m.absSum, [w, x], 0));
    expectClose(Array.from(g[1]), numericEntries(m.absSum, [w, x], 1));
  });
});
