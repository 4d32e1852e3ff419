// Statement lists: each statement staged in turn; an exit (a return, or in a loop a break or
// continue) takes the rest of the list into the branch that falls through, or runs it under a
// flag; a return stages the function's result.
//
//   if (c) return a; rest; return b   →   if (c) { f = a; } else { rest; f = b; }
//   for (...) { if (c) return a; }    →   the return sets `returned` and the loop's `done`;
//   rest                                  if (!returned) { rest }

import ts from "typescript";
import { refuse } from "../../ir/language.js";
import { type Output, ref, scalarOp } from "../../ir/ir.js";
import { negate } from "../../ir/simplify.js";
import { forEachCall, localHelper, skipWrappers } from "../../ir/syntax.js";
import type { Stager } from "./stager.js";
import {
  FUNCTION_SCOPE,
  RETURNED,
  alwaysExits,
  containsExit,
  containsReturn,
  isLoop,
  switchBranches,
} from "./exits.js";
import { trailingComment, variables } from "./assignments.js";
import { guardedIf, join, joiningIf, returningIf, switchChain, underFlag } from "./branches.js";
import { type LoopStatement, forEachLoop, loop } from "./loops.js";
import { value } from "./expressions.js";
import { nonLocal } from "./parameters.js";
import { fillWith } from "./callbacks.js";
import { isPop, popFrom, pushOnto, pushedLength } from "./growing.js";

/**
 * Stages a statement list; an `if` that exits (returns, or in a loop breaks or continues) takes
 * the rest of the list into its branches.
 */
export function list(st: Stager, statements: readonly ts.Statement[]): void {
  const { scope } = st;
  const exits = (n: ts.Statement) => alwaysExits(n, scope);
  for (let i = 0; i < statements.length; i++) {
    const s = statements[i];
    const rest = statements.slice(i + 1);
    if (scope.isExit(s)) {
      if (ts.isReturnStatement(s) && ts.isObjectLiteralExpression(skipWrappers(s.expression!)))
        objectResult(st, skipWrappers(s.expression!) as ts.ObjectLiteralExpression);
      else if (ts.isReturnStatement(s) && st.isLocalArray(s.expression!))
        st.result = (st.current(s.expression as ts.Identifier) as { name: string }).name;
      else if (ts.isReturnStatement(s))
        value(st, s.expression!, { name: st.result, assign: st.resultIsJoin, note: trailingComment(s) });
      // A return inside a loop is a break that also sets the function's `returned` flag.
      if (ts.isReturnStatement(s) && scope !== FUNCTION_SCOPE) st.setFlag(RETURNED, true, s);
      if (ts.isBreakStatement(s) || (ts.isReturnStatement(s) && scope !== FUNCTION_SCOPE))
        st.setFlag(scope.done!, true, s);
      if (st.env.has(scope.flag)) st.setFlag(scope.flag, true, s);
      return;
    }
    if (ts.isThrowStatement(s)) return throwStatement(st, s); // the rest never runs
    if (ts.isSwitchStatement(s) && containsExit(s, scope)) {
      const cases = switchBranches(s.caseBlock.clauses);
      // Every case returns (or throws): nothing after the switch runs, and nothing joins.
      if (scope === FUNCTION_SCOPE && !st.env.has(RETURNED) && cases.exhaustive && cases.allExit)
        return switchChain(st, s, cases.branches, false);
      return underFlag(st, s, () => switchChain(st, s, cases.branches, true), rest);
    }
    if (isLoop(s) && containsReturn(s)) return returningLoop(st, s, rest);
    if (ts.isBlock(s) && containsExit(s, scope)) return list(st, [...s.statements, ...rest]);
    if (ts.isIfStatement(s) && containsExit(s, scope)) {
      // Moving the rest into the branch that falls through is exact when every path then
      // exits and the other branch always exits (so nothing is copied twice).
      const oneSideExits = exits(s.thenStatement) || (s.elseStatement !== undefined && exits(s.elseStatement));
      const allPathsExit = exits(s) || rest.some(exits) || scope !== FUNCTION_SCOPE;
      if (oneSideExits && allPathsExit) return returningIf(st, s, rest);
      return guardedIf(st, s, rest);
    }
    statement(st, s);
  }
}

/** `h.fill(v)` of a local array (the fence allows no other). */
function isFill(st: Stager, e: ts.CallExpression): boolean {
  const callee = skipWrappers(e.expression);
  return ts.isPropertyAccessExpression(callee) && callee.name.text === "fill" && st.isLocalArray(callee.expression);
}

function statement(st: Stager, s: ts.Statement): void {
  if (localHelper(s)) return; // function toRad(d) { ... }: inlined where it is called (calls.ts)
  if (ts.isVariableStatement(s)) return variables(st, s);
  // cross(n, a, b); a helper writing the caller's arrays, inlined (the fence allows no other call here).
  const called = ts.isExpressionStatement(s) ? skipWrappers(s.expression) : undefined;
  // h.fill(v): every element of a local array v.
  if (called && ts.isCallExpression(called) && isFill(st, called)) {
    const array = (called.expression as ts.PropertyAccessExpression).expression;
    return fillWith(
      st,
      (st.current(array as ts.Identifier) as { name: string }).name,
      value(st, called.arguments[0]),
      s,
    );
  }
  // out.push(v): a store at out's length so far (growing.ts).
  if (called && ts.isCallExpression(called) && isPop(st, called)) return void popFrom(st, called);
  if (called && ts.isCallExpression(called) && pushedLength(st, called)) return pushOnto(st, called);
  // xs.forEach((v, i) => { ... }): the loop it stands for.
  if (called && ts.isCallExpression(called) && forEachCall(called)) return forEachLoop(st, called);
  if (called && ts.isCallExpression(called)) return void st.call(called);
  if (ts.isExpressionStatement(s)) return st.assignment(s.expression, trailingComment(s));
  if (ts.isIfStatement(s)) return joiningIf(st, s);
  if (ts.isWhileStatement(s) || ts.isDoStatement(s) || ts.isForStatement(s) || ts.isForOfStatement(s))
    return loop(st, s);
  if (ts.isBlock(s)) return list(st, s.statements);
  if (ts.isEmptyStatement(s)) return;
  if (ts.isThrowStatement(s)) return throwStatement(st, s);
  if (ts.isSwitchStatement(s)) return switchChain(st, s, switchBranches(s.caseBlock.clauses).branches, true);
  throw refuse("unstagedStatement", s);
}

/**
 * A loop with a return inside: the return sets `returned` and leaves every enclosing loop; the
 * rest of the list runs under `if (!returned)`, and an enclosing loop stops too.
 */
function returningLoop(st: Stager, s: ts.IterationStatement, rest: readonly ts.Statement[]): void {
  if (!st.env.has(RETURNED)) st.setFlag(RETURNED, false, s);
  st.guarded = true;
  loop(st, s as LoopStatement);
  const returned = ref(st.env.get(RETURNED)!);
  // In an enclosing loop: done ||= returned (it stops), skip ||= returned (its iteration ends).
  for (const flag of [st.scope.done, st.scope === FUNCTION_SCOPE ? undefined : st.scope.flag]) {
    if (!flag || !st.env.has(flag)) continue;
    const name = st.ctx.namer.version(flag.name);
    st.body.push({
      k: "def",
      name,
      value: { k: "binary", op: "||", left: ref(st.env.get(flag)!), right: returned },
      op: null,
      args: [],
      assign: false,
      source: s,
      type: "boolean",
    });
    st.env.set(flag, name);
  }
  if (rest.length) join(st, negate(returned), rest, [], s);
}

/** throw new RangeError(`n = ${n}`): kept as written, its locals read under their current names. */
function throwStatement(st: Stager, s: ts.ThrowStatement): void {
  const names = new Map<ts.Identifier, string>();
  const visit = (n: ts.Node): void => {
    if (ts.isIdentifier(n) && isValueName(n) && st.isLocal(n)) {
      const current = st.current(n);
      if (current.k === "ref") names.set(n, current.name);
    }
    ts.forEachChild(n, visit);
  };
  visit(s.expression);
  st.body.push({ k: "throw", expression: s.expression, names, source: s });
}

/**
 * return { loss: a + b, h }: each number field staged into a value of its own (named after its
 * key), each array field the array the function made. The fence allows it only at the end.
 */
export function objectResult(st: Stager, e: ts.ObjectLiteralExpression): void {
  st.outputs = e.properties.map((p): Output => {
    const key = (p.name as ts.Identifier).text;
    // `{ h }`: the variable h is the shorthand's value symbol (the name's own symbol is the property).
    const symbol = ts.isShorthandPropertyAssignment(p)
      ? st.ctx.checker.getShorthandAssignmentValueSymbol(p)
      : undefined;
    const current = symbol ? st.env.get(symbol) : undefined;
    const initializer = (p as ts.PropertyAssignment).initializer;
    const array =
      current ??
      (st.isLocalArray(initializer) ? (st.current(initializer as ts.Identifier) as { name: string }).name : undefined);
    const decl = array !== undefined ? st.body.find((s) => s.k === "array" && s.name === array) : undefined;
    if (decl?.k === "array") return { key, name: decl.name, kind: decl.kind };
    const name = st.ctx.namer.fresh(key);
    if (symbol && current !== undefined)
      st.emit({ name, assign: false }, ref(current), scalarOp("copy"), [ref(current)], p);
    else if (symbol)
      st.emit({ name, assign: false }, nonLocal(st, p.name as ts.Identifier), null, [], p); // a constant
    else value(st, initializer, { name, assign: false });
    return { key, name, kind: "number" };
  });
}

/** `n` in `n + 1`, not the `length` of `a.length` or a key `{ n: 1 }`. */
function isValueName(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isPropertyAccessExpression(p) && p.name === id) return false;
  if ((ts.isPropertyAssignment(p) || ts.isMethodDeclaration(p)) && p.name === id) return false;
  return !ts.isTypeNode(p);
}
