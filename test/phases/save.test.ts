// The save phase (transformer/phases/save.ts, read-back.ts), after optimize and preaccumulate as
// f_grad runs them: for each loop, what a forward iteration keeps for its backward iteration.
// A counting loop at the top level writes its values into frames (`s_saved[i] = s`), other loops
// push them on the stack and count their iterations; cheap arithmetic is recomputed, and what the
// backward pass never reads is not kept at all.

import { describe, expect, it } from "vitest";
import { printBackward, printForward, savedOf } from "./pipeline.js";
import type { BStmt, Loop, Stmt } from "../../transformer/ir/ir.js";
import { printExpr } from "../../transformer/ir/print.js";

const source = (body: string) => `/** @differentiable */\nexport function f(x: number): number {\n${body}\n}\n`;

const loopOf = (body: readonly Stmt[]) => body.find((s): s is Loop => s.k === "loop");
/** The backward loop's first lines: what it restores before its own work. */
const restores = (body: readonly BStmt[]) => {
  const loop = body.find((s) => s.k === "loop");
  if (loop?.k !== "loop") throw new Error("no backward loop");
  return printBackward(loop.body.filter((s) => s.k === "pop" || s.k === "recompute"));
};

describe("save", () => {
  it("a counting loop keeps the header it reads in a frame, one slot per iteration", () => {
    // for (i < 3) { s_1 = s * x; s = s_1 }: the backward iteration reads s (dx += s * ds) and x;
    // s is overwritten at each iteration's end, so its value is written to s_saved[i] just
    // before, and read back first thing in the backward iteration. 3 iterations: a frame of 3.
    const { forward, backward } = savedOf(source("let s = 1; for (let i = 0; i < 3; i++) { s = s * x; } return s;"));
    const loop = loopOf(forward)!;
    expect(printForward(loop.body)).toEqual(["const s_1 = s * x", "s_saved[i] = s", "s = s_1"]);
    expect(loop.frames?.map((f) => [f.array, printExpr(f.length)])).toEqual([["s_saved", "3"]]);
    expect(restores(backward)).toEqual(["s = s_saved[i]"]);
  });

  it("saves nothing for a loop whose backward iteration reads no value it changes", () => {
    // for (i < 3) { xx = x * x; s = s + xx }: the backward iteration reads only x (dx += x * ds):
    // no push, no frame, no pop; and s, xx are not computed at all (pruned).
    const { forward, backward } = savedOf(
      source("let s = 0; for (let i = 0; i < 3; i++) { s = s + x * x; } return s;"),
    );
    expect(forward).toEqual([]);
    expect(restores(backward)).toEqual([]);
  });

  it("a costly value and the header it came from go into frames in the order made, come back reversed", () => {
    // for (i < 3) { sx = s * x; s_1 = Math.exp(sx); s = s_1 }: the backward iteration reads s_1
    // (exp's gradient is its value) and s (∂(s * x)/∂x). s_1 is costly: saved, not recomputed.
    // Forward: body values first, then headers: s_1_saved[i] = s_1; s_saved[i] = s. Backward:
    // the reverse, s then s_1.
    const { forward, backward } = savedOf(
      source("let s = 1; for (let i = 0; i < 3; i++) { s = Math.exp(s * x); } return s;"),
    );
    const loop = loopOf(forward)!;
    expect(printForward(loop.body)).toEqual([
      "const sx = s * x",
      "const s_1 = Math.exp(sx)",
      "s_1_saved[i] = s_1",
      "s_saved[i] = s",
      "s = s_1",
    ]);
    expect(loop.frames?.map((f) => f.array)).toEqual(["s_1_saved", "s_saved"]);
    expect(restores(backward)).toEqual(["s = s_saved[i]", "const s_1 = s_1_saved[i]"]);
  });

  it("a while loop pushes on the stack and counts its iterations", () => {
    // while (s > 1) { s_1 = Math.sqrt(s); s = s_1 }: no counter, so no frames: the iteration
    // pushes s_1 (sqrt's gradient 1 / (2 * s_1) reads it; s itself is not read) and the loop
    // counts its iterations for the backward loop, which pops s_1 first.
    const { forward, backward } = savedOf(source("let s = x; while (s > 1) { s = Math.sqrt(s); } return s;"));
    const loop = loopOf(forward)!;
    expect(printForward(loop.body)).toEqual(["const s_1 = Math.sqrt(s)", "push s_1", "s = s_1"]);
    expect(loop.frames).toBeUndefined();
    expect(loop.count).toBe("iterations");
    expect(restores(backward)).toEqual(["const s_1 = pop"]);
  });

  it("recomputes cheap arithmetic from what it restores instead of saving it", () => {
    // for (i < 3) { sx = s * x; s_1 = Math.sin(sx); s = s_1 }: the backward iteration reads
    // sx (sin's gradient Math.cos(sx)) and s. sx = s * x is cheap: only s is saved, and sx is
    // recomputed from it after the pop.
    const { forward, backward } = savedOf(
      source("let s = 1; for (let i = 0; i < 3; i++) { s = Math.sin(s * x); } return s;"),
    );
    expect(printForward(loopOf(forward)!.body)).toEqual([
      "const sx = s * x",
      "const s_1 = Math.sin(sx)",
      "s_saved[i] = s",
      "s = s_1",
    ]);
    expect(restores(backward)).toEqual(["s = s_saved[i]", "recompute {", "  const sx = s * x", "}"]);
  });
});
