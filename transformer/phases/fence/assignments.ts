// Declarations and assignments: what a declaration may hold (a number, an array the function
// makes at its top level, names for read-only parts of a parameter) and what an assignment may
// write (a local, an element of an array the function made); any other expression statement is
// refused.
//
//   let W = model.W;                               →   letParameterPart
//   if (c) { const h = new Float64Array(n); }      →   arrayInBranch
//   p.w = 2;   (p a parameter)                     →   writeParameterField
//   console.log(x);                                →   sideEffect

import ts from "typescript";
import {
  type Callback,
  arrayCallback,
  arrayCreation,
  arraySearch,
  entriesOf,
  forEachCall,
  kindOf,
  localHelper,
  skipWrappers,
} from "../../ir/syntax.js";
import { isConstantTable } from "../../ir/tables.js";
import { ELEMENT_WRITES, isAssignment, isIncrement, refuse } from "../../ir/language.js";
import { isArrayKind } from "../../ir/ir.js";
import type { Fencer } from "./fencer.js";
import { expression } from "./expressions.js";
import {
  arrayPop,
  isArrayMethod,
  isCreatedArray,
  isGrownArray,
  isLocal,
  isParamPart,
  isRecord,
  isRecordVariable,
  isRow,
  resolved,
} from "./names.js";
import { pattern } from "./signature.js";
import { arrayContents, forEachLoop, inlinedBody } from "./callbacks.js";
import { inlinedHelperOf } from "../../ir/inlining.js";

export function variables(st: Fencer, v: ts.VariableStatement): void {
  variableList(st, v.declarationList, v);
}

/**
 * `const toRad = (d: number) => (d * Math.PI) / 180;`: a helper the stager inlines where it is
 * called. It may call helpers declared before it (never itself: inlining would not end).
 */
export function helperDeclaration(st: Fencer, d: ts.Node, helper: Callback): void {
  inlinedBody(st, helper, (what) => st.fail(refuse("localHelperForm", helper, { what })));
  const calls = (n: ts.Node): void => {
    if (ts.isCallExpression(n) && ts.isIdentifier(n.expression)) {
      const decl = st.checker.getSymbolAtLocation(n.expression)?.valueDeclaration;
      if (decl && localHelper(decl) && decl.pos >= d.pos)
        st.fail(refuse("localHelperForm", n, { what: "calls itself, or a helper declared after it" }));
    }
    ts.forEachChild(n, calls);
  };
  calls(helper.body!);
}

export function variableList(st: Fencer, list: ts.VariableDeclarationList, node: ts.Node): void {
  const flags = list.flags;
  for (const d of list.declarations) {
    const helper = localHelper(d);
    if (helper) {
      helperDeclaration(st, d, helper);
      continue;
    }
    // const row = A[i]: a name for a row of a number[][] parameter, read as row[j].
    if (ts.isIdentifier(d.name) && d.initializer && (isRow(st, d.initializer) || isRecord(st, d.initializer))) {
      // let b = pts[k]: a record variable, given other records of pts later (stage/assignments.ts).
      const init = skipWrappers(d.initializer);
      if (!(flags & ts.NodeFlags.Const) && !isRecord(st, d.initializer)) st.fail(refuse("letParameterPart", d));
      // const t = a: another name for the row or record a names (its index as it is now).
      else if (ts.isElementAccessExpression(init)) expression(st, init.argumentExpression);
      continue;
    }
    const part = d.initializer !== undefined && isParamPart(st, d.initializer);
    if (ts.isArrayBindingPattern(d.name) && d.initializer && isElementSource(st, d.initializer)) {
      // const [x, y] = p: x = p[0], y = p[1], numbers like any other.
      d.name.elements.forEach((el) => {
        if (ts.isOmittedExpression(el)) return;
        if (el.dotDotDotToken) st.fail(refuse("destructuringRest", el));
        else if (el.initializer) st.fail(refuse("destructuringDefault", el));
        else if (!ts.isIdentifier(el.name)) st.fail(refuse("arrayDestructuring", el.name));
      });
    } else if (
      part &&
      !(flags & ts.NodeFlags.Const) &&
      !isNumber(st, d.initializer!) &&
      !isMatrix(st, d.initializer!)
    ) {
      st.fail(refuse("letParameterPart", d));
    } else if (part && flags & ts.NodeFlags.Const) {
      // const { W1, b1 } = model, const layer = model.layer: names for read-only fields.
      if (!ts.isIdentifier(d.name)) pattern(st, d.name);
    } else if (ts.isObjectBindingPattern(d.name) && d.initializer && objectResult(st, d.initializer)) {
      // const { mean, sd } = stats(xs): the fields of the object literal the inlined helper returns.
      d.name.elements.forEach((el) => {
        if (el.dotDotDotToken) st.fail(refuse("destructuringRest", el));
        else if (el.initializer) st.fail(refuse("destructuringDefault", el));
        else if (!ts.isIdentifier(el.name)) st.fail(refuse("destructuring", el.name));
      });
      expression(st, d.initializer);
    } else if (!ts.isIdentifier(d.name)) {
      st.fail(refuse("destructuring", d.name));
    } else if (d.initializer && arrayCreation(d.initializer, st.checker)) {
      // const h = new Float64Array(n), const v = [a, b], anywhere (in a loop: made once, before it).
      arrayContents(st, d.initializer, arrayCreation(d.initializer, st.checker)!);
    } else if (d.initializer && isLocalArrayName(st, d.initializer)) {
      // const tmp = u: another name for the array u (double buffering swaps through it).
    } else if (d.initializer) {
      expression(st, d.initializer);
    }
  }
}

/** `u = next`, `u = u0.slice()`, `h = cell(x, h)`: the array variable u given another local array, a new one, or a helper's. */
function arrayAssignment(st: Fencer, e: ts.BinaryExpression): void {
  const created = arrayCreation(skipWrappers(e.right), st.checker);
  if (e.operatorToken.kind !== ts.SyntaxKind.EqualsToken)
    st.fail(refuse("arrayRebindForm", e, { name: e.left.getText() }));
  else if (created) arrayContents(st, skipWrappers(e.right), created);
  else if (isLocalArrayName(st, e.right)) return;
  else if (objectResult(st, e.right) || !arrayResult(st, e.right))
    st.fail(refuse("arrayRebindForm", e.right, { name: e.left.getText() }));
  else expression(st, e.right);
}

/** `b = pts[i]`, `a = b`: a record variable given a record (its index, in the staged code). */
function recordValue(st: Fencer, e: ts.BinaryExpression): void {
  const right = skipWrappers(e.right);
  if (e.operatorToken.kind !== ts.SyntaxKind.EqualsToken || !isRecord(st, right))
    return st.fail(refuse("recordVariableForm", e.right, { name: e.left.getText() }));
  if (ts.isElementAccessExpression(right)) expression(st, right.argumentExpression);
}

/** `[u, next] = [next, u]`: arrays the function created, given to each other at once. */
export function isArraySwap(st: Fencer, e: ts.BinaryExpression): boolean {
  const [left, right] = [skipWrappers(e.left), skipWrappers(e.right)];
  if (e.operatorToken.kind !== ts.SyntaxKind.EqualsToken) return false;
  if (!ts.isArrayLiteralExpression(left) || !ts.isArrayLiteralExpression(right)) return false;
  const names = (list: ts.ArrayLiteralExpression) => list.elements.every((x) => isLocalArrayName(st, x));
  return left.elements.length === right.elements.length && names(left) && names(right);
}

/**
 * `for (const v of u) { ...; u = next; }`, `u.forEach((v) => { [u, w] = [w, u]; })`: JavaScript
 * goes on over the array u held when the loop started, the staged loop reads u[i] through the
 * name, which holds the other array by then. Refused at the assignment.
 */
function iteratedRebind(st: Fencer, e: ts.BinaryExpression): void {
  const left = skipWrappers(e.left);
  const names = ts.isArrayLiteralExpression(left) ? left.elements.map(skipWrappers) : [left];
  const symbols = new Set(names.map((x) => st.checker.getSymbolAtLocation(x)));
  for (let n: ts.Node = e; n.parent && n !== st.fn; n = n.parent) {
    const over = iterated(n);
    const x = over && skipWrappers(over);
    if (x && ts.isIdentifier(x) && symbols.has(st.checker.getSymbolAtLocation(x)))
      return st.fail(refuse("arrayRebindIterated", e, { name: x.text }));
  }
}

/** The array a loop body or a callback `n` goes over: `u` of `for (const v of u) n`, `u.forEach(n)`. */
function iterated(n: ts.Node): ts.Expression | undefined {
  const p = n.parent;
  if (ts.isForOfStatement(p) && p.statement === n) return entriesOf(p.expression) ?? p.expression;
  if (!(ts.isArrowFunction(n) || ts.isFunctionExpression(n)) || !ts.isCallExpression(p)) return undefined;
  const call = forEachCall(p) ?? arrayCallback(p) ?? arraySearch(p);
  return call?.callback === n ? call.array : undefined;
}

/** `X` of a Matrix parameter: `let input = X` is a variable a branch may give another matrix (no op writes one). */
function isMatrix(st: Fencer, e: ts.Expression): boolean {
  return kindOf(st.checker.getTypeAtLocation(e), st.checker) === "Matrix";
}

/** `u` naming an array the function created. */
function isLocalArrayName(st: Fencer, e: ts.Expression): boolean {
  const x = skipWrappers(e);
  return ts.isIdentifier(x) && isCreatedArray(st, x);
}

/** cell(x, h): a call of a helper inlined here that returns an array. */
function arrayResult(st: Fencer, e: ts.Expression): boolean {
  const x = skipWrappers(e);
  return ts.isCallExpression(x) && inlinedHelperOf(st.checker, x.expression, st.fn)?.result === "array";
}

/** `h.fill(v)` of an array the function created (or an inlined helper's out-parameter). */
function arrayFill(st: Fencer, e: ts.CallExpression): boolean {
  const callee = skipWrappers(e.expression);
  return (
    ts.isPropertyAccessExpression(callee) &&
    callee.name.text === "fill" &&
    e.arguments.length === 1 &&
    ts.isIdentifier(callee.expression) &&
    isCreatedArray(st, callee.expression)
  );
}

/** `out.push(v, w)` of an array created empty here (`const out: number[] = []`), no spread. */
function arrayPush(st: Fencer, e: ts.CallExpression): boolean {
  const callee = skipWrappers(e.expression);
  if (!ts.isPropertyAccessExpression(callee) || callee.name.text !== "push" || !ts.isIdentifier(callee.expression))
    return false;
  const grown = isGrownArray(st, callee.expression);
  if (grown && e.arguments.some(ts.isSpreadElement)) st.fail(refuse("spreadArgument", e));
  return grown;
}

/** stats(xs): a call of a helper inlined here that returns an object. */
function objectResult(st: Fencer, e: ts.Expression): boolean {
  const x = skipWrappers(e);
  return ts.isCallExpression(x) && inlinedHelperOf(st.checker, x.expression, st.fn)?.result === "object";
}

/** An expression statement must be an assignment to a local: `x = e`, `x += e`, `x++`, or a comma list of them. */
export function effect(st: Fencer, e: ts.Expression): void {
  e = skipWrappers(e);
  if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.CommaToken) {
    effect(st, e.left);
    return effect(st, e.right);
  }
  if (ts.isBinaryExpression(e) && isArraySwap(st, e)) return iteratedRebind(st, e); // [u, next] = [next, u]
  if (ts.isBinaryExpression(e) && isAssignment(e.operatorToken.kind)) {
    target(st, e.left);
    // a = b, b = pts[i] of a record variable: another record of the array.
    if (ts.isIdentifier(e.left) && isRecordVariable(st, e.left)) return recordValue(st, e);
    // u = next, u = u0.slice(), h = cell(x, h): a variable holding an array given another one.
    if (ts.isIdentifier(e.left) && isCreatedArray(st, e.left)) {
      iteratedRebind(st, e);
      return arrayAssignment(st, e);
    }
    return expression(st, e.right);
  }
  if ((ts.isPrefixUnaryExpression(e) || ts.isPostfixUnaryExpression(e)) && isIncrement(e.operator)) {
    return target(st, e.operand);
  }
  // xs.forEach((v, i) => { s += v; }): the loop it stands for, its body the callback's.
  const each = ts.isCallExpression(e) ? forEachCall(e) : undefined;
  if (each && isArrayMethod(st, skipWrappers((e as ts.CallExpression).expression) as ts.PropertyAccessExpression))
    return forEachLoop(st, each);
  // h.fill(v) of an array the function created: every element v.
  if (ts.isCallExpression(e) && arrayFill(st, e)) return expression(st, e.arguments[0]);
  // out.push(v, w) of an array the function created empty (`const out: number[] = []`).
  if (ts.isCallExpression(e) && arrayPush(st, e)) return e.arguments.forEach((a) => expression(st, a));
  // out.pop() of such an array: one element fewer.
  if (ts.isCallExpression(e) && arrayPop(st, e)) return;
  // cross(n, a, b): a helper writing into the caller's array, inlined (calls.ts).
  if (ts.isCallExpression(e) && inlinedHelperOf(st.checker, e.expression, st.fn)) return expression(st, e);
  st.fail(refuse("sideEffect", e));
}

function target(st: Fencer, e: ts.Expression): void {
  if (ts.isElementAccessExpression(e)) {
    if (!ts.isIdentifier(e.expression) || !isCreatedArray(st, e.expression)) {
      return st.fail(refuse("writeParameterElement", e));
    }
    const op = e.parent && ts.isBinaryExpression(e.parent) ? e.parent.operatorToken.kind : undefined;
    if (op !== undefined && !ELEMENT_WRITES.has(op)) {
      return st.fail(refuse("elementCompoundWrite", e.parent));
    }
    return expression(st, e.argumentExpression);
  }
  if (ts.isPropertyAccessExpression(e) && isParamPart(st, e.expression)) {
    return st.fail(refuse("writeParameterField", e));
  }
  if (!ts.isIdentifier(e)) {
    return st.fail(refuse("assignmentTarget", e));
  }
  if (!isLocal(st, e)) {
    st.fail(refuse("outerAssignment", e, { name: e.text }));
  }
}

/** An array whose elements can be read by index: a parameter's (or a field's), or a table of constants. */
function isElementSource(st: Fencer, e: ts.Expression): boolean {
  const x = skipWrappers(e);
  if (ts.isIdentifier(x) && isConstantTable(x, st.checker)) return true;
  return isParamPart(st, x) && isArrayKind(kindOf(st.checker.getTypeAtLocation(x), st.checker));
}

/** number, a number literal, a union with them (`x && 1` is `0 | 1`), or any: it may carry a number. */
function isNumber(st: Fencer, e: ts.Expression): boolean {
  const t = st.checker.getTypeAtLocation(e);
  if (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return true;
  const parts = t.isUnion() ? t.types : [t];
  return parts.some((p) => (p.flags & ts.TypeFlags.NumberLike) !== 0);
}
