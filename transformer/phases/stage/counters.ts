// Counting loops: a `for` whose counter steps by one, from an integer, towards a bound the loop
// does not change, with no break: its backward loop runs the counter back down, saving nothing.
// A for...of with no break or return inside is one, over its array.
//
//   for (let i = 0; i < n; i++)   →   counter i from 0 to n (op <, step 1)
//   for (const v of a)            →   counter i from 0 to a.length, `const v = a[i]` first in the body

import ts from "typescript";
import { refuse } from "../../ir/language.js";
import { type Counter, num } from "../../ir/ir.js";
import { assignedIdentifier, entriesOf, isLength } from "../../ir/syntax.js";
import { counterEscapes } from "../../ir/scopes.js";
import type { Stager } from "./stager.js";
import { leavesLoop } from "./exits.js";
import { skip } from "./rules.js";
import { condition, hasImpureCall, value } from "./expressions.js";

/**
 * for (let i = A; i < B; i++) with A an integer literal, B not changed by the loop, i not
 * assigned in the body and no break: its backward loop runs i back down, saving nothing.
 */
export function counterOf(st: Stager, s: ts.ForStatement): { symbol: ts.Symbol; counter: Counter } | undefined {
  const d = counterInit(s.initializer);
  if (!d) return undefined;
  // `var i` (or `i = 0` of a variable declared before): a counter only if no one reads it after.
  const varCounter = !(s.initializer!.flags & ts.NodeFlags.Let);
  const counterSymbol = st.ctx.checker.getSymbolAtLocation(d.name);
  // Read after the loop anywhere in the function declaring it: the function, or a helper inlined in it.
  let owner: ts.Node = s;
  while (owner.parent && !ts.isFunctionLike(owner)) owner = owner.parent;
  const body = ts.isFunctionLike(owner) ? (owner as ts.FunctionLikeDeclaration).body : st.fn.body;
  if (varCounter && (!counterSymbol || counterEscapes(body ?? st.fn.body!, counterSymbol, s, st.ctx.checker)))
    return undefined;
  // An integer literal, or an integer expression of lengths and enclosing counters (i + 1, a.length - 1).
  const literal = integerLiteral(d.initializer);
  const from =
    literal !== undefined ? num(literal) : isIntegerExpr(st, d.initializer) ? condition(st, d.initializer) : undefined;
  const symbol = st.ctx.checker.getSymbolAtLocation(d.name);
  const cond = s.condition && skip(s.condition);
  if (from === undefined || !symbol || !cond || !ts.isBinaryExpression(cond) || !ts.isIdentifier(cond.left))
    return undefined;
  if (st.ctx.checker.getSymbolAtLocation(cond.left) !== symbol) return undefined;
  const op = COUNTER_TESTS[cond.operatorToken.kind];
  const step = s.incrementor && stepOf(s.incrementor, symbol, st.ctx.checker);
  if (!op || !step || (step === 1) !== (op === "<" || op === "<=")) return undefined;
  const assignedInLoop = new Set<ts.Symbol>();
  const visit = (n: ts.Node): void => {
    const target = assignedIdentifier(n);
    const sym = target && st.ctx.checker.getSymbolAtLocation(target);
    if (sym) assignedInLoop.add(sym);
    ts.forEachChild(n, visit);
  };
  visit(s.statement);
  if (assignedInLoop.has(symbol) || leavesLoop(s.statement)) return undefined;
  let boundVaries = false;
  const bound = (n: ts.Node): void => {
    if (ts.isIdentifier(n) && assignedInLoop.has(st.ctx.checker.getSymbolAtLocation(n)!)) boundVaries = true;
    if (ts.isCallExpression(n) && hasImpureCall(condition(st, n))) boundVaries = true;
    ts.forEachChild(n, bound);
  };
  bound(cond.right);
  if (boundVaries) return undefined;
  const to = value(st, cond.right);
  return { symbol, counter: { name: st.declare(d.name.text), from, to, op, step } };
}

/**
 * for (const v of a) → for (let i = 0; i < a.length; i++) with `const v = a[i]` first in the body
 * (the fence allows it over an array parameter, with no break or return inside).
 */
export function elementCounter(
  st: Stager,
  s: ts.ForOfStatement,
): { symbol: undefined; counter: Counter; array: string } {
  const array = value(st, entriesOf(s.expression) ?? s.expression);
  if (array.k !== "ref") throw refuse("forOfUnstaged", s.expression);
  const name = st.declare(st.ctx.namer.fresh("i"));
  return {
    symbol: undefined,
    counter: { name, from: num(0), to: st.lengthOf(array.name), op: "<", step: 1 },
    array: array.name,
  };
}

/**
 * Is `e` an integer that cannot change while the loop it starts runs: integer literals, array
 * lengths and enclosing loops' counters, with + - *. (A counter starting anywhere else, say at
 * a number parameter, might step through non-integers, which the backward loop cannot replay.)
 */
function isIntegerExpr(st: Stager, e: ts.Expression): boolean {
  const x = skip(e);
  if (ts.isNumericLiteral(x)) return Number.isInteger(Number(x.text));
  if (ts.isPropertyAccessExpression(x) && (isLength(x) || x.name.text === "rows" || x.name.text === "cols"))
    return condition(st, x).k === "length";
  if (ts.isIdentifier(x)) {
    const current = st.isLocal(x) ? st.env.get(st.symbol(x)) : undefined;
    return current !== undefined && st.counters.has(current);
  }
  if (ts.isPrefixUnaryExpression(x) && x.operator === ts.SyntaxKind.MinusToken) return isIntegerExpr(st, x.operand);
  if (
    ts.isBinaryExpression(x) &&
    [ts.SyntaxKind.PlusToken, ts.SyntaxKind.MinusToken, ts.SyntaxKind.AsteriskToken].includes(x.operatorToken.kind)
  ) {
    return isIntegerExpr(st, x.left) && isIntegerExpr(st, x.right);
  }
  return false;
}

/**
 * The counter a `for` sets up, as a name and a start: `let i = 0`, `var i = 0`, or `i = 0` of a
 * variable declared before the loop.
 */
function counterInit(
  init: ts.ForInitializer | undefined,
): { name: ts.Identifier; initializer: ts.Expression } | undefined {
  if (!init) return undefined;
  if (ts.isVariableDeclarationList(init)) {
    if (init.declarations.length !== 1 || init.flags & ts.NodeFlags.Const) return undefined;
    const [d] = init.declarations;
    return ts.isIdentifier(d.name) && d.initializer ? { name: d.name, initializer: d.initializer } : undefined;
  }
  const e = skip(init);
  if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isIdentifier(e.left))
    return { name: e.left, initializer: e.right };
  return undefined;
}

/** `3`, `-1` → the integer; anything else → undefined. */
function integerLiteral(e: ts.Expression): number | undefined {
  const x = skip(e);
  if (ts.isNumericLiteral(x)) return Number.isInteger(Number(x.text)) ? Number(x.text) : undefined;
  if (ts.isPrefixUnaryExpression(x) && x.operator === ts.SyntaxKind.MinusToken) {
    const v = integerLiteral(x.operand);
    return v === undefined ? undefined : -v;
  }
  return undefined;
}

/** i++, ++i, i += 1 → 1; i--, --i, i -= 1 → -1; anything else → undefined. */
function stepOf(e: ts.Expression, symbol: ts.Symbol, checker: ts.TypeChecker): 1 | -1 | undefined {
  const target = assignedIdentifier(e);
  if (!target || checker.getSymbolAtLocation(target) !== symbol) return undefined;
  if (ts.isPrefixUnaryExpression(e) || ts.isPostfixUnaryExpression(e))
    return e.operator === ts.SyntaxKind.PlusPlusToken ? 1 : -1;
  const b = e as ts.BinaryExpression;
  if (integerLiteral(b.right) !== 1) return undefined;
  return b.operatorToken.kind === ts.SyntaxKind.PlusEqualsToken
    ? 1
    : b.operatorToken.kind === ts.SyntaxKind.MinusEqualsToken
      ? -1
      : undefined;
}

const COUNTER_TESTS: Partial<Record<ts.SyntaxKind, Counter["op"]>> = {
  [ts.SyntaxKind.LessThanToken]: "<",
  [ts.SyntaxKind.LessThanEqualsToken]: "<=",
  [ts.SyntaxKind.GreaterThanToken]: ">",
  [ts.SyntaxKind.GreaterThanEqualsToken]: ">=",
};
