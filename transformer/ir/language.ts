// The language tsgrad differentiates, one entry per construct: what it is (as the README names
// it), whether it is accepted, and, if not, the diagnostic code and the message, saying what is
// unsupported and what to write instead. The fence, the stager and the files that join them
// refuse through this table alone (`throw refuse("forIn", node)`), the operator sets they test
// are listed here once, and the README's "When tsgrad says no" table is generated from it
// (`npm run docs:language`; test/language.table.test.ts checks both). New language work adds or
// flips rows here, not refusal sites.
//   forIn:          refused  TS94002  "`for...in` iterates over object keys, ...; use a counting `for` loop"
//   mutableCapture: refused  TS94008  (name) => "`x` is a mutable variable outside ..."
//   logical:        accepted "`&& || !`", in conditions only
// The Math functions with a derivative rule are the keys of runtime/rules/scalar.ts, not listed here.

import ts from "typescript";
import { Code, DiffError } from "./diagnostics.js";
import {
  type ScalarOp,
  constantSources,
  isScalarOp,
  piecewiseConstant,
  scalarRules,
} from "../../runtime/rules/scalar.js";

// ---- operators ----------------------------------------------------------------------------

const K = ts.SyntaxKind;
const text = (kind: ts.SyntaxKind): string => ts.tokenToString(kind)!;

/** `+ - * / % **`: each an operation with a rule in runtime/rules/scalar.ts, by its own text. */
const ARITHMETIC_TOKENS = [
  K.PlusToken,
  K.MinusToken,
  K.AsteriskToken,
  K.SlashToken,
  K.PercentToken,
  K.AsteriskAsteriskToken,
] as const;
/** `+= -= *= /= %= **=`: x op= e is x = x op e. */
const COMPOUND_TOKENS = [
  K.PlusEqualsToken,
  K.MinusEqualsToken,
  K.AsteriskEqualsToken,
  K.SlashEqualsToken,
  K.PercentEqualsToken,
  K.AsteriskAsteriskEqualsToken,
] as const;
/** The writes of an element of an array the function creates (with `++` and `--`): `=` and every compound one. */
const ELEMENT_WRITE_TOKENS = [K.EqualsToken, ...COMPOUND_TOKENS] as const;
/** `&& || ??`: in conditions, and on numbers as the choice they make (`w || 1` is `w ? w : 1`). */
const LOGICAL_TOKENS = [K.AmpersandAmpersandToken, K.BarBarToken, K.QuestionQuestionToken] as const;
const BITWISE_TOKENS = [
  K.AmpersandToken,
  K.BarToken,
  K.CaretToken,
  K.LessThanLessThanToken,
  K.GreaterThanGreaterThanToken,
  K.GreaterThanGreaterThanGreaterThanToken,
] as const;

/** The scalar rule of an operator's text: "+" → the rule "+" (every operator the table accepts has one). */
const rule = (op: string): ScalarOp => {
  if (!isScalarOp(op))
    throw new Error(`tsgrad: the operator \`${op}\` is accepted but runtime/rules/scalar.ts has no rule for it`);
  return op;
};
/** `+` → "+": the binary operators staged as the operation of the same name. */
export const ARITHMETIC: Partial<Record<ts.SyntaxKind, ScalarOp>> = Object.fromEntries(
  ARITHMETIC_TOKENS.map((k) => [k, rule(text(k))]),
);
/** `+=` → "+": the compound assignments, by the operation they apply. */
export const COMPOUND: Partial<Record<ts.SyntaxKind, ScalarOp>> = Object.fromEntries(
  COMPOUND_TOKENS.map((k) => [k, rule(text(k).slice(0, -1))]),
);
export const ELEMENT_WRITES: ReadonlySet<ts.SyntaxKind> = new Set(ELEMENT_WRITE_TOKENS);
export const LOGICAL: ReadonlySet<ts.SyntaxKind> = new Set(LOGICAL_TOKENS);
export const BITWISE: ReadonlySet<ts.SyntaxKind> = new Set(BITWISE_TOKENS);

/** `=`, `+=`, ..., `??=`: any assignment operator (the stager takes `=` and COMPOUND). */
export function isAssignment(op: ts.SyntaxKind): boolean {
  return op >= ts.SyntaxKind.FirstAssignment && op <= ts.SyntaxKind.LastAssignment;
}

export function isIncrement(op: ts.SyntaxKind): boolean {
  return op === ts.SyntaxKind.PlusPlusToken || op === ts.SyntaxKind.MinusMinusToken;
}

/** Global numbers, read as constants: `NaN`, `Infinity`. */
export const NUMERIC_GLOBALS: readonly string[] = ["NaN", "Infinity"];
/** `Number.EPSILON`, ...: the constants of `Number`. */
export const NUMBER_CONSTANTS: readonly string[] = [
  "EPSILON",
  "MAX_VALUE",
  "MIN_VALUE",
  "MAX_SAFE_INTEGER",
  "MIN_SAFE_INTEGER",
  "POSITIVE_INFINITY",
  "NEGATIVE_INFINITY",
  "NaN",
];

/** Tests of a value's kind, in conditions (no gradient flows through a condition): `Number.isFinite(x)`. */
export const TYPE_TESTS: readonly string[] = [
  "isNaN",
  "isFinite",
  "Number.isNaN",
  "Number.isFinite",
  "Number.isInteger",
  "Number.isSafeInteger",
  "Array.isArray",
  "ArrayBuffer.isView",
];

/** The Math functions with a derivative rule, `Math.exp` → "exp": runtime/rules/scalar.ts's keys. */
export const MATH_RULES: readonly string[] = Object.keys(scalarRules)
  .filter((k) => k.startsWith("Math."))
  .map((k) => k.slice("Math.".length));
/** The Math functions that pass no gradient (piecewise constant, or random). */
export const MATH_PIECEWISE: readonly string[] = [...piecewiseConstant].map((k) => k.slice("Math.".length));
export const MATH_CONSTANT_SOURCES: readonly string[] = [...constantSources].map((k) => k.slice("Math.".length));

const spaced = (tokens: readonly ts.SyntaxKind[]) => tokens.map(text).join(" ");
/** "= += -= *= /= %= or **=": what an assignment may use. */
const assignmentList = (() => {
  const all = ["=", ...COMPOUND_TOKENS.map(text)];
  return `${all.slice(0, -1).join(" ")} or ${all[all.length - 1]}`;
})();

// ---- the table ----------------------------------------------------------------------------

/** What part of the language an entry is about. */
export type Kind =
  | "statement"
  | "loop"
  | "declaration"
  | "expression"
  | "operator"
  | "math"
  | "call"
  | "parameter"
  | "return"
  | "function"
  | "derivative"
  | "index"
  | "module";

/** A message, or a message of the names it interpolates. */
type Text<A> = string | ((args: A) => string);

export interface Accepted {
  kind: Kind;
  /** As the README's "What can be differentiated" names it (the test finds it there). */
  what: string;
  accepted: true;
  /** Where it is accepted, when not everywhere ("in conditions only"). */
  note?: string;
}

export interface Refused<A = undefined> {
  kind: Kind;
  /** As the README's "When tsgrad says no" table names it (entries with one `what` make one phrase there). */
  what: string;
  accepted: false;
  code: Code;
  /** What is unsupported. */
  problem: Text<A>;
  /** What to write instead, after `join` (default "; "); none when the problem says it. */
  instead?: Text<A>;
  join?: string;
}

export type Construct = Accepted | Refused<any>;

const yes = (kind: Kind, what: string, note?: string): Accepted => ({
  kind,
  what,
  accepted: true,
  ...(note ? { note } : {}),
});

function no<A = undefined>(
  kind: Kind,
  code: Code,
  what: string,
  problem: Text<A>,
  instead?: Text<A>,
  join?: string,
): Refused<A> {
  return {
    kind,
    what,
    accepted: false,
    code,
    problem,
    ...(instead !== undefined ? { instead } : {}),
    ...(join !== undefined ? { join } : {}),
  };
}

const IN_FN = "in a @differentiable function";
const DERIVATIVE_FORMS =
  "@derivative goes on a function declaration, or on a `const` holding an arrow function or function expression";
const OUT_OF_RANGE = "an element read or write out of range whenever it runs";
const NON_DIFFERENTIABLE_PARAMETER =
  "parameters of any other type (`any`, `unknown`, functions, integer typed arrays, a union of numbers with other kinds, ...)";
const PARAMETER_TYPES =
  "tsgrad takes numbers, arrays of numbers (`number[]`, tuples, `Float64Array`, `Float32Array`, `ArrayLike<number>`), `Matrix`, data (booleans, strings, enums, `Int32Array` labels) and objects of them";
const READ_ONLY_PARAMETERS = "writes to parameters' elements or fields";
const OBJECTS_PASSED = "objects, arrays and matrices passed on or copied";
const PROPERTY_READS = "property reads of anything but a parameter's fields";
const UNUSABLE_DERIVATIVE =
  "a `@derivative` tsgrad cannot use (wrong parameters or return type, no such function, not exported, overloaded, ...)";

export const LANGUAGE = {
  // -- statements
  declarations: yes("statement", "`const` and `let`"),
  reassignment: yes("statement", "reassignment"),
  compoundAssignment: yes("operator", `\`${spaced(COMPOUND_TOKENS)}\``),
  increments: yes("statement", "`++` and `--` as statements"),
  ifElse: yes("statement", "`if`/`else`"),
  ternary: yes("expression", "ternaries"),
  earlyReturn: yes("statement", "early returns"),
  switch: yes("statement", "`switch`", "with `case`, `default`, fall-through, and `break` ending a case"),
  switchBreak: no(
    "statement",
    Code.UnsupportedStatement,
    "`break` inside a `case` but at its end",
    "a `break` that leaves a `switch` from inside an `if` or a block of a case is not supported",
    "end the case with its `break` (put the rest in an `else`)",
  ),
  typeTests: yes(
    "expression",
    `\`typeof\` and \`${TYPE_TESTS.join(" ")}\``,
    "as conditions and booleans (no gradient flows through a condition)",
  ),
  throw: yes("statement", "`throw`", "a guard of the forward pass: a call that returns never met it"),
  loops: yes("loop", "`for`, `while` and `do ... while`"),
  loopExits: yes("loop", "`break`, `continue` and `return` inside them", "without labels"),
  forOf: yes(
    "loop",
    "`for...of` over an array: a parameter, a module table, an array the function made, the rows of a `number[][]` or the records of an array of records",
  ),
  otherStatement: no(
    "statement",
    Code.UnsupportedStatement,
    "statements other than declarations, assignments, `if`, `switch`, loops, `throw` and `return` (`try`, `with`, ...)",
    (a: { keyword: string }) => `\`${a.keyword}\` statements are not supported ${IN_FN}`,
    "use declarations, assignments, if/else, switch, loops, throw and return",
  ),
  unstagedStatement: no(
    "statement",
    Code.UnsupportedStatement,
    "statements other than declarations, assignments, `if`, `switch`, loops, `throw` and `return` (`try`, `with`, ...)",
    `this statement is not supported ${IN_FN}`,
  ),
  returnWithoutValue: no(
    "statement",
    Code.UnsupportedStatement,
    "`return` without a value",
    "`return` needs a value: a @differentiable function returns a number on every path",
  ),
  arrayReturnNotLast: no(
    "statement",
    Code.UnsupportedStatement,
    "returning an array or object anywhere but in one `return` at the end",
    "a @differentiable function returns its array with one `return` at the end of the function for now",
  ),
  objectReturnNotLast: no(
    "statement",
    Code.UnsupportedStatement,
    "returning an array or object anywhere but in one `return` at the end",
    "a @differentiable function returns its object with one `return` at the end of the function for now",
  ),
  matrixOps: yes(
    "call",
    "the runtime's [matrix operations](#matrix-operations) anywhere in the function: in branches (a layer chosen by a flag: `if`, `switch`, `?:`) and loops (a recurrent network's time steps), and `Matrix` variables given another matrix there",
    "each op differentiated by its rule; a gradient shared by the branches made once before the `if`; the matrices each iteration makes kept whole for its backward iteration",
  ),
  matrixOpInCallback: no(
    "statement",
    Code.UnsupportedStatement,
    "matrix operations inside callbacks and helpers tsgrad inlines",
    "matrix operations inside a callback (`xs.map(...)`, `forEach`) or a helper tsgrad inlines are not supported yet",
    "write the loop the callback stands for (`for (let i = 0; i < xs.length; i++)`), or mark the helper @differentiable",
  ),
  sideEffect: no(
    "statement",
    Code.SideEffect,
    "expression statements other than assignments (side effects)",
    "only assignments to local variables may stand as statements in a @differentiable function",
    "remove this expression or move it outside",
  ),

  // -- loops
  forIn: no(
    "loop",
    Code.UnsupportedLoop,
    "`for...in`",
    "`for...in` iterates over object keys, which have no derivative",
    "use a counting `for` loop",
  ),
  forAwait: no("loop", Code.UnsupportedLoop, "`for await`", "`for await` cannot be differentiated"),
  forOfNonArray: no(
    "loop",
    Code.UnsupportedLoop,
    "`for...of` over anything but an array",
    "`for...of` is supported over an array (a parameter, a table, an array the function made)",
    "for anything else write `for (let i = 0; i < n; i++)`",
  ),
  forOfEntries: yes("loop", "`for (const [i, v] of xs.entries())`", "i the index, v the element"),
  forOfUnstaged: no(
    "loop",
    Code.UnsupportedLoop,
    "`for...of` over anything but an array",
    "`for...of` goes over an array here (a parameter, a table, an array the function made)",
  ),
  forOfBinding: no(
    "loop",
    Code.UnsupportedLoop,
    "`for...of` with anything but one new variable",
    "`for...of` needs one new variable, `for (const v of a)`, or an index and an element over `entries()`: `for (const [i, v] of a.entries())`",
  ),
  labelledJump: no(
    "loop",
    Code.UnsupportedLoop,
    "labelled statements and labelled `break` and `continue`",
    "labelled `break` and `continue` are not supported",
    "use a flag variable to leave the outer loop",
  ),
  labelledStatement: no(
    "loop",
    Code.UnsupportedLoop,
    "labelled statements and labelled `break` and `continue`",
    `labelled statements are not supported ${IN_FN}`,
    "remove the label and use a flag variable",
  ),

  // -- declarations
  var: yes("declaration", "`var`", "where it behaves like `let`: used only inside its block, after it"),
  varRedeclared: no(
    "declaration",
    Code.UnsupportedDeclaration,
    "a `var` declared twice, or naming a parameter",
    (a: { name: string }) =>
      `\`${a.name}\` is declared with \`var\` a second time (or it names a parameter), which assigns it where a \`let\` would declare a new variable`,
    "declare it once and assign it after (`s = s * y`)",
  ),
  varOutsideBlock: no(
    "declaration",
    Code.UnsupportedDeclaration,
    "`var` used outside its block or before its declaration",
    (a: { name: string }) =>
      `\`${a.name}\` is declared with \`var\` and used outside the block that declares it (or before the declaration), where tsgrad cannot follow its value`,
    "declare it with `let` before the block, where every use can see it",
  ),
  letParameterPart: no(
    "declaration",
    Code.UnsupportedDeclaration,
    "`let` naming a parameter's array or field",
    "a parameter's arrays and fields are read-only: name them with `const` (`const { W } = model`, `const W = model.W`, `const b = a`)",
  ),
  destructuring: no(
    "declaration",
    Code.UnsupportedDeclaration,
    "destructuring of anything but an object parameter, an array parameter or a table",
    "destructuring is supported for the fields of an object parameter (`const { W, b } = model`)",
    "declare one variable per value",
  ),
  elementDestructuring: yes(
    "declaration",
    "`const [x, y] = p` of an array parameter or a table",
    "names for its first elements, no rest or defaults",
  ),
  arrayDestructuring: no(
    "declaration",
    Code.UnsupportedDeclaration,
    "destructuring of anything but an object parameter, an array parameter or a table",
    `array destructuring is supported only of an array parameter or a table of constants, into plain names, ${IN_FN}`,
    "read the elements by index",
  ),
  destructuringRest: no(
    "declaration",
    Code.UnsupportedDeclaration,
    "`...rest`, defaults and computed keys in destructuring",
    "a rest element (`...rest`) would copy the object",
    "name the fields you read",
  ),
  destructuringDefault: no(
    "declaration",
    Code.UnsupportedDeclaration,
    "`...rest`, defaults and computed keys in destructuring",
    "defaults in destructuring are not supported: the fields of a parameter are all required",
  ),
  destructuringComputedKey: no(
    "declaration",
    Code.UnsupportedDeclaration,
    "`...rest`, defaults and computed keys in destructuring",
    "computed or quoted keys are not supported in destructuring",
    "write the field name",
  ),
  arraysAnywhere: yes(
    "declaration",
    "arrays created in loops and branches, and after an early `return`",
    "made once, before the loop or branch, and filled again each time (no allocation per iteration)",
  ),
  arrayRebinding: yes(
    "statement",
    "`let` arrays given another array: double buffering (`const tmp = u; u = next; next = tmp`), a new state each step (`h = step(x, h)`)",
    "the arrays change places, no element is copied; the backward pass moves them and their gradients back",
  ),
  arrayPush: yes(
    "statement",
    "`push` and `pop` on an array created empty (`const out: number[] = []; out.push(v)`, `const v = out.pop()!`)",
    "each push a store at the count so far, each pop a read of the last element and the count one less; loops over the array go to the count at their start",
  ),
  pushArrayInLoop: no(
    "declaration",
    Code.UnsupportedDeclaration,
    "an empty array grown by `push`, created in a loop or a branch",
    "an array grown by `push` must be created at the function's top level, before any loop or branch",
    "create it (`const out: number[] = []`) before the loop, or make it of its final length (`new Array<number>(n).fill(0)`) and write its elements",
  ),
  poppedReturned: no(
    "statement",
    Code.UnsupportedStatement,
    "returning an array shortened by `pop`",
    (a: { name: string }) =>
      `the function returns \`${a.name}\`, which \`pop\` shortens: tsgrad keeps the elements a pop leaves behind, for the backward pass`,
    "return a copy (`return out.slice()`), which has the length the pops left",
  ),
  moduleNumbers: yes(
    "expression",
    "module-level `let` numbers (`let gravity = 9.81`)",
    "read where the code reads them, into a value the backward pass keeps",
  ),
  moduleLetElsewhere: no(
    "call",
    Code.MutableCapture,
    "a call of a function of another module, or a method, that reads a module-level `let`",
    (a: { name: string }) =>
      `\`${a.name}\` reads a module-level \`let\` (itself or through its calls), and the backward pass would run it again when the variable may have changed`,
    "pass the value in as a parameter, or move the function into this module (tsgrad then inlines it here)",
  ),
  recordVariables: yes(
    "declaration",
    "`let` variables naming records of an array of records (`let b = pts[n - 1]`, then `a = b; b = pts[i]`)",
    "each holds the index of the record it names",
  ),
  recordVariableForm: no(
    "statement",
    Code.UnsupportedStatement,
    "a `let` record variable given anything but a record of one array of records",
    (a: { name: string }) =>
      `\`${a.name}\` names records of one array of records by their index; it can be given \`pts[i]\` or another such variable of the same array, and nothing else`,
    "read the numbers you need into variables of their own",
  ),
  arrayLengthInLoop: no(
    "declaration",
    Code.UnsupportedDeclaration,
    "arrays created in a loop with a length that changes in it",
    (a: { name: string }) =>
      `this array is made once, before the loop or branch it is in, and reused; its length must be known there, and \`${a.name}\` is not`,
    "give it a length fixed before the loop (the largest one it needs), or create it before the loop",
  ),
  arraysAliased: no(
    "statement",
    Code.UnsupportedStatement,
    "two variables holding one array at the end of a loop iteration or a branch",
    (a: { a: string; b: string }) =>
      `\`${a.a}\` and \`${a.b}\` hold the same array at the end of this loop iteration or branch: a write through one would change the other`,
    "swap the two arrays (`const tmp = a; a = b; b = tmp`), or give one a copy (`a = b.slice()`)",
  ),
  arrayRebindForm: no(
    "statement",
    Code.UnsupportedStatement,
    "`let` arrays given something but a local array, a new array or a helper's result",
    (a: { name: string }) =>
      `\`${a.name}\` holds an array the function made; it can be given another such array, a new array, or an array an inlined helper returns, and nothing else`,
    "give it a local array by name, a new array (`new Float64Array(n)`, `xs.slice()`, `xs.map(f)`), or a helper's result",
  ),
  partRebound: no(
    "statement",
    Code.UnsupportedStatement,
    "a `let` array given a part of an array whose bounds are known only in a loop or a branch",
    (a: { name: string }) =>
      `\`${a.name}\` is given a part of an array whose bounds are known only inside this loop or branch: tsgrad makes that part once, before it, as long as the whole array`,
    (a: { name: string }) =>
      `name the part in a \`const\` inside the loop or branch (\`const ${a.name}Part = xs.slice(i, i + 2)\`) and read it there`,
  ),
  arrayRebindIterated: no(
    "statement",
    Code.UnsupportedStatement,
    "a `let` array given another array inside a loop or callback going over it",
    (a: { name: string }) =>
      `this loop goes over the array \`${a.name}\` held when it started, and here \`${a.name}\` is given another array before the loop ends`,
    "go over it with a counting loop (`for (let i = 0; i < n; i++)`), or give it the other array after the loop",
  ),
  arrayReturnedRebound: no(
    "statement",
    Code.UnsupportedStatement,
    "returning an array that a loop or a branch gives another array",
    "the function returns an array whose variable a loop or a branch gives another array",
    "return a copy made after the loop (`return u.slice()`), or return a number computed from it",
  ),
  nestedDeclaration: no(
    "declaration",
    Code.UnsupportedDeclaration,
    "functions, closures and classes inside a @differentiable function",
    `nested functions and classes are not supported ${IN_FN}`,
    "move them out of it: to module level, or beside it in the function that encloses it (a closure), marked @differentiable",
  ),
  localHelpers: yes(
    "declaration",
    "functions declared in the function (`const toRad = (d: number) => (d * Math.PI) / 180`), called by name",
    "inlined where they are called",
  ),
  localHelperForm: no(
    "declaration",
    Code.UnsupportedDeclaration,
    "a function declared in the function that assigns outside itself, returns early, takes patterns or calls itself",
    (a: { what: string }) =>
      `tsgrad inlines a function declared in a @differentiable function where it is called, and this one ${a.what}`,
    "move it to module level (tsgrad differentiates it there as written)",
  ),
  closure: no(
    "declaration",
    Code.UnsupportedDeclaration,
    "functions, closures and classes inside a @differentiable function",
    `closures are not supported ${IN_FN}`,
    "move the function out of it (to module level, or beside it in the function that encloses it) and mark it @differentiable",
  ),
  hiddenGlobal: no(
    "declaration",
    Code.UnsupportedDeclaration,
    "locals named `Math`, `Float64Array`, `Int32Array` or `Array`",
    (a: { name: string }) =>
      `a local named \`${a.name}\` would hide the global \`${a.name}\` the generated gradient uses`,
    "rename it",
  ),

  // -- expressions and operators
  numbers: yes("expression", "`number`s"),
  arithmetic: yes("operator", `\`${spaced(ARITHMETIC_TOKENS)}\``),
  unaryMinus: yes("operator", "unary minus"),
  comparisons: yes("operator", "comparisons", "pass no gradient"),
  logical: yes("operator", "`&& || ?? !`", "on numbers as the choices they make (`w || 1` is `w ? w : 1`)"),
  assignmentInExpression: yes(
    "expression",
    "assignments, `++` and `--` inside expressions",
    "and the comma operator: `a[i++]`, `x = y = 0`, `while ((n -= 1) > 0)`",
  ),
  assignmentSometimes: no(
    "expression",
    Code.UnsupportedExpression,
    "assignments in conditions that run only sometimes: right of `&&`, `||`, `??`, in a branch of `?:`, in a `case` value",
    "an assignment on the right of `&&`, `||` or `??`, in a branch of `?:` or in a `case` value of a condition runs only when that part is evaluated",
    "write it as an `if` statement before the condition",
  ),
  booleans: yes("expression", "boolean locals"),
  moduleConstants: yes("expression", "module-level constants"),
  constantTables: yes(
    "expression",
    "module-level tables of numbers",
    "as constants: a `const`, not exported, only read in its file",
  ),
  recordTables: yes(
    "expression",
    "module-level tables of records (`const DATA = [{ x: 0.1, y: 1 }, ...]`), read as `DATA[i].x` and `p.x` of `for (const p of DATA)`",
    "as constants, like tables of numbers; never an element whole",
  ),
  moduleScratch: yes(
    "expression",
    "module-level scratch arrays the function writes (`const tmp = new Float64Array(3)`, gl-matrix's `sub(tmp, b, a)`)",
    "as a local array of the generated code, a copy of the module array's contents made at its start; the gradient never writes the module array",
  ),
  changingTable: no(
    "expression",
    Code.UnsupportedExpression,
    "module-level arrays that may change, but scratch arrays the function writes itself (exported or `let` ones, ones the function only reads, ones a function it calls names, ones passed to a `@differentiable` function)",
    (a: { name: string }) =>
      `\`${a.name}\` is an array outside this function that could change between the forward and the backward pass`,
    "tsgrad reads a module-level array as constant data when it is a `const`, not exported, and only read (elements, `length`, `for...of`) in its file, and as the function's own scratch copy when the function writes it and no function it calls names it; or pass it in as a parameter",
    ": ",
  ),
  numericGlobals: yes(
    "expression",
    `\`${NUMERIC_GLOBALS.join(" ")}\` and \`${NUMBER_CONSTANTS.map((c) => `Number.${c}`).join(" ")}\``,
  ),
  thisFields: yes(
    "expression",
    "`this.field` in methods",
    "read once per call: a constant of the instance, kept in vjp's cache",
  ),
  compoundOperator: no(
    "operator",
    Code.UnsupportedExpression,
    `assignment operators other than \`${["=", ...COMPOUND_TOKENS.map(text)].join(" ")}\``,
    (a: { operator: string }) => `\`${a.operator}\` has no derivative`,
    `use ${assignmentList}`,
  ),
  bitwise: no(
    "operator",
    Code.UnsupportedExpression,
    "bitwise operators",
    "bitwise operators have no derivative",
    "compute this value outside the function",
  ),
  arrayFromLength: yes(
    "declaration",
    "`Array.from({ length: n }, (_, i) => ...)`",
    "the loop filling the array it makes, the callback inlined",
  ),
  arrayLiterals: yes(
    "declaration",
    "array literals of numbers, declared (`const v = [x * 2, y, 0.5]`)",
    "an array the function creates, its elements written in order",
  ),
  arrayLiteral: no(
    "expression",
    Code.UnsupportedExpression,
    "array literals but of numbers in a declaration",
    "an array literal is taken as the value of a declared array of numbers (`const v = [a, b]`) so far",
    "declare it (`const v = [a, b];`) and use `v`, or take the array as a parameter",
  ),
  objectLiteral: no(
    "expression",
    Code.UnsupportedExpression,
    "object literals but the returned one",
    "objects are not supported yet in @differentiable functions",
    "pass the fields as number parameters",
  ),
  returnedObjectField: no(
    "expression",
    Code.UnsupportedExpression,
    "object literals but the returned one",
    "a returned object lists its fields by name (`{ loss, h: out }`): no spreads, methods or computed keys",
  ),
  arrayReturnedTwice: no(
    "expression",
    Code.UnsupportedExpression,
    "one array returned in two fields",
    (a: { name: string; first: string; second: string }) =>
      `the array \`${a.name}\` is returned in two fields (\`${a.first}\` and \`${a.second}\`)`,
    "return it in one (the caller can read it twice)",
  ),
  otherExpression: no(
    "expression",
    Code.UnsupportedExpression,
    "other expressions (`new`, template strings, strings but compared ones, ...)",
    (a: { kind: string }) => `${a.kind} is not supported here ${IN_FN}`,
    "compute it outside and pass the number in",
  ),
  unstagedExpression: no(
    "expression",
    Code.UnsupportedExpression,
    "other expressions (`new`, template strings, strings but compared ones, ...)",
    (a: { kind: string }) => `${a.kind} is not supported here ${IN_FN}`,
  ),
  writeParameterElement: no(
    "expression",
    Code.UnsupportedExpression,
    READ_ONLY_PARAMETERS,
    "only arrays the function creates (`const h = new Float64Array(n)`) can be written in a @differentiable function; parameters are read-only (the backward pass reads them as they were)",
    "copy into a local array first",
    ": ",
  ),
  writeParameterField: no(
    "expression",
    Code.UnsupportedExpression,
    READ_ONLY_PARAMETERS,
    "an object parameter's fields are read-only (the backward pass reads them as they were)",
    "compute the new value in a local",
  ),
  assignmentTarget: no(
    "expression",
    Code.UnsupportedExpression,
    READ_ONLY_PARAMETERS,
    "only local variables and elements of arrays the function creates can be assigned in a @differentiable function",
  ),
  elementCompoundWrite: no(
    "operator",
    Code.UnsupportedExpression,
    "element writes other than `=`, `+= -= *= /= %= **=`, `++` and `--`",
    "only `=`, `+= -= *= /= %= **=`, `++` and `--` write array elements for now",
    "read the element into a local, compute, and assign it",
  ),
  elementCompoundUnstaged: no(
    "operator",
    Code.UnsupportedExpression,
    "element writes other than `=`, `+= -= *= /= %= **=`, `++` and `--`",
    (a: { operator: string }) => `\`${a.operator}\` on an array element is not supported yet`,
    "write `h[j] = h[j] * v` with a local first",
  ),
  elementOfNonArray: no(
    "expression",
    Code.UnsupportedExpression,
    "elements of anything but array parameters and arrays the function creates",
    "only elements of array parameters (number[] or Float64Array) and of arrays the function creates can be read in a @differentiable function",
  ),
  elementOfUntracked: no(
    "expression",
    Code.UnsupportedExpression,
    "elements of anything but array parameters and arrays the function creates",
    "this array is neither a parameter nor created here with `new Float64Array(n)` or `new Array(n).fill(0)`",
    "tsgrad cannot follow its elements",
  ),
  propertyRead: no(
    "expression",
    Code.UnsupportedExpression,
    PROPERTY_READS,
    (a: { read: string }) =>
      `\`${a.read}\` reads a property of a value that is not a parameter, a field of one or \`this\` ${IN_FN}`,
    "pass the number in as a parameter (or as a field of an object parameter)",
  ),
  matrixMember: no(
    "expression",
    Code.UnsupportedExpression,
    PROPERTY_READS,
    (a: { member: string }) => `a matrix's \`${a.member}\` cannot be read ${IN_FN}`,
    "use its `rows` and `cols`, and tsgrad's matrix operations for its entries",
  ),
  bufferField: no(
    "expression",
    Code.UnsupportedExpression,
    OBJECTS_PASSED,
    (a: { field: string }) =>
      `the field \`${a.field}\` can only be indexed, measured (\`.length\`) or passed to tsgrad's matrix operations ${IN_FN} so far`,
  ),
  objectPassed: no(
    "expression",
    Code.UnsupportedExpression,
    OBJECTS_PASSED,
    (a: { object: string; field: string }) =>
      `the object \`${a.object}\` can only be read field by field (\`${a.object}.${a.field}\`) ${IN_FN}`,
    "objects are not passed on or copied yet",
  ),
  matrixPassed: no(
    "expression",
    Code.UnsupportedExpression,
    OBJECTS_PASSED,
    (a: { name: string }) =>
      `\`${a.name}\` can only be passed to tsgrad's matrix operations (matmul, addBias, relu, sum, ...) ${IN_FN} so far`,
  ),
  arrayPassed: no(
    "expression",
    Code.UnsupportedExpression,
    OBJECTS_PASSED,
    (a: { name: string }) =>
      `the array \`${a.name}\` can only be indexed (\`${a.name}[i]\`), measured (\`${a.name}.length\`) or passed to a @differentiable function of this module ${IN_FN} so far`,
    "write the loop over its elements, or pass it to a function marked @differentiable",
  ),
  readBeforeAssigned: no(
    "expression",
    Code.UnsupportedExpression,
    "a variable read before it is assigned",
    (a: { name: string }) => `\`${a.name}\` is read before it is assigned`,
  ),
  unresolvedName: no(
    "expression",
    Code.UnsupportedExpression,
    "a name the type checker cannot resolve",
    "tsgrad could not resolve this name",
  ),

  // -- Math
  mathRules: yes("math", `\`Math.${MATH_RULES.join(" ")}\``),
  mathConstants: yes("math", "the `Math` constants"),
  mathSpread: yes(
    "math",
    "`Math.max(...xs)` and `Math.min(...xs)` over an array parameter, a table or an array the function made",
    "as the loop they stand for, the gradient to the first element that won",
  ),
  hypotSpread: yes("math", "`Math.hypot(...xs)`", "as the loop of two-operand hypots it stands for, 0 at the origin"),
  mathPiecewise: yes("math", `\`Math.${MATH_PIECEWISE.join(" ")}\``, "pass no gradient"),
  mathArity: no(
    "math",
    Code.UnsupportedExpression,
    "a `Math` function called with the wrong number of arguments",
    (a: { callee: string; want: number; got: number }) =>
      `\`${a.callee}\` takes ${a.want} argument${a.want === 1 ? "" : "s"}, and this call passes ${a.got}`,
    "pass exactly those",
  ),
  mathWithoutRule: no(
    "math",
    Code.UnsupportedExpression,
    "Math functions without a rule",
    (a: { callee: string }) => `\`${a.callee}\` has no derivative rule in tsgrad`,
    "write the computation with supported Math functions",
  ),

  // -- calls
  differentiableCalls: yes("call", "calls to other `@differentiable` functions"),
  customCalls: yes("call", "calls to functions with a [custom derivative](#custom-derivatives-and-stopgradient)"),
  opaqueCalls: yes("call", "calls to any other function where no gradient flows through the result"),
  thisCalls: yes("call", "calls of the class's or object's other methods through `this` (`this.m(x)`)"),
  memberCalls: yes("call", "calls of members of a `const` object (`vec.dot(a, b)`)"),
  arrayArguments: yes(
    "call",
    "arrays passed to other `@differentiable` functions of the same module or imported (`mean(x)`, `dot(a, w)`, `linalg.dot(a, w)`)",
    "the callee's backward pass adds into the caller's gradient arrays, no copies; an exported function taking arrays exports its pullback (`dot_pullback`) for callers in other modules",
  ),
  arrayArgumentElsewhere: no(
    "call",
    Code.UnsupportedExpression,
    "an array passed to a `@differentiable` function of another module that tsgrad does not compile (a `.d.ts`, a package), that its module does not export where it declares it, or that takes objects, matrices or rows",
    (a: { name: string; callee: string; why: string; instead: string }) =>
      `the array \`${a.name}\` is passed to \`${a.callee}\`, a @differentiable function of another module ${a.why}: such a function has no pullback tsgrad can call`,
    (a: { name: string; callee: string; why: string; instead: string }) => a.instead,
  ),
  arrayArgumentUnnamed: no(
    "call",
    Code.UnsupportedExpression,
    "an array passed to a function of another module through a namespace that re-exports it renamed, or a name that is not an import",
    (a: { name: string; callee: string }) =>
      `the array \`${a.name}\` is passed to \`${a.callee}\`, which tsgrad cannot name the pullback of here (a namespace of a module re-exporting it renamed, or a name that is not its import)`,
    'import the function by name from its module (`import { dot } from "./linalg.js"`)',
  ),
  importedPullbackRefused: no(
    "call",
    Code.UnsupportedExpression,
    "an array passed to a function of another module whose pullback tsgrad cannot build (returning an array or an object, using matrix operations, ...)",
    (a: { name: string; callee: string; why: string; at: string }) =>
      `the array \`${a.name}\` is passed to \`${a.callee}\` of another module, whose pullback tsgrad cannot build: ${a.why} (${a.at})`,
    (a: { name: string; callee: string; why: string; at: string }) =>
      `change \`${a.callee}\` as that says, or pass it the numbers it needs`,
  ),
  arrayArgumentChanged: no(
    "call",
    Code.UnsupportedExpression,
    "an array passed to a function and changed after the call, or in a loop around it",
    (a: { name: string; callee: string }) =>
      `the array \`${a.name}\` is passed to \`${a.callee}\` and changed after the call (or in a loop around it): its backward pass would read the changed elements`,
    (a: { name: string; callee: string }) =>
      `fill \`${a.name}\` completely before the call, or make a new array for each call`,
  ),
  arrayArgumentMethod: no(
    "call",
    Code.UnsupportedExpression,
    "an array passed to a class method or a closure",
    (a: { name: string; callee: string }) =>
      `the array \`${a.name}\` is passed to \`${a.callee}\`, a class method or a closure: arrays are passed to functions and object members of this module so far`,
    "make the callee a function of this module (or a member of a `const` object)",
  ),
  pullbackOfVector: no(
    "call",
    Code.UnsupportedExpression,
    "arrays passed to a function that returns an array or an object",
    (a: { name: string }) =>
      `\`${a.name}\` is given arrays by a caller and returns an array or an object: tsgrad passes arrays only to functions returning a number so far`,
    "return a number from it, or compute the result in the caller",
  ),
  pullbackOfMatrices: no(
    "call",
    Code.UnsupportedExpression,
    "arrays passed to a function using matrix operations",
    (a: { name: string }) =>
      `\`${a.name}\` is given arrays by a caller and uses tsgrad's matrix operations: those run only in the function \`grad\` is called on so far`,
    "call the matrix operations in the caller",
  ),
  pullbackOfManyNumbers: no(
    "call",
    Code.UnsupportedExpression,
    "arrays passed to a function with more than 255 number parameters",
    (a: { name: string }) =>
      `\`${a.name}\` is given arrays by a caller and has more than 255 number parameters to give gradients for: its backward pass hands those back in 255 slots`,
    "pass the numbers in an array",
  ),
  arrayArgumentRecursive: no(
    "call",
    Code.UnsupportedExpression,
    "an array passed to a function of the caller's own recursion",
    (a: { name: string; callee: string }) =>
      `the array \`${a.name}\` is passed to \`${a.callee}\`, which calls back into this function: arrays cross only calls outside a recursion so far`,
    "write the recursion as a loop",
  ),
  spreadArgument: no(
    "call",
    Code.UnsupportedExpression,
    "spread arguments, calls of anything but named functions, method calls on values",
    "spread arguments are not supported but in `Math.max(...xs)`, `Math.min(...xs)` and `Math.hypot(...xs)` over an array",
    "pass each number explicitly, or write the loop over the array",
  ),
  unnamedCall: no(
    "call",
    Code.UnsupportedExpression,
    "spread arguments, calls of anything but named functions, method calls on values",
    `only calls of named functions are supported ${IN_FN}`,
  ),
  methodCall: no(
    "call",
    Code.UnsupportedExpression,
    "spread arguments, calls of anything but named functions, method calls on values",
    (a: { call: string }) => `\`${a.call}\` calls a method of a value, which tsgrad cannot follow ${IN_FN}`,
    "make it a @differentiable function taking the value's numbers, call it through `this` inside its class, call a function of a module, class or `const` object (`M.f(x)`, `vec.dot(a, b)`), or compute the value outside",
  ),
  arrayReduce: yes(
    "call",
    "`reduce` with a callback written in place (`xs.reduce((s, v) => s + v * v, 0)`)",
    "the loop it stands for, the callback's body inlined",
  ),
  spreadMap: yes(
    "call",
    "`Math.max(...xs.map(f))` and `Math.min(...Array.from(xs, f))` with a callback written in place",
    "the loop they stand for",
  ),
  arraySearch: yes(
    "call",
    "`some`, `every`, `findIndex` and `findLastIndex` with a callback written in place, `indexOf` and `includes` (`if (xs.some((v) => v <= 0)) throw ...`)",
    "the loop over every element they stand for; a boolean or an index, no gradient",
  ),
  arrayFind: yes(
    "call",
    "`find` and `findLast` with a callback written in place, over an array of numbers (`xs.find((v) => v > t) ?? 0`)",
    "the loop of `findIndex`, then the element found (or `undefined`), whose gradient goes to that element alone",
  ),
  findOfRecords: no(
    "call",
    Code.UnsupportedExpression,
    "`find` over records or rows",
    (a: { call: string; array: string }) =>
      `\`${a.call}\` would give a record or a row of \`${a.array}\`, which tsgrad follows only through its numbers`,
    (a: { call: string; array: string }) =>
      `find its index (\`${a.array}.${a.call.endsWith("findLast") ? "findLastIndex" : "findIndex"}(...)\`) and read the numbers there (\`${a.array}[i].x\`)`,
  ),
  arrayMethod: no(
    "call",
    Code.UnsupportedExpression,
    "array methods but `reduce`, `map`, `forEach`, `filter`, `some`, `every`, `find`, `findIndex`, `indexOf`, `includes`, copies and slices (`shift`, `splice`, `sort`, ...)",
    (a: { call: string }) => `array methods such as \`${a.call}\` are not supported yet ${IN_FN}`,
    "write the `for` loop it stands for (`for (let i = 0; i < xs.length; i++) s += xs[i];`)",
  ),
  callbackForm: no(
    "call",
    Code.UnsupportedExpression,
    "a `reduce` or `map` over anything but an array the function reads, or a callback that is not an arrow or function expression written in place with named parameters (the accumulator, the element and the index), or that returns before its end",
    (a: { what: string }) =>
      `tsgrad inlines the callback of \`reduce\` and \`map\` in the loop they stand for, and this one ${a.what}`,
    "write the `for` loop it stands for",
  ),
  callbackAssignsOutside: no(
    "call",
    Code.UnsupportedExpression,
    "a `reduce` or `map` callback assigning a variable declared outside it",
    (a: { name: string }) => `the callback assigns \`${a.name}\`, declared outside it`,
    "return the value from the callback instead, or write the `for` loop",
  ),
  methodWithoutClass: no(
    "call",
    Code.UnsupportedExpression,
    "a @differentiable method called other than through its class",
    "call the method through its class, `Model.m(x)`",
  ),
  memberGradientHidden: no(
    "call",
    Code.UnsupportedExpression,
    "a call of an object literal's @differentiable member where its gradient cannot be named",
    (a: { name: string; gradient: string }) =>
      `the gradient of \`${a.name}\` (\`${a.gradient}\`, declared beside its object) cannot be named here: the object is made inside another function, or its module does not export it with \`export const\``,
    "call it where its object is declared, or hold the object in an exported `const` at the top of its module",
  ),
  classBehaviourRead: no(
    "expression",
    Code.UnsupportedExpression,
    "a getter, a method or a function-valued field of a class-typed parameter",
    (a: { name: string; object: string }) =>
      `\`${a.object}.${a.name}\` is a getter, a method or a function of its class, which has no gradient: a class-typed parameter is differentiated through its number fields`,
    "compute the value from its fields in the function (or pass it in as a number)",
  ),
  thisOutsideMethod: no(
    "expression",
    Code.UnsupportedExpression,
    "`this` in a @differentiable function that is not a method (an arrow, a nested function, a closure)",
    "`this` here is not an instance or an object tsgrad knows: the function is not a method of a class or of an object literal",
    "read the field into a `const` outside (`const s = this.s;`) and use that",
  ),
  stopGradientArity: no(
    "call",
    Code.UnsupportedExpression,
    "`stopGradient` of anything but one value",
    "stopGradient takes one value",
  ),
  unmarkedCall: no(
    "call",
    Code.NotDifferentiableCall,
    "a gradient that would flow through a call of a function not marked `@differentiable`",
    (a: { call: string }) => `a gradient flows through \`${a.call}\`, but that function is not marked @differentiable`,
    "add /** @differentiable */ to its declaration",
  ),
  unmarkedHelpers: yes(
    "call",
    "calls of unmarked helpers of the same module (a module-level `function` or `const` arrow)",
    "differentiated as if marked, for their callers in the module",
  ),
  inlinedHelpers: yes(
    "call",
    "unmarked helpers of the same module that return an array or an object (`const p = softmax(z)`, `const { mean, sd } = stats(xs)`) or write into an array the caller created (`cross(out, a, b)`)",
    "inlined where they are called: the result and the writes are the caller's own arrays and values",
  ),
  inlinedHelperForm: no(
    "call",
    Code.UnsupportedExpression,
    "a helper returning an array or an object, or writing an array it is given, that calls itself, returns early or takes patterns",
    (a: { name: string; what: string }) =>
      `tsgrad inlines \`${a.name}\` where it is called (it returns an array or an object, or writes an array it is given), and this one ${a.what}`,
    "write it with plain parameters and one `return` at its end, or mark it @differentiable and return a number",
  ),
  arrayCopies: yes(
    "declaration",
    "copies and maps of arrays (`xs.slice()`, `[...xs]`, `Array.from(xs)`, `new Float64Array(xs)`, `xs.map((v, i) => ...)`, `Array.from(xs, f)`)",
    "a new local array of xs's length and the loop filling it, the callback inlined",
  ),
  arrayConcat: yes(
    "declaration",
    "arrays joined (`a.concat(b)`, `[...a, ...b]`)",
    "a new local array of their lengths summed, and a loop copying each after the one before",
  ),
  arraySlices: yes(
    "declaration",
    "parts of arrays (`xs.slice(start)`, `xs.slice(start, end)`, and `xs.subarray(start, end)` of a typed array while nothing writes either)",
    "a new local array of the part's length and the loop copying it, the bounds counted as JavaScript counts them (negative from the end, clamped to the length); made in a loop with bounds known only there, as long as xs, its length the part's",
  ),
  arraysMadeForCalls: yes(
    "call",
    "arrays made in place for a call (`mean(xs.slice(a, b))`, `norm(xs.map((v) => v - m))`)",
    "made before the call, as if named; in a loop, the callee inlined there",
  ),
  arrayFilter: yes(
    "declaration",
    "`filter` with a callback written in place (`const kept = xs.filter((v) => Number.isFinite(v))`)",
    "two loops over xs: one counting what is kept (the new array's length), one storing it in order",
  ),
  arrayForEach: yes(
    "call",
    "`forEach` with a callback written in place, as a statement (`xs.forEach((v, i) => { s += v * w[i]; })`)",
    "the loop it stands for, the callback's body its body, assigning the function's variables as any loop",
  ),
  arrayFill: yes(
    "declaration",
    "`new Array(n).fill(v)`, and `h.fill(v)` as a statement on an array the function made",
    "the loop storing v (computed once) in every element",
  ),
  copyUse: no(
    "declaration",
    Code.UnsupportedExpression,
    "a copy, a part or a map of an array used other than by naming it or passing it to a function",
    "tsgrad makes a copy, a part or a map of an array where a `const` names it or a call takes it",
    "name it first (`const tail = xs.slice(1)`) and use the name",
  ),
  arrayCopySource: no(
    "declaration",
    Code.UnsupportedExpression,
    "a copy or a map of anything but an array the function reads by name",
    (a: { name: string }) =>
      `\`${a.name}\` is copied or mapped here, and tsgrad copies only arrays the function reads by name: a parameter (or a field of one), a local array or a module table`,
    "name the array first",
  ),
  viewAliased: no(
    "declaration",
    Code.UnsupportedExpression,
    "a `subarray` view written, kept other than in a `const`, or of an array written after it is made",
    (a: { view: string; array: string; why: string }) =>
      `\`${a.view}\` shares its elements with \`${a.array}\`, and ${a.why}: tsgrad reads a view as a copy of the part, which a write through either would tell apart`,
    "copy the part with `slice` and the same bounds, or finish writing the array before making the view",
  ),
  partArgument: no(
    "call",
    Code.UnsupportedExpression,
    "a slice made in a branch, its bounds known only there, passed to a `@differentiable` function",
    (a: { name: string; callee: string }) =>
      `\`${a.name}\` is a part of an array made in a branch with bounds known only there: tsgrad makes it before the branch as long as the whole array, and \`${a.callee}\` would read all of that`,
    "compute the bounds before the branch (`const k = ...; if (c) s = mean(xs.slice(k))`)",
  ),
  rows: yes(
    "parameter",
    "nested arrays `number[][]` as parameters (`A[i][j]`, `A[i].length`, `const row = A[i]`, `for (const row of A)`)",
    "its gradient a `number[][]` of the same shape",
  ),
  records: yes(
    "parameter",
    "arrays of records of numbers as parameters (`pts: { x: number; y: number }[]`, `readonly Point[]`: `pts[i].x`, `const p = pts[i]`, `for (const p of pts)`, `pts.reduce((s, p) => s + p.x, 0)`)",
    "the gradient an array of records of the same keys",
  ),
  rowUse: no(
    "expression",
    Code.UnsupportedExpression,
    "an element of a `number[][]` or records parameter used other than by reading its numbers",
    (a: { row: string; rows: string }) =>
      `\`${a.row}\` is an element of \`${a.rows}\`, which tsgrad follows only through its numbers (\`${a.row}[j]\`, \`${a.row}.length\` of a row; \`${a.row}.x\` of a record)`,
    "read its numbers where they are needed, or name it in a `const` (`const row = A[i]`, `const p = pts[i]`) and read those",
  ),
  forOfRow: no(
    "loop",
    Code.UnsupportedLoop,
    "`for...of` over a row of a `number[][]` parameter",
    (a: { row: string }) => `\`for...of\` over \`${a.row}\`, a row of a \`number[][]\` parameter, is not supported yet`,
    (a: { row: string }) =>
      `write the counting loop: \`for (let j = 0; j < ${a.row}.length; j++)\` reading \`${a.row}[j]\``,
  ),
  inlinedHelperRefused: no(
    "call",
    Code.NotDifferentiableCall,
    "a helper tsgrad inlines (returning an array or an object, or writing an array it is given) whose body it cannot differentiate",
    (a: { name: string; why: string; at: string }) =>
      `tsgrad inlines \`${a.name}\` here (it returns an array or an object, or writes an array it is given), and cannot differentiate it: ${a.why} (${a.at})`,
    (a: { name: string; why: string; at: string }) => `change \`${a.name}\` as that says`,
  ),
  inlinedArgument: no(
    "call",
    Code.UnsupportedExpression,
    "an array given to a helper tsgrad inlines that is not a parameter or an array the function created, by name",
    (a: { name: string; param: string }) =>
      `\`${a.name}\` is inlined here, and its array parameter \`${a.param}\` must be given an array parameter or an array this function created, by its name`,
    "name the array in a `const` first (`const v = new Float64Array(n)`) and pass that",
  ),
  inlinedWritesParameter: no(
    "call",
    Code.UnsupportedExpression,
    "an out-parameter given a parameter of the function (a helper writing into an array the function did not create)",
    (a: { name: string; param: string; arg: string }) =>
      `\`${a.name}\` writes into its parameter \`${a.param}\`, here \`${a.arg}\`, a parameter of this function: parameters are read-only (the backward pass reads them as they were)`,
    "create the array it writes in this function (`const out = new Float64Array(3)`) and pass that",
  ),
  inlinedResultUse: no(
    "call",
    Code.UnsupportedExpression,
    "the array or object a helper returns used other than by naming it (`const p = softmax(z)`, `const { mean, sd } = stats(xs)`)",
    (a: { name: string; what: string }) =>
      `\`${a.name}\` returns ${a.what}, which tsgrad follows only when it is named where it is made`,
    (a: { name: string; what: string }) =>
      a.what.startsWith("an object")
        ? "destructure it in a `const` (`const { mean, sd } = stats(xs)`) and use the names"
        : "name it in a `const` (`const p = softmax(z)`) and read its elements",
  ),
  refusedHelper: no(
    "call",
    Code.NotDifferentiableCall,
    "a gradient that would flow through a call of an unmarked helper of the same module that tsgrad cannot differentiate",
    (a: { call: string; name: string; at: string; why: string }) =>
      `a gradient flows through \`${a.call}\`, and tsgrad cannot differentiate \`${a.name}\`: ${a.why} (${a.at})`,
    (a: { name: string }) => `change \`${a.name}\` as that says, or give it a derivative of its own (@derivative)`,
  ),
  refusedCall: no(
    "call",
    Code.NotDifferentiableCall,
    "a call that needs the gradient of a `@differentiable` function tsgrad refused",
    (a: { name: string; at: string }) =>
      `\`${a.name}\` has no gradient: tsgrad refused it (${a.at}; see the error there), and this call would need it`,
    (a: { name: string; at: string }) => `fix \`${a.name}\` first`,
  ),
  gradOfUnmarked: no(
    "call",
    Code.GradOfNonDifferentiable,
    "`grad`, `valueAndGrad` or `vjp` of a function that is not `@differentiable`",
    (a: { api: string; arg: string }) => `${a.api}(${a.arg}) needs a function marked @differentiable`,
    (a: { api: string; arg: string }) =>
      `add /** @differentiable */ to \`${a.arg}\` (or the @differentiable decorator on a method)`,
  ),
  mutableCapture: no(
    "expression",
    Code.MutableCapture,
    "reading a module-level variable that is not `const`, but a number",
    (a: { name: string }) =>
      `\`${a.name}\` is a mutable variable outside this @differentiable function; its value could change between the forward and backward pass`,
    "Pass it in as a parameter, or make it const",
    ". ",
  ),
  capturedAssignedInside: no(
    "expression",
    Code.MutableCapture,
    "reading a captured variable that a function nested beside it assigns",
    (a: { name: string; at: string }) =>
      `\`${a.name}\` is assigned inside another nested function (${a.at}), which could run while this one does and change it between its forward and backward pass`,
    (a: { name: string; at: string }) =>
      `copy it into a \`const\` in the enclosing function (\`const ${a.name}0 = ${a.name};\`) and read that`,
  ),
  captureOfItsStatement: no(
    "expression",
    Code.MutableCapture,
    "reading a captured variable that the statement creating the closure declares",
    (a: { name: string }) =>
      `\`${a.name}\` is declared by the statement that creates this function (a loop's header, say), before which tsgrad places its gradient, where \`${a.name}\` is not in scope`,
    "create the function in a statement of its own inside that statement's body (`const f = (t: number) => ...;`)",
  ),
  outerAssignment: no(
    "expression",
    Code.MutableCapture,
    "writing a variable declared outside the function",
    (a: { name: string }) =>
      `\`${a.name}\` is declared outside this @differentiable function; assigning it is a side effect tsgrad cannot differentiate`,
    "Pass it in as a parameter or return it",
    ". ",
  ),

  // -- parameters and results
  numberParameter: yes("parameter", "`number`"),
  arrayParameter: yes("parameter", "`number[]`"),
  readonlyArrayParameter: yes("parameter", "`readonly number[]`"),
  tupleParameter: yes("parameter", "tuples of numbers (`[number, number, number]`, `readonly [number, number]`)"),
  float64Parameter: yes("parameter", "`Float64Array`"),
  float32Parameter: yes("parameter", "`Float32Array`"),
  arrayLikeParameter: yes("parameter", "`ArrayLike<number>`"),
  arrayUnionParameter: yes("parameter", "unions of them (`number[] | Float64Array`)"),
  genericParameter: yes("parameter", "a type parameter constrained to one of them (`T extends ArrayLike<number>`)"),
  matrixParameter: yes("parameter", "`Matrix`"),
  labelsParameter: yes("parameter", "`Int32Array` labels"),
  dataParameter: yes(
    "parameter",
    '[data](#parameters-that-are-not-numbers): booleans, strings, string-literal unions (`"l1" | "l2"`), enums',
  ),
  objectParameter: yes("parameter", "[objects](#objects) of them"),
  classParameter: yes("parameter", "class instances, through their number fields"),
  aliasParameter: yes("parameter", "type aliases of any of these"),
  defaultParameter: yes("parameter", "parameters with a default (`a = 2`)"),
  optionalNumberParameter: yes("parameter", "optional numbers and data (`scale?: number`)"),
  parameterType: no(
    "parameter",
    Code.UnsupportedParameter,
    NON_DIFFERENTIABLE_PARAMETER,
    (a: { name: string; type: string; why: string }) =>
      `parameter \`${a.name}\` has type \`${a.type}\`: ${a.why}. ${PARAMETER_TYPES}`,
  ),
  destructuredNonObject: no(
    "parameter",
    Code.UnsupportedParameter,
    NON_DIFFERENTIABLE_PARAMETER,
    "only an object parameter can be destructured",
  ),
  thisParameter: no(
    "parameter",
    Code.UnsupportedParameter,
    "a `this` parameter",
    `a \`this\` parameter is not supported ${IN_FN}`,
    "pass the value as an ordinary parameter",
  ),
  restParameter: no(
    "parameter",
    Code.UnsupportedParameter,
    "rest parameters",
    "rest parameters are not supported",
    "take each number as its own parameter, or the numbers as one array (`xs: number[]`)",
  ),
  optionalParameter: no(
    "parameter",
    Code.UnsupportedParameter,
    "optional arrays, matrices and objects (`w?: Float64Array`)",
    (a: { name: string; type: string }) =>
      `\`${a.name}\` is an optional \`${a.type}\`: its gradient is made to its size, which an omitted one does not have`,
    (a: { name: string; type: string }) => `give it a default (\`${a.name}: ${a.type} = ...\`) or make it required`,
  ),
  derivativeParameter: no(
    "parameter",
    Code.UnsupportedParameter,
    "parameters other than `number` of a function with its own derivative",
    (a: { parameter: string }) =>
      `a function with its own derivative takes \`number\` parameters, one gradient each; \`${a.parameter}\` is not one`,
  ),
  defaultReadsParameter: no(
    "parameter",
    Code.UnsupportedParameter,
    "a default that reads another parameter (`b = a * 3`)",
    (a: { name: string; read: string; initializer: string }) =>
      `the default of \`${a.name}\` reads the parameter \`${a.read}\`, and no gradient would flow to \`${a.read}\` through it when \`${a.name}\` is left out`,
    (a: { name: string; read: string; initializer: string }) =>
      `make \`${a.name}\` optional and give it its value in the body: \`${a.name}?: number\`, then \`const ${a.name}Value = ${a.name} === undefined ? ${a.initializer} : ${a.name}\``,
  ),
  derivativeOptionalParameter: no(
    "parameter",
    Code.UnsupportedParameter,
    "optional and defaulted parameters of a function with its own derivative",
    (a: { name: string }) =>
      `\`${a.name}\` may be left out, but the derivative of a function with its own derivative takes every argument as passed`,
    "make the parameter required (callers pass the default themselves)",
  ),
  parameterHidesFunction: no(
    "parameter",
    Code.UnsupportedParameter,
    "a parameter named like its function, when the function has its own derivative",
    (a: { name: string }) =>
      `the parameter \`${a.name}\` hides the function \`${a.name}\`, which its gradient calls for the value its derivative receives`,
    "rename the parameter",
  ),
  numberResult: yes("return", "Functions that return a `number`"),
  returnType: no(
    "return",
    Code.UnsupportedReturnType,
    "a return type that is not `number`, an array or an object of those",
    (a: { type: string }) =>
      `a @differentiable function must return \`number\`, an array it creates (\`number[]\`, \`Float64Array\`) or an object of those (\`{ loss: number; h: Float64Array }\`); this one returns \`${a.type}\``,
  ),

  // -- function forms
  generator: no("function", Code.UnsupportedFunctionForm, "generators", "generators cannot be @differentiable"),
  asyncFunction: no(
    "function",
    Code.UnsupportedFunctionForm,
    "async functions",
    "async functions cannot be @differentiable",
    "differentiate the synchronous computation inside",
  ),
  objectMembers: yes(
    "function",
    "members of a `const` object literal, methods or arrows (`dot(a, b) { ... }`, `norm: (v) => ...`)",
  ),
  closures: yes("function", "closures: a function made inside another, reading its parameters and locals"),
  anonymousClassMethod: no(
    "function",
    Code.UnsupportedFunctionForm,
    "methods of anonymous classes",
    "methods of anonymous classes cannot be @differentiable",
    "give the class a name",
  ),

  misplacedTag: no(
    "function",
    Code.UnsupportedFunctionForm,
    "a `@differentiable` tag on anything but a function with a body (a class field, a getter, an overload signature, ...)",
    (a: { what: string }) => `this @differentiable tag is on ${a.what}`,
    "tsgrad compiles function declarations, `const f = (...) => ...`, methods of classes and object literals, and function expressions (closures)",
    "; ",
  ),
  memberName: no(
    "function",
    Code.UnsupportedFunctionForm,
    "object literal members with a computed or quoted name, or in an object not held by a `const`; closures where no statement holds them",
    "a @differentiable member of an object literal needs a plain name (`dot(a, b) { ... }`, `norm: (v) => ...`)",
    "write the key as an identifier",
  ),
  memberOfUnheldObject: no(
    "function",
    Code.UnsupportedFunctionForm,
    "object literal members with a computed or quoted name, or in an object not held by a `const`; closures where no statement holds them",
    (a: { name: string }) =>
      `\`${a.name}\` is a member of an object literal that no \`const\` holds, so tsgrad has no name to place and register its gradient under`,
    "hold the object in a `const` (`export const vec = { ... }`, objects nested in it too)",
  ),
  closurePlace: no(
    "function",
    Code.UnsupportedFunctionForm,
    "object literal members with a computed or quoted name, or in an object not held by a `const`; closures where no statement holds them",
    "this @differentiable function is created where no statement holds it (a default value, a class field), so tsgrad has nowhere to place its gradient",
    "create it in a statement of a function body (`const f = ...`), or make it a method",
  ),

  // -- custom derivatives
  derivativeForm: no(
    "derivative",
    Code.InvalidDerivative,
    UNUSABLE_DERIVATIVE,
    (a: { tag: string }) => `@derivative ${a.tag}: ${DERIVATIVE_FORMS}`,
  ),
  derivativeFormList: no(
    "derivative",
    Code.InvalidDerivative,
    UNUSABLE_DERIVATIVE,
    (a: { tag: string }) => `@derivative ${a.tag}: ${DERIVATIVE_FORMS}, one per statement`,
  ),
  derivativeWithoutBody: no(
    "derivative",
    Code.InvalidDerivative,
    UNUSABLE_DERIVATIVE,
    (a: { tag: string; name: string }) => `@derivative ${a.tag}: \`${a.name}\` has no body`,
    "put the tag on the declaration that has one",
  ),
  derivativeNotConst: no(
    "derivative",
    Code.InvalidDerivative,
    UNUSABLE_DERIVATIVE,
    (a: { tag: string; name: string }) => `@derivative ${a.tag}: declare \`${a.name}\` with \`const\``,
    "generated code calls it later, and a variable could hold another function by then",
  ),
  derivativeOfMethod: no(
    "derivative",
    Code.InvalidDerivative,
    UNUSABLE_DERIVATIVE,
    (a: { tag: string }) => `@derivative ${a.tag}: derivatives of methods are not supported`,
    "give the derivative to a function the method calls",
  ),
  derivativeOfNothing: no(
    "derivative",
    Code.InvalidDerivative,
    UNUSABLE_DERIVATIVE,
    (a: { tag: string }) => `@derivative ${a.tag}: no function named \`${a.tag}\` is in scope here`,
    "import it, or fix the name",
  ),
  derivativeOfOverload: no(
    "derivative",
    Code.InvalidDerivative,
    UNUSABLE_DERIVATIVE,
    (a: { tag: string }) => `\`${a.tag}\` is overloaded, and a derivative is for one list of parameters`,
    (a: { tag: string }) => `give it to a function with one signature that calls \`${a.tag}\``,
  ),
  derivativeOfRest: no(
    "derivative",
    Code.InvalidDerivative,
    UNUSABLE_DERIVATIVE,
    (a: { tag: string; rest: string }) =>
      `\`${a.tag}\` takes a rest parameter (\`${a.rest}\`), so its arguments are no fixed list a derivative could take and return gradients for`,
    (a: { tag: string; rest: string }) =>
      `give the derivative to a function of fixed parameters that calls \`${a.tag}\``,
  ),
  derivativeArity: no(
    "derivative",
    Code.InvalidDerivative,
    UNUSABLE_DERIVATIVE,
    (a: { tag: string; arity: number; name: string; count: number }) =>
      `the derivative of \`${a.tag}\` takes its ${a.arity} argument(s), its value and the gradient on its value (${a.arity + 2} parameters), and returns ${a.arity} gradient(s); \`${a.name}\` has ${a.count} parameters`,
  ),
  derivativeReturnType: no(
    "derivative",
    Code.InvalidDerivative,
    UNUSABLE_DERIVATIVE,
    (a: { name: string; type: string; want: string }) => `\`${a.name}\` returns \`${a.type}\``,
    (a: { name: string; type: string; want: string }) =>
      `a derivative returns one gradient per argument: declare its return type as \`${a.want}\` and return a tuple of that many numbers`,
  ),
  derivativeRecursion: no(
    "derivative",
    Code.InvalidDerivative,
    UNUSABLE_DERIVATIVE,
    (a: { name: string; call: string; tag: string }) =>
      `\`${a.name}\` calls \`${a.call}\`, but the gradient of \`${a.tag}\` is \`${a.name}\` itself: the two would call each other forever`,
    (a: { name: string; call: string; tag: string }) =>
      `take the gradient of a separate @differentiable copy of \`${a.tag}\``,
  ),
  derivativeTwice: no(
    "derivative",
    Code.InvalidDerivative,
    UNUSABLE_DERIVATIVE,
    (a: { tag: string; first: string; at: string }) =>
      `\`${a.tag}\` already has a derivative, \`${a.first}\` (${a.at})`,
    "keep one of the two",
  ),
  derivativeNotExported: no(
    "derivative",
    Code.InvalidDerivative,
    UNUSABLE_DERIVATIVE,
    (a: { name: string; of: string; file: string }) =>
      `\`${a.name}\` (the derivative of \`${a.of}\`) is not exported, but the gradients ${a.file} generates call it and must import it`,
    "export it",
  ),
  callOfUnusableDerivative: no(
    "derivative",
    Code.InvalidDerivative,
    UNUSABLE_DERIVATIVE,
    (a: { callee: string; derivative: string; at: string }) =>
      `\`${a.callee}\` has a @derivative tsgrad cannot use (\`${a.derivative}\`, ${a.at}; see the error there)`,
    "fix it, or remove its tag",
  ),
  functionOfUnusableDerivative: no(
    "derivative",
    Code.InvalidDerivative,
    UNUSABLE_DERIVATIVE,
    (a: { name: string; derivative: string; at: string }) =>
      `\`${a.name}\` has a @derivative tsgrad cannot use (\`${a.derivative}\`, ${a.at}; see the error there), which its gradient would call`,
    "fix it, or remove its tag",
  ),
  derivativeCallDefaults: no(
    "derivative",
    Code.InvalidDerivative,
    "a call of its function that leaves an argument to a default",
    (a: { derivative: string; callee: string; missing: string; all: string }) =>
      `the derivative \`${a.derivative}\` takes every argument of \`${a.callee}\`, but this call leaves ${a.missing} to a default`,
    (a: { derivative: string; callee: string; missing: string; all: string }) => `pass them all: ${a.all}`,
  ),
  derivativeCallArity: no(
    "derivative",
    Code.InvalidDerivative,
    "a call of its function that leaves an argument to a default",
    (a: { derivative: string; count: number; all: string; passed: number }) =>
      `the derivative \`${a.derivative}\` takes the ${a.count} argument(s) of ${a.all}, and this call passes ${a.passed}`,
    "pass exactly those",
  ),

  // -- element ranges (the messages say why, per read or write: phases/out-of-range.ts)
  indexNeverValid: no(
    "index",
    Code.OutOfRange,
    "a negative or fractional constant index",
    (a: { access: string; verb: string; index: number; outcome: string }) =>
      `\`${a.access}\` ${a.verb} index ${a.index}, which no array has (indices are integers from 0); ${a.outcome}`,
  ),
  indexPastLength: no(
    "index",
    Code.OutOfRange,
    "a constant index past a constant length",
    (a: { access: string; verb: string; array: string; length: number; outcome: string }) =>
      `\`${a.access}\` ${a.verb} past the end of \`${a.array}\`, which has ${a.length} element(s) (indices 0 to ${a.length - 1}); ${a.outcome}`,
  ),
  loopPastEnd: no(
    "index",
    Code.OutOfRange,
    "`a[i]` in `for (...; i <= a.length; ...)`, `a[i + 1]` in `for (...; i < a.length; ...)`",
    (a: {
      access: string;
      verb: string;
      at: string;
      iteration: string;
      array: string;
      outcome: string;
      keep: string;
    }) =>
      `\`${a.access}\` ${a.verb} ${a.at} in the loop's ${a.iteration} iteration, past the end of \`${a.array}\`; ${a.outcome} (keep \`${a.keep}\` below \`${a.array}.length\`)`,
  ),
  loopBeforeStart: no(
    "index",
    Code.OutOfRange,
    "`a[i - 1]` from `i = 0`",
    (a: {
      access: string;
      verb: string;
      index: number;
      iteration: string;
      array: string;
      outcome: string;
      fix: string;
    }) =>
      `\`${a.access}\` ${a.verb} index ${a.index} in the loop's ${a.iteration} iteration, before the start of \`${a.array}\`; ${a.outcome} (${a.fix})`,
  ),

  // -- modules
  moduleFormat: no(
    "module",
    Code.UnsupportedModuleFormat,
    "a tsconfig `module` of `amd`, `umd` or `system` with the tsc plugin ([module formats](#with-tsc-ts-patch))",
    (a: { format: string }) => `the tsc plugin cannot emit gradients for "module": "${a.format}"`,
    `set "module" to "nodenext", "esnext" or "commonjs" in tsconfig.json`,
  ),
} satisfies Record<string, Construct>;

export type Language = typeof LANGUAGE;
export type ConstructId = keyof Language;
/** The ids of refused constructs: what `refuse` takes. */
export type RefusalId = { [I in ConstructId]: Language[I] extends Refused<any> ? I : never }[ConstructId];
/** The names a refusal's message interpolates: `refuse("mutableCapture", node, { name })`. */
type ArgsOf<I extends RefusalId> =
  Language[I] extends Refused<infer A> ? ([A] extends [undefined] ? [] : [args: A]) : never;

/** The message of a refusal, as the diagnostic prints it after `tsgrad: `. */
export function refusalMessage<I extends RefusalId>(id: I, ...args: ArgsOf<I>): string {
  const entry = LANGUAGE[id] as Refused<unknown>;
  const say = (t: Text<unknown> | undefined) => (typeof t === "function" ? t(args[0]) : t);
  const instead = say(entry.instead);
  return instead === undefined ? say(entry.problem)! : `${say(entry.problem)}${entry.join ?? "; "}${instead}`;
}

/** The error refusing a construct at the user's node: `errors.push(refuse("forIn", s))`, `throw refuse(...)`. */
export function refuse<I extends RefusalId>(id: I, node: ts.Node, ...args: ArgsOf<I>): DiffError {
  return new DiffError((LANGUAGE[id] as Refused<unknown>).code, node, refusalMessage(id, ...args));
}

// ---- the README's view --------------------------------------------------------------------

/** What a code refuses, before the phrases of its entries (`TS94014 | an element read ...: a[-1], ...`). */
const CODE_SUMMARY: Partial<Record<Code, { before?: string; after?: string }>> = {
  [Code.InvalidDerivative]: { after: "; see [custom derivatives](#custom-derivatives-and-stopgradient)" },
  [Code.OutOfRange]: { before: `${OUT_OF_RANGE}: `, after: " ([arrays](#arrays))" },
};

/** Each code, with what it refuses: its entries' distinct phrases, in table order, between "; ". */
export function refusalsByCode(): { code: Code; refused: string }[] {
  const codes = [...new Set(Object.values(Code))].sort((a, b) => a - b);
  return codes.map((code) => {
    const phrases = [
      ...new Set(
        Object.values(LANGUAGE as Record<string, Construct>).flatMap((c) =>
          !c.accepted && c.code === code ? [c.what] : [],
        ),
      ),
    ];
    const { before = "", after = "" } = CODE_SUMMARY[code] ?? {};
    return { code, refused: `${before}${phrases.join("; ")}${after}` };
  });
}
