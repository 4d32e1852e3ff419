// Adversarial review of three compiler phases: reading stored values back (transformer/phases/read-back.ts),
// skipping zero-gradient iterations (transformer/phases/skip-zeros.ts) and fused matrix kernels
// (transformer/phases/fuse.ts, runtime/ops/fused.ts). Every case is a program shaped to break a phase's
// proof (non-injective or out-of-range indices, writes the proof must see, work after the
// zero-gradient point that is not a multiple of it, intermediates read elsewhere, aliased
// operands), checked against oracles only: central finite differences of the plain function,
// vjp's backward pass (f_backward(f_forward(...).cache, 1), never fused), and gradInto into
// buffers holding junk. No expected gradient is written by hand.

import { beforeAll, describe, expect, it } from "vitest";
import { compile, expectAllClose, numericEntries, numericGradient } from "./harness.js";
import { type Matrix, matrix } from "../runtime/index.js";

/** Central differences in argument i: every entry of an array or Matrix, or the number itself. */
function fd(f: (...a: any[]) => number, args: any[], i: number): number[] {
  const a = args[i];
  if (typeof a === "number") {
    return numericGradient((v: number) => f(...args.map((x, k) => (k === i ? v : x))), [a]);
  }
  return numericEntries(f, args, i);
}

const entries = (g: any): number[] => (typeof g === "number" ? [g] : Array.from(g?.data ?? g));

/** A copy of a gradient result with every number replaced by junk (gradInto must overwrite it). */
const junkLike = (g: any[]): any[] =>
  g.map((x) =>
    typeof x === "number"
      ? 1234.5
      : x?.data
        ? { ...x, data: x.data.map(() => 7) }
        : x instanceof Float64Array
          ? x.map(() => -3)
          : Array.isArray(x)
            ? x.map(() => 9)
            : x,
  );

/**
 * f_grad against finite differences (in the arguments `diff` lists, default every array, Matrix or
 * number), vjp's backward pass, and f_gradInto into junk-filled buffers; f_forward's value is f's.
 */
function check(m: Record<string, any>, name: string, args: any[], opts: { diff?: number[]; tol?: number } = {}): void {
  const f = m[name];
  const g = m[`${name}_grad`](...args);
  const fwd = m[`${name}_forward`](...args);
  expect(fwd.value).toBe(f(...args));
  const back = m[`${name}_backward`](fwd.cache, 1);
  const into = m[`${name}_gradInto`](junkLike(g), ...args);
  const diff =
    opts.diff ??
    args
      .map((a, i) => (typeof a === "number" || a instanceof Float64Array || Array.isArray(a) || a?.data ? i : -1))
      .filter((i) => i >= 0);
  for (const i of diff) {
    const mine = entries(g[i]);
    for (const v of mine) expect(Number.isFinite(v), `${name} arg ${i}: ${v}`).toBe(true);
    expectAllClose(mine, fd(f, args, i), opts.tol ?? 1e-6);
    expectAllClose(entries(back[i]), mine, 1e-12);
    expectAllClose(entries(into[i]), mine, 0);
  }
}

const vec = (n: number, seed: number, scale = 0.8) =>
  Float64Array.from({ length: n }, (_, i) => Math.sin(seed * 3.7 + i * 1.3) * scale);
const arr = (n: number, seed: number, scale = 0.8) => Array.from(vec(n, seed, scale));

// ---------------------------------------------------------------------------------------------
// 1. Values read back from the array they were stored in

const reloadSource = `
/** The proved two-loop shape (whole row and column counts), the array then read by a third loop with a different index. */
/** @differentiable */
export function nest2(x: Float64Array, rows: number, cols: number): number {
  const n = Math.round(rows);
  const h = Math.round(cols);
  const e = new Float64Array(n * h);
  let s = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < h; j++) {
      const t = Math.tanh(x[i] - x[j] * 0.5);
      e[i * h + j] = t;
      s += t * t * x[j];
    }
  }
  for (let k = 0; k < n * h; k++) s += e[k] * x[k % x.length];
  return s;
}

/** h * i + j, length h * n: the commuted spellings. */
/** @differentiable */
export function commuted(x: Float64Array, rows: number, cols: number): number {
  const n = Math.round(rows);
  const h = Math.round(cols);
  const e = new Float64Array(h * n);
  let s = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < h; j++) {
      const t = Math.exp(0.3 * x[i] * x[j]);
      e[h * i + j] = t;
      s += t * x[i];
    }
  }
  return s + e[n * h - 1];
}

/** Index j * n + i in an (i, j) nest: a transposed layout, not the proved one. */
/** @differentiable */
export function transposed(x: Float64Array, n: number, h: number): number {
  const e = new Float64Array(n * h);
  let s = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < h; j++) {
      const t = Math.exp(0.4 * x[i] - x[j] * 0.2);
      e[j * n + i] = t;
      s += t * t;
    }
  }
  for (let k = 0; k < n * h; k++) s += e[k] * (k + 1);
  return s;
}

/** i * w + j with the inner loop shorter than the row (j < h < w): injective, but not the proof's. */
/** @differentiable */
export function shortRows(x: Float64Array, n: number, h: number, w: number): number {
  const e = new Float64Array(n * w);
  let s = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < h; j++) {
      const t = Math.sin(x[i] + 2 * x[j]);
      e[i * w + j] = t;
      s += t * t;
    }
  }
  for (let k = 0; k < n * w; k++) s += e[k] * x[k % x.length];
  return s;
}

/** i * h + j with the inner loop longer than h: elements written twice (not injective). */
/** @differentiable */
export function overlapping(x: Float64Array, n: number, h: number): number {
  const e = new Float64Array(n * h + h);
  let s = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 2 * h; j++) {
      const t = Math.exp(0.5 * x[i] - 0.3 * x[j % x.length]);
      e[i * h + j] = t;
      s += t * t;
    }
  }
  for (let k = 0; k < n * h + h; k++) s += e[k] * x[k % x.length];
  return s;
}

/** h reassigned between the array's creation and the loops: not a fixed bound (rows overlap). */
/** @differentiable */
export function hChanges(x: Float64Array, n: number): number {
  let h = 3;
  const e = new Float64Array(n * h);
  h = 2;
  let s = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < h; j++) {
      const t = Math.exp(0.5 * x[i] + 0.1 * x[j]);
      e[i * h + j] = t;
      s += t * x[j];
    }
  }
  for (let k = 0; k < n * 3; k++) s += e[k] * e[k];
  return s;
}

/** Three nested loops (i * h + j stored in the innermost, k ignored): every element written n times. */
/** @differentiable */
export function depth3(x: Float64Array, n: number, h: number): number {
  const e = new Float64Array(n * h);
  let s = 0;
  for (let k = 0; k < 2; k++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < h; j++) {
        const t = Math.exp(0.3 * x[i] * (k + 1) - 0.2 * x[j]);
        e[i * h + j] = t;
        s += t * t;
      }
    }
  }
  for (let q = 0; q < n * h; q++) s += e[q] * x[q % x.length];
  return s;
}

/** A loop from 1, a loop counting down, a loop up to <= and a step of 2: none proved. */
/** @differentiable */
export function otherCounters(x: Float64Array): number {
  const n = x.length;
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const c = new Float64Array(n);
  const d = new Float64Array(n);
  let s = 0;
  for (let i = 1; i < n; i++) {
    const t = Math.exp(x[i] * x[i - 1]);
    a[i] = t;
    s += t * x[i];
  }
  for (let i = n - 1; i >= 0; i--) {
    const t = Math.sin(x[i] * 2);
    b[i] = t;
    s += t * t;
  }
  for (let i = 0; i <= n - 1; i++) {
    const t = Math.cos(x[i] + 0.5);
    c[i] = t;
    s += t * t * t;
  }
  for (let i = 0; i < n; i += 2) {
    const t = Math.exp(-x[i] * x[i]);
    d[i] = t;
    s += t * x[i];
  }
  for (let i = 0; i < n; i++) s += a[i] * b[i] + c[i] * d[i];
  return s;
}

/** A while loop and a for...of with a manual index. */
/** @differentiable */
export function whileAndForOf(x: Float64Array): number {
  const n = x.length;
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  let s = 0;
  let i = 0;
  while (i < n) {
    const t = Math.exp(0.5 * x[i]);
    a[i] = t;
    s += t * t;
    i++;
  }
  let k = 0;
  for (const v of x) {
    const t = Math.tanh(v * 1.5);
    b[k] = t;
    s += t * v;
    k++;
  }
  for (let j = 0; j < n; j++) s += a[j] * b[j];
  return s;
}

/** continue, break and an early return around the store. */
/** @differentiable */
export function controlFlow(x: Float64Array, limit: number): number {
  const n = x.length;
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const c = new Float64Array(n);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const t = Math.exp(x[i]);
    s += t * t;
    if (x[i] > 0) continue;
    a[i] = t;
  }
  for (let i = 0; i < n; i++) {
    const t = Math.sin(x[i] * 3);
    b[i] = t;
    s += t * x[i];
    if (s > limit) break;
  }
  for (let i = 0; i < n; i++) {
    const t = Math.cos(x[i]);
    s += t * t;
    if (s > 2 * limit) return s + a[0] * b[0];
    c[i] = t;
  }
  let r = 0;
  for (let i = 0; i < n; i++) r += a[i] * x[i] + b[i] * b[i] + c[i] * x[i];
  return s + r;
}

/** Written twice: a second loop over the same indices, an element +=, a store under an if. */
/** @differentiable */
export function writtenTwice(x: Float64Array): number {
  const n = x.length;
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const c = new Float64Array(n);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const t = Math.exp(x[i] * 0.7);
    a[i] = t;
    s += t * t;
  }
  for (let i = 0; i < n; i++) {
    const t = Math.sin(x[i]);
    a[i] = t * a[i];
  }
  for (let i = 0; i < n; i++) {
    const t = Math.exp(-x[i]);
    b[i] = t;
    b[i] += x[i] * t;
    s += t * x[i];
  }
  for (let i = 0; i < n; i++) {
    const t = Math.cosh(x[i]);
    if (x[i] > 0.1) c[i] = t;
    s += t * x[i];
  }
  for (let i = 0; i < n; i++) s += a[i] * b[i] + c[i] * c[i];
  return s;
}

/** Stores of a join variable, a ternary, a let and a value used again in the iteration. */
/** @differentiable */
export function joins(x: Float64Array): number {
  const n = x.length;
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const c = new Float64Array(n);
  let s = 0;
  for (let i = 0; i < n; i++) {
    let v = x[i] * x[i];
    if (x[i] > 0) v = Math.exp(x[i]);
    a[i] = v;
    const w = x[i] > 0.2 ? Math.log(1 + x[i] * x[i]) : Math.sin(x[i]);
    b[i] = w;
    let u = Math.tanh(x[i]);
    u = u * u + w;
    c[i] = u;
    s += v * w + u * v;
  }
  for (let i = 0; i < n; i++) s += a[i] * b[i] * c[i];
  return s;
}

/** Elements read in the same loop after the store, the previous element too. */
/** @differentiable */
export function readAfterStore(x: Float64Array): number {
  const n = x.length;
  const e = new Float64Array(n);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const t = Math.exp(x[i] * 0.7);
    e[i] = t;
    s += e[i] * t + (i > 0 ? e[i - 1] * t : 0);
  }
  return s;
}

/** A number[] array, and an array one longer than the loop (its last element never written). */
/** @differentiable */
export function plainArrays(x: number[], y: Float64Array): number {
  const n = x.length;
  const a = new Array<number>(n).fill(0);
  const b = new Float64Array(n + 1);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const t = Math.exp(x[i] * y[i]);
    a[i] = t;
    s += t * x[i];
  }
  for (let i = 0; i < n; i++) {
    const t = Math.atan(x[i] + y[i]);
    b[i] = t;
    s += t * t;
  }
  for (let i = 0; i < n; i++) s += a[i] * b[i + 1] - b[i] * a[i];
  return s;
}

/** Two arrays stored from one loop, the same value in both. */
/** @differentiable */
export function sameValueTwice(x: Float64Array): number {
  const n = x.length;
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const t = Math.exp(x[i] * 0.5);
    a[i] = t;
    b[i] = t;
    s += t * t;
  }
  for (let i = 0; i < n; i++) s += a[i] * b[n - 1 - i];
  return s;
}

/** A callee with its own read-back array called in the iteration (scratch buffers nested). */
/** @differentiable */
export function helper(v: number, k: number): number {
  const buf = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    const u = Math.sin(v * (i + 1));
    buf[i] = u;
  }
  let s = 0;
  for (let i = 0; i < k; i++) s += buf[i] * buf[i] * v;
  return s;
}

/** @differentiable */
export function withCallee(x: Float64Array): number {
  const n = x.length;
  const e = new Float64Array(n);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const t = Math.exp(x[i] * 0.5);
    e[i] = t;
    s += helper(x[i], 3) * t + t * t;
  }
  return s + e[n - 1];
}

/** The array returned inside an object: the caller holds it. */
/** @differentiable */
export function inObject(x: Float64Array): { e: Float64Array; total: number } {
  const n = x.length;
  const e = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const t = Math.exp(x[i]);
    e[i] = t;
    total += t * t;
  }
  return { e, total };
}
`;

describe("reload: values read back from the array they were stored in", () => {
  let m: Record<string, any>;
  beforeAll(async () => {
    ({ module: m } = await compile(reloadSource));
  });
  const x = vec(6, 1);

  it("the proved two-loop shape and its commuted spelling are read back, and right", () => {
    expect(m.nest2_grad.toString()).toMatch(/const t = e\[i \* h \+ j\];/);
    expect(m.commuted_grad.toString()).toMatch(/const t = e\[h \* i \+ j\];/);
    for (const [n, h] of [
      [2, 3],
      [3, 2],
      [1, 6],
      [6, 1],
    ]) {
      check(m, "nest2", [x, n, h], { diff: [0] });
      check(m, "commuted", [x, n, h], { diff: [0] });
    }
    check(m, "nest2", [x, 0, 3], { diff: [0] });
  });

  it("vjp reads back from its cache after a second forward pass and stays right", () => {
    const f1 = m.nest2_forward(x, 2, 3);
    m.nest2_forward(vec(6, 9), 2, 3);
    m.nest2_grad(vec(6, 10), 3, 2);
    expectAllClose(m.nest2_backward(f1.cache, 1)[0], m.nest2_grad(x, 2, 3)[0], 1e-14);
    expectAllClose(m.nest2_backward(f1.cache, 1)[0], numericEntries(m.nest2, [x, 2, 3], 0), 1e-6);
  });

  it.each([
    ["transposed", [x, 2, 3]],
    ["transposed", [x, 3, 2]],
    ["shortRows", [x, 2, 2, 3]],
    ["overlapping", [x, 2, 2]],
    ["hChanges", [x, 2]],
    ["depth3", [x, 2, 3]],
  ] as const)("index patterns that are not the proved one: %s", (name, args) => {
    check(m, name, [...args], { diff: [0] });
  });

  it("loops not of the form for (let i = 0; i < N; i++): from 1, down, <=, step 2, while, for...of", () => {
    check(m, "otherCounters", [x]);
    check(m, "whileAndForOf", [x]);
  });

  it("continue, break and return around the store (each path taken)", () => {
    const y = Float64Array.from([-0.3, 0.5, -0.8, 0.25, -0.6, 0.9]);
    for (const limit of [100, 2.3, 0.7]) check(m, "controlFlow", [y, limit], { diff: [0] });
  });

  it("arrays written twice, by +=, or under an if", () => {
    check(m, "writtenTwice", [Float64Array.from([-0.4, 0.5, 0.3, -0.9, 1.1, 0.05])]);
  });

  it("stores of join variables, ternaries and reassigned lets", () => {
    check(m, "joins", [Float64Array.from([-0.4, 0.5, 0.3, -0.9, 1.1, 0.05])]);
  });

  it("elements read in the storing loop itself", () => {
    check(m, "readAfterStore", [x]);
  });

  it("number[] arrays, an array longer than the loop, one value stored in two arrays", () => {
    check(m, "plainArrays", [arr(5, 2), vec(5, 3)]);
    check(m, "sameValueTwice", [x]);
  });

  it("a callee with its own array called in the storing iteration", () => {
    expect(m.withCallee_grad.toString()).toMatch(/const t = e\[i\];/);
    check(m, "withCallee", [x]);
  });

  it("an array returned in an object is not read back: a caller overwriting it changes nothing", () => {
    const fw = m.inObject_forward(x);
    const de = Float64Array.from({ length: 6 }, (_, i) => i - 2);
    const before = m.inObject_backward(fw.cache, { e: de, total: 0.5 })[0];
    fw.value.e.fill(0);
    const after = m.inObject_backward(fw.cache, { e: de, total: 0.5 })[0];
    expectAllClose(after, before, 0);
    const f = (v: Float64Array) => {
      const r = m.inObject(v);
      return 0.5 * r.total + r.e.reduce((s: number, e: number, i: number) => s + e * de[i], 0);
    };
    expectAllClose(before, numericEntries(f, [x], 0), 1e-6);
  });
});

// ---------------------------------------------------------------------------------------------
// 2. Zero gradients skipping the rest of their iteration

const sparseSource = `
/** @differentiable */
export function helper(a: number): number { return a * a * 0.5 + Math.sin(a); }

/** A call of another @differentiable function after the zero point. */
/** @differentiable */
export function callAfter(W: Float64Array, x: Float64Array): number {
  let s = 0;
  for (let j = 0; j < W.length; j++) {
    const z = W[j] * x[j] - 0.1;
    const a = Math.max(0, z);
    s += helper(a) + a * x[j] + a * W[j];
  }
  return s;
}

/** An element written with = (its gradient reset) and then += after the zero point. */
/** @differentiable */
export function elemSet(W: Float64Array, x: Float64Array): number {
  const n = W.length;
  const h = new Float64Array(n);
  let s = 0;
  for (let j = 0; j < n; j++) {
    const z = W[j] * x[j] - 0.1;
    const a = Math.max(0, z);
    h[j] = a * x[j];
    h[j] += a * W[j];
    s += h[j] * h[j];
  }
  return s;
}

/** The gradient through a division and Math calls. */
/** @differentiable */
export function divTail(W: Float64Array, x: Float64Array): number {
  let s = 0;
  for (let j = 0; j < W.length; j++) {
    const z = W[j] * x[j] - 0.1;
    const a = Math.max(0, z);
    s += a / (1 + x[j] * x[j]) + Math.exp(a) * W[j] + Math.sin(a) * x[j] + x[j] / (1 + a);
  }
  return s;
}

/** Nested loops: a leaky unit then a ReLU, inner loops before and after the zero point. */
/** @differentiable */
export function nested(W: Float64Array, b: Float64Array, X: Float64Array, n: number): number {
  const h = b.length;
  const d = W.length / h;
  let s = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < h; j++) {
      let z = b[j];
      for (let c = 0; c < d; c++) z += X[i * d + c] * W[c * h + j];
      const a = z > 0 ? z : 0.01 * z;
      const r = Math.max(0, a - 0.05);
      for (let c = 0; c < d; c++) s += r * X[i * d + c] * W[c * h + j];
    }
  }
  return s;
}

/** A carried value updated after the zero point. */
/** @differentiable */
export function carriedAfter(x: Float64Array, y0: number): number {
  let y = y0;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const z = Math.max(0, x[i] - 0.2);
    s += z * y + z * x[i];
    y = y * 0.9 + z;
  }
  return s + y;
}

/** A carried value multiplied through a max: the preaccumulated form, if it applies. */
/** @differentiable */
export function carriedMax(x: number, n: number): number {
  let y = x;
  for (let i = 0; i < n; i++) y = Math.max(0.1, y * y - 0.5) + 0.3 * y;
  return y;
}

/** An if inside the tail. */
/** @differentiable */
export function ifInTail(W: Float64Array, x: Float64Array): number {
  let s = 0;
  for (let j = 0; j < W.length; j++) {
    const z = W[j] * x[j] - 0.1;
    const a = Math.max(0, z);
    if (x[j] > 0) s += a * x[j] * W[j];
    else s += a * a + a * W[j];
    s += a * 3;
  }
  return s;
}

/** Two gradients declared 0 (a max and a min) in one iteration. */
/** @differentiable */
export function twoZeros(W: Float64Array, x: Float64Array): number {
  let s = 0;
  for (let j = 0; j < W.length; j++) {
    const z = W[j] * x[j] - 0.1;
    const a = Math.max(0, z);
    const q = Math.min(0, W[j] + x[j]);
    s += a * x[j] + a * W[j] + q * x[j] + q * W[j] + a * q;
  }
  return s;
}

/** A value behind the max also used directly: its gradient is not only the max's. */
/** @differentiable */
export function zeroUsedTwice(W: Float64Array, x: Float64Array): number {
  let s = 0;
  for (let j = 0; j < W.length; j++) {
    const z = W[j] * x[j] - 0.1;
    const a = Math.max(0, z);
    const p = z * x[j];
    s += a * x[j] + a * W[j] + p * p;
  }
  return s;
}

/** while, for...of and for...of with break. */
/** @differentiable */
export function whileLoop(x: Float64Array): number {
  let s = 0;
  let i = 0;
  while (i < x.length) {
    const z = Math.max(0, x[i] - 0.3);
    s += z * x[i] + z * z * x[i];
    i++;
  }
  return s;
}

/** @differentiable */
export function forOfBreak(x: Float64Array, limit: number): number {
  let s = 0;
  for (const v of x) {
    const z = Math.max(0, v - 0.3);
    s += z * v + z * z * v;
    if (s > limit) break;
  }
  return s;
}

/** A local array: an element of another unit written after the zero point. */
/** @differentiable */
export function localArr(W: Float64Array, x: Float64Array): number {
  const n = W.length;
  const acc = new Float64Array(n);
  let s = 0;
  for (let j = 0; j < n; j++) {
    const z = W[j] * x[j] - 0.1;
    const a = Math.max(0, z);
    acc[j] += a * x[j];
    acc[j] += a * W[j];
    acc[(j + 1) % n] += a;
  }
  for (let j = 0; j < n; j++) s += acc[j] * acc[j];
  return s;
}

/** A value saved and popped after the zero point (an overwritten local array element read). */
/** @differentiable */
export function popAfter(W: Float64Array, x: Float64Array): number {
  const n = W.length;
  const h = new Float64Array(n);
  let s = 0;
  for (let r = 0; r < 2; r++) {
    for (let j = 0; j < n; j++) {
      const z = W[j] * x[j] - 0.1 * r;
      const a = Math.max(0, z);
      const old = h[j];
      h[j] = old * a + a * x[j];
      s += Math.exp(old) * a + a * W[j];
    }
  }
  for (let j = 0; j < n; j++) s += h[j];
  return s;
}

/** A kink (abs) after a ReLU-like branch, an inner while loop in the tail, an early return. */
/** @differentiable */
export function kinkWhile(W: Float64Array, x: Float64Array, cap: number): number {
  let s = 0;
  for (let j = 0; j < W.length; j++) {
    const z = W[j] * x[j] - 0.1;
    const a = z > 0 ? z * z : 0;
    const b = Math.abs(a - 0.05);
    let k = 0;
    while (k < 3) {
      s += b * x[k] + a * W[k];
      k++;
    }
    if (s > cap) return s * 2;
  }
  return s;
}
`;

describe("sparse: zero gradients skip the rest of their iteration", () => {
  let m: Record<string, any>;
  beforeAll(async () => {
    ({ module: m } = await compile(sparseSource));
  });
  // Units on and off (z = W x - 0.1 of both signs), none at a kink.
  const W = Float64Array.from([0.9, -0.7, 1.3, 0.4, -1.1, 0.8]);
  const x = Float64Array.from([0.6, 1.2, -0.9, 0.75, 0.5, 1.4]);
  const skips = (name: string) => /nothing more flows back/.test(m[`${name}_grad`].toString());

  it.each(["callAfter", "elemSet", "divTail", "ifInTail", "twoZeros", "zeroUsedTwice", "localArr", "popAfter"])(
    "%s",
    (name) => {
      check(m, name, [W, x]);
    },
  );

  it("the skip is really emitted where the tail is a multiple (ReLU tails with ifs, two zeros, a local array)", () => {
    for (const name of ["divTail", "ifInTail", "twoZeros", "localArr"]) expect(skips(name), name).toBe(true);
  });

  it("nested loops with leaky and ReLU units", () => {
    const args = [
      Float64Array.from([0.5, -0.3, 0.8, 0.2, -0.6, 0.9]),
      Float64Array.from([0.1, -0.2, 0.3]),
      Float64Array.from([1, 0.5, -0.7, 0.2, 0.3, -1.2]),
      3,
    ];
    check(m, "nested", args, { diff: [0, 1, 2] });
  });

  it("carried values after the zero point, and through a max", () => {
    check(m, "carriedAfter", [x, 0.7]);
    for (const v of [0.9, 1.3, 0.2, -0.8]) check(m, "carriedMax", [v, 4], { diff: [0] });
  });

  it("while and for...of loops, break taken and not", () => {
    check(m, "whileLoop", [x]);
    for (const limit of [100, 1]) check(m, "forOfBreak", [x, limit], { diff: [0] });
  });

  it("a kink, an inner while loop in the tail, an early return taken and not", () => {
    for (const cap of [100, 0.5]) check(m, "kinkWhile", [W, x, cap], { diff: [0, 1] });
  });

  it("an off unit's infinite input gives 0, not NaN, where skipped; finite everywhere else", () => {
    const xi = Float64Array.from([0.6, 1.2, -Infinity, 0.75, 0.5, 1.4]);
    const Wi = Float64Array.from([0.9, -0.7, 1.3, 0.4, -1.1, 0.8]);
    expect(Number.isFinite(m.divTail(Wi, xi))).toBe(false); // x / (1 + a) at x = -Infinity
    const [dW] = m.ifInTail_grad(Wi, xi);
    // unit 2: z = -Infinity, off; every other unit's gradient is the vjp's
    const back = m.ifInTail_backward(m.ifInTail_forward(Wi, xi).cache, 1);
    expect(dW[2]).toBe(0);
    for (const j of [0, 1, 3, 4, 5]) expect(dW[j]).toBe(back[0][j]);
  });
});

// ---------------------------------------------------------------------------------------------
// 3. Fused matrix kernels

const fuseSource = `
import { type Matrix, add, addBias, matmul, mul, relu, sum, tanh, softmaxCrossEntropy, transpose, grad, gradInto } from "tsgrad";

/** One matrix as both factors. */
/** @differentiable */
export function sameAB(W: Matrix, b: Matrix): number {
  const h = relu(addBias(matmul(W, W), b));
  return sum(mul(h, h));
}

/** The bias is also the left factor. */
/** @differentiable */
export function biasIsA(b: Matrix, W: Matrix): number {
  const h = relu(addBias(matmul(b, W), b));
  return sum(mul(h, h));
}

/** The product is its own bias: the inner value is an operand of the chain. */
/** @differentiable */
export function biasIsProduct(X: Matrix, W: Matrix): number {
  const z = matmul(X, W);
  const h = addBias(z, z);
  return sum(mul(h, h));
}

/** A ReLU layer feeding two products (its gradient has two contributions). */
/** @differentiable */
export function fanOut(X: Matrix, W: Matrix, b: Matrix, V: Matrix, U: Matrix): number {
  const h = relu(addBias(matmul(X, W), b));
  const o1 = matmul(h, V);
  const o2 = matmul(h, U);
  return sum(mul(o1, o1)) + sum(tanh(o2));
}

/** Two fused layers in a row, both backward pairs fused. */
/** @differentiable */
export function twoChains(X: Matrix, W1: Matrix, b1: Matrix, W2: Matrix, b2: Matrix, W3: Matrix): number {
  const h1 = relu(addBias(matmul(X, W1), b1));
  const h2 = relu(addBias(matmul(h1, W2), b2));
  const o = matmul(h2, W3);
  return sum(mul(o, o));
}

/** The product's gradient shares a buffer (add, addBias) with gradients written later. */
/** @differentiable */
export function sharedGrad(X: Matrix, W: Matrix, b: Matrix, V: Matrix, C: Matrix): number {
  const h = relu(addBias(matmul(X, W), b));
  const m = matmul(h, V);
  const r = sum(mul(m, m));
  const s = add(m, C);
  const u = addBias(s, transpose(transpose(b)));
  return sum(mul(u, u)) + r;
}

/** @differentiable */
export function sharedGrad2(X: Matrix, W: Matrix, b: Matrix, V: Matrix, c: Matrix): number {
  const h = relu(addBias(matmul(X, W), b));
  const m = matmul(h, V);
  const s = addBias(m, c);
  const q = sum(mul(s, s));
  const u = add(s, m);
  return sum(tanh(u)) + q;
}

/** The ReLU's output also read by an op between the product and the ReLU (in backward order). */
/** @differentiable */
export function hUsedTwice(X: Matrix, W: Matrix, b: Matrix, V: Matrix): number {
  const h = relu(addBias(matmul(X, W), b));
  const k = sum(mul(h, X));
  const m = matmul(h, V);
  return sum(mul(m, m)) + k;
}

/** One bias in two layers; the hidden layer read by tanh as well. */
/** @differentiable */
export function biasShared(X: Matrix, W: Matrix, b: Matrix, W2: Matrix): number {
  const h = relu(addBias(matmul(X, W), b));
  const o = addBias(matmul(h, W2), b);
  return sum(mul(o, o)) + sum(tanh(h));
}

/** The ReLU's output multiplied by itself. */
/** @differentiable */
export function selfProduct(A: Matrix, b: Matrix): number {
  const h = relu(addBias(matmul(A, A), b));
  const o = matmul(h, h);
  return sum(mul(o, o));
}

/** The pre-activation read by the loss and the product read again after the chain. */
/** @differentiable */
export function readAgain(X: Matrix, W: Matrix, b: Matrix, V: Matrix): number {
  const z = matmul(X, W);
  const pre = addBias(z, b);
  const h = relu(pre);
  const o = addBias(matmul(h, V), transpose(transpose(b)));
  return sum(mul(o, o)) + sum(tanh(pre)) + 0.1 * sum(mul(z, z));
}

/** The ReLU's input and the product after it added together: one of them shares the sum's gradient buffer. */
/** @differentiable */
export function residualA(X: Matrix, W: Matrix, b: Matrix, V: Matrix): number {
  const z = addBias(matmul(X, W), b);
  const h = relu(z);
  const m = matmul(h, V);
  const w = add(z, m);
  return sum(mul(w, w));
}

/** @differentiable */
export function residualB(X: Matrix, W: Matrix, b: Matrix, V: Matrix): number {
  const z = addBias(matmul(X, W), b);
  const h = relu(z);
  const m = matmul(h, V);
  const w = add(m, z);
  return sum(mul(w, w));
}

/** The network, and gradients of some of its parameters only. */
/** @differentiable */
export function network(W1: Matrix, b1: Matrix, W2: Matrix, b2: Matrix, X: Matrix, y: Int32Array): number {
  const hidden = relu(addBias(matmul(X, W1), b1));
  const scores = addBias(matmul(hidden, W2), b2);
  return softmaxCrossEntropy(scores, y) + 0.01 * sum(mul(W1, W1));
}
export const gW1 = grad(network, { wrt: [0] });
export const gX = grad(network, { wrt: [4] });
export const gW2b1 = grad(network, { wrt: [2, 1] });
export const gb2 = grad(network, { wrt: [3] });
export const intoXW1 = gradInto(network, { wrt: [4, 0] });
`;

const rand = (r: number, c: number, seed: number, s = 1): Matrix =>
  matrix(
    r,
    c,
    Float64Array.from({ length: r * c }, (_, i) => Math.sin(seed * 91.7 + i * 12.9898) * s),
  );

describe("fuse: fused matrix kernels in f_grad and f_gradInto", () => {
  let m: Record<string, any>;
  let js: string;
  beforeAll(async () => {
    ({ module: m, js } = await compile(fuseSource));
  });
  const body = (name: string) => {
    const start = js.indexOf(`function ${name}(`);
    return js.slice(start, js.indexOf("\n}\n", start));
  };

  it.each([
    ["1×1", 1],
    ["3×3", 3],
    ["20×20", 20],
  ] as const)("one matrix as both factors, %s", (_, n) => {
    expect(body("sameAB_grad")).toMatch(/affineReluInto\(matrixPool\.matrix\(W\.rows, W\.cols\), W, W, b\)/);
    check(m, "sameAB", [rand(n, n, 1, 0.5), rand(1, n, 2, 0.3)]);
    check(m, "selfProduct", [rand(n, n, 3, 0.5), rand(1, n, 4, 0.3)]);
  });

  it.each([4, 17])("the bias as the left factor, 1×%i", (n) => {
    check(m, "biasIsA", [rand(1, n, 1), rand(n, n, 2, 0.4)]);
  });

  it("a product that is its own bias is not fused into itself", () => {
    expect(body("biasIsProduct_grad")).not.toMatch(/affine/);
    check(m, "biasIsProduct", [rand(1, 3, 1), rand(3, 5, 2)]);
  });

  it.each([
    ["narrow", 3, 5],
    ["wide", 17, 18],
  ] as const)("fan-out and two fused layers (%s)", (_, k, n) => {
    check(m, "fanOut", [rand(5, k, 1), rand(k, n, 2), rand(1, n, 3, 0.3), rand(n, 2, 4), rand(n, 18, 5, 0.3)]);
    check(m, "twoChains", [
      rand(18, k, 1, 0.5),
      rand(k, n, 2, 0.5),
      rand(1, n, 3, 0.3),
      rand(n, 20, 4, 0.5),
      rand(1, 20, 5, 0.2),
      rand(20, 3, 6),
    ]);
  });

  it("buffers shared through add and addBias around a fused backward pair", () => {
    expect(body("sharedGrad_grad")).toMatch(/addMatmulNTRelu/);
    expect(body("sharedGrad2_grad")).toMatch(/addMatmulNTRelu/);
    check(m, "sharedGrad", [rand(4, 3, 1), rand(3, 5, 2), rand(1, 5, 3, 0.3), rand(5, 5, 4), rand(4, 5, 5)]);
    check(m, "sharedGrad2", [rand(4, 3, 1), rand(3, 5, 2), rand(1, 5, 3, 0.3), rand(5, 6, 4), rand(1, 6, 5)]);
    check(m, "sharedGrad2", [
      rand(19, 17, 1, 0.5),
      rand(17, 16, 2, 0.5),
      rand(1, 16, 3, 0.3),
      rand(16, 20, 4, 0.3),
      rand(1, 20, 5),
    ]);
  });

  it("values read twice, by other ops or by the backward pass", () => {
    check(m, "hUsedTwice", [rand(4, 3, 1), rand(3, 3, 2), rand(1, 3, 3, 0.3), rand(3, 2, 4)]);
    check(m, "biasShared", [rand(4, 3, 1), rand(3, 5, 2), rand(1, 5, 3, 0.3), rand(5, 5, 4)]);
    check(m, "readAgain", [rand(4, 3, 1), rand(3, 5, 2), rand(1, 5, 3, 0.3), rand(5, 5, 4)]);
    check(m, "readAgain", [rand(16, 17, 1, 0.4), rand(17, 16, 2, 0.4), rand(1, 16, 3, 0.3), rand(16, 16, 4, 0.3)]);
  });

  it.each([
    [3, 5],
    [17, 16],
  ] as const)("a residual sum of the ReLU's input and the next product, both orders (%i×%i)", (k, n) => {
    for (const name of ["residualA", "residualB"]) {
      expect(body(`${name}_grad`)).toMatch(/addMatmulNTRelu/);
      check(m, name, [rand(6, k, 1, 0.6), rand(k, n, 2, 0.5), rand(1, n, 3, 0.3), rand(n, n, 4, 0.4)]);
    }
  });

  it.each([
    [2, 30, 40],
    [17, 1, 3],
    [1, 1, 1],
    [20, 18, 19],
  ] as const)("the network and its wrt variants: %i inputs, %i units, %i rows", (k, n, rows) => {
    const args: any[] = [
      rand(k, n, 1, 0.8),
      rand(1, n, 2, 0.3),
      rand(n, 3, 3, 0.5),
      rand(1, 3, 4, 0.1),
      rand(rows, k, 5),
      Int32Array.from({ length: rows }, (_, i) => i % 3),
    ];
    check(m, "network", args, { diff: [0, 1, 2, 3, 4] });
    const back = m.network_backward(m.network_forward(...args).cache, 1);
    expectAllClose(m.gW1(...args)[0].data, back[0].data, 1e-12);
    expectAllClose(m.gX(...args)[0].data, back[4].data, 1e-12);
    const w = m.gW2b1(...args);
    expectAllClose(w[0].data, back[2].data, 1e-12);
    expectAllClose(w[1].data, back[1].data, 1e-12);
    expectAllClose(m.gb2(...args)[0].data, back[3].data, 1e-12);
    const junk = [rand(rows, k, 9, 100), rand(k, n, 8, 100)];
    const r = m.intoXW1(junk, ...args);
    expect(r[0]).toBe(junk[0]);
    expectAllClose(r[0].data, back[4].data, 1e-12);
    expectAllClose(r[1].data, back[0].data, 1e-12);
  });
});
