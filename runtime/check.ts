// tsgrad gradient check: compares a gradient (generated or hand-written) with finite differences,
// the "gradient check" of the CS231n notes. It is a testing tool, slow by design (two calls of `f`
// per scalar input), and never used by generated code.
//
//   numericGrad(f, [3, -4])                      → [dx, dy] by central differences
//   checkGradient(f, [3, -4], grad(f)(3, -4))    → { ok, maxRelativeError, entries, worst, message }
//
// Parameters may be numbers, number arrays, Float64Arrays (and Float32Arrays), matrices and objects
// of them; the numeric gradient has the same shape as the arguments (`Grads<P>`), and every number
// in them is moved in turn. Data (Int32Array labels, strings, booleans, and the parameters a
// compiled function registers as data, such as enums) is not moved: its gradient is `undefined`.

import {
  type Grads,
  type GradsAt,
  type ParamIndex,
  type ScalarFunction,
  dataParameters,
  registeredParameters,
} from "./index.js";
import { cloneValue, numberSlots, zeroGradient, type Slot } from "./tree.js";

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
  /**
   * Largest absolute error |analytic - numeric| still accepted, whatever the relative error: an
   * entry passes when it is within atol OR within tolerance. Default 1e-8. Central differences
   * with h = 1e-5 are off by about h²/6·|f‴| (truncation: ~2e-11 for |f‴| ~ 1) plus ε·|f|/h
   * (rounding, ε = 2.2e-16: ~2e-11 for |f| ~ 1, ~2e-9 for |f| ~ 100), so no numeric derivative
   * is exact below ~1e-10, and a gradient entry of 1e-9 (the data gradient of a classifier, say)
   * shows a relative error near 1e-2 that is only this noise. 1e-8 sits above the noise for
   * losses of everyday size (up to ~100) and below any entry a bug gets wrong at the scale of a
   * loss's gradient (NumPy's isclose has the same default). Set 0 to judge by relative error alone, e.g. for a function whose whole gradient is
   * tiny (or scale the function up).
   */
  atol?: number;
  /**
   * The parameter indices to check, as `grad(f, { wrt })` takes them: `analytic` then holds their
   * gradients alone, in this order (`grad(f, { wrt })(...args)` as is), and only those parameters
   * are moved (two calls of f per number in them). Default: all parameters.
   */
  wrt?: readonly number[];
}

/** One compared scalar: parameter `index`, its analytic and numeric derivative, their errors. */
export interface GradientCheckEntry {
  /** The parameter's index among f's arguments (with wrt too: not the position in wrt). */
  index: number;
  /** Where the number is in the arguments: `[0]`, `[1][3]`, `[0].layer.W[2]`. */
  path: string;
  analytic: number;
  numeric: number;
  relativeError: number;
  /** |analytic - numeric|. */
  absoluteError: number;
  /** absoluteError ≤ atol or relativeError ≤ tolerance (false for NaN). */
  ok: boolean;
}

export interface GradientCheckResult {
  /** True when every entry is ok: within atol or within tolerance (false if any is NaN). */
  ok: boolean;
  /** The largest relative error over all entries, those within atol included (NaN if any entry is NaN, 0 if there are none). */
  maxRelativeError: number;
  entries: GradientCheckEntry[];
  /**
   * The entry furthest past its bounds: the largest min(absoluteError / atol, relativeError /
   * tolerance), the factor by which it misses both (≤ 1 for an entry that passes; NaN counts as
   * the furthest). Undefined when there are no entries.
   */
  worst?: GradientCheckEntry;
  /**
   * One line for a test's failure message:
   *   "checkGradient: 1 of 6 entries failed (atol 1e-8, tolerance 1e-6); worst: [1].W[3] analytic 0.123 numeric 0.125 (relative error 8.1e-3, absolute error 2.0e-3)"
   */
  message: string;
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
  return differences(f, args, options.h, () => true) as Grads<Parameters<F>>;
}

/**
 * numericGrad's differences, for the numbers whose path `moves` accepts (the others' stay 0):
 * checkGradient with wrt moves only the parameters it checks.
 */
function differences(
  f: ScalarFunction,
  args: readonly unknown[],
  h = 1e-5,
  moves: (path: string) => boolean,
): unknown[] {
  if (!(h > 0 && Number.isFinite(h))) throw new RangeError(`tsgrad: numericGrad needs a finite h > 0, got ${h}`);
  const moved = args.map(cloneValue);
  const inputs = numberSlots(moved); // first: it names a value of the wrong kind by its path
  const data = dataParameters(f);
  const gradient = args.map((a, i) => (data.includes(i) ? undefined : zeroGradient(a)));
  const outputs = numberSlots(gradient);
  const kept = inputs.filter((slot) => !data.includes(parameterOf(slot.path)));
  kept.forEach((slot, k) => {
    if (!moves(slot.path)) return;
    const x = slot.get();
    slot.set(x + h);
    const up = f(...moved);
    slot.set(x - h);
    const down = f(...moved);
    slot.set(x);
    outputs[k].set((up - down) / (2 * h));
  });
  return gradient;
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
 *   checkGradient((x, y) => x * y, [3, -4], [-4, 3]) → { ok: true, maxRelativeError: ~1e-11, entries, worst, message }
 *   checkGradient(f, args, grad(f, { wrt: [1] })(...args), { wrt: [1] })   → parameter 1 alone
 * An entry passes when |a - n| ≤ atol (default 1e-8) or its relative error ≤ tolerance (default
 * 1e-6); CheckGradientOptions says why. Returns a report instead of throwing, so a test can
 * print `message` (the worst entry, by its path) or the entries that disagree.
 */
export function checkGradient<F extends ScalarFunction, const W extends readonly ParamIndex<F>[]>(
  f: F,
  args: Parameters<F>,
  analytic: GradsAt<Parameters<F>, W>,
  options: CheckGradientOptions & { wrt: W },
): GradientCheckResult;
export function checkGradient<F extends ScalarFunction>(
  f: F,
  args: Parameters<F>,
  analytic: Grads<Parameters<F>>,
  options?: CheckGradientOptions,
): GradientCheckResult;
export function checkGradient(
  f: ScalarFunction,
  args: unknown[],
  analytic: readonly unknown[],
  options: CheckGradientOptions = {},
): GradientCheckResult {
  const tolerance = options.tolerance ?? 1e-6;
  const atol = options.atol ?? 1e-8;
  // Parameters left out (optional, or defaulted) have a slot in the gradient too.
  const count = Math.max(args.length, registeredCount(f));
  const wrt = checkedWrt(options.wrt, count);
  const given = analytic as readonly unknown[];
  if (given.length !== wrt.length) {
    const per = options.wrt ? `wrt index(es) [${wrt.join(", ")}]` : "parameter(s)";
    throw new RangeError(`tsgrad: checkGradient got ${given.length} analytic gradient(s) for ${wrt.length} ${per}`);
  }
  const numeric = numericSlots(f, args, new Set(wrt), options.h);
  // Data and arguments left out have no number to move: nothing to compare.
  const data = dataParameters(f);
  const entries = wrt.flatMap((i, k) =>
    data.includes(i) || i >= args.length
      ? []
      : compareParameter(i, analyticSlots(given[k], i), numeric.get(i)!, atol, tolerance),
  );
  // Math.max propagates NaN: a NaN gradient never passes, and shows in maxRelativeError.
  const maxRelativeError = entries.reduce((m, e) => Math.max(m, e.relativeError), 0);
  const worst = worstOf(entries, atol, tolerance);
  const failed = entries.filter((e) => !e.ok).length;
  return {
    ok: failed === 0,
    maxRelativeError,
    entries,
    worst,
    message: summary(entries.length, failed, worst, atol, tolerance),
  };
}

/** How many parameters f registers (0 when it registers none): the optional ones count, passed or not. */
function registeredCount(f: ScalarFunction): number {
  return registeredParameters(f)?.length ?? 0;
}

/** wrt checked against the arguments; all of them without it: (undefined, 3) → [0, 1, 2]. */
function checkedWrt(wrt: readonly number[] | undefined, count: number): readonly number[] {
  if (wrt === undefined) return Array.from({ length: count }, (_, i) => i);
  if (!Array.isArray(wrt))
    throw new TypeError(`tsgrad: checkGradient: wrt must be an array of parameter indices, such as { wrt: [0] }`);
  const bad = wrt.find((i) => !Number.isInteger(i) || i < 0 || i >= count);
  if (bad !== undefined)
    throw new RangeError(
      `tsgrad: checkGradient: wrt index ${bad} is out of range for ${count} argument(s): integers 0 to ${count - 1}`,
    );
  return wrt;
}

/**
 * Central differences of the parameters in `which` alone: parameter index → its number slots
 * (paths `[i]...`). The others are not moved, so `wrt` saves two calls of f per number left out.
 */
function numericSlots(
  f: ScalarFunction,
  args: readonly unknown[],
  which: ReadonlySet<number>,
  h?: number,
): Map<number, Slot[]> {
  const gradient = differences(f, args, h, (path) => which.has(parameterOf(path)));
  const outputs = numberSlots(gradient);
  return new Map([...which].map((i) => [i, outputs.filter((s) => parameterOf(s.path) === i)]));
}

/** "[1].W[3]" → 1: the parameter a path starts in. */
const parameterOf = (path: string) => Number(path.slice(1, path.indexOf("]")));

/** The slots of one analytic gradient, their paths starting in parameter i: (dW, 1) → "[1][0]", "[1][1]", ... */
function analyticSlots(gradient: unknown, i: number): Slot[] {
  return numberSlots([gradient]).map((s) => ({ ...s, path: `[${i}]${s.path.slice(3)}` }));
}

/**
 * The entries of parameter i, paired by path, not position (an object's keys may come in another
 * order than the argument's); a path on one side only is a gradient of the wrong shape.
 */
function compareParameter(
  i: number,
  analytic: Slot[],
  numeric: Slot[],
  atol: number,
  tolerance: number,
): GradientCheckEntry[] {
  const byPath = new Map(analytic.map((s) => [s.path, s]));
  const paths = new Set(numeric.map((n) => n.path));
  const missing = numeric.find((n) => !byPath.has(n.path))?.path ?? analytic.find((a) => !paths.has(a.path))?.path;
  if (missing !== undefined) {
    throw new TypeError(
      `tsgrad: the analytic gradient does not have the shape of the arguments (first difference at ${missing}); gradients mirror their parameters`,
    );
  }
  return numeric.map((n): GradientCheckEntry => {
    const a = byPath.get(n.path)!.get();
    const absoluteError = Math.abs(a - n.get());
    const relative = relativeError(a, n.get());
    return {
      index: i,
      path: n.path,
      analytic: a,
      numeric: n.get(),
      relativeError: relative,
      absoluteError,
      ok: absoluteError <= atol || relative <= tolerance,
    };
  });
}

/**
 * The entry furthest past its bounds: min(absoluteError / atol, relativeError / tolerance), the
 * factor by which it misses both (NaN counts as the furthest; x / 0 is Infinity unless x is 0).
 */
function worstOf(entries: GradientCheckEntry[], atol: number, tolerance: number): GradientCheckEntry | undefined {
  const over = (x: number, bound: number) => (Number.isNaN(x) ? Infinity : x === 0 ? 0 : x / bound);
  const excess = (e: GradientCheckEntry) => Math.min(over(e.absoluteError, atol), over(e.relativeError, tolerance));
  return entries.reduce<GradientCheckEntry | undefined>(
    (w, e) => (w === undefined || excess(e) > excess(w) ? e : w),
    undefined,
  );
}

/** "checkGradient: all 6 entries agree (atol 1e-8, tolerance 1e-6); worst: [0][2] analytic 0.5 numeric 0.5 (relative error 1.4e-11, absolute error 1.4e-11)" */
function summary(
  count: number,
  failed: number,
  worst: GradientCheckEntry | undefined,
  atol: number,
  tolerance: number,
): string {
  if (!worst) return "checkGradient: no entries to compare";
  const entries = `entr${count === 1 ? "y" : "ies"}`;
  const verdict = failed ? `${failed} of ${count} ${entries} failed` : `all ${count} ${entries} agree`;
  const value = (x: number) => String(Number(x.toPrecision(6))); // 0.49999999998 → "0.5", 1.2345678e-9 → "1.23457e-9"
  const error = (x: number) => x.toExponential(1); // 0.0016638 → "1.7e-3"
  const bound = (x: number) => (x === 0 ? "0" : x.toExponential()); // 1e-8, not 0.00000001
  const bounds = `atol ${bound(atol)}, tolerance ${bound(tolerance)}`;
  return `checkGradient: ${verdict} (${bounds}); worst: ${worst.path} analytic ${value(worst.analytic)} numeric ${value(worst.numeric)} (relative error ${error(worst.relativeError)}, absolute error ${error(worst.absoluteError)})`;
}
