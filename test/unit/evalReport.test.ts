import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderJunit, escapeXml } from '../../src/core/eval/junit';
import { escapeMarkdown } from '../../src/core/escaping/markdown';
import { renderMarkdown, wordDiffHtml } from '../../src/core/eval/markdown';
import { buildEvalReport, pairedTable } from '../../src/core/eval/report';
import type { ReportInput } from '../../src/core/eval/report';
import type { PairedEvalResult } from '../../src/core/eval/runner';
import { promptMetadataSchema } from '../../src/core/metadataSchema';
import type { PromptMetadata } from '../../src/core/metadataSchema';
import { DEFAULT_PRICING } from '../../src/core/repoSettings';
import { evalReportJsonSchema, evalReportSchema } from '../../src/shared/evalReport';
import type { EvalReport, ExampleOutcome, ExampleResult, ExampleSide } from '../../src/shared/evalReport';

const SCHEMA_FILE = join(__dirname, '../../schemas/eval-report.schema.json');

function side(correct: boolean | null, output: string, latencyMs: number | null = 100, extra: Partial<ExampleSide> = {}): ExampleSide {
  return {
    output,
    correct,
    score: correct === null ? null : correct ? 5 : 2,
    votes: correct === null ? [] : [{ correct, score: correct ? 5 : 2 }],
    unstable: false,
    latencyMs,
    cached: false,
    error: null,
    ...extra,
  };
}

function ex(id: string, outcome: ExampleOutcome, c: ExampleSide, b: ExampleSide, line = 0): ExampleResult {
  return { id, line, inputs: { document: `doc ${id}` }, reference: `ref ${id}`, tags: [], outcome, unstable: c.unstable || b.unstable, challenger: c, baseline: b };
}

/** 14 discordant pairs (2 improved, 12 regressed), 80 both correct, 4 both wrong, one error. */
function sampleExamples(): ExampleResult[] {
  const out: ExampleResult[] = [];
  let line = 0;
  for (let i = 0; i < 2; i++) out.push(ex(`imp-${i}`, 'improved', side(true, 'good answer'), side(false, 'bad answer'), line++));
  for (let i = 0; i < 12; i++) {
    out.push(ex(`reg-${i}`, 'regressed', side(false, `The refund <b>was</b> denied | on ${i} March`, 100 + i * 10), side(true, `The refund was approved on ${i} March`), line++));
  }
  for (let i = 0; i < 80; i++) out.push(ex(`ok-${i}`, 'both-correct', side(true, 'fine', 50 + i), side(true, 'fine', 60), line++));
  for (let i = 0; i < 4; i++) out.push(ex(`bad-${i}`, 'both-wrong', side(false, 'nope'), side(false, 'nope'), line++));
  out.push(
    ex('err', 'error', side(true, 'ok'), side(null, '', null, { output: null, error: "the baseline template can't be rendered with this example's inputs: KeyError: 'customer_name'" }), line++),
  );
  return out;
}

function metadata(overrides: Record<string, unknown> = {}): PromptMetadata {
  return promptMetadataSchema.parse({
    name: 'summarisation',
    version: 2,
    model: 'claude-sonnet-4-6',
    eval: { threshold_win_rate: 0.8, threshold_p95_latency_ms: 4500, judge: { model: 'claude-opus-4-7', repeats: 3 } },
    ...overrides,
  });
}

function input(examples: ExampleResult[], overrides: Partial<ReportInput> = {}): ReportInput {
  const run: PairedEvalResult = {
    examples,
    cancelled: examples.some((e) => e.outcome === 'cancelled'),
    totals: {
      apiCalls: 10,
      cacheHits: 5,
      api: { 'claude-sonnet-4-6': { inputTokens: 1_000_000, outputTokens: 100_000 }, 'claude-opus-4-7': { inputTokens: 200_000, outputTokens: 10_000 } },
      all: { 'claude-sonnet-4-6': { inputTokens: 2_000_000, outputTokens: 200_000 }, 'claude-opus-4-7': { inputTokens: 200_000, outputTokens: 10_000 } },
    },
  };
  return {
    prompt: { name: 'summarisation', version: 2 },
    startedAt: '2025-05-01T10:00:00.000Z',
    durationMs: 1234,
    run,
    challenger: { provenance: { source: 'working-tree', dir: 'prompts/summarisation/v2', ref: null, commit: 'a'.repeat(40) }, metadata: metadata() },
    baseline: { provenance: { source: 'git', dir: 'prompts/summarisation/v1', ref: 'origin/main', commit: 'b'.repeat(40) }, metadata: metadata({ version: 1 }) },
    judge: { model: 'claude-opus-4-7', repeats: 3, rubric: 'default' },
    pricing: DEFAULT_PRICING,
    ...overrides,
  };
}

describe('eval report', () => {
  let report: EvalReport;
  before(() => {
    report = buildEvalReport(input(sampleExamples()));
  });

  it('validates against its own schema', () => {
    const parsed = evalReportSchema.safeParse(JSON.parse(JSON.stringify(report)));
    assert.ok(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues.slice(0, 3)));
    assert.equal(report.schema, 'prompt-ci/eval-report@1');
  });

  it('the committed JSON Schema is the one generated from the zod schema', () => {
    const generated = `${JSON.stringify(evalReportJsonSchema(), null, 2)}\n`;
    if (process.env.PROMPT_CI_UPDATE_SCHEMAS === '1') writeFileSync(SCHEMA_FILE, generated);
    assert.equal(readFileSync(SCHEMA_FILE, 'utf8'), generated, 'run with PROMPT_CI_UPDATE_SCHEMAS=1 to regenerate schemas/eval-report.schema.json');
  });

  it('counts the 2x2 table and runs McNemar as mcnemar_exact says', () => {
    assert.deepEqual(
      { ...report.mcnemar },
      { improved: 2, regressed: 12, bothCorrect: 80, bothWrong: 4, statistic: 2, pValue: 0.012939453125, method: 'exact' },
    );
    // Forced chi-square: statsmodels mcnemar([[80, 2], [12, 4]], exact=False) gives statistic 81/14.
    const chi2 = pairedTable(report.examples, false);
    assert.equal(chi2.method, 'chi2-corrected');
    assert.equal(chi2.statistic, 81 / 14);
    const none = pairedTable(report.examples.filter((e) => e.outcome === 'both-correct'), 'auto');
    assert.equal(none.pValue, 1);
    assert.equal(none.note, 'no discordant pairs');
  });

  it('summarises each side over the paired examples, with Wilson intervals and numpy-linear latency', () => {
    const c = report.challenger;
    assert.equal(c.scored, 98);
    assert.equal(c.correct, 82);
    assert.equal(c.winRate, 82 / 98);
    assert.ok(c.winRateInterval && c.winRateInterval.low < 82 / 98 && c.winRateInterval.high > 82 / 98);
    assert.equal(report.baseline.correct, 92);
    assert.equal(report.baseline.errors, 1);
    assert.equal(c.errors, 0);
    // Latencies: 2 x 100, 100..210 by 10, 50..129, 4 x 100, and the error example's 100.
    const lat = [100, 100, ...Array.from({ length: 12 }, (_, i) => 100 + i * 10), ...Array.from({ length: 80 }, (_, i) => 50 + i), 100, 100, 100, 100, 100].sort((a, b) => a - b);
    const h = (lat.length - 1) * 0.95;
    const expected = lat[Math.floor(h)] + (h - Math.floor(h)) * (lat[Math.floor(h) + 1] - lat[Math.floor(h)]);
    assert.equal(c.latencyMs?.p95, expected);
    assert.deepEqual({ source: c.source, dir: c.dir, ref: c.ref }, { source: 'working-tree', dir: 'prompts/summarisation/v2', ref: null });
    assert.equal(report.baseline.ref, 'origin/main');
  });

  it('gates: significant regression blocks, the unscored example is listed too', () => {
    assert.equal(report.gate.status, 'blocked');
    assert.deepEqual(report.gate.reasons.map((r) => r.code), ['regression', 'unscored']);
  });

  it('prices the API calls made and the whole run uncached', () => {
    // The catalog's list prices. sonnet: 1M in x $3 + 0.1M out x $15 = 4.5; opus: 0.2M x $5 + 0.01M x $25 = 1.25
    assert.equal(report.cost.usd, 5.75);
    assert.equal(report.cost.uncached.usd, 3 * 2 + 15 * 0.2 + 1.25);
    assert.equal(report.cost.apiCalls, 10);
    assert.equal(report.cost.cacheHits, 5);
    assert.equal(report.cost.inputTokens, 1_200_000);
    const unpriced = buildEvalReport(input(sampleExamples(), { pricing: {} }));
    assert.equal(unpriced.cost.usd, null);
  });

  describe('Markdown', () => {
    let md: string;
    before(() => {
      md = renderMarkdown(report);
    });

    it('puts the verdict first, then the McNemar table', () => {
      assert.ok(md.startsWith('## Prompt CI eval: ❌ **blocked** — <code>summarisation</code> v2\n'));
      assert.ok(md.indexOf('| **Challenger correct** | 80 | 2 (improved) |') > md.indexOf('blocked'));
      assert.match(md, /\| \*\*Challenger wrong\*\* \| 12 \(regressed\) \| 4 \|/);
      assert.match(md, /p = 0\.01294 \(exact binomial, statistic 2\)/);
      assert.match(md, /\| Challenger \| 83\.7% \|/);
    });

    it('shows each regressed example collapsed, with a word diff, escaping the outputs', () => {
      assert.equal(md.split('<details>').length - 1, 12 + 1);
      assert.match(md, /<summary><code>reg-0<\/code> \(eval\.jsonl line 3\)/);
      assert.ok(!md.includes('<b>was</b>'), 'model output must not become HTML');
      assert.ok(md.includes('<pre>The refund <ins>&lt;b&gt;</ins>was<del> approved</del><ins>&lt;/b&gt; denied |</ins> on 0 March</pre>'));
      assert.match(md, /<pre>The refund /);
    });

    it('escapes script and image payloads in outputs and ids', () => {
      const evil = ex('<img src=x onerror=alert(1)>', 'regressed', side(false, '</script><script>alert(2)</script>'), side(true, '<img src=x onerror=alert(1)> **bold**'));
      const text = renderMarkdown(buildEvalReport(input([evil])));
      assert.ok(!text.includes('<img'));
      assert.ok(!text.includes('<script'));
      assert.ok(text.includes('&lt;img src=x onerror=alert(1)&gt;'));
    });

    it('escapes Markdown syntax in inline text', () => {
      assert.equal(escapeMarkdown('a *b* [c](d) | <e>_f_ `g`\nh.'), 'a \\*b\\* \\[c\\](d) &#124; &lt;e&gt;\\_f\\_ \\`g\\` h.');
      assert.equal(wordDiffHtml('the cat sat', 'the dog sat'), 'the <del>cat</del><ins>dog</ins> sat');
    });

    it('lists examples that could not be scored', () => {
      assert.match(md, /Examples that could not be scored \(1\)/);
      assert.match(md, /baseline: the baseline template can&#39;t be rendered/);
    });

    it('stays under GitHub’s comment limit with many regressions', () => {
      const many = Array.from({ length: 2000 }, (_, i) => ex(`r${i}`, 'regressed', side(false, 'x '.repeat(300)), side(true, 'y '.repeat(300)), i));
      const text = renderMarkdown(buildEvalReport(input(many)));
      assert.ok(text.length < 65_536, `${text.length}`);
      assert.match(text, /more regressed examples are in the JSON report/);
    });

    it('says when the gate is not blocking', () => {
      const lenient = buildEvalReport(
        input(sampleExamples(), {
          challenger: { provenance: input([]).challenger.provenance, metadata: metadata({ ci: { block_on_eval_regression: false } }) },
        }),
      );
      assert.equal(lenient.gate.status, 'pass');
      assert.match(renderMarkdown(lenient), /> would be blocked, but not blocking: ci\.block\\_on\\_eval\\_regression is false/);
    });
  });

  describe('JUnit', () => {
    it('has one test case per example, failures for regressed and errors for unscored, and the verdict as properties', () => {
      const xml = renderJunit(report);
      assert.ok(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites'));
      assert.equal(xml.split('<testcase ').length - 1, report.examples.length);
      assert.equal(xml.split('<failure ').length - 1, 12);
      assert.equal(xml.split('<error ').length - 1, 1);
      assert.match(xml, /<testsuite name="prompt-ci\.eval\.summarisation\.v2" tests="99" failures="12" errors="1" skipped="0"/);
      assert.match(xml, /<property name="gate\.status" value="blocked"\/>/);
      assert.match(xml, /<property name="mcnemar\.pValue" value="0\.01294"\/>/);
      assert.ok(xml.includes('&lt;b&gt;was&lt;/b&gt; denied'));
      assert.ok(!xml.includes('<b>'));
    });

    it('escapes XML and drops characters XML cannot hold', () => {
      assert.equal(escapeXml('a<b>&"\'\u0000\u0007z\uD800'), 'a&lt;b&gt;&amp;&quot;&apos;\uFFFD\uFFFDz\uFFFD');
      assert.equal(escapeXml('tab\tnl\n😀'), 'tab\tnl\n😀');
    });

    it('marks cancelled examples skipped', () => {
      const cancelled = ex('c', 'cancelled', side(null, '', null, { output: null, error: 'cancelled before this side was scored' }), side(null, '', null, { output: null }));
      const xml = renderJunit(buildEvalReport(input([cancelled])));
      assert.match(xml, /<skipped message="cancelled before it finished"\/>/);
    });
  });
});

describe('examples tagged needs-review', () => {
  const tagged = (e: ExampleResult, ...tags: string[]): ExampleResult => ({ ...e, tags });
  function suite(): ExampleResult[] {
    const out: ExampleResult[] = [];
    for (let i = 0; i < 40; i++) out.push(tagged(ex(`ok-${i}`, 'both-correct', side(true, 'fine'), side(true, 'fine'), i), 'golden'));
    // Twelve harvested examples regress: counted, they would block (12 vs 0, exact p = 0.00049).
    for (let i = 0; i < 12; i++) out.push(tagged(ex(`prod-${i}`, 'regressed', side(false, 'worse'), side(true, 'right'), 40 + i), 'production', 'needs-review'));
    return out;
  }

  it('are left out of the table, the win rates and the verdict, shown as informational, and still sliced', () => {
    const r = buildEvalReport(input(suite()));
    assert.equal(r.gate.status, 'pass');
    assert.deepEqual({ improved: r.mcnemar.improved, regressed: r.mcnemar.regressed, bothCorrect: r.mcnemar.bothCorrect }, { improved: 0, regressed: 0, bothCorrect: 40 });
    assert.equal(r.challenger.winRate, 1);
    assert.equal(r.challenger.scored, 40);
    assert.deepEqual(r.informational, { tag: 'needs-review', count: 12, improved: 0, regressed: 12, ids: Array.from({ length: 12 }, (_, i) => `prod-${i}`) });
    const production = r.slices?.find((s) => s.tag === 'production');
    assert.equal(production?.n, 12);
    assert.equal(production?.regressed, 12);
    assert.equal(r.examples.length, 52);
    assert.ok(renderMarkdown(r).includes('Informational: 12 examples are tagged needs-review (0 improved, 12 regressed)'));
    evalReportSchema.parse(r);
  });

  it('count once the tag is removed', () => {
    const r = buildEvalReport(input(suite().map((e) => ({ ...e, tags: e.tags.filter((t) => t !== 'needs-review') }))));
    assert.equal(r.gate.status, 'blocked');
    assert.equal(r.mcnemar.regressed, 12);
    assert.equal(r.informational, undefined);
  });

  it('a suite of nothing but examples awaiting review is inconclusive, saying why', () => {
    const r = buildEvalReport(input(suite().filter((e) => e.tags.includes('needs-review'))));
    assert.equal(r.gate.status, 'inconclusive');
    assert.match(r.gate.reasons[0].message, /every example \(12\) is tagged needs-review/);
  });
});
