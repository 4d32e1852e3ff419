// Branches: an `if` or a `switch` → an `if` whose branches each assign one shared name for every
// variable they change (a phi written as assignments); where some paths exit, the exits set a
// flag and the rest of the list runs under `!flag`.
//
//   if (c) y = a; else y = b;                   →   let y_1; if (c) { y_1 = a; } else { y_1 = b; }
//   switch (k) { case 1: ...; default: ... }    →   if (k === 1) { ... } else { ... }

import ts from "typescript";
import type { Namer } from "../../ir/naming.js";
import { type Expr, type MatrixType, type Stmt, ref, refsOf, scalarOp, substitute } from "../../ir/ir.js";
import type { Stager } from "./stager.js";
import { FUNCTION_SCOPE, RETURNED, type SwitchBranch } from "./exits.js";
import { atom, condition, opaque, test, testOf } from "./expressions.js";
import { rebindArrays } from "./rebinds.js";

/** An `if` that does not return: both branches, then a join for each variable they change. */
export function joiningIf(st: Stager, s: ts.IfStatement): void {
  join(st, test(st, s.expression), [s.thenStatement], s.elseStatement ? [s.elseStatement] : [], s);
}

/** An `if` with a return inside: the rest of the list runs at the end of each branch. */
export function returningIf(st: Stager, s: ts.IfStatement, rest: readonly ts.Statement[]): void {
  const t = test(st, s.expression);
  // Under a return flag, code after an enclosing branch reads the flag: join it like any variable.
  if (st.env.has(st.scope.flag) || st.scope !== FUNCTION_SCOPE)
    return join(st, t, [s.thenStatement, ...rest], [...(s.elseStatement ? [s.elseStatement] : []), ...rest], s);
  const before = new Map(st.env);
  st.pendingTests.push(t);
  const thenBranch = branch(st, before, [s.thenStatement, ...rest]);
  const elseBranch = branch(st, before, [...(s.elseStatement ? [s.elseStatement] : []), ...rest]);
  st.pendingTests.pop();
  st.body.push({ k: "if", test: t, then: thenBranch.body, else: elseBranch.body, source: s });
}

/**
 * An `if` that returns on some paths of both branches: returns set a flag, and the rest of the
 * list runs under `if (!returned)`. Copying the rest into each branch instead would double the
 * code for every such `if` in a row.
 */
export function guardedIf(st: Stager, s: ts.IfStatement, rest: readonly ts.Statement[]): void {
  underFlag(st, s, () => joiningIf(st, s), rest);
}

/** Stages a statement whose exits set the scope's flag, then the rest of the list under `!flag`. */
export function underFlag(st: Stager, s: ts.Statement, stage: () => void, rest: readonly ts.Statement[]): void {
  const { flag } = st.scope;
  if (!st.env.has(flag)) st.setFlag(flag, false, s);
  if (flag === RETURNED) st.guarded = true;
  stage();
  if (rest.length) join(st, { k: "unary", op: "!", arg: ref(st.env.get(flag)!) }, rest, [], s);
}

/**
 * switch (kind) { case "l1": ...; break; case "l2": ...; default: ... } → an if/else chain over
 * `kind === "l1"`, the discriminant evaluated once (switchBranches groups the cases). With
 * `join`, variables the cases change are joined after it; without, every case exits.
 */
export function switchChain(st: Stager, s: ts.SwitchStatement, branches: readonly SwitchBranch[], join: boolean): void {
  const direct = atom(st, s.expression);
  const d = direct && direct.k !== "elem" ? direct : opaque(st, s.expression);
  const chain = (k: number): void => {
    const b = branches[k];
    if (b === undefined) return;
    if (b.tests === undefined) return st.list(b.statements);
    const test = testOf(
      st,
      b.tests
        .map((c): Expr => ({ k: "binary", op: "===", left: d, right: condition(st, c) }))
        .reduce((a, t) => ({ k: "binary", op: "||", left: a, right: t })),
      b.tests[0],
    );
    if (join)
      return joinWith(
        st,
        test,
        () => st.list(b.statements),
        () => chain(k + 1),
        s,
      );
    const before = new Map(st.env);
    st.pendingTests.push(test);
    const thenBranch = branch(st, before, b.statements);
    const elseBranch = branchWith(st, before, () => chain(k + 1));
    st.pendingTests.pop();
    st.body.push({ k: "if", test, then: thenBranch.body, else: elseBranch.body, source: s });
  };
  chain(0);
}

export function join(
  st: Stager,
  test: Expr,
  thenStatements: readonly ts.Statement[],
  elseStatements: readonly ts.Statement[],
  s: ts.Node,
): void {
  joinWith(
    st,
    test,
    () => st.list(thenStatements),
    () => st.list(elseStatements),
    s,
  );
}

export function joinWith(st: Stager, test: Expr, thenStage: () => void, elseStage: () => void, s: ts.Node): void {
  const before = new Map(st.env);
  st.pendingTests.push(test);
  // Each branch ends with its array variables back in their names (rebinds.ts).
  const thenBranch = branchWith(st, before, () => (thenStage(), rebindArrays(st, before, s)));
  const elseBranch = branchWith(st, before, () => (elseStage(), rebindArrays(st, before, s)));
  st.pendingTests.pop();
  const joins: Stmt[] = [];
  for (const [symbol, old] of before) {
    const a = thenBranch.env.get(symbol);
    const b = elseBranch.env.get(symbol);
    if (a === b) continue;
    // (a matrix or a vector on either side: the join is one, typed like it)
    const matrix = [a, b, old].map((n) => n !== undefined && st.matrices.get(n)).find(Boolean) || undefined;
    const joined = joinVariable(symbol.name, old, [thenBranch, a], [elseBranch, b], st.ctx.namer, s, matrix);
    if (matrix) st.matrices.set(joined, matrix);
    joins.push({ k: "let", name: joined, type: matrix ?? (st.isBoolean(symbol) ? "boolean" : undefined) });
    st.env.set(symbol, joined);
  }
  st.body.push(...joins, { k: "if", test, then: thenBranch.body, else: elseBranch.body, source: s });
}

function branch(st: Stager, env: Map<ts.Symbol, string | undefined>, statements: readonly ts.Statement[]): Branch {
  return branchWith(st, env, () => st.list(statements));
}

function branchWith(st: Stager, env: Map<ts.Symbol, string | undefined>, stage: () => void): Branch {
  const [savedBody, savedEnv] = [st.body, st.env];
  st.outer.push(savedBody);
  st.body = [];
  st.env = new Map(env);
  stage();
  const out = { body: st.body, env: st.env };
  [st.body, st.env] = [savedBody, savedEnv];
  st.outer.pop();
  return out;
}

interface Branch {
  body: Stmt[];
  env: Map<ts.Symbol, string | undefined>;
}

/**
 * The join of a variable changed in a branch. A name first defined inside one branch becomes the
 * join variable (no new name); the other branch assigns it, by renaming its own definition or by
 * copying the value it had before: then { y_1 = a } else { y_1 = y }.
 */
function joinVariable(
  user: string,
  old: string | undefined,
  a: [Branch, string | undefined],
  b: [Branch, string | undefined],
  namer: Namer,
  source: ts.Node,
  matrix?: MatrixType,
): string {
  const inside = (name: string | undefined) => name !== undefined && name !== old;
  const joined = inside(a[1]) ? a[1]! : inside(b[1]) ? b[1]! : namer.version(user);
  for (const [branch, name] of [a, b]) {
    if (name === undefined) continue;
    if (inside(name)) rename(branch.body, name, joined);
    else
      branch.body.push({
        k: "def",
        name: joined,
        value: ref(name),
        op: scalarOp("copy"),
        args: [ref(name)],
        assign: true,
        source,
        // (then { h_1 = h }: a matrix's gradient is added into the other's, `addTo(dh, dh_1)`)
        ...(matrix ? { type: matrix } : {}),
      });
  }
  return joined;
}

/** Renames a name defined in this branch to the join variable; its own `let` moves out. */
function rename(body: Stmt[], from: string, to: string): void {
  const map = new Map([[from, ref(to)]]);
  for (let i = body.length - 1; i >= 0; i--) {
    const s = body[i];
    if (s.k === "let" && s.name === from) body.splice(i, 1);
    else if (s.k === "def") {
      if (s.name === from) [s.name, s.assign] = [to, true];
      s.value = substituteRefs(s.value, map);
      s.args = s.args.map((x) => substituteRefs(x, map));
    } else if (s.k === "store") {
      // u[i] = x, u[x] += 1: a write reads the name too.
      s.value = substituteRefs(s.value, map);
      s.index = substituteRefs(s.index, map);
    } else if (s.k === "array") {
      s.length = substituteRefs(s.length, map);
    } else if (s.k === "if") {
      s.test = substituteRefs(s.test, map);
      rename(s.then, from, to);
      rename(s.else, from, to);
    } else if (s.k === "loop") {
      // The variable may be the loop's header: its writes and its test go with the new name.
      s.test = substituteRefs(s.test, map);
      if (s.counter)
        s.counter = { ...s.counter, from: substituteRefs(s.counter.from, map), to: substituteRefs(s.counter.to, map) };
      if (s.pre) rename(s.pre, from, to);
      s.carried = s.carried.map((c) => (c === from ? to : c));
      s.booleans = s.booleans?.map((c) => (c === from ? to : c));
      rename(s.body, from, to);
    }
  }
}

function substituteRefs(e: Expr, map: Map<string, Expr>): Expr {
  return refsOf(e).size === 0 ? e : substitute(e, map);
}
