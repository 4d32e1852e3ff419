// Cleans the reversed function so it reads like hand-written backprop and does no wasted work:
//   simplify      1 * g → g, 2 * a ** (2 - 1) → 2 * a, 0 * g → (dropped), !(a === b) → a !== b
//   declare       the first top-level `dv += e` becomes `let dv = e`; a branch that accumulates
//                 into a new adjoint gets `let dv = 0` before it
//   prune         forward values the backward pass (or the result, for vjp) never reads are not
//                 computed; empty branches disappear

import { type BStmt, type Expr, type Stmt, num, refsOf, substitute } from "./ir.js";

// ---- expressions ----------------------------------------------------------------------------

const isNum = (e: Expr, v?: number): e is { k: "num"; value: number } => e.k === "num" && (v === undefined || e.value === v);
const TRUE: Expr = { k: "global", text: "true" };
const FALSE: Expr = { k: "global", text: "false" };
const boolOf = (e: Expr): boolean | undefined => (e.k === "global" && (e.text === "true" || e.text === "false") ? e.text === "true" : undefined);

/** Bottom-up algebraic clean-up. Only literal zeros are folded, so NaN/Infinity operands are kept honest. */
export function simplify(e: Expr): Expr {
  switch (e.k) {
    case "unary": {
      const arg = simplify(e.arg);
      if (e.op === "-" && isNum(arg)) return num(-arg.value);
      if (e.op === "-" && arg.k === "unary" && arg.op === "-") return arg.arg;
      if (e.op === "!" && boolOf(arg) !== undefined) return boolOf(arg) ? FALSE : TRUE;
      if (e.op === "!" && arg.k === "binary" && NEGATED[arg.op]) return { ...arg, op: NEGATED[arg.op] };
      return { ...e, arg };
    }
    case "binary":
      return simplifyBinary(e.op, simplify(e.left), simplify(e.right));
    case "call":
      return { ...e, args: e.args.map(simplify) };
    case "cond": {
      const test = simplify(e.test);
      const known = boolOf(test);
      if (known !== undefined) return simplify(known ? e.then : e.else);
      return { ...e, test, then: simplify(e.then), else: simplify(e.else) };
    }
    default:
      return e;
  }
}

function simplifyBinary(op: string, l: Expr, r: Expr): Expr {
  if (isNum(l) && isNum(r) && FOLD[op]) {
    const v = FOLD[op](l.value, r.value);
    return typeof v === "boolean" ? (v ? TRUE : FALSE) : num(v);
  }
  switch (op) {
    case "*":
      if (isNum(l, 0) || isNum(r, 0)) return num(0);
      if (isNum(l, 1)) return r;
      if (isNum(r, 1)) return l;
      if (isNum(l, -1)) return simplify({ k: "unary", op: "-", arg: r });
      if (isNum(r, -1)) return simplify({ k: "unary", op: "-", arg: l });
      break;
    case "/":
      if (isNum(r, 1)) return l;
      if (isNum(l, 0)) return num(0);
      break;
    case "+":
      if (isNum(l, 0)) return r;
      if (isNum(r, 0)) return l;
      break;
    case "-":
      if (isNum(r, 0)) return l;
      if (isNum(l, 0)) return simplify({ k: "unary", op: "-", arg: r });
      break;
    case "**":
      if (isNum(r, 1)) return l;
      if (isNum(r, 0)) return num(1);
      break;
  }
  return { k: "binary", op, left: l, right: r };
}

const FOLD: Record<string, (a: number, b: number) => number | boolean> = {
  "+": (a, b) => a + b,
  "-": (a, b) => a - b,
  "*": (a, b) => a * b,
  "**": (a, b) => a ** b,
  "===": (a, b) => a === b,
  "!==": (a, b) => a !== b,
  "<": (a, b) => a < b,
  ">": (a, b) => a > b,
  "<=": (a, b) => a <= b,
  ">=": (a, b) => a >= b,
};

const NEGATED: Record<string, string> = { "===": "!==", "!==": "===", "==": "!=", "!=": "==" };

// ---- backward pass --------------------------------------------------------------------------

/**
 * Simplifies, drops zero and empty work, then decides declarations. `outputs` (the parameters'
 * adjoints) are read after the backward pass, so they are never declared inside a branch.
 */
export function finishBackward(body: readonly BStmt[], outputs: readonly string[], adjoints: ReadonlySet<string>): BStmt[] {
  const cleaned = withoutDeadAdjoints(clean(body), adjoints);
  const total = mentions(cleaned);
  for (const o of outputs) total.set(o, (total.get(o) ?? 0) + 1);
  return declare(cleaned, new Set(), total);
}

/**
 * An adjoint whose every write simplified away (`dv += 0 * g`) is a known zero: its reads become 0,
 * which may drop more writes, until nothing changes. `const [du_da] = g_grad(a)` goes with its reads.
 */
function withoutDeadAdjoints(body: BStmt[], adjoints: ReadonlySet<string>): BStmt[] {
  for (;;) {
    const written = new Set(accumulated(body));
    const dead = new Map([...adjoints].filter((a) => !written.has(a)).map((a): [string, Expr] => [a, num(0)]));
    const read = readsOf(body);
    if (![...dead.keys()].some((a) => read.has(a))) return dropUnusedGrads(body, read);
    body = clean(zeroReads(body, dead));
  }
}

function zeroReads(body: readonly BStmt[], dead: ReadonlyMap<string, Expr>): BStmt[] {
  return body.map((s) => {
    if (s.k === "acc") return { ...s, value: substitute(s.value, dead) };
    if (s.k === "if") return { ...s, then: zeroReads(s.then, dead), else: zeroReads(s.else, dead) };
    return s;
  });
}

function dropUnusedGrads(body: readonly BStmt[], read: ReadonlySet<string>): BStmt[] {
  return body.flatMap((s): BStmt[] => {
    if (s.k === "grads") return s.names.some((n) => n && read.has(n)) ? [{ ...s, names: s.names.map((n) => (read.has(n) ? n : "")) }] : [];
    if (s.k === "if") return [{ ...s, then: dropUnusedGrads(s.then, read), else: dropUnusedGrads(s.else, read) }];
    return [s];
  });
}

function clean(body: readonly BStmt[]): BStmt[] {
  const out: BStmt[] = [];
  for (const s of body) {
    if (s.k === "acc") {
      const value = simplify(s.value);
      if (!isNum(value, 0)) out.push({ ...s, value });
    } else if (s.k === "if") {
      out.push(...cleanIf(simplify(s.test), clean(s.then), clean(s.else)));
    } else out.push(s);
  }
  return dropEmptyComments(out);
}

/** if (true) {A} → A; if (c) {} else {B} → if (!c) {B}; if (c) {} → nothing. */
function cleanIf(test: Expr, then: BStmt[], otherwise: BStmt[]): BStmt[] {
  const known = boolOf(test);
  if (known !== undefined) return known ? then : otherwise;
  const hasWork = (b: BStmt[]) => b.some((s) => s.k !== "comment");
  if (!hasWork(then) && !hasWork(otherwise)) return [];
  if (!hasWork(then)) return [{ k: "if", test: simplify({ k: "unary", op: "!", arg: test }), then: otherwise, else: [] }];
  return [{ k: "if", test, then, else: hasWork(otherwise) ? otherwise : [] }];
}

/** A comment with no work after it (before the next comment) differentiates nothing. */
function dropEmptyComments(body: BStmt[]): BStmt[] {
  return body.filter((s, i) => s.k !== "comment" || (i + 1 < body.length && body[i + 1].k !== "comment"));
}

/**
 * The first top-level write of an adjoint declares it. An adjoint written inside an `if` and also
 * mentioned outside it (or in both branches) is declared `let dv = 0` before the `if`; one that
 * lives in a single branch is declared there, like any other.
 */
function declare(body: BStmt[], declared: Set<string>, total: ReadonlyMap<string, number>): BStmt[] {
  const out: BStmt[] = [];
  for (const s of body) {
    if (s.k === "acc" && !declared.has(s.adj)) {
      declared.add(s.adj);
      out.push({ ...s, declare: true });
    } else if (s.k === "if") {
      const inThen = mentions(s.then);
      const inElse = mentions(s.else);
      for (const adj of accumulated([s])) {
        const inside = (inThen.get(adj) ?? 0) + (inElse.get(adj) ?? 0);
        const shared = inside < (total.get(adj) ?? 0) || (inThen.has(adj) && inElse.has(adj));
        if (!declared.has(adj) && shared) {
          declared.add(adj);
          out.push({ k: "zero", adj });
        }
      }
      out.push({ ...s, then: declare(s.then, new Set(declared), total), else: declare(s.else, new Set(declared), total) });
    } else out.push(s);
  }
  return out;
}

/** How many times each adjoint is written or read in a backward body. */
function mentions(body: readonly BStmt[], counts: Map<string, number> = new Map()): Map<string, number> {
  const bump = (name: string) => counts.set(name, (counts.get(name) ?? 0) + 1);
  for (const s of body) {
    if (s.k === "acc") {
      bump(s.adj);
      refsOf(s.value).forEach(bump);
    } else if (s.k === "if") {
      mentions(s.then, counts);
      mentions(s.else, counts);
    }
  }
  return counts;
}

/** Adjoints the backward pass writes, in order of first write. */
export function accumulated(body: readonly BStmt[], out: string[] = []): string[] {
  for (const s of body) {
    if (s.k === "acc" && !out.includes(s.adj)) out.push(s.adj);
    if (s.k === "if") {
      accumulated(s.then, out);
      accumulated(s.else, out);
    }
  }
  return out;
}

/** Primal names the backward pass reads (for liveness and the vjp cache). */
export function readsOf(body: readonly BStmt[], out: Set<string> = new Set()): Set<string> {
  for (const s of body) {
    if (s.k === "acc") refsOf(s.value, out);
    else if (s.k === "grads") s.args.forEach((a) => refsOf(a, out));
    else if (s.k === "if") {
      refsOf(s.test, out);
      readsOf(s.then, out);
      readsOf(s.else, out);
    }
  }
  return out;
}

// ---- forward pass ---------------------------------------------------------------------------

/** Keeps only the forward statements that compute something in `roots`, directly or through others. */
export function pruneForward(body: readonly Stmt[], roots: Iterable<string>): Stmt[] {
  const live = new Set(roots);
  const keep = (stmts: readonly Stmt[]): Stmt[] => {
    const out: Stmt[] = [];
    for (let i = stmts.length - 1; i >= 0; i--) {
      const s = stmts[i];
      if (s.k === "def" && live.has(s.name)) {
        refsOf(s.value, live);
        out.push(s);
      } else if (s.k === "let" && live.has(s.name)) out.push(s);
      else if (s.k === "if") {
        const then = keep(s.then);
        const otherwise = keep(s.else);
        if (then.length || otherwise.length) {
          refsOf(s.test, live);
          out.push({ ...s, then, else: otherwise });
        }
      }
    }
    return out.reverse();
  };
  // Two passes: a join variable's `let` comes before the branch that makes it live.
  keep(body);
  return keep(body);
}
