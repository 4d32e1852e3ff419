// Differentiating through the runtime's matrix operations: the two-layer network's loss written
// with matmul/addBias/relu/softmaxCrossEntropy, its tsgrad gradient against the hand-written
// backprop of examples/network/hand.ts and against finite differences; each op's rule as used by
// the compiler (not only the table, which test/matrix.test.ts checks); refusals.

import { beforeAll, describe, expect, it } from "vitest";
import ts from "typescript";
import { compile, compileToJs, expectAllClose, numericEntries } from "./harness.js";
import { lossAndGradHand, makeWorkspace } from "../examples/network/hand.js";
import { initParams, zeroParams } from "../examples/network/params.js";
import { spiral } from "../examples/network/spiral.js";

const source = `
import { type Matrix, add, addBias, dot, exp, log, logSumExp, matmul, matvec, mean, mul, relu, scale, sigmoid, softmax, softmaxCrossEntropy, sub, sum, tanh, transpose } from "tsgrad";

/** @differentiable */
export function networkLoss(W1: Matrix, b1: Matrix, W2: Matrix, b2: Matrix, X: Matrix, y: Int32Array, reg: number): number {
  const hidden = relu(addBias(matmul(X, W1), b1));
  const scores = addBias(matmul(hidden, W2), b2);
  const dataLoss = softmaxCrossEntropy(scores, y);
  const regLoss = 0.5 * reg * (sum(mul(W1, W1)) + sum(mul(W2, W2)));
  return dataLoss + regLoss;
}

/** Every other op once, with fan-out (A used three times) and a number operand (s). */
/** @differentiable */
export function everyOp(A: Matrix, B: Matrix, v: Float64Array, w: Float64Array, s: number): number {
  const t = tanh(scale(sub(A, transpose(B)), s));
  const e = exp(mul(sigmoid(A), t));
  const l = log(add(e, A));
  const p = softmax(l);
  const z = logSumExp(matmul(p, B));
  const u = matvec(A, v);
  return mean(z) + sum(p) * 0.1 + dot(u, w) + mean(mul(A, A));
}

/**
 * Gradients that pass through add and addBias unchanged: a fresh buffer that would only copy
 * another's shares it. add(a, b) gives da and db the same gradient; only one may share it, since
 * the earlier mul(a, b) adds into both afterwards in the backward pass.
 */
/** @differentiable */
export function passThrough(A: Matrix, B: Matrix, c: Matrix): number {
  const a = relu(A);
  const b = exp(B);
  const p = mul(a, b);
  const s = add(a, b);
  const t = addBias(s, c);
  return sum(mul(t, t)) + sum(p);
}
`;

let m: Record<string, any>;
let js: string;
let runtime: any;

beforeAll(async () => {
  ({ module: m, js } = await compile(source));
  runtime = await import("tsgrad" as string);
});

/** A seeded matrix of the given shape with entries in [-1, 1) (times `scale`). */
function rand(rows: number, cols: number, seed: number, scale = 1) {
  const data = Float64Array.from({ length: rows * cols }, (_, i) => Math.sin(seed * 91.7 + i * 12.9898) * scale);
  return runtime.matrix(rows, cols, data);
}

describe("matrix operations in @differentiable functions", () => {
  it("the two-layer network: tsgrad's gradient equals the hand-written backprop on the spiral data", () => {
    const shape = { d: 2, h: 100, k: 3 };
    const data = spiral({ seed: 3 });
    const p = initParams(shape, 7, 0.5);
    // Nonzero biases keep every ReLU off its kink (the data set's first point is the origin).
    p.b1.forEach((_, j) => (p.b1[j] = 0.3 + 0.2 * Math.sin(j)));
    const hand = zeroParams(shape);
    const handLoss = lossAndGradHand(p, data.X, data.y, hand, makeWorkspace(data.n, shape), 1e-3);
    const M = (rows: number, cols: number, a: Float64Array) => runtime.matrix(rows, cols, a);
    const args = [M(2, 100, p.W1), M(1, 100, p.b1), M(100, 3, p.W2), M(1, 3, p.b2), M(data.n, 2, data.X), data.y, 1e-3];
    expect(m.networkLoss(...args)).toBeCloseTo(handLoss, 12);
    const [dW1, db1, dW2, db2, dX, dy, dreg] = m.networkLoss_grad(...args);
    expectAllClose(dW1.data, hand.W1, 1e-12);
    expectAllClose(db1.data, hand.b1, 1e-12);
    expectAllClose(dW2.data, hand.W2, 1e-12);
    expectAllClose(db2.data, hand.b2, 1e-12);
    expect([dW1.rows, dW1.cols, db2.rows, db2.cols]).toEqual([2, 100, 1, 3]);
    // The inputs' gradient against finite differences; the labels get zeros of their kind.
    expectAllClose(dX.data, numericEntries(m.networkLoss, args, 4), 1e-6);
    expect(dy).toBeInstanceOf(Int32Array);
    expect(dreg).toBeCloseTo(0.5 * (p.W1.reduce((s, w) => s + w * w, 0) + p.W2.reduce((s, w) => s + w * w, 0)), 10);
  });

  it("reads like the seed's backprop: dW2 += hiddenᵀ · dscores", () => {
    expect(js).toMatch(/addMatmulTN\(dW2, hidden, \w+\); \/\/ dW2 \+= hiddenᵀ · \w+/);
    expect(js).toMatch(/addReluGrad\(\w+, dhidden, hidden\)/);
  });

  it("every other op, with fan-out and a number operand, against finite differences", () => {
    const args = [
      rand(3, 4, 1, 0.8),
      rand(4, 3, 2, 0.8),
      Float64Array.from([0.3, -0.2, 0.5, 0.1]),
      Float64Array.from([0.7, -0.4, 0.2]),
      0.9,
    ];
    const g = m.everyOp_grad(...args);
    for (const i of [0, 1, 2, 3]) expectAllClose(g[i].data ?? g[i], numericEntries(m.everyOp, args, i), 1e-6);
    const h = 1e-6;
    const ds = (m.everyOp(...args.slice(0, 4), 0.9 + h) - m.everyOp(...args.slice(0, 4), 0.9 - h)) / (2 * h);
    expect(Math.abs(g[4] - ds)).toBeLessThan(1e-7);
    // vjp's backward pass scales with the output's gradient.
    const { cache } = m.everyOp_forward(...args);
    const back = m.everyOp_backward(cache, 2);
    expectAllClose(
      back[0].data,
      g[0].data.map((v: number) => 2 * v),
      1e-14,
    );
  });
});

describe("gradients shared where an op passes them through unchanged", () => {
  it("add and addBias: one buffer shared per gradient, the same values as finite differences", () => {
    const args = [rand(3, 4, 5, 0.8), rand(3, 4, 6, 0.5), rand(1, 4, 7, 0.5)];
    const g = m.passThrough_grad(...args);
    for (const i of [0, 1, 2]) expectAllClose(g[i].data, numericEntries(m.passThrough, args, i), 1e-6);
    const body = js.slice(js.indexOf("function passThrough_grad("), js.indexOf("function passThrough_gradInto("));
    expect(body).toMatch(/const ds = dt; \/\/ ds \+= dt \(ds was zero\): dt's buffer, shared/);
    // da shares ds, db does not (or mul(a, b)'s addition into da would change db).
    expect(body.match(/ = ds; /g)?.length).toBe(1);
    expect(body).toMatch(/addTo\(d[ab], ds\)/);
  });
});

describe("matrix code that is refused, at the node", () => {
  const refused = (body: string) => {
    const src = `import { type Matrix, matmul, matmulInto, relu, sum } from "tsgrad";\n/** @differentiable */\nexport function f(A: Matrix, B: Matrix, x: number): number {\n${body}\n}\n`;
    const { diagnostics } = compileToJs(src);
    const errors = diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error && d.code >= 94000);
    expect(errors.length, `expected a tsgrad error for:\n${body}`).toBeGreaterThan(0);
    const d = errors[0];
    return {
      text: src.slice(d.start!, d.start! + d.length!),
      message: ts.flattenDiagnosticMessageText(d.messageText, "\n"),
    };
  };

  it("matrix operations inside a loop or a branch", () => {
    expect(refused("let s = 0;\nfor (let i = 0; i < 3; i++) s += sum(relu(A));\nreturn s;").message).toMatch(
      /inside loops and branches/,
    );
    expect(refused("return x > 0 ? sum(A) : sum(B);").message).toMatch(/inside loops and branches/);
  });

  it("a matrix copied, read by field, or written into", () => {
    expect(refused("let C = A;\nreturn sum(C);").message).toMatch(/read-only: name them with `const`/); // `const C = A` names A
    expect(refused("return A.data[0];").message).toMatch(/matrix operations|only elements/);
    expect(refused("matmulInto(A, A, B);\nreturn sum(A);").message).toMatch(/./);
  });
});
