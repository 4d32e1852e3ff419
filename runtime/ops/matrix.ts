// The dense matrix type of tsgrad's runtime, its constructors and element access.
//
// A Matrix is rows × cols numbers in one Float64Array, row by row (row-major):
//   fromRows([[1, 2, 3], [4, 5, 6]])  →  { rows: 2, cols: 3, data: [1, 2, 3, 4, 5, 6] }
//   entry (i, j) is data[i * cols + j]
// A vector (the x of matvec, the operands of dot) is a plain Float64Array: it has one length and
// no orientation, and it is what numeric TypeScript already uses. A row or column that must
// broadcast against a matrix (a bias row, logSumExp's per-row result) is a 1×n or n×1 Matrix.
//
// The object is a plain record, always built by `matrix()` so every Matrix has the same layout.
// rows and cols never change; the numbers in data may (the ...Into ops and the backward kernels
// write into them).

import { fail, shapeOf } from "./shape.js";

/**
 * `Matrix<R, C>` carries its shape in its type where it is known when written: `matrix(2, 3)` is a
 * `Matrix<2, 3>`, and `matmul` of a `Matrix<2, 3>` and a `Matrix<4, 5>` is a compile error. Shapes
 * from data (`matrix(n, d, X)` with n a number) are `Matrix<number, number>`, plain `Matrix`,
 * checked when the op runs.
 */
export interface Matrix<R extends number = number, C extends number = number> {
  readonly rows: R;
  readonly cols: C;
  /** rows * cols entries, row by row: entry (i, j) is data[i * cols + j]. */
  readonly data: Float64Array;
}

/**
 * Two sizes an op needs equal: when both are known in the types and differ, a type error naming
 * both (`Property '"tsgrad: inner sizes differ"' is missing ... [3, 4]`); when either is only
 * `number`, nothing here (the op checks it when it runs).
 */
export type SameSize<A extends number, B extends number, What extends string> = number extends A
  ? unknown
  : number extends B
    ? unknown
    : [A] extends [B]
      ? unknown
      : { [K in `tsgrad: ${What} differ`]: [A, B] };

function checkSize(op: string, rows: number, cols: number): void {
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 0) {
    fail(op, `rows and cols must be non-negative integers, got ${rows}×${cols}`);
  }
}

/**
 * A rows × cols matrix. A Float64Array `data` is used as it is (not copied), so the matrix is a
 * view of it; any other array-like is copied. Without `data`, the matrix is all zeros.
 *   matrix(2, 2, [1, 2, 3, 4])  →  [[1, 2], [3, 4]]
 */
export function matrix<R extends number, C extends number>(
  rows: R,
  cols: C,
  data?: Float64Array | ArrayLike<number>,
): Matrix<R, C> {
  checkSize("matrix", rows, cols);
  let values: Float64Array;
  if (data === undefined) values = new Float64Array(rows * cols);
  else if (data instanceof Float64Array) values = data;
  else values = Float64Array.from(data);
  if (values.length !== rows * cols) {
    fail("matrix", `a ${rows}×${cols} matrix needs ${rows * cols} numbers, got ${values.length}`);
  }
  return { rows, cols, data: values };
}

/** A rows × cols matrix of zeros. */
export function zeros<R extends number, C extends number>(rows: R, cols: C): Matrix<R, C> {
  return matrix(rows, cols);
}

/** A matrix of zeros with the shape of A: the gradient buffer of A. */
export function zerosLike<R extends number, C extends number>(A: Matrix<R, C>): Matrix<R, C> {
  return matrix(A.rows, A.cols);
}

/** A matrix from its rows: fromRows([[1, 2], [3, 4]]). Every row must have the same length. */
export function fromRows(rows: readonly (readonly number[])[]): Matrix {
  const cols = rows.length === 0 ? 0 : rows[0].length;
  const data = new Float64Array(rows.length * cols);
  rows.forEach((row, i) => {
    if (row.length !== cols) fail("fromRows", `row ${i} has ${row.length} entries, row 0 has ${cols}`);
    data.set(row, i * cols);
  });
  return { rows: rows.length, cols, data };
}

/** The rows of A as plain arrays, for printing and tests: toRows(fromRows(r)) equals r. */
export function toRows(A: Matrix): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < A.rows; i++) out.push(Array.from(A.data.subarray(i * A.cols, (i + 1) * A.cols)));
  return out;
}

/** A copy of A with its own data. */
export function copyMatrix<R extends number, C extends number>(A: Matrix<R, C>): Matrix<R, C> {
  return { rows: A.rows, cols: A.cols, data: A.data.slice() };
}

function checkIndex(op: string, A: Matrix, i: number, j: number): void {
  if (!Number.isInteger(i) || !Number.isInteger(j) || i < 0 || j < 0 || i >= A.rows || j >= A.cols) {
    fail(op, `index (${i}, ${j}) is outside a ${shapeOf(A)} matrix`);
  }
}

/** Entry (i, j) of A; an index outside A throws. */
export function at(A: Matrix, i: number, j: number): number {
  checkIndex("at", A, i, j);
  return A.data[i * A.cols + j];
}

/** Sets entry (i, j) of A to value; an index outside A throws. */
export function setAt(A: Matrix, i: number, j: number, value: number): void {
  checkIndex("setAt", A, i, j);
  A.data[i * A.cols + j] = value;
}

/** True for a value with the Matrix layout (rows, cols and a Float64Array of rows * cols numbers). */
export function isMatrix(value: unknown): value is Matrix {
  if (typeof value !== "object" || value === null) return false;
  const m = value as Partial<Matrix>;
  return (
    typeof m.rows === "number" &&
    typeof m.cols === "number" &&
    m.data instanceof Float64Array &&
    m.data.length === m.rows * m.cols
  );
}
