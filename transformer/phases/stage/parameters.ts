// The function's parameters, and the names its body reads that it does not declare: each field of
// an object parameter a staged parameter of its own, `this.scale` read once at the top, the
// enclosing function's values a closure captures, module-level tables and constants.
//
//   (x: number, model: Model) { const { W } = model; ... model.reg }   →   params x, W, reg
//   this.scale * x                                                     →   const scale = this.scale; (first)

import ts from "typescript";
import type { FunctionNode } from "../annotations.js";
import { type Expr, type Param, type ParamTree, ref } from "../../ir/ir.js";
import {
  type Callback,
  type TypeTree,
  assignedIdentifier,
  parameterType,
  recordKeys,
  skipWrappers,
  typeTree,
} from "../../ir/syntax.js";
import { inlinedHelpersIn } from "../../ir/inlining.js";
import { GENERATED_GLOBALS } from "../../ir/naming.js";
import { isConstantTable, isRecordTable } from "../../ir/tables.js";
import { capturedDeclaration, isModuleNumber, ownedField } from "../../ir/captures.js";
import type { Stager } from "./stager.js";

/**
 * The parameters as declared, each object's fields named as staged parameters (leaves):
 *   (x: number, model: Model)   →  x, and model with leaves W, reg   (read as model.W, model.reg)
 *   ({ W, reg }: Model)         →  model with leaves W, reg          (a name for the generated code)
 * A field is named after the user's const for it (`const { W1 } = model` → W1), else its key
 * where nothing else in the function has that name, else its path (`model_layer_W`). Every
 * const naming part of an object is bound here once (they never change).
 */
export function parameters(st: Stager): Param[] {
  const { namer, checker } = st.ctx;
  st.fn.parameters.forEach((p) => ts.isIdentifier(p.name) && namer.claim(p.name.text));
  for (const local of declaredNames(st.fn)) namer.claim(local);
  // The locals of module helpers inlined here keep their names too (the first inlining's).
  for (const helper of inlinedHelpersIn(st.fn, checker)) for (const local of declaredNames(helper)) namer.claim(local);
  const paths = objectPaths(st.fn, checker);
  const aliasOf = new Map<string, string>();
  for (const [symbol, at] of paths)
    if (at.keys.length && !aliasOf.has(pathKey(at))) aliasOf.set(pathKey(at), symbol.name);
  // Leaves are unpacked at the top of the generated functions, beside the parameters: an alias
  // declared in an inner scope may not take a parameter's name there, nor two leaves one name.
  const leafNames = new Set<string>();
  const paramNames = new Set(st.fn.parameters.flatMap((p) => (ts.isIdentifier(p.name) ? [p.name.text] : [])));
  const free = (name: string) =>
    !leafNames.has(name) && !paramNames.has(name) && !st.calleeGradients.has(name) && !RESERVED.has(name);
  const nameLeaf = (param: number, prefix: string, keys: string[]): string => {
    const alias = aliasOf.get(pathKey({ param, keys }));
    const key = keys[keys.length - 1];
    const name =
      alias !== undefined && free(alias)
        ? namer.claim(alias)
        : key !== undefined && free(key) && !namer.has(key)
          ? namer.claim(key)
          : namer.fresh([prefix, ...keys].join("_"));
    leafNames.add(name);
    return name;
  };
  // The type at a field path of parameter `param`, for the keys of its records.
  const typeAt = (param: number, keys: string[]) =>
    keys.reduce<ts.Type>(
      (t, key) => checker.getTypeOfSymbol(t.getProperty(key)!),
      parameterType(st.fn.parameters[param], checker),
    );
  const build = (t: TypeTree, param: number, prefix: string, keys: string[]): ParamTree =>
    Array.isArray(t)
      ? { k: "object", fields: t.map((f) => ({ key: f.key, tree: build(f.tree, param, prefix, [...keys, f.key]) })) }
      : {
          k: "leaf",
          name: keys.length ? nameLeaf(param, prefix, keys) : prefix,
          kind: t,
          ...(t === "records" ? { keys: recordsOf(typeAt(param, keys), checker) } : {}),
        };
  const signature = st.fn.parameters.map((p, i): Param => {
    const declared = parameterType(p, checker);
    const t = typeTree(declared, checker) as TypeTree; // the fence let through only these
    const name = ts.isIdentifier(p.name) ? p.name.text : namer.fresh(parameterName(p));
    if (ts.isIdentifier(p.name) && !Array.isArray(t)) st.env.set(st.symbol(p.name), name);
    paramNames.add(name);
    // An unannotated parameter (a contextually typed arrow's, or `a = 2`) gets its type written
    // out; so does one of a generic function, as its constraint (generated functions have no `T`).
    const constraint = st.fn.typeParameters?.length ? checker.getBaseConstraintOfType(declared) : undefined;
    const type =
      (constraint ? undefined : p.type?.getText()) ??
      checker.typeToString(constraint ?? declared, st.fn, ts.TypeFormatFlags.NoTruncation);
    const optional = p.questionToken || p.initializer ? { initializer: p.initializer } : undefined;
    return { name, tree: build(t, i, name, []), type, ...(optional ? { optional } : {}) };
  });
  for (const [symbol, at] of paths) {
    const tree = at.keys.reduce<ParamTree | undefined>(
      (node, key) => (node?.k === "object" ? node.fields.find((f) => f.key === key)?.tree : undefined),
      signature[at.param].tree,
    );
    if (!tree) continue;
    if (!st.fn.parameters.some((p) => ts.isIdentifier(p.name) && checker.getSymbolAtLocation(p.name) === symbol))
      st.aliases.add(symbol);
    if (tree.k === "leaf") st.env.set(symbol, tree.name);
    else st.objects.set(symbol, tree);
  }
  return signature;
}

/**
 * The captured values the function reads, by name. Its own locals never take their names (a
 * local `k` shadowing a captured `k` in an inner block becomes `k_2`), so the generated
 * functions read them as the closure does and f_backward unpacks them from vjp's cache.
 */
export function findCaptures(st: Stager): void {
  const visit = (n: ts.Node): void => {
    if (ts.isIdentifier(n) && capturedDeclaration(n, st.fn, st.ctx.checker)) {
      st.captured.add(n.text);
      st.declared.add(n.text);
      st.ctx.namer.claim(n.text);
    }
    ts.forEachChild(n, visit);
  };
  if (st.fn.body) visit(st.fn.body);
}

/** The object (or field) an expression names: `model.layer` → its tree; undefined if it names none. */
function treeOf(st: Stager, e: ts.Expression): ParamTree | undefined {
  const x = skipWrappers(e);
  if (ts.isIdentifier(x)) {
    const symbol = st.ctx.checker.getSymbolAtLocation(x);
    return symbol && st.objects.get(symbol);
  }
  if (ts.isPropertyAccessExpression(x)) {
    const base = treeOf(st, x.expression);
    return base?.k === "object" ? base.fields.find((f) => f.key === x.name.text)?.tree : undefined;
  }
  return undefined;
}

/** `model.W` → ref(W), the staged parameter of that field; undefined for anything else. */
export function fieldRef(st: Stager, e: ts.Expression): Expr | undefined {
  const tree = ts.isPropertyAccessExpression(e) ? treeOf(st, e) : undefined;
  return tree?.k === "leaf" ? ref(tree.name) : (recordField(st, e) ?? grownLength(st, e));
}

/** `out.length` of an array grown by push (stage/growing.ts): its count so far, a value like any other. */
function grownLength(st: Stager, e: ts.Expression): Expr | undefined {
  if (!ts.isPropertyAccessExpression(e) || e.name.text !== "length" || !ts.isIdentifier(e.expression)) return undefined;
  const symbol = st.ctx.checker.getSymbolAtLocation(e.expression);
  const array = symbol && st.env.get(symbol);
  return array !== undefined && st.growable.has(array) ? st.lengthOf(array) : undefined;
}

/**
 * `p.x` with `p` the element of `for (const p of DATA)` over a table of records: the field of
 * the element it stands for, `DATA[i].x` (an elem with a key; `DATA[i].x` itself is read by
 * exprFromTs).
 */
function recordField(st: Stager, e: ts.Expression): Expr | undefined {
  if (!ts.isPropertyAccessExpression(e) || !ts.isIdentifier(e.expression)) return undefined;
  const symbol = st.ctx.checker.getSymbolAtLocation(e.expression);
  // b.x of `let b = pts[k]` (stage/assignments.ts): the record at b's index now.
  const array = symbol && st.recordVars.get(symbol);
  const index = symbol && st.env.get(symbol);
  if (array && index !== undefined) return { k: "elem", array, index: ref(index), key: e.name.text };
  const element = symbol && st.records.get(symbol);
  return element && { k: "elem", array: element.array, index: element.index, key: e.name.text };
}

/**
 * `this.scale` in a method: a constant of the instance, read once, at the top of the function,
 * into a local named after the field (`const scale = this.scale;`), which vjp's forward pass
 * keeps in its cache: the backward pass never reads the field again (the instance may change
 * by then). In an object literal's member, `this` is the object: `const scale = vec.scale;`.
 */
export function thisField(st: Stager, e: ts.Expression): Expr | undefined {
  if (!ts.isPropertyAccessExpression(e)) return undefined;
  const self = e.expression.kind === ts.SyntaxKind.ThisKeyword;
  // Also opts.scale of a captured object, and vec.scale in a member of vec (ir/captures.ts).
  if (!self && !(ts.isIdentifier(e.expression) && ownedField(e, st.fn, st.ctx.checker))) return undefined;
  const key = e.name.text;
  const text = self ? `${st.ctx.self ?? "this"}.${key}` : e.getText();
  let name = st.thisFields.get(text);
  if (name === undefined) {
    name = st.ctx.namer.fresh(key);
    st.declared.add(name);
    st.thisFields.set(text, name);
    const value: Expr = { k: "global", text };
    st.fieldReads.push({ k: "def", name, value, op: null, args: [], assign: false, source: e });
  }
  return ref(name);
}

/**
 * A name read inside the function but declared outside it: the enclosing function's parameter
 * or local (a captured value, ir/captures.ts) under its own name, anything else as written (a
 * module constant, `Infinity`).
 */
export function nonLocal(st: Stager, id: ts.Identifier): Expr {
  const symbol = st.ctx.checker.getSymbolAtLocation(id);
  const row = symbol && st.rows.get(symbol);
  if (row) return row; // row of `const row = A[i]`: A[i], read as A[i][j]
  if (isConstantTable(id, st.ctx.checker) || isRecordTable(id, st.ctx.checker)) {
    // LANCZOS[i]: read by name, like an array parameter no gradient flows to.
    st.declared.add(id.text);
    st.ctx.namer.claim(id.text);
    return ref(id.text);
  }
  if (st.captured.has(id.text) && capturedDeclaration(id, st.fn, st.ctx.checker)) return ref(id.text);
  // let gravity = 9.81 at module level (this one's or an imported one): its value now, kept for
  // the backward pass (a snapshot).
  const target = symbol && symbol.flags & ts.SymbolFlags.Alias ? st.ctx.checker.getAliasedSymbol(symbol) : symbol;
  const decl = target?.valueDeclaration;
  if (decl && ts.isVariableDeclaration(decl) && !(ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const)) {
    if (isModuleNumber(decl, st.ctx.checker)) {
      const name = st.ctx.namer.version(id.text);
      const value: Expr = { k: "global", text: id.text };
      st.body.push({ k: "def", name, value, op: null, args: [], assign: false, source: id, snapshot: true });
      return ref(name);
    }
  }
  return { k: "global", text: id.text };
}

/** Where a name points inside an object parameter: parameter index and field keys. */
interface ObjectPath {
  param: number;
  keys: string[];
}

const pathKey = (at: ObjectPath) => `${at.param}.${at.keys.join(".")}`;

/**
 * Every name in fn for an object parameter or part of one, in source order:
 *   (model: Model) { const { W1, layer } = model; const b = layer.b; }
 *   → model [0], W1 [0, W1], layer [0, layer], b [0, layer, b]
 * Only `const` declarations name parts (the fence refuses `let` for objects and arrays of them).
 */
function objectPaths(fn: FunctionNode, checker: ts.TypeChecker): Map<ts.Symbol, ObjectPath> {
  const paths = new Map<ts.Symbol, ObjectPath>();
  const bind = (name: ts.BindingName, at: ObjectPath): void => {
    if (ts.isIdentifier(name)) {
      const symbol = checker.getSymbolAtLocation(name);
      if (symbol) paths.set(symbol, at);
    } else if (ts.isObjectBindingPattern(name)) {
      for (const el of name.elements) {
        const key = el.propertyName ?? el.name;
        if (ts.isIdentifier(key)) bind(el.name, { param: at.param, keys: [...at.keys, key.text] });
      }
    }
  };
  const pathOf = (e: ts.Expression): ObjectPath | undefined => {
    const x = skipWrappers(e);
    if (ts.isIdentifier(x)) {
      const symbol = checker.getSymbolAtLocation(x);
      return symbol && paths.get(symbol);
    }
    if (!ts.isPropertyAccessExpression(x)) return undefined;
    const base = pathOf(x.expression);
    return base && { param: base.param, keys: [...base.keys, x.name.text] };
  };
  // Objects, and arrays too: `const b = a` names the parameter's array, it does not copy it. Not a
  // parameter the function gives another value (`Z = tanh(X)` of a Matrix Z): `const t = Z` then
  // names what Z holds there.
  const assigned = new Set<ts.Symbol>();
  const changes = (n: ts.Node): void => {
    const id = assignedIdentifier(n);
    const symbol = id && checker.getSymbolAtLocation(id);
    if (symbol) assigned.add(symbol);
    ts.forEachChild(n, changes);
  };
  if (fn.body) changes(fn.body);
  fn.parameters.forEach((p, i) => {
    const tree = typeTree(parameterType(p, checker), checker);
    const given = ts.isIdentifier(p.name) && assigned.has(checker.getSymbolAtLocation(p.name)!);
    if (!given && (Array.isArray(tree) || (typeof tree === "string" && tree !== "number")))
      bind(p.name, { param: i, keys: [] });
  });
  const visit = (n: ts.Node): void => {
    if (ts.isVariableDeclaration(n) && n.initializer && ts.getCombinedNodeFlags(n) & ts.NodeFlags.Const) {
      const at = pathOf(n.initializer);
      if (at) bind(n.name, at);
    }
    ts.forEachChild(n, visit);
  };
  if (fn.body) visit(fn.body);
  return paths;
}

/** A name for a destructured parameter in generated code: `{ W, b }: Model` → model; untyped → params. */
function parameterName(p: ts.ParameterDeclaration): string {
  const type = p.type && ts.isTypeReferenceNode(p.type) ? p.type.typeName : undefined;
  const text = type ? (ts.isIdentifier(type) ? type.text : type.right.text) : "params";
  const name = text[0].toLowerCase() + text.slice(1);
  return RESERVED.has(name) ? "params" : name;
}

/** Words that are valid field names but not variable names: such a field is named by its path. */
const RESERVED = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends false finally for " +
    "function if import in instanceof new null return super switch this throw true try typeof var void while with " +
    "yield let static implements interface package private protected public await arguments eval undefined NaN Infinity"
  )
    .split(" ")
    .concat([...GENERATED_GLOBALS]),
);

/** The keys of the records of `pts: Point[]` → ["x", "y"]. */
function recordsOf(t: ts.Type, checker: ts.TypeChecker): string[] {
  const [element] = checker.getTypeArguments(checker.getNonNullableType(t) as ts.TypeReference);
  return recordKeys(element, checker)!;
}

/** Names the user declares in the body; they keep their names, generated ones go around them. */
function declaredNames(fn: FunctionNode | Callback): string[] {
  const names: string[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name)) names.push(n.name.text);
    // Not field names: `model.W`, `{ loss: l }`, `{ W: weights } = model`.
    const isKey =
      (ts.isPropertyAccessExpression(n.parent) && n.parent.name === n) ||
      (ts.isPropertyAssignment(n.parent) && n.parent.name === n) ||
      (ts.isBindingElement(n.parent) && n.parent.propertyName === n);
    if (ts.isIdentifier(n) && !isKey) names.push(n.text);
    ts.forEachChild(n, visit);
  };
  if (fn.body) visit(fn.body);
  return names;
}
