// Calls: a Math function with a rule → one operation; a matrix op, a function with a custom
// derivative or a differentiable function → one def, differentiated by the op's rule, the
// derivative or the callee's gradient; a call in this one's recursion → the callee's forward pass.
//
//   g(x), g in this one's recursion  →   const g_1_call = g_forward(x);  const g_1 = g_1_call.value;
//                                        (the backward pass hands g_1_call.cache to g_backward)
//   Math.max(...xs), xs.reduce(f, 0)  →   the loops they stand for (callbacks.ts)

import ts from "typescript";
import { matrixRules } from "../../../runtime/ops/index.js";
import { isPop, popFrom } from "./growing.js";
import { callsBack, localName, resolveFunction, type Differentiable, type FunctionNode } from "../annotations.js";
import { refuse } from "../../ir/language.js";
import { type Expr, type Pullback, isArrayKind, isDataKind, ref } from "../../ir/ir.js";
import {
  arrayCallback,
  arrayCreation,
  arraySearch,
  kindOf,
  localHelper,
  mathAlias,
  parameterType,
  skipWrappers,
  within,
} from "../../ir/syntax.js";
import { generatedNames } from "../../ir/naming.js";
import { constantSources, isScalarOp, piecewiseConstant, scalarRules } from "../../../runtime/rules/scalar.js";
import type { Stager, Want } from "./stager.js";
import { createArray, extremeLoop, inlined, inlinedCall, reduceLoop, searchLoop } from "./callbacks.js";
import { inlinedAtCall, inlinedHelperOf } from "../../ir/inlining.js";
import { opaque, ownCallee, value } from "./expressions.js";

export function call(st: Stager, e: ts.CallExpression, want?: Want, orElse?: ts.Expression): Expr {
  // const sqrt = Math.sqrt: sqrt(x) is Math.sqrt(x).
  const callee = mathAlias(e.expression, st.ctx.checker) ?? ownCallee(e.expression.getText(), st.ctx.self);
  const isMath = callee.startsWith("Math.");
  if (
    (callee === "Math.max" || callee === "Math.min" || callee === "Math.hypot") &&
    e.arguments.some(ts.isSpreadElement)
  )
    return extremeLoop(st, callee, e, want);
  if (arrayCallback(e)?.method === "reduce") return reduceLoop(st, e, want);
  // const v = out.pop()!: out's last element, out one shorter (growing.ts).
  if (isPop(st, e)) return popFrom(st, e, want);
  // xs.some(f), xs.indexOf(v): the search loop they stand for, data no gradient flows through.
  const search = arraySearch(e);
  if (search) return searchLoop(st, search, e, want, orElse);
  // toRad(x) of `const toRad = (d) => ...` (or `function toRad`) in this function: its body, inlined.
  const helper = ts.isIdentifier(e.expression) ? helperOf(st, e.expression) : undefined;
  if (helper) {
    const args = e.arguments.map((a) => value(st, a));
    return inlined(st, helper, args, want);
  }
  // const p = softmax(z), cross(n, a, b): a module helper returning or writing arrays, inlined.
  const inline =
    inlinedHelperOf(st.ctx.checker, e.expression, st.fn) ?? inlinedAtCall(st.ctx.checker, e, st.fn, st.inlinedSites);
  if (inline) return inlinedCall(st, inline, e, want);
  if (isMath && isScalarOp(callee)) {
    // Math.atan2(x) type-checks only with an error, but must not reach a rule without its b.
    const { grad } = scalarRules[callee];
    const arity = grad.kind === "partials" ? grad.partials.length : undefined;
    if (arity !== undefined && e.arguments.length !== arity)
      throw refuse("mathArity", e, { callee, want: arity, got: e.arguments.length });
    return st.operation(
      callee,
      e.arguments.map((a) => value(st, a)),
      e,
      want,
    );
  }
  if (piecewiseConstant.has(callee) || constantSources.has(callee)) return opaque(st, e, want);
  if (isMath) {
    throw refuse("mathWithoutRule", e.expression, { callee });
  }
  if (st.ctx.isStopGradient(e.expression)) {
    // stopGradient(v): the value of v, through which no gradient flows.
    if (e.arguments.length !== 1) throw refuse("stopGradientArity", e);
    const stopped = value(st, e.arguments[0]);
    const target = want ?? st.temp("stop", [stopped]);
    st.body.push({
      k: "def",
      name: target.name,
      value: stopped,
      op: null,
      args: [],
      assign: target.assign,
      source: e,
      note: target.note,
    });
    return ref(target.name);
  }
  const matrixOp = st.ctx.matrixOp(e.expression);
  if (matrixOp) {
    // hidden = relu(z): one operation, differentiated by the op's rule in runtime/ops.
    const args = e.arguments.map((a) => value(st, a));
    const result = st.emit(
      want ?? st.temp(matrixOp, args),
      { k: "call", callee, args },
      { kind: "matrix", op: matrixOp },
      args,
      e,
    );
    // (a matrix or a vector, typed: a branch may assign it to a join variable declared before)
    const type = st.matrixTypeOf(e, matrixRules[matrixOp].output);
    const def = st.body[st.body.length - 1];
    if (type && def.k === "def") {
      def.type = type;
      st.matrices.set(def.name, type);
    }
    return result;
  }
  const custom = st.ctx.derivativeOf(e);
  if (custom) {
    const args = e.arguments.map((a) => value(st, a));
    return st.emit(
      want ?? st.temp(e.expression.getText(), args),
      { k: "call", callee, args },
      { kind: "custom", derivative: custom },
      args,
      e,
    );
  }
  const target = resolveFunction(st.ctx.checker, e.expression);
  if (target === "unmarked" || target === undefined || st.ctx.isRefusedHelper(target)) return opaque(st, e, want, e);
  const arrays = e.arguments.map((_, i) => intoArray(st, target.fn, i));
  const args = e.arguments.map((a, i) =>
    intoData(st, target.fn, i, a) ? detached(st, a) : arrays[i] ? arrayArgument(st, target.fn, i, a) : value(st, a),
  );
  // if (c) s = mean(xs.slice(k)), k made in the branch: the part is as long as xs (declarePart).
  const part = args.findIndex((a, i) => arrays[i] && a.k === "ref" && st.partial.has(a.name));
  if (part >= 0) throw refuse("partArgument", e.arguments[part], { name: e.arguments[part].getText(), callee });
  const recursive = isRecursiveCall(e, target, st.fn, st.ctx.checker);
  if (recursive && arrays.some(Boolean)) {
    const i = arrays.indexOf(true);
    throw refuse("arrayArgumentRecursive", e.arguments[i], { name: e.arguments[i].getText(), callee });
  }
  if (recursive) return recursiveCall(st, callee, args, e, want ?? st.temp(localName(target), args));
  // mean(x): the backward pass calls mean's pullback, which adds into x's gradient array.
  const pullback = arrays.some(Boolean) ? pullbackOf(st, target, e, arrays) : undefined;
  // (passing arrays to another module's function names no g_grad: its pullback stands for it, and
  // g_grad is not imported)
  const gradient = pullback?.every
    ? { k: "global" as const, text: `${localName(target)}_grad` }
    : st.ctx.gradOf(target, e);
  return st.emit(
    want ?? st.temp(localName(target), args),
    { k: "call", callee, args },
    { kind: "call", gradient, ...(pullback ? { pullback } : {}) },
    args,
    e,
  );
}

/**
 * The pullback a call passing arrays calls: one of this module, asked of the file for the
 * arguments needing a gradient; or the one a callee of another module exports, for all of them:
 *   mean(x)           → mean_pullback (this module's)
 *   dot(xs, w)        → dot_pullback, imported from dot's module, `every` [0, 1]
 */
function pullbackOf(st: Stager, target: Differentiable, e: ts.CallExpression, arrays: boolean[]): Pullback {
  const arity = target.fn.parameters.length;
  if (target.fn.getSourceFile() === st.fn.getSourceFile()) return { arrays, arity, of: st.ctx.pullbackOf(target) };
  const imported = st.ctx.importedPullbackOf(target, e);
  if (!imported) {
    const i = arrays.indexOf(true);
    throw refuse("arrayArgumentUnnamed", e.arguments[i], {
      name: e.arguments[i].getText(),
      callee: e.expression.getText(),
    });
  }
  return { arrays, arity, of: () => imported.of, every: imported.every };
}

/** The local helper `id` names, declared in the function being staged. */
function helperOf(st: Stager, id: ts.Identifier) {
  const decl = st.ctx.checker.getSymbolAtLocation(id)?.valueDeclaration;
  return decl && within(decl, st.fn) ? localHelper(decl) : undefined;
}

/** Does argument i go into an array parameter of the callee (`mean(x)` for `mean(x: number[])`)? */
function intoArray(st: Stager, callee: FunctionNode, i: number): boolean {
  const p = callee.parameters[i];
  return p !== undefined && !p.dotDotDotToken && isArrayKind(kindOf(parameterType(p, st.ctx.checker), st.ctx.checker));
}

/**
 * An array given to an array parameter: by name, or made in place for the call (`mean(xs.slice(1))`,
 * made first as if named after the parameter: `const x = ...; mean(x)`).
 */
function arrayArgument(st: Stager, callee: FunctionNode, i: number, a: ts.Expression): Expr {
  const x = skipWrappers(a);
  const created = arrayCreation(x, st.ctx.checker);
  if (!created || created.growable) return value(st, a);
  const name = st.declare(st.ctx.namer.fresh(callee.parameters[i].name.getText()));
  createArray(st, name, created, x);
  return ref(name);
}

/**
 * Does argument `a` pass a number into a data parameter of the callee (`h(x, y)` for
 * `h(x: number, mode: Mode)`, a numeric enum): a value no gradient flows back through?
 */
function intoData(st: Stager, callee: FunctionNode, i: number, a: ts.Expression): boolean {
  const { checker } = st.ctx;
  const p = callee.parameters[i];
  if (!p || p.dotDotDotToken || !isDataKind(kindOf(parameterType(p, checker), checker))) return false;
  return kindOf(checker.getTypeAtLocation(a), checker) === "number";
}

/** The value of `a` as a constant of the backward pass (as `stopGradient(a)` is). */
function detached(st: Stager, a: ts.Expression): Expr {
  const staged = value(st, a);
  if (staged.k !== "ref") return staged;
  const target = st.temp("data", [staged]);
  st.body.push({ k: "def", name: target.name, value: staged, op: null, args: [], assign: false, source: a });
  return ref(target.name);
}

/**
 * A call of a function in this one's recursion cycle runs the callee's forward pass, whose
 * cache the backward pass hands to the callee's backward pass (see Op, kind "call", in ir.ts):
 *   powRec(x, diff)  →  const powRec_3_call = powRec_forward(x, diff);  const powRec_3 = powRec_3_call.value;
 */
function recursiveCall(st: Stager, callee: string, args: Expr[], source: ts.CallExpression, want: Want): Expr {
  const { forward, backward } = generatedNames(callee);
  const call = st.ctx.namer.fresh(`${want.name}_call`);
  st.body.push({
    k: "def",
    name: call,
    value: { k: "call", callee: forward, args },
    op: null,
    args: [],
    assign: false,
    source,
    type: { forward },
  });
  const value: Expr = { k: "field", object: call, key: "value" };
  st.body.push({
    k: "def",
    name: want.name,
    value,
    op: { kind: "call", gradient: { k: "global", text: backward }, recursive: { call, primal: callee } },
    args,
    assign: want.assign,
    source,
    note: want.note,
  });
  return ref(want.name);
}

/**
 * A call of a function in the caller's recursion cycle (see callsBack), by a name the generated
 * functions can put `_forward` after: `g(x)`, `Model.g(x)`.
 */
function isRecursiveCall(
  call: ts.CallExpression,
  target: Differentiable,
  caller: FunctionNode,
  checker: ts.TypeChecker,
): boolean {
  const named =
    ts.isIdentifier(call.expression) ||
    (ts.isPropertyAccessExpression(call.expression) && ts.isIdentifier(call.expression.expression));
  return named && target.place !== "member" && callsBack(checker, target.fn, caller);
}

/**
 * `g_grad` for each call `g(...)` of a differentiable function, and `g_forward`, `g_backward` for a
 * recursive one: names the generated functions call.
 */
export function calleeGradientNames(fn: FunctionNode, checker: ts.TypeChecker): Set<string> {
  const names = new Set<string>();
  const visit = (n: ts.Node): void => {
    if (ts.isCallExpression(n) && ts.isIdentifier(n.expression)) {
      const target = resolveFunction(checker, n.expression);
      if (target && target !== "unmarked") names.add(`${n.expression.text}_grad`);
      if (target && target !== "unmarked" && isRecursiveCall(n, target, fn, checker)) {
        const { forward, backward } = generatedNames(n.expression.text);
        names.add(forward).add(backward);
      }
    }
    ts.forEachChild(n, visit);
  };
  if (fn.body) visit(fn.body);
  return names;
}
