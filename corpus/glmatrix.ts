// Vector and matrix math for graphics in the styles of gl-matrix and three.js: object-literal
// modules, `out` parameters and module-level scratch vectors, ArrayLike<number>, Float32Array and
// readonly tuple parameter types, `let a00 = a[0], a01 = a[1]` declarator lists.

import type { Cases } from "./cases.js";

type ReadonlyVec3 = readonly [number, number, number];

export const vec3 = {
  // style: gl-matrix (a member of an object-literal module, ArrayLike<number> parameters)
  /** @differentiable */
  dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  },

  // style: gl-matrix (components copied into lets, Math.hypot)
  /** @differentiable */
  length(a: ArrayLike<number>): number {
    let x = a[0];
    let y = a[1];
    let z = a[2];
    return Math.hypot(x, y, z);
  },

  // style: gl-matrix (differences in lets, no sqrt)
  /** @differentiable */
  squaredDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
    let x = b[0] - a[0];
    let y = b[1] - a[1];
    let z = b[2] - a[2];
    return x * x + y * y + z * z;
  },

  // style: gl-matrix (angle: cosine clamped with Math.min/Math.max before acos, magnitudes multiplied under one sqrt)
  /** @differentiable */
  angle(a: ArrayLike<number>, b: ArrayLike<number>): number {
    let ax = a[0],
      ay = a[1],
      az = a[2],
      bx = b[0],
      by = b[1],
      bz = b[2],
      mag = Math.sqrt((ax * ax + ay * ay + az * az) * (bx * bx + by * by + bz * bz)),
      cosine = mag && vec3.dot(a, b) / mag;
    return Math.acos(Math.min(Math.max(cosine, -1), 1));
  },
};

// style: gl-matrix (free functions taking the out vector first, returning out; the array type set to
// Float64Array, as glMatrix.setMatrixArrayType allows)
function sub(out: Float64Array, a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  out[0] = a[0] - b[0];
  out[1] = a[1] - b[1];
  out[2] = a[2] - b[2];
  return out;
}

function cross(out: Float64Array, a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  let ax = a[0],
    ay = a[1],
    az = a[2];
  let bx = b[0],
    by = b[1],
    bz = b[2];
  out[0] = ay * bz - az * by;
  out[1] = az * bx - ax * bz;
  out[2] = ax * by - ay * bx;
  return out;
}

const tmpA = new Float64Array(3);
const tmpB = new Float64Array(3);
const tmpN = new Float64Array(3);

// style: gl-matrix (module-level scratch vectors reused by out-parameter helpers, no allocation per call)
/** @differentiable */
export function triangleArea(a: ArrayLike<number>, b: ArrayLike<number>, c: ArrayLike<number>): number {
  sub(tmpA, b, a);
  sub(tmpB, c, a);
  cross(tmpN, tmpA, tmpB);
  return 0.5 * Math.hypot(tmpN[0], tmpN[1], tmpN[2]);
}

// style: gl-matrix (mat3.determinant: a declarator list reading the nine entries, cofactor expansion)
/** @differentiable */
export function mat3Determinant(a: ArrayLike<number>): number {
  let a00 = a[0],
    a01 = a[1],
    a02 = a[2];
  let a10 = a[3],
    a11 = a[4],
    a12 = a[5];
  let a20 = a[6],
    a21 = a[7],
    a22 = a[8];
  return a00 * (a22 * a11 - a12 * a21) + a01 * (-a22 * a10 + a12 * a20) + a02 * (a21 * a10 - a11 * a20);
}

// style: gl-matrix (mat4.determinant: sixteen named entries, twelve 2x2 minors b00..b11)
/** @differentiable */
export function mat4Determinant(a: Float64Array): number {
  const a00 = a[0],
    a01 = a[1],
    a02 = a[2],
    a03 = a[3];
  const a10 = a[4],
    a11 = a[5],
    a12 = a[6],
    a13 = a[7];
  const a20 = a[8],
    a21 = a[9],
    a22 = a[10],
    a23 = a[11];
  const a30 = a[12],
    a31 = a[13],
    a32 = a[14],
    a33 = a[15];
  const b00 = a00 * a11 - a01 * a10;
  const b01 = a00 * a12 - a02 * a10;
  const b02 = a00 * a13 - a03 * a10;
  const b03 = a01 * a12 - a02 * a11;
  const b04 = a01 * a13 - a03 * a11;
  const b05 = a02 * a13 - a03 * a12;
  const b06 = a20 * a31 - a21 * a30;
  const b07 = a20 * a32 - a22 * a30;
  const b08 = a20 * a33 - a23 * a30;
  const b09 = a21 * a32 - a22 * a31;
  const b10 = a21 * a33 - a23 * a31;
  const b11 = a22 * a33 - a23 * a32;
  return b00 * b11 - b01 * b10 + b02 * b09 + b03 * b08 - b04 * b07 + b05 * b06;
}

// style: gl-matrix (transformMat4 then perspective divide with `w = w || 1.0`, Float32Array parameters)
/** @differentiable */
export function projectedDepth(p: Float32Array, m: Float32Array): number {
  let x = p[0],
    y = p[1],
    z = p[2];
  let w = m[3] * x + m[7] * y + m[11] * z + m[15];
  w = w || 1.0;
  return (m[2] * x + m[6] * y + m[10] * z + m[14]) / w;
}

// style: gl-matrix (quat.getAngle: readonly 4-tuple parameter types, the dot product written inline)
/** @differentiable */
export function quatAngle(
  a: readonly [number, number, number, number],
  b: readonly [number, number, number, number],
): number {
  const dotproduct = a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];
  return Math.acos(2 * dotproduct * dotproduct - 1);
}

// style: gl-matrix (vec2 in a plain number[] with index reads, destructuring the components)
/** @differentiable */
export function vec2Cross(a: readonly number[], b: readonly number[]): number {
  const [ax, ay] = a;
  const [bx, by] = b;
  return ax * by - ay * bx;
}

// A vector class as three.js writes one: public x, y, z fields set by the constructor.
export class Vector3 {
  constructor(
    public x = 0,
    public y = 0,
    public z = 0,
  ) {}

  // style: three.js (a method reading this.x and a structurally typed argument)
  /** @differentiable */
  distanceTo(v: { x: number; y: number; z: number }): number {
    const dx = this.x - v.x,
      dy = this.y - v.y,
      dz = this.z - v.z;
    return Math.sqrt(dx * dx + dy * dy + dz * dz);
  }
}

// style: gl-matrix (readonly tuple type alias, component reads through the alias, Math.sqrt of a sum of squares)
/** @differentiable */
export function normalizedDot(a: ReadonlyVec3, b: ReadonlyVec3): number {
  const la = Math.sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
  const lb = Math.sqrt(b[0] * b[0] + b[1] * b[1] + b[2] * b[2]);
  return (a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) / (la * lb);
}

// style: gl-matrix (distance between a point and a plane stored as a Float64Array [nx, ny, nz, d])
/** @differentiable */
export function planeDistance(plane: Float64Array, p: Float64Array): number {
  const len = Math.sqrt(plane[0] * plane[0] + plane[1] * plane[1] + plane[2] * plane[2]);
  return (plane[0] * p[0] + plane[1] * p[1] + plane[2] * p[2] + plane[3]) / len;
}

const F32 = (...v: number[]) => Float32Array.from(v);

export const cases: Cases = {
  "vec3.dot": [
    [
      [1, 2, 3],
      [0.5, -1, 2],
    ],
  ],
  "vec3.length": [[[1, -2, 0.5]], [F32(0.5, 0.25, 2)]],
  "vec3.squaredDistance": [
    [
      [1, 2, 3],
      [0.5, -1, 2],
    ],
  ],
  "vec3.angle": [
    [
      [1, 2, 3],
      [0.5, -1, 2],
    ],
  ],
  triangleArea: [
    [
      [0, 0, 0],
      [1, 0.5, 0],
      [0.25, 2, 1],
    ],
  ],
  mat3Determinant: [[[2, 0.5, 1, -1, 3, 0.25, 0.5, 1, 4]]],
  mat4Determinant: [[Float64Array.of(2, 0.5, 1, 0, -1, 3, 0.25, 1, 0.5, 1, 4, -2, 1, 0, 0.5, 3)]],
  projectedDepth: [[F32(1, 2, -3), F32(1, 0, 0, 0.125, 0, 1, 0, 0.25, 0, 0, 1, -0.5, 0, 0, -2, 1)]],
  quatAngle: [
    [
      [0.5, 0.5, 0.5, 0.5],
      [0.25, 0.75, 0.5, 0.25],
    ],
  ],
  vec2Cross: [
    [
      [1, 2],
      [0.5, -1],
    ],
  ],
  "Vector3.distanceTo": [{ self: new Vector3(1, 2, 3), args: [{ x: 0.5, y: -1, z: 2 }] }],
  normalizedDot: [
    [
      [1, 2, 3],
      [0.5, -1, 2],
    ],
  ],
  planeDistance: [[Float64Array.of(0.5, 1, 2, -1), Float64Array.of(1, 2, 3)]],
};
