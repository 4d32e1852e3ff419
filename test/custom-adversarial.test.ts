// Adversarial review of custom derivatives (`@derivative f`), stopGradient, and the frames that
// counting loops at a function's top level keep their saved values in.
//
// Oracles: central finite differences (away from kinks and trip-count changes); hand derivations
// where finite differences cannot see a custom or stopped gradient; f_backward(f_forward(...), 1)
// equal to f_grad; f_backward run twice on one cache giving the same; f_backward(cache, dout)
// scaling with dout; the runtime's shared stack `saved.size` back to where it was after every
// f_grad; and generated code that type-checks as plain TypeScript under --strict.
//
// Where a program is one tsgrad cannot handle, a compile-time diagnostic (error TS94xxx) is an
// acceptable answer; a module that fails to load, or loads and gives a wrong gradient, is not.
// Bugs found here are minimised into a test with a comment giving their cause, run as `it.fails`
// until fixed (vitest reports it when one starts passing, so it cannot go stale); fixed ones say
// `Fixed:` and what was wrong.

import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createHash, randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import tsgradTransformer from "../transformer/hosts/tsc.js";
import { transformToText } from "../transformer/files.js";
import { compile, compilerOptions, compileToJs, createProgram, expectClose, numericGradient, root } from "./harness.js";

type M = Record<string, any>;

const format = (ds: readonly ts.Diagnostic[]) =>
  ts.formatDiagnostics(ds, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => "\n" });

/**
 * Like the harness's compileProject, but file names may have folders ("lib/derivs/d.ts"), so the
 * relative import paths generated code writes between folders are exercised.
 */
async function project(
  files: Record<string, string>,
  entry: string,
): Promise<{ module: M; js: Map<string, string>; dir: string }> {
  const name = `${createHash("sha1").update(JSON.stringify(files)).digest("hex").slice(0, 10)}_${randomUUID().slice(0, 8)}`;
  const dir = join(root, ".tsgrad-tmp", "cases", `custom_adv_${name}`);
  const paths = Object.entries(files).map(([file, text]) => {
    const path = join(dir, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    return path;
  });
  const program = createProgram(paths, compilerOptions);
  const diagnostics: ts.Diagnostic[] = [...ts.getPreEmitDiagnostics(program)];
  const js = new Map<string, string>();
  program.emit(
    undefined,
    (f, text) => {
      if (f.endsWith(".js")) (writeFileSync(f, text), js.set(f.slice(dir.length + 1), text));
    },
    undefined,
    false,
    { before: [tsgradTransformer(program, {}, { addDiagnostic: (d) => diagnostics.push(d) })] },
  );
  const errors = diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length) throw new Error(format(errors));
  const main = join(dir, entry.replace(/\.ts$/, ".js"));
  nodeLoad(main);
  return { module: await import(pathToFileURL(main).href), js, dir };
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
  const dir = join(root, ".tsgrad-tmp", "cases", `custom_adv_refusals_${randomUUID().slice(0, 8)}`);
  const paths = Object.entries(files).map(([file, text]) => {
    const path = join(dir, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    return path;
  });
  const program = createProgram(paths, compilerOptions);
  const diagnostics: ts.Diagnostic[] = [];
  program.emit(undefined, () => {}, undefined, false, {
    before: [tsgradTransformer(program, {}, { addDiagnostic: (d) => diagnostics.push(d) })],
  });
  return diagnostics.filter((d) => d.source === "tsgrad").map((d) => refusal(d, dir));
}

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

/** Generated TypeScript (as `tsgrad gen` writes it) for every file, type-checked again under --strict. */
function strictErrorsOf(files: Record<string, string>): string[] {
  const dir = join(root, ".tsgrad-tmp", "strict", `custom_adv_${randomUUID().slice(0, 8)}`);
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

/** A tsgrad diagnostic is an acceptable answer; a module that fails to load or is wrong is not. */
async function errorOrCorrect(load: () => Promise<M>, check: (m: M) => void): Promise<void> {
  let m: M;
  try {
    m = await load();
  } catch (e) {
    const message = String(e instanceof Error ? e.message : e);
    if (/error TS94\d\d\d/.test(message)) return;
    throw new Error(`no tsgrad diagnostic, and the generated module failed to load: ${message}`);
  }
  check(m);
}

/**
 * The vjp oracles and the stack: f_grad ≈ expected (finite differences by default), the shared
 * stack back to its size, f_backward(cache, 1) = f_grad, twice the same, linear in dout.
 */
/** Functions whose last parameter is a trip count or depth: its gradient is 0, finite differences jump. */
const COUNTS = new Set([
  "inLoop",
  "loopInBranch",
  "reentrant",
  "f",
  "up",
  "upTo",
  "down",
  "downTo",
  "negativeStart",
  "exprBound",
  "innerWhile",
  "callsLooped",
  "rec",
  "twoLoops",
  "invariant",
  "withContinue",
  "flags",
  "stopInFrames",
]);

function oracle(m: M, name: string, args: number[]): number[] {
  const counted = COUNTS.has(name) && args.length > 1;
  const continuous = counted ? args.slice(0, -1) : args;
  const g = numericGradient((...a: number[]) => m[name](...a, ...(counted ? [args[args.length - 1]] : [])), continuous);
  return counted ? [...g, 0] : g;
}

function check(m: M, name: string, args: number[], expected?: number[], tol = 1e-6): void {
  const where = `${name}(${args.join(", ")})`;
  const stack = m.__saved.size;
  const g = m[`${name}_grad`](...args);
  expect(m.__saved.size, `${where}: f_grad left the shared stack changed`).toBe(stack);
  try {
    expectClose(g, expected ?? oracle(m, name, args), tol);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
  const { value, cache } = m[`${name}_forward`](...args);
  expect(value, `${where}: f_forward's value`).toBe(m[name](...args));
  const b1 = m[`${name}_backward`](cache, 1);
  const b2 = m[`${name}_backward`](cache, 1);
  expect(b1, `${where}: f_backward(cache, 1) vs f_grad`).toEqual(g);
  expect(b2, `${where}: f_backward run twice`).toEqual(b1);
  expectClose(
    m[`${name}_backward`](cache, -2.5),
    g.map((x: number) => -2.5 * x),
    1e-12,
  );
  expect(m.__saved.size, `${where}: vjp touched the shared stack`).toBe(stack);
}

// ---- 1. custom derivatives in one module -----------------------------------------------------

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

// ---- 2. across modules and folders --------------------------------------------------------------

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

  // Fixed: derivativeOf() imported every derivative under its bare name, so two `derivative`s of
  // two modules were imported twice under one name (Node: "Identifier 'derivative' has already
  // been declared"; vitest's runner: both calls went to d2's). Now the second is aliased, and a
  // parameter named like the first gets an alias of its own.
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

  // Fixed: a caller that imports the derivative itself got a second import of the same name. Now
  // the file's own binding is reused: an import (also renamed), or a namespace import of the
  // derivative's module; a new import only where a parameter hides both.
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

  // Fixed: the caller's module declares its own `softplusD`, and the generated import of the
  // derivative collided with it (Node: "Identifier 'softplusD' has already been declared").
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

  // Fixed: a derivative its module does not export was imported anyway (Node: "does not provide
  // an export named 'cubeD'"). Now TS94013 at the derivative's name, saying to export it; used
  // only in its own module, it needs no export; exported under another name, that name is imported.
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

// ---- 3. what a derivative's shape can get wrong ------------------------------------------------

describe("custom derivatives: error or correct, never wrong", () => {
  // Fixed: a local or parameter of the caller named like the derivative hid it in the generated
  // backward pass (`cubeD(cubeD, f, 1)`: "cubeD is not a function"). Now the gradient calls an
  // alias the namer reserves: `const cubeD_2 = cubeD;` beside the derivative (its own module), or
  // an aliased import (another module). An arrow derivative's alias follows its const.
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

  // Fixed: a call leaving a defaulted argument out gave the derivative too few arguments (its `dv`
  // undefined: NaN). The default's value is not at the call, so such a call is TS94013 at the
  // call; calls passing every argument use the derivative.
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

  // Fixed: a rest parameter counted as one argument, so the derivative's `dv` got the value: NaN.
  // Now TS94013 at the derivative, and at each call of the function it was written for (a call
  // must not quietly go on without the derivative the user wrote).
  // An overloaded target is refused the same way: the derivative would take the first
  // signature's parameters, and a call of another signature would pass it others.
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

  // Fixed: a derivative typed to return a number, or a tuple of too few (or too many) gradients,
  // passed (only parameters were counted) and failed at run time ("not iterable", NaN). The
  // checker's return type must be a tuple of one number per argument; an inferred `number[]` too.
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

  // Fixed: `@derivative` on an arrow function was ignored, and the target was differentiated from
  // its body. Now a `const` holding an arrow function or function expression is a derivative like
  // a function declaration; a `let` is TS94013 (it could hold another function by the time the
  // gradient calls it).
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

  // Fixed (was documented as intended): grad(f) of a function with its own derivative
  // differentiated f's body while every caller used the derivative, so grad(f) and
  // grad((x) => f(x)) disagreed for a straight-through estimator. Now f's gradient is the
  // derivative too (as JAX's custom_vjp): forward `const y = f(x)`, backward `fD(x, y, dy)`.
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

// ---- 4. stopGradient ---------------------------------------------------------------------------

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

describe("stopGradient", () => {
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

// ---- 5. frames ---------------------------------------------------------------------------------

const FRAMES = `
export { saved as __saved } from "tsgrad";
export const count = { ticks: 0 };
export function tick(n: number): number { count.ticks++; return n; }

/** @differentiable */
export function up(x: number, n: number): number {
  let s = x;
  for (let i = 0; i < n; i++) s = Math.sin(s) * x + i;
  return s;
}
/** @differentiable */
export function upTo(x: number, n: number): number {
  let s = x;
  for (let i = 1; i <= n; i++) s = Math.cos(s) * x - 0.1 * i;
  return s;
}
/** @differentiable */
export function down(x: number, n: number): number {
  let s = x;
  for (let i = 5; i > n; i--) s = s * Math.cos(s + i) + x;
  return s;
}
/** @differentiable */
export function downTo(x: number, n: number): number {
  let s = x;
  for (let i = 4; i >= n; i--) s = Math.exp(-s * s) + x * i;
  return s;
}
/** @differentiable */
export function negativeStart(x: number, n: number): number {
  let s = x;
  for (let i = -3; i < n; i++) s = Math.exp(-s * s) + x * i;
  return s;
}
/** @differentiable */
export function exprBound(x: number, n: number): number {
  let s = x;
  for (let i = 0; i < n * 2 - 1; i++) s = Math.sin(s + x);
  for (let i = 0; i < Math.floor(n) + 1; i++) s = s * Math.cos(x);
  return s;
}
/** @differentiable */
export function innerWhile(x: number, n: number): number {
  let s = x;
  for (let i = 0; i < n; i++) {
    let t = s;
    while (t > 0.1) t = t * 0.5;
    s = s + Math.sin(t) * x;
  }
  return s;
}
/** @differentiable */
export function looped(x: number): number {
  let t = x;
  let k = 0;
  while (k < 3) { t = Math.sin(t) * 0.9 + x; k++; }
  for (let i = 0; i < 2; i++) t = Math.cos(t) + x;
  return t;
}
/** @differentiable */
export function callsLooped(x: number, n: number): number {
  let s = x;
  for (let i = 0; i < n; i++) s = looped(s) * x;
  return s;
}
/** @differentiable */
export function rec(x: number, d: number): number {
  if (d <= 0) return Math.sin(x);
  let s = x;
  for (let i = 0; i < 2; i++) s = Math.sin(s) + rec(s * 0.5, d - 1);
  return s;
}
/** @differentiable */
export function twoLoops(x: number, n: number): number {
  let s = x;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 2; j++) s = Math.sin(s * x + j);
  }
  let u = s;
  for (let i = 0; i < 3; i++) u = u * Math.exp(-u) + s;
  return u;
}
/** @differentiable */
export function invariant(a: number, n: number): number {
  const k = Math.exp(a);
  let x = a;
  for (let i = 0; i < n; i++) {
    const t = -k;
    const u = t * t;
    x = x * u * 0.1 + Math.sin(x) * t;
  }
  return x;
}
/** @differentiable */
export function withContinue(x: number, n: number): number {
  let s = x;
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) continue;
    s = Math.sin(s) * x;
  }
  return s;
}
/** @differentiable */
export function flags(x: number, n: number): number {
  let s = x;
  let flag = false;
  for (let i = 0; i < n; i++) {
    if (s > 1) flag = !flag;
    s = flag === true ? s * x : s + x;
  }
  return s;
}
/** @differentiable */
export function impureTest(x: number): number {
  let k = 0;
  let s = x;
  while (k < tick(3)) { s = Math.sin(s) + x; k++; }
  for (let i = 0; i < tick(2); i++) s = s * x;
  return s;
}
`;

describe("frames in counting loops", () => {
  const loaded = compile(FRAMES).then((c) => c.module);

  it("bounds that are parameters: non-integer, negative, zero trips, NaN; counting up and down", async () => {
    const m = await loaded;
    for (const n of [3, 2.5, 0, -1, 0.2]) check(m, "up", [0.7, n]);
    for (const n of [3, 2.5, 0, 0.99]) check(m, "upTo", [0.7, n]);
    for (const n of [2.5, 3, 7, -0.5]) check(m, "down", [0.3, n]);
    for (const n of [2.5, 3, 7, -0.5]) check(m, "downTo", [0.3, n]);
    for (const n of [2.5, -3, -5, 0]) check(m, "negativeStart", [0.3, n]);
    for (const n of [1.7, 2, 0.3, -1]) check(m, "exprBound", [0.4, n]);
    // NaN: the loop runs zero times; the gradient of s = x is [1, 0].
    const stack = m.__saved.size;
    expect(m.up_grad(0.7, NaN)).toEqual([1, 0]);
    expect(m.down_grad(0.7, NaN)).toEqual([1, 0]);
    expect(m.__saved.size).toBe(stack);
  });

  it("an inner while loop, calls to functions with loops, recursion, two top-level loops around nested ones", async () => {
    const m = await loaded;
    for (const p of [
      [0.7, 3],
      [1.9, 2],
      [0.7, 0],
    ])
      check(m, "innerWhile", p);
    for (const p of [
      [0.4, 3],
      [-0.8, 2.5],
    ])
      check(m, "callsLooped", p);
    for (const p of [
      [0.4, 2],
      [1.2, 3],
    ])
      check(m, "rec", p);
    for (const p of [
      [0.4, 3],
      [0.4, 1.5],
      [0.4, 0],
    ])
      check(m, "twoLoops", p);
    for (const p of [
      [0.1, 3],
      [-0.5, 4],
    ])
      check(m, "invariant", p);
    for (const p of [
      [0.6, 5],
      [0.6, 4.5],
    ])
      check(m, "withContinue", p);
    for (const p of [
      [0.9, 4],
      [1.3, 5],
      [0.2, 3],
    ])
      check(m, "flags", p);
  });

  it("a large frame grows the stack while other frames are live", async () => {
    const m = await loaded;
    // callsLooped keeps frames while looped's gradient pushes; 5000 iterations grow the stack.
    check(m, "up", [0.3, 5000], undefined, 1e-5);
    check(m, "callsLooped", [0.2, 300], undefined, 1e-5);
  });

  it("vjp interleaving: forward passes kept, then run backward in any order, with f_grad in between", async () => {
    const m = await loaded;
    for (const name of ["up", "callsLooped", "innerWhile", "twoLoops", "rec"]) {
      const a = m[`${name}_forward`](0.3, 3);
      const b = m[`${name}_forward`](0.5, 2);
      const c = m[`${name}_forward`](0.2, 4);
      const gb = m[`${name}_backward`](b.cache, 1);
      m[`${name}_grad`](0.9, 5);
      expect(m[`${name}_backward`](a.cache, 1), name).toEqual(m[`${name}_grad`](0.3, 3));
      expect(m[`${name}_backward`](c.cache, 1), name).toEqual(m[`${name}_grad`](0.2, 4));
      expect(m[`${name}_backward`](b.cache, 1), name).toEqual(gb);
      expect(gb, name).toEqual(m[`${name}_grad`](0.5, 2));
    }
  });

  it("the runtime's vjp, interleaved", async () => {
    const { module: m } = await compile(`
import { vjp } from "tsgrad";
/** @differentiable */
export function f(x: number, n: number): number {
  let s = x;
  for (let i = 0; i < n; i++) s = Math.sin(s) * x + i;
  return s;
}
export function interleaved(): number[][] {
  const a = vjp(f)(1, 3);
  const b = vjp(f)(2, 3);
  return [a.backward(1), b.backward(1), a.backward(2)];
}`);
    const [a, b, a2] = m.interleaved();
    expect(a).toEqual(m.f_grad(1, 3));
    expect(b).toEqual(m.f_grad(2, 3));
    expect(a2).toEqual(a.map((v: number) => 2 * v));
  });

  it("a loop test that calls a function is evaluated exactly as often as in f itself", async () => {
    const m = await loaded;
    const ticks = (run: () => unknown) => {
      const before = m.count.ticks;
      run();
      return m.count.ticks - before;
    };
    const plain = ticks(() => m.impureTest(0.4));
    expect(plain).toBe(4 + 3);
    expect(ticks(() => m.impureTest_grad(0.4))).toBe(plain);
    let cache: unknown;
    expect(ticks(() => (cache = m.impureTest_forward(0.4).cache))).toBe(plain);
    expect(ticks(() => m.impureTest_backward(cache, 1))).toBe(0);
    check(m, "impureTest", [0.4]);
  });

  it("the generated code type-checks under --strict", () => {
    expect(strictErrorsOf({ "frames.ts": FRAMES })).toEqual([]);
  });
});

// ---- 6. --report --------------------------------------------------------------------------------

describe("tsgrad print --report", () => {
  it("names the frames of a counting loop and the stack of a while loop, for functions with custom derivatives", async () => {
    const dir = join(root, ".tsgrad-tmp", "cases", `report_${randomUUID().slice(0, 8)}`);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "r.ts");
    writeFileSync(file, SAME_MODULE);
    const out = execFileSync(
      "node",
      [join(root, "dist", "transformer", "hosts", "cli.js"), "print", file, "--report", "--fn", "inLoop"],
      { encoding: "utf8", cwd: root },
    );
    expect(out).toMatch(/^inLoop /);
    expect(out).toContain("for (let i = 0; i < n; i++)");
    // The call's value (read by its derivative) is kept, one per iteration.
    expect(out).toMatch(/saves per iteration: .*sp/);
  });

  // Fixed: `tsgrad print file.ts` built its program from the file alone, so a derivative declared
  // in a module the file does not import (a derivatives module that imports the library) was not
  // seen, though tsc, building the whole project, uses it: print showed other code than the build.
  // Now a file of a tsconfig project is printed with the whole project in the program; a file
  // outside any project has only itself and its imports, and derivatives elsewhere are unseen.
  it("print sees the derivatives of the whole tsconfig project the file belongs to", () => {
    const dir = join(root, ".tsgrad-tmp", "cases", `print_project_${randomUUID().slice(0, 8)}`);
    const files: Record<string, string> = {
      "src/math.ts": MATH,
      "src/derivs.ts": `import { softplus } from "./math.js";\n/** @derivative softplus */\nexport function softplusD(x: number, y: number, dy: number): [number] { return [dy / (1 + Math.exp(-x))]; }`,
      "src/main.ts": `import { softplus } from "./math.js";\n/** @differentiable */\nexport function f(x: number): number { return softplus(x) * x; }`,
    };
    for (const [file, text] of Object.entries(files))
      (mkdirSync(dirname(join(dir, file)), { recursive: true }), writeFileSync(join(dir, file), text));
    const print = (cwd: string) =>
      spawnSync(process.execPath, [join(root, "dist", "transformer", "hosts", "cli.js"), "print", "src/main.ts"], {
        encoding: "utf8",
        cwd,
      });

    // Outside any project (the repository's tsconfig does not include .tsgrad-tmp): softplus has
    // no derivative in the program, and no gradient of its own.
    const alone = print(dir);
    expect(alone.status).toBe(1);
    expect(alone.stderr).toMatch(/src\/main\.ts\(3,47\): error TS94006: .*softplus/);

    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { module: "nodenext", strict: true, noEmit: true }, include: ["src"] }),
    );
    const inProject = print(dir);
    expect(inProject.stderr).toBe("");
    expect(inProject.status).toBe(0);
    expect(inProject.stdout).toMatch(/const \[dx_softplus_x\] = softplusD\(x, softplus_x, dsoftplus_x\);/);
  });
});
