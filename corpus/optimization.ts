// Test functions for optimizers, in the styles of optimization libraries and benchmark suites
// (fmin, optimization-js, numeric.js examples, benchmark-function packages): vectors as number[]
// or Float64Array, default parameters for the constants, destructured 2-D points, reduce.

import type { Cases } from "./cases.js";

// style: fmin (number[] input, index loop over consecutive pairs)
/** @differentiable */
export function rosenbrock(x: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < x.length - 1; i++) {
    sum += 100 * (x[i + 1] - x[i] * x[i]) ** 2 + (1 - x[i]) ** 2;
  }
  return sum;
}

// style: SFU test-function library ports (default parameter for A, Math.PI constant, length times A)
/** @differentiable */
export function rastrigin(x: readonly number[], A = 10): number {
  let sum = A * x.length;
  for (let i = 0; i < x.length; i++) {
    sum += x[i] * x[i] - A * Math.cos(2 * Math.PI * x[i]);
  }
  return sum;
}

// style: SFU test-function library ports (Ackley with three default parameters and two running sums)
/** @differentiable */
export function ackley(x: Float64Array, a = 20, b = 0.2, c = 2 * Math.PI): number {
  const d = x.length;
  let sum1 = 0;
  let sum2 = 0;
  for (let i = 0; i < d; i++) {
    sum1 += x[i] * x[i];
    sum2 += Math.cos(c * x[i]);
  }
  return -a * Math.exp(-b * Math.sqrt(sum1 / d)) - Math.exp(sum2 / d) + a + Math.E;
}

// style: fmin examples (Ackley with its constants written inline, a Float64Array read by index)
/** @differentiable */
export function ackleyFixed(x: Float64Array): number {
  const d = x.length;
  let sum1 = 0;
  let sum2 = 0;
  for (let i = 0; i < d; i++) {
    sum1 += x[i] * x[i];
    sum2 += Math.cos(2 * Math.PI * x[i]);
  }
  return -20 * Math.exp(-0.2 * Math.sqrt(sum1 / d)) - Math.exp(sum2 / d) + 20 + Math.E;
}

// style: fmin examples (a 2-D point as an array, destructured into x and y)
/** @differentiable */
export function beale(p: readonly number[]): number {
  const [x, y] = p;
  return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y * y) ** 2 + (2.625 - x + x * y * y * y) ** 2;
}

// style: SFU test-function library ports (a readonly [number, number] tuple parameter)
/** @differentiable */
export function himmelblau(p: readonly [number, number]): number {
  const x = p[0];
  const y = p[1];
  return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2;
}

// style: fmin examples (Array.prototype.reduce with an arrow, divided by two)
/** @differentiable */
export function styblinskiTang(x: readonly number[]): number {
  return x.reduce((acc, xi) => acc + xi ** 4 - 16 * xi ** 2 + 5 * xi, 0) / 2;
}

// style: SFU test-function library ports (for...of over a number[] parameter)
/** @differentiable */
export function sphere(x: readonly number[]): number {
  let s = 0;
  for (const xi of x) {
    s += xi * xi;
  }
  return s;
}

// style: fmin examples (Booth: two scalar parameters, squares with **)
/** @differentiable */
export function booth(x: number, y: number): number {
  return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2;
}

// style: SFU test-function library ports (two scalar parameters; Matyas, decimal constants)
/** @differentiable */
export function matyas(x: number, y: number): number {
  return 0.26 * (x * x + y * y) - 0.48 * x * y;
}

// style: SFU test-function library ports (two scalar parameters; Goldstein-Price: long polynomial factors named a and b)
/** @differentiable */
export function goldsteinPrice(x: number, y: number): number {
  const a = 1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x * x - 14 * y + 6 * x * y + 3 * y * y);
  const b = 30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x * x + 48 * y - 36 * x * y + 27 * y * y);
  return a * b;
}

// style: SFU test-function library ports (two scalar parameters; McCormick with Math.sin)
/** @differentiable */
export function mccormick(x: number, y: number): number {
  return Math.sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 1;
}

// style: SFU test-function library ports (two scalar parameters; three-hump camel with ** 6 / 6)
/** @differentiable */
export function threeHumpCamel(x: number, y: number): number {
  return 2 * x ** 2 - 1.05 * x ** 4 + x ** 6 / 6 + x * y + y ** 2;
}

// style: SFU test-function library ports (Griewank: a sum and a product in one loop, Math.sqrt(i + 1))
/** @differentiable */
export function griewank(x: Float64Array): number {
  let sum = 0;
  let prod = 1;
  for (let i = 0; i < x.length; i++) {
    sum += (x[i] * x[i]) / 4000;
    prod *= Math.cos(x[i] / Math.sqrt(i + 1));
  }
  return sum - prod + 1;
}

// style: SFU test-function library ports (Levy: w_i as a local Float64Array, first and last terms outside the loop)
/** @differentiable */
export function levy(x: Float64Array): number {
  const d = x.length;
  const w = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    w[i] = 1 + (x[i] - 1) / 4;
  }
  let sum = Math.sin(Math.PI * w[0]) ** 2;
  for (let i = 0; i < d - 1; i++) {
    sum += (w[i] - 1) ** 2 * (1 + 10 * Math.sin(Math.PI * w[i] + 1) ** 2);
  }
  sum += (w[d - 1] - 1) ** 2 * (1 + Math.sin(2 * Math.PI * w[d - 1]) ** 2);
  return sum;
}

// style: SFU test-function library ports (Zakharov: weighted sum with (i + 1) / 2, squared and to the fourth)
/** @differentiable */
export function zakharov(x: readonly number[]): number {
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < x.length; i++) {
    s1 += x[i] * x[i];
    s2 += 0.5 * (i + 1) * x[i];
  }
  return s1 + s2 ** 2 + s2 ** 4;
}

// style: SFU test-function library ports (Dixon-Price: loop from 1 reading x[i - 1])
/** @differentiable */
export function dixonPrice(x: readonly number[]): number {
  let sum = (x[0] - 1) ** 2;
  for (let i = 1; i < x.length; i++) {
    sum += (i + 1) * (2 * x[i] * x[i] - x[i - 1]) ** 2;
  }
  return sum;
}

// style: optimization-js (a problem class holding its constants, the objective a method reading this)
export class RosenbrockProblem {
  constructor(
    readonly a = 1,
    readonly b = 100,
  ) {}

  // style: optimization-js (the objective as a method reading this.a and this.b, loop condition i + 1 < n)
  /** @differentiable */
  evaluate(x: Float64Array): number {
    let f = 0;
    for (let i = 0; i + 1 < x.length; i++) {
      const t1 = this.a - x[i];
      const t2 = x[i + 1] - x[i] * x[i];
      f += t1 * t1 + this.b * t2 * t2;
    }
    return f;
  }
}

// style: numeric.js uncmin examples (an objective over a Float64Array with Math.max over a spread of terms)
/** @differentiable */
export function maxOfSquares(x: Float64Array): number {
  return Math.max(...Array.from(x, (v) => v * v));
}

export const cases: Cases = {
  rosenbrock: [[[1.2, 0.8, -0.5]], [[-1.5, 2]]],
  rastrigin: [[[0.3, -1.2, 2.1]], [[0.3, -1.2], 5]],
  ackley: [[Float64Array.of(0.3, -1.2, 2.1)], [Float64Array.of(0.3, -1.2), 10, 0.5, Math.PI]],
  ackleyFixed: [[Float64Array.of(0.3, -1.2, 2.1)]],
  beale: [[[1.2, 0.8]], [[-0.5, 1.7]]],
  himmelblau: [[[1.2, 0.8]], [[-2.5, 3.1]]],
  styblinskiTang: [[[1.2, 0.8, -2.1]]],
  sphere: [[[1.2, 0.8, -2.1]]],
  booth: [[1.2, 0.8]],
  matyas: [[1.2, 0.8]],
  goldsteinPrice: [
    [0.2, -0.8],
    [1.1, 0.4],
  ],
  mccormick: [[1.2, 0.8]],
  threeHumpCamel: [[1.2, -0.8]],
  griewank: [[Float64Array.of(1.2, -30, 7.5)]],
  levy: [[Float64Array.of(1.2, -3, 7.5)]],
  zakharov: [[[1.2, 0.8, -2.1]]],
  dixonPrice: [[[1.2, 0.8, -2.1]]],
  "RosenbrockProblem.evaluate": [
    { self: new RosenbrockProblem(), args: [Float64Array.of(1.2, 0.8, -0.5)] },
    { self: new RosenbrockProblem(2, 10), args: [Float64Array.of(-1.5, 2)] },
  ],
  maxOfSquares: [[Float64Array.of(1.2, -3, 0.5)]],
};
