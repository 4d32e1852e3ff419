// The Vite/Vitest plugin: its transform hook called directly (what it transforms, what it leaves
// alone, the error Vite shows for a refused function, the cache following edits), and one real
// Vitest run of a small project that uses the built plugin from its vitest.config.ts and checks
// gradients and a stack trace's line and column through the plugin's source map.

import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import tsgrad from "../transformer/hosts/vite.js";
import { root } from "./harness.js";

const seedPath = join(root, "examples/seed.ts");
const seed = readFileSync(seedPath, "utf8");

type Result = { code: string; map: { mappings: string } } | null;

/** Calls the plugin's transform hook as Vite does; `this.error` throws what Vite would show. */
function transform(plugin: ReturnType<typeof tsgrad>, code: string, id: string): Result {
  const context = {
    error(e: { message: string }, pos: { line: number; column: number }): never {
      throw Object.assign(new Error(e.message), { pos });
    },
  };
  return (plugin.transform as unknown as (this: typeof context, code: string, id: string) => Result).call(
    context,
    code,
    id,
  );
}

describe("transform hook", () => {
  it("adds the generated gradients to a module with @differentiable functions", () => {
    const out = transform(tsgrad(), seed, seedPath)!;
    expect(out.code).toContain("export function staged_grad(x: number, y: number)");
    expect(out.code).toContain("let dnum = invden;");
    expect(out.code).toMatch(/import \{ registerGradient \} from "tsgrad"/);
    expect(out.map.mappings.split(";")).toHaveLength(out.code.split("\n").length);
  });

  it("leaves alone files that do not mention tsgrad, and non-TypeScript files", () => {
    const plugin = tsgrad();
    expect(transform(plugin, "export const a = 1;\n", join(root, "examples/a.ts"))).toBeNull();
    expect(transform(plugin, seed, join(root, "examples/seed.js"))).toBeNull();
    expect(transform(plugin, seed, join(root, "node_modules/x/seed.ts"))).toBeNull();
  });

  it("a refused function is a Vite error at its file, line and column", () => {
    const id = join(root, ".tsgrad-tmp/vite-hook/loop.ts");
    const code =
      "/** @differentiable */\nexport function f(x: number): number {\n  let s = 0;\n  for (const k in { a: 1 }) s += x;\n  return s;\n}\n";
    try {
      transform(tsgrad(), code, id);
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/loop\.ts\(4,3\): error TS94002: tsgrad: /);
      expect((e as { pos: unknown }).pos).toEqual({ line: 4, column: 2 });
    }
  });

  it("follows edits: the same id with new text is transformed anew", () => {
    const plugin = tsgrad();
    const id = join(root, ".tsgrad-tmp/vite-hook/edit.ts");
    const fn = (body: string) =>
      `/** @differentiable */\nexport function f(x: number): number {\n  return ${body};\n}\n`;
    expect(transform(plugin, fn("5 * x"), id)!.code).toMatch(/let dx = 5;/);
    expect(transform(plugin, fn("7 * x"), id)!.code).toMatch(/let dx = 7;/);
  });
});

describe("a real Vitest run with the plugin", () => {
  const dir = join(root, ".tsgrad-tmp/vite-case");
  const files: Record<string, string> = {
    "tsconfig.json": JSON.stringify({
      compilerOptions: {
        target: "es2022",
        module: "nodenext",
        moduleResolution: "nodenext",
        strict: true,
        skipLibCheck: true,
        types: [],
      },
    }),
    "vitest.config.ts": `import { defineConfig } from "vitest/config";\nimport tsgrad from "../../dist/transformer/hosts/vite.js";\n\nexport default defineConfig({ plugins: [tsgrad()] });\n`,
    "seed.ts": seed,
    // The Error is made on line 6, column 10 of after.ts; generated code is inserted above it, so
    // only the source map puts the stack trace back there.
    "after.ts": `/** @differentiable */\nexport function sq(x: number): number {\n  return x * x;\n}\nexport function boom(): Error {\n  return new Error("boom");\n}\n`,
    "seed.test.ts": `import { expect, it } from "vitest";
import { grad, valueAndGrad, vjp } from "tsgrad";
import { staged, circuit } from "./seed.js";
import { boom, sq } from "./after.js";

it("gradients of the seed's staged example", () => {
  const [dx, dy] = grad(staged)(3, -4);
  expect(dx).toBeCloseTo(2.0595697955721652, 12);
  expect(dy).toBeCloseTo(1.5922327514838093, 12);
  expect(valueAndGrad(circuit)(3, -4, 2, -1)).toEqual({ value: -20, grad: [-8, 6, 2, 0] });
  expect(vjp(staged)(3, -4).backward(2)[0]).toBeCloseTo(2 * 2.0595697955721652, 12);
  expect(grad(sq)(5)).toEqual([10]);
});

it("stack traces point at the user's line and column", () => {
  expect(boom().stack).toContain("after.ts:6:10");
});
`,
  };

  it("passes", () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    // The child is a fresh Vitest, not a worker of this one.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith("VITEST") && k !== "NODE_OPTIONS"),
    );
    const r = spawnSync(
      process.execPath,
      [join(root, "node_modules/vitest/vitest.mjs"), "run", "--root", dir, "--no-color"],
      { cwd: root, env, encoding: "utf8" },
    );
    const output = (r.stdout + r.stderr).replace(/\x1b\[[0-9;]*m/g, ""); // without colors
    expect(output).toMatch(/Tests\s+2 passed \(2\)/);
    expect(r.status, output).toBe(0);
  });
});
