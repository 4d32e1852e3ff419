// The BA reprojection residual and its 2×15 Jacobian block written by hand: the baseline tsgrad's
// two generated reverse sweeps (ba.ts) are checked and timed against. One forward pass, then,
// for each of the two rows, the chain rule by hand back through the distortion, the perspective
// division and the Rodrigues rotation. With p = X − C, v = r/θ, c = cos θ, s = sin θ:
//
//   P = c·p + s·(v × p) + (1 − c)(v·p)·v      (θ² = r·r ≠ 0)        P = p + r × p   (θ² = 0)
//   u = (P₀/P₂, P₁/P₂),  ρ = |u|²,  L = 1 + κ₁ρ + κ₂ρ²,  e = w·(f·L·u + x0 − φ)
//
// and back, for a gradient g on P (the row's ∂e/∂P):
//
//   ∂/∂p = c·g + s·(g × v) + (1 − c)(g·v)·v
//   ∂/∂v = s·(p × g) + (1 − c)(v·p)·g + (1 − c)(g·v)·p
//   ∂/∂θ = −s·(g·p − (v·p)(g·v)) + c·(g·(v × p)) − (∂/∂v · v)/θ,   ∂/∂r = ∂/∂v / θ + ∂/∂θ · v
//   (θ² = 0: ∂/∂p = g + g × r, ∂/∂r = p × g)
//
// ∂e/∂X = ∂/∂p and ∂e/∂C = −∂/∂p. Nothing is allocated.

import { BA_CAMERA_SIZE, type BaInput } from "./io.js";

/** Observation i's residuals e_x, e_y into out[at], out[at + 1]. */
export function baResidualHand(ba: BaInput, i: number, out: Float64Array, at: number): void {
  const cams = ba.cams;
  const c0 = BA_CAMERA_SIZE * ba.camIndex[i];
  const x0 = 3 * ba.pointIndex[i];
  const px = ba.points[x0] - cams[c0 + 3];
  const py = ba.points[x0 + 1] - cams[c0 + 4];
  const pz = ba.points[x0 + 2] - cams[c0 + 5];
  const r0 = cams[c0];
  const r1 = cams[c0 + 1];
  const r2 = cams[c0 + 2];
  const theta2 = r0 * r0 + r1 * r1 + r2 * r2;
  let P0: number, P1: number, P2: number;
  if (theta2 !== 0) {
    const theta = Math.sqrt(theta2);
    const c = Math.cos(theta);
    const s = Math.sin(theta);
    const v0 = r0 / theta,
      v1 = r1 / theta,
      v2 = r2 / theta;
    const along = (v0 * px + v1 * py + v2 * pz) * (1 - c);
    P0 = px * c + (v1 * pz - v2 * py) * s + v0 * along;
    P1 = py * c + (v2 * px - v0 * pz) * s + v1 * along;
    P2 = pz * c + (v0 * py - v1 * px) * s + v2 * along;
  } else {
    P0 = px + (r1 * pz - r2 * py);
    P1 = py + (r2 * px - r0 * pz);
    P2 = pz + (r0 * py - r1 * px);
  }
  const ux = P0 / P2;
  const uy = P1 / P2;
  const rho = ux * ux + uy * uy;
  const L = 1 + cams[c0 + 9] * rho + cams[c0 + 10] * rho * rho;
  const f = cams[c0 + 6];
  const w = ba.weights[i];
  out[at] = w * (f * L * ux + cams[c0 + 7] - ba.features[2 * i]);
  out[at + 1] = w * (f * L * uy + cams[c0 + 8] - ba.features[2 * i + 1]);
}

/** The residual vector [e_0x, e_0y, ..., e_(p−1)y, ω_0, ..., ω_(p−1)] into `out` (3p numbers). */
export function baResidualsHand(ba: BaInput, out: Float64Array): Float64Array {
  for (let i = 0; i < ba.p; i++) {
    baResidualHand(ba, i, out, 2 * i);
    out[2 * ba.p + i] = 1 - ba.weights[i] * ba.weights[i];
  }
  return out;
}

/**
 * Observation i's 2×15 block into `block` (row-major, 30 numbers: rows e_x, e_y; columns the 11
 * camera parameters, the 3 point coordinates, the weight), the layout of ba.ts's `baBlock`.
 */
export function baBlockHand(ba: BaInput, i: number, block: Float64Array): Float64Array {
  const cams = ba.cams;
  const c0 = BA_CAMERA_SIZE * ba.camIndex[i];
  const x0 = 3 * ba.pointIndex[i];
  const px = ba.points[x0] - cams[c0 + 3];
  const py = ba.points[x0 + 1] - cams[c0 + 4];
  const pz = ba.points[x0 + 2] - cams[c0 + 5];
  const r0 = cams[c0];
  const r1 = cams[c0 + 1];
  const r2 = cams[c0 + 2];
  const theta2 = r0 * r0 + r1 * r1 + r2 * r2;
  const rotated = theta2 !== 0;
  // Forward: the rotation's pieces, kept for the backward rows.
  let theta = 0,
    c = 1,
    s = 0,
    v0 = 0,
    v1 = 0,
    v2 = 0,
    vp = 0;
  let cr0 = 0,
    cr1 = 0,
    cr2 = 0; // v × p
  let P0: number, P1: number, P2: number;
  if (rotated) {
    theta = Math.sqrt(theta2);
    c = Math.cos(theta);
    s = Math.sin(theta);
    v0 = r0 / theta;
    v1 = r1 / theta;
    v2 = r2 / theta;
    vp = v0 * px + v1 * py + v2 * pz;
    cr0 = v1 * pz - v2 * py;
    cr1 = v2 * px - v0 * pz;
    cr2 = v0 * py - v1 * px;
    const along = vp * (1 - c);
    P0 = px * c + cr0 * s + v0 * along;
    P1 = py * c + cr1 * s + v1 * along;
    P2 = pz * c + cr2 * s + v2 * along;
  } else {
    P0 = px + (r1 * pz - r2 * py);
    P1 = py + (r2 * px - r0 * pz);
    P2 = pz + (r0 * py - r1 * px);
  }
  const ux = P0 / P2;
  const uy = P1 / P2;
  const rho = ux * ux + uy * uy;
  const k1 = cams[c0 + 9];
  const k2 = cams[c0 + 10];
  const L = 1 + k1 * rho + k2 * rho * rho;
  const dLdrho = k1 + 2 * k2 * rho;
  const f = cams[c0 + 6];
  const w = ba.weights[i];
  const wf = w * f;

  for (let row = 0; row < 2; row++) {
    const o = 15 * row;
    const u = row === 0 ? ux : uy;
    // e = w·(f·L·u_row + x0_row − φ_row)
    block[o + 14] = f * L * u + cams[c0 + 7 + row] - ba.features[2 * i + row]; // ∂e/∂w
    block[o + 6] = w * L * u; // ∂e/∂f
    block[o + 7] = row === 0 ? w : 0; // ∂e/∂x0
    block[o + 8] = row === 0 ? 0 : w;
    block[o + 9] = wf * rho * u; // ∂e/∂κ₁
    block[o + 10] = wf * rho * rho * u; // ∂e/∂κ₂
    // ∂e/∂u: w·f·(L·[row = q] + u_row·L'(ρ)·2u_q)
    const gux = wf * ((row === 0 ? L : 0) + u * dLdrho * 2 * ux);
    const guy = wf * ((row === 1 ? L : 0) + u * dLdrho * 2 * uy);
    // u = (P₀/P₂, P₁/P₂)
    const g0 = gux / P2;
    const g1 = guy / P2;
    const g2 = -(gux * ux + guy * uy) / P2;
    let gp0: number, gp1: number, gp2: number, gr0: number, gr1: number, gr2: number;
    if (rotated) {
      const gv_ = g0 * v0 + g1 * v1 + g2 * v2; // g·v
      const oneMinusC = 1 - c;
      gp0 = c * g0 + s * (g1 * v2 - g2 * v1) + oneMinusC * gv_ * v0;
      gp1 = c * g1 + s * (g2 * v0 - g0 * v2) + oneMinusC * gv_ * v1;
      gp2 = c * g2 + s * (g0 * v1 - g1 * v0) + oneMinusC * gv_ * v2;
      const gvx = s * (py * g2 - pz * g1) + oneMinusC * (vp * g0 + gv_ * px);
      const gvy = s * (pz * g0 - px * g2) + oneMinusC * (vp * g1 + gv_ * py);
      const gvz = s * (px * g1 - py * g0) + oneMinusC * (vp * g2 + gv_ * pz);
      const gc = g0 * px + g1 * py + g2 * pz - vp * gv_;
      const gs = g0 * cr0 + g1 * cr1 + g2 * cr2;
      const gtheta = -s * gc + c * gs - (gvx * v0 + gvy * v1 + gvz * v2) / theta;
      gr0 = gvx / theta + gtheta * v0;
      gr1 = gvy / theta + gtheta * v1;
      gr2 = gvz / theta + gtheta * v2;
    } else {
      gp0 = g0 + (g1 * r2 - g2 * r1);
      gp1 = g1 + (g2 * r0 - g0 * r2);
      gp2 = g2 + (g0 * r1 - g1 * r0);
      gr0 = py * g2 - pz * g1;
      gr1 = pz * g0 - px * g2;
      gr2 = px * g1 - py * g0;
    }
    block[o] = gr0;
    block[o + 1] = gr1;
    block[o + 2] = gr2;
    block[o + 3] = -gp0;
    block[o + 4] = -gp1;
    block[o + 5] = -gp2;
    block[o + 11] = gp0;
    block[o + 12] = gp1;
    block[o + 13] = gp2;
  }
  return block;
}
