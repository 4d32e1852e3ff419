// Module helpers that return an array or an object, or write into an array they are given
// (ir/inlining.ts): inlined where a @differentiable function calls them, their results and writes
// the caller's own arrays and values. Every gradient is checked against central differences
// through every API; the refusals are checked at their nodes.

import { describe, expect, it } from "vitest";
import { compile, tsgradErrors } from "./harness.js";
import { checkEveryApi } from "./oracles.js";

const vectors = `
function sub(out: Float64Array, a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  out[0] = a[0] - b[0];
  out[1] = a[1] - b[1];
  out[2] = a[2] - b[2];
  return out;
}

function cross(out: Float64Array, a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const ax = a[0], ay = a[1], az = a[2];
  const bx = b[0], by = b[1], bz = b[2];
  out[0] = ay * bz - az * by;
  out[1] = az * bx - ax * bz;
  out[2] = ax * by - ay * bx;
  return out;
}

/** @differentiable */
export function triangleArea(a: number[], b: number[], c: number[]): number {
  const ab = new Float64Array(3);
  const ac = new Float64Array(3);
  const n = new Float64Array(3);
  sub(ab, b, a);
  sub(ac, c, a);
  cross(n, ab, ac);
  return 0.5 * Math.hypot(n[0], n[1], n[2]);
}

/** @differentiable */
export function torque(r: number[], f: number[], w: number): number {
  const t = cross(new Float64Array(3), r, f);
  return t[0] * w + t[1] * t[2];
}
`;

describe("out-parameters", () => {
  it("gl-matrix style: sub and cross write the caller's vectors, chained", async () => {
    const { module: m, js } = await compile(vectors);
    checkEveryApi(m.triangleArea, [
      [0.1, 0.2, -0.3],
      [1.5, 0.4, 0.2],
      [0.3, 2.1, 0.7],
    ]);
    // An array made in place for the out-parameter, named after it.
    checkEveryApi(m.torque, [[0.4, -1.2, 0.9], [1.1, 0.3, -0.5], 1.7]);
    // No copies and no pullback: the writes are the caller's stores.
    expect(js).not.toMatch(/sub_pullback|cross_grad/);
    expect(js).toMatch(/ab\[0\] = /);
  });

  it("axpy: a void helper adding into an array the caller made, called in a loop", async () => {
    const { module: m } = await compile(`
function axpy(alpha: number, x: ArrayLike<number>, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) y[i] += alpha * x[i];
}

/** @differentiable */
export function mix(weights: number[], basis: number[], scale: number): number {
  const acc = new Float64Array(basis.length);
  for (let k = 0; k < weights.length; k++) axpy(weights[k] * scale, basis, acc);
  let s = 0;
  for (let i = 0; i < acc.length; i++) s += Math.sin(acc[i]) * (i + 1);
  return s;
}
`);
    checkEveryApi(m.mix, [[0.3, -0.7, 1.1], [0.5, 1.5, -0.25, 2], 0.8]);
  });

  it("a helper writing a parameter of the caller is refused at the argument", () => {
    const errors = tsgradErrors(`
function scaleInPlace(v: Float64Array, k: number): void {
  for (let i = 0; i < v.length; i++) v[i] *= k;
}

/** @differentiable */
export function f(v: Float64Array, k: number): number {
  scaleInPlace(v, k);
  return v[0];
}
`);
    expect(errors).toHaveLength(1);
    expect(errors[0].code).toBe(94003);
    expect(errors[0].text).toBe("v");
    expect(errors[0].message).toMatch(
      /`scaleInPlace` writes into its parameter `v`, here `v`, a parameter of this function/,
    );
  });
});

describe("helpers returning arrays and objects", () => {
  it("const p = softmax(z): the array the helper creates, read by the caller", async () => {
    const { module: m, js } = await compile(`
function softmax(z: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < z.length; i++) if (z[i] > max) max = z[i];
  const p = new Float64Array(z.length);
  let total = 0;
  for (let i = 0; i < z.length; i++) {
    p[i] = Math.exp(z[i] - max);
    total += p[i];
  }
  for (let i = 0; i < z.length; i++) p[i] /= total;
  return p;
}

/** @differentiable */
export function crossEntropy(logits: number[], target: number[]): number {
  const p = softmax(logits);
  let loss = 0;
  for (let i = 0; i < p.length; i++) loss -= target[i] * Math.log(p[i]);
  return loss;
}

/** @differentiable */
export function twoSoftmaxes(a: number[], b: number[]): number {
  const pa = softmax(a);
  const pb = softmax(b);
  return pa[0] * pb[1] + pa[1] / pb[0];
}
`);
    checkEveryApi(m.crossEntropy, [
      [0.2, -1.3, 0.7, 2.1],
      [0.1, 0.2, 0.3, 0.4],
    ]);
    checkEveryApi(m.twoSoftmaxes, [
      [0.5, -0.2, 1],
      [1.4, 0.3, -0.6],
    ]);
    expect(js).not.toMatch(/softmax_grad|softmax_pullback/);
  });

  it("const { mean, sd } = stats(xs): the fields of the object the helper returns", async () => {
    const { module: m, js } = await compile(`
function stats(xs: readonly number[]): { mean: number; sd: number } {
  let s = 0;
  for (const x of xs) s += x;
  const mean = s / xs.length;
  let q = 0;
  for (const x of xs) q += (x - mean) ** 2;
  return { mean, sd: Math.sqrt(q / (xs.length - 1)) };
}

/** @differentiable */
export function zscore(xs: number[], y: number): number {
  const { mean, sd } = stats(xs);
  return (y - mean) / sd;
}

/** @differentiable */
export function renamed(xs: number[], ys: number[]): number {
  const mean = 2;
  const { mean: mx, sd: sx } = stats(xs);
  const { mean: my, sd: sy } = stats(ys);
  return (mx - my) / Math.sqrt(sx * sx + sy * sy) + mean;
}
`);
    checkEveryApi(m.zscore, [[1, 2.5, -0.75, 4], 1.7]);
    checkEveryApi(m.renamed, [
      [1, 2.5, -0.75, 4],
      [0.3, -0.2, 1.1],
    ]);
    expect(js).not.toMatch(/stats_grad/);
  });

  it("a helper calling another helper, and a result passed to a @differentiable helper", async () => {
    const { module: m } = await compile(`
function scale(v: ArrayLike<number>, k: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] * k;
  return out;
}

function normalized(v: ArrayLike<number>): Float64Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return scale(v, 1 / Math.sqrt(s));
}

/** @differentiable */
function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** @differentiable */
export function squashed(a: number[], k: number): number {
  const t = scale(a, k).map((z) => Math.tanh(z));
  return t[0] * t[1] + t[2];
}

/** @differentiable */
export function cosine(a: number[], b: number[]): number {
  const ua = normalized(a);
  const ub = normalized(b);
  return dot(ua, ub);
}
`);
    // A result mapped as it is made: scale(a, k).map(f).
    checkEveryApi(m.squashed, [[0.4, -1.1, 0.8], 0.9]);
    checkEveryApi(m.cosine, [
      [1, 2, -0.5],
      [0.3, -1, 2],
    ]);
  });

  it("refuses a result used in place, a helper calling itself, and an early return", () => {
    const errors = tsgradErrors(`
function scale(v: ArrayLike<number>, k: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] * k;
  return out;
}

function halve(v: Float64Array, n: number): Float64Array {
  if (n <= 0) return v;
  for (let i = 0; i < v.length; i++) v[i] /= 2;
  return halve(v, n - 1);
}

/** @differentiable */
export function f(v: number[], k: number): number {
  return scale(v, k)[0];
}

/** @differentiable */
export function g(v: number[]): number {
  const h = new Float64Array(2);
  h[0] = v[0];
  halve(h, 2);
  return h[0];
}
`);
    expect(errors.map((e) => [e.code, e.text])).toEqual([
      [94003, "scale(v, k)"],
      [94003, "halve(h, 2)"],
    ]);
    expect(errors[0].message).toMatch(
      /`scale` returns an array, which tsgrad follows only when it is named where it is made/,
    );
    expect(errors[1].message).toMatch(/returns before its end/);
  });

  it("what tsgrad cannot do in a helper's body is said at the call, with the reason and its line", () => {
    const errors = tsgradErrors(`
function softmax(logits: readonly number[]): number[] {
  const exps = logits.flat();
  return exps;
}

/** @differentiable */
export function entropyLike(logits: readonly number[]): number {
  const p = softmax(logits);
  return p[0] + p[1];
}
`);
    expect(errors.map((e) => [e.code, e.text])).toEqual([[94006, "softmax(logits)"]]);
    expect(errors[0].message).toMatch(/tsgrad inlines `softmax` here .*: .*logits\.flat\(\).* \(case_.*\.ts:3\)/);
  });
});

describe("inlined helpers, found by the fuzzer", () => {
  const source = `
function triple(u: Float64Array, a: number): void {
  for (let i = 0; i < 2; i++) a = a * 3;
  u[0] = a;
}

/** @differentiable */
export function paramAssigned(x: number): number {
  const u0 = new Float64Array(1);
  let v = x * 2;
  triple(u0, v);
  return u0[0] + v;
}

function pairSum(v: ArrayLike<number>, out: Float64Array): void {
  out[0] = v[0] * v[1] + out[0];
}

/** @differentiable */
export function reboundInBranch(x: number[], y: number[]): number {
  const o = new Float64Array(1);
  pairSum(y, o);
  if (o[0] > 0) pairSum(x, o);
  for (let k = 0; k < 2; k++) {
    if (o[0] > 100) break;
    pairSum(x, o);
  }
  return o[0];
}

const SPREAD = 0.5;
const center = (a: number): { mean: number; sd: number } => ({ mean: a * 2, sd: SPREAD });

function running(xs: readonly number[]): { m: number } {
  let s = 0;
  for (var i = 0; i < xs.length; i++) s += xs[i];
  return { m: s / i };
}

/** @differentiable */
export function literalFields(a: number, xs: number[]): number {
  const { mean, sd } = center(a);
  const { m } = running(xs);
  return (mean - m) / sd + m * m;
}
`;

  it("a parameter the helper assigns is its own variable: the caller's keeps its value (was 36 for 20)", async () => {
    const { module: m } = await compile(source);
    expect(m.paramAssigned(0.5)).toBe(10);
    expect(m.paramAssigned_grad(0.5)[0]).toBeCloseTo(20, 12);
    checkEveryApi(m.paramAssigned, [0.5]);
  });

  it("a helper given other arrays in a branch and a loop than before declares nothing after them", async () => {
    const { module: m } = await compile(source);
    checkEveryApi(m.reboundInBranch, [
      [0.5, 1.5],
      [1.2, 0.7],
    ]);
    checkEveryApi(m.reboundInBranch, [
      [0.5, 1.5],
      [-1.2, 0.7],
    ]);
  });

  it("an expression body returning an object, a field of a literal's type, a var counter read after its loop", async () => {
    const { module: m } = await compile(source);
    checkEveryApi(m.literalFields, [0.8, [1, 2.5, -0.5]]);
  });
});

describe("a @differentiable helper given an array that changes after the call", () => {
  it("is inlined there: sqnorm(c) of a buffer refilled for each component, and a loop reading it after", async () => {
    const { module: m, js } = await compile(`
/** @differentiable */
function sqnorm(v: Float64Array): number {
  let s = 0;
  for (let j = 0; j < v.length; j++) s += v[j] * v[j];
  return s;
}

/** @differentiable */
export function distances(x: Float64Array, means: Float64Array, d: number, K: number): number {
  const c = new Float64Array(d);
  let total = 0;
  for (let k = 0; k < K; k++) {
    for (let j = 0; j < d; j++) c[j] = x[j] - means[k * d + j];
    total += Math.log(1 + sqnorm(c));
  }
  const once = sqnorm(x);
  c.fill(0.5);
  return total + once + c[0] * sqnorm(c);
}
`);
    checkEveryApi(m.distances, [Float64Array.of(0.3, -1.2), Float64Array.of(1, 0.5, -0.7, 2, 0.1, 0.4), 2, 3], {
      skip: ["[2]", "[3]"],
    });
    // sqnorm(x) of a parameter still goes through the pullback; sqnorm(c) is written out.
    expect(js).toMatch(/sqnorm_pullback/);
  });
});

describe("an inlined helper passing its array on to a @differentiable helper", () => {
  it("is taken when nothing changes the array after, and refused when the helper writes it after", async () => {
    const { module: m } = await compile(`
/** @differentiable */
function first(a: ArrayLike<number>): number {
  return a[0] * a[1];
}

function readOnly(a: Float64Array): Float64Array {
  const out = new Float64Array(1);
  out[0] = first(a) + a[1];
  return out;
}

/** @differentiable */
export function f(x: number[]): number {
  const u0 = new Float64Array(2);
  u0[0] = x[0] * 2;
  u0[1] = x[1];
  const r = readOnly(u0);
  return r[0] * x[0];
}
`);
    checkEveryApi(m.f, [[0.7, -1.3]]);
    const errors = tsgradErrors(`
/** @differentiable */
function first(a: ArrayLike<number>): number {
  return a[0] * a[1];
}

function thenWrite(a: Float64Array): number {
  const s = first(a);
  a[0] = 5;
  return s;
}

/** @differentiable */
export function g(x: number[]): number {
  const u0 = new Float64Array(2);
  u0[0] = x[0];
  u0[1] = x[1];
  return thenWrite(u0) + u0[0];
}
`);
    expect(errors.map((e) => e.code)).toEqual([94006]);
    expect(errors[0].message).toMatch(/changed after the call/);
  });
});
