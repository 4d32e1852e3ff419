// gradInto(f)(grads, ...args): the gradient written into the buffers of an earlier result, for
// training loops that allocate nothing per step. Checked against grad(f), for buffer reuse, for
// the runtime stack left as found, and for the heap: bytes per call measured on the young
// generation, against grad(f) on the same function (the meter must see its arrays).

import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import v8 from "node:v8";
import { compile, root } from "./harness.js";
import { initParams } from "../examples/network/params.js";
import { spiral } from "../examples/network/spiral.js";

const source = `export { grad, gradInto } from "tsgrad";
${readFileSync(join(root, "examples/network/loops.ts"), "utf8")}

/** Numbers and a Float64Array, with a loop that saves values. */
/** @differentiable */
export function mixed(a: Float64Array, x: number, y: number): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s = Math.sin(s + a[i] * x) * y;
  return s;
}
`;

let m: Record<string, any>;
let runtime: any;

beforeAll(async () => {
  ({ module: m } = await compile(source));
  runtime = await import("tsgrad" as string);
});

/** Young-generation bytes per call of `run`, over batches small enough to fit between scavenges. */
function bytesPerCall(run: () => void, calls = 200): number {
  for (let i = 0; i < 50; i++) run(); // warm up (and let V8 optimize)
  const samples: number[] = [];
  for (let attempt = 0; attempt < 20 && samples.length < 5; attempt++) {
    const before = v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space")!.space_used_size;
    for (let i = 0; i < calls; i++) run();
    const after = v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space")!.space_used_size;
    if (after >= before) samples.push((after - before) / calls); // a scavenge in between: try again
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

describe("gradInto", () => {
  const data = spiral({ seed: 1 });
  const p = initParams({ d: 2, h: 100, k: 3 }, 3, 0.5);
  const args = () => [p.W1, p.b1, p.W2, p.b2, data.X, data.y, 1e-3];

  it("writes grad(f)'s values into the earlier result's buffers and returns them", () => {
    const expected = m.loopsLoss_grad(...args());
    const grads = m.grad(m.loopsLoss)(...args());
    grads[0].fill(123); // stale values must be overwritten, not added to
    const buffers = [...grads];
    const out = m.gradInto(m.loopsLoss)(grads, ...args());
    expect(out).toBe(grads);
    buffers.forEach((b, i) => typeof b !== "number" && expect(out[i]).toBe(b));
    // The labels (data) have no gradient: undefined in both.
    const values = (g: any) => (g === undefined || typeof g === "number" ? g : Array.from(g));
    out.forEach((g: any, i: number) => expect(values(g)).toEqual(values(expected[i])));
    expect(out[5]).toBeUndefined();
  });

  it("numbers, arrays and a loop that saves values; the stack is left as it was", () => {
    const a = Float64Array.of(0.3, -0.2, 0.5, 0.9);
    const expected = m.mixed_grad(a, 0.7, 1.1);
    const before = runtime.saved.size;
    const grads = m.mixed_grad(a, 0.1, 0.2);
    m.mixed_gradInto(grads, a, 0.7, 1.1);
    expect(runtime.saved.size).toBe(before);
    expect([Array.from(grads[0]), grads[1], grads[2]]).toEqual([Array.from(expected[0]), expected[1], expected[2]]);
  });

  it("a training step allocates no arrays: bytes per call against grad's", () => {
    const grads = m.loopsLoss_grad(...args());
    const a = args();
    const into = bytesPerCall(() => m.loopsLoss_gradInto(grads, ...a));
    const fresh = bytesPerCall(() => m.loopsLoss_grad(...a));
    // grad allocates dW1, db1, dW2, db2, dX, dy and the local arrays (their objects are on this
    // heap, their data outside it: over 1 kB a call); gradInto at
    // most V8's box for the number gradient it stores (dreg).
    expect(fresh).toBeGreaterThan(500);
    expect(into, `gradInto ${into} B/call, grad ${fresh} B/call`).toBeLessThan(64);
  });
});

// The network again, with matrix operations and its weights in one object, as in examples/network.ts.
const matrixSource = `import { type Matrix, addBias, grad, gradInto, matmul, mul, relu, softmaxCrossEntropy, sum } from "tsgrad";
export { matrix } from "tsgrad";
export interface Net { W1: Matrix; b1: Matrix; W2: Matrix; b2: Matrix }
/** @differentiable */
export function netLoss(net: Net, X: Matrix, y: Int32Array): number {
  const { W1, b1, W2, b2 } = net;
  const hidden = relu(addBias(matmul(X, W1), b1));
  const scores = addBias(matmul(hidden, W2), b2);
  return softmaxCrossEntropy(scores, y) + 0.5e-3 * (sum(mul(W1, W1)) + sum(mul(W2, W2)));
}
export const netGrad = grad(netLoss, { wrt: [0] });
export const netGradInto = gradInto(netLoss, { wrt: [0] });
`;

describe("gradInto with matrix operations", () => {
  let n: Record<string, any>;
  beforeAll(async () => {
    ({ module: n } = await compile(matrixSource));
  }, 60_000);
  const data = spiral({ seed: 1 });
  const p = initParams({ d: 2, h: 100, k: 3 }, 3, 0.5);
  const args = () => {
    const { matrix } = n;
    const net = {
      W1: matrix(2, 100, p.W1),
      b1: matrix(1, 100, p.b1),
      W2: matrix(100, 3, p.W2),
      b2: matrix(1, 3, p.b2),
    };
    return [net, matrix(data.X.length / 2, 2, data.X), data.y];
  };

  it("the same values as the full gradient, in the same buffers, the intermediates back in the pool", () => {
    const a = args();
    const [full] = n.netLoss_grad(...a);
    const grads = n.netGrad(...a);
    grads[0].W1.data.fill(7);
    const W1 = grads[0].W1;
    expect(n.netGradInto(grads, ...a)).toBe(grads);
    expect(grads[0].W1).toBe(W1);
    for (const k of ["W1", "b1", "W2", "b2"]) expect(Array.from(grads[0][k].data)).toEqual(Array.from(full[k].data));
    // A second call takes the intermediates the first gave back: same values again.
    n.netGradInto(grads, ...a);
    for (const k of ["W1", "b1", "W2", "b2"]) expect(Array.from(grads[0][k].data)).toEqual(Array.from(full[k].data));
  });

  it("a training step allocates no matrix: bytes per call against grad's", () => {
    const a = args();
    const grads = n.netGrad(...a);
    const into = bytesPerCall(() => n.netGradInto(grads, ...a));
    const fresh = bytesPerCall(() => n.netGrad(...a));
    // netGrad allocates the four gradient matrices and its result; netGradInto reuses them, and
    // both take the intermediates (N × H matrices) from the runtime's pool.
    expect(fresh).toBeGreaterThan(200);
    expect(into, `gradInto ${into} B/call, grad ${fresh} B/call`).toBeLessThan(64);
  });
});
