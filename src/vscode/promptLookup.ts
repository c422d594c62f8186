import { join } from 'node:path';
import type { Node } from 'web-tree-sitter';
import * as vscode from 'vscode';
import type { CheckedVersion } from '../core/check';
import { contractOf } from '../core/check';
import { isCallSiteSource, mayContainCallSites, sourceLanguageForPath } from '../core/callSites';
import type { CallSite } from '../core/callSites';
import type { LocatedCallSite, VersionContract } from '../core/crossCheck';
import type { LinkTo } from '../core/editorHelp';
import { parseEvalJsonl } from '../core/evalSet';
import type { EvalExample } from '../core/evalSet';
import { promptFileGlob, versionDirOf } from '../core/promptLayout';
import type { RepoSettings } from '../core/repoSettings';
import { parseTemplate } from '../core/template/template';
import type { ParsedTemplate } from '../core/template/template';
import { readRepoSettings } from '../node/checkRepo';
import type { RepoIndexView } from '../node/repoIndex';
import { toRepoPath } from '../node/repoFiles';
import { createSourceParser } from '../node/treeSitter';
import type { SourceParser } from '../node/treeSitter';
import { Disposable } from './disposable';
import type { PromptDiagnostics, PromptRepo } from './promptDiagnostics';
import { toRange } from './toDiagnostic';

/** Source files whose calls can be call sites, by VS Code language. */
export const SOURCE_SELECTOR: vscode.DocumentSelector = ['python', 'typescript', 'typescriptreact', 'javascript', 'javascriptreact'].map(
  (language) => ({ scheme: 'file', language }),
);
/** The templates of prompt versions. */
export const TEMPLATE_SELECTOR: vscode.DocumentFilter = { scheme: 'file', pattern: promptFileGlob('user.template.md') };
/** The eval sets of prompt versions. */
export const EVAL_SELECTOR: vscode.DocumentFilter = { scheme: 'file', pattern: promptFileGlob('eval.jsonl') };

/** A source document read for call sites: its repository, repo-relative path and current call sites. */
export interface SourceDocument {
  repo: PromptRepo;
  rel: string;
  sites: LocatedCallSite[];
}

/** A `user.template.md` document: its prompt version, the cross-check's contract and the current text parsed. */
export interface TemplateDocument {
  repo: PromptRepo;
  rel: string;
  checked: CheckedVersion;
  contract: VersionContract;
  /** The document's current text, parsed (the index may be a debounce behind the editor). */
  parsed: ParsedTemplate;
}

/** An `eval.jsonl` document: its prompt version's contract and the examples of its current text. */
export interface EvalDocument {
  repo: PromptRepo;
  rel: string;
  contract: VersionContract;
  examples: EvalExample[];
}

/**
 * What every editor-help provider asks of the workspace: which repository and prompt version a
 * document belongs to, and its call sites, templates and eval examples.
 *
 * Cross-file facts (other files' call sites, the prompt versions) come from the repository index
 * the diagnostics keep. The document a request is about is read from its current text: the index
 * catches up with typing after a debounce, and a position in a request must match the text the
 * user sees. The parse is remembered per document version, so it happens once per edit at most.
 */
export class PromptLookup extends Disposable {
  private parser?: Promise<SourceParser>;
  private readonly sourceMemo = new Map<string, { version: number; sites: LocatedCallSite[] }>();
  private readonly templateMemo = new Map<string, { version: number; format: string; parsed: ParsedTemplate }>();
  private readonly settingsMemo = new WeakMap<RepoIndexView, RepoSettings>();

  constructor(private readonly diagnostics: PromptDiagnostics) {
    super();
    this._register(
      vscode.workspace.onDidCloseTextDocument((d) => {
        this.sourceMemo.delete(d.uri.toString());
        this.templateMemo.delete(d.uri.toString());
      }),
    );
    this._register({ dispose: () => void this.parser?.then((p) => p.dispose(), () => undefined) });
  }

  /** The repository a file belongs to and the file's repo-relative POSIX path. */
  locate(uri: vscode.Uri): { repo: PromptRepo; rel: string } | undefined {
    if (uri.scheme !== 'file') return undefined;
    const repo = this.diagnostics.repoFor(uri.fsPath);
    const rel = repo && toRepoPath(repo.root, uri.fsPath);
    return repo && rel ? { repo, rel } : undefined;
  }

  /** The URI of a repo-relative path. */
  uriOf(repo: PromptRepo, file: string): vscode.Uri {
    return vscode.Uri.file(join(repo.root, file));
  }

  /** Links to files of `repo`, at a line and column when a range is given (VS Code opens `#L<line>,<column>`). */
  linkTo(repo: PromptRepo): LinkTo {
    return (file, range) => {
      const uri = this.uriOf(repo, file);
      return (range ? uri.with({ fragment: `L${range.start.line + 1},${range.start.character + 1}` }) : uri).toString();
    };
  }

  /** `prompt-ci.yaml` of a repository; read again whenever the diagnostics re-create its index. */
  settingsOf(repo: PromptRepo): RepoSettings {
    let settings = this.settingsMemo.get(repo.index);
    if (!settings) {
      settings = readRepoSettings(repo.root).settings;
      this.settingsMemo.set(repo.index, settings);
    }
    return settings;
  }

  /** The prompt versions of one prompt, as the cross-check sees them. */
  contractsOf(repo: PromptRepo, promptName: string): VersionContract[] {
    return repo.index.contractsOf(promptName);
  }

  /** The checked versions of one prompt (metadata included). */
  versionsOf(repo: PromptRepo, promptName: string): CheckedVersion[] {
    return repo.index.versionsOf(promptName);
  }

  /**
   * Every call site naming `promptName`: the index's, except for open documents, whose current
   * text is read instead (so their positions are the ones on screen, even a debounce after an edit).
   */
  async callSitesOf(repo: PromptRepo, promptName: string): Promise<LocatedCallSite[]> {
    const byFile = new Map<string, LocatedCallSite[]>();
    for (const site of repo.index.callSites(promptName)) byFile.set(site.file, [...(byFile.get(site.file) ?? []), site]);
    for (const document of vscode.workspace.textDocuments) {
      if (document.isClosed) continue;
      const source = await this.sourceDocument(document);
      if (source && source.repo === repo) byFile.set(source.rel, source.sites.filter((s) => s.promptName === promptName));
    }
    return [...byFile.values()].flat();
  }

  /** The call sites of a source document's current text; undefined when it isn't a call-site source of a prompt repository. */
  async sourceDocument(document: vscode.TextDocument): Promise<SourceDocument | undefined> {
    const where = this.locate(document.uri);
    const language = where && sourceLanguageForPath(where.rel);
    if (!where || !language || !isCallSiteSource(where.rel, this.settingsOf(where.repo).callSites)) return undefined;
    const key = document.uri.toString();
    const memo = this.sourceMemo.get(key);
    if (memo && memo.version === document.version) return { ...where, sites: memo.sites };
    const parser = await this.sourceParser();
    const sites = parser
      .callSitesOf(document.getText(), language, this.settingsOf(where.repo).callSites.functions)
      .map((site) => ({ ...site, file: where.rel }));
    this.sourceMemo.set(key, { version: document.version, sites });
    return { ...where, sites };
  }

  /**
   * Parses a source document's current text and runs `read` on its syntax tree and call sites; the
   * tree is freed after. Undefined when the document isn't a call-site source or names no render function.
   */
  async withSourceTree<T>(
    document: vscode.TextDocument,
    read: (root: Node, text: string, sites: LocatedCallSite[], where: { repo: PromptRepo; rel: string }) => T,
  ): Promise<T | undefined> {
    const where = this.locate(document.uri);
    const language = where && sourceLanguageForPath(where.rel);
    if (!where || !language) return undefined;
    const { callSites } = this.settingsOf(where.repo);
    const text = document.getText();
    if (!isCallSiteSource(where.rel, callSites) || !mayContainCallSites(text, callSites.functions)) return undefined;
    const parser = await this.sourceParser();
    // The tree the diagnostics' call sites come from, so a completion sees the same calls.
    const { tree, sites } = parser.callSiteTree(text, language, callSites.functions);
    try {
      return read(tree.rootNode, text, sites.map((s) => ({ ...s, file: where.rel })), where);
    } finally {
      tree.delete();
    }
  }

  /** The prompt version of a `user.template.md` document, with its current text parsed. */
  templateDocument(document: vscode.TextDocument): TemplateDocument | undefined {
    const where = this.locate(document.uri);
    const dir = where && versionDirOf(where.rel);
    if (!where || !dir || where.rel !== `${dir}/user.template.md`) return undefined;
    const checked = where.repo.index.version(dir);
    const contract = checked && contractOf(checked);
    if (!checked || !contract) return undefined;
    const format = checked.metadata?.template_format ?? 'python';
    const key = document.uri.toString();
    let memo = this.templateMemo.get(key);
    if (!memo || memo.version !== document.version || memo.format !== format) {
      memo = { version: document.version, format, parsed: parseTemplate(document.getText(), format) };
      this.templateMemo.set(key, memo);
    }
    return { ...where, checked, contract, parsed: memo.parsed };
  }

  /** The prompt version of an `eval.jsonl` document, with the examples of its current text. */
  evalDocument(document: vscode.TextDocument): EvalDocument | undefined {
    const where = this.locate(document.uri);
    const dir = where && versionDirOf(where.rel);
    if (!where || !dir || where.rel !== `${dir}/eval.jsonl`) return undefined;
    const checked = where.repo.index.version(dir);
    const contract = checked && contractOf(checked);
    if (!contract) return undefined;
    return { ...where, contract, examples: parseEvalJsonl(document.getText()).examples };
  }

  /** The current text of a repository file: the open document's when there is one, else the disk's. */
  async textOf(repo: PromptRepo, file: string): Promise<vscode.TextDocument | undefined> {
    try {
      return await vscode.workspace.openTextDocument(this.uriOf(repo, file));
    } catch {
      return undefined;
    }
  }

  private sourceParser(): Promise<SourceParser> {
    // The extension's parser belongs to the diagnostics; this one shares its loaded grammars.
    this.parser ??= createSourceParser();
    return this.parser;
  }
}

/** A VS Code position as a core one. */
export function corePosition(position: vscode.Position): { line: number; character: number } {
  return { line: position.line, character: position.character };
}

/** Whether a call site is the one a diagnostic on its callee is about. */
export function isSiteOfDiagnostic(site: CallSite, diagnostic: vscode.Diagnostic): boolean {
  return toRange(site.calleeRange).intersection(diagnostic.range) !== undefined;
}
