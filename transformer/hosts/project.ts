// Builds the ts.Program a host (CLI, Vite plugin) hands to the pipeline.
//
// Takes a path inside the user's project; finds the nearest tsconfig.json above it and uses its
// compiler options (falling back to strict ESNext/NodeNext defaults when there is none).
// Guarantees: one program for all inputs, holding the whole project when the inputs belong to it
// (as tsc's does), nothing emitted, and for the long-lived Vite host a cache of parsed files so a
// rebuild after an edit re-parses only what changed.

import { dirname, resolve } from "node:path";
import ts from "typescript";

/** Used when no tsconfig.json is found: what a new strict ESM project would have. */
export const defaultOptions: ts.CompilerOptions = {
  target: ts.ScriptTarget.ESNext,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  skipLibCheck: true,
};

export interface ProjectConfig {
  options: ts.CompilerOptions;
  /** The tsconfig.json used, if any. */
  configPath?: string;
  /** Its root files (`include`/`files`), absolute; empty without a tsconfig. */
  fileNames: string[];
  /** Errors reading the tsconfig, formatted by the caller like any diagnostic. */
  errors: ts.Diagnostic[];
}

/** The nearest tsconfig.json at or above `from` (a file or folder), parsed. */
export function readProjectConfig(from: string, configPath?: string): ProjectConfig {
  const start = ts.sys.directoryExists(from) ? from : dirname(from);
  const found = configPath ? resolve(configPath) : ts.findConfigFile(start, ts.sys.fileExists);
  if (!found) return { options: { ...defaultOptions }, fileNames: [], errors: [] };
  const read = ts.readConfigFile(found, ts.sys.readFile);
  if (read.error) return { options: { ...defaultOptions }, configPath: found, fileNames: [], errors: [read.error] };
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, dirname(found), undefined, found);
  // "No inputs were found" (TS18003) is harmless here: the inputs come from the command line.
  const errors = parsed.errors.filter((d) => d.code !== 18003);
  return { options: parsed.options, configPath: found, fileNames: parsed.fileNames, errors };
}

/**
 * One program over `files` with the options of the project they are in; never emits. When the
 * files belong to that project (its `include`/`files` list them), the program holds every file of
 * the project, as the program tsc builds does; so what tsgrad finds across modules (a custom
 * derivative in a module the file does not import) is what the build finds:
 *   src/main.ts in a project of src/**   → src/main.ts, src/derivatives.ts, ...
 *   scratch.ts outside any project       → scratch.ts and what it imports
 */
export function createProgram(
  files: readonly string[],
  config = readProjectConfig(files[0] ?? process.cwd()),
): ts.Program {
  const inputs = files.map((f) => resolve(f));
  const project = config.fileNames.map((f) => resolve(f));
  const roots = inputs.some((f) => project.includes(f)) ? [...new Set([...inputs, ...project])] : inputs;
  return ts.createProgram(roots, { ...config.options, noEmit: true });
}

/**
 * A program that follows edits (the Vite dev server): `programFor(file, text)` returns a program
 * containing `file` with exactly `text`, rebuilding only when something changed; `invalidate`
 * marks a file changed on disk. Unchanged files keep their parsed SourceFile across rebuilds.
 */
export class LiveProject {
  private program: ts.Program | undefined;
  private readonly overrides = new Map<string, string>();
  private readonly parsed = new Map<string, ts.SourceFile>();
  private readonly host: ts.CompilerHost;
  private readonly roots: Set<string>;
  private dirty = false;

  constructor(readonly config: ProjectConfig) {
    this.roots = new Set(config.fileNames.map((f) => resolve(f)));
    this.host = ts.createCompilerHost(this.options());
    const readFile = this.host.readFile.bind(this.host);
    this.host.readFile = (f) => this.overrides.get(resolve(f)) ?? readFile(f);
    this.host.getSourceFile = (f, languageVersion) => {
      const text = this.host.readFile(f);
      if (text === undefined) return undefined;
      const cached = this.parsed.get(f);
      if (cached?.text === text) return cached;
      const sf = ts.createSourceFile(f, text, languageVersion, true);
      this.parsed.set(f, sf);
      return sf;
    };
  }

  programFor(file: string, text: string): ts.Program {
    file = resolve(file);
    const current = this.program?.getSourceFile(file);
    if (this.program && !this.dirty && current?.text === text) return this.program;
    this.roots.add(file);
    this.overrides.set(file, text);
    this.program = ts.createProgram({
      rootNames: [...this.roots],
      options: this.options(),
      host: this.host,
      oldProgram: this.program,
    });
    this.dirty = false;
    return this.program;
  }

  /** A file changed, appeared or vanished on disk: the next programFor rebuilds. */
  invalidate(file: string): void {
    this.overrides.delete(resolve(file));
    this.dirty = true;
  }

  private options(): ts.CompilerOptions {
    return { ...this.config.options, noEmit: true };
  }
}
