// Benchmark for arrays made in loops and arrays that change places: tsgrad's generated f_grad on
// three workloads of scripts/bench/arrays.ts (a double-buffered heat equation, a recurrent state
// replaced each step by the array a helper returns, a moving average pushed onto an empty array)
// against the forward function and against a reverse pass written by hand beside each, whose
// buffers are made once outside the timed call.
//
//   npm run build && node --expose-gc scripts/bench-arrays.mjs
//
// The method is scripts/bench-loops.mjs's, with its code (scripts/bench/loops-common.mjs): ratios
// of times measured side by side in this run (warm-up, then interleaved rounds whose order
// rotates, each round timing a batch of calls per function; a ratio is the median over rounds of
// the per-round ratio, shown with its range over the rounds). Absolute times are for information
// only. Before timing, each tsgrad gradient is checked against the hand-written one (relative
// error < 1e-9, every entry, at both sizes below) and against central finite differences (at the
// timed size; counts such as `steps` are skipped); a disagreement exits with 1. After timing: how
// many values each keeps for its backward pass, and an allocation check (heap bytes per call, at
// the timed size and with 10 times the loop's iterations): f_grad may allocate what the
// hand-written pass allocates (the gradients it returns, the same arrays) plus 512 bytes, and for
// an array the source grows by push, 40 bytes a pushed element (V8 grows a backing store by half
// at a time: about 3 times an element's 8 bytes, all told); more exits with 1.
//
// scripts/bench/arrays.ts is compiled here, with the typescript package and tsgrad's transformer
// from dist/, to .tsgrad-tmp/bench-arrays/ (gitignored); there `import ... from "tsgrad"` resolves
// to this package (package.json "name" + "exports").

import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  batchRunner,
  bytesPerCall,
  compileWorkload,
  failer,
  fmtRatio,
  fmtUs,
  measure,
  median,
  pairedRatio,
  peakDepth,
  printHeader,
  relErr,
  ROUNDS,
  setup,
  sinkValue,
} from "./bench/loops-common.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const transformer = await setup("bench-arrays", root);
const fail = failer("bench-arrays");

// ---------------------------------------------------------------------------------------------
// Inputs (a seeded generator: every run times the same numbers).

function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(20240611);
const uniform = (n, lo, hi) => Array.from({ length: n }, () => lo + (hi - lo) * random());

const u0 = Array.from({ length: 64 }, (_, i) => Math.sin((Math.PI * i) / 63) + 0.3 * Math.cos((7 * i) / 63) + 0.1);
const W = Array.from({ length: 32 }, () => uniform(3, -0.8, 0.8));
const h0 = uniform(32, -0.5, 0.5);
const walk = (n) => {
  let p = 100;
  return Array.from({ length: n }, () => (p += random() - 0.5));
};
const prices = walk(1000);
const pricesBig = walk(10000);
// The target of each average: the price it ends at (an average that lags behind it).
const targetOf = (ps, period) => ps.slice(period - 1);

// Each workload: args at the timed size, argsBig with 10 times the loop's iterations (the
// allocation check), skip (parameters that are counts: no finite differences), pick (a number
// read from f_grad's result, to keep it observable), calls (per allocation sample, at each size:
// few enough that a sample allocates under ~1 MB, so that no scavenge runs in one; 10 calls of
// the moving average at 10,000 prices did, and showed fewer bytes than were allocated).
const workloads = [
  {
    name: "heat",
    title: "1. heat equation, double buffered (n 64, 200 steps)",
    args: [u0, 0.2, 200],
    argsBig: [u0, 0.2, 2000],
    skip: [2],
    pick: "[1]",
    calls: [20, 20],
    handKept: ([u, , steps]) => (steps + 1) * u.length,
  },
  {
    name: "rnn",
    title: "2. recurrent state h = cell(W, x, h) (H 32, 100 steps)",
    args: [W, uniform(100, -1, 1), h0],
    argsBig: [W, uniform(1000, -1, 1), h0],
    skip: [],
    pick: "[1][0]",
    calls: [10, 10],
    handKept: ([, xs, h]) => (xs.length + 1) * h.length,
  },
  {
    name: "sma",
    title: "3. moving average by push (1,000 prices, period 20)",
    args: [prices, targetOf(prices, 20), 20],
    argsBig: [pricesBig, targetOf(pricesBig, 20), 20],
    skip: [2],
    pick: "[0][0]",
    calls: [10, 1],
    handKept: ([ps, , period]) => ps.length - period + 1,
    pushed: ([ps, , period]) => ps.length - period + 1,
  },
];

// ---------------------------------------------------------------------------------------------
// Gradients as lists of numbers, and central differences of every number of the arguments.

const leaves = (x) => (typeof x === "number" ? [x] : x.flatMap(leaves));

function centralDifferences(f, args, skip) {
  const a = args.slice(); // numbers are perturbed in this copy, array elements in place (and restored)
  const slots = [];
  const visit = (holder, key) =>
    typeof holder[key] === "number" ? slots.push([holder, key]) : holder[key].forEach((_, k) => visit(holder[key], k));
  a.forEach((_, i) => skip.includes(i) || visit(a, i));
  return slots.map(([holder, key]) => {
    const x = holder[key];
    const h = 1e-6 * Math.max(1, Math.abs(x));
    holder[key] = x + h;
    const plus = f(...a);
    holder[key] = x - h;
    const minus = f(...a);
    holder[key] = x;
    return (plus - minus) / (2 * h);
  });
}

// ---------------------------------------------------------------------------------------------
// Main.

printHeader("tsgrad array benchmark (scripts/bench-arrays.mjs)");

const mod = await compileWorkload({
  root,
  transformer,
  file: join(root, "scripts", "bench", "arrays.ts"),
  outDir: join(root, ".tsgrad-tmp", "bench-arrays"),
  fail,
});
const { saved } = await import("tsgrad");
// The stack the generated code uses must be the one imported here (same module instance).
const runtimeUrl = import.meta.resolve("tsgrad");
if (!runtimeUrl.startsWith(pathToFileURL(join(root, "dist")).href))
  fail(`"tsgrad" resolved to ${runtimeUrl}, not this package's dist/`);
console.log(
  "The generated code: node dist/transformer/hosts/cli.js print scripts/bench/arrays.ts --fn heat (rnn, sma)\n",
);

// 1. Correctness, before any timing.
console.log(
  "Correctness: tsgrad vs hand-written (relative error < 1e-9, at both sizes), tsgrad vs central differences (timed size)",
);
for (const w of workloads) {
  for (const [size, args] of [
    ["timed size", w.args],
    ["10x iterations", w.argsBig],
  ]) {
    const grad = mod[`${w.name}_grad`](...args);
    if (saved.size !== 0) fail(`${w.name}_grad left ${saved.size} values on the stack`);
    const g = leaves(grad);
    const hand = leaves(mod[`${w.name}Hand`](...args));
    if (g.length !== hand.length) fail(`${w.name}_grad returned ${g.length} numbers, the hand-written ${hand.length}`);
    if (!g.every(Number.isFinite)) fail(`${w.name}_grad returned a non-finite gradient`);
    const worstHand = Math.max(...g.map((d, i) => (d === hand[i] ? 0 : relErr(d, hand[i]))));
    if (!(worstHand < 1e-9)) fail(`${w.name}_grad disagrees with the hand-written gradient (${worstHand})`);
    let fdNote = "";
    if (args === w.args) {
      // Central differences: |analytic - numeric| <= 1e-6 * max(1, |analytic| + |numeric|).
      const fd = centralDifferences(mod[w.name], args, w.skip);
      const ga = leaves(grad.filter((_, i) => !w.skip.includes(i)));
      const worstFd = Math.max(...ga.map((d, i) => Math.abs(d - fd[i]) / Math.max(1, Math.abs(d) + Math.abs(fd[i]))));
      if (!(worstFd < 1e-6)) fail(`${w.name}_grad disagrees with central differences (${worstFd})`);
      fdNote = `, vs FD (scaled, ${fd.length} partials) ${worstFd.toExponential(2)}`;
    }
    console.log(
      `  ${w.name} (${size}): ${g.length} gradient entries, max rel. error vs hand ${worstHand.toExponential(2)}${fdNote}`,
    );
  }
}
console.log("  all agree\n");

// 2. Speed.
for (const w of workloads) {
  const entries = [
    { label: "forward", run: batchRunner(mod[w.name], w.args, "") },
    { label: "tsgrad", run: batchRunner(mod[`${w.name}_grad`], w.args, w.pick) },
    { label: "hand", run: batchRunner(mod[`${w.name}Hand`], w.args, w.pick) },
  ];
  measure(entries);
  const [fwd, tg, hand] = entries;
  w.t = entries.map((e) => median(e.times));
  w.gradOverFwd = pairedRatio(tg, fwd);
  w.handOverFwd = pairedRatio(hand, fwd);
  w.tsgradOverHand = pairedRatio(tg, hand);
}
console.log("Speed, timed size (median time per call for information; the claims are the ratios)");
for (const w of workloads) {
  console.log(`  ${w.title}`);
  console.log(
    `    median per call: forward ${fmtUs(w.t[0])}, tsgrad f_grad ${fmtUs(w.t[1])}, hand-written ${fmtUs(w.t[2])}`,
  );
  console.log(`    tsgrad / forward       ${fmtRatio(w.gradOverFwd)}`);
  console.log(`    tsgrad / hand-written  ${fmtRatio(w.tsgradOverHand)}`);
  console.log(`    (hand-written / forward ${fmtRatio(w.handOverFwd)})`);
}
console.log();

// 3. What each keeps for its backward pass, beyond the arrays the source makes: f_grad's peak
//    depth of the saved-value stack, the hand-written pass's Float64Array of states or averages.
console.log("Numbers kept for the backward pass, timed size (8 bytes each)");
for (const w of workloads) {
  const peak = peakDepth(saved, mod[`${w.name}_grad`], w.args);
  console.log(
    `  ${w.name}: tsgrad's saved-value stack peaks at ${peak}; the hand-written pass keeps ${w.handKept(w.args)}`,
  );
}
console.log();

// 4. Allocation: heap bytes per call, at the timed size and with 10 times the iterations.
console.log("Allocation: heap bytes per call (median of 7 samples, after gc())");
let allocOk = true;
for (const w of workloads) {
  w.bytes = {};
  for (const [size, args, calls] of [
    ["timed", w.args, w.calls[0]],
    ["10x", w.argsBig, w.calls[1]],
  ]) {
    const [fwd, tg, hand] = [
      [w.name, ""],
      [`${w.name}_grad`, w.pick],
      [`${w.name}Hand`, w.pick],
    ].map(([name, pick]) => bytesPerCall(mod[name], args, calls, pick, 10));
    w.bytes[size] = { fwd, tg, hand };
    const pushed = w.pushed?.(args) ?? 0;
    const ok = tg <= hand + 512 + 40 * pushed;
    allocOk &&= ok;
    console.log(
      `  ${w.name} (${size}): tsgrad f_grad ${tg.toFixed(0)} B, hand-written ${hand.toFixed(0)} B, forward ${fwd.toFixed(0)} B` +
        `  ${ok ? "ok" : "FAIL"}: f_grad <= hand-written + 512 B` +
        (pushed ? ` + 40 B x ${pushed} pushed (${((tg - hand) / pushed).toFixed(1)} B each beyond hand-written)` : ""),
    );
  }
}
console.log();
if (!allocOk) fail("f_grad allocates more than the gradients it returns and the arrays the source grows by push");

// 5. The table.
const range = (r) =>
  `${r.median.toFixed(2)}x (IQR ${r.q1.toFixed(2)}-${r.q3.toFixed(2)}, range ${r.min.toFixed(2)}-${r.max.toFixed(2)})`;
const rows = [
  ["workload", "tsgrad / hand-written", "tsgrad / forward", "heap B/call: tsgrad, hand"],
  ...workloads.map((w) => [
    w.title,
    range(w.tsgradOverHand),
    range(w.gradOverFwd),
    `${w.bytes.timed.tg.toFixed(0)}, ${w.bytes.timed.hand.toFixed(0)}`,
  ]),
];
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
console.log(
  `Summary: medians of per-round ratios (quartiles and range over ${ROUNDS} rounds); heap bytes per gradient call`,
);
for (const r of rows)
  console.log(
    "  " +
      r
        .map((cell, c) => cell.padEnd(widths[c]))
        .join("  ")
        .trimEnd(),
  );
if (sinkValue() === 42) console.log(""); // keep the sink observable
