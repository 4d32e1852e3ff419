// ADBench GMM and BA (examples/adbench/), compiled through the transformer: the objectives and
// tsgrad's gradients against the reference outputs in data/adbench/reference under ADBench's
// measure |x − y| / max(1, |x| + |y|) ≤ 1e-8, and the hand-written gradients against both.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import tsgradTransformer from "../transformer/hosts/tsc.js";
import { compilerOptions, createProgram, root } from "./harness.js";
import type * as GmmModule from "../examples/adbench/gmm.js";
import type * as GmmHandModule from "../examples/adbench/gmm-hand.js";
import type * as BaModule from "../examples/adbench/ba.js";
import type * as BaHandModule from "../examples/adbench/ba-hand.js";
import {
  adbenchError,
  maxAdbenchError,
  readBa,
  readBaReference,
  readGmm,
  readGmmReference,
  type BaInput,
} from "../examples/adbench/io.js";

const data = resolve(root, "data", "adbench");
const examples = join(root, "examples", "adbench");
const TOLERANCE = 1e-8; // ADBench's own default

/** Compiles examples/adbench/*.ts together through the transformer into a fresh folder. */
function compileExamples(): string {
  const outDir = join(root, ".tsgrad-tmp", `adbench_${randomUUID().slice(0, 8)}`);
  const files = readdirSync(examples)
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(examples, f));
  const program = createProgram(files, { ...compilerOptions, types: ["node"], rootDir: examples, outDir });
  const diagnostics: ts.Diagnostic[] = [...ts.getPreEmitDiagnostics(program)];
  program.emit(undefined, undefined, undefined, false, {
    before: [tsgradTransformer(program, {}, { addDiagnostic: (d) => diagnostics.push(d) })],
  });
  const errors = diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length)
    throw new Error(
      ts.formatDiagnostics(errors, {
        getCanonicalFileName: (f) => f,
        getCurrentDirectory: () => root,
        getNewLine: () => "\n",
      }),
    );
  return outDir;
}

type Generated = Record<string, any>;
let gmm: typeof GmmModule & Generated;
let gmmHand: typeof GmmHandModule;
let ba: typeof BaModule & Generated;
let baHand: typeof BaHandModule;
let runtime: typeof import("../runtime/index.js");

let out: string;

beforeAll(async () => {
  out = compileExamples();
  const load = (name: string) => import(pathToFileURL(join(out, name)).href);
  [gmm, gmmHand, ba, baHand, runtime] = await Promise.all([
    load("gmm.js"),
    load("gmm-hand.js"),
    load("ba.js"),
    load("ba-hand.js"),
    import("tsgrad" as string),
  ]);
});

afterAll(() => rmSync(out, { recursive: true, force: true }));

/** The first index where two integer arrays differ, or -1 (toEqual on a million entries is slow). */
function firstDifference(a: Int32Array, b: Int32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** Asserts every entry within ADBench's tolerance, naming the worst one. */
function expectMatch(
  what: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance = TOLERANCE,
): void {
  const { error, index } = maxAdbenchError(actual, expected);
  expect(error, `${what}: entry ${index}, ${actual[index]} vs ${expected[index]}`).toBeLessThanOrEqual(tolerance);
}

describe("GMM", () => {
  // Every 1k and 10k instance; the 2.5M ones are the benchmark's (their tape does not fit a test).
  const instances = [
    "test",
    "1k/gmm_d2_K5",
    "1k/gmm_d2_K10",
    "1k/gmm_d10_K5",
    "1k/gmm_d10_K25",
    "1k/gmm_d20_K10",
    "1k/gmm_d64_K10",
    "10k/gmm_d2_K5",
    "10k/gmm_d10_K5",
  ];

  for (const name of instances) {
    it(`${name}: objective and gradient match the reference; the hand-written gradient matches tsgrad's`, () => {
      const g = readGmm(join(data, "gmm", name === "test" ? "test.txt" : `${name}.txt`));
      const ref = readGmmReference(join(data, "reference", "gmm", name === "test" ? "gmm_test" : name));
      const stackBefore = runtime.saved.size;

      expect(adbenchError(gmm.gmmValue(g), ref.objective)).toBeLessThanOrEqual(TOLERANCE);
      const tsgradGradient = gmm.gmmGradient(g);
      expect(runtime.saved.size, "the gradient leaves the saved-value stack as it found it").toBe(stackBefore);
      expectMatch("tsgrad's gradient vs the reference", tsgradGradient, ref.gradient);

      const ws = gmmHand.makeGmmWorkspace(g.d, g.K);
      const hand = new Float64Array(ref.gradient.length);
      const handValue = gmmHand.gmmGradientHand(
        g.alphas,
        g.means,
        g.icf,
        g.x,
        g.d,
        g.K,
        g.n,
        g.wishartGamma,
        g.wishartM,
        ws,
        hand,
      );
      expect(adbenchError(handValue, ref.objective)).toBeLessThanOrEqual(TOLERANCE);
      expect(
        adbenchError(
          gmmHand.gmmObjectiveHand(g.alphas, g.means, g.icf, g.x, g.d, g.K, g.n, g.wishartGamma, g.wishartM, ws),
          ref.objective,
        ),
      ).toBeLessThanOrEqual(TOLERANCE);
      expectMatch("the hand-written gradient vs the reference", hand, ref.gradient);
      expectMatch("the hand-written gradient vs tsgrad's", hand, tsgradGradient, 1e-11);
    });
  }

  it("test.txt: ADBench's unit-test objective 8.07380408004975791 to the last digit or two; vjp agrees with grad", () => {
    const g = readGmm(join(data, "gmm", "test.txt"));
    expect(gmm.gmmValue(g)).toBeCloseTo(8.07380408004975791, 14);
    const args = [g.alphas, g.means, g.icf, g.x, g.d, g.K, g.n, g.wishartGamma, g.wishartM] as const;
    const { value, backward } = runtime.vjp(gmm.gmmObjective)(...args);
    expect(value).toBe(gmm.gmmObjective(...args));
    const [dalphas, dmeans, dicf] = backward(1);
    const [ga, gm, gi] = runtime.grad(gmm.gmmObjective)(...args);
    expect([dalphas, dmeans, dicf]).toEqual([ga, gm, gi]);
  });

  it("the 2.5M files hold one point that stands for all n; the objective uses it n times", () => {
    const g = readGmm(join(data, "gmm", "2.5M", "gmm_d2_K5.txt"));
    expect([g.d, g.K, g.n, g.x.length]).toEqual([2, 5, 2_500_000, 2]);
    // n copies of one point: the same as a file of 1,000 copies with n = 1,000, scaled where n enters.
    const small = { ...g, n: 1000 };
    const handWs = gmmHand.makeGmmWorkspace(2, 5);
    const expanded = { ...small, x: new Float64Array(2000).map((_, i) => g.x[i % 2]) };
    expect(gmm.gmmValue(small)).toBe(gmm.gmmValue(expanded));
    expect(
      gmmHand.gmmObjectiveHand(expanded.alphas, expanded.means, expanded.icf, expanded.x, 2, 5, 1000, 1, 0, handWs),
    ).toBeCloseTo(gmm.gmmValue(small), 9);
  });

  it("the Wishart constant's log-gamma is exact at multiples of 1/2", () => {
    expect(gmm.logGammaHalfInteger(1)).toBe(0);
    expect(gmm.logGammaHalfInteger(5)).toBeCloseTo(Math.log(24), 14);
    expect(gmm.logGammaHalfInteger(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 15);
    expect(gmm.logGammaHalfInteger(3.5)).toBeCloseTo(Math.log((15 / 8) * Math.sqrt(Math.PI)), 14);
    expect(() => gmm.logGammaHalfInteger(1.25)).toThrow(/multiple of 1\/2/);
  });
});

describe("BA", () => {
  for (const [file, refFile] of [
    ["test.txt", "ba_test_block_Manual.txt"],
    ["ba1_n49_m7776_p31843.txt", "ba_block_Manual.txt"],
  ]) {
    it(`${file}: residuals, the Jacobian in ADBench's CSR layout, and the hand-written blocks`, () => {
      const input = readBa(join(data, "ba", file));
      const ref = readBaReference(join(data, "reference", "ba", refFile));
      const { n, m, p } = input;

      // Residuals: every observation has the reference's (the instance is one camera, point, weight and feature, copied).
      const residuals = ba.baResiduals(input);
      const hand = baHand.baResidualsHand(input, new Float64Array(3 * p));
      const expected = new Float64Array(3 * p);
      for (let i = 0; i < p; i++) (expected.set(ref.residual, 2 * i), (expected[2 * p + i] = ref.weightError));
      expectMatch("residuals", residuals, expected);
      expectMatch("hand-written residuals", hand, expected);

      // The Jacobian: 3p rows, 11n + 3m + p columns, 15 nonzeros per reprojection row, then one.
      const J = ba.baJacobian(input);
      expect([J.nrows, J.ncols, J.rows.length, J.vals.length]).toEqual([3 * p, 11 * n + 3 * m + p, 3 * p + 1, 31 * p]);
      const expectedRows = new Int32Array(3 * p + 1);
      const expectedCols = new Int32Array(31 * p);
      const expectedVals = new Float64Array(31 * p);
      for (let i = 0; i < p; i++) {
        for (let r = 0; r < 2; r++) {
          expectedRows[2 * i + r + 1] = 30 * i + 15 * (r + 1);
          for (let j = 0; j < 15; j++) {
            const at = 30 * i + 15 * r + j;
            expectedVals[at] = ref.block[r][j];
            expectedCols[at] = j < 11 ? 11 * (i % n) + j : j < 14 ? 11 * n + 3 * (i % m) + j - 11 : 11 * n + 3 * m + i;
          }
        }
        expectedRows[2 * p + i + 1] = 30 * p + i + 1;
        expectedVals[30 * p + i] = ref.weightErrorGrad;
        expectedCols[30 * p + i] = 11 * n + 3 * m + i;
      }
      expect(firstDifference(J.rows, expectedRows), "rows").toBe(-1);
      expect(firstDifference(J.cols, expectedCols), "cols").toBe(-1);
      expectMatch("tsgrad's Jacobian", J.vals, expectedVals);
      expectMatch("the hand-written Jacobian", ba.baJacobian(input, baHand.baBlockHand).vals, expectedVals);
    });
  }

  it("the hand-written block matches tsgrad's at random cameras and points, and at rotation 0 (the first-order branch)", () => {
    const input = readBa(join(data, "ba", "test.txt"));
    const tsgradBlock = new Float64Array(30);
    const handBlock = new Float64Array(30);
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
    for (let trial = 0; trial < 50; trial++) {
      const cam = input.cams.subarray(0, 11);
      for (let j = 0; j < 11; j++)
        cam[j] = [
          random(),
          random(),
          random(),
          3 * random(),
          3 * random(),
          -10 + random(),
          200 + 50 * random(),
          random(),
          random(),
          0.1 * random(),
          0.01 * random(),
        ][j];
      if (trial % 5 === 0) cam.fill(0, 0, 3); // θ² = 0 exactly
      input.points.set([random(), random(), 2 + random()], 0);
      input.weights[0] = 0.5 + random() / 4;
      ba.baBlock(input, 0, tsgradBlock);
      baHand.baBlockHand(input, 0, handBlock);
      expectMatch(`trial ${trial}`, handBlock, tsgradBlock, 1e-12);
    }
  });

  it("at rotation 0, the first-order branch's derivatives match central differences (which step into the full formula)", () => {
    const input = readBa(join(data, "ba", "test.txt"));
    const args = [
      0,
      0,
      0,
      ...input.cams.subarray(3, 11),
      ...input.points.subarray(0, 3),
      input.weights[0],
      input.features[0],
      input.features[1],
      0,
    ] as Parameters<typeof ba.baReprojectionError>;
    for (const coord of [0, 1]) {
      args[17] = coord;
      const g = runtime.grad(ba.baReprojectionError)(...args);
      for (let j = 0; j < 3; j++) {
        const h = 1e-6;
        args[j] = h;
        const plus = ba.baReprojectionError(...args);
        args[j] = -h;
        const minus = ba.baReprojectionError(...args);
        args[j] = 0;
        expect(adbenchError(g[j], (plus - minus) / (2 * h))).toBeLessThanOrEqual(1e-6);
      }
    }
  });
});
