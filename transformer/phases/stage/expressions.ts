// Expressions: a number-valued one → one def per operation, each over atoms (literals, current
// names, constants); a condition, or a value no gradient flows through (comparisons, Math.floor,
// calls of unmarked functions) → one expression over current names, a single opaque def.
//
//   const den = sigx + xpy ** 2;   →   const xpy_sq = xpy ** 2;  const den = sigx + xpy_sq;
//   1 / (1 + Math.exp(-x))         →   one "sigmoid" operation, so its derivative is (1 - s) * s
//   c ? a : b                      →   let choice; if (c) { choice = a; } else { choice = b; }

import ts from "typescript";
import { ARITHMETIC, LOGICAL, refuse } from "../../ir/language.js";
import { type Def, type Expr, type Stmt, num, ref, refsOf, scalarOp } from "../../ir/ir.js";
import {
  arrayCallback,
  arraySearch,
  exprFromTs,
  isChange,
  isLength,
  isUpdate,
  kindOf,
  skipWrappers,
} from "../../ir/syntax.js";
import type { Stager, Want } from "./stager.js";
import { recognise } from "./rules.js";
import { fieldRef, nonLocal, thisField } from "./parameters.js";

/** Stages a number-valued expression; returns an atom (num, ref or global) holding its value. */
export function value(st: Stager, e: ts.Expression, want?: Want): Expr {
  if (isUpdate(e)) return updated(st, e, want);
  if (ts.isElementAccessExpression(e) && st.isLocalArray(e.expression)) return snapshot(st, e, want);
  const direct = atom(st, e);
  if (direct) return want ? st.emit(want, direct, scalarOp("copy"), [direct], e) : direct;
  if (
    ts.isParenthesizedExpression(e) ||
    ts.isAsExpression(e) ||
    ts.isNonNullExpression(e) ||
    ts.isSatisfiesExpression(e)
  ) {
    return value(st, e.expression, want);
  }
  // 1 / (1 + Math.exp(-u)): a pattern a rule declares, one operation (sigmoid) over u.
  const recognised = recognise(e);
  if (recognised)
    return st.operation(
      recognised.op,
      recognised.operands.map((o) => value(st, o)),
      e,
      want,
    );
  if (ts.isPrefixUnaryExpression(e) && e.operator === ts.SyntaxKind.PlusToken) return value(st, e.operand, want);
  if (ts.isPrefixUnaryExpression(e) && e.operator === ts.SyntaxKind.MinusToken) {
    return st.operation("neg", [value(st, e.operand)], e, want);
  }
  const arithmetic = ts.isBinaryExpression(e) ? ARITHMETIC[e.operatorToken.kind] : undefined;
  if (arithmetic && ts.isBinaryExpression(e))
    return st.operation(arithmetic, [value(st, e.left), value(st, e.right)], e, want);
  if (ts.isConditionalExpression(e)) return ternary(st, e, want);
  if (ts.isBinaryExpression(e) && LOGICAL.has(e.operatorToken.kind) && isNumber(st, e)) return logical(st, e, want);
  if (ts.isCallExpression(e)) return st.call(e, want);
  return opaque(st, e, want);
}

/** Literals, locals and constants: values that need no statement of their own. */
export function atom(st: Stager, e: ts.Expression): Expr | undefined {
  if (ts.isNumericLiteral(e)) return num(Number(e.text));
  // -86.5: a negative number, not an operation on 86.5.
  if (ts.isPrefixUnaryExpression(e) && e.operator === ts.SyntaxKind.MinusToken && ts.isNumericLiteral(e.operand))
    return num(-Number(e.operand.text));
  // "l2", true: data passed as written (to a helper's mode or flag), no local of its own.
  if (
    ts.isStringLiteral(e) ||
    ts.isNoSubstitutionTemplateLiteral(e) ||
    e.kind === ts.SyntaxKind.TrueKeyword ||
    e.kind === ts.SyntaxKind.FalseKeyword
  )
    return { k: "global", text: e.getText() };
  if (ts.isIdentifier(e)) return st.isLocal(e) ? st.current(e) : nonLocal(st, e);
  const field = fieldRef(st, e);
  if (field) return field;
  // a[i] and a.length of an array parameter (the fence allows no other arrays), M.rows of a matrix.
  if (
    ts.isElementAccessExpression(e) ||
    (ts.isPropertyAccessExpression(e) && (isLength(e) || e.name.text === "rows" || e.name.text === "cols")) ||
    (ts.isPropertyAccessExpression(e) && ts.isElementAccessExpression(skipWrappers(e.expression))) // DATA[i].x
  ) {
    const read = condition(st, e);
    // a[Math.floor(Math.random() * n)]: the index drawn once, kept for the backward pass.
    if (read.k === "elem") return { ...read, index: stableIndex(st, read.index, e) };
    if (read.k !== "global") return read;
  }
  const own = thisField(st, e);
  if (own) return own;
  if (ts.isPropertyAccessExpression(e)) return { k: "global", text: e.getText() };
  return undefined;
}

/**
 * An assignment as a value: `x = y = 0` (the value of `y = 0` is y's new value), `a[i++]` (the
 * old i), `(t = x * x, t + 1)`. It runs as its statement where JavaScript runs it.
 */
function updated(st: Stager, e: ts.Expression, want?: Want): Expr {
  const read = (target: ts.Expression): Expr =>
    ts.isIdentifier(target) ? st.current(target) : value(st, target as ts.ElementAccessExpression);
  let result: Expr;
  if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.CommaToken) {
    effect(st, e.left);
    return value(st, e.right, want);
  } else if (ts.isPostfixUnaryExpression(e)) {
    const old = read(skipWrappers(e.operand));
    st.assignment(e);
    result = old;
  } else {
    st.assignment(e);
    result = read(skipWrappers(ts.isBinaryExpression(e) ? e.left : (e as ts.PrefixUnaryExpression).operand));
  }
  return want ? st.emit(want, result, scalarOp("copy"), [result], e) : result;
}

/** The left of a comma: an assignment, or a value computed for nothing (kept, in case it calls out). */
export function effect(st: Stager, e: ts.Expression): void {
  const x = skipWrappers(e);
  if (isChange(x)) st.assignment(x);
  else value(st, x);
}

/**
 * `w || 1` on numbers → `w ? w : 1`; `a && b` → `a ? b : a`; `s ?? 1` → `s != null ? s : 1`:
 * the operand chosen, only the taken side evaluated.
 */
function logical(st: Stager, e: ts.BinaryExpression, want?: Want): Expr {
  const op = e.operatorToken.kind;
  // xs.find(f) ?? v: the element found, or v where none is (callbacks.ts foundAt).
  const found = op === ts.SyntaxKind.QuestionQuestionToken ? foundCall(e.left) : undefined;
  if (found) return st.call(found, want, e.right);
  const left = value(st, e.left);
  const test: Expr =
    op === ts.SyntaxKind.QuestionQuestionToken
      ? { k: "binary", op: "!=", left, right: { k: "global", text: "null" } }
      : left;
  const right = (w: Want) => void value(st, e.right, w);
  const same = (w: Want) => void st.emit(w, left, scalarOp("copy"), [left], e);
  return op === ts.SyntaxKind.AmpersandAmpersandToken
    ? choice(st, test, right, same, e, want)
    : choice(st, test, same, right, e, want);
}

/** `xs.find(f)` or `xs.findLast(f)`, through parentheses and casts. */
function foundCall(e: ts.Expression): ts.CallExpression | undefined {
  const x = skipWrappers(e);
  const search = ts.isCallExpression(x) ? arraySearch(x) : undefined;
  return search?.method === "find" || search?.method === "findLast" ? (x as ts.CallExpression) : undefined;
}

/** A number, a union with one (`x && 1` is `0 | 1`), or any (it may carry one): a value, not a condition. */
function isNumber(st: Stager, e: ts.Expression): boolean {
  const t = st.ctx.checker.getTypeAtLocation(e);
  if (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return true;
  const parts = t.isUnion() ? t.types : [t];
  return parts.some((p) => (p.flags & ts.TypeFlags.NumberLike) !== 0);
}

/** c ? a : b → a join variable assigned in each branch, so only the taken side is evaluated. */
function ternary(st: Stager, e: ts.ConditionalExpression, want?: Want): Expr {
  return choice(
    st,
    test(st, e.condition),
    (w) => value(st, e.whenTrue, w),
    (w) => value(st, e.whenFalse, w),
    e,
    want,
  );
}

/**
 * A value chosen by a test: each side staged in its branch into the result, and a variable a
 * side assigns (`(t -= 2) * t`) joined after it, as after an `if`.
 */
export function choice(
  st: Stager,
  test: Expr,
  whenTrue: (want: Want) => void,
  whenFalse: (want: Want) => void,
  e: ts.Expression,
  want?: Want,
): Expr {
  const target = want ?? { name: st.ctx.namer.fresh("choice"), assign: false };
  const assign = { ...target, assign: true };
  const declared: Stmt = { k: "let", name: target.name };
  if (!target.assign) st.body.push(declared);
  st.joinWith(
    test,
    () => whenTrue(assign),
    () => whenFalse(assign),
    e,
  );
  // flag ? relu(z) : z, a matrix: `let h: Matrix<number, number>` (a side's op or copy typed it)
  const matrix = st.matrices.get(target.name);
  if (matrix) declared.type = matrix;
  return ref(target.name);
}

/** A value no gradient flows through, kept as one expression: `const k = Math.floor(x * 3)`. */
export function opaque(st: Stager, e: ts.Expression, want?: Want, opaqueCall?: ts.Node): Expr {
  const value = condition(st, e);
  const hint = ts.isCallExpression(e) ? e.expression.getText() : "value";
  const target = want ?? st.temp(hint, ts.isCallExpression(e) ? e.arguments.map((a) => nameOf(st, a)) : []);
  const type = st.ctx.checker.getTypeAtLocation(e).flags & ts.TypeFlags.BooleanLike ? ("boolean" as const) : undefined;
  const def: Def = {
    k: "def",
    name: target.name,
    value,
    op: null,
    args: [],
    assign: target.assign,
    source: e,
    note: target.note,
    opaqueCall,
    type,
  };
  st.body.push(def);
  return ref(target.name);
}

/**
 * What an operand is called, for a temporary's name (`floor_x`), without staging it again:
 * `Math.floor(c[j++])` has run `j++` once already.
 */
function nameOf(st: Stager, a: ts.Expression): Expr {
  if (ts.isNumericLiteral(a)) return num(Number(a.text));
  if (ts.isIdentifier(a) && st.isLocal(a)) return st.current(a);
  return (ts.isPropertyAccessExpression(a) && fieldRef(st, a)) || { k: "global", text: "" };
}

/** `const h_j = h[j]`: what an element of a local array holds now, kept for the backward pass. */
function snapshot(st: Stager, e: ts.ElementAccessExpression, want?: Want): Expr {
  const read = condition(st, e);
  // h[Math.floor(Math.random() * n)]: the index drawn once, the backward pass's too.
  const value = read.k === "elem" ? { ...read, index: stableIndex(st, read.index, e) } : read;
  const index = value.k === "elem" && value.index.k === "ref" ? value.index.name : "elem";
  const target = want ?? {
    name: st.ctx.namer.fresh(`${(value as { array: string }).array}_${index}`),
    assign: false,
  };
  // Marked `snapshot` at the end of staging, unless the array is final by the time it is read.
  st.body.push({
    k: "def",
    name: target.name,
    value,
    op: scalarOp("copy"),
    args: [value],
    assign: target.assign,
    source: e,
    note: target.note,
  });
  return ref(target.name);
}

/** An index that calls a function (`tick()`, `Math.random()`), computed once into a name. */
export function stableIndex(st: Stager, index: Expr, source: ts.Node): Expr {
  if (!hasImpureCall(index)) return index;
  const name = st.ctx.namer.fresh("index");
  st.body.push({ k: "def", name, value: index, op: null, args: [], assign: false, source });
  return ref(name);
}

/**
 * A branch's test. The backward pass replays it; a test that calls a function (Math.random(),
 * anything with a side effect) is evaluated once, into a boolean, so both passes agree.
 */
export function test(st: Stager, e: ts.Expression): Expr {
  return testOf(st, condition(st, e), e);
}

export function testOf(st: Stager, test: Expr, e: ts.Node): Expr {
  if (!hasCall(test, () => true) && ![...refsOf(test)].some((n) => st.localArrays.has(n))) return test;
  const name = st.ctx.namer.fresh("cond");
  st.body.push({ k: "def", name, value: test, op: null, args: [], assign: false, source: e, type: "boolean" });
  return ref(name);
}

/** A condition or opaque value as one expression over current names: `x > 0 && y < 1`. */
export function condition(st: Stager, e: ts.Expression): Expr {
  // In a condition, `i < n && (x = a[i]) > 0` would run the assignment whether or not i < n.
  const sometimes = updateRunningSometimes(e);
  if (sometimes) throw refuse("assignmentSometimes", sometimes);
  const staged = exprFromTs(
    e,
    (x) =>
      !ts.isIdentifier(x) ? (fieldRef(st, x) ?? thisField(st, x)) : st.isLocal(x) ? st.current(x) : nonLocal(st, x),
    (x) => (isUpdate(x) || isLoopCall(x) ? value(st, x) : undefined),
  );
  return st.ctx.self === undefined ? staged : ownCalls(staged, st.ctx.self);
}

/**
 * A call that stands for a loop and cannot throw (`xs.reduce(f, 0)`, `Math.max(...xs)`): in a
 * condition, staged before it as the loop it is, its value then read by the test. (Without an
 * initial value, reduce throws on an empty array, which the condition might never evaluate.)
 */
function isLoopCall(e: ts.Expression): boolean {
  if (!ts.isCallExpression(e)) return false;
  const lowered = arrayCallback(e);
  if (lowered) return lowered.method === "reduce" && lowered.init !== undefined;
  if (arraySearch(e)) return true;
  return (
    ["Math.max", "Math.min", "Math.hypot"].includes(e.expression.getText()) && e.arguments.some(ts.isSpreadElement)
  );
}

/** An assignment in a part of `e` that runs only sometimes: right of `&&`, `||`, `??`, or a branch of `?:`. */
function updateRunningSometimes(e: ts.Node, sometimes = false): ts.Node | undefined {
  if (sometimes && isChange(e)) return e;
  if (ts.isFunctionLike(e)) return undefined;
  if (ts.isBinaryExpression(e) && LOGICAL.has(e.operatorToken.kind))
    return updateRunningSometimes(e.left, sometimes) ?? updateRunningSometimes(e.right, true);
  if (ts.isConditionalExpression(e))
    return (
      updateRunningSometimes(e.condition, sometimes) ??
      updateRunningSometimes(e.whenTrue, true) ??
      updateRunningSometimes(e.whenFalse, true)
    );
  return ts.forEachChild(e, (c) => updateRunningSometimes(c, sometimes));
}

/** `this.dot` → `vec.dot`: a member's call of the object's own members, in its generated functions. */
export function ownCallee(callee: string, self: string | undefined): string {
  return self !== undefined && callee.startsWith("this.") ? `${self}.${callee.slice("this.".length)}` : callee;
}

/** ownCallee for every call in an expression (`Math.floor(this.count(x))`). */
function ownCalls(e: Expr, self: string): Expr {
  const go = (x: Expr): Expr => ownCalls(x, self);
  switch (e.k) {
    case "call":
      return { ...e, callee: ownCallee(e.callee, self), args: e.args.map(go) };
    case "unary":
      return { ...e, arg: go(e.arg) };
    case "binary":
      return { ...e, left: go(e.left), right: go(e.right) };
    case "cond":
      return { ...e, test: go(e.test), then: go(e.then), else: go(e.else) };
    case "elem":
      return { ...e, index: go(e.index) };
    default:
      return e;
  }
}

/** A call other than a pure Math function (Math.random, user functions): not safe to evaluate twice. */
export function hasImpureCall(e: Expr): boolean {
  return hasCall(e, (callee) => !callee.startsWith("Math.") || callee === "Math.random");
}

/** Does the expression call a function `counts` picks? */
function hasCall(e: Expr, counts: (callee: string) => boolean): boolean {
  switch (e.k) {
    case "call":
      return counts(e.callee) || e.args.some((a) => hasCall(a, counts));
    case "unary":
      return hasCall(e.arg, counts);
    case "binary":
      return hasCall(e.left, counts) || hasCall(e.right, counts);
    case "cond":
      return hasCall(e.test, counts) || hasCall(e.then, counts) || hasCall(e.else, counts);
    case "elem":
      return hasCall(e.index, counts) || (e.inner !== undefined && hasCall(e.inner, counts));
    default:
      return false;
  }
}

/**
 * The element `A[i]` a const names, its index kept as it is now: `const row = A[k]` then
 * `k = k + 1` still reads row k. An index other than a number is computed once, `const row_at = k`.
 */
export function elementAt(
  st: Stager,
  id: { text: string },
  e: ts.Expression,
): { k: "elem"; array: string; index: Expr } {
  const element = condition(st, e) as { k: "elem"; array: string; index: Expr };
  const index = element.index;
  if (index.k === "num" || (index.k === "ref" && st.counters.has(index.name))) return element; // fixed while it is read
  const at = st.ctx.namer.fresh(`${id.text}_at`);
  st.body.push({ k: "def", name: at, value: element.index, op: null, args: [], assign: false, source: e });
  return { ...element, index: ref(at) };
}

/** A[i] of a number[][] parameter A ("rows"), pts[i] of a records parameter ("records"). */
export function isRowRead(st: Stager, e: ts.Expression, kind: "rows" | "records"): boolean {
  const x = skipWrappers(e);
  const { checker } = st.ctx;
  return ts.isElementAccessExpression(x) && kindOf(checker.getTypeAtLocation(x.expression), checker) === kind;
}
