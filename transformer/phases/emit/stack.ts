// The stack loops save values on, and the frames taken from it, one slot per iteration:
//   { k: "push", name: "x" }                                 → saved.push(x);
//   { k: "push", name: "x", slot: { array: "x_saved", i } }  → x_saved[i] = x;

import type ts from "typescript";
import { exprToTs } from "../../ir/print.js";
import type { Slot } from "../../ir/ir.js";
import { f } from "./nodes.js";

/** The stack loops save values on: `saved` (the runtime's shared one, or vjp's own). */
let stack = "saved";

/** The stack's identifier in what is being emitted. */
export const stackName = () => stack;

/** Emits with `name` as the stack's identifier. */
export function withStack<T>(name: string, build: () => T): T {
  const outer = stack;
  stack = name;
  try {
    return build();
  } finally {
    stack = outer;
  }
}

/** `saved.push(t)`, `saved.pop()`, `saved.frame(n)`: a call of the stack's `method`. */
export const stackCall = (method: string, args: ts.Expression[], types?: ts.TypeNode[]) =>
  f.createCallExpression(f.createPropertyAccessExpression(f.createIdentifier(stack), method), types, args);

/** `x_saved[i]`: the slot of iteration i in a frame. */
export const slotAccess = (slot: Slot) =>
  f.createElementAccessExpression(f.createIdentifier(slot.array), exprToTs(slot.index));
