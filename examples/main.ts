// `npm start`: the seed's examples, compiled by the tsc plugin (see examples/tsconfig.json), each
// with its value, its gradients from tsgrad, and the notes' "gradient check" against centered
// finite differences.

import { checkGradient, grad, matrix, valueAndGrad, vjp } from "tsgrad";
import { expSeries, logisticMap, newtonSqrt, springEnergy, totalPaid } from "./loops.js";
import { addThenMultiply, circuit, max, multiply, neuron, staged } from "./seed.js";
import { powRec } from "./recursion.js";
import { initRecurrent, recurrentAccuracy, recurrentLoss, trainRecurrent } from "./recurrent.js";
import { accuracy, initNetwork, networkLoss, spiralData, train } from "./network.js";
import { loopsLoss } from "./network/loops.js";
import { REG } from "./network/params.js";
import {
  type TrainOptions,
  linearAccuracy,
  softmaxLoss,
  svmLoss,
  trainLinear,
  trainSoftmaxMatrix,
} from "./classifiers.js";
import { mulberry32, normal } from "./network/rng.js";

interface Example {
  title: string;
  f: (...args: number[]) => number;
  names: string[];
  args: number[];
  /** The parameters to check against finite differences (default: all): a count has no useful difference. */
  checked?: number[];
}

const examples: Example[] = [
  { title: "f = x * y", f: multiply, names: ["x", "y"], args: [4, -3] },
  { title: "f = (x + y) * z", f: addThenMultiply, names: ["x", "y", "z"], args: [-2, 5, -4] },
  { title: "f = max(x, y), x wins", f: max, names: ["x", "y"], args: [4, 2] },
  { title: "sigmoid neuron", f: neuron, names: ["w0", "w1", "w2", "x0", "x1"], args: [2, -3, -3, -1, -2] },
  { title: "staged computation", f: staged, names: ["x", "y"], args: [3, -4] },
  { title: "circuit 2 * (x * y + max(z, w))", f: circuit, names: ["x", "y", "z", "w"], args: [3, -4, 2, -1] },
  // Loops (examples/loops.ts): the backward loop replays the iterations in reverse.
  {
    title: "Newton's method for sqrt(a), 20 steps (d/da = 1 / (2 sqrt(a)) = 0.25 at a = 4)",
    f: newtonSqrt,
    names: ["a"],
    args: [4],
  },
  {
    title: "exp(x) summed as a series until the term is below 1e-16 (d/dx = exp(x))",
    f: expSeries,
    names: ["x"],
    args: [1.5],
  },
  { title: "logistic map x = r x (1 - x), 50 steps", f: logisticMap, names: ["r", "x0"], args: [3.2, 0.4] },
  {
    title: "spring-mass system, 200 Euler steps: final energy",
    f: springEnergy,
    names: ["k", "m", "x0"],
    args: [3, 1.5, 0.7],
  },
  {
    title: "loan paid off in a while loop: total paid",
    f: totalPaid,
    names: ["principal", "monthlyRate", "payment"],
    args: [1000, 0.01, 100],
  },
  // Recursion (examples/recursion.ts): each level's forward pass keeps its cache for its backward pass.
  {
    title: "x^n by n recursive calls, n = 10 (d/dx = n x^(n-1) = 1.342 at x = 0.8; n is a count, with derivative 0)",
    f: powRec,
    names: ["x", "n"],
    args: [0.8, 10],
    checked: [0],
  },
];

const fmt = (v: number) => String(Object.is(v, -0) ? 0 : v);

for (const { title, f, names, args, checked } of examples) {
  const { value, grad: g } = valueAndGrad(f)(...args);
  const check = checked
    ? checkGradient(
        f,
        args,
        checked.map((i) => g[i]),
        { wrt: checked },
      )
    : checkGradient(f, args, g);
  console.log(`${title}  at (${names.map((n, i) => `${n} = ${args[i]}`).join(", ")})`);
  console.log(`  value     ${fmt(value)}`);
  console.log(`  gradient  ${names.map((n, i) => `d${n} = ${fmt(g[i])}`).join(", ")}`);
  const which = checked ? ` (${checked.map((i) => names[i]).join(", ")})` : "";
  console.log(
    `  ${`check${which}`.padEnd(9)} max relative error vs finite differences ${check.maxRelativeError.toExponential(1)} ${check.ok ? "(ok)" : "(FAILED)"}`,
  );
  if (!check.ok) process.exitCode = 1;
}

// The CS231n two-layer network on the spiral data, trained with tsgrad's gradient (examples/network.ts).
{
  const { X, y } = spiralData(0);
  const net = initNetwork(0);
  console.log("\ntwo-layer network (D = 2, H = 100, K = 3) on 300 spiral points, full-batch gradient descent, step 1");
  const start = performance.now();
  train(net, X, y, 4000, 1, 500, (step, loss) =>
    console.log(`  step ${String(step).padStart(4)}  loss ${loss.toFixed(4)}`),
  );
  const acc = accuracy(net, X, y);
  console.log(`  training accuracy ${(100 * acc).toFixed(1)}% (${((performance.now() - start) / 1000).toFixed(1)} s)`);
  if (acc < 0.97) process.exitCode = 1;
  // The same loss written with loops over Float64Array (examples/network/loops.ts): the same gradient.
  const [{ W1: mW1, b1: mb1, W2: mW2, b2: mb2 }] = grad(networkLoss)(net, X, y);
  const [lW1, lb1, lW2, lb2] = grad(loopsLoss)(net.W1.data, net.b1.data, net.W2.data, net.b2.data, X.data, y, REG);
  let worst = 0;
  for (const [loops, matrices] of [
    [lW1, mW1],
    [lb1, mb1],
    [lW2, mW2],
    [lb2, mb2],
  ] as const) {
    loops.forEach((g, i) => (worst = Math.max(worst, Math.abs(g - matrices.data[i]) / Math.max(1, Math.abs(g)))));
  }
  console.log(
    `  the loop version's gradient (examples/network/loops.ts) differs from the matrix version's by at most ${worst.toExponential(1)}`,
  );
  if (!(worst < 1e-10)) process.exitCode = 1;
}

// Linear classifiers on the same data (examples/classifiers.ts): the multiclass SVM loss and the
// softmax loss with loops (trained with gradInto), the softmax again with matrix operations.
{
  const { X, y } = spiralData(0);
  const classifiers = [
    {
      title: "multiclass SVM loss, loops ",
      run: (W: Float64Array, b: Float64Array, opts: TrainOptions) => trainLinear(svmLoss, W, b, X.data, y, opts),
    },
    {
      title: "softmax loss, loops        ",
      run: (W: Float64Array, b: Float64Array, opts: TrainOptions) => trainLinear(softmaxLoss, W, b, X.data, y, opts),
    },
    {
      title: "softmax loss, matrix ops   ",
      run: (W: Float64Array, b: Float64Array, opts: TrainOptions) =>
        trainSoftmaxMatrix(matrix(2, 3, W), matrix(1, 3, b), X, y, opts),
    },
  ];
  console.log(
    "\nlinear classifiers (scores = X·W + b) on the same 300 points, 200 steps of full-batch gradient descent, step 1, reg 1e-3",
  );
  for (const { title, run } of classifiers) {
    const randn = normal(mulberry32(0));
    const W = Float64Array.from({ length: 2 * 3 }, () => 0.01 * randn());
    const b = new Float64Array(3);
    const losses: number[] = [];
    const start = performance.now();
    run(W, b, { steps: 200, stepSize: 1, reg: REG, every: 100, onProgress: (_, loss) => losses.push(loss) });
    const acc = linearAccuracy(W, b, X.data, y);
    const ms = performance.now() - start;
    console.log(
      `  ${title} loss ${losses.map((l) => l.toFixed(4)).join(" → ")}  training accuracy ${(100 * acc).toFixed(1)}% (${ms.toFixed(0)} ms)`,
    );
    if (!(acc > 0.45 && losses[losses.length - 1] < losses[0])) process.exitCode = 1;
  }
  console.log("  a line cannot follow the spiral's arms: about half right, where the two-layer network gets 98%");
}

// A hidden layer applied 4 times with the same weights (examples/recurrent.ts): matrix operations
// in a loop, the state carried from step to step; its gradient checked, then trained.
{
  const { X, y } = spiralData(0);
  const net = initRecurrent(2, 20, 3, 1);
  const steps = 4;
  const args = [net, X, y, steps, false] as const;
  const [dnet] = grad(recurrentLoss)(...args);
  const check = checkGradient(recurrentLoss, [...args], [dnet], { wrt: [0] });
  console.log(
    `\nrecurrent layer (H = 20) applied ${steps} times to the spiral points: matrix operations in a loop, h carried from step to step`,
  );
  console.log(
    `  gradient of all ${check.entries.length} weights: max relative error vs finite differences ${check.maxRelativeError.toExponential(1)} ${check.ok ? "(ok)" : "(FAILED)"}`,
  );
  const losses: number[] = [];
  const start = performance.now();
  trainRecurrent(net, X, y, { steps, iterations: 1000, stepSize: 0.5, every: 250 }, (_, loss) => losses.push(loss));
  const acc = recurrentAccuracy(net, X, y, steps);
  console.log(
    `  1000 steps of gradient descent, step 0.5: loss ${losses.map((l) => l.toFixed(4)).join(" → ")}, training accuracy ${(100 * acc).toFixed(1)}% (${((performance.now() - start) / 1000).toFixed(1)} s)`,
  );
  if (!check.ok || !(acc > 0.9)) process.exitCode = 1;
}

// grad(staged) compiled to a direct reference to the generated staged_grad; vjp keeps a cache.
const [dx, dy] = grad(staged)(3, -4);
const { backward } = vjp(staged)(3, -4);
const [dx2, dy2] = backward(2);
console.log(`\nvjp(staged)(3, -4).backward(2) = [${fmt(dx2)}, ${fmt(dy2)}]  (2 × [${fmt(dx)}, ${fmt(dy)}])`);
console.log("\nThe generated gradient of the staged example (tsgrad print examples/seed.ts --fn staged):\n");
