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

import fc from "fast-check";
import { CompileError, type Compile, type Module } from "./compile.js";
import { functionsOf, programArbitrary, programSource, type Program, type Sizes } from "./programs.js";
import { knownBugIn } from "./known-bugs.js";
import { acceptedPoints, defaultLimits, type Limits, type Oracle } from "./reference.js";

export const TOL = 1e-5;
export const AGREE = 1e-6;
// f_grad and vjp's backward pass may round differently; a small gradient left after cancellation
// keeps that rounding in full.
export const VJP_TOL = 1e-9;

/** |a - b| <= tol max(1, |a| + |b|), both finite (Infinity would be "close" to anything). */
const close = (a: number, b: number, tol: number) =>
  Number.isFinite(a) && Number.isFinite(b) && Math.abs(a - b) <= tol * Math.max(1, Math.abs(a) + Math.abs(b));

/** What the module of one program exports besides its functions. */
export const MODULE_HEADER = `export { saved as __saved, grad as __grad, valueAndGrad as __valueAndGrad, vjp as __vjp } from "tsgrad";\n\n`;

export type Result =
  | { status: "pass"; points: number }
  | { status: "skip"; reasons: string[] }
  | { status: "fail"; message: string };

export interface CheckOptions {
  /** Accepted points checked per program. */
  maxPoints: number;
  limits: Limits;
  /** Also check programs that may trigger a bug listed in known-bugs.ts (skipped by default). */
  includeKnownBugs: boolean;
}
const defaultOptions: CheckOptions = { maxPoints: 2, limits: defaultLimits, includeKnownBugs: false };

/**
 * Compiles `program` with `compile` and checks f, then each helper (they are @differentiable
 * functions too), at up to maxPoints accepted points each.
 */
export async function checkProgram(program: Program, compile: Compile, options: Partial<CheckOptions> = {}): Promise<Result> {
  const { maxPoints, limits } = { ...defaultOptions, ...options };
  const oracles = functionsOf(program).map(([name]) => ({ name, ...acceptedPoints(program, maxPoints, limits, name) }));
  const points = oracles.reduce((n, o) => n + o.accepted.length, 0);
  if (!points) return { status: "skip", reasons: oracles.flatMap((o) => o.rejected) };
  const source = programSource(program);
  let m: Module;
  try {
    m = await compile(MODULE_HEADER + source);
  } catch (e) {
    const why = e instanceof CompileError ? e.message : String((e as Error)?.stack ?? e);
    return { status: "fail", message: report(source, "", undefined, `does not compile, or its output does not load:\n${why}`) };
  }
  for (const { name, accepted } of oracles) {
    for (const o of accepted) {
      let problem: string | undefined;
      try {
        problem = checkAt(m, name, o);
      } catch (e) {
        problem = `threw ${String((e as Error)?.stack ?? e)}`;
      }
      if (problem) return { status: "fail", message: report(source, name, o, problem) };
    }
  }
  return { status: "pass", points };
}

/** Checks function `name` of the compiled module at one accepted point. */
function checkAt(m: Module, name: string, o: Oracle): string | undefined {
  const p = o.point;
  const n = p.length;
  const f = m[name];
  const value = f(...p);
  if (!Object.is(value, o.value)) return `${name}(...) = ${value}, but the reference twin computes ${o.value} (the fuzzer's printer, or the transformer changed ${name})`;

  const depth = m.__saved.size;
  const g: number[] = m[`${name}_grad`](...p);
  if (m.__saved.size !== depth) return `${name}_grad left the shared saved-value stack at ${m.__saved.size} values (was ${depth})`;
  if (!Array.isArray(g) || g.length !== n) return `${name}_grad returned ${JSON.stringify(g)}, not ${n} numbers`;
  for (let i = 0; i < n; i++) {
    const estimates = o.estimates[i];
    if (estimates.some((d) => close(g[i], d, TOL))) continue;
    const confident = estimates.some((d, j) => estimates.some((e, k) => k > j && close(d, e, AGREE)));
    if (confident || !Number.isFinite(g[i])) {
      return `${name}_grad(...)[${i}] = ${g[i]}, but finite differences give ${estimates.join(" / ")}\n  ${name}_grad:${" ".repeat(Math.max(1, 14 - name.length))}[${g.join(", ")}]\n  finite differences: [${o.estimates.map((es) => es[0]).join(", ")}]`;
    }
  }

  const viaGrad: number[] = m.__grad(f)(...p);
  if (!viaGrad.every((x, i) => Object.is(x, g[i]))) return `grad(${name}) gives [${viaGrad}], ${name}_grad [${g}]`;
  const vg = m.__valueAndGrad(f)(...p);
  if (!Object.is(vg.value, value) || !vg.grad.every((x: number, i: number) => close(x, g[i], VJP_TOL))) {
    return `valueAndGrad(${name}) gives ${vg.value} and [${vg.grad}]; ${name} gives ${value}, ${name}_grad [${g}]`;
  }
  const { value: v, backward } = m.__vjp(f)(...p);
  if (!Object.is(v, value)) return `vjp(${name}) value ${v}, ${name}'s value ${value}`;
  const b1: number[] = backward(1);
  const b2: number[] = backward(1);
  const b3: number[] = backward(-2);
  if (m.__saved.size !== depth) return `vjp left the shared saved-value stack at ${m.__saved.size} values (was ${depth})`;
  if (!b1.every((x, i) => close(x, g[i], VJP_TOL))) return `vjp(${name}) backward(1) = [${b1}], ${name}_grad = [${g}]`;
  if (!b2.every((x, i) => Object.is(x, b1[i]))) return `vjp(${name}) backward(1) twice: [${b1}] then [${b2}]`;
  if (!b3.every((x, i) => x === -2 * b1[i])) return `vjp(${name}) backward(-2) = [${b3}], -2 backward(1) = [${b1.map((x) => -2 * x)}]`;
  return undefined;
}

function report(source: string, name: string, o: Oracle | undefined, problem: string): string {
  const where = o ? `at ${name}(${o.point.join(", ")}) = ${o.value}: ` : "";
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
export function gradientProperty(compile: Compile, stats: Stats = emptyStats(), sizes: Partial<Sizes> = {}, options: Partial<CheckOptions> = {}) {
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
