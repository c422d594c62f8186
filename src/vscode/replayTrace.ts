import { join } from 'node:path';
import * as vscode from 'vscode';
import type { ReplayResult, ReplayVerdict } from '../core/replay';
import { ReplayError } from '../core/replay';
import type { ParsedSpanInfo } from '../core/span';
import { PROMPT_NAME_ATTRIBUTES, PROMPT_VERSION_ATTRIBUTES, SpanError, firstPresent } from '../core/span';
import type { GitRunner } from '../node/git';
import { GitError, gitTopLevel, resolveCommit, runGit } from '../node/git';
import { callReplay, replaySpanText } from '../node/replayRunner';
import { COMMANDS } from './commandTable';
import { Disposable } from './disposable';
import { ReplayActions } from './replayActions';
import type { ReplaySession } from './replayDocuments';
import { GIT_FILE_SCHEME, GitFileProvider, REPLAY_SCHEME, ReplayStore } from './replayDocuments';
import { exists, isObject, showReplayError } from './replayMessages';
import { ReplaySpanInput } from './replaySpanInput';
import { ReplayWorktrees } from './replayWorktrees';
import type { SpanSourceKind } from './spanSource';
import { classifySpanText, sourceLabel } from './spanSource';

export type { ReplayActionOutcome } from './replayActions';

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
 *
 * This module is the command's flow: find the span and its inputs (replaySpanInput.ts), replay it
 * through the one span → request path (node/replayRunner), show the read-only replay document
 * (replayDocuments.ts); the actions on that document are replayActions.ts.
 */

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

/** Replay Trace: the command, its documents, CodeLens and actions. Owned by the extension's lifetime. */
export class ReplayTrace extends Disposable {
  private readonly store = this._register(new ReplayStore());

  /** The replay a replay document (or one of its parts) shows; Add Spans to Eval Suite… harvests its span. */
  replayOf(uri: vscode.Uri): ReplaySession | undefined {
    return this.store.sessionOf(uri);
  }
  private readonly worktrees: ReplayWorktrees;
  private readonly input: ReplaySpanInput;
  private readonly actions: ReplayActions;
  private readonly git: GitRunner;
  private readonly log: vscode.LogOutputChannel;
  /** Git top-levels replays were read from: the only repositories `prompt-ci-git:` documents read. */
  private readonly replayRoots = new Set<string>();
  private readonly codeLensesChanged = this._register(new vscode.EventEmitter<void>());

  constructor(private readonly deps: ReplayTraceDeps) {
    super();
    this.git = deps.git ?? runGit;
    this.log = deps.log;
    this.worktrees = this._register(new ReplayWorktrees(this.git, this.log));
    this.input = this._register(
      new ReplaySpanInput(this.log, {
        onPasted: (text) => void this.replayTrace({ text }, true),
        onPastedNothing: (why) => void this.fail(`the paste document holds no span export: ${why}`, undefined, 'paste-document'),
      }),
    );
    this.actions = new ReplayActions({
      store: this.store,
      git: this.git,
      call: deps.call ?? callReplay,
      log: this.log,
      secrets: deps.secrets,
      worktrees: this.worktrees,
      replayRoots: this.replayRoots,
      inputsAction: () => this.inputsAction({ text: this.input.lastText ?? '' }),
    });

    this._register(vscode.workspace.registerTextDocumentContentProvider(REPLAY_SCHEME, this.store));
    this._register(vscode.workspace.registerTextDocumentContentProvider(GIT_FILE_SCHEME, new GitFileProvider(this.git, () => this.replayRoots)));
    this._register(this.store.onDidChange(() => this.codeLensesChanged.fire()));
    this._register(
      vscode.languages.registerCodeLensProvider(
        { scheme: REPLAY_SCHEME },
        { onDidChangeCodeLenses: this.codeLensesChanged.event, provideCodeLenses: (document) => this.actions.codeLenses(document) },
      ),
    );
    this._register(vscode.commands.registerCommand(COMMANDS.replayTrace.id, (options?: unknown) => this.replayTrace(asOptions(options))));
    for (const command of this.actions.register()) this._register(command);
  }

  /** Removes every replay worktree; `deactivate()` awaits this. */
  async removeAllWorktrees(): Promise<void> {
    await this.worktrees.removeAll();
  }

  /** Opens a prompt version's files at a commit in the read-only documents (see {@link ReplayActions.openPromptAtCommit}). */
  openPromptAtCommit(repoRoot: string, commit: string, dir: string): Promise<vscode.Uri[]> {
    return this.actions.openPromptAtCommit(repoRoot, commit, dir);
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
          : await this.input.findSpanText();
      if ('awaitingPaste' in found) return { status: 'awaiting-paste', ...found.awaitingPaste };
      source = found.source;
      const { text, verdict } = found;
      if (verdict.kind === 'error') return this.fail(verdict.error.message, verdict.error.code, source);
      if (verdict.kind !== 'spans') return this.fail(`${sourceLabel(source)} holds no span export: ${verdict.why}`, undefined, source);

      const chosen = await this.input.chooseSpan(text, verdict.spans, options.spanId);
      if (!chosen) return { status: 'cancelled' };
      const inputs = options.inputs !== undefined ? await this.input.readInputs(options.inputs) : undefined;

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
        const text = options.text ?? this.input.lastText;
        if (picked?.[0] && text !== undefined) await this.replayTrace({ ...options, text, inputs: picked[0] });
      },
    };
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
  // Messages

  /** Shows the error (not awaited: the message stays until dismissed) and returns it. */
  private fail(message: string, code: string | undefined, source: SpanSourceKind | undefined, actions: Record<string, () => unknown> = {}): ReplayTraceOutcome {
    this.log.error(`replay: ${message}`);
    showReplayError(message, actions);
    return { status: 'error', message, ...(code ? { code } : {}), ...(source ? { source } : {}) };
  }

  private failWith(error: unknown, source: SpanSourceKind | undefined): ReplayTraceOutcome {
    if (error instanceof SpanError || error instanceof ReplayError) return this.fail(error.message, error.code, source);
    if (error instanceof GitError) return this.fail(error.message, 'git', source);
    this.log.error(`replay: ${(error as Error).stack ?? String(error)}`);
    return this.fail(`unexpected error: ${(error as Error).message ?? String(error)}`, undefined, source);
  }
}

function asOptions(value: unknown): ReplayTraceOptions {
  if (!isObject(value)) return {};
  const options: ReplayTraceOptions = {};
  if (typeof value.text === 'string') options.text = value.text;
  if (typeof value.spanId === 'string') options.spanId = value.spanId;
  if (typeof value.inputs === 'string' || value.inputs instanceof vscode.Uri) options.inputs = value.inputs;
  return options;
}
