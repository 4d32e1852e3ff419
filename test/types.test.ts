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
