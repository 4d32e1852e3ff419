// The optimize phase alone (transformer/phases/optimize.ts): the reversed backward pass simplified
// (`1 * g` → g, zero terms dropped), each adjoint's first top-level write a declaration
// (`let dx = ...`), `let dv = 0` before a branch that accumulates into a new adjoint, adjoints
// that are known zeros dropped with everything reading them; and the forward values the backward
// pass never reads pruned. At the end, known zeros in compiled functions, run against their vjp.

import { describe, expect, it } from "vitest";
import { optimizeOf, printBackward, printForward } from "./pipeline.js";
import { checkVjp, compileF, expectClose } from "../harness.js";
import { pruneForward, readsOf } from "../../transformer/phases/optimize.js";

const source = (body: string, params = "x: number, y: number") =>
  `/** @differentiable */\nexport function f(${params}): number {\n${body}\n}\n`;

describe("optimize", () => {
  it("declares each adjoint at its first write, accumulates at the next, folds the seed 1", () => {
    // reversed                      optimized
    //   dc += 1 * 1                   let dc = 1
    //   dx += -1 * 1                  let dx = -1
    //   db += b * dc  (twice)         let db = b * dc;  db += b * dc
    //   da += 1 * db                  let da = db
    //   dx += y * da                  dx += y * da      (dx is declared already)
    //   dy += x * da                  let dy = x * da
    const { backward } = optimizeOf(source("const a = x * y; const b = a + 1; const c = b * b; return c - x;"));
    expect(printBackward(backward)).toEqual([
      "// f = c - x",
      "let dc = 1",
      "let dx = -1",
      "// c = b * b",
      "let db = b * dc",
      "db += b * dc",
      "// b = a + 1",
      "let da = db",
      "// a = x * y",
      "dx += y * da",
      "let dy = x * da",
    ]);
  });

  it("declares an adjoint first written in a branch as 0 before the branch", () => {
    // f = s_1 * x → let ds_1 = x; let dx = s_1.  dy is first written inside `if (x > 0)`, and read
    // after the backward pass (a parameter's gradient): let dy = 0 goes before the branch.
    const { backward } = optimizeOf(source("let s = 0; if (x > 0) { s = Math.sin(y); } return s * x;"));
    expect(printBackward(backward)).toEqual([
      "// f = s_1 * x",
      "let ds_1 = x",
      "let dx = s_1",
      "let dy = 0",
      "if (x > 0) {",
      "  // s_1 = Math.sin(y)",
      "  dy += Math.cos(y) * ds_1",
      "}",
    ]);
  });

  it("folds a branch on `true` into its block (max's last operand)", () => {
    // if (m === x) dx += dm; else if (true) dy += dm  →  else dy += dm; dx and dy both 0 before it
    const { backward } = optimizeOf(source("const m = Math.max(x, y); return m;"));
    expect(printBackward(backward)).toEqual([
      "// f = m",
      "let dm = 1",
      "// m = Math.max(x, y)",
      "let dx = 0",
      "let dy = 0",
      "if (m === x) {",
      "  dx += dm",
      "} else {",
      "  dy += dm",
      "}",
    ]);
  });

  it("drops an adjoint whose every write is 0, and what reads it", () => {
    // f = prod + y;  prod = 0 * t;  t = x * x
    //   dt += 0 * dprod → nothing: dt is a known 0, so dx += x * dt (twice) goes too; dx never
    //   written (x's gradient is 0). Left: dprod and dy.
    const { backward, staged } = optimizeOf(source("const t = x * x; return 0 * t + y;"));
    expect(printBackward(backward)).toEqual(["// f = prod + y", "let dprod = 1", "let dy = 1"]);
    // ...and no forward value is read: nothing to compute before the backward pass.
    expect(pruneForward(staged.body, readsOf(backward))).toEqual([]);
  });

  it("prunes forward values the backward pass does not read", () => {
    // a = Math.exp(x); b = a + y; f = b.  The backward pass reads a (exp's gradient is its value,
    // dx = a * da), not b nor f: the forward pass keeps a alone.
    const { backward, staged } = optimizeOf(source("const a = Math.exp(x); const b = a + y; return b;"));
    expect(printBackward(backward)).toEqual([
      "// f = b",
      "let db = 1",
      "// b = a + y",
      "let da = db",
      "let dy = db",
      "// a = Math.exp(x)",
      "let dx = a * da",
    ]);
    expect(printForward(pruneForward(staged.body, readsOf(backward)))).toEqual(["const a = Math.exp(x)"]);
  });
});

describe("optimize, compiled and run: a local gradient that folds to 0", () => {
  // A local gradient that folds to the literal 0 drops its write `dv += 0 * g`; when that was the
  // only write of dv, dv is a known zero and its reads (in the block of v's own definition) go
  // too, never a read of a dv nothing declared ("ReferenceError: dpow is not defined").
  const cases: [string, string, (x: number, y: number) => number[]][] = [
    ["an intermediate times the literal 0", "return Math.pow(x, 3) * 0 + x * y;", (x, y) => [y, x]],
    ["an intermediate to the power 0", "return (x * y) ** 0 + x;", () => [1, 0]],
    ["Math.pow(intermediate, 0)", "return Math.pow(x * y, 0) * 3 + y;", () => [0, 1]],
    [
      "Math.atan2(0, intermediate): the first operand's partial is -0 / (t * t)",
      "return Math.atan2(0, x * y) + x;",
      () => [1, 0],
    ],
  ];
  for (const [name, body, expected] of cases) {
    it(name, async () => {
      const { g, m } = await compileF(body);
      expectClose(g(1.5, 2), expected(1.5, 2));
      checkVjp(m, "f", [1.5, 2]);
    });
  }
});
