// Module-level tables of numbers that a @differentiable function reads as constants:
//   const LANCZOS = [0.99999999999980993, 676.5203681218851, ...];
//   ... for (let i = 1; i < LANCZOS.length; i++) a += LANCZOS[i] / (x + i);
// No gradient flows to a table, and the backward pass reads it again, so its elements must never
// change: tsgrad takes a table only if it is a `const` list of number literals, not exported, and
// every use of its name in its file reads an element (`T[i]`), its length, iterates it
// (`for (const c of T)`), spreads it, or passes it to a @differentiable function of the file
// (`weighted(x, T)`), which writes no element of its parameters.

import ts from "typescript";
import { isMarked } from "./marks.js";
import { isChange, kindOf } from "./syntax.js";

/** Is `id` (read inside a function) such a table? */
export function isConstantTable(id: ts.Identifier, checker: ts.TypeChecker): boolean {
  const symbol = checker.getSymbolAtLocation(id);
  const decl = symbol?.valueDeclaration;
  if (!symbol || !decl || !ts.isVariableDeclaration(decl) || !ts.isIdentifier(decl.name)) return false;
  const statement = decl.parent.parent;
  if (!(decl.parent.flags & ts.NodeFlags.Const) || !ts.isVariableStatement(statement)) return false;
  if (!ts.isSourceFile(statement.parent)) return false;
  if (statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) return false;
  const kind = kindOf(checker.getTypeOfSymbol(symbol), checker);
  if (kind !== "number[]" || !decl.initializer || !isNumberList(decl.initializer)) return false;
  return onlyRead(statement.parent, decl.name, checker);
}

/** `[0.99, -1.5e-3, 676.5]`: a literal list of numbers (nothing else shares it). */
function isNumberList(e: ts.Expression): boolean {
  const number = (x: ts.Expression): boolean =>
    ts.isNumericLiteral(x) ||
    (ts.isPrefixUnaryExpression(x) && x.operator === ts.SyntaxKind.MinusToken && number(x.operand));
  return ts.isArrayLiteralExpression(e) && e.elements.every(number);
}

/**
 * Every other use of the name in the file reads an element, the length, iterates or spreads.
 * Any identifier of that name counts, whatever it resolves to (`export { C }`, `{ C }`): a
 * shadowing local can only make tsgrad refuse, never miss a write.
 */
function onlyRead(file: ts.SourceFile, name: ts.Identifier, checker: ts.TypeChecker): boolean {
  let ok = true;
  const visit = (n: ts.Node): void => {
    if (!ok) return;
    if (ts.isIdentifier(n) && n !== name && n.text === name.text) ok = isRead(n) || passedToMarked(n, checker);
    ts.forEachChild(n, visit);
  };
  visit(file);
  return ok;
}

function isRead(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isElementAccessExpression(p) && p.expression === id) return !isWritten(p);
  if (ts.isPropertyAccessExpression(p) && p.expression === id) return p.name.text === "length";
  // for (const c of T), Math.max(...T): the elements read, never the array handed on.
  if (ts.isVariableDeclaration(p) && p.initializer === id) return ts.isArrayBindingPattern(p.name); // const [a, b] = T
  return (ts.isForOfStatement(p) && p.expression === id) || ts.isSpreadElement(p);
}

/** `T[i] = v`, `T[i] += v`, `T[i]++`. */
function isWritten(e: ts.Expression): boolean {
  const p = e.parent;
  return isChange(p) && (ts.isBinaryExpression(p) ? p.left : p.operand) === e;
}

/** `weighted(x, T)` with `weighted` a @differentiable function of this file (`function` or `const`). */
function passedToMarked(id: ts.Identifier, checker: ts.TypeChecker): boolean {
  const call = id.parent;
  if (!ts.isCallExpression(call) || !call.arguments.includes(id)) return false;
  const decl = checker.getSymbolAtLocation(call.expression)?.valueDeclaration;
  if (!decl || decl.getSourceFile() !== id.getSourceFile()) return false;
  if (ts.isFunctionDeclaration(decl)) return isMarked(decl);
  return (
    ts.isVariableDeclaration(decl) &&
    (isMarked(decl.parent.parent) || (!!decl.initializer && isMarked(decl.initializer)))
  );
}
