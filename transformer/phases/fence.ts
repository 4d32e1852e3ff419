// Rejects, before anything is transformed, what tsgrad cannot differentiate correctly yet. Takes a
// @differentiable function; returns one DiffError per offending node (all of them, not only the
// first). What is accepted, and each refusal's code and message, is the table in ir/language.ts:
// this walk only finds the constructs, each refusal a row of it (`st.fail(refuse("forIn", s))`).
// Staging may assume that a function with no fence errors uses only the supported language:
//   statements   const/let, assignment and = += -= *= /= %= **= ++ --, if/else, return, blocks,
//                for/while/do and for...of over an array parameter, with break, continue and
//                return (no labels)
//   expressions  number literals, locals, + - * / % ** and unary -, Math functions and constants,
//                calls, ternaries, comparisons and && || ! in conditions, `this.field` reads,
//                elements and fields of parameters and of arrays the function creates
//
// This file runs the walk; its parts are in fence/: fencer.ts (the state the parts share),
// statements.ts, assignments.ts, expressions.ts, calls.ts, callbacks.ts, names.ts and signature.ts.

import ts from "typescript";
import type { FunctionNode } from "./annotations.js";
import { skipWrappers } from "../ir/syntax.js";
import type { DiffError } from "../ir/diagnostics.js";
import { outOfRange } from "./out-of-range.js";
import { Fencer } from "./fence/fencer.js";
import { checkSignature, oneErrorPerCause } from "./fence/signature.js";
import { hiddenGlobals, varsLikeLet } from "./fence/names.js";
import * as statements from "./fence/statements.js";
import * as assignments from "./fence/assignments.js";
import * as expressions from "./fence/expressions.js";

export type { ValueKind } from "../ir/ir.js";
export { matrixOpOf } from "./fence/calls.js";

export function fence(fn: FunctionNode, checker: ts.TypeChecker): DiffError[] {
  return new FunctionFence(fn, checker).run();
}

/** The fence of one function: the order it checks things in, and its parts wired together. */
class FunctionFence extends Fencer {
  run(): DiffError[] {
    const { fn, errors } = this;
    checkSignature(this);
    hiddenGlobals(this);
    if (!fn.body) return errors;
    varsLikeLet(this, fn.body);
    if (ts.isBlock(fn.body)) fn.body.statements.forEach((s) => this.statement(s));
    else if (ts.isObjectLiteralExpression(skipWrappers(fn.body)))
      statements.objectReturn(this, undefined, skipWrappers(fn.body) as ts.ObjectLiteralExpression);
    else this.expression(fn.body);
    outOfRange(fn, this.checker).forEach((error) => this.fail(error));
    // The calls activity.ts would refuse, in the same build as the other errors (it runs only on
    // functions the fence passes).
    if (errors.length) errors.push(...this.unmarkedCalls);
    return oneErrorPerCause(this);
  }

  statement(s: ts.Statement): void {
    statements.statement(this, s);
  }

  effect(e: ts.Expression): void {
    assignments.effect(this, e);
  }

  expression(e: ts.Expression): void {
    expressions.expression(this, e);
  }
}
