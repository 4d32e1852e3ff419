// Writes the README's "When tsgrad says no" table from the language table
// (transformer/ir/language.ts): one row per diagnostic code, saying what it refuses, the phrases of
// that code's entries. `npm run docs:language` rewrites the block between the markers;
// `node scripts/language-docs.mjs --check` exits 1 when it is out of date.
// test/language.table.test.ts checks the README against the same rendering.

import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

export const BEGIN =
  "<!-- language:refusals (generated from transformer/ir/language.ts by `npm run docs:language`) -->";
export const END = "<!-- /language:refusals -->";

/** rows: [{ code: 94001, refused: "statements other than ..." }] → the markdown table. */
export function renderRefusals(rows) {
  return ["| code | refused |", "| --- | --- |", ...rows.map((r) => `| TS${r.code} | ${r.refused} |`)].join("\n");
}

/** The text between the markers (without them), or undefined when the README has no such block. */
export function readmeBlock(readme) {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) return undefined;
  return readme
    .slice(start + BEGIN.length, end)
    .replace(/^\n/, "")
    .replace(/\n$/, "");
}

export function withBlock(readme, table) {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${BEGIN} ... ${END} block`);
  return `${readme.slice(0, start + BEGIN.length)}\n${table}\n${readme.slice(end)}`;
}

async function main() {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const { refusalsByCode } = await import(pathToFileURL(`${root}dist/transformer/ir/language.js`).href);
  const readmePath = `${root}README.md`;
  const readme = readFileSync(readmePath, "utf8");
  const updated = withBlock(readme, renderRefusals(refusalsByCode()));
  if (process.argv.includes("--check")) {
    if (updated !== readme) {
      console.error("README.md's refusal table is out of date: run npm run docs:language");
      process.exit(1);
    }
    return;
  }
  if (updated !== readme) writeFileSync(readmePath, updated);
  console.log(updated === readme ? "README.md is up to date" : "README.md: refusal table rewritten");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
