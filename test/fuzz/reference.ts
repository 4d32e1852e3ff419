// The oracle: a program's instrumented JavaScript twin, run directly (tsgrad plays no part), and
// central finite differences of it at points that keep away from kinks and branch thresholds.
//
// Takes a Program; gives, per point, the value of f and for each coordinate the finite-difference
// estimates that can be trusted there, or a reason to reject the point.
//
// The twin has the same arithmetic as the TypeScript source, printed from the same template, but
// every comparison, abs, max/min, hypot, atan2, % and floor-like call goes through a hook that
// appends the side it took to a path: `$.gt(x, 0.5)` pushes 1 or 0 (2 on a tie), `$.max(a, b)`
// the index of the winner, `$.mod(a, b)` the integer quotient, `$.tru(a) || b` whether a was
// chosen. (A switch on `Math.floor(e)` records e's floor, which picks the case; tests of data
// parameters record nothing: a point never moves them.) A finite-difference estimate is
// used only if every point of its stencil took exactly the path the base point took, so it never
// straddles a branch, a kink or a jump; a point with no such estimate for some coordinate is
// rejected (fast-check then counts the program as skipped if no point is left).
//
// A function of arrays takes a point's coordinates in order, an array taking as many as it has
// elements (programs.ts argsOf): finite differences perturb one element at a time. Each index
// goes through `$.index`, which throws if it is outside its array (a bug of the generator, which
// keeps indices in range by construction); a data-dependent index (`Math.floor(Math.abs(v) * 2)
// % x.length`) through `$.jump`, which records it, as floor's value is.
//
// A function that returns an array of m numbers is differentiated as the number Σ w_i f_i, w the
// first m of OUTPUT_WEIGHTS: its gradient is what vjp's backward(w) gives (check.ts). One that
// returns an object `{ s, u }` (object programs) counts its outputs field by field: s, then u's.
//
// Object parameters take a point's coordinates field by field, depth first (programs.ts argsOf);
// a function of more coordinates than a candidate point has gets the point cycled (pointFor).

import { Printer, argsOf, dimsOf, functionsOf, pointFor, type Program } from "./programs.js";

export interface Run {
  /** f's value; for f returning an array, the weighted sum Σ w_i f_i (OUTPUT_WEIGHTS), whose gradient is vjp's backward(w). */
  value: number;
  /** The array f returned, if it returned one. */
  outputs?: number[];
  path: string;
  /** The largest |value| of any operation or assignment on the way (Infinity if one overflowed or was NaN). */
  largest: number;
  /**
   * An operation ran where its derivative is undefined and tsgrad has no convention (atan2 at the
   * origin), or a value meant to be positive was ~0.
   */
  singular: boolean;
}
export type Reference = (point: readonly number[]) => Run;

/** The weights of an array's outputs: none a power of 2 (so a mixed-up output would not cancel), none equal. */
export const OUTPUT_WEIGHTS = [1, -0.75, 0.5, 1.25, -1.5, 0.3] as const;

/** Builds the instrumented twin of `program`'s function `name` (f, h0, ...): a point's coordinates → its value and the path it took. */
export function reference(program: Program, name = "f"): Reference {
  const path: number[] = [];
  let largest = 0;
  let singular = false;
  const record = (side: number) => (path.push(side), side);
  const winner = (xs: number[], y: number) => {
    const i = xs.findIndex((v) => v === y);
    return xs.filter((v) => v === y).length > 1 ? -1 - i : i; // a tie is a path of its own
  };
  const cmp = (a: number, b: number, r: boolean) => (record(a === b ? 2 : r ? 1 : 0), r);
  const hooks = {
    v: (x: number) => {
      const m = Math.abs(x);
      largest = m > largest || m !== m ? (m !== m ? Infinity : m) : largest;
      return x;
    },
    // a value meant to be positive (the operand of log, sqrt, cbrt, a divisor): at ~0 (exp
    // underflows) their derivatives are Infinity, and 0 * Infinity is NaN
    pos: (x: number) => {
      if (!(x >= 1e-6)) singular = true;
      return hooks.v(x);
    },
    gt: (a: number, b: number) => cmp(a, b, a > b),
    lt: (a: number, b: number) => cmp(a, b, a < b),
    ge: (a: number, b: number) => cmp(a, b, a >= b),
    le: (a: number, b: number) => cmp(a, b, a <= b),
    abs: (x: number) => (record(Math.sign(x)), Math.abs(x)),
    max: (...xs: number[]) => {
      const y = Math.max(...xs);
      return (record(winner(xs, y)), y);
    },
    min: (...xs: number[]) => {
      const y = Math.min(...xs);
      return (record(winner(xs, y)), y);
    },
    hypot: (...xs: number[]) => {
      const y = Math.hypot(...xs);
      return (record(y === 0 ? 0 : 1), y);
    },
    // discontinuous across the negative b axis; at the origin its partials are 0 / 0
    atan2: (a: number, b: number) => {
      if (a === 0 && b === 0) singular = true;
      return (record(b < 0 ? Math.sign(a) : 2), Math.atan2(a, b));
    },
    mod: (a: number, b: number) => {
      const y = a % b;
      return (record(Math.round((a - y) / b)), y);
    },
    floor: (x: number) => record(Math.floor(x)),
    ceil: (x: number) => record(Math.ceil(x)),
    round: (x: number) => record(Math.round(x)),
    trunc: (x: number) => record(Math.trunc(x)),
    sign: (x: number) => record(Math.sign(x)),
    // the left operand of && / || on numbers: which operand the expression takes
    tru: (x: number) => (record(x ? 1 : 0), x),
    index: (i: number, n: number) => {
      if (!(Number.isInteger(i) && i >= 0 && i < n))
        throw new Error(`the fuzzer printed an index outside its array: ${i} of ${n} elements`);
      return i;
    },
    // a NaN or infinite operand makes the index NaN: such a point is rejected, like one where log(0) ran
    jump: (i: number, n: number) => {
      if (!Number.isFinite(i)) return ((singular = true), 0);
      return record(hooks.index(i, n));
    },
  };
  const source = `"use strict";\n${Printer.module(program, "reference")}\nreturn ${name};`;
  const f = new Function("$", source)(hooks) as (
    ...args: unknown[]
  ) => number | ArrayLike<number> | { s: number; u: ArrayLike<number> };
  const params = new Map(functionsOf(program)).get(name)!.params;
  return (point) => {
    path.length = 0;
    largest = 0;
    singular = false;
    const result = f(...argsOf(params, point));
    if (typeof result === "number") return { value: result, path: path.join(","), largest, singular };
    const outputs: number[] = "s" in result ? [result.s, ...Array.from(result.u)] : Array.from(result);
    const value = outputs.reduce((sum, y, i) => sum + OUTPUT_WEIGHTS[i] * y, 0);
    return { value, outputs, path: path.join(","), largest, singular };
  };
}

/** The printed twin, for debugging the fuzzer itself. */
export const referenceSource = (program: Program): string => Printer.module(program, "reference");

export interface Limits {
  /** Points where |f| is larger are rejected (finite differences lose digits to rounding). */
  maxValue: number;
  /** Points where a derivative estimate is larger are rejected. */
  maxGradient: number;
  /**
   * Points where any intermediate value is larger are rejected: an overflow to Infinity that a
   * later operation absorbs (tanh, 1 / x, %, max) gives the backward pass 0 * Infinity = NaN, as
   * in every reverse-mode AD, and that is not the bug we look for.
   */
  maxIntermediate: number;
}
export const defaultLimits: Limits = { maxValue: 1e4, maxGradient: 1e5, maxIntermediate: 1e8 };

export interface Oracle {
  point: number[];
  value: number;
  /** What f returned, if an array (value is then Σ w_i outputs_i). */
  outputs?: number[];
  /** Per coordinate, the estimates whose stencils stayed on the base point's path (at least one). */
  estimates: number[][];
}

/**
 * Finite-difference estimates of ∂f/∂x_i, each on its own stencil (s = max(1, |x_i|)):
 *   central, h = 1e-6 s and 1e-5 s      (f(x + h) - f(x - h)) / 2h, error O(h²)
 *   Richardson, h = 1e-3 s               (4 D(h/2) - D(h)) / 3 with D central, error O(h⁴)
 * Several steps, because rounding error grows as h shrinks and truncation error as it grows.
 */
export function oracleAt(ref: Reference, point: readonly number[], limits: Limits = defaultLimits): Oracle | string {
  const base = ref(point);
  if (!Number.isFinite(base.value)) return `f is ${base.value}`;
  if (Math.abs(base.value) > limits.maxValue)
    return `|f| = ${Math.abs(base.value)} is too large for finite differences`;
  if (!(base.largest <= limits.maxIntermediate)) return `an intermediate value reaches ${base.largest}`;
  // e.g. atan2(a, a) at a = x * Math.round(x) = 0 for every x near 0: f is smooth, but the chain
  // rule multiplies 0 by atan2's 0 / 0
  if (base.singular)
    return "an operation runs where its derivative is undefined (atan2 at the origin) or infinite (log, sqrt, cbrt or a division of ~0)";
  const estimates: number[][] = [];
  for (let i = 0; i < point.length; i++) {
    const s = Math.max(1, Math.abs(point[i]));
    const at = (h: number): number | undefined => {
      const x = [...point];
      x[i] = point[i] + h;
      const r = ref(x);
      return r.path === base.path && Number.isFinite(r.value) ? r.value : undefined;
    };
    const central = (h: number): number | undefined => {
      const plus = at(h);
      const minus = at(-h);
      // the step actually taken, as rounded in x + h
      return plus === undefined || minus === undefined ? undefined : (plus - minus) / (point[i] + h - (point[i] - h));
    };
    const d6 = central(1e-6 * s);
    const d5 = central(1e-5 * s);
    const dh = central(1e-3 * s);
    const dh2 = central(5e-4 * s);
    const richardson = dh === undefined || dh2 === undefined ? undefined : (4 * dh2 - dh) / 3;
    const valid = [d6, d5, richardson].filter((d): d is number => d !== undefined && Number.isFinite(d));
    if (!valid.length) return `every finite-difference stencil for coordinate ${i} crosses a branch, kink or jump`;
    if (valid.some((d) => Math.abs(d) > limits.maxGradient))
      return `a derivative estimate for coordinate ${i} is too large`;
    estimates.push(valid);
  }
  return { point: [...point], value: base.value, outputs: base.outputs, estimates };
}

/**
 * The oracle at each of a program's candidate points that it accepts for function `name`, at
 * most `max` of them (a point's first coordinates, as many as the function has parameters).
 */
export function acceptedPoints(
  program: Program,
  max: number,
  limits: Limits = defaultLimits,
  name = "f",
): { accepted: Oracle[]; rejected: string[] } {
  const ref = reference(program, name);
  const arity = dimsOf(new Map(functionsOf(program)).get(name)!.params);
  const accepted: Oracle[] = [];
  const rejected: string[] = [];
  for (const p of program.points) {
    if (accepted.length >= max) break;
    const o = oracleAt(ref, pointFor(p, arity), limits);
    if (typeof o === "string") rejected.push(o);
    else accepted.push(o);
  }
  return { accepted, rejected };
}
