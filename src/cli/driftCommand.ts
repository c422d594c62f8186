import { existsSync, statSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { compareDrift, formatPoints } from '../core/gate/drift';
import type { DriftComparison } from '../core/gate/drift';
import { historyRecordOf, lastPassingRun } from '../core/gate/history';
import type { HistoryRecord } from '../core/gate/history';
import { escapeMarkdown } from '../core/escaping/markdown';
import { workflowCommand } from '../core/escaping/workflowCommands';
import { discoverPrompts, versionDirOf } from '../core/promptLayout';
import type { PromptVersion } from '../core/promptLayout';
import { readRepoSettings } from '../node/checkRepo';
import { appendHistory, readHistory } from '../node/history';
import { plainReason } from '../node/outputFiles';
import { PromptFilesError } from '../node/promptFiles';
import { listRepoFiles, toRepoPath } from '../node/repoFiles';
import { EvalSetupError, prepareEval } from '../node/runEval';
import type { EvalReport } from '../shared/evalReport';
import { preferSmallHeap } from './heap';
import type { CliIo } from './cliIo';
import { EXIT_FAIL, EXIT_OK, EXIT_USAGE, UsageError, reportCommandError } from './cliIo';
import { CONCURRENCY, GATE_FORMAT, JSON_REPORT } from './options';
import { requirePromptRepository } from './promptRepository';
import { reportPathProblem, writeReports } from './reportFiles';
import type { RequestedReport } from './reportFiles';

import { DRIFT_USAGE } from './usages';
export { DRIFT_USAGE } from './usages';

const pct = (x: number | null): string => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);

/** One prompt version's drift check. */
interface DriftResult {
  dir: string;
  comparison?: DriftComparison;
  report?: EvalReport;
  /** Why it could not be re-run. */
  error?: string;
  recorded?: HistoryRecord;
}

/** The versions to re-run: the highest version of every prompt, or those the arguments name. */
function selectVersions(root: string, cwd: string, args: readonly string[], versions: readonly PromptVersion[]): PromptVersion[] {
  const highest = new Map<string, PromptVersion>();
  for (const v of versions) if ((highest.get(v.name)?.version ?? 0) < v.version) highest.set(v.name, v);
  if (args.length === 0) return [...highest.values()];
  const picked = new Map<string, PromptVersion>();
  for (const arg of args) {
    const abs = resolve(cwd, arg);
    if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new UsageError(`${arg}: no such directory`);
    const rel = toRepoPath(root, abs);
    const dir = rel === undefined ? undefined : versionDirOf(rel);
    const parts = rel?.split('/') ?? [];
    const version = dir
      ? versions.find((v) => v.dir === dir)
      : parts.length === 2 && parts[0] === 'prompts'
        ? highest.get(parts[1])
        : undefined;
    if (!version) throw new UsageError(`${arg} is not a prompt (prompts/<name>) or prompt version (prompts/<name>/v<N>) directory of ${root}`);
    picked.set(version.dir, version);
  }
  return [...picked.values()];
}

function resultLine(r: DriftResult, display: (p: string) => string): string {
  const dir = display(r.dir);
  if (r.error) return `${dir}: ERROR · ${r.error}`;
  const c = r.comparison as DriftComparison;
  const side = (r.report as EvalReport).challenger;
  const now = `${pct(c.winRate)} (${side.correct}/${side.scored}) now`;
  const ref = c.reference;
  const then = ref ? `${pct(ref.winRate)} (${ref.correct}/${ref.scored}) on ${ref.date.slice(0, 10)}${ref.commit ? ` at ${ref.commit.slice(0, 12)}` : ''}` : '';
  switch (c.status) {
    case 'drifted':
      return `${dir}: DRIFT · ${now} vs ${then} · ${formatPoints(c.deltaPoints as number)} points (more than ${c.thresholdPoints})`;
    case 'stable':
      return `${dir}: stable · ${now} vs ${then} · ${formatPoints(c.deltaPoints as number)} points`;
    case 'no-reference':
      return `${dir}: no passing run recorded in .prompt-ci/history.jsonl · ${now}${r.recorded ? ' (recorded as the reference)' : ' (run with --record to keep it as the reference)'}`;
    case 'unscored':
      return `${dir}: INCONCLUSIVE · no example could be scored (${(r.report as EvalReport).gate.reasons.map((x) => x.message).join('; ')})`;
  }
}

function driftMarkdown(results: readonly DriftResult[], threshold: number, display: (p: string) => string): string {
  const rows = results.map((r) => {
    const c = r.comparison;
    const status = r.error ? '⚠️ error' : c?.status === 'drifted' ? '❌ drift' : c?.status === 'stable' ? '✅ stable' : c?.status === 'unscored' ? '⚠️ inconclusive' : '➖ no reference';
    const ref = c?.reference;
    return `| <code>${escapeMarkdown(display(r.dir))}</code> | ${status} | ${pct(c?.winRate ?? null)} | ${ref ? `${pct(ref.winRate)} (${ref.date.slice(0, 10)})` : '–'} | ${
      c?.deltaPoints !== null && c?.deltaPoints !== undefined ? formatPoints(c.deltaPoints) : '–'
    } | ${escapeMarkdown([r.error ?? '', ...(c?.notes ?? [])].filter(Boolean).join('; '))} |`;
  });
  return [
    `# Prompt CI drift (threshold ${threshold} points)`,
    '',
    '| Prompt version | Drift | Pass rate now | Last passing run | Points | Notes |',
    '|---|---|---:|---:|---:|---|',
    ...rows,
    '',
  ].join('\n');
}

/**
 * `prompt-ci drift`: re-runs the eval of each prompt's highest version without the cache, against
 * its declared model, and compares the challenger win rate with the last passing run recorded in
 * `.prompt-ci/history.jsonl`; a move of more than `prompt-ci.yaml` `drift.thresholdPoints` (3) is
 * drift. Both sides of the re-run are the version itself: only its own win rate is compared.
 * Exit 0 no drift, 1 drift (or a re-run that could not be scored), 2 usage or environment errors.
 */
export async function runDriftCommand(argv: string[], io: CliIo): Promise<number> {
  preferSmallHeap();
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...CONCURRENCY.spec,
      record: { type: 'boolean', default: false },
      ...GATE_FORMAT.spec,
      ...JSON_REPORT.spec,
    },
    allowPositionals: true,
    strict: true,
  });
  const format = GATE_FORMAT.read(values);
  const concurrency = CONCURRENCY.read(values);
  const root = requirePromptRepository(io.cwd);
  const { settings, problems } = readRepoSettings(root);
  if (problems.length > 0) {
    io.stderr(`prompt-ci drift: prompt-ci.yaml is invalid: ${problems.join('; ')}\n`);
    return EXIT_USAGE;
  }
  const display = (p: string): string => relative(io.cwd, resolve(root, p)).split(sep).join('/') || '.';
  // The report path is checked before any eval runs; the report is made once the results are in.
  const done: { doc?: unknown } = {};
  const reports: RequestedReport[] = [{ option: '--json', file: JSON_REPORT.read(values), render: () => `${JSON.stringify(done.doc, null, 2)}\n` }];
  const pathProblem = await reportPathProblem(reports, io.cwd);
  if (pathProblem) {
    io.stderr(`prompt-ci drift: ${pathProblem}\n`);
    return EXIT_USAGE;
  }
  const selected = selectVersions(root, io.cwd, positionals, discoverPrompts(listRepoFiles(root, 'prompts')).versions);
  const threshold = settings.drift.thresholdPoints;
  if (selected.length === 0) {
    io.stdout('drift: no prompt versions in this repository\n');
    return EXIT_OK;
  }
  const { records } = await readHistory(root);
  io.stdout(`drift: re-running ${selected.length} prompt version${selected.length === 1 ? '' : 's'} without the cache (threshold ${threshold} points)\n`);

  const results: DriftResult[] = [];
  try {
    for (const version of selected) {
      let report: EvalReport;
      try {
        const prepared = await prepareEval({
          repoRoot: root,
          promptDir: version.dir,
          baseline: resolve(root, version.dir),
          noCache: true,
          settings,
          concurrency,
          env: io.env,
          signal: io.signal,
        });
        report = await prepared.run();
      } catch (error) {
        if (error instanceof EvalSetupError || error instanceof PromptFilesError) {
          results.push({ dir: version.dir, error: error.message });
          io.stdout(`${resultLine(results[results.length - 1], display)}\n`);
          continue;
        }
        throw error;
      }
      const reference = lastPassingRun(records, version.name, version.version);
      const comparison = compareDrift(
        { winRate: report.challenger.winRate, scored: report.challenger.scored, model: report.challenger.model, judgeModel: report.judge.model },
        reference,
        threshold,
      );
      const result: DriftResult = { dir: version.dir, comparison, report };
      if (values.record) {
        const record = historyRecordOf(report, version.dir, 'drift');
        if (record) {
          await appendHistory(root, record);
          result.recorded = record;
        }
      }
      results.push(result);
      io.stdout(`${resultLine(result, display)}\n`);
      for (const note of comparison.notes) io.stdout(`  note: ${note}\n`);
    }
  } catch (error) {
    return reportCommandError(io, 'drift', DRIFT_USAGE, error);
  }

  const drifted = results.filter((r) => r.comparison?.status === 'drifted');
  const failed = results.filter((r) => r.error || r.comparison?.status === 'unscored');
  io.stdout(
    `drift: ${drifted.length === 0 ? 'none' : `${drifted.length} of ${results.length} moved more than ${threshold} points`}${failed.length > 0 ? `; ${failed.length} could not be measured` : ''}\n`,
  );
  if (values.record && results.some((r) => r.recorded)) io.stdout('recorded in .prompt-ci/history.jsonl (commit it)\n');

  if (format === 'github') {
    for (const r of results) {
      const c = r.comparison;
      if (!r.error && c?.status !== 'drifted' && c?.status !== 'unscored') continue;
      io.stdout(workflowCommand('error', { file: `${display(r.dir)}/metadata.yaml`, line: 1, title: 'prompt-ci drift' }, r.error ?? resultLine(r, display)));
    }
    const summaryFile = io.env.GITHUB_STEP_SUMMARY;
    if (summaryFile) {
      try {
        await appendFile(summaryFile, `${driftMarkdown(results, threshold, display)}\n`, 'utf8');
      } catch (error) {
        io.stderr(`prompt-ci drift: cannot append the step summary to ${summaryFile} (GITHUB_STEP_SUMMARY): ${plainReason(error)}\n`);
      }
    }
  }
  done.doc = {
    schema: 'prompt-ci/drift-report@1',
    thresholdPoints: threshold,
    prompts: results.map((r) => ({ dir: r.dir, error: r.error ?? null, ...(r.comparison ?? {}), report: r.report ?? null })),
  };
  const written = await writeReports(reports, io, 'drift', (p) => p);
  if (written.failed) return EXIT_USAGE;
  return drifted.length > 0 || failed.length > 0 ? EXIT_FAIL : EXIT_OK;
}
