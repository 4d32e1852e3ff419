// tsgrad gradient check: compares a gradient (generated or hand-written) with finite differences,
// the "gradient check" of the CS231n notes. It is a testing tool, slow by design (two calls of `f`
// per scalar input), and never used by generated code.
//
//   numericGrad(f, [3, -4])                      → [dx, dy] by central differences
//   checkGradient(f, [3, -4], grad(f)(3, -4))    → { ok, maxRelativeError, entries }
//
// Only `number` parameters are supported for now. The result types already follow `Grads<P>`
// (gradients mirror their parameters), so number[] / Float64Array parameters can be added inside
// `numericParam` later without changing this API.

import type { Grads, ScalarFunction } from "./index.js";

export interface NumericGradOptions {
  /** Step of the central difference. Default 1e-5, as in the CS231n notes. */
  h?: number;
}

export interface CheckGradientOptions extends NumericGradOptions {
  /**
   * Largest relative error still accepted. Default 1e-6: CS231n suggests < 1e-7 is good and
   * > 1e-4 is suspicious; 1e-6 leaves room for the O(h²) truncation error of curved functions.
   */
  tolerance?: number;
}

/** One compared scalar: parameter `index`, its analytic and numeric derivative, their relative error. */
export interface GradientCheckEntry {
  index: number;
  analytic: number;
  numeric: number;
  relativeError: number;
}

export interface GradientCheckResult {
  /** True when every entry's relative error is ≤ tolerance (false if any is NaN). */
  ok: boolean;
  /** The largest relative error over all entries (NaN if any entry is NaN, 0 if there are none). */
  maxRelativeError: number;
  entries: GradientCheckEntry[];
}

/**
 * Central differences, one per parameter: (f(.., x+h, ..) - f(.., x-h, ..)) / 2h.
 *   numericGrad((x, y) => x * y, [3, -4]) → [-4, 3] (up to ~1e-10)
 * Central (not forward) differences because their error is O(h²) instead of O(h).
 * `args` is not modified.
 */
export function numericGrad<F extends ScalarFunction>(
  f: F,
  args: Parameters<F>,
  options: NumericGradOptions = {},
): Grads<Parameters<F>> {
  const h = options.h ?? 1e-5;
  if (!(h > 0 && Number.isFinite(h))) throw new RangeError(`tsgrad: numericGrad needs a finite h > 0, got ${h}`);
  return args.map((_, i) => numericParam(f, args, i, h)) as Grads<Parameters<F>>;
}

/** The numeric gradient on parameter i; the one place a new parameter kind would be added. */
function numericParam(f: ScalarFunction, args: readonly unknown[], i: number, h: number): number {
  const x = args[i];
  if (typeof x !== "number") {
    throw new TypeError(`tsgrad: numericGrad supports number parameters only; parameter ${i} is ${describe(x)}`);
  }
  // Evaluate on a copy so the caller's array is never touched: [3, -4] → [3 + h, -4], [3 - h, -4].
  const at = (xi: number) => {
    const moved = args.slice();
    moved[i] = xi;
    return f(...moved);
  };
  return (at(x + h) - at(x - h)) / (2 * h);
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array";
  if (ArrayBuffer.isView(x)) return `a ${x.constructor.name}`;
  return `a ${typeof x}`;
}

/**
 * Relative error |a - n| / max(1e-8, |a| + |n|).
 *   (1, 1) → 0;  (1, 1.001) → ~5e-4;  (0, 0) → 0;  (1e-12, 0) → 1e-4 (the floor keeps tiny values from blowing up)
 * Relative rather than absolute, because a gradient of 1e4 and one of 1e-4 need the same scrutiny;
 * the sum in the denominator makes it symmetric and bounded by 1; the 1e-8 floor avoids 0/0.
 */
export function relativeError(analytic: number, numeric: number): number {
  return Math.abs(analytic - numeric) / Math.max(1e-8, Math.abs(analytic) + Math.abs(numeric));
}

/**
 * Compares `analytic` (one gradient per parameter, e.g. `grad(f)(...args)`) with `numericGrad(f, args)`.
 *   checkGradient((x, y) => x * y, [3, -4], [-4, 3]) → { ok: true, maxRelativeError: ~1e-11, entries: [...] }
 * Returns a report instead of throwing, so a test can print the entries that disagree.
 */
export function checkGradient<F extends ScalarFunction>(
  f: F,
  args: Parameters<F>,
  analytic: Grads<Parameters<F>>,
  options: CheckGradientOptions = {},
): GradientCheckResult {
  const tolerance = options.tolerance ?? 1e-6;
  const given = analytic as readonly unknown[];
  if (given.length !== args.length) {
    throw new RangeError(`tsgrad: checkGradient got ${given.length} analytic gradient(s) for ${args.length} parameter(s)`);
  }
  const numeric = numericGrad(f, args, options) as readonly number[];
  const entries = numeric.map((n, index): GradientCheckEntry => {
    const a = given[index];
    if (typeof a !== "number") throw new TypeError(`tsgrad: analytic gradient ${index} is ${describe(a)}, expected a number`);
    return { index, analytic: a, numeric: n, relativeError: relativeError(a, n) };
  });
  // Math.max propagates NaN, and `NaN <= tolerance` is false: a NaN gradient never passes.
  const maxRelativeError = entries.reduce((m, e) => Math.max(m, e.relativeError), 0);
  return { ok: entries.every((e) => e.relativeError <= tolerance), maxRelativeError, entries };
}
