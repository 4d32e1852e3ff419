// Arrays passed to @differentiable functions of another module: an exported function taking arrays
// exports its pullback of every parameter (`dot_pullback`), which callers elsewhere import and call
// as they import `dot_grad` for numbers, passing the runtime's `discarded(n)` for arrays needing no
// gradient. Values and gradients are checked against central differences through every API (grad,
// vjp, valueAndGrad, gradInto), under ES modules and CommonJS; the refusals say what to do.

import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { GEN_TSCONFIG, emitProject, root } from "./harness.js";
import { checkEveryApi, checkGenerated, expectFd, runtime } from "./oracles.js";

const require = createRequire(import.meta.url);

const errorsOf = (diagnostics: readonly ts.Diagnostic[]) =>
  diagnostics
    .filter((d) => d.category === ts.DiagnosticCategory.Error)
    .map((d) => ({
      code: d.code,
      at: d.file && d.start !== undefined ? d.file.text.slice(d.start, d.start + (d.length ?? 0)) : "",
      message: ts.flattenDiagnosticMessageText(d.messageText, "\n"),
    }));

// Vector helpers of their own module: numbers and arrays in, a number out.
const linalg = `/** @differentiable */
export function dot(a: readonly number[], b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** @differentiable */
export function norm(x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

/** A number gradient handed back through unboxed[1], unboxed[2]. */
/** @differentiable */
export function scaledDistance(a: readonly number[], b: readonly number[], k: number, p = 2): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]) ** p;
  return k * s ** (1 / p);
}

/** The same module calls dot with every gradient needed: the exported dot_pullback serves it too. */
/** @differentiable */
export function cosine(a: readonly number[], b: readonly number[]): number {
  return dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
}
`;

// Calls them in a loop, by name, through a namespace and a re-export, with data arrays too.
const model = (ext: string) => `import { dot, norm } from "./linalg${ext}";
import * as L from "./linalg${ext}";
import { scaledDistance as dist } from "./reexport${ext}";

const WEIGHTS = [0.5, -1.25, 2];

/** @differentiable */
export function loss(w: Float64Array, X: number[][], y: number[], k: number): number {
  let total = 0;
  for (let i = 0; i < X.length; i++) {
    const r = dot(X[i], w) - y[i];
    total += r * r;
  }
  return total / X.length + k * norm(w) + 0.1 * L.dot(WEIGHTS, w) + dist(WEIGHTS, y, k * 0.5);
}

/** @differentiable */
export function pairs(a: number[], b: number[], k: number): number {
  return L.cosine(a, b) * k + dist(a, b, k, 3);
}
`;
const reexport = (ext: string) => `export { scaledDistance, dot } from "./linalg${ext}";\n`;

const X = [
  [1, 2, -0.5],
  [0.3, -1, 2],
  [2, 0.25, 1],
  [-1, 1.5, 0.5],
];
const point = () => [new Float64Array([0.4, -0.7, 1.1]), X.map((r) => [...r]), [1.5, -0.5, 2, 0.25], 0.8];

function esm(files: Record<string, string>) {
  const { dir, diagnostics, outputs } = emitProject(files);
  expect(errorsOf(diagnostics)).toEqual([]);
  const js = (name: string) => outputs.get(join(dir, name))!;
  const load = (name: string) => import(pathToFileURL(join(dir, name)).href);
  return { js, load };
}

describe("arrays passed to an imported @differentiable function", () => {
  it("dot and norm called in a loop, by name, through a namespace and a re-export; rows and tables", async () => {
    const { js, load } = esm({ "linalg.ts": linalg, "reexport.ts": reexport(".js"), "model.ts": model(".js") });
    const m = await load("model.js");
    checkEveryApi(m.loss, point());
    checkEveryApi(m.pairs, [[0.5, -1, 2], [1.5, 0.25, -0.75], 1.3]);
    const main = js("model.js");
    // The pullbacks, imported from the declaring module (not the re-export), renamed as the user's import.
    expect(main).toMatch(
      /import \{ dot_pullback, norm_pullback, scaledDistance_pullback as dist_pullback \} from "\.\/linalg\.js";/,
    );
    expect(main).toContain("L.dot_pullback(WEIGHTS, w, discarded(WEIGHTS.length), dw);");
    // dX's rows and y are not asked for (X and y are parameters): grad gives them, the sink is for the table.
    expect(main).not.toMatch(/dot_grad|norm_grad/);
    // The callee's module: one exported dot_pullback, for its own cosine too.
    const lib = js("linalg.js");
    expect(lib.match(/function dot_pullback\(/g)).toHaveLength(1);
    expect(lib).toMatch(/^export function dot_pullback\(a, b, da, db\)/m);
    expect(lib).toMatch(/^export function scaledDistance_pullback\(a, b, k, p = 2, da, db\)/m);
    const linalgModule = await load("linalg.js");
    checkEveryApi(linalgModule.cosine, [
      [0.5, -1, 2],
      [1.5, 0.25, -0.75],
    ]);
  });

  it("a data array and a parameter outside wrt get the runtime's discarded(n), never read", async () => {
    const { js, load } = esm({
      "linalg.ts": linalg,
      "fit.ts": `import { grad } from "tsgrad";
import { dot, scaledDistance } from "./linalg.js";
/** @differentiable */
export function fit(w: number[], xs: readonly number[], k: number): number {
  const data = [0.5, 1.5, 2.5];
  return dot(xs, w) ** 2 + scaledDistance(data, xs, k) + dot(data, xs);
}
export const wOnly = (w: number[], xs: number[], k: number) => grad(fit, { wrt: [0] })(w, xs, k);
`,
    });
    const m = await load("fit.js");
    const args = [[0.3, -0.2, 0.9], [1, 2, -1], 1.7];
    const g = checkEveryApi(m.fit, args);
    // With wrt [0], xs's gradient goes to the sink: the same dw, nothing else.
    const w = m.wOnly(...args);
    expect(Array.from(w[0])).toEqual(Array.from(g[0]));
    expect(js("fit.js")).toContain("discarded(data.length)");
    expect(js("fit.js")).toMatch(/discarded\(xs\.length\)/);
    // The sink is one array, grown to the longest length asked for, shared.
    expect(runtime.discarded(2)).toBe(runtime.discarded(1));
    expect(runtime.discarded(1000).length).toBeGreaterThanOrEqual(1000);
  });

  it("a chain across three modules: a calls b calls c, arrays passed at each step", async () => {
    const { load } = esm({
      "c.ts": `/** @differentiable */
export function sumSquares(xs: ArrayLike<number>, scale: number): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += scale * xs[i] * xs[i];
  return s;
}
`,
      "b.ts": `import { sumSquares } from "./c.js";
/** @differentiable */
export function energy(xs: Float64Array, k: number): number {
  let e = 0;
  for (let t = 0; t < 3; t++) e += Math.sin(k * t) * sumSquares(xs, k + t);
  return e + xs[0] * k;
}
`,
      "a.ts": `import { energy } from "./b.js";
/** @differentiable */
export function total(x: Float64Array, y: Float64Array, k: number): number {
  return energy(x, k) * energy(y, 2 * k) + energy(x, 0.5);
}
`,
    });
    const a = await load("a.js");
    checkEveryApi(a.total, [new Float64Array([0.2, -0.4, 0.9]), new Float64Array([1.1, 0.3]), 0.7]);
    expect(typeof (await load("b.js")).energy_pullback).toBe("function");
  });
});

describe("CommonJS output", () => {
  it("module nodenext, .cts files: the pullbacks are required and read from the module object", () => {
    const { dir, diagnostics, outputs } = emitProject(
      { "linalg.cts": linalg, "reexport.cts": reexport(".cjs"), "model.cts": model(".cjs") },
      { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext },
    );
    expect(errorsOf(diagnostics)).toEqual([]);
    const js = outputs.get(join(dir, "model.cjs"))!;
    expect(js).toMatch(/^const linalg_module = require\("\.\/linalg\.cjs"\);$/m);
    expect(js).toMatch(/linalg_module\.dot_pullback\(/);
    expect(js).toMatch(/const \{[^}]*discarded[^}]*\} = require\("tsgrad"\);/);
    expect(outputs.get(join(dir, "linalg.cjs"))).toMatch(/^exports\.dot_pullback = dot_pullback;$/m);
    // (required, the modules register with the runtime's CommonJS build: their own functions are checked)
    const m = require(join(dir, "model.cjs"));
    expectFd(m.loss, point(), m.loss_grad(...point()));
    checkGenerated(m, "pairs", [[0.5, -1, 2], [1.5, 0.25, -0.75], 1.3]);
  });
});

describe("refused, at the argument", () => {
  const refusals = (files: Record<string, string>) => errorsOf(emitProject(files).diagnostics);
  const caller = (from: string, call = "dot(xs, w)") => `import { dot } from "${from}";
/** @differentiable */
export function f(xs: number[], w: number[]): number { return ${call} * 2; }
`;

  it("a callee its module does not export where it declares it", () => {
    const errors = refusals({
      "lib.ts": `/** @differentiable */\nfunction dot(a: number[], b: number[]): number { return a[0] * b[0]; }\nexport { dot };\n`,
      "main.ts": caller("./lib.js"),
    });
    expect(errors.map((e) => e.at)).toEqual(["xs", "w"]);
    expect(errors).toContainEqual({
      code: 94003,
      at: "xs",
      message:
        "tsgrad: the array `xs` is passed to `dot`, a @differentiable function of another module that `lib.ts` does not export where it declares it: such a function has no pullback tsgrad can call; write `export` on its declaration (`export function dot`)",
    });
  });

  it("a callee in a module tsgrad does not compile (a package)", () => {
    const errors = refusals({
      "node_modules/linalg/index.ts": linalg,
      "main.ts": caller("./node_modules/linalg/index.js"),
    });
    expect(errors.map((e) => [e.code, e.at])).toContainEqual([94003, "xs"]);
    expect(errors.map((e) => e.message).join("\n")).toContain(
      "declared in `index.ts`, which tsgrad does not compile (a declaration file or a package)",
    );
  });

  it("a callee taking an object", () => {
    const errors = refusals({
      "lib.ts": `/** @differentiable */\nexport function dot(a: number[], m: { k: number }): number { return a[0] * m.k; }\n`,
      "main.ts": `import { dot } from "./lib.js";\n/** @differentiable */\nexport function f(xs: number[], k: number): number { return dot(xs, { k }); }\n`,
    });
    expect(errors.map((e) => [e.code, e.at])).toContainEqual([94003, "xs"]);
    expect(errors.map((e) => e.message).join("\n")).toContain("taking objects, matrices, rows or rest parameters");
  });

  it("a namespace of a module re-exporting it renamed: import it by name", () => {
    const errors = refusals({
      "lib.ts": linalg,
      "index.ts": `export { dot as inner } from "./lib.js";\n`,
      "main.ts": `import * as N from "./index.js";\n/** @differentiable */\nexport function f(xs: number[], w: number[]): number { return N.inner(xs, w); }\n`,
    });
    expect(errors.map((e) => [e.code, e.at])).toEqual([[94003, "xs"]]);
    expect(errors[0].message).toContain(
      'import the function by name from its module (`import { dot } from "./linalg.js"`)',
    );
  });

  it("a callee whose pullback tsgrad cannot build (256 numbers), and a refused callee", () => {
    const params = Array.from({ length: 256 }, (_, i) => `p${i}: number`).join(", ");
    const many = refusals({
      "lib.ts": `/** @differentiable */\nexport function big(a: readonly number[], ${params}): number { return a[0] * p0 * p255; }\n`,
      "main.ts": `import { big } from "./lib.js";\n/** @differentiable */\nexport function f(xs: number[], k: number): number { return big(xs, ${Array(256).fill("k").join(", ")}); }\n`,
    });
    expect(many).toEqual([
      {
        code: 94003,
        at: "xs",
        message:
          "tsgrad: the array `xs` is passed to `big` of another module, whose pullback tsgrad cannot build: `big` is given arrays by a caller and has more than 255 number parameters to give gradients for: its backward pass hands those back in 255 slots; pass the numbers in an array (lib.ts:2); change `big` as that says, or pass it the numbers it needs",
      },
    ]);
    const refused = refusals({
      "lib.ts": `/** @differentiable */\nexport function dot(a: number[], b: number[]): number {\n  for (const k in {}) {}\n  return a[0] * b[0];\n}\n`,
      "main.ts": caller("./lib.js"),
    });
    expect(refused).toContainEqual({
      code: 94006,
      at: "dot",
      message:
        "tsgrad: `dot` has no gradient: tsgrad refused it (lib.ts:2; see the error there), and this call would need it; fix `dot` first",
    });
  });
});

describe("tsgrad gen", () => {
  it("writes plain TypeScript importing the pullback, which plain tsc compiles into correct gradients", async () => {
    const dir = join(root, ".tsgrad-tmp/cli-test/gen-imported");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, "src"), { recursive: true });
    writeFileSync(join(dir, "src/linalg.ts"), linalg);
    writeFileSync(join(dir, "src/reexport.ts"), reexport(".js"));
    writeFileSync(join(dir, "src/model.ts"), model(".js"));
    const cli = join(root, "dist/transformer/hosts/cli.js");
    const r = spawnSync(process.execPath, [cli, "gen", "src", "--out", "out"], { cwd: dir, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, "out/model.ts"), "utf8")).toMatch(
      /import \{ dot_pullback, norm_pullback, scaledDistance_pullback as dist_pullback \} from "\.\/linalg\.js"/,
    );
    writeFileSync(join(dir, "out/tsconfig.json"), GEN_TSCONFIG);
    const tsc = spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(dir, "out")], {
      encoding: "utf8",
    });
    expect(tsc.stdout + tsc.stderr).toBe("");
    const m = await import(pathToFileURL(join(dir, "js/model.js")).href);
    checkEveryApi(m.loss, point());
  });
});
