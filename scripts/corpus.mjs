// npm run corpus: how much real-world-style numeric code tsgrad differentiates, and whether every
// gradient it generates is right. Compiles corpus/*.ts through the built transformer (dist/),
// checks each accepted function's gradient at its cases against Ridders' extrapolation (relative
// tolerance 1e-8), and prints the counts and the refusals grouped by cause.
//
//   npm run corpus                          the summary and the table of refusal causes
//   node scripts/corpus.mjs --verbose       each function's status and first diagnostic
//   node scripts/corpus.mjs --only REGEX    the functions whose `file:name` matches
//
// Exits 1 if an accepted function's gradient is wrong or the corpus has a problem of its own.

import { rmSync } from "node:fs";
import tsgradTransformer from "../dist/transformer/hosts/tsc.js";
import { report, runCorpus, summarize } from "./corpus-lib.mjs";

const argv = process.argv.slice(2);
const verbose = argv.includes("--verbose") || argv.includes("-v");
const onlyAt = argv.indexOf("--only");
const only = onlyAt >= 0 ? new RegExp(argv[onlyAt + 1]) : undefined;

const started = performance.now();
const result = await runCorpus(tsgradTransformer, { only });
console.log(report(result, { verbose }));
console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
rmSync(result.outDir, { recursive: true, force: true });
process.exit(summarize(result).wrong.length || result.problems.length ? 1 : 0);
