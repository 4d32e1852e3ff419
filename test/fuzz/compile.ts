// An in-process compiler for the fuzzer: source text → the loaded module, through tsgrad's
// transformer, as test/harness.ts compiles (same options, same transformer, files under
// .tsgrad-tmp/ where `import ... from "tsgrad"` resolves to the built runtime).
//
// The difference is speed: harness.ts creates each program from scratch (about 0.7 s here, most of
// it parsing lib.d.ts); this keeps the parsed library files in the compiler host across programs,
// so one small program compiles in about 20 ms and a property can compile one program per run,
// which is what fast-check's shrinking needs.
//
// The transformer is a parameter: vitest passes transformer/hosts/tsc.ts (so an in-process change to
// the rule table is seen, as the mutation test needs); scripts/fuzz.mjs passes dist/.
//
// Every while, do and for loop of the loaded module counts its iterations against a budget far
// above what a generated program runs (LOOP_BUDGET): a loop of the generated code that never ends
// throws instead of holding the process (a hang at run time, which no watchdog of a compile sees,
// is then a failure the property reports and shrinks, as any other).

import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";

export type Transformer = (
  program: ts.Program,
  config: unknown,
  extras: { addDiagnostic: (d: ts.Diagnostic) => unknown },
) => ts.TransformerFactory<ts.SourceFile>;

export type Module = Record<string, any>;
export type Compile = (source: string) => Promise<Module>;

/** Thrown when a program does not compile; `message` is tsc's formatted diagnostics. */
export class CompileError extends Error {}

export function createCompiler(options: {
  transformer: Transformer;
  outDir: string;
  compilerOptions: ts.CompilerOptions;
}): Compile {
  const outDir = resolve(options.outDir);
  mkdirSync(outDir, { recursive: true });
  const host = ts.createCompilerHost(options.compilerOptions);
  const read = host.getSourceFile.bind(host);
  const cache = new Map<string, ts.SourceFile | undefined>();
  // Library and dependency files are parsed once; the program's own file every time.
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    if (resolve(fileName).startsWith(outDir)) return read(fileName, languageVersion, onError, shouldCreate);
    if (!cache.has(fileName)) cache.set(fileName, read(fileName, languageVersion, onError, shouldCreate));
    return cache.get(fileName);
  };
  let count = 0;
  const format: ts.FormatDiagnosticsHost = {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => outDir,
    getNewLine: () => "\n",
  };

  return async (source) => {
    // A fresh name per call: ES modules are cached by URL, and workers may compile the same text.
    const name = `p${process.pid}_${count++}_${createHash("sha1").update(source).digest("hex").slice(0, 8)}`;
    const file = join(outDir, `${name}.ts`);
    writeFileSync(file, source);
    const program = ts.createProgram([file], options.compilerOptions, host);
    const diagnostics = [...ts.getPreEmitDiagnostics(program)];
    let js = "";
    program.emit(
      undefined,
      (f, text) => {
        if (f.endsWith(".js")) js = text;
      },
      undefined,
      false,
      { before: [options.transformer(program, {}, { addDiagnostic: (d) => diagnostics.push(d) })] },
    );
    const errors = diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
    if (errors.length) throw new CompileError(ts.formatDiagnostics(errors, format));
    const out = file.replace(/\.ts$/, ".js");
    writeFileSync(out, guardLoops(js));
    return import(pathToFileURL(out).href);
  };
}

/** Loop iterations a loaded module may run in all (its checks run each function a few dozen times, loops of a few trips). */
export const LOOP_BUDGET = 20_000_000;

/**
 * `js` with every while, do and for loop's test preceded by a count against LOOP_BUDGET:
 * `while (!done)` → `while (__fuzzLoop() && (!done))`; for...of and for...in go over finite arrays.
 * (Spliced into the text at the tests' positions: printing the module again costs more than it.)
 */
export function guardLoops(js: string): string {
  const source = ts.createSourceFile("module.js", js, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const edits: { at: number; text: string }[] = [];
  const wrap = (test: ts.Expression) =>
    edits.push({ at: test.getStart(source), text: "__fuzzLoop() && (" }, { at: test.end, text: ")" });
  const visit = (n: ts.Node): void => {
    if (ts.isWhileStatement(n) || ts.isDoStatement(n)) wrap(n.expression);
    else if (ts.isForStatement(n)) {
      if (n.condition) wrap(n.condition);
      else {
        // for (init; ; step): after the first `;`
        const semicolon = n.getChildren(source).find((c) => c.kind === ts.SyntaxKind.SemicolonToken)!;
        edits.push({ at: semicolon.end, text: " __fuzzLoop()" });
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(source);
  // from the end, so that the positions still to come hold
  edits.sort((x, y) => y.at - x.at);
  let out = js;
  for (const e of edits) out = out.slice(0, e.at) + e.text + out.slice(e.at);
  const counter =
    `let __fuzzLoops = 0;\n` +
    `function __fuzzLoop() {\n` +
    `  if (++__fuzzLoops > ${LOOP_BUDGET}) throw new Error("the compiled module ran ${LOOP_BUDGET} loop iterations: a loop of the generated code does not end");\n` +
    `  return true;\n` +
    `}\n`;
  return counter + out;
}
