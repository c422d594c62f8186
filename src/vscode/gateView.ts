import { join } from 'node:path';
import * as vscode from 'vscode';
import type { EvalProgress } from '../core/eval/types';
import { changesLine, overallLine } from '../core/gate/gateReport';
import type { ChangedPromptVersion } from '../core/gate/changedPrompts';
import type { PromptGateResult, PromptVerdict } from '../core/gate/verdicts';
import { BaselineError } from '../node/baseline';
import { GateSetupError } from '../node/changedPrompts';
import { GitUnavailableError } from '../node/git';
import { MissingApiKeyError, ModelCallError } from '../node/modelClient';
import { findRepoRoot } from '../node/repoFiles';
import { runGate } from '../node/runGate';
import type { GateRun } from '../node/runGate';
import type { SourceParser } from '../node/treeSitter';
import type { ExampleResult } from '../shared/evalReport';
import type { ApiSource } from '../shared/webviewProtocol';
import { promptForApiKey, resolveApiConfig } from './apiKey';
import { COMMANDS } from './commandTable';
import { Disposable } from './disposable';
import type { EvalController } from './evalCommand';
import type { EvalTarget } from './evalResults';
import { targetKey } from './evalResults';
import { readSettings } from './settings';
import { abortOnCancel } from './cancellation';

/** The id of the gate's tree view (package.json `contributes.views`). */
export const GATE_VIEW_ID = 'promptCi.gate';
/** An internal command (not in the palette): a prompt row's click opens that version's results panel. */
const OPEN_RESULTS_COMMAND = 'promptCi.gate.openResults';

/** The prompt version a row is about, as the verdict store names it. */
function targetOf(row: PromptRow): EvalTarget {
  return { repoRoot: row.repoRoot, promptDir: row.prompt.dir, name: row.prompt.name, version: row.prompt.version };
}

/** One changed prompt version in the view: its result once evaluated, its progress while running. */
interface PromptRow {
  kind: 'prompt';
  repoRoot: string;
  prompt: ChangedPromptVersion;
  result?: PromptGateResult;
  progress?: EvalProgress;
}

/** A line under a prompt row or at the top: a reason, a note, a regressed example, the check summary. */
interface InfoRow {
  kind: 'info';
  label: string;
  description?: string;
  icon?: vscode.ThemeIcon;
  tooltip?: string;
  /** Opens this file at this 0-based line. */
  open?: { file: string; line: number };
  children?: InfoRow[];
}

type GateRow = PromptRow | InfoRow;

const VERDICT_ICON: Record<PromptVerdict, vscode.ThemeIcon> = {
  pass: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  blocked: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  inconclusive: new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground')),
  error: new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground')),
  removed: new vscode.ThemeIcon('remove'),
};

const pct = (x: number | null): string => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);

function sideText(side: ExampleResult['challenger']): string {
  return side.correct === null ? 'not scored' : `${side.correct ? 'correct' : 'wrong'}${side.score !== null ? ` (${side.score})` : ''}`;
}

/**
 * "Prompt CI: Run Pre-PR Gate" over the workspace: the same gate as `prompt-ci gate` (one core),
 * shown as one row per changed prompt version in the Prompt CI Gate view (verdict, win rates,
 * reasons, regressed examples that open their eval.jsonl line) and the overall verdict in a status
 * bar item of its own (the eval verdict of the active prompt has another). Files are read from
 * disk: unsaved edits are not part of the gate, which is about what would be pushed.
 */
export class GateView extends Disposable implements vscode.TreeDataProvider<GateRow> {
  private readonly changed = this._register(new vscode.EventEmitter<GateRow | undefined>());
  readonly onDidChangeTreeData = this.changed.event;
  private readonly status = this._register(vscode.window.createStatusBarItem('promptCi.gateVerdict', vscode.StatusBarAlignment.Left, 19));
  private rows: GateRow[] = [];
  private running: AbortController | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly parser: () => Promise<SourceParser>,
    private readonly evals: EvalController,
  ) {
    super();
    // Rows show the store's latest verdict (stale marks included) and follow it when another run replaces it.
    this._register(evals.verdicts.onDidChange(() => this.refresh()));
    this._register(vscode.commands.registerCommand(OPEN_RESULTS_COMMAND, (row: PromptRow) => this.evals.openPanel(targetOf(row))));
    this.status.name = 'Prompt CI Gate';
    this.status.command = { title: 'Show the gate', command: `${GATE_VIEW_ID}.focus` };
    this._register(vscode.window.createTreeView(GATE_VIEW_ID, { treeDataProvider: this, showCollapseAll: true }));
    this._register(vscode.commands.registerCommand(COMMANDS.runGate.id, () => this.run()));
    // The view is contributed with `when: promptCi.gateAvailable`: shown where the extension runs, not in every workspace.
    void vscode.commands.executeCommand('setContext', 'promptCi.gateAvailable', true);
  }

  getTreeItem(row: GateRow): vscode.TreeItem {
    if (row.kind === 'info') {
      const item = new vscode.TreeItem(row.label, row.children?.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
      item.description = row.description;
      item.iconPath = row.icon;
      item.tooltip = row.tooltip;
      if (row.open) {
        item.command = {
          title: 'Open',
          command: 'vscode.open',
          arguments: [vscode.Uri.file(row.open.file), { selection: new vscode.Range(row.open.line, 0, row.open.line, 0) }],
        };
      }
      return item;
    }
    const { prompt, result, progress } = row;
    // The label is short ("summarisation v2") so the verdict beside it stays readable in a narrow side bar.
    const item = new vscode.TreeItem(`${prompt.name} v${prompt.version}`, result && result.verdict !== 'pass' ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `${row.repoRoot}:${prompt.dir}`;
    item.contextValue = 'promptVersion';
    if (result?.report) item.command = { title: 'Open Eval Results', command: OPEN_RESULTS_COMMAND, arguments: [row] };
    if (!result) {
      item.iconPath = new vscode.ThemeIcon(progress ? 'sync~spin' : 'circle-outline');
      item.description = progress ? `${progress.done}/${progress.total} examples` : 'waiting';
      return item;
    }
    item.iconPath = VERDICT_ICON[result.verdict];
    const r = result.report;
    const latest = this.evals.verdicts.summary(targetKey(targetOf(row)));
    const stale = latest?.stale && latest.source === 'gate' ? ' · stale' : '';
    item.description = r
      ? `${result.verdict}${stale} · ${pct(r.challenger.winRate)} vs ${pct(r.baseline.winRate)} · ${r.mcnemar.regressed}▼ ${r.mcnemar.improved}▲`
      : `${result.verdict}${stale}`;
    const tooltip = new vscode.MarkdownString(undefined, true);
    tooltip.appendText(`${prompt.dir}: ${result.verdict}${stale ? ' (stale: its files changed since the gate ran)' : ''}\n`);
    if (r) tooltip.appendText(`pass rate ${pct(r.challenger.winRate)} vs baseline ${pct(r.baseline.winRate)} · ${r.mcnemar.regressed} regressed, ${r.mcnemar.improved} improved\n`);
    if (r) tooltip.appendText('Click to open the results panel.\n');
    if (result.baseline) tooltip.appendText(`Baseline: ${result.baseline}\n`);
    for (const line of [...result.reasons, ...result.notes]) tooltip.appendText(`• ${line}\n`);
    item.tooltip = tooltip;
    return item;
  }

  getChildren(row?: GateRow): GateRow[] {
    if (!row) return this.rows;
    if (row.kind === 'info') return row.children ?? [];
    const { result, prompt } = row;
    const children: InfoRow[] = [];
    const why = [...prompt.files.map((f) => f.slice(prompt.dir.length + 1)), ...prompt.callSiteFiles.map((f) => `call sites in ${f}`)];
    if (why.length > 0) children.push({ kind: 'info', label: 'changed', description: why.join(', '), icon: new vscode.ThemeIcon('git-compare') });
    if (!result) return children;
    if (result.baseline) children.push({ kind: 'info', label: 'baseline', description: result.baseline, icon: new vscode.ThemeIcon('history') });
    for (const reason of result.reasons) children.push({ kind: 'info', label: reason, tooltip: reason, icon: new vscode.ThemeIcon('circle-slash') });
    for (const note of result.notes) children.push({ kind: 'info', label: note, tooltip: note, icon: new vscode.ThemeIcon('info') });
    const evalFile = join(row.repoRoot, prompt.dir, 'eval.jsonl');
    const regressed = result.report?.examples.filter((e) => e.outcome === 'regressed') ?? [];
    if (regressed.length > 0) {
      children.push({
        kind: 'info',
        label: `regressed examples (${regressed.length})`,
        icon: new vscode.ThemeIcon('arrow-down'),
        children: regressed.map((e) => ({
          kind: 'info',
          label: e.id,
          description: `line ${e.line + 1}: baseline ${sideText(e.baseline)}, challenger ${sideText(e.challenger)}`,
          tooltip: e.challenger.output ?? undefined,
          open: { file: evalFile, line: e.line },
        })),
      });
    }
    return children;
  }

  /** The prompt repository of the workspace: the one folder's, or the user's pick among several. */
  private async repoRoot(): Promise<string | undefined> {
    const roots = [...new Set((vscode.workspace.workspaceFolders ?? []).map((f) => (f.uri.scheme === 'file' ? findRepoRoot(f.uri.fsPath) : undefined)).filter((r): r is string => r !== undefined))];
    if (roots.length <= 1) return roots[0];
    return vscode.window.showQuickPick(roots, { title: 'Prompt CI: gate which repository?' });
  }

  /** Writes a prompt's gate result into the verdict store, so the status bar, CodeLens and panel show the same verdict. */
  private record(row: PromptRow, api: ApiSource): void {
    const result = row.result;
    if (!result || (!result.report && result.verdict !== 'error')) return;
    const target = targetOf(row);
    const saved = result.report
      ? this.evals.verdicts.save(target, result.report, api, { source: 'gate' })
      : this.evals.verdicts.recordError(target, result.reasons.join('; ') || 'the gate could not evaluate it', 'gate', api);
    saved.catch((error: unknown) => this.log.error(`gate: could not store the verdict of ${result.prompt.dir}: ${(error as Error).message}`));
  }

  private refresh(): void {
    this.changed.fire(undefined);
  }

  private setStatus(text: string, tooltip: string, background?: 'error' | 'warning'): void {
    this.status.text = text;
    this.status.tooltip = tooltip;
    this.status.backgroundColor = background ? new vscode.ThemeColor(`statusBarItem.${background}Background`) : undefined;
    this.status.show();
  }

  /**
   * Runs the gate and fills the view as it goes. Resolves with the run (for tests and other
   * commands), or undefined when it could not run.
   */
  async run(): Promise<GateRun | undefined> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage('The pre-PR gate calls a model API with your key: trust this workspace to run it.');
      return undefined;
    }
    if (this.running) {
      void vscode.window.showInformationMessage('The gate is already running; cancel it from its notification first.');
      return undefined;
    }
    const repoRoot = await this.repoRoot();
    if (!repoRoot) {
      void vscode.window.showWarningMessage('No prompt repository in this workspace (a folder with prompt-ci.yaml or prompts/).');
      return undefined;
    }
    const settings = readSettings(vscode.Uri.file(repoRoot));
    const api = await resolveApiConfig(this.context.secrets, settings);
    const unsaved = vscode.workspace.textDocuments.filter((d) => d.isDirty && d.uri.scheme === 'file' && d.uri.fsPath.startsWith(repoRoot));
    const controller = new AbortController();
    this.running = controller;
    const rows = new Map<string, PromptRow>();
    this.rows = [];
    this.refresh();
    this.setStatus('$(sync~spin) Gate: running', 'The pre-PR gate is running.');
    await vscode.commands.executeCommand(`${GATE_VIEW_ID}.focus`).then(undefined, () => undefined);

    try {
      const parser = await this.parser();
      const run = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Prompt CI gate', cancellable: true },
        (progress, token) => {
          const listener = abortOnCancel(token, controller);
          return runGate({
            repoRoot,
            apiKey: api.apiKey,
            baseURL: api.baseURL,
            concurrency: settings.evalConcurrency,
            signal: controller.signal,
            parser,
            onEvent: (event) => {
              switch (event.kind) {
                case 'changes': {
                  const { changes } = event;
                  this.log.info(`gate: ${changesLine(changes.baseLabel, changes.mergeBase, changes.prompts.length)}`);
                  progress.report({ message: changesLine(changes.baseLabel, changes.mergeBase, changes.prompts.length) });
                  for (const prompt of changes.prompts) rows.set(prompt.dir, { kind: 'prompt', repoRoot, prompt });
                  this.rows = [...rows.values()];
                  if (rows.size === 0) this.rows = [{ kind: 'info', label: changesLine(changes.baseLabel, changes.mergeBase, 0), icon: new vscode.ThemeIcon('check') }];
                  if (changes.onBaseBranch) {
                    this.rows.push({ kind: 'info', label: `HEAD is on ${changes.baseLabel}: only uncommitted changes are gated`, icon: new vscode.ThemeIcon('info') });
                  }
                  if (unsaved.length > 0) {
                    this.rows.push({ kind: 'info', label: `${unsaved.length} unsaved file${unsaved.length === 1 ? '' : 's'} not included: save to gate them`, icon: new vscode.ThemeIcon('info') });
                  }
                  break;
                }
                case 'control-plane':
                  this.rows.push({
                    kind: 'info',
                    label: event.check.checked ? 'control plane checked' : 'control plane not checked',
                    description: event.check.status.replace(/^control plane: /, ''),
                    tooltip: event.check.status,
                    icon: new vscode.ThemeIcon(event.check.checked ? 'database' : 'info'),
                  });
                  break;
                case 'check': {
                  const errors = event.findings.filter((f) => f.severity === 'error');
                  // Policy warnings (a released version changed under `releasedVersions: warn`, a suite that shrank) are listed with the errors.
                  const policyWarnings = event.findings.filter((f) => f.severity === 'warning' && f.code.startsWith('release/'));
                  this.rows.unshift({
                    kind: 'info',
                    label: `check: ${errors.length} error${errors.length === 1 ? '' : 's'}${policyWarnings.length > 0 ? `, ${policyWarnings.length} policy warning${policyWarnings.length === 1 ? '' : 's'}` : ''}`,
                    icon: errors.length > 0 ? VERDICT_ICON.blocked : policyWarnings.length > 0 ? VERDICT_ICON.inconclusive : VERDICT_ICON.pass,
                    children: [...errors, ...policyWarnings].map((f) => ({
                      kind: 'info',
                      label: f.message,
                      description: `${f.file}:${f.range.start.line + 1}`,
                      tooltip: `${f.code}: ${f.message}`,
                      open: { file: join(repoRoot, f.file), line: f.range.start.line },
                    })),
                  });
                  break;
                }
                case 'eval-start':
                  progress.report({ message: `evaluating ${event.prompt.dir}` });
                  break;
                case 'eval-progress': {
                  const row = rows.get(event.prompt.dir);
                  if (row) row.progress = event.progress;
                  break;
                }
                case 'result': {
                  const row = rows.get(event.result.prompt.dir);
                  if (row) {
                    row.result = event.result;
                    this.record(row, api.source);
                  }
                  this.log.info(`gate: ${event.result.prompt.dir}: ${event.result.verdict}${event.result.reasons.length ? ` (${event.result.reasons.join('; ')})` : ''}`);
                  break;
                }
              }
              this.refresh();
            },
          }).finally(() => listener.dispose());
        },
      );
      const line = overallLine(run.summary);
      this.log.info(line);
      const { status } = run.summary;
      const nothing = run.results.length === 0;
      this.setStatus(
        `${status === 'pass' ? '$(pass)' : status === 'blocked' ? '$(error)' : '$(warning)'} Gate: ${nothing ? 'nothing changed' : status}`,
        nothing ? changesLine(run.changes.baseLabel, run.changes.mergeBase, 0) : line,
        status === 'blocked' ? 'error' : status === 'inconclusive' ? 'warning' : undefined,
      );
      return run;
    } catch (error) {
      const known =
        error instanceof GateSetupError ||
        error instanceof BaselineError ||
        error instanceof GitUnavailableError ||
        error instanceof MissingApiKeyError ||
        (error instanceof ModelCallError && error.fatal);
      const message = error instanceof Error ? error.message : String(error);
      this.log.error(`gate failed: ${known ? message : error instanceof Error ? (error.stack ?? message) : message}`);
      this.setStatus('$(warning) Gate: could not run', message, 'warning');
      this.rows = [{ kind: 'info', label: 'The gate could not run', description: message, tooltip: message, icon: VERDICT_ICON.error }];
      this.refresh();
      const needsKey = error instanceof MissingApiKeyError || (error instanceof ModelCallError && error.kind === 'auth');
      void vscode.window.showErrorMessage(`Prompt CI gate: ${message}`, ...(needsKey ? ['Set API Key', 'Show Output'] : ['Show Output'])).then((choice) => {
        if (choice === 'Set API Key') void promptForApiKey(this.context.secrets);
        else if (choice === 'Show Output') this.log.show();
      });
      return undefined;
    } finally {
      this.running = undefined;
    }
  }
}
