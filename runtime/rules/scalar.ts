// Derivative rules for scalar operations, one small declarative entry per op, apart from the engine.
//
// A rule gives each operand's local gradient as a TypeScript expression over the operands and the
// output; the engine (transformer/phases/reverse.ts) substitutes the staged names and multiplies by the
// output's adjoint, one line per operand, as in the CS231n notes:
//   invden = 1 / den      "/" : [1 / b, -a / (b * b)]   →   dden = (-1 / (den * den)) * dinvden
// Names in templates: x (the operand of a unary op), a and b (binary), y (the output).
// Rules that use y read the value the forward pass already computed (exp, sqrt, tanh, sigmoid).
//
// Conventions at kinks, chosen so the gradient is finite wherever the true one is:
//   abs'(0) = 0; max/min route the gradient to the first operand equal to the output (the seed:
//   "the max gate routes the gradient"); hypot'(0) = 0; d(a ** b)/db = 0 where a <= 0.
// Piecewise-constant operations (floor, ceil, round, trunc, sign, comparisons) pass no gradient.

export type Rule =
  /** One template per operand, in order. */
  | { kind: "partials"; partials: readonly string[] }
  /** Any number of operands, the same template for each, x standing for that operand. */
  | { kind: "variadic"; partial: string }
  /** The whole gradient goes to the first operand equal to the output (max, min). */
  | { kind: "route" };

const unary = (dx: string): Rule => ({ kind: "partials", partials: [dx] });
const binary = (da: string, db: string): Rule => ({ kind: "partials", partials: [da, db] });
const variadic = (dx: string): Rule => ({ kind: "variadic", partial: dx });
const route: Rule = { kind: "route" };

// a ** b: the exponent's partial is guarded so that 0 ** b and (-2) ** 2 stay finite.
const power = binary("b === 0 ? 0 : b * a ** (b - 1)", "a > 0 ? Math.log(a) * y : 0");

export const scalarRules: Readonly<Record<string, Rule>> = {
  copy: unary("1"),
  neg: unary("-1"),
  "+": binary("1", "1"),
  "-": binary("1", "-1"),
  "*": binary("b", "a"),
  "/": binary("1 / b", "-a / (b * b)"),
  // a % b = a - q * b with q the integer quotient actually used: q = round((a - y) / b).
  "%": binary("1", "-Math.round((a - y) / b)"),
  "**": power,
  "Math.pow": power,
  "Math.exp": unary("y"),
  "Math.expm1": unary("y + 1"),
  "Math.log": unary("1 / x"),
  "Math.log1p": unary("1 / (1 + x)"),
  "Math.log2": unary("1 / (x * Math.LN2)"),
  "Math.log10": unary("1 / (x * Math.LN10)"),
  "Math.sqrt": unary("1 / (2 * y)"),
  "Math.cbrt": unary("1 / (3 * y * y)"),
  "Math.sin": unary("Math.cos(x)"),
  "Math.cos": unary("-Math.sin(x)"),
  "Math.tan": unary("1 + y * y"),
  "Math.asin": unary("1 / Math.sqrt(1 - x * x)"),
  "Math.acos": unary("-1 / Math.sqrt(1 - x * x)"),
  "Math.atan": unary("1 / (1 + x * x)"),
  // b / (a² + b²) and -a / (a² + b²), divided by hypot twice so tiny operands do not underflow.
  "Math.atan2": binary("b / Math.hypot(a, b) / Math.hypot(a, b)", "-a / Math.hypot(a, b) / Math.hypot(a, b)"),
  "Math.sinh": unary("Math.cosh(x)"),
  "Math.cosh": unary("Math.sinh(x)"),
  "Math.tanh": unary("1 - y * y"),
  "Math.asinh": unary("1 / Math.sqrt(x * x + 1)"),
  "Math.acosh": unary("1 / Math.sqrt(x * x - 1)"),
  "Math.atanh": unary("1 / (1 - x * x)"),
  "Math.abs": unary("Math.sign(x)"),
  "Math.max": route,
  "Math.min": route,
  "Math.hypot": variadic("y === 0 ? 0 : x / y"),
  // 1 / (1 + Math.exp(-x)), recognised as one operation: the seed's (1 - s) * s.
  sigmoid: unary("(1 - y) * y"),
};

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
