// A generated function's declaration: its parameters (the user's, object parameters' fields
// unpacked first, those it never reads marked unused), its doc comment, function or method:
//   the body of dot's gradient, which reads no `x`
//     → /** Gradient of `dot` ... */ export function dot_grad(_x: number, y: number): [dx: number, dy: number] {

import ts from "typescript";
import type { Output, ParamTree, ValueKind } from "../../ir/ir.js";
import { declareConst, f, reads } from "./nodes.js";
import type { FunctionShape } from "./shape.js";
import { typeOf } from "./types.js";

const parameters = (names: readonly string[], kinds?: readonly ValueKind[], types?: readonly (string | undefined)[]) =>
  names.map((p, i) =>
    f.createParameterDeclaration(undefined, undefined, p, undefined, typeOf(kinds?.[i] ?? "number", false, types?.[i])),
  );

/**
 * The user's parameters: an object parameter under its type as written (`model: Model`); an
 * optional one with its `?`, a defaulted one with the user's default (`a: number = 2`), which the
 * generated function evaluates when the argument is left out, as the user's does.
 */
const signatureParameters = (shape: FunctionShape) =>
  shape.signature
    ? shape.signature.map((p) =>
        f.createParameterDeclaration(
          undefined,
          undefined,
          p.name,
          p.optional && !p.optional.initializer ? f.createToken(ts.SyntaxKind.QuestionToken) : undefined,
          p.tree.k === "leaf"
            ? typeOf(p.tree.kind, false, p.type, p.tree.keys)
            : p.type
              ? f.createTypeReferenceNode(p.type)
              : undefined,
          p.optional?.initializer,
        ),
      )
    : parameters(shape.params, shape.kinds, shape.types);

/**
 * `const { W1, b1, layer: { W: layer_W } } = model;` at the top of a generated function: the fields
 * of object parameters its body reads, under their staged names. Fields it does not read are left out.
 */
function unpackFields(shape: FunctionShape, body: readonly ts.Statement[]): ts.Statement[] {
  if (!shape.signature) return [];
  const used = new Set<string>();
  // Identifiers read, not property names (`cache.W`, `{ W: dW }`); built nodes have no parent links.
  const visit = (n: ts.Node): void => {
    if (ts.isIdentifier(n)) used.add(n.text);
    else if (ts.isPropertyAccessExpression(n)) visit(n.expression);
    else if (ts.isPropertyAssignment(n)) visit(n.initializer);
    else ts.forEachChild(n, visit);
  };
  body.forEach(visit);
  const pattern = (tree: ParamTree): ts.ObjectBindingPattern | undefined => {
    if (tree.k === "leaf") return undefined;
    const elements = tree.fields.flatMap((fl): ts.BindingElement[] => {
      if (fl.tree.k === "leaf")
        return used.has(fl.tree.name)
          ? [f.createBindingElement(undefined, fl.key === fl.tree.name ? undefined : fl.key, fl.tree.name)]
          : [];
      const inner = pattern(fl.tree);
      return inner ? [f.createBindingElement(undefined, fl.key, inner)] : [];
    });
    return elements.length ? f.createObjectBindingPattern(elements) : undefined;
  };
  return shape.signature.flatMap((p) => {
    const binding = pattern(p.tree);
    return binding ? [declareConst(binding, f.createIdentifier(p.name))] : [];
  });
}

/** A generated function taking the user's parameters, their fields unpacked first. */
export function declareWithParameters(
  shape: FunctionShape,
  name: string,
  extra: ts.ParameterDeclaration[],
  type: ts.TypeNode | undefined,
  body: ts.Statement[],
  doc: string,
  after: ts.ParameterDeclaration[] = [],
) {
  const own = after.length ? signatureParameters(shape).map(required) : signatureParameters(shape);
  return declareFunction(shape, name, [...extra, ...own, ...after], type, [...unpackFields(shape, body), ...body], doc);
}

/**
 * `w?: number` → `w: number | undefined`, for a parameter that other parameters follow (a
 * pullback's seed and buffers), where an optional one cannot stand; its callers pass `undefined`.
 */
function required(p: ts.ParameterDeclaration): ts.ParameterDeclaration {
  if (!p.questionToken) return p;
  const type = p.type && f.createUnionTypeNode([p.type, f.createKeywordTypeNode(ts.SyntaxKind.UndefinedKeyword)]);
  return f.updateParameterDeclaration(p, p.modifiers, p.dotDotDotToken, p.name, undefined, type, p.initializer);
}

export function declareFunction(
  shape: FunctionShape,
  name: string,
  params: ts.ParameterDeclaration[],
  type: ts.TypeNode | undefined,
  body: ts.Statement[],
  doc: string,
): ts.Statement | ts.ClassElement {
  const block = f.createBlock(body, true);
  params = params.map((p) => markedUnused(p, block));
  let node: ts.FunctionDeclaration | ts.MethodDeclaration;
  if (shape.method) {
    const modifiers = shape.method.isStatic ? [f.createModifier(ts.SyntaxKind.StaticKeyword)] : undefined;
    node = f.createMethodDeclaration(modifiers, undefined, name, undefined, undefined, params, type, block);
  } else {
    const modifiers = shape.exported ? [f.createModifier(ts.SyntaxKind.ExportKeyword)] : undefined;
    node = f.createFunctionDeclaration(modifiers, undefined, name, undefined, params, type, block);
  }
  // Mapped to the user's function, but not its original node: tsc's CommonJS transform exports a
  // function by its original node, and would export the user's f again instead of f_grad.
  ts.setSourceMapRange(node, shape.source);
  return ts.addSyntheticLeadingComment(node, ts.SyntaxKind.MultiLineCommentTrivia, `* ${doc} `, true);
}

/**
 * A parameter the body never reads keeps its place, named `_x`, so that builds with
 * noUnusedParameters accept the generated code: `dot_grad(_x: number)` when the gradient of a
 * linear function does not depend on x, `f_backward(_cache, df)` when nothing was kept.
 */
function markedUnused(p: ts.ParameterDeclaration, body: ts.Block): ts.ParameterDeclaration {
  if (!ts.isIdentifier(p.name) || p.name.text.startsWith("_") || reads(body, p.name.text)) return p;
  return f.updateParameterDeclaration(
    p,
    p.modifiers,
    p.dotDotDotToken,
    f.createIdentifier(`_${p.name.text}`),
    p.questionToken,
    p.type,
    p.initializer,
  );
}

/** The value a function returns: its result's name, or `{ loss: loss_1, h }` for the fields of an object. */
export function resultValue(
  result: string | readonly Output[],
  copies: ReadonlySet<string> = new Set(),
): ts.Expression {
  const value = (name: string) =>
    copies.has(name)
      ? f.createCallExpression(f.createPropertyAccessExpression(f.createIdentifier(name), "slice"), undefined, [])
      : f.createIdentifier(name);
  if (typeof result === "string") return value(result);
  return f.createObjectLiteralExpression(
    result.map((o) =>
      o.key === o.name && !copies.has(o.name)
        ? f.createShorthandPropertyAssignment(o.key)
        : f.createPropertyAssignment(o.key, value(o.name)),
    ),
  );
}
