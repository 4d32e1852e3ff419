// A transformed file as text, for `tsgrad gen` and the Vite plugin (transformToText), and the
// generated functions alone for `tsgrad print` (generatedText): the user's text kept byte for
// byte, the generated code spliced in.

import ts from "typescript";
import { type Differentiable, findDifferentiable } from "./phases/annotations.js";
import * as emit from "./phases/emit.js";
import { generatedNames } from "./ir/naming.js";
import { type FunctionReport } from "./phases/report.js";
import { type CompiledFunction, type Stage } from "./pipeline.js";
import { type TransformOptions, aliasesAfter } from "./link.js";
import { rewriteApiCall } from "./calls.js";
import { aloneInParent, memberName, planFile } from "./plan.js";
import {
  CLOSURE,
  afterHeaderComment,
  compiledMethodsOf,
  importsOf,
  leadingStart,
  registrationCall,
  registrationOf,
  staticRegistration,
} from "./files.js";

/**
 * The transformed file as TypeScript text, for `tsgrad gen` and the Vite plugin. The user's text
 * is kept byte for byte (comments, blank lines, layout); generated code is spliced in after each
 * function, imports after the file's own imports, and `grad(f)` calls are replaced in place.
 */
export function transformToText(
  file: ts.SourceFile,
  program: ts.Program,
  stageName: Stage = "final",
  options: TransformOptions = {},
): { text: string; diagnostics: ts.Diagnostic[]; compiled: CompiledFunction[] } {
  const plan = planFile(file, program, stageName, false, options);
  const printer = ts.createPrinter({ newLine: ts.NewLineKind.LineFeed });
  const print = (n: ts.Node) => printer.printNode(ts.EmitHint.Unspecified, n, file);
  const edits: { pos: number; end: number; text: string }[] = [];

  const final = stageName === "final";
  const chunks = (cs: readonly CompiledFunction[], registered: boolean) =>
    cs
      .flatMap((c) => [
        ...c.members,
        ...(registered && final && !c.d.implicit ? [registrationOf(c, plan.register)] : []),
      ])
      .map(print);
  const insert = (pos: number, text: string) => edits.push({ pos, end: pos, text });
  for (const [anchor, cs] of plan.place.after) insert(anchor.end, `\n\n${chunks(cs, true).join("\n\n")}`);
  // A class's methods get theirs after each method, registered in the class's static block (below).
  for (const c of plan.compiled.values())
    if (c.d.place === "method") insert(c.d.anchor.end, `\n\n${chunks([c], false).join("\n\n")}`);
  const walk = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const rewritten = rewriteApiCall(node, plan.ctx, plan.diagnostics);
      if (rewritten) return void edits.push({ pos: node.getStart(file), end: node.end, text: print(rewritten) });
    }
    if ((ts.isClassDeclaration(node) || ts.isClassExpression(node)) && final) {
      const methods = compiledMethodsOf(node, plan);
      if (methods.length)
        edits.push({
          pos: node.members.end,
          end: node.members.end,
          text: `\n\n${print(staticRegistration(methods, plan.register))}\n`,
        });
    }
    // What goes around a node is opened before its children's edits and closed after them, so
    // edits at one position nest: `{ ...; return registerGradient((t) => ..., { ... }); }`.
    const close: string[] = [];
    const before = plan.place.before.get(node);
    if (before) {
      const alone = aloneInParent(node);
      insert(leadingStart(node), `${alone ? "{\n" : ""}${chunks(before, false).join("\n\n")}\n\n`);
      if (alone) close.push("\n}");
    }
    const body = ts.isArrowFunction(node) ? plan.place.body.get(node) : undefined;
    if (body && ts.isArrowFunction(node)) {
      insert(leadingStart(node.body), `{\n${chunks(body, false).join("\n\n")}\n\nreturn `);
      close.push(";\n}");
    }
    const closure = plan.place.closures.get(node);
    if (closure && final) {
      // registerGradient(<closure>, { grad: ..., ... }): the table printed around a placeholder.
      const call = print(registrationCall(closure, plan.register, emit.identifier(CLOSURE)));
      const [open, rest] = call.split(CLOSURE);
      insert(leadingStart(node), open);
      close.push(rest);
    }
    ts.forEachChild(node, walk);
    for (const text of close.reverse()) insert(node.end, text);
  };
  walk(file);

  for (const [statement, aliases] of aliasesAfter(plan.ctx)) {
    if (statement !== file)
      edits.push({ pos: statement.end, end: statement.end, text: `\n${aliases.map(print).join("\n")}` });
  }
  const imports = importsOf(plan).map(print);
  if (imports.length) {
    const lastImport = [...file.statements].reverse().find(ts.isImportDeclaration);
    const at = lastImport ? lastImport.end : afterHeaderComment(file.text);
    edits.push({
      pos: at,
      end: at,
      text: at > 0 ? `\n${lastImport ? "" : "\n"}${imports.join("\n")}` : `${imports.join("\n")}\n\n`,
    });
  }

  // Apply from the end backwards; at one position, the edit made first must end up first.
  let text = file.text;
  const order = edits.map((e, i) => ({ ...e, i })).sort((a, b) => b.pos - a.pos || b.i - a.i);
  for (const e of order) text = text.slice(0, e.pos) + e.text + text.slice(e.end);
  return { text, diagnostics: plan.diagnostics, compiled: [...plan.compiled.values()] };
}

/** Just the generated functions of a file (or of one function), as TypeScript text, unformatted. */
export function generatedText(
  file: ts.SourceFile,
  program: ts.Program,
  options: { stage?: Stage; fn?: string } & TransformOptions = {},
): { text: string; diagnostics: ts.Diagnostic[]; reports: FunctionReport[] } {
  // The whole file is planned, also with --fn: a function's pullbacks are what its callers ask for.
  const plan = planFile(file, program, options.stage ?? "final", false, options);
  const shown = (d: Differentiable) => !options.fn || d.name === options.fn || d.label === options.fn;
  const functions = findDifferentiable(file).filter(shown);
  const inShown = (diagnostic: ts.Diagnostic) =>
    functions.some((d) => diagnostic.start! >= d.anchor.getFullStart() && diagnostic.start! < d.anchor.end);
  const printer = ts.createPrinter({ newLine: ts.NewLineKind.LineFeed });
  const parts: string[] = [];
  const reports: FunctionReport[] = [];
  for (const c of plan.compiled.values()) {
    if (!shown(c.d)) continue;
    // f_gradInto is f_grad writing into given buffers: print leaves it out (gen and the plugins emit it).
    const members = c.members.filter((m) => memberName(m) !== generatedNames(c.d.name).gradInto);
    parts.push(...members.map((m) => printer.printNode(ts.EmitHint.Unspecified, m, file)));
    if (c.report) reports.push(c.report);
  }
  const diagnostics = options.fn ? plan.diagnostics.filter(inShown) : plan.diagnostics;
  return { text: parts.join("\n\n") + "\n", diagnostics, reports };
}
