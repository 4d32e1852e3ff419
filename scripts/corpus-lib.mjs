// The corpus runner's logic, shared by scripts/corpus.mjs (npm run corpus) and test/corpus.test.ts:
// compile every file of corpus/ through tsgrad's transformer in one program, find each
// `@differentiable` function in the source, give it the diagnostics whose node lies inside it, and
// check the gradient of every accepted one at each of its cases against Ridders' extrapolation.
//
// A case (corpus/cases.ts) is an argument list, or { args, fn?, self?, wrt? } when the function
// value is not an export reachable by its name (a closure, a class method) or only some arguments
// are to be checked. Derivatives are taken with respect to every number in the arguments (inside
// arrays and objects too); strings and booleans pass through. Each accepted function is checked
// through grad(f) (its f_grad) and valueAndGrad(f) (its forward and backward passes), whose value
// must also be f's.

import { mkdirSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";
import { compilerOptions } from "./bench/compile.mjs";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const corpusDir = join(root, "corpus");

/** |g - fd| <= TOLERANCE * max(1, |fd|), entry by entry. */
export const TOLERANCE = 1e-8;

// ---------------------------------------------------------------------------------------------
// Ridders' method (Numerical Recipes' dfridr): central differences with the step shrinking by CON,
// extrapolated to h → 0 in a Neville tableau; keep the entry whose error estimate is smallest, and
// stop once the tableau's diagonal grows worse than SAFE times the best error.

const CON = 1.4;
const CON2 = CON * CON;
const NTAB = 10;
const SAFE = 2;

/**
 * The derivative of f (a function of one number) at x, with Ridders' error estimate. The first
 * step is a guess at the scale f varies on; where it spans a kink nearby (haversine's distance
 * near 0 is 0.8 degrees from lat = 40), the tableau's error estimate says so, and smaller first
 * steps are tried: the result with the smallest estimate is kept.
 */
export function ridders(f, x, h = 0.02 * Math.max(1, Math.abs(x))) {
  let best = riddersFrom(f, x, h);
  for (let shrink = 16; shrink <= 4096 && best.error > 1e-10 * Math.max(1, Math.abs(best.value)); shrink *= 16) {
    const next = riddersFrom(f, x, h / shrink);
    if (next.error < best.error) best = next;
  }
  return best;
}

function riddersFrom(f, x, h) {
  const a = Array.from({ length: NTAB }, () => new Array(NTAB).fill(0));
  const central = (step) => {
    const up = x + step;
    const down = x - step;
    return (f(up) - f(down)) / (up - down);
  };
  a[0][0] = central(h);
  let best = a[0][0];
  let error = Infinity;
  for (let i = 1; i < NTAB; i++) {
    h /= CON;
    a[0][i] = central(h);
    let fac = CON2;
    for (let j = 1; j <= i; j++) {
      a[j][i] = (a[j - 1][i] * fac - a[j - 1][i - 1]) / (fac - 1);
      fac *= CON2;
      const e = Math.max(Math.abs(a[j][i] - a[j - 1][i]), Math.abs(a[j][i] - a[j - 1][i - 1]));
      if (e <= error) {
        error = e;
        best = a[j][i];
      }
    }
    if (Math.abs(a[i][i] - a[i - 1][i - 1]) >= SAFE * error) break;
  }
  return { value: best, error };
}

// ---------------------------------------------------------------------------------------------
// Arguments as trees of numbers.

const isArrayLike = (v) => Array.isArray(v) || ArrayBuffer.isView(v);

/** A copy of an argument tree; typed arrays become Float64Arrays, so a perturbation is not rounded. */
function clone(v) {
  if (ArrayBuffer.isView(v)) return Float64Array.from(v);
  if (Array.isArray(v)) return v.map(clone);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)]));
  return v;
}

/** The paths of the numbers in an argument list: [[0], [1, 2], [2, "lat"], ...]. */
function numberPaths(v, path = []) {
  if (typeof v === "number") return [path];
  if (isArrayLike(v)) return Array.from(v, (x, i) => numberPaths(x, [...path, i])).flat();
  if (v && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => numberPaths(x, [...path, k]));
  return [];
}

const at = (v, path) => path.reduce((x, k) => (x == null ? undefined : x[k]), v);

function setAt(v, path, value) {
  const parent = at(v, path.slice(0, -1));
  parent[path[path.length - 1]] = value;
}

const show = (path) =>
  `arg${path[0]}${path
    .slice(1)
    .map((k) => `[${JSON.stringify(k)}]`)
    .join("")}`;

/**
 * Checks grads (one per argument, as grad(f) returns them) against Ridders at every number of
 * args. Returns the worst entry: { path, g, fd, fdError, excess } where excess > 1 fails.
 */
function compareToRidders(fn, self, args, grads, wrt) {
  let worst = { excess: 0 };
  for (const path of numberPaths(args).filter((p) => !wrt || wrt.includes(p[0]))) {
    const moved = clone(args);
    const f = (x) => (setAt(moved, path, x), fn.apply(self, moved));
    const { value: fd, error: fdError } = ridders(f, at(args, path));
    const g = at(grads, path);
    const excess = typeof g === "number" ? Math.abs(g - fd) / (TOLERANCE * Math.max(1, Math.abs(fd))) : Infinity;
    if (!(excess <= worst.excess)) worst = { path: show(path), g, fd, fdError, excess };
  }
  return worst;
}

// ---------------------------------------------------------------------------------------------
// Finding the @differentiable functions of a file, with a name and a source range each.

const TAG = /^\/\*\*[\s\S]*@differentiable\b/;

/** A JSDoc with the tag before the node, on lines of its own or on the line before it (`return /** ... *\/ (t) => ...`). */
function marked(node, text) {
  const at = node.getFullStart();
  const comments = [...(ts.getLeadingCommentRanges(text, at) ?? []), ...(ts.getTrailingCommentRanges(text, at) ?? [])];
  return comments.some((c) => TAG.test(text.slice(c.pos, c.end)));
}

const propertyName = (n) => (n && (ts.isIdentifier(n) || ts.isStringLiteral(n)) ? n.text : "?");

/** `vec3.dot` for a member of `const vec3 = {...}`, `Huber.loss` for a class method, `backIn()` for a returned closure. */
function nameOf(fn) {
  let node = fn;
  const keys = [];
  if (ts.isFunctionDeclaration(node)) return node.name?.text ?? "?";
  if (ts.isMethodDeclaration(node)) keys.unshift(propertyName(node.name));
  for (node = fn.parent; node; node = node.parent) {
    if (ts.isPropertyAssignment(node)) keys.unshift(propertyName(node.name));
    else if (ts.isVariableDeclaration(node)) return [propertyName(node.name), ...keys].join(".");
    else if (ts.isClassLike(node)) return [node.name?.text ?? "(class)", ...keys].join(".");
    else if (ts.isFunctionLike(node)) return `${nameOf(node)}()${keys.length ? "." + keys.join(".") : ""}`;
  }
  return keys.join(".") || "?";
}

/** The node a tag may sit on: the function, its property assignment, or its one-declaration `const`. */
function declaringNode(fn) {
  const p = fn.parent;
  if (ts.isPropertyAssignment(p)) return p;
  if (ts.isVariableDeclaration(p) && p.parent.declarations.length === 1) return p.parent.parent;
  return fn;
}

export function findFunctions(sourceFile) {
  const text = sourceFile.text;
  const found = [];
  const visit = (node) => {
    if (
      (ts.isFunctionDeclaration(node) ||
        ts.isMethodDeclaration(node) ||
        ts.isFunctionExpression(node) ||
        ts.isArrowFunction(node)) &&
      (marked(node, text) || marked(declaringNode(node), text))
    ) {
      const outer = declaringNode(node);
      found.push({ id: nameOf(node), node, pos: outer.getFullStart(), end: outer.getEnd() });
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

// ---------------------------------------------------------------------------------------------
// Compiling and classifying.

const message = (d) => ts.flattenDiagnosticMessageText(d.messageText, " ").replace(/^tsgrad: /, "");
const where = (d) => {
  if (!d.file || d.start === undefined) return "";
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  return `${d.file.fileName.split("/").pop()}:${line + 1}:${character + 1}`;
};

/**
 * Compiles corpus/*.ts with `transformer` (tsgrad's tsc plugin factory) into a fresh folder under
 * .tsgrad-tmp/, loads each file, and checks each function. Returns { functions, problems, outDir }:
 * one record per function ({ file, id, status, diagnostics, cases, worst, error }), its status
 * "correct", "wrong" (a gradient off, or an error from the generated code), "refused" (a tsgrad
 * diagnostic inside it), "ignored" (no diagnostic, no gradient) or "crashed" (the transformer threw
 * on its file); problems lists what is wrong besides (type errors, crashes, functions without cases).
 */
export async function runCorpus(transformer, { dir = corpusDir, only } = {}) {
  const runtime = await import(pathToFileURL(join(root, "dist", "runtime", "index.js")).href);
  const outDir = join(root, ".tsgrad-tmp", "corpus", `run-${process.pid}-${Date.now()}`);
  mkdirSync(outDir, { recursive: true });
  const names = readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));
  const program = ts.createProgram(
    names.map((f) => join(dir, f)),
    { ...compilerOptions, rootDir: dir, outDir },
  );
  const diagnostics = [...ts.getPreEmitDiagnostics(program)];
  const before = [transformer(program, {}, { addDiagnostic: (d) => diagnostics.push(d) })];
  const problems = [];
  // One file at a time, so that a transformer crashing on one file leaves the others checked.
  const crashed = new Set();
  for (const name of names) {
    try {
      program.emit(program.getSourceFile(join(dir, name)), undefined, undefined, false, { before });
    } catch (e) {
      crashed.add(name);
      problems.push(`${name}: the transformer crashed: ${e instanceof Error ? e.stack : e}`);
      program.emit(program.getSourceFile(join(dir, name))); // plain JavaScript, for the files importing it
    }
  }

  const functions = [];
  for (const name of names) {
    const sourceFile = program.getSourceFile(join(dir, name));
    const found = findFunctions(sourceFile);
    if (!found.length) continue;
    for (const d of diagnostics.filter((d) => d.file === sourceFile)) {
      const inside = found.filter((f) => f.pos <= d.start && d.start < f.end);
      const fn = inside.sort((a, b) => a.end - a.pos - (b.end - b.pos))[0];
      if (fn && d.code >= 94000 && d.code < 95000) (fn.diagnostics ??= []).push(d);
      else problems.push(`${where(d)}: TS${d.code} ${message(d)}`);
    }
    let module = {};
    let unloaded;
    if (!crashed.has(name)) {
      try {
        module = await import(pathToFileURL(join(outDir, name.replace(/\.ts$/, ".js"))).href);
      } catch (e) {
        unloaded = `the compiled module fails to load: ${e instanceof Error ? e.message : e}`;
        problems.push(`${name}: ${unloaded}`);
      }
    }
    const cases = module.cases ?? {};
    for (const key of Object.keys(cases))
      if (!found.some((f) => f.id === key)) problems.push(`${name}: cases.${key} names no @differentiable function`);
    for (const f of found) {
      if (only && !only.test(`${name}:${f.id}`)) continue;
      const record = {
        file: name,
        id: f.id,
        diagnostics: (f.diagnostics ?? []).map((d) => ({ code: d.code, text: message(d), at: where(d) })),
      };
      functions.push(record);
      const list = cases[f.id] ?? [];
      if (crashed.has(name)) record.status = "crashed";
      else if (record.diagnostics.length) record.status = "refused";
      else if (unloaded) Object.assign(record, { status: "wrong", error: unloaded });
      else if (!list.length) {
        record.status = "untested";
        problems.push(`${name}: ${f.id} has no cases`);
      } else {
        try {
          checkFunction(runtime, module, f.id, list, record);
        } catch (e) {
          record.status = "wrong";
          record.error = e instanceof Error ? e.message : String(e);
        }
      }
    }
  }
  return { functions, problems, outDir };
}

/** The function a case calls, and its `this`. */
function resolveCase(module, id, c) {
  const args = Array.isArray(c) ? c : c.args;
  const wrt = Array.isArray(c) ? undefined : c.wrt;
  if (!Array.isArray(c) && c.fn) return { fn: c.fn, self: c.self, args, wrt };
  const path = id.split(".");
  if (!Array.isArray(c) && c.self) return { fn: c.self[path[path.length - 1]], self: c.self, args, wrt };
  const self = at(module, path.slice(0, -1));
  const fn = at(module, path);
  if (typeof fn !== "function") throw new Error(`${id} is not an export of its module; give its cases a fn`);
  return { fn, self, args, wrt };
}

/** The arguments as JSON, typed arrays as lists. */
const showArgs = (args) => JSON.stringify(args, (_, v) => (ArrayBuffer.isView(v) ? Array.from(v) : v));

/** Runs `call`, turning what it throws into an error that says which call threw, where. */
function attempt(what, args, call) {
  try {
    return call();
  } catch (e) {
    throw new Error(`${what} threw at ${showArgs(args)}: ${e instanceof Error ? e.message : e}`);
  }
}

function checkFunction(runtime, module, id, list, record) {
  record.cases = list.length;
  record.worst = { excess: 0 };
  for (const c of list) {
    const { fn, self, args, wrt } = resolveCase(module, id, c);
    if (!runtime.isDifferentiable(fn)) {
      record.status = "ignored";
      return;
    }
    const value = attempt("f", args, () => fn.apply(self, clone(args)));
    const viaGrad = attempt("grad(f)", args, () => runtime.grad(fn).apply(self, clone(args)));
    const both = attempt("valueAndGrad(f)", args, () => runtime.valueAndGrad(fn).apply(self, clone(args)));
    if (!(Math.abs(both.value - value) <= 1e-10 * Math.max(1, Math.abs(value))))
      throw new Error(`valueAndGrad(f) gives the value ${both.value} where f gives ${value}, at ${showArgs(args)}`);
    for (const [how, grads] of [
      ["grad(f)", viaGrad],
      ["valueAndGrad(f)", both.grad],
    ]) {
      const worst = compareToRidders(fn, self, args, grads, wrt);
      if (worst.excess > record.worst.excess || Number.isNaN(worst.excess))
        record.worst = { ...worst, how, args: showArgs(args) };
    }
  }
  record.status = record.worst.excess <= 1 ? "correct" : "wrong";
}

// ---------------------------------------------------------------------------------------------
// Reporting.

const KEEP = new Set(
  (
    "var let const throw switch case try catch new typeof this return break continue for while do if else in of " +
    "function class yield async await delete void instanceof with super import export string number boolean object"
  ).split(" "),
);

/**
 * A refusal's cause, for grouping: `TS94008 `_` is a mutable variable outside this @differentiable
 * function`. The message up to its first `;` or `: ` (at most `words` words), with what names the
 * user's code in it made `_`: a backticked span is kept if it is a keyword, has no letters
 * (`++`), is a `for...of`, a `Math.` name or a type (`ArrayLike<number>`, `readonly number[][]`).
 */
export function cause(d, words = 12) {
  const keep = (s) =>
    KEEP.has(s) ||
    !/[A-Za-z]/.test(s) ||
    /^(for|Math)\./.test(s) ||
    /<|\[\]|^readonly |^(Float32|Float64|Int32)Array/.test(s);
  const text = d.text.replace(/`([^`]*)`/g, (all, s) => (keep(s) ? all : "`_`")).split(/; |: /)[0];
  const split = text.split(/\s+/);
  return `TS${d.code} ${split.slice(0, words).join(" ")}${split.length > words ? " ..." : ""}`;
}

export function summarize({ functions }) {
  const n = functions.length;
  const count = (s) => functions.filter((f) => f.status === s).length;
  const wrong = functions.filter((f) => f.status === "wrong");
  const accepted = count("correct") + wrong.length;
  const causes = new Map();
  const unexplained = {
    ignored: "(no diagnostic) tagged but no gradient generated",
    crashed: "(the transformer crashed on the file)",
    untested: "(no cases)",
  };
  for (const f of functions.filter((f) => f.status !== "correct" && f.status !== "wrong")) {
    const key = unexplained[f.status] ?? cause(f.diagnostics[0]);
    causes.set(key, (causes.get(key) ?? 0) + 1);
  }
  return { n, accepted, correct: count("correct"), wrong, causes: [...causes].sort((a, b) => b[1] - a[1]) };
}

const fmt = (x) => (typeof x === "number" ? x.toPrecision(12) : String(x));

export function describeWrong(f) {
  if (f.error) return `${f.file} ${f.id}: ${f.error}`;
  const w = f.worst;
  return `${f.file} ${f.id}: ${w.how} ${w.path} = ${fmt(w.g)}, Ridders ${fmt(w.fd)} (± ${w.fdError?.toExponential(1)}), ${w.excess.toExponential(2)} x tolerance, at ${w.args}`;
}

export function report(result, { verbose = false } = {}) {
  const { n, accepted, correct, wrong, causes } = summarize(result);
  const lines = [];
  if (verbose) {
    const width = Math.max(...result.functions.map((f) => `${f.file} ${f.id}`.length));
    for (const f of result.functions) {
      const first = f.diagnostics[0];
      const detail =
        f.status === "correct"
          ? `${f.cases} cases, worst ${f.worst.excess.toExponential(1)} x tolerance`
          : f.status === "wrong"
            ? describeWrong(f)
            : first
              ? `${first.at} TS${first.code} ${first.text}`
              : ({ untested: "no cases", crashed: "the transformer crashed on its file" }[f.status] ??
                "no gradient generated, and no diagnostic");
      lines.push(`${`${f.file} ${f.id}`.padEnd(width)}  ${f.status.padEnd(8)}  ${detail}`);
    }
    lines.push("");
  }
  lines.push(`accepted ${accepted}/${n}, correct ${correct}/${n}, wrong ${wrong.length}`);
  for (const f of wrong) lines.push(`  WRONG ${describeWrong(f)}`);
  if (causes.length) {
    lines.push("", "not accepted, by the first diagnostic's cause:");
    const width = Math.max(...causes.map(([c]) => c.length));
    for (const [c, k] of causes) lines.push(`  ${c.padEnd(width)}  ${String(k).padStart(3)}`);
  }
  for (const p of result.problems) lines.push(`corpus problem: ${p}`);
  return lines.join("\n");
}
