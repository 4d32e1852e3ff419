// Random well-formed `/** @differentiable */` programs for property-based gradient checking.
//
// Takes nothing; gives fast-check arbitraries of program *templates* and a printer that turns a
// template into TypeScript source (what tsgrad compiles and what a failure shows) or into an
// instrumented JavaScript twin (the independent reference: same arithmetic, plus hooks that record
// which side of every branch, kink and jump a run took; see reference.ts).
//
// Templates are context-free so fast-check can shrink them freely: a variable is an index taken
// modulo the variables in scope where it is printed, an assignment target likewise modulo the
// assignable ones, a call an index modulo the helpers declared before, and a `break` outside any
// loop prints nothing. Every template, shrunk or not, prints to a program that type-checks.
//
//   { k: "unary", fn: "Math.log", w: 0, a: { k: "ref", i: 4 } }   with x, y in scope
//   → Math.log(1 + x * x)            (4 mod 2 = 0 → x; w picks the positive form 1 + a * a)
//
// Inputs stay inside each operation's domain by construction: an operand of a restricted op is
// wrapped in a form whose range is that domain (log and sqrt of something positive, asin of
// something in [-0.9, 0.9], ...). Kinks and branch thresholds are not avoided here but at the
// points (reference.ts rejects a point whose finite-difference stencil crosses one).
//
// Arrays (Sizes.arrays; off, the generator is the scalar one, drawing exactly as before): array
// parameters of a length fixed by the template (`x: Float64Array` of 3, flattened to 3 coordinates
// of a point), arrays created at the top level (`const u0 = new Float64Array(x.length)`, maybe
// filled by a loop) and anywhere else (below), element reads and writes (`u0[i0 + 1] += ...`),
// `.length`, loops over arrays, and an f that returns one of its arrays. An index is in range by
// construction: the printer knows every array's length and every loop counter's range, and wraps
// an index that could leave [0, n) (`(i0 + 1) % x.length`); the reference twin asserts it.
//
//   { k: "elem", arr: 0, ix: { form: "next", of: 0, c: 0 } }   in `for (let i0 = 0; i0 + 1 < x.length; i0++)`
//   → x[i0 + 1]                                                 (i0 <= n - 2, so i0 + 1 < n)
//
// Array programs also pass arrays to helpers and call array methods. Helpers take arrays
// (Float64Array, number[], readonly number[], ArrayLike<number>) and numbers, and may be left
// unmarked (`function h0(...)`, `const h0 = (...) => ...`: checked through their callers only).
// A call passes each array parameter an array of its length that TypeScript lets it take: a
// parameter, a module table (`const W0 = [0.5, -1.25, 2];`, Program.tables, made for the call if
// none fits), or a local array that no loop around the call writes, which is then written no more
// (tsgrad refuses a write after the call). Array methods with callbacks written in place (Callback,
// parameters acc0, el0, ix0 named by nesting depth): `xs.reduce(cb, init)` and `xs.reduce(cb)`,
// `xs.map(cb).reduce(cb, init)`, `Math.max(...xs.map(cb))`, `Math.min(...Array.from(xs, cb))`,
// and `for (const [i0, e0] of xs.entries())`, maybe with `if (c) break;`.
//
//   { k: "reduce", arr: 0, cb: { index: true, fn: false, locals: null, body }, init, map: null, op: "+" }
//   → x.reduce((acc0, el0, ix0) => acc0 + <body>, <init>)      (ix0 a counter over [0, x.length))
//
// Array programs also have helpers tsgrad inlines where a @differentiable function calls them
// (Inline, InlineCall; ir/inlining.ts): unmarked helpers that write an out-parameter (`h0(out, a,
// b)`, gl-matrix style, `out[i0] += ...` as BLAS's axpy, in a loop over out.length or element by
// element, returning out or nothing), that return a new array (`const u0 = new
// Float64Array(a.length)`, filled, returned; or the array an earlier one returns), or that return an
// object of numbers (`return { mean, sd: ... }`), or the map of an array they are given (`return
// a.map(...)`). Callers (f, and helpers, marked or not) give an out an array they created (a local
// array, one an earlier call returned, or `new Float64Array(3)` in place), call them anywhere (in a
// helper that creates no array, only those that create none), name what they return (`const u2 =
// h1(x, v0);`, `const { mean, sd: sd1 } = h2(x);`), and go on reading and writing those arrays.
//
//   { k: "inline", i: 0, args, arrs: [0], fresh: false, named: false, drop: 0, rename: 0 }   h0 an out helper
//   → h0(u1, x, v0);            (u1 a local array of out's length and kind; in a loop too)
//
// Array programs also make arrays anywhere and give `let` arrays other arrays (tsgrad makes an
// array created in a loop or a branch once, before them, and moves arrays between names at the end
// of an iteration or a branch, stage/rebinds.ts): arrays made in loops, in branches and after an
// early return, as zeros, fills, copies, maps and literals of a length known before the loop
// (`const u3 = x.map((el0) => el0 * y);`, `const u4 = [v0, x[1]];`, Stmt newArray, ArrayMake); let
// arrays of one kind and length (Stmt buffers) that change places, by destructuring (`[u1, u2] =
// [u2, u1];`), through a tmp in a block, or rotating three (Stmt rebind); a let array given a new
// one, its map (`u1 = u1.map((el0, ix0) => Math.tanh(el0 * y + x[ix0]));`) or the map a helper
// tsgrad inlines returns (`u1 = h2(u1, y);`, Inline kind map) (Stmt replace); and time steps, a
// loop whose body ends with the next buffer filled from the current one and the arrays changing
// places, or the state given a new array, maybe under an if, in every loop form (Stmt steps).
// Where such an array changes (moved, or made in a loop around a call), a helper given it is one
// tsgrad can write out at the call (HelperInScope.inlinable), as tsgrad then does.
//
//   { k: "steps", form: "while", trips: 2, arrays: [<x.slice()>], swap: false, a: <map of itself>, ... }
//   → let u1 = x.slice(); let k0 = 0; while (k0 < 2) { k0++; ...; u1 = u1.map((el0) => Math.sin(el0) * y); }
//
// Objects (Sizes.objects, with arrays): f's parameters may also be objects (ObjType) of numbers,
// arrays and nested objects, up to 3 levels, as type literals or interfaces declared before f.
// Keys are printed from a counter (`s0` a number, `w1` an array, `m2` an object), unique in f, so
// every name bound to a field is too. Each field is read by the form its template picks (Field):
// by path (`x.m2.s3`), destructured (`const { s0, w1 } = x;`), renamed (`const { s0: s0r } = x;`),
// nested (`const { m2: { s3: s3r } } = x;`), through an alias (`const m2 = x.m2;`), or in the
// parameter list (`({ s0, m2 }: T0, y: number)`); what it binds joins the numbers and arrays in
// scope (field arrays are never iterated with for...of, which tsgrad takes over array parameters
// only). Fields are never written, and objects never passed on (tsgrad refuses both). A point's
// coordinates fill an object field by field, depth first (argsOf); f may return `{ s, u0 }`.
//
//   { obj: [{ t: "number", how: 2 }, { t: { array: "Float64Array", n: 2 }, how: 0 }], iface: false }   as x
//   → f(x: { s0: number; w1: Float64Array })   const { s0: s0r } = x;   ... s0r ... x.w1[i0] ...
//
// The everyday statements and values of issue 13, in every family: `var` (declarations, and for
// counters read after their loop: a var is read only in its block, after it, where tsgrad takes it
// as a let), `switch` (on a data parameter or on `Math.floor(e)`: shared labels, fall-through,
// default, cases ending in break, return or continue), assignments and ++/-- inside expressions
// (`v1 = v0 = e`, `s += (t = e)`, `(v0 = e, v0 * v0)`, `x[j0++ % x.length]`, `while ((k0 -= 1) >=
// 0)`, `i0++, i1--`; none where tsgrad refuses one: right of && or || or in a branch of ?: inside a
// condition, which for tsgrad includes the operand of floor-like calls and a switch's
// discriminant), `||` and `&&` on numbers (`Math.max(v0, 0) || y`), global constants (`let v0 =
// -Infinity; if (e > v0) v0 = e;`, `Math.abs(d) > Number.EPSILON`, `e * e + Number.EPSILON`), and
// data parameters of f (a mode `"a" | "b" | "c"`, a boolean, enums E and S; their value fixed by the
// template, their gradient `undefined`), tested (`y === "b"`, `!z`) and switched on. TypeScript
// narrows a data parameter by the tests it passes and refuses a comparison with a value it has
// ruled out, so the printer tracks the values each can still have (DataVar).
//
//   { k: "switch", on: 0, e, clauses: [{ labels: [0, 2], body: [...], end: "fall", r }], dflt: ... }   with y: E
//   → switch (y) { case E.A: case E.C: ... default: ... }

import fc from "fast-check";

// ------------------------------------------------------------------------------------------------
// Operations and their domains (mirrors runtime/rules/scalar.ts; test/fuzz.test.ts checks that
// every rule there is generated here).
// ------------------------------------------------------------------------------------------------

/** Where a unary operation is smooth and its derivative moderate. */
export type Domain = "any" | "pos" | "unit" | "gt1" | "nonzero" | "tan";

export const unaryOps = {
  "Math.exp": "any",
  "Math.expm1": "any",
  "Math.log": "pos",
  "Math.log1p": "pos",
  "Math.log2": "pos",
  "Math.log10": "pos",
  "Math.sqrt": "pos",
  "Math.cbrt": "nonzero", // cbrt'(0) is infinite
  "Math.sin": "any",
  "Math.cos": "any",
  "Math.tan": "tan",
  "Math.asin": "unit",
  "Math.acos": "unit",
  "Math.atan": "any",
  "Math.sinh": "any",
  "Math.cosh": "any",
  "Math.tanh": "any",
  "Math.asinh": "any",
  "Math.acosh": "gt1",
  "Math.atanh": "unit",
  "Math.abs": "any", // kink at 0: recorded by the reference
} as const satisfies Record<string, Domain>;
export type UnaryOp = keyof typeof unaryOps;

export const binaryOps = ["+", "-", "*"] as const;
export const variadicOps = ["Math.max", "Math.min", "Math.hypot"] as const;
export const piecewiseOps = ["Math.floor", "Math.ceil", "Math.round", "Math.trunc", "Math.sign"] as const;
/** How `**` is generated: integer exponent of anything, constant or variable exponent of a positive base, constant positive base. */
export const powForms = ["int", "posConst", "posVar", "constBase", "Math.pow"] as const;

/**
 * Every rule name of runtime/rules/scalar.ts the generator produces, with the Expr kind that
 * produces it (copy: `const v = x`; neg: unary minus; sigmoid: `1 / (1 + Math.exp(-a))`).
 */
export const generatedRules: readonly string[] = [
  "copy",
  "neg",
  "sigmoid",
  "/",
  "%",
  "**",
  "Math.pow",
  "Math.atan2",
  ...binaryOps,
  ...variadicOps,
  ...Object.keys(unaryOps),
];

// ------------------------------------------------------------------------------------------------
// Templates
// ------------------------------------------------------------------------------------------------

export type Expr =
  | { k: "const"; v: number }
  | { k: "ref"; i: number }
  | { k: "bin"; op: (typeof binaryOps)[number]; a: Expr; b: Expr }
  /** a / b with b made positive by form w. */
  | { k: "div"; a: Expr; b: Expr; w: number }
  /** a % b with b made positive by form w. */
  | { k: "mod"; a: Expr; b: Expr; w: number }
  | { k: "neg"; a: Expr }
  /** fn(a) with a brought into fn's domain by form w. */
  | { k: "unary"; fn: UnaryOp; a: Expr; w: number }
  | { k: "pow"; form: (typeof powForms)[number]; a: Expr; b: Expr; w: number; c: number }
  | { k: "variadic"; fn: (typeof variadicOps)[number]; args: Expr[] }
  | { k: "atan2"; a: Expr; b: Expr }
  | { k: "sigmoid"; a: Expr }
  | { k: "piecewise"; fn: (typeof piecewiseOps)[number]; a: Expr; b: Expr }
  | { k: "ternary"; c: Cond; a: Expr; b: Expr }
  /**
   * A call of helper i (mod the helpers declared before this function) on the first args; an array
   * parameter of the helper gets an array in scope of its length and a kind it accepts (arrs[j] mod
   * those: parameters, tables, local arrays no longer written; with none, a table made for it).
   */
  | { k: "call"; i: number; args: Expr[]; arrs?: number[] }
  /**
   * `xs.reduce(cb, init)` (no init: `xs.reduce(cb)`), or with `map`, `xs.map(map).reduce(cb, init)`,
   * over an array in scope that has these methods (arr mod those; with none, cb's body alone); with
   * `op`, cb returns `acc0 + body` (or `acc0 * body`), a sum or product as most reductions are.
   */
  | { k: "reduce"; arr: number; cb: Callback; init: Expr | null; map: Callback | null; op: "+" | "*" | null }
  /** `Math.max(...xs.map(cb))` or (from) `Math.max(...Array.from(xs, cb))`, or Math.min (as reduce with no array). */
  | { k: "spread"; max: boolean; from: boolean; arr: number; cb: Callback }
  /** An element of an array in scope (arr mod those: local arrays, most recently written first, then parameters); with none, ref `ix.of`. */
  | { k: "elem"; arr: number; ix: Index }
  /** x.length (a constant for the gradient); with no array in scope, a constant. */
  | { k: "len"; arr: number }
  /**
   * An assignment as a value: `v0 = e`, `v0 += e`, ... (target mod the assignable variables), so
   * `v1 = v0 = e`, `s += (t = x * x)`, `(v0 = e) * v0`. Where tsgrad refuses an assignment (right
   * of && or || and in a branch of ?: inside a condition), and with nothing assignable: e alone.
   */
  | { k: "set"; target: number; op: "=" | "+=" | "-=" | "*="; e: Expr }
  /** v0++, v0--, ++v0, --v0 as a value (where no assignment may go: v0). */
  | { k: "bump"; target: number; op: "++" | "--"; pre: boolean }
  /** (v0 = e, a): a comma expression, `a` read after the assignment (where no assignment may go: a). */
  | { k: "comma"; target: number; e: Expr; a: Expr }
  /**
   * a || b, a && b on numbers (`w || 1` is `w ? w : 1`), a in form w: a itself, Math.max(a, 0) or
   * Math.floor(a) (which are 0 on whole regions, so both operands get chosen).
   */
  | { k: "logic"; op: "&&" | "||"; w: number; a: Expr; b: Expr };

/**
 * The callback of an array method, written in place: `(acc0, el0, ix0) => body` (reduce: the
 * accumulator, the element, the index if `index`; map and Array.from: the element and the index).
 * With `locals`, a block: `{ const t0 = e; let t1 = e; return body; }` (a let may be assigned by
 * what follows it; nothing outside the callback is, as tsgrad refuses that); `fn`: a function
 * expression, `function (acc0, el0) { ... }`. Its parameters are named by nesting depth (acc0 at
 * the outermost callback, acc1 inside it), so sibling callbacks share names.
 */
export interface Callback {
  index: boolean;
  fn: boolean;
  locals: { kw: "const" | "let"; e: Expr }[] | null;
  body: Expr;
}

export type Cond =
  | { k: "cmp"; op: ">" | "<" | ">=" | "<="; a: Expr; b: Expr }
  | { k: "and" | "or"; a: Cond; b: Cond }
  | { k: "not"; a: Cond }
  /** A boolean local (index mod those in scope), or `alt` where there is none. */
  | { k: "flag"; i: number; alt: Cond }
  /**
   * A test of a data parameter (i mod those in scope): `y === "b"`, `y !== E.B`, `z`, `!z`; the
   * value v mod the values its type still has there (TypeScript narrows: see Printer.narrowed),
   * or `alt` where there is none.
   */
  | { k: "is"; i: number; v: number; not: boolean; alt: Cond };

/**
 * for       for (let i0 = 0; i0 < 3; i0++)        forDown  for (let i0 = 3; i0 > 0; i0--)
 * forStep   for (let i0 = 0; i0 < 3; i0 += 1)     forBreak for (let i0 = 0; ; i0++) { if (i0 >= 3) break; ...
 * forPair   for (let i0 = 0, i1 = 2; i0 < 3; i0++, i1--)
 * while     let k0 = 0; while (k0 < 3) { k0++; ...    do   let k0 = 0; do { k0++; ... } while (k0 < 3);
 * whilePost let k0 = 0; while (k0++ < 3) { ...        whileDec  let k0 = 3; while ((k0 -= 1) >= 0) { ...
 * doPre     let k0 = 0; do { ... } while (++k0 < 3);
 * The for forms may declare their counters with `var` (Stmt loop.var), read after the loop.
 */
export const loopForms = [
  "for",
  "forDown",
  "forStep",
  "forBreak",
  "forPair",
  "while",
  "do",
  "whilePost",
  "whileDec",
  "doPre",
] as const;
export type LoopForm = (typeof loopForms)[number];

/**
 * A clause of a switch: `case L1: case L2: body end` (labels mod the values the discriminant can
 * take there, repeats dropped; a clause left with none is not printed). end: `break;`, nothing
 * (fall-through), `return r;` or `continue;` (the last clause breaks instead, so code after the
 * switch is reachable; continue outside a loop breaks too).
 */
export interface Clause {
  labels: number[];
  body: Stmt[];
  end: "break" | "fall" | "return" | "continue";
  r: Expr;
}

export type Stmt =
  /** const v0 = e, let v0 = e, var v0 = e (a var behaves as a let: read only in its block, after it). */
  | { k: "decl"; kw: "const" | "let" | "var"; e: Expr }
  | { k: "assign"; target: number; op: "=" | "+=" | "-=" | "*="; e: Expr }
  /** v /= P or v %= P, P made positive by form w. */
  | { k: "posAssign"; op: "/=" | "%="; target: number; e: Expr; w: number }
  /** v **= 2 (or 3). */
  | { k: "powAssign"; target: number; c: number }
  /** const b0 = <condition>; */
  | { k: "flag"; c: Cond }
  | { k: "step"; target: number; op: "++" | "--" }
  | { k: "if"; c: Cond; then: Stmt[]; else: Stmt[] | null }
  /**
   * A loop of at most `trips` iterations; `c`, if any, is a data-dependent extra exit test; `var`:
   * a for form's counters are declared with var and read after the loop.
   */
  | { k: "loop"; form: LoopForm; trips: number; c: Cond | null; body: Stmt[]; var: boolean }
  | { k: "exit"; kind: "break" | "continue"; c: Cond }
  | { k: "return"; c: Cond; e: Expr }
  /**
   * A local array declared here, anywhere: in a loop or a branch (tsgrad makes it once, before the
   * outermost one, and fills it again each time), after an early return; made as `a.make` says
   * (`const u3 = x.map(cb);`, `let u3 = [v0, x[1]];`); in its block only.
   */
  | { k: "newArray"; a: LocalArray }
  /**
   * `let` arrays of one kind and length that change places (2 or 3; the first made decides the kind
   * and length, the others made to match): `let u1 = x.slice(); let u2 = new Float64Array(x.length);`
   */
  | { k: "buffers"; arrays: LocalArray[] }
  /**
   * The let arrays of a group in scope (g mod those no helper was given) change places, form mod the
   * forms there are: by destructuring (`[u1, u2] = [u2, u1];`), a rotation of three (`[u1, u2, u3] =
   * [u2, u3, u1];`) or a swap of two of them, or, in a block (a tmp at the top level would hold an
   * array of the group for the rest of the function), through a tmp (`const tmp0 = u1; u1 = u2; u2 =
   * tmp0;`, rotating three so too). With no group, nothing.
   */
  | { k: "rebind"; g: number; form: number }
  /**
   * A let array in scope (arr mod those no helper was given) given a new array of its kind and
   * length (Printer.replace): `h = h.map(cb)` (a.make map, over h itself where it can), `h =
   * x.slice()`, `h = new Float64Array(x.length)`; or, with `call`, the array a helper tsgrad inlines
   * returns, `h = h2(h, v0)` (h2 returning `a.map(cb)`, Inline kind map). With none, nothing.
   */
  | { k: "replace"; arr: number; a: LocalArray; call: InlineCall | null }
  /**
   * Time steps over let arrays, double buffering or a recurrent state: the `arrays` declared as by
   * buffers, then a loop of `form` and `trips` (as Stmt loop) whose body is `body`, then maybe `for
   * (let i0 = 0; i0 < u2.length; i0++) u2[i0] = <fill>;` (u1 read first), then, under `if (c)` if
   * any, the arrays changing places (swap, with 2 or 3: Stmt rebind's `form`) or the first given a
   * new array (Stmt replace's `a` and `call`): `h = h.map((el0, ix0) => Math.tanh(el0 * y + x[ix0]));`.
   */
  | {
      k: "steps";
      form: LoopForm;
      trips: number;
      arrays: LocalArray[];
      body: Stmt[];
      fill: Expr | null;
      c: Cond | null;
      swap: boolean;
      rebind: number;
      a: LocalArray;
      call: InlineCall | null;
    }
  /** h0[ix] = e, += e, -= e on a local array (arr mod those in scope; none: nothing printed). */
  | { k: "store"; arr: number; ix: Index; op: "=" | "+=" | "-="; e: Expr }
  | { k: "storeStep"; arr: number; ix: Index; op: "++" | "--" }
  /** A loop over an array in scope (arr mod those; with none, `for (let i0 = 0; i0 < 2; i0++)`); `c` an extra exit test. */
  | { k: "arrayLoop"; form: ArrayLoopForm; arr: number; c: Cond | null; body: Stmt[] }
  /**
   * switch on a data parameter in scope (on mod those, plus one) or, for on = their number, on
   * `Math.floor(e)` (case labels -1 to 2); a default clause last, if any.
   */
  | { k: "switch"; on: number; e: Expr; clauses: Clause[]; dflt: Clause | null }
  /**
   * A running maximum (or minimum) from a global constant: `let v0 = -Infinity;` then `if (e > v0)
   * v0 = e;` for each e (init picks -Infinity, Number.NEGATIVE_INFINITY or -Number.MAX_VALUE); with
   * `over`, inside a loop over an array in scope (arr mod those).
   */
  | { k: "extreme"; max: boolean; init: number; es: Expr[]; over: boolean; arr: number }
  /** `let j0 = 0;`: a cursor, read and moved in indices (`x[j0++ % x.length]`, Index form cursor). */
  | { k: "cursor" }
  /**
   * `for (const [i0, e0] of xs.entries()) { ... }` over an array in scope that has entries() (arr mod
   * those; with none, a counting loop), `c` an exit test at the top of the body (`if (c) break;`).
   */
  | { k: "entries"; arr: number; c: Cond | null; body: Stmt[] }
  /** A call of a helper tsgrad inlines (InlineCall, Inline): `h0(u1, x, v0);`, `const u2 = h1(x, 0.5);`, `const { mean, sd: sd1 } = h2(x);`. */
  | ({ k: "inline" } & InlineCall);

/**
 * A call of an unmarked helper that tsgrad inlines where a @differentiable function calls it
 * (Inline; i mod those declared before; with none, nothing is printed). Each array parameter gets
 * an array of its length and kind (arrs[j] mod those that fit): the parameter it writes, an array
 * the caller created and may still write (a local array, or one an earlier call returned), never a
 * parameter or a table; the others any array parameter or local array (tsgrad takes no table
 * there), or, with none, a list made in place (`[v0, x[1]]`); number parameters get args[j mod].
 *   out:    h0(u1, x, v0);     or, fresh, h0(new Float64Array(3), x, v0)
 *           named (the helper returns out, at the top level, given no let array): const u2 =
 *           h0(u1, x, v0);   (u2 is u1)
 *   array:  const u2 = h1(x, v0);
 *   map:    const u2 = h3(x, v0);   or, giving a let array a new state (Stmt replace): h = h3(h, v0);
 *   object: const { mean, sd: sd1 } = h2(x, v0);        (drop: the fields left out, bit k for field k;
 *           rename: bit k renames field k, as does a name already bound)
 * A helper that creates an array (its own, or in place, or through the helpers it calls) is called
 * where the function may create one: anywhere but in a helper that creates none (Inline scratch);
 * tsgrad makes arrays created in loops and branches once, before them. One that passes an array
 * parameter on to a helper it does not inline freezes what the caller gives it there, as such a
 * call does (Printer.passed).
 */
export interface InlineCall {
  i: number;
  args: Expr[];
  arrs: number[];
  fresh: boolean;
  named: boolean;
  drop: number;
  rename: number;
}

/**
 * An unmarked helper that returns an array or an object, or writes an element of an array
 * parameter: tsgrad inlines it where a @differentiable function calls it (ir/inlining.ts), so it
 * has no return but the last (its early returns print nothing, as f's returning an array).
 *   out     a parameter `out` (params[at], outKind) it writes (the body's element writes may go
 *           there too), ending with writes of every element, `out[i0] op <ret>` in a loop over
 *           out.length (loop) or `out[0] op <ret>; out[1] op <es[0]>; ...`, then `return out;`
 *           (returnsOut) or nothing (void): gl-matrix's `cross(out, a, b)`, BLAS's axpy (op +=)
 *   array   the local array locals[returns] (created at its top, maybe filled by a loop), ending with
 *           the same writes into it and `return u0;`, or, with tail, `return h1(...)`, the array an
 *           earlier such helper returns
 *   object  `return { mean: <ret>, sd: <es[0]>, ... }` (the keys of fields, OBJECT_KEYS), a field
 *           true declared first, `const mean = <ret>;`, and returned by shorthand, `{ mean }`
 *   map     `return a.map((el0, ix0) => <ret>);`, a the array parameter params[at] (a Float64Array,
 *           or for outKind number[] a readonly number[]): a new state for a recurrent one, `h =
 *           h2(h, v0)` (Stmt replace); the callback takes the index with `loop`, and is a function
 *           expression with `returnsOut`
 * Without scratch, an out, object or map helper creates no array (its locals and newArray print
 * nothing); where a function may create arrays (not in such a helper), any of them may be called
 * anywhere, in loops and branches and after a return too.
 */
export interface Inline {
  kind: "out" | "array" | "object" | "map";
  at: number;
  outKind: "Float64Array" | "number[]";
  returnsOut: boolean;
  loop: boolean;
  op: "=" | "+=" | "-=";
  es: Expr[];
  fields: boolean[];
  scratch: boolean;
  tail: InlineCall | null;
}

/** The keys of the objects inlined helpers return, in order: `{ mean: number; sd: number }`. */
export const OBJECT_KEYS = ["mean", "sd", "lo", "hi"] as const;

/** How an array parameter is declared; its gradient has the same kind (`number[]` for a readonly one). */
export const arrayKinds = ["Float64Array", "number[]", "readonly number[]"] as const;
export type ArrayKind = (typeof arrayKinds)[number];
/**
 * A helper's array parameter may also be `ArrayLike<number>`, which takes any array (its gradient
 * has the kind of the array passed: an Array for the plain arrays of a point). It has no methods:
 * it is read by index and `.length`, and by `Array.from(xs, cb)`, never by for...of.
 */
export const helperArrayKinds = [...arrayKinds, "ArrayLike<number>"] as const;
export type ParamArrayKind = (typeof helperArrayKinds)[number];

/**
 * A number, or an array of n numbers (n fixed by the template: the printer keeps indices below it),
 * or an object (object programs' f only), or data (f only).
 */
export type ParamType = "number" | { array: ParamArrayKind; n: number } | ObjType | DataType;

/**
 * A data parameter of f, which the function branches on and which has no gradient (its slot is
 * `undefined`): a string-literal mode `"a" | "b" | "c"`, a `boolean` flag, a numeric enum `E` or a
 * string enum `S` (declared before the functions). Its value, `v` mod its values, is fixed by the
 * template (a point has no coordinate for it).
 */
export const dataKinds = ["mode", "flag", "enum", "senum"] as const;
export type DataKind = (typeof dataKinds)[number];
export interface DataType {
  data: DataKind;
  v: number;
}

/** Each data kind's values: as TypeScript spells them, as the reference twin does, and at run time. */
export const dataValues: Record<DataKind, { ts: string[]; js: string[]; run: (string | number | boolean)[] }> = {
  mode: { ts: ['"a"', '"b"', '"c"'], js: ['"a"', '"b"', '"c"'], run: ["a", "b", "c"] },
  flag: { ts: ["true", "false"], js: ["true", "false"], run: [true, false] },
  enum: { ts: ["E.A", "E.B", "E.C"], js: ["0", "1", "2"], run: [0, 1, 2] },
  senum: { ts: ["S.A", "S.B", "S.C"], js: ['"a"', '"b"', '"c"'], run: ["a", "b", "c"] },
};
const dataTs: Record<DataKind, string> = { mode: '"a" | "b" | "c"', flag: "boolean", enum: "E", senum: "S" };
const enumDeclarations: Partial<Record<DataKind, string>> = {
  enum: "export enum E {\n  A,\n  B,\n  C,\n}",
  senum: 'export enum S {\n  A = "a",\n  B = "b",\n  C = "c",\n}',
};

/** A field of an object parameter: a number, an array or a nested object. */
export type FieldType = "number" | { array: ArrayKind; n: number } | ObjType;

/**
 * An object type: its fields in order, keyed by the printer (`s0` a number, `w1` an array, `m2` an
 * object: a counter per function, so every key, and every name bound to one, is unique in f), as a
 * type literal or (iface) an interface declared before f. inList (parameters only): destructured
 * in f's parameter list, `({ s0, w1 }: T0, y: number)`.
 */
export interface ObjType {
  obj: Field[];
  iface: boolean;
  inList?: boolean;
}

/**
 * How a field is read (how mod 4), from its object's base (the parameter, a name bound to the
 * object, or a path):
 *   0 path          x.s0, x.m2.w4[i]            (an object's fields then from the path)
 *   1 destructured  const { s0, m2 } = x;        (an object's fields then from its name)
 *   2 renamed       const { s0: s0r } = x;       an object: nested, const { m2: { s3: s3r } } = x;
 *   3 alias         const m2 = x.m2;
 * In a parameter list every field is bound (0 → 1, 3 → 2, objects 1): there is no base to read from.
 */
export interface Field {
  t: FieldType;
  how: number;
}

export const isObj = (t: ParamType | FieldType): t is ObjType => typeof t === "object" && "obj" in t;
export const isData = (t: ParamType | FieldType): t is DataType => typeof t === "object" && "data" in t;
export const isArrayParam = (t: ParamType | FieldType): t is { array: ParamArrayKind; n: number } =>
  typeof t === "object" && "array" in t;

/**
 * An index into an array of n elements (see Printer.index), i an enclosing loop counter (`of` mod
 * those in scope, innermost first; with none, the constant form), c a small constant:
 *   constant   c mod n                     counter   i
 *   reversed   x.length - 1 - i            next      i + 1
 *   previous   i - 1                       clamped   Math.min(i + c, x.length - 1)
 *   data       Math.floor(Math.abs(v) * 2) % x.length, v a number variable (`of` mod those in
 *              scope): piecewise constant, its jumps recorded by the reference like floor's
 *   cursor     j0++ % x.length (c odd: ++j0 % x.length), j0 a cursor (Stmt cursor; `of` mod those
 *              in scope; with none, the constant form; where no assignment may go, j0 % x.length)
 * A form that could leave [0, n) for its counter's range is wrapped: (i + 1) % x.length.
 */
export const indexForms = ["constant", "counter", "reversed", "next", "previous", "clamped", "data", "cursor"] as const;
export interface Index {
  form: (typeof indexForms)[number];
  of: number;
  c: number;
}

/**
 * up     for (let i0 = 0; i0 < x.length; i0++)         down   for (let i0 = x.length - 1; i0 >= 0; i0--)
 * from1  for (let i0 = 1; i0 < x.length; i0++)         pairs  for (let i0 = 0; i0 + 1 < x.length; i0++)
 * inner  for (let i1 = i0 + 1; i1 < x.length; i1++)   (i0 the innermost enclosing for counter, else 0)
 * of     for (const e0 of x)                           (x an array parameter, arr mod those; with none, as up)
 */
export const arrayLoopForms = ["up", "down", "from1", "pairs", "inner", "of"] as const;
export type ArrayLoopForm = (typeof arrayLoopForms)[number];

/**
 * `const u0 = new Float64Array(n)` or `new Array<number>(n).fill(0)`: n = len + 1 for len < 4, else
 * the length of array parameter len - 4 (mod those there are); with `init`, then filled by a loop:
 * `for (let i0 = 0; i0 < u0.length; i0++) u0[i0] = <init>;` (init sees i0, not u0). With `make`
 * (the arrays statements make: Stmt newArray, buffers, replace, steps), made as it says.
 */
export interface LocalArray {
  kind: "Float64Array" | "Array";
  len: number;
  init: Expr | null;
  make?: ArrayMake;
}

/**
 * How a statement makes an array (Printer.making), of kind LocalArray.kind where the form allows:
 *   zeros    new Float64Array(x.length), new Array<number>(3).fill(0)   (length as LocalArray.len)
 *   fill     new Array<number>(3).fill(<es[0]>)                           (a Float64Array: zeros)
 *   copy     x.slice(), [...x], Array.from(x), new Float64Array(x), Float64Array.from(x)
 *   map      x.map(cb), Array.from(x, cb), Float64Array.from(x, cb)
 *   literal  [<es[0]>, <es[1]>, ...]                                      (a number[] of len + 1)
 * copy and map go over an array in scope (src mod those; with none, zeros), spelled as `spell`
 * picks among the spellings its kind and the source's allow. `let`: declared with let (a single
 * let array, which Stmt replace may give a new one).
 */
export interface ArrayMake {
  how: "zeros" | "fill" | "copy" | "map" | "literal";
  src: number;
  spell: number;
  cb: Callback;
  es: Expr[];
  let: boolean;
}
export const arrayMakes = ["zeros", "fill", "copy", "map", "literal"] as const;

export interface FnTemplate {
  params: ParamType[];
  body: Stmt[];
  ret: Expr;
  /**
   * Also return the sum of every number variable in scope at the end (`return e + (v1 + v0 + x)`),
   * so that each value the body computes reaches the result and its gradient is checked (as
   * Csmith prints a checksum of all variables); dead values would get no adjoint at all.
   */
  sink: boolean;
  /** Arrays created before the body (array programs only): `const u0 = new Float64Array(x.length);` */
  locals?: LocalArray[];
  /**
   * Array programs' f only: return the array `locals[returns]` (mod their number; with none, a
   * number as usual) after adding `ret` (and the sink) into its first element, so f is
   * vector-valued (checked through vjp and jacobian; its early returns print nothing, as tsgrad
   * wants one return of an array, at the end).
   */
  returns?: number | null;
  /** Object programs' f returning an array: return `{ s: <ret>, u: u0 }` instead (u0 unchanged). */
  retObj?: boolean;
  /**
   * Array programs' helpers: not marked, `function h0(...)` or `const h0 = (...) => ...` (a body of
   * one return prints as an expression body); tsgrad differentiates them for their callers only,
   * so they are checked through the functions that call them.
   */
  unmarked?: "function" | "arrow" | null;
  /** Array programs' helpers: one tsgrad inlines (Inline), unmarked; an out helper has its `out` at params[inline.at]. */
  inline?: Inline | null;
  /**
   * Array programs: calls of helpers tsgrad inlines at the top level, after `locals` and before the
   * body (Stmt inline prints them anywhere).
   */
  calls?: InlineCall[];
}

/** A module: helpers h0, h1, ... (each may call the ones before it), the function under test f, and candidate points for f. */
export interface Program {
  helpers: FnTemplate[];
  main: FnTemplate;
  points: number[][];
  /** Array programs: module-level tables, `const W0 = [0.5, -0.7, 2.5];` (not exported), read and passed by every function. */
  tables?: number[][];
}

// ------------------------------------------------------------------------------------------------
// Arbitraries
// ------------------------------------------------------------------------------------------------

export interface Sizes {
  /** Nesting depth of expressions. */
  exprDepth: number;
  /** Nesting depth of if/loop statements. */
  stmtDepth: number;
  /** Statements per block. */
  blockLength: number;
  helpers: number;
  /** Parameters of f (helpers take 1 or 2; in array programs 1 to 3). */
  maxParams: number;
  points: number;
  /**
   * Array programs: f's and the helpers' parameters may be arrays, passed on to helpers (marked or
   * not), functions create local arrays, read and write elements, loop over arrays, read module
   * tables and call reduce, map and entries(). false: the scalar generator, which draws exactly as
   * it did before arrays; "mixed": either, half and half.
   */
  arrays: boolean | "mixed";
  /**
   * Object programs (array programs whose f also takes object parameters, fields read by path,
   * through const aliases and destructuring, and may return `{ s, u }`). With arrays "mixed", a
   * third family beside scalar and array programs.
   */
  objects?: boolean;
}

export const defaultSizes: Sizes = {
  exprDepth: 3,
  stmtDepth: 2,
  blockLength: 4,
  helpers: 2,
  maxParams: 3,
  points: 3,
  arrays: false,
};

/** Array parameters have 1 to MAX_LENGTH elements: a point of an array program has maxParams * MAX_LENGTH coordinates. */
export const MAX_LENGTH = 4;

// Constants: none is an integer, so a loop counter compared with one is never at a tie.
// SCALE is a module-level constant (declared by the modules that use it); Math.PI a Math constant.
const SCALE = 0.75;
// Number.EPSILON, a global constant, mostly shows up as a threshold (`Math.abs(v0) > Number.EPSILON`).
const constants = [0.5, 1.5, 0.3, -0.7, 2.5, 1.3, -1.5, 0.25, 3.5, -0.4, SCALE, Math.PI, Number.EPSILON] as const;
const constantNames = new Map<number, string>([
  [SCALE, "SCALE"],
  [Math.PI, "Math.PI"],
  [Number.EPSILON, "Number.EPSILON"],
]);
const REF_RANGE = 15;
const FORM_RANGE = 11;

/** Builds the arbitraries for one set of sizes (memoised per depth: the grammar is small). */
export function programArbitrary(sizes: Partial<Sizes> = {}): fc.Arbitrary<Program> {
  const s = { ...defaultSizes, ...sizes };
  if (s.arrays === "mixed") {
    const two = [
      programArbitrary({ ...s, arrays: false, objects: false }),
      programArbitrary({ ...s, arrays: true, objects: false }),
    ];
    return s.objects ? fc.oneof(...two, programArbitrary({ ...s, arrays: true, objects: true })) : fc.oneof(...two);
  }
  if (s.objects) return objectProgramArbitrary(s);
  // Array-only choices are appended to the scalar ones (fc.oneof draws the same for the same list).
  const arrays = s.arrays;
  const withArrays = <T>(...xs: T[]): T[] => (arrays ? xs : []);
  // mostly a constant or the counter itself (shrinking goes to the constant); a cursor where there is one
  const form = fc.oneof(
    ...indexForms.map((f, i) => ({ weight: i < 2 ? 4 : f === "cursor" ? 2 : 1, arbitrary: fc.constant(f) })),
  );
  const ix: fc.Arbitrary<Index> = fc.record({ form, of: fc.nat(3), c: fc.nat(7) });
  const arr = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.nat(3) });
  const w = fc.nat(FORM_RANGE);
  const constant = fc.constantFrom(...constants).map((v): Expr => ({ k: "const", v }));
  // index 0 is the variable written last (Scope): favour it, so values flow on to the result
  const index = fc.oneof(
    { weight: 2, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.constant(1) },
    { weight: 2, arbitrary: fc.nat(REF_RANGE) },
  );
  const target = index;
  const assignOps = ["=", "+=", "-=", "*="] as const;
  const leaf: fc.Arbitrary<Expr> = fc.oneof(
    { weight: 4, arbitrary: index.map((i): Expr => ({ k: "ref", i })) },
    { weight: 1, arbitrary: constant },
    ...withArrays(
      { weight: 4, arbitrary: fc.record({ k: fc.constant("elem" as const), arr, ix }) as fc.Arbitrary<Expr> },
      { weight: 1, arbitrary: fc.record({ k: fc.constant("len" as const), arr }) as fc.Arbitrary<Expr> },
    ),
  );

  // a callback: mostly an arrow with an expression body; a block of a few locals; a function expression
  const callbackOf = (body: fc.Arbitrary<Expr>): fc.Arbitrary<Callback> =>
    fc.record({
      index: fc.boolean(),
      fn: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      locals: fc.oneof(
        { weight: 3, arbitrary: fc.constant(null) },
        {
          weight: 2,
          arbitrary: fc.array(fc.record({ kw: fc.constantFrom("const" as const, "let" as const), e: body }), {
            maxLength: 2,
          }),
        },
      ),
      body,
    });
  const exprs: fc.Arbitrary<Expr>[] = [leaf];
  const conds: fc.Arbitrary<Cond>[] = [];
  // a comparison is mostly against a threshold constant, sometimes against another expression
  const condOf = (e: fc.Arbitrary<Expr>): fc.Arbitrary<Cond> => {
    const rhs = fc.oneof({ weight: 2, arbitrary: constant }, { weight: 1, arbitrary: e });
    const cmp = fc.record({
      k: fc.constant("cmp" as const),
      op: fc.constantFrom(">" as const, "<" as const, ">=" as const, "<=" as const),
      a: e,
      b: rhs,
    });
    return fc.oneof(
      { withCrossShrink: true },
      { weight: 6, arbitrary: cmp },
      { weight: 1, arbitrary: fc.record({ k: fc.constantFrom("and" as const, "or" as const), a: cmp, b: cmp }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant("not" as const), a: cmp }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant("flag" as const), i: fc.nat(3), alt: cmp }) },
      {
        weight: 2,
        arbitrary: fc.record({
          k: fc.constant("is" as const),
          i: fc.nat(3),
          v: fc.nat(5),
          not: fc.boolean(),
          alt: cmp,
        }),
      },
    );
  };
  conds.push(condOf(leaf));
  for (let d = 1; d <= s.exprDepth; d++) {
    const sub = exprs[d - 1];
    const rec = <T>(r: { [K in keyof T]: fc.Arbitrary<T[K]> }) => fc.record(r) as fc.Arbitrary<any>;
    const kind = <K extends Expr["k"]>(k: K) => fc.constant(k);
    exprs.push(
      // withCrossShrink: a failing compound expression also shrinks toward a mere variable
      fc.oneof(
        { withCrossShrink: true },
        { weight: 6, arbitrary: leaf },
        { weight: 6, arbitrary: rec({ k: kind("bin"), op: fc.constantFrom(...binaryOps), a: sub, b: sub }) },
        { weight: 2, arbitrary: rec({ k: kind("div"), a: sub, b: sub, w }) },
        { weight: 1, arbitrary: rec({ k: kind("mod"), a: sub, b: sub, w }) },
        { weight: 1, arbitrary: rec({ k: kind("neg"), a: sub }) },
        {
          weight: 7,
          arbitrary: rec({ k: kind("unary"), fn: fc.constantFrom(...(Object.keys(unaryOps) as UnaryOp[])), a: sub, w }),
        },
        {
          weight: 2,
          arbitrary: rec({ k: kind("pow"), form: fc.constantFrom(...powForms), a: sub, b: sub, w, c: fc.nat(7) }),
        },
        {
          weight: 2,
          arbitrary: rec({
            k: kind("variadic"),
            fn: fc.constantFrom(...variadicOps),
            args: fc.array(sub, { minLength: 2, maxLength: 3 }),
          }),
        },
        { weight: 1, arbitrary: rec({ k: kind("atan2"), a: sub, b: sub }) },
        { weight: 1, arbitrary: rec({ k: kind("sigmoid"), a: sub }) },
        { weight: 1, arbitrary: rec({ k: kind("piecewise"), fn: fc.constantFrom(...piecewiseOps), a: sub, b: sub }) },
        { weight: 1, arbitrary: rec({ k: kind("ternary"), c: conds[d - 1], a: sub, b: sub }) },
        {
          weight: arrays ? 4 : 2,
          arbitrary: rec({
            k: kind("call"),
            i: fc.nat(3),
            args: fc.array(sub, { minLength: 2, maxLength: 2 }),
            // (array programs: the arrays passed to a helper's array parameters)
            ...(arrays ? { arrs: fc.array(arr, { minLength: 1, maxLength: 3 }) } : {}),
          }),
        },
        // assignments and updates inside expressions, and && / || on numbers
        { weight: 1, arbitrary: rec({ k: kind("set"), target, op: fc.constantFrom(...assignOps), e: sub }) },
        {
          weight: 1,
          arbitrary: rec({
            k: kind("bump"),
            target,
            op: fc.constantFrom("++" as const, "--" as const),
            pre: fc.boolean(),
          }),
        },
        { weight: 1, arbitrary: rec({ k: kind("comma"), target, e: sub, a: sub }) },
        {
          weight: 1,
          arbitrary: rec({ k: kind("logic"), op: fc.constantFrom("||" as const, "&&" as const), w, a: sub, b: sub }),
        },
        // array methods with callbacks written in place (their bodies one level shallower)
        ...withArrays<fc.WeightedArbitrary<Expr>>(
          {
            weight: 2,
            arbitrary: rec({
              k: kind("reduce"),
              arr,
              cb: callbackOf(sub),
              init: fc.oneof({ weight: 2, arbitrary: sub }, { weight: 1, arbitrary: fc.constant(null) }),
              map: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: callbackOf(sub) }),
              op: fc.oneof(
                { weight: 3, arbitrary: fc.constant("+" as const) },
                { weight: 1, arbitrary: fc.constant("*" as const) },
                { weight: 2, arbitrary: fc.constant(null) },
              ),
            }),
          },
          {
            weight: 1,
            arbitrary: rec({ k: kind("spread"), max: fc.boolean(), from: fc.boolean(), arr, cb: callbackOf(sub) }),
          },
        ),
      ),
    );
    conds.push(condOf(sub));
  }
  // statements use shallower expressions than the returned one (the printed forms nest quickly)
  const expr = exprs[Math.max(0, s.exprDepth - 1)];
  const small = exprs[Math.max(0, s.exprDepth - 2)];
  const cond = conds[Math.max(0, s.exprDepth - 2)];
  const localArray: fc.Arbitrary<LocalArray> = fc.record({
    kind: fc.constantFrom("Float64Array" as const, "Array" as const),
    len: fc.nat(7),
    init: fc.option(small, { nil: null }),
  });
  // an array a statement makes (Stmt newArray, buffers, replace, steps): zeros, a fill, a copy, a map, a literal
  const madeArray: fc.Arbitrary<LocalArray> = fc.record({
    kind: fc.constantFrom("Float64Array" as const, "Array" as const),
    len: fc.nat(7),
    init: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: small }),
    make: fc.record({
      how: fc.oneof(
        ...arrayMakes.map((how) => ({ weight: how === "copy" || how === "map" ? 3 : 2, arbitrary: fc.constant(how) })),
      ),
      src: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.nat(3) }),
      spell: fc.nat(5),
      cb: callbackOf(small),
      es: fc.array(small, { minLength: 1, maxLength: 3 }),
      let: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    }),
  });
  // a call of a helper tsgrad inlines (array programs): an out-parameter written, an array or an object returned
  const inlineCall: fc.Arbitrary<InlineCall> = fc.record({
    i: fc.nat(3),
    args: fc.array(small, { minLength: 1, maxLength: 2 }),
    arrs: fc.array(arr, { minLength: 1, maxLength: 3 }),
    fresh: fc.oneof({ weight: 2, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    named: fc.boolean(),
    drop: fc.nat(7),
    rename: fc.nat(7),
  });

  const simple: fc.Arbitrary<Stmt> = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        k: fc.constant("decl" as const),
        kw: fc.oneof(
          { weight: 2, arbitrary: fc.constant("const" as const) },
          { weight: 2, arbitrary: fc.constant("let" as const) },
          { weight: 1, arbitrary: fc.constant("var" as const) },
        ),
        e: expr,
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({ k: fc.constant("assign" as const), target, op: fc.constantFrom(...assignOps), e: expr }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant("posAssign" as const),
        op: fc.constantFrom("/=" as const, "%=" as const),
        target,
        e: small,
        w,
      }),
    },
    { weight: 1, arbitrary: fc.record({ k: fc.constant("powAssign" as const), target, c: fc.nat(1) }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant("flag" as const), c: cond }) },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant("step" as const),
        target,
        op: fc.constantFrom("++" as const, "--" as const),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant("exit" as const),
        kind: fc.constantFrom("break" as const, "continue" as const),
        c: cond,
      }),
    },
    { weight: 1, arbitrary: fc.record({ k: fc.constant("return" as const), c: cond, e: small }) },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant("extreme" as const),
        max: fc.boolean(),
        init: fc.nat(2),
        es: fc.array(small, { minLength: 1, maxLength: 3 }),
        over: fc.boolean(),
        arr,
      }),
    },
    ...withArrays<fc.WeightedArbitrary<Stmt>>(
      {
        weight: 5,
        arbitrary: fc.record({
          k: fc.constant("store" as const),
          arr,
          ix,
          op: fc.constantFrom("=" as const, "+=" as const, "-=" as const),
          e: expr,
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          k: fc.constant("storeStep" as const),
          arr,
          ix,
          op: fc.constantFrom("++" as const, "--" as const),
        }),
      },
      { weight: 3, arbitrary: fc.record({ k: fc.constant("newArray" as const), a: madeArray }) },
      { weight: 2, arbitrary: fc.record({ k: fc.constant("cursor" as const) }) },
      { weight: 9, arbitrary: inlineCall.map((c): Stmt => ({ k: "inline", ...c })) },
      // let arrays that change places, and a state given a new array
      {
        weight: 1,
        arbitrary: fc.record({
          k: fc.constant("buffers" as const),
          arrays: fc.array(madeArray, { minLength: 2, maxLength: 3 }),
        }),
      },
      { weight: 2, arbitrary: fc.record({ k: fc.constant("rebind" as const), g: fc.nat(3), form: fc.nat(7) }) },
      {
        weight: 2,
        arbitrary: fc.record({
          k: fc.constant("replace" as const),
          arr: fc.nat(3),
          a: madeArray,
          call: fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: inlineCall }),
        }),
      },
    ),
  );
  const blocks: fc.Arbitrary<Stmt[]>[] = [fc.array(simple, { maxLength: s.blockLength })];
  const stmts: fc.Arbitrary<Stmt>[] = [simple];
  for (let d = 1; d <= s.stmtDepth; d++) {
    const inner = blocks[d - 1];
    const arrayLoop = fc.record({
      k: fc.constant("arrayLoop" as const),
      form: fc.constantFrom(...arrayLoopForms),
      arr,
      c: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: cond }),
      body: inner,
    });
    // (short clauses: a switch has several)
    const clause: fc.Arbitrary<Clause> = fc.record({
      labels: fc.array(fc.nat(3), { minLength: 1, maxLength: 2 }),
      body: fc.array(stmts[d - 1], { maxLength: Math.ceil(s.blockLength / 2) }),
      end: fc.oneof(
        { weight: 3, arbitrary: fc.constant("break" as const) },
        { weight: 2, arbitrary: fc.constant("fall" as const) },
        { weight: 1, arbitrary: fc.constant("return" as const) },
        { weight: 1, arbitrary: fc.constant("continue" as const) },
      ),
      r: small,
    });
    // (a switch has several blocks: a program has one now and then)
    const stmt: fc.Arbitrary<Stmt> = fc.oneof(
      { withCrossShrink: true },
      { weight: 12, arbitrary: simple },
      {
        weight: 4,
        arbitrary: fc.record({
          k: fc.constant("if" as const),
          c: cond,
          then: inner,
          else: fc.option(inner, { nil: null }),
        }),
      },
      {
        weight: 4,
        arbitrary: fc.record({
          k: fc.constant("loop" as const),
          form: fc.constantFrom<LoopForm>(...loopForms),
          trips: fc.constantFrom(1, 2, 3, 0),
          // a data-dependent exit test now and then (with one, loops often stop at once)
          c: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: cond }),
          body: inner,
          var: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          k: fc.constant("switch" as const),
          on: fc.nat(2),
          e: small,
          clauses: fc.array(clause, { minLength: 1, maxLength: 3 }),
          dflt: fc.option(clause, { nil: null }),
        }),
      },
      ...withArrays<fc.WeightedArbitrary<Stmt>>(
        { weight: 6, arbitrary: arrayLoop },
        {
          weight: 2,
          arbitrary: fc.record({
            k: fc.constant("entries" as const),
            arr,
            c: fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: cond }),
            body: inner,
          }),
        },
        {
          weight: 3,
          arbitrary: fc.record({
            k: fc.constant("steps" as const),
            form: fc.constantFrom<LoopForm>(...loopForms),
            trips: fc.constantFrom(1, 2, 3, 0),
            arrays: fc.array(madeArray, { minLength: 1, maxLength: 3 }),
            body: inner,
            fill: fc.oneof({ weight: 2, arbitrary: small }, { weight: 1, arbitrary: fc.constant(null) }),
            c: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: cond }),
            swap: fc.oneof({ weight: 2, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
            rebind: fc.nat(7),
            a: madeArray,
            call: fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: inlineCall }),
          }),
        },
      ),
    );
    blocks.push(fc.array(stmt, { maxLength: s.blockLength }));
    stmts.push(stmt);
  }
  const inlineShape: fc.Arbitrary<Inline> = fc.record({
    kind: fc.oneof(
      { weight: 3, arbitrary: fc.constant("out" as const) },
      { weight: 2, arbitrary: fc.constant("array" as const) },
      { weight: 2, arbitrary: fc.constant("object" as const) },
      { weight: 3, arbitrary: fc.constant("map" as const) },
    ),
    at: fc.nat(3),
    outKind: fc.oneof(
      { weight: 2, arbitrary: fc.constant("Float64Array" as const) },
      { weight: 1, arbitrary: fc.constant("number[]" as const) },
    ),
    returnsOut: fc.boolean(),
    loop: fc.boolean(),
    op: fc.oneof(
      { weight: 2, arbitrary: fc.constant("=" as const) },
      { weight: 2, arbitrary: fc.constant("+=" as const) },
      { weight: 1, arbitrary: fc.constant("-=" as const) },
    ),
    es: fc.array(small, { maxLength: 2 }),
    fields: fc.array(fc.boolean(), { minLength: 1, maxLength: 3 }),
    scratch: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    tail: fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: inlineCall }),
  });
  const number = fc.constant("number" as ParamType);
  const data: fc.Arbitrary<ParamType> = fc.record({ data: fc.constantFrom(...dataKinds), v: fc.nat(2) });
  const arrayParam = fc.record({ array: fc.constantFrom(...arrayKinds), n: fc.integer({ min: 1, max: MAX_LENGTH }) });
  const fn = (
    minParams: number,
    maxParams: number,
    param: fc.Arbitrary<ParamType>,
    vector = false,
  ): fc.Arbitrary<FnTemplate> => {
    const scalar = {
      params: fc.array(param, { minLength: minParams, maxLength: maxParams }),
      body: blocks[s.stmtDepth],
      ret: exprs[s.exprDepth],
      sink: fc.boolean(),
    };
    if (!arrays) return fc.record(scalar);
    // (array programs: mostly with the sink, which reads every local array at the end; without it
    // arrays that change places may be read no more, "moved-then-unread", a bug fixed since)
    scalar.sink = fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) });
    const returns = fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat(1) });
    // a helper (not f) may be left unmarked: a function declaration or a const arrow
    const unmarked = fc.oneof(
      { weight: 2, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.constant("function" as const) },
      { weight: 1, arbitrary: fc.constant("arrow" as const) },
    );
    const locals = fc.array(localArray, { maxLength: 2 });
    const calls = fc.array(inlineCall, { maxLength: 2 });
    if (vector) return fc.record({ ...scalar, locals, returns, calls });
    // a helper may be one tsgrad inlines (shapeHelpers makes it unmarked, and gives an out helper its out)
    const inline = fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 3, arbitrary: inlineShape });
    return fc.record({ ...scalar, locals, unmarked, inline, returns: fc.nat(1), calls });
  };
  // f (not the helpers: a call passes numbers and arrays) may take data: a mode, a flag, an enum
  const mainParam = arrays
    ? fc.oneof({ weight: 2, arbitrary: number }, { weight: 4, arbitrary: arrayParam }, { weight: 1, arbitrary: data })
    : fc.oneof({ weight: 5, arbitrary: number }, { weight: 1, arbitrary: data });
  const program = {
    helpers: fc.array(fn(1, 2, number), { maxLength: s.helpers }),
    main: fn(1, s.maxParams, mainParam, true),
    points: fc.array(pointArb(s.maxParams * (arrays ? MAX_LENGTH : 1)), { minLength: s.points, maxLength: s.points }),
  };
  if (!arrays) return fc.record(program);
  // helpers of array programs take arrays too, of a kind callers can pass (ArrayLike<number> takes any)
  const helperArray = fc.record({
    array: fc.oneof(
      ...helperArrayKinds.map((k) => ({
        weight: k === "ArrayLike<number>" || k === "readonly number[]" ? 2 : 1,
        arbitrary: fc.constant(k),
      })),
    ),
    n: fc.integer({ min: 1, max: MAX_LENGTH }),
  }) as fc.Arbitrary<ParamType>;
  const helperParam = fc.oneof({ weight: 1, arbitrary: number }, { weight: 1, arbitrary: helperArray });
  const table = fc.array(fc.constantFrom(...tableValues), { minLength: 1, maxLength: MAX_LENGTH });
  return fc
    .record({
      ...program,
      helpers: fc.array(fn(1, 3, helperParam), { maxLength: s.helpers }),
      tables: fc.oneof(
        { weight: 2, arbitrary: fc.constant<number[][]>([]) },
        { weight: 2, arbitrary: fc.array(table, { minLength: 1, maxLength: 1 }) },
        { weight: 1, arbitrary: fc.array(table, { minLength: 2, maxLength: 2 }) },
      ),
    })
    .map((p) => fitOuts(fitHelpers(shapeHelpers(p))));
}

/**
 * An out helper's out made the length and kind of one of f's local arrays (inline.at mod those),
 * if f has any, so that f has an array to give it wherever it calls it (in loops too, where none
 * may be made in place).
 */
function fitOuts(p: Program): Program {
  // (f with no local array gets one for the first out helper: `const u0 = new Float64Array(3);`)
  const first = p.helpers.map(inlineOf).find((i) => i?.kind === "out");
  if (!p.main.locals?.length && first) {
    const h = p.helpers.find((h) => inlineOf(h) === first)!;
    const out = h.params[first.at] as { array: ParamArrayKind; n: number };
    const local: LocalArray = {
      kind: out.array === "Float64Array" ? "Float64Array" : "Array",
      len: out.n - 1,
      init: null,
    };
    p = { ...p, main: { ...p.main, locals: [local] } };
  }
  const locals = p.main.locals ?? [];
  if (!locals.length) return p;
  const helpers = p.helpers.map((h): FnTemplate => {
    const inline = inlineOf(h);
    if (inline?.kind !== "out") return h;
    const local = locals[inline.at % locals.length];
    const out: ParamType = {
      array: local.kind === "Float64Array" ? "Float64Array" : "number[]",
      n: localLength(local, p.main.params),
    };
    return {
      ...h,
      params: h.params.map((t, i) => (i === inline.at ? out : t)),
      inline: { ...inline, outKind: local.kind === "Float64Array" ? "Float64Array" : "number[]" },
    };
  });
  return { ...p, helpers };
}

/**
 * Helpers tsgrad inlines (Inline) made consistent: unmarked; an out helper given its out parameter
 * (at position inline.at mod one more than its parameters, which inline.at then names), a map
 * helper the array it maps, likewise; an array
 * helper given an array to return (locals[returns]); scratch arrays (locals) only where the shape
 * allows them. Every other helper returns a number (returns null).
 */
function shapeHelpers(p: Program): Program {
  const helpers = p.helpers.map((h): FnTemplate => {
    const inline = h.inline;
    if (!inline) return { ...h, returns: null };
    const unmarked = h.unmarked ?? "function";
    if (inline.kind === "array") {
      const locals = h.locals?.length ? h.locals : [{ kind: "Float64Array" as const, len: 4, init: null }];
      return { ...h, unmarked, locals, returns: h.returns ?? 0 };
    }
    const locals = inline.scratch ? h.locals : [];
    if (inline.kind === "object") return { ...h, unmarked, locals, returns: null };
    const at = inline.at % (h.params.length + 1);
    // (a map helper's array: one with a map method, of the kind its result has)
    const kind = inline.kind === "map" && inline.outKind === "number[]" ? "readonly number[]" : inline.outKind;
    const out: ParamType = { array: kind, n: (inline.at % MAX_LENGTH) + 1 };
    const params = [...h.params.slice(0, at), out, ...h.params.slice(at)];
    return { ...h, unmarked, locals, returns: null, params, inline: { ...inline, at } };
  });
  return { ...p, helpers };
}

/**
 * The lengths of the helpers' array parameters taken from those of f's array parameters and the
 * tables (a helper's length n → the (n mod their number)th), so that callers mostly have an array
 * of the length to pass (Expr call), the helpers' own calls too.
 */
function fitHelpers(p: Program): Program {
  const lengths = [
    ...p.main.params.flatMap((t) => (isArrayParam(t) ? [t.n] : [])),
    ...(p.tables ?? []).map((t) => t.length),
  ];
  if (!lengths.length) return p;
  const fit = (t: ParamType): ParamType => (isArrayParam(t) ? { ...t, n: lengths[(t.n - 1) % lengths.length] } : t);
  return { ...p, helpers: p.helpers.map((h) => ({ ...h, params: h.params.map(fit) })) };
}

/** The numbers of module tables (`const W0 = [0.5, -1.25, 2];`), and of those made for calls that find no array to pass. */
const tableValues = [0.5, -1.25, 2, 0.75, -0.3, 1.5] as const;

/**
 * Object programs: array programs whose f takes 1 to maxParams parameters, numbers, arrays and
 * objects nested up to 3 levels (param → object → object), and may return `{ s, u0 }`.
 * The array generator's choices are drawn as they are; only f's parameters and `retObj` differ.
 */
function objectProgramArbitrary(s: Sizes): fc.Arbitrary<Program> {
  const base = programArbitrary({ ...s, objects: false, arrays: true });
  const number = fc.constant("number" as const);
  const array = fc.record({ array: fc.constantFrom(...arrayKinds), n: fc.integer({ min: 1, max: MAX_LENGTH }) });
  const how = fc.nat(3);
  const leaf: fc.Arbitrary<FieldType> = fc.oneof({ weight: 3, arbitrary: number }, { weight: 2, arbitrary: array });
  const objOf = (field: fc.Arbitrary<FieldType>, max: number) =>
    fc.record({ obj: fc.array(fc.record({ t: field, how }), { minLength: 1, maxLength: max }), iface: fc.boolean() });
  const inner2 = objOf(leaf, 2);
  const inner1 = objOf(
    fc.oneof({ weight: 4, arbitrary: leaf }, { weight: 1, arbitrary: inner2 as fc.Arbitrary<FieldType> }),
    3,
  );
  const top = fc.record({
    obj: fc.array(
      fc.record({
        t: fc.oneof({ weight: 4, arbitrary: leaf }, { weight: 2, arbitrary: inner1 as fc.Arbitrary<FieldType> }),
        how,
      }),
      { minLength: 1, maxLength: 4 },
    ),
    iface: fc.boolean(),
    inList: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  });
  const data = fc.record({ data: fc.constantFrom(...dataKinds), v: fc.nat(2) });
  const param: fc.Arbitrary<ParamType> = fc.oneof(
    { weight: 2, arbitrary: number },
    { weight: 2, arbitrary: array },
    { weight: 6, arbitrary: top },
    { weight: 1, arbitrary: data },
  );
  return (
    fc
      .record({
        program: base,
        params: fc.array(param, { minLength: 1, maxLength: s.maxParams }),
        retObj: fc.oneof({ weight: 2, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      })
      // retObj: f returns { s, u0 } (given a local array; `returns` picks which)
      .map(({ program, params, retObj }) => ({
        ...program,
        main: { ...program.main, params, retObj, returns: retObj ? (program.main.returns ?? 0) : program.main.returns },
      }))
  );
}

/** A point: coordinates in [-2, 2] with three decimals (readable in a failure report). */
export function pointArb(dims: number): fc.Arbitrary<number[]> {
  // noBias: fast-check's bias toward small integers would put most points next to 0, a kink of abs
  return fc.array(
    fc.noBias(fc.integer({ min: -2000, max: 2000 })).map((n) => n / 1000),
    { minLength: dims, maxLength: dims },
  );
}

// ------------------------------------------------------------------------------------------------
// Printing
// ------------------------------------------------------------------------------------------------

/** "ts": the source tsgrad compiles. "reference": plain JavaScript with `$.` hooks (reference.ts). */
export type Mode = "ts" | "reference";

/** A parameter's TypeScript type: "number", "Float64Array", "readonly number[]". */
export const paramTs = (t: ParamType): string =>
  t === "number"
    ? "number"
    : isObj(t)
      ? `{ ${t.obj.map((f, i) => `f${i}: ${paramTs(f.t)}`).join("; ")} }`
      : isData(t)
        ? dataTs[t.data]
        : t.array;

/** The number of elements of a local array: (len 5, one array parameter of 3) → 3; (len 2) → 3. */
export function localLength(a: LocalArray, params: readonly ParamType[]): number {
  const arrays = params.flatMap((t) => (isArrayParam(t) ? [t.n] : []));
  return a.len >= 4 && arrays.length ? arrays[(a.len - 4) % arrays.length] : (a.len % 4) + 1;
}

/** The array a function returns (FnTemplate.returns), as its index among t.locals and its length; undefined for a number. */
export function returnedArray(t: FnTemplate): { index: number; local: LocalArray; n: number } | undefined {
  if (t.returns == null || !t.locals?.length) return undefined;
  const index = t.returns % t.locals.length;
  return { index, local: t.locals[index], n: localLength(t.locals[index], t.params) };
}

/**
 * A helper's Inline, if it is one tsgrad inlines as printed: an out helper whose out (params[at]) is
 * an array it can write, an array helper with an array to return, a map helper with an array that
 * has a map method (params[at]); else null (a helper returning a number, as every other).
 */
export function inlineOf(t: FnTemplate): Inline | null {
  const inline = t.inline;
  if (!inline) return null;
  if (inline.kind === "out") {
    const out = t.params[inline.at];
    return out && isArrayParam(out) && (out.array === "Float64Array" || out.array === "number[]") ? inline : null;
  }
  if (inline.kind === "array") return returnedArray(t) ? inline : null;
  if (inline.kind === "map") {
    const a = t.params[inline.at];
    return a && isArrayParam(a) && a.array !== "ArrayLike<number>" ? inline : null;
  }
  return inline;
}

/** Coordinates a parameter takes in a point: 1 for a number, n for an array of n, none for data. */
export const dimsOf = (params: readonly ParamType[]): number =>
  params.reduce((d, t) => d + (t === "number" ? 1 : isObj(t) ? dimsOf(t.obj.map((f) => f.t)) : isData(t) ? 0 : t.n), 0);

/**
 * The keys of an object type's fields, as the printer names them (a counter per function, in the
 * order of f's parameters, depth first): { s0: number; m1: { w2: Float64Array } }.
 */
export function keysOf(params: readonly ParamType[]): Map<ObjType, string[]> {
  const keys = new Map<ObjType, string[]>();
  let c = 0;
  const walk = (t: ObjType) => {
    keys.set(
      t,
      t.obj.map((f) => `${f.t === "number" ? "s" : isObj(f.t) ? "m" : "w"}${c++}`),
    );
    for (const f of t.obj) if (isObj(f.t)) walk(f.t);
  };
  for (const t of params) if (isObj(t)) walk(t);
  return keys;
}

/** A point's first `dims` coordinates, or, for a function of more, the point cycled with a shift (kept in [-2, 2], three decimals). */
export function pointFor(p: readonly number[], dims: number): number[] {
  if (p.length >= dims) return p.slice(0, dims);
  return Array.from({ length: dims }, (_, k) => {
    if (k < p.length) return p[k];
    const v = p[k % p.length] + 0.613 * Math.floor(k / p.length);
    return Math.round((((((v + 2) % 4) + 4) % 4) - 2) * 1000) / 1000;
  });
}

/**
 * A point's coordinates as the arguments of a function with these parameters, each array of its
 * kind: (x: number, y: Float64Array of 2) at [0.1, 0.2, 0.3] → [0.1, Float64Array [0.2, 0.3]]; data
 * takes the value its template fixes: (x: number, y: "a" | "b" | "c" with v 1) at [0.1] → [0.1, "b"].
 */
export function argsOf(params: readonly ParamType[], flat: readonly number[]): any[] {
  let k = 0;
  const keys = keysOf(params);
  const one = (t: ParamType): any => {
    if (t === "number") return flat[k++];
    if (isData(t)) return dataValues[t.data].run[t.v % dataValues[t.data].run.length];
    if (isObj(t)) return Object.fromEntries(t.obj.map((f, i) => [keys.get(t)![i], one(f.t)]));
    const xs = flat.slice(k, (k += t.n));
    return t.array === "Float64Array" ? Float64Array.from(xs) : xs;
  };
  return params.map(one);
}

// Precedence of what an expression prints as: operands of lower precedence get parentheses.
// (an assignment, `v0 = e`, prints bare at ASSIGN: `v1 = v0 = e;`; && and || at LOGIC)
const ASSIGN = 0,
  TERNARY = 1,
  LOGIC = 1.5,
  ADD = 2,
  MUL = 3,
  UNARY = 4,
  POW = 5,
  ATOM = 6;
interface Printed {
  s: string;
  p: number;
  /** A number literal, or a ?: of two (`0.5 || x` is refused by TypeScript: always truthy, TS2872). */
  lit?: boolean;
}

/** A printed condition, what it tells of the data parameters, and the kind it printed as (a flag may print its alt). */
interface PrintedCond {
  s: string;
  n: Narrow;
  k: Cond["k"];
}
const at = (x: Printed, min: number) => (x.p >= min ? x.s : `(${x.s})`);
const fmt = (v: number) => constantNames.get(v) ?? (Object.is(v, -0) ? "0" : String(v));

/** Moves `name` to the front: variables are listed most recently written first. */
function recent(names: string[], name: string): void {
  const i = names.indexOf(name);
  if (i > 0) names.unshift(...names.splice(i, 1));
}

/** After a block: the enclosing scope's variables take the order the block left them in. */
function adopt(outer: Scope, inner: Scope): void {
  outer.vars = inner.vars.filter((v) => outer.vars.includes(v));
  outer.mutable = inner.mutable.filter((v) => outer.mutable.includes(v));
  // (in the order the block left them; an array it declared is gone with it)
  outer.arrays = inner.arrays.filter((a) => outer.arrays.includes(a));
}

/**
 * What a block can see. `vars` and `mutable` list the most recently written variable first, so a
 * small index (what fast-check generates most and shrinks to) reads or updates the value just
 * computed: programs chain their values (x → v0 → v0 again in a loop → the result) instead of
 * leaving most of them dead.
 */
interface Scope {
  vars: string[];
  mutable: string[];
  /** Boolean locals. */
  flags: string[];
  inLoop: boolean;
  /** Directly in a switch clause (no loop between): a `break` would leave the switch, and tsgrad refuses one under an if. */
  inSwitch: boolean;
  /** Arrays: local ones most recently written first, then parameters. */
  arrays: ArrayInScope[];
  /** Counters of the enclosing loops, innermost first, with the values they take in the body. */
  counters: Counter[];
  /** Cursors (`let j0 = 0;`): integers >= 0 moved by `j0++` in indices, most recent first. */
  cursors: string[];
  /** f's data parameters, with the values TypeScript's type still allows here. */
  data: DataVar[];
  /** In a branch: an arm of an if or a clause of a switch (Printer.inlineCall). */
  branch?: boolean;
  /**
   * Let arrays one of which a tmp of an enclosing block holds (`const tmp0 = u1; u1 = u2; u2 =
   * tmp0;`): not moved again in this block, where at its end tmp0 and the one given that array
   * would hold one array, which tsgrad refuses (Printer.rebind).
   */
  pinned?: Set<ArrayInScope>;
  /**
   * Let arrays one of which a tmp of this block holds (pinned in the blocks it nests, and after a
   * break, continue or return in this block, whose rest tsgrad takes for a branch), with the exits
   * printed before the tmp (Printer.exitCount).
   */
  tmps?: Map<ArrayInScope, number>;
}

/**
 * A data parameter and the values (indices into dataValues) its type has at a point of the
 * function. TypeScript narrows a parameter's type by the tests it passes (`if (y === "a") {` → y
 * is "a" inside, "b" | "c" in the else branch and after `if (y === "a") return`; a switch clause
 * likewise), and refuses a comparison with a value the type no longer has (TS2367, TS2678), so the
 * printer tracks the narrowing as TypeScript does and draws the values it compares with from
 * `poss`. Where unsure it narrows more than TypeScript (a smaller set is always safe to draw from).
 */
interface DataVar {
  name: string;
  kind: DataKind;
  poss: number[];
}

/** What a condition tells of the data parameters: `y === "a"` (eq) or `y !== "a"`, combined by && || !; null for nothing. */
type Narrow =
  | null
  | { k: "is"; name: string; lit: number; eq: boolean }
  | { k: "and" | "or"; a: Narrow; b: Narrow }
  | { k: "not"; a: Narrow };

/** The data parameters' values where a condition with narrowing n is `truth`, as TypeScript narrows them. */
function narrowed(n: Narrow, data: DataVar[], truth: boolean): DataVar[] {
  if (!n) return data;
  switch (n.k) {
    case "is":
      return data.map((d) =>
        d.name !== n.name ? d : { ...d, poss: d.poss.filter((p) => (p === n.lit) === (n.eq === truth)) },
      );
    case "not":
      return narrowed(n.a, data, !truth);
    case "and": {
      const a = narrowed(n.a, data, true);
      return truth ? narrowed(n.b, a, true) : union(narrowed(n.a, data, false), narrowed(n.b, a, false));
    }
    case "or": {
      const a = narrowed(n.a, data, false);
      return truth ? union(narrowed(n.a, data, true), narrowed(n.b, a, true)) : narrowed(n.b, a, false);
    }
  }
}

/** Where two paths join: each parameter has the values it has on either. */
function union(a: DataVar[], b: DataVar[]): DataVar[] {
  return a.map((d, i) => ({ ...d, poss: [...new Set([...d.poss, ...b[i].poss])].sort((x, y) => x - y) }));
}

/** Parameter `name` restricted to the values `keep` allows. */
const only = (data: DataVar[], name: string, keep: (p: number) => boolean): DataVar[] =>
  data.map((d) => (d.name === name ? { ...d, poss: d.poss.filter(keep) } : d));

interface ArrayInScope {
  name: string;
  n: number;
  local: boolean;
  /** Its type: a parameter's kind; `Float64Array` or `number[]` for a local array; `number[]` for a table. */
  kind: ParamArrayKind;
  /** An object parameter's field (x.w1, or a name bound to it): not for `for...of`, which tsgrad takes over array parameters only. */
  field?: boolean;
  /** A module table (`W0`): read, passed to helpers, never written; not for `for...of` or a local's length. */
  table?: boolean;
  /**
   * A local array passed to a helper: written no more from there on (tsgrad refuses a write after
   * the call, since the helper's pullback reads the array as the backward pass finds it).
   */
  frozen?: boolean;
  /** A local array: the loops (Printer.loops ids) it is written in; it cannot be passed to a helper inside one. */
  writtenIn?: Set<number>;
  /** A local array being written (its value printing) or f's returned array (added into at the end): not passed. */
  busy?: boolean;
  /** The function's parameter of this index (Printer.passedOn). */
  param?: number;
  /** Another name of a local array (`const u2 = h0(u1, x)`, an out helper returning u1): read only, and passed to inlined helpers only. */
  alias?: boolean;
  /**
   * What its length is, as tsgrad follows it back through copies and maps (stage/rebinds.ts
   * lengthOf): the parameter or table whose length it has (`x`, `W0`), `#3` for a constant 3;
   * undefined for anything else (keyOf). Arrays that change places have one (a group, a state
   * and its new arrays): where their lengths differ, tsgrad refuses an array made in a loop with
   * the length of one of them (TS94010, "a length that changes in it").
   */
  len?: string;
  /** A `let` array: Stmt replace may give it a new array. */
  mutable?: boolean;
  /** The let arrays it changes places with, itself included (Stmt buffers, rebind). */
  group?: ArrayInScope[];
  /**
   * Given another array somewhere (a rebind, a replace): tsgrad then takes it for an array that
   * changes, and writes a helper given it out at the call (Printer.changing).
   */
  moved?: boolean;
  /** The loops (Printer.loops ids) it is made in: made again in each of their iterations. */
  madeIn?: number[];
  /** Moved, and not read by the sink at the function's end (known bug "moved-then-unread"). */
  unread?: boolean;
  /** The loops around each read of its elements, by any means, and around each move (known bug "moved-then-unread"). */
  reads?: number[][];
  movesAt?: number[][];
}

/** An array's kind, length and what its length is (ArrayInScope.len): what a made array must match to change places with another. */
interface Shape {
  kind: "Float64Array" | "number[]";
  n: number;
  len: string;
}

/** An array's ArrayInScope.len, or one of its own (its length is no other's). */
const keyOf = (a: ArrayInScope): string => a.len ?? `?${a.name}`;
const shapeOf = (a: ArrayInScope): Shape => ({
  kind: a.kind === "Float64Array" ? "Float64Array" : "number[]",
  n: a.n,
  len: keyOf(a),
});
/** (el0) => el0 */
const IDENTITY: Callback = { index: false, fn: false, locals: null, body: { k: "ref", i: 0 } };

/** What a caller needs to know of a helper tsgrad inlines (Inline), once it is printed. */
interface InlineInfo {
  kind: Inline["kind"];
  /** A map helper: the parameter whose array it maps (its result has that array's length). */
  mapped?: number;
  /** The parameters it writes (an out helper's out). */
  written: Set<number>;
  /** The array parameters it passes on to helpers it does not inline (directly or through those it inlines). */
  passedOn: Set<number>;
  /** The number parameters it assigns in a loop (known bug "inline-param-assigned-in-loop"). */
  loopAssigned: Set<number>;
  /** The inlined helpers it calls, directly or through others, each with whether a call is in a block or after a return. */
  calls: Map<string, boolean>;
  /** It creates an array (its own, in place, or through the helpers it inlines): not called in a helper that creates none. */
  creates: boolean;
  /** An array it returns (its kind and length), the keys of the object it returns, or nothing. */
  result: { kind: "Float64Array" | "number[]"; n: number } | string[] | null;
}

interface HelperInScope {
  name: string;
  params: ParamType[];
  unmarked: boolean;
  inline?: InlineInfo;
  /**
   * A helper returning a number that tsgrad can write out at a call (ir/inlining.ts inlinedAtCall):
   * one return, at its end, and no array given to a helper that cannot be written out. It may be
   * given an array that changes (Printer.changing); tsgrad then writes it out there, since its
   * pullback would read the array as the backward pass finds it.
   */
  inlinable?: boolean;
  /** Its array parameters it copies with slice, new Float64Array or Float64Array.from (known bug "table-copied" where a table is given). */
  copies?: Set<number>;
}

/** Whether a helper's array parameter of kind `param` takes an array of kind `arg`, as TypeScript types them. */
const accepts = (param: ParamArrayKind, arg: ParamArrayKind): boolean =>
  param === "ArrayLike<number>" || param === arg || (param === "readonly number[]" && arg === "number[]");

/** A loop counter and the range [lo, hi] it stays in where it is visible; `start`: a `for` counter, which may start an inner counting loop. */
interface Counter {
  name: string;
  lo: number;
  hi: number;
  start: boolean;
}

/** What f's body reads of its object parameters: the lines that bind fields, and the numbers and arrays they expose (by name or path). */
interface Exposed {
  lines: string[];
  vars: string[];
  arrays: ArrayInScope[];
}

/** A scope for a nested block: the same names, copied (the block's own go when it ends). */
const nested = (s: Scope, loop = false): Scope => ({
  vars: [...s.vars],
  mutable: [...s.mutable],
  flags: [...s.flags],
  inLoop: s.inLoop || loop,
  inSwitch: loop ? false : s.inSwitch,
  arrays: [...s.arrays],
  counters: [...s.counters],
  cursors: [...s.cursors],
  data: s.data,
  branch: s.branch,
  pinned: new Set([...(s.pinned ?? []), ...(s.tmps?.keys() ?? [])]),
  tmps: new Map(),
});

/** Prints one program as a module: `const SCALE` if used, helpers h0, h1, ..., then f. */
export class Printer {
  private lines: string[] = [];
  /** Constructs met while printing that known bugs are keyed on (known-bugs.ts); see the "return" case. */
  readonly features = new Set<string>();
  private counters = { v: 0, i: 0, k: 0, b: 0, u: 0, e: 0, j: 0, t: 0, r: 0 };
  private usesScale = false;
  /** The enums (E, S) the parameters use: declared before the functions. */
  private enums = new Set<DataKind>();
  /** What each boolean local tells of the data parameters (TypeScript narrows through `const b0 = y === "a"` too). */
  private flagNarrow = new Map<string, Narrow>();
  /** Printing a condition (>0: an assignment right of && or || or in a branch of ?: is refused there). */
  private inCond = 0;
  /** >0: no assignment may be printed here (Expr set, bump, comma and the cursor index print without one). */
  private noAssign = 0;
  /** Cursors moved so far (`j0++` in an index). */
  private moves = 0;
  /** Assignments inside expressions printed so far (Printer.wrote). */
  private writes = 0;
  /** The function printed so far has a `return` before its last line. */
  private returned = false;
  /** The function being printed returns an array (FnTemplate.returns). */
  private vector = false;

  private helpers: HelperInScope[] = [];
  /** Printing a helper tsgrad inlines that may create no array (Inline.scratch): newArray and creating calls print nothing. */
  private noCreate = false;
  /** Arrays the function printed so far creates (its own, in place, through inlined helpers). */
  private created = 0;
  /** The function's array parameters (indices) it passes on to helpers it does not inline (InlineInfo.passedOn). */
  private passedOn = new Set<number>();
  /** The function gives an array to a helper tsgrad could not write out at the call (HelperInScope.inlinable). */
  private fixed = false;
  /**
   * Per block around what is being printed (a loop body, an arm of an if): the arrays moved in it;
   * those moved in one block with others of another length, and the local arrays that arrays made
   * in loops and branches copy or map (known bug "uneven-rebind", Printer.unevenMoves).
   */
  private moveFrames: ArrayInScope[][] = [];
  private uneven = new Set<ArrayInScope>();
  private hoistedFrom = new Set<ArrayInScope>();
  /** The function's array parameters (indices) it copies as tsgrad takes no table (HelperInScope.copies). */
  private copied = new Set<number>();
  /** The breaks, continues and returns printed so far (Scope.tmps). */
  private exitCount = 0;
  /** The arrays the entries() loops around what is being printed go over. */
  private iterated: ArrayInScope[] = [];
  /** Printing the arguments of a call of a helper tsgrad inlines or writes out at the call (>0). */
  private inlineArgs = 0;
  /** The arrays the function printed so far gives another array (Printer.moved). */
  private movedArrays: { set: ArrayInScope[]; early: boolean; detached?: boolean }[] = [];
  /** Names the function binds by destructuring an inlined helper's object, and a counter for renames (`sd: sd1`). */
  private bound = new Set<string>();
  private renames = 0;
  /** Inlined helpers the function printed so far calls (by name): a second call is noted. */
  private inlined = new Set<string>();
  /** The function being printed (f, h0, ...). */
  private fnName = "";
  /** The function being printed is a helper tsgrad inlines. */
  private inlining = false;
  /** Its parameters by name, and those of its number parameters it assigns in a loop. */
  private paramIndex = new Map<string, number>();
  private loopAssigned = new Set<number>();
  /** The variables the function assigns after their declaration, so far. */
  private reassigned = new Set<string>();
  /** An inlined helper's var counters, once their loop has ended (known bug "inline-helper-var-counter"). */
  private afterLoop = new Set<string>();
  /** Local consts whose type is a number literal (`const v0 = 0.5;` is of type 0.5): known bug "inline-literal-field". */
  private literalConsts = new Set<string>();
  /** Those whose type is a union of number literals (`const v0 = a && 0.5;`): known bug "inline-literal-union-field". */
  private literalUnions = new Set<string>();
  /**
   * The arrays each inlined helper's array parameters were given by the calls printed so far in
   * the function (a name, or a token of its own for one made in place): known bug
   * "inline-rebound-in-block" (known-bugs.ts).
   */
  private bindings = new Map<string, string[][]>();
  /** The inlined helpers the function calls so far (InlineInfo.calls). */
  private callees = new Map<string, boolean>();
  private madeInPlace = 0;
  /** Module tables W0, W1, ...: the template's, then those made for calls that found no array to pass. */
  private tables: number[][] = [];
  /** Ids of the loops around what is being printed (ArrayInScope.writtenIn). */
  private loops: number[] = [];
  /** Per loop around what is being printed: a break, continue or return was printed in it (Printer.exited). */
  private exits: boolean[] = [];
  /** Per loop around what is being printed: it may end early (Printer.mayEndEarly), it writes an element (Printer.stored). */
  private mayEnd: boolean[] = [];
  private stores: boolean[] = [];
  private loopCount = 0;
  /** Callbacks around what is being printed: their parameters are named after the depth (acc0, acc1). */
  private callbacks = 0;
  /** The function printed so far has a callback with a block body (known bug "array-after-block-callback"). */
  private blockCallback = false;
  /** The function has an object parameter destructured in its parameter list (known bug "list-destructuring-then-loop-write"). */
  private listed = false;

  private constructor(private readonly mode: Mode) {}

  static module(program: Program, mode: Mode): string {
    return Printer.print(program, mode).lines.join("\n");
  }

  static print(program: Program, mode: Mode): Printer {
    const p = new Printer(mode);
    p.tables = (program.tables ?? []).map((t) => [...t]);
    program.helpers.forEach((h, i) => p.fn(h, `h${i}`, ["a", "b", "c", "d"]));
    p.fn(program.main, "f", ["x", "y", "z"]);
    // (number literals: tsgrad takes a list of them for a table)
    if (p.tables.length) p.lines.unshift(...p.tables.map((t, i) => `const W${i} = [${t.join(", ")}];`), "");
    if (p.usesScale) p.lines.unshift(`const SCALE = ${SCALE};`, "");
    // the reference twin spells an enum member as its value
    if (mode === "ts") for (const k of [...p.enums].sort().reverse()) p.lines.unshift(enumDeclarations[k]!, "");
    return p;
  }

  private fn(t: FnTemplate, name: string, paramNames: string[]): void {
    const inline = inlineOf(t);
    // an out helper's written parameter is `out`, the others a, b, c in order
    const outAt = inline?.kind === "out" ? inline.at : -1;
    let named = 0;
    const params = t.params.map((_, i) => (i === outAt ? "out" : paramNames[named++]));
    this.counters = { v: 0, i: 0, k: 0, b: 0, u: 0, e: 0, j: 0, t: 0, r: 0 };
    this.returned = false;
    this.fnName = name;
    this.noCreate = inline !== null && inline.kind !== "array" && !inline.scratch;
    // (a map helper returns the map of params[at])
    const mapped = inline?.kind === "map" ? (t.params[inline.at] as { array: ParamArrayKind; n: number }) : undefined;
    this.created = 0;
    this.passedOn = new Set();
    this.fixed = false;
    this.movedArrays = [];
    this.copied = new Set();
    this.uneven = new Set();
    this.hoistedFrom = new Set();
    this.bound = new Set();
    this.renames = 0;
    this.inlined = new Set();
    this.bindings = new Map();
    this.callees = new Map();
    this.inlining = inline !== null;
    this.literalConsts = new Set();
    this.literalUnions = new Set();
    this.paramIndex = new Map(params.map((p, i) => [p, i]));
    this.loopAssigned = new Set();
    this.reassigned = new Set();
    this.afterLoop = new Set();
    this.blockCallback = false;
    this.flagNarrow.clear();
    // object parameters: their types (interfaces declared before f), their fields bound or read by path
    const keys = keysOf(t.params);
    const interfaces: string[] = [];
    const typeOf = (ft: ParamType): string => {
      if (!isObj(ft)) return paramTs(ft);
      const literal = `{ ${ft.obj.map((f, i) => `${keys.get(ft)![i]}: ${typeOf(f.t)}`).join("; ")} }`;
      if (!ft.iface) return literal;
      const iface = `T${interfaces.length}`;
      interfaces.push(`interface ${iface} ${literal}`);
      return iface;
    };
    const exposed: Exposed = { lines: [], vars: [], arrays: [] };
    const decl = params.map((p, i) => {
      const pt = t.params[i];
      if (isData(pt)) {
        this.features.add("data-parameter");
        if (pt.data === "enum" || pt.data === "senum") this.enums.add(pt.data);
      }
      if (!isObj(pt)) return this.mode === "ts" ? `${p}: ${paramTs(pt)}` : p;
      const type = this.mode === "ts" ? `: ${typeOf(pt)}` : "";
      if (pt.inList) {
        const { entries, rest } = this.fieldsOf(null, pt, keys, exposed);
        rest();
        this.features.add("object-in-list");
        return `{ ${entries.join(", ")} }${type}`;
      }
      this.exposeObject(p, pt, keys, exposed);
      return `${p}${type}`;
    });
    const sig = decl.join(", ");
    this.listed = t.params.some((pt) => isObj(pt) && pt.inList === true);
    // (an inlined helper returning an array is printed as f returning one, but for its end)
    const vector = !inline || inline.kind === "array" ? returnedArray(t) : undefined;
    // an inlined helper has no return but its last (as f returning an array)
    this.vector = vector !== undefined || inline !== null;
    const arrayType = !vector ? "number" : vector.local.kind === "Float64Array" ? "Float64Array" : "number[]";
    const object = vector !== undefined && t.retObj === true && !inline;
    const type = object
      ? `{ s: number; u: ${arrayType} }`
      : inline?.kind === "out"
        ? inline.returnsOut
          ? paramTs(t.params[outAt])
          : "void"
        : inline?.kind === "object"
          ? `{ ${inline.fields.map((_, k) => `${OBJECT_KEYS[k % OBJECT_KEYS.length]}: number`).join("; ")} }`
          : mapped
            ? mapped.array === "Float64Array"
              ? "Float64Array"
              : "number[]"
            : arrayType;
    const unmarked = t.unmarked ?? (inline ? "function" : null);
    const arrow = unmarked === "arrow";
    if (this.mode === "ts") {
      for (const i of interfaces) this.lines.push(i, "");
      if (arrow) this.lines.push(`const ${name} = (${sig}): ${type} => {`);
      else if (unmarked) this.lines.push(`function ${name}(${sig}): ${type} {`);
      else this.lines.push("/** @differentiable */", `export function ${name}(${sig}): ${type} {`);
    } else this.lines.push(arrow ? `const ${name} = (${sig}) => {` : `function ${name}(${sig}) {`);
    const header = this.lines.length;
    if (unmarked) this.features.add(arrow ? "unmarked-arrow" : "unmarked-function");
    if (inline) this.features.add(`inlined-${inline.kind}-helper`);
    for (const line of exposed.lines) this.emit(1, line);
    const numbers = [...params.filter((_, i) => t.params[i] === "number"), ...exposed.vars];
    const arrays = [
      // (an out helper's out: written, as a local array, and never passed to a helper it does not inline)
      ...t.params.flatMap((p, i): ArrayInScope[] =>
        isArrayParam(p)
          ? [
              {
                name: params[i],
                n: p.n,
                local: i === outAt,
                busy: i === outAt,
                kind: p.array,
                param: i,
                ...(i === outAt ? {} : { len: params[i] }),
              },
            ]
          : [],
      ),
      ...exposed.arrays,
      ...this.tables.map((v, i): ArrayInScope => ({
        name: `W${i}`,
        n: v.length,
        local: false,
        kind: "number[]",
        table: true,
        len: `W${i}`,
      })),
    ];
    const data = t.params.flatMap((p, i): DataVar[] =>
      isData(p) ? [{ name: params[i], kind: p.data, poss: dataValues[p.data].run.map((_, j) => j) }] : [],
    );
    const scope: Scope = {
      vars: numbers,
      mutable: params.filter((_, i) => t.params[i] === "number"),
      flags: [],
      inLoop: false,
      inSwitch: false,
      arrays,
      counters: [],
      cursors: [],
      data,
    };
    (this.noCreate ? [] : (t.locals ?? [])).forEach((a, k) => {
      this.newArray(a, scope, 1);
      // f's returned array is added into at its end: never passed to a helper
      if (vector && !object && k === vector.index) scope.arrays[0].busy = true;
    });
    for (const c of t.calls ?? []) this.inlineStmt(c, scope, 1);
    // in the function's own scope, not a block's: what the top level declares reaches the return
    for (const st of t.body) this.stmt(st, scope, 1);
    if (inline) {
      const info = this.inlineEnd(t, inline, scope, vector ? `u${vector.index}` : undefined, header, arrow, type);
      this.vector = false;
      this.noCreate = false;
      this.inlining = false;
      this.helpers.push({ name, params: t.params, unmarked: true, inline: info });
      return;
    }
    const ret = this.expr(t.ret, scope);
    // not the loop counters; every element of the local arrays
    const sunk = [
      ...scope.vars.filter((v) => !/^[ik]\d/.test(v)),
      ...scope.arrays.filter((a) => a.local).flatMap((a) => Array.from({ length: a.n }, (_, j) => `${a.name}[${j}]`)),
    ];
    const total = this.seen({ s: sunk.length > 1 ? `(${sunk.join(" + ")})` : sunk[0], p: ATOM });
    const value = t.sink && sunk.length ? `${at(ret, ADD)} + ${total.s}` : ret.s;
    this.unreadMoves(t.sink ? scope : undefined);
    if (vector) {
      // u0[0] += <ret>; return u0;
      const u = `u${vector.index}`;
      if (object) {
        // return { s: <ret>, u: u0 };
        this.features.add("returns-object");
        // (a field that is Math.max(...xs) itself: known-bugs.ts)
        if (t.ret.k === "spread" && value === ret.s && /^Math\.(max|min)\(\.\.\./.test(value))
          this.features.add("spread-as-returned-field");
        this.lines.push(`  return { s: ${value}, u: ${u} };`, "}", "");
      } else {
        this.emit(1, `${u}[0] += ${value};`);
        if (this.mode === "reference") this.emit(1, `$.v(${u}[0]);`);
        this.lines.push(`  return ${u};`, "}", "");
      }
    } else if (arrow && this.lines.length === header) {
      // const h0 = (a: number): number => <value>;
      this.lines[header - 1] = this.lines[header - 1].replace(/\{$/, `${value};`);
      this.lines.push("");
    } else this.lines.push(`  return ${value};`, arrow ? "};" : "}", "");
    this.vector = false;
    const inlinable = !this.returned && !this.fixed;
    this.helpers.push({ name, params: t.params, unmarked: !!unmarked, inlinable, copies: this.copied });
  }

  /**
   * The end of a helper tsgrad inlines (Inline): the writes into its out (or the array it returns,
   * `into`) and its return, or the object it returns; the header's return type changed for a tail
   * call's array. What its callers need to know of it.
   */
  private inlineEnd(
    t: FnTemplate,
    inline: Inline,
    scope: Scope,
    into: string | undefined,
    header: number,
    arrow: boolean,
    type: string,
  ): InlineInfo {
    const close = arrow ? "};" : "}";
    // not the loop counters; every element of the local arrays (as f's sink)
    const sunk = [
      ...scope.vars.filter((v) => !/^[ik]\d/.test(v)),
      ...scope.arrays.filter((a) => a.local).flatMap((a) => Array.from({ length: a.n }, (_, j) => `${a.name}[${j}]`)),
    ];
    const total =
      t.sink && sunk.length
        ? this.seen({ s: sunk.length > 1 ? `(${sunk.join(" + ")})` : sunk[0], p: ATOM })
        : undefined;
    // (its sink reaches what the caller reads of its result, maybe nothing: it counts for no read)
    this.unreadMoves();
    const es = [t.ret, ...inline.es];
    // an expression of the template; the first (ret) with the sink added
    const valueOf = (k: number, sc: Scope, op: string): string => {
      const v = this.expr(es[k % es.length], sc);
      if (k % es.length === 0 && total) return `${at(v, ADD)} + ${total.s}`;
      return op === "=" ? v.s : at(v, TERNARY);
    };
    const info: InlineInfo = {
      kind: inline.kind,
      written: new Set(inline.kind === "out" ? [inline.at] : []),
      passedOn: this.passedOn,
      loopAssigned: this.loopAssigned,
      calls: this.callees,
      creates: false,
      result: null,
    };
    if (inline.kind === "object") {
      const keys = inline.fields.map((_, k) => OBJECT_KEYS[k % OBJECT_KEYS.length]);
      const entries = inline.fields.map((short, k) => {
        // (a field `key: value` of a number literal's type, `sd: 0.5`, `sd: SCALE`: known-bugs.ts)
        const literal = !(k % es.length === 0 && total) && this.literalTyped(es[k % es.length], scope);
        const union = literal && this.literalTyped(es[k % es.length], scope, true);
        const value = valueOf(k, scope, "=");
        // { mean }: a local of that name returned by shorthand, if the name is free
        if (!short || this.bound.has(keys[k]) || scope.vars.includes(keys[k])) {
          if (literal) this.features.add("inline-literal-field");
          if (union) this.features.add("inline-literal-union-field");
          return `${keys[k]}: ${value}`;
        }
        this.emit(1, `const ${keys[k]} = ${value};`);
        this.features.add("inline-shorthand-field");
        return keys[k];
      });
      const literal = `{ ${entries.join(", ")} }`;
      if (arrow && this.lines.length === header) {
        // const h0 = (a: number): { mean: number } => ({ mean: a * 2 });
        this.lines[header - 1] = this.lines[header - 1].replace(/\{$/, `(${literal});`);
        this.features.add("inline-expression-body");
        this.lines.push("");
      } else this.lines.push(`  return ${literal};`, close, "");
      info.result = keys;
    } else if (inline.kind === "map") {
      // return a.map((el0, ix0) => <ret> + <sink>);
      const a = scope.arrays.find((x) => x.param === inline.at)!;
      const cb: Callback = { index: inline.loop, fn: inline.returnsOut, locals: null, body: t.ret };
      const f = this.callback(cb, false, a, 0, scope, null, true, total?.s);
      this.created++;
      this.features.add("inline-map-helper-returns");
      this.lines.push(`  return ${a.name}.map(${f});`, close, "");
      info.mapped = inline.at;
      info.result = { kind: a.kind === "Float64Array" ? "Float64Array" : "number[]", n: a.n };
    } else {
      const a = scope.arrays.find((x) => x.name === (inline.kind === "out" ? "out" : into))!;
      const op = inline.op;
      if (inline.loop) {
        // for (let i0 = 0; i0 < out.length; i0++) out[i0] += <ret>;
        this.inLoop(() => {
          const i = `i${this.counters.i++}`;
          const inner = nested(scope, true);
          inner.vars.push(i);
          inner.counters.unshift({ name: i, lo: 0, hi: a.n - 1, start: true });
          this.emit(1, `for (let ${i} = 0; ${i} < ${a.name}.length; ${i}++) {`);
          this.emit(2, `${a.name}[${i}] ${op} ${valueOf(0, inner, op)};`);
          if (this.mode === "reference") this.emit(2, `$.v(${a.name}[${i}]);`);
          this.emit(1, "}");
          adopt(scope, inner);
        });
      } else {
        // out[0] = <ret>; out[1] = <es[0]>; ...
        for (let k = 0; k < a.n; k++) {
          this.emit(1, `${a.name}[${k}] ${op} ${valueOf(k, scope, op)};`);
          if (this.mode === "reference") this.emit(1, `$.v(${a.name}[${k}]);`);
        }
      }
      const kind = (x: ParamArrayKind) => (x === "Float64Array" ? "Float64Array" : "number[]");
      if (inline.kind === "out") {
        if (inline.returnsOut) {
          this.lines.push("  return out;");
          info.result = { kind: kind(a.kind), n: a.n };
        }
      } else {
        // return h1(...): the array an earlier helper returns (a tail call), else its own
        const tail = inline.tail ? this.inlineCall(inline.tail, scope, !this.returned, true, 1) : undefined;
        if (tail && tail.info.result && !Array.isArray(tail.info.result)) {
          this.lines.push(`  return ${tail.s};`);
          tail.done();
          this.features.add("inline-tail-call");
          info.result = tail.info.result;
          const patched = `): ${tail.info.result.kind} `;
          const line = this.lines[header - 1];
          const where = line.lastIndexOf(`): ${type} `);
          if (this.mode === "ts" && where >= 0)
            this.lines[header - 1] = line.slice(0, where) + patched + line.slice(where + `): ${type} `.length);
        } else {
          this.lines.push(`  return ${a.name};`);
          info.result = { kind: kind(a.kind), n: a.n };
        }
      }
      this.lines.push(close, "");
    }
    info.creates = this.created > 0;
    return info;
  }

  /** `const { ... } = x;` and the rest of what reads object x's fields (Field.how). */
  private exposeObject(base: string, t: ObjType, keys: Map<ObjType, string[]>, out: Exposed): void {
    const { entries, rest } = this.fieldsOf(base, t, keys, out);
    if (entries.length) out.lines.push(`const { ${entries.join(", ")} } = ${base};`);
    rest();
  }

  /**
   * The fields of object t read from `base` (null: t is destructured in a parameter list): the
   * entries of its destructuring pattern, and `rest`, which adds the lines that must follow that
   * pattern (aliases, the fields of objects bound by it). Each number or array read is added to
   * `out` under the name or path it is read by.
   */
  private fieldsOf(
    base: string | null,
    t: ObjType,
    keys: Map<ObjType, string[]>,
    out: Exposed,
  ): { entries: string[]; rest: () => void } {
    const entries: string[] = [];
    const aliases: string[] = [];
    const after: (() => void)[] = [];
    const leaf = (ft: FieldType, name: string) => {
      if (ft === "number") out.vars.push(name);
      else if (!isObj(ft)) out.arrays.push({ name, n: ft.n, local: false, kind: ft.array, field: true });
    };
    t.obj.forEach((f, i) => {
      const key = keys.get(t)![i];
      let how = f.how % 4;
      if (base === null) how = isObj(f.t) ? 1 : how === 0 ? 1 : how === 3 ? 2 : how;
      const path = `${base}.${key}`;
      const sub = isObj(f.t) ? f.t : undefined;
      if (how === 2 && sub) {
        // nested: const { m2: { s3: s3r, w4 } } = x; what it leaves unbound read by path
        const nested = this.fieldsOf(path, sub, keys, out);
        if (nested.entries.length) {
          this.features.add("nested-destructuring");
          entries.push(`${key}: { ${nested.entries.join(", ")} }`);
          after.push(nested.rest);
          return;
        }
        after.push(nested.rest);
        return;
      }
      if (how === 0) {
        if (sub) after.push(() => this.exposeObject(path, sub, keys, out));
        else after.push(() => leaf(f.t, path));
      } else if (how === 1) {
        entries.push(key);
        if (sub) after.push(() => this.exposeObject(key, sub, keys, out));
        else leaf(f.t, key);
      } else if (how === 2) {
        entries.push(`${key}: ${key}r`);
        leaf(f.t, `${key}r`);
      } else {
        aliases.push(`const ${key} = ${path};`);
        if (sub) after.push(() => this.exposeObject(key, sub, keys, out));
        else after.push(() => leaf(f.t, key));
      }
    });
    return {
      entries,
      rest: () => {
        out.lines.push(...aliases);
        for (const a of after) a();
      },
    };
  }

  private emit(depth: number, text: string): void {
    this.lines.push("  ".repeat(depth) + text);
  }

  /** Prints a nested block that starts with the data parameters' values `data`, then `tail`; returns their values at its end. */
  private block(
    stmts: readonly Stmt[],
    outer: Scope,
    depth: number,
    data: DataVar[] = outer.data,
    branch = false,
    tail?: (scope: Scope, depth: number) => void,
  ): DataVar[] {
    const scope = nested(outer);
    scope.data = data;
    scope.branch ||= branch;
    this.moveFrames.push([]);
    for (const st of stmts) this.stmt(st, scope, depth);
    tail?.(scope, depth);
    this.unevenMoves(this.moveFrames.pop()!);
    adopt(outer, scope);
    return scope.data;
  }

  /**
   * The arrays moved in a block that ends (Printer.moveFrames): tsgrad rebinds them at its end in one
   * Rebind, and where their lengths differ it takes each for an array whose length changes, refusing
   * an array made in a loop or a branch with the length of one of them (known bug "uneven-rebind";
   * a superset: a branch nested in the block rebinds its own at its end).
   */
  private unevenMoves(moved: ArrayInScope[]): void {
    if (new Set(moved.map(keyOf)).size > 1) for (const a of moved) this.uneven.add(a);
  }

  /** A local array copied or mapped by an array made here: in a loop or a branch, it has its length (Printer.unevenMoves). */
  private lengthFrom(a: ArrayInScope, scope: Scope): void {
    if (a.local && (this.loops.length || scope.branch)) this.hoistedFrom.add(a);
  }

  private stmt(st: Stmt, scope: Scope, depth: number): void {
    const pick = (xs: string[], i: number) => xs[i % xs.length];
    // a function of arrays alone has no number to assign before its first `let`
    if ((st.k === "assign" || st.k === "posAssign" || st.k === "powAssign" || st.k === "step") && !scope.mutable.length)
      return;
    switch (st.k) {
      case "decl": {
        const literal = st.kw === "const" && this.literalTyped(st.e, scope);
        const union = literal && this.literalTyped(st.e, scope, true);
        const e = this.expr(st.e, scope).s;
        const v = `v${this.counters.v++}`;
        if (literal) this.literalConsts.add(v);
        if (union) this.literalUnions.add(v);
        // a var is read only after it, in its block (Scope): where tsgrad takes it as a let
        if (st.kw === "var") this.features.add("var");
        this.emit(depth, `${st.kw} ${v} = ${e};`);
        scope.vars.unshift(v);
        if (st.kw !== "const") scope.mutable.unshift(v);
        return;
      }
      case "assign": {
        const v = pick(scope.mutable, st.target);
        // v1 = v0 = e; but s += (t = e)
        const e = this.expr(st.e, scope);
        this.emit(depth, `${v} ${st.op} ${st.op === "=" ? e.s : at(e, TERNARY)};`);
        return this.assigned(depth, v, scope);
      }
      case "posAssign": {
        const v = pick(scope.mutable, st.target);
        const p = this.positive(st.e, st.w, scope).s;
        this.emit(
          depth,
          st.op === "%=" && this.mode === "reference" ? `${v} = $.mod(${v}, ${p});` : `${v} ${st.op} ${p};`,
        );
        return this.assigned(depth, v, scope);
      }
      case "powAssign": {
        const v = pick(scope.mutable, st.target);
        this.emit(depth, `${v} **= ${st.c + 2};`);
        return this.assigned(depth, v, scope);
      }
      case "flag": {
        const c = this.cond(st.c, scope);
        const b = `b${this.counters.b++}`;
        this.emit(depth, `const ${b} = ${c.s};`);
        scope.flags.push(b);
        this.flagNarrow.set(b, c.n);
        return;
      }
      case "step": {
        const v = pick(scope.mutable, st.target);
        this.emit(depth, `${v}${st.op};`);
        return this.assigned(depth, v, scope);
      }
      case "exit": {
        // directly in a switch clause a break would leave the switch (and tsgrad refuses it under an if)
        if (!scope.inLoop || (st.kind === "break" && scope.inSwitch)) return;
        const c = this.cond(st.c, scope);
        this.emit(depth, `if (${c.s}) ${st.kind};`);
        this.exited();
        scope.data = narrowed(c.n, scope.data, false);
        return;
      }
      case "return": {
        if (this.vector) return; // a function returning an array returns once, at the end
        // A known bug is keyed on what the printer sees, e.g. (fixed since) a return of max in a loop:
        //   if (scope.inLoop && st.e.k === "variadic") this.features.add("return-max-in-loop");
        if (scope.inLoop && this.listed) this.features.add("list-destructuring-then-loop-write");
        const c = this.cond(st.c, scope);
        const e = this.expr(st.e, { ...scope, data: narrowed(c.n, scope.data, true) });
        this.emit(depth, `if (${c.s}) return ${e.s};`);
        scope.data = narrowed(c.n, scope.data, false);
        this.returned = true;
        this.exited();
        return;
      }
      case "if": {
        const c = this.cond(st.c, scope);
        const entry = scope.data;
        this.emit(depth, `if (${c.s}) {`);
        const then = this.block(st.then, scope, depth + 1, narrowed(c.n, entry, true), true);
        let other = narrowed(c.n, entry, false);
        if (st.else) {
          this.emit(depth, "} else {");
          other = this.block(st.else, scope, depth + 1, other, true);
        }
        this.emit(depth, "}");
        scope.data = union(then, other);
        return;
      }
      case "loop":
        return this.inLoop(() => this.loop(st, scope, depth));
      case "newArray":
        // anywhere (in a loop or a branch tsgrad makes it once, before them), but where no array may be made
        if (!this.noCreate) this.newArray(st.a, scope, depth);
        return;
      case "buffers":
        if (!this.noCreate) this.buffers(st.arrays, scope, depth);
        return;
      case "rebind": {
        // (not a group an array of which a helper was given: tsgrad refuses a change after the call)
        const groups = scope.arrays.filter(
          (a) => a.group?.[0] === a && a.group.every((g) => this.movable(g, scope) && scope.arrays.includes(g)),
        );
        if (groups.length) this.rebind(groups[st.g % groups.length].group!, st.form, scope, depth);
        return;
      }
      case "replace": {
        const lets = scope.arrays.filter((a) => a.mutable && !a.frozen && !this.iterated.includes(a));
        // (given a helper's map: a state some map helper returns the shape of, if there is one)
        const mapped = st.call ? lets.filter((a) => this.mapHelpers(shapeOf(a)).length) : [];
        const those = mapped.length ? mapped : lets;
        if (lets.length && !this.noCreate) this.replace(those[st.arr % those.length], st.a, st.call, scope, depth);
        return;
      }
      case "steps":
        return this.steps(st, scope, depth);
      case "store":
      case "storeStep": {
        // (not an array passed to a helper before: tsgrad refuses a write after the call)
        const locals = scope.arrays.filter((a) => a.local && !a.frozen);
        if (!locals.length) return;
        const a = locals[st.arr % locals.length];
        a.writtenIn ??= new Set();
        for (const l of this.loops) a.writtenIn.add(l);
        const element = `${a.name}[${this.index(st.ix, a, scope)}]`;
        // the value is computed before the write: a call in it passes not the array it writes
        const busy = a.busy;
        a.busy = true;
        const value = st.k === "store" ? this.expr(st.e, scope).s : "";
        a.busy = busy;
        this.emit(depth, st.k === "store" ? `${element} ${st.op} ${value};` : `${element}${st.op};`);
        this.stored();
        // (the element again, without moving a cursor in its index)
        this.noAssign++;
        if (this.mode === "reference") this.emit(depth, `$.v(${a.name}[${this.index(st.ix, a, scope)}]);`);
        this.noAssign--;
        scope.arrays.splice(scope.arrays.indexOf(a), 1);
        scope.arrays.unshift(a);
        return;
      }
      case "arrayLoop":
        return this.inLoop(() => this.arrayLoop(st, scope, depth));
      case "entries":
        return this.inLoop(() => this.entries(st, scope, depth));
      case "switch":
        return this.switch(st, scope, depth);
      case "extreme":
        return this.extreme(st, scope, depth);
      case "cursor": {
        const j = `j${this.counters.j++}`;
        this.emit(depth, `let ${j} = 0;`);
        scope.cursors.unshift(j);
        return;
      }
      case "inline":
        return this.inlineStmt(st, scope, depth);
    }
  }

  /**
   * A call of a helper tsgrad inlines, as a statement (InlineCall): `h0(u1, x);`, `const u2 =
   * h0(new Float64Array(3), x);`, `const u2 = h1(x, v0);`, `const { mean, sd: sd1 } = h2(x);`.
   * What it returns joins the scope: an array (an alias of the out given, read only), numbers.
   */
  private inlineStmt(c: InlineCall, scope: Scope, depth: number): void {
    const top = depth === 1 && !scope.inLoop && !this.returned;
    const call = this.inlineCall(c, scope, top, false, depth);
    if (!call) return;
    const { info } = call;
    if (Array.isArray(info.result)) {
      // const { mean, sd: sd1 } = h2(x);   (a name already bound is renamed)
      const keys = info.result;
      let kept = keys.filter((_, k) => !((c.drop >> k) & 1));
      if (!kept.length) kept = [keys[0]];
      const names: string[] = [];
      const entries = kept.map((key) => {
        const k = keys.indexOf(key);
        if (!((c.rename >> k) & 1) && !this.bound.has(key)) return (names.push(key), key);
        const name = `${key}${++this.renames}`;
        this.features.add("inline-renamed-field");
        return (names.push(name), `${key}: ${name}`);
      });
      this.emit(depth, `const { ${entries.join(", ")} } = ${call.s};`);
      call.done();
      for (const n of names) {
        this.bound.add(n);
        scope.vars.unshift(n);
      }
      if (this.mode === "reference") this.emit(depth, `$.v(${names.join(" + ")});`);
    } else if (
      info.result &&
      (info.kind === "array" ||
        info.kind === "map" ||
        // (not another name for a let array: both would hold one array where it changes places)
        (c.named && top && !(typeof call.out === "object" && call.out.mutable)))
    ) {
      // const u2 = h1(x);   const u3 = h0(u1, x) (u3 is u1: read only)   const u4 = h3(x) (x.map(...))
      const name = `u${this.counters.u++}`;
      this.emit(depth, `const ${name} = ${call.s};`);
      call.done();
      const alias = typeof call.out === "object" ? call.out : undefined;
      if (alias) this.features.add("inline-alias");
      // a map has the length of the array it maps
      const mapped = info.mapped !== undefined ? call.chosen[info.mapped] : undefined;
      if (typeof mapped === "object") this.lengthFrom(mapped, scope);
      const len = alias
        ? keyOf(alias)
        : typeof mapped === "object"
          ? keyOf(mapped)
          : mapped === "list"
            ? `#${info.result.n}`
            : undefined;
      scope.arrays.unshift({
        name,
        n: info.result.n,
        local: true,
        kind: info.result.kind,
        ...(len !== undefined ? { len } : {}),
        ...(alias
          ? { alias: true, frozen: true }
          : this.loops.length
            ? { madeIn: [...this.loops], writtenIn: new Set(this.loops) }
            : {}),
      });
    } else {
      this.emit(depth, `${call.s};`);
      call.done();
    }
  }

  /**
   * A call of a helper tsgrad inlines (InlineCall; with `array`, one that returns an array), its
   * arguments chosen and printed: its text, the helper, the array given its out (if any), the
   * arrays given its array parameters, and `done`, which records what the call did to the
   * caller's arrays once it is printed (written, frozen, created). With `want` (Stmt replace), a map
   * helper whose result has that shape, its mapped parameter given `prefer` or an array of its
   * length. Undefined where no call fits: no such helper, one that creates an array where none may
   * be (a helper that creates none, Inline scratch), or an array parameter with nothing to give it.
   */
  private inlineCall(
    c: InlineCall,
    scope: Scope,
    top: boolean,
    array: boolean,
    depth: number,
    o: { want?: Shape; prefer?: ArrayInScope } = {},
  ):
    | {
        s: string;
        info: InlineInfo;
        out: ArrayInScope | "new" | undefined;
        chosen: (ArrayInScope | "new" | "list" | undefined)[];
        done: () => void;
      }
    | undefined {
    // (tsgrad makes an array created in a loop or a branch once, before them)
    const create = !this.noCreate;
    const { want, prefer } = o;
    // (one that creates an array only where one may be created; for a new state, a map of its shape
    // that passes nothing on, as the state it is given changes)
    const maps = want && this.mapHelpers(want);
    const callees = this.helpers.filter(
      (h) =>
        h.inline &&
        (create || !h.inline.creates) &&
        (!array || (h.inline.result !== null && !Array.isArray(h.inline.result))) &&
        (!maps || maps.includes(h)),
    );
    if (!callees.length) return undefined;
    const h = callees[c.i % callees.length];
    const info = h.inline!;
    const picks = c.arrs.length ? c.arrs : [0];
    const chosen: (ArrayInScope | "new" | "list" | undefined)[] = h.params.map(() => undefined);
    // what it writes first: an array the caller created and may still write, or one made in place
    for (const j of info.written) {
      const t = h.params[j];
      if (!isArrayParam(t)) return undefined;
      const fits = scope.arrays.filter((a) => a.local && !a.frozen && !a.alias && a.n === t.n && a.kind === t.array);
      if ((c.fresh || !fits.length) && create) chosen[j] = "new";
      else if (fits.length) chosen[j] = fits[picks[j % picks.length] % fits.length];
      else return undefined;
    }
    const writes = chosen.filter((a): a is ArrayInScope => typeof a === "object");
    const arrays = h.params.flatMap((t, j) => (isArrayParam(t) ? [j] : []));
    for (const j of arrays) {
      const t = h.params[j] as { array: ParamArrayKind; n: number };
      if (info.written.has(j)) continue;
      // an array it passes on to a helper it does not inline is passed as to that helper (and frozen)
      const fits = info.passedOn.has(j)
        ? this.fits(t, scope).filter((a) => !a.table && !writes.includes(a))
        : scope.arrays.filter((a) => !a.field && !a.table && a.n === t.n && accepts(t.array, a.kind));
      if (want && j === info.mapped) {
        // the array mapped into the new state: the state itself, or one of its length
        const same = fits.filter((a) => keyOf(a) === want.len);
        if (prefer && same.includes(prefer)) chosen[j] = prefer;
        else if (same.length) chosen[j] = same[picks[j % picks.length] % same.length];
        else return undefined;
        continue;
      }
      const list = create && accepts(t.array, "number[]");
      if (list && (!fits.length || (c.fresh && j === arrays[arrays.length - 1]))) chosen[j] = "list";
      else if (fits.length) chosen[j] = fits[picks[j % picks.length] % fits.length];
      else return undefined;
    }
    // (an array it writes is not passed on by its arguments: a write after that call is refused)
    const busy = writes.map((a) => a.busy);
    for (const a of writes) a.busy = true;
    this.inlineArgs++;
    const args = h.params.map((t, j) => {
      const a = chosen[j];
      if (!isArrayParam(t)) return this.expr(c.args[j % c.args.length], scope).s;
      if (a === "new") return this.made(t, scope);
      if (a === "list") {
        this.features.add("inline-list-in-place");
        const xs = Array.from({ length: t.n }, (_, k) => this.expr(c.args[(j + k) % c.args.length], scope).s);
        return `[${xs.join(", ")}]`;
      }
      this.reading(a!);
      return a!.name;
    });
    this.inlineArgs--;
    writes.forEach((a, k) => (a.busy = busy[k]));
    const out = [...info.written].map((j) => chosen[j])[0] as ArrayInScope | "new" | undefined;
    const done = () => {
      this.features.add(`inline-${info.kind}`);
      // (what it passes on would change where a caller writes this function out: HelperInScope.inlinable)
      if (info.passedOn.size) this.fixed = true;
      if (this.fnName !== "f") this.features.add("inline-in-helper");
      if (scope.inLoop) this.features.add("inline-in-loop");
      if (this.inlined.has(h.name)) this.features.add("inline-twice");
      this.inlined.add(h.name);
      // (a call in a block giving an array parameter another array than an earlier call: known-bugs.ts)
      // (a number given by name, or by an assignment, is bound to that name; any other value to a temporary)
      const binding = chosen.map((a, j) =>
        typeof a === "object"
          ? a.name
          : a
            ? `#${this.madeInPlace++}`
            : /^[A-Za-z_$][\w$]*$/.test(args[j])
              ? args[j]
              : /\+\+|--|[^=!<>]=[^=]/.test(args[j])
                ? `#${this.madeInPlace++}`
                : "",
      );
      // (in a branch, or after a break, continue or return in a loop around it or in the function; "*":
      // bound by a call inside another inlined helper)
      const inBlock = scope.branch === true || this.exits.some((x) => x) || this.returned;
      const before = this.bindings.get(h.name) ?? [];
      const named = (j: number) => binding[j] !== "";
      if (
        inBlock &&
        before.some((b) =>
          b[0] === "*" ? binding.some((_, j) => named(j)) : b.some((x, j) => named(j) && x !== binding[j]),
        )
      )
        this.features.add("inline-rebound-in-block");
      this.callees.set(h.name, (this.callees.get(h.name) ?? false) || inBlock);
      for (const [g, inner] of info.calls) {
        const earlier = this.bindings.get(g) ?? [];
        if ((inBlock || inner) && earlier.length) this.features.add("inline-rebound-in-block");
        this.bindings.set(g, [...earlier, ["*"]]);
        this.callees.set(g, (this.callees.get(g) ?? false) || inBlock || inner);
      }
      // (a number parameter it assigns in a loop given a name: known-bugs.ts; all but a parameter of a
      // caller that is not inlined, never assigned, which tsgrad copies first)
      const variable = (x: string) =>
        x.startsWith("#") || this.paramIndex.get(x) === undefined || this.reassigned.has(x) || this.inlining;
      if ([...info.loopAssigned].some((j) => binding[j] !== "" && variable(binding[j])))
        this.features.add("inline-param-assigned-in-loop");
      this.bindings.set(h.name, [...before, binding]);
      if (info.creates) this.created++;
      chosen.forEach((a, j) => {
        if (a === "new" || a === "list") {
          this.created++;
          if (a === "new") this.features.add("inline-out-in-place");
          return;
        }
        if (!a) return;
        if (info.written.has(j)) {
          this.features.add("inline-writes-local");
          this.stored();
          a.writtenIn ??= new Set();
          for (const l of this.loops) a.writtenIn.add(l);
          // what it wrote is read next
          scope.arrays.splice(scope.arrays.indexOf(a), 1);
          scope.arrays.unshift(a);
        }
        if (info.passedOn.has(j)) {
          this.features.add("inline-passes-on");
          // (a local array there: known-bugs.ts)
          if (a.local) this.features.add("inline-passes-on-local");
          if (a.local) a.frozen = true;
          if (a.param !== undefined) this.passedOn.add(a.param);
        }
      });
    };
    return { s: `${h.name}(${args.join(", ")})`, info, out, chosen, done };
  }

  /**
   * Whether e prints as a value TypeScript gives a number literal's type (0.5, -0.7, SCALE, a ?:
   * of two, `v0 = 0.5`, `a && 0.5`, a const initialised so): tsgrad refuses such a field of a returned object
   * (known bug "inline-literal-field"). Errs toward true. With `union`, a union of them (`a && 0.5`
   * is of type 0 | 0.5, `c ? 0.5 : 1.5` of type 0.5 | 1.5), which tsgrad still refuses there (known
   * bug "inline-literal-union-field").
   */
  private literalTyped(e: Expr, scope: Scope, union = false): boolean {
    switch (e.k) {
      case "const":
        return !union && e.v !== Math.PI && e.v !== Number.EPSILON;
      case "neg":
        return !union && e.a.k === "const" && e.a.v > 0 && !constantNames.has(e.a.v);
      case "ternary":
        return this.literalTyped(e.a, scope) && this.literalTyped(e.b, scope);
      case "set":
        return this.literalTyped(e.e, scope, union);
      case "comma":
        return this.literalTyped(e.a, scope, union);
      case "ref": {
        const consts = union ? this.literalUnions : this.literalConsts;
        return scope.vars.length ? consts.has(scope.vars[e.i % scope.vars.length]) : !union && !scope.arrays.length;
      }
      case "elem":
        return !scope.arrays.length && this.literalTyped({ k: "ref", i: e.ix.of }, scope, union);
      case "len":
        return !union && !scope.arrays.length;
      case "call":
        return this.literalTyped(e.args[0], scope, union);
      case "reduce":
        return !this.methodArrays(scope).length && this.literalTyped(e.cb.body, scope, union);
      case "spread":
        return !scope.arrays.length && this.literalTyped(e.cb.body, scope, union);
      // (`a && 0.5` is of type 0 | 0.5; `a || 0.5` of type number)
      case "logic":
        return e.op === "&&" && this.literalTyped(e.b, scope);
      default:
        return false;
    }
  }

  /** An array made in place for an out-parameter: `new Float64Array(x.length)`, `new Array<number>(3).fill(0)`. */
  private made(t: { array: ParamArrayKind; n: number }, scope: Scope): string {
    const of = scope.arrays.find((a) => !a.local && !a.field && !a.table && a.param !== undefined && a.n === t.n);
    const length = of ? `${of.name}.length` : String(t.n);
    return t.array === "Float64Array"
      ? `new Float64Array(${length})`
      : `new Array${this.mode === "ts" ? "<number>" : ""}(${length}).fill(0)`;
  }

  /**
   * switch (y) { case "a": case "b": ... break; default: ... }, or switch (Math.floor(e)) with
   * labels -1 to 2 (Stmt switch, Clause). A clause starts with the values its labels leave the
   * discriminant (plus, falling through, those the clause before ended with); what follows the
   * switch, with those of every clause that breaks or falls out of it (and, with no default, those
   * no label takes).
   */
  private switch(st: Extract<Stmt, { k: "switch" }>, scope: Scope, depth: number): void {
    const entry = scope.data;
    const ds = entry.filter((d) => d.poss.length);
    const which = st.on % (ds.length + 1);
    const d = which < ds.length ? ds[which] : undefined;
    const used = new Set<number>();
    const cases = st.clauses.map((cl) => ({
      cl,
      dflt: false,
      lits: cl.labels
        .map((l) => (d ? d.poss[l % d.poss.length] : (l % 4) - 1))
        .filter((lit) => (used.has(lit) ? false : (used.add(lit), true))),
    }));
    const all = [...cases.filter((c) => c.lits.length), ...(st.dflt ? [{ cl: st.dflt, dflt: true, lits: [] }] : [])];
    if (!all.length) return;
    let head: string;
    if (d) head = d.name;
    else {
      const e = this.floorOperand(st.e, scope).s;
      head = this.mode === "ts" ? `Math.floor(${e})` : `$.floor(${e})`;
    }
    this.features.add(d ? "switch-on-data" : "switch");
    const spell = (lit: number) => (d ? dataValues[d.kind][this.mode === "ts" ? "ts" : "js"][lit] : String(lit));
    this.emit(depth, `switch (${head}) {`);
    const exits: DataVar[][] = [];
    let fall: DataVar[] | null = null;
    all.forEach((c, n) => {
      const last = n === all.length - 1;
      if (c.dflt) this.emit(depth + 1, "default:");
      else for (const lit of c.lits) this.emit(depth + 1, `case ${spell(lit)}:`);
      const inner = nested(scope);
      inner.inSwitch = true;
      inner.branch = true;
      inner.data = !d ? entry : only(entry, d.name, (p) => (c.dflt ? !used.has(p) : c.lits.includes(p)));
      if (fall) inner.data = union(inner.data, fall);
      for (const s of c.cl.body) this.stmt(s, inner, depth + 2);
      let end = c.cl.end;
      if (end === "return" && (last || this.vector)) end = "break";
      if (end === "continue" && (last || !scope.inLoop)) end = "break";
      fall = null;
      if (end === "break") {
        this.emit(depth + 2, "break;");
        exits.push(inner.data);
      } else if (end === "fall") {
        if (last) exits.push(inner.data);
        else fall = inner.data;
      } else if (end === "return") {
        if (scope.inLoop && this.listed) this.features.add("list-destructuring-then-loop-write");
        this.emit(depth + 2, `return ${this.expr(c.cl.r, inner).s};`);
        this.returned = true;
        this.exited();
      } else {
        this.emit(depth + 2, "continue;");
        this.exited();
      }
      adopt(scope, inner);
    });
    this.emit(depth, "}");
    // no label matching: none if the labels take every value left (TypeScript: an exhaustive switch)
    if (!st.dflt && (!d || d.poss.some((p) => !used.has(p))))
      exits.push(d ? only(entry, d.name, (p) => !used.has(p)) : entry);
    scope.data = exits.reduce(union);
  }

  /**
   * let v0 = -Infinity; if (e > v0) v0 = e; ... (Stmt extreme): v0 ends as the largest e (a NaN
   * leaves it infinite, and the point is rejected). e is printed twice, the second time without its
   * assignments.
   */
  private extreme(st: Extract<Stmt, { k: "extreme" }>, scope: Scope, depth: number): void {
    const v = `v${this.counters.v++}`;
    const init = (
      st.max
        ? ["-Infinity", "Number.NEGATIVE_INFINITY", "-Number.MAX_VALUE"]
        : ["Infinity", "Number.POSITIVE_INFINITY", "Number.MAX_VALUE"]
    )[st.init % 3];
    this.features.add("global-constant");
    this.emit(depth, `let ${v} = ${init};`);
    let inner = scope;
    let at1 = depth;
    if (st.over && scope.arrays.length) {
      const a = scope.arrays[st.arr % scope.arrays.length];
      const i = `i${this.counters.i++}`;
      inner = nested(scope, true);
      inner.vars.push(i);
      inner.counters.unshift({ name: i, lo: 0, hi: a.n - 1, start: true });
      this.emit(depth, `for (let ${i} = 0; ${i} < ${a.name}.length; ${i}++) {`);
      at1 = depth + 1;
    }
    for (const e of st.es.length ? st.es : [{ k: "ref", i: 0 } as Expr]) {
      this.inCond++;
      const test = this.expr(e, inner);
      this.inCond--;
      this.noAssign++;
      const again = this.expr(e, inner);
      this.noAssign--;
      if (this.mode === "ts") this.emit(at1, `if (${at(test, ADD)} ${st.max ? ">" : "<"} ${v}) ${v} = ${again.s};`);
      else {
        this.emit(at1, `if ($.${st.max ? "gt" : "lt"}(${test.s}, ${v})) {`);
        this.emit(at1 + 1, `${v} = ${again.s};`);
        this.emit(at1 + 1, `$.v(${v});`);
        this.emit(at1, "}");
      }
    }
    if (inner !== scope) {
      adopt(scope, inner);
      this.emit(depth, "}");
    }
    scope.vars.unshift(v);
    scope.mutable.unshift(v);
  }

  /**
   * Declares an array and returns it: `const u0 = new Float64Array(x.length);`, `const u1 = new
   * Array<number>(3).fill(0);` (a LocalArray without make: the function's locals), or made as its make
   * says (Printer.making), `let u2 = x.map(cb);`; maybe filled by a loop (init). It joins the scope of
   * its block. With `want`, of that shape (a group's arrays after the first); undefined where no array
   * of it can be made.
   */
  private newArray(
    a: LocalArray,
    scope: Scope,
    depth: number,
    want?: Shape,
    kw: "const" | "let" = a.make?.let ? "let" : "const",
  ): ArrayInScope | undefined {
    const made = this.making(a, scope, want);
    if (!made) return undefined;
    const { n, kind, len } = made.shape;
    const name = `u${this.counters.u++}`;
    this.created++;
    // (tsgrad takes the `return` of a block callback before it for an early return: known-bugs.ts)
    if (this.blockCallback) this.features.add("array-after-block-callback");
    if (a.make) this.features.add(`made-by-${a.make.how}`);
    // made again in each iteration of the loops around it (tsgrad: made once, before them, and refilled)
    if (this.loops.length) this.features.add("made-in-loop");
    if (scope.branch) this.features.add("made-in-branch");
    if (this.returned) this.features.add("made-after-return");
    if (kw === "let") this.features.add("let-array");
    // (a let Float64Array typed as such: `x.slice()` is a Float64Array<ArrayBuffer>, and a helper's
    // result, a Float64Array<ArrayBufferLike>, could not be given it)
    const type = kw === "let" && kind === "Float64Array" && this.mode === "ts" ? ": Float64Array" : "";
    this.emit(depth, `${kw} ${name}${type} = ${made.s};`);
    if (a.init) {
      const i = `i${this.counters.i++}`;
      const inner = nested(scope, true);
      inner.vars.push(i);
      inner.counters.unshift({ name: i, lo: 0, hi: n - 1, start: true });
      this.emit(depth, `for (let ${i} = 0; ${i} < ${name}.length; ${i}++) {`);
      this.emit(depth + 1, `${name}[${i}] = ${this.expr(a.init, inner).s};`);
      if (this.mode === "reference") this.emit(depth + 1, `$.v(${name}[${i}]);`);
      this.emit(depth, "}");
    }
    const entry: ArrayInScope = {
      name,
      n,
      local: true,
      kind,
      len,
      ...(kw === "let" ? { mutable: true } : {}),
      ...(this.loops.length ? { madeIn: [...this.loops], writtenIn: new Set(this.loops) } : {}),
    };
    scope.arrays.unshift(entry);
    return entry;
  }

  /**
   * A new array (LocalArray make; without one, zeros), of shape `want` if given (Shape: a group's
   * arrays after the first, a replacement), with `first` first among the arrays it may copy or map
   * (Stmt replace: h = h.map(cb)): its text and shape. A form that cannot make it gives zeros, and
   * zeros of a length no parameter or constant gives, a copy (undefined if none can).
   */
  private making(
    a: LocalArray,
    scope: Scope,
    want?: Shape,
    first?: ArrayInScope,
  ): { s: string; shape: Shape } | undefined {
    const m = a.make;
    const kind = want?.kind ?? (a.kind === "Float64Array" ? "Float64Array" : "number[]");
    const params = scope.arrays.filter((p) => !p.local && !p.field && !p.table);
    // new Float64Array(x.length), new Array<number>(3).fill(0), or .fill(e) (a number[] only)
    const zeros = (fill: Expr | null): { s: string; shape: Shape } | undefined => {
      let length: string;
      let shape: Shape;
      if (want) {
        const p = params.find((x) => keyOf(x) === want.len);
        if (p) length = `${p.name}.length`;
        else if (want.len === `#${want.n}`) length = String(want.n);
        else return undefined;
        shape = want;
      } else {
        const of = a.len >= 4 && params.length ? params[(a.len - 4) % params.length] : undefined;
        const n = of ? of.n : (a.len % 4) + 1; // as localLength
        length = of ? `${of.name}.length` : String(n);
        shape = { kind, n, len: of ? keyOf(of) : `#${n}` };
      }
      if (kind === "Float64Array") return { s: `new Float64Array(${length})`, shape };
      const value = fill ? this.expr(fill, scope).s : "0";
      return { s: `new Array${this.mode === "ts" ? "<number>" : ""}(${length}).fill(${value})`, shape };
    };
    // x.slice(), Array.from(x, cb), ... over an array in scope (of want's length if given)
    const copy = (map: boolean, src: number, spell: number): { s: string; shape: Shape } | undefined => {
      const sources = scope.arrays.filter((x) => !x.field && (!want || (x.n === want.n && keyOf(x) === want.len)));
      if (first && sources.includes(first)) sources.unshift(...sources.splice(sources.indexOf(first), 1));
      if (!sources.length) return undefined;
      const x = sources[src % sources.length];
      this.reading(x);
      this.lengthFrom(x, scope);
      const methods = x.kind === "number[]" || x.kind === "readonly number[]";
      const name = x.name;
      // (# stands for the callback)
      const forms = map
        ? kind === "Float64Array"
          ? x.kind === "Float64Array"
            ? [`${name}.map(#)`, `Float64Array.from(${name}, #)`]
            : [`Float64Array.from(${name}, #)`]
          : methods
            ? [`${name}.map(#)`, `Array.from(${name}, #)`]
            : [`Array.from(${name}, #)`]
        : kind === "Float64Array"
          ? x.kind === "Float64Array"
            ? [`${name}.slice()`, `new Float64Array(${name})`, `Float64Array.from(${name})`]
            : [`new Float64Array(${name})`, `Float64Array.from(${name})`]
          : methods
            ? [`${name}.slice()`, `[...${name}]`, `Array.from(${name})`]
            : x.kind === "Float64Array"
              ? [`Array.from(${name})`, `[...${name}]`]
              : [`Array.from(${name})`];
      const form = forms[spell % forms.length];
      // (a table copied by slice, new Float64Array or Float64Array.from, here or where a parameter is
      // given one: known-bugs.ts)
      if (/^(new Float64Array\(|Float64Array\.from\(|\w+\.slice\()/.test(form)) {
        if (x.table) this.features.add("table-copied");
        if (x.param !== undefined) this.copied.add(x.param);
      }
      const s = map ? form.replace("#", () => this.callback(m?.cb ?? IDENTITY, false, x, 0, scope, null, true)) : form;
      if (map) this.features.add(x === first ? "map-of-itself" : "map-of-array");
      return { s, shape: { kind, n: x.n, len: keyOf(x) } };
    };
    const how = m?.how ?? "zeros";
    let made: { s: string; shape: Shape } | undefined;
    if (how === "literal" && (!want || (want.kind === "number[]" && want.len === `#${want.n}`))) {
      // [e0, e1, e2]: a number[] of its elements
      const n = want?.n ?? (a.len % 4) + 1;
      const xs = Array.from({ length: n }, (_, k) => this.expr(m!.es[k % m!.es.length], scope).s);
      made = { s: `[${xs.join(", ")}]`, shape: { kind: "number[]", n, len: `#${n}` } };
    } else if (how === "copy" || how === "map") made = copy(how === "map", m!.src, m!.spell);
    made ??= zeros(how === "fill" ? m!.es[0] : null);
    return made ?? copy(false, m?.src ?? 0, m?.spell ?? 0);
  }

  /**
   * `let u1 = x.slice(); let u2 = new Float64Array(x.length);` (Stmt buffers): let arrays, the first
   * made as it says (of shape `first` if given), the others of its shape; a group
   * (ArrayInScope.group) if more than one is made.
   */
  private buffers(arrays: LocalArray[], scope: Scope, depth: number, first?: Shape): ArrayInScope[] {
    const group: ArrayInScope[] = [];
    for (const a of arrays) {
      const want = group.length ? shapeOf(group[0]) : first;
      const made = this.newArray(a, scope, depth, want, "let");
      if (made) group.push(made);
    }
    if (group.length > 1) {
      for (const g of group) g.group = group;
      this.features.add(`let-group-of-${group.length}`);
    }
    return group;
  }

  /**
   * The arrays of a let group change places (Stmt rebind), form mod the forms: `[u1, u2] = [u2,
   * u1];`, `[u1, u2, u3] = [u2, u3, u1];`, a swap of two of three, or in a block, through a tmp,
   * `const tmp0 = u1; u1 = u2; u2 = tmp0;` (at the function's top level, tmp0 would hold one of the
   * arrays from there on, which tsgrad refuses at the end of a later loop iteration that moves it;
   * in a block, the blocks it nests after it do not move them: Scope.pinned).
   */
  private rebind(group: ArrayInScope[], form: number, scope: Scope, depth: number): void {
    const [a, b, c] = group.map((g) => g.name);
    const swap = (xs: string[], ys: string[]) => [`[${xs.join(", ")}] = [${ys.join(", ")}];`];
    const cycle = (xs: string[]) => () => {
      const t = `tmp${this.counters.r++}`;
      return [
        `const ${t} = ${xs[0]};`,
        ...xs.slice(1).map((x, k) => `${xs[k]} = ${x};`),
        `${xs[xs.length - 1]} = ${t};`,
      ];
    };
    // (not in a switch clause, whose tmp the clauses after it would see)
    const block = depth > 1 && !scope.inSwitch;
    const forms: (() => string[])[] = c
      ? [
          () => swap([a, b, c], [b, c, a]),
          () => swap([a, c], [c, a]),
          () => swap([a, b, c], [c, a, b]),
          () => swap([b, c], [c, b]),
          ...(block ? [cycle([a, b, c]), cycle([c, b, a])] : []),
        ]
      : [() => swap([a, b], [b, a]), ...(block ? [cycle([a, b]), cycle([b, a])] : [])];
    const lines = forms[form % forms.length]();
    for (const line of lines) this.emit(depth, line);
    this.features.add(lines.length > 1 ? "rebind-tmp" : "rebind-destructuring");
    if (lines.length > 1) for (const g of group) scope.tmps?.set(g, this.exitCount);
    if (c) this.features.add("rebind-of-three");
    this.moved(group, scope);
  }

  /**
   * A let array given a new array of its shape (Stmt replace): `h = h.map(cb)`, `h = x.slice()`,
   * `h = new Float64Array(x.length)`, ... (Printer.making, h first among what it may map), or, with
   * `call`, the map a helper tsgrad inlines returns, given h or an array of its length: `h = h2(h,
   * v0)`.
   */
  private replace(h: ArrayInScope, a: LocalArray, call: InlineCall | null, scope: Scope, depth: number): void {
    const want = shapeOf(h);
    let s: string | undefined;
    let done: (() => void) | undefined;
    // (h is given another array here: not to a helper in what makes it, which tsgrad would write out)
    const busy = h.busy;
    h.busy = true;
    if (call) {
      const r = this.inlineCall(call, scope, true, true, depth, { want, prefer: h });
      if (r) ({ s, done } = r);
    }
    if (s === undefined) s = this.making(a, scope, want, h)?.s;
    h.busy = busy;
    if (s === undefined) return;
    this.emit(depth, `${h.name} = ${s};`);
    done?.();
    // (at the top level h names a new array from here on: the sink reads it, not the one moved before;
    // after an early return, where tsgrad takes the rest for a branch, one it moves back at its end)
    if (!this.loops.length && !scope.branch) for (const m of this.movedArrays) if (m.set.includes(h)) m.detached = true;
    if (done) this.lengthFrom(h, scope);
    this.created++;
    this.features.add(done ? "replace-by-helper" : "replace");
    this.moved([h], scope);
  }

  /**
   * At the end of a function (the local arrays of `sunk` read by its sink): notes an array given
   * another that the sink does not read ("moved-then-unread", fixed: f_grad moved gradient
   * arrays it never declared, `[dv, du] = [du, dv]`, where arrays that change places are read
   * before, outside the loops around the change, and not after: tsgrad's activity, going back from
   * the end, saw no reason for their gradients at the change; so too where they changed places
   * before with others, whose reads reach them there too late; and let arrays moved after an
   * early return, at the top level (Printer.moved). A superset: any read after, in a condition, in a
   * callback, may count for nothing, so only the sink's is taken).
   */
  private unreadMoves(sunk?: Scope): void {
    for (const a of sunk?.arrays ?? []) if (a.local) a.unread = false;
    if (this.movedArrays.some((m) => m.detached || (m.early && m.set.some((a) => a.unread))))
      this.features.add("moved-then-unread");
    if ([...this.hoistedFrom].some((a) => this.uneven.has(a))) this.features.add("uneven-rebind");
  }

  /** An array's elements read (Printer.unreadMoves). */
  private reading(a: ArrayInScope): void {
    (a.reads ??= []).push([...this.loops]);
  }

  /**
   * The helpers tsgrad inlines that could give a state of this shape a new array (Stmt replace,
   * Printer.inlineCall with want): map helpers returning an array of its kind and length, that pass
   * nothing on, where the function may create an array.
   */
  private mapHelpers(want: Shape): HelperInScope[] {
    return this.noCreate
      ? []
      : this.helpers.filter(
          (h) =>
            h.inline?.kind === "map" &&
            !h.inline.passedOn.size &&
            !Array.isArray(h.inline.result) &&
            h.inline.result?.kind === want.kind &&
            h.inline.result.n === want.n,
        );
  }

  /**
   * A shape for a state that map helper i (mod those) could map each step: its result's kind and
   * length, and the length of an array in scope it could be given (a parameter's, a table's, ...).
   */
  private mapShape(i: number, scope: Scope): Shape | undefined {
    if (this.noCreate) return undefined;
    const maps = this.helpers.filter((h) => h.inline?.kind === "map" && !h.inline.passedOn.size);
    if (!maps.length) return undefined;
    const info = maps[i % maps.length].inline!;
    const result = info.result as { kind: "Float64Array" | "number[]"; n: number };
    const x = scope.arrays.find((a) => !a.field && a.n === result.n);
    return x ? { kind: result.kind, n: result.n, len: keyOf(x) } : undefined;
  }

  /**
   * Whether an array of a let group may change places here: no helper was given it (tsgrad refuses
   * a change after the call), and no tmp holds one of its group where this block ends (Scope.pinned,
   * tmps): the tmp and the array given that array would hold one array there, which tsgrad refuses.
   */
  private movable(g: ArrayInScope, scope: Scope): boolean {
    const tmp = scope.tmps?.get(g);
    // (nor one a loop over it goes on iterating: tsgrad refuses giving it another array there)
    const iterated = this.iterated.includes(g);
    return !g.frozen && !iterated && !scope.pinned?.has(g) && !(tmp !== undefined && this.exitCount > tmp);
  }

  /** Arrays given another array (rebind, replace): they change, in the loops around too; what they hold is read next. */
  private moved(arrays: ArrayInScope[], scope: Scope): void {
    // (read or moved before, outside the loops around here, these or those they change places with:
    // Printer.unreadMoves)
    const linked = new Set(arrays.flatMap((a) => a.group ?? [a]));
    const outside = (at: number[]) => !at.some((l) => this.loops.includes(l));
    const early = [...linked].some((a) => a.reads?.some(outside) || a.movesAt?.some(outside));
    this.movedArrays.push({ set: arrays, early });
    for (const a of arrays) (a.movesAt ??= []).push([...this.loops]);
    for (const frame of this.moveFrames) frame.push(...arrays);
    // (after an early return, at the top level: Printer.unreadMoves)
    if (!this.loops.length && !scope.branch && this.returned) this.features.add("moved-then-unread");
    for (const g of arrays) {
      g.moved = true;
      g.unread = true;
      g.writtenIn ??= new Set();
      for (const l of this.loops) g.writtenIn.add(l);
      scope.arrays.splice(scope.arrays.indexOf(g), 1);
      scope.arrays.unshift(g);
    }
    if (this.loops.length) this.features.add("moved-in-loop");
    if (scope.branch) this.features.add("moved-in-branch");
  }

  /**
   * Time steps (Stmt steps): let arrays, then a loop whose body ends with the next buffer filled
   * from the current one and the arrays changing places, or the state replaced, maybe under an if:
   *
   *   let u1 = x.slice();                            let u1 = x.map((el0) => el0 * 2);
   *   let u2 = new Float64Array(x.length);           let k0 = 0;
   *   for (let i0 = 0; i0 < 3; i0++) {              while (k0 < 2) {
   *     ...                                            k0++;
   *     for (let i1 = 0; i1 < u2.length; i1++) {       ...
   *       u2[i1] = Math.sin(u1[i1]) * y;              if (u1[0] > 0.5) {
   *     }                                                u1 = u1.map((el0, ix0) => Math.tanh(el0 * y + x[ix0]));
   *     const tmp0 = u1;                               }
   *     u1 = u2;                                     }
   *     u2 = tmp0;
   *   }
   */
  private steps(st: Extract<Stmt, { k: "steps" }>, scope: Scope, depth: number): void {
    // (a state a helper maps each step: made of a shape some map helper returns, if there is one)
    const want = !st.swap && st.call ? this.mapShape(st.call.i, scope) : undefined;
    const group = this.noCreate ? [] : this.buffers(st.arrays, scope, depth, want);
    if (group.length) this.features.add(st.form.startsWith("for") ? "steps-for" : "steps-while");
    const tail = (inner: Scope, d: number) => {
      if (!group.length) return;
      const [cur, next] = group;
      if (st.fill && next && !next.frozen) this.fill(next, cur, st.fill, inner, d);
      const swap = st.swap && group.length > 1;
      if (swap ? group.some((g) => !this.movable(g, inner) || (st.c && inner.tmps?.has(g))) : cur.frozen) return;
      const end = (sc: Scope, dd: number) =>
        swap ? this.rebind(group, st.rebind, sc, dd) : this.replace(cur, st.a, st.call, sc, dd);
      if (!st.c) return end(inner, d);
      // a branch choosing whether they change places (or the state is replaced)
      const entry = inner.data;
      const c = this.cond(st.c, inner);
      this.emit(d, `if (${c.s}) {`);
      const arm = nested(inner);
      arm.branch = true;
      arm.data = narrowed(c.n, entry, true);
      end(arm, d + 1);
      adopt(inner, arm);
      this.emit(d, "}");
      inner.data = union(arm.data, narrowed(c.n, entry, false));
    };
    this.inLoop(() =>
      this.loop({ k: "loop", form: st.form, trips: st.trips, c: null, body: st.body, var: false }, scope, depth, tail),
    );
  }

  /** `for (let i0 = 0; i0 < u2.length; i0++) u2[i0] = <e>;` (Stmt steps): the next buffer filled, the current one read first. */
  private fill(next: ArrayInScope, cur: ArrayInScope, e: Expr, scope: Scope, depth: number): void {
    this.inLoop(() => {
      const i = `i${this.counters.i++}`;
      const inner = nested(scope, true);
      inner.vars.push(i);
      inner.counters.unshift({ name: i, lo: 0, hi: next.n - 1, start: true });
      inner.arrays.unshift(...inner.arrays.splice(inner.arrays.indexOf(cur), 1));
      this.emit(depth, `for (let ${i} = 0; ${i} < ${next.name}.length; ${i}++) {`);
      // (the value is computed before the write: a call in it passes not the array it writes)
      const busy = next.busy;
      next.busy = true;
      const value = this.expr(e, inner).s;
      next.busy = busy;
      this.emit(depth + 1, `${next.name}[${i}] = ${value};`);
      if (this.mode === "reference") this.emit(depth + 1, `$.v(${next.name}[${i}]);`);
      this.emit(depth, "}");
      next.writtenIn ??= new Set();
      for (const l of this.loops) next.writtenIn.add(l);
      this.stored();
      adopt(scope, inner);
      scope.arrays.unshift(...scope.arrays.splice(scope.arrays.indexOf(next), 1));
    });
  }

  /** An extra exit test of a loop, on the right of && (or ||): no assignment may go there. */
  private rightOf(c: Cond, scope: Scope, data: DataVar[] = scope.data): PrintedCond {
    this.noAssign++;
    const r = this.condAt(c, { ...scope, data });
    this.noAssign--;
    return r;
  }

  /** Prints a loop, its head and tail included, as one of the loops around what it prints (Printer.loops). */
  private inLoop(print: () => void): void {
    this.loops.push(this.loopCount++);
    this.exits.push(false);
    this.mayEnd.push(false);
    this.stores.push(false);
    try {
      print();
    } finally {
      this.loops.pop();
      this.exits.pop();
      // (a loop that may end early and writes an element: known-bugs.ts)
      if (this.mayEnd.pop() && this.stores.pop()) this.features.add("store-in-loop-that-may-end");
    }
  }

  /** A break, continue or return printed: what follows in the loops around it runs only on some paths. */
  private exited(): void {
    this.exitCount++;
    this.exits.fill(true);
    this.mayEnd.fill(true);
    this.features.add("loop-exit");
  }

  /** The innermost loop may end before its count: a data-dependent test, a test that assigns. */
  private mayEndEarly(): void {
    if (this.mayEnd.length) this.mayEnd[this.mayEnd.length - 1] = true;
    this.features.add("loop-exit");
  }

  /** An element written (a store, an out-parameter an inlined helper writes), in the loops around it. */
  private stored(): void {
    this.stores.fill(true);
  }

  /** Arrays that have methods (reduce, map, entries): not ArrayLike<number>, not an object's field (tsgrad reads those by index only). */
  private methodArrays(scope: Scope): ArrayInScope[] {
    return scope.arrays.filter((a) => !a.field && a.kind !== "ArrayLike<number>");
  }

  /**
   * An array a method goes over (arr mod those); notes a table's, and a method call in a condition,
   * which tsgrad refuses (known-bugs.ts).
   */
  private overArray(arrays: ArrayInScope[], arr: number, mayThrow = false): ArrayInScope {
    const a = arrays[arr % arrays.length];
    this.reading(a);
    if (a.table) this.features.add("table-method");
    // reduce with no initial value, in a condition (it throws on an empty array): known-bugs.ts
    if (this.inCond && mayThrow) this.features.add("array-method-in-condition");
    return a;
  }

  /**
   * for (const [i0, e0] of x.entries()) { if (c) break; ... } (Stmt entries): i0 a counter of the
   * body, e0 the element; with no array that has entries(), a counting loop of 2 iterations.
   */
  private entries(st: Extract<Stmt, { k: "entries" }>, scope: Scope, depth: number): void {
    const over = this.methodArrays(scope);
    if (!over.length)
      return this.loop({ k: "loop", form: "for", trips: 2, c: st.c, body: st.body, var: false }, scope, depth);
    const a = this.overArray(over, st.arr);
    const i = `i${this.counters.i++}`;
    const e = `e${this.counters.e++}`;
    this.features.add("entries");
    this.emit(depth, `for (const [${i}, ${e}] of ${a.name}.entries()) {`);
    const inner = nested(scope, true);
    inner.vars.unshift(e);
    inner.vars.push(i);
    inner.counters.unshift({ name: i, lo: 0, hi: a.n - 1, start: true });
    const entry = scope.data;
    let start = entry;
    if (st.c) {
      const c = this.cond(st.c, inner);
      this.emit(depth + 1, `if (${c.s}) break;`);
      this.exited();
      this.features.add("entries-break");
      start = narrowed(c.n, entry, false);
    }
    // (the array iterated, which the body may not give another array: tsgrad refuses it, as
    // JavaScript goes on over the array the loop started with)
    this.iterated.push(a);
    this.block(st.body, inner, depth + 1, start);
    this.iterated.pop();
    adopt(scope, inner);
    this.emit(depth, "}");
    scope.data = entry;
  }

  /**
   * A loop over an array (forms at ArrayLoopForm); its counter joins scope.counters with its range,
   * for the indices of the body. With no array in scope, a counting loop of 2 iterations.
   */
  private arrayLoop(st: Extract<Stmt, { k: "arrayLoop" }>, scope: Scope, depth: number): void {
    if (!scope.arrays.length)
      return this.loop({ k: "loop", form: "for", trips: 2, c: st.c, body: st.body, var: false }, scope, depth);
    // for...of goes over a parameter (arr mod those), the other forms over any array
    const params = scope.arrays.filter((p) => !p.local && !p.field && !p.table && p.kind !== "ArrayLike<number>");
    const over = st.form === "of" && params.length ? params : scope.arrays;
    const a = over[st.arr % over.length];
    const inner = nested(scope, true);
    const entry = scope.data;
    let start = entry;
    if (st.form === "of" && params.includes(a)) {
      const e = `e${this.counters.e++}`;
      this.emit(depth, `for (const ${e} of ${a.name}) {`);
      if (st.c) {
        const c = this.cond(st.c, scope);
        this.emit(depth + 1, `if (${c.s}) break;`);
        this.exited();
        start = narrowed(c.n, entry, false);
      }
      inner.vars.unshift(e);
    } else {
      const x = st.c ? this.rightOf(st.c, scope) : undefined;
      if (x) this.mayEndEarly();
      const extra = (test: string) => (x ? `${test} && ${x.s}` : test);
      if (x) start = narrowed(x.n, entry, true);
      const i = `i${this.counters.i++}`;
      const outer = scope.counters.find((c) => c.start);
      const n = a.n;
      const [init, test, lo, hi] = {
        up: ["0", `${i} < ${a.name}.length`, 0, n - 1],
        of: ["0", `${i} < ${a.name}.length`, 0, n - 1],
        down: [`${a.name}.length - 1`, `${i} >= 0`, 0, n - 1],
        from1: ["1", `${i} < ${a.name}.length`, 1, n - 1],
        pairs: ["0", `${i} + 1 < ${a.name}.length`, 0, n - 2],
        inner: [outer ? `${outer.name} + 1` : "0", `${i} < ${a.name}.length`, outer ? outer.lo + 1 : 0, n - 1],
      }[st.form] as [string, string, number, number];
      this.emit(depth, `for (let ${i} = ${init}; ${extra(test)}; ${i}${st.form === "down" ? "--" : "++"}) {`);
      inner.vars.push(i);
      inner.counters.unshift({ name: i, lo, hi, start: true });
    }
    this.block(st.body, inner, depth + 1, start);
    adopt(scope, inner);
    this.emit(depth, "}");
    scope.data = entry;
  }

  /**
   * An index into array a, in [0, a.n) for every value the counters in scope can take (forms at
   * Index): `i0`, `x.length - 1 - i0`, `(i0 + 1) % x.length` where i0 + 1 could reach x's length.
   * The reference checks it (`$.index`), and records a data-dependent one (`$.jump`).
   */
  private index(ix: Index, a: ArrayInScope, scope: Scope): string {
    const form = ix.form;
    const len = `${a.name}.length`;
    const constant = String(ix.c % a.n);
    if (form === "data" && scope.vars.length) {
      const v = this.read(scope.vars[ix.of % scope.vars.length]);
      const e = `Math.floor(Math.abs(${v}) * 2) % ${len}`;
      return this.mode === "reference" ? `$.jump(${e}, ${a.n})` : e;
    }
    if (form === "cursor" && scope.cursors.length) {
      // a cursor is an integer >= 0, moved only by ++ here
      const j = scope.cursors[ix.of % scope.cursors.length];
      if (!this.noAssign) {
        this.features.add("assign-in-expression");
        this.moves++;
      }
      const e = `${this.noAssign ? j : ix.c % 2 ? `++${j}` : `${j}++`} % ${len}`;
      return this.mode === "reference" ? `$.index(${e}, ${a.n})` : e;
    }
    if (form === "constant" || form === "data" || form === "cursor" || !scope.counters.length) return constant;
    const i = scope.counters[ix.of % scope.counters.length];
    this.read(i.name);
    // the index printed, and the range it takes over the counter's [lo, hi]
    const [e, lo, hi]: [string, number, number] = {
      counter: [i.name, i.lo, i.hi],
      reversed: [`${len} - 1 - ${i.name}`, a.n - 1 - i.hi, a.n - 1 - i.lo],
      next: [`${i.name} + 1`, i.lo + 1, i.hi + 1],
      previous: [`${i.name} - 1`, i.lo - 1, i.hi - 1],
      // (a counter can end at -1 after its loop: whileDec, forPair's second)
      clamped: [
        `Math.min(${i.name} + ${ix.c % 3}, ${len} - 1)`,
        Math.min(i.lo + (ix.c % 3), a.n - 1),
        Math.min(i.hi + (ix.c % 3), a.n - 1),
      ],
    }[form] as [string, number, number];
    // wrap what could leave [0, n), even where the loop never runs (hi < lo): tsgrad refuses
    // `u0[i1 + 1]` in `for (let i1 = ...; i1 < u0.length; i1++)` as out of range whenever it runs
    const safe =
      lo >= 0 && hi < a.n ? e : lo >= 0 ? `${e.includes(" ") ? `(${e})` : e} % ${len}` : `Math.abs(${e}) % ${len}`;
    return this.mode === "reference" ? `$.index(${safe}, ${a.n})` : safe;
  }

  /**
   * for (let i0 = 0; i0 < 3; i0++) { ... }          for (let i0 = 3; i0 > 0; i0--) { ... }
   * let k0 = 0; while (k0 < 3) { k0++; ... }        let k0 = 0; do { k0++; ... } while (k0 < 3);
   * and the forms at LoopForm. A data-dependent exit test is added with &&. Counters are read-only
   * (the trip count stays small); a while counter is moved first or in the test, so `continue`
   * cannot skip it. A counter read after the loop (a var, a while's) has the range it can end with.
   * `tail` prints the end of the body, in its scope (Stmt steps).
   */
  private loop(
    st: Extract<Stmt, { k: "loop" }>,
    scope: Scope,
    depth: number,
    tail?: (scope: Scope, depth: number) => void,
  ): void {
    const inner = nested(scope, true);
    const entry = scope.data;
    const trips = st.trips;
    const most = Math.max(1, trips);
    if (st.form.startsWith("for")) {
      const kw = st.var ? "var" : "let";
      if (st.var) this.features.add("var");
      const i = `i${this.counters.i++}`;
      const j = st.form === "forPair" ? `i${this.counters.i++}` : "";
      const x = st.c ? this.rightOf(st.c, scope) : undefined;
      if (x) this.mayEndEarly();
      const extra = (test: string) => (x ? `${test} && ${x.s}` : test);
      const head = {
        for: `${kw} ${i} = 0; ${extra(`${i} < ${trips}`)}; ${i}++`,
        forDown: `${kw} ${i} = ${trips}; ${extra(`${i} > 0`)}; ${i}--`,
        forStep: `${kw} ${i} = 0; ${extra(`${i} < ${trips}`)}; ${i} += 1`,
        forBreak: `${kw} ${i} = 0; ; ${i}++`,
        forPair: `${kw} ${i} = 0, ${j} = ${trips - 1}; ${extra(`${i} < ${trips}`)}; ${i}++, ${j}--`,
      }[st.form as "for" | "forDown" | "forStep" | "forBreak" | "forPair"];
      this.emit(depth, `for (${head}) {`);
      let start = x ? narrowed(x.n, entry, true) : entry;
      if (st.form === "forBreak") {
        const test = `${i} >= ${trips}`;
        this.emit(depth + 1, `if (${x ? `${test} || ${x.s}` : test}) break;`);
        this.exited();
        start = x ? narrowed(x.n, entry, false) : entry;
      }
      inner.vars.push(i);
      inner.counters.unshift(
        st.form === "forDown"
          ? { name: i, lo: 1, hi: trips, start: true }
          : { name: i, lo: 0, hi: trips - 1, start: true },
      );
      if (j) {
        // i1 = 2 - i0
        inner.vars.push(j);
        inner.counters.splice(1, 0, { name: j, lo: 0, hi: trips - 1, start: true });
      }
      this.block(st.body, inner, depth + 1, start, false, tail);
      adopt(scope, inner);
      this.emit(depth, "}");
      scope.data = entry;
      if (st.var) {
        // (a var counter of a helper tsgrad inlines read after its loop: known-bugs.ts)
        if (this.inlining) for (const c of j ? [i, j] : [i]) this.afterLoop.add(c);
        // i0 ends in [0, trips] (a break ends it early), i1 = trips - 1 - i0
        scope.vars.push(i);
        scope.counters.unshift({ name: i, lo: 0, hi: trips, start: false });
        if (j) {
          scope.vars.push(j);
          scope.counters.unshift({ name: j, lo: -1, hi: Math.max(0, trips - 1), start: false });
        }
      }
      return;
    }
    const k = `k${this.counters.k++}`;
    const bottom = st.form === "do" || st.form === "doPre";
    const x = st.c && !bottom ? this.rightOf(st.c, scope) : undefined;
    if (st.c || st.form === "whilePost" || st.form === "whileDec" || st.form === "doPre") this.mayEndEarly();
    const extra = (test: string) => (x ? `${test} && ${x.s}` : test);
    // the counter's range in the body, and after the loop
    const [lo, hi, afterLo, afterHi] = {
      while: [1, most, 0, most],
      do: [1, most, 0, most],
      whilePost: [1, most, 1, trips + 1],
      whileDec: [0, Math.max(0, trips - 1), -1, Math.max(0, trips - 1)],
      doPre: [0, Math.max(0, trips - 1), 0, most],
    }[st.form as "while" | "do" | "whilePost" | "whileDec" | "doPre"];
    this.emit(depth, `let ${k} = ${st.form === "whileDec" ? trips : 0};`);
    if (st.form !== "while" && st.form !== "do") this.features.add("assign-in-loop-test");
    if (st.form === "while") this.emit(depth, `while (${extra(`${k} < ${trips}`)}) {`);
    else if (st.form === "whilePost") this.emit(depth, `while (${extra(`${k}++ < ${trips}`)}) {`);
    else if (st.form === "whileDec") this.emit(depth, `while (${extra(`(${k} -= 1) >= 0`)}) {`);
    else this.emit(depth, "do {");
    // (tsgrad moves a while's test that assigns into the body, an exit before the rest: Printer.exited)
    if (st.form === "whilePost" || st.form === "whileDec") this.exited();
    if (st.form === "while" || st.form === "do") this.emit(depth + 1, `${k}++;`);
    inner.vars.push(k);
    inner.counters.unshift({ name: k, lo, hi, start: false });
    const end = this.block(st.body, inner, depth + 1, x ? narrowed(x.n, entry, true) : entry, false, tail);
    adopt(scope, inner);
    if (bottom) {
      // the test sees the values the body ends with; so does what follows (a smaller set than TypeScript's)
      const y = st.c ? this.rightOf(st.c, scope, end) : undefined;
      const test = st.form === "do" ? `${k} < ${trips}` : `++${k} < ${trips}`;
      this.emit(depth, `} while (${y ? `${test} && ${y.s}` : test});`);
      scope.data = end;
    } else {
      this.emit(depth, "}");
      scope.data = entry;
    }
    scope.vars.push(k);
    scope.counters.unshift({ name: k, lo: afterLo, hi: afterHi, start: false });
  }

  /** A condition, and what it tells of the data parameters (Narrow). */
  private cond(c: Cond, scope: Scope): PrintedCond {
    this.inCond++;
    try {
      return this.condition(c, scope);
    } finally {
      this.inCond--;
    }
  }

  private condition(c: Cond, scope: Scope): PrintedCond {
    const cmpName = { ">": "gt", "<": "lt", ">=": "ge", "<=": "le" } as const;
    switch (c.k) {
      case "cmp": {
        const a = this.expr(c.a, scope);
        const b = this.expr(c.b, scope);
        const s = this.mode === "ts" ? `${at(a, ADD)} ${c.op} ${at(b, ADD)}` : `$.${cmpName[c.op]}(${a.s}, ${b.s})`;
        return { s, n: null, k: "cmp" };
      }
      case "and":
      case "or": {
        const a = this.condAt(c.a, scope);
        // the right operand runs only sometimes: TypeScript narrows it by the left, tsgrad refuses an assignment in it
        const b = this.rightOf(c.b, scope, narrowed(a.n, scope.data, c.k === "and"));
        return { s: `${a.s} ${c.k === "and" ? "&&" : "||"} ${b.s}`, n: { k: c.k, a: a.n, b: b.n }, k: c.k };
      }
      case "not": {
        const a = this.cond(c.a, scope);
        return { s: `!(${a.s})`, n: { k: "not", a: a.n }, k: "not" };
      }
      case "flag": {
        if (!scope.flags.length) return this.cond(c.alt, scope);
        const b = scope.flags[c.i % scope.flags.length];
        return { s: b, n: this.flagNarrow.get(b) ?? null, k: "flag" };
      }
      case "is": {
        const ds = scope.data.filter((d) => d.poss.length);
        if (!ds.length) return this.cond(c.alt, scope);
        const d = ds[c.i % ds.length];
        this.features.add("data-test");
        // a flag by its truth (never refused, however narrowed), the others compared with a value they can have
        if (d.kind === "flag")
          return { s: c.not ? `!${d.name}` : d.name, n: { k: "is", name: d.name, lit: 0, eq: !c.not }, k: "is" };
        const lit = d.poss[c.v % d.poss.length];
        const value = dataValues[d.kind][this.mode === "ts" ? "ts" : "js"][lit];
        return {
          s: `${d.name} ${c.not ? "!==" : "==="} ${value}`,
          n: { k: "is", name: d.name, lit, eq: !c.not },
          k: "is",
        };
      }
    }
  }

  /** A condition as an operand of && / ||: parenthesised unless it is a comparison, a test or a negation. */
  private condAt(c: Cond, scope: Scope): PrintedCond {
    const r = this.cond(c, scope);
    return r.k === "and" || r.k === "or" ? { ...r, s: `(${r.s})` } : r;
  }

  /** Math.fn(args), or in the reference the hook $.fn(args) that also records the side taken. */
  private call(fn: string, args: Printed[], hooked: boolean): Printed {
    const name = hooked && this.mode === "reference" ? `$.${fn.replace("Math.", "")}` : fn;
    return { s: `${name}(${args.map((a) => a.s).join(", ")})`, p: ATOM };
  }

  /** An expression; in the reference, each operation's value also passes through $.v (which records its size). */
  expr(e: Expr, scope: Scope): Printed {
    const p = this.node(e, scope);
    return e.k === "const" || e.k === "ref" ? p : this.seen(p);
  }

  private seen(p: Printed): Printed {
    return this.mode === "reference" ? { s: `$.v(${p.s})`, p: ATOM, lit: p.lit } : p;
  }

  /** After an assignment, the reference records the new value too. */
  private assigned(depth: number, name: string, scope: Scope): void {
    if (scope.inLoop && this.listed) this.features.add("list-destructuring-then-loop-write");
    this.assignedInLoop(name, scope);
    if (this.mode === "reference") this.emit(depth, `$.v(${name});`);
    recent(scope.vars, name);
    recent(scope.mutable, name);
  }

  /** A variable read: notes an inlined helper's var counter read after its loop (known-bugs.ts). */
  private read(name: string): string {
    if (this.afterLoop.has(name)) this.features.add("inline-helper-var-counter");
    return name;
  }

  /** A number parameter of a helper tsgrad inlines assigned in a loop (InlineInfo.loopAssigned). */
  private assignedInLoop(name: string, scope: Scope): void {
    this.reassigned.add(name);
    const i = this.paramIndex.get(name);
    if (this.inlining && scope.inLoop && i !== undefined) this.loopAssigned.add(i);
  }

  /** An assignment inside an expression: v is the latest variable written from here on. */
  private wrote(name: string, scope: Scope): void {
    this.writes++;
    if (scope.inLoop && this.listed) this.features.add("list-destructuring-then-loop-write");
    this.assignedInLoop(name, scope);
    this.features.add("assign-in-expression");
    recent(scope.vars, name);
    recent(scope.mutable, name);
  }

  private node(e: Expr, scope: Scope): Printed {
    switch (e.k) {
      case "const":
        this.usesScale ||= e.v === SCALE;
        if (e.v === Number.EPSILON) this.features.add("global-constant");
        return { s: fmt(e.v), p: e.v < 0 ? UNARY : ATOM, lit: !constantNames.has(e.v) };
      case "ref":
        // a function of arrays alone: before its first local, the first element of an array
        if (!scope.vars.length && scope.arrays.length) return { s: `${scope.arrays[0].name}[0]`, p: ATOM };
        // a function of data alone: a constant
        if (!scope.vars.length) return { s: "0.5", p: ATOM, lit: true };
        return { s: this.read(scope.vars[e.i % scope.vars.length]), p: ATOM };
      case "elem": {
        if (!scope.arrays.length) return this.node({ k: "ref", i: e.ix.of }, scope);
        const a = scope.arrays[e.arr % scope.arrays.length];
        this.reading(a);
        return { s: `${a.name}[${this.index(e.ix, a, scope)}]`, p: ATOM };
      }
      case "len":
        if (!scope.arrays.length) return this.node({ k: "const", v: constants[e.arr % constants.length] }, scope);
        return { s: `${scope.arrays[e.arr % scope.arrays.length].name}.length`, p: ATOM };
      case "bin": {
        const prec = e.op === "*" ? MUL : ADD;
        return { s: `${at(this.expr(e.a, scope), prec)} ${e.op} ${at(this.expr(e.b, scope), prec + 1)}`, p: prec };
      }
      case "div":
        return { s: `${at(this.expr(e.a, scope), MUL)} / ${at(this.positive(e.b, e.w, scope), UNARY)}`, p: MUL };
      case "mod": {
        const a = this.expr(e.a, scope);
        const b = this.positive(e.b, e.w, scope);
        return this.mode === "ts"
          ? { s: `${at(a, MUL)} % ${at(b, UNARY)}`, p: MUL }
          : { s: `$.mod(${a.s}, ${b.s})`, p: ATOM };
      }
      case "neg":
        return this.neg(this.expr(e.a, scope));
      case "unary": {
        const a = this.inDomain(unaryOps[e.fn], e.a, e.w, scope);
        return this.call(e.fn, [a], e.fn === "Math.abs");
      }
      case "pow":
        return this.pow(e, scope);
      case "variadic":
        return this.call(
          e.fn,
          e.args.map((a) => this.expr(a, scope)),
          true,
        );
      case "atan2":
        return this.call("Math.atan2", [this.expr(e.a, scope), this.expr(e.b, scope)], true);
      case "sigmoid": {
        // recognised by tsgrad as one operation, differentiated as (1 - s) * s
        return { s: `1 / (1 + Math.exp(${this.neg(this.expr(e.a, scope)).s}))`, p: MUL };
      }
      case "piecewise": {
        // a * floor(b): piecewise constant, no gradient through b (but its jumps are recorded)
        const b = this.call(e.fn, [this.floorOperand(e.b, scope)], true);
        return { s: `${at(this.expr(e.a, scope), MUL)} * ${b.s}`, p: MUL };
      }
      case "ternary": {
        // each branch narrowed by the test; in a condition, no assignment in a branch (tsgrad refuses it)
        const c = this.cond(e.c, scope);
        const inCond = this.inCond > 0;
        if (inCond) this.noAssign++;
        const a = this.expr(e.a, { ...scope, data: narrowed(c.n, scope.data, true) });
        const b = this.expr(e.b, { ...scope, data: narrowed(c.n, scope.data, false) });
        if (inCond) this.noAssign--;
        // (TypeScript takes `c ? 0.5 : 1.5` for a literal too)
        return { s: `${c.s} ? ${at(a, ADD)} : ${at(b, ADD)}`, p: TERNARY, lit: a.lit && b.lit };
      }
      case "call": {
        // (not a helper tsgrad inlines: those are called by statements, Stmt inline)
        const callees = this.helpers.filter((h) => !h.inline);
        if (callees.length === 0) return this.expr(e.args[0], scope);
        const h = callees[e.i % callees.length];
        // the arrays given it (undefined: a table); one that changes where tsgrad can write the helper
        // out at the call, but then no table (it takes arrays of the function there, by name)
        const picks = e.arrs ?? [0];
        const choose = (out: boolean) =>
          h.params.map((t, j) => (isArrayParam(t) ? this.choose(t, picks, j, scope, out) : null));
        // (not in a helper tsgrad inlines: there it refuses a changing array given to a helper, TS94006)
        let chosen = choose(h.inlinable === true && !this.inlining);
        const changing = chosen.some((a) => a && this.changing(a));
        if (changing && h.params.some((t, j) => isArrayParam(t) && (!chosen[j] || chosen[j]!.table)))
          chosen = choose(false);
        // an array parameter of a kind no table can pass (Float64Array) and nothing else fits: no call
        if (h.params.some((t, j) => isArrayParam(t) && !chosen[j] && !accepts(t.array, "number[]")))
          return this.expr(e.args[0], scope);
        const out = chosen.some((a) => a && this.changing(a));
        const arrays = h.params.map((t, j) => (isArrayParam(t) ? this.passed(t, chosen[j] ?? undefined, j, h) : null));
        // (written out at the call: its arguments are printed as an inlined helper's, Printer.inlineArgs)
        if (out) this.inlineArgs++;
        const args = h.params.map((_, j) => arrays[j] ?? this.expr(e.args[j % e.args.length], scope).s);
        if (out) this.inlineArgs--;
        if (arrays.some((a) => a)) this.features.add(h.unmarked ? "array-to-unmarked" : "array-to-helper");
        else if (h.unmarked) this.features.add("call-unmarked");
        return { s: `${h.name}(${args.join(", ")})`, p: ATOM };
      }
      case "reduce": {
        const over = this.methodArrays(scope);
        if (!over.length) return this.expr(e.cb.body, scope);
        const a = this.overArray(over, e.arr, !e.init);
        this.features.add(e.map ? "map-reduce" : e.init ? "reduce" : "reduce-no-init");
        // (map's callback typed to return a number where reduce has no initial value: Printer.callback)
        const array = e.map ? `${a.name}.map(${this.callback(e.map, false, a, 0, scope, null, !e.init)})` : a.name;
        const writes = this.writes;
        const init = e.init ? this.expr(e.init, scope).s : undefined;
        // (map's callback runs after an assignment in reduce's initial value: known-bugs.ts)
        // (an update in an index, `u[j++]`, counts too: it is a change in the initial value)
        const changes = init !== undefined && /\+\+|--|[^=!<>]=[^=]/.test(init);
        if (e.map && (this.writes > writes || changes)) this.features.add("assignment-in-map-reduce-init");
        const cb = this.callback(e.cb, true, a, init === undefined ? 1 : 0, scope, e.op);
        return { s: `${array}.reduce(${cb}${init === undefined ? "" : `, ${init}`})`, p: ATOM };
      }
      case "spread": {
        // Math.max(...x.map(cb)), Math.min(...Array.from(x, cb)); Array.from takes an ArrayLike<number> too
        const over = e.from ? scope.arrays.filter((a) => !a.field) : this.methodArrays(scope);
        if (!over.length) return this.expr(e.cb.body, scope);
        const a = this.overArray(over, e.arr);
        this.features.add(e.from ? "spread-from" : "spread-map");
        const cb = this.callback(e.cb, false, a, 0, scope);
        const list = e.from ? `Array.from(${a.name}, ${cb})` : `${a.name}.map(${cb})`;
        return this.call(e.max ? "Math.max" : "Math.min", [{ s: `...${list}`, p: ATOM }], true);
      }
      case "set": {
        if (this.noAssign || !scope.mutable.length) return this.expr(e.e, scope);
        const v = scope.mutable[e.target % scope.mutable.length];
        const value = this.expr(e.e, scope);
        this.wrote(v, scope);
        // bare (`v1 = v0 = e;`, `s += t = e`), parenthesised as an operand: `(v0 = e) * v0`
        return { s: `${v} ${e.op} ${value.s}`, p: ASSIGN };
      }
      case "bump": {
        if (!scope.mutable.length) return this.node({ k: "ref", i: e.target }, scope);
        const v = scope.mutable[e.target % scope.mutable.length];
        if (this.noAssign) return { s: v, p: ATOM };
        this.wrote(v, scope);
        return { s: e.pre ? `${e.op}${v}` : `${v}${e.op}`, p: UNARY };
      }
      case "comma": {
        if (this.noAssign || !scope.mutable.length) return this.expr(e.a, scope);
        const v = scope.mutable[e.target % scope.mutable.length];
        const value = this.expr(e.e, scope);
        this.wrote(v, scope);
        return { s: `(${v} = ${value.s}, ${this.expr(e.a, scope).s})`, p: ATOM };
      }
      case "logic": {
        // a literal is always truthy to TypeScript (TS2872): floor it too (it has no assignment to refuse)
        const form = e.w % 3;
        let a = form === 2 ? this.floorOperand(e.a, scope) : this.expr(e.a, scope);
        if (form === 1) a = this.call("Math.max", [a, { s: "0", p: ATOM }], true);
        if (form === 2 || a.lit) a = this.call("Math.floor", [a], true);
        this.features.add("logic-on-numbers");
        // the right operand runs only sometimes: in a condition, tsgrad refuses an assignment there
        const inCond = this.inCond > 0;
        if (inCond) this.noAssign++;
        const b = this.expr(e.b, scope);
        if (inCond) this.noAssign--;
        // the reference records which operand a chose (its truth)
        const left = this.mode === "reference" ? `$.tru(${a.s})` : at(a, ADD);
        return { s: `${left} ${e.op} ${at(b, ADD)}`, p: LOGIC };
      }
    }
  }

  /**
   * The arrays in scope a helper's array parameter t can be passed: of t's length, of a kind
   * TypeScript lets it take, and a parameter, a table, or a local array that is not being written
   * and does not change there (Printer.changing), or, to a helper tsgrad can write out at the call
   * (`writtenOut`, HelperInScope.inlinable), one that does.
   */
  private fits(t: { array: ParamArrayKind; n: number }, scope: Scope, writtenOut = false): ArrayInScope[] {
    return scope.arrays.filter(
      (a) =>
        !a.field &&
        !a.alias &&
        a.n === t.n &&
        accepts(t.array, a.kind) &&
        !(a.local && (a.busy || (!writtenOut && this.changing(a)))),
    );
  }

  /**
   * A local array that changes where a helper given it would read it: written (or made) in a loop
   * around here, or given another array anywhere (a let array moved by a rebind or a replace; ir/
   * inlining.ts changedAfter, movesArray). A helper's pullback reads the array as the backward pass
   * finds it, so tsgrad writes the helper out at such a call, or refuses it where it cannot.
   */
  private changing(a: ArrayInScope): boolean {
    return a.local && (a.moved === true || this.loops.some((l) => a.writtenIn?.has(l)));
  }

  /** An array that fits a helper's array parameter t (Printer.fits; pick mod those), if any. */
  private choose(
    t: { array: ParamArrayKind; n: number },
    picks: number[],
    j: number,
    scope: Scope,
    writtenOut: boolean,
  ): ArrayInScope | undefined {
    const fits = this.fits(t, scope, writtenOut);
    return fits.length ? fits[picks[j % picks.length] % fits.length] : undefined;
  }

  /**
   * The array passed to a helper's array parameter t (Expr call): `a`, chosen (Printer.choose); with
   * none, a table of that length (made if there is none: the caller has checked that t takes a
   * number[]). A local array passed is frozen.
   */
  private passed(
    t: { array: ParamArrayKind; n: number },
    a: ArrayInScope | undefined,
    j: number,
    callee: HelperInScope,
  ): string {
    let name: string;
    let table = false;
    if (a) {
      this.reading(a);
      if (a.local) {
        // (one that changes: tsgrad writes the helper out at the call; in the arguments of a call of a
        // helper it inlines or writes out: known bug "written-out-in-inline-arguments")
        if (this.changing(a)) this.features.add("changing-array-to-helper");
        if (this.changing(a) && this.inlineArgs) this.features.add("written-out-in-inline-arguments");
        // (made in a loop around the call, a map, a copy, a literal: made again each iteration; tsgrad
        // inlines the helper there since 7ff946c)
        if (a.madeIn?.some((l) => this.loops.includes(l))) this.features.add("made-in-loop-to-helper");
        a.frozen = true;
        this.features.add("local-array-to-helper");
      } else if (!a.table) this.features.add("parameter-to-helper");
      // (a caller of this function given a changing array could not write it out: it would have to write this helper out too)
      if (!a.table && !callee.inlinable) this.fixed = true;
      // (a parameter of a helper tsgrad inlines: what its callers give it there is passed on)
      if (a.param !== undefined) this.passedOn.add(a.param);
      // (a parameter of this function passed where a table would be copied: known bug "table-copied")
      if (a.param !== undefined && callee.copies?.has(j)) this.copied.add(a.param);
      name = a.name;
      table = a.table === true;
    } else {
      let k = this.tables.findIndex((v) => v.length === t.n);
      if (k < 0) k = this.tables.push(tableValues.slice(0, t.n)) - 1;
      name = `W${k}`;
      table = true;
    }
    if (table) this.features.add(callee.unmarked ? "table-to-unmarked" : "table-to-helper");
    if (table && callee.copies?.has(j)) this.features.add("table-copied");
    return name;
  }

  /**
   * A callback of an array method over array a (Callback): `(acc0, el0, ix0) => body` for reduce,
   * `(el0, ix0) => body` for map and Array.from. Its body sees the enclosing names read-only
   * (tsgrad refuses an assignment outside the callback) and its index as a counter over [from, n);
   * `plus` is added to its value (a map helper's sink).
   */
  private callback(
    cb: Callback,
    reduce: boolean,
    a: ArrayInScope,
    from: number,
    scope: Scope,
    op: "+" | "*" | null = null,
    widen = false,
    plus?: string,
  ): string {
    const d = this.callbacks++;
    // in a condition, no assignment at all (a callback's own let included)
    if (this.inCond) this.noAssign++;
    try {
      const params = [...(reduce ? [`acc${d}`] : []), `el${d}`, ...(cb.index ? [`ix${d}`] : [])];
      const inner: Scope = { ...nested(scope), vars: [...params, ...scope.vars], mutable: [], cursors: [] };
      if (cb.index) inner.counters.unshift({ name: `ix${d}`, lo: from, hi: a.n - 1, start: false });
      if (cb.locals || cb.fn) {
        this.features.add(cb.fn ? "callback-function" : "callback-block");
        this.blockCallback = true;
      }
      const statements: string[] = [];
      for (const l of cb.locals ?? []) {
        const literal = l.kw === "const" && this.literalTyped(l.e, inner);
        const e = this.expr(l.e, inner).s;
        const t = `t${this.counters.t++}`;
        if (literal) this.literalConsts.add(t);
        statements.push(`${l.kw} ${t} = ${e};`);
        inner.vars.unshift(t);
        if (l.kw === "let") inner.mutable.unshift(t);
      }
      // a map callback returning `x[0] && 0.5` (of type 0 | 0.5) makes a (0 | 0.5)[], whose reduce
      // without an initial value must return 0 | 0.5 (TypeScript): with `widen`, it returns a number
      const returns = widen && this.mode === "ts" && this.literalTyped(cb.body, inner) ? ": number" : "";
      let value = this.expr(cb.body, inner);
      // (a map helper's sink: `<body> + (v0 + b)`)
      if (plus) value = this.seen({ s: `${at(value, ADD)} + ${plus}`, p: ADD });
      const body: Printed = op
        ? this.seen({ s: `acc${d} ${op} ${at(value, op === "+" ? ADD + 1 : MUL + 1)}`, p: op === "+" ? ADD : MUL })
        : value;
      // (xs.reduce((acc0, el0) => acc0, init): known-bugs.ts)
      if (reduce && body.s === `acc${d}`) this.features.add("reduce-returns-accumulator");
      const list = params.join(", ");
      if (!cb.locals && !cb.fn) return `(${list})${returns} => ${at(body, TERNARY)}`;
      statements.push(`return ${body.s};`);
      return cb.fn
        ? `function (${list})${returns} { ${statements.join(" ")} }`
        : `(${list})${returns} => { ${statements.join(" ")} }`;
    } finally {
      if (this.inCond) this.noAssign--;
      this.callbacks--;
    }
  }

  /**
   * The operand of Math.floor (or round, sign, ...): to tsgrad, a condition (no assignment right of
   * && or || or in a branch of ?:). Notes "moved-index-in-floor", an element read at a moving index
   * (`Math.floor(u0[j0++ % u0.length])`), which f_grad and f_forward moved twice (fixed, b7e0029).
   */
  private floorOperand(e: Expr, scope: Scope): Printed {
    const moves = this.moves;
    this.inCond++;
    const p = this.expr(e, scope);
    this.inCond--;
    if (e.k === "elem" && this.moves > moves) this.features.add("moved-index-in-floor");
    return p;
  }

  private neg(a: Printed): Printed {
    // -x, -Math.sin(x), -(x * y), -(x ** 2) (JavaScript refuses -x ** 2), -(-x)
    return { s: a.p === ATOM && !a.s.startsWith("-") ? `-${a.s}` : `-(${a.s})`, p: UNARY };
  }

  /**
   * a ** b in one of its smooth forms:
   *   int        a ** 2, a ** 3            (any base)
   *   posConst   P ** 0.5, P ** -1, ...     (P > 0)
   *   posVar     P ** b                     (P > 0, any exponent)
   *   constBase  2 ** b, 0.5 ** b
   *   Math.pow   Math.pow(P, b)
   */
  private pow(e: Extract<Expr, { k: "pow" }>, scope: Scope): Printed {
    const powOf = (base: Printed, exp: Printed): Printed => ({ s: `${at(base, ATOM)} ** ${at(exp, UNARY)}`, p: POW });
    const num = (v: number): Printed => ({ s: fmt(v), p: v < 0 ? UNARY : ATOM });
    switch (e.form) {
      case "int":
        return powOf(this.expr(e.a, scope), num([2, 3, 2, 4][e.c % 4]));
      case "posConst":
        return powOf(this.positive(e.a, e.w, scope), num([0.5, -1, 1.5, -0.5, 2.5, 3, -2, 0.3][e.c % 8]));
      case "posVar":
        return powOf(this.positive(e.a, e.w, scope), this.expr(e.b, scope));
      case "constBase":
        return powOf(num([2, 0.5, 1.5, 3][e.c % 4]), this.expr(e.b, scope));
      case "Math.pow":
        return this.call("Math.pow", [this.positive(e.a, e.w, scope), this.expr(e.b, scope)], false);
    }
  }

  /** A positive value (>= about 0.01 at moderate inputs) made from a: the operand of log, sqrt, a divisor, ... */
  private positive(a: Expr, w: number, scope: Scope): Printed {
    const p = this.positiveForm(a, w, scope);
    // the reference also checks it is not ~0 in floating point (Math.exp(-746) is 0)
    return this.mode === "reference" ? { s: `$.pos(${p.s})`, p: ATOM } : p;
  }

  private positiveForm(a: Expr, w: number, scope: Scope): Printed {
    const e = this.expr(a, scope);
    const sq = `${at(e, MUL)} * ${at(e, UNARY)}`;
    switch (w % 8) {
      case 0:
        return { s: `1 + ${sq}`, p: ADD };
      case 1:
        return { s: `Math.exp(${e.s})`, p: ATOM };
      case 2:
        return { s: `2 + Math.sin(${e.s})`, p: ADD };
      case 3:
        return { s: `Math.cosh(${e.s})`, p: ATOM };
      case 4:
        return { s: `1.5 + Math.tanh(${e.s})`, p: ADD };
      case 5:
        return { s: `0.5 + ${sq}`, p: ADD };
      // a global constant keeping a value off 0 (the reference rejects a point where it is ~0 all the same)
      case 6:
        this.features.add("global-constant");
        return { s: `${sq} + Number.EPSILON`, p: ADD };
      default:
        this.features.add("global-constant");
        return { s: `${this.call("Math.abs", [e], true).s} + Number.EPSILON`, p: ADD };
    }
  }

  /** a brought into a domain: Math.asin(0.9 * Math.tanh(a)), Math.acosh(1.1 + a * a), ... */
  private inDomain(domain: Domain, a: Expr, w: number, scope: Scope): Printed {
    return this.seen(this.domainForm(domain, a, w, scope));
  }

  private domainForm(domain: Domain, a: Expr, w: number, scope: Scope): Printed {
    switch (domain) {
      case "any":
        return this.expr(a, scope);
      case "pos":
        return this.positive(a, w, scope);
      case "nonzero": {
        const p = this.positive(a, w >> 1, scope);
        return w % 2 ? this.neg(p) : p;
      }
      case "gt1": {
        const e = this.expr(a, scope);
        return [
          { s: `1.1 + ${at(e, MUL)} * ${at(e, UNARY)}`, p: ADD },
          // not 1 + Math.exp(a): it rounds to 1 where exp(a) < 1e-16, and acosh'(1) is infinite
          { s: `1.1 + Math.exp(${e.s})`, p: ADD },
          { s: `Math.cosh(${e.s}) + 0.25`, p: ADD },
        ][w % 3];
      }
      case "unit": {
        const e = this.expr(a, scope);
        return [
          { s: `0.9 * Math.tanh(${e.s})`, p: MUL },
          { s: `0.9 * Math.sin(${e.s})`, p: MUL },
          { s: `Math.cos(${e.s}) * 0.8`, p: MUL },
        ][w % 3];
      }
      case "tan": {
        const e = this.expr(a, scope);
        return [
          { s: `1.3 * Math.tanh(${e.s})`, p: MUL },
          { s: `Math.sin(${e.s})`, p: ATOM },
        ][w % 2];
      }
    }
  }
}

/** The TypeScript source of a program: helpers h0, h1, ... and f. */
export const programSource = (p: Program): string => Printer.module(p, "ts");

/** The constructs of a program that known bugs are keyed on. */
export const programFeatures = (p: Program): ReadonlySet<string> => Printer.print(p, "ts").features;

/** The functions of a program by name, f first: [["f", main], ["h0", helpers[0]], ...]. */
export const functionsOf = (p: Program): [string, FnTemplate][] => [
  ["f", p.main],
  ...p.helpers.map((h, i): [string, FnTemplate] => [`h${i}`, h]),
];
