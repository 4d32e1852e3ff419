// The signature: each parameter a number, an array, a matrix, data or an object of them, its
// default reading no other parameter, a destructured one naming fields only; the result a number,
// an array or an object of them. A parameter refused for its type is reported there, not again at
// each use.
//
//   function* f(x: number)                    →   generator
//   (a: number, b = a * 3) => a * b           →   defaultReadsParameter, at `a * 3`
//   ({ W, ...rest }: Model) => ...            →   destructuringRest, at `...rest`
//   (m: Map<string, number>) => m.get("a")    →   parameterType, at `m: Map<string, number>`, and only there

import ts from "typescript";
import { kindOf, parameterType, typeTree } from "../../ir/syntax.js";
import type { DiffError } from "../../ir/diagnostics.js";
import { LANGUAGE, refuse } from "../../ir/language.js";
import { type ValueKind, isDataKind } from "../../ir/ir.js";
import type { Fencer } from "./fencer.js";

export function checkSignature(st: Fencer): void {
  if (st.fn.asteriskToken) st.fail(refuse("generator", st.fn));
  if ((ts.getModifiers(st.fn) ?? []).some((m) => m.kind === ts.SyntaxKind.AsyncKeyword)) {
    st.fail(refuse("asyncFunction", st.fn));
  }
  for (const p of st.fn.parameters) {
    // `scale?: number` and `a = 2` are taken as their type without `undefined`.
    const tree = typeTree(parameterType(p, st.checker), st.checker);
    if (ts.isIdentifier(p.name) && p.name.text === "this") st.fail(refuse("thisParameter", p));
    else if (p.dotDotDotToken) st.fail(refuse("restParameter", p));
    else if (!Array.isArray(tree) && typeof tree === "object") {
      st.fail(
        refuse("parameterType", p, {
          name: p.name.getText(),
          type: p.type?.getText() ?? st.checker.typeToString(st.checker.getTypeAtLocation(p)),
          why: tree.error,
        }),
      );
    } else if (p.initializer && readsParameter(st, p.initializer)) {
      // b = a * 3: the gradient would treat b as independent of a where the call left b out.
      const read = readsParameter(st, p.initializer)!;
      st.fail(
        refuse("defaultReadsParameter", p.initializer, {
          name: p.name.getText(),
          read,
          initializer: p.initializer.getText(),
        }),
      );
    } else if (p.questionToken && !p.initializer && tree !== "number" && !isDataKind(tree as ValueKind)) {
      // An optional array, matrix or object: its gradient is sized from it, which may be missing.
      st.fail(
        refuse("optionalParameter", p, {
          name: p.name.getText(),
          type: p.type?.getText() ?? st.checker.typeToString(parameterType(p, st.checker)),
        }),
      );
    } else if (!ts.isIdentifier(p.name)) {
      if (!Array.isArray(tree)) st.fail(refuse("destructuredNonObject", p));
      else pattern(st, p.name);
    }
  }
  const signature = st.checker.getSignatureFromDeclaration(st.fn);
  const ret = signature && st.checker.getReturnTypeOfSignature(signature);
  const kind = ret && kindOf(ret, st.checker);
  const fields = ret && !kind ? typeTree(ret, st.checker) : undefined;
  const flat =
    Array.isArray(fields) &&
    fields.every((f) => f.tree === "number" || f.tree === "Float64Array" || f.tree === "number[]");
  if (ret && !(ret.flags & ts.TypeFlags.NumberLike) && kind !== "Float64Array" && kind !== "number[]" && !flat) {
    st.fail(refuse("returnType", st.fn.type ?? st.fn.name ?? st.fn, { type: st.checker.typeToString(ret) }));
  }
}

/** The name of a parameter of fn that `e` (a default) reads, if any: `a * 3` → "a". */
function readsParameter(st: Fencer, e: ts.Expression): string | undefined {
  let found: string | undefined;
  const visit = (n: ts.Node): void => {
    if (found) return;
    if (ts.isIdentifier(n)) {
      let decl: ts.Node | undefined = st.checker.getSymbolAtLocation(n)?.valueDeclaration;
      while (decl && ts.isBindingElement(decl)) decl = decl.parent.parent;
      if (decl && ts.isParameter(decl) && decl.parent === st.fn) found = n.text;
    }
    ts.forEachChild(n, visit);
  };
  visit(e);
  return found;
}

/** `{ W, layer: { b } }`: field names only, no rest, defaults or computed keys (every field is required data). */
export function pattern(st: Fencer, name: ts.BindingName): void {
  if (!ts.isObjectBindingPattern(name)) return st.fail(refuse("arrayDestructuring", name));
  for (const el of name.elements) {
    if (el.dotDotDotToken) st.fail(refuse("destructuringRest", el));
    else if (el.initializer) st.fail(refuse("destructuringDefault", el));
    else if (el.propertyName && !ts.isIdentifier(el.propertyName)) st.fail(refuse("destructuringComputedKey", el));
    else if (!ts.isIdentifier(el.name)) pattern(st, el.name);
  }
}

/**
 * A parameter whose type tsgrad refuses is reported once, at the parameter, not again at each use:
 *   (m: Map<string, number>) => m.get("a") * 2   → one error, at `m: Map<string, number>`
 */
export function oneErrorPerCause(st: Fencer): DiffError[] {
  const refused = new Set<ts.Symbol>();
  for (const e of st.errors)
    if (e.code === LANGUAGE.parameterType.code && ts.isParameter(e.node) && ts.isIdentifier(e.node.name)) {
      const symbol = st.checker.getSymbolAtLocation(e.node.name);
      if (symbol) refused.add(symbol);
    }
  if (!refused.size) return st.errors;
  const mentions = (n: ts.Node): boolean =>
    (ts.isIdentifier(n) && refused.has(st.checker.getSymbolAtLocation(n)!)) || (ts.forEachChild(n, mentions) ?? false);
  return st.errors.filter((e) => ts.isParameter(e.node) || !mentions(e.node));
}
