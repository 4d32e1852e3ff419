// Loops: the examples of examples/loops.ts against closed forms and finite differences, each loop
// form and exit, and the properties the design promises: the stack is balanced after every
// gradient, vjp's backward pass can run twice, and a loop like `s += a * b` saves nothing.

import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { generatedText } from "../transformer/files.js";
import { compile, compilerOptions, createProgram, expectClose, numericGradient, root } from "./harness.js";

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
