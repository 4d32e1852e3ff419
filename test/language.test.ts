// The scalar language, construct by construct: each compiled function's gradient is checked
// against central finite differences (the oracle) at points away from kinks and branch thresholds,
// and against hand derivations where a kink convention decides the answer; vjp's f_forward and
// f_backward against f and f_grad. Then the Math rules at edge points of their domains, statements
// that stage hard (shadowing, joins, early returns, ternaries), odd but valid TypeScript (a
// diagnostic or a right gradient, never a crash), vjp for any dout, and generated names against
// the user's names.

import ts from "typescript";
import { describe, expect, it } from "vitest";
import {
  checkFd,
  checkVjp,
  compile,
  compileF,
  compileToJs,
  expectClose,
  numericGradient,
  refusedCodes,
  typeScriptErrors,
} from "./harness.js";

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
    const { g } = await compileF(
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
    const { f, g, m } = await compileF("return o * efault + o;", "o: number, efault: number");
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
    const { g } = await compileF("return x * 2;");
    expect(g(1, 5)).toEqual([2, 0]);
  });
});

describe("no NaN where the true gradient is finite", () => {
  it("x ** 2 at 0", async () => expect((await compileF("return x ** 2 + y;")).g(0, 1)).toEqual([0, 1]));
  it("x ** 0.5 away from 0", () => checkFd("return x ** 0.5 * y;", [[2.5, 1.5]]));
  it("Math.max(0, b) ** 2 at b <= 0", async () => {
    const { g } = await compileF("const b = x - y; return Math.max(0, b) ** 2;");
    const zero = (v: number[]) => v.map((d) => d + 0); // -0 and 0 are the same gradient
    expect(zero(g(-1, 1))).toEqual([0, 0]);
    expect(zero(g(1, 1))).toEqual([0, 0]);
    expect(g(2, 1)).toEqual([2, -2]);
  });
  it("abs'(0) = 0 and max routes ties to the first operand", async () => {
    expect((await compileF("return Math.abs(x) + y;")).g(0, 1)).toEqual([0, 1]);
    expect((await compileF("return Math.max(x, y);")).g(1, 1)).toEqual([1, 0]);
  });
  it("a constant base with a variable exponent, and 0 ** y", async () => {
    const { g } = await compileF("return 2 ** y + x ** y;");
    const [dx, dy] = g(0, 2);
    expect(dx).toBe(0);
    expect(dy).toBeCloseTo(Math.log(2) * 4, 12);
  });
});

describe("vjp and valueAndGrad on the generated functions", () => {
  it("forward/backward agree with grad and scale with the output gradient", async () => {
    const { m } = await compileF("let z = x; if (x > y) { z = x * y; } return Math.tanh(z) * y;");
    const { value, cache } = m.f_forward(0.8, 0.3);
    expect(value).toBeCloseTo(m.f(0.8, 0.3), 14);
    const g = m.f_grad(0.8, 0.3);
    m.f_backward(cache, 3).forEach((d: number, i: number) => expect(d).toBeCloseTo(3 * g[i], 12));
  });
});

// ---------------------------------------------------------------------------------------------
// Math rules at ordinary and edge points of their domains (runtime/rules/scalar.ts)

describe("rules: every unary Math rule against finite differences, several points of its domain", () => {
  const domains: Record<string, number[]> = {
    exp: [-3, 0, 2.5],
    expm1: [-2, 1e-9, 1.5],
    log: [0.01, 1, 40],
    log1p: [-0.9, 0, 3],
    log2: [0.3, 8],
    log10: [0.2, 1000],
    sqrt: [1e-4, 2, 1e6],
    cbrt: [-8, -0.01, 0.02, 27],
    sin: [-4, 0, 1.2],
    cos: [-4, 0, 1.2],
    tan: [-1.2, 0, 1.4],
    asin: [-0.99, 0, 0.7],
    acos: [-0.7, 0, 0.99],
    atan: [-50, 0, 3],
    sinh: [-3, 0, 2],
    cosh: [-3, 0, 2],
    tanh: [-5, 0, 0.5],
    asinh: [-10, 0, 2],
    acosh: [1.01, 3, 100],
    atanh: [-0.9, 0, 0.5],
    abs: [-3, 2],
  };
  for (const [name, xs] of Object.entries(domains)) {
    it(`Math.${name} at ${xs.join(", ")}`, async () => {
      const { f, g } = await compileF(`return Math.${name}(x);`, "x: number");
      for (const x of xs) expectClose(g(x), numericGradient(f, [x], Math.min(1e-6, Math.abs(x) / 100 || 1e-6)), 1e-5);
    });
  }
});

describe("rules: powers", () => {
  it("x ** 0 has gradient 0 everywhere, also at 0 and for negative x", async () => {
    const { g } = await compileF("return x ** 0 + Math.pow(x, 0);", "x: number");
    for (const x of [0, -2, 3]) expect(g(x)).toEqual([0]);
  });
  it("x ** y: hand values at 0 and at negative bases (the documented conventions)", async () => {
    const { g } = await compileF("return x ** y;");
    expect(g(0, 2)).toEqual([0, 0]); // 0 ** y is 0 for y > 0: no gradient on y
    expect(g(0, 1)).toEqual([1, 0]); // d/dx x at 0
    expect(g(0, 3)).toEqual([0, 0]);
    expect(g(-2, 2)).toEqual([-4, 0]); // y-gradient 0 where the base is <= 0
    expect(g(-2, 3)).toEqual([12, 0]);
    expectClose(
      g(1.5, -0.5),
      numericGradient((x, y) => x ** y, [1.5, -0.5]),
    );
  });
  it("x ** 2 at 0 and Math.max(0, x) ** 2 for x <= 0 have gradient 0", async () => {
    const { g } = await compileF("return x ** 2 + Math.max(0, y) ** 2;");
    expect(g(0, -1)).toEqual([0, 0]);
    expect(g(0, 0)).toEqual([0, 0]);
  });
  it("x ** x and Math.pow(x, x): both operands are the same variable", async () => {
    const { g } = await compileF("return x ** x + Math.pow(x, x);", "x: number");
    expectClose(g(1.7), [2 * 1.7 ** 1.7 * (1 + Math.log(1.7))]);
  });
  it("2 ** x, Math.E ** x and a negative constant exponent", async () => {
    await checkFd("return 2 ** x + Math.E ** y + x ** -2 + (x * y) ** -0.5;", [
      [1.3, 0.4],
      [0.2, 2],
    ]);
  });
  it("(-x) ** 2 and -(x ** 2) are emitted with the right parentheses", async () => {
    await checkFd("return (-x) ** 2 + -(x ** 2) * y + (-x) ** 3;", [
      [1.3, 0.4],
      [-0.7, 2],
    ]);
  });
});

describe("rules: % (remainder)", () => {
  it("d(a % b) = (1, -trunc(a / b)), positive and negative operands", async () => {
    const { g } = await compileF("return x % y;");
    expect(g(5.5, 2)).toEqual([1, -2]);
    expect(g(-5.5, 2)).toEqual([1, 2]);
    expect(g(5.5, -2)).toEqual([1, 2]);
    await checkFd("return x % y;", [
      [7.3, 2.1],
      [-7.3, 2.1],
      [0.3, 5],
    ]);
  });
  it("the gradient on the divisor matches the quotient % actually used (1 % 0.1)", async () => {
    // 1 % 0.1 is 0.09999999999999995 = 1 - 9 * 0.1 in floating point (the float 0.1 is a bit more
    // than 1/10, so the quotient is 9 and the function is 1 - 9b just above b = 0.1): the rule's
    // quotient comes from the value computed, (a - y) / b, not from a / b, which rounds to 10.
    const { f, g } = await compileF("return x % y;");
    expect(f(1, 0.1)).toBeCloseTo(1 - 9 * 0.1, 15);
    expect(g(1, 0.1)[1]).toBe(-9);
  });
});

describe("rules: atan2 and hypot", () => {
  it("atan2 in all four quadrants and on the axes", async () => {
    await checkFd("return Math.atan2(x, y);", [
      [1, 2],
      [1, -2],
      [-1, -2],
      [-1, 2],
      [0, 1],
      [1, 0],
      [-1, 0],
    ]); // not (0, -1): the branch cut);
  });
  it("atan2(x, x) is constant where x > 0: its gradient is exactly 0", async () => {
    const { g } = await compileF("return Math.atan2(x, x);", "x: number");
    expect(g(3)).toEqual([0]);
  });
  it("atan2 with tiny operands: the true gradient (5e169) is finite", async () => {
    // b / (a * a + b * b) would underflow: 1e-170 squared is 0, giving Infinity and -Infinity
    // where the gradient is 5e169 / -5e169. The rule divides by Math.hypot(a, b) twice instead,
    // which keeps it finite.
    const { g } = await compileF("return Math.atan2(x, y);");
    const [dx, dy] = g(1e-170, 1e-170);
    expect(Number.isFinite(dx) && Number.isFinite(dy)).toBe(true);
    expectClose([dx / 5e169, dy / -5e169], [1, 1], 1e-12);
  });
  it("hypot: 0 at the origin, one argument is |x|, repeated and constant operands", async () => {
    const { g } = await compileF("return Math.hypot(x, y);");
    expect(g(0, 0)).toEqual([0, 0]);
    expectClose(g(3, 4), [0.6, 0.8]);
    const one = await compileF(
      "return Math.hypot(x) + Math.hypot(x, x) + Math.hypot(x, 0) + Math.hypot(3, x);",
      "x: number",
    );
    expect(one.g(0)).toEqual([0]);
    expectClose(one.g(-2), [-1 - Math.SQRT2 - 1 + -2 / Math.hypot(3, 2)]);
  });
  it("hypot with huge and tiny operands stays finite", async () => {
    const { g } = await compileF("return Math.hypot(x, y);");
    expectClose(g(3e200, 4e200), [0.6, 0.8]);
    expectClose(g(3e-200, 4e-200), [0.6, 0.8]);
  });
});

describe("rules: kinks (abs, max, min) and the seed's routing", () => {
  it("abs'(0) = 0, also for -0", async () => {
    const { g } = await compileF("return Math.abs(x);", "x: number");
    expect(g(0)).toEqual([0]);
    expect(Math.abs(g(-0)[0])).toBe(0);
    expect(g(-2)).toEqual([-1]);
  });
  it("max/min with ties route everything to the first operand that won", async () => {
    const { g } = await compileF("return Math.max(x, y) + 10 * Math.min(x, y);");
    expect(g(1, 1)).toEqual([11, 0]);
    expect(g(2, 1)).toEqual([1, 10]);
  });
  it("max/min against constants, ties at the constant", async () => {
    const { g } = await compileF("return Math.max(x, 0) + Math.max(0, y) + Math.min(x, 0) * 3;");
    expect(g(0, 0)).toEqual([1 + 3, 0]); // x wins its ties (first operand); y loses to the constant 0
    expect(g(-1, -1)).toEqual([3, 0]);
    expect(g(1, 1)).toEqual([1, 1]);
  });
  it("max of the same variable twice, and of one or no argument", async () => {
    const { f, g } = await compileF(
      "return Math.max(x, x) + Math.max(x) + Math.min(y, y, y) + Math.max() * 0 + Math.min(x, 2 * x);",
    );
    expect(f(1, 2)).toBeNaN(); // -Infinity * 0 is NaN: the test only checks that it compiles the way JS does
    expect(g(1, 2)).toEqual([3, 1]);
    expect(g(-1, 2)).toEqual([4, 1]);
  });
});

describe("rules: sqrt near 0, sigmoid recognition and saturation", () => {
  it("sqrt at tiny and denormal arguments is finite", async () => {
    const { g } = await compileF("return Math.sqrt(x);", "x: number");
    for (const x of [1e-300, 5e-324, 1e-20]) {
      const [d] = g(x);
      expect(Number.isFinite(d)).toBe(true);
      expectClose([d * 2 * Math.sqrt(x)], [1], 1e-12);
    }
  });
  it("the sigmoid pattern saturates to 0 gradient, not NaN", async () => {
    const { g } = await compileF("return 1 / (1 + Math.exp(-x));", "x: number");
    expect(g(-800)).toEqual([0]);
    expect(g(800)).toEqual([0]);
    expectClose(g(0), [0.25]);
  });
  it("look-alikes of the sigmoid are not taken for it", async () => {
    await checkFd(
      "return 1 / (1 + Math.exp(x)) + 2 / (1 + Math.exp(-x)) + 1 / (2 + Math.exp(-y)) + 1 / (1 - Math.exp(-y)) + 1 / (Math.exp(-x) + 1) + 1 / (1 + Math.exp(-(x * y)));",
      [
        [0.3, 0.7],
        [-1.1, 2],
      ],
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Statements that stage hard: shadowing, reassignment, joins, early returns, ternaries

describe("staging: shadowing and names", () => {
  it("a block-scoped const shadows an outer variable of the same name", () =>
    checkFd("const t = x * 2; let r = 0; { const t = y * y; r = t + x; } return r * t;", [[0.3, 1.7]]));
  it("a shadowing let assigned inside a branch leaves the outer variable alone", () =>
    checkFd("let t = x; if (x > 0) { let t = y; t = t * x; t *= 3; } else { t = t * y; } return t * y + t;", [
      [0.5, 2],
      [-0.5, 2],
    ]));
  it("the same name declared in both branches and in nested blocks", () =>
    checkFd(
      "let r = x; if (x > y) { const u = x * y; r = u + 1; } else { const u = x - y; { const u2 = u * u; r = u2; } } const u = r * 2; return u + r;",
      [
        [2, 1],
        [1, 2],
      ],
    ));
  it("locals named like generated names: x_1, xpy, dx, prod, f, df, f_grad-like", () =>
    checkFd(
      "const x_1 = y * 3; x = x * 2; const xpy = x + y; const dx = xpy * x_1; const prod = dx * x; const f = prod + 1; const df = f * f; return df + x;",
      [[0.4, 1.1]],
    ));
  it("a local named like the function itself", async () => {
    const { module } = await compile(
      "/** @differentiable */\nexport function sq(x: number): number { const sq = x * x; return sq * x; }\n",
    );
    expectClose(module.sq_grad(2), [12]);
    checkVjp(module, "sq", [2]);
  });
});

describe("staging: reassignment, joins and branches", () => {
  it("x * x, x = x * x, parameters reassigned several times", () =>
    checkFd("x = x * x; y += x; x = x * y; y = y * y; return x * y + x * x;", [
      [0.7, 1.3],
      [-1.2, 0.4],
    ]));
  it("reassignment inside a branch, use after the branch", () =>
    checkFd("let s = x; if (y > 0) { s = s * y; s = s + x; } return s * s + y;", [
      [1.5, 2],
      [1.5, -2],
    ]));
  it("else-if chain assigning different variables in each arm", () =>
    checkFd(
      "let a = x; let b = y; let c = 1; if (x > 1) { a = x * x; } else if (x > 0) { b = y * y; } else if (x > -1) { c = x * y; } else { a = 1; b = 2; c = 3; } return a * b * c + a + b + c;",
      [
        [2, 0.5],
        [0.5, 0.5],
        [-0.5, 0.5],
        [-2, 0.5],
      ],
    ));
  it("a variable declared without initializer, assigned in every arm", () =>
    checkFd("let z: number; if (x > 0) { z = x * y; } else if (y > 0) z = Math.exp(x); else { z = y; } return z * z;", [
      [1, 2],
      [-1, 2],
      [-1, -2],
    ]));
  it("compound assignments inside branches", () =>
    checkFd("let s = x; if (x > 0) { s *= y; s += x; } else { s /= y; s **= 2; s -= y; } s %= 7; return s;", [
      [1.5, 2],
      [-1.5, 2],
    ]));
  it("a branch that reads a variable, then reassigns it, and the other branch that only reads it", () =>
    checkFd("let s = x * y; if (x > 0) { const t = s * 2; s = t + s; } else { y = s * 3; } return s + y;", [
      [1, 2],
      [-1, 2],
    ]));
  it("deeply nested ifs that each change the same variable", () =>
    checkFd(
      "let s = x; if (x > 0) { s = s * 2; if (y > 0) { s = s * y; if (x > 1) { s = s + y; } } else { s = s - y; } } return s * x;",
      [
        [2, 1],
        [0.5, 1],
        [0.5, -1],
        [-1, 1],
      ],
    ));
  it("++ / -- on parameters inside branches", () =>
    checkFd("if (x > 0) { x++; y--; } else { --x; ++y; } return x * y;", [
      [1, 2],
      [-1, 2],
    ]));
  it("the value of a variable before a branch is read after the branch changed it", () =>
    checkFd("let s = x; const before = s; if (y > 0) s = s * y; return s * before;", [
      [1.3, 2],
      [1.3, -2],
    ]));
});

describe("staging: early returns", () => {
  it("returns in nested ifs with code between them", () =>
    checkFd(
      "let s = x; if (x > 0) { s = s * y; if (y > 1) { return s * s; } s = s + 1; } else { if (y < 0) return y * x; s = s - y; } const t = s * x; if (t > 5) return t; return t * y;",
      [
        [1, 2],
        [1, 0.5],
        [3, 0.9],
        [-1, -2],
        [-1, 2],
      ],
    ));
  it("an else-if chain where only the middle arm returns", () =>
    checkFd("let s = x; if (x > 1) s = s * 2; else if (x > 0) return s * 3 * y; else s = s - y; return s * y;", [
      [2, 1.5],
      [0.5, 1.5],
      [-1, 1.5],
    ]));
  it("a ternary with Math.random() in its condition is consistent between forward and backward", async () => {
    // As for "Math.random() in an if condition" below: the condition is evaluated once, and the
    // backward pass follows the branch the forward pass took.
    const { m } = await compileF("return Math.random() < 0.5 ? x * 2 : x * 3;", "x: number");
    let mismatches = 0;
    for (let i = 0; i < 100; i++) {
      const { value, cache } = m.f_forward(1);
      if (m.f_backward(cache, 1)[0] !== value) mismatches++;
    }
    expect(mismatches).toBe(0);
  });
  it("a return inside a bare block, and a return after a joining if", () =>
    checkFd("let s = x; if (y > 0) s = s * y; { const t = s + 1; if (t > 2) { return t * t; } } return s;", [
      [3, 2],
      [0.1, 2],
      [0.1, -2],
    ]));
  it("early return of a ternary, and a ternary after early returns", () =>
    checkFd("if (x > 2) return y > 0 ? x * y : x - y; const t = x > 0 ? x : -x; return y < 0 ? t * y : t + y;", [
      [3, 1],
      [3, -1],
      [1, 1],
      [-1, -1],
    ]));
  it("sequential ifs that return on some paths only: generated code grows linearly, not 2^n", () => {
    // n ifs of the form `if (c) { if (d) return ...; s = ...; }` in a row: what follows a branch
    // that returns on some paths only is staged once, after a join, not copied into both of its
    // branches, so the generated code grows linearly in n (2^n copies of the tail would take
    // minutes to compile at n = 12).
    const size = (n: number) => {
      const body = [...Array(n).keys()]
        .map((i) => `if (x > ${i}) { if (y > ${i}) return x * ${i + 1}; s = s + x; }`)
        .join("\n");
      return compileToJs(
        `/** @differentiable */\nexport function f(x: number, y: number): number {\nlet s = y;\n${body}\nreturn s * y;\n}\n`,
      ).js.length;
    };
    expect(size(8) / size(4)).toBeLessThan(4);
  });
  it("...and its gradient is right", async () => {
    const n = 4;
    const body = [...Array(n).keys()]
      .map((i) => `if (x > ${i}) { if (y > ${i}) return x * ${i + 1}; s = s + x; }`)
      .join("\n");
    const ref = (x: number, y: number) => {
      let s = y;
      for (let i = 0; i < n; i++)
        if (x > i) {
          if (y > i) return x * (i + 1);
          s = s + x;
        }
      return s * y;
    };
    const { g } = await compileF(`let s = y;\n${body}\nreturn s * y;`);
    for (const p of [
      [5.5, 2.5],
      [5.5, 10],
      [2.5, 1.5],
      [-1, 3],
    ])
      expectClose(g(...p), numericGradient(ref, p));
  });
});

describe("staging: ternaries", () => {
  it("ternaries nested in ternaries, on both sides", () =>
    checkFd("return x > 0 ? (y > 0 ? x * y : x - y) : y > 0 ? x + y * y : -x * y;", [
      [1, 2],
      [1, -2],
      [-1, 2],
      [-1, -2],
    ]));
  it("a ternary inside a condition and inside a ternary's condition", () =>
    checkFd("let r = x; if ((x > 0 ? x : -x) > 1) r = r * y; return (y > 0 ? y : x) > 1 ? r * x : r + y;", [
      [2, 3],
      [0.5, 3],
      [-2, 0.5],
      [2, -3],
    ]));
  it("a ternary as an operand, a call argument, and in a compound assignment", () =>
    checkFd("let s = (x > 0 ? x : -x) * y; s += Math.exp(y > 0 ? x : y); s *= x > y ? x : y; return s;", [
      [1, 2],
      [-1, 0.5],
      [2, -1],
    ]));
  it("a ternary whose sides are constants and parameters (copies)", () =>
    checkFd("const a = x > 0 ? 1 : y; const b = y > 0 ? x : 2; return a * b + (x > y ? x : y);", [
      [1, 2],
      [-1, 2],
      [1, -2],
    ]));
  it("a ternary only evaluates the taken side: no NaN from the other", async () => {
    const { g } = await compileF("return x > 0 ? Math.sqrt(x) * y : Math.log(-x) + (y > 0 ? Math.log(y) : 0);");
    expectClose(g(-2, -1), [-0.5, 0]);
    expectClose(g(4, -1), [0.25 * -1, 2]);
  });
});

describe("conditions that call functions are evaluated once: the backward pass follows the branch the forward took", () => {
  it("Math.random() in an if condition: the backward pass must follow the branch the forward took", async () => {
    // A branch's test that calls a function is evaluated once, into a boolean the backward pass
    // reads: replaying `Math.random() < 0.5` would draw a new number and, about half the time,
    // return the other branch's gradient. Checked through vjp: value 2x ↔ gradient 2, value 3x ↔
    // gradient 3.
    const { m } = await compileF("if (Math.random() < 0.5) return x * 2; return x * 3;", "x: number");
    let mismatches = 0;
    for (let i = 0; i < 200; i++) {
      const { value, cache } = m.f_forward(1);
      const [dx] = m.f_backward(cache, 1);
      if (dx !== value) mismatches++;
    }
    expect(mismatches).toBe(0);
  });
  it("Math.random() stored in a local first is cached and consistent", async () => {
    const { m } = await compileF("const r = Math.random(); if (r < 0.5) return x * 2; return x * r;", "x: number");
    for (let i = 0; i < 50; i++) {
      const { value, cache } = m.f_forward(1);
      expect(m.f_backward(cache, 1)[0]).toBe(value);
    }
  });
  it("a call with a side effect in a condition is evaluated once per forward pass", async () => {
    // As for Math.random(): `tick() === 1` is evaluated once per forward pass, and the backward
    // pass follows the branch it chose, not a second call's.
    const { m } = await compileF(
      "if (tick() === 1) return x * 2; return x * 3;",
      "x: number",
      "let calls = 0;\nexport function tick(): number { calls++; return calls % 2; }",
    );
    for (let i = 0; i < 4; i++) {
      const { value, cache } = m.f_forward(1);
      expect(m.f_backward(cache, 1)[0]).toBe(value);
    }
  });
});

describe("accepted constants: enums, const objects, this.field, Math constants", () => {
  it("numeric enum members and `as const` fields are constants", () =>
    checkFd(
      "return x * E.A + y * E.B + x * y * K.k + Math.LN2 * x;",
      [[0.5, 1.5]],
      undefined,
      1e-6,
      "enum E { A = 2, B = A * 3 }\nconst K = { k: 4 } as const;",
    ));
  it("a module-level `let` of another type than number is refused (it could change between forward and backward)", () => {
    expect(refusedCodes("return k ? x : 1;", undefined, "let k = true;")).toContain(94008);
  });
  it("a module-level `let` number is read where the code reads it, and the backward pass keeps that value", async () => {
    const { module } = await compile(`
import { grad, vjp } from "tsgrad";
export let k = 2;
export function setK(v: number) { k = v; }
/** @differentiable */
export function f(x: number): number {
  let s = 0;
  for (let i = 0; i < 3; i++) s += Math.sin(x * k + i);
  return s * k;
}
export const gradAt = (x: number) => grad(f)(x);
export function changedBetween(x: number) {
  const v = vjp(f)(x);
  setK(5);
  const g = v.backward(1);
  setK(2);
  return g;
}
`);
    // d/dx of k * sum sin(x k + i) is k^2 * sum cos(x k + i), at k = 2.
    const expected = 4 * [0, 1, 2].reduce((s, i) => s + Math.cos(0.3 * 2 + i), 0);
    expectClose(module.gradAt(0.3), [expected]);
    expectClose(module.changedBetween(0.3), [expected]);
    module.setK(5);
    expectClose(module.gradAt(0.3), [25 * [0, 1, 2].reduce((s, i) => s + Math.cos(0.3 * 5 + i), 0)]);
    module.setK(2);
  });
  it("a helper of the module reading a module-level `let` is inlined, so vjp's backward pass keeps its reads", async () => {
    const { module } = await compile(`
import { vjp } from "tsgrad";
export let k = 2;
export function setK(v: number) { k = v; }
function helper(x: number): number {
  let s = 0;
  for (let i = 0; i < 2; i++) s += Math.sin(x * k + i);
  return s;
}
/** @differentiable */
export function viaHelper(x: number): number {
  return helper(x) * x;
}
export function changedBetween(x: number) {
  const v = vjp(viaHelper)(x);
  setK(5);
  const g = v.backward(1);
  setK(2);
  return g;
}
`);
    // d/dx of x * sum sin(2x + i) = sum sin(2x + i) + 2x * sum cos(2x + i), at k = 2.
    const expected = [0, 1].reduce((s, i) => s + Math.sin(0.6 + i) + 0.6 * Math.cos(0.6 + i), 0);
    expectClose(module.changedBetween(0.3), [expected]);
  });
  it("this.field in methods, through grad, valueAndGrad and vjp", async () => {
    const { module } = await compile(`
import { grad, valueAndGrad, vjp } from "tsgrad";
export class Model {
  constructor(readonly scale: number) {}
  /** @differentiable */
  loss(x: number, y: number): number { return this.scale * (x - y) ** 2; }
}
const m = new Model(3);
export const viaGrad = grad(m.loss)(2, 0.5);
export function viaValueAndGrad() { return valueAndGrad(m.loss)(2, 0.5); }
export function viaVjp() { return vjp(m.loss)(2, 0.5).backward(1); }
export function viaWrt() { return grad(m.loss, { wrt: [1] })(2, 0.5); }
`);
    expectClose(module.viaGrad, [9, -9]);
    // valueAndGrad(m.loss), vjp(m.loss) and grad(m.loss, { wrt }) call the generated methods with
    // `this` bound to m, as grad(m.loss) does; without it they would fail reading this.scale.
    expectClose(module.viaVjp(), [9, -9]);
    expect(module.viaValueAndGrad().value).toBe(6.75);
    expectClose(module.viaWrt(), [-9]);
  });
});

// ---------------------------------------------------------------------------------------------
// Odd but valid TypeScript: a diagnostic or a right gradient, never a crash

describe("odd but valid TypeScript inside a @differentiable function", () => {
  const odd: [string, string][] = [
    ["labeled block", "lbl: { if (x > 0) break lbl; } return x * y;"],
    ["empty statements and nested blocks", ";;{ ; { const t = x * y; ; } } return x;"],
    ["debugger", "debugger; return x;"],
    ["a number used as a condition", "if (x) return y * x; return y;"],
    ["a condition on a number with !", "return !x ? y : x * y;"],
    ["x! and satisfies", "return (x! satisfies number) * y;"],
    ["a local typed with a literal union", "const k: 1 | 2 = x > 0 ? 1 : 2; return k * x * y;"],
    ["an unused local that would be NaN", "const unused = Math.log(-1); return x * y;"],
    ["a boolean local reassigned", "let b = x > 0; if (y > 0) b = !b; return b ? x * y : y;"],
    ["a let with several declarators", "let a = x, b = y * a, c: number; c = a + b; return a * b * c;"],
    ["self-assignment", "let s = x; s = s; x = x; return s * x * y;"],
    ["a switch", "switch (true) { default: return x; }"],
    ["an in-expression assignment", "let s = 0; return (s = x) * y;"],
    ["a class expression", "const C = class {}; return x * y;"],
    ["new", "return new Number(x).valueOf() * y;"],
    ["instanceof in a condition", "if ((x as unknown) instanceof Object) return y; return x * y;"],
    ["huge and tiny literal exponents", "return Math.pow(x, 1e3) * 1e-300 + (x * x) ** 1e-308 * y;"],
    ["a bigint-free numeric separator and hex literal", "return x * 1_000 + y * 0x10 + 0b11 * x + 0o7 * y + .5 * x;"],
    ["a comparison chain with === on booleans", "return (x > 0) === (y > 0) ? x : y;"],
    ["a nested arrow", "const sq = (v: number) => v * v; return sq(x) * y;"],
    ["a for loop with a continue", "let s = 0; for (let i = 0; i < 2; i++) { if (i) continue; s += x; } return s * y;"],
    ["throw in a branch", "if (x < -100) throw new Error('x'); return x * y;"],
    ["return without a value after a throw", "if (x > 1e300) { throw 1; } return x * y;"],
    ["a label on an if", "lbl: if (x > 0) { return x * y; } return y;"],
    ["optional call on Math", "return Math.exp?.(x) * y;"],
    ["an element access on Math", 'return Math["exp"](x) * y;'],
    ["a parenthesized callee", "return (Math.exp)(x) * y;"],
    ["a getter", "return x * obj.k * y;"],
  ];
  const preamble = "const obj = { get k(): number { return 2; } };";
  for (const [name, body] of odd) {
    it(name, async () => {
      const source = `${preamble}\n/** @differentiable */\nexport function f(x: number, y: number): number {\n${body}\n}\n`;
      let result: ReturnType<typeof compileToJs> | undefined;
      expect(() => (result = compileToJs(source))).not.toThrow();
      const found = result!.diagnostics.filter((d) => d.source === "tsgrad");
      const tsOwn = result!.diagnostics.filter(
        (d) => d.source !== "tsgrad" && d.category === ts.DiagnosticCategory.Error,
      );
      if (found.length > 0 || tsOwn.length > 0) return; // refused (or not valid TypeScript): fine
      // Accepted: then its gradient must be right.
      const { f, g } = await compileF(body, undefined, preamble);
      for (const p of [
        [0.7, 1.3],
        [-0.4, 2.2],
      ])
        expectClose(g(...p), numericGradient(f, p));
    });
  }
});

describe("vjp: f_forward / f_backward agree with f and f_grad, for any dout", () => {
  const bodies = [
    "return x * y;",
    "let s = x; if (x > y) { s = s * y; } else { s = Math.exp(s); } return s * s;",
    "if (x > 0) return Math.max(x, y) * 2; const t = x * y; return t > 0 ? t : -t;",
    "const z = x > 0 ? Math.log(x) : x; let r: number; if (y > 0) r = z * y; else r = z; return r ** 2;",
    "return Math.max(x, y, 1) - Math.min(0, x * y) + Math.hypot(x, y) + Math.abs(x - y);",
    "return 1 / (1 + Math.exp(-(x * y))) + Math.atan2(y, x + 3) + (x % 2);",
    "return 3;",
    "return y;",
  ];
  for (const body of bodies) {
    it(body, async () => {
      const { m } = await compileF(body);
      for (const p of [
        [0.7, 1.3],
        [-0.4, 2.2],
        [1.5, -0.6],
        [0, 0],
      ])
        checkVjp(m, "f", p);
    });
  }
  it("the runtime API: grad, valueAndGrad, vjp and wrt agree", async () => {
    const { module } = await compile(`
import { grad, valueAndGrad, vjp } from "tsgrad";
/** @differentiable */
export function f(x: number, y: number): number { let s = x; if (y > 0) s = s * y; return s * x; }
const fv: (x: number, y: number) => number = f;
export const a = grad(f)(1.5, 2);
export const b = grad(fv)(1.5, 2);
export const c = valueAndGrad(f)(1.5, 2);
export const d = vjp(f)(1.5, 2).backward(3);
export const e = grad(f, { wrt: [1, 0] })(1.5, 2);
`);
    expectClose(module.a, [6, 2.25]);
    expectClose(module.b, [6, 2.25]);
    expect(module.c.value).toBe(4.5);
    expectClose(module.c.grad, [6, 2.25]);
    expectClose(module.d, [18, 6.75]);
    expectClose(module.e, [2.25, 6]);
  });
});

// ---------------------------------------------------------------------------------------------
// Generated code against the user's names: locals, parameters and module-level names that look
// like what tsgrad generates (the vjp cache, a callee's gradient, temporaries, Math), and user
// functions named like an internal op of the scalar rules (copy, neg, sigmoid) or like an inherited
// object key (toString, constructor): a refusal or a right gradient, never a module that fails to load.

describe("names: generated code must not collide with the user's names", () => {
  it("a local named `cache` (read by the backward pass) does not break f_backward", async () => {
    // f_backward's cache parameter is named around the user's names, so unpacking a local named
    // `cache` from it is not `const { x, cache } = cache;`, a SyntaxError when the module loads.
    const { m } = await compileF("const cache = x * x; return cache * x;", "x: number");
    expectClose(m.f_grad(2), [12]);
    checkVjp(m, "f", [2]);
  });
  it("a parameter named `cache`", async () => {
    // The same for a parameter named `cache`.
    const { m } = await compileF("return cache * cache * y;", "cache: number, y: number");
    checkVjp(m, "f", [2, 3]);
  });
  it("a local named like a callee's generated gradient (g_grad)", async () => {
    // The backward pass's call of g's gradient reaches the function, not the user's local number
    // named `g_grad` ("g_grad is not a function").
    const { m } = await compileF(
      "const g_grad = x * 2; return g(x) * g_grad;",
      "x: number",
      "/** @differentiable */\nexport function g(a: number): number { return a * a; }",
    );
    expectClose(m.f_grad(1.5), [3 * 1.5 ** 2 * 2]);
  });
  it("a local named Math does not break the rules' Math.* calls", async () => {
    // The `%` and `**` rules' gradients call Math functions: a local named Math (rare, but valid
    // TypeScript) is refused (TS94010); compiled, the generated code would have to reach the
    // global Math, never the user's number (a TypeError at run time).
    const source = "const Math = 2; return (x % y) * Math + x ** y;";
    const found = refusedCodes(source);
    if (found.length > 0) return;
    const { f, g } = await compileF(source);
    expectClose(g(2.5, 1.5), numericGradient(f, [2.5, 1.5]));
  });
  it("a module-level const named like a temporary (xpy, prod, exp_x)", () =>
    checkFd(
      "return (x + y) * (x * y) * Math.exp(x) + xpy + prod + exp_x;",
      [[0.3, 0.9]],
      undefined,
      1e-6,
      "const xpy = 1, prod = 2, exp_x = 3;",
    ));
});

describe("a user function whose name is also a rule's name is the user's function", () => {
  it("a user function named `copy` is called, not taken for the identity", async () => {
    // "copy", "neg" and "sigmoid" are internal ops of the scalar rules: a callee is resolved to the
    // user's function before any rule is looked up, so `copy(x)` is the user's copy (an unmarked
    // helper, differentiated as written), never taken for the identity (value 2 where f(2) is 10).
    const { module } = await compile(`
function copy(v: number): number { return v * 5; }
/** @differentiable */
export function f(x: number, y: number): number { return copy(x) * y; }
`);
    expect(module.f_forward(2, 3).value).toBe(30);
    expect(module.f_grad(2, 3)).toEqual([15, 10]);
  });
  it("a user @differentiable function named `sigmoid` (here tanh) is the user's, not the built-in", async () => {
    // The same for sigmoid: sigmoid(x) is the user's tanh, its value and its gradient, not the
    // built-in 1 / (1 + Math.exp(-x)) with (1 - s) * s.
    const { module } = await compile(`
/** @differentiable */
export function sigmoid(a: number): number { return Math.tanh(a); }
/** @differentiable */
export function f(x: number): number { return sigmoid(x) * 2; }
`);
    expect(module.f_forward(0.5).value).toBeCloseTo(2 * Math.tanh(0.5), 15);
    expectClose(module.f_grad(0.5), [2 * (1 - Math.tanh(0.5) ** 2)]);
  });
  it("a user function named `neg`", async () => {
    // The same for "neg", an internal op of the scalar rules.
    const { module } = await compile(`
/** @differentiable */
export function neg(a: number): number { return a * a; }
/** @differentiable */
export function f(x: number): number { return neg(x) + 1; }
`);
    expect(module.f(3)).toBe(10);
    expect(module.f_forward(3).value).toBe(10);
    expectClose(module.f_grad(3), [6]);
  });
  it("a user function named `toString` / `constructor` does not crash the compiler", () => {
    // A rule is one of the table's own keys: `toString` and `constructor`, which every object
    // inherits, are not rules, so these are the user's functions, not a crash of tsc ("no token
    // for operator toString").
    const source = `
/** @differentiable */
function toString(a: number): number { return a * 3; }
/** @differentiable */
export function f(x: number): number { return toString(x) * x; }
`;
    expect(typeScriptErrors(source)).toEqual([]);
    expect(() => compileToJs(source)).not.toThrow();
  });
  it("...and when it compiles, its gradient is right", async () => {
    // The user's toString, differentiated as any other callee: d/dx (3x · x) = 6x.
    const { module } = await compile(`
/** @differentiable */
function toString(a: number): number { return a * 3; }
/** @differentiable */
export function f(x: number): number { return toString(x) * x; }
`);
    expectClose(module.f_grad(2), [12]);
  });
});
