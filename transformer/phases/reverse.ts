// Builds the backward pass: the staged statements in exact reverse order, each active operation
// turned into one line per active operand, `d<operand> += <local gradient> * d<output>`, by rule
// lookup (runtime/rules/scalar.ts). No op-specific math lives here.
//   f = num * invden      →  // f = num * invden
//                            dnum += invden * df;   dinvden += num * df;
// Branches replay the forward decision (the same test over the same immutable values). Whether a
// line declares (`let dv = ...`) or accumulates (`dv += ...`) is decided later, in optimize.ts.

import type { Activity } from "./activity.js";
import {
  type ArrayDecl,
  type BStmt,
  type Def,
  type Expr,
  type Loop,
  type Op,
  type Pullback,
  type Rebind,
  type Stmt,
  type StagedFunction,
  type Store,
  binary,
  forEachArray,
  forEachDef,
  instantiate,
  isMatrixType,
  num,
  operandName,
  ref,
  refsOf,
} from "../ir/ir.js";
import type { Namer } from "../ir/naming.js";
import { coversOnce, fixedValues } from "../ir/extent.js";
import { sameExpr } from "../ir/print.js";
import { type ScalarOp, scalarRules } from "../../runtime/rules/scalar.js";
import { template } from "../../runtime/rules/template.js";
import { matrixRules } from "../../runtime/ops/index.js";
import type { MatrixRule } from "../../runtime/ops/rule.js";

export interface Reversed {
  backward: BStmt[];
  /** Every adjoint name the backward pass uses. */
  adjoints: ReadonlySet<string>;
  /** The adjoint name of each parameter, in order. */
  paramAdjoints: string[];
}

/**
 * `seed` is the gradient on the result: the literal 1 for grad (folded away: `let dnum = invden`),
 * the parameter `df` for a backward pass called with the output's gradient; for a function
 * returning an object, one per field's value (`loss` → ref(dloss), `h` → ref(dh)).
 */
export function reverse(
  fn: StagedFunction,
  activity: Activity,
  namer: Namer,
  seed: Expr | ReadonlyMap<string, Expr>,
  runtime: (exported: string) => string = (n) => n,
): Reversed {
  const r = new Reverser(
    fn,
    activity,
    namer,
    seed instanceof Map ? seed : new Map([[fn.result, seed as Expr]]),
    runtime,
  );
  // A local array's gradient: one number per element, zero before the backward pass starts; a
  // returned array's starts as a copy of the output's (the backward pass writes it).
  const arrays: BStmt[] = [];
  forEachArray(fn.body, (a) => {
    if (!activity.active.has(a.name)) return;
    const seed = fn.resultKind ? r.seeds.get(a.name) : undefined;
    const from = seed?.k === "ref" ? { from: seed.name } : {};
    arrays.push({ k: "alloc", adj: r.adjointOf(a.name), like: a.name, vector: true, zeros: "", ...from });
  });
  const backward = [...arrays, ...block(r, fn.body)];
  const paramAdjoints = fn.params.map((p) => r.adjointOf(p));
  return { backward, paramAdjoints, adjoints: new Set(r.adjoints.values()) };
}

/** What reversing one function shares: its names' adjoints, what is active, the loops around. */
class Reverser {
  readonly adjoints = new Map<string, string>();
  /** The loops around the statement being reversed, outermost first (for inRange). */
  readonly loops: Loop[] = [];
  readonly localArrays = new Map<string, ArrayDecl>();
  /** The names that hold one value for the whole function, and the constants' values (for inRange). */
  readonly fixed: ReturnType<typeof fixedValues>;

  constructor(
    readonly fn: StagedFunction,
    readonly activity: Activity,
    readonly namer: Namer,
    readonly seeds: ReadonlyMap<string, Expr>,
    readonly runtime: (exported: string) => string,
  ) {
    forEachArray(fn.body, (a) => this.localArrays.set(a.name, a));
    this.fixed = fixedValues(fn.body);
  }

  adjointOf(primal: string): string {
    let name = this.adjoints.get(primal);
    if (!name) this.adjoints.set(primal, (name = this.namer.adjoint(primal)));
    return name;
  }

  active(e: Expr): boolean {
    return this.activity.active.has(operandName(e)!);
  }

  /** `dx += value`, or for an element of an array parameter `da[i] += value`. */
  addTo(operand: Expr, value: Expr): BStmt {
    const index =
      operand.k === "elem"
        ? {
            index: operand.index,
            ...(operand.inner ? { inner: operand.inner } : {}),
            ...(operand.key ? { key: operand.key } : {}),
          }
        : {};
    return { k: "acc", adj: this.adjointOf(operandName(operand)!), value, ...index };
  }

  gradientOf(d: Def): Expr {
    return this.seeds.get(d.name) ?? ref(this.adjointOf(d.name));
  }
}

/** A statement list, last statement first: each active operation's lines, branches and loops as they are. */
function block(r: Reverser, body: readonly Stmt[]): BStmt[] {
  const out: BStmt[] = [];
  const active = (e: Expr) => r.active(e);
  for (let i = body.length - 1; i >= 0; i--) {
    const s = body[i];
    if (s.k === "if") {
      out.push({ k: "if", test: s.test, then: block(r, s.then), else: block(r, s.else) });
    } else if (s.k === "loop") {
      r.loops.push(s);
      out.push({ k: "loop", loop: s, body: block(r, s.body), locals: localAdjoints(r, s) });
      r.loops.pop();
    } else if (s.k === "store" && r.activity.active.has(s.array)) {
      out.push(...store(r, s));
    } else if (s.k === "rebind") {
      out.push(unbind(r, s));
    } else if (s.k === "def" && s.op !== null && r.activity.active.has(s.name) && s.args.some(active)) {
      out.push({ k: "comment", def: s }, ...operation(r, s, s.op, r.gradientOf(s)));
    }
    // x = x_1 at the end of an iteration: what x held before is another value, with its own gradient.
    if (s.k === "def" && s.overwrite && r.activity.active.has(s.name)) {
      if (!s.args.some(active)) out.push({ k: "comment", def: s });
      // h = h_1 of a matrix: dh restarts for h as this iteration found it, a new buffer after dh_1
      // took the old one (matrixCopyGradient); a parameter's gradient in its own buffer.
      const vector = isMatrixType(s.type) && s.type.vector === true;
      const whole = !isMatrixType(s.type)
        ? undefined
        : handsOn(r, s)
          ? { like: s.name, vector, zeros: vector ? "" : r.runtime("zerosLike") }
          : { like: s.name, vector, fill: vector ? ("self" as const) : ("data" as const) };
      out.push({ k: "set", adj: r.adjointOf(s.name), value: num(0), ...(whole ? { whole } : {}) });
    }
  }
  return out;
}

/**
 * h[j] = v  →  dv += dh[j]; dh[j] = 0   (the element's old value is gone: its gradient restarts)
 * h[j] += v →  dv += dh[j]
 * A write the code does not prove inside the array reads `dh[j] ?? 0`: a Float64Array drops a
 * write out of range, which so changes nothing, and the element's gradient there is undefined.
 */
function store(r: Reverser, st: Store): BStmt[] {
  const dh = r.adjointOf(st.array);
  const read: Expr = { k: "elem", array: dh, index: st.index };
  const element = inRange(r, st) ? read : binary("??", read, num(0));
  const lines: BStmt[] = r.active(st.value) ? [r.addTo(st.value, element)] : [];
  if (!st.add) lines.push({ k: "set", adj: dh, index: st.index, value: num(0) });
  const text = `${st.array}[${printName(st.index)}] ${st.add ? "+=" : "="} ${printName(st.value)}`;
  return lines.length ? [{ k: "note", text }, ...lines] : [];
}

/**
 * [u, next] = [next, u] → [next, u] = [u, next] and [dnext, du] = [du, dnext]: the arrays go back
 * to the names they had before, and their gradients with them (the inverse permutation).
 */
function unbind(r: Reverser, s: Rebind): BStmt {
  const active = s.names.some((n) => r.activity.active.has(n));
  const adjoints = active
    ? { names: s.from.map((n) => r.adjointOf(n)), from: s.names.map((n) => r.adjointOf(n)) }
    : undefined;
  return { k: "rebind", names: [...s.from], from: [...s.names], ...(adjoints ? { adjoints } : {}) };
}

/** The adjoints of values a loop body defines (inner loops' too): fresh in each backward iteration. */
function localAdjoints(r: Reverser, loop: Loop): Set<string> {
  const names = new Set<string>();
  const visit = (body: readonly Stmt[]) =>
    body.forEach((s) => {
      if (s.k === "def" && !s.overwrite && r.activity.active.has(s.name)) names.add(r.adjointOf(s.name));
      else if (s.k === "if") {
        visit(s.then);
        visit(s.else);
      } else if (s.k === "loop") visit(s.body);
    });
  visit(loop.body);
  return names;
}

function operation(r: Reverser, d: Def, op: Op, g: Expr): BStmt[] {
  switch (op.kind) {
    case "call":
      return callGradients(r, d, op, g);
    case "custom":
      return vjpGradients(r, d, op.derivative, [...d.args, ref(d.name), g]);
    case "matrix":
      return matrixGradients(r, d, g, matrixRules[op.op]);
    case "fused":
      throw new Error(`fused op ${op.into} before the backward pass`);
    case "scalar":
      return isMatrixType(d.type) ? matrixCopyGradient(r, d, g) : scalarGradients(r, d, op.rule, g);
  }
}

/**
 * h = h_1 ending an iteration, h a matrix the loop carries and h_1 made in its body: the backward
 * iteration hands dh's buffer to dh_1 and gives dh a new one. (A parameter's gradient is returned,
 * and gradInto refills it: it keeps its buffer, added into dX_1 and zeroed.)
 */
function handsOn(r: Reverser, d: Def): boolean {
  const from = operandName(d.args[0]);
  const loop = r.loops[r.loops.length - 1];
  let made = false;
  if (loop && from !== undefined) forEachDef(loop.body, (t) => (made ||= t.name === from && !t.overwrite));
  return d.overwrite === true && !r.fn.params.includes(d.name) && made;
}

/**
 * h_1 = h of a matrix (a branch's side of a join) → addTo(dh, dh_1): the output's gradient added
 * whole, so an adjoint made for it here shares dh_1's buffer (optimize.ts), as addBias's does.
 */
function matrixCopyGradient(r: Reverser, d: Def, g: Expr): BStmt[] {
  const [arg] = d.args;
  if (!r.active(arg)) return [];
  const like = operandName(arg)!;
  const adj = r.adjointOf(like);
  const vector = isMatrixType(d.type) && d.type.vector === true;
  const zeros = vector ? "" : r.runtime("zerosLike");
  // h = h_1 ending an iteration: dh_1 takes dh's buffer, and dh starts again in a new one.
  if (handsOn(r, d)) return [{ k: "alloc", adj, like, vector, zeros, same: r.adjointOf(d.name), moved: true }];
  // (a parameter's gradient restarts in place right after, so dX_1 must not share its buffer)
  const identity = !d.overwrite;
  return [
    {
      k: "kernel",
      adj,
      callee: r.runtime("addTo"),
      fn: "addTo",
      args: [ref(adj), g],
      math: `${adj} += ${printName(g)}`,
      like,
      vector,
      zeros,
      identity,
    },
  ];
}

/** By the op's rule (runtime/rules/scalar.ts): `d<operand> += <local gradient> * g` per active operand. */
function scalarGradients(r: Reverser, d: Def, op: ScalarOp, g: Expr): BStmt[] {
  const { grad } = scalarRules[op];
  if (grad.kind === "route") return [routeTo(r, d, 0, g)];
  return d.args.flatMap((arg, i): BStmt[] => {
    if (!r.active(arg)) return [];
    const local = localGradient(grad.kind === "variadic" ? grad.partial : grad.partials[i], d, arg);
    return [r.addTo(arg, binary("*", local, g))];
  });
}

/** max/min: `if (m === a) da += dm; else if (m === b) db += dm; ...` — the first operand that won. */
function routeTo(r: Reverser, d: Def, i: number, g: Expr): BStmt {
  const arg = d.args[i];
  const take: BStmt[] = r.active(arg) ? [r.addTo(arg, g)] : [];
  if (i === d.args.length - 1) return { k: "if", test: { k: "global", text: "true" }, then: take, else: [] };
  return { k: "if", test: binary("===", ref(d.name), arg), then: take, else: [routeTo(r, d, i + 1, g)] };
}

/**
 * u = g(a, b) → const [du_da, du_db] = g_grad(a, b); da += du_da * du; db += du_db * du.
 * A recursive call runs g's backward pass on the cache of its forward pass, which scales by du
 * itself: const u_grads = g_backward(u_call.cache, du); da += u_grads[0]; db += u_grads[1].
 */
function callGradients(r: Reverser, d: Def, op: Extract<Op, { kind: "call" }>, g: Expr): BStmt[] {
  if (op.recursive) {
    const cache: Expr = { k: "field", object: op.recursive.call, key: "cache" };
    return vjpGradients(r, d, op.gradient, [cache, g], r.namer.fresh(`${d.name}_grads`));
  }
  if (op.pullback) return pullbackGradients(r, d, op.pullback, g);
  const names = d.args.map((arg) => (r.active(arg) ? r.namer.fresh(`d${d.name}_d${operandName(arg)}`) : ""));
  const lines: BStmt[] = [{ k: "grads", names, callee: op.gradient, args: d.args }];
  d.args.forEach((arg, i) => {
    if (r.active(arg)) lines.push(r.addTo(arg, binary("*", ref(names[i]), g)));
  });
  return lines;
}

/**
 * m = dot(a, w), a an array → unboxed[0] = dm; dot_pullback_a_w(a, w, da); const dm_dw = unboxed[1];
 * dw += dm_dw: the pullback for the operands that need a gradient adds into their arrays'
 * gradients and hands back their numbers', already scaled by dm (the seed, the last of `args`).
 * An imported one (Pullback's `every`) takes all of them: m = dot(xs, w), xs data →
 * dot_pullback(xs, w, discarded(xs.length)), its buffer for xs one nobody reads.
 */
function pullbackGradients(r: Reverser, d: Def, pullback: Pullback, g: Expr): BStmt[] {
  const active = (i: number) => i < d.args.length && r.active(d.args[i]);
  const needed = d.args.flatMap((_, i) => (active(i) ? [i] : []));
  // An imported pullback takes every parameter's gradient: the others' go to no name, or a sink.
  const wrt = pullback.every ?? needed;
  const numbers = wrt.filter((i) => !pullback.arrays[i]);
  const names = numbers.map((i) => (active(i) ? r.namer.fresh(`d${d.name}_d${operandName(d.args[i])}`) : ""));
  const arrays = wrt.filter((i) => pullback.arrays[i]);
  const buffers = arrays.map((i) => (active(i) ? r.adjointOf(operandName(d.args[i])!) : ""));
  const sinks = buffers.some((b) => !b)
    ? { discard: r.runtime("discarded"), of: arrays.map((i, j) => (buffers[j] ? undefined : i)) }
    : undefined;
  // logSumExp(A[i]) of a number[][] A: its row of dA, dA[i].
  const rows = arrays.map((i) => (d.args[i].k === "elem" ? (d.args[i] as { index: Expr }).index : undefined));
  const omitted = Array.from({ length: pullback.arity - d.args.length }, (): Expr => ({
    k: "global",
    text: "undefined",
  }));
  const call: BStmt = {
    k: "grads",
    names,
    callee: pullback.of(wrt),
    args: [...d.args, ...omitted, g],
    buffers,
    unboxed: r.runtime("unboxed"),
    ...(rows.some(Boolean) ? { rows } : {}),
    ...(sinks ? { sinks } : {}),
  };
  return [call, ...numbers.flatMap((i, j) => (names[j] ? [r.addTo(d.args[i], ref(names[j]))] : []))];
}

/**
 * A call returning the operands' gradients already scaled by the output's: `callee(...args)`;
 * `tuple`, see BStmt grads. With the user's derivative (op custom):
 *   u = f(a, b) → const [da_u, db_u] = fDerivative(a, b, u, du); da += da_u; ...
 */
function vjpGradients(r: Reverser, d: Def, callee: Expr, args: Expr[], tuple?: string): BStmt[] {
  const names = d.args.map((arg) => (r.active(arg) ? r.namer.fresh(`d${operandName(arg)}_${d.name}`) : ""));
  const lines: BStmt[] = [{ k: "grads", names, callee, args, ...(tuple ? { tuple } : {}) }];
  d.args.forEach((arg, i) => {
    if (r.active(arg)) lines.push(r.addTo(arg, ref(names[i])));
  });
  return lines;
}

/**
 * scores = matmul(hidden, W2) → addMatmulNT(dhidden, dscores, W2); addMatmulTN(dW2, hidden, dscores)
 * by the op's rule (runtime/ops): its template names become the operands, y, dy and their adjoints.
 */
function matrixGradients(r: Reverser, d: Def, g: Expr, rule: MatrixRule): BStmt[] {
  return d.args.flatMap((arg, i): BStmt[] => {
    const grad = rule.grads[i];
    if (!grad || !r.active(arg)) return [];
    const names = new Map<string, Expr>([
      ["y", ref(d.name)],
      ["dy", g],
    ]);
    rule.params.forEach((p, j) => names.set(p, d.args[j]));
    const adj = r.adjointOf(operandName(arg)!);
    names.set(`d${rule.params[i]}`, ref(adj));
    const args = grad.args.map((a) => names.get(a)!);
    const math = grad.math.replace(/[A-Za-z_]\w*/g, (w) => (names.has(w) ? printName(names.get(w)!) : w));
    if (grad.kind === "contribution")
      return [{ k: "acc", adj, value: { k: "call", callee: r.runtime(grad.call), args } }];
    const vector = rule.kinds[i] === "vector";
    // addTo(dA, dy): the operand's gradient is the output's, unchanged (addBias, add).
    const identity = grad.call === "addTo" && grad.args.length === 2 && grad.args[1] === "dy";
    const zeros = vector ? "" : r.runtime("zerosLike");
    const like = operandName(arg)!;
    return [
      { k: "kernel", adj, callee: r.runtime(grad.call), fn: grad.call, args, math, like, vector, zeros, identity },
    ];
  });
}

/** A rule's local gradient with the operation's names put in: "-a / (b * b)" for invden = 1 / den → -1 / (den * den). */
function localGradient(text: string, d: Def, operand: Expr): Expr {
  const [a, b] = d.args;
  const names = new Map<string, Expr>([
    ["x", operand],
    ["y", ref(d.name)],
  ]);
  if (a) names.set("a", a);
  if (b) names.set("b", b);
  return instantiate(template(text), names);
}

/**
 * Is the store's index inside its array whenever it runs: a constant below a constant length, a
 * counter from 0 up to below the array's length, or what ir/extent.ts proves of the one or two
 * loops around it (`hidden[i * h + j]` of an array of n * h).
 *   h = new Float64Array(n); for (let j = 0; j < n; j++) h[j] = ...   → yes
 */
function inRange(r: Reverser, st: Store): boolean {
  const { loops } = r;
  const decl = r.localArrays.get(st.array);
  if (!decl) return false;
  if (decl.growable) return true; // out.push(v): at the length so far, inside the array from then on
  const { index } = st;
  if (index.k === "num")
    return (
      decl.length.k === "num" && Number.isInteger(index.value) && index.value >= 0 && index.value < decl.length.value
    );
  const { fixed, constants } = r.fixed;
  // h[j] in any loop inside `for (let j = from; j < N; j++)`, from a whole number >= 0, N h's length.
  const counter = index.k === "ref" ? loops.find((l) => l.counter?.name === index.name)?.counter : undefined;
  if (counter && counter.op === "<" && counter.step === 1 && counter.from.k === "num") {
    const from = counter.from.value;
    const to = counter.to;
    const own = to.k === "length" && to.array === st.array && !to.prop && !to.at; // h.length itself
    const length = own || (sameExpr(to, decl.length) && [...refsOf(to)].every(fixed));
    if (Number.isInteger(from) && from >= 0 && length) return true;
  }
  return [1, 2].some((n) => loops.length >= n && coversOnce(st, decl, loops.slice(-n), fixed, constants));
}

/** A short text for a comment: a ref's name, a number's digits, `a[i]`, `i + 1`. */
function printName(e: Expr): string {
  if (e.k === "ref") return e.name;
  if (e.k === "num") return String(e.value);
  if (e.k === "global") return e.text;
  if (e.k === "elem")
    return `${e.array}[${printName(e.index)}]${e.inner ? `[${printName(e.inner)}]` : ""}${e.key ? `.${e.key}` : ""}`;
  if (e.k === "binary") return `${printName(e.left)} ${e.op} ${printName(e.right)}`;
  return "...";
}
