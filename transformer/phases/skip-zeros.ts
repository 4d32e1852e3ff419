// Skips the rest of a backward iteration whose gradient is zero, as hand-written backprop skips a
// unit the ReLU switched off. Once a gradient that a branch may leave at 0 (a ReLU, a max, a kink)
// is final in an iteration, and everything left in the iteration only adds multiples of it
// (directly, or through gradients copied from it), none of that changes a number when it is 0, so
// it runs under `if (dz !== 0)`:
//
//   let dz_1 = 0;                                  let dz_1 = 0;
//   if (max !== 0) {                               if (max !== 0) {
//     dz_1 += dmax;                                  dz_1 += dmax;
//   }                                              }
//   for (let c = d - 1; c >= 0; c--) {       →     if (dz_1 !== 0) {
//     dW1[c * h + j] += X[i * d + c] * dz_1;         for (...) dW1[c * h + j] += X[i * d + c] * dz_1;
//   }                                                let dz = dz_1;
//   let dz = dz_1;                                   db1[j] += dz;
//   db1[j] += dz;                                  }
//
// What is skipped adds 0 · v, which is 0 unless v is infinite or NaN; there the plain chain rule
// would add NaN, while the function's true derivative through a zero gradient is 0. Nothing that
// pops a saved value, resets a gradient or calls anything is ever skipped.

import { type BStmt, type Expr, type Stmt, num } from "../ir/ir.js";

/** Every backward loop, inner ones first, with its zero-gradient tail wrapped. */
export function skipZeroGradients(body: readonly BStmt[]): BStmt[] {
  return body.map((s): BStmt => {
    if (s.k === "if") return { ...s, then: skipZeroGradients(s.then), else: skipZeroGradients(s.else) };
    if (s.k !== "loop") return s;
    return { ...s, body: wrapTail(skipZeroGradients(s.body)) };
  });
}

/** The first point after which the iteration's remaining statements are all multiples of one gradient. */
function wrapTail(body: BStmt[]): BStmt[] {
  for (let at = 1; at < body.length; at++) {
    for (const adj of localGradients(body.slice(0, at))) {
      const rest = body.slice(at);
      const zero = new Set([adj]);
      if (!worthSkipping(rest) || !rest.every((s) => skippable(s, zero))) continue;
      const test: Expr = { k: "binary", op: "!==", left: { k: "ref", name: adj }, right: num(0) };
      return [
        ...body.slice(0, at),
        { k: "note", text: `nothing more flows back from this iteration when ${adj} is 0` },
        { k: "if", test, then: rest, else: [] },
      ];
    }
  }
  return body;
}

/**
 * Gradients the iteration declares 0 before a branch adds into them (`let dz_1 = 0; if (max !== 0)
 * dz_1 += dmax`): where a branch passes no gradient (a ReLU, a max, a kink), they often stay 0.
 */
function localGradients(prefix: readonly BStmt[]): string[] {
  return prefix.flatMap((s) => (s.k === "zero" ? [s.adj] : []));
}

/** Work enough to pay for the test: a loop, or two lines adding into gradients declared before. */
function worthSkipping(rest: readonly BStmt[]): boolean {
  return rest.some((s) => s.k === "loop") || rest.filter((s) => s.k === "acc" && !s.declare).length >= 2;
}

/**
 * Does `s` change nothing when every gradient in `zero` is 0? A line declaring a gradient from a
 * multiple of them adds that gradient to `zero`.
 */
function skippable(s: BStmt, zero: Set<string>): boolean {
  switch (s.k) {
    case "comment":
    case "note":
      return true;
    case "recompute":
      // Values for this iteration's own lines; not one that assigns a name declared outside.
      return declaresOnly(s.body);
    case "acc":
    case "set":
      // `let dz = dz_1`: a new local, zero too; `let dh = W[j]` (a local gradient per unit of
      // dz): a new local, read only by what follows it here, skipped with it.
      if (s.declare && !s.index) {
        if (multipleOf(s.value, zero)) zero.add(s.adj);
        return true;
      }
      // `dW[j] += X[i] * dz` adds 0; a reset (`dh[j] = 0`) is real work.
      return s.k === "acc" && multipleOf(s.value, zero);
    case "if":
      return [...s.then, ...s.else].every((t) => skippable(t, new Set(zero)));
    case "loop":
      return s.before === undefined && s.body.every((t) => skippable(t, new Set(zero)));
    default:
      // pop, kernel, grads, zero, alloc: stack order, buffers and calls are never skipped.
      return false;
  }
}

/** Is `e` zero whenever the gradients in `zero` are: dz, x * dz, -(dz * y)? */
function multipleOf(e: Expr, zero: ReadonlySet<string>): boolean {
  if (e.k === "ref") return zero.has(e.name);
  if (e.k === "unary" && e.op === "-") return multipleOf(e.arg, zero);
  if (e.k === "binary" && e.op === "*") return multipleOf(e.left, zero) || multipleOf(e.right, zero);
  return false;
}

function declaresOnly(body: readonly Stmt[]): boolean {
  return body.every(
    (s) =>
      (s.k === "def" && !s.assign) || s.k === "let" || (s.k === "if" && declaresOnly(s.then) && declaresOnly(s.else)),
  );
}
