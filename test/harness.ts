// Compiles TypeScript source through the same pipeline tsc uses (the ts-patch transformer) and
// loads the result, so tests can call the generated gradients. Files go under .tsgrad-tmp/ in the
// repository, where `import ... from "tsgrad"` resolves to the built runtime.

import { createHash, randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";
import { expect } from "vitest";
import tsgradTransformer from "../transformer/hosts/tsc.js";
import { transformToText } from "../transformer/text.js";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const tmp = join(root, ".tsgrad-tmp", "cases");

export const compilerOptions: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  skipLibCheck: true,
  types: [],
};

/**
 * ts.createProgram with the declaration files (TypeScript's lib files, @types, tsgrad's built
 * .d.ts) parsed once per test file and shared by its programs, as an editor's language service
 * shares them: a program of one small file then takes ~30 ms instead of ~700 ms. Files under
 * .tsgrad-tmp/ and the examples are read anew each time.
 */
export function createProgram(
  rootNames: readonly string[],
  options: ts.CompilerOptions,
  host: ts.CompilerHost = sharedHost(options),
): ts.Program {
  return ts.createProgram(rootNames, options, host);
}

const declarations = new Map<string, ts.SourceFile>();

function sharedHost(options: ts.CompilerOptions): ts.CompilerHost {
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile;
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    if (!fileName.endsWith(".d.ts") || fileName.includes(".tsgrad-tmp"))
      return read.call(host, fileName, languageVersion, onError, shouldCreate);
    const key = `${fileName}|${JSON.stringify(languageVersion)}`;
    let file = declarations.get(key);
    if (!file) {
      file = read.call(host, fileName, languageVersion, onError, shouldCreate);
      if (file) declarations.set(key, file);
    }
    return file;
  };
  return host;
}

export interface Compiled {
  /** The loaded module: the user's exports plus the generated f_grad / f_forward / f_backward. */
  module: Record<string, any>;
  /** tsgrad's and TypeScript's errors, formatted as tsc prints them. */
  diagnostics: ts.Diagnostic[];
  js: string;
}

/** Writes `source` to a file named after its hash, compiles it with the transformer, imports it. */
export async function compile(source: string): Promise<Compiled> {
  const { diagnostics, js, file } = compileToJs(source);
  const errors = diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length)
    throw new Error(
      ts.formatDiagnostics(errors, {
        getCanonicalFileName: (f) => f,
        getCurrentDirectory: () => root,
        getNewLine: () => "\n",
      }),
    );
  return { module: await import(pathToFileURL(file).href), diagnostics, js };
}

/**
 * Compiles several files together (names relative to a fresh folder, e.g. "lib.ts", "app/main.ts")
 * with the transformer, compilerOptions overridden by `options`; loads nothing. Emitted files are
 * written beside their sources. A folder with its own package.json (another package, where
 * `"tsgrad"` no longer resolves to the repository itself) gets node_modules/tsgrad linked to it.
 */
export function emitProject(
  files: Record<string, string>,
  options: ts.CompilerOptions = {},
): { dir: string; diagnostics: ts.Diagnostic[]; outputs: Map<string, string> } {
  const name = `${createHash("sha1").update(JSON.stringify(files)).digest("hex").slice(0, 10)}_${randomUUID().slice(0, 8)}`;
  const dir = join(tmp, `project_${name}`);
  mkdirSync(dir, { recursive: true });
  if ("package.json" in files) {
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(root, join(dir, "node_modules", "tsgrad"), "dir");
  }
  const paths = Object.entries(files).map(([file, text]) => {
    const path = join(dir, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    return path;
  });
  const program = createProgram(
    paths.filter((p) => /\.[cm]?ts$/.test(p)),
    { ...compilerOptions, ...options },
  );
  const diagnostics: ts.Diagnostic[] = [...ts.getPreEmitDiagnostics(program)];
  const outputs = new Map<string, string>();
  program.emit(undefined, (f, text) => (writeFileSync(f, text), outputs.set(f, text)), undefined, false, {
    before: [tsgradTransformer(program, {}, { addDiagnostic: (d) => diagnostics.push(d) })],
  });
  return { dir, diagnostics, outputs };
}

/** emitProject with the default options, then imports `entry`. For calls across modules. */
export async function compileProject(files: Record<string, string>, entry: string): Promise<Compiled> {
  const { dir, diagnostics, outputs } = emitProject(files);
  const errors = diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length)
    throw new Error(
      ts.formatDiagnostics(errors, {
        getCanonicalFileName: (f) => f,
        getCurrentDirectory: () => root,
        getNewLine: () => "\n",
      }),
    );
  const main = join(dir, entry.replace(/\.ts$/, ".js"));
  return { module: await import(pathToFileURL(main).href), diagnostics, js: outputs.get(main) ?? "" };
}

/** Compiles without loading; for tests of diagnostics. */
export function compileToJs(source: string): {
  diagnostics: ts.Diagnostic[];
  js: string;
  file: string;
  sourceFile: string;
} {
  mkdirSync(tmp, { recursive: true });
  // A unique name per call: test files run in parallel workers and may compile the same source.
  const name = `${createHash("sha1").update(source).digest("hex").slice(0, 10)}_${randomUUID().slice(0, 8)}`;
  const sourceFile = join(tmp, `case_${name}.ts`);
  writeFileSync(sourceFile, source);
  const program = createProgram([sourceFile], compilerOptions);
  const diagnostics: ts.Diagnostic[] = [...ts.getPreEmitDiagnostics(program)];
  let js = "";
  const file = sourceFile.replace(/\.ts$/, ".js");
  program.emit(
    undefined,
    (f, text) => {
      if (f.endsWith(".js")) {
        js = text;
        writeFileSync(file, text);
      }
    },
    undefined,
    false,
    { before: [tsgradTransformer(program, {}, { addDiagnostic: (d) => diagnostics.push(d) })] },
  );
  return { diagnostics, js, file, sourceFile };
}

/** A module of one exported @differentiable function `f(params)` with `body`, after `preamble`. */
export const sourceOfF = (body: string, params = "x: number, y: number", preamble = "") =>
  `${preamble}\n/** @differentiable */\nexport function f(${params}): number {\n${body}\n}\n`;

/** Compiles sourceOfF(body, params, preamble); returns f, its gradient f_grad and the module. */
export async function compileF(
  body: string,
  params?: string,
  preamble?: string,
): Promise<{ f: (...a: number[]) => number; g: (...a: number[]) => number[]; m: Record<string, any> }> {
  const { module } = await compile(sourceOfF(body, params, preamble));
  return { f: module.f, g: module.f_grad, m: module };
}

/**
 * vjp of the generated `name`: name_forward gives name's value; name_backward(cache, dout) gives
 * dout * name_grad for several dout, and running it twice on one cache gives the same answer.
 */
export function checkVjp(m: Record<string, any>, name: string, args: number[]): void {
  const value = m[name](...args);
  const grad: number[] = m[`${name}_grad`](...args);
  const { value: v, cache } = m[`${name}_forward`](...args);
  expect(v).toBe(value);
  for (const dout of [1, -2.5, 0.125, 1]) {
    const back: number[] = m[`${name}_backward`](cache, dout);
    expectClose(
      back,
      grad.map((gi) => gi * dout),
      1e-12,
    );
  }
}

/** compileF(body, params, preamble): f_grad against finite differences at each point, and checkVjp. */
export async function checkFd(
  body: string,
  points: number[][],
  params?: string,
  tol = 1e-6,
  preamble = "",
): Promise<void> {
  const { f, g, m } = await compileF(body, params, preamble);
  for (const p of points) {
    expectClose(g(...p), numericGradient(f, p), tol);
    checkVjp(m, "f", p);
  }
}

/**
 * The generated `name` of m, whose module re-exports the runtime's stack as `__saved`: name_grad
 * against `expected` (default: central differences; when `lastIsCount`, the last of several
 * arguments is a trip count or depth, with gradient 0, where finite differences jump), the shared
 * stack back to its size, name_forward's value name's, name_backward(cache, 1) equal to name_grad,
 * twice the same, and linear in dout.
 */
export function checkWithStack(
  m: Record<string, any>,
  name: string,
  args: number[],
  opts: { expected?: number[]; tol?: number; lastIsCount?: boolean } = {},
): void {
  const where = `${name}(${args.join(", ")})`;
  const stack = m.__saved.size;
  const g = m[`${name}_grad`](...args);
  expect(m.__saved.size, `${where}: f_grad left the shared stack changed`).toBe(stack);
  const counted = (opts.lastIsCount ?? false) && args.length > 1;
  const oracle = () => {
    const continuous = counted ? args.slice(0, -1) : args;
    const n = numericGradient(
      (...a: number[]) => m[name](...a, ...(counted ? [args[args.length - 1]] : [])),
      continuous,
    );
    return counted ? [...n, 0] : n;
  };
  try {
    expectClose(g, opts.expected ?? oracle(), opts.tol ?? 1e-6);
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

/** The codes of tsgrad's diagnostics for `source` (compiled without loading). */
export function tsgradCodes(source: string): number[] {
  return compileToJs(source)
    .diagnostics.filter((d) => d.source === "tsgrad")
    .map((d) => d.code);
}

/** tsgrad's diagnostic codes for sourceOfF(body, params, preamble). */
export const refusedCodes = (body: string, params?: string, preamble?: string): number[] =>
  tsgradCodes(sourceOfF(body, params, preamble));

/** tsgrad's errors on `source` (code >= 94000): the code, the source text at the node, the message, the line. */
export function tsgradErrors(source: string): { code: number; text: string; message: string; line: number }[] {
  const { diagnostics } = compileToJs(source);
  return diagnostics
    .filter((d) => d.category === ts.DiagnosticCategory.Error && d.code >= 94000)
    .map((d) => ({
      code: d.code,
      text: source.slice(d.start!, d.start! + d.length!),
      message: ts.flattenDiagnosticMessageText(d.messageText, "\n"),
      line: source.slice(0, d.start!).split("\n").length,
    }));
}

/** TypeScript's own errors on `source` (to know a case is valid TypeScript before asking tsgrad). */
export function typeScriptErrors(source: string): string[] {
  return compileToJs(source)
    .diagnostics.filter((d) => d.source !== "tsgrad" && d.category === ts.DiagnosticCategory.Error)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
}

/** The text of the function `name` in compiled JS, up to its closing brace at column 0. */
export function bodyOf(js: string, name: string): string {
  const start = js.indexOf(`function ${name}(`);
  if (start < 0) throw new Error(`no function ${name} in the output`);
  return js.slice(start, js.indexOf("\n}\n", start));
}

/** Central finite differences of f at args, one partial per argument (the oracle for gradients). */
export function numericGradient(f: (...args: number[]) => number, args: number[], h = 1e-6): number[] {
  return args.map((_, i) => {
    const plus = args.slice();
    const minus = args.slice();
    plus[i] += h;
    minus[i] -= h;
    return (f(...plus) - f(...minus)) / (2 * h);
  });
}

/** Asserts analytic ≈ numeric under |a - n| <= tol * max(1, |a| + |n|). */
export function expectClose(analytic: readonly number[], numeric: readonly number[], tol = 1e-6): void {
  analytic.forEach((a, i) => {
    const n = numeric[i];
    const err = Math.abs(a - n) / Math.max(1, Math.abs(a) + Math.abs(n));
    if (!(err <= tol)) throw new Error(`gradient ${i}: analytic ${a} vs numeric ${n} (relative error ${err})`);
  });
}

/**
 * Central differences of f in every entry of args[which]: an array, or a Matrix (its data). The
 * entries are changed in place and put back.
 */
export function numericEntries(f: (...args: any[]) => number, args: any[], which: number, h = 1e-6): number[] {
  const a: Float64Array | number[] = args[which].data ?? args[which];
  return Array.from(a, (_, j) => {
    const old = a[j];
    a[j] = old + h;
    const plus = f(...args);
    a[j] = old - h;
    const minus = f(...args);
    a[j] = old;
    return (plus - minus) / (2 * h);
  });
}

/**
 * Asserts a ≈ b entry by entry under |a - b| <= tol * max(1, |a| + |b|), naming the first entry
 * that is not: `dW1[3]: 0.25 vs 0.2501 (relative error ...)`.
 */
export function expectAllClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what = "entry"): void {
  if (a.length !== b.length) throw new Error(`${what}: lengths ${a.length} and ${b.length} differ`);
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(a[i]) + Math.abs(b[i]));
    if (!(err <= tol)) throw new Error(`${what}[${i}]: ${a[i]} vs ${b[i]} (relative error ${err})`);
  }
}

export const readText = (path: string) => readFileSync(path, "utf8");

/**
 * Generated code as `tsgrad gen` writes it (under .tsgrad-tmp/<folder>/), compiled again with plain
 * tsc --strict (and `extra` options, such as noUnusedLocals): its errors, each with the generated line
 * it is on. tsgrad itself must accept `source`.
 */
export function genStrictErrors(
  source: string,
  folder: string,
  extra: ts.CompilerOptions = {},
): { code: number; text: string; line: string }[] {
  const dir = join(root, ".tsgrad-tmp", folder);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "source.ts");
  writeFileSync(file, source);
  const program = createProgram([file], { ...compilerOptions, noEmit: true });
  const { text, diagnostics } = transformToText(program.getSourceFile(file)!, program);
  if (diagnostics.length)
    throw new Error(
      `tsgrad refused the source: ${diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, " ")).join("; ")}`,
    );
  const out = join(dir, "generated.ts");
  writeFileSync(out, text);
  const lines = text.split("\n");
  return ts.getPreEmitDiagnostics(createProgram([out], { ...compilerOptions, ...extra, noEmit: true })).map((d) => ({
    code: d.code,
    text: ts.flattenDiagnosticMessageText(d.messageText, "\n"),
    line: d.start === undefined ? "" : lines[d.file!.getLineAndCharacterOfPosition(d.start).line].trim(),
  }));
}

/**
 * The tsconfig.json of a folder `tsgrad gen` wrote (`out/`): plain tsc with no plugins, strict,
 * Node's module resolution, compiled into `../js`.
 */
export const GEN_TSCONFIG = JSON.stringify({
  compilerOptions: {
    target: "es2022",
    module: "nodenext",
    moduleResolution: "nodenext",
    strict: true,
    skipLibCheck: true,
    types: [],
    rootDir: ".",
    outDir: "../js",
  },
  include: ["**/*.ts"],
});
