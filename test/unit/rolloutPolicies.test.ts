import * as assert from 'node:assert/strict';
import { CONTROL_PIN_EXPIRING, CONTROL_PIN_MODEL_DEPRECATED, CONTROL_SERVING_VERSION_DELETED, controlPlaneFindings } from '../../src/core/gate/controlPlanePolicies';
import type { VersionModel } from '../../src/core/gate/controlPlanePolicies';
import { describeRollouts, formatDuration, pinState, shareBar } from '../../src/core/runtime/rolloutStatus';
import type { PromptRollout, TenantPin } from '../../src/core/runtime/snapshot';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function rollout(prompt: string, shares: Array<[number, number, number?]>, extra: Partial<PromptRollout> = {}): PromptRollout {
  return {
    prompt,
    revision: 3,
    shares: shares.map(([version, basisPoints, sinceHoursAgo]) => ({ version, basisPoints, excludedTiers: [], since: NOW - (sinceHoursAgo ?? 0) * HOUR })),
    lastFullVersion: 1,
    rollback: null,
    updatedAt: NOW,
    updatedBy: 'ops@example.com',
    ...extra,
  };
}

function pin(tenantId: string, prompt: string, version: number, expiresAt: number | null): TenantPin {
  return { tenantId, prompt, version, expiresAt, reason: 'contract', createdAt: NOW - DAY, createdBy: 'ops@example.com' };
}

const MODEL_RANGE = { start: { line: 2, character: 7 }, end: { line: 2, character: 24 } };
const versions = (entries: Array<[string, string]>): Map<string, VersionModel> =>
  new Map(entries.map(([dir, model]) => [dir, { file: `${dir}/metadata.yaml`, model, modelRange: MODEL_RANGE }]));

describe('control-plane policies of the gate', () => {
  it('refuses deleting a version that serves traffic, in the words production would use', () => {
    const findings = controlPlaneFindings({
      rollouts: [rollout('summarisation', [[1, 9500], [2, 500]])],
      pins: [],
      removed: [{ dir: 'prompts/summarisation/v1', name: 'summarisation', version: 1 }],
      versions: new Map(),
      now: NOW,
    });
    assert.equal(findings.length, 1);
    assert.equal(findings[0].code, CONTROL_SERVING_VERSION_DELETED);
    assert.equal(findings[0].severity, 'error');
    assert.equal(findings[0].file, 'prompts/summarisation/v1/metadata.yaml');
    assert.match(findings[0].message, /^v1 serves 95% of summarisation; deleting it breaks production/);
  });

  it('refuses deleting a pinned version or the one a rollback serves, and allows deleting one with no traffic', () => {
    const removed = [
      { dir: 'prompts/summarisation/v2', name: 'summarisation', version: 2 },
      { dir: 'prompts/summarisation/v3', name: 'summarisation', version: 3 },
    ];
    const findings = controlPlaneFindings({
      rollouts: [rollout('summarisation', [[1, 10000], [2, 0], [3, 0]], { rollback: { version: 1, at: NOW } })],
      pins: [pin('acme', 'summarisation', 2, null), pin('old', 'summarisation', 3, NOW - HOUR)],
      removed,
      versions: new Map(),
      now: NOW,
    });
    assert.deepEqual(findings.filter((f) => f.code === CONTROL_SERVING_VERSION_DELETED).map((f) => [f.file, f.message.split(';')[0]]), [
      ['prompts/summarisation/v2/metadata.yaml', '1 tenant is pinned to it ("acme")'],
    ]);
    const rolledBack = controlPlaneFindings({
      rollouts: [rollout('summarisation', [[1, 10000]], { rollback: { version: 1, at: NOW } })],
      pins: [],
      removed: [{ dir: 'prompts/summarisation/v1', name: 'summarisation', version: 1 }],
      versions: new Map(),
      now: NOW,
    });
    assert.match(rolledBack[0].message, /^a rollback in force serves v1 of summarisation to everyone; deleting it breaks production/);
  });

  it('warns about pins of versions on deprecated or retired models, on the model key', () => {
    const findings = controlPlaneFindings({
      rollouts: [],
      pins: [pin('acme', 'summarisation', 1, null), pin('globex', 'classification', 1, null), pin('initech', 'triage', 1, null)],
      removed: [],
      versions: versions([
        ['prompts/summarisation/v1', 'claude-opus-4-5'],
        ['prompts/classification/v1', 'claude-opus-4-1-20250805'],
        ['prompts/triage/v1', 'claude-opus-5-5'],
      ]),
      now: NOW,
    });
    assert.deepEqual(
      findings.map((f) => [f.code, f.file, f.severity]),
      [
        [CONTROL_PIN_MODEL_DEPRECATED, 'prompts/classification/v1/metadata.yaml', 'warning'],
        [CONTROL_PIN_MODEL_DEPRECATED, 'prompts/summarisation/v1/metadata.yaml', 'warning'],
      ],
    );
    assert.deepEqual(findings[0].range, MODEL_RANGE);
    assert.match(findings[0].message, /tenant "globex" to classification v1: its model claude-opus-4-1-20250805 was retired on 2026-08-05, so its requests fail/);
    assert.match(findings[1].message, /tenant "acme" to summarisation v1: its model claude-opus-4-5 is deprecated and retires on 2027-01-22/);
  });

  it('warns about pins past or within 14 days of their expiry, and not about later ones', () => {
    const findings = controlPlaneFindings({
      rollouts: [],
      pins: [pin('a', 'summarisation', 1, NOW - 5 * HOUR), pin('b', 'summarisation', 1, NOW + 3 * DAY), pin('c', 'summarisation', 1, NOW + 15 * DAY), pin('d', 'summarisation', 1, null)],
      removed: [],
      versions: versions([['prompts/summarisation/v1', 'claude-opus-5-5']]),
      now: NOW,
    });
    assert.deepEqual(findings.map((f) => [f.code, f.message.split(' ').slice(0, 6).join(' ')]), [
      [CONTROL_PIN_EXPIRING, 'the pin of tenant "a" to'],
      [CONTROL_PIN_EXPIRING, 'the pin of tenant "b" to'],
    ]);
    assert.match(findings[0].message, /expired 5 h ago \(2026-12-01T07:00:00\.000Z\): the runtime ignores it/);
    assert.match(findings[1].message, /expires in 3 d \(2026-12-04T12:00:00\.000Z\), within 14 days/);
  });
});

describe('rollout status for the Rollouts view', () => {
  it('lists every version of the repository and the control plane with share, bar, soak, tiers and pins', () => {
    const r = rollout('summarisation', [[1, 9000, 72], [2, 1000, 2.5]]);
    r.shares[1].excludedTiers = ['enterprise'];
    const [status, other] = describeRollouts({
      rollouts: [r],
      pins: [pin('acme', 'summarisation', 2, NOW + 2 * DAY), pin('zeta', 'summarisation', 2, null)],
      versions: new Map([['summarisation', [1, 2, 3]], ['classification', [1]]]),
      now: NOW,
    });
    assert.equal(other.prompt, 'summarisation');
    assert.equal(status.prompt, 'classification');
    assert.equal(status.noRollout, true);
    // With no rollout recorded the runtime serves the lowest version, so the view shows it with all the traffic.
    assert.deepEqual(status.versions.map((v) => [v.version, v.share, v.servedByDefault]), [[1, '100%', true]]);
    assert.deepEqual(other.versions.map((v) => v.servedByDefault), [false, false, false]);
    assert.deepEqual(
      other.versions.map((v) => [v.version, v.share, v.bar, v.soakMs === null ? null : formatDuration(v.soakMs), v.excludedTiers, v.pins.map((p) => `${p.tenantId}:${p.state}:${p.expiry}`)]),
      [
        [1, '90%', '█████████░', '3 d', [], []],
        [2, '10%', '█░░░░░░░░░', '2 h 30 min', ['enterprise'], ['acme:expiring:expires in 2 d', 'zeta:active:no expiry']],
        [3, '0%', '░░░░░░░░░░', null, [], []],
      ],
    );
    assert.equal(other.lastFullVersion, 1);
    assert.equal(other.revision, 3);
  });

  it('marks pin states and formats durations and bars', () => {
    assert.equal(pinState({ expiresAt: null }, NOW), 'active');
    assert.equal(pinState({ expiresAt: NOW }, NOW), 'expired');
    assert.equal(pinState({ expiresAt: NOW + 14 * DAY }, NOW), 'expiring');
    assert.equal(pinState({ expiresAt: NOW + 14 * DAY + 1 }, NOW), 'active');
    assert.deepEqual([formatDuration(45_000), formatDuration(12 * 60_000), formatDuration(HOUR), formatDuration(DAY + HOUR)], ['45 s', '12 min', '1 h', '1 d 1 h']);
    assert.deepEqual([shareBar(0), shareBar(10000), shareBar(500), shareBar(450)], ['░░░░░░░░░░', '██████████', '█░░░░░░░░░', '░░░░░░░░░░']);
  });
});
