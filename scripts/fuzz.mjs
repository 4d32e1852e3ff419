// Property-based gradient checking at scale: thousands of random @differentiable programs, with a
// fresh seed each time, each compiled through tsgrad's transformer (dist/) and checked against
// central finite differences of itself (test/fuzz/, which `npm test` runs with a fixed seed). Every
// family has var, switch, assignments inside expressions, && / || on numbers, global constants
// and data parameters (issue 13) besides its own constructs; array and object programs also pass
// arrays to helpers (marked or not), read module tables, call reduce, map and entries(), make
// arrays in loops and branches, and give let arrays other arrays (swaps, rotations, new states).
//
//   npm run fuzz                                  # 2,000 programs, a new seed (printed)
//   npm run fuzz -- --runs 10000                  # more programs
//   npm run fuzz -- --seed 1234                   # the same programs again
//   npm run fuzz -- --seed 1234 --path 17:3:0     # replay (and shrink) one failure, as printed
//   npm run fuzz -- --shrink-seconds 600          # more time to shrink a failure (default 300)
//   npm run fuzz -- --large                       # larger programs: deeper nesting, longer blocks
//   npm run fuzz -- --arrays                      # array programs only (the default mixes scalar,
//   npm run fuzz -- --objects                     # array and object programs, a third each), object
//   npm run fuzz -- --scalar                      # programs only, or scalar only
//   npm run fuzz -- --all                         # include programs that may trigger a known bug
//                                                 # (test/fuzz/known-bugs.ts; skipped by default)
//
// On a failure it prints the smallest failing program fast-check shrank it to, as TypeScript, with
// the seed and path that replay it, and exits with 1. A compile that takes longer than
// --hang-seconds (default 120) is a compiler hang: the program is printed as generated (a hang
// cannot be shrunk in process) and the run ends (SIGTERM, exit status 143).
//
// The fuzzer's modules are TypeScript (test/fuzz/*.ts); Node 20 runs no TypeScript, so they are
// transpiled (types stripped, nothing else) to .tsgrad-tmp/fuzz-lib/ first. Programs are written
// to .tsgrad-tmp/fuzz/run-<pid>/ (removed when everything passes), where `import ... from "tsgrad"`
// resolves to this package's dist/.

import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";
import { compilerOptions } from "./bench/compile.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

function usage(message) {
  console.error(
    `fuzz: ${message}\nusage: npm run fuzz -- [--runs N] [--seed N] [--path P] [--shrink-seconds S] [--hang-seconds S] [--large] [--arrays | --objects | --scalar] [--all]`,
  );
  process.exit(2);
}

function parseArgs(argv) {
  // arrays: as Sizes.arrays (programs.ts): "mixed", true (array programs only) or false (scalar only);
  // objects: with "mixed", object programs are a third family; with arrays true, object programs only
  const options = {
    runs: 2000,
    seed: undefined,
    path: undefined,
    shrinkSeconds: 300,
    hangSeconds: 120,
    all: false,
    large: false,
    arrays: "mixed",
    objects: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split("=", 2);
    const value = () => inline ?? argv[++i] ?? usage(`${flag} needs a value`);
    const integer = () => {
      const v = value();
      if (!/^-?\d+$/.test(v)) usage(`${flag} takes an integer, got ${v}`);
      return Number(v);
    };
    if (flag === "--runs") options.runs = integer();
    else if (flag === "--seed") options.seed = integer();
    else if (flag === "--path") options.path = value();
    else if (flag === "--shrink-seconds") options.shrinkSeconds = integer();
    else if (flag === "--hang-seconds") options.hangSeconds = integer();
    else if (flag === "--all") options.all = true;
    else if (flag === "--large") options.large = true;
    else if (flag === "--arrays") ((options.arrays = true), (options.objects = false));
    else if (flag === "--objects") ((options.arrays = true), (options.objects = true));
    else if (flag === "--scalar") ((options.arrays = false), (options.objects = false));
    else if (flag === "--help" || flag === "-h") usage("property-based gradient checking of random programs");
    else usage(`unknown option ${argv[i]}`);
  }
  if (options.runs < 1) usage("--runs must be at least 1");
  return options;
}

/** Transpiles test/fuzz/*.ts to JavaScript beside nothing else, and imports the entry points. */
async function loadFuzzer() {
  const src = join(root, "test", "fuzz");
  const out = join(root, ".tsgrad-tmp", "fuzz-lib", String(process.pid));
  mkdirSync(out, { recursive: true });
  for (const file of readdirSync(src).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))) {
    const { outputText } = ts.transpileModule(readFileSync(join(src, file), "utf8"), {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: false },
      fileName: file,
    });
    writeFileSync(join(out, file.replace(/\.ts$/, ".js")), outputText);
  }
  const load = (name) => import(pathToFileURL(join(out, `${name}.js`)).href);
  return { out, run: await load("run"), compile: await load("compile"), check: await load("check") };
}

const options = parseArgs(process.argv.slice(2));
const seed = options.seed ?? Math.floor(Math.random() * 0x7fffffff);

let transformer;
try {
  ({ default: transformer } = await import(pathToFileURL(join(root, "dist/transformer/hosts/tsc.js")).href));
} catch (e) {
  console.error("fuzz: dist/ is missing or stale; run `npm run build` first (npm run fuzz does).\n" + e);
  process.exit(2);
}
const fuzzer = await loadFuzzer();

const outDir = join(root, ".tsgrad-tmp", "fuzz", `run-${process.pid}`);

/**
 * `compile`, watched by a thread of its own: a compiler stuck in a loop holds this thread, so
 * nothing here could report it (not even the progress timer). The watchdog sees when the current
 * compile started (seconds, in shared memory; 0 between compiles), and after `limit` seconds
 * writes the newest program of outDir (the one being compiled) to stderr and ends the process.
 */
function watched(compile, limit) {
  const started = new Int32Array(new SharedArrayBuffer(4));
  const clock = () => Math.max(1, Math.round(performance.timeOrigin / 1000 + performance.now() / 1000) % 2 ** 30);
  const watchdog = new Worker(
    `const { workerData: { started, limit, outDir, seed, flags } } = require("node:worker_threads");
    const { readdirSync, readFileSync, statSync, writeSync } = require("node:fs");
    const { join } = require("node:path");
    const clock = ${clock.toString()};
    setInterval(() => {
      const t = Atomics.load(started, 0);
      if (!t || clock() - t < limit) return;
      const newest = readdirSync(outDir).filter((f) => f.endsWith(".ts")).map((f) => join(outDir, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
      writeSync(2, "\\ntsgrad fuzz: the compiler has not finished a program in " + limit + " s (a hang?), seed " + seed + flags + ":\\n\\n" + (newest ? readFileSync(newest, "utf8") : "(not found)") + "\\n" + (newest ? "(" + newest + ")\\n" : ""));
      process.kill(process.pid, "SIGTERM"); // process.exit would end this thread alone
    }, 1000);`,
    { eval: true, workerData: { started, limit, outDir, seed, flags } },
  );
  watchdog.unref();
  return async (source) => {
    Atomics.store(started, 0, clock());
    try {
      return await compile(source);
    } finally {
      Atomics.store(started, 0, 0);
    }
  };
}

const family = options.arrays === "mixed" ? "mixed" : options.objects ? "objects" : String(options.arrays);
const kinds = { mixed: "scalar, array and object", objects: "object", true: "array", false: "scalar" }[family];
console.log(
  `tsgrad fuzz: ${options.path ? "replaying one program" : `${options.runs} random ${kinds} programs`}, seed ${seed}`,
);
const flags = `${options.large ? " --large" : ""}${{ mixed: "", objects: " --objects", true: " --arrays", false: " --scalar" }[family]}${options.all ? " --all" : ""}`;
const compile = watched(fuzzer.compile.createCompiler({ transformer, outDir, compilerOptions }), options.hangSeconds);
console.log(
  `  (again: npm run fuzz -- --seed ${seed}${options.path ? ` --path ${options.path}` : ` --runs ${options.runs}`}${flags})`,
);
const sizes = {
  ...(options.large ? { stmtDepth: 3, blockLength: 6, helpers: 3 } : {}),
  arrays: options.arrays,
  objects: options.objects,
};
const stats = fuzzer.check.emptyStats();
const started = Date.now();
const progress = setInterval(() => {
  const s = (Date.now() - started) / 1000;
  console.log(
    `  ${stats.passed} programs checked at ${stats.points} points, ${stats.skipped} + ${stats.known} skipped, ${s.toFixed(0)} s`,
  );
}, 15_000);

const result = await fuzzer.run.fuzz({
  seed,
  runs: options.runs,
  path: options.path,
  compile,
  stats,
  shrinkMs: options.shrinkSeconds * 1000,
  check: { includeKnownBugs: options.all },
  sizes,
  replayFlags: flags,
});
clearInterval(progress);
const seconds = ((Date.now() - started) / 1000).toFixed(1);
rmSync(fuzzer.out, { recursive: true, force: true });
if (result.failed) {
  console.log(`\n${result.report}\n`);
  console.log(`FAILED after ${seconds} s; the compiled programs are in ${outDir}`);
  process.exit(1);
}
rmSync(outDir, { recursive: true, force: true });
console.log(
  `passed: ${stats.passed} programs checked at ${stats.points} points, ${seconds} s, seed ${seed}\n` +
    `  also drawn and skipped: ${stats.skipped} with no point where finite differences can be trusted, ` +
    `${stats.known} that may trigger a known bug (test/fuzz/known-bugs.ts${options.all ? "" : "; --all checks them"})`,
);
