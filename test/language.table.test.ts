// The language table (transformer/ir/language.ts) is the one definition of what tsgrad accepts:
// the README's refusal table is generated from it, its "What can be differentiated" list names
// what it accepts, and every refusal in the transformer is one of its rows.

import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { Code } from "../transformer/ir/diagnostics.js";
import {
  type Construct,
  LANGUAGE,
  MATH_PIECEWISE,
  MATH_RULES,
  refusalMessage,
  refusalsByCode,
} from "../transformer/ir/language.js";
import { readmeBlock, renderRefusals } from "../scripts/language-docs.mjs";

const root = join(import.meta.dirname, "..");
const readme = readFileSync(join(root, "README.md"), "utf8");
const entries = Object.entries(LANGUAGE as Record<string, Construct>);
const squash = (s: string) => s.replace(/\s+/g, " ");

/** The text of a README section, from its heading to the next heading of its level or above. */
function section(heading: string): string {
  const start = readme.indexOf(`\n${heading}\n`);
  expect(start, `README section ${heading}`).toBeGreaterThanOrEqual(0);
  const level = heading.split(" ")[0];
  const rest = readme.slice(start + heading.length + 2);
  const next = rest.search(new RegExp(`\\n#{1,${level.length}} `));
  return next < 0 ? rest : rest.slice(0, next);
}

/** The TypeScript sources of the transformer, by path relative to the repository. */
function sources(dir = join(root, "transformer")): Map<string, string> {
  const found = new Map<string, string>();
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sources(path).forEach((text, p) => found.set(p, text));
    else if (name.endsWith(".ts")) found.set(relative(root, path).split("\\").join("/"), readFileSync(path, "utf8"));
  }
  return found;
}

describe("the README's refusal table", () => {
  it("is the table rendered from language.ts (npm run docs:language rewrites it)", () => {
    const block = readmeBlock(readme);
    expect(block, "README.md has the generated block's markers").toBeDefined();
    expect(block).toBe(renderRefusals(refusalsByCode()));
  });

  it("has one row per diagnostic code, each refusing something", () => {
    const rows = [...readme.matchAll(/^\| TS(\d+) \| (.*) \|$/gm)].map((m) => ({ code: Number(m[1]), refused: m[2] }));
    expect(rows.map((r) => r.code).sort()).toEqual([...new Set(Object.values(Code))].sort());
    for (const r of rows) expect(r.refused.trim(), `TS${r.code}`).not.toBe("");
    // Each code refuses through at least one entry of the table.
    for (const code of Object.values(Code))
      expect(
        entries.some(([, c]) => !c.accepted && c.code === code),
        `an entry with TS${code}`,
      ).toBe(true);
  });
});

describe("the README's list of what can be differentiated", () => {
  const list = squash(section("## What can be differentiated"));

  it("names every construct the table accepts, as the table names it", () => {
    // The lists of Math functions are compared as sets, below: the README orders them its own way.
    const named = (what: string) => what.startsWith("`Math.") || list.includes(squash(what));
    const missing = entries.filter(([, c]) => c.accepted && !named(c.what)).map(([id, c]) => `${id}: ${c.what}`);
    expect(missing).toEqual([]);
  });

  it("lists exactly the Math functions with a rule in runtime/rules/scalar.ts, and the piecewise-constant ones", () => {
    const mathLists = [...list.matchAll(/`Math\.([a-z0-9 ]+)`/g)].map((m) => m[1].split(" "));
    expect(mathLists.map((l) => [...l].sort())).toContainEqual([...MATH_RULES].sort());
    expect(mathLists.map((l) => [...l].sort())).toContainEqual([...MATH_PIECEWISE].sort());
    expect(MATH_RULES).toContain("exp");
  });
});

describe("every refusal is a row of the table", () => {
  const files = sources();

  it("builds no DiffError and names no Code outside language.ts and diagnostics.ts", () => {
    const allowed = new Set(["transformer/ir/language.ts", "transformer/ir/diagnostics.ts"]);
    const offenders = [...files].flatMap(([path, text]) =>
      allowed.has(path)
        ? []
        : text
            .split("\n")
            .flatMap((line, i) =>
              /new DiffError\(|\bCode\.[A-Z]/.test(line) ? [`${path}:${i + 1}: ${line.trim()}`] : [],
            ),
    );
    expect(offenders).toEqual([]);
  });

  it("refuses only by ids of the table, and every refusal of the table is used", () => {
    const used = new Set(
      [...files.values()].flatMap((text) => [...text.matchAll(/\brefuse\(\s*"(\w+)"/g)].map((m) => m[1])),
    );
    const refused = entries.filter(([, c]) => !c.accepted).map(([id]) => id);
    expect([...used].filter((id) => !refused.includes(id))).toEqual([]);
    expect(refused.filter((id) => !used.has(id))).toEqual([]);
  });

  it("says what to do instead after the problem, in the messages that take no names", () => {
    expect(refusalMessage("forIn")).toBe(
      "`for...in` iterates over object keys, which have no derivative; use a counting `for` loop",
    );
    expect(refusalMessage("mutableCapture", { name: "k" })).toBe(
      "`k` is a mutable variable outside this @differentiable function; its value could change between the forward and backward pass. Pass it in as a parameter, or make it const",
    );
    expect(refusalMessage("compoundOperator", { operator: "&=" })).toBe(
      "`&=` has no derivative; use = += -= *= /= %= or **=",
    );
  });
});
