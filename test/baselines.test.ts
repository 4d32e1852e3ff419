// Golden files: the generated code of each seed example, exactly as `tsgrad print` shows it,
// committed under test/baselines/ and reviewed like source. A change in generated code shows up
// as a diff here. To accept a reviewed change: UPDATE_BASELINES=1 npx vitest run test/baselines.test.ts

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { format } from "../transformer/hosts/format.js";
import { generatedText } from "../transformer/text.js";
import type { Stage } from "../transformer/pipeline.js";
import { compilerOptions, createProgram, root } from "./harness.js";

const seedFile = join(root, "examples", "seed.ts");
const loopsFile = join(root, "examples", "loops.ts");
const recursionFile = join(root, "examples", "recursion.ts");
const program = createProgram([seedFile, loopsFile, recursionFile], compilerOptions);
const update = process.env.UPDATE_BASELINES === "1";

async function baseline(fn: string, stage: Stage, name: string, file = seedFile): Promise<void> {
  const { text, diagnostics } = generatedText(program.getSourceFile(file)!, program, { fn, stage });
  expect(diagnostics).toEqual([]);
  const actual = await format(text);
  const path = join(root, "test", "baselines", name);
  if (update) writeFileSync(path, actual);
  expect(existsSync(path), `missing baseline ${name}; create it with UPDATE_BASELINES=1`).toBe(true);
  expect(actual).toBe(readFileSync(path, "utf8"));
}

describe("generated code baselines (test/baselines/)", () => {
  for (const fn of ["multiply", "addThenMultiply", "max", "neuron", "staged", "circuit"]) {
    it(`${fn}: f_grad, f_forward, f_backward`, () => baseline(fn, "final", `seed.${fn}.ts`));
  }
  for (const fn of ["newtonSqrt", "expSeries", "logisticMap", "springEnergy", "totalPaid"]) {
    it(`loops ${fn}: f_grad, f_forward, f_backward`, () => baseline(fn, "final", `loops.${fn}.ts`, loopsFile));
  }
  it("recursion powRec: calls through powRec_forward and powRec_backward", () =>
    baseline("powRec", "final", "recursion.powRec.ts", recursionFile));
  it("staged: the staged forward pass", () => baseline("staged", "staged", "seed.staged.stage-staged.ts"));
  it("staged: the raw reverse pass before clean-up", () =>
    baseline("staged", "reverse", "seed.staged.stage-reverse.ts"));

  it("is deterministic: the same input gives byte-identical output", async () => {
    const again = createProgram([seedFile], compilerOptions);
    const a = await format(generatedText(program.getSourceFile(seedFile)!, program).text);
    const b = await format(generatedText(again.getSourceFile(seedFile)!, again).text);
    expect(a).toBe(b);
  });
});
