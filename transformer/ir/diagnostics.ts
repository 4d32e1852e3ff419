// Errors are data: a DiffError carries a code, the user's node and a message saying what is
// unsupported and what to do instead. Phases throw or collect them; hosts turn them into
// ts.Diagnostics once (tsc, the Vite plugin and the CLI all print the same text).

import ts from "typescript";

/** Stable codes, printed by tsc as `error TS<code>`; one per kind of refusal. */
export const Code = {
  UnsupportedStatement: 94001,
  UnsupportedLoop: 94002,
  UnsupportedExpression: 94003,
  UnsupportedParameter: 94004,
  UnsupportedReturnType: 94005,
  NotDifferentiableCall: 94006,
  GradOfNonDifferentiable: 94007,
  MutableCapture: 94008,
  UnsupportedDeclaration: 94010,
  SideEffect: 94011,
  UnsupportedFunctionForm: 94012,
  InvalidDerivative: 94013,
  OutOfRange: 94014,
  UnsupportedModuleFormat: 94015,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

export class DiffError extends Error {
  constructor(
    readonly code: Code,
    readonly node: ts.Node,
    message: string,
  ) {
    super(message);
  }
}

/** DiffError → ts.Diagnostic at the exact node (its start after trivia, its full width). */
export function toDiagnostic(error: DiffError): ts.Diagnostic {
  const file = error.node.getSourceFile();
  const start = error.node.getStart(file);
  return {
    category: ts.DiagnosticCategory.Error,
    code: error.code,
    file,
    start,
    length: error.node.getEnd() - start,
    messageText: `tsgrad: ${error.message}`,
    source: "tsgrad",
  };
}

/**
 * Each diagnostic once: two functions calling one unusable derivative get the same error at it.
 * Order kept (the first of equals stays).
 */
export function uniqueDiagnostics(diagnostics: readonly ts.Diagnostic[]): ts.Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const key = `${d.file?.fileName}:${d.start}:${d.code}:${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
    return !seen.has(key) && Boolean(seen.add(key));
  });
}

/** A node's file and line, for a message that points at another declaration: `derivs.ts:12`. */
export function shortPosition(node: ts.Node): string {
  const file = node.getSourceFile();
  const { line } = file.getLineAndCharacterOfPosition(node.getStart(file));
  return `${file.fileName.split(/[\\/]/).pop()}:${line + 1}`;
}

/** `file.ts(3,7): error TS94002: tsgrad: ...`, the form tsc prints. */
export function formatDiagnostics(diagnostics: readonly ts.Diagnostic[], cwd = process.cwd()): string {
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => cwd,
    getNewLine: () => "\n",
  });
}
