// Array methods with callbacks written in place, lowered to the loops they stand for: reduce (with
// and without an initial value), Math.max / Math.min over a map, map then reduce, and for...of over
// entries(). Every gradient is checked against central differences and through every API.

import { describe, expect, it } from "vitest";
import { compile, genStrictErrors, tsgradErrors } from "./harness.js";
import { checkEveryApi } from "./oracles.js";

const methods = `
const W = [0.5, -1.5, 2, 0.25];

/** @differentiable */
export function sumOfSquares(x: readonly number[]): number {
  return x.reduce((acc, v) => acc + v * v, 0);
}

/** @differentiable */
export function weightedByIndex(x: Float64Array, k: number): number {
  return x.reduce((acc, v, i) => {
    const t = v * W[i % W.length];
    return acc + Math.sin(t * k) / (i + 1);
  }, k);
}

/** @differentiable */
export function product(x: readonly number[]): number {
  return x.reduce((p, v) => p * v);
}

/** @differentiable */
export function logSumExp(x: readonly number[]): number {
  const max = Math.max(...x);
  return max + Math.log(x.map((v) => Math.exp(v - max)).reduce((a, b) => a + b, 0));
}

/** @differentiable */
export function chebyshev(a: readonly number[], b: readonly number[]): number {
  return Math.max(...a.map((ai, i) => Math.abs(ai - b[i])));
}

/** @differentiable */
export function spread(x: Float64Array, s: number): number {
  const lo = Math.min(...Array.from(x, (v) => v * s));
  const hi = Math.max(...x.map((v) => v * v));
  return hi - lo * s;
}

/** @differentiable */
export function nested(x: readonly number[], y: readonly number[]): number {
  let total = 0;
  for (let k = 0; k < 2; k++) {
    if (k === 0) total += x.reduce((s, v) => s + v * y.reduce((t, w) => t + w * w, 0), 0);
    else total += x.reduce((s, v) => s + Math.tanh(v * total), 1);
  }
  return total;
}

/** @differentiable */
export function ofField(p: { w: number[]; c: number }): number {
  return p.w.reduce((s, v) => s + v * p.c, 0) + Math.max(...p.w.map((v) => v * v));
}

/** @differentiable */
export function localArray(x: readonly number[]): number {
  const h = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) h[i] = Math.exp(x[i]);
  return h.reduce((s, v) => s + v * v, 0);
}

/** @differentiable */
export function weightedSquares(values: readonly number[], weights: readonly number[]): number {
  let total = 0;
  for (const [i, v] of values.entries()) total += weights[i] * v * v - i * v;
  return total / values.length;
}

/** @differentiable */
export function untilNegative(values: readonly number[]): number {
  let s = 0;
  for (const [i, v] of values.entries()) {
    if (v < 0) break;
    s += v * (i + 1);
  }
  return s;
}
`;

describe("array methods as loops", () => {
  it("reduce: with and without an initial value, expression and block callbacks, the index", async () => {
    const { module: m } = await compile(methods);
    checkEveryApi(m.sumOfSquares, [[1, -2.5, 0.75, 3]]);
    checkEveryApi(m.weightedByIndex, [Float64Array.of(0.3, -1.1, 2, 0.5, -0.4), 0.9]);
    checkEveryApi(m.product, [[1.5, -2, 0.5, 3]]);
    checkEveryApi(m.product, [[2.5]]);
    checkEveryApi(m.localArray, [[0.1, -0.4, 0.8]]);
    checkEveryApi(m.ofField, [{ w: [0.5, -1.5, 2], c: 0.7 }]);
  });

  it("reduce with no initial value throws on an empty array where reduce does", async () => {
    const { module: m } = await compile(methods);
    expect(() => m.product([])).toThrow(TypeError);
    expect(() => m.product_grad([])).toThrow("Reduce of empty array with no initial value");
  });

  it("Math.max and Math.min over a map, map then reduce, reduces inside loops, branches and callbacks", async () => {
    const { module: m } = await compile(methods);
    checkEveryApi(m.logSumExp, [[1, -2.5, 0.75, 3]]);
    checkEveryApi(m.chebyshev, [
      [1, 2.5, -0.75, 4],
      [0.5, 1.5, 0.25, -1],
    ]);
    checkEveryApi(m.spread, [Float64Array.of(0.3, -1.1, 2, 0.5), 1.3]);
    checkEveryApi(m.nested, [
      [0.3, -0.2, 0.5],
      [1.5, -0.5],
    ]);
  });

  it("for...of over entries(): the index and the element, with a break too", async () => {
    const { module: m } = await compile(methods);
    checkEveryApi(m.weightedSquares, [
      [1, 2.5, -0.75, 4],
      [0.5, 1.5, 0.25, 2],
    ]);
    checkEveryApi(m.untilNegative, [[1, 2.5, 0.75, -4, 2]], { skip: ["arg0[3]"] });
    checkEveryApi(m.untilNegative, [[1, 2.5, 0.75]]);
  });

  it("the generated loop is the one the call stands for, named after the callback", async () => {
    const { js } = await compile(methods);
    // sumOfSquares: the accumulator is the callback's `acc`, the element its `v`.
    expect(js).toMatch(/let acc = 0;\s+for \(let i = 0; i < x\.length; i\+\+\) \{\s+const v = x\[i\];/);
    // The backward loop runs back down the array, commented with the call.
    expect(js).toMatch(
      /\/\/ x\.reduce\(\(acc, v\) => acc \+ v \* v, 0\), in reverse\s+for \(let i = x\.length - 1; i >= 0; i--\)/,
    );
  });

  it("generated code type-checks under strict settings with no unused names", () => {
    expect(genStrictErrors(methods, "array-methods", { noUnusedLocals: true, noUnusedParameters: true })).toEqual([]);
  });
});

describe("array methods, refused", () => {
  const refusedOf = (body: string) =>
    tsgradErrors(`/** @differentiable */\nexport function f(x: number[], y: number): number {\n${body}\n}\n`).map(
      (e) => [e.code, e.text],
    );

  it("a callback assigning outside itself, or with a fourth parameter, or returning early", () => {
    expect(refusedOf("  let s = 0;\n  return x.reduce((a, v) => a + (s += v), 0) + s;")).toEqual([[94003, "s += v"]]);
    expect(refusedOf("  return x.reduce((a, v, i, all) => a + v * all[i], 0);")[0][0]).toBe(94003);
    const early = tsgradErrors(
      "/** @differentiable */\nexport function f(x: number[]): number {\n  return x.reduce((a, v) => { if (v > 0) return a; return a + v; }, 0);\n}\n",
    );
    expect(early.map((e) => e.code)).toEqual([94003]);
    expect(early[0].message).toMatch(/returns before its end/);
  });

  it("a map kept as an array and other methods say to write the loop", () => {
    const kept = refusedOf("  const ys = x.map((v) => v * y);\n  return ys[0];");
    expect(kept.map((e) => e[0])).toContain(94003);
    const each = refusedOf("  return x.filter((v) => v > y).length;");
    expect(each.map((e) => e[0])).toContain(94003);
  });
});
