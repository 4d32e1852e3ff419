// Why a target is missed, with evidence: the lines of the generated code that was timed (the
// JavaScript tsc emitted with the transformer, i.e. `npx tsgrad print <file> --fn <f>` without
// the types). Each explanation is written for one workload and only says what its evidence
// shows: the lines are looked up in the generated function of this run, and a sentence whose
// lines are no longer there (the compiler changed) is left out.
//
//   reasonsFor(rows, m) → markdown lines, for the rows with a missed target

/** A line without its `//` comment (the generated comments quote forward lines: `// x = mul(a, b)`). */
const codeOf = (line) => line.replace(/\/\/.*$/, "");

/**
 * The lines of fn's source whose code matches `pattern`, trimmed, with their line number in the
 * function; with `backward`, only the lines after the `// backward pass` comment.
 */
function grep(fn, pattern, max = 6, backward = false) {
  const lines = fn.toString().split("\n");
  const start = backward
    ? Math.max(
        0,
        lines.findIndex((l) => /\/\/ backward pass/.test(l)),
      )
    : 0;
  const hits = [];
  lines.forEach((line, i) => {
    if (i >= start && pattern.test(codeOf(line))) hits.push({ n: i + 1, text: line.trim() });
  });
  return hits.slice(0, max);
}
/** How many times `pattern` occurs in fn's code (comments left out). */
const count = (fn, pattern) =>
  fn
    .toString()
    .split("\n")
    .reduce((n, line) => n + (codeOf(line).match(new RegExp(pattern.source, "g")) ?? []).length, 0);
const code = (name, hits) => [
  "```js",
  `// ${name}`,
  ...hits.map((h) => `/* ${String(h.n).padStart(3)} */ ${h.text}`),
  "```",
];
const x2 = (v) => `${v.toFixed(2)}x`;

/** One reason: a sentence and its evidence, kept only if the evidence is there. */
function reason(text, fnName, fn, pattern, max, backward = false) {
  const hits = fn ? grep(fn, pattern, max, backward) : [];
  return hits.length ? { text, evidence: code(fnName, hits) } : null;
}

function render(title, intro, reasons) {
  const out = [`### ${title}`, "", intro, ""];
  const kept = reasons.filter(Boolean);
  kept.forEach((r, i) => out.push(`${i + 1}. ${r.text}`, "", ...r.evidence.map((l) => `   ${l}`), ""));
  return out;
}

// ---------------------------------------------------------------------------------------------

export function reasonsFor(rows, m) {
  const out = [];
  const missed = (pred) => rows.filter((r) => pred(r) && r.targets.some((t) => !t.met));
  const scalar = missed((r) => r.kind === "scalar");
  if (scalar.length) out.push(...scalarReasons(scalar, m));
  const net = missed((r) => r.workload.id === "network");
  if (net.length) out.push(...networkReasons(net, m));
  const gmm = missed((r) => !!r.workload.gmm);
  if (gmm.length) out.push(...gmmReasons(gmm, m, rows));
  const ba = missed((r) => r.workload.id === "ba1");
  if (ba.length) out.push(...baReasons(ba, m));
  return out;
}

/** Arithmetic in a function's source: operators and Math calls, comments dropped. */
function operations(fn) {
  const src = fn
    .toString()
    .split("\n")
    .map((l) => l.replace(/\/\/.*$/, ""))
    .join("\n")
    .replace(/^[^{]*\{/, ""); // the body only
  return {
    math: (src.match(/Math\.\w+\(/g) ?? []).length,
    ops: (src.match(/[^=!<>+\-*/]([+\-*/])[^=+\-]/g) ?? []).length + (src.match(/[+\-*/]=/g) ?? []).length,
  };
}

function scalarReasons(rows, m) {
  const pairs = {
    staged: [m.seed.staged_grad, "staged_grad", m.scalar.stagedHand, "stagedHand"],
    neuron: [m.seed.neuron_grad, "neuron_grad", m.scalar.neuronHand, "neuronHand"],
    logistic: [m.scalar.logistic_grad, "logistic_grad", m.scalar.logisticHand, "logisticHand"],
  };
  const lines = [];
  for (const r of rows) {
    const [g, gName, h, hName] = pairs[r.workload.id];
    if (r.failed) {
      lines.push(`- ${r.name}: its gradient failed a correctness check (see Correctness).`);
      continue;
    }
    const a = operations(g);
    const b = operations(h);
    const each = r.tsgradOverHandPerProcess.filter(Number.isFinite);
    const bimodal = each.length > 1 && Math.min(...each) <= 1.1 && Math.max(...each) > 1.1;
    lines.push(
      `- ${r.name}: tsgrad / hand-written ${x2(r.tsgradOverHand.median)} (interquartile range of the per-round ratio ${r.tsgradOverHand.q1.toFixed(2)}–${r.tsgradOverHand.q3.toFixed(2)}). The generated \`${gName}\` does ${a.ops} arithmetic operations and ${a.math} Math calls, the hand-written \`${hName}\` ${b.ops} and ${b.math}` +
        (r.workload.id === "logistic"
          ? `; per step, both save one number (\`x_saved[step] = x\`, a frame on tsgrad's stack, against the hand-written code's preallocated \`Float64Array\`), and the generated reverse loop recomputes \`r * x\` and \`1 - x\` where the hand-written one folds the step into \`dx *= r * (1 - 2 * xi)\`.` +
            (r.ablation
              ? ` The same generated function with its tape in a Float64Array allocated once, nothing else changed, runs at ${x2(r.ablation.overHand.median)} the hand-written code (Ablations, below): the loops cost what the hand-written ones do, and the difference is how V8 compiles the tape's frame from the runtime's stack (\`const x_saved = saved.frame(1000)\`, \`saved.release(x_saved)\`). That depends on what V8 has seen before: in a process that had already called \`saved.frame\` a million times, the unchanged function also ran at the hand-written speed, and in one process out of two or three of a plain script it did; in this run's timing processes it mostly did not (see the per-process ratios).`
              : "")
          : `, and both return a new array of the gradients: the same work, at ${Math.round(r.t.tsgrad.median)} and ${Math.round(r.t.hand.median)} ns per call, where a difference of a few ns is V8's inlining and register choices, and the run-to-run noise on this shared machine, more than the code.`) +
        (bimodal
          ? ` Measured in each timing process alone, tsgrad / hand-written was ${each.map((v) => v.toFixed(2)).join(", ")}: in some processes the generated code ran as fast as the hand-written code, in others slower, with no deoptimization (\`--trace-deopt\`) and nothing allocated per step; V8 compiled the same function to two different speeds, and the target is missed in the processes where it chose the slower one.`
          : ""),
    );
  }
  return ["### Scalar workloads", "", ...lines, ""];
}

function networkReasons(rows, m) {
  const out = [];
  const g = m.network.networkLoss_grad_net;
  const wrong = rows.filter((r) => r.failed);
  if (wrong.length) {
    out.push(
      "### Two-layer network: a wrong gradient",
      "",
      `${wrong.map((r) => r.name).join(", ")}: the gradient disagrees with the hand-written backprop (which agrees with finite differences; see Correctness), so it was not timed. A compiler bug, for the compiler's owners: \`npx tsgrad print examples/network/loops.ts --fn loopsLoss\` shows the code.`,
      "",
    );
  }
  const matrix = rows.filter((r) => !r.failed && /matrix/.test(r.name));
  if (matrix.length) {
    const passes = count(g, /^\s*(const \w+ = \w+Into\(|add\w+\(|const \w+ = matrixPool\.zerosLike)/);
    out.push(
      ...render(
        "Two-layer network, matrix ops",
        `${matrix.map((r) => `${r.name}: tsgrad / hand-written ${x2(r.tsgradOverHand.median)}, gradient / objective ${x2(r.gradOverObjective.median)} (its own forward pass: ${x2(r.gradOverOwnForward.median)})`).join("; ")}. ${matrix[0].ownForwardOverObjective ? ` The function itself, \`networkLoss\` run as plain code, takes ${x2(matrix[0].ownForwardOverObjective.median)} the hand-written forward pass: each matrix op allocates its result.` : ""} The hand-written backprop (examples/network/hand.ts) computes only the four parameter gradients, into buffers it allocates once, each matrix product as one sum per entry. So does the generated \`networkLoss_grad_net\` (what \`grad(networkLoss, { wrt: [0] })\` compiles to; \`npx tsgrad print examples/network.ts --fn networkLoss\`: no gradient on the data X, whose cost \`grad(networkLoss)\` shows in the ablations below), but:`,
        [
          reason(
            `It still makes more passes over memory than the hand-written code: ${passes} lines each walk a whole matrix. The layers are fused as the hand-written code fuses them (\`affineReluInto\` computes the product, the bias and the ReLU in one pass, \`affineInto\` the second layer, \`addMatmulNTRelu\` the ReLU's gradient inside the product's, skipping the units that were off; runtime/ops/fused.ts), but the regularizer is \`mul(W1, W1)\` written into a matrix, summed, and differentiated by \`addConstant\` and two \`addMul\` passes, where the hand-written code sums W² directly and adds reg · W as it writes dW; the bias gradients are column sums in passes of their own; and \`grad\` allocates the four gradients it returns (\`gradInto\` does not).`,
            "networkLoss_grad_net",
            g,
            /Into\(|matrixPool\.zerosLike|addColumnSums|addMul\(|addConstant/,
            12,
          ),
        ],
      ),
    );
  }
  const loops = rows.filter((r) => !r.failed && /loops/.test(r.name));
  if (loops.length) {
    const lg = m.networkLoops.loopsLoss_grad_W1_b1_W2_b2;
    out.push(
      ...render(
        "Two-layer network, loops",
        `${loops.map((r) => `${r.name}: tsgrad / hand-written ${x2(r.tsgradOverHand.median)}, gradient / objective ${x2(r.gradOverObjective.median)} (its own forward pass: ${x2(r.gradOverOwnForward.median)})`).join("; ")}. The generated \`loopsLoss_grad_W1_b1_W2_b2\` (what \`grad(loopsLoss, { wrt: [0, 1, 2, 3] })\` compiles to; \`npx tsgrad print examples/network/loops.ts --fn loopsLoss\`) computes, like the hand-written code, no gradient on the data X, but:`,
        [
          reason(
            "adds into gradient arrays inside its innermost loops, a load and a store per multiply-add (here, for each point, class and hidden unit, into `dW2` and `dhidden`), where the hand-written code sums each entry of a product in a local and writes it once (examples/network/hand.ts measured that 1.3–1.6x faster in V8);",
            "loopsLoss_grad_W1_b1_W2_b2",
            lg,
            /^\s*d(W2|hidden|W1)\[[^\]]*\*[^\]]*\] \+=/,
          ),
          reason(
            "runs the first layer's backward loop once per point and hidden unit, each iteration reading back the unit's output (`const max = hidden[i * h + j]`: read back, not saved, since nothing writes that element again; transformer/phases/read-back.ts), masking its gradient and adding into `dW1` and `db1`, where the hand-written code loops over the units outside and sums over the points in a local;",
            "loopsLoss_grad_W1_b1_W2_b2",
            lg,
            /hidden\[i \* h \+ j\];|db1\[j\] \+=/,
            4,
          ),
          reason(
            "pushes, per point, the softmax's running maximum and the exponential of each class, which the hand-written code keeps in its `probs` array;",
            "loopsLoss_grad_W1_b1_W2_b2",
            lg,
            /saved\.push\(|saved\.pop\(\)/,
            8,
          ),
        ],
      ),
    );
  }
  return out;
}

function gmmReasons(rows, m, all) {
  const g = m.gmm.gmmObjective_grad;
  const list = rows
    .map((r) =>
      r.failed
        ? `${r.name}: wrong gradient`
        : `${r.name}: gradient / objective ${x2(r.gradOverObjective.median)} (hand-written ${x2(r.handOverObjective.median)}), tsgrad / hand-written ${x2(r.tsgradOverHand.median)}`,
    )
    .join("; ");
  return render(
    "GMM",
    `Missed: ${list}. The hand-written gradient (examples/adbench/gmm-hand.ts) makes one pass over the points, keeping x_i − μ_k and Q_k(x_i − μ_k) of the current point in small arrays for all of its partials, and saves nothing per point. The generated \`gmmObjective_grad\` (\`npx tsgrad print examples/adbench/gmm.ts --fn gmmObjective\`) runs the forward loop over all points and components first, saving what its reverse loop needs, then the reverse loop:`,
    [
      reason(
        "It saves d + 5 numbers per point and component on the stack (each of the d rows of Q_k(x_i − μ_k); then ‖·‖², the exponentials of both branches of the log-sum-exp update, though only one was computed, and the running max and sum): at n = 2.5M, K = 5, d = 10, 1.5 GB written by the forward loop and read back by the reverse loop, where the hand-written code's working set is a few hundred numbers.",
        "gmmObjective_grad",
        g,
        /saved\.push\(/,
        8,
      ),
      reason(
        "Its innermost reverse loop, O(d²) per point and component, also accumulates the gradient on the data `x` (which no one asked for: `f_grad` differentiates every array parameter) and recomputes x_i − μ_k, and computes the column-major index of l_k twice; the hand-written inner loop reads c and y from its arrays and walks the index by one.",
        "gmmObjective_grad",
        g,
        /const diff_2 = |dx\[xi \+ a\]|dicf\[lk \+|let ddiff_2 = icf/,
        6,
        true,
      ),
    ],
  );
}

function baReasons(rows, m) {
  return render(
    "BA",
    `Missed: ${rows.map((r) => (r.failed ? `${r.name}: wrong gradient` : `${r.name}: Jacobian / objective ${x2(r.gradOverObjective.median)}, tsgrad / hand-written ${x2(r.tsgradOverHand.median)}`)).join("; ")}. tsgrad's block is two reverse sweeps of the scalar residual, each with its own forward pass (rotation, projection, distortion), where the hand-written block runs the forward pass once and both rows' backward passes from it.`,
    [
      reason(
        "Two sweeps per observation, each a full forward and backward pass:",
        "baBlock (examples/adbench/ba.ts)",
        m.ba.baBlock,
        /for \(let coord|_grad\(/,
      ),
      reason(
        "Each sweep returns a new array of all 18 gradients (the feature and `coord` arguments' too), of which the block keeps 15: two arrays per observation, where the hand-written block writes its 30 numbers into the caller's buffer.",
        "baReprojectionError_grad",
        m.ba.baReprojectionError_grad,
        /^\s*return \[/,
      ),
    ],
  );
}

// ---------------------------------------------------------------------------------------------
// Factored code (examples/network/factored.ts, examples/adbench/gmm-factored.ts).

/** One top-level function of a compiled module's JavaScript, by name (its pullbacks are not exported). */
function functionSource(moduleSource, name) {
  const lines = moduleSource.split("\n");
  const first = lines.findIndex((l) => new RegExp(`^(export )?function ${name}\\(`).test(l));
  if (first < 0) return "";
  const last = lines.findIndex((l, i) => i > first && l === "}");
  return lines.slice(first, last + 1).join("\n");
}

const bytes = (b) => (Math.abs(b) < 1024 ? `${Math.round(b)} B` : `${(b / 1024).toFixed(1)} KiB`);

/**
 * Why the factored code misses a target, and where its bytes go: rows from report.mjs
 * factoredRows, alloc from factoredAllocation. Each reason is kept only if its lines are in this
 * run's generated code.
 */
export function factoredReasons(rows, alloc, m) {
  const out = [];
  const timed = rows.filter((r) => !r.failed);
  const net = timed.filter((r) => r.workload.id === "network-factored");
  const gmm = timed.filter((r) => r.workload.gmm);
  const netMissed = net.filter((r) => !r.met);
  const gmmMissed = gmm.filter((r) => !r.met);
  const wrong = rows.filter((r) => r.failed);
  if (!netMissed.length && !gmmMissed.length && !wrong.length && !alloc.list.length) return out;
  if (wrong.length)
    out.push(
      `${wrong.map((r) => r.name).join(", ")}: a correctness check failed (see Correctness), so it was not timed: a compiler bug, for the compiler's owners.`,
      "",
    );

  if (netMissed.length) {
    const F = m.networkFactored;
    const g = F.factoredLoss_grad_W1_b1_W2_b2;
    const layer = net.filter((r) => r.kind === "layer");
    const split = netMissed.filter((r) => r.kind === "factored");
    const list = (rs) =>
      rs.map((r) => `${r.name}: ${x2(r.overInline.median)} (forward ${x2(r.forwardOverInline.median)})`).join("; ");
    out.push(
      ...render(
        "Factored code: the network",
        `Missed: ${list(netMissed)}. ${
          split.length && layer.length && layer.every((r) => r.met)
            ? `The same loss with the per-layer helper \`denseRelu\` (the same helpers otherwise: the same ${net[0].workload.allocation?.[0]?.helperCalls ?? ""} pullback calls per gradient) is within the target: ${list(layer)}. So the pullback calls cost nothing measurable here; what costs is the code itself, as its forward pass, run as plain code, shows:`
            : "The generated code (`npx tsgrad print examples/network/factored.ts --fn factoredLoss`):"
        }`,
        [
          split.length
            ? reason(
                "`relu(dense(X, W1, b1, n))` makes the hidden layer in two arrays, `dense`'s and `relu`'s, and two passes over them, forward and back (inlined, each helper is the loop it stands for: `relu`'s forward loop and its backward loop below), where loopsLoss stores `Math.max(0, z)` as it computes each unit: an extra n × h pass each way, which the factored forward pass already pays as plain code.",
                "factoredLoss_grad_W1_b1_W2_b2",
                g,
                /const (d?)out_2 = scratch\.zeros|const max = Math\.max\(0, out_i_2\)|let dmax = dout_2|for \(let i_2 = /,
                7,
              )
            : null,
        ],
      ),
    );
  }

  if (gmmMissed.length) {
    const G = m.gmmFactored;
    const g = G.gmmFactored_grad;
    const source = m.compiledSource("gmmFactored");
    const pullback = functionSource(source, "pointLogLikelihood_pullback");
    const lse = functionSource(source, "logsumexp_pullback");
    const list = gmmMissed
      .map((r) => `${r.name}: factored / inline ${x2(r.overInline.median)} (forward ${x2(r.forwardOverInline.median)})`)
      .join("; ");
    // Values saved per point and component, counted from the generated loops (see reason 2).
    const ds = [...new Set(gmmMissed.map((r) => r.workload.gmm.d))].sort((a, b) => a - b);
    const counts = ds.map((d) => `${(d * (d - 1)) / 2 + 2 * d} against ${d + 5} at d = ${d}`).join(", ");
    // One evidence block of two functions' lines (each block ends with its closing fence).
    const joined = (a, b) => (a && b ? { ...a, evidence: [...a.evidence.slice(0, -1), ...b.evidence.slice(1)] } : null);
    const forwardOnce = !grep(g, /pointLogLikelihood\(/).length;
    out.push(
      ...render(
        "Factored code: GMM",
        `Missed: ${list}. The generated \`gmmFactored_grad\` (\`npx tsgrad print examples/adbench/gmm-factored.ts --fn gmmFactored\`; the pullbacks with \`--fn pointLogLikelihood\` and \`--fn logsumexp\`)${forwardOnce ? " does not call the helper in its forward loop (the objective's value is dead in a gradient): it saves each point's index, and its backward loop calls `pointLogLikelihood_pullback` on each point, which runs the helper's forward pass, saving what its backward pass reads, then its backward pass. Each point's forward work is done once, as in the inline gradient (`gmmObjective_grad`); what differs, in the generated code:" : ":"}`,
        [
          joined(
            reason(
              "Per point, the pullback zeroes its six arrays (`centered`, `qc`, `beta` and their gradients, kept in its `Workspace` from one call to the next) and calls `logsumexp_pullback` on the point's K values, which takes two frames of the saved-value stack, for its running maximum and its exponentials, and gives them back (`saved.frame`, `saved.release`): two pullback calls and four calls of the stack per point, where the inline gradient computes the log-sum-exp as it goes, in its loop over the components, and saves its running maximum and sum with the rest.",
              "pointLogLikelihood_pullback",
              pullback,
              /_arrays\.zeros\(|logsumexp_pullback\(/,
              7,
            ),
            reason("", "logsumexp_pullback", lse, /saved\.(frame|release)\(/, 4),
          ),
          reason(
            `The pullback saves every x_ia − μ_ka the product with Q_k reads (\`centered\` is rewritten for each component, so its reads are saved) and reads them back (\`const centered_a = saved.pop()\`), where the inline reverse loop recomputes x_ia − μ_ka from x and μ; and each \`qc[j]\`, once. That is d(d − 1)/2 + 2d values per point and component, where the inline gradient saves d + 5 (${counts}). Each is a \`saved.push\` going forward and a \`saved.pop\` going back, a method call of the runtime's stack (runtime/stack.ts) per value, in the inline gradient as well.`,
            "pointLogLikelihood_pullback",
            pullback,
            /saved\.push\(|= saved\.pop\(\)/,
            8,
          ),
        ],
      ),
    );
  }

  if (alloc.list.length) {
    const steps = alloc.steps.filter((a) => !a.wrong);
    const gInto = alloc.list.filter((a) => a.role === "gmm" && !a.wrong);
    const gInline = alloc.list.filter((a) => a.role === "inline" && a.points && !a.wrong);
    const at = (a) => a.name.split(":")[0].replace(/, inline$/, "");
    const perHelper = (a) => `${alloc.perHelper(a).toFixed(2)} B`;
    const nothing = (rows) => rows.every((a) => alloc.perHelper(a) < alloc.helperCallBytes);
    const G = m.gmmFactored;
    const pullback = functionSource(m.compiledSource("gmmFactored"), "pointLogLikelihood_pullback");
    const reasons = [];
    // The convention these explain is in the generated code only if its lines use `unboxed`.
    const through = (r, slot) => (r && r.evidence.some((l) => l.includes(slot)) ? r : null);
    if (steps.length)
      reasons.push(
        through(
          reason(
            `A factored network step allocates ${steps.map((a) => `${bytes(a.bytes)} (${a.role === "step" ? "factoredLoss" : "layerLoss"}: ${perHelper(a)} per pullback call)`).join(", ")}. Each call hands the pullback its output's gradient, a fractional number (\`dlogsumexp_2\` below), in slot 0 of the runtime's \`unboxed\` Float64Array (runtime/stack.ts), not as an argument: V8 passes a fractional number to a call it does not inline as a new 16-byte heap number (examples/network/params.ts's \`descend\` notes the same for the step size), which a helper called in a loop would allocate on every call.${nothing(steps) ? " No fractional number is passed to these calls, and they allocate nothing; nor does the inline code, which has no call in its loops." : ""}`,
            "factoredLoss_gradInto_W1_b1_W2_b2",
            m.networkFactored.factoredLoss_gradInto_W1_b1_W2_b2,
            /unboxed\[0\] = |_pullback\w*\(/,
            6,
          ),
          "unboxed[0] =",
        ),
      );
    if (gInto.length) {
      const caller = through(
        reason(
          `A factored GMM \`gradInto\` call allocates ${gInto.map((a) => `${bytes(a.bytes)} on ${at(a)} (${perHelper(a)} per helper call)`).join(", ")}. Its pullbacks take their seed the same way, and \`pointLogLikelihood_pullback\` writes the gradients of its number arguments (\`xi\`, \`d\`) into \`unboxed[1]\` and \`unboxed[2]\`, which the caller reads back, rather than returning them: a fractional number returned from a call V8 does not inline is boxed as an argument is, and an array of them is a new array on every call.${nothing(gInto) ? " So the pullback calls, two per point, allocate nothing." : ""}`,
          "gmmFactored_gradInto",
          G.gmmFactored_gradInto,
          /unboxed\[\d\]|_pullback\w*\(/,
          6,
          true,
        ),
        "unboxed[1]",
      );
      const callee = reason("", "pointLogLikelihood_pullback", pullback, /unboxed\[\d\]/, 4);
      // One block: the caller's lines, then the pullback's (each block ends with its closing fence).
      if (caller)
        reasons.push(
          callee ? { ...caller, evidence: [...caller.evidence.slice(0, -1), ...callee.evidence.slice(1)] } : caller,
        );
    }
    if (gInline.length)
      reasons.push(
        reason(
          `The inline \`gmmObjective_gradInto\` allocates ${gInline.map((a) => `${bytes(a.bytes)} per call (${bytes(a.bytes / a.points)} per point) on ${at(a)}`).join(", ")}. The temporaries its log-sum-exp branches assign, each in one branch only, are declared \`= 0\`: a number on every path, which V8 keeps unboxed. Declared without a value (\`let exp_diff_3;\`, as tsgrad did before), they were undefined until a branch assigned them, and V8 kept them as heap numbers, a new 16-byte one each time a branch assigned one.`,
          "gmmObjective_gradInto",
          m.gmm.gmmObjective_gradInto,
          /^\s*let \w+ = 0;\s*$/,
          5,
        ),
      );
    out.push(...render("Factored code: allocation", "Bytes per call (the table above):", reasons));
  }
  return out;
}
