// tsgrad's matrix and vector operations and their derivative rules, gathered in one table.
//
// Each op lives beside its rule in one of these files:
//   linear.ts       matmul, matvec, transpose, dot
//   elementwise.ts  add, sub, mul, scale, addBias (and the shared accumulation kernels)
//   activations.ts  relu, exp, log, tanh, sigmoid
//   reductions.ts   sum, mean
//   softmax.ts      softmax, logSumExp, softmaxCrossEntropy
//   fused.ts        kernels doing several ops in one pass, for generated gradients (not ops)
// For every op: `op(...)` returns a new result, `opInto(out, ...)` writes into a preallocated one
// (ops whose value is a number have none), and the kernels its rule calls add its gradient into
// preallocated buffers. rule.ts describes the table's format.

import { activationRules } from "./activations.js";
import { elementwiseRules } from "./elementwise.js";
import { linearRules } from "./linear.js";
import { reductionRules } from "./reductions.js";
import type { MatrixRule } from "./rule.js";
import { softmaxRules } from "./softmax.js";

// The Matrix type, constructors and element access.
export { type Matrix, matrix, zeros, zerosLike, fromRows, toRows, copyMatrix, at, setAt, isMatrix } from "./matrix.js";
export { shapeOf } from "./shape.js";
export { MatrixPool, matrixPool } from "./pool.js";

// The ops and their ...Into variants.
export { matmul, matmulInto, matvec, matvecInto, transpose, transposeInto, dot } from "./linear.js";
export { add, addInto, sub, subInto, mul, mulInto, scale, scaleInto, addBias, addBiasInto } from "./elementwise.js";
export { relu, reluInto, exp, expInto, log, logInto, tanh, tanhInto, sigmoid, sigmoidInto } from "./activations.js";
export { sum, mean } from "./reductions.js";
export { softmax, softmaxInto, logSumExp, logSumExpInto, softmaxCrossEntropy, type Labels } from "./softmax.js";

// The backward kernels the rules call: each adds into its first argument and allocates nothing
// (innerProduct returns a number).
export { addMatmulNT, addMatmulTN, addOuter, addMatvecT, addTransposed } from "./linear.js";
export { addTo, subFrom, addScaled, addConstant, addMul, innerProduct, addColumnSums } from "./elementwise.js";
export { addReluGrad, addDiv, addTanhGrad, addSigmoidGrad } from "./activations.js";
export { addMeanGrad } from "./reductions.js";
export { addSoftmaxGrad, addLogSumExpGrad, addSoftmaxCrossEntropyGrad } from "./softmax.js";

// Fused kernels generated gradients call in place of several ops (fused.ts), and when.
export {
  affineInto,
  affineReluInto,
  addMatmulNTRelu,
  forwardFusions,
  backwardFusions,
  type ForwardFusion,
  type BackwardFusion,
} from "./fused.js";

export type { MatrixRule, OperandGrad, OutputKind, ValueKind } from "./rule.js";

/** The derivative rule of every matrix op, by the op's exported name. */
export const matrixRules = {
  ...linearRules,
  ...elementwiseRules,
  ...activationRules,
  ...reductionRules,
  ...softmaxRules,
} as const satisfies Readonly<Record<string, MatrixRule>>;

/** The name of a matrix op: a key of matrixRules and a function exported by the runtime. */
export type MatrixOpName = keyof typeof matrixRules;
