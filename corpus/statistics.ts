// Descriptive statistics in the styles of simple-statistics, jStat and science.js.

import type { Cases } from "./cases.js";

// style: simple-statistics (early throw on empty input, plain indexed loop)
/** @differentiable */
export function mean(x: readonly number[]): number {
  if (x.length === 0) {
    throw new Error("mean requires at least one data point");
  }
  let total = 0;
  for (let i = 0; i < x.length; i++) {
    total += x[i];
  }
  return total / x.length;
}

// style: simple-statistics (Kahan-Babuska compensated sum: var, a branch on magnitudes, a correction term)
/** @differentiable */
export function sum(x: readonly number[]): number {
  if (x.length === 0) {
    return 0;
  }
  var total = x[0];
  var correction = 0;
  var transition;
  for (var i = 1; i < x.length; i++) {
    transition = total + x[i];
    if (Math.abs(total) >= Math.abs(x[i])) {
      correction += total - transition + x[i];
    } else {
      correction += x[i] - transition + total;
    }
    total = transition;
  }
  return total + correction;
}

// style: simple-statistics (a helper over arrays with a default exponent, a helper call with the array)
/** @differentiable */
export function sumNthPowerDeviations(x: readonly number[], n = 2): number {
  const meanValue = mean(x);
  let result = 0;
  for (let i = 0; i < x.length; i++) {
    result += Math.pow(x[i] - meanValue, n);
  }
  return result;
}

// style: simple-statistics (RangeError guard, composition of array helpers)
/** @differentiable */
export function sampleVariance(x: readonly number[]): number {
  if (x.length < 2) {
    throw new RangeError("sampleVariance requires at least two data points");
  }
  const sumSquaredDeviationsValue = sumNthPowerDeviations(x, 2);
  const besselsCorrection = x.length - 1;
  return sumSquaredDeviationsValue / besselsCorrection;
}

// style: simple-statistics (one-line composition of helpers)
/** @differentiable */
export function sampleStandardDeviation(x: readonly number[]): number {
  const sampleVarianceX = sampleVariance(x);
  return Math.sqrt(sampleVarianceX);
}

// style: simple-statistics (length-mismatch throw, two arrays, means computed by helper)
/** @differentiable */
export function sampleCovariance(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) {
    throw new Error("sampleCovariance requires samples with equal lengths");
  }
  if (x.length < 2) {
    throw new Error("sampleCovariance requires at least two data points in each sample");
  }
  const xmean = mean(x);
  const ymean = mean(y);
  let total = 0;
  for (let i = 0; i < x.length; i++) {
    total += (x[i] - xmean) * (y[i] - ymean);
  }
  return total / (x.length - 1);
}

// style: simple-statistics (composition: covariance over the product of standard deviations)
/** @differentiable */
export function sampleCorrelation(x: readonly number[], y: readonly number[]): number {
  const cov = sampleCovariance(x, y);
  const xstd = sampleStandardDeviation(x);
  const ystd = sampleStandardDeviation(y);
  return cov / xstd / ystd;
}

// style: simple-statistics (scalar one-liner)
/** @differentiable */
export function zScore(x: number, meanValue: number, standardDeviation: number): number {
  return (x - meanValue) / standardDeviation;
}

// style: simple-statistics (throw on a non-positive value inside the loop, Math.pow with 1/n)
/** @differentiable */
export function geometricMean(x: readonly number[]): number {
  if (x.length === 0) {
    throw new Error("geometricMean requires at least one data point");
  }
  let value = 1;
  for (let i = 0; i < x.length; i++) {
    if (x[i] <= 0) {
      throw new Error("geometricMean requires only positive numbers as input");
    }
    value *= x[i];
  }
  return Math.pow(value, 1 / x.length);
}

// style: simple-statistics (reciprocal sum with a guard per element)
/** @differentiable */
export function harmonicMean(x: readonly number[]): number {
  if (x.length === 0) {
    throw new Error("harmonicMean requires at least one data point");
  }
  let reciprocalSum = 0;
  for (let i = 0; i < x.length; i++) {
    if (x[i] <= 0) {
      throw new Error("harmonicMean requires only positive numbers as input");
    }
    reciprocalSum += 1 / x[i];
  }
  return x.length / reciprocalSum;
}

// style: jStat (var, count-down loop with the decrement inside the condition)
/** @differentiable */
export function sumsqrd(arr: readonly number[]): number {
  var sum = 0;
  var i = arr.length;
  while (--i >= 0) sum += arr[i] * arr[i];
  return sum;
}

// style: science.js (var declarators in one statement, pre-increment inside the while condition)
/** @differentiable */
export function variance(x: readonly number[]): number {
  var n = x.length;
  if (n < 1) return NaN;
  if (n === 1) return 0;
  var m = mean(x),
    i = -1,
    s = 0;
  while (++i < n) {
    var v = x[i] - m;
    s += v * v;
  }
  return s / (n - 1);
}

// style: simple-statistics (rootMeanSquare with Array.prototype.reduce and an arrow callback)
/** @differentiable */
export function rootMeanSquare(x: readonly number[]): number {
  if (x.length === 0) {
    throw new Error("rootMeanSquare requires at least one data point");
  }
  const sumOfSquares = x.reduce((acc, val) => acc + val * val, 0);
  return Math.sqrt(sumOfSquares / x.length);
}

// style: simple-statistics (sampleSkewness: accumulate second and third central moments in one loop)
/** @differentiable */
export function sampleSkewness(x: readonly number[]): number {
  if (x.length < 3) {
    throw new Error("sampleSkewness requires at least three data points");
  }
  const meanValue = mean(x);
  let tempValue;
  let sumSquaredDeviations = 0;
  let sumCubedDeviations = 0;
  for (let i = 0; i < x.length; i++) {
    tempValue = x[i] - meanValue;
    sumSquaredDeviations += tempValue * tempValue;
    sumCubedDeviations += tempValue * tempValue * tempValue;
  }
  const besselsCorrection = x.length - 1;
  const theSampleStandardDeviation = Math.sqrt(sumSquaredDeviations / besselsCorrection);
  const n = x.length;
  const cubedS = Math.pow(theSampleStandardDeviation, 3);
  return (n * sumCubedDeviations) / ((n - 1) * (n - 2) * cubedS);
}

// style: jStat (distribution object with pdf on a nested object literal, Math.log/Math.exp form)
export const normal = {
  /** @differentiable */
  pdf(x: number, mean: number, std: number): number {
    if (std < 0) return NaN;
    return Math.exp(-0.5 * Math.log(2 * Math.PI) - Math.log(std) - Math.pow(x - mean, 2) / (2 * std * std));
  },
};

// style: simple-statistics (quantileSorted: index arithmetic, Math.ceil, guard with RangeError)
/** @differentiable */
export function quantileSorted(x: readonly number[], p: number): number {
  const idx = x.length * p;
  if (x.length === 0) {
    throw new Error("quantile requires at least one data point.");
  } else if (p < 0 || p > 1) {
    throw new RangeError("quantiles must be between 0 and 1");
  } else if (p === 1) {
    return x[x.length - 1];
  } else if (p === 0) {
    return x[0];
  } else if (idx % 1 !== 0) {
    return x[Math.ceil(idx) - 1];
  } else if (x.length % 2 === 0) {
    return (x[idx - 1] + x[idx]) / 2;
  } else {
    return x[idx];
  }
}

// style: simple-statistics (weighted mean with for...of over entries and a NaN sentinel)
/** @differentiable */
export function weightedMean(values: readonly number[], weights: readonly number[]): number {
  if (values.length !== weights.length) return NaN;
  let numerator = 0;
  let denominator = 0;
  for (const [i, v] of values.entries()) {
    numerator += v * weights[i];
    denominator += weights[i];
  }
  return numerator / denominator;
}

export const cases: Cases = {
  mean: [[[1, 2.5, -0.75, 4]], [[0.3]]],
  sum: [[[1, 2.5, -0.75, 4]], [[-3, 0.25, 7.5]]],
  sumNthPowerDeviations: [[[1, 2.5, -0.75, 4]], { args: [[1, 2.5, -0.75, 4], 3], wrt: [0] }],
  sampleVariance: [[[1, 2.5, -0.75, 4]], [[0.1, 0.4, 0.35]]],
  sampleStandardDeviation: [[[1, 2.5, -0.75, 4]]],
  sampleCovariance: [
    [
      [1, 2.5, -0.75, 4],
      [0.5, 1.5, 0.25, -1],
    ],
  ],
  sampleCorrelation: [
    [
      [1, 2.5, -0.75, 4],
      [0.5, 1.5, 0.25, -1],
    ],
  ],
  zScore: [[1.3, 0.4, 2.1]],
  geometricMean: [[[1, 2.5, 0.75, 4]]],
  harmonicMean: [[[1, 2.5, 0.75, 4]]],
  sumsqrd: [[[1, 2.5, -0.75, 4]]],
  variance: [[[1, 2.5, -0.75, 4]]],
  rootMeanSquare: [[[1, 2.5, -0.75, 4]]],
  sampleSkewness: [[[1, 2.5, -0.75, 4, 6]]],
  "normal.pdf": [[0.7, 0.2, 1.3]],
  quantileSorted: [
    [[0.5, 1, 2.5, 4, 7], 0.3],
    [[0.5, 1, 2.5, 4, 7], 0.65],
  ],
  weightedMean: [
    [
      [1, 2.5, -0.75, 4],
      [0.5, 1.5, 0.25, 2],
    ],
  ],
};
