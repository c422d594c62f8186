import { existsSync, statSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { sanitizeUntrusted } from '../core/escaping/untrusted';
import { formatUsd } from '../core/eval/cost';
import type { CostEstimate } from '../core/eval/cost';
import { formatP } from '../core/eval/gate';
import { junitPieces } from '../core/eval/junit';
import { renderMarkdown } from '../core/eval/markdown';
import { compactResult, informationalLine } from '../core/eval/report';
import { evalReportJsonPieces } from '../core/eval/reportJson';
import { ResultSpool } from '../node/resultSpool';
import { pointsInterval, scoreInterval, signedPoints, slicesToShow } from '../core/eval/statistics';
import type { EvalProgress } from '../core/eval/types';
import { throttleNote } from '../core/eval/types';
import type { ResolvedBaseline } from '../node/baseline';
import { findRepoRoot } from '../node/repoFiles';
import { prepareEval } from '../node/runEval';
import type { EvalReport, ExampleResult, SideSummary } from '../shared/evalReport';
import { preferSmallHeap } from './heap';
import type { CliIo } from './cliIo';
import { EXIT_FAIL, EXIT_OK, EXIT_USAGE, UsageError, errorKindOf, reportCommandError } from './cliIo';
import { CACHE_MODE, CONCURRENCY, JSON_REPORT, JUNIT_REPORT, MARKDOWN_REPORT, MAX_MINUTES } from './options';
import { ProgressLine } from './progress';
import { runDeadline } from './runDeadline';
import { reportPathProblem, writeReports } from './reportFiles';
import type { RequestedReport } from './reportFiles';
import { EVAL_USAGE } from './usages';
export { EVAL_USAGE } from './usages';

/** On a terminal, a run estimated above this many dollars needs `--yes`. */
export const CONFIRM_ABOVE_USD = 5;

const int = (n: number): string => n.toLocaleString('en-US');
const pct = (x: number | null): string => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);
const ms = (x: number | undefined): string => (x === undefined ? '–' : `${int(Math.round(x))} ms`);

/** One line of the calls, tokens and dollars a run will spend. */
export function estimateLine(e: CostEstimate): string {
  const spend = e.calls - e.cachedCalls;
  if (spend === 0) return `${int(e.calls)} calls, all in the cache: no API call, $0.00`;
  const usd =
    e.usdTypical === null
      ? `cost unknown (no price for ${e.unpricedModels.join(', ')}; add it to prompt-ci.yaml pricing)`
      : `~${formatUsd(e.usdTypical)} typical, at most ${formatUsd(e.usdMax)}`;
  return (
    `${int(e.calls)} calls (${int(e.cachedCalls)} cached, ${int(spend)} to make) · ~${int(e.inputTokens)} input tokens · ` +
    `output ~${int(e.outputTokensTypical)} typical, at most ${int(e.outputTokensMax)} · ${usd}`
  );
}

function progressLine(p: EvalProgress): string {
  return `${int(p.done)}/${int(p.total)} examples · ${int(p.calls)} calls · ${int(p.cacheHits)} cached · ${int(p.inputTokens + p.outputTokens)} tokens · ${int(p.errors)} errors${throttleNote(p.throttle)}`;
}

function sideLine(name: string, s: SideSummary): string {
  const interval = s.winRateInterval ? ` [${pct(s.winRateInterval.low)}, ${pct(s.winRateInterval.high)}]` : '';
  const score = s.meanScore === null ? '' : ` · mean score ${s.meanScore.toFixed(2)}`;
  return `  ${name.padEnd(11)} ${pct(s.winRate)}${interval} (${s.correct}/${s.scored})${score}`;
}

function latencyLine(name: string, s: SideSummary): string {
  return `  ${name.padEnd(11)} p50 ${ms(s.latencyMs?.p50)} · p95 ${ms(s.latencyMs?.p95)}`;
}

const METHOD: Record<EvalReport['mcnemar']['method'], string> = {
  exact: 'exact binomial',
  'chi2-corrected': 'chi-square, continuity-corrected',
  chi2: 'chi-square',
};

/** The summary printed after a run: verdict first, then the table, p-value, win rates, latency and cost. */
export function formatEvalSummary(report: EvalReport): string {
  const { gate, mcnemar: t, cost } = report;
  const lines: string[] = [];
  lines.push(`verdict: ${gate.status.toUpperCase()}${gate.blocking ? '' : ' (not blocking)'}`);
  for (const r of gate.reasons) lines.push(`  - ${r.effect}: ${r.message}`);
  for (const n of gate.notes) lines.push(`  note: ${n}`);
  if (report.cancelled) {
    const finished = report.examples.filter((e) => e.outcome !== 'cancelled').length;
    lines.push(`  cancelled: ${finished} of ${report.examples.length} examples finished; they and every cached response are kept, and a re-run resumes from the cache`);
  }
  const rows = [
    ['', 'baseline correct', 'baseline wrong'],
    ['challenger correct', String(t.bothCorrect), `${t.improved} improved`],
    ['challenger wrong', `${t.regressed} regressed`, String(t.bothWrong)],
  ];
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c].length)));
  const table = rows.map((r) => `  ${r[0].padEnd(widths[0])}  ${r[1].padStart(widths[1])}  ${r[2].padStart(widths[2])}`);
  lines.push(
    '',
    `McNemar (paired, ${t.improved + t.regressed + t.bothCorrect + t.bothWrong} examples)`,
    ...table,
    `  p = ${formatP(t.pValue)} (${METHOD[t.method]}${t.statistic !== null ? `, statistic ${Number(t.statistic.toPrecision(6))}` : ''})${t.note ? `: ${t.note}` : ''}; alpha ${gate.thresholds.alpha}`,
    ...(t.holm ? [`  Holm-adjusted p = ${formatP(t.holm.adjustedPValue)} over the ${t.holm.prompts} prompts of this gate`] : []),
    ...statisticsLines(report),
    '',
    `pass rate (threshold ${pct(gate.thresholds.winRate)}, Wilson 95%)`,
    sideLine('challenger', report.challenger),
    sideLine('baseline', report.baseline),
    '',
    `latency${gate.thresholds.p95LatencyMs !== null ? ` (p95 threshold ${ms(gate.thresholds.p95LatencyMs)})` : ''}`,
    latencyLine('challenger', report.challenger),
    latencyLine('baseline', report.baseline),
    '',
    `cost: ${int(cost.apiCalls)} API calls, ${int(cost.cacheHits)} cache hits · ${int(cost.inputTokens)} input + ${int(cost.outputTokens)} output tokens · ${formatUsd(cost.usd)}`,
  );
  if (report.unstableCount > 0) lines.push(`judge: ${report.unstableCount} examples with votes that disagree (unstable)`);
  if (report.informational) lines.push(informationalLine(report.informational));
  const errors = report.examples.filter((e) => e.outcome === 'error');
  if (errors.length > 0) {
    lines.push('', `${errors.length} examples could not be scored:`);
    for (const e of errors.slice(0, 5)) {
      lines.push(`  ${e.id} (eval.jsonl line ${e.line + 1}): ${e.challenger.error ?? e.baseline.error}`);
    }
    if (errors.length > 5) lines.push(`  … and ${errors.length - 5} more (see the JSON report)`);
  }
  return `${lines.join('\n')}\n`;
}

/** A tag is repository text: on one line, its control characters shown, not emitted. */
function printable(text: string): string {
  return sanitizeUntrusted(text).replace(/\s+/g, ' ');
}

/** The difference with its intervals, the suite's power, non-inferiority, the score test and the slices. */
function statisticsLines(report: EvalReport): string[] {
  const lines: string[] = [];
  const { difference: d, power, nonInferiority: ni, scoreTest } = report;
  if (d) {
    lines.push('', 'difference (challenger − baseline, 95%)');
    lines.push(`  pass rate   ${d.winRate ? `${pointsInterval(d.winRate)} (Newcombe, paired)` : '–'}`);
    if (d.clustered) lines.push(`  clustered   ${pointsInterval(d.clustered)} (standard error clustered on ${d.clustered.clusters} clusters)`);
    lines.push(`  mean score  ${d.score ? `${scoreInterval(d.score)} (paired t)` : '–'}`);
  }
  if (scoreTest) {
    lines.push(`  score test  Wilcoxon signed-rank p = ${formatP(scoreTest.pValue)} (${scoreTest.method === 'exact' ? 'exact' : 'normal approximation'}, ${scoreTest.n} non-zero differences)${scoreTest.gating ? ', gating' : ''}`);
  }
  if (power) lines.push(`  power       ${power.summary}`);
  if (ni) lines.push(`  non-inferiority (margin ${signedPoints(ni.margin).replace('+', '')} points): ${ni.status.toUpperCase()}: ${ni.message}`);
  const { shown, hidden } = slicesToShow(report.slices ?? [], 8);
  if (shown.length > 0) {
    lines.push('', 'slices (by tag; pass rates challenger / baseline, difference with 95% interval)');
    const width = Math.min(24, Math.max(...shown.map((s) => printable(s.tag).length)));
    for (const s of shown) {
      lines.push(
        `  ${printable(s.tag).padEnd(width)}  n ${String(s.n).padStart(4)}  ${pct(s.challengerWinRate)} / ${pct(s.baselineWinRate)}  ` +
          `${s.improved} improved, ${s.regressed} regressed  ${pointsInterval(s.difference)}${s.concentrated ? '  ← the regression is concentrated here' : ''}`,
      );
    }
    if (hidden > 0) lines.push(`  … and ${hidden} more tags in the JSON report (listed here: tags where an example changed outcome)`);
  }
  const j = report.judge;
  if (j.unanimousShare !== undefined && j.unanimousShare !== null) {
    lines.push('', `judge agreement: ${pct(j.unanimousShare)} of outputs unanimous over ${j.repeats} repeats · Fleiss' kappa ${j.fleissKappa === null || j.fleissKappa === undefined ? '–' : j.fleissKappa.toFixed(2)}`);
  }
  return lines;
}

/** Where the baseline came from, its path shown as `show` gives it. */
function baselineLine(b: ResolvedBaseline, show: (dir: string) => string): string {
  const dir = show(b.dir);
  if (b.source === 'directory') return `${dir} (directory, from --baseline)`;
  const at = `${dir} at ${b.ref} (${(b.commit ?? '').slice(0, 12)})`;
  if (b.how === 'override') return `${at}, from --baseline`;
  if (b.how === 'lower-version') return `${at}, the highest lower version there`;
  return at;
}

/**
 * `prompt-ci eval <prompt-dir>`: the challenger in the working tree against its baseline from git.
 * Prints the resolved baseline and the cost estimate, progress while it runs, then the verdict.
 * Exit 0 pass, 1 blocked or inconclusive (a cancelled run is inconclusive), 2 usage or setup error.
 */
export async function runEvalCommand(argv: string[], io: CliIo): Promise<number> {
  preferSmallHeap();
  let values;
  let positionals;
  let concurrency: number | undefined;
  let cacheMode: { offline: boolean; noCache: boolean };
  let maxMinutes: number | undefined;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        baseline: { type: 'string' },
        ...CONCURRENCY.spec,
        ...CACHE_MODE.spec,
        ...MAX_MINUTES.spec,
        ...JSON_REPORT.spec,
        ...MARKDOWN_REPORT.spec,
        ...JUNIT_REPORT.spec,
        yes: { type: 'boolean', short: 'y', default: false },
      },
      allowPositionals: true,
      strict: true,
    }));
    concurrency = CONCURRENCY.read(values);
    cacheMode = CACHE_MODE.read(values);
    maxMinutes = MAX_MINUTES.read(values);
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'which prompt version? give its directory' : 'give exactly one prompt directory');
  } catch (error) {
    // Also run by itself (tests, the API), so it prints its own usage errors.
    return reportCommandError(io, 'eval', EVAL_USAGE, error);
  }

  const promptDir = resolve(io.cwd, positionals[0]);
  if (!existsSync(promptDir) || !statSync(promptDir).isDirectory()) {
    io.stderr(`prompt-ci eval: ${positionals[0]}: no such directory\n`);
    return EXIT_USAGE;
  }
  const repoRoot = findRepoRoot(promptDir) ?? promptDir;
  // A --baseline naming a directory is relative to where the user typed it; REF:PATH stays as given.
  const baselineArg = values.baseline;
  const baseline =
    baselineArg !== undefined && existsSync(resolve(io.cwd, baselineArg)) ? resolve(io.cwd, baselineArg) : baselineArg;
  // Paths as the user can open them from where they typed the command; absolute when that's shorter than climbing out.
  const display = (p: string): string => {
    const rel = relative(io.cwd, p);
    return rel.startsWith('..') ? p : rel.split(sep).join('/') || '.';
  };

  const progress = new ProgressLine(io, 'keep');
  let lastPlainDecile = -1;
  const onProgress = (p: EvalProgress): void => {
    if (io.isTty) {
      progress.draw(progressLine(p), p.done >= p.total);
    } else {
      // Plain lines for logs: one per tenth of the examples.
      const decile = Math.floor((p.done * 10) / Math.max(1, p.total));
      if (decile > lastPlainDecile && (p.done > 0 || p.total === 0)) {
        lastPlainDecile = decile;
        io.stdout(`${progressLine(p)}\n`);
      }
    }
  };

  // The report paths are checked before any money is spent; rendered only once the verdict is in.
  let report: EvalReport | undefined;
  // The run keeps compact results (what the verdict and the summary need); the whole ones go to a
  // temporary file as they finish, and the reports are written from it, one example at a time.
  let spool: ResultSpool | undefined;
  const whole = (): Iterable<ExampleResult> => spool ?? report!.examples;
  const reports: RequestedReport[] = [
    { option: '--json', file: JSON_REPORT.read(values), render: () => evalReportJsonPieces(report!, whole()) },
    { option: '--markdown', file: MARKDOWN_REPORT.read(values), render: () => renderMarkdown(report!, whole()) },
    { option: '--junit', file: JUNIT_REPORT.read(values), render: () => junitPieces(report!, whole()) },
  ];
  const pathProblem = await reportPathProblem(reports, io.cwd);
  if (pathProblem) {
    io.stderr(`prompt-ci eval: ${pathProblem}\n`);
    return EXIT_USAGE;
  }

  const deadline = runDeadline(io.signal, maxMinutes);
  try {
    const prepared = await prepareEval({
      repoRoot,
      promptDir,
      baseline,
      concurrency,
      ...cacheMode,
      env: io.env,
      signal: deadline.signal,
      onProgress,
    });
    io.stdout(
      [
        `challenger: ${display(resolve(repoRoot, prepared.challenger.dir))} (working tree)`,
        `baseline:   ${baselineLine(prepared.baseline, (dir) => display(resolve(repoRoot, dir)))}`,
        `examples:   ${int(prepared.exampleCount)} · judge ${prepared.judge.model} × ${prepared.judge.repeats} (${prepared.judge.rubric === 'judge.md' ? 'judge.md' : 'default rubric'}) · concurrency ${prepared.concurrency}${prepared.cacheMode === 'normal' ? '' : ` · ${prepared.cacheMode}`}`,
        `estimate:   ${estimateLine(prepared.estimate)}`,
        '',
      ].join('\n'),
    );
    const { estimate } = prepared;
    if (io.isTty && !values.yes && estimate.usdTypical !== null && estimate.usdTypical > CONFIRM_ABOVE_USD) {
      io.stderr(`prompt-ci eval: the estimate is over ${formatUsd(CONFIRM_ABOVE_USD)}; re-run with --yes to spend it\n`);
      return EXIT_USAGE;
    }

    if (reports.some((r) => r.file !== undefined)) spool = new ResultSpool();
    report = await prepared.run({
      onResult: (result) => {
        spool?.add(result);
        return compactResult(result);
      },
    });
    progress.end();
    if (deadline.expired()) io.stderr(deadline.notice('eval'));
    io.stdout(`\n${formatEvalSummary(report)}`);

    const { written, failed } = await writeReports(reports, io, 'eval', display);
    if (written.length > 0) io.stdout(`reports: ${written.join(', ')}\n`);
    // A report asked for and not written is an environment error, whatever the verdict above says.
    if (failed) return EXIT_USAGE;
    return report.gate.status === 'pass' ? EXIT_OK : EXIT_FAIL;
  } catch (error) {
    progress.end();
    const known = errorKindOf(error) !== undefined;
    if (!known && deadline.signal.aborted) {
      io.stderr(deadline.expired() ? deadline.notice('eval') : 'prompt-ci eval: interrupted before the first call; nothing was sent\n');
      return EXIT_FAIL;
    }
    return reportCommandError(io, 'eval', EVAL_USAGE, error);
  } finally {
    deadline.dispose();
    spool?.dispose();
  }
}
