import type { PromptRollout } from '../runtime/snapshot';
import { formatDuration } from '../runtime/rolloutStatus';
import { productionVersion } from '../runtime/shares';
import type { HistoryRecord } from './history';
import { lastPassingRun } from './history';

/**
 * May this version be promoted to 100% of its prompt, and if not, why not (DESIGN.md sections 8
 * and 11): it must have traffic, have soaked `rollout.soakHours`, and have a passing gate run in
 * `.prompt-ci/history.jsonl`. The one owner of that rule: `prompt-ci promote` refuses with these
 * reasons (unless `--force --reason`), the Rollouts view asks before promoting anyway. Starting a
 * rollout applies its gate part (`rolloutDecision`): `prompt-ci rollout` refuses a version the gate
 * has not passed (unless `--force --reason`), the view asks first. Pure.
 *
 * `history.jsonl` records passing runs only, so "the gate passed" means the file holds a passing
 * run of that version; a later run that blocked leaves no line of its own.
 */

/** One reason a promote is held back. */
export type PromoteHold =
  | { kind: 'no-traffic'; message: string }
  | { kind: 'soaking'; soakedMs: number; soakHours: number; until: number; message: string }
  | { kind: 'no-passing-gate'; message: string };

/** The policy's answer: no holds means the promote may go ahead. */
export interface PromoteDecision {
  allowed: boolean;
  holds: PromoteHold[];
}

/** What the policy reads. `history`: the records of `.prompt-ci/history.jsonl` in file order. */
export interface PromoteInput {
  prompt: string;
  version: number;
  rollout: PromptRollout | undefined;
  history: readonly HistoryRecord[];
  soakHours: number;
  /** Epoch ms. */
  now: number;
}

/** Every hold on promoting `version` of `prompt`, in the order a person would fix them. */
export function promoteDecision(input: PromoteInput): PromoteDecision {
  const { prompt, version } = input;
  const holds: PromoteHold[] = [];
  const share = input.rollout?.shares.find((s) => s.version === version && s.basisPoints > 0);
  if (!share) {
    holds.push({ kind: 'no-traffic', message: `${prompt} v${version} has no traffic yet, so it has not soaked: roll it out first (\`prompt-ci rollout ${prompt} ${version} --share 5\`)` });
  } else {
    const soakedMs = input.now - share.since;
    const until = share.since + input.soakHours * 3_600_000;
    if (input.now < until) {
      holds.push({
        kind: 'soaking',
        soakedMs,
        soakHours: input.soakHours,
        until,
        message: `${prompt} v${version} has soaked ${formatDuration(soakedMs)} of the ${input.soakHours} h soak (rollout.soakHours in prompt-ci.yaml); it can be promoted after ${new Date(until).toISOString()}`,
      });
    }
  }
  const gate = gateHold(input.history, prompt, version);
  if (gate) holds.push(gate);
  return { allowed: holds.length === 0, holds };
}

/** The gate's hold on a version: none when `.prompt-ci/history.jsonl` has a passing run of it. */
export function gateHold(history: readonly HistoryRecord[], prompt: string, version: number): PromoteHold | undefined {
  if (lastPassingRun(history, prompt, version)) return undefined;
  return { kind: 'no-passing-gate', message: `the gate has not passed ${prompt} v${version}: .prompt-ci/history.jsonl has no passing run of it (run \`prompt-ci gate\`)` };
}

/** What the rollout policy reads: the change asked for, the prompt's rollout now and the history. */
export interface RolloutInput {
  prompt: string;
  version: number;
  /** The share asked for, in basis points. */
  basisPoints: number;
  rollout: PromptRollout | undefined;
  /** The versions the repository (or bundle) has: the lowest serves when no rollout was recorded. */
  knownVersions: readonly number[];
  history: readonly HistoryRecord[];
}

/**
 * Every hold on giving `version` a share of its prompt's traffic: the gate must have passed it.
 * Taking a version's traffic away (share 0) and giving traffic to the version production serves
 * (the last with all of it, or the one served with no rollout recorded) are never held: that
 * version is already what every request gets.
 */
export function rolloutDecision(input: RolloutInput): PromoteDecision {
  const { prompt, version } = input;
  if (input.basisPoints === 0 || version === productionVersion(input.rollout, input.knownVersions)) return { allowed: true, holds: [] };
  const gate = gateHold(input.history, prompt, version);
  return gate ? { allowed: false, holds: [gate] } : { allowed: true, holds: [] };
}
