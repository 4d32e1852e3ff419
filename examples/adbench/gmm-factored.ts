// The ADBench GMM objective of gmm.ts, factored the way ADBench's reference implementations
// factor it: a per-point helper for the point's log-likelihood term over the components, which
// centers the point on each mean, multiplies by Q_k, takes the squared norm, and ends with a
// log-sum-exp over the components. The same function as gmm.ts's gmmObjective (the benchmark
// checks the value and the gradient against it); only the way it is written differs. The helpers
// are of both kinds tsgrad takes:
//
// - `subtract` and `qTimes` are unmarked and write into an array they are given: tsgrad inlines
//   them where they are called;
// - `pointLogLikelihood`, `logsumexp` and `sqnorm` are `@differentiable`, take arrays and return
//   a number: the caller's backward pass calls their pullbacks (but sqnorm's, see below).
//
// `sqnorm(qc)` is called on an array the loop around it rewrites for each component, so its
// pullback, run at the end, would read the last component's qc: tsgrad writes sqnorm out at that
// call instead (inlined, each read of qc kept as it was), as the README's "Arrays passed to
// helpers" says.
//
//   npx tsgrad print examples/adbench/gmm-factored.ts --fn gmmFactored

import { stopGradient } from "tsgrad";
import { gmmConstant } from "./gmm.js";

/** out = a[ao..ao+d) − b[bo..bo+d). */
function subtract(out: Float64Array, a: Float64Array, ao: number, b: Float64Array, bo: number): void {
  for (let j = 0; j < out.length; j++) out[j] = a[ao + j] - b[bo + j];
}

/**
 * out = Q·v for Q lower triangular with diagonal diag[dk..dk+d) and the entries below it,
 * column by column, in icf from lk.
 */
function qTimes(
  out: Float64Array,
  diag: Float64Array,
  dk: number,
  icf: Float64Array,
  lk: number,
  v: Float64Array,
): void {
  const d = v.length;
  for (let j = 0; j < d; j++) {
    let row = diag[dk + j] * v[j];
    for (let a = 0; a < j; a++) row += icf[lk + (a * (2 * d - 3 - a)) / 2 + j - 1] * v[a];
    out[j] = row;
  }
}

/** ‖v‖². */
/** @differentiable */
function sqnorm(v: Float64Array): number {
  let s = 0;
  for (let j = 0; j < v.length; j++) s += v[j] * v[j];
  return s;
}

/** log Σ exp(v[k]), shifted by the largest. */
/** @differentiable */
function logsumexp(v: Float64Array): number {
  let top = v[0];
  for (let k = 1; k < v.length; k++) top = Math.max(top, v[k]);
  let total = 0;
  for (let k = 0; k < v.length; k++) total += Math.exp(v[k] - top);
  return top + Math.log(total);
}

/** LSE_k(α_k + Σ_j q_kj − ½‖Q_k (x_i − μ_k)‖²) for the point at x[xi..xi+d). */
/** @differentiable */
function pointLogLikelihood(
  alphas: Float64Array,
  means: Float64Array,
  icf: Float64Array,
  diagonal: Float64Array,
  sumQ: Float64Array,
  x: Float64Array,
  xi: number,
  d: number,
): number {
  const K = alphas.length;
  const icfSize = (d * (d + 1)) / 2;
  const centered = new Float64Array(d);
  const qc = new Float64Array(d);
  const beta = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    subtract(centered, x, xi, means, k * d);
    qTimes(qc, diagonal, k * d, icf, k * icfSize + d, centered);
    beta[k] = alphas[k] + sumQ[k] - 0.5 * sqnorm(qc);
  }
  return logsumexp(beta);
}

/** E, as gmm.ts's gmmObjective computes it, with the same arguments: `gmmFactored_grad` is generated. */
/** @differentiable */
export function gmmFactored(
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
  const stored = x.length / d;

  const diagonal = new Float64Array(K * d);
  const sumQ = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    for (let j = 0; j < d; j++) {
      diagonal[k * d + j] = Math.exp(icf[k * icfSize + j]);
      sumQ[k] += icf[k * icfSize + j];
    }
  }

  let sumLse = 0;
  for (let i = 0; i < n; i++) sumLse += pointLogLikelihood(alphas, means, icf, diagonal, sumQ, x, (i % stored) * d, d);

  let prior = 0;
  for (let k = 0; k < K; k++) {
    let squares = 0;
    for (let j = 0; j < d; j++) squares += diagonal[k * d + j] * diagonal[k * d + j];
    for (let t = 0; t < icfSize - d; t++) squares += icf[k * icfSize + d + t] * icf[k * icfSize + d + t];
    prior += 0.5 * wishartGamma * wishartGamma * squares - wishartM * sumQ[k];
  }

  const constant = stopGradient(gmmConstant(d, K, n, wishartGamma, wishartM));
  return constant + sumLse - n * logsumexp(alphas) + prior;
}
