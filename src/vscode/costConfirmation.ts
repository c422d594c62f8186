import * as vscode from 'vscode';
import { formatUsd } from '../core/eval/cost';
import type { CostEstimate } from '../core/eval/cost';
import type { ApiSource } from '../shared/webviewProtocol';

/**
 * The one confirmation before the extension spends on model calls: Run Eval vs Baseline and the
 * results panel's "Synthesize cases from these failures" both ask here, with the same estimate
 * text and the same threshold (`promptCi.eval.confirmAboveUsd`).
 */

const int = (n: number): string => n.toLocaleString('en-US');

/** "96 calls to make (48 cached), ~$0.09 typical, at most $0.31", or the all-cached case. */
export function estimateText(e: CostEstimate): string {
  const spend = e.calls - e.cachedCalls;
  if (spend === 0) return `${int(e.calls)} call${e.calls === 1 ? '' : 's'}, all in the cache: no API call`;
  const usd = e.usdTypical === null ? `cost unknown (no price for ${e.unpricedModels.join(', ')} in prompt-ci.yaml)` : `~${formatUsd(e.usdTypical)} typical, at most ${formatUsd(e.usdMax)}`;
  return `${int(spend)} call${spend === 1 ? '' : 's'} to make${e.cachedCalls > 0 ? ` (${int(e.cachedCalls)} cached)` : ''}, ${usd}`;
}

/** What to ask about. */
export interface CostQuestion {
  /** "Run the eval of ticket-summary v2?" */
  question: string;
  /** What will run, before the estimate: "Baseline: …. 12 examples, judge … × 3". */
  scope: string;
  /** The button that says yes: "Run Eval". */
  action: string;
  estimate: CostEstimate;
  thresholdUsd: number;
  api: ApiSource;
  /** Aborting answers no (the run's cancellation, the panel's Cancel). */
  signal: AbortSignal;
}

/** Whether the estimate needs asking: calls to make, and a typical cost above the threshold or unknown. */
export function needsCostConfirmation(estimate: CostEstimate, thresholdUsd: number): boolean {
  if (estimate.calls - estimate.cachedCalls === 0) return false;
  return estimate.usdTypical === null || estimate.usdTypical > thresholdUsd;
}

/** The question's text, as the notification shows it. */
export function costQuestionText(q: Omit<CostQuestion, 'signal' | 'action'>): string {
  const demo = q.api.kind === 'demo' ? ' This window uses the demo server: nothing is charged.' : '';
  return `${q.question} ${q.scope}: ${estimateText(q.estimate)}, above promptCi.eval.confirmAboveUsd (${formatUsd(q.thresholdUsd)}).${demo}`;
}

/**
 * Asks before spending when the estimate is above the threshold (or can't be priced); resolves true
 * at once when it isn't. A notification rather than a modal dialog: the results panel stays
 * readable meanwhile, and its Cancel (or the signal) answers no.
 */
export async function confirmCost(q: CostQuestion): Promise<boolean> {
  if (!needsCostConfirmation(q.estimate, q.thresholdUsd)) return true;
  const message = costQuestionText(q);
  return new Promise<boolean>((resolve) => {
    const onAbort = (): void => resolve(false);
    q.signal.addEventListener('abort', onAbort, { once: true });
    void vscode.window.showWarningMessage(message, q.action, 'Cancel').then((answer) => {
      q.signal.removeEventListener('abort', onAbort);
      resolve(answer === q.action && !q.signal.aborted);
    });
  });
}
