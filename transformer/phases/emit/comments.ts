// The comments that tie the generated lines to the user's: the forward line above each backward
// block, the loop header above its backward loop, a heading above each pass:
//   { k: "comment", def: f = num * invden }    → // f = num * invden   (above the block it heads)
//   for (let i = 0; i < n; i++) { ... }        → // for (let i = 0; i < n; i++), in reverse

import ts from "typescript";
import { printExpr } from "../../ir/print.js";
import type { Def, Loop } from "../../ir/ir.js";

export function comment<T extends ts.Node>(node: T, text: string): T {
  return ts.addSyntheticLeadingComment(node, ts.SyntaxKind.SingleLineCommentTrivia, ` ${text}`, true);
}

/** `// note` after the statement, on its line. */
export function trailingComment<T extends ts.Node>(node: T, text: string): T {
  return ts.addSyntheticTrailingComment(node, ts.SyntaxKind.SingleLineCommentTrivia, ` ${text}`, false);
}

/** Puts `// heading` above the first statement, before any comment it already has. */
export function withHeading(statements: ts.Statement[], heading: string): ts.Statement[] {
  if (statements.length) {
    const existing = ts.getSyntheticLeadingComments(statements[0]) ?? [];
    const line: ts.SynthesizedComment = {
      kind: ts.SyntaxKind.SingleLineCommentTrivia,
      text: ` ${heading}`,
      hasTrailingNewLine: true,
      pos: -1,
      end: -1,
    };
    ts.setSyntheticLeadingComments(statements[0], [line, ...existing]);
  }
  return statements;
}

/**
 * The forward line a backward block differentiates, `f = num * invden`. A recursive call reads as
 * the user wrote it, `powRec_3 = powRec(x, diff)` (not `powRec_3_call.value`).
 */
export function forwardLine(def: Def): string {
  const recursive = def.op?.kind === "call" ? def.op.recursive : undefined;
  return `${def.name} = ${printExpr(recursive ? { k: "call", callee: recursive.primal, args: def.args } : def.value)}`;
}

/** `for (let i = 0; i < n; i++)` → its header text, for the comment above the backward loop. */
export function loopHeading(s: Loop): string {
  const node = s.source;
  if (ts.isForStatement(node)) {
    const parts = [node.initializer, node.condition, node.incrementor].map((n) => n?.getText() ?? "");
    return `for (${parts.join("; ")})`;
  }
  if (ts.isWhileStatement(node)) return `while (${node.expression.getText()})`;
  if (ts.isDoStatement(node)) return `do ... while (${node.expression.getText()})`;
  if (ts.isForOfStatement(node)) return `for (${node.initializer.getText()} of ${node.expression.getText()})`;
  if (ts.isCallExpression(node)) return oneLine(node); // Math.max(...xs), xs.reduce(f, 0): the loop it stands for
  return "loop";
}

/**
 * A call as one comment line: a callback's block body elided.
 *   x.reduce((acc, v) => {\n const t = v * v;\n return acc + t;\n }, 0)  →  x.reduce((acc, v) => { ... }, 0)
 */
function oneLine(call: ts.CallExpression): string {
  const text = call.getText();
  if (!text.includes("\n")) return text;
  const start = call.getStart();
  let out = "";
  let at = 0;
  const visit = (n: ts.Node): void => {
    if (ts.isBlock(n) && (ts.isArrowFunction(n.parent) || ts.isFunctionExpression(n.parent))) {
      out += text.slice(at, n.getStart() - start) + "{ ... }";
      at = n.end - start;
      return;
    }
    ts.forEachChild(n, visit);
  };
  visit(call);
  return (out + text.slice(at)).replace(/\s*\n\s*/g, " ");
}
