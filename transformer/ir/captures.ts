// Captured values: what a @differentiable function nested in another reads of the enclosing
// function's parameters and locals.
//
//   function backIn(s: number) {
//     return /** @differentiable *\/ (t: number) => t * t * ((s + 1) * t - s);   // s: captured
//   }
//
// A captured value is a constant of the call: no gradient flows to it, f_grad reads it as the
// function does, and vjp's forward pass keeps it in its cache (the enclosing code may change it
// before the backward pass runs). That is exact when nothing can change it while the function
// runs: only code of the enclosing function assigns it, never a function nested there (which
// the function, or something it calls, could call).

import ts from "typescript";
import { assignedIdentifier, within } from "./syntax.js";

/**
 * The declaration of the enclosing function's parameter or local that `id` names inside `fn`:
 *   `s` in the closure above → the parameter `s` of backIn
 *   a module-level name, a global, fn's own locals → undefined
 */
export function capturedDeclaration(
  id: ts.Identifier,
  fn: ts.Node,
  checker: ts.TypeChecker,
): ts.VariableDeclaration | ts.ParameterDeclaration | ts.BindingElement | undefined {
  const decl = checker.getSymbolAtLocation(id)?.valueDeclaration;
  if (!decl || !(ts.isVariableDeclaration(decl) || ts.isParameter(decl) || ts.isBindingElement(decl))) return undefined;
  if (within(decl, fn)) return undefined;
  const scope = functionOf(decl);
  return scope && within(fn, scope) ? decl : undefined;
}

/**
 * An assignment of the captured variable inside a function nested in the one declaring it (not
 * that function's own code), which could run while the closure does:
 *   let k = 0; xs.forEach((v) => { k += v; });   → `k += v`
 */
export function assignedInNestedFunction(
  decl: ts.VariableDeclaration | ts.ParameterDeclaration | ts.BindingElement,
  checker: ts.TypeChecker,
): ts.Node | undefined {
  const scope = functionOf(decl);
  const symbol = ts.isIdentifier(decl.name) ? checker.getSymbolAtLocation(decl.name) : undefined;
  if (!scope || !symbol) return undefined;
  let found: ts.Node | undefined;
  const visit = (n: ts.Node, nested: boolean): void => {
    if (found) return;
    const target = assignedIdentifier(n);
    if (nested && target && checker.getSymbolAtLocation(target) === symbol) found = n;
    ts.forEachChild(n, (c) => visit(c, nested || (ts.isFunctionLike(c) && c !== scope)));
  };
  visit(scope, false);
  return found;
}

/** The function (or arrow, or method) whose scope holds a parameter or local; undefined at module level. */
function functionOf(decl: ts.Node): ts.SignatureDeclaration | undefined {
  for (let n = decl.parent; n; n = n.parent) if (ts.isFunctionLike(n)) return n;
  return undefined;
}

/**
 * `opts.scale` of a captured object, `vec.scale` inside a member of the `const vec = { ... }` it
 * reads: a number field of an object the function cannot change, read once per call like
 * `this.scale` (the stager hoists it to the function's top, and vjp keeps it in its cache).
 *   undefined: any other property read
 */
export function ownedField(
  p: ts.PropertyAccessExpression,
  fn: ts.Node,
  checker: ts.TypeChecker,
): "captured" | "holder" | undefined {
  if (!ts.isIdentifier(p.expression)) return undefined;
  if (!(checker.getTypeAtLocation(p).flags & ts.TypeFlags.NumberLike)) return undefined;
  const field = checker.getSymbolAtLocation(p)?.valueDeclaration;
  const data =
    field !== undefined &&
    (ts.isPropertyAssignment(field) ||
      ts.isShorthandPropertyAssignment(field) ||
      ts.isPropertySignature(field) ||
      ts.isPropertyDeclaration(field) ||
      ts.isParameter(field));
  if (!data) return undefined;
  if (capturedDeclaration(p.expression, fn, checker)) return "captured";
  const holder = checker.getSymbolAtLocation(p.expression)?.valueDeclaration;
  const held =
    holder !== undefined &&
    ts.isVariableDeclaration(holder) &&
    (ts.getCombinedNodeFlags(holder) & ts.NodeFlags.Const) !== 0 &&
    holder.initializer !== undefined &&
    within(fn, holder.initializer);
  return held ? "holder" : undefined;
}

/**
 * `let gravity = 9.81` at the module's top level, of type number: the function reads its value
 * where the code reads it, into a value of its own that the backward pass keeps (never reads the
 * variable again), so a change between the passes changes nothing.
 */
export function isModuleNumber(decl: ts.VariableDeclaration, checker: ts.TypeChecker): boolean {
  const statement = decl.parent?.parent;
  return (
    statement !== undefined &&
    ts.isVariableStatement(statement) &&
    ts.isSourceFile(statement.parent) &&
    // Not `declare var Infinity: number` of a lib file, nor any ambient declaration.
    !statement.parent.isDeclarationFile &&
    !(ts.getCombinedModifierFlags(decl) & ts.ModifierFlags.Ambient) &&
    (checker.getTypeAtLocation(decl.name).flags & ts.TypeFlags.NumberLike) !== 0
  );
}
