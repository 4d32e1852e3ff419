// One source file: its @differentiable functions compiled (pipeline.ts), a function refused when it
// calls a refused one, the generated functions placed beside their originals and registered with
// the runtime, `grad(f)` rewritten (calls.ts), and the imports generated code needs, as `import`
// or, under CommonJS, `require` (module-format.ts). As TypeScript nodes for tsc (transformFile),
// as text for `tsgrad gen` and Vite (transformToText), or just the generated functions for
// `tsgrad print` (generatedText).

import ts from "typescript";
import {
  type Differentiable,
  findDifferentiable,
  isStatementList,
  resolveFunction,
  strayTags,
} from "./phases/annotations.js";
import { customDerivatives } from "./phases/derivatives.js";
import { type DiffError, shortPosition, toDiagnostic, uniqueDiagnostics } from "./ir/diagnostics.js";
import { refuse } from "./ir/language.js";
import { isDataKind } from "./ir/ir.js";
import * as emit from "./phases/emit.js";
import { RUNTIME, generatedNames } from "./ir/naming.js";
import { type FunctionReport } from "./phases/report.js";
import { commonJsImports, moduleFormatOf, toCommonJs } from "./module-format.js";
import { type CompiledFunction, type Stage, compileFunction, compilePullback } from "./pipeline.js";
import {
  type FileContext,
  type TransformOptions,
  REGISTER,
  fileContext,
  gradientReference,
  helperRefusal,
  runtimeName,
  topLevelNames,
  aliasesAfter,
} from "./link.js";
import { rewriteApiCall, mentionsApi } from "./calls.js";

export interface FileResult {
  file: ts.SourceFile;
  diagnostics: ts.Diagnostic[];
  compiled: CompiledFunction[];
}

/** What a file gets: compiled functions (by the user's function node), and the diagnostics of the refused ones. */
interface FilePlan {
  ctx: FileContext;
  compiled: Map<ts.Node, CompiledFunction>;
  /** Where their generated code goes (placementOf). */
  place: Placement;
  diagnostics: ts.Diagnostic[];
  /** The runtime's registerGradient as the file names it (the user's own import of it, or one generated code adds). */
  register: string;
}

function planFile(
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
  if (stageName === "final") buildPullbacks(ctx, compiled, diagnostics);
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

const memberName = (m: ts.Statement | ts.ClassElement): string => {
  const id = (m as ts.FunctionDeclaration | ts.MethodDeclaration).name;
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
        const result = compilePullback(request.callee, ctx, request.wrt, request.name);
        if (!Array.isArray(result)) c.members.push(result);
        else {
          diagnostics.push(...result.map(toDiagnostic));
          compiled.delete(request.callee.fn);
          ctx.refused.add(request.callee.fn);
        }
      }
  }
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
interface Placement {
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
const aloneInParent = (statement: ts.Node) => !isStatementList(statement.parent);

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
      const needed =
        used.has(gradient) ||
        ["_forward", "_backward"].some((suffix) => used.has(callee + suffix)) ||
        pullbacks.some((p) => used.has(p.name));
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
function derivativeProblems(program: ts.Program, file: ts.SourceFile): ts.Diagnostic[] {
  return customDerivatives(program)
    .problems.filter((p) => p.error.node.getSourceFile() === file)
    .map((p) => toDiagnostic(p.error));
}

/**
 * registerGradient(f, { grad: f_grad, forward: f_forward, backward: f_backward }) for a function,
 * registerGradient(vec.dot, { grad: vec_dot_grad, ... }) for a member of an object literal, and
 * for a closure the call around it, registerGradient(<closure>, { ... }), which returns it.
 */
function registrationOf(c: CompiledFunction, register: string): ts.Statement {
  return emit.emitStatement(registrationCall(c, register, emit.propertyPath(c.d.label)));
}

function registrationCall(c: CompiledFunction, register: string, target: ts.Expression): ts.CallExpression {
  const names = generatedNames(c.d.name);
  return emit.emitRegistration(
    emit.identifier(register),
    target,
    {
      grad: c.vector ? undefined : emit.identifier(names.grad),
      gradInto: c.vector ? undefined : emit.identifier(names.gradInto),
      gradChecked: c.checked ? emit.identifier(names.gradChecked) : undefined,
      forward: emit.identifier(names.forward),
      backward: emit.identifier(names.backward),
    },
    parameterTexts(c.d),
    dataIndices(c),
  );
}

/**
 * f(x, { w, c }, k = 2) → ["x", "{ w, c }", "k?"]: each parameter as written, on one line, without
 * its type; one that may be left out (optional, or with a default) ends in `?`.
 */
function parameterTexts(d: Differentiable): string[] {
  return d.fn.parameters.map(
    (p) => p.name.getText().replace(/\s+/g, " ") + (p.questionToken || p.initializer ? "?" : ""),
  );
}

/** The indices of the data parameters (labels, modes, flags): f(x, kind: "l1" | "l2") → [1]. */
function dataIndices(c: CompiledFunction): number[] {
  return (c.staged.signature ?? []).flatMap((p, i) => (p.tree.k === "leaf" && isDataKind(p.tree.kind) ? [i] : []));
}

/** static { registerGradient(this.prototype.m, { grad: this.prototype.m_grad, ... }); } for methods. */
function staticRegistration(methods: readonly CompiledFunction[], register: string): ts.ClassElement {
  const registrations = methods.map((c) => {
    const isStatic = (ts.getModifiers(c.d.fn) ?? []).some((x) => x.kind === ts.SyntaxKind.StaticKeyword);
    const owner = emit.ownerOf(isStatic);
    const names = generatedNames(c.d.name);
    return emit.emitStatement(
      emit.emitRegistration(
        emit.identifier(register),
        emit.propertyOf(owner, c.d.name),
        {
          grad: c.vector ? undefined : emit.propertyOf(owner, names.grad),
          gradInto: c.vector ? undefined : emit.propertyOf(owner, names.gradInto),
          gradChecked: c.checked ? emit.propertyOf(owner, names.gradChecked) : undefined,
          forward: emit.propertyOf(owner, names.forward),
          backward: emit.propertyOf(owner, names.backward),
        },
        parameterTexts(c.d),
        dataIndices(c),
      ),
    );
  });
  return emit.emitStaticBlock(registrations);
}

/**
 * What generated code needs at the top of the file: imports (the runtime's registerGradient,
 * other modules' f_grad and derivatives), then the aliases of the file's own function derivatives.
 */
function importsOf(plan: FilePlan): ts.Statement[] {
  const imports = [...plan.ctx.imports].map(([from, names]) => emit.emitImport([...names], from));
  return [...imports, ...(aliasesAfter(plan.ctx).get(plan.ctx.file) ?? [])];
}

/**
 * Under CommonJS: the requires for generated code's imports (module-format.ts), with the generated
 * functions rewritten to reach the names through them, and the aliases of the file's derivatives.
 */
function requiresOf(
  plan: FilePlan,
  context: ts.TransformationContext,
): { statements: ts.Statement[]; convert: <T extends ts.Node>(node: T) => T } {
  const { ctx, compiled } = plan;
  const { statements, members } = commonJsImports(
    ctx.imports,
    RUNTIME,
    new Set([...topLevelNames(ctx.file), ...ctx.generated]),
  );
  // Registrations too: registerGradient(vec.dot, ...) names the user's exported `vec`.
  const convert = <T extends ts.Node>(node: T): T => toCommonJs(node, ctx.file, members, context);
  for (const c of compiled.values()) c.members = c.members.map(convert);
  return { statements: [...statements, ...(aliasesAfter(ctx).get(ctx.file) ?? [])], convert };
}

const compiledMethodsOf = (cls: ts.ClassLikeDeclaration, plan: FilePlan) =>
  cls.members.flatMap((m) => plan.compiled.get(m) ?? []);

/**
 * Transforms one file for tsc: generated functions after each @differentiable function (inside
 * the class for methods), their registration with the runtime, `grad(f)` → `f_grad`, and the
 * imports the generated code needs. Diagnostics come back as data; nothing throws for user errors.
 */
export function transformFile(
  file: ts.SourceFile,
  program: ts.Program,
  context: ts.TransformationContext,
  stageName: Stage = "final",
  options: TransformOptions = {},
): FileResult {
  const format = moduleFormatOf(file, program.getCompilerOptions());
  if (typeof format === "object")
    return { file, diagnostics: moduleFormatRefusal(file, format.unsupported), compiled: [] };
  const plan = planFile(file, program, stageName, format === "commonjs", options);
  const { compiled, diagnostics } = plan;
  if (compiled.size === 0 && !mentionsApi(file)) return { file, diagnostics, compiled: [] };
  const { statements: imports, convert } = plan.ctx.commonJs
    ? requiresOf(plan, context)
    : { statements: importsOf(plan), convert: <T extends ts.Node>(node: T) => node };

  const aliases = aliasesAfter(plan.ctx);
  const { place } = plan;
  const final = stageName === "final";
  /** A compiled function's generated functions (and, after a function or a member, its registration). */
  const generated = (cs: readonly CompiledFunction[] | undefined, registered: boolean): ts.Statement[] =>
    (cs ?? []).flatMap((c) => [
      ...(c.members as ts.Statement[]),
      ...(registered && final && !c.d.implicit ? [convert(registrationOf(c, plan.register))] : []),
    ]);
  const withGenerated = <T extends ts.Node>(nodes: readonly T[]): T[] =>
    nodes.flatMap((n) => {
      const original = ts.getOriginalNode(n);
      const alias = (aliases.get(original) ?? []) as unknown as T[];
      const before = generated(place.before.get(original), false) as unknown as T[];
      const after = generated(place.after.get(original), true) as unknown as T[];
      return [...before, n, ...alias, ...after];
    });

  const visit = (node: ts.Node): ts.Node => {
    if (ts.isCallExpression(node)) {
      const rewritten = rewriteApiCall(node, plan.ctx, diagnostics);
      if (rewritten) return rewritten;
    }
    const original = ts.getOriginalNode(node);
    const visited = ts.visitEachChild(node, visit, context);
    if (ts.isBlock(visited)) return ts.factory.updateBlock(visited, withGenerated(visited.statements));
    if (ts.isModuleBlock(visited)) return ts.factory.updateModuleBlock(visited, withGenerated(visited.statements));
    if (ts.isCaseClause(visited))
      return ts.factory.updateCaseClause(visited, visited.expression, withGenerated(visited.statements));
    if (ts.isDefaultClause(visited)) return ts.factory.updateDefaultClause(visited, withGenerated(visited.statements));
    if (ts.isClassDeclaration(visited) || ts.isClassExpression(visited))
      return withMethodGradients(visited, plan, stageName);
    // A closure, registered where it is created: registerGradient(<closure>, { ... }).
    const closure = place.closures.get(original);
    if (closure && final)
      return emit.emitWrapped(visited as ts.ArrowFunction | ts.FunctionExpression, (copy) =>
        registrationCall(closure, plan.register, copy),
      );
    // (s) => /** @differentiable */ (t) => ...: the arrow's body a block holding the closure's gradients.
    if (ts.isArrowFunction(visited) && place.body.has(original)) {
      const { modifiers, typeParameters, parameters, type, equalsGreaterThanToken, body } = visited;
      const block = emit.emitBodyBlock(generated(place.body.get(original), false), body);
      return ts.factory.updateArrowFunction(
        visited,
        modifiers,
        typeParameters,
        parameters,
        type,
        equalsGreaterThanToken,
        block,
      );
    }
    // if (c) return /** @differentiable */ (t) => ...;: a block holding the closure's gradients and the statement.
    if (place.before.has(original) && aloneInParent(original))
      return emit.emitBlock([...generated(place.before.get(original), false), visited as ts.Statement]);
    return visited;
  };
  const statements = withGenerated(file.statements.map((s) => visit(s) as ts.Statement));
  return {
    file: ts.factory.updateSourceFile(file, [...imports, ...statements]),
    diagnostics,
    compiled: [...compiled.values()],
  };
}

/** `module: amd` (umd, system): one error at each @differentiable function, saying what works. */
function moduleFormatRefusal(file: ts.SourceFile, kind: string): ts.Diagnostic[] {
  return findDifferentiable(file)
    .filter((d) => !d.implicit)
    .map((d) => toDiagnostic(refuse("moduleFormat", d.fn.name ?? d.fn, { format: kind })));
}

/** Class members plus generated methods, and `static { registerGradient(...) }` for them. */
function withMethodGradients<T extends ts.ClassDeclaration | ts.ClassExpression>(
  cls: T,
  plan: FilePlan,
  stageName: Stage,
): T {
  const methods = compiledMethodsOf(ts.getOriginalNode(cls) as T, plan);
  if (methods.length === 0) return cls;
  const members = cls.members.flatMap((m) => [
    m,
    ...((plan.compiled.get(ts.getOriginalNode(m))?.members ?? []) as ts.ClassElement[]),
  ]);
  if (stageName === "final") members.push(staticRegistration(methods, plan.register));
  const f = ts.factory;
  return (
    ts.isClassDeclaration(cls)
      ? f.updateClassDeclaration(cls, cls.modifiers, cls.name, cls.typeParameters, cls.heritageClauses, members)
      : f.updateClassExpression(
          cls as ts.ClassExpression,
          cls.modifiers,
          cls.name,
          cls.typeParameters,
          cls.heritageClauses,
          members,
        )
  ) as T;
}

/** A placeholder for the closure in its printed registration (no user name contains it). */
const CLOSURE = "__tsgrad_closure__";

/**
 * Where a node's text starts, its leading comments included: a statement's on the lines before it;
 * an expression's also on the line before it (`return /** @differentiable *\/ (t) => ...`), so a
 * closure's tag stays inside the call wrapping it.
 */
function leadingStart(node: ts.Node): number {
  const text = node.getSourceFile().text;
  const pos = node.getFullStart();
  const sameLine = ts.isExpression(node) ? (ts.getTrailingCommentRanges(text, pos) ?? []) : [];
  return [...sameLine, ...(ts.getLeadingCommentRanges(text, pos) ?? [])][0]?.pos ?? node.getStart();
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
export function transformToText(
  file: ts.SourceFile,
  program: ts.Program,
  stageName: Stage = "final",
  options: TransformOptions = {},
): { text: string; diagnostics: ts.Diagnostic[]; compiled: CompiledFunction[] } {
  const plan = planFile(file, program, stageName, false, options);
  const printer = ts.createPrinter({ newLine: ts.NewLineKind.LineFeed });
  const print = (n: ts.Node) => printer.printNode(ts.EmitHint.Unspecified, n, file);
  const edits: { pos: number; end: number; text: string }[] = [];

  const final = stageName === "final";
  const chunks = (cs: readonly CompiledFunction[], registered: boolean) =>
    cs
      .flatMap((c) => [
        ...c.members,
        ...(registered && final && !c.d.implicit ? [registrationOf(c, plan.register)] : []),
      ])
      .map(print);
  const insert = (pos: number, text: string) => edits.push({ pos, end: pos, text });
  for (const [anchor, cs] of plan.place.after) insert(anchor.end, `\n\n${chunks(cs, true).join("\n\n")}`);
  // A class's methods get theirs after each method, registered in the class's static block (below).
  for (const c of plan.compiled.values())
    if (c.d.place === "method") insert(c.d.anchor.end, `\n\n${chunks([c], false).join("\n\n")}`);
  const walk = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const rewritten = rewriteApiCall(node, plan.ctx, plan.diagnostics);
      if (rewritten) return void edits.push({ pos: node.getStart(file), end: node.end, text: print(rewritten) });
    }
    if ((ts.isClassDeclaration(node) || ts.isClassExpression(node)) && final) {
      const methods = compiledMethodsOf(node, plan);
      if (methods.length)
        edits.push({
          pos: node.members.end,
          end: node.members.end,
          text: `\n\n${print(staticRegistration(methods, plan.register))}\n`,
        });
    }
    // What goes around a node is opened before its children's edits and closed after them, so
    // edits at one position nest: `{ ...; return registerGradient((t) => ..., { ... }); }`.
    const close: string[] = [];
    const before = plan.place.before.get(node);
    if (before) {
      const alone = aloneInParent(node);
      insert(leadingStart(node), `${alone ? "{\n" : ""}${chunks(before, false).join("\n\n")}\n\n`);
      if (alone) close.push("\n}");
    }
    const body = ts.isArrowFunction(node) ? plan.place.body.get(node) : undefined;
    if (body && ts.isArrowFunction(node)) {
      insert(leadingStart(node.body), `{\n${chunks(body, false).join("\n\n")}\n\nreturn `);
      close.push(";\n}");
    }
    const closure = plan.place.closures.get(node);
    if (closure && final) {
      // registerGradient(<closure>, { grad: ..., ... }): the table printed around a placeholder.
      const call = print(registrationCall(closure, plan.register, emit.identifier(CLOSURE)));
      const [open, rest] = call.split(CLOSURE);
      insert(leadingStart(node), open);
      close.push(rest);
    }
    ts.forEachChild(node, walk);
    for (const text of close.reverse()) insert(node.end, text);
  };
  walk(file);

  for (const [statement, aliases] of aliasesAfter(plan.ctx)) {
    if (statement !== file)
      edits.push({ pos: statement.end, end: statement.end, text: `\n${aliases.map(print).join("\n")}` });
  }
  const imports = importsOf(plan).map(print);
  if (imports.length) {
    const lastImport = [...file.statements].reverse().find(ts.isImportDeclaration);
    const at = lastImport ? lastImport.end : afterHeaderComment(file.text);
    edits.push({
      pos: at,
      end: at,
      text: at > 0 ? `\n${lastImport ? "" : "\n"}${imports.join("\n")}` : `${imports.join("\n")}\n\n`,
    });
  }

  // Apply from the end backwards; at one position, the edit made first must end up first.
  let text = file.text;
  const order = edits.map((e, i) => ({ ...e, i })).sort((a, b) => b.pos - a.pos || b.i - a.i);
  for (const e of order) text = text.slice(0, e.pos) + e.text + text.slice(e.end);
  return { text, diagnostics: plan.diagnostics, compiled: [...plan.compiled.values()] };
}

/** Just the generated functions of a file (or of one function), as TypeScript text, unformatted. */
export function generatedText(
  file: ts.SourceFile,
  program: ts.Program,
  options: { stage?: Stage; fn?: string } & TransformOptions = {},
): { text: string; diagnostics: ts.Diagnostic[]; reports: FunctionReport[] } {
  // The whole file is planned, also with --fn: a function's pullbacks are what its callers ask for.
  const plan = planFile(file, program, options.stage ?? "final", false, options);
  const shown = (d: Differentiable) => !options.fn || d.name === options.fn || d.label === options.fn;
  const functions = findDifferentiable(file).filter(shown);
  const inShown = (diagnostic: ts.Diagnostic) =>
    functions.some((d) => diagnostic.start! >= d.anchor.getFullStart() && diagnostic.start! < d.anchor.end);
  const printer = ts.createPrinter({ newLine: ts.NewLineKind.LineFeed });
  const parts: string[] = [];
  const reports: FunctionReport[] = [];
  for (const c of plan.compiled.values()) {
    if (!shown(c.d)) continue;
    // f_gradInto is f_grad writing into given buffers: print leaves it out (gen and the plugins emit it).
    const members = c.members.filter((m) => memberName(m) !== generatedNames(c.d.name).gradInto);
    parts.push(...members.map((m) => printer.printNode(ts.EmitHint.Unspecified, m, file)));
    if (c.report) reports.push(c.report);
  }
  const diagnostics = options.fn ? plan.diagnostics.filter(inShown) : plan.diagnostics;
  return { text: parts.join("\n\n") + "\n", diagnostics, reports };
}
