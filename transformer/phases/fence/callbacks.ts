// Loops written as calls: xs.reduce(f, init), Math.max(...xs.map(f)), xs.map(f).reduce(g), over
// an array the function reads, with a callback written in place that the stager inlines in the
// loop (stage/callbacks.ts). The callback's body is checked like the function's, one level deeper.
//
//   xs.reduce((acc, v) => acc + v * v, 0)     →   accepted: `acc + v * v` and `0` checked as expressions
//   xs.reduce((acc, v) => ((s += v), acc), 0)  →   callbackAssignsOutside, at `s += v`
//   xs.reduce((acc, v, i, all) => acc, 0)     →   callbackForm (takes 4 parameters)

import ts from "typescript";
import { type Callback, arrayCallback, isChange, kindOf, skipWrappers, within } from "../../ir/syntax.js";
import { isConstantTable } from "../../ir/tables.js";
import { refuse } from "../../ir/language.js";
import { isArrayKind } from "../../ir/ir.js";
import type { Fencer } from "./fencer.js";
import { isArrayMethod, isGlobalName, isLocal, isParamPart } from "./names.js";

/** xs.map(f) of an array, or Array.from(xs, f) of the global Array. */
export function isMapping(st: Fencer, c: ts.CallExpression): boolean {
  const callee = skipWrappers(c.expression) as ts.PropertyAccessExpression;
  return callee.name.text === "from" ? isGlobalName(st, callee) : isArrayMethod(st, callee);
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
    (mapped?.method === "map" && isMapping(st, arr as ts.CallExpression)) ||
    (((ts.isIdentifier(arr) && (isLocal(st, arr) || isConstantTable(arr, st.checker))) || isParamPart(st, arr)) &&
      isArrayKind(kindOf(st.checker.getTypeAtLocation(arr), st.checker)));
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
 * A function the stager inlines where it is used (a callback, a local helper): plain named
 * parameters, no assignment to anything outside it, a `return` only at the end of a block body;
 * its body fenced as part of the function.
 */
export function inlinedBody(st: Fencer, callback: Callback, form: (what: string) => void): void {
  const params = callback.parameters;
  if (callback.asteriskToken || ts.getCombinedModifierFlags(callback) & ts.ModifierFlags.Async)
    return form("is a generator or async");
  if (params.some((p) => !ts.isIdentifier(p.name) || p.dotDotDotToken || p.initializer))
    return form("has a parameter that is not a plain name");
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
  st.depth++;
  if (ts.isBlock(callback.body!)) {
    const statements = callback.body.statements;
    const last = statements[statements.length - 1];
    const early = (n: ts.Node): boolean =>
      !ts.isFunctionLike(n) && (ts.isReturnStatement(n) || ts.forEachChild(n, early) === true);
    if (!last || !ts.isReturnStatement(last) || !last.expression) form("has no `return` of a value at its end");
    else if (statements.slice(0, -1).some(early)) form("returns before its end");
    else {
      statements.slice(0, -1).forEach((s) => st.statement(s));
      st.expression(last.expression);
    }
  } else st.expression(callback.body as ts.Expression);
  st.depth--;
}
