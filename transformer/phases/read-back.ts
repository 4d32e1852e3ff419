// Values a backward loop can read back from the array they were stored in, instead of saving
// them (save.ts): hand-written backprop reads `hidden[i * h + j]` where a tape would keep it.
//
//   for (let i = 0; i < n; i++)                    backward, iteration (i, j):
//     for (let j = 0; j < h; j++) {                  const max = hidden[i * h + j];
//       ...                                          (no saved.push(z) in the forward loop,
//       const max = Math.max(0, z);                   no saved.pop() here)
//       hidden[i * h + j] = max;
//     }
//
// Sound only when the element still holds that value when the backward iteration runs. The
// backward pass never writes a forward array, so it is enough that no other write ever reaches
// the element, which this proves from the code's shape alone:
//   - the store is the array's only write, an `=`, directly in the innermost loop's body (not in
//     a branch), after the value's definition in the same body;
//   - the array is made at the top level with length N (one loop) or N · H (two), is not returned;
//   - the loops around the store are `for (let i = 0; i < N; i++)` and, inside it,
//     `for (let j = 0; j < H; j++)`, with N and H fixed for the whole nest (and, for two loops,
//     whole numbers: lengths, integer literals, roundings, sums and products of them), and the index is i,
//     or i * H + j: a different element for every iteration, and inside the array.
// Anything else is saved or recomputed as before.

import {
  type ArrayDecl,
  type Def,
  type Expr,
  type Loop,
  type Stmt,
  type Store,
  forEachStore,
  refsOf,
  scalarOp,
} from "../ir/ir.js";
import { sameExpr as same } from "../ir/print.js";

/**
 * The values defined in some loop and stored as above, each with the def that reads it back:
 * max → `const max = hidden[i * h + j]`. `results`: names the function returns.
 */
export function reloadable(forward: readonly Stmt[], results: readonly string[]): Map<string, Def> {
  const out = new Map<string, Def>();
  const stores = new Map<string, number>();
  forEachStore(forward, (s) => stores.set(s.array, (stores.get(s.array) ?? 0) + 1));
  const arrays = new Map(forward.filter((s): s is ArrayDecl => s.k === "array").map((a) => [a.name, a]));
  const { fixed, constants } = fixedValues(forward);
  const visit = (body: readonly Stmt[], loops: Loop[]) => {
    body.forEach((s, at) => {
      if (s.k === "loop") visit(s.body, [...loops, s]);
      if (s.k !== "store" || s.add || s.value.k !== "ref" || loops.length === 0) return;
      const decl = arrays.get(s.array);
      if (!decl || stores.get(s.array) !== 1 || results.includes(s.array)) return;
      const value = s.value.name;
      const def = body.slice(0, at).find((d): d is Def => d.k === "def" && d.name === value);
      if (!def || def.assign || def.mutable || def.overwrite || def.type === "boolean") return;
      if (!coversOnce(s, decl, loops, fixed, constants)) return;
      out.set(value, {
        ...def,
        value: { k: "elem", array: s.array, index: s.index },
        op: scalarOp("copy"),
        args: [],
        note: undefined,
        snapshot: undefined,
      });
    });
  };
  visit(forward, []);
  return out;
}

/** Does the store write a distinct element of the array in each iteration of `loops`, all inside it? */
function coversOnce(
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
function fixedValues(forward: readonly Stmt[]): { fixed: (name: string) => boolean; constants: Map<string, Expr> } {
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
