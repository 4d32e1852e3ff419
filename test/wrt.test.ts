// grad(f, { wrt: [...] }) with f declared in the same file and a literal list compiles to a
// gradient of those parameters alone (`f_grad_net`): the others are data, so no line computes
// their gradient. Checked against the full gradient picked at run time, on values and on the
// generated code (no dX line), with gradInto filling in place; other calls fall back to the runtime.

import { beforeAll, describe, expect, it } from "vitest";
import { compile, compileToJs } from "./harness.js";

const source = `
import { grad, gradInto } from "tsgrad";

export interface Layer {
  W: Float64Array;
  c: number;
}

/** @differentiable */
export function loss(layer: Layer, X: Float64Array, k: number): number {
  let s = layer.c * k;
  for (let i = 0; i < X.length; i++) s += Math.tanh(layer.W[i % layer.W.length] * X[i]);
  return s * s;
}

export const onLayer = grad(loss, { wrt: [0] });
export const onK = grad(loss, { wrt: [2] });
export const reordered = grad(loss, { wrt: [2, 0] });
export const intoLayer = gradInto(loss, { wrt: [0] });
const indices = [1] as const;
export const dynamic = grad(loss, { wrt: indices });
`;

let m: Record<string, any>;
let js: string;
const layer = () => ({ W: Float64Array.of(0.5, -1, 2), c: 0.7 });
const X = Float64Array.of(1, -0.5, 0.25, 2, -1, 0.3);

beforeAll(async () => {
  ({ module: m, js } = await compile(source));
}, 60_000);

describe("grad(f, { wrt }) compiled to the gradient of those parameters alone", () => {
  it("returns what the full gradient picks, in the order of wrt", () => {
    const [dlayer, dX, dk] = m.loss_grad(layer(), X, 1.5);
    const [only] = m.onLayer(layer(), X, 1.5);
    expect(Array.from(only.W)).toEqual(Array.from(dlayer.W));
    expect(only.c).toBe(dlayer.c);
    expect(m.onK(layer(), X, 1.5)).toEqual([dk]);
    const [rk, rl] = m.reordered(layer(), X, 1.5);
    expect(rk).toBe(dk);
    expect(Array.from(rl.W)).toEqual(Array.from(dlayer.W));
    expect(Array.from(m.dynamic(layer(), X, 1.5)[0])).toEqual(Array.from(dX));
  });

  it("each call compiles to its own function, named after the parameters, without the others' lines", () => {
    expect(js).toMatch(/const onLayer = loss_grad_layer;/);
    expect(js).toMatch(/const onK = loss_grad_k;/);
    expect(js).toMatch(/const reordered = loss_grad_k_layer;/);
    expect(js).toMatch(/const intoLayer = loss_gradInto_layer;/);
    // A list that is not a literal is picked at run time from the full gradient.
    expect(js).toMatch(/const dynamic = grad\(loss, \{ wrt: indices \}\);/);
    const body = (name: string) =>
      js.slice(js.indexOf(`function ${name}(`), js.indexOf("\n}\n", js.indexOf(`function ${name}(`)));
    expect(body("loss_grad")).toMatch(/dX\[i\] \+=/);
    expect(body("loss_grad_layer")).not.toMatch(/dX|dk/);
    expect(body("loss_grad_k")).not.toMatch(/dX|dW|dc\b/);
  });

  it("gradInto with wrt refills the buffers of an earlier result in place", () => {
    const grads = m.onLayer(layer(), Float64Array.of(9, 9, 9), 0);
    const W = grads[0].W;
    const out = m.intoLayer(grads, layer(), X, 1.5);
    expect(out).toBe(grads);
    expect(out[0].W).toBe(W);
    expect(Array.from(W)).toEqual(Array.from(m.loss_grad(layer(), X, 1.5)[0].W));
    expect(out[0].c).toBe(m.loss_grad(layer(), X, 1.5)[0].c);
  });

  it("the runtime's gradInto with wrt (f known only at run time) gives the same", async () => {
    const runtime = await import("tsgrad" as string);
    const grads = m.onLayer(layer(), X, 0);
    runtime.gradInto(m.loss, { wrt: [0] })(grads, layer(), X, 1.5);
    expect(Array.from(grads[0].W)).toEqual(Array.from(m.loss_grad(layer(), X, 1.5)[0].W));
  });

  it("an index out of range is left to the runtime, which names it", () => {
    const src = `import { grad } from "tsgrad";\n/** @differentiable */\nexport function f(x: number): number { return x * x; }\nexport const g = () => grad(f, { wrt: [3] as any });\n`;
    expect(compileToJs(src).js).toMatch(/grad\(f, \{ wrt: \[3\] as any \}\)|grad\(f, \{ wrt: \[3\] \}\)/);
  });
});
