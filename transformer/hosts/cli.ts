#!/usr/bin/env node
// The `tsgrad` command; wiring only: arguments → project.ts (a program) → files.ts → format.ts.
//
//   tsgrad print <file.ts> [--fn name] [--stage staged|reverse|final] [--report]
//       the generated code of a file (or one function), formatted, on stdout; or what it keeps in memory
//   tsgrad gen <files or folders...> --out <folder>
//       every file transformed to plain TypeScript that needs no plugin, under <folder>
//
// Guarantees: tsgrad's refusals are printed to stderr as tsc prints them
// (`file.ts(3,7): error TS94002: ...`) and exit 1; usage errors exit 2; `gen` writes nothing
// unless every function compiled (a missing gradient would only fail later, at run time).

import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { parseArgs } from "node:util";
import ts from "typescript";
import { formatDiagnostics } from "../ir/diagnostics.js";
import { format } from "./format.js";
import { generatedText, transformToText } from "../text.js";
import type { Stage } from "../pipeline.js";
import { createProgram, readProjectConfig } from "./project.js";
import { formatReport } from "../phases/report.js";

const USAGE = `Usage:
  tsgrad print <file.ts> [--fn <name>] [--stage staged|reverse|final] [--report]
      Print the code generated for the @differentiable functions of a file (or one of them),
      or with --report what each gradient keeps in memory: its vjp cache, and per loop the
      values saved per iteration.
  tsgrad gen <files or folders...> --out <folder>
      Write the transformed files, plain TypeScript that needs no compiler plugin
      (for esbuild, swc, Bun, TypeScript 7), keeping their paths under the inputs' common folder.

Options:
  --fn <name>      print only this function's generated code
  --stage <stage>  staged (one operation per line), reverse (before optimization), final (default)
  --report         print what each gradient keeps in memory instead of the code
  --check-finite   also generate f_gradChecked for every function, for grad(f, { checkFinite: true })
                   (without it, only for functions such a call in the program names)
  --out <folder>   where gen writes
  --project <path> the tsconfig.json to use (default: the nearest one above the first input)
  -h, --help       this text
  -v, --version    tsgrad's version
`;

const STAGES: readonly Stage[] = ["staged", "reverse", "final"];
const TS_EXTENSIONS = /\.(ts|mts|cts|tsx)$/;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      fn: { type: "string" },
      stage: { type: "string" },
      out: { type: "string" },
      project: { type: "string" },
      report: { type: "boolean" },
      "check-finite": { type: "boolean" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
    },
  });
  if (values.help) return (write(process.stdout, USAGE), 0);
  if (values.version) return (write(process.stdout, `${version()}\n`), 0);
  const [command, ...inputs] = positionals;
  if (command === "print") return print(inputs, values);
  if (command === "gen") return gen(inputs, values);
  throw new UsageError(command ? `unknown command '${command}'` : "no command given");
}

/** `tsgrad print file.ts`: generatedText of one file, formatted. */
async function print(
  inputs: string[],
  opts: { fn?: string; stage?: string; project?: string; report?: boolean; "check-finite"?: boolean },
): Promise<number> {
  if (inputs.length !== 1) throw new UsageError("print takes exactly one file");
  const stage = (opts.stage ?? "final") as Stage;
  if (!STAGES.includes(stage)) throw new UsageError(`--stage must be one of ${STAGES.join(", ")}`);
  const file = resolve(inputs[0]);
  if (!isFile(file)) return fail(`tsgrad: cannot read '${inputs[0]}'`);
  if (!TS_EXTENSIONS.test(file)) throw new UsageError(`'${inputs[0]}' is not a TypeScript file`);
  const { program, configErrors } = programOf([file], opts.project);
  const sourceFile = program.getSourceFile(file)!;
  const { text, diagnostics, reports } = generatedText(sourceFile, program, {
    stage,
    fn: opts.fn,
    checkFinite: opts["check-finite"],
  });
  const errors = [...configErrors, ...program.getSyntacticDiagnostics(sourceFile), ...diagnostics];
  if (opts.report && reports.length) {
    const relativeReports = reports.map((r) => ({ ...r, file: relative(process.cwd(), r.file) }));
    write(process.stdout, `${formatReport(relativeReports)}\n`);
  } else if (text.trim()) write(process.stdout, await format(text));
  else if (errors.length === 0) {
    if (opts.fn) return fail(`tsgrad: no @differentiable function named '${opts.fn}' in ${inputs[0]}`);
    write(process.stderr, `tsgrad: no @differentiable functions in ${inputs[0]}\n`);
  }
  return report(errors);
}

/** `tsgrad gen inputs --out folder`: transformToText of every file, formatted, same relative paths. */
async function gen(
  inputs: string[],
  opts: { out?: string; project?: string; "check-finite"?: boolean },
): Promise<number> {
  if (inputs.length === 0) throw new UsageError("gen needs at least one file or folder");
  if (!opts.out) throw new UsageError("gen needs --out <folder>");
  const out = resolve(opts.out);
  const roots = inputs.map((i) => resolve(i));
  const missing = roots.find((r) => !isFile(r) && !isDirectory(r));
  if (missing) return fail(`tsgrad: cannot read '${relative(process.cwd(), missing)}'`);
  const notTs = roots.find((r) => isFile(r) && !TS_EXTENSIONS.test(r));
  if (notTs) throw new UsageError(`'${relative(process.cwd(), notTs)}' is not a TypeScript file`);
  const files = [...new Set(roots.flatMap((r) => (isDirectory(r) ? sourcesIn(r, out) : [r])))];
  if (files.length === 0) return fail("tsgrad: no TypeScript files in the inputs");
  const base = commonFolder(roots.map((r) => (isDirectory(r) ? r : dirname(r))));

  const { program, configErrors } = programOf(files, opts.project);
  const errors: ts.Diagnostic[] = [...configErrors];
  const outputs: [string, string][] = [];
  for (const file of files) {
    const sourceFile = program.getSourceFile(file)!;
    const syntax = program.getSyntacticDiagnostics(sourceFile);
    const { text, diagnostics } = transformToText(sourceFile, program, "final", { checkFinite: opts["check-finite"] });
    errors.push(...syntax, ...diagnostics);
    if (syntax.length === 0 && diagnostics.length === 0)
      outputs.push([join(out, relative(base, file)), await format(text)]);
  }
  if (errors.length) return report(errors);
  for (const [path, text] of outputs) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  write(
    process.stderr,
    `tsgrad: wrote ${outputs.length} file${outputs.length === 1 ? "" : "s"} to ${relative(process.cwd(), out) || "."}\n`,
  );
  return 0;
}

// ---- helpers -----------------------------------------------------------------------------------

function programOf(files: string[], project?: string) {
  const config = readProjectConfig(files[0], project);
  return { program: createProgram(files, config), configErrors: config.errors };
}

/** .ts/.mts/.cts/.tsx files under a folder, sorted, skipping .d.ts, node_modules, dot folders and `out`. */
function sourcesIn(folder: string, out: string): string[] {
  if (folder === out || folder.startsWith(out + sep)) return [];
  return readdirSync(folder, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((e) => {
      const path = join(folder, e.name);
      if (e.isDirectory()) return e.name === "node_modules" || e.name.startsWith(".") ? [] : sourcesIn(path, out);
      return TS_EXTENSIONS.test(e.name) && !/\.d\.[mc]?ts$/.test(e.name) ? [path] : [];
    });
}

/** ["/a/b/c", "/a/b/d/e"] → "/a/b". */
function commonFolder(folders: string[]): string {
  const split = folders.map((f) => f.split(sep));
  const first = split[0];
  let n = 0;
  while (n < first.length && split.every((s) => s[n] === first[n])) n++;
  return first.slice(0, n).join(sep) || sep;
}

function report(diagnostics: readonly ts.Diagnostic[]): number {
  if (diagnostics.length === 0) return 0;
  write(process.stderr, formatDiagnostics(diagnostics));
  return 1;
}

function fail(message: string): number {
  write(process.stderr, message + "\n");
  return 1;
}

function write(stream: NodeJS.WriteStream, text: string): void {
  stream.write(text);
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

function version(): string {
  const pkg = new URL("../../../package.json", import.meta.url);
  return JSON.parse(readFileSync(pkg, "utf8")).version;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    // parseArgs throws TypeErrors with a `code` for unknown or malformed options.
    const usage = e instanceof UsageError || (e as { code?: string })?.code?.startsWith("ERR_PARSE_ARGS");
    if (!usage) throw e;
    write(process.stderr, `tsgrad: ${(e as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
  },
);
