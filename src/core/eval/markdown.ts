import { diffWords } from 'diff';
import type { EvalReport, ExampleResult, SideSummary } from '../../shared/evalReport';
import { escapeHtml, escapeMarkdown, htmlCode } from '../escaping/markdown';
import { formatUsd } from './cost';
import { formatP } from './gate';
import { informationalLine } from './report';
import { pointsInterval, scoreInterval, signedPoints, slicesToShow } from './statistics';

/** GitHub refuses comments over 65,536 characters; stay well under it. */
const MAX_COMMENT_CHARS = 60_000;
/** Longest output shown in full in the comment; the JSON report keeps the rest. */
const MAX_OUTPUT_CHARS = 4_000;

const STATUS_LINE: Record<EvalReport['gate']['status'], string> = {
  pass: '✅ **pass**',
  blocked: '❌ **blocked**',
  inconclusive: '⚠️ **inconclusive**',
};

const METHOD_NAME: Record<EvalReport['mcnemar']['method'], string> = {
  exact: 'exact binomial',
  'chi2-corrected': 'chi-square with continuity correction',
  chi2: 'chi-square',
};

const code = htmlCode;

/** Slices listed in the comment; the JSON report has every tag. */
const MAX_SLICES = 12;

/** The difference with its intervals, the suite's power, non-inferiority, the score test, the slices. */
function statisticsSection(report: EvalReport): string[] {
  const out: string[] = [];
  const { difference: d, power, nonInferiority: ni, scoreTest } = report;
  if (d) {
    const cell = (text: string): string => text.replace(/ \[/, ' | ').replace(/\]$/, '').replace(', ', ' to ');
    out.push('### Difference (challenger − baseline)', '', '| | Estimate | 95% interval | Method |', '|---|---:|---:|---|');
    if (d.winRate) out.push(`| Pass rate | ${cell(pointsInterval(d.winRate))} | Newcombe hybrid score, paired |`);
    if (d.clustered) out.push(`| Pass rate, clustered | ${cell(pointsInterval(d.clustered))} | cluster-robust standard error, ${d.clustered.clusters} clusters |`);
    if (d.score) out.push(`| Mean judge score | ${cell(scoreInterval(d.score))} | paired t |`);
    out.push('');
  }
  if (scoreTest) {
    out.push(
      `Judge scores, Wilcoxon signed-rank: p = ${formatP(scoreTest.pValue)} (${scoreTest.method === 'exact' ? 'exact' : 'normal approximation'}, ${scoreTest.n} non-zero differences${scoreTest.gating ? '; gating: eval.score\_test is wilcoxon' : ''}).`,
      '',
    );
  }
  if (power) out.push(`**Power**: ${escapeMarkdown(power.summary)}.`, '');
  if (ni) out.push(`**Non-inferiority** (margin ${signedPoints(ni.margin).replace('+', '')} points): **${ni.status}**: ${escapeMarkdown(ni.message)}.`, '');
  const { shown, hidden } = slicesToShow(report.slices ?? [], MAX_SLICES);
  if (shown.length > 0) {
    out.push('### Slices by tag', '', '| Tag | n | Challenger | Baseline | Improved / regressed | Difference (95%) |', '|---|---:|---:|---:|---:|---|');
    for (const s of shown) {
      out.push(
        `| ${code(s.tag)} | ${s.n} | ${pct(s.challengerWinRate)} | ${pct(s.baselineWinRate)} | ${s.improved} / ${s.regressed} | ${pointsInterval(s.difference)}${s.concentrated ? ' ⚠️ regression concentrated here' : ''} |`,
      );
    }
    out.push('');
    if (hidden > 0) out.push(`${hidden} more tags are in the JSON report (listed here: tags where an example changed outcome).`, '');
  }
  const j = report.judge;
  if (j.unanimousShare !== undefined && j.unanimousShare !== null) {
    out.push(
      `Judge agreement: ${pct(j.unanimousShare)} of outputs unanimous over ${j.repeats} repeats; Fleiss' kappa ${j.fleissKappa === null || j.fleissKappa === undefined ? '–' : j.fleissKappa.toFixed(2)}.`,
      '',
    );
  }
  return out;
}

function pct(x: number | null): string {
  return x === null ? '–' : `${(x * 100).toFixed(1)}%`;
}

function ms(x: number | undefined): string {
  return x === undefined ? '–' : `${Math.round(x).toLocaleString('en-US')} ms`;
}

function sideLabel(side: SideSummary): string {
  const where =
    side.source === 'working-tree'
      ? 'working tree'
      : side.source === 'directory'
        ? 'directory'
        : `${side.ref ? `${code(side.ref)} ` : ''}${side.commit ? `(${code(side.commit.slice(0, 12))})` : ''}`.trim();
  return `${code(side.dir)} — ${where}`;
}

function cut(text: string): string {
  return text.length > MAX_OUTPUT_CHARS ? `${text.slice(0, MAX_OUTPUT_CHARS)}\n… (${text.length - MAX_OUTPUT_CHARS} more characters in the JSON report)` : text;
}

/** A word diff from `before` to `after` as HTML for a `<pre>` block: removed in `<del>`, added in `<ins>`. */
export function wordDiffHtml(before: string, after: string): string {
  const changes = diffWords(cut(before), cut(after), { timeout: 2_000 });
  if (!changes) return `<del>${escapeHtml(cut(before))}</del>\n<ins>${escapeHtml(cut(after))}</ins>`;
  return changes
    .map((c) => (c.added ? `<ins>${escapeHtml(c.value)}</ins>` : c.removed ? `<del>${escapeHtml(c.value)}</del>` : escapeHtml(c.value)))
    .join('');
}

function verdictOf(example: ExampleResult, side: 'challenger' | 'baseline'): string {
  const s = example[side];
  if (s.correct === null) return 'not scored';
  const votes = s.votes.map((v) => (v.correct ? '✓' : '✗')).join('');
  return `${s.correct ? 'correct' : 'wrong'}, score ${s.score}${s.votes.length > 1 ? ` (votes ${votes})` : ''}${s.unstable ? ', unstable' : ''}`;
}

function regressedBlock(example: ExampleResult): string {
  const lines = [
    '<details>',
    `<summary>${code(example.id)} (eval.jsonl line ${example.line + 1}): baseline ${escapeHtml(verdictOf(example, 'baseline'))}; challenger ${escapeHtml(verdictOf(example, 'challenger'))}</summary>`,
    '',
  ];
  if (example.reference !== null) {
    lines.push('Reference:', '', `<pre>${escapeHtml(cut(example.reference))}</pre>`, '');
  }
  lines.push(
    'Baseline → challenger (word diff: <del>removed</del>, <ins>added</ins>):',
    '',
    `<pre>${wordDiffHtml(example.baseline.output ?? '', example.challenger.output ?? '')}</pre>`,
    '',
    '</details>',
    '',
  );
  return lines.join('\n');
}

function errorBlock(example: ExampleResult): string {
  const messages = [example.challenger.error && `challenger: ${example.challenger.error}`, example.baseline.error && `baseline: ${example.baseline.error}`]
    .filter((m): m is string => Boolean(m))
    .join('\n');
  return `- ${code(example.id)} (line ${example.line + 1})\n\n  <pre>${escapeHtml(cut(messages))}</pre>\n`;
}

/**
 * The PR comment: the verdict and its reasons first, then the McNemar 2x2 table, win rates,
 * latency and cost, then each regressed example with a word diff of the two outputs (collapsed).
 * Every piece of model output or eval data is escaped; outputs sit in `<pre>` blocks so Markdown
 * never reads them.
 */
export function renderMarkdown(report: EvalReport, examples: Iterable<ExampleResult> = report.examples): string {
  const { gate, mcnemar: t, challenger, baseline, cost } = report;
  const out: string[] = [];
  out.push(`## Prompt CI eval: ${STATUS_LINE[gate.status]} — ${code(report.prompt.name)} v${report.prompt.version}`, '');
  if (gate.reasons.length === 0) out.push('No gate condition was hit.', '');
  for (const reason of gate.reasons) out.push(`- **${reason.effect}**: ${escapeMarkdown(reason.message)}`);
  if (gate.reasons.length > 0) out.push('');
  for (const note of gate.notes) out.push(`> ${escapeMarkdown(note)}`, '');
  if (report.cancelled) out.push('> The run was cancelled: finished examples are kept, the rest are marked cancelled.', '');
  if (report.partial) out.push(`> Only ${report.partial.onlyExampleIds.length} selected examples were run.`, '');

  out.push(`Challenger: ${sideLabel(challenger)}  `, `Baseline: ${sideLabel(baseline)}`, '');

  const paired = t.improved + t.regressed + t.bothCorrect + t.bothWrong;
  out.push(
    `### Paired outcomes (McNemar, ${paired} examples)`,
    '',
    '| | Baseline correct | Baseline wrong |',
    '|---|---:|---:|',
    `| **Challenger correct** | ${t.bothCorrect} | ${t.improved} (improved) |`,
    `| **Challenger wrong** | ${t.regressed} (regressed) | ${t.bothWrong} |`,
    '',
    `p = ${formatP(t.pValue)} (${METHOD_NAME[t.method]}${t.statistic !== null ? `, statistic ${Number(t.statistic.toPrecision(6))}` : ''})${t.note ? `: ${escapeMarkdown(t.note)}` : ''}; noise_envelope_alpha ${gate.thresholds.alpha}` +
      (t.holm ? `; Holm-adjusted over the ${t.holm.prompts} prompts of this gate: p = ${formatP(t.holm.adjustedPValue)}` : ''),
    '',
  );

  out.push(...statisticsSection(report));

  const row = (name: string, s: SideSummary): string =>
    `| ${name} | ${pct(s.winRate)} | ${s.winRateInterval ? `${pct(s.winRateInterval.low)} – ${pct(s.winRateInterval.high)}` : '–'} | ${
      s.meanScore === null ? '–' : s.meanScore.toFixed(2)
    } | ${ms(s.latencyMs?.p50)} | ${ms(s.latencyMs?.p95)} | ${s.errors} |`;
  out.push(
    '### Pass rates and latency',
    '',
    '| | Pass rate | Wilson 95% | Mean score | p50 | p95 | Errors |',
    '|---|---:|---:|---:|---:|---:|---:|',
    row('Challenger', challenger),
    row('Baseline', baseline),
    '',
    `Threshold: pass rate ≥ ${pct(gate.thresholds.winRate)}${gate.thresholds.p95LatencyMs !== null ? `, p95 ≤ ${ms(gate.thresholds.p95LatencyMs)}` : ''}. ` +
      `Judge: ${code(report.judge.model)} × ${report.judge.repeats} (${report.judge.rubric === 'judge.md' ? 'judge.md' : 'default rubric'}); ${report.unstableCount} unstable.`,
    '',
    ...(report.informational ? [`${informationalLine(report.informational).replace(/^informational: /, 'Informational: ')}.`, ''] : []),
    '### Cost',
    '',
    `${cost.apiCalls} API calls, ${cost.cacheHits} cache hits; ${cost.inputTokens.toLocaleString('en-US')} input and ${cost.outputTokens.toLocaleString('en-US')} output tokens; ${formatUsd(cost.usd)} (uncached: ${formatUsd(cost.uncached.usd)}).`,
    '',
  );

  // Counted on the report's examples; a regressed one's block (reference and outputs) is made from
  // `examples`, which are the whole results when the report's are compact.
  const regressed = report.examples.filter((e) => e.outcome === 'regressed');
  const errors = report.examples.filter((e) => e.outcome === 'error');
  let body = out.join('\n');
  const closing: string[] = [];

  if (regressed.length > 0) {
    body += `\n### Regressed examples (${regressed.length})\n\n`;
    let shown = 0;
    for (const example of examples) {
      if (example.outcome !== 'regressed') continue;
      const block = regressedBlock(example);
      if (body.length + block.length > MAX_COMMENT_CHARS) break;
      body += block;
      shown += 1;
    }
    if (shown < regressed.length) body += `\n${regressed.length - shown} more regressed examples are in the JSON report.\n`;
  }
  if (errors.length > 0) {
    let section = `\n<details>\n<summary>Examples that could not be scored (${errors.length})</summary>\n\n`;
    let shown = 0;
    for (const example of errors) {
      const block = errorBlock(example);
      if (body.length + section.length + block.length > MAX_COMMENT_CHARS) break;
      section += block;
      shown += 1;
    }
    if (shown < errors.length) section += `\n${errors.length - shown} more in the JSON report.\n`;
    closing.push(`${section}\n</details>\n`);
  }
  return `${body}${closing.join('')}`;
}
