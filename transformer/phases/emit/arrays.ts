// Arrays of zeros: local arrays, gradient buffers, the gradients of array parameters:
//   { k: "array", name: "h", kind: "number[]", length: n }  → const h = new Array<number>(n).fill(0);
//   the gradient of `a: Float32Array`                       → new Float64Array(a.length)

import type ts from "typescript";
import { globalToTs } from "../../ir/print.js";
import type { ValueKind } from "../../ir/ir.js";
import { f } from "./nodes.js";
import { numberType } from "./types.js";

/** `new Float64Array(n)` or `new Array<number>(n).fill(0)`: a zero array of length n. */
export function newArray(kind: "Float64Array" | "number[]", length: ts.Expression): ts.Expression {
  if (kind === "Float64Array") return f.createNewExpression(f.createIdentifier("Float64Array"), undefined, [length]);
  const empty = f.createNewExpression(f.createIdentifier("Array"), [numberType()], [length]);
  return f.createCallExpression(f.createPropertyAccessExpression(empty, "fill"), undefined, [
    f.createNumericLiteral(0),
  ]);
}

/** `zerosLike(h)` for a matrix, `new Float64Array(v.length)` for a vector: a matrix op's adjoint buffer. */
export function zeroBuffer(vector: boolean, like: string, zeros: string): ts.Expression {
  if (vector) return zeroArray("Float64Array", like);
  return f.createCallExpression(globalToTs(zeros), undefined, [f.createIdentifier(like)]);
}

/**
 * A zero gradient for array `a`: `new Float64Array(a.length)` (for a Float32Array too),
 * `new Array<number>(a.length).fill(0)`, `zerosLike(a)` for a matrix, and for an ArrayLike the
 * kind of what is passed: `Array.isArray(a) ? new Array<number>(a.length).fill(0) : new Float64Array(a.length)`.
 */
export function zeroArray(kind: ValueKind, array: string, zeros?: string, keys?: readonly string[]): ts.Expression {
  if (kind === "records") {
    // points.map(() => ({ x: 0, y: 0 })): a zero record per record.
    const record = f.createObjectLiteralExpression(
      (keys ?? []).map((k) => f.createPropertyAssignment(k, f.createNumericLiteral(0))),
    );
    const zero = f.createArrowFunction(
      undefined,
      undefined,
      [],
      undefined,
      undefined,
      f.createParenthesizedExpression(record),
    );
    return f.createCallExpression(f.createPropertyAccessExpression(f.createIdentifier(array), "map"), undefined, [
      zero,
    ]);
  }
  if (kind === "Matrix")
    return f.createCallExpression(f.createIdentifier(zeros!), undefined, [f.createIdentifier(array)]);
  const length = f.createPropertyAccessExpression(f.createIdentifier(array), "length");
  if (kind === "rows") {
    // A.map((row) => new Array<number>(row.length).fill(0)): zeros of A's shape.
    const row = f.createPropertyAccessExpression(f.createIdentifier("row"), "length");
    const zeros = f.createArrowFunction(
      undefined,
      undefined,
      [f.createParameterDeclaration(undefined, undefined, "row")],
      undefined,
      undefined,
      newArray("number[]", row),
    );
    return f.createCallExpression(f.createPropertyAccessExpression(f.createIdentifier(array), "map"), undefined, [
      zeros,
    ]);
  }
  if (kind === "ArrayLike") {
    const isArray = f.createCallExpression(
      f.createPropertyAccessExpression(f.createIdentifier("Array"), "isArray"),
      undefined,
      [f.createIdentifier(array)],
    );
    return f.createConditionalExpression(
      isArray,
      undefined,
      newArray("number[]", length),
      undefined,
      newArray("Float64Array", length),
    );
  }
  return newArray(kind === "number[]" ? kind : "Float64Array", length);
}
