// Finds what tsgrad acts on: functions marked @differentiable (JSDoc tag on functions, arrow
// functions and function expressions; the decorator or the tag on class methods), and resolves a
// reference such as `g` in `grad(g)` or `g(x)` to the declaration it names, across modules.

import ts from "typescript";

export type FunctionNode = ts.FunctionDeclaration | ts.ArrowFunction | ts.FunctionExpression | ts.MethodDeclaration;

export interface Differentiable {
  /** The function itself. */
  fn: FunctionNode;
  /** Its name: `f` for `function f`, `const f = ...`, and the method `f`. */
  name: string;
  /** The statement or class member the generated functions are placed after. */
  anchor: ts.Statement | ts.ClassElement;
  exported: boolean;
}

const TAG = "differentiable";
const JSDOC_TAG = /^\/\*\*[\s\S]*@differentiable\b/;

/**
 * `/** @differentiable *\/ function f` or `@differentiable f() {}` → true. The JSDoc is read from
 * the comment text, because tsc skips parsing JSDoc tags in .ts files (JSDocParsingMode).
 */
export function isMarked(node: ts.Node): boolean {
  const text = node.getSourceFile().text;
  const comments = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
  if (comments.some((c) => JSDOC_TAG.test(text.slice(c.pos, c.end)))) return true;
  if (ts.canHaveDecorators(node)) {
    return (ts.getDecorators(node) ?? []).some((d) => decoratorName(d) === TAG);
  }
  return false;
}

function decoratorName(d: ts.Decorator): string | undefined {
  const e = ts.isCallExpression(d.expression) ? d.expression.expression : d.expression;
  if (ts.isIdentifier(e)) return e.text;
  if (ts.isPropertyAccessExpression(e)) return e.name.text;
  return undefined;
}

/** The @differentiable functions of a file, in source order, at any depth. */
export function findDifferentiable(file: ts.SourceFile): Differentiable[] {
  const found: Differentiable[] = [];
  const visit = (node: ts.Node): void => {
    const d = asDifferentiable(node);
    if (d) found.push(d);
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** The declaration node → its Differentiable record, or undefined if it is not marked. */
export function asDifferentiable(node: ts.Node): Differentiable | undefined {
  if (ts.isFunctionDeclaration(node) && node.name && node.body && isMarked(node)) {
    return { fn: node, name: node.name.text, anchor: node, exported: hasExport(node) };
  }
  if (ts.isVariableStatement(node) && node.declarationList.declarations.length === 1) {
    const decl = node.declarationList.declarations[0];
    const init = decl.initializer && skipParens(decl.initializer);
    if (init && (ts.isArrowFunction(init) || ts.isFunctionExpression(init)) && ts.isIdentifier(decl.name)) {
      if (isMarked(node) || isMarked(init)) {
        return { fn: init, name: decl.name.text, anchor: node, exported: hasExport(node) };
      }
    }
  }
  if (ts.isMethodDeclaration(node) && node.body && ts.isIdentifier(node.name) && isMarked(node)) {
    return { fn: node, name: node.name.text, anchor: node, exported: false };
  }
  return undefined;
}

function hasExport(node: ts.Node): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
}

function skipParens(e: ts.Expression): ts.Expression {
  while (ts.isParenthesizedExpression(e)) e = e.expression;
  return e;
}

/**
 * The function an expression refers to, following imports: `g` (imported from "./m") → the
 * declaration of g in m.ts. Undefined when it is not a function tsgrad can see.
 */
export function resolveFunction(checker: ts.TypeChecker, expr: ts.Expression): Differentiable | "unmarked" | undefined {
  let symbol = checker.getSymbolAtLocation(skipParens(expr));
  if (!symbol) return undefined;
  if (symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
  const decl = symbol.valueDeclaration ?? symbol.declarations?.[0];
  if (!decl) return undefined;
  const node = ts.isVariableDeclaration(decl) ? decl.parent.parent : decl;
  const marked = asDifferentiable(node);
  if (marked) return marked;
  if (ts.isFunctionLike(decl) || (ts.isVariableDeclaration(decl) && decl.initializer && ts.isFunctionLike(skipParens(decl.initializer)))) {
    return "unmarked";
  }
  return undefined;
}
