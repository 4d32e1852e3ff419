// TypeScript as the IR sees it, for the phases that read the user's code (fence, stage, reverse):
// expressions as IR expressions, the array creations tsgrad follows, and parameter types as the
// kinds of values tsgrad differentiates.
//   exprFromTs(`x * (y + 1)`)        → binary("*", ref(x), binary("+", ref(y), num(1)))
//   arrayCreation(`new Float64Array(n)`) → { kind: "Float64Array", length: n }; `[a, b]` → its elements
//   typeTree(type of `{ W: Float64Array; b: number }`) → [W: "Float64Array", b: "number"]

import ts from "typescript";
import { NUMBER_CONSTANTS, NUMERIC_GLOBALS, isAssignment, isIncrement, refuse } from "./language.js";
import { type Expr, type ValueKind, isArrayKind, num } from "./ir.js";

/**
 * A TypeScript expression as an IR expression, for conditions, opaque values and rule templates.
 * `staged` gives the value of a part the caller stages itself (an assignment); `resolve` maps identifiers (locals to their current names, the rest to globals) and property
 * reads that name a value (`model.W` → W; undefined: the read stays as written, `this.k`).
 */
export function exprFromTs(
  e: ts.Expression,
  resolve: (e: ts.Identifier | ts.PropertyAccessExpression) => Expr | undefined,
  staged?: (e: ts.Expression) => Expr | undefined,
): Expr {
  // An assignment inside (`a[i++]`): the stager runs it as a statement where it is met, in order.
  const early = staged?.(e);
  if (early) return early;
  const go = (x: ts.Expression) => exprFromTs(x, resolve, staged);
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
  // "l2" in `kind === "l2"`, `typeof x === "number"`: strings compared in conditions.
  if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e))
    return { k: "global", text: JSON.stringify(e.text) };
  if (ts.isTypeOfExpression(e)) return { k: "unary", op: "typeof", arg: go(e.expression) };
  if (ts.isPropertyAccessExpression(e)) {
    const field = resolve(e);
    if (field) return field;
  }
  // DATA[i].x of a table of records (ir/tables.ts): the element's field.
  if (ts.isPropertyAccessExpression(e) && ts.isElementAccessExpression(skipWrappers(e.expression))) {
    const element = go(e.expression);
    if (element.k === "elem" && !element.key) return { ...element, key: e.name.text };
  }
  if (ts.isPropertyAccessExpression(e) && isLength(e)) {
    const array = go(e.expression);
    if (array.k === "ref") return { k: "length", array: array.name };
  }
  // A[i].length, row.length of `const row = A[i]`: a row's length.
  if (ts.isPropertyAccessExpression(e) && e.name.text === "length") {
    const row = go(e.expression);
    if (row.k === "elem" && !row.key && !row.inner) return { k: "length", array: row.array, at: row.index };
  }
  if (ts.isPropertyAccessExpression(e) && (e.name.text === "rows" || e.name.text === "cols")) {
    const matrix = go(e.expression);
    if (matrix.k === "ref") return { k: "length", array: matrix.name, prop: e.name.text };
  }
  if (ts.isElementAccessExpression(e)) {
    const array = go(e.expression);
    if (array.k === "ref") return { k: "elem", array: array.name, index: go(e.argumentExpression) };
    // A[i][j] of rows (number[][]): the row's element.
    if (array.k === "elem" && !array.key && !array.inner) return { ...array, inner: go(e.argumentExpression) };
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
  throw refuse("unstagedExpression", e, { kind: expressionKind(e) });
}

/**
 * A new array: its kind and length (an expression, or the length of the array it copies or maps),
 * and what fills it: a literal's elements, a callback of the index, or the elements of `source`,
 * each through `fill` where it maps.
 */
export interface ArrayCreation {
  kind: "Float64Array" | "number[]";
  length?: ts.Expression;
  elements?: readonly ts.Expression[];
  /** `(_, i) => ...` of Array.from({ length: n }, f); `(v, i) => ...` of xs.map(f) (with `source`). */
  fill?: Callback;
  /** xs of xs.slice(), [...xs], Array.from(xs), new Float64Array(xs), xs.map(f): an array read, element by element. */
  source?: ts.Expression;
  /** `(v, i) => ...` of xs.filter(f) (with `source`): which elements it keeps, its length theirs. */
  filter?: Callback;
  /** v of new Array(n).fill(v), v not 0: the value of every element. */
  value?: ts.Expression;
  /** `[]`: empty, grown by `push` (its length counted as it grows). */
  growable?: boolean;
  /** `a.concat(b, c)`, `[...a, ...b]`: the arrays read one after another, its length theirs. */
  joined?: readonly ts.Expression[];
  /** xs.slice(start, end), xs.subarray(start, end) (with `source`): the part read, its length the part's. */
  part?: Part;
}

/**
 * The bounds of `xs.slice(start, end)` or `xs.subarray(start, end)`, counted as JavaScript counts
 * them (an index from the end where negative, clamped to [0, xs.length]); no `end` is xs.length.
 * A `view` (subarray) shares xs's elements: tsgrad reads it as the copy it equals while nothing
 * writes either (the fence's check).
 */
export interface Part {
  start?: ts.Expression;
  end?: ts.Expression;
  view: boolean;
}

/**
 * new Float64Array(n), new Array(n).fill(0), [a, b], Array.from({ length: n }, f): a new array, its
 * kind and length; a copy (xs.slice(), [...xs], Array.from(xs), Float64Array.from(xs),
 * new Float64Array(xs)) or a map (xs.map(f), Array.from(xs, f), Float64Array.from(xs, f)) of the
 * array xs, its length xs's. The checker tells `new Float64Array(n)` from `new Float64Array(xs)`.
 */
export function arrayCreation(e: ts.Expression, checker: ts.TypeChecker): ArrayCreation | undefined {
  const copied = copyOrMap(e, checker);
  if (copied) return copied;
  // Array.from({ length: n }, (_, i) => ...): n elements, each the callback's value at its index.
  if (ts.isCallExpression(e) && e.expression.getText() === "Array.from" && e.arguments.length === 2) {
    const [shape, fill] = e.arguments.map(skipWrappers);
    const only = ts.isObjectLiteralExpression(shape) && shape.properties.length === 1 ? shape.properties[0] : undefined;
    const callback = ts.isArrowFunction(fill) || ts.isFunctionExpression(fill) ? fill : undefined;
    if (only && ts.isPropertyAssignment(only) && only.name.getText() === "length" && callback)
      return { kind: "number[]", length: only.initializer, fill: callback };
  }
  // const out: number[] = []: empty, grown by push.
  if (ts.isArrayLiteralExpression(e) && e.elements.length === 0)
    return { kind: "number[]", length: ts.factory.createNumericLiteral(0), growable: true };
  // [a, b * 2, 0.5]: an array of its elements' values, written in order (the fence checks they are numbers).
  if (ts.isArrayLiteralExpression(e) && e.elements.length > 0) {
    const plain = e.elements.every((x) => !ts.isSpreadElement(x) && !ts.isOmittedExpression(x));
    const length = ts.factory.createNumericLiteral(e.elements.length);
    if (plain) return { kind: "number[]", length, elements: e.elements };
  }
  const isNew = (x: ts.Expression, name: string): x is ts.NewExpression =>
    ts.isNewExpression(x) && ts.isIdentifier(x.expression) && x.expression.text === name && x.arguments?.length === 1;
  if (isNew(e, "Float64Array") && isNumberType(checker.getTypeAtLocation(e.arguments![0])))
    return { kind: "Float64Array", length: e.arguments![0] };
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
    // new Array(n).fill(1 / n): every element that value.
    if (isNew(inner, "Array")) return { kind: "number[]", length: inner.arguments![0], value: fill };
  }
  return undefined;
}

const isNumberType = (t: ts.Type) => (t.flags & ts.TypeFlags.NumberLike) !== 0;

/** xs.slice(), [...xs], Array.from(xs[, f]), Float64Array.from(xs[, f]), new Float64Array(xs), xs.map(f). */
function copyOrMap(e: ts.Expression, checker: ts.TypeChecker): ArrayCreation | undefined {
  const callback = (x: ts.Expression | undefined) => {
    const f = x && skipWrappers(x);
    return f && (ts.isArrowFunction(f) || ts.isFunctionExpression(f)) ? f : undefined;
  };
  const isArray = (x: ts.Expression) => !isNumberType(checker.getTypeAtLocation(x));
  // [...xs]
  if (ts.isArrayLiteralExpression(e) && e.elements.length === 1 && ts.isSpreadElement(e.elements[0]))
    return { kind: "number[]", source: e.elements[0].expression };
  // [...a, ...b]
  if (ts.isArrayLiteralExpression(e) && e.elements.length > 1 && e.elements.every(ts.isSpreadElement))
    return { kind: "number[]", joined: e.elements.map((x) => (x as ts.SpreadElement).expression) };
  // new Float64Array(xs)
  if (ts.isNewExpression(e) && e.expression.getText() === "Float64Array" && e.arguments?.length === 1) {
    const [source] = e.arguments;
    return isArray(source) ? { kind: "Float64Array", source } : undefined;
  }
  if (!ts.isCallExpression(e) || !ts.isPropertyAccessExpression(e.expression)) return undefined;
  const [first, second] = e.arguments;
  const method = e.expression.name.text;
  const owner = e.expression.expression;
  // Array.from(xs), Array.from(xs, f), Float64Array.from(xs, f): not Array.from({ length: n }, f).
  if (method === "from" && ts.isIdentifier(owner) && (owner.text === "Array" || owner.text === "Float64Array")) {
    const kind = owner.text === "Array" ? "number[]" : "Float64Array";
    if (!first || ts.isObjectLiteralExpression(skipWrappers(first)) || e.arguments.length > 2) return undefined;
    if (second && !callback(second)) return undefined;
    return { kind, source: first, fill: callback(second) };
  }
  if (method === "slice" && e.arguments.length === 0) return { kind: "number[]", source: owner };
  // xs.slice(1), xs.slice(a, b), xs.subarray(a, b) of an array of numbers: a Float64Array's part is one too.
  const numbers = kindOf(checker.getTypeAtLocation(owner), checker);
  const spread = e.arguments.some(ts.isSpreadElement);
  if ((method === "slice" || method === "subarray") && isArrayKind(numbers) && !spread && e.arguments.length <= 2) {
    const kind = numbers === "Float64Array" ? "Float64Array" : "number[]";
    return { kind, source: owner, part: { start: first, end: second, view: method === "subarray" } };
  }
  // a.concat(b, c) of arrays
  if (method === "concat" && e.arguments.length > 0 && e.arguments.every(isArray) && isArray(owner))
    return { kind: "number[]", joined: [owner, ...e.arguments] };
  if (method === "filter" && e.arguments.length === 1 && callback(first))
    return { kind: "number[]", source: owner, filter: callback(first) };
  if (method === "map" && e.arguments.length === 1 && callback(first))
    return { kind: "number[]", source: owner, fill: callback(first) };
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

/**
 * The kind of value a type holds (see ValueKind), or undefined for a type tsgrad cannot take:
 *   number → "number";  Float64Array → "Float64Array";  number[], readonly number[], [number, number] → "number[]"
 *   Float32Array → "Float32Array";  ArrayLike<number>, number[] | Float64Array → "ArrayLike"
 *   T extends ArrayLike<number> → its constraint's kind;  tsgrad's Matrix → "Matrix";  Int32Array → "Int32Array"
 *   boolean, string, "l1" | "l2", an enum, 1 | 2 → "data"
 */
export function kindOf(t: ts.Type, checker: ts.TypeChecker): ValueKind | undefined {
  if (t.flags & ts.TypeFlags.TypeParameter) {
    const constraint = checker.getBaseConstraintOfType(t);
    return constraint && constraint !== t ? kindOf(constraint, checker) : undefined;
  }
  if (t.flags & ts.TypeFlags.Number) return "number";
  if (isDataType(t)) return "data";
  if (t.isUnion()) return unionKind(t.types.map((part) => kindOf(part, checker)));
  const symbol = t.getSymbol()?.getName();
  if (symbol === "Float64Array" || symbol === "Int32Array" || symbol === "Float32Array") return symbol;
  if (symbol === "Matrix" && ["rows", "cols", "data"].every((p) => t.getProperty(p))) return "Matrix";
  if (checker.isArrayType(t) || checker.isTupleType(t)) {
    const elements = checker.getTypeArguments(t as ts.TypeReference);
    // A tuple's elements, a rest element's type too ([number, ...number[]] has number for it).
    if (elements.length && elements.every((e) => e.flags & ts.TypeFlags.Number)) return "number[]";
    // number[][], readonly (readonly number[])[]: rows of plain arrays.
    if (checker.isArrayType(t) && elements.length === 1 && kindOf(elements[0], checker) === "number[]") return "rows";
    // { x: number; y: number }[], readonly Point[]: records of numbers.
    if (checker.isArrayType(t) && elements.length === 1 && recordKeys(elements[0], checker)) return "records";
    return undefined;
  }
  if (symbol === "ArrayLike") {
    const [element] = checker.getTypeArguments(t as ts.TypeReference);
    if (element && element.flags & ts.TypeFlags.Number) return "ArrayLike";
  }
  return undefined;
}

/**
 * The fields of a record of numbers, `{ x: number; y: number }` → ["x", "y"] (an interface, a type
 * literal, a class's data): every field a required number; undefined for any other type.
 */
export function recordKeys(t: ts.Type, checker: ts.TypeChecker): string[] | undefined {
  if (!(t.flags & ts.TypeFlags.Object) || checker.isArrayType(t) || checker.isTupleType(t)) return undefined;
  if (t.getCallSignatures().length || kindOf(t, checker) !== undefined) return undefined;
  const tree = typeTree(t, checker);
  if (!Array.isArray(tree) || !tree.every((f) => f.tree === "number")) return undefined;
  return tree.map((f) => f.key);
}

/** `number[] | readonly number[]` → "number[]", `Float32Array | Float64Array` → "Float32Array", other arrays → "ArrayLike". */
function unionKind(parts: (ValueKind | undefined)[]): ValueKind | undefined {
  if (!parts.every((k) => k === "number[]" || k === "Float64Array" || k === "Float32Array" || k === "ArrayLike"))
    return undefined;
  if (parts.every((k) => k === "number[]")) return "number[]";
  if (parts.every((k) => k === "Float64Array")) return "Float64Array";
  if (parts.every((k) => k === "Float64Array" || k === "Float32Array")) return "Float32Array";
  return "ArrayLike";
}

/** Strings, booleans, enums and number literals, alone or in a union: values a function branches on. */
const DATA_FLAGS =
  ts.TypeFlags.StringLike | ts.TypeFlags.BooleanLike | ts.TypeFlags.EnumLike | ts.TypeFlags.NumberLiteral;

function isDataType(t: ts.Type): boolean {
  return (t.isUnion() ? t.types : [t]).every((part) => (part.flags & DATA_FLAGS) !== 0);
}

/**
 * A parameter's type as passed, without the `undefined` of one that may be left out:
 * `scale?: number` and `a = 2` are numbers (the body handles `undefined`, or the default stands in).
 */
export function parameterType(p: ts.ParameterDeclaration, checker: ts.TypeChecker): ts.Type {
  const t = checker.getTypeAtLocation(p);
  return p.questionToken || p.initializer ? checker.getNonNullableType(t) : t;
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
  if (t.isUnion() && t.types.some((part) => part.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)))
    return {
      error: `\`${shown}\` can be ${t.types.some((part) => part.flags & ts.TypeFlags.Null) ? "null" : "undefined"}; a parameter that may be left out is written \`x?: number\` or with a default (\`x = 1\`)`,
    };
  if (t.isUnion())
    return {
      error: `\`${shown}\` mixes kinds of values; a union is taken when it is all arrays of numbers (\`number[] | Float64Array\`) or all data (\`"l1" | "l2"\`)`,
    };
  if (checker.isArrayType(t) || checker.isTupleType(t))
    return { error: `\`${shown}\` is an array of something other than numbers` };
  if (
    ts.TypeFlags.Object & t.flags &&
    /^(Ui|I)nt(8|16|32)Array$|^Uint8ClampedArray$|^Big/.test(t.getSymbol()?.name ?? "")
  )
    return {
      error: `\`${shown}\` holds integers; tsgrad differentiates \`Float64Array\` and \`Float32Array\`, and reads \`Int32Array\` as labels (data)`,
    };
  if (!(t.flags & ts.TypeFlags.Object) || t.getCallSignatures().length) {
    return {
      error: `\`${shown}\` is not a number, an array of numbers, a Matrix, data (a boolean, a string or an enum) or an object of them`,
    };
  }
  if (checker.getIndexInfosOfType(t).length)
    return {
      error: `\`${shown}\` has an index signature; tsgrad needs the fields by name (an interface or a type literal)`,
    };
  if (depth > 8) return { error: `\`${shown}\` nests objects too deeply (or refers to itself)` };
  const fields: { key: string; tree: TypeTree }[] = [];
  for (const p of checker.getPropertiesOfType(t)) {
    const decl = p.valueDeclaration;
    // A class's methods and accessors, and fields holding functions: no gradient, left out of the
    // object's (the fence refuses reading them in a @differentiable function).
    if (decl && isBehaviour(decl, checker)) continue;
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

/**
 * A class member that is behaviour, not data: a method, a getter or setter, a field holding a
 * function (`onStep = () => ...`). A class-typed parameter's gradient has its data fields alone.
 */
export function isBehaviour(decl: ts.Declaration, checker: ts.TypeChecker): boolean {
  if (!ts.isClassLike(decl.parent)) return false;
  if (ts.isMethodDeclaration(decl) || ts.isGetAccessorDeclaration(decl) || ts.isSetAccessorDeclaration(decl))
    return true;
  return ts.isPropertyDeclaration(decl) && checker.getTypeAtLocation(decl).getCallSignatures().length > 0;
}

/**
 * `NaN`, `Infinity`, `Number.EPSILON`: a number the language defines, read as a constant (unless
 * the user's own declaration hides the name):
 *   Infinity → true;  Number.EPSILON → true;  Number.parseFloat → false;  a local `NaN` → false
 */
export function isGlobalConstant(e: ts.Expression, checker: ts.TypeChecker): boolean {
  const fromLib = (id: ts.Expression): boolean =>
    checker.getSymbolAtLocation(id)?.declarations?.every((d) => d.getSourceFile().isDeclarationFile) === true;
  if (ts.isIdentifier(e)) return NUMERIC_GLOBALS.includes(e.text) && fromLib(e);
  return (
    ts.isPropertyAccessExpression(e) &&
    ts.isIdentifier(e.expression) &&
    e.expression.text === "Number" &&
    NUMBER_CONSTANTS.includes(e.name.text) &&
    fromLib(e.expression)
  );
}

/**
 * The Math function a name stands for, where a `const` makes it an alias of one:
 *   const sqrt = Math.sqrt;  const { exp, log: ln } = Math;   sqrt → "Math.sqrt", ln → "Math.log"
 */
export function mathAlias(callee: ts.Expression, checker: ts.TypeChecker): string | undefined {
  if (!ts.isIdentifier(callee)) return undefined;
  const decl = checker.getSymbolAtLocation(callee)?.valueDeclaration;
  if (!decl || !(ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const)) return undefined;
  const isMath = (e: ts.Expression | undefined): boolean => {
    if (!e || !ts.isIdentifier(e) || e.text !== "Math") return false;
    return checker.getSymbolAtLocation(e)?.declarations?.every((d) => d.getSourceFile().isDeclarationFile) === true;
  };
  if (ts.isVariableDeclaration(decl) && decl.initializer) {
    const init = skipWrappers(decl.initializer);
    if (ts.isPropertyAccessExpression(init) && isMath(init.expression)) return `Math.${init.name.text}`;
  }
  if (ts.isBindingElement(decl) && ts.isObjectBindingPattern(decl.parent) && !decl.dotDotDotToken) {
    const holder = decl.parent.parent;
    const key = decl.propertyName ?? decl.name;
    if (
      ts.isVariableDeclaration(holder) &&
      isMath(holder.initializer && skipWrappers(holder.initializer)) &&
      ts.isIdentifier(key)
    )
      return `Math.${key.text}`;
  }
  return undefined;
}

/** What an expression is, in the words of a message: `new Foo()` → "`new`", `\`${x}\`` → "a template string". */
export function expressionKind(e: ts.Node): string {
  const words: Partial<Record<ts.SyntaxKind, string>> = {
    [ts.SyntaxKind.NewExpression]: "`new`",
    [ts.SyntaxKind.TemplateExpression]: "a template string",
    [ts.SyntaxKind.TaggedTemplateExpression]: "a tagged template",
    [ts.SyntaxKind.VoidExpression]: "`void`",
    [ts.SyntaxKind.DeleteExpression]: "`delete`",
    [ts.SyntaxKind.TypeOfExpression]: "`typeof`",
    [ts.SyntaxKind.TypeAssertionExpression]: "a `<T>` cast",
    [ts.SyntaxKind.AwaitExpression]: "`await`",
    [ts.SyntaxKind.YieldExpression]: "`yield`",
    [ts.SyntaxKind.RegularExpressionLiteral]: "a regular expression",
    [ts.SyntaxKind.NullKeyword]: "`null`",
    [ts.SyntaxKind.BigIntLiteral]: "a bigint",
    [ts.SyntaxKind.SpreadElement]: "a spread",
    [ts.SyntaxKind.ClassExpression]: "a class",
    [ts.SyntaxKind.ThisKeyword]: "`this`",
    [ts.SyntaxKind.SuperKeyword]: "`super`",
  };
  return words[e.kind] ?? "this kind of expression";
}

/** `x = e`, `x += e`, `i++`, `--i`: a change of a variable (or an element). */
export function isChange(n: ts.Node): n is ts.BinaryExpression | ts.PrefixUnaryExpression | ts.PostfixUnaryExpression {
  if (ts.isBinaryExpression(n)) return isAssignment(n.operatorToken.kind);
  return (ts.isPrefixUnaryExpression(n) || ts.isPostfixUnaryExpression(n)) && isIncrement(n.operator);
}

/** `x = e`, `i++`, or `a, b`: an expression the stager runs as the statements it means. */
export function isUpdate(e: ts.Expression): boolean {
  return isChange(e) || (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.CommaToken);
}

/** Does `n` change a variable somewhere inside (`(n -= 1) > 0`), not counting nested functions? */
export function containsChange(n: ts.Node): boolean {
  if (isChange(n)) return true;
  if (ts.isFunctionLike(n)) return false;
  return ts.forEachChild(n, (c) => (containsChange(c) ? true : undefined)) ?? false;
}

/** `x` in `x = e`, `x += e`, `x++`, `--x`. */
export function assignedIdentifier(n: ts.Node): ts.Identifier | undefined {
  if (!isChange(n)) return undefined;
  const target = ts.isBinaryExpression(n) ? n.left : n.operand;
  return ts.isIdentifier(target) ? target : undefined;
}

/** Is `node` inside `ancestor` (or it)? */
export function within(node: ts.Node, ancestor: ts.Node): boolean {
  for (let n: ts.Node | undefined = node; n; n = n.parent) if (n === ancestor) return true;
  return false;
}

/** A function tsgrad inlines: an arrow or a function expression written in place, or a local function. */
export type Callback = ts.ArrowFunction | ts.FunctionExpression | ts.FunctionDeclaration;

/**
 * An array method with a callback, which the stager lowers to the loop it stands for:
 *   xs.reduce((acc, v, i) => ..., init)                    → reduce over xs, init (or none)
 *   xs.map((v, i) => ...), Array.from(xs, (v, i) => ...)   → map over xs
 * The receiver's type is the caller's to check (an array, not a string's `map`).
 */
export function arrayCallback(
  c: ts.CallExpression,
): { method: "reduce" | "map"; array: ts.Expression; callback: Callback; init?: ts.Expression } | undefined {
  const callee = skipWrappers(c.expression);
  if (!ts.isPropertyAccessExpression(callee)) return undefined;
  const written = (e: ts.Expression | undefined): Callback | undefined => {
    const x = e && skipWrappers(e);
    return x && (ts.isArrowFunction(x) || ts.isFunctionExpression(x)) ? x : undefined;
  };
  const name = callee.name.text;
  const [first, second] = c.arguments;
  if (name === "from" && ts.isIdentifier(callee.expression) && callee.expression.text === "Array") {
    const callback = c.arguments.length === 2 ? written(second) : undefined;
    return callback && { method: "map", array: first, callback };
  }
  const callback = written(first);
  if (!callback) return undefined;
  if (name === "reduce" && c.arguments.length <= 2)
    return { method: "reduce", array: callee.expression, callback, init: second };
  if (name === "map" && c.arguments.length === 1) return { method: "map", array: callee.expression, callback };
  return undefined;
}

/**
 * A search of an array, whose result is data no gradient flows through (a boolean, an index), or
 * the element it finds:
 *   xs.some((v, i) => ...), xs.every(f), xs.findIndex(f), xs.findLastIndex(f)   → with its callback
 *   xs.find(f), xs.findLast(f)                                                  → the element (or undefined)
 *   xs.indexOf(v), xs.includes(v)                                               → with the value sought
 */
export interface ArraySearch {
  method: SearchMethod;
  array: ts.Expression;
  callback?: Callback;
  sought?: ts.Expression;
}

const CALLBACK_SEARCHES = ["some", "every", "findIndex", "findLastIndex", "find", "findLast"] as const;
export type SearchMethod = (typeof CALLBACK_SEARCHES)[number] | "indexOf" | "includes";
const isCallbackSearch = (m: string): m is (typeof CALLBACK_SEARCHES)[number] =>
  (CALLBACK_SEARCHES as readonly string[]).includes(m);

export function arraySearch(c: ts.CallExpression): ArraySearch | undefined {
  const callee = skipWrappers(c.expression);
  if (!ts.isPropertyAccessExpression(callee) || c.arguments.length !== 1) return undefined;
  const method = callee.name.text;
  const [arg] = c.arguments;
  const x = skipWrappers(arg);
  const callback = ts.isArrowFunction(x) || ts.isFunctionExpression(x) ? x : undefined;
  if (isCallbackSearch(method) && callback) return { method, array: callee.expression, callback };
  if ((method === "indexOf" || method === "includes") && !callback)
    return { method, array: callee.expression, sought: arg };
  return undefined;
}

/** xs.forEach((v, i) => { ... }): the array and the callback written in place. */
export function forEachCall(c: ts.CallExpression): { array: ts.Expression; callback: Callback } | undefined {
  const callee = skipWrappers(c.expression);
  if (!ts.isPropertyAccessExpression(callee) || callee.name.text !== "forEach" || c.arguments.length !== 1)
    return undefined;
  const f = skipWrappers(c.arguments[0]);
  return ts.isArrowFunction(f) || ts.isFunctionExpression(f) ? { array: callee.expression, callback: f } : undefined;
}

/** `xs.entries()` in `for (const [i, v] of xs.entries())`: xs. */
export function entriesOf(e: ts.Expression): ts.Expression | undefined {
  const x = skipWrappers(e);
  if (!ts.isCallExpression(x) || x.arguments.length || !ts.isPropertyAccessExpression(x.expression)) return undefined;
  return x.expression.name.text === "entries" ? x.expression.expression : undefined;
}

/**
 * `const toRad = (d: number) => (d * Math.PI) / 180` declared in a function: the arrow or function
 * expression a `const` names, which the stager inlines where it is called.
 */
export function localHelper(d: ts.Node): Callback | undefined {
  if (ts.isFunctionDeclaration(d) && d.name && d.body && !ts.isSourceFile(d.parent)) return d;
  if (!ts.isVariableDeclaration(d) || !ts.isIdentifier(d.name) || !d.initializer) return undefined;
  if (!(ts.getCombinedNodeFlags(d) & ts.NodeFlags.Const)) return undefined;
  const init = skipWrappers(d.initializer);
  return ts.isArrowFunction(init) || ts.isFunctionExpression(init) ? init : undefined;
}
