// Easing and interpolation in the styles of d3-ease, d3-interpolate, tween.js, Robert Penner's
// equations, bezier-easing and three.js: closures over parameters, assignments inside expressions,
// nested object-literal modules, a switch on a mode string.

import type { Cases } from "./cases.js";

// style: easings.net (a plain function of t)
/** @differentiable */
export function easeInQuad(t: number): number {
  return t * t;
}

// style: d3-ease (pre-decrement of the parameter inside the expression)
/** @differentiable */
export function cubicOut(t: number): number {
  return --t * t * t + 1;
}

// style: d3-ease (compound assignments inside a ternary's condition and branch)
/** @differentiable */
export function cubicInOut(t: number): number {
  return ((t *= 2) <= 1 ? t * t * t : (t -= 2) * t * t + 2) / 2;
}

// style: d3-ease (sinInOut with a module constant for pi)
const pi = Math.PI;
/** @differentiable */
export function sinInOut(t: number): number {
  return (1 - Math.cos(pi * t)) / 2;
}

function tpmt(x: number): number {
  return (Math.pow(2, -10 * x) - 0.0009765625) * 1.0009775171065494;
}

// style: d3-ease (an unmarked helper removing the 2^-10 offset, called from both halves; assignment in the condition)
/** @differentiable */
export function expInOut(t: number): number {
  return ((t *= 2) <= 1 ? tpmt(1 - t) : 2 - tpmt(t - 1)) / 2;
}

export function backIn(s = 1.70158) {
  // style: d3-ease (a closure over the overshoot, unary plus coercion assigned to the parameter)
  return /** @differentiable */ (t: number): number => (t = +t) * t * (s * (t - 1) + t);
}

const tau = 2 * Math.PI;
export function elasticOut(a = 1, p = 0.3) {
  const s = Math.asin(1 / (a = Math.max(1, a))) * (p /= tau);
  // style: d3-ease (elastic out: a closure over an amplitude the factory clamped in place, `(t = +t)` as an argument)
  return /** @differentiable */ function (t: number): number {
    return 1 - a * tpmt((t = +t)) * Math.sin((t + s) / p);
  };
}

// style: Robert Penner's equations (t, b, c, d arguments; `/=` inside the if condition; `-=` inside the product)
/** @differentiable */
export function easeInOutQuart(t: number, b: number, c: number, d: number): number {
  if ((t /= d / 2) < 1) return (c / 2) * t * t * t * t + b;
  return (-c / 2) * ((t -= 2) * t * t * t - 2) + b;
}

// style: tween.js (nested object-literal module Easing.Quadratic, pre-decrement inside an expression)
export const Easing = {
  Quadratic: {
    // style: tween.js (a member of a nested object-literal module)
    /** @differentiable */
    In(amount: number): number {
      return amount * amount;
    },
    // style: tween.js (`*=` inside the if condition, pre-decrement inside the product)
    /** @differentiable */
    InOut(amount: number): number {
      if ((amount *= 2) < 1) {
        return 0.5 * amount * amount;
      }
      return -0.5 * (--amount * (amount - 2) - 1);
    },
  },
};

// style: three.js MathUtils (one-line lerp)
/** @differentiable */
export function lerp(x: number, y: number, t: number): number {
  return (1 - t) * x + t * y;
}

// style: three.js MathUtils (smoothstep with early returns at the edges)
/** @differentiable */
export function smoothstep(x: number, min: number, max: number): number {
  if (x <= min) return 0;
  if (x >= max) return 1;
  x = (x - min) / (max - min);
  return x * x * (3 - 2 * x);
}

function clamp(value: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, value));
}

// style: three.js MathUtils, a GLSL port (an unmarked clamp helper, the parameter reassigned, smootherstep in Horner form)
/** @differentiable */
export function smootherstep(edge0: number, edge1: number, x: number): number {
  x = clamp((x - edge0) / (edge1 - edge0), 0, 1);
  return x * x * x * (x * (x * 6 - 15) + 10);
}

// style: three.js Interpolations (Catmull-Rom with named tangents and powers of t)
/** @differentiable */
export function catmullRom(t: number, p0: number, p1: number, p2: number, p3: number): number {
  const v0 = (p2 - p0) * 0.5;
  const v1 = (p3 - p1) * 0.5;
  const t2 = t * t;
  const t3 = t * t2;
  return (2 * p1 - 2 * p2 + v0 + v1) * t3 + (-3 * p1 + 3 * p2 - 2 * v0 - v1) * t2 + v0 * t + p1;
}

function cubicBezierP0(t: number, p: number): number {
  const k = 1 - t;
  return k * k * k * p;
}
function cubicBezierP1(t: number, p: number): number {
  const k = 1 - t;
  return 3 * k * k * t * p;
}
function cubicBezierP2(t: number, p: number): number {
  return 3 * (1 - t) * t * t * p;
}
function cubicBezierP3(t: number, p: number): number {
  return t * t * t * p;
}

// style: three.js Interpolations (cubic Bezier as a sum of unmarked Bernstein helper functions)
/** @differentiable */
export function cubicBezier(t: number, p0: number, p1: number, p2: number, p3: number): number {
  return cubicBezierP0(t, p0) + cubicBezierP1(t, p1) + cubicBezierP2(t, p2) + cubicBezierP3(t, p3);
}

function A(aA1: number, aA2: number): number {
  return 1.0 - 3.0 * aA2 + 3.0 * aA1;
}
function B(aA1: number, aA2: number): number {
  return 3.0 * aA2 - 6.0 * aA1;
}
function C(aA1: number): number {
  return 3.0 * aA1;
}
function calcBezier(aT: number, aA1: number, aA2: number): number {
  return ((A(aA1, aA2) * aT + B(aA1, aA2)) * aT + C(aA1)) * aT;
}
function getSlope(aT: number, aA1: number, aA2: number): number {
  return 3.0 * A(aA1, aA2) * aT * aT + 2.0 * B(aA1, aA2) * aT + C(aA1);
}

export function bezierEasing(mX1: number, mY1: number, mX2: number, mY2: number) {
  if (!(0 <= mX1 && mX1 <= 1 && 0 <= mX2 && mX2 <= 1)) {
    throw new Error("bezier x values must be in [0, 1] range");
  }
  // style: bezier-easing (a named closure over the control points: Newton iterations for t(x) with helpers A, B, C)
  return /** @differentiable */ function BezierEasing(x: number): number {
    if (x === 0 || x === 1) {
      return x;
    }
    let guessT = x;
    for (let i = 0; i < 4; ++i) {
      const currentSlope = getSlope(guessT, mX1, mX2);
      if (currentSlope === 0.0) break;
      const currentX = calcBezier(guessT, mX1, mX2) - x;
      guessT -= currentX / currentSlope;
    }
    return calcBezier(guessT, mY1, mY2);
  };
}

// style: d3-interpolate (basis spline: declarator list, powers of t as named temporaries)
/** @differentiable */
export function basis(t1: number, v0: number, v1: number, v2: number, v3: number): number {
  var t2 = t1 * t1,
    t3 = t2 * t1;
  return (
    ((1 - 3 * t1 + 3 * t2 - t3) * v0 + (4 - 6 * t2 + 3 * t3) * v1 + (1 + 3 * t1 + 3 * t2 - 3 * t3) * v2 + t3 * v3) / 6
  );
}

export function interpolateBasis(values: readonly number[]) {
  var n = values.length - 1;
  // style: d3-interpolate (interpolateBasis: a closure over the array, comma operator and assignments inside a ternary)
  return /** @differentiable */ function (t: number): number {
    var i = t <= 0 ? (t = 0) : t >= 1 ? ((t = 1), n - 1) : Math.floor(t * n),
      v1 = values[i],
      v2 = values[i + 1],
      v0 = i > 0 ? values[i - 1] : 2 * v1 - v2,
      v3 = i < n - 1 ? values[i + 2] : 2 * v2 - v1;
    return basis((t - i / n) * n, v0, v1, v2, v3);
  };
}

// style: popmotion / anime.js (switch on an easing name string, with a default that throws)
/** @differentiable */
export function ease(name: string, t: number): number {
  switch (name) {
    case "linear":
      return t;
    case "quadIn":
      return t * t;
    case "quadOut":
      return t * (2 - t);
    case "sineIn":
      return 1 - Math.cos((t * Math.PI) / 2);
    default:
      throw new Error(`unknown easing ${name}`);
  }
}

// style: tween.js (Interpolation.Linear over an array of stops: Math.floor index, clamping at both ends)
/** @differentiable */
export function linearInterpolation(v: readonly number[], k: number): number {
  const m = v.length - 1;
  const f = m * k;
  const i = Math.floor(f);
  if (k < 0) {
    return v[0] + (v[0] - v[1]) * f;
  }
  if (k > 1) {
    return v[m] + (v[m] - v[m - 1]) * (m - f);
  }
  return v[i] + (v[i + 1 > m ? m : i + 1] - v[i]) * (f - i);
}

export const cases: Cases = {
  easeInQuad: [[0.3], [0.85]],
  cubicOut: [[0.3], [0.85]],
  cubicInOut: [[0.3], [0.85]],
  sinInOut: [[0.3], [0.85]],
  expInOut: [[0.3], [0.85]],
  "backIn()": [
    { fn: backIn(), args: [0.3] },
    { fn: backIn(2.5), args: [0.7] },
  ],
  "elasticOut()": [
    { fn: elasticOut(), args: [0.3] },
    { fn: elasticOut(1.5, 0.45), args: [0.62] },
  ],
  easeInOutQuart: [
    [0.3, 1, 2.5, 1.2],
    [0.85, -1, 2.5, 1.2],
  ],
  "Easing.Quadratic.In": [[0.3]],
  "Easing.Quadratic.InOut": [[0.3], [0.85]],
  lerp: [[1.5, -2, 0.3]],
  smoothstep: [
    [0.3, 0.1, 0.9],
    [0.5, -1, 2],
  ],
  smootherstep: [
    [0.1, 0.9, 0.3],
    [-1, 2, 0.5],
  ],
  catmullRom: [[0.3, 1, 2, 0.5, -1]],
  cubicBezier: [[0.3, 0, 0.25, 0.75, 1]],
  "bezierEasing()": [
    { fn: bezierEasing(0.25, 0.1, 0.25, 1), args: [0.3] },
    { fn: bezierEasing(0.42, 0, 0.58, 1), args: [0.77] },
  ],
  basis: [[0.3, 0, 1, 0.5, 2]],
  "interpolateBasis()": [
    { fn: interpolateBasis([0, 1, 0.5, 2, 1.5]), args: [0.3] },
    { fn: interpolateBasis([0, 1, 0.5, 2, 1.5]), args: [0.6] },
  ],
  ease: [
    ["quadOut", 0.3],
    ["sineIn", 0.7],
  ],
  linearInterpolation: [
    [[0, 1, 0.5, 2], 0.3],
    [[0, 1, 0.5, 2], 0.6],
  ],
};
