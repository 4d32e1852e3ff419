// How generated code reaches the names it uses (the runtime's `saved`, an imported helper `sq`,
// its `sq_grad`) under the module format tsc emits the file in.
//
// ES modules need nothing: the imports generated code adds are written as `import` and tsc
// prints them as they are. CommonJS needs two things, because tsc's CommonJS transform rewrites
// only the references it can trace to the user's source, and generated identifiers have none:
//
//   import { sq } from "./helpers";          const helpers_1 = require("./helpers");
//   /* f_grad uses sq and sq_grad */   →    const { saved, sq_grad } = require(...)   (1)
//                                            f_grad: ... (0, helpers_1.sq)(x) ...      (2)
//
//   (1) generated code's own imports are written as `require` declarations (requireOf);
//   (2) an identifier of generated code naming one of the user's imports is tied to that import
//       (linkImportedNames), so tsc rewrites it as it rewrites the user's own references.

import ts from "typescript";

export type ModuleFormat = "esm" | "commonjs" | { unsupported: string };

/**
 * The format tsc emits `file` in: `module` commonjs → "commonjs"; node16/node18/node20/nodenext →
 * the file's own format (.cts, .mts, or package.json "type"); es2015…esnext and preserve → "esm";
 * AMD, UMD and System → unsupported (no project of tsgrad's users was seen to need them).
 */
export function moduleFormatOf(file: ts.SourceFile, options: ts.CompilerOptions): ModuleFormat {
  const kind = options.module ?? ((options.target ?? ts.ScriptTarget.ES2022) >= ts.ScriptTarget.ES2015 ? ts.ModuleKind.ES2015 : ts.ModuleKind.CommonJS);
  if (kind === ts.ModuleKind.CommonJS) return "commonjs";
  if (kind >= ts.ModuleKind.Node16 && kind <= ts.ModuleKind.NodeNext) return file.impliedNodeFormat === ts.ModuleKind.CommonJS ? "commonjs" : "esm";
  if (kind >= ts.ModuleKind.ES2015 && kind <= ts.ModuleKind.ESNext) return "esm";
  if (kind === ts.ModuleKind.Preserve) return "esm";
  return { unsupported: (ts.ModuleKind[kind] ?? String(kind)).toLowerCase() };
}

/** ["saved", "sq_grad as sq_grad_2"], "./helpers" → `const { saved, sq_grad: sq_grad_2 } = require("./helpers");` */
export function requireOf(names: string[], from: string): ts.Statement {
  const f = ts.factory;
  const elements = names.map((n) => {
    const [name, alias] = n.split(" as ");
    return f.createBindingElement(undefined, alias ? name : undefined, alias ?? name);
  });
  const call = f.createCallExpression(f.createIdentifier("require"), undefined, [f.createStringLiteral(from)]);
  const declaration = f.createVariableDeclaration(f.createObjectBindingPattern(elements), undefined, undefined, call);
  return f.createVariableStatement(undefined, f.createVariableDeclarationList([declaration], ts.NodeFlags.Const));
}

/**
 * Ties each identifier of generated code that names one of the file's value imports to that
 * import's binding (as its original node), so that tsc's CommonJS transform, which follows
 * original nodes back to the source, rewrites `sq(x)` to `(0, helpers_1.sq)(x)` as it does the
 * user's own call. Declared names, property names and type positions are left alone.
 */
export function linkImportedNames(nodes: readonly ts.Node[], file: ts.SourceFile): void {
  const imported = importBindings(file);
  if (imported.size === 0) return;
  const visit = (node: ts.Node, parent: ts.Node | undefined): void => {
    if (ts.isTypeNode(node)) return;
    if (ts.isIdentifier(node) && parent && isReference(node, parent)) {
      const binding = imported.get(node.text);
      if (binding) ts.setOriginalNode(node, binding);
      return;
    }
    ts.forEachChild(node, (child) => visit(child, node));
  };
  for (const n of nodes) visit(n, undefined);
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
    if (named && ts.isNamedImports(named)) for (const e of named.elements) if (!e.isTypeOnly) bindings.set(e.name.text, e.name);
  }
  return bindings;
}

/** Is `id` read as a value here (not a declared name, a property name or a label)? */
function isReference(id: ts.Identifier, parent: ts.Node): boolean {
  if (ts.isPropertyAccessExpression(parent)) return parent.expression === id;
  if (ts.isPropertyAssignment(parent) || ts.isMethodDeclaration(parent) || ts.isPropertyDeclaration(parent)) return parent.name !== id;
  if (ts.isVariableDeclaration(parent) || ts.isParameter(parent) || ts.isFunctionDeclaration(parent) || ts.isFunctionExpression(parent)) return parent.name !== id;
  if (ts.isBindingElement(parent)) return false;
  if (ts.isLabeledStatement(parent) || ts.isBreakOrContinueStatement(parent)) return false;
  return true;
}
