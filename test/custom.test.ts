// Custom derivatives (`@derivative f`) and stopGradient: the backward pass calls the user's
// derivative in place of differentiating f, across modules and in loops; stopGradient cuts flow.
// Then the hard cases: derivatives of 0 to 3 parameters, in frames and branches, re-entrant, in
// folders and across modules, every shape a derivative can get wrong, and stopGradient in loops.

import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { transformToText } from "../transformer/text.js";
import {
  checkWithStack,
  compile,
  compileProject,
  compileToJs,
  compilerOptions,
  createProgram,
  emitProject,
  expectClose,
  numericGradient,
  root,
} from "./harness.js";

const LIB = `
/** log(1 + exp(x)); for large x the naive derivative exp(x) / (1 + exp(x)) would be Infinity / Infinity. */
export function softplus(x: number): number {
  return x > 30 ? x : Math.log1p(Math.exp(x));
}

/** @derivative softplus */
export function softplusDerivative(x: number, y: number, dy: number): [number] {
  return [dy / (1 + Math.exp(-x))];
}
`;

describe("custom derivatives", () => {
  it("are called by the backward pass, for a function of another module, inside a loop", async () => {
    const { module: m, js } = await compileProject(
      {
        "lib.ts": LIB,
        "main.ts": `import { softplus } from "./lib.js";
/** @differentiable */
export function loss(w: number, b: number): number {
  let s = 0;
  for (let i = 0; i < 3; i++) s += softplus(w * i + b);
  return s;
}`,
      },
      "main.ts",
    );
    expect(js).toMatch(/import \{[^}]*softplusDerivative[^}]*\} from "\.\/lib\.js"/);
    expect(js).toContain("softplusDerivative(");
    for (const args of [
      [0.3, -0.2],
      [2, 1],
    ]) {
      expectClose(m.loss_grad(...args), numericGradient(m.loss, args));
      const { cache } = m.loss_forward(...args);
      expect(m.loss_backward(cache, 1)).toEqual(m.loss_grad(...args));
    }
    // Where the naive formula overflows, the user's derivative stays finite: d/db = sum of sigmoids = 3.
    expect(m.loss_grad(0, 800)).toEqual([3, 3]);
  });

  it("take precedence over differentiating a @differentiable function, and receive y and dy", async () => {
    const { module: m } = await compile(`
/** @differentiable */
export function cube(x: number): number {
  return x * x * x;
}
export const seen: number[] = [];
/** @derivative cube */
export function cubeDerivative(x: number, y: number, dy: number): [number] {
  seen.push(x, y, dy);
  return [3 * x * x * dy];
}
/** @differentiable */
export function f(x: number): number {
  return 2 * cube(x + 1);
}`);
    expect(m.f_grad(1)).toEqual([24]);
    expect(m.seen).toEqual([2, 8, 2]);
  });

  it("a derivative with the wrong number of parameters, or of an unknown function, is an error at its name", () => {
    const { diagnostics } = compileToJs(`
export function g(x: number, y: number): number { return x * y; }
/** @derivative g */
export function gDerivative(x: number, dy: number): [number, number] { return [dy, dy]; }
/** @derivative nowhere */
export function lost(x: number, y: number, dy: number): [number] { return [dy]; }
`);
    const ours = diagnostics.filter((d) => d.code === 94013);
    expect(ours.map((d) => d.file!.text.slice(d.start!, d.start! + d.length!))).toEqual(["gDerivative", "lost"]);
    expect(String(ours[0].messageText)).toMatch(
      /its 2 argument\(s\), its value and the gradient on its value \(4 parameters\)/,
    );
    expect(String(ours[1].messageText)).toMatch(/no function named `nowhere`/);
  });
});

describe("custom derivatives of a function's own gradient, and in other forms", () => {
  it("grad(f) of a function with its own derivative is that derivative (the README's straight-through quantize)", async () => {
    const { module: m } = await compile(`
import { grad, valueAndGrad } from "tsgrad";
/** @differentiable */
export function quantize(x: number): number { return Math.round(x * 4) / 4; }
/** @derivative quantize */
export function quantizeDerivative(x: number, y: number, dy: number): [number] { return [dy]; }
/** @differentiable */
export function loss(x: number): number { return quantize(x) * quantize(x); }
export const direct = (x: number) => grad(quantize)(x);
export const both = (x: number) => valueAndGrad(quantize)(x);`);
    expect(m.direct(0.7)).toEqual([1]); // the body's gradient would be 0
    expect(m.both(0.7)).toEqual({ value: 0.75, grad: [1] });
    const { value, cache } = m.quantize_forward(0.7);
    expect(value).toBe(0.75);
    expect(m.quantize_backward(cache, 3)).toEqual([3]);
    // Hand, straight through: d/dx q(x)² = 2 q(x).
    expect(m.loss_grad(0.7)).toEqual([1.5]);
  });

  it("a derivative may be a const holding an arrow function, in another module too", async () => {
    const { module: m, js } = await compileProject(
      {
        "lib.ts": `export function softplus(x: number): number { return x > 30 ? x : Math.log1p(Math.exp(x)); }
/** @derivative softplus */
export const softplusDerivative = (x: number, y: number, dy: number): [number] => [dy / (1 + Math.exp(-x))];`,
        "main.ts": `import { softplus } from "./lib.js";
/** @differentiable */
export function f(w: number, b: number): number { return softplus(w * b) + b; }`,
      },
      "main.ts",
    );
    expect(js).toContain(`import { softplusDerivative } from "./lib.js";`);
    for (const args of [
      [0.3, -0.2],
      [2, 1],
    ])
      expectClose(m.f_grad(...args), numericGradient(m.f, args));
    expect(m.f_grad(1, 800)).toEqual([800, 2]); // sigmoid(800) = 1, where exp(800) / (1 + exp(800)) is NaN
  });

  it("a call's result used on some paths only: the derivative reads a gradient declared before the branch", async () => {
    // The derivative's call comes after the branch that adds into du and reads it; du was declared
    // inside the branch (ReferenceError: du is not defined). Same cause as recursive calls'
    // g_backward(cache, du), tested in test/recursion.test.ts.
    const { module: m } = await compile(`
export function sp(x: number): number { return Math.log1p(Math.exp(x)); }
/** @derivative sp */
export function spD(x: number, y: number, dy: number): [number] { return [dy / (1 + Math.exp(-x))]; }
/** @differentiable */
export function f(x: number): number {
  const u = sp(x * 0.5);
  return x > 1 ? u * x : x;
}
/** @differentiable */
export function g(x: number, y: number): number {
  let s = y;
  for (let i = 0; i < 3; i++) {
    const u = sp(s * x);
    if (u > 1.2) break;
    s += u * y;
  }
  return s;
}`);
    const sigmoid = (t: number) => 1 / (1 + Math.exp(-t));
    // f = x sp(x / 2) for x > 1, f' = sp(x / 2) + x σ(x / 2) / 2; else f' = 1.
    for (const x of [3, 1.4, 0.6, -2]) {
      const df = x > 1 ? Math.log1p(Math.exp(x / 2)) + (x * sigmoid(x / 2)) / 2 : 1;
      expectClose(m.f_grad(x), [df], 1e-12);
      expectClose(m.f_grad(x), numericGradient(m.f, [x]));
      expect(m.f_backward(m.f_forward(x).cache, 2)).toEqual([2 * m.f_grad(x)[0]]);
    }
    for (const args of [
      [0.5, 0.3],
      [0.2, 0.9],
      [1.5, 0.4],
      [-0.7, 1.1],
    ]) {
      expectClose(m.g_grad(...args), numericGradient(m.g, args));
      expect(m.g_backward(m.g_forward(...args).cache, 1)).toEqual(m.g_grad(...args));
    }
  });
});

describe("stopGradient", () => {
  it("passes the value and no gradient", async () => {
    const { module: m } = await compile(`
import { stopGradient } from "tsgrad";
/** @differentiable */
export function f(x: number, y: number): number {
  const scale = stopGradient(x * y);
  return scale * x + y;
}`);
    expect(m.f(2, 3)).toBe(15);
    // d/dx = scale = 6 (not 2xy + ...), d/dy = 1.
    expect(m.f_grad(2, 3)).toEqual([6, 1]);
  });
});

// ---------------------------------------------------------------------------------------------
// Oracles for the cases below: central finite differences (away from kinks and trip-count
// changes); hand derivations where finite differences cannot see a custom or stopped gradient; vjp
// and the runtime's shared stack (checkWithStack); generated code that type-checks as plain
// TypeScript under --strict. Where tsgrad cannot handle a program, a compile-time diagnostic
// (error TS94xxx) is the answer; a module that fails to load, or a wrong gradient, never is.

type M = Record<string, any>;

const format = (ds: readonly ts.Diagnostic[]) =>
  ts.formatDiagnostics(ds, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => "\n" });

/**
 * Loads a compiled module in plain Node, as users run it: vitest's module runner rewrites imports
 * into variables, so it accepts a module Node rejects (a binding imported twice, an import of a
 * name the other module does not export).
 */
function nodeLoad(file: string): void {
  try {
    execFileSync(
      process.execPath,
      ["--input-type=module", "-e", `await import(${JSON.stringify(pathToFileURL(file).href)});`],
      { cwd: root, stdio: "pipe", encoding: "utf8" },
    );
  } catch (e) {
    const stderr = String((e as { stderr?: string }).stderr ?? e);
    throw new Error(
      `node cannot load ${file.split("/").slice(-2).join("/")}: ${stderr.split("\n").filter((l) => /Error/.test(l))[0] ?? stderr}`,
    );
  }
}

/**
 * emitProject, then `entry` loaded in plain Node and imported; file names may have folders
 * ("lib/derivs/d.ts"), so the relative import paths generated code writes between folders are
 * exercised. `js` maps each emitted file's name, relative to the project, to its text.
 */
async function project(files: Record<string, string>, entry: string): Promise<{ module: M; js: Map<string, string> }> {
  const { dir, diagnostics, outputs } = emitProject(files);
  const errors = diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length) throw new Error(format(errors));
  const main = join(dir, entry.replace(/\.ts$/, ".js"));
  nodeLoad(main);
  const js = new Map(
    [...outputs].filter(([f]) => f.endsWith(".js")).map(([f, text]) => [f.slice(dir.length + 1), text]),
  );
  return { module: await import(pathToFileURL(main).href), js };
}

interface Refusal {
  file: string;
  code: number;
  line: number;
  column: number;
  /** The source text the diagnostic covers. */
  at: string;
  text: string;
}

/** A tsgrad diagnostic as a test reads it: file (relative), code, 1-based line and column, its text. */
function refusal(d: ts.Diagnostic, dir: string): Refusal {
  const { line, character } = d.file!.getLineAndCharacterOfPosition(d.start!);
  const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
  return {
    file: d.file!.fileName.slice(dir.length + 1),
    code: d.code,
    line: line + 1,
    column: character + 1,
    at: d.file!.text.slice(d.start!, d.start! + d.length!),
    text,
  };
}

/** tsgrad's diagnostics for one module, compiled as the tsc plugin compiles it. */
function refusals(source: string): Refusal[] {
  const { diagnostics, sourceFile } = compileToJs(source);
  return diagnostics.filter((d) => d.source === "tsgrad").map((d) => refusal(d, dirname(sourceFile)));
}

/** tsgrad's diagnostics for a project of several modules, as the tsc plugin reports them. */
function refusalsIn(files: Record<string, string>): Refusal[] {
  const { dir, diagnostics } = emitProject(files);
  return diagnostics.filter((d) => d.source === "tsgrad").map((d) => refusal(d, dir));
}

/** Generated TypeScript (as `tsgrad gen` writes it) for every file, type-checked again under --strict. */
function strictErrorsOf(files: Record<string, string>): string[] {
  const dir = join(root, ".tsgrad-tmp", "strict", `custom_${randomUUID().slice(0, 8)}`);
  const options: ts.CompilerOptions = { ...compilerOptions, strict: true, noEmit: true };
  const paths = Object.entries(files).map(([file, text]) => {
    const path = join(dir, "src", file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    return path;
  });
  const program = createProgram(paths, options);
  const out = paths.map((p) => {
    const { text, diagnostics } = transformToText(program.getSourceFile(p)!, program);
    expect(format(diagnostics)).toBe("");
    const target = p.replace(`${dir}/src`, `${dir}/gen`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
    return target;
  });
  const checked = createProgram(out, options);
  return ts
    .getPreEmitDiagnostics(checked)
    .map((d) => `${d.file?.fileName.slice(dir.length)}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
}

/** Functions whose last parameter is a trip count: its gradient is 0, finite differences jump. */
const COUNTS = new Set(["inLoop", "loopInBranch", "reentrant", "f", "stopInFrames"]);

/** checkWithStack against `expected`, or against finite differences when it is not given. */
const check = (m: M, name: string, args: number[], expected?: number[], tol?: number) =>
  checkWithStack(m, name, args, { expected, tol, lastIsCount: COUNTS.has(name) });

// ---------------------------------------------------------------------------------------------
// Custom derivatives in one module: 0, 1 and 3 parameters, nested, in loops and branches, re-entrant

const SAME_MODULE = `
import { grad } from "tsgrad";
export { saved as __saved } from "tsgrad";

export const calls = { w3: 0, sp: 0, lp: 0, k0: 0 };

/** A function of no arguments. */
export function k0(): number { return 1.5; }
/** @derivative k0 */
export function k0D(y: number, dy: number): [] { calls.k0++; return []; }

export function sp(x: number): number { return x > 30 ? x : Math.log1p(Math.exp(x)); }
/** @derivative sp */
export function spD(x: number, y: number, dy: number): [number] { calls.sp++; return [dy / (1 + Math.exp(-x))]; }

/** Three arguments, each with a different partial. */
export function w3(a: number, b: number, c: number): number { return a * b * b + Math.sin(c) * a; }
/** @derivative w3 */
export function w3D(a: number, b: number, c: number, y: number, dy: number): [number, number, number] {
  calls.w3++;
  return [(b * b + Math.sin(c)) * dy, 2 * a * b * dy, Math.cos(c) * a * dy];
}

/** Asymmetric: the gradients must come back in argument order. */
export function sub2(a: number, b: number): number { return a - 2 * b; }
/** @derivative sub2 */
export function sub2D(a: number, b: number, y: number, dy: number): [number, number] { return [dy, -2 * dy]; }

/** @differentiable  A differentiable function with loops, whose gradient a derivative uses. */
export function inner(x: number): number {
  let t = x;
  for (let i = 0; i < 3; i++) t = Math.sin(t) + x;
  let k = 0;
  while (k < 2) { t = t * 0.9 + Math.cos(t); k++; }
  return t;
}
/** The same function, not differentiable: a "library" whose derivative calls inner's gradient. */
export function lp(x: number): number { return inner(x); }
/** @derivative lp */
export function lpD(x: number, y: number, dy: number): [number] { calls.lp++; return [grad(inner)(x)[0] * dy]; }

/** @differentiable */
export function zero(x: number): number { return k0() * x; }
/** @differentiable */
export function three(x: number, y: number, z: number): number { return w3(x, y, z); }
/** @differentiable */
export function order(x: number, y: number): number { return sub2(y, x) * x + sub2(x, 3); }
/** @differentiable */
export function inactiveMiddle(x: number): number { return w3(x, 2, x); }
/** @differentiable */
export function sameArg(x: number): number { return w3(x, x, x); }
/** @differentiable */
export function nested(x: number): number { return sp(sp(x) - 1); }
/** @differentiable */
export function inLoop(x: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s = sp(s * x + i) - w3(s, x, i);
  return s;
}
/** @differentiable */
export function inBranch(x: number): number {
  if (x > 0) return sp(x) * 2;
  return w3(x, x, 1);
}
/** @differentiable */
export function loopInBranch(x: number, n: number): number {
  let s = x;
  if (x > 0) {
    for (let i = 0; i < n; i++) s = sp(s) - 0.5 * x;
  } else {
    while (s < 3) s = s + sp(s) + 0.1;
  }
  return s;
}
/** @differentiable */
export function ternary(x: number): number { return x > 1 ? sp(x) : sub2(x, x * x); }
/** @differentiable */
export function reentrant(x: number, y: number, n: number): number {
  let s = x;
  for (let i = 0; i < n; i++) s = lp(s) * y;
  return s;
}
/** @differentiable */
export function constantsOnly(x: number): number { return w3(1, 2, 3) * x + sp(0); }
`;

describe("custom derivatives in one module", () => {
  const loaded = compile(SAME_MODULE).then((c) => c.module);

  it("0, 1 and 3 parameters; gradients in argument order; constants; the same argument thrice", async () => {
    const m = await loaded;
    check(m, "zero", [0.7], [1.5]);
    expect(m.calls.k0).toBe(0); // no argument, so no gradient to ask for
    for (const p of [
      [0.3, -1.2, 2],
      [1.5, 0.4, -0.7],
    ])
      check(m, "three", p);
    for (const p of [
      [0.3, -1.2],
      [2, 5],
    ])
      check(m, "order", p);
    // Hand: order = (y - 2x) x + (x - 6) → d/dx = y - 4x + 1, d/dy = x.
    expect(m.order_grad(2, 5)).toEqual([5 - 8 + 1, 2]);
    check(m, "inactiveMiddle", [0.8]);
    check(m, "sameArg", [0.8]);
    check(m, "sameArg", [-1.3]);
    check(m, "constantsOnly", [0.4], [m.w3(1, 2, 3)]);
  });

  it("nested calls, in a loop (frames), in a branch, a loop in a branch, a ternary", async () => {
    const m = await loaded;
    check(m, "nested", [0.4]);
    check(m, "nested", [-2]);
    for (const p of [
      [0.3, 3],
      [0.3, 2.5],
      [0.3, 0],
      [0.3, -1],
    ])
      check(m, "inLoop", p);
    for (const x of [0.7, -0.4]) check(m, "inBranch", [x]);
    for (const p of [
      [0.7, 3],
      [0.7, 0],
      [-0.4, 2],
      [-2, 2],
    ])
      check(m, "loopInBranch", p);
    for (const x of [1.5, 0.5]) check(m, "ternary", [x]);
    // The user's derivative is really the one called, where the naive formula would overflow.
    const before = m.calls.sp;
    expect(m.nested_grad(800)).toEqual([1]);
    expect(m.calls.sp).toBe(before + 2);
  });

  it("a derivative that calls another function's gradient (the shared stack, re-entrantly) from inside a frames loop", async () => {
    const m = await loaded;
    for (const p of [
      [0.3, 0.8, 3],
      [0.3, 0.8, 1],
      [-0.6, 1.1, 4],
    ])
      check(m, "reentrant", p, undefined, 1e-5);
    const before = m.calls.lp;
    m.reentrant_grad(0.3, 0.8, 3);
    expect(m.calls.lp).toBe(before + 3);
  });

  it("vjp of calls with custom derivatives, interleaved", async () => {
    const m = await loaded;
    const a = m.reentrant_forward(0.3, 0.8, 3);
    const b = m.reentrant_forward(-0.6, 1.1, 4);
    const gb = m.reentrant_backward(b.cache, 1);
    m.reentrant_grad(1, 1, 5);
    expect(m.reentrant_backward(a.cache, 1)).toEqual(m.reentrant_grad(0.3, 0.8, 3));
    expect(gb).toEqual(m.reentrant_grad(-0.6, 1.1, 4));
  });

  it("the generated code type-checks under --strict", () => {
    expect(strictErrorsOf({ "same.ts": SAME_MODULE })).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Custom derivatives across modules and folders

const MATH = `
export function softplus(x: number): number { return x > 30 ? x : Math.log1p(Math.exp(x)); }
export function cube(x: number): number { return x * x * x; }
export function tri(x: number): number { return 3 * x; }
`;

/** A third module, in a subfolder, neither the caller's nor the callee's. */
const DERIVS = `
import { softplus, cube as c3 } from "../math.js";
/** @derivative softplus */
export function softplusD(x: number, y: number, dy: number): [number] { return [dy / (1 + Math.exp(-x))]; }
/** @derivative c3 */
export function cubeD(x: number, y: number, dy: number): [number] { return [3 * x * x * dy]; }
`;

describe("custom derivatives across modules", () => {
  it("a derivative declared in a third module, two folders away, found through an alias and a namespace", async () => {
    const files = {
      "lib/math.ts": MATH,
      "lib/derivs/d.ts": DERIVS,
      "app/deep/main.ts": `
import { softplus as sp } from "../../lib/math.js";
import * as M from "../../lib/math.js";
export { saved as __saved } from "tsgrad";
/** @differentiable */
export function f(x: number, n: number): number {
  let s = x;
  for (let i = 0; i < n; i++) s = sp(s) * 0.5 + M.cube(s) * 0.1;
  return s;
}`,
    };
    const { module: m, js } = await project(files, "app/deep/main.ts");
    expect(js.get("app/deep/main.js")).toMatch(/import \{ softplusD, cubeD \} from "\.\.\/\.\.\/lib\/derivs\/d\.js"/);
    for (const p of [
      [0.3, 3],
      [-1.2, 2],
      [0.3, 0],
    ])
      check(m, "f", p);
    expect(strictErrorsOf(files)).toEqual([]);
  });

  it("a caller in a parent folder, and a caller beside the derivative's module", async () => {
    const files = {
      "lib/math.ts": MATH,
      "lib/derivs/d.ts": DERIVS,
      "lib/derivs/near.ts": `import { cube } from "../math.js";\nexport { saved as __saved } from "tsgrad";\n/** @differentiable */\nexport function g(x: number): number { return cube(x) + 1; }`,
      "top.ts": `import { softplus } from "./lib/math.js";\nimport { g } from "./lib/derivs/near.js";\nexport { saved as __saved } from "tsgrad";\n/** @differentiable */\nexport function f(x: number): number { return softplus(g(x)); }`,
    };
    const { module: m, js } = await project(files, "top.ts");
    expect(js.get("top.js")).toContain(`from "./lib/derivs/d.js"`);
    expect(js.get("lib/derivs/near.js")).toContain(`from "./d.js"`);
    check(m, "f", [0.4]);
    check(m, "f", [-1.1]);
  });

  // Two derivatives of one name in two modules are imported under distinct names, also beside a parameter of that name.
  it("two derivatives with the same name in two modules, and a parameter with that name", async () => {
    const files = {
      "d1.ts": `export function cube(x: number): number { return x * x * x; }\n/** @derivative cube */\nexport function derivative(x: number, y: number, dy: number): [number] { return [3 * x * x * dy]; }`,
      "d2.ts": `export function tri(x: number): number { return 3 * x; }\n/** @derivative tri */\nexport function derivative(x: number, y: number, dy: number): [number] { return [3 * dy]; }`,
      "main.ts": `import { cube } from "./d1.js";\nimport { tri } from "./d2.js";\nexport { saved as __saved } from "tsgrad";\n/** @differentiable */\nexport function f(x: number): number { return cube(x) + tri(x); }\n/** @differentiable */\nexport function g(derivative: number): number { return cube(derivative) * tri(2); }`,
    };
    const { module: m, js } = await project(files, "main.ts");
    const main = js.get("main.js")!;
    expect(main).toContain(`import { derivative, derivative as derivative_3 } from "./d1.js";`);
    expect(main).toContain(`import { derivative as derivative_2 } from "./d2.js";`);
    // Hand: f = x³ + 3x → 3x² + 3; g = 6 derivative³ → 18 derivative².
    check(m, "f", [0.7], [3 * 0.49 + 3]);
    check(m, "g", [0.7], [18 * 0.49]);
    expect(strictErrorsOf(files)).toEqual([]);
  });

  // A caller that imports the derivative itself (by name, renamed, or through a namespace) reuses that binding.
  it("a caller that imports the derivative itself (by name, renamed, or through a namespace)", async () => {
    const files = {
      "lib/math.ts": MATH,
      "lib/derivs/d.ts": DERIVS,
      "main.ts": `import { softplus } from "./lib/math.js";
import { softplusD } from "./lib/derivs/d.js";
export { saved as __saved } from "tsgrad";
export const slope = (x: number) => softplusD(x, softplus(x), 1)[0];
/** @differentiable */
export function f(x: number): number { return softplus(x) * x; }`,
      "renamed.ts": `import { softplus } from "./lib/math.js";
import { softplusD as spd } from "./lib/derivs/d.js";
import * as D from "./lib/derivs/d.js";
export { saved as __saved } from "tsgrad";
export const slope = (x: number) => spd(x, softplus(x), 1)[0] + D.cubeD(x, 0, 0)[0];
/** @differentiable */
export function f(x: number): number { return softplus(x) * x; }
/** @differentiable */
export function g(spd: number): number { return softplus(spd) * 2; }
/** @differentiable */
export function h(spd: number, D: number): number { return softplus(spd) * D; }`,
    };
    const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
    const { module: m, js } = await project(files, "main.ts");
    expect(js.get("main.js")!.match(/import \{[^}]*softplusD[^}]*\}/g)).toHaveLength(1);
    // Hand: d/dx softplus(x) x = sigmoid(x) x + softplus(x).
    check(m, "f", [0.7], [sigmoid(0.7) * 0.7 + Math.log1p(Math.exp(0.7))]);
    const { module: r, js: js2 } = await project(files, "renamed.ts");
    const renamed = js2.get("renamed.js")!;
    expect(renamed).toMatch(/function f_grad[^]*= spd\(x, /);
    expect(renamed).toMatch(/function g_grad[^]*= D\.softplusD\(spd, /);
    expect(renamed).toMatch(/function h_grad[^]*= softplusD\(spd, /);
    expect(renamed).toContain(`import { softplusD } from "./lib/derivs/d.js";`);
    check(r, "f", [0.7], [sigmoid(0.7) * 0.7 + Math.log1p(Math.exp(0.7))]);
    check(r, "g", [-0.4], [2 * sigmoid(-0.4)]);
    check(r, "h", [-0.4, 1.5], [1.5 * sigmoid(-0.4), Math.log1p(Math.exp(-0.4))]);
    expect(strictErrorsOf(files)).toEqual([]);
  });

  // The generated import of a derivative is aliased around a name the caller's module declares.
  it("a caller whose module declares a name equal to the derivative's", async () => {
    const files = {
      "lib/math.ts": MATH,
      "lib/derivs/d.ts": DERIVS,
      "main.ts": `import { softplus } from "./lib/math.js";\nexport { saved as __saved } from "tsgrad";\nexport function softplusD(): string { return "mine"; }\n/** @differentiable */\nexport function f(x: number): number { return softplus(x) * x; }`,
    };
    const { module: m, js } = await project(files, "main.ts");
    expect(js.get("main.js")).toContain(`import { softplusD as softplusD_2 } from "./lib/derivs/d.js";`);
    expect(m.softplusD()).toBe("mine");
    check(m, "f", [0.7], [0.7 / (1 + Math.exp(-0.7)) + Math.log1p(Math.exp(0.7))]);
    expect(strictErrorsOf(files)).toEqual([]);
  });

  // A derivative another module uses must be exported (else TS94013 at its name); a renamed export is imported as such.
  it("a derivative its module does not export is TS94013 at its name when another module uses it", async () => {
    const d = `export function cube(x: number): number { return x * x * x; }\n/** @derivative cube */\nfunction cubeD(x: number, y: number, dy: number): [number] { return [3 * x * x * dy]; }`;
    const caller = `import { cube } from "./d.js";\nexport { saved as __saved } from "tsgrad";\n/** @differentiable */\nexport function f(x: number): number { return cube(x); }\n/** @differentiable */\nexport function g(x: number): number { return cube(x) * 2; }`;
    const found = refusalsIn({ "d.ts": d, "main.ts": caller });
    // Once, though two functions call it.
    expect(found).toEqual([expect.objectContaining({ file: "d.ts", code: 94013, line: 3, column: 10, at: "cubeD" })]);
    expect(found[0].text).toBe(
      "tsgrad: `cubeD` (the derivative of `cube`) is not exported, but the gradients main.ts generates call it and must import it; export it",
    );

    const own = await compile(
      `${d}\nexport { saved as __saved } from "tsgrad";\n/** @differentiable */\nexport function f(x: number): number { return cube(x); }`,
    );
    check(own.module, "f", [0.7], [3 * 0.49]);

    const files = { "d.ts": `${d}\nexport { cubeD as cubeDerivative };`, "main.ts": caller };
    const { module: m, js } = await project(files, "main.ts");
    expect(js.get("main.js")).toContain(`import { cubeDerivative as cubeD } from "./d.js";`);
    check(m, "f", [0.7], [3 * 0.49]);
  });
});

describe("custom derivatives: other forms of target and call", () => {
  it("an arrow-function target, a call in a loop test and in a loop's bound", async () => {
    const { module: m } = await compile(`
export { saved as __saved } from "tsgrad";
export const seen = { d: 0 };
export const sp = (x: number): number => Math.log1p(Math.exp(x));
/** @derivative sp */
export function spD(x: number, y: number, dy: number): [number] { seen.d++; return [dy / (1 + Math.exp(-x))]; }
/** @differentiable */
export function whileTest(x: number): number {
  let s = x;
  while (sp(s) < 3) s = s + 0.5 * x + sp(s) * 0.1;
  return s;
}
/** @differentiable */
export function f(x: number, n: number): number {
  let s = x;
  for (let i = 0; i < sp(n); i++) s = sp(s) * x;
  return s;
}`);
    check(m, "whileTest", [0.7]);
    check(m, "whileTest", [1.9]);
    check(m, "f", [0.6, 2.2]);
    check(m, "f", [-0.3, 3.7]);
  });
});

// ---------------------------------------------------------------------------------------------
// What a derivative's shape can get wrong: a diagnostic or a correct gradient, never a wrong one

describe("custom derivatives: error or correct, never wrong", () => {
  // A caller's local or parameter named like the derivative does not hide it: the gradient calls a reserved alias.
  it("a local or a parameter of the caller with the derivative's name", async () => {
    const src = (body: string, param = "x") => `
export { saved as __saved } from "tsgrad";
export function cube(x: number): number { return x * x * x; }
/** @derivative cube */
export function cubeD(x: number, y: number, dy: number): [number] { return [3 * x * x * dy]; }
/** @differentiable */
export function f(${param}: number): number { ${body} }`;
    const local = await compile(src("const cubeD = x + 1; return cube(cubeD);"));
    expect(local.js).toContain("const cubeD_2 = cubeD;");
    check(local.module, "f", [0.5], [3 * 1.5 * 1.5]);
    const param = await compile(src("return cube(cubeD);", "cubeD"));
    check(param.module, "f", [0.5], [3 * 0.25]);

    const arrow = `
export { saved as __saved } from "tsgrad";
export const sq = (x: number): number => x * x;
/** @differentiable */
export function h(sqD: number): number { return sq(sqD) * 3; }
/** @derivative sq */
const sqD = (x: number, y: number, dy: number): [number] => [2 * x * dy];`;
    const { module: m, js } = await compile(arrow);
    expect(js).toMatch(
      /const sqD = \([^]*\n\/\/ `sqD`, for gradients where a local of that name hides it \(generated by tsgrad\)\nconst sqD_2 = sqD;/,
    );
    check(m, "h", [0.5], [3]);
    expect(strictErrorsOf({ "arrow.ts": arrow, "local.ts": src("const cubeD = x + 1; return cube(cubeD);") })).toEqual(
      [],
    );
  });

  // A call that leaves a defaulted argument out is TS94013 at the call; calls passing every argument use it.
  it("a target with a defaulted or optional parameter: calls passing every argument, else TS94013 at the call", async () => {
    const lib = `
export { saved as __saved } from "tsgrad";
export function q(x: number, yy: number = 2): number { return x * yy; }
/** @derivative q */
export function qD(x: number, yy: number, v: number, dv: number): [number, number] { return [yy * dv, x * dv]; }
export function o(x: number, k?: number): number { return x * (k ?? 1); }
/** @derivative o */
export function oD(x: number, k: number | undefined, v: number, dv: number): [number, number] { return [(k ?? 1) * dv, x * dv]; }`;
    const found = refusals(
      `${lib}\n/** @differentiable */\nexport function f(x: number): number { return q(x) * 2; }\n/** @differentiable */\nexport function g(x: number): number { return o(x) * 2; }`,
    );
    expect(found.map((d) => [d.code, d.line, d.column, d.at])).toEqual([
      [94013, 10, 47, "q(x)"],
      [94013, 12, 47, "o(x)"],
    ]);
    expect(found[0].text).toMatch(/leaves `yy` to a default; pass them all: `q\(x, yy\)`/);
    const { module: m } = await compile(
      `${lib}\n/** @differentiable */\nexport function f(x: number, y: number): number { return q(x, y) + o(y, x); }`,
    );
    check(m, "f", [0.7, 1.3], [1.3 + 1.3, 0.7 + 0.7]);
  });

  // A target with a rest parameter or overloads cannot match a derivative: TS94013 at the derivative and at its calls.
  it("a target with a rest parameter, or with overloads, is TS94013 at the derivative, and at its calls", () => {
    const found = refusals(`
export function r(...xs: number[]): number { return xs[0] * xs[1]; }
/** @derivative r */
export function rD(xs: number, v: number, dv: number): [number] { return [dv]; }
/** @differentiable */
export function f(x: number): number { return r(x, x); }
export function o(x: number): number;
export function o(x: number, y: number): number;
export function o(x: number, y = 1): number { return x * y; }
/** @derivative o */
export function oD(x: number, v: number, dv: number): [number] { return [dv]; }
/** @differentiable */
export function g(x: number): number { return o(x, 3); }`);
    expect(found.map((d) => [d.code, d.line, d.at])).toEqual([
      [94013, 4, "rD"],
      [94013, 11, "oD"],
      [94013, 6, "r"],
      [94013, 13, "o"],
    ]);
    expect(found[0].text).toMatch(/`r` takes a rest parameter \(`\.\.\.xs: number\[\]`\)/);
    expect(found[1].text).toMatch(/`o` is overloaded, and a derivative is for one list of parameters/);
    expect(found[2].text).toMatch(
      /`r` has a @derivative tsgrad cannot use \(`rD`, case_\w+\.ts:4; see the error there\)/,
    );
  });

  // A derivative returns a tuple of one number per argument of its target, else TS94013 at its name.
  it("a derivative that returns a number, too few or too many gradients, or an array is TS94013 at its name", () => {
    const found = refusals(`
export function sq(x: number): number { return x * x; }
/** @derivative sq */
export function sqD(x: number, y: number, dy: number): number { return 2 * x * dy; }
export function mul(a: number, b: number): number { return a * b; }
/** @derivative mul */
export function mulD(a: number, b: number, y: number, dy: number): [number] { return [b * dy]; }
export function neg(a: number): number { return -a; }
/** @derivative neg */
export const negD = (a: number, y: number, dy: number) => [-dy];
/** @derivative neg */
export function negD2(a: number, y: number, dy: number): [number, number] { return [-dy, 0]; }
export function id(a: number): number { return a; }
/** @derivative id */
export function idD(a: number, y: number, dy: number): [number?] { return [dy]; }`);
    expect(found.map((d) => [d.code, d.line, d.at])).toEqual([
      [94013, 4, "sqD"],
      [94013, 7, "mulD"],
      [94013, 10, "negD"],
      [94013, 12, "negD2"],
      [94013, 15, "idD"],
    ]);
    expect(found[0].text).toBe(
      "tsgrad: `sqD` returns `number`; a derivative returns one gradient per argument: declare its return type as `[number]` and return a tuple of that many numbers",
    );
    expect(found[1].text).toMatch(/`mulD` returns `\[number\]`; .*`\[number, number\]`/);
    expect(found[2].text).toMatch(/`negD` returns `number\[\]`/);
    expect(found[3].text).toMatch(/`negD2` returns `\[number, number\]`; .*`\[number\]`/);
    expect(found[4].text).toMatch(/`idD` returns `\[\(number \| undefined\)\?\]`/);
  });

  // A const holding an arrow function or function expression is a derivative like a declaration; a let is TS94013.
  it("a derivative written as an arrow function or a function expression, in this module or another", async () => {
    const { module: m } = await compile(`
export { saved as __saved } from "tsgrad";
/** @differentiable */
export function quant(x: number): number { return x * x; }
/** @derivative quant */
export const quantD = (x: number, y: number, dy: number): [number] => [dy];
export function cube(x: number): number { return x * x * x; }
/** @derivative cube */
export const cubeD = function (x: number, y: number, dy: number): [number] { return [3 * x * x * dy]; };
/** @differentiable */
export function f(x: number): number { return quant(x) * 3 + cube(x); }`);
    // Straight-through for quant: 3 * 1, plus 3x².
    check(m, "f", [0.7], [3 + 3 * 0.49]);

    const files = {
      "d.ts": `export function sp(x: number): number { return Math.log1p(Math.exp(x)); }\n/** @derivative sp */\nexport const spD = (x: number, y: number, dy: number): [number] => [dy / (1 + Math.exp(-x))];`,
      "main.ts": `import { sp } from "./d.js";\nexport { saved as __saved } from "tsgrad";\n/** @differentiable */\nexport function f(x: number): number { return sp(x) * sp(x); }`,
    };
    const { module: p, js } = await project(files, "main.ts");
    expect(js.get("main.js")).toContain(`import { spD } from "./d.js";`);
    check(p, "f", [0.3], [(2 * Math.log1p(Math.exp(0.3))) / (1 + Math.exp(-0.3))]);
    expect(strictErrorsOf(files)).toEqual([]);

    const found = refusals(`
export function sq(x: number): number { return x * x; }
/** @derivative sq */
export let sqD = (x: number, y: number, dy: number): [number] => [2 * x * dy];
/** @derivative sq */
export const notAFunction = 3;`);
    expect(found.map((d) => [d.code, d.line, d.at])).toEqual([
      [94013, 4, "sqD"],
      [94013, 6, "notAFunction"],
    ]);
    expect(found[0].text).toMatch(/declare `sqD` with `const`/);
    expect(found[1].text).toMatch(
      /@derivative goes on a function declaration, or on a `const` holding an arrow function or function expression/,
    );
  });

  it("a derivative for a method is TS94013; a method calling a function with a derivative uses it", async () => {
    const { diagnostics } = compileToJs(`
export class Model {
  m(x: number): number { return x * 2; }
}
/** @derivative Model.m */
export function mD(x: number, y: number, dy: number): [number] { return [2 * dy]; }
/** @derivative m */
export function mD2(x: number, y: number, dy: number): [number] { return [2 * dy]; }
`);
    const ours = diagnostics.filter((d) => d.code === 94013);
    expect(ours.map((d) => d.file!.text.slice(d.start!, d.start! + d.length!))).toEqual(["mD", "mD2"]);
    expect(ts.flattenDiagnosticMessageText(ours[0].messageText, "\n")).toMatch(
      /@derivative Model\.m: derivatives of methods are not supported/,
    );

    const { module: m } = await compile(`
export { saved as __saved } from "tsgrad";
export const seen: number[] = [];
export function ste(x: number): number { return Math.round(x); }
/** @derivative ste */
export function steD(x: number, y: number, dy: number): [number] { seen.push(x); return [dy]; }
export class Model {
  constructor(readonly k: number) {}
  /** @differentiable */
  loss(x: number): number { let s = 0; for (let i = 0; i < 3; i++) s += ste(x * this.k + i) * x; return s; }
}`);
    const model = new m.Model(2);
    // Straight-through: d/dx sum_i round(2x + i) x = sum_i (2x + round(2x + i)) at x = 0.3 → 3 * 0.6 + (1 + 2 + 3).
    expect(model.loss_grad(0.3)[0]).toBeCloseTo(3 * 0.6 + 6, 12);
    expect(m.seen).toEqual([0.6, 1.6, 2.6].reverse().map((v) => expect.closeTo(v, 12)));
  });

  // A function with its own derivative uses it for its own gradient too (grad(f), f_grad, vjp), as its callers do.
  it("grad(f), f_grad and vjp of a function that has a custom derivative use that derivative", async () => {
    const { module: m, js } = await compile(`
import { grad, vjp } from "tsgrad";
export { saved as __saved } from "tsgrad";
export const seen: number[] = [];
/** @differentiable */
export function quant(x: number, k: number): number { return Math.round(x * k) / k; }
/** @derivative quant */
export function quantD(x: number, k: number, y: number, dy: number): [number, number] { seen.push(y); return [dy, 0]; }
/** @differentiable */
export function caller(x: number): number { return quant(x, 4) * x; }
export const direct = (x: number, k: number) => grad(quant)(x, k);
export const viaVjp = (x: number, k: number) => vjp(quant)(x, k).backward(2);`);
    expect(js).toMatch(
      /function quant_grad\(x, k\) \{[^}]*const y = quant\(x, k\);[^}]*const \[dx_y, dk_y\] = quantD\(x, k, y, 1\);/,
    );
    expect(m.direct(0.7, 4)).toEqual([1, 0]); // straight through; the body's gradient would be [0, ...]
    expect(m.seen).toEqual([0.75]);
    expect(m.viaVjp(0.7, 4)).toEqual([2, 0]);
    check(m, "quant", [0.7, 4], [1, 0]);
    // Hand: d/dx quant(x, 4) x, straight through = x + quant(x, 4).
    check(m, "caller", [0.7], [0.7 + 0.75]);
  });

  it("a function with its own derivative declared in another module, which imports it (a cycle ESM allows)", async () => {
    const files = {
      "a.ts": `export { saved as __saved } from "tsgrad";\n/** @differentiable */\nexport const f = (x: number): number => Math.abs(x);`,
      "b.ts": `import { f } from "./a.js";\n/** @derivative f */\nexport function fD(x: number, y: number, dy: number): [number] { return [Math.tanh(10 * x) * dy]; }`,
    };
    const { module: m, js } = await project(files, "a.ts");
    expect(js.get("a.js")).toContain(`import { fD } from "./b.js";`);
    check(m, "f", [0.3], [Math.tanh(3)]);
    check(m, "f", [-0.05], [Math.tanh(-0.5)]);
    expect(strictErrorsOf(files)).toEqual([]);
  });

  it("a function with its own derivative needs no body tsgrad can differentiate; its signature is still checked", async () => {
    const { module: m } = await compile(`
export { saved as __saved } from "tsgrad";
/** @differentiable */
export function smoothAbs(x: number): number {
  switch (Math.sign(x)) { case -1: return -x; default: return x; }
}
/** @derivative smoothAbs */
export function smoothAbsD(x: number, y: number, dy: number): [number] { return [Math.tanh(10 * x) * dy]; }`);
    check(m, "smoothAbs", [0.3], [Math.tanh(3)]);
    const found = refusals(`
/** @differentiable */
export function g(x: number, k: number = 2): boolean { return x * k > 0; }
/** @derivative g */
export function gD(x: number, k: number, y: number, dy: number): [number, number] { return [dy, dy]; }
/** @differentiable */
export function h(x: number[]): number { return x[0]; }
/** @derivative h */
export function hD(x: number[], y: number, dy: number): [number] { return [dy]; }`);
    expect(found.map((d) => [d.code, d.line, d.at])).toEqual([
      [94004, 3, "k: number = 2"],
      [94005, 3, "boolean"],
      [94004, 7, "x: number[]"],
    ]);
    expect(found[2].text).toMatch(/a function with its own derivative takes `number` parameters/);
  });

  it("a derivative that calls grad of its own function, or a second derivative of one function, is TS94013; so is that function's gradient", () => {
    const found = refusals(`
import { grad, valueAndGrad } from "tsgrad";
/** @differentiable */
export function f(x: number): number { return x * x; }
/** @derivative f */
export function fD(x: number, y: number, dy: number): [number] { return [Math.min(1, grad(f)(x)[0]) * dy]; }
/** @differentiable */
export function g(x: number): number { return x * x; }
/** @derivative g */
export function gD(x: number, y: number, dy: number): [number] { return [dy]; }
/** @derivative g */
export function gD2(x: number, y: number, dy: number): [number] { return [valueAndGrad(f)(x).grad[0] * dy]; }`);
    expect(found.map((d) => [d.code, d.line, d.at])).toEqual([
      [94013, 6, "fD"],
      [94013, 12, "gD2"],
      [94013, 4, "f"],
      [94013, 8, "g"],
    ]);
    expect(found[0].text).toMatch(
      /`fD` calls `grad\(f\)`, but the gradient of `f` is `fD` itself: the two would call each other forever/,
    );
    expect(found[1].text).toMatch(/`g` already has a derivative, `gD` \(case_\w+\.ts:10\); keep one of the two/);
    expect(found[2].text).toMatch(
      /`f` has a @derivative tsgrad cannot use \(`fD`, case_\w+\.ts:6; see the error there\)/,
    );
  });

  it("wrong arity for 0- and 3-parameter targets is TS94013 at the derivative's name", () => {
    const { diagnostics } = compileToJs(`
export function k(): number { return 1; }
/** @derivative k */
export function kD(y: number): [] { return []; }
export function w(a: number, b: number, c: number): number { return a + b + c; }
/** @derivative w */
export function wD(a: number, b: number, c: number, dy: number): [number, number, number] { return [dy, dy, dy]; }
`);
    const ours = diagnostics
      .filter((d) => d.code === 94013)
      .map((d) => d.file!.text.slice(d.start!, d.start! + d.length!));
    expect(ours).toEqual(["kD", "wD"]);
  });
});

// ---------------------------------------------------------------------------------------------
// stopGradient on carried variables, in frames, through a namespace and into a custom derivative

const STOP = `
import { stopGradient as sg } from "tsgrad";
import * as tg from "tsgrad";
export { saved as __saved } from "tsgrad";
export function sp(x: number): number { return Math.log1p(Math.exp(x)); }
/** @derivative sp */
export function spD(x: number, y: number, dy: number): [number] { return [dy / (1 + Math.exp(-x))]; }

/** @differentiable */
export function carried(x: number, y: number): number {
  let s = x;
  for (let i = 0; i < 3; i++) s = s * sg(s) + y;
  return s;
}
/** @differentiable */
export function carriedWhile(a: number): number {
  let t = a;
  let k = 0;
  while (k < 3) { t = sg(t) + a * t; k++; }
  return t;
}
/** @differentiable */
export function nestedStop(x: number): number { return sg(sg(x)) * x; }
/** @differentiable */
export function namespaced(x: number, y: number): number { return tg.stopGradient(x * y) + x; }
/** @differentiable */
export function intoCustom(x: number): number { return sp(sg(x)) * x; }
/** @differentiable */
export function constantStop(x: number): number { return sg(2) * x; }
/** @differentiable */
export function allStopped(x: number, y: number): number { return sg(x * y); }
/** @differentiable */
export function stopInFrames(x: number, n: number): number {
  let s = x;
  for (let i = 0; i < n; i++) { const w = sg(Math.exp(-s)); s = s + w * Math.sin(s) * x; }
  return s;
}
`;

describe("stopGradient in loops, frames, namespaces and custom derivatives", () => {
  const loaded = compile(STOP).then((c) => c.module);

  it("on a carried variable in for and while loops (hand derivation)", async () => {
    const m = await loaded;
    // s_{k+1} = s_k * c_k + y with c_k = s_k held constant: ds_{k+1} = c_k ds_k, dy += 1 per step.
    const hand = (x: number, y: number) => {
      const c: number[] = [];
      let s = x;
      for (let i = 0; i < 3; i++) (c.push(s), (s = s * s + y));
      let ds = 1;
      let dy = 0;
      for (let i = 2; i >= 0; i--) ((dy += ds), (ds *= c[i]));
      return [ds, dy];
    };
    for (const p of [
      [0.7, 0.2],
      [-0.4, 1.3],
    ])
      check(m, "carried", p, hand(p[0], p[1]), 1e-12);
    // t' = const + a t: dt'/dt = a, dt'/da = t.
    const handWhile = (a: number) => {
      const ts: number[] = [];
      let t = a;
      for (let k = 0; k < 3; k++) (ts.push(t), (t = t + a * t));
      let dt = 1;
      let da = 0;
      for (let k = 2; k >= 0; k--) ((da += ts[k] * dt), (dt *= a));
      return [da + dt];
    };
    check(m, "carriedWhile", [0.6], handWhile(0.6), 1e-12);
  });

  it("nested, through a namespace import, into a custom derivative, on constants, on everything", async () => {
    const m = await loaded;
    check(m, "nestedStop", [1.7], [1.7]);
    check(m, "namespaced", [2, 3], [1, 0]);
    check(m, "intoCustom", [0.4], [m.sp(0.4)]);
    check(m, "constantStop", [0.4], [2]);
    check(m, "allStopped", [0.4, 3], [0, 0]);
  });

  it("inside a frames loop (hand: w is a constant per iteration)", async () => {
    const m = await loaded;
    const hand = (x: number, n: number) => {
      const ss: number[] = [];
      let s = x;
      for (let i = 0; i < n; i++) (ss.push(s), (s = s + Math.exp(-s) * Math.sin(s) * x));
      let ds = 1;
      let dx = 0;
      for (let i = ss.length - 1; i >= 0; i--) {
        const w = Math.exp(-ss[i]);
        dx += w * Math.sin(ss[i]) * ds;
        ds = ds * (1 + w * Math.cos(ss[i]) * x);
      }
      return [dx + ds, 0];
    };
    for (const p of [
      [0.5, 3],
      [0.5, 2.2],
      [0.5, -3],
    ])
      check(m, "stopInFrames", p, hand(p[0], p[1]), 1e-12);
  });

  it("the generated code type-checks under --strict", () => {
    expect(strictErrorsOf({ "stop.ts": STOP })).toEqual([]);
  });
});
