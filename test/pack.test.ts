// End-to-end packaging test: what a user gets from `npm install tsgrad`.
//
// Packs the repo (dist/ must already be built: `npm test` runs `npm run build` first), installs the
// tarball with typescript@6.0.3 and ts-patch@4.0.1 into a fresh project outside the repo, compiles
// with `tspc` and the `"plugins": [{ "transform": "tsgrad/transformer" }]` entry, and runs the
// output with node. Slow (npm pack + npm install): generous timeouts.

import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const SETUP_TIMEOUT = 240_000;
const TEST_TIMEOUT = 120_000;

// `npm test` runs us with npm's lifecycle environment; the child npm processes must not think they
// are running inside the repo (npm_config_local_prefix, npm_package_*, ...) or inherit --silent.
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    const k = key.toLowerCase();
    if (
      k.startsWith("npm_package_") ||
      k.startsWith("npm_lifecycle_") ||
      k === "npm_command" ||
      k === "npm_config_local_prefix" ||
      k === "npm_config_loglevel" ||
      k === "npm_config_yes" ||
      k === "init_cwd" ||
      k === "node_options" ||
      k.startsWith("vitest")
    ) {
      continue;
    }
    env[key] = value;
  }
  env.NO_COLOR = "1";
  env.FORCE_COLOR = "0";
  return env;
}

function run(cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env: childEnv(), encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
}

function describeRun(what: string, r: SpawnSyncReturns<string>): string {
  return `${what}: exit ${r.status}${r.signal ? ` (signal ${r.signal})` : ""}${r.error ? ` (${r.error.message})` : ""}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

function mustRun(what: string, cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  const r = run(cmd, args, cwd);
  if (r.status !== 0) throw new Error(describeRun(what, r));
  return r;
}

const TSCONFIG_BASE = {
  target: "es2022",
  module: "nodenext",
  moduleResolution: "nodenext",
  strict: true,
  skipLibCheck: true,
  types: [] as string[],
  plugins: [{ transform: "tsgrad/transformer" }],
};

const GOOD_SOURCE = `import { grad } from "tsgrad";
/** @differentiable */
export function f(x: number, y: number): number { return x * y + Math.sin(x); }
const [dx, dy] = grad(f)(2, 3);
console.log(JSON.stringify({ dx, dy }));
`;

// The `for...in` statement is on line 4.
const BAD_SOURCE = `/** @differentiable */
export function sumTimes(x: number): number {
  let s = 0;
  for (const k in { a: 1 }) {
    s += x;
  }
  return s;
}
`;
const BAD_LINE = 4;

describe("npm package (pack, install, tspc, node)", () => {
  let work = "";
  let project = "";

  beforeAll(() => {
    for (const f of ["dist/runtime/index.js", "dist/transformer/index.js"]) {
      if (!existsSync(join(REPO, f))) {
        throw new Error(`${f} is missing: run \`npm run build\` first (\`npm test\` does).`);
      }
    }
    work = mkdtempSync(join(tmpdir(), "tsgrad-pack-"));

    // --ignore-scripts: dist/ is already built by `npm test`; the test does not rebuild it.
    const packed = mustRun("npm pack", "npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], REPO);
    const info = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = info[0].files.map((f) => f.path);
    for (const f of ["package.json", "dist/runtime/index.js", "dist/runtime/index.d.ts", "dist/transformer/index.js"]) {
      expect(files, `tarball contents`).toContain(f);
    }
    const tarball = join(work, info[0].filename.replace(/^@/, "").replace(/\//g, "-"));
    expect(existsSync(tarball), `tarball at ${tarball}`).toBe(true);

    project = join(work, "project");
    mkdirSync(join(project, "src"), { recursive: true });
    mkdirSync(join(project, "bad"), { recursive: true });
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({ name: "tsgrad-pack-smoke", version: "0.0.0", private: true, type: "module" }, null, 2),
    );
    // ts-patch 4 declares node >=22.15 but works on Node 20.19+ for .js transformers: don't let an
    // engine-strict setting turn that warning into an error.
    mustRun(
      "npm install",
      "npm",
      [
        "install",
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        "--engine-strict=false",
        "--loglevel=error",
        tarball,
        "typescript@6.0.3",
        "ts-patch@4.0.1",
      ],
      project,
    );

    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { ...TSCONFIG_BASE, rootDir: "src", outDir: "out" }, include: ["src"] }, null, 2),
    );
    writeFileSync(
      join(project, "tsconfig.bad.json"),
      JSON.stringify({ compilerOptions: { ...TSCONFIG_BASE, rootDir: "bad", outDir: "out-bad" }, include: ["bad"] }, null, 2),
    );
    writeFileSync(join(project, "src", "main.ts"), GOOD_SOURCE);
    writeFileSync(join(project, "bad", "loop.ts"), BAD_SOURCE);
  }, SETUP_TIMEOUT);

  afterAll(() => {
    if (work && !process.env.TSGRAD_KEEP_PACK_TMP) rmSync(work, { recursive: true, force: true });
  });

  it(
    "grad(f) works in a project compiled with tspc and the tsgrad/transformer plugin",
    () => {
      mustRun("tspc", "npx", ["--no", "--", "tspc", "-p", "tsconfig.json", "--pretty", "false"], project);
      const out = join(project, "out", "main.js");
      expect(existsSync(out), `${out} emitted`).toBe(true);

      const r = mustRun("node out/main.js", "node", [out], project);
      const lines = r.stdout.trim().split("\n");
      const { dx, dy } = JSON.parse(lines[lines.length - 1]) as { dx: number; dy: number };
      expect(typeof dx).toBe("number");
      expect(typeof dy).toBe("number");
      expect(Math.abs(dx - (3 + Math.cos(2))), `dx = ${dx}, want ${3 + Math.cos(2)}`).toBeLessThan(1e-12);
      expect(Math.abs(dy - 2), `dy = ${dy}, want 2`).toBeLessThan(1e-12);
    },
    TEST_TIMEOUT,
  );

  it(
    "an unsupported construct fails tspc with a diagnostic at its file and line",
    () => {
      // Without the plugin the file is valid TypeScript: any error below comes from tsgrad.
      mustRun(
        "plain tsc (no plugin)",
        "node",
        [join(project, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.bad.json", "--noEmit", "--pretty", "false"],
        project,
      );

      const r = run("npx", ["--no", "--", "tspc", "-p", "tsconfig.bad.json", "--pretty", "false"], project);
      const output = `${r.stdout}\n${r.stderr}`;
      const report = describeRun("tspc -p tsconfig.bad.json", r);
      expect(r.status, report).not.toBe(0);
      expect(r.status, report).not.toBeNull();
      // A TypeScript diagnostic, not a crash: `bad/loop.ts(4,3): error TS…: …`.
      const m = /(?:^|[\s/\\])loop\.ts[(:](\d+)[,:](\d+)\)?:?\s*-?\s*error\s+TS\d+:\s*(.*)/m.exec(output);
      expect(m, report).not.toBeNull();
      expect(Number(m![1]), report).toBe(BAD_LINE);
      expect(Number(m![2]), report).toBeGreaterThanOrEqual(1);
      expect(m![3], report).toMatch(/\bfor\b|loop/i);
      expect(output, report).not.toMatch(/^\s+at .*\(.*:\d+:\d+\)$/m);
    },
    TEST_TIMEOUT,
  );
});
