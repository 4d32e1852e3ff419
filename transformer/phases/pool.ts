// Lends f_grad and f_gradInto their matrices from the runtime's pool (runtime/ops/pool.ts) and
// gives them back before returning, so a training step allocates no matrix. Runs on the final
// forward and backward passes of those two functions only: vjp's forward keeps its matrices in
// the cache, for a backward pass that may run any time later.
//
//   const XW1 = matmul(X, W1);          →  const XW1 = matmulInto(matrixPool.matrix(X.rows, W1.cols), X, W1);
//   const dhidden = zerosLike(hidden);  →  const dhidden = matrixPool.zerosLike(hidden);
//                                          ... matrixPool.release(dhidden); matrixPool.release(XW1);
// Parameters' gradients are returned, so they are never lent; a gradient sharing another's
// buffer (`const dprod = dscores`) is given back once, as that other.

import { type BStmt, type Expr, type Stmt, num } from "../ir/ir.js";
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
  const pooledForward = forward.map((s): Stmt => {
    const op = s.k === "def" ? s.op : null;
    const rule: Pick<MatrixRule, "params" | "size" | "math" | "into" | "output"> | undefined =
      op?.kind === "matrix" ? matrixRules[op.op] : op?.kind === "fused" ? fusedRule(op.into) : undefined;
    if (s.k !== "def" || !rule?.into || s.value.k !== "call") return s;
    lent.push(s.name);
    const args = s.value.args;
    const buffer: Expr = {
      k: "call",
      callee: `${pool}.${rule.output === "vector" ? "vector" : "matrix"}`,
      args: sizeOf(rule, args),
    };
    return { ...s, value: { k: "call", callee: runtime(rule.into), args: [buffer, ...args] } };
  });
  const pooledBackward = backward.map((s): BStmt => {
    if (s.k !== "alloc" || s.vector || s.from || s.same) return s;
    lent.push(s.adj);
    return { ...s, zeros: `${pool}.zerosLike` };
  });
  return { forward: pooledForward, backward: pooledBackward, lent };
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
