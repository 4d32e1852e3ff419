// What one source file gets, decided before anything is emitted: its @differentiable functions
// (and the unmarked helpers they call) compiled, the pullbacks callers passing arrays need, a
// function refused when it calls a refused one, unused helpers' functions dropped, and where
// each function's generated code goes.
//   file → { compiled: f ↦ [f_grad, f_forward, f_backward], place: after f, diagnostics }

import ts from "typescript";
import {
  type Differentiable,
  exportedPullback,
  findDifferentiable,
  isStatementList,
  resolveFunction,
  strayTags,
} from "./phases/annotations.js";
import { customDerivatives } from "./phases/derivatives.js";
import { type DiffError, shortPosition, toDiagnostic, uniqueDiagnostics } from "./ir/diagnostics.js";
import { refuse } from "./ir/language.js";
import { type CompiledFunction, type Stage, compileFunction, compilePullback } from "./pipeline.js";
import {
  type FileContext,
  type PullbackRequest,
  type TransformOptions,
  REGISTER,
  fileContext,
  gradientReference,
  helperRefusal,
  pullbackOf,
  runtimeName,
} from "./link.js";
import { generatedNames } from "./ir/naming.js";
import { isArrayKind } from "./ir/ir.js";
import { kindOf } from "./ir/syntax.js";

/** What a file gets: compiled functions (by the user's function node), and the diagnostics of the refused ones. */
export interface FilePlan {
  ctx: FileContext;
  compiled: Map<ts.Node, CompiledFunction>;
  /** Where their generated code goes (placementOf). */
  place: Placement;
  diagnostics: ts.Diagnostic[];
  /** The runtime's registerGradient as the file names it (the user's own import of it, or one generated code adds). */
  register: string;
}

export function planFile(
  file: ts.SourceFile,
  program: ts.Program,
  stageName: Stage,
  commonJs = false,
  options: TransformOptions = {},
): FilePlan {
  const ctx = fileContext(file, program, commonJs, options);
  const diagnostics: ts.Diagnostic[] = [...derivativeProblems(program, file), ...strayTags(file).map(toDiagnostic)];
  const compiled = new Map<ts.Node, CompiledFunction>();
  const functions = findDifferentiable(file);
  // Unmarked helpers first: one tsgrad cannot differentiate is opaque to its callers, and its
  // reason is told only at a call a gradient flows through (ctx.helperErrors).
  const helpersFirst = [...functions.filter((d) => d.implicit), ...functions.filter((d) => !d.implicit)];
  for (const d of helpersFirst) {
    const result = compileFunction(d, ctx, stageName, ctx.wrts.get(d.fn) ?? []);
    if (!Array.isArray(result)) compiled.set(d.fn, result);
    else {
      if (d.implicit) ctx.helperErrors.set(d.fn, result[0]);
      else diagnostics.push(...result.map(toDiagnostic));
      ctx.refused.add(d.fn);
    }
  }
  if (stageName === "final") {
    requestExportedPullbacks(ctx, compiled);
    buildPullbacks(ctx, compiled, diagnostics);
  }
  // A function calling a refused one would call its missing g_grad: refused too, at the call,
  // and so on up the callers (until nothing changes: callers may come before their callees).
  // This file's functions answer from ctx.refused meanwhile, without being compiled again.
  for (const d of functions) refusals(program).set(d.fn, ctx.refused.has(d.fn));
  for (let changed = true; changed;) {
    changed = false;
    for (const d of functions) {
      const c = compiled.get(d.fn);
      const call = c ? callOfRefused(d, ctx, c.members) : undefined;
      if (!call) continue;
      compiled.delete(d.fn);
      ctx.refused.add(d.fn);
      if (d.implicit) ctx.helperErrors.set(d.fn, call);
      else diagnostics.push(toDiagnostic(call));
      changed = true;
    }
  }
  withoutUnusedHelpers(compiled);
  for (const d of functions) refusals(program).set(d.fn, ctx.refused.has(d.fn));
  const register = stageName === "final" && compiled.size > 0 ? runtimeName(ctx, REGISTER) : REGISTER;
  return { ctx, compiled, place: placementOf(compiled), diagnostics: uniqueDiagnostics(diagnostics), register };
}

/**
 * Keeps of an unmarked helper's generated functions (see implicitHelpers) only those other
 * generated functions call, and what those need: `toRad_grad` for callers in loops, not
 * `toRad_forward`; `clamp` read only in a condition needs none.
 */
function withoutUnusedHelpers(compiled: Map<ts.Node, CompiledFunction>): void {
  for (let changed = true; changed;) {
    changed = false;
    for (const [fn, c] of compiled) {
      if (!c.d.implicit) continue;
      const others = [...compiled.values()].filter((o) => o !== c).flatMap((o) => o.members);
      const used = generatedReferences(others);
      const kept = c.members.filter((m) => used.has(memberName(m)));
      // f_backward's type names f_forward: what the kept ones name is kept too.
      for (let more = true; more;) {
        const named = generatedReferences(kept);
        const next = c.members.filter((m) => !kept.includes(m) && named.has(memberName(m)));
        kept.push(...next);
        more = next.length > 0;
      }
      if (kept.length === c.members.length) continue;
      if (kept.length) compiled.set(fn, { ...c, members: c.members.filter((m) => kept.includes(m)) });
      else compiled.delete(fn);
      changed = true;
    }
  }
}

export const memberName = (m: ts.Statement | ts.ClassElement): string => {
  // const mean_pullback_arrays = new Workspace(): a pullback's workspace, kept with its pullback.
  const id = ts.isVariableStatement(m)
    ? m.declarationList.declarations[0].name
    : (m as ts.FunctionDeclaration | ts.MethodDeclaration).name;
  return id !== undefined && ts.isIdentifier(id) ? id.text : "";
};

/**
 * The pullbacks this file's callers asked for (see Pullback in ir/ir.ts), each placed among its
 * function's generated functions. Building one may ask for more (a helper passing its arrays on
 * to another), until none is new. A pullback tsgrad cannot build refuses its function, and so,
 * below, the callers of it.
 */
function buildPullbacks(ctx: FileContext, compiled: Map<ts.Node, CompiledFunction>, diagnostics: ts.Diagnostic[]) {
  const built = new Set<string>();
  for (let more = true; more;) {
    more = false;
    for (const requests of [...ctx.pullbacks.values()])
      for (const request of [...requests.values()]) {
        if (built.has(request.name)) continue;
        built.add(request.name);
        more = true;
        const c = compiled.get(request.callee.fn);
        if (!c) continue;
        const exported = isExportedPullback(request, ctx);
        const result = compilePullback(request.callee, ctx, request.wrt, request.name, exported);
        if (!Array.isArray(result)) c.members.push(...result.members);
        // One only exported, that no call here needs: left out; callers elsewhere are refused at the call.
        else if (!request.asked) continue;
        else {
          diagnostics.push(...result.map(toDiagnostic));
          compiled.delete(request.callee.fn);
          ctx.refused.add(request.callee.fn);
        }
      }
  }
}

/**
 * Asks, for each compiled exported function taking arrays, for its pullback of every parameter
 * (see exportedPullback), which callers in other modules call: `export function dot(a, w)` →
 * `export function dot_pullback(a, w, da, dw)`. Unasked: tsgrad leaves it out where it cannot
 * build it, and such callers are refused (importedPullbackProblem), not the function.
 */
function requestExportedPullbacks(ctx: FileContext, compiled: Map<ts.Node, CompiledFunction>): void {
  for (const c of compiled.values()) {
    const every = exportedPullback(c.d, ctx.checker);
    if (every && !c.vector) pullbackOf(c.d, ctx, every, false);
  }
}

/** Is `request` the pullback its function exports: the one of every parameter (the same name then)? */
function isExportedPullback(request: PullbackRequest, ctx: FileContext): boolean {
  const every = exportedPullback(request.callee, ctx.checker);
  return every !== undefined && every.join() === request.wrt.join();
}

/**
 * Where generated code goes, by the user's nodes (see Differentiable.anchor):
 *   after     a function or `const f = ...` statement: its functions and registerGradient(f, ...);
 *             the `const` holding an object literal: each member's, registerGradient(vec.dot, ...)
 *   before    the statement creating a closure: its functions (a statement that is the body of
 *             an `if` or a loop becomes a block holding both)
 *   body      an arrow whose expression body creates a closure: that body becomes a block,
 *             `{ function ..._grad(...) {...} ... return <the body>; }`
 *   closures  each closure, wrapped where it is created: registerGradient(<closure>, { ... })
 * A class's methods are placed in the class (withMethodGradients), not here.
 */
export interface Placement {
  after: Map<ts.Node, CompiledFunction[]>;
  before: Map<ts.Node, CompiledFunction[]>;
  body: Map<ts.Node, CompiledFunction[]>;
  closures: Map<ts.Node, CompiledFunction>;
}

function placementOf(compiled: ReadonlyMap<ts.Node, CompiledFunction>): Placement {
  const place: Placement = { after: new Map(), before: new Map(), body: new Map(), closures: new Map() };
  const add = (map: Map<ts.Node, CompiledFunction[]>, at: ts.Node, c: CompiledFunction) =>
    map.set(at, [...(map.get(at) ?? []), c]);
  for (const c of compiled.values()) {
    const { anchor, place: kind } = c.d;
    if (kind === "method") continue;
    if (kind !== "closure") add(place.after, anchor, c);
    else {
      add(ts.isArrowFunction(anchor) ? place.body : place.before, anchor, c);
      place.closures.set(c.d.fn, c);
    }
  }
  return place;
}

/** A statement that is the body of an `if` or a loop (not in a list), where a block must hold what goes before it. */
export const aloneInParent = (statement: ts.Node) => !isStatementList(statement.parent);

/** Per program: each @differentiable function met so far → whether tsgrad refuses it. */
const refusedByProgram = new WeakMap<ts.Program, Map<ts.Node, boolean>>();

function refusals(program: ts.Program): Map<ts.Node, boolean> {
  let known = refusedByProgram.get(program);
  if (!known) refusedByProgram.set(program, (known = new Map()));
  return known;
}

/**
 * Does tsgrad refuse `d`, or a function it calls? Compiled once per program, in its own file
 * (a callee in another module too); a function in a recursion cycle counts as accepted while its
 * own answer is being worked out.
 */
function isRefused(d: Differentiable, program: ts.Program): boolean {
  const known = refusals(program);
  if (!known.has(d.fn)) {
    known.set(d.fn, false);
    const ctx = fileContext(d.fn.getSourceFile(), program);
    const result = compileFunction(d, ctx, "final");
    known.set(d.fn, Array.isArray(result) || callOfRefused(d, ctx, result.members) !== undefined);
  }
  return known.get(d.fn)!;
}

/**
 * The first call in `d` of a @differentiable function tsgrad refuses whose generated functions
 * d's own (`members`) use, as the error to report there (a call no gradient flows through calls
 * the function itself, and is fine):
 *   bad(x) → `bad` has no gradient: tsgrad refused it (model.ts:3; see the error there); ...
 */
function callOfRefused(d: Differentiable, ctx: FileContext, members: readonly ts.Node[]): DiffError | undefined {
  const used = generatedReferences(members);
  let found: DiffError | undefined;
  const visit = (n: ts.Node): void => {
    if (found) return;
    if (ts.isCallExpression(n)) {
      const target = resolveFunction(ctx.checker, n.expression);
      const callee = n.expression.getText();
      const gradient = target && target !== "unmarked" ? gradientReference(target, n, ctx).text : "";
      const pullbacks = target && target !== "unmarked" ? [...(ctx.pullbacks.get(target.fn)?.values() ?? [])] : [];
      // dot(xs, w) of another module: the pullback it exports, as this file names it.
      const imported =
        target && target !== "unmarked" && target.fn.getSourceFile() !== ctx.file
          ? gradientReference(target, n, ctx, "_pullback").text
          : "";
      const needed =
        used.has(gradient) ||
        ["_forward", "_backward"].some((suffix) => used.has(callee + suffix)) ||
        pullbacks.some((p) => used.has(p.name)) ||
        used.has(imported);
      if (
        needed &&
        target &&
        target !== "unmarked" &&
        target.fn !== d.fn &&
        (ctx.refused.has(target.fn) || isRefused(target, ctx.program))
      ) {
        const at = shortPosition(target.fn.name ?? target.fn);
        const why = ctx.helperErrors.get(target.fn);
        found = why ? helperRefusal(n, target, why) : refuse("refusedCall", n.expression, { name: target.label, at });
      } else if (target && target !== "unmarked" && imported && used.has(imported)) {
        found = importedPullbackProblem(target, n, ctx);
      }
    }
    ts.forEachChild(n, visit);
  };
  if (d.fn.body) visit(d.fn.body);
  return found;
}

/** Per program: why each function of it that callers elsewhere pass arrays exports no pullback (undefined: it does). */
const pullbackProblems = new WeakMap<ts.Program, Map<ts.Node, DiffError | undefined>>();

/**
 * A call `call` passing arrays to `target`, a function of another module: the error to report at
 * its first array where tsgrad cannot build the pullback `target` exports (it returns an array,
 * uses matrix operations, ...), built once per program in `target`'s own file:
 *   norm(xs) → the array `xs` is passed to `norm` of another module, whose pullback tsgrad cannot build: ...
 */
function importedPullbackProblem(
  target: Differentiable,
  call: ts.CallExpression,
  ctx: FileContext,
): DiffError | undefined {
  const known = pullbackProblems.get(ctx.program) ?? new Map<ts.Node, DiffError | undefined>();
  pullbackProblems.set(ctx.program, known);
  if (!known.has(target.fn)) {
    const own = fileContext(target.fn.getSourceFile(), ctx.program);
    const every = exportedPullback(target, ctx.checker) ?? [];
    const name = generatedNames(target.name).pullback;
    const result = compilePullback(target, own, every, name, true);
    known.set(target.fn, Array.isArray(result) ? result[0] : undefined);
  }
  const why = known.get(target.fn);
  if (!why) return undefined;
  const array = (a: ts.Expression) => isArrayKind(kindOf(ctx.checker.getTypeAtLocation(a), ctx.checker));
  const arg = call.arguments.find(array) ?? call;
  return refuse("importedPullbackRefused", arg, {
    name: arg.getText(),
    callee: call.expression.getText(),
    why: why.message,
    at: shortPosition(why.node),
  });
}

/** What generated nodes name: each identifier, and each `a.b` in full (`A.f_grad`, not `B.f_grad`'s `f_grad`). */
export function generatedReferences(nodes: readonly ts.Node[]): Set<string> {
  const texts = new Set<string>();
  const text = (n: ts.Expression): string | undefined =>
    ts.isIdentifier(n)
      ? n.text
      : ts.isPropertyAccessExpression(n)
        ? `${text(n.expression) ?? "?"}.${n.name.text}`
        : n.kind === ts.SyntaxKind.ThisKeyword
          ? "this"
          : undefined;
  const visit = (n: ts.Node, parent?: ts.Node): void => {
    const partOfAccess = parent && ts.isPropertyAccessExpression(parent) && parent.name === n;
    if ((ts.isIdentifier(n) && !partOfAccess) || ts.isPropertyAccessExpression(n))
      texts.add(text(n as ts.Expression) ?? "");
    ts.forEachChild(n, (child) => visit(child, n));
  };
  nodes.forEach((n) => visit(n));
  return texts;
}

/** `@derivative f` functions of this file that tsgrad cannot use, as diagnostics at their names. */
export function derivativeProblems(program: ts.Program, file: ts.SourceFile): ts.Diagnostic[] {
  return customDerivatives(program)
    .problems.filter((p) => p.error.node.getSourceFile() === file)
    .map((p) => toDiagnostic(p.error));
}
