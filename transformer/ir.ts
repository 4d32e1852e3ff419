// The intermediate form every phase after staging works on: a function body in SSA-like staged
// form. Every value has one name; a name is assigned once on every path (branch joins assign a
// shared name once per branch, like a phi). Expressions are small trees, free of TypeScript nodes,
// so phases can build, compare and simplify them without touching the compiler API.

import type ts from "typescript";

/** A pure scalar expression. `ref` names an IR value; `global` is text used as is (Math.PI, this.k). */
export type Expr =
  | { k: "num"; value: number }
  | { k: "ref"; name: string }
  | { k: "global"; text: string }
  | { k: "unary"; op: "-" | "!"; arg: Expr }
  | { k: "binary"; op: string; left: Expr; right: Expr }
  | { k: "call"; callee: string; args: Expr[] }
  | { k: "cond"; test: Expr; then: Expr; else: Expr };

/**
 * `name = value`, one operation. `op` names the derivative rule (see runtime/rules/scalar.ts) and
 * `args` are its operands, all atoms (num, ref, global); `op: null` marks a value no gradient flows
 * through (comparisons, Math.floor, calls of functions without a gradient). A call of another
 * differentiable function has op "call" and `callee` set.
 */
export interface Def {
  k: "def";
  name: string;
  value: Expr;
  op: string | null;
  args: Expr[];
  /** For op "call": the expression naming the callee's generated gradient, e.g. `g_grad`. */
  callee?: Expr;
  /** True when `name` is a join variable declared earlier by a `Let` (assigned, not declared). */
  assign: boolean;
  /** The user's node this operation came from, for comments and diagnostics. */
  source: ts.Node;
  /** A user comment to keep on this line. */
  note?: string;
  /** For op null: set when the value comes from a call of a function tsgrad cannot differentiate. */
  opaqueCall?: ts.Node;
  /** Values are numbers, but a condition kept in a local (`const pos = x > 0`) is a boolean. */
  type?: "boolean";
}

/**
 * `let name: number;` — a join variable that each branch of the following `if` assigns; or, with
 * `hoisted`, a value computed inside a branch that the backward pass reads outside it
 * (`let t!: number;`: assigned on the paths that read it, which TypeScript cannot see).
 */
export interface Let {
  k: "let";
  name: string;
  hoisted?: boolean;
  type?: "boolean";
}

export interface If {
  k: "if";
  test: Expr;
  then: Stmt[];
  else: Stmt[];
  source: ts.Node;
}

export type Stmt = Def | Let | If;

/** A staged function: parameters, body, and the name holding the result. */
export interface StagedFunction {
  name: string;
  params: string[];
  body: Stmt[];
  result: string;
}

/**
 * Backward statements: `adj += value` (optimize marks the first one at the top level a declaration,
 * `let adj = value`), `let adj = 0` before a branch that accumulates, branches, callee gradients,
 * and the comment naming the forward line a block differentiates.
 */
export type BStmt =
  | { k: "acc"; adj: string; value: Expr; declare?: boolean }
  | { k: "zero"; adj: string }
  | { k: "if"; test: Expr; then: BStmt[]; else: BStmt[] }
  | { k: "grads"; names: string[]; callee: Expr; args: Expr[] }
  | { k: "comment"; def: Def };

export const num = (value: number): Expr => ({ k: "num", value });
export const ref = (name: string): Expr => ({ k: "ref", name });
export const binary = (op: string, left: Expr, right: Expr): Expr => ({ k: "binary", op, left, right });

/** Every IR name an expression reads: `a * Math.sin(b)` → a, b. */
export function refsOf(e: Expr, out: Set<string> = new Set()): Set<string> {
  switch (e.k) {
    case "ref":
      out.add(e.name);
      break;
    case "unary":
      refsOf(e.arg, out);
      break;
    case "binary":
      refsOf(e.left, out);
      refsOf(e.right, out);
      break;
    case "call":
      e.args.forEach((a) => refsOf(a, out));
      break;
    case "cond":
      refsOf(e.test, out);
      refsOf(e.then, out);
      refsOf(e.else, out);
      break;
  }
  return out;
}

/** Replaces refs by expressions: substitute(`a * b`, {a: x}) → `x * b`. */
export function substitute(e: Expr, map: ReadonlyMap<string, Expr>): Expr {
  switch (e.k) {
    case "ref":
      return map.get(e.name) ?? e;
    case "unary":
      return { ...e, arg: substitute(e.arg, map) };
    case "binary":
      return { ...e, left: substitute(e.left, map), right: substitute(e.right, map) };
    case "call":
      return { ...e, args: e.args.map((a) => substitute(a, map)) };
    case "cond":
      return { ...e, test: substitute(e.test, map), then: substitute(e.then, map), else: substitute(e.else, map) };
    default:
      return e;
  }
}

/** Visits every Def, in order, also inside branches. */
export function forEachDef(body: readonly Stmt[], visit: (d: Def) => void): void {
  for (const s of body) {
    if (s.k === "def") visit(s);
    else if (s.k === "if") {
      forEachDef(s.then, visit);
      forEachDef(s.else, visit);
    }
  }
}
