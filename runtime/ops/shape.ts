// Shape checks shared by the matrix ops: every mismatch throws an Error that names the op and
// both shapes, in the spirit of the CS231n notes' "dimension analysis":
//   matmul(3×2, 3×4)  →  "matmul: cannot multiply 3×2 by 3×4 (inner sizes 2 and 3 differ)"
// Checks run once per call, never per element, and allocate only when they throw.

import type { Matrix } from "./matrix.js";

/** "3×2" */
export function shapeOf(A: Matrix): string {
  return `${A.rows}×${A.cols}`;
}

export function fail(op: string, message: string): never {
  throw new Error(`${op}: ${message}`);
}

/** Element-wise ops need operands of one shape. */
export function checkSameShape(op: string, A: Matrix, B: Matrix): void {
  if (A.rows !== B.rows || A.cols !== B.cols) {
    fail(op, `shapes ${shapeOf(A)} and ${shapeOf(B)} differ (element-wise operands must have the same shape)`);
  }
}

/** A ...Into op's `out` must have the shape of its result. */
export function checkOut(op: string, out: Matrix, rows: number, cols: number): void {
  if (out.rows !== rows || out.cols !== cols) {
    fail(op, `out is ${shapeOf(out)}, the result is ${rows}×${cols}`);
  }
}

/** A backward kernel's gradient buffer must have the shape of what is added into it. */
export function checkGradBuffer(op: string, dst: Matrix, rows: number, cols: number): void {
  if (dst.rows !== rows || dst.cols !== cols) {
    fail(op, `cannot add a ${rows}×${cols} gradient into a ${shapeOf(dst)} buffer`);
  }
}

/** Vectors of one length (dot, the vector kernels). */
export function checkSameLength(op: string, what: string, a: Float64Array, b: Float64Array): void {
  if (a.length !== b.length) fail(op, `${what} lengths ${a.length} and ${b.length} differ`);
}

/** True when two arrays share memory, so writing one while reading the other would be wrong. */
export function overlaps(a: Float64Array, b: Float64Array): boolean {
  if (a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/** Ops that read inputs after writing some of the output (matmul, transpose, ...) refuse aliasing. */
export function checkNoAlias(op: string, out: Float64Array, name: string, input: Float64Array): void {
  if (overlaps(out, input)) fail(op, `out shares memory with ${name}; give it its own buffer`);
}

/**
 * The numbers of a gradient buffer, after checking that X fits it: the same shape for matrices,
 * the same length for vectors (the kernels that take either: addTo, addScaled, ...).
 */
export function gradData(op: string, dst: Matrix | Float64Array, X: Matrix | Float64Array): Float64Array {
  if (dst instanceof Float64Array || X instanceof Float64Array) {
    if (!(dst instanceof Float64Array && X instanceof Float64Array)) {
      fail(op, `cannot add a ${describe(X)} into a ${describe(dst)} buffer`);
    }
    if (dst.length !== X.length)
      fail(op, `cannot add a vector of length ${X.length} into a buffer of length ${dst.length}`);
    return dst;
  }
  checkGradBuffer(op, dst, X.rows, X.cols);
  return dst.data;
}

/** "3×2 matrix" or "vector of length 3", for messages. */
export function describe(A: Matrix | Float64Array): string {
  return A instanceof Float64Array ? `vector of length ${A.length}` : `${shapeOf(A)} matrix`;
}

/**
 * Element-wise ...Into ops may write over an operand (out === A reads each entry before writing
 * it), but not over a shifted view of it, which would read entries already overwritten.
 */
export function checkElementwiseAlias(op: string, out: Float64Array, name: string, input: Float64Array): void {
  if (overlaps(out, input) && out.byteOffset !== input.byteOffset) {
    fail(op, `out overlaps ${name} at a different offset; use ${name} itself or its own buffer`);
  }
}
