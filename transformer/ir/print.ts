// IR expressions as TypeScript: the nodes generated code is built from, with parentheses exactly
// where precedence needs them, and as one line of text for comments and comparisons:
//   binary("*", ref("a"), binary("+", ref("b"), num(1)))  →  a * (b + 1)

import ts from "typescript";
import type { Expr } from "./ir.js";

const f = ts.factory;

const PRECEDENCE: Record<string, number> = {
  "??": 3,
  "||": 3,
  "&&": 4,
  "==": 8,
  "!=": 8,
  "===": 8,
  "!==": 8,
  "<": 9,
  ">": 9,
  "<=": 9,
  ">=": 9,
  "+": 11,
  "-": 11,
  "*": 12,
  "/": 12,
  "%": 12,
  "**": 13,
};
const UNARY = 14;
const CONDITIONAL = 2;

export function precedenceOf(e: Expr): number {
  if (e.k === "binary") return PRECEDENCE[e.op] ?? 1;
  if (e.k === "unary" || (e.k === "num" && e.value < 0)) return UNARY;
  if (e.k === "cond") return CONDITIONAL;
  return 20;
}

/** IR → TypeScript expression, parenthesized where precedence or associativity needs it. */
export function exprToTs(e: Expr): ts.Expression {
  switch (e.k) {
    case "num":
      return numberLiteral(e.value);
    case "ref":
      return f.createIdentifier(e.name);
    case "global":
      return globalToTs(e.text);
    case "unary": {
      if (e.op === "typeof") return f.createTypeOfExpression(wrap(exprToTs(e.arg), precedenceOf(e.arg) < UNARY));
      const operator = e.op === "-" ? ts.SyntaxKind.MinusToken : ts.SyntaxKind.ExclamationToken;
      // - -1 would read as a decrement; -(a * b) needs its parentheses.
      const needsParens = precedenceOf(e.arg) < UNARY || e.arg.k === "unary" || (e.arg.k === "num" && e.arg.value < 0);
      return f.createPrefixUnaryExpression(operator, wrap(exprToTs(e.arg), needsParens));
    }
    case "binary": {
      const p = PRECEDENCE[e.op] ?? 1;
      const rightAssoc = e.op === "**";
      // (-a) ** 2: a unary operand on the left of ** is a syntax error without parentheses.
      const leftParens =
        precedenceOf(e.left) < p || (rightAssoc && precedenceOf(e.left) <= UNARY && precedenceOf(e.left) >= p);
      const rightParens = precedenceOf(e.right) < p || (!rightAssoc && precedenceOf(e.right) === p);
      return f.createBinaryExpression(
        wrap(exprToTs(e.left), leftParens),
        binaryToken(e.op),
        wrap(exprToTs(e.right), rightParens),
      );
    }
    case "call":
      return f.createCallExpression(globalToTs(e.callee), undefined, e.args.map(exprToTs));
    case "elem": {
      const element = f.createElementAccessExpression(f.createIdentifier(e.array), exprToTs(e.index));
      if (e.inner) return f.createElementAccessExpression(element, exprToTs(e.inner));
      return e.key ? f.createPropertyAccessExpression(element, e.key) : element;
    }
    case "length": {
      const array = e.at
        ? f.createElementAccessExpression(f.createIdentifier(e.array), exprToTs(e.at))
        : f.createIdentifier(e.array);
      return f.createPropertyAccessExpression(array, e.prop ?? "length");
    }
    case "field":
      return f.createPropertyAccessExpression(f.createIdentifier(e.object), e.key);
    case "cond":
      return f.createConditionalExpression(
        wrap(exprToTs(e.test), precedenceOf(e.test) <= CONDITIONAL),
        f.createToken(ts.SyntaxKind.QuestionToken),
        wrap(exprToTs(e.then), precedenceOf(e.then) < CONDITIONAL),
        f.createToken(ts.SyntaxKind.ColonToken),
        wrap(exprToTs(e.else), precedenceOf(e.else) < CONDITIONAL),
      );
  }
}

export function wrap(e: ts.Expression, parens: boolean): ts.Expression {
  return parens ? f.createParenthesizedExpression(e) : e;
}

export function numberLiteral(v: number): ts.Expression {
  if (Number.isNaN(v)) return f.createIdentifier("NaN");
  if (!Number.isFinite(v))
    return v > 0
      ? f.createIdentifier("Infinity")
      : f.createPrefixUnaryExpression(ts.SyntaxKind.MinusToken, f.createIdentifier("Infinity"));
  if (v < 0 || Object.is(v, -0))
    return f.createPrefixUnaryExpression(ts.SyntaxKind.MinusToken, f.createNumericLiteral(String(-v)));
  return f.createNumericLiteral(String(v));
}

/** "Math.PI" → Math.PI; "this.k" → this.k; "g_grad" → g_grad. */
export function globalToTs(text: string): ts.Expression {
  if (text.startsWith('"')) return f.createStringLiteral(JSON.parse(text) as string);
  const parts = text.split(".");
  let e: ts.Expression =
    parts[0] === "this"
      ? f.createThis()
      : parts[0] === "true"
        ? f.createTrue()
        : parts[0] === "false"
          ? f.createFalse()
          : f.createIdentifier(parts[0]);
  for (const p of parts.slice(1)) e = f.createPropertyAccessExpression(e, p);
  return e;
}

export function binaryToken(op: string): ts.BinaryOperator {
  const kind = TOKENS[op];
  if (kind === undefined) throw new Error(`tsgrad: no token for operator ${op}`);
  return kind;
}

const TOKENS: Record<string, ts.BinaryOperator> = {
  "+": ts.SyntaxKind.PlusToken,
  "-": ts.SyntaxKind.MinusToken,
  "*": ts.SyntaxKind.AsteriskToken,
  "/": ts.SyntaxKind.SlashToken,
  "%": ts.SyntaxKind.PercentToken,
  "**": ts.SyntaxKind.AsteriskAsteriskToken,
  "<": ts.SyntaxKind.LessThanToken,
  ">": ts.SyntaxKind.GreaterThanToken,
  "<=": ts.SyntaxKind.LessThanEqualsToken,
  ">=": ts.SyntaxKind.GreaterThanEqualsToken,
  "==": ts.SyntaxKind.EqualsEqualsToken,
  "!=": ts.SyntaxKind.ExclamationEqualsToken,
  "===": ts.SyntaxKind.EqualsEqualsEqualsToken,
  "!==": ts.SyntaxKind.ExclamationEqualsEqualsToken,
  "&&": ts.SyntaxKind.AmpersandAmpersandToken,
  "||": ts.SyntaxKind.BarBarToken,
  "??": ts.SyntaxKind.QuestionQuestionToken,
};

const printer = ts.createPrinter({ removeComments: true });
const scratch = ts.createSourceFile("expr.ts", "", ts.ScriptTarget.Latest);

/** An IR expression as one line of TypeScript, for comments: `1 / (1 + Math.exp(-x))`. */
export function printExpr(e: Expr): string {
  return printer.printNode(ts.EmitHint.Expression, exprToTs(e), scratch);
}

/** Do two expressions read the same (`i * h` and `i * h`)? Compared as printed: names and numbers exactly. */
export function sameExpr(a: Expr, b: Expr): boolean {
  return printExpr(a) === printExpr(b);
}
