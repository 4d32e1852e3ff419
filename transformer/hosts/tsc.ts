// ts-patch entry: `"plugins": [{ "transform": "tsgrad/transformer" }]` in tsconfig, built with
// `tspc`. Wiring only: the work is in files.ts. Diagnostics go to tsc through ts-patch's
// `addDiagnostic`, so a refused function fails the build with file, line and column.

import type ts from "typescript";
import { formatDiagnostics } from "../ir/diagnostics.js";
import { transformFile } from "../files.js";

export interface TransformerExtras {
  addDiagnostic?: (diagnostic: ts.Diagnostic) => unknown;
}

/**
 * The tsconfig entry, `{ "transform": "tsgrad/transformer", "checkFinite": true }`: with checkFinite,
 * every function gets f_gradChecked, for `grad(f, { checkFinite: true })` (by default only those
 * such a call in the program names).
 */
export interface TransformerConfig {
  checkFinite?: boolean;
}

export default function tsgradTransformer(
  program: ts.Program,
  config?: unknown,
  extras?: TransformerExtras,
): ts.TransformerFactory<ts.SourceFile> {
  const options = { checkFinite: (config as TransformerConfig | undefined)?.checkFinite === true };
  return (context) => (file) => {
    const result = transformFile(file, program, context, "final", options);
    for (const d of result.diagnostics) {
      if (extras?.addDiagnostic) extras.addDiagnostic(d);
      else process.stderr.write(formatDiagnostics([d]));
    }
    return result.file;
  };
}

export { transformFile } from "../files.js";
export { transformToText, generatedText } from "../text.js";
export { compileFunction } from "../pipeline.js";
export type { Stage } from "../pipeline.js";
