// Timing and allocation measurement for scripts/bench.mjs.
//
// Times are CPU time of this process (process.cpuUsage(): user + system), not wall-clock time:
// on a shared machine a batch's wall-clock time includes the time it waited for a core, which
// varies from batch to batch by several times; its CPU time does not (the wall-clock medians
// are kept too, for the record).
//
// A workload's entries (forward, tsgrad, hand-written, finite differences, TensorFlow.js, ...)
// are measured side by side: each is warmed up, then all run in interleaved rounds whose order
// rotates, each round timing one batch of calls per entry (a batch lasts about `batchNs`, and is
// at least one call; a full garbage collection, untimed, comes before each batch). An entry's
// time is the median over rounds of its per-call time in that round; a ratio of two entries is
// the median over rounds of the per-round ratio, with its interquartile range.
//
//   const entries = [entry("forward", f, args), entry("tsgrad", f_grad, args)];
//   measure(entries, { rounds: 21, batchNs: 5e6, warmupNs: 3e8 });
//   pairedRatio(entries[1], entries[0]) → { median, q1, q3 }

import v8 from "node:v8";

export const median = (xs) => quantile(xs, 0.5);

export function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (i - lo);
}

const now = () => process.hrtime.bigint();
let globalSink = 0;
/** Keeps every result observable, so no call can be dropped as dead code. */
export const sinkValue = () => globalSink;

/**
 * A batch runner for fn(...args): its own source text, so its call site has its own feedback
 * (monomorphic, as in a user's hot loop), with the arguments spelled out as separate values.
 *
 * Each call's result feeds the next call's first argument (`a0 + sink * 0`, the same number, but
 * not one the compiler may assume): otherwise V8 inlines a small pure function such as the seed's
 * `staged` and hoists it out of the loop, and the "forward pass" takes 1 ns. The result read is
 * its first number (r, r[0], or 1 for anything else), so an array result is not dead either.
 */
function batchRunner(fn, args) {
  const names = args.map((_, i) => `a${i}`);
  const call = names.map((n, i) => (i === 0 && typeof args[0] === "number" ? `${n} + sink * 0` : n)).join(", ");
  const body = `
    return function run(reps) {
      let sink = 0;
      for (let i = 0; i < reps; i++) {
        const r = fn(${call});
        sink += typeof r === "number" ? r : typeof r[0] === "number" ? r[0] : 1;
      }
      return sink;
    };`;
  return new Function("fn", ...names, body)(fn, ...args);
}

/**
 * An entry to measure: `label`, fn(...args). `scale` multiplies its measured per-call time (a
 * finite-difference entry that computes s of P partials has scale P / s).
 */
export function entry(label, fn, args = [], { scale = 1, note } = {}) {
  return { label, fn, args, scale, note, run: batchRunner(fn, args), times: [], reps: 1 };
}

/** Nanoseconds per call of one batch of `reps` calls (wall-clock). */
function timeBatch(e, reps) {
  const t0 = now();
  globalSink += e.run(reps);
  return Number(now() - t0) / reps;
}

/**
 * One batch of `reps` calls: nanoseconds per call of CPU time (user + system, this process) and
 * of wall-clock time. The CPU time leaves out the time spent waiting for a core, which on a
 * shared machine is most of the noise.
 */
function timeBatchCpu(e, reps) {
  const c0 = process.cpuUsage();
  const t0 = now();
  globalSink += e.run(reps);
  const wall = Number(now() - t0);
  const c = process.cpuUsage(c0);
  return { cpu: ((c.user + c.system) * 1000) / reps, wall: wall / reps };
}

/** Orders of the entries for the rounds: every rotation, forwards and backwards. */
function orders(n) {
  const idx = [...Array(n).keys()];
  const out = [];
  for (let r = 0; r < n; r++) {
    const rotated = [...idx.slice(r), ...idx.slice(0, r)];
    out.push(rotated, [...rotated].reverse());
  }
  return out;
}

/**
 * Warm-up then `rounds` interleaved rounds. Options: rounds, batchNs (target time of one batch),
 * warmupNs (time spent calling each entry before timing; at least `warmupCalls` calls).
 */
export function measure(entries, { rounds, batchNs, warmupNs, warmupCalls = 2, settleMs = 15 }) {
  for (const e of entries) {
    let reps = 1;
    let calls = 0;
    const t0 = now();
    while (calls < warmupCalls || Number(now() - t0) < warmupNs) {
      timeBatch(e, reps);
      calls += reps;
      reps = Math.min(reps * 2, 1 << 16);
    }
    // Batch size from the time of one call, as measured now that the code is optimized (a call
    // slower than a batch is a batch of its own: no more calls to find that out).
    const mean = Number(now() - t0) / calls;
    if (mean >= batchNs) {
      e.reps = 1;
    } else {
      const probe = Math.max(1, Math.floor(batchNs / 4 / mean));
      const perCall = Math.min(...[0, 1, 2].map(() => timeBatch(e, probe)));
      e.reps = Math.max(1, Math.round(batchNs / perCall));
    }
    e.times = [];
    e.wallTimes = [];
  }
  // A full collection before each batch, untimed: a batch pays for the collections its own
  // garbage causes, not for the garbage the previous entry left. Then a pause, so that V8's
  // background threads finish sweeping before the batch: the process's CPU time counts every
  // thread, and a sweep left running would be charged to the batch (it was: ±30% on 4 ms).
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const collect = () => {
    globalThis.gc?.();
    Atomics.wait(pause, 0, 0, settleMs);
  };
  const rotation = orders(entries.length);
  for (let r = 0; r < rounds; r++) {
    for (const i of rotation[r % rotation.length]) {
      const e = entries[i];
      collect();
      const t = timeBatchCpu(e, e.reps);
      e.times.push(t.cpu * e.scale);
      e.wallTimes.push(t.wall * e.scale);
    }
  }
  return finish(entries);
}

/** Each entry's median and quartiles over its rounds (also for rounds pooled from several processes). */
export function finish(entries) {
  for (const e of entries) {
    e.median = median(e.times);
    e.q1 = quantile(e.times, 0.25);
    e.q3 = quantile(e.times, 0.75);
    e.wallMedian = median(e.wallTimes);
  }
  return entries;
}

/** Median over rounds of a.times[r] / b.times[r], with the interquartile range. */
export function pairedRatio(a, b) {
  const rs = a.times.map((t, r) => t / b.times[r]);
  return { median: median(rs), q1: quantile(rs, 0.25), q3: quantile(rs, 0.75) };
}

/**
 * Heap bytes allocated per call of fn(...args): over `calls` calls with no GC between them
 * (gc() first), minus the same measurement around an empty loop; median of `samples`. Needs
 * node --expose-gc. Typed-array contents live outside the V8 heap: they are counted through
 * the ArrayBuffer bytes V8 reports as external memory.
 */
export function bytesPerCall(fn, args, { calls = 20, samples = 7, warmupNs = 2e8 } = {}) {
  const names = args.map((_, i) => `a${i}`);
  const meter = new Function(
    "fn",
    "used",
    ...names,
    `
    return function meter(calls) {
      gc();
      gc();
      const h0 = used();
      let sink = 0;
      for (let i = 0; i < calls; i++) { const r = fn(${names.join(", ")}); sink += typeof r === "number" ? r : 1; }
      const h1 = used();
      gc();
      gc();
      const e0 = used();
      for (let i = 0; i < calls; i++) sink += 0;
      const e1 = used();
      return { bytes: (h1 - h0 - (e1 - e0)) / calls, sink };
    };`,
  )(fn, usedBytes, ...args);
  const t0 = now();
  while (Number(now() - t0) < warmupNs) globalSink += meter(2).sink;
  return median(Array.from({ length: samples }, () => meter(calls).bytes));
}

/** V8 heap bytes in use plus the external (ArrayBuffer) bytes. */
function usedBytes() {
  const h = v8.getHeapStatistics();
  return h.used_heap_size + h.external_memory;
}
