// Functions in object literals and classes: members of a `const` object tagged @differentiable
// (methods, arrows and function expressions), one member calling another by name or through
// `this`, class methods calling each other through `this.m(x)`, `this.field` read once per call
// (a constant of the instance, kept in vjp's cache), and parameters of a class type, whose
// gradient is an object of their number fields. Gradients are checked against central finite
// differences, through grad (the static rewrite and the runtime's lookup) and vjp.

import ts from "typescript";
import { describe, expect, it } from "vitest";
import { createRequire } from "node:module";
import { join } from "node:path";
import {
  compile,
  compileProject,
  compileToJs,
  emitProject,
  genStrictErrors,
  transformedText,
} from "./closures-harness.js";

const require = createRequire(import.meta.url);

type F = (...a: any[]) => number;

/**
 * Central differences of f at args in its number arguments (objects: their number fields), as
 * grad's shape. `counts` are integer arguments (a loop's count), whose gradient is 0.
 */
function fd(f: F, args: any[], self?: unknown, counts: readonly number[] = [], h = 1e-6): any[] {
  const at = (a: any[]) => f.apply(self, a);
  return args.map((arg, i) => {
    if (counts.includes(i)) return 0;
    if (typeof arg === "number") {
      const plus = args.slice();
      const minus = args.slice();
      plus[i] += h;
      minus[i] -= h;
      return (at(plus) - at(minus)) / (2 * h);
    }
    const out: Record<string, number> = {};
    for (const key of Object.keys(arg)) {
      if (typeof arg[key] !== "number") continue;
      const old = arg[key];
      arg[key] = old + h;
      const plus = at(args);
      arg[key] = old - h;
      const minus = at(args);
      arg[key] = old;
      out[key] = (plus - minus) / (2 * h);
    }
    return out;
  });
}

const flat = (g: any[]): number[] =>
  g.flatMap((x) => (typeof x === "number" ? [x] : Object.keys(x).map((k) => x[k] as number)));

/** |a - n| <= tol max(1, |a| + |n|), entry by entry (objects by their fields, in order). */
function close(analytic: any[], numeric: any[], tol = 1e-7): void {
  const a = flat(analytic);
  const n = flat(numeric);
  expect(a.length).toBe(n.length);
  a.forEach((ai, i) => {
    const err = Math.abs(ai - n[i]) / Math.max(1, Math.abs(ai) + Math.abs(n[i]));
    if (!(err <= tol)) throw new Error(`gradient ${i}: analytic ${ai} vs numeric ${n[i]} (relative error ${err})`);
  });
}

/** grad(f) through the runtime's lookup (with `this` for a member), vjp's value and backward(dout). */
function check(api: Record<string, any>, f: F, points: any[][], self?: unknown, counts: readonly number[] = []): void {
  for (const p of points) {
    const g: any[] = api.grad(f).apply(self, p);
    close(g, fd(f, p, self, counts));
    const { value, backward } = api.vjp(f).apply(self, p);
    expect(value).toBe(f.apply(self, p));
    close(
      backward(-2.5),
      flat(g).map((x) => -2.5 * x),
      1e-12,
    );
  }
}

const RUNTIME = `import * as api from "tsgrad";\nexport { api };\n`;

const VEC = `
export const vec = {
  scale: 2,
  /** @differentiable */
  sq(a: number): number { return a * a; },
  /** @differentiable */
  dot(ax: number, ay: number, bx: number, by: number): number { return ax * bx + ay * by; },
  /** @differentiable */
  norm: (x: number, y: number): number => Math.sqrt(vec.sq(x) + vec.sq(y)),
  norm2: /** @differentiable */ function (x: number, y: number): number { return this.dot(x, y, x, y); },
  /** @differentiable */
  scaled(x: number): number { return this.scale * this.sq(x); },
  /** @differentiable */
  shifted: (x: number): number => vec.scale * x + vec.sq(x),
  /** @differentiable */
  powerSum(x: number, n: number): number {
    let s = 0;
    for (let i = 1; i <= n; i++) {
      if (i % 2 === 0) s += this.sq(x) * i;
      else s -= vec.dot(x, i, x, 1) / this.scale;
    }
    return s;
  },
  unmarked(x: number): number { return x + 1; },
};
`;

describe("members of object literals", () => {
  it("grad(vec.dot) compiles to vec_dot_grad; vjp and the runtime's lookup agree with finite differences", async () => {
    const { module, js } = await compile(`
${RUNTIME}
import { grad, vjp } from "tsgrad";
${VEC}
export const dDot = grad(vec.dot);
export const dNorm = grad(vec.norm);
export function vjpNorm(x: number, y: number) { return vjp(vec.norm)(x, y).backward(1); }
`);
    expect(js).toMatch(/export const dDot = vec_dot_grad;/);
    expect(js).toMatch(/registerGradient\(vec\.dot, \{/);
    const { api, vec } = module;
    close(module.dDot(1, 2, 3, 4), [3, 4, 1, 2], 0);
    close(module.dNorm(3, 4), [0.6, 0.8], 1e-15);
    close(module.vjpNorm(3, 4), [0.6, 0.8], 1e-15);
    for (const name of ["sq", "dot", "norm", "norm2", "scaled", "shifted", "powerSum"]) {
      const points =
        name === "powerSum"
          ? [
              [0.7, 5],
              [-1.3, 4],
            ]
          : [
              [0.7, -1.1, 0.4, 2],
              [2, 0.5, -0.3, 1],
            ];
      const arity = vec[name].length;
      const counts = name === "powerSum" ? [1] : [];
      check(
        api,
        vec[name],
        points.map((p) => p.slice(0, arity)),
        vec,
        counts,
      );
    }
  });

  it("this.field is read once per call: vjp's backward pass keeps the value its forward pass read", async () => {
    const { module } = await compile(`
import { vjp } from "tsgrad";
export const model = {
  k: 2,
  /** @differentiable */
  f(x: number): number { return this.k * Math.sin(x); },
};
export function changed(x: number): number[] {
  const { backward } = vjp(model.f).call(model, x);
  model.k = 10;
  return backward(1);
}
`);
    expect(module.changed(0.5)[0]).toBeCloseTo(2 * Math.cos(0.5), 14);
  });

  it("members calling members of an imported object; a member passed as a value", async () => {
    const { module } = await compileProject(
      {
        "lib.ts": VEC,
        "main.ts": `
${RUNTIME}
import { vec } from "./lib.js";
import * as L from "./lib.js";
/** @differentiable */
export function f(x: number, y: number): number { return vec.norm(x, y) * L.vec.sq(x) + vec.scaled(y); }
export function minimize(g: (x: number) => number, x: number): number {
  for (let i = 0; i < 300; i++) x -= 0.05 * api.grad(g)(x)[0];
  return x;
}
export const lowest = minimize(vec.sq, 3);
`,
      },
      "main.ts",
    );
    check(module.api, module.f, [
      [0.8, -1.5],
      [2, 0.3],
    ]);
    expect(Math.abs(module.lowest)).toBeLessThan(1e-6);
  });

  it("an object inside a factory: its members read captured values, registered per object", async () => {
    const { module } = await compile(`
${RUNTIME}
export function makeModel(k: number) {
  const model = {
    bias: k / 2,
    /** @differentiable */
    predict(x: number): number { return k * Math.tanh(x) + this.bias; },
    /** @differentiable */
    loss(x: number, y: number): number { return (model.predict(x) - y) ** 2; },
  };
  return model;
}
`);
    for (const k of [0.5, 3]) {
      const m = module.makeModel(k);
      check(module.api, m.predict, [[0.4], [-1.2]], m);
      check(
        module.api,
        m.loss,
        [
          [0.4, 1],
          [-1.2, 0.3],
        ],
        m,
      );
    }
  });
});

describe("CommonJS output", () => {
  it("members imported from a CommonJS module, nested objects, and a factory's closures", () => {
    const lib = `${VEC}
export const lib = { inner: { /** @differentiable */ cube(x: number): number { return x * this.k * x * x; }, k: 2 } };
export function backIn(s: number) {
  return /** @differentiable */ (t: number) => t * t * ((s + 1) * t - s);
}
`;
    const main = `import { grad, vjp } from "tsgrad";
import { vec, lib, backIn } from "./lib.cjs";
/** @differentiable */
export function f(x: number, y: number): number { return vec.norm(x, y) * lib.inner.cube(y); }
export const results = () => ({
  f: grad(f)(0.8, -1.5),
  fVjp: vjp(f)(0.8, -1.5).backward(1),
  ease: grad(backIn(1.7))(0.5),
  cube: grad(lib.inner.cube).call(lib.inner, 1.5),
});
`;
    const { dir, diagnostics } = emitProject({ "lib.cts": lib, "main.cts": main }, { module: ts.ModuleKind.NodeNext });
    expect(diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error)).toEqual([]);
    const m = require(join(dir, "main.cjs"));
    const r = m.results();
    const plain = (x: number, y: number) => Math.hypot(x, y) * 2 * y ** 3;
    close(r.f, fd(plain, [0.8, -1.5]));
    close(r.fVjp, r.f, 1e-15);
    close(r.ease, [3 * 2.7 * 0.25 - 2 * 1.7 * 0.5], 1e-14);
    close(r.cube, [6 * 1.5 ** 2], 1e-14);
  });
});

describe("class methods", () => {
  it("this.m(x) calls another differentiable method, in loops and branches, instance and static", async () => {
    const { module } = await compile(`
${RUNTIME}
import { grad } from "tsgrad";
export class Spring {
  constructor(public k: number, public rest: number) {}
  /** @differentiable */
  stretch(x: number): number { return x - this.rest; }
  /** @differentiable */
  energy(x: number): number { const s = this.stretch(x); return 0.5 * this.k * s * s; }
  /** @differentiable */
  total(x: number, n: number): number {
    let e = 0;
    for (let i = 0; i < n; i++) {
      if (this.stretch(x * i) > 0) e += this.energy(x * i);
      else e -= this.stretch(x) * i;
    }
    return e + Spring.cube(x);
  }
  /** @differentiable */
  static cube(x: number): number { return x * Spring.sq(x); }
  /** @differentiable */
  static quartic(x: number): number { return this.sq(x) * this.sq(x); }
  /** @differentiable */
  static sq(x: number): number { return x * x; }
}
export const s = new Spring(3, 0.5);
export const viaBind = grad(s.total)(0.4, 4);
`);
    const { api, Spring, s } = module;
    check(api, s.energy, [[1.3], [-0.4]], s);
    check(
      api,
      s.total,
      [
        [0.4, 4],
        [1.1, 3],
      ],
      s,
      [1],
    );
    check(api, Spring.quartic, [[0.9]], Spring);
    close(module.viaBind, fd(s.total, [0.4, 4], s, [1]));
  });

  it("this.field is read once: vjp keeps the instance's value of the forward pass", async () => {
    const { module } = await compile(`
import { vjp } from "tsgrad";
export class Model {
  constructor(public k: number) {}
  /** @differentiable */
  f(x: number): number { return this.k * Math.sin(x); }
}
export function changed(x: number): number[] {
  const m = new Model(2);
  const { backward } = vjp(m.f).call(m, x);
  m.k = 10;
  return backward(1);
}
`);
    expect(module.changed(0.5)[0]).toBeCloseTo(2 * Math.cos(0.5), 14);
  });
});

describe("parameters of a class type", () => {
  it("its number fields are read; the gradient is a plain object of them (methods and getters have none)", async () => {
    const { module } = await compile(`
${RUNTIME}
export class Particle {
  constructor(public mass: number, public v: number, public x: number) {}
  get speed(): number { return Math.abs(this.v); }
  kinetic(): number { return 0.5 * this.mass * this.v * this.v; }
}
/** @differentiable */
export function energy(p: Particle, g: number): number {
  let e = 0.5 * p.mass * p.v * p.v;
  if (p.x > 0) e += p.mass * g * p.x;
  for (let i = 0; i < 3; i++) e += 0.1 * i * p.v * g;
  return e;
}
`);
    const { api, Particle, energy } = module;
    const p = new Particle(2, 1.5, 0.7);
    check(api, energy, [
      [p, 9.8],
      [new Particle(1, -0.3, -0.2), 1.6],
    ]);
    const [dp] = api.grad(energy)(p, 9.8);
    expect(dp).not.toBeInstanceOf(Particle);
    expect(Object.keys(dp)).toEqual(["mass", "v", "x"]);
  });

  it("reading a getter or calling a method of it is refused, with what to do instead", () => {
    const found = compileToJs(`
export class Particle {
  constructor(public mass: number, public v: number) {}
  get speed(): number { return Math.abs(this.v); }
  kinetic(): number { return 0.5 * this.mass * this.v * this.v; }
}
/** @differentiable */
export function f(p: Particle): number { return p.speed + p.kinetic(); }
`).diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, " "));
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/`p.speed` is a getter, a method or a function of its class, which has no gradient/);
    expect(found[1]).toMatch(/`p.kinetic\(\)` calls a method of a value.*make it a @differentiable function/);
  });
});

describe("tags tsgrad cannot follow are errors, never ignored", () => {
  const refusals = (source: string) =>
    compileToJs(source)
      .diagnostics.filter((d) => d.code >= 94000)
      .sort((a, b) => a.start! - b.start!)
      .map((d) => ({ code: d.code, text: ts.flattenDiagnosticMessageText(d.messageText, " ") }));

  it("members of objects no const holds, computed keys, class fields, getters, overloads, several declarations", () => {
    const found = refusals(`
export function register(o: object) { return o; }
register({ /** @differentiable */ m(x: number) { return x * x; } });
export let mutable = { /** @differentiable */ f(x: number) { return x; } };
export const keyed = { /** @differentiable */ ["k" + 1](x: number) { return x; } };
export class A {
  /** @differentiable */
  f = (x: number) => x * x;
  /** @differentiable */
  get g() { return 1; }
}
/** @differentiable */
export function over(x: number): number;
export function over(x: number): number { return x; }
/** @differentiable */
export const a = 1, b = (x: number) => x;
/**
 * Prose that mentions @differentiable functions is not a tag.
 */
export const note = 1;
`);
    expect(found.map((d) => d.code)).toEqual([94012, 94012, 94012, 94012, 94012, 94012, 94012]);
    expect(found[0].text).toMatch(/`m` is a member of an object literal that no `const` holds/);
    expect(found[1].text).toMatch(/`f` is a member of an object literal that no `const` holds/);
    expect(found[2].text).toMatch(/needs a plain name/);
    expect(found[3].text).toMatch(/on a class field: make the function a method/);
    expect(found[4].text).toMatch(/on a getter or setter/);
    expect(found[5].text).toMatch(/on a declaration without a body/);
    expect(found[6].text).toMatch(/on a statement declaring several variables/);
  });

  it("grad of an unmarked member is a compile error, not a run-time surprise", () => {
    const found = refusals(`
import { grad } from "tsgrad";
export const vec = { sq(a: number): number { return a * a; }, cube: (a: number) => a * a * a };
export const g = grad(vec.sq);
export const h = grad(vec.cube);
`);
    expect(found.map((d) => d.code)).toEqual([94007, 94007]);
    expect(found[0].text).toMatch(/grad\(vec\.sq\) needs a function marked @differentiable/);
  });

  it("a member's gradient out of its scope is refused precisely; an array passed to a member is not", () => {
    const found = refusals(`
export const vec = {
  /** @differentiable */
  sum(a: number[]): number { let s = 0; for (const v of a) s += v; return s; },
};
/** @differentiable */
export function f(a: number[]): number { return vec.sum(a); }
export function make(k: number) {
  return { /** @differentiable */ g(x: number) { return k * x; } };
}
`);
    // vec.sum(a) is taken (test/array-arguments.test.ts checks such gradients); g is not.
    expect(found.map((d) => d.code)).toEqual([94012]);
  });
});

describe("generated code", () => {
  it("reads as functions beside the object, and type-checks under --strict", () => {
    const source = `
import { grad } from "tsgrad";
${VEC}
export const dNorm = grad(vec.norm);
export class Spring {
  constructor(public k: number, public rest: number) {}
  /** @differentiable */
  stretch(x: number): number { return x - this.rest; }
  /** @differentiable */
  energy(x: number): number { const s = this.stretch(x); return 0.5 * this.k * s * s; }
}
export class Particle {
  constructor(public mass: number, public v: number) {}
  kinetic(): number { return 0.5 * this.mass * this.v * this.v; }
}
/** @differentiable */
export function energy(p: Particle, g: number): number { return 0.5 * p.mass * p.v * p.v + g; }
`;
    expect(genStrictErrors(source, "strict-methods")).toEqual([]);
    const text = transformedText(source);
    expect(text).toMatch(/export function vec_norm_grad\(x: number, y: number\)/);
    expect(text).toMatch(/const \[dsq_x_dx\] = vec_sq_grad\(x\);/);
    expect(text).toMatch(/const scale = vec\.scale;/);
    expect(text).toMatch(/const \[ds_dx\] = this\.stretch_grad\(x\);/);
    expect(text).toMatch(/const \{ mass, v \} = p;/);
  });
});
