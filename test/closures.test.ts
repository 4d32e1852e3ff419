// Closures: a @differentiable function nested in another (a factory), reading the enclosing
// function's parameters and locals. A captured value is a constant of the call: f_grad reads it
// as f does, and vjp's forward pass keeps it in its cache, so the backward pass never reads it
// again later (when the enclosing code may have changed it). Each function a factory makes is
// registered with gradients of its own captured values, so grad(backIn(1.7)) works at run time.

import ts from "typescript";
import { describe, expect, it } from "vitest";
import { compile, compileToJs, genStrictErrors, transformedText } from "./closures-harness.js";

type F = (...a: number[]) => number;

/** Central differences of f at args, one partial per argument. */
function fd(f: F, args: number[], h = 1e-6): number[] {
  return args.map((_, i) => {
    const plus = args.slice();
    const minus = args.slice();
    plus[i] += h;
    minus[i] -= h;
    return (f(...plus) - f(...minus)) / (2 * h);
  });
}

/** |a - n| <= 1e-7 max(1, |a| + |n|), entry by entry. */
function close(analytic: readonly number[], numeric: readonly number[], tol = 1e-7): void {
  expect(analytic.length).toBe(numeric.length);
  analytic.forEach((a, i) => {
    const n = numeric[i];
    const err = Math.abs(a - n) / Math.max(1, Math.abs(a) + Math.abs(n));
    if (!(err <= tol)) throw new Error(`gradient ${i}: analytic ${a} vs numeric ${n} (relative error ${err})`);
  });
}

/**
 * The runtime's grad(f) of a function value against finite differences at each point, and
 * vjp(f)'s value and backward(dout) against f and dout * grad.
 */
function check(api: Record<string, any>, f: F, points: number[][]): void {
  for (const p of points) {
    const g: number[] = api.grad(f)(...p);
    close(g, fd(f, p));
    const { value, backward } = api.vjp(f)(...p);
    expect(value).toBe(f(...p));
    for (const dout of [1, -2.5])
      close(
        backward(dout),
        g.map((gi) => gi * dout),
        1e-12,
      );
  }
}

const RUNTIME = `import * as api from "tsgrad";\nexport { api };\n`;

describe("captured values are constants of the call", () => {
  it("vjp's backward pass uses the captured value of the forward pass, not the current one", async () => {
    // The case: the outer code changes `k` between vjp(f)(0.5) and backward(1). The
    // derivative of the value vjp computed is 2 cos 0.5; reading `k` again would give 10 cos 0.5.
    const { module } = await compile(`
import { vjp } from "tsgrad";
export function run(x: number): number[] {
  let k = 2;
  /** @differentiable */
  function f(t: number): number { return k * Math.sin(t); }
  const { backward } = vjp(f)(x);
  k = 10;
  return backward(1);
}
export function runParameter(k: number, x: number): number[] {
  /** @differentiable */
  function f(t: number): number { return k * Math.sin(t); }
  const { backward } = vjp(f)(x);
  k = 10;
  return backward(1);
}
export function runArrow(k: number, x: number): number[] {
  const f = /** @differentiable */ (t: number): number => k * Math.sin(t);
  const { backward } = vjp(f)(x);
  k = 10;
  return backward(1);
}
`);
    expect(module.run(0.5)[0]).toBeCloseTo(2 * Math.cos(0.5), 14);
    expect(module.runParameter(2, 0.5)[0]).toBeCloseTo(2 * Math.cos(0.5), 14);
    expect(module.runArrow(2, 0.5)[0]).toBeCloseTo(2 * Math.cos(0.5), 14);
  });

  it("in loops and branches: the cache holds the value read, and f_grad reads it as f does", async () => {
    const { module } = await compile(`
${RUNTIME}
export function make(k: number, n: number) {
  let c = k * 2;
  if (n > 3) c = c - 1;
  /** @differentiable */
  function f(t: number): number {
    let s = 0;
    for (let i = 0; i < n; i++) {
      if (t * i > k) s += c * Math.sin(t * i);
      else s -= t * t * k;
    }
    let j = 0;
    while (s < c && j < 5) { s += t * c; j++; }
    return s;
  }
  return f;
}
export function later(k: number, n: number, t: number): { before: number[]; after: number[] } {
  let c = k;
  const f = /** @differentiable */ (x: number): number => {
    let s = 0;
    for (let i = 1; i <= n; i++) s += c * x ** i;
    return s > 0 ? s : -s;
  };
  const { backward } = api.vjp(f)(t);
  const before = backward(1);
  c = 100;
  n = 1;
  return { before, after: backward(1) };
}
`);
    const { api } = module;
    check(api, module.make(0.7, 5), [[0.4], [1.3], [-0.6]]);
    check(api, module.make(-0.2, 2), [[0.9], [2.1]]);
    // Changing the captured `c` and `n` after the forward pass changes nothing backward.
    const { before, after } = module.later(0.5, 3, 0.8);
    close(after, before, 0);
    close(before, [0.5 * (1 + 2 * 0.8 + 3 * 0.8 ** 2)]);
  });
});

describe("factories", () => {
  it("grad(backIn(1.7)) at run time: each function the factory makes has its own gradient", async () => {
    const { module, js } = await compile(`
${RUNTIME}
import { grad, isDifferentiable } from "tsgrad";
export function backIn(s: number) {
  return /** @differentiable */ (t: number) => t * t * ((s + 1) * t - s);
}
export const ease = backIn(1.70158);
export const steeper = backIn(3);
export const dEase = grad(backIn(1.70158));
export const registered = isDifferentiable(ease) && isDifferentiable(steeper);
`);
    const s = 1.70158;
    check(module.api, module.ease, [[0.3], [0.8], [1.2]]);
    check(module.api, module.steeper, [[0.3], [0.8]]);
    expect(module.dEase(0.5)[0]).toBeCloseTo(3 * (s + 1) * 0.25 - 2 * s * 0.5, 13);
    expect(module.registered).toBe(true);
    // The closure is registered where it is made, its gradient beside it in the factory.
    expect(js).toMatch(/function backIn_fn_grad\(t\)/);
    expect(js).toMatch(/return \/\*\* @differentiable \*\/ registerGradient\(\(t\) => t \* t/);
  });

  it("an arrow with an expression body, a named function expression, a nested declaration, locals", async () => {
    const { module } = await compile(`
${RUNTIME}
export const backOut = (s: number) =>
  /** @differentiable */ (t: number): number => 1 - (1 - t) * (1 - t) * ((s + 1) * (1 - t) - s);
export function elastic(amplitude: number, period: number) {
  const a = Math.max(1, amplitude);
  const p = period / (2 * Math.PI);
  const shift = p * Math.asin(1 / a);
  return /** @differentiable */ function elasticIn(t: number): number {
    return a * 2 ** (10 * (t - 1)) * Math.sin((shift - t + 1) / p);
  };
}
export function custom(s: number) {
  s = +s;
  /** @differentiable */
  function polyIn(t: number): number {
    return t ** s;
  }
  return polyIn;
}
export function pick(up: boolean, k: number) {
  if (up) return /** @differentiable */ (t: number) => k * t * t;
  else return /** @differentiable */ (t: number) => -k * Math.exp(t);
}
`);
    const { api } = module;
    check(api, module.backOut(1.7), [[0.2], [0.9]]);
    check(api, module.elastic(1.2, 0.4), [[0.3], [0.7]]);
    check(api, module.custom(2.5), [[0.4], [1.6]]);
    check(api, module.pick(true, 3), [[0.5]]);
    check(api, module.pick(false, 3), [[0.5]]);
  });

  it("passed as an argument, and the static rewrite where the closure is named in its scope", async () => {
    const { module, js } = await compile(`
${RUNTIME}
import { grad } from "tsgrad";
export function descend(f: (x: number) => number, x: number, steps: number): number {
  const df = grad(f);
  for (let i = 0; i < steps; i++) x -= 0.1 * df(x)[0];
  return x;
}
export function fit(target: number): number {
  return descend(/** @differentiable */ (x: number) => (x - target) ** 2 + Math.cosh(x - target) - 1, 0, 200);
}
export function slope(k: number, x: number): number[] {
  /** @differentiable */
  const f = (t: number) => k * t * t;
  return grad(f)(x);
}
`);
    expect(module.fit(1.25)).toBeCloseTo(1.25, 8);
    expect(module.slope(3, 2)).toEqual([12]);
    expect(js).toMatch(/return f_grad\(x\);/);
  });

  it("a captured object's number fields are read once per call, like captured numbers", async () => {
    const { module } = await compile(`
${RUNTIME}
interface Options { scale: number; shift: number }
export function make(opts: Options) {
  /** @differentiable */
  const f = (t: number): number => {
    let s = 0;
    for (let i = 0; i < 3; i++) s += opts.scale * Math.sin(t * i + opts.shift);
    return s > 0 ? s : opts.shift * t;
  };
  return f;
}
export function changed(t: number): number[] {
  const opts = { scale: 2, shift: 0.1 };
  const { backward } = api.vjp(make(opts))(t);
  opts.scale = 100;
  return backward(1);
}
`);
    check(module.api, module.make({ scale: 1.5, shift: 0.3 }), [[0.4], [1.1]]);
    const f = (t: number) => [0, 1, 2].reduce((s, i) => s + 2 * Math.sin(t * i + 0.1), 0);
    close(module.changed(0.6), fd(f, [0.6]));
  });

  it("calls between closures of one factory, and a closure calling a module function", async () => {
    const { module } = await compile(`
${RUNTIME}
/** @differentiable */
export function sq(x: number): number { return x * x; }
export function spring(k: number, rest: number) {
  /** @differentiable */
  function stretch(x: number): number { return x - rest; }
  /** @differentiable */
  function energy(x: number, v: number): number { return 0.5 * k * sq(stretch(x)) + 0.5 * sq(v); }
  return energy;
}
`);
    check(module.api, module.spring(4, 1.5), [
      [2, 0.3],
      [0.5, -1],
    ]);
  });
});

describe("where a closure is refused, with the reason", () => {
  const refusals = (source: string) =>
    compileToJs(source)
      .diagnostics.filter((d) => d.code >= 94000)
      .map((d) => ({ code: d.code, text: ts.flattenDiagnosticMessageText(d.messageText, " ") }));

  it("a captured variable another nested function assigns (it could change while the closure runs)", () => {
    const [d] = refusals(`
export function make(xs: number[]) {
  let k = 0;
  xs.forEach((v) => { k += v; });
  return /** @differentiable */ (t: number) => k * t;
}`);
    expect(d.code).toBe(94008);
    expect(d.text).toMatch(/`k` is assigned inside another nested function/);
    expect(d.text).toMatch(/copy it into a `const`/);
  });

  it("`this` in a closure, a closure in a default value, a capture of the statement's own header", () => {
    const found = refusals(`
export class B { s = 2; make() { return /** @differentiable */ (t: number) => this.s * t; } }
export function withDefault(f = /** @differentiable */ (x: number) => x * x) { return f; }
export function loop(n: number) {
  for (let i = 0, g = /** @differentiable */ (t: number) => t * i; i < n; i++) g(i);
}`);
    expect(found.map((d) => d.code)).toEqual([94003, 94012, 94008]);
    expect(found[0].text).toMatch(/`this` here is not an instance.*read the field into a `const` outside/);
    expect(found[1].text).toMatch(/no statement holds it/);
    expect(found[2].text).toMatch(/`i` is declared by the statement that creates this function/);
  });

  it("a closure inside a @differentiable function, handed on as a value, is refused there", () => {
    // Called by name, it is inlined (test/helpers.test.ts); handed to another function, it is a closure.
    const found = refusals(`
declare function apply(f: (v: number) => number, x: number): number;
/** @differentiable */
export function f(x: number): number {
  const sq = (v: number) => v * v;
  return apply(sq, x);
}`);
    expect(found[0]).toMatchObject({ code: 94010 });
    expect(found[0].text).toMatch(/closures are not supported in a @differentiable function/);
  });
});

describe("generated code", () => {
  it("reads as the factory's own functions, and type-checks under --strict", () => {
    const source = `
import { grad } from "tsgrad";
export function backIn(s: number) {
  return /** @differentiable */ (t: number) => t * t * ((s + 1) * t - s);
}
export const backOut = (s: number) => /** @differentiable */ (t: number) => 1 - (1 - t) ** 2 * ((s + 1) * (1 - t) - s);
export function make(k: number, n: number) {
  let c = k * 2;
  if (n > 3) c = c - 1;
  /** @differentiable */
  function f(t: number): number {
    let s = 0;
    for (let i = 0; i < n; i++) if (t * i > k) s += c * Math.sin(t * i); else s -= t * t * k;
    return s;
  }
  if (n > 10) return /** @differentiable */ (t: number) => t * c;
  return f;
}
export function slope(k: number, x: number): number[] {
  /** @differentiable */
  const f = (t: number) => k * t * t;
  return grad(f)(x);
}
`;
    expect(genStrictErrors(source, "strict-closures")).toEqual([]);
    const text = transformedText(source);
    // f_backward unpacks the captured values from the cache, under their own names.
    expect(text).toMatch(/const \{ t, n, k, c \} = cache;/);
    expect(text).toMatch(/cache: \{ t, n, k, c \}/);
  });
});
