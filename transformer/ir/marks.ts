// Is a node marked for tsgrad: a JSDoc `@differentiable` before it, or a decorator of that name.
//   /** @differentiable */ function f(x: number) { ... }   → marked
//   @differentiable loss(x: number) { ... }                → marked

import ts from "typescript";

const TAG = "differentiable";
const JSDOC_TAG = /^\/\*\*[\s\S]*@differentiable\b/;

/**
 * `/** @differentiable *\/ function f` or `@differentiable f() {}` → true. The JSDoc is read from
 * the comment text, because tsc skips parsing JSDoc tags in .ts files (JSDocParsingMode).
 */
export function isMarked(node: ts.Node): boolean {
  const text = node.getSourceFile().text;
  const comments = commentsBefore(text, node.getFullStart());
  if (comments.some((c) => JSDOC_TAG.test(text.slice(c.pos, c.end)))) return true;
  if (ts.canHaveDecorators(node)) {
    return (ts.getDecorators(node) ?? []).some((d) => decoratorName(d) === TAG);
  }
  return false;
}

/**
 * The comments between the previous token and a node: on the lines before it, and on the line of
 * the previous token, which TypeScript counts as that token's trailing comments
 * (`return /** @differentiable *\/ (t) => ...`).
 */
export function commentsBefore(text: string, pos: number): ts.CommentRange[] {
  return [...(ts.getTrailingCommentRanges(text, pos) ?? []), ...(ts.getLeadingCommentRanges(text, pos) ?? [])];
}

function decoratorName(d: ts.Decorator): string | undefined {
  const e = ts.isCallExpression(d.expression) ? d.expression.expression : d.expression;
  if (ts.isIdentifier(e)) return e.text;
  if (ts.isPropertyAccessExpression(e)) return e.name.text;
  return undefined;
}
