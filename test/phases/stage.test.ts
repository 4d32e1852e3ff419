// The stage phase alone (transformer/phases/stage.ts): a function → staged form, one operation per
// statement, every value named once. Each case states its source and, by hand, the defs it gives.

import { describe, expect, it } from "vitest";
import { printForward, stageOf } from "./pipeline.js";
import type { Def, Stmt } from "../../transformer/ir/ir.js";
import { printExpr } from "../../transformer/ir/print.js";

const source = (body: string, params = "x: number, y: number, w: number") =>
  `/** @differentiable */\nexport function f(${params}): number {\n${body}\n}\n`;

const defs = (body: readonly Stmt[]) => body.filter((s): s is Def => s.k === "def");

describe("stage", () => {
  it("splits a nested expression into one operation per def, each with its op and operands", () => {
    // const z = (x + y) * w; return z
    //   → xpy = x + y (op "+", args x, y)   z = xpy * w (op "*", args xpy, w)   f = z (the result, a copy)
    const { staged } = stageOf(source("const z = (x + y) * w; return z;"));
    expect(staged.params).toEqual(["x", "y", "w"]);
    expect(staged.result).toBe("f");
    expect(printForward(staged.body)).toEqual(["const xpy = x + y", "const z = xpy * w", "const f = z"]);
    expect(defs(staged.body).map((d) => d.op)).toEqual([
      { kind: "scalar", rule: "+" },
      { kind: "scalar", rule: "*" },
      { kind: "scalar", rule: "copy" },
    ]);
    expect(defs(staged.body).map((d) => d.args.map(printExpr))).toEqual([["x", "y"], ["xpy", "w"], ["z"]]);
  });

  it("gives a reassigned variable a new name", () => {
    // x = x * 2; x = x + y; return x  →  x_1 = x * 2;  x_2 = x_1 + y;  f = x_2
    const { staged } = stageOf(source("x = x * 2; x = x + y; return x;"));
    expect(printForward(staged.body)).toEqual(["const x_1 = x * 2", "const x_2 = x_1 + y", "const f = x_2"]);
  });

  it("joins a variable both branches assign in one name, declared before the branch", () => {
    // let s = 0; if (x > 0) s = x * y; else s = y; return s * w
    //   → s = 0;  let s_1;  if (x > 0) { s_1 = x * y } else { s_1 = y };  f = s_1 * w
    const { staged } = stageOf(source("let s = 0; if (x > 0) s = x * y; else s = y; return s * w;"));
    expect(printForward(staged.body)).toEqual([
      "const s = 0",
      "let s_1",
      "if (x > 0) {",
      "  s_1 = x * y",
      "} else {",
      "  s_1 = y",
      "}",
      "const f = s_1 * w",
    ]);
    const branch = staged.body[2];
    expect(branch.k === "if" && defs(branch.then)[0].assign).toBe(true);
  });

  it("recognises the sigmoid pattern as one operation", () => {
    // 1 / (1 + Math.exp(-x)) → one def with op "sigmoid", operand x (its gradient is (1 - y) * y)
    const { staged } = stageOf(source("return 1 / (1 + Math.exp(-x));", "x: number"));
    const [d] = defs(staged.body);
    expect(defs(staged.body)).toHaveLength(1);
    expect(d.name).toBe("f");
    expect(d.op).toEqual({ kind: "scalar", rule: "sigmoid" });
    expect(d.args.map(printExpr)).toEqual(["x"]);
  });

  it("marks values no gradient flows through with op null", () => {
    // const k = Math.floor(y); return x * k  →  k = Math.floor(y) (op null);  f = x * k (op "*")
    const { staged } = stageOf(source("const k = Math.floor(y); return x * k;", "x: number, y: number"));
    expect(printForward(staged.body)).toEqual(["const k = Math.floor(y)", "const f = x * k"]);
    expect(defs(staged.body).map((d) => d.op?.kind ?? null)).toEqual([null, "scalar"]);
  });

  it("makes each field of an object parameter a parameter of its own", () => {
    // f(m: { a, b }, x) { return m.a * x + m.b }  →  params a, b, x;  ax = a * x;  f = ax + b
    const { staged } = stageOf(source("return m.a * x + m.b;", "m: { a: number; b: number }, x: number"));
    expect(staged.params).toEqual(["a", "b", "x"]);
    expect(staged.signature?.map((p) => p.name)).toEqual(["m", "x"]);
    expect(printForward(staged.body)).toEqual(["const ax = a * x", "const f = ax + b"]);
  });
});
