// The `tsgrad` command, run as users run it (node dist/transformer/hosts/cli.js, so `npm test` builds
// first): print shows formatted generated code for each stage, refusals come out as tsc-style
// diagnostics with exit 1, and gen writes plain .ts files that plain tsc (no plugin) compiles into
// correct gradients, checked against the seed's numbers and against finite differences.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { format } from "../transformer/hosts/format.js";
import { GEN_TSCONFIG, expectClose, numericGradient, root } from "./harness.js";

const cli = join(root, "dist/transformer/hosts/cli.js");
const tmp = join(root, ".tsgrad-tmp/cli-test");

function run(args: string[], cwd = root): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Writes files (path → text) under .tsgrad-tmp/cli-test/<name>/, fresh each time. */
function project(name: string, files: Record<string, string>): string {
  const dir = join(tmp, name);
  rmSync(dir, { recursive: true, force: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const LOOP = `/** @differentiable */
export function sum3(x: number): number {
  let s = 0;
  for (const k in { a: 1 }) s += x;
  return s;
}
`;

beforeAll(() => {
  if (!existsSync(cli))
    throw new Error("dist/transformer/hosts/cli.js is missing: run `npm run build` (npm test does)");
});

describe("tsgrad print", () => {
  it("prints a function's generated code, formatted, named after the user's variables", async () => {
    const r = run(["print", "examples/seed.ts", "--fn", "staged"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("let dnum = invden;");
    expect(r.stdout).toContain("export function staged_grad(x: number, y: number)");
    expect(r.stdout).toContain("export function staged_backward(");
    expect(r.stdout).not.toContain("multiply_grad"); // --fn selects one function
    expect(await format(r.stdout)).toBe(r.stdout); // already prettier-formatted
  });

  it("is byte-identical from run to run", () => {
    expect(run(["print", "examples/seed.ts"]).stdout).toBe(run(["print", "examples/seed.ts"]).stdout);
  });

  it("--stage staged prints the forward pass, one operation per line", () => {
    const r = run(["print", "examples/seed.ts", "--fn", "staged", "--stage", "staged"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("function staged_staged(");
    const body = r.stdout.split("\n").filter((l) => /^\s+const /.test(l));
    expect(body).toContain("  const xpy = x + y;");
    expect(body).toContain("  const xpysqr = xpy ** 2;");
    expect(body).toContain("  const den = sigx + xpysqr; // denominator");
    expect(body).toContain("  const invden = 1 / den;");
    expect(r.stdout).not.toContain("backward pass");
    for (const line of body) expect(line.split("//")[0].match(/;/g)).toHaveLength(1);
  });

  it("--report lists what each gradient keeps: the vjp cache, and per loop what an iteration saves", () => {
    const r = run(["print", "examples/loops.ts", "--report"]);
    expect(r.status).toBe(0);
    const block = (name: string) => r.stdout.split("\n\n").find((b) => b.startsWith(`${name}  `))!;
    expect(block("newtonSqrt")).toMatch(
      /^newtonSqrt {2}examples[/\\]loops\.ts:\d+\n {2}vjp cache: a\n {2}for \(let i = 0; i < 20; i\+\+\) {2}line \d+\n {4}saves per iteration: x \(1 number, 8 bytes, in x_saved\)\n {4}recomputes: nothing$/,
    );
    expect(block("totalPaid")).toContain("saves per iteration: balance (1 number, 8 bytes)");
    expect(block("totalPaid")).toContain("counts its iterations");
    const seed = run(["print", "examples/seed.ts", "--report", "--fn", "staged"]);
    expect(seed.stdout).toContain("vjp cache: sigy, num, sigx, xpy, den, invden");
    expect(seed.stdout).toContain("no loops");
  });

  it("--stage reverse and final both print the backward pass", () => {
    for (const stage of ["reverse", "final"]) {
      const r = run(["print", "examples/seed.ts", "--fn", "multiply", "--stage", stage]);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain("multiply_grad");
    }
  });

  it("a refused function is a tsc-style diagnostic at its line and column, exit 1", () => {
    const dir = project("loop", { "loop.ts": LOOP });
    const r = run(["print", "loop.ts"], dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^loop\.ts\(4,3\): error TS94002: tsgrad: .*for\.\.\.in/m);
    expect(r.stdout).toBe("");
  });

  it("an unknown --fn, a missing file and a bad --stage are errors", () => {
    expect(run(["print", "examples/seed.ts", "--fn", "nope"]).status).toBe(1);
    expect(run(["print", "examples/nope.ts"]).status).toBe(1);
    expect(run(["print", "examples/seed.ts", "--stage", "backwards"]).status).toBe(2);
  });
});

describe("tsgrad --help, --version, usage errors", () => {
  it("--help prints usage", () => {
    const r = run(["--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage:/);
    expect(r.stdout).toContain("tsgrad gen");
  });

  it("--version prints package.json's version", () => {
    const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    expect(run(["--version"]).stdout).toBe(`${version}\n`);
  });

  it("an unknown command, an unknown option, gen without --out: usage and exit 2", () => {
    for (const args of [["frobnicate"], [], ["print", "examples/seed.ts", "--bogus"], ["gen", "examples"]]) {
      const r = run(args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).toContain("Usage:");
    }
  });
});

describe("tsgrad gen", () => {
  // A small project: the seed in a subfolder, a module whose @differentiable function calls one
  // from the seed (so its gradient imports `staged_grad`), and a main that calls the runtime API.
  const MAIN = `import { grad, valueAndGrad, vjp } from "tsgrad";
import { staged } from "./lib/seed.js";

/** @differentiable */
export function twice(x: number, y: number): number {
  return 2 * staged(x, y);
}

export const result = {
  grad: grad(staged)(3, -4),
  twice: valueAndGrad(twice)(3, -4),
  vjp: vjp(staged)(3, -4).backward(2),
};
`;

  it("writes plain TypeScript that plain tsc compiles into correct gradients", async () => {
    const dir = project("gen", {
      "src/lib/seed.ts": readFileSync(join(root, "examples/seed.ts"), "utf8"),
      "src/main.ts": MAIN,
    });
    const r = run(["gen", "src", "--out", "out"], dir);
    expect(r.stderr).toContain("wrote 2 files");
    expect(r.status).toBe(0);
    const seedOut = readFileSync(join(dir, "out/lib/seed.ts"), "utf8");
    expect(seedOut).toContain("export function staged_grad(");
    expect(await format(seedOut)).toBe(seedOut);
    expect(readFileSync(join(dir, "out/main.ts"), "utf8")).toMatch(/import \{ staged_grad \} from "\.\/lib\/seed\.js"/);

    // Plain tsc, no "plugins": what an esbuild/swc/Bun/TypeScript 7 user has.
    writeFileSync(join(dir, "out/tsconfig.json"), GEN_TSCONFIG);
    const tsc = spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(dir, "out")], {
      encoding: "utf8",
    });
    expect(tsc.stdout + tsc.stderr).toBe(""); // type-checks under --strict
    expect(tsc.status).toBe(0);

    const main = await import(pathToFileURL(join(dir, "js/main.js")).href);
    const seed = await import(pathToFileURL(join(dir, "js/lib/seed.js")).href);
    const [dx, dy] = main.result.grad;
    expect(dx).toBeCloseTo(2.0595697955721652, 12);
    expect(dy).toBeCloseTo(1.5922327514838093, 12);
    expectClose(main.result.grad, numericGradient(seed.staged, [3, -4]));
    expect(main.result.twice.value).toBeCloseTo(2 * 1.5456448841066441, 12);
    expectClose(main.result.twice.grad, numericGradient(main.twice, [3, -4]));
    expectClose(main.result.vjp, [2 * dx, 2 * dy], 1e-14);
    // Every seed example's generated gradient against finite differences.
    const points: Record<string, number[]> = {
      multiply: [4, -3],
      addThenMultiply: [-2, 5, -4],
      neuron: [2, -3, -3, -1, -2],
      circuit: [3, -4, 2, -1.5],
    };
    for (const [name, at] of Object.entries(points))
      expectClose(seed[`${name}_grad`](...at), numericGradient(seed[name], at));
  });

  it("writes nothing and exits 1 when a function is refused", () => {
    const dir = project("gen-refused", { "src/ok.ts": "export const one = 1;\n", "src/loop.ts": LOOP });
    const r = run(["gen", "src", "--out", "out"], dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/src\/loop\.ts\(4,3\): error TS94002/);
    expect(existsSync(join(dir, "out"))).toBe(false);
  });

  it("keeps paths relative to the inputs' common folder, copies files with nothing to transform", () => {
    const dir = project("gen-paths", {
      "a/x.ts": "export const x: number = 1;\n",
      "b/c/y.ts": "export const y = 2;\n",
      "b/c/types.d.ts": "export {};\n",
    });
    const r = run(["gen", "a/x.ts", "b", "--out", "out"], dir);
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, "out/a/x.ts"), "utf8")).toBe("export const x: number = 1;\n");
    expect(existsSync(join(dir, "out/b/c/y.ts"))).toBe(true);
    expect(existsSync(join(dir, "out/b/c/types.d.ts"))).toBe(false);
  });
});

describe("tsgrad print with custom derivatives", () => {
  it("--report names the frames of a counting loop and the stack of a while loop, for functions with custom derivatives", () => {
    const dir = project("custom-report", {
      "r.ts": `
export const calls = { w3: 0, sp: 0 };

export function sp(x: number): number { return x > 30 ? x : Math.log1p(Math.exp(x)); }
/** @derivative sp */
export function spD(x: number, y: number, dy: number): [number] { calls.sp++; return [dy / (1 + Math.exp(-x))]; }

/** Three arguments, each with a different partial. */
export function w3(a: number, b: number, c: number): number { return a * b * b + Math.sin(c) * a; }
/** @derivative w3 */
export function w3D(a: number, b: number, c: number, y: number, dy: number): [number, number, number] {
  calls.w3++;
  return [(b * b + Math.sin(c)) * dy, 2 * a * b * dy, Math.cos(c) * a * dy];
}

/** @differentiable */
export function inLoop(x: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s = sp(s * x + i) - w3(s, x, i);
  return s;
}
`,
    });
    const r = run(["print", join(dir, "r.ts"), "--report", "--fn", "inLoop"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^inLoop /);
    expect(r.stdout).toContain("for (let i = 0; i < n; i++)");
    // The call's value (read by its derivative) is kept, one per iteration.
    expect(r.stdout).toMatch(/saves per iteration: .*sp/);
  });

  // A file of a tsconfig project is printed with the whole project in its program, so a derivative
  // declared in a module the file does not import is used, as tsc uses it; a file outside any
  // project has only itself and its imports.
  it("print sees the derivatives of the whole tsconfig project the file belongs to", () => {
    const dir = project("print-project", {
      "src/math.ts": `
export function softplus(x: number): number { return x > 30 ? x : Math.log1p(Math.exp(x)); }
export function cube(x: number): number { return x * x * x; }
export function tri(x: number): number { return 3 * x; }
`,
      "src/derivs.ts": `import { softplus } from "./math.js";\n/** @derivative softplus */\nexport function softplusD(x: number, y: number, dy: number): [number] { return [dy / (1 + Math.exp(-x))]; }`,
      "src/main.ts": `import { softplus } from "./math.js";\n/** @differentiable */\nexport function f(x: number): number { return softplus(x) * x; }`,
    });

    // Outside any project (the repository's tsconfig does not include .tsgrad-tmp): softplus has
    // no derivative in the program, and no gradient of its own.
    const alone = run(["print", "src/main.ts"], dir);
    expect(alone.status).toBe(1);
    expect(alone.stderr).toMatch(/src\/main\.ts\(3,47\): error TS94006: .*softplus/);

    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { module: "nodenext", strict: true, noEmit: true }, include: ["src"] }),
    );
    const inProject = run(["print", "src/main.ts"], dir);
    expect(inProject.stderr).toBe("");
    expect(inProject.status).toBe(0);
    expect(inProject.stdout).toMatch(/const \[dx_softplus_x\] = softplusD\(x, softplus_x, dsoftplus_x\);/);
  });
});
