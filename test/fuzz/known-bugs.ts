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

export const knownBugs: readonly KnownBug[] = [
  {
    feature: "return-max-min-in-loop",
    test: "a return of Math.max inside a loop: f_grad must not overwrite the function f",
  },
  {
    feature: "return-under-constant-condition-in-loop",
    test: "a return inside a loop under a constant condition: the gradient of what it returns",
  },
];

/** The known bug a program may trigger, if any. */
export function knownBugIn(program: Program): KnownBug | undefined {
  const features = programFeatures(program);
  return knownBugs.find((b) => features.has(b.feature));
}
