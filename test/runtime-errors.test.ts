// Bad input at run time gets an error that says what is wrong, at the API boundary: the runtime's
// grad, gradInto, valueAndGrad, vjp and jacobian check the number of arguments, gradInto's
// buffers against the arguments, backward's dout against the value, and wrt indices, and name
// the function and the parameter (by the name its source gives it, or by index). Before, these
// gave [NaN, NaN], a truncated gradient or NaN. The functions are compiled by the transformer;
// the test file itself is not, so every call here goes through the runtime. Correct calls are
// checked against finite differences (numericGrad), so the checks change no result.

import { beforeAll, describe, expect, it } from "vitest";
import { compile } from "./harness.js";

const source = `
export { grad, gradInto, valueAndGrad, vjp, jacobian, numericGrad, matrix, registerGradient } from "tsgrad";
import { sum, type Matrix } from "tsgrad";

/** @differentiable */
export function mul(x: number, y: number): number {
  return x * y;
}

export interface Params {
  a: number;
  v: Float64Array;
}

/** Every kind of parameter: numbers inside, a Float64Array, a number[], a Matrix, an object, labels. */
/** @differentiable */
export function loss(W: Float64Array, b: number[], M: Matrix, p: Params, labels: Int32Array): number {
  let s = p.a * sum(M);
  for (let i = 0; i < W.length; i++) s += W[i] * W[i] * b[i % b.length] + Math.sin(p.v[i % p.v.length]);
  return s * s + labels[0];
}

/** A destructured parameter: its source gives no name, so messages name it by index. */
/** @differentiable */
export function affine({ w, c }: { w: Float64Array; c: number }, x: Float64Array): number {
  let s = c;
  for (let i = 0; i < w.length; i++) s += w[i] * x[i];
  return s * s;
}

/** More parameters than gradInto's named fast path reads (8): the general walk over the arguments. */
/** @differentiable */
export function nine(x0: number, x1: number, x2: number, x3: number, x4: number, x5: number, x6: number, x7: number, w: Float64Array): number {
  let s = x0 * x1 + x2 * x3 + x4 * x5 + x6 * x7;
  for (let i = 0; i < w.length; i++) s += w[i] * w[i] * x0;
  return s;
}

/** @differentiable */
export function softmaxOf(z: Float64Array): Float64Array {
  let max = z[0];
  for (let i = 1; i < z.length; i++) max = Math.max(max, z[i]);
  let total = 0;
  for (let i = 0; i < z.length; i++) total += Math.exp(z[i] - max);
  const p = new Float64Array(z.length);
  for (let i = 0; i < z.length; i++) p[i] = Math.exp(z[i] - max) / total;
  return p;
}

/** @differentiable */
export function stats(v: Float64Array, s: number): { mean: number; squares: Float64Array } {
  let total = 0;
  for (let i = 0; i < v.length; i++) total += v[i];
  const squares = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) squares[i] = s * v[i] * v[i];
  return { mean: total / v.length, squares };
}

export class Model {
  constructor(readonly scale: number) {}
  /** @differentiable */
  fit(x: number, y: number): number {
    return this.scale * (x - y) ** 2;
  }
}
`;

let m: Record<string, any>;

beforeAll(async () => {
  ({ module: m } = await compile(source));
}, 60_000);

const W = () => Float64Array.of(0.5, -1, 2);
const b = () => [0.3, -0.7];
const M = () => m.matrix(2, 3, Float64Array.of(0.1, 0.2, -0.3, 0.4, 0.5, -0.6));
const p = () => ({ a: 0.8, v: Float64Array.of(0.25, -1.5) });
const labels = () => Int32Array.of(2, 0, 1);
const lossArgs = () => [W(), b(), M(), p(), labels()];

/** The numbers of a gradient in order, for comparing with numericGrad's (same shape, same walk). */
function flat(g: unknown): number[] {
  if (typeof g === "number") return [g];
  if (g instanceof Int32Array || g === undefined) return []; // data: no gradient
  if (g instanceof Float64Array || Array.isArray(g)) return Array.from(g as ArrayLike<number>).flatMap(flat);
  if (g && typeof g === "object" && "data" in g && "rows" in g) return Array.from((g as { data: Float64Array }).data);
  return Object.keys(g as object).flatMap((k) => flat((g as any)[k]));
}

function expectNear(actual: unknown, expected: unknown, tol = 1e-6): void {
  const a = flat(actual);
  const e = flat(expected);
  expect(a.length).toBe(e.length);
  a.forEach((x, i) => expect(Math.abs(x - e[i]) / Math.max(1, Math.abs(e[i]))).toBeLessThan(tol));
}

describe("the number of arguments", () => {
  it("grad: too many and too few, with the parameters' names from f's source", () => {
    expect(() => m.grad(m.mul)(1, 2, 3)).toThrow(TypeError);
    expect(() => m.grad(m.mul)(1, 2, 3)).toThrow("tsgrad: grad(mul) expects 2 arguments (x, y), got 3");
    expect(() => m.grad(m.mul)(1)).toThrow("tsgrad: grad(mul) expects 2 arguments (x, y), got 1");
    expect(() => m.grad(m.mul)()).toThrow("tsgrad: grad(mul) expects 2 arguments (x, y), got 0");
    const [W0, b0, M0, p0] = lossArgs();
    expect(() => m.grad(m.loss)(W0, b0, M0, p0)).toThrow(
      "tsgrad: grad(loss) expects 5 arguments (W, b, M, p, labels), got 4",
    );
    expect(() => m.grad(m.mul, { wrt: [1] })(3)).toThrow("tsgrad: grad(mul) expects 2 arguments (x, y), got 1");
  });

  it("valueAndGrad, vjp, jacobian and gradInto (counted after grads)", () => {
    expect(() => m.valueAndGrad(m.mul)(1)).toThrow("tsgrad: valueAndGrad(mul) expects 2 arguments (x, y), got 1");
    expect(() => m.valueAndGrad(m.mul, { wrt: [0] })(1, 2, 3)).toThrow(
      "tsgrad: valueAndGrad(mul) expects 2 arguments (x, y), got 3",
    );
    expect(() => m.vjp(m.mul)(1, 2, 3)).toThrow("tsgrad: vjp(mul) expects 2 arguments (x, y), got 3");
    expect(() => m.vjp(m.stats)(Float64Array.of(1, 2))).toThrow("tsgrad: vjp(stats) expects 2 arguments (v, s), got 1");
    expect(() => m.jacobian(m.softmaxOf)()).toThrow("tsgrad: jacobian(softmaxOf) expects 1 argument (z), got 0");
    expect(() => m.jacobian(m.softmaxOf)(Float64Array.of(1), Float64Array.of(2))).toThrow(TypeError);
    expect(() => m.gradInto(m.mul)([0, 0], 1)).toThrow(
      "tsgrad: gradInto(mul) expects 2 arguments (x, y) after grads, got 1",
    );
    expect(() => m.gradInto(m.mul, { wrt: [1] })([0], 1, 2, 3)).toThrow(
      "tsgrad: gradInto(mul) expects 2 arguments (x, y) after grads, got 3",
    );
  });

  it("a destructured parameter shows as its pattern; a method by its own name", () => {
    const args = [{ w: Float64Array.of(1, 2), c: 0.5 }, Float64Array.of(3, 4)];
    expect(() => m.grad(m.affine)(...args, 1)).toThrow("tsgrad: grad(affine) expects 2 arguments ({ w, c }, x), got 3");
    const model = new m.Model(3);
    expect(() => m.grad(model.fit).call(model, 2)).toThrow("tsgrad: grad(fit) expects 2 arguments (x, y), got 1");
    // A method's gradient passes `this` on: d/dx 3 (x - y)² = 6 (x - y).
    expect(m.grad(model.fit).call(model, 2, 0.5)).toEqual([9, -9]);
  });

  it("functions registered by hand: f.length is the fewest arguments; params, if given, names them and bounds them", () => {
    // tsgrad does not compile defaults (TS94004), but registerGradient accepts any function.
    const withDefault = function soft(x: number, k = 2) {
      return k * x;
    };
    m.registerGradient(withDefault, {
      grad: (x: number, k = 2) => [k, x],
      forward: () => ({ value: 0, cache: 0 }),
      backward: () => [],
    });
    expect(m.grad(withDefault)(3)).toEqual([2, 3]); // k left to its default: fine
    expect(m.grad(withDefault)(3, 5)).toEqual([5, 3]);
    expect(() => m.grad(withDefault)()).toThrow("tsgrad: grad(soft) expects at least 1 argument, got 0");
    m.registerGradient(withDefault, {
      grad: (x: number, k = 2) => [k, x],
      forward: () => ({ value: 0, cache: 0 }),
      backward: () => [],
      params: ["x", "k"],
    });
    expect(m.grad(withDefault)(3)).toEqual([2, 3]);
    expect(() => m.grad(withDefault)(1, 2, 3)).toThrow("tsgrad: grad(soft) expects 1 to 2 arguments (x, k), got 3");
    const bound = m.mul.bind(null);
    m.registerGradient(bound, { grad: m.mul_grad, forward: m.mul_forward, backward: m.mul_backward });
    expect(() => m.grad(bound)(1)).toThrow("tsgrad: grad(bound mul) expects at least 2 arguments, got 1");
    expect(m.grad(bound)(3, -4, 99)).toEqual([-4, 3]); // no upper bound is known: extra arguments pass
  });

  it("correct calls give the gradients of finite differences", () => {
    const args = lossArgs();
    const g = m.grad(m.loss)(...args);
    expectNear(g, m.numericGrad(m.loss, args));
    expect(m.grad(m.mul)(3, -4)).toEqual([-4, 3]);
    const { value, grad } = m.valueAndGrad(m.loss, { wrt: [3, 0] })(...args);
    expect(value).toBeCloseTo(m.loss(...args), 14);
    expectNear(grad, [g[3], g[0]], 1e-15);
    const nine = [0.5, -1, 2, 0.25, 1.5, -0.5, 3, 0.1, Float64Array.of(1, -2)];
    expectNear(m.grad(m.nine)(...nine), m.numericGrad(m.nine, nine));
  });
});

describe("gradInto's buffers", () => {
  /** An earlier result of grad(loss), as a training loop keeps it. */
  const fresh = () => m.grad(m.loss)(...lossArgs());

  it("a Float64Array of the wrong length: RangeError naming grads' entry, the parameter and both lengths", () => {
    const grads = fresh();
    grads[0] = new Float64Array(2).fill(7);
    const call = () => m.gradInto(m.loss)(grads, ...lossArgs());
    expect(call).toThrow(RangeError);
    expect(call).toThrow(
      "tsgrad: gradInto(loss): grads[0] (W) is a Float64Array of length 2, but the argument W has length 3",
    );
    expect(Array.from(grads[0])).toEqual([7, 7]); // checked before anything is written
  });

  it("the wrong kind: TypeError (a number[] for a Float64Array, and the reverse)", () => {
    const grads = fresh();
    grads[0] = [0, 0, 0];
    expect(() => m.gradInto(m.loss)(grads, ...lossArgs())).toThrow(TypeError);
    expect(() => m.gradInto(m.loss)(grads, ...lossArgs())).toThrow(
      "tsgrad: gradInto(loss): grads[0] (W) is an array of length 3, but the argument W is a Float64Array of length 3",
    );
    const other = fresh();
    other[1] = new Float64Array(2);
    expect(() => m.gradInto(m.loss)(other, ...lossArgs())).toThrow(
      "tsgrad: gradInto(loss): grads[1] (b) is a Float64Array of length 2, but the argument b is an array of length 2",
    );
    const shortB = fresh();
    shortB[1] = [0];
    expect(() => m.gradInto(m.loss)(shortB, ...lossArgs())).toThrow(
      "tsgrad: gradInto(loss): grads[1] (b) is an array of length 1, but the argument b has length 2",
    );
  });

  it("a Matrix of another shape, or not a Matrix", () => {
    const grads = fresh();
    grads[2] = m.matrix(3, 2);
    expect(() => m.gradInto(m.loss)(grads, ...lossArgs())).toThrow(RangeError);
    expect(() => m.gradInto(m.loss)(grads, ...lossArgs())).toThrow(
      "tsgrad: gradInto(loss): grads[2] (M) is a 3×2 Matrix, but the argument M is 2×3",
    );
    grads[2] = new Float64Array(6);
    expect(() => m.gradInto(m.loss)(grads, ...lossArgs())).toThrow(TypeError);
    expect(() => m.gradInto(m.loss)(grads, ...lossArgs())).toThrow(
      "tsgrad: gradInto(loss): grads[2] (M) is a Float64Array of length 6, but the argument M is a 2×3 Matrix",
    );
  });

  it("an object parameter: its fields by path; labels, data, have no buffer", () => {
    const grads = fresh();
    grads[3].v = new Float64Array(1);
    expect(() => m.gradInto(m.loss)(grads, ...lossArgs())).toThrow(
      "tsgrad: gradInto(loss): grads[3].v (p.v) is a Float64Array of length 1, but the argument p.v has length 2",
    );
    grads[3] = 0;
    expect(() => m.gradInto(m.loss)(grads, ...lossArgs())).toThrow(
      "tsgrad: gradInto(loss): grads[3] (p) is a number, but the argument p is an object",
    );
    grads[3] = m.matrix(2, 1);
    expect(() => m.gradInto(m.loss)(grads, ...lossArgs())).toThrow(
      "tsgrad: gradInto(loss): grads[3] (p) is a 2×1 Matrix, but the argument p is an object",
    );
    // The labels are data: their slot is undefined in grad's result, and gradInto leaves it as it is.
    const other = fresh();
    expect(other[4]).toBeUndefined();
    expect(m.gradInto(m.loss)(other, ...lossArgs())).toBe(other);
    expect(other[4]).toBeUndefined();
  });

  it("a destructured parameter is named by index", () => {
    const args = [{ w: Float64Array.of(1, 2), c: 0.5 }, Float64Array.of(3, 4)];
    const grads = m.grad(m.affine)(...args);
    grads[0].w = new Float64Array(1);
    expect(() => m.gradInto(m.affine)(grads, ...args)).toThrow(
      "tsgrad: gradInto(affine): grads[0].w (args[0].w) is a Float64Array of length 1, but args[0].w has length 2",
    );
  });

  it("too few or too many entries in grads, or no array at all", () => {
    const [dW] = fresh();
    expect(() => m.gradInto(m.loss)([dW], ...lossArgs())).toThrow(RangeError);
    expect(() => m.gradInto(m.loss)([dW], ...lossArgs())).toThrow(
      "tsgrad: gradInto(loss): grads has 1 entry, but needs 5, one per parameter (W, b, M, p, labels), as grad(loss) returns them",
    );
    expect(() => m.gradInto(m.mul)([0, 0, 0], 1, 2)).toThrow(
      "tsgrad: gradInto(mul): grads has 3 entries, but needs 2, one per parameter (x, y), as grad(mul) returns them",
    );
    expect(() => m.gradInto(m.mul)(undefined, 1, 2)).toThrow(TypeError);
    expect(() => m.gradInto(m.mul)(undefined, 1, 2)).toThrow(
      "tsgrad: gradInto(mul): grads is undefined, but must be an array of 2 gradients, one per parameter (x, y), as grad(mul) returns them",
    );
  });

  it("with wrt: one buffer per wrt index, in its order", () => {
    const g = fresh();
    const into = m.gradInto(m.loss, { wrt: [3, 0] });
    expect(() => into([g[3], new Float64Array(2)], ...lossArgs())).toThrow(
      "tsgrad: gradInto(loss): grads[1] (W) is a Float64Array of length 2, but the argument W has length 3",
    );
    expect(() => into(g, ...lossArgs())).toThrow(
      "tsgrad: gradInto(loss): grads has 5 entries, but needs 2, one per wrt index (p, W), as grad(loss, { wrt }) returns them",
    );
    const grads = [{ a: 0, v: new Float64Array(2) }, new Float64Array(3)];
    const v = grads[1];
    expect(into(grads, ...lossArgs())).toBe(grads);
    expect(grads[1]).toBe(v);
    expectNear(grads, [g[3], g[0]], 1e-15);
  });

  it("more than 8 arguments: the general walk finds the buffer, and correct calls still work", () => {
    const args = [0.5, -1, 2, 0.25, 1.5, -0.5, 3, 0.1, Float64Array.of(1, -2)];
    const grads = m.grad(m.nine)(...args);
    grads[8] = new Float64Array(3);
    expect(() => m.gradInto(m.nine)(grads, ...args)).toThrow(
      "tsgrad: gradInto(nine): grads[8] (w) is a Float64Array of length 3, but the argument w has length 2",
    );
    grads[8] = new Float64Array(2);
    m.gradInto(m.nine)(grads, ...args);
    expectNear(grads, m.numericGrad(m.nine, args));
  });

  it("correct calls refill the same buffers with the gradient of finite differences", () => {
    const grads = fresh();
    const buffers = [grads[0], grads[1], grads[2], grads[3].v, grads[4]];
    grads[0].fill(123); // stale values are overwritten, not added to
    const args = lossArgs();
    args[0] = Float64Array.of(1.5, 0.25, -0.5);
    args[3].a = -0.3;
    expect(m.gradInto(m.loss)(grads, ...args)).toBe(grads);
    expect([grads[0], grads[1], grads[2], grads[3].v, grads[4]]).toEqual(buffers);
    buffers.forEach((buffer, i) => expect([grads[0], grads[1], grads[2], grads[3].v, grads[4]][i]).toBe(buffer));
    expectNear(grads, m.numericGrad(m.loss, args));
  });

  it("an argument with fields f does not declare is fine: the buffers are walked over the gradient's fields", () => {
    const args = lossArgs();
    const wider = { ...args[3], note: Float64Array.of(1, 2, 3, 4), label: "extra" };
    const grads = m.grad(m.loss)(...args);
    expect(m.gradInto(m.loss)(grads, args[0], args[1], args[2], wider, args[4])).toBe(grads);
    expectNear(grads, m.numericGrad(m.loss, args));
  });
});

describe("vjp's backward(dout)", () => {
  const z = () => Float64Array.of(0.5, -1, 2);

  it("a number where an array was returned, or an array of the wrong length", () => {
    const { backward } = m.vjp(m.softmaxOf)(z());
    expect(() => backward(1)).toThrow(TypeError);
    expect(() => backward(1)).toThrow(
      "tsgrad: vjp(softmaxOf).backward(dout): dout is a number, but the value is a Float64Array of length 3 (dout has the shape of the value softmaxOf returned)",
    );
    expect(() => backward([1, 0])).toThrow(RangeError);
    expect(() => backward([1, 0])).toThrow(
      "tsgrad: vjp(softmaxOf).backward(dout): dout is an array of length 2, but the value has length 3 (dout has the shape of the value softmaxOf returned)",
    );
    expect(() => backward(new Float64Array(4))).toThrow(
      "dout is a Float64Array of length 4, but the value has length 3",
    );
  });

  it("an array where a number was returned", () => {
    const { backward } = m.vjp(m.mul)(3, -4);
    expect(() => backward([1])).toThrow(
      "tsgrad: vjp(mul).backward(dout): dout is an array of length 1, but the value is a number (dout has the shape of the value mul returned)",
    );
    expect(() => backward(undefined)).toThrow(
      "tsgrad: vjp(mul).backward(dout): dout is undefined, but the value is a number",
    );
  });

  it("an object missing a field, or with a field of the wrong length", () => {
    const { backward } = m.vjp(m.stats)(z(), 1.5);
    expect(() => backward({ mean: 1 })).toThrow(TypeError);
    expect(() => backward({ mean: 1 })).toThrow(
      "tsgrad: vjp(stats).backward(dout): dout.squares is undefined, but value.squares is a Float64Array of length 3 (dout has the shape of the value stats returned)",
    );
    expect(() => backward({ mean: 1, squares: [1, 2] })).toThrow(
      "tsgrad: vjp(stats).backward(dout): dout.squares is an array of length 2, but value.squares has length 3",
    );
    expect(() => backward({ mean: [1], squares: [1, 2, 3] })).toThrow(
      "dout.mean is an array of length 1, but value.mean is a number",
    );
    expect(() => backward(1)).toThrow(
      "tsgrad: vjp(stats).backward(dout): dout is a number, but the value is an object",
    );
  });

  it("correct douts (any array of the value's length) give Jᵀ dout", () => {
    const zz = z();
    const { value: pv, backward } = m.vjp(m.softmaxOf)(zz);
    const v = [0.3, -1, 0.5];
    // Jᵀ v = p ⊙ (v - p·v) for softmax.
    const pdotv = v.reduce((s, x, i) => s + x * pv[i], 0);
    const expected = v.map((x, i) => pv[i] * (x - pdotv));
    const [dz] = backward(v);
    expectNear(dz, expected, 1e-14);
    expectNear(backward(Float64Array.from(v))[0], expected, 1e-14);
    // An object output: backward(dout) is the gradient of <dout, f(v, s)>, by finite differences.
    const seed = { mean: 0.4, squares: Float64Array.of(1, -0.5, 2) };
    const inner = (vv: Float64Array, s: number) => {
      const r = m.stats(vv, s);
      return seed.mean * r.mean + r.squares.reduce((a: number, q: number, i: number) => a + seed.squares[i] * q, 0);
    };
    expectNear(m.vjp(m.stats)(zz, 1.5).backward(seed), m.numericGrad(inner, [zz, 1.5]));
    expect(m.vjp(m.mul)(3, -4).backward(2)).toEqual([-8, 6]);
  });

  it("jacobian still builds the whole Jacobian: diag(p) - p pᵀ for softmax", () => {
    const [J] = m.jacobian(m.softmaxOf)(z());
    const pv = m.softmaxOf(z());
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) expect(J.data[i * 3 + j]).toBeCloseTo((i === j ? pv[i] : 0) - pv[i] * pv[j], 14);
  });
});

describe("wrt indices computed at run time", () => {
  // Parsed, so the types do not catch them: what a JavaScript caller or a config file passes.
  const indices = (text: string) => JSON.parse(text);

  it("out of range or not an integer: RangeError naming the function and its parameters", () => {
    expect(() => m.grad(m.mul, { wrt: indices("[2]") })).toThrow(RangeError);
    expect(() => m.grad(m.mul, { wrt: indices("[2]") })).toThrow(
      "tsgrad: grad(mul): wrt index 2 is out of range for a function of 2 parameters (x, y): wrt takes integers 0 to 1",
    );
    expect(() => m.grad(m.mul, { wrt: indices("[0, -1]") })).toThrow("tsgrad: grad(mul): wrt index -1 is out of range");
    expect(() => m.valueAndGrad(m.mul, { wrt: indices("[0.5]") })).toThrow(
      "tsgrad: valueAndGrad(mul): wrt index 0.5 is out of range for a function of 2 parameters (x, y): wrt takes integers 0 to 1",
    );
    expect(() => m.gradInto(m.loss, { wrt: indices("[5]") })).toThrow(
      "tsgrad: gradInto(loss): wrt index 5 is out of range for a function of 5 parameters (W, b, M, p, labels): wrt takes integers 0 to 4",
    );
    expect(() => m.grad(m.mul, { wrt: indices('["1"]') })).toThrow('tsgrad: grad(mul): wrt index "1" is out of range');
  });

  it("not an array: TypeError", () => {
    expect(() => m.grad(m.mul, { wrt: indices("1") })).toThrow(TypeError);
    expect(() => m.grad(m.mul, { wrt: indices("1") })).toThrow(
      "tsgrad: grad(mul): wrt must be an array of parameter indices, such as { wrt: [0] }; got a number",
    );
  });

  it("in range: the picked gradients, in wrt's order", () => {
    const args = lossArgs();
    const all = m.numericGrad(m.loss, args);
    expectNear(m.grad(m.loss, { wrt: indices("[3, 0]") })(...args), [all[3], all[0]]);
  });
});
