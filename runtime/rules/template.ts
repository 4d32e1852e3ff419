// The expressions scalar rules are written in (runtime/rules/scalar.ts), parsed and checked when
// the rule table loads, so a typo in a rule stops the compiler at once, naming the rule, instead of
// reaching the user's generated code as a ReferenceError.
//
//   "-a / (b * b)"  →  binary("/", unary("-", ref a), binary("*", ref b, ref b))
//
// The grammar is the part of TypeScript's expressions rules need: numbers, names, `Math.NAME`
// constants and `Math.NAME(...)` calls, unary `-` and `!`, the binary operators below with
// TypeScript's precedence, `c ? t : e`, parentheses, and `...args` as a call's only argument (the
// value of an operation of any number of operands). The tree has the shape of the compiler's IR
// expressions (transformer/ir/ir.ts Expr), so the compiler substitutes names into it as is.

export type Template =
  | { k: "num"; value: number }
  /** A name the rule gives a value: an operand (x; a, b), the output y. */
  | { k: "ref"; name: string }
  /** A Math constant: Math.LN2. */
  | { k: "global"; text: string }
  | { k: "unary"; op: "-" | "!"; arg: Template }
  | { k: "binary"; op: string; left: Template; right: Template }
  | { k: "call"; callee: string; args: Template[] }
  | { k: "cond"; test: Template; then: Template; else: Template }
  /** `...args`: every operand, in order (only as the whole argument list of a call). */
  | { k: "spread"; name: string };

/** Binary operators by precedence, loosest first (TypeScript's order); `**` binds right. */
const LEVELS: readonly (readonly string[])[] = [
  ["||"],
  ["&&"],
  ["===", "!=="],
  ["<", ">", "<=", ">="],
  ["+", "-"],
  ["*", "/", "%"],
  ["**"],
];

const TOKEN =
  /\s*(\d+(?:\.\d+)?(?:e[+-]?\d+)?|[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*|\.\.\.|===|!==|<=|>=|\*\*|&&|\|\||[-+*/%<>!?:(),])/y;

export class TemplateError extends Error {}

/** Parses a rule template; throws a TemplateError saying where it cannot be read. */
export function parse(text: string): Template {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length && text.slice(TOKEN.lastIndex).trim() !== "") {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (!m) throw new TemplateError(`"${text}": cannot read it at "${text.slice(at).trim()}"`);
    tokens.push(m[1]);
  }
  let i = 0;
  const fail = (what: string): never => {
    throw new TemplateError(`"${text}": ${what}${i < tokens.length ? ` at "${tokens[i]}"` : " at its end"}`);
  };
  const take = (t: string) => (tokens[i] === t ? (i++, true) : false);
  const expect = (t: string) => take(t) || fail(`expected "${t}"`);

  const conditional = (): Template => {
    const test = binary(0);
    if (!take("?")) return test;
    const then = conditional();
    expect(":");
    return { k: "cond", test, then, else: conditional() };
  };
  const binary = (level: number): Template => {
    if (level === LEVELS.length) return unary();
    const left = binary(level + 1);
    const op = tokens[i];
    if (!LEVELS[level].includes(op)) return left;
    i++;
    // a ** b ** c is a ** (b ** c); the others group to the left.
    if (op === "**") return { k: "binary", op, left, right: binary(level) };
    let tree: Template = { k: "binary", op, left, right: binary(level + 1) };
    while (LEVELS[level].includes(tokens[i])) {
      const next = tokens[i++];
      tree = { k: "binary", op: next, left: tree, right: binary(level + 1) };
    }
    return tree;
  };
  const unary = (): Template => {
    if (take("-")) return { k: "unary", op: "-", arg: unary() };
    if (take("!")) return { k: "unary", op: "!", arg: unary() };
    return primary();
  };
  const primary = (): Template => {
    const t = tokens[i++];
    if (t === undefined) return fail("expected a value");
    if (t === "(") {
      const inner = conditional();
      expect(")");
      return inner;
    }
    if (/^\d/.test(t)) return { k: "num", value: Number(t) };
    if (!/^[A-Za-z_$]/.test(t)) return (i--, fail("expected a value"));
    if (!take("(")) return t.includes(".") ? { k: "global", text: t } : { k: "ref", name: t };
    const args: Template[] = [];
    if (take("...")) {
      const name = tokens[i++];
      if (!name || !/^[A-Za-z_$][\w$]*$/.test(name)) fail("expected a name after ...");
      args.push({ k: "spread", name });
    } else if (tokens[i] !== ")") {
      do args.push(conditional());
      while (take(","));
    }
    expect(")");
    return { k: "call", callee: t, args };
  };

  const tree = conditional();
  if (i !== tokens.length) fail("unexpected text");
  return tree;
}

const parsed = new Map<string, Template>();

/** parse(), once per text. */
export function template(text: string): Template {
  let tree = parsed.get(text);
  if (!tree) parsed.set(text, (tree = parse(text)));
  return tree;
}

/** Visits every node of a template. */
export function visit(t: Template, f: (node: Template) => void): void {
  f(t);
  if (t.k === "unary") visit(t.arg, f);
  else if (t.k === "binary") (visit(t.left, f), visit(t.right, f));
  else if (t.k === "call") t.args.forEach((a) => visit(a, f));
  else if (t.k === "cond") (visit(t.test, f), visit(t.then, f), visit(t.else, f));
}

/** The names (refs and spreads) a template reads. */
export function namesOf(t: Template): Set<string> {
  const names = new Set<string>();
  visit(t, (n) => (n.k === "ref" || n.k === "spread") && names.add(n.name));
  return names;
}

const mathMember = (text: string): unknown =>
  text.startsWith("Math.") && !text.slice(5).includes(".")
    ? (Math as unknown as Record<string, unknown>)[text.slice(5)]
    : undefined;

/**
 * Checks that a template names only `names` (and, with `spread`, `...spread` as a call's
 * arguments), calls only functions of Math and reads only Math's constants. Throws a
 * TemplateError naming the first thing that is not.
 */
export function check(text: string, names: readonly string[], spread?: string): Template {
  const tree = parse(text);
  visit(tree, (n) => {
    if (n.k === "ref" && !names.includes(n.name))
      throw new TemplateError(`"${text}": unknown name ${n.name} (a rule here may name ${names.join(", ")})`);
    if (n.k === "spread" && n.name !== spread)
      throw new TemplateError(`"${text}": unknown name ...${n.name}${spread ? ` (only ...${spread})` : ""}`);
    if (n.k === "call" && typeof mathMember(n.callee) !== "function")
      throw new TemplateError(`"${text}": unknown function ${n.callee} (a rule may call the functions of Math)`);
    if (n.k === "global" && typeof mathMember(n.text) !== "number")
      throw new TemplateError(`"${text}": unknown constant ${n.text} (a rule may read the constants of Math)`);
  });
  return tree;
}

/** The template's value with `names` bound (`...args` to `operands`), as JavaScript computes it. */
export function evaluate(
  t: Template,
  names: Readonly<Record<string, number>>,
  operands: readonly number[] = [],
): number | boolean {
  const num = (e: Template) => evaluate(e, names, operands) as number;
  switch (t.k) {
    case "num":
      return t.value;
    case "ref":
      if (!(t.name in names)) throw new TemplateError(`no value for ${t.name}`);
      return names[t.name];
    case "global":
      return mathMember(t.text) as number;
    case "spread":
      throw new TemplateError(`...${t.name} outside a call`);
    case "unary":
      return t.op === "-" ? -num(t.arg) : !evaluate(t.arg, names, operands);
    case "cond":
      return evaluate(t.test, names, operands) ? evaluate(t.then, names, operands) : evaluate(t.else, names, operands);
    case "call": {
      const args = t.args.flatMap((a) => (a.k === "spread" ? operands : [num(a)]));
      return (mathMember(t.callee) as (...a: number[]) => number)(...args);
    }
    case "binary": {
      const l = evaluate(t.left, names, operands) as number;
      const r = evaluate(t.right, names, operands) as number;
      switch (t.op) {
        case "+":
          return l + r;
        case "-":
          return l - r;
        case "*":
          return l * r;
        case "/":
          return l / r;
        case "%":
          return l % r;
        case "**":
          return l ** r;
        case "<":
          return l < r;
        case ">":
          return l > r;
        case "<=":
          return l <= r;
        case ">=":
          return l >= r;
        case "===":
          return l === r;
        case "!==":
          return l !== r;
        case "&&":
          return l && r;
        case "||":
          return l || r;
      }
      throw new TemplateError(`unknown operator ${t.op}`);
    }
  }
}
