// Custom derivatives (`@derivative f`) and stopGradient: the backward pass calls the user's
// derivative in place of differentiating f, across modules and in loops; stopGradient cuts flow.

import { describe, expect, it } from "vitest";
import { compile, compileProject, compileToJs, expectClose, numericGradient } from "./harness.js";

const LIB = `
/** log(1 + exp(x)); for large x the naive derivative exp(x) / (1 + exp(x)) would be Infinity / Infinity. */
export function softplus(x: number): number {
  return x > 30 ? x : Math.log1p(Math.exp(x));
}

/** @derivative softplus */
export function softplusDerivative(x: number, y: number, dy: number): [number] {
  return [dy / (1 + Math.exp(-x))];
}
`;

describe("custom derivatives", () => {
  it("are called by the backward pass, for a function of another module, inside a loop", async () => {
    const { module: m, js } = await compileProject(
      {
        "lib.ts": LIB,
        "main.ts": `import { softplus } from "./lib.js";
/** @differentiable */
export function loss(w: number, b: number): number {
  let s = 0;
  for (let i = 0; i < 3; i++) s += softplus(w * i + b);
  return s;
}`,
      },
      "main.ts",
    );
    expect(js).toMatch(/import \{[^}]*softplusDerivative[^}]*\} from "\.\/lib\.js"/);
    expect(js).toContain("softplusDerivative(");
    for (const args of [
      [0.3, -0.2],
      [2, 1],
    ]) {
      expectClose(m.loss_grad(...args), numericGradient(m.loss, args));
      const { cache } = m.loss_forward(...args);
      expect(m.loss_backward(cache, 1)).toEqual(m.loss_grad(...args));
    }
    // Where the naive formula overflows, the user's derivative stays finite: d/db = sum of sigmoids = 3.
    expect(m.loss_grad(0, 800)).toEqual([3, 3]);
  });

  it("take precedence over differentiating a @differentiable function, and receive y and dy", async () => {
    const { module: m } = await compile(`
/** @differentiable */
export function cube(x: number): number {
  return x * x * x;
}
export const seen: number[] = [];
/** @derivative cube */
export function cubeDerivative(x: number, y: number, dy: number): [number] {
  seen.push(x, y, dy);
  return [3 * x * x * dy];
}
/** @differentiable */
export function f(x: number): number {
  return 2 * cube(x + 1);
}`);
    expect(m.f_grad(1)).toEqual([24]);
    expect(m.seen).toEqual([2, 8, 2]);
  });

  it("a derivative with the wrong number of parameters, or of an unknown function, is an error at its name", () => {
    const { diagnostics } = compileToJs(`
export function g(x: number, y: number): number { return x * y; }
/** @derivative g */
export function gDerivative(x: number, dy: number): [number, number] { return [dy, dy]; }
/** @derivative nowhere */
export function lost(x: number, y: number, dy: number): [number] { return [dy]; }
`);
    const ours = diagnostics.filter((d) => d.code === 94013);
    expect(ours.map((d) => d.file!.text.slice(d.start!, d.start! + d.length!))).toEqual(["gDerivative", "lost"]);
    expect(String(ours[0].messageText)).toMatch(
      /its 2 argument\(s\), its value and the gradient on its value \(4 parameters\)/,
    );
    expect(String(ours[1].messageText)).toMatch(/no function named `nowhere`/);
  });
});

describe("custom derivatives of a function's own gradient, and in other forms", () => {
  it("grad(f) of a function with its own derivative is that derivative (the README's straight-through quantize)", async () => {
    const { module: m } = await compile(`
import { grad, valueAndGrad } from "tsgrad";
/** @differentiable */
export function quantize(x: number): number { return Math.round(x * 4) / 4; }
/** @derivative quantize */
export function quantizeDerivative(x: number, y: number, dy: number): [number] { return [dy]; }
/** @differentiable */
export function loss(x: number): number { return quantize(x) * quantize(x); }
export const direct = (x: number) => grad(quantize)(x);
export const both = (x: number) => valueAndGrad(quantize)(x);`);
    expect(m.direct(0.7)).toEqual([1]); // the body's gradient would be 0
    expect(m.both(0.7)).toEqual({ value: 0.75, grad: [1] });
    const { value, cache } = m.quantize_forward(0.7);
    expect(value).toBe(0.75);
    expect(m.quantize_backward(cache, 3)).toEqual([3]);
    // Hand, straight through: d/dx q(x)² = 2 q(x).
    expect(m.loss_grad(0.7)).toEqual([1.5]);
  });

  it("a derivative may be a const holding an arrow function, in another module too", async () => {
    const { module: m, js } = await compileProject(
      {
        "lib.ts": `export function softplus(x: number): number { return x > 30 ? x : Math.log1p(Math.exp(x)); }
/** @derivative softplus */
export const softplusDerivative = (x: number, y: number, dy: number): [number] => [dy / (1 + Math.exp(-x))];`,
        "main.ts": `import { softplus } from "./lib.js";
/** @differentiable */
export function f(w: number, b: number): number { return softplus(w * b) + b; }`,
      },
      "main.ts",
    );
    expect(js).toContain(`import { softplusDerivative } from "./lib.js";`);
    for (const args of [
      [0.3, -0.2],
      [2, 1],
    ])
      expectClose(m.f_grad(...args), numericGradient(m.f, args));
    expect(m.f_grad(1, 800)).toEqual([800, 2]); // sigmoid(800) = 1, where exp(800) / (1 + exp(800)) is NaN
  });

  it("a call's result used on some paths only: the derivative reads a gradient declared before the branch", async () => {
    // The derivative's call comes after the branch that adds into du and reads it; du was declared
    // inside the branch (ReferenceError: du is not defined). Same cause as recursive calls'
    // g_backward(cache, du), tested in test/recursion.test.ts.
    const { module: m } = await compile(`
export function sp(x: number): number { return Math.log1p(Math.exp(x)); }
/** @derivative sp */
export function spD(x: number, y: number, dy: number): [number] { return [dy / (1 + Math.exp(-x))]; }
/** @differentiable */
export function f(x: number): number {
  const u = sp(x * 0.5);
  return x > 1 ? u * x : x;
}
/** @differentiable */
export function g(x: number, y: number): number {
  let s = y;
  for (let i = 0; i < 3; i++) {
    const u = sp(s * x);
    if (u > 1.2) break;
    s += u * y;
  }
  return s;
}`);
    const sigmoid = (t: number) => 1 / (1 + Math.exp(-t));
    // f = x sp(x / 2) for x > 1, f' = sp(x / 2) + x σ(x / 2) / 2; else f' = 1.
    for (const x of [3, 1.4, 0.6, -2]) {
      const df = x > 1 ? Math.log1p(Math.exp(x / 2)) + (x * sigmoid(x / 2)) / 2 : 1;
      expectClose(m.f_grad(x), [df], 1e-12);
      expectClose(m.f_grad(x), numericGradient(m.f, [x]));
      expect(m.f_backward(m.f_forward(x).cache, 2)).toEqual([2 * m.f_grad(x)[0]]);
    }
    for (const args of [
      [0.5, 0.3],
      [0.2, 0.9],
      [1.5, 0.4],
      [-0.7, 1.1],
    ]) {
      expectClose(m.g_grad(...args), numericGradient(m.g, args));
      expect(m.g_backward(m.g_forward(...args).cache, 1)).toEqual(m.g_grad(...args));
    }
  });
});

describe("stopGradient", () => {
  it("passes the value and no gradient", async () => {
    const { module: m } = await compile(`
import { stopGradient } from "tsgrad";
/** @differentiable */
export function f(x: number, y: number): number {
  const scale = stopGradient(x * y);
  return scale * x + y;
}`);
    expect(m.f(2, 3)).toBe(15);
    // d/dx = scale = 6 (not 2xy + ...), d/dy = 1.
    expect(m.f_grad(2, 3)).toEqual([6, 1]);
  });
});
