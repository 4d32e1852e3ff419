// The property: the gradients tsgrad compiles for a random program's functions (f and its
// helpers h0, h1, ...) agree with finite differences of the program itself, and their vjp with
// their f_grad.
//
// Takes a Program and a compiler; gives pass, skip (no candidate point the oracle accepts, so
// nothing was compiled) or fail with a report that shows the program as TypeScript, the point,
// and what disagreed. Checked at each accepted point:
//   1. f's value is the reference twin's, exactly (else the fuzzer's printer is wrong);
//   2. f_grad leaves the shared saved-value stack as it found it, returns one finite number per
//      parameter, and each agrees with finite differences: |g - d| <= 1e-5 max(1, |g| + |d|) for
//      some trusted estimate d; it fails only when two estimates agree with each other to 1e-6 and
//      g is further than 1e-5 from both (so a wrong gradient is told from a poor estimate);
//   3. grad(f) from the runtime is f_grad; valueAndGrad(f) gives f's value and f_grad; vjp(f)'s
//      value is f's, exactly; backward(1) is f_grad (to 1e-9), a second backward(1) gives the
//      same, and backward(-2) is -2 backward(1) exactly: scaling by a power of 2 rounds nothing,
//      so any difference is a term that does not scale with the output's gradient. (With -2.5 a
//      gradient of 1e-5 left after cancelling terms of 1e7 differed in its fourth digit.)
//   4. gradInto(f) writes f_grad into the gradients it is given (arrays filled with junk first,
//      which it must zero), in place, and returns them; vjp's backward runs after another f_grad
//      (its cache must not share the stacks f_grad reuses); neither stack (saved, scratch) is left
//      changed, and no argument is written.
// The gradient of an array parameter must be an array of the same kind (Float64Array for
// Float64Array, an Array for number[] and readonly number[]) and length; it is compared element by
// element with the finite differences of the point's coordinates that element takes.
// The gradient of an object parameter is an object of the same keys (in order), each field's
// gradient of its kind, nested objects included; it is flattened field by field, depth first, as
// the point is (programs.ts argsOf), and a disagreeing number is named by its path (`[0].m2.w4[1]`).
// gradInto must refill every buffer of it in place (the nested objects and arrays it was given).
// The gradient of a data parameter (a mode, a flag, an enum) must be `undefined` in its slot
// (DATA_GRADIENT), and jacobian has no block for it.
// f returning `{ s, u }` is checked like f returning an array, seeded with an object of the same
// keys, and its jacobian has an object of blocks for an object parameter.

import fc from "fast-check";
import { CompileError, type Compile, type Module } from "./compile.js";
import {
  argsOf,
  functionsOf,
  isData,
  isObj,
  keysOf,
  programArbitrary,
  programSource,
  type ParamType,
  type Program,
  type Sizes,
} from "./programs.js";
import { knownBugIn } from "./known-bugs.js";
import { OUTPUT_WEIGHTS, acceptedPoints, defaultLimits, type Limits, type Oracle } from "./reference.js";

export const TOL = 1e-5;
export const AGREE = 1e-6;
// f_grad and vjp's backward pass may round differently; a small gradient left after cancellation
// keeps that rounding in full.
export const VJP_TOL = 1e-9;
/**
 * The gradient of a data parameter (a mode, a flag, an enum): tsgrad puts `undefined` in its slot
 * (test/parameters.test.ts), in f_grad's, grad's, gradInto's and vjp's results, and jacobian has no
 * block for it. One place to change if that convention does.
 */
export const DATA_GRADIENT = undefined;

/** |a - b| <= tol max(1, |a| + |b|), both finite (Infinity would be "close" to anything). */
const close = (a: number, b: number, tol: number) =>
  Number.isFinite(a) && Number.isFinite(b) && Math.abs(a - b) <= tol * Math.max(1, Math.abs(a) + Math.abs(b));

/** What the module of one program exports besides its functions. */
export const MODULE_HEADER = `export { saved as __saved, scratch as __scratch, grad as __grad, gradInto as __gradInto, valueAndGrad as __valueAndGrad, vjp as __vjp, jacobian as __jacobian } from "tsgrad";\n\n`;

export type Result =
  { status: "pass"; points: number } | { status: "skip"; reasons: string[] } | { status: "fail"; message: string };

export interface CheckOptions {
  /** Accepted points checked per program. */
  maxPoints: number;
  limits: Limits;
  /** Also check programs that may trigger a bug listed in known-bugs.ts (skipped by default). */
  includeKnownBugs: boolean;
}
const defaultOptions: CheckOptions = { maxPoints: 2, limits: defaultLimits, includeKnownBugs: false };

/**
 * Compiles `program` with `compile` and checks f, then each marked helper (they are
 * @differentiable functions too), at up to maxPoints accepted points each.
 */
export async function checkProgram(
  program: Program,
  compile: Compile,
  options: Partial<CheckOptions> = {},
): Promise<Result> {
  const { maxPoints, limits } = { ...defaultOptions, ...options };
  // (an unmarked helper has no gradient of its own: it is checked through its callers)
  const oracles = functionsOf(program)
    .filter(([, t]) => !t.unmarked)
    .map(([name]) => ({ name, ...acceptedPoints(program, maxPoints, limits, name) }));
  const points = oracles.reduce((n, o) => n + o.accepted.length, 0);
  if (!points) return { status: "skip", reasons: oracles.flatMap((o) => o.rejected) };
  const source = programSource(program);
  let m: Module;
  try {
    m = await compile(MODULE_HEADER + source);
  } catch (e) {
    const why = e instanceof CompileError ? e.message : String((e as Error)?.stack ?? e);
    return {
      status: "fail",
      message: report(source, "", [], undefined, `does not compile, or its output does not load:\n${why}`),
    };
  }
  const params = new Map(functionsOf(program));
  for (const { name, accepted } of oracles) {
    for (const o of accepted) {
      let problem: string | undefined;
      try {
        problem = checkAt(m, name, params.get(name)!.params, o);
      } catch (e) {
        problem = `threw ${String((e as Error)?.stack ?? e)}`;
      }
      if (problem) return { status: "fail", message: report(source, name, params.get(name)!.params, o, problem) };
    }
  }
  return { status: "pass", points };
}

type Arg = any;

/**
 * A gradient (f_grad's, vjp's, ...) as the point's coordinates, after checking its shape:
 * for (x: number, y: Float64Array of 2), [0.5, Float64Array [1, 2]] → [0.5, 1, 2];
 * [0.5, [1, 2]] → "`what`[1] is an Array, not a Float64Array of 2".
 */
export function flatGradient(params: readonly ParamType[], g: unknown, what: string): number[] | string {
  if (!Array.isArray(g) || g.length !== params.length)
    return `${what} returned ${show(g)}, not ${params.length} gradients`;
  const keys = keysOf(params);
  const flat: number[] = [];
  const one = (t: ParamType, gi: any, at: string): string | undefined => {
    if (t === "number") {
      if (typeof gi !== "number") return `${what}${at} is ${show(gi)}, not a number`;
      flat.push(gi);
      return undefined;
    }
    if (isData(t)) {
      return Object.is(gi, DATA_GRADIENT)
        ? undefined
        : `${what}${at} is ${show(gi)}, not ${show(DATA_GRADIENT)} (the gradient of a data parameter, ${t.data})`;
    }
    if (isObj(t)) {
      const ks = keys.get(t)!;
      const plain = typeof gi === "object" && gi !== null && !Array.isArray(gi) && !ArrayBuffer.isView(gi);
      if (!plain || Object.keys(gi).join() !== ks.join())
        return `${what}${at} is ${show(gi)}, not an object of the keys ${ks.join(", ")} (the gradient of an object)`;
      for (let j = 0; j < ks.length; j++) {
        const wrong = one(t.obj[j].t, gi[ks[j]], `${at}.${ks[j]}`);
        if (wrong) return wrong;
      }
      return undefined;
    }
    const kind = t.array === "Float64Array" ? "Float64Array" : "Array";
    const ok =
      kind === "Float64Array"
        ? gi instanceof Float64Array
        : Array.isArray(gi) && gi.every((v) => typeof v === "number");
    if (!ok || gi.length !== t.n)
      return `${what}${at} is ${show(gi)}, not ${kind === "Array" ? "an Array" : "a Float64Array"} of ${t.n} numbers (the gradient of a ${t.array})`;
    flat.push(...gi);
    return undefined;
  };
  for (let i = 0; i < params.length; i++) {
    const wrong = one(params[i], g[i], `[${i}]`);
    if (wrong) return wrong;
  }
  return flat;
}

/** The path of every coordinate: (x: number, y: array of 2, z: { s0: number }) → ["[0]", "[1][0]", "[1][1]", "[2].s0"]. */
export function coordinates(params: readonly ParamType[]): string[] {
  const keys = keysOf(params);
  const out: string[] = [];
  const one = (t: ParamType, at: string): void => {
    if (t === "number") out.push(at);
    else if (isData(t)) return;
    else if (isObj(t)) t.obj.forEach((f, j) => one(f.t, `${at}.${keys.get(t)![j]}`));
    else for (let k = 0; k < t.n; k++) out.push(`${at}[${k}]`);
  };
  params.forEach((t, i) => one(t, `[${i}]`));
  return out;
}

/** Which gradient a coordinate is: (x: number, y: array) → 0: "[0]", 2: "[1][1]". */
function coordinate(params: readonly ParamType[], k: number): string {
  return coordinates(params)[k] ?? `[?${k}]`;
}

/**
 * Every array and object inside the gradients of a list (not the list itself), depth first, for
 * gradInto's in-place check; with `junk`, numbers in objects are set to it and arrays filled with it.
 */
function buffersOf(g: unknown, junk?: number, out: object[] = []): object[] {
  if (Array.isArray(g) && g.some((x) => typeof x === "object")) {
    for (const x of g) buffersOf(x, junk, out);
  } else if (g instanceof Float64Array || Array.isArray(g)) {
    out.push(g);
    if (junk !== undefined) g.fill(junk);
  } else if (typeof g === "object" && g !== null) {
    out.push(g);
    for (const [k, v] of Object.entries(g)) {
      if (typeof v !== "number") buffersOf(v, junk, out);
      else if (junk !== undefined) (g as Record<string, number>)[k] = junk;
    }
  }
  return out;
}

/** Arguments as a call would spell them: 0.5, Float64Array.of(1, 2), [3] */
function showArgs(args: readonly unknown[]): string {
  return args.map(show).join(", ");
}

function show(x: unknown): string {
  if (x instanceof Float64Array) return `Float64Array.of(${Array.from(x).join(", ")})`;
  if (Array.isArray(x)) return `[${x.map(show).join(", ")}]`;
  if (typeof x === "object" && x !== null && !ArrayBuffer.isView(x))
    return `{ ${Object.entries(x)
      .map(([k, v]) => `${k}: ${show(v)}`)
      .join(", ")} }`;
  return typeof x === "number" ? String(x) : (JSON.stringify(x) ?? String(x));
}

/** Checks function `name` (of these parameters) of the compiled module at one accepted point. */
function checkAt(m: Module, name: string, params: readonly ParamType[], o: Oracle): string | undefined {
  if (o.outputs) return checkArrayValuedAt(m, name, params, o);
  // fresh arguments for every call: one a gradient wrote into cannot hide it from the next
  const args = (): Arg[] => argsOf(params, o.point);
  const f = m[name];
  const value = f(...args());
  if (!Object.is(value, o.value))
    return `${name}(...) = ${value}, but the reference twin computes ${o.value} (the fuzzer's printer, or the transformer changed ${name})`;

  const stacks = () => `saved ${m.__saved.size}, scratch ${m.__scratch.size}`;
  const depth = stacks();
  const given = args();
  const g = flatGradient(params, m[`${name}_grad`](...given), `${name}_grad(...)`);
  if (stacks() !== depth) return `${name}_grad left the shared stacks at ${stacks()} values (was ${depth})`;
  if (typeof g === "string") return g;
  if (show(given) !== show(args())) return `${name}_grad changed its arguments to ${showArgs(given)}`;
  const wrong = againstDifferences(`${name}_grad`, params, g, o);
  if (wrong) return wrong;

  const viaGrad = flatGradient(params, m.__grad(f)(...args()), `grad(${name})(...)`);
  if (typeof viaGrad === "string") return viaGrad;
  if (!same(viaGrad, g, Object.is)) return `grad(${name}) gives [${viaGrad}], ${name}_grad [${g}]`;
  const vg = m.__valueAndGrad(f)(...args());
  const vgGrad = flatGradient(params, vg.grad, `valueAndGrad(${name})(...).grad`);
  if (typeof vgGrad === "string") return vgGrad;
  if (!Object.is(vg.value, value) || !same(vgGrad, g, (a, b) => close(a, b, VJP_TOL))) {
    return `valueAndGrad(${name}) gives ${vg.value} and [${vgGrad}]; ${name} gives ${value}, ${name}_grad [${g}]`;
  }

  // gradInto: the arrays of an earlier result, filled with junk, zeroed and refilled in place
  const grads = m.__grad(f)(...args());
  grads.forEach((x: Arg, i: number) => typeof x === "number" && (grads[i] = 1e3));
  // arrays (nested ones included) filled with junk, numbers in objects overwritten with it
  const inside = (x: Arg, junk?: number): object[] => (typeof x === "object" && x !== null ? buffersOf([x], junk) : []);
  const buffers = grads.map((x: Arg) => inside(x, 1e3));
  const into = m.__gradInto(f)(grads, ...args());
  if (
    into !== grads ||
    grads.some((x: Arg, i: number) => {
      const now = inside(x);
      return now.length !== buffers[i].length || now.some((b, j) => b !== buffers[i][j]);
    })
  ) {
    return `gradInto(${name}) did not fill the gradients it was given in place (every array and object of them)`;
  }
  const viaInto = flatGradient(params, into, `gradInto(${name})(...)`);
  if (typeof viaInto === "string") return viaInto;
  if (!same(viaInto, g, (a, b) => a === b)) return `gradInto(${name}) gives [${viaInto}], ${name}_grad [${g}]`;
  if (stacks() !== depth)
    return `grad, valueAndGrad or gradInto left the shared stacks at ${stacks()} values (was ${depth})`;

  const { value: v, backward } = m.__vjp(f)(...args());
  if (!Object.is(v, value)) return `vjp(${name}) value ${v}, ${name}'s value ${value}`;
  m[`${name}_grad`](...args()); // between the forward and the backward pass
  const b1 = flatGradient(params, backward(1), `vjp(${name}) backward(1)`);
  const b2 = flatGradient(params, backward(1), `vjp(${name}) backward(1)`);
  const b3 = flatGradient(params, backward(-2), `vjp(${name}) backward(-2)`);
  if (stacks() !== depth) return `vjp left the shared stacks at ${stacks()} values (was ${depth})`;
  for (const b of [b1, b2, b3]) if (typeof b === "string") return b;
  const [one, again, minus2] = [b1, b2, b3] as number[][];
  if (!same(one, g, (a, b) => close(a, b, VJP_TOL)))
    return `vjp(${name}) backward(1) = [${one}], ${name}_grad = [${g}]`;
  if (!same(again, one, Object.is)) return `vjp(${name}) backward(1) twice: [${one}] then [${again}]`;
  if (!same(minus2, one, (a, b) => a === -2 * b))
    return `vjp(${name}) backward(-2) = [${minus2}], -2 backward(1) = [${one.map((x) => -2 * x)}]`;
  return undefined;
}

const same = (x: number[], y: number[], eq: (a: number, b: number) => boolean) =>
  x.length === y.length && x.every((v, k) => eq(v, y[k]));

/**
 * A gradient against the oracle's finite differences, coordinate by coordinate: what disagrees
 * ("f_grad(...)[1][2] = 0.3, but finite differences give 0.5 / 0.5000001"), or undefined.
 */
function againstDifferences(what: string, params: readonly ParamType[], g: number[], o: Oracle): string | undefined {
  for (let k = 0; k < g.length; k++) {
    const estimates = o.estimates[k];
    if (estimates.some((d) => close(g[k], d, TOL))) continue;
    const confident = estimates.some((d, j) => estimates.some((e, i) => i > j && close(d, e, AGREE)));
    if (confident || !Number.isFinite(g[k])) {
      return `${what}(...)${coordinate(params, k)} = ${g[k]}, but finite differences give ${estimates.join(" / ")}\n  ${what}:${" ".repeat(Math.max(1, 18 - what.length))}[${g.join(", ")}]\n  finite differences: [${o.estimates.map((es) => es[0]).join(", ")}]`;
    }
  }
  return undefined;
}

/**
 * f returning an array of m numbers (f_grad does not exist): its outputs are the twin's exactly;
 * vjp's backward(w), w = OUTPUT_WEIGHTS, agrees with finite differences of Σ w_i f_i, is the same
 * twice, is linear (backward(-2w) = -2 backward(w)), and leaves w as it was; jacobian(f) has a
 * block of the right shape per parameter (a Float64Array of m for a number, an m × n Matrix for
 * an array), and Jᵀ w is backward(w).
 */
function checkArrayValuedAt(m: Module, name: string, params: readonly ParamType[], o: Oracle): string | undefined {
  const args = (): Arg[] => argsOf(params, o.point);
  const f = m[name];
  const out = f(...args());
  const outputs = o.outputs!;
  // f returning { s, u }: its outputs s, then u's elements; seeded with { s: w0, u: [w1, ...] } (u's kind)
  const objectValued = typeof out === "object" && out !== null && !Array.isArray(out) && !ArrayBuffer.isView(out);
  const flatOut = (v: any): number[] | undefined =>
    objectValued
      ? typeof v?.s === "number" &&
        (v.u instanceof Float64Array || Array.isArray(v.u)) &&
        Object.keys(v).join() === "s,u"
        ? [v.s, ...Array.from(v.u as ArrayLike<number>)]
        : undefined
      : v instanceof Float64Array || Array.isArray(v)
        ? Array.from(v)
        : undefined;
  const seedOf = (w: number[]): any =>
    objectValued ? { s: w[0], u: out.u instanceof Float64Array ? Float64Array.from(w.slice(1)) : w.slice(1) } : w;
  const fo = flatOut(out);
  if (!fo || !same(fo, outputs, Object.is)) {
    return `${name}(...) = ${show(out)}, but the reference twin computes [${outputs}] (the fuzzer's printer, or the transformer changed ${name})`;
  }
  const stacks = () => `saved ${m.__saved.size}, scratch ${m.__scratch.size}`;
  const depth = stacks();
  const w = outputs.map((_, i) => OUTPUT_WEIGHTS[i]);
  const given = args();
  const { value, backward } = m.__vjp(f)(...given);
  const fv = flatOut(value);
  if (!fv || !same(fv, outputs, Object.is)) return `vjp(${name}) value ${show(value)}, ${name}'s value [${outputs}]`;
  const seed = seedOf(w);
  const g = flatGradient(params, backward(seed), `vjp(${name}) backward(w)`);
  if (typeof g === "string") return g;
  if (show(seed) !== show(seedOf(w)))
    return `vjp(${name}) backward wrote into the output's gradient it was given: ${show(seed)}`;
  if (show(given) !== show(args())) return `vjp(${name}) changed its arguments to ${showArgs(given)}`;
  const wrong = againstDifferences(`vjp(${name}) backward(w)`, params, g, o);
  if (wrong) return `${wrong}\n  (w = [${w}], the weights of ${name}'s outputs in the sum differentiated)`;
  const again = flatGradient(params, backward(seedOf(w)), `vjp(${name}) backward(w)`);
  const minus2 = flatGradient(params, backward(seedOf(w.map((x) => -2 * x))), `vjp(${name}) backward(-2w)`);
  if (typeof again === "string") return again;
  if (typeof minus2 === "string") return minus2;
  if (!same(again, g, Object.is)) return `vjp(${name}) backward(w) twice: [${g}] then [${again}]`;
  if (!same(minus2, g, (a, b) => a === -2 * b))
    return `vjp(${name}) backward(-2w) = [${minus2}], -2 backward(w) = [${g.map((x) => -2 * x)}]`;

  const blocks = m.__jacobian(f)(...args());
  const jw = jacobianTimes(params, blocks, w);
  if (typeof jw === "string") return `jacobian(${name}): ${jw}`;
  if (!same(jw, g, (a, b) => close(a, b, VJP_TOL)))
    return `jacobian(${name}) gives Jᵀw = [${jw}], vjp's backward(w) [${g}]`;
  if (stacks() !== depth) return `vjp or jacobian left the shared stacks at ${stacks()} values (was ${depth})`;
  return undefined;
}

/** Jᵀ w from jacobian(f)'s blocks, flattened like a gradient; or what is wrong with their shapes. */
function jacobianTimes(params: readonly ParamType[], blocks: unknown, w: number[]): number[] | string {
  if (!Array.isArray(blocks) || blocks.length !== params.length) return `${blocks} is not one block per parameter`;
  const keys = keysOf(params);
  const out: number[] = [];
  const one = (t: ParamType, b: any, at: string): string | undefined => {
    if (isData(t)) return b === undefined ? undefined : `block ${at} is ${show(b)}, not undefined (a data parameter)`;
    if (t === "number") {
      if (!(b instanceof Float64Array) || b.length !== w.length)
        return `block ${at} is ${show(b)}, not a Float64Array of ${w.length}`;
      out.push(w.reduce((s, wi, i) => s + wi * b[i], 0));
      return undefined;
    }
    if (isObj(t)) {
      const ks = keys.get(t)!;
      if (typeof b !== "object" || b === null || Object.keys(b).join() !== ks.join())
        return `block ${at} is ${show(b)}, not an object of blocks keyed ${ks.join(", ")}`;
      for (let j = 0; j < ks.length; j++) {
        const wrong = one(t.obj[j].t, b[ks[j]], `${at}.${ks[j]}`);
        if (wrong) return wrong;
      }
      return undefined;
    }
    const { rows, cols, data } = (b ?? {}) as { rows?: number; cols?: number; data?: Float64Array };
    if (rows !== w.length || cols !== t.n || !(data instanceof Float64Array))
      return `block ${at} is ${rows}×${cols}, not a ${w.length}×${t.n} Matrix`;
    for (let j = 0; j < t.n; j++) out.push(w.reduce((s, wi, i) => s + wi * data[i * t.n + j], 0));
    return undefined;
  };
  for (let p = 0; p < params.length; p++) {
    const wrong = one(params[p], blocks[p], String(p));
    if (wrong) return wrong;
  }
  return out;
}

function report(
  source: string,
  name: string,
  params: readonly ParamType[],
  o: Oracle | undefined,
  problem: string,
): string {
  const where = o
    ? `at ${name}(${showArgs(argsOf(params, o.point))}) = ${o.outputs ? `[${o.outputs.join(", ")}]` : o.value}: `
    : "";
  return `${where}${problem}\n\n${source}`;
}

export interface Stats {
  passed: number;
  /** Programs with no point where finite differences can be trusted. */
  skipped: number;
  /** Programs skipped because they may trigger a known bug. */
  known: number;
  points: number;
}
export const emptyStats = (): Stats => ({ passed: 0, skipped: 0, known: 0, points: 0 });

/**
 * The fast-check property over random programs. A program with no accepted point, or one that may
 * trigger a known bug, is a failed precondition (fast-check counts it as skipped and draws
 * another); a failure throws its report,
 * which fast-check shows for the smallest failing program it shrinks to.
 */
export function gradientProperty(
  compile: Compile,
  stats: Stats = emptyStats(),
  sizes: Partial<Sizes> = {},
  options: Partial<CheckOptions> = {},
) {
  return fc.asyncProperty(programArbitrary(sizes), async (program) => {
    if (!options.includeKnownBugs && knownBugIn(program)) {
      stats.known++;
      fc.pre(false);
    }
    const r = await checkProgram(program, compile, options);
    if (r.status === "skip") stats.skipped++;
    fc.pre(r.status !== "skip");
    if (r.status === "fail") throw new Error(r.message);
    stats.passed++;
    stats.points += r.status === "pass" ? r.points : 0;
  });
}
