// A backward iteration whose gradient a branch left at 0 skips the rest of its work
// (transformer/phases/skip-zeros.ts). Oracles: central finite differences, vjp, and a hand derivation where
// the plain chain rule would multiply 0 by an infinite value.

import { beforeAll, describe, expect, it } from "vitest";
import { compile, expectClose, numericEntries, numericGradient } from "./harness.js";
import { checkGenerated } from "./oracles.js";

const source = `
/** A ReLU layer: units that are off pass no gradient to their weights. */
/** @differentiable */
export function reluLayer(W: Float64Array, b: Float64Array, x: Float64Array): number {
  const h = b.length;
  const d = x.length;
  let s = 0;
  for (let j = 0; j < h; j++) {
    let z = b[j];
    for (let c = 0; c < d; c++) z += W[c * h + j] * x[c];
    const a = Math.max(0, z);
    s += a * a;
  }
  return s;
}

/** A carried value through a max: its iteration ends by resetting a gradient, so nothing is skipped. */
/** @differentiable */
export function carried(x: number, n: number): number {
  let y = x;
  for (let i = 0; i < n; i++) {
    const t = Math.max(0, y - 0.5);
    y = t * y + 0.25;
  }
  return y;
}

/** abs has a kink, not a zero gradient: the branch leaves a value, nothing to skip by it. */
/** @differentiable */
export function absSum(w: Float64Array, x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < w.length; i++) s += Math.abs(w[i] - 1) * x[i];
  return s;
}
`;

let m: Record<string, any>;

beforeAll(async () => {
  ({ module: m } = await compile(source));
});

describe("zero gradients skip the rest of their iteration", () => {
  it("a ReLU layer: the units that are off skip their weights' lines; gradients agree with finite differences", () => {
    const grad = m.reluLayer_grad.toString();
    expect(grad).toMatch(/\/\/ nothing more flows back from this iteration when (dz_\d+) is 0\n\s*if \(\1 !== 0\) \{/);
    const W = Float64Array.from({ length: 12 }, (_, i) => Math.sin(i * 1.7) * 0.8);
    const b = Float64Array.from([0.3, -0.9, 0.1, -0.2]);
    const x = Float64Array.from([0.5, -1.1, 0.7]);
    const args = [W, b, x];
    // some units on, some off
    const on = b.map((bj, j) => bj + [0, 1, 2].reduce((z, c) => z + W[c * 4 + j] * x[c], 0));
    expect(on.some((z) => z > 0) && on.some((z) => z < 0)).toBe(true);
    const g = m.reluLayer_grad(...args);
    for (const i of [0, 1, 2]) expectClose(Array.from(g[i]), numericEntries(m.reluLayer, args, i));
    const back = m.reluLayer_backward(m.reluLayer_forward(...args).cache, 1);
    for (const i of [0, 1, 2]) expect(Array.from(back[i])).toEqual(Array.from(g[i]));
  });

  it("an input of Infinity behind a unit that is off: its weight's gradient is 0, as the derivative is, not 0 · Infinity = NaN", () => {
    // z = b + W·x = -Infinity for the unit: max(0, z) is 0 for every nearby W, so d/dW = 0.
    const W = Float64Array.from([-1]),
      b = Float64Array.from([0]),
      x = Float64Array.from([Infinity]);
    expect(m.reluLayer(W, b, x)).toBe(0);
    const [dW, db, dx] = m.reluLayer_grad(W, b, x);
    expect(Array.from(dW)).toEqual([0]);
    expect(Array.from(db)).toEqual([0]);
    expect(Array.from(dx)).toEqual([0]);
  });

  it("an iteration that resets a carried gradient is never skipped", () => {
    expect(m.carried_grad.toString()).not.toMatch(/nothing more flows back/);
    for (const x of [0.9, 1.3, 0.2])
      expectClose(
        m.carried_grad(x, 4).slice(0, 1),
        numericGradient((v) => m.carried(v, 4), [x]),
      );
  });

  it("a kink that passes a value (abs) is not a zero gradient: plain code, right gradient", () => {
    const w = Float64Array.from([0.2, 1.7, -0.4]),
      x = Float64Array.from([1.5, -2, 0.3]);
    const g = m.absSum_grad(w, x);
    expectClose(Array.from(g[0]), numericEntries(m.absSum, [w, x], 0));
    expectClose(Array.from(g[1]), numericEntries(m.absSum, [w, x], 1));
  });
});

// ---------------------------------------------------------------------------------------------
// Programs shaped to break the skip: work after the zero point that is not a multiple of it, carried
// values, loops and kinks in the tail. Checked against oracles only (checkGenerated): finite
// differences, vjp's backward pass and gradInto into junk-filled buffers.

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

describe("zero gradients skip: work after the zero point, carried values, loop forms, kinks", () => {
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
      checkGenerated(m, name, [W, x]);
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
    checkGenerated(m, "nested", args, { diff: [0, 1, 2] });
  });

  it("carried values after the zero point, and through a max", () => {
    checkGenerated(m, "carriedAfter", [x, 0.7]);
    for (const v of [0.9, 1.3, 0.2, -0.8]) checkGenerated(m, "carriedMax", [v, 4], { diff: [0] });
  });

  it("while and for...of loops, break taken and not", () => {
    checkGenerated(m, "whileLoop", [x]);
    for (const limit of [100, 1]) checkGenerated(m, "forOfBreak", [x, limit], { diff: [0] });
  });

  it("a kink, an inner while loop in the tail, an early return taken and not", () => {
    for (const cap of [100, 0.5]) checkGenerated(m, "kinkWhile", [W, x, cap], { diff: [0, 1] });
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
