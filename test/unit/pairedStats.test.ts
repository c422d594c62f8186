import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fleissKappa } from '../../src/core/stats/agreement';
import { holmAdjust } from '../../src/core/stats/holm';
import { normalUpperQuantile } from '../../src/core/stats/normal';
import { clusteredDifference, newcombePairedInterval, pairedTInterval } from '../../src/core/stats/pairedDifference';
import { connorSampleSize, detectableDifference } from '../../src/core/stats/power';
import { studentTQuantile } from '../../src/core/stats/studentT';
import { wilcoxonSignedRank } from '../../src/core/stats/wilcoxon';

/** Written by scripts/genStatsReference.py (scipy, statsmodels, numpy, and the papers' formulas). */
interface Reference {
  normalQuantile: Array<{ tail: number; z: number }>;
  tQuantile: Array<{ p: number; df: number; t: number; scipy: number }>;
  newcombe: Array<{ cells: [number, number, number, number]; confidence: number; estimate: number; lower: number; upper: number }>;
  newcombePublished: Array<{ source: string; cells: [number, number, number, number]; lower: number; upper: number; decimals: number }>;
  pairedT: Array<{ differences: number[]; estimate: number; lower: number; upper: number }>;
  connor: Array<{ n: number; discordantShare: number; alpha: number; power: number; detectableRegression: number | null; delta: number; examplesNeeded: number }>;
  connorPublished: Array<{ source: string; discordantShare: number; delta: number; alpha: number; power: number; n: number }>;
  powerSimulation: Array<{ n: number; discordantShare: number; alpha: number; detectableRegression: number; suites: number; rejectedChi2: number; rejectedGate: number }>;
  wilcoxon: Array<{ differences: number[]; method: 'exact' | 'approx'; statistic: number; pValue: number }>;
  holm: Array<{ pValues: number[]; adjusted: number[] }>;
  fleiss: Array<{ counts: number[][]; kappa: number }>;
  clustered: Array<{ differences: number[]; clusters: string[]; estimate: number; standardError: number; lower: number; upper: number }>;
}

const reference: Reference = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'statsReference.json'), 'utf8'));
const TOLERANCE = 1e-9;

function close(actual: number, expected: number, what: string, tolerance = TOLERANCE): void {
  const error = Math.abs(actual - expected) / Math.max(1, Math.abs(expected));
  assert.ok(error <= tolerance, `${what}: got ${actual}, expected ${expected}`);
}

const cellsOf = ([a, b, c, d]: number[]): { a: number; b: number; c: number; d: number } => ({ a, b, c, d });

describe('normal and t quantiles', () => {
  it('normalUpperQuantile matches scipy norm.isf', () => {
    for (const c of reference.normalQuantile) close(normalUpperQuantile(c.tail), c.z, `isf(${c.tail})`);
  });

  it('studentTQuantile matches the 50-digit root to 1e-11, and scipy t.ppf to its own 1e-8', () => {
    assert.ok(reference.tQuantile.length >= 100);
    for (const c of reference.tQuantile) {
      close(studentTQuantile(c.p, c.df), c.t, `t.ppf(${c.p}, ${c.df})`, 1e-11);
      close(studentTQuantile(c.p, c.df), c.scipy, `scipy t.ppf(${c.p}, ${c.df})`, 1e-8);
    }
  });
});

describe("Newcombe's paired interval (method 10)", () => {
  it('reproduces the published worked examples to their printed decimals', () => {
    assert.ok(reference.newcombePublished.length >= 3);
    for (const pub of reference.newcombePublished) {
      const { lower, upper } = newcombePairedInterval(cellsOf(pub.cells));
      assert.equal(Number(lower.toFixed(pub.decimals)), pub.lower, `${pub.source} lower ${lower}`);
      assert.equal(Number(upper.toFixed(pub.decimals)), pub.upper, `${pub.source} upper ${upper}`);
    }
  });

  it('agrees with the reference implementation to 1e-9 on every table', () => {
    assert.ok(reference.newcombe.length >= 300);
    for (const c of reference.newcombe) {
      const got = newcombePairedInterval(cellsOf(c.cells), c.confidence);
      const what = `[${c.cells.join(', ')}] at ${c.confidence}`;
      close(got.estimate, c.estimate, `${what} estimate`);
      close(got.lower, c.lower, `${what} lower`);
      close(got.upper, c.upper, `${what} upper`);
    }
  });

  it('uses phi = 0 when a margin is empty, and contains the estimate', () => {
    // a + b = n: the challenger is always right, so (c + d)(b + d)... has a zero factor.
    const allRight = newcombePairedInterval({ a: 30, b: 10, c: 0, d: 0 });
    assert.ok(allRight.lower < allRight.estimate && allRight.estimate < allRight.upper);
    assert.throws(() => newcombePairedInterval({ a: 0, b: 0, c: 0, d: 0 }), RangeError);
    assert.throws(() => newcombePairedInterval({ a: 1.5, b: 0, c: 0, d: 0 }), RangeError);
  });
});

describe('paired t interval', () => {
  it('matches the t interval computed with numpy and the exact t quantile', () => {
    for (const c of reference.pairedT) {
      const got = pairedTInterval(c.differences);
      assert.ok(got);
      close(got.estimate, c.estimate, `${c.differences.length} estimate`);
      close(got.lower, c.lower, `${c.differences.length} lower`);
      close(got.upper, c.upper, `${c.differences.length} upper`);
    }
  });

  it('is null below two differences', () => {
    assert.equal(pairedTInterval([]), null);
    assert.equal(pairedTInterval([1]), null);
  });
});

describe("Connor's power", () => {
  it("reproduces Connor's equation worked by hand", () => {
    for (const pub of reference.connorPublished) {
      assert.equal(Math.ceil(connorSampleSize(pub.discordantShare, pub.delta, pub.alpha, pub.power)), pub.n, pub.source);
    }
  });

  it('sample size and detectable regression agree with the reference to 1e-9', () => {
    assert.ok(reference.connor.length >= 300);
    for (const c of reference.connor) {
      const what = `n=${c.n} psi=${c.discordantShare} alpha=${c.alpha}`;
      close(connorSampleSize(c.discordantShare, c.delta, c.alpha, c.power), c.examplesNeeded, `${what} n(${c.delta})`);
      const delta = detectableDifference(c.n, c.discordantShare, c.alpha, c.power);
      if (c.detectableRegression === null) assert.equal(delta, null, what);
      else close(delta as number, c.detectableRegression, `${what} delta`);
    }
  });

  it('the detectable regression solves the sample-size equation', () => {
    const delta = detectableDifference(312, 0.13, 0.05) as number;
    close(connorSampleSize(0.13, delta, 0.05), 312, 'round trip', 1e-12);
  });

  it('McNemar at the reported regression rejected in about 80% of 20,000 simulated suites', () => {
    assert.ok(reference.powerSimulation.length >= 3);
    for (const sim of reference.powerSimulation) {
      assert.equal(sim.suites, 20_000);
      close(detectableDifference(sim.n, sim.discordantShare, sim.alpha) as number, sim.detectableRegression, `n=${sim.n}`);
      // Connor's model (the uncorrected chi-square): 80% within simulation error (sd 0.3%).
      assert.ok(Math.abs(sim.rejectedChi2 - 0.8) < 0.02, `n=${sim.n}: ${sim.rejectedChi2}`);
      // The gate's own test (exact below 25 discordant, else continuity-corrected) is a little more conservative.
      assert.ok(sim.rejectedGate > 0.74 && sim.rejectedGate <= sim.rejectedChi2, `n=${sim.n}: ${sim.rejectedGate}`);
    }
  });

  it('is null with no discordant pairs or too few examples', () => {
    assert.equal(detectableDifference(312, 0, 0.05), null);
    assert.equal(detectableDifference(0, 0.1, 0.05), null);
    assert.equal(detectableDifference(3, 0.01, 0.05), null);
  });
});

describe('Wilcoxon signed-rank', () => {
  it('matches scipy (exact below 25 without ties, else the corrected normal approximation)', () => {
    const methods = new Set(reference.wilcoxon.map((c) => c.method));
    assert.deepEqual([...methods].sort(), ['approx', 'exact']);
    for (const c of reference.wilcoxon) {
      const got = wilcoxonSignedRank(c.differences);
      assert.ok(got);
      const what = `${c.differences.length} differences`;
      assert.equal(got.method, c.method, what);
      close(got.statistic, c.statistic, `${what} statistic`);
      close(got.pValue, c.pValue, `${what} p`);
    }
  });

  it('drops zeros and is null when nothing differs', () => {
    assert.equal(wilcoxonSignedRank([0, 0, 0]), null);
    assert.deepEqual(wilcoxonSignedRank([0, 1, -2, 3]), wilcoxonSignedRank([1, -2, 3]));
  });
});

describe('Holm, Fleiss, clustered', () => {
  it('holmAdjust matches statsmodels multipletests(method="holm")', () => {
    for (const c of reference.holm) {
      holmAdjust(c.pValues).forEach((p, i) => close(p, c.adjusted[i], `[${c.pValues.join(', ')}][${i}]`));
    }
  });

  it('fleissKappa matches statsmodels', () => {
    for (const c of reference.fleiss) close(fleissKappa(c.counts) as number, c.kappa, `${c.counts.length} subjects`);
    assert.equal(fleissKappa([[3, 0], [3, 0]]), null);
  });

  it('clusteredDifference matches statsmodels OLS with cluster-robust covariance', () => {
    for (const c of reference.clustered) {
      const got = clusteredDifference(c.differences, c.clusters);
      assert.ok(got);
      close(got.estimate, c.estimate, 'estimate');
      close(got.standardError, c.standardError, 'standard error');
      close(got.lower, c.lower, 'lower');
      close(got.upper, c.upper, 'upper');
    }
    assert.equal(clusteredDifference([1, 0], ['x', 'x']), null);
  });
});
