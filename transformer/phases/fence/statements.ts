// Statements: each kind the stager runs walked for the expressions it holds, every other kind
// refused at the statement. A return of an array or of an object literal must be the function's
// last statement, a switch's `break` may only end its case, a for...of goes over an array the
// function reads.
//
//   for (const k in o) s += o[k];          →   forIn, at the statement
//   if (c) return h;   (h a local array)   →   arrayReturnNotLast, at the return
//   case 1: if (c) break; ...              →   switchBreak, at the break
//   for (const v of [a, b]) ...            →   forOfNonArray, at `[a, b]`

import ts from "typescript";
import {
  arrayCreation,
  containsChange,
  entriesOf,
  isChange,
  kindOf,
  localHelper,
  skipWrappers,
} from "../../ir/syntax.js";
import { isConstantTable, isRecordTable } from "../../ir/tables.js";
import { refuse } from "../../ir/language.js";
import { isArrayKind } from "../../ir/ir.js";
import type { Fencer } from "./fencer.js";
import { effect, helperDeclaration, variableList, variables } from "./assignments.js";
import { expression } from "./expressions.js";
import { isCreatedArray, isLocal, isRecordsParam, isRow, isRowsParam } from "./names.js";

export function statement(st: Fencer, s: ts.Statement): void {
  switch (s.kind) {
    case ts.SyntaxKind.VariableStatement:
      return variables(st, s as ts.VariableStatement);
    case ts.SyntaxKind.ExpressionStatement:
      return effect(st, (s as ts.ExpressionStatement).expression);
    case ts.SyntaxKind.IfStatement: {
      const i = s as ts.IfStatement;
      expression(st, i.expression);
      st.depth++;
      statement(st, i.thenStatement);
      if (i.elseStatement) statement(st, i.elseStatement);
      st.depth--;
      return;
    }
    case ts.SyntaxKind.ReturnStatement: {
      const r = s as ts.ReturnStatement;
      // return h: an array the function made, as its last statement (a vector-valued function).
      if (r.expression && ts.isIdentifier(r.expression) && isCreatedArray(st, r.expression)) {
        const body = st.fn.body as ts.Block;
        if (st.depth > 0 || body.statements[body.statements.length - 1] !== s) {
          st.fail(refuse("arrayReturnNotLast", s));
        }
        return;
      }
      // return { loss, h }: numbers and arrays the function made, as its last statement.
      if (r.expression && ts.isObjectLiteralExpression(skipWrappers(r.expression)))
        return objectReturn(st, r, skipWrappers(r.expression) as ts.ObjectLiteralExpression);
      if (r.expression) expression(st, r.expression);
      else st.fail(refuse("returnWithoutValue", s));
      return;
    }
    case ts.SyntaxKind.Block:
      return (s as ts.Block).statements.forEach((b) => statement(st, b));
    case ts.SyntaxKind.EmptyStatement:
      return;
    case ts.SyntaxKind.WhileStatement:
    case ts.SyntaxKind.DoStatement: {
      const w = s as ts.WhileStatement | ts.DoStatement;
      expression(st, w.expression);
      return loopBody(st, w.statement);
    }
    case ts.SyntaxKind.ForStatement: {
      const f = s as ts.ForStatement;
      if (f.initializer && ts.isVariableDeclarationList(f.initializer)) variableList(st, f.initializer, f.initializer);
      else if (f.initializer) effect(st, f.initializer);
      if (f.condition) expression(st, f.condition);
      if (f.incrementor) effect(st, f.incrementor);
      return loopBody(st, f.statement);
    }
    case ts.SyntaxKind.ForOfStatement:
      return forOf(st, s as ts.ForOfStatement);
    case ts.SyntaxKind.SwitchStatement:
      return switchStatement(st, s as ts.SwitchStatement);
    case ts.SyntaxKind.ThrowStatement:
      return thrown(st, (s as ts.ThrowStatement).expression);
    case ts.SyntaxKind.ForInStatement:
      return st.fail(refuse("forIn", s));
    case ts.SyntaxKind.BreakStatement:
    case ts.SyntaxKind.ContinueStatement:
      if ((s as ts.BreakStatement).label) return st.fail(refuse("labelledJump", s));
      return;
    case ts.SyntaxKind.LabeledStatement:
      return st.fail(refuse("labelledStatement", s));
    case ts.SyntaxKind.FunctionDeclaration:
      // function toRad(d: number) { ... } inside: a local helper, inlined where it is called.
      if (localHelper(s)) return helperDeclaration(st, s, localHelper(s)!);
      return st.fail(refuse("nestedDeclaration", s));
    case ts.SyntaxKind.ClassDeclaration:
      return st.fail(refuse("nestedDeclaration", s));
    default:
      return st.fail(refuse("otherStatement", s, { keyword: firstWord(s) }));
  }
}

/** switch: its cases run as the branches of an if/else chain; a `break` may only end a case. */
function switchStatement(st: Fencer, s: ts.SwitchStatement): void {
  expression(st, s.expression);
  st.depth++;
  for (const clause of s.caseBlock.clauses) {
    // case i++: a case's value is computed only when the cases before it did not match.
    if (ts.isCaseClause(clause) && containsChange(clause.expression))
      st.fail(refuse("assignmentSometimes", clause.expression));
    else if (ts.isCaseClause(clause)) expression(st, clause.expression);
    const own =
      clause.statements.length === 1 && ts.isBlock(clause.statements[0])
        ? clause.statements[0].statements
        : clause.statements;
    own.forEach((line, i) => {
      if (ts.isBreakStatement(line) && !line.label && i === own.length - 1) return;
      switchBreaks(st, line);
      statement(st, line);
    });
  }
  st.depth--;
}

/** A `break` of the switch anywhere but at the end of its case (in an `if`, say). */
function switchBreaks(st: Fencer, n: ts.Node): void {
  if (ts.isBreakStatement(n) && !n.label) return st.fail(refuse("switchBreak", n));
  if (ts.isFunctionLike(n) || ts.isIterationStatement(n, false) || ts.isSwitchStatement(n)) return;
  ts.forEachChild(n, (child) => switchBreaks(st, child));
}

/** `throw new RangeError(...)`: anything but a change of a variable (it runs once, never differentiated). */
function thrown(st: Fencer, e: ts.Expression): void {
  const visit = (n: ts.Node): void => {
    if (isChange(n)) return st.fail(refuse("sideEffect", n));
    if (ts.isFunctionLike(n)) return st.fail(refuse("closure", n));
    ts.forEachChild(n, visit);
  };
  visit(e);
}

/**
 * `return { loss: a + b, h }` at the end (or an arrow's `=> ({ ... })`): each field a number, or an
 * array the function made.
 */
export function objectReturn(st: Fencer, r: ts.ReturnStatement | undefined, o: ts.ObjectLiteralExpression): void {
  const body = st.fn.body!;
  if (r && (st.depth > 0 || !ts.isBlock(body) || body.statements[body.statements.length - 1] !== r)) {
    return st.fail(refuse("objectReturnNotLast", r));
  }
  const arrays = new Map<ts.Symbol, string>();
  const once = (p: ts.ObjectLiteralElementLike, symbol: ts.Symbol | undefined) => {
    const first = symbol && arrays.get(symbol);
    if (first) st.fail(refuse("arrayReturnedTwice", p, { name: symbol!.name, first, second: p.name!.getText() }));
    else if (symbol) arrays.set(symbol, p.name!.getText());
  };
  for (const p of o.properties) {
    if (ts.isShorthandPropertyAssignment(p)) {
      // `{ h }`: the name's symbol is the property's; the variable's is the shorthand's value symbol.
      const decl = st.checker.getShorthandAssignmentValueSymbol(p)?.valueDeclaration;
      const created =
        decl !== undefined &&
        ts.isVariableDeclaration(decl) &&
        decl.initializer !== undefined &&
        arrayCreation(decl.initializer, st.checker) !== undefined;
      if (!created) expression(st, p.name);
      else once(p, st.checker.getShorthandAssignmentValueSymbol(p));
    } else if (ts.isPropertyAssignment(p) && ts.isIdentifier(p.name)) {
      const v = skipWrappers(p.initializer);
      if (!(ts.isIdentifier(v) && isCreatedArray(st, v))) expression(st, p.initializer);
      else once(p, st.checker.getSymbolAtLocation(v));
    } else st.fail(refuse("returnedObjectField", p));
  }
}

/** for (const v of a): over an array parameter, one element per iteration, to the end. */
function forOf(st: Fencer, s: ts.ForOfStatement): void {
  const init = s.initializer;
  if (s.awaitModifier) return st.fail(refuse("forAwait", s));
  // for (const [i, v] of xs.entries()): the index and the element.
  const entries = entriesOf(s.expression);
  const array = entries ? skipWrappers(entries) : s.expression;
  // for (const p of DATA) over a table of records: p.x reads DATA[i].x.
  const records =
    !entries &&
    ((ts.isIdentifier(array) && isRecordTable(array, st.checker)) ||
      isRowsParam(st, array) ||
      isRecordsParam(st, array));
  // for (const v of row), row a row of a number[][]: not yet.
  if (isRow(st, array)) return st.fail(refuse("forOfRow", s.expression, { row: array.getText() }));
  if (
    !records &&
    (!ts.isIdentifier(array) ||
      !(isLocal(st, array) || isConstantTable(array, st.checker)) ||
      !isArrayKind(kindOf(st.checker.getTypeAtLocation(array), st.checker)))
  ) {
    return st.fail(refuse("forOfNonArray", s.expression));
  }
  const binding = ts.isVariableDeclarationList(init) && init.declarations.length === 1 && init.declarations[0].name;
  const pair =
    binding &&
    ts.isArrayBindingPattern(binding) &&
    binding.elements.length === 2 &&
    binding.elements.every(
      (el) => ts.isOmittedExpression(el) || (ts.isIdentifier(el.name) && !el.dotDotDotToken && !el.initializer),
    );
  if (!binding || !(entries ? pair : ts.isIdentifier(binding))) return st.fail(refuse("forOfBinding", init));
  loopBody(st, s.statement);
}

function loopBody(st: Fencer, body: ts.Statement): void {
  st.depth++;
  statement(st, body);
  st.depth--;
}

function firstWord(s: ts.Node): string {
  return s.getText().split(/[\s(]/)[0];
}
