// What ends a statement list early, read off the source: `return` in a function body, `break` and
// `continue` in a loop's (a throw leaves every scope), and where a switch's cases run on. The
// stager moves the rest of a list into the branch that falls through, or runs it under a flag.
//
//   if (c) return a; rest; return b              →   the if contains an exit; so does every path
//   case 1: case 2: a(); break; default: b();    →   [1, 2] → a(), default → b()

import ts from "typescript";

/** The flag of guardedIf, kept in the environment like a variable (a symbol no user name has). */
export const RETURNED = { name: "returned" } as ts.Symbol;

/**
 * What ends a statement list early: `return` in a function body; `break` and `continue` in a loop
 * body (where `done`, the flag the loop test reads, records a break). `flag` marks the rest of the
 * list skipped when an exit sits in only some paths.
 */
export interface ExitScope {
  flag: ts.Symbol;
  done?: ts.Symbol;
  isExit(s: ts.Node): boolean;
}

export const FUNCTION_SCOPE: ExitScope = { flag: RETURNED, isExit: ts.isReturnStatement };

/** Does every path through this statement exit (a `throw` leaves every scope)? */
export function alwaysExits(s: ts.Statement, scope: ExitScope): boolean {
  if (scope.isExit(s) || ts.isThrowStatement(s)) return true;
  if (ts.isBlock(s)) return s.statements.some((t) => alwaysExits(t, scope));
  if (ts.isIfStatement(s))
    return s.elseStatement !== undefined && alwaysExits(s.thenStatement, scope) && alwaysExits(s.elseStatement, scope);
  return false;
}

/** An exit of this scope inside the node (break/continue of nested loops belong to those). */
export function containsExit(node: ts.Node, scope: ExitScope): boolean {
  if (scope.isExit(node)) return true;
  if (ts.isFunctionLike(node)) return false;
  // An inner loop's break and continue are its own; a return inside it leaves this loop too.
  if (scope !== FUNCTION_SCOPE && ts.isIterationStatement(node, false)) return containsReturn(node);
  // A switch's breaks are its own; its continues and returns leave the loop.
  if (scope !== FUNCTION_SCOPE && ts.isSwitchStatement(node)) return containsReturn(node) || containsContinue(node);
  return ts.forEachChild(node, (c) => (containsExit(c, scope) ? true : undefined)) ?? false;
}

/** Can the loop end from inside its body: a break of its own, or a return at any depth? */
export function leavesLoop(node: ts.Node): boolean {
  if (ts.isBreakStatement(node) || ts.isReturnStatement(node)) return true;
  if (ts.isFunctionLike(node)) return false;
  if (ts.isIterationStatement(node, false) || ts.isSwitchStatement(node)) return containsReturn(node);
  return ts.forEachChild(node, (c) => (leavesLoop(c) ? true : undefined)) ?? false;
}

/** A `continue` of the enclosing loop (not of a loop inside). */
function containsContinue(node: ts.Node): boolean {
  if (ts.isContinueStatement(node)) return true;
  if (ts.isFunctionLike(node) || ts.isIterationStatement(node, false)) return false;
  return ts.forEachChild(node, (c) => (containsContinue(c) ? true : undefined)) ?? false;
}

export function containsReturn(node: ts.Node): boolean {
  if (ts.isReturnStatement(node)) return true;
  if (ts.isFunctionLike(node)) return false;
  return ts.forEachChild(node, (c) => (containsReturn(c) ? true : undefined)) ?? false;
}

/** A return inside an if or block, so the result is assigned on several paths. */
export function hasNestedReturn(body: ts.Block): boolean {
  return body.statements.some((s) => !ts.isReturnStatement(s) && containsExit(s, FUNCTION_SCOPE));
}

export const isLoop = (s: ts.Node): s is ts.IterationStatement =>
  ts.isWhileStatement(s) || ts.isDoStatement(s) || ts.isForStatement(s) || ts.isForOfStatement(s);

/**
 * A switch's cases as the branches of an if/else chain, in order, the default last (`tests`
 * undefined). A case's statements run on into the next case's until a `break` (dropped) or an
 * exit; cases with no statements of their own share the next one's branch:
 *   case 1: case 2: a(); break; default: b(); case 3: c();
 *   → [{ tests: [1, 2], [a()] }, { tests: [3], [c()] }, { default: [b(), c()] }]
 */
export interface SwitchBranch {
  tests?: ts.Expression[];
  statements: ts.Statement[];
}

export function switchBranches(clauses: readonly ts.CaseOrDefaultClause[]): {
  branches: SwitchBranch[];
  exhaustive: boolean;
  allExit: boolean;
} {
  const own = (c: ts.CaseOrDefaultClause): readonly ts.Statement[] =>
    c.statements.length === 1 && ts.isBlock(c.statements[0]) ? c.statements[0].statements : c.statements;
  let allExit = true;
  const from = (j: number): ts.Statement[] => {
    const out: ts.Statement[] = [];
    for (let k = j; k < clauses.length; k++) {
      const statements = own(clauses[k]);
      const last = statements[statements.length - 1];
      if (last && ts.isBreakStatement(last) && !last.label) {
        allExit = false;
        return [...out, ...statements.slice(0, -1)];
      }
      out.push(...statements);
      if (last && endsCase(last)) return out;
    }
    allExit = false;
    return out;
  };
  const branches: SwitchBranch[] = [];
  let fallback: SwitchBranch | undefined;
  let tests: ts.Expression[] = [];
  let isDefault = false;
  clauses.forEach((c, j) => {
    if (ts.isCaseClause(c)) tests.push(c.expression);
    else isDefault = true;
    if (!own(c).length && j < clauses.length - 1) return;
    const statements = from(j);
    if (tests.length) branches.push({ tests, statements });
    if (isDefault) fallback = { statements };
    [tests, isDefault] = [[], false];
  });
  return {
    branches: fallback ? [...branches, fallback] : branches,
    exhaustive: fallback !== undefined,
    allExit,
  };
}

/** A statement after which a case does not run on: return, throw, continue, or an if/else of them. */
function endsCase(s: ts.Statement): boolean {
  if (ts.isReturnStatement(s) || ts.isThrowStatement(s) || ts.isContinueStatement(s)) return true;
  if (ts.isBlock(s)) return s.statements.some(endsCase);
  return ts.isIfStatement(s) && s.elseStatement !== undefined && endsCase(s.thenStatement) && endsCase(s.elseStatement);
}
