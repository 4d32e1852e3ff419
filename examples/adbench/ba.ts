// The ADBench bundle-adjustment residuals (../shared/adbench/OBJECTIVES.md, section 3) as
// @differentiable functions, and the sparse Jacobian built from their tsgrad gradients.
//
// Observation i pairs camera c_i (11 numbers: r, C, f, x0, κ) with point X_i (3 numbers) and has
// a weight w_i and an observed pixel φ_i. Its residuals are
//
//   e_i = w_i·(proj(cam, X) − φ_i)   (2 numbers)        ω_i = 1 − w_i²
//
// Each row of the Jacobian depends on 15 inputs only (the camera, the point, the weight), so the
// 2×15 block of an observation is two reverse sweeps: the gradients of e_x and of e_y.
//
//   grad(baReprojectionError)(cam, X, w, φx, φy, 0) → [∂e_x/∂cam (11), ∂e_x/∂X (3), ∂e_x/∂w, ...]
//   baJacobian(ba) → { rows, cols, vals }: ADBench's CSR layout, 31p nonzeros

import { grad } from "tsgrad";
import { BA_CAMERA_SIZE, type BaInput } from "./io.js";

/**
 * One coordinate of the weighted reprojection error, w·(proj(cam, X) − φ)[coord], coord 0 for
 * x and 1 for y. `cam` holds r1 r2 r3 C1 C2 C3 f u0 v0 k1 k2; `X` the point.
 * @differentiable
 */
export function baReprojectionError(
  cam: Float64Array,
  X: Float64Array,
  w: number,
  featureX: number,
  featureY: number,
  coord: number,
): number {
  // The point relative to the camera centre.
  const px = X[0] - cam[3];
  const py = X[1] - cam[4];
  const pz = X[2] - cam[5];

  // Rotate it by the Rodrigues vector r (axis r/θ, angle θ = |r|).
  const r0 = cam[0];
  const r1 = cam[1];
  const r2 = cam[2];
  const theta2 = r0 * r0 + r1 * r1 + r2 * r2;
  let camX = 0;
  let camY = 0;
  let camZ = 0;
  if (theta2 !== 0) {
    // X cos θ + (v × X) sin θ + v (v·X)(1 − cos θ), with v = r/θ
    const theta = Math.sqrt(theta2);
    const cosTheta = Math.cos(theta);
    const sinTheta = Math.sin(theta);
    const v0 = r0 / theta;
    const v1 = r1 / theta;
    const v2 = r2 / theta;
    const along = (v0 * px + v1 * py + v2 * pz) * (1 - cosTheta);
    camX = px * cosTheta + (v1 * pz - v2 * py) * sinTheta + v0 * along;
    camY = py * cosTheta + (v2 * px - v0 * pz) * sinTheta + v1 * along;
    camZ = pz * cosTheta + (v0 * py - v1 * px) * sinTheta + v2 * along;
  } else {
    // θ = 0: X + r × X, the first-order form, which keeps the derivatives in r
    camX = px + (r1 * pz - r2 * py);
    camY = py + (r2 * px - r0 * pz);
    camZ = pz + (r0 * py - r1 * px);
  }

  // Perspective division, radial distortion, then to pixels.
  const ux = camX / camZ;
  const uy = camY / camZ;
  const radius2 = ux * ux + uy * uy;
  const distortion = 1 + cam[9] * radius2 + cam[10] * radius2 * radius2;
  const projX = cam[6] * distortion * ux + cam[7];
  const projY = cam[6] * distortion * uy + cam[8];

  return coord === 0 ? w * (projX - featureX) : w * (projY - featureY);
}

/**
 * The weight residual ω = 1 − w² (the "Zach" robustifier's regulariser).
 * @differentiable
 */
export function baWeightError(w: number): number {
  return 1 - w * w;
}

/** The residual vector ADBench computes: [e_0x, e_0y, e_1x, ..., e_(p−1)y, ω_0, ..., ω_(p−1)]. */
export function baResiduals(ba: BaInput, out = new Float64Array(3 * ba.p)): Float64Array {
  for (let i = 0; i < ba.p; i++) {
    const cam = camera(ba, i);
    const X = point(ba, i);
    const w = ba.weights[i];
    const fx = ba.features[2 * i];
    const fy = ba.features[2 * i + 1];
    out[2 * i] = baReprojectionError(cam, X, w, fx, fy, 0);
    out[2 * i + 1] = baReprojectionError(cam, X, w, fx, fy, 1);
    out[2 * ba.p + i] = baWeightError(w);
  }
  return out;
}

/**
 * Observation i's 2×15 block into `block` (row-major, 30 numbers): rows e_x and e_y; columns
 * the 11 camera parameters, the 3 point coordinates, the weight. Two reverse sweeps.
 */
export function baBlock(ba: BaInput, i: number, block: Float64Array = new Float64Array(30)): Float64Array {
  const cam = camera(ba, i);
  const X = point(ba, i);
  const w = ba.weights[i];
  for (let coord = 0; coord < 2; coord++) {
    const [dcam, dX, dw] = grad(baReprojectionError)(cam, X, w, ba.features[2 * i], ba.features[2 * i + 1], coord);
    block.set(dcam, 15 * coord);
    block.set(dX, 15 * coord + BA_CAMERA_SIZE);
    block[15 * coord + 14] = dw;
  }
  return block;
}

/** A sparse matrix in compressed sparse rows: row r's entries are cols/vals[rows[r] .. rows[r + 1]). */
export interface SparseMatrix {
  nrows: number;
  ncols: number;
  rows: Int32Array;
  cols: Int32Array;
  vals: Float64Array;
}

/**
 * The Jacobian of `baResiduals`, 3p × (11n + 3m + p), in ADBench's layout: rows 2i and 2i + 1
 * hold observation i's block (camera columns, point columns, weight column), then row 2p + i
 * holds ∂ω_i/∂w_i = −2w_i. 31p nonzeros. Blocks come from `computeBlock`: tsgrad's by default,
 * or ba-hand.ts's `baBlockHand`.
 */
export function baJacobian(
  ba: BaInput,
  computeBlock: (ba: BaInput, i: number, block: Float64Array) => Float64Array = baBlock,
): SparseMatrix {
  const { n, m, p } = ba;
  const rows = new Int32Array(3 * p + 1);
  const cols = new Int32Array(31 * p);
  const vals = new Float64Array(31 * p);
  const block = new Float64Array(30);
  const pointColumns = BA_CAMERA_SIZE * n;
  const weightColumns = pointColumns + 3 * m;
  let nz = 0;
  for (let i = 0; i < p; i++) {
    computeBlock(ba, i, block);
    const camColumn = BA_CAMERA_SIZE * ba.camIndex[i];
    const pointColumn = pointColumns + 3 * ba.pointIndex[i];
    for (let coord = 0; coord < 2; coord++) {
      const b = 15 * coord;
      for (let j = 0; j < BA_CAMERA_SIZE; j++) (cols[nz] = camColumn + j), (vals[nz++] = block[b + j]);
      for (let j = 0; j < 3; j++) (cols[nz] = pointColumn + j), (vals[nz++] = block[b + BA_CAMERA_SIZE + j]);
      (cols[nz] = weightColumns + i), (vals[nz++] = block[b + 14]);
      rows[2 * i + coord + 1] = nz;
    }
  }
  for (let i = 0; i < p; i++) {
    cols[nz] = weightColumns + i;
    [vals[nz]] = grad(baWeightError)(ba.weights[i]);
    nz += 1;
    rows[2 * p + i + 1] = nz;
  }
  return { nrows: 3 * p, ncols: weightColumns + p, rows, cols, vals };
}

/** Observation i's camera, as a view into `ba.cams` (11 numbers). */
function camera(ba: BaInput, i: number): Float64Array {
  const c = ba.camIndex[i];
  return ba.cams.subarray(BA_CAMERA_SIZE * c, BA_CAMERA_SIZE * (c + 1));
}

/** Observation i's point, as a view into `ba.points` (3 numbers). */
function point(ba: BaInput, i: number): Float64Array {
  const t = ba.pointIndex[i];
  return ba.points.subarray(3 * t, 3 * t + 3);
}
