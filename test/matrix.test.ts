// The matrix ops of the runtime (runtime/ops/) and their rule table, without the compiler:
// forward ops against naive loops over number[][], shape errors, the ...Into variants, and every
// rule checked FROM THE TABLE: its templates are instantiated with fresh names, as the compiler
// will, evaluated on random inputs, and compared with central differences of <dy, op(inputs)>.

import { describe, expect, it } from "vitest";
import * as runtime from "../runtime/index.js";
import * as ops from "../runtime/ops/index.js";
import {
  type Matrix,
  type MatrixRule,
  add,
  addBias,
  addBiasInto,
  addInto,
  addMatmulNT,
  addScaled,
  addTo,
  at,
  copyMatrix,
  dot,
  exp,
  fromRows,
  log,
  logSumExp,
  logSumExpInto,
  matmul,
  matmulInto,
  matrix,
  matrixRules,
  matvec,
  matvecInto,
  mean,
  mul,
  relu,
  reluInto,
  scale,
  setAt,
  sigmoid,
  softmax,
  softmaxCrossEntropy,
  softmaxInto,
  sub,
  sum,
  tanh,
  toRows,
  transpose,
  transposeInto,
  zeros,
  zerosLike,
} from "../runtime/index.js";

// ---------------------------------------------------------------------------------------------
// Random inputs, seeded so a failure reproduces.

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(20240531);
const uniform = (lo = -1, hi = 1) => lo + (hi - lo) * random();
const randMatrix = (rows: number, cols: number, f = () => uniform()) =>
  matrix(rows, cols, Float64Array.from({ length: rows * cols }, f));
const randVector = (n: number) => Float64Array.from({ length: n }, () => uniform());
const randLabels = (n: number, classes: number) => Int32Array.from({ length: n }, () => Math.floor(random() * classes));

// ---------------------------------------------------------------------------------------------
// Naive references over number[][].

type Rows = number[][];
const mapRows = (A: Rows, f: (v: number) => number): Rows => A.map((r) => r.map(f));
const zipRows = (A: Rows, B: Rows, f: (a: number, b: number) => number): Rows =>
  A.map((r, i) => r.map((v, j) => f(v, B[i][j])));
const refMatmul = (A: Rows, B: Rows): Rows =>
  A.map((r) => B[0].map((_, j) => r.reduce((s, v, k) => s + v * B[k][j], 0)));
const refTranspose = (A: Rows): Rows => A[0].map((_, j) => A.map((r) => r[j]));
const refSoftmaxRow = (r: number[]) => {
  const e = r.map(Math.exp);
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};
const refLse = (r: number[]) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0));

function expectClose(actual: Matrix | Float64Array | number, expected: Rows | number[] | number, tol = 1e-12): void {
  const a =
    typeof actual === "number" ? [actual] : actual instanceof Float64Array ? Array.from(actual) : toRows(actual).flat();
  const e = typeof expected === "number" ? [expected] : (expected as (number | number[])[]).flat();
  expect(a.length).toBe(e.length);
  a.forEach((v, i) => expect(Math.abs(v - e[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(e[i]))));
}

describe("Matrix type", () => {
  it("is row-major: entry (i, j) is data[i * cols + j]", () => {
    const A = fromRows([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect([A.rows, A.cols]).toEqual([2, 3]);
    expect(Array.from(A.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(at(A, 1, 0)).toBe(4);
    setAt(A, 0, 2, 9);
    expect(toRows(A)).toEqual([
      [1, 2, 9],
      [4, 5, 6],
    ]);
  });

  it("matrix() wraps a Float64Array without copying and copies other arrays; zeros and zerosLike", () => {
    const data = new Float64Array([1, 2, 3, 4]);
    expect(matrix(2, 2, data).data).toBe(data);
    const plain = [1, 2, 3, 4];
    const B = matrix(2, 2, plain);
    plain[0] = 7;
    expect(B.data[0]).toBe(1);
    expect(toRows(zeros(2, 3))).toEqual([
      [0, 0, 0],
      [0, 0, 0],
    ]);
    const Z = zerosLike(B);
    expect([Z.rows, Z.cols, Array.from(Z.data)]).toEqual([2, 2, [0, 0, 0, 0]]);
    const C = copyMatrix(B);
    C.data[0] = 5;
    expect(B.data[0]).toBe(1);
    expect(runtime.isMatrix(B)).toBe(true);
    expect(runtime.isMatrix(new Float64Array(4))).toBe(false);
  });

  it("refuses bad sizes, ragged rows and indices outside the matrix", () => {
    expect(() => matrix(2, 2, [1, 2, 3])).toThrow("matrix: a 2×2 matrix needs 4 numbers, got 3");
    expect(() => matrix(-1, 2)).toThrow("matrix: rows and cols must be non-negative integers, got -1×2");
    expect(() => fromRows([[1, 2], [3]])).toThrow("fromRows: row 1 has 1 entries, row 0 has 2");
    expect(() => at(zeros(2, 3), 2, 0)).toThrow("at: index (2, 0) is outside a 2×3 matrix");
    expect(() => setAt(zeros(2, 3), 0, 1.5, 1)).toThrow("setAt: index (0, 1.5) is outside a 2×3 matrix");
  });
});

// ---------------------------------------------------------------------------------------------

describe("forward ops against naive references", () => {
  const A = randMatrix(3, 4),
    B = randMatrix(3, 4),
    C = randMatrix(4, 2);
  const rA = toRows(A),
    rB = toRows(B),
    rC = toRows(C);

  it("matmul, matvec, transpose, dot", () => {
    expectClose(matmul(A, C), refMatmul(rA, rC));
    const x = randVector(4);
    expectClose(
      matvec(A, x),
      refMatmul(
        rA,
        Array.from(x, (v) => [v]),
      ).flat(),
    );
    expectClose(transpose(A), refTranspose(rA));
    const u = randVector(4);
    expectClose(
      dot(x, u),
      Array.from(x).reduce((s, v, i) => s + v * u[i], 0),
    );
    // the seed's shapes: W 5×10, X 10×3 → D 5×3
    const D = matmul(randMatrix(5, 10), randMatrix(10, 3));
    expect([D.rows, D.cols]).toEqual([5, 3]);
  });

  it("add, sub, mul, scale, addBias", () => {
    expectClose(
      add(A, B),
      zipRows(rA, rB, (a, b) => a + b),
    );
    expectClose(
      sub(A, B),
      zipRows(rA, rB, (a, b) => a - b),
    );
    expectClose(
      mul(A, B),
      zipRows(rA, rB, (a, b) => a * b),
    );
    expectClose(
      scale(A, -2.5),
      mapRows(rA, (a) => -2.5 * a),
    );
    const b = randMatrix(1, 4);
    expectClose(
      addBias(A, b),
      rA.map((r) => r.map((v, j) => v + b.data[j])),
    );
  });

  it("relu, exp, log, tanh, sigmoid", () => {
    expectClose(
      relu(A),
      mapRows(rA, (a) => Math.max(0, a)),
    );
    expectClose(exp(A), mapRows(rA, Math.exp));
    const P = randMatrix(3, 4, () => uniform(0.1, 3));
    expectClose(log(P), mapRows(toRows(P), Math.log));
    expectClose(tanh(A), mapRows(rA, Math.tanh));
    expectClose(
      sigmoid(A),
      mapRows(rA, (a) => 1 / (1 + Math.exp(-a))),
    );
  });

  it("sum, mean, softmax, logSumExp, softmaxCrossEntropy", () => {
    const flat = rA.flat();
    expectClose(
      sum(A),
      flat.reduce((s, v) => s + v, 0),
    );
    expectClose(mean(A), flat.reduce((s, v) => s + v, 0) / flat.length);
    expectClose(softmax(A), rA.map(refSoftmaxRow));
    const lse = logSumExp(A);
    expect([lse.rows, lse.cols]).toEqual([3, 1]); // a column: one number per row
    expectClose(
      lse,
      rA.map((r) => [refLse(r)]),
    );
    const labels = randLabels(3, 4);
    const ref = rA.reduce((s, r, i) => s - Math.log(refSoftmaxRow(r)[labels[i]]), 0) / 3;
    expectClose(softmaxCrossEntropy(A, labels), ref);
    expectClose(softmaxCrossEntropy(A, Array.from(labels)), ref); // plain number[] labels too
  });

  it("small exact cases", () => {
    expect(toRows(softmax(fromRows([[0, Math.log(3)]])))[0][1]).toBeCloseTo(0.75, 15);
    expect(softmaxCrossEntropy(fromRows([[0, 0]]), [1])).toBeCloseTo(Math.LN2, 15);
    expect(toRows(relu(fromRows([[-1, 0, 2, NaN]])))).toEqual([[0, 0, 2, NaN]]);
    expect(sum(zeros(0, 3))).toBe(0);
    expect(mean(zeros(0, 3))).toBeNaN();
    expect(toRows(matmul(zeros(2, 0), zeros(0, 3)))).toEqual([
      [0, 0, 0],
      [0, 0, 0],
    ]);
    expect(matmul(fromRows([[0]]), fromRows([[NaN]])).data[0]).toBeNaN(); // 0 · NaN is not skipped
  });

  it("is numerically stable: max-subtracted softmax, logSumExp and cross-entropy; sigmoid without overflow", () => {
    const big = fromRows([
      [1000, 1001, 999],
      [-1000, -1001, -1002],
    ]);
    const small = fromRows([
      [0, 1, -1],
      [0, -1, -2],
    ]);
    expectClose(softmax(big), toRows(softmax(small)));
    expectClose(logSumExp(big), [[1000 + refLse([0, 1, -1])], [-1000 + refLse([0, -1, -2])]]);
    expectClose(softmaxCrossEntropy(big, [1, 2]), softmaxCrossEntropy(small, [1, 2]));
    expect(toRows(sigmoid(fromRows([[-800, 800]])))).toEqual([[0, 1]]);
    expect(
      toRows(
        logSumExp(
          fromRows([
            [-Infinity, -Infinity],
            [Infinity, 0],
            [NaN, 1],
          ]),
        ),
      ),
    ).toEqual([[-Infinity], [Infinity], [NaN]]);
  });
});

// ---------------------------------------------------------------------------------------------

describe("shape errors name the op and both shapes", () => {
  // Shapes known only when the code runs (`Matrix`, not `Matrix<2, 3>`): the types cannot tell.
  const z = (rows: number, cols: number): Matrix => zeros(rows, cols);
  const cases: [string, () => unknown, string][] = [
    ["matmul", () => matmul(z(3, 2), z(3, 4)), "matmul: cannot multiply 3×2 by 3×4 (inner sizes 2 and 3 differ)"],
    [
      "matvec",
      () => matvec(zeros(3, 2), new Float64Array(3)),
      "matvec: cannot multiply 3×2 by a vector of length 3 (inner sizes 2 and 3 differ)",
    ],
    [
      "add",
      () => add(z(2, 3), z(3, 2)),
      "add: shapes 2×3 and 3×2 differ (element-wise operands must have the same shape)",
    ],
    ["sub", () => sub(z(2, 3), z(2, 2)), "sub: shapes 2×3 and 2×2 differ"],
    ["mul", () => mul(z(1, 3), z(3, 1)), "mul: shapes 1×3 and 3×1 differ"],
    ["dot", () => dot(new Float64Array(3), new Float64Array(4)), "dot: vector lengths 3 and 4 differ"],
    [
      "addBias",
      () => addBias(z(5, 3), z(3, 1)),
      "addBias: cannot broadcast a 3×1 bias over the rows of 5×3 (the bias must be 1×3)",
    ],
    [
      "softmaxCrossEntropy labels",
      () => softmaxCrossEntropy(zeros(5, 3), [0, 1]),
      "softmaxCrossEntropy: 2 labels for 5×3 scores (one label per row is needed)",
    ],
    [
      "softmaxCrossEntropy class",
      () => softmaxCrossEntropy(zeros(2, 3), [0, 3]),
      "softmaxCrossEntropy: label 3 of row 1 is not a class of 2×3 scores (0 to 2)",
    ],
    ["softmaxCrossEntropy integer", () => softmaxCrossEntropy(zeros(1, 3), [0.5]), "label 0.5 of row 0"],
    [
      "matmulInto out",
      () => matmulInto(zeros(2, 2), zeros(3, 2), zeros(2, 4)),
      "matmulInto: out is 2×2, the result is 3×4",
    ],
    [
      "matvecInto out",
      () => matvecInto(new Float64Array(2), zeros(3, 2), new Float64Array(2)),
      "matvecInto: out has length 2, the result has length 3",
    ],
    [
      "transposeInto out",
      () => transposeInto(zeros(2, 3), zeros(2, 3)),
      "transposeInto: out is 2×3, the result is 3×2",
    ],
    [
      "logSumExpInto out",
      () => logSumExpInto(zeros(1, 2), zeros(2, 3)),
      "logSumExpInto: out is 1×2, the result is 2×1",
    ],
    [
      "addMatmulNT",
      () => addMatmulNT(zeros(3, 3), zeros(3, 2), zeros(4, 3)),
      "addMatmulNT: cannot multiply 3×2 by (4×3)ᵀ (inner sizes 2 and 3 differ)",
    ],
    [
      "addMatmulNT buffer",
      () => addMatmulNT(zeros(2, 5), zeros(3, 2), zeros(5, 2)),
      "addMatmulNT: cannot add a 3×5 gradient into a 2×5 buffer",
    ],
    [
      "addTo mixed",
      () => addTo(zeros(1, 3), new Float64Array(3)),
      "addTo: cannot add a vector of length 3 into a 1×3 matrix buffer",
    ],
    [
      "addScaled vectors",
      () => addScaled(new Float64Array(2), new Float64Array(3), 1),
      "addScaled: cannot add a vector of length 3 into a buffer of length 2",
    ],
  ];
  it.each(cases)("%s", (_, thunk, message) => {
    expect(thunk).toThrow(message);
  });
});

// ---------------------------------------------------------------------------------------------
// Inputs for each op, on the op's valid domain and away from kinks (so central differences are
// exact to O(h²)). This table mirrors the rule table: a new op needs a new line here.

type Value = Matrix | Float64Array | number | Int32Array;
const awayFromZero = () => (random() < 0.5 ? -1 : 1) * uniform(0.1, 1);
const domains: Record<keyof typeof matrixRules, () => Value[]> = {
  matmul: () => [randMatrix(3, 4), randMatrix(4, 2)],
  matvec: () => [randMatrix(3, 4), randVector(4)],
  transpose: () => [randMatrix(3, 4)],
  dot: () => [randVector(5), randVector(5)],
  add: () => [randMatrix(3, 4), randMatrix(3, 4)],
  sub: () => [randMatrix(3, 4), randMatrix(3, 4)],
  mul: () => [randMatrix(3, 4), randMatrix(3, 4)],
  scale: () => [randMatrix(3, 4), uniform(-2, 2)],
  addBias: () => [randMatrix(4, 3), randMatrix(1, 3)],
  relu: () => [randMatrix(3, 4, awayFromZero)],
  exp: () => [randMatrix(3, 4)],
  log: () => [randMatrix(3, 4, () => uniform(0.5, 2))],
  tanh: () => [randMatrix(3, 4)],
  sigmoid: () => [randMatrix(3, 4, () => uniform(-3, 3))],
  sum: () => [randMatrix(3, 4)],
  mean: () => [randMatrix(3, 4)],
  softmax: () => [randMatrix(3, 4, () => uniform(-2, 2))],
  logSumExp: () => [randMatrix(3, 4, () => uniform(-2, 2))],
  softmaxCrossEntropy: () => [randMatrix(4, 3, () => uniform(-2, 2)), randLabels(4, 3)],
};

const rules = Object.entries(matrixRules) as [keyof typeof matrixRules, MatrixRule][];
const fn = (name: string) => (runtime as unknown as Record<string, (...args: any[]) => any>)[name];

function clone<V extends Value>(v: V): V {
  if (typeof v === "number") return v;
  if (v instanceof Float64Array || v instanceof Int32Array) return v.slice() as V;
  return copyMatrix(v) as V;
}
const numbersOf = (v: Value): Float64Array | Int32Array =>
  typeof v === "number" ? Float64Array.of(v) : v instanceof Float64Array || v instanceof Int32Array ? v : v.data;

/** A random value of the kind and shape of v (the output's adjoint, a nonzero starting gradient). */
function randomLike(v: Value): Value {
  if (typeof v === "number") return uniform();
  if (v instanceof Float64Array) return randVector(v.length);
  if (v instanceof Int32Array) throw new Error("labels have no gradient");
  return randMatrix(v.rows, v.cols);
}

/** <dy, y>: the sum of the entries of dy ⊙ y. */
function pairing(dy: Value, y: Value): number {
  const a = numbersOf(dy),
    b = numbersOf(y);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * A template with the engine's renaming applied: every name that is not a property (after `.`)
 * and is one of the template's names is replaced, e.g. "addMatmulNT(dA, dy, B)" with
 * {dA: "grad_0", dy: "dout", B: "in_1"} → "addMatmulNT(grad_0, dout, in_1)".
 */
function instantiate(template: string, names: Record<string, string>): string {
  return template.replace(/(?<![.\w$])[A-Za-z_$][\w$]*/g, (id) => (Object.hasOwn(names, id) ? names[id] : id));
}

/** Evaluates an instantiated template with the called kernel and the values in scope. */
function evaluate(code: string, callee: string, scope: Record<string, unknown>): unknown {
  const names = Object.keys(scope);
  return new Function(callee, ...names, `return ${code};`)(fn(callee), ...names.map((n) => scope[n]));
}

describe("the rule table, checked from the table against central differences of <dy, op(inputs)>", () => {
  it("has an input domain for every rule and a rule for every domain", () => {
    expect(Object.keys(domains).sort()).toEqual(Object.keys(matrixRules).sort());
  });

  for (const [name, rule] of rules) {
    it(`${name}: ${rule.grads.map((g) => g?.math ?? "no gradient").join("; ")}`, () => {
      for (let trial = 0; trial < 3; trial++) checkRule(name, rule);
    });
  }

  function checkRule(name: keyof typeof matrixRules, rule: MatrixRule): void {
    const op = fn(name);
    const inputs = domains[name]();
    const y: Value = op(...inputs);
    const expectedKind = typeof y === "number" ? "number" : y instanceof Float64Array ? "vector" : "matrix";
    expect(rule.output).toBe(expectedKind);
    const dy = randomLike(y);
    const f = (args: Value[]) => pairing(dy, op(...args));

    // scope names as the compiler would choose them: in_i for operand i, grad_i for its adjoint
    const names: Record<string, string> = { y: "out", dy: "dout" };
    rule.params.forEach((p, i) => {
      names[p] = `in_${i}`;
      names[`d${p}`] = `grad_${i}`;
    });
    const grads = inputs.map((v, i) => (rule.kinds[i] === "labels" || rule.kinds[i] === "number" ? 0 : randomLike(v)));

    rule.grads.forEach((g, i) => {
      expect(rule.kinds[i]).toBe(kindOf(inputs[i]));
      if (g === null) return; // labels: no gradient
      const scope: Record<string, unknown> = { out: y, dout: dy };
      inputs.forEach((v, k) => (scope[`in_${k}`] = v));
      grads.forEach((v, k) => (scope[`grad_${k}`] = v));
      const before = Object.fromEntries(Object.entries(scope).map(([k, v]) => [k, clone(v as Value)]));

      const code = instantiate(g.template, names);
      expect(code).toBe(`${g.call}(${g.args.map((a) => names[a]).join(", ")})`); // call and args say the same
      const returned = evaluate(code, g.call, scope);

      // the analytic gradient: what the statement added to the buffer, or the expression's value
      let analytic: number[];
      if (g.kind === "accumulate") {
        expect(returned).toBeUndefined();
        const after = numbersOf(grads[i]),
          start = numbersOf(before[`grad_${i}`] as Value);
        analytic = Array.from(after, (v, k) => v - start[k]);
      } else {
        expect(typeof returned).toBe("number");
        analytic = [returned as number];
      }
      // nothing but the operand's own adjoint changed
      for (const [k, v] of Object.entries(scope)) {
        if (g.kind === "accumulate" && k === `grad_${i}`) continue;
        expect(numbersOf(v as Value), `${g.template} wrote ${k}`).toEqual(numbersOf(before[k] as Value));
      }
      // central differences, one entry at a time
      const numeric = centralDifferences(f, inputs, i);
      expect(analytic.length).toBe(numeric.length);
      analytic.forEach((a, k) => {
        const n = numeric[k];
        expect(Math.abs(a - n), `${name} ${g.math}, entry ${k}: ${a} vs ${n}`).toBeLessThanOrEqual(
          1e-7 * Math.max(1, Math.abs(n)),
        );
      });
    });
  }

  function kindOf(v: Value): string {
    return typeof v === "number"
      ? "number"
      : v instanceof Int32Array
        ? "labels"
        : v instanceof Float64Array
          ? "vector"
          : "matrix";
  }

  function centralDifferences(f: (args: Value[]) => number, inputs: Value[], i: number, h = 1e-5): number[] {
    const at = (k: number, delta: number) => {
      const args = inputs.map(clone);
      if (typeof args[i] === "number") args[i] = (args[i] as number) + delta;
      else numbersOf(args[i])[k] += delta;
      return f(args);
    };
    const n = typeof inputs[i] === "number" ? 1 : numbersOf(inputs[i]).length;
    return Array.from({ length: n }, (_, k) => (at(k, h) - at(k, -h)) / (2 * h));
  }

  it("accumulates: a rule applied twice adds its gradient twice (fan-out)", () => {
    const A = randMatrix(3, 4),
      B = randMatrix(4, 2),
      dy = randMatrix(3, 2);
    const once = zerosLike(A),
      twice = zerosLike(A);
    addMatmulNT(once, dy, B);
    addMatmulNT(twice, dy, B);
    addMatmulNT(twice, dy, B);
    expectClose(twice, toRows(scale(once, 2)));
  });

  it("gives the seed's dW = dD · Xᵀ and dX = Wᵀ · dD", () => {
    const W = randMatrix(5, 10),
      X = randMatrix(10, 3),
      dD = randMatrix(5, 3);
    const dW = zerosLike(W),
      dX = zerosLike(X);
    runtime.addMatmulNT(dW, dD, X);
    runtime.addMatmulTN(dX, W, dD);
    expectClose(dW, toRows(matmul(dD, transpose(X))));
    expectClose(dX, toRows(matmul(transpose(W), dD)));
  });
});

// ---------------------------------------------------------------------------------------------

describe("the rule table mirrors the ops", () => {
  const paramNames = (f: Function) => {
    const m = /^[^(]*\(([^)]*)\)/.exec(f.toString());
    return m![1]
      .split(",")
      .map((p) => p.trim().replace(/\s*=.*$/, ""))
      .filter(Boolean);
  };
  const kernels = new Set(rules.flatMap(([, r]) => r.grads.flatMap((g) => (g ? [g.call] : []))));
  const intos = new Set(rules.flatMap(([, r]) => (r.into ? [r.into] : [])));
  const helpers = new Set([
    "matrix",
    "zeros",
    "zerosLike",
    "fromRows",
    "toRows",
    "copyMatrix",
    "at",
    "setAt",
    "isMatrix",
    "shapeOf",
    "MatrixPool",
  ]);
  // Kernels of runtime/ops/fused.ts, named by its tables (test/fuse.test.ts checks them).
  const fused = new Set([
    ...ops.forwardFusions.map((f) => f.into),
    ...ops.backwardFusions.map((f) => /^\w+/.exec(f.into)![0]),
  ]);

  it.each(rules)(
    "%s is an exported function with the rule's parameters, and its Into variant takes out first",
    (name, rule) => {
      expect(typeof fn(name)).toBe("function");
      expect(paramNames(fn(name))).toEqual(rule.params);
      if (rule.into !== null) {
        expect(rule.into).toBe(`${name}Into`);
        expect(paramNames(fn(rule.into))).toEqual(["out", ...rule.params]);
      } else {
        expect(rule.output).toBe("number");
        expect(fn(`${name}Into`)).toBeUndefined();
      }
    },
  );

  it("every kernel a rule calls is exported, and every gradient's math names its adjoint", () => {
    for (const k of kernels) expect(typeof fn(k), k).toBe("function");
    for (const [, rule] of rules) {
      rule.grads.forEach((g, i) => {
        if (g) expect(g.math.startsWith(`d${rule.params[i]} `), g.math).toBe(true);
      });
    }
  });

  it("every exported op function is an op with a rule, an Into variant, a kernel of a rule or a fusion, or a constructor", () => {
    const unaccounted = Object.entries(ops)
      .filter(([, v]) => typeof v === "function")
      .map(([k]) => k)
      .filter(
        (k) => !Object.hasOwn(matrixRules, k) && !intos.has(k) && !kernels.has(k) && !helpers.has(k) && !fused.has(k),
      );
    expect(unaccounted).toEqual([]);
    for (const k of Object.keys(ops)) expect(Object.hasOwn(runtime, k), `runtime/index.ts exports ${k}`).toBe(true);
  });

  it("rule() refuses malformed entries", () => {
    // not exported from the package; the compiler and this test reach it through the module
    return import("../runtime/ops/rule.js").then(({ accumulate, contribution, rule }) => {
      const base = {
        math: "y = f(A)",
        params: ["A"],
        kinds: ["matrix"] as const,
        output: "matrix" as const,
        into: null,
      };
      expect(() => rule({ ...base, grads: [contribution("innerProduct(dy, A)", "dA += ...")] })).toThrow(
        "needs accumulate",
      );
      expect(() => rule({ ...base, grads: [accumulate("addTo(dy, dA)", "dA += dy")] })).toThrow(
        "must accumulate into dA",
      );
      expect(() => rule({ ...base, grads: [accumulate("addTo(dA, B)", "dA += B")] })).toThrow("unknown name B");
      expect(() => accumulate("addTo(dA, 2 * dy)", "")).toThrow("is not a call of one function on template names");
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe("Into variants", () => {
  it.each(rules.filter(([, r]) => r.into !== null))("%sInto equals %s and returns out", (name, rule) => {
    const inputs = domains[name]();
    const expected = fn(name)(...inputs);
    const out =
      expected instanceof Float64Array
        ? new Float64Array(expected.length).fill(NaN)
        : matrix(expected.rows, expected.cols, new Float64Array(expected.data.length).fill(NaN));
    expect(fn(rule.into!)(out, ...inputs)).toBe(out);
    expect(out).toEqual(expected);
    // twice into the same buffer: no leftover from the first call
    expect(fn(rule.into!)(out, ...inputs)).toEqual(expected);
  });

  it("element-wise ones may write over an operand; the others refuse to share memory", () => {
    const A = randMatrix(3, 3),
      B = randMatrix(3, 3),
      b = randMatrix(1, 3);
    const sumAB = add(A, B);
    const A1 = copyMatrix(A);
    expect(addInto(A1, A1, B)).toEqual(sumAB);
    const A2 = copyMatrix(A);
    expect(reluInto(A2, A2)).toEqual(relu(A));
    const A3 = copyMatrix(A);
    expect(softmaxInto(A3, A3)).toEqual(softmax(A));
    const A4 = copyMatrix(A);
    expect(addBiasInto(A4, A4, b)).toEqual(addBias(A, b));
    expect(() => matmulInto(A, A, B)).toThrow("matmulInto: out shares memory with A");
    expect(() => transposeInto(A, A)).toThrow("transposeInto: out shares memory with A");
    const v = randVector(3);
    expect(() => matvecInto(v, A, v)).toThrow("matvecInto: out shares memory with x");
    expect(() =>
      addBiasInto(matrix(3, 3, new Float64Array(9)), A, matrix(1, 3, new Float64Array(9).subarray(0, 3))),
    ).not.toThrow();
    const shared = new Float64Array(9);
    expect(() => addBiasInto(matrix(3, 3, shared), A, matrix(1, 3, shared.subarray(0, 3)))).toThrow(
      "addBiasInto: out shares memory with b",
    );
    const buf = new Float64Array(10);
    expect(() => addInto(matrix(3, 3, buf.subarray(1)), matrix(3, 3, buf.subarray(0, 9)), B)).toThrow(
      "addInto: out overlaps A at a different offset",
    );
  });

  it("logSumExpInto writes one number per row into a rows×1 column", () => {
    const A = randMatrix(4, 3);
    const out = zeros(4, 1);
    logSumExpInto(out, A);
    expect(out).toEqual(logSumExp(A));
  });
});

// ---------------------------------------------------------------------------------------------

describe("backward kernels allocate nothing", () => {
  const kernelNames = [
    ...new Set([
      ...rules.flatMap(([, r]) => r.grads.flatMap((g) => (g ? [g.call] : []))),
      ...ops.backwardFusions.map((f) => /^\w+/.exec(f.into)![0]),
    ]),
  ];

  it.each(kernelNames)("%s: no allocation in its source", (name) => {
    const source = fn(name).toString();
    expect(source).not.toMatch(/\bnew\s/);
    expect(source).not.toMatch(/\.(slice|subarray|map|filter|concat|from|of)\(/);
    expect(source).not.toMatch(/\[\s*\]|\.\.\./);
  });

  it("no typed array is constructed while the rules' kernels run", () => {
    const Real = globalThis.Float64Array;
    let constructed = 0;
    const counting = new Proxy(Real, {
      construct(target, args) {
        constructed++;
        return Reflect.construct(target, args);
      },
    });
    // inputs and buffers made first; then every rule's kernels called with the counter on
    const calls = rules.flatMap(([name, rule]) => {
      const inputs = domains[name]();
      const y = fn(name)(...inputs);
      const dy = randomLike(y);
      const grads = inputs.map((v, i) =>
        rule.kinds[i] === "matrix" || rule.kinds[i] === "vector" ? randomLike(v) : 0,
      );
      const value: Record<string, unknown> = { y, dy };
      rule.params.forEach((p, i) => ((value[p] = inputs[i]), (value[`d${p}`] = grads[i])));
      return rule.grads.flatMap((g) => (g ? [() => fn(g.call)(...g.args.map((a) => value[a]))] : []));
    });
    (globalThis as any).Float64Array = counting;
    try {
      for (const call of calls) call();
    } finally {
      (globalThis as any).Float64Array = Real;
    }
    expect(calls.length).toBeGreaterThan(20);
    expect(constructed).toBe(0);
  });
});
