// Forward statements, one IR statement to one TypeScript statement, loops as the user wrote them:
//   { k: "def", name: "num", value: x + sigy, note: "numerator" }  → const num = x + sigy; // numerator
//   { k: "loop", counter: { name: "i", from: 0, op: "<", to: n } }  → for (let i = 0; i < n; i++) { ... }

import ts from "typescript";
import { exprToTs, globalToTs } from "../../ir/print.js";
import { negate, simplify } from "../../ir/simplify.js";
import {
  type Def,
  type Expr,
  type Loop,
  type Push,
  type Release,
  type Stmt,
  binary,
  isCallResult,
  isMatrixType,
  reboundArrays,
  ref,
} from "../../ir/ir.js";
import { newArray } from "./arrays.js";
import { comment, trailingComment } from "./comments.js";
import { declareConst, f } from "./nodes.js";
import { frameDeclaration, insideLoop, slotAccess, stackCall } from "./stack.js";
import { numberType, valueType } from "./types.js";

/**
 * `let y_1: number;`, a join each branch assigns. A hoisted number, which only some paths assign,
 * starts at 0: `let exp_diff_3 = 0;`. Left undefined on the others, V8 keeps it as a heap number
 * (a new one each time a branch assigns it, 16 bytes), where a variable that is always a number
 * stays a plain double. Other hoisted values are declared assigned: `let h_2!: Matrix`.
 */
function letStatement(s: Extract<Stmt, { k: "let" }>): ts.Statement {
  const zero = s.hoisted && s.type === undefined;
  const type = zero ? undefined : valueType(s.type);
  const definite = s.hoisted && !zero ? f.createToken(ts.SyntaxKind.ExclamationToken) : undefined;
  const declaration = f.createVariableDeclaration(s.name, definite, type, zero ? f.createNumericLiteral(0) : undefined);
  return f.createVariableStatement(undefined, f.createVariableDeclarationList([declaration], ts.NodeFlags.Let));
}

/** Forward statements: `const num = x + sigy; // numerator`, `let y_1: number;`, branches, loops. */
export function emitForward(body: readonly Stmt[], rebound: ReadonlySet<string> = reboundArrays(body)): ts.Statement[] {
  return body.flatMap((s): ts.Statement | ts.Statement[] => {
    if (s.k === "loop") return emitLoop(s);
    if (s.k === "push") return push(s);
    if (s.k === "let") return letStatement(s);
    if (s.k === "if") {
      return ts.setOriginalNode(ifStatement(s.test, emitForward(s.then), emitForward(s.else), exprToTs), s.source);
    }
    // const out: number[] = [], grown by push.
    if (s.k === "array" && s.growable)
      return ts.setOriginalNode(
        declareConst(
          s.name,
          f.createArrayLiteralExpression([]),
          ts.NodeFlags.Const,
          f.createArrayTypeNode(numberType()),
        ),
        s.source,
      );
    if (s.k === "array") {
      const flags = rebound.has(s.name) ? ts.NodeFlags.Let : ts.NodeFlags.Const;
      return ts.setOriginalNode(declareConst(s.name, newArray(s.kind, exprToTs(s.length)), flags), s.source);
    }
    // [u, next] = [next, u]: the arrays change places (the user's swap, or a new array kept).
    if (s.k === "rebind") return ts.setOriginalNode(swap(s.names, s.from), s.source);
    if (s.k === "throw") return ts.setOriginalNode(f.createThrowStatement(renamed(s.expression, s.names)), s.source);
    if (s.k === "release") return releaseLines(s);
    if (s.k === "store") {
      // h[j] = v, h[j] += v
      const target = exprToTs({ k: "elem", array: s.array, index: s.index });
      const token = s.add ? ts.SyntaxKind.PlusEqualsToken : ts.SyntaxKind.EqualsToken;
      return ts.setOriginalNode(
        f.createExpressionStatement(f.createBinaryExpression(target, token, exprToTs(s.value))),
        s.source,
      );
    }
    return definition(s);
  });
}

/** `matrixPool.release(h_1);` per matrix, the first line under the comment saying why. */
export function releaseLines(s: Release): ts.Statement[] {
  const lines = s.names.map((n) =>
    f.createExpressionStatement(f.createCallExpression(globalToTs(s.callee), undefined, [f.createIdentifier(n)])),
  );
  if (lines.length && s.why) comment(lines[0], s.why);
  return lines;
}

/** `[u, next] = [next, u]`: names[i] takes what from[i] holds, all at once. */
export function swap(names: readonly string[], from: readonly string[]): ts.Statement {
  const list = (xs: readonly string[]) => f.createArrayLiteralExpression(xs.map((x) => f.createIdentifier(x)));
  return f.createExpressionStatement(f.createBinaryExpression(list(names), ts.SyntaxKind.EqualsToken, list(from)));
}

/** `saved.push(t)`, `t_saved[i] = t`; a boolean saved as 1 or 0. */
function push(s: Push): ts.Statement {
  // saved.pushCall(g_1_call): a recursive call's result, kept whole for its backward pass.
  if (isCallResult(s.type)) return f.createExpressionStatement(stackCall("pushCall", [f.createIdentifier(s.name)]));
  // saved.pushObject(h): a matrix or a vector this iteration made, kept whole.
  if (isMatrixType(s.type)) return f.createExpressionStatement(stackCall("pushObject", [f.createIdentifier(s.name)]));
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

/** `const num = x + sigy; // numerator`, or `y_1 = y * 2;` for an assignment. */
function definition(s: Def): ts.Statement {
  const value = exprToTs(s.value);
  // `const done_1: boolean = !done`, `done || returned`: in a loop, TypeScript cannot infer a
  // boolean from others it narrows (TS7022).
  const logical = s.value.k === "binary" && (s.value.op === "||" || s.value.op === "&&");
  const annotate =
    s.type === "boolean" && (s.value.k === "ref" || (s.value.k === "unary" && s.value.op === "!") || logical);
  const line = s.assign
    ? f.createExpressionStatement(f.createAssignment(f.createIdentifier(s.name), value))
    : declareConst(
        s.name,
        value,
        s.mutable ? ts.NodeFlags.Let : ts.NodeFlags.Const,
        annotate ? valueType(s.type) : undefined,
      );
  ts.setOriginalNode(line, s.source);
  return s.note ? trailingComment(line, s.note) : line;
}

/**
 * `if (test) { then } else { otherwise }`, as a person writes it: an empty `then` turns the test
 * around (`if (kind !== 1) { ... }`), and an `else` holding one `if` is an `else if`.
 */
export function ifStatement(
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
  const body = insideLoop(() => emitForward(s.body));
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
  for (const frame of s.frames ?? []) out.push(frameDeclaration(frame.array, exprToTs(frame.length)));
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

/** `i++` or `i--`: a counter's step. */
export const step = (name: string, by: 1 | -1) =>
  by === 1 ? f.createPostfixIncrement(f.createIdentifier(name)) : f.createPostfixDecrement(f.createIdentifier(name));
