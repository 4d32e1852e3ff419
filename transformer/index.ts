// ts-patch entry: `"plugins": [{ "transform": "tsgrad/transformer" }]` in tsconfig, built with
// `tspc`. Wiring only: the work is in pipeline.ts. Diagnostics go to tsc through ts-patch's
// `addDiagnostic`, so a refused function fails the build with file, line and column.

import type ts from "typescript";
import { formatDiagnostics } from "./diagnostics.js";
import { transformFile } from "./pipeline.js";

export interface TransformerExtras {
  addDiagnostic?: (diagnostic: ts.Diagnostic) => unknown;
}

export default function tsgradTransformer(program: ts.Program, _config?: unknown, extras?: TransformerExtras): ts.TransformerFactory<ts.SourceFile> {
  return (context) => (file) => {
    const result = transformFile(file, program, context);
    for (const d of result.diagnostics) {
      if (extras?.addDiagnostic) extras.addDiagnostic(d);
      else process.stderr.write(formatDiagnostics([d]));
    }
    return result.file;
  };
}

export { transformFile, transformToText, generatedText, compileFunction } from "./pipeline.js";
export type { Stage } from "./pipeline.js";
