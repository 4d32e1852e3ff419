// Generated code type-checks under `tsc --strict`: every example file, and every loop program of
// test/loop-cases.ts, transformed as `tsgrad gen` writes it, is compiled again as plain TypeScript
// with no plugin.

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { transformToText } from "../transformer/text.js";
import { compilerOptions, createProgram, root } from "./harness.js";
import { type Case, calls, carried, forms, nesting, sourceOf, stateful, xy } from "./loop-cases.js";

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

/** Writes `source`, transforms it as `tsgrad gen` would, and type-checks the result under --strict. */
function strictErrorsOfSource(title: string, sourceText: string): string[] {
  const dir = join(root, ".tsgrad-tmp", "strict-loops", title);
  mkdirSync(dir, { recursive: true });
  const source = join(dir, "source.ts");
  writeFileSync(source, sourceText);
  const program = createProgram([source], strictOptions);
  const own = ts.getPreEmitDiagnostics(program).filter((d) => d.category === ts.DiagnosticCategory.Error);
  expect(own.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"))).toEqual([]);
  const { text, diagnostics } = transformToText(program.getSourceFile(source)!, program);
  expect(diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"))).toEqual([]);
  const out = join(dir, "generated");
  mkdirSync(out, { recursive: true });
  const generated = join(out, "source.ts");
  writeFileSync(generated, text);
  return ts
    .getPreEmitDiagnostics(createProgram([generated], strictOptions))
    .filter((d) => d.category === ts.DiagnosticCategory.Error)
    .map((d) => {
      const at = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
      const line = at ? d.file!.text.split("\n")[at.line].trim() : "";
      return `${at ? at.line + 1 : "?"}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}  |  ${line}`;
    });
}

function strictErrorsOfGenerated(title: string, body: string): string[] {
  return strictErrorsOfSource(title, sourceOf([{ name: title, params: xy, body, points: [] }], ["f"]));
}

describe("the loop programs of test/loop-cases.ts under tsc --strict", () => {
  const groups: [string, Case[]][] = [
    ["forms", forms],
    ["carried", carried],
    ["nesting", nesting],
    ["calls", [...calls, ...stateful]],
  ];
  for (const [title, cases] of groups) {
    it(`${title}: every case's generated functions, no TypeScript error`, () => {
      expect(
        strictErrorsOfSource(
          title,
          sourceOf(
            cases,
            cases.map((_, i) => `c${i}`),
          ),
        ),
      ).toEqual([]);
    });
  }
});

// A boolean carried by a loop is saved and restored as a boolean, and its copies are typed.
describe("a boolean carried by a loop, generated code under tsc --strict", () => {
  it("let flip = false; for (...) { s = flip ? s * y : s + x; flip = !flip; }", () => {
    expect(
      strictErrorsOfGenerated(
        "boolean",
        "let s = x;\nlet flip = false;\nfor (let i = 0; i < 3; i++) {\n  s = flip ? s * y : s + x;\n  flip = !flip;\n}\nreturn s;",
      ),
    ).toEqual([]);
  });
});

// Found in review: `const done_3 = done || returned;` in a loop that returns from a nested loop was
// TS7022 (implicitly any, referenced in its own initializer): logical joins of flags are typed.
describe("a return from nested loops, generated code under tsc --strict", () => {
  it("for (...) { for (...) { if (...) return g * h; } }", () => {
    expect(
      strictErrorsOfGenerated(
        "nested-return",
        "let h = x;\nfor (let i = 0; i < 3; i++) {\n  let g = h;\n  for (let j = 0; j < 3; j++) {\n    g = Math.tanh(g * y);\n    if (i === 1 && j === 2) return g * h;\n  }\n  h = Math.sin(g + h);\n}\nreturn h;",
      ),
    ).toEqual([]);
  });
});
