// Loops written as calls: `Math.max(...xs)`, `xs.reduce(f, init)` and `Math.max(...xs.map(f))`, each
// staged as the counting loop it stands for, with the callback's body inlined in the iteration
// (its parameters bound to the accumulator, the element and the index):
//
//   xs.reduce((acc, v) => acc + v * v, 0)   →   let acc = 0;
//                                                for (i from 0 to xs.length) { const v = xs[i]; const acc_1 = acc + v * v; acc = acc_1; }
//   Math.max(...xs.map((v) => v * v))       →   let max = -Infinity;
//                                                for (i ...) { const v = xs[i]; const prod = v * v; const max_1 = Math.max(max, prod); max = max_1; }

import ts from "typescript";
import { refuse } from "../../ir/language.js";
import { type Counter, type Expr, type Stmt, binary, isArrayKind, num, ref, scalarOp } from "../../ir/ir.js";
import {
  type ArrayCreation,
  type ArraySearch,
  type Callback,
  arrayCallback,
  arrayCreation,
  assignedIdentifier,
  containsChange,
  kindOf,
  recordKeys,
  skipWrappers,
  within,
} from "../../ir/syntax.js";
import { type InlinedHelper, inlinedRefusal } from "../../ir/inlining.js";
import { DiffError } from "../../ir/diagnostics.js";
import type { Stager, Want } from "./stager.js";
import { declareArray, declarePart } from "./rebinds.js";
import { createGrowable } from "./growing.js";
import { valueOf } from "./rules.js";
import { choice, condition, elementAt, isRowRead, value } from "./expressions.js";

/** The accumulator of a loop a call stands for: `let acc = init` before it, `acc = acc_1` at the end of each iteration. */
interface Accumulator {
  header: string;
  /** The iteration's new value, from the element (and the index) and the header. */
  next: (element: Expr, index: string, header: string) => Expr;
}

/**
 * Math.max(...xs), Math.max(...xs.map(f)), Math.min(...Array.from(xs, f)), Math.hypot(...xs) → the
 * loop they stand for, one two-operand call per element (max's gradient goes to the first element
 * that won; hypot's is 0 at the origin, as the rule of Math.hypot(a, b) says):
 *   let m = -Infinity; for (let i = 0; i < xs.length; i++) { const m_1 = Math.max(m, xs[i]); m = m_1; }
 */
export function extremeLoop(
  st: Stager,
  callee: "Math.max" | "Math.min" | "Math.hypot",
  e: ts.CallExpression,
  want?: Want,
): Expr {
  const [spread] = e.arguments;
  const inner = e.arguments.length === 1 && ts.isSpreadElement(spread) ? skipWrappers(spread.expression) : undefined;
  const elements = inner && elementsOf(st, inner, e);
  if (!elements) throw refuse("spreadArgument", e);
  // A local array's element is read into a value of its own first (`const scores_i = scores[i]`):
  // what it held then, which a later write may change.
  const local = !elements.mapped && st.localArrays.has(elements.array);
  const read = (element: Expr, index: string): Expr =>
    local
      ? st.emit(
          { name: st.ctx.namer.fresh(`${elements.array}_${index}`), assign: false },
          element,
          scalarOp("copy"),
          [element],
          e,
        )
      : elements.element(element, index);
  const start = num(callee === "Math.max" ? -Infinity : callee === "Math.min" ? Infinity : 0);
  const header = st.ctx.namer.fresh(callee.slice("Math.".length));
  const next = (element: Expr, index: string, current: string): Expr => {
    const name = st.ctx.namer.version(current);
    const operands = [ref(current), read(element, index)];
    return st.emit({ name, assign: false }, valueOf(callee, operands), scalarOp(callee), operands, e);
  };
  countingLoop(st, elements.array, 0, { header, next }, start, e, elements.index);
  return want ? st.emit(want, ref(header), scalarOp("copy"), [ref(header)], e) : ref(header);
}

/**
 * xs.reduce((acc, v, i) => ..., init) → `let acc = init` and the loop over xs whose iteration is
 * the callback's body; with no `init`, acc starts as xs[0] and the loop at 1 (an empty xs throws,
 * as reduce does). Over xs.map(f), one loop: f's value is the element.
 */
export function reduceLoop(st: Stager, e: ts.CallExpression, want?: Want): Expr {
  const { array: source, callback, init } = arrayCallback(e)!;
  const elements = elementsOf(st, source, e);
  // xs.map(f).reduce(g, (a = 2)): JavaScript runs every f before the initial value; one loop cannot.
  if (elements.mapped && init && containsChange(init))
    throw refuse("callbackForm", init, { what: "has an initial value that changes a variable, after a map" });
  const start = init ? value(st, init) : elements.element(firstElement(st, elements.array, e), "0");
  const [accumulator] = callback.parameters;
  const header = st.declare(accumulator ? (accumulator.name as ts.Identifier).text : "acc");
  const next = (element: Expr, index: string, current: string) =>
    inlined(st, callback, [ref(current), elements.element(element, index), ref(index)]);
  const index = callback.parameters[2] ?? elements.index;
  countingLoop(st, elements.array, init ? 0 : 1, { header, next }, start, e, index);
  return want ? st.emit(want, ref(header), scalarOp("copy"), [ref(header)], e) : ref(header);
}

/**
 * xs.some(f), xs.every(f), xs.findIndex(f), xs.indexOf(v), xs.includes(v) → the loop over every
 * element they stand for, its result data no gradient flows through. The callback has no effects
 * (the fence allows none), so testing the elements past the first hit changes nothing but time:
 *   let some = false; for (let i = 0; i < xs.length; i++) { const v = xs[i]; const t = v <= 0; some = some || t; }
 *   let index = -1; ... index = index === -1 && t ? i : index;     (findLastIndex: index = t ? i : index)
 * xs.find(f), xs.findLast(f) → that index, then the element there (foundAt).
 */
export function searchLoop(
  st: Stager,
  search: ArraySearch,
  e: ts.CallExpression,
  want?: Want,
  orElse?: ts.Expression,
): Expr {
  const { method, callback } = search;
  const elements = elementsOf(st, search.array, e);
  const sought = search.sought && value(st, search.sought);
  const found = method === "find" || method === "findLast";
  const last = method === "findLast" || method === "findLastIndex";
  const indexed = found || last || method === "findIndex" || method === "indexOf";
  const header = st.ctx.namer.fresh(indexed ? "index" : method === "includes" ? "found" : method);
  const start: Expr = indexed ? num(-1) : { k: "global", text: String(method === "every") };
  const type = indexed ? undefined : "boolean";
  st.body.push({
    k: "def",
    name: header,
    value: start,
    op: null,
    args: [],
    assign: false,
    mutable: true,
    source: e,
    type,
  });
  arrayLoop(
    st,
    elements.array,
    0,
    callback?.parameters[1] ?? elements.index,
    [header],
    e,
    (i) => {
      const element = elements.element({ k: "elem", array: elements.array, index: ref(i) }, i);
      const hit = callback
        ? inlined(st, callback, [element, ref(i)])
        : ({ k: "binary", op: "===", left: element, right: sought! } as Expr);
      const current = ref(header);
      const first: Expr = { k: "binary", op: "===", left: current, right: num(-1) };
      const next: Expr =
        method === "every"
          ? { k: "binary", op: "&&", left: current, right: hit }
          : indexed
            ? {
                k: "cond",
                test: last ? hit : { k: "binary", op: "&&", left: first, right: hit },
                then: ref(i),
                else: current,
              }
            : { k: "binary", op: "||", left: current, right: hit };
      st.body.push({
        k: "def",
        name: header,
        value: next,
        op: null,
        args: [],
        assign: true,
        overwrite: true,
        source: e,
        type,
      });
    },
    type ? [header] : undefined,
  );
  if (found) return foundAt(st, elements.array, header, e, want, orElse);
  return want ? st.emit(want, ref(header), null, [], e) : ref(header);
}

/**
 * The element xs.find(f) gives, at the index its loop found: xs[index], whose gradient goes to that
 * element alone. None found (index -1), `orElse` of `xs.find(f) ?? orElse`; alone, the read of
 * xs[-1], undefined as find's, with no gradient:
 *   let found: number; if (index === -1) { found = orElse; } else { found = xs[index]; }
 */
function foundAt(
  st: Stager,
  array: string,
  index: string,
  e: ts.Expression,
  want?: Want,
  orElse?: ts.Expression,
): Expr {
  const element: Expr = { k: "elem", array, index: ref(index) };
  const none: Expr = { k: "binary", op: "===", left: ref(index), right: num(-1) };
  const note = "undefined: no element passed";
  const undefinedHere = (w: Want) =>
    void st.body.push({ k: "def", name: w.name, value: element, op: null, args: [], assign: true, source: e, note });
  const target = want ?? { name: st.ctx.namer.fresh(`${array}_found`), assign: false };
  return choice(
    st,
    none,
    orElse ? (w) => void value(st, orElse, w) : undefinedHere,
    (w) => void st.emit(w, element, scalarOp("copy"), [element], e),
    e,
    target,
  );
}

/**
 * What a loop written as a call goes over: an array by name, each element as read, or xs.map(f)
 * (Array.from(xs, f)), each element f's value for xs[i]; maps of maps compose.
 */
interface Elements {
  array: string;
  element: (read: Expr, index: string) => Expr;
  mapped: boolean;
  /** The innermost callback's index parameter, to name the loop's counter after. */
  index?: ts.ParameterDeclaration;
}

function elementsOf(st: Stager, e: ts.Expression, source: ts.Node): Elements {
  const x = skipWrappers(e);
  const mapped = ts.isCallExpression(x) ? arrayCallback(x) : undefined;
  if (mapped?.method === "map") {
    const inner = elementsOf(st, mapped.array, source);
    return {
      array: inner.array,
      element: (read, index) =>
        inlined(st, mapped.callback, [inner.element(read, index), index === "0" ? num(0) : ref(index)]),
      mapped: true,
      index: mapped.callback.parameters[1] ?? inner.index,
    };
  }
  const array = value(st, x);
  if (array.k !== "ref") throw refuse("callbackForm", source, { what: "goes over an array tsgrad cannot name" });
  return { array: array.name, element: (read) => read, mapped: false };
}

/** `if (xs.length === 0) throw new TypeError(...)` then xs[0]: reduce with no initial value. */
function firstElement(st: Stager, array: string, e: ts.CallExpression): Expr {
  const test: Expr = { k: "binary", op: "===", left: st.lengthOf(array), right: num(0) };
  const thrown = ts.factory.createNewExpression(ts.factory.createIdentifier("TypeError"), undefined, [
    ts.factory.createStringLiteral("Reduce of empty array with no initial value"),
  ]);
  st.body.push({
    k: "if",
    test,
    then: [{ k: "throw", expression: thrown, names: new Map(), source: e }],
    else: [],
    source: e,
  });
  return { k: "elem", array, index: num(0) };
}

/**
 * The counting loop over `array` from `from`, carrying the accumulator's header: its body binds
 * nothing itself; `next` stages the iteration from the element read and the counter, named after
 * the callback's index parameter where it has one.
 */
function countingLoop(
  st: Stager,
  array: string,
  from: number,
  acc: Accumulator,
  start: Expr,
  source: ts.Node,
  index?: ts.ParameterDeclaration,
): void {
  st.body.push({
    k: "def",
    name: acc.header,
    value: start,
    op: scalarOp("copy"),
    args: [start],
    assign: false,
    mutable: true,
    source,
  });
  arrayLoop(st, array, from, index, [acc.header], source, (i) => {
    const element: Expr = { k: "elem", array, index: ref(i) };
    const next = acc.next(element, i, acc.header);
    // (acc, v) => acc: the iteration leaves the accumulator as it is.
    if (next.k === "ref" && next.name === acc.header) return;
    st.body.push({
      k: "def",
      name: acc.header,
      value: next,
      op: scalarOp("copy"),
      args: [next],
      assign: true,
      overwrite: true,
      source,
    });
  });
}

/**
 * Array.from({ length: n }, (_, i) => ...) → the loop filling the array it made, h[i] = the
 * callback's value at i (the element it is given is `undefined`, as in JavaScript).
 */
export function fillLoop(st: Stager, array: string, callback: Callback, source: ts.Node): void {
  arrayLoop(st, array, 0, callback.parameters[1], [], source, (i) => {
    const element = inlined(st, callback, [{ k: "global", text: "undefined" }, ref(i)]);
    st.body.push({ k: "store", array, index: ref(i), value: element, add: false, source });
  });
}

/**
 * const x = x0.slice() → the array of x0's length and the loop copying it, `x[i] = x0_i`;
 * const m = p.map((v, i) => ...) → the loop storing the callback's value for each element.
 */
function copyLoop(st: Stager, name: string, created: ArrayCreation, source: ts.Node, init: ts.Expression): void {
  const from = value(st, created.source!);
  if (from.k !== "ref")
    throw refuse("callbackForm", created.source!, { what: "goes over an array tsgrad cannot name" });
  if (created.filter) return filterLoops(st, name, from.name, created.filter, source, init);
  if (created.part) return partLoop(st, name, from.name, created, source, init);
  copyElements(st, name, from.name, created.kind, st.lengthOf(from.name), source, init, created.fill);
}

/** `name`, a new array of `length`, element i `from[i]` (or a map's `fill(from[i], i)`), by a loop. */
function copyElements(
  st: Stager,
  name: string,
  from: string,
  kind: "Float64Array" | "number[]",
  length: Expr,
  source: ts.Node,
  init: ts.Node,
  fill?: ArrayCreation["fill"],
): void {
  declareArray(st, { k: "array", name, kind, length, source });
  arrayLoop(st, name, 0, fill?.parameters[1], [], init, (i) => {
    const element = fill
      ? inlined(st, fill, [{ k: "elem", array: from, index: ref(i) }, ref(i)])
      : elementOf(st, from, i, source);
    st.body.push({ k: "store", array: name, index: ref(i), value: element, add: false, source });
  });
}

/**
 * tmpA, a module scratch array the function writes (ir/tables.ts scratchArrays) → its local copy,
 * made at the start, which the function then writes and reads in its place:
 *   const tmpA_1 = new Float64Array(tmpA.length);  for (...) { const tmpA_i = tmpA[i]; tmpA_1[i] = tmpA_i; }
 * The module array is only read, once: its contents then are constants, as the plain function
 * sees them; the gradient never writes it.
 */
export function scratchCopy(st: Stager, symbol: ts.Symbol, kind: "Float64Array" | "number[]"): void {
  const module = symbol.name;
  st.declared.add(module);
  st.ctx.namer.claim(module);
  const name = st.declare(st.ctx.namer.fresh(module));
  const source = symbol.valueDeclaration!;
  st.localArrays.add(name);
  copyElements(st, name, module, kind, { k: "length", array: module }, source, source);
  st.env.set(symbol, name);
}

/** `const a_i = a[i]` (or a[at]): the element a copy reads, under a name of its own. */
function elementOf(st: Stager, array: string, i: string, source: ts.Node, at: Expr = ref(i)): Expr {
  const read: Expr = { k: "elem", array, index: at };
  return st.emit({ name: st.ctx.namer.fresh(`${array}_${i}`), assign: false }, read, scalarOp("copy"), [read], source);
}

/**
 * const t = xs.slice(a, b), xs.subarray(a, b) → its bounds as slice counts them, the array of the
 * part's length and the loop copying the part, whose backward line adds dt[i] into dxs[t_start + i]:
 *   const t_start = Math.min(1, xs.length);  const t = ...(xs.length - t_start);      (xs.slice(1))
 *   for (let i = 0; i < t.length; i++) { const xs_i = xs[t_start + i]; t[i] = xs_i; }
 * Made in a loop with bounds known only there, t is made before it as long as xs (declarePart).
 */
function partLoop(
  st: Stager,
  name: string,
  from: string,
  created: ArrayCreation,
  source: ts.Node,
  init: ts.Expression,
) {
  const { start, end } = created.part!;
  const length = st.lengthOf(from);
  const lo = start ? bound(st, `${name}_start`, start, length, false, source) : num(0);
  const hi = end ? bound(st, `${name}_end`, end, length, true, source) : length;
  // Without an end the part is never longer than xs: lo is at most xs.length.
  const size = !end ? (isZero(lo) ? length : binary("-", length, lo)) : call("Math.max", binary("-", hi, lo), num(0));
  // A part of a part made in the loop: as long as that one was made (its own length, fixed before the loop).
  const whole: Expr = st.partial.has(from) || !st.growable.has(from) ? { k: "length", array: from } : length;
  declarePart(st, { k: "array", name, kind: created.kind, length: size, source }, whole);
  arrayLoop(st, name, 0, undefined, [], init, (i) => {
    const element = elementOf(st, from, i, source, isZero(lo) ? ref(i) : binary("+", lo, ref(i)));
    st.body.push({ k: "store", array: name, index: ref(i), value: element, add: false, source });
  });
}

const isZero = (e: Expr) => e.k === "num" && e.value === 0;
const call = (callee: string, ...args: Expr[]): Expr => ({ k: "call", callee, args });

/**
 * A bound of slice, as JavaScript counts it, in a const of its own (data: no gradient flows
 * through an index). Written k, from the end when negative, clamped to [0, n], n the array's length:
 *   1 → Math.min(1, n);  -2 → Math.max(n - 2, 0);  i of a counting loop → i < 0 ? Math.max(n + i, 0) : Math.min(i, n)
 */
function bound(st: Stager, hint: string, e: ts.Expression, n: Expr, isEnd: boolean, source: ts.Node): Expr {
  const written = condition(st, e);
  // -2: the number, not an operation on 2.
  const k = written.k === "unary" && written.op === "-" && written.arg.k === "num" ? num(-written.arg.value) : written;
  const named = (value: Expr, suffix = ""): Expr => {
    const name = st.ctx.namer.fresh(`${hint}${suffix}`);
    st.body.push({ k: "def", name, value, op: null, args: [], assign: false, source });
    return ref(name);
  };
  if (k.k === "num" && Number.isInteger(k.value)) {
    if (k.value === 0 && !isEnd) return num(0);
    return named(k.value >= 0 ? call("Math.min", k, n) : call("Math.max", binary("-", n, num(-k.value)), num(0)));
  }
  const at = relative(st, e, k, n, isEnd, (v) => named(v, "_at"));
  const fromEnd = call("Math.max", binary("+", n, at), num(0));
  return named({ k: "cond", test: binary("<", at, num(0)), then: fromEnd, else: call("Math.min", at, n) });
}

/**
 * A bound as the integer slice counts from: k itself where it is whole; else truncated, NaN
 * counting as 0 (`const t_start_at = Math.trunc(a) || 0`); `undefined` (of `end?: number`) is n
 * for an end, 0 for a start.
 */
function relative(st: Stager, e: ts.Expression, k: Expr, n: Expr, isEnd: boolean, named: (v: Expr) => Expr): Expr {
  const optional = mayBeUndefined(st, e);
  if (!optional && isWhole(st, k)) return k.k === "ref" || k.k === "length" ? k : named(k);
  const truncated = binary("||", call("Math.trunc", k), num(0));
  if (!optional) return named(truncated);
  const missing = binary("===", k, { k: "global", text: "undefined" });
  return named({ k: "cond", test: missing, then: isEnd ? n : num(0), else: truncated });
}

/** An integer by construction, never NaN: an integer literal, a length, a loop's counter, sums and products of them. */
function isWhole(st: Stager, e: Expr): boolean {
  if (e.k === "num") return Number.isInteger(e.value);
  if (e.k === "length") return true;
  if (e.k === "ref") return st.counters.has(e.name);
  if (e.k === "unary") return e.op === "-" && isWhole(st, e.arg);
  return e.k === "binary" && ["+", "-", "*"].includes(e.op) && isWhole(st, e.left) && isWhole(st, e.right);
}

/** Can `e` be `undefined` (an optional parameter's `end?: number`)? */
function mayBeUndefined(st: Stager, e: ts.Expression): boolean {
  const t = st.ctx.checker.getTypeAtLocation(e);
  return (t.isUnion() ? t.types : [t]).some((p) => (p.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)) !== 0);
}

/**
 * const c = a.concat(b), [...a, ...b] → the array of a.length + b.length and a loop copying each
 * array after the one before: `c[i] = a_i`, then `c[a.length + i_2] = b_i_2`.
 */
function joinLoops(
  st: Stager,
  name: string,
  joined: readonly ts.Expression[],
  source: ts.Node,
  init: ts.Expression,
): void {
  const froms = joined.map((x) => {
    const from = value(st, x);
    if (from.k !== "ref") throw refuse("callbackForm", x, { what: "goes over an array tsgrad cannot name" });
    return from.name;
  });
  const lengths = froms.map((a) => st.lengthOf(a));
  const total = lengths.reduce((sum, l) => binary("+", sum, l));
  declareArray(st, { k: "array", name, kind: "number[]", length: total, source });
  froms.forEach((from, k) => {
    const offset = lengths.slice(0, k).reduce<Expr | undefined>((sum, l) => (sum ? binary("+", sum, l) : l), undefined);
    arrayLoop(st, from, 0, undefined, [], init, (i) => {
      const element = elementOf(st, from, i, source);
      const index = offset ? binary("+", offset, ref(i)) : ref(i);
      st.body.push({ k: "store", array: name, index, value: element, add: false, source });
    });
  });
}

/**
 * The loop over xs of xs.forEach(callback): the callback's parameters bound to the element and
 * the counter, then `iteration` stages the body; `headers` are the loop's carried variables.
 */
export function eachElement(
  st: Stager,
  source: ts.Expression,
  callback: Callback,
  e: ts.Node,
  headers: string[],
  booleans: string[],
  iteration: () => void,
): void {
  const elements = elementsOf(st, source, e);
  const index = callback.parameters[1] ?? elements.index;
  arrayLoop(
    st,
    elements.array,
    0,
    index,
    headers,
    e,
    (i) => {
      const element = elements.element({ k: "elem", array: elements.array, index: ref(i) }, i);
      bindParameters(st, callback, [element, ref(i)]);
      iteration();
    },
    booleans.length ? booleans : undefined,
  );
}

/** h.fill(v), new Array(n).fill(v): v computed once, then the loop storing it in every element. */
export function fillWith(st: Stager, array: string, v: Expr, source: ts.Node): void {
  arrayLoop(st, array, 0, undefined, [], source, (i) =>
    st.body.push({ k: "store", array, index: ref(i), value: v, add: false, source }),
  );
}

/**
 * const kept = xs.filter((v, i) => ...) → two loops over xs: the first counts the elements the
 * callback keeps (the array's length), the second stores them in order. The callback has no
 * effects (the fence allows none), so running it twice changes nothing but time; which elements
 * are kept is data, no gradient:
 *   let count = 0; for (...) { const v = xs[i]; const keep = ...; count = keep ? count + 1 : count; }
 *   const kept = ...(count); let at = 0; for (...) { ...; if (keep) kept[at] = xs_i; at = keep ? at + 1 : at; }
 */
function filterLoops(
  st: Stager,
  name: string,
  array: string,
  callback: Callback,
  source: ts.Node,
  init: ts.Expression,
): void {
  const counted = (header: string, iteration: (i: string, keep: Expr) => void) => {
    st.body.push({ k: "def", name: header, value: num(0), op: null, args: [], assign: false, mutable: true, source });
    arrayLoop(st, array, 0, callback.parameters[1], [header], init, (i) => {
      const read: Expr = { k: "elem", array, index: ref(i) };
      const keep = inlined(st, callback, [read, ref(i)]);
      iteration(i, keep);
      const next: Expr = { k: "cond", test: keep, then: binary("+", ref(header), num(1)), else: ref(header) };
      st.body.push({ k: "def", name: header, value: next, op: null, args: [], assign: true, overwrite: true, source });
    });
  };
  const count = st.ctx.namer.fresh("count");
  counted(count, () => {});
  declareArray(st, { k: "array", name, kind: "number[]", length: ref(count), source });
  const at = st.ctx.namer.fresh("at");
  counted(at, (i, keep) => {
    const element = elementOf(st, array, i, source);
    const store: Stmt = { k: "store", array: name, index: ref(at), value: element, add: false, source };
    st.body.push({ k: "if", test: keep, then: [store], else: [], source });
  });
}

/**
 * `for (let i = from; i < array.length; i++)` carrying `carried`, its counter named after the
 * callback's index parameter where it has one, its body staged by `iteration(i)`.
 */
function arrayLoop(
  st: Stager,
  array: string,
  from: number,
  index: ts.ParameterDeclaration | undefined,
  carried: string[],
  source: ts.Node,
  iteration: (i: string) => void,
  booleans?: string[],
): void {
  const i = st.declare(index ? (index.name as ts.Identifier).text : st.ctx.namer.fresh("i"));
  const counter: Counter = { name: i, from: num(from), to: st.lengthOf(array), op: "<", step: 1 };
  const test: Expr = { k: "global", text: "true" };
  const body = inIteration(st, i, test, () => iteration(i));
  st.body.push({ k: "loop", kind: "while", counter, test, body, carried, source, ...(booleans ? { booleans } : {}) });
}

/** Stages `build` as the body of a loop with counter `i`: the stager's loop state around it. */
function inIteration(st: Stager, i: string, test: Expr, build: () => void): Stmt[] {
  const saved = st.body;
  st.outer.push(saved);
  st.body = [];
  st.loopDepth++;
  st.pendingTests.push(test);
  st.counters.add(i);
  const before = new Map(st.env);
  build();
  const body = st.body;
  st.env = before;
  st.pendingTests.pop();
  st.loopDepth--;
  st.body = saved;
  st.outer.pop();
  return body;
}

/**
 * The callback's body, inlined: each parameter bound to its argument (the element read into a
 * name of the parameter's: `const v = xs[i]`), a block's statements staged, its final `return`
 * the value (the fence allows no other return).
 */
export function inlined(st: Stager, callback: Callback, args: readonly Expr[], want?: Want): Expr {
  const last = inlinedStatements(st, callback, args);
  return last ? value(st, last, want) : { k: "global", text: "undefined" };
}

/** Binds the parameters and stages the statements of an inlined body → the expression it returns. */
function inlinedStatements(st: Stager, callback: Callback, args: readonly Expr[]): ts.Expression | undefined {
  bindParameters(st, callback, args);
  if (!ts.isBlock(callback.body!)) return callback.body as ts.Expression;
  const statements = callback.body.statements;
  const last = statements[statements.length - 1];
  const returns = last !== undefined && ts.isReturnStatement(last);
  st.list(returns ? statements.slice(0, -1) : statements);
  return returns ? last.expression : undefined;
}

/** Does fn's body assign the variable `symbol` (`a = a * 3`, `a++`)? */
function assigns(fn: Callback, symbol: ts.Symbol, checker: ts.TypeChecker): boolean {
  const visit = (n: ts.Node): boolean => {
    const target = assignedIdentifier(n);
    if (target && checker.getSymbolAtLocation(target) === symbol) return true;
    return ts.forEachChild(n, visit) === true;
  };
  return fn.body !== undefined && visit(fn.body);
}

/**
 * After an inlined body: its parameters and locals leave the environment, so that a branch or a
 * loop around the call does not join them as if they were the function's variables (a second
 * call in a branch binds the parameters again, to other arrays).
 */
function forgetLocals(st: Stager, callback: Callback): void {
  for (const symbol of [...st.env.keys()]) {
    const decl = symbol.valueDeclaration;
    if (decl && decl !== callback && within(decl, callback)) st.env.delete(symbol);
  }
}

/** Each parameter of an inlined function bound to its argument: a name, a record, or `const v = xs[i]`. */
function bindParameters(st: Stager, callback: Callback, args: readonly Expr[]): void {
  const { checker } = st.ctx;
  callback.parameters.forEach((p, k) => {
    const id = p.name as ts.Identifier;
    const arg = args[k];
    // A parameter the body assigns (`a = a * 3`) is a variable of its own, not the caller's.
    if (arg.k === "ref" && !assigns(callback, st.symbol(id), checker)) return void st.env.set(st.symbol(id), arg.name);
    // dot(W[j], x) inlined: a reads the row W[j] (inlinedArguments).
    if (arg.k === "elem" && !arg.key && !arg.inner && isArrayKind(kindOf(checker.getTypeAtLocation(p), checker)))
      return void st.rows.set(st.symbol(id), arg);
    // (s, p) => s + p.x over records: p.x reads pts[i].x.
    if (arg.k === "elem" && !arg.key && !arg.inner && recordKeys(checker.getTypeAtLocation(p), checker))
      return void st.records.set(st.symbol(id), { array: arg.array, index: arg.index });
    const name = st.declare(id.text);
    st.body.push({ k: "def", name, value: arg, op: scalarOp("copy"), args: [arg], assign: false, source: p });
    st.env.set(st.symbol(id), name);
  });
}

/**
 * softmax(z), cross(n, a, b): a module helper's body inlined here (ir/inlining.ts), its array
 * parameters naming the caller's arrays, so its writes are the caller's stores. An array result
 * is the array it returns (a name, not a copy); a number is staged into `want`.
 */
export function inlinedCall(st: Stager, helper: InlinedHelper, e: ts.CallExpression, want?: Want): Expr {
  return atCall(st, helper, e, () => {
    const last = inlinedStatements(st, helper.fn, inlinedArguments(st, helper, e));
    const result: Expr = !last
      ? { k: "global", text: "undefined" }
      : helper.result === "array"
        ? ref(arrayValue(st, last, helper.name))
        : value(st, last, want);
    forgetLocals(st, helper.fn);
    return result;
  });
}

/** Stages an inlined helper's body; what it refuses there is said at the call (ir/inlining.ts). */
function atCall<T>(st: Stager, helper: InlinedHelper, call: ts.CallExpression, stage: () => T): T {
  st.inlinedSites.push(call);
  try {
    return stage();
  } catch (error) {
    throw error instanceof DiffError ? inlinedRefusal(call, helper, error) : error;
  } finally {
    st.inlinedSites.pop();
  }
}

/** The values given to an inlined helper's parameters: an array by the name of the caller's array. */
function inlinedArguments(st: Stager, helper: InlinedHelper, e: ts.CallExpression): Expr[] {
  const { checker } = st.ctx;
  return e.arguments.map((a, i) => {
    const p = helper.fn.parameters[i];
    const type = checker.getTypeAtLocation(p);
    const hint = p.name.getText();
    const record = recordKeys(type, checker) && elementArgument(st, a, hint, "records");
    if (record) return record;
    if (!isArrayKind(kindOf(type, checker))) return value(st, a);
    return elementArgument(st, a, hint, "rows") ?? ref(arrayValue(st, a, hint));
  });
}

/**
 * A row of a number[][] given for an array parameter (`dot(W[j], x)`, `rnnCell(..., x, h)` with x
 * a row), or a record of an array of records for a record parameter (`bodyDistance(bodies[i], b)`):
 * `W[j]` with its index as it is at the call; the parameter then reads `W[j][i]` (or `bodies[i].x`).
 */
function elementArgument(st: Stager, e: ts.Expression, hint: string, kind: "rows" | "records"): Expr | undefined {
  const x = skipWrappers(e);
  if (!ts.isIdentifier(x)) return isRowRead(st, x, kind) ? elementAt(st, { text: hint }, x) : undefined;
  const symbol = st.symbol(x);
  if (kind === "rows") return st.rows.get(symbol);
  const array = st.recordVars.get(symbol); // let b = pts[k]: the record at b's index now
  if (array) return { k: "elem", array, index: st.current(x) };
  const record = st.records.get(symbol);
  return record && { k: "elem", array: record.array, index: record.index };
}

/**
 * The array an inlined helper is given or returns, by name: a parameter's or a local's,
 * `new Float64Array(3)` or `[x, y]` created here (named after the parameter), or the array
 * another inlined helper returns.
 */
function arrayValue(st: Stager, e: ts.Expression, hint: string): string {
  const x = skipWrappers(e);
  const created = arrayCreation(x, st.ctx.checker);
  if (created) {
    const name = st.declare(st.ctx.namer.fresh(hint));
    createArray(st, name, created, x);
    return name;
  }
  return (value(st, x) as { name: string }).name;
}

/** const h = new Float64Array(n), [a, b], Array.from({ length: n }, f): the local array `name`, filled. */
export function createArray(st: Stager, name: string, created: ArrayCreation, init: ts.Expression): void {
  st.localArrays.add(name);
  const source = ts.isVariableDeclaration(init.parent) ? init.parent : init;
  if (created.growable) return createGrowable(st, name, source);
  if (created.joined) return joinLoops(st, name, created.joined, source, init);
  if (created.source) return copyLoop(st, name, created, source, init);
  const length = condition(st, created.length!);
  const { hoisted } = declareArray(st, { k: "array", name, kind: created.kind, length, source });
  // const v = [a, b]: each element written in order, v[0] = a, v[1] = b.
  if (created.fill) fillLoop(st, name, created.fill, init);
  if (created.value) fillWith(st, name, value(st, created.value), init);
  // Made again in each iteration: the array made before the loop gets its zeros again.
  else if (hoisted && !created.fill && !created.elements) fillWith(st, name, num(0), init);
  created.elements?.forEach((x, i) =>
    st.body.push({ k: "store", array: name, index: num(i), value: value(st, x), add: false, source: x }),
  );
}

/** const { mean, sd } = stats(xs): the values of the fields of the object literal the helper returns. */
export function inlinedFields(st: Stager, helper: InlinedHelper, e: ts.CallExpression): Map<string, Expr> {
  return atCall(st, helper, e, () => {
    const returned = inlinedStatements(st, helper.fn, inlinedArguments(st, helper, e))!;
    const fields = new Map<string, Expr>();
    for (const p of (skipWrappers(returned) as ts.ObjectLiteralExpression).properties) {
      // { mean }: the local `mean` (its own symbol, not the property's).
      const local = ts.isShorthandPropertyAssignment(p) && st.ctx.checker.getShorthandAssignmentValueSymbol(p);
      const name = local && st.env.get(local);
      if (local && name === undefined) throw refuse("readBeforeAssigned", p, { name: p.name.getText() });
      fields.set(p.name!.getText(), name ? ref(name) : value(st, (p as ts.PropertyAssignment).initializer));
    }
    forgetLocals(st, helper.fn);
    return fields;
  });
}
