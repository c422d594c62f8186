import assert from 'node:assert/strict';
import type { HistoryRecord } from '../../src/core/gate/history';
import { promoteDecision, rolloutDecision } from '../../src/core/gate/promotePolicy';
import type { PromptRollout } from '../../src/core/runtime/snapshot';

const HOUR = 3_600_000;
const now = Date.parse('2026-03-02T12:00:00Z');

function rollout(v2Since: number, v2Points = 500): PromptRollout {
  return {
    prompt: 'summarisation',
    revision: 3,
    shares: [
      { version: 1, basisPoints: 10_000 - v2Points, excludedTiers: [], since: now - 900 * HOUR },
      { version: 2, basisPoints: v2Points, excludedTiers: [], since: v2Since },
    ],
    lastFullVersion: 1,
    rollback: null,
    updatedAt: v2Since,
    updatedBy: 'ops',
  };
}

function passed(prompt: string, version: number): HistoryRecord {
  return { prompt, version, dir: `prompts/${prompt}/v${version}`, winRate: 0.9, scored: 50, correct: 45, model: 'm', judgeModel: 'j', date: '2026-03-01T00:00:00Z', commit: null, source: 'gate' } as HistoryRecord;
}

describe('promote policy (shared by prompt-ci promote and the Rollouts view)', () => {
  it('allows a version that has soaked and whose gate passed', () => {
    const decision = promoteDecision({ prompt: 'summarisation', version: 2, rollout: rollout(now - 25 * HOUR), history: [passed('summarisation', 2)], soakHours: 24, now });
    assert.deepEqual(decision, { allowed: true, holds: [] });
  });

  it('holds a version still soaking, naming how long it soaked and when it may go', () => {
    const decision = promoteDecision({ prompt: 'summarisation', version: 2, rollout: rollout(now - 5 * HOUR - 30 * 60_000), history: [passed('summarisation', 2)], soakHours: 24, now });
    assert.equal(decision.allowed, false);
    assert.deepEqual(decision.holds.map((h) => h.kind), ['soaking']);
    assert.equal(decision.holds[0].message, 'summarisation v2 has soaked 5 h 30 min of the 24 h soak (rollout.soakHours in prompt-ci.yaml); it can be promoted after 2026-03-03T06:30:00.000Z');
  });

  it('holds a version with no traffic, and one whose gate never passed; every hold is listed', () => {
    const none = promoteDecision({ prompt: 'summarisation', version: 2, rollout: rollout(now - 30 * HOUR, 0), history: [passed('summarisation', 1), passed('classification', 2)], soakHours: 24, now });
    assert.deepEqual(none.holds.map((h) => h.kind), ['no-traffic', 'no-passing-gate']);
    assert.match(none.holds[0].message, /^summarisation v2 has no traffic yet, so it has not soaked: roll it out first \(`prompt-ci rollout summarisation 2 --share 5`\)$/);
    assert.equal(none.holds[1].message, 'the gate has not passed summarisation v2: .prompt-ci/history.jsonl has no passing run of it (run `prompt-ci gate`)');
    assert.deepEqual(promoteDecision({ prompt: 'summarisation', version: 2, rollout: undefined, history: [], soakHours: 0, now }).holds.map((h) => h.kind), ['no-traffic', 'no-passing-gate']);
  });

  it('counts the soak from the moment the share was given, to the millisecond', () => {
    const at = (soakedMs: number) => promoteDecision({ prompt: 'summarisation', version: 2, rollout: rollout(now - soakedMs), history: [passed('summarisation', 2)], soakHours: 24, now }).allowed;
    assert.equal(at(24 * HOUR - 1), false);
    assert.equal(at(24 * HOUR), true);
  });

  it('holds a rollout of a version the gate has not passed, and never one of the version production serves or a share of 0', () => {
    const decide = (version: number, basisPoints: number, r: PromptRollout | undefined, history: HistoryRecord[]) =>
      rolloutDecision({ prompt: 'summarisation', version, basisPoints, rollout: r, knownVersions: [1, 2, 3], history });
    const held = decide(2, 1000, rollout(now - HOUR), [passed('summarisation', 1), passed('classification', 2)]);
    assert.equal(held.allowed, false);
    assert.deepEqual(held.holds.map((h) => h.message), ['the gate has not passed summarisation v2: .prompt-ci/history.jsonl has no passing run of it (run `prompt-ci gate`)']);
    assert.deepEqual(decide(2, 1000, rollout(now - HOUR), [passed('summarisation', 2)]), { allowed: true, holds: [] });
    // v1 is production (the last with all the traffic); with no rollout recorded the lowest version serves.
    assert.equal(decide(1, 10_000, rollout(now - HOUR), []).allowed, true);
    assert.equal(decide(1, 10_000, undefined, []).allowed, true);
    assert.equal(decide(3, 1000, undefined, []).allowed, false);
    assert.equal(decide(2, 0, rollout(now - HOUR), []).allowed, true);
    // A version promoted anyway is production afterwards: returning traffic to it is not held.
    assert.equal(decide(2, 10_000, { ...rollout(now - HOUR), lastFullVersion: 2 }, []).allowed, true);
  });
});
