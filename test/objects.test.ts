// Object parameters: interfaces and type literals of numbers, arrays, matrices and nested objects,
// read by field (`model.layer.W[i]`) or destructured (`const { W, b } = model`, `({ w, c }: P)`).
// Each field is a staged parameter of its own, so the generated code reads like code over plain
// parameters; the gradient is an object with the same keys (typed Grad<T>). Checked against
// finite differences (the runtime's numericGrad, which moves every number of the arguments), hand
// derivations, vjp, valueAndGrad and gradInto; what is not supported is refused at the node.

import { beforeAll, describe, expect, it } from "vitest";
import ts from "typescript";
import { compile, compileToJs } from "./harness.js";

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
    expect(Array.from(ddata.y)).toEqual([0, 0, 0, 0, 0]);
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
