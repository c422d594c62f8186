import { strict as assert } from 'node:assert';
import { evaluateGate, formatP } from '../../src/core/eval/gate';
import type { GateInput, GateSettings } from '../../src/core/eval/gate';
import { promptMetadataSchema } from '../../src/core/metadataSchema';

function settings(evalSettings: Record<string, unknown> = {}, ci: Record<string, unknown> = {}): GateSettings {
  return promptMetadataSchema.parse({
    name: 'p',
    version: 2,
    model: 'm',
    eval: { threshold_win_rate: 0.9, threshold_p95_latency_ms: 4000, noise_envelope_alpha: 0.05, ...evalSettings },
    ci,
  });
}

const clean: GateInput = {
  total: 100,
  errors: 0,
  cancelled: 0,
  challengerWinRate: 0.95,
  challengerP95LatencyMs: 1200,
  improved: 4,
  regressed: 3,
  pValue: 1,
};

describe('eval gate', () => {
  it('passes when no condition is hit', () => {
    const gate = evaluateGate(clean, settings());
    assert.equal(gate.status, 'pass');
    assert.deepEqual(gate.reasons, []);
    assert.deepEqual(gate.thresholds, { winRate: 0.9, p95LatencyMs: 4000, alpha: 0.05 });
  });

  it('blocks on a win rate under the threshold', () => {
    const gate = evaluateGate({ ...clean, challengerWinRate: 0.85 }, settings());
    assert.equal(gate.status, 'blocked');
    assert.deepEqual(gate.reasons.map((r) => r.code), ['win-rate']);
    assert.equal(gate.reasons[0].message, 'challenger pass rate 85.0% is below threshold_win_rate 90.0%');
  });

  it('exactly at the threshold passes', () => {
    assert.equal(evaluateGate({ ...clean, challengerWinRate: 0.9 }, settings()).status, 'pass');
  });

  it('blocks on a significant regression, not on an insignificant one or on a significant improvement', () => {
    assert.equal(evaluateGate({ ...clean, improved: 2, regressed: 12, pValue: 0.0129 }, settings()).status, 'blocked');
    assert.equal(evaluateGate({ ...clean, improved: 2, regressed: 5, pValue: 0.45 }, settings()).status, 'pass');
    assert.equal(evaluateGate({ ...clean, improved: 12, regressed: 2, pValue: 0.0129 }, settings()).status, 'pass');
    const gate = evaluateGate({ ...clean, improved: 2, regressed: 12, pValue: 0.0129 }, settings());
    assert.equal(gate.reasons[0].message, '12 examples regressed and 2 improved; McNemar p = 0.0129 is below noise_envelope_alpha 0.05');
  });

  it('blocks on p95 latency over the threshold; no threshold, no check', () => {
    assert.equal(evaluateGate({ ...clean, challengerP95LatencyMs: 4001 }, settings()).status, 'blocked');
    assert.equal(evaluateGate({ ...clean, challengerP95LatencyMs: 99_999 }, settings({ threshold_p95_latency_ms: undefined })).status, 'pass');
  });

  it('is inconclusive when examples could not be scored, and lists every reason', () => {
    const gate = evaluateGate({ ...clean, errors: 3 }, settings());
    assert.equal(gate.status, 'inconclusive');
    assert.equal(gate.reasons[0].message, '3 of 100 examples could not be scored (see their errors)');
    const both = evaluateGate({ ...clean, errors: 3, challengerWinRate: 0.5, challengerP95LatencyMs: 5000, cancelled: 10 }, settings());
    assert.equal(both.status, 'blocked', 'a blocking reason outranks an inconclusive one');
    assert.deepEqual(both.reasons.map((r) => r.code), ['win-rate', 'latency', 'unscored', 'cancelled']);
  });

  it('a cancelled run is inconclusive', () => {
    const gate = evaluateGate({ ...clean, cancelled: 40 }, settings());
    assert.equal(gate.status, 'inconclusive');
    assert.match(gate.reasons[0].message, /cancelled with 40 of 100 examples unfinished/);
  });

  it('nothing scored at all is inconclusive', () => {
    assert.equal(evaluateGate({ ...clean, challengerWinRate: null, challengerP95LatencyMs: null, errors: 100 }, settings()).status, 'inconclusive');
    assert.equal(evaluateGate({ ...clean, total: 0, challengerWinRate: null }, settings()).status, 'inconclusive');
  });

  it('block_on_eval_regression: false reports the reasons but passes, with a note', () => {
    const gate = evaluateGate({ ...clean, challengerWinRate: 0.5 }, settings({}, { block_on_eval_regression: false }));
    assert.equal(gate.status, 'pass');
    assert.equal(gate.unblockedStatus, 'blocked');
    assert.equal(gate.blocking, false);
    assert.equal(gate.reasons.length, 1);
    assert.deepEqual(gate.notes, ['would be blocked, but not blocking: ci.block_on_eval_regression is false for this prompt']);
  });

  it('formats p-values for people', () => {
    assert.equal(formatP(1), '1');
    assert.equal(formatP(0.012939453125), '0.01294');
    assert.equal(formatP(3.2e-7), '3.20e-7');
    assert.equal(formatP(0), '0');
  });
});
