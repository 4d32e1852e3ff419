// The builder of output nodes: turns the optimized forward and backward passes into the generated
// functions, with ts.factory and comments attached (expressions by ir/print.ts, with parentheses
// exactly where precedence needs them), and builds the statements around them that files.ts,
// link.ts, calls.ts and module-format.ts place (imports, requires, registrations, aliases):
//   f_grad(x, y): [dx: number, dy: number]     forward pass, then backward pass, fused
//   f_forward(x, y) → { value, cache }         the forward pass of vjp, keeping what backward reads
//   f_backward(cache, df) → [dx, dy]           its backward pass
// Created nodes point at the user's nodes (setOriginalNode), so errors and source maps land on
// user code. This file is the phase's entry; the work is in emit/:
//   grad.ts, vjp.ts        the generated functions: f_grad, f_gradInto, f_staged; f_forward, f_backward
//   forward.ts, backward.ts  their statements: forward lines and loops; backward lines, loops in reverse
//   functions.ts           a generated function's declaration, parameters, unused ones marked `_x`
//   shape.ts, gradients.ts   a function's parameters; the gradients it returns, their types
//   types.ts, arrays.ts, stack.ts, comments.ts, nodes.ts   the parts these share
//   placement.ts, imports.ts   registrations, static blocks, imports and requires around them

export { emitBackwardFunction, emitForwardFunction } from "./emit/vjp.js";
export {
  emitGrad,
  emitGradInto,
  emitPullback,
  emitStaged,
  emitWorkspace,
  pullbackNumbers,
  type LentMatrices,
} from "./emit/grad.js";
export { type FunctionShape } from "./emit/shape.js";
export { withStack } from "./emit/stack.js";
export { emitAlias, emitImport, emitRequireModule, emitRequireNames } from "./emit/imports.js";
export {
  emitBind,
  emitBlock,
  emitBodyBlock,
  emitRegistration,
  emitStaticBlock,
  emitWrapped,
  ownerOf,
} from "./emit/placement.js";
export { emitStatement, identifier, propertyOf, propertyPath, thisExpression } from "./emit/nodes.js";
