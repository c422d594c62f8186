import { normalUpperQuantile } from './normal';

/**
 * Wilson score interval for a binomial proportion, matching
 * `statsmodels.stats.proportion.proportion_confint(successes, n, alpha=1 - confidence,
 * method='wilson')`. With `n = 0` there is no information and the interval is `[0, 1]`
 * (statsmodels gives NaN). Counts may be fractional (e.g. half-credit wins).
 *
 * @param confidence two-sided coverage in (0, 1); default 0.95.
 * @throws RangeError unless 0 <= successes <= n, both finite, and 0 < confidence < 1.
 */
export function wilsonInterval(
  successes: number,
  n: number,
  confidence = 0.95,
): { low: number; high: number } {
  if (!Number.isFinite(n) || n < 0) {
    throw new RangeError(`Wilson interval needs a finite n >= 0, got ${n}`);
  }
  if (!Number.isFinite(successes) || successes < 0 || successes > n) {
    throw new RangeError(`Wilson interval needs 0 <= successes <= n, got ${successes} of ${n}`);
  }
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(`Wilson interval confidence must be in (0, 1), got ${confidence}`);
  }
  if (n === 0) {
    return { low: 0, high: 1 };
  }
  const z = normalUpperQuantile((1 - confidence) / 2);
  // The bound nearer 0 is the small root of a quadratic, which the textbook
  // `center - dist` form computes by cancellation. Work on the side with q <= 1/2 and get
  // that bound from the product of the roots instead; reflect for q > 1/2. This keeps full
  // relative precision for tiny bounds and gives exactly 0 (or 1) at k = 0 (or k = n).
  if (successes > n / 2) {
    const mirrored = wilsonLowerHalf(n - successes, n, z);
    return { low: 1 - mirrored.high, high: 1 - mirrored.low };
  }
  return wilsonLowerHalf(successes, n, z);
}

/** Wilson bounds for k <= n / 2, in statsmodels' parametrisation. */
function wilsonLowerHalf(k: number, n: number, z: number): { low: number; high: number } {
  const q = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const center = (q + z2 / (2 * n)) / denom;
  const dist = (z * Math.sqrt((q * (1 - q)) / n + z2 / (4 * n * n))) / denom;
  const high = center + dist;
  // Both bounds solve denom * p^2 - (2q + z^2/n) * p + q^2 = 0, so low * high = q^2 / denom.
  const low = (q * q) / (denom * high);
  return { low, high };
}
