// The format of the matrix ops' derivative rules: one small declarative entry per op, declared
// beside the op, read by the compiler (transformer/) to write backward code. The engine never
// hard-codes a derivative; it substitutes names into these templates.
//
//   matmul: {
//     math: "y = A · B", params: ["A", "B"], kinds: ["matrix", "matrix"], output: "matrix",
//     into: "matmulInto",
//     grads: [accumulate("addMatmulNT(dA, dy, B)", "dA += dy · Bᵀ"),
//             accumulate("addMatmulTN(dB, A, dy)", "dB += Aᵀ · dy")],
//   }
//   for  const D = matmul(W, X)  the engine emits  addMatmulNT(dW, dD, X);  // dW += dD · Xᵀ
//                                                  addMatmulTN(dX, W, dD);  // dX += Wᵀ · dD
//
// Names in templates: the op's parameter names (A, B, x, s, scores, ...), `y` the op's output,
// `dy` the adjoint of the output, and `d` + a parameter name the adjoint of that operand (dA, dx).
// Every template is one call `kernel(name, name, ...)`: the callee is a function exported by the
// runtime ("tsgrad") and every argument is one of those names, so the engine can substitute
// without parsing: `call` and `args` give the same call already split.
//
// Per operand, by its kind:
//   "matrix" / "vector"  accumulate: a statement that ADDS this op's contribution into the
//                        operand's adjoint buffer (a Matrix / Float64Array of the operand's
//                        shape, zero-initialised by the engine). Fan-out needs no special case:
//                        each use adds its part. The statement allocates nothing.
//   "number"             contribution: an expression, the whole contribution (dy included);
//                        the engine emits `ds += <expression>`.
//   "labels"             null: no gradient flows (integer class labels).
// The adjoint `dy` of a "number" output is a number; of a "matrix" output a Matrix of y's shape;
// of a "vector" output a Float64Array of y's length.

export type ValueKind = "matrix" | "vector" | "number" | "labels";
export type OutputKind = "matrix" | "vector" | "number";

/** How one operand's gradient is computed: a kernel call with template names as arguments. */
export interface OperandGrad {
  /** "accumulate": `template` is a statement adding into the adjoint; "contribution": an expression. */
  readonly kind: "accumulate" | "contribution";
  /** The TypeScript source, e.g. "addMatmulNT(dA, dy, B)". */
  readonly template: string;
  /** The called runtime function, e.g. "addMatmulNT". */
  readonly call: string;
  /** Its arguments, each a template name, e.g. ["dA", "dy", "B"]. */
  readonly args: readonly string[];
  /** The rule in the seed's notation, for the generated comment: "dA += dy · Bᵀ". */
  readonly math: string;
}

export interface MatrixRule {
  /** The forward op in the seed's notation: "y = A · B". */
  readonly math: string;
  /** The op's parameter names, in call order. */
  readonly params: readonly string[];
  /** The kind of each parameter, in the same order. */
  readonly kinds: readonly ValueKind[];
  /** The kind of the op's value y. */
  readonly output: OutputKind;
  /** The variant writing y into a preallocated buffer, called `into(out, ...params)`; null for number-valued ops. */
  readonly into: string | null;
  /**
   * y's shape from the operands', for a buffer to write it into: ["A.rows", "B.cols"] (a matrix),
   * ["A.rows"] (a vector's length). Default: the shape of the first operand.
   */
  readonly size?: readonly string[];
  /** One entry per parameter, in the same order: how its gradient is computed, or null. */
  readonly grads: readonly (OperandGrad | null)[];
}

const CALL = /^([A-Za-z_$][\w$]*)\(([^()]*)\)$/;
const NAME = /^[A-Za-z_$][\w$]*$/;

function kernelCall(kind: OperandGrad["kind"], template: string, math: string): OperandGrad {
  const match = CALL.exec(template.trim());
  const args = match ? match[2].split(",").map((a) => a.trim()) : [];
  if (!match || !args.every((a) => NAME.test(a))) {
    throw new Error(`matrix rules: "${template}" is not a call of one function on template names`);
  }
  return { kind, template, call: match[1], args, math };
}

/** The operand's gradient is added into its buffer by a statement: accumulate("addTo(dA, dy)", "dA += dy"). */
export function accumulate(statement: string, math: string): OperandGrad {
  return kernelCall("accumulate", statement, math);
}

/** The number operand's gradient contribution, an expression: contribution("innerProduct(dy, A)", "ds += Σ dy ⊙ A"). */
export function contribution(expression: string, math: string): OperandGrad {
  return kernelCall("contribution", expression, math);
}

/**
 * An op's entry. Checks it is well formed when the module loads: one kind and one gradient per
 * parameter, accumulate for arrays, contribution for numbers, null for labels, and templates that
 * name only the op's names (`y`, `dy`, the parameters and their adjoints).
 */
export function rule(entry: MatrixRule): MatrixRule {
  const { params, kinds, grads } = entry;
  const where = `matrix rule "${entry.math}"`;
  if (kinds.length !== params.length || grads.length !== params.length) {
    throw new Error(`${where}: params, kinds and grads must have one entry per parameter`);
  }
  const names = new Set(["y", "dy", ...params, ...params.map((p) => `d${p}`)]);
  grads.forEach((g, i) => {
    const expected = kinds[i] === "labels" ? null : kinds[i] === "number" ? "contribution" : "accumulate";
    if ((g?.kind ?? null) !== expected) throw new Error(`${where}: parameter ${params[i]} needs ${expected}`);
    for (const a of g?.args ?? []) if (!names.has(a)) throw new Error(`${where}: unknown name ${a} in ${g!.template}`);
    if (g?.kind === "accumulate" && g.args[0] !== `d${params[i]}`) {
      throw new Error(`${where}: ${g.template} must accumulate into d${params[i]} (its first argument)`);
    }
  });
  return entry;
}
