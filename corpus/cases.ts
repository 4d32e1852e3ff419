// The corpus's case format (read by scripts/corpus-lib.mjs). Each corpus file exports
// `cases`, keyed by function name, each a list of points where the function is smooth:
//
//   rosenbrock: [[[1.2, 0.8]], [[-0.5, 0.3]]]        argument lists
//   "vec3.dot": [[[1, 2, 3], [0.5, -1, 2]]]          a member of an object-literal module
//   "Huber.loss": [{ self: new Huber(1.5), args: [0.3, 0.1] }]   a method, on an instance
//   "backIn()": [{ fn: backIn(1.70158), args: [0.4] }]           the function a factory returns
//   softmaxCrossEntropy: [{ args: [logits, 2], wrt: [0] }]        checked in the logits only
//
// Derivatives are taken with respect to every number of the arguments (in arrays and objects
// too), or of the arguments `wrt` lists (a step count, a label index: numbers at which the
// function is not smooth); strings, booleans and undefined pass through unchanged.

export type Case =
  | readonly unknown[]
  | {
      readonly args: readonly unknown[];
      readonly fn?: Function;
      readonly self?: object;
      readonly wrt?: readonly number[];
    };

export type Cases = Record<string, readonly Case[]>;
