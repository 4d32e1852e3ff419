// Arrays grown by push: `const out: number[] = []` then `out.push(v)`. Each push is a store at the
// length so far, a count tsgrad keeps like a variable of the function (carried by loops, joined
// after branches), so the backward pass knows which element each push wrote:
//
//   const out: number[] = [];          →   const out: number[] = [];  let out_length = 0;
//   for (...) out.push(s / n);         →   for (...) { out[out_length] = quot; out_length = out_length + 1; }
//   out.length                         →   out_length (its value there)
//
// A loop over the array (for...of, reduce, map) runs to its length when the backward pass runs
// too, so it must come after the last push.

import ts from "typescript";
import { refuse } from "../../ir/language.js";
import { type ArrayDecl, type Expr, type Stmt, binary, num, ref } from "../../ir/ir.js";
import type { Stager } from "./stager.js";
import { value } from "./expressions.js";

/** `const out: number[] = []`: the empty array `name` and its length so far, 0. */
export function createGrowable(st: Stager, name: string, source: ts.Node): void {
  if (st.outer.length > 0) throw refuse("pushArrayInLoop", source);
  st.body.push({ k: "array", name, kind: "number[]", length: num(0), source, growable: true });
  const length = { name: `${name}_length` } as ts.Symbol;
  st.indexes.add(length); // a number, not a flag
  st.growable.set(name, length);
  const count = st.ctx.namer.fresh(`${name}_length`);
  st.body.push({ k: "def", name: count, value: num(0), op: null, args: [], assign: false, source });
  st.env.set(length, count);
}

/** `out.push(v, w)` of an array created empty: `out[out_length] = v`, then the length one more, per value. */
export function pushOnto(st: Stager, e: ts.CallExpression): void {
  const array = (
    st.current((e.expression as ts.PropertyAccessExpression).expression as ts.Identifier) as Expr & {
      name: string;
    }
  ).name;
  const length = st.growable.get(array)!;
  for (const arg of e.arguments) {
    const v = value(st, arg);
    const at = ref(st.env.get(length)!);
    st.body.push({ k: "store", array, index: at, value: v, add: false, source: e });
    const next = st.ctx.namer.version(`${array}_length`);
    st.body.push({
      k: "def",
      name: next,
      value: binary("+", at, num(1)),
      op: null,
      args: [],
      assign: false,
      source: e,
    });
    st.env.set(length, next);
  }
}

/** `out.push(...)` of a local array grown by push: the symbol of its length, which the push changes. */
export function pushedLength(st: Stager, n: ts.Node): ts.Symbol | undefined {
  if (!ts.isCallExpression(n) || !ts.isPropertyAccessExpression(n.expression) || n.expression.name.text !== "push")
    return undefined;
  const target = n.expression.expression;
  if (!ts.isIdentifier(target) || !st.isLocalArray(target)) return undefined;
  return st.growable.get((st.current(target) as { name: string }).name);
}

/**
 * After staging: a loop over a grown array (its bound `out.length`, read again by the backward
 * pass) comes after its last push (top-level statements in order).
 */
export function checkGrowing(st: Stager): void {
  for (const name of st.growable.keys()) {
    const pushes = (s: Stmt): boolean =>
      (s.k === "store" && s.array === name) ||
      (s.k === "if" && (s.then.some(pushes) || s.else.some(pushes))) ||
      (s.k === "loop" && s.body.some(pushes));
    const last = st.body.reduce((at, s, i) => (pushes(s) ? i : at), -1);
    const early = st.body.slice(0, last + 1).find((s) => readsLength(s, name));
    if (early) throw refuse("pushLengthRead", sourceOf(early) ?? st.fn, { name });
  }
}

/** Does a statement read `name.length` (in a value, a test, a loop's bounds, an index)? */
function readsLength(s: Stmt, name: string): boolean {
  const inExpr = (e: Expr | undefined): boolean => {
    if (!e) return false;
    switch (e.k) {
      case "length":
        return e.array === name || inExpr(e.at);
      case "unary":
        return inExpr(e.arg);
      case "binary":
        return inExpr(e.left) || inExpr(e.right);
      case "call":
        return e.args.some(inExpr);
      case "cond":
        return inExpr(e.test) || inExpr(e.then) || inExpr(e.else);
      case "elem":
        return inExpr(e.index) || inExpr(e.inner);
      default:
        return false;
    }
  };
  switch (s.k) {
    case "def":
      return inExpr(s.value);
    case "store":
      return inExpr(s.index) || inExpr(s.value);
    case "array":
      return inExpr(s.length);
    case "if":
      return inExpr(s.test) || s.then.some((t) => readsLength(t, name)) || s.else.some((t) => readsLength(t, name));
    case "loop":
      return (
        inExpr(s.test) ||
        inExpr(s.counter?.from) ||
        inExpr(s.counter?.to) ||
        (s.pre ?? []).some((t) => readsLength(t, name)) ||
        s.body.some((t) => readsLength(t, name))
      );
    default:
      return false;
  }
}

function sourceOf(s: Stmt): ts.Node | undefined {
  return "source" in s ? (s as ArrayDecl).source : undefined;
}
