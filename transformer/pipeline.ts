// The one place the phase order is written, for one @differentiable function (compileFunction);
// every host (tsc plugin, Vite plugin, CLI) reaches it through files.ts:
//
//   annotations → fence → stage → activity → reverse → optimize → preaccumulate → save
//     → skip-zeros → fuse → pool → (finite) → emit
//
// (out-of-range.ts is part of the fence, read-back.ts of save; fuse and pool are for f_grad's
// matrix operations; finite makes f_gradChecked for checkFinite.)

import ts from "typescript";
import { analyzeActivity } from "./phases/activity.js";
import { type Differentiable, exportedPullback, isRuntimeExport, resolveFunction } from "./phases/annotations.js";
import { type CustomDerivative, derivativeFor } from "./phases/derivatives.js";
import { DiffError, shortPosition } from "./ir/diagnostics.js";
import { refuse } from "./ir/language.js";
import { UNBOXED_SLOTS } from "../runtime/stack.js";
import * as emit from "./phases/emit.js";
import { fence, matrixOpOf } from "./phases/fence.js";
import { kindOf, parameterType } from "./ir/syntax.js";
import {
  type BStmt,
  type StagedFunction,
  type Stmt,
  type ValueKind,
  isArrayKind,
  forEachDef,
  isMatrixOp,
  leavesOf,
  num,
  ref,
  resultNames,
} from "./ir/ir.js";
import { Namer, generatedNames } from "./ir/naming.js";
import { accumulated, finishBackward, pruneForward, readsOf } from "./phases/optimize.js";
import { reverse } from "./phases/reverse.js";
import { type FunctionReport, loopReports } from "./phases/report.js";
import { preaccumulate } from "./phases/preaccumulate.js";
import { withFiniteChecks } from "./phases/finite.js";
import { fuse } from "./phases/fuse.js";
import { skipZeroGradients } from "./phases/skip-zeros.js";
import { poolMatrices } from "./phases/pool.js";
import { save } from "./phases/save.js";
import { stage } from "./phases/stage.js";
import {
  type FileContext,
  runtimeName,
  gradOf,
  derivativeOf,
  derivativeName,
  helperRefusal,
  pullbackOf,
  importedPullbackOf,
  topLevelNames,
  wrtNames,
} from "./link.js";

export type Stage = "staged" | "reverse" | "final";

export interface CompiledFunction {
  d: Differentiable;
  staged: StagedFunction;
  /** What its gradient keeps in memory (for `tsgrad print --report`); absent for the early stages. */
  report?: FunctionReport;
  /** f_grad, f_forward, f_backward (functions, or methods for a class method). */
  members: (ts.Statement | ts.ClassElement)[];
  /** It returns an array: no f_grad or f_gradInto, only the vjp pair. */
  vector?: boolean;
  /** It has f_gradChecked, for grad(f, { checkFinite: true }). */
  checked?: boolean;
}

/**
 * Runs every phase for one function. Returns its generated functions, or why it cannot. `wrts`:
 * the parameter lists `grad(f, { wrt })` asks for in this file, each compiled to a gradient of
 * those parameters alone (`f_grad_net`), where the others are data and get no backward line.
 */
export function compileFunction(
  d: Differentiable,
  ctx: FileContext,
  stageName: Stage = "final",
  wrts: readonly (readonly number[])[] = [],
): CompiledFunction | DiffError[] {
  if (d.refusal) return [d.refusal];
  const own = ownDerivative(d, ctx);
  if (own instanceof DiffError) return [own];
  const errors = own ? signatureErrors(d, ctx.checker) : fence(d.fn, ctx.checker);
  if (errors.length) return errors;
  try {
    const names = generatedNames(d.name);
    const variants = wrts.map((wrt) => ({ wrt, ...(ctx.specialized.get(d.fn)?.get(wrt.join()) ?? wrtNames(d, wrt)) }));
    const namer = new Namer([...Object.values(names), ...variants.flatMap((v) => [v.grad, v.gradInto])]);
    const staged = own ? stageThroughDerivative(d, own, ctx, namer) : stageFunction(d, ctx, namer);
    const activity = analyzeActivity(staged);
    if (activity.errors.length) return activity.errors.map((e) => withHelperReason(e, ctx));
    const shape = shapeOf(d, staged, ctx.checker);
    // A Matrix parameter's gradient starts as zerosLike(W).
    if (shape.kinds.includes("Matrix")) shape.zeros = runtimeName(ctx, "zerosLike", namer);

    if (stageName === "staged") {
      return { d, staged, members: [emit.emitStaged(shape, `${d.name}_staged`, staged)] };
    }
    const raw = stageName === "reverse";
    // A function returning an array or an object has no gradient, only vjp (and jacobian): no f_grad.
    const vector = staged.resultKind !== undefined;
    const checked = !vector && ctx.checkFinite(d);
    const c: Compilation = { d, ctx, staged, activity, shape, namer, raw, checked };
    const gradients = vector ? [] : Object.values(gradientFunctions(c, names));
    if (raw && !vector) return { d, staged, members: [gradients[0]] };
    const specialized = vector || raw ? [] : variants.flatMap((v) => Object.values(gradientFunctions(c, v, v.wrt)));
    const vjp = vjpFunctions(c);
    return { d, staged, report: vjp.report, vector, checked, members: [...gradients, ...specialized, ...vjp.members] };
  } catch (e) {
    if (e instanceof DiffError) return [e];
    throw e;
  }
}

/** What compiling one function shares between its gradient and its vjp pair. */
interface Compilation {
  d: Differentiable;
  ctx: FileContext;
  staged: StagedFunction;
  activity: ReturnType<typeof analyzeActivity>;
  shape: emit.FunctionShape;
  namer: Namer;
  /** `tsgrad print --stage reverse`: the backward pass before clean-up. */
  raw: boolean;
  /** Also f_gradChecked, for grad(f, { checkFinite: true }). */
  checked: boolean;
}

/**
 * f_grad and f_gradInto (and f_gradChecked): the seed 1 folds away; only what the backward pass
 * reads is computed. With `wrt`, the other parameters are data: inactive, no line computes their
 * gradient (`f_grad_net`).
 */
function gradientFunctions(c: Compilation, fnNames: { grad: string; gradInto: string }, wrt?: readonly number[]) {
  const { d, ctx, staged, raw } = c;
  const gNamer = c.namer.fork();
  const target = wrt ? onlyWrt(staged, wrt) : staged;
  const gSaved = backwardPass(target, wrt ? analyzeActivity(target) : c.activity, gNamer, num(1), ctx, raw);
  const pruned = raw ? gSaved.forward : pruneForward(gSaved.forward, readsOf(gSaved.backward));
  // Matrix ops are fused where runtime/ops/fused.ts can (fuse.ts); matrices come from the
  // runtime's pool and go back to it before f_grad returns.
  let usesMatrices = false;
  forEachDef(pruned, (s) => (usesMatrices ||= !raw && isMatrixOp(s.op)));
  const pool = usesMatrices ? runtimeName(ctx, "matrixPool", gNamer) : undefined;
  const fused = pool
    ? fuse(pruned, gSaved.backward, (name) => runtimeName(ctx, name, gNamer))
    : { forward: pruned, backward: gSaved.backward };
  const lent = pool
    ? poolMatrices(fused.forward, fused.backward, pool, (name) => runtimeName(ctx, name, gNamer))
    : { ...fused, lent: [] };
  const { forward, backward } = lent;
  const matrices = pool ? { pool, lent: lent.lent } : undefined;
  const shape = { ...c.shape, gradients: gradientsOf(gSaved.paramAdjoints, backward), wrt };
  // The stack keeps what loops save; another, `scratch`, lends f_grad its local arrays.
  const stack = savesValues(gSaved.forward) ? runtimeName(ctx, "saved", gNamer) : "saved";
  const scratch = forward.some((s) => s.k === "array") ? runtimeName(ctx, "scratch", gNamer) : "scratch";
  const gradFn = emit.withStack(stack, () => emit.emitGrad(shape, fnNames.grad, forward, backward, scratch, matrices));
  const grads = gNamer.fresh("grads");
  const gradIntoFn = emit.withStack(stack, () =>
    emit.emitGradInto(shape, fnNames.gradInto, grads, forward, backward, scratch, matrices),
  );
  if (!c.checked || wrt || raw) return { gradFn, gradIntoFn };
  // f_gradChecked: f_grad with each gradient checked as it is written (finite.ts).
  const checks = { fn: d.label, callee: runtimeName(ctx, "checkFinite", gNamer), source: d.fn };
  const purpose = "with every gradient checked for NaN and Infinity, for grad(f, { checkFinite: true })";
  const checked = withFiniteChecks(backward, checks);
  const name = generatedNames(d.name).gradChecked;
  const checkedFn = emit.withStack(stack, () =>
    emit.emitGrad(shape, name, forward, checked, scratch, matrices, purpose),
  );
  return { gradFn, gradIntoFn, checkedFn };
}

/**
 * f_forward and f_backward: the forward pass keeps a cache, the backward pass takes the output's
 * gradient (for an object, `dout`, unpacked into one gradient per field: dloss, dh); and the
 * report of what the cache keeps (tsgrad print --report).
 */
function vjpFunctions(c: Compilation): { members: (ts.Statement | ts.ClassElement)[]; report: FunctionReport } {
  const { d, ctx, staged, shape } = c;
  const names = generatedNames(d.name);
  const vjpNamer = c.namer.fork();
  const outputs = staged.outputs?.map((o) => ({ ...o, seed: vjpNamer.adjoint(o.name) }));
  const seed = outputs ? vjpNamer.fresh("dout") : vjpNamer.adjoint(staged.result);
  const seeds = outputs ? new Map(outputs.map((o) => [o.name, ref(o.seed)] as const)) : ref(seed);
  const cacheParam = vjpNamer.fresh("cache");
  const vSaved = backwardPass(staged, c.activity, vjpNamer, seeds, ctx);
  const vBackward = vSaved.backward;
  const reads = readsOf(vBackward);
  // An array parameter's length sizes its gradient: the backward pass reads it.
  const sized = (k: ValueKind) => isArrayKind(k) || k === "Matrix" || k === "rows" || k === "records";
  shape.params.forEach((p, i) => sized(shape.kinds[i]) && reads.add(p));
  const vForward = pruneForward(vSaved.forward, [...reads, ...resultNames(staged)]);
  const cache = definedIn({ ...staged, body: vSaved.forward }).filter((n) => reads.has(n));
  const vShape = { ...shape, gradients: gradientsOf(vSaved.paramAdjoints, vBackward) };
  const ownStack = savesValues(vSaved.forward) ? runtimeName(ctx, "ValueStack", vjpNamer) : undefined;
  const vStack = ownStack ? vjpNamer.fresh("saved") : "saved";
  const start = d.fn.getSourceFile().getLineAndCharacterOfPosition(d.fn.getStart());
  const loops = loopReports(vBackward);
  const frames = new Set(loops.flatMap((l) => l.frames));
  const file = d.fn.getSourceFile().fileName;
  const report: FunctionReport = {
    name: d.name,
    file,
    line: start.line + 1,
    cache: cache.filter((n) => !frames.has(n)),
    loops,
  };
  const result = staged.outputs ?? staged.result;
  const forwardFn = emit.withStack(vStack, () =>
    emit.emitForwardFunction(vShape, names.forward, vForward, result, cache, ownStack),
  );
  const backwardFn = emit.withStack(vStack, () =>
    emit.emitBackwardFunction(
      vShape,
      names.backward,
      names.forward,
      seed,
      vBackward,
      cache,
      cacheParam,
      ownStack !== undefined,
      outputs ?? staged.resultKind,
    ),
  );
  return { members: [forwardFn, backwardFn], report };
}

/**
 * The pullback of `d` for the parameters `wrt` (indexes), which callers passing arrays call (see
 * Pullback in ir/ir.ts): f_grad's passes with the output's gradient given instead of 1, `wrt`'s
 * arrays' gradients given by the caller and added into, and its numbers' gradients returned.
 *   dot(a, w), wrt [0, 1] → function dot_pullback(a, w, ddot, da): number
 * `exported`: the one for all of them an exported function exports for callers in other modules
 * (exportedPullback in annotations.ts).
 */
export function compilePullback(
  d: Differentiable,
  ctx: FileContext,
  wrt: readonly number[],
  name: string,
  exported = false,
): { members: (ts.Statement | ts.ClassElement)[] } | DiffError[] {
  try {
    const namer = new Namer([...Object.values(generatedNames(d.name)), name]);
    const staged = stageFunction(d, ctx, namer);
    if (staged.resultKind) throw refuse("pullbackOfVector", d.fn, { name: d.label });
    const target = onlyWrt(staged, wrt);
    const activity = analyzeActivity(target);
    if (activity.errors.length) return activity.errors;
    const seed = namer.adjoint(staged.result);
    const passes = backwardPass(target, activity, namer, ref(seed), ctx);
    const forward = pruneForward(passes.forward, readsOf(passes.backward));
    if (forward.some((s) => s.k === "def" && isMatrixOp(s.op)))
      throw refuse("pullbackOfMatrices", d.fn, { name: d.label });
    const shape = { ...shapeOf(d, staged, ctx.checker), wrt };
    if (emit.pullbackNumbers(shape).length >= UNBOXED_SLOTS)
      throw refuse("pullbackOfManyNumbers", d.fn, { name: d.label });
    const stack = savesValues(passes.forward) ? runtimeName(ctx, "saved", namer) : undefined;
    // Its arrays and its outer loops' frames: kept in a workspace of its own (runtime/workspace.ts),
    // but in a class, where the pullback is a method and takes them from the scratch stack.
    const arrays = forward.some((s) => s.k === "array");
    const kept = arrays || framesOutsideLoops(forward);
    const workspace = kept && !shape.method ? workspaceName(ctx, name, namer) : undefined;
    const scratch = arrays && !workspace ? runtimeName(ctx, "scratch", namer) : "scratch";
    const pullback = emit.withStack(stack ?? "saved", () =>
      emit.emitPullback(
        { ...shape, gradients: gradientsOf(passes.paramAdjoints, passes.backward) },
        name,
        seed,
        runtimeName(ctx, "unboxed", namer),
        forward,
        passes.backward,
        scratch,
        workspace,
        exported,
      ),
    );
    if (!workspace) return { members: [pullback] };
    return { members: [emit.emitWorkspace(workspace, name, runtimeName(ctx, "Workspace", namer)), pullback] };
  } catch (e) {
    if (e instanceof DiffError) return [e];
    throw e;
  }
}

/** Does a loop outside any other loop save values in a frame (which a workspace can keep)? */
const framesOutsideLoops = (body: readonly Stmt[]): boolean =>
  body.some((s) =>
    s.k === "loop"
      ? (s.frames?.length ?? 0) > 0
      : s.k === "if" && (framesOutsideLoops(s.then) || framesOutsideLoops(s.else)),
  );

/** `mean_pullback_arrays`, or with a number where the file or the pullback has that name already. */
function workspaceName(ctx: FileContext, pullback: string, locals: Namer): string {
  const taken = new Set(topLevelNames(ctx.file));
  let name = `${pullback}_arrays`;
  for (let i = 2; taken.has(name) || locals.has(name); i++) name = `${pullback}_arrays_${i}`;
  return name;
}

/** `staged` with the parameters `wrt` leaves out made data: inactive, no line computes their gradient. */
const onlyWrt = (staged: StagedFunction, wrt: readonly number[]): StagedFunction => ({
  ...staged,
  data: [...(staged.data ?? []), ...leavesOutside(staged, wrt)],
});

/**
 * The phases after staging, one order for f_grad (and f_gradInto, f_gradChecked) and the vjp pair:
 *   reverse → optimize → preaccumulate → save → skip zeros
 * `seed` is the output's gradient: 1 for f_grad (it folds away), `dout` for f_backward. `raw`
 * (tsgrad print --stage reverse) stops after reverse. The forward pass comes back with what each
 * loop saves; the backward pass with its adjoints declared and simplified.
 */
function backwardPass(
  staged: StagedFunction,
  activity: ReturnType<typeof analyzeActivity>,
  namer: Namer,
  seed: Parameters<typeof reverse>[3],
  ctx: FileContext,
  raw = false,
): { forward: Stmt[]; backward: BStmt[]; paramAdjoints: string[] } {
  const reversed = reverse(staged, activity, namer, seed, (name) => runtimeName(ctx, name, namer));
  const finished = raw
    ? reversed.backward
    : preaccumulate(
        finishBackward(reversed.backward, reversed.paramAdjoints, reversed.adjoints),
        reversed.adjoints,
        namer,
      );
  return {
    ...skipZeros(save(staged.body, finished, namer, resultNames(staged))),
    paramAdjoints: reversed.paramAdjoints,
  };
}

/** A backward loop skips the rest of an iteration whose gradient is 0 (skip-zeros.ts). */
function skipZeros(saved: { forward: Stmt[]; backward: BStmt[] }): { forward: Stmt[]; backward: BStmt[] } {
  return { forward: saved.forward, backward: skipZeroGradients(saved.backward) };
}

/**
 * An opaque call a gradient flows through (TS94006), said of a helper tsgrad tried: why it could
 * not differentiate it, rather than "mark it @differentiable".
 */
function withHelperReason(error: DiffError, ctx: FileContext): DiffError {
  if (!ts.isCallExpression(error.node)) return error;
  const target = resolveFunction(ctx.checker, error.node.expression);
  const why = target && target !== "unmarked" ? ctx.helperErrors.get(target.fn) : undefined;
  return why && target && target !== "unmarked" ? helperRefusal(error.node, target, why) : error;
}

/** The stage phase on `d`, with what it asks of the file: callees' gradients, pullbacks, derivatives. */
export function stageFunction(d: Differentiable, ctx: FileContext, namer: Namer): StagedFunction {
  return stage(d, {
    checker: ctx.checker,
    namer,
    gradOf: (callee, call) => gradOf(callee, call, ctx),
    pullbackOf: (callee) => (wrt) => pullbackOf(callee, ctx, wrt),
    importedPullbackOf: (callee, call) => {
      const every = exportedPullback(callee, ctx.checker);
      const of = every && importedPullbackOf(callee, call, ctx);
      return every && of ? { of, every } : undefined;
    },
    isRefusedHelper: (callee) => ctx.helperErrors.has(callee.fn),
    derivativeOf: (call) => derivativeOf(call, ctx, namer),
    isStopGradient: (callee) => isRuntimeExport(ctx.checker, callee, "stopGradient"),
    // A key of matrixRules (fence.ts finds it among them).
    matrixOp: (callee) => matrixOpOf(callee, ctx.checker),
    self: d.owner,
  });
}

/**
 * The user's derivative of `d` itself, if it has one: then grad(f), vjp(f) and every caller use
 * that derivative, and f's body is not differentiated (it may even be beyond tsgrad). A refused
 * derivative refuses f's gradient too, rather than quietly differentiate the body instead.
 */
function ownDerivative(d: Differentiable, ctx: FileContext): CustomDerivative | DiffError | undefined {
  if (d.place !== "function") return undefined;
  const name = ts.isFunctionDeclaration(d.fn)
    ? d.fn.name!
    : ((d.anchor as ts.VariableStatement).declarationList.declarations[0].name as ts.Identifier);
  const custom = derivativeFor(ctx.checker, ctx.program, name);
  if (custom && "refused" in custom) {
    const { node } = custom.refused.error;
    return refuse("functionOfUnusableDerivative", name, {
      name: d.name,
      derivative: node.getText(),
      at: shortPosition(node),
    });
  }
  return custom;
}

/**
 * The fence's errors about the signature alone (parameters, return type, async): a body the
 * user's derivative stands for is not checked. Its parameters must be numbers, whose gradients
 * the derivative returns one number each for.
 */
function signatureErrors(d: Differentiable, checker: ts.TypeChecker): DiffError[] {
  const body = d.fn.body;
  const errors = fence(d.fn, checker).filter((e) => !body || e.node.pos < body.pos || e.node.end > body.end);
  const reported = new Set(errors.map((e) => e.node));
  for (const p of d.fn.parameters) {
    if (reported.has(p)) continue;
    // The derivative takes every argument as passed: one left to a default would reach it undefined.
    if (p.questionToken || p.initializer)
      errors.push(refuse("derivativeOptionalParameter", p, { name: p.name.getText() }));
    else if (!(checker.getTypeAtLocation(p).flags & ts.TypeFlags.NumberLike))
      errors.push(refuse("derivativeParameter", p, { parameter: p.getText() }));
  }
  return errors.sort((a, b) => a.node.getStart() - b.node.getStart());
}

/**
 * A function with its own derivative, staged as one call of itself, so its gradient is the
 * user's derivative exactly as at every call of it:
 *   /** @differentiable *\/ function f(x, k) { ... }   and   /** @derivative f *\/ function fD(x, k, y, dy)
 *   → forward  const y = f(x, k);        backward  const [dx_y, dk_y] = fD(x, k, y, dy);
 */
function stageThroughDerivative(
  d: Differentiable,
  custom: CustomDerivative,
  ctx: FileContext,
  namer: Namer,
): StagedFunction {
  const params = d.fn.parameters.map((p) => namer.claim((p.name as ts.Identifier).text));
  const clash = params.indexOf(d.name);
  if (clash >= 0) {
    throw refuse("parameterHidesFunction", d.fn.parameters[clash], { name: d.name });
  }
  namer.claim(d.name);
  const derivative = derivativeName(custom, d.fn, ctx, namer);
  const result = namer.fresh("y");
  const args = params.map(ref);
  const call: Stmt = {
    k: "def",
    name: result,
    value: { k: "call", callee: d.name, args },
    op: { kind: "custom", derivative: { k: "global", text: derivative } },
    args,
    assign: false,
    source: d.fn,
  };
  return { name: d.name, params, body: [call], result };
}

function shapeOf(d: Differentiable, staged: StagedFunction, checker: ts.TypeChecker): emit.FunctionShape {
  const method =
    d.place === "method" && ts.isMethodDeclaration(d.fn)
      ? {
          isStatic: (ts.getModifiers(d.fn) ?? []).some((m) => m.kind === ts.SyntaxKind.StaticKeyword),
          className: className(d.fn),
        }
      : undefined;
  const common = { name: d.label, gradients: [], exported: d.exported, method, source: d.fn };
  const { signature } = staged;
  if (!signature) {
    // The fence let through only parameters of a kind it knows.
    const kinds = d.fn.parameters.map((p) => kindOf(parameterType(p, checker), checker) ?? "number");
    return { ...common, params: staged.params, kinds, types: d.fn.parameters.map((p) => p.type?.getText()) };
  }
  // Fields of object parameters: a Matrix field's gradient is typed `Model["W"]`, as the user's type says.
  const leaves = signature.flatMap((p) =>
    leavesOf(p.tree).map((l) => ({
      ...l,
      type: !l.path.length
        ? p.type
        : l.kind === "Matrix" && p.type
          ? `${p.type}${l.path.map((k) => `["${k}"]`).join("")}`
          : undefined,
    })),
  );
  return {
    ...common,
    params: staged.params,
    kinds: leaves.map((l) => l.kind),
    types: leaves.map((l) => l.type),
    ...(leaves.some((l) => l.keys) ? { keys: leaves.map((l) => l.keys) } : {}),
    signature,
  };
}

function className(m: ts.MethodDeclaration): string {
  const c = m.parent;
  if ((ts.isClassDeclaration(c) || ts.isClassExpression(c)) && c.name) return c.name.text;
  throw refuse("anonymousClassMethod", m);
}

/** The staged parameters (leaves) of the user's parameters not in `wrt`. */
function leavesOutside(staged: StagedFunction, wrt: readonly number[]): string[] {
  const signature =
    staged.signature ?? staged.params.map((name) => ({ name, tree: { k: "leaf", name, kind: "number" } as const }));
  return signature.flatMap((p, i) => (wrt.includes(i) ? [] : leavesOf(p.tree).map((l) => l.name)));
}

/** A parameter's adjoint if the backward pass writes it, else undefined (its gradient is 0). */
function gradientsOf(adjoints: readonly string[], backward: Parameters<typeof accumulated>[0]): (string | undefined)[] {
  const written = new Set(accumulated(backward));
  return adjoints.map((a) => (written.has(a) ? a : undefined));
}

/** Does any loop push values for its backward loop? */
function savesValues(body: readonly Stmt[]): boolean {
  return body.some(
    (s) =>
      s.k === "push" ||
      (s.k === "loop" && savesValues(s.body)) ||
      (s.k === "if" && (savesValues(s.then) || savesValues(s.else))),
  );
}

/** Parameters, captured values, then forward names in definition order: the order of the vjp cache. */
function definedIn(fn: StagedFunction): string[] {
  const names = [...fn.params, ...(fn.captured ?? [])];
  const visit = (body: StagedFunction["body"]) =>
    body.forEach((s) => {
      if ((s.k === "def" || s.k === "let" || s.k === "array") && !names.includes(s.name)) names.push(s.name);
      if (s.k === "loop" && s.count && !names.includes(s.count)) names.push(s.count);
      if (s.k === "loop") s.frames?.forEach((frame) => names.push(frame.array));
      if (s.k === "if") {
        visit(s.then);
        visit(s.else);
      }
    });
  visit(fn.body);
  return names;
}
