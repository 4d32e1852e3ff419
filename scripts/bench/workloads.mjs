// The workloads of scripts/bench.mjs. Each one gives
//
//   setup()   → its inputs (read from files, made by seeded generators)
//   check()   → correctness checks run before any timing: [{ what, error, tolerance, entries }];
//               a check that fails keeps its `entries` (labels) from being timed, or, without
//               `entries`, the whole workload
//   entries() → what to time side by side: entry(label, fn, args) (see measure.mjs)
//   rows      → the lines of the results table, naming the entries that are the forward pass,
//               tsgrad's gradient, the hand-written gradient (and its own forward pass), central
//               finite differences and TensorFlow.js
//
// Errors are ADBench's measure |x − y| / max(1, |x| + |y|) unless said otherwise: a relative
// error for large values, an absolute one below 1.

import { join } from "node:path";
import { entry, median } from "./measure.mjs";
import { baBlocksTfjs, gmmTfjs, logisticTfjs, networkTfjs, neuronTfjs, stagedTfjs } from "./tfjs.mjs";

/** Largest ADBench error over two array-likes of one length. */
export function maxError(xs, ys) {
  if (xs.length !== ys.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < xs.length; i++) {
    const e = Math.abs(xs[i] - ys[i]) / Math.max(1, Math.abs(xs[i]) + Math.abs(ys[i]));
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
}

const flat = (arrays) => {
  const out = new Float64Array(arrays.reduce((s, a) => s + a.length, 0));
  let at = 0;
  for (const a of arrays) (out.set(a, at), (at += a.length));
  return out;
};

// Tolerances. tsgrad against hand-written code: the same arithmetic in another order.
// Finite differences (step 1e-6·max(1, |x|)): truncation and rounding of the differences.
// TensorFlow.js: float32 (about 7 digits), through sums of up to 10^4 terms.
// GMM's objective is a sum over n points (|E| up to 1e6), so its differences lose more to
// rounding (~1e-16·|E|/h): there the step is 1e-5·max(1, |x|) and the tolerance 1e-5 (measured:
// at most 3.4e-6 over 64 partials of every 1k and 10k instance; 7e-5 with a step of 1e-6).
const TOL = { exact: 1e-10, fd: 1e-6, fdGmm: 1e-5, tfjsScalar: 1e-5, tfjsArray: 1e-3, adbench: 1e-8 };
const GMM_FD_STEP = 1e-5;

// ---------------------------------------------------------------------------------------------
// Central finite differences.

/** fd(...args) → all partials of f over its `arity` number arguments; each call spelled out. */
function scalarFd(f, arity) {
  const names = Array.from({ length: arity }, (_, i) => `a${i}`);
  const lines = names.map((n, i) => {
    const at = (sign) => names.map((m, j) => (j === i ? `${m} ${sign} h` : m)).join(", ");
    return `h = 1e-6 * Math.max(1, Math.abs(${n})); out[${i}] = (f(${at("+")}) - f(${at("-")})) / (2 * h);`;
  });
  return new Function(
    "f",
    `return function fd(${names.join(", ")}) {
    const out = new Array(${arity});
    let h;
    ${lines.join("\n    ")}
    return out;
  };`,
  )(f);
}

/**
 * fd() → the partials of objective() (which reads `arrays`) at the given flat indices into the
 * arrays laid end to end (all of them when `indices` is undefined), by perturbing in place, with
 * steps step·max(1, |x|).
 */
function arraysFd(objective, arrays, indices, step = 1e-6) {
  const where = [];
  arrays.forEach((a, k) => {
    for (let j = 0; j < a.length; j++) where.push([k, j]);
  });
  const picked = indices ? indices.map((i) => where[i]) : where;
  const arrayOf = Int32Array.from(picked, ([k]) => k);
  const slotOf = Int32Array.from(picked, ([, j]) => j);
  return function fd() {
    const out = new Float64Array(picked.length);
    for (let p = 0; p < picked.length; p++) {
      const a = arrays[arrayOf[p]];
      const j = slotOf[p];
      const x = a[j];
      const h = step * Math.max(1, Math.abs(x));
      a[j] = x + h;
      const plus = objective();
      a[j] = x - h;
      const minus = objective();
      a[j] = x;
      out[p] = (plus - minus) / (2 * h);
    }
    return out;
  };
}

/** `count` indices spread evenly over 0..total-1 (all of them when count >= total). */
const spread = (total, count) =>
  count >= total ? undefined : Array.from({ length: count }, (_, j) => Math.floor(((j + 0.5) * total) / count));

/**
 * An ablation: the generated function `fn` rebuilt from its own source without the lines whose
 * code matches `drop` (e.g. the lines that accumulate the gradient on a data argument nobody
 * asked for), to measure what those lines cost. The names the source uses from its module (the
 * runtime's exports, and `extra`) are passed in. null when no line matches: nothing to ablate.
 */
export function withoutLines(fn, drop, runtime, extra = {}) {
  const lines = fn.toString().split("\n");
  const kept = lines.filter((l) => !drop.test(l.replace(/\/\/.*$/, "")));
  if (kept.length === lines.length) return null;
  const scope = { ...runtime, ...extra };
  return new Function(...Object.keys(scope), `return ${kept.join("\n")}`)(...Object.values(scope));
}

/**
 * Another ablation: the generated `fn` with each frame of the saved-value stack of constant size
 * (`const x_saved = saved.frame(1000)`, given back by `saved.release(x_saved)`) replaced by a
 * Float64Array allocated once, as a hand-written reverse loop keeps its tape. null if it has none.
 */
export function withOwnTapes(fn, runtime) {
  const tapes = {};
  let src = fn.toString();
  src = src.replace(/const (\w+) = saved\.frame\((\d+)\);/g, (_, name, n) => {
    tapes[`${name}_tape`] = new Float64Array(Number(n));
    return `const ${name} = ${name}_tape;`;
  });
  if (!Object.keys(tapes).length) return null;
  for (const name of Object.keys(tapes))
    src = src.replace(new RegExp(`\\s*saved\\.release\\(${name.replace(/_tape$/, "")}\\);`), "");
  const scope = { ...runtime, ...tapes };
  return new Function(...Object.keys(scope), `return ${src}`)(...Object.values(scope));
}

// ---------------------------------------------------------------------------------------------
// Scalar workloads: the seed's staged example, the sigmoid neuron, the logistic map.

function scalarWorkload({ id, title, f, grad, hand, args, tfjs, about, ablation }) {
  const fd = scalarFd(f, args.length);
  return {
    id,
    title,
    kind: "scalar",
    about,
    options: { rounds: 31, batchNs: 4e6, warmupNs: 3e8 },
    check() {
      const g = grad(...args);
      const h = hand(...args);
      const d = fd(...args);
      const t = tfjs();
      return [
        { what: "tsgrad vs hand-written", error: maxError(g, h), tolerance: TOL.exact },
        { what: "tsgrad vs central differences", error: maxError(g, d), tolerance: TOL.fd },
        {
          what: "TensorFlow.js (float32) vs tsgrad",
          error: maxError(t, g),
          tolerance: TOL.tfjsScalar,
          entries: ["tfjs"],
        },
        ...(ablation
          ? [
              {
                what: `ablation: tsgrad ${ablation.what} vs tsgrad`,
                error: maxError(ablation.fn(...args), g),
                tolerance: 0,
                entries: [ablation.label],
              },
            ]
          : []),
      ];
    },
    entries: () => [
      entry("forward", f, args),
      entry("tsgrad", grad, args),
      ...(ablation ? [entry(ablation.label, ablation.fn, args)] : []),
      entry("hand", hand, args),
      entry("FD", fd, args),
      entry("tfjs", tfjs),
    ],
    rows: [
      {
        name: title,
        forward: "forward",
        tsgrad: "tsgrad",
        hand: "hand",
        fd: "FD",
        tfjs: "tfjs",
        ablation: ablation?.label,
        ablationWhat: ablation?.what,
      },
    ],
  };
}

export function scalarWorkloads(m) {
  const ownTape = withOwnTapes(m.scalar.logistic_grad, m.runtime);
  return [
    scalarWorkload({
      id: "staged",
      title: "seed: staged f(x, y)",
      about: "examples/seed.ts `staged` at (3, −4); hand-written: the notes' backward pass (scripts/bench/scalar.ts)",
      f: m.seed.staged,
      grad: m.seed.staged_grad,
      hand: m.scalar.stagedHand,
      args: [3, -4],
      tfjs: stagedTfjs(3, -4),
    }),
    scalarWorkload({
      id: "neuron",
      title: "seed: sigmoid neuron",
      about: "examples/seed.ts `neuron` at w = (2, −3, −3), x = (−1, −2); gradient on all five",
      f: m.seed.neuron,
      grad: m.seed.neuron_grad,
      hand: m.scalar.neuronHand,
      args: [2, -3, -3, -1, -2],
      tfjs: neuronTfjs(2, -3, -3, -1, -2),
    }),
    scalarWorkload({
      id: "logistic",
      title: "logistic map, 1,000 steps",
      about:
        "x ← r x (1 − x) from x0, r = 2.8, x0 = 0.3 (scripts/bench/scalar.ts); hand-written: a reverse loop over a Float64Array allocated once",
      f: m.scalar.logistic,
      grad: m.scalar.logistic_grad,
      hand: m.scalar.logisticHand,
      args: [2.8, 0.3],
      tfjs: logisticTfjs(2.8, 0.3, m.scalar.STEPS),
      ablation: ownTape && {
        label: "tsgrad, own tape",
        fn: ownTape,
        what: "with its tape in a Float64Array allocated once (not `saved.frame`)",
      },
    }),
  ];
}

// ---------------------------------------------------------------------------------------------
// A recursive function: examples/recursion.ts `powRec`, x^n by n nested calls.

export const RECURSION_DEPTH = 4000;

/**
 * powRec's gradient by hand, recursive as powRec is, allocating nothing but its result: the output
 * gradient goes down with the recursion (the level below gets dout · ∂(x · below)/∂below =
 * x · dout, known before its value is), and each level adds its ∂/∂x on the way back up.
 */
export function powRecHand(x, n) {
  handGradX = 0;
  powRecVjp(x, n, 1);
  return [handGradX, 0];
}
let handGradX = 0;

/** powRec(x, n), adding dout · ∂powRec(x, n)/∂x into handGradX. */
function powRecVjp(x, n, dout) {
  if (n <= 0) return 1;
  const below = powRecVjp(x, n - 1, x * dout);
  handGradX += below * dout;
  return x * below;
}

export function recursionWorkload(m) {
  const { powRec, powRec_grad } = m.recursion;
  const n = RECURSION_DEPTH;
  const args = [1.0001, n];
  const fd = scalarFd(powRec, 2);
  const title = `recursive x^n, depth ${n.toLocaleString("en-US")}`;
  // 4,000 levels: within Node's default stack for every pass even before V8 compiles it (the
  // gradient's backward pass reaches about 5,900 then), so no warm-up order or deoptimization
  // caused by other workloads in the same process can overflow it.
  return {
    id: "recursion",
    title,
    kind: "recursion",
    about: `examples/recursion.ts \`powRec\` (\`x * powRec(x, n - 1)\` down to n = 0) at x = 1.0001, n = ${n}: tsgrad's \`powRec_grad\` runs powRec_forward down the recursion, each level keeping its cache (with the cache of the level below in it), then powRec_backward back up; hand-written: one recursion passing the output's gradient down and adding each level's ∂/∂x on the way back (\`powRecHand\` in scripts/bench/workloads.mjs, nothing allocated per level). No TensorFlow.js: it would record ${n} scalar operations per call`,
    options: { rounds: 31, batchNs: 2e7, warmupNs: 5e8 },
    check() {
      const g = powRec_grad(...args);
      return [
        { what: "tsgrad vs n x^(n−1)", error: maxError(g, [n * args[0] ** (n - 1), 0]), tolerance: TOL.exact },
        { what: "tsgrad vs hand-written", error: maxError(g, powRecHand(...args)), tolerance: TOL.exact },
        // On x alone: powRec jumps at whole n (n ± h runs one level more or less). At x^4000 the
        // differences' truncation error, h²/6 · f'''/f', is about 1e-5 of the slope.
        { what: "tsgrad vs central differences (on x)", error: maxError([g[0]], [fd(...args)[0]]), tolerance: 1e-4 },
      ];
    },
    entries: () => [
      entry("forward", powRec, args),
      entry("tsgrad", powRec_grad, args),
      entry("hand", powRecHand, args),
      entry("FD", fd, args),
    ],
    rows: [{ name: title, forward: "forward", tsgrad: "tsgrad", hand: "hand", fd: "FD" }],
  };
}

// ---------------------------------------------------------------------------------------------
// The two-layer network on the spiral (examples/network.ts, network/loops.ts, network/hand.ts).

export function networkWorkload(m, matrix) {
  const { spiral, params: P, network, networkLoops: L, networkHand: H } = m;
  const { X, y } = spiral.spiral({ seed: 0 });
  // Parameters halfway through training (some ReLUs on, some off), not the tiny initial ones.
  const params = P.initParams(P.SPIRAL_NET, 1);
  H.train(params, X, y, { steps: 300, stepSize: 1 });
  const { d, h, k } = P.SPIRAL_NET;
  const { W1, b1, W2, b2 } = params;
  const reg = P.REG;
  const net = {
    W1: matrix(d, h, W1.slice()),
    b1: matrix(1, h, b1.slice()),
    W2: matrix(h, k, W2.slice()),
    b2: matrix(1, k, b2.slice()),
  };
  const matArgs = [net, matrix(y.length, d, X.slice()), y];
  const loopArgs = [W1, b1, W2, b2, X, y, reg];
  const work = H.makeWorkspace(y.length, P.SPIRAL_NET);
  const grads = P.zeroParams(P.SPIRAL_NET);
  const handArgs = [params, X, y, grads, work, reg];
  const loss = () => L.loopsLoss(W1, b1, W2, b2, X, y, reg);
  const fd = arraysFd(loss, [W1, b1, W2, b2]);
  // Timed on 100 of the partials (each costs the same two calls), × P / 100.
  const count = W1.length + b1.length + W2.length + b2.length;
  const fdTimed = arraysFd(loss, [W1, b1, W2, b2], spread(count, 100));
  const tfjs = networkTfjs(params, X, y, reg);
  // The gradients a training step asks for, `grad(f, { wrt })` compiled to the weights' alone
  // (networkLoss_grad_net, loopsLoss_grad_W1_b1_W2_b2), as the hand-written backprop computes; and
  // their gradInto twins, into the buffers of an earlier result.
  const matGrad = network.networkLoss_grad_net;
  const loopGrad = L.loopsLoss_grad_W1_b1_W2_b2;
  const matInto = network.networkLoss_gradInto_net;
  const loopInto = L.loopsLoss_gradInto_W1_b1_W2_b2;
  const matIntoArgs = [matGrad(...matArgs), ...matArgs];
  const loopIntoArgs = [loopGrad(...loopArgs), ...loopArgs];
  const matWeights = (g) => flat([g[0].W1.data, g[0].b1.data, g[0].W2.data, g[0].b2.data]);

  const handGradient = () => (H.lossAndGradHand(...handArgs), flat([grads.W1, grads.b1, grads.W2, grads.b2]));
  // Ablations: the gradient of every parameter, the data X included (`grad(f)`).
  const rows = [
    {
      name: "network, matrix ops: `grad(networkLoss, { wrt: [0] })`",
      forward: "matrix forward",
      tsgrad: "matrix tsgrad",
      hand: "hand",
      handForward: "hand forward",
      fd: "FD",
      tfjs: "tfjs",
      ablation: "matrix tsgrad, all",
      ablationWhat: "`grad(networkLoss)`, with the gradient on X",
    },
    {
      name: "network, matrix ops: `gradInto`",
      forward: "matrix forward",
      tsgrad: "matrix tsgrad into",
      hand: "hand",
      handForward: "hand forward",
      fd: "FD",
      tfjs: "tfjs",
    },
    {
      name: "network, loops: `grad(loopsLoss, { wrt: [0, 1, 2, 3] })`",
      forward: "loops forward",
      tsgrad: "loops tsgrad",
      hand: "hand",
      handForward: "hand forward",
      fd: "FD",
      tfjs: "tfjs",
      ablation: "loops tsgrad, all",
      ablationWhat: "`grad(loopsLoss)`, with the gradients on X and reg",
    },
    {
      name: "network, loops: `gradInto`",
      forward: "loops forward",
      tsgrad: "loops tsgrad into",
      hand: "hand",
      handForward: "hand forward",
      fd: "FD",
      tfjs: "tfjs",
    },
  ];
  return {
    id: "network",
    title: "two-layer network (spiral)",
    kind: "array",
    about: `examples/network.ts (matrix ops) and examples/network/loops.ts (loops over Float64Array), D = ${d}, H = ${h}, K = ${k}, N = ${y.length}, ${W1.length + b1.length + W2.length + b2.length} parameters, after 300 training steps; hand-written: examples/network/hand.ts lossAndGradHand (workspace and gradient buffers allocated once); finite differences (of \`loopsLoss\`; timed on 100 of the partials, × ${(count / 100).toFixed(2)}) and TensorFlow.js on W1, b1, W2, b2`,
    options: { rounds: 31, batchNs: 2e7, warmupNs: 5e8 },
    check() {
      const hand = handGradient();
      const checks = [
        { what: "hand-written vs central differences (all partials)", error: maxError(fd(), hand), tolerance: TOL.fd },
        {
          what: "tsgrad `grad` wrt the weights (matrix ops) vs hand-written",
          error: maxError(matWeights(matGrad(...matArgs)), hand),
          tolerance: TOL.exact,
          entries: ["matrix tsgrad"],
        },
        {
          what: "tsgrad `grad` wrt the weights (loops) vs hand-written",
          error: maxError(flat(loopGrad(...loopArgs)), hand),
          tolerance: TOL.exact,
          entries: ["loops tsgrad"],
        },
        {
          what: "tsgrad `gradInto` (matrix ops) vs hand-written",
          error: maxError(matWeights(matInto(...matIntoArgs)), hand),
          tolerance: TOL.exact,
          entries: ["matrix tsgrad into"],
        },
        {
          what: "tsgrad `gradInto` (loops) vs hand-written",
          error: maxError(flat(loopInto(...loopIntoArgs)), hand),
          tolerance: TOL.exact,
          entries: ["loops tsgrad into"],
        },
        {
          what: "tsgrad `grad` of every parameter (matrix ops) vs hand-written",
          error: maxError(matWeights(network.networkLoss_grad(...matArgs)), hand),
          tolerance: TOL.exact,
          entries: ["matrix tsgrad, all"],
        },
        {
          what: "tsgrad `grad` of every parameter (loops) vs hand-written",
          error: maxError(flat(L.loopsLoss_grad(...loopArgs).slice(0, 4)), hand),
          tolerance: TOL.exact,
          entries: ["loops tsgrad, all"],
        },
        {
          what: "TensorFlow.js (float32) vs hand-written",
          error: maxError(flat(tfjs()), hand),
          tolerance: TOL.tfjsArray,
          entries: ["tfjs"],
        },
      ];
      return checks;
    },
    entries: () => [
      entry("matrix forward", network.networkLoss, matArgs),
      entry("matrix tsgrad", matGrad, matArgs),
      entry("matrix tsgrad, all", network.networkLoss_grad, matArgs),
      entry("matrix tsgrad into", matInto, matIntoArgs),
      entry("loops forward", L.loopsLoss, loopArgs),
      entry("loops tsgrad", loopGrad, loopArgs),
      entry("loops tsgrad, all", L.loopsLoss_grad, loopArgs),
      entry("loops tsgrad into", loopInto, loopIntoArgs),
      entry("hand forward", H.lossHand, [params, X, y, work, reg]),
      entry("hand", H.lossAndGradHand, handArgs),
      entry("FD", fdTimed, [], { scale: count / 100 }),
      entry("tfjs", tfjs),
    ],
    rows,
    /** Functions whose bytes allocated per call (one training step's gradient) are reported. */
    allocation: [
      { name: "tsgrad, matrix ops: `networkLoss_grad_net`", entry: "matrix tsgrad", fn: matGrad, args: matArgs },
      {
        name: "tsgrad, matrix ops: `networkLoss_gradInto_net`",
        entry: "matrix tsgrad into",
        fn: matInto,
        args: matIntoArgs,
      },
      { name: "tsgrad, loops: `loopsLoss_grad_W1_b1_W2_b2`", entry: "loops tsgrad", fn: loopGrad, args: loopArgs },
      {
        name: "tsgrad, loops: `loopsLoss_gradInto_W1_b1_W2_b2`",
        entry: "loops tsgrad into",
        fn: loopInto,
        args: loopIntoArgs,
      },
      { name: "hand-written: `lossAndGradHand`", entry: "hand", fn: H.lossAndGradHand, args: handArgs },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// ADBench GMM (examples/adbench/gmm.ts, gmm-hand.ts) on one instance.

/** The id of a GMM instance's workload: "1k/gmm_d2_K5" → "gmm-1k-d2-K5". */
export function gmmId(name) {
  const [size, file] = name.split("/");
  const [, d, K] = /gmm_d(\d+)_K(\d+)/.exec(file);
  return `gmm-${size}-d${d}-K${K}`;
}

/**
 * `name` like "1k/gmm_d2_K5". Big instances (2.5M) are timed in few rounds, their finite
 * differences estimated from the objective's time, and TensorFlow.js timed on one chunk of
 * 100,000 points of the 25 (all chunks are the same work: the one stored point, replicated).
 */
export function gmmWorkload(m, data, name, { quick = false } = {}) {
  const { io, gmm, gmmHand } = m;
  const big = name.startsWith("2.5M");
  let state;
  const setup = () => {
    if (state) return state;
    const g = io.readGmm(join(data, "gmm", `${name}.txt`));
    const ref = io.readGmmReference(join(data, "reference", "gmm", name));
    const args = [g.alphas, g.means, g.icf, g.x, g.d, g.K, g.n, g.wishartGamma, g.wishartM];
    const ws = gmmHand.makeGmmWorkspace(g.d, g.K);
    const out = new Float64Array(ref.gradient.length);
    const P = out.length;
    // Finite differences on `count` partials, extrapolated to all P (each partial is two calls
    // of the objective): about 3·10^7 multiply-adds of objective per timed call (1·10^7 in
    // --quick), counted as n·K·(d(d+1)/2 + d) per objective call; the same in every process.
    let fdCount = 0;
    let fdIndices;
    if (!big) {
      const work = g.n * g.K * ((g.d * (g.d + 1)) / 2 + g.d);
      fdCount = Math.min(P, Math.max(2, Math.floor((quick ? 1e7 : 3e7) / (2 * work))));
      fdIndices = spread(P, fdCount);
    }
    const objective = () => gmm.gmmObjective(...args);
    const fd = big ? null : arraysFd(objective, [g.alphas, g.means, g.icf], fdIndices, GMM_FD_STEP);
    // The check: the same 64 partials (all of them for up to 64 parameters) whatever the timing.
    const checkIndices = spread(P, 64) ?? Array.from({ length: P }, (_, i) => i);
    const fdCheck = big ? null : arraysFd(objective, [g.alphas, g.means, g.icf], checkIndices, GMM_FD_STEP);
    const chunk = 100_000;
    const chunks = Math.ceil(g.n / chunk);
    // Ablation (10k instances): tsgrad's code without the lines that accumulate ∂E/∂x.
    const noData = size === "10k" ? withoutLines(gmm.gmmObjective_grad, /^\s*dx\[/, m.runtime) : null;
    const tfjs = gmmTfjs(g, chunk, big ? 1 : chunks);
    state = { g, ref, args, ws, out, P, fd, fdCount, fdIndices, fdCheck, checkIndices, tfjs, chunks, noData };
    return state;
  };
  const [size, file] = name.split("/");
  const [, d, K] = /gmm_d(\d+)_K(\d+)/.exec(file);
  const rounds = big ? (quick ? 1 : 3) : Number(d) >= 64 ? 7 : 11;
  return {
    id: gmmId(name),
    processes: big ? 1 : undefined,
    title: `GMM ${size} d=${d} K=${K}`,
    kind: "array",
    gmm: { n: size, d: Number(d), K: Number(K) },
    big,
    options: big ? { rounds, batchNs: 0, warmupNs: 0, warmupCalls: 1 } : { rounds, batchNs: 2e7, warmupNs: 5e8 },
    get about() {
      const s = setup();
      const fdHow = big
        ? `estimated as 2 × ${s.P} parameters × the objective's time (not run)`
        : s.fdCount >= s.P
          ? `all ${s.P} partials`
          : `${s.fdCount} of ${s.P} partials timed, × ${(s.P / s.fdCount).toFixed(1)}`;
      const tfjsHow = big
        ? `one of ${s.chunks} identical chunks of 100,000 points timed, × ${s.chunks}`
        : `${s.chunks === 1 ? "all points in one batch" : `${s.chunks} chunks`}`;
      return `data/adbench/gmm/${name}.txt: n = ${s.g.n.toLocaleString("en-US")}${big ? " (one point stored, replicated)" : ""}, ${s.P} parameters. Finite differences: ${fdHow}. TensorFlow.js: ${tfjsHow}.`;
    },
    setup,
    check() {
      const s = setup();
      const { g, ref, args, ws, out } = s;
      const runtime = m.runtime;
      const before = runtime.saved.size;
      const tsgrad = gmm.gmmGradient(g);
      const balanced = runtime.saved.size === before;
      gmmHand.gmmGradientHand(...args, ws, out);
      const checks = [
        { what: "objective vs reference", error: maxError([gmm.gmmValue(g)], [ref.objective]), tolerance: TOL.adbench },
        {
          what: "hand-written objective vs reference",
          error: maxError([gmmHand.gmmObjectiveHand(...args, ws)], [ref.objective]),
          tolerance: TOL.adbench,
        },
        { what: "tsgrad vs reference gradient", error: maxError(tsgrad, ref.gradient), tolerance: TOL.adbench },
        { what: "hand-written vs reference gradient", error: maxError(out, ref.gradient), tolerance: TOL.adbench },
        { what: "tsgrad vs hand-written", error: maxError(tsgrad, out), tolerance: big ? 1e-9 : TOL.exact },
        { what: "tsgrad leaves the saved-value stack as it found it", error: balanced ? 0 : Infinity, tolerance: 0 },
      ];
      if (s.fdCheck) {
        checks.push({
          what: `tsgrad vs central differences (${s.checkIndices.length} of ${s.P} partials, step 1e-5)`,
          error: maxError(
            s.fdCheck(),
            s.checkIndices.map((i) => tsgrad[i]),
          ),
          tolerance: TOL.fdGmm,
        });
      }
      if (s.noData) {
        const [a, b, c] = s.noData(...args);
        checks.push({
          what: "ablation: tsgrad without its dx lines vs tsgrad",
          error: maxError(flat([a, b, c]), tsgrad),
          tolerance: 0,
          entries: ["tsgrad, no dx"],
        });
      }
      // Big: the timed one-chunk gradient, its data term × the number of chunks (they are equal).
      checks.push({
        what: big ? `TensorFlow.js (float32, one chunk × ${s.chunks}) vs tsgrad` : "TensorFlow.js (float32) vs tsgrad",
        error: maxError(s.tfjs(big ? s.chunks : 1), tsgrad),
        tolerance: TOL.tfjsArray,
        entries: ["tfjs"],
      });
      return checks;
    },
    entries() {
      const s = setup();
      return [
        entry("forward", gmm.gmmObjective, s.args),
        entry("tsgrad", gmm.gmmObjective_grad, s.args),
        ...(s.noData ? [entry("tsgrad, no dx", s.noData, s.args)] : []),
        entry("hand forward", gmmHand.gmmObjectiveHand, [...s.args, s.ws]),
        entry("hand", gmmHand.gmmGradientHand, [...s.args, s.ws, s.out]),
        ...(s.fd ? [entry("FD", s.fd, [], { scale: s.P / s.fdCount })] : []),
        entry("tfjs", s.tfjs, [big ? s.chunks : 1], { scale: big ? s.chunks : 1 }),
      ];
    },
    /** 2.5M: finite differences are not run; their time is 2P objective calls. */
    estimateFd: big ? (forwardNs) => 2 * setup().P * forwardNs : null,
    rows: [
      {
        name: `GMM ${size} d=${d} K=${K}`,
        forward: "forward",
        tsgrad: "tsgrad",
        hand: "hand",
        handForward: "hand forward",
        fd: "FD",
        tfjs: "tfjs",
        ablation: size === "10k" ? "tsgrad, no dx" : undefined,
        ablationWhat: "without its lines for the gradient on x",
      },
    ],
    release() {
      state = undefined;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// ADBench BA (examples/adbench/ba.ts, ba-hand.ts): the sparse Jacobian of ba1.

/**
 * jacobian() → the BA Jacobian in ADBench's CSR layout (rows 2i, 2i + 1: observation i's 2 × 15
 * block in its camera, point and weight columns; row 2p + i: ∂(1 − w_i²)/∂w_i), filled into
 * arrays allocated once, as ADBench's C++ modules refill theirs. block(ba, i, out) gives the 30
 * numbers of observation i, weight(ba, i) the last row's one. Each call of this factory compiles
 * its own loop (new Function), so each entry's calls of its block function stay monomorphic.
 *
 * Not examples/adbench/ba.ts's baJacobian: that one allocates its 12 MB of CSR arrays on every
 * call, and V8 deoptimized it again and again here (its second loop destructures an array), so
 * that it took several times the blocks it assembles, for all four gradients alike.
 */
function csrJacobian(ba, block, weight) {
  const { n, m, p } = ba;
  const J = {
    nrows: 3 * p,
    ncols: 11 * n + 3 * m + p,
    rows: new Int32Array(3 * p + 1),
    cols: new Int32Array(31 * p),
    vals: new Float64Array(31 * p),
  };
  const fill = new Function(
    "ba",
    "J",
    "block",
    "weight",
    `
    const buffer = new Float64Array(30);
    return function jacobian() {
      const { rows, cols, vals } = J;
      const p = ba.p;
      const pointColumns = 11 * ba.n;
      const weightColumns = pointColumns + 3 * ba.m;
      let nz = 0;
      for (let i = 0; i < p; i++) {
        block(ba, i, buffer);
        const camColumn = 11 * ba.camIndex[i];
        const pointColumn = pointColumns + 3 * ba.pointIndex[i];
        for (let r = 0; r < 2; r++) {
          const b = 15 * r;
          for (let j = 0; j < 11; j++) {
            cols[nz] = camColumn + j;
            vals[nz++] = buffer[b + j];
          }
          for (let j = 0; j < 3; j++) {
            cols[nz] = pointColumn + j;
            vals[nz++] = buffer[b + 11 + j];
          }
          cols[nz] = weightColumns + i;
          vals[nz++] = buffer[b + 14];
          rows[2 * i + r + 1] = nz;
        }
      }
      for (let i = 0; i < p; i++) {
        cols[nz] = weightColumns + i;
        vals[nz++] = weight(ba, i);
        rows[2 * p + i + 1] = nz;
      }
      return J;
    };`,
  );
  return fill(ba, J, block, weight);
}

export function baWorkload(m, data) {
  const { io, ba, baHand } = m;
  const input = io.readBa(join(data, "ba", "ba1_n49_m7776_p31843.txt"));
  const ref = io.readBaReference(join(data, "reference", "ba", "ba_block_Manual.txt"));
  const { p } = input;
  const residuals = new Float64Array(3 * p);
  const f = ba.baReprojectionError;
  // The block by central differences: 15 inputs × 2 evaluations × 2 rows per observation.
  const fdBlock = new Function(
    "f",
    "cams",
    "points",
    `
    return function fdBlock(ba, i, block) {
      const c = 11 * ba.camIndex[i];
      const t = 3 * ba.pointIndex[i];
      ${Array.from({ length: 11 }, (_, j) => `const a${j} = cams[c + ${j}];`).join(" ")}
      const a11 = points[t], a12 = points[t + 1], a13 = points[t + 2], a14 = ba.weights[i];
      const fx = ba.features[2 * i], fy = ba.features[2 * i + 1];
      let h;
      for (let coord = 0; coord < 2; coord++) {
        ${Array.from({ length: 15 }, (_, j) => {
          const at = (sign) => Array.from({ length: 15 }, (_, q) => (q === j ? `a${q} ${sign} h` : `a${q}`)).join(", ");
          return `h = 1e-6 * Math.max(1, Math.abs(a${j})); block[15 * coord + ${j}] = (f(${at("+")}, fx, fy, coord) - f(${at("-")}, fx, fy, coord)) / (2 * h);`;
        }).join("\n        ")}
      }
      return block;
    };`,
  )(f, input.cams, input.points);
  const fdWeight = (b, i) => {
    const w = b.weights[i];
    const h = 1e-6 * Math.max(1, Math.abs(w));
    return (ba.baWeightError(w + h) - ba.baWeightError(w - h)) / (2 * h);
  };
  const blocksTfjs = baBlocksTfjs(input);
  let tfjsBlocks;
  const tfjsBlock = (_, i, block) => {
    const [bx, by] = tfjsBlocks;
    for (let j = 0; j < 15; j++) {
      block[j] = bx[j * p + i];
      block[15 + j] = by[j * p + i];
    }
    return block;
  };
  const tfjsFill = csrJacobian(input, tfjsBlock, (b, i) => tfjsBlocks[2][i]);
  const jacobians = {
    tsgrad: csrJacobian(input, ba.baBlock, (b, i) => ba.baWeightError_grad(b.weights[i])[0]),
    hand: csrJacobian(input, baHand.baBlockHand, (b, i) => -2 * b.weights[i]),
    fd: csrJacobian(input, fdBlock, fdWeight),
    tfjs: () => {
      tfjsBlocks = blocksTfjs();
      return tfjsFill();
    },
  };
  const vals = (J) => J.vals.slice();
  return {
    id: "ba1",
    title: "BA ba1 Jacobian",
    kind: "array",
    about: `data/adbench/ba/ba1_n49_m7776_p31843.txt: ${input.n} cameras, ${input.m.toLocaleString("en-US")} points, ${p.toLocaleString("en-US")} observations; the Jacobian (${(3 * p).toLocaleString("en-US")} × ${(11 * input.n + 3 * input.m + p).toLocaleString("en-US")}, ${(31 * p).toLocaleString("en-US")} nonzeros, ADBench's CSR layout) against the residual vector. tsgrad: \`baBlock\` (examples/adbench/ba.ts), two reverse sweeps of \`baReprojectionError\` per observation; hand-written: \`baBlockHand\` (ba-hand.ts), one forward pass and both rows by hand; finite differences: each observation's 2 × 15 block from 60 residual evaluations; TensorFlow.js: the blocks of all observations from two vectorized sweeps (and a third for the weight rows). All four fill CSR arrays allocated once with the same loop (scripts/bench/workloads.mjs \`csrJacobian\`, not ba.ts's \`baJacobian\`, which allocates 12 MB per call and was repeatedly deoptimized by V8 here). Objective: the residual vector, \`baResidualsHand\`; tsgrad's forward, \`baResiduals\`, evaluates each coordinate by its own call of the 18-argument \`baReprojectionError\`.`,
    options: { rounds: 21, batchNs: 5e7, warmupNs: 1e9 },
    check() {
      const J = vals(jacobians.tsgrad());
      const expected = new Float64Array(31 * p);
      for (let i = 0; i < p; i++) {
        for (let r = 0; r < 2; r++) expected.set(ref.block[r], 30 * i + 15 * r);
        expected[30 * p + i] = ref.weightErrorGrad;
      }
      const expectedResiduals = new Float64Array(3 * p);
      for (let i = 0; i < p; i++)
        (expectedResiduals.set(ref.residual, 2 * i), (expectedResiduals[2 * p + i] = ref.weightError));
      return [
        {
          what: "residuals vs reference",
          error: maxError(ba.baResiduals(input, residuals), expectedResiduals),
          tolerance: TOL.adbench,
        },
        {
          what: "hand-written residuals vs reference",
          error: maxError(baHand.baResidualsHand(input, residuals), expectedResiduals),
          tolerance: TOL.adbench,
        },
        { what: "tsgrad Jacobian vs reference", error: maxError(J, expected), tolerance: TOL.adbench },
        {
          what: "tsgrad Jacobian vs examples/adbench/ba.ts baJacobian (layout)",
          error:
            maxError(jacobians.tsgrad().cols, ba.baJacobian(input).cols) +
            maxError(jacobians.tsgrad().rows, ba.baJacobian(input).rows),
          tolerance: 0,
        },
        { what: "hand-written Jacobian vs tsgrad", error: maxError(vals(jacobians.hand()), J), tolerance: TOL.exact },
        {
          what: "tsgrad vs central differences (every block)",
          error: maxError(vals(jacobians.fd()), J),
          tolerance: TOL.fd,
        },
        {
          what: "TensorFlow.js (float32) vs tsgrad",
          error: maxError(vals(jacobians.tfjs()), J),
          tolerance: TOL.tfjsArray,
          entries: ["tfjs"],
        },
      ];
    },
    entries: () => [
      entry("forward", ba.baResiduals, [input, residuals]),
      entry("tsgrad", jacobians.tsgrad),
      entry("hand forward", baHand.baResidualsHand, [input, residuals]),
      entry("hand", jacobians.hand),
      entry("FD", jacobians.fd),
      entry("tfjs", jacobians.tfjs),
    ],
    rows: [
      {
        name: "BA ba1 Jacobian",
        forward: "forward",
        tsgrad: "tsgrad",
        hand: "hand",
        handForward: "hand forward",
        fd: "FD",
        tfjs: "tfjs",
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Factored code: the two-layer network and the GMM objective written with small helpers
// (examples/network/factored.ts, examples/adbench/gmm-factored.ts), timed side by side with the
// inline versions they compute the same function as (network/loops.ts, adbench/gmm.ts).

/** The GMM instances the factored objective is timed on (beside gmm.ts's gmmObjective). */
export const FACTORED_GMM_INSTANCES = ["1k/gmm_d2_K5", "1k/gmm_d10_K5", "10k/gmm_d2_K5", "10k/gmm_d10_K5"];

/** The runtime's stacks, to check that a gradient leaves them as it found them. */
const stackSizes = (runtime) => [runtime.saved.size, runtime.scratch.size];
const sameStacks = (a, b) => a.every((v, i) => v === b[i]);

export function networkFactoredWorkload(m) {
  const { spiral, params: P, networkLoops: L, networkFactored: F, networkHand: H } = m;
  const { X, y } = spiral.spiral({ seed: 0 });
  // The parameters of the network workload: halfway through training.
  const params = P.initParams(P.SPIRAL_NET, 1);
  H.train(params, X, y, { steps: 300, stepSize: 1 });
  const { W1, b1, W2, b2 } = params;
  const args = [W1, b1, W2, b2, X, y, P.REG];
  const n = y.length;
  // Three versions of one function: inline (loopsLoss), factored (relu(dense(...))), layer
  // (denseRelu): their forward pass, `grad` wrt the weights, and `gradInto` into an earlier result.
  const versions = {
    inline: {
      f: L.loopsLoss,
      name: "loopsLoss",
      grad: L.loopsLoss_grad_W1_b1_W2_b2,
      into: L.loopsLoss_gradInto_W1_b1_W2_b2,
      all: L.loopsLoss_grad,
    },
    factored: {
      f: F.factoredLoss,
      name: "factoredLoss",
      grad: F.factoredLoss_grad_W1_b1_W2_b2,
      into: F.factoredLoss_gradInto_W1_b1_W2_b2,
      all: F.factoredLoss_grad,
    },
    layer: {
      f: F.layerLoss,
      name: "layerLoss",
      grad: F.layerLoss_grad_W1_b1_W2_b2,
      into: F.layerLoss_gradInto_W1_b1_W2_b2,
      all: F.layerLoss_grad,
    },
  };
  for (const v of Object.values(versions)) v.intoArgs = [v.grad(...args), ...args];
  const work = H.makeWorkspace(y.length, P.SPIRAL_NET);
  const grads = P.zeroParams(P.SPIRAL_NET);
  // All of a gradient's numbers, `undefined` (the labels') left out.
  const numbers = (g) => flat(g.filter((v) => v !== undefined).map((v) => (typeof v === "number" ? [v] : v)));
  const helpers = `${n} \`logsumexp\`, 2 \`dot\``;
  const kinds = [
    ["factored", "`relu(dense(X, W1, b1, n))`"],
    ["layer", "per-layer helper `denseRelu(X, W1, b1, n)`"],
  ];
  return {
    id: "network-factored",
    title: "two-layer network, factored",
    kind: "factored",
    about: `examples/network/factored.ts \`factoredLoss\` and \`layerLoss\` against examples/network/loops.ts \`loopsLoss\` (the same function; the parameters of the network workload): \`dense\`, \`relu\` and \`denseRelu\` (unmarked, returning a new array: inlined), \`logsumexp\` of each row's scores (\`@differentiable\`: ${n} pullback calls per gradient) and \`dot(W, W)\` for the L2 term (\`@differentiable\`: two pullback calls). \`factoredLoss\` computes the hidden layer as \`relu(dense(X, W1, b1, n))\`, a second array and pass for the ReLU; \`layerLoss\` as \`denseRelu(X, W1, b1, n)\`, the ReLU applied as each unit is computed (loopsLoss's one pass)`,
    options: { rounds: 31, batchNs: 2e7, warmupNs: 5e8 },
    check() {
      H.lossAndGradHand(params, X, y, grads, work, P.REG);
      const hand = flat([grads.W1, grads.b1, grads.W2, grads.b2]);
      const { inline } = versions;
      const expected = flat(inline.grad(...args));
      const checks = [];
      for (const [kind] of kinds) {
        const v = versions[kind];
        const before = stackSizes(m.runtime);
        const g = v.grad(...args);
        v.into(...v.intoArgs);
        const balanced = sameStacks(before, stackSizes(m.runtime));
        checks.push(
          {
            what: `\`${v.name}\` value vs inline (\`loopsLoss\`)`,
            error: maxError([v.f(...args)], [inline.f(...args)]),
            tolerance: TOL.exact,
          },
          {
            what: `\`${v.name}\` \`grad\` wrt the weights vs inline`,
            error: maxError(flat(g), expected),
            tolerance: TOL.exact,
            entries: [`${kind} tsgrad`],
          },
          {
            what: `\`${v.name}\` \`gradInto\` vs inline`,
            error: maxError(flat(v.intoArgs[0]), expected),
            tolerance: TOL.exact,
            entries: [`${kind} tsgrad into`],
          },
          {
            what: `\`${v.name}\` \`grad\` of every parameter (X and reg too) vs inline`,
            error: maxError(numbers(v.all(...args)), numbers(inline.all(...args))),
            tolerance: TOL.exact,
          },
          {
            what: `\`${v.name}\` \`grad\` wrt the weights vs hand-written`,
            error: maxError(flat(g), hand),
            tolerance: TOL.exact,
          },
          {
            what: `\`${v.name}\` gradients leave the saved-value and scratch stacks as they found them`,
            error: balanced ? 0 : Infinity,
            tolerance: 0,
          },
        );
      }
      return checks;
    },
    entries: () =>
      Object.entries(versions).flatMap(([kind, v]) => [
        entry(`${kind} forward`, v.f, args),
        entry(`${kind} tsgrad`, v.grad, args),
        entry(`${kind} tsgrad into`, v.into, v.intoArgs),
      ]),
    rows: [],
    factored: kinds.flatMap(([kind, how]) => [
      {
        name: `network, ${how}: \`grad(f, { wrt: [0, 1, 2, 3] })\``,
        kind,
        factored: `${kind} tsgrad`,
        inline: "inline tsgrad",
        factoredForward: `${kind} forward`,
        inlineForward: "inline forward",
      },
      {
        name: `network, ${how}: \`gradInto\``,
        kind,
        factored: `${kind} tsgrad into`,
        inline: "inline tsgrad into",
        factoredForward: `${kind} forward`,
        inlineForward: "inline forward",
      },
    ]),
    allocation: [
      ...kinds.map(([kind]) => ({
        name: `network: \`${versions[kind].name}_gradInto_W1_b1_W2_b2\``,
        entry: `${kind} tsgrad into`,
        fn: versions[kind].into,
        args: versions[kind].intoArgs,
        helperCalls: n + 2,
        helpers,
        role: kind === "factored" ? "step" : "layer step",
      })),
      {
        name: "network, inline: `loopsLoss_gradInto_W1_b1_W2_b2`",
        role: "inline",
        entry: "inline tsgrad into",
        fn: versions.inline.into,
        args: versions.inline.intoArgs,
      },
    ],
  };
}

/** `name` like "1k/gmm_d2_K5": gmm-factored.ts's gmmFactored against gmm.ts's gmmObjective. */
export function gmmFactoredWorkload(m, data, name) {
  const { io, gmm, gmmFactored: F } = m;
  const [size, file] = name.split("/");
  const [, d, K] = /gmm_d(\d+)_K(\d+)/.exec(file);
  // Bytes per call are measured over 4 calls with no collection in between: only where 4 calls
  // allocate less than the young generation holds (the 1k instances), or a scavenge hides some.
  const measureBytes = size === "1k";
  let state;
  const setup = () => {
    if (state) return state;
    const g = io.readGmm(join(data, "gmm", `${name}.txt`));
    const ref = io.readGmmReference(join(data, "reference", "gmm", name));
    const args = [g.alphas, g.means, g.icf, g.x, g.d, g.K, g.n, g.wishartGamma, g.wishartM];
    const inlineIntoArgs = [gmm.gmmObjective_grad(...args), ...args];
    const factoredIntoArgs = [F.gmmFactored_grad(...args), ...args];
    state = { g, ref, args, inlineIntoArgs, factoredIntoArgs };
    return state;
  };
  const three = (gr) => flat(gr.slice(0, 3));
  // Per gradient call: a pointLogLikelihood pullback per point, which calls a logsumexp pullback;
  // one more logsumexp pullback for LSE(α).
  const helperCalls = () => 2 * setup().g.n + 1;
  const helpers = () =>
    `${setup().g.n.toLocaleString("en-US")} \`pointLogLikelihood\`, ${(setup().g.n + 1).toLocaleString("en-US")} \`logsumexp\``;
  const title = `GMM ${size} d=${d} K=${K}`;
  return {
    id: `${gmmId(name)}-factored`,
    title: `${title}, factored`,
    kind: "factored",
    gmm: { n: size, d: Number(d), K: Number(K) },
    get about() {
      const s = setup();
      return `data/adbench/gmm/${name}.txt (n = ${s.g.n.toLocaleString("en-US")}): examples/adbench/gmm-factored.ts \`gmmFactored\` against examples/adbench/gmm.ts \`gmmObjective\`: a per-point helper \`pointLogLikelihood\` (\`@differentiable\`, one pullback call per point) that centers the point on each mean (\`subtract\`, unmarked, writing into an array: inlined), multiplies by Q_k (\`qTimes\`, the same), sums the squares, and ends with \`logsumexp\` over the components (\`@differentiable\`: a pullback call per point, and one for LSE(α))`;
    },
    // More rounds than the GMM workloads: a ratio of two gradients of the same size is what is read here.
    options: { rounds: 21, batchNs: 2e7, warmupNs: 5e8 },
    setup,
    check() {
      const s = setup();
      const { args, ref } = s;
      const before = stackSizes(m.runtime);
      const factored = three(F.gmmFactored_grad(...args));
      const balanced = sameStacks(before, stackSizes(m.runtime));
      const inline = three(gmm.gmmObjective_grad(...args));
      F.gmmFactored_gradInto(...s.factoredIntoArgs);
      const checks = [
        {
          what: "factored value vs inline (`gmmFactored` vs `gmmObjective`)",
          error: maxError([F.gmmFactored(...args)], [gmm.gmmObjective(...args)]),
          tolerance: TOL.exact,
        },
        { what: "factored gradient vs inline", error: maxError(factored, inline), tolerance: TOL.exact },
        {
          what: "factored `gradInto` vs inline",
          error: maxError(three(s.factoredIntoArgs[0]), inline),
          tolerance: TOL.exact,
        },
        {
          what: "factored gradient on the data x vs inline",
          error: maxError(F.gmmFactored_grad(...args)[3], gmm.gmmObjective_grad(...args)[3]),
          tolerance: TOL.exact,
        },
        { what: "factored gradient vs reference", error: maxError(factored, ref.gradient), tolerance: TOL.adbench },
        {
          what: "factored gradient leaves the saved-value and scratch stacks as it found them",
          error: balanced ? 0 : Infinity,
          tolerance: 0,
        },
      ];
      return checks;
    },
    entries() {
      const s = setup();
      return [
        entry("inline forward", gmm.gmmObjective, s.args),
        entry("factored forward", F.gmmFactored, s.args),
        entry("inline tsgrad", gmm.gmmObjective_grad, s.args),
        entry("factored tsgrad", F.gmmFactored_grad, s.args),
      ];
    },
    rows: [],
    factored: [
      {
        name: title,
        factored: "factored tsgrad",
        inline: "inline tsgrad",
        factoredForward: "factored forward",
        inlineForward: "inline forward",
      },
    ],
    get allocation() {
      if (!measureBytes) return undefined;
      const s = setup();
      return [
        {
          name: `${title}: \`gmmFactored_gradInto\``,
          entry: "factored tsgrad",
          fn: F.gmmFactored_gradInto,
          args: s.factoredIntoArgs,
          helperCalls: helperCalls(),
          helpers: helpers(),
          points: s.g.n,
          role: "gmm",
        },
        {
          name: `${title}: \`gmmFactored\` (plain code, no gradient)`,
          points: s.g.n,
          role: "gmm, plain",
          entry: "factored forward",
          fn: F.gmmFactored,
          args: s.args,
        },
        {
          name: `${title}, inline: \`gmmObjective_gradInto\``,
          points: s.g.n,
          role: "inline",
          entry: "inline tsgrad",
          fn: gmm.gmmObjective_gradInto,
          args: s.inlineIntoArgs,
        },
      ];
    },
    release() {
      state = undefined;
    },
  };
}

/**
 * The natural forms of examples/adbench/gmm-factored.ts that tsgrad refused, as small programs
 * (compile.mjs transformerDiagnostics says, in each run, whether it still does). All are accepted
 * now, and the file calls `sqnorm(qc)` as it was first written.
 */
export const FACTORED_REFUSALS = [
  {
    name: "sqnorm-of-a-reused-array",
    what: "a `@differentiable` helper called on an array the loop around it rewrites (`sqnorm(qc)`, `qc` filled by `qTimes` for each component)",
    source: `/** @differentiable */
function sqnorm(v: Float64Array): number {
  let s = 0;
  for (let j = 0; j < v.length; j++) s += v[j] * v[j];
  return s;
}

/** @differentiable */
export function sumOfSquaredDistances(x: Float64Array, means: Float64Array, d: number, K: number): number {
  const c = new Float64Array(d);
  let total = 0;
  for (let k = 0; k < K; k++) {
    for (let j = 0; j < d; j++) c[j] = x[j] - means[k * d + j];
    total += sqnorm(c);
  }
  return total;
}
`,
  },
  {
    name: "sqnorm-of-a-new-array-per-call",
    what: "the same with a new array for each call, as that diagnostic suggests (`const c = new Float64Array(d)` inside the loop)",
    source: `/** @differentiable */
function sqnorm(v: Float64Array): number {
  let s = 0;
  for (let j = 0; j < v.length; j++) s += v[j] * v[j];
  return s;
}

/** @differentiable */
export function sumOfSquaredDistances(x: Float64Array, means: Float64Array, d: number, K: number): number {
  let total = 0;
  for (let k = 0; k < K; k++) {
    const c = new Float64Array(d);
    for (let j = 0; j < d; j++) c[j] = x[j] - means[k * d + j];
    total += sqnorm(c);
  }
  return total;
}
`,
  },
  {
    name: "helper-returning-a-new-array-in-a-loop",
    what: "an unmarked helper returning a new array, called in the loop (`const qc = qTimes(...)` for each component)",
    source: `function centered(x: Float64Array, means: Float64Array, k: number, d: number): Float64Array {
  const c = new Float64Array(d);
  for (let j = 0; j < d; j++) c[j] = x[j] - means[k * d + j];
  return c;
}

/** @differentiable */
export function sumOfSquaredDistances(x: Float64Array, means: Float64Array, d: number, K: number): number {
  let total = 0;
  for (let k = 0; k < K; k++) {
    const c = centered(x, means, k, d);
    for (let j = 0; j < d; j++) total += c[j] * c[j];
  }
  return total;
}
`,
  },
];
