// Small loop programs for the loop tests, compiled in batches: each case is a function `c<i>` of
// one module per list (a batch that fails to compile falls back to one module per case, so one bad
// case does not hide the others), checked at its points against central finite differences (away
// from kinks and trip-count changes) and vjp: f_forward's value is f's, f_backward(cache, 1) is
// f_grad, f_backward(cache, dout) scales with dout, and f_backward run twice on one cache gives the
// same answer. After every f_grad the shared saved-value stack must be empty again.
//
// loops.test.ts runs the lists; strict.test.ts type-checks their generated code under --strict;
// fuzz.test.ts checks random loop programs the same way.

import { describe, expect, it } from "vitest";
import { compile, numericGradient } from "./harness.js";

type F = (...a: number[]) => number;

export interface Case {
  name: string;
  /** Parameter names, all `number`. */
  params: string[];
  body: string;
  points: number[][];
  /** Module-level code the case needs (helpers, other @differentiable functions). */
  preamble?: string;
  tol?: number;
  /** Called before every evaluation (resets a seeded PRNG, so every pass takes the same path). */
  before?: (m: Record<string, any>) => void;
}

export const SAVED_EXPORT = `export { saved as __saved } from "tsgrad";`;

export function sourceOf(cases: readonly Case[], names: readonly string[]): string {
  const preambles = [...new Set(cases.map((c) => c.preamble ?? ""))].join("\n");
  const fns = cases.map(
    (c, i) =>
      `/** @differentiable */\nexport function ${names[i]}(${c.params.map((p) => `${p}: number`).join(", ")}): number {\n${c.body}\n}\n`,
  );
  return `${SAVED_EXPORT}\n${preambles}\n${fns.join("\n")}`;
}

/**
 * Compiles all cases into one module (functions c0, c1, ...); if that fails, each case alone, so
 * the error is reported on the case that caused it.
 */
export function batch(cases: readonly Case[]): (i: number) => Promise<{ m: Record<string, any>; name: string }> {
  let all: Promise<Record<string, any> | undefined> | undefined;
  const single = new Map<number, Promise<Record<string, any>>>();
  return async (i) => {
    all ??= compile(
      sourceOf(
        cases,
        cases.map((_, j) => `c${j}`),
      ),
    ).then(
      (c) => c.module,
      () => undefined,
    );
    const m = await all;
    if (m) return { m, name: `c${i}` };
    if (!single.has(i))
      single.set(
        i,
        compile(sourceOf([cases[i]], ["c0"])).then((c) => c.module),
      );
    return { m: await single.get(i)!, name: "c0" };
  };
}

/** Accepts the analytic gradient if it matches central differences for one of several steps. */
function fdMismatch(f: F, g: readonly number[], p: readonly number[], tol: number): string | undefined {
  let report = "";
  for (const h of [1e-6, 1e-5, 1e-7]) {
    const n = numericGradient(f, [...p], h);
    const bad = g.findIndex((gi, i) => !(Math.abs(gi - n[i]) <= tol * Math.max(1, Math.abs(gi) + Math.abs(n[i]))));
    if (bad < 0) return undefined;
    report ||= `analytic [${g.join(", ")}] vs numeric [${n.join(", ")}]`;
  }
  return report;
}

/** Checks one compiled function at one point: finite differences, vjp, stack balance. */
export function checkAt(m: Record<string, any>, name: string, c: Case, p: number[]): void {
  const before = () => c.before?.(m);
  const f: F = (...a) => (before(), m[name](...a));
  const where = `${c.name}\n${c.body}\nat (${p.join(", ")})`;
  const stackSize = m.__saved.size;
  before();
  const g: number[] = m[`${name}_grad`](...p);
  expect(m.__saved.size, `${where}: f_grad left values on the shared stack`).toBe(stackSize);
  expect(g.length, where).toBe(c.params.length);
  const value = f(...p);
  expect(Number.isFinite(value), `${where}: value ${value}`).toBe(true);
  const mismatch = fdMismatch(f, g, p, c.tol ?? 1e-5);
  expect(mismatch, where).toBeUndefined();
  // vjp
  before();
  const { value: v, cache } = m[`${name}_forward`](...p);
  expect(v, `${where}: f_forward value`).toBe(value);
  const b1: number[] = m[`${name}_backward`](cache, 1);
  const b2: number[] = m[`${name}_backward`](cache, 1);
  expect(b2, `${where}: f_backward twice`).toEqual(b1);
  closeArrays(b1, g, 1e-12, `${where}: f_backward(cache, 1) vs f_grad`);
  const b3: number[] = m[`${name}_backward`](cache, -2.5);
  closeArrays(
    b3,
    g.map((x) => -2.5 * x),
    1e-12,
    `${where}: f_backward(cache, -2.5)`,
  );
  expect(m.__saved.size, `${where}: f_backward touched the shared stack`).toBe(stackSize);
}

function closeArrays(a: readonly number[], b: readonly number[], tol: number, message: string): void {
  expect(a.length, message).toBe(b.length);
  a.forEach((ai, i) => {
    const ok = Math.abs(ai - b[i]) <= tol * Math.max(1, Math.abs(ai) + Math.abs(b[i]));
    expect(ok, `${message}: [${a.join(", ")}] vs [${b.join(", ")}]`).toBe(true);
  });
}

/** One describe block: every case compiled into one module, one `it` per case. */
export function suite(title: string, cases: Case[]): void {
  describe(title, () => {
    const get = batch(cases);
    cases.forEach((c, i) => {
      it(c.name, async () => {
        const { m, name } = await get(i);
        for (const p of c.points) checkAt(m, name, c, p);
      });
    });
  });
}

export const xy = ["x", "y"];

export const P2 = [
  [0.7133, 1.3171],
  [-0.4127, 0.9213],
  [1.2377, -0.6119],
];
export const POS = [
  [0.7133, 1.3171],
  [1.4127, 0.4213],
  [0.3377, 0.8119],
];

// Every loop form

export const forms: Case[] = [
  {
    name: "for i++ with <",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 3; i++) s = s * y + Math.sin(s);\nreturn s;",
    points: P2,
  },
  {
    name: "for i-- with >",
    params: xy,
    body: "let s = x;\nfor (let i = 3; i > 0; i--) s = s * y + i * x;\nreturn s;",
    points: P2,
  },
  {
    name: "for i += 1 with <=",
    params: xy,
    body: "let s = 0;\nfor (let i = 1; i <= 3; i += 1) s += Math.pow(x, i) * y;\nreturn s;",
    points: P2,
  },
  {
    name: "for i -= 1 with >=, down to a negative bound",
    params: xy,
    body: "let s = y;\nfor (let i = 2; i >= -1; i -= 1) s = s * x + i * y;\nreturn s;",
    points: P2,
  },
  {
    name: "++i and --i as updates",
    params: xy,
    body: "let s = y;\nfor (let i = 0; i < 3; ++i) s = s * x + i;\nfor (let j = 2; j >= 0; --j) s = s * y - j * x;\nreturn s;",
    points: P2,
  },
  {
    name: "non-integer literal bound i < 2.5 (3 iterations)",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 2.5; i++) s = s * y + i;\nreturn s;",
    points: P2,
  },
  {
    name: "non-integer literal bound i <= 2.5 (3 iterations)",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i <= 2.5; i++) s = s * y + i * i;\nreturn s;",
    points: P2,
  },
  {
    name: "non-integer literal bounds counting down: i > -1.5, i >= 0.5",
    params: xy,
    body: "let s = x;\nfor (let i = 2; i > -1.5; i--) s = s * y + i;\nfor (let i = 3; i >= 0.5; i--) s = s * x + i;\nreturn s;",
    points: P2,
  },
  {
    name: "negative start and bound",
    params: xy,
    body: "let s = x;\nfor (let i = -3; i < -1; i++) s = s * y + i * x;\nreturn s;",
    points: P2,
  },
  {
    name: "zero-trip counter loops (bound below start, > against a larger bound)",
    params: xy,
    body: "let s = x * y;\nfor (let i = 0; i < 0; i++) s = s * 100;\nfor (let i = 5; i < 3; i++) s = Math.exp(s);\nfor (let i = 0; i > 3; i--) s = s * s;\nfor (let i = 0; i <= -1; i++) s = 0;\nreturn s + x;",
    points: P2,
  },
  {
    name: "zero-trip while and for(;;) with immediate break",
    params: xy,
    body: "let s = x;\nwhile (s > 1000) s = s * y;\nfor (;;) { break; }\nreturn s * y;",
    points: P2,
  },
  {
    name: "bound given by a parameter i < n",
    params: ["x", "n"],
    body: "let s = x;\nfor (let i = 0; i < n; i++) s = s * x + i;\nreturn s;",
    points: [
      [0.7, 2.5],
      [1.3, 3.5],
      [0.4, 0.5],
      [0.9, -1.5],
      [1.1, -0.25],
    ],
  },
  {
    name: "bound given by a parameter i <= n, i > n, i >= n",
    params: ["x", "n"],
    body: "let s = x;\nfor (let i = 0; i <= n; i++) s = s * x + 1;\nfor (let i = 4; i > n; i--) s = s * 0.5 + x;\nfor (let i = 4; i >= n; i--) s = Math.sin(s) + x * i;\nreturn s;",
    points: [
      [0.7, 2.5],
      [1.3, 1.5],
      [0.4, -0.5],
      [0.9, 3.5],
    ],
  },
  {
    name: "bound is an expression of parameters (i < n * 2, i < Math.floor(y) + 2)",
    params: ["x", "y", "n"],
    body: "let s = x;\nfor (let i = 0; i < n * 2; i++) s = s * 0.8 + y;\nfor (let i = 0; i < Math.floor(y) + 2; i++) s = s * x;\nreturn s;",
    points: [
      [0.7, 1.5, 1.25],
      [1.1, 0.5, 0.75],
      [0.6, 2.5, 2.25],
    ],
  },
  {
    name: "bound is a local computed before the loop",
    params: xy,
    body: "const m = y * 2;\nlet s = x;\nfor (let i = 0; i < m; i++) s = s * x + y;\nreturn s;",
    points: [
      [0.7, 1.3],
      [0.9, 0.4],
      [1.1, 1.9],
    ],
  },
  {
    name: "while with a data-dependent exit",
    params: xy,
    body: "let s = x;\nwhile (s < 10) s = s * 1.5 + y;\nreturn s;",
    points: [
      [0.7133, 1.3171],
      [2.4127, 0.9213],
      [5.2377, 0.6119],
    ],
  },
  {
    name: "while over two carried variables",
    params: xy,
    body: "let a = x;\nlet b = y;\nwhile (a + b < 8) {\n  const t = a * 1.3 + 0.1;\n  b = b + Math.sqrt(a * a + 1);\n  a = t;\n}\nreturn a * b;",
    points: POS,
  },
  {
    name: "do...while (runs once even when the test is false at first)",
    params: xy,
    body: "let s = x;\ndo {\n  s = s * y + 0.5;\n} while (s < -100);\nreturn s;",
    points: P2,
  },
  {
    name: "do...while with a data-dependent exit",
    params: xy,
    body: "let s = x + 3;\ndo {\n  s = s * 0.7 + y * 0.1;\n} while (s > 1);\nreturn s * x;",
    points: POS,
  },
  {
    name: "for (;;) with a counted break",
    params: xy,
    body: "let s = x;\nlet k = 0;\nfor (;;) {\n  s = s * y + 1;\n  k++;\n  if (k >= 3) break;\n}\nreturn s;",
    points: P2,
  },
  {
    name: "for (;;) with a data-dependent break first in the body",
    params: xy,
    body: "let s = x;\nfor (;;) {\n  if (s > 5) break;\n  s = s * 1.3 + y;\n}\nreturn s * x;",
    points: POS,
  },
  {
    name: "while (true) with break in a nested if",
    params: xy,
    body: "let s = x;\nwhile (true) {\n  s = s * 1.1 + x;\n  if (s > 3) {\n    if (y > 0 || s > 6) break;\n    s -= y;\n  }\n}\nreturn s;",
    points: [
      [0.7133, 1.3171],
      [0.4127, -0.9213],
      [1.2377, 0.6119],
    ],
  },
  {
    name: "for with a non-counter update t += 0.1 (11 float iterations)",
    params: xy,
    body: "let s = y;\nfor (let t = 0; t < 1; t += 0.1) s = s + t * x * s * 0.1;\nreturn s;",
    points: P2,
  },
  {
    name: "for whose counter is active: t starts at x, t += 0.5",
    params: xy,
    body: "let s = 0;\nfor (let t = x; t < 3; t += 0.5) s += t * y;\nreturn s;",
    points: [
      [0.3133, 1.3171],
      [1.1127, 0.9213],
      [-0.6377, 0.6119],
    ],
  },
  {
    name: "for with step 2 and with i = i * 2 + 1",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 7; i += 2) s = s * y + i;\nfor (let i = 0; i < 8; i = i * 2 + 1) s = s + x * i;\nreturn s;",
    points: P2,
  },
  {
    name: "for starting at a non-integer literal",
    params: xy,
    body: "let s = x;\nfor (let i = 0.5; i < 3; i++) s = s * y + i;\nreturn s;",
    points: P2,
  },
  {
    name: "for whose counter the body also changes",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 6; i++) {\n  if (s > 1) i++;\n  s = s * 1.2 + y * i;\n}\nreturn s;",
    points: POS,
  },
  {
    name: "for with an assignment initializer (counter declared outside)",
    params: xy,
    body: "let s = x;\nlet i: number;\nfor (i = 0; i < 3; i++) s = s * y + i;\nreturn s + i * x;",
    points: P2,
  },
  {
    name: "for with no initializer, counter declared before",
    params: xy,
    body: "let s = x;\nlet i = 1;\nfor (; i < 4; i++) s = s * y + i;\nreturn s * i;",
    points: P2,
  },
  {
    name: "continue at the top level of the body",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 5; i++) {\n  if (i % 2 === 0) continue;\n  s = s * x + y;\n}\nreturn s;",
    points: P2,
  },
  {
    name: "continue inside nested ifs",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 5; i++) {\n  if (s > 1) {\n    if (i > 2) continue;\n    s = s * 0.5;\n  }\n  s = s + x * y;\n}\nreturn s;",
    points: P2,
  },
  {
    name: "continue in both branches of an if-else chain",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 6; i++) {\n  if (i === 1) {\n    s = s * y;\n    continue;\n  } else if (i === 3) {\n    s = s + x;\n    continue;\n  }\n  s = Math.sin(s) + y;\n}\nreturn s;",
    points: P2,
  },
  {
    name: "break as the last statement of the body (one iteration)",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 10; i++) {\n  s = s * x + y;\n  break;\n}\nreturn s;",
    points: P2,
  },
  {
    name: "break inside nested ifs, counter loop",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 8; i++) {\n  s = s * 1.2 + y;\n  if (s > 2) {\n    if (i > 1) break;\n  }\n  s = s + 0.1 * x;\n}\nreturn s;",
    points: POS,
  },
  {
    name: "break and continue in the same loop",
    params: xy,
    body: "let s = x;\nlet k = 0;\nwhile (k < 10) {\n  k++;\n  if (k % 3 === 0) continue;\n  s = s * y + x;\n  if (Math.abs(s) > 4) break;\n}\nreturn s + k;",
    points: P2,
  },
  {
    name: "while with continue (counter bumped first)",
    params: xy,
    body: "let s = x;\nlet k = 0;\nwhile (k < 5) {\n  k++;\n  if (k === 2) continue;\n  s = s * x + y;\n}\nreturn s;",
    points: P2,
  },
  {
    name: "do...while with continue (goes to the test)",
    params: xy,
    body: "let s = x;\nlet k = 0;\ndo {\n  k++;\n  if (k === 2) continue;\n  s = s * x + y;\n} while (k < 4);\nreturn s;",
    points: P2,
  },
  {
    name: "do...while with break",
    params: xy,
    body: "let s = x;\nlet k = 0;\ndo {\n  s = s * y + x;\n  k += 1;\n  if (s > 2) break;\n} while (k < 6);\nreturn s * k;",
    points: POS,
  },
  {
    name: "for with update, continue and break together (update runs on continue, not on break)",
    params: xy,
    body: "let s = x;\nlet j = 0;\nfor (let t = 0; t < 10; t = t + 1.5) {\n  j = t;\n  if (t < 2) continue;\n  s = s * y + t;\n  if (t > 5) break;\n}\nreturn s + j * x;",
    points: P2,
  },
  {
    name: "break in nested loops leaves only the inner loop",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 3; i++) {\n  for (let j = 0; j < 5; j++) {\n    if (j > i) break;\n    s = s * x + y;\n  }\n  s = Math.sin(s);\n}\nreturn s;",
    points: P2,
  },
  {
    name: "inner while (true) with a data-dependent break, outer counter loop",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 3; i++) {\n  let t = s + 2;\n  while (true) {\n    t = t * 0.5 + x * 0.3;\n    if (t < 1) break;\n  }\n  s = s + t * y;\n}\nreturn s;",
    points: POS,
  },
  {
    name: "continue in an inner loop does not skip the outer body",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 3; i++) {\n  for (let j = 0; j < 3; j++) {\n    if (j === 1) continue;\n    s = s * y + j;\n  }\n  s = s + x;\n}\nreturn s;",
    points: P2,
  },
];

// Loop-carried variables

export const carried: Case[] = [
  {
    name: "a parameter reassigned in the loop",
    params: xy,
    body: "for (let i = 0; i < 4; i++) x = x * y + 0.1;\nreturn x;",
    points: P2,
  },
  {
    name: "a parameter reassigned, and read again before the loop",
    params: xy,
    body: "const before = x * x;\nfor (let i = 0; i < 3; i++) x = x * y + before;\nreturn x + before;",
    points: P2,
  },
  {
    name: "a parameter read after the loop that only another variable reassigns",
    params: xy,
    body: "let s = 1;\nfor (let i = 0; i < 3; i++) s = s * x + y;\nreturn s * x * y;",
    points: P2,
  },
  {
    name: "let declared before the loop",
    params: xy,
    body: "let s = x * y;\nlet t = 0;\nfor (let i = 0; i < 3; i++) t = t + s * i;\nreturn t;",
    points: P2,
  },
  {
    name: "let declared without initialiser, assigned before the loop",
    params: xy,
    body: "let s: number;\ns = x + y;\nfor (let i = 0; i < 3; i++) s = s * x;\nreturn s;",
    points: P2,
  },
  {
    name: "two variables swapped through a temporary (Fibonacci-like)",
    params: xy,
    body: "let a = x;\nlet b = y;\nfor (let i = 0; i < 5; i++) {\n  const t = a;\n  a = b;\n  b = t * 0.9 + a;\n}\nreturn a * b;",
    points: P2,
  },
  {
    name: "three variables rotated",
    params: xy,
    body: "let a = x;\nlet b = y;\nlet c = x * y;\nfor (let i = 0; i < 4; i++) {\n  const t = a;\n  a = b * 1.1;\n  b = c;\n  c = t + Math.sin(a);\n}\nreturn a + 2 * b + 3 * c;",
    points: P2,
  },
  {
    name: "a variable read after being updated in the same iteration",
    params: xy,
    body: "let s = x;\nlet t = y;\nfor (let i = 0; i < 3; i++) {\n  s = s * x;\n  t = t + s;\n  s = s + t * y;\n}\nreturn s + t;",
    points: P2,
  },
  {
    name: "the same variable updated several times in one iteration",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 3; i++) {\n  s = s * y;\n  s = s + x;\n  s = Math.sin(s);\n  s = s * s;\n}\nreturn s;",
    points: P2,
  },
  {
    name: "a carried variable assigned only in some branches",
    params: xy,
    body: "let s = x;\nlet t = y;\nfor (let i = 0; i < 4; i++) {\n  if (s > 1) t = t * x;\n  else s = s + y;\n  s = s + 0.3;\n}\nreturn s * t;",
    points: P2,
  },
  {
    name: "a carried variable assigned in one branch of a nested if only",
    params: xy,
    body: "let s = x;\nlet t = 1;\nfor (let i = 0; i < 4; i++) {\n  if (i > 0) {\n    if (s < 2) t = t * s;\n  }\n  s = s + y * 0.5;\n}\nreturn t;",
    points: P2,
  },
  {
    name: "variables declared inside the loop body",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 3; i++) {\n  const u = s * x;\n  let v = u + y;\n  v *= v;\n  s = Math.sin(v) + s;\n}\nreturn s;",
    points: P2,
  },
  {
    name: "a body variable shadowing an outer one",
    params: xy,
    body: "const t = x * 2;\nlet s = y;\nfor (let i = 0; i < 3; i++) {\n  const t = s * y;\n  s = t + x;\n}\nreturn s + t;",
    points: P2,
  },
  {
    name: "the same counter name in two sequential loops and in nested loops",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 2; i++) s = s * y + i;\nfor (let i = 0; i < 3; i++) {\n  for (let j = 0; j < 2; j++) s = s * x + i * j;\n}\nreturn s;",
    points: P2,
  },
  {
    name: "compound assignments += -= *= /= **=",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 3; i++) {\n  s += x;\n  s -= y * 0.5;\n  s *= 1.1;\n  s /= 1 + x * x;\n  s **= 1;\n}\nreturn s;",
    points: P2,
  },
  {
    name: "%= on a carried variable",
    params: xy,
    body: "let s = x + 10;\nfor (let i = 0; i < 3; i++) {\n  s %= 7;\n  s = s * y + 5;\n}\nreturn s;",
    points: [
      [0.7133, 1.3171],
      [0.4127, 0.9213],
    ],
  },
  {
    name: "x++ counters used in arithmetic",
    params: xy,
    body: "let s = x;\nlet k = 0;\nwhile (k < 4) {\n  s = s * x + k;\n  k++;\n}\nreturn s + k * y;",
    points: P2,
  },
  {
    name: "k++ and ++k and k-- mixed into values",
    params: xy,
    body: "let s = 0;\nlet c = 0;\nfor (let i = 0; i < 4; i++) {\n  c++;\n  s += c * x;\n  ++c;\n  s += c * y;\n  c--;\n}\nreturn s * c;",
    points: P2,
  },
  {
    name: "exp of a carried variable (its derivative reads its output)",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 3; i++) s = Math.exp(s * 0.3) * y;\nreturn s;",
    points: P2,
  },
  {
    name: "sqrt of a carried variable",
    params: xy,
    body: "let s = x * x + 1;\nfor (let i = 0; i < 4; i++) s = Math.sqrt(s + y * y);\nreturn s;",
    points: P2,
  },
  {
    name: "tanh of a carried variable",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 4; i++) s = Math.tanh(s * x + y);\nreturn s;",
    points: P2,
  },
  {
    name: "sigmoid form 1 / (1 + Math.exp(-u)) on a carried variable",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 4; i++) s = 1 / (1 + Math.exp(-(s * y + x)));\nreturn s;",
    points: P2,
  },
  {
    name: "sigmoid form 1 / (Math.exp(-s) + 1), the bare variable",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 4; i++) {\n  s = 1 / (Math.exp(-s) + 1);\n  s = s * y;\n}\nreturn s;",
    points: P2,
  },
  {
    name: "max/min routing on carried variables",
    params: xy,
    body: "let s = x;\nlet t = y;\nfor (let i = 0; i < 4; i++) {\n  const m = Math.max(s * y, t);\n  t = Math.min(s, t + 0.3);\n  s = m + 0.1;\n}\nreturn s + 2 * t;",
    points: P2,
  },
  {
    name: "abs of a carried variable",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 4; i++) s = Math.abs(s - y) * 0.9;\nreturn s;",
    points: P2,
  },
  {
    name: "a value whose rule reads its output, then carried: let s = Math.exp(x)",
    params: xy,
    body: "let s = Math.exp(x);\nfor (let i = 0; i < 3; i++) s = s * y;\nreturn s;",
    points: P2,
  },
  {
    name: "the same with sqrt, tanh, sigmoid and max as the initial value",
    params: xy,
    body: "let a = Math.sqrt(x * x + 1);\nlet b = Math.tanh(x);\nlet c = 1 / (1 + Math.exp(-y));\nlet d = Math.max(x, y);\nfor (let i = 0; i < 3; i++) {\n  a = a * y;\n  b = b + a;\n  c = c * b;\n  d = d * 0.5 + c;\n}\nreturn a + b + c + d;",
    points: P2,
  },
  {
    name: "an exp value read after a loop that overwrites a copy of it",
    params: xy,
    body: "const e = Math.exp(x);\nlet s = e;\nfor (let i = 0; i < 3; i++) s = s * y + e;\nreturn s + e;",
    points: P2,
  },
  {
    name: "a copy of a parameter mutated by the loop, the parameter used after",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 3; i++) s = s * y;\nreturn s * x;",
    points: P2,
  },
  {
    name: "a variable written in one loop and read by a later loop's rule",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 2; i++) s = Math.exp(s * 0.5);\nlet t = y;\nfor (let i = 0; i < 3; i++) t = t * s + Math.tanh(t);\nreturn t;",
    points: P2,
  },
  {
    name: "two loops in sequence on the same variable",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 3; i++) s = s * y;\nwhile (s < 5) s = s + Math.exp(x * 0.1);\nreturn s;",
    points: POS,
  },
  {
    name: "a boolean carried variable",
    params: xy,
    body: "let s = x;\nlet flip = false;\nfor (let i = 0; i < 5; i++) {\n  s = flip ? s * y : s + x;\n  flip = !flip;\n}\nreturn s;",
    points: P2,
  },
  {
    name: "a loop test on a variable updated in a branch",
    params: xy,
    body: "let s = x;\nlet go = 1;\nlet k = 0;\nwhile (go > 0) {\n  k++;\n  if (k > 3) go = 0;\n  else s = s * y + x;\n}\nreturn s;",
    points: P2,
  },
];

// Nesting, branches, early returns, ternaries

export const nesting: Case[] = [
  {
    name: "three nested counter loops",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 2; i++)\n  for (let j = 0; j < 2; j++)\n    for (let k = 0; k < 2; k++) s = s * x * 0.9 + y * (i + j - k);\nreturn s;",
    points: P2,
  },
  {
    name: "three nested loops of different kinds, each carrying its own and the outer's values",
    params: xy,
    body: "let s = x;\nlet a = 0;\nwhile (a < 2) {\n  a++;\n  let t = s;\n  for (let j = 0; j < 2; j++) {\n    let u = t * y;\n    let c = 0;\n    do {\n      u = Math.sin(u) + x;\n      s = s + u * 0.1;\n      c++;\n    } while (c < 2);\n    t = t + u;\n  }\n  s = s * 0.5 + t;\n}\nreturn s;",
    points: P2,
  },
  {
    name: "inner bound is the outer counter (j < i)",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 4; i++)\n  for (let j = 0; j < i; j++) s = s * x + j * y;\nreturn s;",
    points: P2,
  },
  {
    name: "inner start is the outer counter (j = i)",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 3; i++)\n  for (let j = i; j < 3; j++) s = s * y + i - j;\nreturn s;",
    points: P2,
  },
  {
    name: "inner counter loop with bound i + 1, counting down",
    params: xy,
    body: "let s = x;\nfor (let i = 3; i > 0; i--)\n  for (let j = i + 1; j > 0; j--) s = s * 0.9 + x * y;\nreturn s;",
    points: P2,
  },
  {
    name: "inner loop carries a variable the outer also carries",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 3; i++) {\n  for (let j = 0; j < 2; j++) s = s * x + y;\n  s = Math.sin(s);\n}\nreturn s;",
    points: P2,
  },
  {
    name: "inner loop carries an outer variable read after it in the outer body",
    params: xy,
    body: "let s = x;\nlet t = y;\nfor (let i = 0; i < 3; i++) {\n  const before = s;\n  for (let j = 0; j < 2; j++) s = Math.exp(s * 0.2) + t;\n  t = t + before * s;\n}\nreturn s + t;",
    points: P2,
  },
  {
    name: "outer variable read inside the inner loop, not assigned there",
    params: xy,
    body: "let s = x;\nlet t = y;\nfor (let i = 0; i < 3; i++) {\n  t = Math.tanh(t + s);\n  for (let j = 0; j < 2; j++) s = s + t * x;\n}\nreturn s * t;",
    points: P2,
  },
  {
    name: "inner while with a data-dependent trip count that varies per outer iteration",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 3; i++) {\n  let t = 0.1;\n  while (t < s + i) t = t * 2 + y * 0.01;\n  s = s * 0.5 + t * x;\n}\nreturn s;",
    points: POS,
  },
  {
    name: "loops in both branches of an if/else",
    params: xy,
    body: "let s = x;\nif (x > 0) {\n  for (let i = 0; i < 3; i++) s = s * y;\n} else {\n  let k = 0;\n  while (k < 2) {\n    s = s + y * s;\n    k++;\n  }\n}\nreturn s;",
    points: P2,
  },
  {
    name: "a loop in a branch, the variable read on the other branch",
    params: xy,
    body: "let s = x * y;\nlet r = 0;\nif (y > 0) {\n  for (let i = 0; i < 3; i++) s = Math.exp(s * 0.1);\n  r = s;\n} else {\n  r = s * x;\n}\nreturn r + s;",
    points: P2,
  },
  {
    name: "a loop in an if inside a loop",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 4; i++) {\n  if (i % 2 === 1) {\n    for (let j = 0; j < 2; j++) s = s * y + x;\n  } else {\n    s = Math.sin(s);\n  }\n}\nreturn s;",
    points: P2,
  },
  {
    name: "a loop in an if whose test depends on a carried value",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 4; i++) {\n  if (s > 0.5) {\n    let k = 0;\n    while (k < 2) {\n      s = s * 0.7 + y * 0.1;\n      k++;\n    }\n  }\n  s = s + x * 0.2;\n}\nreturn s;",
    points: P2,
  },
  {
    name: "early return before the loop",
    params: xy,
    body: "if (x > 1) return x * y;\nlet s = x;\nfor (let i = 0; i < 3; i++) s = s * y + x;\nreturn s;",
    points: [
      [0.7133, 1.3171],
      [1.4127, 0.9213],
      [-0.2377, 0.6119],
    ],
  },
  {
    name: "early return after the loop",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 3; i++) s = s * y + x;\nif (s > 1) return s * x;\nreturn s + y;",
    points: P2,
  },
  {
    name: "early returns before and after, with a loop between",
    params: xy,
    body: "if (y < -0.5) return y * y;\nlet s = x;\nwhile (s < 3) s = s * 1.5 + Math.abs(y) + 0.1;\nif (s > 4) return s * y;\nreturn s - x;",
    points: [
      [0.7133, 1.3171],
      [1.4127, -0.9213],
      [0.2377, -0.1119],
      [2.9, 0.2],
    ],
  },
  {
    name: "an early return in a nested if before the loop (the loop runs under the return flag)",
    params: xy,
    body: "let s = x;\nif (y > 1) {\n  if (x > 0) return s * y;\n  s = s * 2;\n}\nfor (let i = 0; i < 3; i++) s = s * y + x;\nreturn s;",
    points: [
      [0.7133, 1.3171],
      [-0.4127, 1.9213],
      [0.2377, 0.6119],
    ],
  },
  {
    name: "an early return in each branch, a loop in the rest",
    params: xy,
    body: "let s = x;\nif (x > 1) {\n  return s;\n} else if (y > 1) {\n  s = s + 1;\n} else {\n  return y;\n}\nfor (let i = 0; i < 2; i++) s = s * x * y;\nreturn s;",
    points: [
      [0.7133, 1.3171],
      [1.4127, 0.9213],
      [0.2377, 0.6119],
    ],
  },
  {
    name: "ternaries in the loop body",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 4; i++) {\n  s = s > 1 ? s * x : s + y;\n  const t = i % 2 === 0 ? x : y;\n  s = s * t + (t > 0.5 ? Math.exp(t * 0.1) : 0);\n}\nreturn s;",
    points: P2,
  },
  {
    name: "a ternary reading the counter and a carried variable",
    params: xy,
    body: "let s = x;\nlet k = 0;\nwhile (k < 4) {\n  s = k > 1 ? Math.max(s, y) * x : Math.sqrt(s * s + 1);\n  k++;\n}\nreturn s;",
    points: P2,
  },
];

// Calls inside loop bodies

const CALLEES = `
/** @differentiable */
export function g(a: number, b: number): number { return a * Math.sin(b) + Math.exp(a * 0.1); }
/** @differentiable */
export function gl(a: number, b: number): number {
  let s = a;
  for (let i = 0; i < 3; i++) s = s * b + Math.tanh(s);
  return s;
}
/** @differentiable */
export function gw(a: number): number {
  let s = a;
  let k = 0;
  while (s < 4 && k < 10) { s = s * 1.5 + 0.2; k++; }
  return s;
}
export function plain(v: number): number { return v > 0 ? 1 : -1; }
`;

export const calls: Case[] = [
  {
    name: "a differentiable call in a loop body",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 3; i++) s = g(s, y) * 0.5 + x;\nreturn s;",
    points: P2,
    preamble: CALLEES,
  },
  {
    name: "a call of a function that has its own loop, in a loop (stacks nest)",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 3; i++) s = gl(s * 0.3, y * 0.5) + x;\nreturn s;",
    points: P2,
    preamble: CALLEES,
  },
  {
    name: "a call with a data-dependent loop inside, in a while loop",
    params: xy,
    body: "let s = x;\nlet k = 0;\nwhile (k < 3) {\n  s = gw(Math.abs(s) * 0.5 + 0.1) * y;\n  k++;\n}\nreturn s;",
    points: POS,
    preamble: CALLEES,
  },
  {
    name: "a call's result in a branch condition and a carried variable",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 4; i++) {\n  const v = g(s, y);\n  if (v > 1) s = v * 0.5;\n  else s = s + v;\n}\nreturn s;",
    points: P2,
    preamble: CALLEES,
  },
  {
    name: "piecewise-constant Math functions of a carried variable (floor, sign, round)",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 3; i++) s = s * y + Math.floor(s * 3) * 0.1 + Math.sign(s - 0.5) * x + Math.round(y * 2);\nreturn s;",
    points: P2,
    preamble: CALLEES,
  },
  {
    name: "an unmarked function of a value that does not depend on the parameters",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 3; i++) s = s * y + plain(i - 1);\nreturn s;",
    points: P2,
    preamble: CALLEES,
  },
  {
    name: "an unmarked function in a branch condition in a loop",
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 4; i++) {\n  if (plain(s - 1) > 0) s = s * 0.5 + y;\n  else s = s * y + x;\n}\nreturn s;",
    points: P2,
    preamble: CALLEES,
  },
];

// Seeded, stateful "randomness": the backward pass must not draw again.
const PRNG = `
let state = 1;
export function reseed(seed: number): void { state = seed; }
export function coin(): boolean {
  state = (state * 1103515245 + 12345) % 2147483648;
  return state / 2147483648 < 0.5;
}
export function noise(): number {
  state = (state * 1103515245 + 12345) % 2147483648;
  return state / 2147483648;
}
`;
const reseed = (seed: number) => (m: Record<string, any>) => m.reseed(seed);
export const stateful: Case[] = [7, 12345].flatMap((seed) => [
  {
    name: `seeded coin() in a branch condition in a loop (seed ${seed})`,
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 6; i++) {\n  if (coin()) s = s * y + 0.1;\n  else s = Math.sin(s) + x;\n}\nreturn s;",
    points: P2,
    preamble: PRNG,
    before: reseed(seed),
  },
  {
    name: `seeded coin() in a nested if with break (seed ${seed})`,
    params: xy,
    body: "let s = x;\nlet k = 0;\nwhile (k < 8) {\n  k++;\n  if (s > -10) {\n    if (coin()) continue;\n  }\n  s = s * y + x;\n  if (coin() && k > 4) break;\n}\nreturn s;",
    points: P2,
    preamble: PRNG,
    before: reseed(seed),
  },
  {
    name: `seeded coin() in a ternary in a loop (seed ${seed})`,
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 5; i++) s = s * (coin() ? x : y) + 0.2;\nreturn s;",
    points: P2,
    preamble: PRNG,
    before: reseed(seed),
  },
  {
    name: `seeded noise() as a value and in a test, stored in a local (seed ${seed})`,
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 5; i++) {\n  const r = noise();\n  if (r < 0.5) s = s * y + r;\n  else s = Math.exp(s * r * 0.3);\n}\nreturn s;",
    points: P2,
    preamble: PRNG,
    before: reseed(seed),
  },
  {
    name: `seeded coin() in a while test (evaluated once per test) (seed ${seed})`,
    params: xy,
    body: "let s = x;\nlet k = 0;\nwhile (k < 6 && coin()) {\n  s = s * y + x;\n  k++;\n}\nreturn s;",
    points: P2,
    preamble: PRNG,
    before: reseed(seed),
  },
  {
    name: `seeded coin() in a do...while test with continue (seed ${seed})`,
    params: xy,
    body: "let s = x;\nlet k = 0;\ndo {\n  k++;\n  if (k === 2) continue;\n  s = Math.sin(s) * y + x;\n} while (k < 6 && coin());\nreturn s;",
    points: P2,
    preamble: PRNG,
    before: reseed(seed),
  },
  {
    name: `seeded unmarked function as a for bound (seed ${seed})`,
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 1 + noise() * 4; i++) s = s * y + i * x;\nreturn s;",
    points: P2,
    preamble: PRNG,
    before: reseed(seed),
  },
  {
    name: `seeded coin() in a branch around an inner loop (seed ${seed})`,
    params: xy,
    body: "let s = x;\nfor (let i = 0; i < 4; i++) {\n  if (coin()) {\n    for (let j = 0; j < 2; j++) s = s * y + x;\n  } else {\n    s = Math.tanh(s) + y;\n  }\n}\nreturn s;",
    points: P2,
    preamble: PRNG,
    before: reseed(seed),
  },
]);
