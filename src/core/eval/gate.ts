import type { Gate, GateReason, NonInferiority } from '../../shared/evalReport';
import type { PromptMetadata } from '../metadataSchema';

/** The measurements the gate decides on. */
export interface GateInput {
  /** Examples in the run. */
  total: number;
  /** Examples that ended in an error (a side could not be scored). */
  errors: number;
  /** Examples tagged needs-review, left out of every figure above. */
  awaitingReview?: number;
  /** Examples the run never finished because it was cancelled. */
  cancelled: number;
  /** Challenger win rate over the examples it was scored on; null when none. */
  challengerWinRate: number | null;
  /** p95 latency of the challenger's task calls; null when it made none. */
  challengerP95LatencyMs: number | null;
  improved: number;
  regressed: number;
  /** McNemar's p, Holm-adjusted when the gate tested several prompts. */
  pValue: number;
  /** Set when only the raw p was adjusted: shown next to the adjusted one. */
  rawPValue?: number;
  /** The verdict of `eval.non_inferiority_margin`, when set. */
  nonInferiority?: NonInferiority;
  /** The Wilcoxon test of the judge scores when `eval.score_test: wilcoxon`; null when no score differed. */
  scoreTest?: { pValue: number; worse: boolean } | null;
}

/** The gate settings of the challenger's metadata.yaml. */
export type GateSettings = Pick<PromptMetadata, 'eval' | 'ci'>;

const percent = (x: number): string => `${(x * 100).toFixed(1)}%`;

/**
 * The gate of DESIGN.md section 4. Blocked if the challenger win rate is under
 * `threshold_win_rate`, or more examples regressed than improved with McNemar p under
 * `noise_envelope_alpha`, or the challenger p95 latency is over `threshold_p95_latency_ms`;
 * inconclusive if examples could not be scored; else pass. A blocking reason outranks an
 * inconclusive one, and every reason is listed either way. With `ci.block_on_eval_regression:
 * false` the reasons are still reported but the status is pass, with a note saying so.
 */
export function evaluateGate(input: GateInput, settings: GateSettings): Gate {
  const { threshold_win_rate: floor, threshold_p95_latency_ms: latencyLimit, noise_envelope_alpha: alpha } = settings.eval;
  const reasons: GateReason[] = [];

  if (input.total === 0) {
    reasons.push({
      code: 'no-examples',
      effect: 'inconclusive',
      message: input.awaitingReview
        ? `every example (${input.awaitingReview}) is tagged needs-review, so none counts yet: review them and remove the tag`
        : 'no examples were run',
    });
  }
  if (input.challengerWinRate !== null && input.challengerWinRate < floor) {
    reasons.push({
      code: 'win-rate',
      effect: 'blocked',
      message: `challenger pass rate ${percent(input.challengerWinRate)} is below threshold_win_rate ${percent(floor)}`,
    });
  }
  if (input.regressed > input.improved && input.pValue < alpha) {
    reasons.push({
      code: 'regression',
      effect: 'blocked',
      message: `${input.regressed} examples regressed and ${input.improved} improved; McNemar p = ${formatP(input.pValue)}${
        input.rawPValue !== undefined ? ` (Holm-adjusted from ${formatP(input.rawPValue)})` : ''
      } is below noise_envelope_alpha ${alpha}`,
    });
  }
  if (input.nonInferiority && input.nonInferiority.status !== 'pass') {
    reasons.push({ code: 'non-inferiority', effect: input.nonInferiority.status, message: input.nonInferiority.message });
  }
  if (input.scoreTest && input.scoreTest.worse && input.scoreTest.pValue < alpha) {
    reasons.push({
      code: 'score-test',
      effect: 'blocked',
      message: `judge scores dropped: Wilcoxon signed-rank p = ${formatP(input.scoreTest.pValue)} is below noise_envelope_alpha ${alpha} (eval.score_test: wilcoxon)`,
    });
  }
  if (latencyLimit !== undefined && input.challengerP95LatencyMs !== null && input.challengerP95LatencyMs > latencyLimit) {
    reasons.push({
      code: 'latency',
      effect: 'blocked',
      message: `challenger p95 latency ${Math.round(input.challengerP95LatencyMs)} ms is over threshold_p95_latency_ms ${latencyLimit} ms`,
    });
  }
  if (input.errors > 0) {
    reasons.push({
      code: 'unscored',
      effect: 'inconclusive',
      message: `${input.errors} of ${input.total} examples could not be scored (see their errors)`,
    });
  }
  if (input.cancelled > 0) {
    reasons.push({
      code: 'cancelled',
      effect: 'inconclusive',
      message: `the run was cancelled with ${input.cancelled} of ${input.total} examples unfinished; re-running resumes from the cache`,
    });
  }
  if (input.total > 0 && input.challengerWinRate === null && input.errors === 0 && input.cancelled === 0) {
    reasons.push({ code: 'unscored', effect: 'inconclusive', message: 'no example could be scored' });
  }

  const unblockedStatus = reasons.some((r) => r.effect === 'blocked')
    ? 'blocked'
    : reasons.length > 0
      ? 'inconclusive'
      : 'pass';
  const blocking = settings.ci.block_on_eval_regression;
  const notes: string[] = [];
  if (!blocking && unblockedStatus !== 'pass') {
    notes.push(`would be ${unblockedStatus}, but not blocking: ci.block_on_eval_regression is false for this prompt`);
  }
  return {
    status: blocking ? unblockedStatus : 'pass',
    reasons,
    blocking,
    unblockedStatus,
    notes,
    thresholds: { winRate: floor, p95LatencyMs: latencyLimit ?? null, alpha },
  };
}

/** A p-value for people: 4 significant digits, scientific below 1e-4. */
export function formatP(p: number): string {
  if (p === 0) return '0';
  if (p < 1e-4) return p.toExponential(2);
  return String(Number(p.toPrecision(4)));
}
