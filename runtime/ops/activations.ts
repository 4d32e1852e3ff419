// Element-wise functions of one matrix: relu, exp, log, tanh, sigmoid; each with its ...Into
// variant (out may be A), its rule and its backward kernel. The rules read the output y where it
// gives the derivative directly, as the seed does for the sigmoid: σ' = (1 - σ) · σ.

import type { Matrix } from "./matrix.js";
import { accumulate, rule, type MatrixRule } from "./rule.js";
import { checkElementwiseAlias, checkGradBuffer, checkOut, checkSameShape } from "./shape.js";

function result<R extends number, C extends number>(A: Matrix<R, C>): Matrix<R, C> {
  return { rows: A.rows, cols: A.cols, data: new Float64Array(A.rows * A.cols) };
}

function checkUnaryInto(op: string, out: Matrix, A: Matrix): void {
  checkOut(op, out, A.rows, A.cols);
  checkElementwiseAlias(op, out.data, "A", A.data);
}

/** A backward kernel's operands dy and y (or A) and its buffer dst must have one shape. */
function checkUnaryGrad(op: string, dst: Matrix, dy: Matrix, y: Matrix): void {
  checkSameShape(op, dy, y);
  checkGradBuffer(op, dst, dy.rows, dy.cols);
}

/** The rule of an element-wise function of A. */
function unary(math: string, into: string, template: string, gradMath: string): MatrixRule {
  return rule({
    math,
    params: ["A"],
    kinds: ["matrix"],
    output: "matrix",
    into,
    grads: [accumulate(template, gradMath)],
  });
}

// ---------------------------------------------------------------------------------------------
// relu: y = max(0, A)

/** max(0, A) entry by entry (NaN stays NaN). */
export function relu<R extends number, C extends number>(A: Matrix<R, C>): Matrix<R, C> {
  return reluInto(result(A), A);
}

/** out = max(0, A); out may be A. Returns out. */
export function reluInto<R extends number, C extends number>(out: Matrix, A: Matrix<R, C>): Matrix<R, C> {
  checkUnaryInto("reluInto", out, A);
  const o = out.data,
    a = A.data;
  for (let i = 0; i < o.length; i++) o[i] = a[i] > 0 ? a[i] : a[i] <= 0 ? 0 : a[i];
  return out as Matrix<R, C>;
}

/**
 * dst += dy ⊙ (y > 0), the gradient passing only where relu let the value through. At 0 it
 * passes nothing, the scalar rules' convention for kinks (a finite gradient, the seed's max gate).
 */
export function addReluGrad(dst: Matrix, dy: Matrix, y: Matrix): void {
  checkUnaryGrad("addReluGrad", dst, dy, y);
  const d = dst.data,
    g = dy.data,
    v = y.data;
  for (let i = 0; i < d.length; i++) if (v[i] > 0) d[i] += g[i];
}

const reluRule = unary("y = max(0, A)", "reluInto", "addReluGrad(dA, dy, y)", "dA += dy ⊙ (y > 0)");

// ---------------------------------------------------------------------------------------------
// exp: y = exp(A)

/** exp(A) entry by entry. */
export function exp<R extends number, C extends number>(A: Matrix<R, C>): Matrix<R, C> {
  return expInto(result(A), A);
}

/** out = exp(A); out may be A. Returns out. */
export function expInto<R extends number, C extends number>(out: Matrix, A: Matrix<R, C>): Matrix<R, C> {
  checkUnaryInto("expInto", out, A);
  const o = out.data,
    a = A.data;
  for (let i = 0; i < o.length; i++) o[i] = Math.exp(a[i]);
  return out as Matrix<R, C>;
}

// exp' = exp: the kernel is addMul (elementwise.ts), dA += dy ⊙ y.
const expRule = unary("y = exp(A)", "expInto", "addMul(dA, dy, y)", "dA += dy ⊙ y");

// ---------------------------------------------------------------------------------------------
// log: y = log(A), NaN where A < 0 and -Infinity where A = 0, as Math.log

/** log(A) entry by entry. */
export function log<R extends number, C extends number>(A: Matrix<R, C>): Matrix<R, C> {
  return logInto(result(A), A);
}

/** out = log(A); out may be A. Returns out. */
export function logInto<R extends number, C extends number>(out: Matrix, A: Matrix<R, C>): Matrix<R, C> {
  checkUnaryInto("logInto", out, A);
  const o = out.data,
    a = A.data;
  for (let i = 0; i < o.length; i++) o[i] = Math.log(a[i]);
  return out as Matrix<R, C>;
}

/** dst += X ⊘ Y, the element-wise quotient (log's dA += dy ⊘ A). */
export function addDiv(dst: Matrix, X: Matrix, Y: Matrix): void {
  checkUnaryGrad("addDiv", dst, X, Y);
  const d = dst.data,
    x = X.data,
    v = Y.data;
  for (let i = 0; i < d.length; i++) d[i] += x[i] / v[i];
}

const logRule = unary("y = log(A)", "logInto", "addDiv(dA, dy, A)", "dA += dy ⊘ A");

// ---------------------------------------------------------------------------------------------
// tanh: y = tanh(A)

/** tanh(A) entry by entry. */
export function tanh<R extends number, C extends number>(A: Matrix<R, C>): Matrix<R, C> {
  return tanhInto(result(A), A);
}

/** out = tanh(A); out may be A. Returns out. */
export function tanhInto<R extends number, C extends number>(out: Matrix, A: Matrix<R, C>): Matrix<R, C> {
  checkUnaryInto("tanhInto", out, A);
  const o = out.data,
    a = A.data;
  for (let i = 0; i < o.length; i++) o[i] = Math.tanh(a[i]);
  return out as Matrix<R, C>;
}

/** dst += dy ⊙ (1 - y²), tanh' from its output. */
export function addTanhGrad(dst: Matrix, dy: Matrix, y: Matrix): void {
  checkUnaryGrad("addTanhGrad", dst, dy, y);
  const d = dst.data,
    g = dy.data,
    v = y.data;
  for (let i = 0; i < d.length; i++) d[i] += g[i] * (1 - v[i] * v[i]);
}

const tanhRule = unary("y = tanh(A)", "tanhInto", "addTanhGrad(dA, dy, y)", "dA += dy ⊙ (1 - y²)");

// ---------------------------------------------------------------------------------------------
// sigmoid: y = 1 / (1 + exp(-A))

/** The logistic sigmoid 1 / (1 + exp(-A)) entry by entry, without overflow for large |A|. */
export function sigmoid<R extends number, C extends number>(A: Matrix<R, C>): Matrix<R, C> {
  return sigmoidInto(result(A), A);
}

/** out = sigmoid(A); out may be A. Returns out. */
export function sigmoidInto<R extends number, C extends number>(out: Matrix, A: Matrix<R, C>): Matrix<R, C> {
  checkUnaryInto("sigmoidInto", out, A);
  const o = out.data,
    a = A.data;
  for (let i = 0; i < o.length; i++) {
    const x = a[i];
    // exp of a non-positive number only: exp(-x) for x ≥ 0, exp(x) / (1 + exp(x)) for x < 0.
    if (x >= 0) o[i] = 1 / (1 + Math.exp(-x));
    else {
      const e = Math.exp(x);
      o[i] = e / (1 + e);
    }
  }
  return out as Matrix<R, C>;
}

/** dst += dy ⊙ (1 - y) ⊙ y, the seed's sigmoid derivative from its output. */
export function addSigmoidGrad(dst: Matrix, dy: Matrix, y: Matrix): void {
  checkUnaryGrad("addSigmoidGrad", dst, dy, y);
  const d = dst.data,
    g = dy.data,
    v = y.data;
  for (let i = 0; i < d.length; i++) d[i] += g[i] * (1 - v[i]) * v[i];
}

const sigmoidRule = unary(
  "y = 1 / (1 + exp(-A))",
  "sigmoidInto",
  "addSigmoidGrad(dA, dy, y)",
  "dA += dy ⊙ (1 - y) ⊙ y",
);

export const activationRules = {
  relu: reluRule,
  exp: expRule,
  log: logRule,
  tanh: tanhRule,
  sigmoid: sigmoidRule,
};
