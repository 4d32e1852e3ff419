// The types generated code writes out: a local's, a parameter's, a gradient's:
//   { k: "let", name: "g_1_call", type: { forward: "g_forward" } }  → let g_1_call: ReturnType<typeof g_forward>;
//   a parameter of kind "number[]"                                  → xs: readonly number[]  (its gradient number[])

import ts from "typescript";
import { type ValueKind, type ValueType, isCallResult, isDataKind, isMatrixType } from "../../ir/ir.js";
import { f } from "./nodes.js";

export const numberType = () => f.createKeywordTypeNode(ts.SyntaxKind.NumberKeyword);

/**
 * A local's declared type where it is not a number: boolean, or a recursive call's result,
 * `ReturnType<typeof g_forward>`. Inside f_forward (`spelledOut`), whose inferred return type
 * holds the result (in its cache), it is spelled out, `{ value: number; cache:
 * ReturnType<typeof g_forward>["cache"] }`: TypeScript resolves the fields of a written-out type
 * only when needed, so f_forward's type can contain its own. (A `const` needs no type: were every
 * call around a cycle outside branches, the recursion would never end; some call on the way is
 * in a branch, and its `let`, declared before the branch, has this type.)
 */
export function valueType(type: ValueType | undefined): ts.TypeNode {
  if (type === "boolean") return f.createKeywordTypeNode(ts.SyntaxKind.BooleanKeyword);
  if (isMatrixType(type)) return f.createTypeReferenceNode(type.matrix);
  if (!isCallResult(type)) return numberType();
  const [first, ...rest] = type.forward.split(".");
  const forward = f.createTypeQueryNode(
    rest.reduce<ts.EntityName>((q, part) => f.createQualifiedName(q, part), f.createIdentifier(first)),
  );
  const result = f.createTypeReferenceNode("ReturnType", [forward]);
  if (!spelledOut) return result;
  const cache = f.createIndexedAccessTypeNode(result, f.createLiteralTypeNode(f.createStringLiteral("cache")));
  const literal = f.createTypeLiteralNode([
    f.createPropertySignature(undefined, "value", undefined, numberType()),
    f.createPropertySignature(undefined, "cache", undefined, cache),
  ]);
  return ts.setEmitFlags(literal, ts.EmitFlags.SingleLine);
}

/** Set while emitting f_forward: recursive calls' results are typed field by field (see valueType). */
let spelledOut = false;

export function spellingOut<T>(build: () => T): T {
  spelledOut = true;
  try {
    return build();
  } finally {
    spelledOut = false;
  }
}

/**
 * A parameter's type, or its gradient's (see ValueKind): number → number; an array takes
 * `readonly number[]`, `Float64Array` or `ArrayLike<number>` (Float32Array, unions, type
 * parameters), its gradient `number[]`, `Float64Array` or `number[] | Float64Array`; data (labels,
 * modes, flags) has the type the user wrote, and no gradient: `undefined`.
 */
export function typeOf(kind: ValueKind, gradient: boolean, written?: string, keys?: readonly string[]): ts.TypeNode {
  if (kind === "records") {
    // points: readonly Point[] as written; its gradient { x: number; y: number }[].
    if (!gradient && written) return f.createTypeReferenceNode(written);
    const record = f.createTypeLiteralNode(
      (keys ?? []).map((k) => f.createPropertySignature(undefined, k, undefined, numberType())),
    );
    const array = f.createArrayTypeNode(record);
    return gradient ? array : f.createTypeOperatorNode(ts.SyntaxKind.ReadonlyKeyword, array);
  }
  if (gradient && isDataKind(kind)) return f.createKeywordTypeNode(ts.SyntaxKind.UndefinedKeyword);
  if (kind === "Float64Array" || kind === "Int32Array") return f.createTypeReferenceNode(kind);
  if (kind === "Matrix") return f.createTypeReferenceNode(written ?? "Matrix");
  if (kind === "number[]") {
    const array = f.createArrayTypeNode(numberType());
    return gradient ? array : f.createTypeOperatorNode(ts.SyntaxKind.ReadonlyKeyword, array);
  }
  if (kind === "rows") {
    // readonly (readonly number[])[]; its gradient number[][].
    const row = f.createArrayTypeNode(numberType());
    if (gradient) return f.createArrayTypeNode(row);
    const readonlyRow = f.createTypeOperatorNode(ts.SyntaxKind.ReadonlyKeyword, row);
    return f.createTypeOperatorNode(
      ts.SyntaxKind.ReadonlyKeyword,
      f.createArrayTypeNode(f.createParenthesizedType(readonlyRow)),
    );
  }
  if (kind === "Float32Array" || kind === "ArrayLike") {
    const float64 = f.createTypeReferenceNode("Float64Array");
    if (!gradient) return f.createTypeReferenceNode("ArrayLike", [numberType()]);
    return kind === "Float32Array" ? float64 : f.createUnionTypeNode([f.createArrayTypeNode(numberType()), float64]);
  }
  if (kind === "data")
    return written ? f.createTypeReferenceNode(written) : f.createKeywordTypeNode(ts.SyntaxKind.UnknownKeyword);
  return numberType();
}
