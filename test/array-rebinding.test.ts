// Arrays made in loops and branches, and `let` arrays given another array: double buffering
// through a tmp or a destructuring swap, a recurrent state replaced by a helper's new array each
// step, a buffer chosen by a branch, arrays made after an early return. Every gradient is checked
// against central differences and through every API; the refusals say what to write instead.

import { describe, expect, it } from "vitest";
import { compile, genStrictErrors, tsgradErrors } from "./harness.js";
import { checkEveryApi } from "./oracles.js";

const source = `
function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** @differentiable */
export function diffused(u0: readonly number[], alpha: number, steps: number): number {
  const n = u0.length;
  let u = u0.slice();
  let next = new Array<number>(n).fill(0);
  for (let s = 0; s < steps; s++) {
    next[0] = u[0];
    next[n - 1] = u[n - 1];
    for (let i = 1; i < n - 1; i++) next[i] = u[i] + alpha * (u[i - 1] - 2 * u[i] + u[i + 1]);
    const tmp = u;
    u = next;
    next = tmp;
  }
  return u.reduce((e, v) => e + v * v, 0);
}

/** @differentiable */
export function swappedByDestructuring(x: readonly number[], k: number): number {
  let a = new Float64Array(x);
  let b = new Float64Array(x.length);
  for (let t = 0; t < 3; t++) {
    for (let i = 0; i < a.length; i++) b[i] = Math.sin(a[i] * k) + a[(i + 1) % a.length];
    [a, b] = [b, a];
  }
  return dot(a, x) + b[0];
}

function cell(W: number[][], x: number, h: readonly number[]): number[] {
  return h.map((hj, j) => Math.tanh(W[j][0] * x + W[j][1] * hj + W[j][2] * h[(j + 1) % h.length]));
}

/** @differentiable */
export function recurrent(W: number[][], xs: readonly number[], h0: readonly number[]): number {
  let h = h0.slice();
  for (let t = 0; t < xs.length; t++) h = cell(W, xs[t], h);
  return dot(h, h);
}

/** @differentiable */
export function rowsInLoop(x: readonly number[], w: number): number {
  let total = 0;
  for (let i = 0; i < 3; i++) {
    const row = new Array<number>(x.length).fill(0);
    for (let j = 0; j < x.length; j++) row[j] = x[j] * (i + w);
    const scaled = row.map((v) => v * v);
    total += scaled.reduce((s, v) => s + v, 0) / (i + 1);
  }
  return total;
}

/** @differentiable */
export function literalInLoop(x: readonly number[], y: number): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const p = [x[i] * y, x[i] + y, y];
    s += p[0] * p[1] - p[2];
  }
  return s;
}

/** @differentiable */
export function chosenByBranch(x: readonly number[], flip: boolean): number {
  let a = x.map((v) => v * 2);
  let b = x.map((v) => v - 1);
  if (flip) {
    const t = a;
    a = b;
    b = t;
  }
  a[0] = a[0] * b[1];
  return dot(a, x) - b[0] * b[0];
}

/** @differentiable */
export function replacedInBranch(x: readonly number[], y: number): number {
  let h = x.slice();
  for (let t = 0; t < 4; t++) {
    if (h[0] > y) h = h.map((v) => v * 0.5 + y);
    else h[0] = h[0] + x[1];
  }
  return dot(h, h);
}

/** @differentiable */
export function afterReturn(x: readonly number[], y: number): number {
  if (y < 0) return x[0] * y;
  const h = x.map((v) => v * y);
  return dot(h, x);
}

/** @differentiable */
export function threeBuffers(x: readonly number[]): number {
  let a = x.slice();
  let b = x.map((v) => v + 1);
  let c = new Array<number>(x.length).fill(0);
  for (let t = 0; t < 4; t++) {
    for (let i = 0; i < a.length; i++) c[i] = a[i] * b[i] + 0.1;
    const old = a;
    a = b;
    b = c;
    c = old;
  }
  return dot(a, b) + c[1];
}

function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

function matVec(out: number[], A: number[][], x: readonly number[]): void {
  for (let i = 0; i < A.length; i++) out[i] = dot(A[i], x);
}

/** @differentiable */
export function powerIteration(A: number[][], iterations: number): number {
  const n = A.length;
  let v = new Array<number>(n).fill(1 / Math.sqrt(n));
  let w = new Array<number>(n).fill(0);
  for (let k = 0; k < iterations; k++) {
    matVec(w, A, v);
    const len = norm(w);
    for (let i = 0; i < n; i++) w[i] /= len;
    [v, w] = [w, v];
  }
  matVec(w, A, v);
  return dot(v, w);
}

/** @differentiable */
export function literalGivenAgain(x: number): number {
  let v = [x, 2];
  v = [3, x * v[0]];
  let h = new Float64Array(2);
  h[0] = x;
  h = new Float64Array(3);
  h[2] = v[1] * x;
  return v[0] * v[1] + h[0] + h[2];
}

/** @differentiable */
export function whileLoopState(x: readonly number[], tol: number): number {
  let h = x.slice();
  let n = 0;
  while (dot(h, h) > tol && n < 20) {
    h = h.map((v) => Math.sin(v) * 0.9);
    n++;
  }
  return dot(h, x);
}
`;

describe("arrays made in loops and branches, and arrays given another array", () => {
  it("double buffering through a tmp: the heat equation's steps", async () => {
    const { module: m } = await compile(source);
    // steps counts iterations: its gradient is 0, where differences jump across a whole step.
    const steps = { skip: ["[2]"] };
    checkEveryApi(m.diffused, [[0.2, 1, -0.5, 0.75, 0.1], 0.2, 5], steps);
    checkEveryApi(m.diffused, [[0.2, 1, -0.5, 0.75], 0.3, 4], steps);
    checkEveryApi(m.diffused, [[0.2, 1, -0.5], 0.3, 0], steps);
  });

  it("a destructuring swap, three buffers in a rotation", async () => {
    const { module: m } = await compile(source);
    checkEveryApi(m.swappedByDestructuring, [[0.3, -0.8, 1.1, 0.4], 1.3]);
    checkEveryApi(m.threeBuffers, [[0.3, -0.8, 1.1, 0.4]]);
  });

  it("power iteration: an out-parameter refilled each step, a helper of a helper inlined where it reads it", async () => {
    const { module: m } = await compile(source);
    const A = [
      [2, 0.5, 0.1],
      [0.5, 1, 0.3],
      [0.1, 0.3, 0.5],
    ];
    checkEveryApi(m.powerIteration, [A, 6], { skip: ["[1]"] });
    // Converged, the gradient of the largest eigenvalue of a symmetric A is v vᵀ, v its unit eigenvector.
    const g = checkEveryApi(m.powerIteration, [A, 80], { skip: ["[1]"] });
    let v = [1, 1, 1];
    for (let k = 0; k < 500; k++) {
      const w = A.map((row) => row.reduce((s, a, j) => s + a * v[j], 0));
      const len = Math.hypot(...w);
      v = w.map((x) => x / len);
    }
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(g[0][i][j]).toBeCloseTo(v[i] * v[j], 6);
  });

  it("a recurrent state, the new array a helper returns each step", async () => {
    const { module: m } = await compile(source);
    const W = [
      [0.5, -0.3, 0.2],
      [1.2, 0.8, -0.5],
      [-0.7, 0.4, 0.9],
    ];
    const xs = [0.1, 0.5, -0.2, 0.9];
    checkEveryApi(m.recurrent, [W, xs, [0.1, -0.2, 0.3]]);
    checkEveryApi(m.recurrent, [W, [], [0.1, -0.2, 0.3]]);
  });

  it("arrays made in a loop: a row filled, a map of it, a literal", async () => {
    const { module: m } = await compile(source);
    checkEveryApi(m.rowsInLoop, [[0.3, -0.8, 1.1], 0.7]);
    checkEveryApi(m.literalInLoop, [[0.3, -0.8, 1.1], 0.7]);
  });

  it("arrays given another in a branch, in a loop, after an early return, in a while loop", async () => {
    const { module: m } = await compile(source);
    checkEveryApi(m.chosenByBranch, [[0.3, -0.8, 1.1], true]);
    checkEveryApi(m.chosenByBranch, [[0.3, -0.8, 1.1], false]);
    for (const y of [-0.5, 0.2, 0.9]) checkEveryApi(m.replacedInBranch, [[0.3, -0.8, 1.1], y]);
    checkEveryApi(m.afterReturn, [[0.3, -0.8, 1.1], -2]);
    checkEveryApi(m.afterReturn, [[0.3, -0.8, 1.1], 2]);
    checkEveryApi(m.whileLoopState, [[0.9, -1.2, 0.4], 0.05]);
    checkEveryApi(m.whileLoopState, [[0.9, -1.2, 0.4], 100]);
    checkEveryApi(m.literalGivenAgain, [0.7]);
  });

  it("the arrays change places with one swap, forward and back; no array is made in the loop", async () => {
    const { js } = await compile(source);
    const grad = js.slice(js.indexOf("function diffused_grad"), js.indexOf("function diffused_forward"));
    expect(grad).toMatch(/\[u, next\] = \[next, u\];/);
    expect(grad).toMatch(/\[next, u\] = \[u, next\];\s+\[dnext, du\] = \[du, dnext\];/);
    const recurrent = js.slice(js.indexOf("function recurrent_grad"), js.indexOf("function recurrent_forward"));
    // h's new array is made once, before the loop; each step fills it and they change places.
    const loop = recurrent.slice(recurrent.indexOf("for (let t = 0"));
    expect(loop.slice(0, loop.indexOf("// backward pass"))).not.toMatch(/scratch\.zeros|new Float64Array|new Array/);
  });

  it("generated code type-checks under strict settings with no unused names", () => {
    expect(genStrictErrors(source, "array-rebinding", { noUnusedLocals: true, noUnusedParameters: true })).toEqual([]);
  });
});

describe("arrays given another array, refused", () => {
  const refusedOf = (body: string) =>
    tsgradErrors(`/** @differentiable */\nexport function f(x: number[], y: number): number {\n${body}\n}\n`).map(
      (e) => [e.code, e.message],
    );

  it("two variables holding one array at the end of an iteration", () => {
    const [[code, message]] = refusedOf(
      "  let a = x.slice();\n  let b = x.slice();\n  for (let i = 0; i < 3; i++) {\n    b[0] = a[0] * y;\n    a = b;\n  }\n  return a[0];",
    );
    expect(code).toBe(94001);
    expect(message).toMatch(/`a` and `b` hold the same array/);
  });

  it("an array made in a loop with a length that changes there", () => {
    const [[code, message]] = refusedOf(
      "  let s = 0;\n  for (let i = 1; i < 4; i++) {\n    const h = new Float64Array(i);\n    h[0] = y;\n    s += h[0];\n  }\n  return s;",
    );
    expect(code).toBe(94010);
    expect(message).toMatch(/length must be known there, and `i` is not/);
  });

  it("a returned array that a loop moves", () => {
    const errors = tsgradErrors(
      "/** @differentiable */\nexport function f(x: number[], y: number): number[] {\n  let a = x.slice();\n  let b = x.slice();\n  for (let i = 0; i < 2; i++) {\n    b[0] = a[0] * y;\n    const t = a;\n    a = b;\n    b = t;\n  }\n  return a;\n}\n",
    );
    expect(errors.map((e) => e.message).join("\n")).toMatch(/whose variable a loop or a branch gives another array/);
  });

  // Found by the fuzzer (a wrong gradient): JavaScript goes on over the array the loop started
  // with, while the staged loop read u[i] through the name, the other array by then.
  it("an array given another inside a loop over it: for...of, entries(), forEach", () => {
    for (const loop of [
      "for (const [i, e] of u.entries()) {\n    s += e * i;\n    u = [0, 0];\n  }",
      "for (const e of u) {\n    s += e;\n    if (s > y) [u, v] = [v, u];\n  }",
      "u.forEach((e) => {\n    s += e;\n    const t = u;\n    u = v;\n    v = t;\n  });",
    ]) {
      const errors = refusedOf(`  let u = [x[0], y];\n  let v = [y, y];\n  let s = 0;\n  ${loop}\n  return s + v[0];`);
      expect(errors.map(([code]) => code)).toEqual([94001]);
      expect(errors[0][1]).toMatch(/goes over the array `u` held when it started, and here `u` is given another/);
    }
  });

  it("an array variable given a parameter's array", () => {
    const [[, message]] = refusedOf("  let a = x.slice();\n  if (y > 0) a = x;\n  return a[0] * y;");
    expect(message).toMatch(/holds an array the function made/);
  });
});

// Found in review: an array made in a loop is one array refilled each iteration, so a helper given
// it (marked or not) is inlined there, never called back in the backward pass with the last
// iteration's elements.
const madeInLoopGiven = `
function prod(a: readonly number[]): number {
  return Math.exp(a[0]) * a[1];
}

function sumsq(a: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return s;
}

/** @differentiable */
function marked(a: readonly number[]): number {
  return a[0] * a[1] + Math.sin(a[1]);
}

/** @differentiable */
export function literalToHelper(x: readonly number[], y: number): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const p = [x[i] * y, x[i] + y];
    s += prod(p) + marked(p);
  }
  return s;
}

/** @differentiable */
export function mapToHelper(x: readonly number[], y: number): number {
  let s = 0;
  for (let t = 0; t < 3; t++) {
    const r = x.map((v) => v * (t + y));
    s += sumsq(r);
  }
  return s;
}
`;

// Found by the fuzzer (f_grad threw `dv is not defined`): arrays that change places in a loop and
// are read only before it; the activity analysis met the swap before the read that made u's
// gradient needed, so v's gradient was never made while the backward swap moved it.
const readBeforeMoving = `
/** @differentiable */
export function swappedAfterRead(x: number): number {
  let u = [x];
  let v = [0];
  const y = u[0] * 2;
  for (let i = 0; i < 1; i++) [u, v] = [v, u];
  return y;
}

/** @differentiable */
export function replacedAfterRead(x: number): number {
  let u = [x];
  const y = u[0] * 2;
  for (let i = 0; i < 2; i++) u = [x * i, 1];
  return y;
}

/** @differentiable */
export function replacedAfterReturningLoop(x: number): number {
  const u = [x];
  let v = [0];
  for (let i = 0; i < 1; i++) {
    if (x > 5) return x;
    v[0] = u[0];
  }
  v = [1];
  return x + v[0] + u[0];
}
`;

describe("arrays that change places after their last read", () => {
  it("have gradients made for every array that moves", async () => {
    const { module: m } = await compile(readBeforeMoving);
    checkEveryApi(m.swappedAfterRead, [0.5]);
    checkEveryApi(m.replacedAfterRead, [0.5]);
    checkEveryApi(m.replacedAfterReturningLoop, [0.5]);
    checkEveryApi(m.replacedAfterReturningLoop, [6]);
    expect(m.swappedAfterRead_grad(0.5)).toEqual([2]);
  });
});

describe("arrays made in a loop, given to helpers", () => {
  it("are read by the helper inlined in the loop, as each iteration made them", async () => {
    const { module: m } = await compile(madeInLoopGiven);
    checkEveryApi(m.literalToHelper, [[0.3, -0.8, 1.1], 0.9]);
    checkEveryApi(m.mapToHelper, [[0.3, -0.8, 1.1], 0.9]);
  });
});
