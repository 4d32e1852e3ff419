// What a gradient keeps in memory, for `tsgrad print --report`: per function, the vjp cache, and
// per loop what each iteration saves on the stack (and what it recomputes instead).
//
//   newtonSqrt  examples/loops.ts:5
//     vjp cache: a
//     for (let i = 0; i < 20; i++)  line 7
//       saves per iteration: x (1 number, 8 bytes)
//       recomputes: nothing

import { type BStmt, type Loop, type Stmt, isCallResult } from "../ir/ir.js";

export interface LoopReport {
  heading: string;
  line: number;
  depth: number;
  saved: string[];
  /** Of `saved`, the recursive calls' results (objects holding their caches), not numbers. */
  calls: string[];
  recomputed: string[];
  /** The loop counts its iterations in a number the backward loop reads (no counter to run back). */
  counted: boolean;
  /** The arrays a counting loop saves into, one slot per iteration (empty when it pushes). */
  frames: string[];
}

export interface FunctionReport {
  name: string;
  file: string;
  line: number;
  cache: string[];
  loops: LoopReport[];
}

/** The loops of a finished backward pass, outer before inner. */
export function loopReports(backward: readonly BStmt[], depth = 0, out: LoopReport[] = []): LoopReport[] {
  for (const s of backward) {
    if (s.k === "if") (loopReports(s.then, depth, out), loopReports(s.else, depth, out));
    if (s.k !== "loop") continue;
    const saved = s.body.flatMap((t) => (t.k === "pop" ? [t.name] : [])).reverse();
    const calls = s.body.flatMap((t) => (t.k === "pop" && isCallResult(t.type) ? [t.name] : [])).reverse();
    const recomputed = s.body.flatMap((t) => (t.k === "recompute" ? defsIn(t.body) : []));
    const source = s.loop.source;
    const file = source.getSourceFile();
    const frames = (s.loop.frames ?? []).map((f) => f.array);
    out.push({
      heading: heading(s.loop),
      line: file.getLineAndCharacterOfPosition(source.getStart(file)).line + 1,
      depth,
      saved,
      calls,
      recomputed,
      counted: s.loop.count !== undefined,
      frames,
    });
    loopReports(s.body, depth + 1, out);
  }
  return out;
}

function defsIn(body: readonly Stmt[]): string[] {
  return body.flatMap((s) => (s.k === "def" ? [s.name] : s.k === "if" ? [...defsIn(s.then), ...defsIn(s.else)] : []));
}

function heading(loop: Loop): string {
  const text = loop.source.getText().split("{")[0].replace(/\s+/g, " ").trim();
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The report as text, one block per function. */
export function formatReport(reports: readonly FunctionReport[]): string {
  const numbers = (n: number) => `${n} number${n === 1 ? "" : "s"}, ${8 * n} bytes`;
  return reports
    .map((r) => {
      const lines = [
        `${r.name}  ${r.file}:${r.line}`,
        `  vjp cache: ${r.cache.length ? r.cache.join(", ") : "nothing"}`,
      ];
      if (r.loops.length === 0) lines.push("  no loops: the gradient keeps nothing beyond the values of its one pass");
      for (const l of r.loops) {
        const pad = "  ".repeat(l.depth + 1);
        lines.push(`${pad}${l.heading}  line ${l.line}`);
        const where = l.frames.length ? `, in ${l.frames.join(", ")}` : "";
        const count = l.saved.length - l.calls.length;
        const what = [
          ...(count ? [`${numbers(count)}${where}`] : []),
          ...(l.calls.length
            ? [`${l.calls.length === 1 ? "a recursive call's cache" : `${l.calls.length} recursive calls' caches`}`]
            : []),
        ];
        const perIteration = l.saved.length ? `${l.saved.join(", ")} (${what.join("; ")})` : "nothing";
        lines.push(`${pad}  saves per iteration: ${perIteration}`);
        lines.push(`${pad}  recomputes: ${l.recomputed.length ? l.recomputed.join(", ") : "nothing"}`);
        if (l.counted) lines.push(`${pad}  counts its iterations (one number per run of the loop)`);
      }
      return lines.join("\n");
    })
    .join("\n\n");
}
