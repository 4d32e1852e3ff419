// BENCHMARKS.md from the measurements of scripts/bench.mjs: the ratios per workload, the targets
// met or missed, the comparison with ADBench's published ratios, and, where a target is missed,
// why, with the generated lines that show it (scripts/bench/reasons.mjs).

import { median, pairedRatio } from "./measure.mjs";
import { factoredReasons, reasonsFor } from "./reasons.mjs";

/** Published ratios time(gradient) / time(objective), as quoted in issue 5 (ADBench paper). */
export const PUBLISHED = {
  gmm: [
    { instance: "10k/gmm_d2_K5", d: 2, K: 5, handCpp: "1.9", tapenade: "3.7" },
    { instance: "10k/gmm_d10_K5", d: 10, K: 5, handCpp: "2.9", tapenade: "7.7" },
  ],
  ba: { handCpp: "6.5–7.4", tapenade: "8.4–8.9" },
};

/** Our targets (issue 5, and issue 4 for the network's gradient / forward). */
const TARGET = { gmmSmall: 3, gmmD64: 6, ba: 8, scalarHand: 1.1, arrayHand: 1.15, networkForward: 3 };

/** Factored code (issue "Real code as written (2)"): against the inline code, and its allocation. */
const FACTORED_TARGET = { overInline: 1.1, stepBytes: 64, helperCallBytes: 1 };

// ---------------------------------------------------------------------------------------------

/** Ratios and targets per row of every workload. */
export function summarize(results) {
  const rows = [];
  for (const r of results) {
    const w = r.workload;
    const byLabel = new Map(r.entries.map((e) => [e.label, e]));
    for (const row of w.rows) {
      const get = (label) => (label ? byLabel.get(label) : undefined);
      const forward = get(row.forward);
      const tsgrad = get(row.tsgrad);
      if (r.failed || !tsgrad) {
        // Its gradient failed a correctness check: not timed.
        rows.push({
          workload: w,
          name: row.name,
          kind: w.kind,
          failed: true,
          targets: [{ what: "a correct gradient", met: false, short: "wrong gradient" }],
        });
        continue;
      }
      const hand = get(row.hand);
      // The objective every gradient here is divided by: the hand-written forward pass where there
      // is one (as ADBench divides Tapenade's and the hand-written C++ gradients by the same C++
      // objective), else the function tsgrad differentiates (plain code already: the scalars).
      const handForward = get(row.handForward);
      const objective = handForward ?? forward;
      const fd = get(row.fd);
      const tfjs = get(row.tfjs);
      const fdEstimate = !fd && w.estimateFd ? w.estimateFd(forward.median) : undefined;
      const out = {
        workload: w,
        name: row.name,
        kind: w.kind,
        rounds: `${r.options.processes} × ${r.options.rounds / r.options.processes}`,
        t: {
          forward: stats(forward),
          tsgrad: stats(tsgrad),
          hand: stats(hand),
          handForward: stats(handForward),
          objective: stats(objective),
          fd: fd ? stats(fd) : fdEstimate ? { median: fdEstimate, estimated: true } : undefined,
          tfjs: stats(tfjs),
        },
        gradOverObjective: pairedRatio(tsgrad, objective),
        handOverObjective: pairedRatio(hand, objective),
        gradOverOwnForward: pairedRatio(tsgrad, forward),
        ownForwardOverObjective: handForward ? pairedRatio(forward, handForward) : undefined,
        tsgradOverHand: pairedRatio(tsgrad, hand),
        tfjsOverTsgrad: tfjs ? pairedRatio(tfjs, tsgrad) : undefined,
        fdOverTsgrad: fd
          ? pairedRatio(fd, tsgrad)
          : fdEstimate
            ? { median: fdEstimate / tsgrad.median, estimated: true }
            : undefined,
      };
      // The same ratio in each process alone (V8 may compile the same code differently in each).
      out.tsgradOverHandPerProcess = (r.perProcess ?? []).map((entries) => {
        const by = new Map(entries.map((e) => [e.label, e]));
        return by.has(row.tsgrad) && by.has(row.hand) ? pairedRatio(by.get(row.tsgrad), by.get(row.hand)).median : NaN;
      });
      const ablated = get(row.ablation);
      if (ablated) {
        out.ablation = {
          label: row.ablation,
          what: row.ablationWhat,
          overHand: pairedRatio(ablated, hand),
          overObjective: pairedRatio(ablated, objective),
          perProcess: (r.perProcess ?? []).map((entries) => {
            const by = new Map(entries.map((e) => [e.label, e]));
            return by.has(row.ablation) && by.has(row.hand)
              ? pairedRatio(by.get(row.ablation), by.get(row.hand)).median
              : NaN;
          }),
        };
      }
      out.targets = targetsOf(out);
      rows.push(out);
    }
  }
  const consoleLines = ["Ratios (median over rounds of the per-round ratio):"];
  for (const row of rows) {
    if (row.failed) {
      consoleLines.push(`  ${row.name.padEnd(36)} WRONG GRADIENT: not timed`);
      continue;
    }
    const t = row.targets.map((x) => `${x.met ? "met" : "MISSED"}: ${x.short}`).join("; ");
    consoleLines.push(
      `  ${row.name.padEnd(36)} tsgrad/objective ${x2(row.gradOverObjective.median).padStart(7)}  hand/objective ${x2(row.handOverObjective.median).padStart(7)}  tsgrad/hand ${x2(row.tsgradOverHand.median).padStart(6)}  tfjs/tsgrad ${row.tfjsOverTsgrad ? x2(row.tfjsOverTsgrad.median).padStart(7) : "      –"}${t ? `   [${t}]` : ""}`,
    );
  }
  for (const f of factoredRows(results)) {
    consoleLines.push(
      f.failed
        ? `  ${f.name.padEnd(36)} WRONG GRADIENT: not timed`
        : `  ${f.name}: factored/inline gradient ${x2(f.overInline.median)}, forward ${x2(f.forwardOverInline.median)}   [${f.met ? "met" : "MISSED"}: ≤ ${FACTORED_TARGET.overInline}]`,
    );
  }
  return { rows, console: consoleLines };
}

const stats = (e) => (e ? { median: e.median, q1: e.q1, q3: e.q3, scale: e.scale } : undefined);

function targetsOf(row) {
  const w = row.workload;
  const out = [];
  const add = (what, value, limit, short) =>
    out.push({ what, value, limit, met: value <= limit, short: `${short} ${x2(value)} ≤ ${limit}` });
  // The recursion row measures that a recursive gradient is linear in the depth (it was
  // quadratic): a cache per level against a hand-written recursion that keeps none; no target yet.
  if (row.kind === "recursion") return out;
  add(
    row.kind === "scalar"
      ? "tsgrad within 1.1x of hand-written (scalar workloads)"
      : "tsgrad within 1.15x of hand-written (array workloads)",
    row.tsgradOverHand.median,
    row.kind === "scalar" ? TARGET.scalarHand : TARGET.arrayHand,
    "tsgrad/hand",
  );
  if (w.gmm && w.gmm.d <= 10)
    add(
      "GMM gradient / objective at most 3 for d ≤ 10",
      row.gradOverObjective.median,
      TARGET.gmmSmall,
      "gradient/objective",
    );
  if (w.gmm && w.gmm.d === 64)
    add(
      "GMM gradient / objective at most 6 at d = 64",
      row.gradOverObjective.median,
      TARGET.gmmD64,
      "gradient/objective",
    );
  if (w.id === "ba1")
    add("BA Jacobian / objective at most 8", row.gradOverObjective.median, TARGET.ba, "Jacobian/objective");
  if (w.id === "network") {
    // Issue 4's "at most 3x the forward pass alone", read both ways: against the function tsgrad
    // differentiates, and against the hand-written forward pass (the objective of the tables).
    add(
      "gradient at most 3x its own forward pass (issue 4)",
      row.gradOverOwnForward.median,
      TARGET.networkForward,
      "gradient/own forward",
    );
    add(
      "gradient at most 3x the hand-written forward pass",
      row.gradOverObjective.median,
      TARGET.networkForward,
      "gradient/hand forward",
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Formatting.

const x2 = (v) =>
  v === undefined ? "–" : v >= 100 ? `${v.toFixed(0)}x` : v >= 10 ? `${v.toFixed(1)}x` : `${v.toFixed(2)}x`;
const ratio = (r) =>
  r ? (r.estimated ? `${x2(r.median)} (est.)` : `${x2(r.median)} (${r.q1.toFixed(2)}–${r.q3.toFixed(2)})`) : "–";

export function fmtTime(ns) {
  if (ns === undefined) return "–";
  if (ns < 1e3) return `${ns.toFixed(0)} ns`;
  if (ns < 1e4) return `${(ns / 1e3).toFixed(2)} µs`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(1)} µs`;
  if (ns < 1e7) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(1)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}
const time = (s) =>
  s ? `${fmtTime(s.median)}${s.estimated ? " (est.)" : ""}${s.scale && s.scale !== 1 ? " (extrap.)" : ""}` : "–";
const fmtBytes = (b) =>
  Math.abs(b) < 1024
    ? `${Math.round(b)} B`
    : Math.abs(b) < 2 ** 20
      ? `${(b / 1024).toFixed(1)} KiB`
      : `${(b / 2 ** 20).toFixed(2)} MiB`;

/** A markdown table; `left` columns (by index) are left-aligned, the others (numbers) right-aligned. */
function table(header, lines, left = [0]) {
  const rule = header.map((_, i) => (left.includes(i) ? "---" : "---:"));
  return [`| ${header.join(" | ")} |`, `| ${rule.join(" | ")} |`, ...lines.map((l) => `| ${l.join(" | ")} |`)].join(
    "\n",
  );
}

// ---------------------------------------------------------------------------------------------

const WRONG = "**wrong gradient: not timed** (see Correctness)";

export function renderMarkdown({ env, results, checks, summary, m, failed }) {
  const { rows } = summary;
  const md = [];
  const push = (...lines) => md.push(...lines);
  push(
    "# Benchmarks",
    "",
    `Generated by \`npm run bench\` (\`scripts/bench.mjs\`) on ${env.date}${env.quick ? " with `--quick` (fewer rounds: rougher numbers)" : ""}${env.only ? ` for the workloads matching \`${env.only}\` only` : ""}. Do not edit by hand: run it again.`,
    "",
    `Machine: ${env.cpu} × ${env.cpus} (\`os.cpus()\`), ${env.memory}; Node ${env.node} (V8 ${env.v8}), ${env.platform}. Load average when the run ended: ${env.loadAverage.map((l) => l.toFixed(2)).join(", ")} (a shared machine: absolute times move from run to run, the ratios much less). The run took ${Math.round(env.seconds / 60)} min.`,
    "",
    "How: everything is TypeScript compiled in the run through tsgrad's transformer (`dist/`) and checked for correctness first (below; a disagreement makes the run exit 1, and what it covers is not timed). Then each workload's entries (forward pass, tsgrad, hand-written, finite differences, TensorFlow.js) are warmed up and run in interleaved rounds whose order rotates, each round timing one batch of calls per entry, after a full garbage collection and a pause in which V8's background threads finish sweeping (untimed). Each workload is timed in three fresh Node processes, one after the other (one with `--quick`, and for the 2.5M instances), each warming up and running its share of the rounds, and the rounds of all of them are pooled: V8 compiles the same code differently from one process to the next (which loops it replaces on the stack, what it inlines), and a single process gave, for example, tsgrad / hand-written on GMM anywhere from 1.3 to 1.7 from run to run, each with a narrow interquartile range. A time is the median over the pooled rounds of the time per call; a ratio is the median over the pooled rounds of the per-round ratio, so both sides of a ratio were measured at the same moment. Compare ratios, not absolute times, and only within this file.",
    "",
    `Times are CPU time of the process (\`process.cpuUsage()\`, user + system), not wall-clock time: this machine is shared (see the load average), and a batch's wall-clock time includes the time it waited for a core. The CPU time counts V8's helper threads too (parallel scavenges, for example): work the batch's own garbage causes. In this run the wall-clock time of a batch was ${env.wallOverCpu.toFixed(2)} times its CPU time (median over all batches).`,
    "",
    ...(failed
      ? [
          `**${failed} correctness check(s) failed in this run** (\`npm run bench\` exited 1): ${checks
            .flatMap((c) =>
              c.results
                .filter((x) => !x.ok)
                .map((x) => `${c.workload.title}: ${x.what}, error ${x.error.toExponential(1)}`),
            )
            .join("; ")}. What they cover was not timed; see [Correctness](#correctness-checked-before-timing).`,
          "",
        ]
      : []),
    `TensorFlow.js is \`@tensorflow/tfjs\` ${env.tfjs}, the pure-JavaScript package on its \`cpu\` backend; **it computes in float32**, tsgrad and the rest in float64. Its inputs are made into tensors once, before timing (as a training loop keeps its parameters in tensors); each timed call computes the gradient with \`tf.grads\` inside \`tf.tidy\` and reads it back with \`dataSync()\`.`,
    "",
  );

  // Summary table.
  push(
    "## Results",
    "",
    "Ratios of median times, with the interquartile range of the per-round ratio in parentheses.",
    "",
    "- *gradient / objective* is ADBench's figure of merit, time(gradient) / time(objective). Both gradients of a workload are divided by the same objective: the hand-written forward pass where there is one (the network, GMM, BA: as ADBench divides Tapenade's and the hand-written C++ gradients by one C++ objective), else the function tsgrad differentiates (the scalar workloads, plain code already). The targets are read from these columns.",
    "- *tsgrad's forward / objective*: the function tsgrad differentiates, run as plain code, against that objective (BA's `baResiduals` evaluates each residual coordinate by a separate call of an 18-argument function, so it is slower than the hand-written residuals; against it, tsgrad's Jacobian would look cheaper than it is).",
    "- *(in each process)*: tsgrad / hand-written measured in each timing process alone. Where these differ by more than their noise, V8 compiled the same code to different speeds in different processes, and the pooled median says which way most rounds went.",
    "- *FD* is central finite differences, one pair of objective calls per partial.",
    "",
    table(
      [
        "workload",
        "tsgrad gradient / objective",
        "hand-written gradient / objective",
        "tsgrad / hand-written",
        "(in each process)",
        "TensorFlow.js / tsgrad",
        "FD / tsgrad",
        "tsgrad's forward / objective",
      ],
      rows.map((r) =>
        r.failed
          ? [r.name, WRONG, "", "", "", "", "", ""]
          : [
              r.name,
              ratio(r.gradOverObjective),
              ratio(r.handOverObjective),
              ratio(r.tsgradOverHand),
              r.tsgradOverHandPerProcess.map((v) => v.toFixed(2)).join(", "),
              ratio(r.tfjsOverTsgrad),
              ratio(r.fdOverTsgrad),
              r.ownForwardOverObjective ? ratio(r.ownForwardOverObjective) : "(the same)",
            ],
      ),
    ),
    "",
    "Median time per call:",
    "",
    table(
      [
        "workload",
        "tsgrad's forward",
        "tsgrad gradient",
        "hand-written forward",
        "hand-written gradient",
        "finite differences",
        "TensorFlow.js",
        "processes × rounds",
      ],
      rows.map((r) =>
        r.failed
          ? [r.name, WRONG, "", "", "", "", "", ""]
          : [
              r.name,
              time(r.t.forward),
              time(r.t.tsgrad),
              time(r.t.handForward),
              time(r.t.hand),
              time(r.t.fd),
              time(r.t.tfjs),
              r.rounds,
            ],
      ),
    ),
    "",
    "*(est.)*: estimated, not run; *(extrap.)*: measured on part of the work and scaled up (see the workload's notes below).",
    "",
  );

  // Targets.
  push(
    "## Targets",
    "",
    table(
      ["workload", "target", "measured", ""],
      rows.flatMap((r) =>
        r.targets.map((t) => [r.name, t.what, r.failed ? "wrong gradient" : x2(t.value), t.met ? "met" : "**missed**"]),
      ),
      [0, 1, 3],
    ),
    "",
  );

  // Where we stand.
  push(...whereWeStand(rows, m));

  // Allocation.
  const alloc = results.find((r) => r.allocation && r.workload.id === "network");
  if (alloc) {
    push(
      "## Bytes allocated per training step (network)",
      "",
      "Heap bytes (V8 heap plus ArrayBuffer memory) allocated by one gradient call, the work of one training step (the SGD update itself, `sgdStep` in examples/network/params.ts, allocates nothing): over 4 calls with no garbage collection in between (`gc()` first), minus the same measurement around an empty loop; the median of several samples. Measured after timing, so every function is optimized.",
      "",
      table(
        ["gradient", "bytes per step"],
        alloc.allocation.map((a) => [a.name, a.wrong ? WRONG : fmtBytes(a.bytes)]),
      ),
      "",
    );
  }

  // Factored code against inline code.
  push(...factoredSection(results, env, checks, m));

  // Workload notes.
  push("## The workloads", "");
  for (const r of results) push(`- **${r.workload.title}** (\`--only ${r.workload.id}\`): ${r.about}`);
  push("");

  // Correctness.
  push(
    "## Correctness, checked before timing",
    "",
    "Largest error |a − b| / max(1, |a| + |b|) (ADBench's measure: relative for large values, absolute below 1) over all entries compared. Reference outputs are ADBench's hand-written C++ results in `data/adbench/reference/`.",
    "",
    table(
      ["workload", "check", "error", "tolerance", ""],
      checks.flatMap((c) =>
        c.results.map((x) => [
          c.workload.title,
          x.what,
          x.error === 0 ? "0" : x.error.toExponential(1),
          x.tolerance === 0 ? "0" : x.tolerance.toExponential(0),
          x.ok ? "ok" : "**FAILED**",
        ]),
      ),
      [0, 1, 4],
    ),
    "",
  );
  return md.join("\n");
}

// ---------------------------------------------------------------------------------------------

/** "below", "above" or "within" a published figure ("1.9" or a range "6.5–7.4"). */
function against(value, published) {
  const [lo, hi = lo] = published.split("–").map(Number);
  return value < lo ? "below" : value > hi ? "above" : "within";
}

/** Sentences comparing this run's ratios with the published ones. */
function standings(find, ba) {
  const out = [];
  const gmm = PUBLISHED.gmm
    .map((p) => ({
      p,
      r: find(
        (x) => x.workload.gmm && `${x.workload.gmm.n}/gmm_d${x.workload.gmm.d}_K${x.workload.gmm.K}` === p.instance,
      ),
    }))
    .filter(({ r }) => r && !r.failed);
  const n = (v) => (v >= 10 ? v.toFixed(1) : v.toFixed(2));
  if (gmm.length) {
    const vs = (v, p) => {
      const t = against(v, p.tapenade);
      const h = against(v, p.handCpp);
      return t === h
        ? `${t} Tapenade's ${p.tapenade} and the hand-written C++'s ${p.handCpp}`
        : `${t} Tapenade's ${p.tapenade}, ${h} the hand-written C++'s ${p.handCpp}`;
    };
    const tsgrad = gmm
      .map(({ p, r }) => `${n(r.gradOverObjective.median)} at d = ${p.d} (${vs(r.gradOverObjective.median, p)})`)
      .join(" and ");
    const hand = gmm.map(({ p, r }) => `${n(r.handOverObjective.median)} at d = ${p.d}`).join(" and ");
    out.push(
      `GMM with 10k points, gradient / objective: tsgrad ${tsgrad}; the hand-written TypeScript gradient ${hand}.`,
    );
  }
  if (ba && !ba.failed) {
    const v = ba.gradOverObjective.median;
    out.push(
      `BA, Jacobian / objective: tsgrad ${n(v)} (${against(v, PUBLISHED.ba.handCpp)} the hand-written C++'s ${PUBLISHED.ba.handCpp}, ${against(v, PUBLISHED.ba.tapenade)} Tapenade's ${PUBLISHED.ba.tapenade}); the hand-written TypeScript Jacobian ${n(ba.handOverObjective.median)}.`,
    );
  }
  if (out.length) {
    out.push(
      "A ratio measures what a gradient adds to its own language's objective: it is lower where the objective is relatively slow, so these say how tsgrad compares with the hand-written code and with Tapenade as AD tools, not that TypeScript is as fast as C++.",
    );
  }
  return out.flatMap((l) => [l, ""]).slice(0, -1);
}

const ours = (row, key) => (!row ? "not run" : row.failed ? "wrong gradient" : x2(row[key].median));

function whereWeStand(rows, m) {
  const out = ["## Where we stand", ""];
  const find = (pred) => rows.find(pred);
  out.push(
    "ADBench's published ratios time(gradient) / time(objective), as quoted in issue 5 from the ADBench paper (Srajer, Habib, Fitzgibbon 2018), beside ours from this run. Theirs are C++ (hand-written derivatives, and Tapenade, a source-to-source AD tool like tsgrad) against a C++ objective; ours are TypeScript against a TypeScript objective on V8.",
    "",
  );
  const lines = [];
  for (const p of PUBLISHED.gmm) {
    const r = find(
      (x) => x.workload.gmm && `${x.workload.gmm.n}/gmm_d${x.workload.gmm.d}_K${x.workload.gmm.K}` === p.instance,
    );
    lines.push([
      `GMM d = ${p.d}, K = ${p.K} (${p.instance})`,
      p.handCpp,
      p.tapenade,
      ours(r, "handOverObjective"),
      ours(r, "gradOverObjective"),
      `≤ ${TARGET.gmmSmall}`,
    ]);
  }
  const d64 = find((x) => x.workload.gmm && x.workload.gmm.d === 64);
  lines.push([
    "GMM d = 64, K = 10 (1k)",
    "–",
    "–",
    ours(d64, "handOverObjective"),
    ours(d64, "gradOverObjective"),
    `≤ ${TARGET.gmmD64}`,
  ]);
  const ba = find((x) => x.workload.id === "ba1");
  lines.push([
    "BA Jacobian (ba1)",
    PUBLISHED.ba.handCpp,
    PUBLISHED.ba.tapenade,
    ours(ba, "handOverObjective"),
    ours(ba, "gradOverObjective"),
    `≤ ${TARGET.ba}`,
  ]);
  out.push(
    table(
      [
        "",
        "hand-written C++ (published)",
        "Tapenade (published)",
        "hand-written TS (ours)",
        "tsgrad (ours)",
        "our target",
      ],
      lines,
    ),
    "",
  );

  out.push(...standings(find, ba), "");

  const missed = rows.flatMap((r) => r.targets.filter((t) => !t.met).map((t) => ({ row: r, target: t })));
  if (missed.length === 0) {
    out.push("Every target was met in this run.", "");
  } else {
    // Grouped by target: "<target>: missed on A (x), B (y); met on C (z)".
    const byTarget = new Map();
    for (const r of rows) for (const t of r.targets) byTarget.set(t.what, [...(byTarget.get(t.what) ?? []), { r, t }]);
    const value = ({ r, t }) => `${r.name} (${r.failed ? "wrong gradient" : x2(t.value)})`;
    out.push("Missed in this run:", "");
    for (const [what, list] of byTarget) {
      const miss = list.filter(({ t }) => !t.met);
      if (!miss.length) continue;
      const met = list.filter(({ t }) => t.met);
      out.push(
        `- ${what}: missed on ${miss.map(value).join(", ")}${met.length ? `; met on ${met.map(value).join(", ")}` : ""}.`,
      );
    }
    out.push("", "Why, workload by workload:", "");
  }
  out.push(...reasonsFor(rows, m));

  // Ablations: the generated code with one thing changed, timed beside the rest.
  const ablated = rows.filter((r) => r.ablation);
  if (ablated.length) {
    out.push(
      "### Ablations: the generated code with one thing changed",
      "",
      "To measure what one feature of the generated code costs, the benchmark rebuilds the generated function from its own source with that one thing changed (everything else byte for byte; the results are checked to be unchanged, see Correctness) and times it beside the others. *Without the gradient on the data*: `f_grad` differentiates with respect to every array parameter, data included (`X` of the network, `x` of GMM), and `grad(f, { wrt })` only picks from its result; here the lines that accumulate the data's gradient are left out. *Own tape*: the frame of the saved-value stack a counting loop keeps its values in (`const x_saved = saved.frame(1000)`) replaced by a Float64Array allocated once, as the hand-written loop keeps its tape.",
      "",
      table(
        [
          "workload",
          "the generated code…",
          "tsgrad / hand-written",
          "changed / hand-written",
          "(in each process)",
          "gradient / objective",
          "changed / objective",
        ],
        ablated.map((r) => [
          r.name,
          r.ablation.what,
          x2(r.tsgradOverHand.median),
          x2(r.ablation.overHand.median),
          r.ablation.perProcess.map((v) => v.toFixed(2)).join(", "),
          x2(r.gradOverObjective.median),
          x2(r.ablation.overObjective.median),
        ]),
        [0, 1],
      ),
      "",
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Factored code: the same functions written with small helpers, against the inline versions.

/** The factored rows of every workload that has them: ratios to the inline code, per process too. */
export function factoredRows(results) {
  const rows = [];
  for (const r of results) {
    for (const f of r.workload.factored ?? []) {
      const by = new Map(r.entries.map((e) => [e.label, e]));
      const factored = by.get(f.factored);
      const inline = by.get(f.inline);
      if (r.failed || !factored || !inline) {
        rows.push({ workload: r.workload, name: f.name, kind: f.kind, failed: true, met: false });
        continue;
      }
      const perProcess = (r.perProcess ?? []).map((entries) => {
        const p = new Map(entries.map((e) => [e.label, e]));
        return p.has(f.factored) && p.has(f.inline) ? pairedRatio(p.get(f.factored), p.get(f.inline)).median : NaN;
      });
      const overInline = pairedRatio(factored, inline);
      rows.push({
        workload: r.workload,
        name: f.name,
        kind: f.kind,
        overInline,
        perProcess,
        forwardOverInline: pairedRatio(by.get(f.factoredForward), by.get(f.inlineForward)),
        t: { factored: stats(factored), inline: stats(inline) },
        rounds: `${r.options.processes} × ${r.options.rounds / r.options.processes}`,
        met: overInline.median <= FACTORED_TARGET.overInline,
      });
    }
  }
  return rows;
}

/** The bytes measured for the factored workloads, and the two allocation targets. */
export function factoredAllocation(results) {
  const list = results.flatMap((r) => (r.workload.kind === "factored" ? (r.allocation ?? []) : []));
  const perHelper = (a) => a.bytes / a.helperCalls;
  const steps = list.filter((a) => a.role === "step" || a.role === "layer step");
  const helperRows = list.filter((a) => ["step", "layer step", "gmm"].includes(a.role));
  return {
    list,
    perHelper,
    helperCallBytes: FACTORED_TARGET.helperCallBytes,
    steps,
    helperRows,
    stepMet: steps.length > 0 && steps.every((a) => !a.wrong && a.bytes < FACTORED_TARGET.stepBytes),
    helperMet:
      helperRows.length > 0 && helperRows.every((a) => !a.wrong && perHelper(a) < FACTORED_TARGET.helperCallBytes),
  };
}

function factoredSection(results, env, checks, m) {
  const rows = factoredRows(results);
  if (!rows.length) return [];
  const out = [];
  const push = (...lines) => out.push(...lines);
  const worst = checks
    .filter((c) => c.workload.kind === "factored")
    .flatMap((c) => c.results.filter((x) => x.tolerance === 1e-10).map((x) => x.error));
  push(
    "## Factored code",
    "",
    `The two-layer network (its loops version, examples/network/loops.ts) and the GMM objective (examples/adbench/gmm.ts) written the way numeric code is usually factored, into small helpers (examples/network/factored.ts, examples/adbench/gmm-factored.ts): \`@differentiable\` helpers that take arrays and return a number, which the caller's backward pass calls through their pullbacks (\`logsumexp\`, \`dot\`, GMM's per-point \`pointLogLikelihood\`), and unmarked helpers that return a new array or write into an array they are given, which tsgrad inlines (\`dense\`, \`relu\`, \`denseRelu\`, GMM's \`subtract\` and \`qTimes\`). The network is written twice: \`factoredLoss\` computes the hidden layer as \`relu(dense(X, W1, b1, n))\`, \`layerLoss\` with a per-layer helper \`denseRelu\` that applies the ReLU as it computes each unit, as the inline code does. Each computes the same function as its inline version: before timing, the same value and the same gradient to 1e-10 (largest error ${worst.length ? Math.max(...worst).toExponential(1) : "–"}; see Correctness). The factored and the inline code are entries of one workload (\`--only factored\`), timed side by side in the same rounds of the same processes, as everything else here; a ratio is the median of the per-round ratios, with its interquartile range.${env.only ? ` This section is from a run of \`node scripts/bench.mjs --only ${env.only}${env.quick ? " --quick" : ""}\` on ${env.date} (load average at its end ${env.loadAverage.map((l) => l.toFixed(2)).join(", ")}, a batch's wall-clock time ${env.wallOverCpu.toFixed(2)} times its CPU time: a busy machine, where the per-round ratios spread more; the run took ${Math.max(1, Math.round(env.seconds / 60))} min).` : ""}`,
    "",
    `- *factored / inline gradient*: the factored gradient against the inline gradient of the same kind (\`grad\` wrt the weights, or \`gradInto\`, for the network; \`f_grad\` for GMM, as the GMM rows above time it). Target: at most ${FACTORED_TARGET.overInline}x.`,
    "- *factored / inline forward*: the factored function run as plain code against the inline one: what the factoring costs before any differentiation.",
    "",
    table(
      [
        "code",
        "factored / inline gradient",
        "(in each process)",
        "factored / inline forward",
        "inline gradient",
        "factored gradient",
        "processes × rounds",
        `target ≤ ${FACTORED_TARGET.overInline}x`,
      ],
      rows.map((r) =>
        r.failed
          ? [r.name, WRONG, "", "", "", "", "", "**missed**"]
          : [
              r.name,
              ratio(r.overInline),
              r.perProcess.map((v) => v.toFixed(2)).join(", "),
              ratio(r.forwardOverInline),
              time(r.t.inline),
              time(r.t.factored),
              r.rounds,
              r.met ? "met" : "**missed**",
            ],
      ),
      [0, 7],
    ),
    "",
  );

  const refusals = m.refusals ?? [];
  if (refusals.length) {
    const refused = refusals.filter((r) => r.diagnostics.length);
    const none = !refused.length;
    // Whether gmm-factored.ts now has the squared-norm helper it was first written with.
    const written = /^(export )?function sqnorm\(/m.test(m.compiledSource?.("gmmFactored") ?? "");
    push(
      `**Natural forms tsgrad refused${none ? ", accepted now" : ""}.** GMM's per-point helper was first written as ADBench's reference code factors it, with a helper for the squared norm: \`beta[k] = alphas[k] + sumQ[k] - 0.5 * sqnorm(qc)\`, \`qc\` written by \`qTimes\` for each component. tsgrad refused it, and the forms its diagnostics pointed to. Minimal programs of each (scripts/bench/workloads.mjs \`FACTORED_REFUSALS\`), compiled through the transformer in this run${none ? ", are all accepted now" : ""}:`,
      "",
      ...refusals.map(
        (r) =>
          `- ${r.what}: ${r.diagnostics.length ? r.diagnostics.map((d) => `\`\` ${d.replace(/^[^(]*\((\d+,\d+)\): error /, "($1) ")} \`\``).join("; ") : "**accepted in this run**"}`,
      ),
      "",
      `${
        written
          ? "examples/adbench/gmm-factored.ts is written in the natural form, with `sqnorm(qc)`."
          : refused.length
            ? "examples/adbench/gmm-factored.ts uses the nearest form tsgrad accepts: the squared norm summed by a loop in `pointLogLikelihood` itself, the other helpers (`subtract`, `qTimes`, `logsumexp`) as they were."
            : "examples/adbench/gmm-factored.ts still uses the nearer form it was written in while they were refused: the squared norm summed by a loop in `pointLogLikelihood` itself, the other helpers (`subtract`, `qTimes`, `logsumexp`) as they were. The GMM rows above time that form, not `sqnorm(qc)`."
      } The network's natural forms were all accepted (\`relu(dense(...))\` nested, \`dot(W1, W1)\` with one array passed twice).`,
      "",
    );
  }

  const alloc = factoredAllocation(results);
  if (alloc.list.length) {
    const fmtPer = (a) => (a.helperCalls && !a.wrong ? `${alloc.perHelper(a).toFixed(2)} B` : "–");
    push(
      "Bytes allocated per call, measured as in the network's table above (heap bytes, V8 heap plus ArrayBuffer memory, over 4 calls with no garbage collection in between, minus an empty loop's; the median of several samples; after timing), on the network and on the 1k GMM instances (4 calls of the 10k ones allocate more than the young generation holds, and a scavenge in between would hide some). Each factored gradient calls its `@differentiable` helpers' pullbacks in its loops (the network: one `logsumexp` per point; GMM: one `pointLogLikelihood` per point, which calls one `logsumexp`): *per helper call* is the call's bytes divided by the number of these pullback calls in it. An allocation made on every helper call is at least 16 bytes (one heap number), so under 1 byte per helper call on average means the calls allocate nothing.",
      "",
      table(
        ["gradient", "bytes per call", "helper (pullback) calls per call", "bytes per helper call"],
        alloc.list.map((a) =>
          a.wrong
            ? [a.name, WRONG, "", ""]
            : [
                a.name,
                fmtBytes(a.bytes),
                a.helperCalls ? `${a.helperCalls.toLocaleString("en-US")} (${a.helpers})` : "–",
                fmtPer(a),
              ],
        ),
        [0, 2],
      ),
      "",
      table(
        ["target", "measured", ""],
        [
          [
            `a \`gradInto\` step of the factored network under ${FACTORED_TARGET.stepBytes} bytes`,
            alloc.steps.length
              ? alloc.steps
                  .map(
                    (a) =>
                      `${a.wrong ? "wrong gradient" : fmtBytes(a.bytes)} (${a.role === "step" ? "factoredLoss" : "layerLoss"})`,
                  )
                  .join(", ")
              : "not run",
            alloc.stepMet ? "met" : "**missed**",
          ],
          [
            "a helper call in a hot loop allocates nothing per iteration (a factored `gradInto`, under 1 byte per helper call)",
            alloc.helperRows.length
              ? alloc.helperRows
                  .map(
                    (a) =>
                      `${fmtPer(a)} (${a.role === "gmm" ? a.name.split(":")[0] : a.role === "step" ? "factoredLoss" : "layerLoss"})`,
                  )
                  .join(", ")
              : "not run",
            alloc.helperMet ? "met" : "**missed**",
          ],
        ],
        [0, 2],
      ),
      "",
    );
  }
  push(...factoredReasons(rows, alloc, m));
  return out;
}
