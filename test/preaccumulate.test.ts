// Pre-accumulation in backward loops (transformer/phases/preaccumulate.ts): a backward iteration that
// reads one adjoint from the previous one computes its local gradients per unit of that adjoint
// and multiplies it in once. Each case checks the rewrite applies (or not) by the generated text,
// and the gradient against finite differences, vjp's backward pass, and a hand derivation.

import { beforeAll, describe, expect, it } from "vitest";
import { compile, expectClose, numericGradient } from "./harness.js";

const source = `
/** @differentiable */
export function logistic(r: number, x0: number): number {
  let x = x0;
  for (let i = 0; i < 30; i++) x = r * x * (1 - x);
  return x;
}

/** Two sums (da, db) and a product that reads the carried value twice. */
/** @differentiable */
export function twoSums(a: number, b: number, x0: number): number {
  let x = x0;
  for (let i = 0; i < 25; i++) {
    const s = Math.sin(x);
    x = a * s + b * x * x * 0.1;
  }
  return x;
}

/** @differentiable */
export function step(x: number, c: number): number {
  return Math.tanh(c * x) + 0.5 * x;
}

/** A call to another differentiable function in the body. */
/** @differentiable */
export function callsStep(c: number, x0: number): number {
  let x = x0;
  for (let i = 0; i < 20; i++) x = step(x, c);
  return x * x;
}

/** A while loop (counted backward iterations) inside a branch, and code after it. */
/** @differentiable */
export function whileInBranch(a: number, x0: number): number {
  let y = 0;
  if (a > 0) {
    let x = x0;
    let n = 0;
    while (n < 12) {
      x = x * a + Math.cos(x);
      n++;
    }
    y = x;
  } else {
    y = a * x0;
  }
  return y * 3;
}

/** The inner loop is rewritten; the outer one (it holds a loop) is not. */
/** @differentiable */
export function nested(a: number, x0: number): number {
  let x = x0;
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 5; j++) x = Math.sin(x) * a;
    x = x + a;
  }
  return x;
}

/** Two carried adjoints (x and v): left as it is. */
/** @differentiable */
export function twoCarried(k: number, x0: number): number {
  let x = x0;
  let v = 0;
  for (let i = 0; i < 50; i++) {
    const acc = -k * x;
    x += 0.01 * v;
    v += 0.01 * acc;
  }
  return x * x + v * v;
}

/** A branch inside the body: left as it is. */
/** @differentiable */
export function branchInBody(a: number, x0: number): number {
  let x = x0;
  for (let i = 0; i < 10; i++) {
    if (x > 0) x = x * a;
    else x = x - a;
  }
  return x;
}
`;

let m: Record<string, any>;
let js: string;

beforeAll(async () => {
  ({ module: m, js } = await compile(source));
});

/** The text of a generated function, from `function name(` to the next top-level function. */
function generated(name: string): string {
  const start = js.indexOf(`function ${name}(`);
  const end = js.indexOf("\nexport function", start + 1);
  return js.slice(start, end < 0 ? undefined : end);
}

function check(name: string, args: number[], tol = 1e-6): number[] {
  const g: number[] = m[`${name}_grad`](...args);
  expectClose(g, numericGradient(m[name], args), tol);
  const { cache } = m[`${name}_forward`](...args);
  expectClose(m[`${name}_backward`](cache, 1), g, 1e-12);
  expectClose(
    m[`${name}_backward`](cache, -2),
    g.map((v) => -2 * v),
    1e-12,
  );
  return g;
}

describe("pre-accumulation in backward loops", () => {
  it("the logistic map: dx is multiplied once per iteration, and the gradient is the hand-derived one", () => {
    const grad = generated("logistic_grad");
    expect(grad).toContain("dx = dx_step * dx;");
    expect(grad).toContain("dr += x * drx * dx;");
    expect(generated("logistic_backward")).toContain("dx = dx_step * dx;");
    for (const [r, x0] of [
      [2.5, 0.3],
      [3.3, 0.6],
    ]) {
      const [dr, dx0] = check("logistic", [r, x0], 1e-5);
      // Forward mode by hand: dx'/dx = r (1 - 2x), dx'/dr = x (1 - x).
      let [x, ddr, ddx0] = [x0, 0, 1];
      for (let i = 0; i < 30; i++)
        [x, ddr, ddx0] = [r * x * (1 - x), x * (1 - x) + r * (1 - 2 * x) * ddr, r * (1 - 2 * x) * ddx0];
      expect(dr / ddr).toBeCloseTo(1, 10);
      expect(dx0 / ddx0).toBeCloseTo(1, 10);
    }
  });

  it("two sums and a carried value read twice", () => {
    expect(generated("twoSums_grad")).toContain("dx = dx_step * dx;");
    check("twoSums", [0.7, 0.4, 0.3]);
    check("twoSums", [-1.1, 0.2, 1.5]);
  });

  it("a call to another differentiable function in the body", () => {
    expect(generated("callsStep_grad")).toContain("dx = dx_step * dx;");
    check("callsStep", [0.8, 0.5]);
  });

  it("a while loop inside a branch, both ways", () => {
    expect(generated("whileInBranch_grad")).toContain("dx = dx_step * dx;");
    check("whileInBranch", [0.9, 0.2]);
    check("whileInBranch", [-0.9, 0.2]);
  });

  it("nested loops: the inner loop", () => {
    const grad = generated("nested_grad");
    expect(grad.match(/_step \* dx/g)?.length).toBe(1);
    check("nested", [0.9, 0.4]);
  });

  it("is not applied with two carried adjoints or a branch in the body", () => {
    expect(generated("twoCarried_grad")).not.toContain("_step");
    expect(generated("branchInBody_grad")).not.toContain("_step");
    check("twoCarried", [3, 0.5]);
    check("branchInBody", [1.1, 0.4]);
  });
});
