// The arrays a pullback makes, kept from one call to the next. A pullback (the backward pass of a
// helper given arrays, called from its caller's backward pass) runs once per call of the helper,
// often once per point of a loop; taking its arrays from the `scratch` stack and giving them back
// cost more than its arithmetic on a point's few coordinates. A pullback is never running twice at
// once (tsgrad refuses arrays passed around a recursion), so each of its arrays can be one array,
// made at the first call and zeroed at the next:
//   const centered = pointLogLikelihood_pullback_arrays.zeros(0, d);
// and so can the frames its loops save values in, but for loops inside loops, which take one for
// each iteration of the outer loop from the saved-value stack:
//   const top_saved = logsumexp_pullback_arrays.frame(0, Math.ceil(count) - 1);
// A throw inside the pullback leaves nothing to give back.

import { checkedLength, zeroed } from "./stack.js";

export class Workspace {
  private readonly arrays: Float64Array[] = [];
  private readonly frames: Float64Array[] = [];

  /**
   * The frame of saved values of the pullback's loop number `slot` (`top_saved[c - 1] = top`),
   * kept like its arrays; not zeroed, as the loop writes each slot before its backward loop reads
   * it. A count below 1 or NaN (a loop that runs zero times) gives an empty frame.
   */
  frame(slot: number, n: number): Float64Array {
    const length = n > 0 ? Math.floor(n) : 0;
    const kept = this.frames[slot];
    if (kept !== undefined && kept.length === length) return kept;
    return (this.frames[slot] = new Float64Array(length));
  }

  /** The pullback's array number `slot`, `n` zeros: the one of the last call, or a new one of that length. */
  zeros(slot: number, n: number): Float64Array {
    const kept = this.arrays[slot];
    if (kept === undefined || kept.length !== n) return (this.arrays[slot] = new Float64Array(checkedLength(n)));
    return zeroed(kept);
  }
}
