// Compiles the benchmark's TypeScript through tsgrad's transformer from dist/, the way a user's
// `tspc` build would, and imports the result.
//
//   const mods = await compileExamples(root);   // examples/seed.ts, network, adbench, recursion → { seed, network, ... }
//   const scalar = await compileScalar(root);                // scripts/bench/scalar.ts
//
// Output goes to .tsgrad-tmp/bench/ (gitignored); there `import ... from "tsgrad"` resolves to
// this package itself (package.json "name" + "exports"), so generated code and the benchmark
// share one runtime (one saved-value stack).

import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";

/** The options of test/harness.ts, which the scripts compiling through the transformer share. */
export const compilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  skipLibCheck: true,
  types: [],
};

/** The examples the benchmark times, relative to examples/, by the name loadExamples gives each module; their imports come along. */
const EXAMPLES = {
  seed: "seed.ts",
  network: "network.ts",
  networkLoops: "network/loops.ts",
  networkFactored: "network/factored.ts",
  networkHand: "network/hand.ts",
  params: "network/params.ts",
  spiral: "network/spiral.ts",
  io: "adbench/io.ts",
  gmm: "adbench/gmm.ts",
  gmmFactored: "adbench/gmm-factored.ts",
  gmmHand: "adbench/gmm-hand.ts",
  ba: "adbench/ba.ts",
  baHand: "adbench/ba-hand.ts",
  recursion: "recursion.ts",
};
export const EXAMPLE_FILES = Object.values(EXAMPLES);

async function loadTransformer(root) {
  try {
    return (await import(pathToFileURL(join(root, "dist/transformer/hosts/tsc.js")).href)).default;
  } catch (e) {
    throw new Error(`dist/ is missing or stale; run \`npm run build\` first.\n${e}`);
  }
}

/**
 * Compiles `files` (absolute) with rootDir → outDir through the transformer (dist/'s, unless one
 * is given); throws on any error. The examples read Node's types (performance, console).
 */
export async function compileFiles(root, files, rootDir, outDir, transformer) {
  transformer ??= await loadTransformer(root);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const program = ts.createProgram(files, { ...compilerOptions, types: ["node"], rootDir, outDir });
  const diagnostics = [...ts.getPreEmitDiagnostics(program)];
  program.emit(undefined, undefined, undefined, false, {
    before: [transformer(program, {}, { addDiagnostic: (d) => diagnostics.push(d) })],
  });
  const errors = diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length) {
    const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => "\n" };
    throw new Error(
      `compiling ${files.map((f) => relative(root, f)).join(", ")}:\n${ts.formatDiagnostics(errors, host)}`,
    );
  }
}

const importFrom = (dir, rel) => import(pathToFileURL(join(dir, rel.replace(/\.ts$/, ".js"))).href);

/**
 * The examples, compiled and imported, by the names of EXAMPLES: { seed, network, networkLoops,
 * networkFactored, ... }, and compiledSource(name), the JavaScript of one of them.
 */
export async function compileExamples(root) {
  const src = join(root, "examples");
  await compileFiles(
    root,
    EXAMPLE_FILES.map((f) => join(src, f)),
    src,
    examplesOut(root),
  );
  return loadExamples(root);
}

const examplesOut = (root) => join(root, ".tsgrad-tmp", "bench", "examples");
const scalarOut = (root) => join(root, ".tsgrad-tmp", "bench", "scalar");

/** The examples as compileExamples last compiled them (the benchmark's timing processes). */
export async function loadExamples(root) {
  const out = examplesOut(root);
  const names = Object.keys(EXAMPLES);
  const modules = await Promise.all(names.map((name) => importFrom(out, EXAMPLES[name])));
  return {
    ...Object.fromEntries(names.map((name, i) => [name, modules[i]])),
    /** The JavaScript a module was compiled to (with its unexported functions: pullbacks, helpers). */
    compiledSource: (name) => readFileSync(join(out, EXAMPLES[name].replace(/\.ts$/, ".js")), "utf8"),
  };
}

/** scripts/bench/scalar.ts (the recurrence and the scalar hand-written gradients), compiled and imported. */
export async function compileScalar(root) {
  const src = join(root, "scripts", "bench");
  await compileFiles(root, [join(src, "scalar.ts")], src, scalarOut(root));
  return loadScalar(root);
}

/** scripts/bench/scalar.ts as compileScalar last compiled it. */
export const loadScalar = (root) => importFrom(scalarOut(root), "scalar.ts");

/**
 * What tsgrad says about small programs, each `{ name, what, source }` (TypeScript text), compiled
 * through the transformer one by one in .tsgrad-tmp/bench/refused/: [{ name, what, source,
 * diagnostics }], diagnostics the transformer's errors ("file(line,col): error TS94xxx: ...";
 * none when it accepts the program). The benchmark reports the natural forms it could not use.
 */
export async function transformerDiagnostics(root, programs) {
  const transformer = await loadTransformer(root);
  const dir = join(root, ".tsgrad-tmp", "bench", "refused");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => dir, getNewLine: () => "\n" };
  return programs.map((p) => {
    const file = join(dir, `${p.name}.ts`);
    writeFileSync(file, p.source);
    const program = ts.createProgram([file], { ...compilerOptions, rootDir: dir, outDir: join(dir, "out") });
    const diagnostics = [];
    program.emit(undefined, undefined, undefined, false, {
      before: [transformer(program, {}, { addDiagnostic: (d) => diagnostics.push(d) })],
    });
    const errors = diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
    return {
      ...p,
      diagnostics: errors.map((d) => ts.formatDiagnostic(d, host).trim().replace(/\s+/g, " ")),
    };
  });
}
