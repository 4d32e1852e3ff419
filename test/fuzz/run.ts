// One fuzzing session, shared by test/fuzz.test.ts (fixed seed) and scripts/fuzz.mjs (fresh seed).
//
// Takes a seed, a number of programs and a compiler; gives pass, or the smallest failing program
// fast-check shrank to, printed as TypeScript with the seed and path that replay it.
//
// Two phases, so that finding a failure is never cut short by a clock: first every run until the
// first failure, without shrinking (endOnFailure); then that failure replayed from its path and
// shrunk, for at most `shrinkMs` (fast-check keeps the smallest failure found when time is up).

import fc from "fast-check";
import type { Compile } from "./compile.js";
import { emptyStats, gradientProperty, type CheckOptions, type Stats } from "./check.js";
import type { Sizes } from "./programs.js";

export interface FuzzOptions {
  seed: number;
  runs: number;
  compile: Compile;
  /** Time allowed for shrinking a failure (it compiles one candidate program per step). */
  shrinkMs: number;
  /** Replay one counterexample: the path fast-check printed with the seed. */
  path?: string;
  sizes?: Partial<Sizes>;
  check?: Partial<CheckOptions>;
  /** Options of `npm run fuzz` that the replay command must repeat (sizes, known bugs), e.g. " --large". */
  replayFlags?: string;
  /** Counts of the first phase, updated as it runs (for progress reports). */
  stats?: Stats;
}

export interface FuzzResult {
  failed: boolean;
  /** Empty when nothing failed; otherwise what failed, the minimal program, and how to replay it. */
  report: string;
  stats: Stats;
  seed: number;
}

export async function fuzz(o: FuzzOptions): Promise<FuzzResult> {
  const stats = o.stats ?? emptyStats();
  const property = gradientProperty(o.compile, stats, o.sizes, o.check);
  const found = await fc.check(property, { seed: o.seed, numRuns: o.runs, path: o.path, endOnFailure: true });
  if (!found.failed) return { failed: false, report: "", stats, seed: o.seed };
  if (found.counterexamplePath === null) {
    // too many programs without an accepted point: the generator or the oracle's limits are off
    return {
      failed: true,
      report: `fast-check gave up after ${found.numSkips} skipped programs (seed ${o.seed}): too few programs have a point where finite differences can be trusted`,
      stats,
      seed: o.seed,
    };
  }
  const shrunk = await fc.check(gradientProperty(o.compile, emptyStats(), o.sizes, o.check), {
    seed: o.seed,
    path: found.counterexamplePath,
    plugins: [fc.interruptAfterTimeLimit(o.shrinkMs)],
  });
  const best = shrunk.failed && shrunk.counterexamplePath !== null ? shrunk : found;
  const message = best.errorInstance instanceof Error ? best.errorInstance.message : String(best.errorInstance);
  const shrinkNote =
    best === shrunk
      ? `shrunk ${shrunk.numShrinks} times${shrunk.interrupted ? `, stopped after ${o.shrinkMs / 1000} s` : ""}`
      : "not shrunk";
  const report = [
    `tsgrad fuzz: a generated program fails (seed ${o.seed}, program ${found.numRuns} of ${o.runs}, ${shrinkNote})`,
    `replay it: npm run fuzz -- --seed ${o.seed} --path ${best.counterexamplePath}${o.replayFlags ?? ""}`,
    "",
    message,
  ].join("\n");
  return { failed: true, report, stats, seed: o.seed };
}
