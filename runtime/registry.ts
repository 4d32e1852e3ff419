// The registry generated code fills in (registerGradient), and the checks at tsgrad's API boundary
// that read it (runtime/index.ts's entry points): f's signature, its counts and names.
// Generated f_grad checks nothing: it is the hot path, and a static `grad(f)` compiles to it. The
// entry points below run once per call and afford a few comparisons: the argument count against
// f's parameters, gradInto's buffers against the arguments, backward's dout against the value.
// Each failure names the call, the function and the parameter, by index and by the name f's
// source gives it:
//   grad(mul)(1, 2, 3)    → TypeError: tsgrad: grad(mul) expects 2 arguments (x, y), got 3
// instead of a gradient of NaNs or a truncated one.

import { describeShape, gradientMismatch, outputMismatch, shapeDifference, type Mismatch } from "./tree.js";

/** What generated code registers for each differentiable function. */
export interface CompiledGradient {
  /** Absent for a function that returns an array (it has vjp and jacobian, no gradient). */
  grad?: (...args: any[]) => any[];
  /**
   * f's parameters as declared (`"x"`, or a pattern's text `"{ w, c }"`), for the run-time checks'
   * messages and counts; one that may be left out (optional, or with a default) ends in `?` (`"k?"`).
   */
  params?: readonly string[];
  /**
   * The indices of f's data parameters (Int32Array labels, modes, flags, enums): no gradient, an
   * `undefined` slot; numericGrad and checkGradient do not move them. Absent when there are none.
   */
  data?: readonly number[];
  /** f_grad with every gradient checked (f_gradChecked), where the build generated it: grad(f, { checkFinite: true }). */
  gradChecked?: (...args: any[]) => any[];
  /** f_gradInto(grads, ...args): f_grad into the buffers of an earlier result (older builds have none). */
  gradInto?: (grads: any, ...args: any[]) => any;
  forward: (...args: any[]) => { value: any; cache: unknown };
  backward: (cache: any, dout: any) => any[];
}

export const registry = new WeakMap<Function, CompiledGradient>();

/** Called by generated code: `registerGradient(f, { grad: f_grad, forward: f_forward, backward: f_backward })`. */
export function registerGradient<F extends Function>(f: F, compiled: CompiledGradient): F {
  registry.set(f, compiled);
  wrappers.delete(f); // wrappers of an earlier registration (a module loaded again) call its functions
  signatures.delete(f);
  return f;
}

/** True when `f` was compiled by tsgrad's transformer (or code generator). */
export function isDifferentiable(f: Function): boolean {
  return registry.has(f);
}

/** f's parameters, as the compiler registered them: for the counts and the messages. */
interface Signature {
  /** f.name, or "<anonymous>". */
  fn: string;
  /** Each parameter's name; undefined for a destructuring pattern, and none when f registered no names. */
  names: (string | undefined)[];
  /** The parameter list as messages show it: "x, y", "{ w, c }, x"; "" without names. */
  list: string;
  /** Fewest arguments accepted: f.length. */
  min: number;
  /** Most arguments accepted: the parameters registered; Infinity when f registered none. */
  max: number;
  /** Indices `wrt` may take, 0 to parameters - 1. */
  parameters: number;
}

const signatures = new WeakMap<Function, Signature>();

export function signatureOf(f: Function): Signature {
  let sig = signatures.get(f);
  if (!sig) signatures.set(f, (sig = readSignature(f, registry.get(f)?.params)));
  return sig;
}

const IDENTIFIER = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*$/u;

/**
 * The signature from the parameter list generated code registers (the transformer knows it; a
 * @differentiable function has no rest parameters, and marks those that may be left out with `?`):
 *   ["x", "y"]           → { names: ["x", "y"], list: "x, y", min: 2, max: 2 }
 *   ["x", "k?"]          → { names: ["x", "k"], list: "x, k?", min: 1, max: 2 }   (k optional or defaulted)
 *   ["{ w, c }", "x"]    → { names: [undefined, "x"], list: "{ w, c }, x" }
 *   undefined (an older build, or registered by hand) → only f.length: too few arguments are still
 *   caught, parameters are named by index.
 * The fewest arguments is f.length (JavaScript stops counting at a default) or fewer, when the last
 * parameters are optional (`scale?: number` counts in f.length).
 */
function readSignature(f: Function, params: readonly string[] | undefined): Signature {
  const fn = f.name || "<anonymous>";
  if (!params || params.length < f.length)
    return { fn, names: [], list: "", min: f.length, max: Infinity, parameters: f.length };
  const shown = params.map((p) =>
    p.length <= 24 ? p : `${p[0]}…${p[0] === "{" ? "}" : "]"}${p.endsWith("?") ? "?" : ""}`,
  );
  const bare = params.map((p) => (p.endsWith("?") ? p.slice(0, -1) : p));
  const required = params.reduce((n, p, i) => (p.endsWith("?") ? n : i + 1), 0);
  return {
    fn,
    names: bare.map((p) => (IDENTIFIER.test(p) ? p : undefined)),
    list: shown.join(", "),
    min: Math.min(f.length, required),
    max: params.length,
    parameters: params.length,
  };
}

/** The indices of f's data parameters, as its registration lists them (none for a function registered without). */
export function dataParameters(f: Function): readonly number[] {
  return registry.get(f)?.data ?? [];
}

/** f's parameters as its registration lists them (`["x", "k?"]`), if it does. */
export function registeredParameters(f: Function): readonly string[] | undefined {
  return registry.get(f)?.params;
}

/** "2 arguments (x, y)", "1 to 2 arguments (x, k?)", "at least 1 argument (x, ...rest)", "at least 2 arguments". */
function expected(sig: Signature): string {
  const { min, max } = sig;
  const [count, last] =
    min === max ? [`${min}`, min] : max === Infinity ? [`at least ${min}`, min] : [`${min} to ${max}`, max];
  return `${count} argument${last === 1 ? "" : "s"}${sig.list ? ` (${sig.list})` : ""}`;
}

/** tsgrad: grad(mul) expects 2 arguments (x, y), got 3 */
function countError(sig: Signature, api: string, got: number, after = ""): TypeError {
  return new TypeError(`tsgrad: ${api}(${sig.fn}) expects ${expected(sig)}${after}, got ${got}`);
}

export function checkCount(sig: Signature, api: string, got: number): void {
  if (got < sig.min || got > sig.max) throw countError(sig, api, got);
}

/** A parameter (and a field inside it) as messages name it: "W", "layer.W"; "args[1]", "args[1].W" when the source gives no name. */
function argumentName(sig: Signature, i: number, path = ""): string {
  return `${sig.names[i] ?? `args[${i}]`}${path}`;
}

/** x, y: the names of the parameters wrt lists (all of them without wrt). */
function namesOf(sig: Signature, indices: readonly number[] | undefined): string {
  return indices ? indices.map((i) => argumentName(sig, i)).join(", ") : sig.list;
}

/**
 * wrt checked once, when grad(f, { wrt }) is called; then the picker of those gradients:
 *   picker([1, 0], sig of mul)(all) → [all[1], all[0]];  picker([2], sig of mul) → RangeError
 */
export function picker(
  wrt: readonly number[] | undefined,
  sig: Signature,
  api: string,
): ((all: any[]) => any) | undefined {
  if (wrt === undefined) return undefined;
  if (!Array.isArray(wrt)) {
    throw new TypeError(
      `tsgrad: ${api}(${sig.fn}): wrt must be an array of parameter indices, such as { wrt: [0] }; got ${describeShape(wrt)}`,
    );
  }
  const count = sig.parameters;
  for (const i of wrt) {
    if (!Number.isInteger(i) || i < 0 || i >= count) {
      const of = count === Infinity ? "with a rest parameter" : `of ${count} parameter${count === 1 ? "" : "s"}`;
      const takes = count === Infinity ? "integers from 0" : count === 0 ? "no index" : `integers 0 to ${count - 1}`;
      const index = typeof i === "string" ? `"${i}"` : String(i);
      throw new RangeError(
        `tsgrad: ${api}(${sig.fn}): wrt index ${index} is out of range for a function ${of}${sig.list ? ` (${sig.list})` : ""}: wrt takes ${takes}`,
      );
    }
  }
  return (all) => wrt.map((i) => all[i]);
}

/**
 * Throws when `grads` cannot take the gradients of `args` (as passed to gradInto: grads first):
 * an array of one gradient per parameter (per wrt index), each of its argument's kind and size.
 *   gradInto(loss)([new Float64Array(2)], Float64Array.of(1, 2, 3))
 *   → RangeError: tsgrad: gradInto(loss): grads[0] (W) is a Float64Array of length 2, but the argument W has length 3
 */
function checkGrads(
  sig: Signature,
  api: string,
  wrt: readonly number[] | undefined,
  grads: unknown,
  args: ArrayLike<unknown>,
  n: number,
): void {
  const want = wrt ? wrt.length : Number.isFinite(sig.max) ? sig.max : n;
  if (!Array.isArray(grads) || grads.length !== want) {
    const names = namesOf(sig, wrt);
    const per = `one per ${wrt ? "wrt index" : "parameter"}${names ? ` (${names})` : ""}, as grad(${sig.fn}${wrt ? ", { wrt }" : ""}) returns them`;
    if (!Array.isArray(grads))
      throw new TypeError(
        `tsgrad: ${api}(${sig.fn}): grads is ${describeShape(grads)}, but must be an array of ${want} gradient${want === 1 ? "" : "s"}, ${per}`,
      );
    throw new RangeError(
      `tsgrad: ${api}(${sig.fn}): grads has ${grads.length} entr${grads.length === 1 ? "y" : "ies"}, but needs ${want}, ${per}`,
    );
  }
  for (let k = 0; k < want; k++) {
    const i = wrt ? wrt[k] : k;
    const m = gradientMismatch(grads[k], args[i + 1]);
    if (m) throw gradsError(sig, api, k, i, m);
  }
}

/** tsgrad: gradInto(loss): grads[0] (W) is a Float64Array of length 2, but the argument W has length 3 */
function gradsError(sig: Signature, api: string, k: number, i: number, m: Mismatch): Error {
  const name = argumentName(sig, i, m.path);
  const { text, size } = shapeDifference(m.got, m.want);
  const error = size ? RangeError : TypeError;
  return new error(
    `tsgrad: ${api}(${sig.fn}): grads[${k}]${m.path} (${name}) is ${describeShape(m.got)}, but ${sig.names[i] ? "the argument " : ""}${name} ${text}`,
  );
}

/** tsgrad: vjp(softmaxOf).backward(dout): dout is a number, but the value is a Float64Array of length 3 (dout has the shape of the value) */
export function checkOutput(sig: Signature, dout: unknown, value: unknown): void {
  const m = outputMismatch(dout, value);
  if (!m) return;
  const { text, size } = shapeDifference(m.got, m.want, true);
  const error = size ? RangeError : TypeError;
  throw new error(
    `tsgrad: vjp(${sig.fn}).backward(dout): dout${m.path} is ${describeShape(m.got)}, but ${m.path ? `value${m.path}` : "the value"} ${text} (dout has the shape of the value ${sig.fn} returned)`,
  );
}

/** The wrappers of grad(f) and gradInto(f) without wrt, made once per function: the hot path of a dynamic `f`. */
const wrappers = new WeakMap<
  Function,
  { grad?: (...args: any[]) => any; gradInto?: (grads: any, ...args: any[]) => any }
>();

export function wrappersOf(f: Function) {
  let w = wrappers.get(f);
  if (!w) wrappers.set(f, (w = {}));
  return w;
}

/**
 * f_grad behind a count of its arguments: grad(mul)(1, 2, 3) → TypeError instead of a result with
 * NaNs (too few) or a gradient of the first two (too many). `arguments` and apply, not rest
 * parameters and a spread: V8 passes them on without allocating an array.
 */
export function countChecked(g: (...args: any[]) => any, sig: Signature, api: string): (...args: any[]) => any {
  const { min, max } = sig;
  return function (this: unknown) {
    if (arguments.length < min || arguments.length > max) throw countError(sig, api, arguments.length);
    return g.apply(this, arguments as unknown as any[]);
  };
}

/**
 * f_gradInto (or the copying fallback) behind the checks of the count and of grads' buffers.
 * The first 8 arguments are named parameters, read as such: an indexed read `arguments[k]` makes
 * V8 allocate the arguments object (~50 bytes a call, measured), where `into.apply(this,
 * arguments)` alone does not, so a training step still allocates nothing here. With wrt, more
 * arguments, or a buffer that does not fit, checkGrads walks `arguments` (and says what is wrong).
 */
export function intoChecked(
  into: (grads: any, ...args: any[]) => any,
  sig: Signature,
  api: string,
  wrt?: readonly number[],
): (grads: any, ...args: any[]) => any {
  const { min, max } = sig;
  const fits = (g: unknown, a: unknown) => typeof a !== "object" || gradientMismatch(g, a) === undefined;
  return function (
    this: unknown,
    grads: any,
    a0?: unknown,
    a1?: unknown,
    a2?: unknown,
    a3?: unknown,
    a4?: unknown,
    a5?: unknown,
    a6?: unknown,
    a7?: unknown,
  ) {
    const n = arguments.length - 1;
    if (n < min || n > max) throw countError(sig, api, n, " after grads");
    const quick =
      !wrt &&
      n <= 8 &&
      Array.isArray(grads) &&
      grads.length === (max === Infinity ? n : max) &&
      fits(grads[0], a0) &&
      fits(grads[1], a1) &&
      fits(grads[2], a2) &&
      fits(grads[3], a3) &&
      fits(grads[4], a4) &&
      fits(grads[5], a5) &&
      fits(grads[6], a6) &&
      fits(grads[7], a7);
    if (!quick) checkGrads(sig, api, wrt, grads, arguments, n);
    return into.apply(this, arguments as unknown as [unknown, ...unknown[]]);
  };
}
