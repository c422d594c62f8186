import * as vscode from 'vscode';
import { COMMANDS } from './commandTable';
import { Disposable } from './disposable';
import { targetLabel, targetOfPath, verdictOrigin, verdictText } from './evalResults';
import type { EvalStatusSource, EvalTarget, VerdictStatus } from './evalResults';

const ICON: Record<VerdictStatus, string> = {
  pass: '$(pass)',
  blocked: '$(error)',
  inconclusive: '$(warning)',
  error: '$(warning)',
};

/**
 * The status bar item of the active prompt version: its last eval verdict (or the run in progress).
 * Clicking it opens the results panel. Hidden when the active editor is not a prompt file or the
 * version has no results yet.
 */
export class EvalStatusBar extends Disposable {
  private readonly item = this._register(vscode.window.createStatusBarItem('promptCi.evalVerdict', vscode.StatusBarAlignment.Left, 20));

  constructor(private readonly source: EvalStatusSource) {
    super();
    this.item.name = 'Prompt CI Eval Verdict';
    this._register(vscode.window.onDidChangeActiveTextEditor(() => this.update()));
    this._register(source.onDidChange(() => this.update()));
    this.update();
  }

  /** The prompt version of the active editor; while a panel or other non-text editor has focus, the last one. */
  private lastTarget: EvalTarget | undefined;

  private activeTarget(): EvalTarget | undefined {
    const editor = vscode.window.activeTextEditor;
    if (!editor) return this.lastTarget;
    const uri = editor.document.uri;
    this.lastTarget = uri.scheme === 'file' ? targetOfPath(uri.fsPath) : undefined;
    return this.lastTarget;
  }

  private update(): void {
    const target = this.activeTarget();
    if (!target) {
      this.item.hide();
      return;
    }
    const label = targetLabel(target);
    const running = this.source.running(target);
    const summary = this.source.summary(target);
    this.item.command = { title: COMMANDS.showEvalResults.title, command: COMMANDS.showEvalResults.id, arguments: [vscode.Uri.joinPath(vscode.Uri.file(target.repoRoot), target.promptDir, 'metadata.yaml')] };
    if (running) {
      const p = running.progress;
      this.item.text = `$(sync~spin) ${label}: ${p ? `${p.done}/${p.total}` : 'starting'}`;
      this.item.tooltip = `Eval of ${label}: ${running.stage === 'running' ? `running ${running.scope}` : running.stage}. Click to open the results panel.`;
      this.item.backgroundColor = undefined;
      this.item.show();
      return;
    }
    if (!summary) {
      this.item.hide();
      return;
    }
    this.item.text = `${summary.stale ? '$(history)' : ICON[summary.status]} ${label}: ${verdictText(summary)}`;
    const tooltip = new vscode.MarkdownString(undefined, true);
    tooltip.appendText(`Latest verdict of ${label}: ${summary.status}${summary.cancelled ? ', cancelled' : ''}${summary.partial ? `, ${summary.examples} selected examples` : ''}, ${verdictOrigin(summary)}\n`);
    if (summary.stale) tooltip.appendText('Stale: the prompt\'s files changed since; run the eval again.\n');
    if (summary.status !== 'error') tooltip.appendText(`${summary.regressed} regressed, ${summary.improved} improved\n`);
    for (const reason of summary.reasons) tooltip.appendText(`• ${reason}\n`);
    if (summary.api?.kind === 'demo') tooltip.appendText('Answers from the deterministic demo server, not a model.\n');
    tooltip.appendText('Click to open the results panel.');
    this.item.tooltip = tooltip;
    this.item.backgroundColor =
      summary.stale
        ? undefined
        : summary.status === 'blocked'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : summary.status === 'inconclusive' || summary.status === 'error'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
    this.item.show();
  }
}
