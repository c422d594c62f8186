import { normalUpperQuantile } from './normal';

/**
 * Quantile of Student's t distribution with `df` degrees of freedom (scipy's `t.ppf(p, df)`),
 * for p in (0, 1) and df >= 1. df = 1 and 2 have closed forms; otherwise Newton steps on the
 * exact upper tail (a regularised incomplete beta function) from a Cornish-Fisher start, kept
 * inside a shrinking bracket so a step can never run away.
 * @throws RangeError for p outside (0, 1) or df not a positive finite number.
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`t quantile needs p in (0, 1), got ${p}`);
  if (!(df > 0 && Number.isFinite(df))) throw new RangeError(`t quantile needs df > 0, got ${df}`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  const tail = 1 - p;
  if (df === 1) return 1 / Math.tan(Math.PI * tail);
  if (df === 2) return (2 * p - 1) / Math.sqrt(2 * p * tail);

  // Cornish-Fisher expansion of t in terms of the normal quantile (Abramowitz & Stegun 26.7.5).
  const z = normalUpperQuantile(tail);
  const z3 = z ** 3;
  let t = z + (z3 + z) / (4 * df) + (5 * z ** 5 + 16 * z3 + 3 * z) / (96 * df * df);
  let low = 0;
  let high = Infinity;
  const logDensityConstant = logGamma((df + 1) / 2) - logGamma(df / 2) - 0.5 * Math.log(df * Math.PI);
  for (let step = 0; step < 100; step++) {
    const excess = studentTUpperTail(t, df) - tail;
    if (excess === 0) return t;
    if (excess > 0) low = t;
    else high = t;
    const density = Math.exp(logDensityConstant - ((df + 1) / 2) * Math.log1p((t * t) / df));
    let next = t + excess / density;
    if (Math.abs(next - t) <= 4e-16 * Math.abs(t)) return next;
    if (!(next > low && next < high)) next = Number.isFinite(high) ? (low + high) / 2 : 2 * Math.max(t, 1);
    t = next;
  }
  return t;
}

/** P(T > t) for t >= 0: I_{df / (df + t^2)}(df / 2, 1 / 2) / 2. */
function studentTUpperTail(t: number, df: number): number {
  return regularisedBeta(df / (df + t * t), df / 2, 0.5) / 2;
}

/**
 * I_x(a, b) by the continued fraction of Numerical Recipes (modified Lentz), on the side of
 * the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) where it converges quickly.
 */
function regularisedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a;
  return 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

function betaContinuedFraction(x: number, a: number, b: number): number {
  const TINY = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10_000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return h;
}

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7), about 15 significant digits. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const y = x - 1;
  let sum = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i] / (y + i);
  const t = y + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(sum);
}
