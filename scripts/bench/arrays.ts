// The workloads of scripts/bench-arrays.mjs (compiled there through tsgrad's transformer): arrays
// that change places in a loop, and an array grown by push. Beside each @differentiable function,
// its reverse pass written by hand, returning what tsgrad's f_grad returns (one gradient per
// parameter, fresh arrays for the array parameters). What the hand-written passes keep for their
// backward loops lives in Float64Arrays made once, outside the call, and grown only when a call
// needs more; each keeps the source's algorithm (the same loops, the same sums), so the ratios
// measure differentiation, not a better algorithm.

// ---------------------------------------------------------------------------------------------
// 1. The heat equation, explicit steps, double buffered; the final state's sum of squares.

/** @differentiable */
export function heat(u0: readonly number[], alpha: number, steps: number): number {
  const n = u0.length;
  let u = u0.slice();
  let next = new Array<number>(n).fill(0);
  for (let s = 0; s < steps; s++) {
    next[0] = u[0];
    next[n - 1] = u[n - 1];
    for (let i = 1; i < n - 1; i++) next[i] = u[i] + alpha * (u[i - 1] - 2 * u[i] + u[i + 1]);
    const tmp = u;
    u = next;
    next = tmp;
  }
  return u.reduce((e, v) => e + v * v, 0);
}

// The states, one row of n per step (row s the state before step s, row `steps` the last), so the
// forward pass writes each step straight into the next row: no buffers to swap, no copies. The
// backward pass gathers each step's gradient (g for the state after the step, gPrev before it).
let heatStates = new Float64Array(0);
let heatG = new Float64Array(0);
let heatGPrev = new Float64Array(0);

/** ∂/∂(u0, alpha, steps) of heat; steps is a count (its gradient 0, as tsgrad's). n >= 4. */
export function heatHand(u0: readonly number[], alpha: number, steps: number): [number[], number, number] {
  const n = u0.length;
  if (n < 4) throw new RangeError("heatHand: n >= 4");
  if (heatStates.length < (steps + 1) * n) heatStates = new Float64Array((steps + 1) * n);
  if (heatG.length < n) [heatG, heatGPrev] = [new Float64Array(n), new Float64Array(n)];
  const U = heatStates;
  for (let i = 0; i < n; i++) U[i] = u0[i];
  for (let s = 0; s < steps; s++) {
    const a = s * n;
    const b = a + n;
    U[b] = U[a];
    U[b + n - 1] = U[a + n - 1];
    for (let i = 1; i < n - 1; i++) {
      const c = U[a + i];
      U[b + i] = c + alpha * (U[a + i - 1] - 2 * c + U[a + i + 1]);
    }
  }
  // backward
  let g = heatG;
  let gPrev = heatGPrev;
  const last = steps * n;
  for (let i = 0; i < n; i++) g[i] = 2 * U[last + i];
  const c = 1 - 2 * alpha;
  let dalpha = 0;
  for (let s = steps - 1; s >= 0; s--) {
    const a = s * n;
    for (let i = 1; i < n - 1; i++) dalpha += g[i] * (U[a + i - 1] - 2 * U[a + i] + U[a + i + 1]);
    // next[0] and next[n - 1] copy u[0] and u[n - 1]; next[i] reads u[i - 1], u[i], u[i + 1].
    gPrev[0] = g[0] + alpha * g[1];
    gPrev[1] = c * g[1] + alpha * g[2];
    for (let i = 2; i < n - 2; i++) gPrev[i] = c * g[i] + alpha * (g[i - 1] + g[i + 1]);
    gPrev[n - 2] = c * g[n - 2] + alpha * g[n - 3];
    gPrev[n - 1] = g[n - 1] + alpha * g[n - 2];
    const t = g;
    g = gPrev;
    gPrev = t;
  }
  const du0 = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) du0[i] = g[i];
  return [du0, dalpha, 0];
}

// ---------------------------------------------------------------------------------------------
// 2. A recurrent cell: the state replaced each step by the array an unmarked helper returns.

function cell(W: number[][], x: number, h: readonly number[]): number[] {
  return h.map((hj, j) => Math.tanh(W[j][0] * x + W[j][1] * hj + W[j][2] * h[(j + 1) % h.length]));
}

function dot(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** @differentiable */
export function rnn(W: number[][], xs: readonly number[], h0: readonly number[]): number {
  let h = h0.slice();
  for (let t = 0; t < xs.length; t++) h = cell(W, xs[t], h);
  return dot(h, h);
}

// The states, one row of H per step (row t the state before step t). The backward pass needs
// nothing else: tanh's derivative is 1 - h² of the state after the step. Each step's gradient on
// the state before it is gathered: gPrev[j] = W[j][1] a[j] + W[j - 1][2] a[j - 1] (cyclically),
// with a[j] = (1 - h'[j]²) g[j].
let rnnStates = new Float64Array(0);
let rnnG = new Float64Array(0);
let rnnGPrev = new Float64Array(0);

/** ∂/∂(W, xs, h0) of rnn. */
export function rnnHand(W: number[][], xs: readonly number[], h0: readonly number[]): [number[][], number[], number[]] {
  const H = h0.length;
  const T = xs.length;
  if (rnnStates.length < (T + 1) * H) rnnStates = new Float64Array((T + 1) * H);
  if (rnnG.length < H) [rnnG, rnnGPrev] = [new Float64Array(H), new Float64Array(H)];
  const S = rnnStates;
  for (let j = 0; j < H; j++) S[j] = h0[j];
  for (let t = 0; t < T; t++) {
    const a = t * H;
    const b = a + H;
    const x = xs[t];
    for (let j = 0; j < H; j++) {
      const Wj = W[j];
      const jn = j + 1 < H ? j + 1 : 0;
      S[b + j] = Math.tanh(Wj[0] * x + Wj[1] * S[a + j] + Wj[2] * S[a + jn]);
    }
  }
  // backward
  const dW = W.map((row) => new Array<number>(row.length).fill(0));
  const dxs = new Array<number>(T).fill(0);
  let g = rnnG;
  let gPrev = rnnGPrev;
  for (let j = 0; j < H; j++) g[j] = 2 * S[T * H + j];
  for (let t = T - 1; t >= 0; t--) {
    const a = t * H;
    const b = a + H;
    const x = xs[t];
    let dx = 0;
    let carry = 0; // W[j - 1][2] a[j - 1], for gPrev[j]
    for (let j = 0; j < H; j++) {
      const Wj = W[j];
      const dWj = dW[j];
      const hn = S[b + j];
      const aj = (1 - hn * hn) * g[j];
      const jn = j + 1 < H ? j + 1 : 0;
      dWj[0] += aj * x;
      dWj[1] += aj * S[a + j];
      dWj[2] += aj * S[a + jn];
      dx += Wj[0] * aj;
      gPrev[j] = Wj[1] * aj + carry;
      carry = Wj[2] * aj;
    }
    gPrev[0] += carry;
    dxs[t] = dx;
    const tmp = g;
    g = gPrev;
    gPrev = tmp;
  }
  const dh0 = new Array<number>(H).fill(0);
  for (let j = 0; j < H; j++) dh0[j] = g[j];
  return [dW, dxs, dh0];
}

// ---------------------------------------------------------------------------------------------
// 3. A simple moving average pushed onto an empty array; its mean squared error.

/** @differentiable */
export function sma(prices: readonly number[], target: readonly number[], period: number): number {
  const result: number[] = [];
  for (let i = period - 1; i < prices.length; i++) {
    let sum = 0;
    for (let j = i - period + 1; j <= i; j++) sum += prices[j];
    result.push(sum / period);
  }
  let err = 0;
  for (let k = 0; k < result.length; k++) err += (result[k] - target[k]) ** 2;
  return err / result.length;
}

// The averages, in a Float64Array of their count (prices.length - period + 1), made once. The
// gradient of period is its partial through `sum / period` alone (period also bounds the loops):
// what tsgrad's sma_grad returns, so the two compute the same thing.
let smaResult = new Float64Array(0);

/** ∂/∂(prices, target, period) of sma. */
export function smaHand(
  prices: readonly number[],
  target: readonly number[],
  period: number,
): [number[], number[], number] {
  const N = prices.length;
  const m = N - period + 1;
  if (smaResult.length < m) smaResult = new Float64Array(m);
  const result = smaResult;
  for (let k = 0; k < m; k++) {
    let sum = 0;
    for (let j = k; j < k + period; j++) sum += prices[j];
    result[k] = sum / period;
  }
  // backward
  const dprices = new Array<number>(N).fill(0);
  const dtarget = new Array<number>(target.length).fill(0);
  let dperiod = 0;
  for (let k = 0; k < m; k++) {
    const dr = (2 * (result[k] - target[k])) / m;
    dtarget[k] = -dr;
    dperiod -= (dr * result[k]) / period;
    const ds = dr / period;
    for (let j = k; j < k + period; j++) dprices[j] += ds;
  }
  return [dprices, dtarget, dperiod];
}
