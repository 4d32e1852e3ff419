// Array methods with callbacks written in place, lowered to the loops they stand for: reduce (with
// and without an initial value), Math.max / Math.min over a map, map then reduce, and for...of over
// entries(). Every gradient is checked against central differences and through every API.

import { describe, expect, it } from "vitest";
import { bodyOf, compile, genStrictErrors, tsgradErrors } from "./harness.js";
import { checkEveryApi } from "./oracles.js";

const methods = `
const W = [0.5, -1.5, 2, 0.25];

/** @differentiable */
export function sumOfSquares(x: readonly number[]): number {
  return x.reduce((acc, v) => acc + v * v, 0);
}

/** @differentiable */
export function weightedByIndex(x: Float64Array, k: number): number {
  return x.reduce((acc, v, i) => {
    const t = v * W[i % W.length];
    return acc + Math.sin(t * k) / (i + 1);
  }, k);
}

/** @differentiable */
export function product(x: readonly number[]): number {
  return x.reduce((p, v) => p * v);
}

/** @differentiable */
export function logSumExp(x: readonly number[]): number {
  const max = Math.max(...x);
  return max + Math.log(x.map((v) => Math.exp(v - max)).reduce((a, b) => a + b, 0));
}

/** @differentiable */
export function chebyshev(a: readonly number[], b: readonly number[]): number {
  return Math.max(...a.map((ai, i) => Math.abs(ai - b[i])));
}

/** @differentiable */
export function spread(x: Float64Array, s: number): number {
  const lo = Math.min(...Array.from(x, (v) => v * s));
  const hi = Math.max(...x.map((v) => v * v));
  return hi - lo * s;
}

/** @differentiable */
export function nested(x: readonly number[], y: readonly number[]): number {
  let total = 0;
  for (let k = 0; k < 2; k++) {
    if (k === 0) total += x.reduce((s, v) => s + v * y.reduce((t, w) => t + w * w, 0), 0);
    else total += x.reduce((s, v) => s + Math.tanh(v * total), 1);
  }
  return total;
}

/** @differentiable */
export function ofField(p: { w: number[]; c: number }): number {
  return p.w.reduce((s, v) => s + v * p.c, 0) + Math.max(...p.w.map((v) => v * v));
}

/** @differentiable */
export function localArray(x: readonly number[]): number {
  const h = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) h[i] = Math.exp(x[i]);
  return h.reduce((s, v) => s + v * v, 0);
}

/** @differentiable */
export function weightedSquares(values: readonly number[], weights: readonly number[]): number {
  let total = 0;
  for (const [i, v] of values.entries()) total += weights[i] * v * v - i * v;
  return total / values.length;
}

/** @differentiable */
export function untilNegative(values: readonly number[]): number {
  let s = 0;
  for (const [i, v] of values.entries()) {
    if (v < 0) break;
    s += v * (i + 1);
  }
  return s;
}
`;

describe("array methods as loops", () => {
  it("reduce: with and without an initial value, expression and block callbacks, the index", async () => {
    const { module: m } = await compile(methods);
    checkEveryApi(m.sumOfSquares, [[1, -2.5, 0.75, 3]]);
    checkEveryApi(m.weightedByIndex, [Float64Array.of(0.3, -1.1, 2, 0.5, -0.4), 0.9]);
    checkEveryApi(m.product, [[1.5, -2, 0.5, 3]]);
    checkEveryApi(m.product, [[2.5]]);
    checkEveryApi(m.localArray, [[0.1, -0.4, 0.8]]);
    checkEveryApi(m.ofField, [{ w: [0.5, -1.5, 2], c: 0.7 }]);
  });

  it("reduce with no initial value throws on an empty array where reduce does", async () => {
    const { module: m } = await compile(methods);
    expect(() => m.product([])).toThrow(TypeError);
    expect(() => m.product_grad([])).toThrow("Reduce of empty array with no initial value");
  });

  it("Math.max and Math.min over a map, map then reduce, reduces inside loops, branches and callbacks", async () => {
    const { module: m } = await compile(methods);
    checkEveryApi(m.logSumExp, [[1, -2.5, 0.75, 3]]);
    checkEveryApi(m.chebyshev, [
      [1, 2.5, -0.75, 4],
      [0.5, 1.5, 0.25, -1],
    ]);
    checkEveryApi(m.spread, [Float64Array.of(0.3, -1.1, 2, 0.5), 1.3]);
    checkEveryApi(m.nested, [
      [0.3, -0.2, 0.5],
      [1.5, -0.5],
    ]);
  });

  it("for...of over entries(): the index and the element, with a break too", async () => {
    const { module: m } = await compile(methods);
    checkEveryApi(m.weightedSquares, [
      [1, 2.5, -0.75, 4],
      [0.5, 1.5, 0.25, 2],
    ]);
    checkEveryApi(m.untilNegative, [[1, 2.5, 0.75, -4, 2]], { skip: ["arg0[3]"] });
    checkEveryApi(m.untilNegative, [[1, 2.5, 0.75]]);
  });

  it("the generated loop is the one the call stands for, named after the callback", async () => {
    const { js } = await compile(methods);
    // sumOfSquares: the accumulator is the callback's `acc`, the element its `v`.
    expect(js).toMatch(/let acc = 0;\s+for \(let i = 0; i < x\.length; i\+\+\) \{\s+const v = x\[i\];/);
    // The backward loop runs back down the array, commented with the call.
    expect(js).toMatch(
      /\/\/ x\.reduce\(\(acc, v\) => acc \+ v \* v, 0\), in reverse\s+for \(let i = x\.length - 1; i >= 0; i--\)/,
    );
  });

  it("generated code type-checks under strict settings with no unused names", () => {
    expect(genStrictErrors(methods, "array-methods", { noUnusedLocals: true, noUnusedParameters: true })).toEqual([]);
  });
});

describe("array methods, refused", () => {
  const refusedOf = (body: string) =>
    tsgradErrors(`/** @differentiable */\nexport function f(x: number[], y: number): number {\n${body}\n}\n`).map(
      (e) => [e.code, e.text],
    );

  it("a callback assigning outside itself, or with a fourth parameter, or returning early", () => {
    expect(refusedOf("  let s = 0;\n  return x.reduce((a, v) => a + (s += v), 0) + s;")).toEqual([[94003, "s += v"]]);
    expect(refusedOf("  return x.reduce((a, v, i, all) => a + v * all[i], 0);")[0][0]).toBe(94003);
    const early = tsgradErrors(
      "/** @differentiable */\nexport function f(x: number[]): number {\n  return x.reduce((a, v) => { if (v > 0) return a; return a + v; }, 0);\n}\n",
    );
    expect(early.map((e) => e.code)).toEqual([94003]);
    expect(early[0].message).toMatch(/returns before its end/);
  });

  it("a forEach callback that returns says to write the loop with continue", () => {
    const early = refusedOf(
      "  let s = 0;\n  x.forEach((v) => {\n    if (v < 0) return;\n    s += v * y;\n  });\n  return s;",
    );
    expect(early).toEqual([[94003, "(v) => {\n    if (v < 0) return;\n    s += v * y;\n  }"]]);
  });

  it("filter and a copy of what is not an array by name say what to write", () => {
    const each = refusedOf("  return x.filter((v) => v > y).length;");
    expect(each.map((e) => e[0])).toContain(94003);
    const copied = tsgradErrors(
      "/** @differentiable */\nexport function f(x: number[], y: number): number {\n  const c = x.map((v) => v * y).slice();\n  return c[0];\n}\n",
    );
    expect(copied.map((e) => [e.code, e.text])).toEqual([[94003, "x.map((v) => v * y)"]]);
    expect(copied[0].message).toMatch(
      /is copied or mapped here, and tsgrad copies only arrays the function reads by name/,
    );
  });
});

const copies = `
/** @differentiable */
export function unrolled(x0: readonly number[], lr: number, steps: number): number {
  const x = x0.slice();
  for (let k = 0; k < steps; k++) for (let i = 0; i < x.length; i++) x[i] -= lr * Math.sin(x[i]) * (i + 1);
  let s = 0;
  for (const v of x) s += v * v;
  return s;
}

/** @differentiable */
export function mapped(p: readonly number[], q: Float64Array): number {
  const m = p.map((v, i) => (v + q[i]) / 2);
  const e = Array.from(q, (v) => Math.exp(v));
  const c = [...p];
  const f = new Float64Array(q);
  c[0] *= 2;
  f[1] += m[0];
  return m[0] * e[1] + Math.log(m[1]) + c[0] * f[1] + c[2];
}

/** @differentiable */
export function filtered(values: readonly number[], k: number): number {
  const kept = values.filter((v, i) => v > k || i === 0);
  let s = 0;
  for (let i = 0; i < kept.length; i++) s += Math.sin(kept[i] * k) * (i + 1);
  return s / kept.length + kept.reduce((a, v) => a + v, 0);
}

/** @differentiable */
export function neuron(weights: readonly number[], bias: number, inputs: readonly number[]): number {
  let sum = bias;
  inputs.forEach((input, k) => {
    sum += weights[k] * input;
  });
  let m = 0;
  inputs.forEach((v) => (m = Math.max(m, v * sum)));
  const h = new Float64Array(inputs.length);
  inputs.forEach((v, i) => {
    if (v > 0) h[i] = v * m;
    else h[i] = Math.exp(v);
  });
  return 1 / (1 + Math.exp(-sum)) + h[0] * h[1];
}

/** @differentiable */
export function refilled(x: readonly number[], k: number): number {
  const w = new Array<number>(x.length).fill(1 / x.length);
  const g = new Float64Array(x.length);
  let s = 0;
  for (let step = 0; step < 3; step++) {
    g.fill(k * step);
    for (let i = 0; i < x.length; i++) g[i] += w[i] * x[i];
    for (let i = 0; i < x.length; i++) s += Math.sin(g[i]);
  }
  return s;
}

/** @differentiable */
export function guarded(x: readonly number[], t: number): number {
  if (x.some((v) => v <= 0)) throw new Error("positive numbers only");
  if (!x.every((v) => v < 100)) return 0;
  const i = x.findIndex((v) => v > t);
  const j = x.indexOf(Math.max(...x));
  const k = i === -1 ? x.length - 1 : i;
  return Math.log(x[k]) * t + x[j] * (x.includes(t) ? 2 : 1);
}
`;

const piecewise = `
/** @differentiable */
export function piecewiseLinear(xs: readonly number[], ys: readonly number[], t: number): number {
  if (xs.some((x, i) => i > 0 && x <= xs[i - 1])) throw new Error("xs must increase");
  const i = xs.findIndex((x) => x > t);
  if (i <= 0) return i === 0 ? ys[0] : ys[ys.length - 1];
  const u = (t - xs[i - 1]) / (xs[i] - xs[i - 1]);
  return ys[i - 1] * (1 - u) + ys[i] * u;
}
`;

describe("copies, maps and searches", () => {
  it("the README's piecewiseLinear: a search guards, another picks the segment", async () => {
    const { module: m } = await compile(piecewise);
    for (const t of [-1, 0.4, 1.7, 2.9, 5]) checkEveryApi(m.piecewiseLinear, [[0, 1, 2.5, 4], [1, -2, 0.5, 3], t]);
    expect(() => m.piecewiseLinear_grad([0, 2, 1], [1, 2, 3], 1)).toThrow("xs must increase");
  });

  it("slice, spread, Array.from and new Float64Array copy; map and Array.from(xs, f) fill a new array", async () => {
    const { module: m, js } = await compile(copies);
    checkEveryApi(m.unrolled, [[0.3, -0.5, 1.2], 0.1, 3], { skip: ["[2]"] });
    checkEveryApi(m.mapped, [[0.5, 1.5, -0.25], Float64Array.of(0.2, 0.7, 1.1)]);
    // The copy is a loop into a new array, not a call of slice.
    // filter: the elements kept, in order, an array of their number.
    checkEveryApi(m.filtered, [[0.3, -0.5, 1.2, 2.5, 0.1], 0.7]);
    expect(m.filtered_grad([0.3, -0.5, 1.2, 2.5, 0.1], 0.7)[0].map((g: number) => g !== 0)).toEqual([
      true,
      false,
      true,
      true,
      false,
    ]);
    // forEach: a loop body assigning the function's variables and writing its arrays.
    checkEveryApi(m.neuron, [[0.5, -1.2, 0.8], 0.3, [1.5, -0.4, 2.2]]);
    // fill(v) in a declaration and as a statement, refilling an array each iteration.
    checkEveryApi(m.refilled, [[0.3, -0.5, 1.2], 0.7]);
    // (Its comments name the call: `// x0.slice(), in reverse`.)
    const code = (name: string) =>
      bodyOf(js, name)
        .split("\n")
        .filter((line) => !line.trim().startsWith("//"))
        .join("\n");
    for (const name of ["unrolled_grad", "mapped_grad"]) expect(code(name)).not.toMatch(/\.slice\(|\.map\(|\.from\(/);
  });

  it("some, every, findIndex, indexOf and includes: data from a loop, the gradient through what they choose", async () => {
    const { module: m } = await compile(copies);
    checkEveryApi(m.guarded, [[0.5, 2.5, 1.2, 3.1], 1.7]);
    checkEveryApi(m.guarded, [[0.5, 2.5, 1.2, 3.1], 9]);
    expect(() => m.guarded_grad([0.5, -1, 2], 1)).toThrow("positive numbers only");
    expect(m.guarded_grad([0.5, 200, 2], 1)).toEqual([[0, 0, 0], 0]);
  });
});

const overRows = `
function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function softmax(z: readonly number[]): number[] {
  const max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / total);
}

/** @differentiable */
export function attention(q: readonly number[], keys: number[][], values: readonly number[]): number {
  const scores = keys.map((k) => dot(q, k) / Math.sqrt(q.length));
  const w = softmax(scores);
  return w.reduce((s, wi, i) => s + wi * values[i], 0);
}

/** @differentiable */
export function rowNorms(A: number[][], c: number): number {
  let total = A.reduce((s, row) => s + Math.sqrt(dot(row, row)), 0);
  A.forEach((row, i) => {
    total += row[0] * c * (i + 1);
  });
  return total + Math.max(...A.map((row) => row[row.length - 1] * c));
}

/** @differentiable */
export function localExtremes(x: readonly number[], k: number): number {
  const h = x.map((v) => Math.sin(v * k));
  const top = Math.max(...h);
  h[0] = top * k;
  return top - Math.min(...h) + Math.hypot(...h);
}
`;

describe("callbacks over the rows of a number[][], and Math.max over an array the function made", () => {
  it("keys.map((k) => dot(q, k)): each row given to a helper, its gradient the row's", async () => {
    const { module: m } = await compile(overRows);
    const keys = [
      [0.5, -1, 0.25],
      [1.5, 0.2, -0.7],
      [-0.3, 0.8, 1.1],
      [0.9, 0.4, -0.2],
    ];
    checkEveryApi(m.attention, [[0.3, -0.6, 1.2], keys, [1, -2, 0.5, 3]]);
    checkEveryApi(m.rowNorms, [keys, 0.7]);
  });

  it("Math.max, Math.min and Math.hypot over a local array read each element as it is then", async () => {
    const { module: m } = await compile(overRows);
    checkEveryApi(m.localExtremes, [[0.3, -0.6, 1.2, 2], 0.9]);
    checkEveryApi(m.localExtremes, [[1.7, 0.2], -1.3]);
  });

  it("generated code type-checks under strict settings with no unused names", () => {
    expect(genStrictErrors(overRows, "over-rows", { noUnusedLocals: true, noUnusedParameters: true })).toEqual([]);
  });
});

const joined = `
/** @differentiable */
export function concatenated(a: readonly number[], b: Float64Array, k: number): number {
  const bs = Array.from(b);
  const c = a.concat(bs);
  const d = [...a, ...b];
  let s = 0;
  for (let i = 0; i < c.length; i++) s += c[i] * d[d.length - 1 - i] * (i + k);
  return s;
}

/** @differentiable */
export function joinedInLoop(a: readonly number[], k: number): number {
  let s = 0;
  for (let t = 0; t < 3; t++) {
    const scaled = a.map((v) => v * (t + k));
    const both = scaled.concat(a);
    s += both.reduce((acc, v, i) => acc + v * v * (i + 1), 0);
  }
  return s;
}
`;

describe("concat and spreads of several arrays", () => {
  it("a.concat(b) and [...a, ...b] copy each array after the one before", async () => {
    const { module: m } = await compile(joined);
    checkEveryApi(m.concatenated, [[0.5, -1.5, 2], Float64Array.of(0.3, -0.7), 0.9]);
    checkEveryApi(m.joinedInLoop, [[0.5, -1.5, 2], 0.9]);
  });

  it("generated code type-checks under strict settings with no unused names", () => {
    expect(genStrictErrors(joined, "joined", { noUnusedLocals: true, noUnusedParameters: true })).toEqual([]);
  });
});
