// Fuses matrix ops the way hand-written backprop does, by runtime/ops/fused.ts's table: a chain of
// ops whose intermediate values nothing else reads becomes one kernel, and a gradient buffer that
// one kernel fills and one kernel reads is never made. Runs on f_grad's and f_gradInto's final
// passes, before pool.ts lends them their matrices; the ops' rules still define every number.
//
//   const XW1 = matmul(X, W1);                 const hidden = affineReluInto(out, X, W1, b1);
//   const biased = addBias(XW1, b1);      →
//   const hidden = relu(biased);
//
//   const dhidden = zerosLike(hidden);
//   addMatmulNT(dhidden, dprod, W2);           addMatmulNTRelu(dbiased, dprod, W2, hidden);
//   ...                                   →
//   addReluGrad(dbiased, dhidden, hidden);
//
// A chain is fused only when each value inside it is read by the next op alone, and a buffer only
// when nothing between the two kernels writes what the first one reads: then the fused kernels
// compute the same numbers in the same order (fused.ts), and the generated code stays correct.

import { type BStmt, type Def, type Expr, type Stmt, forwardReads, isMatrixOp, refsOf } from "../ir/ir.js";
import { printExpr, sameExpr } from "../ir/print.js";
import { readsOf } from "./optimize.js";
import { type MatrixOpName, backwardFusions, forwardFusions, matrixRules } from "../../runtime/ops/index.js";
import type { MatrixRule } from "../../runtime/ops/rule.js";

/** A pattern as a tree: "relu(addBias(matmul(A, B), b))" → relu[addBias[matmul[A, B], b]]. */
type Pattern = { op: MatrixOpName; args: Pattern[] } | { name: string };

/** What pool.ts needs to lend a fused op its result: the shape of MatrixRule's into and size. */
export interface FusedRule {
  params: readonly string[];
  into: string;
  size: readonly string[];
  output: "matrix";
  /** The fused computation over the params: "max(0, A · B + b)". */
  math: string;
}

interface ForwardEntry extends FusedRule {
  pattern: Pattern;
}

interface Call {
  fn: string;
  args: string[];
}

interface BackwardEntry {
  first: Call;
  then: Call;
  into: Call;
  math: string;
}

const rules = matrixRules as Record<string, MatrixRule>;

// "f(a, g(b))" → f[a, g[b]]: the table's patterns, parsed and checked once, when this module loads.
function parsePattern(text: string): Pattern {
  let at = 0;
  const fail = (): never => {
    throw new Error(`fusion pattern "${text}": cannot read it at ${at}`);
  };
  const node = (): Pattern => {
    const name = /^\s*([A-Za-z_$][\w$]*)\s*/.exec(text.slice(at)) ?? fail();
    at += name[0].length;
    if (text[at] !== "(") return { name: name[1] };
    at++;
    const args: Pattern[] = [];
    while (text[at] !== ")") {
      args.push(node());
      if (text[at] === ",") at++;
      else if (text[at] !== ")") fail();
    }
    at++;
    while (text[at] === " ") at++;
    if (!Object.hasOwn(rules, name[1])) throw new Error(`fusion pattern "${text}": ${name[1]} is not a matrix op`);
    return { op: name[1] as MatrixOpName, args };
  };
  const tree = node();
  if (at !== text.length || !("op" in tree)) fail();
  return tree;
}

const leaves = (p: Pattern): string[] => ("name" in p ? [p.name] : p.args.flatMap(leaves));

function parseCall(text: string): Call {
  const match = /^([A-Za-z_$][\w$]*)\(([^()]*)\)$/.exec(text.trim());
  if (!match) throw new Error(`fusion kernel "${text}" is not a call on names`);
  return { fn: match[1], args: match[2].split(",").map((a) => a.trim()) };
}

const FORWARD: readonly ForwardEntry[] = forwardFusions.map((f) => {
  const pattern = parsePattern(f.pattern);
  return { pattern, params: leaves(pattern), into: f.into, size: f.size, output: "matrix" as const, math: f.math };
});

const BACKWARD: readonly BackwardEntry[] = backwardFusions.map((f) => {
  const entry = { first: parseCall(f.first), then: parseCall(f.then), into: parseCall(f.into), math: f.math };
  if (entry.first.args[0] !== "t" || !entry.then.args.includes("t") || entry.into.args.includes("t")) {
    throw new Error(
      `backward fusion "${f.into}": the first kernel must add into t, the second read it, the fused one not name it`,
    );
  }
  return entry;
});

/** The into and size of a fused op (`affineReluInto`), for pool.ts. */
export function fusedRule(op: string): FusedRule | undefined {
  return FORWARD.find((f) => f.into === op);
}

/** Fuses what the table allows; `runtime` gives a runtime export's local name. */
export function fuse(
  forward: readonly Stmt[],
  backward: readonly BStmt[],
  runtime: (name: string) => string,
): { forward: Stmt[]; backward: BStmt[] } {
  const fusedForward = fuseForward(forward, backward);
  return { forward: fusedForward.forward, backward: fuseBackward(renameLikes(backward, fusedForward.likes), runtime) };
}

// ---- forward --------------------------------------------------------------------------------

/**
 * Each chain the table matches, outermost op first (so the longest pattern wins), becomes one Def
 * at the outermost op's place. `likes`: a buffer sized like a value no longer computed is sized
 * like the chain's result instead (zerosLike(biased) → zerosLike(hidden): one shape).
 */
function fuseForward(
  forward: readonly Stmt[],
  backward: readonly BStmt[],
): { forward: Stmt[]; likes: Map<string, string> } {
  const defs = new Map<string, Def>();
  for (const s of forward) if (s.k === "def" && isMatrixOp(s.op) && !s.assign) defs.set(s.name, s);
  const readers = readCounts(forward);
  const backwardReads = readsOf(backward.filter((s) => s.k !== "alloc" && s.k !== "kernel"));
  backward.forEach((s) => s.k === "kernel" && s.args.forEach((a) => refsOf(a, backwardReads)));
  const shapes = new Map<string, string>();
  const shapeOf = (name: string): string =>
    shapes.get(name) ?? (shapes.set(name, shapeKey(name, defs, shapeOf)), shapes.get(name)!);

  const fusedAt = new Map<Def, Def>();
  const consumed = new Set<string>();
  const likes = new Map<string, string>();
  for (const root of [...defs.values()].reverse()) {
    if (consumed.has(root.name)) continue;
    for (const entry of FORWARD) {
      const inner: Def[] = [];
      const bound = new Map<string, Expr>();
      const free = (name: string) => readers.get(name) === 1 && !backwardReads.has(name) && !consumed.has(name);
      if (!match(root, entry.pattern, bound, inner, defs, free)) continue;
      const args = entry.params.map((p) => bound.get(p)!);
      if (args.some((a) => inner.some((d) => refsOf(a).has(d.name)))) continue;
      const shape = entry.size.map((s) => sizeEntry(s, entry.params, args, shapeOf)).join(" × ");
      // A buffer sized like a value inside the chain must be sizable from the chain's result.
      if (inner.some((d) => shapeOf(d.name) !== shape)) continue;
      inner.forEach((d) => (consumed.add(d.name), likes.set(d.name, root.name)));
      fusedAt.set(root, fusedDef(root, inner, entry, args));
      break;
    }
  }
  const out = forward
    .filter((s) => !(s.k === "def" && consumed.has(s.name)))
    .map((s) => (s.k === "def" && fusedAt.get(s)) || s);
  return { forward: out, likes };
}

/** Does `d` compute `p`, its inner values read by it alone (`free`)? Binds p's names to operands. */
function match(
  d: Def,
  p: Pattern,
  bound: Map<string, Expr>,
  inner: Def[],
  defs: ReadonlyMap<string, Def>,
  free: (name: string) => boolean,
): boolean {
  if (!("op" in p) || d.op?.kind !== "matrix" || d.op.op !== p.op || d.args.length !== p.args.length) return false;
  return p.args.every((q, i) => {
    const arg = d.args[i];
    if ("name" in q) {
      const known = bound.get(q.name);
      if (known) return sameExpr(known, arg);
      bound.set(q.name, arg);
      return true;
    }
    const next = arg.k === "ref" ? defs.get(arg.name) : undefined;
    if (!next || !free(next.name) || !match(next, q, bound, inner, defs, free)) return false;
    inner.push(next);
    return true;
  });
}

/** `hidden = affineReluInto(X, W1, b1)`, its comment saying which lines it computes. */
function fusedDef(root: Def, inner: readonly Def[], entry: ForwardEntry, args: Expr[]): Def {
  const steps = inner.map((d) => `${d.name} = ${printExpr(d.value)}`);
  const note = `fused: ${[...steps, `${root.name} = ${printExpr(root.value)}`].join(", ")}`;
  return {
    ...root,
    value: { k: "call", callee: entry.into, args },
    op: { kind: "fused", into: entry.into },
    args,
    note: root.note ? `${root.note}; ${note}` : note,
  };
}

/** A value's shape as text over the parameters': matmul(X, W1) → "X.rows × W1.cols". */
function shapeKey(name: string, defs: ReadonlyMap<string, Def>, shapeOf: (name: string) => string): string {
  const d = defs.get(name);
  const rule = d?.op?.kind === "matrix" ? matrixRules[d.op.op] : undefined;
  if (!d || !rule || rule.output !== "matrix") return `${name}.rows × ${name}.cols`;
  const size = rule.size ?? [`${rule.params[0]}.rows`, `${rule.params[0]}.cols`];
  return size.map((s) => sizeEntry(s, rule.params, d.args, shapeOf)).join(" × ");
}

/** One size entry ("A.rows") over the operands bound to the params: X's row count, as a shape key part. */
function sizeEntry(
  entry: string,
  params: readonly string[],
  args: readonly Expr[],
  shapeOf: (name: string) => string,
): string {
  const [param, prop] = entry.split(".");
  const arg = args[params.indexOf(param)];
  if (!prop || arg?.k !== "ref") return entry;
  return shapeOf(arg.name).split(" × ")[prop === "rows" ? 0 : 1];
}

/** How many forward statements read each name. */
function readCounts(forward: readonly Stmt[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of forward) for (const name of forwardReads([s])) counts.set(name, (counts.get(name) ?? 0) + 1);
  return counts;
}

function renameLikes(backward: readonly BStmt[], likes: ReadonlyMap<string, string>): BStmt[] {
  return backward.map((s) =>
    (s.k === "alloc" || s.k === "kernel") && likes.has(s.like) ? { ...s, like: likes.get(s.like)! } : s,
  );
}

// ---- backward -------------------------------------------------------------------------------

/**
 * `alloc t; first(t, ...); ...; then(dst, t, ...)` → `...; into(dst, ...)`, when t is a fresh
 * buffer no other statement mentions and nothing in between writes what `first` reads.
 */
function fuseBackward(backward: BStmt[], runtime: (name: string) => string): BStmt[] {
  let body = backward;
  for (const entry of BACKWARD) {
    for (let i = body.length - 1; i >= 0; i--) {
      const fused = fusePair(body, i, entry, runtime);
      if (fused) body = fused;
    }
  }
  return body;
}

function fusePair(
  body: BStmt[],
  at: number,
  entry: BackwardEntry,
  runtime: (name: string) => string,
): BStmt[] | undefined {
  const then = body[at];
  if (then.k !== "kernel" || then.fn !== entry.then.fn) return undefined;
  const t = then.args[entry.then.args.indexOf("t")];
  if (t?.k !== "ref") return undefined;
  const firstAt = body.findIndex((s) => s.k === "kernel" && s.adj === t.name);
  const allocAt = body.findIndex((s) => s.k === "alloc" && s.adj === t.name);
  const first = body[firstAt];
  const alloc = body[allocAt];
  if (first?.k !== "kernel" || first.fn !== entry.first.fn || alloc?.k !== "alloc" || alloc.same || alloc.from)
    return undefined;
  if (!(allocAt < firstAt && firstAt < at) || mentionCount(body, t.name) !== 3) return undefined;
  // What the first kernel reads must not change before the fused one runs in its place.
  const read = new Set(first.args.slice(1).flatMap((a) => [...refsOf(a)]));
  if (body.slice(firstAt + 1, at).some((s) => writesOf(s).some((w) => read.has(w)))) return undefined;
  // Nor may the fused kernel add into one of them (a buffer shared through `same` included).
  const buffers = sharedBuffers(body);
  if ([...read].some((r) => buffers(r) === buffers(then.adj))) return undefined;

  const names = new Map<string, Expr>();
  entry.first.args.forEach((a, i) => names.set(a, first.args[i]));
  entry.then.args.forEach((a, i) => names.set(a, then.args[i]));
  const args = entry.into.args.map((a) => names.get(a)!);
  const math = entry.math.replace(/[A-Za-z_]\w*/g, (w) => (names.has(w) ? printExpr(names.get(w)!) : w));
  const fused: BStmt = { ...then, callee: runtime(entry.into.fn), fn: entry.into.fn, args, math, identity: false };
  return body.flatMap((s, i) => (i === allocAt || i === firstAt ? [] : i === at ? [fused] : [s]));
}

/** Statements reading or writing `name`, anywhere in the backward pass. */
function mentionCount(body: readonly BStmt[], name: string): number {
  let n = 0;
  const visit = (list: readonly BStmt[]) =>
    list.forEach((s) => {
      if (s.k === "if") (visit(s.then), visit(s.else));
      else if (s.k === "loop") visit(s.body);
      if (readsOf([s]).has(name) || writesOf(s).includes(name)) n++;
    });
  visit(body);
  return n;
}

/** The adjoints and restored values a backward statement writes (inside branches and loops too). */
function writesOf(s: BStmt): string[] {
  switch (s.k) {
    case "acc":
    case "set":
    case "zero":
    case "kernel":
    case "alloc":
      return [s.adj];
    case "grads":
      return s.names;
    case "pop":
      return [s.name];
    case "if":
      return [...s.then, ...s.else].flatMap(writesOf);
    case "loop":
      return s.body.flatMap(writesOf);
    default:
      return [];
  }
}

/** The buffer a name's numbers live in: `const dprod = dscores` makes dprod's dscores's. */
function sharedBuffers(body: readonly BStmt[]): (name: string) => string {
  const same = new Map<string, string>();
  body.forEach((s) => s.k === "alloc" && s.same && same.set(s.adj, s.same));
  return (name) => {
    let at = name;
    while (same.has(at)) at = same.get(at)!;
    return at;
  };
}
