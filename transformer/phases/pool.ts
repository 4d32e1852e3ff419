// Lends f_grad and f_gradInto their matrices from the runtime's pool (runtime/ops/pool.ts) and
// gives them back before returning, so a training step allocates no matrix. Runs on the final
// forward and backward passes of those two functions only: vjp's forward keeps its matrices in
// the cache, for a backward pass that may run any time later.
//
//   const XW1 = matmul(X, W1);          →  const XW1 = matmulInto(matrixPool.matrix(X.rows, W1.cols), X, W1);
//   const dhidden = zerosLike(hidden);  →  const dhidden = matrixPool.zerosLike(hidden);
//                                          ... matrixPool.release(dhidden); matrixPool.release(XW1);
// Parameters' gradients are returned, so they are never lent; a gradient sharing another's
// buffer (`const dprod = dscores`) is given back once, as that other. In a loop, the matrices an
// iteration makes and keeps for its backward iteration, and the gradients that backward iteration
// makes, are lent too, and given back at the end of the backward iteration: a training step
// allocates no matrix once the pool has as many of each shape as the longest loop needs.

import {
  type BStmt,
  type Def,
  type Expr,
  type Stmt,
  forEachDef,
  forwardReads,
  isMatrixType,
  num,
  refsOf,
} from "../ir/ir.js";
import { matrixRules } from "../../runtime/ops/index.js";
import type { MatrixRule } from "../../runtime/ops/rule.js";
import { fusedRule } from "./fuse.js";

export interface Pooled {
  forward: Stmt[];
  backward: BStmt[];
  /** The matrices and vectors taken from the pool, in the order taken. */
  lent: string[];
}

/** `pool`: the local name of the runtime's matrixPool; `runtime`: the local name of a runtime export. */
export function poolMatrices(
  forward: readonly Stmt[],
  backward: readonly BStmt[],
  pool: string,
  runtime: (name: string) => string,
): Pooled {
  const lent: string[] = [];
  // Made in a loop and kept for its backward iteration: given back at that iteration's end.
  const kept = new Set<string>();
  const lend = (s: Def): Def => {
    const rule = ruleOf(s);
    if (!rule?.into || s.value.k !== "call") return s;
    const args = s.value.args;
    const buffer: Expr = {
      k: "call",
      callee: `${pool}.${rule.output === "vector" ? "vector" : "matrix"}`,
      args: sizeOf(rule, args),
    };
    return { ...s, value: { k: "call", callee: runtime(rule.into), args: [buffer, ...args] } };
  };
  const inLoop = (body: readonly Stmt[]): Stmt[] => {
    // What the iteration pushes whole goes back at the end of its backward iteration; what only
    // other matrix ops of the iteration read (`matmul(h, Wh)` added to another), at the end of
    // this one. (Any other matrix may live on, in the next iteration or after the loop.)
    const pushed = new Set(body.flatMap((t) => (t.k === "push" && isMatrixType(t.type) ? [t.name] : [])));
    const temporary = operandsOnly(body);
    const done: string[] = [];
    const lentHere = body.map((t): Stmt => {
      if (t.k === "loop") return { ...t, body: inLoop(t.body) };
      if (t.k !== "def" || t.assign || !ruleOf(t)?.into || t.value.k !== "call") return t;
      if (pushed.has(t.name)) kept.add(t.name);
      else if (temporary.has(t.name)) done.push(t.name);
      else return t;
      return lend(t);
    });
    const why = "matrices this iteration is done with go back to the pool";
    return done.length ? [...lentHere, { k: "release", callee: `${pool}.release`, names: done, why }] : lentHere;
  };
  const pooledForward = forward.map((s): Stmt => {
    if (s.k === "loop") return { ...s, body: inLoop(s.body) };
    if (s.k !== "def" || !ruleOf(s)?.into || s.value.k !== "call") return s;
    lent.push(s.name);
    return lend(s);
  });
  const zeros = (s: Alloc): BStmt => ({ ...s, zeros: `${pool}.zerosLike` });
  // dh = zerosLike(h) of a carried matrix, after dh_1 took dh's buffer: a new one from the pool.
  const renewed = (s: BStmt): BStmt =>
    s.k === "set" && s.whole?.zeros ? { ...s, whole: { ...s.whole, zeros: `${pool}.zerosLike` } } : s;
  const backLoop = (b: Extract<BStmt, { k: "loop" }>): BStmt => {
    const body = b.body.map((t) => (t.k === "loop" ? backLoop(t) : isPooled(t) ? zeros(t) : renewed(t)));
    const names = [
      ...b.body.flatMap((t) => (t.k === "pop" && t.declare && kept.has(t.name) ? [t.name] : [])),
      // (dh_1 = dh, handed on: the buffer dh had, which dh then renews from the pool)
      ...b.body.flatMap((t) => (t.k === "alloc" && (t.moved || isPooled(t)) ? [t.adj] : [])),
    ];
    const why = "this iteration's matrices go back to the pool";
    return { ...b, body: names.length ? [...body, { k: "release", callee: `${pool}.release`, names, why }] : body };
  };
  const pooledBackward = backward.map((s): BStmt => {
    if (s.k === "loop") return backLoop(s);
    if (!isPooled(s)) return s;
    lent.push(s.adj);
    return zeros(s);
  });
  return { forward: pooledForward, backward: pooledBackward, lent };
}

type Alloc = Extract<BStmt, { k: "alloc" }>;

/** The values a loop body reads only as operands of matrix ops (a matrix op reads, and never keeps, its operands). */
function operandsOnly(body: readonly Stmt[]): Set<string> {
  const other = new Set<string>();
  const visit = (stmts: readonly Stmt[]): void =>
    stmts.forEach((t) => {
      if (t.k === "def" && ruleOf(t)) return;
      if (t.k === "if") {
        refsOf(t.test, other);
        return (visit(t.then), visit(t.else));
      }
      if (t.k === "loop") {
        forwardReads([{ ...t, body: [] }], other);
        return visit(t.body);
      }
      forwardReads([t], other);
    });
  visit(body);
  const names = new Set<string>();
  forEachDef(body, (d) => ruleOf(d) && refsOfArgs(d, names));
  return new Set([...names].filter((n) => !other.has(n)));
}

/** The names a def's operands are. */
function refsOfArgs(d: Def, out: Set<string>): void {
  d.args.forEach((a) => refsOf(a, out));
}

/** A matrix gradient's buffer made zero (not a vector's, a copy or another's buffer shared): the pool's to lend. */
const isPooled = (s: BStmt): s is Alloc => s.k === "alloc" && !s.vector && !s.from && !s.same;

/** The rule of a matrix op's def (a fused one's too), which says its `...Into` form and its size. */
function ruleOf(s: Stmt): Pick<MatrixRule, "params" | "size" | "math" | "into" | "output"> | undefined {
  const op = s.k === "def" ? s.op : null;
  return op?.kind === "matrix" ? matrixRules[op.op] : op?.kind === "fused" ? fusedRule(op.into) : undefined;
}

/** The rule's size template over the call's operands: ["A.rows", "B.cols"] for matmul(X, W1) → X.rows, W1.cols. */
function sizeOf(rule: Pick<MatrixRule, "params" | "size" | "math">, args: readonly Expr[]): Expr[] {
  const first = rule.params[0];
  const size = rule.size ?? [`${first}.rows`, `${first}.cols`];
  return size.map((entry): Expr => {
    if (/^\d+$/.test(entry)) return num(Number(entry));
    const [param, prop] = entry.split(".");
    const operand = args[rule.params.indexOf(param)];
    if (operand?.k !== "ref" || (prop !== "rows" && prop !== "cols"))
      throw new Error(`matrix rule "${rule.math}": size entry ${entry} names no matrix operand`);
    return { k: "length", array: operand.name, prop };
  });
}
