// The spiral data set of the CS231n two-layer network example: k classes of points on k
// interleaved spiral arms in the plane, which no linear classifier separates.

import { mulberry32, normal } from "./rng.js";

/** A classification data set: n points of d features, row-major, with labels in 0..k-1. */
export interface Dataset {
  /** n × d, row-major: point i is X[i*d .. i*d + d). */
  X: Float64Array;
  /** n labels, each in 0..k-1. */
  y: Int32Array;
  /** Number of points (rows of X), all classes together. */
  n: number;
  /** Features per point (2 for the spiral). */
  d: number;
  /** Number of classes. */
  k: number;
}

export interface SpiralOptions {
  /** Points on each arm (default 100, as in the notes: 3 × 100 = 300 points). */
  pointsPerClass?: number;
  /** Number of arms, one class each (default 3). */
  classes?: number;
  /** Standard deviation of the normal noise added to each point's angle (default 0.2). */
  noise?: number;
  /** Seed of the generator (default 0); the same seed gives the same points. */
  seed?: number;
}

/**
 * The spiral data set. Class j's arm has points p = 0..m-1 (m points per class) with
 *   radius r = p / (m - 1)                              0 → 1, evenly spaced
 *   angle  t = 4j + 4p / (m - 1) + noise · randn()      4j → 4(j + 1), plus noise
 *   point    (r sin t, r cos t), label j.
 * Rows are ordered by class: rows j·m .. j·m + m - 1 belong to class j.
 *
 *   spiral({ seed: 1 }) → { X: Float64Array(600), y: Int32Array(300), n: 300, d: 2, k: 3 }
 */
export function spiral(options: SpiralOptions = {}): Dataset {
  const m = options.pointsPerClass ?? 100;
  const k = options.classes ?? 3;
  const noise = options.noise ?? 0.2;
  const randn = normal(mulberry32(options.seed ?? 0));
  if (!(Number.isInteger(m) && m >= 2))
    throw new RangeError(`spiral: pointsPerClass must be an integer >= 2, got ${m}`);
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`spiral: classes must be an integer >= 1, got ${k}`);
  const d = 2;
  const n = m * k;
  const X = new Float64Array(n * d);
  const y = new Int32Array(n);
  for (let j = 0; j < k; j++) {
    for (let p = 0; p < m; p++) {
      const row = j * m + p;
      const r = p / (m - 1);
      const t = 4 * j + (4 * p) / (m - 1) + noise * randn();
      X[row * d] = r * Math.sin(t);
      X[row * d + 1] = r * Math.cos(t);
      y[row] = j;
    }
  }
  return { X, y, n, d, k };
}
