// Loops: each variable a loop assigns gets a header (a `let` before the loop) that the body
// writes at its end; break and continue become flags, like early returns: `done` ends the loop
// at its test, `skip` skips the rest of the body.
//
//   for (...) x = x * a;          →   for (...) { const x_1 = x * a; x = x_1; }   (x: the loop's header)
//   while ((n -= 1) > 0) body;    →   while (!done) { n_1 = n - 1; if (n_1 > 0) { body } else { done = true } }

import ts from "typescript";
import { refuse } from "../../ir/language.js";
import {
  type Counter,
  type Def,
  type Expr,
  type Stmt,
  forEachDef,
  forwardReads,
  num,
  ref,
  refsOf,
  scalarOp,
} from "../../ir/ir.js";
import { negate } from "../../ir/simplify.js";
import { assignedIdentifier, containsChange, entriesOf, forEachCall, kindOf, skipWrappers } from "../../ir/syntax.js";
import { isRecordTable } from "../../ir/tables.js";
import type { Stager } from "./stager.js";
import { type ExitScope, RETURNED, containsReturn, leavesLoop } from "./exits.js";
import { readsOutput } from "./rules.js";
import { variables } from "./assignments.js";
import { eachElement } from "./callbacks.js";
import { condition, hasImpureCall, test, value } from "./expressions.js";
import { rebindArrays } from "./rebinds.js";
import { pushedLength } from "./growing.js";
import { counterOf, elementCounter } from "./counters.js";

/** The loops the stager takes (the fence refuses for...in). */
export type LoopStatement = ts.WhileStatement | ts.DoStatement | ts.ForStatement | ts.ForOfStatement;

/** How a loop runs, found before its body is staged. */
interface LoopShape {
  /** A test that changes a variable (`while ((n -= 1) > 0)`): it runs in the body. */
  changing?: ts.Expression;
  /** Can the loop end from inside its body? Then its `done` flag ends it. */
  breaks: boolean;
  /** The counter of a counting loop (counters.ts). */
  counter?: { symbol?: ts.Symbol; counter: Counter; array?: string };
  /** The index of a for...of that can end early, over its array. */
  index?: { symbol: ts.Symbol; array: string };
  /** What exits the body, and its flags: `skip` (continue) and `done` (break). */
  scope: ExitScope;
}

/**
 * A loop: each variable it assigns gets a header (a `let` before the loop, reused from the
 * variable's own declaration where nothing else reads that value); the body is staged like any
 * block, and ends by writing each header's new value (`x = x_1`). break and continue become
 * flags, like early returns: `done` ends the loop at its test, `skip` skips the rest of the body.
 */
export function loop(st: Stager, s: LoopStatement): void {
  const shape = loopShape(st, s);
  const { changing, breaks, counter, index, scope } = shape;
  if (ts.isForStatement(s) && !counter && s.initializer) {
    if (ts.isVariableDeclarationList(s.initializer)) variables(st, s.initializer);
    else st.assignment(s.initializer);
  }
  if (breaks) st.setFlag(scope.done!, false, s);
  const carried = carriedBy(st, s, counter?.symbol);
  if (index) carried.push(index.symbol);
  if (breaks) carried.push(scope.done!);
  if (containsReturn(s)) carried.push(RETURNED);
  const headers = carried.map((symbol) => header(st, symbol, s));
  carried.forEach((symbol, i) => st.env.set(symbol, headers[i]));
  const outerBody = st.body;
  st.body = [];
  const test = loopTest(
    st,
    s,
    counter !== undefined || changing !== undefined,
    breaks ? st.env.get(scope.done!) : undefined,
    index && { index: ref(st.env.get(index.symbol)!), array: index.array },
  );
  const pre = st.body;
  st.body = outerBody;
  const body = loopBody(st, s, shape, test, carried, headers);
  // After the loop, the variables it assigns are its headers; what the body declared is gone.
  carried.forEach((symbol, i) => st.env.set(symbol, headers[i]));
  const booleans = headers.filter((_, i) => st.isBoolean(carried[i]));
  st.body.push({
    k: "loop",
    kind: ts.isDoStatement(s) ? "do" : "while",
    counter: counter?.counter,
    test,
    pre: pre.length ? pre : undefined,
    body,
    carried: headers,
    booleans: booleans.length ? booleans : undefined,
    source: s,
  });
}

function loopShape(st: Stager, s: LoopStatement): LoopShape {
  // while ((n -= 1) > 0): the test changes a variable, so it runs in the body: the loop goes on
  // while `done` is false, and the body first runs the test, then the rest or `done = true`.
  const condition = ts.isForStatement(s) ? s.condition : ts.isForOfStatement(s) ? undefined : s.expression;
  const changing = condition !== undefined && containsChange(condition) ? condition : undefined;
  const breaks = leavesLoop(s.statement) || changing !== undefined;
  // for...of: a counting loop over the array; with a break or return inside, a general loop
  // carrying its index (a variable tsgrad makes, like the flags).
  const counter = changing
    ? undefined
    : ts.isForStatement(s)
      ? counterOf(st, s)
      : ts.isForOfStatement(s) && !breaks
        ? elementCounter(st, s)
        : undefined;
  const index = ts.isForOfStatement(s) && breaks ? elementIndex(st, s) : undefined;
  const scope: ExitScope = {
    flag: { name: "skip" } as ts.Symbol,
    done: { name: "done" } as ts.Symbol,
    isExit: (n) => ((ts.isBreakStatement(n) || ts.isContinueStatement(n)) && !n.label) || ts.isReturnStatement(n),
  };
  return { changing, breaks, counter, index, scope };
}

/**
 * The body of a loop, staged in the loop's scope: the element a for...of binds, the statements
 * (after the test, where the test changes a variable), the update, then each header's new value.
 */
function loopBody(
  st: Stager,
  s: LoopStatement,
  { changing, breaks, counter, index, scope }: LoopShape,
  test: Expr,
  carried: readonly ts.Symbol[],
  headers: readonly string[],
): Stmt[] {
  const [savedBody, savedScope] = [st.body, st.scope];
  st.outer.push(savedBody);
  st.body = [];
  st.scope = scope;
  st.loopDepth++;
  st.pendingTests.push(test);
  const before = new Map(st.env);
  if (counter?.symbol) st.env.set(counter.symbol, counter.counter.name);
  if (counter) st.counters.add(counter.counter.name);
  if (ts.isForOfStatement(s))
    element(
      st,
      s,
      counter ? ref(counter.counter.name) : ref(st.env.get(index!.symbol)!),
      counter ? counter.array! : index!.array,
    );
  if (changing) testInBody(st, changing, s, scope.done!);
  else st.list([s.statement]);
  const incrementor = ts.isForStatement(s) && !counter ? s.incrementor : undefined;
  const update = incrementor
    ? () => st.assignment(incrementor)
    : index
      ? () => nextIndex(st, index.symbol, s)
      : undefined;
  if (update && breaks) st.joinWith(negate(ref(st.env.get(scope.done!)!)), update, () => {}, s);
  else if (update) update();
  rebindArrays(st, before, s);
  writeHeaders(st, carried, headers, s);
  const body = st.body;
  st.pendingTests.pop();
  st.loopDepth--;
  [st.body, st.scope] = [savedBody, savedScope];
  st.outer.pop();
  st.env = before;
  return body;
}

/**
 * xs.forEach((v, i) => { s += v * w[i]; }) → the counting loop over xs whose body is the
 * callback's, `const v = xs[i]` first; each variable of the function it assigns a header, as in
 * any loop.
 */
export function forEachLoop(st: Stager, e: ts.CallExpression): void {
  const { array, callback } = forEachCall(e)!;
  const carried: ts.Symbol[] = [];
  const visit = (n: ts.Node): void => {
    const target = assignedIdentifier(n);
    const symbol = target && st.ctx.checker.getSymbolAtLocation(target);
    if (symbol && st.env.has(symbol) && !carried.includes(symbol) && !holdsArray(st, symbol)) carried.push(symbol);
    const pushed = pushedLength(st, n);
    if (pushed && !carried.includes(pushed)) carried.push(pushed);
    ts.forEachChild(n, visit);
  };
  const body = callback.body!;
  visit(body);
  const headers = carried.map((symbol) => header(st, symbol, e));
  carried.forEach((symbol, i) => st.env.set(symbol, headers[i]));
  const booleans = headers.filter((_, i) => st.isBoolean(carried[i]));
  eachElement(st, array, callback, e, headers, booleans, () => {
    const before = new Map(st.env);
    if (ts.isBlock(body)) st.list(body.statements);
    else st.assignment(body);
    rebindArrays(st, before, e);
    writeHeaders(st, carried, headers, e);
  });
  carried.forEach((symbol, i) => st.env.set(symbol, headers[i]));
}

/** The end of an iteration: each header takes its variable's new value (`x = x_1`). */
function writeHeaders(st: Stager, carried: readonly ts.Symbol[], headers: readonly string[], s: ts.Node): void {
  carried.forEach((symbol, i) => {
    const current = st.env.get(symbol);
    if (current !== undefined && current !== headers[i]) {
      const matrix = st.matrices.get(current);
      st.body.push({
        k: "def",
        name: headers[i],
        value: ref(current),
        op: scalarOp("copy"),
        args: [ref(current)],
        assign: true,
        overwrite: true,
        source: s,
        ...(matrix ? { type: matrix } : {}),
      });
    }
  });
}

/**
 * The body of a loop whose test changes a variable: `while ((n -= 1) > 0) body` runs as
 * `{ n_1 = n - 1; if (n_1 > 0) { body } else { done = true } }` (a do loop tests after its body).
 */
function testInBody(st: Stager, condition: ts.Expression, s: ts.IterationStatement, done: ts.Symbol): void {
  const runTest = () => {
    const go = test(st, condition);
    st.joinWith(
      go,
      () => {},
      () => st.setFlag(done, true, condition),
      s,
    );
  };
  if (ts.isDoStatement(s)) {
    st.list([s.statement]);
    // After a break (done) or a return, the test does not run.
    const stop = st.env.get(done)!;
    st.joinWith(negate(ref(stop)), runTest, () => {}, s);
    return;
  }
  const go = test(st, condition);
  st.joinWith(
    go,
    () => st.list([s.statement]),
    () => st.setFlag(done, true, condition),
    s,
  );
}

/** The loop's test over its headers; a counter loop's test is its counter. */
function loopTest(
  st: Stager,
  s: LoopStatement,
  counted: boolean,
  done: string | undefined,
  element?: { index: Expr; array: string },
): Expr {
  const cond = counted || ts.isForOfStatement(s) ? undefined : ts.isForStatement(s) ? s.condition : s.expression;
  let result: Expr = element
    ? { k: "binary", op: "<", left: element.index, right: st.lengthOf(element.array) }
    : { k: "global", text: "true" };
  // A test that calls a function is computed by statements run before each evaluation (pre).
  if (cond) {
    result = condition(st, cond);
    if (hasImpureCall(result) || [...refsOf(result)].some((n) => st.localArrays.has(n))) result = test(st, cond);
  }
  if (done === undefined) return result;
  const notDone = negate(ref(done));
  return cond || element ? { k: "binary", op: "&&", left: notDone, right: result } : notDone;
}

/**
 * The header of a variable the loop assigns: the variable itself, made `let`, when its current
 * value is read by nothing staged so far (and, at the top level, nothing can read it later);
 * otherwise a new version initialised from it: `let x_1 = x;`.
 */
function header(st: Stager, symbol: ts.Symbol, source: ts.Node): string {
  const current = st.env.get(symbol);
  const flag = symbol.valueDeclaration === undefined;
  if (current !== undefined && (st.loopDepth === 0 || flag) && !readSoFar(st, current)) {
    const def = findDef(st, current);
    // A parameter never reassigned so far (current is its own name); not a join made from it.
    const param =
      def === undefined &&
      st.fn.parameters.some((p) => ts.isIdentifier(p.name) && st.symbol(p.name) === symbol && p.name.text === current);
    if (param || (def && !readsOutput(def.op))) {
      if (def) def.mutable = true;
      return current;
    }
  }
  const name = st.ctx.namer.version(symbol.name);
  const matrix = current !== undefined ? st.matrices.get(current) : undefined;
  if (matrix) st.matrices.set(name, matrix);
  const type = matrix ?? (st.isBoolean(symbol) ? ("boolean" as const) : undefined);
  if (current === undefined) st.body.push({ k: "let", name, hoisted: true, type });
  else
    st.body.push({
      k: "def",
      name,
      value: ref(current),
      op: scalarOp("copy"),
      args: [ref(current)],
      assign: false,
      mutable: true,
      source,
      type,
    });
  return name;
}

function readSoFar(st: Stager, name: string): boolean {
  return (
    [...st.outer, st.body].some((b) => forwardReads(b).has(name)) || st.pendingTests.some((t) => refsOf(t).has(name))
  );
}

function findDef(st: Stager, name: string): Def | undefined {
  let found: Def | undefined;
  for (const b of [...st.outer, st.body]) forEachDef(b, (d) => d.name === name && !d.assign && (found = d));
  return found;
}

/** Variables declared before the loop that it assigns, in order of first assignment. */
function carriedBy(st: Stager, s: ts.IterationStatement, counter: ts.Symbol | undefined): ts.Symbol[] {
  const out: ts.Symbol[] = [];
  const visit = (n: ts.Node): void => {
    const target = assignedIdentifier(n);
    if (target) {
      const symbol = st.ctx.checker.getSymbolAtLocation(target);
      if (symbol && symbol !== counter && st.env.has(symbol) && !out.includes(symbol) && !holdsArray(st, symbol))
        out.push(symbol);
    }
    // out.push(v): the loop carries out's length.
    const pushed = pushedLength(st, n);
    if (pushed && !out.includes(pushed)) out.push(pushed);
    ts.forEachChild(n, visit);
  };
  visit(s);
  return out;
}

/** A variable holding a local array: not a header, its array is moved back by a Rebind (rebinds.ts). */
function holdsArray(st: Stager, symbol: ts.Symbol): boolean {
  const current = st.env.get(symbol);
  return current !== undefined && st.localArrays.has(current);
}

/** for...of with a break: its index, `let i = 0` before the loop, carried like a flag. */
function elementIndex(st: Stager, s: ts.ForOfStatement): { symbol: ts.Symbol; array: string } {
  const array = value(st, entriesOf(s.expression) ?? s.expression);
  if (array.k !== "ref") throw refuse("forOfUnstaged", s.expression);
  const symbol = { name: "i" } as ts.Symbol;
  st.indexes.add(symbol);
  const name = st.ctx.namer.fresh("i");
  st.body.push({ k: "def", name, value: num(0), op: null, args: [], assign: false, source: s });
  st.env.set(symbol, name);
  return { symbol, array: array.name };
}

/** i = i + 1 at the end of a for...of iteration (not after a break: the caller guards it). */
function nextIndex(st: Stager, symbol: ts.Symbol, s: ts.Node): void {
  const name = st.ctx.namer.version(symbol.name);
  st.body.push({
    k: "def",
    name,
    value: { k: "binary", op: "+", left: ref(st.env.get(symbol)!), right: num(1) },
    op: null,
    args: [],
    assign: false,
    source: s,
  });
  st.env.set(symbol, name);
}

/**
 * `const v = a[i]`: the element a for...of iteration binds; over `a.entries()`, `[i, v]` binds
 * the index too (the counter itself, or the loop's index).
 */
function element(st: Stager, s: ts.ForOfStatement, index: Expr, array: string): void {
  const decl = (s.initializer as ts.VariableDeclarationList).declarations[0];
  const value: Expr = { k: "elem", array, index };
  const bind = (id: ts.Identifier, v: Expr) => {
    if (v.k === "ref") return void st.env.set(st.symbol(id), v.name);
    const name = st.declare(id.text);
    st.body.push({ k: "def", name, value: v, op: scalarOp("copy"), args: [v], assign: false, source: decl });
    st.env.set(st.symbol(id), name);
  };
  const over = skipWrappers(s.expression);
  const overKind = kindOf(st.ctx.checker.getTypeAtLocation(over), st.ctx.checker);
  if (
    ts.isIdentifier(decl.name) &&
    ((ts.isIdentifier(over) && isRecordTable(over, st.ctx.checker)) || overKind === "records")
  )
    return void st.records.set(st.symbol(decl.name), { array, index }); // p.x reads DATA[i].x
  if (ts.isIdentifier(decl.name) && kindOf(st.ctx.checker.getTypeAtLocation(over), st.ctx.checker) === "rows")
    return void st.rows.set(st.symbol(decl.name), value); // row[j] reads A[i][j]
  if (ts.isIdentifier(decl.name)) return bind(decl.name, value);
  const [first, second] = (decl.name as ts.ArrayBindingPattern).elements;
  if (ts.isBindingElement(first)) bind(first.name as ts.Identifier, index);
  if (ts.isBindingElement(second)) bind(second.name as ts.Identifier, value);
}
