// End-to-end packaging test: what a user gets by installing the packed tarball, the way the README
// says, in fresh projects outside the repository, one per route:
//
//   esm    "type": "module", typescript@6 + ts-patch@4, `tspc` with the tsconfig plugin
//   cjs    `npm init -y` ("type": "commonjs"), the same tsconfig (module nodenext), and again with
//          "module": "commonjs"; the generated code's imports must become `require`s
//   vite   vite@8 with `tsgrad/vite` in vite.config.mjs, an SSR build run by node
//   ts7    typescript@7 (the native compiler, no plugin hooks): `tsgrad gen` (with tsgrad's own
//          TypeScript 6), then TS 7's `tsc`, tsx and esbuild compile the generated files
//
// Each runs the seed's staged example (plus a helper imported from a second module) and checks
// the gradient against the notes' hand-written backprop to 1e-12. dist/ must already be built
// (`npm test` builds first). Slow (npm pack + npm installs): generous timeouts.

import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const SETUP_TIMEOUT = 300_000;
const TEST_TIMEOUT = 120_000;

// `npm test` runs us with npm's lifecycle environment; the child npm processes must not think they
// are running inside the repo (npm_config_local_prefix, npm_package_*, ...) or inherit --silent.
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    const k = key.toLowerCase();
    const npmInternal =
      k.startsWith("npm_package_") ||
      k.startsWith("npm_lifecycle_") ||
      [
        "npm_command",
        "npm_config_local_prefix",
        "npm_config_loglevel",
        "npm_config_yes",
        "init_cwd",
        "node_options",
      ].includes(k);
    if (npmInternal || k.startsWith("vitest")) continue;
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

/** `npx --no -- tool args` in the project: its own installed binary, never a download. */
const npx = (project: string, tool: string, ...args: string[]) =>
  mustRun(`${tool} ${args.join(" ")}`, "npx", ["--no", "--", tool, ...args], project);

function install(project: string, packages: string[]): void {
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
      ...packages,
    ],
    project,
  );
}

function writeFiles(project: string, files: Record<string, string | object>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(project, path)), { recursive: true });
    writeFileSync(join(project, path), typeof content === "string" ? content : JSON.stringify(content, null, 2));
  }
}

// The seed's staged example (examples/seed.ts, copied in as it is), plus a @differentiable helper
// and a constant from a third module (their references in generated code are what a CommonJS
// build used to lose).
const SEED = readFileSync(join(REPO, "examples", "seed.ts"), "utf8");
const HELPERS = `export const TWO = 2;
/** @differentiable */
export function square(v: number): number { return v * v; }
`;
const main = (ext: string) => `import { grad } from "tsgrad";
import { TWO, square } from "./helpers${ext}";
import { staged } from "./seed${ext}";

/** @differentiable */
export function withHelper(x: number, y: number): number {
  return square(x) * TWO + staged(x, y);
}

const [dx, dy] = grad(staged)(3, -4);
const [hx, hy] = grad(withHelper)(3, -4);
console.log(JSON.stringify({ dx, dy, hx, hy }));
`;

/** The notes' hand-written backprop of the staged example: the oracle. */
function stagedBackprop(x: number, y: number): [number, number] {
  const sigy = 1.0 / (1 + Math.exp(-y));
  const num = x + sigy;
  const sigx = 1.0 / (1 + Math.exp(-x));
  const xpy = x + y;
  const xpysqr = xpy ** 2;
  const den = sigx + xpysqr;
  const invden = 1.0 / den;
  const dnum = invden;
  const dinvden = num;
  const dden = (-1.0 / den ** 2) * dinvden;
  const dsigx = 1 * dden;
  const dxpysqr = 1 * dden;
  const dxpy = 2 * xpy * dxpysqr;
  let dx = 1 * dxpy;
  let dy = 1 * dxpy;
  dx += (1 - sigx) * sigx * dsigx;
  dx += 1 * dnum;
  const dsigy = 1 * dnum;
  dy += (1 - sigy) * sigy * dsigy;
  return [dx, dy];
}

/** The last line a program printed, checked against the oracle at (3, -4). */
function expectSeedGradients(r: SpawnSyncReturns<string>, where: string): void {
  const lines = r.stdout.trim().split("\n");
  const got = JSON.parse(lines[lines.length - 1]) as { dx: number; dy: number; hx: number; hy: number };
  const [dx, dy] = stagedBackprop(3, -4);
  const want = { dx, dy, hx: 4 * 3 + dx, hy: dy }; // d/dx (2 x²) = 4x
  for (const key of ["dx", "dy", "hx", "hy"] as const) {
    expect(Math.abs(got[key] - want[key]), `${where}: ${key} = ${got[key]}, want ${want[key]}`).toBeLessThan(1e-12);
  }
}

const TSCONFIG = {
  target: "es2022",
  module: "nodenext",
  moduleResolution: "nodenext",
  strict: true,
  skipLibCheck: true,
  types: [] as string[],
  rootDir: "src",
  outDir: "dist",
  plugins: [{ transform: "tsgrad/transformer" }],
};

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

describe("npm package (pack, install, build, node)", () => {
  let work = "";
  let tarball = "";
  const dir = (name: string) => join(work, name);

  beforeAll(() => {
    for (const f of ["dist/runtime/index.js", "dist/transformer/hosts/tsc.js", "dist/transformer/hosts/cli.js"]) {
      if (!existsSync(join(REPO, f)))
        throw new Error(`${f} is missing: run \`npm run build\` first (\`npm test\` does).`);
    }
    work = mkdtempSync(join(tmpdir(), "tsgrad-pack-"));
    // --ignore-scripts: dist/ is already built by `npm test`; the test does not rebuild it.
    const packed = mustRun("npm pack", "npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], REPO);
    const info = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = info[0].files.map((f) => f.path);
    for (const f of [
      "package.json",
      "dist/runtime/index.js",
      "dist/runtime/index.d.ts",
      "dist/transformer/hosts/tsc.js",
      "dist/transformer/hosts/cli.js",
    ]) {
      expect(files, `tarball contents`).toContain(f);
    }
    tarball = join(work, info[0].filename.replace(/^@/, "").replace(/\//g, "-"));
    expect(existsSync(tarball), `tarball at ${tarball}`).toBe(true);
  }, SETUP_TIMEOUT);

  afterAll(() => {
    if (work && !process.env.TSGRAD_KEEP_PACK_TMP) rmSync(work, { recursive: true, force: true });
  });

  describe("ES modules with tspc", () => {
    beforeAll(() => {
      const project = dir("esm");
      writeFiles(project, {
        "package.json": { name: "tsgrad-esm", version: "0.0.0", private: true, type: "module" },
        "tsconfig.json": { compilerOptions: TSCONFIG, include: ["src"] },
        "tsconfig.bad.json": { compilerOptions: { ...TSCONFIG, rootDir: "bad", outDir: "dist-bad" }, include: ["bad"] },
        "src/main.ts": main(".js"),
        "src/seed.ts": SEED,
        "src/helpers.ts": HELPERS,
        "bad/loop.ts": BAD_SOURCE,
      });
      install(project, [tarball, "typescript@6.0.3", "ts-patch@4.0.1"]);
    }, SETUP_TIMEOUT);

    it(
      "grad(f) works in a project compiled with tspc and the tsgrad/transformer plugin",
      () => {
        npx(dir("esm"), "tspc", "-p", "tsconfig.json", "--pretty", "false");
        expectSeedGradients(mustRun("node", "node", ["dist/main.js"], dir("esm")), "esm");
      },
      TEST_TIMEOUT,
    );

    it(
      "an unsupported construct fails tspc with a diagnostic at its file and line",
      () => {
        const project = dir("esm");
        // Without the plugin the file is valid TypeScript: any error below comes from tsgrad.
        mustRun(
          "plain tsc (no plugin)",
          "node",
          [
            join(project, "node_modules", "typescript", "bin", "tsc"),
            "-p",
            "tsconfig.bad.json",
            "--noEmit",
            "--pretty",
            "false",
          ],
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
        expect(m![3], report).toMatch(/\bfor\b|loop/i);
        expect(output, report).not.toMatch(/^\s+at .*\(.*:\d+:\d+\)$/m);
      },
      TEST_TIMEOUT,
    );
  });

  describe("CommonJS with tspc", () => {
    beforeAll(() => {
      const project = dir("cjs");
      mkdirSync(project, { recursive: true });
      mustRun("npm init -y", "npm", ["init", "-y"], project);
      const pkg = JSON.parse(readFileSync(join(project, "package.json"), "utf8"));
      expect(pkg.type ?? "commonjs", "npm init -y makes a CommonJS package").toBe("commonjs");
      const commonjs = { ...TSCONFIG, module: "commonjs", moduleResolution: "bundler", outDir: "dist-commonjs" };
      writeFiles(project, {
        "tsconfig.json": { compilerOptions: TSCONFIG, include: ["src"] },
        "tsconfig.commonjs.json": { compilerOptions: commonjs, include: ["src"] },
        "src/main.ts": main(""),
        "src/seed.ts": SEED,
        "src/helpers.ts": HELPERS,
      });
      install(project, [tarball, "typescript@6.0.3", "ts-patch@4.0.1"]);
    }, SETUP_TIMEOUT);

    it(
      "module nodenext in a commonjs package: the generated code's imports are requires",
      () => {
        npx(dir("cjs"), "tspc", "-p", "tsconfig.json", "--pretty", "false");
        expect(readFileSync(join(dir("cjs"), "dist", "main.js"), "utf8")).toMatch(
          /const \{[^}]*registerGradient[^}]*\} = require\("tsgrad"\)/,
        );
        expectSeedGradients(mustRun("node", "node", ["dist/main.js"], dir("cjs")), "cjs nodenext");
      },
      TEST_TIMEOUT,
    );

    it(
      '"module": "commonjs"',
      () => {
        npx(dir("cjs"), "tspc", "-p", "tsconfig.commonjs.json", "--pretty", "false");
        expectSeedGradients(mustRun("node", "node", ["dist-commonjs/main.js"], dir("cjs")), "cjs commonjs");
      },
      TEST_TIMEOUT,
    );
  });

  describe("Vite", () => {
    beforeAll(() => {
      const project = dir("vite");
      writeFiles(project, {
        "package.json": { name: "tsgrad-vite", version: "0.0.0", private: true, type: "module" },
        "vite.config.mjs": `import { defineConfig } from "vite";
import tsgrad from "tsgrad/vite";

export default defineConfig({
  plugins: [tsgrad()],
  build: { ssr: "src/main.ts", outDir: "dist", rollupOptions: { output: { entryFileNames: "main.mjs" } } },
});
`,
        "src/main.ts": main(".js"),
        "src/seed.ts": SEED,
        "src/helpers.ts": HELPERS,
      });
      install(project, [tarball, "vite@8"]);
    }, SETUP_TIMEOUT);

    it(
      "a vite build with tsgrad/vite",
      () => {
        npx(dir("vite"), "vite", "build", "--logLevel", "warn");
        expectSeedGradients(mustRun("node", "node", ["dist/main.mjs"], dir("vite")), "vite");
      },
      TEST_TIMEOUT,
    );
  });

  describe("TypeScript 7 with tsgrad gen", () => {
    beforeAll(() => {
      const project = dir("ts7");
      mkdirSync(project, { recursive: true });
      mustRun("npm init -y", "npm", ["init", "-y"], project);
      // TypeScript 7 first, as a project that already has it; then tsgrad next to it (no peer conflict).
      install(project, ["typescript@7"]);
      install(project, [tarball, "esbuild", "tsx"]);
      const { plugins: _, ...plain } = TSCONFIG;
      writeFiles(project, {
        "tsconfig.json": { compilerOptions: { ...plain, rootDir: "generated" }, include: ["generated"] },
        "src/main.ts": main(""),
        "src/seed.ts": SEED,
        "src/helpers.ts": HELPERS,
      });
    }, SETUP_TIMEOUT);

    it("the project's tsc is TypeScript 7", () => {
      expect(npx(dir("ts7"), "tsc", "--version").stdout).toMatch(/Version 7\./);
    });

    it(
      "tsgrad gen, then TS 7's tsc, tsx and esbuild",
      () => {
        const project = dir("ts7");
        npx(project, "tsgrad", "gen", "src", "--out", "generated");
        expect(readFileSync(join(project, "generated", "seed.ts"), "utf8")).toContain("export function staged_grad(");
        npx(project, "tsc", "-p", "tsconfig.json");
        expectSeedGradients(mustRun("node", "node", ["dist/main.js"], project), "ts7 tsc");
        expectSeedGradients(npx(project, "tsx", "generated/main.ts"), "ts7 tsx");
        npx(
          project,
          "esbuild",
          "generated/main.ts",
          "--bundle",
          "--platform=node",
          "--format=esm",
          "--outfile=bundle/main.mjs",
          "--log-level=warning",
        );
        expectSeedGradients(mustRun("node", "node", ["bundle/main.mjs"], project), "ts7 esbuild");
      },
      TEST_TIMEOUT,
    );
  });
});
