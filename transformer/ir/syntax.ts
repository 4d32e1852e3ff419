// TypeScript as the IR sees it, for the phases that read the user's code (fence, stage, reverse):
// expressions as IR expressions, the array creations tsgrad follows, and parameter types as the
// kinds of values tsgrad differentiates.
//   exprFromTs(`x * (y + 1)`)        → binary("*", ref(x), binary("+", ref(y), num(1)))
//   arrayCreation(`new Float64Array(n)`) → { kind: "Float64Array", length: n }
//   typeTree(type of `{ W: Float64Array; b: number }`) → [W: "Float64Array", b: "number"]

import ts from "typescript";
import { refuse } from "./language.js";
import { type Expr, type ValueKind, num } from "./ir.js";

/**
 * A TypeScript expression as an IR expression, for conditions, opaque values and rule templates.
 * `resolve` maps identifiers (locals to their current names, the rest to globals) and property
 * reads that name a value (`model.W` → W; undefined: the read stays as written, `this.k`).
 */
export function exprFromTs(
  e: ts.Expression,
  resolve: (e: ts.Identifier | ts.PropertyAccessExpression) => Expr | undefined,
): Expr {
  const go = (x: ts.Expression) => exprFromTs(x, resolve);
  if (ts.isNumericLiteral(e)) return num(Number(e.text));
  if (ts.isIdentifier(e)) return resolve(e) ?? { k: "global", text: e.text };
  if (
    ts.isParenthesizedExpression(e) ||
    ts.isAsExpression(e) ||
    ts.isNonNullExpression(e) ||
    ts.isSatisfiesExpression(e)
  ) {
    return go(e.expression);
  }
  if (e.kind === ts.SyntaxKind.TrueKeyword || e.kind === ts.SyntaxKind.FalseKeyword)
    return { k: "global", text: e.getText() };
  if (ts.isPropertyAccessExpression(e)) {
    const field = resolve(e);
    if (field) return field;
  }
  if (ts.isPropertyAccessExpression(e) && isLength(e)) {
    const array = go(e.expression);
    if (array.k === "ref") return { k: "length", array: array.name };
  }
  if (ts.isPropertyAccessExpression(e) && (e.name.text === "rows" || e.name.text === "cols")) {
    const matrix = go(e.expression);
    if (matrix.k === "ref") return { k: "length", array: matrix.name, prop: e.name.text };
  }
  if (ts.isElementAccessExpression(e)) {
    const array = go(e.expression);
    if (array.k === "ref") return { k: "elem", array: array.name, index: go(e.argumentExpression) };
  }
  if (ts.isPropertyAccessExpression(e)) return { k: "global", text: e.getText() };
  if (ts.isPrefixUnaryExpression(e)) {
    if (e.operator === ts.SyntaxKind.PlusToken) return go(e.operand);
    if (e.operator === ts.SyntaxKind.MinusToken) return { k: "unary", op: "-", arg: go(e.operand) };
    if (e.operator === ts.SyntaxKind.ExclamationToken) return { k: "unary", op: "!", arg: go(e.operand) };
  }
  if (ts.isBinaryExpression(e))
    return { k: "binary", op: e.operatorToken.getText(), left: go(e.left), right: go(e.right) };
  if (ts.isConditionalExpression(e))
    return { k: "cond", test: go(e.condition), then: go(e.whenTrue), else: go(e.whenFalse) };
  if (ts.isCallExpression(e)) return { k: "call", callee: e.expression.getText(), args: e.arguments.map(go) };
  throw refuse("unstagedExpression", e, { kind: ts.SyntaxKind[e.kind] });
}

/** new Float64Array(n), new Array(n).fill(0), new Array<number>(n).fill(0) → its kind and length. */
export function arrayCreation(
  e: ts.Expression,
): { kind: "Float64Array" | "number[]"; length: ts.Expression } | undefined {
  const isNew = (x: ts.Expression, name: string): x is ts.NewExpression =>
    ts.isNewExpression(x) && ts.isIdentifier(x.expression) && x.expression.text === name && x.arguments?.length === 1;
  if (isNew(e, "Float64Array")) return { kind: "Float64Array", length: e.arguments![0] };
  if (
    ts.isCallExpression(e) &&
    ts.isPropertyAccessExpression(e.expression) &&
    e.expression.name.text === "fill" &&
    e.arguments.length === 1
  ) {
    const [fill] = e.arguments;
    const inner = e.expression.expression;
    if (ts.isNumericLiteral(fill) && Number(fill.text) === 0 && isNew(inner, "Array"))
      return { kind: "number[]", length: inner.arguments![0] };
  }
  return undefined;
}

/** `a.length` (or `model.W.length`): the length of the array it reads, if it names one. */
export const isLength = (e: ts.PropertyAccessExpression) =>
  e.name.text === "length" && (ts.isIdentifier(e.expression) || ts.isPropertyAccessExpression(e.expression));

/** `(x as T)!` → x: what a cast, a non-null assertion or parentheses wrap. */
export const skipWrappers = (e: ts.Expression): ts.Expression =>
  ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isNonNullExpression(e) || ts.isSatisfiesExpression(e)
    ? skipWrappers(e.expression)
    : e;

/** number → "number", Float64Array → "Float64Array", number[] or readonly number[] → "number[]", tsgrad's Matrix → "Matrix". */
export function kindOf(t: ts.Type, checker: ts.TypeChecker): ValueKind | undefined {
  if (t.flags & ts.TypeFlags.Number) return "number";
  const symbol = t.getSymbol()?.getName();
  if (symbol === "Float64Array" || symbol === "Int32Array") return symbol;
  if (symbol === "Matrix" && ["rows", "cols", "data"].every((p) => t.getProperty(p))) return "Matrix";
  if (checker.isArrayType(t)) {
    const [element] = checker.getTypeArguments(t as ts.TypeReference);
    if (element && element.flags & ts.TypeFlags.Number) return "number[]";
  }
  return undefined;
}

/**
 * The shape of an object parameter's type, field by field, or why tsgrad cannot differentiate it:
 *   interface Model { W: Float64Array; b: number[]; layer: { reg: number } }
 *   → [W: "Float64Array", b: "number[]", layer: [reg: "number"]]
 * Fields are required data properties of a kind tsgrad knows, or objects of them.
 */
export type TypeTree = ValueKind | { key: string; tree: TypeTree }[];

export function typeTree(t: ts.Type, checker: ts.TypeChecker, depth = 0): TypeTree | { error: string } {
  const kind = kindOf(t, checker);
  if (kind) return kind;
  const shown = checker.typeToString(t);
  if (
    !(t.flags & ts.TypeFlags.Object) ||
    t.isUnion() ||
    checker.isArrayType(t) ||
    checker.isTupleType(t) ||
    t.getCallSignatures().length
  ) {
    return { error: `\`${shown}\` is not a number, a number array, a Float64Array, a Matrix or an object of them` };
  }
  if (checker.getIndexInfosOfType(t).length)
    return {
      error: `\`${shown}\` has an index signature; tsgrad needs the fields by name (an interface or a type literal)`,
    };
  if (depth > 8) return { error: `\`${shown}\` nests objects too deeply (or refers to itself)` };
  const fields: { key: string; tree: TypeTree }[] = [];
  for (const p of checker.getPropertiesOfType(t)) {
    const decl = p.valueDeclaration;
    // A constructor's `public w: number` too, and `{ b }` in an inferred return type.
    const data =
      decl &&
      (ts.isPropertySignature(decl) ||
        ts.isPropertyDeclaration(decl) ||
        ts.isPropertyAssignment(decl) ||
        ts.isShorthandPropertyAssignment(decl) ||
        ts.isParameter(decl));
    if (!(p.flags & ts.SymbolFlags.Property) || (decl && !data)) {
      return {
        error: `field \`${p.name}\` of \`${shown}\` is not a data property (methods and accessors have no gradient)`,
      };
    }
    if (p.flags & ts.SymbolFlags.Optional)
      return {
        error: `field \`${p.name}\` of \`${shown}\` is optional; make it required (the gradient has every field)`,
      };
    if (!/^[A-Za-z_$][\w$]*$/.test(p.name))
      return { error: `field \`${p.name}\` of \`${shown}\` is not an identifier` };
    const tree = typeTree(checker.getTypeOfSymbol(p), checker, depth + 1);
    if (!Array.isArray(tree) && typeof tree === "object") return { error: `field \`${p.name}\`: ${tree.error}` };
    fields.push({ key: p.name, tree });
  }
  if (!fields.length) return { error: `\`${shown}\` has no fields` };
  return fields;
}
