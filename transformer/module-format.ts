// How generated code reaches the names it uses (the runtime's `saved`, an imported helper `sq`,
// its `sq_grad`) under the module format tsc emits the file in.
//
// ES modules need nothing: the imports generated code adds are written as `import` and tsc
// prints them as they are. CommonJS needs more, because tsc's CommonJS transform rewrites only
// the references it can trace to the user's source, and generated identifiers have none:
//
//   import { sq } from "./helpers";          const helpers_1 = require("./helpers");
//   /* f_grad uses sq, sq_grad, saved */ →  const { saved } = require("tsgrad");              (1)
//                                            const helpers_module = require("./helpers");     (2)
//                                            f_grad: ... (0, helpers_1.sq)(x) ...             (3)
//                                                    ... helpers_module.sq_grad(x) ...        (2)
//
//   (1) the runtime's names, destructured: the runtime never requires the user's modules back;
//   (2) names from the user's modules, read from the module object at each use, as tsc reads its
//       own helpers_1.sq: under a cycle of requires, a destructuring would run before the other
//       module had defined them;
//   (3) an identifier naming one of the user's imports, not declared by the generated function
//       itself, is tied to that import (its original node), so tsc rewrites it as it rewrites the
//       user's own references.

import ts from "typescript";
import * as emit from "./phases/emit.js";

export type ModuleFormat = "esm" | "commonjs" | { unsupported: string };

/**
 * The format tsc emits `file` in: `module` commonjs → "commonjs"; node16/node18/node20/nodenext →
 * the file's own format (.cts, .mts, or package.json "type"); es2015…esnext and preserve → "esm";
 * AMD, UMD and System → unsupported (no project of tsgrad's users was seen to need them).
 */
export function moduleFormatOf(file: ts.SourceFile, options: ts.CompilerOptions): ModuleFormat {
  const kind =
    options.module ??
    ((options.target ?? ts.ScriptTarget.ES2022) >= ts.ScriptTarget.ES2015
      ? ts.ModuleKind.ES2015
      : ts.ModuleKind.CommonJS);
  if (kind === ts.ModuleKind.CommonJS) return "commonjs";
  if (kind >= ts.ModuleKind.Node16 && kind <= ts.ModuleKind.NodeNext)
    return file.impliedNodeFormat === ts.ModuleKind.CommonJS ? "commonjs" : "esm";
  if (kind >= ts.ModuleKind.ES2015 && kind <= ts.ModuleKind.ESNext) return "esm";
  if (kind === ts.ModuleKind.Preserve) return "esm";
  return { unsupported: (ts.ModuleKind[kind] ?? String(kind)).toLowerCase() };
}

/** Where generated code finds a name under CommonJS: `helpers_module.sq_grad`. */
export type ModuleMembers = Map<string, { module: string; name: string }>;

/**
 * The require declarations for generated code's imports (module → "name" or "name as local"),
 * and where each local name of a user module's export is found:
 *   "tsgrad": ["saved"]            → const { saved } = require("tsgrad");
 *   "./helpers": ["sq_grad"]       → const helpers_module = require("./helpers");   sq_grad → helpers_module.sq_grad
 * `taken`: names the file already uses, which a module's variable must not be.
 */
export function commonJsImports(
  imports: ReadonlyMap<string, ReadonlySet<string>>,
  runtime: string,
  taken: ReadonlySet<string>,
): { statements: ts.Statement[]; members: ModuleMembers } {
  const statements: ts.Statement[] = [];
  const members: ModuleMembers = new Map();
  const used = new Set(taken);
  for (const [from, names] of imports) {
    if (from === runtime) {
      statements.push(emit.emitRequireNames([...names], from));
      continue;
    }
    const base = `${(from.split("/").pop() ?? "module").replace(/\.[cm]?js$/, "").replace(/[^A-Za-z0-9_$]/g, "_")}_module`;
    let module = base;
    for (let i = 2; used.has(module); i++) module = `${base}_${i}`;
    used.add(module);
    statements.push(emit.emitRequireModule(module, from));
    for (const n of names) {
      const [name, alias] = n.split(" as ");
      members.set(alias ?? name, { module, name });
    }
  }
  return { statements, members };
}

/**
 * A generated function (or statement) for CommonJS output: each reference to a name it does not
 * declare itself is tied to the user's import of that name (3 above), or read from the module
 * object that holds it (2); declared names, property names and types are left alone.
 */
export function toCommonJs<T extends ts.Node>(
  node: T,
  file: ts.SourceFile,
  members: ModuleMembers,
  context: ts.TransformationContext,
): T {
  const imported = importBindings(file);
  const own = exportedVariables(file);
  const declared = declaredNames(node);
  const visit = (n: ts.Node, parent: ts.Node | undefined): ts.Node => {
    if (ts.isTypeNode(n)) return n;
    if (ts.isIdentifier(n) && parent && isReference(n, parent) && !declared.has(n.text)) {
      const member = members.get(n.text);
      if (member) return emit.propertyOf(emit.identifier(member.module), member.name);
      const binding = imported.get(n.text) ?? own.get(n.text);
      if (binding) ts.setOriginalNode(n, binding);
      return n;
    }
    return ts.visitEachChild(n, (child) => visit(child, n), context);
  };
  return visit(node, undefined) as T;
}

/** Every name `node` declares: parameters, variables, destructured names, functions. */
function declaredNames(node: ts.Node): Set<string> {
  const names = new Set<string>();
  const bind = (name: ts.BindingName): void => {
    if (ts.isIdentifier(name)) names.add(name.text);
    else name.elements.forEach((e) => !ts.isOmittedExpression(e) && bind(e.name));
  };
  const visit = (n: ts.Node): void => {
    if (ts.isVariableDeclaration(n) || ts.isParameter(n) || ts.isBindingElement(n)) bind(n.name);
    if ((ts.isFunctionDeclaration(n) || ts.isFunctionExpression(n)) && n.name) names.add(n.name.text);
    ts.forEachChild(n, visit);
  };
  visit(node);
  return names;
}

/**
 * The file's exported variables (`export const vec = { ... }`), by name → the identifier that
 * declares it: tsc's CommonJS output has no local `vec`, only `exports.vec`, which it writes for
 * references tied to that declaration (a member's gradient reads `vec.scale`, is registered on `vec.dot`).
 */
function exportedVariables(file: ts.SourceFile): Map<string, ts.Identifier> {
  const found = new Map<string, ts.Identifier>();
  for (const s of file.statements) {
    const exported = ts.isVariableStatement(s) && s.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    if (!exported) continue;
    for (const d of s.declarationList.declarations) if (ts.isIdentifier(d.name)) found.set(d.name.text, d.name);
  }
  return found;
}

/** The file's value imports, by local name → the identifier that binds it. */
function importBindings(file: ts.SourceFile): Map<string, ts.Identifier> {
  const bindings = new Map<string, ts.Identifier>();
  for (const s of file.statements) {
    const clause = ts.isImportDeclaration(s) ? s.importClause : undefined;
    if (!clause || clause.isTypeOnly) continue;
    if (clause.name) bindings.set(clause.name.text, clause.name);
    const named = clause.namedBindings;
    if (named && ts.isNamespaceImport(named)) bindings.set(named.name.text, named.name);
    if (named && ts.isNamedImports(named))
      for (const e of named.elements) if (!e.isTypeOnly) bindings.set(e.name.text, e.name);
  }
  return bindings;
}

/** Is `id` read as a value here (not a declared name, a property name or a label)? */
function isReference(id: ts.Identifier, parent: ts.Node): boolean {
  if (ts.isPropertyAccessExpression(parent)) return parent.expression === id;
  if (ts.isPropertyAssignment(parent) || ts.isMethodDeclaration(parent) || ts.isPropertyDeclaration(parent))
    return parent.name !== id;
  if (
    ts.isVariableDeclaration(parent) ||
    ts.isParameter(parent) ||
    ts.isFunctionDeclaration(parent) ||
    ts.isFunctionExpression(parent)
  )
    return parent.name !== id;
  if (ts.isBindingElement(parent)) return false;
  if (ts.isLabeledStatement(parent) || ts.isBreakOrContinueStatement(parent)) return false;
  return true;
}
