// Generated code type-checks under `tsc --strict`: every example file, transformed as
// `tsgrad gen` writes it, is compiled again as plain TypeScript with no plugin.

import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { transformToText } from "../transformer/files.js";
import { compilerOptions, createProgram, root } from "./harness.js";

const strictOptions: ts.CompilerOptions = { ...compilerOptions, strict: true, noEmit: true, noUnusedLocals: false };

/** Transforms `files` (absolute paths) as one program and writes the results under `out`. */
function generate(files: string[], out: string): string[] {
  const program = createProgram(files, strictOptions);
  mkdirSync(out, { recursive: true });
  return files.map((file) => {
    const { text, diagnostics } = transformToText(program.getSourceFile(file)!, program);
    expect(diagnostics).toEqual([]);
    const target = join(out, file.split("/").pop()!);
    writeFileSync(target, text);
    return target;
  });
}

function strictErrors(files: string[]): string[] {
  const program = createProgram(files, strictOptions);
  return ts
    .getPreEmitDiagnostics(program)
    .map((d) => `${d.file?.fileName}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
}

describe("generated code under tsc --strict", () => {
  it("the seed examples", () => {
    const out = join(root, ".tsgrad-tmp", "strict", "seed");
    const generated = generate([join(root, "examples", "seed.ts")], out);
    expect(readFileSync(generated[0], "utf8")).toContain("export function staged_grad(x: number, y: number)");
    expect(strictErrors(generated)).toEqual([]);
  });

  it("branches, early returns, ternaries, boolean locals, calls and methods", () => {
    const out = join(root, ".tsgrad-tmp", "strict", "language");
    mkdirSync(out, { recursive: true });
    const source = join(out, "source.ts");
    writeFileSync(
      source,
      `
/** @differentiable */
export function sq(a: number): number { return a * a; }
/** @differentiable */
export function f(x: number, y: number): number {
  const positive = x > 0;
  let z = positive ? Math.log(x) : -x;
  if (z > y) { const t = z * y; z = t + sq(x); } else if (y > 3) { return y; }
  z **= 2;
  return Math.max(z, y, 0) + Math.floor(y);
}
export class Model {
  constructor(readonly k: number) {}
  /** @differentiable */
  loss(x: number): number { return this.k * sq(x); }
  /** @differentiable */
  static norm(x: number, y: number): number { return Math.hypot(x, y); }
}
`,
    );
    const generatedDir = join(out, "generated");
    const generated = generate([source], generatedDir);
    expect(strictErrors(generated)).toEqual([]);
  });
});
