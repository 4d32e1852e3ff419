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
//   - the array is made at the top level with length N (one loop) or N · H (two), is not returned,
//     and never changes places with another (a Rebind);
//   - the loops around the store are `for (let i = 0; i < N; i++)` and, inside it,
//     `for (let j = 0; j < H; j++)`, with N and H fixed for the whole nest (and, for two loops,
//     whole numbers: lengths, integer literals, roundings, sums and products of them), and the index is i,
//     or i * H + j: a different element for every iteration, and inside the array.
// Anything else is saved or recomputed as before.

import { type ArrayDecl, type Def, type Loop, type Stmt, forEachStore, reboundArrays, scalarOp } from "../ir/ir.js";
import { coversOnce, fixedValues } from "../ir/extent.js";

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
  // An array that changes places with another (a Rebind) is written through both names.
  const moved = reboundArrays(forward);
  const visit = (body: readonly Stmt[], loops: Loop[]) => {
    body.forEach((s, at) => {
      if (s.k === "loop") visit(s.body, [...loops, s]);
      if (s.k !== "store" || s.add || s.value.k !== "ref" || loops.length === 0) return;
      const decl = arrays.get(s.array);
      if (!decl || decl.growable || stores.get(s.array) !== 1 || results.includes(s.array) || moved.has(s.array))
        return;
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
