import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import type { FileFinding } from '../core/finding';
import { countBySeverity } from '../core/finding';
import type { IndexBuiltBy, IndexClient, IndexMirror } from '../node/indexClient';
import type { BuildStats } from '../node/indexService';
import type { RepoIndexView } from '../node/repoIndex';
import { toRepoPath } from '../node/repoFiles';
import { Disposable } from './disposable';
import { readSettings } from './settings';
import { toDiagnostic } from './toDiagnostic';

/** A prompt repository inside the workspace (the folder that holds `prompts/` or `prompt-ci.yaml`) and its index. */
export interface PromptRepo {
  root: string;
  index: RepoIndexView;
  /** Published findings: file → group → findings, so one group's update touches only its files. */
  byFile: Map<string, Map<string, FileFinding[]>>;
  /** The files each group last published to. */
  filesOfGroup: Map<string, Set<string>>;
}

/** How the last full index of a repository went (for the log, and the tests through an internal command). */
export interface IndexReport {
  root: string;
  builtBy: IndexBuiltBy;
  build: BuildStats;
  /** From the request to the findings in the Problems panel, on the extension host's clock. */
  toDiagnosticsMs: number;
}

/**
 * Keeps the Problems panel current for every prompt repository in the workspace (all roots):
 * a full index on start-up and when files appear or vanish; on an edit (debounced, unsaved text
 * counts) only the groups of findings the edited file touches: its prompt version and the
 * cross-check of the prompts it renders or defines. The index is built in the index worker
 * (IndexClient): this thread only sends texts and publishes findings.
 */
export class PromptDiagnostics extends Disposable {
  private readonly collection = this._register(vscode.languages.createDiagnosticCollection('prompt-ci'));
  private readonly repos = new Map<string, PromptRepo>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly changed = new vscode.EventEmitter<PromptRepo>();
  /** Fires after a repository's index changed (for hovers, CodeLens, the status bar). */
  readonly onDidChangeRepo = this.changed.event;
  /** The last full index of each repository, in the order they finished. */
  readonly reports: IndexReport[] = [];

  constructor(
    private readonly log: vscode.LogOutputChannel,
    private readonly client: IndexClient,
  ) {
    super();
    // The worker stopped and a new one takes over: it starts with nothing, so index everything again.
    client.onRestart = () => this.schedule('*', 0, () => void this.refreshAll('index worker restarted'));
    this._register(this.changed);
    this._register(vscode.workspace.onDidChangeTextDocument((e) => this.onDocumentChanged(e.document, true)));
    this._register(vscode.workspace.onDidOpenTextDocument((d) => this.onDocumentChanged(d, false)));
    // Closing an unsaved editor drops its text: the disk is the truth again.
    this._register(vscode.workspace.onDidCloseTextDocument((d) => this.onDocumentChanged(d, false)));
    this._register(vscode.workspace.onDidChangeWorkspaceFolders(() => void this.refreshAll('workspace folders changed')));
    const watcher = this._register(vscode.workspace.createFileSystemWatcher('**/*'));
    this._register(watcher.onDidCreate((uri) => this.onFileSetChanged(uri, 'created')));
    this._register(watcher.onDidDelete((uri) => this.onFileSetChanged(uri, 'deleted')));
    this._register(watcher.onDidChange((uri) => this.onFileContentChanged(uri)));
    this._register({ dispose: () => this.timers.forEach((t) => clearTimeout(t)) });
  }

  /** Every repository currently indexed. */
  get promptRepos(): PromptRepo[] {
    return [...this.repos.values()];
  }

  /** Finds every prompt repository in the workspace and indexes each one in full. */
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
    await Promise.all([...roots].map((root) => this.indexRepo(root)));
    this.log.info(`${reason}: ${roots.size} prompt ${roots.size === 1 ? 'repository' : 'repositories'} in ${Date.now() - started} ms`);
  }

  /** The repository holding `fsPath`, the innermost when repositories nest. */
  repoFor(fsPath: string): PromptRepo | undefined {
    let best: PromptRepo | undefined;
    for (const repo of this.repos.values()) {
      const rel = toRepoPath(repo.root, fsPath);
      if (rel !== undefined && (!best || repo.root.length > best.root.length)) best = repo;
    }
    return best;
  }

  private async indexRepo(root: string): Promise<void> {
    const started = Date.now();
    let built: Awaited<ReturnType<IndexClient['index']>>;
    try {
      built = await this.client.index(root, this.openTexts(root));
    } catch (error) {
      this.log.error(`indexing ${root} failed: ${(error as Error).message}`);
      return;
    }
    if (this.isDisposed) return;
    const index: IndexMirror = built.mirror;
    const previous = this.repos.get(root);
    const repo: PromptRepo = previous ?? { root, index, byFile: new Map(), filesOfGroup: new Map() };
    repo.index = index;
    this.repos.set(root, repo);
    const stale = [...repo.filesOfGroup.keys()].filter((g) => !index.findingGroups.has(g));
    this.publish(repo, [...index.findingGroups.keys(), ...stale]);
    const c = countBySeverity(index.allFindings());
    const toDiagnosticsMs = Date.now() - started;
    this.reports.push({ root, builtBy: built.builtBy, build: built.stats, toDiagnosticsMs });
    const { cache } = built.stats;
    this.log.info(
      `indexed ${root}: ${index.versionCount} prompt versions, ${index.callSites().length} call sites in ${toDiagnosticsMs} ms ` +
        `(${built.builtBy === 'worker' ? 'in the index worker' : "on the extension host's thread"}, ${Math.round(built.stats.ms)} ms there; ` +
        `cache ${cache.loaded}: ${cache.hits} parsed results reused, ${cache.misses} parsed); ${c.error} errors, ${c.warning} warnings, ${c.information} notes`,
    );
    this.changed.fire(repo);
  }

  /** Re-publishes the findings of `groups` (a group the index no longer has is cleared). */
  private publish(repo: PromptRepo, groups: readonly string[]): void {
    const touched = new Set<string>();
    for (const group of groups) {
      for (const file of repo.filesOfGroup.get(group) ?? []) {
        repo.byFile.get(file)?.delete(group);
        touched.add(file);
      }
      repo.filesOfGroup.delete(group);
      const findings = repo.index.findingGroups.get(group);
      if (!findings) continue;
      const files = new Set<string>();
      for (const finding of findings) {
        const shownOn = shownFile(repo.root, finding.file);
        let forFile = repo.byFile.get(shownOn);
        if (!forFile) repo.byFile.set(shownOn, (forFile = new Map()));
        forFile.set(group, [...(forFile.get(group) ?? []), finding]);
        files.add(shownOn);
        touched.add(shownOn);
      }
      repo.filesOfGroup.set(group, files);
    }
    const uriOf = (file: string): vscode.Uri => vscode.Uri.file(`${repo.root}/${file}`);
    for (const file of touched) {
      const forFile = repo.byFile.get(file);
      const list = forFile ? [...forFile.values()].flat() : [];
      if (list.length === 0) repo.byFile.delete(file);
      this.collection.set(uriOf(file), list.map((f) => toDiagnostic(f, uriOf)));
    }
  }

  private forgetRepo(root: string): void {
    const repo = this.repos.get(root);
    if (!repo) return;
    for (const file of repo.byFile.keys()) this.collection.delete(vscode.Uri.file(`${root}/${file}`));
    this.repos.delete(root);
    this.client.forget(root).catch((error: unknown) => this.log.warn(`forgetting ${root}: ${(error as Error).message}`));
  }

  /** The text of every open document of the repository at `root`, which counts instead of the disk's. */
  private openTexts(root: string): [string, string][] {
    const out: [string, string][] = [];
    for (const doc of vscode.workspace.textDocuments) {
      if (doc.uri.scheme !== 'file' || doc.isClosed) continue;
      const rel = toRepoPath(root, doc.uri.fsPath);
      if (rel) out.push([rel, doc.getText()]);
    }
    return out;
  }

  /** The open document's text of a repository file, or null when the disk's counts. */
  private openText(repo: PromptRepo, rel: string): string | null {
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && !d.isClosed && d.uri.fsPath === `${repo.root}/${rel}`);
    return doc ? doc.getText() : null;
  }

  private async update(repo: PromptRepo, rel: string): Promise<void> {
    const started = Date.now();
    const index = repo.index;
    const delta = await this.client.update(repo.root, rel, this.openText(repo, rel));
    // Re-indexed meanwhile: the new index already has this text (requests are answered in order).
    if (this.isDisposed || repo.index !== index || this.repos.get(repo.root) !== repo) return;
    const groups = (index as IndexMirror).apply(delta);
    if (groups.length === 0) return;
    this.publish(repo, groups);
    this.log.info(`re-checked ${rel} in ${Date.now() - started} ms (${groups.join(', ')})`);
    this.changed.fire(repo);
  }

  private onDocumentChanged(document: vscode.TextDocument, typed: boolean): void {
    if (document.uri.scheme !== 'file') return;
    const repo = this.repoFor(document.uri.fsPath);
    const rel = repo && toRepoPath(repo.root, document.uri.fsPath);
    if (!repo || !rel) return;
    const settings = readSettings(document.uri);
    if (typed && !settings.checkOnType) return;
    if (rel === 'prompt-ci.yaml') return; // settings take effect on save (see onFileContentChanged)
    this.schedule(`${repo.root}\0${rel}`, typed ? settings.debounceMs : 0, () => this.update(repo, rel));
  }

  private onFileContentChanged(uri: vscode.Uri): void {
    const repo = this.repoFor(uri.fsPath);
    const rel = repo && toRepoPath(repo.root, uri.fsPath);
    if (!repo || !rel) return;
    if (rel === 'prompt-ci.yaml') this.schedule(`${repo.root}\0*`, 100, () => this.indexRepo(repo.root));
    else this.schedule(`${repo.root}\0${rel}`, 100, () => this.update(repo, rel));
  }

  private onFileSetChanged(uri: vscode.Uri, what: 'created' | 'deleted'): void {
    const relevant = /\/prompts\/|prompt-ci\.yaml$|\.(py|pyi|[cm]?[jt]sx?)$/.test(uri.path);
    if (!relevant) return;
    // A new or vanished file can change the layout, add call sites or create a repository:
    // re-discover, debounced so a `git checkout` is one re-index, not hundreds.
    this.schedule('*', 250, () => void this.refreshAll(`${vscode.workspace.asRelativePath(uri)} ${what}`));
  }

  private schedule(key: string, delayMs: number, run: () => void | Promise<void>): void {
    clearTimeout(this.timers.get(key));
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        if (this.isDisposed) return;
        Promise.resolve()
          .then(run)
          .catch((error: unknown) => this.log.error(`check failed: ${(error as Error).message || String(error)}`));
      }, delayMs),
    );
  }
}

/** `/repo/prompts/name/v1/file` → `/repo`. */
function repoRootOfPromptFile(fsPath: string): string {
  return dirname(dirname(dirname(dirname(fsPath))));
}

/**
 * The file a finding is shown on. A finding about a directory (a prompt version that lacks a file,
 * a badly named folder) goes on the directory's metadata.yaml, else its first file, so clicking it
 * opens something useful instead of "the file is not displayed because it is a directory".
 */
function shownFile(root: string, file: string): string {
  const abs = join(root, file);
  let entries: string[];
  try {
    if (!statSync(abs).isDirectory()) return file;
    entries = readdirSync(abs).sort();
  } catch {
    return file;
  }
  if (entries.includes('metadata.yaml')) return `${file}/metadata.yaml`;
  for (const name of entries) {
    try {
      if (statSync(join(abs, name)).isFile()) return `${file}/${name}`;
    } catch {
      // gone meanwhile: try the next
    }
  }
  return file;
}
