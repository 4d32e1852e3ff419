// Physics and integrators in the styles of small JS physics and ODE libraries (matter.js-like
// helpers, odex/ode-rk4 style steppers, verlet-js, p2.js springs): closures for right-hand
// sides, state in arrays or objects, post-decrement loop counters, module-level mutable settings.

import type { Cases } from "./cases.js";

// style: p2.js-like spring (energy of a linear spring and a moving mass)
/** @differentiable */
export function springEnergy(x: number, v: number, k: number, m: number): number {
  return 0.5 * k * x * x + 0.5 * m * v * v;
}

// style: Nature of Code pendulum examples (energy with a module constant for g)
const g = 9.81;
/** @differentiable */
export function pendulumEnergy(theta: number, omega: number, length: number, mass: number): number {
  return 0.5 * mass * length * length * omega * omega + mass * g * length * (1 - Math.cos(theta));
}

// style: ode-rk4 (one classical RK4 step of the harmonic oscillator, stages k1..k4 as scalars)
/** @differentiable */
export function rk4Oscillator(x: number, v: number, dt: number, omega: number): number {
  const w2 = omega * omega;
  const k1x = v;
  const k1v = -w2 * x;
  const k2x = v + 0.5 * dt * k1v;
  const k2v = -w2 * (x + 0.5 * dt * k1x);
  const k3x = v + 0.5 * dt * k2v;
  const k3v = -w2 * (x + 0.5 * dt * k2x);
  const k4x = v + dt * k3v;
  const k4v = -w2 * (x + dt * k3x);
  const xNext = x + (dt / 6) * (k1x + 2 * k2x + 2 * k3x + k4x);
  const vNext = v + (dt / 6) * (k1v + 2 * k2v + 2 * k3v + k4v);
  return 0.5 * xNext * xNext + (0.5 * vNext * vNext) / w2;
}

// style: ode-rk4 (a generic RK4 step taking the right-hand side as a function parameter)
/** @differentiable */
export function rk4Step(f: (t: number, y: number) => number, t: number, y: number, h: number): number {
  const k1 = f(t, y);
  const k2 = f(t + h / 2, y + (h / 2) * k1);
  const k3 = f(t + h / 2, y + (h / 2) * k2);
  const k4 = f(t + h, y + h * k3);
  return y + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4);
}

// style: verlet-js (position Verlet integration in a while loop with a post-decrement counter)
/** @differentiable */
export function verletOscillator(x0: number, v0: number, dt: number, steps: number, omega: number): number {
  let xPrev = x0 - v0 * dt;
  let x = x0;
  while (steps-- > 0) {
    const xNext = 2 * x - xPrev - omega * omega * x * dt * dt;
    xPrev = x;
    x = xNext;
  }
  return x;
}

// style: verlet-js (velocity Verlet with a counting for loop: kick-drift-kick on a pendulum)
/** @differentiable */
export function velocityVerletPendulum(theta0: number, omega0: number, dt: number, n: number): number {
  let theta = theta0;
  let omega = omega0;
  let acc = -g * Math.sin(theta);
  for (let i = 0; i < n; i++) {
    omega += 0.5 * dt * acc;
    theta += dt * omega;
    acc = -g * Math.sin(theta);
    omega += 0.5 * dt * acc;
  }
  return theta;
}

// style: Nature of Code n-body examples (gravitational potential energy over pairs, positions as a flat Float64Array of xyz triples)
/** @differentiable */
export function gravitationalEnergy(positions: Float64Array, masses: Float64Array, G: number): number {
  const n = masses.length;
  let energy = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = positions[3 * j] - positions[3 * i];
      const dy = positions[3 * j + 1] - positions[3 * i + 1];
      const dz = positions[3 * j + 2] - positions[3 * i + 2];
      energy -= (G * masses[i] * masses[j]) / Math.sqrt(dx * dx + dy * dy + dz * dz);
    }
  }
  return energy;
}

// style: p2.js (a mass-spring chain: rest length, stiffness, consecutive particle positions)
/** @differentiable */
export function springChainEnergy(x: Float64Array, k: number, rest: number): number {
  let e = 0;
  for (let i = 1; i < x.length; i++) {
    const stretch = Math.abs(x[i] - x[i - 1]) - rest;
    e += 0.5 * k * stretch * stretch;
  }
  return e;
}

// style: stdlib-js-like scalar kernel (Lennard-Jones with default epsilon and sigma, sixth power via Math.pow)
/** @differentiable */
export function lennardJones(r: number, epsilon = 1, sigma = 1): number {
  const sr6 = Math.pow(sigma / r, 6);
  return 4 * epsilon * (sr6 * sr6 - sr6);
}

// style: Nature of Code (projectile with quadratic drag, explicit Euler in a for loop with a float step)
/** @differentiable */
export function projectileRange(speed: number, angle: number, drag: number): number {
  let x = 0;
  let y = 0;
  let vx = speed * Math.cos(angle);
  let vy = speed * Math.sin(angle);
  const dt = 0.01;
  for (let t = 0; t < 0.5; t += dt) {
    const v = Math.sqrt(vx * vx + vy * vy);
    vx -= drag * v * vx * dt;
    vy -= (9.81 + drag * v * vy) * dt;
    x += vx * dt;
    y += vy * dt;
  }
  return x + y;
}

interface State {
  x: number;
  v: number;
}

// style: matter.js-like state objects (an interface for the state, read by field, one damped Euler step)
/** @differentiable */
export function dampedEnergyAfterStep(state: State, dt: number, k: number, c: number): number {
  const a = -k * state.x - c * state.v;
  const v = state.v + a * dt;
  const x = state.x + v * dt;
  return 0.5 * k * x * x + 0.5 * v * v;
}

// A spring as p2.js writes one: stiffness and rest length fields set by the constructor.
export class Spring {
  constructor(
    public stiffness: number,
    public restLength: number,
  ) {}

  // style: p2.js (a Spring class's energy method reading its stiffness and rest length from this)
  /** @differentiable */
  energy(x1: number, x2: number): number {
    const d = x2 - x1 - this.restLength;
    return 0.5 * this.stiffness * d * d;
  }
}

let gravity = 9.81;
export function setGravity(value: number): void {
  gravity = value;
}

// style: matter.js-like world settings (a module-level let changed by setGravity, read by the simulation)
/** @differentiable */
export function fallDistance(t: number, v0: number): number {
  return v0 * t + 0.5 * gravity * t * t;
}

// style: matter.js-like (a simulation loop writing into state Float64Arrays it creates: semi-implicit Euler over particles)
/** @differentiable */
export function particlesKineticEnergy(x0: Float64Array, v0: Float64Array, dt: number, k: number): number {
  const n = x0.length;
  const x = new Float64Array(n);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = x0[i];
    v[i] = v0[i];
  }
  for (let step = 0; step < 20; step++) {
    for (let i = 0; i < n; i++) {
      v[i] -= k * x[i] * dt;
      x[i] += v[i] * dt;
    }
  }
  let e = 0;
  for (let i = 0; i < n; i++) {
    e += 0.5 * v[i] * v[i];
  }
  return e;
}

export const cases: Cases = {
  springEnergy: [[0.3, -1.2, 4, 0.5]],
  pendulumEnergy: [[0.4, 1.1, 2, 0.5]],
  rk4Oscillator: [[0.3, -1.2, 0.1, 2]],
  rk4Step: [[(t: number, y: number) => -2 * y + Math.sin(t), 0.3, 1.2, 0.1]],
  verletOscillator: [{ args: [0.3, -1.2, 0.05, 30, 2], wrt: [0, 1, 2, 4] }],
  velocityVerletPendulum: [{ args: [0.3, -0.5, 0.02, 40], wrt: [0, 1, 2] }],
  gravitationalEnergy: [[Float64Array.of(0, 0, 0, 1, 0.5, 0, -0.5, 1, 2), Float64Array.of(1, 2, 0.5), 1.5]],
  springChainEnergy: [[Float64Array.of(0, 1.2, 2.1, 3.5), 4, 1]],
  lennardJones: [[1.3], [1.1, 0.5, 0.9]],
  projectileRange: [[12, 0.7, 0.05]],
  dampedEnergyAfterStep: [[{ x: 0.3, v: -1.2 }, 0.05, 4, 0.3]],
  "Spring.energy": [{ self: new Spring(4, 1), args: [0.3, 1.7] }],
  fallDistance: [[1.3, 2]],
  particlesKineticEnergy: [[Float64Array.of(0.3, -1.2, 2), Float64Array.of(1, 0.5, -0.25), 0.05, 3]],
};
