// Mutation check: the property-based suite (test/fuzz/) must fail when a derivative rule is wrong.
// Each case breaks one rule of runtime/rules/scalar.ts in process (restored afterwards), runs the
// fuzzer with a fixed seed, and expects it to report a gradient that disagrees with finite
// differences, on a program that uses the broken operation. This is what shows that the oracle
// has teeth: a suite that passes whatever the rules say would prove nothing.
//
// The transformer reads the rule table at compile time from the same module instance this file
// imports (vitest runs transformer/*.ts from source in this worker); the first test checks that,
// so a mutation cannot silently miss the compiler.

import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { scalarRules, type LocalGradient, type ScalarRule } from "../runtime/rules/scalar.js";
import tsgradTransformer from "../transformer/hosts/tsc.js";
import { compileToJs, compilerOptions, root } from "./harness.js";
import { createCompiler } from "./fuzz/compile.js";
import { fuzz } from "./fuzz/run.js";

const rules = scalarRules as Record<string, ScalarRule>;
const outDir = join(root, ".tsgrad-tmp", "fuzz", `mutation-${process.pid}`);
const compile = createCompiler({ transformer: tsgradTransformer, outDir, compilerOptions });
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

/** Runs `body` with the gradient of scalarRules[op] replaced by `broken`, then restores the rule. */
async function withBrokenRule<T>(op: string, broken: LocalGradient, body: () => Promise<T>): Promise<T> {
  const original = rules[op];
  expect(original, `no rule ${op}`).toBeDefined();
  rules[op] = { ...original, grad: broken };
  try {
    return await body();
  } finally {
    rules[op] = original;
  }
}

const SEED = 424242;

describe("mutation check: a wrong derivative rule makes the property fail", () => {
  it("the compiler under test sees a rule changed in process", async () => {
    const source = "/** @differentiable */\nexport function f(x: number): number {\n  return Math.sin(x);\n}\n";
    const broken = await withBrokenRule(
      "Math.sin",
      { kind: "partials", partials: ["-Math.cos(x)"] },
      async () => compileToJs(source).js,
    );
    expect(broken).toMatch(/-Math\.cos\(x\)/);
    expect(compileToJs(source).js).not.toMatch(/-Math\.cos\(x\)/); // restored
  });

  const mutations: { op: string; broken: LocalGradient; spelled: RegExp; why: string }[] = [
    {
      op: "Math.sin",
      broken: { kind: "partials", partials: ["-Math.cos(x)"] },
      spelled: /Math\.sin\(/,
      why: "sin' = -cos",
    },
    { op: "*", broken: { kind: "partials", partials: ["b", "b"] }, spelled: / \*=? /, why: "d(a * b)/db = b" },
    {
      op: "Math.exp",
      broken: { kind: "partials", partials: ["y * 1.0001"] },
      spelled: /Math\.exp\(/,
      why: "exp' off by 0.01%",
    },
    {
      op: "Math.max",
      broken: { kind: "variadic", partial: "1" },
      spelled: /Math\.max\(/,
      why: "max passes the gradient to every operand",
    },
  ];

  for (const { op, broken, spelled, why } of mutations) {
    it(`${why}: the fuzzer finds a failing program that uses ${op}`, async () => {
      const result = await withBrokenRule(op, broken, () => fuzz({ seed: SEED, runs: 200, compile, shrinkMs: 5_000 }));
      expect(result.failed, `the property passed with the broken rule ${op}`).toBe(true);
      expect(result.report).toMatch(/finite differences give/);
      const program = result.report.slice(result.report.indexOf("/** @differentiable */"));
      expect(program).toMatch(spelled);
    }, 120_000);
  }
});
