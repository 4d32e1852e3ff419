// Arrays a @differentiable function creates (new Float64Array(n), new Array(n).fill(0)), written
// with = += -= ++ and read back: elements overwritten, read before and after, in loops over time
// steps. Every gradient against central finite differences and vjp; the refusals at the node.

import { beforeAll, describe, expect, it } from "vitest";
import ts from "typescript";
import { bodyOf, compile, compileToJs, expectClose, tsgradCodes as tsgradErrorCodes } from "./harness.js";
import { checkEveryApi } from "./oracles.js";

const source = `
/** A dense layer into a local array, then a ReLU and a sum of squares. */
/** @differentiable */
export function layer(W: Float64Array, x: Float64Array, n: number): number {
  const m = x.length;
  const h = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < m; i++) {
      h[j] += W[j * m + i] * x[i];
    }
  }
  let s = 0;
  for (let j = 0; j < n; j++) {
    const r = h[j] > 0 ? h[j] : 0;
    s += r * r;
  }
  return s;
}

/** One element written, read, overwritten with what it held, read again. */
/** @differentiable */
export function overwrite(x: number, y: number): number {
  const h = new Array(2).fill(0);
  h[0] = x * x;
  const a = h[0];
  h[0] = a * y;
  h[1] -= h[0];
  h[1]++;
  return h[0] + a * h[1];
}

/** A recurrence through the previous element: c[i] = c[i - 1] * x + a[i]. */
/** @differentiable */
export function horner(a: number[], x: number): number {
  const c = new Float64Array(a.length);
  c[0] = a[0];
  for (let i = 1; i < a.length; i++) c[i] = c[i - 1] * x + a[i];
  return c[a.length - 1];
}

/**
 * An array made after a loop that saves values (found by the classifier examples): the array
 * comes from the scratch stack, not from the one the loop pushes on, so the loop's backward pass
 * pops its own values.
 */
/** @differentiable */
export function afterLoop(a: number, n: number): number {
  let x = a;
  let k = 0;
  while (k < n) {
    x = Math.sin(x);
    k++;
  }
  const h = new Float64Array(1);
  h[0] = x;
  return h[0];
}

/** Time steps of explicit diffusion: u is overwritten in place every step. */
/** @differentiable */
export function diffuse(u0: Float64Array, k: number, steps: number): number {
  const n = u0.length;
  const u = new Float64Array(n);
  const next = new Float64Array(n);
  for (let i = 0; i < n; i++) u[i] = u0[i];
  for (let t = 0; t < steps; t++) {
    for (let i = 1; i + 1 < n; i++) next[i] = u[i] + k * (u[i - 1] - 2 * u[i] + u[i + 1]);
    for (let i = 1; i + 1 < n; i++) u[i] = Math.sin(next[i]);
  }
  let e = 0;
  for (let i = 0; i < n; i++) e += u[i] * u[i] * (i + 1);
  return e;
}
`;

let m: Record<string, any>;
let js: string;

beforeAll(async () => {
  ({ module: m, js } = await compile(source));
});

/** Central differences in every number argument and every element of every array argument. */
function numeric(f: (...args: any[]) => number, args: any[], h = 1e-6): number[][] {
  return args.map((a, i) => {
    const at = (j: number | undefined, d: number) =>
      f(
        ...args.map((b, k) =>
          k !== i
            ? b
            : j === undefined
              ? b + d
              : Object.assign(b instanceof Float64Array ? Float64Array.from(b) : [...b], { [j]: b[j] + d }),
        ),
      );
    if (typeof a === "number") return [(at(undefined, h) - at(undefined, -h)) / (2 * h)];
    return Array.from(a as ArrayLike<number>, (_, j) => (at(j, h) - at(j, -h)) / (2 * h));
  });
}

/** `counts`: indices of integer arguments (a length, a number of steps), whose gradient is 0 and not a difference. */
function check(name: string, args: any[], counts: number[] = [], tol = 1e-6): any[] {
  const g: any[] = m[`${name}_grad`](...args);
  const n = numeric((...xs: any[]) => m[name](...xs.map((x, i) => (counts.includes(i) ? args[i] : x))), args);
  g.forEach((gi, i) =>
    expectClose(typeof gi === "number" ? [gi] : Array.from(gi), counts.includes(i) ? [0] : n[i], tol),
  );
  const { value, cache } = m[`${name}_forward`](...args);
  expect(value).toBe(m[name](...args));
  for (const scale of [1, -2]) {
    const back = m[`${name}_backward`](cache, scale);
    back.forEach((bi: any, i: number) =>
      expectClose(
        typeof bi === "number" ? [bi] : Array.from(bi),
        (typeof g[i] === "number" ? [g[i]] : Array.from(g[i] as number[])).map((v) => v * scale),
        1e-12,
      ),
    );
  }
  return g;
}

describe("arrays the function creates", () => {
  it("a dense layer accumulated into h, then a ReLU read twice from h", () => {
    const W = Float64Array.from([0.5, -0.3, 0.8, 0.1, 0.7, -0.6, -0.9, 0.2, 0.4, 0.3, -0.5, 0.6]);
    check("layer", [W, Float64Array.from([0.9, -0.4, 0.3]), 4], [2]);
    expect(js).toContain("const dh = new Float64Array(h.length)");
  });

  it("an element written, read, overwritten, decremented, incremented: d/dx and d/dy by hand", () => {
    const [x, y] = [0.7, -1.3];
    const [dx, dy] = check("overwrite", [x, y]);
    // f = x²y + x²(1 - x²y) = x²y + x² - x⁴y
    expect(dx).toBeCloseTo(2 * x * y + 2 * x - 4 * x ** 3 * y, 12);
    expect(dy).toBeCloseTo(x * x - x ** 4, 12);
  });

  it("a recurrence through the previous element (Horner)", () => {
    const a = [0.3, -1.2, 0.8, 0.5, -0.7];
    const [da, dx] = check("horner", [a, 0.9]);
    // c[n-1] = Σ a[i] x^(n-1-i)
    a.forEach((_, i) => expect(da[i]).toBeCloseTo(0.9 ** (a.length - 1 - i), 12));
    expect(dx).toBeCloseTo(
      a.reduce((s, ai, i) => s + ai * (a.length - 1 - i) * 0.9 ** (a.length - 2 - i), 0),
      12,
    );
  });

  it("an array made after a loop that pushes values: d sin(sin(sin(a))) / da", () => {
    const [da] = check("afterLoop", [0.5, 3], [1]);
    expect(da).toBeCloseTo(Math.cos(0.5) * Math.cos(Math.sin(0.5)) * Math.cos(Math.sin(Math.sin(0.5))), 14);
  });

  it("time steps that overwrite a local array in place", () => {
    check("diffuse", [Float64Array.from([0.1, 0.5, -0.3, 0.8, 0.2, -0.4]), 0.2, 7], [2]);
  });

  it("array literals of numbers the function computes, const or a var never reassigned", async () => {
    const { module: w, js: text } = await compile(`
/** @differentiable */
function norm2(v: readonly number[]): number {
  let s = 0;
  for (const c of v) s += c * c;
  return s;
}
/** @differentiable */
export function f(x: number, y: number): number {
  const v = [x * 2, y, Math.sin(x), -0.5];
  var w = [1.5, -2.25];
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * w[i % 2];
  return s + norm2(v);
}`);
    // f = 1.5·2x - 2.25y + 1.5 sin x + 1.125 + 4x² + y² + sin² x + 0.25
    const [x, y] = [0.7, -1.2];
    const [dx, dy] = w.f_grad(x, y);
    expect(dx).toBeCloseTo(3 + 1.5 * Math.cos(x) + 8 * x + 2 * Math.sin(x) * Math.cos(x), 12);
    expect(dy).toBeCloseTo(-2.25 + 2 * y, 12);
    expect(w.f_backward(w.f_forward(x, y).cache, 2)).toEqual([2 * dx, 2 * dy].map((g) => expect.closeTo(g, 12)));
    expect(text).toMatch(/v\[3\] = -0\.5;/);
  });

  it("Array.from({ length: n }, (_, i) => ...): the loop filling it, the callback inlined", async () => {
    const { module: w, js: text } = await compile(`
/** @differentiable */
export function f(x: number, n: number): number {
  const w = Array.from({ length: n }, (_, i) => Math.sin(x * (i + 1)));
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i] * w[i];
  return s;
}`);
    // f = Σ sin²(x k), k = 1..n: f' = Σ k sin(2 x k)
    const [x, n] = [0.7, 4];
    const [dx] = w.f_grad(x, n);
    expect(dx).toBeCloseTo(
      [1, 2, 3, 4].reduce((t, k) => t + k * Math.sin(2 * x * k), 0),
      12,
    );
    expect(w.f_backward(w.f_forward(x, n).cache, 1)).toEqual(w.f_grad(x, n));
    expect(text).toMatch(/Array\.from\(\{ length: n \}, \(_, i\) => Math\.sin\(x \* \(i \+ 1\)\)\), in reverse/);
  });

  it("an array literal of anything but numbers is refused (reassigned, see array-rebinding.test.ts)", () => {
    const codes = (body: string) =>
      tsgradErrorCodes(`/** @differentiable */\nexport function f(x: number): number {\n${body}\n}\n`);
    expect(codes('  const v = ["a", "b"];\n  return v.length * x;')).toContain(94003);
  });

  it("*=, /=, **= and %= on elements: the old value read, then replaced, in loops too", async () => {
    const { module: w } = await compile(`
/** @differentiable */
export function f(x: number, y: number): number {
  const h = new Float64Array(3);
  h[0] = x;
  h[1] = y;
  h[2] = 1;
  for (let j = 0; j < 3; j++) {
    h[j] *= x + j;
    h[j] /= y;
  }
  h[0] **= 2;
  h[1] %= 5;
  return h[0] + h[1] * h[2];
}`);
    checkEveryApi(w.f, [0.7, 1.3]);
    // f = (x²/y)² + (y(x+1)/y % 5) · (x+2)/y = x⁴/y² + (x+1)(x+2)/y below 5
    const [x, y] = [0.7, 1.3];
    expect(w.f(x, y)).toBeCloseTo(x ** 4 / y ** 2 + ((x + 1) * (x + 2)) / y, 12);
  });

  it("a write out of range changes nothing, and passes no gradient (it was NaN)", async () => {
    const { module: w, js: text } = await compile(`
/** @differentiable */
export function f(x: number, n: number): number {
  const h = new Float64Array(3);
  for (let j = 0; j < n; j++) h[j] = x * (j + 1);
  return h[0] + h[1] * h[2];
}`);
    // f = x + 2x · 3x for n >= 3: the writes at 3 and 4 are dropped.
    expect(w.f(0.5, 5)).toBe(0.5 + 1 * 1.5);
    expect(w.f_grad(0.5, 5)).toEqual([1 + 12 * 0.5, 0]);
    expect(w.f_backward(w.f_forward(0.5, 5).cache, 2)).toEqual([2 * (1 + 12 * 0.5), 0]);
    // Only where the code does not prove the index inside: not h[j] of the dense layer above.
    expect(text).toMatch(/dh\[j\] \?\? 0/);
    expect(bodyOf(js, "layer_grad")).toContain("let dprod = dh[j];");
    expect(bodyOf(js, "layer_grad")).not.toMatch(/\?\? 0/);
  });
});

describe("array writes that are refused, at the node", () => {
  const refused = (body: string, params = "a: Float64Array, x: number") => {
    const src = `const table = [1, 2, 3];\n/** @differentiable */\nexport function f(${params}): number {\n${body}\n}\n`;
    const { diagnostics } = compileToJs(src);
    const errors = diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error && d.code >= 94000);
    expect(errors.length, `expected a tsgrad error for:\n${body}`).toBeGreaterThan(0);
    const d = errors[0];
    return {
      text: src.slice(d.start!, d.start! + d.length!),
      message: ts.flattenDiagnosticMessageText(d.messageText, "\n"),
    };
  };

  it("a parameter's element", () => {
    const r = refused("a[0] = x;\nreturn a[0];");
    expect(r.text).toBe("a[0]");
    expect(r.message).toMatch(/parameters are read-only/);
  });

  it("an array created inside a loop with a length the loop changes (made once, before it)", () => {
    expect(
      refused(
        "let s = 0;\nfor (let i = 0; i < 2; i++) {\n  const h = new Float64Array(i + 1);\n  h[0] = x;\n  s += h[0];\n}\nreturn s;",
      ).message,
    ).toMatch(/its length must be known there/);
  });

  it("&&= on an element, and an array tsgrad did not see made", () => {
    expect(refused("const h = new Float64Array(2);\nh[0] = x;\nh[0] &&= x;\nreturn h[0];").message).toMatch(
      /only `=`, `\+= -= \*= \/= %= \*\*=`/,
    );
    // A module-level table is read as constants (test/statements.test.ts); written by the function,
    // it is the function's scratch copy (test/module-scratch.test.ts); written by another, refused.
    expect(refused("return table[0] * x;\n}\nexport function g(x: number): void {\ntable[0] = x;").text).toBe("table");
  });
});

describe("an element of a local array at a random index", () => {
  it("is read where the index is drawn, twice for two draws; its gradient goes to that element", async () => {
    // a[Math.floor(Math.random() * 3)] - a[Math.floor(Math.random() * 3)]: two draws, two reads.
    // The two reads print alike, but are not one value (they were, when Math.random counted as
    // pure), and the backward pass adds into the element drawn, not one drawn again.
    const { module: m } = await compile(`
/** @differentiable */
export function f(x: number): number {
  const a = [x, 2 * x, 3 * x];
  return a[Math.floor(Math.random() * 3)] - a[Math.floor(Math.random() * 3)];
}
`);
    const random = Math.random;
    const draws = [0.1, 0.9, 0.5, 0.2];
    let next = 0;
    Math.random = () => draws[next++ % draws.length];
    try {
      // Draws 0.1, 0.9: a[0] - a[2] = -2x; then 0.5, 0.2: a[1] - a[0] = x.
      const first = m.f_grad(1.5);
      const second = m.f_grad(1.5);
      expect(first).toEqual([-2]);
      expect(second).toEqual([1]);
      next = 0;
      expect(m.f(1.5)).toBeCloseTo(-3, 12);
    } finally {
      Math.random = random;
    }
  });
});
