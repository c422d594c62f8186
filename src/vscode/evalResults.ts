import { createHash } from 'node:crypto';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { evalReportSchema } from '../shared/evalReport';
import type { EvalReport } from '../shared/evalReport';
import { promptVersionOfPath } from '../core/promptLayout';
import { evalReportJsonPieces } from '../core/eval/reportJson';
import { writeOutputFile } from '../node/outputFiles';
import type { ApiSource, RunState } from '../shared/webviewProtocol';
import { Disposable } from './disposable';

/** One prompt version an eval runs on: where its repository is and which directory it is. */
export interface EvalTarget {
  /** Absolute path of the repository root (where prompt-ci.yaml and prompts/ are). */
  repoRoot: string;
  /** Repo-relative POSIX path of the version directory, e.g. `prompts/summarisation/v2`. */
  promptDir: string;
  name: string;
  version: number;
}

/** Where a verdict came from: Run Eval vs Baseline, the pre-PR gate, or the Test Explorer. */
export type VerdictSource = 'eval' | 'gate' | 'test';

/** The latest verdict: the report's gate status, or `error` when the last run could not produce one. */
export type VerdictStatus = EvalReport['gate']['status'] | 'error';

/**
 * The latest verdict of a prompt version, as the status bar, CodeLens, Gate view, Test Explorer and
 * results panel all show it, without reading its report.
 */
export interface EvalSummary {
  target: EvalTarget;
  status: VerdictStatus;
  /** Which run gave it. */
  source: VerdictSource;
  /** The prompt's files changed after it was saved: it may no longer hold. */
  stale: boolean;
  /** Files whose unsaved editor text the run used (empty: the files on disk). */
  unsavedFiles: string[];
  /** Why the last run failed, when `status` is `error`; the stored report (if any) is from an earlier run. */
  error?: string;
  reasons: string[];
  cancelled: boolean;
  /** Examples in the run (all of them, or the ones selected). */
  examples: number;
  /** Set when only some examples were run (e.g. the regressed ones). */
  partial: boolean;
  regressed: number;
  improved: number;
  savedAt: string;
  api: ApiSource | null;
}

/** What the status bar and CodeLens read: the eval command's runs and stored results. */
export interface EvalStatusSource {
  /** Fires when a run starts, progresses, ends, or a report is stored. */
  readonly onDidChange: vscode.Event<void>;
  summary(target: EvalTarget): EvalSummary | undefined;
  /** The run of `target` in progress, if any. */
  running(target: EvalTarget): Extract<RunState, { phase: 'running' }> | undefined;
}

/** The prompt version a file (or version directory) belongs to, from its path: `<repo>/prompts/<name>/v<N>/<file>`. */
export function targetOfPath(fsPath: string): EvalTarget | undefined {
  const found = promptVersionOfPath(fsPath);
  if (!found || found.root === '') return undefined;
  return { repoRoot: found.root, promptDir: found.dir, name: found.name, version: found.version };
}

/** "summarisation v2". */
export function targetLabel(target: Pick<EvalTarget, 'name' | 'version'>): string {
  return `${target.name} v${target.version}`;
}

/** A stable key for a prompt version of a repository: names its stored report and its panel. */
export function targetKey(target: Pick<EvalTarget, 'repoRoot' | 'promptDir'>): string {
  return createHash('sha256').update(`${target.repoRoot}\0${target.promptDir}`).digest('hex').slice(0, 32);
}

const SUMMARIES = 'promptCi.evalSummaries';

/** "pass", "blocked", "error", with "(stale)" and where it came from when it matters. */
export function verdictText(summary: Pick<EvalSummary, 'status' | 'stale' | 'cancelled'>): string {
  return `${summary.status}${summary.cancelled ? ' (cancelled)' : ''}${summary.stale ? ' (stale)' : ''}`;
}

/** "from the gate at 20:31", for tooltips. */
export function verdictOrigin(summary: Pick<EvalSummary, 'source' | 'savedAt' | 'unsavedFiles'>): string {
  const from = summary.source === 'gate' ? 'the pre-PR gate' : summary.source === 'test' ? 'the Test Explorer' : 'Run Eval vs Baseline';
  const when = new Date(summary.savedAt);
  const at = Number.isNaN(when.getTime()) ? summary.savedAt : when.toLocaleString();
  const unsaved = summary.unsavedFiles.length > 0 ? `, with unsaved edits of ${summary.unsavedFiles.join(', ')}` : '';
  return `from ${from}, ${at}${unsaved}`;
}

/**
 * The one store of the latest verdict per prompt version, kept in the extension's workspace storage
 * (never in the repository): the JSON report in a file, a small summary in workspace state. Every
 * run writes here (eval, gate, Test Explorer, and failures), and the panel, status bar, CodeLens,
 * Gate view and Test Explorer read from here, so they never disagree and survive a window reload.
 */
export class EvalResults extends Disposable {
  private readonly changed = this._register(new vscode.EventEmitter<string>());
  /** Fires with the key of a prompt version whose stored report changed. */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly dir: string,
    private readonly state: vscode.Memento,
  ) {
    super();
  }

  private summaries(): Record<string, EvalSummary> {
    const value = this.state.get<unknown>(SUMMARIES);
    return value && typeof value === 'object' ? (value as Record<string, EvalSummary>) : {};
  }

  /** The summary of the last stored run of `key`, if any. */
  summary(key: string): EvalSummary | undefined {
    const found = this.summaries()[key];
    if (!found || typeof found.status !== 'string' || !found.target) return undefined;
    // Summaries stored before verdicts had a source and a staleness.
    return { ...found, source: found.source ?? 'eval', stale: found.stale ?? false, unsavedFiles: found.unsavedFiles ?? [] };
  }

  /** Where the JSON report of `key` is (or would be) stored. */
  reportPath(key: string): string {
    return join(this.dir, `${key}.json`);
  }

  /** Stores `report` as the last run of `target` and returns its summary. */
  async save(
    target: EvalTarget,
    report: EvalReport,
    api: ApiSource | null,
    origin: { source: VerdictSource; unsavedFiles?: string[] } = { source: 'eval' },
  ): Promise<EvalSummary> {
    const key = targetKey(target);
    await mkdir(this.dir, { recursive: true });
    const file = this.reportPath(key);
    // Written then renamed, so a reader never sees half a report; one example at a time, as the CLI writes it.
    await writeOutputFile(`${file}.tmp`, evalReportJsonPieces(report));
    await rename(`${file}.tmp`, file);
    const summary: EvalSummary = {
      target,
      status: report.gate.status,
      source: origin.source,
      stale: false,
      unsavedFiles: origin.unsavedFiles ?? [],
      reasons: report.gate.reasons.map((r) => r.message),
      cancelled: report.cancelled,
      examples: report.examples.length,
      partial: report.partial !== undefined,
      regressed: report.mcnemar.regressed,
      improved: report.mcnemar.improved,
      savedAt: new Date().toISOString(),
      api,
    };
    await this.state.update(SUMMARIES, { ...this.summaries(), [key]: summary });
    this.changed.fire(key);
    return summary;
  }

  /**
   * Records that the last run of `target` failed before it gave a verdict: the latest verdict is
   * then `error` (the report of an earlier run, if any, stays readable as such).
   */
  async recordError(target: EvalTarget, message: string, source: VerdictSource, api: ApiSource | null): Promise<EvalSummary> {
    const key = targetKey(target);
    const summary: EvalSummary = {
      target,
      status: 'error',
      source,
      stale: false,
      unsavedFiles: [],
      error: message,
      reasons: [message],
      cancelled: false,
      examples: 0,
      partial: false,
      regressed: 0,
      improved: 0,
      savedAt: new Date().toISOString(),
      api,
    };
    await this.state.update(SUMMARIES, { ...this.summaries(), [key]: summary });
    this.changed.fire(key);
    return summary;
  }

  /** Marks the verdicts of these prompt versions stale (their files changed); a no-op for those already stale or without one. */
  async markStale(targets: readonly EvalTarget[]): Promise<void> {
    const all = this.summaries();
    const changed: string[] = [];
    for (const target of targets) {
      const key = targetKey(target);
      const found = all[key];
      if (!found || found.stale) continue;
      all[key] = { ...found, stale: true };
      changed.push(key);
    }
    if (changed.length === 0) return;
    await this.state.update(SUMMARIES, all);
    for (const key of changed) this.changed.fire(key);
  }

  /** Reads the stored report of `key`; undefined when there is none or it no longer parses. */
  async load(key: string): Promise<EvalReport | undefined> {
    let text: string;
    try {
      text = await readFile(this.reportPath(key), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const parsed = evalReportSchema.safeParse(JSON.parse(text));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }
}
