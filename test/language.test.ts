// The scalar language, construct by construct: each compiled function's gradient is checked
// against central finite differences (the oracle) at points away from kinks and branch thresholds,
// and against hand derivations where a kink convention decides the answer.

import { describe, expect, it } from "vitest";
import { compile, expectClose, numericGradient } from "./harness.js";

/** Compiles one exported function `f`, returns f and its generated gradient. */
async function fn(
  body: string,
  params = "x: number, y: number",
): Promise<{ f: (...a: number[]) => number; g: (...a: number[]) => number[]; m: Record<string, any> }> {
  const { module } = await compile(`/** @differentiable */\nexport function f(${params}): number {\n${body}\n}\n`);
  return { f: module.f, g: module.f_grad, m: module };
}

async function checkFd(body: string, points: number[][], params?: string, tol = 1e-6): Promise<void> {
  const { f, g } = await fn(body, params);
  for (const p of points) expectClose(g(...p), numericGradient(f, p), tol);
}

describe("operators", () => {
  const cases: [string, string][] = [
    ["+ - * /", "return (x + y) * (x - y) / (x * y + 3);"],
    ["unary minus and +", "return -x * +y - -x;"],
    ["** with constant and variable exponents", "return x ** 3 + y ** 0.5 + x ** y;"],
    ["% (remainder)", "return (x * 7) % y;"],
    ["literals and Math constants", "return Math.PI * x + Math.E * y + 2.5;"],
  ];
  for (const [name, body] of cases)
    it(name, () =>
      checkFd(body, [
        [1.3, 2.1],
        [0.7, 3.9],
      ]),
    );
});

describe("Math functions (each checked on its valid domain)", () => {
  const unary: [string, number][] = [
    ["exp", 0.3],
    ["log", 1.7],
    ["log1p", 0.4],
    ["expm1", 0.6],
    ["log2", 1.9],
    ["log10", 2.2],
    ["sqrt", 1.4],
    ["cbrt", -1.8],
    ["sin", 0.9],
    ["cos", 0.9],
    ["tan", 0.4],
    ["asin", 0.3],
    ["acos", -0.4],
    ["atan", 1.2],
    ["sinh", 0.5],
    ["cosh", 0.5],
    ["tanh", 0.7],
    ["asinh", 0.8],
    ["acosh", 1.6],
    ["atanh", 0.35],
    ["abs", -1.1],
  ];
  for (const [name, x] of unary) {
    it(`Math.${name}`, () => checkFd(`return Math.${name}(x * y);`, [[x, 1]]));
  }
  it("Math.pow and Math.atan2", () =>
    checkFd("return Math.pow(x, y) + Math.atan2(x, y);", [
      [1.5, 2.5],
      [0.4, -1.2],
    ]));
  it("Math.max, Math.min and Math.hypot with many arguments", () =>
    checkFd("return Math.max(x, y, 2 * x - 1) + Math.min(x, y * y, 0.5) + Math.hypot(x, y, 3);", [
      [1.3, 0.2],
      [0.1, 2.5],
      [-2, 0.3],
    ]));
  it("piecewise-constant functions pass no gradient", async () => {
    const { g } = await fn(
      "return Math.floor(x) * y + Math.round(y) + Math.trunc(x * y) + Math.sign(x) * x + Math.ceil(y);",
    );
    // d/dx: only sign(x) * x varies smoothly, giving sign(x) = 1; d/dy = floor(x) = 2.
    expect(g(2.5, 1.25)).toEqual([1, 2]);
  });
});

describe("statements", () => {
  it("reassignment and compound assignment", () =>
    checkFd("let s = x; s = s * y; s += x; s -= y * 2; s *= s; s /= 1 + x * x; s **= 1.5; x = x + 1; return s + x;", [
      [1.2, 0.7],
    ]));
  it("++ and -- as statements", () => checkFd("let k = x * y; k++; k--; k++; return k * k;", [[0.5, 2]]));
  it("if/else with a join", () =>
    checkFd("let z = x; if (x > y) { z = x * y; } else { z = Math.sin(y); } return z * x;", [
      [2, 1],
      [1, 2],
    ]));
  it("if without else, variable assigned in the branch only", () =>
    checkFd("let z = y; if (x > 0) z = z * x; return z * z;", [
      [1.5, 2],
      [-1.5, 2],
    ]));
  it("else-if chains", () =>
    checkFd(
      "let r = 0; if (x < -1) { r = -x; } else if (x < 1) { r = x * x; } else { r = Math.log(x) + y; } return r * y;",
      [
        [-2, 1.5],
        [0.5, 1.5],
        [2, 1.5],
      ],
    ));
  it("early returns", () =>
    checkFd("if (x > 2) return x * y; const t = x + y; if (t > 1) { return t * t; } return Math.exp(t);", [
      [3, 1],
      [1, 1],
      [-1, 0.5],
    ]));
  it("nested branches changing several variables", () =>
    checkFd(
      "let a = x; let b = y; if (x > 0) { a = a * 2; if (y > 0) { b = a * b; } else { a = a + b; } } else { b = b - a; } return a * b;",
      [
        [1, 1],
        [1, -1],
        [-1, 1],
      ],
    ));
  it("ternaries evaluate only the taken side", () =>
    checkFd("return x > 0 ? Math.log(x) * y : Math.exp(x) - y;", [
      [2, 1],
      [-2, 1],
    ]));
  it("conditions with && || ! and comparisons", () =>
    checkFd("let r = x; if ((x > 0 && y > 0) || !(x < y)) { r = x * y; } return r + y;", [
      [1, 2],
      [-1, 2],
      [3, -1],
    ]));
  it("boolean locals", () =>
    checkFd("const positive = x > 0; const r = positive ? x : -x; return r * y;", [
      [1.5, 2],
      [-1.5, 2],
    ]));
  it("parameters whose adjoint would be a reserved word (o → do, efault → default)", async () => {
    const { f, g, m } = await fn("return o * efault + o;", "o: number, efault: number");
    expectClose(g(1.5, -2), numericGradient(f, [1.5, -2]));
    expect(m.f_grad.toString()).toMatch(/\bdo_2\b/);
  });
  it("a const declared in a block shadows nothing", () =>
    checkFd("let r = 0; { const t = x * y; r = t + 1; } return r * r;", [[0.3, 2]]));
  it("arrow function with expression body", async () => {
    const { module } = await compile(
      "/** @differentiable */\nexport const f = (x: number, y: number): number => x * Math.cos(y);\n",
    );
    expectClose(module.f_grad(0.5, 0.3), numericGradient(module.f, [0.5, 0.3]));
  });
  it("function expression", async () => {
    const { module } = await compile(
      "/** @differentiable */\nexport const f = function (x: number) { return x * x * x; };\n",
    );
    expectClose(module.f_grad(2), [12]);
  });
});

describe("calls and constants", () => {
  it("calls another differentiable function", async () => {
    const { module } = await compile(`
/** @differentiable */
export function sq(a: number): number { return a * a; }
/** @differentiable */
export function f(x: number, y: number): number { return sq(x * y) + sq(sq(x)) + Math.sin(y); }
`);
    expectClose(module.f_grad(1.2, 0.4), numericGradient(module.f, [1.2, 0.4]));
  });
  it("unannotated helpers are fine where no gradient flows through them", async () => {
    const { module } = await compile(`
function steps(n: number): number { return Math.floor(n / 2); }
const K = 3;
/** @differentiable */
export function f(x: number, y: number): number { const k = steps(7); if (steps(x) > 0) return x * k * K; return y * K; }
`);
    expect(module.f_grad(4, 1)).toEqual([9, 0]);
    expect(module.f_grad(1, 1)).toEqual([0, 3]);
  });
  it("parameters with no gradient path get 0", async () => {
    const { g } = await fn("return x * 2;");
    expect(g(1, 5)).toEqual([2, 0]);
  });
});

describe("no NaN where the true gradient is finite", () => {
  it("x ** 2 at 0", async () => expect((await fn("return x ** 2 + y;")).g(0, 1)).toEqual([0, 1]));
  it("x ** 0.5 away from 0", () => checkFd("return x ** 0.5 * y;", [[2.5, 1.5]]));
  it("Math.max(0, b) ** 2 at b <= 0", async () => {
    const { g } = await fn("const b = x - y; return Math.max(0, b) ** 2;");
    const zero = (v: number[]) => v.map((d) => d + 0); // -0 and 0 are the same gradient
    expect(zero(g(-1, 1))).toEqual([0, 0]);
    expect(zero(g(1, 1))).toEqual([0, 0]);
    expect(g(2, 1)).toEqual([2, -2]);
  });
  it("abs'(0) = 0 and max routes ties to the first operand", async () => {
    expect((await fn("return Math.abs(x) + y;")).g(0, 1)).toEqual([0, 1]);
    expect((await fn("return Math.max(x, y);")).g(1, 1)).toEqual([1, 0]);
  });
  it("a constant base with a variable exponent, and 0 ** y", async () => {
    const { g } = await fn("return 2 ** y + x ** y;");
    const [dx, dy] = g(0, 2);
    expect(dx).toBe(0);
    expect(dy).toBeCloseTo(Math.log(2) * 4, 12);
  });
});

describe("vjp and valueAndGrad on the generated functions", () => {
  it("forward/backward agree with grad and scale with the output gradient", async () => {
    const { m } = await fn("let z = x; if (x > y) { z = x * y; } return Math.tanh(z) * y;");
    const { value, cache } = m.f_forward(0.8, 0.3);
    expect(value).toBeCloseTo(m.f(0.8, 0.3), 14);
    const g = m.f_grad(0.8, 0.3);
    m.f_backward(cache, 3).forEach((d: number, i: number) => expect(d).toBeCloseTo(3 * g[i], 12));
  });
});
