// The stack generated loops save values on: what an iteration overwrites and its backward pass
// needs is pushed in the forward loop and popped, in reverse, by the backward loop.
//   forward:  saved.push(x);  x = x_1;        backward:  x = saved.pop();
// A Float64Array that doubles when full, so a loop allocates nothing per iteration (and nothing at
// all once the stack has grown to the largest loop seen). f_grad uses the shared `saved`; a vjp
// forward pass gets its own stack, kept in its cache, so its backward pass can run later.
// Beside the numbers, a loop that calls a function of its own recursion cycle keeps each call's
// result whole, `{ value, cache }`, for the callee's backward pass:
//   forward:  saved.pushCall(g_1_call);       backward:  const g_1_call = saved.popCall(g_forward);

const INITIAL_CAPACITY = 64;

/**
 * `a`, all zeros. A helper's few entries (a point's d coordinates) are zeroed faster by a loop
 * than by a call of the fill builtin, which pays off on long arrays.
 */
export function zeroed(a: Float64Array): Float64Array {
  if (a.length <= 32) for (let i = 0; i < a.length; i++) a[i] = 0;
  else a.fill(0);
  return a;
}

/** `n`, the length of an array f_grad makes, if it is one: a whole number >= 0. */
export function checkedLength(n: number): number {
  if (!(Number.isInteger(n) && n >= 0))
    throw new RangeError(`tsgrad: an array of length ${n} (a length must be a whole number >= 0)`);
  return n;
}

/** Slots of `unboxed` (below): the output's gradient and up to 255 number arguments' gradients. */
export const UNBOXED_SLOTS = 256;

export class ValueStack {
  private data: Float64Array;
  private top = 0;
  /**
   * The views frame() made, by the slot they start at: a training step that takes the same
   * frames at the same places each time gets the same views back, so it allocates nothing.
   */
  private views: (Float64Array | undefined)[] = [];
  /** The recursive calls' results pushCall keeps (objects, apart from the numbers); made at the first. */
  private calls: unknown[] | undefined;
  private callsTop = 0;
  /** A replay pops without clearing: the stack it replays keeps its calls for the next replay. */
  private replaying = false;

  constructor(capacity = INITIAL_CAPACITY) {
    this.data = new Float64Array(capacity);
  }

  push(value: number): void {
    if (this.top === this.data.length) this.grow();
    this.data[this.top++] = value;
  }

  pop(): number {
    if (this.top === 0)
      throw new Error(
        "tsgrad: the saved-value stack is empty (a backward pass popped more than its forward pass pushed)",
      );
    return this.data[--this.top];
  }

  /** Keeps a recursive call's result (its value and the cache its backward pass reads). */
  pushCall(call: object): void {
    this.pushObject(call);
  }

  /**
   * The result pushCall kept last, a result of `forward` (named for its type: `popCall(g_forward)`
   * is typed `ReturnType<typeof g_forward>`). The slot is cleared, so the stack keeps no cache
   * it is done with.
   */
  popCall<F extends (...args: never[]) => object>(forward: F): ReturnType<F> {
    void forward;
    return this.popObject<ReturnType<F>>();
  }

  /**
   * Keeps a matrix or a vector a loop iteration made (`saved.pushObject(h)`), beside the numbers,
   * on the stack pushCall keeps calls on: the backward iteration reads it whole.
   */
  pushObject(value: object): void {
    (this.calls ??= [])[this.callsTop++] = value;
  }

  /** What pushObject (or pushCall) kept last, typed by the caller: `saved.popObject<Matrix>()`. */
  popObject<T>(): T {
    if (this.callsTop === 0)
      throw new Error(
        "tsgrad: the saved-object stack is empty (a backward pass popped more than its forward pass pushed)",
      );
    const calls = this.calls!;
    const value = calls[--this.callsTop];
    if (!this.replaying) calls[this.callsTop] = undefined;
    return value as T;
  }

  /**
   * `n` slots on top of the stack, as an array a counting loop indexes directly (`x_saved[i] = x`,
   * later `x = x_saved[i]`): one view per loop run, nothing per iteration. A negative or NaN
   * count (a loop that runs zero times) gives an empty frame.
   */
  frame(n: number): Float64Array {
    const length = n > 0 ? n : 0;
    while (this.top + length > this.data.length) this.grow();
    let view = this.views[this.top];
    if (view === undefined || view.length !== length)
      view = this.views[this.top] = this.data.subarray(this.top, this.top + length);
    this.top += length;
    return view;
  }

  /**
   * A frame of `n` zeros: the local arrays of f_grad (`const h = saved.zeros(n)`) and their
   * gradients, given back with release() at the end, so a gradient allocates no arrays of its own.
   */
  zeros(n: number): Float64Array {
    return zeroed(this.frame(checkedLength(n)));
  }

  /** Gives a frame's slots back, after its backward loop. */
  release(frame: Float64Array): void {
    this.top -= frame.length;
  }

  /** How many values (numbers and calls) are saved. */
  get size(): number {
    return this.top + this.callsTop;
  }

  /** A stack over the same values, to pop from without consuming these (vjp's backward may run twice). */
  replay(): ValueStack {
    const copy = Object.create(ValueStack.prototype) as ValueStack;
    copy.data = this.data;
    copy.top = this.top;
    copy.views = [];
    copy.calls = this.calls;
    copy.callsTop = this.callsTop;
    copy.replaying = true;
    return copy;
  }

  private grow(): void {
    const bigger = new Float64Array(this.data.length * 2);
    bigger.set(this.data);
    this.data = bigger;
    this.views = [];
  }
}

/** The stack f_grad functions share: every forward loop's pushes are popped by its backward loop. */
export const saved = new ValueStack(1024);

/**
 * Where f_grad takes the arrays the function creates and their gradients (`scratch.zeros(n)`),
 * given back in reverse order when it returns: nothing for the garbage collector, and apart from
 * `saved`, whose values loops push and pop in between.
 */
export const scratch = new ValueStack(1024);

/**
 * The numbers a call of a pullback hands over (a helper given arrays, called from a backward
 * pass): the caller writes the output's gradient into [0] before the call, the pullback writes the
 * gradients of its number arguments into [1], [2], ... before it returns, and the caller reads them
 * right after:
 *   unboxed[0] = dlogsumexp_2;  logsumexp_pullback(v, dv);        (in the pullback: const dlogsumexp = unboxed[0])
 * V8 passes a fractional number to a call it does not inline, and returns one from it, as a new
 * 16-byte heap number; in a Float64Array slot it stays a double, so a helper called in a loop
 * allocates nothing. Each slot is read right after it is written, so nested pullbacks share it.
 */
export const unboxed = new Float64Array(UNBOXED_SLOTS);

let sink = new Float64Array(64);

/**
 * A gradient buffer nobody reads, for an array argument of an imported pullback (which takes one
 * buffer per array parameter) whose gradient the caller does not need: a data array, a constant
 * table, a parameter outside `wrt`.
 *   unboxed[0] = dloss;  dot_pullback(xs, w, discarded(xs.length), dw);
 * One array, grown (never shrunk) to the longest length asked for, shared by every such call:
 * pullbacks only add into it and nothing ever reads it, so whatever garbage accumulates there, or
 * two arguments of one call share it, changes no result. It is at least `n` long, so the
 * pullback's writes stay in bounds (V8 keeps an in-bounds `+=` on a typed array fast).
 */
export function discarded(n: number): Float64Array {
  if (sink.length < n) sink = new Float64Array(Math.max(n, sink.length * 2));
  return sink;
}
