import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { BaselineError, resolveBaseline } from '../node/baseline';
import { readRepoSettings } from '../node/checkRepo';
import { createNextVersion, NewVersionError } from '../node/newVersion';
import { PROMPT_FILE_NAMES, REQUEST_FILES, promptFileGlob, promptVersionDir } from '../core/promptLayout';
import type { PromptVersionFiles } from '../core/promptLayout';
import { COMMANDS } from './commandTable';
import { Disposable } from './disposable';
import { targetLabel, targetOfPath } from './evalResults';
import type { EvalTarget } from './evalResults';

/** Read-only documents of the production copy of a prompt version (`prompt-ci-baseline:/prompts/x/v1/system.md?id`). */
export const BASELINE_SCHEME = 'prompt-ci-baseline';

/** Opens a workspace-relative file (walkthrough links); anything but a plain relative path is ignored. */
export const OPEN_WORKSPACE_FILE_COMMAND = 'promptCi.openWorkspaceFile';

async function openWorkspaceFile(rel: unknown): Promise<void> {
  if (typeof rel !== 'string' || rel.startsWith('/') || rel.split('/').includes('..')) return;
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const uri = vscode.Uri.joinPath(folder.uri, rel);
    if (folder.uri.scheme === 'file' && existsSync(uri.fsPath)) {
      await vscode.window.showTextDocument(uri, { preview: false });
      return;
    }
  }
  void vscode.window.showInformationMessage(`${rel} is not in this workspace: the walkthrough is written for the example workspace of npm start.`);
}

/** The files compared, in the order an author reads them. */
const COMPARED: (keyof PromptVersionFiles)[] = ['system', 'userTemplate', 'metadataYaml', 'evalJsonl', 'judge'];

/** The files that get the authoring CodeLens. */
const SELECTOR: vscode.DocumentFilter[] = REQUEST_FILES.map((file) => ({ scheme: 'file', pattern: promptFileGlob(file) }));

/** The prompt version a command was invoked on: an Explorer/editor URI, else the active editor. */
function targetOf(arg: unknown): EvalTarget | undefined {
  const uri = arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
  return uri?.scheme === 'file' ? targetOfPath(uri.fsPath) : undefined;
}

/** The highest `v<N>` directory of a prompt on disk. */
function highestVersion(target: EvalTarget): number {
  let highest = target.version;
  for (let v = target.version + 1; existsSync(join(target.repoRoot, promptVersionDir(target.name, v))); v++) highest = v;
  return highest;
}

/**
 * The authoring commands: **New Prompt Version** (vN copied to vN+1 with `version` bumped, the first
 * step of every change when released versions are immutable), **Compare with Previous Version** and
 * **Compare with Production** (VS Code's diff editor on each file of the version), and their
 * CodeLens at the top of a prompt's files.
 */
export class Authoring extends Disposable implements vscode.TextDocumentContentProvider, vscode.CodeLensProvider {
  /** Texts of baseline documents, by URI; a compare replaces its own. */
  private readonly baselineTexts = new Map<string, string>();
  private readonly docChanged = this._register(new vscode.EventEmitter<vscode.Uri>());
  readonly onDidChange = this.docChanged.event;

  constructor(private readonly log: vscode.LogOutputChannel) {
    super();
    this._register(vscode.workspace.registerTextDocumentContentProvider(BASELINE_SCHEME, this));
    this._register(vscode.languages.registerCodeLensProvider(SELECTOR, this));
    this._register(vscode.commands.registerCommand(COMMANDS.newPromptVersion.id, (arg?: unknown) => this.newVersion(arg)));
    this._register(vscode.commands.registerCommand(COMMANDS.compareWithPrevious.id, (arg?: unknown) => this.compareWithPrevious(arg)));
    this._register(vscode.commands.registerCommand(COMMANDS.compareWithProduction.id, (arg?: unknown) => this.compareWithProduction(arg)));
    // Internal (the Getting Started walkthrough's links): opens a workspace-relative file.
    this._register(vscode.commands.registerCommand(OPEN_WORKSPACE_FILE_COMMAND, (rel?: unknown) => openWorkspaceFile(rel)));
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.baselineTexts.get(uri.toString()) ?? '';
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const target = targetOfPath(document.uri.fsPath);
    if (!target) return [];
    const top = new vscode.Range(0, 0, 0, 0);
    return [
      new vscode.CodeLens(top, { title: '$(add) New Version', tooltip: `Copy ${targetLabel(target)} to v${highestVersion(target) + 1}`, command: COMMANDS.newPromptVersion.id, arguments: [document.uri] }),
      new vscode.CodeLens(top, { title: '$(diff) Compare with Production', command: COMMANDS.compareWithProduction.id, arguments: [document.uri] }),
    ];
  }

  /**
   * Copies the version to the next one and opens its system.md. When the next one exists, offers to
   * copy the highest version instead (never overwrites). Resolves with the new version's directory.
   */
  async newVersion(arg?: unknown): Promise<EvalTarget | undefined> {
    const target = targetOf(arg);
    if (!target) {
      void vscode.window.showInformationMessage('Open a file of a prompt version (prompts/<name>/v<N>/), or use the command from its folder in the Explorer.');
      return undefined;
    }
    let from = target.version;
    const highest = highestVersion(target);
    if (highest > from) {
      const copyHighest = `Copy v${highest} to v${highest + 1}`;
      const choice = await vscode.window.showWarningMessage(`${target.name} v${from + 1} already exists and is never overwritten.`, copyHighest);
      if (choice !== copyHighest) return undefined;
      from = highest;
    }
    const unsaved = vscode.workspace.textDocuments.filter((d) => d.isDirty && targetOfPath(d.uri.fsPath)?.promptDir === promptVersionDir(target.name, from));
    const overrides: Record<string, string> = {};
    // The new version starts from what the author sees: unsaved edits of the source go into it.
    for (const doc of unsaved) overrides[doc.uri.fsPath.slice(doc.uri.fsPath.lastIndexOf('/') + 1)] = doc.getText();
    try {
      const created = await createNextVersion(target.repoRoot, target.name, { fromVersion: from, overrides });
      this.log.info(`new prompt version: ${created.toDir} from ${created.fromDir}${unsaved.length > 0 ? ` (with unsaved edits of ${Object.keys(overrides).join(', ')})` : ''}`);
      const system = vscode.Uri.file(join(created.absoluteDir, 'system.md'));
      if (existsSync(system.fsPath)) await vscode.window.showTextDocument(system, { preview: false });
      void vscode.window.showInformationMessage(`Created ${created.toDir} from v${created.fromVersion} (version: ${created.toVersion}). Edit it, then Run Eval vs Baseline.`);
      return { repoRoot: target.repoRoot, promptDir: created.toDir, name: target.name, version: created.toVersion };
    } catch (error) {
      const message = error instanceof NewVersionError ? error.message : (error as Error).message;
      void vscode.window.showErrorMessage(`New prompt version: ${message}`);
      return undefined;
    }
  }

  /** The diff editor on each file of the version against v(N-1) on disk. */
  async compareWithPrevious(arg?: unknown): Promise<void> {
    const target = targetOf(arg);
    if (!target) {
      void vscode.window.showInformationMessage('Open a file of a prompt version to compare it with the previous version.');
      return;
    }
    const previous = join(target.repoRoot, promptVersionDir(target.name, target.version - 1));
    if (target.version === 1 || !existsSync(previous)) {
      void vscode.window.showInformationMessage(`${targetLabel(target)} has no previous version in the working tree.`);
      return;
    }
    const here = join(target.repoRoot, target.promptDir);
    const pairs = COMPARED.map((field) => PROMPT_FILE_NAMES[field])
      .filter((file) => existsSync(join(here, file)) || existsSync(join(previous, file)))
      .map((file): [vscode.Uri, vscode.Uri, vscode.Uri] => {
        const right = vscode.Uri.file(join(here, file));
        return [right, vscode.Uri.file(join(previous, file)), right];
      });
    await this.showChanges(`${target.name}: v${target.version - 1} ↔ v${target.version}`, pairs);
  }

  /** The diff editor on each file of the version against the baseline ref's copy (the production prompt the eval compares with). */
  async compareWithProduction(arg?: unknown): Promise<void> {
    const target = targetOf(arg);
    if (!target) {
      void vscode.window.showInformationMessage('Open a file of a prompt version to compare it with production.');
      return;
    }
    const { settings } = readRepoSettings(target.repoRoot);
    let baseline;
    try {
      baseline = await resolveBaseline({ repoRoot: target.repoRoot, challengerDir: target.promptDir, baselineRef: settings.baselineRef });
    } catch (error) {
      const message = error instanceof BaselineError ? error.message : (error as Error).message;
      void vscode.window.showWarningMessage(`Compare with Production: ${message}`);
      return;
    }
    const here = join(target.repoRoot, target.promptDir);
    const id = Date.now().toString(36);
    const pairs: [vscode.Uri, vscode.Uri, vscode.Uri][] = [];
    for (const field of COMPARED) {
      const file = PROMPT_FILE_NAMES[field];
      const text = baseline.files[field];
      if (text === undefined && !existsSync(join(here, file))) continue;
      const left = vscode.Uri.from({ scheme: BASELINE_SCHEME, path: `/${baseline.dir}/${file}`, query: id });
      this.baselineTexts.set(left.toString(), text ?? '');
      const right = vscode.Uri.file(join(here, file));
      pairs.push([right, left, right]);
    }
    this.log.info(`compare ${target.promptDir} with production: ${baseline.description}`);
    const version = /\/v([0-9]+)$/.exec(baseline.dir)?.[1];
    await this.showChanges(`${target.name}: production${version ? ` v${version}` : ''}${baseline.ref ? ` (${baseline.ref})` : ''} ↔ v${target.version}`, pairs);
  }

  /** The multi-file diff editor; one diff at a time where it isn't available. */
  private async showChanges(title: string, pairs: [vscode.Uri, vscode.Uri, vscode.Uri][]): Promise<void> {
    if (pairs.length === 0) return;
    try {
      await vscode.commands.executeCommand('vscode.changes', title, pairs);
    } catch {
      const [, left, right] = pairs[0];
      await vscode.commands.executeCommand('vscode.diff', left, right, title);
    }
  }
}
