// Distance and similarity measures in the styles of ml-distance, science.js, turf and
// scikit-learn ports: `var n = a.length, i = -1` with `while (++i < n)`, NumberArray-like
// parameters, a factory returning a metric, Math.max over a spread.

import type { Cases } from "./cases.js";

type NumberArray = number[] | Float64Array;

// style: science.js (var declarator list, pre-increment inside the while condition, temporary reassigned per step)
/** @differentiable */
export function euclidean(a: readonly number[], b: readonly number[]): number {
  var n = a.length,
    i = -1,
    s = 0,
    x;
  while (++i < n) {
    x = a[i] - b[i];
    s += x * x;
  }
  return Math.sqrt(s);
}

// style: ml-distance (NumberArray union parameter, let and an indexed loop)
/** @differentiable */
export function squaredEuclidean(p: NumberArray, q: NumberArray): number {
  let d = 0;
  for (let i = 0; i < p.length; i++) {
    d += (p[i] - q[i]) * (p[i] - q[i]);
  }
  return d;
}

// style: ml-distance (Float64Array parameters, Math.abs sum)
/** @differentiable */
export function manhattan(a: Float64Array, b: Float64Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    d += Math.abs(a[i] - b[i]);
  }
  return d;
}

// style: ml-distance (minkowski with the order as a third parameter, `**` for powers)
/** @differentiable */
export function minkowski(a: readonly number[], b: readonly number[], p: number): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    d += Math.abs(a[i] - b[i]) ** p;
  }
  return d ** (1 / p);
}

export function minkowskiOf(p: number) {
  // style: science.js (a metric returned by a factory closing over the order p)
  return /** @differentiable */ function (a: readonly number[], b: readonly number[]): number {
    var n = a.length,
      i = -1,
      s = 0;
    while (++i < n) s += Math.pow(Math.abs(a[i] - b[i]), p);
    return Math.pow(s, 1 / p);
  };
}

// style: lodash (map to differences, Math.max over a spread)
/** @differentiable */
export function chebyshev(a: readonly number[], b: readonly number[]): number {
  return Math.max(...a.map((ai, i) => Math.abs(ai - b[i])));
}

// style: ml-distance (cosine similarity: three running sums, one division)
/** @differentiable */
export function cosine(a: readonly number[], b: readonly number[]): number {
  let p = 0;
  let p2 = 0;
  let q2 = 0;
  for (let i = 0; i < a.length; i++) {
    p += a[i] * b[i];
    p2 += a[i] * a[i];
    q2 += b[i] * b[i];
  }
  return p / (Math.sqrt(p2) * Math.sqrt(q2));
}

// style: ml-distance (a distance defined as 1 minus a similarity helper)
/** @differentiable */
export function cosineDistance(a: readonly number[], b: readonly number[]): number {
  return 1 - cosine(a, b);
}

// style: ml-distance (Bray-Curtis: two sums of absolute values)
/** @differentiable */
export function brayCurtis(a: readonly number[], b: readonly number[]): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += Math.abs(a[i] - b[i]);
    den += Math.abs(a[i] + b[i]);
  }
  return num / den;
}

// style: ml-distance (Canberra: a guard skipping zero denominators inside the loop)
/** @differentiable */
export function canberra(a: readonly number[], b: readonly number[]): number {
  let ans = 0;
  for (let i = 0; i < a.length; i++) {
    const den = Math.abs(a[i]) + Math.abs(b[i]);
    if (den === 0) continue;
    ans += Math.abs(a[i] - b[i]) / den;
  }
  return ans;
}

// style: ml-distance (Kullback-Leibler divergence of two distributions)
/** @differentiable */
export function kullbackLeibler(p: readonly number[], q: readonly number[]): number {
  let ans = 0;
  for (let i = 0; i < p.length; i++) {
    ans += p[i] * Math.log(p[i] / q[i]);
  }
  return ans;
}

const sqrt = Math.sqrt;

// style: stdlib-js (a module-level `const sqrt = Math.sqrt` alias, as its require of math/base/special/sqrt reads)
/** @differentiable */
export function hellinger(p: readonly number[], q: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < p.length; i++) {
    const d = sqrt(p[i]) - sqrt(q[i]);
    sum += d * d;
  }
  return sqrt(sum) / Math.SQRT2;
}

// style: ml-distance (Lorentzian: log1p of absolute differences)
/** @differentiable */
export function lorentzian(a: readonly number[], b: readonly number[]): number {
  let ans = 0;
  for (let i = 0; i < a.length; i++) {
    ans += Math.log(Math.abs(a[i] - b[i]) + 1);
  }
  return ans;
}

// style: turf (haversine over [lng, lat] coordinate arrays, a local degreesToRadians arrow, earth radius constant)
const earthRadius = 6371008.8;
/** @differentiable */
export function haversine(from: readonly number[], to: readonly number[]): number {
  const degreesToRadians = (degrees: number) => ((degrees % 360) * Math.PI) / 180;
  const dLat = degreesToRadians(to[1] - from[1]);
  const dLon = degreesToRadians(to[0] - from[0]);
  const lat1 = degreesToRadians(from[1]);
  const lat2 = degreesToRadians(to[1]);
  const a = Math.pow(Math.sin(dLat / 2), 2) + Math.pow(Math.sin(dLon / 2), 2) * Math.cos(lat1) * Math.cos(lat2);
  return earthRadius * 2 * Math.atan2(Math.sqrt(a), Math.sqrt(1 - a));
}

function toRad(value: number): number {
  return (value * Math.PI) / 180;
}

// style: geolib-like (four scalar degrees, an unmarked module-level toRad helper, the Math.asin form)
/** @differentiable */
export function haversineScalar(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const R = 6371;
  const dLat = toRad(lat2 - lat1);
  const dLon = toRad(lon2 - lon1);
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(toRad(lat1)) * Math.cos(toRad(lat2)) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(a));
}

// style: scikit-learn port (Mahalanobis with an inverse covariance as number[][] rows, nested loops)
/** @differentiable */
export function mahalanobis(x: readonly number[], mu: readonly number[], invCov: readonly number[][]): number {
  const n = x.length;
  let d2 = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      d2 += (x[i] - mu[i]) * invCov[i][j] * (x[j] - mu[j]);
    }
  }
  return Math.sqrt(d2);
}

// style: ml.js (Mahalanobis-like with a row-major Float64Array precision matrix and a local difference vector)
/** @differentiable */
export function mahalanobisFlat(x: Float64Array, mu: Float64Array, precision: Float64Array): number {
  const n = x.length;
  const diff = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    diff[i] = x[i] - mu[i];
  }
  let d2 = 0;
  for (let i = 0; i < n; i++) {
    let row = 0;
    for (let j = 0; j < n; j++) {
      row += precision[i * n + j] * diff[j];
    }
    d2 += diff[i] * row;
  }
  return Math.sqrt(d2);
}

// style: ml-distance (a switch over a metric name string picking the formula per element)
/** @differentiable */
export function distance(a: readonly number[], b: readonly number[], metric: string = "euclidean"): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    switch (metric) {
      case "euclidean":
        s += d * d;
        break;
      case "manhattan":
        s += Math.abs(d);
        break;
      default:
        throw new Error(`unknown metric: ${metric}`);
    }
  }
  return metric === "euclidean" ? Math.sqrt(s) : s;
}

const A = [1, 2.5, -0.75, 4];
const B = [0.5, 1.5, 0.25, -1];

export const cases: Cases = {
  euclidean: [[A, B]],
  squaredEuclidean: [[A, Float64Array.from(B)]],
  manhattan: [[Float64Array.from(A), Float64Array.from(B)]],
  minkowski: [
    [A, B, 3],
    [A, B, 1.5],
  ],
  "minkowskiOf()": [{ fn: minkowskiOf(3), args: [A, B] }],
  chebyshev: [[A, B]],
  cosine: [[A, B]],
  cosineDistance: [[A, B]],
  brayCurtis: [[A, B]],
  canberra: [[A, B]],
  kullbackLeibler: [
    [
      [0.2, 0.3, 0.5],
      [0.25, 0.25, 0.5],
    ],
  ],
  hellinger: [
    [
      [0.2, 0.3, 0.5],
      [0.25, 0.25, 0.5],
    ],
  ],
  lorentzian: [[A, B]],
  haversine: [
    [
      [-75.343, 39.984],
      [-75.534, 39.123],
    ],
  ],
  haversineScalar: [[39.984, -75.343, 39.123, -75.534]],
  mahalanobis: [
    [
      [1, 2],
      [0.5, 1.5],
      [
        [2, 0.5],
        [0.5, 1],
      ],
    ],
  ],
  mahalanobisFlat: [
    [Float64Array.of(1, 2, 0.5), Float64Array.of(0.5, 1.5, -1), Float64Array.of(2, 0.5, 0, 0.5, 1, 0.25, 0, 0.25, 3)],
  ],
  distance: [
    [A, B],
    [A, B, "manhattan"],
  ],
};
