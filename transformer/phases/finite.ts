// finite: f_grad's backward pass → f_gradChecked's, with a check after every line that writes a
// gradient, for `grad(f, { checkFinite: true })`. Each check names the source line whose backward
// block it is in (the `// invden = 1 / den` comment above it), so the first NaN or Infinity is
// reported where it was made, not where it surfaced:
//
//   // invden = 1 / den                              // invden = 1 / den
//   let dden = (-1 / (den * den)) * dinvden;    →    let dden = (-1 / (den * den)) * dinvden;
//                                                    checkFinite("staged", "dden", dden, "seed.ts:12", "const invden = 1 / den;");
//
// Only f_gradChecked gets these lines; f_grad, f_gradInto and the vjp pair are never checked.

import ts from "typescript";
import type { BStmt, Def, Expr } from "../ir/ir.js";

/** Where a check reports: the function, and the runtime's checkFinite as generated code names it. */
export interface FiniteChecks {
  fn: string;
  callee: string;
  /** The function itself: where a check before any forward line's block points. */
  source: ts.Node;
}

/** `body` with a check after each statement that writes a gradient, in loops and branches too. */
export function withFiniteChecks(body: readonly BStmt[], checks: FiniteChecks): BStmt[] {
  let current: Def | undefined;
  const visit = (stmts: readonly BStmt[]): BStmt[] =>
    stmts.flatMap((s): BStmt[] => {
      if (s.k === "comment") current = s.def;
      if (s.k === "loop") return [{ ...s, body: visit(s.body) }];
      if (s.k === "if") return [{ ...s, then: visit(s.then), else: visit(s.else) }];
      const written = writtenBy(s);
      if (written.length === 0) return [s];
      const { at, line } = place(current?.source ?? checks.source);
      return [s, ...written.map((w): BStmt => ({ k: "check", ...w, callee: checks.callee, fn: checks.fn, at, line }))];
    });
  return visit(body);
}

/** The gradients a statement writes: `da[i] += e` → da at i; a kernel → its whole buffer; `[dx, dy] = g_grad(..)` → both. */
function writtenBy(s: BStmt): { adj: string; index?: Expr }[] {
  // dA[i][j] of a number[][]'s gradient: checked as the whole gradient, at the end (an element's check names one index).
  if ((s.k === "acc" || s.k === "set") && (s.inner || (s.k === "acc" && s.key))) return [{ adj: s.adj }];
  if (s.k === "acc" || s.k === "set") return [{ adj: s.adj, index: s.index }];
  if (s.k === "kernel") return [{ adj: s.adj }];
  if (s.k === "grads") return s.names.filter((n) => n).map((adj) => ({ adj }));
  return [];
}

/** A node's statement as `file.ts:12` and its text on one line: the line a check reports. */
function place(node: ts.Node): { at: string; line: string } {
  let statement: ts.Node = node;
  while (statement.parent && !isStatementLike(statement)) statement = statement.parent;
  const file = statement.getSourceFile();
  const { line } = file.getLineAndCharacterOfPosition(statement.getStart(file));
  const text = statement.getText(file).split("\n")[0].trim().replace(/\s+/g, " ");
  return {
    at: `${file.fileName.split(/[\\/]/).pop()}:${line + 1}`,
    line: text.length > 80 ? `${text.slice(0, 77)}...` : text,
  };
}

function isStatementLike(node: ts.Node): boolean {
  return (
    ts.isVariableStatement(node) ||
    ts.isExpressionStatement(node) ||
    ts.isReturnStatement(node) ||
    ts.isFunctionLike(node) ||
    ts.isIfStatement(node) ||
    ts.isIterationStatement(node, false)
  );
}
