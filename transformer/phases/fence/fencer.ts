// The fencer: the state of one function's fence, which every part of the walk shares: the
// function and the checker, the errors found so far (in the order the walk finds them), and how
// many branches and loops enclose the node being checked. ../fence.ts runs it.
//
//   if (c) { const h = new Float64Array(n); }   →   depth 1 at `const h`: errors [..., arrayInBranch]
//   return helper(x) * 2;   (helper unmarked)   →   unmarkedCalls [unmarkedCall], reported only beside other errors
//
// Each part of the walk is a file of functions that take the fencer first, as `st`; a part imports
// the parts it calls in one direction only:
//   statements → assignments → expressions → calls → callbacks → names;  assignments → signature
// The three calls against that direction (a statement of a callback's body, an assignment inside an
// expression, an expression of a call or a callback) are the abstract methods below, which
// ../fence.ts implements by calling the parts.

import type ts from "typescript";
import type { FunctionNode } from "../annotations.js";
import type { Callback } from "../../ir/syntax.js";
import type { DiffError } from "../../ir/diagnostics.js";
import { scratchArrays } from "../../ir/tables.js";

export abstract class Fencer {
  /** One error per offending node, in the order the walk reaches them. */
  readonly errors: DiffError[] = [];
  /** How many branches and loops enclose the node being checked. */
  depth = 0;
  /** Calls of unmarked functions a gradient surely flows through (reported only beside other errors). */
  readonly unmarkedCalls: DiffError[] = [];
  /** The module helpers being inlined at the call checked now, outermost first (callbacks.ts). */
  readonly inlining: Callback[] = [];
  /** The calls of those helpers, outermost first: the first is where the function calls them. */
  readonly inlinedCalls: ts.CallExpression[] = [];
  /** An inlined helper's array parameter → the caller's array given to it (`out` of cross(n, a, b) → n). */
  readonly aliases = new Map<ts.Symbol, ts.Identifier>();
  /** An inlined helper's array parameters given an array made in place (`cross(new Float64Array(3), a, b)`). */
  readonly madeInPlace = new Set<ts.Symbol>();
  /** Parameters of helpers being inlined that are given a row of a number[][] (`dot(W[j], x)`). */
  readonly rowsGiven = new Set<ts.Symbol>();
  /** Parameters of helpers being inlined that are given a record of a records parameter (`bodyDistance(bodies[i], b)`). */
  readonly recordsGiven = new Set<ts.Symbol>();

  constructor(
    readonly fn: FunctionNode,
    readonly checker: ts.TypeChecker,
  ) {}

  private scratchKinds?: ReadonlyMap<ts.Symbol, "Float64Array" | "number[]">;
  /** Module scratch arrays fn writes (ir/tables.ts scratchArrays): local arrays of fn, copies of the module's. */
  get scratch(): ReadonlyMap<ts.Symbol, "Float64Array" | "number[]"> {
    return (this.scratchKinds ??= scratchArrays(this.fn, this.checker));
  }

  fail(error: DiffError): void {
    this.errors.push(error);
  }

  /** Checks a statement (statements.ts). */
  abstract statement(s: ts.Statement): void;
  /** x = e, x += e, x++, or a comma list of them: an assignment to a local (assignments.ts). */
  abstract effect(e: ts.Expression): void;
  /** Checks an expression (expressions.ts). */
  abstract expression(e: ts.Expression): void;
}
