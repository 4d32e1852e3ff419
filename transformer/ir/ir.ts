// The intermediate form every phase after staging works on: a function body in SSA-like staged
// form. Every value has one name; a name is assigned once on every path (branch joins assign a
// shared name once per branch, like a phi). Expressions are small trees, free of TypeScript nodes,
// so phases can build, compare and simplify them without touching the compiler API.

import type ts from "typescript";
import type { MatrixOpName } from "../../runtime/ops/index.js";
import type { ScalarOp } from "../../runtime/rules/scalar.js";
import type { Template } from "../../runtime/rules/template.js";

/**
 * A pure scalar expression. `ref` names an IR value; `global` is text used as is (Math.PI, this.k,
 * a string literal `"l2"`, in conditions);
 * `elem` reads an element of an array parameter (`a[i]`), `length` its length (`a.length`).
 */
export type Expr =
  | { k: "num"; value: number }
  | { k: "ref"; name: string }
  | { k: "global"; text: string }
  /**
   * With `key`, a field of an element of a module table of records: `DATA[i].x` (ir/tables.ts);
   * with `inner`, an element of a row of a `number[][]` parameter: `A[i][j]`.
   */
  | { k: "elem"; array: string; index: Expr; key?: string; inner?: Expr }
  /** `a.length`, or with `prop` a matrix's `M.rows` / `M.cols`: an integer; with `at`, a row's, `A[i].length`. */
  | { k: "length"; array: string; prop?: "rows" | "cols"; at?: Expr }
  | { k: "unary"; op: "-" | "!" | "typeof"; arg: Expr }
  | { k: "binary"; op: string; left: Expr; right: Expr }
  | { k: "call"; callee: string; args: Expr[] }
  | { k: "cond"; test: Expr; then: Expr; else: Expr }
  /** A field of a recursive call's result (see Op, kind "call"'s recursive): `powRec_3_call.value`, `powRec_3_call.cache`. */
  | { k: "field"; object: string; key: "value" | "cache" };

/**
 * What a Def computes, which says how its gradient is found. A misspelled op name is a type error:
 * scalar ops are the keys of runtime/rules/scalar.ts, matrix ops those of runtime/ops' matrixRules.
 */
export type Op =
  /** `den = 1 + xpy`: a scalar op, differentiated by its rule in runtime/rules/scalar.ts. */
  | { kind: "scalar"; rule: ScalarOp }
  /** `hidden = relu(z)`: a matrix op, differentiated by its rule in runtime/ops. */
  | { kind: "matrix"; op: MatrixOpName }
  /** `hidden = affineReluInto(X, W1, b1)`: a chain of matrix ops fuse.ts made one kernel (runtime/ops/fused.ts). */
  | { kind: "fused"; into: string }
  /**
   * `u = g(a, b)`: a call of another differentiable function. `gradient` names the callee's
   * generated gradient, e.g. `g_grad`; for a recursive call, its backward pass, e.g. `g_backward`.
   *
   * `recursive`: for a call of a function in the caller's recursion cycle (itself, or one that
   * calls back into it): the call runs the callee's forward pass into `call` (`{ value, cache }`,
   * a Def of its own just before this one, whose value is `call.value`), and the backward pass
   * runs the callee's backward pass on that cache. Calling `g_grad` instead would redo the
   * recursion below at every level: a cost quadratic in the depth. `primal` is the callee as the
   * user calls it.
   */
  | { kind: "call"; gradient: Expr; recursive?: { call: string; primal: string }; pullback?: Pullback }
  /** `y = f(x, k)` with the user's `@derivative`: `derivative` names it (`fDerivative`). */
  | { kind: "custom"; derivative: Expr };

/**
 * A call passing arrays (`m = mean(x)`): its backward pass calls the callee's pullback, which
 * recomputes the callee's forward pass, adds into the gradient arrays it is given and returns the
 * numbers' gradients: `const dm_dw = dot_pullback(x, w, dm, dx)`. `arrays[i]`: argument i is an
 * array. `of(wrt)` names the pullback for the arguments that need a gradient (indexes), asking
 * the file for it (files.ts builds each one asked for).
 */
export interface Pullback {
  arrays: readonly boolean[];
  /** The callee's parameter count: a call leaving out optional ones passes `undefined` for them. */
  arity: number;
  of: (wrt: readonly number[]) => Expr;
  /**
   * A callee of another module: the pullback it exports takes gradients for these parameters
   * (every one but data), whatever the call needs (`of` ignores `wrt`). An array argument whose
   * gradient is not needed gets the runtime's `discarded(n)` buffer, a number's slot is not read.
   */
  every?: readonly number[];
}

export const scalarOp = (rule: ScalarOp): Op => ({ kind: "scalar", rule });

/** A matrix op, one of runtime/ops or a fused one: it has a rule with a shape, and an `...Into` form. */
export const isMatrixOp = (op: Op | null): op is Extract<Op, { kind: "matrix" | "fused" }> =>
  op?.kind === "matrix" || op?.kind === "fused";

/**
 * `name = value`, one operation. `op` says how the gradient flows through it (see Op) and `args`
 * are its operands, all atoms (num, ref, global); `op: null` marks a value no gradient flows
 * through (comparisons, Math.floor, calls of functions without a gradient).
 */
export interface Def {
  k: "def";
  name: string;
  value: Expr;
  op: Op | null;
  args: Expr[];
  /** True when `name` is a join variable declared earlier by a `Let` (assigned, not declared). */
  assign: boolean;
  /** The user's node this operation came from, for comments and diagnostics. */
  source: ts.Node;
  /** A user comment to keep on this line. */
  note?: string;
  /**
   * The value reads an element of a local array (`const h_j = h[j]`, `x > h[j]`): it holds what the
   * element was then, which a later write may change, so it is saved, never recomputed.
   */
  snapshot?: boolean;
  /** For op null: set when the value comes from a call of a function tsgrad cannot differentiate. */
  opaqueCall?: ts.Node;
  /**
   * Values are numbers, but a condition kept in a local (`const pos = x > 0`) is a boolean, and a
   * recursive call's forward pass returns its value and cache (see ValueType).
   */
  type?: ValueType;
  /** Declared with `let`: a loop's header variable, overwritten by the loop (see Loop). */
  mutable?: boolean;
  /**
   * The end of a loop iteration, `x = x_1`: writes a header variable the next iteration reads.
   * Unlike a join, it overwrites a live value, so the backward pass resets the header's adjoint.
   */
  overwrite?: boolean;
}

/**
 * `let name: number;` — a join variable that each branch of the following `if` assigns; or, with
 * `hoisted`, a value computed inside a branch that the backward pass reads outside it
 * (`let t = 0;`: assigned on the paths that read it; see letStatement in emit/forward.ts).
 */
export interface Let {
  k: "let";
  name: string;
  hoisted?: boolean;
  type?: ValueType;
}

/**
 * The type of a value that is not a number: a boolean, or the `{ value, cache }` a recursive call's
 * forward pass `forward` (`g_forward`) returns, declared `ReturnType<typeof g_forward>` (see
 * valueType in emit.ts). It is kept whole (saved per iteration in a loop with `saved.pushCall`),
 * never pushed as a number.
 */
export type ValueType = "boolean" | { forward: string } | MatrixType;

/**
 * A matrix or a vector (the result of a matrix op, or a variable holding one), with its TypeScript
 * type as the checker prints it where the user's function is (`Matrix<number, number>`,
 * `Matrix<2, 3>`, `Float64Array`): the type of a join variable `let h_1: Matrix<number, number>;`
 * a branch assigns.
 */
export interface MatrixType {
  matrix: string;
  /** A vector (`matvec`'s result): a Float64Array, its gradient one too. */
  vector?: boolean;
}

export const isMatrixType = (t: ValueType | undefined): t is MatrixType => typeof t === "object" && "matrix" in t;

/** Is this the type of a recursive call's result? */
export const isCallResult = (t: ValueType | undefined): t is { forward: string } =>
  typeof t === "object" && "forward" in t;

/** A value a loop saves whole, apart from the numbers: a recursive call's result, a matrix, a vector. */
export const isKeptWhole = (t: ValueType | undefined): boolean => isCallResult(t) || isMatrixType(t);

export interface If {
  k: "if";
  test: Expr;
  then: Stmt[];
  else: Stmt[];
  source: ts.Node;
}

/**
 * A loop in staged form. Its body is SSA like any block and ends with `header = value` writes
 * (Def.overwrite) for each variable the loop carries to its next iteration; the test reads the
 * headers. Two shapes:
 *   counter   for (let i = 0; i < n; i++): i is read-only in the body, the backward pass runs
 *             for (let i = last; i >= 0; i--) without saving anything for it
 *   general   while/do/for: the forward pass counts iterations, the backward pass runs that many
 */
export interface Loop {
  k: "loop";
  kind: "while" | "do";
  counter?: Counter;
  /** The loop test over header names and constants; `true` when a counter is the whole test. */
  test: Expr;
  /**
   * Statements that compute the test, run before it each time it is evaluated: a test that calls
   * a function (`i < count(n)`) is evaluated once per iteration into a boolean, as in a branch.
   */
  pre?: Stmt[];
  body: Stmt[];
  /** Header names: mutable variables declared before the loop, overwritten at each iteration's end. */
  carried: string[];
  /** The headers that hold booleans (flags, conditions), saved as 1 or 0. */
  booleans?: string[];
  /** Set by save.ts when the count is declared earlier (`let iterations = 0`), outside a branch. */
  countHoisted?: boolean;
  source: ts.Node;
  /** Set by save.ts: the name counting iterations, for loops without a counter. */
  count?: string;
  /** Set by save.ts: arrays taken from the stack before a counting loop, one slot per iteration. */
  frames?: Frame[];
}

/** `const x_saved = saved.frame(n)`: where a counting loop keeps one value per iteration. */
export interface Frame {
  array: string;
  length: Expr;
}

/** `x_saved[i]`: the slot of iteration i in a frame. */
export interface Slot {
  array: string;
  index: Expr;
}

export interface Counter {
  name: string;
  from: Expr;
  to: Expr;
  op: "<" | "<=" | ">" | ">=";
  step: 1 | -1;
}

/** `saved.push(x)`: set by reverse.ts at the end of an iteration, for what its backward pass reads. */
export interface Push {
  k: "push";
  name: string;
  type?: ValueType;
  /** `x_saved[i] = x` into a frame instead of `saved.push(x)`. */
  slot?: Slot;
}

/** `const h = new Float64Array(n)`: an array the function creates, written then read (its elements change). */
export interface ArrayDecl {
  k: "array";
  name: string;
  length: Expr;
  kind: "Float64Array" | "number[]";
  source: ts.Node;
  /**
   * `const out: number[] = []`, grown by `out.push(v)`: staged as stores at its length so far
   * (`out[out_length] = v`), its gradient as long as the array when the backward pass starts.
   */
  growable?: boolean;
}

/** `h[j] = v` or, with `add`, `h[j] += v`: a write to an element of a local array; `value` is an atom. */
export interface Store {
  k: "store";
  array: string;
  index: Expr;
  value: Expr;
  add: boolean;
  source: ts.Node;
}

/**
 * `[u, next] = [next, u]`: local arrays change places, all at once: `names[i]` takes the array
 * `from[i]` held, a permutation of `names`. Where a variable is given another local array
 * (`const tmp = u; u = next; next = tmp`) or a new one in a loop or a branch (`h = cell(h)`), the
 * stager keeps the arrays' names and moves the arrays between them at the end of the iteration or
 * branch, so each name holds one array wherever the code after reads it. The backward pass moves
 * the arrays and their gradients back the other way at the same place.
 */
export interface Rebind {
  k: "rebind";
  names: string[];
  from: string[];
  source: ts.Node;
}

/**
 * `throw new RangeError("n < 2")`: a guard of the forward pass, the user's expression run as
 * written, its locals renamed to their current names (`names`). No gradient: a forward pass that
 * throws has no backward pass. The one place the IR keeps a TypeScript node, since what is thrown
 * is never differentiated.
 */
export interface Throw {
  k: "throw";
  expression: ts.Expression;
  names: ReadonlyMap<ts.Identifier, string>;
  source: ts.Node;
}

export type Stmt = Def | Let | If | Loop | Push | ArrayDecl | Store | Rebind | Throw | Release;

/**
 * `matrixPool.release(h_1)`: matrices given back to the pool (pool.ts, which runs last): at the end
 * of a backward iteration, or of a forward one for those it made and no longer needs.
 */
export interface Release {
  k: "release";
  callee: string;
  names: string[];
  why?: string;
}

/**
 * The values tsgrad differentiates, by the parameter's declared type; a gradient has the same kind
 * as its value, except where a kind says otherwise:
 *   number        a number                                   → a number
 *   Float64Array  Float64Array                               → Float64Array
 *   number[]      number[], readonly number[], number tuples → number[]
 *   Float32Array  Float32Array (or Float32Array | Float64Array)  → Float64Array (exact in the
 *                 generated code's float64 arithmetic)
 *   ArrayLike     ArrayLike<number>, unions of array kinds, a type parameter constrained to one
 *                 → number[] for a plain array passed, Float64Array for anything else (decided
 *                 when the gradient runs, `Array.isArray`)
 *   Matrix        tsgrad's Matrix                             → Matrix
 *   Int32Array    integer data (class labels)                 → none (`undefined`): data
 *   data          a boolean, string, string-literal union, enum or number-literal union: a mode
 *                 or flag the function branches on           → none (`undefined`)
 * Data is read, never differentiated: its slot in a gradient is `undefined` (see isDataKind).
 */
export type ValueKind =
  | "number"
  | "Float64Array"
  | "number[]"
  | "Float32Array"
  | "ArrayLike"
  | "Matrix"
  | "Int32Array"
  | "data"
  /** `number[][]`: rows of numbers, read `A[i][j]`, its gradient `number[][]` of the same shape. */
  | "rows"
  /** `{ x: number; y: number }[]`: records of numbers, read `p[i].x`, the gradient records of the same keys. */
  | "records";

/** Kinds that are data (labels, modes, flags): read, never differentiated, their gradient `undefined`. */
export const isDataKind = (k: ValueKind | undefined): boolean => k === "Int32Array" || k === "data";

/** Kinds read element by element (`a[i]`, `a.length`, `for...of`) whose elements have gradients. */
export const isArrayKind = (k: ValueKind | undefined): boolean =>
  k === "Float64Array" || k === "number[]" || k === "Float32Array" || k === "ArrayLike";

/**
 * A parameter as the user declared it. A number or an array is one leaf, one staged parameter; an
 * object is a tree whose leaves are staged parameters, named after the user's fields:
 *   model: { W: Float64Array; reg: number }  →  leaves W, reg (staged params), read as model.W, model.reg
 */
export type ParamTree =
  | { k: "leaf"; name: string; kind: ValueKind; keys?: readonly string[] }
  | { k: "object"; fields: { key: string; tree: ParamTree }[] };

export interface Param {
  /** The name the generated functions give the parameter (the user's, or one for a destructured one). */
  name: string;
  tree: ParamTree;
  /** The user's type annotation, as written (`Model`, `Matrix`). */
  type?: string;
  /**
   * `scale?: number` (optional) or `a = 2` (the user's default, evaluated by the generated
   * functions as by the user's): the parameter may be left out of a call.
   */
  optional?: { initializer?: ts.Expression };
}

/** Every leaf of a tree with its path: model → [{ path: ["W"], leaf W }, { path: ["reg"], leaf reg }]. */
export function leavesOf(
  tree: ParamTree,
  path: string[] = [],
): { path: string[]; name: string; kind: ValueKind; keys?: readonly string[] }[] {
  if (tree.k === "leaf") return [{ path, name: tree.name, kind: tree.kind, ...(tree.keys ? { keys: tree.keys } : {}) }];
  return tree.fields.flatMap((f) => leavesOf(f.tree, [...path, f.key]));
}

/** A staged function: parameters, body, and the name holding the result. */
export interface StagedFunction {
  name: string;
  /** The staged parameters: the leaves of `signature`, in order. */
  params: string[];
  /** The parameters as declared (absent for a function staged through its own derivative: each a number). */
  signature?: Param[];
  /** Parameters holding data (Int32Array labels, modes, flags; isDataKind): read, never differentiated. */
  data?: string[];
  body: Stmt[];
  result: string;
  /** Set when the function returns an array it made (`result` names it): its vjp takes an array. */
  resultKind?: "Float64Array" | "number[]" | "object";
  /** Set when it returns an object (`return { loss, h }`): its fields, each a value of the body. */
  outputs?: Output[];
  /**
   * The enclosing function's parameters and locals a closure reads (ir/captures.ts), by their own
   * names: constants of the call, read as the function reads them, kept in vjp's cache.
   */
  captured?: string[];
}

/** A field of a returned object: `loss` → a number the body computes, `h` → an array it made. */
export interface Output {
  key: string;
  name: string;
  kind: "number" | "Float64Array" | "number[]";
}

/** The values a function returns: its result, or the fields of the object it returns. */
export const resultNames = (fn: StagedFunction): string[] => (fn.outputs ? fn.outputs.map((o) => o.name) : [fn.result]);

/**
 * Backward statements: `adj += value` (optimize marks the first one at the top level a declaration,
 * `let adj = value`), `let adj = 0` before a branch that accumulates, branches, callee gradients,
 * and the comment naming the forward line a block differentiates.
 */
export type BStmt =
  /** With `index`, the adjoint is an array and the line adds to one element: `da[i] += value`. */
  | { k: "acc"; adj: string; value: Expr; declare?: boolean; index?: Expr; inner?: Expr; key?: string }
  /** `dv = value`: after an overwrite the adjoint restarts (`dx = 0`, folded into the next write); with `index`, one element: `dh[j] = 0`. */
  /**
   * With `whole`, a matrix's or a vector's gradient restarted at zero for `whole.like` as the
   * iteration found it (a carried matrix may change shape from one iteration to the next): a new
   * buffer, `dh = zerosLike(h)` (`whole.zeros` the function, "" for a vector's), after dh_1 took
   * the old one; a parameter's gradient, which is returned (and refilled by gradInto), in place:
   * `dX.data.fill(0)`.
   */
  | {
      k: "set";
      adj: string;
      value: Expr;
      declare?: boolean;
      index?: Expr;
      inner?: Expr;
      whole?: { like: string; vector: boolean; zeros?: string; fill?: "data" | "self" };
    }
  | { k: "zero"; adj: string }
  | { k: "if"; test: Expr; then: BStmt[]; else: BStmt[] }
  /**
   * `const [da_u, db_u] = g_backward(u_call.cache, du)`: a call returning one gradient per operand
   * (`names[i]`, "" for one nothing reads). With `tuple`, a recursive call's: the returned tuple is
   * kept whole under that name and read by index, `u_grads[0]`, not destructured (emit.ts).
   * With `buffers`, a call of a callee's pullback (see Pullback), which also adds into those
   * gradient arrays, passed after `args`: it runs even when no name is read. Its numbers go
   * through the runtime's `unboxed` slots (named `unboxed` here): the last of `args`, the seed, is
   * written into slot 0 before the call, and `names` are read from slots 1, 2, ... after it.
   */
  | {
      k: "grads";
      names: string[];
      callee: Expr;
      args: Expr[];
      tuple?: string;
      buffers?: string[];
      unboxed?: string;
      /** The row of each buffer passed, where a row of a number[][] is (`dA[i]` for `A[i]`). */
      rows?: (Expr | undefined)[];
      /**
       * An imported pullback's buffers nobody reads (see Pullback's `every`): for each buffer named
       * "" in `buffers`, the argument (its index in `args`) whose length it needs, passed
       * `discard(xs.length)`, `discard` the runtime's `discarded` as the file names it.
       */
      sinks?: { discard: string; of: (number | undefined)[] };
    }
  | { k: "comment"; def: Def }
  /**
   * `addMatmulTN(dW2, hidden, dscores); // dW2 += hiddenᵀ · dscores`: a matrix op's rule (runtime/ops)
   * adding one operand's gradient into its buffer `adj`. `like` is the operand, whose shape the
   * buffer has; `zeros` the runtime function allocating it (zerosLike). `fn` is the kernel's name
   * as the runtime exports it (`callee` is its local name, which an import may have renamed).
   */
  | {
      k: "kernel";
      adj: string;
      callee: string;
      fn: string;
      args: Expr[];
      math: string;
      like: string;
      vector: boolean;
      zeros: string;
      identity?: boolean;
    }
  /**
   * `const dh = zerosLike(h)` (or `new Float64Array(v.length)`): a buffer before its first kernel;
   * with `from`, a copy of the returned array's gradient (`Float64Array.from(dh)`); with `same`,
   * that gradient's own buffer (`const dprod = dscores`, see optimize.ts).
   */
  | {
      k: "alloc";
      adj: string;
      like: string;
      vector: boolean;
      zeros: string;
      from?: string;
      same?: string;
      /** With `same`: the buffer is handed on for good (`const dh_1 = dh`, then dh a new one). */
      moved?: boolean;
    }
  /** A comment of its own, on the next line: `// this iteration's local gradients, per unit of dx`. */
  | { k: "note"; text: string }
  | BLoop
  /** `const t = saved.pop()` (declare) or `x = saved.pop()`: a saved value restored under its own name. */
  | { k: "pop"; name: string; declare: boolean; type?: ValueType; slot?: Slot }
  /**
   * A Rebind undone: the arrays go back (`names[i]` takes what `from[i]` holds), the primal
   * arrays and, in `adjoints`, their gradients: `[u, next] = [next, u]; [du, dnext] = [dnext, du]`.
   */
  | { k: "rebind"; names: string[]; from: string[]; adjoints?: { names: string[]; from: string[] } }
  /** Forward statements recomputed inside a backward loop, from restored values. */
  | { k: "recompute"; body: Stmt[] }
  | Release
  /**
   * `checkFinite("staged", "dden", dden, "seed.ts:12", "const invden = 1 / den;")`: in f_gradChecked
   * only (finite.ts), after a line that wrote the gradient `adj` (its element `index`).
   */
  | { k: "check"; adj: string; index?: Expr; callee: string; fn: string; at: string; line: string };

/** The backward loop of a Loop: its iterations in reverse, each restoring its values first. */
export interface BLoop {
  k: "loop";
  loop: Loop;
  body: BStmt[];
  /** Adjoints of values defined in the body: declared inside, fresh each iteration. */
  locals: ReadonlySet<string>;
  /** For a loop without a counter: the name running its iterations down, set by save.ts. */
  index?: string;
  /** Recomputed values that do not change from one iteration to the next: computed once, before. */
  before?: Stmt[];
}

/** The counter's value in the last iteration: i < n → Math.ceil(n) - 1 (n - 1 for an integer literal). */
export function lastValue(c: Counter): Expr {
  const up = c.op === "<" || c.op === ">=";
  const shift = c.op === "<" ? -1 : c.op === ">" ? 1 : 0;
  if (c.to.k === "num") return num((up ? Math.ceil : Math.floor)(c.to.value) + shift);
  // i < a.length: an integer already.
  if (c.to.k === "length") return shift === 0 ? c.to : binary(shift > 0 ? "+" : "-", c.to, num(1));
  const rounded: Expr = { k: "call", callee: up ? "Math.ceil" : "Math.floor", args: [c.to] };
  return shift === 0 ? rounded : binary(shift > 0 ? "+" : "-", rounded, num(1));
}

/** How many iterations a counting loop runs (negative when none: the runtime clamps it). */
export function tripCount(c: Counter): Expr {
  return c.step === 1
    ? binary("+", binary("-", lastValue(c), c.from), num(1))
    : binary("+", binary("-", c.from, lastValue(c)), num(1));
}

/** The iteration's slot index: i - A counting up from A, A - i counting down. */
export function slotIndex(c: Counter): Expr {
  return c.step === 1 ? binary("-", ref(c.name), c.from) : binary("-", c.from, ref(c.name));
}

/** The value an operand reads that can carry a gradient: `x` → x, `a[i]` → a; numbers and globals none. */
export function operandName(e: Expr): string | undefined {
  return e.k === "ref" ? e.name : e.k === "elem" ? e.array : undefined;
}

export const num = (value: number): Expr => ({ k: "num", value });
export const ref = (name: string): Expr => ({ k: "ref", name });
export const binary = (op: string, left: Expr, right: Expr): Expr => ({ k: "binary", op, left, right });

/** Every IR name an expression reads: `a * Math.sin(b)` → a, b. */
export function refsOf(e: Expr, out: Set<string> = new Set()): Set<string> {
  switch (e.k) {
    case "ref":
      out.add(e.name);
      break;
    case "unary":
      refsOf(e.arg, out);
      break;
    case "binary":
      refsOf(e.left, out);
      refsOf(e.right, out);
      break;
    case "call":
      e.args.forEach((a) => refsOf(a, out));
      break;
    case "cond":
      refsOf(e.test, out);
      refsOf(e.then, out);
      refsOf(e.else, out);
      break;
    case "elem":
      out.add(e.array);
      refsOf(e.index, out);
      if (e.inner) refsOf(e.inner, out);
      break;
    case "length":
      out.add(e.array);
      if (e.at) refsOf(e.at, out);
      break;
    case "field":
      out.add(e.object);
      break;
  }
  return out;
}

/** Replaces refs by expressions: substitute(`a * b`, {a: x}) → `x * b`. */
export function substitute(e: Expr, map: ReadonlyMap<string, Expr>): Expr {
  switch (e.k) {
    case "ref":
      return map.get(e.name) ?? e;
    case "unary":
      return { ...e, arg: substitute(e.arg, map) };
    case "binary":
      return { ...e, left: substitute(e.left, map), right: substitute(e.right, map) };
    case "call":
      return { ...e, args: e.args.map((a) => substitute(a, map)) };
    case "cond":
      return { ...e, test: substitute(e.test, map), then: substitute(e.then, map), else: substitute(e.else, map) };
    case "elem":
      return { ...e, index: substitute(e.index, map), ...(e.inner ? { inner: substitute(e.inner, map) } : {}) };
    case "length":
      return e.at ? { ...e, at: substitute(e.at, map) } : e;
    case "field": {
      const to = map.get(e.object);
      return to?.k === "ref" ? { ...e, object: to.name } : e;
    }
    default:
      return e;
  }
}

/**
 * A rule template (runtime/rules/template.ts) as an expression, its names put in:
 * `-a / (b * b)` with a → 1, b → den gives `-1 / (den * den)`; `...args` becomes `operands`.
 */
export function instantiate(t: Template, names: ReadonlyMap<string, Expr>, operands: readonly Expr[] = []): Expr {
  const go = (e: Template): Expr => {
    switch (e.k) {
      case "ref": {
        const value = names.get(e.name);
        if (!value) throw new Error(`rule template: no value for ${e.name}`);
        return value;
      }
      case "spread":
        throw new Error(`rule template: ...${e.name} outside a call`);
      case "unary":
        return { ...e, arg: go(e.arg) };
      case "binary":
        return { ...e, left: go(e.left), right: go(e.right) };
      case "call":
        return { ...e, args: e.args.flatMap((a) => (a.k === "spread" ? operands : [go(a)])) };
      case "cond":
        return { ...e, test: go(e.test), then: go(e.then), else: go(e.else) };
      default:
        return e;
    }
  };
  return go(t);
}

/** Visits every Def, in order, also inside branches and loops. */
export function forEachDef(body: readonly Stmt[], visit: (d: Def) => void): void {
  for (const s of body) {
    if (s.k === "def") visit(s);
    else if (s.k === "if") {
      forEachDef(s.then, visit);
      forEachDef(s.else, visit);
    } else if (s.k === "loop") forEachDef(s.body, visit);
  }
}

/** Visits every ArrayDecl (the fence keeps them at the function's top level). */
export function forEachArray(body: readonly Stmt[], visit: (a: ArrayDecl) => void): void {
  for (const s of body) if (s.k === "array") visit(s);
}

/** Visits every Rebind, in order, also inside branches and loops. */
export function forEachRebind(body: readonly Stmt[], visit: (r: Rebind) => void): void {
  for (const s of body) {
    if (s.k === "rebind") visit(s);
    else if (s.k === "if") (forEachRebind(s.then, visit), forEachRebind(s.else, visit));
    else if (s.k === "loop") forEachRebind(s.body, visit);
  }
}

/** The local arrays some Rebind moves: `let`, not `const`, in the generated code. */
export function reboundArrays(body: readonly Stmt[]): Set<string> {
  const out = new Set<string>();
  forEachRebind(body, (r) => r.names.forEach((n) => out.add(n)));
  return out;
}

/** Visits every Store, in order, also inside branches and loops. */
export function forEachStore(body: readonly Stmt[], visit: (s: Store) => void): void {
  for (const s of body) {
    if (s.k === "store") visit(s);
    else if (s.k === "if") (forEachStore(s.then, visit), forEachStore(s.else, visit));
    else if (s.k === "loop") forEachStore(s.body, visit);
  }
}

/** Every name a forward statement list reads (tests, values, loop bounds, pushes). */
export function forwardReads(body: readonly Stmt[], out: Set<string> = new Set()): Set<string> {
  for (const s of body) {
    if (s.k === "def") refsOf(s.value, out);
    else if (s.k === "push") out.add(s.name);
    else if (s.k === "store") (refsOf(s.value, out), refsOf(s.index, out), out.add(s.array));
    else if (s.k === "array") refsOf(s.length, out);
    else if (s.k === "throw") s.names.forEach((name) => out.add(name));
    else if (s.k === "rebind") s.from.forEach((name) => out.add(name));
    else if (s.k === "if") {
      refsOf(s.test, out);
      forwardReads(s.then, out);
      forwardReads(s.else, out);
    } else if (s.k === "loop") {
      refsOf(s.test, out);
      if (s.pre) forwardReads(s.pre, out);
      if (s.counter) (refsOf(s.counter.from, out), refsOf(s.counter.to, out));
      forwardReads(s.body, out);
      s.carried.forEach((c) => out.add(c));
    }
  }
  return out;
}

/**
 * The names the backward loops directly in a body (through branches, not inside other loops)
 * assign from the stack (`x = saved.pop()`): loop headers the enclosing code must declare.
 */
export function restoredHeaders(
  body: readonly BStmt[],
  out: Map<string, ValueType | undefined> = new Map(),
): Map<string, ValueType | undefined> {
  for (const s of body) {
    if (s.k === "loop") s.body.forEach((t) => t.k === "pop" && !t.declare && out.set(t.name, t.type));
    else if (s.k === "if") (restoredHeaders(s.then, out), restoredHeaders(s.else, out));
  }
  return out;
}
