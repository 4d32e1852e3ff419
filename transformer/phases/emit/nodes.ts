// The small builders every part of emit shares, and those files.ts, calls.ts and module-format.ts
// use for the nodes around generated code:
//   declareConst("h", e)        → const h = e;
//   propertyPath("vec.dot")     → vec.dot

import ts from "typescript";

export const f = ts.factory;

export function declareConst(
  name: string | ts.BindingName,
  value: ts.Expression,
  flags: ts.NodeFlags = ts.NodeFlags.Const,
  type?: ts.TypeNode,
): ts.Statement {
  return f.createVariableStatement(
    undefined,
    f.createVariableDeclarationList([f.createVariableDeclaration(name, undefined, type, value)], flags),
  );
}

/** Does `node` mention the identifier `name`? */
export function reads(node: ts.Node, name: string): boolean {
  if (ts.isIdentifier(node)) return node.text === name;
  return ts.forEachChild(node, (c) => (reads(c, name) ? true : undefined)) ?? false;
}

export const emitStatement = (e: ts.Expression): ts.Statement => f.createExpressionStatement(e);

export const identifier = (name: string) => f.createIdentifier(name);
export const propertyOf = (target: ts.Expression, name: string) => f.createPropertyAccessExpression(target, name);
export const thisExpression = (): ts.Expression => f.createThis();

/** `vec.dot` → the property access (`f` → the identifier). */
export const propertyPath = (path: string): ts.Expression =>
  path
    .split(".")
    .slice(1)
    .reduce<ts.Expression>(
      (e, key) => f.createPropertyAccessExpression(e, key),
      f.createIdentifier(path.split(".")[0]),
    );
