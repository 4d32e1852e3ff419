// Derivative rules for scalar operations, one declarative entry per op, apart from the engine.
//
// An entry says how the forward line computes the op's value and each operand's local gradient,
// both as TypeScript expressions over the operands and the output; where the op is recognised in
// the source as a pattern (sigmoid), the patterns too. The engine substitutes the staged names:
// stage.ts writes the value, reverse.ts multiplies each local gradient by the output's adjoint, one
// line per operand, as in the CS231n notes:
//   invden = 1 / den      "/" : [1 / b, -a / (b * b)]   →   dden = (-1 / (den * den)) * dinvden
// Names in templates: x (the operand of a unary op), a and b (binary), y (the output); the value of
// an op of any number of operands calls a function on `...args`. Templates may call Math's
// functions and read its constants, nothing else: every entry is parsed and checked when this
// module loads (template.ts), so a typo throws here, naming the rule, not in the user's code.
// Rules that use y read the value the forward pass already computed (exp, sqrt, tanh, sigmoid).
//
// Conventions at kinks, chosen so the gradient is finite wherever the true one is:
//   abs'(0) = 0; max/min route the gradient to the first operand equal to the output (the seed:
//   "the max gate routes the gradient"); hypot'(0) = 0; d(a ** b)/db = 0 where a <= 0.
// Piecewise-constant operations (floor, ceil, round, trunc, sign, comparisons) pass no gradient.
//
// Adding a Math function is one entry here and one row of test/rules.test.ts's domains.

import { TemplateError, check, evaluate } from "./template.js";

/** How an op's operands get their gradients. */
export type LocalGradient =
  /** One template per operand, in order. */
  | { kind: "partials"; partials: readonly string[] }
  /** Any number of operands, the same template for each, x standing for that operand. */
  | { kind: "variadic"; partial: string }
  /** The whole gradient goes to the first operand equal to the output (max, min). */
  | { kind: "route" };

export interface ScalarRule {
  /** The operands' names: x, or a and b, or any number of them (...args in the value, x in the gradient). */
  readonly operands: "x" | "a, b" | "...args";
  /** How the forward line computes the value: "a * b", "Math.exp(x)", "Math.max(...args)". */
  readonly value: string;
  /** Each operand's local gradient. */
  readonly grad: LocalGradient;
  /** Source forms recognised as this one op, over x (sigmoid); each must compute `value`. */
  readonly patterns?: readonly string[];
}

const unary = (value: string, dx: string, patterns?: readonly string[]): ScalarRule => ({
  operands: "x",
  value,
  grad: { kind: "partials", partials: [dx] },
  ...(patterns ? { patterns } : {}),
});
const binary = (value: string, da: string, db: string): ScalarRule => ({
  operands: "a, b",
  value,
  grad: { kind: "partials", partials: [da, db] },
});
const variadic = (value: string, dx: string): ScalarRule => ({
  operands: "...args",
  value,
  grad: { kind: "variadic", partial: dx },
});
const route = (value: string): ScalarRule => ({ operands: "...args", value, grad: { kind: "route" } });

// a ** b: the exponent's partial is guarded so that 0 ** b and (-2) ** 2 stay finite.
const powerGrad = ["b === 0 ? 0 : b * a ** (b - 1)", "a > 0 ? Math.log(a) * y : 0"] as const;

export const scalarRules = {
  copy: unary("x", "1"),
  neg: unary("-x", "-1"),
  "+": binary("a + b", "1", "1"),
  "-": binary("a - b", "1", "-1"),
  "*": binary("a * b", "b", "a"),
  "/": binary("a / b", "1 / b", "-a / (b * b)"),
  // a % b = a - q * b with q the integer quotient actually used: q = round((a - y) / b).
  "%": binary("a % b", "1", "-Math.round((a - y) / b)"),
  "**": binary("a ** b", ...powerGrad),
  "Math.pow": binary("Math.pow(a, b)", ...powerGrad),
  "Math.exp": unary("Math.exp(x)", "y"),
  "Math.expm1": unary("Math.expm1(x)", "y + 1"),
  "Math.log": unary("Math.log(x)", "1 / x"),
  "Math.log1p": unary("Math.log1p(x)", "1 / (1 + x)"),
  "Math.log2": unary("Math.log2(x)", "1 / (x * Math.LN2)"),
  "Math.log10": unary("Math.log10(x)", "1 / (x * Math.LN10)"),
  "Math.sqrt": unary("Math.sqrt(x)", "1 / (2 * y)"),
  "Math.cbrt": unary("Math.cbrt(x)", "1 / (3 * y * y)"),
  "Math.sin": unary("Math.sin(x)", "Math.cos(x)"),
  "Math.cos": unary("Math.cos(x)", "-Math.sin(x)"),
  "Math.tan": unary("Math.tan(x)", "1 + y * y"),
  "Math.asin": unary("Math.asin(x)", "1 / Math.sqrt(1 - x * x)"),
  "Math.acos": unary("Math.acos(x)", "-1 / Math.sqrt(1 - x * x)"),
  "Math.atan": unary("Math.atan(x)", "1 / (1 + x * x)"),
  // b / (a² + b²) and -a / (a² + b²), divided by hypot twice so tiny operands do not underflow.
  "Math.atan2": binary(
    "Math.atan2(a, b)",
    "b / Math.hypot(a, b) / Math.hypot(a, b)",
    "-a / Math.hypot(a, b) / Math.hypot(a, b)",
  ),
  "Math.sinh": unary("Math.sinh(x)", "Math.cosh(x)"),
  "Math.cosh": unary("Math.cosh(x)", "Math.sinh(x)"),
  "Math.tanh": unary("Math.tanh(x)", "1 - y * y"),
  "Math.asinh": unary("Math.asinh(x)", "1 / Math.sqrt(x * x + 1)"),
  "Math.acosh": unary("Math.acosh(x)", "1 / Math.sqrt(x * x - 1)"),
  "Math.atanh": unary("Math.atanh(x)", "1 / (1 - x * x)"),
  "Math.abs": unary("Math.abs(x)", "Math.sign(x)"),
  "Math.max": route("Math.max(...args)"),
  "Math.min": route("Math.min(...args)"),
  "Math.hypot": variadic("Math.hypot(...args)", "y === 0 ? 0 : x / y"),
  // Recognised in the source as one operation, so its gradient is the seed's (1 - s) * s.
  sigmoid: unary("1 / (1 + Math.exp(-x))", "(1 - y) * y", ["1 / (1 + Math.exp(-x))", "1 / (Math.exp(-x) + 1)"]),
} satisfies Record<string, ScalarRule>;

/** The name of a scalar op: a key of scalarRules ("+", "Math.exp", "sigmoid"). */
export type ScalarOp = keyof typeof scalarRules;

/** Is this text the name of a scalar op? (Own keys only: "toString" is not one.) */
export const isScalarOp = (name: string): name is ScalarOp => Object.hasOwn(scalarRules, name);

/** The names a rule's gradient templates may use, and its value's. */
function namesOf(rule: ScalarRule): { value: string[]; grad: string[]; spread?: string } {
  if (rule.operands === "x") return { value: ["x"], grad: ["x", "y"] };
  if (rule.operands === "a, b") return { value: ["a", "b"], grad: ["a", "b", "y"] };
  return { value: [], grad: ["x", "y"], spread: "args" };
}

/** The gradient templates of a rule, one per operand (one for all, for a variadic op). */
export const gradientTemplates = (g: LocalGradient): readonly string[] =>
  g.kind === "partials" ? g.partials : g.kind === "variadic" ? [g.partial] : [];

// Points where a pattern must compute the rule's value, to be the same op.
const PROBES = [-1.5, -0.25, 0.5, 2];

/**
 * Checks one entry: its templates parse and name only its operands, y (in gradients), Math's
 * functions and constants; one partial per operand; an op named after a Math function or an
 * operator computes exactly that; each pattern computes the value. Throws naming the rule.
 */
export function checkScalarRule(name: string, rule: ScalarRule): void {
  const where = `scalar rule "${name}"`;
  try {
    const names = namesOf(rule);
    const value = check(rule.value, names.value, names.spread);
    const count = rule.operands === "x" ? 1 : rule.operands === "a, b" ? 2 : undefined;
    if (rule.grad.kind === "partials" && rule.grad.partials.length !== count)
      throw new TemplateError(`${rule.grad.partials.length} partials for ${rule.operands}`);
    if (rule.grad.kind !== "partials" && count !== undefined)
      throw new TemplateError(`a ${rule.grad.kind} gradient needs ...args`);
    for (const t of gradientTemplates(rule.grad)) check(t, names.grad);
    // "Math.exp" computes Math.exp(x), "+" computes a + b: the forward line is the source's operation.
    const expected = name.startsWith("Math.")
      ? `${name}(${rule.operands})`
      : /^[-+*/%]+$/.test(name)
        ? `a ${name} b`
        : undefined;
    if (
      expected !== undefined &&
      JSON.stringify(value) !== JSON.stringify(check(expected, names.value, names.spread))
    ) {
      throw new TemplateError(`its value "${rule.value}" is not ${expected}`);
    }
    for (const p of rule.patterns ?? []) {
      const pattern = check(p, ["x"]);
      if (rule.operands !== "x") throw new TemplateError("patterns are for unary ops");
      if (PROBES.some((x) => !Object.is(evaluate(pattern, { x }), evaluate(value, { x }))))
        throw new TemplateError(`the pattern "${p}" does not compute "${rule.value}"`);
    }
  } catch (e) {
    if (e instanceof TemplateError) throw new Error(`${where}: ${e.message}`);
    throw e;
  }
}

for (const [name, rule] of Object.entries(scalarRules)) checkScalarRule(name, rule);

/** Math functions that are piecewise constant: their value is used, no gradient flows through them. */
export const piecewiseConstant: ReadonlySet<string> = new Set([
  "Math.floor",
  "Math.ceil",
  "Math.round",
  "Math.trunc",
  "Math.sign",
]);

/** Math functions of no argument that the forward pass may call (their value is a constant). */
export const constantSources: ReadonlySet<string> = new Set(["Math.random"]);
