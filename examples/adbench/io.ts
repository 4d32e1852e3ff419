// Readers for the ADBench GMM and BA data files and for the reference outputs beside them
// (data/adbench/, described in its README.md). Plain TypeScript over node:fs; nothing here is
// differentiated.
//
//   readGmm("gmm/1k/gmm_d2_K5.txt")   → { d: 2, K: 5, n: 1000, alphas, means, icf, x, wishartGamma, wishartM }
//   readBa("ba/ba1_n49_m7776_p31843.txt") → { n: 49, m: 7776, p: 31843, cams, points, weights, features, camIndex, pointIndex }
//   readGmmReference("reference/gmm/1k/gmm_d2_K5")    → { objective, gradient }
//   readBaReference("reference/ba/ba_block_Manual.txt") → { residual: [ex, ey], weightError, block, weightErrorGrad }

import { readFileSync } from "node:fs";

/** Every whitespace-separated number in a file, in order. */
export function readNumbers(path: string): Float64Array {
  const words = readFileSync(path, "utf8").trim().split(/\s+/);
  const numbers = new Float64Array(words.length);
  words.forEach((word, i) => {
    const v = Number(word);
    if (!Number.isFinite(v)) throw new Error(`${path}: "${word}" (number ${i + 1}) is not a number`);
    numbers[i] = v;
  });
  return numbers;
}

/** A reader over a file's numbers that says which file and what was expected when it runs short. */
class NumberReader {
  private next = 0;
  constructor(
    private readonly numbers: Float64Array,
    private readonly path: string,
  ) {}

  get remaining(): number {
    return this.numbers.length - this.next;
  }

  integer(what: string): number {
    const v = this.take(1, what)[0];
    if (!Number.isInteger(v) || v < 0) throw new Error(`${this.path}: ${what} should be a count, got ${v}`);
    return v;
  }

  take(count: number, what: string): Float64Array {
    if (count > this.remaining)
      throw new Error(`${this.path}: file ends before ${what} (${count} numbers, ${this.remaining} left)`);
    const out = this.numbers.slice(this.next, this.next + count);
    this.next += count;
    return out;
  }
}

/** A GMM instance. Arrays are row-major: `means[k * d + j]`, `icf[k * icfSize + t]`, `x[i * d + j]`. */
export interface GmmInput {
  /** Dimension. */
  d: number;
  /** Number of mixture components. */
  K: number;
  /** Number of data points the objective sums over. */
  n: number;
  /** K unnormalised log mixture weights. */
  alphas: Float64Array;
  /** K × d: the component means μ_k. */
  means: Float64Array;
  /**
   * K × d(d+1)/2: per component, the d logs of Q_k's diagonal, then its strict lower triangle
   * column by column (column 0 rows 1..d-1, then column 1 rows 2..d-1, ...).
   */
  icf: Float64Array;
  /**
   * The stored points, row-major, d numbers each: n of them, or a single one for the 2.5M files,
   * whose one point stands for all n. Point i is row `i % (x.length / d)`.
   */
  x: Float64Array;
  /** Wishart prior γ and m (1 and 0 in every ADBench file). */
  wishartGamma: number;
  wishartM: number;
}

/** Number of icf entries per component: d logs of the diagonal and d(d-1)/2 below it. */
export const icfSize = (d: number) => (d * (d + 1)) / 2;

/**
 * Reads a GMM file: `d K n`, K alphas, K means, K icf rows, the points, `gamma m`.
 * A file holding one point where n > 1 is a "replicate point" instance (the 2.5M files): `x` then
 * holds that one point and the objective uses it for every i < n.
 */
export function readGmm(path: string): GmmInput {
  const numbers = readNumbers(path);
  const r = new NumberReader(numbers, path);
  const d = r.integer("d");
  const K = r.integer("K");
  const n = r.integer("n");
  const alphas = r.take(K, "alphas");
  const means = r.take(K * d, "means");
  const icf = r.take(K * icfSize(d), "icf");
  const pointNumbers = r.remaining - 2;
  const stored = pointNumbers / d;
  if (stored !== n && !(stored === 1 && n > 1)) {
    throw new Error(
      `${path}: ${pointNumbers} numbers for the points, expected ${n * d} (n = ${n}, d = ${d}) or ${d} (one replicated point)`,
    );
  }
  const x = r.take(pointNumbers, "points");
  const [wishartGamma, wishartM] = r.take(2, "gamma and m");
  return { d, K, n, alphas, means, icf, x, wishartGamma, wishartM };
}

/** A reference objective and gradient (ADBench's layout: alphas, then means, then icf). */
export interface GmmReference {
  objective: number;
  gradient: Float64Array;
}

/**
 * Reads `<base>_F_Manual.txt` and `<base>_J_Manual.txt`, e.g. base
 * ".../reference/gmm/1k/gmm_d2_K5" or ".../reference/gmm/gmm_test".
 */
export function readGmmReference(base: string): GmmReference {
  const [objective] = readNumbers(`${base}_F_Manual.txt`);
  return { objective, gradient: readNumbers(`${base}_J_Manual.txt`) };
}

/**
 * A BA instance, expanded as ADBench expands it: camera `i mod n` and point `i mod m` for
 * observation i, every camera, point, weight and feature a copy of the file's one.
 */
export interface BaInput {
  /** Cameras, points, observations. */
  n: number;
  m: number;
  p: number;
  /** n × 11: r1 r2 r3 (Rodrigues), C1 C2 C3 (centre), f, u0 v0 (principal point), k1 k2 (distortion). */
  cams: Float64Array;
  /** m × 3. */
  points: Float64Array;
  /** p weights. */
  weights: Float64Array;
  /** p × 2: the observed pixel of each observation. */
  features: Float64Array;
  /** For each observation, its camera and its point. */
  camIndex: Int32Array;
  pointIndex: Int32Array;
}

/** Number of parameters of one camera. */
export const BA_CAMERA_SIZE = 11;

/** Reads a BA file: `n m p`, one camera, one point, one weight, one feature; expands it to n, m, p. */
export function readBa(path: string): BaInput {
  const r = new NumberReader(readNumbers(path), path);
  const n = r.integer("n");
  const m = r.integer("m");
  const p = r.integer("p");
  const cam = r.take(BA_CAMERA_SIZE, "the camera");
  const point = r.take(3, "the point");
  const [weight] = r.take(1, "the weight");
  const feature = r.take(2, "the feature");
  if (r.remaining !== 0) throw new Error(`${path}: ${r.remaining} numbers after the feature`);
  const cams = new Float64Array(BA_CAMERA_SIZE * n);
  for (let c = 0; c < n; c++) cams.set(cam, BA_CAMERA_SIZE * c);
  const points = new Float64Array(3 * m);
  for (let j = 0; j < m; j++) points.set(point, 3 * j);
  const features = new Float64Array(2 * p);
  for (let i = 0; i < p; i++) features.set(feature, 2 * i);
  const camIndex = Int32Array.from({ length: p }, (_, i) => i % n);
  const pointIndex = Int32Array.from({ length: p }, (_, i) => i % m);
  return { n, m, p, cams, points, weights: new Float64Array(p).fill(weight), features, camIndex, pointIndex };
}

/** The residuals and 2×15 Jacobian block of one observation (every observation's, in ADBench's files). */
export interface BaReference {
  /** The weighted reprojection error w·(proj − feature). */
  residual: [number, number];
  /** 1 − w². */
  weightError: number;
  /** Rows e_x and e_y; columns: 11 camera parameters, 3 point coordinates, the weight. */
  block: [Float64Array, Float64Array];
  /** d(1 − w²)/dw = −2w. */
  weightErrorGrad: number;
}

/** Reads `ba_block_Manual.txt` or `ba_test_block_Manual.txt`: 3 + 15 + 15 + 1 numbers. */
export function readBaReference(path: string): BaReference {
  const r = new NumberReader(readNumbers(path), path);
  const [ex, ey, weightError] = r.take(3, "the residuals");
  const block: [Float64Array, Float64Array] = [r.take(15, "the e_x row"), r.take(15, "the e_y row")];
  const [weightErrorGrad] = r.take(1, "d(w_err)/dw");
  return { residual: [ex, ey], weightError, block, weightErrorGrad };
}

/** ADBench's comparison measure, |x − y| / max(1, |x| + |y|). */
export function adbenchError(x: number, y: number): number {
  return Math.abs(x - y) / Math.max(1, Math.abs(x) + Math.abs(y));
}

/** The largest ADBench error over two arrays of the same length, and where it is. */
export function maxAdbenchError(xs: ArrayLike<number>, ys: ArrayLike<number>): { error: number; index: number } {
  if (xs.length !== ys.length) throw new Error(`lengths differ: ${xs.length} and ${ys.length}`);
  let error = 0;
  let index = -1;
  for (let i = 0; i < xs.length; i++) {
    const e = adbenchError(xs[i], ys[i]);
    if (Number.isNaN(e)) return { error: Infinity, index: i }; // NaN is the worst
    if (e > error) [error, index] = [e, i];
  }
  return { error, index };
}
