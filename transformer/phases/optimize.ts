// Cleans the reversed function so it reads like hand-written backprop and does no wasted work:
//   simplify      1 * g → g, 2 * a ** (2 - 1) → 2 * a, 0 * g → (dropped), !(a === b) → a !== b
//   declare       the first top-level `dv += e` becomes `let dv = e`; a branch that accumulates
//                 into a new adjoint gets `let dv = 0` before it
//   prune         forward values the backward pass (or the result, for vjp) never reads are not
//                 computed; empty branches disappear

import { type BStmt, type Expr, type Stmt, forwardReads, num, refsOf, substitute } from "../ir/ir.js";
import { boolOf, isNum, simplify } from "../ir/simplify.js";

// ---- backward pass --------------------------------------------------------------------------

/**
 * Simplifies, drops zero and empty work, then decides declarations. `outputs` (the parameters'
 * adjoints) are read after the backward pass, so they are never declared inside a branch.
 */
export function finishBackward(
  body: readonly BStmt[],
  outputs: readonly string[],
  adjoints: ReadonlySet<string>,
): BStmt[] {
  const cleaned = foldResets(withoutDeadAdjoints(clean(body), adjoints));
  const total = mentions(cleaned);
  for (const o of outputs) total.set(o, (total.get(o) ?? 0) + 1);
  // Array and matrix gradients are allocated before their first write: a parameter's by emit.ts
  // before the backward pass, a local array's by an alloc at its start, a matrix's by one before
  // its first kernel (declare, below).
  const kernels = kernelAdjoints(cleaned);
  const buffers = [...indexedAdjoints(cleaned)].filter((a) => outputs.includes(a) || !kernels.has(a));
  return declare(cleaned, new Set(buffers), total, adjoints);
}

/** Adjoints some matrix kernel adds into. */
function kernelAdjoints(body: readonly BStmt[], out: Set<string> = new Set()): Set<string> {
  for (const s of body) {
    if (s.k === "kernel") out.add(s.adj);
    else if (s.k === "if") (kernelAdjoints(s.then, out), kernelAdjoints(s.else, out));
    else if (s.k === "loop") kernelAdjoints(s.body, out);
  }
  return out;
}

/** Adjoints written element by element (`da[i] += ...`), by kernels or by pullbacks: arrays and matrices. */
export function indexedAdjoints(body: readonly BStmt[], out: Set<string> = new Set()): Set<string> {
  for (const s of body) {
    if (((s.k === "acc" || s.k === "set") && s.index) || s.k === "kernel") out.add(s.adj);
    else if (s.k === "grads") s.buffers?.forEach((b) => b && out.add(b));
    else if (s.k === "if") (indexedAdjoints(s.then, out), indexedAdjoints(s.else, out));
    else if (s.k === "loop") indexedAdjoints(s.body, out);
  }
  return out;
}

/**
 * An adjoint whose every write simplified away (`dv += 0 * g`) is a known zero: its reads become 0,
 * which may drop more writes, until nothing changes. `const [du_da] = g_grad(a)` goes with its reads.
 */
function withoutDeadAdjoints(body: BStmt[], adjoints: ReadonlySet<string>): BStmt[] {
  let before = "";
  for (;;) {
    // Written: added into, set, or started as a copy of the output's gradient (a returned array's).
    const written = new Set([...accumulated(body), ...copiedIn(body)]);
    const dead = new Map([...adjoints].filter((a) => !written.has(a)).map((a): [string, Expr] => [a, num(0)]));
    // A call given a gradient that is a known zero (`g_backward(cache, 0)`, a @derivative's `dy`)
    // returns zeros: what it returns is a known zero too, and the call goes.
    for (const name of zeroCallResults(body, dead)) dead.set(name, num(0));
    const read = readsOf(body);
    const deadReads = [...dead.keys()].filter((a) => read.has(a));
    // Each round removes reads of dead adjoints; a round that changes neither what is dead nor
    // what of it is read would repeat for ever (a guard: every read form is zeroed below).
    const state = `${[...dead.keys()].join()}|${deadReads.join()}`;
    if (!deadReads.length || state === before) return dropUnusedGrads(body, read);
    before = state;
    body = clean(zeroReads(body, dead));
  }
}

/**
 * Adjoints that start as a copy of the output's gradient (`const du = Float64Array.from(dout)`), or
 * with another gradient's buffer handed on (`const dh_1 = dh` of a matrix a loop carries).
 */
function copiedIn(body: readonly BStmt[]): string[] {
  return body.flatMap((s): string[] =>
    s.k === "alloc" && (s.from || s.moved)
      ? [s.adj]
      : s.k === "if"
        ? [...copiedIn(s.then), ...copiedIn(s.else)]
        : s.k === "loop"
          ? copiedIn(s.body)
          : [],
  );
}

/** The names the calls given a known-zero gradient (one of `dead`) return. */
function zeroCallResults(body: readonly BStmt[], dead: ReadonlyMap<string, Expr>, out: string[] = []): string[] {
  for (const s of body) {
    if (s.k === "grads" && givenZero(s, dead)) out.push(...s.names.filter((n) => n));
    else if (s.k === "if") (zeroCallResults(s.then, dead, out), zeroCallResults(s.else, dead, out));
    else if (s.k === "loop") zeroCallResults(s.body, dead, out);
  }
  return out;
}

const givenZero = (s: BStmt & { k: "grads" }, dead: ReadonlyMap<string, Expr>) =>
  s.args.some((a) => a.k === "ref" && dead.has(a.name));

function zeroReads(body: readonly BStmt[], dead: ReadonlyMap<string, Expr>): BStmt[] {
  return body.flatMap((s): BStmt | BStmt[] => {
    if (s.k === "grads" && givenZero(s, dead)) return [];
    // A kernel or a call whose gradient argument is a known zero adds nothing: addMatmulNT(dA, 0, B).
    if (
      (s.k === "kernel" && s.args.some((a) => a.k === "ref" && dead.has(a.name))) ||
      ((s.k === "acc" || s.k === "set") && callsWith(s.value, dead))
    )
      return { k: "acc", adj: s.adj, value: num(0) };
    if (s.k === "acc" || s.k === "set") return { ...s, value: substitute(s.value, dead) };
    if (s.k === "if") return { ...s, then: zeroReads(s.then, dead), else: zeroReads(s.else, dead) };
    if (s.k === "loop") return { ...s, body: zeroReads(s.body, dead) };
    return s;
  });
}

/** Does `e` call a runtime kernel with one of `names` as an argument? (`innerProduct(A, dy)`) */
function callsWith(e: Expr, names: ReadonlyMap<string, Expr>): boolean {
  if (e.k === "call") return e.args.some((a) => (a.k === "ref" && names.has(a.name)) || callsWith(a, names));
  if (e.k === "binary") return callsWith(e.left, names) || callsWith(e.right, names);
  if (e.k === "unary") return callsWith(e.arg, names);
  return false;
}

function dropUnusedGrads(body: readonly BStmt[], read: ReadonlySet<string>): BStmt[] {
  return body.flatMap((s): BStmt[] => {
    // A pullback adds into gradient arrays as well: it stays, with the names nothing reads left out.
    if (s.k === "grads" && s.buffers) return [{ ...s, names: s.names.map((n) => (read.has(n) ? n : "")) }];
    if (s.k === "grads")
      return s.names.some((n) => n && read.has(n)) ? [{ ...s, names: s.names.map((n) => (read.has(n) ? n : "")) }] : [];
    if (s.k === "if") return [{ ...s, then: dropUnusedGrads(s.then, read), else: dropUnusedGrads(s.else, read) }];
    if (s.k === "loop") return [{ ...s, body: dropUnusedGrads(s.body, read) }];
    return [s];
  });
}

function clean(body: readonly BStmt[]): BStmt[] {
  const out: BStmt[] = [];
  for (const s of body) {
    if (s.k === "acc") {
      const value = simplify(s.value);
      if (!isNum(value, 0)) out.push({ ...s, value });
    } else if (s.k === "set") {
      out.push({ ...s, value: simplify(s.value) });
    } else if (s.k === "if") {
      out.push(...cleanIf(simplify(s.test), clean(s.then), clean(s.else)));
    } else if (s.k === "loop") {
      // A loop whose iterations propagate nothing has no backward loop (and saves nothing); one
      // that only overwrites a variable still runs, to reset its adjoint (`y = 3` in the loop: dy = 0).
      const loopBody = clean(s.body);
      if (loopBody.some((t) => t.k !== "comment")) out.push({ ...s, body: loopBody });
    } else out.push(s);
  }
  return dropEmptyComments(out);
}

/**
 * `dx = 0` then, before anything reads dx, `dx -= domx` → `dx = -domx`: the restart of an
 * overwritten variable's adjoint folds into its first new contribution.
 */
function foldResets(body: readonly BStmt[]): BStmt[] {
  const out: BStmt[] = body.map((s) =>
    s.k === "if"
      ? { ...s, then: foldResets(s.then), else: foldResets(s.else) }
      : s.k === "loop"
        ? { ...s, body: foldResets(s.body) }
        : s,
  );
  for (let i = 0; i < out.length; i++) {
    const reset = out[i];
    if (reset.k !== "set" || !isNum(reset.value, 0) || reset.index) continue;
    for (let j = i + 1; j < out.length; j++) {
      const next = out[j];
      if (next.k === "comment") continue;
      if (
        (next.k === "acc" || next.k === "set") &&
        next.adj === reset.adj &&
        !next.index &&
        !refsOf(next.value).has(reset.adj)
      ) {
        out[j] = { k: "set", adj: reset.adj, value: next.value };
        out.splice(i, 1);
        i--;
      }
      if (mentions([next]).has(reset.adj) || next.k === "grads") break;
    }
  }
  return dropEmptyComments(out);
}

/**
 * The declaration of an adjoint before the `if` or loop whose statements add into it: `let dv = 0`,
 * or for a matrix's (a kernel adds into it there) a buffer of zeros its shape, as at a first kernel.
 */
function zeroBefore(adj: string, body: readonly BStmt[]): BStmt {
  const kernel = firstKernel(adj, body);
  return kernel
    ? { k: "alloc", adj, like: kernel.like, vector: kernel.vector, zeros: kernel.zeros }
    : { k: "zero", adj };
}

function firstKernel(adj: string, body: readonly BStmt[]): Extract<BStmt, { k: "kernel" }> | undefined {
  for (const s of body) {
    if (s.k === "kernel" && s.adj === adj) return s;
    const inner =
      s.k === "if"
        ? (firstKernel(adj, s.then) ?? firstKernel(adj, s.else))
        : s.k === "loop"
          ? firstKernel(adj, s.body)
          : undefined;
    if (inner) return inner;
  }
  return undefined;
}

/** if (true) {A} → A; if (c) {} else {B} → if (!c) {B}; if (c) {} → nothing. */
function cleanIf(test: Expr, then: BStmt[], otherwise: BStmt[]): BStmt[] {
  const known = boolOf(test);
  if (known !== undefined) return known ? then : otherwise;
  const hasWork = (b: BStmt[]) => b.some((s) => s.k !== "comment");
  if (!hasWork(then) && !hasWork(otherwise)) return [];
  if (!hasWork(then))
    return [{ k: "if", test: simplify({ k: "unary", op: "!", arg: test }), then: otherwise, else: [] }];
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
function declare(
  body: BStmt[],
  declared: Set<string>,
  total: ReadonlyMap<string, number>,
  adjoints: ReadonlySet<string>,
  aliased: Set<string> = new Set(),
): BStmt[] {
  const out: BStmt[] = [];
  for (const s of body) {
    if ((s.k === "acc" || s.k === "set") && !declared.has(s.adj)) {
      declared.add(s.adj);
      out.push({ ...s, declare: true });
    } else if (s.k === "kernel" && !declared.has(s.adj)) {
      // A matrix buffer starts at zero, then each kernel adds into it.
      declared.add(s.adj);
      const source = s.identity && s.args[1].k === "ref" && !aliased.has(s.args[1].name) ? s.args[1].name : undefined;
      if (source) {
        // dprod += dscores into a fresh buffer is dscores itself: share it. Nothing writes dscores
        // after this block (its contributions all come before), so later kernels adding into
        // dprod change no number still to be read. One sharer per buffer (add(A, B) gives dA and
        // dB the same dy: the second gets a copy, or writes into dA would reach dB).
        aliased.add(source);
        out.push({ k: "alloc", adj: s.adj, like: s.like, vector: s.vector, zeros: s.zeros, same: source });
      } else out.push({ k: "alloc", adj: s.adj, like: s.like, vector: s.vector, zeros: s.zeros }, s);
    } else if (s.k === "alloc") {
      // const du_2 = Float64Array.from(du): declared here, not again before a loop that adds into it.
      declared.add(s.adj);
      out.push(s);
    } else if (s.k === "loop") {
      // Adjoints of values from outside the loop accumulate across iterations: declared before it.
      for (const adj of mentions(s.body).keys()) {
        if (!declared.has(adj) && !s.locals.has(adj) && adjoints.has(adj)) {
          declared.add(adj);
          out.push(zeroBefore(adj, s.body));
        }
      }
      out.push({ ...s, body: declare(s.body, new Set(declared), total, adjoints) });
    } else if (s.k === "if") {
      const inThen = mentions(s.then);
      const inElse = mentions(s.else);
      for (const adj of accumulated([s])) {
        const inside = (inThen.get(adj) ?? 0) + (inElse.get(adj) ?? 0);
        const shared = inside < (total.get(adj) ?? 0) || (inThen.has(adj) && inElse.has(adj));
        if (!declared.has(adj) && shared) {
          declared.add(adj);
          out.push(zeroBefore(adj, [s]));
        }
      }
      out.push({
        ...s,
        then: declare(s.then, new Set(declared), total, adjoints),
        else: declare(s.else, new Set(declared), total, adjoints),
      });
    } else out.push(s);
  }
  return out;
}

/** How many times each name is written or read in a backward body (a call's gradient arguments included). */
function mentions(body: readonly BStmt[], counts: Map<string, number> = new Map()): Map<string, number> {
  const bump = (name: string) => counts.set(name, (counts.get(name) ?? 0) + 1);
  for (const s of body) {
    if (s.k === "acc" || s.k === "set") {
      bump(s.adj);
      refsOf(s.value).forEach(bump);
    } else if (s.k === "kernel") {
      bump(s.adj);
      s.args.forEach((a) => refsOf(a).forEach(bump));
    } else if (s.k === "grads") {
      // g_backward(cache, du), a @derivative's fDerivative(a, y, du): the call reads du.
      s.args.forEach((a) => refsOf(a).forEach(bump));
    } else if (s.k === "if") {
      mentions(s.then, counts);
      mentions(s.else, counts);
    } else if (s.k === "loop") mentions(s.body, counts);
  }
  return counts;
}

/** Adjoints the backward pass writes, in order of first write. */
export function accumulated(body: readonly BStmt[], out: string[] = []): string[] {
  for (const s of body) {
    if ((s.k === "acc" || s.k === "set" || s.k === "kernel") && !out.includes(s.adj)) out.push(s.adj);
    if (s.k === "grads") s.buffers?.forEach((b) => !b || out.includes(b) || out.push(b));
    if (s.k === "if") {
      accumulated(s.then, out);
      accumulated(s.else, out);
    } else if (s.k === "loop") accumulated(s.body, out);
  }
  return out;
}

/**
 * Names the backward pass reads that it does not define itself (for liveness, the vjp cache, and
 * what a backward loop needs restored): values, tests, loop bounds and counts, minus what backward
 * loops pop or recompute.
 */
export function readsOf(body: readonly BStmt[], out: Set<string> = new Set()): Set<string> {
  for (const s of body) {
    if (s.k === "acc" || s.k === "set") {
      refsOf(s.value, out);
      if (s.index) refsOf(s.index, out);
      if (s.inner) refsOf(s.inner, out);
      // dh = zerosLike(h): a new buffer of h's shape as the iteration found it.
      if (s.k === "set" && s.whole?.zeros !== undefined) out.add(s.whole.like);
    } else if (s.k === "grads") s.args.forEach((a) => refsOf(a, out));
    // (a kernel's buffer is made by its alloc, which reads the value it is shaped like)
    else if (s.k === "kernel") s.args.forEach((a) => refsOf(a, out));
    else if (s.k === "alloc") out.add(s.same ?? s.like);
    else if (s.k === "rebind") s.from.forEach((n) => out.add(n));
    else if (s.k === "if") {
      refsOf(s.test, out);
      readsOf(s.then, out);
      readsOf(s.else, out);
    } else if (s.k === "loop") {
      const { counter, count } = s.loop;
      if (counter) (refsOf(counter.from, out), refsOf(counter.to, out));
      if (count) out.add(count);
      s.loop.frames?.forEach((frame) => out.add(frame.array));
      const before = new Set<string>();
      if (s.before) {
        forwardReads(s.before, before);
        const made = definedBy([{ k: "recompute", body: s.before }]);
        before.forEach((n) => made.has(n) || out.add(n));
      }
      const inner = readsOf(s.body);
      const defined = definedBy([...s.body, ...(s.before ? [{ k: "recompute" as const, body: s.before }] : [])]);
      if (counter) defined.add(counter.name);
      inner.forEach((n) => defined.has(n) || out.add(n));
    } else if (s.k === "recompute") forwardReads(s.body, out);
  }
  return out;
}

/** Names a backward body defines before reading them: popped and recomputed values. */
function definedBy(body: readonly BStmt[]): Set<string> {
  const names = new Set<string>();
  const forward = (stmts: readonly Stmt[]) =>
    stmts.forEach((t) => {
      if (t.k === "def" || t.k === "let") names.add(t.name);
      else if (t.k === "if") (forward(t.then), forward(t.else));
    });
  for (const s of body) {
    if (s.k === "pop") names.add(s.name);
    else if (s.k === "recompute") forward(s.body);
  }
  return names;
}

// ---- forward pass ---------------------------------------------------------------------------

/** Keeps only the forward statements that compute something in `roots`, directly or through others. */
export function pruneForward(body: readonly Stmt[], roots: Iterable<string>): Stmt[] {
  const live = new Set(roots);
  body = primalCalls(body, new Set([...live, ...pushedNames(body)]));
  const keep = (stmts: readonly Stmt[]): Stmt[] => {
    const out: Stmt[] = [];
    for (let i = stmts.length - 1; i >= 0; i--) {
      const s = stmts[i];
      if (s.k === "def" && live.has(s.name)) {
        refsOf(s.value, live);
        out.push(s);
      } else if (s.k === "let" && live.has(s.name)) out.push(s);
      else if (s.k === "store" && live.has(s.array)) {
        // h[j] = v: needed by whatever later reads h.
        refsOf(s.value, live);
        refsOf(s.index, live);
        out.push(s);
      } else if (s.k === "array" && live.has(s.name)) {
        refsOf(s.length, live);
        out.push(s);
      } else if (s.k === "rebind" && s.names.some((n) => live.has(n))) {
        // [u, next] = [next, u]: what is read later as u was written as next.
        s.names.forEach((n) => live.add(n));
        out.push(s);
      } else if (s.k === "push") {
        live.add(s.name);
        out.push(s);
      } else if (s.k === "throw") {
        // A guard stays: the gradient of a call the function refuses is refused too.
        s.names.forEach((name) => live.add(name));
        out.push(s);
      } else if (s.k === "loop") {
        // A loop runs if anything after it reads what it carries, or it saves values for a backward loop.
        const saves = hasPush(s.body);
        const fills = writesTo(s.body, live);
        if (!s.carried.some((c) => live.has(c)) && !saves && !fills && !(s.count && live.has(s.count))) continue;
        // What the test reads runs (the flag a break sets: without it the loop would not end), then
        // what the body needs, to a fixpoint over the back edge: a carried variable nothing after
        // the loop or in it needs (the objective's running sum in f_grad) is not computed.
        refsOf(s.test, live);
        if (s.pre) forwardReads(s.pre, live);
        if (s.counter) (refsOf(s.counter.from, live), refsOf(s.counter.to, live));
        let body: Stmt[];
        for (let size = -1; size !== live.size;) {
          size = live.size;
          body = keep(s.body);
        }
        const carried = s.carried.filter((c) => live.has(c));
        const booleans = s.booleans?.filter((c) => live.has(c));
        out.push({ ...s, body: body!, carried, ...(s.booleans ? { booleans } : {}) });
      } else if (s.k === "if") {
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
  const writesTo = (stmts: readonly Stmt[], arrays: ReadonlySet<string>): boolean =>
    stmts.some(
      (t) =>
        (t.k === "store" && arrays.has(t.array)) ||
        (t.k === "rebind" && t.names.some((n) => arrays.has(n))) ||
        (t.k === "loop" && writesTo(t.body, arrays)) ||
        (t.k === "if" && (writesTo(t.then, arrays) || writesTo(t.else, arrays))),
    );
  // A loop that saves values for a backward loop, or checks a guard, runs.
  const hasPush = (stmts: readonly Stmt[]): boolean =>
    stmts.some(
      (t) =>
        t.k === "push" ||
        t.k === "throw" ||
        (t.k === "loop" && hasPush(t.body)) ||
        (t.k === "if" && (hasPush(t.then) || hasPush(t.else))),
    );
  // Two passes: a join variable's `let` comes before the branch that makes it live.
  keep(body);
  return keep(body);
}

/**
 * A recursive call whose result nothing needs whole (its backward pass never runs: no gradient
 * flows through it) calls the function itself, `const k = g(x)`, instead of its forward pass.
 */
function primalCalls(body: readonly Stmt[], needed: ReadonlySet<string>): Stmt[] {
  return body.map((s): Stmt => {
    if (s.k === "def" && s.op?.kind === "call" && s.op.recursive && !needed.has(s.op.recursive.call)) {
      const { recursive, ...plain } = s.op;
      return { ...s, op: plain, value: { k: "call", callee: recursive.primal, args: s.args } };
    }
    if (s.k === "if") return { ...s, then: primalCalls(s.then, needed), else: primalCalls(s.else, needed) };
    if (s.k === "loop") return { ...s, body: primalCalls(s.body, needed) };
    return s;
  });
}

/** The names a forward pass saves for backward loops. */
function pushedNames(body: readonly Stmt[], out: string[] = []): string[] {
  for (const s of body) {
    if (s.k === "push") out.push(s.name);
    else if (s.k === "if") (pushedNames(s.then, out), pushedNames(s.else, out));
    else if (s.k === "loop") pushedNames(s.body, out);
  }
  return out;
}
