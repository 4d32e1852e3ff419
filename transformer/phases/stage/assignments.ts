// Declarations and assignments: every assignment a new version of its variable, an array pattern
// its elements read one by one, and a write to an element of a local array a store.
//
//   x = x * 2;              →   const x_1 = x * 2;
//   const [a, b] = p;       →   const a = p[0];  const b = p[1];
//   h[j] += x * w;          →   const xw = x * w;  h[j] += xw;   (a store)

import ts from "typescript";
import { COMPOUND, refuse } from "../../ir/language.js";
import { type Expr, num, ref, scalarOp } from "../../ir/ir.js";
import { arrayCreation, containsChange, localHelper, recordKeys, skipWrappers } from "../../ir/syntax.js";
import type { Stager } from "./stager.js";
import { condition, effect, elementAt, isRowRead, stableIndex, value } from "./expressions.js";
import { createArray, inlinedFields } from "./callbacks.js";
import { type InlinedHelper, inlinedHelperOf } from "../../ir/inlining.js";

export function variables(st: Stager, s: ts.VariableStatement | ts.VariableDeclarationList): void {
  const note = ts.isVariableStatement(s) ? trailingComment(s) : undefined;
  for (const d of (ts.isVariableStatement(s) ? s.declarationList : s).declarations) {
    if (ts.isArrayBindingPattern(d.name) && d.initializer) {
      elements(st, d.name, d.initializer, note);
      continue;
    }
    const inline = d.initializer && inlinedCallOf(st, d.initializer);
    if (inline && ts.isObjectBindingPattern(d.name)) {
      fields(st, d.name, inline.helper, inline.call, note);
      continue;
    }
    // const { W1, b1 } = model, const W = model.W: names for fields, bound once in parameters().
    if (!ts.isIdentifier(d.name) || st.aliases.has(st.symbol(d.name))) continue;
    // const row = A[i] of a number[][] A: row[j] reads A[i][j] (the index as it is now).
    if (d.initializer && isRowRead(st, d.initializer, "rows")) {
      st.rows.set(st.symbol(d.name), elementAt(st, d.name, d.initializer));
      continue;
    }
    // const t = a of a row or a record: t names what a names now (a record variable's index now).
    if (d.initializer && ts.isIdentifier(skipWrappers(d.initializer)) && aliasOfElement(st, d)) continue;
    // let b = pts[k], let a: Point: a variable naming records of pts by their index.
    if (isRecordVariable(st, d)) {
      st.recordVars.set(st.symbol(d.name), "");
      st.env.set(st.symbol(d.name), undefined);
      if (d.initializer) recordAssignment(st, d.name, d.initializer);
      continue;
    }
    // const p = pts[i] of records pts: p.x reads pts[i].x.
    if (d.initializer && isRowRead(st, d.initializer, "records")) {
      const element = elementAt(st, d.name, d.initializer);
      st.records.set(st.symbol(d.name), { array: element.array, index: element.index });
      continue;
    }
    if (inline?.helper.result === "array") {
      // const p = softmax(z): p names the array softmax returns, staged in place.
      const array = st.call(inline.call);
      st.env.set(st.symbol(d.name), (array as { name: string }).name);
      continue;
    }
    if (localHelper(d)) continue; // const toRad = (d) => ...: inlined where it is called (calls.ts)
    // const tmp = u of a local array u: tmp names u's array (rebinds.ts).
    if (d.initializer && st.isLocalArray(skipWrappers(d.initializer))) {
      st.env.set(
        st.symbol(d.name),
        (st.current(skipWrappers(d.initializer) as ts.Identifier) as { name: string }).name,
      );
      continue;
    }
    const id = d.name;
    const name = st.declare(id.text);
    st.env.set(st.symbol(id), d.initializer ? name : undefined);
    const created = d.initializer && arrayCreation(d.initializer, st.ctx.checker);
    if (created) createArray(st, name, created, d.initializer!);
    else if (d.initializer) value(st, d.initializer, { name, assign: false, note });
  }
}

/** softmax(z) of a helper inlined here (ir/inlining.ts): the call and its helper. */
function inlinedCallOf(st: Stager, e: ts.Expression) {
  const call = skipWrappers(e);
  const helper = ts.isCallExpression(call) ? inlinedHelperOf(st.ctx.checker, call.expression, st.fn) : undefined;
  return helper && { helper, call: call as ts.CallExpression };
}

/** const { mean, sd } = stats(xs) → mean and sd name the values of stats's returned fields. */
function fields(
  st: Stager,
  pattern: ts.ObjectBindingPattern,
  helper: InlinedHelper,
  call: ts.CallExpression,
  note?: string,
): void {
  const values = inlinedFields(st, helper, call);
  for (const el of pattern.elements) {
    const id = el.name as ts.Identifier;
    const field = values.get((el.propertyName ?? id).getText())!;
    if (field.k === "ref") st.env.set(st.symbol(id), field.name);
    else {
      const name = st.declare(id.text);
      st.emit({ name, assign: false, note }, field, scalarOp("copy"), [field], el);
      st.env.set(st.symbol(id), name);
    }
  }
}

/** const [x, y] = p → x = p[0], y = p[1] (the fence allows an array parameter or a table). */
function elements(st: Stager, pattern: ts.ArrayBindingPattern, init: ts.Expression, note?: string): void {
  const array = value(st, init);
  if (array.k !== "ref") throw refuse("arrayDestructuring", pattern);
  pattern.elements.forEach((el, k) => {
    if (ts.isOmittedExpression(el) || !ts.isIdentifier(el.name)) return;
    const name = st.declare(el.name.text);
    const value: Expr = { k: "elem", array: array.name, index: num(k) };
    st.emit({ name, assign: false, note }, value, scalarOp("copy"), [value], el);
    st.env.set(st.symbol(el.name), name);
  });
}

/** x = e, x += e, x++ → a new version of x. */
export function assignment(st: Stager, e: ts.Expression, note?: string): void {
  e = skipWrappers(e);
  if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.CommaToken) {
    effect(st, e.left); // i++, j--
    return effect(st, e.right);
  }
  const target = ts.isBinaryExpression(e)
    ? e.left
    : (e as ts.PrefixUnaryExpression | ts.PostfixUnaryExpression).operand;
  if (ts.isElementAccessExpression(target)) return store(st, e, target);
  // [u, next] = [next, u]: each variable names the array the other held (the fence allows local arrays only).
  if (ts.isArrayLiteralExpression(target) && ts.isBinaryExpression(e)) {
    const from = (skipWrappers(e.right) as ts.ArrayLiteralExpression).elements.map(
      (x) => (st.current(skipWrappers(x) as ts.Identifier) as { name: string }).name,
    );
    target.elements.forEach((x, i) => st.env.set(st.symbol(skipWrappers(x)), from[i]));
    return;
  }
  if (ts.isBinaryExpression(e) && st.isLocalArray(e.left)) return arrayAssignment(st, e.left as ts.Identifier, e.right);
  if (ts.isBinaryExpression(e) && ts.isIdentifier(e.left) && st.recordVars.has(st.symbol(e.left)))
    return recordAssignment(st, e.left, e.right);
  if (ts.isBinaryExpression(e)) {
    const id = e.left as ts.Identifier;
    const want = { name: st.ctx.namer.version(id.text), assign: false, note };
    const op = COMPOUND[e.operatorToken.kind];
    if (e.operatorToken.kind === ts.SyntaxKind.EqualsToken) value(st, e.right, want);
    else if (op) st.operation(op, [st.current(id), value(st, e.right)], e, want);
    else throw refuse("compoundOperator", e.operatorToken, { operator: e.operatorToken.getText() });
    st.env.set(st.symbol(id), want.name);
    return;
  }
  const u = e as ts.PrefixUnaryExpression | ts.PostfixUnaryExpression;
  const id = u.operand as ts.Identifier;
  const want = { name: st.ctx.namer.version(id.text), assign: false, note };
  const op = u.operator === ts.SyntaxKind.PlusPlusToken ? "+" : "-";
  st.operation(op, [st.current(id), num(1)], e, want);
  st.env.set(st.symbol(id), want.name);
}

/**
 * u = next, u = u0.slice(), h = cell(x, h) of a variable holding a local array: u names the other
 * array, or the new one (made before the loop, in a loop); the end of the loop iteration or
 * branch puts the arrays back in their names (rebinds.ts).
 */
function arrayAssignment(st: Stager, id: ts.Identifier, right: ts.Expression): void {
  const x = skipWrappers(right);
  const created = arrayCreation(x, st.ctx.checker);
  let array: string;
  if (created) {
    array = st.declare(st.ctx.namer.fresh(id.text));
    createArray(st, array, created, x);
  } else if (st.isLocalArray(x)) {
    array = (st.current(x as ts.Identifier) as { name: string }).name;
  } else if (inlinedCallOf(st, x)?.helper.result === "array") {
    array = (st.call(x as ts.CallExpression) as { name: string }).name;
  } else throw refuse("arrayRebindForm", right, { name: id.text });
  st.env.set(st.symbol(id), array);
}

/** `const t = a` (or `let t = a`) of a row or a record a: t bound to the same element. True if bound. */
function aliasOfElement(st: Stager, d: ts.VariableDeclaration): boolean {
  const from = st.symbol(skipWrappers(d.initializer!));
  const symbol = st.symbol(d.name);
  const row = st.rows.get(from);
  if (row) return (st.rows.set(symbol, row), true);
  const record = st.records.get(from);
  const array = st.recordVars.get(from);
  if (record && !isRecordVariable(st, d)) return (st.records.set(symbol, record), true);
  if (array && !isRecordVariable(st, d)) {
    st.records.set(symbol, { array, index: st.current(skipWrappers(d.initializer!) as ts.Identifier) });
    return true;
  }
  return false;
}

/** `let b = pts[k]` (not const) or `let a: Point` of a record type: a variable naming records by index. */
function isRecordVariable(st: Stager, d: ts.VariableDeclaration): boolean {
  if (!ts.isIdentifier(d.name) || ts.getCombinedNodeFlags(d) & ts.NodeFlags.Const) return false;
  const { checker } = st.ctx;
  if (!recordKeys(checker.getTypeAtLocation(d.name), checker)) return false;
  return d.initializer === undefined || isRowRead(st, d.initializer, "records") || isRecordName(st, d.initializer);
}

function isRecordName(st: Stager, e: ts.Expression): boolean {
  const x = skipWrappers(e);
  return ts.isIdentifier(x) && (st.recordVars.has(st.symbol(x)) || st.records.has(st.symbol(x)));
}

/**
 * b = pts[i], a = b of a record variable: its new index (a value no gradient flows through),
 * `const b_1 = i`; b.x then reads `pts[b_1].x`.
 */
function recordAssignment(st: Stager, id: ts.Identifier, right: ts.Expression): void {
  const symbol = st.symbol(id);
  const x = skipWrappers(right);
  let element: { array: string; index: Expr };
  if (ts.isIdentifier(x) && st.recordVars.has(st.symbol(x)))
    element = { array: st.recordVars.get(st.symbol(x))!, index: st.current(x) };
  else if (ts.isIdentifier(x) && st.records.has(st.symbol(x))) element = st.records.get(st.symbol(x))!;
  else if (isRowRead(st, x, "records")) element = condition(st, x) as { k: "elem"; array: string; index: Expr };
  else throw refuse("recordVariableForm", right, { name: id.text });
  const was = st.recordVars.get(symbol);
  if (was && was !== element.array) throw refuse("recordVariableForm", right, { name: id.text });
  st.recordVars.set(symbol, element.array);
  const name = st.env.get(symbol) === undefined ? st.declare(id.text) : st.ctx.namer.version(id.text);
  st.body.push({ k: "def", name, value: element.index, op: null, args: [], assign: false, source: right });
  st.env.set(symbol, name);
}

/** h[j] = e, h[j] += e, h[j] -= e, h[j]++ on a local array (the fence allows no other writes). */
function store(st: Stager, e: ts.Expression, target: ts.ElementAccessExpression): void {
  const array = (st.current(target.expression as ts.Identifier) as { name: string }).name;
  const index = stableIndex(st, condition(st, target.argumentExpression), target);
  const write = (value: Expr, add: boolean): void =>
    void st.body.push({ k: "store", array, index, value, add, source: e });
  if (!ts.isBinaryExpression(e))
    return write(num((e as ts.PrefixUnaryExpression).operator === ts.SyntaxKind.PlusPlusToken ? 1 : -1), true);
  const kind = e.operatorToken.kind;
  if (kind === ts.SyntaxKind.EqualsToken) return write(value(st, e.right), false);
  const op = COMPOUND[kind];
  if (!op) throw refuse("elementCompoundUnstaged", e.operatorToken, { operator: e.operatorToken.getText() });
  // h[j] += v and -= v add into the element, whose gradient passes on.
  const changes = containsChange(e.right);
  if (op === "+" && !changes) return write(value(st, e.right), true);
  if (op === "-" && !changes) return write(st.operation("neg", [value(st, e.right)], e), true);
  // h[j] *= v → const h_old = h[j]; const prod = h_old * v; h[j] = prod: the old value read first, at
  // the index computed once, then replaced; so too h[0] += (h[0] = y), where JavaScript reads h[0]
  // before the right side runs.
  const element: Expr = { k: "elem", array, index };
  const old = st.ctx.namer.fresh(`${array}_old`);
  st.body.push({
    k: "def",
    name: old,
    value: element,
    op: scalarOp("copy"),
    args: [element],
    assign: false,
    source: target,
  });
  return write(st.operation(op, [ref(old), value(st, e.right)], e), false);
}

/** `const num = x + sigy; // numerator` → "numerator". */
export function trailingComment(s: ts.Statement): string | undefined {
  const text = s.getSourceFile().text;
  const range = ts.getTrailingCommentRanges(text, s.getEnd())?.[0];
  if (!range || range.kind !== ts.SyntaxKind.SingleLineCommentTrivia) return undefined;
  return text.slice(range.pos + 2, range.end).trim();
}
