import type { EvalReport } from '../../shared/evalReport';
import type { ChangedPromptVersion } from './changedPrompts';

/**
 * The gate's verdict on one changed prompt version: the eval's own status, `error` when the eval
 * could not be set up from the prompt's files (the message says why), `removed` when the version
 * directory is gone (nothing to evaluate; not blocking).
 */
export type PromptVerdict = 'pass' | 'blocked' | 'inconclusive' | 'error' | 'removed';

/** One changed prompt version and what the gate made of it. */
export interface PromptGateResult {
  prompt: ChangedPromptVersion;
  verdict: PromptVerdict;
  /** One line per reason behind a verdict other than pass (the eval gate's reasons, or the setup error). */
  reasons: string[];
  /** Things worth knowing that don't change the verdict (a new prompt, a non-blocking prompt). */
  notes: string[];
  /** Where the baseline came from, for people; null when there was no eval. */
  baseline: string | null;
  /** No version of the prompt exists at the base ref: it was compared with itself, so only its own thresholds apply. */
  isNew: boolean;
  report?: EvalReport;
}

/** The overall verdict of a gate run. */
export type GateStatus = 'pass' | 'blocked' | 'inconclusive';

/** The overall verdict and its exit code. */
export interface GateSummary {
  status: GateStatus;
  /** 0 when everything passes (or nothing changed), 1 otherwise. Usage and environment errors (2) never get this far. */
  exitCode: 0 | 1;
  /** `check` errors anywhere in the repository. */
  checkErrors: number;
  counts: Record<PromptVerdict, number>;
}

/**
 * Aggregates the verdicts: blocked when any prompt is blocked or `check` found errors; else
 * inconclusive when any prompt is inconclusive or could not be evaluated; else pass. A removed
 * version blocks nothing.
 */
export function summariseGate(results: readonly PromptGateResult[], checkErrors: number): GateSummary {
  const counts: Record<PromptVerdict, number> = { pass: 0, blocked: 0, inconclusive: 0, error: 0, removed: 0 };
  for (const r of results) counts[r.verdict] += 1;
  const status: GateStatus =
    counts.blocked > 0 || checkErrors > 0 ? 'blocked' : counts.inconclusive > 0 || counts.error > 0 ? 'inconclusive' : 'pass';
  return { status, exitCode: status === 'pass' ? 0 : 1, checkErrors, counts };
}

/** The result of a prompt version whose eval ran. */
export function resultFromReport(
  prompt: ChangedPromptVersion,
  report: EvalReport,
  baseline: string,
  isNew: boolean,
): PromptGateResult {
  const { gate } = report;
  const notes = [...gate.notes];
  if (isNew) notes.unshift('new prompt: no version of it exists at the base ref, so it is held to its own thresholds only');
  return {
    prompt,
    verdict: gate.status,
    reasons: gate.status === 'pass' ? [] : gate.reasons.map((r) => `${r.effect}: ${r.message}`),
    notes,
    baseline,
    isNew,
    report,
  };
}

/** The result of a prompt version whose eval could not be set up. */
export function resultFromError(prompt: ChangedPromptVersion, message: string): PromptGateResult {
  return { prompt, verdict: 'error', reasons: [message], notes: [], baseline: null, isNew: false };
}

/** The result of a version directory that no longer exists. */
export function resultRemoved(prompt: ChangedPromptVersion): PromptGateResult {
  return {
    prompt,
    verdict: 'removed',
    reasons: [],
    notes: [`${prompt.dir} was removed: nothing to evaluate`],
    baseline: null,
    isNew: false,
  };
}

/**
 * The result of a prompt version a policy blocks before any eval (a released version changed in
 * place): no model call is made for a change that cannot be merged as it is.
 */
export function resultBlockedByPolicy(prompt: ChangedPromptVersion, reasons: string[]): PromptGateResult {
  return {
    prompt,
    verdict: 'blocked',
    reasons,
    notes: ['the eval was not run: the change cannot be merged as it is'],
    baseline: null,
    isNew: false,
  };
}
