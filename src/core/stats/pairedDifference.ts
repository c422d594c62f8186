import { wilsonInterval } from './intervals';
import { normalUpperQuantile } from './normal';
import { mean } from './percentile';
import { studentTQuantile } from './studentT';

/** A difference (challenger minus baseline) with its two-sided interval. */
export interface DifferenceInterval {
  estimate: number;
  lower: number;
  upper: number;
}

/**
 * The paired 2x2 table as Newcombe writes it: `a` both sides correct, `b` only the challenger
 * (improved), `c` only the baseline (regressed), `d` neither.
 */
export interface PairedCells {
  a: number;
  b: number;
  c: number;
  d: number;
}

/**
 * Newcombe's hybrid score interval for the difference of paired proportions (Newcombe 1998,
 * "Improved confidence intervals for the difference between binomial proportions based on paired
 * data", Stat Med 17:2635-2650, method 10): the difference (a+b)/n - (a+c)/n = (b-c)/n, its
 * bounds from the Wilson intervals (l1, u1) and (l2, u2) of the two proportions,
 *   lower = θ - sqrt((p1-l1)² - 2φ(p1-l1)(u2-p2) + (u2-p2)²)
 *   upper = θ + sqrt((p2-l2)² - 2φ(p2-l2)(u1-p1) + (u1-p1)²)
 * with the correlation φ corrected as the paper does: (max(ad - bc - n/2, 0) when ad > bc, else
 * ad - bc) / sqrt((a+b)(c+d)(a+c)(b+d)), and φ = 0 where that denominator is 0 (a margin is empty).
 * @throws RangeError for a negative, non-integer or empty table.
 */
export function newcombePairedInterval(cells: PairedCells, confidence = 0.95): DifferenceInterval {
  const { a, b, c, d } = cells;
  for (const [name, v] of Object.entries(cells)) {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`paired table cell ${name} must be a non-negative integer, got ${v}`);
  }
  const n = a + b + c + d;
  if (n === 0) throw new RangeError('paired table is empty');
  const p1 = (a + b) / n;
  const p2 = (a + c) / n;
  const w1 = wilsonInterval(a + b, n, confidence);
  const w2 = wilsonInterval(a + c, n, confidence);
  const denominator = (a + b) * (c + d) * (a + c) * (b + d);
  const adMinusBc = a * d - b * c;
  const phi = denominator === 0 ? 0 : (adMinusBc > 0 ? Math.max(adMinusBc - n / 2, 0) : adMinusBc) / Math.sqrt(denominator);
  const theta = (b - c) / n;
  const below = (p1 - w1.low) ** 2 - 2 * phi * (p1 - w1.low) * (w2.high - p2) + (w2.high - p2) ** 2;
  const above = (p2 - w2.low) ** 2 - 2 * phi * (p2 - w2.low) * (w1.high - p1) + (w1.high - p1) ** 2;
  return { estimate: theta, lower: theta - Math.sqrt(Math.max(below, 0)), upper: theta + Math.sqrt(Math.max(above, 0)) };
}

/**
 * The paired t interval of a mean difference: mean ± t_{1-α/2, n-1} · s / sqrt(n), s the sample
 * standard deviation (n - 1 in the denominator). Null with fewer than two differences.
 */
export function pairedTInterval(differences: readonly number[], confidence = 0.95): DifferenceInterval | null {
  const n = differences.length;
  if (n < 2) return null;
  const m = mean(differences);
  let squares = 0;
  for (const x of differences) squares += (x - m) ** 2;
  const se = Math.sqrt(squares / (n - 1)) / Math.sqrt(n);
  const q = studentTQuantile(1 - (1 - confidence) / 2, n - 1);
  return { estimate: m, lower: m - q * se, upper: m + q * se };
}

/** A difference whose standard error is clustered. */
export interface ClusteredDifference extends DifferenceInterval {
  standardError: number;
  clusters: number;
}

/**
 * The mean of per-example differences with its cluster-robust standard error, as Miller
 * ("Adding Error Bars to Evals", 2024) recommends when examples come in groups (several cut from
 * one document): SE² = G/(G-1) · Σ_g (Σ_{i∈g} (d_i - d̄))² / n², G the number of clusters (the
 * estimator statsmodels' OLS with `cov_type='cluster'` uses for a constant-only model), and the
 * normal interval estimate ± z · SE. `clusters[i]` names the cluster of `differences[i]`.
 * Null with fewer than two clusters.
 */
export function clusteredDifference(
  differences: readonly number[],
  clusters: readonly string[],
  confidence = 0.95,
): ClusteredDifference | null {
  if (clusters.length !== differences.length) throw new RangeError('one cluster per difference');
  const n = differences.length;
  const m = mean(differences);
  const sums = new Map<string, number>();
  for (let i = 0; i < n; i++) sums.set(clusters[i], (sums.get(clusters[i]) ?? 0) + (differences[i] - m));
  const g = sums.size;
  if (g < 2) return null;
  let total = 0;
  for (const s of sums.values()) total += s * s;
  const standardError = Math.sqrt((g / (g - 1)) * total) / n;
  const z = normalUpperQuantile((1 - confidence) / 2);
  return { estimate: m, lower: m - z * standardError, upper: m + z * standardError, standardError, clusters: g };
}
