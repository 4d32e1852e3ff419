// Bugs the fuzzer found in tsgrad that are not fixed yet. Each has a minimal regression test in
// test/fuzz.test.ts, kept as `it.fails` until the compiler is fixed; meanwhile the property skips
// programs with the construct that triggers it (so a fixed seed keeps testing everything else),
// and `npm run fuzz -- --all` includes them again.
//
// When a bug is fixed, its regression test starts to pass, `it.fails` reports that: turn it into
// `it` and delete the entry here.

import { programFeatures, type Program } from "./programs.js";

export interface KnownBug {
  /** The feature the printer notes (Printer.features) for a program that can trigger the bug. */
  feature: string;
  /** The title of its regression test in test/fuzz.test.ts. */
  test: string;
}

// Found and fixed so far, each with its regression test in test/fuzz.test.ts: a return of
// Math.max/min inside a loop assigned the function's own binding; a return under a constant test
// inside a loop lost its gradient; a loop under a constant test read its frame out of scope; a
// return of Math.max under a constant test in a loop declared f twice; y = Math.exp(y) in a
// branch before a loop that updates y gave e^y + 1 for e^y; a local array read only by a loop's
// start (`for (let i = u.length - 1; ...)`) was dropped from the forward pass (ReferenceError); an
// array created after an early return had no gradient array (now refused at its declaration); a
// variable reassigned in both branches of an if and written into an element in one stored a name
// the branch no longer defined (a wrong gradient: the branch join renamed defs, not element writes);
// a function returning an array it only adds into (`u[0] += x; return u;`) hung the compiler; with
// an object destructured in the parameter list, a loop carrying a variable (a later parameter, a
// join's value) or returning from nested loops was refused, TS94003 "could not resolve this name"
// (found by the object fuzzer; the printer still notes "list-destructuring-then-loop-write"); an
// element read at an index that moves a cursor, as the direct operand of Math.floor inside a larger
// value (`Math.floor(c[j++]) * x`, `switch (Math.floor(c[j++]))`), moved j twice in f_grad and
// f_forward, a wrong gradient and vjp value (found by the rows of issue 13 under heavier weights;
// the printer still notes "moved-index-in-floor").
//
// Found by the rows for arrays passed to helpers, unmarked helpers and array methods, and fixed: a
// table's reduce, map and entries() refused; an array after a block callback refused (its return
// taken for f's); a reduce callback returning its accumulator (a wrong gradient); Math.min(...xs)
// as a returned object's field (a wrong vjp).
//
// Fixed later: a table passed to an unmarked helper (refused), and array methods in a condition
// (refused) but a reduce with no initial value there.
//
// Open: a reduce with no initial value in a condition (refused), and xs.map(f).reduce(g, init)
// with an assignment in init (a wrong value, now refused), each noted by the printer where it
// prints the construct (programs.ts).
export const knownBugs: readonly KnownBug[] = [
  {
    feature: "array-method-in-condition",
    test: "reduce without an initial value in a condition: tsgrad compiles it",
  },
  {
    feature: "assignment-in-map-reduce-init",
    test: "xs.map(f).reduce(g, (a = 2)): f reads a as it was before the initial value's assignment",
  },
];

/** The known bug a program may trigger, if any. */
export function knownBugIn(program: Program): KnownBug | undefined {
  const features = programFeatures(program);
  return knownBugs.find((b) => features.has(b.feature));
}
