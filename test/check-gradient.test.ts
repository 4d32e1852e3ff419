// checkGradient's absolute tolerance, wrt and report. Central differences with h = 1e-5 are off by
// ~1e-11 to 1e-10 (rounding of f, truncation), which swamps gradient entries of ~1e-9 in relative
// terms: a softmax classifier's data gradient with small weights failed at 4.5e-4 relative error.
// An entry now passes within atol (default 1e-8) OR within tolerance (relative, default 1e-6).
// The analytic gradients here are derived by hand (closed forms), independent of tsgrad.

import { describe, expect, it } from "vitest";
import { checkGradient, type GradientCheckResult } from "../runtime/index.js";

/**
 * Mean softmax cross-entropy of scores X W (X: N × D row-major, W: D × C) against labels y.
 * Its gradients in closed form: with P the softmax of the scores and Y the one-hot labels,
 *   dW = Xᵀ (P - Y) / N        dX = (P - Y) Wᵀ / N
 */
function softmaxLoss(N: number, D: number, C: number, y: number[]) {
  const scores = (W: Float64Array, X: Float64Array) =>
    Array.from({ length: N }, (_, i) =>
      Array.from({ length: C }, (_, c) => {
        let s = 0;
        for (let d = 0; d < D; d++) s += X[i * D + d] * W[d * C + c];
        return s;
      }),
    );
  const probabilities = (W: Float64Array, X: Float64Array) =>
    scores(W, X).map((row) => {
      const max = Math.max(...row);
      const e = row.map((s) => Math.exp(s - max));
      const total = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / total);
    });
  const loss = (W: Float64Array, X: Float64Array) =>
    -probabilities(W, X).reduce((acc, p, i) => acc + Math.log(p[y[i]]), 0) / N;
  const gradient = (W: Float64Array, X: Float64Array): [Float64Array, Float64Array] => {
    const P = probabilities(W, X).map((p, i) => p.map((v, c) => (v - (c === y[i] ? 1 : 0)) / N));
    const dW = new Float64Array(D * C);
    const dX = new Float64Array(N * D);
    for (let i = 0; i < N; i++)
      for (let d = 0; d < D; d++)
        for (let c = 0; c < C; c++) {
          dW[d * C + c] += X[i * D + d] * P[i][c];
          dX[i * D + d] += P[i][c] * W[d * C + c];
        }
    return [dW, dX];
  };
  return { loss, gradient };
}

describe("checkGradient's absolute tolerance", () => {
  // Weights of ~1e-8 (as at initialization) make the data gradient ~1e-9.
  const N = 4,
    D = 3,
    C = 3;
  const { loss, gradient } = softmaxLoss(N, D, C, [0, 2, 1, 2]);
  const W = Float64Array.from({ length: D * C }, (_, k) => 1e-8 * Math.sin(3 * k + 1));
  const X = Float64Array.from({ length: N * D }, (_, k) => Math.cos(2 * k + 0.5));
  const analytic = gradient(W, X);

  it("passes a softmax classifier whose data gradient is ~1e-9 (it failed on relative error alone)", () => {
    const dX = analytic[1];
    expect(Math.max(...Array.from(dX, Math.abs))).toBeLessThan(1e-8); // tiny, as in the issue
    const strict = checkGradient(loss, [W, X], analytic, { atol: 0 });
    expect(strict.ok).toBe(false); // the noise of finite differences, judged relatively
    expect(strict.worst!.index).toBe(1);
    expect(strict.worst!.relativeError).toBeGreaterThan(1e-6);
    expect(strict.worst!.absoluteError).toBeLessThan(1e-10); // but tiny in absolute terms
    const r = checkGradient(loss, [W, X], analytic);
    expect(r.ok).toBe(true);
    expect(r.entries.filter((e) => e.index === 0).every((e) => e.relativeError < 1e-7)).toBe(true); // dW is judged relatively, and passes
    expect(r.maxRelativeError).toBe(strict.maxRelativeError); // still over all entries
  });

  it("still catches a wrong gradient of the weights, and a wrong data gradient of the size of the data gradient's scale", () => {
    const [dW, dX] = analytic;
    const wrongW = dW.map((v, k) => (k === 4 ? v * 1.01 : v));
    const r = checkGradient(loss, [W, X], [wrongW, dX]);
    expect(r.ok).toBe(false);
    expect(r.worst!.path).toBe("[0][4]");
    // A data gradient 100 times too large (a missing / N, say, at this scale): off by ~1e-7 > atol.
    const bigX = dX.map((v) => v * 100);
    expect(checkGradient(loss, [W, X], [dW, bigX]).ok).toBe(false);
  });

  it("an entry passes within atol OR within tolerance", () => {
    // f = 1e-3 x² at 1e-4: f' = 2e-7. Off by 5e-9: relative error 1.2e-2, absolute 5e-9 ≤ 1e-8.
    const tiny = (x: number) => 1e-3 * x * x;
    expect(checkGradient(tiny, [1e-4], [2e-7 + 5e-9]).ok).toBe(true);
    expect(checkGradient(tiny, [1e-4], [2e-7 + 5e-9], { atol: 1e-9 }).ok).toBe(false);
    const [e] = checkGradient(tiny, [1e-4], [2e-7 + 5e-9]).entries;
    expect(e.absoluteError).toBeCloseTo(5e-9, 15);
    expect(e.relativeError).toBeCloseTo(5e-9 / (4e-7 + 5e-9), 4);
    expect(e.ok).toBe(true);
    // f = 1e6 x² at 1: f' = 2e6. Off by 0.1: absolute 0.1 > atol, relative 2.5e-8 ≤ 1e-6.
    const big = (x: number) => 1e6 * x * x;
    expect(checkGradient(big, [1], [2e6 + 0.1]).ok).toBe(true);
    expect(checkGradient(big, [1], [2e6 + 0.1], { tolerance: 1e-9 }).ok).toBe(false);
    // Beyond both: off by 1e-3 on a derivative of 3.
    expect(checkGradient((x: number, y: number) => x * y, [3, -4], [-4, 3.001]).ok).toBe(false);
  });

  it("never passes NaN, whatever the tolerances", () => {
    const r = checkGradient((x: number) => x, [1], [NaN], { atol: Infinity, tolerance: Infinity });
    expect(r.ok).toBe(false);
    expect(r.entries[0].ok).toBe(false);
    expect(r.maxRelativeError).toBeNaN();
  });
});

describe("checkGradient's wrt", () => {
  // f(a, p) = a² p.s + Σ p.v_i a: df/da = 2 a p.s + Σ p.v_i, df/dp.s = a², df/dp.v_i = a.
  const f = (a: number, p: { s: number; v: Float64Array }) => a * a * p.s + p.v.reduce((t, v) => t + v * a, 0);
  const a = 1.5;
  const p = () => ({ s: -2, v: Float64Array.of(0.5, 3) });
  const da = 2 * 1.5 * -2 + 3.5;
  const dp = { s: 2.25, v: Float64Array.of(1.5, 1.5) };

  it("checks the listed parameters alone, analytic in wrt's order, paths and indices of the arguments", () => {
    const r = checkGradient(f, [a, p()], [dp], { wrt: [1] });
    expect(r.ok).toBe(true);
    expect(r.entries.map((e) => e.path)).toEqual(["[1].s", "[1].v[0]", "[1].v[1]"]);
    expect(r.entries.map((e) => e.index)).toEqual([1, 1, 1]);
    expect(r.entries.map((e) => e.numeric)).toEqual([2.25, 1.5, 1.5].map((x) => expect.closeTo(x, 8)));
    const both = checkGradient(f, [a, p()], [dp, da], { wrt: [1, 0] });
    expect(both.ok).toBe(true);
    expect(both.entries.map((e) => e.path)).toEqual(["[1].s", "[1].v[0]", "[1].v[1]", "[0]"]);
    expect(both.entries[3].analytic).toBe(da);
    // In the arguments' order instead of wrt's: the number da where p's gradient belongs.
    expect(() => checkGradient(f, [a, p()], [da, dp] as any, { wrt: [1, 0] })).toThrow(
      /shape of the arguments \(first difference at \[1\]\.s\)/,
    );
  });

  it("moves only those parameters: two calls of f per number checked", () => {
    let calls = 0;
    const counted = (x: number, q: { s: number; v: Float64Array }) => (calls++, f(x, q));
    checkGradient(counted, [a, p()], [da], { wrt: [0] });
    expect(calls).toBe(2);
    calls = 0;
    checkGradient(counted, [a, p()], [da, dp]);
    expect(calls).toBe(2 * 4);
  });

  it("rejects indices out of range and an analytic gradient of another length", () => {
    expect(() => checkGradient(f, [a, p()], [da], { wrt: [2] as any })).toThrow(RangeError);
    expect(() => checkGradient(f, [a, p()], [da], { wrt: [2] as any })).toThrow(
      "tsgrad: checkGradient: wrt index 2 is out of range for 2 argument(s): integers 0 to 1",
    );
    expect(() => checkGradient(f, [a, p()], [da, dp] as any, { wrt: [0] })).toThrow(
      "tsgrad: checkGradient got 2 analytic gradient(s) for 1 wrt index(es) [0]",
    );
    expect(() => checkGradient(f, [a, p()], [{ s: 1 }] as any, { wrt: [1] })).toThrow(
      /shape of the arguments \(first difference at \[1\]\.v\[0\]\)/,
    );
  });
});

describe("checkGradient's report", () => {
  // f(x, p) = x + Σ c_i W_i: linear, so finite differences give c exactly (up to rounding).
  const c = [0.5, -1, 2, 0.125];
  const f = (x: number, p: { W: Float64Array }) => x + p.W.reduce((t, w, i) => t + c[i] * w, 0);
  const args = (): [number, { W: Float64Array }] => [0.7, { W: Float64Array.of(1, 2, 3, 4) }];

  it("names the worst entry by path, with both values, in `worst` and `message`", () => {
    const r: GradientCheckResult = checkGradient(f, args(), [1, { W: Float64Array.of(0.5, -1, 2, 0.123) }]);
    expect(r.ok).toBe(false);
    expect(r.worst!.path).toBe("[1].W[3]");
    expect(r.worst!.analytic).toBe(0.123);
    expect(r.worst!.numeric).toBeCloseTo(0.125, 9);
    expect(r.worst!.relativeError).toBeCloseTo(0.002 / 0.248, 8);
    expect(r.message).toBe(
      "checkGradient: 1 of 5 entries failed (atol 1e-8, tolerance 1e-6); worst: [1].W[3] analytic 0.123 numeric 0.125 (relative error 8.1e-3, absolute error 2.0e-3)",
    );
  });

  it("the worst is the furthest past its bounds, not the largest relative error: a tiny entry within atol is not it", () => {
    // Entry [1].W[0]: analytic 0.5 + 1e-9 passes by atol (and tolerance); [0]: 1.00001 fails both.
    const r = checkGradient(f, args(), [1.00001, { W: Float64Array.of(0.5 + 1e-9, -1, 2, 0.125) }]);
    expect(r.worst!.path).toBe("[0]");
    expect(r.message).toMatch(
      /^checkGradient: 1 of 5 entries failed .*; worst: \[0\] analytic 1\.00001 numeric 1 \(relative error 5\.0e-6, absolute error 1\.0e-5\)$/,
    );
    // Among passing entries it is still reported (the one closest to failing), with "agree".
    const good = checkGradient(f, args(), [1, { W: Float64Array.of(0.5, -1, 2, 0.125) }]);
    expect(good.ok).toBe(true);
    expect(good.message).toMatch(
      /^checkGradient: all 5 entries agree \(atol 1e-8, tolerance 1e-6\); worst: \[[^\]]+\]/,
    );
  });

  it("a NaN entry is the worst; custom bounds show in the message", () => {
    const r = checkGradient(f, args(), [1, { W: Float64Array.of(0.5, NaN, 2, 0.3) }], { atol: 0, tolerance: 1e-3 });
    expect(r.worst!.path).toBe("[1].W[1]");
    expect(r.message).toContain(
      "2 of 5 entries failed (atol 0, tolerance 1e-3); worst: [1].W[1] analytic NaN numeric -1",
    );
  });

  it("no entries: ok, no worst", () => {
    const r = checkGradient(() => 1, [] as [], [] as []);
    expect(r).toMatchObject({
      ok: true,
      maxRelativeError: 0,
      entries: [],
      worst: undefined,
      message: "checkGradient: no entries to compare",
    });
  });

  it("keeps the existing fields: ok, maxRelativeError, entries with index, path, analytic, numeric, relativeError", () => {
    const r = checkGradient((x: number, y: number) => x * y, [3, -4], [-4, 3]);
    expect(r.ok).toBe(true);
    expect(r.maxRelativeError).toBeLessThan(1e-9);
    expect(r.entries.map(({ index, path, analytic }) => ({ index, path, analytic }))).toEqual([
      { index: 0, path: "[0]", analytic: -4 },
      { index: 1, path: "[1]", analytic: 3 },
    ]);
    expect(r.entries[0].numeric).toBeCloseTo(-4, 9);
  });
});
