// Names: what a name in the function refers to (a parameter or a part of one, a local, an array
// the function made, a value a closure captures, a global, `this`), and the checks of names: a
// name read as a number must hold one, and no declaration may hide a name the generated code uses.
//
//   const v = W;   (W a Float64Array)       →   arrayPassed, at `W`
//   k * x,  k a module-level `let`          →   mutableCapture, at `k`
//   const Math = ...                        →   hiddenGlobal
//   if (c) { var t = 1; } return t;         →   varOutsideBlock, at the `t` returned

import ts from "typescript";
import { asDifferentiable, closurePlace } from "../annotations.js";
import {
  type Callback,
  arrayCreation,
  isGlobalConstant,
  kindOf,
  localHelper,
  recordKeys,
  skipWrappers,
  typeTree,
} from "../../ir/syntax.js";
import { varDeclarations, varRedeclaration, varUseOutsideScope } from "../../ir/scopes.js";
import { shortPosition } from "../../ir/diagnostics.js";
import { assignedInNestedFunction, capturedDeclaration, isModuleNumber } from "../../ir/captures.js";
import { refuse } from "../../ir/language.js";
import { isArrayKind } from "../../ir/ir.js";
import { GENERATED_GLOBALS } from "../../ir/naming.js";
import { inlinedHelperOf } from "../../ir/inlining.js";
import type { Fencer } from "./fencer.js";

/** `toRad` naming a local helper (`const toRad = (d) => ...` in this function): its function. */
export function localHelperOf(st: Fencer, id: ts.Identifier): Callback | undefined {
  const decl = st.checker.getSymbolAtLocation(id)?.valueDeclaration;
  return decl && isLocal(st, id) ? localHelper(decl) : undefined;
}

/**
 * A matrix given whole to a variable, maybe as a side of a choice: `const h = z`, `h = z`,
 * `const h = flag ? relu(z) : z`.
 */
function isMatrixGiven(id: ts.Identifier): boolean {
  let at: ts.Node = id;
  const up = () => (at = at.parent);
  while (
    ts.isParenthesizedExpression(at.parent) ||
    (ts.isConditionalExpression(at.parent) && at !== at.parent.condition)
  )
    up();
  const p = at.parent;
  if (ts.isVariableDeclaration(p)) return p.initializer === at && ts.isIdentifier(p.name);
  return (
    ts.isBinaryExpression(p) &&
    p.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
    p.right === at &&
    ts.isIdentifier(p.left)
  );
}

/** Is `n` inside a callback or a helper tsgrad inlines (a function inside the function)? */
export function insideFunction(st: Fencer, n: ts.Node): boolean {
  for (let at = n.parent; at && at !== st.fn; at = at.parent) if (ts.isFunctionLike(at)) return true;
  return st.inlining.length > 0;
}

export function identifier(st: Fencer, id: ts.Identifier): void {
  // A local helper is inlined where it is called: `toRad(x)`, not handed on as a value.
  if (localHelperOf(st, id) && !isCallee(id)) return st.fail(refuse("closure", id));
  if (!isCallee(id) && isParamPart(st, id) && Array.isArray(typeTree(st.checker.getTypeAtLocation(id), st.checker))) {
    return st.fail(refuse("objectPassed", id, { object: id.text, field: `${firstField(st, id)}` }));
  }
  const kind = kindOf(st.checker.getTypeAtLocation(id), st.checker);
  if ((kind === "Matrix" || kind === "Int32Array") && !isCallee(id)) {
    if (kind === "Matrix" && isMatrixGiven(id) && !insideFunction(st, id)) return;
    return st.fail(refuse("matrixPassed", id, { name: id.text }));
  }
  if ((isArrayKind(kind) || kind === "rows" || kind === "records" || isCreatedArray(st, id)) && !isCallee(id)) {
    return st.fail(refuse("arrayPassed", id, { name: id.text }));
  }
  const symbol = st.checker.getSymbolAtLocation(id);
  // An imported name is the exporting module's declaration (`import { k } from "./config"`).
  const target = symbol && symbol.flags & ts.SymbolFlags.Alias ? st.checker.getAliasedSymbol(symbol) : symbol;
  const decl = target?.valueDeclaration;
  if (!decl || isLocal(st, id) || isGlobalConstant(id, st.checker) || captured(st, id)) return;
  if (ts.isVariableDeclaration(decl) && !(ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const)) {
    // let gravity = 9.81 at module level: a number read where it is read, and kept (stage).
    if (!isModuleNumber(decl, st.checker)) st.fail(refuse("mutableCapture", id, { name: id.text }));
  }
}

/**
 * `k` of an enclosing function, read by a closure: a constant of the call (ir/captures.ts),
 * unless a function nested there assigns it, which could run while this one does.
 */
export function captured(st: Fencer, id: ts.Identifier): boolean {
  const decl = capturedDeclaration(id, st.fn, st.checker);
  if (!decl) return false;
  const assigned = assignedInNestedFunction(decl, st.checker);
  if (assigned) st.fail(refuse("capturedAssignedInside", id, { name: id.text, at: shortPosition(assigned) }));
  // A closure's gradients go before the statement creating it, where what that statement declares is not yet in scope.
  const place = closurePlace(st.fn);
  if (asDifferentiable(st.fn)?.place === "closure" && place && !ts.isArrowFunction(place) && contains(place, decl))
    st.fail(refuse("captureOfItsStatement", id, { name: id.text }));
  return true;
}

function contains(ancestor: ts.Node, node: ts.Node): boolean {
  for (let n: ts.Node | undefined = node; n; n = n.parent) if (n === ancestor) return true;
  return false;
}

export function firstField(st: Fencer, e: ts.Expression): string | undefined {
  const tree = typeTree(st.checker.getTypeAtLocation(e), st.checker);
  return Array.isArray(tree) ? tree[0].key : undefined;
}

/**
 * A method of a class or an object literal, or a `function` expression a literal's member holds:
 * `this` is their owner.
 */
export function thisIsItsOwner(st: Fencer): boolean {
  if (ts.isMethodDeclaration(st.fn)) return true;
  return (
    ts.isFunctionExpression(st.fn) &&
    ts.isPropertyAssignment(st.fn.parent) &&
    ts.isObjectLiteralExpression(st.fn.parent.parent)
  );
}

/**
 * `h` declared in fn as `const h = new Float64Array(n)` (or `new Array(n).fill(0)`), or naming the
 * array a helper inlined here returns (`const p = softmax(z)`); through an inlined helper's
 * parameter, the caller's array given to it.
 */
export function isCreatedArray(st: Fencer, id: ts.Identifier): boolean {
  id = resolved(st, id);
  const symbol = st.checker.getSymbolAtLocation(id);
  if (symbol && (st.madeInPlace.has(symbol) || st.scratch.has(symbol))) return true;
  const decl = symbol?.valueDeclaration;
  if (decl === undefined || !isLocal(st, id) || !ts.isVariableDeclaration(decl) || decl.initializer === undefined)
    return false;
  if (arrayCreation(decl.initializer, st.checker)) return true;
  const init = skipWrappers(decl.initializer);
  // const tmp = u: another name for a created array.
  const earlier = ts.isIdentifier(init) && st.checker.getSymbolAtLocation(init)?.valueDeclaration;
  if (earlier && earlier.pos < decl.pos && isCreatedArray(st, init as ts.Identifier)) return true;
  return ts.isCallExpression(init) && inlinedHelperOf(st.checker, init.expression, st.fn)?.result === "array";
}

/** `A`, a `number[][]` parameter (or a field of one): its rows are read as `A[i][j]`. */
export function isRowsParam(st: Fencer, e: ts.Expression): boolean {
  return isParamPart(st, e) && kindOf(st.checker.getTypeAtLocation(e), st.checker) === "rows";
}

/**
 * A row of a `number[][]` parameter: `A[i]`, a `const` naming one (`const row = A[i]`), or the
 * variable of `for (const row of A)`; read as `row[j]` and `row.length`, never passed on.
 */
export function isRow(st: Fencer, e: ts.Expression): boolean {
  return isElementOf(st, e, "rows");
}

/** `pts`, a records parameter (`{ x: number; y: number }[]`, or a field holding one): read as `pts[i].x`. */
export function isRecordsParam(st: Fencer, e: ts.Expression): boolean {
  return isParamPart(st, e) && kindOf(st.checker.getTypeAtLocation(e), st.checker) === "records";
}

/**
 * A record of a records parameter: `pts[i]`, a `const` naming one (`const p = pts[i]`), the
 * variable of `for (const p of pts)`, or the element parameter of a callback over pts
 * (`pts.reduce((s, p) => ..., 0)`); read as `p.x`, never passed on.
 */
export function isRecord(st: Fencer, e: ts.Expression): boolean {
  return isElementOf(st, e, "records");
}

/**
 * An element of a rows or records parameter (`A[i]`), or a name for one: a `const` (`const p =
 * pts[i]`), the variable of a for...of over the parameter, and for records the element
 * parameter of a callback over it.
 */
function isElementOf(st: Fencer, e: ts.Expression, kind: "rows" | "records"): boolean {
  const over = (a: ts.Expression) => isParamPart(st, a) && kindOf(st.checker.getTypeAtLocation(a), st.checker) === kind;
  const x = skipWrappers(e);
  if (ts.isElementAccessExpression(x)) return over(x.expression);
  const given = kind === "rows" ? st.rowsGiven : st.recordsGiven;
  if (ts.isIdentifier(x) && given.has(st.checker.getSymbolAtLocation(x)!)) return true;
  if (!ts.isIdentifier(x) || !isLocal(st, x)) return false;
  const decl = st.checker.getSymbolAtLocation(x)?.valueDeclaration;
  // The element parameter of a callback over the array: (s, p) => s + p.x, (k) => dot(q, k).
  if (decl && ts.isParameter(decl) && (ts.isArrowFunction(decl.parent) || ts.isFunctionExpression(decl.parent))) {
    const call = decl.parent.parent;
    const array =
      ts.isCallExpression(call) && ts.isPropertyAccessExpression(call.expression)
        ? call.expression.expression
        : undefined;
    const position = call && ts.isCallExpression(call) && call.expression.getText().endsWith(".reduce") ? 1 : 0;
    return array !== undefined && decl.parent.parameters.indexOf(decl) === position && over(array);
  }
  if (!decl || !ts.isVariableDeclaration(decl) || !ts.isVariableDeclarationList(decl.parent)) return false;
  if (kind === "records" && isRecordVariable(st, x)) return true;
  const loop = decl.parent.parent;
  if (ts.isForOfStatement(loop)) return loop.initializer === decl.parent && over(loop.expression);
  const init = decl.initializer && skipWrappers(decl.initializer);
  if (!(decl.parent.flags & ts.NodeFlags.Const) || init === undefined) return false;
  // const t = a: another name for the row or record a names (declared before it).
  const from = ts.isIdentifier(init) ? st.checker.getSymbolAtLocation(init)?.valueDeclaration : undefined;
  if (from && from.pos < decl.pos) return isElementOf(st, init, kind);
  return ts.isElementAccessExpression(init) && over(init.expression);
}

/**
 * `let b = pts[k]` or `let a: Point` (a record type, not `const`, not a loop's variable): a
 * variable naming records of an array of records, each assignment checked where it is
 * (assignments.ts).
 */
export function isRecordVariable(st: Fencer, id: ts.Identifier): boolean {
  const decl = st.checker.getSymbolAtLocation(id)?.valueDeclaration;
  if (!decl || !ts.isVariableDeclaration(decl) || !isLocal(st, id) || !ts.isVariableDeclarationList(decl.parent))
    return false;
  if (decl.parent.flags & ts.NodeFlags.Const || ts.isForOfStatement(decl.parent.parent)) return false;
  if (!recordKeys(st.checker.getTypeAtLocation(decl.name), st.checker)) return false;
  return decl.initializer === undefined || isRecord(st, decl.initializer);
}

/** An inlined helper's parameter → the caller's array given to it (`out` of cross(n, a, b) → n); else id. */
export function resolved(st: Fencer, id: ts.Identifier): ts.Identifier {
  const symbol = st.checker.getSymbolAtLocation(id);
  const alias = symbol && st.aliases.get(symbol);
  return alias ? resolved(st, alias) : id;
}

/**
 * Read-only data of a parameter: the parameter, a field of an object parameter (`model.layer.W`),
 * or a const naming one (`const { W } = model`, `const layer = model.layer`, `({ W }: Model)`).
 */
export function isParamPart(st: Fencer, e: ts.Expression): boolean {
  const x = skipWrappers(e);
  if (ts.isPropertyAccessExpression(x))
    return (
      Array.isArray(typeTree(st.checker.getTypeAtLocation(x.expression), st.checker)) && isParamPart(st, x.expression)
    );
  if (!ts.isIdentifier(x)) return false;
  if (isParameter(st, x)) return true;
  if (resolved(st, x) !== x) return isParamPart(st, resolved(st, x));
  let decl: ts.Node | undefined = st.checker.getSymbolAtLocation(x)?.valueDeclaration;
  if (!decl || !isLocal(st, x)) return false;
  while (ts.isBindingElement(decl)) decl = decl.parent.parent; // { W } → the declaration it destructures
  if (ts.isParameter(decl)) return decl.parent === st.fn;
  return (
    ts.isVariableDeclaration(decl) &&
    (ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const) !== 0 &&
    decl.initializer !== undefined &&
    isParamPart(st, decl.initializer)
  );
}

export function isParameter(st: Fencer, id: ts.Identifier): boolean {
  id = resolved(st, id);
  const decl = st.checker.getSymbolAtLocation(id)?.valueDeclaration;
  return decl !== undefined && ts.isParameter(decl) && decl.parent === st.fn;
}

function isCallee(id: ts.Identifier): boolean {
  return ts.isCallExpression(id.parent) && id.parent.expression === id;
}

/** Declared inside fn (a parameter or a local), or inside a helper inlined at the call checked now? */
export function isLocal(st: Fencer, id: ts.Identifier): boolean {
  const symbol = st.checker.getSymbolAtLocation(id);
  if (symbol && st.scratch.has(symbol)) return true; // tmpA of module scratch: fn's own copy
  const decl = symbol?.valueDeclaration;
  if (!decl) return false;
  for (let n: ts.Node | undefined = decl.parent; n; n = n.parent)
    if (n === st.fn || st.inlining.includes(n as Callback)) return true;
  return false;
}

/** `M` in `M.f(x)`: a namespace import, a module, a class or an enum, not a value. */
export function isNamespaceLike(st: Fencer, e: ts.Expression): boolean {
  let symbol = st.checker.getSymbolAtLocation(e);
  if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = st.checker.getAliasedSymbol(symbol);
  return (
    symbol !== undefined && (symbol.flags & (ts.SymbolFlags.Module | ts.SymbolFlags.Class | ts.SymbolFlags.Enum)) !== 0
  );
}

/** A function of the user's program, not of a library's declarations (`Math.exp`, `parseFloat`). */
export function isUserCode(st: Fencer, callee: ts.Expression): boolean {
  const symbol = st.checker.getSymbolAtLocation(callee);
  const target = symbol && symbol.flags & ts.SymbolFlags.Alias ? st.checker.getAliasedSymbol(symbol) : symbol;
  return (target?.declarations ?? []).some((d) => !d.getSourceFile().isDeclarationFile);
}

/** `xs.reduce`, `xs.map`: a method of an array (or typed array). */
export function isArrayMethod(st: Fencer, callee: ts.PropertyAccessExpression): boolean {
  const t = st.checker.getTypeAtLocation(callee.expression);
  const kind = kindOf(t, st.checker);
  return isArrayKind(kind) || st.checker.isArrayType(t) || st.checker.isTupleType(t) || kind === "Int32Array";
}

/** `isNaN`, `Number.isFinite`: the global the name says, not a local or an import of that name. */
export function isGlobalName(st: Fencer, callee: ts.Expression): boolean {
  const head = ts.isPropertyAccessExpression(callee) ? callee.expression : callee;
  const declarations = st.checker.getSymbolAtLocation(head)?.declarations ?? [];
  return declarations.length > 0 && declarations.every((d) => d.getSourceFile().isDeclarationFile);
}

export function mathMember(e: ts.Expression): string | undefined {
  return ts.isPropertyAccessExpression(e) && ts.isIdentifier(e.expression) && e.expression.text === "Math"
    ? e.name.text
    : undefined;
}

/** `const Math = ...`, `const { m: Float64Array } = p`, `(Array: number)`: refused at the name. */
export function hiddenGlobals(st: Fencer): void {
  const visit = (n: ts.Node): void => {
    const name =
      (ts.isVariableDeclaration(n) || ts.isBindingElement(n) || ts.isParameter(n)) && ts.isIdentifier(n.name)
        ? n.name
        : undefined;
    if (name && GENERATED_GLOBALS.has(name.text)) {
      st.fail(refuse("hiddenGlobal", name, { name: name.text }));
    }
    ts.forEachChild(n, visit);
  };
  visit(st.fn);
}

/** `var` where a `let` would do (see ir/scopes.ts); a use outside its block is refused there. */
export function varsLikeLet(st: Fencer, body: ts.Node): void {
  for (const [symbol, declarations] of varDeclarations(body, st.checker)) {
    const again = varRedeclaration(symbol, declarations);
    if (again) {
      st.fail(refuse("varRedeclared", again, { name: symbol.name }));
      continue;
    }
    const use = varUseOutsideScope(body, symbol, declarations, st.checker);
    if (use) st.fail(refuse("varOutsideBlock", use, { name: use.text }));
  }
}

/** `out` of `const out: number[] = []`: an array the function created empty, grown by `push`. */
export function isGrownArray(st: Fencer, id: ts.Identifier): boolean {
  const decl = st.checker.getSymbolAtLocation(resolved(st, id))?.valueDeclaration;
  const init = decl && ts.isVariableDeclaration(decl) && decl.initializer ? skipWrappers(decl.initializer) : undefined;
  const empty = init !== undefined && ts.isArrayLiteralExpression(init) && init.elements.length === 0;
  return empty && isCreatedArray(st, id);
}

/**
 * `out.pop()` of an array grown by push: its last element, and the array one shorter. Anywhere
 * but where it would run only sometimes (right of `&&`, `||`, `??`, a side of `?:`), as for any
 * assignment inside an expression.
 */
export function arrayPop(st: Fencer, c: ts.CallExpression): boolean {
  const callee = skipWrappers(c.expression);
  if (!ts.isPropertyAccessExpression(callee) || callee.name.text !== "pop" || c.arguments.length) return false;
  if (!ts.isIdentifier(callee.expression) || !isGrownArray(st, callee.expression)) return false;
  for (let at: ts.Node = c; !ts.isStatement(at.parent) && at.parent !== st.fn; at = at.parent) {
    const p = at.parent;
    if (ts.isConditionalExpression(p) && at !== p.condition) return false;
    const sometimes = [
      ts.SyntaxKind.AmpersandAmpersandToken,
      ts.SyntaxKind.BarBarToken,
      ts.SyntaxKind.QuestionQuestionToken,
    ];
    if (ts.isBinaryExpression(p) && p.right === at && sometimes.includes(p.operatorToken.kind)) return false;
  }
  return true;
}
