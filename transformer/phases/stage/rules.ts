// The runtime's scalar rules (runtime/rules/scalar.ts) as the stager reads them: an operation's
// forward expression over its operands, the source patterns a rule takes as one operation, and
// whether its derivative reads its output.
//
//   ("*", [a, b])            →   a * b
//   1 / (1 + Math.exp(-u))   →   sigmoid, [u]

import ts from "typescript";
import { type Expr, type Op, instantiate } from "../../ir/ir.js";
import { type ScalarOp, gradientTemplates, scalarRules } from "../../../runtime/rules/scalar.js";
import { type Template, namesOf, template } from "../../../runtime/rules/template.js";

/** The forward expression of an operation over its atoms, by its rule's value: ("*", [a, b]) → a * b. */
export function valueOf(op: ScalarOp, args: Expr[]): Expr {
  const rule = scalarRules[op];
  const names = new Map<string, Expr>(
    rule.operands === "x"
      ? [["x", args[0]]]
      : rule.operands === "a, b"
        ? [
            ["a", args[0]],
            ["b", args[1]],
          ]
        : [],
  );
  return instantiate(template(rule.value), names, args);
}

/**
 * The op whose pattern (a rule's `patterns`, runtime/rules/scalar.ts) the expression is, and the
 * source of its operands: `1 / (1 + Math.exp(-u))` or `1 / (Math.exp(-u) + 1)` → sigmoid, [u].
 */
export function recognise(e: ts.Expression): { op: ScalarOp; operands: ts.Expression[] } | undefined {
  for (const [op, rule] of Object.entries(scalarRules) as [ScalarOp, (typeof scalarRules)[ScalarOp]][]) {
    for (const pattern of rule.patterns ?? []) {
      const bound = new Map<string, ts.Expression>();
      if (matches(template(pattern), e, bound)) return { op, operands: [bound.get("x")!] };
    }
  }
  return undefined;
}

/** Is `e` (parentheses aside) the pattern `p`, its names bound to the subexpressions they stand for? */
function matches(p: Template, node: ts.Expression, bound: Map<string, ts.Expression>): boolean {
  const e = skip(node);
  switch (p.k) {
    case "ref": {
      const known = bound.get(p.name);
      if (known) return known.getText() === e.getText();
      bound.set(p.name, e);
      return true;
    }
    case "num":
      return ts.isNumericLiteral(e) && Number(e.text) === p.value;
    case "global":
      return ts.isPropertyAccessExpression(e) && e.getText() === p.text;
    case "unary":
      return (
        ts.isPrefixUnaryExpression(e) &&
        e.operator === (p.op === "-" ? ts.SyntaxKind.MinusToken : ts.SyntaxKind.ExclamationToken) &&
        matches(p.arg, e.operand, bound)
      );
    case "binary":
      return (
        ts.isBinaryExpression(e) &&
        e.operatorToken.getText() === p.op &&
        matches(p.left, e.left, bound) &&
        matches(p.right, e.right, bound)
      );
    case "call":
      return (
        ts.isCallExpression(e) &&
        e.expression.getText() === p.callee &&
        e.arguments.length === p.args.length &&
        p.args.every((a, i) => matches(a, e.arguments[i], bound))
      );
    default:
      return false;
  }
}

/** Does the rule of this operation read its output (exp: y)? Then the output must not be overwritten. */
export function readsOutput(op: Op | null): boolean {
  if (op === null || op.kind === "call") return false;
  if (op.kind !== "scalar") return true;
  const { grad } = scalarRules[op.rule];
  return grad.kind === "route" || gradientTemplates(grad).some((t) => namesOf(template(t)).has("y"));
}

export const skip = (e: ts.Expression): ts.Expression => (ts.isParenthesizedExpression(e) ? skip(e.expression) : e);
