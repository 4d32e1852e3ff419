// grad(f, { wrt: [...] }) with f declared in the same file and a literal list compiles to a
// gradient of those parameters alone (`f_grad_net`): the others are data, so no line computes
// their gradient. Checked against the full gradient picked at run time, on values and on the
// generated code (no dX line), with gradInto filling in place; other calls fall back to the runtime.
// Then static wrt with object, array and matrix parameters, loops, calls, custom derivatives,
// methods, across modules, and named around the user's names.

import { beforeAll, describe, expect, it } from "vitest";
import { bodyOf, compile, compileProject, compileToJs, genStrictErrors } from "./harness.js";
import { expectFd, expectTreeClose, runtime } from "./oracles.js";

const source = `
import { grad, gradInto } from "tsgrad";

export interface Layer {
  W: Float64Array;
  c: number;
}

/** @differentiable */
export function loss(layer: Layer, X: Float64Array, k: number): number {
  let s = layer.c * k;
  for (let i = 0; i < X.length; i++) s += Math.tanh(layer.W[i % layer.W.length] * X[i]);
  return s * s;
}

export const onLayer = grad(loss, { wrt: [0] });
export const onK = grad(loss, { wrt: [2] });
export const reordered = grad(loss, { wrt: [2, 0] });
export const intoLayer = gradInto(loss, { wrt: [0] });
const indices = [1] as const;
export const dynamic = grad(loss, { wrt: indices });
`;

let m: Record<string, any>;
let js: string;
const layer = () => ({ W: Float64Array.of(0.5, -1, 2), c: 0.7 });
const X = Float64Array.of(1, -0.5, 0.25, 2, -1, 0.3);

beforeAll(async () => {
  ({ module: m, js } = await compile(source));
}, 60_000);

describe("grad(f, { wrt }) compiled to the gradient of those parameters alone", () => {
  it("returns what the full gradient picks, in the order of wrt", () => {
    const [dlayer, dX, dk] = m.loss_grad(layer(), X, 1.5);
    const [only] = m.onLayer(layer(), X, 1.5);
    expect(Array.from(only.W)).toEqual(Array.from(dlayer.W));
    expect(only.c).toBe(dlayer.c);
    expect(m.onK(layer(), X, 1.5)).toEqual([dk]);
    const [rk, rl] = m.reordered(layer(), X, 1.5);
    expect(rk).toBe(dk);
    expect(Array.from(rl.W)).toEqual(Array.from(dlayer.W));
    expect(Array.from(m.dynamic(layer(), X, 1.5)[0])).toEqual(Array.from(dX));
  });

  it("each call compiles to its own function, named after the parameters, without the others' lines", () => {
    expect(js).toMatch(/const onLayer = loss_grad_layer;/);
    expect(js).toMatch(/const onK = loss_grad_k;/);
    expect(js).toMatch(/const reordered = loss_grad_k_layer;/);
    expect(js).toMatch(/const intoLayer = loss_gradInto_layer;/);
    // A list that is not a literal is picked at run time from the full gradient.
    expect(js).toMatch(/const dynamic = grad\(loss, \{ wrt: indices \}\);/);
    const body = (name: string) =>
      js.slice(js.indexOf(`function ${name}(`), js.indexOf("\n}\n", js.indexOf(`function ${name}(`)));
    expect(body("loss_grad")).toMatch(/dX\[i\] \+=/);
    expect(body("loss_grad_layer")).not.toMatch(/dX|dk/);
    expect(body("loss_grad_k")).not.toMatch(/dX|dW|dc\b/);
  });

  it("gradInto with wrt refills the buffers of an earlier result in place", () => {
    const grads = m.onLayer(layer(), Float64Array.of(9, 9, 9), 0);
    const W = grads[0].W;
    const out = m.intoLayer(grads, layer(), X, 1.5);
    expect(out).toBe(grads);
    expect(out[0].W).toBe(W);
    expect(Array.from(W)).toEqual(Array.from(m.loss_grad(layer(), X, 1.5)[0].W));
    expect(out[0].c).toBe(m.loss_grad(layer(), X, 1.5)[0].c);
  });

  it("the runtime's gradInto with wrt (f known only at run time) gives the same", async () => {
    const runtime = await import("tsgrad" as string);
    const grads = m.onLayer(layer(), X, 0);
    runtime.gradInto(m.loss, { wrt: [0] })(grads, layer(), X, 1.5);
    expect(Array.from(grads[0].W)).toEqual(Array.from(m.loss_grad(layer(), X, 1.5)[0].W));
  });

  it("an index out of range is left to the runtime, which names it", () => {
    const src = `import { grad } from "tsgrad";\n/** @differentiable */\nexport function f(x: number): number { return x * x; }\nexport const g = () => grad(f, { wrt: [3] as any });\n`;
    expect(compileToJs(src).js).toMatch(/grad\(f, \{ wrt: \[3\] as any \}\)|grad\(f, \{ wrt: \[3\] \}\)/);
  });
});

// ---------------------------------------------------------------------------------------------
// Static wrt in every setting: each specialized gradient against the full gradient picked, the
// runtime's own picking (grad(f, { wrt }) with f known only at run time), valueAndGrad and vjp.

/**
 * The oracle for a specialized gradient `special` = grad(f, { wrt }): the full gradient (itself
 * checked against finite differences) picked at `wrt`, the runtime's grad(f, { wrt }) (f only known
 * at run time), valueAndGrad(f, { wrt }) and vjp's backward(1) picked.
 */
function agree(
  f: (...a: any[]) => number,
  special: (...a: any[]) => any[],
  wrt: number[],
  args: any[],
  opts: { skip?: string[]; tol?: number } = {},
): any[] {
  const full = runtime.grad(f)(...args);
  expectFd(f, args, full, opts.tol ?? 1e-6, opts.skip);
  const got = special(...args);
  expect(got.length).toBe(wrt.length);
  const picked = wrt.map((i) => full[i]);
  expectTreeClose(got, picked);
  expectTreeClose(runtime.grad(f, { wrt: [...wrt] })(...args), picked);
  expectTreeClose(runtime.valueAndGrad(f, { wrt: [...wrt] })(...args).grad, picked);
  const back = runtime
    .vjp(f)(...args)
    .backward(1);
  expectTreeClose(
    wrt.map((i) => back[i]),
    picked,
  );
  return got;
}

const wrtSource = `
import { grad, gradInto, valueAndGrad, stopGradient, matmul, addBias, relu, sum, mul, softmaxCrossEntropy, type Matrix } from "tsgrad";

/** Three numbers: every order, a single index, all of them, as const, the same list twice. */
/** @differentiable */
export function f(a: number, b: number, c: number): number {
  return a * b * Math.sin(c) + a * a;
}
export const f20 = grad(f, { wrt: [2, 0] });
export const f02 = grad(f, { wrt: [0, 2] });
export const f1 = grad(f, { wrt: [1] });
export const f1again = grad(f, { wrt: [1] });
export const fAll = grad(f, { wrt: [0, 1, 2] });
export const fConst = grad(f, { wrt: [0, 2] as const });
export const fSatisfies = grad(f, { wrt: [2, 1] as const satisfies readonly number[] });
export const fInto20 = gradInto(f, { wrt: [2, 0] });
export const fInto1 = gradInto(f, { wrt: [1] });
const list = [0] as const;
export const fVariable = grad(f, { wrt: list });
export const fDuplicate = grad(f, { wrt: [0, 0] });
export const fOutOfRange = () => grad(f, { wrt: [3] as any });
export const fNegative = () => grad(f, { wrt: [-1] as any });
export const fFraction = () => grad(f, { wrt: [0.5] as any });
export const fEmpty = grad(f, { wrt: [] });
const k = 1;
export const fNonLiteral = grad(f, { wrt: [0, k] });

/** An object parameter, a Float64Array, a number; a loop whose values are saved. */
export interface P { w: Float64Array; c: number; inner: { k: number; v: number[] } }
/** @differentiable */
export function objLoss(p: P, x: Float64Array, s: number): number {
  let acc = p.c * s;
  for (let i = 0; i < x.length; i++) acc = Math.sin(acc + p.w[i % p.w.length] * x[i]) * p.inner.k;
  return acc * acc + p.inner.v[0] * s;
}
export const objP = grad(objLoss, { wrt: [0] });
export const objSX = grad(objLoss, { wrt: [2, 1] });
export const objIntoP = gradInto(objLoss, { wrt: [0] });
export const objIntoSX = gradInto(objLoss, { wrt: [2, 1] });

/** A destructured parameter (named by its index). */
/** @differentiable */
export function destr({ w, c }: { w: Float64Array; c: number }, x: Float64Array): number {
  let s = c;
  for (let i = 0; i < w.length; i++) s += w[i] * x[i];
  return s * s;
}
export const destr0 = grad(destr, { wrt: [0] });
export const destr1 = grad(destr, { wrt: [1] });
export const destrInto0 = gradInto(destr, { wrt: [0] });

/** Calls of another differentiable function. */
/** @differentiable */
export function inner(u: number, v: number): number { return u * Math.exp(v); }
/** @differentiable */
export function outer(a: number, b: number, c: number): number {
  return inner(a * b, c) + inner(c, a);
}
export const outerB = grad(outer, { wrt: [1] });
export const outerCA = grad(outer, { wrt: [2, 0] });

/** A function with its own derivative, and a caller of it. */
/** @differentiable */
export function quant(x: number, k: number): number { return Math.round(x * k) / k; }
/** @derivative quant */
export function quantD(x: number, k: number, y: number, dy: number): [number, number] { return [dy, (-dy * x) / k]; }
export const quantX = grad(quant, { wrt: [0] });
export const quantK = grad(quant, { wrt: [1] });
/** @differentiable */
export function usesQuant(a: number, b: number): number { return quant(a, b) * a; }
export const usesQuantB = grad(usesQuant, { wrt: [1] });
export const usesQuantA = grad(usesQuant, { wrt: [0] });

/** Matrix operations: weights only, inputs only, the number only. */
/** @differentiable */
export function net(W1: Matrix, b1: Matrix, X: Matrix, y: Int32Array, reg: number): number {
  const h = relu(addBias(matmul(X, W1), b1));
  return softmaxCrossEntropy(h, y) + reg * sum(mul(W1, W1));
}
export const netW = grad(net, { wrt: [0, 1] });
export const netX = grad(net, { wrt: [2] });
export const netReg = grad(net, { wrt: [4] });
export const netIntoW = gradInto(net, { wrt: [0, 1] });
export const netY = grad(net, { wrt: [3] });

/** The wrt parameter reaches the value only through products with a data parameter; stopGradient. */
/** @differentiable */
export function through(x: number, k: number): number {
  const t = k * x;
  const u = stopGradient(k) * t;
  return u * t + k;
}
export const throughX = grad(through, { wrt: [0] });
export const throughK = grad(through, { wrt: [1] });

/** Parameters no gradient reaches, asked for: zeros of their kinds. */
/** @differentiable */
export function unused(a: Float64Array, b: number[], x: number): number { return x * x; }
export const unusedAB = grad(unused, { wrt: [0, 1] });

/** Local arrays filled from the data parameters only (inactive under wrt [0]). */
/** @differentiable */
export function locals(W: Float64Array, x: Float64Array, k: number): number {
  const sq = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) sq[i] = x[i] * x[i] + k;
  const h = new Array<number>(W.length).fill(0);
  for (let j = 0; j < W.length; j++) h[j] = Math.tanh(W[j] * sq[j % sq.length]);
  let s = 0;
  for (let j = 0; j < h.length; j++) s += h[j] * h[j] * k;
  return s;
}
export const localsW = grad(locals, { wrt: [0] });
export const localsX = grad(locals, { wrt: [1] });
export const localsK = grad(locals, { wrt: [2] });
export const localsIntoW = gradInto(locals, { wrt: [0] });
export const localsIntoXK = gradInto(locals, { wrt: [1, 2] });

/** A loop that saves values, under wrt. */
/** @differentiable */
export function saver(a: Float64Array, x: number, y: number): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s = Math.sin(s + a[i] * x) * y;
  return s;
}
export const saverY = grad(saver, { wrt: [2] });
export const saverA = grad(saver, { wrt: [0] });
export const saverIntoA = gradInto(saver, { wrt: [0] });
export const saverIntoXY = gradInto(saver, { wrt: [1, 2] });

/** An arrow function, its gradient asked for before its declaration. */
export const early = () => grad(arrow, { wrt: [1] });
/** @differentiable */
export const arrow = (p: number, q: number): number => p * q * q + Math.cos(p);
export const late = grad(arrow, { wrt: [1] });

/** A differentiable function local to a function body. */
export function nestedHost(a: number): number[] {
  /** @differentiable */
  function local(u: number, v: number): number { return u * Math.sin(v) * u; }
  return grad(local, { wrt: [1, 0] })(a, 0.5);
}

/** A method: falls back to the runtime, this bound. */
export class Model {
  constructor(public scale: number) {}
  /** @differentiable */
  loss(a: number, b: number): number { return this.scale * a * b * b; }
}
export const model = new Model(3);
export const modelB = grad(model.loss, { wrt: [1] });
export const modelBA = grad(model.loss, { wrt: [1, 0] });

/** Types: the specialized gradients are typed like the runtime's (this compiles under strict). */
export function typed(p: P, x: Float64Array, s: number): number {
  const [ds, dx] = grad(objLoss, { wrt: [2, 1] })(p, x, s);
  const n: number = ds;
  const arr: Float64Array = dx;
  const [dp] = grad(objLoss, { wrt: [0] })(p, x, s);
  const w: Float64Array = dp.w;
  const v: number[] = dp.inner.v;
  const into = gradInto(objLoss, { wrt: [0] })([dp], p, x, s);
  const vg = valueAndGrad(objLoss, { wrt: [0] })(p, x, s);
  return n + arr.length + w.length + v.length + into[0].c + vg.grad[0].c;
}
`;

describe("static wrt: orders, lists, object, array and matrix parameters, calls, custom derivatives, methods", () => {
  let m: Record<string, any>;
  let js: string;
  beforeAll(async () => {
    ({ module: m, js } = await compile(wrtSource));
  }, 60_000);

  it("orders, a single index, all indices, as const, satisfies: each equals the full gradient picked", () => {
    const args = [0.3, 0.7, -0.4];
    expect(agree(m.f, m.f20, [2, 0], args).length).toBe(2);
    agree(m.f, m.f02, [0, 2], args);
    agree(m.f, m.f1, [1], args);
    agree(m.f, m.fAll, [0, 1, 2], args);
    agree(m.f, m.fConst, [0, 2], args);
    agree(m.f, m.fSatisfies, [2, 1], args);
    // Hand derivation: f = a b sin c + a²: [cos-term, a-term] for [2, 0].
    const [a, b, c] = args;
    expectTreeClose(m.f20(a, b, c), [a * b * Math.cos(c), b * Math.sin(c) + 2 * a]);
  });

  it("compiles each distinct list to its own function, named after the parameters; the same list reuses it", () => {
    expect(js).toMatch(/const f20 = f_grad_c_a;/);
    expect(js).toMatch(/const f02 = f_grad_a_c;/);
    expect(js).toMatch(/const f1 = f_grad_b;/);
    expect(js).toMatch(/const f1again = f_grad_b;/);
    expect(js).toMatch(/const fAll = f_grad_a_b_c;/);
    expect(js).toMatch(/const fConst = f_grad_a_c;/);
    expect(js).toMatch(/const fSatisfies = f_grad_c_b;/);
    expect(js).toMatch(/const fInto20 = f_gradInto_c_a;/);
    expect(js.match(/function f_grad_a_c\(/g)?.length).toBe(1);
    expect(js.match(/function f_grad_b\(/g)?.length).toBe(1);
    // The gradient of b alone computes neither da nor dc.
    expect(bodyOf(js, "f_grad_b")).not.toMatch(/\bda\b|\bdc\b/);
    expect(bodyOf(js, "net_grad_W1_b1")).not.toMatch(/\bdX\b/);
    expect(bodyOf(js, "net_grad_reg")).not.toMatch(/\bdW1\b|\bdX\b|\bdb1\b/);
  });

  it("lists not written as literals of valid indices fall back to the runtime: variable, duplicates, out of range, negative, fraction, empty, a non-literal element", () => {
    for (const name of ["fVariable", "fDuplicate", "fEmpty", "fNonLiteral"])
      expect(js).toMatch(new RegExp(`const ${name} = grad\\(f, `));
    const args = [0.3, 0.7, -0.4];
    const full = m.f_grad(...args);
    expectTreeClose(m.fVariable(...args), [full[0]]);
    expectTreeClose(m.fDuplicate(...args), [full[0], full[0]]);
    expect(m.fEmpty(...args)).toEqual([]);
    expectTreeClose(m.fNonLiteral(...args), [full[0], full[1]]);
    expect(() => m.fOutOfRange()).toThrow(RangeError);
    expect(() => m.fOutOfRange()).toThrow(/wrt index 3 is out of range for a function of 3 parameter/);
    expect(() => m.fNegative()).toThrow(RangeError);
    expect(() => m.fFraction()).toThrow(RangeError);
  });

  it("gradInto with wrt: overwrites numbers in the order of wrt, returns the same array", () => {
    const args = [0.3, 0.7, -0.4];
    const full = m.f_grad(...args);
    const grads = [99, 98];
    expect(m.fInto20(grads, ...args)).toBe(grads);
    expectTreeClose(grads, [full[2], full[0]]);
    const one = [5];
    m.fInto1(one, ...args);
    expectTreeClose(one, [full[1]]);
  });

  const P = () => ({ w: Float64Array.of(0.3, -0.7), c: 0.4, inner: { k: 1.3, v: [0.5, 2] } });
  const x = () => Float64Array.of(0.2, -1, 0.6);

  it("object parameters and a loop that saves values; the saved stack is left as found", () => {
    const before = runtime.saved.size;
    const [dp] = agree(m.objLoss, m.objP, [0], [P(), x(), 0.9]);
    expect(Object.keys(dp)).toEqual(["w", "c", "inner"]);
    expect(dp.w).toBeInstanceOf(Float64Array);
    expect(Array.isArray(dp.inner.v)).toBe(true);
    expect(dp.inner.v[1]).toBe(0); // no gradient reaches v[1]
    agree(m.objLoss, m.objSX, [2, 1], [P(), x(), 0.9]);
    expect(runtime.saved.size).toBe(before);
  });

  it("gradInto with wrt refills an object's buffers in place (stale values overwritten, not added to)", () => {
    const grads = m.objP(P(), Float64Array.of(9, 9, 9), 0.1);
    const W = grads[0].w;
    const V = grads[0].inner.v;
    W.fill(123);
    V.fill(7);
    expect(m.objIntoP(grads, P(), x(), 0.9)).toBe(grads);
    expect(grads[0].w).toBe(W);
    expect(grads[0].inner.v).toBe(V);
    expectTreeClose(grads, m.objP(P(), x(), 0.9));
    const g2 = m.objSX(P(), x(), 0.1);
    const X = g2[1];
    X.fill(-5);
    m.objIntoSX(g2, P(), x(), 0.9);
    expect(g2[1]).toBe(X);
    expectTreeClose(g2, m.objSX(P(), x(), 0.9));
    // Twice in a row: the same values (nothing accumulates across calls).
    m.objIntoSX(g2, P(), x(), 0.9);
    expectTreeClose(g2, m.objSX(P(), x(), 0.9));
  });

  it("a destructured parameter, by index (destr_grad_0), and gradInto of it", () => {
    const p = () => ({ w: Float64Array.of(1, 2), c: 0.5 });
    const xs = Float64Array.of(0.3, 0.4);
    const [dp] = agree(m.destr, m.destr0, [0], [p(), xs]);
    // s = 0.5 + 0.3 + 0.8 = 1.6: d/dw = 2 s x, d/dc = 2 s.
    expectTreeClose(dp, { w: [3.2 * 0.3, 3.2 * 0.4], c: 3.2 });
    agree(m.destr, m.destr1, [1], [p(), xs]);
    expect(js).toMatch(/const destr0 = destr_grad_0;/);
    const grads = m.destr0(p(), Float64Array.of(1, 1));
    const w = grads[0].w;
    m.destrInto0(grads, p(), xs);
    expect(grads[0].w).toBe(w);
    expectTreeClose(grads, [{ w: [3.2 * 0.3, 3.2 * 0.4], c: 3.2 }]);
  });

  it("calls of another differentiable function", () => {
    agree(m.outer, m.outerB, [1], [0.3, 0.7, -0.4]);
    agree(m.outer, m.outerCA, [2, 0], [0.3, 0.7, -0.4]);
  });

  it("custom derivatives: the derivative's own gradient, picked, through grad(quant, { wrt }) and through a caller", () => {
    // quantD: d/dx = dy, d/dk = -dy x / k (a straight-through estimator): not finite differences.
    expect(m.quantX(0.37, 4)).toEqual([1]);
    expectTreeClose(m.quantK(0.37, 4), [-0.37 / 4]);
    // usesQuant = quant(a, b) a: d/db = a · (-a / b), d/da = quant(a, b) + a · 1.
    expectTreeClose(m.usesQuantB(0.37, 4), [0.37 * (-0.37 / 4)]);
    expectTreeClose(m.usesQuantA(0.37, 4), [Math.round(0.37 * 4) / 4 + 0.37]);
    expectTreeClose(m.usesQuantB(0.37, 4), [m.usesQuant_grad(0.37, 4)[1]]);
  });

  it("matrix operations: weights, inputs and the number each alone; gradInto refills the weights' matrices", () => {
    const M = (r: number, c: number, s: number) =>
      runtime.matrix(
        r,
        c,
        Float64Array.from({ length: r * c }, (_, i) => Math.sin(s * 7.1 + i * 1.3)),
      );
    const args = () => [M(2, 4, 1), M(1, 4, 2), M(5, 2, 3), Int32Array.of(0, 1, 3, 2, 1), 0.1];
    agree(m.net, m.netW, [0, 1], args());
    agree(m.net, m.netX, [2], args());
    agree(m.net, m.netReg, [4], args());
    // The labels alone: data, with no gradient (undefined), as in the full gradient.
    const [dy] = m.netY(...args());
    expect(dy).toBeUndefined();
    expect(m.netY(...args())).toEqual([undefined]);
    const a = args();
    const grads = m.netW(...a);
    const [W, b] = grads;
    W.data.fill(3);
    b.data.fill(-3);
    m.netIntoW(grads, ...a);
    expect(grads[0]).toBe(W);
    expect(grads[1]).toBe(b);
    expectTreeClose(grads, m.netW(...a));
  });

  it("a parameter reaching the value only through a data parameter, and through stopGradient", () => {
    // f = stop(k) k x · k x + k: d/dx = 2 k³ x; d/dk (k through t only, plus 1) = 2 k² x² + 1.
    const [x0, k0] = [0.3, 1.7];
    expectTreeClose(m.throughX(x0, k0), [2 * k0 ** 3 * x0]);
    expectTreeClose(m.throughK(x0, k0), [2 * k0 * k0 * x0 * x0 + 1]);
    expectTreeClose(m.throughX(x0, k0), [m.through_grad(x0, k0)[0]]);
    expectTreeClose(m.throughK(x0, k0), [m.through_grad(x0, k0)[1]]);
  });

  it("parameters no gradient reaches: zeros of their kinds and lengths", () => {
    const [da, db] = m.unusedAB(Float64Array.of(1, 2), [3, 4, 5], 2);
    expect(da).toBeInstanceOf(Float64Array);
    expect(Array.from(da)).toEqual([0, 0]);
    expect(db).toEqual([0, 0, 0]);
  });

  it("local arrays filled from data parameters only; gradInto with wrt over them", () => {
    const W = Float64Array.of(0.3, -0.5, 0.8, 0.1);
    const xs = Float64Array.of(0.4, -0.6, 0.9);
    agree(m.locals, m.localsW, [0], [W, xs, 0.7]);
    agree(m.locals, m.localsX, [1], [W, xs, 0.7]);
    agree(m.locals, m.localsK, [2], [W, xs, 0.7]);
    const g = m.localsW(W, xs, 0.1);
    const buf = g[0];
    m.localsIntoW(g, W, xs, 0.7);
    expect(g[0]).toBe(buf);
    expectTreeClose(g, m.localsW(W, xs, 0.7));
    const g2 = [new Float64Array(3).fill(8), 8];
    m.localsIntoXK(g2, W, xs, 0.7);
    expectTreeClose(g2, [m.localsX(W, xs, 0.7)[0], m.localsK(W, xs, 0.7)[0]]);
    expect(runtime.scratch.size ?? 0).toBe(0);
  });

  it("loops that save values under wrt; gradInto with wrt; the stack left as found", () => {
    const a = Float64Array.of(0.3, -0.2, 0.5, 0.9);
    const before = runtime.saved.size;
    agree(m.saver, m.saverY, [2], [a, 0.7, 1.1]);
    agree(m.saver, m.saverA, [0], [a, 0.7, 1.1]);
    const g = m.saverA(a, 0.1, 0.2);
    const buf = g[0];
    m.saverIntoA(g, a, 0.7, 1.1);
    expect(g[0]).toBe(buf);
    expectTreeClose(g, m.saverA(a, 0.7, 1.1));
    const g2 = [0, 0];
    m.saverIntoXY(g2, a, 0.7, 1.1);
    expectTreeClose(g2, [m.saver_grad(a, 0.7, 1.1)[1], m.saver_grad(a, 0.7, 1.1)[2]]);
    expect(runtime.saved.size).toBe(before);
  });

  it("an arrow function asked for before its declaration; a function local to another's body", () => {
    expect(js).toMatch(/const early = \(\) => arrow_grad_q;/);
    agree(m.arrow, m.early(), [1], [2, 3]);
    agree(m.arrow, m.late, [1], [2, 3]);
    // local(u, v) = u² sin v: [d/dv, d/du] = [u² cos v, 2 u sin v].
    expectTreeClose(m.nestedHost(2), [4 * Math.cos(0.5), 4 * Math.sin(0.5)]);
  });

  it("methods fall back to the runtime's picking, `this` bound", () => {
    expect(js).toMatch(/grad\(model\.loss, \{ wrt: \[1\] \}\)\.bind\(model\)/);
    // 3 a b²: d/db = 6 a b, d/da = 3 b².
    expectTreeClose(m.modelB(2, 3), [36]);
    expectTreeClose(m.modelBA(2, 3), [36, 27]);
  });

  it("the specialized gradients are typed like the runtime's: typed() runs, and the generated file type-checks under strict", () => {
    expect(Number.isFinite(m.typed(P(), x(), 0.9))).toBe(true);
    expect(genStrictErrors(wrtSource, "strict-wrt")).toEqual([]);
  });

  it("f imported from another module: the runtime picks from the full gradient; a gradient exported from f's module is specialized", async () => {
    const lib = `import { grad, gradInto } from "tsgrad";
/** @differentiable */
export function g(w: Float64Array, x: number, k: number): number {
  let s = 0;
  for (let i = 0; i < w.length; i++) s = Math.tanh(s + w[i] * x) * k;
  return s;
}
export const gW = grad(g, { wrt: [0] });
export const gIntoW = gradInto(g, { wrt: [0] });
`;
    const main = `import { grad, gradInto } from "tsgrad";
import { g, gW, gIntoW } from "./lib.js";
export { g, gW, gIntoW };
export const mainK = grad(g, { wrt: [2] });
export const mainWX = grad(g, { wrt: [0, 1] });
export const mainIntoW = gradInto(g, { wrt: [0] });
`;
    const { module: p, js: mainJs } = await compileProject({ "lib.ts": lib, "main.ts": main }, "main.ts");
    expect(mainJs).toMatch(/const mainK = grad\(g, \{ wrt: \[2\] \}\);/);
    expect(mainJs).toMatch(/const mainIntoW = gradInto\(g, \{ wrt: \[0\] \}\);/);
    const w = Float64Array.of(0.3, -0.2, 0.8);
    agree(p.g, p.mainK, [2], [w, 0.7, 1.3]);
    agree(p.g, p.mainWX, [0, 1], [w, 0.7, 1.3]);
    agree(p.g, p.gW, [0], [w, 0.7, 1.3]);
    // The runtime's gradInto with wrt copies into the given buffers.
    for (const into of [p.mainIntoW, p.gIntoW]) {
      const grads = p.gW(w, 0.1, 0.1);
      const buf = grads[0];
      buf.fill(5);
      expect(into(grads, w, 0.7, 1.3)).toBe(grads);
      expect(grads[0]).toBe(buf);
      expectTreeClose(grads, p.gW(w, 0.7, 1.3));
    }
  });

  // Generated gradients are named around the user's own names.
  it("two wrt lists whose parameter names join to the same suffix (h(a, b, a_b): [0, 1] and [2]) get two names", async () => {
    const { module: h } = await compile(`import { grad } from "tsgrad";
/** @differentiable */
export function h(a: number, b: number, a_b: number): number { return a * b + a_b * a_b * a; }
export const hab = grad(h, { wrt: [0, 1] });
export const hc = grad(h, { wrt: [2] });
`);
    expectTreeClose(h.hab(2, 3, 5), [3 + 25, 2]);
    expectTreeClose(h.hc(2, 3, 5), [2 * 5 * 2]);
  });

  it("a user function already named f_grad_x is left alone: the generated gradient of wrt [0] takes another name", async () => {
    const { module: c } = await compile(`import { grad } from "tsgrad";
/** @differentiable */
export function f(x: number, y: number): number { return x * y * y; }
export function f_grad_x(q: number): number { return q + 100; }
export const gx = grad(f, { wrt: [0] });
export const userCall = f_grad_x(1);
`);
    expect(c.userCall).toBe(101);
    expect(c.gx(2, 3)).toEqual([9]);
  });

  it("a local named f_grad_x does not hide the specialized gradient a grad(f, { wrt: [0] }) call is rewritten to", async () => {
    const { module: c } = await compile(`import { grad } from "tsgrad";
/** @differentiable */
export function f(x: number, y: number): number { return x * y * y; }
export function use(f_grad_x: number): number { return grad(f, { wrt: [0] })(1, 2)[0] + f_grad_x; }
`);
    expect(c.use(10)).toBe(14);
  });

  it("a local named f_grad does not hide the gradient grad(f) is rewritten to", async () => {
    const { module: c } = await compile(`import { grad } from "tsgrad";
/** @differentiable */
export function f(x: number, y: number): number { return x * y * y; }
export function use(f_grad: number): number { return grad(f)(1, 2)[0] + f_grad; }
`);
    expect(c.use(10)).toBe(14);
  });
});
