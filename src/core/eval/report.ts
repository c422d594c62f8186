import { EVAL_REPORT_SCHEMA_ID } from '../../shared/evalReport';
import type { CostSummary, EvalReport, ExampleResult, McnemarSummary, SideSummary } from '../../shared/evalReport';
import { holmAdjust } from '../stats/holm';
import type { PromptMetadata } from '../metadataSchema';
import { wilsonInterval } from '../stats/intervals';
import { chooseExact, mcnemar } from '../stats/mcnemar';
import { mean, percentile } from '../stats/percentile';
import { NEEDS_REVIEW_TAG } from '../suiteGrowth';
import { priceTokens, sumTokens } from './cost';
import type { CostEstimate, Pricing } from './cost';
import { evaluateGate } from './gate';
import type { GateInput, GateSettings } from './gate';
import type { PairedEvalResult, SideRole } from './runner';
import { differenceOf, judgeReliabilityOf, nonInferiorityOf, powerOf, scoreTestOf, slicesOf } from './statistics';

/** Where a side's prompt came from. */
export interface SideProvenance {
  source: SideSummary['source'];
  dir: string;
  ref: string | null;
  commit: string | null;
}

/** Everything the report is built from. */
export interface ReportInput {
  prompt: { name: string; version: number };
  startedAt: string;
  durationMs: number;
  run: PairedEvalResult;
  challenger: { provenance: SideProvenance; metadata: PromptMetadata };
  baseline: { provenance: SideProvenance; metadata: PromptMetadata };
  judge: { model: string; repeats: number; rubric: 'default' | 'judge.md' };
  pricing: Pricing;
  estimate?: CostEstimate;
  onlyExampleIds?: readonly string[];
  /** The discordant share of the prompt's last passing run in history.jsonl, for the power estimate when this run has none. */
  historyDiscordantShare?: number;
}

/** The 2x2 table of paired outcomes and McNemar's test on it, as `mcnemar_exact` asks. */
export function pairedTable(examples: readonly ExampleResult[], exactSetting: 'auto' | boolean): McnemarSummary {
  let improved = 0;
  let regressed = 0;
  let bothCorrect = 0;
  let bothWrong = 0;
  for (const e of examples) {
    if (e.outcome === 'improved') improved += 1;
    else if (e.outcome === 'regressed') regressed += 1;
    else if (e.outcome === 'both-correct') bothCorrect += 1;
    else if (e.outcome === 'both-wrong') bothWrong += 1;
  }
  const counts = { improved, regressed };
  const test = mcnemar(counts, { exact: chooseExact(exactSetting, counts), correction: true });
  return {
    improved,
    regressed,
    bothCorrect,
    bothWrong,
    statistic: Number.isFinite(test.statistic) ? test.statistic : null,
    pValue: test.pValue,
    method: test.method,
    ...(test.note ? { note: test.note } : {}),
  };
}

const PAIRED = new Set(['improved', 'regressed', 'both-correct', 'both-wrong']);

/**
 * One side's summary. Win rate and mean score are over the paired examples (both sides scored), so
 * the two sides are compared on the same examples; latency is over every task call the side made.
 */
export function summariseSide(
  role: SideRole,
  examples: readonly ExampleResult[],
  provenance: SideProvenance,
  model: string,
): SideSummary {
  const paired = examples.filter((e) => PAIRED.has(e.outcome));
  const correct = paired.filter((e) => e[role].correct === true).length;
  const scores = paired.map((e) => e[role].score).filter((s): s is number => s !== null);
  const latencies = examples.map((e) => e[role].latencyMs).filter((l): l is number => l !== null);
  const errors = examples.filter((e) => e.outcome !== 'cancelled' && e[role].error !== null).length;
  return {
    ...provenance,
    model,
    scored: paired.length,
    correct,
    winRate: paired.length > 0 ? correct / paired.length : null,
    winRateInterval: paired.length > 0 ? wilsonInterval(correct, paired.length, 0.95) : null,
    meanScore: scores.length > 0 ? mean(scores) : null,
    latencyMs: latencies.length > 0 ? { p50: percentile(latencies, 50), p95: percentile(latencies, 95) } : null,
    errors,
  };
}

/** Builds the `prompt-ci/eval-report@1` document: statistics, the gate, costs and every example. */
export function buildEvalReport(input: ReportInput): EvalReport {
  const all = input.run.examples;
  // Examples awaiting review (harvested or synthesised) are run and shown, and sliced by tag, but the decision is made without them.
  const examples = decisionExamples(all);
  const informational = informationalOf(all);
  const settings = input.challenger.metadata;
  const table = pairedTable(examples, settings.eval.mcnemar_exact);
  const challenger = summariseSide('challenger', examples, input.challenger.provenance, input.challenger.metadata.model);
  const baseline = summariseSide('baseline', examples, input.baseline.provenance, input.baseline.metadata.model);
  const difference = differenceOf(examples);
  const power = powerOf(table, settings.eval.noise_envelope_alpha, settings.eval.detect_regression, input.historyDiscordantShare);
  const margin = settings.eval.non_inferiority_margin;
  const nonInferiority = margin !== undefined && difference.winRate ? nonInferiorityOf(difference.winRate, margin, power.n) : undefined;
  const scoreTest = scoreTestOf(examples, settings.eval.score_test === 'wilcoxon');
  const statistics = { difference, power, ...(nonInferiority ? { nonInferiority } : {}), scoreTest: scoreTest && withoutDirection(scoreTest), slices: slicesOf(all) };
  const gate = evaluateGate({ ...gateInputOf(examples, challenger, table, nonInferiority, scoreTest, settings), ...(informational ? { awaitingReview: informational.count } : {}) }, settings);

  const api = sumTokens(input.run.totals.api);
  const allTokens = sumTokens(input.run.totals.all);
  const cost: CostSummary = {
    apiCalls: input.run.totals.apiCalls,
    cacheHits: input.run.totals.cacheHits,
    inputTokens: api.inputTokens,
    outputTokens: api.outputTokens,
    usd: priceTokens(input.run.totals.api, input.pricing).usd,
    uncached: { ...allTokens, usd: priceTokens(input.run.totals.all, input.pricing).usd },
    ...(input.estimate
      ? {
          estimate: {
            calls: input.estimate.calls,
            cachedCalls: input.estimate.cachedCalls,
            inputTokens: input.estimate.inputTokens,
            outputTokensTypical: input.estimate.outputTokensTypical,
            outputTokensMax: input.estimate.outputTokensMax,
            usdTypical: input.estimate.usdTypical,
            usdMax: input.estimate.usdMax,
          },
        }
      : {}),
  };

  return {
    schema: EVAL_REPORT_SCHEMA_ID,
    prompt: input.prompt,
    startedAt: input.startedAt,
    durationMs: input.durationMs,
    cancelled: input.run.cancelled,
    ...(input.onlyExampleIds ? { partial: { onlyExampleIds: [...input.onlyExampleIds] } } : {}),
    gate,
    mcnemar: table,
    challenger,
    baseline,
    judge: { ...input.judge, ...judgeReliabilityOf(examples, input.judge.repeats) },
    ...statistics,
    cost,
    unstableCount: all.filter((e) => e.unstable).length,
    ...(informational ? { informational } : {}),
    examples: all,
  };
}

/**
 * What the statistics, the verdict and the summaries need of a result, once the whole result has
 * been written elsewhere (the CLI writes each to a file as it finishes): outcomes, scores, votes,
 * latencies, tags, clusters and error messages. The inputs, the reference, the outputs and the
 * judges' reasons are dropped; a report built from these is the same but for its `examples`, which
 * must be written from the whole results.
 */
export function compactResult(result: ExampleResult): ExampleResult {
  const side = (s: ExampleResult['challenger']): ExampleResult['challenger'] => ({
    ...s,
    output: null,
    votes: s.votes.map((v) => sharedVote(v.correct, v.score)),
  });
  return {
    ...result,
    inputs: NO_INPUTS,
    reference: null,
    ...(result.tags.length === 0 ? { tags: NO_TAGS } : {}),
    challenger: side(result.challenger),
    baseline: side(result.baseline),
  };
}

// Compact results share what is the same in most of them (frozen: nothing may change a shared one).
const NO_INPUTS: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;
const NO_TAGS: string[] = Object.freeze([]) as unknown as string[];
const VOTES = new Map<string, ExampleResult['challenger']['votes'][number]>();
function sharedVote(correct: boolean, score: number): ExampleResult['challenger']['votes'][number] {
  const key = `${correct}:${score}`;
  let vote = VOTES.get(key);
  if (!vote) {
    if (VOTES.size >= 64) return { correct, score }; // scores are 1..5; anything else is not worth keeping
    vote = Object.freeze({ correct, score });
    VOTES.set(key, vote);
  }
  return vote;
}

/** The examples the gate decides on: all but those tagged `needs-review`. */
export function decisionExamples(examples: readonly ExampleResult[]): ExampleResult[] {
  return examples.filter((e) => !e.tags.includes(NEEDS_REVIEW_TAG));
}

/** The examples left out of the decision until reviewed, with their outcomes; undefined when there are none. */
function informationalOf(examples: readonly ExampleResult[]): EvalReport['informational'] {
  const left = examples.filter((e) => e.tags.includes(NEEDS_REVIEW_TAG));
  if (left.length === 0) return undefined;
  return {
    tag: NEEDS_REVIEW_TAG,
    count: left.length,
    improved: left.filter((e) => e.outcome === 'improved').length,
    regressed: left.filter((e) => e.outcome === 'regressed').length,
    ids: left.map((e) => e.id),
  };
}

function withoutDirection<T extends { worse: boolean }>(test: T): Omit<T, 'worse'> {
  const { worse: _worse, ...rest } = test;
  return rest;
}

function gateInputOf(
  examples: readonly ExampleResult[],
  challenger: SideSummary,
  table: McnemarSummary,
  nonInferiority: EvalReport['nonInferiority'],
  scoreTest: ReturnType<typeof scoreTestOf>,
  settings: GateSettings,
): GateInput {
  return {
    total: examples.length,
    errors: examples.filter((e) => e.outcome === 'error').length,
    cancelled: examples.filter((e) => e.outcome === 'cancelled').length,
    challengerWinRate: challenger.winRate,
    challengerP95LatencyMs: challenger.latencyMs?.p95 ?? null,
    improved: table.improved,
    regressed: table.regressed,
    pValue: table.holm?.adjustedPValue ?? table.pValue,
    ...(table.holm ? { rawPValue: table.pValue } : {}),
    ...(nonInferiority ? { nonInferiority } : {}),
    ...(settings.eval.score_test === 'wilcoxon' ? { scoreTest: scoreTest && { pValue: scoreTest.pValue, worse: scoreTest.worse } } : {}),
  };
}

/**
 * Holm's adjustment across the prompts one gate evaluated: each report gets its adjusted McNemar
 * p-value next to the raw one, and its gate is decided again on the adjusted p. With fewer than
 * two reports nothing changes. `settings[i]` are the gate settings of `reports[i]`'s challenger.
 */
export function adjustForMultiplePrompts(reports: readonly EvalReport[], settings: readonly GateSettings[]): EvalReport[] {
  if (reports.length < 2) return [...reports];
  const adjusted = holmAdjust(reports.map((r) => r.mcnemar.pValue));
  return reports.map((report, i) => {
    const mcnemar: McnemarSummary = { ...report.mcnemar, holm: { adjustedPValue: adjusted[i], prompts: reports.length } };
    const decided = decisionExamples(report.examples);
    const scoreTest = scoreTestOf(decided, report.scoreTest?.gating ?? false);
    const awaiting = report.informational ? { awaitingReview: report.informational.count } : {};
    const gate = evaluateGate({ ...gateInputOf(decided, report.challenger, mcnemar, report.nonInferiority, scoreTest, settings[i]), ...awaiting }, settings[i]);
    return { ...report, mcnemar, gate };
  });
}

/** One sentence on the examples awaiting review: how many, how they came out, and that they don't count yet. */
export function informationalLine(info: NonNullable<EvalReport['informational']>): string {
  const plural = info.count === 1 ? 'example is' : 'examples are';
  return `informational: ${info.count} ${plural} tagged needs-review (${info.improved} improved, ${info.regressed} regressed) and left out of the table, the pass rates and the verdict; remove the tag once reviewed`;
}
