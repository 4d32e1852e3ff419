// The ADBench GMM objective (data/adbench/OBJECTIVES.md, section 2), written as one
// @differentiable function for tsgrad: its gradient, gmmObjective_grad, is generated.
//
//   E = −(n·d/2)·log 2π + Σ_i LSE_k(β_ik) − n·LSE_k(α_k) + Σ_k [(γ²/2)(Σ_j exp(q_kj)² + Σ_t l_kt²) − m·Σ_j q_kj] − K·C
//   β_ik = α_k + Σ_j q_kj − ½‖Q_k (x_i − μ_k)‖²
//
// Q_k is lower triangular with diagonal exp(q_kj) and the l_k below it; LSE is log-sum-exp.
// The diagonals and Σ_j q_kj are computed once, into local arrays. Q_k (x_i − μ_k) is never
// formed: each of its rows is a scalar sum, squared and added into ‖·‖² as soon as it is known
// (an array rewritten for every point would have its reads saved for the backward pass, where a
// scalar row costs one saved number).
//
//   gmmObjective(g.alphas, g.means, g.icf, g.x, g.d, g.K, g.n, g.wishartGamma, g.wishartM)
//   gmmGradient(g) → Float64Array in ADBench's order [alphas | means | icf]

import { grad, stopGradient } from "tsgrad";
import type { GmmInput } from "./io.js";

/** π as ADBench's C++ code writes it (`3.14159265359`); its references use this value. */
export const ADBENCH_PI = 3.14159265359;

/**
 * E, with the arrays laid out as in `GmmInput` (io.ts); x is data (its gradient goes unused).
 * @differentiable
 */
export function gmmObjective(
  alphas: Float64Array,
  means: Float64Array,
  icf: Float64Array,
  x: Float64Array,
  d: number,
  K: number,
  n: number,
  wishartGamma: number,
  wishartM: number,
): number {
  const icfSize = (d * (d + 1)) / 2;
  const stored = x.length / d; // n points, or one that stands for all n (the 2.5M files)

  // Q_k's diagonal exp(q_kj), and Σ_j q_kj, for every component.
  const diagonal = new Float64Array(K * d);
  const sumQ = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    for (let j = 0; j < d; j++) {
      diagonal[k * d + j] = Math.exp(icf[k * icfSize + j]);
      sumQ[k] += icf[k * icfSize + j];
    }
  }

  // Σ_i LSE_k(β_ik): for each point, log-sum-exp over the components in one pass, keeping the
  // largest β so far (top) and Σ exp(β − top), rescaled when a larger β comes.
  let sumLse = 0;
  for (let i = 0; i < n; i++) {
    const xi = (i % stored) * d; // where point i starts in x
    let top = 0;
    let sumExp = 0;
    for (let k = 0; k < K; k++) {
      const lk = k * icfSize + d; // where l_k starts in icf
      let sqnorm = 0; // ‖Q_k (x_i − μ_k)‖², one row at a time
      for (let j = 0; j < d; j++) {
        // Row j of Q_k (x_i − μ_k): exp(q_kj)·(x_ij − μ_kj) + Σ_{a<j} Q_k[j, a]·(x_ia − μ_ka).
        // Q_k[j, a] is l_k entry a·(2d − 3 − a)/2 + j − 1 (column-major, below the diagonal).
        let row = diagonal[k * d + j] * (x[xi + j] - means[k * d + j]);
        for (let a = 0; a < j; a++) {
          row += icf[lk + (a * (2 * d - 3 - a)) / 2 + j - 1] * (x[xi + a] - means[k * d + a]);
        }
        sqnorm += row * row;
      }
      const beta = alphas[k] + sumQ[k] - 0.5 * sqnorm;
      if (k === 0) {
        top = beta;
        sumExp = 1;
      } else if (beta > top) {
        sumExp = sumExp * Math.exp(top - beta) + 1;
        top = beta;
      } else {
        sumExp += Math.exp(beta - top);
      }
    }
    sumLse += top + Math.log(sumExp);
  }

  // LSE_k(α_k), shifted by the largest α.
  let alphaMax = alphas[0];
  for (let k = 1; k < K; k++) alphaMax = Math.max(alphaMax, alphas[k]);
  let alphaSumExp = 0;
  for (let k = 0; k < K; k++) alphaSumExp += Math.exp(alphas[k] - alphaMax);
  const lseAlpha = alphaMax + Math.log(alphaSumExp);

  // The Wishart prior's terms that depend on the parameters.
  let prior = 0;
  for (let k = 0; k < K; k++) {
    let squares = 0; // Σ_j exp(q_kj)² + Σ_t l_kt², Q_k's squared Frobenius norm
    for (let j = 0; j < d; j++) squares += diagonal[k * d + j] * diagonal[k * d + j];
    for (let t = 0; t < icfSize - d; t++) squares += icf[k * icfSize + d + t] * icf[k * icfSize + d + t];
    prior += 0.5 * wishartGamma * wishartGamma * squares - wishartM * sumQ[k];
  }

  const constant = stopGradient(gmmConstant(d, K, n, wishartGamma, wishartM));
  return constant + sumLse - n * lseAlpha + prior;
}

/**
 * The terms of E that depend on no parameter: −(n·d/2)·log 2π − K·C, with
 * C = N·d·(log γ − ½ log 2) − log Γ_d(N/2), N = d + m + 1, and ADBench's π.
 */
export function gmmConstant(d: number, K: number, n: number, wishartGamma: number, wishartM: number): number {
  const N = d + wishartM + 1;
  const C = N * d * (Math.log(wishartGamma) - 0.5 * Math.log(2)) - logMultiGamma(N / 2, d);
  return -((n * d) / 2) * Math.log(2 * ADBENCH_PI) - K * C;
}

/** log Γ_d(a) = (d(d−1)/4)·log π + Σ_{j=1..d} log Γ(a + (1 − j)/2), with ADBench's π. */
export function logMultiGamma(a: number, d: number): number {
  let sum = ((d * (d - 1)) / 4) * Math.log(ADBENCH_PI);
  for (let j = 1; j <= d; j++) sum += logGammaHalfInteger(a + (1 - j) / 2);
  return sum;
}

/**
 * log Γ(z) for z a positive multiple of ½, exactly as a sum of logs (the Wishart constant only
 * needs these): Γ(z) = (z − 1)(z − 2)···(1 or ½), times √π when z is a half-integer.
 */
export function logGammaHalfInteger(z: number): number {
  if (!(z > 0 && Number.isInteger(2 * z)))
    throw new RangeError(`logGammaHalfInteger: ${z} is not a positive multiple of 1/2`);
  let sum = Number.isInteger(z) ? 0 : 0.5 * Math.log(Math.PI); // Γ(1) = 1, Γ(½) = √π
  for (let t = z - 1; t > 0; t--) sum += Math.log(t); // (z−1)···2·1 or (z−1)···(3/2)·(1/2)
  return sum;
}

/** E for an instance read by `readGmm`. */
export function gmmValue(g: GmmInput): number {
  return gmmObjective(g.alphas, g.means, g.icf, g.x, g.d, g.K, g.n, g.wishartGamma, g.wishartM);
}

/** ∇E in ADBench's layout: [∂E/∂alphas (K) | ∂E/∂means (K·d) | ∂E/∂icf (K·d(d+1)/2)]. */
export function gmmGradient(g: GmmInput): Float64Array {
  const [dalphas, dmeans, dicf] = grad(gmmObjective)(
    g.alphas,
    g.means,
    g.icf,
    g.x,
    g.d,
    g.K,
    g.n,
    g.wishartGamma,
    g.wishartM,
  );
  const out = new Float64Array(dalphas.length + dmeans.length + dicf.length);
  out.set(dalphas, 0);
  out.set(dmeans, dalphas.length);
  out.set(dicf, dalphas.length + dmeans.length);
  return out;
}
