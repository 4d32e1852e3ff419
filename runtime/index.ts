// tsgrad runtime: the user-facing API (grad, valueAndGrad, vjp, the decorator, the types) and the
// registry that generated code fills in.
//
// The transformer emits, beside each @differentiable function `f`, three plain functions
//   f_grad(x, y)          → [dx, dy]            fused forward + backward, no cache object
//   f_forward(x, y)       → { value, cache }    forward pass that keeps what backward needs
//   f_backward(cache, df) → [dx, dy]            backward pass, run later
// and registers them with `registerGradient(f, { grad, forward, backward })`. Everything here is a
// thin lookup over that registry; no derivative is computed at run time by this file. The entry
// points check their input once per call (the argument count, gradInto's buffers, vjp's dout) and
// throw errors that name the function and the parameter (boundary.ts).

import type { Matrix } from "./ops/matrix.js";
import { copyGradient, fillJacobianRow, jacobianBlock, numberSlots, zeroGradient } from "./tree.js";

import {
  type CompiledGradient,
  checkCount,
  checkOutput,
  countChecked,
  dataParameters,
  intoChecked,
  picker,
  registry,
  signatureOf,
  wrappersOf,
} from "./registry.js";

export {
  type CompiledGradient,
  dataParameters,
  isDifferentiable,
  registerGradient,
  registeredParameters,
} from "./registry.js";

/**
 * The gradient of a value of type T has the same shape as T: a number's is a number, an array's an
 * array of its length (`number[]` for `number[]` and tuples, `Float64Array` for `Float64Array` and
 * `Float32Array`, either for `ArrayLike<number>` and unions, by what is passed), a Matrix's a Matrix,
 * an object's an object of the same keys. Data has no gradient: `undefined` for Int32Array labels,
 * booleans, strings, string-literal unions, enums and number-literal unions (`1 | 2`).
 */
export type Grad<T> = unknown extends T
  ? any
  : T extends number
    ? number extends T
      ? // `number` is assignable to a numeric enum too, but a number that is not a member is not
        -0.000314159265358979 extends T
        ? number
        : undefined // a numeric enum: data
      : undefined // a union of number literals: data
    : T extends string | boolean | bigint | symbol | null | undefined
      ? undefined
      : T extends Float64Array | Float32Array
        ? Float64Array
        : T extends Int32Array
          ? undefined
          : T extends Matrix<infer R, infer C>
            ? Matrix<R, C>
            : T extends readonly number[]
              ? number[]
              : T extends ArrayLike<number>
                ? number[] | Float64Array
                : T extends readonly (infer E)[]
                  ? Grad<E>[] // rows of a number[][], records { x, y }[]
                  : T extends object
                    ? { -readonly [K in keyof T as T[K] extends Function ? never : K]: Grad<T[K]> } // a class's methods have no gradient
                    : never;

/**
 * One gradient per parameter, in order: [x: number, y: number] → [x: number, y: number]. An optional
 * parameter has a slot too (`scale?: number` → `scale: number`, 0 when it is left out; data's is
 * `undefined`): each parameter is boxed first, so that removing `?` does not also remove the
 * `undefined` of a data slot.
 */
export type Grads<P extends readonly unknown[]> = GradsOfBoxed<{ -readonly [K in keyof P]-?: { param: P[K] } }>;
type GradsOfBoxed<B> = { [K in keyof B]: B[K] extends { param: infer T } ? Grad<Exclude<T, undefined>> : never };

/** The gradients picked by `wrt`, in the order `wrt` lists them. */
export type GradsAt<P extends readonly unknown[], W extends readonly number[]> = {
  -readonly [K in keyof W]: Grad<Exclude<P[W[K]], undefined>>;
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

export interface GradOptions<W extends readonly number[]> extends CheckOptions {
  /** Parameter indices to differentiate with respect to, e.g. `{ wrt: [1] }`. Default: all. */
  wrt: W;
}

export interface CheckOptions {
  /**
   * Check every gradient the backward pass computes, and throw a NonFiniteGradientError at the
   * first NaN or Infinity, naming the gradient and the source line (f_gradChecked; slower, for
   * debugging). Default false.
   */
  checkFinite?: boolean;
}

const SETUP_HELP =
  "tsgrad's transformer did not compile this function: mark it /** @differentiable */ and build with " +
  'the transformer: tsconfig "plugins": [{ "transform": "tsgrad/transformer" }] and `tspc` (ts-patch), ' +
  'the Vite/Vitest plugin `tsgrad/vite`, or generated code from `tsgrad gen`. See the README, "Setup".';

const REFUSED_HELP =
  "If the build reported a tsgrad error (TS94xxx) for this function, tsgrad refused it and that error says why. Otherwise:";

function compiled(f: Function, api: string): CompiledGradient {
  if (typeof f !== "function") throw new TypeError(`tsgrad: ${api}(f) needs a function, got ${typeof f}`);
  const found = registry.get(f);
  if (!found)
    throw new Error(`tsgrad: ${api}(${f.name || "<anonymous>"}) has no gradient. ${REFUSED_HELP} ${SETUP_HELP}`);
  return found;
}

/** f_grad, or an error saying what to use for a function that returns an array. */
function gradientOf(f: Function, api: string): (...args: any[]) => any[] {
  const g = compiled(f, api).grad;
  if (!g)
    throw new TypeError(
      `tsgrad: ${api}(${f.name || "<anonymous>"}): it returns an array or an object, so it has no gradient; use vjp(f) with the output's gradient, or jacobian(f)`,
    );
  return g;
}

/** f_gradChecked for `checkFinite: true`, or an error saying how to have it generated. */
function checkedGradientOf(f: Function, api: string): (...args: any[]) => any[] {
  gradientOf(f, api); // a clear error for a function that returns an array
  const g = compiled(f, api).gradChecked;
  if (g) return g;
  const name = f.name || "<anonymous>";
  throw new Error(
    `tsgrad: ${api}(${name}, { checkFinite: true }): ${name} was built without its checked gradient (${name}_gradChecked). ` +
      `tsgrad generates one for each function a \`${api}(f, { checkFinite: true })\` call names directly; for ${name} passed as a value, ` +
      'set checkFinite for the whole build: { "transform": "tsgrad/transformer", "checkFinite": true } in tsconfig, tsgrad({ checkFinite: true }) in Vite, or tsgrad gen --check-finite',
  );
}

/**
 * grad(f)(...args) → one gradient per parameter; grad(f, { wrt: [1] })(...args) → [d/dargs[1]].
 * grad(f, { checkFinite: true }) checks every gradient the backward pass computes (f_gradChecked).
 * With the transformer and `f` known statically, `grad(f)` compiles to the generated `f_grad`.
 * The returned functions pass their `this` on, so the gradient of a method can be bound.
 * At run time the number of arguments is checked (a TypeError naming f and its parameters).
 */
export function grad<F extends ScalarFunction>(f: F): (...args: Parameters<F>) => Grads<Parameters<F>>;
export function grad<F extends ScalarFunction, const W extends readonly ParamIndex<F>[]>(
  f: F,
  options: GradOptions<W>,
): (...args: Parameters<F>) => GradsAt<Parameters<F>, W>;
export function grad<F extends ScalarFunction>(
  f: F,
  options: CheckOptions,
): (...args: Parameters<F>) => Grads<Parameters<F>>;
export function grad(f: ScalarFunction, options?: Partial<GradOptions<readonly number[]>>): (...args: any[]) => any {
  const checked = options?.checkFinite === true;
  const g = checked ? checkedGradientOf(f, "grad") : gradientOf(f, "grad");
  const sig = signatureOf(f);
  const pick = picker(options?.wrt, sig, "grad");
  if (!pick && checked) return countChecked(g, sig, "grad");
  if (!pick) return (wrappersOf(f).grad ??= countChecked(g, sig, "grad"));
  return function (this: unknown, ...args) {
    checkCount(sig, "grad", args.length);
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
 * Each call checks the count of arguments and that every buffer has its argument's kind and size
 * (a TypeError or RangeError naming the entry of grads and the parameter; never a truncated gradient).
 */
export function gradInto<F extends ScalarFunction>(
  f: F,
): (grads: Grads<Parameters<F>>, ...args: Parameters<F>) => Grads<Parameters<F>>;
export function gradInto<F extends ScalarFunction, const W extends readonly ParamIndex<F>[]>(
  f: F,
  options: GradOptions<W>,
): (grads: GradsAt<Parameters<F>, W>, ...args: Parameters<F>) => GradsAt<Parameters<F>, W>;
export function gradInto(
  f: ScalarFunction,
  options?: GradOptions<readonly number[]>,
): (grads: any, ...args: any[]) => any {
  const c = compiled(f, "gradInto");
  const sig = signatureOf(f);
  const wrt = options?.wrt;
  if (c.gradInto && wrt === undefined) return (wrappersOf(f).gradInto ??= intoChecked(c.gradInto, sig, "gradInto"));
  const g = gradientOf(f, "gradInto");
  const pick = picker(wrt, sig, "gradInto") ?? ((all: any[]) => all);
  // With wrt (where the transformer did not compile grad(f, { wrt }) to its own gradient), or
  // compiled by an older tsgrad: copy a fresh gradient in (allocates, but gives the same result).
  const copying = function (this: unknown, grads: any[], ...args: any[]) {
    const fresh = pick(g.apply(this, args));
    fresh.forEach((g: any, i: number) => (grads[i] = copyGradient(grads[i], g)));
    return grads;
  };
  return intoChecked(copying, sig, "gradInto", wrt);
}

/** valueAndGrad(f)(...args) → { value, grad }: the value of f and its gradients, from one forward pass. */
export function valueAndGrad<F extends ScalarFunction>(
  f: F,
): (...args: Parameters<F>) => { value: number; grad: Grads<Parameters<F>> };
export function valueAndGrad<F extends ScalarFunction, const W extends readonly ParamIndex<F>[]>(
  f: F,
  options: GradOptions<W>,
): (...args: Parameters<F>) => { value: number; grad: GradsAt<Parameters<F>, W> };
export function valueAndGrad<F extends ScalarFunction>(
  f: F,
  options: CheckOptions,
): (...args: Parameters<F>) => { value: number; grad: Grads<Parameters<F>> };
export function valueAndGrad(
  f: ScalarFunction,
  options?: Partial<GradOptions<readonly number[]>>,
): (...args: any[]) => any {
  gradientOf(f, "valueAndGrad"); // a clear error for a function that returns an array
  const { forward, backward } = compiled(f, "valueAndGrad");
  const sig = signatureOf(f);
  const pick = picker(options?.wrt, sig, "valueAndGrad") ?? ((all: any[]) => all);
  if (options?.checkFinite === true) {
    // The value from f itself, the gradient from f_gradChecked: two forward passes, for debugging.
    const checked = checkedGradientOf(f, "valueAndGrad");
    return function (this: unknown, ...args) {
      checkCount(sig, "valueAndGrad", args.length);
      return { value: f.apply(this, args), grad: pick(checked.apply(this, args)) };
    };
  }
  return function (this: unknown, ...args) {
    checkCount(sig, "valueAndGrad", args.length);
    const { value, cache } = forward.apply(this, args);
    return { value, grad: pick(backward.call(this, cache, 1)) };
  };
}

/** What a @differentiable function returns: a number, an array it creates, or an object of those. */
export type Output = number | Float64Array | number[] | object;

/** A function tsgrad differentiates. */
export type DifferentiableFunction = (...args: any[]) => Output;

/** The gradient on an output: a number for a number, an array of its length for an array, an object of those for an object. */
export type OutputGrad<R> = R extends number
  ? number
  : R extends Float64Array | readonly number[]
    ? ArrayLike<number>
    : { [K in keyof R]: OutputGrad<R[K]> };

/** The result of `vjp(f)(...args)`: the value, and the backward pass to run later. */
export interface Vjp<P extends readonly unknown[], R = number> {
  value: R;
  /**
   * Runs the backward pass with the given gradient on the output (a number; an array of the
   * output's length for an array; for an object, one per field); may be called more than once.
   */
  backward(dout: OutputGrad<R>): Grads<P>;
}

/**
 * vjp(f)(...args) runs the forward pass and keeps its cache; `backward(dout)` runs the backward pass.
 * The count of arguments is checked, and `dout` against the value (a number for a number, an
 * array of its length for an array, every field for an object), with a TypeError or RangeError.
 */
export function vjp<F extends DifferentiableFunction>(
  f: F,
): (...args: Parameters<F>) => Vjp<Parameters<F>, ReturnType<F>> {
  const { forward, backward } = compiled(f, "vjp");
  const sig = signatureOf(f);
  return function (this: unknown, ...args: any[]) {
    checkCount(sig, "vjp", args.length);
    const { value, cache } = forward.apply(this, args);
    return {
      value,
      backward: (dout: any) => {
        checkOutput(sig, dout, value);
        return backward.call(this, cache, dout) as Grads<Parameters<F>>;
      },
    };
  } as any;
}

/**
 * The Jacobian block of one parameter: a number's is a column (Float64Array, one entry per output),
 * an array's a Matrix (outputs × elements), an object's an object of blocks with the same keys.
 */
export type JacobianBlock<T> = unknown extends T
  ? any
  : Grad<T> extends undefined
    ? undefined // data: no gradient, no block
    : T extends number
      ? Float64Array
      : T extends Matrix | ArrayLike<number>
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
export function jacobian<F extends (...args: any[]) => Exclude<Output, number>>(
  f: F,
): (...args: Parameters<F>) => Jacobians<Parameters<F>> {
  const { forward, backward } = compiled(f, "jacobian");
  const sig = signatureOf(f);
  return function (this: unknown, ...args: any[]) {
    checkCount(sig, "jacobian", args.length);
    const { value, cache } = forward.apply(this, args);
    // The seed has the output's shape; its numbers are set to 1 one at a time.
    const seed = [zeroGradient(value)];
    const slots = numberSlots(seed);
    const m = slots.length;
    // A block per gradient (data has none: undefined), shaped as the gradient is, so that an
    // optional parameter left out gets one too; without outputs, shaped as the arguments.
    const data = dataParameters(f);
    let blocks: unknown[] = args.map((a, p) => (data.includes(p) ? undefined : jacobianBlock(a, m)));
    for (let i = 0; i < m; i++) {
      slots[i].set(1);
      const row = backward.call(this, cache, seed[0]);
      slots[i].set(0);
      if (i === 0) blocks = row.map((g: unknown) => (g === undefined ? undefined : jacobianBlock(g, m)));
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
export {
  numericGrad,
  checkGradient,
  relativeError,
  type NumericGradOptions,
  type CheckGradientOptions,
  type GradientCheckEntry,
  type GradientCheckResult,
} from "./check.js";
export { ValueStack, discarded, saved, scratch, unboxed } from "./stack.js";
export { Workspace } from "./workspace.js";
export { checkFinite, NonFiniteGradientError } from "./finite.js";
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
