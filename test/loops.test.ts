// Loops: the examples of examples/loops.ts against closed forms and finite differences, each loop
// form and exit, and the properties the design promises: the stack is balanced after every
// gradient, vjp's backward pass can run twice, and a loop like `s += a * b` saves nothing. Then
// every loop form, carried variables, nesting, calls and stateful tests in loop programs compiled
// in batches (test/loop-cases.ts), what is refused, and the frames of counting loops.

import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { generatedText } from "../transformer/text.js";
import {
  checkWithStack,
  compile,
  compilerOptions,
  createProgram,
  expectClose,
  genStrictErrors,
  numericGradient,
  root,
  tsgradCodes,
} from "./harness.js";
import { SAVED_EXPORT, calls, carried, forms, nesting, stateful, suite, xy } from "./loop-cases.js";

let ex: Record<string, any>;
let runtime: typeof import("../runtime/index.js");

beforeAll(async () => {
  ex = (await compile(readFileSync(join(root, "examples/loops.ts"), "utf8"))).module;
  runtime = await import("tsgrad" as string);
});

/** f_grad, f_forward + f_backward (twice) and finite differences agree; the shared stack ends empty. */
function check(m: Record<string, any>, name: string, args: number[], tol = 1e-6, h = 1e-6): number[] {
  const before = runtime.saved.size;
  const g: number[] = m[`${name}_grad`](...args);
  expect(runtime.saved.size, "f_grad leaves the shared stack as it found it").toBe(before);
  expectClose(g, numericGradient(m[name], args, h), tol);
  const { value, cache } = m[`${name}_forward`](...args);
  expect(value).toBe(m[name](...args));
  expect(m[`${name}_backward`](cache, 1)).toEqual(g);
  expect(m[`${name}_backward`](cache, 2)).toEqual(g.map((v) => 2 * v));
  return g;
}

describe("the loop examples", () => {
  it("Newton's method for sqrt(a): the gradient is 1 / (2 sqrt(a))", () => {
    for (const a of [0.5, 2, 10, 1e4]) {
      expect(ex.newtonSqrt(a)).toBeCloseTo(Math.sqrt(a), 12);
      const [da] = check(ex, "newtonSqrt", [a]);
      expect(da).toBeCloseTo(1 / (2 * Math.sqrt(a)), 12);
    }
  });

  it("exp(x) as a series summed to 1e-16: the gradient is exp(x)", () => {
    for (const x of [-2, 0.3, 1, 5]) {
      expect(ex.expSeries(x) / Math.exp(x)).toBeCloseTo(1, 14);
      const [dx] = check(ex, "expSeries", [x]);
      expect(dx / Math.exp(x)).toBeCloseTo(1, 13);
    }
  });

  it("the logistic map for 50 steps, against the product of the step derivatives", () => {
    for (const [r, x0] of [
      [2.5, 0.3],
      [3.2, 0.7],
      [3.5, 0.51],
    ]) {
      const [dr, dx0] = check(ex, "logisticMap", [r, x0], 1e-5, 1e-9);
      // Forward-mode by hand: x' = r x (1 - x), dx'/dx = r (1 - 2x), dx'/dr = x (1 - x).
      let [x, ddr, ddx0] = [x0, 0, 1];
      for (let i = 0; i < 50; i++)
        [x, ddr, ddx0] = [r * x * (1 - x), x * (1 - x) + r * (1 - 2 * x) * ddr, r * (1 - 2 * x) * ddx0];
      expect(dr).toBeCloseTo(ddr, 6);
      expect(dx0).toBeCloseTo(ddx0, 6);
    }
  });

  it("a spring-mass system, 200 explicit Euler steps: gradient of the final energy", () => {
    const [dk, dm, dx0] = check(ex, "springEnergy", [3, 1.5, 0.7]);
    // Energy is homogeneous of degree 2 in x0 (the system is linear): dE/dx0 = 2 E / x0.
    expect(dx0).toBeCloseTo((2 * ex.springEnergy(3, 1.5, 0.7)) / 0.7, 10);
    expect(Number.isFinite(dk) && Number.isFinite(dm)).toBe(true);
  });

  it("a loan paid off in a while loop whose trip count depends on the inputs", () => {
    for (const args of [
      [1000, 0.01, 100],
      [5000, 0.004, 230],
      [100, 0.02, 250],
    ])
      check(ex, "totalPaid", args);
    // Paid off in one month: total = principal * (1 + rate), d/dprincipal = 1 + rate.
    expect(ex.totalPaid_grad(100, 0.02, 250)).toEqual([1.02, 100, 0]);
  });
});

const LANGUAGE = `
/** @differentiable */
export function countDown(x: number, n: number): number {
  let y = x;
  for (let i = n; i >= 1; i--) y = y * x + i;
  return y;
}
/** @differentiable */
export function halfSteps(x: number): number {
  let y = 0;
  for (let t = 0; t < 1; t += 0.25) y += Math.sin(t * x);
  return y;
}
/** @differentiable */
export function breakAndContinue(x: number, y: number): number {
  let s = 0;
  for (let i = 0; i < 100; i++) {
    if (s > 10) break;
    s += Math.exp(x * 0.1) * y;
    if (i % 2 === 0) continue;
    s = s * 1.01;
  }
  return s;
}
/** @differentiable */
export function forever(x: number): number {
  let y = x;
  let i = 0;
  for (;;) {
    y = Math.tanh(y) + x;
    i++;
    if (i >= 6) break;
  }
  return y;
}
/** @differentiable */
export function doWhile(x: number): number {
  let y = x;
  let n = 0;
  do {
    y = Math.sqrt(y * y + 1);
    n += 1;
  } while (n < 4);
  return y;
}
/** @differentiable */
export function nested(x: number, y: number): number {
  let acc = x;
  for (let i = 0; i < 5; i++) {
    let t = acc;
    for (let j = 0; j <= i; j++) {
      t = Math.sin(t) * y + j;
    }
    acc = acc * 0.5 + t;
  }
  return acc;
}
/** @differentiable */
export function inBranch(x: number, c: number): number {
  let y = x;
  if (c > 0) {
    for (let i = 0; i < 3; i++) y = y * y * 0.5 + x;
  } else {
    y = -y;
  }
  return y;
}
/** @differentiable */
export function swap(a: number, b: number): number {
  for (let i = 0; i < 3; i++) {
    const t = a;
    a = b * 2;
    b = t + a;
  }
  return a * b;
}
/** @differentiable */
export function dot(a: number, b: number): number {
  let s = 0;
  for (let i = 0; i < 10; i++) s += a * b * i;
  return s;
}
/** @differentiable */
export function square(u: number): number {
  return u * u;
}
/** @differentiable */
export function callsInLoop(x: number): number {
  let y = x;
  for (let i = 0; i < 4; i++) y = square(y) * 0.5 + Math.exp(-y);
  return y;
}
/** An unannotated helper: fine where no gradient flows through it, as a loop bound. */
export function count(n: number): number {
  calls++;
  return Math.round(n);
}
export let calls = 0;
/** @differentiable */
export function helperBound(x: number, n: number): number {
  let y = x;
  for (let i = 0; i < count(n); i++) y = Math.sin(y) + x;
  let j = 0;
  do {
    y = y * 0.9;
    j++;
  } while (j < count(n) / 2);
  return y;
}
/** @differentiable */
export function firstAbove(x: number, y: number): number {
  let s = x;
  for (let i = 0; i < 10; i++) {
    s = s * y + 0.1;
    if (s > 2) return s * x;
  }
  return -s;
}
/** @differentiable */
export function nestedReturn(x: number, y: number): number {
  let s = x;
  for (let i = 0; i < 4; i++) {
    if (y > 0) {
      for (let j = 0; j < 3; j++) {
        s = Math.sin(s) + y;
        if (s > 1.2) return s * s;
      }
    }
    s = s * 1.1;
  }
  return s + y;
}
/** @differentiable */
export function whileReturn(x: number): number {
  let s = x;
  while (s < 100) {
    s = s * 2 + x;
    if (s > 50) {
      return Math.exp(s * 0.01);
    }
  }
  return s;
}
/** @differentiable */
export function zeroTrips(x: number, n: number): number {
  let y = x;
  for (let i = 0; i < n; i++) y = y * y;
  return y + x;
}
`;

describe("loop forms and exits", () => {
  let m: Record<string, any>;
  beforeAll(async () => {
    m = (await compile(LANGUAGE)).module;
  });
  it("a counter running down from a parameter", () => check(m, "countDown", [0.7, 4.5]));
  it("a for loop whose update is not a counter", () => check(m, "halfSteps", [1.3]));
  it("break and continue, at the top of the body and under ifs", () => check(m, "breakAndContinue", [0.5, 0.8]));
  it("for (;;) left by a break", () => check(m, "forever", [0.2]));
  it("do ... while", () => check(m, "doWhile", [0.4]));
  it("nested loops, the inner bound set by the outer counter", () => check(m, "nested", [0.3, 0.7]));
  it("a loop inside a branch, taken or not", () => {
    check(m, "inBranch", [0.3, 1]);
    check(m, "inBranch", [0.3, -1]);
  });
  it("variables that swap through a temporary", () => check(m, "swap", [0.3, -0.2]));
  it("calls of differentiable functions in the body", () => check(m, "callsInLoop", [0.9]));
  it("return inside a loop, inside a nested loop in a branch, or never reached", () => {
    expect(m.firstAbove(0.5, 1.5)).toBeCloseTo(0.5 * (((0.5 * 1.5 + 0.1) * 1.5 + 0.1) * 1.5 + 0.1), 12); // returns in the 3rd iteration
    check(m, "firstAbove", [0.5, 1.5]);
    check(m, "firstAbove", [0.5, 0.5]); // never above 2: falls through to return -s
    check(m, "nestedReturn", [0.3, 0.7]); // returns from the inner loop
    check(m, "nestedReturn", [0.3, 0.2]); // never returns early
    check(m, "nestedReturn", [0.3, -0.5]); // skips the inner loop
    check(m, "whileReturn", [0.7]);
    check(m, "whileReturn", [30]);
  });
  it("a loop test that calls an unannotated helper is evaluated once per test, as JavaScript does", () => {
    const before = m.calls;
    m.helperBound(0.4, 4);
    const perCall = m.calls - before;
    expect(perCall).toBe(5 + 2); // i = 0..4 (5 tests), j = 1, 2 (2 tests)
    const g = check(m, "helperBound", [0.4, 4.2]);
    expect(g[1]).toBe(0); // no gradient through the bound
    const [dx] = m.helperBound_grad(0.4, 4);
    expect(m.calls - before).toBeGreaterThan(perCall); // the gradient ran the loops too...
    expect(dx).toBeCloseTo(numericGradient(m.helperBound, [0.4, 4])[0], 6);
  });
  it("a loop that runs zero times, with a non-integer bound", () => {
    expect(m.zeroTrips_grad(0.5, 0)).toEqual([2, 0]);
    check(m, "zeroTrips", [0.9, 2.5]); // runs i = 0, 1, 2
  });
  it("an accumulation like s += a * b saves nothing on the stack", () => {
    const program = createProgram([join(root, "examples/loops.ts")], compilerOptions);
    const file = join(root, ".tsgrad-tmp", "dot.ts");
    ts.sys.writeFile(file, LANGUAGE);
    const p = createProgram([file], compilerOptions);
    const { text } = generatedText(p.getSourceFile(file)!, p, { fn: "dot" });
    expect(text).not.toContain("saved.");
    expect(program).toBeDefined();
    check(m, "dot", [0.3, 2]);
  });
});

/** The `{ ... }` block that follows position `at`. */
function blockAt(text: string, at: number): string {
  const open = text.indexOf("{", at);
  for (let depth = 0, i = open; i < text.length; i++) {
    if (text[i] === "{") depth++;
    if (text[i] === "}" && --depth === 0) return text.slice(at, i + 1);
  }
  throw new Error("unbalanced braces");
}

describe("the generated loops", () => {
  const text = () => {
    const file = join(root, "examples/loops.ts");
    const program = createProgram([file], compilerOptions);
    return generatedText(program.getSourceFile(file)!, program, {}).text;
  };
  it("allocate nothing per iteration: no array, object or closure inside a loop", () => {
    const t = text();
    const loops = [...t.matchAll(/\b(for|while) \(/g)].map((m) => blockAt(t, m.index));
    expect(loops.length).toBeGreaterThan(8);
    for (const loop of loops) expect(loop).not.toMatch(/new |(?<!_saved)\[|\{ *\w+[,:]|=>|function/);
  });
  it("restore overwritten values under their own names and replay counters backwards", () => {
    const t = text();
    expect(t).toContain("x = x_saved[i];"); // a counting loop indexes its frame
    expect(t).toContain("balance = saved.pop();"); // a while loop pops
    expect(t).toContain("for (let i = 19; i >= 0; i--)");
    expect(t).toContain("for (let k = iterations; k > 0; k--)");
  });
});

// ---------------------------------------------------------------------------------------------
// Loop programs compiled in batches (test/loop-cases.ts), each checked at its points against
// finite differences and vjp, the shared stack balanced.

suite("loop forms", forms);
suite("loop-carried variables", carried);
suite("nesting, branches, early returns, ternaries", nesting);
suite("calls inside loop bodies", calls);
suite("unmarked stateful functions in loops: evaluated once, the backward pass follows the forward path", stateful);

describe("Math.random() in loops: the backward pass follows the path the forward pass took", () => {
  // s = 1; each iteration multiplies by x or by y at random: the value is x^a y^b with a + b = 6,
  // and the gradient must be (a s / x, b s / y) for the same a and b.
  const body =
    "let s = 1;\nfor (let i = 0; i < 6; i++) {\n  if (Math.random() < 0.5) s = s * x;\n  else s = s * y;\n}\nreturn s;";
  const inLocal =
    "let s = 1;\nlet k = 0;\nwhile (k < 6) {\n  const r = Math.random();\n  s = r < 0.5 ? s * x : s * y;\n  k++;\n}\nreturn s;";
  const consistent = (m: Record<string, any>, name: string) => {
    const x = 2,
      y = 3;
    for (let trial = 0; trial < 40; trial++) {
      const { value, cache } = m[`${name}_forward`](x, y);
      const a = [0, 1, 2, 3, 4, 5, 6].find((a) => value === x ** a * y ** (6 - a));
      expect(a, `value ${value}`).toBeDefined();
      const back = m[`${name}_backward`](cache, 1);
      expect(back).toEqual([(a! * value) / x, ((6 - a!) * value) / y]);
      expect(m[`${name}_backward`](cache, 1)).toEqual(back);
      const g: number[] = m[`${name}_grad`](x, y);
      const matches = [0, 1, 2, 3, 4, 5, 6].some(
        (a) => g[0] === a * x ** (a - 1) * y ** (6 - a) && g[1] === (6 - a) * x ** a * y ** (5 - a),
      );
      expect(matches, `f_grad ${g}`).toBe(true);
      expect(m.__saved.size).toBe(0);
    }
  };
  it("in an if condition", async () => {
    const { module } = await compile(
      `${SAVED_EXPORT}\n/** @differentiable */\nexport function f(x: number, y: number): number {\n${body}\n}\n`,
    );
    consistent(module, "f");
  });
  it("in a while test (a random trip count)", async () => {
    const { module } = await compile(
      `${SAVED_EXPORT}\n/** @differentiable */\nexport function f(x: number, y: number): number {\nlet s = 1;\nlet k = 0;\nwhile (k < 6 && Math.random() < 0.8) {\n  s = s * x;\n  k++;\n}\nwhile (k < 6) {\n  s = s * y;\n  k++;\n}\nreturn s;\n}\n`,
    );
    consistent(module, "f");
  });
  it("stored in a local, used in a ternary", async () => {
    const { module } = await compile(
      `${SAVED_EXPORT}\n/** @differentiable */\nexport function f(x: number, y: number): number {\n${inLocal}\n}\n`,
    );
    consistent(module, "f");
  });
});

// A loop without a counter inside a branch keeps its iteration count where its backward loop and
// the vjp cache can read it.
suite("a loop without a counter inside a branch: its trip count is in scope for the backward pass", [
  {
    name: "while in an if at the top level: (0.7, 1.3) has gradient [8, 0]",
    params: xy,
    body: "let s = x;\nif (y > 0) {\n  while (s < 3) s = s * 2;\n}\nreturn s;",
    points: [
      [0.7, 1.3],
      [0.7, -1.3],
    ],
  },
  {
    name: "do...while in an else branch",
    params: xy,
    body: "let s = x;\nif (y > 0) {\n  s = s * y;\n} else {\n  let k = 0;\n  do {\n    s = s * x;\n    k++;\n  } while (k < 2);\n}\nreturn s;",
    points: [
      [0.7, 1.3],
      [0.7, -1.3],
    ],
  },
  {
    name: "while after a continue (the rest of the body moves into a branch)",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 3; i++) {\n  if (s > 2) continue;\n  while (s < 1.5) s = s * 1.5;\n  s = s * y;\n}\nreturn s;",
    points: [[0.7, 1.3]],
  },
  {
    name: "while in an if inside a counter loop (the outer loop pushes the inner count)",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 2; i++) {\n  if (y > 0) {\n    while (s < 3) s = s * 2;\n  }\n  s = s - 2;\n}\nreturn s;",
    points: [
      [0.7, 1.3],
      [0.7, -1.3],
    ],
  },
]);

// A backward loop whose iterations only reset an overwritten variable's adjoint is kept.
suite("a carried variable overwritten by a constant in the loop: its adjoint is reset each iteration", [
  {
    name: "for (...) y = 3; return x * y: gradient [3, 0]",
    params: xy,
    body: "for (let i = 0; i < 2; i++) y = 3;\nreturn x * y;",
    points: [[0.7, 1.3]],
  },
  {
    name: "for (...) y = i",
    params: xy,
    body: "for (let i = 0; i < 2; i++) {\n  y = i;\n}\nreturn x * y + y;",
    points: [[0.7, 1.3]],
  },
  {
    name: "while (...) { y = Math.tanh(k); k++ }",
    params: xy,
    body: "let k = 0;\nwhile (k < 2) {\n  y = Math.tanh(k);\n  k++;\n}\nreturn x * y;",
    points: [[0.7, 1.3]],
  },
  {
    name: "the same in a loop with break",
    params: xy,
    body: "for (let i = 0; i < 3; i += 1) {\n  y = Math.tanh(i);\n  if (y > 1.5) break;\n}\nreturn x * y;",
    points: [[0.7, 1.3]],
  },
]);

// A loop in a branch does not overwrite the value the branch's test read: the backward pass
// replays the test on that value.
suite("a loop in a branch overwrites the variable the branch test reads: the backward pass follows the test's value", [
  {
    name: "if (x > 1) return x * y; for (...) x = x * 2; return x: gradient [4, 0] at (0.7, 1.3)",
    params: xy,
    body: "if (x > 1) return x * y;\nfor (let i = 0; i < 2; i++) x = x * 2;\nreturn x;",
    points: [
      [0.7, 1.3],
      [1.5, 1.3],
    ],
  },
  {
    name: "let s = x; if (s > 1) return s * y; while (s < 3) s = s * 2; return s",
    params: xy,
    body: "let s = x;\nif (s > 1) return s * y;\nwhile (s < 3) s = s * 2;\nreturn s;",
    points: [
      [0.7, 1.3],
      [1.5, 1.3],
    ],
  },
  {
    name: "if (x > 1) { y = y * 2 } else { for (...) x = x * 2 } return x * y",
    params: xy,
    body: "if (x > 1) {\n  y = y * 2;\n} else {\n  for (let i = 0; i < 2; i++) x = x * 2;\n}\nreturn x * y;",
    points: [
      [0.7, 1.3],
      [1.5, 1.3],
    ],
  },
]);

// A return inside loops leaves every enclosing loop.
// return inside loops (supported): the return leaves every enclosing loop.
suite("return inside loops", [
  {
    name: "return inside a for",
    params: xy,
    body: "for (let i = 0; i < 3; i++) { if (x > i) return x * y; } return y;",
    points: [
      [0.7, 1.3],
      [2.5, 1.3],
      [-0.5, 1.3],
    ],
  },
  {
    name: "return inside a while in a branch",
    params: xy,
    body: "if (y > 0) { while (x < 3) { x = x + 1; if (x > 2) return x * y; } } return y;",
    points: [
      [0.7, 1.3],
      [0.7, -1.3],
    ],
  },
  {
    name: "return inside a nested inner loop",
    params: xy,
    body: "let s = x; for (let i = 0; i < 2; i++) { for (let j = 0; j < 2; j++) { s = s * y; if (s > 5) return s; } } return s;",
    points: [
      [0.7, 1.3],
      [2.7, 1.9],
      [0.7, 3.1],
    ],
  },
]);

describe("loops that are refused", () => {
  const codes = (body: string, preamble = "") =>
    tsgradCodes(`${preamble}\n/** @differentiable */\nexport function f(x: number, y: number): number {\n${body}\n}\n`);
  const refused: [string, string][] = [
    ["for...of", "let s = 0; for (const v of [x, y]) s += v; return s;"],
    ["for...in", "let s = x; for (const k in { a: 1 }) s = s * y; return s;"],
    [
      "a labelled loop with break label",
      "let s = x; outer: for (let i = 0; i < 3; i++) { for (let j = 0; j < 3; j++) { if (j > i) break outer; s = s * y; } } return s;",
    ],
    [
      "a labelled loop with continue label",
      "let s = x; outer: for (let i = 0; i < 3; i++) { for (let j = 0; j < 3; j++) { if (j > i) continue outer; s = s * y; } } return s;",
    ],
  ];
  for (const [name, body] of refused) it(`${name}: TS94002`, () => expect(codes(body)).toContain(94002));
  it("a gradient through a function tsgrad cannot see into, in a loop, is refused (TS94006)", () => {
    // Declared only (its body elsewhere); a helper defined in the module is differentiated (helpers.test.ts).
    expect(
      codes(
        "let s = x; for (let i = 0; i < 3; i++) s = s * y + plain(s); return s;",
        "declare function plain(v: number): number;",
      ),
    ).toContain(94006);
  });
});

// ---------------------------------------------------------------------------------------------
// Counting loops at a function's top level keep their saved values in frames indexed by the counter.

const FRAMES = `
export { saved as __saved } from "tsgrad";
export const count = { ticks: 0 };
export function tick(n: number): number { count.ticks++; return n; }

/** @differentiable */
export function up(x: number, n: number): number {
  let s = x;
  for (let i = 0; i < n; i++) s = Math.sin(s) * x + i;
  return s;
}
/** @differentiable */
export function upTo(x: number, n: number): number {
  let s = x;
  for (let i = 1; i <= n; i++) s = Math.cos(s) * x - 0.1 * i;
  return s;
}
/** @differentiable */
export function down(x: number, n: number): number {
  let s = x;
  for (let i = 5; i > n; i--) s = s * Math.cos(s + i) + x;
  return s;
}
/** @differentiable */
export function downTo(x: number, n: number): number {
  let s = x;
  for (let i = 4; i >= n; i--) s = Math.exp(-s * s) + x * i;
  return s;
}
/** @differentiable */
export function negativeStart(x: number, n: number): number {
  let s = x;
  for (let i = -3; i < n; i++) s = Math.exp(-s * s) + x * i;
  return s;
}
/** @differentiable */
export function exprBound(x: number, n: number): number {
  let s = x;
  for (let i = 0; i < n * 2 - 1; i++) s = Math.sin(s + x);
  for (let i = 0; i < Math.floor(n) + 1; i++) s = s * Math.cos(x);
  return s;
}
/** @differentiable */
export function innerWhile(x: number, n: number): number {
  let s = x;
  for (let i = 0; i < n; i++) {
    let t = s;
    while (t > 0.1) t = t * 0.5;
    s = s + Math.sin(t) * x;
  }
  return s;
}
/** @differentiable */
export function looped(x: number): number {
  let t = x;
  let k = 0;
  while (k < 3) { t = Math.sin(t) * 0.9 + x; k++; }
  for (let i = 0; i < 2; i++) t = Math.cos(t) + x;
  return t;
}
/** @differentiable */
export function callsLooped(x: number, n: number): number {
  let s = x;
  for (let i = 0; i < n; i++) s = looped(s) * x;
  return s;
}
/** @differentiable */
export function rec(x: number, d: number): number {
  if (d <= 0) return Math.sin(x);
  let s = x;
  for (let i = 0; i < 2; i++) s = Math.sin(s) + rec(s * 0.5, d - 1);
  return s;
}
/** @differentiable */
export function twoLoops(x: number, n: number): number {
  let s = x;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 2; j++) s = Math.sin(s * x + j);
  }
  let u = s;
  for (let i = 0; i < 3; i++) u = u * Math.exp(-u) + s;
  return u;
}
/** @differentiable */
export function invariant(a: number, n: number): number {
  const k = Math.exp(a);
  let x = a;
  for (let i = 0; i < n; i++) {
    const t = -k;
    const u = t * t;
    x = x * u * 0.1 + Math.sin(x) * t;
  }
  return x;
}
/** @differentiable */
export function withContinue(x: number, n: number): number {
  let s = x;
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) continue;
    s = Math.sin(s) * x;
  }
  return s;
}
/** @differentiable */
export function flags(x: number, n: number): number {
  let s = x;
  let flag = false;
  for (let i = 0; i < n; i++) {
    if (s > 1) flag = !flag;
    s = flag === true ? s * x : s + x;
  }
  return s;
}
/** @differentiable */
export function impureTest(x: number): number {
  let k = 0;
  let s = x;
  while (k < tick(3)) { s = Math.sin(s) + x; k++; }
  for (let i = 0; i < tick(2); i++) s = s * x;
  return s;
}
`;

describe("frames in counting loops", () => {
  const loaded = compile(FRAMES).then((c) => c.module);
  // Functions whose last parameter is a trip count or depth: its gradient is 0, finite differences jump.
  const counted = new Set([
    "up",
    "upTo",
    "down",
    "downTo",
    "negativeStart",
    "exprBound",
    "innerWhile",
    "callsLooped",
    "rec",
    "twoLoops",
    "invariant",
    "withContinue",
    "flags",
  ]);
  const checkFrame = (m: Record<string, any>, name: string, args: number[], expected?: number[], tol?: number) =>
    checkWithStack(m, name, args, { expected, tol, lastIsCount: counted.has(name) });

  it("bounds that are parameters: non-integer, negative, zero trips, NaN; counting up and down", async () => {
    const m = await loaded;
    for (const n of [3, 2.5, 0, -1, 0.2]) checkFrame(m, "up", [0.7, n]);
    for (const n of [3, 2.5, 0, 0.99]) checkFrame(m, "upTo", [0.7, n]);
    for (const n of [2.5, 3, 7, -0.5]) checkFrame(m, "down", [0.3, n]);
    for (const n of [2.5, 3, 7, -0.5]) checkFrame(m, "downTo", [0.3, n]);
    for (const n of [2.5, -3, -5, 0]) checkFrame(m, "negativeStart", [0.3, n]);
    for (const n of [1.7, 2, 0.3, -1]) checkFrame(m, "exprBound", [0.4, n]);
    // NaN: the loop runs zero times; the gradient of s = x is [1, 0].
    const stack = m.__saved.size;
    expect(m.up_grad(0.7, NaN)).toEqual([1, 0]);
    expect(m.down_grad(0.7, NaN)).toEqual([1, 0]);
    expect(m.__saved.size).toBe(stack);
  });

  it("an inner while loop, calls to functions with loops, recursion, two top-level loops around nested ones", async () => {
    const m = await loaded;
    for (const p of [
      [0.7, 3],
      [1.9, 2],
      [0.7, 0],
    ])
      checkFrame(m, "innerWhile", p);
    for (const p of [
      [0.4, 3],
      [-0.8, 2.5],
    ])
      checkFrame(m, "callsLooped", p);
    for (const p of [
      [0.4, 2],
      [1.2, 3],
    ])
      checkFrame(m, "rec", p);
    for (const p of [
      [0.4, 3],
      [0.4, 1.5],
      [0.4, 0],
    ])
      checkFrame(m, "twoLoops", p);
    for (const p of [
      [0.1, 3],
      [-0.5, 4],
    ])
      checkFrame(m, "invariant", p);
    for (const p of [
      [0.6, 5],
      [0.6, 4.5],
    ])
      checkFrame(m, "withContinue", p);
    for (const p of [
      [0.9, 4],
      [1.3, 5],
      [0.2, 3],
    ])
      checkFrame(m, "flags", p);
  });

  it("a large frame grows the stack while other frames are live", async () => {
    const m = await loaded;
    // callsLooped keeps frames while looped's gradient pushes; 5000 iterations grow the stack.
    checkFrame(m, "up", [0.3, 5000], undefined, 1e-5);
    checkFrame(m, "callsLooped", [0.2, 300], undefined, 1e-5);
  });

  it("vjp interleaving: forward passes kept, then run backward in any order, with f_grad in between", async () => {
    const m = await loaded;
    for (const name of ["up", "callsLooped", "innerWhile", "twoLoops", "rec"]) {
      const a = m[`${name}_forward`](0.3, 3);
      const b = m[`${name}_forward`](0.5, 2);
      const c = m[`${name}_forward`](0.2, 4);
      const gb = m[`${name}_backward`](b.cache, 1);
      m[`${name}_grad`](0.9, 5);
      expect(m[`${name}_backward`](a.cache, 1), name).toEqual(m[`${name}_grad`](0.3, 3));
      expect(m[`${name}_backward`](c.cache, 1), name).toEqual(m[`${name}_grad`](0.2, 4));
      expect(m[`${name}_backward`](b.cache, 1), name).toEqual(gb);
      expect(gb, name).toEqual(m[`${name}_grad`](0.5, 2));
    }
  });

  it("the runtime's vjp, interleaved", async () => {
    const { module: m } = await compile(`
import { vjp } from "tsgrad";
/** @differentiable */
export function f(x: number, n: number): number {
  let s = x;
  for (let i = 0; i < n; i++) s = Math.sin(s) * x + i;
  return s;
}
export function interleaved(): number[][] {
  const a = vjp(f)(1, 3);
  const b = vjp(f)(2, 3);
  return [a.backward(1), b.backward(1), a.backward(2)];
}`);
    const [a, b, a2] = m.interleaved();
    expect(a).toEqual(m.f_grad(1, 3));
    expect(b).toEqual(m.f_grad(2, 3));
    expect(a2).toEqual(a.map((v: number) => 2 * v));
  });

  it("a loop test that calls a function is evaluated exactly as often as in f itself", async () => {
    const m = await loaded;
    const ticks = (run: () => unknown) => {
      const before = m.count.ticks;
      run();
      return m.count.ticks - before;
    };
    const plain = ticks(() => m.impureTest(0.4));
    expect(plain).toBe(4 + 3);
    expect(ticks(() => m.impureTest_grad(0.4))).toBe(plain);
    let cache: unknown;
    expect(ticks(() => (cache = m.impureTest_forward(0.4).cache))).toBe(plain);
    expect(ticks(() => m.impureTest_backward(cache, 1))).toBe(0);
    checkFrame(m, "impureTest", [0.4]);
  });

  it("the generated code type-checks under --strict", () => {
    expect(genStrictErrors(FRAMES, "strict-frames")).toEqual([]);
  });
});
