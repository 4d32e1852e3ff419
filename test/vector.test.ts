// Functions that return an array they create: vjp(f)'s backward pass takes an output gradient of
// the output's length, jacobian(f) builds the full Jacobian (one block per parameter). Checked
// against closed forms and finite differences; grad(f) of such a function is a clear error.

import { beforeAll, describe, expect, it } from "vitest";
import ts from "typescript";
import { compile, compileToJs, expectClose } from "./harness.js";

const source = `export { grad, vjp, jacobian } from "tsgrad";

/** The softmax of z, shifted by its maximum. */
/** @differentiable */
export function softmaxOf(z: Float64Array): Float64Array {
  const p = new Float64Array(z.length);
  let top = z[0];
  for (let i = 1; i < z.length; i++) top = Math.max(top, z[i]);
  let total = 0;
  for (let i = 0; i < z.length; i++) {
    p[i] = Math.exp(z[i] - top);
    total += p[i];
  }
  for (let i = 0; i < z.length; i++) p[i] = p[i] / total;
  return p;
}

/** Powers of x weighted by a: out[k] = a[k] x^k, and a number[] result. */
/** @differentiable */
export function powers(a: number[], x: number): number[] {
  const out = new Array<number>(a.length).fill(0);
  let xk = 1;
  for (let k = 0; k < a.length; k++) {
    out[k] = a[k] * xk;
    xk *= x;
  }
  return out;
}
`;

let m: Record<string, any>;

beforeAll(async () => {
  ({ module: m } = await compile(source));
});

describe("functions returning an array", () => {
  const z = Float64Array.of(0.3, -1.2, 0.8, 0.1);
  const softmax = (v: ArrayLike<number>) => {
    const e = Array.from(v, (x) => Math.exp(x));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / s);
  };

  it("vjp: value, and a backward pass taking the output's gradient (J^T v for softmax: p ⊙ (v - p·v))", () => {
    const { value, backward } = m.vjp(m.softmaxOf)(z);
    expectClose(Array.from(value), softmax(z), 1e-15);
    const v = Float64Array.of(0.5, -0.25, 1, 2);
    const p = softmax(z);
    const pv = p.reduce((s, pi, i) => s + pi * v[i], 0);
    const [dz] = backward(v);
    expectClose(
      Array.from(dz),
      p.map((pi, i) => pi * (v[i] - pv)),
      1e-14,
    );
    // backward runs again with another gradient, and does not write into the one it was given
    const w = Float64Array.of(1, 0, 0, 0);
    const [dz2] = backward(w);
    expect(Array.from(w)).toEqual([1, 0, 0, 0]);
    expectClose(
      Array.from(dz2),
      p.map((pi, i) => pi * ((i === 0 ? 1 : 0) - p[0])),
      1e-14,
    );
  });

  it("jacobian: diag(p) - p pᵀ for softmax, an m × n Matrix", () => {
    const [J] = m.jacobian(m.softmaxOf)(z);
    const p = softmax(z);
    expect([J.rows, J.cols]).toEqual([4, 4]);
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 4; j++) expect(J.data[i * 4 + j]).toBeCloseTo((i === j ? p[i] : 0) - p[i] * p[j], 14);
  });

  it("jacobian with a number parameter (a column) and a number[] result, against finite differences", () => {
    const a = [0.5, -1.5, 2, 0.25];
    const x = 0.8;
    const [Ja, Jx] = m.jacobian(m.powers)(a, x);
    for (let k = 0; k < 4; k++) {
      for (let j = 0; j < 4; j++) expect(Ja.data[k * 4 + j]).toBe(k === j ? x ** k : 0);
      const h = 1e-6;
      const numeric = (m.powers(a, x + h)[k] - m.powers(a, x - h)[k]) / (2 * h);
      expectClose([Jx[k]], [numeric], 1e-8);
    }
  });

  it("grad of such a function says to use vjp or jacobian", () => {
    expect(() => m.grad(m.softmaxOf)).toThrow(/returns an array.*vjp\(f\).*jacobian\(f\)/);
  });

  it("an array returned anywhere but at the end is refused", () => {
    const src = `/** @differentiable */\nexport function f(x: number): Float64Array {\n  const h = new Float64Array(2);\n  h[0] = x;\n  if (x > 0) return h;\n  h[1] = x;\n  return h;\n}\n`;
    const errors = compileToJs(src).diagnostics.filter(
      (d) => d.category === ts.DiagnosticCategory.Error && d.code >= 94000,
    );
    expect(errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"))).toEqual([
      expect.stringMatching(/one `return` at the end/),
    ]);
  });
});
