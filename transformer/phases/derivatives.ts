// Custom derivatives: a function the user marks `/** @derivative f */` gives f's gradient, which
// generated code calls in place of differentiating f (f's body may then be beyond tsgrad):
//   /** @derivative softplus */ function softplusDerivative(x, y, dy): [number]  → softplus's backward line
// Found once per program, checked (arity, return shape, no use of grad on itself), by target.

import ts from "typescript";
import { type DiffError, shortPosition } from "../ir/diagnostics.js";
import { refuse } from "../ir/language.js";
import { isRuntimeExport, skipParens } from "./annotations.js";

/**
 * A derivative the user wrote for a function, in the form
 *   /** @derivative softplus *\/
 *   function softplusDerivative(x: number, y: number, dy: number): [number] { return [dy / (1 + Math.exp(-x))]; }
 * or `export const softplusDerivative = (x: number, y: number, dy: number): [number] => [...]`.
 * It receives the function's arguments, its value `y` and the gradient `dy` on that value, and
 * returns one gradient per argument. Generated code calls it in the backward pass in place of
 * differentiating the function (which may be a library function tsgrad cannot see into).
 */
export interface CustomDerivative {
  fn: ts.FunctionDeclaration | ts.ArrowFunction | ts.FunctionExpression;
  name: string;
  /** Its name in its declaration: where diagnostics about it go. */
  nameNode: ts.Identifier;
  /** The top-level statement that declares it. */
  statement: ts.FunctionDeclaration | ts.VariableStatement;
  file: ts.SourceFile;
  /** The name its module exports it under (`export { d as softplusD }` → "softplusD"); undefined if not exported. */
  exportedAs?: string;
  /** The declaration of the function it differentiates. */
  of: ts.Declaration;
  ofName: string;
  /** That function's parameter names: a call must pass each (a defaulted one too), since the derivative receives them all. */
  ofParams: string[];
}

/** A `@derivative` tsgrad cannot use: what is wrong, at the derivative's name (`error.node`). */
export interface DerivativeProblem {
  error: DiffError;
  /** The function it was written for, when that much is known: calls of it refuse too, rather than differentiate around it. */
  of?: ts.Declaration;
}

export interface CustomDerivatives {
  byTarget: Map<ts.Declaration, CustomDerivative>;
  /** Targets whose derivative is refused, with why. */
  refused: Map<ts.Declaration, DerivativeProblem>;
  problems: DerivativeProblem[];
}

const DERIVATIVE_TAG = /^\/\*\*[\s\S]*@derivative\s+([A-Za-z_$][\w$.]*)/;
const API = ["grad", "gradInto", "valueAndGrad", "vjp"];
const derivativeCache = new WeakMap<ts.Program, CustomDerivatives>();

/** Every `@derivative f` function of the program, by the declaration of f; and what is wrong with the others. */
export function customDerivatives(program: ts.Program): CustomDerivatives {
  const cached = derivativeCache.get(program);
  if (cached) return cached;
  const checker = program.getTypeChecker();
  const result: CustomDerivatives = { byTarget: new Map(), refused: new Map(), problems: [] };
  const refused = (problem: DerivativeProblem): void => {
    result.problems.push(problem);
    if (problem.of && !result.refused.has(problem.of)) result.refused.set(problem.of, problem);
  };
  for (const file of program.getSourceFiles()) {
    if (file.isDeclarationFile || !file.text.includes("@derivative")) continue;
    for (const statement of file.statements) {
      const tag = derivativeTag(statement);
      if (!tag) continue;
      const of = targetOf(checker, tag, statement);
      const found = derivativeDeclaration(statement, tag);
      if ("error" in found) {
        refused({ ...found, of });
        continue;
      }
      const checked = checkDerivative(checker, found, tag, of);
      if ("error" in checked) refused(checked);
      else if (result.byTarget.has(checked.of)) {
        const first = result.byTarget.get(checked.of)!;
        refused({
          of: checked.of,
          error: refuse("derivativeTwice", checked.nameNode, {
            tag,
            first: first.name,
            at: shortPosition(first.nameNode),
          }),
        });
      } else result.byTarget.set(checked.of, checked);
    }
  }
  for (const of of result.refused.keys()) result.byTarget.delete(of);
  derivativeCache.set(program, result);
  return result;
}

/** `/** @derivative softplus *\/ function d(...)` → "softplus". */
function derivativeTag(statement: ts.Statement): string | undefined {
  const text = statement.getSourceFile().text;
  const comments = ts.getLeadingCommentRanges(text, statement.getFullStart()) ?? [];
  return comments.map((c) => DERIVATIVE_TAG.exec(text.slice(c.pos, c.end))).find((m) => m)?.[1];
}

type Declared = Pick<CustomDerivative, "fn" | "name" | "nameNode" | "statement" | "file">;

/**
 * The tagged statement as a derivative, or why it cannot be one:
 *   function d(x, y, dy) { ... }            → d
 *   export const d = (x, y, dy) => [...]    → d (a const: generated code calls what it holds)
 *   let d = ..., class D, an overload       → a problem
 */
function derivativeDeclaration(statement: ts.Statement, tag: string): Declared | DerivativeProblem {
  const file = statement.getSourceFile();
  if (ts.isFunctionDeclaration(statement) && statement.name) {
    if (!statement.body)
      return { error: refuse("derivativeWithoutBody", statement.name, { tag, name: statement.name.text }) };
    return { fn: statement, name: statement.name.text, nameNode: statement.name, statement, file };
  }
  if (ts.isVariableStatement(statement)) {
    const [decl, ...more] = statement.declarationList.declarations;
    const init = decl.initializer && skipParens(decl.initializer);
    const node = ts.isIdentifier(decl.name) ? decl.name : decl;
    if (
      more.length ||
      !ts.isIdentifier(decl.name) ||
      !init ||
      !(ts.isArrowFunction(init) || ts.isFunctionExpression(init))
    ) {
      return { error: refuse("derivativeFormList", node, { tag }) };
    }
    if (!(statement.declarationList.flags & ts.NodeFlags.Const)) {
      return { error: refuse("derivativeNotConst", node, { tag, name: decl.name.text }) };
    }
    return { fn: init, name: decl.name.text, nameNode: decl.name, statement, file };
  }
  const named = (statement as { name?: ts.Node }).name;
  return { error: refuse("derivativeForm", named && ts.isIdentifier(named) ? named : statement, { tag }) };
}

/**
 * The checks a derivative passes before generated code calls it, each an error at its name:
 *   the tag names a function in scope           @derivative nowhere  → "no function named `nowhere`"
 *   (not a method, not overloaded)              @derivative Model.m  → "derivatives of methods ..."
 *   that function has no rest parameter         r(...xs)             → its arguments are not a fixed list
 *   its parameters are f's plus y and dy        (x, dy) for f(x, y)  → "4 parameters"
 *   it returns a tuple of one number per f's    number, [number] for f(a, b) → "declare `[number, number]`"
 *   parameter (the checker's view of its type)
 *   it does not call grad(f) of its own f       f's gradient is this derivative: they would recurse
 */
function checkDerivative(
  checker: ts.TypeChecker,
  d: Declared,
  tag: string,
  of: ts.Declaration | undefined,
): CustomDerivative | DerivativeProblem {
  const at = d.nameNode;
  const target = of && functionOf(of);
  if (tag.includes(".")) return { error: refuse("derivativeOfMethod", at, { tag }) };
  if (!of || !target) return { error: refuse("derivativeOfNothing", at, { tag }) };
  const signatures = (checker.getSymbolAtLocation((of as ts.NamedDeclaration).name ?? of)?.declarations ?? []).filter(
    ts.isFunctionLike,
  );
  if (signatures.length > 1) {
    return { of, error: refuse("derivativeOfOverload", at, { tag }) };
  }

  const rest = target.parameters.find((p) => p.dotDotDotToken);
  if (rest) {
    return { of, error: refuse("derivativeOfRest", at, { tag, rest: rest.getText() }) };
  }
  const arity = target.parameters.length;
  if (d.fn.parameters.length !== arity + 2) {
    return { of, error: refuse("derivativeArity", at, { tag, arity, name: d.name, count: d.fn.parameters.length }) };
  }
  const returned = gradientsProblem(checker, d.fn, arity);
  if (returned) return { of, error: refuse("derivativeReturnType", at, { name: d.name, ...returned }) };
  const recursive = apiCallOf(checker, d.fn, of);
  if (recursive) {
    return { of, error: refuse("derivativeRecursion", at, { name: d.name, call: recursive, tag }) };
  }
  const ofParams = target.parameters.map((p, i) => (ts.isIdentifier(p.name) ? p.name.text : `argument ${i + 1}`));
  return { ...d, of, ofName: tag, ofParams, exportedAs: exportedName(checker, d) };
}

/** `@derivative softplus` above `statement` → the declaration `softplus` names there, following imports. */
function targetOf(checker: ts.TypeChecker, tag: string, statement: ts.Statement): ts.Declaration | undefined {
  let symbol = checker.resolveName(tag, statement, ts.SymbolFlags.Value, false);
  if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
  const of = symbol?.valueDeclaration ?? symbol?.declarations?.[0];
  return of && functionOf(of) ? of : undefined;
}

/** A function's declaration → the function-like node: `function f` itself, `const f = (x) => ...` its arrow. */
function functionOf(decl: ts.Declaration): ts.SignatureDeclaration | undefined {
  if (ts.isFunctionLike(decl)) return decl;
  if (ts.isVariableDeclaration(decl) && decl.initializer) {
    const init = skipParens(decl.initializer);
    if (ts.isFunctionLike(init)) return init;
  }
  return undefined;
}

/**
 * What is wrong with a derivative's return type for a function of `arity` arguments, per the
 * checker (so an inferred `number[]` counts as written):
 *   [number, number] for arity 2   → undefined (fine)
 *   number, number[], [number]     → { type: "number", want: "[number, number]" } (the message: language.ts's derivativeReturnType)
 */
function gradientsProblem(
  checker: ts.TypeChecker,
  fn: CustomDerivative["fn"],
  arity: number,
): { type: string; want: string } | undefined {
  const signature = checker.getSignatureFromDeclaration(fn);
  if (!signature) return undefined;
  const type = checker.getReturnTypeOfSignature(signature);
  const want = `[${Array.from({ length: arity }, () => "number").join(", ")}]`;
  const problem = { type: checker.typeToString(type), want };
  if (!checker.isTupleType(type)) return problem;
  const tuple = (type as ts.TypeReference).target as ts.TupleType;
  if (tuple.elementFlags.length !== arity || tuple.elementFlags.some((f) => !(f & ts.ElementFlags.Required)))
    return problem;
  const elements = checker.getTypeArguments(type as ts.TypeReference).slice(0, arity);
  return elements.every((e) => checker.isTypeAssignableTo(e, checker.getNumberType())) ? undefined : problem;
}

/** `grad(f)` (or valueAndGrad, vjp) of the function `of` inside `fn` → its text, e.g. "grad(f)". */
function apiCallOf(checker: ts.TypeChecker, fn: ts.Node, of: ts.Declaration): string | undefined {
  let found: string | undefined;
  const visit = (n: ts.Node): void => {
    if (found) return;
    if (
      ts.isCallExpression(n) &&
      n.arguments.length &&
      API.some((api) => isRuntimeExport(checker, n.expression, api))
    ) {
      let symbol = checker.getSymbolAtLocation(skipParens(n.arguments[0]));
      if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
      if (symbol?.valueDeclaration === of) found = `${n.expression.getText()}(${n.arguments[0].getText()})`;
    }
    ts.forEachChild(n, visit);
  };
  visit(fn);
  return found;
}

/**
 * The name a derivative's module exports it under: `export function d` → "d",
 * `export { d as softplusD }` → "softplusD"; undefined when the module does not export it.
 */
function exportedName(checker: ts.TypeChecker, d: Declared): string | undefined {
  const module = checker.getSymbolAtLocation(d.file);
  const own = checker.getSymbolAtLocation(d.nameNode);
  if (!module || !own) return undefined;
  const names = checker
    .getExportsOfModule(module)
    .filter(
      (e) =>
        e === own ||
        (e.flags & ts.SymbolFlags.Alias && checker.getAliasedSymbol(e) === own) ||
        e.declarations?.includes(d.statement as ts.Declaration),
    )
    .map((e) => e.name);
  return names.includes(d.name) ? d.name : names[0];
}

/**
 * The user's derivative of the function `expr` names (`softplus` in `softplus(x)`), if one was
 * written; `{ refused }` when one was written that tsgrad cannot use.
 */
export function derivativeFor(
  checker: ts.TypeChecker,
  program: ts.Program,
  expr: ts.Expression,
): CustomDerivative | { refused: DerivativeProblem } | undefined {
  let symbol = checker.getSymbolAtLocation(skipParens(expr));
  if (!symbol) return undefined;
  if (symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
  const decl = symbol.valueDeclaration ?? symbol.declarations?.[0];
  if (!decl) return undefined;
  const all = customDerivatives(program);
  const refused = all.refused.get(decl);
  return refused ? { refused } : all.byTarget.get(decl);
}
