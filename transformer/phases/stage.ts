// Lowers a fenced @differentiable function to staged form (see ir.ts): one operation per
// statement, every intermediate named, every assignment a new name.
//
//   const den = sigx + xpy ** 2;     →   const xpy_sq = xpy ** 2;  const den = sigx + xpy_sq;
//   x = x * 2;                       →   const x_1 = x * 2;
//   if (c) y = a; else y = b;        →   let y_1; if (c) { y_1 = a; } else { y_1 = b; }
//   if (c) return a; rest; return b  →   if (c) { f = a; } else { rest; f = b; }
//   1 / (1 + Math.exp(-x))           →   one "sigmoid" operation, so its derivative is (1 - s) * s
//   for (...) x = x * a;             →   for (...) { const x_1 = x * a; x = x_1; }   (x: the loop's header)
//   g(x), g in this one's recursion  →   const g_1_call = g_forward(x);  const g_1 = g_1_call.value;
//                                        (the backward pass hands g_1_call.cache to g_backward)
//
// Branch joins assign one shared name in each branch (a phi written as assignments), early returns
// move the rest of the block into the other branch, and values no gradient flows through
// (comparisons, Math.floor, calls of unmarked functions) become single opaque operations.
//
// This file runs the phase; its parts are in stage/: stager.ts (the state and its primitives),
// statements.ts, assignments.ts, branches.ts, loops.ts, counters.ts, expressions.ts, calls.ts,
// parameters.ts, and the helpers that need no state: exits.ts, rules.ts, finish.ts.

import ts from "typescript";
import { localName, type Differentiable } from "./annotations.js";
import { type Expr, type StagedFunction, isDataKind, leavesOf } from "../ir/ir.js";
import { skipWrappers } from "../ir/syntax.js";
import { type StageContext, Stager, type Want } from "./stage/stager.js";
import { hasNestedReturn } from "./stage/exits.js";
import { foldConstantBranches, hoistBranchValues, markSnapshots, shareRepeatedReads } from "./stage/finish.js";
import { checkRebinds } from "./stage/rebinds.js";
import { checkGrowing } from "./stage/growing.js";
import { findCaptures, parameters } from "./stage/parameters.js";
import { value } from "./stage/expressions.js";
import { scratchCopy } from "./stage/callbacks.js";
import { scratchArrays } from "../ir/tables.js";
import * as statements from "./stage/statements.js";
import * as assignments from "./stage/assignments.js";
import * as branches from "./stage/branches.js";
import * as calls from "./stage/calls.js";

export type { StageContext } from "./stage/stager.js";
export { hasImpureCall } from "./stage/expressions.js";

export function stage(d: Differentiable, ctx: StageContext): StagedFunction {
  return new FunctionStager(d.fn, ctx).run(localName(d));
}

/** The stager of one function: the order it stages things in, and its parts wired together. */
class FunctionStager extends Stager {
  run(fnName: string): StagedFunction {
    const { namer } = this.ctx;
    this.calleeGradients = calls.calleeGradientNames(this.fn, this.ctx.checker);
    findCaptures(this);
    const signature = parameters(this);
    const params = signature.flatMap((p) => leavesOf(p.tree).map((l) => l.name));
    // Locals declared later go around every name the generated functions bind at their top.
    [...params, ...signature.map((p) => p.name)].forEach((name) => this.declared.add(name));
    // Matrix parameters: a copy of one (`let input = X`) is a matrix, typed `typeof X`.
    for (const leaf of signature.flatMap((p) => leavesOf(p.tree)))
      if (leaf.kind === "Matrix") this.matrices.set(leaf.name, { matrix: `typeof ${leaf.name}` });
    // tmpA of `const tmpA = new Float64Array(3)` at module level, written here: a local copy.
    for (const [symbol, kind] of scratchArrays(this.fn, this.ctx.checker)) scratchCopy(this, symbol, kind);
    this.result = namer.fresh(fnName);
    const body = this.fn.body!;
    if (!ts.isBlock(body) && ts.isObjectLiteralExpression(skipWrappers(body))) {
      statements.objectResult(this, skipWrappers(body) as ts.ObjectLiteralExpression); // (x) => ({ a, b })
    } else if (!ts.isBlock(body)) {
      value(this, body, { name: this.result, assign: false });
    } else {
      this.resultIsJoin = hasNestedReturn(body);
      if (this.resultIsJoin) this.body.push({ k: "let", name: this.result });
      this.list(body.statements);
    }
    if (this.guarded) this.body.forEach((s) => s.k === "let" && s.name === this.result && (s.hoisted = true));
    shareRepeatedReads(this.body);
    markSnapshots(this.body, this.localArrays);
    checkRebinds(this);
    checkGrowing(this);
    const data = signature.flatMap((p) =>
      leavesOf(p.tree)
        .filter((l) => isDataKind(l.kind))
        .map((l) => l.name),
    );
    const returned = this.localArrays.has(this.result)
      ? this.body.find((s) => s.k === "array" && s.name === this.result)
      : undefined;
    const resultKind = this.outputs ? "object" : returned?.k === "array" ? returned.kind : undefined;
    return {
      name: fnName,
      params,
      signature,
      data,
      body: foldConstantBranches(hoistBranchValues([...this.fieldReads, ...this.body])),
      result: this.result,
      resultKind,
      outputs: this.outputs,
      ...(this.captured.size ? { captured: [...this.captured] } : {}),
    };
  }

  list(body: readonly ts.Statement[]): void {
    statements.list(this, body);
  }

  assignment(e: ts.Expression, note?: string): void {
    assignments.assignment(this, e, note);
  }

  joinWith(test: Expr, thenStage: () => void, elseStage: () => void, s: ts.Node): void {
    branches.joinWith(this, test, thenStage, elseStage, s);
  }

  call(e: ts.CallExpression, want?: Want, orElse?: ts.Expression): Expr {
    return calls.call(this, e, want, orElse);
  }
}
