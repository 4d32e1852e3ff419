// The linear classifiers of examples/classifiers.ts (the multiclass SVM loss, the softmax loss with
// loops and with the matrix operations), compiled through the transformer as they are. Each
// tsgrad gradient is checked against a gradient derived by hand and written out below, and against
// central finite differences on a small instance; the two softmax versions against each other;
// training against the accuracy a linear classifier reaches on the spiral (about half).

import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compile, expectAllClose, numericEntries, root } from "./harness.js";
import { mulberry32, normal } from "../examples/network/rng.js";
import { spiral } from "../examples/network/spiral.js";

let m: Record<string, any>;
let runtime: any;

beforeAll(async () => {
  ({ module: m } = await compile(readFileSync(join(root, "examples/classifiers.ts"), "utf8")));
  runtime = await import("tsgrad" as string);
});

const D = 2;
const K = 3;

/** Seeded weights: W (d × k) and b (k) with entries scale · randn(). */
function weights(seed: number, scale: number, d = D, k = K): { W: Float64Array; b: Float64Array } {
  const randn = normal(mulberry32(seed));
  return {
    W: Float64Array.from({ length: d * k }, () => scale * randn()),
    b: Float64Array.from({ length: k }, () => scale * randn()),
  };
}

/** scores = X·W + b, n × k, row-major. */
function scoresOf(W: Float64Array, b: Float64Array, X: Float64Array, n: number): Float64Array {
  const k = b.length;
  const d = W.length / k;
  const s = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      s[i * k + j] = b[j];
      for (let c = 0; c < d; c++) s[i * k + j] += X[i * d + c] * W[c * k + j];
    }
  }
  return s;
}

interface Gradient {
  loss: number;
  dW: Float64Array;
  db: Float64Array;
  dX: Float64Array;
  dreg: number;
}

/**
 * From the gradient on the scores to the parameters: dW = Xᵀ·dscores + reg·W, db = Σ_i dscores[i, :],
 * dX = dscores·Wᵀ, d(reg) = 0.5 ΣW².
 */
function throughLinear(
  dscores: Float64Array,
  W: Float64Array,
  b: Float64Array,
  X: Float64Array,
  n: number,
  reg: number,
  loss: number,
): Gradient {
  const k = b.length;
  const d = W.length / k;
  const dW = new Float64Array(W.length);
  const db = new Float64Array(k);
  const dX = new Float64Array(X.length);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const g = dscores[i * k + j];
      db[j] += g;
      for (let c = 0; c < d; c++) {
        dW[c * k + j] += X[i * d + c] * g;
        dX[i * d + c] += W[c * k + j] * g;
      }
    }
  }
  let squares = 0;
  for (let c = 0; c < W.length; c++) {
    dW[c] += reg * W[c];
    squares += W[c] * W[c];
  }
  return { loss: loss + 0.5 * reg * squares, dW, db, dX, dreg: 0.5 * squares };
}

/**
 * The SVM's gradient by hand: every margin s_j − s_y + 1 > 0 adds x_i to column j of dW and
 * subtracts it from column y_i (so dscores gets +1 at j and −1 at y_i), all over n.
 * Also returns the smallest |margin|, to keep points away from the hinge's kink.
 */
function svmHand(
  W: Float64Array,
  b: Float64Array,
  X: Float64Array,
  y: Int32Array,
  reg: number,
): Gradient & { closest: number } {
  const n = y.length;
  const s = scoresOf(W, b, X, n);
  const dscores = new Float64Array(n * K);
  let loss = 0;
  let closest = Infinity;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < K; j++) {
      if (j === y[i]) continue;
      const margin = s[i * K + j] - s[i * K + y[i]] + 1;
      closest = Math.min(closest, Math.abs(margin));
      if (margin > 0) {
        loss += margin / n;
        dscores[i * K + j] += 1 / n;
        dscores[i * K + y[i]] -= 1 / n;
      }
    }
  }
  return { ...throughLinear(dscores, W, b, X, n, reg, loss), closest };
}

/** The softmax loss's gradient by hand: dscores = (p − onehot(y)) / n, p the softmax of each row. */
function softmaxHand(W: Float64Array, b: Float64Array, X: Float64Array, y: Int32Array, reg: number): Gradient {
  const n = y.length;
  const s = scoresOf(W, b, X, n);
  const dscores = new Float64Array(n * K);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const row = s.subarray(i * K, i * K + K);
    const top = Math.max(...row);
    const e = Array.from(row, (v) => Math.exp(v - top));
    const total = e.reduce((a, v) => a + v, 0);
    loss -= Math.log(e[y[i]] / total) / n;
    for (let j = 0; j < K; j++) dscores[i * K + j] = (e[j] / total - (j === y[i] ? 1 : 0)) / n;
  }
  return throughLinear(dscores, W, b, X, n, reg, loss);
}

/** W, b, X as the matrix version takes them, wrapping the same Float64Arrays (no copy). */
const matrixArgs = (W: Float64Array, b: Float64Array, X: Float64Array, y: Int32Array, reg: number) => [
  runtime.matrix(D, K, W),
  runtime.matrix(1, K, b),
  runtime.matrix(y.length, D, X),
  y,
  reg,
];

/** Central differences of f in every entry of args[which] (an array or a Matrix's data), or in args[which] itself (a number). */
function numeric(f: (...a: any[]) => number, args: any[], which: number, h = 1e-6): number[] {
  if (typeof args[which] !== "number") return numericEntries(f, args, which, h);
  const at = (v: number) => f(...args.map((x, i) => (i === which ? v : x)));
  return [(at(args[which] + h) - at(args[which] - h)) / (2 * h)];
}

describe("the multiclass SVM loss (examples/classifiers.ts)", () => {
  it("equals the hand-derived gradient on the 300 spiral points", () => {
    const data = spiral({ seed: 3 });
    for (const seed of [1, 2, 3]) {
      const { W, b } = weights(seed, 0.8); // scores spread over a few units: some margins met, some not
      const hand = svmHand(W, b, data.X, data.y, 1e-3);
      expect(hand.closest).toBeGreaterThan(1e-9); // no margin on the kink
      expect(m.svmLoss(W, b, data.X, data.y, 1e-3)).toBeCloseTo(hand.loss, 12);
      const [dW, db, dX, dy, dreg] = runtime.grad(m.svmLoss)(W, b, data.X, data.y, 1e-3);
      expectAllClose(dW, hand.dW, 1e-12, "dW");
      expectAllClose(db, hand.db, 1e-12, "db");
      expectAllClose(dX, hand.dX, 1e-12, "dX");
      expect(dreg).toBeCloseTo(hand.dreg, 12);
      expect(dy).toBeUndefined(); // labels are data: no gradient
    }
  });

  it("against central finite differences on 12 points, every entry of W, b, X and reg", () => {
    const data = spiral({ seed: 4, pointsPerClass: 4 });
    const { W, b } = weights(5, 1.5);
    const args = [W, b, data.X, data.y, 0.05];
    // h = 1e-6 moves a margin by at most ~1e-5 here: keep every margin further than that from 0
    expect(svmHand(W, b, data.X, data.y, 0.05).closest).toBeGreaterThan(1e-3);
    const g = m.svmLoss_grad(...args);
    for (const which of [0, 1, 2, 4]) {
      const analytic = typeof g[which] === "number" ? [g[which]] : g[which];
      expectAllClose(analytic, numeric(m.svmLoss, args, which), 1e-8, `argument ${which}`);
    }
    // both kinds of margin occur, so both sides of Math.max are exercised
    const s = scoresOf(W, b, data.X, data.y.length);
    const margins = Array.from(data.y, (label, i) =>
      [0, 1, 2].filter((j) => j !== label).map((j) => s[i * K + j] - s[i * K + label] + 1),
    ).flat();
    expect(margins.some((v) => v > 0) && margins.some((v) => v < 0)).toBe(true);
  });

  it("at a margin exactly on the kink, Math.max's tie rule counts it as met (the hand rule's margin > 0)", () => {
    // W = 0, b = (1, 0, 0): a row labelled 0 has margin b_1 − b_0 + 1 = 0 for class 1 and for class 2
    const W = new Float64Array(D * K);
    const b = Float64Array.of(1, 0, 0);
    const X = Float64Array.of(0.5, -0.25, 0.3, 0.7);
    const y = Int32Array.of(0, 1);
    const hand = svmHand(W, b, X, y, 0);
    expect(hand.closest).toBe(0);
    const [dW, db] = m.svmLoss_grad(W, b, X, y, 0);
    expectAllClose(dW, hand.dW, 1e-15, "dW");
    expectAllClose(db, hand.db, 1e-15, "db");
  });

  it("vjp's backward pass and gradInto give grad's gradient", () => {
    const data = spiral({ seed: 6, pointsPerClass: 10 });
    const { W, b } = weights(7, 0.8);
    const args = [W, b, data.X, data.y, 1e-2];
    const expected = m.svmLoss_grad(...args);
    const { value, backward } = runtime.vjp(m.svmLoss)(...args);
    expect(value).toBe(m.svmLoss(...args));
    const twice = backward(2);
    expectAllClose(
      twice[0],
      expected[0].map((v: number) => 2 * v),
      1e-15,
      "vjp dW",
    );
    const grads = runtime.grad(m.svmLoss)(...args);
    grads[0].fill(99); // stale values are overwritten, not added to
    const out = runtime.gradInto(m.svmLoss)(grads, ...args);
    expect(out[0]).toBe(grads[0]);
    expectAllClose(out[0], expected[0], 0, "gradInto dW");
    expectAllClose(out[1], expected[1], 0, "gradInto db");
  });
});

describe("the softmax classifier (examples/classifiers.ts), with loops and with matrix operations", () => {
  it("both versions equal the hand-derived gradient (p − onehot) / n on the 300 spiral points", () => {
    const data = spiral({ seed: 8 });
    for (const seed of [1, 2]) {
      const { W, b } = weights(seed, 2); // confident, mostly wrong scores: far from the uniform softmax
      const hand = softmaxHand(W, b, data.X, data.y, 1e-3);
      const args = [W, b, data.X, data.y, 1e-3];
      expect(m.softmaxLoss(...args)).toBeCloseTo(hand.loss, 12);
      const [dW, db, dX, , dreg] = m.softmaxLoss_grad(...args);
      expectAllClose(dW, hand.dW, 1e-12, "loops dW");
      expectAllClose(db, hand.db, 1e-12, "loops db");
      expectAllClose(dX, hand.dX, 1e-12, "loops dX");
      expect(dreg).toBeCloseTo(hand.dreg, 12);

      const margs = matrixArgs(W, b, data.X, data.y, 1e-3);
      expect(m.softmaxMatrixLoss(...margs)).toBeCloseTo(hand.loss, 12);
      const [mW, mb, mX, , mreg] = m.softmaxMatrixLoss_grad(...margs);
      expectAllClose(mW.data, hand.dW, 1e-12, "matrix dW");
      expectAllClose(mb.data, hand.db, 1e-12, "matrix db");
      expectAllClose(mX.data, hand.dX, 1e-12, "matrix dX");
      expect(mreg).toBeCloseTo(hand.dreg, 12);

      // and the two versions against each other, to rounding
      expectAllClose(dW, mW.data, 1e-13, "loops vs matrix dW");
      expectAllClose(db, mb.data, 1e-13, "loops vs matrix db");
      expectAllClose(dX, mX.data, 1e-13, "loops vs matrix dX");
    }
  });

  it("both versions against central finite differences on 12 points, every entry", () => {
    const data = spiral({ seed: 9, pointsPerClass: 4 });
    const { W, b } = weights(10, 1.5);
    const args = [W, b, data.X, data.y, 0.05];
    const g = m.softmaxLoss_grad(...args);
    for (const which of [0, 1, 2, 4]) {
      const analytic = typeof g[which] === "number" ? [g[which]] : g[which];
      expectAllClose(analytic, numeric(m.softmaxLoss, args, which), 1e-8, `loops, argument ${which}`);
    }
    const margs = matrixArgs(W, b, data.X, data.y, 0.05);
    const mg = m.softmaxMatrixLoss_grad(...margs);
    for (const which of [0, 1, 2, 4]) {
      const analytic = typeof mg[which] === "number" ? [mg[which]] : mg[which].data;
      expectAllClose(analytic, numeric(m.softmaxMatrixLoss, margs, which), 1e-8, `matrix, argument ${which}`);
    }
  });

  it("is stable at large scores (the row maximum is subtracted before exp)", () => {
    const data = spiral({ seed: 11, pointsPerClass: 5 });
    const { W, b } = weights(12, 1);
    const shifted = b.map((v) => v + 800); // the same softmax: exp(800) alone would be Infinity
    const plain = m.softmaxLoss_grad(W, b, data.X, data.y, 0);
    const big = m.softmaxLoss_grad(W, shifted, data.X, data.y, 0);
    expect(m.softmaxLoss(W, shifted, data.X, data.y, 0)).toBeCloseTo(m.softmaxLoss(W, b, data.X, data.y, 0), 10);
    expectAllClose(big[0], plain[0], 1e-10, "dW");
    expectAllClose(big[1], plain[1], 1e-10, "db");
  });
});

describe("training the linear classifiers on the spiral (300 points)", () => {
  const data = spiral({ seed: 0 });
  const options = (onProgress?: (step: number, loss: number) => void) => ({
    steps: 200,
    stepSize: 1,
    reg: 1e-3,
    every: 20,
    onProgress,
  });

  for (const name of ["svmLoss", "softmaxLoss"]) {
    it(`${name}: gradient descent with gradInto lowers the loss and gets about half the points right`, () => {
      const { W, b } = weights(0, 0.01);
      const losses: number[] = [];
      const final = m.trainLinear(
        m[name],
        W,
        b,
        data.X,
        data.y,
        options((_, loss) => losses.push(loss)),
      );
      expect(losses.length).toBe(11); // steps 0, 20, ..., 200
      expect(losses.at(-1)).toBe(final);
      expect(final).toBeLessThan(0.75 * losses[0]);
      for (let i = 1; i < losses.length; i++) expect(losses[i]).toBeLessThanOrEqual(losses[i - 1] + 1e-12);
      const [dW, db] = m[`${name}_grad`](W, b, data.X, data.y, 1e-3);
      // the descent has nearly stopped: the gradient is small where it ends (the SVM's, made of
      // ±x_i / n terms, moves in steps of about 1/300 as margins cross 0)
      expect(Math.max(...dW.map(Math.abs), ...db.map(Math.abs))).toBeLessThan(0.01);
      const acc = m.linearAccuracy(W, b, data.X, data.y);
      expect(acc).toBeGreaterThan(0.45);
      expect(acc).toBeLessThan(0.7); // a linear classifier cannot follow the arms
    });
  }

  it("the matrix softmax follows the same descent as the loop softmax", () => {
    const loops = weights(0, 0.01);
    const mat = weights(0, 0.01);
    const lossesLoops: number[] = [];
    const lossesMatrix: number[] = [];
    m.trainLinear(
      m.softmaxLoss,
      loops.W,
      loops.b,
      data.X,
      data.y,
      options((_, l) => lossesLoops.push(l)),
    );
    const [W, b, X] = matrixArgs(mat.W, mat.b, data.X, data.y, 0);
    m.trainSoftmaxMatrix(
      W,
      b,
      X,
      data.y,
      options((_, l) => lossesMatrix.push(l)),
    );
    expectAllClose(lossesMatrix, lossesLoops, 1e-12, "losses");
    expectAllClose(mat.W, loops.W, 1e-10, "W");
    expectAllClose(mat.b, loops.b, 1e-10, "b");
  });

  it("linearAccuracy counts the rows whose highest score is their label", () => {
    // scores of the 4 rows x = (±1, 0), (0, ±1) under W = [[1, 0, -1], [0, 1, 0]] and b = 0
    const W = Float64Array.of(1, 0, -1, 0, 1, 0);
    const b = new Float64Array(3);
    const X = Float64Array.of(1, 0, -1, 0, 0, 1, 0, -1); // best classes 0, 2, 1, and 0 (scores 0, -1, 0: a tie, the first wins)
    expect(m.linearAccuracy(W, b, X, Int32Array.of(0, 2, 1, 0))).toBe(1);
    expect(m.linearAccuracy(W, b, X, Int32Array.of(0, 2, 1, 2))).toBe(0.75);
    expect(m.linearAccuracy(W, b, X, Int32Array.of(1, 1, 0, 1))).toBe(0);
  });
});
