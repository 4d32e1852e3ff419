// The runtime API (grad, valueAndGrad, vjp, the registry) and the gradient check, without the
// compiler: the gradients here are registered by hand in the shape generated code has
// (f_grad, f_forward, f_backward), so these tests pin the runtime alone.

import { describe, expect, it } from "vitest";
import {
  checkGradient,
  grad,
  isDifferentiable,
  numericGrad,
  registerGradient,
  relativeError,
  valueAndGrad,
  vjp,
  Workspace,
} from "../runtime/index.js";

// mul(x, y) = x * y, so d/dx = y and d/dy = x.
function mul(x: number, y: number): number {
  return x * y;
}
registerGradient(mul, {
  grad: (x: number, y: number) => [y, x],
  forward: (x: number, y: number) => ({ value: x * y, cache: { x, y } }),
  backward: (c: { x: number; y: number }, dout: number) => [c.y * dout, c.x * dout],
});

// The seed's staged example f(x, y) = (x + σ(y)) / (σ(x) + (x + y)²), backward written by hand the
// way the seed does it (and the way generated code should look).
function seed(x: number, y: number): number {
  return (x + 1 / (1 + Math.exp(-y))) / (1 / (1 + Math.exp(-x)) + (x + y) ** 2);
}
function seed_forward(x: number, y: number) {
  const sigy = 1 / (1 + Math.exp(-y)); // sigmoid in numerator
  const num = x + sigy;
  const sigx = 1 / (1 + Math.exp(-x)); // sigmoid in denominator
  const xpy = x + y;
  const xpysqr = xpy ** 2;
  const den = sigx + xpysqr;
  const invden = 1 / den;
  return { value: num * invden, cache: { sigy, num, sigx, xpy, den, invden } };
}
type SeedCache = ReturnType<typeof seed_forward>["cache"];
function seed_backward(c: SeedCache, dout: number): number[] {
  const dnum = c.invden * dout; // f = num * invden
  const dinvden = c.num * dout;
  const dden = (-1 / (c.den * c.den)) * dinvden; // invden = 1 / den
  const dsigx = dden; // den = sigx + xpysqr
  const dxpysqr = dden;
  const dxpy = 2 * c.xpy * dxpysqr; // xpysqr = xpy ** 2
  let dx = dxpy; // xpy = x + y
  let dy = dxpy;
  dx += (1 - c.sigx) * c.sigx * dsigx; // sigx = σ(x)   (+= : x fans out)
  dx += dnum; // num = x + sigy
  const dsigy = dnum;
  dy += (1 - c.sigy) * c.sigy * dsigy; // sigy = σ(y)
  return [dx, dy];
}
registerGradient(seed, {
  grad: (x: number, y: number) => seed_backward(seed_forward(x, y).cache, 1),
  forward: seed_forward,
  backward: seed_backward,
});

describe("grad", () => {
  it("returns one gradient per parameter: grad(mul)(3, -4) → [-4, 3]", () => {
    expect(grad(mul)(3, -4)).toEqual([-4, 3]);
  });

  it("wrt picks parameters, in the order given", () => {
    expect(grad(mul, { wrt: [1] })(3, -4)).toEqual([3]); // only d/dy
    expect(grad(mul, { wrt: [1, 0] })(3, -4)).toEqual([3, -4]); // d/dy first, then d/dx
    expect(grad(mul, { wrt: [0, 0] })(3, -4)).toEqual([-4, -4]); // repeats are allowed
  });

  it("matches the seed's numbers for f(3, -4)", () => {
    const [dx, dy] = grad(seed)(3, -4);
    expect(dx).toBeCloseTo(2.0595697955721652, 12);
    expect(dy).toBeCloseTo(1.5922327514838093, 12);
  });

  it("rejects wrt indices out of range with a RangeError", () => {
    // These are type errors too (ParamIndex), but JavaScript callers and `any` get past the types.
    // @ts-expect-error 2 is not a parameter index of mul
    expect(() => grad(mul, { wrt: [2] })(3, -4)).toThrow(RangeError);
    // @ts-expect-error -1 is not a parameter index of mul
    expect(() => grad(mul, { wrt: [-1] })(3, -4)).toThrow(RangeError);
    // @ts-expect-error 0.5 is not a parameter index of mul
    expect(() => grad(mul, { wrt: [0.5] })(3, -4)).toThrow(/out of range/);
    // @ts-expect-error 2 is not a parameter index of mul
    expect(() => valueAndGrad(mul, { wrt: [0, 2] })(3, -4)).toThrow(RangeError);
  });
});

describe("valueAndGrad", () => {
  it("returns the value and all gradients: mul(3, -4) → { value: -12, grad: [-4, 3] }", () => {
    expect(valueAndGrad(mul)(3, -4)).toEqual({ value: -12, grad: [-4, 3] });
  });

  it("honours wrt", () => {
    expect(valueAndGrad(mul, { wrt: [1] })(3, -4)).toEqual({ value: -12, grad: [3] });
    expect(valueAndGrad(mul, { wrt: [1, 0] })(3, -4)).toEqual({ value: -12, grad: [3, -4] });
  });

  it("matches the seed's value for f(3, -4)", () => {
    const { value, grad: g } = valueAndGrad(seed)(3, -4);
    expect(value).toBeCloseTo(1.5456448841066441, 12);
    expect(g).toEqual(grad(seed)(3, -4));
  });
});

describe("vjp", () => {
  it("runs forward now and backward later, as often as asked", () => {
    const { value, backward } = vjp(mul)(3, -4);
    expect(value).toBe(-12);
    expect(backward(1)).toEqual([-4, 3]);
    expect(backward(2)).toEqual([-8, 6]); // linear in dout
    expect(backward(1)).toEqual([-4, 3]); // the cache is not used up by earlier calls
  });

  it("backward(dout) scales the seed gradient by dout", () => {
    const { backward } = vjp(seed)(3, -4);
    const [dx, dy] = grad(seed)(3, -4);
    const [sx, sy] = backward(-0.5);
    expect(sx).toBeCloseTo(-0.5 * dx, 14);
    expect(sy).toBeCloseTo(-0.5 * dy, 14);
  });
});

describe("without the transformer", () => {
  function plain(x: number): number {
    return 2 * x;
  }

  it("isDifferentiable tells registered from plain functions", () => {
    expect(isDifferentiable(mul)).toBe(true);
    expect(isDifferentiable(plain)).toBe(false);
  });

  it.each([
    ["grad", () => grad(plain)],
    ["valueAndGrad", () => valueAndGrad(plain)],
    ["vjp", () => vjp(plain)],
  ])("%s(plain) throws an Error naming the missing setup", (api, call) => {
    expect(call).toThrow(Error);
    expect(call).toThrow(`${api}(plain)`); // which call, which function
    expect(call).toThrow("tsgrad/transformer"); // the plugin to add
    expect(call).toThrow("tspc"); // the compiler to run it with
  });

  it("rejects a non-function with a TypeError", () => {
    expect(() => grad(42 as unknown as typeof mul)).toThrow(TypeError);
  });
});

describe("numericGrad", () => {
  const sin = (x: number) => Math.sin(x);

  it.each([-3, -1, 0, 0.5, 1, 2, 10])("d/dx sin(x) at %d ≈ cos(x) to 1e-8", (x) => {
    const [d] = numericGrad(sin, [x]);
    expect(Math.abs(d - Math.cos(x))).toBeLessThan(1e-8);
  });

  it("differentiates each parameter: x * y at (3, -4) → [-4, 3]", () => {
    const [dx, dy] = numericGrad(mul, [3, -4]);
    expect(dx).toBeCloseTo(-4, 8);
    expect(dy).toBeCloseTo(3, 8);
  });

  it("leaves the caller's arguments alone", () => {
    const args: [number, number] = [3, -4];
    numericGrad(mul, args);
    expect(args).toEqual([3, -4]);
  });

  it("accepts a step h, and rejects h ≤ 0, NaN and Infinity", () => {
    const [d] = numericGrad(sin, [1], { h: 1e-4 });
    expect(d).toBeCloseTo(Math.cos(1), 7);
    for (const h of [0, -1e-5, NaN, Infinity]) expect(() => numericGrad(sin, [1], { h })).toThrow(RangeError);
  });

  it("arrays, Float64Arrays, matrices and objects: a gradient of the same shape, the arguments untouched", () => {
    // f = sum_i a_i^2 * b_i + p.s * p.v[0] * M[1]: df/da_i = 2 a_i b_i, df/db_i = a_i^2, ...
    const f = (
      a: number[],
      b: Float64Array,
      p: { s: number; v: Float64Array; M: { rows: number; cols: number; data: Float64Array } },
      labels: Int32Array,
    ) => a.reduce((acc, ai, i) => acc + ai * ai * b[i], 0) + p.s * p.v[0] * p.M.data[1] + labels[0];
    const a = [1, -2];
    const b = Float64Array.of(3, 0.5);
    const p = { s: 2, v: Float64Array.of(4, 7), M: { rows: 1, cols: 2, data: Float64Array.of(0, 5) } };
    const labels = Int32Array.of(1);
    const [da, db, dp, dl] = numericGrad(f, [a, b, p, labels]) as any;
    expect(da[0]).toBeCloseTo(6, 6);
    expect(da[1]).toBeCloseTo(-2, 6);
    expect(Array.from(db as ArrayLike<number>).map((v) => +v.toFixed(6))).toEqual([1, 4]);
    expect(db).toBeInstanceOf(Float64Array);
    expect(dp.s).toBeCloseTo(20, 6);
    expect(Array.from(dp.v as ArrayLike<number>).map((v) => +v.toFixed(6))).toEqual([10, 0]);
    expect(Array.from(dp.M.data as ArrayLike<number>).map((v) => +v.toFixed(6))).toEqual([0, 8]);
    expect([dp.M.rows, dp.M.cols]).toEqual([1, 2]);
    expect(dl).toBeUndefined(); // labels are data: no gradient, as grad(f) gives them
    expect(a).toEqual([1, -2]);
    expect(Array.from(p.v)).toEqual([4, 7]);
  });

  it("names a value it cannot take a gradient of; data (a string, a boolean) has none", () => {
    expect(() => numericGrad((g: () => number) => g(), [() => 1] as any)).toThrow(/\[0\] is a function/);
    expect(numericGrad((x: number, s: string, b: boolean) => x * s.length * (b ? 1 : 2), [3, "ab", false])).toEqual([
      expect.closeTo(4, 6),
      undefined,
      undefined,
    ]);
  });
});

describe("relativeError: |a - n| / max(1e-8, |a| + |n|)", () => {
  it.each([
    [1, 1, 0],
    [0, 0, 0], // the floor avoids 0 / 0
    [1, -1, 1], // opposite signs: the largest possible error
    [2, 1, 1 / 3],
    [1e-12, 0, 1e-4], // tiny values are measured against the 1e-8 floor
  ])("(%d, %d) → %d", (a, n, expected) => {
    expect(relativeError(a, n)).toBeCloseTo(expected, 15);
    expect(relativeError(n, a)).toBeCloseTo(expected, 15); // symmetric
  });
});

describe("checkGradient", () => {
  it("accepts correct gradients (sin at several points, mul, the seed's f)", () => {
    for (const x of [-2, 0, 0.3, 4]) {
      const r = checkGradient((t: number) => Math.sin(t), [x], [Math.cos(x)]);
      expect(r.ok).toBe(true);
      expect(r.maxRelativeError).toBeLessThan(1e-8);
    }
    expect(checkGradient(mul, [3, -4], grad(mul)(3, -4)).ok).toBe(true);
    const r = checkGradient(seed, [3, -4], grad(seed)(3, -4));
    expect(r.ok).toBe(true);
    expect(r.maxRelativeError).toBeLessThan(1e-7);
  });

  it("reports every entry, with the analytic and numeric values", () => {
    const { entries } = checkGradient(mul, [3, -4], [-4, 3]);
    expect(entries.map((e) => e.index)).toEqual([0, 1]);
    expect(entries[0]!.analytic).toBe(-4);
    expect(entries[0]!.numeric).toBeCloseTo(-4, 8);
    expect(entries[1]!.relativeError).toBeLessThan(1e-8);
  });

  it("catches a wrong gradient and says which entry is wrong", () => {
    const r = checkGradient(mul, [3, -4], [3, -4]); // swapped: the classic bug
    expect(r.ok).toBe(false);
    expect(r.maxRelativeError).toBeGreaterThan(0.1);
    const off = checkGradient(mul, [3, -4], [-4, 3.001]); // a small error in dy only
    expect(off.ok).toBe(false);
    expect(off.entries[0]!.relativeError).toBeLessThan(1e-8);
    expect(off.entries[1]!.relativeError).toBeGreaterThan(1e-4);
  });

  it("honours tolerance", () => {
    expect(checkGradient(mul, [3, -4], [-4, 3.001], { tolerance: 1e-3 }).ok).toBe(true);
    expect(checkGradient(mul, [3, -4], [-4, 3.001], { tolerance: 1e-4 }).ok).toBe(false);
  });

  it("never passes a NaN gradient", () => {
    const r = checkGradient(mul, [3, -4], [NaN, 3]);
    expect(r.ok).toBe(false);
    expect(r.maxRelativeError).toBeNaN();
  });

  it("compares arrays and objects entry by entry, naming where each number is", () => {
    const f = (w: Float64Array, p: { s: number }) => p.s * (w[0] * w[0] + w[1]);
    const good = checkGradient(f, [Float64Array.of(2, 3), { s: 0.5 }], [Float64Array.of(2, 0.5), { s: 7 }]);
    expect(good.ok).toBe(true);
    expect(good.entries.map((e) => e.path)).toEqual(["[0][0]", "[0][1]", "[1].s"]);
    expect(good.entries.map((e) => e.index)).toEqual([0, 0, 1]);
    const bad = checkGradient(f, [Float64Array.of(2, 3), { s: 0.5 }], [Float64Array.of(2, 0.5), { s: 6 }]);
    expect(bad.ok).toBe(false);
    expect(bad.entries.find((e) => e.relativeError > 1e-3)!.path).toBe("[1].s");
    expect(() => checkGradient(f, [Float64Array.of(2, 3), { s: 0.5 }], [Float64Array.of(2), { s: 7 }])).toThrow(
      /shape of the arguments/,
    );
  });

  it("rejects an analytic gradient of the wrong length", () => {
    expect(() => checkGradient(mul, [3, -4], [1] as unknown as [number, number])).toThrow(RangeError);
  });
});

describe("the saved-value stack keeps objects beside numbers", () => {
  it("pushObject and popObject are last in, first out, apart from the numbers, and say when empty", async () => {
    const { ValueStack } = await import("../runtime/stack.js");
    const stack = new ValueStack();
    const a = { rows: 1 };
    const b = { rows: 2 };
    stack.pushObject(a);
    stack.push(1.5);
    stack.pushObject(b);
    stack.push(2.5);
    expect(stack.pop()).toBe(2.5);
    expect(stack.popObject<typeof b>()).toBe(b);
    expect(stack.pop()).toBe(1.5);
    expect(stack.popObject<typeof a>()).toBe(a);
    expect(() => stack.popObject()).toThrow(/saved-object stack is empty/);
  });
});

describe("Workspace (a pullback's arrays, kept between calls)", () => {
  it("gives the same array, zeroed, for a slot and length; a new one when the length changes", () => {
    const ws = new Workspace();
    const a = ws.zeros(0, 3);
    a.set([1, 2, 3]);
    const long = ws.zeros(1, 40);
    long.fill(7);
    expect(ws.zeros(0, 3)).toBe(a);
    expect([...a]).toEqual([0, 0, 0]);
    expect(ws.zeros(1, 40)).toBe(long);
    expect(long.every((v) => v === 0)).toBe(true);
    const b = ws.zeros(0, 5);
    expect(b).not.toBe(a);
    expect([...b]).toEqual([0, 0, 0, 0, 0]);
  });

  it("rejects a length that is not a whole number >= 0 with a RangeError", () => {
    expect(() => new Workspace().zeros(0, 2.5)).toThrow(RangeError);
    expect(() => new Workspace().zeros(0, -1)).toThrow(RangeError);
  });
});
