// Module helpers inlined where a differentiable function calls them: unmarked functions of the
// caller's file that return an array or an object, or write into an array they are given. Their
// result and their writes become the caller's own arrays and values, with no copy and no pullback
// (a result array has no gradient buffer in the caller until it is one of the caller's arrays).
//
//   const p = softmax(z);              →   softmax's body staged in place; p names the array it returns
//   cross(n, a, b);                    →   cross's writes to `out` are writes to the caller's n
//   const { mean, sd } = stats(xs);    →   mean and sd name the values of the object it returns

import ts from "typescript";
import { isArrayKind } from "./ir.js";
import { isMarked } from "./marks.js";
import { type DiffError, shortPosition } from "./diagnostics.js";
import { refuse } from "./language.js";
import {
  type Callback,
  arrayCreation,
  isChange,
  kindOf,
  recordKeys,
  skipWrappers,
  typeTree,
  within,
} from "./syntax.js";
import { isModuleNumber } from "./captures.js";

/** What an inlined helper hands back: an array of the caller's, an object's fields, or a value. */
export type InlinedResult = "array" | "object" | "value";

export interface InlinedHelper {
  fn: Callback;
  name: string;
  result: InlinedResult;
}

/**
 * `softmax` in `softmax(z)`: the helper inlined there, if it is one. A `function` or a `const`
 * holding an arrow at the top level of the caller's file, with no @differentiable tag (a marked
 * function has gradient functions of its own), returning an array or an object, or writing an
 * element of one of its parameters.
 */
export function inlinedHelperOf(
  checker: ts.TypeChecker,
  callee: ts.Expression,
  caller: ts.Node,
): InlinedHelper | undefined {
  if (!ts.isIdentifier(callee)) return undefined;
  const decl = checker.getSymbolAtLocation(callee)?.valueDeclaration;
  if (!decl || decl.getSourceFile() !== caller.getSourceFile()) return undefined;
  const fn = topLevelFunction(decl);
  if (!fn) return undefined;
  const marked = ts.isFunctionDeclaration(fn) ? isMarked(fn) : [fn, decl, decl.parent.parent].some(isMarked);
  if (marked) return undefined;
  const signature = checker.getSignatureFromDeclaration(fn);
  const returned = signature && checker.getReturnTypeOfSignature(signature);
  const result = returned ? resultOf(returned, checker) : "value";
  if (result === "value" && writtenParameters(fn).size === 0) return undefined;
  return { fn, name: callee.text, result };
}

function topLevelFunction(decl: ts.Declaration): Callback | undefined {
  if (ts.isFunctionDeclaration(decl)) return decl.body && ts.isSourceFile(decl.parent) ? decl : undefined;
  if (!ts.isVariableDeclaration(decl) || !decl.initializer || !ts.isSourceFile(decl.parent.parent.parent))
    return undefined;
  if (!(ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const)) return undefined;
  const init = skipWrappers(decl.initializer);
  return ts.isArrowFunction(init) || ts.isFunctionExpression(init) ? init : undefined;
}

function resultOf(t: ts.Type, checker: ts.TypeChecker): InlinedResult {
  if (isArrayKind(kindOf(t, checker))) return "array";
  const tree = typeTree(t, checker);
  return Array.isArray(tree) ? "object" : "value";
}

/** The parameters of fn whose elements it writes (`out[0] = ...`, `y[i] += a * x[i]`), by position. */
export function writtenParameters(fn: Callback): Set<number> {
  const written = new Set<string>();
  const visit = (n: ts.Node): void => {
    if (isChange(n)) {
      let target = skipWrappers(ts.isBinaryExpression(n) ? n.left : n.operand);
      const element = ts.isElementAccessExpression(target);
      while (ts.isElementAccessExpression(target)) target = skipWrappers(target.expression);
      if (element && ts.isIdentifier(target)) written.add(target.text);
    }
    ts.forEachChild(n, visit);
  };
  if (fn.body) visit(fn.body);
  const positions = new Set<number>();
  fn.parameters.forEach((p, i) => ts.isIdentifier(p.name) && written.has(p.name.text) && positions.add(i));
  return positions;
}

/** The helpers inlined in fn, and in those, each once: `cosine` → normalized, scale. */
export function inlinedHelpersIn(fn: ts.Node, checker: ts.TypeChecker): Callback[] {
  const found: Callback[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isCallExpression(n)) {
      const helper = inlinedHelperOf(checker, n.expression, fn) ?? inlinedAtCall(checker, n, fn);
      if (helper && !found.includes(helper.fn)) {
        found.push(helper.fn);
        visit(helper.fn);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(fn);
  return found;
}

/**
 * An error inside an inlined helper's body, said at its call instead (the caller is the function
 * refused, and the helper is no @differentiable function of its own); any other error as it is.
 */
export function inlinedRefusal(call: ts.CallExpression, helper: InlinedHelper, error: DiffError): DiffError {
  if (!within(error.node, helper.fn)) return error;
  return refuse("inlinedHelperRefused", call, { name: helper.name, why: error.message, at: shortPosition(error.node) });
}

/**
 * A @differentiable helper of the file given a local array that changes after the call, or in a
 * loop around it (`c` refilled for each component, then `sqnorm(c)`): its pullback would read
 * the changed elements, so the helper is inlined there instead, its reads of `c` then the
 * caller's, kept as they were when read. A plain top-level function returning a number.
 */
export function inlinedAtCall(
  checker: ts.TypeChecker,
  call: ts.CallExpression,
  caller: ts.Node,
  sites: readonly ts.CallExpression[] = [],
): InlinedHelper | undefined {
  const callee = call.expression;
  if (!ts.isIdentifier(callee)) return undefined;
  const decl = checker.getSymbolAtLocation(callee)?.valueDeclaration;
  if (!decl || decl.getSourceFile() !== caller.getSourceFile()) return undefined;
  const fn = topLevelFunction(decl);
  if (!fn || fn === caller || inlinedHelperOf(checker, callee, caller)) return undefined;
  // bodyDistance(bodies[i], bodies[j]): a record has no gradient buffer of its own; the helper is
  // inlined, its parameter reading the caller's record.
  // A helper reading a module-level `let` (directly or through its calls): its reads become the
  // caller's, each a value the backward pass keeps; its own gradient would read the variable again.
  if (readsModuleLet(fn, checker) && !assignsOutside(fn, checker)) return { fn, name: callee.text, result: "value" };
  const isRecord = (n: ts.Node) => recordKeys(checker.getTypeAtLocation(n), checker) !== undefined;
  const record = fn.parameters.some((p, i) => isRecord(p) && call.arguments[i] && isRecord(call.arguments[i]));
  if (record) return { fn, name: callee.text, result: "value" };
  // mean(xs.slice(i, i + 3)) in a loop: the array made for the call is made once and refilled each
  // iteration, as a named one made there is.
  const made = (a: ts.Expression) => {
    const created = arrayCreation(skipWrappers(a), checker);
    return created !== undefined && !created.growable;
  };
  if (call.arguments.some(made) && [call, ...sites].some((c) => inLoop(c)))
    return { fn, name: callee.text, result: "value" };
  const changing = call.arguments.some((a) => {
    const given = skipWrappers(a);
    // In a helper inlined here (`dot(a, a)` in norm(w)): the caller's array the parameter stands for.
    const arg = ts.isIdentifier(given) && sites.length ? callerArgument(checker, given, sites) : given;
    const local = arg && ts.isIdentifier(arg) ? checker.getSymbolAtLocation(arg)?.valueDeclaration : undefined;
    return (
      local !== undefined &&
      ts.isVariableDeclaration(local) &&
      within(local, caller) &&
      isArrayKind(kindOf(checker.getTypeAtLocation(arg!), checker)) &&
      changedAfter(caller, sites[0] ?? call, arg as ts.Identifier, checker)
    );
  });
  return changing ? { fn, name: callee.text, result: "value" } : undefined;
}

/** A loop statement, or a callback a loop stands for (`xs.forEach((v) => ...)`, `Array.from({ length: n }, f)`). */
function isLoop(n: ts.Node): boolean {
  return ts.isIterationStatement(n, false) || (ts.isFunctionLike(n) && isCallback(n));
}

const isCallback = (n: ts.Node) => ts.isCallExpression(n.parent) && n.parent.arguments.includes(n as ts.Expression);

/** Is `n` in a loop of the function it is in, up to that function's own body? */
function inLoop(n: ts.Node): boolean {
  for (let at = n.parent; at && !ts.isSourceFile(at); at = at.parent) {
    if (isLoop(at)) return true;
    if (ts.isFunctionLike(at)) return false;
  }
  return false;
}

/**
 * The caller's argument an inlined helper's parameter stands for, through the calls being inlined
 * (`sites`, outermost first): `a` in norm's body, norm(w) inlined → w. Undefined when a call gives
 * the parameter anything but a name.
 */
export function callerArgument(
  checker: ts.TypeChecker,
  id: ts.Identifier,
  sites: readonly ts.CallExpression[],
): ts.Identifier | undefined {
  let at: ts.Identifier = id;
  for (let i = sites.length - 1; i >= 0; i--) {
    const param = checker.getSymbolAtLocation(at)?.valueDeclaration;
    if (!param || !ts.isParameter(param)) return at;
    const declared = checker.getSymbolAtLocation(sites[i].expression)?.valueDeclaration;
    if (!declared || topLevelFunction(declared) !== param.parent) return at;
    const given = sites[i].arguments[param.parent.parameters.indexOf(param)];
    const arg = given && skipWrappers(given);
    if (!arg || !ts.isIdentifier(arg)) return undefined;
    at = arg;
  }
  return at;
}

/** Is an element of the array `id` written after `call` in `fn`, or in a loop around the call (the next iteration's call sees it)? */
export function changedAfter(
  fn: ts.Node,
  call: ts.CallExpression,
  id: ts.Identifier,
  checker: ts.TypeChecker,
): boolean {
  const symbol = checker.getSymbolAtLocation(id);
  const body = (fn as ts.FunctionLikeDeclaration).body;
  if (body !== undefined && symbol !== undefined && movesArray(body, symbol, checker)) return true;
  // An array made in a loop is one array, made once and refilled each iteration (stage/rebinds.ts);
  // not a row of a parameter named there (`const row = A[i]`, `for (const row of A)`).
  const decl = symbol?.valueDeclaration;
  const init = decl && ts.isVariableDeclaration(decl) && decl.initializer && skipWrappers(decl.initializer);
  const made = init && !ts.isElementAccessExpression(init) && !ts.isForOfStatement(decl!.parent.parent);
  for (let n: ts.Node | undefined = decl?.parent; made && n && n !== fn; n = n.parent) if (isLoop(n)) return true;
  const loops: ts.Node[] = [];
  for (let n: ts.Node = call.parent; n && n !== fn; n = n.parent) if (isLoop(n)) loops.push(n);
  const later = (n: ts.Node) => n.pos >= call.end || loops.some((loop) => within(n, loop));
  const writes = (n: ts.Node): boolean => {
    if (isChange(n)) {
      const target = skipWrappers(ts.isBinaryExpression(n) ? n.left : n.operand);
      const array = ts.isElementAccessExpression(target) ? skipWrappers(target.expression) : undefined;
      if (array && checker.getSymbolAtLocation(array) === symbol && later(n)) return true;
    }
    // cross(h, a, b) after mean(h): the inlined helper writes h; h.fill(0) too.
    if (ts.isCallExpression(n) && later(n)) {
      const helper = inlinedHelperOf(checker, n.expression, fn);
      const args = n.arguments;
      const written = helper ? [...writtenParameters(helper.fn)].map((i) => args[i] && skipWrappers(args[i])) : [];
      if (written.some((a) => a && ts.isIdentifier(a) && checker.getSymbolAtLocation(a) === symbol)) return true;
      const callee = skipWrappers(n.expression);
      const filled =
        ts.isPropertyAccessExpression(callee) && callee.name.text === "fill"
          ? skipWrappers(callee.expression)
          : undefined;
      if (filled && checker.getSymbolAtLocation(filled) === symbol) return true;
    }
    return ts.forEachChild(n, (child) => (writes(child) ? true : undefined)) ?? false;
  };
  return body !== undefined && writes(body);
}

/**
 * Does fn read a module-level `let` number (ir/captures.ts isModuleNumber), itself or through the
 * functions it calls? Then a gradient that runs it again in a later backward pass would read the
 * variable as it is then, not as the forward pass did.
 */
export function readsModuleLet(fn: ts.Node, checker: ts.TypeChecker, seen = new Set<ts.Node>()): boolean {
  if (seen.has(fn)) return false;
  seen.add(fn);
  const visit = (n: ts.Node): boolean => {
    if (ts.isIdentifier(n)) {
      let symbol = checker.getSymbolAtLocation(n);
      if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
      const decl = symbol?.valueDeclaration;
      if (decl && ts.isVariableDeclaration(decl) && !(ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const))
        if (isModuleNumber(decl, checker)) return true;
      if (decl && ts.isCallExpression(n.parent) && n.parent.expression === n) {
        const called = ts.isFunctionDeclaration(decl) ? decl : topLevelFunction(decl);
        if (called && readsModuleLet(called, checker, seen)) return true;
      }
    }
    return ts.forEachChild(n, visit) === true;
  };
  const body = (fn as ts.FunctionLikeDeclaration).body;
  return body !== undefined && visit(body);
}

/** Does fn assign a variable declared outside it (a module-level counter: not a helper to inline)? */
function assignsOutside(fn: ts.Node, checker: ts.TypeChecker): boolean {
  const visit = (n: ts.Node): boolean => {
    const target =
      ts.isBinaryExpression(n) &&
      n.operatorToken.kind >= ts.SyntaxKind.FirstAssignment &&
      n.operatorToken.kind <= ts.SyntaxKind.LastAssignment
        ? n.left
        : (ts.isPrefixUnaryExpression(n) || ts.isPostfixUnaryExpression(n)) && isChange(n)
          ? n.operand
          : undefined;
    const decl = target && ts.isIdentifier(target) ? checker.getSymbolAtLocation(target)?.valueDeclaration : undefined;
    if (decl && !within(decl, fn)) return true;
    return ts.forEachChild(n, visit) === true;
  };
  return visit(fn);
}

/**
 * Is the array variable given another array, or given to another variable (`u = next`,
 * `[u, next] = [next, u]`, `const tmp = u`)? Then writes through other names reach what it
 * holds (stage/rebinds.ts), so it counts as changing.
 */
function movesArray(body: ts.Node, symbol: ts.Symbol, checker: ts.TypeChecker): boolean {
  const named = (e: ts.Expression | undefined): boolean => {
    const x = e && skipWrappers(e);
    if (!x) return false;
    if (ts.isArrayLiteralExpression(x)) return x.elements.some(named);
    return ts.isIdentifier(x) && checker.getSymbolAtLocation(x) === symbol;
  };
  const visit = (n: ts.Node): boolean =>
    (ts.isBinaryExpression(n) &&
      n.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
      (named(n.left) || named(n.right))) ||
    (ts.isVariableDeclaration(n) && named(n.initializer)) ||
    ts.forEachChild(n, visit) === true;
  return visit(body);
}
