import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { EvalReport } from '../shared/evalReport';
import type { ApiSource, HostMessage, RunState, WebviewMessage } from '../shared/webviewProtocol';
import { RESULTS_VIEW_TYPE, assertNever, parsePanelState, parseWebviewMessage } from '../shared/webviewProtocol';
import { Disposable } from './disposable';
import type { EvalResults, EvalTarget } from './evalResults';
import { targetKey, targetLabel } from './evalResults';
import type { SynthesisCommandOutcome } from './synthesizeCommand';

/** What the panel asks of the rest of the extension (the eval command implements it). */
export interface PanelActions {
  rerun(target: EvalTarget, onlyExampleIds: string[] | undefined): void;
  cancel(key: string): void;
  runState(key: string): RunState;
  /** Where the calls of the run in progress, else of the stored report, went. */
  apiSource(key: string): ApiSource | null;
  copyMarkdown(report: EvalReport): Promise<void>;
  openJson(key: string): Promise<void>;
  openExample(target: EvalTarget, report: EvalReport, exampleId: string): Promise<void>;
  /** "Synthesize cases from these failures" on the selected examples of the panel's report. */
  synthesize(target: EvalTarget, report: EvalReport, exampleIds: string[]): Promise<SynthesisCommandOutcome>;
}

/**
 * The results panels, one per prompt version, and the serializer that brings them back after a
 * window reload (the webview's saved state names the prompt version by key; the key is resolved
 * here, from the extension's own storage).
 */
export class ResultsPanels extends Disposable {
  private readonly panels = new Map<string, ResultsPanel>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly results: EvalResults,
    private readonly actions: PanelActions,
    private readonly log: vscode.LogOutputChannel,
  ) {
    super();
    this._register(
      vscode.window.registerWebviewPanelSerializer(RESULTS_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel, state) => this.restore(panel, state),
      }),
    );
    this._register(results.onDidChange((key) => void this.panels.get(key)?.refresh()));
    this._register({ dispose: () => [...this.panels.values()].forEach((p) => p.dispose()) });
  }

  /** Opens (or reveals) the panel of `target`. */
  show(target: EvalTarget, options: { preserveFocus?: boolean } = {}): ResultsPanel {
    const key = targetKey(target);
    const existing = this.panels.get(key);
    if (existing) {
      existing.reveal(options.preserveFocus ?? false);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(
      RESULTS_VIEW_TYPE,
      panelTitle(target),
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: options.preserveFocus ?? false },
      webviewOptions(this.extensionUri),
    );
    return this.adopt(panel, key, target);
  }

  /** Tells an open panel of `key` that its run state changed. */
  runStateChanged(key: string, run: RunState): void {
    this.panels.get(key)?.post({ type: 'run', run });
  }

  /** The open panel of `key`, if any. */
  get(key: string): ResultsPanel | undefined {
    return this.panels.get(key);
  }

  private async restore(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const saved = parsePanelState(state);
    const summary = saved ? this.results.summary(saved.key) : undefined;
    if (!saved || !summary) {
      // Nothing to show any more (storage cleared, or state from another version): close quietly.
      this.log.info('results panel not restored: its results are no longer stored');
      panel.dispose();
      return;
    }
    if (this.panels.has(saved.key)) {
      panel.dispose();
      return;
    }
    panel.webview.options = webviewOptions(this.extensionUri);
    this.adopt(panel, saved.key, summary.target);
  }

  private adopt(panel: vscode.WebviewPanel, key: string, target: EvalTarget): ResultsPanel {
    const owned = new ResultsPanel(panel, key, target, this.extensionUri, this.results, this.actions, this.log);
    this.panels.set(key, owned);
    owned.onDidDispose(() => {
      if (this.panels.get(key) === owned) this.panels.delete(key);
    });
    return owned;
  }
}

function panelTitle(target: EvalTarget): string {
  return `Eval: ${targetLabel(target)}`;
}

function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return {
    enableScripts: true,
    enableFindWidget: true,
    // Only the built webview script and the stylesheet; nothing of the workspace.
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

/** The webview's page: no data in it, only the script and the stylesheet under a strict CSP. */
export function resultsHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  const nonce = randomBytes(18).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', 'main.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'results.css'));
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${webview.cspSource}`,
    `img-src ${webview.cspSource} data:`,
    `font-src ${webview.cspSource}`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}">
<title>Eval results</title>
</head>
<body>
<main id="app" aria-busy="true"><p class="loading">Loading the eval results…</p></main>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
}

/** One results panel: the lifetime of a webview showing one prompt version's last run. */
export class ResultsPanel extends Disposable {
  private readonly disposeEmitter = this._register(new vscode.EventEmitter<void>());
  readonly onDidDispose = this.disposeEmitter.event;
  private report: EvalReport | undefined;

  constructor(
    private readonly panel: vscode.WebviewPanel,
    readonly key: string,
    readonly target: EvalTarget,
    extensionUri: vscode.Uri,
    private readonly results: EvalResults,
    private readonly actions: PanelActions,
    private readonly log: vscode.LogOutputChannel,
  ) {
    super();
    panel.title = panelTitle(target);
    this._register(panel.webview.onDidReceiveMessage((data: unknown) => void this.onMessage(data)));
    this._register(panel.onDidDispose(() => this.dispose()));
    panel.webview.html = resultsHtml(panel.webview, extensionUri);
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this.disposeEmitter.fire();
    super.dispose();
    this.panel.dispose();
  }

  /** Whether the panel is visible to the user now. */
  get visible(): boolean {
    return this.panel.visible;
  }

  reveal(preserveFocus: boolean): void {
    this.panel.reveal(undefined, preserveFocus);
  }

  /** Sends a message, if the webview is still there. */
  post(message: HostMessage): void {
    if (this.isDisposed) return;
    void this.panel.webview.postMessage(message);
  }

  /** Re-reads the stored report and sends it. */
  async refresh(): Promise<void> {
    this.report = await this.results.load(this.key);
    const summary = this.results.summary(this.key);
    this.post({
      type: 'show',
      key: this.key,
      report: this.report ?? null,
      title: targetLabel(this.target),
      dir: this.target.promptDir,
      api: this.actions.apiSource(this.key),
      savedAt: summary?.savedAt ?? null,
      run: this.actions.runState(this.key),
      verdict: summary
        ? { source: summary.source, status: summary.status, stale: summary.stale, unsavedFiles: summary.unsavedFiles, error: summary.error ?? null, savedAt: summary.savedAt }
        : null,
    });
  }

  private async onMessage(data: unknown): Promise<void> {
    const message: WebviewMessage | undefined = parseWebviewMessage(data);
    if (!message) {
      this.log.warn('results panel: ignored a message that does not follow the protocol');
      return;
    }
    try {
      await this.handle(message);
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      this.post({ type: 'notice', kind: 'error', text });
      this.log.error(`results panel: ${message.type} failed: ${text}`);
    }
  }

  private async handle(message: WebviewMessage): Promise<void> {
    switch (message.type) {
      case 'ready':
        await this.refresh();
        return;
      case 'copy-markdown':
        if (!this.report) return;
        await this.actions.copyMarkdown(this.report);
        this.post({ type: 'notice', kind: 'info', text: 'Markdown PR comment copied to the clipboard.' });
        return;
      case 'open-json':
        await this.actions.openJson(this.key);
        return;
      case 'rerun': {
        const ids =
          message.scope === 'regressed' ? (this.report?.examples ?? []).filter((e) => e.outcome === 'regressed').map((e) => e.id) : undefined;
        if (ids && ids.length === 0) {
          this.post({ type: 'notice', kind: 'info', text: 'No regressed example to re-run.' });
          return;
        }
        this.actions.rerun(this.target, ids);
        return;
      }
      case 'cancel-run':
        this.actions.cancel(this.key);
        return;
      case 'open-example':
        if (!this.report) return;
        await this.actions.openExample(this.target, this.report, message.exampleId);
        return;
      case 'synthesize': {
        if (!this.report) return;
        const n = message.exampleIds.length;
        this.post({ type: 'notice', kind: 'info', text: `Synthesizing cases from ${n} selected example${n === 1 ? '' : 's'}…` });
        const outcome = await this.actions.synthesize(this.target, this.report, message.exampleIds);
        this.post({ type: 'notice', kind: outcome.status === 'failed' ? 'error' : 'info', text: outcome.message });
        return;
      }
      default:
        assertNever(message, 'webview message');
    }
  }
}
