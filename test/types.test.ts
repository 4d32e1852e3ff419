// The types users get from grad/valueAndGrad/vjp, inferred from f with no casts. `expectTypeOf` and
// `@ts-expect-error` are checked by `tsc -p tsconfig.json --noEmit` (npm run typecheck); under
// vitest they run too, so the functions are registered to make the calls succeed.

import { describe, expectTypeOf, expect, it } from "vitest";
import {
  checkGradient,
  grad,
  numericGrad,
  registerGradient,
  valueAndGrad,
  vjp,
  type Grad,
  type GradientCheckResult,
  type Grads,
  type ParamIndex,
  type Matrix,
  add,
  addBias,
  matmul,
  matrix,
  transpose,
} from "../runtime/index.js";

function f(x: number, y: number): number {
  return x * y;
}
registerGradient(f, {
  grad: (x: number, y: number) => [y, x],
  forward: (x: number, y: number) => ({ value: x * y, cache: [x, y] }),
  backward: (c: number[], dout: number) => [c[1]! * dout, c[0]! * dout],
});

function name(x: number): string {
  return `${x}`;
}

describe("inferred types", () => {
  it("grad(f): (x: number, y: number) => [number, number]", () => {
    expectTypeOf(grad(f)).toEqualTypeOf<(x: number, y: number) => [number, number]>();
    expectTypeOf(grad(f)).parameters.toEqualTypeOf<[x: number, y: number]>();
  });

  it("grad(f, { wrt }) keeps only the listed gradients, in order", () => {
    expectTypeOf(grad(f, { wrt: [1] })).returns.toEqualTypeOf<[number]>();
    expectTypeOf(grad(f, { wrt: [1, 0] })).returns.toEqualTypeOf<[number, number]>();
    expectTypeOf(grad(f, { wrt: [1] })).parameters.toEqualTypeOf<[x: number, y: number]>();
  });

  it("valueAndGrad(f) → { value: number; grad: [number, number] }", () => {
    expectTypeOf(valueAndGrad(f)).returns.toEqualTypeOf<{ value: number; grad: [number, number] }>();
    expectTypeOf(valueAndGrad(f, { wrt: [0] })).returns.toEqualTypeOf<{ value: number; grad: [number] }>();
  });

  it("vjp(f)(x, y).backward: (dout: number) => [number, number]", () => {
    const out = vjp(f)(3, -4);
    expectTypeOf(out.value).toEqualTypeOf<number>();
    expectTypeOf(out.backward).toEqualTypeOf<(dout: number) => [number, number]>();
    expect(out.backward(2)).toEqual([-8, 6]);
  });

  it("ParamIndex and Grad follow the parameters", () => {
    expectTypeOf<ParamIndex<typeof f>>().toEqualTypeOf<0 | 1>();
    expectTypeOf<Grad<number>>().toEqualTypeOf<number>();
    expectTypeOf<Grad<readonly number[]>>().toEqualTypeOf<number[]>();
    expectTypeOf<Grad<Float64Array>>().toEqualTypeOf<Float64Array>();
    expectTypeOf<Grad<{ readonly w: number[]; b: number }>>().toEqualTypeOf<{ w: number[]; b: number }>();
    expectTypeOf<Grads<[x: number, v: Float64Array]>>().toEqualTypeOf<[number, Float64Array]>();
  });

  it("the gradient check is typed from f too", () => {
    expectTypeOf(numericGrad(f, [3, -4])).toEqualTypeOf<[number, number]>();
    expectTypeOf(checkGradient(f, [3, -4], [-4, 3])).toEqualTypeOf<GradientCheckResult>();
    // Not called: only the type error matters here.
    // @ts-expect-error f takes two numbers, so args must be [number, number]
    const wrongArity = () => numericGrad(f, [3]);
    expectTypeOf(wrongArity).toBeFunction();
  });
});

describe("type errors", () => {
  it("wrt: [2] on a two-parameter function", () => {
    // @ts-expect-error 2 is not a parameter index of f (0 | 1)
    expect(() => grad(f, { wrt: [2] })).toThrow(RangeError);
    // @ts-expect-error the same for valueAndGrad
    expect(() => valueAndGrad(f, { wrt: [0, 2] })).toThrow(RangeError);
  });

  it("grad of a function that does not return a number", () => {
    // @ts-expect-error name returns a string, not a number
    expect(() => grad(name)).toThrow(/tsgrad\/transformer/);
    // @ts-expect-error the same for vjp
    expect(() => vjp(name)).toThrow(/tsgrad\/transformer/);
  });
});

describe("matrix shapes where the types tell", () => {
  it("a shape written as a literal is in the type, and a mismatch is a compile error naming both sizes", () => {
    const A = matrix(2, 3);
    const B = matrix(3, 5);
    expectTypeOf(A).toEqualTypeOf<Matrix<2, 3>>();
    expectTypeOf(matmul(A, B)).toEqualTypeOf<Matrix<2, 5>>();
    expectTypeOf(transpose(A)).toEqualTypeOf<Matrix<3, 2>>();
    // @ts-expect-error inner sizes 3 and 2 differ: Property '"tsgrad: inner sizes differ"' is missing ... [3, 2]
    expect(() => matmul(A, A)).toThrow("matmul: cannot multiply 2×3 by 2×3");
    // @ts-expect-error 2×3 + 3×5: row counts and column counts differ
    expect(() => add(A, B)).toThrow("add: shapes 2×3 and 3×5 differ");
    const H = 100;
    const W1 = matrix(2, H);
    // @ts-expect-error a bias of 3 columns over a 2×100 matrix
    expect(() => addBias(W1, matrix(1, 3))).toThrow(/addBias/);
    expectTypeOf(addBias(W1, matrix(1, H))).toEqualTypeOf<Matrix<2, 100>>();
  });

  it("a shape known only when the code runs is a plain Matrix, checked by the op", () => {
    const n: number = 3;
    const data = matrix(n, 2);
    expectTypeOf(data).toEqualTypeOf<Matrix<number, 2>>();
    const loose: Matrix = matrix(2, 3);
    expectTypeOf(matmul(data, matrix(2, 4))).toEqualTypeOf<Matrix<number, 4>>();
    expect(() => matmul(loose, loose)).toThrow("inner sizes 3 and 2 differ");
  });
});
