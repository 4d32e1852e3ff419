// The reverse phase alone (transformer/phases/reverse.ts): staged form → the backward pass, the
// staged statements in exact reverse order, one `d<operand> += <local gradient> * d<output>` per
// active operand, by the rules of runtime/rules/scalar.ts. Nothing is simplified yet (optimize
// does that): the seed of f_grad is the literal 1 and stays as `* 1`.

import { describe, expect, it } from "vitest";
import { printBackward, reverseOf } from "./pipeline.js";

const source = (body: string, params = "x: number, y: number, w: number") =>
  `/** @differentiable */\nexport function f(${params}): number {\n${body}\n}\n`;

const backward = (body: string, params?: string) => printBackward(reverseOf(source(body, params)).reversed.backward);

describe("reverse", () => {
  it("walks the defs last to first, one line per operand by the rule's local gradient", () => {
    // forward  xpy = x + y;  z = xpy * w;  f = z
    // backward f = z:         copy's gradient 1             dz += 1 * 1
    //          z = xpy * w:   "*": ∂a = b, ∂b = a           dxpy += w * dz;  dw += xpy * dz
    //          xpy = x + y:   "+": ∂a = 1, ∂b = 1           dx += 1 * dxpy;  dy += 1 * dxpy
    expect(backward("const z = (x + y) * w; return z;")).toEqual([
      "// f = z",
      "dz += 1 * 1",
      "// z = xpy * w",
      "dxpy += w * dz",
      "dw += xpy * dz",
      "// xpy = x + y",
      "dx += 1 * dxpy",
      "dy += 1 * dxpy",
    ]);
  });

  it("puts the operation's names into the rule's template", () => {
    // f = sin_x / y:       "/": ∂a = 1 / b, ∂b = -a / (b * b)    dsin_x += 1 / y * 1;  dy += -sin_x / (y * y) * 1
    // sin_x = Math.sin(x): Math.cos(x)                           dx += Math.cos(x) * dsin_x
    expect(backward("return Math.sin(x) / y;", "x: number, y: number")).toEqual([
      "// f = sin_x / y",
      "dsin_x += 1 / y * 1",
      "dy += -sin_x / (y * y) * 1",
      "// sin_x = Math.sin(x)",
      "dx += Math.cos(x) * dsin_x",
    ]);
  });

  it("gives inactive operands no line, and names every parameter's adjoint", () => {
    // k = Math.floor(y) has no op; in f = x * k only x is active: dx += k * 1, nothing for k or y
    const { reversed } = reverseOf(source("const k = Math.floor(y); return x * k;", "x: number, y: number"));
    expect(printBackward(reversed.backward)).toEqual(["// f = x * k", "dx += k * 1"]);
    expect(reversed.paramAdjoints).toEqual(["dx", "dy"]);
  });

  it("replays a branch on the same test, each branch reversed in itself", () => {
    // let s_1; if (x > 0) { s_1 = x * y } else { s_1 = y }; f = s_1 * w
    //   → f's lines first, then the branch on x > 0: then-branch by "*", else-branch by copy
    expect(backward("let s = 0; if (x > 0) s = x * y; else s = y; return s * w;")).toEqual([
      "// f = s_1 * w",
      "ds_1 += w * 1",
      "dw += s_1 * 1",
      "if (x > 0) {",
      "  // s_1 = x * y",
      "  dx += y * ds_1",
      "  dy += x * ds_1",
      "} else {",
      "  // s_1 = y",
      "  dy += 1 * ds_1",
      "}",
    ]);
  });

  it("routes max's gradient to the first operand that won", () => {
    // m = Math.max(x, y): if (m === x) dx += dm; else (the last operand, under `true`) dy += dm
    expect(backward("const m = Math.max(x, y); return m;", "x: number, y: number")).toEqual([
      "// f = m",
      "dm += 1 * 1",
      "// m = Math.max(x, y)",
      "if (m === x) {",
      "  dx += dm",
      "} else {",
      "  if (true) {",
      "    dy += dm",
      "  }",
      "}",
    ]);
  });

  it("restarts a loop header's adjoint where the iteration overwrites it", () => {
    // for (i < 3) { s_1 = s * x; s = s_1 }: backward iteration, last statement first:
    //   s = s_1 (overwrite, a copy):  ds_1 += 1 * ds, then ds = 0 (the old s is another value)
    //   s_1 = s * x:                  ds += x * ds_1;  dx += s * ds_1
    const { reversed } = reverseOf(
      source("let s = 1; for (let i = 0; i < 3; i++) { s = s * x; } return s;", "x: number"),
    );
    const [, , loop] = reversed.backward;
    expect(loop.k).toBe("loop");
    expect(printBackward(reversed.backward)).toEqual([
      "// f = s",
      "ds += 1 * 1",
      "loop {",
      "  // s = s_1",
      "  ds_1 += 1 * ds",
      "  ds = 0",
      "  // s_1 = s * x",
      "  ds += x * ds_1",
      "  dx += s * ds_1",
      "}",
    ]);
    expect(loop.k === "loop" && [...loop.locals]).toEqual(["ds_1"]);
  });
});
