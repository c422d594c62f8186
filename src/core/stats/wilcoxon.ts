import { normalSf } from './normal';

/** How the Wilcoxon p-value was computed. */
export type WilcoxonMethod = 'exact' | 'approx';

/** The Wilcoxon signed-rank test on paired differences. */
export interface WilcoxonResult {
  /** min(R+, R-), as scipy reports it for the two-sided test. */
  statistic: number;
  pValue: number;
  method: WilcoxonMethod;
  /** Non-zero differences the test used (zeros are dropped). */
  n: number;
  /** Sums of the ranks of the positive and the negative differences. */
  rankSumPositive: number;
  rankSumNegative: number;
}

/** Below this many non-zero differences, and with no tied magnitudes, the exact distribution is used. */
const EXACT_BELOW = 25;

/**
 * Two-sided Wilcoxon signed-rank test, zero differences dropped (scipy's default
 * `zero_method='wilcox'`): ranks of |d| with ties averaged; with fewer than 25 non-zero
 * differences and no tied magnitudes, the exact null distribution of R+ (scipy
 * `wilcoxon(d, method='exact')`: p = 2 min(P(R+ <= r), P(R+ >= r)), 1 at the centre); otherwise
 * the normal approximation with the tie correction and a continuity correction (scipy
 * `wilcoxon(d, method='approx', correction=True)`). Null when every difference is zero.
 */
export function wilcoxonSignedRank(differences: readonly number[]): WilcoxonResult | null {
  const d = differences.filter((x) => x !== 0);
  const n = d.length;
  if (n === 0) return null;
  if (d.some((x) => !Number.isFinite(x))) throw new RangeError('Wilcoxon test needs finite differences');
  const order = d.map((x, i) => ({ abs: Math.abs(x), i })).sort((p, q) => p.abs - q.abs);
  const ranks = new Array<number>(n);
  const tieSizes: number[] = [];
  for (let start = 0; start < n; ) {
    let end = start;
    while (end + 1 < n && order[end + 1].abs === order[start].abs) end++;
    const rank = (start + end + 2) / 2;
    for (let k = start; k <= end; k++) ranks[order[k].i] = rank;
    if (end > start) tieSizes.push(end - start + 1);
    start = end + 1;
  }
  let rPlus = 0;
  let rMinus = 0;
  for (let i = 0; i < n; i++) {
    if (d[i] > 0) rPlus += ranks[i];
    else rMinus += ranks[i];
  }
  const statistic = Math.min(rPlus, rMinus);
  const base = { statistic, n, rankSumPositive: rPlus, rankSumNegative: rMinus };

  if (n < EXACT_BELOW && tieSizes.length === 0) {
    const counts = signedRankCounts(n);
    const total = 2 ** n;
    const r = rPlus; // an integer: no ties
    if (r === (counts.length - 1) / 2) return { ...base, pValue: 1, method: 'exact' };
    let less = 0;
    for (let k = 0; k <= r; k++) less += counts[k];
    let greater = 0;
    for (let k = r; k < counts.length; k++) greater += counts[k];
    return { ...base, pValue: Math.min(1, (2 * Math.min(less, greater)) / total), method: 'exact' };
  }

  const mn = (n * (n + 1)) / 4;
  let variance = n * (n + 1) * (2 * n + 1);
  for (const t of tieSizes) variance -= 0.5 * t * (t * t - 1);
  const se = Math.sqrt(variance / 24);
  const correction = 0.5 * Math.sign(statistic - mn);
  const z = se === 0 ? 0 : (statistic - mn - correction) / se;
  return { ...base, pValue: Math.min(1, 2 * normalSf(Math.abs(z))), method: 'approx' };
}

/** counts[k] = the number of subsets of {1..n} whose sum is k (exact integers below 2^53). */
function signedRankCounts(n: number): number[] {
  const max = (n * (n + 1)) / 2;
  const counts = new Array<number>(max + 1).fill(0);
  counts[0] = 1;
  for (let r = 1; r <= n; r++) {
    for (let k = max; k >= r; k--) counts[k] += counts[k - r];
  }
  return counts;
}
