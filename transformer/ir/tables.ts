// Module-level tables of numbers (and of records of numbers) that a @differentiable function reads
// as constants:
//   const LANCZOS = [0.99999999999980993, 676.5203681218851, ...];
//   ... for (let i = 1; i < LANCZOS.length; i++) a += LANCZOS[i] / (x + i);
// No gradient flows to a table, and the backward pass reads it again, so its elements must never
// change: tsgrad takes a table only if it is a `const` list of number literals, not exported, and
// every use of its name in its file reads an element (`T[i]`), its length, iterates it
// (`for (const c of T)`), spreads it, or passes it to a function of the file whose parameter
// only reads it these ways (`weighted(x, T)`).

import ts from "typescript";
import { isChange, kindOf, skipWrappers } from "./syntax.js";
import { inlinedHelperOf, writtenParameters } from "./inlining.js";

/** Is `id` (read inside a function) such a table? */
export function isConstantTable(id: ts.Identifier, checker: ts.TypeChecker): boolean {
  const decl = tableDeclaration(id, checker);
  if (!decl || kindOf(checker.getTypeAtLocation(decl.name), checker) !== "number[]") return false;
  return isNumberList(decl.initializer!) && onlyRead(decl, checker, isRead);
}

/**
 * A table of records, read as constants the same way: a `const` list of object literals with the
 * same keys, each a number literal, read as `DATA[i].x`, `DATA.length`, or `p.x` of
 * `for (const p of DATA)`; never an element whole, which could be handed on and changed.
 *   const DATA = [{ x: 0.1, y: 1 }, { x: 0.5, y: 2.2 }];
 */
export function isRecordTable(id: ts.Identifier, checker: ts.TypeChecker): boolean {
  const decl = tableDeclaration(id, checker);
  return decl !== undefined && isRecordList(decl.initializer!) && onlyRead(decl, checker, isRecordRead);
}

/** The module-level, unexported `const T = [...]` that `id` names. */
function tableDeclaration(id: ts.Identifier, checker: ts.TypeChecker): ts.VariableDeclaration | undefined {
  const decl = checker.getSymbolAtLocation(id)?.valueDeclaration;
  if (!decl || !ts.isVariableDeclaration(decl) || !ts.isIdentifier(decl.name) || !decl.initializer) return undefined;
  const statement = decl.parent.parent;
  if (!(decl.parent.flags & ts.NodeFlags.Const) || !ts.isVariableStatement(statement)) return undefined;
  if (!ts.isSourceFile(statement.parent)) return undefined;
  if (statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) return undefined;
  return decl;
}

const isNumberLiteral = (x: ts.Expression): boolean =>
  ts.isNumericLiteral(x) ||
  (ts.isPrefixUnaryExpression(x) && x.operator === ts.SyntaxKind.MinusToken && isNumberLiteral(x.operand));

/** `[0.99, -1.5e-3, 676.5]`: a literal list of numbers (nothing else shares it). */
function isNumberList(e: ts.Expression): boolean {
  return ts.isArrayLiteralExpression(e) && e.elements.every(isNumberLiteral);
}

/** `[{ x: 0.1, y: 1 }, { y: 2, x: 0.5 }]`: object literals of number literals under the same keys. */
function isRecordList(e: ts.Expression): boolean {
  if (!ts.isArrayLiteralExpression(e) || e.elements.length === 0) return false;
  const keysOf = (o: ts.Expression): string | undefined => {
    if (!ts.isObjectLiteralExpression(o)) return undefined;
    const keys = o.properties.map((p) =>
      ts.isPropertyAssignment(p) &&
      (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)) &&
      isNumberLiteral(p.initializer)
        ? p.name.text
        : undefined,
    );
    return keys.every((k) => k !== undefined) ? [...keys].sort().join() : undefined;
  };
  const first = keysOf(e.elements[0]);
  return first !== undefined && first !== "" && e.elements.every((o) => keysOf(o) === first);
}

/**
 * Every other use of the name in the file reads an element, the length, iterates or spreads.
 * Any identifier of that name counts, whatever it resolves to (`export { C }`, `{ C }`): a
 * shadowing local can only make tsgrad refuse, never miss a write.
 */
function onlyRead(
  decl: ts.VariableDeclaration,
  checker: ts.TypeChecker,
  read: (id: ts.Identifier, checker: ts.TypeChecker) => boolean,
): boolean {
  const name = decl.name as ts.Identifier;
  let ok = true;
  const visit = (n: ts.Node): void => {
    if (!ok) return;
    if (ts.isIdentifier(n) && n !== name && n.text === name.text) ok = read(n, checker);
    ts.forEachChild(n, visit);
  };
  visit(decl.getSourceFile());
  return ok;
}

/**
 * A read of a table of numbers: an element, the length, iterated, spread, or passed to a function
 * of the file that only reads it. `seen`: the parameters being checked (a recursion reads too).
 */
function isRead(id: ts.Identifier, checker: ts.TypeChecker, seen: Set<ts.Node> = new Set()): boolean {
  const p = id.parent;
  if (ts.isElementAccessExpression(p) && p.expression === id) return !isWritten(p);
  if (ts.isPropertyAccessExpression(p) && p.expression === id) return p.name.text === "length" || isLoopMethod(p);
  // Array.from(T, f), Float64Array.from(T): the elements mapped or copied (stage/callbacks.ts).
  if (ts.isCallExpression(p) && p.arguments[0] === id && /^(Array|Float64Array)\.from$/.test(p.expression.getText()))
    return true;
  // new Float64Array(T): a copy.
  if (ts.isNewExpression(p) && p.arguments?.[0] === id && p.expression.getText() === "Float64Array") return true;
  // for (const c of T), Math.max(...T): the elements read, never the array handed on.
  if (ts.isVariableDeclaration(p) && p.initializer === id) return ts.isArrayBindingPattern(p.name); // const [a, b] = T
  return (ts.isForOfStatement(p) && p.expression === id) || ts.isSpreadElement(p) || passedToReader(id, checker, seen);
}

/** T.reduce(f, 0), T.map(f), T.entries(), T.slice(): methods the stager runs as loops over the elements, called. */
function isLoopMethod(p: ts.PropertyAccessExpression): boolean {
  const call = p.parent;
  return (
    ts.isCallExpression(call) && call.expression === p && ["reduce", "map", "entries", "slice"].includes(p.name.text)
  );
}

/** A read of a table of records: `T[i].x` (not written), `T.length`, or `for (const p of T)` reading only `p.x`. */
function isRecordRead(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isPropertyAccessExpression(p) && p.expression === id) return p.name.text === "length";
  if (ts.isElementAccessExpression(p) && p.expression === id) return isFieldRead(p);
  if (!ts.isForOfStatement(p) || p.expression !== id || !ts.isVariableDeclarationList(p.initializer)) return false;
  const [binding] = p.initializer.declarations;
  if (p.initializer.declarations.length !== 1 || !ts.isIdentifier(binding.name)) return false;
  const element = binding.name;
  let ok = true;
  const uses = (n: ts.Node): void => {
    if (ts.isIdentifier(n) && n !== element && n.text === element.text) ok &&= isFieldRead(n);
    ts.forEachChild(n, uses);
  };
  uses(p.statement);
  return ok;
}

/** `e.x` read, not written (`e.x = 1`, `e.x++`): e is `T[i]` or a for...of's element. */
function isFieldRead(e: ts.Expression): boolean {
  const p = e.parent;
  return ts.isPropertyAccessExpression(p) && p.expression === e && !isWritten(p);
}

/** `T[i] = v`, `T[i] += v`, `T[i]++`. */
function isWritten(e: ts.Expression): boolean {
  const p = e.parent;
  return isChange(p) && (ts.isBinaryExpression(p) ? p.left : p.operand) === e;
}

/**
 * `weighted(x, T)` with `weighted` a function with a body, of this file or imported (`dot(T, w)`,
 * `linalg.dot(T, w)`), marked or not, whose parameter only reads its array the same ways (a
 * marked function's fence refuses writes to parameters too).
 */
function passedToReader(id: ts.Identifier, checker: ts.TypeChecker, seen: Set<ts.Node>): boolean {
  const call = id.parent;
  if (!ts.isCallExpression(call) || !call.arguments.includes(id)) return false;
  let symbol = checker.getSymbolAtLocation(call.expression);
  if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
  const decl = symbol?.valueDeclaration;
  if (!decl || decl.getSourceFile().isDeclarationFile) return false;
  const init = ts.isVariableDeclaration(decl) ? decl.initializer : undefined;
  const fn = ts.isFunctionDeclaration(decl)
    ? decl
    : init && (ts.isArrowFunction(init) || ts.isFunctionExpression(init))
      ? init
      : undefined;
  const param = fn?.parameters[call.arguments.indexOf(id)];
  if (!fn?.body || !param || param.dotDotDotToken || !ts.isIdentifier(param.name)) return false;
  if (seen.has(param)) return true;
  seen.add(param);
  const own = checker.getSymbolAtLocation(param.name);
  let ok = true;
  const uses = (n: ts.Node): void => {
    if (ok && ts.isIdentifier(n) && n !== param.name && checker.getSymbolAtLocation(n) === own)
      ok = isRead(n, checker, seen);
    ts.forEachChild(n, uses);
  };
  uses(fn.body);
  return ok;
}

/**
 * Module-level scratch arrays a @differentiable function writes, as gl-matrix reuses them:
 *   const tmpA = new Float64Array(3);  ...  sub(tmpA, b, a); ... tmpA[0] ...   →   { tmpA }
 * In the generated code each is a local array of the function, made at its start as a copy of
 * the module array's contents (stage/callbacks.ts scratchCopy): an element read before it is
 * written sees what the plain function sees, a constant; the gradient never writes the module's.
 * Taken only when that copy is the whole story: a `const`, not exported, made by
 * `new Float64Array(n)`, `new Array(n).fill(v)` or a literal of numbers, written by fn itself
 * (`tmpA[i] = ...`, `tmpA.fill(0)`, or as the out-parameter of a helper inlined there), and named
 * by no function fn calls (a callee writing it, or fn called again, would change what fn reads
 * after the call, which fn's copy would not see). Any other module array stays refused (changingTable).
 */
export function scratchArrays(fn: ts.Node, checker: ts.TypeChecker): Map<ts.Symbol, "Float64Array" | "number[]"> {
  const kinds = new Map<ts.Symbol, "Float64Array" | "number[]">();
  const written = new Set<ts.Symbol>();
  const visit = (n: ts.Node): void => {
    const symbol = ts.isIdentifier(n) ? checker.getSymbolAtLocation(n) : undefined;
    const kind = symbol && scratchKind(symbol);
    if (symbol && kind) {
      kinds.set(symbol, kind);
      if (writesScratch(n as ts.Identifier, fn, checker)) written.add(symbol);
    }
    ts.forEachChild(n, visit);
  };
  visit(fn);
  const touched = namedByCallees(fn, checker, new Set(kinds.keys()));
  for (const symbol of [...kinds.keys()]) if (!written.has(symbol) || touched.has(symbol)) kinds.delete(symbol);
  return kinds;
}

/** `const tmp = new Float64Array(3)` (or `new Array(3).fill(0)`, `[0, 0, 0]`), at module level, not exported: its kind. */
function scratchKind(symbol: ts.Symbol): "Float64Array" | "number[]" | undefined {
  const decl = symbol.valueDeclaration;
  if (!decl || !ts.isVariableDeclaration(decl) || !ts.isIdentifier(decl.name) || !decl.initializer) return undefined;
  const statement = decl.parent.parent;
  if (!(decl.parent.flags & ts.NodeFlags.Const) || !ts.isVariableStatement(statement)) return undefined;
  if (!ts.isSourceFile(statement.parent)) return undefined;
  if (statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) return undefined;
  if (exportedByName(decl.name)) return undefined;
  const init = skipWrappers(decl.initializer);
  if (isNumberList(init)) return "number[]";
  const isNew = (x: ts.Expression, name: string): x is ts.NewExpression =>
    ts.isNewExpression(x) && ts.isIdentifier(x.expression) && x.expression.text === name && x.arguments?.length === 1;
  if (isNew(init, "Float64Array") && ts.isNumericLiteral(init.arguments![0])) return "Float64Array";
  // new Array(3).fill(0): every element a number.
  const fill =
    ts.isCallExpression(init) && ts.isPropertyAccessExpression(init.expression) ? init.expression : undefined;
  const array = fill?.expression;
  if (fill?.name.text !== "fill" || !array || !isNew(array, "Array") || !ts.isNumericLiteral(array.arguments![0]))
    return undefined;
  return (init as ts.CallExpression).arguments.length === 1 && isNumberLiteral((init as ts.CallExpression).arguments[0])
    ? "number[]"
    : undefined;
}

/** `export { tmp }`, `export default tmp`: handed to other modules, which could change it. */
function exportedByName(name: ts.Identifier): boolean {
  let found = false;
  const visit = (n: ts.Node): void => {
    if (
      ts.isIdentifier(n) &&
      n.text === name.text &&
      (ts.isExportSpecifier(n.parent) || ts.isExportAssignment(n.parent))
    )
      found = true;
    if (!found) ts.forEachChild(n, visit);
  };
  visit(name.getSourceFile());
  return found;
}

/** `tmp[i] = v` (`+=`, `++`), `tmp.fill(0)`, or `sub(tmp, b, a)` with sub inlined in fn and writing that parameter. */
function writesScratch(id: ts.Identifier, fn: ts.Node, checker: ts.TypeChecker): boolean {
  const p = id.parent;
  if (ts.isElementAccessExpression(p) && p.expression === id) return isWritten(p);
  if (ts.isPropertyAccessExpression(p) && p.expression === id) return p.name.text === "fill";
  if (!ts.isCallExpression(p) || !p.arguments.includes(id)) return false;
  const helper = inlinedHelperOf(checker, p.expression, fn);
  return helper !== undefined && writtenParameters(helper.fn).has(p.arguments.indexOf(id));
}

/**
 * The scratch arrays named in the body of a function fn calls, or one those call, of fn's file
 * (fn itself too, if it recurses): `norm(v)` with norm reading `tmp` → { tmp }.
 */
function namedByCallees(fn: ts.Node, checker: ts.TypeChecker, scratch: ReadonlySet<ts.Symbol>): Set<ts.Symbol> {
  const named = new Set<ts.Symbol>();
  const seen = new Set<ts.Node>();
  const calls = (n: ts.Node): void => {
    if (ts.isCallExpression(n)) {
      const body = calleeBody(n.expression, fn, checker);
      if (body && !seen.has(body)) {
        seen.add(body);
        names(body);
        calls(body);
      }
    }
    ts.forEachChild(n, calls);
  };
  const names = (n: ts.Node): void => {
    const symbol = ts.isIdentifier(n) ? checker.getSymbolAtLocation(n) : undefined;
    if (symbol && scratch.has(symbol)) named.add(symbol);
    ts.forEachChild(n, names);
  };
  calls(fn);
  return named;
}

/** The body of the function a callee names (`sub`, `vec3.dot`, `this.m`), when it is in fn's file. */
function calleeBody(callee: ts.Expression, fn: ts.Node, checker: ts.TypeChecker): ts.Node | undefined {
  let symbol = checker.getSymbolAtLocation(callee);
  if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
  const decl = symbol?.valueDeclaration;
  if (!decl || decl.getSourceFile() !== fn.getSourceFile()) return undefined;
  if (ts.isFunctionLike(decl) && "body" in decl) return (decl as ts.FunctionLikeDeclaration).body;
  const init =
    ts.isVariableDeclaration(decl) || ts.isPropertyAssignment(decl)
      ? decl.initializer && skipWrappers(decl.initializer)
      : undefined;
  return init && (ts.isArrowFunction(init) || ts.isFunctionExpression(init)) ? init.body : undefined;
}
