import { basename, join } from 'node:path';
import * as vscode from 'vscode';
import type { ReplayCallOutcome, ReplayInputs, ReplayResult, ReplayVerdict } from '../core/replay';
import { ReplayError, parseInputsFile, toAuditMarkdown, toAuditRecord } from '../core/replay';
import type { CandidateSpan, ParsedSpanInfo } from '../core/span';
import { PROMPT_NAME_ATTRIBUTES, PROMPT_VERSION_ATTRIBUTES, SpanError, describeSpan, firstPresent, parseSpan } from '../core/span';
import type { GitRunner } from '../node/git';
import { GitError, gitTopLevel, resolveCommit, runGit } from '../node/git';
import { baseUrlProblem, describeKeyFrom } from '../node/modelApi';
import { ModelCallError } from '../node/modelClient';
import { callReplay, replaySpanText } from '../node/replayRunner';
import { resolveApiConfig } from './apiKey';
import { COMMANDS } from './commandTable';
import { Disposable } from './disposable';
import type { ReplaySession } from './replayDocuments';
import { GIT_FILE_SCHEME, GitFileProvider, PASTE_SCHEME, PasteFileSystem, REPLAY_SCHEME, ReplayStore, gitFileUri } from './replayDocuments';
import { ReplayWorktrees } from './replayWorktrees';
import { readSettings } from './settings';
import type { SpanSourceKind, SpanTextVerdict } from './spanSource';
import { classifySpanText, sourceLabel } from './spanSource';
import { withCancellation } from './cancellation';

/**
 * "Prompt CI: Replay Trace…" (DESIGN.md section 5): from a production span to the prompt of the
 * commit that produced it. The span comes from the selection, else the active JSON document, else the
 * clipboard, else a paste document the user pastes into (which replays as soon as a span lands in
 * it). The replay opens as a read-only Markdown document with CodeLens actions: compare the template
 * with the working tree, open the files at the commit, replay the call, save the audit record, open
 * the commit as a worktree.
 *
 * Everything is read from git's object database (`cat-file`, `ls-tree`): the user's HEAD, index and
 * working tree are never touched. Reading works in an untrusted workspace; the replayed call (it sends
 * the user's API key to a configurable URL) and the worktree (a checkout runs the repository's
 * configured filters) need trust.
 *
 * Every command returns a plain result object, so callers (and the in-VS-Code tests) see what
 * happened, including the exact error message the user was shown.
 */


/** Inputs files are a few variables; anything this big is a wrong file. */
const MAX_INPUTS_BYTES = 20 * 1024 * 1024;

/** What Replay Trace needs to know about the workspace's prompt repositories (PromptDiagnostics provides it). */
export interface PromptRepoLookup {
  readonly promptRepos: readonly { root: string }[];
  repoFor(fsPath: string): { root: string } | undefined;
}

/** What Replay Trace is built from; tests and other hosts may pass their own git runner and call. */
export interface ReplayTraceDeps {
  log: vscode.LogOutputChannel;
  secrets: vscode.SecretStorage;
  repos: PromptRepoLookup;
  git?: GitRunner;
  call?: typeof callReplay;
}

/** Options of the Replay Trace command when run programmatically; the palette passes none. */
export interface ReplayTraceOptions {
  /** The span export itself, instead of the selection or clipboard. */
  text?: string;
  /** Which LLM span to replay when the text holds several (skips the picker). */
  spanId?: string;
  /** An inputs file (JSON object of variables, or one eval example) overriding the span's variables. */
  inputs?: vscode.Uri | string;
}

/** What the Replay Trace command did. */
export type ReplayTraceOutcome =
  | {
      status: 'shown';
      replayId: string;
      uri: string;
      source: SpanSourceKind;
      promptDir: string;
      commit: string;
      /** How the commit was found: named by the span, or inferred from git. */
      commitSource: 'span' | 'inferred';
      matchesRecorded: boolean | null;
      verdict: ReplayVerdict['kind'];
      /** The verdict's sentence, as the replay document shows it. */
      summary: string;
      variablesSource: ReplayResult['variables']['source'];
      warnings: string[];
    }
  | { status: 'error'; message: string; code?: string; source?: SpanSourceKind }
  | { status: 'awaiting-paste'; uri: string; message: string }
  | { status: 'cancelled' };

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

/** The files that define the call, in the order they open. */
const PROMPT_FILES = ['system.md', 'user.template.md', 'metadata.yaml'] as const;

/** Replay Trace: the command, its documents, CodeLens and actions. Owned by the extension's lifetime. */
export class ReplayTrace extends Disposable {
  private readonly store = this._register(new ReplayStore());
  private readonly pastes = new PasteFileSystem();
  private readonly worktrees: ReplayWorktrees;
  private readonly git: GitRunner;
  private readonly call: typeof callReplay;
  private readonly log: vscode.LogOutputChannel;
  /** Untitled documents opened as paste boxes, and whether each was empty at its last change. */
  private readonly pasteDocuments = new Map<string, boolean>();
  /** Git top-levels replays were read from: the only repositories `prompt-ci-git:` documents read. */
  private readonly replayRoots = new Set<string>();
  private readonly codeLensesChanged = this._register(new vscode.EventEmitter<void>());
  /** The text of the last span looked at, so "Choose Inputs File…" can replay it again. */
  private lastText: string | undefined;

  constructor(private readonly deps: ReplayTraceDeps) {
    super();
    this.git = deps.git ?? runGit;
    this.call = deps.call ?? callReplay;
    this.log = deps.log;
    this.worktrees = this._register(new ReplayWorktrees(this.git, this.log));

    this._register(vscode.workspace.registerTextDocumentContentProvider(REPLAY_SCHEME, this.store));
    this._register(vscode.workspace.registerFileSystemProvider(PASTE_SCHEME, this.pastes, { isCaseSensitive: true }));
    this._register(vscode.workspace.registerTextDocumentContentProvider(GIT_FILE_SCHEME, new GitFileProvider(this.git, () => this.replayRoots)));
    this._register(this.store.onDidChange(() => this.codeLensesChanged.fire()));
    this._register(
      vscode.languages.registerCodeLensProvider(
        { scheme: REPLAY_SCHEME },
        { onDidChangeCodeLenses: this.codeLensesChanged.event, provideCodeLenses: (document) => this.codeLenses(document) },
      ),
    );
    this._register(vscode.workspace.onDidChangeTextDocument((e) => this.onPasteDocumentChanged(e.document)));
    this._register(
      vscode.workspace.onDidCloseTextDocument((d) => {
        this.pasteDocuments.delete(d.uri.toString());
        if (d.uri.scheme === PASTE_SCHEME) this.pastes.forget(d.uri);
      }),
    );

    const c = COMMANDS;
    this._register(vscode.commands.registerCommand(c.replayTrace.id, (options?: unknown) => this.replayTrace(asOptions(options))));
    this._register(vscode.commands.registerCommand(c.replayCompareTemplate.id, (target?: unknown, file?: unknown) => this.compareWithWorkingTree(target, file)));
    this._register(vscode.commands.registerCommand(c.replayOpenFiles.id, (target?: unknown) => this.openFilesAtCommit(target)));
    this._register(vscode.commands.registerCommand(c.replayCall.id, (target?: unknown, options?: unknown) => this.replayCall(target, options)));
    this._register(vscode.commands.registerCommand(c.replaySaveAudit.id, (target?: unknown, options?: unknown) => this.saveAudit(target, options)));
    this._register(vscode.commands.registerCommand(c.replayOpenWorktree.id, (target?: unknown, options?: unknown) => this.openAsWorktree(target, options)));
    this._register(vscode.commands.registerCommand(c.replayRemoveWorktrees.id, () => this.removeWorktrees()));
  }

  /** Removes every replay worktree; `deactivate()` awaits this. */
  async removeAllWorktrees(): Promise<void> {
    await this.worktrees.removeAll();
  }

  // -------------------------------------------------------------------------------------------
  // Replay Trace…

  /** The command: find the span, pick one if several, read the prompt at its commit and show the replay. */
  async replayTrace(options: ReplayTraceOptions = {}, fromPasteDocument = false): Promise<ReplayTraceOutcome> {
    let source: SpanSourceKind | undefined;
    try {
      const found =
        options.text !== undefined
          ? { source: fromPasteDocument ? ('paste-document' as const) : ('argument' as const), text: options.text, verdict: classifySpanText(options.text, true) }
          : await this.findSpanText();
      if ('awaitingPaste' in found) return found.awaitingPaste;
      source = found.source;
      const { text, verdict } = found;
      if (verdict.kind === 'error') return this.fail(verdict.error.message, verdict.error.code, source);
      if (verdict.kind !== 'spans') return this.fail(`${sourceLabel(source)} holds no span export: ${verdict.why}`, undefined, source);

      const chosen = await this.chooseSpan(text, verdict.spans, options.spanId);
      if (!chosen) return { status: 'cancelled' };
      const inputs = options.inputs !== undefined ? await this.readInputs(options.inputs) : undefined;

      let repoRoot = '';
      const name = String(firstPresent(chosen.attributes, PROMPT_NAME_ATTRIBUTES) ?? 'prompt');
      const version = String(firstPresent(chosen.attributes, PROMPT_VERSION_ATTRIBUTES) ?? '?');
      // The one path from span to request (node/replayRunner), with the repository chosen here.
      const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Replaying ${name} v${version}` }, () =>
        replaySpanText(text, {
          candidate: chosen,
          git: this.git,
          ...(inputs ? { inputs } : {}),
          repoRoot: async (span) => (repoRoot = await this.repoOfSpan(span)),
        }),
      );
      return await this.show(repoRoot, result, source, options);
    } catch (error) {
      if (error instanceof ReplayError && error.code === 'missing-variables') {
        return this.fail(`${error.message}. Choose an inputs file that has every variable.`, error.code, source, this.inputsAction(options));
      }
      return this.failWith(error, source);
    }
  }

  /** "Choose Inputs File…": replays the same span again with the variables of a JSON file. */
  private inputsAction(options: ReplayTraceOptions): Record<string, () => unknown> {
    return {
      'Choose Inputs File…': async () => {
        const picked = await vscode.window.showOpenDialog({
          canSelectMany: false,
          openLabel: 'Replay with These Inputs',
          filters: { 'Inputs (JSON)': ['json', 'jsonl'] },
        });
        const text = options.text ?? this.lastText;
        if (picked?.[0] && text !== undefined) await this.replayTrace({ ...options, text, inputs: picked[0] });
      },
    };
  }

  /** Selection, then the active JSON (or paste) document, then the clipboard; else opens a paste document. */
  private async findSpanText(): Promise<
    { source: SpanSourceKind; text: string; verdict: SpanTextVerdict } | { awaitingPaste: ReplayTraceOutcome }
  > {
    const looked: string[] = [];
    const consider = (source: SpanSourceKind, text: string, intended: boolean) => {
      const verdict = classifySpanText(text, intended);
      if (verdict.kind === 'not-a-span') {
        looked.push(`${sourceLabel(source)}: ${verdict.why.length > 160 ? `${verdict.why.slice(0, 160)}…` : verdict.why}`);
        return undefined;
      }
      this.lastText = text;
      return { source, text, verdict };
    };
    const editor = vscode.window.activeTextEditor;
    if (editor) {
      const document = editor.document;
      if (!editor.selection.isEmpty) {
        const found = consider('selection', document.getText(editor.selection), false);
        if (found) return found;
      } else if (this.pasteDocuments.has(document.uri.toString())) {
        const found = consider('paste-document', document.getText(), true);
        if (found) return found;
      } else if (isJsonDocument(document)) {
        const found = consider('document', document.getText(), false);
        if (found) return found;
      }
    }
    let clipboard = '';
    try {
      clipboard = await vscode.env.clipboard.readText();
    } catch (error) {
      looked.push(`the clipboard can't be read: ${(error as Error).message}`);
    }
    if (clipboard) {
      const found = consider('clipboard', clipboard, false);
      if (found) return found;
    } else {
      looked.push('the clipboard: it is empty');
    }
    return { awaitingPaste: await this.openPasteDocument(looked) };
  }

  /**
   * An empty JSON document to paste a span into; a span landing there replays at once. It lives in
   * memory ({@link PasteFileSystem}) and is saved there on every change, so closing it never asks
   * where to save a paste nobody wants to keep.
   */
  private async openPasteDocument(looked: string[]): Promise<ReplayTraceOutcome> {
    const document = await vscode.workspace.openTextDocument(this.pastes.create());
    await vscode.languages.setTextDocumentLanguage(document, 'json');
    this.pasteDocuments.set(document.uri.toString(), true);
    await vscode.window.showTextDocument(document, { preview: false });
    const message =
      'Paste a span export (OTLP/JSON, a single OTLP span, Jaeger, Zipkin v2 or an attribute map) into this document: it replays as soon as a span is pasted. ' +
      'Or select a span in any editor, or copy one, and run Replay Trace again.';
    this.log.info(`replay: no span found (${looked.join('; ')}); opened a paste document`);
    void vscode.window.showInformationMessage(message);
    return { status: 'awaiting-paste', uri: document.uri.toString(), message };
  }

  private onPasteDocumentChanged(document: vscode.TextDocument): void {
    const key = document.uri.toString();
    const wasEmpty = this.pasteDocuments.get(key);
    if (wasEmpty === undefined) return;
    const text = document.getText();
    this.pasteDocuments.set(key, text.trim() === '');
    if (document.isDirty) void document.save();
    // Replays on the paste itself (empty → a span), not on every later edit: those wait for the command.
    if (!wasEmpty || text.trim() === '') return;
    this.lastText = text;
    const verdict = classifySpanText(text, true);
    if (verdict.kind === 'not-a-span') {
      // Said in the editor, not only in the log: the user pasted here for this command.
      void this.fail(`the paste document holds no span export: ${verdict.why}`, undefined, 'paste-document');
      return;
    }
    void this.replayTrace({ text }, true);
  }

  /** The span to replay: the one named, the only one, or the user's pick; undefined when the pick is dismissed. */
  private async chooseSpan(text: string, spans: CandidateSpan[], spanId: string | undefined): Promise<CandidateSpan | undefined> {
    if (spanId !== undefined) {
      const wanted = spanId.trim().toLowerCase();
      const match = spans.find((s) => s.spanId?.toLowerCase() === wanted);
      if (match) return match;
      parseSpan(text, { spanId }); // throws the precise "no such span" error
    }
    if (spans.length === 1) return spans[0];
    const picked = await vscode.window.showQuickPick(
      spans.map((span) => ({
        label: span.name ?? `prompt ${String(firstPresent(span.attributes, PROMPT_NAME_ATTRIBUTES))}`,
        description: `${String(firstPresent(span.attributes, PROMPT_NAME_ATTRIBUTES))} v${String(firstPresent(span.attributes, PROMPT_VERSION_ATTRIBUTES) ?? '?')}`,
        detail: describeSpan(span),
        span,
      })),
      { title: `Replay Trace: this paste holds ${spans.length} LLM spans`, placeHolder: 'Pick the span to replay', matchOnDetail: true, ignoreFocusOut: true },
    );
    return picked?.span;
  }

  /**
   * The git top-level of a span's prompt: the one holding its commit (the active editor's prompt
   * repository first, then every other one in the workspace); for a span without a commit, the first
   * that has the prompt's directory in its working tree. When none fits, the first, so the read names
   * what is missing.
   */
  private async repoOfSpan(span: ParsedSpanInfo): Promise<string> {
    const commit = span.commitSha;
    const dirs: string[] = [];
    const active = vscode.window.activeTextEditor?.document.uri;
    if (active?.scheme === 'file') {
      const repo = this.deps.repos.repoFor(active.fsPath);
      if (repo) dirs.push(repo.root);
    }
    dirs.push(...this.deps.repos.promptRepos.map((r) => r.root));
    for (const folder of vscode.workspace.workspaceFolders ?? []) if (folder.uri.scheme === 'file') dirs.push(folder.uri.fsPath);
    const tops: string[] = [];
    for (const dir of new Set(dirs)) {
      const top = await gitTopLevel(this.git, dir);
      if (top && !tops.includes(top)) tops.push(top);
    }
    if (tops.length === 0) {
      throw new ReplayError('commit-not-found', `no git repository is open in this window, so ${commit ? `commit ${commit}` : `the history of prompts/${span.promptName}`} can't be read: open the repository the span's prompt lives in`);
    }
    if (commit === null) {
      for (const top of tops) if (await exists(vscode.Uri.file(join(top, 'prompts', span.promptName)))) return top;
      return tops[0];
    }
    for (const top of tops) {
      if (await resolveCommit(this.git, top, commit)) return top;
    }
    if (tops.length > 1) this.log.info(`replay: commit ${commit} is in none of ${tops.join(', ')}`);
    return tops[0];
  }

  private async readInputs(inputs: vscode.Uri | string): Promise<ReplayInputs> {
    const uri = typeof inputs === 'string' ? vscode.Uri.file(inputs) : inputs;
    const name = basename(uri.path);
    let size: number;
    try {
      size = (await vscode.workspace.fs.stat(uri)).size;
    } catch {
      throw new ReplayError('bad-inputs-file', `inputs file ${name} can't be read: no such file`);
    }
    if (size > MAX_INPUTS_BYTES) throw new ReplayError('bad-inputs-file', `inputs file ${name} is ${(size / 1024 / 1024).toFixed(1)} MB; an inputs file holds one object of variables`);
    const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    return { values: parseInputsFile(text, name), source: name };
  }

  private async show(repoRoot: string, result: ReplayResult, source: SpanSourceKind, options: ReplayTraceOptions): Promise<ReplayTraceOutcome> {
    this.replayRoots.add(repoRoot);
    const session = this.store.add(repoRoot, result);
    const document = await vscode.workspace.openTextDocument(session.uri);
    await vscode.window.showTextDocument(document, { preview: false });
    this.log.info(`replay: ${result.prompt.dir} at ${result.prompt.commit.sha.slice(0, 12)} from ${sourceLabel(source)} (${result.span.shape}): ${result.verdict.summary}`);
    for (const warning of result.warnings) this.log.warn(`replay: ${warning}`);
    // When the variables can't be known from the span, offer the way to give them, in VS Code's terms.
    if (result.rendered.user === null) {
      const actions = this.inputsAction(options);
      void (async () => {
        const picked = await vscode.window.showWarningMessage(`Replay Trace: ${result.verdict.summary}`, ...Object.keys(actions));
        if (picked) await actions[picked]();
      })();
    }
    return {
      status: 'shown',
      replayId: session.id,
      uri: session.uri.toString(),
      source,
      promptDir: result.prompt.dir,
      commit: result.prompt.commit.sha,
      commitSource: result.commit.source,
      matchesRecorded: result.rendered.matchesRecorded,
      verdict: result.verdict.kind,
      summary: result.verdict.summary,
      variablesSource: result.variables.source,
      warnings: result.warnings,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Actions on a replay

  private codeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
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
    const name = typeof file === 'string' && (PROMPT_FILES as readonly string[]).includes(file) ? file : 'user.template.md';
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

  /** Opens system.md, user.template.md and metadata.yaml as they are at the commit, read-only. */
  /**
   * Opens the files of a prompt version directory (`dir`, relative to `repoRoot`) at `commit` in
   * replay's read-only documents: for answers about what production served, such as which version a
   * tenant got. Resolves with the documents opened.
   */
  async openPromptAtCommit(repoRoot: string, commit: string, dir: string): Promise<vscode.Uri[]> {
    const top = (await gitTopLevel(this.git, repoRoot)) ?? repoRoot;
    this.replayRoots.add(top);
    const prefix = repoRoot === top ? '' : `${repoRoot.slice(top.length + 1).split('\\').join('/')}/`;
    const uris: vscode.Uri[] = [];
    for (const name of ['system.md', 'user.template.md', 'metadata.yaml']) {
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

  private async openFilesAtCommit(target: unknown): Promise<ReplayActionOutcome> {
    const session = this.sessionFor(target);
    if (!session) return this.noSession();
    const { prompt } = session.result;
    const uris: vscode.Uri[] = [];
    for (const name of PROMPT_FILES) {
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
      return this.failAction(`the request can't be sent: its user message is not rendered. ${session.result.verdict.summary}`, this.inputsAction({ text: this.lastText ?? '' }));
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
        (_progress, token) => withCancellation(token, (signal) => this.call(request, session.result.span.recorded?.output, { api, signal })),
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
        () => this.worktrees.add(session.repoRoot, commit),
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
      else if (picked === remove) await this.worktrees.remove(worktree.path);
    })();
    return { status: 'worktree', path: worktree.path, commit };
  }

  private async removeWorktrees(): Promise<ReplayActionOutcome> {
    const paths = await this.worktrees.removeAll();
    void vscode.window.showInformationMessage(paths.length ? `Removed ${paths.length} replay worktree${paths.length === 1 ? '' : 's'}.` : 'No replay worktree to remove.');
    return { status: 'removed', paths };
  }

  // -------------------------------------------------------------------------------------------
  // Messages

  /** Shows the error (not awaited: the message stays until dismissed) and returns it. */
  private fail(message: string, code: string | undefined, source: SpanSourceKind | undefined, actions: Record<string, () => unknown> = {}): ReplayTraceOutcome {
    this.log.error(`replay: ${message}`);
    showError(message, actions);
    return { status: 'error', message, ...(code ? { code } : {}), ...(source ? { source } : {}) };
  }

  private failWith(error: unknown, source: SpanSourceKind | undefined): ReplayTraceOutcome {
    if (error instanceof SpanError || error instanceof ReplayError) return this.fail(error.message, error.code, source);
    if (error instanceof GitError) return this.fail(error.message, 'git', source);
    this.log.error(`replay: ${(error as Error).stack ?? String(error)}`);
    return this.fail(`unexpected error: ${(error as Error).message ?? String(error)}`, undefined, source);
  }

  private failAction(message: string, actions: Record<string, () => unknown> = {}): ReplayActionOutcome {
    this.log.error(`replay: ${message}`);
    showError(message, actions);
    return { status: 'error', message };
  }

  private failActionWith(error: unknown): ReplayActionOutcome {
    if (error instanceof SpanError || error instanceof ReplayError || error instanceof GitError) return this.failAction(error.message);
    this.log.error(`replay: ${(error as Error).stack ?? String(error)}`);
    return this.failAction(`unexpected error: ${(error as Error).message ?? String(error)}`);
  }
}

function showError(message: string, actions: Record<string, () => unknown>): void {
  void (async () => {
    const picked = await vscode.window.showErrorMessage(`Replay Trace: ${message}`, ...Object.keys(actions));
    if (picked) await actions[picked]();
  })();
}

function asOptions(value: unknown): ReplayTraceOptions {
  if (!isObject(value)) return {};
  const options: ReplayTraceOptions = {};
  if (typeof value.text === 'string') options.text = value.text;
  if (typeof value.spanId === 'string') options.spanId = value.spanId;
  if (typeof value.inputs === 'string' || value.inputs instanceof vscode.Uri) options.inputs = value.inputs;
  return options;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof vscode.Uri);
}

function isJsonDocument(document: vscode.TextDocument): boolean {
  return ['json', 'jsonc', 'jsonl', 'jsonlines'].includes(document.languageId) || /\.(json|jsonl|ndjson)$/i.test(document.uri.path);
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}
