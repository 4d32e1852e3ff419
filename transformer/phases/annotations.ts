// Finds what tsgrad acts on: functions marked @differentiable (JSDoc tag on functions, arrow
// functions and function expressions; the decorator or the tag on class methods), and resolves a
// reference such as `g` in `grad(g)` or `g(x)` to the declaration it names, across modules.

import ts from "typescript";
import { type DiffError } from "../ir/diagnostics.js";
import { refuse } from "../ir/language.js";
import { commentsBefore, isMarked } from "../ir/marks.js";
import { isArrayKind, isDataKind } from "../ir/ir.js";
import { kindOf, parameterType } from "../ir/syntax.js";

export type FunctionNode = ts.FunctionDeclaration | ts.ArrowFunction | ts.FunctionExpression | ts.MethodDeclaration;

export interface Differentiable {
  /** The function itself. */
  fn: FunctionNode;
  /**
   * The name its generated functions are named after (`f` → `f_grad`): `f` for `function f` and
   * `const f = ...`, the method `f`, `vec_dot` for the member `dot` of `const vec = { ... }`, and
   * for a closure its variable's name or `backIn_fn` (closureName).
   */
  name: string;
  /** How the user names it, in messages and doc comments: `f`, `vec.dot`. */
  label: string;
  /**
   * Where the generated functions go: after this statement (a function, a `const f = ...`, the
   * `const` holding an object literal), after this class member (a method), or before this
   * statement (a closure; its `registerGradient` wraps the function where it is created), or in
   * this arrow's expression body, made a block (`(s) => (t) => ...`).
   */
  anchor: ts.Statement | ts.ClassElement | ts.ArrowFunction;
  exported: boolean;
  /** A function (at any depth), a class method, a member of an object literal, or a closure (an expression). */
  place: Place;
  /** For a member: the object as code names it, `vec` (or `lib.vec`); `this` in the member means it. */
  owner?: string;
  /** Why tsgrad cannot place its gradient (a tag where none can go), reported instead of compiling it. */
  refusal?: DiffError;
  /**
   * An unmarked helper of the file that marked functions call (see implicitHelpers): compiled as if
   * marked, for its callers in the file only, kept only where they use it, and never reported.
   */
  implicit?: boolean;
}

export type Place = "function" | "method" | "member" | "closure";

/** The name its value goes by in its own generated code: `dot` for vec.dot (vec_dot_grad computes `dot`), else its name. */
export const localName = (d: Differentiable): string =>
  d.place === "member" ? d.label.slice(d.label.lastIndexOf(".") + 1) : d.name;

/** The @differentiable functions of a file and the helpers they call, in source order, at any depth. */
export function findDifferentiable(file: ts.SourceFile): Differentiable[] {
  return functionsIn(file, asDifferentiable);
}

function functionsIn(file: ts.SourceFile, as: (node: ts.Node) => Differentiable | undefined): Differentiable[] {
  const found: Differentiable[] = [];
  const visit = (node: ts.Node): void => {
    const d = as(node);
    if (d) found.push(d);
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** A tag written as one (`@differentiable` at the start of a line of the comment), not the word in prose. */
const TAG_LINE = /^\s*(?:\/\*\*|\*)?\s*@differentiable\b/m;

/**
 * Tags tsgrad would otherwise ignore: on what it does not compile (an overload signature, a class
 * field holding a function, a getter, a statement declaring several variables, ...), each an
 * error at the node it precedes, never silently dropped:
 *   class A { /** @differentiable *\/ f = (x: number) => x * x; }   → "... a class field holding a function ..."
 */
export function strayTags(file: ts.SourceFile): DiffError[] {
  if (!file.text.includes("@differentiable")) return [];
  const claimed = new Set<ts.Node>();
  for (const d of findDifferentiable(file)) {
    claimed.add(d.anchor);
    for (let n: ts.Node = d.fn; n !== d.anchor && !ts.isSourceFile(n) && !isStatementList(n); n = n.parent)
      claimed.add(n);
  }
  const first = new Map<number, ts.Node>();
  const used = new Set<number>();
  const visit = (n: ts.Node): void => {
    if (!ts.isSourceFile(n) && n.kind !== ts.SyntaxKind.EndOfFileToken) {
      for (const c of commentsBefore(file.text, n.getFullStart())) {
        if (!TAG_LINE.test(file.text.slice(c.pos, c.end))) continue;
        if (!first.has(c.pos)) first.set(c.pos, n);
        if (claimed.has(n)) used.add(c.pos);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(file);
  return [...first].filter(([pos]) => !used.has(pos)).map(([, n]) => refuse("misplacedTag", n, { what: tagged(n) }));
}

/** What a stray tag is on, for its message. */
function tagged(n: ts.Node): string {
  if (ts.isFunctionDeclaration(n) && !n.body)
    return "a declaration without a body (an overload signature, `declare function`): put it on the implementation";
  if (ts.isPropertyDeclaration(n)) return "a class field: make the function a method";
  if (ts.isGetAccessorDeclaration(n) || ts.isSetAccessorDeclaration(n)) return "a getter or setter: make it a method";
  if (ts.isConstructorDeclaration(n)) return "a constructor";
  if (ts.isVariableStatement(n) && n.declarationList.declarations.length > 1)
    return "a statement declaring several variables: declare the function in a `const` of its own";
  if (ts.isMethodSignature(n) || ts.isPropertySignature(n)) return "a member of a type: put it on the implementation";
  return "something that is not a function";
}

/**
 * The declaration node → its Differentiable record, or undefined if it is neither marked nor a
 * helper marked functions call (see implicitHelpers).
 */
export function asDifferentiable(node: ts.Node): Differentiable | undefined {
  const helper = node.parent && ts.isSourceFile(node.parent) ? implicitHelpers(node.parent).get(node) : undefined;
  return asMarked(node) ?? helper;
}

/**
 * The unmarked helpers of a file that its @differentiable functions call by name, directly or
 * through other such helpers, by their statements: a module-level `function` or `const` holding
 * an arrow or function expression. tsgrad differentiates them as if they were marked, as the
 * caller's code is written (`toRad(lat2 - lat1)` in a marked `haversine`); a call that merely
 * shares a helper's name, under a local of that name, only adds a helper nothing uses.
 */
export function implicitHelpers(file: ts.SourceFile): ReadonlyMap<ts.Node, Differentiable> {
  const known = helpersByFile.get(file);
  if (known) return known;
  const candidates = new Map<string, Differentiable>();
  for (const statement of file.statements) {
    const helper = unmarkedHelper(statement);
    if (helper) candidates.set(helper.name, helper);
  }
  const found = new Map<ts.Node, Differentiable>();
  const visit = (n: ts.Node): void => {
    if (ts.isCallExpression(n) && ts.isIdentifier(n.expression)) {
      const helper = candidates.get(n.expression.text);
      if (helper && !found.has(helper.anchor)) {
        found.set(helper.anchor, helper);
        visit(helper.fn);
      }
    }
    ts.forEachChild(n, visit);
  };
  helpersByFile.set(file, found);
  if (candidates.size) functionsIn(file, asMarked).forEach((d) => visit(d.fn));
  return found;
}

const helpersByFile = new WeakMap<ts.SourceFile, Map<ts.Node, Differentiable>>();

/** `function toRad(v: number) { ... }` or `const clamp = (x, lo, hi) => ...`, with no tag: its record. */
function unmarkedHelper(statement: ts.Statement): Differentiable | undefined {
  const record = (fn: FunctionNode, name: string): Differentiable => ({
    fn,
    name,
    label: name,
    anchor: statement,
    exported: false,
    place: "function",
    implicit: true,
  });
  if (ts.isFunctionDeclaration(statement) && statement.name && statement.body && !isMarked(statement))
    return record(statement, statement.name.text);
  if (!ts.isVariableStatement(statement) || statement.declarationList.declarations.length !== 1) return undefined;
  if (!(statement.declarationList.flags & ts.NodeFlags.Const)) return undefined;
  const decl = statement.declarationList.declarations[0];
  const init = decl.initializer && skipParens(decl.initializer);
  if (!init || !(ts.isArrowFunction(init) || ts.isFunctionExpression(init)) || !ts.isIdentifier(decl.name))
    return undefined;
  return asMarked(statement) ? undefined : record(init, decl.name.text);
}

/** The declaration node → its Differentiable record, or undefined if it is not marked. */
function asMarked(node: ts.Node): Differentiable | undefined {
  if (ts.isFunctionDeclaration(node) && node.name && node.body && isMarked(node)) {
    const name = node.name.text;
    return { fn: node, name, label: name, anchor: node, exported: hasExport(node), place: "function" };
  }
  if (ts.isVariableStatement(node) && node.declarationList.declarations.length === 1) {
    const decl = node.declarationList.declarations[0];
    const init = decl.initializer && skipParens(decl.initializer);
    if (init && (ts.isArrowFunction(init) || ts.isFunctionExpression(init)) && ts.isIdentifier(decl.name)) {
      if (isMarked(node) || isMarked(decl.initializer!) || isMarked(init)) {
        const name = decl.name.text;
        return { fn: init, name, label: name, anchor: node, exported: hasExport(node), place: "function" };
      }
    }
  }
  if (ts.isMethodDeclaration(node) && ts.isObjectLiteralExpression(node.parent))
    return node.body && isMarked(node) ? member(node, node, node) : undefined;
  if (ts.isPropertyAssignment(node) && ts.isObjectLiteralExpression(node.parent)) {
    const init = skipParens(node.initializer);
    const fn = ts.isArrowFunction(init) || ts.isFunctionExpression(init) ? init : undefined;
    return fn && (isMarked(node) || markedExpression(fn)) ? member(fn, node, node) : undefined;
  }
  if (ts.isMethodDeclaration(node) && node.body && ts.isIdentifier(node.name) && isMarked(node)) {
    const name = node.name.text;
    return { fn: node, name, label: name, anchor: node, exported: false, place: "method" };
  }
  if ((ts.isArrowFunction(node) || ts.isFunctionExpression(node)) && markedExpression(node) && !boundByParent(node))
    return closure(node);
  return undefined;
}

/**
 * A member of an object literal held by a `const` (at any depth, and in objects inside it):
 *   export const vec = { /** @differentiable *\/ dot(a: number, b: number) { ... } }
 *   → vec_dot, labelled vec.dot, its gradients placed after the const and registered on vec.dot
 */
function member(
  fn: ts.MethodDeclaration | ts.ArrowFunction | ts.FunctionExpression,
  property: ts.MethodDeclaration | ts.PropertyAssignment,
  at: ts.Node,
): Differentiable {
  const key = ts.isIdentifier(property.name) ? property.name.text : undefined;
  const path: string[] = [];
  let literal = property.parent as ts.ObjectLiteralExpression;
  let holder = outerOf(literal);
  while (
    ts.isPropertyAssignment(holder) &&
    ts.isIdentifier(holder.name) &&
    ts.isObjectLiteralExpression(holder.parent)
  ) {
    path.unshift(holder.name.text);
    literal = holder.parent;
    holder = outerOf(literal);
  }
  const statement =
    ts.isVariableDeclaration(holder) && ts.isVariableDeclarationList(holder.parent) ? holder.parent.parent : undefined;
  const placed =
    key !== undefined &&
    ts.isVariableDeclaration(holder) &&
    ts.isIdentifier(holder.name) &&
    (holder.parent.flags & ts.NodeFlags.Const) !== 0 &&
    statement !== undefined &&
    ts.isVariableStatement(statement);
  const owner = placed ? [(holder as ts.VariableDeclaration).name.getText(), ...path].join(".") : "object";
  const record: Differentiable = {
    fn,
    name: `${owner.replace(/\./g, "_")}_${key ?? "member"}`,
    label: `${owner}.${key ?? property.name.getText()}`,
    anchor: placed ? (statement as ts.VariableStatement) : (at as ts.ClassElement),
    exported: placed && hasExport(statement!),
    place: "member",
    owner,
  };
  if (!placed)
    record.refusal =
      key === undefined
        ? refuse("memberName", property.name)
        : refuse("memberOfUnheldObject", property.name, { name: key });
  return record;
}

/** A function expression with the tag on it, or on the parentheses around it: `/** @differentiable *\/ ((t) => t * t)`. */
function markedExpression(fn: ts.Expression): boolean {
  for (let n: ts.Node = fn; ; n = n.parent) {
    if (isMarked(n)) return true;
    if (!ts.isParenthesizedExpression(n.parent)) return false;
  }
}

/** The node holding an object literal: `const vec = { ... }` → the declaration (through `as const`, parentheses). */
function outerOf(literal: ts.Expression): ts.Node {
  let n: ts.Node = literal;
  while (ts.isParenthesizedExpression(n.parent) || ts.isAsExpression(n.parent) || ts.isSatisfiesExpression(n.parent))
    n = n.parent;
  return n.parent;
}

/**
 * Is this function expression the one a `const f = ...` statement or an object literal's member
 * names? Those records come from their declaration (asDifferentiable on it), not from the expression.
 */
function boundByParent(fn: ts.ArrowFunction | ts.FunctionExpression): boolean {
  const holder = outerOf(fn);
  if (ts.isPropertyAssignment(holder) && ts.isObjectLiteralExpression(holder.parent)) return true;
  return (
    ts.isVariableDeclaration(holder) &&
    ts.isIdentifier(holder.name) &&
    ts.isVariableDeclarationList(holder.parent) &&
    holder.parent.declarations.length === 1 &&
    ts.isVariableStatement(holder.parent.parent)
  );
}

/**
 * A function created where it is used, with the tag on it: returned by a factory, passed as an
 * argument, one of several declarations. Its gradients go before the statement creating it (in
 * the same scope, so they read what it captures), and `registerGradient(...)` wraps it there:
 * each function the statement creates is registered with the gradients of its own captured values.
 *   function backIn(s: number) { return /** @differentiable *\/ (t: number) => t * t * ((s + 1) * t - s); }
 */
function closure(fn: ts.ArrowFunction | ts.FunctionExpression): Differentiable {
  const name = closureName(fn);
  const place = closurePlace(fn);
  const record: Differentiable = {
    fn,
    name,
    label: name,
    anchor: place ?? (fn as unknown as ts.Statement),
    exported: false,
    place: "closure",
  };
  if (!place) record.refusal = refuse("closurePlace", fn);
  return record;
}

/**
 * Where a closure's gradients go: before the statement that creates it (a statement of a block,
 * or the body of an `if` or a loop, which becomes a block), or in the expression body of the arrow
 * that returns it, `(s) => /** @differentiable *\/ (t) => ...` (made a block). Undefined where no
 * statement holds it: a default parameter value, a class field.
 */
export function closurePlace(fn: ts.Node): ts.Statement | ts.ArrowFunction | undefined {
  for (let n: ts.Node = fn; n.parent; n = n.parent) {
    const p = n.parent;
    if (ts.isArrowFunction(p) && p.body === n) return p;
    if (isStatementList(p) || isStatementBody(n, p)) return n as ts.Statement;
    if (ts.isFunctionLike(p) || ts.isClassLike(p) || ts.isClassStaticBlockDeclaration(p)) return undefined;
  }
  return undefined;
}

/** A node whose children are statements in a list: a block, a file, a namespace, a case. */
export const isStatementList = (p: ts.Node): boolean =>
  ts.isBlock(p) || ts.isSourceFile(p) || ts.isModuleBlock(p) || ts.isCaseClause(p) || ts.isDefaultClause(p);

/** `s` is the body of an `if`, a loop or a label: a statement where a list could be (a block). */
function isStatementBody(s: ts.Node, p: ts.Node): boolean {
  return (
    (ts.isIfStatement(p) && (p.thenStatement === s || p.elseStatement === s)) ||
    (ts.isIterationStatement(p, false) && p.statement === s) ||
    (ts.isLabeledStatement(p) && p.statement === s)
  );
}

/**
 * A closure's name, for its generated functions: its variable's (`const a = 1, f = ...` → f), its
 * own (`function easeIn(t) { ... }`), else the enclosing function's with `_fn` (what backIn
 * returns: backIn_fn), or `closure` at module level; `_2`, `_3` after the first of a name in the
 * file, and around every name the file already has for its generated functions.
 */
export function closureName(fn: ts.ArrowFunction | ts.FunctionExpression): string {
  const file = fn.getSourceFile();
  let names = closureNames.get(file);
  if (!names) closureNames.set(file, (names = nameClosures(file)));
  return names.get(fn) ?? "closure";
}

const closureNames = new WeakMap<ts.SourceFile, Map<ts.Node, string>>();

function nameClosures(file: ts.SourceFile): Map<ts.Node, string> {
  const taken = new Set<string>();
  const closures: (ts.ArrowFunction | ts.FunctionExpression)[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isIdentifier(n)) taken.add(n.text);
    if ((ts.isArrowFunction(n) || ts.isFunctionExpression(n)) && markedExpression(n) && !boundByParent(n))
      closures.push(n);
    ts.forEachChild(n, visit);
  };
  visit(file);
  const generated = (name: string) => ["_grad", "_gradInto", "_forward", "_backward"].map((s) => name + s);
  const out = new Map<ts.Node, string>();
  for (const fn of closures) {
    const base = baseName(fn);
    // A name made up (backIn_fn, closure) must also not be one the file has: its function's gradients would be named alike.
    const own = base === fn.name?.text || base === nameOf(outerOf(fn));
    const free = (name: string) => (own || !taken.has(name)) && !generated(name).some((g) => taken.has(g));
    let name = base;
    for (let i = 2; !free(name); i++) name = `${base}_${i}`;
    [name, ...generated(name)].forEach((g) => taken.add(g));
    out.set(fn, name);
  }
  return out;
}

const nameOf = (n: ts.Node): string | undefined =>
  ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) ? n.name.text : undefined;

function baseName(fn: ts.ArrowFunction | ts.FunctionExpression): string {
  const holder = outerOf(fn);
  if (ts.isVariableDeclaration(holder) && ts.isIdentifier(holder.name)) return holder.name.text;
  if (fn.name) return fn.name.text;
  for (let n = fn.parent; n; n = n.parent) {
    if (!ts.isFunctionLike(n)) continue;
    const named = (n as ts.SignatureDeclaration).name;
    if (named && ts.isIdentifier(named)) return `${named.text}_fn`;
    const around = outerOf(n as ts.Expression);
    if ((ts.isVariableDeclaration(around) || ts.isPropertyAssignment(around)) && ts.isIdentifier(around.name))
      return `${around.name.text}_fn`;
  }
  return "closure";
}

function hasExport(node: ts.Node): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
}

/** Is `expr` the callee of a call in the file that declares `decl` (`toRad(x)`, not `grad(toRad)`)? */
function calledInFile(expr: ts.Expression, decl: ts.Node): boolean {
  const call = expr.parent;
  return ts.isCallExpression(call) && call.expression === expr && expr.getSourceFile() === decl.getSourceFile();
}

export function skipParens(e: ts.Expression): ts.Expression {
  while (ts.isParenthesizedExpression(e)) e = e.expression;
  return e;
}

/**
 * The function an expression refers to, following imports: `g` (imported from "./m") → the
 * declaration of g in m.ts. Undefined when it is not a function tsgrad can see.
 */
export function resolveFunction(checker: ts.TypeChecker, expr: ts.Expression): Differentiable | "unmarked" | undefined {
  let symbol = checker.getSymbolAtLocation(skipParens(expr));
  if (!symbol) return undefined;
  if (symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
  const decl = symbol.valueDeclaration ?? symbol.declarations?.[0];
  if (!decl) return undefined;
  const node = ts.isVariableDeclaration(decl) ? decl.parent.parent : decl;
  const init = (ts.isVariableDeclaration(decl) || ts.isPropertyAssignment(decl)) && decl.initializer;
  const value = init ? skipParens(init) : undefined;
  // `const a = 1, f = /** @differentiable */ (x) => ...`: the closure's record.
  const marked = asDifferentiable(node) ?? (value && asDifferentiable(value));
  // An unmarked helper is differentiated only where a function of its file calls it.
  if (marked?.implicit && !calledInFile(expr, decl)) return "unmarked";
  if (marked) return marked;
  if (ts.isFunctionLike(decl) || (value && ts.isFunctionLike(value))) {
    return "unmarked";
  }
  return undefined;
}

/**
 * Can generated code at `at` name a member's gradient (vec_dot_grad)? In its own file where the
 * object's `const` is in scope (the gradient is declared beside it); from another module when the
 * object is an exported `const` of its module's top level (the gradient is exported with it).
 */
export function memberGradientVisible(member: Differentiable, at: ts.Node, file: ts.SourceFile): boolean {
  const scope = member.anchor.parent;
  if (member.fn.getSourceFile() !== file) return ts.isSourceFile(scope) && member.exported;
  for (let n: ts.Node | undefined = at; n; n = n.parent) if (n === scope) return true;
  return false;
}

/**
 * Is a call of `callee` inside `caller` recursive: does `callee` call back into `caller`, directly
 * or through other @differentiable functions of the same file? (`caller` calling itself
 * included.) Then both are in one cycle of the file's call graph, whose gradients call each
 * other's forward and backward passes (see Op, kind "call", in ir/ir.ts).
 */
export function callsBack(checker: ts.TypeChecker, callee: FunctionNode, caller: FunctionNode): boolean {
  if (callee.getSourceFile() !== caller.getSourceFile()) return false;
  const seen = new Set<FunctionNode>();
  const work = [callee];
  while (work.length) {
    const fn = work.pop()!;
    if (seen.has(fn)) continue;
    seen.add(fn);
    for (const next of calleesOf(checker, fn)) {
      if (next === caller) return true;
      work.push(next);
    }
  }
  return false;
}

const callees = new WeakMap<ts.TypeChecker, WeakMap<FunctionNode, FunctionNode[]>>();

/** The @differentiable functions of its own file a function calls, each once. */
function calleesOf(checker: ts.TypeChecker, fn: FunctionNode): FunctionNode[] {
  const known = callees.get(checker) ?? callees.set(checker, new WeakMap()).get(checker)!;
  let found = known.get(fn);
  if (found) return found;
  const out = new Set<FunctionNode>();
  const visit = (n: ts.Node): void => {
    if (ts.isCallExpression(n)) {
      const target = resolveFunction(checker, n.expression);
      if (target && target !== "unmarked" && target.fn.getSourceFile() === fn.getSourceFile()) out.add(target.fn);
    }
    ts.forEachChild(n, visit);
  };
  if (fn.body) visit(fn.body);
  known.set(fn, (found = [...out]));
  return found;
}

/** Is `expr` the runtime's export `name` (imported from "tsgrad", by name or through a namespace)? */
export function isRuntimeExport(checker: ts.TypeChecker, expr: ts.Expression, name: string): boolean {
  const id = ts.isPropertyAccessExpression(expr) ? expr.name : expr;
  if (!ts.isIdentifier(id)) return false;
  const symbol = checker.getSymbolAtLocation(ts.isPropertyAccessExpression(expr) ? expr.expression : expr);
  const decl = symbol?.declarations?.[0];
  if (!decl) return false;
  const importDecl = ts.isImportSpecifier(decl)
    ? decl.parent.parent.parent
    : ts.isNamespaceImport(decl)
      ? decl.parent.parent
      : undefined;
  if (!importDecl || !ts.isStringLiteral(importDecl.moduleSpecifier) || importDecl.moduleSpecifier.text !== "tsgrad")
    return false;
  return ts.isImportSpecifier(decl) ? (decl.propertyName ?? decl.name).text === name : id.text === name;
}

/**
 * The parameters the pullback a function exports takes gradients for (every one but data), or
 * undefined when it exports none: only an exported function of its module's top level taking an
 * array, whose parameters are all numbers, arrays or data, gets one, `dot_pullback`, for callers
 * in other modules passing arrays (its module cannot know which parameters they need).
 *   export function dot(a: Float64Array, w: number[], mode: Mode) → [0, 1]
 */
export function exportedPullback(d: Differentiable, checker: ts.TypeChecker): number[] | undefined {
  if (d.place !== "function" || !d.exported || d.implicit) return undefined;
  const kinds = d.fn.parameters.map((p) => (p.dotDotDotToken ? undefined : kindOf(parameterType(p, checker), checker)));
  const usable = kinds.every((k) => k === "number" || isArrayKind(k) || isDataKind(k));
  if (!usable || !kinds.some(isArrayKind)) return undefined;
  return kinds.flatMap((k, i) => (isDataKind(k) ? [] : [i]));
}
