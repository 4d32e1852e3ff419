// Fused matrix kernels (runtime/ops/fused.ts) and the compiler phase that calls them
// (transformer/phases/fuse.ts). Oracles: the unfused ops themselves (a fused kernel must give their
// numbers to the last bit), finite differences, and vjp's backward pass, which is never fused.

import { beforeAll, describe, expect, it } from "vitest";
import { bodyOf, compile, expectAllClose, numericEntries } from "./harness.js";
import { checkGenerated } from "./oracles.js";
import {
  type Matrix,
  addBias,
  addMatmulNT,
  addMatmulNTRelu,
  addReluGrad,
  affineInto,
  affineReluInto,
  backwardFusions,
  forwardFusions,
  matmul,
  matrix,
  relu,
  zerosLike,
} from "../runtime/index.js";

/** Entries that are small integers (products and sums exact, some exactly 0), seeded. */
function ints(rows: number, cols: number, seed: number): Matrix {
  return matrix(
    rows,
    cols,
    Float64Array.from({ length: rows * cols }, (_, i) => Math.round(3 * Math.sin(seed * 7.1 + i * 1.7))),
  );
}

function rand(rows: number, cols: number, seed: number, scale = 1): Matrix {
  return matrix(
    rows,
    cols,
    Float64Array.from({ length: rows * cols }, (_, i) => Math.sin(seed * 91.7 + i * 12.9898) * scale),
  );
}

/** Bit for bit, NaN equal to NaN, 0 apart from -0. */
function expectSameBits(a: Matrix, b: Matrix): void {
  expect([a.rows, a.cols]).toEqual([b.rows, b.cols]);
  for (let i = 0; i < a.data.length; i++)
    if (!Object.is(a.data[i], b.data[i])) throw new Error(`entry ${i}: ${a.data[i]} vs ${b.data[i]}`);
}

// narrow (a dot product per entry, B under 16 columns) and wide (row by row) products
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [5, 3, 2],
  [300, 2, 100],
  [7, 20, 17],
  [4, 16, 16],
  [6, 1, 15],
];

describe("fused kernels give the unfused ops' numbers", () => {
  it.each(SHAPES)("affineInto and affineReluInto: %i×%i by %i columns, integer and real entries", (m, k, n) => {
    for (const make of [ints, rand]) {
      const A = make(m, k, 1),
        B = make(k, n, 2),
        b = make(1, n, 3);
      expectSameBits(affineInto(matrix(m, n), A, B, b), addBias(matmul(A, B), b));
      expectSameBits(affineReluInto(matrix(m, n), A, B, b), relu(addBias(matmul(A, B), b)));
    }
  });

  it("ReLU's convention at 0 and NaN: max(0, 0) = 0, NaN stays NaN", () => {
    const A = matrix(2, 2, [1, -1, NaN, 0]),
      B = matrix(2, 1, [1, 1]),
      b = matrix(1, 1, [0]);
    const out = affineReluInto(matrix(2, 1), A, B, b);
    expect(Object.is(out.data[0], 0)).toBe(true);
    expect(out.data[1]).toBeNaN();
    expectSameBits(out, relu(addBias(matmul(A, B), b)));
  });

  it.each(SHAPES)("addMatmulNTRelu: %i×%i times (%i×k)ᵀ, into a buffer already holding numbers", (m, k, n) => {
    for (const make of [ints, rand]) {
      const X = make(m, k, 4),
        Y = make(n, k, 5),
        y = relu(make(m, n, 6));
      const start = make(m, n, 7);
      const fused = matrix(m, n, start.data.slice());
      addMatmulNTRelu(fused, X, Y, y);
      const t = zerosLike(y),
        unfused = matrix(m, n, start.data.slice());
      addMatmulNT(t, X, Y);
      addReluGrad(unfused, t, y);
      expectSameBits(fused, unfused);
    }
  });

  it("addMatmulNTRelu skips entries where the ReLU was off, even where the product is not finite", () => {
    const X = matrix(1, 1, [Infinity]),
      Y = matrix(2, 1, [0, 1]),
      y = matrix(1, 2, [0, 1]);
    const dst = zerosLike(y);
    addMatmulNTRelu(dst, X, Y, y);
    expect(Array.from(dst.data)).toEqual([0, Infinity]);
  });

  it("shape errors name both shapes; an output sharing memory with an input is refused", () => {
    const A = rand(3, 2, 1),
      B = rand(2, 4, 2),
      b = rand(1, 4, 3);
    expect(() => affineInto(matrix(3, 4), A, rand(3, 4, 2), b)).toThrow(
      "affineInto: cannot multiply 3×2 by 3×4 (inner sizes 2 and 3 differ)",
    );
    expect(() => affineReluInto(matrix(3, 4), A, B, rand(1, 3, 3))).toThrow(
      "cannot broadcast a 1×3 bias over the rows of 3×4",
    );
    expect(() => affineInto(matrix(4, 3), A, B, b)).toThrow("out is 4×3, the result is 3×4");
    const square = rand(2, 2, 4);
    expect(() => affineInto(square, square, rand(2, 2, 5), rand(1, 2, 6))).toThrow("out shares memory with A");
    expect(() => addMatmulNTRelu(matrix(3, 2), A, rand(2, 2, 5), rand(3, 3, 6))).toThrow("shapes 3×2 and 3×3 differ");
  });

  it("the tables name exported kernels", async () => {
    const runtime: Record<string, unknown> = await import("../runtime/index.js");
    for (const f of forwardFusions) expect(typeof runtime[f.into], f.into).toBe("function");
    for (const f of backwardFusions) expect(typeof runtime[/^\w+/.exec(f.into)![0]], f.into).toBe("function");
  });
});

// ---------------------------------------------------------------------------------------------

const source = `
import { type Matrix, addBias, matmul, mul, relu, softmaxCrossEntropy, sum } from "tsgrad";

/** The two-layer network: both layers and the ReLU's gradient fused. */
/** @differentiable */
export function twoLayer(W1: Matrix, b1: Matrix, W2: Matrix, b2: Matrix, X: Matrix, y: Int32Array): number {
  const hidden = relu(addBias(matmul(X, W1), b1));
  const scores = addBias(matmul(hidden, W2), b2);
  return softmaxCrossEntropy(scores, y) + 0.01 * sum(mul(W1, W1));
}

/** The product is read again: no forward fusion. */
/** @differentiable */
export function productReadTwice(X: Matrix, W: Matrix, b: Matrix): number {
  const z = matmul(X, W);
  const h = relu(addBias(z, b));
  return sum(mul(h, h)) + sum(mul(z, z));
}

/** The pre-activation is read again: the affine part fused, the ReLU not. */
/** @differentiable */
export function preActivationRead(X: Matrix, W: Matrix, b: Matrix): number {
  const pre = addBias(matmul(X, W), b);
  const h = relu(pre);
  return sum(mul(h, h)) + 0.5 * sum(mul(pre, pre));
}

/** dhidden has two contributions (a product and mul): it is made, not fused away. */
/** @differentiable */
export function hiddenFansOut(X: Matrix, W1: Matrix, b1: Matrix, W2: Matrix): number {
  const hidden = relu(addBias(matmul(X, W1), b1));
  return sum(mul(matmul(hidden, W2), matmul(hidden, W2))) + sum(mul(hidden, hidden));
}

/** relu of a product without a bias: no pattern matches; the plain ops run. */
/** @differentiable */
export function noBias(X: Matrix, W: Matrix, V: Matrix): number {
  const h = relu(matmul(X, W));
  const o = matmul(h, V);
  return sum(mul(o, o));
}
`;

let m: Record<string, any>;
let js: string;

beforeAll(async () => {
  ({ module: m, js } = await compile(source));
});

/** The generated text of one function. */
const body = (name: string) => bodyOf(js, name);

/** f_grad (fused) against vjp's backward pass (unfused) and central differences, every matrix argument. */
function check(name: string, args: any[]): void {
  const g = m[`${name}_grad`](...args);
  const back = m[`${name}_backward`](m[`${name}_forward`](...args).cache, 1);
  args.forEach((a, i) => {
    if (!a?.data) return;
    expectAllClose(g[i].data, back[i].data, 1e-13);
    expectAllClose(g[i].data, numericEntries(m[name], args, i), 1e-6);
  });
  // gradInto agrees, into buffers holding junk.
  const junk = g.map((x: any) => (x?.data ? { ...x, data: x.data.map(() => 7) } : x));
  const into = m[`${name}_gradInto`](junk, ...args);
  args.forEach((a, i) => a?.data && expectAllClose(into[i].data, g[i].data, 0));
}

describe("the compiler fuses what nothing else reads", () => {
  it("the two-layer network: one kernel per layer, the ReLU's gradient inside the product's", () => {
    const grad = body("twoLayer_grad");
    expect(grad).toMatch(
      /const hidden = affineReluInto\(matrixPool\.matrix\(X\.rows, W1\.cols\), X, W1, b1\); \/\/ fused: XW1 = matmul\(X, W1\), biased = addBias\(XW1, b1\), hidden = relu\(biased\)/,
    );
    expect(grad).toMatch(/const scores = affineInto\(matrixPool\.matrix\(hidden\.rows, W2\.cols\), hidden, W2, b2\);/);
    expect(grad).toMatch(
      /addMatmulNTRelu\(dbiased, dprod, W2, hidden\); \/\/ dbiased \+= \(dprod · W2ᵀ\) ⊙ \(hidden > 0\)/,
    );
    expect(grad).not.toMatch(/\bdhidden\b|addReluGrad|matmulInto|addBiasInto|reluInto|const (XW1|biased|prod) =/);
    // vjp keeps the ops as written (its forward pass is the user's, kept for a later backward pass).
    expect(body("twoLayer_backward")).toMatch(/addReluGrad\(dbiased, dhidden, hidden\)/);
    const W1 = rand(2, 30, 1, 0.8),
      b1 = rand(1, 30, 2, 0.3),
      W2 = rand(30, 3, 3, 0.5),
      b2 = rand(1, 3, 4, 0.1);
    const X = rand(40, 2, 5),
      y = Int32Array.from({ length: 40 }, (_, i) => i % 3);
    check("twoLayer", [W1, b1, W2, b2, X, y]);
  });

  it("a product read twice is computed once and kept", () => {
    const grad = body("productReadTwice_grad");
    expect(grad).not.toMatch(/affine/);
    expect(grad).toMatch(/const z = matmulInto\(/);
    check("productReadTwice", [rand(6, 4, 1), rand(4, 5, 2), rand(1, 5, 3, 0.3)]);
  });

  it("a pre-activation read again: only the affine part fused", () => {
    const grad = body("preActivationRead_grad");
    expect(grad).toMatch(/const pre = affineInto\(matrixPool\.matrix\(X\.rows, W\.cols\), X, W, b\);/);
    expect(grad).toMatch(/const h = reluInto\(/);
    check("preActivationRead", [rand(6, 4, 1), rand(4, 5, 2), rand(1, 5, 3, 0.3)]);
  });

  it("a gradient with two contributions is made and read, not fused away", () => {
    const grad = body("hiddenFansOut_grad");
    expect(grad).toMatch(/affineReluInto/);
    expect(grad).not.toMatch(/addMatmulNTRelu/);
    expect(grad).toMatch(/addReluGrad\(dbiased, dhidden, hidden\)/);
    check("hiddenFansOut", [rand(6, 4, 1), rand(4, 20, 2), rand(1, 20, 3, 0.3), rand(20, 3, 4)]);
  });

  it("relu of a bare product: no forward pattern matches, the backward pair still fuses", () => {
    const grad = body("noBias_grad");
    expect(grad).not.toMatch(/affine/);
    expect(grad).toMatch(/const h = reluInto\(/);
    // the adjoint of o is not \`do\`, a reserved word
    expect(grad).toMatch(/addMatmulNTRelu\(dXW, do_2, V, h\); \/\/ dXW \+= \(do_2 · Vᵀ\) ⊙ \(h > 0\)/);
    check("noBias", [rand(6, 4, 1), rand(4, 5, 2), rand(5, 2, 3)]);
  });
});

// ---------------------------------------------------------------------------------------------
// Programs shaped to break the fusion: one matrix as both factors, a bias that is an operand of
// the chain, intermediates read elsewhere, gradients sharing buffers. Checked against oracles only
// (checkGenerated): finite differences, vjp's backward pass and gradInto into junk-filled buffers.

const fuseSource = `
import { type Matrix, add, addBias, matmul, mul, relu, sum, tanh, softmaxCrossEntropy, transpose, grad, gradInto } from "tsgrad";

/** One matrix as both factors. */
/** @differentiable */
export function sameAB(W: Matrix, b: Matrix): number {
  const h = relu(addBias(matmul(W, W), b));
  return sum(mul(h, h));
}

/** The bias is also the left factor. */
/** @differentiable */
export function biasIsA(b: Matrix, W: Matrix): number {
  const h = relu(addBias(matmul(b, W), b));
  return sum(mul(h, h));
}

/** The product is its own bias: the inner value is an operand of the chain. */
/** @differentiable */
export function biasIsProduct(X: Matrix, W: Matrix): number {
  const z = matmul(X, W);
  const h = addBias(z, z);
  return sum(mul(h, h));
}

/** A ReLU layer feeding two products (its gradient has two contributions). */
/** @differentiable */
export function fanOut(X: Matrix, W: Matrix, b: Matrix, V: Matrix, U: Matrix): number {
  const h = relu(addBias(matmul(X, W), b));
  const o1 = matmul(h, V);
  const o2 = matmul(h, U);
  return sum(mul(o1, o1)) + sum(tanh(o2));
}

/** Two fused layers in a row, both backward pairs fused. */
/** @differentiable */
export function twoChains(X: Matrix, W1: Matrix, b1: Matrix, W2: Matrix, b2: Matrix, W3: Matrix): number {
  const h1 = relu(addBias(matmul(X, W1), b1));
  const h2 = relu(addBias(matmul(h1, W2), b2));
  const o = matmul(h2, W3);
  return sum(mul(o, o));
}

/** The product's gradient shares a buffer (add, addBias) with gradients written later. */
/** @differentiable */
export function sharedGrad(X: Matrix, W: Matrix, b: Matrix, V: Matrix, C: Matrix): number {
  const h = relu(addBias(matmul(X, W), b));
  const m = matmul(h, V);
  const r = sum(mul(m, m));
  const s = add(m, C);
  const u = addBias(s, transpose(transpose(b)));
  return sum(mul(u, u)) + r;
}

/** @differentiable */
export function sharedGrad2(X: Matrix, W: Matrix, b: Matrix, V: Matrix, c: Matrix): number {
  const h = relu(addBias(matmul(X, W), b));
  const m = matmul(h, V);
  const s = addBias(m, c);
  const q = sum(mul(s, s));
  const u = add(s, m);
  return sum(tanh(u)) + q;
}

/** The ReLU's output also read by an op between the product and the ReLU (in backward order). */
/** @differentiable */
export function hUsedTwice(X: Matrix, W: Matrix, b: Matrix, V: Matrix): number {
  const h = relu(addBias(matmul(X, W), b));
  const k = sum(mul(h, X));
  const m = matmul(h, V);
  return sum(mul(m, m)) + k;
}

/** One bias in two layers; the hidden layer read by tanh as well. */
/** @differentiable */
export function biasShared(X: Matrix, W: Matrix, b: Matrix, W2: Matrix): number {
  const h = relu(addBias(matmul(X, W), b));
  const o = addBias(matmul(h, W2), b);
  return sum(mul(o, o)) + sum(tanh(h));
}

/** The ReLU's output multiplied by itself. */
/** @differentiable */
export function selfProduct(A: Matrix, b: Matrix): number {
  const h = relu(addBias(matmul(A, A), b));
  const o = matmul(h, h);
  return sum(mul(o, o));
}

/** The pre-activation read by the loss and the product read again after the chain. */
/** @differentiable */
export function readAgain(X: Matrix, W: Matrix, b: Matrix, V: Matrix): number {
  const z = matmul(X, W);
  const pre = addBias(z, b);
  const h = relu(pre);
  const o = addBias(matmul(h, V), transpose(transpose(b)));
  return sum(mul(o, o)) + sum(tanh(pre)) + 0.1 * sum(mul(z, z));
}

/** The ReLU's input and the product after it added together: one of them shares the sum's gradient buffer. */
/** @differentiable */
export function residualA(X: Matrix, W: Matrix, b: Matrix, V: Matrix): number {
  const z = addBias(matmul(X, W), b);
  const h = relu(z);
  const m = matmul(h, V);
  const w = add(z, m);
  return sum(mul(w, w));
}

/** @differentiable */
export function residualB(X: Matrix, W: Matrix, b: Matrix, V: Matrix): number {
  const z = addBias(matmul(X, W), b);
  const h = relu(z);
  const m = matmul(h, V);
  const w = add(m, z);
  return sum(mul(w, w));
}

/** The network, and gradients of some of its parameters only. */
/** @differentiable */
export function network(W1: Matrix, b1: Matrix, W2: Matrix, b2: Matrix, X: Matrix, y: Int32Array): number {
  const hidden = relu(addBias(matmul(X, W1), b1));
  const scores = addBias(matmul(hidden, W2), b2);
  return softmaxCrossEntropy(scores, y) + 0.01 * sum(mul(W1, W1));
}
export const gW1 = grad(network, { wrt: [0] });
export const gX = grad(network, { wrt: [4] });
export const gW2b1 = grad(network, { wrt: [2, 1] });
export const gb2 = grad(network, { wrt: [3] });
export const intoXW1 = gradInto(network, { wrt: [4, 0] });
`;

describe("fused kernels in f_grad and f_gradInto: aliased operands, shared buffers, values read twice", () => {
  let m: Record<string, any>;
  let js: string;
  beforeAll(async () => {
    ({ module: m, js } = await compile(fuseSource));
  });
  const body = (name: string) => bodyOf(js, name);

  it.each([
    ["1×1", 1],
    ["3×3", 3],
    ["20×20", 20],
  ] as const)("one matrix as both factors, %s", (_, n) => {
    expect(body("sameAB_grad")).toMatch(/affineReluInto\(matrixPool\.matrix\(W\.rows, W\.cols\), W, W, b\)/);
    checkGenerated(m, "sameAB", [rand(n, n, 1, 0.5), rand(1, n, 2, 0.3)]);
    checkGenerated(m, "selfProduct", [rand(n, n, 3, 0.5), rand(1, n, 4, 0.3)]);
  });

  it.each([4, 17])("the bias as the left factor, 1×%i", (n) => {
    checkGenerated(m, "biasIsA", [rand(1, n, 1), rand(n, n, 2, 0.4)]);
  });

  it("a product that is its own bias is not fused into itself", () => {
    expect(body("biasIsProduct_grad")).not.toMatch(/affine/);
    checkGenerated(m, "biasIsProduct", [rand(1, 3, 1), rand(3, 5, 2)]);
  });

  it.each([
    ["narrow", 3, 5],
    ["wide", 17, 18],
  ] as const)("fan-out and two fused layers (%s)", (_, k, n) => {
    checkGenerated(m, "fanOut", [rand(5, k, 1), rand(k, n, 2), rand(1, n, 3, 0.3), rand(n, 2, 4), rand(n, 18, 5, 0.3)]);
    checkGenerated(m, "twoChains", [
      rand(18, k, 1, 0.5),
      rand(k, n, 2, 0.5),
      rand(1, n, 3, 0.3),
      rand(n, 20, 4, 0.5),
      rand(1, 20, 5, 0.2),
      rand(20, 3, 6),
    ]);
  });

  it("buffers shared through add and addBias around a fused backward pair", () => {
    expect(body("sharedGrad_grad")).toMatch(/addMatmulNTRelu/);
    expect(body("sharedGrad2_grad")).toMatch(/addMatmulNTRelu/);
    checkGenerated(m, "sharedGrad", [rand(4, 3, 1), rand(3, 5, 2), rand(1, 5, 3, 0.3), rand(5, 5, 4), rand(4, 5, 5)]);
    checkGenerated(m, "sharedGrad2", [rand(4, 3, 1), rand(3, 5, 2), rand(1, 5, 3, 0.3), rand(5, 6, 4), rand(1, 6, 5)]);
    checkGenerated(m, "sharedGrad2", [
      rand(19, 17, 1, 0.5),
      rand(17, 16, 2, 0.5),
      rand(1, 16, 3, 0.3),
      rand(16, 20, 4, 0.3),
      rand(1, 20, 5),
    ]);
  });

  it("values read twice, by other ops or by the backward pass", () => {
    checkGenerated(m, "hUsedTwice", [rand(4, 3, 1), rand(3, 3, 2), rand(1, 3, 3, 0.3), rand(3, 2, 4)]);
    checkGenerated(m, "biasShared", [rand(4, 3, 1), rand(3, 5, 2), rand(1, 5, 3, 0.3), rand(5, 5, 4)]);
    checkGenerated(m, "readAgain", [rand(4, 3, 1), rand(3, 5, 2), rand(1, 5, 3, 0.3), rand(5, 5, 4)]);
    checkGenerated(m, "readAgain", [
      rand(16, 17, 1, 0.4),
      rand(17, 16, 2, 0.4),
      rand(1, 16, 3, 0.3),
      rand(16, 16, 4, 0.3),
    ]);
  });

  it.each([
    [3, 5],
    [17, 16],
  ] as const)("a residual sum of the ReLU's input and the next product, both orders (%i×%i)", (k, n) => {
    for (const name of ["residualA", "residualB"]) {
      expect(body(`${name}_grad`)).toMatch(/addMatmulNTRelu/);
      checkGenerated(m, name, [rand(6, k, 1, 0.6), rand(k, n, 2, 0.5), rand(1, n, 3, 0.3), rand(n, n, 4, 0.4)]);
    }
  });

  it.each([
    [2, 30, 40],
    [17, 1, 3],
    [1, 1, 1],
    [20, 18, 19],
  ] as const)("the network and its wrt variants: %i inputs, %i units, %i rows", (k, n, rows) => {
    const args: any[] = [
      rand(k, n, 1, 0.8),
      rand(1, n, 2, 0.3),
      rand(n, 3, 3, 0.5),
      rand(1, 3, 4, 0.1),
      rand(rows, k, 5),
      Int32Array.from({ length: rows }, (_, i) => i % 3),
    ];
    checkGenerated(m, "network", args, { diff: [0, 1, 2, 3, 4] });
    const back = m.network_backward(m.network_forward(...args).cache, 1);
    expectAllClose(m.gW1(...args)[0].data, back[0].data, 1e-12);
    expectAllClose(m.gX(...args)[0].data, back[4].data, 1e-12);
    const w = m.gW2b1(...args);
    expectAllClose(w[0].data, back[2].data, 1e-12);
    expectAllClose(w[1].data, back[1].data, 1e-12);
    expectAllClose(m.gb2(...args)[0].data, back[3].data, 1e-12);
    const junk = [rand(rows, k, 9, 100), rand(k, n, 8, 100)];
    const r = m.intoXW1(junk, ...args);
    expect(r[0]).toBe(junk[0]);
    expectAllClose(r[0].data, back[4].data, 1e-12);
    expectAllClose(r[1].data, back[0].data, 1e-12);
  });
});
