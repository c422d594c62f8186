import { strict as assert } from 'node:assert';
import { renderMarkdown } from '../../src/core/eval/markdown';
import { adjustForMultiplePrompts, buildEvalReport } from '../../src/core/eval/report';
import type { ReportInput } from '../../src/core/eval/report';
import { formatPromptResultText } from '../../src/core/gate/gateReport';
import { historyRecordOf, lastDiscordantShare } from '../../src/core/gate/history';
import { resultFromReport } from '../../src/core/gate/verdicts';
import { parseEvalJsonl } from '../../src/core/evalSet';
import { promptMetadataSchema } from '../../src/core/metadataSchema';
import type { PromptMetadata } from '../../src/core/metadataSchema';
import { DEFAULT_PRICING } from '../../src/core/repoSettings';
import { holmAdjust } from '../../src/core/stats/holm';
import { mcnemar } from '../../src/core/stats/mcnemar';
import { newcombePairedInterval } from '../../src/core/stats/pairedDifference';
import { connorSampleSize, detectableDifference } from '../../src/core/stats/power';
import { evalReportSchema } from '../../src/shared/evalReport';
import type { EvalReport, ExampleOutcome, ExampleResult, ExampleSide } from '../../src/shared/evalReport';

function side(correct: boolean, score: number, votes: boolean[] = [correct, correct, correct]): ExampleSide {
  return {
    output: correct ? 'right' : 'wrong',
    correct,
    score,
    votes: votes.map((v) => ({ correct: v, score })),
    unstable: votes.some((v) => v !== votes[0]),
    latencyMs: 100,
    cached: true,
    error: null,
  };
}

const OUTCOME: Record<string, [boolean, boolean]> = {
  'both-correct': [true, true],
  improved: [true, false],
  regressed: [false, true],
  'both-wrong': [false, false],
};

/** `counts` examples of each outcome, with tags, scores and clusters as given. */
function examples(
  counts: Partial<Record<ExampleOutcome, number>>,
  extra: { tags?: string[]; scoreDrop?: number; cluster?: (i: number) => string | undefined; prefix?: string } = {},
): ExampleResult[] {
  const out: ExampleResult[] = [];
  for (const [outcome, count] of Object.entries(counts)) {
    for (let i = 0; i < (count ?? 0); i++) {
      const [c, b] = OUTCOME[outcome];
      const id = `${extra.prefix ?? ''}${outcome}-${i}`;
      const cluster = extra.cluster?.(out.length);
      out.push({
        id,
        line: out.length,
        inputs: {},
        reference: null,
        tags: extra.tags ?? [],
        ...(cluster !== undefined ? { cluster } : {}),
        outcome: outcome as ExampleOutcome,
        unstable: false,
        challenger: side(c, (c ? 5 : 2) - (extra.scoreDrop ?? 0)),
        baseline: side(b, b ? 5 : 2),
      });
    }
  }
  return out;
}

function meta(evalSettings: Record<string, unknown> = {}): PromptMetadata {
  return promptMetadataSchema.parse({ name: 'support', version: 2, model: 'claude-sonnet-4-6', eval: { threshold_win_rate: 0, ...evalSettings } });
}

function build(list: ExampleResult[], evalSettings: Record<string, unknown> = {}, overrides: Partial<ReportInput> = {}): EvalReport {
  const report = buildEvalReport({
    prompt: { name: 'support', version: 2 },
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 1,
    run: { examples: list, cancelled: false, totals: { apiCalls: 0, cacheHits: 0, api: {}, all: {} } },
    challenger: { provenance: { source: 'working-tree', dir: 'prompts/support/v2', ref: null, commit: null }, metadata: meta(evalSettings) },
    baseline: { provenance: { source: 'directory', dir: 'prompts/support/v1', ref: null, commit: null }, metadata: meta() },
    judge: { model: 'claude-opus-4-7', repeats: 3, rubric: 'default' },
    pricing: DEFAULT_PRICING,
    ...overrides,
  });
  const parsed = evalReportSchema.safeParse(JSON.parse(JSON.stringify(report)));
  assert.ok(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues.slice(0, 3)));
  return report;
}

describe('eval report statistics', () => {
  it('difference: Newcombe interval of the win rates and the paired t interval of the scores', () => {
    const report = build(examples({ 'both-correct': 250, improved: 15, regressed: 25, 'both-wrong': 22 }));
    const expected = newcombePairedInterval({ a: 250, b: 15, c: 25, d: 22 });
    assert.deepEqual(report.difference?.winRate, { ...expected, method: 'newcombe-hybrid-score' });
    assert.equal(report.difference?.winRate?.estimate, -10 / 312);
    // Scores: improved +3, regressed -3, others 0.
    const score = report.difference?.score;
    assert.ok(score && Math.abs(score.estimate - (15 * 3 - 25 * 3) / 312) < 1e-15);
    assert.ok(score.lower < score.estimate && score.estimate < score.upper);
    assert.equal(report.difference?.clustered, undefined);
  });

  it('power: the words of the issue, from this run’s discordant share', () => {
    const report = build(examples({ 'both-correct': 250, improved: 15, regressed: 25, 'both-wrong': 22 }));
    const power = report.power;
    assert.ok(power);
    assert.equal(power.source, 'this-run');
    assert.equal(power.discordantShare, 40 / 312);
    assert.equal(power.detectableRegression, detectableDifference(312, 40 / 312, 0.05));
    assert.equal(power.examplesNeeded.regression, 0.03);
    assert.equal(power.examplesNeeded.n, Math.ceil(connorSampleSize(40 / 312, 0.03, 0.05)));
    const drop = (Number(power.detectableRegression) * 100).toFixed(1);
    assert.equal(power.summary, `312 examples can detect a drop of ${drop} points (80% power); detecting 3 points needs about ${power.examplesNeeded.n?.toLocaleString('en-US')}`);
  });

  it('power: falls back to the last passing run in history.jsonl, else says it cannot be estimated', () => {
    const none = build(examples({ 'both-correct': 30 }));
    assert.equal(none.power?.detectableRegression, null);
    assert.equal(none.power?.source, null);
    assert.match(none.power?.summary ?? '', /cannot be estimated/);
    const fromHistory = build(examples({ 'both-correct': 30 }), {}, { historyDiscordantShare: 0.1 });
    assert.equal(fromHistory.power?.source, 'history');
    assert.equal(fromHistory.power?.detectableRegression, detectableDifference(30, 0.1, 0.05));
    assert.match(fromHistory.power?.summary ?? '', /from the last passing run in history\.jsonl/);
  });

  it('history records the discordant share of a passing run, and the last one is found per prompt', () => {
    const report = build(examples({ 'both-correct': 90, improved: 6, regressed: 4 }));
    assert.equal(report.gate.status, 'pass');
    const record = historyRecordOf(report, 'prompts/support/v2', 'gate');
    assert.equal(record?.discordantShare, 0.1);
    const older = { ...(record as NonNullable<typeof record>), discordantShare: 0.2 };
    assert.equal(lastDiscordantShare([older, record as NonNullable<typeof record>], 'support'), 0.1);
    assert.equal(lastDiscordantShare([older], 'other'), undefined);
  });

  describe('non-inferiority', () => {
    it('pass when the lower bound is above minus the margin', () => {
      const report = build(examples({ 'both-correct': 900, improved: 10, regressed: 10, 'both-wrong': 80 }), { non_inferiority_margin: 0.05 });
      assert.equal(report.nonInferiority?.status, 'pass');
      assert.ok((report.difference?.winRate?.lower ?? -1) > -0.05);
      assert.equal(report.gate.status, 'pass');
      assert.ok(!report.gate.reasons.some((r) => r.code === 'non-inferiority'));
    });

    it('blocked when the upper bound is below minus the margin, as a gate reason', () => {
      const report = build(examples({ 'both-correct': 200, improved: 5, regressed: 60, 'both-wrong': 35 }), { non_inferiority_margin: 0.02 });
      assert.equal(report.nonInferiority?.status, 'blocked');
      assert.ok((report.difference?.winRate?.upper ?? 0) < -0.02);
      assert.equal(report.gate.status, 'blocked');
      const reason = report.gate.reasons.find((r) => r.code === 'non-inferiority');
      assert.equal(reason?.effect, 'blocked');
    });

    it('inconclusive when the interval spans minus the margin, with the examples that would settle it', () => {
      const report = build(examples({ 'both-correct': 80, improved: 5, regressed: 7, 'both-wrong': 8 }), { non_inferiority_margin: 0.02 });
      const ni = report.nonInferiority;
      assert.equal(ni?.status, 'inconclusive');
      const w = report.difference?.winRate;
      assert.ok(w && w.lower < -0.02 && w.upper > -0.02);
      // The estimate is -2/100, exactly minus the margin: no number of examples settles that.
      assert.equal(ni?.examplesToSettle, null);
      assert.equal(report.gate.status, 'inconclusive');
      assert.equal(report.gate.reasons.find((r) => r.code === 'non-inferiority')?.effect, 'inconclusive');

      const nearer = build(examples({ 'both-correct': 80, improved: 6, regressed: 6, 'both-wrong': 8 }), { non_inferiority_margin: 0.02 });
      const settle = nearer.nonInferiority?.examplesToSettle;
      const wn = nearer.difference?.winRate;
      assert.ok(wn && settle !== null && settle !== undefined);
      // Half-width shrinking as 1/sqrt(n) down to the distance from the estimate (0) to -0.02.
      assert.equal(settle, Math.ceil(100 * ((wn.estimate - wn.lower) / 0.02) ** 2));
      assert.match(nearer.nonInferiority?.message ?? '', new RegExp(`about ${settle} paired examples would settle it`));
    });

    it('is absent without a margin', () => {
      assert.equal(build(examples({ 'both-correct': 10 })).nonInferiority, undefined);
    });
  });

  it('score test: Wilcoxon on the judge scores, gating only with eval.score_test: wilcoxon', () => {
    // Same correctness, challenger scores one point lower on 30 of 40 examples.
    const list = [...examples({ 'both-correct': 30 }, { scoreDrop: 1 }), ...examples({ 'both-correct': 10 }, { prefix: 'same-' })];
    const plain = build(list);
    assert.equal(plain.scoreTest?.method, 'approx');
    assert.equal(plain.scoreTest?.n, 30);
    assert.ok((plain.scoreTest?.pValue ?? 1) < 1e-5);
    assert.equal(plain.scoreTest?.gating, false);
    assert.equal(plain.gate.status, 'pass');
    const gated = build(list, { score_test: 'wilcoxon' });
    assert.equal(gated.gate.status, 'blocked');
    assert.equal(gated.gate.reasons[0].code, 'score-test');
    // Scores that rise don't block.
    const swapped = list.map((e) => ({ ...e, challenger: e.baseline, baseline: e.challenger }));
    const better = build(swapped, { score_test: 'wilcoxon' });
    assert.equal(better.gate.status, 'pass');
  });

  it('slices: per tag, and a regression concentrated in one slice is pointed out', () => {
    const list = [
      ...examples({ 'both-correct': 20, regressed: 15 }, { tags: ['golden'], prefix: 'g-' }),
      ...examples({ 'both-correct': 150, improved: 6, regressed: 5, 'both-wrong': 10 }, { tags: ['production'], prefix: 'p-' }),
    ];
    const report = build(list);
    const golden = report.slices?.find((s) => s.tag === 'golden');
    const production = report.slices?.find((s) => s.tag === 'production');
    assert.deepEqual(
      { n: golden?.n, c: golden?.challengerWinRate, b: golden?.baselineWinRate, improved: golden?.improved, regressed: golden?.regressed },
      { n: 35, c: 20 / 35, b: 1, improved: 0, regressed: 15 },
    );
    assert.deepEqual(golden?.difference, newcombePairedInterval({ a: 20, b: 0, c: 15, d: 0 }));
    assert.equal(golden?.concentrated, true);
    assert.equal(production?.concentrated, false);
    assert.match(renderMarkdown(report), /<code>golden<\/code> \| 35 \|.*regression concentrated here/);
  });

  it('judge: unanimous share, Fleiss’ kappa and the unstable examples', () => {
    const list = examples({ 'both-correct': 8, 'both-wrong': 2 });
    list[0].challenger = side(true, 5, [true, true, false]);
    list[0].unstable = true;
    const report = build(list);
    assert.equal(report.judge.unanimousShare, 19 / 20);
    assert.deepEqual(report.judge.unstable, ['both-correct-0']);
    assert.ok(typeof report.judge.fleissKappa === 'number' && report.judge.fleissKappa > 0.8 && report.judge.fleissKappa < 1);
    const once = build(list, {}, { judge: { model: 'claude-opus-4-7', repeats: 1, rubric: 'default' } });
    assert.equal(once.judge.unanimousShare, null);
    assert.equal(once.judge.fleissKappa, null);
  });

  it('clusters: the win-rate difference with a clustered standard error, wider when clusters move together', () => {
    // Regressions come five at a time from one document each.
    const list = examples({ regressed: 20, 'both-correct': 80 }, { cluster: (i) => (i < 20 ? `doc-${Math.floor(i / 5)}` : undefined) });
    const report = build(list);
    const clustered = report.difference?.clustered;
    assert.ok(clustered);
    assert.equal(clustered.clusters, 4 + 80);
    assert.equal(clustered.estimate, -0.2);
    const plainHalfWidth = Math.sqrt(0.2 * 0.8 / 100) * 1.96;
    assert.ok(clustered.upper - clustered.estimate > plainHalfWidth);
    assert.match(renderMarkdown(report), /Pass rate, clustered/);
  });

  it('eval.jsonl: cluster is a string or number; anything else is a finding on its line', () => {
    const { examples: parsed, findings } = parseEvalJsonl('{"id":"a","inputs":{},"cluster":"doc-1"}\n{"id":"b","inputs":{},"cluster":7}\n{"id":"c","inputs":{},"cluster":[1]}\n');
    assert.deepEqual(parsed.map((e) => e.cluster), ['doc-1', '7']);
    assert.equal(findings.length, 1);
    assert.equal(findings[0].code, 'eval/invalid-cluster');
    assert.equal(findings[0].range.start.line, 2);
  });

  it("Holm: several prompts' McNemar p-values are adjusted together and the gate decides on the adjusted one", () => {
    // 3 regressed-leaning prompts; the first alone would block at 0.05.
    const lists = [
      examples({ 'both-correct': 100, improved: 5, regressed: 15 }, { prefix: 'a-' }),
      examples({ 'both-correct': 100, improved: 10, regressed: 10 }, { prefix: 'b-' }),
      examples({ 'both-correct': 100, improved: 8, regressed: 9 }, { prefix: 'c-' }),
    ];
    const reports = lists.map((l) => build(l));
    assert.equal(reports[0].gate.status, 'blocked');
    const raw = reports.map((r) => r.mcnemar.pValue);
    assert.equal(raw[0], mcnemar({ improved: 5, regressed: 15 }, { exact: true }).pValue);
    const adjusted = adjustForMultiplePrompts(reports, [meta(), meta(), meta()]);
    const expected = holmAdjust(raw);
    adjusted.forEach((r, i) => {
      assert.equal(r.mcnemar.pValue, raw[i], 'the raw p stays');
      assert.deepEqual(r.mcnemar.holm, { adjustedPValue: expected[i], prompts: 3 });
    });
    // 3 * p = 3 * 0.041 > 0.05: no longer a significant regression.
    assert.ok(expected[0] > 0.05 && raw[0] < 0.05);
    assert.equal(adjusted[0].gate.status, 'pass');
    assert.deepEqual(adjustForMultiplePrompts([reports[0]], [meta()]), [reports[0]]);
    assert.match(renderMarkdown(adjusted[0]), /Holm-adjusted over the 3 prompts of this gate/);
    const prompt = { dir: 'prompts/support/v2', name: 'support', version: 2, files: [], callSiteFiles: [], removed: false };
    const text = formatPromptResultText(resultFromReport(prompt, adjusted[0], 'prompts/support/v1', false));
    const w = adjusted[0].difference?.winRate;
    assert.ok(w);
    const p1 = (x: number): string => String(Number((x * 100).toFixed(1)));
    assert.ok(text.includes(`\n  difference ${p1(w.estimate)} points [${p1(w.lower)}, ${p1(w.upper)}] (95%, paired); ${adjusted[0].power?.summary}; Holm-adjusted p = `), text);
  });
});
