// The stack loops save values on, and the frames taken from it, one slot per iteration:
//   { k: "push", name: "x" }                                 → saved.push(x);
//   { k: "push", name: "x", slot: { array: "x_saved", i } }  → x_saved[i] = x;

import type ts from "typescript";
import { exprToTs } from "../../ir/print.js";
import type { Slot } from "../../ir/ir.js";
import { declareConst, f } from "./nodes.js";

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

/**
 * While a pullback with a workspace is emitted (see runtime/workspace.ts): the frames of its loops
 * that are not inside another loop come from the workspace, `arrays.frame(0, n)`, and are not
 * released; a loop inside a loop takes one per outer iteration, from the stack.
 */
let frames: { workspace: string; next: number; kept: Set<string> } | undefined;
let loopDepth = 0;

/** Emits a pullback with `workspace` (or none) giving its top-level loops' frames. */
export function withWorkspaceFrames<T>(workspace: string | undefined, build: () => T): T {
  const outer = frames;
  frames = workspace ? { workspace, next: 0, kept: new Set() } : undefined;
  try {
    return build();
  } finally {
    frames = outer;
  }
}

/** Emits the body of a loop, forward or backward: frames taken in it are the stack's. */
export function insideLoop<T>(build: () => T): T {
  loopDepth++;
  try {
    return build();
  } finally {
    loopDepth--;
  }
}

/** `const x_saved = saved.frame(n)`, or from the pullback's workspace: `arrays.frame(0, n)`. */
export function frameDeclaration(array: string, length: ts.Expression): ts.Statement {
  if (!frames || loopDepth > 0) return declareConst(array, stackCall("frame", [length]));
  frames.kept.add(array);
  const call = f.createCallExpression(
    f.createPropertyAccessExpression(f.createIdentifier(frames.workspace), "frame"),
    undefined,
    [f.createNumericLiteral(frames.next++), length],
  );
  return declareConst(array, call);
}

/** Does the frame go back to the stack after its backward loop (not one of a workspace)? */
export const releasesFrame = (array: string): boolean => !frames?.kept.has(array);
