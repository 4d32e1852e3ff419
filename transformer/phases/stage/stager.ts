// The stager: the state of one function's staging, and the primitives every part of it uses (a
// def written, a name declared, what a variable is called now). ../stage.ts runs it.
//
//   x = x * 2;   →   body: [..., const x_1 = x * 2],  env: x ↦ x_1
//
// Each part of the phase is a file of functions that take the stager first, as `st`; a part
// imports the parts it calls in one direction only:
//   statements → loops → counters → expressions → parameters
//   statements, loops → assignments → expressions;  statements → branches → expressions;  calls → expressions
// The four calls against that direction (a statement list, an assignment, a branch join, a call)
// are the abstract methods below, which ../stage.ts implements by calling the parts.

import ts from "typescript";
import type { Differentiable, FunctionNode } from "../annotations.js";
import { refuse } from "../../ir/language.js";
import {
  type Expr,
  type MatrixType,
  type Op,
  type Output,
  type ParamTree,
  type Stmt,
  ref,
  scalarOp,
} from "../../ir/ir.js";
import { type Namer, tempName } from "../../ir/naming.js";
import type { ScalarOp } from "../../../runtime/rules/scalar.js";
import type { MatrixOpName } from "../../../runtime/ops/index.js";
import { type ExitScope, FUNCTION_SCOPE } from "./exits.js";
import { valueOf } from "./rules.js";

export interface StageContext {
  checker: ts.TypeChecker;
  namer: Namer;
  /** The expression naming the generated gradient of a differentiable callee: `g` → `g_grad`. */
  gradOf(callee: Differentiable, call: ts.CallExpression): Expr;
  /**
   * The pullbacks of a differentiable callee given arrays, by the parameters needing a gradient
   * (see Pullback in ir.ts): `mean`, [0] → `mean_pullback`.
   */
  pullbackOf(callee: Differentiable): (wrt: readonly number[]) => Expr;
  /**
   * A callee of another module given arrays: the pullback its module exports and the parameters
   * it takes gradients for (`linalg.dot` → `linalg.dot_pullback`, [0, 1]; see exportedPullback in
   * link.ts), its import added; undefined where it exports none or the call cannot name it.
   */
  importedPullbackOf(callee: Differentiable, call: ts.CallExpression): { of: Expr; every: number[] } | undefined;
  /** Is the callee an unmarked helper tsgrad could not differentiate? Its calls are then opaque. */
  isRefusedHelper(callee: Differentiable): boolean;
  /** The expression naming the user's derivative of the callee, if any: `softplus` → `softplusDerivative`. */
  derivativeOf(call: ts.CallExpression): Expr | undefined;
  /** Is this callee the runtime's `stopGradient`? */
  isStopGradient(callee: ts.Expression): boolean;
  /** The runtime's matrix op this callee names (`matmul`), if it is one. */
  matrixOp(callee: ts.Expression): MatrixOpName | undefined;
  /** What `this` is in the generated functions of an object literal's member: the object, `vec`. */
  self?: string;
}

/** Where a staged value goes: a fresh const (the default), a named const, or a join variable. */
export interface Want {
  name: string;
  assign: boolean;
  note?: string;
}

export abstract class Stager {
  /** The statement list being staged: the function's, or a branch's or a loop's while one is. */
  body: Stmt[] = [];
  /** What each variable (and flag) is called now; undefined while declared but not yet assigned. */
  env = new Map<ts.Symbol, string | undefined>();
  /** The names locals have taken (see declare). */
  readonly declared = new Set<string>();
  /** `g_grad` (and `g_forward`, `g_backward`) of the functions called: names no local may take. */
  calleeGradients = new Set<string>();
  /** The name the function's result is staged into. */
  result = "";
  /** The fields of a returned object literal (`return { loss, h }`), set at that return. */
  outputs?: Output[];
  /** Is the result assigned on several paths (a `let` declared first)? */
  resultIsJoin = false;
  /** Set once a return sits under a flag: TypeScript cannot see the result is always assigned. */
  guarded = false;
  /** What ends the statement list being staged: `return` in the function, break/continue in a loop. */
  scope: ExitScope = FUNCTION_SCOPE;
  /** The bodies enclosing the one being staged (branches and loops), for "is this name read yet?". */
  readonly outer: Stmt[][] = [];
  /** How many loops enclose the statement being staged. */
  loopDepth = 0;
  /** Tests of the branches and loops being staged: read, though not yet in any body. */
  readonly pendingTests: Expr[] = [];
  /** Counters of the counting loops being staged: integers, fixed while an inner loop runs. */
  readonly counters = new Set<string>();
  /** The indexes of for...of loops with a break, variables tsgrad makes (not booleans, unlike flags). */
  readonly indexes = new Set<ts.Symbol>();
  /** The element a for...of over a table of records binds (`p` of `for (const p of DATA)`): array and index. */
  readonly records = new Map<ts.Symbol, { array: string; index: Expr }>();
  /** A row of a number[][] parameter a name stands for (`const row = A[i]`, `for (const row of A)`): `A[i]`, read as `row[j]`. */
  readonly rows = new Map<ts.Symbol, Expr>();
  /**
   * `let b = pts[k]` of records pts, reassigned (`b = pts[i]`, `a = b`): the variable holds the
   * index of the record it names (env), and `b.x` reads `pts[b].x`. Its array, here.
   */
  readonly recordVars = new Map<ts.Symbol, string>();
  /** Arrays the function creates (`const h = new Float64Array(n)`): their elements change. */
  readonly localArrays = new Set<string>();
  /** The calls of module helpers being inlined, outermost first (ir/inlining.ts callerArgument). */
  readonly inlinedSites: ts.CallExpression[] = [];
  /**
   * Local arrays grown by push (`const out: number[] = []`) → the symbol of their length so far
   * (growing.ts); and parts made in a loop as long as their array (`partial`, rebinds.ts declarePart).
   */
  readonly growable = new Map<string, ts.Symbol>();
  /** Parts of arrays (`xs.slice(i, i + 3)`) made in a loop as long as the whole array, their length their count. */
  readonly partial = new Set<string>();
  /** The values holding a matrix or a vector, by name (Matrix parameters, matrix ops' results, their copies and joins). */
  readonly matrices = new Map<string, MatrixType>();
  /** Arrays grown by push that a pop shortens, each with a pop (growing.ts). */
  readonly popped = new Map<string, ts.CallExpression>();
  /** Local arrays made in a loop or a branch, declared before it and reused (rebinds.ts). */
  readonly hoisted = new Set<string>();
  /** Object parameters and the consts naming an object inside one (`const layer = model.layer`). */
  readonly objects = new Map<ts.Symbol, ParamTree>();
  /** Consts that name part of an object parameter (`const { W } = model`): no statement of their own. */
  readonly aliases = new Set<ts.Symbol>();
  /** The enclosing function's parameters and locals the function reads (a closure's captured values). */
  readonly captured = new Set<string>();
  /** `this.scale` (and `opts.scale`, thisField) → the local reading it once at the top, and those reads. */
  readonly thisFields = new Map<string, string>();
  readonly fieldReads: Stmt[] = [];

  constructor(
    readonly fn: FunctionNode,
    readonly ctx: StageContext,
  ) {}

  /** Stages a statement list (statements.ts). */
  abstract list(statements: readonly ts.Statement[]): void;
  /** x = e, x += e, x++, h[j] = e: a new version of x, or a store (assignments.ts). */
  abstract assignment(e: ts.Expression, note?: string): void;
  /** Stages both sides of a branch, then joins each variable they change (branches.ts). */
  abstract joinWith(test: Expr, thenStage: () => void, elseStage: () => void, s: ts.Node): void;
  /** Stages a call (calls.ts); `orElse`, the value where `xs.find(f) ?? orElse` finds none. */
  abstract call(e: ts.CallExpression, want?: Want, orElse?: ts.Expression): Expr;

  emit(want: Want, value: Expr, op: Op | null, args: Expr[], source: ts.Node): Expr {
    // t = h of a matrix h: t is the matrix too (its gradient added whole, reverse.ts).
    const copied = op?.kind === "scalar" && value.k === "ref" ? this.matrices.get(value.name) : undefined;
    this.body.push({
      k: "def",
      name: want.name,
      value,
      op,
      args,
      assign: want.assign,
      source,
      note: want.note,
      ...(copied ? { type: copied } : {}),
    });
    if (copied) this.matrices.set(want.name, copied);
    return ref(want.name);
  }

  /** One differentiable operation, its operands already staged. */
  operation(op: ScalarOp, args: Expr[], source: ts.Node, want?: Want): Expr {
    return this.emit(want ?? this.temp(op, args), valueOf(op, args), scalarOp(op), args, source);
  }

  temp(op: string, args: readonly Expr[]): Want {
    const names = args.map((a) => (a.k === "ref" ? a.name : a.k === "num" ? String(a.value) : undefined));
    return { name: this.ctx.namer.fresh(tempName(op, names)), assign: false };
  }

  /** returned = true / false (or a loop's skip and done), as a new version of the flag. */
  setFlag(flag: ts.Symbol, value: boolean, source: ts.Node): void {
    const name = this.env.has(flag) ? this.ctx.namer.version(flag.name) : this.ctx.namer.fresh(flag.name);
    this.body.push({
      k: "def",
      name,
      value: { k: "global", text: String(value) },
      op: null,
      args: [],
      assign: false,
      source,
      type: "boolean",
    });
    this.env.set(flag, name);
  }

  /** A local keeps its name unless it is taken, or it would hide a callee's `g_grad`. */
  declare(user: string): string {
    const name = this.declared.has(user) || this.calleeGradients.has(user) ? this.ctx.namer.fresh(user) : user;
    this.declared.add(name);
    return name;
  }

  current(id: ts.Identifier): Expr {
    const name = this.env.get(this.symbol(id));
    if (name === undefined) throw refuse("readBeforeAssigned", id, { name: id.text });
    return ref(name);
  }

  /** The return flag, or a user variable holding a condition: its join is a boolean. */
  isBoolean(symbol: ts.Symbol): boolean {
    if (this.indexes.has(symbol)) return false;
    const decl = symbol.valueDeclaration;
    if (decl === undefined) return true; // returned, skip, done: flags tsgrad made
    return (this.ctx.checker.getTypeAtLocation(decl).flags & ts.TypeFlags.BooleanLike) !== 0;
  }

  /** `out.length` as the code reads it now: an array's length, or for one grown by push (growing.ts) its count so far. */
  lengthOf(array: string): Expr {
    const length = this.growable.get(array);
    const count = length && this.env.get(length);
    return count !== undefined ? ref(count) : { k: "length", array };
  }

  /**
   * The type of a matrix op's result where it is called: a matrix's as the checker prints it where
   * the function is (`Matrix<number, number>`), or a vector's, `Float64Array`; none for a number.
   */
  matrixTypeOf(call: ts.Node, output: "matrix" | "vector" | "number"): MatrixType | undefined {
    if (output === "vector") return { matrix: "Float64Array", vector: true };
    if (output === "number") return undefined;
    const { checker } = this.ctx;
    return { matrix: checker.typeToString(checker.getTypeAtLocation(call), this.fn, ts.TypeFormatFlags.NoTruncation) };
  }

  isLocalArray(e: ts.Expression): boolean {
    if (!ts.isIdentifier(e) || !this.isLocal(e)) return false;
    const current = this.env.get(this.symbol(e));
    return current !== undefined && this.localArrays.has(current);
  }

  isLocal(id: ts.Identifier): boolean {
    const s = this.ctx.checker.getSymbolAtLocation(id);
    return s !== undefined && this.env.has(s);
  }

  symbol(node: ts.Node): ts.Symbol {
    const s = this.ctx.checker.getSymbolAtLocation(node);
    if (!s) throw refuse("unresolvedName", node);
    return s;
  }
}
