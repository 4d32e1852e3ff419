// The everyday statements and values of numeric JavaScript, as people write them: global number
// constants, `var`, `throw` guards, `switch`, assignments inside expressions, the comma operator,
// `&&`/`||`/`??` choosing a number, loops whose test changes a variable, and type tests. Each
// function's gradient is checked against central differences and against f_forward/f_backward,
// at points away from branch thresholds, in straight code, branches and loops.

import { beforeAll, describe, expect, it } from "vitest";
import { compile, expectClose, genStrictErrors, numericEntries, numericGradient } from "./harness.js";

let runtime: typeof import("../runtime/index.js");
beforeAll(async () => {
  runtime = await import("tsgrad" as string);
});

/** Compiles the source; every exported function has its f_grad. */
async function load(source: string): Promise<Record<string, any>> {
  return (await compile(source)).module;
}

/**
 * f_grad against central differences in each number argument and each array entry, and
 * f_forward + f_backward against f_grad; the shared stack ends as it began.
 */
function check(m: Record<string, any>, name: string, args: unknown[], tol = 1e-7, data: number[] = []): unknown[] {
  const before = runtime.saved.size;
  const g: unknown[] = m[`${name}_grad`](...args);
  expect(runtime.saved.size, "f_grad leaves the shared stack as it found it").toBe(before);
  args.forEach((a, i) => {
    if (data.includes(i)) expect(g[i], "a mode's gradient").toBe(0);
    else if (typeof a === "number") {
      const numeric = numericGradient((v) => m[name](...args.map((b, j) => (j === i ? v : b))), [a]);
      expectClose([g[i] as number], numeric, tol);
    } else if (Array.isArray(a)) expectClose(Array.from(g[i] as number[]), numericEntries(m[name], args, i), tol);
  });
  const { value, cache } = m[`${name}_forward`](...args);
  expect(value).toBe(m[name](...args));
  expect(m[`${name}_backward`](cache, 1)).toEqual(g);
  return g;
}

describe("global number constants", () => {
  const source = `
/** @differentiable */
export function clampLog(x: number): number {
  let best = -Infinity;
  if (x > best) best = x;
  const eps = Number.EPSILON * 4;
  return Math.log(best + eps) + (x > Number.MAX_SAFE_INTEGER ? NaN : 0) + Number.MIN_VALUE * x;
}
/** @differentiable */
export function maxOf(a: number[]): number {
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < a.length; i++) if (a[i] > m) m = a[i];
  return m * m;
}`;
  it("-Infinity, NaN and Number.* read as constants, in branches and loops", async () => {
    const m = await load(source);
    for (const x of [0.4, 2.5]) check(m, "clampLog", [x]);
    const [da] = check(m, "maxOf", [[0.5, -3, 2.5, 1]]) as number[][];
    expect(da).toEqual([0, 0, 5, 0]);
  });
  it("a local of the same name is a variable, not the constant", async () => {
    const m = await load(`
/** @differentiable */
export function f(x: number): number {
  const Infinity = x * 2;
  return Infinity * x;
}`);
    expect(check(m, "f", [1.5])).toEqual([6]);
  });
});

describe("var", () => {
  const source = `
/** @differentiable */
export function meanSquare(x: number[]): number {
  var n = x.length, sum = 0, i;
  for (i = 0; i < n; i++) {
    var d = x[i] * 0.5;
    sum += d * d;
  }
  return sum / n;
}
/** @differentiable */
export function twoLoops(x: number[]): number {
  var s = 0;
  for (var i = 0; i < x.length; i++) s += x[i];
  for (var i = 0; i < x.length; i++) s += Math.sin(x[i]) * s;
  return s;
}
/** @differentiable */
export function firstAbove(x: number[], t: number): number {
  for (var i = 0; i < x.length; i++) if (x[i] > t) break;
  return i < x.length ? x[i] * t : t;
}`;
  it("function-scoped, used like let: in loops, in two loops with one counter, read after its loop", async () => {
    const m = await load(source);
    check(m, "meanSquare", [[0.3, -1.2, 2.2]]);
    check(m, "twoLoops", [[0.3, -0.7, 1.1]]);
    check(m, "firstAbove", [[0.3, 1.7, 2.2], 1.1]);
    check(m, "firstAbove", [[0.3, 0.7], 1.1]);
  });
  it("a var used outside its block is refused at the use, saying to declare it with let before the block", async () => {
    await expect(
      load(`
/** @differentiable */
export function f(x: number): number {
  if (x > 0) {
    var t = x * 2;
  } else {
    t = -x;
  }
  return t;
}`),
    ).rejects.toThrow(
      /TS94010: tsgrad: `t` is declared with `var` and used outside the block.*declare it with `let` before the block/,
    );
  });
});

describe("throw", () => {
  const source = `
/** @differentiable */
export function logit(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError("logit: p must be in (0, 1), got " + p);
  return Math.log(p / (1 - p));
}
/** @differentiable */
export function sumSqrt(x: number[]): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    if (x[i] < 0) throw new Error(\`negative entry at \${i}\`);
    s += Math.sqrt(x[i]);
  }
  return s;
}
/** @differentiable */
export function pick(x: number, k: number): number {
  if (k === 0) return x * x;
  else if (k === 1) return Math.sin(x);
  throw new Error("bad k " + k);
}`;
  it("guards run in the forward pass of f, f_grad and f_forward; the gradient where they pass", async () => {
    const m = await load(source);
    expect(check(m, "logit", [0.3])[0]).toBeCloseTo(1 / (0.3 * 0.7), 12);
    check(m, "sumSqrt", [[0.3, 1.7, 2.2]]);
    check(m, "pick", [0.7, 0], 1e-7, [1]);
    check(m, "pick", [0.7, 1], 1e-7, [1]);
    for (const f of [m.logit, m.logit_grad, m.logit_forward]) expect(() => f(1.5)).toThrow(/got 1.5/);
    expect(() => m.sumSqrt_grad([1, -1])).toThrow("negative entry at 1");
    expect(() => m.pick_grad(0.7, 2)).toThrow("bad k 2");
  });
});

describe("switch", () => {
  const source = `
/** @differentiable */
export function loss(x: number, kind: number): number {
  switch (kind) {
    case 0:
      return x * x;
    case 1:
      return Math.abs(x);
    default:
      throw new RangeError("unknown loss");
  }
}
/** @differentiable */
export function ease(t: number, k: number): number {
  let y = 0;
  switch (k) {
    case 0:
    case 1:
      y = t * t;
      break;
    case 2:
      y = t;
    case 3:
      y += Math.sin(t);
      break;
    default:
      y = 1;
  }
  return y * t;
}
/** @differentiable */
export function perEntry(x: number[], mode: number): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    switch (mode) {
      case 0:
        s += x[i];
        break;
      case 1: {
        if (x[i] < 0) continue;
        s += x[i] * x[i];
        break;
      }
    }
  }
  return s;
}`;
  it("cases that return, shared cases, fall-through, default, and a switch in a loop with continue", async () => {
    const m = await load(source);
    expect(check(m, "loss", [0.7, 0], 1e-7, [1])).toEqual([1.4, 0]);
    expect(check(m, "loss", [-0.7, 1], 1e-7, [1])).toEqual([-1, 0]);
    expect(() => m.loss_grad(0.7, 5)).toThrow("unknown loss");
    for (const k of [0, 1, 2, 3, 7]) check(m, "ease", [0.6, k], 1e-7, [1]);
    // k = 2 falls through: y = t + sin t, so f = t² + t sin t.
    expect(check(m, "ease", [0.6, 2], 1e-7, [1])[0]).toBeCloseTo(2 * 0.6 + Math.sin(0.6) + 0.6 * Math.cos(0.6), 12);
    for (const mode of [0, 1, 2]) check(m, "perEntry", [[0.5, -1.5, 2], mode], 1e-7, [1]);
  });
  it("a break from inside an if of a case is refused at the break", async () => {
    await expect(
      load(`
/** @differentiable */
export function f(x: number, k: number): number {
  let y = x;
  switch (k) {
    case 1:
      if (x > 0) break;
      y = x * x;
  }
  return y;
}`),
    ).rejects.toThrow(/\(7,18\): error TS94001: tsgrad: a `break` that leaves a `switch` from inside/);
  });
});

describe("assignments inside expressions, and the comma operator", () => {
  const source = `
/** @differentiable */
export function chained(x: number): number {
  let a = 0, b = 0;
  a = b = x * 2;
  let s = 0, t = 0;
  s += (t = x * x);
  return s * a + b * t;
}
/** @differentiable */
export function cursor(c: number[], x: number): number {
  let i = 0;
  let y = c[i++];
  y = y * x + c[i++];
  y = y * x + c[i++];
  return y * i;
}
/** @differentiable */
export function horner(c: number[], x: number): number {
  let n = c.length;
  let y = c[n - 1];
  while ((n -= 1) > 0) y = y * x + c[n - 1];
  return y;
}
/** @differentiable */
export function iterate(x: number): number {
  let k = 0;
  let y = x;
  do {
    y = Math.sin(y) + 0.5 * y;
  } while (++k < 4);
  return y * k;
}
/** @differentiable */
export function pairs(x: number[]): number {
  let s = 0;
  for (let i = 0, j = x.length - 1; i < j; i++, j--) s += x[i] * x[j];
  return s;
}
/** @differentiable */
export function cubicInOut(t: number): number {
  const y = ((t *= 2) <= 1 ? t * t * t : (t -= 2) * t * t + 2) / 2;
  return y + t;
}
/** @differentiable */
export function lazyScale(x: number, w: number): number {
  const s = w > 1 ? (w = w * 0.5) : w;
  return x * s * w;
}
/** @differentiable */
export function commaValue(x: number): number {
  let t = 0;
  const y = (t = x * 3, t * t);
  return y + t;
}`;
  it("each runs where JavaScript runs it, and the expression reads the value it leaves", async () => {
    const m = await load(source);
    check(m, "chained", [0.7]);
    check(m, "cursor", [[0.5, -1.25, 2], 0.8]);
    const [dc, dx] = check(m, "horner", [[0.5, -1.25, 2, 0.75], 0.8]) as [number[], number];
    // Horner evaluates sum c[k] x^k: d/dc[k] = x^k, d/dx = sum k c[k] x^(k-1).
    dc.forEach((d, k) => expect(d).toBeCloseTo(0.8 ** k, 12));
    expect(dx).toBeCloseTo(-1.25 + 2 * 2 * 0.8 + 3 * 0.75 * 0.8 ** 2, 12);
    check(m, "iterate", [0.9]);
    check(m, "pairs", [[0.5, -1.5, 2, 3, 0.25]]);
    check(m, "commaValue", [0.7]);
    // A branch of ?: that assigns: the variable is joined after it, as after an if.
    for (const t of [0.3, 0.8]) check(m, "cubicInOut", [t]);
    for (const w of [0.6, 1.8]) check(m, "lazyScale", [0.7, w]);
  });
  it("an assignment that runs only sometimes is refused, saying to write an if", async () => {
    await expect(
      load(`
/** @differentiable */
export function f(x: number, y: number): number {
  let t = 0;
  const ok = x > 0 && (t = y) > 1;
  return ok ? t : x;
}`),
    ).rejects.toThrow(/TS94003: tsgrad: an assignment on the right of `&&`.*write it as an `if` statement/);
  });
});

describe("&&, || and ?? on numbers", () => {
  const source = `
/** @differentiable */
export function weighted(x: number, w: number): number {
  return x * (w || 1) + (w && x * w);
}
/** @differentiable */
export function scaled(x: number, scale?: number): number {
  return x * (scale ?? 2);
}`;
  it("choose an operand, and the gradient flows to the one chosen", async () => {
    const m = await load(source);
    // w = 0 (where f jumps): x * 1 + w, so the gradients of the operands chosen are 1 and 1.
    expect(m.weighted_grad(0.7, 0)).toEqual([1, 1]);
    check(m, "weighted", [0.7, 1.5]);
    check(m, "weighted", [-0.7, 1.5]);
    expect(m.scaled_grad(0.7)[0]).toBe(2);
    check(m, "scaled", [0.7, 3]);
  });
});

describe("type tests in conditions", () => {
  it("typeof, Array.isArray, Number.isFinite, Number.isInteger, isNaN: conditions, no gradient", async () => {
    const m = await load(`
/** @differentiable */
export function safe(x: number, a: number[]): number {
  if (!Number.isFinite(x) || isNaN(x)) return 0;
  if (typeof x === "number" && Array.isArray(a) && Number.isInteger(a.length)) return x * a[0];
  return x;
}`);
    expect(check(m, "safe", [0.7, [2, 3]])).toEqual([2, [0.7, 0]]);
    expect(m.safe_grad(Infinity, [2, 3])).toEqual([0, [0, 0]]);
  });
});

describe("aliases of Math functions", () => {
  it("const sqrt = Math.sqrt and const { exp, log: ln } = Math, at module level and inside", async () => {
    const m = await load(`
const sqrt = Math.sqrt;
const { exp, log: ln } = Math;
/** @differentiable */
export function f(x: number, y: number): number {
  const abs = Math.abs;
  return sqrt(x * x + y * y) + exp(-x) * ln(y) + abs(x);
}`);
    check(m, "f", [0.7, 1.9]);
    check(m, "f", [-0.7, 0.4]);
  });
});

describe("module-level tables of numbers", () => {
  const table = `
const G = 7;
const C = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];`;
  it("read by index, length and for...of as constants (a Lanczos lgamma)", async () => {
    const m = await load(`${table}
/** @differentiable */
export function lgamma(x: number): number {
  let sum = C[0];
  for (let k = 1; k < C.length; k++) sum += C[k] / (x - 1 + k);
  const t = x - 0.5 + G;
  return 0.9189385332046728 + (x - 0.5) * Math.log(t) - t + Math.log(sum);
}
/** @differentiable */
export function weighted(x: number): number {
  let s = 0;
  for (const c of C) s += Math.sin(c * 1e-3 * x + s);
  const [c0, c1] = C;
  return s + c0 * x + c1 * 1e-3 * x * x;
}`);
    // lgamma(n) = log((n - 1)!), and its derivative is the digamma function: ψ(5) = 1 + 1/2 + 1/3 + 1/4 - γ.
    expect(m.lgamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(check(m, "lgamma", [5])[0]).toBeCloseTo(25 / 12 - 0.5772156649015329, 10);
    check(m, "lgamma", [2.7]);
    check(m, "weighted", [0.3]);
  });
  it("a module array that could change (exported, or written in its file) is refused at its name", async () => {
    for (const change of [
      "export const D = [1, 2];",
      "const D = [1, 2];\nexport function set(v: number) { D[0] = v; }",
      "const D = [1, 2];\nexport { D };",
      "const D = [1, 2];\nexport const holder = { D };",
      "const S = [1, 2];\nconst D = S;\nexport function set(v: number) { S[0] = v; }",
      // A helper of the file that writes the array it is given (one that only reads it is fine).
      "const D = [1, 2];\nfunction bump(a: number[]): number { a[0]++; return 0; }\nexport const b = () => bump(D);",
    ])
      await expect(
        load(`${change}
/** @differentiable */
export function f(x: number): number {
  return D[0] * x;
}`),
      ).rejects.toThrow(/TS94003: tsgrad: `D` is an array outside this function that could change/);
  });
});

describe("module-level tables of records", () => {
  const data = `
const DATA = [
  { x: 0.1, y: 1 },
  { x: 0.5, y: 2.2 },
  { y: 2.9, x: 0.9 },
  { x: 1.4, y: 4.1 },
];`;
  it("read as DATA[i].x, DATA.length and p.x of for...of, as constants (a least-squares fit)", async () => {
    const m = await load(`${data}
/** @differentiable */
export function fit(a: number, b: number): number {
  let loss = 0;
  for (let i = 0; i < DATA.length; i++) {
    const r = a * DATA[i].x + b - DATA[i].y;
    loss += DATA[i].x > 1 ? 0.5 * r * r : r * r;
  }
  return loss / DATA.length;
}
/** @differentiable */
export function fitOf(a: number, b: number): number {
  let loss = 0;
  for (const p of DATA) {
    if (p.y > 4) break;
    loss += (a * p.x + b - p.y) ** 2;
  }
  return loss;
}`);
    // d/da, d/db of the mean of squared residuals (the last point half-weighted), by hand.
    const [da, db] = check(m, "fit", [1.7, 0.4]) as number[];
    const points = [
      [0.1, 1],
      [0.5, 2.2],
      [0.9, 2.9],
      [1.4, 4.1],
    ];
    const w = (x: number) => (x > 1 ? 0.5 : 1);
    const r = (x: number, y: number) => 1.7 * x + 0.4 - y;
    expect(da).toBeCloseTo(points.reduce((s, [x, y]) => s + 2 * w(x) * r(x, y) * x, 0) / 4, 12);
    expect(db).toBeCloseTo(points.reduce((s, [x, y]) => s + 2 * w(x) * r(x, y), 0) / 4, 12);
    check(m, "fitOf", [1.7, 0.4]);
  });
  it("a table whose records could change, or whose elements are handed on, is refused", async () => {
    for (const change of [
      "export function set(v: number) { DATA[0].x = v; }",
      "export function first() { return DATA[0]; }",
      "export function bump() { for (const p of DATA) p.y++; }",
    ])
      await expect(
        load(`${data}
${change}
/** @differentiable */
export function f(a: number): number {
  return DATA[1].x * a;
}`),
      ).rejects.toThrow(/TS94003/);
  });
});

describe("&&, || and ?? on values typed any, and operands that are conditions", () => {
  it("z && x * 2 with z typed any carries the number x * 2 and its gradient", async () => {
    const m = await load(`
/** @differentiable */
export function f(x: number, y: number): number {
  const z: any = x;
  return (z && x * 2) + ((x > 0 && x) || y);
}`);
    expect(check(m, "f", [1.5, 0.5])).toEqual([3, 0]);
    expect(check(m, "f", [-1.5, 0.5])).toEqual([2, 1]);
  });
});

describe("generated code under the user's strict settings", () => {
  it("type-checks with strict, noUnusedLocals and noUnusedParameters", () => {
    const source = `
const G = 7;
const C = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313];
const sqrt = Math.sqrt;
/** @differentiable */
export function constants(x: number): number {
  let m = -Infinity;
  if (x > m) m = x;
  return m * Number.EPSILON + (x < Number.MIN_VALUE ? NaN : x * x);
}
/** @differentiable */
export function vars(x: number[]): number {
  var i, sum = 0, n = x.length;
  for (i = 0; i < n; i++) {
    var d = x[i] * 0.5;
    sum += d * d;
  }
  for (var j = 0; j < n; j++) if (x[j] > 2) break;
  return sum * j;
}
/** @differentiable */
export function guard(x: number, k: number): number {
  if (!(x > 0)) throw new RangeError("x must be positive, got " + x);
  switch (k) {
    case 0:
    case 1:
      return sqrt(x);
    case 2: {
      let y = x;
      while ((k -= 1) > 0) y = y * x + C[k];
      return y;
    }
    default:
      throw new Error("bad k");
  }
}
/** @differentiable */
export function updates(c: number[], x: number, w: number): number {
  let i = 0, s = 0, t = 0;
  s += (t = c[i++] * x);
  const y = ((t *= 2) <= 1 ? t * t : (t -= 2) * t + 2) / 2;
  return (s + y) * (w || 1) + (Number.isFinite(x) && typeof x === "number" ? G : 0);
}
/** @differentiable */
export function linear(x: number): number {
  let s = 0;
  for (const c of C) s += c * x;
  return s;
}
/** @differentiable */
export function softplusAll(x: number[]): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.log1p(Math.exp(x[i]));
  return out;
}
/** @differentiable */
export function lossAndHidden(x: number, y: number): { loss: number; h: Float64Array } {
  const h = new Float64Array(2);
  h[0] = x * y;
  h[1] = x;
  return { loss: x * x, h };
}`;
    expect(genStrictErrors(source, "strict-statements", { noUnusedLocals: true, noUnusedParameters: true })).toEqual(
      [],
    );
  });
});

describe("Math.max(...xs) and Math.min(...xs)", () => {
  it("over array parameters and tables: the loop they stand for, the gradient to the first winner", async () => {
    const m = await load(`
const W = [0.5, -1.25, 2, 0.75];
/** @differentiable */
export function spread(a: number[], b: Float64Array, x: number): number {
  const range = Math.max(...a) - Math.min(...b);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.max(...b) * a[i];
  return range * range + x * Math.max(...W);
}`);
    check(m, "spread", [[0.3, 2.5, -1], Float64Array.from([0.7, -0.2, 1.9]), 0.6]);
    // A tie goes to the first: max(2, 2) routes to a[0].
    const [da] = m.spread_grad([2, 2], Float64Array.from([0]), 1) as [number[]];
    expect(da).toEqual([4 + 0, 0]);
  });
  it("Math.hypot(...xs): one two-operand hypot per element, 0 gradient at the origin", async () => {
    const m = await load(`
/** @differentiable */
export function norm(v: readonly number[], s: number): number {
  return Math.hypot(...v) * s;
}`);
    const [dv, ds] = check(m, "norm", [[3, -4, 12], 2]) as [number[], number];
    expect(dv.map((g) => g * 13)).toEqual([6, -8, 24].map((g) => expect.closeTo(g, 12)));
    expect(ds).toBe(13);
    expect(m.norm_grad([0, 0], 2)).toEqual([[0, 0], 0]);
  });
});

describe("array destructuring", () => {
  it("const [x, y] = p of array parameters (with holes), then used and reassigned like any number", async () => {
    const m = await load(`
/** @differentiable */
export function beale(p: readonly number[]): number {
  const [x, y] = p;
  return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y * y) ** 2;
}
/** @differentiable */
export function cross(a: number[], b: Float64Array): number {
  let [ax, , az] = a;
  const [bx, by] = b;
  ax *= 2;
  return ax * by - az * bx;
}`);
    check(m, "beale", [[0.7, 1.3]]);
    expect(check(m, "cross", [[0.5, 9, -1.5], Float64Array.from([0.25, 2])])).toEqual([
      [4, 0, -0.25],
      Float64Array.from([1.5, 1]),
    ]);
  });
});

describe("var and loop counters, where a let would differ", () => {
  it("a var declared twice, naming a parameter, read in its own initializer, or scoped by a bare if: refused", async () => {
    for (const body of [
      "var s = x; var s = s * y; return s * x;",
      "var s = 0; for (let i = 0; i < 3; i++) { var s = s + x * i; } return s;",
      "var t = t * 2; return t * y;",
      "var x = x * 2; return x * y;",
      "if (x > 0) var t = x * y; return (t! ?? 1) * x;",
      "let n = 0; while (n < 3) var t = x * ++n; return t! * y;",
      "switch (Math.round(y)) { case 1: var t = x * 2; break; default: t = y * x; } return t * x;",
    ])
      await expect(
        load(`/** @differentiable */\nexport function f(x: number, y: number): number {\n${body}\n}`),
        body,
      ).rejects.toThrow(/TS94010/);
  });
  it("a counter set again by an inner loop, or read by the next loop's start, is carried, not counted", async () => {
    const m = await load(`
/** @differentiable */
export function inner(x: number, y: number): number {
  let s = 0;
  for (let i = 0; i < 3; i++) {
    for (i = 0; i < 2; i++) s += x * y;
    s += i * y;
  }
  return s;
}
/** @differentiable */
export function resume(x: number, y: number): number {
  let s = 0;
  for (var i = 0; i < 3; i++) s += x;
  for (i = i + 1; i < 6; i++) s += y * x;
  return s;
}
/** @differentiable */
export function twice(x: number, y: number): number {
  var s = 0;
  for (var i = 0; i < 3; i++) s += x * i;
  for (var i = 0; i < 2; i++) s += y * s;
  return s;
}`);
    for (const name of ["inner", "resume", "twice"]) check(m, name, [0.3, 1.2]);
  });
});

describe("a compound write to an element whose right side writes the array", () => {
  it("reads the element before the right side runs, as JavaScript does", async () => {
    const m = await load(`
/** @differentiable */
export function f(x: number, y: number): number {
  const h = new Float64Array(2);
  h[0] = x;
  h[0] += (h[0] = y);
  h[1] = x * y;
  h[1] -= h[1]++ * x;
  return h[0] * x + h[1];
}`);
    expect(m.f(0.3, 1.2)).toBeCloseTo((0.3 + 1.2) * 0.3 + (0.36 - 0.36 * 0.3), 14);
    check(m, "f", [0.3, 1.2]);
  });
});

describe("an index that calls a function", () => {
  it("is computed once: the backward pass reads the element the forward pass read", async () => {
    const m = await load(`
let count = 0;
function tick(): number {
  return count++ % 3;
}
/** @differentiable */
export function f(a: number[], x: number, y: number): number {
  const h = new Float64Array(3);
  h[tick()] = x * y;
  return 2 * h[0] + 3 * h[1] + 5 * h[2] + a[tick()] * x;
}`);
    // Each call of f moves tick on by 2: f_grad's reads must match the draws its own forward pass made.
    const [da, dx, dy] = m.f_grad([1, 10, 100], 0.5, 2) as [number[], number, number];
    // count was 0: h[0] = x y, then a[1]: f = 2 x y + 10 x.
    expect([da, dx, dy]).toEqual([[0, 0.5, 0], 2 * 2 + 10, 2 * 0.5]);
  });
});

describe("an update inside the operand of a function with no gradient", () => {
  it("runs once: Math.floor(c[j++]) * x moves j once in f_grad and f_forward", async () => {
    const m = await load(`
/** @differentiable */
export function f(c: number[], x: number): number {
  let j = 0;
  const a = Math.floor(c[j++]) * x;
  const b = Math.floor(c[j++] * 2) * x;
  return a + b * x + c[j] * x;
}`);
    // j = 0, 1, 2: f = 2x + 2x·x + 7x.
    expect(check(m, "f", [[2.5, 1.25, 7], 0.5])).toEqual([[0, 0, 0.5], 2 + 4 * 0.5 + 7]);
  });
});
