// The scalar rule table (runtime/rules/scalar.ts) on its own, apart from the compiler:
//   1. every rule's local gradient against central finite differences of its value, at several
//      points of its domain (the oracle: JavaScript itself evaluating the rule's text);
//   2. the template parser reads every template as TypeScript does, and computes what JavaScript does;
//   3. the check run when the table loads rejects broken entries, naming the rule;
//   4. op names in the IR are typed: a misspelled one is a compile-time error.
// Adding a scalar function is one entry in scalar.ts and one row in POINTS below.

import { resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import type { Op } from "../transformer/ir/ir.js";
import { exprFromTs } from "../transformer/ir/syntax.js";
import {
  type ScalarOp,
  type ScalarRule,
  checkScalarRule,
  gradientTemplates,
  scalarRules,
} from "../runtime/rules/scalar.js";
import { evaluate, parse, template } from "../runtime/rules/template.js";
import { root } from "./harness.js";

/** Points inside each op's domain, away from its kinks: one operand list per point. */
const POINTS: Record<ScalarOp, readonly (readonly number[])[]> = {
  copy: [[-1.3], [0.4], [2.5]],
  neg: [[-1.3], [0.4], [2.5]],
  "+": [
    [1.2, -0.7],
    [-3, 2.5],
    [0.1, 0.2],
  ],
  "-": [
    [1.2, -0.7],
    [-3, 2.5],
    [0.1, 0.2],
  ],
  "*": [
    [1.2, -0.7],
    [-3, 2.5],
    [0.1, 0.2],
  ],
  "/": [
    [1.2, -0.7],
    [-3, 2.5],
    [0.1, 0.2],
  ],
  "%": [
    [5.3, 2],
    [-3.7, 1.5],
    [7.1, -2.5],
  ],
  "**": [
    [1.5, 2],
    [2, 0.5],
    [0.7, -1.3],
  ],
  "Math.pow": [
    [1.5, 2],
    [2, 0.5],
    [0.7, -1.3],
  ],
  "Math.exp": [[-2], [0.3], [1.7]],
  "Math.expm1": [[-2], [0.3], [1.7]],
  "Math.log": [[0.2], [1.3], [7]],
  "Math.log1p": [[-0.5], [0.3], [4]],
  "Math.log2": [[0.2], [1.3], [7]],
  "Math.log10": [[0.2], [1.3], [7]],
  "Math.sqrt": [[0.2], [1.3], [7]],
  "Math.cbrt": [[-3], [0.2], [5]],
  "Math.sin": [[-2], [0.3], [4]],
  "Math.cos": [[-2], [0.3], [4]],
  "Math.tan": [[-1], [0.3], [1.2]],
  "Math.asin": [[-0.8], [0.1], [0.6]],
  "Math.acos": [[-0.8], [0.1], [0.6]],
  "Math.atan": [[-3], [0.2], [2]],
  "Math.atan2": [
    [1, 2],
    [-0.5, 0.3],
    [2, -1.5],
  ],
  "Math.sinh": [[-2], [0.3], [1.7]],
  "Math.cosh": [[-2], [0.3], [1.7]],
  "Math.tanh": [[-2], [0.3], [1.7]],
  "Math.asinh": [[-2], [0.3], [1.7]],
  "Math.acosh": [[1.2], [2], [5]],
  "Math.atanh": [[-0.7], [0.1], [0.5]],
  "Math.abs": [[-2], [0.3], [1.7]],
  "Math.max": [
    [1, 3],
    [-1, -2, 0.5],
    [4, 2, 3],
  ],
  "Math.min": [
    [1, 3],
    [-1, -2, 0.5],
    [4, 2, 3],
  ],
  "Math.hypot": [[3, 4], [-1, 2, 0.5], [0.3]],
  sigmoid: [[-3], [0], [2.5]],
};

const rules = scalarRules as Record<ScalarOp, ScalarRule>;
const ops = Object.keys(scalarRules) as ScalarOp[];

/** The rule's value as JavaScript computes it from its text (not through tsgrad's parser). */
function valueFn(rule: ScalarRule): (operands: readonly number[]) => number {
  if (rule.operands === "...args") {
    const f = new Function("...args", `return ${rule.value};`) as (...a: number[]) => number;
    return (o) => f(...o);
  }
  const f = new Function(...rule.operands.split(", "), `return ${rule.value};`) as (...a: number[]) => number;
  return (o) => f(...o);
}

/** Each operand's local gradient by the rule, as JavaScript computes it from the templates' text. */
function ruleGradient(rule: ScalarRule, operands: readonly number[], y: number): number[] {
  const { grad } = rule;
  if (grad.kind === "route") {
    const first = operands.findIndex((o) => o === y);
    return operands.map((_, i) => (i === first ? 1 : 0));
  }
  const at = (text: string, i: number): number => {
    if (rule.operands === "x" || rule.operands === "...args")
      return new Function("x", "y", `return ${text};`)(operands[i], y);
    return new Function("a", "b", "y", `return ${text};`)(operands[0], operands[1], y);
  };
  return operands.map((_, i) => at(grad.kind === "variadic" ? grad.partial : grad.partials[i], i));
}

/** ∂f/∂operand_i by central differences. */
function centralDifference(f: (o: readonly number[]) => number, operands: readonly number[], i: number): number {
  const h = 1e-6 * Math.max(1, Math.abs(operands[i]));
  const shifted = (d: number) => f(operands.map((o, j) => (j === i ? o + d : o)));
  return (shifted(h) - shifted(-h)) / (2 * h);
}

describe("scalar rules: local gradients against finite differences", () => {
  it("every rule has points to be checked at (one row per entry)", () => {
    expect(Object.keys(POINTS).sort()).toEqual([...ops].sort());
  });

  for (const op of ops) {
    it(`${op}`, () => {
      const rule = rules[op];
      const f = valueFn(rule);
      for (const operands of POINTS[op]) {
        if (rule.operands === "x") expect(operands).toHaveLength(1);
        if (rule.operands === "a, b") expect(operands).toHaveLength(2);
        const y = f(operands);
        expect(Number.isFinite(y), `${op}(${operands}) = ${y}`).toBe(true);
        const grad = ruleGradient(rule, operands, y);
        operands.forEach((_, i) => {
          const numeric = centralDifference(f, operands, i);
          expect(
            Math.abs(grad[i] - numeric),
            `d ${op}(${operands}) / d operand ${i}: rule ${grad[i]}, finite differences ${numeric}`,
          ).toBeLessThan(1e-6 * Math.max(1, Math.abs(numeric)));
        });
      }
    });
  }

  it("the kink conventions: abs'(0) = 0, hypot'(0) = 0, max routes to the first operand equal to it, (-2) ** 2 has a finite exponent partial", () => {
    expect(ruleGradient(rules["Math.abs"], [0], 0)).toEqual([0]);
    expect(ruleGradient(rules["Math.hypot"], [0, 0], 0)).toEqual([0, 0]);
    expect(ruleGradient(rules["Math.max"], [2, 2, 1], 2)).toEqual([1, 0, 0]);
    expect(ruleGradient(rules["**"], [-2, 2], 4)).toEqual([-4, 0]);
    expect(ruleGradient(rules["**"], [0, 0], 1)).toEqual([0, 0]);
    expect(ruleGradient(rules["Math.pow"], [-1.5, 3], -3.375)).toEqual([6.75, 0]);
  });
});

describe("scalar rules: the template parser", () => {
  const all = ops.flatMap((op) => [
    rules[op].value,
    ...gradientTemplates(rules[op].grad),
    ...(rules[op].patterns ?? []),
  ]);

  it("reads every template as TypeScript does (the compiler's IR expression)", () => {
    for (const text of all.filter((t) => !t.includes("..."))) {
      const file = ts.createSourceFile("rule.ts", text, ts.ScriptTarget.Latest, true);
      const statement = file.statements[0] as ts.ExpressionStatement;
      const viaTs = exprFromTs(statement.expression, (x) =>
        ts.isIdentifier(x) ? { k: "ref", name: x.text } : undefined,
      );
      expect(template(text), text).toEqual(viaTs);
    }
  });

  it("computes what JavaScript computes, precedence and associativity included", () => {
    const texts = [
      ...all.filter((t) => !t.includes("...")),
      "2 ** 3 ** 2",
      "10 - 4 - 3",
      "-a ** 2 === 0 ? 1 : 2".replace("-a ** 2", "(-a) ** 2"),
      "a / b / 2 * 3",
      "a > 0 && b < 0 || a === b",
    ];
    for (const text of texts) {
      for (const [a, b, x, y] of [
        [1.5, -0.5, 0.3, 2],
        [-2, 3, 0.9, -1],
      ]) {
        const js = new Function("a", "b", "x", "y", `return ${text};`)(a, b, x, y);
        expect(evaluate(parse(text), { a, b, x, y }), text).toBe(js);
      }
    }
  });

  it("reports where it cannot read a template", () => {
    expect(() => parse("1 / (x")).toThrow(/expected "\)"/);
    expect(() => parse("x +")).toThrow(/expected a value/);
    expect(() => parse("x # y")).toThrow(/cannot read it at "# y"/);
    expect(() => parse("x y")).toThrow(/unexpected text at "y"/);
  });
});

describe("scalar rules: the check when the table loads", () => {
  const sin = rules["Math.sin"];
  const broken = (entry: Partial<ScalarRule>) => () => checkScalarRule("Math.sin", { ...sin, ...entry });

  it("accepts every entry of the table", () => {
    for (const op of ops) expect(() => checkScalarRule(op, rules[op])).not.toThrow();
  });
  it("rejects a name the rule does not give, naming the rule and the name", () => {
    expect(broken({ grad: { kind: "partials", partials: ["Math.cos(z)"] } })).toThrow(
      /scalar rule "Math.sin": "Math.cos\(z\)": unknown name z/,
    );
    // a and b are a binary op's names, not a unary one's
    expect(broken({ grad: { kind: "partials", partials: ["Math.cos(a)"] } })).toThrow(/unknown name a/);
    // y is the output: gradients may read it, values may not
    expect(broken({ value: "Math.sin(y)" })).toThrow(/unknown name y/);
  });
  it("rejects a misspelled Math function or constant", () => {
    expect(broken({ grad: { kind: "partials", partials: ["Math.cso(x)"] } })).toThrow(
      /scalar rule "Math.sin": .*unknown function Math.cso/,
    );
    expect(broken({ grad: { kind: "partials", partials: ["x * Math.LN3"] } })).toThrow(/unknown constant Math.LN3/);
    expect(broken({ grad: { kind: "partials", partials: ["Math.cos(x).y"] } })).toThrow(/scalar rule "Math.sin"/);
  });
  it("rejects a template that does not parse", () => {
    expect(broken({ grad: { kind: "partials", partials: ["Math.cos(x"] } })).toThrow(
      /scalar rule "Math.sin": "Math.cos\(x": expected "\)"/,
    );
  });
  it("rejects one partial too many or too few", () => {
    expect(broken({ grad: { kind: "partials", partials: ["Math.cos(x)", "1"] } })).toThrow(/2 partials for x/);
    expect(() => checkScalarRule("/", { ...rules["/"], grad: { kind: "partials", partials: ["1 / b"] } })).toThrow(
      /scalar rule "\/": 1 partials for a, b/,
    );
  });
  it("rejects a value that is not the operation the entry is named after", () => {
    expect(broken({ value: "Math.cos(x)" })).toThrow(/its value "Math.cos\(x\)" is not Math.sin\(x\)/);
    expect(() => checkScalarRule("-", { ...rules["-"], value: "b - a" })).toThrow(/is not a - b/);
  });
  it("rejects a pattern that does not compute the rule's value", () => {
    const sigmoid = rules.sigmoid;
    expect(() => checkScalarRule("sigmoid", { ...sigmoid, patterns: ["1 / (1 + Math.exp(x))"] })).toThrow(
      /the pattern "1 \/ \(1 \+ Math.exp\(x\)\)" does not compute/,
    );
  });
});

describe("typed ops", () => {
  it("a misspelled op name is a compile-time error", () => {
    // tsc (npx tsc -p tsconfig.json) checks these lines: each would be an unused directive if accepted.
    // @ts-expect-error "Math.sni" is not a scalar op
    const scalar: Op = { kind: "scalar", rule: "Math.sni" };
    // @ts-expect-error "matmull" is not a matrix op
    const matrix: Op = { kind: "matrix", op: "matmull" };
    // @ts-expect-error the old string form is gone
    const old: Op = "matrix:matmul";
    const fine: Op[] = [
      { kind: "scalar", rule: "Math.sin" },
      { kind: "matrix", op: "matmul" },
    ];
    expect([scalar, matrix, old, fine]).toHaveLength(4);

    // ...and the same, seen by the type checker from here.
    const file = resolve(root, "test", "__typed-op-check.ts");
    const text = [
      `import type { Op } from "../transformer/ir/ir.js";`,
      `export const a: Op = { kind: "scalar", rule: "Math.sni" };`,
      `export const b: Op = { kind: "matrix", op: "matmull" };`,
      `export const c: Op = { kind: "scalar", rule: "Math.sin" };`,
    ].join("\n");
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: [],
    };
    const host = ts.createCompilerHost(options);
    const getSourceFile = host.getSourceFile;
    host.getSourceFile = (name, version, ...rest) =>
      resolve(name) === file ? ts.createSourceFile(name, text, version) : getSourceFile(name, version, ...rest);
    host.fileExists = (
      (exists) => (name: string) =>
        resolve(name) === file || exists(name)
    )(host.fileExists);
    const program = ts.createProgram([file], options, host);
    const errors = ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => ({
      line: d.file!.getLineAndCharacterOfPosition(d.start!).line + 1,
      text: ts.flattenDiagnosticMessageText(d.messageText, " "),
    }));
    expect(errors.map((e) => e.line)).toEqual([2, 3]);
    expect(errors[0].text).toMatch(/"Math.sni"' is not assignable/);
    expect(errors[1].text).toMatch(/"matmull"' is not assignable/);
  }, 60_000);
});
