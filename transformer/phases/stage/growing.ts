// Arrays grown by push: `const out: number[] = []` then `out.push(v)`. Each push is a store at the
// length so far, a count tsgrad keeps like a variable of the function (carried by loops, joined
// after branches), so the backward pass knows which element each push wrote:
//
//   const out: number[] = [];          →   const out: number[] = [];  let out_length = 0;
//   for (...) out.push(s / n);         →   for (...) { out[out_length] = quot; out_length = out_length + 1; }
//   out.length                         →   out_length (its value there)
//
// A pop reads the last element and makes the count one less; loops over the array (for...of,
// reduce, map) go to the count at their start.

import ts from "typescript";
import { refuse } from "../../ir/language.js";
import { type Expr, binary, num, ref, scalarOp } from "../../ir/ir.js";
import type { Stager, Want } from "./stager.js";
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
  const array = grownArray(st, e);
  for (const arg of e.arguments) {
    const v = value(st, arg);
    const at = ref(st.env.get(st.growable.get(array)!)!);
    st.body.push({ k: "store", array, index: at, value: v, add: false, source: e });
    count(st, array, binary("+", at, num(1)), e);
  }
}

/** The local array `out` of `out.push(...)` or `out.pop()`, by its staged name. */
function grownArray(st: Stager, e: ts.CallExpression): string {
  const target = (e.expression as ts.PropertyAccessExpression).expression as ts.Identifier;
  return (st.current(target) as Expr & { name: string }).name;
}

/** `const out_length_2 = out_length_1 + 1`: the array's new count, now what its length reads. */
function count(st: Stager, array: string, value: Expr, source: ts.Node): Expr {
  const length = st.growable.get(array)!;
  const next = st.ctx.namer.version(`${array}_length`);
  st.body.push({ k: "def", name: next, value, op: null, args: [], assign: false, source });
  st.env.set(length, next);
  return ref(next);
}

/**
 * `const v = out.pop()!`: the length one less, then the element there read (a snapshot: a later
 * push writes over it). As a statement, `out.pop();`, only the length.
 *   const v = out.pop()!   →   const out_length_2 = out_length_1 - 1;  const v = out[out_length_2];
 */
export function popFrom(st: Stager, e: ts.CallExpression, want?: Want): Expr {
  const array = grownArray(st, e);
  st.popped.set(array, e);
  const last = count(st, array, binary("-", ref(st.env.get(st.growable.get(array)!)!), num(1)), e);
  const element: Expr = { k: "elem", array, index: last };
  const target = want ?? { name: st.ctx.namer.fresh(`${array}_last`), assign: false };
  st.body.push({
    k: "def",
    name: target.name,
    value: element,
    op: scalarOp("copy"),
    args: [element],
    assign: target.assign,
    source: e,
    note: target.note,
  });
  return ref(target.name);
}

/** `out.pop()` of a local array grown by push. */
export function isPop(st: Stager, e: ts.CallExpression): boolean {
  return grownBy(st, e, "pop") !== undefined;
}

/** `out.push(...)` or `out.pop()` of a local array grown by push: the symbol of its length, which they change. */
export function pushedLength(st: Stager, n: ts.Node): ts.Symbol | undefined {
  return grownBy(st, n, "push") ?? grownBy(st, n, "pop");
}

function grownBy(st: Stager, n: ts.Node, method: "push" | "pop"): ts.Symbol | undefined {
  if (!ts.isCallExpression(n) || !ts.isPropertyAccessExpression(n.expression) || n.expression.name.text !== method)
    return undefined;
  const target = n.expression.expression;
  if (!ts.isIdentifier(target) || !st.isLocalArray(target)) return undefined;
  return st.growable.get((st.current(target) as { name: string }).name);
}

/**
 * After staging: a function returning an array a pop shortens is refused (the array keeps the
 * popped elements, which the backward pass reads). Loops over a grown array need no check: each
 * goes to the count at its start (Stager.lengthOf), as JavaScript's would.
 */
export function checkGrowing(st: Stager): void {
  const returned = st.outputs ? st.outputs.map((o) => o.name) : [st.result];
  for (const [name, pop] of st.popped) {
    const array = (pop.expression as ts.PropertyAccessExpression).expression.getText();
    if (returned.includes(name)) throw refuse("poppedReturned", pop, { name: array });
  }
}
