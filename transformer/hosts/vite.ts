// Vite/Vitest plugin: `plugins: [tsgrad()]` in vite.config.ts or vitest.config.ts. Wiring only.
//
// Takes each .ts/.mts/.cts/.tsx module that mentions `@differentiable` or imports "tsgrad"; returns
// the same file as TypeScript with the generated gradient functions beside their originals
// (pipeline.transformToText), before Vite strips the types (enforce "pre"). Guarantees: a
// refused function is a Vite error at its file, line and column, with tsc's message; one
// ts.Program per project, rebuilt only when a file changes; a line-level source map, so stack
// traces and breakpoints in user code land on the user's lines (generated lines map to the
// nearest user line above them).

import type { Plugin } from "vite";
import { formatDiagnostics } from "../ir/diagnostics.js";
import { transformToText } from "../text.js";
import { LiveProject, readProjectConfig } from "./project.js";

export interface TsgradViteOptions {
  /** The tsconfig.json whose compiler options to use; default: the nearest one above each file. */
  tsconfig?: string;
  /**
   * Generate f_gradChecked for every function, for `grad(f, { checkFinite: true })`. Without it,
   * only functions that such a call in the module or its imports names get one.
   */
  checkFinite?: boolean;
}

const SOURCE = /\.(ts|mts|cts|tsx)$/;
const MENTIONS_TSGRAD = /@differentiable|["']tsgrad["']/;

export default function tsgrad(options: TsgradViteOptions = {}): Plugin {
  // One live project per tsconfig.json (a monorepo can have several).
  const projects = new Map<string, LiveProject>();
  const projectFor = (file: string): LiveProject => {
    const config = readProjectConfig(file, options.tsconfig);
    const key = config.configPath ?? "";
    if (!projects.has(key)) projects.set(key, new LiveProject(config));
    return projects.get(key)!;
  };

  return {
    name: "tsgrad",
    enforce: "pre",
    watchChange(id) {
      for (const p of projects.values()) p.invalidate(id);
    },
    transform(code, id) {
      const file = id.split("?")[0];
      if (
        !SOURCE.test(file) ||
        file.endsWith(".d.ts") ||
        file.includes("/node_modules/") ||
        !MENTIONS_TSGRAD.test(code)
      )
        return null;
      const program = projectFor(file).programFor(file, code);
      const { text, diagnostics } = transformToText(program.getSourceFile(file)!, program, "final", {
        checkFinite: options.checkFinite,
      });
      if (diagnostics.length) {
        const first = diagnostics[0];
        const { line, character } = first.file!.getLineAndCharacterOfPosition(first.start!);
        // Vite prints the message and a code frame at `line` (1-based), `column` (0-based).
        this.error(
          { message: formatDiagnostics(diagnostics).trimEnd(), id: file },
          { line: line + 1, column: character },
        );
      }
      return { code: text, map: lineMap(code, text, file) };
    },
  };
}

// ---- source map --------------------------------------------------------------------------------

/**
 * A source map from the longest common subsequence of lines (compared without indentation):
 * a line copied from the input maps token by token to its original, so stack traces keep exact
 * columns; a generated line maps to the start of the last copied line above it. Files too large
 * for the quadratic table get an empty map (no mapping rather than a wrong one).
 */
function lineMap(input: string, output: string, file: string) {
  const inLines = input.split("\n");
  const outLines = output.split("\n");
  const a = inLines.map((l) => l.trim());
  const b = outLines.map((l) => l.trim());
  const empty = { version: 3, sources: [file], sourcesContent: [input], names: [], mappings: "" };
  if (a.length * b.length > 8_000_000) return empty; // 16 MB of table: ~2800 lines each
  // lcs[i * w + j] = LCS length of a[i..] and b[j..] (< 2^16 under the limit above).
  const w = b.length + 1;
  const lcs = new Uint16Array((a.length + 1) * w);
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      lcs[i * w + j] =
        a[i] === b[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);

  // Segments [output column, source 0, source line, source column], VLQ deltas (the v3 format).
  let i = 0;
  let last = 0;
  let prevLine = 0;
  let prevColumn = 0;
  const segment = (outColumn: number, prevOut: number, line: number, column: number) => {
    const s = vlq(outColumn - prevOut) + "A" + vlq(line - prevLine) + vlq(column - prevColumn);
    prevLine = line;
    prevColumn = column;
    return s;
  };
  const lines = outLines.map((text, j) => {
    while (i < a.length && a[i] !== b[j] && lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) i++;
    if (i >= a.length || a[i] !== b[j]) return segment(0, 0, last, 0); // generated line
    last = i++;
    const outIndent = text.length - text.trimStart().length;
    const inIndent = inLines[last].length - inLines[last].trimStart().length;
    const tokens = [...b[j].matchAll(/\w+|\S/g)].map((m) => m.index!);
    let prevOut = 0;
    return tokens
      .map((k) => segment(outIndent + k, prevOut, last, inIndent + k) + ((prevOut = outIndent + k), ""))
      .join(",");
  });
  return { ...empty, mappings: lines.join(";") };
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** 0 → "A", 1 → "C", -1 → "D", 16 → "gB": base64 VLQ, sign in the lowest bit. */
function vlq(n: number): string {
  let v = n < 0 ? (-n << 1) | 1 : n << 1;
  let out = "";
  do {
    const digit = v & 31;
    v >>>= 5;
    out += BASE64[digit | (v > 0 ? 32 : 0)];
  } while (v > 0);
  return out;
}
