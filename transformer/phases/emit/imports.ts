// What generated code needs from other modules (link.ts, module-format.ts): imports, requires,
// and local aliases of what it calls:
//   ["registerGradient", "sq_grad as sq_grad_2"], "./m.js"
//     → import { registerGradient, sq_grad as sq_grad_2 } from "./m.js";

import type ts from "typescript";
import { comment } from "./comments.js";
import { declareConst, f } from "./nodes.js";

/**
 * ["registerGradient", "sq_grad as sq_grad_2"], "./m.js"
 *   → `import { registerGradient, sq_grad as sq_grad_2 } from "./m.js";`
 */
export function emitImport(names: readonly string[], from: string): ts.Statement {
  const specifiers = names.map((n) => {
    const [name, alias] = n.split(" as ");
    return f.createImportSpecifier(
      false,
      alias ? f.createIdentifier(name) : undefined,
      f.createIdentifier(alias ?? name),
    );
  });
  const clause = f.createImportClause(undefined, undefined, f.createNamedImports(specifiers));
  return f.createImportDeclaration(undefined, clause, f.createStringLiteral(from));
}

/** `const { saved, registerGradient: register_2 } = require("tsgrad");` (names as emitImport takes them). */
export function emitRequireNames(names: readonly string[], from: string): ts.Statement {
  const elements = names.map((n) => {
    const [name, alias] = n.split(" as ");
    return f.createBindingElement(undefined, alias ? name : undefined, alias ?? name);
  });
  return declareConst(f.createObjectBindingPattern(elements), requireCall(from));
}

/** `const helpers_module = require("./helpers.js");` */
export function emitRequireModule(local: string, from: string): ts.Statement {
  return declareConst(local, requireCall(from));
}

const requireCall = (from: string) =>
  f.createCallExpression(f.createIdentifier("require"), undefined, [f.createStringLiteral(from)]);

/** `// why` above `const softplusD_2 = softplusD;` */
export function emitAlias(local: string, name: string, why: string): ts.Statement {
  return comment(declareConst(local, f.createIdentifier(name)), why);
}
