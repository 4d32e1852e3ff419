// Numeric code factored the way libraries factor it: small helpers over arrays that return a
// number (dot, norm, logSumExp, a per-point loss), helpers that return arrays or objects (softmax,
// moments, a dense layer, a recurrent cell, an interpolator), gl-matrix and BLAS out-parameters the
// caller allocates, array methods with arrow callbacks (reduce, map, forEach, some, every, filter,
// indexOf, findIndex, Math.max over a spread of a map), arrays made with literals, fill, slice and
// push, double buffers, number[][] and arrays of records as parameters, and small recurrent,
// mini-batch and unrolled-optimizer loops calling helpers.

import type { Cases } from "./cases.js";

interface Point {
  x: number;
  y: number;
}

interface Body {
  x: number;
  y: number;
  vx: number;
  vy: number;
  mass: number;
}

interface Sample {
  x: number[];
  y: number;
}

// ---------------------------------------------------------------------------------------------
// Kernels shared by the functions below, unmarked, as a library's internal helpers are.

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

function distance2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const dx = a[0] - b[0];
  const dy = a[1] - b[1];
  return Math.sqrt(dx * dx + dy * dy);
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

// ---------------------------------------------------------------------------------------------
// Helpers taking arrays and returning a number.

// style: ml.js (cosine similarity composed from unmarked dot and norm helpers over arrays)
/** @differentiable */
export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  return dot(a, b) / (norm(a) * norm(b));
}

// style: TensorFlow.js on plain arrays (logSumExp as a marked helper: the max found by for...of, then the shifted sum)
/** @differentiable */
export function logSumExp(x: readonly number[]): number {
  let max = -Infinity;
  for (const v of x) {
    if (v > max) max = v;
  }
  let sum = 0;
  for (const v of x) sum += Math.exp(v - max);
  return max + Math.log(sum);
}

// style: TensorFlow.js (sparse categorical cross-entropy over a batch of logit rows: the marked logSumExp of each row minus the label's logit)
/** @differentiable */
export function sparseCategoricalCrossentropy(logits: number[][], labels: readonly number[]): number {
  let total = 0;
  for (let i = 0; i < logits.length; i++) {
    const row = logits[i];
    total += logSumExp(row) - row[labels[i]];
  }
  return total / logits.length;
}

// The model as ml-levenberg-marquardt takes it: the parameters in, a function of t out.
function sinFunction([a, b]: readonly number[]) {
  return (t: number) => a * Math.sin(b * t);
}

// style: ml-levenberg-marquardt (errorCalculation: the curried model built once from the parameter array, squared residuals summed)
/** @differentiable */
export function errorCalculation(parameters: readonly number[], x: readonly number[], y: readonly number[]): number {
  const func = sinFunction(parameters);
  let error = 0;
  for (let i = 0; i < x.length; i++) error += (y[i] - func(x[i])) ** 2;
  return error;
}

// Huber's rho for one residual.
function huberRho(r: number, delta: number): number {
  const a = Math.abs(r);
  return a <= delta ? 0.5 * r * r : delta * (a - 0.5 * delta);
}

// y = p0 exp(-p1 t) + p2
function exponentialDecay(p: readonly number[], t: number): number {
  return p[0] * Math.exp(-p[1] * t) + p[2];
}

// style: robust curve fitting, a least_squares(loss: "huber") port (a model helper taking the parameter array, a per-point rho helper, the mean)
/** @differentiable */
export function robustDecayLoss(p: readonly number[], t: readonly number[], y: readonly number[], delta = 0.5): number {
  let loss = 0;
  for (let i = 0; i < t.length; i++) loss += huberRho(exponentialDecay(p, t[i]) - y[i], delta);
  return loss / t.length;
}

// style: simple-statistics (mean as a marked helper, throwing on empty input)
/** @differentiable */
export function mean(x: readonly number[]): number {
  if (x.length === 0) throw new Error("mean requires at least one data point");
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i];
  return sum / x.length;
}

function sampleVariance(x: readonly number[]): number {
  if (x.length < 2) throw new Error("sampleVariance requires at least two data points");
  const m = mean(x);
  let sumSquares = 0;
  for (const v of x) sumSquares += (v - m) ** 2;
  return sumSquares / (x.length - 1);
}

// style: simple-statistics (tTest: a one-sample t statistic composed from the marked mean and an unmarked variance helper calling it)
/** @differentiable */
export function tTest(x: readonly number[], expectedValue: number): number {
  const sampleMean = mean(x);
  const sd = Math.sqrt(sampleVariance(x));
  return (sampleMean - expectedValue) / (sd / Math.sqrt(x.length));
}

// style: ml-distance (Kullback-Leibler divergence as a marked helper over two distributions)
/** @differentiable */
export function klDivergence(p: readonly number[], q: readonly number[]): number {
  let d = 0;
  for (let i = 0; i < p.length; i++) d += p[i] * Math.log(p[i] / q[i]);
  return d;
}

// style: ml-distance (Jensen-Shannon: every() guarding positivity, the midpoint distribution made by map, the KL helper called twice)
/** @differentiable */
export function jensenShannon(p: readonly number[], q: readonly number[]): number {
  if (!p.every((v) => v > 0) || !q.every((v) => v > 0)) return Infinity;
  const m = p.map((v, i) => (v + q[i]) / 2);
  return (klDivergence(p, m) + klDivergence(q, m)) / 2;
}

// ---------------------------------------------------------------------------------------------
// Helpers returning arrays, objects and functions.

function softmax(logits: readonly number[]): number[] {
  const max = Math.max(...logits);
  const exps = logits.map((z) => Math.exp(z - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}

// style: TensorFlow.js on plain arrays (scaled dot-product attention for one query: scores by keys.map calling dot, a softmax helper returning the weights)
/** @differentiable */
export function attentionReadout(query: readonly number[], keys: number[][], values: readonly number[]): number {
  const scale = 1 / Math.sqrt(query.length);
  const scores = keys.map((k) => dot(query, k) * scale);
  const weights = softmax(scores);
  let out = 0;
  for (let i = 0; i < weights.length; i++) out += weights[i] * values[i];
  return out;
}

// style: TensorFlow.js on plain arrays (the entropy of a softmax: a helper returning the probabilities, reduced with an arrow)
/** @differentiable */
export function softmaxEntropy(logits: readonly number[]): number {
  const p = softmax(logits);
  return -p.reduce((h, pi) => h + pi * Math.log(pi), 0);
}

// tf.moments for one axis: { mean, variance }
function moments(x: readonly number[]): { mean: number; variance: number } {
  const mean = x.reduce((s, v) => s + v, 0) / x.length;
  const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length;
  return { mean, variance };
}

// style: TensorFlow.js layers (layer normalization: a moments() helper returning { mean, variance }, destructured; gamma and beta per feature)
/** @differentiable */
export function layerNormActivation(
  x: readonly number[],
  gamma: readonly number[],
  beta: readonly number[],
  epsilon = 1e-3,
): number {
  const { mean, variance } = moments(x);
  const invStd = 1 / Math.sqrt(variance + epsilon);
  let total = 0;
  for (let i = 0; i < x.length; i++) {
    const normalized = (x[i] - mean) * invStd;
    total += Math.tanh(gamma[i] * normalized + beta[i]);
  }
  return total;
}

// A dense layer: W as rows (one per output unit), a bias per unit.
function dense(W: number[][], b: readonly number[], x: ArrayLike<number>): Float64Array {
  const out = new Float64Array(b.length);
  for (let j = 0; j < b.length; j++) {
    const row = W[j];
    let z = b[j];
    for (let i = 0; i < x.length; i++) z += row[i] * x[i];
    out[j] = z;
  }
  return out;
}

// style: brain.js / TensorFlow.js dense layers on plain arrays (a dense() helper returning a Float64Array, tanh by map, a second dense, squared error)
/** @differentiable */
export function mlpLoss(
  W1: number[][],
  b1: readonly number[],
  W2: number[][],
  b2: readonly number[],
  input: readonly number[],
  target: readonly number[],
): number {
  const hidden = dense(W1, b1, input).map((z) => Math.tanh(z));
  const output = dense(W2, b2, hidden);
  let loss = 0;
  for (let k = 0; k < output.length; k++) loss += (output[k] - target[k]) ** 2;
  return 0.5 * loss;
}

// simple-statistics' linearRegression: [x, y] pairs in, { m, b } out.
function linearRegression(data: readonly (readonly number[])[]): { m: number; b: number } {
  const n = data.length;
  if (n === 1) return { m: 0, b: data[0][1] };
  let sumX = 0,
    sumY = 0,
    sumXX = 0,
    sumXY = 0;
  for (let i = 0; i < n; i++) {
    const point = data[i];
    const x = point[0];
    const y = point[1];
    sumX += x;
    sumY += y;
    sumXX += x * x;
    sumXY += x * y;
  }
  const m = (n * sumXY - sumX * sumY) / (n * sumXX - sumX * sumX);
  const b = sumY / n - (m * sumX) / n;
  return { m, b };
}

function linearRegressionLine(mb: { m: number; b: number }): (x: number) => number {
  return (x) => mb.b + mb.m * x;
}

// style: simple-statistics (linearRegression returning { m, b } from [x, y] pairs, linearRegressionLine turning it into a function of x)
/** @differentiable */
export function regressionForecast(data: number[][], x: number): number {
  const line = linearRegressionLine(linearRegression(data));
  return line(x);
}

function interpolateNumber(a: number, b: number): (t: number) => number {
  return (t) => a * (1 - t) + b * t;
}

// An array interpolator: one number interpolator per shared element, b's extra elements copied
// once; the closure refills the same output array on each call.
function interpolateArray(a: readonly number[], b: readonly number[]): (t: number) => number[] {
  const nb = b.length;
  const na = Math.min(nb, a.length);
  const parts: ((t: number) => number)[] = new Array(na);
  const c: number[] = new Array(nb);
  let i: number;
  for (i = 0; i < na; ++i) parts[i] = interpolateNumber(a[i], b[i]);
  for (; i < nb; ++i) c[i] = b[i];
  return (t) => {
    for (i = 0; i < na; ++i) c[i] = parts[i](t);
    return c;
  };
}

// style: d3-interpolate (an array interpolator factory returning a closure over per-element interpolators and a reused output array, its result read by index)
/** @differentiable */
export function tweenedRadius(from: readonly number[], to: readonly number[], t: number): number {
  const interpolate = interpolateArray(from, to);
  const p = interpolate(t);
  return Math.hypot(p[0], p[1], p[2]);
}

// ---------------------------------------------------------------------------------------------
// Out-parameters: the caller allocates, the helper writes.

function cross(out: number[] | Float64Array, a: ArrayLike<number>, b: ArrayLike<number>): number[] | Float64Array {
  const ax = a[0],
    ay = a[1],
    az = a[2];
  const bx = b[0],
    by = b[1],
    bz = b[2];
  out[0] = ay * bz - az * by;
  out[1] = az * bx - ax * bz;
  out[2] = ax * by - ay * bx;
  return out;
}

function subtract(out: number[], a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  out[0] = a[0] - b[0];
  out[1] = a[1] - b[1];
  out[2] = a[2] - b[2];
  return out;
}

function normalize(out: number[], a: ArrayLike<number>): number[] {
  const x = a[0],
    y = a[1],
    z = a[2];
  let len = x * x + y * y + z * z;
  if (len > 0) len = 1 / Math.sqrt(len);
  out[0] = a[0] * len;
  out[1] = a[1] * len;
  out[2] = a[2] * len;
  return out;
}

// style: gl-matrix (vec3.cross into an out vector the caller makes with new Float64Array(3), then read by index: the torque about an axis)
/** @differentiable */
export function torqueAboutAxis(r: readonly number[], force: readonly number[], axis: readonly number[]): number {
  const torque = new Float64Array(3);
  cross(torque, r, force);
  return torque[0] * axis[0] + torque[1] * axis[1] + torque[2] * axis[2];
}

// style: gl-matrix / three.js (a face normal by subtract, cross and an in-place normalize(n, n) into [0, 0, 0] literals; Lambert's cosine)
/** @differentiable */
export function faceLambert(
  a: readonly number[],
  b: readonly number[],
  c: readonly number[],
  lightDir: readonly number[],
): number {
  const edge1 = [0, 0, 0];
  const edge2 = [0, 0, 0];
  const n = [0, 0, 0];
  subtract(edge1, b, a);
  subtract(edge2, c, a);
  cross(n, edge1, edge2);
  normalize(n, n);
  return Math.max(0, dot(n, lightDir));
}

// BLAS level 1, as stdlib-js writes daxpy and dscal: the last array argument is written.
function axpy(alpha: number, x: ArrayLike<number>, y: number[] | Float64Array): void {
  for (let i = 0; i < x.length; i++) y[i] += alpha * x[i];
}

function scal(alpha: number, x: number[] | Float64Array): void {
  for (let i = 0; i < x.length; i++) x[i] *= alpha;
}

function rosenbrock(x: ArrayLike<number>): number {
  let f = 0;
  for (let i = 0; i < x.length - 1; i++) f += 100 * (x[i + 1] - x[i] * x[i]) ** 2 + (1 - x[i]) ** 2;
  return f;
}

function rosenbrockGradient(out: Float64Array, x: ArrayLike<number>): Float64Array {
  out.fill(0);
  for (let i = 0; i < x.length - 1; i++) {
    const d = x[i + 1] - x[i] * x[i];
    out[i] += -400 * x[i] * d - 2 * (1 - x[i]);
    out[i + 1] += 200 * d;
  }
  return out;
}

// style: stdlib-js BLAS (dscal and daxpy writing their last argument: a momentum step on slice() copies, the Rosenbrock loss at the new point)
/** @differentiable */
export function momentumStepLoss(
  w: readonly number[],
  grad: readonly number[],
  velocity: readonly number[],
  learningRate: number,
  momentum: number,
): number {
  const v = velocity.slice();
  scal(momentum, v);
  axpy(-learningRate, grad, v);
  const next = w.slice();
  axpy(1, v, next);
  return rosenbrock(next);
}

function matVec(out: number[], A: number[][], x: ArrayLike<number>): number[] {
  for (let i = 0; i < A.length; i++) {
    const row = A[i];
    let s = 0;
    for (let j = 0; j < x.length; j++) s += row[j] * x[j];
    out[i] = s;
  }
  return out;
}

// style: numeric.js / ml-matrix (a Rayleigh quotient: matVec into a zero-filled out array the caller makes, then dot helpers)
/** @differentiable */
export function rayleighQuotient(A: number[][], x: readonly number[]): number {
  const Ax = new Array<number>(x.length).fill(0);
  matVec(Ax, A, x);
  return dot(x, Ax) / dot(x, x);
}

// style: numeric.js (power iteration: matVec into a second buffer, normalized in place, the buffers swapped by destructuring; the Rayleigh quotient at the end)
/** @differentiable */
export function dominantEigenvalue(A: number[][], iterations = 20): number {
  const n = A.length;
  let v = new Array<number>(n).fill(1 / Math.sqrt(n));
  let w = new Array<number>(n).fill(0);
  for (let k = 0; k < iterations; k++) {
    matVec(w, A, v);
    const len = norm(w);
    for (let i = 0; i < n; i++) w[i] /= len;
    [v, w] = [w, v];
  }
  matVec(w, A, v);
  return dot(v, w);
}

// style: optimization code (a hypergradient: gradient-descent steps unrolled, the gradient written into a Float64Array by a helper, axpy updates on a slice() copy)
/** @differentiable */
export function unrolledDescentLoss(x0: readonly number[], learningRate: number, steps: number): number {
  const x = x0.slice();
  const g = new Float64Array(x.length);
  for (let k = 0; k < steps; k++) {
    rosenbrockGradient(g, x);
    axpy(-learningRate, g, x);
  }
  return rosenbrock(x);
}

function springForce(out: number[], x: readonly number[], v: readonly number[], k: number, c: number): void {
  for (let i = 0; i < x.length; i++) out[i] = -k * x[i] - c * v[i];
}

// style: cannon-es / verlet-js (a force helper writing into a force array the caller owns, semi-implicit Euler steps on slice() copies of the state)
/** @differentiable */
export function dampedSpringEnergy(
  x0: readonly number[],
  v0: readonly number[],
  k: number,
  c: number,
  mass: number,
  dt: number,
  steps: number,
): number {
  const x = x0.slice();
  const v = v0.slice();
  const force = new Array<number>(x.length).fill(0);
  for (let s = 0; s < steps; s++) {
    springForce(force, x, v, k, c);
    for (let i = 0; i < x.length; i++) {
      v[i] += (force[i] / mass) * dt;
      x[i] += v[i] * dt;
    }
  }
  return 0.5 * mass * dot(v, v) + 0.5 * k * dot(x, x);
}

// ---------------------------------------------------------------------------------------------
// Array methods with arrow callbacks.

// style: regression-js (the mean squared error of a line over {x, y} records by a reduce with an arrow callback)
/** @differentiable */
export function lineFitError(points: readonly Point[], slope: number, intercept: number): number {
  return points.reduce((sum, p) => sum + (slope * p.x + intercept - p.y) ** 2, 0) / points.length;
}

// style: brain.js (a neuron's weighted sum: forEach over the inputs with the index, accumulating into an outer let, then the sigmoid)
/** @differentiable */
export function neuronOutput(weights: readonly number[], bias: number, inputs: readonly number[]): number {
  let sum = bias;
  inputs.forEach((input, k) => {
    sum += weights[k] * input;
  });
  return 1 / (1 + Math.exp(-sum));
}

// style: simple-statistics (geometricMean: some() as the guard on non-positive values, a log sum by reduce, exp of its mean)
/** @differentiable */
export function geometricMean(x: readonly number[]): number {
  if (x.length === 0) throw new Error("geometricMean requires at least one data point");
  if (x.some((v) => v <= 0)) throw new Error("geometricMean requires only positive numbers as input");
  const logSum = x.reduce((s, v) => s + Math.log(v), 0);
  return Math.exp(logSum / x.length);
}

// style: d3-array (a statistic skipping missing values: filter to the finite ones, then a reduce over the survivors)
/** @differentiable */
export function finiteRootMeanSquare(values: readonly number[]): number {
  const valid = values.filter((v) => Number.isFinite(v));
  return Math.sqrt(valid.reduce((s, v) => s + v * v, 0) / valid.length);
}

// style: TensorFlow.js on plain arrays (argMax by indexOf(Math.max(...)), the runner-up by filter on the index: a multiclass margin)
/** @differentiable */
export function topMargin(scores: readonly number[]): number {
  const best = Math.max(...scores);
  const winner = scores.indexOf(best);
  const rest = scores.filter((_, i) => i !== winner);
  return best - Math.max(...rest);
}

// style: d3-scale / numeric.js (1-D piecewise-linear interpolation: findIndex for the segment, clamping at both ends, then a lerp)
/** @differentiable */
export function piecewiseLinear(xs: readonly number[], ys: readonly number[], t: number): number {
  const i = xs.findIndex((x) => x > t);
  if (i === 0) return ys[0];
  if (i === -1) return ys[ys.length - 1];
  const u = (t - xs[i - 1]) / (xs[i] - xs[i - 1]);
  return ys[i - 1] * (1 - u) + ys[i] * u;
}

function linePredict(slope: number, intercept: number, x: number): number {
  return slope * x + intercept;
}

// style: ml.js regression (the worst absolute residual over {x, y} records: Math.max over a spread of a map calling a prediction helper)
/** @differentiable */
export function maxAbsoluteResidual(points: readonly Point[], slope: number, intercept: number): number {
  return Math.max(...points.map((p) => Math.abs(linePredict(slope, intercept, p.x) - p.y)));
}

// ---------------------------------------------------------------------------------------------
// Arrays of records, nested arrays, arrays made in the function.

// style: d3-polygon (polygonArea: the shoelace sum over consecutive vertices, records handed along through let a and b)
/** @differentiable */
export function polygonArea(polygon: readonly Point[]): number {
  const n = polygon.length;
  let a: Point;
  let b = polygon[n - 1];
  let area = 0;
  for (let i = 0; i < n; i++) {
    a = b;
    b = polygon[i];
    area += a.y * b.x - a.x * b.y;
  }
  return area / 2;
}

function bodyDistance(a: Body, b: Body): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

// style: cannon-es / Nature of Code n-body (bodies as records: for...of for the kinetic energy, a distance helper taking two records for the potential)
/** @differentiable */
export function totalEnergy(bodies: readonly Body[], G = 1): number {
  let kinetic = 0;
  for (const body of bodies) kinetic += 0.5 * body.mass * (body.vx * body.vx + body.vy * body.vy);
  let potential = 0;
  for (let i = 0; i < bodies.length; i++) {
    for (let j = i + 1; j < bodies.length; j++) {
      potential -= (G * bodies[i].mass * bodies[j].mass) / bodyDistance(bodies[i], bodies[j]);
    }
  }
  return kinetic + potential;
}

// style: gl-matrix vec2.rotate (the rotated point as an array literal of computed numbers, measured by a distance helper)
/** @differentiable */
export function rotatedDistance(p: readonly number[], q: readonly number[], angle: number): number {
  const c = Math.cos(angle),
    s = Math.sin(angle);
  const r = [p[0] * c - p[1] * s, p[0] * s + p[1] * c];
  return distance2(r, q);
}

// style: technicalindicators (SMA: each window's mean pushed onto a result array, compared with a target series)
/** @differentiable */
export function smaTrackingError(prices: readonly number[], period: number, target: readonly number[]): number {
  const result: number[] = [];
  for (let i = period - 1; i < prices.length; i++) {
    let sum = 0;
    for (let j = i - period + 1; j <= i; j++) sum += prices[j];
    result.push(sum / period);
  }
  let err = 0;
  for (let k = 0; k < result.length; k++) err += (result[k] - target[k]) ** 2;
  return err / result.length;
}

// style: reinforcement-learning code on plain arrays (discounted returns on a slice() copy of the rewards, accumulated backwards; a value baseline's loss)
/** @differentiable */
export function advantageLoss(rewards: readonly number[], values: readonly number[], gamma = 0.99): number {
  const returns = rewards.slice();
  for (let t = returns.length - 2; t >= 0; t--) returns[t] += gamma * returns[t + 1];
  let loss = 0;
  for (let t = 0; t < returns.length; t++) loss += (returns[t] - values[t]) ** 2;
  return loss / returns.length;
}

// style: ml-matrix (mmul into a result built row by row: a new row array per i pushed onto the result, then the Frobenius norm by nested reduce)
/** @differentiable */
export function productFrobeniusNorm(A: number[][], B: number[][]): number {
  const rows = A.length;
  const cols = B[0].length;
  const inner = B.length;
  const C: number[][] = [];
  for (let i = 0; i < rows; i++) {
    const row = new Array<number>(cols).fill(0);
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let k = 0; k < inner; k++) s += A[i][k] * B[k][j];
      row[j] = s;
    }
    C.push(row);
  }
  return Math.sqrt(C.reduce((total, row) => total + row.reduce((t, v) => t + v * v, 0), 0));
}

// style: stdlib-js / numeric PDE code (explicit heat-equation steps with fixed ends, two buffers swapped through a tmp each step)
/** @differentiable */
export function diffusedEnergy(u0: readonly number[], alpha: number, steps: number): number {
  const n = u0.length;
  let u = u0.slice();
  let next = new Array<number>(n).fill(0);
  for (let s = 0; s < steps; s++) {
    next[0] = u[0];
    next[n - 1] = u[n - 1];
    for (let i = 1; i < n - 1; i++) next[i] = u[i] + alpha * (u[i - 1] - 2 * u[i] + u[i + 1]);
    const tmp = u;
    u = next;
    next = tmp;
  }
  return u.reduce((e, v) => e + v * v, 0);
}

// ---------------------------------------------------------------------------------------------
// Recurrent steps and mini-batches.

function rnnCell(
  Wx: number[][],
  Wh: number[][],
  b: readonly number[],
  x: readonly number[],
  h: readonly number[],
): number[] {
  return b.map((bj, j) => Math.tanh(bj + dot(Wx[j], x) + dot(Wh[j], h)));
}

// style: brain.js RNN / TensorFlow.js simpleRNN (a step helper returning the new hidden state by map, for...of over the time steps, a linear readout)
/** @differentiable */
export function rnnSequenceLoss(
  Wx: number[][],
  Wh: number[][],
  b: readonly number[],
  v: readonly number[],
  sequence: number[][],
  target: number,
): number {
  let h: number[] = new Array<number>(b.length).fill(0);
  for (const x of sequence) h = rnnCell(Wx, Wh, b, x, h);
  return 0.5 * (dot(v, h) - target) ** 2;
}

function logLoss(y: number, p: number): number {
  return -(y * Math.log(p) + (1 - y) * Math.log(1 - p));
}

// style: ml.js / TensorFlow.js fit loop (mini-batches sliced from an array of { x, y } samples, destructured by for...of, per-sample helpers, batch means summed)
/** @differentiable */
export function miniBatchLoss(w: readonly number[], bias: number, data: readonly Sample[], batchSize: number): number {
  let total = 0;
  for (let start = 0; start < data.length; start += batchSize) {
    const batch = data.slice(start, start + batchSize);
    let batchLoss = 0;
    for (const { x, y } of batch) batchLoss += logLoss(y, sigmoid(dot(w, x) + bias));
    total += batchLoss / batch.length;
  }
  return total;
}

export const cases: Cases = {
  cosineSimilarity: [
    [
      [1, 2, -0.5],
      [0.5, -1, 2],
    ],
    [
      [0.3, 0.8],
      [1.2, 0.4],
    ],
  ],
  logSumExp: [[[0.5, -1, 2, 0.25]], [[1.5, 0.3]]],
  sparseCategoricalCrossentropy: [
    {
      args: [
        [
          [0.5, -1, 2],
          [1, 0.2, -0.3],
        ],
        [2, 0],
      ],
      wrt: [0],
    },
    {
      args: [
        [
          [0.1, 0.7],
          [-0.4, 0.9],
          [1.3, 0.2],
        ],
        [1, 0, 0],
      ],
      wrt: [0],
    },
  ],
  errorCalculation: [
    [
      [2, 0.5],
      [0, 1, 2, 3],
      [0.1, 0.9, 1.7, 2.1],
    ],
    [
      [1.5, 0.8],
      [0.5, 1, 1.5],
      [0.6, 1.1, 1.4],
    ],
  ],
  robustDecayLoss: [
    [
      [2, 0.7, 0.1],
      [0, 1, 2, 3],
      [2.05, 1.2, 0.35, 1.2],
    ],
    [[2, 0.7, 0.1], [0, 1, 2, 3], [2.05, 1.2, 0.35, 1.2], 0.3],
  ],
  mean: [[[1, 2.5, -0.75]], [[0.5, 0.25]]],
  tTest: [
    [[1, 2.5, -0.75, 3], 0.5],
    [[0.2, 0.4, 1.1], 0],
  ],
  klDivergence: [
    [
      [0.2, 0.5, 0.3],
      [0.3, 0.3, 0.4],
    ],
    [
      [0.6, 0.4],
      [0.5, 0.5],
    ],
  ],
  jensenShannon: [
    [
      [0.2, 0.5, 0.3],
      [0.3, 0.3, 0.4],
    ],
    [
      [0.6, 0.4],
      [0.45, 0.55],
    ],
  ],
  attentionReadout: [
    [
      [0.5, -1],
      [
        [1, 0.2],
        [0.3, -0.5],
        [-1, 0.8],
      ],
      [1, 2, -0.5],
    ],
    [
      [0.2, 0.4, -0.3],
      [
        [0.5, 1, 0],
        [-0.2, 0.3, 0.9],
      ],
      [0.7, -1.2],
    ],
  ],
  softmaxEntropy: [[[0.5, -1, 2]], [[0.1, 0.2, 0.3, 0.45]]],
  layerNormActivation: [
    [
      [1, 2.5, -0.75, 0.3],
      [1, 0.5, 2, -1],
      [0, 0.1, -0.2, 0.3],
    ],
    [[0.4, -0.2, 0.9], [0.8, 1.2, -0.5], [0.1, 0, 0.2], 0.01],
  ],
  mlpLoss: [
    [
      [
        [0.5, -0.3],
        [0.8, 0.2],
        [-0.4, 0.6],
      ],
      [0.1, -0.2, 0.05],
      [
        [0.3, -0.7, 0.5],
        [0.2, 0.4, -0.1],
      ],
      [0, 0.1],
      [1, -0.5],
      [0.2, -0.3],
    ],
    [
      [
        [0.2, 0.1, -0.5],
        [-0.3, 0.4, 0.6],
      ],
      [0, 0.2],
      [[0.9, -0.4]],
      [0.3],
      [0.5, 1, -1],
      [0.4],
    ],
  ],
  regressionForecast: [
    [
      [
        [0, 1],
        [1, 2.2],
        [2, 2.9],
        [3, 4.3],
      ],
      1.5,
    ],
    [
      [
        [0.5, 0.2],
        [1.5, 0.9],
        [2.5, 1.1],
      ],
      4,
    ],
  ],
  tweenedRadius: [
    [[1, 2], [0.5, -1, 2], 0.3],
    [[1, 2, -0.5], [0.5, -1, 2], 0.8],
  ],
  torqueAboutAxis: [
    [
      [1, 2, 0.5],
      [0.3, -1, 2],
      [0, 0.6, 0.8],
    ],
    [
      [-0.5, 0.2, 1],
      [1, 0.4, -0.3],
      [0.5, 0.5, 0.7],
    ],
  ],
  faceLambert: [
    [
      [0, 0, 0.1],
      [1, 0.2, 0],
      [0.1, 1, 0.3],
      [0.2, 0.3, 0.9],
    ],
    [
      [0.5, 0, 0],
      [1.5, 0.5, 0.2],
      [0, 1, 0.5],
      [0, -0.2, 1],
    ],
  ],
  momentumStepLoss: [
    [[0.5, 0.3], [-1, 0.4], [0.1, -0.2], 0.05, 0.9],
    [[-0.3, 0.8, 0.6], [0.5, -0.2, 1], [0, 0.1, 0.2], 0.01, 0.5],
  ],
  rayleighQuotient: [
    [
      [
        [2, 0.5, 0],
        [0.5, 1, 0.3],
        [0, 0.3, 3],
      ],
      [1, 0.5, -0.25],
    ],
    [
      [
        [1, 0.2],
        [-0.4, 2],
      ],
      [0.3, 0.7],
    ],
  ],
  dominantEigenvalue: [
    {
      args: [
        [
          [2, 0.5, 0],
          [0.5, 1, 0.3],
          [0, 0.3, 3],
        ],
        20,
      ],
      wrt: [0],
    },
    {
      args: [
        [
          [3, 0.4],
          [0.4, 1],
        ],
        5,
      ],
      wrt: [0],
    },
  ],
  unrolledDescentLoss: [
    { args: [[-0.5, 0.8], 0.001, 5], wrt: [0, 1] },
    { args: [[0.3, 0.2, 0.5], 0.0005, 3], wrt: [0, 1] },
  ],
  dampedSpringEnergy: [
    { args: [[1, -0.5], [0, 0.3], 2, 0.1, 1.5, 0.05, 10], wrt: [0, 1, 2, 3, 4, 5] },
    { args: [[0.2, 0.4, -0.3], [0.5, 0, 0.1], 1, 0.3, 0.8, 0.1, 4], wrt: [0, 1, 2, 3, 4, 5] },
  ],
  lineFitError: [
    [
      [
        { x: 0, y: 1 },
        { x: 1, y: 2.2 },
        { x: 2, y: 2.9 },
      ],
      1.1,
      0.9,
    ],
    [
      [
        { x: -1, y: 0.5 },
        { x: 0.5, y: 1.5 },
      ],
      0.4,
      1.2,
    ],
  ],
  neuronOutput: [
    [[0.5, -0.3, 0.8], 0.1, [1, 2, -0.5]],
    [[1.2, 0.4], -0.3, [0.3, -0.7]],
  ],
  geometricMean: [[[1, 2.5, 0.75]], [[0.2, 4]]],
  finiteRootMeanSquare: [[[1, 2.5, -0.75]], [[0.3, -0.2, 0.1, 0.5]]],
  topMargin: [[[0.5, -1, 2, 0.25]], [[3, 1.2, 0.4]]],
  piecewiseLinear: [
    [[0, 1, 2.5, 4], [0, 2, 1, 3], 1.7],
    [[0, 1, 2.5, 4], [0, 2, 1, 3], 3.2],
  ],
  maxAbsoluteResidual: [
    [
      [
        { x: 0, y: 1 },
        { x: 1, y: 2.2 },
        { x: 2, y: 2.9 },
        { x: 3, y: 4.3 },
      ],
      1.1,
      0.95,
    ],
    [
      [
        { x: -1, y: 0.2 },
        { x: 0.5, y: 1.5 },
        { x: 2, y: 1.6 },
      ],
      0.4,
      1,
    ],
  ],
  polygonArea: [
    [
      [
        { x: 0, y: 0 },
        { x: 2, y: 0.2 },
        { x: 1.8, y: 1.5 },
        { x: 0.3, y: 1.1 },
      ],
    ],
    [
      [
        { x: 0.5, y: -0.5 },
        { x: 1, y: 1 },
        { x: -0.5, y: 0.75 },
      ],
    ],
  ],
  totalEnergy: [
    [
      [
        { x: 0, y: 0, vx: 0.1, vy: -0.2, mass: 2 },
        { x: 1, y: 0.5, vx: -0.3, vy: 0.1, mass: 1 },
        { x: -0.5, y: 1.2, vx: 0, vy: 0.4, mass: 1.5 },
      ],
    ],
    [
      [
        { x: 0.2, y: -0.3, vx: 0.5, vy: 0, mass: 1 },
        { x: 1.1, y: 0.4, vx: -0.1, vy: 0.2, mass: 3 },
      ],
      0.5,
    ],
  ],
  rotatedDistance: [
    [[1, 2], [0.5, -1], 0.3],
    [[-0.4, 0.9], [1, 1], 2],
  ],
  smaTrackingError: [
    { args: [[1, 2, 1.5, 3, 2.5], 3, [1.4, 2.1, 2.4]], wrt: [0, 2] },
    { args: [[0.5, 0.8, 1.2, 0.9], 2, [0.6, 1.1, 1]], wrt: [0, 2] },
  ],
  advantageLoss: [
    [
      [1, 0, 0.5, 2],
      [2.5, 2, 1.8, 1.5],
    ],
    [[0.2, 1, -0.5], [0.4, 0.3, -0.2], 0.9],
  ],
  productFrobeniusNorm: [
    [
      [
        [1, 2, -0.5],
        [0.5, -1, 2],
      ],
      [
        [0.3, 1],
        [-0.7, 0.2],
        [1.1, 0.4],
      ],
    ],
    [
      [[0.5, 1.5]],
      [
        [1, -2],
        [0.25, 0.75],
      ],
    ],
  ],
  diffusedEnergy: [
    { args: [[0, 1, 0.5, 2, 0], 0.2, 3], wrt: [0, 1] },
    { args: [[1, -0.5, 0.25, 0.75], 0.1, 5], wrt: [0, 1] },
  ],
  rnnSequenceLoss: [
    [
      [
        [0.5, -0.3],
        [0.2, 0.8],
      ],
      [
        [0.1, 0.4],
        [-0.6, 0.2],
      ],
      [0.05, -0.1],
      [1, -0.5],
      [
        [1, 0],
        [0.5, -1],
        [-0.2, 0.3],
      ],
      0.3,
    ],
    [
      [[0.7], [-0.4], [0.2]],
      [
        [0.1, 0, 0.3],
        [0.2, -0.1, 0],
        [0, 0.4, 0.1],
      ],
      [0, 0.1, -0.1],
      [0.5, 1, -1],
      [[1], [-0.5]],
      -0.2,
    ],
  ],
  miniBatchLoss: [
    {
      args: [
        [0.5, -0.3],
        0.1,
        [
          { x: [1, 2], y: 1 },
          { x: [-0.5, 0.3], y: 0 },
          { x: [0.2, -1], y: 1 },
          { x: [1.5, 0.5], y: 0 },
          { x: [-1, -0.2], y: 1 },
        ],
        2,
      ],
      wrt: [0, 1, 2],
    },
    {
      args: [
        [0.2, 0.4],
        -0.2,
        [
          { x: [0.3, 0.6], y: 0 },
          { x: [1, -1], y: 1 },
          { x: [0.4, 0.1], y: 1 },
        ],
        3,
      ],
      wrt: [0, 1, 2],
    },
  ],
};
