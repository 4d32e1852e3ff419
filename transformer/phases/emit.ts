// The builder of output nodes: turns the optimized forward and backward passes into the generated
// functions, with ts.factory and comments attached (expressions by ir/print.ts, with parentheses
// exactly where precedence needs them), and builds the statements around them that files.ts,
// link.ts, calls.ts and module-format.ts place (imports, requires, registrations, aliases):
//   f_grad(x, y): [dx: number, dy: number]     forward pass, then backward pass, fused
//   f_forward(x, y) → { value, cache }         the forward pass of vjp, keeping what backward reads
//   f_backward(cache, df) → [dx, dy]           its backward pass
// Created nodes point at the user's nodes (setOriginalNode), so errors and source maps land on
// user code.

import ts from "typescript";
import { exprToTs, globalToTs, printExpr } from "../ir/print.js";
import { negate, simplify } from "../ir/simplify.js";
import {
  type BLoop,
  type BStmt,
  type Expr,
  type Loop,
  type Output,
  type Param,
  type ParamTree,
  type Slot,
  type Stmt,
  type ValueKind,
  type ValueType,
  binary,
  isCallResult,
  isDataKind,
  lastValue,
  leavesOf,
  num,
  ref,
  restoredHeaders,
  substitute,
  type StagedFunction,
} from "../ir/ir.js";

const f = ts.factory;

// ---- statements -----------------------------------------------------------------------------

const numberType = () => f.createKeywordTypeNode(ts.SyntaxKind.NumberKeyword);

/**
 * A local's declared type where it is not a number: boolean, or a recursive call's result,
 * `ReturnType<typeof g_forward>`. Inside f_forward (`spelledOut`), whose inferred return type
 * holds the result (in its cache), it is spelled out, `{ value: number; cache:
 * ReturnType<typeof g_forward>["cache"] }`: TypeScript resolves the fields of a written-out type
 * only when needed, so f_forward's type can contain its own. (A `const` needs no type: were every
 * call around a cycle outside branches, the recursion would never end; some call on the way is
 * in a branch, and its `let`, declared before the branch, has this type.)
 */
function valueType(type: ValueType | undefined): ts.TypeNode {
  if (type === "boolean") return f.createKeywordTypeNode(ts.SyntaxKind.BooleanKeyword);
  if (!isCallResult(type)) return numberType();
  const [first, ...rest] = type.forward.split(".");
  const forward = f.createTypeQueryNode(
    rest.reduce<ts.EntityName>((q, part) => f.createQualifiedName(q, part), f.createIdentifier(first)),
  );
  const result = f.createTypeReferenceNode("ReturnType", [forward]);
  if (!spelledOut) return result;
  const cache = f.createIndexedAccessTypeNode(result, f.createLiteralTypeNode(f.createStringLiteral("cache")));
  const literal = f.createTypeLiteralNode([
    f.createPropertySignature(undefined, "value", undefined, numberType()),
    f.createPropertySignature(undefined, "cache", undefined, cache),
  ]);
  return ts.setEmitFlags(literal, ts.EmitFlags.SingleLine);
}

/** Set while emitting f_forward: recursive calls' results are typed field by field (see valueType). */
let spelledOut = false;

function spellingOut<T>(build: () => T): T {
  spelledOut = true;
  try {
    return build();
  } finally {
    spelledOut = false;
  }
}

function comment<T extends ts.Node>(node: T, text: string): T {
  return ts.addSyntheticLeadingComment(node, ts.SyntaxKind.SingleLineCommentTrivia, ` ${text}`, true);
}

function declareConst(
  name: string | ts.BindingName,
  value: ts.Expression,
  flags: ts.NodeFlags = ts.NodeFlags.Const,
  type?: ts.TypeNode,
): ts.Statement {
  return f.createVariableStatement(
    undefined,
    f.createVariableDeclarationList([f.createVariableDeclaration(name, undefined, type, value)], flags),
  );
}

/** The stack loops save values on: `saved` (the runtime's shared one, or vjp's own). */
let stack = "saved";

/** Emits with `name` as the stack's identifier. */
export function withStack<T>(name: string, build: () => T): T {
  const outer = stack;
  stack = name;
  try {
    return build();
  } finally {
    stack = outer;
  }
}

const stackCall = (method: string, args: ts.Expression[]) =>
  f.createCallExpression(f.createPropertyAccessExpression(f.createIdentifier(stack), method), undefined, args);

/** Forward statements: `const num = x + sigy; // numerator`, `let y_1: number;`, branches, loops. */
export function emitForward(body: readonly Stmt[]): ts.Statement[] {
  return body.flatMap((s): ts.Statement | ts.Statement[] => {
    if (s.k === "loop") return emitLoop(s);
    if (s.k === "push") {
      // saved.pushCall(g_1_call): a recursive call's result, kept whole for its backward pass.
      if (isCallResult(s.type)) return f.createExpressionStatement(stackCall("pushCall", [f.createIdentifier(s.name)]));
      const value =
        s.type === "boolean"
          ? f.createConditionalExpression(
              f.createIdentifier(s.name),
              undefined,
              f.createNumericLiteral(1),
              undefined,
              f.createNumericLiteral(0),
            )
          : f.createIdentifier(s.name);
      if (s.slot) return f.createExpressionStatement(f.createAssignment(slotAccess(s.slot), value));
      return f.createExpressionStatement(stackCall("push", [value]));
    }
    if (s.k === "let") {
      const type = valueType(s.type);
      const definite = s.hoisted ? f.createToken(ts.SyntaxKind.ExclamationToken) : undefined;
      return f.createVariableStatement(
        undefined,
        f.createVariableDeclarationList([f.createVariableDeclaration(s.name, definite, type)], ts.NodeFlags.Let),
      );
    }
    if (s.k === "if") {
      return ts.setOriginalNode(ifStatement(s.test, emitForward(s.then), emitForward(s.else), exprToTs), s.source);
    }
    if (s.k === "array")
      return ts.setOriginalNode(declareConst(s.name, newArray(s.kind, exprToTs(s.length))), s.source);
    if (s.k === "throw") return ts.setOriginalNode(f.createThrowStatement(renamed(s.expression, s.names)), s.source);
    if (s.k === "store") {
      // h[j] = v, h[j] += v
      const target = exprToTs({ k: "elem", array: s.array, index: s.index });
      const token = s.add ? ts.SyntaxKind.PlusEqualsToken : ts.SyntaxKind.EqualsToken;
      return ts.setOriginalNode(
        f.createExpressionStatement(f.createBinaryExpression(target, token, exprToTs(s.value))),
        s.source,
      );
    }
    const value = exprToTs(s.value);
    // `const done_1: boolean = !done`: in a loop, TypeScript cannot infer a boolean from another it narrows.
    const annotate = s.type === "boolean" && (s.value.k === "ref" || (s.value.k === "unary" && s.value.op === "!"));
    const line = s.assign
      ? f.createExpressionStatement(f.createAssignment(f.createIdentifier(s.name), value))
      : declareConst(
          s.name,
          value,
          s.mutable ? ts.NodeFlags.Let : ts.NodeFlags.Const,
          annotate ? valueType(s.type) : undefined,
        );
    ts.setOriginalNode(line, s.source);
    return s.note
      ? ts.addSyntheticTrailingComment(line, ts.SyntaxKind.SingleLineCommentTrivia, ` ${s.note}`, false)
      : line;
  });
}

/**
 * `if (test) { then } else { otherwise }`, as a person writes it: an empty `then` turns the test
 * around (`if (kind !== 1) { ... }`), and an `else` holding one `if` is an `else if`.
 */
function ifStatement(
  test: Expr,
  then: ts.Statement[],
  otherwise: ts.Statement[],
  toTs: (e: Expr) => ts.Expression,
): ts.IfStatement {
  if (!then.length && otherwise.length) [test, then, otherwise] = [simplify(negate(test)), otherwise, []];
  const elseIf = otherwise.length === 1 && ts.isIfStatement(otherwise[0]) ? otherwise[0] : undefined;
  return f.createIfStatement(
    toTs(test),
    f.createBlock(then, true),
    elseIf ?? (otherwise.length ? f.createBlock(otherwise, true) : undefined),
  );
}

/** The user's expression with its locals renamed: `new RangeError("n: " + n)` → `... + n_1)`. */
function renamed(e: ts.Expression, names: ReadonlyMap<ts.Identifier, string>): ts.Expression {
  if (!names.size) return e;
  const rename: ts.TransformerFactory<ts.Expression> = (context) => (root) => {
    const visit = (n: ts.Node): ts.Node => {
      const name = ts.isIdentifier(n) ? names.get(n) : undefined;
      return name !== undefined ? f.createIdentifier(name) : ts.visitEachChild(n, visit, context);
    };
    return ts.visitNode(root, visit) as ts.Expression;
  };
  return ts.transform(e, [rename]).transformed[0];
}

/**
 * A forward loop as the user wrote it: `for (let i = 0; i < n; i++)`, or `while (test)` and
 * `do ... while (test)` with a count of iterations for the backward loop when it needs one.
 */
function emitLoop(s: Loop): ts.Statement[] {
  const body = emitForward(s.body);
  const out: ts.Statement[] = [];
  if (s.count) {
    const zero = f.createNumericLiteral(0);
    out.push(
      s.countHoisted
        ? f.createExpressionStatement(f.createAssignment(f.createIdentifier(s.count), zero))
        : declareConst(s.count, zero, ts.NodeFlags.Let),
    );
    body.unshift(f.createExpressionStatement(f.createPostfixIncrement(f.createIdentifier(s.count))));
  }
  for (const frame of s.frames ?? []) out.push(declareConst(frame.array, stackCall("frame", [exprToTs(frame.length)])));
  const block = f.createBlock(body, true);
  let loop: ts.Statement;
  if (s.pre) {
    // for (;;) { const cond = f(i); if (!cond) break; ... }: the test runs where JavaScript runs it.
    const exit = f.createIfStatement(exprToTs({ k: "unary", op: "!", arg: s.test }), f.createBreakStatement());
    const test = [...emitForward(s.pre), exit];
    const inner = s.kind === "do" ? [...body, ...test] : [...test, ...body];
    loop = f.createForStatement(undefined, undefined, undefined, f.createBlock(inner, true));
  } else if (s.counter) {
    const c = s.counter;
    const init = f.createVariableDeclarationList(
      [f.createVariableDeclaration(c.name, undefined, undefined, exprToTs(c.from))],
      ts.NodeFlags.Let,
    );
    loop = f.createForStatement(init, exprToTs(binary(c.op, ref(c.name), c.to)), step(c.name, c.step), block);
  } else if (s.kind === "do") loop = f.createDoStatement(block, exprToTs(s.test));
  else loop = f.createWhileStatement(exprToTs(s.test), block);
  out.push(ts.setOriginalNode(loop, s.source));
  return out;
}

const slotAccess = (slot: Slot) =>
  f.createElementAccessExpression(f.createIdentifier(slot.array), exprToTs(slot.index));

const step = (name: string, by: 1 | -1) =>
  by === 1 ? f.createPostfixIncrement(f.createIdentifier(name)) : f.createPostfixDecrement(f.createIdentifier(name));

/**
 * The backward loop: iterations in reverse. A counter runs back from its last value
 * (`for (let i = n - 1; i >= 0; i--)`); other loops run as many times as the forward loop counted.
 */
function emitBackwardLoop(s: BLoop, tuples: ReadonlyMap<string, Expr>): ts.Statement {
  const body = f.createBlock(emitBackward(s.body, reassignedIn([s]), tuples), true);
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

/** `for (let i = 0; i < n; i++)` → its header text, for the comment above the backward loop. */
function loopHeading(s: Loop): string {
  const node = s.source;
  if (ts.isForStatement(node))
    return `for (${node.initializer?.getText() ?? ""}; ${node.condition?.getText() ?? ""}; ${node.incrementor?.getText() ?? ""})`;
  if (ts.isWhileStatement(node)) return `while (${node.expression.getText()})`;
  if (ts.isDoStatement(node)) return `do ... while (${node.expression.getText()})`;
  if (ts.isForOfStatement(node)) return `for (${node.initializer.getText()} of ${node.expression.getText()})`;
  if (ts.isCallExpression(node)) return node.getText(); // Math.max(...xs), the loop it stands for
  return "loop";
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

/** Backward statements; a comment line `// f = num * invden` heads each block. */
export function emitBackward(
  body: readonly BStmt[],
  reassigned: ReadonlySet<string> = reassignedIn(body),
  tuples: ReadonlyMap<string, Expr> = tupleElements(body),
): ts.Statement[] {
  // Every expression through `expr`: a recursive call's gradients are elements of its tuple.
  const expr = (e: Expr) => exprToTs(tuples.size ? substitute(e, tuples) : e);
  const out: ts.Statement[] = [];
  let pending: string | undefined;
  let notes: string[] = [];
  for (const s of body) {
    if (s.k === "note") {
      notes.push(s.text);
      continue;
    }
    if (s.k === "comment") {
      // A recursive call reads as the user wrote it, `powRec_3 = powRec(x, diff)` (not `powRec_3_call.value`).
      const recursive = s.def.op?.kind === "call" ? s.def.op.recursive : undefined;
      pending = `${s.def.name} = ${printExpr(recursive ? { k: "call", callee: recursive.primal, args: s.def.args } : s.def.value)}`;
      continue;
    }
    if (s.k === "recompute") {
      const lines = emitForward(s.body);
      if (lines.length) comment(lines[0], "recompute this iteration's values");
      out.push(...lines);
      continue;
    }
    let line: ts.Statement;
    if (s.k === "loop") {
      // Invariants first, then the loop; its frames go back to the stack after it.
      const before = emitForward(s.before ?? []);
      line = comment(emitBackwardLoop(s, tuples), `${loopHeading(s.loop)}, in reverse`);
      if (pending) comment(before[0] ?? line, pending);
      pending = undefined;
      out.push(...before, line);
      for (const frame of [...(s.loop.frames ?? [])].reverse())
        out.push(f.createExpressionStatement(stackCall("release", [f.createIdentifier(frame.array)])));
      continue;
    } else if (s.k === "pop") {
      // const g_1_call = saved.popCall(g_forward): a result of g_forward, typed after it.
      const read = s.slot
        ? slotAccess(s.slot)
        : isCallResult(s.type)
          ? stackCall("popCall", [globalToTs(s.type.forward)])
          : stackCall("pop", []);
      const value =
        s.type === "boolean"
          ? f.createBinaryExpression(read, ts.SyntaxKind.EqualsEqualsEqualsToken, f.createNumericLiteral(1))
          : read;
      line = s.declare
        ? declareConst(s.name, value, reassigned.has(s.name) ? ts.NodeFlags.Let : ts.NodeFlags.Const)
        : f.createExpressionStatement(f.createAssignment(f.createIdentifier(s.name), value));
      if (body.indexOf(s) === 0) comment(line, "restore this iteration's saved values");
    } else if (s.k === "set") {
      const target = s.index ? expr({ k: "elem", array: s.adj, index: s.index }) : f.createIdentifier(s.adj);
      line = s.declare
        ? declareConst(s.adj, expr(s.value), ts.NodeFlags.Let)
        : f.createExpressionStatement(f.createAssignment(target, expr(s.value)));
    } else if (s.k === "acc") {
      // dv += -e reads better as dv -= e.
      const negated =
        s.value.k === "unary" && s.value.op === "-"
          ? s.value.arg
          : s.value.k === "num" && s.value.value < 0
            ? { k: "num" as const, value: -s.value.value }
            : undefined;
      // da[i] += e for an element of an array's gradient.
      const target = s.index ? expr({ k: "elem", array: s.adj, index: s.index }) : f.createIdentifier(s.adj);
      line = s.declare
        ? declareConst(s.adj, expr(s.value), ts.NodeFlags.Let)
        : negated
          ? f.createExpressionStatement(f.createBinaryExpression(target, ts.SyntaxKind.MinusEqualsToken, expr(negated)))
          : f.createExpressionStatement(f.createBinaryExpression(target, ts.SyntaxKind.PlusEqualsToken, expr(s.value)));
    } else if (s.k === "zero") {
      line = declareConst(s.adj, f.createNumericLiteral(0), ts.NodeFlags.Let);
    } else if (s.k === "alloc") {
      const copy =
        s.from &&
        f.createCallExpression(
          f.createPropertyAccessExpression(f.createIdentifier("Float64Array"), "from"),
          undefined,
          [f.createIdentifier(s.from)],
        );
      line = declareConst(s.adj, s.same ? f.createIdentifier(s.same) : copy || zeroBuffer(s.vector, s.like, s.zeros));
      if (s.same)
        ts.addSyntheticTrailingComment(
          line,
          ts.SyntaxKind.SingleLineCommentTrivia,
          ` ${s.adj} += ${s.same} (${s.adj} was zero): ${s.same}'s buffer, shared`,
          false,
        );
    } else if (s.k === "kernel") {
      // addMatmulTN(dW2, hidden, dscores); // dW2 += hiddenᵀ · dscores
      line = f.createExpressionStatement(
        f.createCallExpression(f.createIdentifier(s.callee), undefined, s.args.map(expr)),
      );
      ts.addSyntheticTrailingComment(line, ts.SyntaxKind.SingleLineCommentTrivia, ` ${s.math}`, false);
    } else if (s.k === "check") {
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
      line = f.createExpressionStatement(f.createCallExpression(f.createIdentifier(s.callee), undefined, args));
    } else if (s.k === "grads") {
      const call = f.createCallExpression(expr(s.callee), undefined, s.args.map(expr));
      const pattern =
        s.tuple ??
        f.createArrayBindingPattern(
          s.names.map((n) => (n ? f.createBindingElement(undefined, undefined, n) : f.createOmittedExpression())),
        );
      line = f.createVariableStatement(
        undefined,
        f.createVariableDeclarationList(
          [f.createVariableDeclaration(pattern, undefined, undefined, call)],
          ts.NodeFlags.Const,
        ),
      );
    } else {
      line = ifStatement(
        s.test,
        emitBackward(s.then, reassigned, tuples),
        emitBackward(s.else, reassigned, tuples),
        expr,
      );
    }
    for (const note of notes) comment(line, note);
    if (pending) comment(line, pending);
    pending = undefined;
    notes = [];
    out.push(line);
  }
  return out;
}

/** Names a backward pass assigns from the stack (`x = saved.pop()`): declared with let. */
export function reassignedIn(body: readonly BStmt[], out: Set<string> = new Set()): Set<string> {
  for (const s of body) {
    if (s.k === "pop" && !s.declare) out.add(s.name);
    else if (s.k === "loop") reassignedIn(s.body, out);
    else if (s.k === "if") (reassignedIn(s.then, out), reassignedIn(s.else, out));
  }
  return out;
}

// ---- generated functions --------------------------------------------------------------------

export interface FunctionShape {
  /** The user's function name, for doc comments: `f`. */
  name: string;
  /** The staged parameters: the user's parameters, or the fields of object parameters (leaves). */
  params: readonly string[];
  /** Each parameter's kind; its gradient has the same kind. */
  kinds: readonly ValueKind[];
  /** The user's type annotation of each parameter (`Matrix`, maybe imported under another name; `Model["W"]` for a field). */
  types?: readonly (string | undefined)[];
  /** The parameters as declared, when some are objects: generated functions take these and unpack their fields. */
  signature?: readonly Param[];
  /** For `grad(f, { wrt })`: the indices of the parameters whose gradients are returned, in that order. */
  wrt?: readonly number[];
  /** The local name of the runtime's zerosLike, when a parameter is a Matrix. */
  zeros?: string;
  /** The parameter adjoint names, or undefined where no gradient reaches the parameter (→ 0). */
  gradients: readonly (string | undefined)[];
  exported: boolean;
  /** Emit class methods (with `static` when the user's method is static) instead of functions. */
  method?: { isStatic: boolean; className: string };
  source: ts.Node;
}

/**
 * A parameter's type, or its gradient's (see ValueKind): number → number; an array takes
 * `readonly number[]`, `Float64Array` or `ArrayLike<number>` (Float32Array, unions, type
 * parameters), its gradient `number[]`, `Float64Array` or `number[] | Float64Array`; data (labels,
 * modes, flags) has the type the user wrote, and no gradient: `undefined`.
 */
function typeOf(kind: ValueKind, gradient: boolean, written?: string): ts.TypeNode {
  if (gradient && isDataKind(kind)) return f.createKeywordTypeNode(ts.SyntaxKind.UndefinedKeyword);
  if (kind === "Float64Array" || kind === "Int32Array") return f.createTypeReferenceNode(kind);
  if (kind === "Matrix") return f.createTypeReferenceNode(written ?? "Matrix");
  if (kind === "number[]") {
    const array = f.createArrayTypeNode(numberType());
    return gradient ? array : f.createTypeOperatorNode(ts.SyntaxKind.ReadonlyKeyword, array);
  }
  if (kind === "Float32Array" || kind === "ArrayLike") {
    const float64 = f.createTypeReferenceNode("Float64Array");
    if (!gradient) return f.createTypeReferenceNode("ArrayLike", [numberType()]);
    return kind === "Float32Array" ? float64 : f.createUnionTypeNode([f.createArrayTypeNode(numberType()), float64]);
  }
  if (kind === "data")
    return written ? f.createTypeReferenceNode(written) : f.createKeywordTypeNode(ts.SyntaxKind.UnknownKeyword);
  return numberType();
}

/** The parameters as declared: each a leaf unless the function has object parameters. */
function userParams(shape: FunctionShape): readonly Param[] {
  return (
    shape.signature ??
    shape.params.map((name, i) => ({ name, tree: { k: "leaf", name, kind: shape.kinds[i] }, type: shape.types?.[i] }))
  );
}

/** For each staged parameter (leaf), where the user passes it: parameter index and field keys. */
function leafPaths(shape: FunctionShape): { param: number; keys: string[] }[] {
  const at = new Map(
    userParams(shape).flatMap((p, param) => leavesOf(p.tree).map((l) => [l.name, { param, keys: l.path }] as const)),
  );
  return shape.params.map((name) => at.get(name)!);
}

/** A gradient's type: a leaf's kind, or for an object the same fields, `{ W: Float64Array; reg: number }`. */
function gradientType(shape: FunctionShape, tree: ParamTree): ts.TypeNode {
  if (tree.k === "leaf") {
    const i = shape.params.indexOf(tree.name);
    return typeOf(shape.kinds[i], true, shape.types?.[i]);
  }
  return f.createTypeLiteralNode(
    tree.fields.map((fl) => f.createPropertySignature(undefined, fl.key, undefined, gradientType(shape, fl.tree))),
  );
}

/** The parameters whose gradients are returned: all, or those `wrt` lists, in its order. */
const returned = (shape: FunctionShape): readonly Param[] =>
  shape.wrt ? shape.wrt.map((i) => userParams(shape)[i]) : userParams(shape);

/** `dx` for x; `d_o` for o, since `do` (like `default`, `delete`, `debugger`) cannot name a tuple member. */
const tupleLabel = (name: string) =>
  ["do", "default", "delete", "debugger"].includes(`d${name}`) ? `d_${name}` : `d${name}`;

const tupleType = (shape: FunctionShape) =>
  f.createTupleTypeNode(
    returned(shape).map((p) =>
      f.createNamedTupleMember(
        undefined,
        f.createIdentifier(tupleLabel(p.name)),
        undefined,
        gradientType(shape, p.tree),
      ),
    ),
  );

/** `new Float64Array(n)` or `new Array<number>(n).fill(0)`: a zero array of length n. */
function newArray(kind: "Float64Array" | "number[]", length: ts.Expression): ts.Expression {
  if (kind === "Float64Array") return f.createNewExpression(f.createIdentifier("Float64Array"), undefined, [length]);
  const empty = f.createNewExpression(f.createIdentifier("Array"), [numberType()], [length]);
  return f.createCallExpression(f.createPropertyAccessExpression(empty, "fill"), undefined, [
    f.createNumericLiteral(0),
  ]);
}

/** `zerosLike(h)` for a matrix, `new Float64Array(v.length)` for a vector: a matrix op's adjoint buffer. */
function zeroBuffer(vector: boolean, like: string, zeros: string): ts.Expression {
  if (vector) return zeroArray("Float64Array", like);
  return f.createCallExpression(globalToTs(zeros), undefined, [f.createIdentifier(like)]);
}

/**
 * A zero gradient for array `a`: `new Float64Array(a.length)` (for a Float32Array too),
 * `new Array<number>(a.length).fill(0)`, `zerosLike(a)` for a matrix, and for an ArrayLike the
 * kind of what is passed: `Array.isArray(a) ? new Array<number>(a.length).fill(0) : new Float64Array(a.length)`.
 */
function zeroArray(kind: ValueKind, array: string, zeros?: string): ts.Expression {
  if (kind === "Matrix")
    return f.createCallExpression(f.createIdentifier(zeros!), undefined, [f.createIdentifier(array)]);
  const length = f.createPropertyAccessExpression(f.createIdentifier(array), "length");
  if (kind === "ArrayLike") {
    const isArray = f.createCallExpression(
      f.createPropertyAccessExpression(f.createIdentifier("Array"), "isArray"),
      undefined,
      [f.createIdentifier(array)],
    );
    return f.createConditionalExpression(
      isArray,
      undefined,
      newArray("number[]", length),
      undefined,
      newArray("Float64Array", length),
    );
  }
  return newArray(kind === "number[]" ? kind : "Float64Array", length);
}

/**
 * A staged parameter's gradient: its adjoint, or zero (`0`, `new Float64Array(a.length)`) if nothing
 * reaches it; `undefined` for data, which has none.
 */
function leafGradient(shape: FunctionShape, i: number): ts.Expression {
  const g = shape.gradients[i];
  const kind = shape.kinds[i];
  if (isDataKind(kind)) return f.createIdentifier("undefined");
  return g
    ? f.createIdentifier(g)
    : kind === "number"
      ? f.createNumericLiteral(0)
      : zeroArray(kind, shape.params[i], shape.zeros);
}

/** `{ W: dW, reg: dreg }` for an object parameter: its leaves' gradients under the same keys. */
function gradientValue(shape: FunctionShape, tree: ParamTree): ts.Expression {
  if (tree.k === "leaf") return leafGradient(shape, shape.params.indexOf(tree.name));
  return f.createObjectLiteralExpression(
    tree.fields.map((fl) => f.createPropertyAssignment(fl.key, gradientValue(shape, fl.tree))),
  );
}

const gradientTuple = (shape: FunctionShape) =>
  f.createArrayLiteralExpression(returned(shape).map((p) => gradientValue(shape, p.tree)));

/** `const da = new Float64Array(a.length);` for each array parameter whose gradient the backward pass writes. */
const arrayGradients = (shape: FunctionShape) =>
  shape.params.flatMap((p, i) =>
    shape.kinds[i] !== "number" && !isDataKind(shape.kinds[i]) && shape.gradients[i]
      ? [declareConst(shape.gradients[i]!, zeroArray(shape.kinds[i], p, shape.zeros))]
      : [],
  );

const parameters = (names: readonly string[], kinds?: readonly ValueKind[], types?: readonly (string | undefined)[]) =>
  names.map((p, i) =>
    f.createParameterDeclaration(undefined, undefined, p, undefined, typeOf(kinds?.[i] ?? "number", false, types?.[i])),
  );

/**
 * The user's parameters: an object parameter under its type as written (`model: Model`); an
 * optional one with its `?`, a defaulted one with the user's default (`a: number = 2`), which the
 * generated function evaluates when the argument is left out, as the user's does.
 */
const signatureParameters = (shape: FunctionShape) =>
  shape.signature
    ? shape.signature.map((p) =>
        f.createParameterDeclaration(
          undefined,
          undefined,
          p.name,
          p.optional && !p.optional.initializer ? f.createToken(ts.SyntaxKind.QuestionToken) : undefined,
          p.tree.k === "leaf"
            ? typeOf(p.tree.kind, false, p.type)
            : p.type
              ? f.createTypeReferenceNode(p.type)
              : undefined,
          p.optional?.initializer,
        ),
      )
    : parameters(shape.params, shape.kinds, shape.types);

/**
 * `const { W1, b1, layer: { W: layer_W } } = model;` at the top of a generated function: the fields
 * of object parameters its body reads, under their staged names. Fields it does not read are left out.
 */
function unpackFields(shape: FunctionShape, body: readonly ts.Statement[]): ts.Statement[] {
  if (!shape.signature) return [];
  const used = new Set<string>();
  // Identifiers read, not property names (`cache.W`, `{ W: dW }`); built nodes have no parent links.
  const visit = (n: ts.Node): void => {
    if (ts.isIdentifier(n)) used.add(n.text);
    else if (ts.isPropertyAccessExpression(n)) visit(n.expression);
    else if (ts.isPropertyAssignment(n)) visit(n.initializer);
    else ts.forEachChild(n, visit);
  };
  body.forEach(visit);
  const pattern = (tree: ParamTree): ts.ObjectBindingPattern | undefined => {
    if (tree.k === "leaf") return undefined;
    const elements = tree.fields.flatMap((fl): ts.BindingElement[] => {
      if (fl.tree.k === "leaf")
        return used.has(fl.tree.name)
          ? [f.createBindingElement(undefined, fl.key === fl.tree.name ? undefined : fl.key, fl.tree.name)]
          : [];
      const inner = pattern(fl.tree);
      return inner ? [f.createBindingElement(undefined, fl.key, inner)] : [];
    });
    return elements.length ? f.createObjectBindingPattern(elements) : undefined;
  };
  return shape.signature.flatMap((p) => {
    const binding = pattern(p.tree);
    return binding
      ? [
          f.createVariableStatement(
            undefined,
            f.createVariableDeclarationList(
              [f.createVariableDeclaration(binding, undefined, undefined, f.createIdentifier(p.name))],
              ts.NodeFlags.Const,
            ),
          ),
        ]
      : [];
  });
}

/** A generated function taking the user's parameters, their fields unpacked first. */
function declareWithParameters(
  shape: FunctionShape,
  name: string,
  extra: ts.ParameterDeclaration[],
  type: ts.TypeNode | undefined,
  body: ts.Statement[],
  doc: string,
) {
  return declareFunction(
    shape,
    name,
    [...extra, ...signatureParameters(shape)],
    type,
    [...unpackFields(shape, body), ...body],
    doc,
  );
}

function declareFunction(
  shape: FunctionShape,
  name: string,
  params: ts.ParameterDeclaration[],
  type: ts.TypeNode | undefined,
  body: ts.Statement[],
  doc: string,
): ts.Statement | ts.ClassElement {
  const block = f.createBlock(body, true);
  params = params.map((p) => markedUnused(p, block));
  let node: ts.FunctionDeclaration | ts.MethodDeclaration;
  if (shape.method) {
    const modifiers = shape.method.isStatic ? [f.createModifier(ts.SyntaxKind.StaticKeyword)] : undefined;
    node = f.createMethodDeclaration(modifiers, undefined, name, undefined, undefined, params, type, block);
  } else {
    const modifiers = shape.exported ? [f.createModifier(ts.SyntaxKind.ExportKeyword)] : undefined;
    node = f.createFunctionDeclaration(modifiers, undefined, name, undefined, params, type, block);
  }
  // Mapped to the user's function, but not its original node: tsc's CommonJS transform exports a
  // function by its original node, and would export the user's f again instead of f_grad.
  ts.setSourceMapRange(node, shape.source);
  return ts.addSyntheticLeadingComment(node, ts.SyntaxKind.MultiLineCommentTrivia, `* ${doc} `, true);
}

/**
 * A parameter the body never reads keeps its place, named `_x`, so that builds with
 * noUnusedParameters accept the generated code: `dot_grad(_x: number)` when the gradient of a
 * linear function does not depend on x, `f_backward(_cache, df)` when nothing was kept.
 */
function markedUnused(p: ts.ParameterDeclaration, body: ts.Block): ts.ParameterDeclaration {
  if (!ts.isIdentifier(p.name) || p.name.text.startsWith("_") || reads(body, p.name.text)) return p;
  return f.updateParameterDeclaration(
    p,
    p.modifiers,
    p.dotDotDotToken,
    f.createIdentifier(`_${p.name.text}`),
    p.questionToken,
    p.type,
    p.initializer,
  );
}

function reads(node: ts.Node, name: string): boolean {
  if (ts.isIdentifier(node)) return node.text === name;
  return ts.forEachChild(node, (c) => (reads(c, name) ? true : undefined)) ?? false;
}

/** Puts `// heading` above the first statement, before any comment it already has. */
function withHeading(statements: ts.Statement[], heading: string): ts.Statement[] {
  if (statements.length) {
    const existing = ts.getSyntheticLeadingComments(statements[0]) ?? [];
    const line: ts.SynthesizedComment = {
      kind: ts.SyntaxKind.SingleLineCommentTrivia,
      text: ` ${heading}`,
      hasTrailingNewLine: true,
      pos: -1,
      end: -1,
    };
    ts.setSyntheticLeadingComments(statements[0], [line, ...existing]);
  }
  return statements;
}

/** f_staged (for `tsgrad print --stage staged`): the staged forward pass alone. */
export function emitStaged(shape: FunctionShape, name: string, staged: StagedFunction) {
  const body = [...emitForward(staged.body), f.createReturnStatement(resultValue(staged.outputs ?? staged.result))];
  return declareWithParameters(
    { ...shape, exported: false },
    name,
    [],
    numberType(),
    body,
    `\`${shape.name}\` in staged form: one operation per line (generated by tsgrad).`,
  );
}

/** f_grad: forward pass, then backward pass, one function, no cache object. */
export function emitGrad(
  shape: FunctionShape,
  name: string,
  forward: readonly Stmt[],
  backward: readonly BStmt[],
  scratch = "scratch",
  matrices?: LentMatrices,
  purpose?: string,
) {
  const { forwardLines, backwardLines, release } = pooledPasses(forward, backward, scratch, matrices);
  const body = [
    ...withHeading(forwardLines, "forward pass"),
    ...withHeading([...arrayGradients(shape), ...backwardLines], "backward pass"),
    ...release,
    f.createReturnStatement(gradientTuple(shape)),
  ];
  const which = shape.wrt
    ? returned(shape)
        .map((p) => `\`${p.name}\``)
        .join(", ")
    : "each parameter";
  return declareWithParameters(
    shape,
    name,
    [],
    tupleType(shape),
    body,
    `Gradient of \`${shape.name}\` with respect to ${which}${purpose ? `, ${purpose}` : ""} (generated by tsgrad).`,
  );
}

/**
 * f_gradInto(grads, ...args): f_grad writing into the gradient buffers of an earlier result
 * (`grads = f_grad(...)` once, then `f_gradInto(grads, ...)` each step): arrays are zeroed and
 * filled in place, numbers overwritten, and `grads` itself returned, so nothing is allocated.
 */
export function emitGradInto(
  shape: FunctionShape,
  name: string,
  grads: string,
  forward: readonly Stmt[],
  backward: readonly BStmt[],
  scratch = "scratch",
  matrices?: LentMatrices,
) {
  const { forwardLines, backwardLines, release } = pooledPasses(forward, backward, scratch, matrices);
  // grads[1] for a parameter, grads[0].layer.W for a field of an object parameter; with wrt, the
  // position in wrt (a parameter not in it has no slot: its gradient is not returned).
  const paths = leafPaths(shape);
  const position = (i: number) => (shape.wrt ? shape.wrt.indexOf(paths[i].param) : paths[i].param);
  const slot = (i: number) =>
    paths[i].keys.reduce<ts.Expression>(
      (e, key) => f.createPropertyAccessExpression(e, key),
      f.createElementAccessExpression(f.createIdentifier(grads), position(i)),
    );
  const zeroFill = (target: ts.Expression, kind: ValueKind) =>
    f.createExpressionStatement(
      f.createCallExpression(
        f.createPropertyAccessExpression(
          kind === "Matrix" ? f.createPropertyAccessExpression(target, "data") : target,
          "fill",
        ),
        undefined,
        [f.createNumericLiteral(0)],
      ),
    );
  const buffers = shape.params.flatMap((_, i): ts.Statement[] => {
    const kind = shape.kinds[i];
    if (position(i) < 0) return [];
    const g = shape.gradients[i];
    if (kind === "number" || isDataKind(kind)) return []; // data: its slot is left as it is (undefined)
    if (!g) return [zeroFill(slot(i), kind)];
    return [declareConst(g, slot(i)), zeroFill(f.createIdentifier(g), kind)];
  });
  const numbers = shape.params.flatMap((_, i): ts.Statement[] => {
    if (shape.kinds[i] !== "number" || position(i) < 0) return [];
    const g = shape.gradients[i];
    return [
      f.createExpressionStatement(f.createAssignment(slot(i), g ? f.createIdentifier(g) : f.createNumericLiteral(0))),
    ];
  });
  const body = [
    ...withHeading(forwardLines, "forward pass"),
    ...withHeading([...buffers, ...backwardLines], "backward pass"),
    ...release,
    ...numbers,
    f.createReturnStatement(f.createIdentifier(grads)),
  ];
  const gradsParam = f.createParameterDeclaration(undefined, undefined, grads, undefined, tupleType(shape));
  return declareWithParameters(
    shape,
    name,
    [gradsParam],
    tupleType(shape),
    body,
    `Gradient of \`${shape.name}\` written into \`${grads}\`, the buffers of an earlier result (generated by tsgrad).`,
  );
}

/**
 * The forward and backward lines of f_grad with local arrays taken from the runtime's `scratch`
 * stack, zeroed, and given back at the end: `const h = scratch.zeros(n)`, its gradient `dh`
 * right after it, and `scratch.release(dh); scratch.release(h)`. A stack of their own: on the
 * stack loops save values on, an array made after a loop would sit on what the loop pushed.
 */
/** The matrices f_grad took from the runtime's pool (pool.ts), given back before it returns. */
export interface LentMatrices {
  pool: string;
  lent: readonly string[];
}

function pooledPasses(
  forward: readonly Stmt[],
  backward: readonly BStmt[],
  scratch: string,
  matrices?: LentMatrices,
): { forwardLines: ts.Statement[]; backwardLines: ts.Statement[]; release: ts.Statement[] } {
  const call = (method: string, args: ts.Expression[]) =>
    f.createCallExpression(f.createPropertyAccessExpression(f.createIdentifier(scratch), method), undefined, args);
  const locals = new Set(forward.flatMap((s) => (s.k === "array" ? [s.name] : [])));
  const allocs = new Map(
    backward.flatMap((s) =>
      s.k === "alloc" && s.vector && !s.same && locals.has(s.like) ? [[s.like, s] as const] : [],
    ),
  );
  const order: string[] = [];
  const forwardLines = forward.flatMap((s): ts.Statement[] => {
    if (s.k !== "array") return emitForward([s]);
    const alloc = allocs.get(s.name);
    order.push(s.name, ...(alloc ? [alloc.adj] : []));
    const take = (name: string, length: ts.Expression) =>
      ts.setOriginalNode(declareConst(name, call("zeros", [length])), s.source);
    return [
      take(s.name, exprToTs(s.length)),
      ...(alloc ? [take(alloc.adj, f.createPropertyAccessExpression(f.createIdentifier(s.name), "length"))] : []),
    ];
  });
  const backwardLines = emitBackward(backward.filter((s) => !(s.k === "alloc" && allocs.get(s.like) === s)));
  const release = order.reverse().map((n) => f.createExpressionStatement(call("release", [f.createIdentifier(n)])));
  const giveBack = (matrices?.lent ?? []).map((n) =>
    f.createExpressionStatement(
      f.createCallExpression(globalToTs(`${matrices!.pool}.release`), undefined, [f.createIdentifier(n)]),
    ),
  );
  return { forwardLines, backwardLines, release: [...release, ...giveBack] };
}

/**
 * f_forward: the forward pass, returning the value and the cache its backward pass reads. With
 * loops that save values, it fills a stack of its own (`newStack`), kept in the cache.
 */
export function emitForwardFunction(
  shape: FunctionShape,
  name: string,
  forward: readonly Stmt[],
  result: string | readonly Output[],
  cache: readonly string[],
  newStack?: string,
) {
  const entries = [...cache, ...(newStack ? [stack] : [])];
  const cacheObject = f.createObjectLiteralExpression(entries.map((c) => f.createShorthandPropertyAssignment(c)));
  // A returned array the backward pass reads is handed out as a copy: the caller may write into
  // the value before calling backward, and the cache must keep what the forward pass computed.
  const arrays = new Set(forward.flatMap((s) => (s.k === "array" && cache.includes(s.name) ? [s.name] : [])));
  const ret = f.createReturnStatement(
    f.createObjectLiteralExpression([
      f.createPropertyAssignment("value", resultValue(result, arrays)),
      f.createPropertyAssignment("cache", cacheObject),
    ]),
  );
  const own = newStack ? [declareConst(stack, f.createNewExpression(f.createIdentifier(newStack), undefined, []))] : [];
  const body = [...own, ...spellingOut(() => emitForward(forward)), ret];
  return declareWithParameters(
    shape,
    name,
    [],
    undefined,
    body,
    `Forward pass of \`${shape.name}\` for vjp: its value and what the backward pass needs (generated by tsgrad).`,
  );
}

/** The value a function returns: its result's name, or `{ loss: loss_1, h }` for the fields of an object. */
export function resultValue(
  result: string | readonly Output[],
  copies: ReadonlySet<string> = new Set(),
): ts.Expression {
  const value = (name: string) =>
    copies.has(name)
      ? f.createCallExpression(f.createPropertyAccessExpression(f.createIdentifier(name), "slice"), undefined, [])
      : f.createIdentifier(name);
  if (typeof result === "string") return value(result);
  return f.createObjectLiteralExpression(
    result.map((o) =>
      o.key === o.name && !copies.has(o.name)
        ? f.createShorthandPropertyAssignment(o.key)
        : f.createPropertyAssignment(o.key, value(o.name)),
    ),
  );
}

/**
 * f_backward(cache, df): the backward pass of vjp, given the gradient on the output. For a function
 * returning an object, `dout` has its fields' gradients, unpacked first: `const { loss: dloss } = dout`.
 */
export function emitBackwardFunction(
  shape: FunctionShape,
  name: string,
  forwardName: string,
  seed: string,
  backward: readonly BStmt[],
  cache: readonly string[],
  cacheParam: string,
  usesStack = false,
  seedKind: ValueKind | "object" | readonly (Output & { seed: string })[] = "number",
) {
  // ReturnType<typeof f_forward>["cache"]; for methods Model["f_forward"] or typeof Model.f_forward.
  const m = shape.method;
  const forwardType = !m
    ? f.createTypeQueryNode(f.createIdentifier(forwardName))
    : m.isStatic
      ? f.createTypeQueryNode(f.createQualifiedName(f.createIdentifier(m.className), forwardName))
      : f.createIndexedAccessTypeNode(
          f.createTypeReferenceNode(m.className),
          f.createLiteralTypeNode(f.createStringLiteral(forwardName)),
        );
  const cacheType = f.createIndexedAccessTypeNode(
    f.createTypeReferenceNode("ReturnType", [forwardType]),
    f.createLiteralTypeNode(f.createStringLiteral("cache")),
  );
  const outputs = typeof seedKind === "string" ? undefined : seedKind;
  const seedType = outputs
    ? f.createTypeLiteralNode(
        outputs.map((o) => f.createPropertySignature(undefined, o.key, undefined, typeOf(o.kind, false))),
      )
    : typeOf(seedKind as ValueKind, false);
  const params = [
    f.createParameterDeclaration(undefined, undefined, cacheParam, undefined, cacheType),
    f.createParameterDeclaration(undefined, undefined, seed, undefined, seedType),
  ];
  const seeds = outputs
    ? [
        f.createVariableStatement(
          undefined,
          f.createVariableDeclarationList(
            [
              f.createVariableDeclaration(
                f.createObjectBindingPattern(
                  outputs.map((o) => f.createBindingElement(undefined, o.key === o.seed ? undefined : o.key, o.seed)),
                ),
                undefined,
                undefined,
                f.createIdentifier(seed),
              ),
            ],
            ts.NodeFlags.Const,
          ),
        ),
      ]
    : [];
  // Loop headers restored from the stack are assigned: `let` for them, declared if not cached.
  const reassigned = reassignedIn(backward);
  const topLevel = restoredHeaders(backward);
  const flags = cache.some((c) => topLevel.has(c)) ? ts.NodeFlags.Let : ts.NodeFlags.Const;
  const rest = [
    ...arrayGradients(shape),
    ...emitBackward(backward, reassigned),
    f.createReturnStatement(gradientTuple(shape)),
  ];
  // The cache also holds what f_forward's caller reads (the array it returns): unpack only what is read here.
  const read = cache.filter((c) => topLevel.has(c) || rest.some((st) => reads(st, c)));
  const unpack = read.length
    ? [
        f.createVariableStatement(
          undefined,
          f.createVariableDeclarationList(
            [
              f.createVariableDeclaration(
                f.createObjectBindingPattern(read.map((c) => f.createBindingElement(undefined, undefined, c))),
                undefined,
                undefined,
                f.createIdentifier(cacheParam),
              ),
            ],
            flags,
          ),
        ),
      ]
    : [];
  const declared = [...topLevel]
    .filter(([n]) => !cache.includes(n))
    .map(([n, type]) =>
      f.createVariableStatement(
        undefined,
        f.createVariableDeclarationList([f.createVariableDeclaration(n, undefined, valueType(type))], ts.NodeFlags.Let),
      ),
    );
  // vjp's backward may run more than once: it pops from a replay of the cached stack.
  const replay = usesStack
    ? [
        declareConst(
          stack,
          f.createCallExpression(
            f.createPropertyAccessExpression(
              f.createPropertyAccessExpression(f.createIdentifier(cacheParam), stack),
              "replay",
            ),
            undefined,
            [],
          ),
        ),
      ]
    : [];
  const body = [...unpack, ...seeds, ...declared, ...replay, ...rest];
  return declareFunction(
    shape,
    name,
    params,
    tupleType(shape),
    body,
    `Backward pass of \`${shape.name}\` for vjp: gradients from the cache and the output's gradient \`${seed}\` (generated by tsgrad).`,
  );
}

/**
 * registerGradient(f, { grad: f_grad, gradInto: f_gradInto, forward: f_forward, backward: f_backward }):
 * a statement's expression, or, around a closure where it is created, the value (it returns f).
 */
export function emitRegistration(
  register: ts.Expression,
  target: ts.Expression,
  names: {
    grad?: ts.Expression;
    gradInto?: ts.Expression;
    gradChecked?: ts.Expression;
    forward: ts.Expression;
    backward: ts.Expression;
  },
  params: readonly string[],
  data: readonly number[] = [],
): ts.CallExpression {
  const table = f.createObjectLiteralExpression([
    ...(names.grad ? [f.createPropertyAssignment("grad", names.grad)] : []),
    ...(names.gradInto ? [f.createPropertyAssignment("gradInto", names.gradInto)] : []),
    ...(names.gradChecked ? [f.createPropertyAssignment("gradChecked", names.gradChecked)] : []),
    f.createPropertyAssignment("forward", names.forward),
    f.createPropertyAssignment("backward", names.backward),
    // The parameters' names, for the runtime's messages: "grad(f) expects 2 arguments (x, y), got 3".
    f.createPropertyAssignment("params", f.createArrayLiteralExpression(params.map((p) => f.createStringLiteral(p)))),
    // The data parameters' indices (modes, flags, labels): no gradient, not moved by numericGrad.
    ...(data.length
      ? [f.createPropertyAssignment("data", f.createArrayLiteralExpression(data.map((i) => f.createNumericLiteral(i))))]
      : []),
  ]);
  return f.createCallExpression(register, undefined, [target, table]);
}

export const emitStatement = (e: ts.Expression): ts.Statement => f.createExpressionStatement(e);

/**
 * registerGradient(<closure>, { ... }) where the closure was, around a copy of it without a place
 * in the text: tsc prints the closure's tag where it prints the comments after `return` or `=>`,
 * and would print it again inside (the call itself has no place either: its comments, printed
 * before it, could put a line break after `return`).
 */
export function emitWrapped(
  closure: ts.ArrowFunction | ts.FunctionExpression,
  wrap: (closure: ts.Expression) => ts.CallExpression,
): ts.CallExpression {
  const copy = ts.isArrowFunction(closure)
    ? f.createArrowFunction(
        closure.modifiers,
        closure.typeParameters,
        closure.parameters,
        closure.type,
        closure.equalsGreaterThanToken,
        closure.body,
      )
    : f.createFunctionExpression(
        closure.modifiers,
        closure.asteriskToken,
        closure.name,
        closure.typeParameters,
        closure.parameters,
        closure.type,
        closure.body,
      );
  return wrap(ts.setOriginalNode(copy, closure));
}

/** `vec.dot` → the property access (`f` → the identifier). */
export const propertyPath = (path: string): ts.Expression =>
  path
    .split(".")
    .slice(1)
    .reduce<ts.Expression>(
      (e, key) => f.createPropertyAccessExpression(e, key),
      f.createIdentifier(path.split(".")[0]),
    );

/**
 * The block a closure's generated functions share with the statement creating it, where that
 * statement is the body of an `if` or a loop: `{ function f_grad(...) {...} ... return ...; }`.
 */
export const emitBlock = (statements: readonly ts.Statement[]): ts.Block => f.createBlock(statements, true);

/** An arrow's expression body made a block, its generated functions first: `{ ...; return body; }`. */
export function emitBodyBlock(generated: readonly ts.Statement[], body: ts.ConciseBody): ts.Block {
  const statements = ts.isBlock(body) ? body.statements : [f.createReturnStatement(body)];
  return f.createBlock([...generated, ...statements], true);
}

export const identifier = (name: string) => f.createIdentifier(name);
export const propertyOf = (target: ts.Expression, name: string) => f.createPropertyAccessExpression(target, name);

/** ["registerGradient", "sq_grad as sq_grad_2"], "./m.js" → `import { registerGradient, sq_grad as sq_grad_2 } from "./m.js";` */
export function emitImport(names: readonly string[], from: string): ts.Statement {
  const specifiers = names.map((n) => {
    const [name, alias] = n.split(" as ");
    return f.createImportSpecifier(
      false,
      alias ? f.createIdentifier(name) : undefined,
      f.createIdentifier(alias ?? name),
    );
  });
  const clause = f.createImportClause(undefined, undefined, f.createNamedImports(specifiers));
  return f.createImportDeclaration(undefined, clause, f.createStringLiteral(from));
}

/** `const { saved, registerGradient: register_2 } = require("tsgrad");` (names as emitImport takes them). */
export function emitRequireNames(names: readonly string[], from: string): ts.Statement {
  const elements = names.map((n) => {
    const [name, alias] = n.split(" as ");
    return f.createBindingElement(undefined, alias ? name : undefined, alias ?? name);
  });
  return declareConst(f.createObjectBindingPattern(elements), requireCall(from));
}

/** `const helpers_module = require("./helpers.js");` */
export function emitRequireModule(local: string, from: string): ts.Statement {
  return declareConst(local, requireCall(from));
}

const requireCall = (from: string) =>
  f.createCallExpression(f.createIdentifier("require"), undefined, [f.createStringLiteral(from)]);

/** `// why` above `const softplusD_2 = softplusD;` */
export function emitAlias(local: string, name: string, why: string): ts.Statement {
  return comment(declareConst(local, f.createIdentifier(name)), why);
}

/** `static { ... }`: a class's registrations of its methods' gradients. */
export function emitStaticBlock(statements: readonly ts.Statement[]): ts.ClassElement {
  return f.createClassStaticBlockDeclaration(f.createBlock(statements, true));
}

/** `this` in a static block, for a static method; `this.prototype` for an instance method. */
export const ownerOf = (isStatic: boolean): ts.Expression =>
  isStatic ? f.createThis() : propertyOf(f.createThis(), "prototype");

export const thisExpression = (): ts.Expression => f.createThis();

/** `obj.m_grad.bind(obj)`: a method's gradient keeping its `this`. */
export function emitBind(fn: ts.Expression, owner: ts.Expression): ts.Expression {
  return f.createCallExpression(propertyOf(fn, "bind"), undefined, [owner]);
}
