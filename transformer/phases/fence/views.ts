// Parts of arrays: xs.slice(start, end) and xs.subarray(start, end), their bounds any numbers (data,
// no gradient). A subarray is a view sharing xs's elements, which the stager reads as the copy it
// equals (stage/callbacks.ts partLoop); that holds while nothing tells the two apart: no write
// through the view, none into xs after it is made, and the view stays in the function.
//
//   const v = xs.subarray(1, 3); v[0] = 2;          →   viewAliased, at `xs.subarray(1, 3)` (`v[0] = 2` writes through it)
//   const v = h.subarray(1); h[1] = 2;               →   viewAliased (`h` is written after the view is made)
//   const v = x.subarray(1); return v;               →   viewAliased (`return v;` uses it other than by reading it)
//   const v = x.subarray(1, 3); sumsq(v) + v[0]      →   accepted

import ts from "typescript";
import { type Part, isChange, localHelper, skipWrappers } from "../../ir/syntax.js";
import { changedAfter, inlinedHelperOf, writtenParameters } from "../../ir/inlining.js";
import { refuse } from "../../ir/language.js";
import type { Fencer } from "./fencer.js";
import { isLocal, isParameter } from "./names.js";

/** The bounds of xs.slice(a, b) or xs.subarray(a, b), as expressions; a view, only read. */
export function part(st: Fencer, init: ts.Expression, p: Part, source: ts.Expression): void {
  if (p.start) st.expression(p.start);
  if (p.end) st.expression(p.end);
  if (!p.view || !ts.isCallExpression(init)) return;
  const why = sourceWritten(st, init, source) ?? viewWritten(st, init);
  if (why) st.fail(refuse("viewAliased", init, { view: init.getText(), array: source.getText(), why }));
}

/** `xs` of xs.subarray(a, b), a local array, written after the view is made or in a loop around it. */
function sourceWritten(st: Fencer, view: ts.CallExpression, source: ts.Expression): string | undefined {
  const array = skipWrappers(source);
  if (!ts.isIdentifier(array) || isParameter(st, array) || !isLocal(st, array)) return undefined;
  const changed = changedAfter(st.fn, view, array, st.checker);
  return changed ? `\`${array.text}\` is written after the view is made, or in a loop around it` : undefined;
}

/**
 * Why a view could be written or leave the function, if it can: given to a call, the callee must
 * not write it; held by a `const`, each use must only read it (viewUse); held anyhow else, it could.
 */
function viewWritten(st: Fencer, view: ts.CallExpression): string | undefined {
  const at = outermost(view);
  const holder = at.parent;
  if (ts.isCallExpression(holder) && holder.arguments.includes(at)) return writerOf(st, holder, at);
  const constant = ts.isVariableDeclaration(holder) && ts.getCombinedNodeFlags(holder) & ts.NodeFlags.Const;
  if (!constant || !ts.isIdentifier(holder.name)) return "it is kept other than in a `const`";
  const name = holder.name;
  const symbol = st.checker.getSymbolAtLocation(name);
  let scope: ts.Node = holder;
  while (!ts.isFunctionLike(scope) && !ts.isSourceFile(scope)) scope = scope.parent;
  let why: string | undefined;
  const visit = (n: ts.Node): void => {
    if (why) return;
    if (ts.isIdentifier(n) && n !== name && st.checker.getSymbolAtLocation(n) === symbol) why = viewUse(st, n);
    ts.forEachChild(n, visit);
  };
  visit(scope);
  return why;
}

/** The properties and methods of an array that only read it. */
const READING = new Set([
  "length",
  "reduce",
  "map",
  "forEach",
  "filter",
  "some",
  "every",
  "find",
  "findLast",
  "findIndex",
  "findLastIndex",
  "indexOf",
  "includes",
  "slice",
  "subarray",
  "concat",
  "entries",
]);

/**
 * One use of a view held by a `const`: undefined where it only reads it (`v[i]`, `v.length`,
 * `v.reduce(f, 0)`, `[...v]`, `for (const x of v)`, `new Float64Array(v)`, an argument of a helper
 * that does not write it), else why it may write it or take it out of the function.
 */
function viewUse(st: Fencer, id: ts.Identifier): string | undefined {
  const at = outermost(id);
  const p = at.parent;
  if (ts.isElementAccessExpression(p) && p.expression === at) {
    const element = outermost(p);
    const change = element.parent;
    const written = isChange(change) && (ts.isBinaryExpression(change) ? change.left : change.operand) === element;
    return written ? `\`${change.getText()}\` writes through it` : undefined;
  }
  if (ts.isPropertyAccessExpression(p) && p.expression === at)
    return READING.has(p.name.text) ? undefined : `\`${p.getText()}\` may write it`;
  if (ts.isSpreadElement(p) || ts.isNewExpression(p) || (ts.isForOfStatement(p) && p.expression === at))
    return undefined;
  if (ts.isCallExpression(p) && p.arguments.includes(at)) return writerOf(st, p, at);
  return `\`${p.getText()}\` uses it other than by reading it`;
}

/** A helper tsgrad inlines (of the module, or declared in the function) that writes the parameter `arg` is given to. */
function writerOf(st: Fencer, call: ts.CallExpression, arg: ts.Expression): string | undefined {
  const i = call.arguments.indexOf(arg);
  const decl = st.checker.getSymbolAtLocation(call.expression)?.valueDeclaration;
  const fn = inlinedHelperOf(st.checker, call.expression, st.fn)?.fn ?? (decl && localHelper(decl));
  const param = fn && writtenParameters(fn).has(i) ? fn.parameters[i] : undefined;
  return param && `\`${call.expression.getText()}\` writes its parameter \`${param.name.getText()}\``;
}

/** `e` with the parentheses, casts and `!` around it. */
function outermost(e: ts.Expression): ts.Expression {
  let at = e;
  while (ts.isParenthesizedExpression(at.parent) || ts.isAsExpression(at.parent) || ts.isNonNullExpression(at.parent))
    at = at.parent;
  return at;
}
