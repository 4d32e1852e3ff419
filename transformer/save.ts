// What each loop keeps for its backward loop (to-be-recorded analysis). A backward iteration needs
// the values its forward iteration computed; loops overwrite them, so each is either
//   restored   pushed on the stack at the end of the forward iteration, popped at the top of the
//              backward one: a header's value at the start of the iteration (x before x = x_1),
//              values that are costly (Math.exp, calls), impure (Math.random) or made by an
//              inner loop
//   recomputed in the backward iteration from restored values, when it is cheap arithmetic
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

import { type BLoop, type BStmt, type Def, type Expr, type Let, type Loop, type Push, type Stmt, refsOf } from "./ir.js";
import type { Namer } from "./naming.js";
import { readsOf } from "./optimize.js";
import { hasImpureCall } from "./stage.js";

/** Operations cheaper to redo than to save and restore. */
const CHEAP = new Set(["copy", "neg", "+", "-", "*", "/", "Math.abs", "Math.max", "Math.min"]);

export function save(forward: readonly Stmt[], backward: readonly BStmt[], namer: Namer): { forward: Stmt[]; backward: BStmt[] } {
  const replaced = new Map<Loop, Loop>();
  const visit = (body: readonly BStmt[]): BStmt[] =>
    body.map((s) => {
      if (s.k === "if") return { ...s, then: visit(s.then), else: visit(s.else) };
      if (s.k !== "loop") return s;
      const inner = visit(s.body);
      const saved = planLoop({ ...s.loop, body: withLoops(s.loop.body, replaced) }, { ...s, body: inner }, namer);
      replaced.set(s.loop, saved.loop);
      return saved.backward;
    });
  const newBackward = visit(backward);
  return { forward: withLoops(forward, replaced), backward: newBackward };
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
  order: string[];
}

function levelOf(body: readonly Stmt[]): Level {
  const level: Level = { defs: new Map(), tests: new Map(), lets: new Map(), fromLoops: new Set(), order: [] };
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
      }
    });
  visit(body, []);
  return level;
}

const cheap = (d: Def) => !d.mutable && (d.op === null ? !d.opaqueCall && !hasImpureCall(d.value) : CHEAP.has(d.op));

function planLoop(loop: Loop, backward: BLoop, namer: Namer): { loop: Loop; backward: BLoop } {
  const level = levelOf(loop.body);
  const restored = new Set<string>();
  const recomputed = new Set<Def>();
  const work = [...readsOf(backward.body)];
  const seen = new Set<string>();
  while (work.length) {
    const name = work.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const defs = level.defs.get(name);
    if (loop.carried.includes(name) || level.fromLoops.has(name)) restored.add(name);
    else if (defs && defs.every(cheap)) {
      for (const d of defs) {
        recomputed.add(d);
        work.push(...refsOf(d.value), ...level.tests.get(d)!.flatMap((t) => [...refsOf(t)]));
      }
    } else if (defs || level.lets.has(name)) restored.add(name);
  }

  const typeOf = (name: string) => level.defs.get(name)?.[0]?.type ?? level.lets.get(name)?.type;
  // Body values in the order they are made, then the headers' values from the start of the iteration.
  const order = [...level.order.filter((n) => restored.has(n) && !loop.carried.includes(n)), ...loop.carried.filter((n) => restored.has(n))];
  const pushes: Push[] = order.map((name) => ({ k: "push", name, type: typeOf(name) }));
  const end = trailingWrites(loop.body);
  const body = [...loop.body.slice(0, end), ...pushes, ...loop.body.slice(end)];

  const pops: BStmt[] = [...order].reverse().map((name) => ({ k: "pop", name, declare: !loop.carried.includes(name), type: typeOf(name) }));
  const names = new Set([...recomputed].map((d) => d.name));
  // An inner loop's headers, restored by its own backward loop, are declared here when not popped here.
  const inner: Stmt[] = [...innerLoopPops(backward.body)].filter((n) => !restored.has(n)).map((name) => ({ k: "let", name, hoisted: true, type: typeOf(name) }));
  const redo = [...inner, ...recompute(loop.body, recomputed, names)];
  const count = loop.counter ? undefined : namer.fresh("iterations");
  const index = loop.counter ? undefined : namer.fresh("k");
  const saving: Loop = { ...loop, body, count };
  const prefix: BStmt[] = redo.length ? [...pops, { k: "recompute", body: redo }] : pops;
  return { loop: saving, backward: { ...backward, loop: saving, body: [...prefix, ...backward.body], index } };
}

/** Names the backward loops directly inside this body assign from the stack (their headers). */
function innerLoopPops(body: readonly BStmt[], out: Set<string> = new Set()): Set<string> {
  for (const s of body) {
    if (s.k === "loop") s.body.forEach((t) => t.k === "pop" && !t.declare && out.add(t.name));
    else if (s.k === "if") innerLoopPops(s.then, out), innerLoopPops(s.else, out);
  }
  return out;
}

/** Where the `x = x_1` writes that end an iteration begin. */
function trailingWrites(body: readonly Stmt[]): number {
  let i = body.length;
  while (i > 0 && body[i - 1].k === "def" && (body[i - 1] as Def).overwrite) i--;
  return i;
}

/** The forward statements that recompute the chosen defs, with the branches around them. */
function recompute(body: readonly Stmt[], keep: ReadonlySet<Def>, names: ReadonlySet<string>): Stmt[] {
  return body.flatMap((s): Stmt[] => {
    if (s.k === "def") return keep.has(s) ? [s] : [];
    if (s.k === "let") return names.has(s.name) ? [s] : [];
    if (s.k === "if") {
      const then = recompute(s.then, keep, names);
      const otherwise = recompute(s.else, keep, names);
      return then.length || otherwise.length ? [{ ...s, then, else: otherwise }] : [];
    }
    return [];
  });
}
