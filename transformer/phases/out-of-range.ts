// Finds element reads and writes that are out of range on every run that reaches them, and refuses
// each at its node for the fence (a read past the end gives `undefined`, then NaN, in the
// function and in its gradient alike). Only what the code proves, never a guess:
//   a[-1], a[0.5]                                      a constant index that is never valid
//   const h = new Float64Array(3); h[3]                a constant index past a constant length
//   for (let i = 0; i <= a.length; i++) s += a[i]      the last iteration reads a[a.length]
//   for (let i = 0; i < a.length; i++) d += a[i + 1]   the last iteration reads a[a.length]
//   for (let i = 0; i < n; i++) d += a[i - 1]          the first iteration reads a[-1]
// A loop bound proves a read only when the read runs on every iteration: directly in the loop's
// body (not under an if, a ternary or an inner loop) of a loop with no break, continue or return.

import ts from "typescript";
import type { DiffError } from "../ir/diagnostics.js";
import { LOGICAL, isAssignment, isIncrement, refuse } from "../ir/language.js";
import { arrayCreation, skipWrappers as skip } from "../ir/syntax.js";

/**
 * What a counting loop's counter ranges over: low ≤ i (a constant) and i ≤ length(array) + offset;
 * `step` says which end the first iteration is at. `array` identifies the array by its binding
 * (a key from arrayKey), `text` is how the code wrote it.
 */
interface CounterRange {
  low?: number;
  high?: { array: string; text: string; offset: number };
  step: 1 | -1;
}

/** The element accesses the program is certain to make out of range, each refused at the access, saying why. */
export function outOfRange(
  fn: ts.SignatureDeclaration & { body?: ts.ConciseBody },
  checker: ts.TypeChecker,
): DiffError[] {
  const found: DiffError[] = [];
  const keys = arrayKeys(checker);
  const counters = new Map<ts.Symbol, { loop: ts.ForStatement; range: CounterRange }>();
  const visit = (n: ts.Node): void => {
    if (ts.isForStatement(n)) {
      const c = counterOf(n, checker, keys);
      if (c) counters.set(c.symbol, { loop: n, range: c.range });
    }
    if (ts.isElementAccessExpression(n)) {
      const problem = constantProblem(n, checker) ?? loopProblem(n, counters, checker, keys);
      if (problem) found.push(problem);
    }
    ts.forEachChild(n, visit);
  };
  if (fn.body) visit(fn.body);
  return found;
}

/** a[-1], a[1.5], and h[3] of `const h = new Float64Array(3)`. */
function constantProblem(e: ts.ElementAccessExpression, checker: ts.TypeChecker): DiffError | undefined {
  const index = constantOf(e.argumentExpression);
  if (index === undefined) return undefined;
  if (index < 0 || !Number.isInteger(index))
    return refuse("indexNeverValid", e, { access: e.getText(), index, ...access(e) });
  const decl = ts.isIdentifier(e.expression) ? checker.getSymbolAtLocation(e.expression)?.valueDeclaration : undefined;
  const created =
    decl && ts.isVariableDeclaration(decl) && decl.initializer && !givenAnother(decl, checker)
      ? arrayCreation(decl.initializer, checker)
      : undefined;
  // An array grown by push has no fixed length.
  const length = created?.length && !created.growable ? constantOf(created.length) : undefined;
  if (length !== undefined && index >= length)
    return refuse("indexPastLength", e, { access: e.getText(), array: e.expression.getText(), length, ...access(e) });
  return undefined;
}

/** `let h = new Float64Array(2); ...; h = new Float64Array(3)`: is the variable given another array somewhere? */
function givenAnother(decl: ts.VariableDeclaration, checker: ts.TypeChecker): boolean {
  if (ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const) return false;
  const symbol = checker.getSymbolAtLocation(decl.name);
  let scope: ts.Node = decl;
  while (scope.parent && !ts.isFunctionLike(scope)) scope = scope.parent;
  const targets = (e: ts.Expression): ts.Expression[] =>
    ts.isArrayLiteralExpression(e) ? e.elements.flatMap(targets) : [skip(e)];
  const visit = (n: ts.Node): boolean =>
    (ts.isBinaryExpression(n) &&
      n.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
      targets(n.left).some((t) => ts.isIdentifier(t) && checker.getSymbolAtLocation(t) === symbol)) ||
    ts.forEachChild(n, visit) === true;
  return visit(scope);
}

/** a[i + c] in the body of `for (let i = ...; i < a.length; i++)` where the first or last iteration misses. */
function loopProblem(
  e: ts.ElementAccessExpression,
  counters: ReadonlyMap<ts.Symbol, { loop: ts.ForStatement; range: CounterRange }>,
  checker: ts.TypeChecker,
  keys: ArrayKeys,
): DiffError | undefined {
  const index = counterPlus(e.argumentExpression, checker);
  const c = index && counters.get(index.symbol);
  if (!index || !c || !runsEveryIteration(e, c.loop)) return undefined;
  const { low, high, step } = c.range;
  const text = e.getText();
  const { verb, outcome } = access(e);
  // Counting up, i is largest in the last iteration; counting down, in the first.
  const [atHigh, atLow] = step === 1 ? ["last", "first"] : ["first", "last"];
  if (high && high.array === keys(e.expression) && high.offset + index.offset >= 0) {
    const at =
      high.offset + index.offset === 0 ? `${high.text}.length` : `${high.text}.length + ${high.offset + index.offset}`;
    const keep = `${index.name}${index.offset ? ` + ${index.offset}` : ""}`;
    return refuse("loopPastEnd", e, { access: text, verb, at, iteration: atHigh, array: high.text, outcome, keep });
  }
  if (low !== undefined && low + index.offset < 0) {
    const fix =
      step === 1
        ? `start the loop at ${-index.offset}`
        : `stop the loop at ${-index.offset} (\`${index.name} >= ${-index.offset}\`)`;
    return refuse("loopBeforeStart", e, {
      access: text,
      verb,
      index: low + index.offset,
      iteration: atLow,
      array: e.expression.getText(),
      outcome,
      fix,
    });
  }
  return undefined;
}

/** A read or a write (`a[i] = v`, `a[i] += v`, `a[i]++`), for the message. */
function access(e: ts.ElementAccessExpression): { verb: string; outcome: string } {
  const p = e.parent;
  const written =
    (ts.isBinaryExpression(p) && p.left === e && isAssignment(p.operatorToken.kind)) ||
    ((ts.isPrefixUnaryExpression(p) || ts.isPostfixUnaryExpression(p)) && isIncrement(p.operator));
  return written
    ? { verb: "writes", outcome: "the write would be lost (or grow a number[])" }
    : { verb: "reads", outcome: "it would read `undefined`" };
}

/** Identifies an array by the binding it is read through: `a` → its symbol, `model.W` → its symbol + ".W". */
type ArrayKeys = (e: ts.Expression) => string | undefined;

function arrayKeys(checker: ts.TypeChecker): ArrayKeys {
  const ids = new Map<ts.Symbol, number>();
  const key: ArrayKeys = (e) => {
    const x = skip(e);
    if (ts.isPropertyAccessExpression(x)) {
      const base = key(x.expression);
      return base && `${base}.${x.name.text}`;
    }
    const symbol = ts.isIdentifier(x) ? checker.getSymbolAtLocation(x) : undefined;
    if (!symbol) return undefined;
    if (!ids.has(symbol)) ids.set(symbol, ids.size);
    return `#${ids.get(symbol)}`;
  };
  return key;
}

/**
 * for (let i = F; i < B; i++) or (let i = F; i >= L; i--), i never assigned in the body: the
 * constants among its bounds and, where B is `a.length` (± a constant), its largest value.
 */
function counterOf(
  loop: ts.ForStatement,
  checker: ts.TypeChecker,
  keys: ArrayKeys,
): { symbol: ts.Symbol; range: CounterRange } | undefined {
  const init = loop.initializer;
  if (!init || !ts.isVariableDeclarationList(init) || init.declarations.length !== 1) return undefined;
  const [d] = init.declarations;
  const symbol = ts.isIdentifier(d.name) ? checker.getSymbolAtLocation(d.name) : undefined;
  const cond = loop.condition;
  if (
    !symbol ||
    !d.initializer ||
    !cond ||
    !ts.isBinaryExpression(cond) ||
    !ts.isIdentifier(cond.left) ||
    checker.getSymbolAtLocation(cond.left) !== symbol
  )
    return undefined;
  const step = stepOf(loop.incrementor, symbol, checker);
  if (step === undefined || assigns(loop.statement, symbol, checker)) return undefined;
  const op = cond.operatorToken.kind;
  const from = constantOf(d.initializer);
  if (step === 1 && (op === ts.SyntaxKind.LessThanToken || op === ts.SyntaxKind.LessThanEqualsToken)) {
    const bound = lengthPlus(cond.right, keys);
    const high = bound && { ...bound, offset: bound.offset - (op === ts.SyntaxKind.LessThanToken ? 1 : 0) };
    return { symbol, range: { low: from, high, step } };
  }
  if (step === -1 && (op === ts.SyntaxKind.GreaterThanEqualsToken || op === ts.SyntaxKind.GreaterThanToken)) {
    const to = constantOf(cond.right);
    const start = lengthPlus(d.initializer, keys);
    return {
      symbol,
      range: {
        low: to === undefined ? undefined : to + (op === ts.SyntaxKind.GreaterThanToken ? 1 : 0),
        high: start,
        step,
      },
    };
  }
  return undefined;
}

/** i++, ++i, i += 1 → 1; i--, --i, i -= 1 → -1. */
function stepOf(e: ts.Expression | undefined, symbol: ts.Symbol, checker: ts.TypeChecker): 1 | -1 | undefined {
  if (!e) return undefined;
  if (
    (ts.isPostfixUnaryExpression(e) || ts.isPrefixUnaryExpression(e)) &&
    ts.isIdentifier(e.operand) &&
    checker.getSymbolAtLocation(e.operand) === symbol
  ) {
    return e.operator === ts.SyntaxKind.PlusPlusToken
      ? 1
      : e.operator === ts.SyntaxKind.MinusMinusToken
        ? -1
        : undefined;
  }
  if (
    ts.isBinaryExpression(e) &&
    ts.isIdentifier(e.left) &&
    checker.getSymbolAtLocation(e.left) === symbol &&
    constantOf(e.right) === 1
  ) {
    return e.operatorToken.kind === ts.SyntaxKind.PlusEqualsToken
      ? 1
      : e.operatorToken.kind === ts.SyntaxKind.MinusEqualsToken
        ? -1
        : undefined;
  }
  return undefined;
}

/** Is the counter assigned anywhere in the loop's body? */
function assigns(body: ts.Node, symbol: ts.Symbol, checker: ts.TypeChecker): boolean {
  const target = (t: ts.Expression) => ts.isIdentifier(t) && checker.getSymbolAtLocation(t) === symbol;
  const found = (n: ts.Node): boolean =>
    (ts.isBinaryExpression(n) && isAssignment(n.operatorToken.kind) && target(n.left)) ||
    ((ts.isPostfixUnaryExpression(n) || ts.isPrefixUnaryExpression(n)) &&
      isIncrement(n.operator) &&
      target(n.operand)) ||
    ts.forEachChild(n, found) === true;
  return found(body);
}

/** Does `e` run on every iteration of `loop`: in its body, under no branch or inner loop, and the loop has no exit but its test? */
function runsEveryIteration(e: ts.Node, loop: ts.ForStatement): boolean {
  for (let n = e.parent; n !== loop; n = n.parent) {
    if (
      !n ||
      ts.isIfStatement(n) ||
      ts.isConditionalExpression(n) ||
      ts.isIterationStatement(n, false) ||
      ts.isFunctionLike(n)
    )
      return false;
    if (ts.isBinaryExpression(n) && LOGICAL.has(n.operatorToken.kind)) return false;
  }
  if (e.pos < loop.statement.pos) return false; // in the header, not the body
  const exits = (n: ts.Node): boolean =>
    ts.isBreakStatement(n) ||
    ts.isContinueStatement(n) ||
    ts.isReturnStatement(n) ||
    (!ts.isFunctionLike(n) && ts.forEachChild(n, exits) === true);
  return !exits(loop.statement);
}

/** i, i + 2, 2 + i, i - 1 → the counter's symbol and the constant added. */
function counterPlus(
  e: ts.Expression,
  checker: ts.TypeChecker,
): { symbol: ts.Symbol; name: string; offset: number } | undefined {
  const x = skip(e);
  if (ts.isIdentifier(x)) {
    const symbol = checker.getSymbolAtLocation(x);
    return symbol && { symbol, name: x.text, offset: 0 };
  }
  if (!ts.isBinaryExpression(x)) return undefined;
  const op = x.operatorToken.kind;
  if (op !== ts.SyntaxKind.PlusToken && op !== ts.SyntaxKind.MinusToken) return undefined;
  const sign = op === ts.SyntaxKind.PlusToken ? 1 : -1;
  const right = constantOf(x.right);
  const left = right !== undefined ? counterPlus(x.left, checker) : undefined;
  if (left && right !== undefined) return { ...left, offset: left.offset + sign * right };
  const constant = constantOf(x.left);
  const counter = sign === 1 && constant !== undefined ? counterPlus(x.right, checker) : undefined;
  return counter && { ...counter, offset: counter.offset + constant! };
}

/** a.length, a.length - 2, model.W.length + 1 → the array (its key and text) and the constant added. */
function lengthPlus(e: ts.Expression, keys: ArrayKeys): { array: string; text: string; offset: number } | undefined {
  const x = skip(e);
  if (ts.isPropertyAccessExpression(x) && x.name.text === "length") {
    const array = keys(x.expression);
    return array === undefined ? undefined : { array, text: skip(x.expression).getText(), offset: 0 };
  }
  if (!ts.isBinaryExpression(x)) return undefined;
  const op = x.operatorToken.kind;
  const c = constantOf(x.right);
  const base =
    c !== undefined && (op === ts.SyntaxKind.PlusToken || op === ts.SyntaxKind.MinusToken)
      ? lengthPlus(x.left, keys)
      : undefined;
  return base && { ...base, offset: base.offset + (op === ts.SyntaxKind.PlusToken ? c! : -c!) };
}

/** 3, -1, (2), 1.5 → the number; anything else undefined. */
function constantOf(e: ts.Expression): number | undefined {
  const x = skip(e);
  if (ts.isNumericLiteral(x)) return Number(x.text);
  if (ts.isPrefixUnaryExpression(x) && x.operator === ts.SyntaxKind.MinusToken && ts.isNumericLiteral(skip(x.operand)))
    return -Number((skip(x.operand) as ts.NumericLiteral).text);
  return undefined;
}
