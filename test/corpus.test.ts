// The corpus (corpus/*.ts): numeric code written in the styles of well-known JavaScript and
// TypeScript libraries, each function tagged @differentiable whether or not tsgrad takes it today.
// The hard rule: every function tsgrad accepts has a gradient that matches Ridders' extrapolated
// finite differences to 1e-8 (relative, scaled by max(1, |fd|)) at each of its cases. The floor on
// the accepted count keeps what the language has gained; `npm run corpus` prints the full table.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rmSync } from "node:fs";
import tsgradTransformer from "../transformer/hosts/tsc.js";
import { type CorpusResult, describeWrong, report, ridders, runCorpus, summarize } from "../scripts/corpus-lib.mjs";

// The number of corpus functions tsgrad accepts today. When the language grows and `npm run
// corpus` reports more, raise this to the new count, so that no later change loses them again.
const ACCEPTED_FLOOR = 170;

describe("Ridders' extrapolation (the oracle)", () => {
  it("differentiates smooth functions to about 1e-12", () => {
    expect(Math.abs(ridders(Math.exp, 1).value - Math.E)).toBeLessThan(1e-12);
    expect(Math.abs(ridders(Math.sin, 0.7).value - Math.cos(0.7))).toBeLessThan(1e-12);
    expect(Math.abs(ridders((x) => Math.log(x), 250).value - 1 / 250)).toBeLessThan(1e-14);
    // A kink 0.8 from x = 40, within the first step's reach: smaller first steps find the slope.
    expect(Math.abs(ridders((x) => Math.abs(x - 39.2) * x, 40).value - 40.8)).toBeLessThan(1e-9);
  });
});

describe("the corpus", () => {
  let result: CorpusResult;
  beforeAll(async () => {
    result = await runCorpus(tsgradTransformer);
  }, 120_000);
  afterAll(() => {
    if (result) rmSync(result.outDir, { recursive: true, force: true });
  });

  it("has at least 64 functions, each with cases; no type errors, no transformer crashes", () => {
    expect(result.functions.length).toBeGreaterThanOrEqual(64);
    expect(result.problems).toEqual([]);
  });

  it("every accepted function's gradient matches Ridders within 1e-8 at every case", () => {
    const { wrong } = summarize(result);
    expect(wrong.map(describeWrong)).toEqual([]);
  });

  it(`accepts at least ${ACCEPTED_FLOOR} functions`, () => {
    const { accepted } = summarize(result);
    expect(accepted, report(result)).toBeGreaterThanOrEqual(ACCEPTED_FLOOR);
  });
});
