// The GMM objective and its gradient written by hand over Float64Array, the baseline tsgrad's
// generated gradient (gmm.ts) is checked and timed against. Derived from OBJECTIVES.md §2.3 and
// §2.5, with c = x_i − μ_k, y = Q_k c and r_ik = exp(β_ik − LSE_k β_ik) (the responsibilities):
//
//   ∂E/∂α_k  = Σ_i r_ik − n·softmax(α)_k
//   ∂E/∂μ_k  = Σ_i r_ik · Q_kᵀ y
//   ∂E/∂q_kj = Σ_i r_ik · (1 − exp(q_kj)·c_j·y_j) + γ²·exp(q_kj)² − m
//   ∂E/∂Q_k[b, a] (b > a, the l entry there) = −Σ_i r_ik · c_a·y_b + γ²·Q_k[b, a]
//
// One pass over the points: for each point, c, y and β for every component (kept in the
// workspace), the log-sum-exp, then each component's terms weighted by r_ik. The strict lower
// triangle is walked column by column, the order l_k is stored in, for y = Q c (a column adds
// l·c_a into the rows below it) and for Qᵀ y (a column's entries dotted with y below it).
// Nothing is allocated per call: the workspace is made once per (d, K), the gradient goes into
// the caller's buffer.

import { gmmConstant } from "./gmm.js";

/** Per-point scratch and per-call precomputations for dimension d and K components. */
export interface GmmWorkspace {
  readonly d: number;
  readonly K: number;
  /** K × d: exp(q_kj), Q_k's diagonal. */
  readonly diagonal: Float64Array;
  /** K: Σ_j q_kj. */
  readonly sumQ: Float64Array;
  /** K × d: c = x_i − μ_k for the current point. */
  readonly centered: Float64Array;
  /** K × d: y = Q_k c for the current point. */
  readonly y: Float64Array;
  /** K: β_ik for the current point, then r_ik. */
  readonly beta: Float64Array;
}

export function makeGmmWorkspace(d: number, K: number): GmmWorkspace {
  return {
    d,
    K,
    diagonal: new Float64Array(K * d),
    sumQ: new Float64Array(K),
    centered: new Float64Array(K * d),
    y: new Float64Array(K * d),
    beta: new Float64Array(K),
  };
}

/** exp(q_kj) and Σ_j q_kj for every component. */
function precompute(icf: Float64Array, ws: GmmWorkspace): void {
  const { d, K, diagonal, sumQ } = ws;
  const icfSize = (d * (d + 1)) / 2;
  for (let k = 0; k < K; k++) {
    let s = 0;
    for (let j = 0; j < d; j++) {
      const q = icf[k * icfSize + j];
      diagonal[k * d + j] = Math.exp(q);
      s += q;
    }
    sumQ[k] = s;
  }
}

/** β_ik for every k into ws.beta (with c and y into ws.centered and ws.y); returns LSE_k β_ik. */
function pointBetas(
  alphas: Float64Array,
  means: Float64Array,
  icf: Float64Array,
  x: Float64Array,
  xi: number,
  ws: GmmWorkspace,
): number {
  const { d, K, diagonal, sumQ, centered: c, y, beta } = ws;
  const icfSize = (d * (d + 1)) / 2;
  let top = -Infinity;
  for (let k = 0; k < K; k++) {
    const o = k * d;
    for (let j = 0; j < d; j++) {
      c[o + j] = x[xi + j] - means[o + j];
      y[o + j] = diagonal[o + j] * c[o + j];
    }
    // y += (strict lower triangle) · c, column by column
    let t = k * icfSize + d;
    for (let a = 0; a < d; a++) {
      const ca = c[o + a];
      for (let b = a + 1; b < d; b++) y[o + b] += icf[t++] * ca;
    }
    let sq = 0;
    for (let j = 0; j < d; j++) sq += y[o + j] * y[o + j];
    const bk = alphas[k] + sumQ[k] - 0.5 * sq;
    beta[k] = bk;
    if (bk > top) top = bk;
  }
  let s = 0;
  for (let k = 0; k < K; k++) s += Math.exp(beta[k] - top);
  return top + Math.log(s);
}

/** LSE(α). */
function logSumExp(alphas: Float64Array, K: number): number {
  let top = -Infinity;
  for (let k = 0; k < K; k++) if (alphas[k] > top) top = alphas[k];
  let s = 0;
  for (let k = 0; k < K; k++) s += Math.exp(alphas[k] - top);
  return top + Math.log(s);
}

/** The prior's parameter-dependent part: Σ_k (γ²/2)‖Q_k‖²_F − m·Σ_j q_kj (needs `precompute`). */
function priorTerm(icf: Float64Array, gamma: number, m: number, ws: GmmWorkspace): number {
  const { d, K, diagonal, sumQ } = ws;
  const icfSize = (d * (d + 1)) / 2;
  let prior = 0;
  for (let k = 0; k < K; k++) {
    let squares = 0;
    for (let j = 0; j < d; j++) squares += diagonal[k * d + j] * diagonal[k * d + j];
    for (let t = k * icfSize + d; t < (k + 1) * icfSize; t++) squares += icf[t] * icf[t];
    prior += 0.5 * gamma * gamma * squares - m * sumQ[k];
  }
  return prior;
}

/** E, computed as ADBench's C++ objective does (exp(q) once per component, not per point). */
export function gmmObjectiveHand(
  alphas: Float64Array,
  means: Float64Array,
  icf: Float64Array,
  x: Float64Array,
  d: number,
  K: number,
  n: number,
  wishartGamma: number,
  wishartM: number,
  ws: GmmWorkspace,
): number {
  precompute(icf, ws);
  const stored = x.length / d;
  let sumLse = 0;
  for (let i = 0; i < n; i++) sumLse += pointBetas(alphas, means, icf, x, (i % stored) * d, ws);
  return (
    gmmConstant(d, K, n, wishartGamma, wishartM) +
    sumLse -
    n * logSumExp(alphas, K) +
    priorTerm(icf, wishartGamma, wishartM, ws)
  );
}

/**
 * ∇E into `out` in ADBench's layout [alphas (K) | means (K·d) | icf (K·d(d+1)/2)]; returns E.
 * Allocates nothing.
 */
export function gmmGradientHand(
  alphas: Float64Array,
  means: Float64Array,
  icf: Float64Array,
  x: Float64Array,
  d: number,
  K: number,
  n: number,
  wishartGamma: number,
  wishartM: number,
  ws: GmmWorkspace,
  out: Float64Array,
): number {
  const icfSize = (d * (d + 1)) / 2;
  const dMeans = K; // where each block starts in out
  const dIcf = K + K * d;
  out.fill(0);
  precompute(icf, ws);
  const { diagonal, centered: c, y, beta } = ws;
  const stored = x.length / d;
  let sumLse = 0;
  for (let i = 0; i < n; i++) {
    const lse = pointBetas(alphas, means, icf, x, (i % stored) * d, ws);
    sumLse += lse;
    for (let k = 0; k < K; k++) {
      const r = Math.exp(beta[k] - lse); // responsibility r_ik
      out[k] += r;
      const o = k * d;
      const qk = dIcf + k * icfSize;
      let t = k * icfSize + d; // l_k's column a starts at t, in icf and (shifted by dIcf) in out
      for (let a = 0; a < d; a++) {
        const ca = c[o + a];
        const ya = y[o + a];
        const rca = r * ca;
        let z = diagonal[o + a] * ya; // (Qᵀ y)_a
        out[qk + a] += r * (1 - diagonal[o + a] * ca * ya);
        for (let b = a + 1; b < d; b++, t++) {
          const yb = y[o + b];
          z += icf[t] * yb;
          out[dIcf + t] -= rca * yb;
        }
        out[dMeans + o + a] += r * z;
      }
    }
  }
  // −n·LSE(α)
  const lseAlpha = logSumExp(alphas, K);
  for (let k = 0; k < K; k++) out[k] -= n * Math.exp(alphas[k] - lseAlpha);
  // the prior
  const g2 = wishartGamma * wishartGamma;
  for (let k = 0; k < K; k++) {
    for (let j = 0; j < d; j++) {
      const e = diagonal[k * d + j];
      out[dIcf + k * icfSize + j] += g2 * e * e - wishartM;
    }
    for (let t = k * icfSize + d; t < (k + 1) * icfSize; t++) out[dIcf + t] += g2 * icf[t];
  }
  return (
    gmmConstant(d, K, n, wishartGamma, wishartM) + sumLse - n * lseAlpha + priorTerm(icf, wishartGamma, wishartM, ws)
  );
}
