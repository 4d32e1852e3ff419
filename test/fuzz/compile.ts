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
    writeFileSync(out, js);
    return import(pathToFileURL(out).href);
  };
}
