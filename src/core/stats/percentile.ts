import { sum } from 'simple-statistics';

/**
 * The p-th percentile (p in 0..100) by numpy's default `linear` method (Hyndman & Fan type 7):
 * sort, take the virtual index (n - 1) * p / 100, interpolate between its neighbours.
 * Returns NaN for an empty array or when any value is NaN (as numpy does).
 *
 * simple-statistics 7.12's `quantileSorted` is also type 7, but it is written here so the
 * result is the same double numpy returns: numpy interpolates as `b - (b - a) * (1 - t)` once
 * t >= 1/2 (which lands exactly on b at t = 1), and simple-statistics always uses
 * `a + t * (b - a)`, which can differ in the last bits. It also throws on empty input.
 *
 * @throws RangeError if p is outside [0, 100].
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) {
    throw new RangeError(`Percentile must be in [0, 100], got ${p}`);
  }
  if (values.length === 0 || values.some(Number.isNaN)) {
    return NaN;
  }
  const sorted = [...values].sort((a, b) => a - b);
  // numpy divides by 100 first, then multiplies: the same rounding gives the same index.
  const virtualIndex = (sorted.length - 1) * (p / 100);
  if (virtualIndex >= sorted.length - 1) {
    return sorted[sorted.length - 1];
  }
  const below = Math.floor(virtualIndex);
  const t = virtualIndex - below;
  const a = sorted[below];
  const b = sorted[below + 1];
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/**
 * Arithmetic mean; NaN for an empty array. Summed with simple-statistics' compensated sum,
 * which is at least as accurate as numpy's pairwise summation.
 */
export function mean(values: readonly number[]): number {
  if (values.length === 0) {
    return NaN;
  }
  return sum(values as number[]) / values.length;
}

/** Median, i.e. `percentile(values, 50)`: the mean of the two middle values for even length. */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}
