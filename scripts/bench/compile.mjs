// Compiles the benchmark's TypeScript through tsgrad's transformer from dist/, the way a user's
// `tspc` build would, and imports the result.
//
//   const mods = await compileExamples(root);   // examples/seed.ts, network, adbench, recursion → { seed, network, ... }
//   const scalar = await compileScalar(root);                // scripts/bench/scalar.ts
//
// Output goes to .tsgrad-tmp/bench/ (gitignored); there `import ... from "tsgrad"` resolves to
// this package itself (package.json "name" + "exports"), so generated code and the benchmark
// share one runtime (one saved-value stack).

import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";

const compilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  skipLibCheck: true,
  types: ["node"],
};

/** The examples the benchmark times, relative to examples/; their imports come along. */
export const EXAMPLE_FILES = [
  "seed.ts",
  "network.ts",
  "network/loops.ts",
  "network/hand.ts",
  "network/params.ts",
  "network/spiral.ts",
  "adbench/io.ts",
  "adbench/gmm.ts",
  "adbench/gmm-hand.ts",
  "adbench/ba.ts",
  "adbench/ba-hand.ts",
  "recursion.ts",
];

async function loadTransformer(root) {
  try {
    return (await import(pathToFileURL(join(root, "dist/transformer/hosts/tsc.js")).href)).default;
  } catch (e) {
    throw new Error(`dist/ is missing or stale; run \`npm run build\` first.\n${e}`);
  }
}

/** Compiles `files` (absolute) with rootDir → outDir through the transformer; throws on any error. */
async function compile(root, files, rootDir, outDir) {
  const transformer = await loadTransformer(root);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const program = ts.createProgram(files, { ...compilerOptions, rootDir, outDir });
  const diagnostics = [...ts.getPreEmitDiagnostics(program)];
  program.emit(undefined, undefined, undefined, false, {
    before: [transformer(program, {}, { addDiagnostic: (d) => diagnostics.push(d) })],
  });
  const errors = diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length) {
    const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => "\n" };
    throw new Error(`compiling the benchmark's TypeScript:\n${ts.formatDiagnostics(errors, host)}`);
  }
}

const importFrom = (dir, rel) => import(pathToFileURL(join(dir, rel.replace(/\.ts$/, ".js"))).href);

/** The examples, compiled and imported: { seed, network, networkLoops, networkHand, params, spiral, io, gmm, gmmHand, ba, baHand, recursion }. */
export async function compileExamples(root) {
  const src = join(root, "examples");
  await compile(
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
  const [seed, network, networkLoops, networkHand, params, spiral, io, gmm, gmmHand, ba, baHand, recursion] =
    await Promise.all(EXAMPLE_FILES.map((f) => importFrom(out, f)));
  return { seed, network, networkLoops, networkHand, params, spiral, io, gmm, gmmHand, ba, baHand, recursion };
}

/** scripts/bench/scalar.ts (the recurrence and the scalar hand-written gradients), compiled and imported. */
export async function compileScalar(root) {
  const src = join(root, "scripts", "bench");
  await compile(root, [join(src, "scalar.ts")], src, scalarOut(root));
  return loadScalar(root);
}

/** scripts/bench/scalar.ts as compileScalar last compiled it. */
export const loadScalar = (root) => importFrom(scalarOut(root), "scalar.ts");
