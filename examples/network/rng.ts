// Seeded random numbers for the network examples: a 32-bit uniform generator and normal samples
// from it. Everything the examples draw (the spiral's noise, the initial weights, the points a
// gradient check samples) comes from here, so a seed fixes a whole run.

/**
 * mulberry32: a tiny 32-bit generator (one add, two multiplies, three xor-shifts per number).
 * Its state is a single 32-bit integer, so equal seeds give equal sequences on every platform.
 * Not for cryptography; plenty for data sets and weight initialization.
 *
 *   const u = mulberry32(42);
 *   u(); // a number in [0, 1), the same on every run
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return function uniform(): number {
    state = (state + 0x6d2b79f5) >>> 0; // walk a Weyl sequence through all 2^32 states
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1); // then scramble it
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Standard normal samples by the Box–Muller transform: two uniforms u1, u2 give two independent
 * normals sqrt(-2 ln u1) · (cos 2πu2, sin 2πu2). The second one is kept for the next call.
 *
 *   const randn = normal(mulberry32(42));
 *   randn(); // mean 0, variance 1
 */
export function normal(uniform: () => number): () => number {
  let spare = 0;
  let hasSpare = false;
  return function randn(): number {
    if (hasSpare) {
      hasSpare = false;
      return spare;
    }
    const u1 = 1 - uniform(); // in (0, 1], so the log is finite
    const u2 = uniform();
    const radius = Math.sqrt(-2 * Math.log(u1));
    spare = radius * Math.sin(2 * Math.PI * u2);
    hasSpare = true;
    return radius * Math.cos(2 * Math.PI * u2);
  };
}
