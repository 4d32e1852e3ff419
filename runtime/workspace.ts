// The arrays a pullback makes, kept from one call to the next. A pullback (the backward pass of a
// helper given arrays, called from its caller's backward pass) runs once per call of the helper,
// often once per point of a loop; taking its arrays from the `scratch` stack and giving them back
// cost more than its arithmetic on a point's few coordinates. A pullback is never running twice at
// once (tsgrad refuses arrays passed around a recursion), so each of its arrays can be one array,
// made at the first call and zeroed at the next:
//   const centered = pointLogLikelihood_pullback_arrays.zeros(0, d);
// A throw inside the pullback leaves nothing to give back.

import { zeroed } from "./stack.js";

export class Workspace {
  private readonly arrays: Float64Array[] = [];

  /** The pullback's array number `slot`, `n` zeros: the one of the last call, or a new one of that length. */
  zeros(slot: number, n: number): Float64Array {
    const kept = this.arrays[slot];
    if (kept === undefined || kept.length !== n) {
      if (!(Number.isInteger(n) && n >= 0))
        throw new RangeError(`tsgrad: an array of length ${n} (a length must be a whole number >= 0)`);
      return (this.arrays[slot] = new Float64Array(n));
    }
    return zeroed(kept);
  }
}
