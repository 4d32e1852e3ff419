// The calls of tsgrad's API in a user's file: `grad(f)` → the generated `f_grad` where f is known
// statically, the literal `wrt` lists that get a gradient of their own, and the functions a
// `grad(f, { checkFinite: true })` names (they get f_gradChecked).

import ts from "typescript";
import { memberGradientVisible, resolveFunction } from "./phases/annotations.js";
import { toDiagnostic } from "./ir/diagnostics.js";
import { refuse } from "./ir/language.js";
import * as emit from "./phases/emit.js";
import { RUNTIME, generatedNames } from "./ir/naming.js";

const API = new Set(["grad", "gradInto", "valueAndGrad", "vjp"]);

const checkedByProgram = new WeakMap<ts.Program, Set<ts.Node>>();

/**
 * The functions some call in the program asks to check, `grad(f, { checkFinite: true })` or
 * `valueAndGrad(f, { checkFinite: true })` with f known statically: they get f_gradChecked.
 */
export function checkedFunctions(program: ts.Program): Set<ts.Node> {
  let found = checkedByProgram.get(program);
  if (found) return found;
  checkedByProgram.set(program, (found = new Set()));
  const checker = program.getTypeChecker();
  const visit = (n: ts.Node): void => {
    if (
      ts.isCallExpression(n) &&
      n.arguments.length === 2 &&
      asksForChecks(n.arguments[1]) &&
      ["grad", "valueAndGrad"].includes(apiName(n.expression, checker) ?? "")
    ) {
      const target = resolveFunction(checker, n.arguments[0]);
      if (target && target !== "unmarked") found.add(target.fn);
    }
    ts.forEachChild(n, visit);
  };
  for (const file of program.getSourceFiles())
    if (!file.isDeclarationFile && file.text.includes("checkFinite")) visit(file);
  return found;
}

/** `{ checkFinite: true }`, `{ wrt: [0], checkFinite: true }` → true. */
function asksForChecks(options: ts.Expression): boolean {
  return (
    ts.isObjectLiteralExpression(options) &&
    options.properties.some(
      (p) =>
        ts.isPropertyAssignment(p) &&
        p.name.getText() === "checkFinite" &&
        p.initializer.kind === ts.SyntaxKind.TrueKeyword,
    )
  );
}

/**
 * The literal `wrt` lists of `grad(f, { wrt: [0, 2] })` and `gradInto(f, { wrt: [...] })` calls in
 * the file, for f a @differentiable function declared in it (not a method), by f: distinct lists,
 * in the order first met. Other calls are left to the runtime, which picks from the full gradient.
 */
export function wrtCalls(file: ts.SourceFile, checker: ts.TypeChecker): Map<ts.Node, number[][]> {
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
export function staticWrt(
  call: ts.CallExpression,
  checker: ts.TypeChecker,
  file: ts.SourceFile,
): { fn: ts.Node; list: number[]; api: string } | undefined {
  const api = apiName(call.expression, checker);
  const [arg, options] = call.arguments;
  if (
    (api !== "grad" && api !== "gradInto") ||
    !arg ||
    !options ||
    call.arguments.length !== 2 ||
    !ts.isIdentifier(arg) ||
    !ts.isObjectLiteralExpression(options)
  )
    return undefined;
  const target = resolveFunction(checker, arg);
  if (!target || target === "unmarked" || target.fn.getSourceFile() !== file || target.place !== "function")
    return undefined;
  if (options.properties.length !== 1) return undefined;
  const [prop] = options.properties;
  if (!ts.isPropertyAssignment(prop) || prop.name.getText() !== "wrt") return undefined;
  let list: ts.Expression = prop.initializer;
  while (ts.isAsExpression(list) || ts.isParenthesizedExpression(list) || ts.isSatisfiesExpression(list))
    list = list.expression;
  if (!ts.isArrayLiteralExpression(list) || !list.elements.length || !list.elements.every(ts.isNumericLiteral))
    return undefined;
  const indices = list.elements.map((e) => Number((e as ts.NumericLiteral).text));
  const arity = target.fn.parameters.length;
  if (indices.some((i) => !Number.isInteger(i) || i < 0 || i >= arity) || new Set(indices).size !== indices.length)
    return undefined;
  return { fn: target.fn, list: indices, api };
}

export function mentionsApi(file: ts.SourceFile): boolean {
  return file.text.includes(RUNTIME);
}

/**
 * grad(f) where f is a @differentiable function of this file → f_grad; obj.m → obj.m_grad.bind(obj).
 * grad(g) where g is a function tsgrad did not compile → a diagnostic. Anything else is left to
 * the runtime lookup (a function value passed around).
 */
/** What rewriting a file's API calls needs to know of it (files.ts's FileContext has it all). */
export interface CallContext {
  checker: ts.TypeChecker;
  file: ts.SourceFile;
  /** The gradients grad(f, { wrt }) gets, by function and list (`"0,2"`). */
  specialized: ReadonlyMap<ts.Node, ReadonlyMap<string, { grad: string; gradInto: string }>>;
  /** Functions tsgrad refused: they have no f_grad to rewrite to. */
  refused: ReadonlySet<ts.Node>;
}

export function rewriteApiCall(
  call: ts.CallExpression,
  ctx: CallContext,
  diagnostics: ts.Diagnostic[],
): ts.Expression | undefined {
  const api = apiName(call.expression, ctx.checker);
  const arg = call.arguments[0];
  if (!api || !arg) return undefined;
  const target = resolveFunction(ctx.checker, arg);
  if (target === "unmarked") {
    diagnostics.push(toDiagnostic(refuse("gradOfUnmarked", arg, { api, arg: arg.getText() })));
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
  if (ts.isIdentifier(arg) && simple && target.fn.getSourceFile() === ctx.file && target.place === "function") {
    return visible(generated(target.name))
      ? ts.setOriginalNode(emit.identifier(generated(target.name)), call)
      : undefined;
  }
  // grad(vec.dot) → vec_dot_grad, the member's gradient beside its object (this file's objects).
  if (
    simple &&
    target.place === "member" &&
    memberGradientVisible(target, call, ctx.file) &&
    target.fn.getSourceFile() === ctx.file
  ) {
    return visible(generated(target.name))
      ? ts.setOriginalNode(emit.identifier(generated(target.name)), call)
      : undefined;
  }
  if (
    ts.isPropertyAccessExpression(arg) &&
    target.place === "method" &&
    (ts.isIdentifier(arg.expression) || arg.expression.kind === ts.SyntaxKind.ThisKeyword)
  ) {
    // A method keeps its `this`: grad(obj.m) → obj.m_grad.bind(obj); vjp(obj.m) → vjp(obj.m).bind(obj).
    const owner = ts.isIdentifier(arg.expression) ? emit.identifier(arg.expression.text) : emit.thisExpression();
    const bound = simple ? emit.propertyOf(owner, generated(target.name)) : call;
    return emit.emitBind(bound, owner);
  }
  return undefined;
}

/** `grad` imported from "tsgrad" (by name or through a namespace) → "grad". */
export function apiName(callee: ts.Expression, checker: ts.TypeChecker): string | undefined {
  const id = ts.isPropertyAccessExpression(callee) ? callee.name : callee;
  if (!ts.isIdentifier(id) || !API.has(id.text)) return undefined;
  const symbol = checker.getSymbolAtLocation(ts.isPropertyAccessExpression(callee) ? callee.expression : callee);
  const decl = symbol?.declarations?.[0];
  if (!decl) return undefined;
  const importDecl = ts.isImportSpecifier(decl)
    ? decl.parent.parent.parent
    : ts.isNamespaceImport(decl)
      ? decl.parent.parent
      : undefined;
  if (!importDecl || !ts.isStringLiteral(importDecl.moduleSpecifier) || importDecl.moduleSpecifier.text !== RUNTIME)
    return undefined;
  if (ts.isImportSpecifier(decl)) return (decl.propertyName ?? decl.name).getText();
  return id.text;
}
