// Numeric code that iterates, differentiated by tsgrad: each loop's backward pass runs its
// iterations in reverse, restoring what the forward loop overwrote.

/** Newton's method for sqrt(a): x ← (x + a / x) / 2, 20 steps. d/da = 1 / (2 sqrt(a)). */
/** @differentiable */
export function newtonSqrt(a: number): number {
  let x = a;
  for (let i = 0; i < 20; i++) {
    x = 0.5 * (x + a / x);
  }
  return x;
}

/** exp(x) as its Taylor series, summed until a term is below 1e-16 of the sum. d/dx = exp(x). */
/** @differentiable */
export function expSeries(x: number): number {
  let term = 1;
  let sum = 1;
  let n = 1;
  while (Math.abs(term) > 1e-16 * Math.abs(sum)) {
    term = (term * x) / n;
    sum += term;
    n++;
  }
  return sum;
}

/** The logistic map x ← r x (1 - x), 50 steps from x0. */
/** @differentiable */
export function logisticMap(r: number, x0: number): number {
  let x = x0;
  for (let step = 0; step < 50; step++) {
    x = r * x * (1 - x);
  }
  return x;
}

/**
 * A mass on a spring, integrated by explicit Euler for 200 steps of dt = 0.01 from rest at x0;
 * returns the final energy (which explicit Euler does not conserve).
 */
/** @differentiable */
export function springEnergy(k: number, m: number, x0: number): number {
  const dt = 0.01;
  let x = x0;
  let v = 0;
  for (let step = 0; step < 200; step++) {
    const a = (-k / m) * x;
    x += dt * v;
    v += dt * a;
  }
  return 0.5 * m * v * v + 0.5 * k * x * x;
}

/**
 * A loan: each month the balance accrues interest, then a payment (at most the balance) is made,
 * until it is paid off. Returns the total paid; the number of months depends on the inputs.
 */
/** @differentiable */
export function totalPaid(principal: number, monthlyRate: number, payment: number): number {
  let balance = principal;
  let paid = 0;
  while (balance > 0) {
    balance *= 1 + monthlyRate;
    const p = Math.min(payment, balance);
    balance -= p;
    paid += p;
  }
  return paid;
}
