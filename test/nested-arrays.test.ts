// Nested arrays (`number[][]`) as parameters: rows read as A[i][j], named (`const row = A[i]`,
// `for (const row of A)`), measured (`A.length`, `A[i].length`); the gradient a number[][] of the
// same shape. Every gradient is checked against central differences through every API.

import { describe, expect, it } from "vitest";
import { compile, genStrictErrors, tsgradErrors } from "./harness.js";
import { checkEveryApi } from "./oracles.js";

const nested = `
/** @differentiable */
export function quadForm(A: number[][], x: number[]): number {
  let s = 0;
  for (let i = 0; i < A.length; i++) {
    const row = A[i];
    for (let j = 0; j < row.length; j++) s += x[i] * row[j] * x[j];
  }
  return s;
}

/** @differentiable */
export function ragged(A: readonly (readonly number[])[], k: number): number {
  let s = 0;
  for (const row of A) s += row[0] * row[row.length - 1];
  for (let i = 0; i < A.length; i++) for (let j = 0; j < A[i].length; j++) s += Math.sin(k * A[i][j]);
  return s;
}

/** @differentiable */
export function softmaxLoss(logits: number[][], labels: readonly number[]): number {
  let loss = 0;
  for (let n = 0; n < logits.length; n++) {
    const z = logits[n];
    let max = -Infinity;
    for (let c = 0; c < z.length; c++) max = Math.max(max, z[c]);
    let total = 0;
    for (let c = 0; c < z.length; c++) total += Math.exp(z[c] - max);
    loss += Math.log(total) + max - z[labels[n]];
  }
  return loss / logits.length;
}
`;

describe("number[][] parameters", () => {
  it("rows read by index, through a const, a for...of, and a ragged shape; the gradient has A's shape", async () => {
    const { module: m, js } = await compile(nested);
    const A = [
      [1, 2, -0.5],
      [0.3, -1, 2],
      [0.7, 0.1, -0.4],
    ];
    checkEveryApi(m.quadForm, [A, [0.5, -1.5, 2]]);
    const ragged = [[0.4, -1.1, 2.2, 0.3], [1.5], [0.2, 0.9]];
    checkEveryApi(m.ragged, [ragged, 0.7]);
    const [dA] = m.ragged_grad(ragged, 0.7);
    expect(dA.map((row: number[]) => row.length)).toEqual([4, 1, 2]);
    expect(js).toMatch(/dA\[i\]\[j\] \+=/);
  });

  it("a row named in a loop, its max, and an index read from data", async () => {
    const { module: m } = await compile(nested);
    checkEveryApi(
      m.softmaxLoss,
      [
        [
          [0.2, -1.3, 0.7],
          [1.1, 0.4, -0.6],
        ],
        [2, 0],
      ],
      { skip: ["[1][0]", "[1][1]"] },
    );
  });

  it("generated code type-checks under strict settings with no unused names", () => {
    expect(genStrictErrors(nested, "nested", { noUnusedLocals: true, noUnusedParameters: true })).toEqual([]);
  });

  it("a row passed to a @differentiable helper adds into its row of the gradient; an inlined helper reads A", async () => {
    const { module: m, js } = await compile(`
/** @differentiable */
function logSumExp(z: readonly number[]): number {
  let max = -Infinity;
  for (const v of z) max = Math.max(max, v);
  let s = 0;
  for (const v of z) s += Math.exp(v - max);
  return max + Math.log(s);
}

function matVec(out: number[], A: readonly (readonly number[])[], x: readonly number[]): number[] {
  for (let i = 0; i < A.length; i++) {
    const row = A[i];
    let s = 0;
    for (let j = 0; j < x.length; j++) s += row[j] * x[j];
    out[i] = s;
  }
  return out;
}

/** @differentiable */
export function crossEntropy(logits: number[][], labels: Int32Array): number {
  let total = 0;
  for (let i = 0; i < logits.length; i++) {
    const row = logits[i];
    total += logSumExp(row) - row[labels[i]];
  }
  return total / logits.length + logSumExp(logits[0]);
}

/** @differentiable */
export function rayleigh(A: number[][], x: number[]): number {
  const Ax = new Array<number>(x.length).fill(0);
  matVec(Ax, A, x);
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) (num += x[i] * Ax[i]), (den += x[i] * x[i]);
  return num / den;
}
`);
    checkEveryApi(m.crossEntropy, [
      [
        [0.2, -1.3, 0.7],
        [1.1, 0.4, -0.6],
      ],
      Int32Array.of(2, 0),
    ]);
    expect(js).toMatch(/logSumExp_pullback\(row, dlogits\[i\]\)|logSumExp_pullback\(logits\[i\], dlogits\[i\]\)/);
    checkEveryApi(m.rayleigh, [
      [
        [2, 0.5, -0.3],
        [0.5, 1, 0.2],
        [-0.3, 0.2, 3],
      ],
      [0.4, -1.2, 0.8],
    ]);
  });

  it("refuses a write into a row, a whole number[][] passed on, and for...of over a row", () => {
    const errors = tsgradErrors(`
/** @differentiable */
function total(A: readonly (readonly number[])[]): number {
  let s = 0;
  for (let i = 0; i < A.length; i++) for (let j = 0; j < A[i].length; j++) s += A[i][j];
  return s;
}

/** @differentiable */
export function f(A: number[][]): number {
  let s = total(A);
  A[1][0] = 2;
  for (const v of A[1]) s += v;
  return s;
}
`);
    expect(errors.map((e) => [e.code, e.text])).toEqual([
      [94003, "A"],
      [94003, "A[1][0]"],
      [94002, "A[1]"],
    ]);
  });
});

const records = `
interface Point {
  x: number;
  y: number;
}

/** @differentiable */
export function lineFit(points: readonly Point[], slope: number, intercept: number): number {
  return points.reduce((sum, p) => sum + (slope * p.x + intercept - p.y) ** 2, 0) / points.length;
}

/** @differentiable */
export function pathLength(pts: { x: number; y: number }[]): number {
  let s = 0;
  for (const p of pts) s += p.x * p.y;
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1];
    s += Math.hypot(pts[i].x - a.x, pts[i].y - a.y);
  }
  return s + Math.max(...pts.map((p) => p.x));
}

interface Body {
  x: number;
  v: number;
  mass: number;
}

/** @differentiable */
export function energy(bodies: readonly Body[], model: { g: number; bodies: Body[] }): number {
  let e = 0;
  for (let i = 0; i < bodies.length; i++) e += 0.5 * bodies[i].mass * bodies[i].v ** 2 + model.g * bodies[i].x;
  for (const b of model.bodies) e += b.mass * b.x;
  return e;
}
`;

describe("arrays of records as parameters", () => {
  it("fields read by index, through a const, a for...of and callbacks; the gradient records of the same keys", async () => {
    const { module: m, js } = await compile(records);
    const points = [
      { x: 0.5, y: 1.2 },
      { x: 1.5, y: 2.1 },
      { x: -0.7, y: 0.3 },
    ];
    checkEveryApi(m.lineFit, [points, 1.3, -0.2]);
    checkEveryApi(m.pathLength, [points]);
    const [dpts] = m.pathLength_grad(points);
    expect(Object.keys(dpts[0])).toEqual(["x", "y"]);
    expect(js).toMatch(/dpts\[i\]\.x \+=/);
    const bodies = [
      { x: 1, v: -0.5, mass: 2 },
      { x: -0.3, v: 1.5, mass: 0.7 },
    ];
    checkEveryApi(m.energy, [bodies, { g: 9.8, bodies: [{ x: 0.2, v: 1, mass: 3 }] }]);
  });

  it("generated code type-checks under strict settings with no unused names", () => {
    expect(genStrictErrors(records, "records", { noUnusedLocals: true, noUnusedParameters: true })).toEqual([]);
  });

  it("refuses a write into a record (a record given to a helper is inlined there, below)", () => {
    const errors = tsgradErrors(`
interface Point {
  x: number;
  y: number;
}

/** @differentiable */
function norm(p: Point): number {
  return Math.hypot(p.x, p.y);
}

/** @differentiable */
export function f(pts: Point[]): number {
  pts[0].x = 2;
  return norm(pts[1]);
}
`);
    expect(errors.map((e) => e.code)).toEqual([94003]);
    expect(errors.map((e) => e.text)).toEqual(["pts[0].x"]);
  });
});

describe("rows and records named while their index changes", () => {
  it("const row = A[k] keeps row k after k changes, in a loop too", async () => {
    const { module: m } = await compile(`
interface P {
  x: number;
  y: number;
}

/** @differentiable */
export function shifted(A: number[][], pts: P[]): number {
  let k = 0;
  const row = A[k];
  const p = pts[k];
  let s = 0;
  for (let t = 0; t < 2; t++) {
    s += row[t] * p.x + A[k][t] * p.y;
    k = k + 1;
  }
  return s;
}
`);
    checkEveryApi(m.shifted, [
      [
        [1, 2],
        [0.5, -0.75],
        [3, 0.25],
      ],
      [
        { x: 0.5, y: 1.5 },
        { x: -1, y: 2 },
      ],
    ]);
  });
});

const recordHelpers = `
interface Body {
  x: number;
  y: number;
  mass: number;
}

function distance(a: Body, b: Body): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

function pull(a: Body, b: Body, g: number): number {
  return (g * a.mass * b.mass) / distance(a, b);
}

/** @differentiable */
export function potential(bodies: readonly Body[], g: number): number {
  let e = 0;
  for (let i = 0; i < bodies.length; i++) {
    for (let j = i + 1; j < bodies.length; j++) e -= pull(bodies[i], bodies[j], g);
  }
  let k = 0;
  for (const b of bodies) k += distance(b, bodies[0]) * b.mass;
  return e + k;
}
`;

describe("records given to helpers", () => {
  it("a helper taking records is inlined, its parameters reading the caller's records (helpers of helpers too)", async () => {
    const { module: m } = await compile(recordHelpers);
    const bodies = [
      { x: 0.5, y: -1, mass: 2 },
      { x: 1.5, y: 0.3, mass: 0.7 },
      { x: -0.8, y: 0.9, mass: 1.2 },
    ];
    const g = checkEveryApi(m.potential, [bodies, 0.9]);
    expect(Object.keys(g[0][0]).sort()).toEqual(["mass", "x", "y"]);
  });

  it("generated code type-checks under strict settings with no unused names", () => {
    expect(
      genStrictErrors(recordHelpers, "record-helpers", { noUnusedLocals: true, noUnusedParameters: true }),
    ).toEqual([]);
  });
});

const recordVariables = `
interface Point {
  x: number;
  y: number;
}

/** @differentiable */
export function shoelace(polygon: readonly Point[]): number {
  const n = polygon.length;
  let a: Point;
  let b = polygon[n - 1];
  let area = 0;
  for (let i = 0; i < n; i++) {
    a = b;
    b = polygon[i];
    area += a.y * b.x - a.x * b.y;
  }
  return area / 2;
}

/** @differentiable */
export function farthest(pts: readonly Point[], q: Point): number {
  let best = pts[0];
  for (const p of pts) {
    if ((p.x - q.x) ** 2 + (p.y - q.y) ** 2 > (best.x - q.x) ** 2 + (best.y - q.y) ** 2) best = p;
  }
  return Math.hypot(best.x - q.x, best.y - q.y);
}
`;

describe("let variables naming records", () => {
  it("a = b; b = pts[i] in a loop, and a record chosen in a branch: each holds its record's index", async () => {
    const { module: m } = await compile(recordVariables);
    const square = [
      { x: 0, y: 0 },
      { x: 2, y: 0.2 },
      { x: 2.1, y: 1.9 },
      { x: -0.1, y: 2 },
    ];
    checkEveryApi(m.shoelace, [square]);
    expect(m.shoelace(square)).toBeCloseTo(-3.885, 12); // d3 signs a counter-clockwise ring negative
    checkEveryApi(m.farthest, [square, { x: 0.3, y: 0.1 }]);
  });

  it("a record variable given anything but a record of its array is refused at the value", () => {
    const errors = tsgradErrors(`
interface Point {
  x: number;
  y: number;
}

/** @differentiable */
export function f(pts: Point[], other: Point[]): number {
  let a = pts[0];
  a = other[1];
  return a.x;
}
`);
    expect(errors.map((e) => [e.code, e.text])).toEqual([[94001, "other[1]"]]);
  });

  it("generated code type-checks under strict settings with no unused names", () => {
    expect(
      genStrictErrors(recordVariables, "record-variables", { noUnusedLocals: true, noUnusedParameters: true }),
    ).toEqual([]);
  });
});

describe("records and rows named again (found in review)", () => {
  it("const t = a of a record or a row names the same element; comparing records is refused", async () => {
    const { module: m } = await compile(`
interface P {
  x: number;
  y: number;
}

/** @differentiable */
export function aliases(pts: readonly P[], A: number[][], w: number): number {
  let a = pts[0];
  let s = 0;
  for (const p of pts) {
    const t = a;
    s += (p.x - t.x) * w * p.y;
    if (p.y > a.y) a = p;
  }
  const r = A[1];
  const r2 = r;
  return s + r2[0] * w + a.x;
}
`);
    checkEveryApi(m.aliases, [
      [
        { x: 0.5, y: 0.2 },
        { x: -1, y: 0.9 },
        { x: 0.3, y: 0.4 },
      ],
      [
        [1, 2],
        [0.5, -0.7],
      ],
      1.3,
    ]);
    const errors = tsgradErrors(`
interface P {
  x: number;
  y: number;
}

/** @differentiable */
export function f(pts: P[], w: number): number {
  let a = pts[0];
  let s = 0;
  for (const p of pts) if (p !== a) s += (p.x - a.x) * w;
  return s;
}
`);
    expect(errors.map((e) => e.code)).toEqual([94003]);
    expect(errors[0].message).toMatch(/which tsgrad follows only through its numbers/);
  });
});
