import { logGamma } from './studentT';

/**
 * Pearson's chi-square test of uniformity (scipy `stats.chisquare(counts)`: equal expected counts,
 * `df = k - 1`), with the upper tail from the regularized incomplete gamma function (series below
 * `a + 1`, Lentz's continued fraction above, as in Numerical Recipes' `gammq`).
 */

/** The survival function of the chi-square distribution with `df` degrees of freedom at `x`. */
export function chiSquareSf(x: number, df: number): number {
  if (x <= 0) return 1;
  return regularizedGammaQ(df / 2, x / 2);
}

/** The chi-square statistic and p-value of `counts` against equal expected counts. */
export function chiSquareUniformity(counts: readonly number[]): { statistic: number; df: number; pValue: number } {
  const total = counts.reduce((s, c) => s + c, 0);
  const expected = total / counts.length;
  let statistic = 0;
  for (const c of counts) statistic += ((c - expected) * (c - expected)) / expected;
  const df = counts.length - 1;
  return { statistic, df, pValue: chiSquareSf(statistic, df) };
}

function regularizedGammaQ(a: number, x: number): number {
  if (x < a + 1) return 1 - lowerSeries(a, x);
  return upperFraction(a, x);
}

function lowerSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < 10_000; n++) {
    term *= x / (a + n);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
}

function upperFraction(a: number, x: number): number {
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
}
