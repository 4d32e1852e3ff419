// Oracles for gradients of arrays, matrices and objects, shared by the test files that check them:
// the runtime's central differences (checkGradient, which moves every number of the arguments),
// closeness number by number, and the agreement of grad, vjp, valueAndGrad and gradInto. They use
// the built runtime (`tsgrad`), the instance the compiled modules register their gradients with.

import { expect } from "vitest";
import { expectAllClose, numericEntries, numericGradient } from "./harness.js";

export const runtime: any = await import("tsgrad" as string);

/** Arrays as plain arrays, recursively (Int32Array labels and numbers as they are), to compare gradients. */
export const plain = (v: any): any =>
  v instanceof Float64Array || Array.isArray(v)
    ? Array.from(v, plain)
    : v && typeof v === "object" && !(v instanceof Int32Array)
      ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
      : v;

/** Every number of a gradient, in order (for closeness checks). */
export const numbersOf = (v: any): number[] =>
  typeof v === "number"
    ? [v]
    : v instanceof Float64Array || v instanceof Int32Array || Array.isArray(v)
      ? Array.from(v as ArrayLike<any>).flatMap(numbersOf)
      : v && typeof v === "object"
        ? Object.values(v).flatMap(numbersOf)
        : [];

/** Two gradients of the same keys, number by number under |a - b| <= tol * max(1, |a| + |b|). */
export function expectTreeClose(a: any, b: any, tol = 1e-12): void {
  expect(JSON.stringify(Object.keys(plain(a) ?? {}))).toBe(JSON.stringify(Object.keys(plain(b) ?? {})));
  const x = numbersOf(a);
  const y = numbersOf(b);
  expect(x.length).toBe(y.length);
  x.forEach((v, i) => {
    const err = Math.abs(v - y[i]) / Math.max(1, Math.abs(v) + Math.abs(y[i]));
    if (!(err <= tol)) throw new Error(`number ${i}: ${v} vs ${y[i]} (relative error ${err})`);
  });
}

/** A gradient `g` of f at args against central differences, number by number, except the paths in `skip`. */
export function expectFd(f: (...a: any[]) => any, args: any[], g: any[], tol = 1e-6, skip: string[] = []): void {
  const r = runtime.checkGradient(f, args, g, { h: 1e-6, tolerance: tol });
  // |a - n| / max(1, |a| + |n|): a zero gradient against finite-difference noise passes.
  const off = (e: any) =>
    !(Math.abs(e.analytic - e.numeric) / Math.max(1, Math.abs(e.analytic) + Math.abs(e.numeric)) <= tol);
  const bad = r.entries
    .filter((e: any) => off(e) && !skip.includes(e.path))
    .map((e: any) => `${e.path}: ${e.analytic} vs ${e.numeric}`);
  expect(bad, "entries off finite differences").toEqual([]);
  expect(r.entries.length).toBeGreaterThan(0);
}

/**
 * grad(f) against central differences, number by number, except the paths in `skip` (numbers the
 * function is piecewise constant in, e.g. a loop bound, where finite differences jump). Then vjp
 * (backward twice), valueAndGrad and gradInto must give the same gradient, and gradInto must
 * refill the buffers of the earlier result in place. Returns the gradient.
 */
export function checkEveryApi(f: (...a: any[]) => number, args: any[], opts: { skip?: string[]; tol?: number } = {}) {
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

/** Central differences in argument i: every entry of an array or Matrix, or the number itself. */
function fdOfArgument(f: (...a: any[]) => number, args: any[], i: number): number[] {
  const a = args[i];
  if (typeof a === "number") {
    return numericGradient((v: number) => f(...args.map((x, k) => (k === i ? v : x))), [a]);
  }
  return numericEntries(f, args, i);
}

const entries = (g: any): number[] => (typeof g === "number" ? [g] : Array.from(g?.data ?? g));

/** A copy of a gradient result with every number replaced by junk (gradInto must overwrite it). */
const junkLike = (g: any[]): any[] =>
  g.map((x) =>
    typeof x === "number"
      ? 1234.5
      : x?.data
        ? { ...x, data: x.data.map(() => 7) }
        : x instanceof Float64Array
          ? x.map(() => -3)
          : Array.isArray(x)
            ? x.map(() => 9)
            : x,
  );

/**
 * The generated `name` of m: name_grad against finite differences (in the arguments `diff` lists,
 * default every array, Matrix or number), vjp's backward pass, and name_gradInto into junk-filled
 * buffers; name_forward's value is name's. No expected gradient is written by hand.
 */
export function checkGenerated(
  m: Record<string, any>,
  name: string,
  args: any[],
  opts: { diff?: number[]; tol?: number } = {},
): void {
  const f = m[name];
  const g = m[`${name}_grad`](...args);
  const fwd = m[`${name}_forward`](...args);
  expect(fwd.value).toBe(f(...args));
  const back = m[`${name}_backward`](fwd.cache, 1);
  const into = m[`${name}_gradInto`](junkLike(g), ...args);
  const diff =
    opts.diff ??
    args
      .map((a, i) => (typeof a === "number" || a instanceof Float64Array || Array.isArray(a) || a?.data ? i : -1))
      .filter((i) => i >= 0);
  for (const i of diff) {
    const mine = entries(g[i]);
    for (const v of mine) expect(Number.isFinite(v), `${name} arg ${i}: ${v}`).toBe(true);
    expectAllClose(mine, fdOfArgument(f, args, i), opts.tol ?? 1e-6);
    expectAllClose(entries(back[i]), mine, 1e-12);
    expectAllClose(entries(into[i]), mine, 0);
  }
}
