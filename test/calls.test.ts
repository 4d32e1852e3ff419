// Calls between differentiable functions: in one module, across modules (named, renamed and
// namespace imports), recursion, class methods, and grad() on function values passed at run time.

import { describe, expect, it } from "vitest";
import ts from "typescript";
import { checkVjp, compile, compileProject, emitProject, expectClose, numericGradient } from "./harness.js";

const lib = `
/** @differentiable */
export function square(a: number): number { return a * a; }
/** @differentiable */
export function softplus(a: number): number { return Math.log1p(Math.exp(a)); }
`;

describe("calls across modules", () => {
  it("named, renamed and namespace imports of differentiable functions", async () => {
    const { module } = await compileProject(
      {
        "lib.ts": lib,
        "main.ts": `
import { square, softplus as sp } from "./lib.js";
import * as L from "./lib.js";
/** @differentiable */
export function f(x: number, y: number): number { return square(x * y) + sp(x) + L.square(L.softplus(y)); }
`,
      },
      "main.ts",
    );
    expectClose(module.f_grad(0.7, -0.4), numericGradient(module.f, [0.7, -0.4]));
  });
});

describe("module-level lets across modules", () => {
  const config = `
export let scale = 2;
export function setScale(v: number) { scale = v; }
/** @differentiable */
export function scaled(x: number): number { return Math.sin(x) * scale; }
`;

  it("an imported let number is read where the code reads it, and kept for vjp's backward pass", async () => {
    const { module } = await compileProject(
      {
        "config.ts": config,
        "main.ts": `
import { vjp } from "tsgrad";
import { scale, setScale } from "./config.js";
/** @differentiable */
export function f(x: number): number { return Math.exp(x * scale); }
export function changedBetween(x: number) {
  const v = vjp(f)(x);
  setScale(5);
  const g = v.backward(1);
  setScale(2);
  return g;
}
`,
      },
      "main.ts",
    );
    expectClose(module.changedBetween(0.3), [2 * Math.exp(0.6)]);
  });

  it("a marked function of another module reading its let is refused at the call", () => {
    const { diagnostics } = emitProject({
      "config.ts": config,
      "main.ts": `
import { scaled } from "./config.js";
/** @differentiable */
export function f(x: number): number { return scaled(x * x); }
`,
    });
    const errors = diagnostics.filter((d) => d.code === 94008);
    expect(errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, " "))).toEqual([
      expect.stringMatching(/`scaled` reads a module-level `let`.*pass the value in as a parameter/),
    ]);
  });
});

describe("calls in one module", () => {
  it("recursion follows the same path backward", async () => {
    const { module } = await compile(`
/** @differentiable */
export function power(x: number, n: number): number {
  if (n <= 0) return 1;
  return x * power(x, n - 1);
}
`);
    expect(module.power_grad(1.5, 4)[0]).toBeCloseTo(4 * 1.5 ** 3, 12);
  });

  it("grad of a function value passed at run time (an optimizer taking a loss)", async () => {
    const { module } = await compile(`
import { grad } from "tsgrad";
/** @differentiable */
export function loss(w: number, b: number): number { return (w * 2 + b - 1) ** 2; }
export function descend(f: (w: number, b: number) => number, w: number, b: number, steps: number): number[] {
  const df = grad(f);
  for (let i = 0; i < steps; i++) {
    const [dw, db] = df(w, b);
    w -= 0.05 * dw;
    b -= 0.05 * db;
  }
  return [w, b];
}
export const trained = descend(loss, 0, 0, 200);
`);
    const [w, b] = module.trained;
    expect(module.loss(w, b)).toBeLessThan(1e-10);
  });

  it("grad(f) of a statically known function compiles to f_grad", async () => {
    const { js } = await compile(`
import { grad } from "tsgrad";
/** @differentiable */
export function f(x: number): number { return x * x; }
export const df = grad(f);
`);
    expect(js).toMatch(/export const df = f_grad;/);
  });
});

describe("class methods", () => {
  it("the decorator and the JSDoc tag, static and instance, with this.field as a constant", async () => {
    const { module } = await compile(`
import { differentiable, grad } from "tsgrad";
export class Model {
  constructor(readonly scale: number) {}
  @differentiable
  loss(x: number, y: number): number { return this.scale * (x - y) ** 2; }
  /** @differentiable */
  static norm(x: number, y: number): number { return Math.hypot(x, y); }
}
const m = new Model(3);
export const viaBind = grad(m.loss)(2, 0.5);
export const viaStatic = grad(Model.norm)(3, 4);
`);
    expectClose(module.viaBind, [3 * 2 * 1.5, -3 * 2 * 1.5]);
    expectClose(module.viaStatic, [0.6, 0.8]);
  });
});

describe("calls: repeated arguments, nesting, calls in conditions, recursion through a ternary, mutual recursion", () => {
  const lib = `
/** @differentiable */
export function g(a: number, b: number): number { return a * a * b + Math.sin(b); }
/** @differentiable */
export function h(a: number): number { return a > 0 ? g(a, a) : -a; }
`;
  it("repeated arguments g(x, x), nested calls and calls in conditions", async () => {
    const { module } = await compile(`${lib}
/** @differentiable */
export function f(x: number, y: number): number {
  let s = g(x, x) + g(g(x, y), y) + h(x * y);
  if (g(y, x) > 1) s = s * h(x);
  return s;
}
`);
    for (const p of [
      [0.7, 1.2],
      [-0.7, 1.2],
      [0.2, -0.3],
    ]) {
      expectClose(module.f_grad(...p), numericGradient(module.f, p));
      checkVjp(module, "f", p);
    }
  });
  it("recursion through a ternary and mutual recursion", async () => {
    const { module } = await compile(`
/** @differentiable */
export function p(x: number, n: number): number { return n <= 0 ? 1 : x * p(x, n - 1); }
/** @differentiable */
export function even(x: number, n: number): number { if (n <= 0) return x; return odd(x * x, n - 1) + x; }
/** @differentiable */
export function odd(x: number, n: number): number { if (n <= 0) return 2 * x; return even(Math.sin(x), n - 1); }
`);
    expectClose(module.p_grad(1.5, 4), [4 * 1.5 ** 3, 0]);
    // only d/dx: in n the function is piecewise constant with jumps at integers
    expectClose([module.even_grad(0.6, 3)[0]], [numericGradient(module.even, [0.6, 3])[0]]);
    checkVjp(module, "even", [0.6, 3]);
  });
});
