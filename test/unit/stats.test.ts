import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chooseExact, mcnemar } from '../../src/core/stats/mcnemar';
import type { McnemarMethod } from '../../src/core/stats/mcnemar';
import { wilsonInterval } from '../../src/core/stats/intervals';
import { mean, median, percentile } from '../../src/core/stats/percentile';

/** Written by scripts/genStatsReference.py from statsmodels, scipy and numpy. */
interface StatsReference {
  mcnemar: Array<{
    improved: number;
    regressed: number;
    exact: boolean;
    correction: boolean;
    method: McnemarMethod;
    statistic: number;
    pValue: number;
    pValueHighPrecision: number;
  }>;
  wilson: Array<{ successes: number; n: number; confidence: number; low: number; high: number }>;
  percentile: Array<{
    values: number[];
    percentiles: Array<{ p: number; value: number }>;
    mean: number;
    median: number;
  }>;
}

const reference: StatsReference = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'statsReference.json'), 'utf8'),
);

const TOLERANCE = 1e-9;
/** Below this magnitude an absolute tolerance says nothing, so the check is relative. */
const TINY = 1e-6;

/** Relative error, with an exact 0 expected treated as absolute. */
function relativeError(actual: number, expected: number): number {
  return expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
}

/**
 * Absolute 1e-9, and relative 1e-9 when |expected| < 1e-6. Returns the error that was
 * checked so suites can report the worst one.
 */
function assertClose(actual: number, expected: number, what: string): number {
  const absolute = Math.abs(actual - expected);
  assert.ok(absolute <= TOLERANCE, `${what}: got ${actual}, expected ${expected} (abs ${absolute})`);
  if (Math.abs(expected) < TINY) {
    const relative = relativeError(actual, expected);
    assert.ok(relative <= TOLERANCE, `${what}: got ${actual}, expected ${expected} (rel ${relative})`);
    return relative;
  }
  return absolute;
}

describe('stats reference fixture', () => {
  it('has the cases the generator writes', () => {
    assert.ok(reference.mcnemar.length >= 300);
    assert.ok(reference.wilson.length >= 200);
    assert.ok(reference.percentile.length >= 20);
  });
});

describe('mcnemar', () => {
  it('matches statsmodels on every reference table', () => {
    let worst = 0;
    for (const c of reference.mcnemar) {
      const what = `b=${c.improved} c=${c.regressed} ${c.method}`;
      const result = mcnemar(
        { improved: c.improved, regressed: c.regressed },
        { exact: c.exact, correction: c.correction },
      );
      assert.equal(result.method, c.method, what);
      assert.equal(result.note, undefined, what);
      worst = Math.max(worst, assertClose(result.statistic, c.statistic, `${what} statistic`));
      worst = Math.max(worst, assertClose(result.pValue, c.pValue, `${what} p`));
    }
    assert.ok(worst <= TOLERANCE);
  });

  it('computes the statistic with the same rounding as statsmodels', () => {
    for (const c of reference.mcnemar) {
      const result = mcnemar(c, c);
      assert.equal(result.statistic, c.statistic, `b=${c.improved} c=${c.regressed} ${c.method}`);
    }
  });

  it('is within 1e-12 relative of the high-precision p-value, tiny p included', () => {
    for (const c of reference.mcnemar) {
      const result = mcnemar(c, { exact: c.exact, correction: c.correction });
      const relative = relativeError(result.pValue, c.pValueHighPrecision);
      assert.ok(
        relative <= 1e-12,
        `b=${c.improved} c=${c.regressed} ${c.method}: ${result.pValue} vs ${c.pValueHighPrecision}`,
      );
    }
  });

  it('returns the correctly rounded exact p-value up to 20,000 discordant pairs', () => {
    const cases = reference.mcnemar.filter((r) => r.exact && r.improved + r.regressed <= 20_000);
    for (const c of cases) {
      assert.equal(mcnemar(c, { exact: true }).pValue, c.pValueHighPrecision, `b=${c.improved} c=${c.regressed}`);
    }
  });

  it('joins the exact and floating-point binomial tails seamlessly at 20,000 pairs', () => {
    // Pascal's rule for the tail: P(X' <= k) = (P(X <= k) + P(X <= k - 1)) / 2 with
    // X ~ Bin(n, 1/2), X' ~ Bin(n + 1, 1/2). Left side: n + 1 = 20,001 (floating point);
    // right side: n = 20,000 (exact integers). p-values are twice the tails here.
    const k = 9_600;
    const floatSide = mcnemar({ improved: k, regressed: 20_001 - k }, { exact: true }).pValue;
    const exactK = mcnemar({ improved: k, regressed: 20_000 - k }, { exact: true }).pValue;
    const exactKMinus1 = mcnemar({ improved: k - 1, regressed: 20_001 - k }, { exact: true }).pValue;
    assert.ok(floatSide > 1e-10 && floatSide < 1e-6);
    assert.ok(relativeError(floatSide, (exactK + exactKMinus1) / 2) <= 1e-12);
  });

  it('reports p = 1 and a note when no pair is discordant, for every method', () => {
    const cases: Array<[{ exact: boolean; correction?: boolean }, McnemarMethod]> = [
      [{ exact: true }, 'exact'],
      [{ exact: false }, 'chi2-corrected'],
      [{ exact: false, correction: true }, 'chi2-corrected'],
      [{ exact: false, correction: false }, 'chi2'],
    ];
    for (const [options, method] of cases) {
      assert.deepEqual(mcnemar({ improved: 0, regressed: 0 }, options), {
        statistic: 0,
        pValue: 1,
        method,
        note: 'no discordant pairs',
      });
    }
  });

  it('applies the continuity correction by default', () => {
    const counts = { improved: 3, regressed: 11 };
    assert.deepEqual(mcnemar(counts, { exact: false }), mcnemar(counts, { exact: false, correction: true }));
    assert.equal(mcnemar(counts, { exact: false }).statistic, 49 / 14);
    assert.equal(mcnemar(counts, { exact: false, correction: false }).statistic, 64 / 14);
  });

  it('is symmetric in improved and regressed', () => {
    for (const exact of [true, false]) {
      assert.deepEqual(
        mcnemar({ improved: 4, regressed: 17 }, { exact }),
        mcnemar({ improved: 17, regressed: 4 }, { exact }),
      );
    }
  });

  it('rejects counts that are not non-negative integers', () => {
    for (const bad of [-1, 1.5, NaN, Infinity]) {
      assert.throws(() => mcnemar({ improved: bad, regressed: 3 }, { exact: true }), RangeError);
      assert.throws(() => mcnemar({ improved: 3, regressed: bad }, { exact: false }), RangeError);
    }
  });
});

describe('chooseExact', () => {
  it('auto: exact below 25 discordant pairs', () => {
    assert.equal(chooseExact('auto', { improved: 0, regressed: 0 }), true);
    assert.equal(chooseExact('auto', { improved: 12, regressed: 12 }), true);
    assert.equal(chooseExact('auto', { improved: 24, regressed: 0 }), true);
    assert.equal(chooseExact('auto', { improved: 13, regressed: 12 }), false);
    assert.equal(chooseExact('auto', { improved: 0, regressed: 25 }), false);
    assert.equal(chooseExact('auto', { improved: 400, regressed: 3 }), false);
  });

  it('a boolean setting wins regardless of counts', () => {
    assert.equal(chooseExact(true, { improved: 500, regressed: 500 }), true);
    assert.equal(chooseExact(false, { improved: 1, regressed: 2 }), false);
  });
});

describe('wilsonInterval', () => {
  it('matches statsmodels proportion_confint(method="wilson") on every reference case', () => {
    for (const c of reference.wilson) {
      const what = `${c.successes}/${c.n} at ${c.confidence}`;
      const { low, high } = wilsonInterval(c.successes, c.n, c.confidence);
      // At k = 0 (k = n) the bound is exactly 0 (1); statsmodels' center - dist leaves a
      // cancellation residue of a few 1e-17 there, so a relative check against it is noise.
      if (c.successes === 0) {
        assert.equal(low, 0, `${what} low`);
        assert.ok(Math.abs(c.low) < 1e-15, `${what} reference low`);
      } else {
        assertClose(low, c.low, `${what} low`);
      }
      if (c.successes === c.n) {
        assert.equal(high, 1, `${what} high`);
        assert.ok(Math.abs(c.high - 1) < 1e-15, `${what} reference high`);
      } else {
        assertClose(high, c.high, `${what} high`);
      }
    }
  });

  it('defaults to 95% confidence', () => {
    assert.deepEqual(wilsonInterval(7, 20), wilsonInterval(7, 20, 0.95));
  });

  it('is exactly [0, 1] with no observations', () => {
    assert.deepEqual(wilsonInterval(0, 0), { low: 0, high: 1 });
    assert.deepEqual(wilsonInterval(0, 0, 0.99), { low: 0, high: 1 });
  });

  it('touches 0 and 1 exactly at the extremes and is symmetric', () => {
    assert.equal(wilsonInterval(0, 30).low, 0);
    assert.equal(wilsonInterval(30, 30).high, 1);
    const a = wilsonInterval(4, 30);
    const b = wilsonInterval(26, 30);
    assert.ok(Math.abs(a.low - (1 - b.high)) < 1e-15 && Math.abs(a.high - (1 - b.low)) < 1e-15);
  });

  it('rejects impossible inputs', () => {
    assert.throws(() => wilsonInterval(5, 4), RangeError);
    assert.throws(() => wilsonInterval(-1, 4), RangeError);
    assert.throws(() => wilsonInterval(1, NaN), RangeError);
    assert.throws(() => wilsonInterval(1, 4, 1), RangeError);
    assert.throws(() => wilsonInterval(1, 4, 0), RangeError);
  });
});

describe('percentile, mean, median', () => {
  it('match numpy on every reference array', () => {
    for (const c of reference.percentile) {
      const what = `[${c.values.length} values]`;
      for (const { p, value } of c.percentiles) {
        assertClose(percentile(c.values, p), value, `${what} p${p}`);
      }
      assertClose(mean(c.values), c.mean, `${what} mean`);
      assertClose(median(c.values), c.median, `${what} median`);
    }
  });

  it('returns the same double as numpy for every percentile', () => {
    for (const c of reference.percentile) {
      for (const { p, value } of c.percentiles) {
        assert.equal(percentile(c.values, p), value, `[${c.values.join(', ')}] p${p}`);
      }
    }
  });

  it('does not reorder its input', () => {
    const values = [3, 1, 2];
    percentile(values, 50);
    assert.deepEqual(values, [3, 1, 2]);
  });

  it('is NaN for empty input or a NaN value', () => {
    assert.ok(Number.isNaN(percentile([], 50)));
    assert.ok(Number.isNaN(mean([])));
    assert.ok(Number.isNaN(median([])));
    assert.ok(Number.isNaN(percentile([1, NaN, 3], 10)));
  });

  it('rejects p outside 0..100', () => {
    assert.throws(() => percentile([1, 2], -1), RangeError);
    assert.throws(() => percentile([1, 2], 100.5), RangeError);
    assert.throws(() => percentile([1, 2], NaN), RangeError);
  });
});
