// What test/closures.test.ts and test/methods.test.ts share: the harness's compilers, and the text
// `tsgrad gen` writes for a source (unformatted), to read the generated code.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { transformToText } from "../transformer/text.js";
import { compilerOptions, createProgram, root } from "./harness.js";

export { compile, compileProject, compileToJs, emitProject, genStrictErrors } from "./harness.js";

/** The source as `tsgrad gen` writes it (before prettier), throwing on any tsgrad diagnostic. */
export function transformedText(source: string, folder = "gen-text"): string {
  const dir = join(root, ".tsgrad-tmp", folder);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `source_${Math.random().toString(36).slice(2)}.ts`);
  writeFileSync(file, source);
  const program = createProgram([file], { ...compilerOptions, noEmit: true });
  const { text, diagnostics } = transformToText(program.getSourceFile(file)!, program);
  if (diagnostics.length)
    throw new Error(`tsgrad refused the source: ${diagnostics.map((d) => d.messageText).join("; ")}`);
  return text;
}
