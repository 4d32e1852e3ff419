// tsgrad gradient check: compares a gradient (generated or hand-written) with finite differences,
// the "gradient check" of the CS231n notes. It is a testing tool, slow by design (two calls of `f`
// per scalar input), and never used by generated code.
//
//   numericGrad(f, [3, -4])                      → [dx, dy] by central differences
//   checkGradient(f, [3, -4], grad(f)(3, -4))    → { ok, maxRelativeError, entries }
//
// Parameters may be numbers, number arrays, Float64Arrays, matrices and objects of them; the
// numeric gradient has the same shape as the arguments (`Grads<P>`), and every number in them is
// moved in turn (Int32Array labels are data: their gradient is zeros).

import type { Grads, ScalarFunction } from "./index.js";
import { cloneValue, numberSlots, zeroGradient } from "./tree.js";

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
  /** Where the number is in the arguments: `[0]`, `[1][3]`, `[0].layer.W[2]`. */
  path: string;
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
 * Central differences, one per number of the arguments: (f(.., x+h, ..) - f(.., x-h, ..)) / 2h.
 *   numericGrad((x, y) => x * y, [3, -4])                 → [-4, 3] (up to ~1e-10)
 *   numericGrad(dot, [Float64Array.of(1, 2), [3, 4]])     → [Float64Array [3, 4], [1, 2]]
 * Central (not forward) differences because their error is O(h²) instead of O(h). The arguments
 * are copied once and the copy is moved, so `args` is never modified.
 */
export function numericGrad<F extends ScalarFunction>(
  f: F,
  args: Parameters<F>,
  options: NumericGradOptions = {},
): Grads<Parameters<F>> {
  const h = options.h ?? 1e-5;
  if (!(h > 0 && Number.isFinite(h))) throw new RangeError(`tsgrad: numericGrad needs a finite h > 0, got ${h}`);
  const moved = args.map(cloneValue);
  const inputs = numberSlots(moved); // first: it names a value of the wrong kind by its path
  const gradient = args.map(zeroGradient);
  const outputs = numberSlots(gradient);
  inputs.forEach((slot, k) => {
    const x = slot.get();
    slot.set(x + h);
    const up = f(...moved);
    slot.set(x - h);
    const down = f(...moved);
    slot.set(x);
    outputs[k].set((up - down) / (2 * h));
  });
  return gradient as Grads<Parameters<F>>;
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
  // Paired by path, not position: an object's keys may come in another order than the argument's.
  const numeric = numberSlots(numericGrad(f, args, options) as unknown[]);
  const byPath = new Map(numberSlots(given.slice()).map((s) => [s.path, s]));
  const missing = numeric.find((n) => !byPath.has(n.path))?.path ?? (byPath.size !== numeric.length ? [...byPath.keys()].find((p) => !numeric.some((n) => n.path === p)) : undefined);
  if (missing !== undefined) {
    throw new TypeError(`tsgrad: the analytic gradient does not have the shape of the arguments (first difference at ${missing}); gradients mirror their parameters`);
  }
  const entries = numeric.map((n): GradientCheckEntry => {
    const a = byPath.get(n.path)!.get();
    return { index: Number(n.path.slice(1, n.path.indexOf("]"))), path: n.path, analytic: a, numeric: n.get(), relativeError: relativeError(a, n.get()) };
  });
  // Math.max propagates NaN, and `NaN <= tolerance` is false: a NaN gradient never passes.
  const maxRelativeError = entries.reduce((m, e) => Math.max(m, e.relativeError), 0);
  return { ok: entries.every((e) => e.relativeError <= tolerance), maxRelativeError, entries };
}
