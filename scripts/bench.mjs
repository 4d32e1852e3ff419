// npm run bench: every workload, timed side by side, written to BENCHMARKS.md.
//
//   npm run bench                          build, check, time everything (~10 min here), write BENCHMARKS.md
//   node scripts/bench.mjs --quick         fewer rounds; writes .tsgrad-tmp/BENCHMARKS.quick.md
//   node scripts/bench.mjs --dry-run       compile and run the correctness checks only; writes nothing
//   node scripts/bench.mjs --only gmm-1k   the workloads whose id matches (a regular expression)
//   node scripts/bench.mjs --only factored the factored code against the inline code it computes as
//   node scripts/bench.mjs --out FILE      write the results there instead
//
// For each workload (the seed's staged example and sigmoid neuron, a 1,000-step logistic map,
// a recursive x^n 4,000 calls deep, the two-layer spiral network in its matrix-op and loop
// versions, ADBench GMM on every instance in data/adbench/gmm/, ADBench BA on ba1): the forward
// pass, tsgrad's generated gradient, a hand-written gradient, central finite differences and
// TensorFlow.js (@tensorflow/tfjs, cpu backend, float32; not for the recursion). And the network
// and GMM (on four instances) written the factored way, with small helpers
// (examples/network/factored.ts, examples/adbench/gmm-factored.ts; ids ending in -factored),
// timed against the inline versions they compute the same function as. Everything is
// compiled here through tsgrad's transformer from dist/ (scripts/bench/compile.mjs), checked for
// correctness first (a disagreement exits 1 before any timing), then timed in interleaved rounds
// (scripts/bench/measure.mjs). BENCHMARKS.md is generated from the results
// (scripts/bench/report.mjs); never edit it by hand.
//
// Needs node --expose-gc (the allocation measurement calls gc()); without it, the script
// starts itself again with the flag.

import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = fileURLToPath(import.meta.url);
const root = resolve(dirname(here), "..");
const data = resolve(root, "data", "adbench");

if (typeof globalThis.gc !== "function") {
  const r = spawnSync(process.execPath, ["--expose-gc", here, ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}

const { compileExamples, compileScalar, loadExamples, loadScalar, transformerDiagnostics } =
  await import("./bench/compile.mjs");
const { measure, finish, bytesPerCall, sinkValue, median: medianOf } = await import("./bench/measure.mjs");
const { initTfjs, tfjsVersion } = await import("./bench/tfjs.mjs");
const W = await import("./bench/workloads.mjs");
const { summarize, renderMarkdown } = await import("./bench/report.mjs");

// A timing process (see 2. below): TSGRAD_BENCH_CHILD holds what to time; it prints one line,
// BENCH-RESULT followed by the JSON of the measurements.
const child = process.env.TSGRAD_BENCH_CHILD ? JSON.parse(process.env.TSGRAD_BENCH_CHILD) : null;

// ---------------------------------------------------------------------------------------------
// Options.

const argv = child ? [] : process.argv.slice(2);
const flag = (name) => argv.includes(name);
const option = (name) => {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  if (i + 1 >= argv.length) usage(`${name} needs a value`);
  return argv[i + 1];
};
function usage(message) {
  console.error(`bench: ${message}\nusage: node scripts/bench.mjs [--quick] [--dry-run] [--only REGEX] [--out FILE]`);
  process.exit(2);
}
for (const a of argv)
  if (a.startsWith("--") && !["--quick", "--dry-run", "--only", "--out"].includes(a)) usage(`unknown option ${a}`);
const quick = child ? child.quick : flag("--quick");
const dryRun = flag("--dry-run");
const only = option("--only") ? new RegExp(option("--only")) : null;
const out = resolve(
  option("--out") ?? (quick || only ? join(root, ".tsgrad-tmp", "BENCHMARKS.quick.md") : join(root, "BENCHMARKS.md")),
);

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
const log = (s = "") => child || console.log(s);

// ---------------------------------------------------------------------------------------------
// Compile, load.

log(`tsgrad benchmark (scripts/bench.mjs)${quick ? ", --quick" : ""}${dryRun ? ", --dry-run" : ""}`);
log(
  `node ${process.version}, ${os.cpus()[0]?.model ?? "unknown CPU"} × ${os.cpus().length}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);

let m;
try {
  m = child
    ? { ...(await loadExamples(root)), scalar: await loadScalar(root) }
    : { ...(await compileExamples(root)), scalar: await compileScalar(root) };
} catch (e) {
  console.error(`bench: FAILED: ${e.message}`);
  process.exit(1);
}
m.runtime = await import("tsgrad");
const runtimeUrl = import.meta.resolve("tsgrad");
if (!runtimeUrl.startsWith(pathToFileURL(join(root, "dist")).href)) {
  console.error(`bench: FAILED: "tsgrad" resolved to ${runtimeUrl}, not this package's dist/`);
  process.exit(1);
}
await initTfjs();
log(`compiled through the transformer, TensorFlow.js ${tfjsVersion()} (cpu backend) loaded (${elapsed()})\n`);

const gmmInstances = [
  "1k/gmm_d2_K5",
  "1k/gmm_d2_K10",
  "1k/gmm_d10_K5",
  "1k/gmm_d10_K25",
  "1k/gmm_d20_K10",
  "1k/gmm_d64_K10",
  "10k/gmm_d2_K5",
  "10k/gmm_d10_K5",
  "2.5M/gmm_d2_K5",
  "2.5M/gmm_d10_K5",
];
// Order: small to large; the 2.5M instances last (their tape grows the shared stack to ~2 GB).
// Each made only if chosen (a timing process makes one).
const factories = [
  ...["staged", "neuron", "logistic"].map((id) => ({ id, make: () => W.scalarWorkloads(m).find((w) => w.id === id) })),
  { id: "recursion", make: () => W.recursionWorkload(m) },
  { id: "network", make: () => W.networkWorkload(m, m.runtime.matrix) },
  { id: "network-factored", make: () => W.networkFactoredWorkload(m) },
  { id: "ba1", make: () => W.baWorkload(m, data) },
  ...gmmInstances.flatMap((name) => [
    { id: W.gmmId(name), make: () => W.gmmWorkload(m, data, name, { quick }) },
    ...(W.FACTORED_GMM_INSTANCES.includes(name)
      ? [{ id: `${W.gmmId(name)}-factored`, make: () => W.gmmFactoredWorkload(m, data, name) }]
      : []),
  ]),
];

if (child) {
  // A timing process: one workload, its rounds, its measurements as JSON on stdout.
  const w = factories.find((f) => f.id === child.id).make();
  const skip = new Set(child.skip);
  const entries = measure(
    w.entries().filter((e) => !skip.has(e.label)),
    child.options,
  );
  const out = { entries: entries.map(({ label, scale, times, wallTimes }) => ({ label, scale, times, wallTimes })) };
  if (child.allocation && w.allocation) {
    globalThis.gc();
    out.allocation = w.allocation.map(({ fn, args, entry, ...about }) =>
      skip.has(entry)
        ? { ...about, wrong: true }
        : { ...about, bytes: bytesPerCall(fn, args, { calls: 4, samples: quick ? 5 : 9 }) },
    );
  }
  process.stdout.write(`BENCH-RESULT ${JSON.stringify(out)}\n`);
  process.exit(0);
}

const workloads = factories.filter((f) => !only || only.test(f.id)).map((f) => f.make());
if (workloads.length === 0) usage(`--only ${option("--only")} matches no workload`);
// The natural forms of the factored examples that tsgrad refused: what it says about them now.
if (workloads.some((w) => w.kind === "factored")) m.refusals = await transformerDiagnostics(root, W.FACTORED_REFUSALS);

// ---------------------------------------------------------------------------------------------
// 1. Correctness, before any timing.

log("Correctness (error = |a − b| / max(1, |a| + |b|), the largest over all entries)");
// A failed check keeps what it vouches for (its `entries`, or the whole workload) from being
// timed; the rest is timed and written, BENCHMARKS.md says what failed, and the run exits 1.
const checks = [];
let failed = 0;
for (const w of workloads) {
  const results = w.check();
  w.wrong = new Set();
  for (const c of results) {
    c.ok = c.error <= c.tolerance;
    if (!c.ok) {
      failed++;
      if (c.entries) c.entries.forEach((label) => w.wrong.add(label));
      else w.failed = true;
    }
    log(`  ${c.ok ? "ok  " : "FAIL"} ${w.title}: ${c.what}: ${fmtError(c.error)} (tolerance ${fmtError(c.tolerance)})`);
  }
  checks.push({ workload: w, results });
}
log(
  failed
    ? `  ${failed} check(s) FAILED: what they cover is not timed (${elapsed()})\n`
    : `  all agree (${elapsed()})\n`,
);
if (dryRun) {
  log("--dry-run: no timing, nothing written.");
  process.exit(failed ? 1 : 0);
}

// ---------------------------------------------------------------------------------------------
// 2. Timing: each workload's entries side by side, in several fresh processes one after the
// other (3, 5 for the scalar workloads; 1 with --quick and for the 2.5M instances), each running
// its share of the rounds;
// the rounds of all are pooled. Between processes V8 compiles the same code differently (which
// loops get on-stack replacement, what is inlined): one process alone gave tsgrad / hand-written
// on GMM anywhere from 1.3 to 1.7 from run to run, each with a tight interquartile range.

const scaleOptions = (o) =>
  quick
    ? {
        ...o,
        rounds: Math.max(o.warmupCalls === 1 ? 1 : 5, Math.ceil(o.rounds / 3)),
        batchNs: o.batchNs / 2,
        warmupNs: o.warmupNs / 3,
      }
    : o;
const results = [];
for (const w of workloads) {
  if (w.failed) {
    log(`${w.title}: not timed (a correctness check failed)`);
    results.push({ workload: w, failed: true, entries: [], about: w.about });
    continue;
  }
  const options = scaleOptions(w.options);
  const processes = quick ? 1 : (w.processes ?? (w.kind === "scalar" ? 5 : 3));
  const perProcess = { ...options, rounds: Math.max(1, Math.ceil(options.rounds / processes)) };
  const pooled = new Map();
  const perProcessEntries = [];
  let allocation;
  for (let p = 0; p < processes; p++) {
    const spec = { id: w.id, quick, options: perProcess, skip: [...w.wrong], allocation: p === 0 };
    const r = spawnSync(process.execPath, ["--expose-gc", here], {
      env: { ...process.env, TSGRAD_BENCH_CHILD: JSON.stringify(spec) },
      encoding: "utf8",
      maxBuffer: 1 << 26,
    });
    const line = (r.stdout ?? "").split("\n").find((l) => l.startsWith("BENCH-RESULT "));
    if (r.status !== 0 || !line) {
      console.error(`bench: FAILED: the timing process for ${w.id} exited ${r.status}:\n${r.stderr}`);
      process.exit(1);
    }
    const out = JSON.parse(line.slice("BENCH-RESULT ".length));
    perProcessEntries.push(finish(out.entries.map((e) => ({ ...e }))));
    for (const e of out.entries) {
      const into =
        pooled.get(e.label) ??
        pooled.set(e.label, { label: e.label, scale: e.scale, times: [], wallTimes: [] }).get(e.label);
      into.times.push(...e.times);
      into.wallTimes.push(...e.wallTimes);
    }
    allocation ??= out.allocation;
  }
  const entries = finish([...pooled.values()]);
  const result = {
    workload: w,
    options: { ...options, rounds: perProcess.rounds * processes, processes },
    entries,
    perProcess: perProcessEntries,
    about: w.about,
  };
  if (allocation) result.allocation = allocation;
  w.release?.();
  results.push(result);
  const line = entries.map((e) => `${e.label} ${fmtTime(e.median)}`).join(", ");
  log(`${w.title} (${processes} × ${perProcess.rounds} rounds, ${elapsed()}): ${line}`);
}
log();

// ---------------------------------------------------------------------------------------------
// 3. The report.

const env = {
  date: new Date().toISOString().slice(0, 10),
  node: process.version,
  v8: process.versions.v8,
  platform: `${process.platform}/${process.arch}`,
  cpu: os.cpus()[0]?.model ?? "unknown",
  cpus: os.cpus().length,
  memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
  loadAverage: os.loadavg(),
  tfjs: tfjsVersion(),
  quick,
  only: option("--only"),
  seconds: (Date.now() - started) / 1000,
  // How much longer than its CPU time a batch took on the wall clock: the machine's contention.
  wallOverCpu:
    medianOf(results.flatMap((r) => r.entries.flatMap((e) => e.wallTimes.map((w, i) => w / e.times[i])))) || 1,
};
const summary = summarize(results, m);
const markdown = renderMarkdown({ env, results, checks, summary, m, failed });
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, markdown);
for (const line of summary.console) log(line);
log(`\nwrote ${relative(process.cwd(), out) || out} in ${elapsed()}`);
if (failed) {
  console.error(`bench: FAILED: ${failed} correctness check(s) disagree (see above and the file); exit 1.`);
  process.exitCode = 1;
}
if (sinkValue() === 42.4242) log(""); // keeps the results observable

function fmtError(e) {
  return e === 0 ? "0" : e.toExponential(1);
}
function fmtTime(ns) {
  if (ns < 1e3) return `${ns.toFixed(0)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(1)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(1)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}
