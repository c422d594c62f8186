import { basename, dirname, join, resolve } from 'node:path';
import * as vscode from 'vscode';
import { formatUsd } from '../core/eval/cost';
import { renderMarkdown } from '../core/eval/markdown';
import type { CallEvent } from '../core/eval/runner';
import type { EvalProgress } from '../core/eval/types';
import { BaselineError } from '../node/baseline';
import { GitUnavailableError } from '../node/git';
import { MissingApiKeyError, ModelCallError } from '../node/modelClient';
import { fieldOfPromptFile, promptFileGlob } from '../core/promptLayout';
import type { PromptVersionFiles } from '../core/promptLayout';
import { PromptFilesError } from '../node/promptFiles';
import { EvalSetupError, prepareEval } from '../node/runEval';
import type { PreparedEval } from '../node/runEval';
import type { EvalReport } from '../shared/evalReport';
import type { ApiSource, RunState } from '../shared/webviewProtocol';
import type { ApiConfig } from './apiKey';
import { clearApiKey, promptForApiKey, resolveApiConfig } from './apiKey';
import { COMMANDS } from './commandTable';
import { Disposable } from './disposable';
import { registerEvalCodeLens } from './evalCodeLens';
import { EvalResults, targetKey, targetLabel, targetOfPath } from './evalResults';
import type { EvalStatusSource, EvalSummary, EvalTarget, VerdictSource } from './evalResults';
import { ResultsPanels } from './resultsPanel';
import { readSettings } from './settings';
import { SynthesisCommand } from './synthesizeCommand';
import { EvalStatusBar } from './statusBar';
import { abortOnCancel } from './cancellation';
import { confirmCost, estimateText } from './costConfirmation';

/** What starts a run: a prompt version, or a file of one (CodeLens, editor title), or nothing (active editor, else a pick). */
export interface RunRequest {
  target?: EvalTarget;
  uri?: vscode.Uri;
  /** Run only these examples (re-run of the regressed ones). */
  onlyExampleIds?: string[];
  /** Who asked: the verdict store records it. Default `eval`. */
  source?: VerdictSource;
  /** Don't bring the results panel forward (runs from the Test Explorer, which shows its own results). */
  quiet?: boolean;
  /** Cancels the run from outside (the Test Explorer's cancellation). */
  signal?: AbortSignal;
}

/** A run in progress. */
interface ActiveRun {
  target: EvalTarget;
  api: ApiSource;
  controller: AbortController;
  state: Extract<RunState, { phase: 'running' }>;
}

const int = (n: number): string => n.toLocaleString('en-US');

function progressText(p: EvalProgress): string {
  return `${int(p.done)}/${int(p.total)} examples · ${int(p.calls)} calls · ${int(p.cacheHits)} cache hits · ${int(p.errors)} errors`;
}

function callText(e: CallEvent): string {
  const what = `${e.exampleId} ${e.side} ${e.purpose}${e.purpose === 'judge' ? ` #${e.repeat + 1}` : ''}`;
  if (e.error !== undefined) return `${what}: error: ${e.error}`;
  if (e.fromCache) return `${what}: cache hit`;
  return `${what}: ${e.latencyMs !== undefined ? `${Math.round(e.latencyMs)} ms` : 'done'}`;
}

function scopeText(prepared: PreparedEval, only: string[] | undefined): string {
  const n = prepared.exampleCount;
  if (!only) return `all ${int(n)} example${n === 1 ? '' : 's'}`;
  return `${int(n)} selected example${n === 1 ? '' : 's'}`;
}

/** Why the eval can't start, for errors that name a problem with the inputs or the API. */
function knownProblem(error: unknown): string | undefined {
  if (error instanceof EvalSetupError || error instanceof BaselineError || error instanceof PromptFilesError || error instanceof GitUnavailableError) return error.message;
  if (error instanceof MissingApiKeyError) return 'No Anthropic API key: set one with "Prompt CI: Set Anthropic API Key" (or ANTHROPIC_API_KEY). No call was made.';
  if (error instanceof ModelCallError) return error.message;
  return undefined;
}

/**
 * Run Eval vs Baseline in VS Code: the command, its confirmation and progress, the output channel's
 * call log, the results panels, the status bar item and the CodeLens. Its lifetime is the
 * extension's; each run's lifetime is its `ActiveRun`.
 */
export class EvalController extends Disposable implements EvalStatusSource {
  private readonly results: EvalResults;
  private readonly panels: ResultsPanels;
  private readonly runs = new Map<string, ActiveRun>();
  private readonly failures = new Map<string, string>();
  private readonly changed = this._register(new vscode.EventEmitter<void>());
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
  ) {
    super();
    const storage = context.storageUri ?? context.globalStorageUri;
    this.results = this._register(new EvalResults(join(storage.fsPath, 'eval-reports'), context.workspaceState));
    const synthesis = this._register(new SynthesisCommand(context, this.results, log));
    this._register(this.results.onDidChange(() => this.changed.fire()));
    this.panels = this._register(
      new ResultsPanels(
        context.extensionUri,
        this.results,
        {
          rerun: (target, only) => void this.run({ target, onlyExampleIds: only }),
          cancel: (key) => this.runs.get(key)?.controller.abort(),
          runState: (key) => this.runState(key),
          apiSource: (key) => this.runs.get(key)?.api ?? this.results.summary(key)?.api ?? null,
          copyMarkdown: async (report) => vscode.env.clipboard.writeText(renderMarkdown(report)),
          openJson: async (key) => {
            await vscode.window.showTextDocument(vscode.Uri.file(this.results.reportPath(key)), { preview: false, viewColumn: vscode.ViewColumn.One });
          },
          openExample: (target, report, id) => this.openExample(target, report, id),
          synthesize: (target, report, ids) => synthesis.synthesize(target, report, ids),
        },
        log,
      ),
    );
    this._register(new EvalStatusBar(this));
    this._register(registerEvalCodeLens(this));
    for (const command of [
      vscode.commands.registerCommand(COMMANDS.runEval.id, (arg?: unknown) => this.run(requestOf(arg))),
      vscode.commands.registerCommand(COMMANDS.showEvalResults.id, (arg?: unknown) => this.showResults(requestOf(arg))),
      vscode.commands.registerCommand(COMMANDS.setApiKey.id, () => promptForApiKey(context.secrets)),
      vscode.commands.registerCommand(COMMANDS.clearApiKey.id, () => clearApiKey(context.secrets)),
    ]) {
      this._register(command);
    }
    this._register({ dispose: () => this.runs.forEach((r) => r.controller.abort()) });
    // A verdict holds for the files it was computed from: an edit or a change on disk makes it stale.
    const staleFrom = (uri: vscode.Uri): void => {
      const target = uri.scheme === 'file' ? targetOfPath(uri.fsPath) : undefined;
      if (target && !this.runs.has(targetKey(target))) void this.results.markStale([target]);
    };
    this._register(vscode.workspace.onDidChangeTextDocument((e) => e.contentChanges.length > 0 && staleFrom(e.document.uri)));
    const watcher = this._register(vscode.workspace.createFileSystemWatcher('**/prompts/*/v*/*'));
    this._register(watcher.onDidChange(staleFrom));
    this._register(watcher.onDidCreate(staleFrom));
    this._register(watcher.onDidDelete(staleFrom));
  }

  /** The store of the latest verdict per prompt version, which every view reads. */
  get verdicts(): EvalResults {
    return this.results;
  }

  /** Opens the results panel of `target` (the Gate view and the Test Explorer open it). */
  openPanel(target: EvalTarget): void {
    void this.showResults({ target });
  }

  summary(target: EvalTarget): EvalSummary | undefined {
    return this.results.summary(targetKey(target));
  }

  running(target: EvalTarget): ActiveRun['state'] | undefined {
    return this.runs.get(targetKey(target))?.state;
  }

  private runState(key: string): RunState {
    const active = this.runs.get(key);
    if (active) return active.state;
    const failure = this.failures.get(key);
    return failure !== undefined ? { phase: 'failed', message: failure } : { phase: 'idle' };
  }

  private setRunState(key: string): void {
    this.panels.runStateChanged(key, this.runState(key));
    this.changed.fire();
  }

  /** "Show Eval Results": the panel of the given or active prompt version, else a pick among those with results. */
  private async showResults(request: RunRequest): Promise<void> {
    const target = request.target ?? (await this.resolveTarget(request.uri, true));
    if (!target) return;
    if (!this.summary(target) && !this.running(target) && !(await this.results.load(targetKey(target)))) {
      const run = 'Run Eval';
      if ((await vscode.window.showInformationMessage(`No eval results for ${targetLabel(target)} yet.`, run)) === run) void this.run({ target });
      return;
    }
    this.panels.show(target);
  }

  /**
   * Runs the eval of a prompt version against its baseline: resolves the version, reads both sides
   * (unsaved edits are the challenger), shows the baseline and estimate, asks above the cost
   * threshold, runs with a cancellable progress notification, stores the report and shows it.
   * Resolves with the report, or undefined when nothing ran to the end of a run.
   */
  async run(request: RunRequest): Promise<EvalReport | undefined> {
    if (!vscode.workspace.isTrusted) {
      await explainUntrusted();
      return undefined;
    }
    const target = request.target ?? (await this.resolveTarget(request.uri, false));
    if (!target) return undefined;
    const key = targetKey(target);
    const label = targetLabel(target);
    if (this.runs.has(key)) {
      void vscode.window.showInformationMessage(`An eval of ${label} is already running; cancel it from its notification or the results panel first.`);
      this.panels.show(target);
      return undefined;
    }
    const versionDir = join(target.repoRoot, target.promptDir);
    const settings = readSettings(vscode.Uri.file(versionDir));
    const api = await resolveApiConfig(this.context.secrets, settings);
    const overrides = await this.challengerOverrides(versionDir);
    const controller = new AbortController();
    request.signal?.addEventListener('abort', () => controller.abort(), { once: true });
    const active: ActiveRun = { target, api: api.source, controller, state: { phase: 'running', stage: 'preparing', scope: '', progress: null } };
    this.runs.set(key, active);
    this.failures.delete(key);
    this.setRunState(key);
    if (!request.quiet) void this.panels.show(target, { preserveFocus: true }).refresh();

    let lastProgress = 0;
    let reportProgress: ((p: EvalProgress) => void) | undefined;
    try {
      const prepared = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Eval ${label}: reading the baseline and estimating the cost…`, cancellable: true },
        (_progress, token) => {
          const listener = abortOnCancel(token, controller);
          return prepareEval({
            repoRoot: target.repoRoot,
            promptDir: target.promptDir,
            challengerOverrides: overrides.files,
            onlyExampleIds: request.onlyExampleIds,
            judgeRepeats: settings.judgeRepeats,
            apiKey: api.apiKey,
            baseURL: api.baseURL,
            // Only what was resolved above: the key and base URL come from one place.
            env: {},
            concurrency: settings.evalConcurrency,
            signal: controller.signal,
            onProgress: (p) => {
              active.state = { ...active.state, progress: { done: p.done, total: p.total, calls: p.calls, cacheHits: p.cacheHits, errors: p.errors } };
              reportProgress?.(p);
              // The panel and status bar at most ten times a second.
              const now = Date.now();
              if (now - lastProgress >= 100 || p.done === p.total) {
                lastProgress = now;
                this.setRunState(key);
              }
            },
            onCall: (event) => this.logCall(event),
          }).finally(() => listener.dispose());
        },
      );
      if (controller.signal.aborted) {
        this.log.info(`eval ${label}: cancelled before it started`);
        return undefined;
      }
      const { estimate } = prepared;
      this.log.info(
        `eval ${label}: challenger ${target.promptDir} (working tree${overrides.unsaved.length > 0 ? `, unsaved ${overrides.unsaved.join(', ')}` : ''}); ` +
          `baseline ${prepared.baseline.description}; ${prepared.exampleCount} examples; judge ${prepared.judge.model} × ${prepared.judge.repeats}` +
          `${settings.judgeRepeats !== undefined ? ' (promptCi.eval.judgeRepeats)' : ''}; concurrency ${prepared.concurrency}; ${estimateText(estimate)}; ` +
          `calls to ${api.source.host}${api.source.kind === 'demo' ? ' (demo server, not a model)' : ''}; key from ${api.keyFrom}`,
      );
      const spend = estimate.calls - estimate.cachedCalls;
      active.state = {
        phase: 'running',
        stage: 'confirming',
        scope: scopeText(prepared, request.onlyExampleIds),
        detail: `Baseline ${prepared.baseline.description} · ${estimateText(estimate)}`,
        progress: null,
      };
      this.setRunState(key);
      if (spend > 0 && !api.apiKey) {
        const set = 'Set API Key';
        const answer = await vscode.window.showWarningMessage(
          `The eval of ${label} needs ${int(spend)} API calls and there is no Anthropic API key (SecretStorage or ANTHROPIC_API_KEY). Nothing was sent.`,
          set,
        );
        if (answer === set && (await promptForApiKey(this.context.secrets))) {
          this.runs.delete(key);
          return await this.run({ ...request, target });
        }
        return undefined;
      }
      const confirmed = await confirmCost({
        question: `Run the eval of ${label}?`,
        scope: `Baseline: ${prepared.baseline.description}. ${int(prepared.exampleCount)} examples, judge ${prepared.judge.model} × ${prepared.judge.repeats}`,
        action: 'Run Eval',
        estimate,
        thresholdUsd: settings.confirmAboveUsd,
        api: api.source,
        signal: controller.signal,
      });
      if (!confirmed) {
        this.log.info(`eval ${label}: not started (cost not confirmed)`);
        return undefined;
      }
      active.state = { phase: 'running', stage: 'running', scope: scopeText(prepared, request.onlyExampleIds), progress: null };
      this.setRunState(key);
      const report = await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: `Eval ${label} vs ${shortBaseline(prepared)} · ${estimateText(estimate)}`,
          cancellable: true,
        },
        (progress, token) => {
          const listener = abortOnCancel(token, controller);
          let reported = 0;
          reportProgress = (p) => {
            const percent = p.total === 0 ? 100 : (p.done / p.total) * 100;
            progress.report({ message: progressText(p), increment: percent - reported });
            reported = percent;
          };
          return prepared.run().finally(() => listener.dispose());
        },
      );
      await this.results.save(target, report, api.source, { source: request.source ?? 'eval', unsavedFiles: overrides.unsaved });
      this.logSummary(label, report);
      if (report.cancelled) {
        const finished = report.examples.filter((e) => e.outcome !== 'cancelled').length;
        void vscode.window.showInformationMessage(
          `Eval of ${label} cancelled: ${finished} of ${report.examples.length} examples finished. The panel shows them; a re-run resumes from the cache.`,
        );
      }
      return report;
    } catch (error) {
      this.fail(key, target, error, api, request.source ?? 'eval');
      return undefined;
    } finally {
      if (this.runs.get(key) === active) this.runs.delete(key);
      this.setRunState(key);
    }
  }

  private fail(key: string, target: EvalTarget, error: unknown, api: ApiConfig, source: VerdictSource): void {
    const known = knownProblem(error);
    const message = known ?? (error instanceof Error ? error.message : String(error));
    this.failures.set(key, message);
    void this.results.recordError(target, message, source, api.source);
    this.log.error(`eval ${targetLabel(target)} failed: ${known ?? (error instanceof Error ? (error.stack ?? error.message) : String(error))}`);
    const needsKey = error instanceof MissingApiKeyError || (error instanceof ModelCallError && error.kind === 'auth');
    const actions = needsKey ? ['Set API Key', 'Show Output'] : ['Show Output'];
    const where = api.source.kind === 'anthropic' ? '' : ` (calls go to ${api.source.host})`;
    void vscode.window.showErrorMessage(`Eval of ${targetLabel(target)} failed: ${message}${where}`, ...actions).then((choice) => {
      if (choice === 'Set API Key') void promptForApiKey(this.context.secrets);
      else if (choice === 'Show Output') this.log.show();
    });
  }

  /** One line per API call at debug level (Output: "Set Log Level… Debug" shows them); the run's summary is logged at info. */
  private logCall(event: CallEvent): void {
    this.log.debug(callText(event));
  }

  private logSummary(label: string, report: EvalReport): void {
    const t = report.mcnemar;
    this.log.info(
      `eval ${label}: ${report.gate.status}${report.cancelled ? ' (cancelled)' : ''}; improved ${t.improved}, regressed ${t.regressed}, both correct ${t.bothCorrect}, both wrong ${t.bothWrong}, p ${t.pValue}; ` +
        `${report.cost.apiCalls} API calls, ${report.cost.cacheHits} cache hits, ${report.examples.filter((e) => e.outcome === 'error').length} examples with errors, ${formatUsd(report.cost.usd)}`,
    );
    for (const reason of report.gate.reasons) this.log.info(`  ${reason.effect}: ${reason.message}`);
  }

  /** The challenger's unsaved editor texts (they win over the files), and the judge repeats setting. */
  private async challengerOverrides(versionDir: string): Promise<{ files: Partial<PromptVersionFiles>; unsaved: string[] }> {
    const files: Partial<PromptVersionFiles> = {};
    const unsaved: string[] = [];
    const dir = resolve(versionDir);
    for (const doc of vscode.workspace.textDocuments) {
      if (doc.uri.scheme !== 'file' || doc.isClosed || !doc.isDirty || resolve(dirname(doc.uri.fsPath)) !== dir) continue;
      const field = fieldOfPromptFile(basename(doc.uri.fsPath));
      if (!field) continue;
      files[field] = doc.getText();
      unsaved.push(basename(doc.uri.fsPath));
    }
    return { files, unsaved };
  }

  /** The prompt version of `uri`, else of the active editor, else one the user picks. */
  private async resolveTarget(uri: vscode.Uri | undefined, withResultsOnly: boolean): Promise<EvalTarget | undefined> {
    const from = uri ?? vscode.window.activeTextEditor?.document.uri;
    if (from?.scheme === 'file') {
      const target = targetOfPath(from.fsPath);
      if (target) return target;
    }
    const found = await vscode.workspace.findFiles(promptFileGlob('metadata.yaml'), '**/node_modules/**', 5000);
    const targets = found
      .filter((u) => u.scheme === 'file')
      .map((u) => targetOfPath(u.fsPath))
      .filter((t): t is EvalTarget => t !== undefined)
      .filter((t) => !withResultsOnly || this.summary(t) !== undefined)
      .sort((a, b) => a.name.localeCompare(b.name) || b.version - a.version || a.repoRoot.localeCompare(b.repoRoot));
    if (targets.length === 0) {
      void vscode.window.showInformationMessage(
        withResultsOnly ? 'No eval results yet: run "Prompt CI: Run Eval vs Baseline" on a prompt version.' : 'No prompt versions (prompts/<name>/v<N>/metadata.yaml) in this workspace.',
      );
      return undefined;
    }
    const multiRoot = new Set(targets.map((t) => t.repoRoot)).size > 1;
    const picked = await vscode.window.showQuickPick(
      targets.map((target) => {
        const last = this.summary(target);
        return {
          label: targetLabel(target),
          description: multiRoot ? `${target.promptDir} · ${vscode.workspace.asRelativePath(target.repoRoot)}` : target.promptDir,
          detail: last ? `last eval: ${last.status}${last.cancelled ? ' (cancelled)' : ''}, ${last.regressed} regressed, ${last.improved} improved` : undefined,
          target,
        };
      }),
      { title: withResultsOnly ? 'Show the eval results of' : 'Run Eval vs Baseline on', placeHolder: 'Prompt version', matchOnDescription: true },
    );
    return picked?.target;
  }

  private async openExample(target: EvalTarget, report: EvalReport, exampleId: string): Promise<void> {
    const example = report.examples.find((e) => e.id === exampleId);
    if (!example) return;
    const uri = vscode.Uri.file(join(target.repoRoot, target.promptDir, 'eval.jsonl'));
    const document = await vscode.workspace.openTextDocument(uri);
    const line = Math.min(example.line, Math.max(0, document.lineCount - 1));
    const range = document.lineAt(line).range;
    await vscode.window.showTextDocument(document, { selection: range, viewColumn: vscode.ViewColumn.One, preview: false });
  }
}

function requestOf(arg: unknown): RunRequest {
  if (arg instanceof vscode.Uri) return { uri: arg };
  return {};
}

function shortBaseline(prepared: PreparedEval): string {
  const b = prepared.baseline;
  const version = /\/v([0-9]+)$/.exec(b.dir)?.[1];
  const name = version !== undefined && b.dir.startsWith(`prompts/${prepared.prompt.name}/`) ? `v${version}` : b.dir;
  return b.ref ? `${name} at ${b.ref}${b.commit ? ` (${b.commit.slice(0, 7)})` : ''}` : name;
}

async function explainUntrusted(): Promise<void> {
  const manage = 'Manage Workspace Trust';
  const answer = await vscode.window.showWarningMessage(
    'Prompt CI does not run evals in an untrusted workspace: an eval renders this folder\'s prompts and sends them with your API key to the model API, and its settings choose where calls go. Trust the folder (Manage Workspace Trust) to run evals; diagnostics work without it.',
    manage,
  );
  if (answer === manage) await vscode.commands.executeCommand('workbench.trust.manage');
}

/** Registers the eval feature; everything it creates is disposed with the returned object. */
export function registerEval(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): EvalController {
  return new EvalController(context, log);
}
