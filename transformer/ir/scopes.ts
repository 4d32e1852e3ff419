// Where a `var` behaves like a `let`, so the fence and the stager can treat it as one. A `var` is
// function-scoped and hoisted; it reads like a `let` when every use is inside the block that
// declares it and after the declaration:
//   { var d = x[i] - m; s += d * d; }          → like let: every use is in the block, after it
//   if (c) { var t = 1; } return t;             → not: `t` is used outside its block
//   for (var i = 0; i < n; i++) { ... } f(i);   → the loop's block is the one around the `for`
// A loop's counter may also be read by later loops that set it first (`for (i = 0; ...)`).

import ts from "typescript";
import { within } from "./syntax.js";

/** The `var` declarations of a function body (nested functions excluded), by symbol. */
export function varDeclarations(body: ts.Node, checker: ts.TypeChecker): Map<ts.Symbol, ts.VariableDeclaration[]> {
  const out = new Map<ts.Symbol, ts.VariableDeclaration[]>();
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionLike(n)) return;
    if (ts.isVariableDeclarationList(n) && !(n.flags & ts.NodeFlags.BlockScoped)) {
      for (const d of n.declarations) {
        const symbol = ts.isIdentifier(d.name) ? checker.getSymbolAtLocation(d.name) : undefined;
        if (symbol) out.set(symbol, [...(out.get(symbol) ?? []), d]);
      }
    }
    ts.forEachChild(n, visit);
  };
  ts.forEachChild(body, visit);
  return out;
}

/** Every identifier in `body` naming `symbol` (its declarations' names too). */
export function referencesOf(body: ts.Node, symbol: ts.Symbol, checker: ts.TypeChecker): ts.Identifier[] {
  const out: ts.Identifier[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isIdentifier(n) && n.text === symbol.name && checker.getSymbolAtLocation(n) === symbol) out.push(n);
    ts.forEachChild(n, visit);
  };
  visit(body);
  return out;
}

/**
 * The first use of a `var` that a `let` in the same place could not have: outside the block of
 * its first declaration, or before it. Undefined when the `var` behaves like a `let`.
 */
export function varUseOutsideScope(
  body: ts.Node,
  symbol: ts.Symbol,
  declarations: readonly ts.VariableDeclaration[],
  checker: ts.TypeChecker,
): ts.Identifier | undefined {
  const first = declarations.reduce((a, b) => (b.getStart() < a.getStart() ? b : a));
  const scope = blockOf(first);
  // `var s = s * y` reads s before it is set, like a use before the declaration.
  const before = (id: ts.Identifier) =>
    id.getStart() < first.name.getStart() || (id !== first.name && within(id, first));
  return referencesOf(body, symbol, checker).find((id) => !within(id, scope) || before(id));
}

/**
 * A second declaration of a `var` (`var s = x; ... var s = s * y;`), or a `var` naming a
 * parameter: an assignment in disguise, which a `let` cannot be. Repeated loop counters
 * (`for (var i = 0; ...)` in loops one after the other) are the exception: each loop sets the
 * counter before anything reads it.
 */
export function varRedeclaration(
  symbol: ts.Symbol,
  declarations: readonly ts.VariableDeclaration[],
): ts.VariableDeclaration | undefined {
  if (symbol.declarations?.some(ts.isParameter)) return declarations[0];
  if (declarations.length < 2) return undefined;
  const loops = declarations.map((d) => (ts.isForStatement(d.parent.parent) ? d.parent.parent : undefined));
  const separateCounters =
    loops.every((l, i) => l !== undefined && declarations[i].initializer !== undefined) &&
    loops.every((l) => loops.every((m) => l === m || !within(l!, m!)));
  return separateCounters ? undefined : declarations[1];
}

/**
 * Is the loop counter `symbol` of `loop` read outside it? Uses inside later `for` loops that set
 * it first (`for (var i = 0; ...)` again, or `for (i = 0; ...)`) do not count: the loop's last
 * value is never read.
 */
export function counterEscapes(
  body: ts.Node,
  symbol: ts.Symbol,
  loop: ts.ForStatement,
  checker: ts.TypeChecker,
): boolean {
  return referencesOf(body, symbol, checker).some((id) => {
    if (within(id, loop)) return false;
    // Inside a loop after this one (not around it) that sets the counter first.
    for (let n: ts.Node | undefined = id.parent; n && n !== body; n = n.parent)
      if (ts.isForStatement(n) && !within(loop, n) && setsFirst(n, symbol, checker)) return false;
    return !isDeclarationName(id);
  });
}

/** `for (var i = 0; ...)` or `for (i = 0; ...)`: the loop sets `symbol` before anything reads it. */
function setsFirst(loop: ts.ForStatement, symbol: ts.Symbol, checker: ts.TypeChecker): boolean {
  const init = loop.initializer;
  if (!init) return false;
  // The value it sets must not read the old one (`for (i = i + 1; ...)` reads the last loop's i).
  const fresh = (value: ts.Expression) => !referencesOf(value, symbol, checker).length;
  if (ts.isVariableDeclarationList(init))
    return init.declarations.some(
      (d) =>
        d.initializer &&
        ts.isIdentifier(d.name) &&
        checker.getSymbolAtLocation(d.name) === symbol &&
        init.declarations.every((e) => !e.initializer || fresh(e.initializer)),
    );
  return (
    ts.isBinaryExpression(init) &&
    init.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
    ts.isIdentifier(init.left) &&
    checker.getSymbolAtLocation(init.left) === symbol &&
    fresh(init.right)
  );
}

/** `var x;` without a value: a name, not a read. */
function isDeclarationName(id: ts.Identifier): boolean {
  return ts.isVariableDeclaration(id.parent) && id.parent.name === id && !id.parent.initializer;
}

/**
 * Where a declaration is visible as a `let` would be: the block (or case) holding its statement,
 * a `for` initializer's the one around the `for`; a statement that is itself the body of an `if`
 * or a loop (`if (c) var t = 1;`) is its own scope.
 */
function blockOf(d: ts.VariableDeclaration): ts.Node {
  const statement: ts.Node = d.parent.parent;
  const holder = statement.parent;
  return ts.isBlock(holder) ||
    ts.isSourceFile(holder) ||
    ts.isCaseClause(holder) ||
    ts.isDefaultClause(holder) ||
    ts.isModuleBlock(holder)
    ? holder
    : statement;
}
