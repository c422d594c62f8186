import erfc from '@stdlib/math-base-special-erfc';

/**
 * Which McNemar test produced a result: the exact two-sided binomial test, or the chi-square
 * approximation with or without the continuity correction.
 */
export type McnemarMethod = 'exact' | 'chi2-corrected' | 'chi2';

/**
 * The outcome of a McNemar test on paired outcomes.
 * `statistic` is `min(improved, regressed)` for the exact test and the chi-square statistic
 * otherwise, exactly as statsmodels reports it. `note` explains a result that departs from
 * statsmodels (today only the no-discordant-pairs case).
 */
export interface McnemarResult {
  statistic: number;
  pValue: number;
  method: McnemarMethod;
  note?: string;
}

/** The discordant cells of a paired 2x2 table: the only counts McNemar's test looks at. */
export interface DiscordantCounts {
  /** Examples the baseline got wrong and the challenger got right. */
  improved: number;
  /** Examples the baseline got right and the challenger got wrong. */
  regressed: number;
}

/** Below this many discordant pairs, `mcnemar_exact: auto` uses the exact binomial test. */
const AUTO_EXACT_BELOW = 25;

/**
 * Above this many discordant pairs the binomial tail is summed in floating point instead of
 * exact integers: the exact sum costs O(min(b, c) * (b + c)) bit operations, about 15 ms at
 * 20,000 and growing quadratically.
 */
const EXACT_INTEGER_MAX_N = 20_000;

/**
 * McNemar's test of paired outcomes, matching `statsmodels.stats.contingency_tables.mcnemar`:
 * - `exact: true`: statistic `min(b, c)`, p = `min(1, 2 * P(X <= min(b, c)))` with
 *   X ~ Binomial(b + c, 1/2). The tail is computed exactly (correctly rounded) up to 20,000
 *   discordant pairs, and to about `min(b, c) * 2e-16` relative error beyond.
 * - `exact: false`: statistic `(|b - c| - 1)^2 / (b + c)` with `correction` (the default) or
 *   `(b - c)^2 / (b + c)` without; p is the chi-square(1) upper tail.
 *
 * One deliberate difference: with no discordant pairs there is no evidence either way, so the
 * result is statistic 0, p = 1 with a note, where statsmodels gives inf / NaN.
 *
 * @throws RangeError if a count is not a non-negative safe integer.
 */
export function mcnemar(
  counts: DiscordantCounts,
  options: { exact: boolean; correction?: boolean },
): McnemarResult {
  const b = checkCount(counts.improved, 'improved');
  const c = checkCount(counts.regressed, 'regressed');
  const correction = options.correction ?? true;
  const method: McnemarMethod = options.exact ? 'exact' : correction ? 'chi2-corrected' : 'chi2';

  if (b + c === 0) {
    return { statistic: 0, pValue: 1, method, note: 'no discordant pairs' };
  }

  if (options.exact) {
    const k = Math.min(b, c);
    const pValue = Math.min(1, 2 * binomialHalfCdf(k, b + c));
    return { statistic: k, pValue, method };
  }

  // Same operations, in the same order, as statsmodels, so the statistic agrees to the bit.
  // With b = c the corrected statistic is (0 - 1)^2 / n = 1 / n rather than 0: statsmodels
  // does not clamp |b - c| - 1 at zero, and matching it is the contract.
  const shift = correction ? 1 : 0;
  const statistic = (Math.abs(b - c) - shift) ** 2 / (b + c);
  return { statistic, pValue: chiSquare1Sf(statistic), method };
}

/**
 * Resolves the `mcnemar_exact` setting: `auto` means exact when fewer than 25 pairs are
 * discordant (where the chi-square approximation is poor); a boolean is used as given.
 */
export function chooseExact(setting: 'auto' | boolean, counts: DiscordantCounts): boolean {
  if (setting === 'auto') {
    return counts.improved + counts.regressed < AUTO_EXACT_BELOW;
  }
  return setting;
}

function checkCount(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`McNemar ${name} count must be a non-negative integer, got ${value}`);
  }
  return value;
}

/**
 * Upper tail of chi-square with one degree of freedom: P(X > x) = erfc(sqrt(x / 2)).
 * Computing it as 1 - cdf would lose every digit once p drops below about 1e-16.
 */
function chiSquare1Sf(x: number): number {
  return erfc(Math.sqrt(x / 2));
}

/** P(X <= k) for X ~ Binomial(n, 1/2). */
function binomialHalfCdf(k: number, n: number): number {
  if (k >= n) {
    return 1;
  }
  return n <= EXACT_INTEGER_MAX_N ? binomialHalfCdfExact(k, n) : binomialHalfCdfFloat(k, n);
}

/**
 * sum_{i<=k} C(n, i) / 2^n in exact integer arithmetic, then one correctly rounded division
 * by the power of two. C(n, i) = C(n, i-1) * (n-i+1) / i divides exactly at every step.
 */
function binomialHalfCdfExact(k: number, n: number): number {
  const bigN = BigInt(n);
  let term = 1n;
  let sum = 1n;
  for (let i = 1n; i <= BigInt(k); i++) {
    term = (term * (bigN - i + 1n)) / i;
    sum += term;
  }
  return bigIntTimesPow2(sum, -n);
}

/**
 * The same tail in floating point for large n: the largest term C(n, k) / 2^n as a product
 * with a separately tracked binary exponent (so nothing overflows or underflows on the way),
 * times the sum of the ratios of the smaller terms to it. Each step rounds twice, so the
 * relative error stays under about 2k machine epsilons.
 */
function binomialHalfCdfFloat(k: number, n: number): number {
  const RESCALE = 2 ** 512;
  let mantissa = 1;
  let exponent = -n;
  for (let i = 1; i <= k; i++) {
    mantissa = (mantissa * (n - i + 1)) / i;
    if (mantissa > RESCALE) {
      mantissa /= RESCALE;
      exponent += 512;
    }
  }
  // Terms below the k-th shrink by i / (n - i + 1) each; stop once they no longer count.
  let ratio = 1;
  let ratioSum = 1;
  for (let i = k; i >= 1; i--) {
    ratio *= i / (n - i + 1);
    ratioSum += ratio;
    if (ratio < ratioSum * 1e-18) {
      break;
    }
  }
  return timesPow2(mantissa * ratioSum, exponent);
}

/** value * 2^exponent for a non-negative BigInt, correctly rounded to the nearest double. */
function bigIntTimesPow2(value: bigint, exponent: number): number {
  const bits = value.toString(2).length;
  if (bits <= 64) {
    return timesPow2(Number(value), exponent);
  }
  // Keep 64 bits (11 beyond a double's 53) and fold every dropped bit into the last one, so
  // Number() sees the same round-to-nearest-even decision the full value would give.
  const drop = BigInt(bits - 64);
  let top = value >> drop;
  if (top << drop !== value) {
    top |= 1n;
  }
  return timesPow2(Number(top), exponent + bits - 64);
}

/** x * 2^exponent without overflowing or underflowing an intermediate power of two. */
function timesPow2(x: number, exponent: number): number {
  let result = x;
  let e = exponent;
  while (e < -1000 && result !== 0) {
    result *= 2 ** -1000;
    e += 1000;
  }
  while (e > 1000 && Number.isFinite(result)) {
    result *= 2 ** 1000;
    e -= 1000;
  }
  return result * 2 ** e;
}
