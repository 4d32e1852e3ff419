// The activity phase alone (transformer/phases/activity.ts): staged form → the values that
// depend on a parameter (varied) and reach the result (useful). Only those get an adjoint.

import { describe, expect, it } from "vitest";
import { stageOf } from "./pipeline.js";
import { analyzeActivity } from "../../transformer/phases/activity.js";
import { Code } from "../../transformer/ir/diagnostics.js";

const source = (body: string, params = "x: number, k: number", before = "") =>
  `${before}\n/** @differentiable */\nexport function f(${params}): number {\n${body}\n}\n`;

const activeOf = (src: string) => [...analyzeActivity(stageOf(src).staged).active].sort();

describe("activity", () => {
  it("a value through Math.floor is not active, nor the parameter it came from", () => {
    // s = Math.floor(k) (op null: no gradient flows to k);  t = x * s;  f = t
    //   varied: x, t, f (k varies, but only reaches t through s, which has no op)   useful: f, t, x, s
    //   → active: f, t, x
    expect(activeOf(source("const s = Math.floor(k); const t = x * s; return t;"))).toEqual(["f", "t", "x"]);
  });

  it("a value that does not reach the result is not active", () => {
    // u = Math.sin(x) is varied but nothing reads it;  f = x * k  →  active: f, k, x (not u)
    expect(activeOf(source("const u = Math.sin(x); return x * k;"))).toEqual(["f", "k", "x"]);
  });

  it("a value that depends on no parameter is not active", () => {
    // two = 2;  c = two * 3 is useful (it reaches f) but varies with nothing;  f = x * c  →  active: f, x
    expect(activeOf(source("const two = 2; const c = two * 3; return x * c;"))).toEqual(["f", "x"]);
  });

  it("a loop's header becomes active through the next iteration", () => {
    // for (i < 3) { b = a; a = x }: in the body b_1 = a reads the header a, which only the end
    // of the iteration (a = a_1, a_1 = x) makes varied: one more pass over the body makes b_1,
    // then b, varied.  → active: a, a_1, b, b_1, f, x
    expect(
      activeOf(source("let a = 1; let b = 1; for (let i = 0; i < 3; i++) { b = a; a = x; } return b;", "x: number")),
    ).toEqual(["a", "a_1", "b", "b_1", "f", "x"]);
  });

  it("parameters listed as data are not varied (grad(f, { wrt }) leaves them out)", () => {
    // wrt [x]: k is data  →  f = x * k is varied through x alone; k is not active
    const { staged } = stageOf(source("return x * k;"));
    expect([...analyzeActivity(staged).active].sort()).toEqual(["f", "k", "x"]);
    expect([...analyzeActivity({ ...staged, data: ["k"] }).active].sort()).toEqual(["f", "x"]);
  });

  it("a gradient that would flow through an unmarked function is an error", () => {
    // g is declared, not defined (nothing to differentiate): t = g(x) has no op, yet x varies and t
    // reaches f → refused, TS94006. (An unmarked helper defined in the file is differentiated.)
    const src = source("const t = g(x); return t * k;", undefined, "declare function g(v: number): number;");
    const { errors } = analyzeActivity(stageOf(src).staged);
    expect(errors.map((e) => e.code)).toEqual([Code.NotDifferentiableCall]);
  });
});
