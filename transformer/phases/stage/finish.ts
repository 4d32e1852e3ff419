// The staged body's last touches, once the whole function is staged: the values a branch defines
// declared before it, tests over constants decided, reads of a local array that still changes
// marked to be saved rather than recomputed.
//
//   if (c) { const t = x * 2; }    →   let t = 0;  if (c) { t = x * 2; }
//   if (0.5 < 0.7) {A} else {B}    →   A

import { type Expr, type Stmt, forEachDef, ref, refsOf } from "../../ir/ir.js";
import { hasImpureCall } from "./expressions.js";
import { printExpr } from "../../ir/print.js";
import { boolOf, simplify } from "../../ir/simplify.js";

/**
 * Values defined inside branches are block-scoped, but the backward pass (a separate `if`) reads
 * them: each top-level `if` gets `let t = 0;` before it for the values its branches define.
 */
export function hoistBranchValues(body: Stmt[]): Stmt[] {
  return body.flatMap((s) => {
    if (s.k === "loop") return [{ ...s, body: hoistBranchValues(s.body) }];
    if (s.k !== "if") return [s];
    const lets: Stmt[] = [];
    const visit = (stmts: Stmt[]) =>
      stmts.forEach((t) => {
        if (t.k === "def" && !t.assign) {
          t.assign = true;
          lets.push({ k: "let", name: t.name, hoisted: true, type: t.type });
        } else if (t.k === "if") {
          visit(t.then);
          visit(t.else);
        } else if (t.k === "let") {
          // (a join inside a branch, declared before the outer `if`: assigned where it is read,
          // which TypeScript cannot see across the two: `let h_1 = 0`, `let m_1!: Matrix`)
          lets.push({ ...t, hoisted: true });
        }
      });
    visit(s.then);
    visit(s.else);
    const strip = (stmts: Stmt[]): Stmt[] =>
      stmts
        .filter((t) => t.k !== "let")
        .map((t) =>
          t.k === "if"
            ? { ...t, then: strip(t.then), else: strip(t.else) }
            : t.k === "loop"
              ? { ...t, body: hoistBranchValues(t.body) }
              : t,
        );
    return [...lets, { ...s, then: strip(s.then), else: strip(s.else) }];
  });
}

/**
 * if (0.5 < 0.7) {A} else {B} → A: a test over constants is decided here, once, so the forward
 * and backward passes (which simplify tests) agree on the branch and on where its values live.
 */
export function foldConstantBranches(body: readonly Stmt[]): Stmt[] {
  return body.flatMap((s): Stmt[] => {
    if (s.k === "if") {
      const then = foldConstantBranches(s.then);
      const otherwise = foldConstantBranches(s.else);
      const known = boolOf(simplify(s.test));
      if (known !== undefined) return known ? then : otherwise;
      return [{ ...s, then, else: otherwise }];
    }
    if (s.k === "loop")
      return [{ ...s, body: foldConstantBranches(s.body), pre: s.pre && foldConstantBranches(s.pre) }];
    return [s];
  });
}

/**
 *   const qc_j = qc[j];  const qc_j_2 = qc[j];  →  const qc_j = qc[j];  const qc_j_2 = qc_j;
 * The same element read twice with nothing between that could change it (`qc[j] * qc[j]`) is one
 * value: saved once, where each read of an array that still changes is saved (markSnapshots). Only
 * a run of defs counts: any other statement, a reassignment or a call that may do something else
 * than compute (a function's but Math's pure ones, Math.random) ends it.
 */
export function shareRepeatedReads(body: readonly Stmt[]): void {
  const reads = new Map<string, string>();
  for (const s of body) {
    if (s.k === "loop") shareRepeatedReads(s.body);
    else if (s.k === "if") (shareRepeatedReads(s.then), shareRepeatedReads(s.else));
    if (s.k !== "def" || s.assign || s.mutable || s.overwrite || hasImpureCall(s.value)) {
      reads.clear();
      continue;
    }
    if (s.value.k !== "elem" || s.op?.kind !== "scalar" || s.op.rule !== "copy") continue;
    const key = printExpr(s.value);
    const first = reads.get(key);
    if (first === undefined) reads.set(key, s.name);
    else ((s.value = ref(first)), (s.args = [ref(first)]));
  }
}

/**
 * A value computed from a local array's element (a test, Math.floor(h[j])) is saved, not
 * recomputed, unless the array is final by then (written only by statements before).
 */
export function markSnapshots(body: readonly Stmt[], localArrays: ReadonlySet<string>): void {
  const changing = new Set([...localArrays].filter((a) => !finalWhenRead(body, a)));
  const resized = resizedArrays(body);
  forEachDef(body, (d) => [...contentReads(d.value, resized)].some((n) => changing.has(n)) && (d.snapshot = true));
}

/**
 * The names `e` reads, but for the length of an array that keeps its length (`centered.length`):
 * writing elements does not change it, so a value of it is recomputed, not saved per iteration.
 */
function contentReads(e: Expr, resized: ReadonlySet<string>): Set<string> {
  if (e.k === "length" && !resized.has(e.array)) return e.at ? refsOf(e.at) : new Set();
  if (e.k === "binary") return new Set([...contentReads(e.left, resized), ...contentReads(e.right, resized)]);
  if (e.k === "unary") return contentReads(e.arg, resized);
  return refsOf(e);
}

/**
 * Local arrays whose length may change: grown by push, changing places with another, or made anew
 * in a loop (each iteration's may be another length).
 */
function resizedArrays(body: readonly Stmt[], inLoop = false, out = new Set<string>()): Set<string> {
  for (const s of body) {
    if (s.k === "array" && (s.growable || inLoop)) out.add(s.name);
    else if (s.k === "rebind") s.names.forEach((n) => out.add(n));
    else if (s.k === "loop") resizedArrays(s.body, true, out);
    else if (s.k === "if") (resizedArrays(s.then, inLoop, out), resizedArrays(s.else, inLoop, out));
  }
  return out;
}

/**
 * Is local array `a` read only by top-level statements after every one that writes it? Then it
 * holds its final values whenever it is read (the backward pass never writes it), and a read can
 * be recomputed: the usual case of an array filled by one loop and read by the next ones.
 */
function finalWhenRead(body: readonly Stmt[], a: string): boolean {
  const writes = (s: Stmt): boolean =>
    (s.k === "store" && s.array === a) ||
    // [u, next] = [next, u]: u holds other elements from then on, as if written.
    (s.k === "rebind" && s.names.includes(a)) ||
    (s.k === "if" && (s.then.some(writes) || s.else.some(writes))) ||
    (s.k === "loop" && s.body.some(writes));
  // Every read of an element is a def (a snapshot, a captured test, an opaque value).
  const reads = (s: Stmt): boolean => {
    let found = false;
    forEachDef([s], (d) => (found ||= refsOf(d.value).has(a)));
    return found;
  };
  const lastWrite = body.reduce((last, s, i) => (writes(s) ? i : last), -1);
  const firstRead = body.findIndex(reads);
  return firstRead < 0 || firstRead > lastWrite;
}
