// Module formats of the tsc plugin's output (transformer/module-format.ts): CommonJS output works as ES
// modules do (generated code's own imports become requires; its references to the user's imports
// are rewritten by tsc like the user's own), AMD/UMD/System are refused with a diagnostic, and a
// refused function's grad(f) is left to the runtime's explanation instead of a missing f_grad.
// test/pack.test.ts does the same end to end, in installed projects.

import { createRequire } from "node:module";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { compileToJs, emitProject, expectClose, numericGradient } from "./harness.js";

const require = createRequire(import.meta.url);

const errorsOf = (diagnostics: ts.Diagnostic[]) =>
  diagnostics
    .filter((d) => d.category === ts.DiagnosticCategory.Error)
    .map((d) => `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);

// A helper module: a @differentiable function, a constant, and a derivative for a plain function.
const helpers = `export const TWO = 2;
/** @differentiable */
export function square(v: number): number { return v * v; }
export function softplus(x: number): number { return Math.log1p(Math.exp(x)); }
/** @derivative softplus */
export function softplusDerivative(x: number, y: number, dy: number): [number] { return [dy / (1 + Math.exp(-x))]; }
`;
// Uses them by name and through a namespace, imports a runtime name generated code also needs
// (saved), and has a loop (which saves values) and a class method (registered in a static block).
const main = (ext: string) => `import { grad, vjp, saved, differentiable } from "tsgrad";
import { TWO, square, softplus } from "./helpers${ext}";
import * as h from "./helpers${ext}";

/** @differentiable */
export function f(x: number, y: number): number {
  let s = 0;
  for (let i = 0; i < 3; i++) s = s * y + square(x) * TWO;
  return s + h.square(y) * h.TWO + softplus(x * y);
}
export class Model {
  @differentiable
  static energy(x: number, y: number): number { return square(x) * y + softplus(y); }
}
export const f_plain = (x: number, y: number) => { let s = 0; for (let i = 0; i < 3; i++) s = s * y + 2 * x * x; return s + 2 * y * y + Math.log1p(Math.exp(x * y)); };
export const energy_plain = (x: number, y: number) => x * x * y + Math.log1p(Math.exp(y));
export const results = () => ({ f: grad(f)(0.7, -1.3), fVjp: vjp(f)(0.7, -1.3).backward(1), energy: grad(Model.energy)(0.7, -1.3), stack: saved.size });
`;

function expectGradients(m: any): void {
  const r = m.results();
  expectClose(r.f, numericGradient(m.f_plain, [0.7, -1.3]));
  expectClose(r.fVjp, r.f, 1e-15);
  expectClose(r.energy, numericGradient(m.energy_plain, [0.7, -1.3]));
  expect(r.stack).toBe(0);
}

describe("CommonJS output", () => {
  it("module nodenext, .cts files: generated imports are requires, imported names are rewritten by tsc", () => {
    const { dir, diagnostics, outputs } = emitProject(
      { "helpers.cts": helpers, "main.cts": main(".cjs") },
      { module: ts.ModuleKind.NodeNext, experimentalDecorators: false },
    );
    expect(errorsOf(diagnostics)).toEqual([]);
    const js = outputs.get(join(dir, "main.cjs"))!;
    // Its own require (tsc's for the user's `saved` is helpers_1-style and unusable by generated code).
    expect(js).toMatch(/const \{ [^}]*saved: saved_2[^}]*registerGradient[^}]*\} = require\("tsgrad"\);/);
    // The user's module as an object, read at each use (a cycle of requires finds it complete by then).
    expect(js).toMatch(/^const helpers_module = require\("\.\/helpers\.cjs"\);$/m);
    expect(js).toMatch(/function f_grad[\s\S]*= helpers_module\.square_grad\(x\);/);
    // f_grad's forward pass calls the helper as tsc rewrote the user's call.
    expect(js).toMatch(/function f_grad[\s\S]*\(0, helpers_cjs_1\.square\)\(x\)/);
    expect(outputs.get(join(dir, "helpers.cjs"))).toMatch(/^exports\.square_grad = square_grad;$/m);
    expectGradients(require(join(dir, "main.cjs")));
  });

  it('"module": "commonjs" in a package of type commonjs', () => {
    const { dir, diagnostics } = emitProject(
      { "package.json": JSON.stringify({ type: "commonjs" }), "helpers.ts": helpers, "main.ts": main("") },
      { module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Bundler },
    );
    expect(errorsOf(diagnostics)).toEqual([]);
    expectGradients(require(join(dir, "main.js")));
  });

  it("ES module output is unchanged: imports, not requires", () => {
    const { js } = compileToJs(
      `/** @differentiable */\nexport function f(x: number, y: number): number {\n  let s = 0;\n  for (let i = 0; i < 3; i++) s = s * y + x;\n  return s;\n}\n`,
    );
    expect(js).toMatch(/^import \{ [^}]*registerGradient[^}]*\} from "tsgrad";$/m);
    expect(js).not.toMatch(/require\(/);
  });
});

describe("CommonJS: names generated code shares with the file's imports", () => {
  const cjs = (files: Record<string, string>, entry: string) => {
    const { dir, diagnostics } = emitProject(files, { module: ts.ModuleKind.NodeNext });
    expect(errorsOf(diagnostics)).toEqual([]);
    return require(join(dir, entry));
  };
  it("a temporary, a parameter or a local named like an import is the function's own, not the import", () => {
    const m = cjs(
      {
        "c.cts": "export const scale = 10;\nexport const dy = 5;\nexport const K = 7;\n",
        "main.cts": `import { grad, sum, type Matrix } from "tsgrad";
import { scale, dy, K } from "./c.cjs";
/** @differentiable */
export function total(W: Matrix): number { return sum(W) * scale * dy; }
/** @differentiable */
export function f(x: number, y: number): number { return Math.sin(x * y + Math.exp(x)) * x; }
/** @differentiable */
export function g(scale: number, y: number): number { return scale * y; }
/** @differentiable */
export function h(x: number): number { const K = x * 2; return K * x; }
export const grads = () => ({ f: grad(f)(0.5, 0.25), g: grad(g)(2, 3), h: grad(h)(3) });
`,
      },
      "main.cjs",
    );
    const r = m.grads();
    expectClose(r.f, numericGradient(m.f, [0.5, 0.25]));
    expect(r.g).toEqual([3, 2]);
    expect(r.h).toEqual([12]);
  });

  it("a cycle of requires: a derivative from a module still loading is read when called", () => {
    const m = cjs(
      {
        "a.cts": `import { useIt } from "./b.cjs";
export function soft(x: number): number { return Math.log1p(Math.exp(x)); }
/** @derivative soft */
export const softD = (x: number, y: number, dy: number): [number] => [dy / (1 + Math.exp(-x))];
export const viaB = (x: number) => useIt(x);
`,
        "b.cts": `import { grad } from "tsgrad";
import { soft } from "./a.cjs";
/** @differentiable */
export function useIt(x: number): number { return 2 * soft(x); }
export const gradUseIt = (x: number) => grad(useIt)(x);
`,
        "main.cts": `import "./a.cjs";\nexport { gradUseIt } from "./b.cjs";\n`,
      },
      "main.cjs",
    );
    expect(m.gradUseIt(0.3)[0]).toBeCloseTo(2 / (1 + Math.exp(-0.3)), 15);
  });
});

describe("imports the user wrote that generated code would reuse", () => {
  const sources = (ext: string) => ({
    [`d.${ext}ts`]: `export function softplus(x: number): number { return Math.log1p(Math.exp(x)); }
/** @derivative softplus */
export function softplusD(x: number, y: number, dy: number): [number] { return [dy / (1 + Math.exp(-x))]; }
`,
    [`main.${ext}ts`]: `import { grad, registerGradient } from "tsgrad";
import { softplus } from "./d.${ext}js";
import { softplusD } from "./d.${ext}js"; // only for its tag: tsc drops this import
/** @differentiable */
export function f(x: number): number { return 3 * softplus(x); }
export const grads = () => grad(f)(0.4);
export const registered = typeof registerGradient;
`,
  });
  for (const [format, ext, load] of [
    ["ES modules", "m", (p: string) => import(p)],
    ["CommonJS", "c", async (p: string) => require(p)],
  ] as const) {
    it(`${format}: registerGradient imported by the file, and a derivative imported only for its tag`, async () => {
      const { dir, diagnostics } = emitProject(sources(ext), { module: ts.ModuleKind.NodeNext });
      expect(errorsOf(diagnostics)).toEqual([]);
      const m = await load(join(dir, `main.${ext}js`));
      expect(m.grads()[0]).toBeCloseTo(3 / (1 + Math.exp(-0.4)), 15);
    });
  }
});

describe("callees reached through a re-export or a default export", () => {
  const sources = (ext: string) => ({
    [`helpers.${ext}ts`]: "/** @differentiable */\nexport function square(v: number): number { return v * v; }\n",
    [`cube.${ext}ts`]:
      "/** @differentiable */\nexport default function cube(v: number): number { return v * v * v; }\n",
    [`index.${ext}ts`]: `export { square as sqr } from "./helpers.${ext}js";\nexport { default as theCube } from "./cube.${ext}js";\n`,
    [`main.${ext}ts`]: `import { grad } from "tsgrad";
import { sqr, theCube } from "./index.${ext}js";
import * as C from "./cube.${ext}js";
/** @differentiable */
export function f(x: number): number { return sqr(x) + theCube(x) + C.default(x); }
export const grads = () => grad(f)(2);
`,
  });
  for (const [format, ext, load] of [
    ["ES modules", "m", (p: string) => import(p)],
    ["CommonJS", "c", async (p: string) => require(p)],
  ] as const) {
    it(`${format}: export { square as sqr }, export { default as theCube }, C.default(x)`, async () => {
      const { dir, diagnostics, outputs } = emitProject(sources(ext), { module: ts.ModuleKind.NodeNext });
      expect(errorsOf(diagnostics)).toEqual([]);
      expect(outputs.get(join(dir, `main.${ext}js`))).toMatch(
        ext === "m"
          ? /import \{ square_grad as sqr_grad \} from "\.\/helpers\.mjs";/
          : /helpers_module = require\("\.\/helpers\.cjs"\)/,
      );
      const m = await load(join(dir, `main.${ext}js`));
      expect(m.grads()).toEqual([2 * 2 + 3 * 4 + 3 * 4]);
    });
  }
});

describe("unsupported module formats", () => {
  for (const [kind, name] of [
    [ts.ModuleKind.AMD, "amd"],
    [ts.ModuleKind.UMD, "umd"],
    [ts.ModuleKind.System, "system"],
  ] as const) {
    it(`"module": "${name}" is refused at each @differentiable function, saying what works`, () => {
      const { diagnostics } = emitProject(
        { "a.ts": `/** @differentiable */\nexport function f(x: number): number { return x * x; }\n` },
        { module: kind, moduleResolution: ts.ModuleResolutionKind.Bundler },
      );
      const refusals = errorsOf(diagnostics).filter((e) => e.startsWith("TS94015"));
      expect(refusals).toEqual([
        `TS94015: tsgrad: the tsc plugin cannot emit gradients for "module": "${name}"; set "module" to "nodenext", "esnext" or "commonjs" in tsconfig.json`,
      ]);
    });
  }
});

describe("a refused function", () => {
  it("refuses a call in another module that would need its gradient, instead of importing a missing bad_grad", () => {
    const { diagnostics, outputs, dir } = emitProject(
      {
        "lib.ts": `/** @differentiable */\nexport function bad(x: number): number { for (const k in {}) {} return x; }\n`,
        "main.ts": `import { bad } from "./lib.js";\n/** @differentiable */\nexport function user(x: number): number { return 2 * bad(x); }\n`,
      },
      {},
    );
    expect(errorsOf(diagnostics)).toContain(
      "TS94006: tsgrad: `bad` has no gradient: tsgrad refused it (lib.ts:2; see the error there), and this call would need it; fix `bad` first",
    );
    expect(outputs.get(join(dir, "main.js"))).not.toContain("bad_grad");
  });

  it("keeps its grad(f) call for the runtime to explain, instead of a reference to a missing f_grad", async () => {
    const { diagnostics, js, file } = compileToJs(`import { grad } from "tsgrad";
/** @differentiable */
export function bad(x: number): number {
  for (const k in { a: 1 }) x += 1;
  return x;
}
export const tryIt = () => grad(bad)(1);
`);
    expect(errorsOf(diagnostics).some((e) => e.startsWith("TS94002") || e.startsWith("TS94001"))).toBe(true);
    expect(js).not.toContain("bad_grad");
    const m = await import(file);
    expect(() => m.tryIt()).toThrow(/tsgrad: grad\(bad\) has no gradient/);
  });
});
