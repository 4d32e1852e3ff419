// Calls: of a Math function, of a function tsgrad can name (one of the program, `this.m(x)`, a
// member of an object literal), of one of the runtime's matrix ops (at the top level only); each
// argument an expression, or an array passed whole to a @differentiable function of this module.
//
//   p.norm()                           →   methodCall, at `p.norm`
//   xs.map((x) => sum(scale(A, x)));   →   matrixOpInCallback
//   mean(h); h[0] = 1;  (h local)      →   arrayArgumentChanged, at `h`
//   return helper(x) * 2;  (unmarked)  →   unmarkedCall, reported only beside other errors
//   Math.max(...xs), xs.reduce(f, 0)   →   the loops they stand for, f written in place (callbacks.ts)

import ts from "typescript";
import { type Differentiable, exportedPullback, isRuntimeExport, resolveFunction } from "../annotations.js";
import { isMarked } from "../../ir/marks.js";
import { type MatrixOpName, matrixRules } from "../../../runtime/ops/index.js";
import {
  arrayCallback,
  arrayCreation,
  arraySearch,
  kindOf,
  mathAlias,
  parameterType,
  skipWrappers,
  within,
} from "../../ir/syntax.js";
import { isConstantTable } from "../../ir/tables.js";
import { type InlinedHelper, changedAfter, inlinedAtCall, inlinedHelperOf, readsModuleLet } from "../../ir/inlining.js";
import { ARITHMETIC, COMPOUND, TYPE_TESTS, refuse } from "../../ir/language.js";
import type { DiffError } from "../../ir/diagnostics.js";
import { type ValueKind, isArrayKind } from "../../ir/ir.js";
import type { Fencer } from "./fencer.js";
import { arrayContents, callbackLoop, inlinedCall, isMapping, searchCall } from "./callbacks.js";
import {
  arrayPop,
  identifier,
  insideFunction,
  isArrayMethod,
  isCreatedArray,
  isGlobalName,
  isNamespaceLike,
  isParamPart,
  isParameter,
  isRow,
  isUserCode,
  resolved,
  localHelperOf,
  mathMember,
  thisIsItsOwner,
} from "./names.js";

const isBufferKind = (k: ValueKind | undefined) => isArrayKind(k) || k === "Matrix" || k === "Int32Array";

/** `matmul` in `matmul(X, W)`: the runtime's matrix op a call names (a key of matrixRules), if any. */
export function matrixOpOf(callee: ts.Expression, checker: ts.TypeChecker): MatrixOpName | undefined {
  return (Object.keys(matrixRules) as MatrixOpName[]).find((name) => isRuntimeExport(checker, callee, name));
}

export function call(st: Fencer, c: ts.CallExpression): void {
  const callee = c.expression;
  // Array.isArray(a), Number.isFinite(x): a boolean about any value, never differentiated.
  if (TYPE_TESTS.includes(callee.getText()) && isGlobalName(st, callee)) return;
  const lowered = arrayCallback(c);
  if (lowered?.method === "reduce" && isArrayMethod(st, callee as ts.PropertyAccessExpression))
    return callbackLoop(st, lowered);
  // xs.some(f), xs.indexOf(v): the search loop they stand for (a boolean or an index, no gradient).
  const search = arraySearch(c);
  if (search && isArrayMethod(st, callee as ts.PropertyAccessExpression)) return searchCall(st, search);
  // toRad(x) of `const toRad = (d) => ...` in this function: inlined; its body was fenced where declared.
  if (ts.isIdentifier(callee) && localHelperOf(st, callee)) return c.arguments.forEach((a) => st.expression(a));
  // softmax(z), cross(out, a, b): a module helper returning an array or an object, or writing one, inlined.
  const inlined = inlinedHelperOf(st.checker, callee, st.fn);
  if (inlined) return void (resultUsed(st, c, inlined) && inlinedCall(st, c, inlined));
  // sqnorm(c), c refilled in the loop around: the helper inlined, its reads of c the caller's.
  const at = inlinedAtCall(st.checker, c, st.fn, st.inlinedCalls);
  if (at) return inlinedCall(st, c, at);
  if (c.arguments.some(ts.isSpreadElement)) {
    // Math.max(...xs): the loop it stands for, over an array parameter, a table of constants or a local array.
    const name = mathMember(callee) ?? mathAlias(callee, st.checker);
    const [arg] = c.arguments;
    const array =
      c.arguments.length === 1 &&
      ts.isSpreadElement(arg) &&
      ts.isIdentifier(arg.expression) &&
      ((isParameter(st, arg.expression) &&
        isArrayKind(kindOf(st.checker.getTypeAtLocation(arg.expression), st.checker))) ||
        isConstantTable(arg.expression, st.checker) ||
        isCreatedArray(st, arg.expression));
    const extreme = ["max", "min", "hypot"].includes(name?.replace(/^Math\./, "") ?? "");
    if (extreme && array) return;
    // Math.max(...xs.map(f)), Math.min(...Array.from(xs, f)): the loop they stand for.
    const spread = c.arguments.length === 1 && ts.isSpreadElement(arg) ? skipWrappers(arg.expression) : undefined;
    const mapped = spread && ts.isCallExpression(spread) ? arrayCallback(spread) : undefined;
    if (extreme && mapped?.method === "map" && isMapping(st, spread as ts.CallExpression))
      return callbackLoop(st, mapped);
    return st.fail(refuse("spreadArgument", c));
  }
  if (ts.isPropertyAccessExpression(callee) && ownCall(st, callee))
    return callArguments(st, c, resolveFunction(st.checker, callee));
  const mathName = mathMember(callee) ?? mathAlias(callee, st.checker);
  if (
    mathName === undefined &&
    !ts.isIdentifier(callee) &&
    !(ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression))
  ) {
    return st.fail(refuse("unnamedCall", callee));
  }
  if (mathName === undefined && ts.isPropertyAccessExpression(callee) && !isNamespaceLike(st, callee.expression)) {
    // const v = out.pop()! of an array grown by push: its last element, the array one shorter.
    if (arrayPop(st, c)) return;
    // xs.slice(1).length: a copy, a part or a map tsgrad makes only where it is named or passed.
    if (isArrayMethod(st, callee) && arrayCreation(c, st.checker)) return st.fail(refuse("copyUse", c));
    if (isArrayMethod(st, callee)) return st.fail(refuse("arrayMethod", callee, { call: `${callee.getText()}()` }));
    return st.fail(refuse("methodCall", callee, { call: `${callee.getText()}()` }));
  }
  if (ts.isIdentifier(callee)) identifier(st, callee);
  if (
    mathName === undefined &&
    surelyCarriesGradient(st, c) &&
    resolveFunction(st.checker, callee) === "unmarked" &&
    isUserCode(st, callee)
  )
    st.unmarkedCalls.push(refuse("unmarkedCall", c, { call: c.getText() }));
  if (matrixOpOf(callee, st.checker)) return matrixCall(st, c);
  callArguments(st, c, mathName === undefined ? resolveFunction(st.checker, callee) : undefined);
}

function callArguments(st: Fencer, c: ts.CallExpression, target: ReturnType<typeof resolveFunction>): void {
  // g(x) with g of another module (or a method) reading a module-level `let`: the backward pass
  // would run g's gradient when the variable may have changed (same-module helpers are inlined).
  const elsewhere =
    target &&
    target !== "unmarked" &&
    (target.fn.getSourceFile() !== st.fn.getSourceFile() || target.place !== "function");
  if (elsewhere && target.fn !== st.fn && isMarked(target.fn) && readsModuleLet(target.fn, st.checker))
    st.fail(refuse("moduleLetElsewhere", c.expression, { name: c.expression.getText() }));
  c.arguments.forEach((a, i) => {
    // sq(matmul(X, W)): a matrix made in place, passed on (a named one is refused as it is read).
    const x = skipWrappers(a);
    if (!ts.isIdentifier(x) && kindOf(st.checker.getTypeAtLocation(x), st.checker) === "Matrix")
      return st.fail(refuse("matrixPassed", x, { name: x.getText() }));
    if (!(target && target !== "unmarked" && arrayArgument(st, c, target, a, i))) st.expression(a);
  });
}

/**
 * mean(x), dot(a, w): an array passed whole to a @differentiable function of this module, whose
 * backward pass adds into the caller's gradient of it. An array parameter, a table of constants,
 * or an array the function made and no longer changes. True when `a` is such an array (accepted
 * or refused here); false leaves `a` to expression().
 */
function arrayArgument(st: Fencer, c: ts.CallExpression, target: Differentiable, a: ts.Expression, i: number): boolean {
  const arg = skipWrappers(a);
  // logSumExp(A[i]), logSumExp(row): a row of a number[][], its gradient the row dA[i].
  const into = target.fn.parameters[i];
  if (isRow(st, arg) && into && isArrayKind(kindOf(parameterType(into, st.checker), st.checker))) {
    const names = { name: arg.getText(), callee: c.expression.getText() };
    const elsewhere = importedArrayRefusal(st, c, target, arg);
    if (elsewhere) st.fail(elsewhere);
    else if (target.place === "method" || target.place === "closure")
      st.fail(refuse("arrayArgumentMethod", arg, names));
    else if (ts.isElementAccessExpression(arg)) st.expression(arg.argumentExpression);
    return true;
  }
  const callee = target.fn;
  const param = callee.parameters[i];
  // mean(xs.slice(a, b)), norm(xs.map(f)): an array made for the call, read by the callee alone.
  const made = !ts.isIdentifier(arg) ? arrayCreation(arg, st.checker) : undefined;
  const rest = callee.parameters.some((p) => p.dotDotDotToken);
  if (made && !made.growable && param && !rest && isArrayKind(kindOf(parameterType(param, st.checker), st.checker))) {
    const names = { name: arg.getText(), callee: c.expression.getText() };
    const elsewhere = importedArrayRefusal(st, c, target, arg);
    if (elsewhere) st.fail(elsewhere);
    else if (target.place === "method" || target.place === "closure")
      st.fail(refuse("arrayArgumentMethod", arg, names));
    else arrayContents(st, arg, made);
    return true;
  }
  if (!ts.isIdentifier(arg)) return false;
  const kind = kindOf(st.checker.getTypeAtLocation(arg), st.checker);
  const created = isCreatedArray(st, arg);
  if (!param || rest || !(isArrayKind(kind) || created)) return false;
  if (!isArrayKind(kindOf(parameterType(param, st.checker), st.checker))) return false;
  const names = { name: arg.text, callee: c.expression.getText() };
  const elsewhere = importedArrayRefusal(st, c, target, arg);
  if (elsewhere) return (st.fail(elsewhere), true);
  if (target.place === "method" || target.place === "closure")
    return (st.fail(refuse("arrayArgumentMethod", arg, names)), true);
  if (isConstantTable(arg, st.checker) || (isParameter(st, arg) && isArrayKind(kind))) return true;
  if (!created) return false;
  // dot(tmpA, v) of a module scratch array, dot @differentiable: its pullback is not given fn's copy.
  const scratch = st.checker.getSymbolAtLocation(resolved(st, arg));
  if (scratch && st.scratch.has(scratch)) return (st.fail(refuse("changingTable", arg, { name: arg.text })), true);
  // In an inlined helper's body: the caller's array it stands for, after the function's call of the
  // helper (positions compare within one function), and the helper's own writes after this call.
  const helper = [...st.inlining].reverse().find((h) => within(c, h));
  const site = helper ? st.inlinedCalls[0] : c;
  const changed =
    changedAfter(st.fn, site, resolved(st, arg), st.checker) ||
    (helper !== undefined && changedAfter(helper, c, arg, st.checker));
  if (changed) st.fail(refuse("arrayArgumentChanged", arg, names));
  return true;
}

/**
 * Why an array cannot be passed to `target`, a function of another module, or undefined where
 * it can (or `target` is of this module): its module must export its pullback, which tsgrad
 * writes beside every exported function of a module it compiles taking arrays and numbers
 * (exportedPullback in annotations.ts):
 *   dot(a, w), dot in linalg.d.ts or a package            → not compiled by tsgrad
 *   dot(a, w), `function dot` and `export { dot }`         → not exported where it is declared
 *   fit(xs, model), model an object                        → takes objects
 * (A class method or a closure is refused by the caller as arrayArgumentMethod.)
 */
function importedArrayRefusal(
  st: Fencer,
  c: ts.CallExpression,
  target: Differentiable,
  arg: ts.Expression,
): DiffError | undefined {
  const own = target.fn.getSourceFile();
  if (own === st.fn.getSourceFile() || target.place === "method" || target.place === "closure") return undefined;
  const names = { name: arg.getText(), callee: c.expression.getText() };
  const file = own.fileName.split(/[\\/]/).pop();
  const refusal = (why: string, instead: string) => refuse("arrayArgumentElsewhere", arg, { ...names, why, instead });
  if (own.isDeclarationFile || /[\\/]node_modules[\\/]/.test(own.fileName))
    return refusal(
      `declared in \`${file}\`, which tsgrad does not compile (a declaration file or a package)`,
      "pass it the numbers it needs, or compile its source with tsgrad in this project",
    );
  if (target.place === "member")
    return refusal("held by an object", `make \`${target.label}\` an exported function of its module`);
  if (!target.exported)
    return refusal(
      `that \`${file}\` does not export where it declares it`,
      `write \`export\` on its declaration (\`export function ${target.name}\`)`,
    );
  if (!exportedPullback(target, st.checker))
    return refusal(
      "taking objects, matrices, rows or rest parameters",
      "give it arrays and numbers only, or pass it the numbers it needs",
    );
  return undefined;
}

/**
 * `const p = softmax(z)`, `h = cell(x, h)`, `const { mean, sd } = stats(xs)`, `cross(n, a, b);`: an array or object
 * result named where it is made (or dropped), the only way tsgrad follows it; a number used anyhow.
 */
function resultUsed(st: Fencer, c: ts.CallExpression, helper: InlinedHelper): boolean {
  let at: ts.Node = c;
  while (ts.isParenthesizedExpression(at.parent) || ts.isAsExpression(at.parent)) at = at.parent;
  const p = at.parent;
  const named = ts.isVariableDeclaration(p) && p.initializer === at;
  // h = cell(x, h): an array variable given the new array (stage/rebinds.ts).
  const assigned =
    ts.isBinaryExpression(p) &&
    p.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
    p.right === at &&
    ts.isIdentifier(p.left) &&
    ts.isExpressionStatement(p.parent);
  const ok =
    helper.result === "value" ||
    ts.isExpressionStatement(p) ||
    (helper.result === "array" && ((named && ts.isIdentifier(p.name)) || assigned)) ||
    (helper.result === "object" && named && ts.isObjectBindingPattern(p.name));
  const what = helper.result === "array" ? "an array" : "an object";
  if (!ok) st.fail(refuse("inlinedResultUse", c, { name: helper.name, what }));
  return ok;
}

/** matmul(X, W1): matrices, vectors and labels go in by name; numbers as any expression. */
function matrixCall(st: Fencer, c: ts.CallExpression): void {
  if (insideFunction(st, c)) return st.fail(refuse("matrixOpInCallback", c));
  for (const arg of c.arguments) {
    const named = ts.isIdentifier(arg) || (ts.isPropertyAccessExpression(arg) && isParamPart(st, arg));
    if (!(named && isBufferKind(kindOf(st.checker.getTypeAtLocation(arg), st.checker)))) st.expression(arg);
  }
}

/**
 * `this.m(x)` in a method (of a class or an object literal), `vec.dot(a, b)` of an object
 * literal's member (`this.dot(a, b)` inside it): calls of functions tsgrad can name. A method
 * called on another value (`p.norm()`) is not one of them.
 */
function ownCall(st: Fencer, callee: ts.PropertyAccessExpression): boolean {
  let symbol = st.checker.getSymbolAtLocation(callee);
  if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = st.checker.getAliasedSymbol(symbol);
  const decl = symbol?.valueDeclaration;
  const target = resolveFunction(st.checker, callee);
  if (callee.expression.kind === ts.SyntaxKind.ThisKeyword) {
    if (!thisIsItsOwner(st)) st.fail(refuse("thisOutsideMethod", callee.expression));
    return target !== undefined;
  }
  const ofLiteral = decl !== undefined && ts.isObjectLiteralExpression(decl.parent);
  return ofLiteral && target !== undefined;
}

/**
 * `return helper(x) * 2`, `s += helper(x)`: a call whose result is computed with or returned,
 * an argument naming a parameter. (activity.ts decides exactly, on functions the fence passes.)
 */
function surelyCarriesGradient(st: Fencer, c: ts.CallExpression): boolean {
  let at: ts.Node = c;
  while (ts.isParenthesizedExpression(at.parent)) at = at.parent;
  const p = at.parent;
  const used =
    ts.isReturnStatement(p) ||
    (ts.isBinaryExpression(p) &&
      (ARITHMETIC[p.operatorToken.kind] !== undefined || COMPOUND[p.operatorToken.kind] !== undefined)) ||
    (ts.isPrefixUnaryExpression(p) && p.operator === ts.SyntaxKind.MinusToken);
  const namesParameter = (n: ts.Node): boolean =>
    (ts.isIdentifier(n) && isParameter(st, n)) || (ts.forEachChild(n, namesParameter) ?? false);
  return used && c.arguments.some(namesParameter);
}
