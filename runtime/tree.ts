// Walks values the way gradients mirror them: a number, a number array, a Float64Array (or a
// Float32Array, whose gradient is a Float64Array), a Matrix, data (Int32Array labels, strings,
// booleans: never differentiated, no gradient, `undefined` in a gradient), or an object of these.
// Used by the parts of the runtime that handle gradients generically (gradient checks, jacobian,
// the gradInto fallback, the API's checks of gradInto's buffers and of vjp's dout); generated code
// never calls it.
//
//   numberSlots([2, { W: Float64Array.of(1, 3) }])
//   → [{ path: "[0]", ... }, { path: "[1].W[0]", ... }, { path: "[1].W[1]", ... }]

import { isMatrix, matrix } from "./ops/matrix.js";

/** One number inside a value: read and write it in place; `path` names it (`[1].W[0]`). */
export interface Slot {
  path: string;
  get(): number;
  set(v: number): void;
}

const isNumberArray = (v: unknown): v is number[] | Float64Array | Float32Array =>
  (Array.isArray(v) && !isNested(v)) || v instanceof Float64Array || v instanceof Float32Array;

/** An array of arrays or of objects (the rows of a `number[][]`, records `{ x, y }[]`): walked element by element. */
const isNested = (v: unknown): v is unknown[] =>
  Array.isArray(v) && v.length > 0 && typeof v[0] === "object" && v[0] !== null;

/**
 * Data a function reads but is not differentiated by: Int32Array labels, strings, booleans, and
 * an argument left out (`undefined`). Its gradient is `undefined`. (A numeric enum is a number at
 * run time: the registration of a compiled function lists its data parameters, see CompiledGradient.)
 */
export const isData = (v: unknown): boolean =>
  v instanceof Int32Array ||
  v === undefined ||
  v === null ||
  typeof v === "string" ||
  typeof v === "boolean" ||
  typeof v === "bigint" ||
  typeof v === "symbol";

/** Every differentiable number of `values` (a tuple of arguments or of gradients), in a fixed order. */
export function numberSlots(values: unknown[]): Slot[] {
  const out: Slot[] = [];
  const visit = (holder: any, key: string | number, path: string): void => {
    const v = holder[key];
    if (typeof v === "number") out.push({ path, get: () => holder[key], set: (x) => void (holder[key] = x) });
    else if (isData(v))
      return; // labels, modes, flags: data, no gradient
    else if (isMatrix(v)) visitArray(v.data, `${path}.data`);
    else if (isNested(v)) v.forEach((_, i) => visit(v, i, `${path}[${i}]`));
    else if (isNumberArray(v)) visitArray(v, path);
    else if (typeof v === "object" && v !== null) for (const k of Object.keys(v)) visit(v, k, `${path}.${k}`);
    else
      throw new TypeError(
        `tsgrad: ${path || "value"} is ${describe(v)}; gradients are taken of numbers, number arrays, Float64Arrays, matrices and objects of them`,
      );
  };
  const visitArray = (a: number[] | Float64Array | Float32Array, path: string) => {
    for (let i = 0; i < a.length; i++)
      out.push({ path: `${path}[${i}]`, get: () => a[i], set: (x) => void (a[i] = x) });
  };
  values.forEach((_, i) => visit(values, i, `[${i}]`));
  return out;
}

/**
 * A copy deep enough that writing its numbers leaves `v` untouched (data is shared). A
 * Float32Array is copied into a Float64Array, so that numbers moved by a small step stay exact
 * (f computes with them in float64, as its gradient does).
 */
export function cloneValue<T>(v: T): T {
  if (typeof v !== "object" || v === null || v instanceof Int32Array) return v;
  if (isMatrix(v)) return matrix(v.rows, v.cols, v.data.slice()) as T;
  if (isNested(v)) return v.map(cloneValue) as T;
  if (v instanceof Float32Array) return Float64Array.from(v) as T;
  if (v instanceof Float64Array || Array.isArray(v)) return v.slice() as T;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cloneValue(x)])) as T;
}

/** The zero gradient of `v`: 0, zeros of the same kind (Float64Array for a Float32Array) and length, an object of them; undefined for data. */
export function zeroGradient(v: unknown): unknown {
  if (typeof v === "number") return 0;
  if (isData(v)) return undefined;
  if (isMatrix(v)) return matrix(v.rows, v.cols);
  if (v instanceof Float64Array || v instanceof Float32Array) return new Float64Array(v.length);
  if (isNested(v)) return v.map(zeroGradient);
  if (Array.isArray(v)) return new Array<number>(v.length).fill(0);
  if (typeof v === "object" && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, zeroGradient(x)]));
  throw new TypeError(`tsgrad: cannot make a gradient for ${describe(v)}`);
}

/**
 * Copies gradient `from` into `into` (same shape) in place; returns what the caller stores
 * (a number is returned, arrays and objects are filled). For gradInto over older builds.
 */
export function copyGradient(into: any, from: any): any {
  if (typeof from === "number" || from === undefined) return from;
  if (isMatrix(from)) into.data.set(from.data);
  else if (ArrayBuffer.isView(from)) (into as Float64Array).set(from as Float64Array);
  else if (Array.isArray(from)) for (let i = 0; i < from.length; i++) into[i] = copyGradient(into[i], from[i]);
  else for (const k of Object.keys(from)) into[k] = copyGradient(into[k], from[k]);
  return into;
}

/**
 * The Jacobian block of a parameter for m outputs: a number's is a column (Float64Array of m), an
 * array's an m × length Matrix, an object's an object of blocks. `fill(block, gradient, i)` writes
 * the gradient of output i into row i.
 */
export function jacobianBlock(v: unknown, m: number): unknown {
  if (typeof v === "number") return new Float64Array(m);
  if (isData(v)) return undefined;
  if (isMatrix(v)) return matrix(m, v.rows * v.cols);
  if (isNested(v)) return v.map((x) => jacobianBlock(x, m));
  if (isNumberArray(v)) return matrix(m, v.length);
  if (typeof v === "object" && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jacobianBlock(x, m)]));
  throw new TypeError(`tsgrad: cannot make a Jacobian block for ${describe(v)}`);
}

export function fillJacobianRow(block: any, g: any, i: number): void {
  if (g === undefined || block === undefined) return; // data: no gradient, no block
  if (typeof g === "number") (block as Float64Array)[i] = g;
  else if (isMatrix(block) && isMatrix(g)) block.data.set(g.data, i * block.cols);
  else if (isMatrix(block)) block.data.set(g as ArrayLike<number>, i * block.cols);
  else for (const k of Object.keys(g)) fillJacobianRow(block[k], g[k], i);
}

export function describe(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array";
  if (ArrayBuffer.isView(x)) return `a ${x.constructor.name}`;
  return `a ${typeof x}`;
}

/** Where a value does not have the shape it should: the field path inside it ("" at the top, ".layer.W"), and both values. */
export interface Mismatch {
  path: string;
  got: unknown;
  want: unknown;
}

const isArrayLike = (v: unknown): v is ArrayLike<number> =>
  Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));

/** A mismatch at the top of a value; made on failure only, so a passing check allocates nothing. */
const off = (got: unknown, want: unknown): Mismatch => ({ path: "", got, want });

/** The mismatch one level down: `.key` prepended to the path. */
const under = (key: string, m: Mismatch | undefined): Mismatch | undefined => m && { ...m, path: `.${key}${m.path}` };

/**
 * Where gradient buffer `g` does not fit argument `a`, for gradInto (undefined when it fits):
 *   gradientMismatch(new Float64Array(3), Float64Array.of(1, 2, 3))   → undefined
 *   gradientMismatch([0, 0, 0], Float64Array.of(1, 2, 3))             → { path: "", got: [0, 0, 0], want: ... } (kind)
 *   gradientMismatch({ W: new Float64Array(2) }, { W: new Float64Array(3), c: 1 }) → { path: ".W", ... }
 * Arrays must have the argument's kind and length (f_gradInto zeroes and fills them in place, so a
 * shorter one would truncate the gradient; a Float32Array's is a Float64Array), a Matrix its rows ×
 * cols. A number's slot is overwritten, and data's (labels, modes, flags) is not written, so anything
 * fits them. An object is walked over the gradient's fields: the argument
 * may carry fields f does not declare, which an earlier result of grad(f) does not have. Only
 * comparisons and for...in: a training step pays a few of them per parameter and allocates nothing
 * (but V8's 16-byte box when it reads a number field of an object argument, measured).
 */
export function gradientMismatch(g: unknown, a: unknown): Mismatch | undefined {
  if (typeof a === "number") return undefined;
  if (isMatrix(a)) return isMatrix(g) && g.rows === a.rows && g.cols === a.cols ? undefined : off(g, a);
  // A Float32Array's gradient is a Float64Array, as is a Float64Array's.
  if (a instanceof Float64Array || a instanceof Float32Array)
    return g instanceof Float64Array && g.length === a.length ? undefined : off(g, a);
  if (a instanceof Int32Array) return undefined; // labels: data, their slot is not written
  if (isNested(a)) {
    if (!Array.isArray(g) || g.length !== a.length) return off(g, a);
    for (let i = 0; i < a.length; i++) {
      const m = gradientMismatch(g[i], a[i]);
      if (m) return { ...m, path: `[${i}]${m.path}` };
    }
    return undefined;
  }
  if (Array.isArray(a)) return Array.isArray(g) && g.length === a.length ? undefined : off(g, a);
  if (typeof a !== "object" || a === null) return undefined; // not a value tsgrad differentiates: f's own business
  if (typeof g !== "object" || g === null || isArrayLike(g) || isMatrix(g)) return off(g, a);
  for (const k in g) {
    const ak = (a as any)[k];
    if (typeof ak !== "object" || ak === null) continue; // a number's slot, or a field the argument lacks: anything fits
    const m = gradientMismatch((g as any)[k], ak);
    if (m) return under(k, m);
  }
  return undefined;
}

/**
 * Where the output gradient `d` of vjp's backward does not have the shape of the value `v`:
 *   outputMismatch(1, 2.5)                                   → undefined
 *   outputMismatch(1, Float64Array.of(1, 2))                  → { path: "", ... } (a number for an array)
 *   outputMismatch([1, 0], Float64Array.of(1, 2))            → undefined (any array or typed array of its length)
 *   outputMismatch({ mean: 1 }, { mean: 2, squares: [1] })   → { path: ".squares", got: undefined, ... }
 * Walked over the value's fields, so a missing field is found; extra fields in `d` are ignored.
 */
export function outputMismatch(d: unknown, v: unknown): Mismatch | undefined {
  if (typeof v === "number") return typeof d === "number" ? undefined : off(d, v);
  if (isMatrix(v)) return isMatrix(d) && d.rows === v.rows && d.cols === v.cols ? undefined : off(d, v);
  if (isArrayLike(v)) return isArrayLike(d) && d.length === v.length ? undefined : off(d, v);
  if (typeof v !== "object" || v === null) return undefined;
  if (typeof d !== "object" || d === null || isArrayLike(d)) return off(d, v);
  for (const k in v) {
    const m = outputMismatch((d as any)[k], (v as any)[k]);
    if (m) return under(k, m);
  }
  return undefined;
}

/**
 * A value as a message shows it, with its size:
 *   3 → "a number";  Float64Array(2) → "a Float64Array of length 2";  [1, 2] → "an array of length 2";
 *   Int32Array(3) → "an Int32Array of length 3";
 *   matrix(2, 3) → "a 2×3 Matrix";  { W } → "an object";  undefined → "undefined"
 */
export function describeShape(x: unknown): string {
  if (x === undefined || x === null) return String(x);
  if (isMatrix(x)) return `a ${x.rows}×${x.cols} Matrix`;
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  if (isArrayLike(x))
    return `${/^[AEIOU]/.test(x.constructor.name) ? "an" : "a"} ${x.constructor.name} of length ${x.length}`;
  if (typeof x === "object") return "an object";
  return `a ${typeof x}`;
}

/**
 * What `want` is that `got` is not, said of `want`, and whether only the size differs (a
 * RangeError then, a TypeError for another kind). With `anyArray`, array kinds count as one
 * (vjp's dout may be any array of the output's length).
 *   (Float64Array(2), Float64Array(3)) → { text: "has length 3", size: true }
 *   (matrix(2, 2), matrix(3, 2))       → { text: "is 3×2", size: true }
 *   ([0, 0], Float64Array(2))          → { text: "is a Float64Array of length 2", size: false }
 */
export function shapeDifference(got: unknown, want: unknown, anyArray = false): { text: string; size: boolean } {
  if (isMatrix(want) && isMatrix(got)) return { text: `is ${want.rows}×${want.cols}`, size: true };
  // A Float32Array's gradient is a Float64Array: say so, unless only the length is off.
  if (!anyArray && want instanceof Float32Array)
    return got instanceof Float64Array
      ? { text: `has length ${want.length}`, size: true }
      : { text: `is ${describeShape(want)}, whose gradient is a Float64Array of that length`, size: false };
  const arrays = isArrayLike(want) && isArrayLike(got);
  if (arrays && (anyArray || got.constructor === want.constructor))
    return { text: `has length ${want.length}`, size: true };
  return { text: `is ${describeShape(want)}`, size: false };
}
