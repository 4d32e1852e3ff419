// Walks values the way gradients mirror them: a number, a number array, a Float64Array, a Matrix,
// Int32Array labels (data: never differentiated), or an object of these. Used by the parts of the
// runtime that handle gradients generically (gradient checks, jacobian, the gradInto fallback);
// generated code never calls it.
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

const isNumberArray = (v: unknown): v is number[] | Float64Array => Array.isArray(v) || v instanceof Float64Array;

/** Every differentiable number of `values` (a tuple of arguments or of gradients), in a fixed order. */
export function numberSlots(values: unknown[]): Slot[] {
  const out: Slot[] = [];
  const visit = (holder: any, key: string | number, path: string): void => {
    const v = holder[key];
    if (typeof v === "number") out.push({ path, get: () => holder[key], set: (x) => void (holder[key] = x) });
    else if (v instanceof Int32Array) return; // labels: data, no gradient
    else if (isMatrix(v)) visitArray(v.data, `${path}.data`);
    else if (isNumberArray(v)) visitArray(v, path);
    else if (typeof v === "object" && v !== null) for (const k of Object.keys(v)) visit(v, k, `${path}.${k}`);
    else throw new TypeError(`tsgrad: ${path || "value"} is ${describe(v)}; gradients are taken of numbers, number arrays, Float64Arrays, matrices and objects of them`);
  };
  const visitArray = (a: number[] | Float64Array, path: string) => {
    for (let i = 0; i < a.length; i++) out.push({ path: `${path}[${i}]`, get: () => a[i], set: (x) => void (a[i] = x) });
  };
  values.forEach((_, i) => visit(values, i, `[${i}]`));
  return out;
}

/** A copy deep enough that writing its numbers leaves `v` untouched (labels are shared). */
export function cloneValue<T>(v: T): T {
  if (typeof v !== "object" || v === null || v instanceof Int32Array) return v;
  if (isMatrix(v)) return matrix(v.rows, v.cols, v.data.slice()) as T;
  if (v instanceof Float64Array || Array.isArray(v)) return v.slice() as T;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cloneValue(x)])) as T;
}

/** The zero gradient of `v`: 0, zeros of the same kind and length, or an object of them. */
export function zeroGradient(v: unknown): unknown {
  if (typeof v === "number") return 0;
  if (v instanceof Int32Array) return new Int32Array(v.length);
  if (isMatrix(v)) return matrix(v.rows, v.cols);
  if (v instanceof Float64Array) return new Float64Array(v.length);
  if (Array.isArray(v)) return new Array<number>(v.length).fill(0);
  if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, zeroGradient(x)]));
  throw new TypeError(`tsgrad: cannot make a gradient for ${describe(v)}`);
}

/**
 * Copies gradient `from` into `into` (same shape) in place; returns what the caller stores
 * (a number is returned, arrays and objects are filled). For gradInto over older builds.
 */
export function copyGradient(into: any, from: any): any {
  if (typeof from === "number") return from;
  if (isMatrix(from)) into.data.set(from.data);
  else if (ArrayBuffer.isView(from)) (into as Float64Array).set(from as Float64Array);
  else if (Array.isArray(from)) for (let i = 0; i < from.length; i++) into[i] = from[i];
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
  if (isMatrix(v)) return matrix(m, v.rows * v.cols);
  if (isNumberArray(v) || v instanceof Int32Array) return matrix(m, v.length);
  if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jacobianBlock(x, m)]));
  throw new TypeError(`tsgrad: cannot make a Jacobian block for ${describe(v)}`);
}

export function fillJacobianRow(block: any, g: any, i: number): void {
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
