import type { PromptRollout } from '../runtime/snapshot';
import { formatDuration } from '../runtime/rolloutStatus';
import type { HistoryRecord } from './history';
import { lastPassingRun } from './history';

/**
 * May this version be promoted to 100% of its prompt, and if not, why not (DESIGN.md sections 8
 * and 11): it must have traffic, have soaked `rollout.soakHours`, and have a passing gate run in
 * `.prompt-ci/history.jsonl`. The one owner of that rule: `prompt-ci promote` refuses with these
 * reasons (unless `--force --reason`), the Rollouts view asks before promoting anyway. Pure.
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
  if (!lastPassingRun(input.history, prompt, version)) {
    holds.push({ kind: 'no-passing-gate', message: `the gate has not passed ${prompt} v${version}: .prompt-ci/history.jsonl has no passing run of it (run \`prompt-ci gate\`)` });
  }
  return { allowed: holds.length === 0, holds };
}
