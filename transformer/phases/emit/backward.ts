// The backward pass: each block under the forward line it differentiates, loops in reverse:
//   { k: "comment", def: f = num * invden }, { k: "acc", adj: "dnum", value: df * invden }
//     → // f = num * invden
//       dnum += df * invden;
//   the backward loop of `for (let i = 0; i < n; i++)`
//     → // for (let i = 0; i < n; i++), in reverse
//       for (let i = n - 1; i >= 0; i--) { ... }

import ts from "typescript";
import { exprToTs, globalToTs, printExpr } from "../../ir/print.js";
import {
  type BLoop,
  type BStmt,
  type Expr,
  binary,
  isCallResult,
  isMatrixType,
  lastValue,
  num,
  ref,
  substitute,
} from "../../ir/ir.js";
import { zeroBuffer } from "./arrays.js";
import { comment, forwardLine, loopHeading, trailingComment } from "./comments.js";
import { emitForward, ifStatement, releaseLines, step, swap } from "./forward.js";
import { declareConst, f } from "./nodes.js";
import { insideLoop, releasesFrame, slotAccess, stackCall } from "./stack.js";
import { valueType } from "./types.js";

/** What the lines of one backward pass are built with. */
interface Context {
  /** Names assigned from the stack (see reassignedIn): declared with let. */
  reassigned: ReadonlySet<string>;
  /** A recursive call's gradients as elements of its tuple (see tupleElements). */
  tuples: ReadonlyMap<string, Expr>;
  /** Every expression through `expr`: a recursive call's gradients are elements of its tuple. */
  expr: (e: Expr) => ts.Expression;
}

/** A backward statement that is one line of its own (not a comment, a recomputation or a loop). */
type Line = Exclude<BStmt, { k: "note" | "comment" | "recompute" | "loop" | "rebind" | "release" }>;

/** A call of a callee's gradient, its backward pass or its pullback (see gradsCall). */
type Grads = Extract<BStmt, { k: "grads" }>;

/** Backward statements; a comment line `// f = num * invden` heads each block. */
export function emitBackward(
  body: readonly BStmt[],
  reassigned: ReadonlySet<string> = reassignedIn(body),
  tuples: ReadonlyMap<string, Expr> = tupleElements(body),
): ts.Statement[] {
  const context: Context = {
    reassigned,
    tuples,
    expr: (e: Expr) => exprToTs(tuples.size ? substitute(e, tuples) : e),
  };
  const out: ts.Statement[] = [];
  let pending: string | undefined;
  let notes: string[] = [];
  for (const s of body) {
    if (s.k === "note") notes.push(s.text);
    else if (s.k === "comment") pending = forwardLine(s.def);
    else if (s.k === "recompute") {
      const lines = emitForward(s.body);
      if (lines.length) comment(lines[0], "recompute this iteration's values");
      out.push(...lines);
    } else if (s.k === "release") {
      out.push(...releaseLines(s));
    } else if (s.k === "loop") {
      out.push(...backwardLoop(s, tuples, pending));
      pending = undefined;
    } else if (s.k === "rebind") {
      // [next, u] = [u, next]; [dnext, du] = [du, dnext]: the arrays and their gradients go back.
      const lines = [swap(s.names, s.from), ...(s.adjoints ? [swap(s.adjoints.names, s.adjoints.from)] : [])];
      comment(lines[0], `[${s.from.join(", ")}] = [${s.names.join(", ")}], in reverse`);
      out.push(...lines);
    } else {
      const lines = s.k === "grads" ? gradsCall(s, context.expr) : [backwardLine(s, context)];
      if (s.k === "pop" && body[0] === s) comment(lines[0], "restore this iteration's saved values");
      for (const note of notes) comment(lines[0], note);
      if (pending) comment(lines[0], pending);
      pending = undefined;
      notes = [];
      out.push(...lines);
    }
  }
  return out;
}

/** One backward line: a restored value, a gradient written, a buffer, a kernel, a check, a branch. */
function backwardLine(s: Exclude<Line, Grads>, context: Context): ts.Statement {
  const { expr } = context;
  switch (s.k) {
    case "pop":
      return restore(s, context.reassigned);
    case "set":
    case "acc":
      return writeGradient(s, expr);
    case "zero":
      return declareConst(s.adj, f.createNumericLiteral(0), ts.NodeFlags.Let);
    case "alloc":
      return allocate(s, context.reassigned.has(s.adj) ? ts.NodeFlags.Let : ts.NodeFlags.Const);
    case "kernel": {
      // addMatmulTN(dW2, hidden, dscores); // dW2 += hiddenᵀ · dscores
      const line = f.createExpressionStatement(
        f.createCallExpression(f.createIdentifier(s.callee), undefined, s.args.map(expr)),
      );
      return trailingComment(line, s.math);
    }
    case "check":
      return checkCall(s, context);
    case "if":
      return ifStatement(
        s.test,
        emitBackward(s.then, context.reassigned, context.tuples),
        emitBackward(s.else, context.reassigned, context.tuples),
        expr,
      );
  }
}

/**
 * The backward loop under the comment of its forward loop, the values it does not change computed
 * once before it (under the comment of the forward line, `pending`, if any); its frames go back to
 * the stack after it.
 */
function backwardLoop(s: BLoop, tuples: ReadonlyMap<string, Expr>, pending: string | undefined): ts.Statement[] {
  const before = emitForward(s.before ?? []);
  const line = comment(emitBackwardLoop(s, tuples), `${loopHeading(s.loop)}, in reverse`);
  if (pending) comment(before[0] ?? line, pending);
  const release = [...(s.loop.frames ?? [])]
    .reverse()
    .filter((frame) => releasesFrame(frame.array))
    .map((frame) => f.createExpressionStatement(stackCall("release", [f.createIdentifier(frame.array)])));
  return [...before, line, ...release];
}

/**
 * The backward loop: iterations in reverse. A counter runs back from its last value
 * (`for (let i = n - 1; i >= 0; i--)`); other loops run as many times as the forward loop counted.
 */
function emitBackwardLoop(s: BLoop, tuples: ReadonlyMap<string, Expr>): ts.Statement {
  const body = f.createBlock(
    insideLoop(() => emitBackward(s.body, reassignedIn([s]), tuples)),
    true,
  );
  const c = s.loop.counter;
  if (c) {
    const init = f.createVariableDeclarationList(
      [f.createVariableDeclaration(c.name, undefined, undefined, exprToTs(lastValue(c)))],
      ts.NodeFlags.Let,
    );
    return f.createForStatement(
      init,
      exprToTs(binary(c.step === 1 ? ">=" : "<=", ref(c.name), c.from)),
      step(c.name, c.step === 1 ? -1 : 1),
      body,
    );
  }
  const n = s.index!;
  const init = f.createVariableDeclarationList(
    [f.createVariableDeclaration(n, undefined, undefined, f.createIdentifier(s.loop.count!))],
    ts.NodeFlags.Let,
  );
  return f.createForStatement(init, exprToTs(binary(">", ref(n), num(0))), step(n, -1), body);
}

/** `const t = saved.pop()`, `x = saved.pop()`, `const t = t_saved[i]`; a boolean read back from 1 or 0. */
function restore(s: Extract<Line, { k: "pop" }>, reassigned: ReadonlySet<string>): ts.Statement {
  // const g_1_call = saved.popCall(g_forward): a result of g_forward, typed after it.
  const read = s.slot
    ? slotAccess(s.slot)
    : isCallResult(s.type)
      ? stackCall("popCall", [globalToTs(s.type.forward)])
      : isMatrixType(s.type)
        ? stackCall("popObject", [], [valueType(s.type)])
        : stackCall("pop", []);
  const value =
    s.type === "boolean"
      ? f.createBinaryExpression(read, ts.SyntaxKind.EqualsEqualsEqualsToken, f.createNumericLiteral(1))
      : read;
  return s.declare
    ? declareConst(s.name, value, reassigned.has(s.name) ? ts.NodeFlags.Let : ts.NodeFlags.Const)
    : f.createExpressionStatement(f.createAssignment(f.createIdentifier(s.name), value));
}

/** `dv = e`, `dv += e`, `da[i] += e`; `let dv = e` where the gradient is declared. */
function writeGradient(s: Extract<Line, { k: "set" | "acc" }>, expr: Context["expr"]): ts.Statement {
  if (s.k === "set" && s.whole) {
    // dX.data.fill(0): a parameter's gradient restarts in its own buffer.
    if (s.whole.fill) {
      const data =
        s.whole.fill === "data" ? f.createPropertyAccessExpression(f.createIdentifier(s.adj), "data") : undefined;
      const fill = f.createPropertyAccessExpression(data ?? f.createIdentifier(s.adj), "fill");
      return f.createExpressionStatement(f.createCallExpression(fill, undefined, [f.createNumericLiteral(0)]));
    }
    // dh = zerosLike(h): a new buffer, for h as this iteration found it (its old one handed on).
    const { vector, like, zeros = "" } = s.whole;
    return f.createExpressionStatement(f.createAssignment(f.createIdentifier(s.adj), zeroBuffer(vector, like, zeros)));
  }
  if (s.declare) return declareConst(s.adj, expr(s.value), ts.NodeFlags.Let);
  // da[i] += e for an element of an array's gradient.
  const target = s.index
    ? expr({
        k: "elem",
        array: s.adj,
        index: s.index,
        ...(s.inner ? { inner: s.inner } : {}),
        ...(s.k === "acc" && s.key ? { key: s.key } : {}),
      })
    : f.createIdentifier(s.adj);
  if (s.k === "set") return f.createExpressionStatement(f.createAssignment(target, expr(s.value)));
  // dv += -e reads better as dv -= e.
  const negated =
    s.value.k === "unary" && s.value.op === "-"
      ? s.value.arg
      : s.value.k === "num" && s.value.value < 0
        ? { k: "num" as const, value: -s.value.value }
        : undefined;
  return negated
    ? f.createExpressionStatement(f.createBinaryExpression(target, ts.SyntaxKind.MinusEqualsToken, expr(negated)))
    : f.createExpressionStatement(f.createBinaryExpression(target, ts.SyntaxKind.PlusEqualsToken, expr(s.value)));
}

/** `const dh = zerosLike(h)`, `const dh = Float64Array.from(dout_h)`, or another gradient's buffer, shared. */
function allocate(s: Extract<Line, { k: "alloc" }>, flags: ts.NodeFlags): ts.Statement {
  const copy =
    s.from &&
    f.createCallExpression(f.createPropertyAccessExpression(f.createIdentifier("Float64Array"), "from"), undefined, [
      f.createIdentifier(s.from),
    ]);
  const line = declareConst(
    s.adj,
    s.same ? f.createIdentifier(s.same) : copy || zeroBuffer(s.vector, s.like, s.zeros),
    flags,
  );
  if (s.moved) return trailingComment(line, `${s.adj} += ${s.same} (${s.adj} was zero): ${s.same}'s buffer, handed on`);
  return s.same ? trailingComment(line, `${s.adj} += ${s.same} (${s.adj} was zero): ${s.same}'s buffer, shared`) : line;
}

/** `checkFinite("f", "dden", dden, "seed.ts:12", "const invden = 1 / den;")` (finite.ts). */
function checkCall(s: Extract<Line, { k: "check" }>, { tuples, expr }: Context): ts.Statement {
  const element = !s.index && tuples.get(s.adj);
  const value = expr(s.index ? { k: "elem", array: s.adj, index: s.index } : ref(s.adj));
  const args = [
    f.createStringLiteral(s.fn),
    f.createStringLiteral(element ? printExpr(element) : s.adj),
    value,
    f.createStringLiteral(s.at),
    f.createStringLiteral(s.line),
    ...(s.index ? [expr(s.index)] : []),
  ];
  return f.createExpressionStatement(f.createCallExpression(f.createIdentifier(s.callee), undefined, args));
}

/**
 * `const [da_u, db_u] = g_backward(u_call.cache, du)`, or `const u_grads = ...` for a recursive call.
 * A pullback (with buffers) adds into arrays and hands its numbers over in `unboxed` (see Grads in
 * ir.ts), the seed in slot 0 and the numbers' gradients back from slot 1:
 *   unboxed[0] = dm;  mean_pullback(x, dx);
 *   unboxed[0] = dd;  dot_pullback(a, w, da);  const dd_dw = unboxed[1];
 */
function gradsCall(s: Grads, expr: Context["expr"]): ts.Statement[] {
  if (s.unboxed) return pullbackCall(s, s.unboxed, expr);
  const call = f.createCallExpression(expr(s.callee), undefined, s.args.map(expr));
  const pattern =
    s.tuple ??
    f.createArrayBindingPattern(
      s.names.map((n) => (n ? f.createBindingElement(undefined, undefined, n) : f.createOmittedExpression())),
    );
  return [declareConst(pattern, call)];
}

function pullbackCall(s: Grads, unboxed: string, expr: Context["expr"]): ts.Statement[] {
  const slot = (i: number) => f.createElementAccessExpression(f.createIdentifier(unboxed), i);
  const buffers = (s.buffers ?? []).map((b, i) => {
    // A buffer nobody reads, as long as its argument: discarded(xs.length).
    const of = s.sinks?.of[i];
    if (!b && s.sinks && of !== undefined) {
      const length = f.createPropertyAccessExpression(expr(s.args[of]), "length");
      return f.createCallExpression(f.createIdentifier(s.sinks.discard), undefined, [length]);
    }
    const row = s.rows?.[i];
    return row ? f.createElementAccessExpression(f.createIdentifier(b), expr(row)) : f.createIdentifier(b);
  });
  const seed = s.args[s.args.length - 1];
  const args = [...s.args.slice(0, -1).map(expr), ...buffers];
  return [
    f.createExpressionStatement(f.createAssignment(slot(0), expr(seed))),
    f.createExpressionStatement(f.createCallExpression(expr(s.callee), undefined, args)),
    ...s.names.flatMap((n, i) => (n ? [declareConst(n, slot(i + 1))] : [])),
  ];
}

/**
 * A recursive call's gradients, read by index from the tuple its backward pass returns:
 * `dx_powRec_3` → `powRec_3_grads[0]`. The backward pass nests one frame per level, and before V8
 * optimizes it an interpreted frame holds the registers of what it runs: destructuring
 * (`const [dx_powRec_3, ddiff_powRec_3] = ...`) runs the iterator protocol in a dozen more, and
 * Node's default stack then held about 4,000 levels of x^n's backward pass, indexed about 5,900.
 */
function tupleElements(body: readonly BStmt[], out: Map<string, Expr> = new Map()): Map<string, Expr> {
  for (const s of body) {
    if (s.k === "grads" && s.tuple)
      s.names.forEach((n, i) => n && out.set(n, { k: "elem", array: s.tuple!, index: num(i) }));
    else if (s.k === "if") (tupleElements(s.then, out), tupleElements(s.else, out));
    else if (s.k === "loop") tupleElements(s.body, out);
  }
  return out;
}

/** Names a backward pass assigns from the stack (`x = saved.pop()`): declared with let. */
export function reassignedIn(body: readonly BStmt[], out: Set<string> = new Set()): Set<string> {
  for (const s of body) {
    if (s.k === "pop" && !s.declare) out.add(s.name);
    else if (s.k === "set" && s.whole && !s.whole.fill) out.add(s.adj);
    else if (s.k === "rebind") [...s.names, ...(s.adjoints?.names ?? [])].forEach((n) => out.add(n));
    else if (s.k === "loop") reassignedIn(s.body, out);
    else if (s.k === "if") (reassignedIn(s.then, out), reassignedIn(s.else, out));
  }
  return out;
}
