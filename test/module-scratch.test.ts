// Module-level scratch arrays, as gl-matrix reuses them: a `const tmp = new Float64Array(3)` (or
// `new Array(3).fill(0)`, a literal of numbers), not exported, that a @differentiable function
// writes (directly or as a helper's out-parameter) is a local array of its generated code, made at
// its start as a copy of the module array's contents. Every gradient is checked against central
// differences through every API; the refusals name the array.

import { describe, expect, it } from "vitest";
import { compile, genStrictErrors, tsgradErrors } from "./harness.js";
import { checkEveryApi, runtime } from "./oracles.js";

const source = `
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

const tmpA = new Float64Array(3);
const tmpB = new Float64Array(3);
const tmpN = new Float64Array(3);

/** @differentiable */
export function triangleArea(a: ArrayLike<number>, b: ArrayLike<number>, c: ArrayLike<number>): number {
  sub(tmpA, b, a);
  sub(tmpB, c, a);
  cross(tmpN, tmpA, tmpB);
  return 0.5 * Math.hypot(tmpN[0], tmpN[1], tmpN[2]);
}

/** @differentiable */
export function edgeLength(a: ArrayLike<number>, b: ArrayLike<number>): number {
  sub(tmpA, b, a);
  return Math.hypot(tmpA[0], tmpA[1], tmpA[2]);
}

const acc = new Array(2).fill(0);

/** @differentiable */
export function carried(x: number): number {
  const before = acc[0] + 2 * acc[1];
  acc[0] = x * x;
  acc[1] = Math.sin(x);
  return before * x + acc[0] * acc[1];
}

const hold = new Float64Array(2);

/** @differentiable */
export function settled(x: number, y: number): number {
  const before = hold[0];
  hold[0] = 3;
  hold[1] = x * before + y;
  return hold[1] * y + hold[0] * x;
}

const buf = [0, 0, 0, 0];

/** @differentiable */
export function smoothed(xs: readonly number[], k: number): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) {
    for (let j = 0; j < buf.length; j++) buf[j] = xs[i] * (j + k);
    for (let j = 1; j < buf.length; j++) buf[j] += buf[j - 1] * 0.5;
    s += buf[buf.length - 1] * xs[i];
  }
  return s;
}
`;

const m = (await compile(source)).module;

describe("module-level scratch arrays", () => {
  it("gl-matrix's triangleArea: scratch vectors written by inlined out-parameter helpers", () => {
    const a = [0, 0, 0.5];
    const b = Float64Array.of(1, 0.5, 0);
    const c = [0.25, 2, 1];
    const g = checkEveryApi(m.triangleArea, [a, b, c]);
    expect(g[0].length).toBe(3);
  });

  it("two functions sharing one scratch array, each with its own copy in the gradient", () => {
    checkEveryApi(m.edgeLength, [
      [1, 2, 3],
      [0.5, -1, 2],
    ]);
    checkEveryApi(m.triangleArea, [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    checkEveryApi(m.edgeLength, [
      [0, 0, 0],
      [3, 4, 12],
    ]);
  });

  it("an element read before it is written sees what the plain function left there, a constant", () => {
    m.carried(1.5); // the module array now holds 2.25 and sin(1.5)
    const held = 2.25 + 2 * Math.sin(1.5);
    const x = 0.7;
    const [dx] = runtime.grad(m.carried)(x);
    expect(dx).toBeCloseTo(held + 2 * x * Math.sin(x) + x * x * Math.cos(x), 12);
    // The gradient read acc but did not write it: the plain call sees what carried(1.5) left.
    expect(m.carried(x)).toBeCloseTo(held * x + x * x * Math.sin(x), 12);
  });

  it("stale contents through every API: the plain function first, then each API agrees with it", () => {
    // hold[0] is 0 before the first call, 3 after: settled(x, y) = (3x + y)y + 3x from then on.
    expect(runtime.grad(m.settled)(2, 0.5)).toEqual([3, 1]);
    m.settled(2, 0.5);
    expect(runtime.grad(m.settled)(2, 0.5)).toEqual([4.5, 7]);
    checkEveryApi(m.settled, [2, 0.5]);
  });

  it("a scratch array written and read in loops", () => {
    checkEveryApi(m.smoothed, [[0.5, -1.5, 2, 0.25], 0.75]);
  });

  it("the gradient never writes the module array", async () => {
    const { module } = await compile(`
const tmp = new Float64Array(2);
/** @differentiable */
export function f(x: number): number {
  tmp[0] = x * 3;
  tmp[1] = tmp[0] * x;
  return tmp[1];
}
export const peek = () => Array.from(tmp);
`);
    module.f(2);
    expect(module.peek()).toEqual([6, 12]);
    expect(module.f_grad(5)).toEqual([30]);
    expect(module.peek()).toEqual([6, 12]);
  });

  it("generated code type-checks under strict settings with no unused names", () => {
    expect(genStrictErrors(source, "module-scratch", { noUnusedLocals: true, noUnusedParameters: true })).toEqual([]);
  });
});

describe("module arrays still refused", () => {
  const refused = (src: string) => tsgradErrors(src).map((e) => [e.code, e.text]);

  it("an exported scratch array, or one exported by name", () => {
    expect(
      refused(`export const t = new Float64Array(2);
/** @differentiable */
export function f(x: number): number { t[0] = x; return t[0] * x; }`),
    ).toContainEqual([94003, "t"]);
    expect(
      refused(`const t = new Float64Array(2);
export { t };
/** @differentiable */
export function f(x: number): number { t[0] = x; return t[0] * x; }`),
    ).toContainEqual([94003, "t"]);
  });

  it("a `let` module array", () => {
    expect(
      refused(`let t = new Float64Array(2);
/** @differentiable */
export function f(x: number): number { t[0] = x; return t[0] * x; }`).map(([c]) => c),
    ).not.toEqual([]);
  });

  it("a module array the function only reads, written by another function", () => {
    expect(
      refused(`const t = new Float64Array(2);
export function fill(v: number): void { t[0] = v; }
/** @differentiable */
export function f(x: number): number { return t[0] * x; }`),
    ).toEqual([[94003, "t"]]);
  });

  it("a scratch array a called function names (its writes would be missed by the copy)", () => {
    expect(
      refused(`const t = new Float64Array(2);
function poke(v: number): number { t[0] = v; return v; }
/** @differentiable */
export function f(x: number): number { t[0] = x; const y = poke(x * 2); return t[0] * x + y; }`),
    ).toContainEqual([94003, "t"]);
  });

  it("a scratch array passed to a @differentiable helper's pullback", () => {
    expect(
      refused(`const t = new Float64Array(2);
/** @differentiable */
export function sq(v: Float64Array): number { return v[0] * v[0] + v[1]; }
/** @differentiable */
export function f(x: number): number { t[0] = x; t[1] = 2 * x; return sq(t); }`),
    ).toEqual([[94003, "t"]]);
  });
});
