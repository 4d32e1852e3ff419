// The seed's examples (CS231n "Backpropagation, Intuitions"), compiled by the tsc plugin pipeline:
// values and gradients to 1e-12 against the numbers the notes give, each also checked against
// central finite differences.

import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compile, expectClose, numericGradient, root } from "./harness.js";

let seed: Record<string, any>;
let api: typeof import("../runtime/index.js");

beforeAll(async () => {
  seed = (await compile(readFileSync(join(root, "examples/seed.ts"), "utf8"))).module;
  api = await import("tsgrad" as string);
});

const close = (actual: readonly number[], expected: readonly number[]) =>
  expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, 12));

describe("seed examples", () => {
  const cases: { fn: string; args: number[]; value: number; grads: number[] }[] = [
    { fn: "multiply", args: [4, -3], value: -12, grads: [-3, 4] },
    { fn: "addThenMultiply", args: [-2, 5, -4], value: -12, grads: [-4, -4, 3] },
    { fn: "max", args: [4, 2], value: 4, grads: [1, 0] },
    { fn: "max", args: [-1, 3], value: 3, grads: [0, 1] },
    {
      fn: "neuron",
      args: [2, -3, -3, -1, -2],
      value: 0.7310585786300049,
      grads: [-0.19661193324148185, -0.3932238664829637, 0.19661193324148185, 0.3932238664829637, -0.5898357997244456],
    },
    { fn: "staged", args: [3, -4], value: 1.5456448841066441, grads: [2.0595697955721652, 1.5922327514838093] },
    { fn: "circuit", args: [3, -4, 2, -1], value: -20, grads: [-8, 6, 2, 0] },
  ];

  for (const c of cases) {
    it(`${c.fn}(${c.args.join(", ")})`, () => {
      const f = seed[c.fn];
      expect(f(...c.args)).toBeCloseTo(c.value, 12);
      close(api.grad(f)(...c.args), c.grads);
      close(seed[`${c.fn}_grad`](...c.args), c.grads);
      const { value, grad } = api.valueAndGrad(f)(...c.args);
      expect(value).toBeCloseTo(c.value, 12);
      close(grad, c.grads);
      const { value: v, backward } = api.vjp(f)(...c.args);
      expect(v).toBeCloseTo(c.value, 12);
      close(backward(1), c.grads);
      close(
        backward(-2.5),
        c.grads.map((g) => -2.5 * g),
      );
      if (c.fn !== "max" && c.fn !== "circuit") expectClose(api.grad(f)(...c.args), numericGradient(f, c.args), 1e-7);
    });
  }

  it("the circuit away from the max tie agrees with finite differences", () => {
    expectClose(api.grad(seed.circuit)(3, -4, 2, -1), numericGradient(seed.circuit, [3, -4, 2, -1]), 1e-7);
  });

  it("grad with wrt picks and orders parameters", () => {
    close(api.grad(seed.staged, { wrt: [1] })(3, -4), [1.5922327514838093]);
    close(api.grad(seed.staged, { wrt: [1, 0] })(3, -4), [1.5922327514838093, 2.0595697955721652]);
  });
});
