// The two-layer network written with loops over Float64Array (examples/network/loops.ts): tsgrad's
// gradient against the hand-written backprop, the matrix-op version, and finite differences.

import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compile, expectAllClose, root } from "./harness.js";
import { lossAndGradHand, makeWorkspace } from "../examples/network/hand.js";
import { initParams, zeroParams } from "../examples/network/params.js";
import { spiral } from "../examples/network/spiral.js";

// The matrix version, as in examples/network.ts, with reg as a parameter.
const matrixVersion = `
import { type Matrix, addBias, matmul, mul, relu, softmaxCrossEntropy, sum } from "tsgrad";
/** @differentiable */
export function matrixLoss(W1: Matrix, b1: Matrix, W2: Matrix, b2: Matrix, X: Matrix, y: Int32Array, reg: number): number {
  const hidden = relu(addBias(matmul(X, W1), b1));
  const scores = addBias(matmul(hidden, W2), b2);
  return softmaxCrossEntropy(scores, y) + 0.5 * reg * (sum(mul(W1, W1)) + sum(mul(W2, W2)));
}
`;

let m: Record<string, any>;
let runtime: any;

beforeAll(async () => {
  const loops = readFileSync(join(root, "examples/network/loops.ts"), "utf8");
  ({ module: m } = await compile(matrixVersion + loops));
  runtime = await import("tsgrad" as string);
});

describe("the two-layer network written with loops", () => {
  it("equals the hand-written backprop and the matrix version on the spiral data (H = 100)", () => {
    const shape = { d: 2, h: 100, k: 3 };
    const data = spiral({ seed: 5 });
    const p = initParams(shape, 11, 0.5);
    p.b1.forEach((_, j) => (p.b1[j] = 0.2 + 0.1 * Math.cos(j)));
    const hand = zeroParams(shape);
    const handLoss = lossAndGradHand(p, data.X, data.y, hand, makeWorkspace(data.n, shape), 1e-3);
    const args = [p.W1, p.b1, p.W2, p.b2, data.X, data.y, 1e-3];
    expect(m.loopsLoss(...args)).toBeCloseTo(handLoss, 12);
    const [dW1, db1, dW2, db2, dX, dy, dreg] = m.loopsLoss_grad(...args);
    expectAllClose(dW1, hand.W1, 1e-12, "dW1");
    expectAllClose(db1, hand.b1, 1e-12, "db1");
    expectAllClose(dW2, hand.W2, 1e-12, "dW2");
    expectAllClose(db2, hand.b2, 1e-12, "db2");
    expect(dy).toBeUndefined(); // labels are data: no gradient

    const M = (rows: number, cols: number, a: Float64Array) => runtime.matrix(rows, cols, a);
    const margs = [
      M(2, 100, p.W1),
      M(1, 100, p.b1),
      M(100, 3, p.W2),
      M(1, 3, p.b2),
      M(data.n, 2, data.X),
      data.y,
      1e-3,
    ];
    const [mW1, mb1, mW2, mb2, mX, , mreg] = m.matrixLoss_grad(...margs);
    expectAllClose(dW1, mW1.data, 1e-12, "dW1 vs matrix");
    expectAllClose(db1, mb1.data, 1e-12, "db1 vs matrix");
    expectAllClose(dW2, mW2.data, 1e-12, "dW2 vs matrix");
    expectAllClose(db2, mb2.data, 1e-12, "db2 vs matrix");
    expectAllClose(dX, mX.data, 1e-12, "dX vs matrix");
    expect(dreg).toBeCloseTo(mreg, 10);
  });

  it("against finite differences on a small network, every entry", () => {
    const shape = { d: 2, h: 4, k: 3 };
    const data = spiral({ seed: 2, pointsPerClass: 3 });
    const p = initParams(shape, 4, 0.7);
    p.b1.forEach((_, j) => (p.b1[j] = 0.35 - 0.1 * j)); // never 0: the first point is the origin, a ReLU kink at b = 0
    const args: any[] = [p.W1, p.b1, p.W2, p.b2, data.X, data.y, 0.05];
    const g = m.loopsLoss_grad(...args);
    for (const i of [0, 1, 2, 3, 4]) {
      const a: Float64Array = args[i];
      const numeric = Array.from(a, (_, j) => {
        const old = a[j];
        a[j] = old + 1e-6;
        const plus = m.loopsLoss(...args);
        a[j] = old - 1e-6;
        const minus = m.loopsLoss(...args);
        a[j] = old;
        return (plus - minus) / 2e-6;
      });
      expectAllClose(g[i], numeric, 1e-7, `argument ${i}`);
    }
    const { cache } = m.loopsLoss_forward(...args);
    expectAllClose(m.loopsLoss_backward(cache, 1)[0], g[0], 1e-14, "vjp");
  });
});
