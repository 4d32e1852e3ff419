// Shortens the chain a backward loop carries from one iteration to the next. One local gradient
// per line makes the carried adjoint pass through every line of the iteration in turn:
//   let dx_1 = dx;  let drx = diff * dx_1;  let ddiff = rx * dx_1;  dx = -ddiff;  dx += r * drx;
// three dependent multiplications per iteration, where hand-written backprop multiplies dx once
// by the iteration's local derivative. Every backward line is linear in the adjoints, so when an
// iteration reads exactly one adjoint from the previous one (dx), the same lines run "per unit of
// dx" (dx replaced by 1) compute that derivative without waiting for dx; dx is then updated once:
//   let drx = diff;  let ddiff = rx;  let dx_step = -ddiff;  dr += x * drx * dx;  dx_step += r * drx;
//   dx = dx_step * dx;
// The lines and their comments stay; the carried adjoint is multiplied in once, at the end.
//
// Applies to a backward loop whose body is straight-line (no branch or inner loop, no custom
// derivative receiving an adjoint), that reads one adjoint carried in from the previous iteration,
// and whose other writes outside the body are plain accumulations (`dr += ...`, never read in it).
// Anything else is left exactly as it was.

import { type BLoop, type BStmt, type Expr, binary, num, ref, refsOf, substitute } from "../ir/ir.js";
import type { Namer } from "../ir/naming.js";
import { simplify } from "../ir/simplify.js";

/** Rewrites every eligible backward loop in `body` (at any depth). */
export function preaccumulate(body: readonly BStmt[], adjoints: ReadonlySet<string>, namer: Namer): BStmt[] {
  return body.map((s): BStmt => {
    if (s.k === "if")
      return { ...s, then: preaccumulate(s.then, adjoints, namer), else: preaccumulate(s.else, adjoints, namer) };
    if (s.k !== "loop") return s;
    const inner = { ...s, body: preaccumulate(s.body, adjoints, namer) };
    return perUnit(inner, adjoints, namer) ?? inner;
  });
}

/** The adjoint names an iteration reads and writes, in the roles above; undefined when not eligible. */
interface Roles {
  carried: string;
  /** Adjoints from outside the loop the iteration only adds to, never reads: dr. */
  sums: string[];
}

function rolesOf(loop: BLoop, adjoints: ReadonlySet<string>): Roles | undefined {
  const readFirst = new Set<string>();
  const written = new Set<string>();
  const setOutside = new Set<string>();
  const readOutside = new Set<string>();
  for (const s of loop.body) {
    if (s.k === "comment") continue;
    if (s.k !== "acc" && s.k !== "set" && s.k !== "grads") return undefined;
    // A local array's gradient (dh[j] = 0, dx += dh[j]) is read and reset element by element: left as is.
    if (s.k !== "grads" && ((s.k === "set" && s.index) || readsElementOf(s.value, adjoints))) return undefined;
    const reads = s.k === "grads" ? new Set(s.args.flatMap((a) => [...refsOf(a)])) : refsOf(s.value);
    for (const name of reads) {
      if (!adjoints.has(name)) continue;
      // A custom derivative's call receives an adjoint: not a line whose linearity we can see.
      if (s.k === "grads") return undefined;
      if (!written.has(name) && !loop.locals.has(name)) readFirst.add(name);
      if (!loop.locals.has(name)) readOutside.add(name);
    }
    if (s.k === "grads") continue;
    // `dx_1 += 1` (a return's seed inside the loop) is not linear in the adjoints: no per-unit form.
    if (![...reads].some((n) => adjoints.has(n)) && !(s.value.k === "num" && s.value.value === 0)) return undefined;
    if (s.k === "set" && !loop.locals.has(s.adj)) setOutside.add(s.adj);
    written.add(s.adj);
  }
  if (readFirst.size !== 1) return undefined;
  const [carried] = readFirst;
  if (!written.has(carried)) return undefined;
  const sums = [...written].filter((a) => a !== carried && !loop.locals.has(a));
  if (sums.some((a) => setOutside.has(a) || readOutside.has(a))) return undefined;
  return { carried, sums };
}

/**
 * The loop with its iteration run per unit of the carried adjoint c, or undefined if not eligible.
 * Reads of c before its first write become 1, later ones its per-unit value c_step; a sum's line
 * `dr += e` becomes `dr += e * c` (c still holds the incoming value); the iteration ends with
 * `c = c_step * c`.
 */
function perUnit(loop: BLoop, adjoints: ReadonlySet<string>, namer: Namer): BLoop | undefined {
  const roles = rolesOf(loop, adjoints);
  if (!roles) return undefined;
  const c = roles.carried;
  const cStep = namer.fresh(`${c}_step`);
  const known = new Map<string, Expr>([[c, num(1)]]);
  const body: BStmt[] = [{ k: "note", text: `this iteration's local gradients, per unit of ${c}` }];
  for (const s of loop.body) {
    if (s.k !== "acc" && s.k !== "set") {
      body.push(s);
      continue;
    }
    const value = simplify(substitute(s.value, known));
    if (s.adj === c) {
      // The first write declares c_step; before it, c per unit of c was 1.
      const first = known.get(c)!.k === "num";
      if (first)
        body.push({
          k: "set",
          adj: cStep,
          value: s.k === "acc" ? simplify(binary("+", num(1), value)) : value,
          declare: true,
        });
      else body.push({ ...s, adj: cStep, value });
      known.set(c, ref(cStep));
    } else if (roles.sums.includes(s.adj)) {
      body.push({ ...s, value: simplify(binary("*", value, ref(c))) });
    } else if (value.k === "num" && value.value === 1 && s.declare && writesOf(loop.body, s.adj) === 1) {
      // A copy of c (`let dx_1 = dx`, per unit: 1) is folded into the lines reading it.
      known.set(s.adj, value);
    } else body.push({ ...s, value });
  }
  // c per unit of c stayed 1 (`s += a[i] * b[i]` passes ds through): c needs no update, and the
  // copies of c are gone (`da[i] += b[i] * ds`); the note stays while per-unit locals remain.
  const writes = body.filter((s) => (s.k === "acc" || s.k === "set") && s.adj === cStep);
  if (writes.length === 1 && writes[0].k === "set" && writes[0].value.k === "num" && writes[0].value.value === 1) {
    const rest = body.filter((s) => s !== writes[0]);
    const perUnitLocals = rest.some((s) => (s.k === "acc" || s.k === "set") && loop.locals.has(s.adj));
    return { ...loop, body: perUnitLocals ? rest : rest.filter((s) => s.k !== "note") };
  }
  body.push({ k: "note", text: `the iteration's gradient, applied to ${c} once` });
  body.push({ k: "set", adj: c, value: binary("*", ref(cStep), ref(c)) });
  return { ...loop, body: withoutZeroStart(body, cStep), locals: new Set([...loop.locals, cStep]) };
}

/** `let dx_step = 0; ... dx_step += g;` → `let dx_step = g;` when nothing reads dx_step between. */
function withoutZeroStart(body: BStmt[], name: string): BStmt[] {
  const start = body.findIndex(
    (s) => s.k === "set" && s.adj === name && s.declare && s.value.k === "num" && s.value.value === 0,
  );
  if (start < 0) return body;
  const next = body.findIndex((s, i) => i > start && mentions(s, name));
  const s = body[next];
  if (next < 0 || s.k !== "acc" || s.adj !== name || refsOf(s.value).has(name)) return body;
  return body.flatMap((t, i) =>
    i === start ? [] : i === next ? [{ k: "set" as const, adj: name, value: s.value, declare: true }] : [t],
  );
}

function mentions(s: BStmt, name: string): boolean {
  if (s.k === "acc" || s.k === "set") return s.adj === name || refsOf(s.value).has(name);
  if (s.k === "grads") return s.args.some((a) => refsOf(a).has(name));
  return false;
}

function writesOf(body: readonly BStmt[], adj: string): number {
  return body.filter((s) => (s.k === "acc" || s.k === "set") && s.adj === adj).length;
}

/** Does `e` read an element of an adjoint array (`dh[j]`)? */
function readsElementOf(e: Expr, adjoints: ReadonlySet<string>): boolean {
  switch (e.k) {
    case "elem":
      return (
        adjoints.has(e.array) || readsElementOf(e.index, adjoints) || (!!e.inner && readsElementOf(e.inner, adjoints))
      );
    case "unary":
      return readsElementOf(e.arg, adjoints);
    case "binary":
      return readsElementOf(e.left, adjoints) || readsElementOf(e.right, adjoints);
    case "call":
      return e.args.some((a) => readsElementOf(a, adjoints));
    case "cond":
      return readsElementOf(e.test, adjoints) || readsElementOf(e.then, adjoints) || readsElementOf(e.else, adjoints);
    default:
      return false;
  }
}
