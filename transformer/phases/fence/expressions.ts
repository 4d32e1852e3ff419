// Expressions: numbers, locals, arithmetic, comparisons, ternaries, calls (calls.ts), elements of
// arrays the function reads, fields of object parameters, `this.k` in a method; a string only
// where it is compared or passed on. Any other expression is refused at its node.
//
//   x & 1                               →   bitwise, at `&`
//   "n = " + x                          →   otherExpression (arithmetic on a string)
//   T[i], T a module-level `let` array  →   changingTable, at `T`
//   p.speed, a getter of p's class      →   classBehaviourRead

import ts from "typescript";
import { expressionKind, isBehaviour, isGlobalConstant, kindOf, skipWrappers } from "../../ir/syntax.js";
import { isConstantTable, isRecordTable } from "../../ir/tables.js";
import { ownedField } from "../../ir/captures.js";
import { ARITHMETIC, BITWISE, isAssignment, isIncrement, refuse } from "../../ir/language.js";
import { isArrayKind } from "../../ir/ir.js";
import type { Fencer } from "./fencer.js";
import { inlinedHelperOf } from "../../ir/inlining.js";
import { call } from "./calls.js";
import {
  captured,
  firstField,
  identifier,
  isCreatedArray,
  isLocal,
  isParamPart,
  isParameter,
  mathMember,
  thisIsItsOwner,
  isRecord,
  isRecordsParam,
  isRow,
  isRowsParam,
} from "./names.js";

export function expression(st: Fencer, e: ts.Expression): void {
  switch (e.kind) {
    case ts.SyntaxKind.StringLiteral:
    case ts.SyntaxKind.NoSubstitutionTemplateLiteral:
      // kind === "l2", case "l2", helper(x, "l2"): a string compared or passed on; anywhere else it
      // would be computed with.
      if (isComparedString(e)) return;
      return st.fail(refuse("otherExpression", e, { kind: "a string" }));
    case ts.SyntaxKind.NumericLiteral:
    case ts.SyntaxKind.TrueKeyword:
    case ts.SyntaxKind.FalseKeyword:
      return;
    case ts.SyntaxKind.Identifier:
      return identifier(st, e as ts.Identifier);
    case ts.SyntaxKind.ParenthesizedExpression:
    case ts.SyntaxKind.AsExpression:
    case ts.SyntaxKind.NonNullExpression:
    case ts.SyntaxKind.SatisfiesExpression:
      return expression(st, (e as ts.ParenthesizedExpression).expression);
    case ts.SyntaxKind.PrefixUnaryExpression: {
      const u = e as ts.PrefixUnaryExpression;
      // `a[i++]`, `x = y = 0`: checked as the statement it is (the stager runs it as one, then reads it;
      // in a condition, one right of `&&` or in a branch of `?:` it refuses).
      if (isIncrement(u.operator)) return st.effect(u);
      if (u.operator === ts.SyntaxKind.TildeToken) return st.fail(refuse("bitwise", e));
      return expression(st, u.operand);
    }
    case ts.SyntaxKind.PostfixUnaryExpression:
      return st.effect(e as ts.PostfixUnaryExpression);
    case ts.SyntaxKind.BinaryExpression:
      return binaryExpression(st, e as ts.BinaryExpression);
    case ts.SyntaxKind.ConditionalExpression: {
      const c = e as ts.ConditionalExpression;
      expression(st, c.condition);
      st.depth++;
      [c.whenTrue, c.whenFalse].forEach((b) => expression(st, b));
      st.depth--;
      return;
    }
    case ts.SyntaxKind.CallExpression:
      return call(st, e as ts.CallExpression);
    case ts.SyntaxKind.TypeOfExpression:
      return; // typeof x === "number": a string about any value
    case ts.SyntaxKind.PropertyAccessExpression:
      return property(st, e as ts.PropertyAccessExpression);
    case ts.SyntaxKind.ElementAccessExpression:
      return element(st, e as ts.ElementAccessExpression);
    case ts.SyntaxKind.ArrayLiteralExpression:
      return st.fail(refuse("arrayLiteral", e));
    case ts.SyntaxKind.ObjectLiteralExpression:
      return st.fail(refuse("objectLiteral", e));
    case ts.SyntaxKind.ArrowFunction:
    case ts.SyntaxKind.FunctionExpression:
      return st.fail(refuse("closure", e));
    default:
      return st.fail(refuse("otherExpression", e, { kind: expressionKind(e) }));
  }
}

function binaryExpression(st: Fencer, b: ts.BinaryExpression): void {
  const op = b.operatorToken.kind;
  if (isAssignment(op)) return st.effect(b);
  if (BITWISE.has(op)) return st.fail(refuse("bitwise", b.operatorToken));
  // "1" + x is a string: its number (through `+` or parseFloat) has no derivative.
  if (ARITHMETIC[op] && [b.left, b.right].some((o) => st.checker.getTypeAtLocation(o).flags & ts.TypeFlags.StringLike))
    return st.fail(refuse("otherExpression", b, { kind: "arithmetic on a string" }));
  // p !== a of records or rows: tsgrad names them by index, never as objects to compare.
  const whole = [b.left, b.right].find((o) => isRecord(st, o) || isRow(st, o));
  if (whole) return st.fail(refuse("rowUse", whole, { row: whole.getText(), rows: "its array" }));
  expression(st, b.left);
  expression(st, b.right);
}

/** a[i]: an element of an array parameter, at an index computed from numbers. */
function element(st: Fencer, e: ts.ElementAccessExpression): void {
  // A[i][j], row[j]: an element of a row of a number[][] parameter; A[i] alone is refused below.
  if (isRow(st, e.expression)) return (rowElement(st, e.expression), expression(st, e.argumentExpression));
  if (isRowsParam(st, e.expression) || isRecordsParam(st, e.expression))
    return st.fail(refuse("rowUse", e, { row: e.getText(), rows: e.expression.getText() }));
  // LANCZOS[i]: an element of a module-level table of constants (ir/tables.ts).
  if (ts.isIdentifier(e.expression) && isConstantTable(e.expression, st.checker))
    return expression(st, e.argumentExpression);
  if (
    ts.isIdentifier(e.expression) &&
    !isLocal(st, e.expression) &&
    isArrayKind(kindOf(st.checker.getTypeAtLocation(e.expression), st.checker))
  )
    return st.fail(refuse("changingTable", e.expression, { name: e.expression.text }));
  if (ts.isIdentifier(e.expression) && isCreatedArray(st, e.expression)) return expression(st, e.argumentExpression);
  // model.W[i] (or W[i] after `const { W } = model`): an element of an array field of a parameter.
  const fieldKind = isParamPart(st, e.expression)
    ? kindOf(st.checker.getTypeAtLocation(e.expression), st.checker)
    : undefined;
  if (isArrayKind(fieldKind) || fieldKind === "Int32Array") return expression(st, e.argumentExpression);
  // y[i] of an Int32Array parameter: integer data (a class label), used as an index or a constant.
  if (
    ts.isIdentifier(e.expression) &&
    isParameter(st, e.expression) &&
    kindOf(st.checker.getTypeAtLocation(e.expression), st.checker) === "Int32Array"
  )
    return expression(st, e.argumentExpression);
  // scale(v, k)[0]: a helper's array read in place, refused at the call (inlinedResultUse).
  if (ofInlinedCall(st, e.expression)) return expression(st, e.expression);
  if (
    !ts.isIdentifier(e.expression) ||
    !isLocal(st, e.expression) ||
    !isArrayKind(kindOf(st.checker.getTypeAtLocation(e.expression), st.checker))
  ) {
    return st.fail(refuse("elementOfNonArray", e));
  }
  if (!isParameter(st, e.expression) && !isCreatedArray(st, e.expression) && !isParamPart(st, e.expression)) {
    return st.fail(refuse("elementOfUntracked", e));
  }
  expression(st, e.argumentExpression);
}

/** `softmax(z)` in `softmax(z)[0]`, `stats(xs)` in `stats(xs).mean`: a call of a helper inlined here. */
function ofInlinedCall(st: Fencer, e: ts.Expression): boolean {
  const x = skipWrappers(e);
  return ts.isCallExpression(x) && inlinedHelperOf(st.checker, x.expression, st.fn) !== undefined;
}

/** The index of `A[i]` in `A[i][j]` or `A[i].length` (a row named by a const or a loop has none). */
function rowElement(st: Fencer, row: ts.Expression): void {
  const x = skipWrappers(row);
  if (ts.isElementAccessExpression(x)) expression(st, x.argumentExpression);
}

function property(st: Fencer, p: ts.PropertyAccessExpression): void {
  if (p.name.text === "length" && isRow(st, p.expression)) return rowElement(st, p.expression);
  if (ofInlinedCall(st, p.expression)) return expression(st, p.expression);
  if (mathMember(p) !== undefined || isGlobalConstant(p, st.checker)) return;
  const table = ts.isIdentifier(p.expression) && isTable(st, p.expression);
  if (p.name.text === "length" && table) return;
  if (recordField(st, p)) return;
  if (isParamPart(st, p.expression)) return field(st, p);
  const kind = ts.isIdentifier(p.expression)
    ? kindOf(st.checker.getTypeAtLocation(p.expression), st.checker)
    : undefined;
  if (
    p.name.text === "length" &&
    ts.isIdentifier(p.expression) &&
    isLocal(st, p.expression) &&
    (isArrayKind(kind) || kind === "Int32Array" || isCreatedArray(st, p.expression))
  )
    return;
  if (p.expression.kind === ts.SyntaxKind.ThisKeyword) return thisRead(st, p); // this.k: a constant of the instance
  // opts.k of a captured object, vec.k in a member of vec: read once per call, like this.k.
  const owned = ownedField(p, st.fn, st.checker);
  if (owned === "captured") return void captured(st, p.expression as ts.Identifier);
  if (owned === "holder") return;
  const t = st.checker.getTypeAtLocation(p);
  // An enum member or a const field: a number, or a string compared with a data parameter (`kind === Norm.L2`).
  if (ts.isIdentifier(p.expression) && t.flags & (ts.TypeFlags.NumberLiteral | ts.TypeFlags.StringLiteral)) return;
  st.fail(refuse("propertyRead", p, { read: p.getText() }));
}

/** A module table of numbers or of records (ir/tables.ts). */
const isTable = (st: Fencer, id: ts.Identifier) => isConstantTable(id, st.checker) || isRecordTable(id, st.checker);

/**
 * DATA[i].x of a table of records, or p.x of `for (const p of DATA)`: a constant field (true), the
 * index checked like any. A module array of objects that could change is refused at its name.
 */
function recordField(st: Fencer, p: ts.PropertyAccessExpression): boolean {
  const target = skipWrappers(p.expression);
  // pts[i].x, p.x of `const p = pts[i]`: a number field of a record of a records parameter.
  if (isRecord(st, target)) return (rowElement(st, target), true);
  if (ts.isElementAccessExpression(target) && ts.isIdentifier(target.expression)) {
    if (isRecordTable(target.expression, st.checker)) return (expression(st, target.argumentExpression), true);
    const decl = st.checker.getSymbolAtLocation(target.expression)?.valueDeclaration;
    const moduleArray = decl && ts.isVariableDeclaration(decl) && ts.isSourceFile(decl.parent.parent.parent);
    if (moduleArray && !isLocal(st, target.expression))
      return (st.fail(refuse("changingTable", target.expression, { name: target.expression.text })), true);
    return false;
  }
  if (!ts.isIdentifier(target)) return false;
  const decl = st.checker.getSymbolAtLocation(target)?.valueDeclaration;
  const loop = decl && ts.isVariableDeclaration(decl) ? decl.parent.parent : undefined;
  const over = loop && ts.isForOfStatement(loop) ? skipWrappers(loop.expression) : undefined;
  return over !== undefined && ts.isIdentifier(over) && isRecordTable(over, st.checker);
}

/** model.reg, model.W.length: a number field of an object parameter, or an array field's length. */
function field(st: Fencer, p: ts.PropertyAccessExpression): void {
  // p.speed, a getter of p's class (or a method, a field holding a function): behaviour, not data.
  const member = st.checker.getSymbolAtLocation(p)?.valueDeclaration;
  if (member && isBehaviour(member, st.checker))
    return st.fail(refuse("classBehaviourRead", p, { name: p.name.text, object: p.expression.getText() }));
  const kind = kindOf(st.checker.getTypeAtLocation(p), st.checker);
  const of = kindOf(st.checker.getTypeAtLocation(p.expression), st.checker);
  if (p.name.text === "length" && (isArrayKind(of) || of === "Int32Array" || of === "rows" || of === "records")) return;
  // M.rows, model.W.cols: a matrix's shape, a number like an array's length.
  if ((p.name.text === "rows" || p.name.text === "cols") && of === "Matrix") return;
  if (of === "Matrix") return st.fail(refuse("matrixMember", p, { member: p.name.text }));
  // A number, or data (a mode, a flag) the function branches on.
  if (kind === "number" || kind === "data") return;
  if (kind === "Matrix" || kind === "Int32Array" || isArrayKind(kind)) {
    return st.fail(refuse("bufferField", p, { field: p.getText() }));
  }
  st.fail(refuse("objectPassed", p, { object: p.getText(), field: firstField(st, p) ?? "x" }));
}

/** `this.k` (or `this.m(x)`): in a method, where `this` is the instance, the class or the object literal. */
function thisRead(st: Fencer, p: ts.PropertyAccessExpression): void {
  if (!thisIsItsOwner(st)) st.fail(refuse("thisOutsideMethod", p.expression));
}

/** `"l2"` in `kind === "l2"` or `case "l2":`. */
function isComparedString(e: ts.Expression): boolean {
  let p = e.parent;
  while (ts.isParenthesizedExpression(p)) p = p.parent;
  if (ts.isCaseClause(p)) return true;
  // helper(x, "l2"): a mode passed on to a function (a data parameter there).
  if (ts.isCallExpression(p) && p.arguments.some((a) => a === e)) return true;
  const k = ts.isBinaryExpression(p) ? p.operatorToken.kind : undefined;
  return (
    k === ts.SyntaxKind.EqualsEqualsEqualsToken ||
    k === ts.SyntaxKind.ExclamationEqualsEqualsToken ||
    k === ts.SyntaxKind.EqualsEqualsToken ||
    k === ts.SyntaxKind.ExclamationEqualsToken
  );
}
