// Formats generated TypeScript with prettier, the one style every tsgrad output uses.
//
// Takes TypeScript text (the printer's output); returns it formatted with fixed options, so the
// same input gives byte-identical output on every machine: no .prettierrc is consulted, because
// golden files and `tsgrad gen` output must not depend on where they are produced.

import * as prettier from "prettier";

/** The fixed prettier options for generated code. */
export const prettierOptions: prettier.Options = {
  parser: "typescript",
  printWidth: 100,
  tabWidth: 2,
  useTabs: false,
  semi: true,
  singleQuote: false,
  trailingComma: "all",
  endOfLine: "lf",
};

/** `function f(x:number){return x}` → `function f(x: number) {\n  return x;\n}\n`. */
export function format(text: string): Promise<string> {
  return prettier.format(text, prettierOptions);
}
