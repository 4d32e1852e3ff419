// What generated code names and where it comes from, per source file (FileContext): the runtime's
// names it imports (`saved`, aliased where the file has its own), a callee's `g_grad` (imported from
// the callee's module), a user derivative (`softplusD`, imported or aliased), and the names of the
// gradients `grad(f, { wrt })` asks for (`f_grad_x`) and the pullbacks callers passing arrays need
// (`mean_pullback`).

import path from "node:path";
import ts from "typescript";
import {
  type Differentiable,
  exportedPullback,
  findDifferentiable,
  memberGradientVisible,
} from "./phases/annotations.js";
import { type CustomDerivative, derivativeFor } from "./phases/derivatives.js";
import { type DiffError, shortPosition } from "./ir/diagnostics.js";
import { refuse } from "./ir/language.js";
import * as emit from "./phases/emit.js";
import { type Expr, isDataKind } from "./ir/ir.js";
import { kindOf, parameterType } from "./ir/syntax.js";
import { Namer, RUNTIME, generatedNames } from "./ir/naming.js";
import { wrtCalls, checkedFunctions } from "./calls.js";

export const REGISTER = "registerGradient";

/** What a file needs imported for its generated code: module → names. */
type Imports = Map<string, Set<string>>;

export interface FileContext {
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
  /**
   * The pullbacks callers in this file need (see Pullback in ir/ir.ts), by callee and parameter
   * list (`"0,1"`): files.ts builds each one beside its function.
   */
  pullbacks: Map<ts.Node, Map<string, PullbackRequest>>;
  /** Functions tsgrad refused: `grad(f)` of one is left to the runtime, which explains (no f_grad exists). */
  refused: Set<ts.Node>;
  /**
   * Why tsgrad could not differentiate each unmarked helper it tried (see implicitHelpers in
   * annotations.ts): its calls are then opaque, and one a gradient flows through says this.
   */
  helperErrors: Map<ts.Node, DiffError>;
  /** tsc emits this file as CommonJS: generated code's imports are written as `require` (see module-format.ts). */
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

export function fileContext(
  file: ts.SourceFile,
  program: ts.Program,
  commonJs = false,
  options: TransformOptions = {},
): FileContext {
  const checker = program.getTypeChecker(); // first: binding sets the parent links findDifferentiable reads
  const generated = new Set(RUNTIME_NAMES);
  for (const d of findDifferentiable(file))
    if (d.place !== "method") Object.values(generatedNames(d.name)).forEach((n) => generated.add(n));
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
      for (let i = 2; taken.has(names.grad) || taken.has(names.gradInto); i++)
        names = { grad: `${base.grad}_${i}`, gradInto: `${base.gradInto}_${i}` };
      Object.values(names).forEach((n) => (taken.add(n), generated.add(n)));
      byList.set(wrt.join(), names);
    }
    specialized.set(fn, byList);
  }
  const checkFinite = (d: Differentiable) => options.checkFinite === true || checkedFunctions(program).has(d.fn);
  return {
    checker,
    program,
    file,
    imports: new Map(),
    derivatives: [],
    generated,
    wrts,
    specialized,
    pullbacks: new Map(),
    refused: new Set(),
    helperErrors: new Map(),
    commonJs,
    checkFinite,
  };
}

/** Names the file declares at its top level: functions, classes, variables, imports. */
export function topLevelNames(file: ts.SourceFile): string[] {
  const names: string[] = [];
  const bind = (n: ts.BindingName) =>
    ts.isIdentifier(n) ? names.push(n.text) : n.elements.forEach((e) => !ts.isOmittedExpression(e) && bind(e.name));
  for (const s of file.statements) {
    if ((ts.isFunctionDeclaration(s) || ts.isClassDeclaration(s) || ts.isEnumDeclaration(s)) && s.name)
      names.push(s.name.text);
    else if (ts.isVariableStatement(s)) s.declarationList.declarations.forEach((d) => bind(d.name));
    else if (ts.isImportDeclaration(s) && s.importClause) {
      const c = s.importClause;
      if (c.name) names.push(c.name.text);
      if (c.namedBindings && ts.isNamedImports(c.namedBindings))
        c.namedBindings.elements.forEach((e) => names.push(e.name.text));
      if (c.namedBindings && ts.isNamespaceImport(c.namedBindings)) names.push(c.namedBindings.name.text);
    }
  }
  return names;
}

/**
 * A call a gradient flows through of an unmarked helper tsgrad could not differentiate, `why`:
 *   round3(x) * k → "a gradient flows through `round3(x)`, and tsgrad cannot differentiate `round3`: ..."
 */
export function helperRefusal(call: ts.CallExpression, helper: Differentiable, why: DiffError): DiffError {
  const at = shortPosition(why.node);
  return refuse("refusedHelper", call, { call: call.getText(), name: helper.label, at, why: why.message });
}

export interface PullbackRequest {
  callee: Differentiable;
  wrt: readonly number[];
  name: string;
  /**
   * A call of this file needs it. Unasked: only the one a function exports for callers in other
   * modules (exportedPullback), left out, not an error, where tsgrad cannot build it.
   */
  asked: boolean;
}

/**
 * The pullback of `callee` for the parameters `wrt` a call passes gradients for, asked of the file
 * (files.ts builds it): named after the parameters unless it is for all of them.
 *   mean(x), wrt [0] → mean_pullback;   dot(a, w), wrt [1] → dot_pullback_w
 */
export function pullbackOf(callee: Differentiable, ctx: FileContext, wrt: readonly number[], asked = true): Expr {
  const key = wrt.join();
  const requests = ctx.pullbacks.get(callee.fn) ?? new Map<string, PullbackRequest>();
  ctx.pullbacks.set(callee.fn, requests);
  const known = requests.get(key);
  if (known) known.asked ||= asked;
  if (known) return { k: "global", text: known.name };
  const base = generatedNames(callee.name).pullback;
  const all = callee.fn.parameters.every((p, i) => wrt.includes(i) || isDataParameter(p, ctx.checker));
  const suffix = wrt.map((i) => parameterLabel(callee, i)).join("_");
  let name = all ? base : `${base}_${suffix}`;
  const taken = (n: string) =>
    topLevelNames(ctx.file).includes(n) ||
    [...ctx.pullbacks.values()].some((m) => [...m.values()].some((r) => r.name === n));
  for (let i = 2; !all && taken(name); i++) name = `${base}_${suffix}_${i}`;
  requests.set(key, { callee, wrt, name, asked });
  ctx.generated.add(name);
  return { k: "global", text: name };
}

/**
 * The expression naming the pullback `callee`, a function of another module, exports (see
 * exportedPullback), at a call passing it arrays, and the import it needs, as gradOf names g_grad:
 *   dot(a, w), import { dot } from "./linalg.js"      → dot_pullback, imported from "./linalg.js"
 *   linalg.dot(a, w), import * as linalg              → linalg.dot_pullback
 * undefined where the call names the callee otherwise (a namespace re-exporting it renamed).
 */
export function importedPullbackOf(
  callee: Differentiable,
  call: ts.CallExpression,
  ctx: FileContext,
): Expr | undefined {
  const expr = call.expression;
  const name = generatedNames(callee.name).pullback;
  if (ts.isPropertyAccessExpression(expr)) {
    const specifier = namespaceSpecifier(expr.expression, ctx);
    const own = specifier && declaringModule(specifier, callee, ctx) === specifier.text;
    return own ? { k: "global", text: `${expr.expression.getText()}.${name}` } : undefined;
  }
  const { text, from, imported } = gradientReference(callee, call, ctx, "_pullback");
  if (!from || !imported) return undefined;
  addImport(ctx.imports, from, imported === text ? imported : `${imported} as ${text}`);
  return { k: "global", text };
}

const parameterLabel = (d: Differentiable, i: number) =>
  ts.isIdentifier(d.fn.parameters[i].name) ? d.fn.parameters[i].name.text : `${i}`;

function isDataParameter(p: ts.ParameterDeclaration, checker: ts.TypeChecker): boolean {
  return isDataKind(kindOf(parameterType(p, checker), checker));
}

/**
 * The names of the gradient of f with respect to some parameters, after them:
 *   networkLoss(net, X, y), wrt [0] → networkLoss_grad_net, networkLoss_gradInto_net
 */
export function wrtNames(d: Differentiable, wrt: readonly number[]): { grad: string; gradInto: string } {
  const names = generatedNames(d.name);
  const suffix = wrt.map((i) => parameterLabel(d, i)).join("_");
  return { grad: `${names.grad}_${suffix}`, gradInto: `${names.gradInto}_${suffix}` };
}

/**
 * The local name of a runtime export the generated code uses, imported once per file; aliased
 * (`saved as saved_2`) when the file declares that name itself.
 */
export function runtimeName(ctx: FileContext, name: string, locals?: Namer): string {
  const importedAsItself = ctx.file.statements.some((s) => {
    const bindings =
      ts.isImportDeclaration(s) && ts.isStringLiteral(s.moduleSpecifier) && s.moduleSpecifier.text === RUNTIME
        ? s.importClause?.namedBindings
        : undefined;
    return (
      bindings !== undefined &&
      ts.isNamedImports(bindings) &&
      bindings.elements.some((e) => (e.propertyName ?? e.name).text === name && e.name.text === name)
    );
  });
  // Under CommonJS, tsc turns the user's import into `tsgrad_1.name`, so generated code imports its own.
  if (importedAsItself && !ctx.commonJs) return name;
  const taken = new Set(topLevelNames(ctx.file));
  let local = name;
  for (let i = 2; taken.has(local) || locals?.has(local); i++) local = `${name}_${i}`;
  addImport(ctx.imports, RUNTIME, local === name ? name : `${name} as ${local}`);
  return local;
}

/**
 * The expression naming a callee's generated gradient at a call site, and the import it needs:
 *   g(x), g declared in this file                    → g_grad
 *   g(x), import { g } from "./m.js"                 → g_grad, imported from "./m.js"
 *   sqr(x), import { sqr } from "./hosts/tsc.js", which re-exports square under that name
 *                                                    → sqr_grad: square_grad imported as sqr_grad from
 *                                                      square's own module (the re-export has no square_grad)
 *   M.g(x), M.default(x) (a namespace, a class)      → M.g_grad, M.cube_grad (the default export cube's)
 */
export function gradientReference(
  callee: Differentiable,
  call: ts.CallExpression,
  ctx: FileContext,
  suffix: "_grad" | "_pullback" = "_grad",
): { text: string; from?: string; imported?: string } {
  const expr = call.expression;
  const imported = `${callee.name}${suffix}`;
  if (callee.place === "member") {
    // vec.dot(a, b), this.dot(a, b) in a member of vec, L.vec.dot(a, b): the function vec_dot_grad,
    // beside vec in its module, imported from there when that is another module.
    const own = callee.fn.getSourceFile();
    return own === ctx.file
      ? { text: imported }
      : { text: imported, imported, from: moduleSpecifier(ctx.file.fileName, own.fileName) };
  }
  if (ts.isIdentifier(expr)) {
    const decl = ctx.checker.getSymbolAtLocation(expr)?.declarations?.[0];
    const text = `${expr.text}${suffix}`;
    if (!decl || !(ts.isImportSpecifier(decl) || ts.isImportClause(decl))) return { text };
    const specifier = (ts.isImportSpecifier(decl) ? decl.parent.parent.parent : decl.parent)
      .moduleSpecifier as ts.StringLiteral;
    return { text, imported, from: declaringModule(specifier, callee, ctx) };
  }
  if (ts.isPropertyAccessExpression(expr) && expr.name.text !== callee.name) {
    const specifier = namespaceSpecifier(expr.expression, ctx);
    if (specifier && declaringModule(specifier, callee, ctx) === specifier.text)
      return { text: `${expr.expression.getText()}.${imported}` };
  }
  return { text: `${expr.getText()}${suffix}` };
}

/**
 * The module to import a callee's generated functions from: the one the user imported it from,
 * unless that one only re-exports it under another name (`export { square as sqr }`, which does not
 * re-export square_grad): then the callee's own module, by a relative path.
 */
function declaringModule(specifier: ts.StringLiteral, callee: Differentiable, ctx: FileContext): string {
  const target = ctx.checker.getSymbolAtLocation(specifier)?.valueDeclaration;
  const own = callee.fn.getSourceFile();
  if (!target || target === own || own.isDeclarationFile || /[\\/]node_modules[\\/]/.test(own.fileName))
    return specifier.text;
  return moduleSpecifier(ctx.file.fileName, own.fileName);
}

/** `M` in `M.g(x)`, bound by `import * as M from "./m.js"` → the "./m.js" literal. */
function namespaceSpecifier(expr: ts.Expression, ctx: FileContext): ts.StringLiteral | undefined {
  const decl = ts.isIdentifier(expr) ? ctx.checker.getSymbolAtLocation(expr)?.declarations?.[0] : undefined;
  return decl && ts.isNamespaceImport(decl) ? (decl.parent.parent.moduleSpecifier as ts.StringLiteral) : undefined;
}

/** gradientReference's expression, with its import added to the file's. */
export function gradOf(callee: Differentiable, call: ts.CallExpression, ctx: FileContext): Expr {
  if (callee.place === "method" && !ts.isPropertyAccessExpression(call.expression)) {
    throw refuse("methodWithoutClass", call);
  }
  if (callee.place === "member" && !memberGradientVisible(callee, call, ctx.file)) {
    throw refuse("memberGradientHidden", call.expression, { name: callee.label, gradient: `${callee.name}_grad` });
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
export function derivativeOf(call: ts.CallExpression, ctx: FileContext, namer: Namer): Expr | undefined {
  const custom = derivativeFor(ctx.checker, ctx.program, call.expression);
  if (!custom) return undefined;
  const callee = call.expression.getText();
  if ("refused" in custom) {
    const { node } = custom.refused.error;
    throw refuse("callOfUnusableDerivative", call.expression, {
      callee,
      derivative: node.getText(),
      at: shortPosition(node),
    });
  }
  const missing = custom.ofParams.slice(call.arguments.length);
  const all = `\`${callee}(${custom.ofParams.join(", ")})\``;
  if (missing.length || call.arguments.some(ts.isSpreadElement)) {
    throw refuse("derivativeCallDefaults", call, {
      derivative: custom.name,
      callee,
      missing: missing.map((p) => `\`${p}\``).join(", ") || "them",
      all,
    });
  }
  if (call.arguments.length > custom.ofParams.length) {
    throw refuse("derivativeCallArity", call, {
      derivative: custom.name,
      count: custom.ofParams.length,
      all,
      passed: call.arguments.length,
    });
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
export function derivativeName(custom: CustomDerivative, at: ts.Node, ctx: FileContext, namer: Namer): string {
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
    throw refuse("derivativeNotExported", custom.nameNode, {
      name: custom.name,
      of: custom.ofName,
      file: path.basename(ctx.file.fileName),
    });
  }
  // `name` means `binding` at `at` (undefined: nothing, so generated code may bind it) and no local hides it.
  const visible = (name: string, binding?: ts.Declaration) =>
    !namer.has(name) && declarationOf(ctx.checker.resolveName(name, at, SCOPE_MEANING, false)) === binding;
  const generated = ctx.derivatives
    .filter((b) => b.custom === custom)
    .map((b) => ({ text: b.local, root: b.local, binding: undefined }));
  const reused = [...boundNames(custom, ctx), ...generated].find((b) => visible(b.root, b.binding));
  if (reused) return (namer.claim(reused.root), reused.text);

  let local = custom.name;
  for (let i = 2; !visible(local) || ctx.generated.has(local); i++) local = `${custom.name}_${i}`;
  ctx.generated.add(local);
  ctx.derivatives.push({ custom, local });
  if (elsewhere)
    addImport(
      ctx.imports,
      moduleSpecifier(ctx.file.fileName, custom.file.fileName),
      custom.exportedAs === local ? local : `${custom.exportedAs} as ${local}`,
    );
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
  if (custom.file === ctx.file)
    return [{ text: custom.name, root: custom.name, binding: custom.nameNode.parent as ts.Declaration }];
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
    if (clause.name && target(clause.name) === own)
      found.push({ text: clause.name.text, root: clause.name.text, binding: clause });
    if (bindings && ts.isNamedImports(bindings)) {
      for (const e of bindings.elements)
        if (!e.isTypeOnly && target(e.name) === own) found.push({ text: e.name.text, root: e.name.text, binding: e });
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

/** The import bindings the file reads as values somewhere (tsc keeps those imports), by declaration; once per file. */
function valueReads(ctx: FileContext): Set<ts.Declaration> {
  const known = valueReadsOf.get(ctx);
  if (known) return known;
  const read = new Set<ts.Declaration>();
  valueReadsOf.set(ctx, read);
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

const valueReadsOf = new WeakMap<FileContext, Set<ts.Declaration>>();

const declarationOf = (symbol: ts.Symbol | undefined) => symbol?.declarations?.[0];

/** "/p/src/a.ts", "/p/src/lib/b.ts" → "./lib/b.js". */
function moduleSpecifier(from: string, to: string): string {
  const rel = path.posix
    .relative(path.posix.dirname(from.replace(/\\/g, "/")), to.replace(/\\/g, "/"))
    .replace(/\.(m|c)?tsx?$/, (_m, k: string | undefined) => `.${k ?? ""}js`);
  return rel.startsWith(".") ? rel : `./${rel}`;
}

export function addImport(imports: Imports, from: string, name: string): void {
  if (!imports.has(from)) imports.set(from, new Set());
  imports.get(from)!.add(name);
}

// ---- whole files ------------------------------------------------------------------------------

/**
 * Aliases of the file's own derivatives, for gradients whose locals hide a derivative's name:
 *   const softplusD_2 = softplusD;
 * by where each goes: a function declaration's with the imports (the file itself as the key; the
 * function exists from the start), a const's right after that const (before it, it has no value).
 */
export function aliasesAfter(ctx: FileContext): Map<ts.Node, ts.Statement[]> {
  const after = new Map<ts.Node, ts.Statement[]>();
  for (const { custom, local } of ctx.derivatives) {
    if (custom.file !== ctx.file) continue;
    const at = ts.isFunctionDeclaration(custom.statement) ? ctx.file : custom.statement;
    const why = `\`${custom.name}\`, for gradients where a local of that name hides it (generated by tsgrad)`;
    const alias = emit.emitAlias(local, custom.name, why);
    after.set(at, [...(after.get(at) ?? []), alias]);
  }
  return after;
}
