import { basename, join } from 'node:path';
import * as vscode from 'vscode';
import type { ReplayCallOutcome } from '../core/replay';
import { ReplayError, toAuditMarkdown, toAuditRecord } from '../core/replay';
import { REQUEST_FILES } from '../core/promptLayout';
import { SpanError } from '../core/span';
import type { GitRunner } from '../node/git';
import { GitError, gitTopLevel } from '../node/git';
import { baseUrlProblem, describeKeyFrom } from '../node/modelApi';
import { ModelCallError } from '../node/modelClient';
import type { callReplay } from '../node/replayRunner';
import { resolveApiConfig } from './apiKey';
import { withCancellation } from './cancellation';
import { COMMANDS } from './commandTable';
import type { ReplaySession, ReplayStore } from './replayDocuments';
import { gitFileUri } from './replayDocuments';
import { exists, isObject, showReplayError } from './replayMessages';
import type { ReplayWorktrees } from './replayWorktrees';
import { readSettings } from './settings';

/** What a replay action (compare, open, call, save, worktree) did. */
export type ReplayActionOutcome =
  | { status: 'compared'; left: string; right: string }
  | { status: 'opened'; uris: string[]; message?: string }
  | { status: 'called'; matchesRecorded: boolean | null; text: string; model: string }
  | { status: 'saved'; files: string[] }
  | { status: 'worktree'; path: string; commit: string }
  | { status: 'removed'; paths: string[] }
  | { status: 'error'; message: string }
  | { status: 'cancelled' };

/** What the actions work with: the replays shown, git, the call, the worktrees, and the way back to "Choose Inputs File…". */
export interface ReplayActionsDeps {
  store: ReplayStore;
  git: GitRunner;
  call: typeof callReplay;
  log: vscode.LogOutputChannel;
  secrets: vscode.SecretStorage;
  worktrees: ReplayWorktrees;
  /** Git top-levels the read-only `prompt-ci-git:` documents may read; the actions add to it. */
  replayRoots: Set<string>;
  /** The "Choose Inputs File…" action that replays the last span with an inputs file. */
  inputsAction(): Record<string, () => unknown>;
}

/**
 * The CodeLens actions on a replay document: compare the template with the working tree, open the
 * files at the commit (read-only), replay the call, save the audit record, open the commit as a
 * worktree. Every action returns a plain {@link ReplayActionOutcome}.
 */
export class ReplayActions {
  private readonly store: ReplayStore;
  private readonly git: GitRunner;
  private readonly log: vscode.LogOutputChannel;

  constructor(private readonly deps: ReplayActionsDeps) {
    this.store = deps.store;
    this.git = deps.git;
    this.log = deps.log;
  }

  /** The action commands, registered by the extension's Replay Trace. */
  register(): vscode.Disposable[] {
    const c = COMMANDS;
    return [
      vscode.commands.registerCommand(c.replayCompareTemplate.id, (target?: unknown, file?: unknown) => this.compareWithWorkingTree(target, file)),
      vscode.commands.registerCommand(c.replayOpenFiles.id, (target?: unknown) => this.openFilesAtCommit(target)),
      vscode.commands.registerCommand(c.replayCall.id, (target?: unknown, options?: unknown) => this.replayCall(target, options)),
      vscode.commands.registerCommand(c.replaySaveAudit.id, (target?: unknown, options?: unknown) => this.saveAudit(target, options)),
      vscode.commands.registerCommand(c.replayOpenWorktree.id, (target?: unknown, options?: unknown) => this.openAsWorktree(target, options)),
      vscode.commands.registerCommand(c.replayRemoveWorktrees.id, () => this.removeWorktrees()),
    ];
  }

  codeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const session = this.store.sessionOf(document.uri);
    if (!session) return [];
    const top = new vscode.Range(0, 0, 0, 0);
    const lens = (title: string, tooltip: string, command: string, ...args: unknown[]) =>
      new vscode.CodeLens(top, { title, tooltip, command, arguments: args });
    const c = COMMANDS;
    const short = session.result.prompt.commit.sha.slice(0, 7);
    const lenses = [lens('$(diff) Compare template', `user.template.md at ${short} against the working tree`, c.replayCompareTemplate.id, session.id, 'user.template.md')];
    if (session.result.prompt.system !== undefined) {
      lenses.push(lens('$(diff) Compare system prompt', `system.md at ${short} against the working tree`, c.replayCompareTemplate.id, session.id, 'system.md'));
    }
    lenses.push(
      lens('$(go-to-file) Open files at commit', `system.md, user.template.md and metadata.yaml as they are at ${short}, read-only`, c.replayOpenFiles.id, session.id),
      lens('$(play) Replay call…', 'Send this request again (asks first) and compare the new output with the recorded one', c.replayCall.id, session.id),
      lens('$(save) Save audit record…', 'Markdown and JSON: prompt, inputs, model, parameters, commit, span and verdict', c.replaySaveAudit.id, session.id),
      lens('$(repo-clone) Open as worktree', `Check ${short} out in a temporary detached worktree, to run the calling code as it was`, c.replayOpenWorktree.id, session.id),
    );
    if (session.call && session.result.span.recorded?.output !== undefined) {
      lenses.push(lens('$(diff) Compare outputs', 'The recorded output against the replayed one', 'vscode.diff', ...this.outputDiffArgs(session)));
    }
    return lenses;
  }

  /** The replay an action applies to: an id (CodeLens), a replay document's URI (editor title), else the active or newest replay. */
  private sessionFor(target: unknown): ReplaySession | undefined {
    if (typeof target === 'string') return this.store.get(target);
    if (target instanceof vscode.Uri) return this.store.sessionOf(target);
    const active = vscode.window.activeTextEditor?.document.uri;
    return (active && this.store.sessionOf(active)) ?? this.store.latest();
  }

  private noSession(): ReplayActionOutcome {
    return this.failAction('no replay to act on: run "Prompt CI: Replay Trace…" first');
  }

  /** `vscode.diff` of a file at the replay's commit (left, read-only) against the working file (right). */
  private async compareWithWorkingTree(target: unknown, file: unknown): Promise<ReplayActionOutcome> {
    const session = this.sessionFor(target);
    if (!session) return this.noSession();
    const name = typeof file === 'string' && (REQUEST_FILES as readonly string[]).includes(file) ? file : 'user.template.md';
    const { prompt } = session.result;
    const short = prompt.commit.sha.slice(0, 7);
    if (!prompt.files.some((f) => f.path === name && f.type === 'blob')) {
      return this.failAction(`${prompt.dir}/${name} does not exist at commit ${short}`);
    }
    const left = gitFileUri({ root: session.repoRoot, commit: prompt.commit.sha, path: `${prompt.dir}/${name}` });
    const right = vscode.Uri.file(join(session.repoRoot, prompt.dir, name));
    if (!(await exists(right))) {
      await vscode.window.showTextDocument(left, { preview: false });
      const message = `${prompt.dir}/${name} is not in the working tree (removed or renamed since ${short}); opened the version at ${short} alone`;
      void vscode.window.showInformationMessage(message);
      return { status: 'opened', uris: [left.toString()], message };
    }
    await vscode.commands.executeCommand('vscode.diff', left, right, `${name} (${short}) ↔ working tree`, { preview: false });
    return { status: 'compared', left: left.toString(), right: right.toString() };
  }

  /**
   * Opens the files of a prompt version directory (`dir`, relative to `repoRoot`) at `commit` in
   * replay's read-only documents: for answers about what production served, such as which version a
   * tenant got. Resolves with the documents opened.
   */
  async openPromptAtCommit(repoRoot: string, commit: string, dir: string): Promise<vscode.Uri[]> {
    const top = (await gitTopLevel(this.git, repoRoot)) ?? repoRoot;
    this.deps.replayRoots.add(top);
    const prefix = repoRoot === top ? '' : `${repoRoot.slice(top.length + 1).split('\\').join('/')}/`;
    const uris: vscode.Uri[] = [];
    for (const name of REQUEST_FILES) {
      const uri = gitFileUri({ root: top, commit, path: `${prefix}${dir}/${name}` });
      try {
        await vscode.window.showTextDocument(uri, { preview: false });
        uris.push(uri);
      } catch (error) {
        this.log.warn(`which version: ${(error as Error).message}`);
      }
    }
    return uris;
  }

  /** Opens system.md, user.template.md and metadata.yaml as they are at the commit, read-only. */
  private async openFilesAtCommit(target: unknown): Promise<ReplayActionOutcome> {
    const session = this.sessionFor(target);
    if (!session) return this.noSession();
    const { prompt } = session.result;
    const uris: vscode.Uri[] = [];
    for (const name of REQUEST_FILES) {
      if (!prompt.files.some((f) => f.path === name && f.type === 'blob')) continue;
      const uri = gitFileUri({ root: session.repoRoot, commit: prompt.commit.sha, path: `${prompt.dir}/${name}` });
      await vscode.window.showTextDocument(uri, { preview: false });
      uris.push(uri);
    }
    return { status: 'opened', uris: uris.map((u) => u.toString()) };
  }

  /**
   * Sends the rebuilt request once, after asking, and diffs the new output with the recorded one.
   * `{ confirmed: true }` skips the question (for callers that asked already).
   */
  private async replayCall(target: unknown, options: unknown): Promise<ReplayActionOutcome> {
    const session = this.sessionFor(target);
    if (!session) return this.noSession();
    if (!vscode.workspace.isTrusted) {
      return this.failAction('replaying the call needs a trusted workspace: it sends your API key to the configured base URL', {
        'Manage Workspace Trust': () => vscode.commands.executeCommand('workbench.trust.manage'),
      });
    }
    if (session.result.rendered.user === null) {
      return this.failAction(`the request can't be sent: its user message is not rendered. ${session.result.verdict.summary}`, this.deps.inputsAction());
    }
    const api = await resolveApiConfig(this.deps.secrets, readSettings(vscode.Uri.file(session.repoRoot)), process.env, (error) =>
      this.log.warn(`replay: the stored API key can't be read: ${error.message}`),
    );
    if (!api.apiKey) {
      const keyCommand = COMMANDS.setApiKey;
      return this.failAction(
        `no Anthropic API key: store one with "Prompt CI: ${keyCommand.title}", or set ANTHROPIC_API_KEY in the environment VS Code starts from`,
        { [keyCommand.title]: () => vscode.commands.executeCommand(keyCommand.id) },
      );
    }
    const badBaseUrl = baseUrlProblem(api.baseURL);
    if (badBaseUrl) return this.failAction(badBaseUrl);
    const request = session.result.request;
    if (!(isObject(options) && options.confirmed === true)) {
      const host = api.source.host;
      const send = 'Send Request';
      const answer = await vscode.window.showWarningMessage(
        `Send the replayed request to ${host}?`,
        {
          modal: true,
          detail: `One call of ${request.model} (max_tokens ${request.max_tokens}) with the API key from ${describeKeyFrom(api.keyFrom)}, billed to that key.${api.source.kind === 'demo' ? ' This window uses the demo server: nothing is charged.' : ''} The request is exactly the one in the replay document.`,
        },
        send,
      );
      if (answer !== send) return { status: 'cancelled' };
    }
    let outcome: ReplayCallOutcome;
    try {
      outcome = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Replaying the call to ${request.model}…`, cancellable: true },
        (_progress, token) => withCancellation(token, (signal) => this.deps.call(request, session.result.span.recorded?.output, { api, signal })),
      );
    } catch (error) {
      const name = (error as Error).name ?? '';
      if (name === 'AbortError' || name === 'APIUserAbortError') return { status: 'cancelled' };
      if (error instanceof ModelCallError) return this.failAction(`the replayed call failed: ${error.message}`);
      throw error;
    }
    this.store.setCall(session, outcome);
    const cmp = outcome.comparedWithRecorded;
    this.log.info(`replay: called ${outcome.model} in ${outcome.latencyMs} ms; ${cmp ? (cmp.matches ? 'same output as recorded' : 'output differs from recorded') : 'no recorded output'}`);
    const summary = !cmp
      ? 'Replayed the call; the span recorded no output to compare with (the new output is in the replay document).'
      : cmp.matches
        ? 'Replayed the call: the new output is identical to the recorded output.'
        : 'Replayed the call: the new output differs from the recorded output.';
    void (async () => {
      const compare = 'Compare Outputs';
      const picked = await vscode.window.showInformationMessage(summary, ...(cmp ? [compare] : []));
      if (picked === compare) await vscode.commands.executeCommand('vscode.diff', ...this.outputDiffArgs(session));
    })();
    return { status: 'called', matchesRecorded: cmp ? cmp.matches : null, text: outcome.text, model: outcome.model };
  }

  private outputDiffArgs(session: ReplaySession): [vscode.Uri, vscode.Uri, string, vscode.TextDocumentShowOptions] {
    return [
      this.store.partUri(session, 'recorded-output'),
      this.store.partUri(session, 'replayed-output'),
      `Output: recorded ↔ replayed (${session.result.prompt.name} v${session.result.prompt.version})`,
      { preview: false },
    ];
  }

  /**
   * Writes the audit record: the Markdown chosen in the save dialog and the JSON record next to it
   * (same name, `.json`). `{ target: Uri }` skips the dialog.
   */
  private async saveAudit(target: unknown, options: unknown): Promise<ReplayActionOutcome> {
    const session = this.sessionFor(target);
    if (!session) return this.noSession();
    const { prompt } = session.result;
    let chosen: vscode.Uri | undefined = isObject(options) && options.target instanceof vscode.Uri ? options.target : undefined;
    const given = chosen !== undefined;
    if (!chosen) {
      chosen = await vscode.window.showSaveDialog({
        title: 'Save the replay audit record (Markdown; the JSON record is saved next to it)',
        defaultUri: vscode.Uri.file(join(session.repoRoot, `replay-audit-${prompt.name}-v${prompt.version}-${prompt.commit.sha.slice(0, 7)}.md`)),
        filters: { Markdown: ['md'], JSON: ['json'] },
        saveLabel: 'Save Audit Record',
      });
      if (!chosen) return { status: 'cancelled' };
    }
    const base = chosen.path.replace(/\.(md|markdown|json)$/i, '');
    const markdownUri = chosen.with({ path: /\.json$/i.test(chosen.path) ? `${base}.md` : /\.(md|markdown)$/i.test(chosen.path) ? chosen.path : `${base}.md` });
    const jsonUri = chosen.with({ path: `${base}.json` });
    // The save dialog asked about the file it named; ask about its companion too.
    const companion = /\.json$/i.test(chosen.path) ? markdownUri : jsonUri;
    if (!given && (await exists(companion))) {
      const replace = 'Replace';
      const answer = await vscode.window.showWarningMessage(`${basename(companion.path)} already exists. Replace it with this audit record?`, { modal: true }, replace);
      if (answer !== replace) return { status: 'cancelled' };
    }
    const record = toAuditRecord(session.result, { generatedAt: new Date().toISOString(), ...(session.call ? { call: session.call } : {}) });
    const encoder = new TextEncoder();
    await vscode.workspace.fs.writeFile(markdownUri, encoder.encode(toAuditMarkdown(record)));
    await vscode.workspace.fs.writeFile(jsonUri, encoder.encode(`${JSON.stringify(record, null, 2)}\n`));
    this.log.info(`replay: audit record saved to ${markdownUri.fsPath} and ${jsonUri.fsPath}`);
    void (async () => {
      const open = 'Open';
      if ((await vscode.window.showInformationMessage(`Saved the audit record: ${basename(markdownUri.path)} and ${basename(jsonUri.path)}`, open)) === open) {
        await vscode.window.showTextDocument(markdownUri);
      }
    })();
    return { status: 'saved', files: [markdownUri.toString(), jsonUri.toString()] };
  }

  /** Checks the replay's commit out in a detached worktree in a temporary directory, then offers to open it. */
  private async openAsWorktree(target: unknown, _options: unknown): Promise<ReplayActionOutcome> {
    const session = this.sessionFor(target);
    if (!session) return this.noSession();
    if (!vscode.workspace.isTrusted) {
      return this.failAction("opening a worktree needs a trusted workspace: the checkout runs the repository's configured filters", {
        'Manage Workspace Trust': () => vscode.commands.executeCommand('workbench.trust.manage'),
      });
    }
    const commit = session.result.prompt.commit.sha;
    let worktree;
    try {
      worktree = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Checking out ${commit.slice(0, 7)} in a temporary worktree…` },
        () => this.deps.worktrees.add(session.repoRoot, commit),
      );
    } catch (error) {
      return this.failActionWith(error);
    }
    void (async () => {
      const openWindow = 'Open in New Window';
      const remove = 'Remove Worktree';
      const picked = await vscode.window.showInformationMessage(
        `Commit ${commit.slice(0, 7)} is checked out (detached) in ${worktree.path}. It is removed when you ask, or when VS Code closes.`,
        openWindow,
        remove,
      );
      if (picked === openWindow) await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(worktree.path), { forceNewWindow: true });
      else if (picked === remove) await this.deps.worktrees.remove(worktree.path);
    })();
    return { status: 'worktree', path: worktree.path, commit };
  }

  private async removeWorktrees(): Promise<ReplayActionOutcome> {
    const paths = await this.deps.worktrees.removeAll();
    void vscode.window.showInformationMessage(paths.length ? `Removed ${paths.length} replay worktree${paths.length === 1 ? '' : 's'}.` : 'No replay worktree to remove.');
    return { status: 'removed', paths };
  }

  private failAction(message: string, actions: Record<string, () => unknown> = {}): ReplayActionOutcome {
    this.log.error(`replay: ${message}`);
    showReplayError(message, actions);
    return { status: 'error', message };
  }

  private failActionWith(error: unknown): ReplayActionOutcome {
    if (error instanceof SpanError || error instanceof ReplayError || error instanceof GitError) return this.failAction(error.message);
    this.log.error(`replay: ${(error as Error).stack ?? String(error)}`);
    return this.failAction(`unexpected error: ${(error as Error).message ?? String(error)}`);
  }
}
