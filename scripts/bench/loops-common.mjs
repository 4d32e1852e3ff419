// What scripts/bench-loops.mjs and scripts/bench-arrays.mjs share: compiling workloads through
// tsgrad's transformer from dist/, and the measuring method (warm-up, interleaved rounds whose
// order rotates, each round timing a batch of calls per function; a ratio is the median over
// rounds of the per-round ratio), and the heap bytes allocated per call.
//
// `pick` (batchRunner, bytesPerCall) is what is read from each call's result to keep it
// observable, a property access written after it: "" for a number, "[0]" for [dx, ...].

import { basename, dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import os from "node:os";
import v8 from "node:v8";
import { compileFiles } from "./compile.mjs";

/** The checks both scripts make before anything else: gc() is exposed, and dist/ is built. */
export async function setup(script, root) {
  if (typeof globalThis.gc !== "function") {
    console.error(`${script}: run with \`node --expose-gc scripts/${script}.mjs\` (the allocation check needs gc()).`);
    process.exit(2);
  }
  try {
    return (await import(pathToFileURL(join(root, "dist/transformer/hosts/tsc.js")).href)).default;
  } catch (e) {
    console.error(`${script}: dist/ is missing or stale; run \`npm run build\` first.\n` + e);
    process.exit(2);
  }
}

/** Prints `${script}: FAILED: message` and exits with 1. */
export const failer = (script) => (message) => {
  console.error(`\n${script}: FAILED: ${message}`);
  process.exit(1);
};

/**
 * Compiles `file` (TypeScript, absolute) through the transformer to outDir and imports it; under
 * the repository, `import ... from "tsgrad"` there resolves to this package (name + exports).
 */
export async function compileWorkload({ root, transformer, file, outDir, fail }) {
  try {
    await compileFiles(root, [file], dirname(file), outDir, transformer);
  } catch (e) {
    fail(e.message);
  }
  return import(pathToFileURL(join(outDir, basename(file).replace(/\.ts$/, ".js"))).href);
}

// ---------------------------------------------------------------------------------------------
// Statistics and formatting.

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
export const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (i - lo);
};
export const relErr = (a, b) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), Number.MIN_VALUE);

/** Median over rounds of a.times[r] / b.times[r], with the interquartile range and the range. */
export function pairedRatio(a, b) {
  const rs = a.times.map((t, r) => t / b.times[r]);
  return {
    median: median(rs),
    q1: quantile(rs, 0.25),
    q3: quantile(rs, 0.75),
    min: Math.min(...rs),
    max: Math.max(...rs),
  };
}

export const fmtRatio = ({ median, q1, q3 }) => `${median.toFixed(3)}x  (IQR ${q1.toFixed(3)}-${q3.toFixed(3)})`;
export const fmtUs = (ns) => `${(ns / 1000).toFixed(2)} us`;

// ---------------------------------------------------------------------------------------------
// Timing.

export const ROUNDS = 61;
export const BATCH_NS = 4e6; // ~4 ms per batch
export const WARMUP_NS = 3e8; // ~0.3 s of calls per function before timing

let globalSink = 0;
/** Keeps every result observable, so no call can be dropped as dead code. */
export const sinkValue = () => globalSink;
export const now = () => process.hrtime.bigint();

/** The machine and the method, printed under the benchmark's title. */
export function printHeader(title) {
  console.log(title);
  console.log(
    `node ${process.version}, V8 ${process.versions.v8}, ${process.platform}/${process.arch}, ${os.cpus().length} CPUs, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  console.log(
    `${ROUNDS} interleaved rounds of ~${BATCH_NS / 1e6} ms batches per function, after ~${WARMUP_NS / 1e9} s warm-up each; ratios are medians of per-round ratios\n`,
  );
}

// A batch runner per function, each from its own source text so that each has its own feedback
// (a monomorphic call site), and the sum of results is used so no call can be dropped.
export function batchRunner(fn, args, pick) {
  const names = args.map((_, i) => `a${i}`);
  const body = `
    return function run(reps) {
      let sink = 0;
      for (let i = 0; i < reps; i++) {
        const r = fn(${names.join(", ")});
        sink += r${pick};
      }
      return sink;
    };`;
  return new Function("fn", ...names, body)(fn, ...args);
}

/** Times one batch of `reps` calls; nanoseconds per call. */
function timeBatch(run, reps) {
  const t0 = now();
  globalSink += run(reps);
  return Number(now() - t0) / reps;
}

/** Warm-up, then ROUNDS interleaved rounds: each entry ({ run }) gets `times`, ns per call per round. */
export function measure(entries) {
  // Warm up (to optimized code), then size each function's batch to ~BATCH_NS.
  for (const e of entries) {
    let reps = 1;
    const t0 = now();
    while (Number(now() - t0) < WARMUP_NS) {
      timeBatch(e.run, reps);
      reps = Math.min(reps * 2, 1 << 16);
    }
    const perCall = median([0, 1, 2, 3, 4].map(() => timeBatch(e.run, 200)));
    e.reps = Math.max(10, Math.round(BATCH_NS / perCall));
    e.times = [];
  }
  // Interleaved rounds; the order rotates through all permutations of the entries.
  const orders = permutations(entries.map((_, i) => i));
  for (let r = 0; r < ROUNDS; r++) {
    for (const i of orders[r % orders.length]) entries[i].times.push(timeBatch(entries[i].run, entries[i].reps));
  }
}

function permutations(xs) {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

// ---------------------------------------------------------------------------------------------
// Allocation. Heap bytes used per call, over `calls` calls with no GC in between (gc() first),
// minus the same measurement around an empty loop; median of 7 samples, after a warm-up of
// ~0.2 s of `warmupCalls`-call samples, so that every function runs optimized code.

const used = () => v8.getHeapStatistics().used_heap_size;
// One measuring function per function measured (its own source text, so its own feedback, like
// the timing runners): the function is measured as it runs when called from a hot monomorphic caller.
function allocationMeter(fn, args, pick) {
  const names = args.map((_, i) => `a${i}`);
  return new Function(
    "fn",
    "used",
    ...names,
    `
    return function meter(calls) {
      gc();
      gc();
      const h0 = used();
      let sink = 0;
      for (let i = 0; i < calls; i++) sink += fn(${names.join(", ")})${pick};
      const h1 = used();
      gc();
      gc();
      const e0 = used();
      for (let i = 0; i < calls; i++) sink += 0;
      const e1 = used();
      return { bytes: (h1 - h0 - (e1 - e0)) / calls, sink };
    };`,
  )(fn, used, ...args);
}

export function bytesPerCall(fn, args, calls, pick, warmupCalls = 50) {
  const meter = allocationMeter(fn, args, pick);
  const t0 = now();
  while (Number(now() - t0) < 2e8) globalSink += meter(warmupCalls).sink; // warm up by time, to optimized code
  return median([0, 1, 2, 3, 4, 5, 6].map(() => meter(calls).bytes));
}

/**
 * The peak depth of the runtime's saved-value stack during g(...args): its Float64Array is filled
 * with a sentinel, g runs once, and the highest slot written is the peak (pops clear nothing).
 */
export function peakDepth(saved, g, args) {
  const SENTINEL = -1.2345678912345e300;
  const data = saved.data; // the stack's Float64Array (a TypeScript-private field)
  data.fill(SENTINEL);
  g(...args);
  let top = data.length;
  while (top > 0 && data[top - 1] === SENTINEL) top--;
  return top;
}
