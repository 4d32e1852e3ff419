// The benchmark's workloads written a second time with TensorFlow.js (@tensorflow/tfjs 4.22.0,
// the pure-JavaScript package, on its `cpu` backend). TensorFlow.js computes in float32, so its
// values and gradients agree with tsgrad's only to float32 precision.
//
// Each workload gives `make(...)` → a function that computes the gradient and returns it as
// Float32Arrays (dataSync(): the numbers are in JavaScript when the call returns, as a user's
// optimizer step would need them). Inputs are made into tensors once, before timing, as a
// training loop would keep its parameters in tensors; each call runs inside tf.tidy so it frees
// what it made. (tf.tidy walks whatever its callback returns looking for tensors, element by
// element through a typed array: so the callbacks here return nothing and store their results
// outside; returning a 30,000-number Float32Array from tidy cost 50 times the arithmetic.)

import * as tf from "@tensorflow/tfjs";

let ready = false;
/** Loads tfjs on the cpu backend, without its console advice to install tfjs-node. */
export async function initTfjs() {
  if (ready) return tf;
  const warn = console.warn;
  const log = console.log;
  console.warn = console.log = () => {};
  try {
    await tf.setBackend("cpu");
    await tf.ready();
    tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)).dataSync()); // prints the advice once, here
  } finally {
    console.warn = warn;
    console.log = log;
  }
  if (tf.getBackend() !== "cpu") throw new Error(`tfjs backend is ${tf.getBackend()}, not cpu`);
  ready = true;
  return tf;
}

export const tfjsVersion = () => tf.version.tfjs;

const sigmoid = (t) => tf.sigmoid(t);
/** tfjs takes Float32Array (not Float64Array) for float tensors. */
const f32 = (a) => Float32Array.from(a);

/** Gradients of f over scalar inputs; returns a function () → number[] (float32 values). */
function scalarGradient(f, args) {
  const inputs = args.map((a) => tf.scalar(a));
  const g = tf.grads(f);
  return () => {
    let out;
    tf.tidy(() => {
      out = g(inputs).map((t) => t.dataSync()[0]);
    });
    return out;
  };
}

/** The seed's staged example (x + σ(y)) / (σ(x) + (x + y)²). */
export function stagedTfjs(x, y) {
  return scalarGradient((x, y) => tf.div(tf.add(x, sigmoid(y)), tf.add(sigmoid(x), tf.square(tf.add(x, y)))), [x, y]);
}

/** The sigmoid neuron σ(w0 x0 + w1 x1 + w2). */
export function neuronTfjs(w0, w1, w2, x0, x1) {
  return scalarGradient(
    (w0, w1, w2, x0, x1) => sigmoid(tf.add(tf.add(tf.mul(w0, x0), tf.mul(w1, x1)), w2)),
    [w0, w1, w2, x0, x1],
  );
}

/** The logistic map x ← r x (1 − x), `steps` times; gradient on r and x0. */
export function logisticTfjs(r, x0, steps) {
  return scalarGradient(
    (r, x0) => {
      let x = x0;
      for (let i = 0; i < steps; i++) x = tf.mul(tf.mul(r, x), tf.sub(1, x));
      return x;
    },
    [r, x0],
  );
}

/**
 * The two-layer network: mean softmax loss of relu(X·W1 + b1)·W2 + b2 at the labels, plus
 * 0.5·reg·(ΣW1² + ΣW2²). Gradient on W1, b1, W2, b2 (flat, row-major, as in examples/network).
 */
export function networkTfjs(params, X, y, reg) {
  const { W1, b1, W2, b2 } = params;
  const h = b1.length;
  const k = b2.length;
  const d = W1.length / h;
  const n = y.length;
  const tW1 = tf.tensor2d(f32(W1), [d, h]);
  const tb1 = tf.tensor1d(f32(b1));
  const tW2 = tf.tensor2d(f32(W2), [h, k]);
  const tb2 = tf.tensor1d(f32(b2));
  const tX = tf.tensor2d(f32(X), [n, d]);
  const onehot = tf.oneHot(tf.tensor1d(Int32Array.from(y), "int32"), k).toFloat();
  const loss = (W1, b1, W2, b2) => {
    const hidden = tf.relu(tf.add(tf.matMul(tX, W1), b1));
    const scores = tf.add(tf.matMul(hidden, W2), b2);
    const rowLoss = tf.sub(tf.logSumExp(scores, 1), tf.sum(tf.mul(scores, onehot), 1));
    const squares = tf.add(tf.sum(tf.square(W1)), tf.sum(tf.square(W2)));
    return tf.add(tf.mean(rowLoss), tf.mul(0.5 * reg, squares));
  };
  const g = tf.grads(loss);
  return () => {
    let out;
    tf.tidy(() => {
      out = g([tW1, tb1, tW2, tb2]).map((t) => t.dataSync());
    });
    return out;
  };
}

/**
 * ADBench GMM (OBJECTIVES.md §2): the gradient on [alphas | means | icf] as one Float32Array in
 * ADBench's order. Q_k is gathered from icf into a dense K × d × d tensor (diagonal exp(q), the
 * column-major lower triangle l below it, zeros above); the points go through in chunks of at
 * most `chunk` rows (the 2.5M instances: one stored point standing for all n, replicated into a
 * chunk-sized tensor), each chunk's gradient summed in float64. Only the first `run` chunks are
 * computed (all by default); the returned function's `times` multiplies their gradient, so that
 * for the replicated 2.5M instances one chunk × the number of chunks is the whole gradient.
 */
export function gmmTfjs(g, chunk = 100_000, run = Infinity) {
  const { d, K, n } = g;
  const icfSize = (d * (d + 1)) / 2;
  const stored = g.x.length / d;
  // Q_k (K × d × d) from its diagonal (K × d) and l_k (K × d(d−1)/2, column-major below the
  // diagonal): column a is [a zeros | diag_a | the d − 1 − a entries of l's column a]. (Slices
  // and concatenations: tf.gather's gradient on the cpu backend loops over every index.)
  const zeros = Array.from({ length: d }, (_, a) => (a > 0 ? tf.zeros([K, a]) : null));
  const lowerTriangular = (diag, l) => {
    const columns = [];
    let start = 0;
    for (let a = 0; a < d; a++) {
      const parts = [tf.slice(diag, [0, a], [K, 1])];
      if (a > 0) parts.unshift(zeros[a]);
      if (a < d - 1) parts.push(tf.slice(l, [0, start], [K, d - 1 - a]));
      start += d - 1 - a;
      columns.push(tf.concat(parts, 1));
    }
    return tf.stack(columns, 2); // [k, row, column]
  };
  const tAlphas = tf.tensor1d(f32(g.alphas));
  const tMeans = tf.tensor2d(f32(g.means), [K, d]);
  const tIcf = tf.tensor2d(f32(g.icf), [K, icfSize]);
  // The point chunks: [start, rows]; rows of x repeat with period `stored`.
  const chunks = [];
  for (let start = 0; start < n && chunks.length < run; start += chunk)
    chunks.push([start, Math.min(chunk, n - start)]);
  const chunkData = new Map();
  for (const [start, rows] of chunks) {
    const key = stored === n ? start : `r${rows}`; // replicated: one tensor per chunk size
    if (chunkData.has(key)) continue;
    const xs = new Float32Array(rows * d);
    for (let i = 0; i < rows; i++) for (let j = 0; j < d; j++) xs[i * d + j] = g.x[((start + i) % stored) * d + j];
    chunkData.set(key, tf.tensor2d(xs, [rows, d]));
  }
  const points = ([start, rows]) => chunkData.get(stored === n ? start : `r${rows}`);

  // Σ_i LSE_k(β_ik) over one chunk of points.
  const dataTerm = (X) => (alphas, means, icf) => {
    const q = tf.slice(icf, [0, 0], [K, d]);
    const Q = lowerTriangular(tf.exp(q), tf.slice(icf, [0, d], [K, icfSize - d]));
    const centered = tf.sub(tf.expandDims(X, 0), tf.expandDims(means, 1)); // K × rows × d
    const y = tf.matMul(centered, Q, false, true); // rows of Q_k (x_i − μ_k)
    const sqnorm = tf.sum(tf.square(y), 2); // K × rows
    const beta = tf.sub(tf.expandDims(tf.add(alphas, tf.sum(q, 1)), 1), tf.mul(0.5, sqnorm));
    return tf.sum(tf.logSumExp(beta, 0));
  };
  // −n·LSE(α) plus the prior's parameter-dependent terms.
  const rest = (alphas, means, icf) => {
    const q = tf.slice(icf, [0, 0], [K, d]);
    const l = tf.slice(icf, [0, d], [K, icfSize - d]);
    const frob = tf.add(tf.sum(tf.square(tf.exp(q))), tf.sum(tf.square(l)));
    const prior = tf.sub(tf.mul(0.5 * g.wishartGamma * g.wishartGamma, frob), tf.mul(g.wishartM, tf.sum(q)));
    return tf.add(tf.mul(-n, tf.logSumExp(alphas)), tf.add(prior, tf.mul(0, tf.sum(means))));
  };
  const gradients = chunks.map((c) => tf.grads(dataTerm(points(c))));
  const gradRest = tf.grads(rest);
  const total = K + K * d + K * icfSize;
  return (times = 1) => {
    const out = new Float64Array(total);
    const add = (gs, scale) => {
      let at = 0;
      for (const t of gs) {
        const v = t.dataSync();
        for (let j = 0; j < v.length; j++) out[at + j] += scale * v[j];
        at += v.length;
      }
    };
    tf.tidy(() => {
      add(gradRest([tAlphas, tMeans, tIcf]), 1);
    });
    for (const gr of gradients) {
      tf.tidy(() => {
        add(gr([tAlphas, tMeans, tIcf]), times);
      });
    }
    return out;
  };
}

/**
 * ADBench BA: the 2×15 block of every observation, as two Float32Arrays of 15 × p (the
 * transposed rows e_x and e_y: entry j·p + i is ∂e_i/∂(input j of observation i)), and the p
 * derivatives of the weight residuals 1 − w_i². Each is the
 * gradient of Σ_i e_i,row with respect to the 15 × p tensor of the observations' own camera,
 * point and weight: e_i depends on observation i's inputs only, so that gradient's column i is
 * observation i's row of the block. Two sweeps, like tsgrad's. The inputs are laid out 15 × p so
 * that each input is a contiguous row (the cpu backend slices a column element by element).
 */
export function baBlocksTfjs(ba) {
  const { p } = ba;
  const inputs = new Float32Array(15 * p);
  const features = new Float32Array(2 * p);
  const rotated = new Uint8Array(p);
  for (let i = 0; i < p; i++) {
    const c = 11 * ba.camIndex[i];
    const t = 3 * ba.pointIndex[i];
    for (let j = 0; j < 11; j++) inputs[j * p + i] = ba.cams[c + j];
    for (let j = 0; j < 3; j++) inputs[(11 + j) * p + i] = ba.points[t + j];
    inputs[14 * p + i] = ba.weights[i];
    features[i] = ba.features[2 * i];
    features[p + i] = ba.features[2 * i + 1];
    // Which observations have a rotation (θ² ≠ 0): a constant of the sweep (where() has no
    // gradient through its condition).
    rotated[i] =
      ba.cams[c] * ba.cams[c] + ba.cams[c + 1] * ba.cams[c + 1] + ba.cams[c + 2] * ba.cams[c + 2] !== 0 ? 1 : 0;
  }
  const tInputs = tf.tensor2d(inputs, [15, p]);
  const tFeatures = tf.tensor2d(features, [2, p]);
  const nonzero = tf.tensor1d(rotated, "bool");
  const residual = (coord) => (all) => {
    const [r1, r2, r3, C1, C2, C3, f, u0, v0, k1, k2, X1, X2, X3, w] = tf.unstack(all, 0);
    const px = tf.sub(X1, C1);
    const py = tf.sub(X2, C2);
    const pz = tf.sub(X3, C3);
    const theta2 = tf.add(tf.add(tf.square(r1), tf.square(r2)), tf.square(r3));
    const theta = tf.sqrt(tf.where(nonzero, theta2, tf.onesLike(theta2))); // no sqrt'(0) in the other branch
    const cos = tf.cos(theta);
    const sin = tf.sin(theta);
    const [a1, a2, a3] = [r1, r2, r3].map((r) => tf.div(r, theta));
    const along = tf.mul(tf.add(tf.add(tf.mul(a1, px), tf.mul(a2, py)), tf.mul(a3, pz)), tf.sub(1, cos));
    // p·cos θ + (a × p)·sin θ + a·along, one coordinate
    const rot = (p, a, b, q, s, aa) =>
      tf.add(tf.add(tf.mul(p, cos), tf.mul(tf.sub(tf.mul(a, b), tf.mul(q, s)), sin)), tf.mul(aa, along));
    const camX = tf.where(nonzero, rot(px, a2, pz, a3, py, a1), tf.add(px, tf.sub(tf.mul(r2, pz), tf.mul(r3, py))));
    const camY = tf.where(nonzero, rot(py, a3, px, a1, pz, a2), tf.add(py, tf.sub(tf.mul(r3, px), tf.mul(r1, pz))));
    const camZ = tf.where(nonzero, rot(pz, a1, py, a2, px, a3), tf.add(pz, tf.sub(tf.mul(r1, py), tf.mul(r2, px))));
    const ux = tf.div(camX, camZ);
    const uy = tf.div(camY, camZ);
    const radius2 = tf.add(tf.square(ux), tf.square(uy));
    const distortion = tf.add(tf.add(1, tf.mul(k1, radius2)), tf.mul(k2, tf.square(radius2)));
    const proj =
      coord === 0 ? tf.add(tf.mul(tf.mul(f, distortion), ux), u0) : tf.add(tf.mul(tf.mul(f, distortion), uy), v0);
    const feature = tf.squeeze(tf.slice(tFeatures, [coord, 0], [1, p]), [0]);
    return tf.sum(tf.mul(w, tf.sub(proj, feature)));
  };
  const gx = tf.grad(residual(0));
  const gy = tf.grad(residual(1));
  // The weight residuals 1 − w_i²: one more sweep, over the weights alone.
  const tWeights = tf.tensor1d(inputs.subarray(14 * p, 15 * p));
  const gw = tf.grad((w) => tf.sum(tf.sub(1, tf.square(w))));
  return () => {
    let out;
    tf.tidy(() => {
      out = [gx(tInputs).dataSync(), gy(tInputs).dataSync(), gw(tWeights).dataSync()];
    });
    return out;
  };
}
