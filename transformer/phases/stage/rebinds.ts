// Arrays bound to variables: an array made in a loop or a branch, and a variable given another
// array. Each array the function makes is one name, declared at the function's top level (the
// phases after keep them there); a variable is bound to one of those names (env), and moving a
// variable to another array moves the binding, not the elements:
//
//   for (...) { const row = new Array(n).fill(0); ... }   →   const row = ...(n) before the loop;
//                                                              in it, the loop writing its zeros
//   for (...) { ...; const tmp = u; u = next; next = tmp; } →  ...; [u, next] = [next, u]   (a Rebind)
//   for (...) h = cell(h)   (cell returns a new array)      →  h_1 = ... before the loop; in it,
//                                                              h_1's elements, then [h, h_1] = [h_1, h]
//
// At the end of a loop's iteration or a branch, each variable must be bound where it was before
// (the code after reads it by that name): the arrays change places in one Rebind, a permutation,
// which the backward pass undoes at the same place. Two variables bound to one array there are
// refused: a write through one would change the other, which the gradient does not follow.

import type ts from "typescript";
import { refuse } from "../../ir/language.js";
import {
  type ArrayDecl,
  type Expr,
  type Rebind,
  forEachArray,
  forEachDef,
  forEachRebind,
  reboundArrays,
  refsOf,
} from "../../ir/ir.js";
import { sameExpr } from "../../ir/print.js";
import type { Stager } from "./stager.js";

/**
 * Declares a local array at the function's top level: where it is, or, made in a loop or a
 * branch, before the outermost one (`hoisted`: the array is reused, so the caller writes all of
 * its elements each time). Its length must then be known there: `new Array(n)` with n fixed before
 * the loop, not `new Array(i)` of its counter.
 */
export function declareArray(st: Stager, decl: ArrayDecl): { hoisted: boolean } {
  if (st.outer.length === 0) {
    st.body.push(decl);
    return { hoisted: false };
  }
  const unknown = [...refsOf(decl.length)].find((name) => !knownAtTop(st, name));
  if (unknown !== undefined) throw refuse("arrayLengthInLoop", decl.source, { name: unknown });
  st.outer[0].push(decl);
  st.hoisted.add(decl.name);
  return { hoisted: true };
}

/**
 * A part of an array (`xs.slice(i, i + 3)`) made in a loop or a branch with a length known only
 * there: declared before it as long as the whole array (`whole`, fixed there), its length the
 * part's, which the code reads as it reads a pushed array's count (Stager.lengthOf, growing.ts):
 *   for (...) { const w = xs.slice(i, i + 3); ... }   →   const w = ...(xs.length) before the loop;
 *                                                          in it, `const w_length = ...` and the copy
 * Anywhere else, an array of the part's length (declareArray).
 */
export function declarePart(st: Stager, decl: ArrayDecl, whole: Expr): void {
  if (st.outer.length === 0 || [...refsOf(decl.length)].every((name) => knownAtTop(st, name)))
    return void declareArray(st, decl);
  declareArray(st, { ...decl, length: whole });
  const length = { name: `${decl.name}_length` } as ts.Symbol;
  st.indexes.add(length); // a number, not a flag
  st.growable.set(decl.name, length);
  st.partial.add(decl.name);
  const count = st.ctx.namer.fresh(`${decl.name}_length`);
  st.body.push({ k: "def", name: count, value: decl.length, op: null, args: [], assign: false, source: decl.source });
  st.env.set(length, count);
}

/** Does `name` hold one value from the top level on: not made inside, not a loop's counter or header? */
function knownAtTop(st: Stager, name: string): boolean {
  if (st.counters.has(name)) return false;
  let inside = false;
  for (const body of [...st.outer.slice(1), st.body]) forEachDef(body, (d) => (inside ||= d.name === name));
  if (inside) return false;
  const top = st.outer[0].find((s) => (s.k === "def" || s.k === "let") && s.name === name);
  if (top?.k === "def") return !top.mutable && !top.assign;
  return top?.k !== "let" || !top.hoisted;
}

/**
 * At the end of a loop iteration or a branch: binds each array variable of `canonical` (the
 * bindings before) to its name again, the arrays moving between names in one Rebind:
 *   u ↦ next, next ↦ u                          →   [u, next] = [next, u]
 *   h ↦ h_1 (a new array; h's old one unread)   →   [h, h_1] = [h_1, h]   (h_1 reused next time)
 */
export function rebindArrays(st: Stager, canonical: ReadonlyMap<ts.Symbol, string | undefined>, source: ts.Node): void {
  const names: string[] = [];
  const from: string[] = [];
  const kept = new Map<string, ts.Symbol>();
  const moved: [ts.Symbol, string][] = [];
  for (const [symbol, was] of canonical) {
    if (was === undefined || !st.localArrays.has(was)) continue;
    const now = st.env.get(symbol)!;
    if (now === was) kept.set(was, symbol);
    else moved.push([symbol, was]);
  }
  if (moved.length === 0) return;
  const grown = moved.find(([symbol, was]) => st.growable.has(was) || st.growable.has(st.env.get(symbol)!));
  // w = xs.slice(i, i + 2) in the loop: an array as long as xs, its length counted (declarePart).
  const part = moved.find(([symbol]) => st.partial.has(st.env.get(symbol)!));
  if (part) throw refuse("partRebound", source, { name: part[0].name });
  if (grown) throw refuse("arrayRebindForm", source, { name: grown[0].name });
  const sources = new Map<string, ts.Symbol>();
  for (const [symbol, was] of moved) {
    const now = st.env.get(symbol)!;
    const other = sources.get(now) ?? kept.get(now);
    if (other) throw refuse("arraysAliased", source, { a: symbol.name, b: other.name });
    sources.set(now, symbol);
    names.push(was);
    from.push(now);
  }
  // The arrays no variable holds any more go to the names the moved arrays leave: a new array's
  // name (h_1) takes the old array of h, to be filled again in the next iteration.
  const freed = names.filter((n) => !from.includes(n));
  const left = from.filter((n) => !names.includes(n));
  names.push(...left);
  from.push(...freed);
  st.body.push({ k: "rebind", names, from, source });
  for (const [symbol, was] of moved) st.env.set(symbol, was);
}

/**
 * After staging: an array a Rebind moves is not returned (its name would hold another array when
 * the function returns), and no array made before a loop takes its length from one whose arrays
 * may differ in length (the length was read in the loop, where the name may hold another array).
 */
export function checkRebinds(st: Stager): void {
  const moved = reboundArrays(st.body);
  if (moved.size === 0) return;
  const returned = st.outputs ? st.outputs.map((o) => o.name) : [st.result];
  if (returned.some((n) => moved.has(n))) throw refuse("arrayReturnedRebound", st.fn);
  const decls = new Map<string, ArrayDecl>();
  forEachArray(st.body, (a) => decls.set(a.name, a));
  const uneven = new Set<string>();
  // (per cycle of the permutation: [a, a2, b, b2] = [a2, a, b2, b] moves a and a2 among
  // themselves, b and b2 among themselves, and each pair may have its own length)
  forEachRebind(st.body, (r) => {
    for (const cycle of cyclesOf(r)) {
      const [first, ...rest] = cycle.map((n) => lengthOf(decls, n));
      if (rest.some((l) => !sameExpr(l, first))) cycle.forEach((n) => uneven.add(n));
    }
  });
  for (const a of decls.values()) {
    if (!st.hoisted.has(a.name)) continue;
    const from = [...refsOf(a.length)].find((n) => uneven.has(n));
    if (from !== undefined) throw refuse("arrayLengthInLoop", a.source, { name: `${from}.length` });
  }
}

/** The cycles of a Rebind's permutation (names[i] takes what from[i] held): [[a, a2], [b, b2]]. */
function cyclesOf(r: Rebind): string[][] {
  const fromOf = new Map(r.names.map((n, i) => [n, r.from[i]]));
  const seen = new Set<string>();
  const cycles: string[][] = [];
  for (const start of r.names) {
    const cycle: string[] = [];
    for (let n: string | undefined = start; n !== undefined && !seen.has(n); n = fromOf.get(n)) {
      seen.add(n);
      cycle.push(n);
    }
    if (cycle.length) cycles.push(cycle);
  }
  return cycles;
}

/** An array's length in terms of what made it: u of `u0.slice()` → `u0.length`; next of `new Array(n)` → n. */
function lengthOf(decls: ReadonlyMap<string, ArrayDecl>, name: string, depth = 0): Expr {
  const length = decls.get(name)?.length;
  if (!length) return { k: "length", array: name };
  if (length.k === "length" && !length.prop && !length.at && depth < 16)
    return lengthOf(decls, length.array, depth + 1);
  return length;
}
