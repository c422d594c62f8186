import { appendFile } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { workflowCommand } from '../core/escaping/workflowCommands';
import { formatUsd } from '../core/eval/cost';
import type { EvalProgress } from '../core/eval/types';
import { throttleNote } from '../core/eval/types';
import { countBySeverity } from '../core/finding';
import { changesLine, formatPromptResultText, gateAnnotations, overallLine, renderGateMarkdown, whyChanged } from '../core/gate/gateReport';
import type { GateReportInput } from '../core/gate/gateReport';
import { parsePushedRef } from '../core/gate/changedPrompts';
import { plainReason } from '../node/outputFiles';
import { runGate } from '../node/runGate';
import type { GateEvent, GateRun } from '../node/runGate';
import { preferSmallHeap } from './heap';
import type { CliIo } from './cliIo';
import { EXIT_USAGE, UsageError, reportCommandError } from './cliIo';
import { findingsToGithub } from './findingsFormat';
import { CACHE_MODE, CONCURRENCY, GATE_FORMAT, JSON_REPORT, MARKDOWN_REPORT, MAX_MINUTES } from './options';
import { ProgressLine } from './progress';
import { requirePromptRepository } from './promptRepository';
import { runDeadline } from './runDeadline';
import { reportPathProblem, writeReports } from './reportFiles';
import type { RequestedReport } from './reportFiles';

import { GATE_USAGE } from './usages';
export { GATE_USAGE } from './usages';

/** The `--json` document of a gate run. */
export const GATE_REPORT_SCHEMA_ID = 'prompt-ci/gate-report@1';

const int = (n: number): string => n.toLocaleString('en-US');

function progressLine(dir: string, p: EvalProgress): string {
  return `${dir}: ${int(p.done)}/${int(p.total)} examples · ${int(p.calls)} calls · ${int(p.cacheHits)} cached · ${int(p.errors)} errors${throttleNote(p.throttle)}`;
}

/** The `--json` document: the verdicts, with each eval's full report. */
export function gateJson(run: GateRun): string {
  return `${JSON.stringify(
    {
      schema: GATE_REPORT_SCHEMA_ID,
      status: run.summary.status,
      baseRef: run.changes.baseRef,
      mergeBase: run.changes.mergeBase,
      changedPaths: run.changes.changedPaths,
      checkErrors: run.summary.checkErrors,
      controlPlane: run.controlPlane,
      prompts: run.results.map((r) => ({
        dir: r.prompt.dir,
        name: r.prompt.name,
        version: r.prompt.version,
        verdict: r.verdict,
        files: r.prompt.files,
        callSiteFiles: r.prompt.callSiteFiles,
        reasons: r.reasons,
        notes: r.notes,
        baseline: r.baseline,
        isNew: r.isNew,
        report: r.report ?? null,
      })),
    },
    null,
    2,
  )}\n`;
}

/**
 * `prompt-ci gate`: `check` over the repository and the eval of every prompt version changed since
 * the merge-base with the base ref, committed or not. Exit 0 when all pass (or nothing changed),
 * 1 when a prompt is blocked or inconclusive or check finds errors, 2 on usage or environment errors.
 */
export async function runGateCommand(argv: string[], io: CliIo): Promise<number> {
  preferSmallHeap();
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      base: { type: 'string' },
      ...GATE_FORMAT.spec,
      ...CACHE_MODE.spec,
      ...CONCURRENCY.spec,
      ...MAX_MINUTES.spec,
      ...MARKDOWN_REPORT.spec,
      ...JSON_REPORT.spec,
      // From the pre-push hook: the refs the push updates and the remote's commits of them.
      pushing: { type: 'string', multiple: true },
    },
    allowPositionals: true,
    strict: true,
  });
  const format = GATE_FORMAT.read(values);
  const cacheMode = CACHE_MODE.read(values);
  const concurrency = CONCURRENCY.read(values);
  const maxMinutes = MAX_MINUTES.read(values);
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}": the gate covers the whole repository`);
  if (values.base !== undefined && values.base.trim() === '') throw new UsageError('--base needs a ref');
  const pushed = (values.pushing ?? []).map((value) => {
    const ref = parsePushedRef(value);
    if (!ref) throw new UsageError(`--pushing takes REMOTE_REF=SHA (refs/heads/main=<40 hex digits>), not "${value}"`);
    return ref;
  });

  const repoRoot = requirePromptRepository(io.cwd);
  const display = (repoPath: string): string => relative(io.cwd, resolve(repoRoot, repoPath)).split(sep).join('/') || '.';
  const github = format === 'github';
  // The report paths are checked before any eval runs; the reports are made once the verdicts are in.
  const verdicts: { input?: GateReportInput; run?: GateRun } = {};
  const reports: RequestedReport[] = [
    { option: '--markdown', file: MARKDOWN_REPORT.read(values), render: () => renderGateMarkdown(verdicts.input!) },
    { option: '--json', file: JSON_REPORT.read(values), render: () => gateJson(verdicts.run!) },
  ];
  const pathProblem = await reportPathProblem(reports, io.cwd);
  if (pathProblem) {
    io.stderr(`prompt-ci gate: ${pathProblem}\n`);
    return EXIT_USAGE;
  }

  const progress = new ProgressLine(io, 'erase');
  const endProgress = (): void => progress.end();
  const onEvent = (event: GateEvent): void => {
    switch (event.kind) {
      case 'changes': {
        const { changes } = event;
        io.stdout(`gate: ${changesLine(changes.baseLabel, changes.mergeBase, changes.prompts.length)}\n`);
        for (const p of changes.prompts) io.stdout(`  ${display(p.dir)}${p.removed ? ' (removed)' : ''}: ${whyChanged({ prompt: p }, display)}\n`);
        if (changes.onBaseBranch) {
          io.stdout(
            `  note: HEAD is on ${changes.baseLabel} itself, so its commits are the baseline and only uncommitted changes are gated; work on a branch, or pass --base REF\n`,
          );
        }
        return;
      }
      case 'control-plane':
        io.stdout(`${event.check.status}\n`);
        return;
      case 'check': {
        const shown = event.findings.filter((f) => f.severity !== 'information');
        if (github) io.stdout(findingsToGithub(shown.map((f) => ({ ...f, file: display(f.file) }))));
        else {
          for (const f of shown) {
            io.stdout(`${display(f.file)}:${f.range.start.line + 1}:${f.range.start.character + 1}: ${f.severity} ${f.code}: ${f.message}\n`);
          }
        }
        const counts = countBySeverity(event.findings);
        io.stdout(`check: ${counts.error} error${counts.error === 1 ? '' : 's'}, ${counts.warning} warning${counts.warning === 1 ? '' : 's'}\n`);
        return;
      }
      case 'eval-start': {
        const { prepared, prompt } = event;
        const e = prepared.estimate;
        const toMake = e.calls - e.cachedCalls;
        const cost = toMake === 0 ? 'all cached' : `${int(toMake)} to make${e.usdTypical !== null ? `, ~${formatUsd(e.usdTypical)}` : ''}`;
        io.stdout(`${display(prompt.dir)}: evaluating ${int(prepared.exampleCount)} examples · ${int(e.calls)} calls (${cost})\n`);
        return;
      }
      case 'eval-progress': {
        if (!io.isTty) return;
        progress.draw(progressLine(display(event.prompt.dir), event.progress), event.progress.done >= event.progress.total);
        return;
      }
      case 'result':
        endProgress();
        io.stdout(formatPromptResultText(event.result, display));
        return;
    }
  };

  let run: GateRun;
  // --max-minutes cancels what is left as Ctrl-C does: prompts not finished are inconclusive.
  const deadline = runDeadline(io.signal, maxMinutes);
  try {
    run = await runGate({
      repoRoot,
      base: values.base,
      pushed,
      ...cacheMode,
      concurrency,
      env: io.env,
      signal: deadline.signal,
      onEvent,
      unoptimisedGrammarsWhenSmall: true,
    });
  } catch (error) {
    endProgress();
    deadline.dispose();
    const message = (error as Error).message;
    if (github) io.stdout(workflowCommand('error', { title: 'prompt-ci gate' }, message));
    return reportCommandError(io, 'gate', GATE_USAGE, error);
  }

  deadline.dispose();
  if (deadline.expired()) io.stderr(deadline.notice('gate'));
  const input: GateReportInput = {
    baseRef: run.changes.baseLabel,
    mergeBase: run.changes.mergeBase,
    findings: run.findings,
    results: run.results,
    summary: run.summary,
    display,
  };
  if (run.results.length > 0) io.stdout(`${overallLine(run.summary)}\n`);
  if (run.historyWritten.length > 0) {
    io.stdout(`recorded in .prompt-ci/history.jsonl (commit it with the prompts): ${run.historyWritten.map((r) => display(r.dir)).join(', ')}\n`);
  }
  if (github) {
    io.stdout(gateAnnotations(run.results, display));
    const summaryFile = io.env.GITHUB_STEP_SUMMARY;
    if (summaryFile) {
      try {
        await appendFile(summaryFile, `${renderGateMarkdown(input)}\n`, 'utf8');
      } catch (error) {
        io.stderr(`prompt-ci gate: cannot append the step summary to ${summaryFile} (GITHUB_STEP_SUMMARY): ${plainReason(error)}\n`);
      }
    }
  }
  verdicts.input = input;
  verdicts.run = run;
  const { failed } = await writeReports(reports, io, 'gate', display);
  // A report asked for and not written is an environment error, whatever the verdicts above say.
  return failed ? EXIT_USAGE : run.summary.exitCode;
}
