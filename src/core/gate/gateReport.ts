import type { EvalReport, ExampleResult } from '../../shared/evalReport';
import { formatP } from '../eval/gate';
import { escapeMarkdown, htmlCode } from '../escaping/markdown';
import { workflowCommand } from '../escaping/workflowCommands';
import { renderMarkdown } from '../eval/markdown';
import { pointsInterval } from '../eval/statistics';
import type { FileFinding } from '../finding';
import type { GateStatus, GateSummary, PromptGateResult, PromptVerdict } from './verdicts';

/** What the gate reports are made from: plain data, paths repo-relative POSIX. */
export interface GateReportInput {
  baseRef: string;
  mergeBase: string;
  /** Null when nothing changed and check did not run. */
  findings: readonly FileFinding[] | null;
  results: readonly PromptGateResult[];
  summary: GateSummary;
  /** How a repo-relative path is shown (relative to where the user runs the command); default as is. */
  display?: (repoPath: string) => string;
}

/** Regressed examples listed per prompt in text and annotations; the Markdown report has them all. */
export const MAX_LISTED_EXAMPLES = 10;
/** GitHub refuses comments and step summaries over 65,536 characters; stay well under it. */
const MAX_MARKDOWN_CHARS = 60_000;

const VERDICT_WORD: Record<PromptVerdict, string> = {
  pass: 'PASS',
  blocked: 'BLOCKED',
  inconclusive: 'INCONCLUSIVE',
  error: 'ERROR',
  removed: 'REMOVED',
};
const VERDICT_MARK: Record<PromptVerdict | GateStatus, string> = {
  pass: '✅ pass',
  blocked: '❌ blocked',
  inconclusive: '⚠️ inconclusive',
  error: '⚠️ could not run',
  removed: '➖ removed',
};

const pct = (x: number | null): string => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);
const short = (sha: string): string => sha.slice(0, 12);
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function sideVerdict(side: ExampleResult['challenger']): string {
  if (side.correct === null) return 'not scored';
  return `${side.correct ? 'correct' : 'wrong'}${side.score !== null ? ` (score ${side.score})` : ''}`;
}

/** The line after the prompt's name: win rates and the paired outcomes. */
function measurementLine(report: EvalReport): string {
  const t = report.mcnemar;
  const { challenger: c, baseline: b } = report;
  return (
    `pass rate ${pct(c.winRate)} (${c.correct}/${c.scored}) vs baseline ${pct(b.winRate)} (${b.correct}/${b.scored}) · ` +
    `${t.regressed} regressed, ${t.improved} improved, p = ${formatP(t.pValue)}`
  );
}

/** The difference with its interval, the suite's power and the Holm-adjusted p, when the report has them. */
function statisticsLine(report: EvalReport): string | undefined {
  const parts: string[] = [];
  const w = report.difference?.winRate;
  if (w) parts.push(`difference ${pointsInterval(w)} (95%, paired)`);
  if (report.power) parts.push(report.power.summary);
  const holm = report.mcnemar.holm;
  if (holm) parts.push(`Holm-adjusted p = ${formatP(holm.adjustedPValue)} over ${holm.prompts} prompts`);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/** The "changed since" line: what the gate compared with. */
export function changesLine(baseRef: string, mergeBase: string, count: number): string {
  return count === 0
    ? `no prompt changed since ${baseRef} (merge-base ${short(mergeBase)}): nothing to gate`
    : `${plural(count, 'prompt version')} changed since ${baseRef} (merge-base ${short(mergeBase)})`;
}

/** Why a version is on the list: its changed files, its changed call sites. */
export function whyChanged(result: Pick<PromptGateResult, 'prompt'>, display: (p: string) => string = (p) => p): string {
  const { prompt } = result;
  const parts: string[] = [];
  if (prompt.files.length > 0) parts.push(prompt.files.map((f) => f.slice(prompt.dir.length + 1)).join(', '));
  if (prompt.callSiteFiles.length > 0) parts.push(`call sites in ${prompt.callSiteFiles.map(display).join(', ')}`);
  return parts.join('; ');
}

/**
 * The text a person reads at the end of a gate run (the terminal, a `git push`): one block per
 * prompt version with its verdict, reasons and regressed examples, then the overall verdict.
 */
export function formatPromptResultText(result: PromptGateResult, display: (p: string) => string = (p) => p): string {
  const lines: string[] = [];
  const head = `${display(result.prompt.dir)}: ${VERDICT_WORD[result.verdict]}`;
  lines.push(result.report ? `${head} · ${measurementLine(result.report)}` : head);
  if (result.baseline) lines.push(`  baseline: ${result.baseline}`);
  const stats = result.report && statisticsLine(result.report);
  if (stats) lines.push(`  ${stats}`);
  for (const reason of result.reasons) lines.push(`  - ${reason}`);
  for (const note of result.notes) lines.push(`  note: ${note}`);
  const report = result.report;
  if (report && result.verdict !== 'pass') {
    const regressed = report.examples.filter((e) => e.outcome === 'regressed');
    if (regressed.length > 0) {
      lines.push(`  regressed examples (${regressed.length}):`);
      for (const e of regressed.slice(0, MAX_LISTED_EXAMPLES)) {
        lines.push(`    ${e.id} (eval.jsonl line ${e.line + 1}): baseline ${sideVerdict(e.baseline)}, challenger ${sideVerdict(e.challenger)}`);
        if (e.challenger.output !== null) lines.push(`      challenger said: ${oneLine(e.challenger.output, 160)}`);
      }
      if (regressed.length > MAX_LISTED_EXAMPLES) lines.push(`    … and ${regressed.length - MAX_LISTED_EXAMPLES} more (prompt-ci gate --markdown FILE lists them all)`);
    }
    const errors = report.examples.filter((e) => e.outcome === 'error');
    if (errors.length > 0) {
      lines.push(`  examples that could not be scored (${errors.length}):`);
      for (const e of errors.slice(0, 3)) lines.push(`    ${e.id} (eval.jsonl line ${e.line + 1}): ${oneLine(e.challenger.error ?? e.baseline.error ?? 'error', 200)}`);
      if (errors.length > 3) lines.push(`    … and ${errors.length - 3} more`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The closing line: the overall verdict with its counts. */
export function overallLine(summary: GateSummary): string {
  const { counts, checkErrors } = summary;
  const parts: string[] = [];
  for (const verdict of ['blocked', 'inconclusive', 'error', 'pass', 'removed'] as const) {
    if (counts[verdict] > 0) parts.push(`${counts[verdict]} ${verdict === 'error' ? 'could not run' : verdict === 'pass' ? 'passed' : verdict}`);
  }
  if (checkErrors > 0) parts.push(`check found ${plural(checkErrors, 'error')}`);
  return `gate: ${summary.status.toUpperCase()}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
}

/**
 * The Markdown report of a gate run, for `$GITHUB_STEP_SUMMARY` and a PR comment: the overall
 * verdict, a table of the changed prompt versions, `check` errors, then each eval's own report
 * (blocked ones first) while they fit in a comment.
 */
export function renderGateMarkdown(input: GateReportInput): string {
  const display = input.display ?? ((p: string) => p);
  const code = htmlCode;
  const out: string[] = [];
  out.push(`# Prompt CI gate: ${VERDICT_MARK[input.summary.status]}`, '');
  out.push(`${escapeMarkdown(changesLine(input.baseRef, input.mergeBase, input.results.length))}.`, '');
  if (input.results.length > 0) {
    out.push('| Prompt version | Verdict | Challenger | Baseline | Regressed / improved | Changed |', '|---|---|---:|---:|---:|---|');
    for (const r of input.results) {
      const rep = r.report;
      out.push(
        `| ${code(display(r.prompt.dir))} | ${VERDICT_MARK[r.verdict]} | ${rep ? pct(rep.challenger.winRate) : '–'} | ${rep ? pct(rep.baseline.winRate) : '–'} | ${
          rep ? `${rep.mcnemar.regressed} / ${rep.mcnemar.improved}` : '–'
        } | ${escapeMarkdown(whyChanged(r, display))} |`,
      );
    }
    out.push('');
  }
  const problems = input.results.filter((r) => r.verdict === 'error' || (r.verdict !== 'pass' && !r.report && r.reasons.length > 0));
  for (const r of problems) out.push(`- ${code(display(r.prompt.dir))}: ${escapeMarkdown(r.reasons.join('; '))}`);
  if (problems.length > 0) out.push('');
  if (input.findings) {
    const errors = input.findings.filter((f) => f.severity === 'error');
    if (errors.length > 0) {
      out.push(`### \`prompt-ci check\`: ${plural(errors.length, 'error')}`, '');
      for (const f of errors.slice(0, 30)) {
        out.push(`- ${code(`${display(f.file)}:${f.range.start.line + 1}:${f.range.start.character + 1}`)} ${escapeMarkdown(f.code)}: ${escapeMarkdown(f.message)}`);
      }
      if (errors.length > 30) out.push(`- … and ${errors.length - 30} more (run \`prompt-ci check\`)`);
      out.push('');
    }
  }
  let body = out.join('\n');
  const rank: Record<PromptVerdict, number> = { blocked: 0, inconclusive: 1, error: 2, pass: 3, removed: 4 };
  const withReports = input.results.filter((r) => r.report).sort((a, b) => rank[a.verdict] - rank[b.verdict]);
  const left: string[] = [];
  for (const r of withReports) {
    const section = `\n---\n\n${renderMarkdown(r.report as EvalReport)}`;
    if (body.length + section.length > MAX_MARKDOWN_CHARS) left.push(display(r.prompt.dir));
    else body += section;
  }
  if (left.length > 0) body += `\n\nThe reports of ${left.map(code).join(', ')} did not fit here: run \`prompt-ci gate --markdown FILE\` locally.\n`;
  return body.endsWith('\n') ? body : `${body}\n`;
}

/**
 * GitHub Actions annotations of the eval verdicts: one per prompt version on its metadata.yaml
 * (error unless it passed) and one per regressed example on its eval.jsonl line. The `check`
 * findings are annotated by the caller, in the same format as `prompt-ci check --format github`.
 */
export function gateAnnotations(results: readonly PromptGateResult[], display: (p: string) => string = (p) => p): string {
  let out = '';
  for (const r of results) {
    const dir = display(r.prompt.dir);
    if (r.verdict === 'removed') continue;
    const level = r.verdict === 'pass' ? 'notice' : 'error';
    const message = [r.report ? measurementLine(r.report) : '', ...r.reasons, ...r.notes].filter(Boolean).join('\n');
    out += workflowCommand(level, { file: `${dir}/metadata.yaml`, line: 1, title: `prompt-ci gate: ${r.prompt.dir} ${VERDICT_WORD[r.verdict].toLowerCase()}` }, message);
    if (!r.report || r.verdict === 'pass') continue;
    const regressed = r.report.examples.filter((e) => e.outcome === 'regressed');
    for (const e of regressed.slice(0, MAX_LISTED_EXAMPLES * 5)) {
      out += workflowCommand(
        'error',
        { file: `${dir}/eval.jsonl`, line: e.line + 1, title: `prompt-ci gate: ${e.id} regressed` },
        `baseline ${sideVerdict(e.baseline)}, challenger ${sideVerdict(e.challenger)}${e.challenger.output !== null ? `\nchallenger said: ${oneLine(e.challenger.output, 300)}` : ''}`,
      );
    }
  }
  return out;
}
