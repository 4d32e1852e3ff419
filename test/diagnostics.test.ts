// Every refusal is a TypeScript diagnostic at the exact node: one test per diagnostic code,
// asserting the code, the line and column, and that the message says what to do instead. At the
// end, number-valued expressions and signatures that must be refused (or, where accepted,
// differentiated right) rather than silently get a wrong gradient.

import ts from "typescript";
import { describe, expect, it } from "vitest";
import { compile, compileF, compileToJs, refusedCodes, tsgradCodes } from "./harness.js";

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
    const d = only("  try { return x; } finally {}");
    expect(d).toMatchObject({ code: 94001, line: 4, column: 3 });
    expect(d.text).toMatch(/`try` statements are not supported/);
    expect(
      only("  switch (x) {\n    case 1:\n      if (x > 0) break;\n      return 1;\n  }\n  return x;"),
    ).toMatchObject({
      code: 94001,
      line: 6,
      column: 18,
    });
  });
  it("94003 arrays, objects and property reads", () => {
    expect(only("  return Math.max(...[x, 2 * x]);")).toMatchObject({ code: 94003, line: 4, column: 10 });
    expect(only("  const a = [[x], [x]];\n  return x;")).toMatchObject({
      code: 94003,
      line: 4,
      column: 13,
      at: "[[x], [x]]",
    });
    expect(only("  return p.k * x;", "x: number", "const p = { k: 2 };")).toMatchObject({
      code: 94003,
      line: 4,
      column: 10,
      at: "p.k",
    });
  });
  it("94004 parameters that are not numbers", () => {
    const d = only("  return 1;", "x: string[]");
    expect(d).toMatchObject({ code: 94004, line: 3, column: 19, at: "x: string[]" });
    expect(d.text).toMatch(/`string\[\]` is an array of something other than numbers/);
    expect(d.text).toMatch(
      /tsgrad takes numbers, arrays of numbers \(`number\[\]`, tuples, `Float64Array`, `Float32Array`, `ArrayLike<number>`\), `Matrix`, data \(booleans, strings, enums, `Int32Array` labels\) and objects of them/,
    );
  });
  it("94004 once per parameter: its uses are not refused again", () => {
    const found = refusals(
      '/** @differentiable */\nexport function f(m: Map<string, number>, x: number): number {\n  return m.get("a")! * x + m.size;\n}\n',
    );
    expect(found.map((d) => [d.code, d.line, d.at])).toEqual([[94004, 2, "m: Map<string, number>"]]);
  });
  it("94006 in the same build as the function's other errors", () => {
    const found = refusals(
      "declare function helper(a: number): number;\n/** @differentiable */\nexport function f(x: number): number {\n  const s = `${x}`;\n  return helper(x) * 2 + Math.exp(x) * 2 + s.length;\n}\n",
    );
    expect(found.map((d) => [d.code, d.at])).toEqual([
      [94003, "`${x}`"],
      [94003, "s.length"],
      [94006, "helper(x)"],
    ]);
  });
  it("94003 an array method, once, saying to write the for loop", () => {
    const d = only("  return x.shift()! * x[0];", "x: number[]");
    expect(d).toMatchObject({ code: 94003, line: 4, column: 10, at: "x.shift" });
    expect(d.text).toMatch(/array methods such as `x.shift\(\)` are not supported yet.*write the `for` loop/);
  });
  it("94005 a function that does not return a number", () => {
    const found = refusals("/** @differentiable */\nexport function f(x: number): boolean {\n  return x > 0;\n}\n");
    expect(found[0]).toMatchObject({ code: 94005, line: 2, at: "boolean" });
  });
  it("94006 a gradient through an unannotated call", () => {
    // A function tsgrad cannot see into (declared, or in a module without its source).
    const d = only("  return helper(x) * 2;", "x: number", "declare function helper(a: number): number;");
    expect(d).toMatchObject({ code: 94006, line: 4, column: 10, at: "helper(x)" });
    expect(d.text).toMatch(/add \/\*\* @differentiable \*\//);
    // The result of one unmarked call fed to another still depends on x (it was once a zero gradient).
    const nested = "declare function sq(v: number): number;";
    expect(only("  const t = sq(x);\n  return sq(t) / 2;", "x: number", nested)).toMatchObject({
      code: 94006,
      line: 5,
      at: "sq(t)",
    });
  });
  it("94007 grad of a function that is not differentiable", () => {
    const found = refusals(
      'import { grad } from "tsgrad";\nfunction g(x: number): number { return x; }\nexport const dg = grad(g);\n',
    );
    expect(found).toEqual([expect.objectContaining({ code: 94007, line: 3, column: 24, at: "g" })]);
  });
  it("94008 mutable state outside the function", () => {
    expect(only("  return k ? x : 1;", "x: number", "let k = true;")).toMatchObject({
      code: 94008,
      line: 4,
      column: 10,
      at: "k",
    });
    expect(only("  k = x;\n  return x;", "x: number", "let k = 2;")).toMatchObject({ code: 94008, line: 4, column: 3 });
  });
  it("94010 var, destructuring and nested functions", () => {
    expect(only("  if (x > 0) {\n    var y = x;\n  }\n  return y;")).toMatchObject({
      code: 94010,
      line: 7,
      column: 10,
    });
    expect(only("  class K {}\n  return x;")).toMatchObject({ code: 94010, line: 4, column: 3 });
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

describe("refusals: number-valued expressions tsgrad cannot differentiate", () => {
  it("bitwise operators and ~", () => {
    for (const body of ["return x | 0;", "return ~x;", "return x << 1;"]) {
      expect(refusedCodes(body)).toContain(94003);
    }
  });
  it("template strings, strings in arithmetic, void, <number> casts", () => {
    for (const body of [
      "return parseFloat(`${x}`);",
      'return parseFloat("1" + x);',
      'return +(x + "1");',
      "return void x ?? x;",
      "return <number>x * y;",
    ]) {
      expect(refusedCodes(body).length, body).toBeGreaterThan(0);
    }
  });
  it("Number(x) and parseFloat(...) of x are refused", () => {
    expect(refusedCodes("return Number(x) * y;").length).toBeGreaterThan(0);
    expect(refusedCodes("return parseFloat(String(x)) * y;").length).toBeGreaterThan(0);
  });
  it("a method call on a local, x.valueOf(), is refused (or differentiated), not silently 0", async () => {
    // x.valueOf() reads x through a method call: it is refused (TS94003); compiled, its gradient
    // would have to be right, never a silent 0 from an x hidden in the callee's text.
    const found = refusedCodes("return x.valueOf() * y;");
    if (found.length === 0) {
      const { g } = await compileF("return x.valueOf() * y;");
      expect(g(2, 3)).toEqual([3, 2]);
    } else expect(found.some((c) => c === 94003 || c === 94006)).toBe(true);
  });
  it("parseFloat(x.toFixed(20)) is refused, not silently 0", () => {
    // As for x.valueOf(): the x inside the callee x.toFixed is seen, and the call refused, not a
    // silent 0.
    expect(refusedCodes("return parseFloat(x.toFixed(20)) * y;").length).toBeGreaterThan(0);
  });
  it("a method call on a reassigned local reads the current version of the local", async () => {
    // A method call on x is refused (TS94003); compiled, after `x = x * 2` it would have to read
    // x_1, the current version of x, not the parameter (f_forward(1, 1).value 1 where f(1, 1) is 2).
    const source = "x = x * 2; return Math.floor(x.valueOf()) + 0 * y;";
    if (refusedCodes(source).length > 0) return;
    const { f, m } = await compileF(source);
    expect(m.f_forward(1, 1).value).toBe(f(1, 1));
  });
  it("a gradient through an unmarked function, direct or in an argument of a Math call", () => {
    const pre = "declare function helper(a: number): number;";
    expect(refusedCodes("return helper(x) * y;", undefined, pre)).toContain(94006);
    expect(refusedCodes("return Math.exp(helper(x + y));", undefined, pre)).toContain(94006);
    expect(refusedCodes("const k = helper(x); return k > 1 ? y : 2 * y;", undefined, pre)).toEqual([]); // only a condition: fine
  });
  it("Math functions without a rule (fround, clz32, imul) are refused, not crashed on", () => {
    expect(refusedCodes("return Math.fround(x) * y;")).toContain(94003);
    expect(refusedCodes("return Math.clz32(x) * y;").length).toBeGreaterThan(0);
    expect(refusedCodes("return Math.imul(x, 2) + y;").length).toBeGreaterThan(0);
  });
  it("Math?.exp(x) (optional chaining on Math) is refused, not crashed on", () => {
    expect(() => refusedCodes("return Math?.exp(x) * y;")).not.toThrow();
    expect(refusedCodes("return Math?.exp(x) * y;").length).toBeGreaterThan(0);
  });
  it("+ of a boolean, Math.sign and comparisons as values pass no gradient (correctly)", async () => {
    const { g } = await compileF("const b = x > y; return +b * x + +(y > 0) * y + Math.sign(x) * 3;");
    expect(g(2, 1)).toEqual([1, 1]);
    expect(g(1, 2)).toEqual([0, 1]);
  });
});

describe("refusals: odd signatures", () => {
  it("a `this: number` parameter is not a gradient slot", async () => {
    // TypeScript erases a `this` parameter, so a gradient slot for it would shift x's (f_grad(3)
    // giving [0, 6]): it is refused (TS94004); skipped instead, f_grad(3) would be [6].
    const source = "/** @differentiable */\nexport function f(this: number, x: number): number { return x * x; }\n";
    const found = tsgradCodes(source);
    if (found.length > 0) return;
    const { module } = await compile(source);
    expect(module.f_grad(3)).toEqual([6]);
  });
  it("array-destructured, optional array and rest parameters, and non-number returns, are refused", () => {
    expect(refusedCodes("return 1;", "[x]: number[]")).toContain(94004);
    expect(refusedCodes("return 1;", "{ x = 1 }: { x: number }").length).toBeGreaterThan(0);
    // A default is accepted (test/parameters.test.ts); an optional array, whose gradient has no size, is not.
    expect(refusedCodes("return x;", "x = 1")).toEqual([]);
    expect(refusedCodes("return w === undefined ? 1 : w[0];", "w?: Float64Array")).toContain(94004);
    expect(refusedCodes("return 1;", "...x: number[]")).toContain(94004);
    expect(
      tsgradCodes("/** @differentiable */\nexport function f(x: number): number | string { return x; }\n"),
    ).toContain(94005);
  });
});
