import { basename, dirname, join, sep } from 'node:path';
import * as vscode from 'vscode';
import { RELEASE_EVAL_SHRANK, RELEASE_REQUEST_CHANGED } from '../core/gate/releasedVersions';
import { versionDirOf } from '../core/promptLayout';
import { readRepoSettings } from '../node/checkRepo';
import { MoveEditError, moveEditToNewVersion, planMoveEdit } from '../node/moveReleasedEdit';
import { checkReleasedVersions } from '../node/releasedVersions';
import { findRepoRoot, toRepoPath } from '../node/repoFiles';
import { COMMANDS } from './commandTable';
import { Disposable } from './disposable';
import { DIAGNOSTIC_SOURCE, toDiagnostic } from './toDiagnostic';

/** The finding codes this provider publishes and the quick fix answers. */
const RELEASE_CODES: readonly string[] = [RELEASE_REQUEST_CHANGED, RELEASE_EVAL_SHRANK];

/** How long after the last change under prompts/ a repository is checked again. */
const DEBOUNCE_MS = 300;

/** What "Move This Edit into a New Version" did; returned for the tests. */
export type MoveEditOutcome =
  | { status: 'moved'; from: string; to: string; moved: string[]; restored: string[]; reverted: string[]; confirmation: { message: string; detail: string } }
  | { status: 'cancelled' }
  | { status: 'failed'; message: string };

/** The confirmation's button. */
export const MOVE_BUTTON = 'Move';

/**
 * The released-version findings (DESIGN.md section 11: `release/request-changed`,
 * `release/eval-shrank`) as live diagnostics, through the same `checkReleasedVersions` as
 * `prompt-ci check` and the gate. Kept apart from the index worker: this reads git objects and the
 * disk, on activation and (debounced) when a file under prompts/ is saved, created, changed or
 * deleted on disk, into its own collection. Git runs only in a trusted workspace (a repository's
 * git configuration can name programs to run). Also the quick fix on those diagnostics and its
 * command, which moves the edit into a new version and restores the released text.
 */
export class ReleaseDiagnostics extends Disposable {
  private readonly collection = this._register(vscode.languages.createDiagnosticCollection('prompt-ci-release'));
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** The files each repository last published to. */
  private readonly published = new Map<string, Set<string>>();
  /** The latest check started of each repository: an older one that ends later publishes nothing. */
  private readonly generation = new Map<string, number>();

  constructor(private readonly log: vscode.LogOutputChannel) {
    super();
    this._register({ dispose: () => this.timers.forEach((t) => clearTimeout(t)) });
    this._register(vscode.workspace.onDidSaveTextDocument((d) => this.onPromptFile(d.uri)));
    const watcher = this._register(vscode.workspace.createFileSystemWatcher('**/prompts/**'));
    this._register(watcher.onDidCreate((uri) => this.onPromptFile(uri)));
    this._register(watcher.onDidChange((uri) => this.onPromptFile(uri)));
    this._register(watcher.onDidDelete((uri) => this.onPromptFile(uri)));
    this._register(vscode.workspace.onDidGrantWorkspaceTrust(() => void this.checkAll()));
    this._register(vscode.commands.registerCommand(COMMANDS.moveEditToNewVersion.id, (args: unknown) => this.moveEdit(args)));
    this._register(
      vscode.languages.registerCodeActionsProvider(
        { scheme: 'file', pattern: '**/prompts/*/*/*' },
        { provideCodeActions: (document, _range, context) => this.quickFixes(document, context) },
        { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] },
      ),
    );
  }

  /** Checks every prompt repository of the workspace. */
  async checkAll(): Promise<void> {
    const uris = await vscode.workspace.findFiles('{**/prompts/*/*/metadata.yaml,**/prompt-ci.yaml}', '**/node_modules/**');
    const roots = new Set<string>();
    for (const uri of uris) {
      if (uri.scheme !== 'file') continue;
      roots.add(uri.path.endsWith('/prompt-ci.yaml') ? dirname(uri.fsPath) : dirname(dirname(dirname(dirname(uri.fsPath)))));
    }
    await Promise.all([...roots].map((root) => this.check(root)));
  }

  /** Checks the repository at `root` now and publishes its release findings. */
  async check(root: string): Promise<void> {
    if (!vscode.workspace.isTrusted) return;
    const generation = (this.generation.get(root) ?? 0) + 1;
    this.generation.set(root, generation);
    let findings;
    try {
      findings = await checkReleasedVersions(root, readRepoSettings(root).settings);
    } catch (error) {
      this.log.error(`released versions of ${root} were not checked: ${(error as Error).message}`);
      return;
    }
    if (this.isDisposed || this.generation.get(root) !== generation) return;
    const byFile = new Map<string, vscode.Diagnostic[]>();
    for (const finding of findings) {
      const file = join(root, finding.file);
      const list = byFile.get(file) ?? [];
      list.push(toDiagnostic(finding, (f) => vscode.Uri.file(join(root, f))));
      byFile.set(file, list);
    }
    for (const file of this.published.get(root) ?? []) if (!byFile.has(file)) this.collection.delete(vscode.Uri.file(file));
    for (const [file, diagnostics] of byFile) this.collection.set(vscode.Uri.file(file), diagnostics);
    this.published.set(root, new Set(byFile.keys()));
  }

  private onPromptFile(uri: vscode.Uri): void {
    if (uri.scheme !== 'file' || !/[\\/]prompts[\\/]/.test(uri.fsPath)) return;
    const root = repoRootOf(uri.fsPath);
    if (root === undefined) return;
    clearTimeout(this.timers.get(root));
    this.timers.set(
      root,
      setTimeout(() => {
        this.timers.delete(root);
        void this.check(root);
      }, DEBOUNCE_MS),
    );
  }

  private quickFixes(document: vscode.TextDocument, context: vscode.CodeActionContext): vscode.CodeAction[] {
    if (context.only && !context.only.contains(vscode.CodeActionKind.QuickFix)) return [];
    const ours = context.diagnostics.filter((d) => d.source === DIAGNOSTIC_SOURCE && RELEASE_CODES.includes(String(d.code)));
    if (ours.length === 0) return [];
    const next = /create v(\d+) instead/.exec(ours[0].message)?.[1];
    const action = new vscode.CodeAction(next ? `Move the edit to v${next}` : COMMANDS.moveEditToNewVersion.title, vscode.CodeActionKind.QuickFix);
    action.diagnostics = ours;
    action.isPreferred = true;
    action.command = { command: COMMANDS.moveEditToNewVersion.id, title: action.title, arguments: [{ uri: document.uri.toString() }] };
    return [action];
  }

  /**
   * "Move This Edit into a New Version": of the file `args.uri` (else the active editor's). Asks in
   * a modal naming both versions; `args.confirmed: true` skips it (VS Code refuses modal dialogs
   * under test; the question is still returned).
   */
  async moveEdit(args?: unknown): Promise<MoveEditOutcome> {
    const given = typeof args === 'object' && args !== null ? (args as { uri?: unknown; confirmed?: unknown }) : {};
    const uri = typeof given.uri === 'string' ? vscode.Uri.parse(given.uri) : given.uri instanceof vscode.Uri ? given.uri : vscode.window.activeTextEditor?.document.uri;
    try {
      if (!uri || uri.scheme !== 'file') return this.fail('open a file of a released prompt version (prompts/<name>/v<N>/…) first');
      if (!vscode.workspace.isTrusted) return this.fail('moving an edit reads git: trust this workspace first');
      const root = repoRootOf(uri.fsPath);
      const rel = root === undefined ? undefined : toRepoPath(root, uri.fsPath);
      const dir = rel === undefined ? undefined : versionDirOf(rel);
      if (root === undefined || dir === undefined) return this.fail(`${vscode.workspace.asRelativePath(uri, false)} is not in a prompt version directory (prompts/<name>/v<N>)`);
      return await this.moveDir(root, dir, given.confirmed === true);
    } catch (error) {
      if (error instanceof MoveEditError) return this.fail(error.message);
      this.log.error(`move edit into a new version: ${(error as Error).stack ?? String(error)}`);
      return this.fail(`the edit could not be moved: ${(error as Error).message}`);
    }
  }

  /**
   * The move of `dir`'s edit, with the editors' unsaved text of its files as their current text:
   * the new version is written first (with that text), then the released text goes back to disk,
   * and only then are those editors reverted to it. A failure on the way leaves the edit in the
   * editor, in the new version, or in both.
   */
  private async moveDir(root: string, dir: string, confirmed: boolean): Promise<MoveEditOutcome> {
    const unsaved = new Map(
      vscode.workspace.textDocuments.filter((d) => d.isDirty && d.uri.scheme === 'file' && dirname(d.uri.fsPath) === join(root, dir)).map((d) => [basename(d.uri.fsPath), d]),
    );
    const plan = await planMoveEdit(root, readRepoSettings(root).settings, dir, { unsaved: (file) => unsaved.get(file)?.getText() });
    const files = Object.keys(plan.edited);
    const toRevert = [...unsaved.values()].filter((d) => plan.newTexts[basename(d.uri.fsPath)] !== undefined);
    const message = `Move the edit of ${plan.name} v${plan.version} into a new version, v${plan.toVersion}?`;
    const detail = [
      files.length > 0 ? `The edited ${files.join(', ')} go to the new v${plan.toVersion}` : `The new v${plan.toVersion} goes without ${plan.deleted.join(', ')}`,
      `; v${plan.version} (released on ${plan.baseRef}) gets its released text back`,
      plan.deleted.length > 0 ? `, ${plan.deleted.join(', ')} included` : '',
      toRevert.length > 0 ? `. The unsaved text of ${toRevert.map((d) => basename(d.uri.fsPath)).join(', ')} is what moves; its editor then shows the released text` : '',
      ". Git's index and HEAD are not touched.",
    ].join('');
    if (!confirmed) {
      const answer = await vscode.window.showWarningMessage(message, { modal: true, detail }, MOVE_BUTTON);
      if (answer !== MOVE_BUTTON) return { status: 'cancelled' };
    }
    const created = await moveEditToNewVersion(root, plan);
    // The edit is in the new version and the released text on disk: the editors may let go of their unsaved text.
    const reverted: string[] = [];
    for (const document of toRevert) {
      await vscode.window.showTextDocument(document, { preview: false });
      await vscode.commands.executeCommand('workbench.action.files.revert');
      if (document.isDirty) throw new MoveEditError(`${created.toDir} holds the edit and ${plan.dir} its released text on disk, but the editor of ${basename(document.uri.fsPath)} could not be reverted: revert it (File: Revert File)`);
      reverted.push(basename(document.uri.fsPath));
    }
    await this.check(root);
    const note = `Moved the edit of ${plan.dir} into ${created.toDir}; v${plan.version} is back to its released text${plan.deleted.length > 0 ? ` (${plan.deleted.join(', ')} restored)` : ''}.`;
    this.log.info(note);
    void vscode.window.showInformationMessage(note);
    const first = files.includes('system.md') ? 'system.md' : (files[0] ?? 'metadata.yaml');
    await vscode.window.showTextDocument(vscode.Uri.file(join(created.absoluteDir, first)), { preview: false });
    return { status: 'moved', from: plan.dir, to: created.toDir, moved: files, restored: plan.deleted, reverted, confirmation: { message, detail } };
  }

  private fail(message: string): MoveEditOutcome {
    void vscode.window.showErrorMessage(message);
    return { status: 'failed', message };
  }
}

/** The repository of a file under prompts/, also of one just deleted: the folder holding the innermost `prompts/` above it. */
function repoRootOf(fsPath: string): string | undefined {
  const at = fsPath.lastIndexOf(`${sep}prompts${sep}`);
  return at < 0 ? findRepoRoot(dirname(fsPath)) : fsPath.slice(0, at) || sep;
}
