// Runs the compiler's phases one by one on a small source, as transformer/pipeline.ts does
// (compileFunction, backwardPass), so each phase's test can stop at its own phase and read its IR.
// The source is written under .tsgrad-tmp/ (where `import ... from "tsgrad"` resolves) and built
// into a program with the test harness's options.

import { createHash, randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compilerOptions, createProgram, root } from "../harness.js";
import { type Activity, analyzeActivity } from "../../transformer/phases/activity.js";
import { type Differentiable, findDifferentiable } from "../../transformer/phases/annotations.js";
import { stageFunction } from "../../transformer/pipeline.js";
import { type Reversed, reverse } from "../../transformer/phases/reverse.js";
import { finishBackward, pruneForward, readsOf } from "../../transformer/phases/optimize.js";
import { preaccumulate } from "../../transformer/phases/preaccumulate.js";
import { save } from "../../transformer/phases/save.js";
import { skipZeroGradients } from "../../transformer/phases/skip-zeros.js";
import { fuse } from "../../transformer/phases/fuse.js";
import { type Pooled, poolMatrices } from "../../transformer/phases/pool.js";
import { type BStmt, type Expr, type Stmt, type StagedFunction, num, resultNames } from "../../transformer/ir/ir.js";
import { Namer, generatedNames } from "../../transformer/ir/naming.js";
import { printExpr } from "../../transformer/ir/print.js";
import { type FileContext, fileContext, runtimeName } from "../../transformer/link.js";

const tmp = join(root, ".tsgrad-tmp", "phases");

export interface Staged {
  d: Differentiable;
  ctx: FileContext;
  namer: Namer;
  staged: StagedFunction;
}

/** The stage phase on the @differentiable function `name` of `source` (the only one if absent). */
export function stageOf(source: string, name?: string): Staged {
  mkdirSync(tmp, { recursive: true });
  const id = `${createHash("sha1").update(source).digest("hex").slice(0, 10)}_${randomUUID().slice(0, 8)}`;
  const path = join(tmp, `phase_${id}.ts`);
  writeFileSync(path, source);
  const program = createProgram([path], { ...compilerOptions, noEmit: true });
  const file = program.getSourceFile(path)!;
  const ctx = fileContext(file, program);
  const all = findDifferentiable(file);
  const d = name === undefined ? all[0] : all.find((x) => x.name === name);
  if (!d) throw new Error(`no @differentiable function ${name ?? ""}`);
  const namer = new Namer(Object.values(generatedNames(d.name)));
  const staged = stageFunction(d, ctx, namer);
  return { d, ctx, namer, staged };
}

export interface Reverse extends Staged {
  activity: Activity;
  reversed: Reversed;
  /** The seed's namer, forked as compileFunction forks it for f_grad. */
  gNamer: Namer;
}

/** Stage, activity, then reverse with the seed 1 (f_grad's). */
export function reverseOf(source: string, name?: string): Reverse {
  const s = stageOf(source, name);
  const activity = analyzeActivity(s.staged);
  if (activity.errors.length) throw new Error(activity.errors.map((e) => e.message).join("; "));
  const gNamer = s.namer.fork();
  const reversed = reverse(s.staged, activity, gNamer, num(1), (n) => runtimeName(s.ctx, n, gNamer));
  return { ...s, activity, reversed, gNamer };
}

/** ...then optimize (finishBackward), without preaccumulate. */
export function optimizeOf(source: string, name?: string): Reverse & { backward: BStmt[] } {
  const r = reverseOf(source, name);
  const { backward, paramAdjoints, adjoints } = r.reversed;
  return { ...r, backward: finishBackward(backward, paramAdjoints, adjoints) };
}

export const results = (s: StagedFunction) => resultNames(s);

/** One line per statement, nested blocks indented by two spaces, expressions by printExpr. */
export function printBackward(body: readonly BStmt[], indent = ""): string[] {
  return body.flatMap((s): string[] => {
    const at = (e?: Expr) => (e ? `[${printExpr(e)}]` : "");
    switch (s.k) {
      case "acc":
        return [
          `${indent}${s.declare ? "let " : ""}${s.adj}${at(s.index)} ${s.declare ? "=" : "+="} ${printExpr(s.value)}`,
        ];
      case "set":
        return [`${indent}${s.declare ? "let " : ""}${s.adj}${at(s.index)} = ${printExpr(s.value)}`];
      case "zero":
        return [`${indent}let ${s.adj} = 0`];
      case "if":
        return [
          `${indent}if (${printExpr(s.test)}) {`,
          ...printBackward(s.then, indent + "  "),
          ...(s.else.length ? [`${indent}} else {`, ...printBackward(s.else, indent + "  ")] : []),
          `${indent}}`,
        ];
      case "comment":
        return [`${indent}// ${s.def.name} = ${printExpr(s.def.value)}`];
      case "note":
        return [`${indent}// ${s.text}`];
      case "grads":
        return [`${indent}[${s.names.join(", ")}] = ${printExpr(s.callee)}(${s.args.map(printExpr).join(", ")})`];
      case "kernel":
        return [`${indent}${s.callee}(${s.args.map(printExpr).join(", ")})`];
      case "alloc":
        return [
          `${indent}${s.adj} = ${s.from ? `copy ${s.from}` : s.same ? s.same : `${s.zeros || "zeros"}(${s.like})`}`,
        ];
      case "pop":
        return [
          `${indent}${s.declare ? "const " : ""}${s.name} = ${s.slot ? `${s.slot.array}[${printExpr(s.slot.index)}]` : "pop"}`,
        ];
      case "recompute":
        return [`${indent}recompute {`, ...printForward(s.body, indent + "  "), `${indent}}`];
      case "loop":
        return [`${indent}loop {`, ...printBackward(s.body, indent + "  "), `${indent}}`];
      case "check":
        return [`${indent}check ${s.adj}`];
      case "rebind":
        return [
          `${indent}[${s.names.join(", ")}] = [${s.from.join(", ")}]`,
          ...(s.adjoints ? [`${indent}[${s.adjoints.names.join(", ")}] = [${s.adjoints.from.join(", ")}]`] : []),
        ];
      case "release":
        return s.names.map((n) => `${indent}${s.callee}(${n})`);
    }
  });
}

/** One line per forward statement, in the same style. */
export function printForward(body: readonly Stmt[], indent = ""): string[] {
  return body.flatMap((s): string[] => {
    switch (s.k) {
      case "def":
        return [`${indent}${s.assign || s.overwrite ? "" : "const "}${s.name} = ${printExpr(s.value)}`];
      case "let":
        return [`${indent}let ${s.name}`];
      case "if":
        return [
          `${indent}if (${printExpr(s.test)}) {`,
          ...printForward(s.then, indent + "  "),
          ...(s.else.length ? [`${indent}} else {`, ...printForward(s.else, indent + "  ")] : []),
          `${indent}}`,
        ];
      case "loop":
        return [`${indent}loop {`, ...printForward(s.body, indent + "  "), `${indent}}`];
      case "push":
        return [`${indent}${s.slot ? `${s.slot.array}[${printExpr(s.slot.index)}] = ${s.name}` : `push ${s.name}`}`];
      case "array":
        return [`${indent}const ${s.name} = new ${s.kind}(${printExpr(s.length)})`];
      case "store":
        return [`${indent}${s.array}[${printExpr(s.index)}] ${s.add ? "+=" : "="} ${printExpr(s.value)}`];
      case "throw":
        return [`${indent}throw ${s.expression.getText()}`];
      case "rebind":
        return [`${indent}[${s.names.join(", ")}] = [${s.from.join(", ")}]`];
      case "release":
        return s.names.map((n) => `${indent}${s.callee}(${n})`);
    }
  });
}

/**
 * f_grad's passes after optimize, as compileFunction's gradient() runs them: preaccumulate, save,
 * skip zeros (backwardPass), then the forward pass pruned to what the backward pass reads.
 */
export function savedOf(source: string, name?: string): Reverse & { forward: Stmt[]; backward: BStmt[] } {
  const r = reverseOf(source, name);
  const { backward, paramAdjoints, adjoints } = r.reversed;
  const finished = preaccumulate(finishBackward(backward, paramAdjoints, adjoints), adjoints, r.gNamer);
  const saved = save(r.staged.body, finished, r.gNamer, resultNames(r.staged));
  const back = skipZeroGradients(saved.backward);
  return { ...r, forward: pruneForward(saved.forward, readsOf(back)), backward: back };
}

/** ...then fuse and pool, with the runtime's matrixPool, as f_grad gets them. */
export function pooledOf(source: string, name?: string): Reverse & Pooled & { pool: string } {
  const s = savedOf(source, name);
  const runtime = (n: string) => runtimeName(s.ctx, n, s.gNamer);
  const pool = runtime("matrixPool");
  const fused = fuse(s.forward, s.backward, runtime);
  return { ...s, ...poolMatrices(fused.forward, fused.backward, pool, runtime), pool };
}
