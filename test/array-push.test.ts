// Arrays grown by push: `const out: number[] = []`, `out.push(v)` in loops and branches, then
// read (elements, length, loops and methods over it) after the last push. Every gradient is checked
// against central differences and through every API; the refusals say what to write instead.

import { describe, expect, it } from "vitest";
import { compile, genStrictErrors, tsgradErrors } from "./harness.js";
import { checkEveryApi } from "./oracles.js";

const source = `
/** @differentiable */
export function movingAverageError(prices: readonly number[], period: number, target: readonly number[]): number {
  const result: number[] = [];
  for (let i = period - 1; i < prices.length; i++) {
    let sum = 0;
    for (let j = i - period + 1; j <= i; j++) sum += prices[j];
    result.push(sum / period);
  }
  let err = 0;
  for (let k = 0; k < result.length; k++) err += (result[k] - target[k]) ** 2;
  return err / result.length;
}

/** @differentiable */
export function keptAbove(x: readonly number[], y: number): number {
  const kept: number[] = [];
  for (const v of x) {
    if (v > y) kept.push(v * y, Math.sin(v));
    else kept.push(y);
  }
  return kept.reduce((s, v) => s + v * v, 0) + kept.length * y;
}

/** @differentiable */
export function untilSmall(x: number, rate: number): number {
  const path: number[] = [];
  let v = x;
  while (Math.abs(v) > 0.01 && path.length < 50) {
    path.push(v);
    v = v * rate;
  }
  let s = 0;
  for (const p of path) s += p;
  return s + path.map((p) => p * p).reduce((a, b) => a + b, 0);
}

/** @differentiable */
export function pushedThenWritten(x: readonly number[]): number {
  const out: number[] = [];
  for (let i = 0; i < x.length; i++) out.push(x[i] * x[i]);
  out[0] = out[0] + out[out.length - 1];
  let s = 0;
  for (let i = 0; i < out.length; i++) s += out[i] * (i + 1);
  return s;
}
`;

describe("arrays grown by push", () => {
  it("a moving average pushed per window, compared with a target", async () => {
    const { module: m } = await compile(source);
    // period sets the loops' bounds: its gradient is that of the division alone.
    checkEveryApi(m.movingAverageError, [[1, 2.5, 0.75, 3, -1, 0.5, 2], 3, [1.4, 2, 0.8, 0.9, 0.6]], {
      skip: ["[1]"],
    });
  });

  it("pushes in branches, two values at a time, in a while loop, then loops and methods over the array", async () => {
    const { module: m } = await compile(source);
    for (const y of [-2, 0.4, 5]) checkEveryApi(m.keptAbove, [[1, -2.5, 0.75, 3], y]);
    checkEveryApi(m.untilSmall, [1.3, 0.6]);
    checkEveryApi(m.untilSmall, [0.005, 0.6]);
    checkEveryApi(m.pushedThenWritten, [[0.5, -1.5, 2]]);
  });

  it("a push is a store at the length so far; the gradient buffer has the length reached", async () => {
    const { js } = await compile(source);
    const grad = js.slice(
      js.indexOf("function movingAverageError_grad"),
      js.indexOf("function movingAverageError_forward"),
    );
    expect(grad).toMatch(/const result = \[\];/);
    expect(grad).toMatch(/result\[result_length\] = quot;/);
    expect(grad).toMatch(/let dquot = dresult\[result_length\];\s+dresult\[result_length\] = 0;/);
  });

  it("generated code type-checks under strict settings with no unused names", () => {
    expect(genStrictErrors(source, "array-push", { noUnusedLocals: true, noUnusedParameters: true })).toEqual([]);
  });
});

// pop: the last element read, the length one less. A stack evaluating as it goes, a pop as a
// statement, a pop assigned, loops and methods over the array after the pops (which go to the
// length the pops left, not to the elements tsgrad keeps for the backward pass).
const popping = `
/** @differentiable */
export function stackMachine(x: readonly number[], k: number): number {
  const stack: number[] = [];
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    stack.push(x[i] * k);
    if (stack.length > 2) {
      const top = stack.pop()!;
      const under = stack.pop()!;
      stack.push(top * under);
    }
  }
  while (stack.length > 0) s += Math.sin(stack.pop()!);
  return s;
}

/** @differentiable */
export function droppedLast(x: readonly number[]): number {
  const out: number[] = [];
  for (const v of x) out.push(v * v);
  out.pop();
  let s = 0;
  for (const v of out) s += Math.exp(v);
  for (let i = 0; i < out.length; i++) s += out[i] * (i + 1);
  return s + out.reduce((a, v) => a + v, 0) + Math.max(...out);
}

/** A loop over the array between pushes goes to the count so far, as JavaScript's does. */
/** @differentiable */
export function runningMean(x: readonly number[]): number {
  const out: number[] = [];
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    out.push(Math.sin(x[i]));
    const m = out.reduce((a, v) => a + v, 0) / out.length;
    let q = 0;
    for (const v of out) q += (v - m) * (v - m);
    s += m * m + q;
  }
  return s;
}

/** @differentiable */
export function poppedThenPushed(x: readonly number[]): number {
  const out: number[] = [];
  out.push(x[0], x[1] * 2, x[2]);
  let last = 0;
  last = out.pop()!;
  out.push(last * x[0]);
  const copy = out.slice();
  return out[2] + copy.reduce((a, v) => a + v * v, 0);
}
`;

describe("arrays shortened by pop", () => {
  it("a stack machine, a pop as a statement and assigned, loops over what the pops left or between pushes", async () => {
    const { module: m } = await compile(popping);
    for (const x of [[0.3, -0.8, 1.1, 0.4, 0.9], [0.5, 0.2], []]) if (x.length) checkEveryApi(m.stackMachine, [x, 1.3]);
    expect(m.stackMachine_grad([], 1.3)).toEqual([[], 0]);
    checkEveryApi(m.droppedLast, [[0.3, -0.8, 1.1, 0.4]]);
    // The loops go over 3 of the 4 squares: exp(0.09) + exp(0.64) + exp(1.21) + ...
    expect(m.droppedLast([0.3, -0.8, 1.1, 2])).toBeCloseTo(
      Math.exp(0.09) + Math.exp(0.64) + Math.exp(1.21) + (0.09 + 2 * 0.64 + 3 * 1.21) + (0.09 + 0.64 + 1.21) + 1.21,
      12,
    );
    checkEveryApi(m.poppedThenPushed, [[0.3, -0.8, 1.1]]);
    checkEveryApi(m.runningMean, [[0.3, -0.8, 1.1, 0.4]]);
  });

  it("generated code type-checks under strict settings with no unused names", () => {
    expect(genStrictErrors(popping, "array-pop", { noUnusedLocals: true, noUnusedParameters: true })).toEqual([]);
  });
});

describe("arrays grown by push, refused", () => {
  const refusedOf = (body: string) =>
    tsgradErrors(`/** @differentiable */\nexport function f(x: number[], y: number): number {\n${body}\n}\n`).map(
      (e) => [e.code, e.message],
    );

  it("returning an array a pop shortens; a pop that runs only sometimes", () => {
    const errors = tsgradErrors(
      "/** @differentiable */\nexport function f(x: number[]): number[] {\n  const out: number[] = [];\n  for (const v of x) out.push(v * v);\n  out.pop();\n  return out;\n}\n",
    );
    expect(errors.map((e) => [e.code, e.text])).toEqual([[94001, "out.pop()"]]);
    expect(errors[0].message).toMatch(/returns `out`, which `pop` shortens.*return a copy \(`return out.slice\(\)`\)/);
    const [[code, message]] = refusedOf(
      "  const out: number[] = [];\n  out.push(y, y * 2);\n  const v = y > 0 && out.pop()!;\n  return v + out[0];",
    );
    expect(code).toBe(94003);
    expect(message).toMatch(/`out.pop\(\)`/);
  });

  it("an empty array made in a loop", () => {
    const [[code, message]] = refusedOf(
      "  let s = 0;\n  for (let i = 0; i < 2; i++) {\n    const out: number[] = [];\n    out.push(y);\n    s += out[0];\n  }\n  return s;",
    );
    expect(code).toBe(94010);
    expect(message).toMatch(/must be created at the function's top level/);
  });
});
