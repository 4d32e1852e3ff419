// Parts of arrays and the elements a search finds: xs.slice(start, end) and xs.subarray(start, end)
// copied as slice counts its bounds (from the end where negative, clamped to the length, truncated),
// named, passed to helpers in place, in loops with bounds known only there; xs.find(f) and
// xs.findLast(f), alone or before `??`. Every gradient is checked against central differences and
// through every API; the generated code type-checks under strict settings.

import ts from "typescript";
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bodyOf, compile, emitProject, genStrictErrors, tsgradErrors } from "./harness.js";
import { checkEveryApi } from "./oracles.js";

const slices = `
/** @differentiable */
export function mean(x: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < x.length; i++) total += x[i];
  return total / x.length;
}

/** @differentiable */
export function sumsq(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}

/** @differentiable */
export function tailEnergy(xs: readonly number[], s: number): number {
  const tail = xs.slice(1);
  let r = 0;
  for (const v of tail) r += v * v * s;
  return r + tail.length;
}

/** @differentiable */
export function part(xs: Float64Array, a: number, b: number): number {
  const w = xs.slice(a, b);
  return w.reduce((acc, v, i) => acc + Math.sin(v) * (i + 1), w.length);
}

/** @differentiable */
export function fromEnd(xs: readonly number[]): number {
  const last2 = xs.slice(-2);
  const inner = xs.slice(-4, -1);
  const none = xs.slice(3, 1);
  return sumsq(last2) * inner[0] + Math.max(...inner) + none.length;
}

/** @differentiable */
export function inPlace(xs: readonly number[], a: number, b: number): number {
  return sumsq(xs.slice(a, b)) * xs[0] + mean(xs.slice(-3));
}

/** @differentiable */
export function ofPart(xs: readonly number[], k: number): number {
  const h = xs.map((v) => v * k);
  const a = h.slice(1);
  const b = a.slice(1, -1);
  b[0] *= k;
  return sumsq(b) + a[a.length - 1] * b[b.length - 1];
}

/** @differentiable */
export function windows(xs: readonly number[], w: number): number {
  let s = 0;
  for (let i = 0; i + w <= xs.length; i++) {
    const win = xs.slice(i, i + w);
    let m = 0;
    for (const v of win) m += v / win.length;
    s += m * m + Math.max(...win) + mean(xs.slice(i, i + w)) * xs[i];
  }
  return s;
}

/** @differentiable */
export function chosen(xs: readonly number[], c: number): number {
  let s = xs[0];
  if (c > 0) {
    const k = Math.floor(c);
    const t = xs.slice(k, k + 2);
    for (let j = 0; j < t.length; j++) s += t[j] * t[j] * (j + 1);
  }
  return s;
}

/** @differentiable */
export function upTo(xs: readonly number[], end?: number): number {
  const t = xs.slice(1, end);
  return t.reduce((acc, v) => acc * v, 1) + t.length;
}

/** @differentiable */
export function views(x: Float64Array, a: number, b: number): number {
  const v = x.subarray(1, 3);
  const h = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) h[i] = Math.exp(x[i]);
  const u = h.subarray(a, b);
  return sumsq(v) * v[1] + sumsq(u) + sumsq(x.subarray(-2));
}

/** @differentiable */
export function eachTail(xs: readonly number[], k: number): number {
  let s = 0;
  xs.forEach((v, i) => {
    s += v * sumsq(xs.slice(i)) * k;
  });
  return s;
}

const C = [0.5, -1.5, 2, 0.25];

/** @differentiable */
export function ofTable(x: number): number {
  const t = C.slice(1, -1);
  let s = 0;
  for (const v of t) s += v * x * x;
  return s;
}

/** @differentiable */
export function eachNamed(xs: readonly number[], k: number): number {
  let s = 0;
  xs.forEach((v, i) => {
    const tail = xs.slice(i);
    const scaled = xs.map((u) => u * v);
    s += sumsq(tail) * k + sumsq(scaled);
  });
  return s;
}
`;

describe("slice(start, end) and subarray: the part copied, its gradient into the source's elements", () => {
  it("slice(1) named and iterated; slice(a, b) with fractional, negative, crossing and out-of-range bounds", async () => {
    const { module: m } = await compile(slices);
    checkEveryApi(m.tailEnergy, [[0.5, -1.5, 2, 0.25], 0.7]);
    checkEveryApi(m.tailEnergy, [[0.5], 0.7]); // an empty tail
    checkEveryApi(m.tailEnergy, [[], 0.7]);
    const xs = Float64Array.of(0.3, -1.1, 2, 0.5, -0.4);
    for (const [a, b] of [
      [1.5, 3.7], // truncated: xs.slice(1, 3)
      [-3.5, -1.5], // from the end: xs.slice(-3, -1)
      [-10, 2.5], // clamped to 0
      [3.5, 1.2], // start > end: empty
      [2.5, 99], // end past the length
      [-0.5, 4.5], // -0.5 truncates to -0, which counts as 0
      [NaN, 2.5], // NaN counts as 0
    ])
      checkEveryApi(m.part, [xs, a, b]);
    expect(m.part(xs, 3, 1)).toBe(0);
    expect(m.part_grad(xs, 3, 1)[0]).toEqual(new Float64Array(5));
    // The gradient reaches exactly the elements the part copied.
    expect(Array.from(m.part_grad(xs, -3, -1)[0], (g: number) => g !== 0)).toEqual([false, false, true, true, false]);
  });

  it("negative bounds, an empty part, slices passed in place to helpers, a slice of a slice written", async () => {
    const { module: m } = await compile(slices);
    checkEveryApi(m.fromEnd, [[0.5, -1.5, 2, 0.25, 1.2]]);
    checkEveryApi(m.ofTable, [0.7]);
    checkEveryApi(m.inPlace, [[0.5, -1.5, 2, 0.25, 1.2], 1.5, -1.5]);
    checkEveryApi(m.inPlace, [[0.5, -1.5, 2, 0.25, 1.2], 4.5, 2.5]); // sumsq of an empty part
    checkEveryApi(m.ofPart, [[0.5, -1.5, 2, 0.25, 1.2], 0.8]);
    expect(m.ofPart([0.5, -1.5, 2, 0.25, 1.2], 0.8)).toBeCloseTo(
      (() => {
        const h = [0.5, -1.5, 2, 0.25, 1.2].map((v) => v * 0.8);
        const a = h.slice(1);
        const b = a.slice(1, -1);
        b[0] *= 0.8;
        return b.reduce((s, v) => s + v * v, 0) + a[a.length - 1] * b[b.length - 1];
      })(),
      14,
    );
  });

  it("parts made in a loop or a branch with bounds known only there, and an end that may be undefined", async () => {
    const { module: m, js } = await compile(slices);
    checkEveryApi(m.windows, [[0.5, -1.5, 2, 0.25, 1.2], 3], { skip: ["[1]"] });
    checkEveryApi(m.windows, [[0.5, -1.5], 3], { skip: ["[1]"] }); // no window fits
    checkEveryApi(m.chosen, [[0.5, -1.5, 2, 0.25], 1.5]);
    checkEveryApi(m.chosen, [[0.5, -1.5, 2, 0.25], 3.5]); // a part of one element
    checkEveryApi(m.chosen, [[0.5, -1.5, 2, 0.25], -1]);
    checkEveryApi(m.upTo, [[0.5, -1.5, 2, 0.25]]);
    checkEveryApi(m.upTo, [[0.5, -1.5, 2, 0.25], -1.5]);
    checkEveryApi(m.eachTail, [[0.5, -1.5, 2, 0.25], 0.9]);
    // Named in a forEach callback, a loop: the helper is inlined there (it once read the last iteration's array).
    checkEveryApi(m.eachNamed, [[0.5, -1.5, 2, 0.25], 0.9]);
    // The window is made once, before the loop, as long as xs; each iteration copies its part.
    const loop = bodyOf(js, "windows_grad");
    expect(loop.slice(0, loop.indexOf("for ("))).toMatch(/const win = scratch\.zeros\(xs\.length\)/);
  });

  it("subarray views only read are read as copies, of parameters and of arrays the function made", async () => {
    const { module: m } = await compile(slices);
    checkEveryApi(m.views, [Float64Array.of(0.3, -1.1, 2, 0.5, -0.4), 1.5, 4.5]);
    checkEveryApi(m.views, [Float64Array.of(0.3, -1.1, 2, 0.5, -0.4), -2.5, 5.5]);
  });

  it("the copy is a loop from the part's start, with no call of slice", async () => {
    const { js } = await compile(slices);
    const code = bodyOf(js, "tailEnergy_grad")
      .split("\n")
      .filter((line) => !line.trim().startsWith("//"))
      .join("\n");
    expect(code).not.toMatch(/\.slice\(/);
    expect(code).toMatch(/const tail_start = Math\.min\(1, xs\.length\);/);
    expect(code).toMatch(/dxs\[tail_start \+ i\] \+= /);
  });

  it("generated code type-checks under strict settings with no unused names", () => {
    expect(genStrictErrors(slices, "slice-find", { noUnusedLocals: true, noUnusedParameters: true })).toEqual([]);
  });
});

const finds = `
/** @differentiable */
export function firstAbove(xs: readonly number[], t: number): number {
  return (xs.find((v) => v > t) ?? 0) * t + xs[0];
}

/** @differentiable */
export function asserted(xs: Float64Array, t: number): number {
  const f = xs.find((v, i) => i > 0 && v * t > 1)!;
  return f * f;
}

/** @differentiable */
export function checked(xs: readonly number[], t: number): number {
  const found = xs.find((v) => v < t);
  if (found === undefined) return t * 2;
  return Math.exp(found) * t;
}

/** @differentiable */
export function inLoop(xs: readonly number[], t: number): number {
  let s = 0;
  for (let k = 0; k < 3; k++) s += (xs.find((v) => v > t + k) ?? t) * (k + 1);
  if (xs.find((v) => v < t) !== undefined) s *= 2;
  return s;
}

/** @differentiable */
export function ofLocal(xs: readonly number[], k: number): number {
  const h = xs.map((v) => v * k);
  h[0] = 0;
  return (h.find((v) => v > 1) ?? -1) + h[1];
}
`;

describe("find: the search loop of findIndex, then the element found, its gradient to that element alone", () => {
  it("find ?? fallback, find!, find compared with undefined, over parameters and local arrays", async () => {
    const { module: m } = await compile(finds);
    checkEveryApi(m.firstAbove, [[0.5, 2.5, 1.2, 3.1], 1.7]);
    checkEveryApi(m.firstAbove, [[0.5, 2.5, 1.2, 3.1], 9]); // none found: ?? 0
    expect(m.firstAbove_grad([0.5, 2.5, 1.2, 3.1], 1.7)[0]).toEqual([1, 1.7, 0, 0]);
    expect(m.firstAbove_grad([0.5, 2.5, 1.2, 3.1], 9)).toEqual([[1, 0, 0, 0], 0]);
    checkEveryApi(m.asserted, [Float64Array.of(2, 0.5, 1.5, 3), 1.2]);
    checkEveryApi(m.checked, [[0.5, 2.5, 1.2], 1.7]);
    checkEveryApi(m.checked, [[0.5, 2.5, 1.2], 0.1]); // none found: the other return
    checkEveryApi(m.inLoop, [[0.5, 2.5, 1.2, 3.1], 0.4]);
    checkEveryApi(m.inLoop, [[0.5, 2.5, 1.2, 3.1], 1.7]);
    checkEveryApi(m.ofLocal, [[0.5, 2.5, 1.2], 0.8]);
    checkEveryApi(m.ofLocal, [[0.5, 0.2, 0.1], 0.8]);
    // No element found: the gradient array holds no stray entry (no write at index -1).
    const [dxs] = m.checked_grad([0.5, 2.5, 1.2], 0.1);
    expect(Object.keys(dxs)).toEqual(["0", "1", "2"]);
    expect(Number.isNaN(m.asserted(Float64Array.of(1, 0.1), 1))).toBe(true);
  });

  it("generated code type-checks under strict settings with no unused names", () => {
    expect(genStrictErrors(finds, "find", { noUnusedLocals: true, noUnusedParameters: true })).toEqual([]);
  });
});

const lasts = `
/** @differentiable */
export function lastBelow(xs: readonly number[], t: number): number {
  const i = xs.findLastIndex((v) => v < t);
  const v = xs.findLast((v) => v < t) ?? t;
  return v * v + (i >= 0 ? xs[i] * 2 : 0);
}
`;

describe("findLast and findLastIndex (ES2023)", () => {
  it("the last element the callback keeps, and its index", async () => {
    const { dir, diagnostics } = emitProject({ "last.ts": lasts }, { target: ts.ScriptTarget.ES2023 });
    expect(diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error)).toEqual([]);
    const m = await import(pathToFileURL(join(dir, "last.js")).href);
    checkEveryApi(m.lastBelow, [[0.5, 2.5, 1.2, 3.1], 1.7]);
    checkEveryApi(m.lastBelow, [[0.5, 2.5, 1.2, 3.1], 0.1]);
    expect(m.lastBelow_grad([0.5, 2.5, 1.2, 3.1], 1.7)[0]).toEqual([0, 0, 4.4, 0]);
  });
});

const readme = `
/** @differentiable */
export function mean(x: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < x.length; i++) total += x[i];
  return total / x.length;
}

/** @differentiable */
export function firstAbove(xs: readonly number[], t: number): number {
  return (xs.find((v) => v > t) ?? 0) * t;
}

/** @differentiable */
export function windowedLoss(xs: readonly number[], w: number, target: number): number {
  let loss = 0;
  for (let i = 0; i + w <= xs.length; i++) loss += (mean(xs.slice(i, i + w)) - target) ** 2;
  const tail = xs.slice(1);
  for (const v of tail) loss += 0.1 * v * v;
  return loss;
}
`;

describe("the README's examples", () => {
  it("firstAbove and windowedLoss, and the lines the README shows", async () => {
    const { module: m, js } = await compile(readme);
    checkEveryApi(m.firstAbove, [[0.5, 2.5, 1.2, 3.1], 1.7]);
    checkEveryApi(m.firstAbove, [[0.5, 2.5, 1.2, 3.1], 9]);
    checkEveryApi(m.windowedLoss, [[0.5, -1.5, 2, 0.25, 1.2], 2, 0.3], { skip: ["[1]"] });
    expect(js).toMatch(/if \(index === -1\) \{\s+xs_found = 0;\s+\}\s*else \{\s+xs_found = xs\[index\];/);
    expect(js).toMatch(/if \(index !== -1\) \{\s+\/\/ [^\n]*\s+dxs\[index\] \+= dxs_found;/);
    expect(js).toMatch(
      /const tail_start = Math\.min\(1, xs\.length\);\s+const tail = scratch\.zeros\(xs\.length - tail_start\);[^]*?const xs_i\w* = xs\[tail_start \+ i\w*\];\s+tail\[i\w*\] = xs_i\w*;/,
    );
  });
});

describe("slices and finds, refused", () => {
  const errors = (body: string, params = "x: Float64Array, y: number", preamble = "") =>
    tsgradErrors(`${preamble}/** @differentiable */\nexport function f(${params}): number {\n${body}\n}\n`);

  it("a view written through, or of an array written after, or kept, says to copy with slice", () => {
    const written = errors("  const v = x.subarray(1, 3);\n  v[0] = y;\n  return x[0];", "x: Float64Array, y: number");
    expect(written.map((e) => [e.code, e.text])).toEqual([[94003, "x.subarray(1, 3)"]]);
    expect(written[0].message).toMatch(/`v\[0\] = y` writes through it.*copy the part with `slice`/);
    const later = errors(
      "  const h = new Float64Array(3);\n  h[0] = y;\n  const v = h.subarray(1);\n  h[1] = y * 2;\n  return v[0] + h[0];",
    );
    expect(later.map((e) => e.code)).toEqual([94003]);
    expect(later[0].message).toMatch(/`h` is written after the view is made/);
    const kept = errors("  let v = x.subarray(1);\n  v = x;\n  return v[0] * y;");
    expect(kept.map((e) => e.code)).toContain(94003);
    expect(kept.some((e) => /kept other than in a `const`/.test(e.message))).toBe(true);
    const returned = tsgradErrors(
      "/** @differentiable */\nexport function f(x: Float64Array): Float64Array {\n  const v = x.subarray(1);\n  return v;\n}\n",
    );
    expect(returned.map((e) => e.code)).toEqual([94003]);
    expect(returned[0].message).toMatch(/`return v;` uses it other than by reading it/);
  });

  it("find over records, and a part made in a branch with bounds known only there given to a helper", () => {
    const records = errors(
      "  const r = p.find((r) => r.a > y);\n  return r === undefined ? y : y * 2;",
      "p: { a: number }[], y: number",
    );
    expect(records.map((e) => [e.code, e.text])).toEqual([[94003, "p.find"]]);
    expect(records[0].message).toMatch(
      /would give a record or a row of `p`.*find its index \(`p\.findIndex\(\.\.\.\)`\)/,
    );
    const branch = errors(
      "  let s = 0;\n  if (y > 0) {\n    const k = Math.floor(y);\n    s = sumsq(x.slice(k));\n  }\n  return s;",
      "x: readonly number[], y: number",
      "/** @differentiable */\nexport function sumsq(x: readonly number[]): number {\n  let s = 0;\n  for (const v of x) s += v * v;\n  return s;\n}\n",
    );
    expect(branch.map((e) => [e.code, e.text])).toEqual([[94003, "x.slice(k)"]]);
    expect(branch[0].message).toMatch(/compute the bounds before the branch/);
  });

  it("a let array given a part in a loop, and a slice used other than named or passed", () => {
    const rebound = errors(
      "  let w = x.slice(0, 2);\n  let s = 0;\n  for (let i = 0; i < 3; i++) {\n    w = x.slice(i, i + 2);\n    s += w[0];\n  }\n  return s * y;",
      "x: readonly number[], y: number",
    );
    expect(rebound.map((e) => e.code)).toEqual([94001]);
    expect(rebound[0].message).toMatch(/`w` is given a part of an array whose bounds are known only inside/);
    const passed = errors(
      "  return ext(x.slice(1)) * y;",
      "x: number[], y: number",
      "declare function ext(a: number[]): number;\n",
    );
    expect(passed.map((e) => [e.code, e.text])).toContainEqual([94003, "x.slice(1)"]);
    expect(passed.find((e) => e.text === "x.slice(1)")!.message).toMatch(
      /name it first \(`const tail = xs\.slice\(1\)`\)/,
    );
  });

  it("other array methods still say to write the loop", () => {
    const shifted = errors("  const v = [y, 1];\n  return v.shift()! * y;", "y: number");
    expect(shifted.map((e) => e.code)).toEqual([94003]);
    expect(shifted[0].message).toMatch(
      /array methods such as `v.shift\(\)` are not supported yet.*write the `for` loop/,
    );
  });
});
