// grad(f, { checkFinite: true }): f_gradChecked (transformer/phases/finite.ts) throws at the first NaN or
// Infinity its backward pass computes, naming the gradient, the source line and the function; where
// every gradient is finite it returns f_grad's numbers exactly. The oracles: hand derivations of
// where each gradient first stops being finite, and f_grad itself.

import ts from "typescript";
import { describe, expect, it } from "vitest";
import { NonFiniteGradientError } from "tsgrad"; // the built runtime, which the compiled module loads
import { compile, compilerOptions, compileToJs, createProgram } from "./harness.js";
import tsgradTransformer from "../transformer/hosts/tsc.js";

// Line numbers below count from the first line of SOURCE.
const SOURCE = `import { grad, valueAndGrad, matmul, sum, type Matrix } from "tsgrad";
/** @differentiable */
export function radius(x: number, y: number): number {
  const s = x * x + y * y;
  const r = Math.sqrt(s);
  return 3 * r;
}
/** @differentiable */
export function logSum(a: Float64Array): number {
  let total = 0;
  for (let i = 0; i < a.length; i++) {
    total += Math.log(a[i]);
  }
  return total;
}
/** @differentiable */
export function scores(W: Matrix, X: Matrix): number {
  return sum(matmul(X, W));
}
/** @differentiable */
export function plain(x: number): number {
  return x * x;
}
export const checkedRadius = grad(radius, { checkFinite: true });
export const checkedRadiusY = grad(radius, { wrt: [1], checkFinite: true });
export const checkedLogSum = grad(logSum, { checkFinite: true });
export const checkedScores = grad(scores, { checkFinite: true });
export const valueAndCheckedRadius = valueAndGrad(radius, { checkFinite: true });
const byValue = [plain];
export const plainChecked = () => grad(byValue[0], { checkFinite: true });
`;

/** Calls `run`, expecting a NonFiniteGradientError; returns it. */
function thrown(run: () => unknown): NonFiniteGradientError {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(NonFiniteGradientError);
    return e as NonFiniteGradientError;
  }
  throw new Error("expected a NonFiniteGradientError, but the gradient was computed");
}

describe("grad(f, { checkFinite: true })", async () => {
  const { module: m, js } = await compile(SOURCE);
  const file = /case_\w+\.ts/;

  it("returns f_grad's numbers exactly where every gradient is finite", () => {
    for (const [x, y] of [
      [3, -4],
      [0.5, 2],
      [-1e-3, 7],
    ]) {
      expect(m.checkedRadius(x, y)).toEqual(m.radius_grad(x, y));
      expect(m.checkedRadiusY(x, y)).toEqual([m.radius_grad(x, y)[1]]);
      expect(m.valueAndCheckedRadius(x, y)).toEqual({ value: m.radius(x, y), grad: m.radius_grad(x, y) });
    }
    const a = Float64Array.of(0.5, 2, 3);
    expect(m.checkedLogSum(a)).toEqual(m.logSum_grad(a));
  });

  it("names the first non-finite gradient and the line whose backward block made it", () => {
    // At the origin r = sqrt(0) = 0: dr = 3, then ds = dr / (2 r) = Infinity (line 5), before dx = 2x ds = NaN (line 4).
    expect(m.radius_grad(0, 0).map(Number.isNaN)).toEqual([true, true]);
    const e = thrown(() => m.checkedRadius(0, 0));
    expect(e).toMatchObject({ fn: "radius", gradient: "ds", value: Infinity, line: "const r = Math.sqrt(s);" });
    expect(e.at).toMatch(new RegExp(`^${file.source}:5$`));
    expect(e.message).toMatch(
      /^tsgrad: checkFinite: ds is Infinity in the backward pass of radius, at case_\w+\.ts:5: the gradient through `const r = Math\.sqrt\(s\);` \(the first NaN or Infinity of this backward pass\)$/,
    );
    expect(thrown(() => m.valueAndCheckedRadius(0, 0)).gradient).toBe("ds");
  });

  it("names the element of an array gradient, inside a loop", () => {
    // d/da[i] log(a[i]) = 1 / a[i]: Infinity at a[1] = 0 (line 12).
    const e = thrown(() => m.checkedLogSum(Float64Array.of(2, 0, 5)));
    expect(e).toMatchObject({ fn: "logSum", gradient: "da[1]", value: Infinity, line: "total += Math.log(a[i]);" });
    expect(e.at).toMatch(/:12$/);
  });

  it("checks a matrix gradient after its kernel", () => {
    const matrix = (rows: number, cols: number, ...data: number[]) => ({ rows, cols, data: Float64Array.from(data) });
    // dW = Xᵀ · 1: Infinity where X is.
    const e = thrown(() => m.checkedScores(matrix(2, 1, 1, 1), matrix(1, 2, 3, Infinity)));
    expect(e).toMatchObject({ fn: "scores", gradient: "dW[1]", value: Infinity, line: "return sum(matmul(X, W));" });
  });

  it("f_grad itself has no checks, and a function no checkFinite call names gets no f_gradChecked", () => {
    const body = (name: string) =>
      js.slice(js.indexOf(`export function ${name}(`), js.indexOf("\n}\n", js.indexOf(`export function ${name}(`)));
    expect(body("radius_grad")).not.toContain("checkFinite");
    expect(body("radius_gradChecked")).toContain('checkFinite("radius", "ds", ds, ');
    expect(js).not.toContain("plain_gradChecked");
  });

  it("explains how to have it generated for a function passed as a value", () => {
    expect(() => m.plainChecked()).toThrow(
      'tsgrad: grad(plain, { checkFinite: true }): plain was built without its checked gradient (plain_gradChecked). tsgrad generates one for each function a `grad(f, { checkFinite: true })` call names directly; for plain passed as a value, set checkFinite for the whole build: { "transform": "tsgrad/transformer", "checkFinite": true } in tsconfig, tsgrad({ checkFinite: true }) in Vite, or tsgrad gen --check-finite',
    );
  });
});

describe('the plugin option { "checkFinite": true }', () => {
  it("gives every function f_gradChecked", () => {
    const { sourceFile } = compileToJs(
      `/** @differentiable */\nexport function f(x: number): number { return Math.log(x); }\n`,
    );
    const program = createProgram([sourceFile], compilerOptions);
    let js = "";
    program.emit(undefined, (_, text) => (js = text), undefined, false, {
      before: [tsgradTransformer(program, { checkFinite: true })],
    });
    expect(js).toContain("export function f_gradChecked(x)");
    expect(js).toMatch(/registerGradient\(f, \{ grad: f_grad, gradInto: f_gradInto, gradChecked: f_gradChecked,/);
  });
});
