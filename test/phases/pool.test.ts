// The pool phase alone (transformer/phases/pool.ts), on f_grad's passes after fuse: each matrix
// op with an `...Into` form writes into a matrix lent by the runtime's pool, each matrix gradient
// buffer is lent zeroed; the lent ones are listed, in the order taken, for emit to give back.
// Parameters' gradients are returned, so never lent.

import { describe, expect, it } from "vitest";
import { pooledOf, printBackward, printForward, savedOf } from "./pipeline.js";
import { poolMatrices } from "../../transformer/phases/pool.js";

describe("pool", () => {
  it("lends the forward matrices and the backward buffers, never the parameters' gradients", () => {
    // XW = matmul(X, W) → matmulInto(matrixPool.matrix(X.rows, W.cols), X, W)   (matmul's size: A.rows × B.cols)
    // h = relu(XW)      → reluInto(matrixPool.matrix(XW.rows, XW.cols), XW)     (elementwise: its operand's)
    // f = sum(h)        a number: no Into form, nothing lent
    // backward: dh and dXW are allocated zeroed: matrixPool.zerosLike; dX and dW (parameters) are not
    const { forward, backward, lent, pool } = pooledOf(`import { type Matrix, matmul, relu, sum } from "tsgrad";
/** @differentiable */
export function f(X: Matrix, W: Matrix): number { const h = relu(matmul(X, W)); return sum(h); }`);
    expect(pool).toBe("matrixPool");
    expect(printForward(forward)).toEqual([
      "const XW = matmulInto(matrixPool.matrix(X.rows, W.cols), X, W)",
      "const h = reluInto(matrixPool.matrix(XW.rows, XW.cols), XW)",
    ]);
    expect(printBackward(backward.filter((s) => s.k === "alloc"))).toEqual([
      "dh = matrixPool.zerosLike(h)",
      "dXW = matrixPool.zerosLike(XW)",
    ]);
    expect(lent).toEqual(["XW", "h", "dh", "dXW"]);
  });

  it("a gradient sharing another's buffer is not lent again", () => {
    // add_2 = add(XW, B): its gradient passes to XW unchanged, so optimize makes dXW the same
    // buffer as dadd_2 (`dXW = dadd_2`): only dadd_2 is lent, and given back once.
    const { backward, lent } = pooledOf(`import { type Matrix, matmul, add, sum } from "tsgrad";
/** @differentiable */
export function f(X: Matrix, W: Matrix, B: Matrix): number { return sum(add(matmul(X, W), B)); }`);
    expect(printBackward(backward.filter((s) => s.k === "alloc"))).toEqual([
      "dadd_2 = matrixPool.zerosLike(add_2)",
      "dXW = dadd_2",
    ]);
    expect(lent).toEqual(["XW", "add_2", "dadd_2"]);
  });

  it("leaves every backward statement but the allocations as it was", () => {
    // the kernels write into whatever buffers they are given: pooling changes where the buffers
    // come from, not what is written into them (the same statements, in the same order)
    const s = savedOf(`import { type Matrix, matmul, relu, sum } from "tsgrad";
/** @differentiable */
export function f(X: Matrix, W: Matrix): number { const h = relu(matmul(X, W)); return sum(h); }`);
    const { backward } = poolMatrices(s.forward, s.backward, "matrixPool", (n) => n);
    expect(backward).toHaveLength(s.backward.length);
    backward.forEach((b, i) => b.k !== "alloc" && expect(b).toBe(s.backward[i]));
    expect(printBackward(backward.filter((b) => b.k === "kernel"))).toEqual([
      "addConstant(dh, 1)",
      "addReluGrad(dXW, dh, h)",
      "addMatmulNT(dX, dXW, W)",
      "addMatmulTN(dW, X, dXW)",
    ]);
  });
});
