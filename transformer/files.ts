// One source file for tsc (transformFile): its planned functions (plan.ts) placed beside their
// originals and registered with the runtime, `grad(f)` rewritten (calls.ts), and the imports
// generated code needs, as `import` or, under CommonJS, `require` (module-format.ts). text.ts
// writes the same as text, for `tsgrad gen`, Vite and `tsgrad print`.

import ts from "typescript";
import { type Differentiable, findDifferentiable } from "./phases/annotations.js";
import { toDiagnostic } from "./ir/diagnostics.js";
import { refuse } from "./ir/language.js";
import { isDataKind } from "./ir/ir.js";
import * as emit from "./phases/emit.js";
import { RUNTIME, generatedNames } from "./ir/naming.js";
import { commonJsImports, moduleFormatOf, toCommonJs } from "./module-format.js";
import { type CompiledFunction, type Stage } from "./pipeline.js";
import { REGISTER, type TransformOptions, topLevelNames, aliasesAfter } from "./link.js";
import { rewriteApiCall, mentionsApi } from "./calls.js";
import { type FilePlan, aloneInParent, planFile } from "./plan.js";

export interface FileResult {
  file: ts.SourceFile;
  diagnostics: ts.Diagnostic[];
  compiled: CompiledFunction[];
}

/**
 * registerGradient(f, { grad: f_grad, forward: f_forward, backward: f_backward }) for a function,
 * registerGradient(vec.dot, { grad: vec_dot_grad, ... }) for a member of an object literal, and
 * for a closure the call around it, registerGradient(<closure>, { ... }), which returns it.
 */
export function registrationOf(c: CompiledFunction, register: string): ts.Statement {
  return emit.emitStatement(registrationCall(c, register, emit.propertyPath(c.d.label)));
}

export function registrationCall(c: CompiledFunction, register: string, target: ts.Expression): ts.CallExpression {
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
export function staticRegistration(methods: readonly CompiledFunction[], register: string): ts.ClassElement {
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
export function importsOf(plan: FilePlan): ts.Statement[] {
  const imports = [...usedImports(plan)].map(([from, names]) => emit.emitImport([...names], from));
  return [...imports, ...(aliasesAfter(plan.ctx).get(plan.ctx.file) ?? [])];
}

/**
 * The imports, less the runtime's names no generated function ended up calling: a kernel the
 * backward pass planned and then replaced by a shared buffer (`const dt_1 = dt` for
 * `addTo(dt_1, dt)`) or folded into a fused one. (The registrations name registerGradient.)
 */
function usedImports(plan: FilePlan): Map<string, ReadonlySet<string>> {
  const used = new Set<string>();
  const visit = (n: ts.Node): void => {
    if (ts.isIdentifier(n)) used.add(ts.idText(n));
    ts.forEachChild(n, visit);
  };
  for (const c of plan.compiled.values()) c.members.forEach(visit);
  const kept = (n: string) => n.split(" as ")[0] === REGISTER || used.has(n.split(" as ").pop()!);
  return new Map(
    [...plan.ctx.imports].flatMap(([from, names]): [string, ReadonlySet<string>][] => {
      if (from !== RUNTIME) return [[from, names]];
      const runtime = new Set([...names].filter(kept));
      return runtime.size ? [[from, runtime]] : [];
    }),
  );
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
    usedImports(plan),
    RUNTIME,
    new Set([...topLevelNames(ctx.file), ...ctx.generated]),
  );
  // Registrations too: registerGradient(vec.dot, ...) names the user's exported `vec`.
  const convert = <T extends ts.Node>(node: T): T => toCommonJs(node, ctx.file, members, context);
  for (const c of compiled.values()) c.members = c.members.map(convert);
  return { statements: [...statements, ...(aliasesAfter(ctx).get(ctx.file) ?? [])], convert };
}

export const compiledMethodsOf = (cls: ts.ClassLikeDeclaration, plan: FilePlan) =>
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
export const CLOSURE = "__tsgrad_closure__";

/**
 * Where a node's text starts, its leading comments included: a statement's on the lines before it;
 * an expression's also on the line before it (`return /** @differentiable *\/ (t) => ...`), so a
 * closure's tag stays inside the call wrapping it.
 */
export function leadingStart(node: ts.Node): number {
  const text = node.getSourceFile().text;
  const pos = node.getFullStart();
  const sameLine = ts.isExpression(node) ? (ts.getTrailingCommentRanges(text, pos) ?? []) : [];
  return [...sameLine, ...(ts.getLeadingCommentRanges(text, pos) ?? [])][0]?.pos ?? node.getStart();
}

/**
 * Where imports go in a file without any: after the header comment (the leading comments followed
 * by a blank line), never between a function and its JSDoc. 0 when there is no header.
 */
export function afterHeaderComment(text: string): number {
  let at = 0;
  for (const range of ts.getLeadingCommentRanges(text, 0) ?? []) {
    const gap = text.slice(range.end).match(/^\s*/)![0];
    if (/\n[ \t]*\r?\n/.test(gap)) at = range.end;
  }
  return at;
}
