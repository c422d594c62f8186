import { dirname } from 'node:path';
import * as vscode from 'vscode';
import { checkPromptVersion, checkRepository } from '../core/check';
import type { FileFinding } from '../core/finding';
import { countBySeverity } from '../core/finding';
import { discoverPrompts, versionDirOf } from '../core/promptLayout';
import { diskSnapshot, listRepoFiles, toRepoPath } from '../node/repoFiles';
import { Disposable } from './disposable';
import { readSettings } from './settings';
import { toDiagnostic } from './toDiagnostic';

/** A prompt repository inside the workspace: the folder that holds `prompts/` or `prompt-ci.yaml`. */
interface PromptRepo {
  root: string;
  /** Findings by repo-relative path, as last published. */
  findings: Map<string, FileFinding[]>;
}

/**
 * Keeps the Problems panel current for every prompt repository in the workspace (all roots):
 * a full check on start-up and when files appear or vanish, a check of one prompt version when one
 * of its documents changes (debounced; unsaved text counts).
 */
export class PromptDiagnostics extends Disposable {
  private readonly collection = this._register(vscode.languages.createDiagnosticCollection('prompt-ci'));
  private readonly repos = new Map<string, PromptRepo>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly log: vscode.LogOutputChannel) {
    super();
    this._register(vscode.workspace.onDidChangeTextDocument((e) => this.onDocumentChanged(e.document, true)));
    this._register(vscode.workspace.onDidOpenTextDocument((d) => this.onDocumentChanged(d, false)));
    // Closing an unsaved editor drops its text: the disk is the truth again.
    this._register(vscode.workspace.onDidCloseTextDocument((d) => this.onDocumentChanged(d, false)));
    this._register(vscode.workspace.onDidChangeWorkspaceFolders(() => void this.refreshAll('workspace folders changed')));
    const watcher = this._register(vscode.workspace.createFileSystemWatcher('**/{prompts/**,prompt-ci.yaml}'));
    this._register(watcher.onDidCreate((uri) => this.onFileSetChanged(uri, 'created')));
    this._register(watcher.onDidDelete((uri) => this.onFileSetChanged(uri, 'deleted')));
    this._register(watcher.onDidChange((uri) => this.onFileContentChanged(uri)));
    this._register({ dispose: () => this.timers.forEach((t) => clearTimeout(t)) });
  }

  /** Finds every prompt repository in the workspace and checks each one in full. */
  async refreshAll(reason: string): Promise<void> {
    const started = Date.now();
    const uris = await vscode.workspace.findFiles('{**/prompts/*/*/*,**/prompt-ci.yaml}', '**/node_modules/**');
    const roots = new Set<string>();
    for (const uri of uris) {
      if (uri.scheme !== 'file') continue;
      roots.add(uri.path.endsWith('/prompt-ci.yaml') ? dirname(uri.fsPath) : repoRootOfPromptFile(uri.fsPath));
    }
    for (const root of [...this.repos.keys()]) {
      if (!roots.has(root)) this.forgetRepo(root);
    }
    for (const root of roots) this.checkRepo(root);
    this.log.info(`${reason}: found ${roots.size} prompt ${roots.size === 1 ? 'repository' : 'repositories'} in ${Date.now() - started} ms`);
  }

  /** The repository holding `fsPath`, the innermost when repositories nest. */
  repoFor(fsPath: string): PromptRepo | undefined {
    let best: PromptRepo | undefined;
    for (const repo of this.repos.values()) {
      if (toRepoPath(repo.root, fsPath) !== undefined && (!best || repo.root.length > best.root.length)) best = repo;
    }
    return best;
  }

  private checkRepo(root: string): void {
    const started = Date.now();
    const repo = this.repos.get(root) ?? { root, findings: new Map() };
    this.repos.set(root, repo);
    const { layout, findings } = checkRepository(this.snapshot(root));
    this.publish(repo, findings, () => true);
    const c = countBySeverity(findings);
    this.log.info(
      `checked ${layout.versions.length} prompt versions in ${root} in ${Date.now() - started} ms: ${c.error} errors, ${c.warning} warnings, ${c.information} notes`,
    );
  }

  private checkVersion(repo: PromptRepo, versionDir: string): void {
    const started = Date.now();
    const snapshot = this.snapshot(repo.root);
    const layout = discoverPrompts(snapshot.paths);
    const version = layout.versions.find((v) => v.dir === versionDir);
    const inVersion = (file: string): boolean => file === versionDir || file.startsWith(`${versionDir}/`);
    const findings = version
      ? [...layout.findings.filter((f) => inVersion(f.file)), ...checkPromptVersion(version, snapshot).findings]
      : [];
    this.publish(repo, findings, inVersion);
    this.log.info(`re-checked ${versionDir} in ${Date.now() - started} ms: ${findings.length} findings`);
  }

  /** Replaces the findings of every file `inScope` accepts with `findings`, and tells VS Code. */
  private publish(repo: PromptRepo, findings: FileFinding[], inScope: (file: string) => boolean): void {
    const touched = new Set<string>();
    for (const file of [...repo.findings.keys()]) {
      if (inScope(file)) {
        repo.findings.delete(file);
        touched.add(file);
      }
    }
    for (const finding of findings) {
      const list = repo.findings.get(finding.file) ?? [];
      list.push(finding);
      repo.findings.set(finding.file, list);
      touched.add(finding.file);
    }
    const uriOf = (file: string): vscode.Uri => vscode.Uri.file(`${repo.root}/${file}`);
    for (const file of touched) {
      const list = repo.findings.get(file);
      this.collection.set(uriOf(file), list ? list.map((f) => toDiagnostic(f, uriOf)) : []);
    }
  }

  private forgetRepo(root: string): void {
    const repo = this.repos.get(root);
    if (!repo) return;
    for (const file of repo.findings.keys()) this.collection.delete(vscode.Uri.file(`${root}/${file}`));
    this.repos.delete(root);
  }

  /** The files on disk with every open document's current text laid over them. */
  private snapshot(root: string) {
    const open = new Map<string, string>();
    for (const doc of vscode.workspace.textDocuments) {
      if (doc.uri.scheme !== 'file' || doc.isClosed) continue;
      const rel = toRepoPath(root, doc.uri.fsPath);
      if (rel) open.set(rel, doc.getText());
    }
    return diskSnapshot(root, listRepoFiles(root, 'prompts'), (path) => open.get(path));
  }

  private onDocumentChanged(document: vscode.TextDocument, typed: boolean): void {
    if (document.uri.scheme !== 'file') return;
    const repo = this.repoFor(document.uri.fsPath);
    const rel = repo && toRepoPath(repo.root, document.uri.fsPath);
    const versionDir = rel && versionDirOf(rel);
    if (!repo || !versionDir) return;
    const settings = readSettings(document.uri);
    if (typed && !settings.checkOnType) return;
    this.schedule(`${repo.root}\0${versionDir}`, typed ? settings.debounceMs : 0, () => this.checkVersion(repo, versionDir));
  }

  private onFileContentChanged(uri: vscode.Uri): void {
    const repo = this.repoFor(uri.fsPath);
    const rel = repo && toRepoPath(repo.root, uri.fsPath);
    if (!repo || rel === undefined) return;
    if (rel === 'prompt-ci.yaml') {
      this.schedule(`${repo.root}\0*`, 100, () => this.checkRepo(repo.root));
      return;
    }
    const versionDir = versionDirOf(rel);
    if (versionDir) this.schedule(`${repo.root}\0${versionDir}`, 100, () => this.checkVersion(repo, versionDir));
  }

  private onFileSetChanged(uri: vscode.Uri, what: 'created' | 'deleted'): void {
    // A new or vanished file can change the layout (a version appears, a file goes missing) or
    // create a repository: re-discover, debounced so a `git checkout` is one re-check, not hundreds.
    this.schedule('*', 250, () => void this.refreshAll(`${vscode.workspace.asRelativePath(uri)} ${what}`));
  }

  private schedule(key: string, delayMs: number, run: () => void): void {
    clearTimeout(this.timers.get(key));
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        if (this.isDisposed) return;
        try {
          run();
        } catch (error) {
          this.log.error(`check failed: ${(error as Error).stack ?? String(error)}`);
        }
      }, delayMs),
    );
  }
}

/** `/repo/prompts/name/v1/file` → `/repo`. */
function repoRootOfPromptFile(fsPath: string): string {
  return dirname(dirname(dirname(dirname(fsPath))));
}
