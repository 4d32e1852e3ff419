// The parameter types people write (issue 13): array types beyond number[] and Float64Array
// (ArrayLike<number>, Float32Array, tuples, unions, aliases, a type parameter's constraint), data
// parameters (string-literal modes, booleans, enums, strings: read and branched on, their gradient
// `undefined` in its place), and optional and defaulted parameters. Each gradient is checked against
// central differences of the plain function at two step sizes (Richardson-extrapolated, relative
// tolerance 1e-7), against vjp's backward pass, and in loops and branches; the generated code is
// type-checked under --strict as `tsgrad gen` writes it.

import ts from "typescript";
import { beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { type Grad, type Grads, type JacobianBlock, grad, registerGradient } from "../runtime/index.js";
import { compile, compileToJs, genStrictErrors } from "./harness.js";

/** The runtime compiled modules register with (the package, as `import ... from "tsgrad"` finds it). */
let rt: any;
beforeAll(async () => {
  rt = await import("tsgrad" as string);
});

// ---- the oracle ----------------------------------------------------------------------------

/** One number inside the arguments: where it is, how to read and move it. */
interface Slot {
  path: string;
  get(): number;
  set(v: number): void;
}

/**
 * A deep copy whose numbers can be moved: arrays and typed arrays become Float64Arrays or plain
 * arrays (a Float32Array is moved in float64, the arithmetic the gradient is exact in).
 */
function copy(v: any): any {
  if (v instanceof Float32Array) return Float64Array.from(v);
  if (v instanceof Float64Array || Array.isArray(v)) return v.slice();
  if (v && typeof v === "object" && !(v instanceof Int32Array))
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copy(x)]));
  return v;
}

/** Every number of `v` that is not data (strings, booleans, labels and the parameters in `data`). */
function slots(v: any[], data: readonly number[] = []): Slot[] {
  const out: Slot[] = [];
  const visit = (holder: any, key: string | number, path: string): void => {
    const x = holder[key];
    if (typeof x === "number") out.push({ path, get: () => holder[key], set: (y) => void (holder[key] = y) });
    else if (x instanceof Float64Array || Array.isArray(x))
      x.forEach((_: unknown, i: number) => visit(x, i, `${path}[${i}]`));
    else if (x && typeof x === "object" && !(x instanceof Int32Array))
      Object.keys(x).forEach((k) => visit(x, k, `${path}.${k}`));
  };
  v.forEach((_, i) => !data.includes(i) && visit(v, i, `[${i}]`));
  return out;
}

/**
 * d f / d (each number), by central differences extrapolated from steps h and h/2 (error O(h⁴)),
 * at h = 1e-3 and again at h = 1e-4: both must agree (no kink or branch inside the stencil).
 */
function numeric(f: (...a: any[]) => number, args: any[], data: readonly number[] = []): Map<string, number> {
  const moved = args.map(copy);
  const at = (s: Slot, h: number) => {
    const x = s.get();
    s.set(x + h);
    const up = f(...moved);
    s.set(x - h);
    const down = f(...moved);
    s.set(x);
    return (up - down) / (2 * h);
  };
  const extrapolated = (s: Slot, h: number) => (4 * at(s, h / 2) - at(s, h)) / 3;
  return new Map(
    slots(moved, data).map((s) => {
      const coarse = extrapolated(s, 1e-3);
      const fine = extrapolated(s, 1e-4);
      const spread = Math.abs(coarse - fine) / Math.max(1, Math.abs(coarse) + Math.abs(fine));
      if (!(spread <= 1e-7)) throw new Error(`${s.path}: differences at two steps disagree (${coarse} vs ${fine})`);
      return [s.path, coarse];
    }),
  );
}

/** The numbers of a gradient by path, as `slots` names the arguments' (data: undefined, no numbers). */
function analytic(g: any[]): Map<string, number> {
  return new Map(slots(g).map((s) => [s.path, s.get()]));
}

/** Relative error under 1e-7 of max(1, |a| + |n|), path by path; the same paths on both sides. */
function expectNear(a: Map<string, number>, n: Map<string, number>, tol = 1e-7): void {
  expect([...a.keys()].sort()).toEqual([...n.keys()].sort());
  const bad = [...n].filter(([p, x]) => {
    const y = a.get(p)!;
    return !(Math.abs(x - y) <= tol * Math.max(1, Math.abs(x) + Math.abs(y)));
  });
  expect(bad.map(([p, x]) => `${p}: analytic ${a.get(p)} numeric ${x}`)).toEqual([]);
}

/**
 * grad(f)(...args) against central differences, and vjp's backward (run twice) and valueAndGrad
 * against grad. `data` lists the parameters that are data by type but numbers at run time (enums).
 * Returns the gradient.
 */
function check(f: (...a: any[]) => number, args: any[], data: readonly number[] = []): any[] {
  const g = rt.grad(f)(...args);
  // Arguments left out (optional, defaulted) have gradients but nothing to move: compared apart.
  const passed = new Map([...analytic(g)].filter(([path]) => Number(path.slice(1, path.indexOf("]"))) < args.length));
  expectNear(passed, numeric(f, args, data));
  const { value, backward } = rt.vjp(f)(...args);
  expect(value).toBe(f(...args));
  for (let run = 0; run < 2; run++) expectNear(analytic(backward(1)), analytic(g), 1e-12);
  const both = rt.valueAndGrad(f)(...args);
  expect(both.value).toBeCloseTo(f(...args), 12);
  expectNear(analytic(both.grad), analytic(g), 1e-12);
  return g;
}

// ---- array parameter types -----------------------------------------------------------------

const arraysSource = `
import { grad } from "tsgrad";

export type Vec3 = [number, number, number];
export type Series = number[] | Float64Array;

/** Root mean square over an ArrayLike, with a branch per element. */
/** @differentiable */
export function rms(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) {
    if (v[i] > 0) s += v[i] * v[i];
    else s += 2 * v[i] * v[i];
  }
  return Math.sqrt(s / v.length);
}

/** A Float32Array, iterated with for...of, with a continue. */
/** @differentiable */
export function energy(x: Float32Array, k: number): number {
  let e = 0;
  for (const v of x) {
    if (v < -5) continue;
    e += k * Math.exp(0.3 * v) * v;
  }
  return e;
}

/** An alias of a union of array kinds, and the union written out. */
/** @differentiable */
export function blend(a: Series, b: number[] | Float64Array, t: number): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += t > 0.5 ? (1 - t) * a[i] * b[i] : t * Math.sin(a[i] + b[i]);
  return s;
}

/** Tuples, a mutable alias and a readonly one, read at constant indices. */
/** @differentiable */
export function crossNorm(a: Vec3, b: readonly [number, number, number]): number {
  const cx = a[1] * b[2] - a[2] * b[1];
  const cy = a[2] * b[0] - a[0] * b[2];
  const cz = a[0] * b[1] - a[1] * b[0];
  return Math.sqrt(cx * cx + cy * cy + cz * cz);
}

/** A readonly pair, in a while loop with a break. */
/** @differentiable */
export function pairWalk(p: readonly [number, number], steps: number): number {
  let x = p[0];
  let n = 0;
  while (n < steps) {
    x = x * p[1] + 0.1;
    if (x > 50) break;
    n++;
  }
  return x;
}

/** for...of with a break, over a union of array kinds. */
/** @differentiable */
export function untilNegative(a: number[] | Float32Array): number {
  let s = 0;
  for (const v of a) {
    if (v < 0) break;
    s += Math.sqrt(v + 1);
  }
  return s;
}

/** A generic function: its type parameter is read through its constraint. */
/** @differentiable */
export function weighted<T extends ArrayLike<number>>(xs: T, ws: T): number {
  let s = 0;
  let w = 0;
  for (let i = 0; i < xs.length; i++) {
    s += ws[i] * ws[i] * xs[i];
    w += ws[i] * ws[i];
  }
  return s / w;
}

/** The new kinds as fields of an object parameter, with a data field. */
/** @differentiable */
export function fields(p: { w: Float32Array; v: ArrayLike<number>; q: [number, number]; mode: "sum" | "max" }, x: number): number {
  let s = p.q[0] * x + p.q[1];
  for (let i = 0; i < p.w.length; i++) {
    const t = p.w[i] * p.v[i] * x;
    s = p.mode === "sum" ? s + t : Math.max(s, t);
  }
  return s;
}

/** A caller's type parameter, passed to grad(weighted) (f_grad in generated code). */
export function weightedGradient<T extends ArrayLike<number>>(xs: T, ws: T): number[] | Float64Array {
  const [dxs] = grad(weighted)(xs, ws);
  return dxs;
}
`;

describe("array parameter types: ArrayLike, Float32Array, tuples, unions, aliases, type parameters", () => {
  let m: Record<string, any>;
  let js: string;
  beforeAll(async () => ({ module: m, js } = await compile(arraysSource)));

  it("ArrayLike<number>: the gradient has the kind of the array passed", () => {
    for (const v of [[0.5, -1.5, 2, 0.25], Float64Array.of(0.5, -1.5, 2, 0.25), Float32Array.of(0.5, -1.5, 2, 0.25)]) {
      const [dv] = check(m.rms, [v]);
      expect(dv).toBeInstanceOf(Array.isArray(v) ? Array : Float64Array);
      expect(dv).toHaveLength(4);
    }
    // rms = sqrt(s / n): d/dv_i = c v_i / (n rms) with c = 1 for v_i > 0, 2 otherwise
    const v = [3, -1];
    const r = Math.sqrt((9 + 2) / 2);
    expect(rt.grad(m.rms)(v)[0]).toEqual([3 / (2 * r), (2 * -1) / (2 * r)].map((x) => expect.closeTo(x, 14)));
  });

  it("Float32Array: a Float64Array gradient, exact in float64 at the float32 values", () => {
    const x = Float32Array.of(0.1, -6, 1.7, 0.3);
    const [dx, dk] = check(m.energy, [x, 1.25]);
    expect(dx).toBeInstanceOf(Float64Array);
    // d/dv (k e^{0.3 v} v) = k e^{0.3 v} (1 + 0.3 v), at the value the Float32Array holds; 0 for the skipped one
    const expected = Array.from(x, (v) => (v < -5 ? 0 : 1.25 * Math.exp(0.3 * v) * (1 + 0.3 * v)));
    expect(Array.from(dx)).toEqual(expected.map((e) => expect.closeTo(e, 12)));
    expect(dk).toBeCloseTo(m.energy(x, 1.25) / 1.25, 12);
    expect(x).toEqual(Float32Array.of(0.1, -6, 1.7, 0.3)); // untouched
  });

  it("unions of array kinds and their aliases: each gradient follows its argument", () => {
    for (const t of [0.3, 0.8]) {
      const [da, db] = check(m.blend, [[0.5, 1, -2], Float64Array.of(2, -1, 0.5), t]);
      expect(Array.isArray(da)).toBe(true);
      expect(db).toBeInstanceOf(Float64Array);
      const [da2, db2] = check(m.blend, [Float32Array.of(0.5, 1, -2), [2, -1, 0.5], t]);
      expect(da2).toBeInstanceOf(Float64Array);
      expect(Array.isArray(db2)).toBe(true);
    }
  });

  it("tuples, mutable and readonly: a number[] gradient of their length", () => {
    const [da, db] = check(m.crossNorm, [
      [1, 2, 3],
      [-0.5, 4, 1],
    ]);
    expect([Array.isArray(da), Array.isArray(db), da.length, db.length]).toEqual([true, true, 3, 3]);
    for (const steps of [0.5, 3.5, 40.5]) {
      const [dp, dsteps] = check(m.pairWalk, [[0.7, 1.3], steps]);
      expect(Array.isArray(dp)).toBe(true);
      expect(dsteps).toBe(0);
    }
  });

  it("for...of with a break over a union", () => {
    for (const a of [[0.5, 3, -1, 2], Float32Array.of(0.5, 3, -1, 2), [1, 2]]) {
      const [da] = check(m.untilNegative, [a]);
      expect(da).toBeInstanceOf(Array.isArray(a) ? Array : Float64Array);
      expect(Array.from(da).slice(2)).toEqual(a.length > 2 ? [0, 0] : []);
    }
  });

  it("a type parameter constrained to ArrayLike<number>, called from another generic function", () => {
    const xs = Float64Array.of(1, -2, 0.5);
    const ws = Float64Array.of(0.3, 0.9, -1.1);
    const [dxs, dws] = check(m.weighted, [xs, ws]);
    expect([dxs, dws].map((d) => d instanceof Float64Array)).toEqual([true, true]);
    check(m.weighted, [
      [1, -2, 0.5],
      [0.3, 0.9, -1.1],
    ]);
    expect(Array.from(m.weightedGradient(xs, ws))).toEqual(Array.from(dxs));
    // In the same module grad(weighted) is weighted_grad itself.
    expect(js).toMatch(/const \[dxs\] = weighted_grad\(xs, ws\)/);
  });

  it("the new kinds as fields of an object parameter, beside a data field", () => {
    for (const mode of ["sum", "max"] as const) {
      const p = { w: Float32Array.of(0.5, -1, 2), v: [1.5, 0.25, -0.75], q: [0.3, -0.2] as [number, number], mode };
      const [dp, dx] = check(m.fields, [p, 1.3]);
      expect(dp.w).toBeInstanceOf(Float64Array);
      expect(Array.isArray(dp.v)).toBe(true);
      expect(Array.isArray(dp.q)).toBe(true);
      expect("mode" in dp && dp.mode === undefined).toBe(true);
      expect(typeof dx).toBe("number");
    }
  });

  it("gradInto refills the buffers of these kinds in place, and checks them", () => {
    const x = Float32Array.of(0.1, -0.2, 1.7);
    const grads = rt.grad(m.energy)(x, 1.25);
    const [dx] = grads;
    dx.fill(9);
    expect(rt.gradInto(m.energy)(grads, x, 2)).toBe(grads);
    expect(grads[0]).toBe(dx);
    expect(Array.from(grads[0])).toEqual(Array.from(rt.grad(m.energy)(x, 2)[0]));
    // A Float32Array's buffer is a Float64Array: a Float32Array one is the wrong kind.
    expect(() => rt.gradInto(m.energy)([new Float32Array(3), 0], x, 2)).toThrow(
      "tsgrad: gradInto(energy): grads[0] (x) is a Float32Array of length 3, but the argument x is a Float32Array of length 3",
    );
    const g = rt.grad(m.blend)([1, 2], Float64Array.of(3, 4), 0.3);
    const [ga, gb] = g;
    rt.gradInto(m.blend)(g, [1, 2], Float64Array.of(3, 4), 0.9);
    expect([g[0], g[1]]).toEqual([ga, gb]);
    expect(g[0]).toBe(ga);
  });
});

// ---- data parameters -----------------------------------------------------------------------

const dataSource = `
import { grad, gradInto, valueAndGrad, vjp, jacobian } from "tsgrad";

export enum Reduction { Sum, Mean }
export enum Norm { L1 = "l1", L2 = "l2" }

/** The README's example: a mode, a numeric enum and a flag. */
/** @differentiable */
export function residual(w: Float64Array, x: Float64Array, kind: "l1" | "l2", reduce: Reduction, squash: boolean): number {
  let s = 0;
  for (let i = 0; i < w.length; i++) {
    const r = w[i] - x[i];
    s += kind === "l2" ? r * r : Math.abs(r);
  }
  if (reduce === Reduction.Mean) s = s / w.length;
  return squash ? Math.tanh(s) : s;
}

/** A string enum, a union of number literals and a string, first among the parameters. */
/** @differentiable */
export function dist(norm: Norm, p: 1 | 2, label: string, x: number, y: number): number {
  let d: number;
  if (norm === Norm.L2) d = Math.sqrt(x * x + y * y);
  else if (norm !== Norm.L1) d = 0;
  else d = Math.abs(x) + Math.abs(y);
  if (label !== "raw") d = d * p + (p > 1 ? x * y : 0);
  return d;
}

/** A helper taking a mode, called with a literal and with the caller's own mode. */
/** @differentiable */
export function scaled(x: number, kind: "l1" | "l2"): number {
  if (kind === "l2") return x * x;
  return Math.abs(x);
}
/** @differentiable */
export function callsHelper(x: number, kind: "l1" | "l2"): number {
  return scaled(x, kind) + scaled(x * 2, "l2") * scaled(x, "l1");
}

/** A number passed into a numeric enum parameter: the callee branches on it, no gradient flows back through it. */
/** @differentiable */
export function reduceBy(x: number, how: Reduction): number {
  return how === Reduction.Sum ? x * x : 2 * x;
}
/** @differentiable */
export function enumFromNumber(x: number, y: number): number {
  return reduceBy(x * y, y) + y;
}

/** Data deciding every iteration of nested loops. */
/** @differentiable */
export function loopy(xs: number[], flag: boolean, times: 2 | 3): number {
  let s = 0;
  for (let k = 0; k < times; k++) {
    for (const v of xs) {
      if (flag && k > 0) s += v * v * k;
      else s += Math.sin(v + s * 0.1);
    }
  }
  return s;
}

/** Data fields of an object parameter. */
/** @differentiable */
export function options(o: { kind: "l1" | "l2"; flat: boolean; scale: number }, x: number): number {
  const base = o.kind === "l2" ? x * x : Math.abs(x);
  return o.flat ? base : o.scale * base;
}

/** A function returning an array, with a mode: its Jacobian has no block for the mode. */
/** @differentiable */
export function signs(v: Float64Array, kind: "l1" | "l2"): Float64Array {
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = kind === "l2" ? v[i] * v[i] : Math.abs(v[i]);
  return out;
}

/** grad(f, { wrt }) written in the module, compiled to gradients of those parameters alone. */
export const residualW = grad(residual, { wrt: [0, 2] });
export const distXY = grad(dist, { wrt: [4, 3] });

/** The types users get, as the runtime infers them (no casts): checked by this compile, strict. */
export function typed(w: Float64Array, x: Float64Array): number {
  const [dw, dx, dkind, dreduce, dsquash] = grad(residual)(w, x, "l2", Reduction.Mean, true);
  const none: undefined[] = [dkind, dreduce, dsquash];
  const [dnorm, dp, dlabel, ddx, ddy] = grad(dist)(Norm.L2, 2, "raw", 1, 2);
  const also: undefined[] = [dnorm, dp, dlabel];
  const picked: [Float64Array, undefined] = residualW(w, x, "l1", Reduction.Sum, false);
  const into: [Float64Array, Float64Array, undefined, undefined, undefined] = gradInto(residual)(
    [dw, dx, undefined, undefined, undefined], w, x, "l2", Reduction.Sum, false);
  const back: undefined = vjp(scaled)(1, "l2").backward(1)[1];
  const both: undefined = valueAndGrad(callsHelper)(1, "l1").grad[1];
  const J: undefined = jacobian(signs)(w, "l2")[1];
  return dw.length + dx.length + none.length + also.length + ddx + ddy + picked[0].length + into.length + (back ?? 0) + (both ?? 0) + (J ?? 0);
}
`;

describe("data parameters: modes, flags, enums and strings have no gradient, in their place", () => {
  let m: Record<string, any>;
  let js: string;
  beforeAll(async () => ({ module: m, js } = await compile(dataSource)));

  const w = () => Float64Array.of(0.5, -0.25, 1.5);
  const x = () => Float64Array.of(0.2, 0.4, -1);

  it("each branch of a mode, an enum and a flag: the gradient of the branch that ran; data slots undefined", () => {
    for (const kind of ["l1", "l2"])
      for (const reduce of [m.Reduction.Sum, m.Reduction.Mean])
        for (const squash of [true, false]) {
          const g = check(m.residual, [w(), x(), kind, reduce, squash], [3]);
          expect(g).toHaveLength(5);
          expect(g.slice(2)).toEqual([undefined, undefined, undefined]);
          expect(g[0]).toBeInstanceOf(Float64Array);
        }
    // l2, Mean, no squash: d/dw_i = 2 (w_i - x_i) / n
    const [dw] = rt.grad(m.residual)(w(), x(), "l2", m.Reduction.Mean, false);
    expect(Array.from(dw)).toEqual([0.3, -0.65, 2.5].map((r) => expect.closeTo((2 * r) / 3, 14)));
  });

  it("data first, a string enum, number literals and a string: the numbers keep their places", () => {
    for (const norm of [m.Norm.L1, m.Norm.L2])
      for (const p of [1, 2])
        for (const label of ["raw", "scaled"]) {
          const g = check(m.dist, [norm, p, label, 0.6, -0.8], [1]);
          expect(g.slice(0, 3)).toEqual([undefined, undefined, undefined]);
          expect(typeof g[3]).toBe("number");
        }
    expect(rt.grad(m.dist)(m.Norm.L2, 2, "raw", 0.6, -0.8)).toEqual([undefined, undefined, undefined, 0.6, -0.8]);
  });

  it("wrt counts every parameter, data included; a data index gives undefined", () => {
    const args = [w(), x(), "l2", m.Reduction.Mean, true];
    const all = rt.grad(m.residual)(...args);
    expect(rt.grad(m.residual, { wrt: [0] })(...args)).toEqual([all[0]]);
    expect(rt.grad(m.residual, { wrt: [4, 1] })(...args)).toEqual([undefined, all[1]]);
    // Compiled in the module to gradients of those parameters alone.
    expect(m.residualW(...args)).toEqual([all[0], undefined]);
    expect(js).toMatch(/export const residualW = residual_grad_w_kind;/);
    expect(m.distXY(m.Norm.L1, 1, "s", 0.6, -0.8)).toEqual([-1, 1]);
    expect(rt.valueAndGrad(m.residual, { wrt: [2, 0] })(...args).grad).toEqual([undefined, all[0]]);
  });

  it("gradInto leaves data slots as they are and refills the rest", () => {
    const args = [w(), x(), "l1", m.Reduction.Sum, false];
    const grads = rt.grad(m.residual)(...args);
    const [dw, dx] = grads;
    dw.fill(5);
    expect(rt.gradInto(m.residual)(grads, w(), x(), "l2", m.Reduction.Mean, true)).toBe(grads);
    expect([grads[0], grads[1]]).toEqual([dw, dx]);
    expect(grads[0]).toBe(dw);
    expect(grads).toEqual(rt.grad(m.residual)(w(), x(), "l2", m.Reduction.Mean, true));
    expect(grads.slice(2)).toEqual([undefined, undefined, undefined]);
    // The registration lists the data parameters for numericGrad and checkGradient.
    expect(js).toMatch(/params: \["w", "x", "kind", "reduce", "squash"\],\s*data: \[2, 3, 4\]/);
  });

  it("numericGrad and checkGradient leave data unmoved, a numeric enum too", () => {
    const args = [w(), x(), "l2", m.Reduction.Mean, true];
    const n = rt.numericGrad(m.residual, args);
    expect(n.slice(2)).toEqual([undefined, undefined, undefined]);
    const r = rt.checkGradient(m.residual, args, rt.grad(m.residual)(...args));
    expect(r.ok).toBe(true);
    expect(r.entries.map((e: { index: number }) => e.index)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(
      rt.checkGradient(m.dist, [m.Norm.L2, 2, "s", 0.6, -0.8], rt.grad(m.dist)(m.Norm.L2, 2, "s", 0.6, -0.8)).ok,
    ).toBe(true);
  });

  it("a mode passed on to a @differentiable helper, as a literal and as the caller's parameter", () => {
    for (const kind of ["l1", "l2"])
      for (const v of [0.7, -1.3]) {
        const [dx, dkind] = check(m.callsHelper, [v, kind]);
        expect(dkind).toBeUndefined();
        const sign = Math.sign(v);
        // kind l2: x² + 4x²·|x| → 2x + 12 x |x|;  l1: |x| + 4x²·|x| → sign + 12 x |x|
        expect(dx).toBeCloseTo((kind === "l2" ? 2 * v : sign) + 12 * v * Math.abs(v), 12);
      }
    expect(js).toMatch(/scaled_grad\(x, kind\)/);
    expect(js).toMatch(/scaled_grad\(x, "l1"\)/);
  });

  it("a number passed into a helper's enum parameter passes no gradient back through it", () => {
    for (const [x, y] of [
      [0.4, 0.7],
      [-1.2, 2.5],
    ]) {
      const [dx, dy] = check(m.enumFromNumber, [x, y]);
      expect([dx, dy]).toEqual([expect.closeTo(2 * y, 14), expect.closeTo(2 * x + 1, 14)]);
    }
    expect(js).toMatch(/reduceBy_grad\(xy, data_y\)/);
  });

  it("data deciding loops and branches inside them", () => {
    for (const flag of [true, false])
      for (const times of [2, 3]) {
        const [dxs, dflag, dtimes] = check(m.loopy, [[0.3, -0.7, 1.1], flag, times], [2]);
        expect(Array.isArray(dxs)).toBe(true);
        expect([dflag, dtimes]).toEqual([undefined, undefined]);
      }
  });

  it("data fields of an object parameter: undefined in the object's gradient", () => {
    for (const kind of ["l1", "l2"])
      for (const flat of [true, false]) {
        const [d] = check(m.options, [{ kind, flat, scale: 1.5 }, -0.9]);
        expect(Object.keys(d).sort()).toEqual(["flat", "kind", "scale"]);
        expect([d.kind, d.flat]).toEqual([undefined, undefined]);
      }
  });

  it("jacobian and vjp of a function returning an array: no block and no gradient for the mode", () => {
    const v = Float64Array.of(0.5, -2, 1);
    const [J, Jkind] = rt.jacobian(m.signs)(v, "l2");
    expect(Jkind).toBeUndefined();
    expect(Array.from(J.data)).toEqual([1, 0, 0, 0, -4, 0, 0, 0, 2]);
    expect(rt.vjp(m.signs)(v, "l1").backward([1, 1, 1])).toEqual([Float64Array.of(1, -1, 1), undefined]);
  });

  it("the typed API agrees with what is returned", () => {
    // The source's `typed` function type-checked under strict with the runtime's types (compile
    // throws on a type error); here it runs.
    expect(m.typed(w(), x())).toBeTypeOf("number");
  });
});

// ---- optional and default parameters -------------------------------------------------------

const defaultsSource = `
const OFFSET = 0.5;

/** The README's example. */
/** @differentiable */
export function huber(r: number, delta = 1, scale?: number): number {
  const s = scale === undefined ? 1 : scale;
  const a = Math.abs(r);
  return s * (a <= delta ? 0.5 * r * r : delta * (a - 0.5 * delta));
}

/** A default reading a module constant; one computed from another parameter, in the body. */
/** @differentiable */
export function poly(x: number, a: number = OFFSET, b?: number): number {
  const bValue = b === undefined ? a * 3 : b;
  return a * x * x + bValue * x;
}

/** An optional flag and an optional mode. */
/** @differentiable */
export function flagged(x: number, flip?: boolean, kind?: "l1" | "l2"): number {
  const v = kind === "l1" ? Math.abs(x) : x * x;
  return flip ? -v : v;
}

/** Objects with a default, named and destructured. */
const BASE = { w: 0.5, b: -1 };
/** @differentiable */
export function affineDefault(x: number, p: { w: number; b: number } = BASE): number {
  return Math.tanh(p.w * x + p.b);
}
/** @differentiable */
export function affineDestructured(x: number, { w, b }: { w: number; b: number } = BASE): number {
  return Math.tanh(w * x * x + b);
}

/** A defaulted array, and a defaulted loop bound. */
/** @differentiable */
export function withArray(x: number, w: Float64Array = Float64Array.of(1, 2), n = 3): number {
  let y = x;
  for (let i = 0; i < n; i++) y = Math.sin(y) * w[i % w.length] + x;
  return y;
}
`;

describe("optional and default parameters", () => {
  let m: Record<string, any>;
  let js: string;
  beforeAll(async () => ({ module: m, js } = await compile(defaultsSource)));

  it("a default is differentiated at its value; an optional number left out has gradient 0", () => {
    expect(rt.grad(m.huber)(2)).toEqual([1, 1, 0]);
    expect(rt.grad(m.huber)(2, 1.5, 3)).toEqual([4.5, 1.5, 1.875].map((v) => expect.closeTo(v, 14)));
    for (const args of [[2], [0.5], [2, 1.5], [0.5, 1.5], [2, 1.5, 3], [-0.3, 0.25, 0.5]]) {
      const g = check(m.huber, args);
      expect(g).toHaveLength(3);
      // Left out, the default's gradient is that of the default's value passed.
      const full = [args[0], args[1] ?? 1, args[2] ?? 1];
      const explicit = rt.grad(m.huber)(...full);
      expect(g[1]).toBe(explicit[1]);
      if (args.length < 3) expect(g[2]).toBe(0);
    }
  });

  it("the generated functions keep the defaults and the `?`", () => {
    expect(js).toMatch(/export function huber_grad\(r, delta = 1, scale\)/);
    expect(js).toMatch(/export function poly_grad\(x, a = OFFSET, b\)/);
    expect(m.huber_grad(2)).toEqual([1, 1, 0]);
    expect(m.huber_forward(2).value).toBe(1.5);
    // b left out is 3a: the gradient on a flows through it too.
    expect(m.poly_grad(2)).toEqual([2 * 0.5 * 2 + 1.5, 4 + 3 * 2, 0]);
    expect(m.poly_grad(2, 0.5, 1.5)).toEqual([2 * 0.5 * 2 + 1.5, 4, 2]);
  });

  it("defaults reading a constant and an earlier parameter; in loops; a defaulted array", () => {
    for (const args of [[0.7], [0.7, 2], [0.7, 2, -1]]) check(m.poly, args);
    for (const args of [[0.4], [0.4, Float64Array.of(0.5, -1, 2)], [0.4, Float64Array.of(0.5, -1, 2), 4.5]]) {
      const g = check(m.withArray, args);
      expect(g[1]).toBeInstanceOf(Float64Array);
      expect(g[1]).toHaveLength((args[1] as Float64Array | undefined)?.length ?? 2);
      expect(g[2]).toBe(0); // a loop bound
    }
  });

  it("an object with a default, named or destructured: its gradient, at the default's fields when left out", () => {
    for (const f of [m.affineDefault, m.affineDestructured]) {
      for (const args of [[0.3], [0.3, { w: -2, b: 0.25 }]]) {
        const [dx, dp] = check(f, args);
        expect(typeof dx).toBe("number");
        expect(Object.keys(dp).sort()).toEqual(["b", "w"]);
      }
      const [, left] = rt.grad(f)(0.3);
      const [, passed] = rt.grad(f)(0.3, { w: 0.5, b: -1 });
      expect(left).toEqual(passed);
    }
  });

  it("optional data: undefined when passed or not", () => {
    for (const args of [[0.8], [0.8, true], [-0.8, false, "l1"], [-0.8, true, "l2"]]) {
      const g = check(m.flagged, args);
      expect(g).toHaveLength(3);
      expect(g.slice(1)).toEqual([undefined, undefined]);
    }
  });

  it("every entry point takes calls that leave them out, and counts the rest", () => {
    expect(() => rt.grad(m.huber)()).toThrow("tsgrad: grad(huber) expects 1 to 3 arguments (r, delta?, scale?), got 0");
    expect(() => rt.grad(m.huber)(1, 2, 3, 4)).toThrow(
      "tsgrad: grad(huber) expects 1 to 3 arguments (r, delta?, scale?), got 4",
    );
    expect(() => rt.vjp(m.poly)()).toThrow("tsgrad: vjp(poly) expects 1 to 3 arguments (x, a?, b?), got 0");
    expect(rt.vjp(m.huber)(2).backward(2)).toEqual([2, 2, 0]);
    const grads = rt.grad(m.huber)(2);
    expect(rt.gradInto(m.huber)(grads, 2, 1.5, 3)).toBe(grads);
    expect(grads).toEqual(rt.grad(m.huber)(2, 1.5, 3));
    expect(rt.gradInto(m.huber)(grads, 2)).toEqual([1, 1, 0]);
    expect(rt.checkGradient(m.huber, [2], rt.grad(m.huber)(2)).ok).toBe(true);
    expect(rt.checkGradient(m.huber, [2, 1.5, 3], rt.grad(m.huber)(2, 1.5, 3)).ok).toBe(true);
    expect(rt.numericGrad(m.huber, [2])).toEqual([expect.closeTo(1, 8)]);
  });
});

// ---- refusals --------------------------------------------------------------------------------

/** tsgrad's diagnostics for one function with these parameters: [code, the node's text, the message]. */
function refusals(params: string, body = "return 1;", preamble = ""): [number, string, string][] {
  const { diagnostics } = compileToJs(
    `${preamble}\n/** @differentiable */\nexport function f(${params}): number {\n${body}\n}\n`,
  );
  return diagnostics
    .filter((d) => d.source === "tsgrad")
    .map((d) => [
      d.code,
      d.file!.text.slice(d.start!, d.start! + d.length!),
      ts.flattenDiagnosticMessageText(d.messageText, "\n"),
    ]);
}

describe("what stays refused, with what to write instead", () => {
  it("an optional array, matrix or object: give it a default", () => {
    expect(refusals("x: number, w?: Float64Array", "return w === undefined ? x : w[0] * x;")).toEqual([
      [
        94004,
        "w?: Float64Array",
        "tsgrad: `w` is an optional `Float64Array`: its gradient is made to its size, which an omitted one does not have; give it a default (`w: Float64Array = ...`) or make it required",
      ],
    ]);
    expect(refusals("p?: { a: number }", "return p === undefined ? 0 : p.a;")[0][0]).toBe(94004);
  });

  it("types that are neither numbers, arrays of numbers nor data, each saying why", () => {
    const why = (params: string) => refusals(params)[0]?.[2];
    expect(why("x: number | string")).toMatch(
      /`string \| number` mixes kinds of values; a union is taken when it is all arrays of numbers \(`number\[\] \| Float64Array`\) or all data/,
    );
    expect(why("x: number | undefined")).toMatch(
      /can be undefined; a parameter that may be left out is written `x\?: number`/,
    );
    expect(why("x: Uint8Array")).toMatch(/holds integers; tsgrad differentiates `Float64Array` and `Float32Array`/);
    expect(why("x: string[]")).toMatch(/is an array of something other than numbers/);
    expect(why("x: ArrayLike<string>")).toMatch(/tsgrad takes numbers, arrays of numbers/);
    expect(why("x: any")).toMatch(/tsgrad takes numbers, arrays of numbers/);
    for (const params of ["x: number | string", "x: Uint8Array", "x: any", "x: () => number", "x: bigint"])
      expect(refusals(params).map((r) => r[0])).toEqual([94004]);
  });

  it("a default that reads another parameter: write it in the body", () => {
    expect(refusals("x: number, a = 2, b = a * 3", "return a * x + b;")).toEqual([
      [
        94004,
        "a * 3",
        "tsgrad: the default of `b` reads the parameter `a`, and no gradient would flow to `a` through it when `b` is left out; make `b` optional and give it its value in the body: `b?: number`, then `const bValue = b === undefined ? a * 3 : b`",
      ],
    ]);
  });

  it("optional and defaulted parameters of a function with its own derivative", () => {
    const found = refusals(
      "x: number, k = 2",
      "return k * x;",
      "/** @derivative f */\nexport function fD(x: number, k: number, y: number, dy: number): [number, number] { return [k * dy, x * dy]; }",
    );
    expect(found).toEqual([
      [
        94004,
        "k = 2",
        "tsgrad: `k` may be left out, but the derivative of a function with its own derivative takes every argument as passed; make the parameter required (callers pass the default themselves)",
      ],
    ]);
  });
});

// ---- generated code under --strict ---------------------------------------------------------

describe("generated code type-checks under --strict", () => {
  it("for every parameter type above, with callers passing a type parameter, data and fewer arguments", () => {
    const callers = `
export function callers<T extends ArrayLike<number>>(v: T, w: Float64Array, x: Float64Array): number {
  const [dv] = grad(rms)(v);
  const [dxs, dws] = grad(weighted)(v, v);
  const [dw, dx, dkind] = grad(residual)(w, x, "l1", Reduction.Sum, true);
  const none: undefined = dkind;
  const [dr, ddelta, dscale] = grad(huber)(2);
  const [dp] = vjp(flagged)(1).backward(1);
  return dv.length + dxs.length + dws.length + dw.length + dx.length + (none ?? 0) + dr + ddelta + dscale + dp;
}
`;
    const strip = (s: string) => s.replace(/^import .*$/gm, "");
    const source = [
      `import { grad, gradInto, valueAndGrad, vjp, jacobian } from "tsgrad";`,
      strip(arraysSource),
      strip(dataSource),
      defaultsSource,
      callers,
    ].join("\n");
    expect(genStrictErrors(source, "strict-parameters")).toEqual([]);
  });
});

// ---- the runtime's types ---------------------------------------------------------------------

enum Mode {
  A,
  B,
}
function typedF(
  v: ArrayLike<number>,
  t: [number, number],
  f32: Float32Array,
  kind: "a" | "b",
  m: Mode,
  flag?: boolean,
  k = 2,
): number {
  return v[0] * t[0] * f32[0] * k + (kind === "a" && m === Mode.A && flag ? 1 : 0);
}
registerGradient(typedF, {
  grad: () => [[0], [0, 0], new Float64Array(1), undefined, undefined, undefined, 0],
  forward: () => ({ value: 0, cache: 0 }),
  backward: () => [[0], [0, 0], new Float64Array(1), undefined, undefined, undefined, 0],
  params: ["v", "t", "f32", "kind", "m", "flag?", "k?"],
  data: [3, 4, 5],
});

describe("the runtime's types follow the parameters", () => {
  it("Grad of each kind; Grads keeps a data slot `undefined` and an optional number `number`", () => {
    expectTypeOf<Grad<ArrayLike<number>>>().toEqualTypeOf<number[] | Float64Array>();
    expectTypeOf<Grad<number[] | Float64Array>>().toEqualTypeOf<number[] | Float64Array>();
    expectTypeOf<Grad<Float32Array>>().toEqualTypeOf<Float64Array>();
    expectTypeOf<Grad<readonly [number, number]>>().toEqualTypeOf<number[]>();
    expectTypeOf<Grad<"l1" | "l2">>().toEqualTypeOf<undefined>();
    expectTypeOf<Grad<boolean>>().toEqualTypeOf<undefined>();
    expectTypeOf<Grad<Mode>>().toEqualTypeOf<undefined>();
    expectTypeOf<Grad<1 | 2>>().toEqualTypeOf<undefined>();
    expectTypeOf<Grad<Int32Array>>().toEqualTypeOf<undefined>();
    expectTypeOf<Grad<{ y: Int32Array; w: Float32Array }>>().toEqualTypeOf<{ y: undefined; w: Float64Array }>();
    expectTypeOf<Grads<[x: number, flag?: boolean, k?: number]>>().toEqualTypeOf<[number, undefined, number]>();
    expectTypeOf<JacobianBlock<"l1">>().toEqualTypeOf<undefined>();
    expectTypeOf<JacobianBlock<Float32Array>>().toEqualTypeOf<import("../runtime/index.js").Matrix>();
  });

  it("grad(f) of a function with every kind, inferred from f", () => {
    type G = ReturnType<ReturnType<typeof grad<typeof typedF>>>;
    expectTypeOf<G>().toEqualTypeOf<
      [number[] | Float64Array, number[], Float64Array, undefined, undefined, undefined, number]
    >();
    const g = grad(typedF)([1], [1, 2], Float32Array.of(1), "a", Mode.A);
    expect(g).toHaveLength(7);
    // @ts-expect-error too few arguments: a type error, and at run time the count says which
    expect(() => grad(typedF)([1], [1, 2], Float32Array.of(1), "a")).toThrow(
      "tsgrad: grad(typedF) expects 5 to 7 arguments (v, t, f32, kind, m, flag?, k?), got 4",
    );
  });
});
