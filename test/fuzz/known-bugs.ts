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
//
// Found by the rows for helpers tsgrad inlines (an out-parameter written, an array or an object
// returned; programs.ts Inline, InlineCall), and fixed (ed1efad), each with its regression test:
// an inlined helper called in a branch (an arm of an if, a clause of a switch, what follows a
// break, continue or return, the body of `while (k++ < n)`) with another array or variable for a
// parameter than an earlier call gave it declared a variable named after it at the join, `let x:
// number; ... x = y;`, shadowing the parameter x (the module did not load, or f_grad read x[0] of
// undefined); an inlined helper assigning a number parameter in a loop wrote the caller's variable
// given it (a wrong value and gradient: f(0.5) = 10, vjp's value 18, f_grad 36 for 20); a field of
// a number literal's type (`sd: 0.5`, `sd: a && 0.5`) refused; an arrow helper returning an object
// from an expression body refused; a var counter of an inlined helper read after its loop undefined
// in f_forward. The printer still notes "inline-rebound-in-block", "inline-param-assigned-in-loop",
// "inline-literal-field", "inline-expression-body" and "inline-helper-var-counter" where it prints
// what could trigger them (supersets), should they come back.
//
// Found by the same rows at 7781cfe, and fixed (3936efb, 190508d), each with its regression test:
// a local array written before the call, given to an inlined helper that passes it on to a
// @differentiable helper, was refused as changed after the call (positions inside the helper's
// body were compared with the function's); and f_grad never returned for a loop that may end early
// (a break, `while (k++ < n && c)`) kept in the forward pass for what it writes (an array the rest
// reads, or one only a reduce without an initial value keeps): the forward pruning of ed1efad
// dropped the flag the loop's test reads, `while (!done) { ... }` with nothing assigning done. The
// fuzzer hung on it (its watchdog covers compiles only): the modules it loads now count their
// loops' iterations (compile.ts guardLoops), so such a hang is a failure it reports and shrinks.
// The printer still notes "inline-passes-on-local", and "store-in-loop-that-may-end" for a loop
// that may end early writing an element, where they could come back.
//
// Found by the rows for arrays made in loops and branches and let arrays that change places
// (programs.ts Stmt newArray anywhere, buffers, rebind, replace, steps; Inline kind map), and fixed,
// each with its regression test in test/array-rebinding.test.ts:
//   - arrays that change places in a loop, read before it and not after, or a let array given a
//     new one after a loop that may return: f_grad threw at `[dv, du] = [du, dv]`, dv never
//     declared (the activity analysis now takes arrays that change places as useful together);
//     the printer still notes "moved-then-unread" (a superset);
//   - a wrong gradient: a let array iterated by `for (const [i, e] of u.entries())` (or
//     `u.forEach`) whose body gives u another array: JavaScript goes on over the array it started
//     with, f_grad read the elements through u. Now refused at the assignment (TS94001), and the
//     printer no longer gives an array another while a loop goes over it;
//   - a wrong gradient, found by hand while writing the rows: an array made in a loop by a map, a
//     copy or a literal, given to a @differentiable helper in the same iteration: the helper's
//     pullback read the array as the backward pass found it (7ff946c inlines the helper there);
//     the printer still notes "made-in-loop-to-helper".
//
// Found by the same rows and fixed: a module table copied with slice(), new Float64Array or
// Float64Array.from (here, or in a helper given it) was refused, and every read of the table with
// it (the printer still notes "table-copied").
//
// Also fixed: two sets of arrays of different lengths changing places at the end of one loop
// iteration, an array made in the loop with the length of one of them, was refused (lengths are
// now compared per cycle of the permutation; the printer still notes "uneven-rebind").
//
// And fixed: a helper tsgrad writes out at the call (given an array that changes) in the arguments
// of a call of the same helper, `h0(u, h0(u, x))`, or `h0(u, h1(u))` with h1 inlining the map
// helper h0, was refused: the inner call dropped the outer call's binding of the helper's array
// parameter (the printer still notes "written-out-in-inline-arguments").
//
// Found by the same campaign, older than those rows, and fixed: an inlined helper returning a
// field of a union of number literals' type, `{ mean: a, sd: a && 0.5 }` (0 | 0.5) or
// `sd: c ? 0.5 : 1.5`, was refused (TS94006) where `sd: 0.5` was taken since ed1efad (the printer
// still notes "inline-literal-union-field").
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
