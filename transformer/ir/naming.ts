// Every naming convention lives here. Names are readable and collision-free, and they depend only
// on the input, so the same source always gives byte-identical output.
//
//   user variable            num          (kept)
//   its later versions       x_1, x_2     (x = x * 2 makes x_1)
//   a temporary              exp_y, prod  (after the operation and, where short, its operand)
//   the adjoint of v         dv           (dnum, dx_1)
//   generated functions      f_grad, f_forward, f_backward

/** Globals generated code calls (`Math.log`, `new Float64Array(n)`): no generated or user local may take these names. */
export const GENERATED_GLOBALS: ReadonlySet<string> = new Set(["Math", "Float64Array", "Int32Array", "Array"]);

/**
 * Words no variable may be named (the adjoint of `o` would be `do`, of `efault` `default`), and
 * names that must not be rebound (`undefined`, `NaN`, `arguments`): taken from the start, so
 * do → do_2.
 */
const RESERVED_WORDS: ReadonlySet<string> = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends false finally for function if " +
    "import in instanceof new null return super switch this throw true try typeof var void while with yield let static " +
    "implements interface package private protected public await arguments eval undefined NaN Infinity"
  ).split(" "),
);

export class Namer {
  private readonly taken = new Set<string>();

  /** `reserved`: names visible in the scope (globals, other functions) that must not be shadowed. */
  constructor(reserved: Iterable<string> = []) {
    for (const n of [...RESERVED_WORDS, ...reserved]) this.taken.add(n);
  }

  /** Claims `want` if free, else want_2, want_3, ... */
  fresh(want: string): string {
    const base = sanitize(want);
    if (!this.taken.has(base)) return this.claim(base);
    for (let i = 2; ; i++) {
      const candidate = `${base}_${i}`;
      if (!this.taken.has(candidate)) return this.claim(candidate);
    }
  }

  /** The next version of a user variable: x → x_1, x_1 → x_2. */
  version(user: string): string {
    for (let i = 1; ; i++) {
      const candidate = `${user}_${i}`;
      if (!this.taken.has(candidate)) return this.claim(candidate);
    }
  }

  /** The adjoint's name: num → dnum, x_1 → dx_1; on collision dnum_2. */
  adjoint(primal: string): string {
    return this.fresh(`d${primal}`);
  }

  /** A copy that shares what is taken so far; generated functions each get their own. */
  fork(): Namer {
    return new Namer(this.taken);
  }

  has(name: string): boolean {
    return this.taken.has(name);
  }

  claim(name: string): string {
    this.taken.add(name);
    return name;
  }
}

function sanitize(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_$]/g, "_");
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned;
}

/**
 * A temporary's name from its operation, in the seed's style where the operands have short names:
 *   x + y → xpy    w0 * x0 → w0x0    xpy ** 2 → xpysqr    Math.exp(y) → exp_y
 * and a word for the operation otherwise: sum, diff, prod, quot, pow.
 */
export function tempName(op: string, operands: readonly (string | undefined)[]): string {
  const word = Object.hasOwn(OP_WORDS, op) ? OP_WORDS[op] : op.replace(/^Math\./, "").replace(/\./g, "_");
  const [a, b] = operands;
  const short = (n: string | undefined): n is string => n !== undefined && /^[A-Za-z]\w?$/.test(n);
  if (op === "**" && a && b === "2") return `${a}sqr`;
  if (operands.length === 2 && short(a) && short(b)) {
    if (op === "+") return `${a}p${b}`;
    if (op === "*" || op === "matmul") return `${a}${b}`;
  }
  if (operands.length === 1 && a && a.length <= 8) return `${word}_${a}`;
  return word;
}

const OP_WORDS: Record<string, string> = {
  "+": "sum",
  "-": "diff",
  "*": "prod",
  "/": "quot",
  "%": "rem",
  "**": "pow",
  neg: "neg",
  sigmoid: "sig",
  copy: "copy",
  // matrix ops (runtime/ops)
  matmul: "prod",
  addBias: "biased",
};

/** The runtime's module, which generated code imports from and the API is imported from. */
export const RUNTIME = "tsgrad";

export const generatedNames = (fn: string) => ({
  grad: `${fn}_grad`,
  gradInto: `${fn}_gradInto`,
  /** f_grad with a check of every gradient it computes, for grad(f, { checkFinite: true }) (finite.ts). */
  gradChecked: `${fn}_gradChecked`,
  forward: `${fn}_forward`,
  backward: `${fn}_backward`,
  /** f's backward pass for a caller that passes it arrays: adds into their gradients (see Pullback in ir.ts). */
  pullback: `${fn}_pullback`,
});
