// The one place the phase order is written; every host (tsc plugin, Vite plugin, CLI) calls it.
//
//   annotations → fence → stage → activity → reverse → optimize → preaccumulate → save → pool → emit
//
// (pool: f_grad's matrices lent by the runtime's pool; bounds.ts is part of the fence.)
//
// compileFunction runs the phases for one @differentiable function; transformFile places the
// generated functions beside their originals in a source file, registers them with the runtime,
// and rewrites `grad(f)` to the generated `f_grad` where f is known statically.

import path from "node:path";
import ts from "typescript";
import { analyzeActivity } from "./activity.js";
import { type CustomDerivative, customDerivatives, type Differentiable, derivativeFor, findDifferentiable, isRuntimeExport, resolveFunction } from "./annotations.js";
import { Code, DiffError, shortPosition, toDiagnostic, uniqueDiagnostics } from "./diagnostics.js";
import * as emit from "./emit.js";
import { fence, kindOf, matrixOpOf } from "./fence.js";
import { type BStmt, type Expr, type StagedFunction, type Stmt, MATRIX_OP, leavesOf, num, ref, resultNames } from "./ir.js";
import { Namer, generatedNames } from "./naming.js";
import { accumulated, finishBackward, pruneForward, readsOf } from "./optimize.js";
import { reverse } from "./reverse.js";
import { type FunctionReport, loopReports } from "./report.js";
import { preaccumulate } from "./preaccumulate.js";
import { withFiniteChecks } from "./finite.js";
import { fuse } from "./fuse.js";
import { commonJsImports, moduleFormatOf, toCommonJs } from "./modules.js";
import { skipZeroGradients } from "./sparse.js";
import { poolMatrices } from "./pool.js";
import { save } from "./save.js";
import { stage } from "./stage.js";

export type Stage = "staged" | "reverse" | "final";

const RUNTIME = "tsgrad";
const REGISTER = "registerGradient";
const API = new Set(["grad", "gradInto", "valueAndGrad", "vjp"]);

/** What a file needs imported for its generated code: module → names. */
type Imports = Map<string, Set<string>>;

interface FileContext {
  checker: ts.TypeChecker;
  program: ts.Program;
  file: ts.SourceFile;
  imports: Imports;
  /** Names generated code binds user derivatives to in this file: imports, and aliases of the file's own. */
  derivatives: { custom: CustomDerivative; local: string }[];
  /** Top-level names generated code declares or imports whatever the functions need: f_grad, registerGradient, ... */
  generated: Set<string>;
  /** The parameter lists `grad(f, { wrt: [...] })` asks for, by function: each gets a gradient of its own. */
  wrts: Map<ts.Node, number[][]>;
  /** Their generated names, by function and list (`"0,2"`). */
  specialized: Map<ts.Node, Map<string, { grad: string; gradInto: string }>>;
  /** Functions tsgrad refused: `grad(f)` of one is left to the runtime, which explains (no f_grad exists). */
  refused: Set<ts.Node>;
  /** tsc emits this file as CommonJS: generated code's imports are written as `require` (see modules.ts). */
  commonJs: boolean;
  /** Whether f gets f_gradChecked: the checkFinite option, or a `grad(f, { checkFinite: true })` in the program. */
  checkFinite: (d: Differentiable) => boolean;
}

/** What a host may ask of the transformation (tsconfig plugin entry, Vite plugin, CLI flags). */
export interface TransformOptions {
  /** Generate f_gradChecked for every function, not only those a `grad(f, { checkFinite: true })` names. */
  checkFinite?: boolean;
}

/** The runtime's names generated code may import; kept free for it. */
const RUNTIME_NAMES = [REGISTER, "saved", "scratch", "ValueStack", "matrixPool"];

function fileContext(file: ts.SourceFile, program: ts.Program, commonJs = false, options: TransformOptions = {}): FileContext {
  const checker = program.getTypeChecker(); // first: binding sets the parent links findDifferentiable reads
  const generated = new Set(RUNTIME_NAMES);
  for (const d of findDifferentiable(file)) if (!ts.isMethodDeclaration(d.fn)) Object.values(generatedNames(d.name)).forEach((n) => generated.add(n));
  const wrts = wrtCalls(file, checker);
  // Specialized gradients' names: after the parameters, never a name the file declares at its
  // top level or another generated one (h(a, b, a_b) with [0, 1] and [2]: h_grad_a_b, h_grad_a_b_2).
  const taken = new Set([...generated, ...topLevelNames(file)]);
  const specialized = new Map<ts.Node, Map<string, { grad: string; gradInto: string }>>();
  for (const [fn, lists] of wrts) {
    const d = findDifferentiable(file).find((x) => x.fn === fn)!;
    const byList = new Map<string, { grad: string; gradInto: string }>();
    for (const wrt of lists) {
      const base = wrtNames(d, wrt);
      let names = base;
      for (let i = 2; taken.has(names.grad) || taken.has(names.gradInto); i++) names = { grad: `${base.grad}_${i}`, gradInto: `${base.gradInto}_${i}` };
      Object.values(names).forEach((n) => (taken.add(n), generated.add(n)));
      byList.set(wrt.join(), names);
    }
    specialized.set(fn, byList);
  }
  const checkFinite = (d: Differentiable) => options.checkFinite === true || checkedFunctions(program).has(d.fn);
  return { checker, program, file, imports: new Map(), derivatives: [], generated, wrts, specialized, refused: new Set(), commonJs, checkFinite };
}

const checkedByProgram = new WeakMap<ts.Program, Set<ts.Node>>();

/**
 * The functions some call in the program asks to check, `grad(f, { checkFinite: true })` or
 * `valueAndGrad(f, { checkFinite: true })` with f known statically: they get f_gradChecked.
 */
function checkedFunctions(program: ts.Program): Set<ts.Node> {
  let found = checkedByProgram.get(program);
  if (found) return found;
  checkedByProgram.set(program, (found = new Set()));
  const checker = program.getTypeChecker();
  const visit = (n: ts.Node): void => {
    if (ts.isCallExpression(n) && n.arguments.length === 2 && asksForChecks(n.arguments[1]) && ["grad", "valueAndGrad"].includes(apiName(n.expression, checker) ?? "")) {
      const target = resolveFunction(checker, n.arguments[0]);
      if (target && target !== "unmarked") found.add(target.fn);
    }
    ts.forEachChild(n, visit);
  };
  for (const file of program.getSourceFiles()) if (!file.isDeclarationFile && file.text.includes("checkFinite")) visit(file);
  return found;
}

/** `{ checkFinite: true }`, `{ wrt: [0], checkFinite: true }` → true. */
function asksForChecks(options: ts.Expression): boolean {
  return ts.isObjectLiteralExpression(options) && options.properties.some((p) => ts.isPropertyAssignment(p) && p.name.getText() === "checkFinite" && p.initializer.kind === ts.SyntaxKind.TrueKeyword);
}

/** Names the file declares at its top level: functions, classes, variables, imports. */
function topLevelNames(file: ts.SourceFile): string[] {
  const names: string[] = [];
  const bind = (n: ts.BindingName) => (ts.isIdentifier(n) ? names.push(n.text) : n.elements.forEach((e) => !ts.isOmittedExpression(e) && bind(e.name)));
  for (const s of file.statements) {
    if ((ts.isFunctionDeclaration(s) || ts.isClassDeclaration(s) || ts.isEnumDeclaration(s)) && s.name) names.push(s.name.text);
    else if (ts.isVariableStatement(s)) s.declarationList.declarations.forEach((d) => bind(d.name));
    else if (ts.isImportDeclaration(s) && s.importClause) {
      const c = s.importClause;
      if (c.name) names.push(c.name.text);
      if (c.namedBindings && ts.isNamedImports(c.namedBindings)) c.namedBindings.elements.forEach((e) => names.push(e.name.text));
      if (c.namedBindings && ts.isNamespaceImport(c.namedBindings)) names.push(c.namedBindings.name.text);
    }
  }
  return names;
}

/**
 * The literal `wrt` lists of `grad(f, { wrt: [0, 2] })` and `gradInto(f, { wrt: [...] })` calls in
 * the file, for f a @differentiable function declared in it (not a method), by f: distinct lists,
 * in the order first met. Other calls are left to the runtime, which picks from the full gradient.
 */
function wrtCalls(file: ts.SourceFile, checker: ts.TypeChecker): Map<ts.Node, number[][]> {
  const found = new Map<ts.Node, number[][]>();
  const visit = (n: ts.Node): void => {
    const wrt = ts.isCallExpression(n) ? staticWrt(n, checker, file) : undefined;
    if (wrt) {
      const lists = found.get(wrt.fn) ?? found.set(wrt.fn, []).get(wrt.fn)!;
      if (!lists.some((l) => l.join() === wrt.list.join())) lists.push(wrt.list);
    }
    ts.forEachChild(n, visit);
  };
  visit(file);
  return found;
}

/** `grad(f, { wrt: [0] })` with f a function of this file and wrt literal indices in range → f and [0]. */
function staticWrt(call: ts.CallExpression, checker: ts.TypeChecker, file: ts.SourceFile): { fn: ts.Node; list: number[]; api: string } | undefined {
  const api = apiName(call.expression, checker);
  const [arg, options] = call.arguments;
  if ((api !== "grad" && api !== "gradInto") || !arg || !options || call.arguments.length !== 2 || !ts.isIdentifier(arg) || !ts.isObjectLiteralExpression(options)) return undefined;
  const target = resolveFunction(checker, arg);
  if (!target || target === "unmarked" || target.fn.getSourceFile() !== file || ts.isMethodDeclaration(target.fn)) return undefined;
  if (options.properties.length !== 1) return undefined;
  const [prop] = options.properties;
  if (!ts.isPropertyAssignment(prop) || prop.name.getText() !== "wrt") return undefined;
  let list: ts.Expression = prop.initializer;
  while (ts.isAsExpression(list) || ts.isParenthesizedExpression(list) || ts.isSatisfiesExpression(list)) list = list.expression;
  if (!ts.isArrayLiteralExpression(list) || !list.elements.length || !list.elements.every(ts.isNumericLiteral)) return undefined;
  const indices = list.elements.map((e) => Number((e as ts.NumericLiteral).text));
  const arity = target.fn.parameters.length;
  if (indices.some((i) => !Number.isInteger(i) || i < 0 || i >= arity) || new Set(indices).size !== indices.length) return undefined;
  return { fn: target.fn, list: indices, api };
}

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
export function compileFunction(d: Differentiable, ctx: FileContext, stageName: Stage = "final", wrts: readonly (readonly number[])[] = []): CompiledFunction | DiffError[] {
  const own = ownDerivative(d, ctx);
  if (own instanceof DiffError) return [own];
  const errors = own ? signatureErrors(d, ctx.checker) : fence(d.fn, ctx.checker);
  if (errors.length) return errors;
  try {
    const names = generatedNames(d.name);
    const variants = wrts.map((wrt) => ({ wrt, ...(ctx.specialized.get(d.fn)?.get(wrt.join()) ?? wrtNames(d, wrt)) }));
    const namer = new Namer([...Object.values(names), ...variants.flatMap((v) => [v.grad, v.gradInto])]);
    const staged = own
      ? stageThroughDerivative(d, own, ctx, namer)
      : stage(d, {
          checker: ctx.checker,
          namer,
          gradOf: (callee, call) => gradOf(callee, call, ctx),
          derivativeOf: (call) => derivativeOf(call, ctx, namer),
          isStopGradient: (callee) => isRuntimeExport(ctx.checker, callee, "stopGradient"),
          matrixOp: (callee) => matrixOpOf(callee, ctx.checker),
        });
    const activity = analyzeActivity(staged);
    if (activity.errors.length) return activity.errors;
    const shape = shapeOf(d, staged, ctx.checker);
    // A Matrix parameter's gradient starts as zerosLike(W).
    if (shape.kinds.includes("Matrix")) shape.zeros = runtimeName(ctx, "zerosLike", namer);

    if (stageName === "staged") {
      const body = [...emit.emitForward(staged.body), ts.factory.createReturnStatement(emit.resultValue(staged.outputs ?? staged.result))];
      return { d, staged, members: [emit.emitStaged(shape, `${d.name}_staged`, body)] };
    }
    const raw = stageName === "reverse";

    // grad: the seed 1 folds away; only what the backward pass reads is computed.
    const gradient = (fnNames: { grad: string; gradInto: string }, wrt?: readonly number[]) => {
      const gNamer = namer.fork();
      // Parameters grad(f, { wrt }) leaves out are data: inactive, so no line computes their gradient.
      const target = wrt ? { ...staged, data: [...(staged.data ?? []), ...leavesOutside(staged, wrt)] } : staged;
      const g = reverse(target, wrt ? analyzeActivity(target) : activity, gNamer, num(1), (name) => runtimeName(ctx, name, gNamer));
      const gFinished = raw ? g.backward : preaccumulate(finishBackward(g.backward, g.paramAdjoints, g.adjoints), g.adjoints, gNamer);
      const gSaved = skipZeros(save(staged.body, gFinished, gNamer, resultNames(staged)));
      const pruned = raw ? gSaved.forward : pruneForward(gSaved.forward, readsOf(gSaved.backward));
      // Matrix ops are fused where runtime/ops/fused.ts can (fuse.ts); matrices come from the
      // runtime's pool and go back to it before f_grad returns.
      const usesMatrices = !raw && pruned.some((s) => s.k === "def" && s.op?.startsWith(MATRIX_OP));
      const pool = usesMatrices ? runtimeName(ctx, "matrixPool", gNamer) : undefined;
      const fused = pool ? fuse(pruned, gSaved.backward, (name) => runtimeName(ctx, name, gNamer)) : { forward: pruned, backward: gSaved.backward };
      const lent = pool ? poolMatrices(fused.forward, fused.backward, pool, (name) => runtimeName(ctx, name, gNamer)) : { ...fused, lent: [] };
      const gForward = lent.forward;
      const gBackward = lent.backward;
      const matrices = pool ? { pool, lent: lent.lent } : undefined;
      const gShape = { ...shape, gradients: gradientsOf(g.paramAdjoints, gBackward), wrt };
      // The stack keeps what loops save; another, `scratch`, lends f_grad its local arrays.
      const gStack = savesValues(gSaved.forward) ? runtimeName(ctx, "saved", gNamer) : undefined;
      const scratch = gForward.some((s) => s.k === "array") ? runtimeName(ctx, "scratch", gNamer) : "scratch";
      const gradFn = emit.withStack(gStack ?? "saved", () => emit.emitGrad(gShape, fnNames.grad, gForward, gBackward, scratch, matrices));
      const gradIntoFn = emit.withStack(gStack ?? "saved", () => emit.emitGradInto(gShape, fnNames.gradInto, gNamer.fresh("grads"), gForward, gBackward, scratch, matrices));
      if (!checked || wrt || raw) return { gradFn, gradIntoFn };
      // f_gradChecked: f_grad with each gradient checked as it is written (finite.ts).
      const checks = { fn: d.name, callee: runtimeName(ctx, "checkFinite", gNamer), source: d.fn };
      const checkedFn = emit.withStack(gStack ?? "saved", () => emit.emitGrad(gShape, names.gradChecked, gForward, withFiniteChecks(gBackward, checks), scratch, matrices, "with every gradient checked for NaN and Infinity, for grad(f, { checkFinite: true })"));
      return { gradFn, gradIntoFn, checkedFn };
    };
    // A function returning an array or an object has no gradient, only vjp (and jacobian): no f_grad.
    const vector = staged.resultKind !== undefined;
    const checked = !vector && ctx.checkFinite(d);
    const gradients = vector ? [] : Object.values(gradient(names));
    if (raw && !vector) return { d, staged, members: [gradients[0]] };
    const specialized = vector || raw ? [] : variants.flatMap((v) => Object.values(gradient(v, v.wrt)));

    // vjp: the forward pass keeps a cache, the backward pass takes the output's gradient (for an
    // object, `dout`, unpacked into one gradient per field: dloss, dh).
    const vjpNamer = namer.fork();
    const outputs = staged.outputs?.map((o) => ({ ...o, seed: vjpNamer.adjoint(o.name) }));
    const seed = outputs ? vjpNamer.fresh("dout") : vjpNamer.adjoint(staged.result);
    const seeds = outputs ? new Map(outputs.map((o) => [o.name, ref(o.seed)] as const)) : ref(seed);
    const cacheParam = vjpNamer.fresh("cache");
    const v = reverse(staged, activity, vjpNamer, seeds, (name) => runtimeName(ctx, name, vjpNamer));
    const vSaved = skipZeros(save(staged.body, preaccumulate(finishBackward(v.backward, v.paramAdjoints, v.adjoints), v.adjoints, vjpNamer), vjpNamer, resultNames(staged)));
    const vBackward = vSaved.backward;
    const reads = readsOf(vBackward);
    // An array parameter's length sizes its gradient: the backward pass reads it.
    shape.params.forEach((p, i) => shape.kinds[i] !== "number" && reads.add(p));
    const vForward = pruneForward(vSaved.forward, [...reads, ...resultNames(staged)]);
    const cache = definedIn({ ...staged, body: vSaved.forward }).filter((n) => reads.has(n));
    const vShape = { ...shape, gradients: gradientsOf(v.paramAdjoints, vBackward) };
    const ownStack = savesValues(vSaved.forward) ? runtimeName(ctx, "ValueStack", vjpNamer) : undefined;
    const vStack = ownStack ? vjpNamer.fresh("saved") : "saved";
    const start = d.fn.getSourceFile().getLineAndCharacterOfPosition(d.fn.getStart());
    const loops = loopReports(vBackward);
    const frames = new Set(loops.flatMap((l) => l.frames));
    const report: FunctionReport = { name: d.name, file: d.fn.getSourceFile().fileName, line: start.line + 1, cache: cache.filter((n) => !frames.has(n)), loops };
    return {
      d,
      staged,
      report,
      vector,
      checked,
      members: [
        ...gradients,
        ...specialized,
        emit.withStack(vStack, () => emit.emitForwardFunction(vShape, names.forward, vForward, staged.outputs ?? staged.result, cache, ownStack)),
        emit.withStack(vStack, () => emit.emitBackwardFunction(vShape, names.backward, names.forward, seed, vBackward, cache, cacheParam, ownStack !== undefined, outputs ?? staged.resultKind)),
      ],
    };
  } catch (e) {
    if (e instanceof DiffError) return [e];
    throw e;
  }
}

/** A backward loop skips the rest of an iteration whose gradient is 0 (sparse.ts). */
function skipZeros(saved: { forward: Stmt[]; backward: BStmt[] }): { forward: Stmt[]; backward: BStmt[] } {
  return { forward: saved.forward, backward: skipZeroGradients(saved.backward) };
}

/**
 * The user's derivative of `d` itself, if it has one: then grad(f), vjp(f) and every caller use
 * that derivative, and f's body is not differentiated (it may even be beyond tsgrad). A refused
 * derivative refuses f's gradient too, rather than quietly differentiate the body instead.
 */
function ownDerivative(d: Differentiable, ctx: FileContext): CustomDerivative | DiffError | undefined {
  if (ts.isMethodDeclaration(d.fn)) return undefined;
  const name = ts.isFunctionDeclaration(d.fn) ? d.fn.name! : ((d.anchor as ts.VariableStatement).declarationList.declarations[0].name as ts.Identifier);
  const custom = derivativeFor(ctx.checker, ctx.program, name);
  if (custom && "refused" in custom) {
    const { node } = custom.refused;
    return new DiffError(Code.InvalidDerivative, name, `\`${d.name}\` has a @derivative tsgrad cannot use (\`${node.getText()}\`, ${shortPosition(node)}; see the error there), which its gradient would call; fix it, or remove its tag`);
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
    if (reported.has(p) || checker.getTypeAtLocation(p).flags & ts.TypeFlags.NumberLike) continue;
    errors.push(new DiffError(Code.UnsupportedParameter, p, `a function with its own derivative takes \`number\` parameters, one gradient each; \`${p.getText()}\` is not one`));
  }
  return errors;
}

/**
 * A function with its own derivative, staged as one call of itself, so its gradient is the
 * user's derivative exactly as at every call of it:
 *   /** @differentiable *\/ function f(x, k) { ... }   and   /** @derivative f *\/ function fD(x, k, y, dy)
 *   → forward  const y = f(x, k);        backward  const [dx_y, dk_y] = fD(x, k, y, dy);
 */
function stageThroughDerivative(d: Differentiable, custom: CustomDerivative, ctx: FileContext, namer: Namer): StagedFunction {
  const params = d.fn.parameters.map((p) => namer.claim((p.name as ts.Identifier).text));
  const clash = params.indexOf(d.name);
  if (clash >= 0) {
    throw new DiffError(Code.UnsupportedParameter, d.fn.parameters[clash], `the parameter \`${d.name}\` hides the function \`${d.name}\`, which its gradient calls for the value its derivative receives; rename the parameter`);
  }
  namer.claim(d.name);
  const derivative = derivativeName(custom, d.fn, ctx, namer);
  const result = namer.fresh("y");
  const args = params.map(ref);
  const call: Stmt = { k: "def", name: result, value: { k: "call", callee: d.name, args }, op: "custom", args, callee: { k: "global", text: derivative }, assign: false, source: d.fn };
  return { name: d.name, params, body: [call], result };
}

function shapeOf(d: Differentiable, staged: StagedFunction, checker: ts.TypeChecker): emit.FunctionShape {
  const method = ts.isMethodDeclaration(d.fn)
    ? { isStatic: (ts.getModifiers(d.fn) ?? []).some((m) => m.kind === ts.SyntaxKind.StaticKeyword), className: className(d.fn) }
    : undefined;
  const common = { name: d.name, gradients: [], exported: d.exported, method, source: d.fn };
  const { signature } = staged;
  if (!signature) {
    // The fence let through only parameters of a kind it knows.
    const kinds = d.fn.parameters.map((p) => kindOf(checker.getTypeAtLocation(p), checker) ?? "number");
    return { ...common, params: staged.params, kinds, types: d.fn.parameters.map((p) => p.type?.getText()) };
  }
  // Fields of object parameters: a Matrix field's gradient is typed `Model["W"]`, as the user's type says.
  const leaves = signature.flatMap((p) => leavesOf(p.tree).map((l) => ({ ...l, type: !l.path.length ? p.type : l.kind === "Matrix" && p.type ? `${p.type}${l.path.map((k) => `["${k}"]`).join("")}` : undefined })));
  return { ...common, params: staged.params, kinds: leaves.map((l) => l.kind), types: leaves.map((l) => l.type), signature };
}

function className(m: ts.MethodDeclaration): string {
  const c = m.parent;
  if ((ts.isClassDeclaration(c) || ts.isClassExpression(c)) && c.name) return c.name.text;
  throw new DiffError(Code.UnsupportedFunctionForm, m, "methods of anonymous classes cannot be @differentiable; give the class a name");
}

/**
 * The names of the gradient of f with respect to some parameters, after them:
 *   networkLoss(net, X, y), wrt [0] → networkLoss_grad_net, networkLoss_gradInto_net
 */
export function wrtNames(d: Differentiable, wrt: readonly number[]): { grad: string; gradInto: string } {
  const names = generatedNames(d.name);
  const suffix = wrt.map((i) => (ts.isIdentifier(d.fn.parameters[i].name) ? d.fn.parameters[i].name.text : `${i}`)).join("_");
  return { grad: `${names.grad}_${suffix}`, gradInto: `${names.gradInto}_${suffix}` };
}

/** The staged parameters (leaves) of the user's parameters not in `wrt`. */
function leavesOutside(staged: StagedFunction, wrt: readonly number[]): string[] {
  const signature = staged.signature ?? staged.params.map((name) => ({ name, tree: { k: "leaf", name, kind: "number" } as const }));
  return signature.flatMap((p, i) => (wrt.includes(i) ? [] : leavesOf(p.tree).map((l) => l.name)));
}

/** A parameter's adjoint if the backward pass writes it, else undefined (its gradient is 0). */
function gradientsOf(adjoints: readonly string[], backward: Parameters<typeof accumulated>[0]): (string | undefined)[] {
  const written = new Set(accumulated(backward));
  return adjoints.map((a) => (written.has(a) ? a : undefined));
}

/** Does any loop push values for its backward loop? */
function savesValues(body: readonly Stmt[]): boolean {
  return body.some((s) => s.k === "push" || (s.k === "loop" && savesValues(s.body)) || (s.k === "if" && (savesValues(s.then) || savesValues(s.else))));
}

/**
 * The local name of a runtime export the generated code uses, imported once per file; aliased
 * (`saved as saved_2`) when the file declares that name itself.
 */
function runtimeName(ctx: FileContext, name: string, locals?: Namer): string {
  const importedAsItself = ctx.file.statements.some((s) => {
    const bindings = ts.isImportDeclaration(s) && ts.isStringLiteral(s.moduleSpecifier) && s.moduleSpecifier.text === RUNTIME ? s.importClause?.namedBindings : undefined;
    return bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.some((e) => (e.propertyName ?? e.name).text === name && e.name.text === name);
  });
  // Under CommonJS, tsc turns the user's import into `tsgrad_1.name`, so generated code imports its own.
  if (importedAsItself && !ctx.commonJs) return name;
  const taken = new Set(topLevelNames(ctx.file));
  let local = name;
  for (let i = 2; taken.has(local) || locals?.has(local); i++) local = `${name}_${i}`;
  addImport(ctx.imports, RUNTIME, local === name ? name : `${name} as ${local}`);
  return local;
}

/** Parameters, then forward names in definition order: the order of the vjp cache. */
function definedIn(fn: StagedFunction): string[] {
  const names = [...fn.params];
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

/**
 * The expression naming a callee's generated gradient at a call site, and the import it needs:
 *   g(x), g declared in this file                    → g_grad
 *   g(x), import { g } from "./m.js"                 → g_grad, imported from "./m.js"
 *   sqr(x), import { sqr } from "./index.js", which re-exports square under that name
 *                                                    → sqr_grad: square_grad imported as sqr_grad from
 *                                                      square's own module (the re-export has no square_grad)
 *   M.g(x), M.default(x) (a namespace, a class)      → M.g_grad, M.cube_grad (the default export cube's)
 */
function gradientReference(callee: Differentiable, call: ts.CallExpression, ctx: FileContext): { text: string; from?: string; imported?: string } {
  const expr = call.expression;
  const imported = `${callee.name}_grad`;
  if (ts.isIdentifier(expr)) {
    const decl = ctx.checker.getSymbolAtLocation(expr)?.declarations?.[0];
    const text = `${expr.text}_grad`;
    if (!decl || !(ts.isImportSpecifier(decl) || ts.isImportClause(decl))) return { text };
    const specifier = (ts.isImportSpecifier(decl) ? decl.parent.parent.parent : decl.parent).moduleSpecifier as ts.StringLiteral;
    return { text, imported, from: declaringModule(specifier, callee, ctx) };
  }
  if (ts.isPropertyAccessExpression(expr) && expr.name.text !== callee.name) {
    const specifier = namespaceSpecifier(expr.expression, ctx);
    if (specifier && declaringModule(specifier, callee, ctx) === specifier.text) return { text: `${expr.expression.getText()}.${imported}` };
  }
  return { text: `${expr.getText()}_grad` };
}

/**
 * The module to import a callee's generated functions from: the one the user imported it from,
 * unless that one only re-exports it under another name (`export { square as sqr }`, which does not
 * re-export square_grad): then the callee's own module, by a relative path.
 */
function declaringModule(specifier: ts.StringLiteral, callee: Differentiable, ctx: FileContext): string {
  const target = ctx.checker.getSymbolAtLocation(specifier)?.valueDeclaration;
  const own = callee.fn.getSourceFile();
  if (!target || target === own || own.isDeclarationFile || /[\\/]node_modules[\\/]/.test(own.fileName)) return specifier.text;
  return moduleSpecifier(ctx.file.fileName, own.fileName);
}

/** `M` in `M.g(x)`, bound by `import * as M from "./m.js"` → the "./m.js" literal. */
function namespaceSpecifier(expr: ts.Expression, ctx: FileContext): ts.StringLiteral | undefined {
  const decl = ts.isIdentifier(expr) ? ctx.checker.getSymbolAtLocation(expr)?.declarations?.[0] : undefined;
  return decl && ts.isNamespaceImport(decl) ? (decl.parent.parent.moduleSpecifier as ts.StringLiteral) : undefined;
}

/** gradientReference's expression, with its import added to the file's. */
function gradOf(callee: Differentiable, call: ts.CallExpression, ctx: FileContext): Expr {
  if (ts.isMethodDeclaration(callee.fn) && !ts.isPropertyAccessExpression(call.expression)) {
    throw new DiffError(Code.UnsupportedExpression, call, "call the method through its class, `Model.m(x)`");
  }
  const { text, from, imported } = gradientReference(callee, call, ctx);
  if (from && imported) addImport(ctx.imports, from, imported === text ? imported : `${imported} as ${text}`);
  return { k: "global", text };
}

/**
 * The expression naming the user's derivative of a callee, `softplus(x)` → `softplusD`, or
 * undefined when there is none. Refuses calls of a function whose derivative is refused (rather
 * than differentiate around it), and calls that leave a defaulted argument out (the derivative
 * takes every argument, and the default's value is not at the call).
 */
function derivativeOf(call: ts.CallExpression, ctx: FileContext, namer: Namer): Expr | undefined {
  const custom = derivativeFor(ctx.checker, ctx.program, call.expression);
  if (!custom) return undefined;
  const callee = call.expression.getText();
  if ("refused" in custom) {
    const { node } = custom.refused;
    throw new DiffError(Code.InvalidDerivative, call.expression, `\`${callee}\` has a @derivative tsgrad cannot use (\`${node.getText()}\`, ${shortPosition(node)}; see the error there); fix it, or remove its tag`);
  }
  const missing = custom.ofParams.slice(call.arguments.length);
  const all = `\`${callee}(${custom.ofParams.join(", ")})\``;
  if (missing.length || call.arguments.some(ts.isSpreadElement)) {
    throw new DiffError(Code.InvalidDerivative, call, `the derivative \`${custom.name}\` takes every argument of \`${callee}\`, but this call leaves ${missing.map((p) => `\`${p}\``).join(", ") || "them"} to a default; pass them all: ${all}`);
  }
  if (call.arguments.length > custom.ofParams.length) {
    throw new DiffError(Code.InvalidDerivative, call, `the derivative \`${custom.name}\` takes the ${custom.ofParams.length} argument(s) of ${all}, and this call passes ${call.arguments.length}; pass exactly those`);
  }
  return { k: "global", text: derivativeName(custom, call, ctx, namer) };
}

/**
 * The name generated code calls a user's derivative by, at `at` (a call in the function `namer`
 * names the locals of), reserved in that namer so no generated local hides it:
 *   a name the file already has for it, not hidden at `at`     softplusD   (its own, or the user's import)
 *   else an import under a free name, from another module     import { softplusD as softplusD_2 } from "./d.js"
 *   else an alias of the file's own derivative                 const softplusD_2 = softplusD;
 * A name chosen for one function is reused by the others. Free means: no local of this function,
 * nothing in scope at `at`, and nothing generated code adds to the file (f_grad, imports).
 */
function derivativeName(custom: CustomDerivative, at: ts.Node, ctx: FileContext, namer: Namer): string {
  const mine = chosenIn(namer);
  if (mine.has(custom)) return mine.get(custom)!;
  const text = chooseDerivativeName(custom, at, ctx, namer);
  mine.set(custom, text);
  return text;
}

/** The derivative names a function's gradient uses so far, by its namer: each call of one derivative uses the first's. */
const chosen = new WeakMap<Namer, Map<CustomDerivative, string>>();
const chosenIn = (namer: Namer) => chosen.get(namer) ?? chosen.set(namer, new Map()).get(namer)!;

function chooseDerivativeName(custom: CustomDerivative, at: ts.Node, ctx: FileContext, namer: Namer): string {
  const elsewhere = custom.file !== ctx.file;
  if (elsewhere && !custom.exportedAs) {
    throw new DiffError(Code.InvalidDerivative, custom.nameNode, `\`${custom.name}\` (the derivative of \`${custom.ofName}\`) is not exported, but the gradients ${path.basename(ctx.file.fileName)} generates call it and must import it; export it`);
  }
  // `name` means `binding` at `at` (undefined: nothing, so generated code may bind it) and no local hides it.
  const visible = (name: string, binding?: ts.Declaration) => !namer.has(name) && declarationOf(ctx.checker.resolveName(name, at, SCOPE_MEANING, false)) === binding;
  const generated = ctx.derivatives.filter((b) => b.custom === custom).map((b) => ({ text: b.local, root: b.local, binding: undefined }));
  const reused = [...boundNames(custom, ctx), ...generated].find((b) => visible(b.root, b.binding));
  if (reused) return namer.claim(reused.root), reused.text;

  let local = custom.name;
  for (let i = 2; !visible(local) || ctx.generated.has(local); i++) local = `${custom.name}_${i}`;
  ctx.generated.add(local);
  ctx.derivatives.push({ custom, local });
  if (elsewhere) addImport(ctx.imports, moduleSpecifier(ctx.file.fileName, custom.file.fileName), custom.exportedAs === local ? local : `${custom.exportedAs} as ${local}`);
  return namer.claim(local);
}

/** What a name can mean at a use: a value, a type or a namespace (an import binds all three). */
const SCOPE_MEANING = ts.SymbolFlags.Value | ts.SymbolFlags.Type | ts.SymbolFlags.Namespace;

/** A binding of a derivative in the user's file: `D.softplusD` has root `D`, bound by `binding`. */
interface Bound {
  text: string;
  root: string;
  binding: ts.Declaration | undefined;
}

/**
 * The names the user's file already has for a derivative:
 *   its own declaration                          function softplusD            → softplusD
 *   an import of it                              import { softplusD as spd }   → spd
 *   a namespace import of its module             import * as D                 → D.softplusD
 */
function boundNames(custom: CustomDerivative, ctx: FileContext): Bound[] {
  if (custom.file === ctx.file) return [{ text: custom.name, root: custom.name, binding: custom.nameNode.parent as ts.Declaration }];
  const { checker } = ctx;
  const target = (name: ts.Identifier) => {
    const symbol = checker.getSymbolAtLocation(name);
    return symbol && symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  };
  const own = checker.getSymbolAtLocation(custom.nameNode);
  const module = checker.getSymbolAtLocation(custom.file);
  const found: Bound[] = [];
  for (const s of ctx.file.statements) {
    const clause = ts.isImportDeclaration(s) && !s.importClause?.isTypeOnly ? s.importClause : undefined;
    const bindings = clause?.namedBindings;
    if (!clause) continue;
    if (clause.name && target(clause.name) === own) found.push({ text: clause.name.text, root: clause.name.text, binding: clause });
    if (bindings && ts.isNamedImports(bindings)) {
      for (const e of bindings.elements) if (!e.isTypeOnly && target(e.name) === own) found.push({ text: e.name.text, root: e.name.text, binding: e });
    }
    if (bindings && ts.isNamespaceImport(bindings) && target(bindings.name) === module) {
      found.push({ text: `${bindings.name.text}.${custom.exportedAs}`, root: bindings.name.text, binding: bindings });
    }
  }
  // tsc drops an import the file reads nowhere (`import { softplusD }` there only for its tag):
  // generated code cannot lean on it, and imports the derivative itself.
  const read = valueReads(ctx);
  return found.filter((b) => read.has(b.binding!));
}

/** The import bindings the file reads as values somewhere (tsc keeps those imports), by declaration. */
function valueReads(ctx: FileContext): Set<ts.Declaration> {
  const read = new Set<ts.Declaration>();
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) || ts.isTypeNode(n)) return;
    if (ts.isIdentifier(n)) {
      const decl = declarationOf(ctx.checker.getSymbolAtLocation(n));
      if (decl && (ts.isImportSpecifier(decl) || ts.isImportClause(decl) || ts.isNamespaceImport(decl))) read.add(decl);
    }
    ts.forEachChild(n, visit);
  };
  visit(ctx.file);
  return read;
}

const declarationOf = (symbol: ts.Symbol | undefined) => symbol?.declarations?.[0];

/** "/p/src/a.ts", "/p/src/lib/b.ts" → "./lib/b.js". */
function moduleSpecifier(from: string, to: string): string {
  const rel = path.posix.relative(path.posix.dirname(from.replace(/\\/g, "/")), to.replace(/\\/g, "/")).replace(/\.(m|c)?tsx?$/, (_m, k: string | undefined) => `.${k ?? ""}js`);
  return rel.startsWith(".") ? rel : `./${rel}`;
}

function addImport(imports: Imports, from: string, name: string): void {
  if (!imports.has(from)) imports.set(from, new Set());
  imports.get(from)!.add(name);
}

// ---- whole files ------------------------------------------------------------------------------

export interface FileResult {
  file: ts.SourceFile;
  diagnostics: ts.Diagnostic[];
  compiled: CompiledFunction[];
}

/** What a file gets: compiled functions by anchor, and the diagnostics of the refused ones. */
interface FilePlan {
  ctx: FileContext;
  compiled: Map<ts.Node, CompiledFunction>;
  diagnostics: ts.Diagnostic[];
  /** The runtime's registerGradient as the file names it (the user's own import of it, or one generated code adds). */
  register: string;
}

function planFile(file: ts.SourceFile, program: ts.Program, stageName: Stage, commonJs = false, options: TransformOptions = {}): FilePlan {
  const ctx = fileContext(file, program, commonJs, options);
  const diagnostics: ts.Diagnostic[] = derivativeProblems(program, file);
  const compiled = new Map<ts.Node, CompiledFunction>();
  const functions = findDifferentiable(file);
  for (const d of functions) {
    const result = compileFunction(d, ctx, stageName, ctx.wrts.get(d.fn) ?? []);
    if (Array.isArray(result)) {
      diagnostics.push(...result.map(toDiagnostic));
      ctx.refused.add(d.fn);
    } else compiled.set(d.anchor, result);
  }
  // A function calling a refused one would call its missing g_grad: refused too, at the call,
  // and so on up the callers (until nothing changes: callers may come before their callees).
  // This file's functions answer from ctx.refused meanwhile, without being compiled again.
  for (const d of functions) refusals(program).set(d.fn, ctx.refused.has(d.fn));
  for (let changed = true; changed; ) {
    changed = false;
    for (const d of functions) {
      const c = compiled.get(d.anchor);
      const call = c ? callOfRefused(d, ctx, c.members) : undefined;
      if (!call) continue;
      compiled.delete(d.anchor);
      ctx.refused.add(d.fn);
      diagnostics.push(toDiagnostic(call));
      changed = true;
    }
  }
  for (const d of functions) refusals(program).set(d.fn, ctx.refused.has(d.fn));
  const register = stageName === "final" && compiled.size > 0 ? runtimeName(ctx, REGISTER) : REGISTER;
  return { ctx, compiled, diagnostics: uniqueDiagnostics(diagnostics), register };
}

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
      const needed = used.has(gradient) || ["_forward", "_backward"].some((suffix) => used.has(callee + suffix));
      if (needed && target && target !== "unmarked" && target.fn !== d.fn && (ctx.refused.has(target.fn) || isRefused(target, ctx.program))) {
        const at = shortPosition(target.fn.name ?? target.fn);
        found = new DiffError(Code.NotDifferentiableCall, n.expression, `\`${target.name}\` has no gradient: tsgrad refused it (${at}; see the error there), and this call would need it; fix \`${target.name}\` first`);
      }
    }
    ts.forEachChild(n, visit);
  };
  if (d.fn.body) visit(d.fn.body);
  return found;
}

/** What generated nodes name: each identifier, and each `a.b` in full (`A.f_grad`, not `B.f_grad`'s `f_grad`). */
function generatedReferences(nodes: readonly ts.Node[]): Set<string> {
  const texts = new Set<string>();
  const text = (n: ts.Expression): string | undefined =>
    ts.isIdentifier(n) ? n.text : ts.isPropertyAccessExpression(n) ? `${text(n.expression) ?? "?"}.${n.name.text}` : n.kind === ts.SyntaxKind.ThisKeyword ? "this" : undefined;
  const visit = (n: ts.Node, parent?: ts.Node): void => {
    const partOfAccess = parent && ts.isPropertyAccessExpression(parent) && parent.name === n;
    if ((ts.isIdentifier(n) && !partOfAccess) || ts.isPropertyAccessExpression(n)) texts.add(text(n as ts.Expression) ?? "");
    ts.forEachChild(n, (child) => visit(child, n));
  };
  nodes.forEach((n) => visit(n));
  return texts;
}

/** `@derivative f` functions of this file that tsgrad cannot use, as diagnostics at their names. */
function derivativeProblems(program: ts.Program, file: ts.SourceFile): ts.Diagnostic[] {
  return customDerivatives(program)
    .problems.filter((p) => p.node.getSourceFile() === file)
    .map((p) => toDiagnostic(new DiffError(Code.InvalidDerivative, p.node, p.message)));
}

/** registerGradient(f, { grad: f_grad, forward: f_forward, backward: f_backward }) for a function. */
function registrationOf(c: CompiledFunction, register: string): ts.Statement {
  const names = generatedNames(c.d.name);
  return emit.emitRegistration(emit.identifier(register), emit.identifier(c.d.name), {
    grad: c.vector ? undefined : emit.identifier(names.grad),
    gradInto: c.vector ? undefined : emit.identifier(names.gradInto),
    gradChecked: c.checked ? emit.identifier(names.gradChecked) : undefined,
    forward: emit.identifier(names.forward),
    backward: emit.identifier(names.backward),
  }, parameterTexts(c.d));
}

/** f(x, { w, c }) → ["x", "{ w, c }"]: each parameter as written, on one line, without its type. */
function parameterTexts(d: Differentiable): string[] {
  return d.fn.parameters.map((p) => p.name.getText().replace(/\s+/g, " "));
}

/** static { registerGradient(this.prototype.m, { grad: this.prototype.m_grad, ... }); } for methods. */
function staticRegistration(methods: readonly CompiledFunction[], register: string): ts.ClassElement {
  const registrations = methods.map((c) => {
    const isStatic = (ts.getModifiers(c.d.fn) ?? []).some((x) => x.kind === ts.SyntaxKind.StaticKeyword);
    const owner = isStatic ? ts.factory.createThis() : emit.propertyOf(ts.factory.createThis(), "prototype");
    const names = generatedNames(c.d.name);
    return emit.emitRegistration(emit.identifier(register), emit.propertyOf(owner, c.d.name), {
      grad: c.vector ? undefined : emit.propertyOf(owner, names.grad),
      gradInto: c.vector ? undefined : emit.propertyOf(owner, names.gradInto),
      gradChecked: c.checked ? emit.propertyOf(owner, names.gradChecked) : undefined,
      forward: emit.propertyOf(owner, names.forward),
      backward: emit.propertyOf(owner, names.backward),
    }, parameterTexts(c.d));
  });
  return ts.factory.createClassStaticBlockDeclaration(ts.factory.createBlock(registrations, true));
}

/**
 * What generated code needs at the top of the file: imports (the runtime's registerGradient,
 * other modules' f_grad and derivatives), then the aliases of the file's own function derivatives.
 */
function importsOf(plan: FilePlan): ts.Statement[] {
  const imports = [...plan.ctx.imports].map(([from, names]) => importOf([...names], from));
  return [...imports, ...(aliasesAfter(plan.ctx).get(plan.ctx.file) ?? [])];
}

/**
 * Under CommonJS: the requires for generated code's imports (modules.ts), with the generated
 * functions rewritten to reach the names through them, and the aliases of the file's derivatives.
 */
function requiresOf(plan: FilePlan, context: ts.TransformationContext): ts.Statement[] {
  const { ctx, compiled } = plan;
  const { statements, members } = commonJsImports(ctx.imports, RUNTIME, new Set([...topLevelNames(ctx.file), ...ctx.generated]));
  for (const c of compiled.values()) c.members = c.members.map((m) => toCommonJs(m, ctx.file, members, context));
  return [...statements, ...(aliasesAfter(ctx).get(ctx.file) ?? [])];
}

/**
 * Aliases of the file's own derivatives, for gradients whose locals hide a derivative's name:
 *   const softplusD_2 = softplusD;
 * by where each goes: a function declaration's with the imports (the file itself as the key; the
 * function exists from the start), a const's right after that const (before it, it has no value).
 */
function aliasesAfter(ctx: FileContext): Map<ts.Node, ts.Statement[]> {
  const after = new Map<ts.Node, ts.Statement[]>();
  for (const { custom, local } of ctx.derivatives) {
    if (custom.file !== ctx.file) continue;
    const at = ts.isFunctionDeclaration(custom.statement) ? ctx.file : custom.statement;
    const alias = ts.factory.createVariableStatement(undefined, ts.factory.createVariableDeclarationList([ts.factory.createVariableDeclaration(local, undefined, undefined, emit.identifier(custom.name))], ts.NodeFlags.Const));
    ts.addSyntheticLeadingComment(alias, ts.SyntaxKind.SingleLineCommentTrivia, ` \`${custom.name}\`, for gradients where a local of that name hides it (generated by tsgrad)`, true);
    after.set(at, [...(after.get(at) ?? []), alias]);
  }
  return after;
}

const compiledMethodsOf = (cls: ts.ClassLikeDeclaration, plan: FilePlan) =>
  cls.members.flatMap((m) => plan.compiled.get(m) ?? []);

/**
 * Transforms one file for tsc: generated functions after each @differentiable function (inside
 * the class for methods), their registration with the runtime, `grad(f)` → `f_grad`, and the
 * imports the generated code needs. Diagnostics come back as data; nothing throws for user errors.
 */
export function transformFile(file: ts.SourceFile, program: ts.Program, context: ts.TransformationContext, stageName: Stage = "final", options: TransformOptions = {}): FileResult {
  const format = moduleFormatOf(file, program.getCompilerOptions());
  if (typeof format === "object") return { file, diagnostics: moduleFormatRefusal(file, format.unsupported), compiled: [] };
  const plan = planFile(file, program, stageName, format === "commonjs", options);
  const { compiled, diagnostics } = plan;
  if (compiled.size === 0 && !mentionsApi(file)) return { file, diagnostics, compiled: [] };
  const imports = plan.ctx.commonJs ? requiresOf(plan, context) : importsOf(plan);

  const aliases = aliasesAfter(plan.ctx);
  const withGenerated = <T extends ts.Node>(nodes: readonly T[]): T[] =>
    nodes.flatMap((n) => {
      const alias = (aliases.get(ts.getOriginalNode(n)) ?? []) as unknown as T[];
      const c = compiled.get(ts.getOriginalNode(n));
      if (!c) return [n, ...alias];
      const registration = ts.isMethodDeclaration(c.d.fn) || stageName !== "final" ? [] : [registrationOf(c, plan.register)];
      return [n, ...alias, ...(c.members as unknown as T[]), ...(registration as unknown as T[])];
    });

  const visit = (node: ts.Node): ts.Node => {
    if (ts.isCallExpression(node)) {
      const rewritten = rewriteApiCall(node, plan.ctx, diagnostics);
      if (rewritten) return rewritten;
    }
    const visited = ts.visitEachChild(node, visit, context);
    if (ts.isBlock(visited)) return ts.factory.updateBlock(visited, withGenerated(visited.statements));
    if (ts.isModuleBlock(visited)) return ts.factory.updateModuleBlock(visited, withGenerated(visited.statements));
    if (ts.isClassDeclaration(visited) || ts.isClassExpression(visited)) return withMethodGradients(visited, plan, stageName);
    return visited;
  };
  const statements = withGenerated(file.statements.map((s) => visit(s) as ts.Statement));
  return { file: ts.factory.updateSourceFile(file, [...imports, ...statements]), diagnostics, compiled: [...compiled.values()] };
}

/** `module: amd` (umd, system): one error at each @differentiable function, saying what works. */
function moduleFormatRefusal(file: ts.SourceFile, kind: string): ts.Diagnostic[] {
  return findDifferentiable(file).map((d) =>
    toDiagnostic(new DiffError(Code.UnsupportedModuleFormat, d.fn.name ?? d.fn, `the tsc plugin cannot emit gradients for "module": "${kind}"; set "module" to "nodenext", "esnext" or "commonjs" in tsconfig.json`)),
  );
}

function importOf(names: string[], from: string): ts.Statement {
  const specifiers = names.map((n) => {
    const [name, alias] = n.split(" as ");
    return ts.factory.createImportSpecifier(false, alias ? ts.factory.createIdentifier(name) : undefined, ts.factory.createIdentifier(alias ?? name));
  });
  return ts.factory.createImportDeclaration(undefined, ts.factory.createImportClause(undefined, undefined, ts.factory.createNamedImports(specifiers)), ts.factory.createStringLiteral(from));
}

/** Class members plus generated methods, and `static { registerGradient(...) }` for them. */
function withMethodGradients<T extends ts.ClassDeclaration | ts.ClassExpression>(cls: T, plan: FilePlan, stageName: Stage): T {
  const methods = compiledMethodsOf(ts.getOriginalNode(cls) as T, plan);
  if (methods.length === 0) return cls;
  const members = cls.members.flatMap((m) => [m, ...((plan.compiled.get(ts.getOriginalNode(m))?.members ?? []) as ts.ClassElement[])]);
  if (stageName === "final") members.push(staticRegistration(methods, plan.register));
  const f = ts.factory;
  return (ts.isClassDeclaration(cls)
    ? f.updateClassDeclaration(cls, cls.modifiers, cls.name, cls.typeParameters, cls.heritageClauses, members)
    : f.updateClassExpression(cls as ts.ClassExpression, cls.modifiers, cls.name, cls.typeParameters, cls.heritageClauses, members)) as T;
}

function mentionsApi(file: ts.SourceFile): boolean {
  return file.text.includes(RUNTIME);
}

/**
 * grad(f) where f is a @differentiable function of this file → f_grad; obj.m → obj.m_grad.bind(obj).
 * grad(g) where g is a function tsgrad did not compile → a diagnostic. Anything else is left to
 * the runtime lookup (a function value passed around).
 */
function rewriteApiCall(call: ts.CallExpression, ctx: FileContext, diagnostics: ts.Diagnostic[]): ts.Expression | undefined {
  const api = apiName(call.expression, ctx.checker);
  const arg = call.arguments[0];
  if (!api || !arg) return undefined;
  const target = resolveFunction(ctx.checker, arg);
  if (target === "unmarked") {
    diagnostics.push(toDiagnostic(new DiffError(Code.GradOfNonDifferentiable, arg, `${api}(${arg.getText()}) needs a function marked @differentiable; add /** @differentiable */ to \`${arg.getText()}\` (or the @differentiable decorator on a method)`)));
    return undefined;
  }
  if (!target || ctx.refused.has(target.fn)) return undefined;
  // grad(f) → f_grad and gradInto(f) → f_gradInto: nothing looked up at run time.
  const simple = (api === "grad" || api === "gradInto") && call.arguments.length === 1;
  const generated = (name: string) => generatedNames(name)[api === "gradInto" ? "gradInto" : "grad"];
  // grad(f, { wrt: [0] }) → f_grad_net: the gradient of those parameters alone.
  const wrt = staticWrt(call, ctx.checker, ctx.file);
  // The rewrite names a top-level function: not where a local of that name hides it (then the
  // runtime looks the gradient up instead).
  const visible = (name: string) => ctx.checker.resolveName(name, call, ts.SymbolFlags.Value, false) === undefined;
  const names = wrt && ts.isIdentifier(arg) ? ctx.specialized.get(wrt.fn)?.get(wrt.list.join()) : undefined;
  if (names) {
    const name = names[api === "gradInto" ? "gradInto" : "grad"];
    return visible(name) ? ts.setOriginalNode(emit.identifier(name), call) : undefined;
  }
  if (ts.isIdentifier(arg) && simple && target.fn.getSourceFile() === ctx.file && !ts.isMethodDeclaration(target.fn)) {
    return visible(generated(target.name)) ? ts.setOriginalNode(emit.identifier(generated(target.name)), call) : undefined;
  }
  if (ts.isPropertyAccessExpression(arg) && ts.isMethodDeclaration(target.fn) && (ts.isIdentifier(arg.expression) || arg.expression.kind === ts.SyntaxKind.ThisKeyword)) {
    // A method keeps its `this`: grad(obj.m) → obj.m_grad.bind(obj); vjp(obj.m) → vjp(obj.m).bind(obj).
    const owner = arg.expression.kind === ts.SyntaxKind.ThisKeyword ? ts.factory.createThis() : emit.identifier((arg.expression as ts.Identifier).text);
    const bound = simple ? emit.propertyOf(owner, generated(target.name)) : call;
    return ts.factory.createCallExpression(emit.propertyOf(bound, "bind"), undefined, [owner]);
  }
  return undefined;
}

/** `grad` imported from "tsgrad" (by name or through a namespace) → "grad". */
function apiName(callee: ts.Expression, checker: ts.TypeChecker): string | undefined {
  const id = ts.isPropertyAccessExpression(callee) ? callee.name : callee;
  if (!ts.isIdentifier(id) || !API.has(id.text)) return undefined;
  const symbol = checker.getSymbolAtLocation(ts.isPropertyAccessExpression(callee) ? callee.expression : callee);
  const decl = symbol?.declarations?.[0];
  if (!decl) return undefined;
  const importDecl = ts.isImportSpecifier(decl) ? decl.parent.parent.parent : ts.isNamespaceImport(decl) ? decl.parent.parent : undefined;
  if (!importDecl || !ts.isStringLiteral(importDecl.moduleSpecifier) || importDecl.moduleSpecifier.text !== RUNTIME) return undefined;
  if (ts.isImportSpecifier(decl)) return (decl.propertyName ?? decl.name).getText();
  return id.text;
}

/**
 * Where imports go in a file without any: after the header comment (the leading comments followed
 * by a blank line), never between a function and its JSDoc. 0 when there is no header.
 */
function afterHeaderComment(text: string): number {
  let at = 0;
  for (const range of ts.getLeadingCommentRanges(text, 0) ?? []) {
    const gap = text.slice(range.end).match(/^\s*/)![0];
    if (/\n[ \t]*\r?\n/.test(gap)) at = range.end;
  }
  return at;
}

// ---- text output (CLI gen, Vite) ----------------------------------------------------------------

/**
 * The transformed file as TypeScript text, for `tsgrad gen` and the Vite plugin. The user's text
 * is kept byte for byte (comments, blank lines, layout); generated code is spliced in after each
 * function, imports after the file's own imports, and `grad(f)` calls are replaced in place.
 */
export function transformToText(file: ts.SourceFile, program: ts.Program, stageName: Stage = "final", options: TransformOptions = {}): { text: string; diagnostics: ts.Diagnostic[]; compiled: CompiledFunction[] } {
  const plan = planFile(file, program, stageName, false, options);
  const printer = ts.createPrinter({ newLine: ts.NewLineKind.LineFeed });
  const print = (n: ts.Node) => printer.printNode(ts.EmitHint.Unspecified, n, file);
  const edits: { pos: number; end: number; text: string }[] = [];

  for (const [anchor, c] of plan.compiled) {
    const registration = ts.isMethodDeclaration(c.d.fn) || stageName !== "final" ? [] : [registrationOf(c, plan.register)];
    const chunks = [...c.members, ...registration].map(print);
    edits.push({ pos: anchor.end, end: anchor.end, text: `\n\n${chunks.join("\n\n")}` });
  }
  const walk = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const rewritten = rewriteApiCall(node, plan.ctx, plan.diagnostics);
      if (rewritten) return void edits.push({ pos: node.getStart(file), end: node.end, text: print(rewritten) });
    }
    if ((ts.isClassDeclaration(node) || ts.isClassExpression(node)) && stageName === "final") {
      const methods = compiledMethodsOf(node, plan);
      if (methods.length) edits.push({ pos: node.members.end, end: node.members.end, text: `\n\n${print(staticRegistration(methods, plan.register))}\n` });
    }
    ts.forEachChild(node, walk);
  };
  walk(file);

  for (const [statement, aliases] of aliasesAfter(plan.ctx)) {
    if (statement !== file) edits.push({ pos: statement.end, end: statement.end, text: `\n${aliases.map(print).join("\n")}` });
  }
  const imports = importsOf(plan).map(print);
  if (imports.length) {
    const lastImport = [...file.statements].reverse().find(ts.isImportDeclaration);
    const at = lastImport ? lastImport.end : afterHeaderComment(file.text);
    edits.push({ pos: at, end: at, text: at > 0 ? `\n${lastImport ? "" : "\n"}${imports.join("\n")}` : `${imports.join("\n")}\n\n` });
  }

  // Apply from the end backwards; at one position, the edit made first must end up first.
  let text = file.text;
  const order = edits.map((e, i) => ({ ...e, i })).sort((a, b) => b.pos - a.pos || b.i - a.i);
  for (const e of order) text = text.slice(0, e.pos) + e.text + text.slice(e.end);
  return { text, diagnostics: plan.diagnostics, compiled: [...plan.compiled.values()] };
}

/** Just the generated functions of a file (or of one function), as TypeScript text, unformatted. */
export function generatedText(file: ts.SourceFile, program: ts.Program, options: { stage?: Stage; fn?: string } & TransformOptions = {}): { text: string; diagnostics: ts.Diagnostic[]; reports: FunctionReport[] } {
  const ctx = fileContext(file, program, false, options);
  const printer = ts.createPrinter({ newLine: ts.NewLineKind.LineFeed });
  const diagnostics: ts.Diagnostic[] = options.fn ? [] : derivativeProblems(program, file);
  const parts: string[] = [];
  const reports: FunctionReport[] = [];
  for (const d of findDifferentiable(file)) {
    if (options.fn && d.name !== options.fn) continue;
    const compiled = compileFunction(d, ctx, options.stage ?? "final", ctx.wrts.get(d.fn) ?? []);
    const refusedCall = Array.isArray(compiled) ? undefined : callOfRefused(d, ctx, compiled.members);
    const result = refusedCall ? [refusedCall] : compiled;
    if (Array.isArray(result)) diagnostics.push(...result.map(toDiagnostic));
    else {
      // f_gradInto is f_grad writing into given buffers: print leaves it out (gen and the plugins emit it).
      const shown = result.members.filter((m) => !isNamed(m, generatedNames(d.name).gradInto));
      parts.push(...shown.map((m) => printer.printNode(ts.EmitHint.Unspecified, m, file)));
      if (result.report) reports.push(result.report);
    }
  }
  return { text: parts.join("\n\n") + "\n", diagnostics: uniqueDiagnostics(diagnostics), reports };
}

/** Is this generated function or method called `name`? */
function isNamed(member: ts.Statement | ts.ClassElement, name: string): boolean {
  const id = (member as ts.FunctionDeclaration | ts.MethodDeclaration).name;
  return id !== undefined && ts.isIdentifier(id) && id.text === name;
}
