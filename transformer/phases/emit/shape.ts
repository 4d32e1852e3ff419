// What the generated functions of one user function share: its parameters as staged and as
// declared, their kinds and gradients, and where the functions go:
//   f(model: { W: Matrix; b: number }, x: number)  → params ["W", "b", "x"], signature [model, x]

import type ts from "typescript";
import { type Param, type ValueKind, leavesOf } from "../../ir/ir.js";

export interface FunctionShape {
  /** The user's function name, for doc comments: `f`. */
  name: string;
  /** The staged parameters: the user's parameters, or the fields of object parameters (leaves). */
  params: readonly string[];
  /** Each parameter's kind; its gradient has the same kind. */
  kinds: readonly ValueKind[];
  /**
   * The user's type annotation of each parameter (`Matrix`, maybe imported under another name;
   * `Model["W"]` for a field).
   */
  types?: readonly (string | undefined)[];
  /** The keys of each records parameter's records (`pts: Point[]` → ["x", "y"]). */
  keys?: readonly (readonly string[] | undefined)[];
  /** The parameters as declared, when some are objects: generated functions take these and unpack their fields. */
  signature?: readonly Param[];
  /** For `grad(f, { wrt })`: the indices of the parameters whose gradients are returned, in that order. */
  wrt?: readonly number[];
  /** The local name of the runtime's zerosLike, when a parameter is a Matrix. */
  zeros?: string;
  /** The parameter adjoint names, or undefined where no gradient reaches the parameter (→ 0). */
  gradients: readonly (string | undefined)[];
  exported: boolean;
  /** Emit class methods (with `static` when the user's method is static) instead of functions. */
  method?: { isStatic: boolean; className: string };
  source: ts.Node;
}

/** The parameters as declared: each a leaf unless the function has object parameters. */
export function userParams(shape: FunctionShape): readonly Param[] {
  return (
    shape.signature ??
    shape.params.map((name, i) => ({
      name,
      tree: { k: "leaf", name, kind: shape.kinds[i], ...(shape.keys?.[i] ? { keys: shape.keys[i] } : {}) },
      type: shape.types?.[i],
    }))
  );
}

/** For each staged parameter (leaf), where the user passes it: parameter index and field keys. */
export function leafPaths(shape: FunctionShape): { param: number; keys: string[] }[] {
  const at = new Map(
    userParams(shape).flatMap((p, param) => leavesOf(p.tree).map((l) => [l.name, { param, keys: l.path }] as const)),
  );
  return shape.params.map((name) => at.get(name)!);
}

/** The parameters whose gradients are returned: all, or those `wrt` lists, in its order. */
export const returned = (shape: FunctionShape): readonly Param[] =>
  shape.wrt ? shape.wrt.map((i) => userParams(shape)[i]) : userParams(shape);
