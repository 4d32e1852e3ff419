// tsgrad runtime: the user-facing API (grad, valueAndGrad, vjp, the decorator, the types) and the
// registry that generated code fills in.
//
// The transformer emits, beside each @differentiable function `f`, three plain functions
//   f_grad(x, y)          → [dx, dy]            fused forward + backward, no cache object
//   f_forward(x, y)       → { value, cache }    forward pass that keeps what backward needs
//   f_backward(cache, df) → [dx, dy]            backward pass, run later
// and registers them with `registerGradient(f, { grad, forward, backward })`. Everything here is a
// thin lookup over that registry; no derivative is computed at run time by this file.

import type { Matrix } from "./ops/matrix.js";
import { copyGradient, fillJacobianRow, jacobianBlock, numberSlots, zeroGradient } from "./tree.js";

/** The gradient of a value of type T has the same shape as T. */
export type Grad<T> = unknown extends T
  ? any
  : T extends number
  ? number
  : T extends Float64Array
    ? Float64Array
    : T extends Int32Array
    ? Int32Array
    : T extends Matrix<infer R, infer C>
    ? Matrix<R, C>
    : T extends readonly number[]
      ? number[]
      : T extends object
        ? { -readonly [K in keyof T]: Grad<T[K]> }
        : never;

/** One gradient per parameter, in order: [x: number, y: number] → [x: number, y: number]. */
export type Grads<P extends readonly unknown[]> = { -readonly [K in keyof P]-?: Grad<P[K]> };

/** The gradients picked by `wrt`, in the order `wrt` lists them. */
export type GradsAt<P extends readonly unknown[], W extends readonly number[]> = {
  -readonly [K in keyof W]: Grad<P[W[K]]>;
};

/** A function tsgrad can differentiate: numbers in, a number out. */
export type ScalarFunction = (...args: any[]) => number;

/** Indices of the parameters of F, usable in `wrt`. */
export type ParamIndex<F extends ScalarFunction> = number extends Parameters<F>["length"]
  ? number // a function typed loosely (any, rest parameters): indices are checked at run time
  : Exclude<keyof Parameters<F>, keyof unknown[]> extends infer K
    ? K extends `${infer N extends number}`
      ? N
      : never
    : never;

export interface GradOptions<W extends readonly number[]> {
  /** Parameter indices to differentiate with respect to, e.g. `{ wrt: [1] }`. Default: all. */
  wrt: W;
}

/** What generated code registers for each differentiable function. */
export interface CompiledGradient {
  /** Absent for a function that returns an array (it has vjp and jacobian, no gradient). */
  grad?: (...args: any[]) => any[];
  /** f_gradInto(grads, ...args): f_grad into the buffers of an earlier result (older builds have none). */
  gradInto?: (grads: any, ...args: any[]) => any;
  forward: (...args: any[]) => { value: any; cache: unknown };
  backward: (cache: any, dout: any) => any[];
}

const registry = new WeakMap<Function, CompiledGradient>();

/** Called by generated code: `registerGradient(f, { grad: f_grad, forward: f_forward, backward: f_backward })`. */
export function registerGradient<F extends Function>(f: F, compiled: CompiledGradient): F {
  registry.set(f, compiled);
  return f;
}

/** True when `f` was compiled by tsgrad's transformer (or code generator). */
export function isDifferentiable(f: Function): boolean {
  return registry.has(f);
}

const SETUP_HELP =
  "tsgrad's transformer did not compile this function. Mark it /** @differentiable */ and build with " +
  'the transformer: tsconfig "plugins": [{ "transform": "tsgrad/transformer" }] and `tspc` (ts-patch), ' +
  'the Vite/Vitest plugin `tsgrad/vite`, or generated code from `tsgrad gen`. See the README, "Setup".';

function compiled(f: Function, api: string): CompiledGradient {
  if (typeof f !== "function") throw new TypeError(`tsgrad: ${api}(f) needs a function, got ${typeof f}`);
  const found = registry.get(f);
  if (!found) throw new Error(`tsgrad: ${api}(${f.name || "<anonymous>"}) has no gradient. ${SETUP_HELP}`);
  return found;
}

/** f_grad, or an error saying what to use for a function that returns an array. */
function gradientOf(f: Function, api: string): (...args: any[]) => any[] {
  const g = compiled(f, api).grad;
  if (!g) throw new TypeError(`tsgrad: ${api}(${f.name || "<anonymous>"}): it returns an array or an object, so it has no gradient; use vjp(f) with the output's gradient, or jacobian(f)`);
  return g;
}

function picker(wrt: readonly number[] | undefined, arity: number): (all: number[]) => any {
  if (wrt === undefined) return (all) => all;
  for (const i of wrt) {
    if (!Number.isInteger(i) || i < 0 || i >= arity) {
      throw new RangeError(`tsgrad: wrt index ${i} is out of range for a function of ${arity} parameter(s)`);
    }
  }
  return (all) => wrt.map((i) => all[i]);
}

/**
 * grad(f)(...args) → one gradient per parameter; grad(f, { wrt: [1] })(...args) → [d/dargs[1]].
 * With the transformer and `f` known statically, `grad(f)` compiles to the generated `f_grad`.
 * The returned functions pass their `this` on, so the gradient of a method can be bound.
 */
export function grad<F extends ScalarFunction>(f: F): (...args: Parameters<F>) => Grads<Parameters<F>>;
export function grad<F extends ScalarFunction, const W extends readonly ParamIndex<F>[]>(
  f: F,
  options: GradOptions<W>,
): (...args: Parameters<F>) => GradsAt<Parameters<F>, W>;
export function grad(f: ScalarFunction, options?: GradOptions<readonly number[]>): (...args: any[]) => any {
  const g = gradientOf(f, "grad");
  if (options?.wrt === undefined) return g;
  const pick = picker(options.wrt, f.length);
  return function (this: unknown, ...args) {
    return pick(g.apply(this, args));
  };
}

/**
 * gradInto(f)(grads, ...args) → grads: the gradient written into the buffers of an earlier result,
 * for training loops that allocate nothing per step:
 *   const grads = grad(loss)(W, b, X, y);          // once: arrays of the right kinds and lengths
 *   for (...) { gradInto(loss)(grads, W, b, X, y); ... }   // zeroed and refilled in place
 * Array (and Matrix) gradients are filled in place, number gradients overwritten, and `grads`
 * itself is returned. Local arrays of f come from the runtime's stack, so code over numbers and
 * arrays allocates nothing; matrix operations write into matrices lent by the runtime's pool.
 */
export function gradInto<F extends ScalarFunction>(f: F): (grads: Grads<Parameters<F>>, ...args: Parameters<F>) => Grads<Parameters<F>>;
export function gradInto<F extends ScalarFunction, const W extends readonly ParamIndex<F>[]>(
  f: F,
  options: GradOptions<W>,
): (grads: GradsAt<Parameters<F>, W>, ...args: Parameters<F>) => GradsAt<Parameters<F>, W>;
export function gradInto(f: ScalarFunction, options?: GradOptions<readonly number[]>): (grads: any, ...args: any[]) => any {
  const c = compiled(f, "gradInto");
  if (c.gradInto && options?.wrt === undefined) return c.gradInto;
  const g = gradientOf(f, "gradInto");
  const pick = picker(options?.wrt, f.length);
  // With wrt (where the transformer did not compile grad(f, { wrt }) to its own gradient), or
  // compiled by an older tsgrad: copy a fresh gradient in (allocates, but gives the same result).
  return function (this: unknown, grads: any[], ...args: any[]) {
    const fresh = pick(g.apply(this, args));
    fresh.forEach((g: any, i: number) => (grads[i] = copyGradient(grads[i], g)));
    return grads;
  };
}

/** valueAndGrad(f)(...args) → { value, grad }: the value of f and its gradients, from one forward pass. */
export function valueAndGrad<F extends ScalarFunction>(
  f: F,
): (...args: Parameters<F>) => { value: number; grad: Grads<Parameters<F>> };
export function valueAndGrad<F extends ScalarFunction, const W extends readonly ParamIndex<F>[]>(
  f: F,
  options: GradOptions<W>,
): (...args: Parameters<F>) => { value: number; grad: GradsAt<Parameters<F>, W> };
export function valueAndGrad(f: ScalarFunction, options?: GradOptions<readonly number[]>): (...args: any[]) => any {
  gradientOf(f, "valueAndGrad"); // a clear error for a function that returns an array
  const { forward, backward } = compiled(f, "valueAndGrad");
  const pick = picker(options?.wrt, f.length);
  return function (this: unknown, ...args) {
    const { value, cache } = forward.apply(this, args);
    return { value, grad: pick(backward.call(this, cache, 1)) };
  };
}

/** What a @differentiable function returns: a number, an array it creates, or an object of those. */
export type Output = number | Float64Array | number[] | object;

/** A function tsgrad differentiates. */
export type DifferentiableFunction = (...args: any[]) => Output;

/** The gradient on an output: a number for a number, an array of its length for an array, an object of those for an object. */
export type OutputGrad<R> = R extends number ? number : R extends Float64Array | readonly number[] ? ArrayLike<number> : { [K in keyof R]: OutputGrad<R[K]> };

/** The result of `vjp(f)(...args)`: the value, and the backward pass to run later. */
export interface Vjp<P extends readonly unknown[], R = number> {
  value: R;
  /**
   * Runs the backward pass with the given gradient on the output (a number; an array of the
   * output's length for an array; for an object, one per field); may be called more than once.
   */
  backward(dout: OutputGrad<R>): Grads<P>;
}

/** vjp(f)(...args) runs the forward pass and keeps its cache; `backward(dout)` runs the backward pass. */
export function vjp<F extends DifferentiableFunction>(f: F): (...args: Parameters<F>) => Vjp<Parameters<F>, ReturnType<F>> {
  const { forward, backward } = compiled(f, "vjp");
  return function (this: unknown, ...args: any[]) {
    const { value, cache } = forward.apply(this, args);
    return { value, backward: (dout: any) => backward.call(this, cache, dout) as Grads<Parameters<F>> };
  } as any;
}

/**
 * The Jacobian block of one parameter: a number's is a column (Float64Array, one entry per output),
 * an array's a Matrix (outputs × elements), an object's an object of blocks with the same keys.
 */
export type JacobianBlock<T> = T extends number
  ? Float64Array
  : T extends Float64Array | Int32Array | Matrix | readonly number[]
    ? Matrix
    : T extends object
      ? { -readonly [K in keyof T]: JacobianBlock<T[K]> }
      : never;
export type Jacobians<P extends readonly unknown[]> = { -readonly [K in keyof P]-?: JacobianBlock<P[K]> };

/**
 * jacobian(f)(...args) for f returning m numbers (an array, or an object of numbers and arrays,
 * its numbers counted field by field): one block per parameter, row i the gradient of output i
 * (by m backward passes over one forward pass). A number parameter's block is a Float64Array of
 * m entries; an array parameter's, an m × length Matrix; an object's, an object of blocks.
 */
export function jacobian<F extends (...args: any[]) => Exclude<Output, number>>(f: F): (...args: Parameters<F>) => Jacobians<Parameters<F>> {
  const { forward, backward } = compiled(f, "jacobian");
  return function (this: unknown, ...args: any[]) {
    const { value, cache } = forward.apply(this, args);
    // The seed has the output's shape; its numbers are set to 1 one at a time.
    const seed = [zeroGradient(value)];
    const slots = numberSlots(seed);
    const m = slots.length;
    const blocks = args.map((a) => jacobianBlock(a, m));
    for (let i = 0; i < m; i++) {
      slots[i].set(1);
      const row = backward.call(this, cache, seed[0]);
      slots[i].set(0);
      row.forEach((g: any, p: number) => fillJacobianRow(blocks[p], g, i));
    }
    return blocks;
  } as any;
}

/**
 * Marks a class method for tsgrad; the transformer does the work, so at run time this returns the
 * method unchanged. Works as a standard (TC39) decorator and as a legacy `experimentalDecorators` one.
 */
export function differentiable<T>(value: T, context?: unknown, descriptor?: PropertyDescriptor): any {
  return descriptor ?? value;
}
export { numericGrad, checkGradient, relativeError, type NumericGradOptions, type CheckGradientOptions, type GradientCheckEntry, type GradientCheckResult } from "./check.js";
export { ValueStack, saved, scratch } from "./stack.js";
// Matrix and vector ops, their Into variants, backward kernels and derivative rules (ops/index.ts).
export * from "./ops/index.js";

/**
 * The value of `x`, through which no gradient flows: in a @differentiable function, the backward
 * pass treats `stopGradient(x)` as a constant (JAX's stop_gradient, PyTorch's detach). At run time
 * it returns `x` unchanged.
 */
export function stopGradient<T>(x: T): T {
  return x;
}
