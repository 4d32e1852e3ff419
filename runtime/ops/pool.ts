// Matrices lent to generated gradients for their intermediates: f_grad and f_gradInto take the
// result of each matrix operation and each intermediate gradient buffer from here and give them
// back before they return, so a training step that calls them allocates no matrix once the pool
// has one of each shape. Free buffers are kept by shape; taking and giving back allocates nothing.
//
//   const XW1 = matmulInto(matrixPool.matrix(X.rows, W1.cols), X, W1);   // forward pass
//   const dhidden = matrixPool.zerosLike(hidden);                        // backward pass
//   matrixPool.release(dhidden); matrixPool.release(XW1);                // before returning

import { type Matrix, matrix } from "./matrix.js";

export class MatrixPool {
  /** Free matrices by rows, then cols. */
  private readonly matrices = new Map<number, Map<number, Matrix[]>>();
  /** Free vectors by length. */
  private readonly vectors = new Map<number, Float64Array[]>();

  /** A rows × cols matrix whose entries are left as they were: for an ...Into op, which overwrites them all. */
  matrix(rows: number, cols: number): Matrix {
    return this.free(rows, cols).pop() ?? matrix(rows, cols);
  }

  /** A matrix of zeros with A's shape: a gradient buffer. */
  zerosLike(A: Matrix): Matrix {
    const m = this.free(A.rows, A.cols).pop();
    if (!m) return matrix(A.rows, A.cols);
    m.data.fill(0);
    return m;
  }

  /** A vector of length n, its entries left as they were. */
  vector(n: number): Float64Array {
    return this.freeVectors(n).pop() ?? new Float64Array(n);
  }

  /** Gives a matrix or vector back; whoever took it must not use it after. */
  release(x: Matrix | Float64Array): void {
    if (x instanceof Float64Array) this.freeVectors(x.length).push(x);
    else this.free(x.rows, x.cols).push(x);
  }

  private free(rows: number, cols: number): Matrix[] {
    let byCols = this.matrices.get(rows);
    if (!byCols) this.matrices.set(rows, (byCols = new Map()));
    let list = byCols.get(cols);
    if (!list) byCols.set(cols, (list = []));
    return list;
  }

  private freeVectors(n: number): Float64Array[] {
    let list = this.vectors.get(n);
    if (!list) this.vectors.set(n, (list = []));
    return list;
  }
}

/** The pool generated gradients use. */
export const matrixPool = new MatrixPool();
