// Values read back from the array they were stored in (transformer/phases/read-back.ts) instead of saved:
// where the code proves that no later write reaches the element, the backward loop reads it;
// everywhere else the value is saved or recomputed as before. Every gradient against central
// finite differences, and against vjp's backward pass.

import { beforeAll, describe, expect, it } from "vitest";
import { compile, expectAllClose, numericEntries } from "./harness.js";
import { checkGenerated } from "./oracles.js";

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
const arr = (n: number, seed: number, scale = 0.8) => Array.from(vec(n, seed, scale));

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

// ---------------------------------------------------------------------------------------------
// Programs shaped to break the proof: non-injective or out-of-range indices, writes the proof must
// see, control flow around the store. Checked against oracles only (checkGenerated): finite
// differences, vjp's backward pass and gradInto into junk-filled buffers.

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

describe("values read back: index patterns, loop forms and control flow the proof must handle", () => {
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
      checkGenerated(m, "nest2", [x, n, h], { diff: [0] });
      checkGenerated(m, "commuted", [x, n, h], { diff: [0] });
    }
    checkGenerated(m, "nest2", [x, 0, 3], { diff: [0] });
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
    checkGenerated(m, name, [...args], { diff: [0] });
  });

  it("loops not of the form for (let i = 0; i < N; i++): from 1, down, <=, step 2, while, for...of", () => {
    checkGenerated(m, "otherCounters", [x]);
    checkGenerated(m, "whileAndForOf", [x]);
  });

  it("continue, break and return around the store (each path taken)", () => {
    const y = Float64Array.from([-0.3, 0.5, -0.8, 0.25, -0.6, 0.9]);
    for (const limit of [100, 2.3, 0.7]) checkGenerated(m, "controlFlow", [y, limit], { diff: [0] });
  });

  it("arrays written twice, by +=, or under an if", () => {
    checkGenerated(m, "writtenTwice", [Float64Array.from([-0.4, 0.5, 0.3, -0.9, 1.1, 0.05])]);
  });

  it("stores of join variables, ternaries and reassigned lets", () => {
    checkGenerated(m, "joins", [Float64Array.from([-0.4, 0.5, 0.3, -0.9, 1.1, 0.05])]);
  });

  it("elements read in the storing loop itself", () => {
    checkGenerated(m, "readAfterStore", [x]);
  });

  it("number[] arrays, an array longer than the loop, one value stored in two arrays", () => {
    checkGenerated(m, "plainArrays", [arr(5, 2), vec(5, 3)]);
    checkGenerated(m, "sameValueTwice", [x]);
  });

  it("a callee with its own array called in the storing iteration", () => {
    expect(m.withCallee_grad.toString()).toMatch(/const t = e\[i\];/);
    checkGenerated(m, "withCallee", [x]);
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
