// Object parameters: interfaces and type literals of numbers, arrays, matrices and nested objects,
// read by field (`model.layer.W[i]`) or destructured (`const { W, b } = model`, `({ w, c }: P)`).
// Each field is a staged parameter of its own, so the generated code reads like code over plain
// parameters; the gradient is an object with the same keys (typed Grad<T>). Checked against
// finite differences (the runtime's numericGrad, which moves every number of the arguments), hand
// derivations, vjp, valueAndGrad and gradInto; what is not supported is refused at the node.
// Then functions returning objects, and object parameters in hard cases (below).

import { beforeAll, describe, expect, it } from "vitest";
import ts from "typescript";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generatedText } from "../transformer/text.js";
import {
  compile,
  compileProject,
  compileToJs,
  compilerOptions,
  createProgram,
  genStrictErrors,
  root,
  tsgradErrors,
} from "./harness.js";
import { checkEveryApi, expectFd, expectTreeClose, numbersOf, plain } from "./oracles.js";

const source = `
import { grad, gradInto, valueAndGrad, vjp, jacobian, matmul, addBias, relu, softmaxCrossEntropy, sum, mul, type Matrix } from "tsgrad";

export interface Layer {
  W: Float64Array;
  b: readonly number[];
}
export interface Model {
  layer: Layer;
  scale: number;
  bias: number;
}

/** Nested fields read through the object and through a const naming a part of it. */
/** @differentiable */
export function predict(model: Model, x: Float64Array): number {
  const { layer } = model;
  let s = model.bias;
  for (let i = 0; i < x.length; i++) s += layer.W[i] * x[i] + layer.b[i];
  return model.scale * Math.tanh(s);
}

/** A destructured parameter of a type literal. */
/** @differentiable */
export function affine({ w, c }: { w: Float64Array; c: number }, x: Float64Array): number {
  let s = c;
  for (let i = 0; i < w.length; i++) s += w[i] * x[i];
  return s * s;
}

/** Renamed fields, a field named like a local elsewhere, a field no gradient reaches. */
/** @differentiable */
export function renamed(p: { a: number; k: number; unused: Float64Array; v: number[] }, k: number): number {
  const { a: alpha } = p;
  const scale = p.k;
  let t = alpha * scale;
  if (k > 0) {
    const a = t * k;
    t = a + p.v[0];
  }
  return t * p.v[1];
}

/** The CS231n two-layer network with its parameters in one object of matrices, data in another. */
export interface Net {
  W1: Matrix;
  b1: Matrix;
  W2: Matrix;
  b2: Matrix;
}
export interface Batch {
  X: Matrix;
  y: Int32Array;
}
/** @differentiable */
export function netLoss(net: Net, data: Batch, reg: number): number {
  const { W1, b1, W2, b2 } = net;
  const hidden = relu(addBias(matmul(data.X, W1), b1));
  const scores = addBias(matmul(hidden, W2), b2);
  const loss = softmaxCrossEntropy(scores, data.y);
  return loss + 0.5 * reg * (sum(mul(W1, W1)) + sum(mul(W2, W2)));
}

/** A vector-valued function of an object: its Jacobian has one block per field. */
/** @differentiable */
export function scaled(p: { s: number; v: Float64Array }): Float64Array {
  const out = new Float64Array(p.v.length);
  for (let i = 0; i < p.v.length; i++) out[i] = p.s * p.v[i] * p.v[i];
  return out;
}

/** A const naming an array parameter is that parameter, not a copy. */
/** @differentiable */
export function aliasSum(a: Float64Array, w: number): number {
  const b = a;
  let s = 0;
  for (const v of b) s += w * v;
  return s + b[0] * b.length;
}

/** A function returning an object: a number computed in it, an array it made, a copied number. */
/** @differentiable */
export function stats(v: Float64Array, p: { s: number }): { mean: number; squares: Float64Array; s: number } {
  let total = 0;
  for (let i = 0; i < v.length; i++) total += v[i];
  const squares = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) squares[i] = p.s * v[i] * v[i];
  return { mean: total / v.length, squares, s: p.s };
}

/** The types: gradients mirror the objects, no casts. */
export function typed(m: Model, x: Float64Array): number {
  const [dm, dx] = grad(predict)(m, x);
  const W: Float64Array = dm.layer.W;
  const b: number[] = dm.layer.b;
  const s: number = dm.scale;
  const { value, grad: g } = valueAndGrad(predict)(m, x);
  const again: Float64Array = g[0].layer.W;
  const into = gradInto(predict)([dm, dx], m, x);
  const back = vjp(predict)(m, x).backward(1)[0].bias;
  const [[bm]] = [grad(predict, { wrt: [0] })(m, x)];
  const block: Matrix = jacobian(scaled)({ s: 1, v: x })[0].v;
  const out = vjp(stats)(x, { s: 2 });
  const mean: number = out.value.mean;
  const [dv, dp] = out.backward({ mean: 1, squares: [0, 0, 0], s: 0 });
  const J: Matrix = jacobian(stats)(x, { s: 2 })[0];
  return W.length + b.length + s + value + again.length + into[0].bias + back + bm.bias + block.rows + mean + dv.length + dp.s + J.rows;
}
`;

let m: Record<string, any>;
let js: string;
let runtime: any;

beforeAll(async () => {
  ({ module: m, js } = await compile(source));
  runtime = await import("tsgrad" as string);
}, 60_000);

const model = () => ({ layer: { W: Float64Array.of(0.1, -0.2, 0.4), b: [0.3, 0.1, -0.2] }, scale: 2, bias: 0.5 });
const x = Float64Array.of(1, 2, -0.5);

/** grad(f) against the runtime's central differences, number by number (paths name any mismatch). */
function check(f: (...args: any[]) => number, args: any[], analytic: any[], tol = 1e-7) {
  const r = runtime.checkGradient(f, args, analytic, { h: 1e-6, tolerance: tol });
  const worst = r.entries
    .filter((e: any) => !(e.relativeError <= tol))
    .map((e: any) => `${e.path}: ${e.analytic} vs ${e.numeric}`);
  expect(worst, "entries off finite differences").toEqual([]);
  expect(r.entries.length).toBeGreaterThan(0);
  return r;
}

describe("object parameters", () => {
  it("nested fields: the gradient is an object with the same keys and kinds, equal to finite differences and to the hand derivation", () => {
    const [dm, dx] = m.predict_grad(model(), x);
    check(m.predict, [model(), x], [dm, dx]);
    expect(Object.keys(dm)).toEqual(["layer", "scale", "bias"]);
    expect(dm.layer.W).toBeInstanceOf(Float64Array);
    expect(Array.isArray(dm.layer.b)).toBe(true);
    // s = 0.5 + sum(W x + b) = 0.5 + (0.1 - 0.4 - 0.2) + 0.2 = 0.2; d/dW_i = scale (1 - tanh² s) x_i.
    const s = 0.2;
    const ds = 2 * (1 - Math.tanh(s) ** 2);
    expect(dm.scale).toBeCloseTo(Math.tanh(s), 14);
    expect(dm.bias).toBeCloseTo(ds, 14);
    expect(Array.from(dm.layer.W)).toEqual(Array.from(x, (xi) => ds * xi));
    expect(dm.layer.b).toEqual([ds, ds, ds]);
    expect(Array.from(dx)).toEqual([0.1, -0.2, 0.4].map((w) => ds * w));
  });

  it("generated code unpacks the fields under the user's names and builds the gradient object", () => {
    const text = compileToJs(source).js;
    expect(text).toMatch(/const \{ layer: \{ W, b \}, scale, bias \} = model;/);
    expect(text).toMatch(/return \[\{ layer: \{ W: dW, b: db \}, scale: dscale, bias: dbias \}, dx\];/);
    // Destructured parameter: a name for it, the fields as the user named them.
    expect(text).toMatch(/function affine_grad\(params, x\) \{\s*const \{ w, c \} = params;/);
    // const { a: alpha } = p names the field alpha; a field nobody reads is not unpacked in f_grad.
    expect(text).toMatch(/const \{ a: alpha, k: k_1, unused, v \} = p;|const \{ a: alpha, k: scale, unused, v \} = p;/);
  });

  it("a destructured parameter", () => {
    const p = { w: Float64Array.of(1, -2), c: 3 };
    const [dp, dx] = m.affine_grad(p, Float64Array.of(0.5, 0.25));
    // s = 3 + 0.5 - 0.5 = 3; f = s²: df/dw_i = 2 s x_i, df/dc = 2 s.
    expect(Array.from(dp.w)).toEqual([3, 1.5]);
    expect(dp.c).toBe(6);
    expect(Array.from(dx)).toEqual([6, -12]);
    check(m.affine, [p, Float64Array.of(0.5, 0.25)], [dp, dx]);
  });

  it("renamed fields, a local named like a field, a field no gradient reaches (zeros of its kind)", () => {
    const p = { a: 1.5, k: -0.5, unused: Float64Array.of(9, 9), v: [0.25, 2] };
    for (const k of [2, -1]) {
      const [dp, dk] = m.renamed_grad(p, k);
      check(m.renamed, [p, k], [dp, dk]);
      expect(Array.from(dp.unused)).toEqual([0, 0]);
      expect(dp.unused).toBeInstanceOf(Float64Array);
    }
    // k > 0: f = (a k_p k + v0) v1 → df/da = k_p k v1.
    expect(m.renamed_grad(p, 2)[0].a).toBeCloseTo(-0.5 * 2 * 2, 14);
  });

  it("the two-layer network with its parameters in an object of matrices: matches finite differences and the flat version's hand derivation", () => {
    const { matrix } = runtime;
    const rand = (n: number, seed: number) =>
      Float64Array.from({ length: n }, (_, i) => Math.sin(seed * 7.3 + i * 1.7) * 0.5);
    const net = {
      W1: matrix(2, 4, rand(8, 1)),
      b1: matrix(1, 4, rand(4, 2)),
      W2: matrix(4, 3, rand(12, 3)),
      b2: matrix(1, 3, rand(3, 4)),
    };
    const data = { X: matrix(5, 2, rand(10, 5)), y: Int32Array.of(0, 2, 1, 1, 0) };
    const [dnet, ddata, dreg] = m.netLoss_grad(net, data, 0.1);
    check(m.netLoss, [net, data, 0.1], [dnet, ddata, dreg], 1e-6);
    expect(dnet.W1.rows).toBe(2);
    expect(dnet.b2.cols).toBe(3);
    expect(ddata.y).toBeUndefined(); // labels are data: no gradient
    // d/dreg = 0.5 (|W1|² + |W2|²)
    const sq = (a: Float64Array) => a.reduce((s, v) => s + v * v, 0);
    expect(dreg).toBeCloseTo(0.5 * (sq(net.W1.data) + sq(net.W2.data)), 14);
  });

  it("a const naming an array parameter reads the parameter", () => {
    const a = Float64Array.of(1, 2, 3);
    const [da, dw] = m.aliasSum_grad(a, 0.5);
    expect(Array.from(da)).toEqual([0.5 + 3, 0.5, 0.5]);
    expect(dw).toBe(6);
    check(m.aliasSum, [a, 0.5], [da, dw]);
  });

  it("vjp, valueAndGrad, wrt and gradInto take and give the same objects", () => {
    const [dm, dx] = m.predict_grad(model(), x);
    const { value, grad: g } = runtime.valueAndGrad(m.predict)(model(), x);
    expect(value).toBeCloseTo(m.predict(model(), x), 15);
    expect(g[0].layer.b).toEqual(dm.layer.b);
    const back = runtime.vjp(m.predict)(model(), x).backward(2);
    expect(back[0].bias).toBeCloseTo(2 * dm.bias, 14);
    expect(Array.from(back[1])).toEqual(Array.from(dx as Float64Array, (v) => 2 * v));
    expect(runtime.grad(m.predict, { wrt: [0] })(model(), x)[0].scale).toBe(dm.scale);
    // gradInto refills the same buffers and overwrites the numbers.
    const grads = m.predict_grad(model(), Float64Array.of(5, 5, 5));
    const W = grads[0].layer.W;
    const b = grads[0].layer.b;
    const out = runtime.gradInto(m.predict)(grads, model(), x);
    expect(out).toBe(grads);
    expect(out[0].layer.W).toBe(W);
    expect(out[0].layer.b).toBe(b);
    expect(Array.from(W)).toEqual(Array.from(dm.layer.W));
    expect(out[0].bias).toBe(dm.bias);
  });

  it("jacobian of a function returning an array: one block per field of an object parameter", () => {
    const p = { s: 1.5, v: Float64Array.of(1, -2, 3) };
    const [J] = runtime.jacobian(m.scaled)(p);
    // out_i = s v_i²: d out_i / ds = v_i², d out_i / dv_j = 2 s v_i δij.
    expect(Array.from(J.s)).toEqual([1, 4, 9]);
    expect([J.v.rows, J.v.cols]).toEqual([3, 3]);
    expect(Array.from(J.v.data)).toEqual([3, 0, 0, 0, -6, 0, 0, 0, 9]);
  });

  it("a function returning an object: vjp takes one gradient per field, jacobian counts its numbers field by field", () => {
    const v = Float64Array.of(1, -2, 3);
    const p = { s: 1.5 };
    const out = runtime.vjp(m.stats)(v, p);
    expect(out.value.mean).toBeCloseTo(2 / 3, 15);
    expect(Array.from(out.value.squares)).toEqual([1.5, 6, 13.5]);
    // f = a·mean + Σ c_i squares_i + e·s: df/dv_i = a/n + 2 s c_i v_i, df/ds = Σ c_i v_i² + e.
    const seed = { mean: 0.3, squares: Float64Array.of(1, 0.5, -1), s: 2 };
    const [dv, dp] = out.backward(seed);
    expect(Array.from(dv)).toEqual(
      [0.1 + 2 * 1.5 * 1 * 1, 0.1 + 2 * 1.5 * 0.5 * -2, 0.1 + 2 * 1.5 * -1 * 3].map((x) => expect.closeTo(x, 14)),
    );
    expect(dp.s).toBeCloseTo(1 + 0.5 * 4 - 9 + 2, 14);
    expect(Array.from(seed.squares)).toEqual([1, 0.5, -1]); // the output's gradient is not written
    // The same through finite differences of the scalar <seed, f(v, p)>.
    const inner = (vv: Float64Array, pp: { s: number }) => {
      const r = m.stats(vv, pp);
      return (
        seed.mean * r.mean +
        r.squares.reduce((a: number, q: number, i: number) => a + seed.squares[i] * q, 0) +
        seed.s * r.s
      );
    };
    check(inner, [v, p], [dv, dp]);
    // Rows: mean, squares[0..2], s; columns of the v block: v_0..v_2.
    const [Jv, Jp] = runtime.jacobian(m.stats)(v, p);
    expect([Jv.rows, Jv.cols]).toEqual([5, 3]);
    expect(Array.from(Jv.data.slice(0, 3) as Float64Array).map((x) => +x.toFixed(12))).toEqual(
      [1 / 3, 1 / 3, 1 / 3].map((x) => +x.toFixed(12)),
    );
    expect(Array.from(Jv.data.slice(3, 12))).toEqual([3, 0, 0, 0, -6, 0, 0, 0, 9]);
    expect(Array.from(Jp.s)).toEqual([0, 1, 4, 9, 1]);
    expect(() => runtime.grad(m.stats)).toThrow(/returns an array or an object/);
  });

  it("the types follow the objects (typed() compiles under strict with no casts) and run", () => {
    expect(Number.isFinite(m.typed(model(), x))).toBe(true);
  });
});

describe("objects that are refused, at the node", () => {
  const refused = (body: string, params: string, prelude = "") => {
    const src = `${prelude}\n/** @differentiable */\nexport function f(${params}): number {\n${body}\n}\n`;
    const { diagnostics } = compileToJs(src);
    const errors = diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error && d.code >= 94000);
    expect(errors.length, `expected a tsgrad error for:\n${body}`).toBeGreaterThan(0);
    const d = errors[0];
    return {
      text: src.slice(d.start!, d.start! + d.length!),
      message: ts.flattenDiagnosticMessageText(d.messageText, "\n"),
    };
  };
  const P = "p: { w: Float64Array; c: number; inner: { k: number } }";

  it("writing a field or an element of one", () => {
    expect(refused("p.c = 2;\nreturn p.c;", P)).toMatchObject({
      text: "p.c",
      message: expect.stringMatching(/read-only/),
    });
    expect(refused("p.w[0] = 2;\nreturn p.c;", P).message).toMatch(/read-only/);
  });

  it("the object itself used as a value (passed on, copied, returned)", () => {
    expect(refused("return g(p);", P, "function g(o: unknown) { return 1; }")).toMatchObject({
      text: "p",
      message: expect.stringMatching(/field by field \(`p\.w`\)/),
    });
    expect(refused("const q = p.inner;\nreturn h(q);", P, "function h(o: unknown) { return 1; }").message).toMatch(
      /field by field/,
    );
    expect(refused("let s = p.w;\nreturn s[0];", P).message).toMatch(/read-only: name them with `const`/);
  });

  it("destructuring that would copy or default", () => {
    expect(refused("const { w, ...rest } = p;\nreturn w[0];", P).message).toMatch(/rest element/);
    expect(refused("const { c = 1 } = p;\nreturn c;", P).message).toMatch(/defaults/);
    expect(refused("return c;", "{ c = 1 }: { c: number }").message).toMatch(/defaults/);
  });

  it("types that are not plain data, named with the reason", () => {
    expect(refused("return p.c;", "p: { c?: number }").message).toMatch(/`c` .* is optional/);
    expect(refused("return p.c;", "p: { c: number; f(): number }").message).toMatch(/`f` .* not a data property/);
    expect(refused("return p.c;", "p: { c: number; [k: string]: number }").message).toMatch(/index signature/);
    expect(refused("return 1;", "p: { c: number | string }").message).toMatch(/field `c`/);
    expect(refused("return 1;", "p: { }").message).toMatch(/no fields/);
  });
});

// ---------------------------------------------------------------------------------------------
// Functions returning objects: vjp against finite differences of <seed, f(args)>, jacobian against
// vjp's backward of one-hot seeds, hand derivations; what is refused, at the node.

const objectSource = `
import { vjp, jacobian, type Matrix, sum, mul, tanh, matmul } from "tsgrad";

/** A loop that saves values (backward replays them, twice) and calls of another differentiable function. */
/** @differentiable */
export function sq(u: number): number { return u * u; }
/** @differentiable */
export function savedObj(v: Float64Array, x: number): { s: number; h: Float64Array; t: number } {
  let s = 0;
  const h = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) { s = Math.sin(s + v[i] * x); h[i] = s * sq(v[i]); }
  return { s, h, t: sq(x) };
}

/** Matrix operations, and a matrix's rows as a field. */
/** @differentiable */
export function matObj(A: Matrix, B: Matrix): { loss: number; n: number; r: number } {
  const t = tanh(matmul(A, B));
  return { loss: sum(mul(t, t)), n: A.rows, r: sum(t) };
}

/** Shorthand and renamed fields, a parameter as a field, one value in two fields, a constant, a branch, loops. */
/** @differentiable */
export function mixed(v: Float64Array, s: number, k: number): { mean: number; sq: Float64Array; s: number; twice: number; again: number; c: number; kk: number } {
  let total = 0;
  for (let i = 0; i < v.length; i++) total += v[i];
  const sq = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) sq[i] = s * v[i] * v[i];
  const m = total / v.length;
  let b = 0;
  if (k > 0) b = m * k; else b = m - k;
  return { mean: m, sq, s, twice: m, again: m, c: 3, kk: b };
}

/** Two arrays it creates, a number[] and a Float64Array, written with =, one read after it is written. */
/** @differentiable */
export function arrays(v: number[], x: number): { a: number[]; b: Float64Array; t: number } {
  const a = new Array<number>(v.length).fill(0);
  const b = new Float64Array(2);
  for (let i = 0; i < v.length; i++) a[i] = v[i] * v[i] * x;
  b[0] = a[0] + x;
  b[1] = a[v.length - 1] * a[0];
  let t = 0;
  for (let i = 0; i < v.length; i++) t += a[i] * a[i];
  return { a, b, t };
}

/** Fields named like the generated code's names: dout, cache, value, the adjoints of the parameters, the function. */
/** @differentiable */
export function names(x: number, y: number): { dout: number; cache: number; value: number; dx: number; x: number; names: number; dy: number } {
  const dout = x * y;
  return { dout, cache: x, value: y * y, dx: x + y, x: y, names: x - y, dy: dout * 2 };
}

/** Fields holding each other's locals (a: b, b: a), parameters swapped, arrays swapped. */
/** @differentiable */
export function swap(x: number, y: number): { a: number; b: number; x: number; y: number } {
  const a = x * 2;
  const b = y * 3;
  return { a: b, b: a, x: y, y: x };
}
/** @differentiable */
export function swapArrays(v: Float64Array): { p: Float64Array; q: Float64Array } {
  const p = new Float64Array(v.length);
  const q = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) { p[i] = v[i] * 2; q[i] = v[i] * v[i]; }
  return { p: q, q: p };
}

/** One parameter in two fields next to an array. */
/** @differentiable */
export function twoOfX(x: number, v: Float64Array): { p: number; q: number; r: Float64Array } {
  const r = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) r[i] = v[i] * x;
  return { p: x, q: x, r };
}

/** Parenthesized, cast, and an integer field (a length). */
/** @differentiable */
export function wrapped(v: Float64Array, x: number): { a: number; len: number } {
  const a = x * v[0];
  return ({ a, len: v.length } as { a: number; len: number });
}

/** A let updated in a loop, an arrow function with a block body. */
/** @differentiable */
export function powers(x: number): { a: number; b: number } {
  let a = x;
  for (let i = 0; i < 3; i++) a = a * x;
  const b = Math.sin(a);
  return { a, b };
}
/** @differentiable */
export const arrowObj = (x: number, y: number): { s: number; p: number } => {
  const p = x * y;
  return { s: x + y, p };
};

/** A method. */
export class Stats {
  constructor(public k: number) {}
  /** @differentiable */
  stats(x: number, y: number): { a: number; b: number } {
    return { a: x * this.k, b: x * y * y };
  }
}
export const stats = new Stats(3);
export const statsVjp = vjp(stats.stats);

/** The returned array read after it is written: the backward pass reads it back. */
/** @differentiable */
export function readBack(v: Float64Array): { out: Float64Array; s: number } {
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] * v[i];
  let s = 0;
  for (let i = 0; i < v.length; i++) s += out[i] * out[i];
  return { out, s };
}
`;

/** <seed, out> summed over an output object's numbers, key by key. */
function inner(seed: any, out: any): number {
  const a = numbersOf(seed);
  const b = numbersOf(out);
  expect(a.length).toBe(b.length);
  return a.reduce((s, v, i) => s + v * b[i], 0);
}

/** A deep copy of plain objects, arrays and Float64Arrays (to see whether backward wrote into a seed). */
const deepCopy = (v: any): any =>
  v instanceof Float64Array
    ? v.slice()
    : Array.isArray(v)
      ? v.map(deepCopy)
      : v && typeof v === "object"
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deepCopy(x)]))
        : v;

/**
 * vjp of a function returning an object, against finite differences of <seed, f(args)>; the seed
 * left unwritten; backward twice gives the same; jacobian's rows equal backward of one-hot seeds
 * in the order of the output's keys.
 */
function checkObjectVjp(f: (...a: any[]) => any, args: any[], seed: any, opts: { skip?: string[] } = {}): any[] {
  const out = runtime.vjp(f)(...args);
  expect(plain(out.value)).toEqual(plain(f(...args)));
  const before = deepCopy(seed);
  const grads = out.backward(seed);
  expect(plain(seed), "backward wrote into the output's gradient").toEqual(plain(before));
  expectTreeClose(out.backward(seed), grads);
  expectFd((...a: any[]) => inner(seed, f(...a)), args, grads, 1e-6, opts.skip);
  // jacobian: row i is the gradient of the i-th number of the output.
  const blocks = runtime.jacobian(f)(...args);
  const zero = deepCopy(seed);
  const slots: { set: (x: number) => void }[] = [];
  const visit = (holder: any, key: any) => {
    const v = holder[key];
    if (typeof v === "number") slots.push({ set: (x) => (holder[key] = x) });
    else if (v instanceof Float64Array || Array.isArray(v))
      for (let i = 0; i < v.length; i++) slots.push({ set: (x) => (v[i] = x) });
    else for (const k of Object.keys(v)) visit(v, k);
  };
  for (const k of Object.keys(out.value)) {
    zero[k] = typeof zero[k] === "number" ? 0 : zero[k].fill(0);
    visit(zero, k);
  }
  slots.forEach((slot, i) => {
    slot.set(1);
    const row = out.backward(zero);
    slot.set(0);
    args.forEach((a, p) => {
      if (typeof a === "number") expect(blocks[p][i]).toBeCloseTo(row[p], 12);
      else {
        const n = a.data ? a.data.length : a.length; // a matrix's block has rows·cols columns
        expectTreeClose(Array.from(blocks[p].data.slice(i * n, (i + 1) * n)), Array.from(row[p].data ?? row[p]));
      }
    });
  });
  return grads;
}

describe("functions returning objects: against finite differences, jacobian and hand derivations", () => {
  let m: Record<string, any>;
  beforeAll(async () => {
    ({ module: m } = await compile(objectSource));
  }, 60_000);

  it("shorthand and renamed fields, a parameter, one value in two fields, a constant, a branch: against finite differences and jacobian", () => {
    const v = Float64Array.of(1, -2, 3.5);
    for (const k of [0.7, -0.4]) {
      const seed = { mean: 0.3, sq: Float64Array.of(1, 0.5, -1), s: 2, twice: -0.7, again: 1.1, c: 5, kk: 0.9 };
      const [dv, ds, dk] = checkObjectVjp(m.mixed, [v, 1.5, k], seed);
      // Hand: mean, twice, again are m = Σv / n; kk = k m (k > 0) or m - k; sq_i = s v_i²; s = s.
      const dm = 0.3 - 0.7 + 1.1 + (k > 0 ? k : 1) * 0.9;
      expectTreeClose(
        dv,
        [1, 0.5, -1].map((c, i) => dm / 3 + 2 * 1.5 * c * v[i]),
      );
      expect(ds).toBeCloseTo(1 + 0.5 * 4 - 12.25 + 2, 12);
      expect(dk).toBeCloseTo(k > 0 ? (2.5 / 3) * 0.9 : -0.9, 12);
    }
  });

  it("a number[] and a Float64Array it creates, an element read after its write; the output's gradient is not written", () => {
    const seed = { a: [0.5, -1, 2], b: Float64Array.of(0.25, -0.75), t: 0.1 };
    checkObjectVjp(m.arrays, [[0.4, -0.9, 1.3], 0.8], seed);
  });

  it("fields named dout, cache, value, dx, x, like the function, dy: backward by hand", () => {
    const seed = { dout: 1, cache: 10, value: 100, dx: 1000, x: 1e4, names: 1e5, dy: 1e6 };
    const [dx, dy] = checkObjectVjp(m.names, [2, 3], seed);
    expect(dx).toBe(3 + 10 + 1000 + 1e5 + 2 * 3 * 1e6);
    expect(dy).toBe(2 + 2 * 3 * 100 + 1000 + 1e4 - 1e5 + 2 * 2 * 1e6);
  });

  it("fields holding each other's locals, swapped parameters and swapped arrays: by hand", () => {
    expect(m.swap(2, 5)).toEqual({ a: 15, b: 4, x: 5, y: 2 });
    const [dx, dy] = checkObjectVjp(m.swap, [2, 5], { a: 1, b: 10, x: 100, y: 1000 });
    expect([dx, dy]).toEqual([2 * 10 + 1000, 3 * 1 + 100]);
    const v = Float64Array.of(1, 3);
    expect(plain(m.swapArrays(v))).toEqual({ p: [1, 9], q: [2, 6] });
    const [dv] = checkObjectVjp(m.swapArrays, [v], { p: Float64Array.of(1, 1), q: Float64Array.of(10, 10) });
    expectTreeClose(dv, [2 * 1 + 20, 2 * 3 + 20]);
  });

  it("one parameter in two fields next to an array; parenthesized and cast returns; an integer field", () => {
    checkObjectVjp(m.twoOfX, [0.7, Float64Array.of(1, -2)], { p: 2, q: -3, r: Float64Array.of(0.5, 4) });
    const [dv, dx] = checkObjectVjp(m.wrapped, [Float64Array.of(2, 5), 3], { a: 1.5, len: 7 });
    expectTreeClose([dv, dx], [[4.5, 0], 3]);
  });

  it("a let updated in a loop; an arrow function; a method (this a constant)", () => {
    const [dx] = checkObjectVjp(m.powers, [0.9], { a: 0.5, b: -2 });
    expect(dx).toBeCloseTo(0.5 * 4 * 0.9 ** 3 - 2 * Math.cos(0.9 ** 4) * 4 * 0.9 ** 3, 12);
    checkObjectVjp(m.arrowObj, [0.9, -1.2], { s: 3, p: 0.5 });
    const out = m.statsVjp(2, 3);
    expect(out.value).toEqual({ a: 6, b: 18 });
    // a = k x, b = x y²: d/dx = 3 da + y² db, d/dy = 2 x y db.
    expectTreeClose(out.backward({ a: 1, b: 10 }), [3 + 90, 120]);
  });

  it("grad and valueAndGrad of a function returning an object say to use vjp", () => {
    expect(() => runtime.grad(m.mixed)).toThrow(/returns an array or an object/);
    expect(() => runtime.valueAndGrad(m.mixed)).toThrow(/returns an array or an object/);
  });

  it("a loop that saves values, calls of another differentiable function; matrix operations and rows as a field", () => {
    const before = runtime.saved.size;
    checkObjectVjp(m.savedObj, [Float64Array.of(0.3, -0.5, 0.8), 0.7], {
      s: 0.5,
      h: Float64Array.of(1, -2, 0.3),
      t: 2,
    });
    const A = runtime.matrix(2, 3, Float64Array.of(0.1, 0.2, 0.3, -0.4, 0.5, -0.6));
    const B = runtime.matrix(3, 2, Float64Array.of(0.3, -0.1, 0.2, 0.6, -0.5, 0.4));
    checkObjectVjp(m.matObj, [A, B], { loss: 1, n: 5, r: 2 });
    expect(runtime.saved.size).toBe(before);
  });

  it("the returned array read back by the backward pass", () => {
    checkObjectVjp(m.readBack, [Float64Array.of(0.5, -1.5, 2)], { out: Float64Array.of(1, 2, 3), s: 0.5 });
  });

  it("the generated file type-checks under strict", () => {
    expect(genStrictErrors(objectSource, "strict-objects-returned")).toEqual([]);
  });

  it("a returned array only added into in a loop: f_backward declares its gradient once and loads", async () => {
    const { module: a } = await compile(`
/** @differentiable */
export function f(v: number[]): Float64Array {
  const u = new Float64Array(1);
  for (let i = 0; i < v.length; i++) u[0] += v[i];
  return u;
}
`);
    expect(plain(runtime.vjp(a.f)([1, 2, 3]).backward(Float64Array.of(2)))).toEqual([[2, 2, 2]]);
  });

  it("arrays only added into in a loop (+=, -=, ++), returned in an object: f_backward loads", async () => {
    const { module: a } = await compile(`
/** Arrays it only adds into, returned in an object. */
/** @differentiable */
export function accum(v: number[], x: number): { b: Float64Array; s: number; a: number[] } {
  const b = new Float64Array(2);
  const a = new Array<number>(v.length).fill(0);
  for (let i = 0; i < v.length; i++) {
    b[0] += v[i] * x;
    b[1] -= v[i] * v[i];
    a[i] += v[i];
    a[i]++;
  }
  return { b, s: x * x, a };
}
`);
    const seed = { b: Float64Array.of(2, -1), s: 0.5, a: [1, 2, 3] };
    const [dv, dx] = checkObjectVjp(a.accum, [[0.4, -0.9, 1.3], 0.8], seed);
    // b0 = x Σv, b1 = -Σv², s = x², a_i = v_i + 1.
    expectTreeClose(
      dv,
      [0.4, -0.9, 1.3].map((vi, i) => 2 * 0.8 + 2 * vi + seed.a[i]),
    );
    expect(dx).toBeCloseTo(2 * (0.4 - 0.9 + 1.3) + 0.5 * 2 * 0.8, 12);
  });

  // One array's gradient cannot take two fields' gradients: the same array in two fields is refused.
  it("the same array returned in two fields is refused at the second", () => {
    const errors = tsgradErrors(`
/** @differentiable */
export function sameArray(v: Float64Array): { one: Float64Array; two: Float64Array; n: number } {
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = Math.exp(v[i]);
  return { one: out, two: out, n: out[0] };
}
`);
    expect(errors.map((e) => [e.code, e.text])).toEqual([[94003, "two: out"]]);
    expect(errors[0].message).toMatch(/`out` is returned in two fields \(`one` and `two`\)/);
  });

  // A shorthand field is a data property of the inferred return type.
  it("an unannotated function returning an object with a shorthand field compiles", () => {
    const errors = tsgradErrors(`
/** @differentiable */
export function g(x: number) {
  const b = x * x;
  return { a: x * 2, b };
}
`);
    expect(errors).toEqual([]);
  });

  it("an arrow function with an expression body returning an object literal is not refused as 'objects are not supported yet'", () => {
    const errors = tsgradErrors(`
/** @differentiable */
export const g = (x: number): { a: number; b: number } => ({ a: x * 2, b: x * x });
`);
    expect(errors.map((e) => e.message).join("\n")).not.toMatch(/objects are not supported yet/);
  });

  // vjp's backward uses the forward pass's values, though the caller reuses the output's buffer.
  it("writing into vjp's returned array does not change what backward computes", () => {
    const v = Float64Array.of(0.5, -1.5, 2);
    const seed = { out: Float64Array.of(1, 2, 3), s: 0.5 };
    const expected = runtime.vjp(m.readBack)(v).backward(seed);
    const out = runtime.vjp(m.readBack)(v);
    out.value.out.fill(0); // the caller reuses the output's buffer
    expectTreeClose(out.backward(seed), expected);
  });
});

describe("functions returning objects that are refused, at the node", () => {
  const refusals = [
    [
      "inBranch",
      "{ a: number }",
      "if (x > 0) return { a: x };\n  return { a: 2 * x };",
      "return { a: x };",
      /one `return` at the end/,
    ],
    [
      "earlyThenObject",
      "{ a: number }",
      "if (x > 0) return { a: x };\n  const b = x * x;\n  return { a: b };",
      "return { a: x };",
      /one `return` at the end/,
    ],
    [
      "inLoop",
      "{ a: number }",
      "for (let i = 0; i < 2; i++) { if (x > i) return { a: x }; }\n  return { a: 0 };",
      "return { a: x };",
      /one `return` at the end/,
    ],
    ["paramArray", "{ a: Float64Array }", "return { a: v };", "v", /can only be indexed/],
    ["paramAlias", "{ a: Float64Array }", "const w = v;\n  return { a: w };", "w", /can only be indexed/],
    [
      "nested",
      "{ a: { b: number } }",
      "return { a: { b: x } };",
      "{ a: { b: number } }",
      /must return `number`, an array it creates/,
    ],
    [
      "spread",
      "{ a: number; b: number }",
      "return { ...{ a: x }, b: x };",
      "...{ a: x }",
      /no spreads, methods or computed keys/,
    ],
    [
      "method",
      "{ a: number; m(): number }",
      "return { a: x, m() { return 1; } };",
      "m() { return 1; }",
      /no spreads, methods or computed keys/,
    ],
    [
      "getter",
      "{ a: number; readonly g: number }",
      "return { a: x, get g() { return 1; } };",
      "get g() { return 1; }",
      /no spreads, methods or computed keys/,
    ],
    ["quoted", "{ 'a-b': number }", "return { 'a-b': x };", "'a-b': x", /no spreads, methods or computed keys/],
    ["numeric", "{ 0: number }", "return { 0: x };", "0: x", /no spreads, methods or computed keys/],
    [
      "arrayLiteral",
      "{ a: number[] }",
      "return { a: [x, x] };",
      "[x, x]",
      /an array literal is taken as the value of a declared array/,
    ],
    ["localObject", "{ a: number }", "const o = { a: x };\n  return o;", "{ a: x }", /objects are not supported/],
    ["stringField", "{ a: number; b: string }", "return { a: x, b: 'hi' };", "{ a: number; b: string }", /must return/],
    [
      "booleanField",
      "{ a: number; b: boolean }",
      "return { a: x, b: x > 0 };",
      "{ a: number; b: boolean }",
      /must return/,
    ],
    [
      "union",
      "{ a: number } | number",
      "if (x > 0) return 3;\n  return { a: x };",
      "{ a: number } | number",
      /must return/,
    ],
    ["closureField", "{ a: number; f: () => number }", "return { a: x, f: () => x };", "() => x", /closures/],
    ["empty", "{}", "return {};", "{}", /must return/],
  ] as const;
  const source = `
/** @differentiable */
export function g(x: number): { a: number; b: number } { return { a: x * 2, b: x * x }; }
/** @differentiable */
export function callsObject(x: number): number {
  const o = g(x);
  return o.a + o.b;
}
${refusals.map(([name, ret, body]) => `/** @differentiable */\nexport function ${name}(v: Float64Array, x: number): ${ret} {\n  ${body}\n}\n`).join("")}`;

  it("each refused with a tsgrad error at the node, with the reason; nothing else refused", () => {
    const errors = tsgradErrors(source);
    const lines = source.split("\n");
    const fnOf = (line: number) => {
      for (let l = line - 1; l >= 0; l--) {
        const match = lines[l].match(/^export function (\w+)/);
        if (match) return match[1];
      }
      return "?";
    };
    const byFn = new Map<string, typeof errors>();
    for (const e of errors) byFn.set(fnOf(e.line), [...(byFn.get(fnOf(e.line)) ?? []), e]);
    for (const [name, , , node, message] of refusals) {
      const found = byFn.get(name) ?? [];
      expect(found.length, `${name}: no tsgrad error`).toBeGreaterThan(0);
      expect(
        found.some((e) => e.text === node && message.test(e.message)),
        `${name}: expected an error at \`${node}\` matching ${message}, got ${JSON.stringify(found.map((e) => [e.text, e.message]))}`,
      ).toBe(true);
    }
    // A call of a function returning an object, its fields read: refused at the read.
    expect((byFn.get("callsObject") ?? []).map((e) => e.text)).toContain("o.a");
    expect(byFn.has("g")).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Object parameters in hard cases, one module compiled once: fields named like locals, temporaries,
// generated and runtime names; aliases in branches, loops and nested scopes; four levels of
// destructuring; labels, loop bounds, matrices, type aliases, generics, classes, methods, wrt,
// jacobian, stopGradient and custom derivatives. Each against the runtime's central differences
// with every API agreeing (checkEveryApi), a hand derivation, or a refusal at the node.

describe("object parameters in hard cases", () => {
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
  const y: undefined = ddata.y; // labels are data: no gradient
  const into = gradInto(netLoss)([dn, ddata], net, data);
  const back = vjp(deepParam)(d, 1).backward(1)[0].l1.l2.k;
  const J = jacobian(vec)({ s: 1, v: v, inner: { k: 1 } }, [1, 1]);
  const block: Float64Array = J[0].inner.k;
  return v.length + rv.length + dq.a + cw.length + W.rows + (y ?? data.y).length + into[0].reg + back + block.length;
}
`;

  let m: Record<string, any>;
  beforeAll(async () => {
    ({ module: m } = await compile(source));
  }, 60_000);

  const deepValue = () => ({
    l1: { l2: { l3: { v: Float64Array.of(0.3, -0.7), s: 1.3 }, k: -0.4 }, m: 0.6 },
    top: 0.2,
  });
  const rand = (n: number, seed: number) =>
    Float64Array.from({ length: n }, (_, i) => Math.sin(seed * 7.3 + i * 1.7) * 0.5);

  describe("gradients equal finite differences, every API agrees", () => {
    it("a field named like a local of an inner scope", () => {
      for (const x of [0.5, -0.5]) checkEveryApi(m.shadowLocal, [{ a: 0.7, t: 1.1 }, x]);
    });

    it("one field read through several names: every read adds to the same gradient (hand derivation)", () => {
      const p = { w: Float64Array.of(0.1, 0.2, -0.3), c: 1.5 };
      const [dp] = checkEveryApi(m.twoAliases, [p]);
      // s = Σ c w_i² + c w_i: ds/dw_i = 2 c w_i + c, ds/dc = Σ w_i² + w_i.
      expect(Array.from(dp.w)).toEqual([0.1, 0.2, -0.3].map((w) => expect.closeTo(2 * 1.5 * w + 1.5, 14)));
      expect(dp.c).toBeCloseTo(0.01 + 0.04 + 0.09 + 0.1 + 0.2 - 0.3, 14);
    });

    it("aliases declared in branches and loops, one local name for two fields", () => {
      for (const x of [0.5, -0.5]) checkEveryApi(m.branchAliases, [{ a: 0.3, b: -0.8, w: [1, 2] }, x]);
    });

    it("four levels deep, destructured with renames in the body and in the parameter list", () => {
      const [dd] = checkEveryApi(m.deep, [deepValue()]);
      expect(Object.keys(dd)).toEqual(["l1", "top"]);
      expect(Object.keys(dd.l1.l2.l3)).toEqual(["v", "s"]);
      const [dp, dy] = checkEveryApi(m.deepParam, [deepValue(), 0.9]);
      // f = k s y + top v0
      expect(dy).toBeCloseTo(-0.4 * 1.3, 14);
      expect(dp.l1.m).toBe(0);
      expect(Array.from(dp.l1.l2.l3.v)).toEqual([0.2, 0]);
    });

    it("a user local dW beside field W (whose adjoint would be dW), db beside b", () => {
      checkEveryApi(m.userAdjointNames, [{ W: Float64Array.of(0.5, -1), b: 0.3 }]);
    });

    it("fields named prod, sum, d, dprod, quot, diff, xpy (names of temporaries)", () => {
      checkEveryApi(m.tempNames, [{ prod: 0.5, sum: -0.3, d: 1.2, dprod: 0.7, quot: 2.5, diff: 0.1, xpy: 0.4 }, 0.8]);
    });

    it("fields named grads, saved, scratch, cache, default, value (with a local array and a loop)", () => {
      checkEveryApi(m.runtimeNames, [
        { grads: 0.5, saved: Float64Array.of(0.2, 0.4, -0.1), scratch: 1.5, cache: 0.9, default: 0.3, value: 2 },
        2,
      ]);
    });

    it("fields named like the function and like Math", () => {
      const [dp] = checkEveryApi(m.selfNamed, [{ selfNamed: 0.5, Math: 2, x: 3 }, 0.4]);
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
      checkEveryApi(m.helperNames, [p, matrix(1, 2, Float64Array.of(0.3, 0.4))]);
    });

    it("Int32Array labels in a field index another field; they are data, with no gradient (undefined)", () => {
      const [dd] = checkEveryApi(m.labels, [{ y: Int32Array.of(1, 0, 1), w: Float64Array.of(0.3, -0.5) }]);
      expect("y" in dd).toBe(true);
      expect(dd.y).toBeUndefined();
    });

    it("number fields as loop bounds and conditions get no gradient; data-dependent while", () => {
      for (const p of [
        { n: 2.5, t: 0.5, x: 0.8 },
        { n: 1.5, t: -0.5, x: 0.8 },
      ]) {
        const [dp] = checkEveryApi(m.bounds, [p]);
        expect(dp.n).toBe(0);
      }
      checkEveryApi(m.whileField, [{ limit: 3.3, r: 1.5, c: 0.7 }]);
    });

    it("fields read in a loop whose local is overwritten (saved values)", () => {
      checkEveryApi(m.savedLoop, [{ a: 0.1, w: Float64Array.of(0.5, -0.9, 1.2) }, 0.7]);
    });

    it("number fields and field elements passed to another differentiable function", () => {
      checkEveryApi(m.callsField, [{ a: 0.4, w: [1.5, -2, 0.5] }, 0.7]);
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
      const g = checkEveryApi(m.netLoss, [net(), data]);
      expect(g[0].layer.unusedM.rows).toBe(2);
      // Dirty every buffer, then gradInto at another point: same buffers, equal to a fresh gradient.
      const [W, U, V, F] = [g[0].layer.W, g[0].layer.unusedM, g[0].unusedV, g[0].unusedF];
      (U.data.fill(7), V.fill(7), F.fill(7), (g[0].unusedN = 7), W.data.fill(7));
      expect(g[1].y).toBeUndefined(); // the labels are data: no gradient, no buffer
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
      const [dp] = checkEveryApi(m.matrixRowsAlias, [{ M: matrix(2, 3, rand(6, 9)), a: 0.7 }]);
      expect(dp.a).toBeCloseTo(2 * Array.from(rand(6, 9)).reduce((s, v) => s + v * v, 0), 13);
    });

    it("one field (hand derivation)", () => {
      const [dp] = checkEveryApi(m.single, [{ x: 1.3 }]);
      expect(dp.x).toBeCloseTo(3 * 1.3 ** 2, 14);
      expect(Object.keys(dp)).toEqual(["x"]);
    });

    it("type aliases, Readonly<T>, readonly fields, generic interfaces, a class of data fields, an arrow", () => {
      const [dp, dq] = checkEveryApi(m.readonlyAlias, [
        { a: 0.5, v: [1, 2] },
        { a: -0.5, v: [3, 4] },
      ]);
      // p.a q.v0 + q.a p.v1
      expect(plain([dp, dq])).toEqual([
        { a: 3, v: [0, -0.5] },
        { a: 2, v: [0.5, 0] },
      ]);
      checkEveryApi(m.frozen, [{ a: 0.5, v: Float64Array.of(1, 2) }]);
      checkEveryApi(m.boxes, [
        { v: Float64Array.of(0.3), s: 0.5 },
        { v: 0.7, s: -1.2 },
      ]);
      const d = Object.assign(new m.Data(), { a: 0.4, w: Float64Array.of(0.5, -0.3) });
      const [dd] = checkEveryApi(m.classData, [d]);
      expect(dd).not.toBeInstanceOf(m.Data); // a plain object of the same keys
      checkEveryApi(m.arrow, [{ w: Float64Array.of(0.3, 0.8), c: 1.5 }]);
    });

    it("an interface extending another: the gradient has every field, hand derivation", () => {
      // The gradient's keys come in the type's property order: w, then the inherited a.
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
      checkEveryApi(m.Model.sloss, [p, 2]);
    });

    it("a local array sized by a field, for...of over a destructured field and a const chain", () => {
      // p.n sizes the array: n ± h is not a length, so its entry is left out (its gradient is 0).
      const [dp] = checkEveryApi(m.sizedByField, [{ n: 2, w: Float64Array.of(0.3, 0.8, 9) }, 1.5], { skip: ["[0].n"] });
      expect(dp.n).toBe(0);
      expect(dp.w[2]).toBe(0);
      checkEveryApi(m.forOfAlias, [{ w: Float64Array.of(0.3, 0.8), v: [1.5, 2] }]);
    });

    it("early returns before an alias and inside a while loop", () => {
      for (const [w1, x] of [
        [0.8, 1.5],
        [0.8, -1.5],
        [8, 1.5],
      ])
        checkEveryApi(m.earlyReturn, [{ a: 0.7, w: Float64Array.of(0.3, w1) }, x]);
    });

    it("wrt on object parameters: gradients of those listed, in that order (hand derivation)", () => {
      const p = { a: 0.5, v: Float64Array.of(1, 2) };
      const { g1, g2, g3 } = m.useWrt(p, 2, { c: 3 });
      // f = a x c Σv: dc = a x Σv = 3, da = x c Σv = 18, dv_i = a x c = 3, dx = a c Σv = 4.5.
      expect(plain(g1)).toEqual([{ c: 3 }, { a: 18, v: [3, 3] }]);
      expect(g2).toEqual([4.5]);
      expect(plain(g3)).toEqual({ value: 9, grad: [{ a: 18, v: [3, 3] }] });
      checkEveryApi(m.wrtFn, [p, 2, { c: 3 }]);
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
      checkEveryApi(m.rnn, [model, Float64Array.of(0.5, -1, 2, 0.3), 4], { skip: ["[2]"], tol: 1e-5 });
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
        checkEveryApi(m.siblingAlias, [{ a: 0.7, b: 1.1 }, x]);
        checkEveryApi(m.laterLocal, [{ a: 0.7, b: 1.1 }, x]);
        checkEveryApi(m.shadowedParamAlias, [{ a: 2, c: 3 }, x]);
        checkEveryApi(m.shadowedBodyAlias, [{ a: 2, c: 3 }, x]);
      }
    });

    it("two objects with the same key; a number parameter named like another object's field", () => {
      checkEveryApi(m.sameKeys, [{ a: 2, b: 3 }, { a: 5 }]);
      const [dp, dv] = checkEveryApi(m.paramLikeField, [{ w: 2, v: 9 }, 3]);
      expect(plain([dp, dv])).toEqual([{ w: 3, v: 0 }, 2]);
    });

    it("a const naming the whole object, then its parts and lengths through it", () => {
      checkEveryApi(m.wholeAlias, [{ a: 0.7, w: Float64Array.of(1, 2), inner: { k: 0.3, v: [0.5, -0.25] } }]);
    });

    it("parentheses, casts, non-null assertions, optional chaining, a let copy of a number field", () => {
      checkEveryApi(m.wrappers, [{ a: 0.7, w: Float64Array.of(0.4, 1.3) }, 0.8]);
    });

    it("fields named returned, done, stack, frame, s_1, count, i_1, flag, in a loop with return, break, continue and a while", () => {
      const base = { returned: 1.3, done: 0.4, stack: 0.9, frame: 1.1, s_1: 0.8, count: 0.7, i_1: 0.2, flag: 2 };
      for (const [w1, x] of [
        [-0.3, 0.7],
        [3, 1.7],
        [-0.3, -9],
      ])
        checkEveryApi(m.flagNames, [{ ...base, w: Float64Array.of(0.5, w1, 1.2) }, x]);
    });

    it("stopGradient on a field (hand derivation: the stopped read is a constant); a field through a custom derivative", () => {
      const g = m.stopped_grad({ a: 0.5, b: 3 });
      expect(g).toEqual([{ a: 0.5 * 3, b: 0.25 }]); // d/da (c a b) at c = a, d/db = a²
      checkEveryApi(m.customField, [{ a: 0.5, w: [1, -2] }]);
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

  describe("generated code under tsc --strict, and print", () => {
    it("the generated code type-checks under tsc --strict", () => {
      const errors = genStrictErrors(source, "strict-objects");
      expect(errors).toEqual([]);
    });

    // `tsgrad gen` output type-checks under --strict: registerGradient takes a gradient with an object in it.
    it("registerGradient's line type-checks for a function of an object", () => {
      const src = `/** @differentiable */\nexport function f(p: { w: Float64Array; c: number }): number { return p.c * p.w[0]; }\n`;
      expect(genStrictErrors(src, "strict-objects-registration")).toEqual([]);
    });

    it("tsgrad print is byte-identical from program to program on objects, and names fields as the user did", () => {
      // What \`tsgrad print\` prints (generatedText, before formatting), from two fresh programs.
      const dir = join(root, ".tsgrad-tmp", "objects-print");
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
      checkEveryApi(mod.loss, [net, other, matrix(3, 2, rand(6, 3))]);
      expect(Number.isFinite(mod.typed(net, matrix(3, 2, rand(6, 3))))).toBe(true);
    });
  });

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
export function arrayPattern(p: P): number { const [w0, ...more] = p.w; return w0 * more.length; }
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
export function methodOnField(p: P): number { return p.w.lastIndexOf(1) * p.w[0]; }
/** @differentiable */
export function objectKeys(p: P): number { return Object.keys(p).length; }
/** @differentiable */
export function matrixOpInCallback(p: P, x: number): number { const m = p.M; const f = (k: number) => sum(matmul(m, m)) * k; return f(x); }
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
      expect(first("passInnerObject")).toMatchObject({
        text: "inner",
        message: expect.stringMatching(/field by field/),
      });
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
      // `const [w0] = p.w` is taken (test/statements.test.ts); a rest element is not.
      expect(first("arrayPattern")).toMatchObject({
        text: "...more",
        message: expect.stringMatching(/rest element/),
      });
      expect(first("stringIndex")?.text).toBe('p["a"]');
      expect(first("spreadCopy")?.text).toBe("{ ...p }");
      expect(first("restCopy")).toMatchObject({ text: "...rest", message: expect.stringMatching(/rest element/) });
    });

    it("returning an array field, directly or through its alias", () => {
      expect(first("returnField")?.text).toBe("p.w");
      expect(first("returnAlias")?.text).toBe("w");
    });

    it("the object as a value, a Matrix's data, methods on fields, Object.keys, matrix ops in a callback", () => {
      expect(first("objectInCondition")?.text).toBe("p");
      expect(first("matrixData")?.text).toBe("p.M.data[0]");
      expect(first("methodOnField")?.text).toBe("p.w.lastIndexOf");
      expect(first("objectKeys")).toBeDefined();
      expect(first("matrixOpInCallback")?.text).toBe("sum(matmul(m, m))");
    });

    it("types that are not plain data, at the parameter, naming the field", () => {
      const at = (fn: string) => expect(first(fn)?.code).toBe(94004);
      // A tuple of numbers, a string (data) and a Float32Array are fields tsgrad takes
      // (test/parameters.test.ts differentiates them).
      ["tupleField", "stringField", "float32Field"].forEach((fn) => expect(first(fn)).toBeUndefined());
      [
        "arrayOfObjects",
        "emptyInner",
        "unionParam",
        "optionalField",
        "recursiveType",
        "genericParam",
        "intersection",
      ].forEach(at);
      expect(first("arrayOfObjects")?.message).toMatch(/field `layers`/);
      expect(first("emptyInner")?.message).toMatch(/no fields/);
      expect(first("optionalField")?.message).toMatch(/optional/);
      expect(first("recursiveType")?.message).toMatch(/too deeply/);
      // An intersection of two data interfaces is refused (README promises interfaces and type
      // literals only), though its message calls it "not ... an object of them".
      expect(first("intersection")?.text).toBe("p: A & B");
    });
  });

  // Fields named like what generated code uses, and reads the backward pass must reach.
  const namesSource = `
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

  describe("fields named like globals and generated names, a Matrix's rows through the object, keys out of order", () => {
    let b: Record<string, any>;
    beforeAll(async () => {
      ({ module: b } = await compile(namesSource));
    }, 60_000);

    // A field named like a global the gradient allocates with (Float64Array) does not hide it.
    it("a field named Float64Array", () => {
      checkEveryApi(b.fieldFloat64Array, [{ W: Float64Array.of(1, 2), Float64Array: 3 }, Float64Array.of(0.3, -0.2)]);
    });

    // The same for a field named Array beside a number[] parameter.
    it("a field named Array", () => {
      checkEveryApi(b.fieldArray, [{ Array: 0.7, v: [1.5, 2] }]);
    });

    // A field named like a called function's gradient does not hide it.
    it("a field named like the gradient of a called function (sq_grad)", () => {
      checkEveryApi(b.fieldCalleeGrad, [{ a: 0.7, sq_grad: 1.5 }]);
    });

    // A field named ValueStack does not hide the runtime class vjp saves loop values on.
    it("a field named ValueStack in a function whose loop saves values", () => {
      checkEveryApi(b.fieldValueStack, [{ ValueStack: 0.3, r: 1.2 }, 0.5]);
    });

    // A field destructured as Math would hide the Math of the rules' gradients: refused, like `const Math = ...`.
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

    // A Matrix field's rows and cols read through the object reach f_backward through its cache.
    it("a Matrix field's rows/cols read through the object, in vjp", () => {
      const { matrix } = runtime;
      const p = { M: matrix(2, 3, rand(6, 4)), a: 0.7 };
      expect(runtime.grad(b.matrixRows)(p)[0].a).toBe(6); // grad alone is right
      checkEveryApi(b.matrixRows, [p]);
    });
    it("a Matrix field's rows as a loop bound, in vjp", () => {
      const { matrix } = runtime;
      checkEveryApi(b.matrixRowsBound, [
        { W: matrix(2, 2, Float64Array.of(1, 2, 3, 4)), c: 0.5 },
        matrix(1, 2, Float64Array.of(0.3, 0.6)),
      ]);
    });

    // checkGradient pairs gradient and finite differences by path: an object's keys may come in any order.
    it("checkGradient on an object whose keys are listed in another order than the type's", () => {
      // paramLikeField({ w }: { w: number; v: number }, v: number): the literal lists v first.
      const args = [{ v: 9, w: 2 }, 3];
      const g = runtime.grad(m.paramLikeField)(...args);
      expect(runtime.checkGradient(m.paramLikeField, args, g).ok).toBe(true);
    });
  });

  describe("aliases and locals named like parameters, fields or reserved words: generated code that loads", () => {
    // A destructured alias shadowing another parameter in an inner scope does not clash with it.
    it("a destructured alias shadowing another parameter in an inner scope", async () => {
      const { module: mod } = await compile(`
/** @differentiable */
export function k(p: { a: number }, y: number): number {
  let s = y * y;
  if (y > 0) { const { a: y } = p; s = s * y; }
  return s + y;
}`);
      checkEveryApi(mod.k, [{ a: 0.7 }, 0.5]);
    });

    // The same for an alias shadowing the object parameter itself.
    it("a destructured alias shadowing the object parameter itself in an inner scope", async () => {
      const { module: mod } = await compile(`
/** @differentiable */
export function k(model: { layer: { W: Float64Array; c: number } }, x: number): number {
  const layer = model.layer;
  let s = layer.c * x;
  if (x > 0) { const { W: model } = layer; s = s + model[0] * x; }
  return s * s;
}`);
      checkEveryApi(mod.k, [{ layer: { W: Float64Array.of(0.3), c: 0.9 } }, 0.5]);
    });

    // An inner local named like the object parameter does not clash with it, as for a number parameter.
    it("an inner local named like the object parameter", async () => {
      const { module: mod } = await compile(`
/** @differentiable */
export function k(p: { a: number; w: number[] }, x: number): number {
  let s = p.a * x;
  if (x > 0) { const p = x * 3; s = s + p; }
  return s * p.w[0];
}`);
      for (const x of [0.5, -0.5]) checkEveryApi(mod.k, [{ a: 0.7, w: [1.5] }, x]);
    });

    // An unused alias in the parameter list claims its name: another object's field of that name takes another.
    it("an unused parameter-list alias named like another object's field", async () => {
      const { module: mod } = await compile(`
/** @differentiable */
export function k({ a: b, c }: { a: number; c: number }, q: { b: number }): number { return c * q.b * q.b; }`);
      checkEveryApi(mod.k, [{ a: 2, c: 3 }, { b: 5 }]);
    });

    // A destructured parameter is named after its type, as a valid identifier even for Default or Arguments.
    it("a destructured parameter whose type is named Default (or Arguments)", async () => {
      const { module: mod } = await compile(`
interface Default { a: number; b: number }
/** @differentiable */
export function k({ a, b }: Default, x: number): number { return a * b * x; }`);
      checkEveryApi(mod.k, [{ a: 2, b: 3 }, 0.5]);
    });
  });

  describe("classes with parameter properties and contextually typed arrows as object parameters", () => {
    // A class whose fields are parameter properties is plain data.
    it("a class with parameter properties as a parameter type", () => {
      const { diagnostics } = compileToJs(`
export class Params { constructor(public a: number, public w: Float64Array) {} }
/** @differentiable */
export function k(d: Params): number { return d.a * d.w[0]; }`);
      expect(
        diagnostics.filter((d) => d.code >= 94000).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")),
      ).toEqual([]);
    });

    // A contextually typed arrow's object parameter is typed in the generated functions (tsc --strict).
    it("a contextually typed arrow with an object parameter: generated parameters are typed", () => {
      const errors = genStrictErrors(
        `interface P { a: number; w: Float64Array }
type Fn = (p: P, x: number) => number;
/** @differentiable */
export const k: Fn = (p, x) => p.a * x * p.w[0];
`,
        "strict-objects-arrow",
      );
      expect(errors).toEqual([]);
    });
  });
});
