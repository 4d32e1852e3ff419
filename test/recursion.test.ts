// Gradients of recursive functions: a call of a function in the caller's recursion cycle (itself,
// or functions calling each other) runs the callee's forward pass, keeping its cache, and the
// backward pass runs the callee's backward pass on that cache (Def.recursive in
// transformer/ir/ir.ts). Each level then runs once forward and once backward: the cost is linear in
// the depth, where calling the callee's `g_grad` would redo the recursion below at every level.
//
// Checked: gradients (grad, valueAndGrad, vjp run twice, gradInto) against central differences
// and derivations by hand, for direct, double, mutual and branching recursion and recursion in
// loops; a call's result used on some paths only (a branch, a ternary, a loop that breaks or
// returns), where the callee's backward pass reads a gradient the branch adds into; the number of
// levels each pass runs (counted, not timed); the generated code and its strict typing
// (the golden file test/baselines/recursion.powRec.ts is checked by test/baselines.test.ts).

import ts from "typescript";
import { describe, expect, it } from "vitest";
import { numericGrad } from "../runtime/index.js";
import { generatedText } from "../transformer/text.js";
import { compile, compilerOptions, createProgram, expectClose, genStrictErrors } from "./harness.js";

const FUNCTIONS = `
/** x^n, one multiplication per level. */
/** @differentiable */
export function powRec(x: number, n: number): number {
  if (n <= 0) return 1;
  return x * powRec(x, n - 1);
}

/** The same, as a ternary. */
/** @differentiable */
export function powTernary(x: number, n: number): number {
  return n <= 0 ? 1 : x * powTernary(x, n - 1);
}

/** An arrow function: Σ_k (x / 2^k)², k < n. */
/** @differentiable */
export const sumSq = (x: number, n: number): number => (n <= 0 ? 0 : x * x + sumSq(x * 0.5, n - 1));

/** Two recursive calls per level: F(n) = x F(n-1) + F(n-2), F(0) = 1, F(1) = x (a Fibonacci polynomial). */
/** @differentiable */
export function fibPoly(x: number, n: number): number {
  if (n <= 0) return 1;
  if (n <= 1) return x;
  return x * fibPoly(x, n - 1) + fibPoly(x, n - 2);
}

/** Mutual recursion, even and odd levels alternating. */
/** @differentiable */
export function even(x: number, n: number): number {
  if (n <= 0) return x;
  return odd(x * x * 0.5, n - 1) + x;
}
/** @differentiable */
export function odd(x: number, n: number): number {
  if (n <= 0) return 2 * x;
  return even(Math.sin(x), n - 1) * 1.5;
}

/** Mutual recursion where one of the two calls the other on every path (no branch around the call). */
/** @differentiable */
export function halve(x: number, n: number): number {
  const y = 0.5 * x;
  const z = step(y, n);
  return z + Math.cos(x);
}
/** @differentiable */
export function step(x: number, n: number): number {
  if (n <= 0) return x * x;
  return halve(x + 1, n - 1) * 0.9;
}

/** A different recursive call in each branch, on the data. */
/** @differentiable */
export function bounce(x: number, n: number): number {
  if (n <= 0) return x;
  if (x > 1) return bounce(x / 2 + Math.sin(x), n - 1) * 1.5;
  const r = bounce(x * x + 0.3, n - 1);
  return r - x;
}

/** Recursion through a loop (in a branch): three calls a level, each result saved for its backward pass. */
/** @differentiable */
export function tree(x: number, n: number): number {
  if (n <= 0) return Math.sin(x);
  let s = 0;
  for (let i = 0; i < 3; i++) {
    s += tree(x * (i + 1) * 0.5, n - 1) * x;
  }
  return s;
}

/** Recursion through a loop at the top level (its numbers kept in frames) and a while loop. */
/** @differentiable */
export function sumDown(x: number, n: number): number {
  let s = x;
  for (let i = 0; i < 2; i++) {
    s += n > 0 ? sumDown(s * 0.5, n - 1) * Math.cos(s) : Math.sin(s);
  }
  let k = 0;
  while (k < n) {
    s = s * 0.9 + powRec(s, 2) * 0.05;
    k++;
  }
  return s;
}

/** Not recursive: calls a recursive function, through its gradient as before. */
/** @differentiable */
export function usesPow(x: number): number {
  return powRec(x, 3) * 2 + x;
}

/** A recursive call no gradient flows through: the function itself is called. */
/** @differentiable */
export function decided(x: number, n: number): number {
  if (n <= 0) return x;
  const p = decided(x, n - 1);
  if (p > 10) return x;
  return x * 2 + p * 0;
}

/** A recursive call only a test reads: no gradient flows through it at all. */
/** @differentiable */
export function gated(x: number, n: number): number {
  if (n <= 0) return x;
  const p = gated(x * 1.5, n - 1);
  if (p > 10) return Math.sin(x);
  return x * 2;
}

export class Poly {
  /** A static method calling itself through its class. */
  /** @differentiable */
  static pow(x: number, n: number): number {
    if (n <= 0) return 1;
    return x * Poly.pow(x, n - 1);
  }
}
`;

/** Counting levels: \`level(n)\` in a test runs once per run of the body, forward or primal. */
const COUNTED = `
export const counter = { levels: 0 };
function level(n: number): number {
  counter.levels++;
  return n;
}

/** @differentiable */
export function countedPow(x: number, n: number): number {
  if (level(n) <= 0) return 1;
  return x * countedPow(x, n - 1);
}

/** @differentiable */
export function countedFib(x: number, n: number): number {
  if (level(n) <= 1) return n <= 0 ? 1 : x;
  return x * countedFib(x, n - 1) + countedFib(x, n - 2);
}

/** @differentiable */
export function countedTree(x: number, n: number): number {
  if (level(n) <= 0) return Math.sin(x);
  let s = 0;
  for (let i = 0; i < 2; i++) s += countedTree(x * 0.5 + i, n - 1) * x;
  return s;
}
`;

const SOURCE = `
import { grad, gradInto, valueAndGrad, vjp } from "tsgrad";
export { saved as __saved } from "tsgrad";
export { grad, gradInto, valueAndGrad, vjp };
${FUNCTIONS}
${COUNTED}
export const powGradX = grad(powRec, { wrt: [0] });
`;

const loaded = compile(SOURCE).then((c) => c.module);

type M = Record<string, any>;

// Derivatives by hand (d/dx; the functions are piecewise constant in n, whose gradient is 0 here).
const hand = {
  powRec: (x: number, n: number) => (n <= 0 ? 0 : n * x ** (n - 1)),
  fibPoly: (x: number, n: number): [number, number] => {
    // F(k) = x F(k-1) + F(k-2): values and derivatives, bottom up.
    let [f0, d0, f1, d1] = [1, 0, x, 1];
    if (n <= 0) return [f0, d0];
    for (let k = 2; k <= n; k++) [f0, d0, f1, d1] = [f1, d1, x * f1 + f0, f1 + x * d1 + d0];
    return [f1, d1];
  },
  even: (x: number, n: number): [number, number] => {
    // even(x) = odd(x²/2) + x, odd(x) = 1.5 even(sin x); base cases x and 2x.
    if (n <= 0) return [x, 1];
    const [o, dO] = hand.odd(0.5 * x * x, n - 1);
    return [o + x, dO * x + 1];
  },
  odd: (x: number, n: number): [number, number] => {
    if (n <= 0) return [2 * x, 2];
    const [e, dE] = hand.even(Math.sin(x), n - 1);
    return [1.5 * e, 1.5 * dE * Math.cos(x)];
  },
};

/** f_grad against central differences in x (and 0 in n), and vjp against f_grad. */
function check(m: M, name: string, x: number, n: number, tol = 1e-6): number[] {
  const stack = m.__saved.size;
  const g = m[`${name}_grad`](x, n);
  expect(m.__saved.size, `${name}: f_grad left the shared stack changed`).toBe(stack);
  const [dx] = numericGrad((x: number) => m[name](x, n), [x]);
  expectClose([g[0]], [dx], tol);
  expect(g[1], `${name}: no gradient in n`).toBe(0);
  const { value, cache } = m[`${name}_forward`](x, n);
  expect(value, `${name}: f_forward's value`).toBe(m[name](x, n));
  expect(m[`${name}_backward`](cache, 1), `${name}: backward(cache, 1) vs f_grad`).toEqual(g);
  expect(m[`${name}_backward`](cache, 1), `${name}: backward run twice`).toEqual(g);
  expectClose(
    m[`${name}_backward`](cache, -2.5),
    g.map((v: number) => -2.5 * v),
    1e-12,
  );
  expect(m.__saved.size, `${name}: vjp touched the shared stack`).toBe(stack);
  return g;
}

describe("gradients of recursive functions", () => {
  it("direct recursion: x^n, as an if and as a ternary", async () => {
    const m = await loaded;
    for (const [x, n] of [
      [1.5, 4],
      [0.7, 1],
      [-1.3, 5],
      [2, 0],
    ]) {
      for (const name of ["powRec", "powTernary"]) {
        expectClose(check(m, name, x, n), [hand.powRec(x, n), 0], 1e-12);
      }
    }
  });

  it("an arrow function calling itself", async () => {
    const m = await loaded;
    for (const [x, n] of [
      [0.8, 5],
      [-2, 3],
      [1, 0],
    ]) {
      let d = 0;
      for (let k = 0; k < n; k++) d += (2 * x) / 4 ** k;
      expectClose(check(m, "sumSq", x, n), [d, 0], 1e-12);
    }
  });

  it("grad, valueAndGrad, vjp (backward twice), gradInto and grad(f, { wrt }) agree", async () => {
    const m = await loaded;
    const [x, n] = [1.1, 6];
    const g = m.grad(m.powRec)(x, n);
    expectClose(g, [hand.powRec(x, n), 0], 1e-12);
    const { value, grad } = m.valueAndGrad(m.powRec)(x, n);
    expect(value).toBe(m.powRec(x, n));
    expect(grad).toEqual(g);
    const { value: v, backward } = m.vjp(m.powRec)(x, n);
    expect(v).toBe(m.powRec(x, n));
    expect(backward(1)).toEqual(g);
    expectClose(backward(3), [3 * g[0], 0], 1e-12);
    const into: [number, number] = [NaN, NaN];
    expect(m.gradInto(m.powRec)(into, x, n)).toBe(into);
    expect(into).toEqual(g);
    expect(m.powGradX(x, n)).toEqual([g[0]]);
  });

  it("two recursive calls per level (a Fibonacci polynomial)", async () => {
    const m = await loaded;
    for (const [x, n] of [
      [0.9, 7],
      [-1.2, 5],
      [1.3, 1],
      [0.4, 0],
    ]) {
      const [value, dx] = hand.fibPoly(x, n);
      expect(m.fibPoly(x, n)).toBeCloseTo(value, 12);
      expectClose(check(m, "fibPoly", x, n), [dx, 0], 1e-12);
    }
  });

  it("mutual recursion, with a branch around the call and without", async () => {
    const m = await loaded;
    for (const [x, n] of [
      [0.6, 5],
      [1.4, 4],
      [-0.8, 1],
      [0.3, 0],
    ]) {
      expectClose(check(m, "even", x, n), [hand.even(x, n)[1], 0], 1e-12);
      expectClose(check(m, "odd", x, n), [hand.odd(x, n)[1], 0], 1e-12);
      check(m, "halve", x, n);
      check(m, "step", x, n);
    }
  });

  it("a different recursive call in each branch, on the data", async () => {
    const m = await loaded;
    for (const [x, n] of [
      [3.1, 6],
      [0.4, 5],
      [0.9, 8],
      [1.7, 0],
    ])
      check(m, "bounce", x, n, 1e-5);
  });

  it("recursion through loops: results pushed whole, in a branch and at the top level", async () => {
    const m = await loaded;
    for (const [x, n] of [
      [0.7, 3],
      [-0.4, 4],
      [1.2, 0],
    ])
      check(m, "tree", x, n);
    for (const [x, n] of [
      [0.3, 3],
      [1.1, 4],
      [-0.6, 1],
      [0.5, 0],
    ])
      check(m, "sumDown", x, n);
  });

  it("vjp passes kept, then run backward in any order, with f_grad in between", async () => {
    const m = await loaded;
    for (const name of ["powRec", "fibPoly", "even", "tree", "sumDown"]) {
      const a = m[`${name}_forward`](0.3, 3);
      const b = m[`${name}_forward`](0.5, 2);
      const gb = m[`${name}_backward`](b.cache, 1);
      m[`${name}_grad`](0.9, 4);
      expect(m[`${name}_backward`](a.cache, 1), name).toEqual(m[`${name}_grad`](0.3, 3));
      expect(m[`${name}_backward`](b.cache, 1), name).toEqual(gb);
      expect(gb, name).toEqual(m[`${name}_grad`](0.5, 2));
    }
  });

  it("recursive calls no gradient flows through (zero, or none at all)", async () => {
    const m = await loaded;
    for (const [x, n] of [
      [0.5, 3],
      [3, 2],
      [20, 1],
      [0.4, 0],
    ]) {
      check(m, "decided", x, n);
      check(m, "gated", x, n);
    }
  });

  it("a static method calling itself through its class", async () => {
    const m = await loaded;
    expectClose(m.grad(m.Poly.pow)(1.5, 4), [hand.powRec(1.5, 4), 0], 1e-12);
    expectClose(m.Poly.pow_grad(0.8, 3), [hand.powRec(0.8, 3), 0], 1e-12);
  });

  it("deep recursion: 2,000 levels, once each way", async () => {
    // The backward pass recurses as deep as the forward pass. (Not interpreted code's limit: with
    // Node's default stack, a fresh process's first calls, before V8 optimizes them, reach about
    // 5,900 levels backward (4,000 when each level destructured the callee's gradients); once
    // optimized, about 8,800; powRec itself, about 8,800 and 13,700.)
    const m = await loaded;
    const [x, n] = [1.0001, 2000];
    expectClose(m.powRec_grad(x, n), [hand.powRec(x, n), 0], 1e-10);
    expectClose(m.vjp(m.powRec)(x, n).backward(1), [hand.powRec(x, n), 0], 1e-10);
  });
});

/**
 * A recursive call whose result's gradient is written only on some paths (a branch, a ternary, a
 * loop iteration that breaks or returns): the callee's backward pass, after the branch, reads it.
 * It read a gradient declared inside the branch (`let dr = x` in the `if`, then
 * `c_backward(r_call.cache, dr)` outside it: ReferenceError: dr is not defined), because the
 * declarations did not count the call's gradient argument as a read.
 */
const BRANCHED = `
/** The result used in one arm of a ternary: x > 1 at every level gives x³/8 at n = 3. */
/** @differentiable */
export function branchTernary(x: number, n: number): number {
  if (n <= 0) return x;
  const r = branchTernary(x * 0.5, n - 1);
  return x > 1 ? r * x : x;
}

/** Added in an if without an else. */
/** @differentiable */
export function branchAdd(x: number, n: number): number {
  if (n <= 0) return x;
  const r = branchAdd(x * 0.5, n - 1);
  let s = x * x;
  if (x > 1) s += r;
  return s;
}

/** Returned from an if; the other path returns without it. */
/** @differentiable */
export function branchReturn(x: number, n: number): number {
  if (n <= 0) return x;
  const r = branchReturn(x * 0.5, n - 1);
  if (x > 1) return r * x;
  return Math.sin(x);
}

/** Used in both branches, differently. */
/** @differentiable */
export function bothBranches(x: number, n: number): number {
  if (n <= 0) return x;
  const r = bothBranches(x * 0.5, n - 1);
  if (x > 1) return r * x;
  return r + x;
}

/** In a while loop: the iteration that breaks computes r and never uses it. */
/** @differentiable */
export function loopBreak(x: number, n: number): number {
  if (n <= 0) return x;
  let s = 0;
  let k = 0;
  while (k < 3) {
    const r = loopBreak(x * 0.5 + k * 0.1, n - 1);
    if (x + k > 2.37) break;
    s += r * x;
    k++;
  }
  return s + x;
}

/** In a for loop: r used only by the return inside it. */
/** @differentiable */
export function loopReturn(x: number, n: number): number {
  if (n <= 0) return Math.sin(x);
  let s = x;
  for (let i = 0; i < 3; i++) {
    const r = loopReturn(s * 0.5, n - 1);
    if (s > 2) return r * s;
    s = s * x + 0.5;
  }
  return s;
}

/** Mutual recursion, each call's result used in one branch. */
/** @differentiable */
export function ping(x: number, n: number): number {
  if (n <= 0) return x;
  const r = pong(x * 0.5, n - 1);
  return x > 1 ? r * x : x;
}
/** @differentiable */
export function pong(x: number, n: number): number {
  if (n <= 0) return 2 * x;
  const r = ping(x + 0.3, n - 1);
  if (x > 0.5) return r + x;
  return x * x;
}
`;

/** Values and d/dx by hand, level by level: [value, derivative]. */
type Hand = (x: number, n: number) => [number, number];
const handBranched: Record<string, Hand> = {
  branchTernary: (x, n) => {
    if (n <= 0) return [x, 1];
    const [r, dr] = handBranched.branchTernary(x * 0.5, n - 1);
    return x > 1 ? [r * x, 0.5 * dr * x + r] : [x, 1];
  },
  branchAdd: (x, n) => {
    if (n <= 0) return [x, 1];
    const [r, dr] = handBranched.branchAdd(x * 0.5, n - 1);
    return x > 1 ? [x * x + r, 2 * x + 0.5 * dr] : [x * x, 2 * x];
  },
  branchReturn: (x, n) => {
    if (n <= 0) return [x, 1];
    const [r, dr] = handBranched.branchReturn(x * 0.5, n - 1);
    return x > 1 ? [r * x, 0.5 * dr * x + r] : [Math.sin(x), Math.cos(x)];
  },
  bothBranches: (x, n) => {
    if (n <= 0) return [x, 1];
    const [r, dr] = handBranched.bothBranches(x * 0.5, n - 1);
    return x > 1 ? [r * x, 0.5 * dr * x + r] : [r + x, 0.5 * dr + 1];
  },
  loopBreak: (x, n) => {
    if (n <= 0) return [x, 1];
    let [s, ds] = [0, 0];
    for (let k = 0; k < 3; k++) {
      const [r, dr] = handBranched.loopBreak(x * 0.5 + k * 0.1, n - 1);
      if (x + k > 2.37) break;
      [s, ds] = [s + r * x, ds + 0.5 * dr * x + r];
    }
    return [s + x, ds + 1];
  },
  loopReturn: (x, n) => {
    if (n <= 0) return [Math.sin(x), Math.cos(x)];
    // s and ds/dx; r's derivative in its argument s / 2 times d(s / 2)/dx.
    let [s, ds] = [x, 1];
    for (let i = 0; i < 3; i++) {
      const [r, dr] = handBranched.loopReturn(s * 0.5, n - 1);
      if (s > 2) return [r * s, 0.5 * dr * ds * s + r * ds];
      [s, ds] = [s * x + 0.5, ds * x + s];
    }
    return [s, ds];
  },
  ping: (x, n) => {
    if (n <= 0) return [x, 1];
    const [r, dr] = handBranched.pong(x * 0.5, n - 1);
    return x > 1 ? [r * x, 0.5 * dr * x + r] : [x, 1];
  },
  pong: (x, n) => {
    if (n <= 0) return [2 * x, 2];
    const [r, dr] = handBranched.ping(x + 0.3, n - 1);
    return x > 0.5 ? [r + x, dr + 1] : [x * x, 2 * x];
  },
};

describe("a recursive call's gradient written only on some paths (branches, ternaries, loops that break or return)", () => {
  const branched = compile(
    `import { grad, valueAndGrad, vjp } from "tsgrad";\nexport { grad, valueAndGrad, vjp };\n${BRANCHED}`,
  ).then((c) => c.module);
  // Each point takes the branch with the call at some levels and the other at others.
  const points = [
    [3, 3],
    [1.7, 4],
    [0.8, 3],
    [2.4, 2],
    [5, 4],
    [1.3, 0],
    [0.45, 2],
  ];

  it("grad(c)(3, 3) of the reported function is [3.375, 0]: (x³/8)' = 3x²/8 at 3", async () => {
    const m = await branched;
    expect(m.branchTernary(3, 3)).toBe(3.375);
    expectClose(m.grad(m.branchTernary)(3, 3), [3.375, 0], 1e-15);
    expectClose(m.vjp(m.branchTernary)(3, 3).backward(1), [3.375, 0], 1e-15);
  });

  for (const name of Object.keys(handBranched)) {
    it(`${name}: grad and vjp (backward twice) against central differences and by hand`, async () => {
      const m = await branched;
      for (const [x, n] of points) {
        const [value, dx] = handBranched[name](x, n);
        expect(m[name](x, n), `${name}(${x}, ${n})`).toBeCloseTo(value, 12);
        const g = m.grad(m[name])(x, n);
        expectClose(g, [dx, 0], 1e-12);
        expectClose(g, [numericGrad((x: number) => m[name](x, n), [x])[0], 0], 1e-6);
        expect(m.valueAndGrad(m[name])(x, n)).toEqual({ value: m[name](x, n), grad: g });
        const pass = m.vjp(m[name])(x, n);
        expect(pass.value).toBe(m[name](x, n));
        expect(pass.backward(1), `${name}(${x}, ${n}): backward(1)`).toEqual(g);
        expectClose(pass.backward(-2.5), [-2.5 * g[0], 0], 1e-12);
        expect(pass.backward(1), `${name}(${x}, ${n}): backward again`).toEqual(g);
      }
    });
  }

  it("the gradient the callee's backward pass reads is declared before the branch", () => {
    const file = "recursion-branched.ts";
    const host = ts.createCompilerHost(compilerOptions);
    const original = host.getSourceFile;
    host.getSourceFile = (f, v, ...rest) =>
      f === file ? ts.createSourceFile(f, BRANCHED, v) : original.call(host, f, v, ...rest);
    const p = createProgram([file], compilerOptions, host);
    const { text, diagnostics } = generatedText(p.getSourceFile(file)!, p, { fn: "branchTernary" });
    expect(diagnostics).toEqual([]);
    // f_grad and f_backward each: `let dr = 0;`, the branch adding into it, then the call.
    expect(
      text.match(/let dr = 0;\s+if \(x > 1\) \{[^}]*dr \+= x[^}]*\}[^]*?branchTernary_backward\(r_call\.cache, dr\)/g),
    ).toHaveLength(2);
  });

  it("type-checks under tsc --strict", () => {
    expect(
      genStrictErrors(
        `import { grad } from "tsgrad";\n${BRANCHED}\nexport const g = grad(loopReturn);\n`,
        "recursion-strict-branched",
      ),
    ).toEqual([]);
  });
});

describe("the cost is linear in the depth (counted, not timed)", () => {
  /** How many levels `run` makes the function's body run (its forward passes and itself). */
  const levels = (m: M, run: () => unknown): number => {
    m.counter.levels = 0;
    run();
    return m.counter.levels;
  };

  it("x^n at depth 1,000: each level runs once forward and not again backward", async () => {
    const m = await loaded;
    const depth = 1000;
    const primal = levels(m, () => m.countedPow(1.0001, depth));
    expect(primal).toBe(depth + 1);
    // Through a gradient of g_grad calls, each level would rerun the levels below: ~depth²/2.
    expect(levels(m, () => m.countedPow_grad(1.0001, depth))).toBe(primal);
    expect(levels(m, () => m.valueAndGrad(m.countedPow)(1.0001, depth))).toBe(primal);
    const pass = m.vjp(m.countedPow)(1.0001, depth);
    expect(levels(m, () => (pass.backward(1), pass.backward(2)))).toBe(0);
    expect(levels(m, () => m.vjp(m.countedPow)(1.0001, depth))).toBe(primal);
  });

  it("two calls per level and calls in a loop: as many levels as the function itself", async () => {
    const m = await loaded;
    const fib = levels(m, () => m.countedFib(0.9, 15));
    expect(levels(m, () => m.countedFib_grad(0.9, 15))).toBe(fib);
    const tree = levels(m, () => m.countedTree(0.9, 8));
    expect(tree).toBe(2 ** 9 - 1);
    expect(levels(m, () => m.countedTree_grad(0.9, 8))).toBe(tree);
  });
});

describe("the generated code", () => {
  /** FUNCTIONS compiled in memory: the generated functions of one, as `tsgrad print` shows them (unformatted). */
  function generated(name: string) {
    const file = "recursion-functions.ts";
    const host = ts.createCompilerHost(compilerOptions);
    const original = host.getSourceFile;
    host.getSourceFile = (f, v, ...rest) =>
      f === file ? ts.createSourceFile(f, FUNCTIONS, v) : original.call(host, f, v, ...rest);
    const p = createProgram([file], compilerOptions, host);
    const result = generatedText(p.getSourceFile(file)!, p, { fn: name });
    expect(result.diagnostics).toEqual([]);
    return result;
  }
  const generatedFor = (name: string) => generated(name).text;

  it("recursive calls go through f_forward and f_backward; other calls, and calls no gradient flows through, as before", () => {
    const pow = generatedFor("powRec");
    expect(pow).toContain("powRec_3_call = powRec_forward(x, diff);");
    expect(pow).toContain("powRec_backward(powRec_3_call.cache, dpowRec_3)");
    // Its gradients read by index, not destructured (a smaller frame per level before V8 optimizes: emit.ts).
    expect(pow).toContain("const powRec_3_grads = powRec_backward(powRec_3_call.cache, dpowRec_3);");
    expect(pow).toContain("dx += powRec_3_grads[0];");
    expect(pow).not.toMatch(/const \[[^\]]*\] = powRec_backward/);
    expect(pow).not.toMatch(/= powRec_grad\(/);
    expect(pow, "no line calls powRec itself").not.toMatch(/^\s*(const )?\w+ = powRec\(/m);
    const even = generatedFor("even");
    expect(even).toContain("odd_forward(");
    expect(even).toContain("odd_backward(");
    // usesPow is not in powRec's cycle: its backward pass calls powRec_grad, as for any callee.
    const uses = generatedFor("usesPow");
    expect(uses).toContain("= powRec_grad(x, 3);");
    expect(uses).not.toContain("powRec_forward");
    // The gradient through `p` is 0 (p * 0): no backward pass to run, so f_grad calls the
    // function itself and keeps no cache.
    const decided = generatedFor("decided");
    expect(decided).toMatch(/^\s*p = decided\(x, diff\);/m);
    expect(decided).not.toContain("= decided_forward(");
    expect(decided).not.toContain("= decided_backward(");
    const gated = generatedFor("gated");
    expect(gated).toMatch(/^\s*p = gated\(prod, diff\);/m);
    expect(gated).not.toContain("= gated_forward(");
    // In a loop, the call's result is saved whole and its value read back from it.
    const tree = generatedFor("tree");
    expect(tree).toContain("saved.pushCall(tree_3_call);");
    expect(tree).toContain("const tree_3_call = saved.popCall(tree_forward);");
    expect(tree).toContain("const tree_3 = tree_3_call.value;");
    expect(tree).not.toContain("saved.push(tree_3)");
  });

  it("type-checks under tsc --strict (f_forward's type holds its calls' caches)", () => {
    expect(
      genStrictErrors(
        `import { grad } from "tsgrad";\n${FUNCTIONS}\nexport const g = grad(powRec);\n`,
        "recursion-strict",
      ),
    ).toEqual([]);
    expect(genStrictErrors(COUNTED, "recursion-strict-counted")).toEqual([]);
  });

  it("a call given a gradient that is a known zero goes, with what it returns (a @derivative's too)", async () => {
    // Fixed with the above: `sp(u) * 0` left `const [du_sp_u] = spD(u, sp_u, dsp_u)` reading a
    // gradient no line declared (ReferenceError: dsp_u is not defined).
    const { module: m } = await compile(`
export function sp(x: number): number { return Math.log1p(Math.exp(x)); }
/** @derivative sp */
export function spD(x: number, y: number, dy: number): [number] { return [dy / (1 + Math.exp(-x))]; }
/** @differentiable */
export function g(a: number, b: number): number {
  const u = a * b;
  return sp(u) * 0 + a * b;
}
`);
    expect(m.g_grad(1.5, -2)).toEqual([-2, 1.5]);
    expect(m.g_backward(m.g_forward(1.5, -2).cache, 2)).toEqual([-4, 3]);
  });

  it("grad(f, { checkFinite: true }) names a recursive call's gradient by its element of the tuple", async () => {
    const { module: m } = await compile(`import { grad } from "tsgrad";
/** @differentiable */
export function rootRec(x: number, n: number): number {
  if (n <= 0) return Math.sqrt(x);
  return rootRec(x - 1, n - 1) * 2;
}
export const checked = grad(rootRec, { checkFinite: true });
`);
    expect(m.checked(3, 2)).toEqual(m.rootRec_grad(3, 2));
    expect(m.checked(3, 2)[0]).toBeCloseTo(4 / (2 * Math.sqrt(1)), 12);
    // rootRec(1, 1) = 2 sqrt(0): the level below returns d/dx sqrt(x) at 0, Infinity, in its tuple.
    expect(() => m.checked(1, 1)).toThrow(
      expect.objectContaining({
        fn: "rootRec",
        gradient: "rootRec_3_grads[0]",
        value: Infinity,
        line: "return rootRec(x - 1, n - 1) * 2;",
      }),
    );
  });

  it("tsgrad print --report: a loop saves each call's result whole", () => {
    const { reports } = generated("tree");
    expect(reports[0].loops[0]).toMatchObject({
      saved: ["tree_3_call"],
      calls: ["tree_3_call"],
      recomputed: ["sum", "tree_3"],
    });
  });
});
