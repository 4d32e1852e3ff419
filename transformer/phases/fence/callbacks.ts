// Loops written as calls: xs.reduce(f, init), Math.max(...xs.map(f)), xs.map(f).reduce(g), over
// an array the function reads, with a callback written in place that the stager inlines in the
// loop (stage/callbacks.ts). The callback's body is checked like the function's, one level deeper.
//
//   xs.reduce((acc, v) => acc + v * v, 0)     →   accepted: `acc + v * v` and `0` checked as expressions
//   xs.reduce((acc, v) => ((s += v), acc), 0)  →   callbackAssignsOutside, at `s += v`
//   xs.reduce((acc, v, i, all) => acc, 0)     →   callbackForm (takes 4 parameters)

import ts from "typescript";
import {
  type ArrayCreation,
  type ArraySearch,
  type Callback,
  arrayCallback,
  arrayCreation,
  isChange,
  kindOf,
  recordKeys,
  skipWrappers,
  within,
} from "../../ir/syntax.js";
import { isConstantTable } from "../../ir/tables.js";
import { refuse } from "../../ir/language.js";
import { isArrayKind } from "../../ir/ir.js";
import type { Fencer } from "./fencer.js";
import {
  isArrayMethod,
  isCreatedArray,
  isGlobalName,
  isLocal,
  isParamPart,
  isParameter,
  isRecord,
  isRecordsParam,
  isRow,
  isRowsParam,
} from "./names.js";
import { type InlinedHelper, inlinedHelperOf, inlinedRefusal, writtenParameters } from "../../ir/inlining.js";
import { part } from "./views.js";

/** xs.map(f) of an array, or Array.from(xs, f) of the global Array. */
export function isMapping(st: Fencer, c: ts.CallExpression): boolean {
  const callee = skipWrappers(c.expression) as ts.PropertyAccessExpression;
  return callee.name.text === "from" ? isGlobalName(st, callee) : isArrayMethod(st, callee);
}

/**
 * An array parameter (or a field of one), a local array, or a module table: an array the function
 * reads by name. With `rows`, a number[][] parameter too, for a callback given each row
 * (`keys.map((k) => dot(q, k))`), which reads the row's numbers.
 */
function readableArray(st: Fencer, e: ts.Expression, rows = false): boolean {
  const arr = skipWrappers(e);
  // A row of a number[][] (`const z = A[i]`): read by index only, so far.
  if (isRow(st, arr)) return false;
  if (isRecordsParam(st, arr)) return true; // pts.reduce((s, p) => s + p.x, 0): p.x reads pts[i].x
  if (rows && isRowsParam(st, arr)) return true;
  return (
    ((ts.isIdentifier(arr) && (isLocal(st, arr) || isConstantTable(arr, st.checker))) || isParamPart(st, arr)) &&
    isArrayKind(kindOf(st.checker.getTypeAtLocation(arr), st.checker))
  );
}

/**
 * xs.reduce((acc, v, i) => ..., init), the xs.map((v, i) => ...) of Math.max(...): over an array
 * the function reads, with a callback written in place that the stager inlines in the loop
 * (stage/callbacks.ts): named parameters, no assignment to anything outside it, a `return` only at
 * the end of a block body.
 */
export function callbackLoop(
  st: Fencer,
  lowered: { method: string; array: ts.Expression; callback: Callback; init?: ts.Expression },
) {
  const { method, array, callback, init } = lowered;
  const arr = skipWrappers(array);
  // xs.map(f).reduce(g, 0): one loop, f's value the element g reads.
  const mapped = ts.isCallExpression(arr) ? arrayCallback(arr) : undefined;
  if (mapped?.method === "map" && isMapping(st, arr as ts.CallExpression)) callbackLoop(st, mapped);
  const readable =
    (mapped?.method === "map" && isMapping(st, arr as ts.CallExpression)) || readableArray(st, arr, true);
  const form = (what: string) => st.fail(refuse("callbackForm", callback, { what }));
  if (!readable)
    return st.fail(
      refuse("callbackForm", array, {
        what: "goes over something other than an array parameter, table or local array",
      }),
    );
  const named = method === "reduce" ? 3 : 2;
  if (callback.parameters.length > named)
    return form(`takes ${callback.parameters.length} parameters (the array itself is not passed)`);
  inlinedBody(st, callback, form);
  if (init) st.expression(init);
}

/**
 * xs.forEach((v, i) => { ... }) as a statement: over an array the function reads, its callback a
 * loop body that may assign the function's variables (`s += v`), with no `return` (which would
 * end only the iteration).
 */
export function forEachLoop(st: Fencer, each: { array: ts.Expression; callback: Callback }): void {
  const { array, callback } = each;
  const form = (what: string) => st.fail(refuse("callbackForm", callback, { what }));
  if (!readableArray(st, array, true))
    return st.fail(
      refuse("callbackForm", array, {
        what: "goes over something other than an array parameter, table or local array",
      }),
    );
  if (callback.parameters.length > 2) return form("takes 3 parameters (the array itself is not passed)");
  if (callback.parameters.some((p) => !ts.isIdentifier(p.name) || p.dotDotDotToken || p.initializer))
    return form("has a parameter that is not a plain name");
  const returns = (n: ts.Node): boolean =>
    !ts.isFunctionLike(n) && (ts.isReturnStatement(n) || ts.forEachChild(n, returns) === true);
  const body = callback.body!;
  if (ts.isBlock(body) && body.statements.some(returns))
    return form("returns (which ends only its iteration): write the `for` loop with `continue`");
  st.depth++;
  if (ts.isBlock(body)) body.statements.forEach((s: ts.Statement) => st.statement(s));
  else st.effect(body);
  st.depth--;
}

/** xs.some((v, i) => ...), xs.indexOf(v), xs.find(f): over an array the function reads, the callback inlined in the loop. */
export function searchCall(st: Fencer, search: ArraySearch): void {
  const { array, callback, sought } = search;
  if (!readableArray(st, array))
    return st.fail(
      refuse("callbackForm", array, {
        what: "goes over something other than an array parameter, table or local array",
      }),
    );
  // pts.find((p) => p.x > 0): a record, which tsgrad follows only by its fields.
  const numbers = isArrayKind(kindOf(st.checker.getTypeAtLocation(array), st.checker));
  if ((search.method === "find" || search.method === "findLast") && !numbers) {
    const call = `${array.getText()}.${search.method}`;
    return st.fail(refuse("findOfRecords", array.parent, { call, array: array.getText() }));
  }
  if (sought) return st.expression(sought);
  const form = (what: string) => st.fail(refuse("callbackForm", callback!, { what }));
  if (callback!.parameters.length > 2) return form("takes 3 parameters (the array itself is not passed)");
  inlinedBody(st, callback!, form);
}

/**
 * A function the stager inlines where it is used (a callback, a local helper): plain named
 * parameters, no assignment to anything outside it, a `return` only at the end of a block body;
 * its body fenced as part of the function, one level deeper (a callback runs in a loop).
 */
export function inlinedBody(st: Fencer, callback: Callback, form: (what: string) => void): void {
  st.depth++;
  const last = inlinedStatements(st, callback, form, true);
  if (last) st.expression(last);
  st.depth--;
}

/** The checks of inlinedBody; `needsValue` false lets a block end without `return` (a helper writing `out`). */
function inlinedStatements(
  st: Fencer,
  callback: Callback,
  form: (what: string) => void,
  needsValue: boolean,
): ts.Expression | undefined {
  const params = callback.parameters;
  if (callback.asteriskToken || ts.getCombinedModifierFlags(callback) & ts.ModifierFlags.Async)
    return void form("is a generator or async");
  if (params.some((p) => !ts.isIdentifier(p.name) || p.dotDotDotToken || p.initializer || p.questionToken))
    return void form("has a parameter that is not a plain name");
  const outside = (n: ts.Node): void => {
    if (isChange(n)) {
      let target = skipWrappers(ts.isBinaryExpression(n) ? n.left : (n as ts.PrefixUnaryExpression).operand);
      while (ts.isElementAccessExpression(target) || ts.isPropertyAccessExpression(target))
        target = skipWrappers(target.expression);
      const decl = ts.isIdentifier(target) ? st.checker.getSymbolAtLocation(target)?.valueDeclaration : undefined;
      if (ts.isIdentifier(target) && !(decl && within(decl, callback)))
        st.fail(refuse("callbackAssignsOutside", n, { name: target.text }));
    }
    ts.forEachChild(n, outside);
  };
  outside(callback.body!);
  if (!ts.isBlock(callback.body!)) return callback.body as ts.Expression;
  const statements = callback.body.statements;
  const last = statements[statements.length - 1];
  const returns = last !== undefined && ts.isReturnStatement(last);
  const early = (n: ts.Node): boolean =>
    !ts.isFunctionLike(n) && (ts.isReturnStatement(n) || ts.forEachChild(n, early) === true);
  if (needsValue && !(returns && last.expression)) return void form("has no `return` of a value at its end");
  if ((returns ? statements.slice(0, -1) : statements).some(early)) return void form("returns before its end");
  (returns ? statements.slice(0, -1) : statements).forEach((s) => st.statement(s));
  return returns ? (last as ts.ReturnStatement).expression : undefined;
}

/** The elements of `[a, b]` (numbers), the length of `new Float64Array(n)`, the fill of `Array.from({ length: n }, f)`. */
export function arrayContents(st: Fencer, init: ts.Expression, created: ArrayCreation): void {
  if (created.growable) return; // [], filled by push
  // a.concat(b), [...a, ...b]: arrays the function reads by name.
  if (created.joined)
    return created.joined.forEach(
      (x) => readableArray(st, x) || st.fail(refuse("arrayCopySource", x, { name: x.getText() })),
    );
  if (created.elements && kindOf(st.checker.getTypeAtLocation(init), st.checker) !== "number[]")
    return st.fail(refuse("arrayLiteral", init));
  if (created.elements) return created.elements.forEach((x) => st.expression(x));
  // xs.slice(), xs.map((v, i) => ...): a copy or a map of an array the function reads.
  // dense(W, b, x).map(f): the array an inlined helper returns, mapped as it is made.
  const made = created.source && skipWrappers(created.source);
  const returned = made && ts.isCallExpression(made) && inlinedHelperOf(st.checker, made.expression, st.fn);
  if (returned && returned.result === "array") inlinedCall(st, made as ts.CallExpression, returned);
  else if (created.source && !readableArray(st, created.source, created.fill !== undefined))
    return st.fail(refuse("arrayCopySource", created.source, { name: created.source.getText() }));
  if (created.part) part(st, init, created.part, created.source!);
  const callback = created.fill ?? created.filter;
  if (created.source && callback && callback.parameters.length > 2)
    return st.fail(refuse("callbackForm", callback, { what: "takes more than the element and the index" }));
  if (created.source && callback)
    return inlinedBody(st, callback, (what) => st.fail(refuse("callbackForm", callback, { what })));
  if (created.source) return;
  st.expression(created.length!);
  if (created.value) st.expression(created.value);
  // Array.from({ length: n }, (_, i) => ...): the callback inlined in the loop filling it.
  const fill = created.fill;
  if (fill && fill.parameters.length > 2)
    st.fail(refuse("callbackForm", fill, { what: "takes more than the element and the index" }));
  else if (fill) inlinedBody(st, fill, (what) => st.fail(refuse("callbackForm", fill, { what })));
}

/**
 * An array an inlined helper is given or returns: an array parameter or a created array by name,
 * `new Float64Array(3)` or `[x, y]` created in place, or the
 * array another inlined helper returns. False if `e` is none of these.
 */
function arrayValue(st: Fencer, e: ts.Expression): boolean {
  const x = skipWrappers(e);
  if (ts.isIdentifier(x)) return isParameter(st, x) || isCreatedArray(st, x);
  const created = arrayCreation(x, st.checker);
  if (created) {
    arrayContents(st, x, created);
    return true;
  }
  const helper = ts.isCallExpression(x) ? inlinedHelperOf(st.checker, x.expression, st.fn) : undefined;
  if (helper?.result !== "array") return false;
  inlinedCall(st, x as ts.CallExpression, helper);
  return true;
}

/**
 * softmax(z), cross(n, a, b), stats(xs): a module helper inlined here (ir/inlining.ts), its body
 * fenced as part of the function, each array parameter standing for the caller's array given to
 * it: an array parameter of the caller (read only) or an array the caller created, which the
 * helper may write (an out-parameter). Its result, if an array, one the caller created or the
 * helper creates; if an object, a literal of numbers.
 */
export function inlinedCall(st: Fencer, c: ts.CallExpression, helper: InlinedHelper): void {
  const { fn, name } = helper;
  const form = (what: string) => st.fail(refuse("inlinedHelperForm", c, { name, what }));
  if (st.inlining.includes(fn)) return form("calls itself");
  if (c.arguments.length !== fn.parameters.length || c.arguments.some(ts.isSpreadElement))
    return form(`takes ${fn.parameters.length} arguments, and this call passes ${c.arguments.length}`);
  const written = writtenParameters(fn);
  // The bindings of the helper's parameters as they were: `h0(u, h0(u, x))` binds them again inside
  // an argument, and the outer call's must come back after.
  const given = [st.aliases, st.madeInPlace, st.rowsGiven, st.recordsGiven] as const;
  const saved = fn.parameters.flatMap((p) => {
    const symbol = st.checker.getSymbolAtLocation(p.name);
    return symbol
      ? [{ symbol, alias: st.aliases.get(symbol), sets: given.slice(1).map((g) => (g as Set<ts.Symbol>).has(symbol)) }]
      : [];
  });
  const bound: ts.Symbol[] = [];
  const errors = st.errors.length;
  fn.parameters.forEach((p, i) => {
    const arg = skipWrappers(c.arguments[i]);
    const kind = kindOf(st.checker.getTypeAtLocation(p), st.checker);
    // matVec(out, A, x) of a number[][] A: the helper's A is the caller's.
    if (kind === "rows" && ts.isIdentifier(arg) && isRowsParam(st, arg)) {
      const symbol = st.checker.getSymbolAtLocation(p.name);
      if (symbol) (st.aliases.set(symbol, arg), bound.push(symbol));
      return;
    }
    // bodyDistance(bodies[i], bodies[j]), body a record of a records parameter: the helper's parameter reads it.
    if (isRecord(st, arg) && recordKeys(st.checker.getTypeAtLocation(p), st.checker)) {
      if (ts.isElementAccessExpression(arg)) st.expression(arg.argumentExpression);
      const symbol = st.checker.getSymbolAtLocation(p.name);
      if (symbol) (st.recordsGiven.add(symbol), bound.push(symbol));
      return;
    }
    if (!isArrayKind(kind)) return st.expression(arg);
    const param = p.name.getText();
    // dot(W[j], x), cell(..., x, h) with x a row of a number[][]: the helper's parameter reads the row.
    if (isRow(st, arg)) {
      if (written.has(i)) return st.fail(refuse("inlinedWritesParameter", arg, { name, param, arg: arg.getText() }));
      if (ts.isElementAccessExpression(arg)) st.expression(arg.argumentExpression);
      const symbol = st.checker.getSymbolAtLocation(p.name);
      if (symbol) (st.rowsGiven.add(symbol), bound.push(symbol));
      return;
    }
    if (!arrayValue(st, arg)) return st.fail(refuse("inlinedArgument", arg, { name, param }));
    if (written.has(i) && ts.isIdentifier(arg) && isParameter(st, arg))
      return st.fail(refuse("inlinedWritesParameter", arg, { name, param, arg: arg.text }));
    // `out` of cross(n, a, b) stands for n; an array made in place is the helper's own.
    const symbol = st.checker.getSymbolAtLocation(p.name);
    if (!symbol) return;
    if (ts.isIdentifier(arg)) st.aliases.set(symbol, arg);
    else st.madeInPlace.add(symbol);
    bound.push(symbol);
  });
  // Its body is checked only with every array given resolved (else its writes would read as the caller's parameters').
  if (st.errors.length > errors) return;
  st.inlining.push(fn);
  st.inlinedCalls.push(c);
  const result = inlinedStatements(st, fn, form, helper.result !== "value");
  if (result) inlinedResult(st, helper, result);
  st.inlinedCalls.pop();
  st.inlining.pop();
  for (const symbol of bound) given.forEach((g) => g.delete(symbol));
  for (const { symbol, alias, sets } of saved) {
    if (alias) st.aliases.set(symbol, alias);
    sets.forEach((had, k) => had && (given[k + 1] as Set<ts.Symbol>).add(symbol));
  }
  // What the helper's body cannot do is said at the call: the caller is the function refused.
  const inside = st.errors.splice(errors);
  if (inside.length) st.fail(inlinedRefusal(c, helper, inside[0]));
}

/** A number, a number literal, or a union of them (`a && 0.5` is `0 | 0.5`). */
function isNumberish(t: ts.Type): boolean {
  return t.isUnion() ? t.types.every(isNumberish) : (t.flags & ts.TypeFlags.NumberLike) !== 0;
}

/** `return out` (an array the caller or the helper created), `return { mean, sd: Math.sqrt(v) }` (numbers). */
function inlinedResult(st: Fencer, helper: InlinedHelper, e: ts.Expression): void {
  const x = skipWrappers(e);
  const what = (w: string) => st.fail(refuse("inlinedHelperForm", e, { name: helper.name, what: w }));
  if (helper.result === "array") {
    if (ts.isIdentifier(x) && isParameter(st, x)) what("returns an array parameter of the caller");
    else if (!arrayValue(st, x)) what("returns an array other than one it or its caller created");
  } else if (helper.result === "object") {
    if (!ts.isObjectLiteralExpression(x)) return what("returns an object other than a literal `{ ... }`");
    for (const p of x.properties) {
      const value = ts.isShorthandPropertyAssignment(p)
        ? p.name
        : ts.isPropertyAssignment(p)
          ? p.initializer
          : undefined;
      if (!value || !p.name || !ts.isIdentifier(p.name) || !isNumberish(st.checker.getTypeAtLocation(value)))
        what("returns an object with a field other than a named number");
      else st.expression(value);
    }
  } else st.expression(x);
}
