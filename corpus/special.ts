// Special functions in the styles of jStat, stdlib-js and cephes ports: coefficient tables at
// module level, Horner and Chebyshev loops, reflection and recurrence, series with a tolerance.

import type { Cases } from "./cases.js";

const LANCZOS_G = 7;
const LANCZOS_COEFFS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
const LN_SQRT_2PI = 0.9189385332046728;
const SQRT_2PI = 2.5066282746310002;
const EPS = Number.EPSILON;
const FPMIN = Number.MIN_VALUE / EPS;

// style: jStat (var, chained assignment inside an expression, pre-increment in a division, table in the function)
/** @differentiable */
export function gammaln(x: number): number {
  var j = 0;
  var cof = [
    76.18009172947146, -86.50532032941677, 24.01409824083091, -1.231739572450155, 0.1208650973866179e-2,
    -0.5395239384953e-5,
  ];
  var ser = 1.000000000190015;
  var xx, y, tmp;
  tmp = (y = xx = x) + 5.5;
  tmp -= (xx + 0.5) * Math.log(tmp);
  for (; j < 6; j++) ser += cof[j] / ++y;
  return Math.log((2.5066282746310005 * ser) / xx) - tmp;
}

// style: stdlib-js (module-level Lanczos table, reflection by recursion for x < 0.5, reassigned parameter)
/** @differentiable */
export function gamma(x: number): number {
  if (x < 0.5) {
    return Math.PI / (Math.sin(Math.PI * x) * gamma(1 - x));
  }
  x -= 1;
  let a = LANCZOS_COEFFS[0];
  const t = x + LANCZOS_G + 0.5;
  for (let i = 1; i < LANCZOS_G + 2; i++) {
    a += LANCZOS_COEFFS[i] / (x + i);
  }
  return SQRT_2PI * Math.pow(t, x + 0.5) * Math.exp(-t) * a;
}

// style: stdlib-js (log form of Lanczos, named constant LN_SQRT_2PI, NaN sentinel via x !== x)
/** @differentiable */
export function lgamma(x: number): number {
  if (x !== x || x <= 0) {
    return NaN;
  }
  let sum = LANCZOS_COEFFS[0];
  for (let k = 1; k < LANCZOS_COEFFS.length; k++) {
    sum += LANCZOS_COEFFS[k] / (x - 1 + k);
  }
  const t = x - 0.5 + LANCZOS_G;
  return LN_SQRT_2PI + (x - 0.5) * Math.log(t) - t + Math.log(sum);
}

// style: one-file erf npm packages, an Abramowitz-Stegun 7.1.26 port (sign extraction, reassigned parameter, nested Horner)
/** @differentiable */
export function erf(x: number): number {
  const a1 = 0.254829592;
  const a2 = -0.284496736;
  const a3 = 1.421413741;
  const a4 = -1.453152027;
  const a5 = 1.061405429;
  const p = 0.3275911;
  const sign = x < 0 ? -1 : 1;
  x = Math.abs(x);
  const t = 1.0 / (1.0 + p * x);
  const y = 1.0 - ((((a5 * t + a4) * t + a3) * t + a2) * t + a1) * t * Math.exp(-x * x);
  return sign * y;
}

const ERFC_COEF = [
  -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223,
  0.17087277,
];

// style: Numerical Recipes port (module-level coefficient table, Horner loop running down, symmetric branch)
/** @differentiable */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  let poly = 0;
  for (let i = ERFC_COEF.length - 1; i >= 0; i--) {
    poly = poly * t + ERFC_COEF[i];
  }
  const ans = t * Math.exp(-z * z + poly);
  return x >= 0 ? ans : 2 - ans;
}

// style: cephes (ndtr: a constant SQRTH, branch on |x| choosing erf or erfc, calls of other special functions)
/** @differentiable */
export function ndtr(a: number): number {
  const SQRTH = Math.SQRT1_2;
  const x = a * SQRTH;
  const z = Math.abs(x);
  let y;
  if (z < SQRTH) {
    y = 0.5 + 0.5 * erf(x);
  } else {
    y = 0.5 * erfc(z);
    if (x > 0) {
      y = 1 - y;
    }
  }
  return y;
}

// style: stdlib-js (digamma: NaN sentinels, reflection with tan, while loops shifting the parameter, asymptotic series)
/** @differentiable */
export function digamma(x: number): number {
  const MIN_SAFE_ASYMPTOTIC = 6;
  let result = 0;
  if (x !== x || x === 0) {
    return NaN;
  }
  if (x < 0) {
    if (Math.floor(x) === x) {
      return NaN;
    }
    result = -Math.PI / Math.tan(Math.PI * x);
    x = 1 - x;
  }
  while (x < MIN_SAFE_ASYMPTOTIC) {
    result -= 1 / x;
    x += 1;
  }
  const x2 = 1 / (x * x);
  result += Math.log(x) - 0.5 / x;
  result -= x2 * (1 / 12 - x2 * (1 / 120 - x2 * (1 / 252 - x2 * (1 / 240 - x2 * (1 / 132)))));
  return result;
}

// style: jStat (betafn: exp of a difference of log-gammas, early return for out-of-range inputs)
/** @differentiable */
export function betafn(a: number, b: number): number {
  if (a <= 0 || b <= 0) return NaN;
  return Math.exp(lgamma(a) + lgamma(b) - lgamma(a + b));
}

// style: Numerical Recipes port (gser: series with ITMAX, pre-increment statement, break on relative tolerance, throw)
/** @differentiable */
export function lowerRegularizedGamma(a: number, x: number): number {
  const ITMAX = 200;
  if (x <= 0) return 0;
  const gln = lgamma(a);
  let ap = a;
  let del = 1 / a;
  let total = del;
  for (let n = 1; n <= ITMAX; n++) {
    ++ap;
    del *= x / ap;
    total += del;
    if (Math.abs(del) < Math.abs(total) * EPS) {
      return total * Math.exp(-x + a * Math.log(x) - gln);
    }
  }
  throw new Error("lowerRegularizedGamma: a too large, ITMAX too small");
}

// style: Numerical Recipes port (betacf: modified Lentz continued fraction, FPMIN guards, var, break on convergence)
/** @differentiable */
export function betacf(x: number, a: number, b: number): number {
  var MAXIT = 300;
  var qab = a + b;
  var qap = a + 1;
  var qam = a - 1;
  var c = 1;
  var d = 1 - (qab * x) / qap;
  var m2, aa, del, h;
  if (Math.abs(d) < FPMIN) d = FPMIN;
  d = 1 / d;
  h = d;
  for (var m = 1; m <= MAXIT; m++) {
    m2 = 2 * m;
    aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 3e-16) break;
  }
  return h;
}

// style: jStat (ibeta: RangeError guard, symmetry branch choosing which continued fraction converges)
/** @differentiable */
export function ibeta(x: number, a: number, b: number): number {
  if (x < 0 || x > 1) {
    throw new RangeError("ibeta: x must be in [0, 1]");
  }
  const bt =
    x === 0 || x === 1 ? 0 : Math.exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * Math.log(x) + b * Math.log1p(-x));
  if (x < (a + 1) / (a + b + 2)) {
    return (bt * betacf(x, a, b)) / a;
  }
  return 1 - (bt * betacf(1 - x, b, a)) / b;
}

// style: Numerical Recipes port (bessj0: assignment inside the condition, two rational regimes, many var temporaries)
/** @differentiable */
export function besselJ0(x: number): number {
  var ax, z, xx, y, ans, ans1, ans2;
  if ((ax = Math.abs(x)) < 8.0) {
    y = x * x;
    ans1 =
      57568490574.0 +
      y * (-13362590354.0 + y * (651619640.7 + y * (-11214424.18 + y * (77392.33017 + y * -184.9052456))));
    ans2 = 57568490411.0 + y * (1029532985.0 + y * (9494680.718 + y * (59272.64853 + y * (267.8532712 + y * 1.0))));
    ans = ans1 / ans2;
  } else {
    z = 8.0 / ax;
    y = z * z;
    xx = ax - 0.785398164;
    ans1 = 1.0 + y * (-0.1098628627e-2 + y * (0.2734510407e-4 + y * (-0.2073370639e-5 + y * 0.2093887211e-6)));
    ans2 =
      -0.1562499995e-1 + y * (0.1430488765e-3 + y * (-0.6911147651e-5 + y * (0.7621095161e-6 - y * 0.934935152e-7)));
    ans = Math.sqrt(0.636619772 / ax) * (Math.cos(xx) * ans1 - z * Math.sin(xx) * ans2);
  }
  return ans;
}

// style: stdlib-js (sinc via a const alias of Math.sin, NaN check, early return at 0)
const sin = Math.sin;
/** @differentiable */
export function sinc(x: number): number {
  if (isNaN(x)) {
    return NaN;
  }
  if (x === 0.0) {
    return 1.0;
  }
  const px = Math.PI * x;
  return sin(px) / px;
}

// style: cephes (polevl: coefficients read with a post-increment index, do/while counting N down to zero)
/** @differentiable */
export function polevl(x: number, coef: readonly number[], N: number): number {
  var ans,
    i = 0;
  ans = coef[i++];
  do {
    ans = ans * x + coef[i++];
  } while (--N);
  return ans;
}

// style: cephes (powi: integer power by repeated multiplication, `while ((n -= 1) > 0)`, reciprocal for n < 0)
/** @differentiable */
export function powi(x: number, n: number): number {
  if (n === 0) return 1;
  const negative = n < 0;
  if (negative) n = -n;
  let y = x;
  while ((n -= 1) > 0) {
    y *= x;
  }
  return negative ? 1 / y : y;
}

export const cases: Cases = {
  gammaln: [[2.3], [0.7], [7.25]],
  gamma: [[2.3], [0.3], [4.6]],
  lgamma: [[2.3], [0.7], [11.5]],
  erf: [[0.4], [-1.3], [2.2]],
  erfc: [[0.4], [-1.3], [2.2]],
  ndtr: [[0.3], [-1.7], [2.4]],
  digamma: [[0.4], [-1.6], [3.3], [8.5]],
  betafn: [
    [1.5, 2.25],
    [0.7, 3.1],
  ],
  lowerRegularizedGamma: [
    [2.5, 1.75],
    [0.8, 0.3],
  ],
  betacf: [
    [0.3, 2.5, 3.5],
    [0.6, 1.2, 4.1],
  ],
  ibeta: [
    [0.3, 2.5, 3.5],
    [0.75, 1.2, 4.1],
  ],
  besselJ0: [[1.7], [-3.1], [10.4]],
  sinc: [[0.37], [-1.42]],
  polevl: [{ args: [0.7, [1.5, -2, 0.25, 3], 3], wrt: [0, 1] }],
  powi: [
    { args: [1.3, 5], wrt: [0] },
    { args: [0.8, -3], wrt: [0] },
  ],
};
