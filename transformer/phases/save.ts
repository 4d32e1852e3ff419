// What each loop keeps for its backward loop (to-be-recorded analysis). A backward iteration needs
// the values its forward iteration computed; loops overwrite them, so each is either
//   restored   pushed on the stack at the end of the forward iteration, popped at the top of the
//              backward one: a header's value at the start of the iteration (x before x = x_1),
//              values that are costly (Math.exp, calls), impure (Math.random) or made by an
//              inner loop; a recursive call's result, `{ value, cache }`, is pushed whole
//              (saved.pushCall), beside the numbers
//   recomputed in the backward iteration from restored values, when it is cheap arithmetic
//   reread     from the array element the iteration stored it in, when no later write reaches
//              that element (read-back.ts): hidden[i * h + j] = max  →  const max = hidden[i * h + j]
//   nothing    when the backward pass never reads it (a loop like s += a * b saves nothing)
// Pushes go at the end of the iteration, after inner loops, so the backward iteration pops its
// own values first and inner backward loops then find theirs on top of the stack.
//
//   forward                              backward
//   while (x > 1) {                      for (let n = iterations; n > 0; n--) {
//     iterations++;                        x = saved.pop();
//     const x_1 = Math.sqrt(x);            const x_1 = saved.pop();
//     saved.push(x_1);                     ...
//     saved.push(x);
//     x = x_1;
//   }

import {
  type BLoop,
  type BStmt,
  type Def,
  type Expr,
  type Frame,
  type Let,
  type Loop,
  type Push,
  type Stmt,
  isKeptWhole,
  refsOf,
  restoredHeaders,
  slotIndex,
  tripCount,
} from "../ir/ir.js";
import type { ScalarOp } from "../../runtime/rules/scalar.js";
import type { Namer } from "../ir/naming.js";
import { readsOf } from "./optimize.js";
import { simplify } from "../ir/simplify.js";
import { reloadable } from "./read-back.js";
import { hasImpureCall } from "./stage.js";

/** Operations cheaper to redo than to save and restore. */
const CHEAP: ReadonlySet<ScalarOp> = new Set<ScalarOp>([
  "copy",
  "neg",
  "+",
  "-",
  "*",
  "/",
  "Math.abs",
  "Math.max",
  "Math.min",
]);

export function save(
  forward: readonly Stmt[],
  backward: readonly BStmt[],
  namer: Namer,
  results: readonly string[],
): { forward: Stmt[]; backward: BStmt[] } {
  const replaced = new Map<Loop, Loop>();
  const reloads = reloadable(forward, results);
  // Frames are declared beside their loop, so only loops at the function's top level get them.
  const visit = (body: readonly BStmt[], topLevel: boolean): BStmt[] =>
    body.map((s) => {
      if (s.k === "if") return { ...s, then: visit(s.then, false), else: visit(s.else, false) };
      if (s.k !== "loop") return s;
      const inner = visit(s.body, false);
      const saved = planLoop(
        { ...s.loop, body: withLoops(s.loop.body, replaced) },
        { ...s, body: inner },
        namer,
        topLevel,
        reloads,
      );
      replaced.set(s.loop, saved.loop);
      return saved.backward;
    });
  const newBackward = visit(backward, true);
  return { forward: hoistCounts(withLoops(forward, replaced)), backward: newBackward };
}

/**
 * A loop's count is read after the loop, by its backward loop (and an enclosing loop's push): for
 * a loop inside a branch, `let iterations = 0;` goes before the branch, like the branch's
 * other values (see hoistBranchValues in stage.ts), and the loop starts it at 0.
 */
function hoistCounts(body: readonly Stmt[]): Stmt[] {
  return body.flatMap((s): Stmt[] => {
    if (s.k === "loop") return [{ ...s, body: hoistCounts(s.body) }];
    if (s.k !== "if") return [s];
    const counts: string[] = [];
    const inBranch = (stmts: readonly Stmt[]): Stmt[] =>
      stmts.map((t) => {
        if (t.k === "if") return { ...t, then: inBranch(t.then), else: inBranch(t.else) };
        if (t.k !== "loop") return t;
        if (t.count) counts.push(t.count);
        return { ...t, countHoisted: t.count !== undefined, body: hoistCounts(t.body) };
      });
    const hoisted = { ...s, then: inBranch(s.then), else: inBranch(s.else) };
    return [...counts.map((name): Stmt => ({ k: "let", name, hoisted: true })), hoisted];
  });
}

/** Puts the saving version of each inner loop in place of the staged one. */
function withLoops(body: readonly Stmt[], replaced: ReadonlyMap<Loop, Loop>): Stmt[] {
  return body.map((s) => {
    if (s.k === "loop") return replaced.get(s) ?? { ...s, body: withLoops(s.body, replaced) };
    if (s.k === "if") return { ...s, then: withLoops(s.then, replaced), else: withLoops(s.else, replaced) };
    return s;
  });
}

interface Level {
  defs: Map<string, Def[]>;
  /** The tests of the branches around a def: replaying it needs them. */
  tests: Map<Def, Expr[]>;
  lets: Map<string, Let>;
  /** Names an inner loop leaves behind (its headers and count): only restoring brings them back. */
  fromLoops: Set<string>;
  booleans: Set<string>;
  order: string[];
}

function levelOf(body: readonly Stmt[]): Level {
  const level: Level = {
    defs: new Map(),
    tests: new Map(),
    lets: new Map(),
    fromLoops: new Set(),
    booleans: new Set(),
    order: [],
  };
  const note = (name: string) => level.order.includes(name) || level.order.push(name);
  const visit = (stmts: readonly Stmt[], tests: Expr[]) =>
    stmts.forEach((s) => {
      if (s.k === "def" && !s.overwrite) {
        level.defs.set(s.name, [...(level.defs.get(s.name) ?? []), s]);
        level.tests.set(s, tests);
        note(s.name);
      } else if (s.k === "let") {
        level.lets.set(s.name, s);
        note(s.name);
      } else if (s.k === "if") {
        visit(s.then, [...tests, s.test]);
        visit(s.else, [...tests, s.test]);
      } else if (s.k === "loop") {
        [...s.carried, ...(s.count ? [s.count] : [])].forEach((n) => (level.fromLoops.add(n), note(n)));
        s.booleans?.forEach((n) => level.booleans.add(n));
      }
    });
  visit(body, []);
  return level;
}

const cheap = (d: Def) =>
  !d.mutable &&
  !d.snapshot &&
  (d.op === null ? !d.opaqueCall && !hasImpureCall(d.value) : d.op.kind === "scalar" && CHEAP.has(d.op.rule));

/** How a loop's backward iteration gets each value it reads (see the top of this file). */
interface ValuePlan {
  restored: Set<string>;
  recomputed: Set<Def>;
  /** Defs read back from the array they were stored in (read-back.ts): recomputed as that read. */
  reread: Map<Def, Def>;
  /** Each recomputed name → the names its recomputation reads. */
  inputs: Map<string, string[]>;
}

/**
 * Restored, recomputed or reread, from the names the backward iteration reads: a cheap value is
 * recomputed from its operands, which are planned in turn; `keep` names are restored as they are.
 */
function planValues(
  loop: Loop,
  level: Level,
  reads: ReadonlySet<string>,
  reloads: ReadonlyMap<string, Def>,
  keep: ReadonlySet<string>,
): ValuePlan {
  const plan: ValuePlan = { restored: new Set(), recomputed: new Set(), reread: new Map(), inputs: new Map() };
  const work = [...reads];
  // A recursive call's value is read back from its result when the backward pass restores that
  // anyway (for the callee's backward pass): `const g_1 = g_1_call.value`.
  const fromCall = (d: Def) => d.op?.kind === "call" && d.op.recursive !== undefined && reads.has(d.op.recursive.call);
  const seen = new Set<string>();
  const expand = (name: string, names: string[]) => (plan.inputs.set(name, names), work.push(...names));
  while (work.length) {
    const name = work.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const defs = level.defs.get(name);
    const reload = reloads.get(name);
    if (loop.carried.includes(name) || level.fromLoops.has(name) || keep.has(name)) plan.restored.add(name);
    else if (reload && defs?.length === 1) {
      plan.recomputed.add(defs[0]);
      plan.reread.set(defs[0], reload);
      expand(name, [...refsOf(reload.value)]);
    } else if (defs && defs.every((d) => cheap(d) || fromCall(d))) {
      defs.forEach((d) => plan.recomputed.add(d));
      expand(
        name,
        defs.flatMap((d) => [...refsOf(d.value), ...level.tests.get(d)!.flatMap((t) => [...refsOf(t)])]),
      );
    } else if (defs || level.lets.has(name)) plan.restored.add(name);
  }
  return plan;
}

/**
 * Values cheaper to restore than to recompute: a value the backward iteration reads whose
 * recomputation needs two or more restored values that nothing else needs. `sum` of
 * `u[i - 1] - 2 * u[i] + u[i + 1]`, read for `dalpha += sum * dprod`, is one number to keep
 * rather than three elements to keep and two operations to redo.
 */
function cuts(plan: ValuePlan, reads: ReadonlySet<string>): Set<string> {
  const leaves = (name: string, out = new Set<string>(), seen = new Set<string>()): Set<string> => {
    if (seen.has(name)) return out;
    seen.add(name);
    if (plan.restored.has(name)) out.add(name);
    else for (const n of plan.inputs.get(name) ?? []) leaves(n, out, seen);
    return out;
  };
  const recomputedReads = [...reads].filter(
    (n) => plan.inputs.has(n) && ![...plan.reread.keys()].some((d) => d.name === n),
  );
  const cut = new Set<string>();
  for (const name of recomputedReads) {
    const mine = leaves(name);
    // Restored values another read needs stay restored either way.
    const others = new Set<string>();
    for (const other of reads) if (other !== name) leaves(other, others);
    const own = [...mine].filter((n) => !others.has(n));
    if (own.length >= 2) cut.add(name);
  }
  return cut;
}

/**
 * `outermost`: a counting loop at the function's top level keeps its values in frames, arrays
 * indexed by the counter (`x_saved[i] = x`), as one would by hand; other loops push and pop.
 */
function planLoop(
  loop: Loop,
  backward: BLoop,
  namer: Namer,
  outermost: boolean,
  reloads: ReadonlyMap<string, Def>,
): { loop: Loop; backward: BLoop } {
  const level = levelOf(loop.body);
  const reads = readsOf(backward.body);
  const first = planValues(loop, level, reads, reloads, new Set());
  const { restored, recomputed, reread } = first.restored.size
    ? planValues(loop, level, reads, reloads, cuts(first, reads))
    : first;

  // (a header's type is its overwrite's, `h = h_1` at the iteration's end: a matrix's, say)
  const overwrites = new Map(
    loop.body.flatMap((t) => (t.k === "def" && t.overwrite && t.type ? [[t.name, t.type] as const] : [])),
  );
  const typeOf = (name: string) =>
    level.defs.get(name)?.[0]?.type ??
    level.lets.get(name)?.type ??
    overwrites.get(name) ??
    (loop.booleans?.includes(name) || level.booleans.has(name) ? "boolean" : undefined);
  // Body values in the order they are made, then the headers' values from the start of the iteration.
  const order = [
    ...level.order.filter((n) => restored.has(n) && !loop.carried.includes(n)),
    ...loop.carried.filter((n) => restored.has(n)),
  ];
  const counter = outermost && !loop.pre ? loop.counter : undefined;
  // A recursive call's result, a matrix or a vector (objects) is pushed whole, never into a frame of numbers.
  const inFrames = order.filter((name) => !isKeptWhole(typeOf(name)));
  const frames: Frame[] = counter
    ? inFrames.map((name) => ({ array: namer.fresh(`${name}_saved`), length: simplify(tripCount(counter)) }))
    : [];
  const slotOf = (name: string) =>
    counter && inFrames.includes(name)
      ? { array: frames[inFrames.indexOf(name)].array, index: simplify(slotIndex(counter)) }
      : undefined;
  const pushes: Push[] = order.map((name) => ({ k: "push", name, type: typeOf(name), slot: slotOf(name) }));
  const end = trailingWrites(loop.body);
  const body = [...loop.body.slice(0, end), ...pushes, ...loop.body.slice(end)];

  const pops: BStmt[] = order
    .map((name): BStmt => ({
      k: "pop",
      name,
      declare: !loop.carried.includes(name),
      type: typeOf(name),
      slot: slotOf(name),
    }))
    .reverse();
  // Recomputed values that depend on nothing the iteration changes are computed once, before the loop.
  // (A reread element changes from one iteration to the next: never invariant.)
  const invariant = invariantDefs(loop, new Set([...recomputed].filter((d) => !reread.has(d))), restored, level);
  const names = new Set([...recomputed].filter((d) => !invariant.has(d)).map((d) => d.name));
  // An inner loop's headers, restored by its own backward loop, are declared here when not popped here.
  const inner: Stmt[] = [...restoredHeaders(backward.body).keys()]
    .filter((n) => !restored.has(n))
    .map((name) => ({ k: "let", name, hoisted: true, type: typeOf(name) }));
  const redo = declareJoins([
    ...inner,
    ...recompute(loop.body, new Set([...recomputed].filter((d) => !invariant.has(d))), names, reread),
  ]);
  const before = declareJoins(recompute(loop.body, invariant, new Set([...invariant].map((d) => d.name)), reread));
  const count = loop.counter ? undefined : namer.fresh("iterations");
  const index = loop.counter ? undefined : namer.fresh("k");
  const saving: Loop = { ...loop, body, count, frames: frames.length ? frames : undefined };
  const prefix: BStmt[] = redo.length ? [...pops, { k: "recompute", body: redo }] : pops;
  return {
    loop: saving,
    backward: {
      ...backward,
      loop: saving,
      body: [...prefix, ...backward.body],
      index,
      before: before.length ? before : undefined,
    },
  };
}

/**
 * Recomputed defs outside any branch whose operands are all loop invariant (defined before the
 * loop, or such defs themselves): `neg_k = -k` in a loop that never changes k.
 */
function invariantDefs(
  loop: Loop,
  recomputed: ReadonlySet<Def>,
  restored: ReadonlySet<string>,
  level: Level,
): Set<Def> {
  const varying = new Set<string>([
    ...loop.carried,
    ...restored,
    ...level.fromLoops,
    ...(loop.counter ? [loop.counter.name] : []),
  ]);
  const out = new Set<Def>();
  for (const [name, defs] of level.defs) {
    const d = defs[0];
    // A join's assignment stays in the loop: before it, it would overwrite the join's own value.
    const fixed =
      defs.length === 1 &&
      !d.assign &&
      recomputed.has(d) &&
      level.tests.get(d)!.length === 0 &&
      [...refsOf(d.value)].every((r) => !varying.has(r) && (!level.defs.has(r) || [...out].some((o) => o.name === r)));
    if (fixed) out.add(d);
    else varying.add(name);
  }
  return out;
}

/** Where the `x = x_1` writes that end an iteration begin. */
function trailingWrites(body: readonly Stmt[]): number {
  let i = body.length;
  while (i > 0 && body[i - 1].k === "def" && (body[i - 1] as Def).overwrite) i--;
  return i;
}

/**
 * A recomputed join assignment whose `let` is outside the loop (`f = Math.max(x, c)` for a return
 * inside the loop) gets a `let` of its own: the backward pass must not assign an outer binding.
 */
function declareJoins(redo: Stmt[]): Stmt[] {
  const declared = new Set<string>();
  const assigned: Def[] = [];
  const visit = (body: readonly Stmt[]) =>
    body.forEach((s) => {
      if (s.k === "let") declared.add(s.name);
      else if (s.k === "def" && s.assign && !assigned.some((d) => d.name === s.name)) assigned.push(s);
      else if (s.k === "if") (visit(s.then), visit(s.else));
    });
  visit(redo);
  const missing = assigned
    .filter((d) => !declared.has(d.name))
    .map((d): Stmt => ({ k: "let", name: d.name, hoisted: true, type: d.type }));
  return missing.length ? [...missing, ...redo] : redo;
}

/** The forward statements that recompute the chosen defs, with the branches around them. */
function recompute(
  body: readonly Stmt[],
  keep: ReadonlySet<Def>,
  names: ReadonlySet<string>,
  reread: ReadonlyMap<Def, Def>,
): Stmt[] {
  return body.flatMap((s): Stmt[] => {
    if (s.k === "def") return keep.has(s) ? [reread.get(s) ?? s] : [];
    if (s.k === "let") return names.has(s.name) ? [s] : [];
    if (s.k === "if") {
      const then = recompute(s.then, keep, names, reread);
      const otherwise = recompute(s.else, keep, names, reread);
      return then.length || otherwise.length ? [{ ...s, then, else: otherwise }] : [];
    }
    return [];
  });
}
