// Lowers a fenced @differentiable function to staged form (see ir.ts): one operation per
// statement, every intermediate named, every assignment a new name.
//
//   const den = sigx + xpy ** 2;     →   const xpy_sq = xpy ** 2;  const den = sigx + xpy_sq;
//   x = x * 2;                       →   const x_1 = x * 2;
//   if (c) y = a; else y = b;        →   let y_1; if (c) { y_1 = a; } else { y_1 = b; }
//   if (c) return a; rest; return b  →   if (c) { f = a; } else { rest; f = b; }
//   1 / (1 + Math.exp(-x))           →   one "sigmoid" operation, so its derivative is (1 - s) * s
//   for (...) x = x * a;             →   for (...) { const x_1 = x * a; x = x_1; }   (x: the loop's header)
//   g(x), g in this one's recursion  →   const g_1_call = g_forward(x);  const g_1 = g_1_call.value;
//                                        (the backward pass hands g_1_call.cache to g_backward)
//
// Branch joins assign one shared name in each branch (a phi written as assignments), early returns
// move the rest of the block into the other branch, and values no gradient flows through
// (comparisons, Math.floor, calls of unmarked functions) become single opaque operations.

import ts from "typescript";
import { callsBack, localName, resolveFunction, type Differentiable, type FunctionNode } from "./annotations.js";
import { ARITHMETIC, COMPOUND, LOGICAL, refuse } from "../ir/language.js";
import {
  type Counter,
  type Def,
  type Expr,
  type Output,
  type Param,
  type ParamTree,
  type Stmt,
  type StagedFunction,
  type Op,
  forEachDef,
  isDataKind,
  forwardReads,
  instantiate,
  leavesOf,
  num,
  ref,
  refsOf,
  scalarOp,
  substitute,
} from "../ir/ir.js";
import {
  type TypeTree,
  arrayCreation,
  assignedIdentifier,
  containsChange,
  exprFromTs,
  isChange,
  isLength,
  isUpdate,
  kindOf,
  mathAlias,
  parameterType,
  skipWrappers,
  typeTree,
} from "../ir/syntax.js";
import { GENERATED_GLOBALS, Namer, generatedNames, tempName } from "../ir/naming.js";
import { counterEscapes } from "../ir/scopes.js";
import { isConstantTable } from "../ir/tables.js";
import { capturedDeclaration, ownedField } from "../ir/captures.js";
import { boolOf, negate, simplify } from "../ir/simplify.js";
import {
  type ScalarOp,
  constantSources,
  gradientTemplates,
  isScalarOp,
  piecewiseConstant,
  scalarRules,
} from "../../runtime/rules/scalar.js";
import { type Template, namesOf, template } from "../../runtime/rules/template.js";
import type { MatrixOpName } from "../../runtime/ops/index.js";

export interface StageContext {
  checker: ts.TypeChecker;
  namer: Namer;
  /** The expression naming the generated gradient of a differentiable callee: `g` → `g_grad`. */
  gradOf(callee: Differentiable, call: ts.CallExpression): Expr;
  /** The expression naming the user's derivative of the callee, if there is one: `softplus` → `softplusDerivative`. */
  derivativeOf(call: ts.CallExpression): Expr | undefined;
  /** Is this callee the runtime's `stopGradient`? */
  isStopGradient(callee: ts.Expression): boolean;
  /** The runtime's matrix op this callee names (`matmul`), if it is one. */
  matrixOp(callee: ts.Expression): MatrixOpName | undefined;
  /** What `this` is in the generated functions of an object literal's member: the object, `vec`. */
  self?: string;
}

/** Where a staged value goes: a fresh const (the default), a named const, or a join variable. */
interface Want {
  name: string;
  assign: boolean;
  note?: string;
}

export function stage(d: Differentiable, ctx: StageContext): StagedFunction {
  return new Stager(d.fn, ctx).run(localName(d));
}

class Stager {
  private body: Stmt[] = [];
  private env = new Map<ts.Symbol, string | undefined>();
  private readonly declared = new Set<string>();
  private calleeGradients = new Set<string>();
  private result = "";
  /** The fields of a returned object literal (`return { loss, h }`), set at that return. */
  private outputs?: Output[];
  private resultIsJoin = false;
  /** Set once a return sits under a flag: TypeScript cannot see the result is always assigned. */
  private guarded = false;
  /** What ends the statement list being staged: `return` in the function, break/continue in a loop. */
  private scope: ExitScope = FUNCTION_SCOPE;
  /** The bodies enclosing the one being staged (branches and loops), for "is this name read yet?". */
  private readonly outer: Stmt[][] = [];
  private loopDepth = 0;
  /** Tests of the branches and loops being staged: read, though not yet in any body. */
  private readonly pendingTests: Expr[] = [];
  /** Counters of the counting loops being staged: integers, fixed while an inner loop runs. */
  private readonly counters = new Set<string>();
  /** The indexes of for...of loops with a break, variables tsgrad makes (not booleans, unlike flags). */
  private readonly indexes = new Set<ts.Symbol>();
  /** Arrays the function creates (`const h = new Float64Array(n)`): their elements change. */
  private readonly localArrays = new Set<string>();
  /** Object parameters and the consts naming an object inside one (`const layer = model.layer`). */
  private readonly objects = new Map<ts.Symbol, ParamTree>();
  /** Consts that name part of an object parameter (`const { W } = model`): no statement of their own. */
  private readonly aliases = new Set<ts.Symbol>();
  /** The enclosing function's parameters and locals the function reads (a closure's captured values). */
  private readonly captured = new Set<string>();
  /** `this.scale` (and `opts.scale`, thisField) → the local reading it once at the top, and those reads. */
  private readonly thisFields = new Map<string, string>();
  private readonly fieldReads: Stmt[] = [];

  constructor(
    private readonly fn: FunctionNode,
    private readonly ctx: StageContext,
  ) {}

  run(fnName: string): StagedFunction {
    const { namer } = this.ctx;
    this.calleeGradients = calleeGradientNames(this.fn, this.ctx.checker);
    this.findCaptures();
    const signature = this.parameters();
    const params = signature.flatMap((p) => leavesOf(p.tree).map((l) => l.name));
    // Locals declared later go around every name the generated functions bind at their top.
    [...params, ...signature.map((p) => p.name)].forEach((name) => this.declared.add(name));
    this.result = namer.fresh(fnName);
    const body = this.fn.body!;
    if (!ts.isBlock(body) && ts.isObjectLiteralExpression(skipWrappers(body))) {
      this.objectResult(skipWrappers(body) as ts.ObjectLiteralExpression); // (x) => ({ a, b })
    } else if (!ts.isBlock(body)) {
      this.value(body, { name: this.result, assign: false });
    } else {
      this.resultIsJoin = hasNestedReturn(body);
      if (this.resultIsJoin) this.body.push({ k: "let", name: this.result });
      this.list(body.statements);
    }
    if (this.guarded) this.body.forEach((st) => st.k === "let" && st.name === this.result && (st.hoisted = true));
    // A value computed from a local array's element (a test, Math.floor(h[j])) is saved, not
    // recomputed, unless the array is final by then (written only by statements before).
    const changing = new Set([...this.localArrays].filter((a) => !finalWhenRead(this.body, a)));
    forEachDef(this.body, (d) => [...refsOf(d.value)].some((n) => changing.has(n)) && (d.snapshot = true));
    const data = signature.flatMap((p) =>
      leavesOf(p.tree)
        .filter((l) => isDataKind(l.kind))
        .map((l) => l.name),
    );
    const returned = this.localArrays.has(this.result)
      ? this.body.find((st) => st.k === "array" && st.name === this.result)
      : undefined;
    const resultKind = this.outputs ? "object" : returned?.k === "array" ? returned.kind : undefined;
    return {
      name: fnName,
      params,
      signature,
      data,
      body: foldConstantBranches(hoistBranchValues([...this.fieldReads, ...this.body])),
      result: this.result,
      resultKind,
      outputs: this.outputs,
      ...(this.captured.size ? { captured: [...this.captured] } : {}),
    };
  }

  /**
   * return { loss: a + b, h }: each number field staged into a value of its own (named after its
   * key), each array field the array the function made. The fence allows it only at the end.
   */
  private objectResult(e: ts.ObjectLiteralExpression): void {
    this.outputs = e.properties.map((p): Output => {
      const key = (p.name as ts.Identifier).text;
      // `{ h }`: the variable h is the shorthand's value symbol (the name's own symbol is the property).
      const symbol = ts.isShorthandPropertyAssignment(p)
        ? this.ctx.checker.getShorthandAssignmentValueSymbol(p)
        : undefined;
      const current = symbol ? this.env.get(symbol) : undefined;
      const value = (p as ts.PropertyAssignment).initializer;
      const array =
        current ??
        (this.isLocalArray(value) ? (this.current(value as ts.Identifier) as { name: string }).name : undefined);
      const decl = array !== undefined ? this.body.find((st) => st.k === "array" && st.name === array) : undefined;
      if (decl?.k === "array") return { key, name: decl.name, kind: decl.kind };
      const name = this.ctx.namer.fresh(key);
      if (symbol && current !== undefined)
        this.emit({ name, assign: false }, ref(current), scalarOp("copy"), [ref(current)], p);
      else if (symbol)
        this.emit({ name, assign: false }, this.nonLocal(p.name as ts.Identifier), null, [], p); // a constant
      else this.value(value, { name, assign: false });
      return { key, name, kind: "number" };
    });
  }

  /**
   * The parameters as declared, each object's fields named as staged parameters (leaves):
   *   (x: number, model: Model)   →  x, and model with leaves W, reg   (read as model.W, model.reg)
   *   ({ W, reg }: Model)         →  model with leaves W, reg          (a name for the generated code)
   * A field is named after the user's const for it (`const { W1 } = model` → W1), else its key
   * where nothing else in the function has that name, else its path (`model_layer_W`). Every
   * const naming part of an object is bound here once (they never change).
   */
  private parameters(): Param[] {
    const { namer, checker } = this.ctx;
    this.fn.parameters.forEach((p) => ts.isIdentifier(p.name) && namer.claim(p.name.text));
    for (const local of declaredNames(this.fn)) namer.claim(local);
    const paths = objectPaths(this.fn, checker);
    const aliasOf = new Map<string, string>();
    for (const [symbol, at] of paths)
      if (at.keys.length && !aliasOf.has(pathKey(at))) aliasOf.set(pathKey(at), symbol.name);
    // Leaves are unpacked at the top of the generated functions, beside the parameters: an alias
    // declared in an inner scope may not take a parameter's name there, nor two leaves one name.
    const leafNames = new Set<string>();
    const paramNames = new Set(this.fn.parameters.flatMap((p) => (ts.isIdentifier(p.name) ? [p.name.text] : [])));
    const free = (name: string) =>
      !leafNames.has(name) && !paramNames.has(name) && !this.calleeGradients.has(name) && !RESERVED.has(name);
    const nameLeaf = (param: number, prefix: string, keys: string[]): string => {
      const alias = aliasOf.get(pathKey({ param, keys }));
      const key = keys[keys.length - 1];
      const name =
        alias !== undefined && free(alias)
          ? namer.claim(alias)
          : key !== undefined && free(key) && !namer.has(key)
            ? namer.claim(key)
            : namer.fresh([prefix, ...keys].join("_"));
      leafNames.add(name);
      return name;
    };
    const build = (t: TypeTree, param: number, prefix: string, keys: string[]): ParamTree =>
      Array.isArray(t)
        ? { k: "object", fields: t.map((f) => ({ key: f.key, tree: build(f.tree, param, prefix, [...keys, f.key]) })) }
        : { k: "leaf", name: keys.length ? nameLeaf(param, prefix, keys) : prefix, kind: t };
    const signature = this.fn.parameters.map((p, i): Param => {
      const declared = parameterType(p, checker);
      const t = typeTree(declared, checker) as TypeTree; // the fence let through only these
      const name = ts.isIdentifier(p.name) ? p.name.text : namer.fresh(parameterName(p));
      if (ts.isIdentifier(p.name) && !Array.isArray(t)) this.env.set(this.symbol(p.name), name);
      paramNames.add(name);
      // An unannotated parameter (a contextually typed arrow's, or `a = 2`) gets its type written
      // out; so does one of a generic function, as its constraint (generated functions have no `T`).
      const constraint = this.fn.typeParameters?.length ? checker.getBaseConstraintOfType(declared) : undefined;
      const type =
        (constraint ? undefined : p.type?.getText()) ??
        checker.typeToString(constraint ?? declared, this.fn, ts.TypeFormatFlags.NoTruncation);
      const optional = p.questionToken || p.initializer ? { initializer: p.initializer } : undefined;
      return { name, tree: build(t, i, name, []), type, ...(optional ? { optional } : {}) };
    });
    for (const [symbol, at] of paths) {
      const tree = at.keys.reduce<ParamTree | undefined>(
        (node, key) => (node?.k === "object" ? node.fields.find((f) => f.key === key)?.tree : undefined),
        signature[at.param].tree,
      );
      if (!tree) continue;
      if (!this.fn.parameters.some((p) => ts.isIdentifier(p.name) && checker.getSymbolAtLocation(p.name) === symbol))
        this.aliases.add(symbol);
      if (tree.k === "leaf") this.env.set(symbol, tree.name);
      else this.objects.set(symbol, tree);
    }
    return signature;
  }

  /** The object (or field) an expression names: `model.layer` → its tree; undefined if it names none. */
  private treeOf(e: ts.Expression): ParamTree | undefined {
    const x = skipWrappers(e);
    if (ts.isIdentifier(x)) {
      const symbol = this.ctx.checker.getSymbolAtLocation(x);
      return symbol && this.objects.get(symbol);
    }
    if (ts.isPropertyAccessExpression(x)) {
      const base = this.treeOf(x.expression);
      return base?.k === "object" ? base.fields.find((f) => f.key === x.name.text)?.tree : undefined;
    }
    return undefined;
  }

  /** `model.W` → ref(W), the staged parameter of that field; undefined for anything else. */
  private fieldRef(e: ts.Expression): Expr | undefined {
    const tree = ts.isPropertyAccessExpression(e) ? this.treeOf(e) : undefined;
    return tree?.k === "leaf" ? ref(tree.name) : undefined;
  }

  // ---- statements -------------------------------------------------------------------------

  /**
   * Stages a statement list; an `if` that exits (returns, or in a loop breaks or continues) takes
   * the rest of the list into its branches.
   */
  private list(statements: readonly ts.Statement[]): void {
    const { scope } = this;
    const exits = (n: ts.Statement) => alwaysExits(n, scope);
    for (let i = 0; i < statements.length; i++) {
      const s = statements[i];
      const rest = statements.slice(i + 1);
      if (scope.isExit(s)) {
        if (ts.isReturnStatement(s) && ts.isObjectLiteralExpression(skipWrappers(s.expression!)))
          this.objectResult(skipWrappers(s.expression!) as ts.ObjectLiteralExpression);
        else if (ts.isReturnStatement(s) && this.isLocalArray(s.expression!))
          this.result = (this.current(s.expression as ts.Identifier) as { name: string }).name;
        else if (ts.isReturnStatement(s))
          this.value(s.expression!, { name: this.result, assign: this.resultIsJoin, note: trailingComment(s) });
        // A return inside a loop is a break that also sets the function's `returned` flag.
        if (ts.isReturnStatement(s) && scope !== FUNCTION_SCOPE) this.setFlag(RETURNED, true, s);
        if (ts.isBreakStatement(s) || (ts.isReturnStatement(s) && scope !== FUNCTION_SCOPE))
          this.setFlag(scope.done!, true, s);
        if (this.env.has(scope.flag)) this.setFlag(scope.flag, true, s);
        return;
      }
      if (ts.isThrowStatement(s)) return this.throwStatement(s); // the rest never runs
      if (ts.isSwitchStatement(s) && containsExit(s, scope)) {
        const cases = switchBranches(s.caseBlock.clauses);
        // Every case returns (or throws): nothing after the switch runs, and nothing joins.
        if (scope === FUNCTION_SCOPE && !this.env.has(RETURNED) && cases.exhaustive && cases.allExit)
          return this.switchChain(s, cases.branches, false);
        return this.underFlag(s, () => this.switchChain(s, cases.branches, true), rest);
      }
      if (isLoop(s) && containsReturn(s)) return this.returningLoop(s, rest);
      if (ts.isBlock(s) && containsExit(s, scope)) return this.list([...s.statements, ...rest]);
      if (ts.isIfStatement(s) && containsExit(s, scope)) {
        // Moving the rest into the branch that falls through is exact when every path then
        // exits and the other branch always exits (so nothing is copied twice).
        const oneSideExits = exits(s.thenStatement) || (s.elseStatement !== undefined && exits(s.elseStatement));
        const allPathsExit = exits(s) || rest.some(exits) || scope !== FUNCTION_SCOPE;
        if (oneSideExits && allPathsExit) return this.returningIf(s, rest);
        return this.guardedIf(s, rest);
      }
      this.statement(s);
    }
  }

  /**
   * A loop with a return inside: the return sets `returned` and leaves every enclosing loop; the
   * rest of the list runs under `if (!returned)`, and an enclosing loop stops too.
   */
  private returningLoop(s: ts.IterationStatement, rest: readonly ts.Statement[]): void {
    if (!this.env.has(RETURNED)) this.setFlag(RETURNED, false, s);
    this.guarded = true;
    this.loop(s as ts.WhileStatement | ts.DoStatement | ts.ForStatement | ts.ForOfStatement);
    const returned = ref(this.env.get(RETURNED)!);
    // In an enclosing loop: done ||= returned (it stops), skip ||= returned (its iteration ends).
    for (const flag of [this.scope.done, this.scope === FUNCTION_SCOPE ? undefined : this.scope.flag]) {
      if (!flag || !this.env.has(flag)) continue;
      const name = this.ctx.namer.version(flag.name);
      this.body.push({
        k: "def",
        name,
        value: { k: "binary", op: "||", left: ref(this.env.get(flag)!), right: returned },
        op: null,
        args: [],
        assign: false,
        source: s,
        type: "boolean",
      });
      this.env.set(flag, name);
    }
    if (rest.length) this.join(negate(returned), rest, [], s);
  }

  private statement(s: ts.Statement): void {
    if (ts.isVariableStatement(s)) return this.variables(s);
    if (ts.isExpressionStatement(s)) return this.assignment(s.expression, trailingComment(s));
    if (ts.isIfStatement(s)) return this.joiningIf(s);
    if (ts.isWhileStatement(s) || ts.isDoStatement(s) || ts.isForStatement(s) || ts.isForOfStatement(s))
      return this.loop(s);
    if (ts.isBlock(s)) return this.list(s.statements);
    if (ts.isEmptyStatement(s)) return;
    if (ts.isThrowStatement(s)) return this.throwStatement(s);
    if (ts.isSwitchStatement(s)) return this.switchChain(s, switchBranches(s.caseBlock.clauses).branches, true);
    throw refuse("unstagedStatement", s);
  }

  /** throw new RangeError(`n = ${n}`): kept as written, its locals read under their current names. */
  private throwStatement(s: ts.ThrowStatement): void {
    const names = new Map<ts.Identifier, string>();
    const visit = (n: ts.Node): void => {
      if (ts.isIdentifier(n) && isValueName(n) && this.isLocal(n)) {
        const current = this.current(n);
        if (current.k === "ref") names.set(n, current.name);
      }
      ts.forEachChild(n, visit);
    };
    visit(s.expression);
    this.body.push({ k: "throw", expression: s.expression, names, source: s });
  }

  private variables(s: ts.VariableStatement | ts.VariableDeclarationList): void {
    const note = ts.isVariableStatement(s) ? trailingComment(s) : undefined;
    for (const d of (ts.isVariableStatement(s) ? s.declarationList : s).declarations) {
      if (ts.isArrayBindingPattern(d.name) && d.initializer) {
        this.elements(d.name, d.initializer, note);
        continue;
      }
      // const { W1, b1 } = model, const W = model.W: names for fields, bound once in parameters().
      if (!ts.isIdentifier(d.name) || this.aliases.has(this.symbol(d.name))) continue;
      const id = d.name;
      const name = this.declare(id.text);
      this.env.set(this.symbol(id), d.initializer ? name : undefined);
      const created = d.initializer && arrayCreation(d.initializer);
      if (created) {
        this.localArrays.add(name);
        this.body.push({ k: "array", name, kind: created.kind, length: this.condition(created.length), source: d });
      } else if (d.initializer) this.value(d.initializer, { name, assign: false, note });
    }
  }

  /** const [x, y] = p → x = p[0], y = p[1] (the fence allows an array parameter or a table). */
  private elements(pattern: ts.ArrayBindingPattern, init: ts.Expression, note?: string): void {
    const array = this.value(init);
    if (array.k !== "ref") throw refuse("arrayDestructuring", pattern);
    pattern.elements.forEach((el, k) => {
      if (ts.isOmittedExpression(el) || !ts.isIdentifier(el.name)) return;
      const name = this.declare(el.name.text);
      const value: Expr = { k: "elem", array: array.name, index: num(k) };
      this.emit({ name, assign: false, note }, value, scalarOp("copy"), [value], el);
      this.env.set(this.symbol(el.name), name);
    });
  }

  /** x = e, x += e, x++ → a new version of x. */
  private assignment(e: ts.Expression, note?: string): void {
    e = skipWrappers(e);
    if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.CommaToken) {
      this.effect(e.left); // i++, j--
      return this.effect(e.right);
    }
    const target = ts.isBinaryExpression(e)
      ? e.left
      : (e as ts.PrefixUnaryExpression | ts.PostfixUnaryExpression).operand;
    if (ts.isElementAccessExpression(target)) return this.store(e, target);
    if (ts.isBinaryExpression(e)) {
      const id = e.left as ts.Identifier;
      const want = { name: this.ctx.namer.version(id.text), assign: false, note };
      const op = COMPOUND[e.operatorToken.kind];
      if (e.operatorToken.kind === ts.SyntaxKind.EqualsToken) this.value(e.right, want);
      else if (op) this.operation(op, [this.current(id), this.value(e.right)], e, want);
      else throw refuse("compoundOperator", e.operatorToken, { operator: e.operatorToken.getText() });
      this.env.set(this.symbol(id), want.name);
      return;
    }
    const u = e as ts.PrefixUnaryExpression | ts.PostfixUnaryExpression;
    const id = u.operand as ts.Identifier;
    const want = { name: this.ctx.namer.version(id.text), assign: false, note };
    const op = u.operator === ts.SyntaxKind.PlusPlusToken ? "+" : "-";
    this.operation(op, [this.current(id), num(1)], e, want);
    this.env.set(this.symbol(id), want.name);
  }

  /** h[j] = e, h[j] += e, h[j] -= e, h[j]++ on a local array (the fence allows no other writes). */
  private store(e: ts.Expression, target: ts.ElementAccessExpression): void {
    const array = (this.current(target.expression as ts.Identifier) as { name: string }).name;
    const index = this.stableIndex(this.condition(target.argumentExpression), target);
    const write = (value: Expr, add: boolean): void =>
      void this.body.push({ k: "store", array, index, value, add, source: e });
    if (!ts.isBinaryExpression(e))
      return write(num((e as ts.PrefixUnaryExpression).operator === ts.SyntaxKind.PlusPlusToken ? 1 : -1), true);
    const kind = e.operatorToken.kind;
    if (kind === ts.SyntaxKind.EqualsToken) return write(this.value(e.right), false);
    if (containsChange(e.right)) {
      // h[0] += (h[0] = y): JavaScript reads h[0] before the right side runs, so the sum does too.
      const element: Expr = { k: "elem", array, index };
      const old = this.ctx.namer.fresh(`${array}_old`);
      this.body.push({
        k: "def",
        name: old,
        value: element,
        op: scalarOp("copy"),
        args: [element],
        assign: false,
        source: target,
      });
      const op = kind === ts.SyntaxKind.PlusEqualsToken ? "+" : "-";
      return write(this.operation(op, [ref(old), this.value(e.right)], e), false);
    }
    if (kind === ts.SyntaxKind.PlusEqualsToken) return write(this.value(e.right), true);
    if (kind === ts.SyntaxKind.MinusEqualsToken) return write(this.operation("neg", [this.value(e.right)], e), true);
    throw refuse("elementCompoundUnstaged", e.operatorToken, { operator: e.operatorToken.getText() });
  }

  /** An index that calls a function (`tick()`, `Math.random()`), computed once into a name. */
  private stableIndex(index: Expr, source: ts.Node): Expr {
    if (!hasImpureCall(index)) return index;
    const name = this.ctx.namer.fresh("index");
    this.body.push({ k: "def", name, value: index, op: null, args: [], assign: false, source });
    return ref(name);
  }

  /** `const h_j = h[j]`: what an element of a local array holds now, kept for the backward pass. */
  private snapshot(e: ts.ElementAccessExpression, want?: Want): Expr {
    const value = this.condition(e);
    const index = value.k === "elem" && value.index.k === "ref" ? value.index.name : "elem";
    const target = want ?? {
      name: this.ctx.namer.fresh(`${(value as { array: string }).array}_${index}`),
      assign: false,
    };
    // Marked `snapshot` at the end of staging, unless the array is final by the time it is read.
    this.body.push({
      k: "def",
      name: target.name,
      value,
      op: scalarOp("copy"),
      args: [value],
      assign: target.assign,
      source: e,
      note: target.note,
    });
    return ref(target.name);
  }

  private isLocalArray(e: ts.Expression): boolean {
    if (!ts.isIdentifier(e) || !this.isLocal(e)) return false;
    const current = this.env.get(this.symbol(e));
    return current !== undefined && this.localArrays.has(current);
  }

  /** An `if` that does not return: both branches, then a join for each variable they change. */
  private joiningIf(s: ts.IfStatement): void {
    this.join(this.test(s.expression), [s.thenStatement], s.elseStatement ? [s.elseStatement] : [], s);
  }

  /**
   * An `if` that returns on some paths of both branches: returns set a flag, and the rest of the
   * list runs under `if (!returned)`. Copying the rest into each branch instead would double the
   * code for every such `if` in a row.
   */
  private guardedIf(s: ts.IfStatement, rest: readonly ts.Statement[]): void {
    this.underFlag(s, () => this.joiningIf(s), rest);
  }

  /** Stages a statement whose exits set the scope's flag, then the rest of the list under `!flag`. */
  private underFlag(s: ts.Statement, stage: () => void, rest: readonly ts.Statement[]): void {
    const { flag } = this.scope;
    if (!this.env.has(flag)) this.setFlag(flag, false, s);
    if (flag === RETURNED) this.guarded = true;
    stage();
    if (rest.length) this.join({ k: "unary", op: "!", arg: ref(this.env.get(flag)!) }, rest, [], s);
  }

  /**
   * switch (kind) { case "l1": ...; break; case "l2": ...; default: ... } → an if/else chain over
   * `kind === "l1"`, the discriminant evaluated once (switchBranches groups the cases). With
   * `join`, variables the cases change are joined after it; without, every case exits.
   */
  private switchChain(s: ts.SwitchStatement, branches: readonly SwitchBranch[], join: boolean): void {
    const atom = this.atom(s.expression);
    const d = atom && atom.k !== "elem" ? atom : this.opaque(s.expression);
    const chain = (k: number): void => {
      const b = branches[k];
      if (b === undefined) return;
      if (b.tests === undefined) return this.list(b.statements);
      const test = this.testOf(
        b.tests
          .map((c): Expr => ({ k: "binary", op: "===", left: d, right: this.condition(c) }))
          .reduce((a, t) => ({ k: "binary", op: "||", left: a, right: t })),
        b.tests[0],
      );
      if (join)
        return this.joinWith(
          test,
          () => this.list(b.statements),
          () => chain(k + 1),
          s,
        );
      const before = new Map(this.env);
      this.pendingTests.push(test);
      const thenBranch = this.branch(before, b.statements);
      const elseBranch = this.branchWith(before, () => chain(k + 1));
      this.pendingTests.pop();
      this.body.push({ k: "if", test, then: thenBranch.body, else: elseBranch.body, source: s });
    };
    chain(0);
  }

  /** returned = true / false (or a loop's skip and done), as a new version of the flag. */
  private setFlag(flag: ts.Symbol, value: boolean, source: ts.Node): void {
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

  // ---- loops --------------------------------------------------------------------------------

  /**
   * A loop: each variable it assigns gets a header (a `let` before the loop, reused from the
   * variable's own declaration where nothing else reads that value); the body is staged like any
   * block, and ends by writing each header's new value (`x = x_1`). break and continue become
   * flags, like early returns: `done` ends the loop at its test, `skip` skips the rest of the body.
   */
  private loop(s: ts.WhileStatement | ts.DoStatement | ts.ForStatement | ts.ForOfStatement): void {
    // while ((n -= 1) > 0): the test changes a variable, so it runs in the body: the loop goes on
    // while `done` is false, and the body first runs the test, then the rest or `done = true`.
    const condition = ts.isForStatement(s) ? s.condition : ts.isForOfStatement(s) ? undefined : s.expression;
    const changing = condition !== undefined && containsChange(condition) ? condition : undefined;
    const breaks = leavesLoop(s.statement) || changing !== undefined;
    // for...of: a counting loop over the array; with a break or return inside, a general loop
    // carrying its index (a variable tsgrad makes, like the flags).
    const counter = changing
      ? undefined
      : ts.isForStatement(s)
        ? this.counterOf(s)
        : ts.isForOfStatement(s) && !breaks
          ? this.elementCounter(s)
          : undefined;
    const index = ts.isForOfStatement(s) && breaks ? this.elementIndex(s) : undefined;
    if (ts.isForStatement(s) && !counter && s.initializer) {
      if (ts.isVariableDeclarationList(s.initializer)) this.variables(s.initializer);
      else this.assignment(s.initializer);
    }
    const scope: ExitScope = {
      flag: { name: "skip" } as ts.Symbol,
      done: { name: "done" } as ts.Symbol,
      isExit: (n) => ((ts.isBreakStatement(n) || ts.isContinueStatement(n)) && !n.label) || ts.isReturnStatement(n),
    };
    if (breaks) this.setFlag(scope.done!, false, s);
    const carried = this.carriedBy(s, counter?.symbol);
    if (index) carried.push(index.symbol);
    if (breaks) carried.push(scope.done!);
    if (containsReturn(s)) carried.push(RETURNED);
    const headers = carried.map((symbol) => this.header(symbol, s));
    carried.forEach((symbol, i) => this.env.set(symbol, headers[i]));
    const [outerBody] = [this.body];
    this.body = [];
    const test = this.loopTest(
      s,
      counter !== undefined || changing !== undefined,
      breaks ? this.env.get(scope.done!) : undefined,
      index && { index: ref(this.env.get(index.symbol)!), array: index.array },
    );
    const pre = this.body;
    this.body = outerBody;

    const [savedBody, savedScope] = [this.body, this.scope];
    this.outer.push(savedBody);
    this.body = [];
    this.scope = scope;
    this.loopDepth++;
    this.pendingTests.push(test);
    const before = new Map(this.env);
    if (counter?.symbol) this.env.set(counter.symbol, counter.counter.name);
    if (counter) this.counters.add(counter.counter.name);
    if (ts.isForOfStatement(s))
      this.element(
        s,
        counter ? ref(counter.counter.name) : ref(this.env.get(index!.symbol)!),
        counter ? (counter.counter.to as { array: string }).array : index!.array,
      );
    if (changing) this.testInBody(changing, s, scope.done!);
    else this.list([s.statement]);
    const incrementor = ts.isForStatement(s) && !counter ? s.incrementor : undefined;
    const update = incrementor
      ? () => this.assignment(incrementor)
      : index
        ? () => this.nextIndex(index.symbol, s)
        : undefined;
    if (update && breaks) this.joinWith(negate(ref(this.env.get(scope.done!)!)), update, () => {}, s);
    else if (update) update();
    carried.forEach((symbol, i) => {
      const current = this.env.get(symbol);
      if (current !== undefined && current !== headers[i]) {
        this.body.push({
          k: "def",
          name: headers[i],
          value: ref(current),
          op: scalarOp("copy"),
          args: [ref(current)],
          assign: true,
          overwrite: true,
          source: s,
        });
      }
    });
    const body = this.body;
    this.pendingTests.pop();
    this.loopDepth--;
    [this.body, this.scope] = [savedBody, savedScope];
    this.outer.pop();
    // After the loop, the variables it assigns are its headers; what the body declared is gone.
    this.env = before;
    carried.forEach((symbol, i) => this.env.set(symbol, headers[i]));
    const booleans = headers.filter((_, i) => this.isBoolean(carried[i]));
    this.body.push({
      k: "loop",
      kind: ts.isDoStatement(s) ? "do" : "while",
      counter: counter?.counter,
      test,
      pre: pre.length ? pre : undefined,
      body,
      carried: headers,
      booleans: booleans.length ? booleans : undefined,
      source: s,
    });
  }

  /**
   * The body of a loop whose test changes a variable: `while ((n -= 1) > 0) body` runs as
   * `{ n_1 = n - 1; if (n_1 > 0) { body } else { done = true } }` (a do loop tests after its body).
   */
  private testInBody(condition: ts.Expression, s: ts.IterationStatement, done: ts.Symbol): void {
    const test = () => {
      const go = this.test(condition);
      this.joinWith(
        go,
        () => {},
        () => this.setFlag(done, true, condition),
        s,
      );
    };
    if (ts.isDoStatement(s)) {
      this.list([s.statement]);
      // After a break (done) or a return, the test does not run.
      const stop = this.env.get(done)!;
      this.joinWith(negate(ref(stop)), test, () => {}, s);
      return;
    }
    const go = this.test(condition);
    this.joinWith(
      go,
      () => this.list([s.statement]),
      () => this.setFlag(done, true, condition),
      s,
    );
  }

  /**
   * for (const v of a) → for (let i = 0; i < a.length; i++) with `const v = a[i]` first in the body
   * (the fence allows it over an array parameter, with no break or return inside).
   */
  private elementCounter(s: ts.ForOfStatement): { symbol: undefined; counter: Counter } {
    const array = this.value(s.expression);
    if (array.k !== "ref") throw refuse("forOfUnstaged", s.expression);
    const name = this.declare(this.ctx.namer.fresh("i"));
    return {
      symbol: undefined,
      counter: { name, from: num(0), to: { k: "length", array: array.name }, op: "<", step: 1 },
    };
  }

  /**
   * Is `e` an integer that cannot change while the loop it starts runs: integer literals, array
   * lengths and enclosing loops' counters, with + - *. (A counter starting anywhere else, say at
   * a number parameter, might step through non-integers, which the backward loop cannot replay.)
   */
  private isIntegerExpr(e: ts.Expression): boolean {
    const x = skip(e);
    if (ts.isNumericLiteral(x)) return Number.isInteger(Number(x.text));
    if (ts.isPropertyAccessExpression(x) && (isLength(x) || x.name.text === "rows" || x.name.text === "cols"))
      return this.condition(x).k === "length";
    if (ts.isIdentifier(x)) {
      const current = this.isLocal(x) ? this.env.get(this.symbol(x)) : undefined;
      return current !== undefined && this.counters.has(current);
    }
    if (ts.isPrefixUnaryExpression(x) && x.operator === ts.SyntaxKind.MinusToken) return this.isIntegerExpr(x.operand);
    if (
      ts.isBinaryExpression(x) &&
      [ts.SyntaxKind.PlusToken, ts.SyntaxKind.MinusToken, ts.SyntaxKind.AsteriskToken].includes(x.operatorToken.kind)
    ) {
      return this.isIntegerExpr(x.left) && this.isIntegerExpr(x.right);
    }
    return false;
  }

  /** for...of with a break: its index, `let i = 0` before the loop, carried like a flag. */
  private elementIndex(s: ts.ForOfStatement): { symbol: ts.Symbol; array: string } {
    const array = this.value(s.expression);
    if (array.k !== "ref") throw refuse("forOfUnstaged", s.expression);
    const symbol = { name: "i" } as ts.Symbol;
    this.indexes.add(symbol);
    const name = this.ctx.namer.fresh("i");
    this.body.push({ k: "def", name, value: num(0), op: null, args: [], assign: false, source: s });
    this.env.set(symbol, name);
    return { symbol, array: array.name };
  }

  /** i = i + 1 at the end of a for...of iteration (not after a break: the caller guards it). */
  private nextIndex(symbol: ts.Symbol, s: ts.Node): void {
    const name = this.ctx.namer.version(symbol.name);
    this.body.push({
      k: "def",
      name,
      value: { k: "binary", op: "+", left: ref(this.env.get(symbol)!), right: num(1) },
      op: null,
      args: [],
      assign: false,
      source: s,
    });
    this.env.set(symbol, name);
  }

  /** `const v = a[i]`: the element a for...of iteration binds. */
  private element(s: ts.ForOfStatement, index: Expr, array: string): void {
    const decl = (s.initializer as ts.VariableDeclarationList).declarations[0];
    const value: Expr = { k: "elem", array, index };
    const name = this.declare((decl.name as ts.Identifier).text);
    this.body.push({ k: "def", name, value, op: scalarOp("copy"), args: [value], assign: false, source: decl });
    this.env.set(this.symbol(decl.name), name);
  }

  /**
   * The header of a variable the loop assigns: the variable itself, made `let`, when its current
   * value is read by nothing staged so far (and, at the top level, nothing can read it later);
   * otherwise a new version initialised from it: `let x_1 = x;`.
   */
  private header(symbol: ts.Symbol, source: ts.Node): string {
    const current = this.env.get(symbol);
    const flag = symbol.valueDeclaration === undefined;
    if (current !== undefined && (this.loopDepth === 0 || flag) && !this.readSoFar(current)) {
      const def = this.findDef(current);
      // A parameter never reassigned so far (current is its own name); not a join made from it.
      const param =
        def === undefined &&
        this.fn.parameters.some(
          (p) => ts.isIdentifier(p.name) && this.symbol(p.name) === symbol && p.name.text === current,
        );
      if (param || (def && !readsOutput(def.op))) {
        if (def) def.mutable = true;
        return current;
      }
    }
    const name = this.ctx.namer.version(symbol.name);
    const type = this.isBoolean(symbol) ? ("boolean" as const) : undefined;
    if (current === undefined) this.body.push({ k: "let", name, hoisted: true, type });
    else
      this.body.push({
        k: "def",
        name,
        value: ref(current),
        op: scalarOp("copy"),
        args: [ref(current)],
        assign: false,
        mutable: true,
        source,
        type,
      });
    return name;
  }

  private readSoFar(name: string): boolean {
    return (
      [...this.outer, this.body].some((b) => forwardReads(b).has(name)) ||
      this.pendingTests.some((t) => refsOf(t).has(name))
    );
  }

  private findDef(name: string): Def | undefined {
    let found: Def | undefined;
    for (const b of [...this.outer, this.body]) forEachDef(b, (d) => d.name === name && !d.assign && (found = d));
    return found;
  }

  /** Variables declared before the loop that it assigns, in order of first assignment. */
  private carriedBy(s: ts.IterationStatement, counter: ts.Symbol | undefined): ts.Symbol[] {
    const out: ts.Symbol[] = [];
    const visit = (n: ts.Node): void => {
      const target = assignedIdentifier(n);
      if (target) {
        const symbol = this.ctx.checker.getSymbolAtLocation(target);
        if (symbol && symbol !== counter && this.env.has(symbol) && !out.includes(symbol)) out.push(symbol);
      }
      ts.forEachChild(n, visit);
    };
    visit(s);
    return out;
  }

  /** The loop's test over its headers; a counter loop's test is its counter. */
  private loopTest(
    s: ts.WhileStatement | ts.DoStatement | ts.ForStatement | ts.ForOfStatement,
    counted: boolean,
    done: string | undefined,
    element?: { index: Expr; array: string },
  ): Expr {
    const condition = counted || ts.isForOfStatement(s) ? undefined : ts.isForStatement(s) ? s.condition : s.expression;
    let test: Expr = element
      ? { k: "binary", op: "<", left: element.index, right: { k: "length", array: element.array } }
      : { k: "global", text: "true" };
    // A test that calls a function is computed by statements run before each evaluation (pre).
    if (condition) {
      test = this.condition(condition);
      if (hasImpureCall(test) || [...refsOf(test)].some((n) => this.localArrays.has(n))) test = this.test(condition);
    }
    if (done === undefined) return test;
    const notDone = negate(ref(done));
    return condition || element ? { k: "binary", op: "&&", left: notDone, right: test } : notDone;
  }

  /**
   * for (let i = A; i < B; i++) with A an integer literal, B not changed by the loop, i not
   * assigned in the body and no break: its backward loop runs i back down, saving nothing.
   */
  private counterOf(s: ts.ForStatement): { symbol: ts.Symbol; counter: Counter } | undefined {
    const d = counterInit(s.initializer);
    if (!d) return undefined;
    // `var i` (or `i = 0` of a variable declared before): a counter only if no one reads it after.
    const varCounter = !(s.initializer!.flags & ts.NodeFlags.Let);
    const counterSymbol = this.ctx.checker.getSymbolAtLocation(d.name);
    if (varCounter && (!counterSymbol || counterEscapes(this.fn.body!, counterSymbol, s, this.ctx.checker)))
      return undefined;
    // An integer literal, or an integer expression of lengths and enclosing counters (i + 1, a.length - 1).
    const literal = integerLiteral(d.initializer);
    const from =
      literal !== undefined
        ? num(literal)
        : this.isIntegerExpr(d.initializer)
          ? this.condition(d.initializer)
          : undefined;
    const symbol = this.ctx.checker.getSymbolAtLocation(d.name);
    const cond = s.condition && skip(s.condition);
    if (from === undefined || !symbol || !cond || !ts.isBinaryExpression(cond) || !ts.isIdentifier(cond.left))
      return undefined;
    if (this.ctx.checker.getSymbolAtLocation(cond.left) !== symbol) return undefined;
    const op = COUNTER_TESTS[cond.operatorToken.kind];
    const step = s.incrementor && stepOf(s.incrementor, symbol, this.ctx.checker);
    if (!op || !step || (step === 1) !== (op === "<" || op === "<=")) return undefined;
    const assignedInLoop = new Set<ts.Symbol>();
    const visit = (n: ts.Node): void => {
      const target = assignedIdentifier(n);
      const sym = target && this.ctx.checker.getSymbolAtLocation(target);
      if (sym) assignedInLoop.add(sym);
      ts.forEachChild(n, visit);
    };
    visit(s.statement);
    if (assignedInLoop.has(symbol) || leavesLoop(s.statement)) return undefined;
    let boundVaries = false;
    const bound = (n: ts.Node): void => {
      if (ts.isIdentifier(n) && assignedInLoop.has(this.ctx.checker.getSymbolAtLocation(n)!)) boundVaries = true;
      if (ts.isCallExpression(n) && hasImpureCall(this.condition(n))) boundVaries = true;
      ts.forEachChild(n, bound);
    };
    bound(cond.right);
    if (boundVaries) return undefined;
    const to = this.value(cond.right);
    return { symbol, counter: { name: this.declare(d.name.text), from, to, op, step } };
  }

  private join(
    test: Expr,
    thenStatements: readonly ts.Statement[],
    elseStatements: readonly ts.Statement[],
    s: ts.Node,
  ): void {
    this.joinWith(
      test,
      () => this.list(thenStatements),
      () => this.list(elseStatements),
      s,
    );
  }

  private joinWith(test: Expr, thenStage: () => void, elseStage: () => void, s: ts.Node): void {
    const before = new Map(this.env);
    this.pendingTests.push(test);
    const thenBranch = this.branchWith(before, thenStage);
    const elseBranch = this.branchWith(before, elseStage);
    this.pendingTests.pop();
    const joins: Stmt[] = [];
    for (const [symbol, old] of before) {
      const a = thenBranch.env.get(symbol);
      const b = elseBranch.env.get(symbol);
      if (a === b) continue;
      const joined = join(symbol.name, old, [thenBranch, a], [elseBranch, b], this.ctx.namer, s);
      joins.push({ k: "let", name: joined, type: this.isBoolean(symbol) ? "boolean" : undefined });
      this.env.set(symbol, joined);
    }
    this.body.push(...joins, { k: "if", test, then: thenBranch.body, else: elseBranch.body, source: s });
  }

  /** An `if` with a return inside: the rest of the list runs at the end of each branch. */
  private returningIf(s: ts.IfStatement, rest: readonly ts.Statement[]): void {
    const test = this.test(s.expression);
    // Under a return flag, code after an enclosing branch reads the flag: join it like any variable.
    if (this.env.has(this.scope.flag) || this.scope !== FUNCTION_SCOPE)
      return this.join(test, [s.thenStatement, ...rest], [...(s.elseStatement ? [s.elseStatement] : []), ...rest], s);
    const before = new Map(this.env);
    this.pendingTests.push(test);
    const thenBranch = this.branch(before, [s.thenStatement, ...rest]);
    const elseBranch = this.branch(before, [...(s.elseStatement ? [s.elseStatement] : []), ...rest]);
    this.pendingTests.pop();
    this.body.push({ k: "if", test, then: thenBranch.body, else: elseBranch.body, source: s });
  }

  private branch(env: Map<ts.Symbol, string | undefined>, statements: readonly ts.Statement[]): Branch {
    return this.branchWith(env, () => this.list(statements));
  }

  private branchWith(env: Map<ts.Symbol, string | undefined>, stage: () => void): Branch {
    const [savedBody, savedEnv] = [this.body, this.env];
    this.outer.push(savedBody);
    this.body = [];
    this.env = new Map(env);
    stage();
    const out = { body: this.body, env: this.env };
    [this.body, this.env] = [savedBody, savedEnv];
    this.outer.pop();
    return out;
  }

  // ---- expressions ------------------------------------------------------------------------

  /** Stages a number-valued expression; returns an atom (num, ref or global) holding its value. */
  private value(e: ts.Expression, want?: Want): Expr {
    if (isUpdate(e)) return this.updated(e, want);
    if (ts.isElementAccessExpression(e) && this.isLocalArray(e.expression)) return this.snapshot(e, want);
    const atom = this.atom(e);
    if (atom) return want ? this.emit(want, atom, scalarOp("copy"), [atom], e) : atom;
    if (
      ts.isParenthesizedExpression(e) ||
      ts.isAsExpression(e) ||
      ts.isNonNullExpression(e) ||
      ts.isSatisfiesExpression(e)
    ) {
      return this.value(e.expression, want);
    }
    // 1 / (1 + Math.exp(-u)): a pattern a rule declares, one operation (sigmoid) over u.
    const recognised = recognise(e);
    if (recognised)
      return this.operation(
        recognised.op,
        recognised.operands.map((o) => this.value(o)),
        e,
        want,
      );
    if (ts.isPrefixUnaryExpression(e) && e.operator === ts.SyntaxKind.PlusToken) return this.value(e.operand, want);
    if (ts.isPrefixUnaryExpression(e) && e.operator === ts.SyntaxKind.MinusToken) {
      return this.operation("neg", [this.value(e.operand)], e, want);
    }
    const arithmetic = ts.isBinaryExpression(e) ? ARITHMETIC[e.operatorToken.kind] : undefined;
    if (arithmetic && ts.isBinaryExpression(e))
      return this.operation(arithmetic, [this.value(e.left), this.value(e.right)], e, want);
    if (ts.isConditionalExpression(e)) return this.ternary(e, want);
    if (ts.isBinaryExpression(e) && LOGICAL.has(e.operatorToken.kind) && this.isNumber(e)) return this.logical(e, want);
    if (ts.isCallExpression(e)) return this.call(e, want);
    return this.opaque(e, want);
  }

  /**
   * An assignment as a value: `x = y = 0` (the value of `y = 0` is y's new value), `a[i++]` (the
   * old i), `(t = x * x, t + 1)`. It runs as its statement where JavaScript runs it.
   */
  private updated(e: ts.Expression, want?: Want): Expr {
    const read = (target: ts.Expression): Expr =>
      ts.isIdentifier(target) ? this.current(target) : this.value(target as ts.ElementAccessExpression);
    let result: Expr;
    if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.CommaToken) {
      this.effect(e.left);
      return this.value(e.right, want);
    } else if (ts.isPostfixUnaryExpression(e)) {
      const old = read(skipWrappers(e.operand));
      this.assignment(e);
      result = old;
    } else {
      this.assignment(e);
      result = read(skipWrappers(ts.isBinaryExpression(e) ? e.left : (e as ts.PrefixUnaryExpression).operand));
    }
    return want ? this.emit(want, result, scalarOp("copy"), [result], e) : result;
  }

  /** The left of a comma: an assignment, or a value computed for nothing (kept, in case it calls out). */
  private effect(e: ts.Expression): void {
    const x = skipWrappers(e);
    if (isChange(x)) this.assignment(x);
    else this.value(x);
  }

  /**
   * `w || 1` on numbers → `w ? w : 1`; `a && b` → `a ? b : a`; `s ?? 1` → `s != null ? s : 1`:
   * the operand chosen, only the taken side evaluated.
   */
  private logical(e: ts.BinaryExpression, want?: Want): Expr {
    const left = this.value(e.left);
    const op = e.operatorToken.kind;
    const test: Expr =
      op === ts.SyntaxKind.QuestionQuestionToken
        ? { k: "binary", op: "!=", left, right: { k: "global", text: "null" } }
        : left;
    const right = (w: Want) => void this.value(e.right, w);
    const same = (w: Want) => void this.emit(w, left, scalarOp("copy"), [left], e);
    return op === ts.SyntaxKind.AmpersandAmpersandToken
      ? this.choice(test, right, same, e, want)
      : this.choice(test, same, right, e, want);
  }

  /** A number, a union with one (`x && 1` is `0 | 1`), or any (it may carry one): a value, not a condition. */
  private isNumber(e: ts.Expression): boolean {
    const t = this.ctx.checker.getTypeAtLocation(e);
    if (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return true;
    const parts = t.isUnion() ? t.types : [t];
    return parts.some((p) => (p.flags & ts.TypeFlags.NumberLike) !== 0);
  }

  /** Literals, locals and constants: values that need no statement of their own. */
  private atom(e: ts.Expression): Expr | undefined {
    if (ts.isNumericLiteral(e)) return num(Number(e.text));
    // "l2", true: data passed as written (to a helper's mode or flag), no local of its own.
    if (
      ts.isStringLiteral(e) ||
      ts.isNoSubstitutionTemplateLiteral(e) ||
      e.kind === ts.SyntaxKind.TrueKeyword ||
      e.kind === ts.SyntaxKind.FalseKeyword
    )
      return { k: "global", text: e.getText() };
    if (ts.isIdentifier(e)) return this.isLocal(e) ? this.current(e) : this.nonLocal(e);
    const field = this.fieldRef(e);
    if (field) return field;
    // a[i] and a.length of an array parameter (the fence allows no other arrays), M.rows of a matrix.
    if (
      ts.isElementAccessExpression(e) ||
      (ts.isPropertyAccessExpression(e) && (isLength(e) || e.name.text === "rows" || e.name.text === "cols"))
    ) {
      const read = this.condition(e);
      // a[Math.floor(Math.random() * n)]: the index drawn once, kept for the backward pass.
      if (read.k === "elem") return { ...read, index: this.stableIndex(read.index, e) };
      if (read.k !== "global") return read;
    }
    const own = this.thisField(e);
    if (own) return own;
    if (ts.isPropertyAccessExpression(e)) return { k: "global", text: e.getText() };
    return undefined;
  }

  private call(e: ts.CallExpression, want?: Want): Expr {
    // const sqrt = Math.sqrt: sqrt(x) is Math.sqrt(x).
    const callee = mathAlias(e.expression, this.ctx.checker) ?? ownCallee(e.expression.getText(), this.ctx.self);
    const isMath = callee.startsWith("Math.");
    if ((callee === "Math.max" || callee === "Math.min") && e.arguments.some(ts.isSpreadElement))
      return this.extremeOf(callee, e, want);
    if (isMath && isScalarOp(callee)) {
      // Math.atan2(x) type-checks only with an error, but must not reach a rule without its b.
      const { grad } = scalarRules[callee];
      const arity = grad.kind === "partials" ? grad.partials.length : undefined;
      if (arity !== undefined && e.arguments.length !== arity)
        throw refuse("mathArity", e, { callee, want: arity, got: e.arguments.length });
      return this.operation(
        callee,
        e.arguments.map((a) => this.value(a)),
        e,
        want,
      );
    }
    if (piecewiseConstant.has(callee) || constantSources.has(callee)) return this.opaque(e, want);
    if (isMath) {
      throw refuse("mathWithoutRule", e.expression, { callee });
    }
    if (this.ctx.isStopGradient(e.expression)) {
      // stopGradient(v): the value of v, through which no gradient flows.
      if (e.arguments.length !== 1) throw refuse("stopGradientArity", e);
      const value = this.value(e.arguments[0]);
      const target = want ?? this.temp("stop", [value]);
      this.body.push({
        k: "def",
        name: target.name,
        value,
        op: null,
        args: [],
        assign: target.assign,
        source: e,
        note: target.note,
      });
      return ref(target.name);
    }
    const matrixOp = this.ctx.matrixOp(e.expression);
    if (matrixOp) {
      // hidden = relu(z): one operation, differentiated by the op's rule in runtime/ops.
      const args = e.arguments.map((a) => this.value(a));
      return this.emit(
        want ?? this.temp(matrixOp, args),
        { k: "call", callee, args },
        { kind: "matrix", op: matrixOp },
        args,
        e,
      );
    }
    const custom = this.ctx.derivativeOf(e);
    if (custom) {
      const args = e.arguments.map((a) => this.value(a));
      return this.emit(
        want ?? this.temp(e.expression.getText(), args),
        { k: "call", callee, args },
        { kind: "custom", derivative: custom },
        args,
        e,
      );
    }
    const target = resolveFunction(this.ctx.checker, e.expression);
    if (target === "unmarked" || target === undefined) return this.opaque(e, want, e);
    const args = e.arguments.map((a, i) => (this.intoData(target.fn, i, a) ? this.detached(a) : this.value(a)));
    if (isRecursiveCall(e, target, this.fn, this.ctx.checker))
      return this.recursiveCall(callee, args, e, want ?? this.temp(localName(target), args));
    return this.emit(
      want ?? this.temp(localName(target), args),
      { k: "call", callee, args },
      { kind: "call", gradient: this.ctx.gradOf(target, e) },
      args,
      e,
    );
  }

  /**
   * Does argument `a` pass a number into a data parameter of the callee (`h(x, y)` for
   * `h(x: number, mode: Mode)`, a numeric enum): a value no gradient flows back through?
   */
  private intoData(callee: FunctionNode, i: number, a: ts.Expression): boolean {
    const { checker } = this.ctx;
    const p = callee.parameters[i];
    if (!p || p.dotDotDotToken || !isDataKind(kindOf(parameterType(p, checker), checker))) return false;
    return kindOf(checker.getTypeAtLocation(a), checker) === "number";
  }

  /** The value of `a` as a constant of the backward pass (as `stopGradient(a)` is). */
  private detached(a: ts.Expression): Expr {
    const value = this.value(a);
    if (value.k !== "ref") return value;
    const target = this.temp("data", [value]);
    this.body.push({ k: "def", name: target.name, value, op: null, args: [], assign: false, source: a });
    return ref(target.name);
  }

  /**
   * Math.max(...xs) → the loop it stands for, whose gradient goes to the first element that won:
   *   let m = -Infinity; for (let i = 0; i < xs.length; i++) { const m_1 = Math.max(m, xs[i]); m = m_1; }
   * over an array parameter or a module-level table, the one argument.
   */
  private extremeOf(callee: "Math.max" | "Math.min", e: ts.CallExpression, want?: Want): Expr {
    const [spread] = e.arguments;
    const array = e.arguments.length === 1 && ts.isSpreadElement(spread) ? this.value(spread.expression) : undefined;
    if (!array || array.k !== "ref" || this.localArrays.has(array.name)) throw refuse("spreadArgument", e);
    const start = callee === "Math.max" ? -Infinity : Infinity;
    const header = this.ctx.namer.fresh(callee === "Math.max" ? "max" : "min");
    const i = this.declare(this.ctx.namer.fresh("i"));
    this.counters.add(i);
    this.body.push({
      k: "def",
      name: header,
      value: num(start),
      op: scalarOp("copy"),
      args: [num(start)],
      assign: false,
      mutable: true,
      source: e,
    });
    const next = this.ctx.namer.version(header);
    const operands: Expr[] = [ref(header), { k: "elem", array: array.name, index: ref(i) }];
    const body: Stmt[] = [
      {
        k: "def",
        name: next,
        value: valueOf(callee, operands),
        op: scalarOp(callee),
        args: operands,
        assign: false,
        source: e,
      },
      {
        k: "def",
        name: header,
        value: ref(next),
        op: scalarOp("copy"),
        args: [ref(next)],
        assign: true,
        overwrite: true,
        source: e,
      },
    ];
    const counter: Counter = { name: i, from: num(0), to: { k: "length", array: array.name }, op: "<", step: 1 };
    this.body.push({
      k: "loop",
      kind: "while",
      counter,
      test: { k: "global", text: "true" },
      body,
      carried: [header],
      source: e,
    });
    return want ? this.emit(want, ref(header), scalarOp("copy"), [ref(header)], e) : ref(header);
  }

  /**
   * A call of a function in this one's recursion cycle runs the callee's forward pass, whose
   * cache the backward pass hands to the callee's backward pass (see Op, kind "call", in ir.ts):
   *   powRec(x, diff)  →  const powRec_3_call = powRec_forward(x, diff);  const powRec_3 = powRec_3_call.value;
   */
  private recursiveCall(callee: string, args: Expr[], source: ts.CallExpression, want: Want): Expr {
    const { forward, backward } = generatedNames(callee);
    const call = this.ctx.namer.fresh(`${want.name}_call`);
    this.body.push({
      k: "def",
      name: call,
      value: { k: "call", callee: forward, args },
      op: null,
      args: [],
      assign: false,
      source,
      type: { forward },
    });
    const value: Expr = { k: "field", object: call, key: "value" };
    this.body.push({
      k: "def",
      name: want.name,
      value,
      op: { kind: "call", gradient: { k: "global", text: backward }, recursive: { call, primal: callee } },
      args,
      assign: want.assign,
      source,
      note: want.note,
    });
    return ref(want.name);
  }

  /** c ? a : b → a join variable assigned in each branch, so only the taken side is evaluated. */
  private ternary(e: ts.ConditionalExpression, want?: Want): Expr {
    return this.choice(
      this.test(e.condition),
      (w) => this.value(e.whenTrue, w),
      (w) => this.value(e.whenFalse, w),
      e,
      want,
    );
  }

  /**
   * A value chosen by a test: each side staged in its branch into the result, and a variable a
   * side assigns (`(t -= 2) * t`) joined after it, as after an `if`.
   */
  private choice(
    test: Expr,
    whenTrue: (want: Want) => void,
    whenFalse: (want: Want) => void,
    e: ts.Expression,
    want?: Want,
  ): Expr {
    const target = want ?? { name: this.ctx.namer.fresh("choice"), assign: false };
    const assign = { ...target, assign: true };
    if (!target.assign) this.body.push({ k: "let", name: target.name });
    this.joinWith(
      test,
      () => whenTrue(assign),
      () => whenFalse(assign),
      e,
    );
    return ref(target.name);
  }

  /** A value no gradient flows through, kept as one expression: `const k = Math.floor(x * 3)`. */
  private opaque(e: ts.Expression, want?: Want, opaqueCall?: ts.Node): Expr {
    const value = this.condition(e);
    const hint = ts.isCallExpression(e) ? e.expression.getText() : "value";
    const target = want ?? this.temp(hint, ts.isCallExpression(e) ? e.arguments.map((a) => this.nameOf(a)) : []);
    const type =
      this.ctx.checker.getTypeAtLocation(e).flags & ts.TypeFlags.BooleanLike ? ("boolean" as const) : undefined;
    const def: Def = {
      k: "def",
      name: target.name,
      value,
      op: null,
      args: [],
      assign: target.assign,
      source: e,
      note: target.note,
      opaqueCall,
      type,
    };
    this.body.push(def);
    return ref(target.name);
  }

  /**
   * What an operand is called, for a temporary's name (`floor_x`), without staging it again:
   * `Math.floor(c[j++])` has run `j++` once already.
   */
  private nameOf(a: ts.Expression): Expr {
    if (ts.isNumericLiteral(a)) return num(Number(a.text));
    if (ts.isIdentifier(a) && this.isLocal(a)) return this.current(a);
    return (ts.isPropertyAccessExpression(a) && this.fieldRef(a)) || { k: "global", text: "" };
  }

  /** One differentiable operation, its operands already staged. */
  private operation(op: ScalarOp, args: Expr[], source: ts.Node, want?: Want): Expr {
    return this.emit(want ?? this.temp(op, args), valueOf(op, args), scalarOp(op), args, source);
  }

  private emit(want: Want, value: Expr, op: Op | null, args: Expr[], source: ts.Node): Expr {
    this.body.push({ k: "def", name: want.name, value, op, args, assign: want.assign, source, note: want.note });
    return ref(want.name);
  }

  private temp(op: string, args: readonly Expr[]): Want {
    const names = args.map((a) => (a.k === "ref" ? a.name : a.k === "num" ? String(a.value) : undefined));
    return { name: this.ctx.namer.fresh(tempName(op, names)), assign: false };
  }

  /**
   * A branch's test. The backward pass replays it; a test that calls a function (Math.random(),
   * anything with a side effect) is evaluated once, into a boolean, so both passes agree.
   */
  private test(e: ts.Expression): Expr {
    return this.testOf(this.condition(e), e);
  }

  private testOf(test: Expr, e: ts.Node): Expr {
    if (!hasCall(test, () => true) && ![...refsOf(test)].some((n) => this.localArrays.has(n))) return test;
    const name = this.ctx.namer.fresh("cond");
    this.body.push({ k: "def", name, value: test, op: null, args: [], assign: false, source: e, type: "boolean" });
    return ref(name);
  }

  /** A condition or opaque value as one expression over current names: `x > 0 && y < 1`. */
  private condition(e: ts.Expression): Expr {
    // In a condition, `i < n && (x = a[i]) > 0` would run the assignment whether or not i < n.
    const sometimes = updateRunningSometimes(e);
    if (sometimes) throw refuse("assignmentSometimes", sometimes);
    const value = exprFromTs(
      e,
      (x) =>
        !ts.isIdentifier(x)
          ? (this.fieldRef(x) ?? this.thisField(x))
          : this.isLocal(x)
            ? this.current(x)
            : this.nonLocal(x),
      (x) => (isUpdate(x) ? this.value(x) : undefined),
    );
    return this.ctx.self === undefined ? value : ownCalls(value, this.ctx.self);
  }

  // ---- names ------------------------------------------------------------------------------

  /** A local keeps its name unless it is taken, or it would hide a callee's `g_grad`. */
  private declare(user: string): string {
    const name = this.declared.has(user) || this.calleeGradients.has(user) ? this.ctx.namer.fresh(user) : user;
    this.declared.add(name);
    return name;
  }

  private current(id: ts.Identifier): Expr {
    const name = this.env.get(this.symbol(id));
    if (name === undefined) throw refuse("readBeforeAssigned", id, { name: id.text });
    return ref(name);
  }

  /** The return flag, or a user variable holding a condition: its join is a boolean. */
  private isBoolean(symbol: ts.Symbol): boolean {
    if (this.indexes.has(symbol)) return false;
    const decl = symbol.valueDeclaration;
    if (decl === undefined) return true; // returned, skip, done: flags tsgrad made
    return (this.ctx.checker.getTypeAtLocation(decl).flags & ts.TypeFlags.BooleanLike) !== 0;
  }

  /**
   * `this.scale` in a method: a constant of the instance, read once, at the top of the function,
   * into a local named after the field (`const scale = this.scale;`), which vjp's forward pass
   * keeps in its cache: the backward pass never reads the field again (the instance may change
   * by then). In an object literal's member, `this` is the object: `const scale = vec.scale;`.
   */
  private thisField(e: ts.Expression): Expr | undefined {
    if (!ts.isPropertyAccessExpression(e)) return undefined;
    const self = e.expression.kind === ts.SyntaxKind.ThisKeyword;
    // Also opts.scale of a captured object, and vec.scale in a member of vec (ir/captures.ts).
    if (!self && !(ts.isIdentifier(e.expression) && ownedField(e, this.fn, this.ctx.checker))) return undefined;
    const key = e.name.text;
    const text = self ? `${this.ctx.self ?? "this"}.${key}` : e.getText();
    let name = this.thisFields.get(text);
    if (name === undefined) {
      name = this.ctx.namer.fresh(key);
      this.declared.add(name);
      this.thisFields.set(text, name);
      const value: Expr = { k: "global", text };
      this.fieldReads.push({ k: "def", name, value, op: null, args: [], assign: false, source: e });
    }
    return ref(name);
  }

  /**
   * A name read inside the function but declared outside it: the enclosing function's parameter
   * or local (a captured value, ir/captures.ts) under its own name, anything else as written (a
   * module constant, `Infinity`).
   */
  private nonLocal(id: ts.Identifier): Expr {
    if (isConstantTable(id, this.ctx.checker)) {
      // LANCZOS[i]: read by name, like an array parameter no gradient flows to.
      this.declared.add(id.text);
      this.ctx.namer.claim(id.text);
      return ref(id.text);
    }
    return this.captured.has(id.text) && capturedDeclaration(id, this.fn, this.ctx.checker)
      ? ref(id.text)
      : { k: "global", text: id.text };
  }

  /**
   * The captured values the function reads, by name. Its own locals never take their names (a
   * local `k` shadowing a captured `k` in an inner block becomes `k_2`), so the generated
   * functions read them as the closure does and f_backward unpacks them from vjp's cache.
   */
  private findCaptures(): void {
    const visit = (n: ts.Node): void => {
      if (ts.isIdentifier(n) && capturedDeclaration(n, this.fn, this.ctx.checker)) {
        this.captured.add(n.text);
        this.declared.add(n.text);
        this.ctx.namer.claim(n.text);
      }
      ts.forEachChild(n, visit);
    };
    if (this.fn.body) visit(this.fn.body);
  }

  private isLocal(id: ts.Identifier): boolean {
    const s = this.ctx.checker.getSymbolAtLocation(id);
    return s !== undefined && this.env.has(s);
  }

  private symbol(node: ts.Node): ts.Symbol {
    const s = this.ctx.checker.getSymbolAtLocation(node);
    if (!s) throw refuse("unresolvedName", node);
    return s;
  }
}

/**
 * The counter a `for` sets up, as a name and a start: `let i = 0`, `var i = 0`, or `i = 0` of a
 * variable declared before the loop.
 */
function counterInit(
  init: ts.ForInitializer | undefined,
): { name: ts.Identifier; initializer: ts.Expression } | undefined {
  if (!init) return undefined;
  if (ts.isVariableDeclarationList(init)) {
    if (init.declarations.length !== 1 || init.flags & ts.NodeFlags.Const) return undefined;
    const [d] = init.declarations;
    return ts.isIdentifier(d.name) && d.initializer ? { name: d.name, initializer: d.initializer } : undefined;
  }
  const e = skip(init);
  if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isIdentifier(e.left))
    return { name: e.left, initializer: e.right };
  return undefined;
}

/** `this.dot` → `vec.dot`: a member's call of the object's own members, in its generated functions. */
function ownCallee(callee: string, self: string | undefined): string {
  return self !== undefined && callee.startsWith("this.") ? `${self}.${callee.slice("this.".length)}` : callee;
}

/** ownCallee for every call in an expression (`Math.floor(this.count(x))`). */
function ownCalls(e: Expr, self: string): Expr {
  const go = (x: Expr): Expr => ownCalls(x, self);
  switch (e.k) {
    case "call":
      return { ...e, callee: ownCallee(e.callee, self), args: e.args.map(go) };
    case "unary":
      return { ...e, arg: go(e.arg) };
    case "binary":
      return { ...e, left: go(e.left), right: go(e.right) };
    case "cond":
      return { ...e, test: go(e.test), then: go(e.then), else: go(e.else) };
    case "elem":
      return { ...e, index: go(e.index) };
    default:
      return e;
  }
}

/**
 * Values defined inside branches are block-scoped, but the backward pass (a separate `if`) reads
 * them: each top-level `if` gets `let t!: number;` before it for the values its branches define.
 */
function hoistBranchValues(body: Stmt[]): Stmt[] {
  return body.flatMap((s) => {
    if (s.k === "loop") return [{ ...s, body: hoistBranchValues(s.body) }];
    if (s.k !== "if") return [s];
    const lets: Stmt[] = [];
    const visit = (stmts: Stmt[]) =>
      stmts.forEach((t) => {
        if (t.k === "def" && !t.assign) {
          t.assign = true;
          lets.push({ k: "let", name: t.name, hoisted: true, type: t.type });
        } else if (t.k === "if") {
          visit(t.then);
          visit(t.else);
        } else if (t.k === "let") {
          lets.push(t);
        }
      });
    visit(s.then);
    visit(s.else);
    const strip = (stmts: Stmt[]): Stmt[] =>
      stmts
        .filter((t) => t.k !== "let")
        .map((t) =>
          t.k === "if"
            ? { ...t, then: strip(t.then), else: strip(t.else) }
            : t.k === "loop"
              ? { ...t, body: hoistBranchValues(t.body) }
              : t,
        );
    return [...lets, { ...s, then: strip(s.then), else: strip(s.else) }];
  });
}

/** The flag of guardedIf, kept in the environment like a variable (a symbol no user name has). */
const RETURNED = { name: "returned" } as ts.Symbol;

/**
 * What ends a statement list early: `return` in a function body; `break` and `continue` in a loop
 * body (where `done`, the flag the loop test reads, records a break). `flag` marks the rest of the
 * list skipped when an exit sits in only some paths.
 */
interface ExitScope {
  flag: ts.Symbol;
  done?: ts.Symbol;
  isExit(s: ts.Node): boolean;
}

const FUNCTION_SCOPE: ExitScope = { flag: RETURNED, isExit: ts.isReturnStatement };

/** Does every path through this statement exit (a `throw` leaves every scope)? */
function alwaysExits(s: ts.Statement, scope: ExitScope): boolean {
  if (scope.isExit(s) || ts.isThrowStatement(s)) return true;
  if (ts.isBlock(s)) return s.statements.some((t) => alwaysExits(t, scope));
  if (ts.isIfStatement(s))
    return s.elseStatement !== undefined && alwaysExits(s.thenStatement, scope) && alwaysExits(s.elseStatement, scope);
  return false;
}

/** An exit of this scope inside the node (break/continue of nested loops belong to those). */
function containsExit(node: ts.Node, scope: ExitScope): boolean {
  if (scope.isExit(node)) return true;
  if (ts.isFunctionLike(node)) return false;
  // An inner loop's break and continue are its own; a return inside it leaves this loop too.
  if (scope !== FUNCTION_SCOPE && ts.isIterationStatement(node, false)) return containsReturn(node);
  // A switch's breaks are its own; its continues and returns leave the loop.
  if (scope !== FUNCTION_SCOPE && ts.isSwitchStatement(node)) return containsReturn(node) || containsContinue(node);
  return ts.forEachChild(node, (c) => (containsExit(c, scope) ? true : undefined)) ?? false;
}

/** Can the loop end from inside its body: a break of its own, or a return at any depth? */
function leavesLoop(node: ts.Node): boolean {
  if (ts.isBreakStatement(node) || ts.isReturnStatement(node)) return true;
  if (ts.isFunctionLike(node)) return false;
  if (ts.isIterationStatement(node, false) || ts.isSwitchStatement(node)) return containsReturn(node);
  return ts.forEachChild(node, (c) => (leavesLoop(c) ? true : undefined)) ?? false;
}

/** A `continue` of the enclosing loop (not of a loop inside). */
function containsContinue(node: ts.Node): boolean {
  if (ts.isContinueStatement(node)) return true;
  if (ts.isFunctionLike(node) || ts.isIterationStatement(node, false)) return false;
  return ts.forEachChild(node, (c) => (containsContinue(c) ? true : undefined)) ?? false;
}

/**
 * A switch's cases as the branches of an if/else chain, in order, the default last (`tests`
 * undefined). A case's statements run on into the next case's until a `break` (dropped) or an
 * exit; cases with no statements of their own share the next one's branch:
 *   case 1: case 2: a(); break; default: b(); case 3: c();
 *   → [{ tests: [1, 2], [a()] }, { tests: [3], [c()] }, { default: [b(), c()] }]
 */
interface SwitchBranch {
  tests?: ts.Expression[];
  statements: ts.Statement[];
}

function switchBranches(clauses: readonly ts.CaseOrDefaultClause[]): {
  branches: SwitchBranch[];
  exhaustive: boolean;
  allExit: boolean;
} {
  const own = (c: ts.CaseOrDefaultClause): readonly ts.Statement[] =>
    c.statements.length === 1 && ts.isBlock(c.statements[0]) ? c.statements[0].statements : c.statements;
  let allExit = true;
  const from = (j: number): ts.Statement[] => {
    const out: ts.Statement[] = [];
    for (let k = j; k < clauses.length; k++) {
      const statements = own(clauses[k]);
      const last = statements[statements.length - 1];
      if (last && ts.isBreakStatement(last) && !last.label) {
        allExit = false;
        return [...out, ...statements.slice(0, -1)];
      }
      out.push(...statements);
      if (last && endsCase(last)) return out;
    }
    allExit = false;
    return out;
  };
  const branches: SwitchBranch[] = [];
  let fallback: SwitchBranch | undefined;
  let tests: ts.Expression[] = [];
  let isDefault = false;
  clauses.forEach((c, j) => {
    if (ts.isCaseClause(c)) tests.push(c.expression);
    else isDefault = true;
    if (!own(c).length && j < clauses.length - 1) return;
    const statements = from(j);
    if (tests.length) branches.push({ tests, statements });
    if (isDefault) fallback = { statements };
    [tests, isDefault] = [[], false];
  });
  return {
    branches: fallback ? [...branches, fallback] : branches,
    exhaustive: fallback !== undefined,
    allExit,
  };
}

/** A statement after which a case does not run on: return, throw, continue, or an if/else of them. */
function endsCase(s: ts.Statement): boolean {
  if (ts.isReturnStatement(s) || ts.isThrowStatement(s) || ts.isContinueStatement(s)) return true;
  if (ts.isBlock(s)) return s.statements.some(endsCase);
  return ts.isIfStatement(s) && s.elseStatement !== undefined && endsCase(s.thenStatement) && endsCase(s.elseStatement);
}

function containsReturn(node: ts.Node): boolean {
  if (ts.isReturnStatement(node)) return true;
  if (ts.isFunctionLike(node)) return false;
  return ts.forEachChild(node, (c) => (containsReturn(c) ? true : undefined)) ?? false;
}

/** An assignment in a part of `e` that runs only sometimes: right of `&&`, `||`, `??`, or a branch of `?:`. */
function updateRunningSometimes(e: ts.Node, sometimes = false): ts.Node | undefined {
  if (sometimes && isChange(e)) return e;
  if (ts.isFunctionLike(e)) return undefined;
  if (ts.isBinaryExpression(e) && LOGICAL.has(e.operatorToken.kind))
    return updateRunningSometimes(e.left, sometimes) ?? updateRunningSometimes(e.right, true);
  if (ts.isConditionalExpression(e))
    return (
      updateRunningSometimes(e.condition, sometimes) ??
      updateRunningSometimes(e.whenTrue, true) ??
      updateRunningSometimes(e.whenFalse, true)
    );
  return ts.forEachChild(e, (c) => updateRunningSometimes(c, sometimes));
}

/** `n` in `n + 1`, not the `length` of `a.length` or a key `{ n: 1 }`. */
function isValueName(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isPropertyAccessExpression(p) && p.name === id) return false;
  if ((ts.isPropertyAssignment(p) || ts.isMethodDeclaration(p)) && p.name === id) return false;
  return !ts.isTypeNode(p);
}

const isLoop = (s: ts.Node): s is ts.IterationStatement =>
  ts.isWhileStatement(s) || ts.isDoStatement(s) || ts.isForStatement(s) || ts.isForOfStatement(s);

/** `3`, `-1` → the integer; anything else → undefined. */
function integerLiteral(e: ts.Expression): number | undefined {
  const x = skip(e);
  if (ts.isNumericLiteral(x)) return Number.isInteger(Number(x.text)) ? Number(x.text) : undefined;
  if (ts.isPrefixUnaryExpression(x) && x.operator === ts.SyntaxKind.MinusToken) {
    const v = integerLiteral(x.operand);
    return v === undefined ? undefined : -v;
  }
  return undefined;
}

/** i++, ++i, i += 1 → 1; i--, --i, i -= 1 → -1; anything else → undefined. */
function stepOf(e: ts.Expression, symbol: ts.Symbol, checker: ts.TypeChecker): 1 | -1 | undefined {
  const target = assignedIdentifier(e);
  if (!target || checker.getSymbolAtLocation(target) !== symbol) return undefined;
  if (ts.isPrefixUnaryExpression(e) || ts.isPostfixUnaryExpression(e))
    return e.operator === ts.SyntaxKind.PlusPlusToken ? 1 : -1;
  const b = e as ts.BinaryExpression;
  if (integerLiteral(b.right) !== 1) return undefined;
  return b.operatorToken.kind === ts.SyntaxKind.PlusEqualsToken
    ? 1
    : b.operatorToken.kind === ts.SyntaxKind.MinusEqualsToken
      ? -1
      : undefined;
}

const COUNTER_TESTS: Partial<Record<ts.SyntaxKind, Counter["op"]>> = {
  [ts.SyntaxKind.LessThanToken]: "<",
  [ts.SyntaxKind.LessThanEqualsToken]: "<=",
  [ts.SyntaxKind.GreaterThanToken]: ">",
  [ts.SyntaxKind.GreaterThanEqualsToken]: ">=",
};

/** Does the rule of this operation read its output (exp: y)? Then the output must not be overwritten. */
function readsOutput(op: Op | null): boolean {
  if (op === null || op.kind === "call") return false;
  if (op.kind !== "scalar") return true;
  const { grad } = scalarRules[op.rule];
  return grad.kind === "route" || gradientTemplates(grad).some((t) => namesOf(template(t)).has("y"));
}

/** A call other than a pure Math function (Math.random, user functions): not safe to evaluate twice. */
export function hasImpureCall(e: Expr): boolean {
  return hasCall(e, (callee) => !callee.startsWith("Math.") || callee === "Math.random");
}

/** Does the expression call a function `counts` picks? */
function hasCall(e: Expr, counts: (callee: string) => boolean): boolean {
  switch (e.k) {
    case "call":
      return counts(e.callee) || e.args.some((a) => hasCall(a, counts));
    case "unary":
      return hasCall(e.arg, counts);
    case "binary":
      return hasCall(e.left, counts) || hasCall(e.right, counts);
    case "cond":
      return hasCall(e.test, counts) || hasCall(e.then, counts) || hasCall(e.else, counts);
    default:
      return false;
  }
}

interface Branch {
  body: Stmt[];
  env: Map<ts.Symbol, string | undefined>;
}

/**
 * The join of a variable changed in a branch. A name first defined inside one branch becomes the
 * join variable (no new name); the other branch assigns it, by renaming its own definition or by
 * copying the value it had before: then { y_1 = a } else { y_1 = y }.
 */
function join(
  user: string,
  old: string | undefined,
  a: [Branch, string | undefined],
  b: [Branch, string | undefined],
  namer: Namer,
  source: ts.Node,
): string {
  const inside = (name: string | undefined) => name !== undefined && name !== old;
  const joined = inside(a[1]) ? a[1]! : inside(b[1]) ? b[1]! : namer.version(user);
  for (const [branch, name] of [a, b]) {
    if (name === undefined) continue;
    if (inside(name)) rename(branch.body, name, joined);
    else
      branch.body.push({
        k: "def",
        name: joined,
        value: ref(name),
        op: scalarOp("copy"),
        args: [ref(name)],
        assign: true,
        source,
      });
  }
  return joined;
}

/** Renames a name defined in this branch to the join variable; its own `let` moves out. */
function rename(body: Stmt[], from: string, to: string): void {
  const map = new Map([[from, ref(to)]]);
  for (let i = body.length - 1; i >= 0; i--) {
    const s = body[i];
    if (s.k === "let" && s.name === from) body.splice(i, 1);
    else if (s.k === "def") {
      if (s.name === from) [s.name, s.assign] = [to, true];
      s.value = substituteRefs(s.value, map);
      s.args = s.args.map((x) => substituteRefs(x, map));
    } else if (s.k === "store") {
      // u[i] = x, u[x] += 1: a write reads the name too.
      s.value = substituteRefs(s.value, map);
      s.index = substituteRefs(s.index, map);
    } else if (s.k === "array") {
      s.length = substituteRefs(s.length, map);
    } else if (s.k === "if") {
      s.test = substituteRefs(s.test, map);
      rename(s.then, from, to);
      rename(s.else, from, to);
    } else if (s.k === "loop") {
      // The variable may be the loop's header: its writes and its test go with the new name.
      s.test = substituteRefs(s.test, map);
      if (s.counter)
        s.counter = { ...s.counter, from: substituteRefs(s.counter.from, map), to: substituteRefs(s.counter.to, map) };
      if (s.pre) rename(s.pre, from, to);
      s.carried = s.carried.map((c) => (c === from ? to : c));
      s.booleans = s.booleans?.map((c) => (c === from ? to : c));
      rename(s.body, from, to);
    }
  }
}

function substituteRefs(e: Expr, map: Map<string, Expr>): Expr {
  return refsOf(e).size === 0 ? e : substitute(e, map);
}

/** The forward expression of an operation over its atoms, by its rule's value: ("*", [a, b]) → a * b. */
function valueOf(op: ScalarOp, args: Expr[]): Expr {
  const rule = scalarRules[op];
  const names = new Map<string, Expr>(
    rule.operands === "x"
      ? [["x", args[0]]]
      : rule.operands === "a, b"
        ? [
            ["a", args[0]],
            ["b", args[1]],
          ]
        : [],
  );
  return instantiate(template(rule.value), names, args);
}

/**
 * The op whose pattern (a rule's `patterns`, runtime/rules/scalar.ts) the expression is, and the
 * source of its operands: `1 / (1 + Math.exp(-u))` or `1 / (Math.exp(-u) + 1)` → sigmoid, [u].
 */
function recognise(e: ts.Expression): { op: ScalarOp; operands: ts.Expression[] } | undefined {
  for (const [op, rule] of Object.entries(scalarRules) as [ScalarOp, (typeof scalarRules)[ScalarOp]][]) {
    for (const pattern of rule.patterns ?? []) {
      const bound = new Map<string, ts.Expression>();
      if (matches(template(pattern), e, bound)) return { op, operands: [bound.get("x")!] };
    }
  }
  return undefined;
}

/** Is `e` (parentheses aside) the pattern `p`, its names bound to the subexpressions they stand for? */
function matches(p: Template, node: ts.Expression, bound: Map<string, ts.Expression>): boolean {
  const e = skip(node);
  switch (p.k) {
    case "ref": {
      const known = bound.get(p.name);
      if (known) return known.getText() === e.getText();
      bound.set(p.name, e);
      return true;
    }
    case "num":
      return ts.isNumericLiteral(e) && Number(e.text) === p.value;
    case "global":
      return ts.isPropertyAccessExpression(e) && e.getText() === p.text;
    case "unary":
      return (
        ts.isPrefixUnaryExpression(e) &&
        e.operator === (p.op === "-" ? ts.SyntaxKind.MinusToken : ts.SyntaxKind.ExclamationToken) &&
        matches(p.arg, e.operand, bound)
      );
    case "binary":
      return (
        ts.isBinaryExpression(e) &&
        e.operatorToken.getText() === p.op &&
        matches(p.left, e.left, bound) &&
        matches(p.right, e.right, bound)
      );
    case "call":
      return (
        ts.isCallExpression(e) &&
        e.expression.getText() === p.callee &&
        e.arguments.length === p.args.length &&
        p.args.every((a, i) => matches(a, e.arguments[i], bound))
      );
    default:
      return false;
  }
}

const skip = (e: ts.Expression): ts.Expression => (ts.isParenthesizedExpression(e) ? skip(e.expression) : e);

/**
 * if (0.5 < 0.7) {A} else {B} → A: a test over constants is decided here, once, so the forward
 * and backward passes (which simplify tests) agree on the branch and on where its values live.
 */
function foldConstantBranches(body: readonly Stmt[]): Stmt[] {
  return body.flatMap((s): Stmt[] => {
    if (s.k === "if") {
      const then = foldConstantBranches(s.then);
      const otherwise = foldConstantBranches(s.else);
      const known = boolOf(simplify(s.test));
      if (known !== undefined) return known ? then : otherwise;
      return [{ ...s, then, else: otherwise }];
    }
    if (s.k === "loop")
      return [{ ...s, body: foldConstantBranches(s.body), pre: s.pre && foldConstantBranches(s.pre) }];
    return [s];
  });
}

/**
 * Is local array `a` read only by top-level statements after every one that writes it? Then it
 * holds its final values whenever it is read (the backward pass never writes it), and a read can
 * be recomputed: the usual case of an array filled by one loop and read by the next ones.
 */
function finalWhenRead(body: readonly Stmt[], a: string): boolean {
  const writes = (s: Stmt): boolean =>
    (s.k === "store" && s.array === a) ||
    (s.k === "if" && (s.then.some(writes) || s.else.some(writes))) ||
    (s.k === "loop" && s.body.some(writes));
  // Every read of an element is a def (a snapshot, a captured test, an opaque value).
  const reads = (s: Stmt): boolean => {
    let found = false;
    forEachDef([s], (d) => (found ||= refsOf(d.value).has(a)));
    return found;
  };
  const lastWrite = body.reduce((last, s, i) => (writes(s) ? i : last), -1);
  const firstRead = body.findIndex(reads);
  return firstRead < 0 || firstRead > lastWrite;
}

/** Where a name points inside an object parameter: parameter index and field keys. */
interface ObjectPath {
  param: number;
  keys: string[];
}

const pathKey = (at: ObjectPath) => `${at.param}.${at.keys.join(".")}`;

/**
 * Every name in fn for an object parameter or part of one, in source order:
 *   (model: Model) { const { W1, layer } = model; const b = layer.b; }
 *   → model [0], W1 [0, W1], layer [0, layer], b [0, layer, b]
 * Only `const` declarations name parts (the fence refuses `let` for objects and arrays of them).
 */
function objectPaths(fn: FunctionNode, checker: ts.TypeChecker): Map<ts.Symbol, ObjectPath> {
  const paths = new Map<ts.Symbol, ObjectPath>();
  const bind = (name: ts.BindingName, at: ObjectPath): void => {
    if (ts.isIdentifier(name)) {
      const symbol = checker.getSymbolAtLocation(name);
      if (symbol) paths.set(symbol, at);
    } else if (ts.isObjectBindingPattern(name)) {
      for (const el of name.elements) {
        const key = el.propertyName ?? el.name;
        if (ts.isIdentifier(key)) bind(el.name, { param: at.param, keys: [...at.keys, key.text] });
      }
    }
  };
  const pathOf = (e: ts.Expression): ObjectPath | undefined => {
    const x = skipWrappers(e);
    if (ts.isIdentifier(x)) {
      const symbol = checker.getSymbolAtLocation(x);
      return symbol && paths.get(symbol);
    }
    if (!ts.isPropertyAccessExpression(x)) return undefined;
    const base = pathOf(x.expression);
    return base && { param: base.param, keys: [...base.keys, x.name.text] };
  };
  // Objects, and arrays too: `const b = a` names the parameter's array, it does not copy it.
  fn.parameters.forEach((p, i) => {
    const tree = typeTree(parameterType(p, checker), checker);
    if (Array.isArray(tree) || (typeof tree === "string" && tree !== "number")) bind(p.name, { param: i, keys: [] });
  });
  const visit = (n: ts.Node): void => {
    if (ts.isVariableDeclaration(n) && n.initializer && ts.getCombinedNodeFlags(n) & ts.NodeFlags.Const) {
      const at = pathOf(n.initializer);
      if (at) bind(n.name, at);
    }
    ts.forEachChild(n, visit);
  };
  if (fn.body) visit(fn.body);
  return paths;
}

/** A name for a destructured parameter in generated code: `{ W, b }: Model` → model; untyped → params. */
function parameterName(p: ts.ParameterDeclaration): string {
  const type = p.type && ts.isTypeReferenceNode(p.type) ? p.type.typeName : undefined;
  const text = type ? (ts.isIdentifier(type) ? type.text : type.right.text) : "params";
  const name = text[0].toLowerCase() + text.slice(1);
  return RESERVED.has(name) ? "params" : name;
}

/** Words that are valid field names but not variable names: such a field is named by its path. */
const RESERVED = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with " +
    "yield let static implements interface package private protected public await arguments eval undefined NaN Infinity"
  )
    .split(" ")
    .concat([...GENERATED_GLOBALS]),
);

/** A return inside an if or block, so the result is assigned on several paths. */
function hasNestedReturn(body: ts.Block): boolean {
  return body.statements.some((s) => !ts.isReturnStatement(s) && containsExit(s, FUNCTION_SCOPE));
}

/** Names the user declares in the body; they keep their names, generated ones go around them. */
function declaredNames(fn: FunctionNode): string[] {
  const names: string[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name)) names.push(n.name.text);
    // Not field names: `model.W`, `{ loss: l }`, `{ W: weights } = model`.
    const isKey =
      (ts.isPropertyAccessExpression(n.parent) && n.parent.name === n) ||
      (ts.isPropertyAssignment(n.parent) && n.parent.name === n) ||
      (ts.isBindingElement(n.parent) && n.parent.propertyName === n);
    if (ts.isIdentifier(n) && !isKey) names.push(n.text);
    ts.forEachChild(n, visit);
  };
  if (fn.body) visit(fn.body);
  return names;
}

/**
 * A call of a function in the caller's recursion cycle (see callsBack), by a name the generated
 * functions can put `_forward` after: `g(x)`, `Model.g(x)`.
 */
function isRecursiveCall(
  call: ts.CallExpression,
  target: Differentiable,
  caller: FunctionNode,
  checker: ts.TypeChecker,
): boolean {
  const named =
    ts.isIdentifier(call.expression) ||
    (ts.isPropertyAccessExpression(call.expression) && ts.isIdentifier(call.expression.expression));
  return named && target.place !== "member" && callsBack(checker, target.fn, caller);
}

/**
 * `g_grad` for each call `g(...)` of a differentiable function, and `g_forward`, `g_backward` for a
 * recursive one: names the generated functions call.
 */
function calleeGradientNames(fn: FunctionNode, checker: ts.TypeChecker): Set<string> {
  const names = new Set<string>();
  const visit = (n: ts.Node): void => {
    if (ts.isCallExpression(n) && ts.isIdentifier(n.expression)) {
      const target = resolveFunction(checker, n.expression);
      if (target && target !== "unmarked") names.add(`${n.expression.text}_grad`);
      if (target && target !== "unmarked" && isRecursiveCall(n, target, fn, checker)) {
        const { forward, backward } = generatedNames(n.expression.text);
        names.add(forward).add(backward);
      }
    }
    ts.forEachChild(n, visit);
  };
  if (fn.body) visit(fn.body);
  return names;
}

/** `const num = x + sigy; // numerator` → "numerator". */
function trailingComment(s: ts.Statement): string | undefined {
  const text = s.getSourceFile().text;
  const range = ts.getTrailingCommentRanges(text, s.getEnd())?.[0];
  if (!range || range.kind !== ts.SyntaxKind.SingleLineCommentTrivia) return undefined;
  return text.slice(range.pos + 2, range.end).trim();
}
