// Rejects, before anything is transformed, what tsgrad cannot differentiate correctly yet. Takes a
// @differentiable function; returns one DiffError per offending node (all of them, not only the
// first). What is accepted, and each refusal's code and message, is the table in ir/language.ts:
// this walk only finds the constructs, each refusal a row of it (`fail(refuse("forIn", s))`).
// Staging may assume that a function with no fence errors uses only the supported language:
//   statements   const/let, assignment and = += -= *= /= %= **= ++ --, if/else, return, blocks,
//                for/while/do and for...of over an array parameter, with break, continue and
//                return (no labels)
//   expressions  number literals, locals, + - * / % ** and unary -, Math functions and constants,
//                calls, ternaries, comparisons and && || ! in conditions, `this.field` reads,
//                elements and fields of parameters and of arrays the function creates

import ts from "typescript";
import {
  type Differentiable,
  type FunctionNode,
  asDifferentiable,
  closurePlace,
  isRuntimeExport,
  resolveFunction,
} from "./annotations.js";
import { type MatrixOpName, matrixRules } from "../../runtime/ops/index.js";
import {
  type Callback,
  arrayCallback,
  arrayCreation,
  containsChange,
  entriesOf,
  expressionKind,
  isChange,
  isBehaviour,
  within,
  isGlobalConstant,
  kindOf,
  mathAlias,
  parameterType,
  skipWrappers,
  typeTree,
} from "../ir/syntax.js";
import { outOfRange } from "./out-of-range.js";
import { varDeclarations, varRedeclaration, varUseOutsideScope } from "../ir/scopes.js";
import { isConstantTable } from "../ir/tables.js";
import { type DiffError, shortPosition } from "../ir/diagnostics.js";
import { assignedInNestedFunction, capturedDeclaration, ownedField } from "../ir/captures.js";
import {
  ARITHMETIC,
  COMPOUND,
  BITWISE,
  ELEMENT_WRITES,
  LOGICAL,
  TYPE_TESTS,
  LANGUAGE,
  isAssignment,
  isIncrement,
  refuse,
} from "../ir/language.js";
import { type ValueKind, isArrayKind, isDataKind } from "../ir/ir.js";
import { GENERATED_GLOBALS } from "../ir/naming.js";

export type { ValueKind } from "../ir/ir.js";

const isBufferKind = (k: ValueKind | undefined) => isArrayKind(k) || k === "Matrix" || k === "Int32Array";

/** `matmul` in `matmul(X, W)`: the runtime's matrix op a call names (a key of matrixRules), if any. */
export function matrixOpOf(callee: ts.Expression, checker: ts.TypeChecker): MatrixOpName | undefined {
  return (Object.keys(matrixRules) as MatrixOpName[]).find((name) => isRuntimeExport(checker, callee, name));
}

export function fence(fn: FunctionNode, checker: ts.TypeChecker): DiffError[] {
  const errors: DiffError[] = [];
  const fail = (error: DiffError): void => void errors.push(error);
  /** How many branches and loops enclose the node being checked. */
  let depth = 0;
  /** Calls of unmarked functions a gradient surely flows through (reported only beside other errors). */
  const unmarkedCalls: DiffError[] = [];

  checkSignature(fn, checker, fail);
  hiddenGlobals(fn, fail);
  if (!fn.body) return errors;
  varsLikeLet(fn.body, checker, fail);
  if (ts.isBlock(fn.body)) fn.body.statements.forEach((s) => statement(s));
  else if (ts.isObjectLiteralExpression(skipWrappers(fn.body)))
    objectReturn(undefined, skipWrappers(fn.body) as ts.ObjectLiteralExpression);
  else expression(fn.body);
  outOfRange(fn, checker).forEach(fail);
  // The calls activity.ts would refuse, in the same build as the other errors (it runs only on
  // functions the fence passes).
  if (errors.length) errors.push(...unmarkedCalls);
  return oneErrorPerCause(errors, checker);

  function statement(s: ts.Statement): void {
    switch (s.kind) {
      case ts.SyntaxKind.VariableStatement:
        return variables(s as ts.VariableStatement);
      case ts.SyntaxKind.ExpressionStatement:
        return effect((s as ts.ExpressionStatement).expression);
      case ts.SyntaxKind.IfStatement: {
        const i = s as ts.IfStatement;
        expression(i.expression);
        depth++;
        statement(i.thenStatement);
        if (i.elseStatement) statement(i.elseStatement);
        depth--;
        return;
      }
      case ts.SyntaxKind.ReturnStatement: {
        const r = s as ts.ReturnStatement;
        // return h: an array the function made, as its last statement (a vector-valued function).
        if (r.expression && ts.isIdentifier(r.expression) && isCreatedArray(r.expression)) {
          const body = fn.body as ts.Block;
          if (depth > 0 || body.statements[body.statements.length - 1] !== s) {
            fail(refuse("arrayReturnNotLast", s));
          }
          return;
        }
        // return { loss, h }: numbers and arrays the function made, as its last statement.
        if (r.expression && ts.isObjectLiteralExpression(skipWrappers(r.expression)))
          return objectReturn(r, skipWrappers(r.expression) as ts.ObjectLiteralExpression);
        if (r.expression) expression(r.expression);
        else fail(refuse("returnWithoutValue", s));
        return;
      }
      case ts.SyntaxKind.Block:
        return (s as ts.Block).statements.forEach(statement);
      case ts.SyntaxKind.EmptyStatement:
        return;
      case ts.SyntaxKind.WhileStatement:
      case ts.SyntaxKind.DoStatement: {
        const w = s as ts.WhileStatement | ts.DoStatement;
        expression(w.expression);
        return loopBody(w.statement);
      }
      case ts.SyntaxKind.ForStatement: {
        const f = s as ts.ForStatement;
        if (f.initializer && ts.isVariableDeclarationList(f.initializer)) variableList(f.initializer, f.initializer);
        else if (f.initializer) effect(f.initializer);
        if (f.condition) expression(f.condition);
        if (f.incrementor) effect(f.incrementor);
        return loopBody(f.statement);
      }
      case ts.SyntaxKind.ForOfStatement:
        return forOf(s as ts.ForOfStatement);
      case ts.SyntaxKind.SwitchStatement:
        return switchStatement(s as ts.SwitchStatement);
      case ts.SyntaxKind.ThrowStatement:
        return thrown((s as ts.ThrowStatement).expression);
      case ts.SyntaxKind.ForInStatement:
        return fail(refuse("forIn", s));
      case ts.SyntaxKind.BreakStatement:
      case ts.SyntaxKind.ContinueStatement:
        if ((s as ts.BreakStatement).label) return fail(refuse("labelledJump", s));
        return;
      case ts.SyntaxKind.LabeledStatement:
        return fail(refuse("labelledStatement", s));
      case ts.SyntaxKind.FunctionDeclaration:
      case ts.SyntaxKind.ClassDeclaration:
        return fail(refuse("nestedDeclaration", s));
      default:
        return fail(refuse("otherStatement", s, { keyword: firstWord(s) }));
    }
  }

  /** switch: its cases run as the branches of an if/else chain; a `break` may only end a case. */
  function switchStatement(s: ts.SwitchStatement): void {
    expression(s.expression);
    depth++;
    for (const clause of s.caseBlock.clauses) {
      // case i++: a case's value is computed only when the cases before it did not match.
      if (ts.isCaseClause(clause) && containsChange(clause.expression))
        fail(refuse("assignmentSometimes", clause.expression));
      else if (ts.isCaseClause(clause)) expression(clause.expression);
      const own =
        clause.statements.length === 1 && ts.isBlock(clause.statements[0])
          ? clause.statements[0].statements
          : clause.statements;
      own.forEach((st, i) => {
        if (ts.isBreakStatement(st) && !st.label && i === own.length - 1) return;
        switchBreaks(st);
        statement(st);
      });
    }
    depth--;
  }

  /** A `break` of the switch anywhere but at the end of its case (in an `if`, say). */
  function switchBreaks(n: ts.Node): void {
    if (ts.isBreakStatement(n) && !n.label) return fail(refuse("switchBreak", n));
    if (ts.isFunctionLike(n) || ts.isIterationStatement(n, false) || ts.isSwitchStatement(n)) return;
    ts.forEachChild(n, switchBreaks);
  }

  /** `throw new RangeError(...)`: anything but a change of a variable (it runs once, never differentiated). */
  function thrown(e: ts.Expression): void {
    const visit = (n: ts.Node): void => {
      if (isChange(n)) return fail(refuse("sideEffect", n));
      if (ts.isFunctionLike(n)) return fail(refuse("closure", n));
      ts.forEachChild(n, visit);
    };
    visit(e);
  }

  /** `return { loss: a + b, h }` at the end (or an arrow's `=> ({ ... })`): each field a number, or an array the function made. */
  function objectReturn(r: ts.ReturnStatement | undefined, o: ts.ObjectLiteralExpression): void {
    const body = fn.body!;
    if (r && (depth > 0 || !ts.isBlock(body) || body.statements[body.statements.length - 1] !== r)) {
      return fail(refuse("objectReturnNotLast", r));
    }
    const arrays = new Map<ts.Symbol, string>();
    const once = (p: ts.ObjectLiteralElementLike, symbol: ts.Symbol | undefined) => {
      const first = symbol && arrays.get(symbol);
      if (first) fail(refuse("arrayReturnedTwice", p, { name: symbol!.name, first, second: p.name!.getText() }));
      else if (symbol) arrays.set(symbol, p.name!.getText());
    };
    for (const p of o.properties) {
      if (ts.isShorthandPropertyAssignment(p)) {
        // `{ h }`: the name's symbol is the property's; the variable's is the shorthand's value symbol.
        const decl = checker.getShorthandAssignmentValueSymbol(p)?.valueDeclaration;
        const created =
          decl !== undefined &&
          ts.isVariableDeclaration(decl) &&
          decl.initializer !== undefined &&
          arrayCreation(decl.initializer) !== undefined;
        if (!created) expression(p.name);
        else once(p, checker.getShorthandAssignmentValueSymbol(p));
      } else if (ts.isPropertyAssignment(p) && ts.isIdentifier(p.name)) {
        const v = skipWrappers(p.initializer);
        if (!(ts.isIdentifier(v) && isCreatedArray(v))) expression(p.initializer);
        else once(p, checker.getSymbolAtLocation(v));
      } else fail(refuse("returnedObjectField", p));
    }
  }

  /** for (const v of a): over an array parameter, one element per iteration, to the end. */
  function forOf(s: ts.ForOfStatement): void {
    const init = s.initializer;
    if (s.awaitModifier) return fail(refuse("forAwait", s));
    // for (const [i, v] of xs.entries()): the index and the element.
    const entries = entriesOf(s.expression);
    const array = entries ? skipWrappers(entries) : s.expression;
    if (
      !ts.isIdentifier(array) ||
      !(isLocal(array) || isConstantTable(array, checker)) ||
      !isArrayKind(kindOf(checker.getTypeAtLocation(array), checker))
    ) {
      return fail(refuse("forOfNonArray", s.expression));
    }
    const binding = ts.isVariableDeclarationList(init) && init.declarations.length === 1 && init.declarations[0].name;
    const pair =
      binding &&
      ts.isArrayBindingPattern(binding) &&
      binding.elements.length === 2 &&
      binding.elements.every(
        (el) => ts.isOmittedExpression(el) || (ts.isIdentifier(el.name) && !el.dotDotDotToken && !el.initializer),
      );
    if (!binding || !(entries ? pair : ts.isIdentifier(binding))) return fail(refuse("forOfBinding", init));
    loopBody(s.statement);
  }

  function loopBody(body: ts.Statement): void {
    depth++;
    statement(body);
    depth--;
  }

  function variables(v: ts.VariableStatement): void {
    variableList(v.declarationList, v);
  }

  function variableList(list: ts.VariableDeclarationList, node: ts.Node): void {
    const flags = list.flags;
    for (const d of list.declarations) {
      const part = d.initializer !== undefined && isParamPart(d.initializer);
      if (ts.isArrayBindingPattern(d.name) && d.initializer && isElementSource(d.initializer)) {
        // const [x, y] = p: x = p[0], y = p[1], numbers like any other.
        d.name.elements.forEach((el) => {
          if (ts.isOmittedExpression(el)) return;
          if (el.dotDotDotToken) fail(refuse("destructuringRest", el));
          else if (el.initializer) fail(refuse("destructuringDefault", el));
          else if (!ts.isIdentifier(el.name)) fail(refuse("arrayDestructuring", el.name));
        });
      } else if (part && !(flags & ts.NodeFlags.Const) && !isNumber(d.initializer!)) {
        fail(refuse("letParameterPart", d));
      } else if (part && flags & ts.NodeFlags.Const) {
        // const { W1, b1 } = model, const layer = model.layer: names for read-only fields.
        if (!ts.isIdentifier(d.name)) pattern(d.name, fail);
      } else if (!ts.isIdentifier(d.name)) {
        fail(refuse("destructuring", d.name));
      } else if (d.initializer && arrayCreation(d.initializer)) {
        // const h = new Float64Array(n): at the top level, const, its length any number.
        if (depth > 0 || !(flags & ts.NodeFlags.Const)) {
          fail(refuse("arrayInBranch", d));
        } else if (afterReturn(d)) {
          // The code after an early return runs as a branch (`if (!returned)`), and arrays live at the top level.
          fail(refuse("arrayAfterReturn", d));
        } else expression(arrayCreation(d.initializer)!.length);
      } else if (d.initializer) {
        expression(d.initializer);
      }
    }
  }

  /** An expression statement must be an assignment to a local: `x = e`, `x += e`, `x++`, or a comma list of them. */
  function effect(e: ts.Expression): void {
    e = skipWrappers(e);
    if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.CommaToken) {
      effect(e.left);
      return effect(e.right);
    }
    if (ts.isBinaryExpression(e) && isAssignment(e.operatorToken.kind)) {
      target(e.left);
      return expression(e.right);
    }
    if ((ts.isPrefixUnaryExpression(e) || ts.isPostfixUnaryExpression(e)) && isIncrement(e.operator)) {
      return target(e.operand);
    }
    fail(refuse("sideEffect", e));
  }

  function target(e: ts.Expression): void {
    if (ts.isElementAccessExpression(e)) {
      if (!ts.isIdentifier(e.expression) || !isCreatedArray(e.expression)) {
        return fail(refuse("writeParameterElement", e));
      }
      const op = e.parent && ts.isBinaryExpression(e.parent) ? e.parent.operatorToken.kind : undefined;
      if (op !== undefined && !ELEMENT_WRITES.has(op)) {
        return fail(refuse("elementCompoundWrite", e.parent));
      }
      return expression(e.argumentExpression);
    }
    if (ts.isPropertyAccessExpression(e) && isParamPart(e.expression)) {
      return fail(refuse("writeParameterField", e));
    }
    if (!ts.isIdentifier(e)) {
      return fail(refuse("assignmentTarget", e));
    }
    if (!isLocal(e)) {
      fail(refuse("outerAssignment", e, { name: e.text }));
    }
  }

  function expression(e: ts.Expression): void {
    switch (e.kind) {
      case ts.SyntaxKind.StringLiteral:
      case ts.SyntaxKind.NoSubstitutionTemplateLiteral:
        // kind === "l2", case "l2", helper(x, "l2"): a string compared or passed on; anywhere else it would be computed with.
        if (isComparedString(e)) return;
        return fail(refuse("otherExpression", e, { kind: "a string" }));
      case ts.SyntaxKind.NumericLiteral:
      case ts.SyntaxKind.TrueKeyword:
      case ts.SyntaxKind.FalseKeyword:
        return;
      case ts.SyntaxKind.Identifier:
        return identifier(e as ts.Identifier);
      case ts.SyntaxKind.ParenthesizedExpression:
      case ts.SyntaxKind.AsExpression:
      case ts.SyntaxKind.NonNullExpression:
      case ts.SyntaxKind.SatisfiesExpression:
        return expression((e as ts.ParenthesizedExpression).expression);
      case ts.SyntaxKind.PrefixUnaryExpression: {
        const u = e as ts.PrefixUnaryExpression;
        // `a[i++]`, `x = y = 0`: checked as the statement it is (the stager runs it as one, then reads it;
        // in a condition, one right of `&&` or in a branch of `?:` it refuses).
        if (isIncrement(u.operator)) return effect(u);
        if (u.operator === ts.SyntaxKind.TildeToken) return fail(refuse("bitwise", e));
        return expression(u.operand);
      }
      case ts.SyntaxKind.PostfixUnaryExpression:
        return effect(e as ts.PostfixUnaryExpression);
      case ts.SyntaxKind.BinaryExpression:
        return binaryExpression(e as ts.BinaryExpression);
      case ts.SyntaxKind.ConditionalExpression: {
        const c = e as ts.ConditionalExpression;
        expression(c.condition);
        depth++;
        [c.whenTrue, c.whenFalse].forEach(expression);
        depth--;
        return;
      }
      case ts.SyntaxKind.CallExpression:
        return call(e as ts.CallExpression);
      case ts.SyntaxKind.TypeOfExpression:
        return; // typeof x === "number": a string about any value
      case ts.SyntaxKind.PropertyAccessExpression:
        return property(e as ts.PropertyAccessExpression);
      case ts.SyntaxKind.ElementAccessExpression:
        return element(e as ts.ElementAccessExpression);
      case ts.SyntaxKind.ArrayLiteralExpression:
        return fail(refuse("arrayLiteral", e));
      case ts.SyntaxKind.ObjectLiteralExpression:
        return fail(refuse("objectLiteral", e));
      case ts.SyntaxKind.ArrowFunction:
      case ts.SyntaxKind.FunctionExpression:
        return fail(refuse("closure", e));
      default:
        return fail(refuse("otherExpression", e, { kind: expressionKind(e) }));
    }
  }

  function binaryExpression(b: ts.BinaryExpression): void {
    const op = b.operatorToken.kind;
    if (isAssignment(op)) return effect(b);
    if (BITWISE.has(op)) return fail(refuse("bitwise", b.operatorToken));
    // "1" + x is a string: its number (through `+` or parseFloat) has no derivative.
    if (ARITHMETIC[op] && [b.left, b.right].some((o) => checker.getTypeAtLocation(o).flags & ts.TypeFlags.StringLike))
      return fail(refuse("otherExpression", b, { kind: "arithmetic on a string" }));
    expression(b.left);
    expression(b.right);
  }

  function call(c: ts.CallExpression): void {
    const callee = c.expression;
    // Array.isArray(a), Number.isFinite(x): a boolean about any value, never differentiated.
    if (TYPE_TESTS.includes(callee.getText()) && isGlobalName(callee)) return;
    const lowered = arrayCallback(c);
    if (lowered?.method === "reduce" && isArrayMethod(callee as ts.PropertyAccessExpression))
      return callbackLoop(lowered);
    if (c.arguments.some(ts.isSpreadElement)) {
      // Math.max(...xs): the loop it stands for, over an array parameter or a table of constants.
      const name = mathMember(callee) ?? mathAlias(callee, checker);
      const [arg] = c.arguments;
      const array =
        c.arguments.length === 1 &&
        ts.isSpreadElement(arg) &&
        ts.isIdentifier(arg.expression) &&
        ((isParameter(arg.expression) && isArrayKind(kindOf(checker.getTypeAtLocation(arg.expression), checker))) ||
          isConstantTable(arg.expression, checker));
      const extreme = name === "max" || name === "min" || name === "Math.max" || name === "Math.min";
      if (extreme && array) return;
      // Math.max(...xs.map(f)), Math.min(...Array.from(xs, f)): the loop they stand for.
      const spread = c.arguments.length === 1 && ts.isSpreadElement(arg) ? skipWrappers(arg.expression) : undefined;
      const mapped = spread && ts.isCallExpression(spread) ? arrayCallback(spread) : undefined;
      if (extreme && mapped?.method === "map" && isMapping(spread as ts.CallExpression)) return callbackLoop(mapped);
      return fail(refuse("spreadArgument", c));
    }
    if (ts.isPropertyAccessExpression(callee) && ownCall(callee))
      return callArguments(c, resolveFunction(checker, callee));
    const mathName = mathMember(callee) ?? mathAlias(callee, checker);
    if (
      mathName === undefined &&
      !ts.isIdentifier(callee) &&
      !(ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression))
    ) {
      return fail(refuse("unnamedCall", callee));
    }
    if (mathName === undefined && ts.isPropertyAccessExpression(callee) && !isNamespaceLike(callee.expression)) {
      if (isArrayMethod(callee)) return fail(refuse("arrayMethod", callee, { call: `${callee.getText()}()` }));
      return fail(refuse("methodCall", callee, { call: `${callee.getText()}()` }));
    }
    if (ts.isIdentifier(callee)) identifier(callee);
    if (
      mathName === undefined &&
      surelyCarriesGradient(c) &&
      resolveFunction(checker, callee) === "unmarked" &&
      isUserCode(callee)
    )
      unmarkedCalls.push(refuse("unmarkedCall", c, { call: c.getText() }));
    if (matrixOpOf(callee, checker)) return matrixCall(c);
    callArguments(c, mathName === undefined ? resolveFunction(checker, callee) : undefined);
  }

  /** xs.map(f) of an array, or Array.from(xs, f) of the global Array. */
  function isMapping(c: ts.CallExpression): boolean {
    const callee = skipWrappers(c.expression) as ts.PropertyAccessExpression;
    return callee.name.text === "from" ? isGlobalName(callee) : isArrayMethod(callee);
  }

  /**
   * xs.reduce((acc, v, i) => ..., init), the xs.map((v, i) => ...) of Math.max(...): over an array
   * the function reads, with a callback written in place that the stager inlines in the loop
   * (callbacks.ts): named parameters, no assignment to anything outside it, a `return` only at the
   * end of a block body.
   */
  function callbackLoop(lowered: { method: string; array: ts.Expression; callback: Callback; init?: ts.Expression }) {
    const { method, array, callback, init } = lowered;
    const arr = skipWrappers(array);
    // xs.map(f).reduce(g, 0): one loop, f's value the element g reads.
    const mapped = ts.isCallExpression(arr) ? arrayCallback(arr) : undefined;
    if (mapped?.method === "map" && isMapping(arr as ts.CallExpression)) callbackLoop(mapped);
    const readable =
      (mapped?.method === "map" && isMapping(arr as ts.CallExpression)) ||
      (ts.isIdentifier(arr) &&
        (isLocal(arr) || isConstantTable(arr, checker)) &&
        isArrayKind(kindOf(checker.getTypeAtLocation(arr), checker)));
    const form = (what: string) => fail(refuse("callbackForm", callback, { what }));
    if (!readable)
      return fail(
        refuse("callbackForm", array, {
          what: "goes over something other than an array parameter, table or local array",
        }),
      );
    const named = method === "reduce" ? 3 : 2;
    const params = callback.parameters;
    if (callback.asteriskToken || ts.getCombinedModifierFlags(callback) & ts.ModifierFlags.Async)
      return form("is a generator or async");
    if (params.length > named) return form(`takes ${params.length} parameters (the array itself is not passed)`);
    if (params.some((p) => !ts.isIdentifier(p.name) || p.dotDotDotToken || p.initializer))
      return form("has a parameter that is not a plain name");
    const outside = (n: ts.Node): void => {
      if (isChange(n)) {
        let target = skipWrappers(ts.isBinaryExpression(n) ? n.left : (n as ts.PrefixUnaryExpression).operand);
        while (ts.isElementAccessExpression(target) || ts.isPropertyAccessExpression(target))
          target = skipWrappers(target.expression);
        const decl = ts.isIdentifier(target) ? checker.getSymbolAtLocation(target)?.valueDeclaration : undefined;
        if (ts.isIdentifier(target) && !(decl && within(decl, callback)))
          fail(refuse("callbackAssignsOutside", n, { name: target.text }));
      }
      ts.forEachChild(n, outside);
    };
    outside(callback.body);
    depth++;
    if (ts.isBlock(callback.body)) {
      const statements = callback.body.statements;
      const last = statements[statements.length - 1];
      const early = (n: ts.Node): boolean =>
        !ts.isFunctionLike(n) && (ts.isReturnStatement(n) || ts.forEachChild(n, early) === true);
      if (!last || !ts.isReturnStatement(last) || !last.expression) form("has no `return` of a value at its end");
      else if (statements.slice(0, -1).some(early)) form("returns before its end");
      else {
        statements.slice(0, -1).forEach(statement);
        expression(last.expression);
      }
    } else expression(callback.body);
    depth--;
    if (init) expression(init);
  }

  function callArguments(c: ts.CallExpression, target: ReturnType<typeof resolveFunction>): void {
    c.arguments.forEach((a, i) => {
      if (!(target && target !== "unmarked" && arrayArgument(c, target, a, i))) expression(a);
    });
  }

  /**
   * mean(x), dot(a, w): an array passed whole to a @differentiable function of this module, whose
   * backward pass adds into the caller's gradient of it. An array parameter, a table of constants,
   * or an array the function made and no longer changes. True when `a` is such an array (accepted
   * or refused here); false leaves `a` to expression().
   */
  function arrayArgument(c: ts.CallExpression, target: Differentiable, a: ts.Expression, i: number): boolean {
    const arg = skipWrappers(a);
    if (!ts.isIdentifier(arg)) return false;
    const callee = target.fn;
    const param = callee.parameters[i];
    const kind = kindOf(checker.getTypeAtLocation(arg), checker);
    const created = isCreatedArray(arg);
    const rest = callee.parameters.some((p) => p.dotDotDotToken);
    if (!param || rest || !(isArrayKind(kind) || created)) return false;
    if (!isArrayKind(kindOf(parameterType(param, checker), checker))) return false;
    const names = { name: arg.text, callee: c.expression.getText() };
    if (callee.getSourceFile() !== fn.getSourceFile())
      return (fail(refuse("arrayArgumentElsewhere", arg, names)), true);
    if (target.place === "method" || target.place === "closure")
      return (fail(refuse("arrayArgumentMethod", arg, names)), true);
    if (isConstantTable(arg, checker) || (isParameter(arg) && isArrayKind(kind))) return true;
    if (!created) return false;
    if (changedLater(arg, c)) fail(refuse("arrayArgumentChanged", arg, names));
    return true;
  }

  /** Is an element of the array `id` written after `call`, or in a loop around it (the next iteration's call sees it)? */
  function changedLater(id: ts.Identifier, call: ts.CallExpression): boolean {
    const symbol = checker.getSymbolAtLocation(id);
    const loops: ts.Node[] = [];
    for (let n: ts.Node = call.parent; n && n !== fn; n = n.parent)
      if (ts.isIterationStatement(n, false)) loops.push(n);
    const writes = (n: ts.Node): boolean => {
      if (isChange(n)) {
        const target = skipWrappers(ts.isBinaryExpression(n) ? n.left : n.operand);
        const array = ts.isElementAccessExpression(target) ? skipWrappers(target.expression) : undefined;
        if (array && checker.getSymbolAtLocation(array) === symbol) {
          if (n.pos >= call.end || loops.some((loop) => within(n, loop))) return true;
        }
      }
      return ts.forEachChild(n, (child) => (writes(child) ? true : undefined)) ?? false;
    };
    return fn.body !== undefined && writes(fn.body);
  }

  /** matmul(X, W1): matrices, vectors and labels go in by name; numbers as any expression. */
  function matrixCall(c: ts.CallExpression): void {
    if (depth > 0) return fail(refuse("matrixOpInBranch", c));
    for (const arg of c.arguments) {
      const named = ts.isIdentifier(arg) || (ts.isPropertyAccessExpression(arg) && isParamPart(arg));
      if (!(named && isBufferKind(kindOf(checker.getTypeAtLocation(arg), checker)))) expression(arg);
    }
  }

  /** a[i]: an element of an array parameter, at an index computed from numbers. */
  function element(e: ts.ElementAccessExpression): void {
    // LANCZOS[i]: an element of a module-level table of constants (ir/tables.ts).
    if (ts.isIdentifier(e.expression) && isConstantTable(e.expression, checker))
      return expression(e.argumentExpression);
    if (
      ts.isIdentifier(e.expression) &&
      !isLocal(e.expression) &&
      isArrayKind(kindOf(checker.getTypeAtLocation(e.expression), checker))
    )
      return fail(refuse("changingTable", e.expression, { name: e.expression.text }));
    if (ts.isIdentifier(e.expression) && isCreatedArray(e.expression)) return expression(e.argumentExpression);
    // model.W[i] (or W[i] after `const { W } = model`): an element of an array field of a parameter.
    const fieldKind = isParamPart(e.expression) ? kindOf(checker.getTypeAtLocation(e.expression), checker) : undefined;
    if (isArrayKind(fieldKind) || fieldKind === "Int32Array") return expression(e.argumentExpression);
    // y[i] of an Int32Array parameter: integer data (a class label), used as an index or a constant.
    if (
      ts.isIdentifier(e.expression) &&
      isParameter(e.expression) &&
      kindOf(checker.getTypeAtLocation(e.expression), checker) === "Int32Array"
    )
      return expression(e.argumentExpression);
    if (
      !ts.isIdentifier(e.expression) ||
      !isLocal(e.expression) ||
      !isArrayKind(kindOf(checker.getTypeAtLocation(e.expression), checker))
    ) {
      return fail(refuse("elementOfNonArray", e));
    }
    if (!isParameter(e.expression) && !isCreatedArray(e.expression) && !isParamPart(e.expression)) {
      return fail(refuse("elementOfUntracked", e));
    }
    expression(e.argumentExpression);
  }

  function property(p: ts.PropertyAccessExpression): void {
    if (mathMember(p) !== undefined || isGlobalConstant(p, checker)) return;
    if (p.name.text === "length" && ts.isIdentifier(p.expression) && isConstantTable(p.expression, checker)) return;
    if (isParamPart(p.expression)) return field(p);
    const kind = ts.isIdentifier(p.expression) ? kindOf(checker.getTypeAtLocation(p.expression), checker) : undefined;
    if (
      p.name.text === "length" &&
      ts.isIdentifier(p.expression) &&
      isLocal(p.expression) &&
      (isArrayKind(kind) || kind === "Int32Array" || isCreatedArray(p.expression))
    )
      return;
    if (p.expression.kind === ts.SyntaxKind.ThisKeyword) return thisRead(p); // this.k: a constant of the instance
    // opts.k of a captured object, vec.k in a member of vec: read once per call, like this.k.
    const owned = ownedField(p, fn, checker);
    if (owned === "captured") return void captured(p.expression as ts.Identifier);
    if (owned === "holder") return;
    const t = checker.getTypeAtLocation(p);
    // An enum member or a const field: a number, or a string compared with a data parameter (`kind === Norm.L2`).
    if (ts.isIdentifier(p.expression) && t.flags & (ts.TypeFlags.NumberLiteral | ts.TypeFlags.StringLiteral)) return;
    fail(refuse("propertyRead", p, { read: p.getText() }));
  }

  /** model.reg, model.W.length: a number field of an object parameter, or an array field's length. */
  function field(p: ts.PropertyAccessExpression): void {
    // p.speed, a getter of p's class (or a method, a field holding a function): behaviour, not data.
    const member = checker.getSymbolAtLocation(p)?.valueDeclaration;
    if (member && isBehaviour(member, checker))
      return fail(refuse("classBehaviourRead", p, { name: p.name.text, object: p.expression.getText() }));
    const kind = kindOf(checker.getTypeAtLocation(p), checker);
    const of = kindOf(checker.getTypeAtLocation(p.expression), checker);
    if (p.name.text === "length" && (isArrayKind(of) || of === "Int32Array")) return;
    // M.rows, model.W.cols: a matrix's shape, a number like an array's length.
    if ((p.name.text === "rows" || p.name.text === "cols") && of === "Matrix") return;
    if (of === "Matrix") return fail(refuse("matrixMember", p, { member: p.name.text }));
    // A number, or data (a mode, a flag) the function branches on.
    if (kind === "number" || kind === "data") return;
    if (kind === "Matrix" || kind === "Int32Array" || isArrayKind(kind)) {
      return fail(refuse("bufferField", p, { field: p.getText() }));
    }
    fail(refuse("objectPassed", p, { object: p.getText(), field: firstField(p) ?? "x" }));
  }

  function firstField(e: ts.Expression): string | undefined {
    const tree = typeTree(checker.getTypeAtLocation(e), checker);
    return Array.isArray(tree) ? tree[0].key : undefined;
  }

  function identifier(id: ts.Identifier): void {
    if (!isCallee(id) && isParamPart(id) && Array.isArray(typeTree(checker.getTypeAtLocation(id), checker))) {
      return fail(refuse("objectPassed", id, { object: id.text, field: `${firstField(id)}` }));
    }
    const kind = kindOf(checker.getTypeAtLocation(id), checker);
    if ((kind === "Matrix" || kind === "Int32Array") && !isCallee(id)) {
      return fail(refuse("matrixPassed", id, { name: id.text }));
    }
    if ((isArrayKind(kind) || isCreatedArray(id)) && !isCallee(id)) {
      return fail(refuse("arrayPassed", id, { name: id.text }));
    }
    const symbol = checker.getSymbolAtLocation(id);
    const decl = symbol?.valueDeclaration;
    if (!decl || isLocal(id) || isGlobalConstant(id, checker) || captured(id)) return;
    if (ts.isVariableDeclaration(decl) && !(ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const)) {
      fail(refuse("mutableCapture", id, { name: id.text }));
    }
  }

  /**
   * `this.m(x)` in a method (of a class or an object literal), `vec.dot(a, b)` of an object
   * literal's member (`this.dot(a, b)` inside it): calls of functions tsgrad can name. A method
   * called on another value (`p.norm()`) is not one of them.
   */
  function ownCall(callee: ts.PropertyAccessExpression): boolean {
    let symbol = checker.getSymbolAtLocation(callee);
    if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
    const decl = symbol?.valueDeclaration;
    const target = resolveFunction(checker, callee);
    if (callee.expression.kind === ts.SyntaxKind.ThisKeyword) {
      if (!thisIsItsOwner()) fail(refuse("thisOutsideMethod", callee.expression));
      return target !== undefined;
    }
    const ofLiteral = decl !== undefined && ts.isObjectLiteralExpression(decl.parent);
    return ofLiteral && target !== undefined;
  }

  /** `this.k` (or `this.m(x)`): in a method, where `this` is the instance, the class or the object literal. */
  function thisRead(p: ts.PropertyAccessExpression): void {
    if (!thisIsItsOwner()) fail(refuse("thisOutsideMethod", p.expression));
  }

  /** A method of a class or an object literal, or a `function` expression a literal's member holds: `this` is their owner. */
  function thisIsItsOwner(): boolean {
    if (ts.isMethodDeclaration(fn)) return true;
    return (
      ts.isFunctionExpression(fn) &&
      ts.isPropertyAssignment(fn.parent) &&
      ts.isObjectLiteralExpression(fn.parent.parent)
    );
  }

  /**
   * `k` of an enclosing function, read by a closure: a constant of the call (ir/captures.ts),
   * unless a function nested there assigns it, which could run while this one does.
   */
  function captured(id: ts.Identifier): boolean {
    const decl = capturedDeclaration(id, fn, checker);
    if (!decl) return false;
    const assigned = assignedInNestedFunction(decl, checker);
    if (assigned) fail(refuse("capturedAssignedInside", id, { name: id.text, at: shortPosition(assigned) }));
    // A closure's gradients go before the statement creating it, where what that statement declares is not yet in scope.
    const place = closurePlace(fn);
    if (asDifferentiable(fn)?.place === "closure" && place && !ts.isArrowFunction(place) && contains(place, decl))
      fail(refuse("captureOfItsStatement", id, { name: id.text }));
    return true;
  }

  function contains(ancestor: ts.Node, node: ts.Node): boolean {
    for (let n: ts.Node | undefined = node; n; n = n.parent) if (n === ancestor) return true;
    return false;
  }

  /**
   * `return helper(x) * 2`, `s += helper(x)`: a call whose result is computed with or returned,
   * an argument naming a parameter. (activity.ts decides exactly, on functions the fence passes.)
   */
  function surelyCarriesGradient(c: ts.CallExpression): boolean {
    let at: ts.Node = c;
    while (ts.isParenthesizedExpression(at.parent)) at = at.parent;
    const p = at.parent;
    const used =
      ts.isReturnStatement(p) ||
      (ts.isBinaryExpression(p) &&
        (ARITHMETIC[p.operatorToken.kind] !== undefined || COMPOUND[p.operatorToken.kind] !== undefined)) ||
      (ts.isPrefixUnaryExpression(p) && p.operator === ts.SyntaxKind.MinusToken);
    const namesParameter = (n: ts.Node): boolean =>
      (ts.isIdentifier(n) && isParameter(n)) || (ts.forEachChild(n, namesParameter) ?? false);
    return used && c.arguments.some(namesParameter);
  }

  /** An array whose elements can be read by index: a parameter's (or a field's), or a table of constants. */
  function isElementSource(e: ts.Expression): boolean {
    const x = skipWrappers(e);
    if (ts.isIdentifier(x) && isConstantTable(x, checker)) return true;
    return isParamPart(x) && isArrayKind(kindOf(checker.getTypeAtLocation(x), checker));
  }

  /** A function of the user's program, not of a library's declarations (`Math.exp`, `parseFloat`). */
  function isUserCode(callee: ts.Expression): boolean {
    const symbol = checker.getSymbolAtLocation(callee);
    const target = symbol && symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    return (target?.declarations ?? []).some((d) => !d.getSourceFile().isDeclarationFile);
  }

  /** `xs.reduce`, `xs.map`: a method of an array (or typed array). */
  function isArrayMethod(callee: ts.PropertyAccessExpression): boolean {
    const t = checker.getTypeAtLocation(callee.expression);
    const kind = kindOf(t, checker);
    return isArrayKind(kind) || checker.isArrayType(t) || checker.isTupleType(t) || kind === "Int32Array";
  }

  /** `isNaN`, `Number.isFinite`: the global the name says, not a local or an import of that name. */
  function isGlobalName(callee: ts.Expression): boolean {
    const head = ts.isPropertyAccessExpression(callee) ? callee.expression : callee;
    const declarations = checker.getSymbolAtLocation(head)?.declarations ?? [];
    return declarations.length > 0 && declarations.every((d) => d.getSourceFile().isDeclarationFile);
  }

  /** Does a `return` come before node's top-level statement (inside an earlier `if` or loop)? */
  function afterReturn(node: ts.Node): boolean {
    if (!fn.body || !ts.isBlock(fn.body)) return false;
    let top: ts.Node = node;
    while (top.parent && top.parent !== fn.body) top = top.parent;
    const index = fn.body.statements.indexOf(top as ts.Statement);
    const hasReturn = (n: ts.Node): boolean => ts.isReturnStatement(n) || ts.forEachChild(n, hasReturn) === true;
    return fn.body.statements.slice(0, Math.max(index, 0)).some(hasReturn);
  }

  /** `h` declared in fn as `const h = new Float64Array(n)` (or `new Array(n).fill(0)`). */
  function isCreatedArray(id: ts.Identifier): boolean {
    const decl = checker.getSymbolAtLocation(id)?.valueDeclaration;
    return (
      decl !== undefined &&
      isLocal(id) &&
      ts.isVariableDeclaration(decl) &&
      decl.initializer !== undefined &&
      arrayCreation(decl.initializer) !== undefined
    );
  }

  /**
   * Read-only data of a parameter: the parameter, a field of an object parameter (`model.layer.W`),
   * or a const naming one (`const { W } = model`, `const layer = model.layer`, `({ W }: Model)`).
   */
  function isParamPart(e: ts.Expression): boolean {
    const x = skipWrappers(e);
    if (ts.isPropertyAccessExpression(x))
      return Array.isArray(typeTree(checker.getTypeAtLocation(x.expression), checker)) && isParamPart(x.expression);
    if (!ts.isIdentifier(x)) return false;
    if (isParameter(x)) return true;
    let decl: ts.Node | undefined = checker.getSymbolAtLocation(x)?.valueDeclaration;
    if (!decl || !isLocal(x)) return false;
    while (ts.isBindingElement(decl)) decl = decl.parent.parent; // { W } → the declaration it destructures
    if (ts.isParameter(decl)) return decl.parent === fn;
    return (
      ts.isVariableDeclaration(decl) &&
      (ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const) !== 0 &&
      decl.initializer !== undefined &&
      isParamPart(decl.initializer)
    );
  }

  function isParameter(id: ts.Identifier): boolean {
    const decl = checker.getSymbolAtLocation(id)?.valueDeclaration;
    return decl !== undefined && ts.isParameter(decl) && decl.parent === fn;
  }

  function isCallee(id: ts.Identifier): boolean {
    return ts.isCallExpression(id.parent) && id.parent.expression === id;
  }

  /** `M` in `M.f(x)`: a namespace import, a module, a class or an enum, not a value. */
  function isNamespaceLike(e: ts.Expression): boolean {
    let symbol = checker.getSymbolAtLocation(e);
    if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
    return (
      symbol !== undefined &&
      (symbol.flags & (ts.SymbolFlags.Module | ts.SymbolFlags.Class | ts.SymbolFlags.Enum)) !== 0
    );
  }

  /** Declared inside fn (a parameter or a local)? */
  function isLocal(id: ts.Identifier): boolean {
    const decl = checker.getSymbolAtLocation(id)?.valueDeclaration;
    if (!decl) return false;
    for (let n: ts.Node | undefined = decl.parent; n; n = n.parent) if (n === fn) return true;
    return false;
  }

  /** number, a number literal, a union with them (`x && 1` is `0 | 1`), or any: it may carry a number. */
  function isNumber(e: ts.Expression): boolean {
    const t = checker.getTypeAtLocation(e);
    if (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return true;
    const parts = t.isUnion() ? t.types : [t];
    return parts.some((p) => (p.flags & ts.TypeFlags.NumberLike) !== 0);
  }
}

/** `var` where a `let` would do (see ir/scopes.ts); a use outside its block is refused there. */
function varsLikeLet(body: ts.Node, checker: ts.TypeChecker, fail: (error: DiffError) => void): void {
  for (const [symbol, declarations] of varDeclarations(body, checker)) {
    const again = varRedeclaration(symbol, declarations);
    if (again) {
      fail(refuse("varRedeclared", again, { name: symbol.name }));
      continue;
    }
    const use = varUseOutsideScope(body, symbol, declarations, checker);
    if (use) fail(refuse("varOutsideBlock", use, { name: use.text }));
  }
}

/**
 * A parameter whose type tsgrad refuses is reported once, at the parameter, not again at each use:
 *   (m: Map<string, number>) => m.get("a") * 2   → one error, at `m: Map<string, number>`
 */
function oneErrorPerCause(errors: DiffError[], checker: ts.TypeChecker): DiffError[] {
  const refused = new Set<ts.Symbol>();
  for (const e of errors)
    if (e.code === LANGUAGE.parameterType.code && ts.isParameter(e.node) && ts.isIdentifier(e.node.name)) {
      const symbol = checker.getSymbolAtLocation(e.node.name);
      if (symbol) refused.add(symbol);
    }
  if (!refused.size) return errors;
  const mentions = (n: ts.Node): boolean =>
    (ts.isIdentifier(n) && refused.has(checker.getSymbolAtLocation(n)!)) || (ts.forEachChild(n, mentions) ?? false);
  return errors.filter((e) => ts.isParameter(e.node) || !mentions(e.node));
}

/** `"l2"` in `kind === "l2"` or `case "l2":`. */
function isComparedString(e: ts.Expression): boolean {
  let p = e.parent;
  while (ts.isParenthesizedExpression(p)) p = p.parent;
  if (ts.isCaseClause(p)) return true;
  // helper(x, "l2"): a mode passed on to a function (a data parameter there).
  if (ts.isCallExpression(p) && p.arguments.some((a) => a === e)) return true;
  const k = ts.isBinaryExpression(p) ? p.operatorToken.kind : undefined;
  return (
    k === ts.SyntaxKind.EqualsEqualsEqualsToken ||
    k === ts.SyntaxKind.ExclamationEqualsEqualsToken ||
    k === ts.SyntaxKind.EqualsEqualsToken ||
    k === ts.SyntaxKind.ExclamationEqualsToken
  );
}

/** `const Math = ...`, `const { m: Float64Array } = p`, `(Array: number)`: refused at the name. */
function hiddenGlobals(fn: FunctionNode, fail: (error: DiffError) => void): void {
  const visit = (n: ts.Node): void => {
    const name =
      (ts.isVariableDeclaration(n) || ts.isBindingElement(n) || ts.isParameter(n)) && ts.isIdentifier(n.name)
        ? n.name
        : undefined;
    if (name && GENERATED_GLOBALS.has(name.text)) {
      fail(refuse("hiddenGlobal", name, { name: name.text }));
    }
    ts.forEachChild(n, visit);
  };
  visit(fn);
}

function checkSignature(fn: FunctionNode, checker: ts.TypeChecker, fail: (error: DiffError) => void): void {
  if (fn.asteriskToken) fail(refuse("generator", fn));
  if ((ts.getModifiers(fn) ?? []).some((m) => m.kind === ts.SyntaxKind.AsyncKeyword)) {
    fail(refuse("asyncFunction", fn));
  }
  for (const p of fn.parameters) {
    // `scale?: number` and `a = 2` are taken as their type without `undefined`.
    const tree = typeTree(parameterType(p, checker), checker);
    if (ts.isIdentifier(p.name) && p.name.text === "this") fail(refuse("thisParameter", p));
    else if (p.dotDotDotToken) fail(refuse("restParameter", p));
    else if (!Array.isArray(tree) && typeof tree === "object") {
      fail(
        refuse("parameterType", p, {
          name: p.name.getText(),
          type: p.type?.getText() ?? checker.typeToString(checker.getTypeAtLocation(p)),
          why: tree.error,
        }),
      );
    } else if (p.initializer && readsParameter(p.initializer, fn, checker)) {
      // b = a * 3: the gradient would treat b as independent of a where the call left b out.
      const read = readsParameter(p.initializer, fn, checker)!;
      fail(
        refuse("defaultReadsParameter", p.initializer, {
          name: p.name.getText(),
          read,
          initializer: p.initializer.getText(),
        }),
      );
    } else if (p.questionToken && !p.initializer && tree !== "number" && !isDataKind(tree as ValueKind)) {
      // An optional array, matrix or object: its gradient is sized from it, which may be missing.
      fail(
        refuse("optionalParameter", p, {
          name: p.name.getText(),
          type: p.type?.getText() ?? checker.typeToString(parameterType(p, checker)),
        }),
      );
    } else if (!ts.isIdentifier(p.name)) {
      if (!Array.isArray(tree)) fail(refuse("destructuredNonObject", p));
      else pattern(p.name, fail);
    }
  }
  const signature = checker.getSignatureFromDeclaration(fn);
  const ret = signature && checker.getReturnTypeOfSignature(signature);
  const kind = ret && kindOf(ret, checker);
  const fields = ret && !kind ? typeTree(ret, checker) : undefined;
  const flat =
    Array.isArray(fields) &&
    fields.every((f) => f.tree === "number" || f.tree === "Float64Array" || f.tree === "number[]");
  if (ret && !(ret.flags & ts.TypeFlags.NumberLike) && kind !== "Float64Array" && kind !== "number[]" && !flat) {
    fail(refuse("returnType", fn.type ?? fn.name ?? fn, { type: checker.typeToString(ret) }));
  }
}

/** The name of a parameter of fn that `e` (a default) reads, if any: `a * 3` → "a". */
function readsParameter(e: ts.Expression, fn: FunctionNode, checker: ts.TypeChecker): string | undefined {
  let found: string | undefined;
  const visit = (n: ts.Node): void => {
    if (found) return;
    if (ts.isIdentifier(n)) {
      let decl: ts.Node | undefined = checker.getSymbolAtLocation(n)?.valueDeclaration;
      while (decl && ts.isBindingElement(decl)) decl = decl.parent.parent;
      if (decl && ts.isParameter(decl) && decl.parent === fn) found = n.text;
    }
    ts.forEachChild(n, visit);
  };
  visit(e);
  return found;
}

/** `{ W, layer: { b } }`: field names only, no rest, defaults or computed keys (every field is required data). */
function pattern(name: ts.BindingName, fail: (error: DiffError) => void): void {
  if (!ts.isObjectBindingPattern(name)) return fail(refuse("arrayDestructuring", name));
  for (const el of name.elements) {
    if (el.dotDotDotToken) fail(refuse("destructuringRest", el));
    else if (el.initializer) fail(refuse("destructuringDefault", el));
    else if (el.propertyName && !ts.isIdentifier(el.propertyName)) fail(refuse("destructuringComputedKey", el));
    else if (!ts.isIdentifier(el.name)) pattern(el.name, fail);
  }
}

function mathMember(e: ts.Expression): string | undefined {
  return ts.isPropertyAccessExpression(e) && ts.isIdentifier(e.expression) && e.expression.text === "Math"
    ? e.name.text
    : undefined;
}

function firstWord(s: ts.Node): string {
  return s.getText().split(/[\s(]/)[0];
}
