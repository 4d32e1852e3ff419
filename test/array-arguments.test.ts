// Arrays passed to other @differentiable functions of the same module: the caller's backward pass
// calls the callee's pullback, which adds into the caller's gradient arrays. Every gradient is
// checked against central differences and through every API (grad, vjp, valueAndGrad, gradInto).

import { describe, expect, it } from "vitest";
import { compile, genStrictErrors, tsgradErrors } from "./harness.js";
import { checkEveryApi } from "./oracles.js";

const statistics = `
/** @differentiable */
export function mean(x: readonly number[]): number {
  if (x.length === 0) throw new Error("mean of nothing");
  let total = 0;
  for (let i = 0; i < x.length; i++) total += x[i];
  return total / x.length;
}

/** @differentiable */
export function sumNthPowerDeviations(x: readonly number[], n = 2): number {
  const meanValue = mean(x);
  let result = 0;
  for (let i = 0; i < x.length; i++) result += Math.pow(x[i] - meanValue, n);
  return result;
}

/** @differentiable */
export function sampleVariance(x: readonly number[]): number {
  return sumNthPowerDeviations(x, 2) / (x.length - 1);
}

/** @differentiable */
export function sampleStandardDeviation(x: readonly number[]): number {
  return Math.sqrt(sampleVariance(x));
}

/** @differentiable */
export function correlation(x: readonly number[], y: readonly number[]): number {
  const mx = mean(x);
  const my = mean(y);
  let total = 0;
  for (let i = 0; i < x.length; i++) total += (x[i] - mx) * (y[i] - my);
  return total / (x.length - 1) / sampleStandardDeviation(x) / sampleStandardDeviation(y);
}
`;

describe("arrays passed to helpers", () => {
  it("a chain of helpers over the caller's array (mean inside deviations inside variance)", async () => {
    const { module: m } = await compile(statistics);
    const x = [1, 2.5, -0.75, 4, 0.3];
    for (const name of ["sumNthPowerDeviations", "sampleVariance", "sampleStandardDeviation"])
      checkEveryApi(m[name], [x], { skip: name === "sumNthPowerDeviations" ? ["[1]"] : [] });
    checkEveryApi(m.correlation, [x, [0.2, -1, 3, 0.5, 2]]);
    // An exported function taking arrays exports its pullback of every parameter, for callers in
    // other modules (test/array-arguments-imported.test.ts); one of fewer stays inside the module.
    expect(typeof m.mean_pullback).toBe("function");
    expect(typeof m.sumNthPowerDeviations_pullback).toBe("function");
    expect(m.sumNthPowerDeviations_pullback_x).toBeUndefined();
  });

  it("the same array passed twice, and to a helper with a number parameter", async () => {
    const { module: m } = await compile(`
/** @differentiable */
function dot(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
/** @differentiable */
function scaledNorm(v: readonly number[], k: number): number {
  return k * Math.sqrt(dot(v, v));
}
/** @differentiable */
export function f(x: number[], w: number[], k: number): number {
  return dot(x, w) * scaledNorm(x, k) + scaledNorm(w, k * k);
}
`);
    checkEveryApi(m.f, [[0.5, -1.2, 2], [1.5, 0.25, -0.7], 1.3]);
  });

  it("a helper called in a loop, a constant table passed (no gradient asked for it), a local array filled first", async () => {
    const { module: m, js } = await compile(`
const WEIGHTS = [0.5, -0.25, 2];
/** @differentiable */
function weighted(v: readonly number[], w: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * w[i];
  return s;
}
/** @differentiable */
function sumOf(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return s;
}
/** @differentiable */
export function f(x: number[], t: number): number {
  let total = 0;
  for (let k = 0; k < 3; k++) total += Math.sin(t * k) * weighted(x, WEIGHTS);
  const squares = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) squares[i] = x[i] * x[i] * t;
  return total + sumOf(squares);
}
`);
    checkEveryApi(m.f, [[0.5, -1.2, 2], 0.7]);
    // WEIGHTS is constant data: weighted's pullback adds into v's gradient only.
    expect(js).toMatch(/function weighted_pullback_v\(v, w, dv\) \{\s*const dweighted = unboxed\[0\];/);
  });

  it("a member of an object literal (vec.dot), inside a branch, with the number gradient returned", async () => {
    const { module: m } = await compile(`
export const vec = {
  /** @differentiable */
  dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  },
};
/** @differentiable */
function shifted(a: ArrayLike<number>, s: number): number {
  return (a[0] + s) * (a[1] - s) * a[2];
}
/** @differentiable */
export function angle(a: ArrayLike<number>, b: ArrayLike<number>, s: number): number {
  const mag = Math.sqrt(vec.dot(a, a) * vec.dot(b, b));
  const cosine = mag && vec.dot(a, b) / mag;
  if (cosine > 0) return Math.acos(cosine) + shifted(b, s);
  return shifted(a, s * s);
}
`);
    checkEveryApi(m.angle, [[1, 2, 3], [0.5, -1, 2], 0.3]);
    checkEveryApi(m.angle, [[1, 2, 3], [-0.5, 1, -2], 0.3]);
  });

  it("a helper with a mode and a default parameter, called with and without it", async () => {
    const { module: m, js } = await compile(`
/** @differentiable */
function norm(v: readonly number[], kind: "l1" | "l2", p = 2): number {
  let s = 0;
  for (const x of v) s += kind === "l1" ? Math.abs(x) : Math.abs(x) ** p;
  return kind === "l1" ? s : s ** (1 / p);
}
/** @differentiable */
export function f(a: number[], q: number): number {
  return norm(a, "l2", q) + norm(a, "l1") * q;
}
`);
    checkEveryApi(m.f, [[0.5, -1.2, 2], 2.5]);
    // Without p, the default is a constant of the call: a pullback for v alone, passed undefined for p.
    expect(js).toMatch(/norm_pullback_v\(a, "l1", undefined, /);
  });

  it("generated code reads like the caller's own: the pullback adds into the caller's gradient", async () => {
    const { js } = await compile(statistics);
    // sumNthPowerDeviations' backward pass hands mean's pullback its dx, and the output's gradient
    // in the runtime's unboxed slot (a number passed as an argument would be boxed); n is data.
    expect(js).toMatch(/unboxed\[0\] = dmeanValue;\s*mean_pullback\(x, dx\);/);
    expect(js).toMatch(
      /function sumNthPowerDeviations_pullback_x\(x, n = 2, dx\) \{\s*const dsumNthPowerDeviations = unboxed\[0\];/,
    );
  });

  it("numbers handed back by nested pullbacks called in a loop: each read right after its call", async () => {
    // scaled's pullback calls shift's, both hand back two number gradients; the caller's loop
    // calls scaled's on each step. A slot read late (or overwritten by the nested call) would
    // give another call's gradient.
    const { module: m, js } = await compile(`
/** @differentiable */
function shift(v: Float64Array, a: number, b: number): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += Math.sin(v[i] * a + b);
  return s;
}
/** @differentiable */
function scaled(v: Float64Array, a: number, b: number): number {
  return shift(v, a * b, b - a) * a + shift(v, b, a) * b;
}
/** @differentiable */
export function f(v: Float64Array, p: number, q: number): number {
  let total = 0;
  for (let k = 0; k < 3; k++) total += Math.cos(scaled(v, p + k, q * k));
  return total;
}
`);
    checkEveryApi(m.f, [Float64Array.of(0.3, -1.1, 0.8), 0.7, -0.4]);
    expect(js).toMatch(/unboxed\[1\] = da;\s*unboxed\[2\] = db;\s*\}/);
  });

  it("a helper making arrays, called on arrays of two lengths in turn: its workspace keeps one of each call's", async () => {
    // centeredNorm's arrays come from its pullback's workspace, made again when the length
    // changes from one call to the next, and zeroed when it does not.
    const { module: m, js } = await compile(`
/** @differentiable */
function centeredNorm(v: Float64Array, w: number): number {
  const c = new Float64Array(v.length);
  let mean = 0;
  for (let i = 0; i < v.length; i++) mean += v[i] / v.length;
  for (let i = 0; i < v.length; i++) c[i] = (v[i] - mean) * w;
  let s = 0;
  for (let i = 0; i < c.length; i++) s += c[i] * c[i];
  return Math.sqrt(s);
}
/** @differentiable */
export function f(a: Float64Array, b: Float64Array, w: number): number {
  let total = 0;
  for (let k = 0; k < 3; k++) total += centeredNorm(a, w + k) * centeredNorm(b, w - k);
  return total;
}
`);
    checkEveryApi(m.f, [Float64Array.of(0.3, -1.1, 0.8), Float64Array.of(2, 0.5, -0.7, 1.9, 0.1), 0.7]);
    expect(js).toMatch(/const centeredNorm_pullback_arrays = new Workspace\(\);/);
    expect(js).toMatch(/const c = centeredNorm_pullback_arrays\.zeros\(0, v\.length\);/);
  });

  it("an unmarked helper making an array: its pullback's workspace is kept with it (fuzzer, seed 20260611)", async () => {
    // Unmarked helpers keep only the generated functions callers use; the workspace the pullback
    // names was dropped with the unused ones, and the pullback threw a ReferenceError.
    const { module: m } = await compile(`
function h0(a: Float64Array, b: number): number {
  const u0 = new Float64Array(1);
  for (let i0 = 0; i0 < u0.length; i0++) u0[i0] = 0.5 / (1 + a[0] * a[0]);
  return b + (b + u0[0]);
}
/** @differentiable */
export function f(x: Float64Array): number {
  return h0(x, x[0]) + x[0] || x[0];
}
`);
    checkEveryApi(m.f, [Float64Array.of(0.3)]);
  });

  it("a local number[] handed to a helper stays a number[]: the helper's own code runs on it", async () => {
    // f_grad made `a` a Float64Array from the scratch stack; g's value, computed by g's own code,
    // then threw (a Float64Array has no concat), and strict generated code did not type-check
    // (a Float64Array is no readonly number[]).
    const source = `
/** @differentiable */
function g(v: readonly number[]): number {
  const one = [1];
  const w = v.concat(one);
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i] * w[i];
  return s;
}
/** @differentiable */
function sum2(v: readonly number[]): number {
  return v[0] * v[1] + v[0];
}
/** @differentiable */
export function f(x: number, y: number): number {
  const a = [x, y];
  const t = g(a);
  return t * t + x + a[0] * sum2(a) * a[0];
}
`;
    const { module: m, js } = await compile(source);
    checkEveryApi(m.f, [0.3, -0.7]);
    expect(js).toMatch(/const a = new Array\(2\)\.fill\(0\);/);
    expect(genStrictErrors(source, "number-array-handed", { noUnusedLocals: true })).toEqual([]);
  });

  it("a helper given arrays with more than 255 number parameters is refused, the reason at the helper", () => {
    const params = Array.from({ length: 256 }, (_, i) => `p${i}: number`).join(", ");
    const args = Array.from({ length: 256 }, () => "x").join(", ");
    const errors = tsgradErrors(`
/** @differentiable */
function many(v: Float64Array, ${params}): number {
  return v[0] * p0 + p255;
}
/** @differentiable */
export function f(v: Float64Array, x: number): number {
  return many(v, ${args});
}
`);
    expect(errors.map((e) => e.code)).toContain(94003);
    expect(errors.map((e) => e.message).join("\n")).toMatch(/more than 255 number parameters/);
  });

  it("generated pullbacks type-check under strict settings with no unused names", () => {
    expect(genStrictErrors(statistics, "array-arguments", { noUnusedLocals: true, noUnusedParameters: true })).toEqual(
      [],
    );
  });
});

describe("arrays passed to helpers, refused", () => {
  const helper = `
/** @differentiable */
function total(v: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return s;
}
`;
  it("a local array changed after the call, or in the loop around it: the helper is written out there", async () => {
    const { module: m } = await compile(`${helper}
/** @differentiable */
export function after(x: number): number {
  const h = new Array<number>(2).fill(0);
  h[0] = x;
  const s = total(h);
  h[1] = x * x;
  return s * h[1] + total(h);
}

/** @differentiable */
export function inLoop(x: number): number {
  const h = new Array<number>(2).fill(0);
  let s = 0;
  for (let k = 0; k < 2; k++) {
    s += Math.sin(total(h));
    h[k] = x * (k + 1);
  }
  return s + total(h);
}
`);
    checkEveryApi(m.after, [0.7]);
    checkEveryApi(m.inLoop, [0.7]);
    // One that tsgrad cannot write out (it returns early) is refused at the array, as before.
    const early = tsgradErrors(`
/** @differentiable */
function firstOrTotal(v: readonly number[]): number {
  if (v.length === 1) return v[0];
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return s;
}

/** @differentiable */
export function f(x: number): number {
  const h = new Array<number>(2).fill(0);
  h[0] = x;
  const s = firstOrTotal(h);
  h[1] = x * x;
  return s + h[1];
}
`);
    expect(early.map((e) => e.code)).toEqual([94003]);
    expect(early[0].message).toMatch(/returns before its end/);
  });

  it("a class method given an array", () => {
    const errors = tsgradErrors(`
class Stats {
  /** @differentiable */
  total(v: readonly number[]): number { return v[0] + v[1]; }
  /** @differentiable */
  f(x: number[]): number { return this.total(x) * 2; }
}
export const s = new Stats();
`);
    expect(errors.map((e) => [e.code, e.text])).toEqual([[94003, "x"]]);
    expect(errors[0].message).toMatch(/class method or a closure/);
  });
});
