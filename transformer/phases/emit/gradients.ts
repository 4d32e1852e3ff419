// The gradients a generated function returns, their types and their zero buffers:
//   f(x: number, a: Float64Array), gradients ["dx", undefined]
//     → [dx: number, da: Float64Array]          (its return type)
//     → return [dx, new Float64Array(a.length)];

import type ts from "typescript";
import { type ParamTree, isDataKind } from "../../ir/ir.js";
import { zeroArray } from "./arrays.js";
import { declareConst, f } from "./nodes.js";
import { type FunctionShape, returned } from "./shape.js";
import { typeOf } from "./types.js";

/** A gradient's type: a leaf's kind, or for an object the same fields, `{ W: Float64Array; reg: number }`. */
function gradientType(shape: FunctionShape, tree: ParamTree): ts.TypeNode {
  if (tree.k === "leaf") {
    const i = shape.params.indexOf(tree.name);
    return typeOf(shape.kinds[i], true, shape.types?.[i], shape.keys?.[i]);
  }
  return f.createTypeLiteralNode(
    tree.fields.map((fl) => f.createPropertySignature(undefined, fl.key, undefined, gradientType(shape, fl.tree))),
  );
}

/** `dx` for x; `d_o` for o, since `do` (like `default`, `delete`, `debugger`) cannot name a tuple member. */
const tupleLabel = (name: string) =>
  ["do", "default", "delete", "debugger"].includes(`d${name}`) ? `d_${name}` : `d${name}`;

/** `[dx: number, da: Float64Array]`: the type of the gradients returned. */
export const tupleType = (shape: FunctionShape) =>
  f.createTupleTypeNode(
    returned(shape).map((p) =>
      f.createNamedTupleMember(
        undefined,
        f.createIdentifier(tupleLabel(p.name)),
        undefined,
        gradientType(shape, p.tree),
      ),
    ),
  );

/**
 * A staged parameter's gradient: its adjoint, or zero (`0`, `new Float64Array(a.length)`) if nothing
 * reaches it; `undefined` for data, which has none.
 */
function leafGradient(shape: FunctionShape, i: number): ts.Expression {
  const g = shape.gradients[i];
  const kind = shape.kinds[i];
  if (isDataKind(kind)) return f.createIdentifier("undefined");
  return g
    ? f.createIdentifier(g)
    : kind === "number"
      ? f.createNumericLiteral(0)
      : zeroArray(kind, shape.params[i], shape.zeros, shape.keys?.[i]);
}

/** `{ W: dW, reg: dreg }` for an object parameter: its leaves' gradients under the same keys. */
function gradientValue(shape: FunctionShape, tree: ParamTree): ts.Expression {
  if (tree.k === "leaf") return leafGradient(shape, shape.params.indexOf(tree.name));
  return f.createObjectLiteralExpression(
    tree.fields.map((fl) => f.createPropertyAssignment(fl.key, gradientValue(shape, fl.tree))),
  );
}

/** `[dx, new Float64Array(a.length)]`: the gradients returned. */
export const gradientTuple = (shape: FunctionShape) =>
  f.createArrayLiteralExpression(returned(shape).map((p) => gradientValue(shape, p.tree)));

/** `const da = new Float64Array(a.length);` for each array parameter whose gradient the backward pass writes. */
export const arrayGradients = (shape: FunctionShape) =>
  shape.params.flatMap((p, i) =>
    shape.kinds[i] !== "number" && !isDataKind(shape.kinds[i]) && shape.gradients[i]
      ? [declareConst(shape.gradients[i]!, zeroArray(shape.kinds[i], p, shape.zeros, shape.keys?.[i]))]
      : [],
  );
