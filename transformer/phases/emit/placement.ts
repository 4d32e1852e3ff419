// The nodes that put generated functions in place in the user's code (files.ts, calls.ts): the
// registration of a gradient, the static block of a class, the block around a closure:
//   f, { grad: f_grad, forward: f_forward, backward: f_backward }
//     → registerGradient(f, { grad: f_grad, forward: f_forward, backward: f_backward, params: ["x", "y"] })

import ts from "typescript";
import { f, propertyOf } from "./nodes.js";

/**
 * registerGradient(f, { grad: f_grad, gradInto: f_gradInto, forward: f_forward, backward: f_backward }):
 * a statement's expression, or, around a closure where it is created, the value (it returns f).
 */
export function emitRegistration(
  register: ts.Expression,
  target: ts.Expression,
  names: {
    grad?: ts.Expression;
    gradInto?: ts.Expression;
    gradChecked?: ts.Expression;
    forward: ts.Expression;
    backward: ts.Expression;
  },
  params: readonly string[],
  data: readonly number[] = [],
): ts.CallExpression {
  const table = f.createObjectLiteralExpression([
    ...(names.grad ? [f.createPropertyAssignment("grad", names.grad)] : []),
    ...(names.gradInto ? [f.createPropertyAssignment("gradInto", names.gradInto)] : []),
    ...(names.gradChecked ? [f.createPropertyAssignment("gradChecked", names.gradChecked)] : []),
    f.createPropertyAssignment("forward", names.forward),
    f.createPropertyAssignment("backward", names.backward),
    // The parameters' names, for the runtime's messages: "grad(f) expects 2 arguments (x, y), got 3".
    f.createPropertyAssignment("params", f.createArrayLiteralExpression(params.map((p) => f.createStringLiteral(p)))),
    // The data parameters' indices (modes, flags, labels): no gradient, not moved by numericGrad.
    ...(data.length
      ? [f.createPropertyAssignment("data", f.createArrayLiteralExpression(data.map((i) => f.createNumericLiteral(i))))]
      : []),
  ]);
  return f.createCallExpression(register, undefined, [target, table]);
}

/**
 * registerGradient(<closure>, { ... }) where the closure was, around a copy of it without a place
 * in the text: tsc prints the closure's tag where it prints the comments after `return` or `=>`,
 * and would print it again inside (the call itself has no place either: its comments, printed
 * before it, could put a line break after `return`).
 */
export function emitWrapped(
  closure: ts.ArrowFunction | ts.FunctionExpression,
  wrap: (closure: ts.Expression) => ts.CallExpression,
): ts.CallExpression {
  const copy = ts.isArrowFunction(closure)
    ? f.createArrowFunction(
        closure.modifiers,
        closure.typeParameters,
        closure.parameters,
        closure.type,
        closure.equalsGreaterThanToken,
        closure.body,
      )
    : f.createFunctionExpression(
        closure.modifiers,
        closure.asteriskToken,
        closure.name,
        closure.typeParameters,
        closure.parameters,
        closure.type,
        closure.body,
      );
  return wrap(ts.setOriginalNode(copy, closure));
}

/**
 * The block a closure's generated functions share with the statement creating it, where that
 * statement is the body of an `if` or a loop: `{ function f_grad(...) {...} ... return ...; }`.
 */
export const emitBlock = (statements: readonly ts.Statement[]): ts.Block => f.createBlock(statements, true);

/** An arrow's expression body made a block, its generated functions first: `{ ...; return body; }`. */
export function emitBodyBlock(generated: readonly ts.Statement[], body: ts.ConciseBody): ts.Block {
  const statements = ts.isBlock(body) ? body.statements : [f.createReturnStatement(body)];
  return f.createBlock([...generated, ...statements], true);
}

/** `static { ... }`: a class's registrations of its methods' gradients. */
export function emitStaticBlock(statements: readonly ts.Statement[]): ts.ClassElement {
  return f.createClassStaticBlockDeclaration(f.createBlock(statements, true));
}

/** `this` in a static block, for a static method; `this.prototype` for an instance method. */
export const ownerOf = (isStatic: boolean): ts.Expression =>
  isStatic ? f.createThis() : propertyOf(f.createThis(), "prototype");

/** `obj.m_grad.bind(obj)`: a method's gradient keeping its `this`. */
export function emitBind(fn: ts.Expression, owner: ts.Expression): ts.Expression {
  return f.createCallExpression(propertyOf(fn, "bind"), undefined, [owner]);
}
