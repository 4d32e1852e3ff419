// Types of scripts/corpus-lib.mjs, for test/corpus.test.ts.

import type ts from "typescript";

export const root: string;
export const corpusDir: string;
export const TOLERANCE: number;

export interface Diagnostic {
  code: number;
  text: string;
  at: string;
}

export interface FunctionResult {
  file: string;
  id: string;
  status: "correct" | "wrong" | "refused" | "ignored" | "crashed" | "untested";
  diagnostics: Diagnostic[];
  cases?: number;
  worst?: { path?: string; g?: number; fd?: number; fdError?: number; excess: number; how?: string; args?: string };
  error?: string;
}

export interface CorpusResult {
  functions: FunctionResult[];
  problems: string[];
  outDir: string;
}

type Transformer = (
  program: ts.Program,
  config?: unknown,
  extras?: { addDiagnostic?: (d: ts.Diagnostic) => unknown },
) => ts.TransformerFactory<ts.SourceFile>;

export function ridders(f: (x: number) => number, x: number, h?: number): { value: number; error: number };
export function findFunctions(sourceFile: ts.SourceFile): { id: string; node: ts.Node; pos: number; end: number }[];
export function runCorpus(transformer: Transformer, options?: { dir?: string; only?: RegExp }): Promise<CorpusResult>;
export function cause(d: Diagnostic, words?: number): string;
export function summarize(result: CorpusResult): {
  n: number;
  accepted: number;
  correct: number;
  wrong: FunctionResult[];
  causes: [string, number][];
};
export function describeWrong(f: FunctionResult): string;
export function report(result: CorpusResult, options?: { verbose?: boolean }): string;
