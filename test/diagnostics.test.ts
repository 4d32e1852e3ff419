// Every refusal is a TypeScript diagnostic at the exact node: one test per diagnostic code,
// asserting the code, the line and column, and that the message says what to do instead.

import ts from "typescript";
import { describe, expect, it } from "vitest";
import { compileToJs } from "./harness.js";

/** Compiles `source`; returns tsgrad's diagnostics as { code, line, column, text } (1-based). */
function refusals(source: string) {
  const { diagnostics } = compileToJs(source);
  return diagnostics
    .filter((d) => d.source === "tsgrad")
    .map((d) => {
      const { line, character } = d.file!.getLineAndCharacterOfPosition(d.start!);
      return {
        code: d.code,
        line: line + 1,
        column: character + 1,
        text: ts.flattenDiagnosticMessageText(d.messageText, "\n"),
        at: d.file!.text.slice(d.start!, d.start! + d.length!),
      };
    });
}

/** The single diagnostic of a differentiable function whose body is `body` (line 3 onward). */
function only(body: string, params = "x: number", preamble = "") {
  const found = refusals(`${preamble}\n/** @differentiable */\nexport function f(${params}): number {\n${body}\n}\n`);
  expect(found).toHaveLength(1);
  return found[0];
}

describe("refused at compile time, at the node", () => {
  it("94002 loops tsgrad cannot differentiate yet", () => {
    const forIn = only("  let s = 0;\n  for (const k in { a: 1 }) s += x;\n  return s;");
    expect(forIn).toMatchObject({ code: 94002, line: 5, column: 3 });
    expect(forIn.text).toMatch(/for\.\.\.in.*counting `for` loop/);
    expect(only("  let s = 0;\n  for (const v of [1, 2]) s += v * x;\n  return s;")).toMatchObject({
      code: 94002,
      line: 5,
      column: 19,
      at: "[1, 2]",
    });
    expect(
      only("  let s = x;\n  outer: while (s < 10) {\n    s = s * 2;\n    break outer;\n  }\n  return s;"),
    ).toMatchObject({ code: 94002, line: 5, column: 3 });
  });
  it("94001 other statements", () => {
    const d = only("  switch (x) { default: return x; }");
    expect(d).toMatchObject({ code: 94001, line: 4, column: 3 });
    expect(d.text).toMatch(/`switch` statements are not supported/);
    expect(only("  try { return x; } finally {}")).toMatchObject({ code: 94001, line: 4 });
  });
  it("94003 arrays, objects and property reads", () => {
    expect(only("  const a = [x, x];\n  return x;")).toMatchObject({ code: 94003, line: 4, column: 13, at: "[x, x]" });
    expect(only("  return p.k * x;", "x: number", "const p = { k: 2 };")).toMatchObject({
      code: 94003,
      line: 4,
      column: 10,
      at: "p.k",
    });
    expect(only("  return x && 1;").text).toMatch(/ternary/);
  });
  it("94004 parameters that are not numbers", () => {
    const d = only("  return 1;", "x: string[]");
    expect(d).toMatchObject({ code: 94004, line: 3, column: 19, at: "x: string[]" });
    expect(d.text).toMatch(
      /`string\[\]` is not a number, a number array, a Float64Array, a Matrix or an object of them/,
    );
    expect(d.text).toMatch(
      /tsgrad differentiates `number`, `number\[\]`, `Float64Array`, `Matrix` and objects of them/,
    );
  });
  it("94005 a function that does not return a number", () => {
    const found = refusals("/** @differentiable */\nexport function f(x: number): boolean {\n  return x > 0;\n}\n");
    expect(found[0]).toMatchObject({ code: 94005, line: 2, at: "boolean" });
  });
  it("94006 a gradient through an unannotated call", () => {
    const d = only("  return helper(x) * 2;", "x: number", "function helper(a: number): number { return a * a; }");
    expect(d).toMatchObject({ code: 94006, line: 4, column: 10, at: "helper(x)" });
    expect(d.text).toMatch(/add \/\*\* @differentiable \*\//);
  });
  it("94007 grad of a function that is not differentiable", () => {
    const found = refusals(
      'import { grad } from "tsgrad";\nfunction g(x: number): number { return x; }\nexport const dg = grad(g);\n',
    );
    expect(found).toEqual([expect.objectContaining({ code: 94007, line: 3, column: 24, at: "g" })]);
  });
  it("94008 mutable state outside the function", () => {
    expect(only("  return x * k;", "x: number", "let k = 2;")).toMatchObject({
      code: 94008,
      line: 4,
      column: 14,
      at: "k",
    });
    expect(only("  k = x;\n  return x;", "x: number", "let k = 2;")).toMatchObject({ code: 94008, line: 4, column: 3 });
  });
  it("94010 var, destructuring and nested functions", () => {
    expect(only("  var y = x;\n  return y;")).toMatchObject({ code: 94010, line: 4, column: 3 });
    expect(only("  const g = (a: number) => a;\n  return x;")).toMatchObject({ code: 94010, line: 4, column: 13 });
  });
  it("94011 expression statements with side effects", () => {
    expect(only("  console.log(x);\n  return x;")).toMatchObject({ code: 94011, line: 4, column: 3 });
  });
  it("94012 async functions and generators", () => {
    const found = refusals("/** @differentiable */\nexport async function f(x: number) {\n  return x;\n}\n");
    expect(found.map((d) => d.code)).toContain(94012);
  });
  it("94013 a derivative tsgrad cannot use, at its name; and the calls of its function", () => {
    const found = refusals(
      "export function sq(x: number): number { return x * x; }\n/** @derivative sq */\nexport function sqD(x: number, y: number, dy: number): number { return 2 * x * dy; }\n/** @differentiable */\nexport function f(x: number): number { return sq(x); }\n",
    );
    expect(found).toEqual([
      expect.objectContaining({ code: 94013, line: 3, column: 17, at: "sqD" }),
      expect.objectContaining({ code: 94013, line: 5, column: 47, at: "sq" }),
    ]);
    expect(found[0].text).toMatch(/declare its return type as `\[number\]`/);
    expect(found[1].text).toMatch(
      /`sq` has a @derivative tsgrad cannot use \(`sqD`, case_\w+\.ts:3; see the error there\); fix it/,
    );
  });
  it("a Math function called with the wrong number of arguments (type-checks only with an error)", () => {
    const d = only("  // @ts-expect-error\n  return Math.atan2(x) + Math.exp(x);");
    expect(d).toMatchObject({ code: 94003, line: 5, at: "Math.atan2(x)" });
    expect(d.text).toBe("tsgrad: `Math.atan2` takes 2 arguments, and this call passes 1; pass exactly those");
  });
  it("a Math function without a rule", () => {
    expect(only("  return Math.clz32(x);")).toMatchObject({ code: 94003, line: 4, column: 10, at: "Math.clz32" });
  });
  it("reports every problem of a function, not only the first", () => {
    const found = refusals(
      "/** @differentiable */\nexport function f(x: number): number {\n  for (const k in {}) {}\n  try {} finally {}\n  return x;\n}\n",
    );
    expect(found.map((d) => [d.code, d.line])).toEqual([
      [94002, 3],
      [94001, 4],
    ]);
  });
  it("a refused function does not stop the others in the file", () => {
    const { js } = compileToJs(
      "/** @differentiable */\nexport function bad(x: number): number { for (const k in {}) {} return x; }\n/** @differentiable */\nexport function good(x: number): number { return x * x; }\n",
    );
    expect(js).toContain("good_grad");
    expect(js).not.toContain("bad_grad");
  });
  it("94006 a call that would need a refused function's gradient, at the call; a call no gradient flows through is fine", () => {
    const bad = "/** @differentiable */\nexport function bad(x: number): number { for (const k in {}) {} return x; }\n";
    const found = refusals(
      `${bad}/** @differentiable */\nexport function user(x: number): number {\n  return 2 * bad(x);\n}\n/** @differentiable */\nexport function top(x: number): number {\n  return user(x) + x;\n}\n`,
    );
    expect(found.map((d) => [d.code, d.line, d.at])).toEqual([
      [94002, 2, "for (const k in {}) {}"],
      [94006, 5, "bad"],
      [94006, 9, "user"],
    ]);
    expect(found[1].text).toBe(
      "tsgrad: `bad` has no gradient: tsgrad refused it (" +
        found[1].text.match(/\((case_\w+\.ts:2);/)![1] +
        "; see the error there), and this call would need it; fix `bad` first",
    );
    const { js, diagnostics } = compileToJs(
      `${bad}/** @differentiable */\nexport function bound(x: number): number {\n  let s = 0;\n  for (let i = 0; i < bad(2); i++) s += x;\n  return s;\n}\n`,
    );
    expect(diagnostics.filter((d) => d.source === "tsgrad").map((d) => d.code)).toEqual([94002]);
    expect(js).toContain("export function bound_grad(");
    expect(js).not.toContain("bad_grad");
  });
  it("94006 up a chain of callers declared before their callees; a namesake's refusal refuses nothing", () => {
    const chain = refusals(
      `/** @differentiable */\nexport function top(x: number): number { return mid(x) * 2; }\n/** @differentiable */\nexport function mid(x: number): number { return bad(x) + 1; }\n/** @differentiable */\nexport function bad(x: number): number { for (const k in {}) {} return x; }\n`,
    );
    expect(chain.map((d) => [d.code, d.line, d.at]).sort((a, b) => Number(a[1]) - Number(b[1]))).toEqual([
      [94006, 2, "mid"],
      [94006, 4, "bad"],
      [94002, 6, "for (const k in {}) {}"],
    ]);
    const namesakes = refusals(
      `export class A {\n  /** @differentiable */\n  static f(x: number): number { for (const k in {}) {} return x; }\n}\nexport class B {\n  /** @differentiable */\n  static f(x: number): number { return x * x; }\n}\n/** @differentiable */\nexport function g(x: number): number { const n = A.f(2); return B.f(x) * n; }\n`,
    );
    expect(namesakes.map((d) => d.code)).toEqual([94002]);
  });
});
