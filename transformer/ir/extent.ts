// Where a loop's store lands in its array, proved from the code's shape: a different element in
// each iteration of the loops around it, every one inside the array. read-back.ts reads such
// values back instead of saving them; reverse.ts reads their gradients without a guard.
//
//   h = new Float64Array(n);      for (let i = 0; i < n; i++) h[i] = ...            → covers h once
//   hidden = new Float64Array(n * h);  for (i < n) for (j < h) hidden[i * h + j] = ...  → covers hidden once

import { type ArrayDecl, type Expr, type Loop, type Stmt, type Store, refsOf } from "./ir.js";
import { sameExpr as same } from "./print.js";

/** Does the store write a distinct element of the array in each iteration of `loops`, all inside it? */
export function coversOnce(
  store: Store,
  decl: ArrayDecl,
  loops: readonly Loop[],
  fixed: (name: string) => boolean,
  constants: ReadonlyMap<string, Expr>,
): boolean {
  const bounds = loops.map(upTo);
  if (bounds.some((b) => b === undefined || ![...refsOf(b.to)].every(fixed))) return false;
  if (loops.length === 1) {
    const [{ counter, to }] = bounds as Bound[];
    return isName(store.index, counter) && same(decl.length, to);
  }
  if (loops.length === 2) {
    // Whole numbers N and H: with H = 1.5, rows would overlap and i * H + j would not be an index.
    const [outer, inner] = bounds as Bound[];
    const rowMajor =
      isRowMajor(store.index, outer.counter, inner.counter, inner.to) && isProduct(decl.length, outer.to, inner.to);
    return rowMajor && whole(outer.to, constants) && whole(inner.to, constants);
  }
  return false;
}

const ROUNDING = new Set(["Math.floor", "Math.ceil", "Math.round", "Math.trunc"]);

/**
 * Provably a whole number: an integer literal, a length, a rounding (Math.floor, ...), or +, -, *
 * of them, through top-level constants.
 */
function whole(e: Expr, constants: ReadonlyMap<string, Expr>): boolean {
  switch (e.k) {
    case "num":
      return Number.isInteger(e.value);
    case "length":
      return true;
    case "ref": {
      const value = constants.get(e.name);
      return value !== undefined && whole(value, constants);
    }
    case "binary":
      return (e.op === "+" || e.op === "-" || e.op === "*") && whole(e.left, constants) && whole(e.right, constants);
    case "call":
      // NaN stays NaN (a loop up to it runs no iteration); an infinite length throws when made.
      return ROUNDING.has(e.callee);
    default:
      return false;
  }
}

interface Bound {
  counter: string;
  to: Expr;
}

/** `for (let i = 0; i < N; i++)` → i, N. */
function upTo(loop: Loop): Bound | undefined {
  const c = loop.counter;
  if (!c || c.step !== 1 || c.op !== "<" || c.from.k !== "num" || c.from.value !== 0 || loop.pre) return undefined;
  return { counter: c.name, to: c.to };
}

/** i * H + j, H * i + j, j + i * H or j + H * i. */
function isRowMajor(e: Expr, i: string, j: string, H: Expr): boolean {
  if (e.k !== "binary" || e.op !== "+") return false;
  const rowStart = (x: Expr) =>
    x.k === "binary" &&
    x.op === "*" &&
    ((isName(x.left, i) && same(x.right, H)) || (same(x.left, H) && isName(x.right, i)));
  return (rowStart(e.left) && isName(e.right, j)) || (isName(e.left, j) && rowStart(e.right));
}

/** N * H or H * N. */
function isProduct(e: Expr, N: Expr, H: Expr): boolean {
  return (
    e.k === "binary" && e.op === "*" && ((same(e.left, N) && same(e.right, H)) || (same(e.left, H) && same(e.right, N)))
  );
}

const isName = (e: Expr, name: string) => e.k === "ref" && e.name === name;

/**
 * Names that hold one value for the whole function: parameters (no def in the body) and top-level
 * constants (with their values); not a name a loop or a branch assigns.
 */
export function fixedValues(forward: readonly Stmt[]): {
  fixed: (name: string) => boolean;
  constants: Map<string, Expr>;
} {
  const defined = new Set<string>();
  const visit = (body: readonly Stmt[]) =>
    body.forEach((s) => {
      if (s.k === "def" || s.k === "let" || s.k === "array") defined.add(s.name);
      else if (s.k === "loop")
        (s.counter && defined.add(s.counter.name), s.count && defined.add(s.count), visit(s.body));
      else if (s.k === "if") (visit(s.then), visit(s.else));
    });
  visit(forward);
  const constants = new Map(
    forward.flatMap((s) =>
      s.k === "def" && !s.assign && !s.mutable && !s.overwrite ? [[s.name, s.value] as const] : [],
    ),
  );
  return { fixed: (name) => constants.has(name) || !defined.has(name), constants };
}
