// Unmarked helpers of the same module: a @differentiable function calling `toRad(x)` or
// `clamp(t, 0, 1)`, helpers nobody tagged, gets them differentiated as if they were marked. Every
// gradient is checked against central differences and through every API.

import { describe, expect, it } from "vitest";
import { bodyOf, compile, compileProject, emitProject, genStrictErrors, tsgradErrors } from "./harness.js";
import { checkEveryApi } from "./oracles.js";

const geo = `
function toRad(value: number): number {
  return (value * Math.PI) / 180;
}

const clamp = (x: number, lo: number, hi: number) => Math.min(Math.max(x, lo), hi);

function hav(theta: number): number {
  const s = Math.sin(theta / 2);
  return s * s;
}

/** @differentiable */
export function haversine(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const a = hav(toRad(lat2 - lat1)) + Math.cos(toRad(lat1)) * Math.cos(toRad(lat2)) * hav(toRad(lon2 - lon1));
  return 2 * 6371 * Math.asin(Math.sqrt(clamp(a, 0, 1)));
}
`;

describe("unmarked helpers of the same module", () => {
  it("are differentiated where a marked function calls them, through helpers calling helpers", async () => {
    const { module: m } = await compile(geo);
    checkEveryApi(m.haversine, [39.984, -75.343, 39.123, -75.534]);
    checkEveryApi(m.haversine, [-12.5, 130.8, 51.5, -0.12]);
  });

  it("in loops and branches, with arrays passed to them", async () => {
    const { module: m } = await compile(`
function dot(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
const softplus = (z: number) => (z > 20 ? z : Math.log1p(Math.exp(z)));

/** @differentiable */
export function loss(w: number[], xs: number[], ys: number[], k: number): number {
  let total = 0;
  for (let i = 0; i < ys.length; i++) {
    const margin = ys[i] * k * dot(w, w) * xs[i];
    total += i % 2 === 0 ? softplus(-margin) : softplus(margin) / 2;
  }
  return total + dot(w, xs);
}
`);
    checkEveryApi(m.loss, [[0.3, -0.2, 0.5], [1.5, -0.5, 2], [1, -1, 1], 0.7]);
  });

  it("only what callers use is generated: no vjp pair, no registration, nothing for a helper read in a condition", async () => {
    const { js, module: m } = await compile(`
function toRad(value: number): number { return (value * Math.PI) / 180; }
function steps(v: number): number { return Math.floor(v * 4); }

/** @differentiable */
export function f(x: number): number {
  return steps(x) > 2 ? Math.sin(toRad(x)) : x;
}
`);
    expect(js).toMatch(/function toRad_grad\(/);
    expect(js).not.toMatch(/export function toRad_grad/);
    expect(js).not.toMatch(/toRad_forward|toRad_backward|registerGradient\(toRad/);
    expect(js).not.toMatch(/steps_grad/);
    checkEveryApi(m.f, [12]);
    checkEveryApi(m.f, [0.2]);
  });

  it("generated code type-checks under strict settings with no unused names", () => {
    expect(genStrictErrors(geo, "helpers", { noUnusedLocals: true, noUnusedParameters: true })).toEqual([]);
  });

  it("a helper tsgrad cannot differentiate is refused at the call that needs its gradient, saying why", () => {
    const errors = tsgradErrors(`
function round3(a: number): number {
  return Number(a.toFixed(3));
}
/** @differentiable */
export function f(x: number): number {
  const k = round3(x) > 1 ? 2 : 3;
  return round3(x) * k;
}
`);
    // The condition's call needs no gradient; the product's does. Nothing is reported inside round3.
    expect(errors.map((e) => [e.code, e.text, e.line])).toEqual([[94006, "round3(x)", 8]]);
    expect(errors[0].message).toMatch(
      /a gradient flows through `round3\(x\)`, and tsgrad cannot differentiate `round3`: /,
    );
    expect(errors[0].message).toMatch(/give it a derivative of its own/);
  });

  it("grad of an unmarked helper still asks for the tag", () => {
    const errors = tsgradErrors(`
import { grad } from "tsgrad";
function toRad(value: number): number { return (value * Math.PI) / 180; }
/** @differentiable */
export function f(x: number): number { return Math.sin(toRad(x)); }
export const g = grad(toRad);
`);
    expect(errors.map((e) => [e.code, e.text])).toEqual([[94007, "toRad"]]);
  });

  it("an unmarked function of another module is not differentiated: mark it there", async () => {
    const { diagnostics } = emitProject({
      "lib.ts": `export function toRad(value: number): number { return (value * Math.PI) / 180; }\n`,
      "main.ts": `import { toRad } from "./lib.js";\n/** @differentiable */\nexport function f(x: number): number { return Math.sin(toRad(x)); }\n`,
    });
    const codes = diagnostics.filter((d) => d.code >= 94000).map((d) => d.code);
    expect(codes).toEqual([94006]);
    // Marked there, it is taken.
    const { module: m } = await compileProject(
      {
        "lib.ts": `/** @differentiable */\nexport function toRad(value: number): number { return (value * Math.PI) / 180; }\n`,
        "main.ts": `import { toRad } from "./lib.js";\n/** @differentiable */\nexport function f(x: number): number { return Math.sin(toRad(x)); }\n`,
      },
      "main.ts",
    );
    checkEveryApi(m.f, [30]);
  });
});

describe("helpers declared inside the function", () => {
  it("are inlined where called: arrows, blocks, hoisted function declarations, helpers calling helpers", async () => {
    const { module: m, js } = await compile(`
/** @differentiable */
export function haversine(from: readonly number[], to: readonly number[], k: number): number {
  const degreesToRadians = (degrees: number) => ((degrees % 360) * Math.PI) / 180;
  const hav = (theta: number) => {
    const s = Math.sin(theta / 2);
    return s * s * k;
  };
  let total = 0;
  for (let i = 0; i < 2; i++) {
    const a = hav(degreesToRadians(to[i] - from[i])) + scaled(from[i]);
    total += i === 0 ? a : Math.sqrt(a * a + 1);
  }
  return total;
  function scaled(v: number): number {
    return degreesToRadians(v) * k;
  }
}
`);
    checkEveryApi(m.haversine, [[39.984, -75.343], [39.123, -75.534], 1.5], { tol: 1e-5 });
    // No function is made at run time: dLat's lines are the helper's body, named after its parameter.
    expect(bodyOf(js, "haversine_grad")).not.toMatch(/=>/);
  });

  it("a helper handed on as a value, assigning outside itself, or calling itself is refused at the node", () => {
    const codes = (body: string) =>
      tsgradErrors(`/** @differentiable */\nexport function f(x: number, xs: number[]): number {\n${body}\n}\n`).map(
        (e) => [e.code, e.text],
      );
    expect(
      codes("  const sq = (v: number) => v * v;\n  return xs.reduce((s, v) => s + v, 0) + apply(sq, x);"),
    ).toContainEqual([94010, "sq"]);
    expect(codes("  let n = 0;\n  const bump = (v: number) => (n += v);\n  return bump(x) + n;")[0]).toEqual([
      94003,
      "n += v",
    ]);
    const self = tsgradErrors(
      "/** @differentiable */\nexport function f(x: number): number {\n  function down(v: number): number { return v > 1 ? down(v / 2) : v; }\n  return down(x);\n}\n",
    );
    expect(self.map((e) => [e.code, e.text])).toEqual([[94010, "down(v / 2)"]]);
    expect(self[0].message).toMatch(/calls itself/);
  });
});
