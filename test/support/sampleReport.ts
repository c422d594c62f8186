// A fixed eval report for the report writers' tests: every outcome, votes that disagree, tags and
// clusters, and outputs with what the writers must escape or carry unchanged (quotes, backslashes,
// newlines, tabs, control characters, markup, non-ASCII and astral characters). The expected texts
// in test/fixtures/reports/ were written from this report by the renderers that held each report
// in one string (JSON.stringify(report, null, 2) and the JUnit renderer before it wrote pieces).
import { buildEvalReport } from '../../src/core/eval/report';
import type { PairedEvalResult } from '../../src/core/eval/runner';
import { promptMetadataSchema } from '../../src/core/metadataSchema';
import { DEFAULT_PRICING } from '../../src/core/repoSettings';
import type { EvalReport, ExampleOutcome, ExampleResult, ExampleSide } from '../../src/shared/evalReport';

const AWKWARD = [
  'plain answer',
  'She said "no" \\ then left.\nSecond line\ttabbed',
  '<script>alert(1)</script> & <b>bold</b>',
  'Ünïcödé — “quotes” 😀 \u2028 line separator',
  'control \u0000\u0007\u001b[31m red',
];

function side(i: number, correct: boolean | null, extra: Partial<ExampleSide> = {}): ExampleSide {
  const votes = correct === null ? [] : [{ correct, score: correct ? 5 : 2, reason: `reason ${i}: ${AWKWARD[i % AWKWARD.length]}` }, { correct, score: correct ? 4 : 1 }, { correct: i % 7 === 0 ? !correct : correct, score: 3 }];
  return {
    output: correct === null ? null : `${AWKWARD[i % AWKWARD.length]} (${i})`,
    correct,
    score: correct === null ? null : correct ? 5 : 2,
    votes,
    unstable: i % 7 === 0 && correct !== null,
    latencyMs: correct === null ? null : 80 + ((i * 37) % 400),
    cached: i % 3 === 0,
    error: null,
    ...extra,
  };
}

const OUTCOMES: ExampleOutcome[] = ['both-correct', 'both-correct', 'improved', 'regressed', 'both-wrong', 'both-correct', 'regressed', 'error', 'both-correct', 'cancelled'];

/** The examples of the sample report: `count` of them, cycling through every outcome. */
export function sampleExampleResults(count: number): ExampleResult[] {
  const out: ExampleResult[] = [];
  for (let i = 0; i < count; i++) {
    const outcome = OUTCOMES[i % OUTCOMES.length];
    const c = outcome === 'both-correct' || outcome === 'improved';
    const b = outcome === 'both-correct' || outcome === 'regressed';
    const challenger =
      outcome === 'error'
        ? side(i, null, { error: `challenger task call failed: 500 ${AWKWARD[i % AWKWARD.length]}` })
        : outcome === 'cancelled'
          ? side(i, null, { error: 'cancelled before this side was scored' })
          : side(i, c);
    const baseline = outcome === 'cancelled' ? side(i, null, { error: 'cancelled before this side was scored' }) : outcome === 'error' ? side(i + 1, true) : side(i + 1, b);
    out.push({
      id: `ex-${i}${i % 11 === 0 ? ' "quoted" <id>' : ''}`,
      line: i,
      inputs: { customer_name: `Customer ${i}`, document: AWKWARD[(i + 2) % AWKWARD.length], nested: { n: i, list: [1, 'two', null, true] } },
      reference: i % 9 === 0 ? null : `Reference ${i}: ${AWKWARD[(i + 1) % AWKWARD.length]}`,
      tags: i % 4 === 0 ? [] : [`tag-${i % 3}`, ...(i % 5 === 0 ? ['billing'] : [])],
      ...(i % 6 === 0 ? { cluster: `doc-${Math.floor(i / 6)}` } : {}),
      outcome,
      unstable: challenger.unstable || baseline.unstable,
      challenger,
      baseline,
    });
  }
  return out;
}

/**
 * The sample report with `count` examples (40 for the committed expected texts), built from the
 * results as `keep` keeps them (the CLI keeps compact ones).
 */
export function sampleReport(count = 40, keep: (result: ExampleResult) => ExampleResult = (r) => r): EvalReport {
  const examples = sampleExampleResults(count).map(keep);
  const metadata = promptMetadataSchema.parse({
    name: 'summarisation',
    version: 2,
    model: 'claude-sonnet-4-6',
    eval: { threshold_win_rate: 0.6, threshold_p95_latency_ms: 4500, judge: { model: 'claude-opus-4-7', repeats: 3 } },
  });
  const run: PairedEvalResult = {
    examples,
    cancelled: examples.some((e) => e.outcome === 'cancelled'),
    totals: {
      apiCalls: 10,
      cacheHits: 5,
      api: { 'claude-sonnet-4-6': { inputTokens: 100_000, outputTokens: 10_000 } },
      all: { 'claude-sonnet-4-6': { inputTokens: 200_000, outputTokens: 20_000 } },
    },
  };
  return buildEvalReport({
    prompt: { name: 'summarisation', version: 2 },
    startedAt: '2025-05-01T10:00:00.000Z',
    durationMs: 1234,
    run,
    challenger: { provenance: { source: 'working-tree', dir: 'prompts/summarisation/v2', ref: null, commit: 'a'.repeat(40) }, metadata },
    baseline: { provenance: { source: 'git', dir: 'prompts/summarisation/v1', ref: 'origin/main', commit: 'b'.repeat(40) }, metadata: { ...metadata, version: 1 } },
    judge: { model: 'claude-opus-4-7', repeats: 3, rubric: 'default' },
    pricing: DEFAULT_PRICING,
  });
}
