// The ADBench bundle-adjustment residuals (data/adbench/OBJECTIVES.md, section 3) as
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
//   grad(baReprojectionError)(r1, ..., k2, X1, X2, X3, w, φx, φy, 0) → [∂e_x/∂r1, ..., ∂e_x/∂w, ...]
//   baJacobian(ba) → { rows, cols, vals }: ADBench's CSR layout, 31p nonzeros

import { grad } from "tsgrad";
import { BA_CAMERA_SIZE, type BaInput } from "./io.js";

/**
 * One coordinate of the weighted reprojection error, w·(proj(camera, X) − feature)[coord], coord
 * 0 for x and 1 for y. The camera is r1 r2 r3 (Rodrigues vector), C1 C2 C3 (centre), f (focal
 * length), u0 v0 (principal point), k1 k2 (radial distortion), as in the data files.
 * @differentiable
 */
export function baReprojectionError(
  r1: number,
  r2: number,
  r3: number,
  C1: number,
  C2: number,
  C3: number,
  f: number,
  u0: number,
  v0: number,
  k1: number,
  k2: number,
  X1: number,
  X2: number,
  X3: number,
  w: number,
  featureX: number,
  featureY: number,
  coord: number,
): number {
  // The point relative to the camera centre.
  const px = X1 - C1;
  const py = X2 - C2;
  const pz = X3 - C3;

  // Rotate it by r (the axis a = r/θ, the angle θ = |r|).
  const theta2 = r1 * r1 + r2 * r2 + r3 * r3;
  let camX = 0;
  let camY = 0;
  let camZ = 0;
  if (theta2 !== 0) {
    // p cos θ + (a × p) sin θ + a (a·p)(1 − cos θ)
    const theta = Math.sqrt(theta2);
    const cosTheta = Math.cos(theta);
    const sinTheta = Math.sin(theta);
    const a1 = r1 / theta;
    const a2 = r2 / theta;
    const a3 = r3 / theta;
    const along = (a1 * px + a2 * py + a3 * pz) * (1 - cosTheta);
    camX = px * cosTheta + (a2 * pz - a3 * py) * sinTheta + a1 * along;
    camY = py * cosTheta + (a3 * px - a1 * pz) * sinTheta + a2 * along;
    camZ = pz * cosTheta + (a1 * py - a2 * px) * sinTheta + a3 * along;
  } else {
    // θ = 0: p + r × p, the first-order form, which keeps the derivatives in r
    camX = px + (r2 * pz - r3 * py);
    camY = py + (r3 * px - r1 * pz);
    camZ = pz + (r1 * py - r2 * px);
  }

  // Perspective division, radial distortion, then to pixels.
  const ux = camX / camZ;
  const uy = camY / camZ;
  const radius2 = ux * ux + uy * uy;
  const distortion = 1 + k1 * radius2 + k2 * radius2 * radius2;
  const projX = f * distortion * ux + u0;
  const projY = f * distortion * uy + v0;

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
    out[2 * i] = reprojectionError(ba, i, 0);
    out[2 * i + 1] = reprojectionError(ba, i, 1);
    out[2 * ba.p + i] = baWeightError(ba.weights[i]);
  }
  return out;
}

/**
 * Observation i's 2×15 block into `block` (row-major, 30 numbers): rows e_x and e_y; columns
 * the 11 camera parameters, the 3 point coordinates, the weight. Two reverse sweeps, each
 * returning the gradient on all 18 arguments, of which the first 15 are the block's row.
 */
export function baBlock(ba: BaInput, i: number, block: Float64Array = new Float64Array(30)): Float64Array {
  const c = BA_CAMERA_SIZE * ba.camIndex[i];
  const t = 3 * ba.pointIndex[i];
  const { cams, points } = ba;
  for (let coord = 0; coord < 2; coord++) {
    const row = grad(baReprojectionError)(
      cams[c],
      cams[c + 1],
      cams[c + 2],
      cams[c + 3],
      cams[c + 4],
      cams[c + 5],
      cams[c + 6],
      cams[c + 7],
      cams[c + 8],
      cams[c + 9],
      cams[c + 10],
      points[t],
      points[t + 1],
      points[t + 2],
      ba.weights[i],
      ba.features[2 * i],
      ba.features[2 * i + 1],
      coord,
    );
    for (let j = 0; j < 15; j++) block[15 * coord + j] = row[j];
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
      for (let j = 0; j < BA_CAMERA_SIZE; j++) ((cols[nz] = camColumn + j), (vals[nz++] = block[b + j]));
      for (let j = 0; j < 3; j++) ((cols[nz] = pointColumn + j), (vals[nz++] = block[b + BA_CAMERA_SIZE + j]));
      ((cols[nz] = weightColumns + i), (vals[nz++] = block[b + 14]));
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

/** baReprojectionError for observation i of `ba`. */
function reprojectionError(ba: BaInput, i: number, coord: number): number {
  const c = BA_CAMERA_SIZE * ba.camIndex[i];
  const t = 3 * ba.pointIndex[i];
  const { cams, points } = ba;
  return baReprojectionError(
    cams[c],
    cams[c + 1],
    cams[c + 2],
    cams[c + 3],
    cams[c + 4],
    cams[c + 5],
    cams[c + 6],
    cams[c + 7],
    cams[c + 8],
    cams[c + 9],
    cams[c + 10],
    points[t],
    points[t + 1],
    points[t + 2],
    ba.weights[i],
    ba.features[2 * i],
    ba.features[2 * i + 1],
    coord,
  );
}
