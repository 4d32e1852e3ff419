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

// ---- custom derivatives -------------------------------------------------------------------------

/**
 * A derivative the user wrote for a function, in the form
 *   /** @derivative softplus *\/
 *   function softplusDerivative(x: number, y: number, dy: number): [number] { return [dy / (1 + Math.exp(-x))]; }
 * It receives the function's arguments, its value `y` and the gradient `dy` on that value, and
 * returns one gradient per argument. Generated code calls it in the backward pass in place of
 * differentiating the function (which may be a library function tsgrad cannot see into).
 */
export interface CustomDerivative {
  fn: ts.FunctionDeclaration;
  name: string;
  file: ts.SourceFile;
  /** The declaration of the function it differentiates. */
  of: ts.Declaration;
  ofName: string;
}

const DERIVATIVE_TAG = /^\/\*\*[\s\S]*@derivative\s+([A-Za-z_$][\w$]*)/;
const derivativeCache = new WeakMap<ts.Program, { byTarget: Map<ts.Declaration, CustomDerivative>; problems: DerivativeProblem[] }>();

export interface DerivativeProblem {
  node: ts.Node;
  message: string;
}

/** Every `@derivative f` function of the program, by the declaration of f; and what is wrong with the others. */
export function customDerivatives(program: ts.Program): { byTarget: Map<ts.Declaration, CustomDerivative>; problems: DerivativeProblem[] } {
  const cached = derivativeCache.get(program);
  if (cached) return cached;
  const checker = program.getTypeChecker();
  const byTarget = new Map<ts.Declaration, CustomDerivative>();
  const problems: DerivativeProblem[] = [];
  for (const file of program.getSourceFiles()) {
    if (file.isDeclarationFile || !file.text.includes("@derivative")) continue;
    for (const statement of file.statements) {
      if (!ts.isFunctionDeclaration(statement) || !statement.name) continue;
      const comments = ts.getLeadingCommentRanges(file.text, statement.getFullStart()) ?? [];
      const tag = comments.map((c) => DERIVATIVE_TAG.exec(file.text.slice(c.pos, c.end))).find((m) => m);
      if (!tag) continue;
      let symbol = checker.resolveName(tag[1], statement, ts.SymbolFlags.Value, false);
      if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
      const of = symbol?.valueDeclaration ?? symbol?.declarations?.[0];
      const target = of && (ts.isFunctionLike(of) ? of : ts.isVariableDeclaration(of) && of.initializer && ts.isFunctionLike(skipParens(of.initializer)) ? skipParens(of.initializer) : undefined);
      if (!of || !target || !ts.isFunctionLike(target)) {
        problems.push({ node: statement.name, message: `@derivative ${tag[1]}: no function named \`${tag[1]}\` is in scope here; import it, or fix the name` });
        continue;
      }
      const arity = target.parameters.length;
      if (statement.parameters.length !== arity + 2) {
        problems.push({
          node: statement.name,
          message: `the derivative of \`${tag[1]}\` takes its ${arity} argument(s), its value and the gradient on its value (${arity + 2} parameters), and returns ${arity} gradient(s); \`${statement.name.text}\` has ${statement.parameters.length} parameters`,
        });
        continue;
      }
      byTarget.set(of, { fn: statement, name: statement.name.text, file, of, ofName: tag[1] });
    }
  }
  const result = { byTarget, problems };
  derivativeCache.set(program, result);
  return result;
}

/** The custom derivative of the function `expr` names, if the user wrote one. */
export function derivativeFor(checker: ts.TypeChecker, program: ts.Program, expr: ts.Expression): CustomDerivative | undefined {
  let symbol = checker.getSymbolAtLocation(skipParens(expr));
  if (!symbol) return undefined;
  if (symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
  const decl = symbol.valueDeclaration ?? symbol.declarations?.[0];
  return decl ? customDerivatives(program).byTarget.get(decl) : undefined;
}

/** Is `expr` the runtime's export `name` (imported from "tsgrad", by name or through a namespace)? */
export function isRuntimeExport(checker: ts.TypeChecker, expr: ts.Expression, name: string): boolean {
  const id = ts.isPropertyAccessExpression(expr) ? expr.name : expr;
  if (!ts.isIdentifier(id)) return false;
  const symbol = checker.getSymbolAtLocation(ts.isPropertyAccessExpression(expr) ? expr.expression : expr);
  const decl = symbol?.declarations?.[0];
  if (!decl) return false;
  const importDecl = ts.isImportSpecifier(decl) ? decl.parent.parent.parent : ts.isNamespaceImport(decl) ? decl.parent.parent : undefined;
  if (!importDecl || !ts.isStringLiteral(importDecl.moduleSpecifier) || importDecl.moduleSpecifier.text !== "tsgrad") return false;
  return ts.isImportSpecifier(decl) ? (decl.propertyName ?? decl.name).text === name : id.text === name;
}
