// Algebraic clean-up of IR expressions, shared by the phases that build them (stage, optimize,
// preaccumulate, save): 1 * g → g, 2 * a ** (2 - 1) → 2 * a, 0 * g → 0, !(a === b) → a !== b.

import { type Expr, num } from "./ir.js";

export const isNum = (e: Expr, v?: number): e is { k: "num"; value: number } =>
  e.k === "num" && (v === undefined || e.value === v);
const TRUE: Expr = { k: "global", text: "true" };
const FALSE: Expr = { k: "global", text: "false" };
export const boolOf = (e: Expr): boolean | undefined =>
  e.k === "global" && (e.text === "true" || e.text === "false") ? e.text === "true" : undefined;

/** Bottom-up algebraic clean-up. Only literal zeros are folded, so NaN/Infinity operands are kept honest. */
/** !e, not yet simplified. */
export const negate = (e: Expr): Expr => ({ k: "unary", op: "!", arg: e });

export function simplify(e: Expr): Expr {
  switch (e.k) {
    case "unary": {
      const arg = simplify(e.arg);
      if (e.op === "-" && isNum(arg)) return num(-arg.value);
      if (e.op === "-" && arg.k === "unary" && arg.op === "-") return arg.arg;
      if (e.op === "!" && boolOf(arg) !== undefined) return boolOf(arg) ? FALSE : TRUE;
      if (e.op === "!" && arg.k === "binary" && NEGATED[arg.op]) return { ...arg, op: NEGATED[arg.op] };
      return { ...e, arg };
    }
    case "binary":
      return simplifyBinary(e.op, simplify(e.left), simplify(e.right));
    case "call":
      return { ...e, args: e.args.map(simplify) };
    case "cond": {
      const test = simplify(e.test);
      const known = boolOf(test);
      if (known !== undefined) return simplify(known ? e.then : e.else);
      return { ...e, test, then: simplify(e.then), else: simplify(e.else) };
    }
    default:
      return e;
  }
}

function simplifyBinary(op: string, l: Expr, r: Expr): Expr {
  if (isNum(l) && isNum(r) && FOLD[op]) {
    const v = FOLD[op](l.value, r.value);
    return typeof v === "boolean" ? (v ? TRUE : FALSE) : num(v);
  }
  switch (op) {
    case "*":
      if (isNum(l, 0) || isNum(r, 0)) return num(0);
      if (isNum(l, 1)) return r;
      if (isNum(r, 1)) return l;
      if (isNum(l, -1)) return simplify({ k: "unary", op: "-", arg: r });
      if (isNum(r, -1)) return simplify({ k: "unary", op: "-", arg: l });
      break;
    case "/":
      if (isNum(r, 1)) return l;
      if (isNum(l, 0)) return num(0);
      break;
    case "+": {
      if (isNum(l, 0)) return r;
      if (isNum(r, 0)) return l;
      // Math.ceil(n) - 1 + 1 → Math.ceil(n): a loop's trip count from its last value. Only on an
      // integer (a - 1 + 1 is not a for tiny a), with integer shifts.
      const right = r as Expr;
      const integer = (e: Expr) =>
        e.k === "length" || (e.k === "call" && (e.callee === "Math.ceil" || e.callee === "Math.floor"));
      if (
        right.k === "num" &&
        Number.isInteger(right.value) &&
        l.k === "binary" &&
        (l.op === "-" || l.op === "+") &&
        l.right.k === "num" &&
        Number.isInteger(l.right.value) &&
        integer(l.left)
      ) {
        const shift = right.value + (l.op === "-" ? -l.right.value : l.right.value);
        return shift === 0 ? l.left : simplifyBinary(shift > 0 ? "+" : "-", l.left, num(Math.abs(shift)));
      }
      break;
    }
    case "-":
      if (isNum(r, 0)) return l;
      if (isNum(l, 0)) return simplify({ k: "unary", op: "-", arg: r });
      break;
    case "**":
      if (isNum(r, 1)) return l;
      if (isNum(r, 0)) return num(1);
      break;
  }
  return { k: "binary", op, left: l, right: r };
}

const FOLD: Record<string, (a: number, b: number) => number | boolean> = {
  "+": (a, b) => a + b,
  "-": (a, b) => a - b,
  "*": (a, b) => a * b,
  "**": (a, b) => a ** b,
  "===": (a, b) => a === b,
  "!==": (a, b) => a !== b,
  "<": (a, b) => a < b,
  ">": (a, b) => a > b,
  "<=": (a, b) => a <= b,
  ">=": (a, b) => a >= b,
};

const NEGATED: Record<string, string> = { "===": "!==", "!==": "===", "==": "!=", "!=": "==" };
