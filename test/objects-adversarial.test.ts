// Adversarial review of object parameters (commit cee000c): interfaces and type literals of
// numbers, arrays, matrices, Int32Array labels and nested objects, read by field or destructured.
// Each case is checked against an oracle that does not share code with the compiler: the
// runtime's central differences (checkGradient / numericGrad, which move every number of the
// arguments), a hand derivation, or the agreement of grad, vjp, valueAndGrad and gradInto; what is
// unsupported must be refused with a tsgrad diagnostic (code >= 94000) at the offending node.
//
// The 17 bugs it found are fixed; each keeps its test, with a comment saying what went wrong
// before ("Was:"). A new bug goes in as `it.fails(...)` with such a comment until it is fixed.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";
import { generatedText } from "../transformer/files.js";
import {
  compile,
  compileProject,
  compilerOptions,
  compileToJs,
  createProgram,
  genStrictErrors,
  root,
} from "./harness.js";

let runtime: any;

/** Arrays as plain arrays, recursively (Int32Array labels and numbers as they are), to compare gradients. */
const plain = (v: any): any =>
  v instanceof Float64Array || Array.isArray(v)
    ? Array.from(v, plain)
    : v && typeof v === "object" && !(v instanceof Int32Array)
      ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
      : v;

/**
 * The oracle: grad(f) against central differences, number by number, except the paths in `skip`
 * (numbers the function is piecewise constant in, e.g. a loop bound, where finite differences
 * jump). Then vjp (backward twice), valueAndGrad and gradInto must give the same gradient, and
 * gradInto must refill the buffers of the earlier result in place.
 */
function check(f: (...a: any[]) => number, args: any[], opts: { skip?: string[]; tol?: number } = {}) {
  const tol = opts.tol ?? 1e-6;
  const g = runtime.grad(f)(...args);
  const r = runtime.checkGradient(f, args, g, { h: 1e-6, tolerance: tol });
  const bad = r.entries
    .filter((e: any) => !(e.relativeError <= tol) && !(opts.skip ?? []).includes(e.path))
    .map((e: any) => `${e.path}: ${e.analytic} vs ${e.numeric}`);
  expect(bad, "entries off finite differences").toEqual([]);
  expect(r.entries.length).toBeGreaterThan(0);
  const v = runtime.vjp(f)(...args);
  expect(v.value).toBe(f(...args));
  expect(plain(v.backward(1))).toEqual(plain(g));
  expect(plain(v.backward(1)), "vjp's backward run twice").toEqual(plain(g));
  const vg = runtime.valueAndGrad(f)(...args);
  expect(vg.value).toBe(f(...args));
  expect(plain(vg.grad)).toEqual(plain(g));
  const earlier = runtime.grad(f)(...args);
  const into = runtime.gradInto(f)(earlier, ...args);
  expect(into).toBe(earlier);
  expect(plain(into)).toEqual(plain(g));
  return g;
}

/** Generated code as `tsgrad gen` writes it, compiled again with plain tsc --strict: its errors. */
function strictErrors(source: string, name: string): { code: number; text: string; line: string }[] {
  return genStrictErrors(source, join("objects-adversarial", name));
}

/** registerGradient(f, { grad: f_grad, ... }): its `grad` is typed `(...args) => number[]`, which no gradient with an array or object in it is. */

// ---------------------------------------------------------------------------------------------
// What should work: one module, compiled once.

const source = `
import { grad, gradInto, valueAndGrad, vjp, jacobian, stopGradient, matmul, addBias, relu, softmaxCrossEntropy, sum, mul, type Matrix } from "tsgrad";

/** A field named like a local of an inner scope (the field is then named by its path). */
/** @differentiable */
export function shadowLocal(p: { a: number; t: number }, x: number): number {
  let s = p.a * x;
  if (x > 0) { const t = s * 2; s = t + p.t; }
  return s * p.t;
}

/** One field read through four names: two consts, a destructuring, the field itself. */
/** @differentiable */
export function twoAliases(p: { w: Float64Array; c: number }): number {
  const { w } = p;
  const v = p.w;
  const { c: k1 } = p;
  const k2 = p.c;
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i] * v[i] * k1 + k2 * p.w[i];
  return s;
}

/** Aliases declared in branches and loops; the same local name for two different fields. */
/** @differentiable */
export function branchAliases(p: { a: number; b: number; w: number[] }, x: number): number {
  let s = 0;
  if (x > 0) { const { a } = p; s = a * x; } else { const { b: a } = p; s = a * x * x; }
  for (let i = 0; i < p.w.length; i++) { const { w } = p; const q = p.a; s += w[i] * q; }
  return s;
}

/** Four levels, nested destructuring with renames, and the path read directly too. */
export interface Deep { l1: { l2: { l3: { v: Float64Array; s: number }; k: number }; m: number }; top: number }
/** @differentiable */
export function deep(d: Deep): number {
  const { l1: { l2: { l3: { v: vec, s: sc }, k }, m: mm } } = d;
  let acc = d.top;
  for (let i = 0; i < vec.length; i++) acc += vec[i] * sc * k + mm * d.l1.l2.l3.v[i];
  return acc * acc;
}
/** @differentiable */
export function deepParam({ l1: { l2: { k: kk, l3 } }, top }: Deep, y: number): number {
  return kk * l3.s * y + top * l3.v[0];
}

/** A field W (adjoint dW) next to a user local dW; a local db next to field b. */
/** @differentiable */
export function userAdjointNames(m: { W: Float64Array; b: number }): number {
  const dW = 2;
  let s = m.b * dW;
  for (let i = 0; i < m.W.length; i++) s += m.W[i] * m.W[i];
  const db = s * 0.5;
  return db + m.b;
}

/** Fields named like generated temporaries and their adjoints. */
/** @differentiable */
export function tempNames(p: { prod: number; sum: number; d: number; dprod: number; quot: number; diff: number; xpy: number }, x: number): number {
  const a = p.prod * x + p.sum * x;
  const b = a / p.quot - p.diff;
  return a * b * p.d + p.dprod * x * x + (x + p.xpy) ** 2;
}

/** Fields named like what generated code names: grads, saved, scratch, cache, default, value. */
/** @differentiable */
export function runtimeNames(p: { grads: number; saved: Float64Array; scratch: number; cache: number; default: number; value: number }, n: number): number {
  const h = new Float64Array(p.saved.length);
  let s = 0;
  for (let i = 0; i < p.saved.length; i++) { h[i] = p.saved[i] * p.scratch; s = s * p.cache + h[i] * h[i]; }
  return s * p.grads + p.default * p.value + n;
}

/** Fields named like the function itself and like Math. */
/** @differentiable */
export function selfNamed(p: { selfNamed: number; Math: number; x: number }, x: number): number {
  return Math.sin(p.selfNamed * x) + p.Math * p.x + x;
}

/** Matrix-op helpers the backward pass imports, as field names (they get aliased imports). */
export interface Helpers { addMatmulTN: number; addMatmulNT: number; zerosLike: number; addConstant: number; addMul: number; addReluGrad: number; W: Matrix }
/** @differentiable */
export function helperNames(p: Helpers, X: Matrix): number {
  const h = relu(matmul(X, p.W));
  return sum(mul(h, h)) * p.addMatmulTN * p.addMatmulNT * p.zerosLike * p.addConstant * p.addMul * p.addReluGrad;
}

/** Int32Array labels as a field: an index into another field. */
/** @differentiable */
export function labels(d: { y: Int32Array; w: Float64Array }): number {
  let s = 0;
  for (let i = 0; i < d.y.length; i++) s += d.w[d.y[i]] * (i + 1) * d.y[i];
  return s * s;
}

/** Number fields as a loop bound and in a condition; a data-dependent while over fields. */
/** @differentiable */
export function bounds(p: { n: number; t: number; x: number }): number {
  let s = 1;
  for (let i = 0; i < p.n; i++) s = s * p.x + p.t;
  if (p.t > 0) s = s * p.t;
  return s;
}
/** @differentiable */
export function whileField(p: { limit: number; r: number; c: number }): number {
  let s = p.c;
  let k = 0;
  while (s < p.limit && k < 50) { s = s * p.r + p.c; k++; }
  return s;
}

/** Fields read in a loop whose local is overwritten each iteration (its values saved). */
/** @differentiable */
export function savedLoop(p: { a: number; w: Float64Array }, x: number): number {
  let h = x;
  for (let i = 0; i < p.w.length; i++) h = Math.tanh(p.w[i] * h + p.a);
  return h * h;
}

/** Number fields passed to other differentiable functions, in and out of loops. */
/** @differentiable */
export function sq(u: number): number { return u * u; }
/** @differentiable */
export function callsField(p: { a: number; w: number[] }, x: number): number {
  let s = 0;
  for (let i = 0; i < p.w.length; i++) { const t = sq(p.w[i] * p.a); s = s * x + t; }
  return s + sq(p.a) + sq(p.w.length);
}

/** Matrix fields in matrix ops, labels in the loss, fields no gradient reaches of every kind. */
export interface Layer { W: Matrix; b: Matrix; unusedM: Matrix }
export interface Net { layer: Layer; reg: number; unusedN: number; unusedV: number[]; unusedF: Float64Array }
/** @differentiable */
export function netLoss(net: Net, data: { X: Matrix; y: Int32Array }): number {
  const { layer } = net;
  const s = addBias(matmul(data.X, layer.W), layer.b);
  return softmaxCrossEntropy(relu(s), data.y) + net.reg * sum(mul(layer.W, layer.W));
}
/** A Matrix field named by destructuring; its rows as a number. */
/** @differentiable */
export function matrixRowsAlias({ M, a }: { M: Matrix; a: number }): number {
  return M.rows * a * sum(mul(M, M));
}

/** One field. */
/** @differentiable */
export function single(p: { x: number }): number { return p.x * p.x * p.x; }

/** Type aliases, Readonly<T>, readonly fields and arrays, generics, extends, a class of data fields. */
type Pair = { a: number; v: readonly number[] };
/** @differentiable */
export function readonlyAlias(p: Readonly<Pair>, q: Pair): number { return p.a * q.v[0] + q.a * p.v[1]; }
export interface Frozen { readonly a: number; readonly v: Float64Array }
/** @differentiable */
export function frozen(p: Frozen): number { return p.a * p.v[0] * p.v[1]; }
export interface Box<T> { v: T; s: number }
/** @differentiable */
export function boxes(p: Box<Float64Array>, q: Box<number>): number { return p.v[0] * p.s + q.v * q.s; }
export interface Base { a: number }
export interface Derived extends Base { w: number[] }
/** @differentiable */
export function derived(d: Derived): number { return d.a * d.w[0]; }
export class Data { a = 1; w = new Float64Array(2); }
/** @differentiable */
export function classData(d: Data): number { return d.a * d.w[0] * d.w[1]; }

/** An arrow function with a destructured parameter and an expression body. */
/** @differentiable */
export const arrow = ({ w, c }: { w: Float64Array; c: number }): number => c * w[0] * w[1];

/** Methods taking objects: this.k is a constant; a static one destructures. */
export class Model {
  k = 2;
  /** @differentiable */
  loss(p: { a: number; w: Float64Array }, x: number): number { return this.k * p.a * p.w[0] * x; }
  /** @differentiable */
  static sloss({ a, w }: { a: number; w: Float64Array }, x: number): number { return a * w[1] * x; }
}

/** A local array sized by a field, a for...of over a destructured field and over a const chain. */
/** @differentiable */
export function sizedByField(p: { n: number; w: Float64Array }, x: number): number {
  const h = new Float64Array(p.n);
  for (let i = 0; i < p.n; i++) h[i] = p.w[i] * x;
  let s = 0;
  for (let i = 0; i < h.length; i++) s += h[i] * h[i];
  return s;
}
/** @differentiable */
export function forOfAlias(p: { w: Float64Array; v: number[] }): number {
  const { w } = p;
  let s = 0;
  for (const e of w) s += e * e;
  const b = p.v;
  const c = b;
  for (const e of c) s = s * e;
  return s;
}

/** Early returns before and inside a loop, an alias declared after the first. */
/** @differentiable */
export function earlyReturn(p: { a: number; w: Float64Array }, x: number): number {
  if (x < 0) return p.a * x;
  const { w } = p;
  let s = 0;
  let i = 0;
  while (i < w.length) { if (w[i] > 5) return s; s += w[i] * p.a; i++; }
  return s * x;
}

/** wrt on object parameters (compiled to their own gradients), a destructured one included. */
/** @differentiable */
export function wrtFn(p: { a: number; v: Float64Array }, x: number, { c }: { c: number }): number {
  let s = 0;
  for (let i = 0; i < p.v.length; i++) s += p.v[i] * x * c;
  return s * p.a;
}
export function useWrt(p: { a: number; v: Float64Array }, x: number, q: { c: number }) {
  return { g1: grad(wrtFn, { wrt: [2, 0] })(p, x, q), g2: grad(wrtFn, { wrt: [1] })(p, x, q), g3: valueAndGrad(wrtFn, { wrt: [0] })(p, x, q) };
}

/** An RNN over time steps: fields read through an alias declared in the loop, a local array overwritten in place. */
export interface Rnn { Wx: Float64Array; Wh: Float64Array; b: number[]; h0: Float64Array; out: { v: Float64Array; c: number } }
/** @differentiable */
export function rnn(m: Rnn, xs: Float64Array, T: number): number {
  const n = m.h0.length;
  const h = new Float64Array(n);
  const tmp = new Float64Array(n);
  for (let j = 0; j < n; j++) h[j] = m.h0[j];
  for (let t = 0; t < T; t++) {
    const { Wh } = m;
    for (let j = 0; j < n; j++) {
      let a = m.b[j] + m.Wx[j] * xs[t];
      for (let k = 0; k < n; k++) a += Wh[j * n + k] * h[k];
      tmp[j] = Math.tanh(a);
    }
    for (let j = 0; j < n; j++) h[j] = tmp[j];
  }
  const { out: { v, c } } = m;
  let s = c;
  for (let j = 0; j < n; j++) s += v[j] * h[j];
  return s * s;
}

/** A vector-valued function of two objects: its Jacobian, one block per field. */
/** @differentiable */
export function vec(p: { s: number; v: Float64Array; inner: { k: number } }, q: number[]): Float64Array {
  const out = new Float64Array(p.v.length + 1);
  for (let i = 0; i < p.v.length; i++) out[i] = p.s * Math.sin(p.v[i] * q[i]) + p.inner.k;
  out[p.v.length] = p.inner.k * p.s;
  return out;
}

/** Local names equal to an alias in a sibling scope, a later scope, or shadowing it. */
/** @differentiable */
export function siblingAlias(p: { a: number; b: number }, x: number): number {
  let s = 0;
  if (x > 0) { const { a: t } = p; s = t * x; } else { const t = x * p.b; s = t * t; }
  return s;
}
/** @differentiable */
export function laterLocal(p: { a: number; b: number }, x: number): number {
  let s = x;
  if (x > 0) { const { a: t } = p; s = t * x; }
  const t = s * p.b;
  return t * s;
}
/** @differentiable */
export function shadowedParamAlias({ a: t, c }: { a: number; c: number }, x: number): number {
  let s = c * t;
  if (x > 0) { const t = x * 2; s = s * t; }
  return s * t;
}
/** @differentiable */
export function shadowedBodyAlias(p: { a: number; c: number }, x: number): number {
  const { a: t } = p;
  let s = p.c * t;
  for (let i = 0; i < 2; i++) { const t = x * s; s = s + t; }
  return s * t;
}

/** Two objects with the same key; a parameter named like a field of another. */
/** @differentiable */
export function sameKeys(p: { a: number; b: number }, q: { a: number }): number { return p.a * q.a + p.b; }
/** @differentiable */
export function paramLikeField({ w }: { w: number; v: number }, v: number): number { return w * v; }

/** A const naming the whole object, then its parts; lengths through it. */
/** @differentiable */
export function wholeAlias(p: { a: number; w: Float64Array; inner: { k: number; v: number[] } }): number {
  const q = p;
  const { inner } = q;
  const r = inner;
  return q.a * r.k * r.v[1] + q.w.length * q.inner.v.length;
}

/** Parentheses, casts, non-null assertions, optional chaining, a let copy of a number field. */
/** @differentiable */
export function wrappers(p: { a: number; w: Float64Array }, x: number): number {
  let a = p.a;
  a = a * a;
  a += p.w[0];
  return (p).a * (p.w)[0] * p!.a * p.w![1] * (p as { a: number; w: Float64Array }).a * x * p?.a + a;
}

/** Fields named like the flags, stacks and versions loops and early returns generate. */
/** @differentiable */
export function flagNames(p: { returned: number; done: number; stack: number; frame: number; s_1: number; count: number; i_1: number; flag: number; w: Float64Array }, x: number): number {
  let s = x * p.s_1;
  for (let i = 0; i < p.w.length; i++) {
    if (p.w[i] * s > p.flag) return s * p.returned;
    if (s < -5) break;
    if (p.w[i] < 0) continue;
    s = s * p.w[i] + p.done * p.stack * p.frame * p.count * p.i_1;
  }
  let k = 0;
  while (s < 3 && k < 20) { s = s * 1.5 + p.i_1; k++; }
  return s;
}

/** stopGradient on a field; a field through a function with its own derivative. */
/** @differentiable */
export function stopped(p: { a: number; b: number }): number { return stopGradient(p.a) * p.a * p.b; }
/** @differentiable */
export function softplus(x: number): number { return Math.log1p(Math.exp(x)); }
/** @derivative softplus */
export function softplusD(x: number, y: number, dy: number): [number] { return [dy / (1 + Math.exp(-x))]; }
/** @differentiable */
export function customField(p: { a: number; w: number[] }): number { return softplus(p.a * p.w[0]) + softplus(p.w[1]); }

/** The types: gradients mirror the objects (strict, no casts). */
export function typed(d: Deep, r: Readonly<Pair>, c: Data, net: Net, data: { X: Matrix; y: Int32Array }): number {
  const [dd] = grad(deep)(d);
  const v: Float64Array = dd.l1.l2.l3.v;
  const [dr, dq] = grad(readonlyAlias)(r, r);
  const rv: number[] = dr.v;
  const [dc] = grad(classData)(c);
  const cw: Float64Array = dc.w;
  const [dn, ddata] = grad(netLoss)(net, data);
  const W: Matrix = dn.layer.W;
  const y: Int32Array = ddata.y;
  const into = gradInto(netLoss)([dn, ddata], net, data);
  const back = vjp(deepParam)(d, 1).backward(1)[0].l1.l2.k;
  const J = jacobian(vec)({ s: 1, v: v, inner: { k: 1 } }, [1, 1]);
  const block: Float64Array = J[0].inner.k;
  return v.length + rv.length + dq.a + cw.length + W.rows + y.length + into[0].reg + back + block.length;
}
`;

let m: Record<string, any>;

beforeAll(async () => {
  ({ module: m } = await compile(source));
  runtime = await import("tsgrad" as string);
}, 60_000);

const deepValue = () => ({ l1: { l2: { l3: { v: Float64Array.of(0.3, -0.7), s: 1.3 }, k: -0.4 }, m: 0.6 }, top: 0.2 });
const rand = (n: number, seed: number) =>
  Float64Array.from({ length: n }, (_, i) => Math.sin(seed * 7.3 + i * 1.7) * 0.5);

describe("object parameters under attack: gradients equal finite differences, every API agrees", () => {
  it("a field named like a local of an inner scope", () => {
    for (const x of [0.5, -0.5]) check(m.shadowLocal, [{ a: 0.7, t: 1.1 }, x]);
  });

  it("one field read through several names: every read adds to the same gradient (hand derivation)", () => {
    const p = { w: Float64Array.of(0.1, 0.2, -0.3), c: 1.5 };
    const [dp] = check(m.twoAliases, [p]);
    // s = Σ c w_i² + c w_i: ds/dw_i = 2 c w_i + c, ds/dc = Σ w_i² + w_i.
    expect(Array.from(dp.w)).toEqual([0.1, 0.2, -0.3].map((w) => expect.closeTo(2 * 1.5 * w + 1.5, 14)));
    expect(dp.c).toBeCloseTo(0.01 + 0.04 + 0.09 + 0.1 + 0.2 - 0.3, 14);
  });

  it("aliases declared in branches and loops, one local name for two fields", () => {
    for (const x of [0.5, -0.5]) check(m.branchAliases, [{ a: 0.3, b: -0.8, w: [1, 2] }, x]);
  });

  it("four levels deep, destructured with renames in the body and in the parameter list", () => {
    const [dd] = check(m.deep, [deepValue()]);
    expect(Object.keys(dd)).toEqual(["l1", "top"]);
    expect(Object.keys(dd.l1.l2.l3)).toEqual(["v", "s"]);
    const [dp, dy] = check(m.deepParam, [deepValue(), 0.9]);
    // f = k s y + top v0
    expect(dy).toBeCloseTo(-0.4 * 1.3, 14);
    expect(dp.l1.m).toBe(0);
    expect(Array.from(dp.l1.l2.l3.v)).toEqual([0.2, 0]);
  });

  it("a user local dW beside field W (whose adjoint would be dW), db beside b", () => {
    check(m.userAdjointNames, [{ W: Float64Array.of(0.5, -1), b: 0.3 }]);
  });

  it("fields named prod, sum, d, dprod, quot, diff, xpy (names of temporaries)", () => {
    check(m.tempNames, [{ prod: 0.5, sum: -0.3, d: 1.2, dprod: 0.7, quot: 2.5, diff: 0.1, xpy: 0.4 }, 0.8]);
  });

  it("fields named grads, saved, scratch, cache, default, value (with a local array and a loop)", () => {
    check(m.runtimeNames, [
      { grads: 0.5, saved: Float64Array.of(0.2, 0.4, -0.1), scratch: 1.5, cache: 0.9, default: 0.3, value: 2 },
      2,
    ]);
  });

  it("fields named like the function and like Math", () => {
    const [dp] = check(m.selfNamed, [{ selfNamed: 0.5, Math: 2, x: 3 }, 0.4]);
    expect(dp.Math).toBe(3);
    expect(dp.x).toBe(2);
  });

  it("fields named like the matrix helpers the backward pass imports", () => {
    const { matrix } = runtime;
    const p = {
      addMatmulTN: 0.5,
      addMatmulNT: 0.6,
      zerosLike: 0.7,
      addConstant: 0.8,
      addMul: 1.1,
      addReluGrad: 0.9,
      W: matrix(2, 2, Float64Array.of(1, -2, 3, 0.5)),
    };
    check(m.helperNames, [p, matrix(1, 2, Float64Array.of(0.3, 0.4))]);
  });

  it("Int32Array labels in a field index another field; their gradient is zeros", () => {
    const [dd] = check(m.labels, [{ y: Int32Array.of(1, 0, 1), w: Float64Array.of(0.3, -0.5) }]);
    expect(dd.y).toBeInstanceOf(Int32Array);
    expect(Array.from(dd.y)).toEqual([0, 0, 0]);
  });

  it("number fields as loop bounds and conditions get no gradient; data-dependent while", () => {
    for (const p of [
      { n: 2.5, t: 0.5, x: 0.8 },
      { n: 1.5, t: -0.5, x: 0.8 },
    ]) {
      const [dp] = check(m.bounds, [p]);
      expect(dp.n).toBe(0);
    }
    check(m.whileField, [{ limit: 3.3, r: 1.5, c: 0.7 }]);
  });

  it("fields read in a loop whose local is overwritten (saved values)", () => {
    check(m.savedLoop, [{ a: 0.1, w: Float64Array.of(0.5, -0.9, 1.2) }, 0.7]);
  });

  it("number fields and field elements passed to another differentiable function", () => {
    check(m.callsField, [{ a: 0.4, w: [1.5, -2, 0.5] }, 0.7]);
  });

  it("an object of matrices in matrix ops; unused Matrix, number, number[] and Float64Array fields get zeros; gradInto refills each in place", () => {
    const { matrix } = runtime;
    const net = () => ({
      layer: { W: matrix(2, 3, rand(6, 1)), b: matrix(1, 3, rand(3, 2)), unusedM: matrix(2, 2, rand(4, 3)) },
      reg: 0.1,
      unusedN: 3,
      unusedV: [1, 2],
      unusedF: Float64Array.of(5),
    });
    const data = { X: matrix(4, 2, rand(8, 5)), y: Int32Array.of(0, 2, 1, 1) };
    const g = check(m.netLoss, [net(), data]);
    expect(g[0].layer.unusedM.rows).toBe(2);
    // Dirty every buffer, then gradInto at another point: same buffers, equal to a fresh gradient.
    const [W, U, V, F] = [g[0].layer.W, g[0].layer.unusedM, g[0].unusedV, g[0].unusedF];
    (U.data.fill(7), V.fill(7), F.fill(7), (g[0].unusedN = 7), W.data.fill(7), g[1].y.fill(7));
    const other = { ...net(), reg: 0.3 };
    const out = runtime.gradInto(m.netLoss)(g, other, data);
    expect([out[0].layer.W, out[0].layer.unusedM, out[0].unusedV, out[0].unusedF]).toEqual([W, U, V, F]);
    expect(out[0].layer.W).toBe(W);
    expect(out[0].layer.unusedM).toBe(U);
    expect(out[0].unusedV).toBe(V);
    expect(plain(out)).toEqual(plain(runtime.grad(m.netLoss)(other, data)));
    expect(out[0].unusedN).toBe(0);
  });

  it("a destructured Matrix field's rows used as a number", () => {
    const { matrix } = runtime;
    const [dp] = check(m.matrixRowsAlias, [{ M: matrix(2, 3, rand(6, 9)), a: 0.7 }]);
    expect(dp.a).toBeCloseTo(2 * Array.from(rand(6, 9)).reduce((s, v) => s + v * v, 0), 13);
  });

  it("one field (hand derivation)", () => {
    const [dp] = check(m.single, [{ x: 1.3 }]);
    expect(dp.x).toBeCloseTo(3 * 1.3 ** 2, 14);
    expect(Object.keys(dp)).toEqual(["x"]);
  });

  it("type aliases, Readonly<T>, readonly fields, generic interfaces, a class of data fields, an arrow", () => {
    const [dp, dq] = check(m.readonlyAlias, [
      { a: 0.5, v: [1, 2] },
      { a: -0.5, v: [3, 4] },
    ]);
    // p.a q.v0 + q.a p.v1
    expect(plain([dp, dq])).toEqual([
      { a: 3, v: [0, -0.5] },
      { a: 2, v: [0.5, 0] },
    ]);
    check(m.frozen, [{ a: 0.5, v: Float64Array.of(1, 2) }]);
    check(m.boxes, [
      { v: Float64Array.of(0.3), s: 0.5 },
      { v: 0.7, s: -1.2 },
    ]);
    const d = Object.assign(new m.Data(), { a: 0.4, w: Float64Array.of(0.5, -0.3) });
    const [dd] = check(m.classData, [d]);
    expect(dd).not.toBeInstanceOf(m.Data); // a plain object of the same keys
    check(m.arrow, [{ w: Float64Array.of(0.3, 0.8), c: 1.5 }]);
  });

  it("an interface extending another: the gradient has every field, hand derivation", () => {
    // The gradient's keys come in the type's property order (w, then the inherited a), so the
    // runtime's checkGradient could not be used here before (see the key order test below).
    const [dd] = m.derived_grad({ a: 0.4, w: [0.5, -0.3] });
    expect(plain(dd)).toEqual({ w: [0.4, 0], a: 0.5 });
  });

  it("methods taking objects: grad(model.loss) and a static method, against finite differences of the bound method", () => {
    const model = new m.Model();
    const p = { a: 0.3, w: Float64Array.of(0.9, -0.4) };
    const [dp, dx] = runtime.grad(model.loss).call(model, p, 2);
    const [np, nx] = runtime.numericGrad((q: any, x: number) => model.loss(q, x), [p, 2], { h: 1e-6 });
    expect(dx).toBeCloseTo(nx, 8);
    expect(dp.a).toBeCloseTo(np.a, 8);
    Array.from(dp.w as Float64Array).forEach((v, i) => expect(v).toBeCloseTo(np.w[i], 8));
    // k p.a p.w0 x with k = 2: by hand.
    expect([dp.a, dp.w[0], dp.w[1], dx]).toEqual(
      [2 * 0.9 * 2, 2 * 0.3 * 2, 0, 2 * 0.3 * 0.9].map((v) => expect.closeTo(v, 14)),
    );
    check(m.Model.sloss, [p, 2]);
  });

  it("a local array sized by a field, for...of over a destructured field and a const chain", () => {
    // p.n sizes the array: n ± h is not a length, so its entry is left out (its gradient is 0).
    const [dp] = check(m.sizedByField, [{ n: 2, w: Float64Array.of(0.3, 0.8, 9) }, 1.5], { skip: ["[0].n"] });
    expect(dp.n).toBe(0);
    expect(dp.w[2]).toBe(0);
    check(m.forOfAlias, [{ w: Float64Array.of(0.3, 0.8), v: [1.5, 2] }]);
  });

  it("early returns before an alias and inside a while loop", () => {
    for (const [w1, x] of [
      [0.8, 1.5],
      [0.8, -1.5],
      [8, 1.5],
    ])
      check(m.earlyReturn, [{ a: 0.7, w: Float64Array.of(0.3, w1) }, x]);
  });

  it("wrt on object parameters: gradients of those listed, in that order (hand derivation)", () => {
    const p = { a: 0.5, v: Float64Array.of(1, 2) };
    const { g1, g2, g3 } = m.useWrt(p, 2, { c: 3 });
    // f = a x c Σv: dc = a x Σv = 3, da = x c Σv = 18, dv_i = a x c = 3, dx = a c Σv = 4.5.
    expect(plain(g1)).toEqual([{ c: 3 }, { a: 18, v: [3, 3] }]);
    expect(g2).toEqual([4.5]);
    expect(plain(g3)).toEqual({ value: 9, grad: [{ a: 18, v: [3, 3] }] });
    check(m.wrtFn, [p, 2, { c: 3 }]);
  });

  it("an RNN: fields through an alias declared in the time loop, a local array overwritten in place", () => {
    const model = {
      Wx: Float64Array.of(0.3, -0.2, 0.5),
      Wh: Float64Array.from({ length: 9 }, (_, i) => Math.sin(i) * 0.4),
      b: [0.1, -0.1, 0.05],
      h0: Float64Array.of(0.2, 0.1, -0.3),
      out: { v: Float64Array.of(0.5, -0.7, 0.9), c: 0.2 },
    };
    // T is a loop bound (no gradient; T ± h reads past xs).
    check(m.rnn, [model, Float64Array.of(0.5, -1, 2, 0.3), 4], { skip: ["[2]"], tol: 1e-5 });
  });

  it("jacobian of a function returning an array, with object parameters: each row equals finite differences of that output", () => {
    const p = { s: 1.5, v: Float64Array.of(0.2, -0.4), inner: { k: 0.3 } };
    const q = [2, 3];
    const [Jp, Jq] = runtime.jacobian(m.vec)(p, q);
    expect([Jp.v.rows, Jp.v.cols, Jq.rows, Jq.cols]).toEqual([3, 2, 3, 2]);
    for (let i = 0; i < 3; i++) {
      const [np, nq] = runtime.numericGrad((a: any, b: any) => m.vec(a, b)[i], [p, q], { h: 1e-6 });
      expect(Jp.s[i]).toBeCloseTo(np.s, 8);
      expect(Jp.inner.k[i]).toBeCloseTo(np.inner.k, 8);
      Array.from(Jp.v.data.slice(i * 2, i * 2 + 2)).forEach((v, j) => expect(v).toBeCloseTo(np.v[j], 8));
      Array.from(Jq.data.slice(i * 2, i * 2 + 2)).forEach((v, j) => expect(v).toBeCloseTo(nq[j], 8));
    }
  });

  it("an alias's name reused by a local in a sibling scope, a later scope, or an inner scope shadowing it", () => {
    for (const x of [0.5, -0.5]) {
      check(m.siblingAlias, [{ a: 0.7, b: 1.1 }, x]);
      check(m.laterLocal, [{ a: 0.7, b: 1.1 }, x]);
      check(m.shadowedParamAlias, [{ a: 2, c: 3 }, x]);
      check(m.shadowedBodyAlias, [{ a: 2, c: 3 }, x]);
    }
  });

  it("two objects with the same key; a number parameter named like another object's field", () => {
    check(m.sameKeys, [{ a: 2, b: 3 }, { a: 5 }]);
    const [dp, dv] = check(m.paramLikeField, [{ w: 2, v: 9 }, 3]);
    expect(plain([dp, dv])).toEqual([{ w: 3, v: 0 }, 2]);
  });

  it("a const naming the whole object, then its parts and lengths through it", () => {
    check(m.wholeAlias, [{ a: 0.7, w: Float64Array.of(1, 2), inner: { k: 0.3, v: [0.5, -0.25] } }]);
  });

  it("parentheses, casts, non-null assertions, optional chaining, a let copy of a number field", () => {
    check(m.wrappers, [{ a: 0.7, w: Float64Array.of(0.4, 1.3) }, 0.8]);
  });

  it("fields named returned, done, stack, frame, s_1, count, i_1, flag, in a loop with return, break, continue and a while", () => {
    const base = { returned: 1.3, done: 0.4, stack: 0.9, frame: 1.1, s_1: 0.8, count: 0.7, i_1: 0.2, flag: 2 };
    for (const [w1, x] of [
      [-0.3, 0.7],
      [3, 1.7],
      [-0.3, -9],
    ])
      check(m.flagNames, [{ ...base, w: Float64Array.of(0.5, w1, 1.2) }, x]);
  });

  it("stopGradient on a field (hand derivation: the stopped read is a constant); a field through a custom derivative", () => {
    const g = m.stopped_grad({ a: 0.5, b: 3 });
    expect(g).toEqual([{ a: 0.5 * 3, b: 0.25 }]); // d/da (c a b) at c = a, d/db = a²
    check(m.customField, [{ a: 0.5, w: [1, -2] }]);
  });

  it("Grad<T> types every gradient, through every API (typed() compiled under strict) and runs", () => {
    const { matrix } = runtime;
    const net = {
      layer: { W: matrix(2, 3, rand(6, 1)), b: matrix(1, 3, rand(3, 2)), unusedM: matrix(1, 1) },
      reg: 0.1,
      unusedN: 0,
      unusedV: [0],
      unusedF: Float64Array.of(0),
    };
    const data = { X: matrix(4, 2, rand(8, 5)), y: Int32Array.of(0, 2, 1, 1) };
    expect(Number.isFinite(m.typed(deepValue(), { a: 1, v: [1, 2] }, new m.Data(), net, data))).toBe(true);
  });
});

describe("generated code and print", () => {
  it("the generated code type-checks under tsc --strict", () => {
    const errors = strictErrors(source, "main");
    expect(errors).toEqual([]);
  });

  // Expected: `tsgrad gen` output type-checks under --strict (README: "plain TypeScript that any
  // toolchain compiles"). Was: every registerGradient(...) of a function with an array, matrix
  // or object parameter is a TS2322, since CompiledGradient's `grad` is typed
  // `(...args: any[]) => number[]` and f_grad returns e.g. `[dp: { w: Float64Array; c: number }]`.
  // Not specific to objects (a plain `dot(a: Float64Array, b: number[])` shows it too).
  it("registerGradient's line type-checks for a function of an object", () => {
    const src = `/** @differentiable */\nexport function f(p: { w: Float64Array; c: number }): number { return p.c * p.w[0]; }\n`;
    expect(strictErrors(src, "registration")).toEqual([]);
  });

  it("tsgrad print is byte-identical from program to program on objects, and names fields as the user did", () => {
    // What \`tsgrad print\` prints (generatedText, before formatting), from two fresh programs.
    const dir = join(root, ".tsgrad-tmp", "objects-adversarial", "print");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "objects.ts");
    writeFileSync(
      file,
      `export interface Deep { l1: { l2: { l3: { v: Float64Array; s: number }; k: number }; m: number }; top: number }
/** @differentiable */
export function deep(d: Deep, t: { a: number; prod: number }): number {
  const { l1: { l2: { l3: { v: vec, s: sc }, k }, m: mm } } = d;
  let acc = d.top * t.prod;
  for (let i = 0; i < vec.length; i++) acc += vec[i] * sc * k + mm * d.l1.l2.l3.v[i] * t.a;
  return acc * acc;
}
`,
    );
    const print = () => {
      const program = createProgram([file], { ...compilerOptions, noEmit: true });
      const r = generatedText(program.getSourceFile(file)!, program);
      expect(r.diagnostics).toEqual([]);
      return r.text;
    };
    const [a, b] = [print(), print()];
    expect(a).toBe(b);
    expect(a).toContain("const { l1: { l2: { l3: { v: vec, s: sc }, k }, m: mm }, top } = d;");
    // t.prod's leaf is named prod, so the temporaries go around it (prod_2, ...).
    expect(a).toContain("const { a, prod } = t;");
    expect(a).toContain(
      "return [{ l1: { l2: { l3: { v: dvec, s: dsc }, k: dk }, m: dmm }, top: dtop }, { a: da, prod: dprod }];",
    );
  });
});

describe("across modules: object types imported by name and through a namespace", () => {
  it('a Matrix field of an imported type (gradient typed L.Net["W"]), calls of an imported function with fields', async () => {
    const { module: mod } = await compileProject(
      {
        "lib.ts": `import { type Matrix } from "tsgrad";
export interface Net { W: Matrix; scale: number }
/** @differentiable */
export function cube(u: number): number { return u * u * u; }
`,
        "main.ts": `import { grad, matmul, sum, mul, type Matrix } from "tsgrad";
import * as L from "./lib.js";
import { cube, type Net } from "./lib.js";
/** @differentiable */
export function loss(net: L.Net, other: Net, X: Matrix): number {
  return sum(mul(matmul(X, net.W), matmul(X, other.W))) * cube(net.scale) + L.cube(other.scale);
}
export function typed(net: Net, X: Matrix): number {
  const [dn, dother] = grad(loss)(net, net, X);
  const W: Matrix = dn.W;
  return W.rows + dother.scale;
}
`,
      },
      "main.ts",
    );
    const { matrix } = runtime;
    const net = { W: matrix(2, 2, rand(4, 1)), scale: 0.7 };
    const other = { W: matrix(2, 2, rand(4, 2)), scale: -0.4 };
    check(mod.loss, [net, other, matrix(3, 2, rand(6, 3))]);
    expect(Number.isFinite(mod.typed(net, matrix(3, 2, rand(6, 3))))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// What must be refused, each at its node: one module, every function refused for one reason.

const refusedSource = `
import { matmul, sum, type Matrix } from "tsgrad";
interface P { a: number; w: Float64Array; inner: { k: number; v: number[] }; y: Int32Array; M: Matrix }
function label(y: Int32Array): number { return y.length; }
/** @differentiable */
export function g(p: P): number { return p.a; }
/** @differentiable */
export function h(w: Float64Array): number { return w[0]; }
/** @differentiable */
export function g2(i: { k: number; v: number[] }): number { return i.k; }
/** @differentiable */
export function passObject(p: P): number { return g(p); }
/** @differentiable */
export function passArrayField(p: P): number { return h(p.w); }
/** @differentiable */
export function passInnerObject(p: P): number { const { inner } = p; return g2(inner); }
/** @differentiable */
export function passLabels(p: P): number { return label(p.y); }
/** @differentiable */
export function forOfField(p: P): number { let s = 0; for (const v of p.w) s += v; return s; }
/** @differentiable */
export function letDestructure(p: P): number { let { a } = p; return a; }
/** @differentiable */
export function letArrayField(p: P): number { let w = p.inner.v; return w[0]; }
/** @differentiable */
export function compoundField(p: P): number { p.a += 1; return p.a; }
/** @differentiable */
export function nestedWrite(p: P): number { p.inner.k = 1; return p.a; }
/** @differentiable */
export function elementWrite(p: P): number { p.inner.v[0] += 1; return p.a; }
/** @differentiable */
export function incrementField(p: P): number { p.a++; return p.a; }
/** @differentiable */
export function computedKey(p: P): number { const { ["a"]: a } = p; return a; }
/** @differentiable */
export function arrayPattern(p: P): number { const [w0] = p.w; return w0; }
/** @differentiable */
export function stringIndex(p: P): number { return p["a"]; }
/** @differentiable */
export function spreadCopy(p: P): number { const q = { ...p }; return q.a; }
/** @differentiable */
export function restCopy(p: P): number { const { a, ...rest } = p; return a; }
/** @differentiable */
export function returnField(p: P): Float64Array { return p.w; }
/** @differentiable */
export function returnAlias(p: P): Float64Array { const { w } = p; return w; }
/** @differentiable */
export function objectInCondition(p: P): number { return p ? p.a : 0; }
/** @differentiable */
export function matrixData(p: P): number { const s = sum(p.M); return p.M.data[0] + s; }
/** @differentiable */
export function methodOnField(p: P): number { return p.w.reduce((s, v) => s + v, 0); }
/** @differentiable */
export function objectKeys(p: P): number { return Object.keys(p).length; }
/** @differentiable */
export function matrixOpInBranch(p: P, x: number): number { let s = 0; if (x > 0) { const m = p.M; s = sum(matmul(m, m)); } return s; }
/** @differentiable */
export function arrayOfObjects(p: { layers: { W: Float64Array }[] }): number { return 1; }
/** @differentiable */
export function tupleField(p: { t: [number, number] }): number { return 1; }
/** @differentiable */
export function stringField(p: { name: string; a: number }): number { return p.a; }
/** @differentiable */
export function float32Field(p: { f: Float32Array }): number { return 1; }
/** @differentiable */
export function emptyInner(p: { inner: {} }): number { return 1; }
/** @differentiable */
export function unionParam(p: { a: number } | { b: number }): number { return 1; }
/** @differentiable */
export function optionalField(p: { a?: number }): number { return 1; }
/** @differentiable */
export function recursiveType(p: Rec): number { return p.v; }
interface Rec { v: number; next: Rec }
/** @differentiable */
export function genericParam<T extends { a: number }>(p: T): number { return 1; }
interface A { a: number; w: Float64Array }
interface B { b: number }
/** @differentiable */
export function intersection(p: A & B): number { return 1; }
`;

describe("refused, with a tsgrad diagnostic at the node", () => {
  let byFunction: Map<string, { text: string; message: string; code: number }[]>;
  let tsErrors: string[];
  beforeAll(() => {
    const { diagnostics } = compileToJs(refusedSource);
    tsErrors = diagnostics
      .filter((d) => d.category === ts.DiagnosticCategory.Error && d.code < 94000)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    const starts = [...refusedSource.matchAll(/export function (\w+)/g)].map((x) => ({ name: x[1], at: x.index! }));
    byFunction = new Map();
    for (const d of diagnostics.filter((d) => d.code >= 94000)) {
      const owner = starts.filter((s) => s.at <= d.start!).pop()!.name;
      const list = byFunction.get(owner) ?? [];
      list.push({
        text: refusedSource.slice(d.start!, d.start! + d.length!),
        message: ts.flattenDiagnosticMessageText(d.messageText, "\n"),
        code: d.code,
      });
      byFunction.set(owner, list);
    }
  });
  const first = (fn: string) => byFunction.get(fn)?.[0];

  it("the refused module is valid TypeScript: only tsgrad refuses it, and not the functions it calls", () => {
    expect(tsErrors).toEqual([]);
    for (const ok of ["g", "h", "g2"]) expect(byFunction.get(ok)).toBeUndefined();
  });

  it("passing an object, an inner object, an array field or a labels field to a function", () => {
    expect(first("passObject")).toMatchObject({ text: "p", message: expect.stringMatching(/field by field/) });
    expect(first("passArrayField")).toMatchObject({
      text: "p.w",
      message: expect.stringMatching(/can only be indexed/),
    });
    expect(first("passInnerObject")).toMatchObject({ text: "inner", message: expect.stringMatching(/field by field/) });
    expect(first("passLabels")).toMatchObject({ text: "p.y" });
  });

  it("for...of over a field read through the object (name it with const first)", () => {
    expect(byFunction.get("forOfField")!.map((e) => e.text)).toContain("p.w");
  });

  it("let for an object or an array field", () => {
    expect(first("letDestructure")).toMatchObject({ text: "{ a } = p", message: expect.stringMatching(/read-only/) });
    expect(first("letArrayField")).toMatchObject({
      text: "w = p.inner.v",
      message: expect.stringMatching(/read-only/),
    });
  });

  it("writes: compound assignment, nested field, element of a nested array field, ++", () => {
    expect(first("compoundField")).toMatchObject({ text: "p.a", message: expect.stringMatching(/read-only/) });
    expect(first("nestedWrite")).toMatchObject({ text: "p.inner.k", message: expect.stringMatching(/read-only/) });
    expect(first("elementWrite")).toMatchObject({ text: "p.inner.v[0]" });
    expect(first("incrementField")).toMatchObject({ text: "p.a", message: expect.stringMatching(/read-only/) });
  });

  it("computed keys, array patterns, string indexing, spread and rest copies", () => {
    expect(first("computedKey")).toMatchObject({
      text: '["a"]: a',
      message: expect.stringMatching(/computed or quoted/),
    });
    expect(first("arrayPattern")).toMatchObject({
      text: "[w0]",
      message: expect.stringMatching(/array destructuring/),
    });
    expect(first("stringIndex")?.text).toBe('p["a"]');
    expect(first("spreadCopy")?.text).toBe("{ ...p }");
    expect(first("restCopy")).toMatchObject({ text: "...rest", message: expect.stringMatching(/rest element/) });
  });

  it("returning an array field, directly or through its alias", () => {
    expect(first("returnField")?.text).toBe("p.w");
    expect(first("returnAlias")?.text).toBe("w");
  });

  it("the object as a value, a Matrix's data, methods on fields, Object.keys, matrix ops in a branch", () => {
    expect(first("objectInCondition")?.text).toBe("p");
    expect(first("matrixData")?.text).toBe("p.M.data[0]");
    expect(first("methodOnField")?.text).toBe("p.w.reduce");
    expect(first("objectKeys")).toBeDefined();
    expect(first("matrixOpInBranch")?.text).toBe("sum(matmul(m, m))");
  });

  it("types that are not plain data, at the parameter, naming the field", () => {
    const at = (fn: string) => expect(first(fn)?.code).toBe(94004);
    [
      "arrayOfObjects",
      "tupleField",
      "stringField",
      "float32Field",
      "emptyInner",
      "unionParam",
      "optionalField",
      "recursiveType",
      "genericParam",
      "intersection",
    ].forEach(at);
    expect(first("arrayOfObjects")?.message).toMatch(/field `layers`/);
    expect(first("tupleField")?.message).toMatch(/field `t`/);
    expect(first("stringField")?.message).toMatch(/field `name`/);
    expect(first("float32Field")?.message).toMatch(/field `f`/);
    expect(first("emptyInner")?.message).toMatch(/no fields/);
    expect(first("optionalField")?.message).toMatch(/optional/);
    expect(first("recursiveType")?.message).toMatch(/too deeply/);
    // An intersection of two data interfaces is refused (README promises interfaces and type
    // literals only), though its message calls it "not ... an object of them".
    expect(first("intersection")?.text).toBe("p: A & B");
  });
});

// ---------------------------------------------------------------------------------------------
// Bugs this review found, all fixed since: each comment says what was expected and what happened
// before the fix ("Was:").

const bugSource = `
import { matmul, sum, mul, type Matrix } from "tsgrad";
/** @differentiable */
export function sq(u: number): number { return u * u; }

/** A field named Float64Array: unpacked as a local, it hides the global the gradient allocates with. */
/** @differentiable */
export function fieldFloat64Array(m: { W: Float64Array; Float64Array: number }, x: Float64Array): number {
  let s = m.Float64Array;
  for (let i = 0; i < x.length; i++) s += m.W[i] * x[i];
  return s * s;
}
/** A field named Array beside a number[] parameter (its gradient is new Array<number>(n).fill(0)). */
/** @differentiable */
export function fieldArray(p: { Array: number; v: number[] }): number { return p.Array * p.v[0] * p.v[1]; }
/** A field named like the gradient of a function the body calls. */
/** @differentiable */
export function fieldCalleeGrad(p: { a: number; sq_grad: number }): number { return sq(p.a) * p.sq_grad; }
/** A field named ValueStack, in a function whose vjp saves loop values on its own ValueStack. */
/** @differentiable */
export function fieldValueStack(p: { ValueStack: number; r: number }, x: number): number {
  let s = x;
  for (let i = 0; i < 3; i++) s = Math.sin(s * p.r) + p.ValueStack;
  return s;
}
/** A Matrix field's rows and cols read through the object. */
/** @differentiable */
export function matrixRows(p: { M: Matrix; a: number }): number { return p.M.rows * p.a * p.M.cols; }
/** ... and as a loop bound. */
/** @differentiable */
export function matrixRowsBound(net: { W: Matrix; c: number }, X: Matrix): number {
  let s = sum(matmul(X, net.W));
  for (let i = 0; i < net.W.rows; i++) s = s * net.c;
  return s;
}
`;

describe("bugs found", () => {
  let b: Record<string, any>;
  beforeAll(async () => {
    ({ module: b } = await compile(bugSource));
  }, 60_000);

  // Expected: the gradient, [{ W: 2 s x, Float64Array: 2 s }, 2 s W]. Was: TypeError
  // "Float64Array is not a constructor": f_grad starts with `const { W, Float64Array } = m;`
  // and then allocates `new Float64Array(W.length)`. A leaf is named after its key when no local
  // has that name, but globals the generated code uses are not reserved.
  it("a field named Float64Array", () => {
    check(b.fieldFloat64Array, [{ W: Float64Array.of(1, 2), Float64Array: 3 }, Float64Array.of(0.3, -0.2)]);
  });

  // Expected: [{ Array: v0 v1, v: [A v1, A v0] }]. Was: TypeError "Array is not a constructor"
  // (`const { Array, v } = p;` then `new Array<number>(v.length).fill(0)`).
  it("a field named Array", () => {
    check(b.fieldArray, [{ Array: 0.7, v: [1.5, 2] }]);
  });

  // Expected: [{ a: 2 a sq_grad, sq_grad: a² }]. Was: TypeError "sq_grad is not a function":
  // the leaf `sq_grad` is unpacked and hides the generated sq_grad the backward pass calls
  // (calleeGradientNames is computed after the leaves are named, and is not reserved for them).
  it("a field named like the gradient of a called function (sq_grad)", () => {
    check(b.fieldCalleeGrad, [{ a: 0.7, sq_grad: 1.5 }]);
  });

  // Expected: vjp works. Was: f_forward's `new ValueStack()` finds the leaf (a number):
  // TypeError "ValueStack is not a constructor". runtimeName(ctx, "ValueStack") is called without
  // the function's namer (saved, scratch, zerosLike, ... are given one and get aliased).
  it("a field named ValueStack in a function whose loop saves values", () => {
    check(b.fieldValueStack, [{ ValueStack: 0.3, r: 1.2 }, 0.5]);
  });

  // Was: `const { m: Math } = p` unpacked at the top of f_grad hid the Math.log of x ** b's
  // gradient (TypeError). Now refused at the name, like `const Math = ...`.
  it("a field destructured as Math, in an inner scope or the parameter list, is refused at the name", () => {
    const refusedAt = (src: string) =>
      compileToJs(src)
        .diagnostics.filter((d) => d.code === 94010)
        .map((d) => src.slice(d.start!, d.start! + d.length!));
    expect(
      refusedAt(
        `/** @differentiable */\nexport function f(p: { m: number; b: number }, x: number): number {\n  let s = x ** p.b;\n  if (x > 0) { const { m: Math } = p; s = s * Math; }\n  return s;\n}\n`,
      ),
    ).toEqual(["Math"]);
    expect(
      refusedAt(
        `/** @differentiable */\nexport function f({ m: Math, b }: { m: number; b: number }, x: number): number { return x ** b * Math; }\n`,
      ),
    ).toEqual(["Math"]);
  });

  // Expected: vjp/valueAndGrad work as grad does. Was: ReferenceError "p is not defined" in
  // f_backward: `p.M.rows` is staged as the expression itself (fieldRef finds no leaf for a
  // Matrix's rows), and f_backward has no parameter p, only the cache. grad works, since f_grad
  // has p. The generated code also fails tsc --strict: "Cannot find name 'p'".
  // (Destructured, `({ M }: P) => M.rows` works: see matrixRowsAlias above.)
  it("a Matrix field's rows/cols read through the object, in vjp", () => {
    const { matrix } = runtime;
    const p = { M: matrix(2, 3, rand(6, 4)), a: 0.7 };
    expect(runtime.grad(b.matrixRows)(p)[0].a).toBe(6); // grad alone is right
    check(b.matrixRows, [p]);
  });
  it("a Matrix field's rows as a loop bound, in vjp", () => {
    const { matrix } = runtime;
    check(b.matrixRowsBound, [
      { W: matrix(2, 2, Float64Array.of(1, 2, 3, 4)), c: 0.5 },
      matrix(1, 2, Float64Array.of(0.3, 0.6)),
    ]);
  });

  // Expected: checkGradient compares gradient and finite differences number by number, by path
  // (README: it "names a disagreeing number by its path"); an object literal may list its keys in
  // any order. Was: TypeError "the analytic gradient does not have the shape of the arguments
  // (first difference at [0].w)": the slots are paired by position, and the gradient's keys come
  // in the type's order. The same happens for an interface that extends another (its own fields
  // come first in the gradient) and for an argument with extra fields.
  it("checkGradient on an object whose keys are listed in another order than the type's", () => {
    // paramLikeField({ w }: { w: number; v: number }, v: number): the literal lists v first.
    const args = [{ v: 9, w: 2 }, 3];
    const g = runtime.grad(m.paramLikeField)(...args);
    expect(runtime.checkGradient(m.paramLikeField, args, g).ok).toBe(true);
  });
});

describe("bugs found: generated code that does not load", () => {
  // Expected: as for a number parameter (an inner `const y` shadowing parameter y works), the
  // gradient [{ a: y² }, 2y·a + 1] at y > 0. Was: SyntaxError "Identifier 'y' has already been
  // declared": the field is named after its alias, `y`, and unpacked as `const { a: y } = p` in a
  // function whose parameter is y (tsc --strict: "Duplicate identifier 'y'").
  it("a destructured alias shadowing another parameter in an inner scope", async () => {
    const { module: mod } = await compile(`
/** @differentiable */
export function k(p: { a: number }, y: number): number {
  let s = y * y;
  if (y > 0) { const { a: y } = p; s = s * y; }
  return s + y;
}`);
    check(mod.k, [{ a: 0.7 }, 0.5]);
  });

  // Expected: the gradient. Was: SyntaxError: the alias `model` of layer.W names the leaf,
  // unpacked as `const { layer: { W: model, c } } = model;` inside `function k_grad(model, x)`.
  it("a destructured alias shadowing the object parameter itself in an inner scope", async () => {
    const { module: mod } = await compile(`
/** @differentiable */
export function k(model: { layer: { W: Float64Array; c: number } }, x: number): number {
  const layer = model.layer;
  let s = layer.c * x;
  if (x > 0) { const { W: model } = layer; s = s + model[0] * x; }
  return s * s;
}`);
    check(mod.k, [{ layer: { W: Float64Array.of(0.3), c: 0.9 } }, 0.5]);
  });

  // Expected: as with a number parameter p (where the same shadowing works). Was: SyntaxError:
  // the inner local keeps the name p (`let p!: number;` hoisted to the function's top) in a
  // function whose parameter is p: an object parameter's own name is not among the names staging
  // avoids (only its leaves are).
  it("an inner local named like the object parameter", async () => {
    const { module: mod } = await compile(`
/** @differentiable */
export function k(p: { a: number; w: number[] }, x: number): number {
  let s = p.a * x;
  if (x > 0) { const p = x * 3; s = s + p; }
  return s * p.w[0];
}`);
    for (const x of [0.5, -0.5]) check(mod.k, [{ a: 0.7, w: [1.5] }, x]);
  });

  // Expected: [{ a: 0, c: q.b² }, { b: 2 c q.b }]. Was: SyntaxError "Identifier 'b' has already
  // been declared": the unused alias `b` (of field a, in the parameter list) names leaf a without
  // claiming the name, then q.b's leaf is named by its key, also `b`; both are unpacked
  // (`const { a: b, c } = params; const { b } = q;`).
  it("an unused parameter-list alias named like another object's field", async () => {
    const { module: mod } = await compile(`
/** @differentiable */
export function k({ a: b, c }: { a: number; c: number }, q: { b: number }): number { return c * q.b * q.b; }`);
    check(mod.k, [{ a: 2, c: 3 }, { b: 5 }]);
  });

  // Expected: a name for the destructured parameter that is a valid identifier. Was: the name
  // is the type's name lower-cased: `function k_grad(default, x)` (SyntaxError "Unexpected token
  // 'default'"); a type named Arguments gives `arguments`, invalid in strict mode too.
  it("a destructured parameter whose type is named Default (or Arguments)", async () => {
    const { module: mod } = await compile(`
interface Default { a: number; b: number }
/** @differentiable */
export function k({ a, b }: Default, x: number): number { return a * b * x; }`);
    check(mod.k, [{ a: 2, b: 3 }, 0.5]);
  });
});

describe("bugs found: refusals and generated types", () => {
  // Expected: a class whose fields are parameter properties is plain data, accepted like
  // `class Data { a = 1; w = ... }` (which works, above). Was: TS94004 "field `a` of `Params`
  // is not a data property (methods and accessors have no gradient)": typeTree accepts property
  // signatures, property declarations and property assignments, not parameter declarations.
  it("a class with parameter properties as a parameter type", () => {
    const { diagnostics } = compileToJs(`
export class Params { constructor(public a: number, public w: Float64Array) {} }
/** @differentiable */
export function k(d: Params): number { return d.a * d.w[0]; }`);
    expect(
      diagnostics.filter((d) => d.code >= 94000).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")),
    ).toEqual([]);
  });

  // Expected: generated code type-checks under --strict. Was: TS7006 "Parameter 'p' implicitly
  // has an 'any' type" in k_grad, k_gradInto and k_forward: an object parameter is declared with
  // its type as written, and a contextually typed arrow has none (number and array parameters are
  // typed from their kind, so `x` is fine).
  it("a contextually typed arrow with an object parameter: generated parameters are typed", () => {
    const errors = strictErrors(
      `interface P { a: number; w: Float64Array }
type Fn = (p: P, x: number) => number;
/** @differentiable */
export const k: Fn = (p, x) => p.a * x * p.w[0];
`,
      "arrow",
    );
    expect(errors).toEqual([]);
  });
});
