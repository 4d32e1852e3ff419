// Values read back from the array they were stored in (transformer/phases/read-back.ts) instead of saved:
// where the code proves that no later write reaches the element, the backward loop reads it;
// everywhere else the value is saved or recomputed as before. Every gradient against central
// finite differences, and against vjp's backward pass.

import { beforeAll, describe, expect, it } from "vitest";
import { compile, expectAllClose, numericEntries } from "./harness.js";

const source = `
/** The network's first layer: hidden[i * h + j] = max(0, z), z summed in an inner loop. */
/** @differentiable */
export function layer(W: Float64Array, b: Float64Array, X: Float64Array): number {
  const h = b.length;
  const d = W.length / h;
  const n = Math.floor(X.length / d);
  const hidden = new Float64Array(n * h);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < h; j++) {
      let z = b[j];
      for (let c = 0; c < d; c++) z += X[i * d + c] * W[c * h + j];
      const act = Math.max(0, z);
      hidden[j + i * h] = act;
    }
  }
  let s = 0;
  for (let k = 0; k < n * h; k++) s += hidden[k] * hidden[k];
  return s;
}

/** One loop: an exp (never recomputed) stored at e[i], read back. */
/** @differentiable */
export function exps(x: Float64Array): number {
  const n = x.length;
  const e = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = Math.exp(x[i] * x[i]);
    e[i] = t;
  }
  let s = 0;
  for (let i = 0; i < n; i++) s += e[i] * x[i];
  return s;
}

/** The array is written again later: the exp is saved. */
/** @differentiable */
export function writtenAgain(x: Float64Array): number {
  const n = x.length;
  const e = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = Math.exp(x[i] * x[i]);
    e[i] = t;
  }
  e[0] = x[0];
  let s = 0;
  for (let i = 0; i < n; i++) s += e[i] * x[i];
  return s;
}

/** Every iteration of i writes the same n elements: row[j] is overwritten, so it is saved. */
/** @differentiable */
export function overwrittenRows(x: Float64Array, m: number): number {
  const n = x.length;
  const row = new Float64Array(n);
  let s = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const t = Math.exp(x[j] * (i + 1));
      row[j] = t;
      s += t * x[j];
    }
  }
  return s + row[0];
}

/** Stored in a branch: not every element is written, so the exp is saved. */
/** @differentiable */
export function inBranch(x: Float64Array): number {
  const n = x.length;
  const e = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = Math.exp(x[i]);
    if (x[i] > 0) e[i] = t;
    else e[i] = -t;
  }
  let s = 0;
  for (let i = 0; i < n; i++) s += e[i] * e[i];
  return s;
}

/** The loop starts at 1 and the array is one longer: not the shape proved, so saved. */
/** @differentiable */
export function fromOne(x: Float64Array): number {
  const n = x.length;
  const e = new Float64Array(n + 1);
  for (let i = 1; i < n; i++) {
    const t = Math.exp(x[i]);
    e[i] = t;
  }
  let s = 0;
  for (let i = 0; i < n; i++) s += e[i] * x[i];
  return s;
}

/**
 * Bounds that need not be whole numbers: with n = 2, h = 1.5 the array has 3 elements but the
 * loops write e[1.5] and e[3], which a Float64Array drops; read back, t would be undefined.
 */
/** @differentiable */
export function fractionalRows(x: Float64Array, n: number, h: number): number {
  const e = new Float64Array(n * h);
  let s = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < h; j++) {
      const t = Math.exp(x[i] * 0.3 + x[j]);
      e[i * h + j] = t;
      s += t * t;
    }
  }
  return s;
}

/** The array is returned: the caller holds it, so nothing is read back from it. */
/** @differentiable */
export function returned(x: Float64Array): Float64Array {
  const n = x.length;
  const e = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = Math.exp(x[i]);
    e[i] = t;
  }
  return e;
}
`;

let m: Record<string, any>;

beforeAll(async () => {
  ({ module: m } = await compile(source));
});

/** The generated text of one function. */
const text = (name: string) => m[name].toString() as string;

/** f_grad against central differences and vjp in every Float64Array argument. */
function check(name: string, args: any[]): void {
  const g = m[`${name}_grad`](...args);
  const back = m[`${name}_backward`](m[`${name}_forward`](...args).cache, 1);
  args.forEach((a, i) => {
    if (!(a instanceof Float64Array)) return;
    expectAllClose(g[i], numericEntries(m[name], args, i), 1e-6);
    expectAllClose(back[i], g[i], 1e-14);
  });
}

const vec = (n: number, seed: number, scale = 0.8) =>
  Float64Array.from({ length: n }, (_, i) => Math.sin(seed * 3.7 + i * 1.3) * scale);

describe("values read back from the array they were stored in", () => {
  it("i * h + j in a two-loop nest: nothing saved per iteration, the ReLU's output read back", () => {
    const grad = text("layer_grad");
    expect(grad).toMatch(/const act = hidden\[j \+ i \* h\];/);
    expect(grad).not.toMatch(/saved\.(push|frame)/);
    // ReLUs on and off (b around 0), 3 inputs, 4 units, 5 rows.
    check("layer", [vec(12, 1), vec(4, 2, 0.3), vec(15, 3)]);
  });

  it("an index equal to the counter in one loop: the exp read back, not saved", () => {
    const grad = text("exps_grad");
    expect(grad).toMatch(/const t = e\[i\];/);
    expect(grad).not.toMatch(/saved/);
    check("exps", [vec(6, 4)]);
  });

  it("vjp's backward pass reads back from the array its cache keeps", () => {
    const x = vec(5, 5);
    const { value, cache } = m.exps_forward(x);
    expect(value).toBeCloseTo(m.exps(x), 14);
    expectAllClose(
      m.exps_backward(cache, 2)[0],
      m.exps_grad(x)[0].map((v: number) => 2 * v),
      1e-14,
    );
    expect(text("exps_backward")).toMatch(/const t = e\[i\];/);
  });

  it.each([
    ["writtenAgain", "a later write to the array", [vec(5, 6)]],
    ["overwrittenRows", "an element written in every iteration of an outer loop", [vec(4, 7, 0.5), 3]],
    ["inBranch", "a write under an if", [vec(6, 8)]],
    ["fromOne", "a loop from 1 into a longer array", [vec(5, 9)]],
  ] as const)("%s: %s keeps the value saved, and the gradient right", (name, _why, args) => {
    expect(text(`${name}_grad`)).toMatch(/saved\.(push|frame)/);
    check(name, [...args]);
  });

  it("row and column counts that may not be whole numbers (n = 2, h = 1.5) are not read back", () => {
    expect(text("fractionalRows_grad")).not.toMatch(/= e\[/);
    const x = Float64Array.from([0.3, -0.5, 0.7, -0.2, 0.4]);
    for (const [n, h] of [
      [2, 1.5],
      [1.5, 2],
      [2, 2],
    ]) {
      const args = [x, n, h];
      const g = m.fractionalRows_grad(...args)[0];
      expect(Array.from(g).every(Number.isFinite)).toBe(true);
      expectAllClose(g, numericEntries(m.fractionalRows, args, 0), 1e-6);
    }
  });

  it("an array the function returns is not read back (vjp's caller holds it)", () => {
    const x = vec(4, 10);
    const fwd = m.returned_forward(x);
    expect(text("returned_backward")).not.toMatch(/= e\[i\]/);
    fwd.value.fill(0); // what a caller may do with the array it was given
    const dx = m.returned_backward(fwd.cache, Float64Array.from([1, 2, 3, 4]));
    expectAllClose(
      dx[0],
      Array.from(x, (v, i) => (i + 1) * Math.exp(v)),
      1e-14,
    );
  });
});
