// Which values need an adjoint: those that depend on a parameter (varied) and reach the result
// through differentiable operations (useful). No adjoint, no backward line, for anything else.
//   f(x, k) { const s = Math.floor(k); const t = x * s; return t }   → active: x, t (not k, s)
//   const z = a - a                                                  → z does not vary with a
// Also refuses a gradient that would have to flow through a call tsgrad cannot see into.

import type { DiffError } from "../ir/diagnostics.js";
import { refuse } from "../ir/language.js";
import { sameExpr } from "../ir/print.js";
import {
  type Def,
  type Stmt,
  type StagedFunction,
  forEachDef,
  forEachRebind,
  forEachStore,
  operandName,
  refsOf,
  resultNames,
} from "../ir/ir.js";

export interface Activity {
  active: ReadonlySet<string>;
  errors: DiffError[];
}

export function analyzeActivity(fn: StagedFunction): Activity {
  // A loop feeds its headers back into its body: repeat until nothing changes.
  const varied = new Set(fn.params.filter((p) => !fn.data?.includes(p)));
  for (let size = -1; size !== varied.size;) {
    size = varied.size;
    forEachDef(fn.body, (d) => {
      if (d.op !== null && !isSelfDifference(d) && d.args.some((a) => varied.has(operandName(a)!))) varied.add(d.name);
      // sq(sq(x)) with sq unmarked: the inner result varies too, so the outer call is refused.
      if (d.op === null && d.opaqueCall && [...refsOf(d.value)].some((n) => varied.has(n))) varied.add(d.name);
    });
    // h[j] = v: a local array varies once any value written into it does.
    forEachStore(fn.body, (st) => varied.has(operandName(st.value)!) && varied.add(st.array));
    // [u, next] = [next, u]: arrays that change places are one group, each holding the others' values.
    forEachRebind(fn.body, (r) => r.names.some((n) => varied.has(n)) && r.names.forEach((n) => varied.add(n)));
  }

  const useful = new Set(resultNames(fn));
  const errors: DiffError[] = [];
  const backward = (body: readonly Stmt[]): void => {
    for (let i = body.length - 1; i >= 0; i--) {
      const s = body[i];
      if (s.k === "if") {
        backward(s.then);
        backward(s.else);
      } else if (s.k === "loop") {
        for (let size = -1; size !== useful.size;) {
          size = useful.size;
          backward(s.body);
        }
      } else if (s.k === "rebind" && s.names.some((n) => useful.has(n))) {
        s.names.forEach((n) => useful.add(n));
      } else if (s.k === "store" && useful.has(s.array)) {
        const v = operandName(s.value);
        if (v) useful.add(v);
      } else if (s.k === "def" && useful.has(s.name)) {
        if (s.op !== null) s.args.forEach((a) => operandName(a) && useful.add(operandName(a)!));
        else if (s.opaqueCall && [...refsOf(s.value)].some((n) => varied.has(n))) {
          errors.push(refuse("unmarkedCall", s.opaqueCall, { call: s.opaqueCall.getText() }));
        }
      }
    }
  };
  // Arrays that change places share their gradients' buffers: once one is useful anywhere (also
  // before the Rebind, which the pass above met first), all are, at every Rebind.
  for (let size = -1; size !== useful.size;) {
    size = useful.size;
    backward(fn.body);
    forEachRebind(fn.body, (r) => r.names.some((n) => useful.has(n)) && r.names.forEach((n) => useful.add(n)));
  }
  const unique = new Map(errors.map((e) => [e.node, e]));

  const active = new Set([...varied].filter((n) => useful.has(n)));
  return { active, errors: [...unique.values()] };
}

/** `d = a - a`: a value that does not depend on a (0, or NaN where a is not finite), so no gradient flows. */
export function isSelfDifference(d: Def): boolean {
  return d.op?.kind === "scalar" && d.op.rule === "-" && d.args.length === 2 && sameExpr(d.args[0], d.args[1]);
}
