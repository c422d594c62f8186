import { callSiteSourceMatcher, mayContainCallSites, sourceLanguageForPath } from '../core/callSites';
import type { SourceLanguage } from '../core/callSites';
import { checkPromptVersion, contractOf } from '../core/check';
import type { CheckedVersion, RepoSnapshot } from '../core/check';
import { crossCheckPrompt } from '../core/crossCheck';
import type { LocatedCallSite, VersionContract } from '../core/crossCheck';
import type { FileFinding } from '../core/finding';
import { START_OF_FILE } from '../core/finding';
import { discoverPrompts, versionDirOf } from '../core/promptLayout';
import type { PromptVersion } from '../core/promptLayout';
import type { RepoSettings } from '../core/repoSettings';
import type { SourceParser } from './treeSitter';

/** Source files larger than this are not parsed for call sites (generated bundles, vendored code). */
export const MAX_SOURCE_BYTES = 1024 * 1024;

/** The call sites of one source file, located; empty for files that aren't sources or are too large. */
export function callSitesOfFile(parser: SourceParser, functions: readonly string[], path: string, text: string): LocatedCallSite[] {
  const language = sourceLanguageForPath(path);
  if (!language || text.length > MAX_SOURCE_BYTES) return [];
  return parser.callSitesOf(text, language, functions).map((site) => ({ ...site, file: path }));
}

/**
 * Keeps parsed results across builds (see IndexCache): a source file's call sites and a prompt
 * version's check, each recomputed only when `compute` is called.
 */
export interface IndexMemo {
  callSites(path: string, language: string, functions: readonly string[], read: () => string | undefined, compute: (text: string) => LocatedCallSite[]): LocatedCallSite[];
  checkedVersion(version: PromptVersion, snapshot: RepoSnapshot, compute: (snapshot: RepoSnapshot) => CheckedVersion): CheckedVersion;
  /** True when `callSites` would answer from what it keeps, without calling `compute`. */
  hasCallSites(path: string, language: string, functions: readonly string[], read: () => string | undefined): boolean;
}

/** What a build of a repository will parse (see `sourcesToParse`). */
export interface SourcesToParse {
  /** The languages whose grammars need loading. */
  languages: SourceLanguage[];
  /** How much source text (UTF-16 code units) will be parsed, counted up to the `countUpTo` asked for. */
  chars: number;
}

/**
 * What a build of `snapshot` will parse: the languages of the source files whose text names a
 * render function (the others are never parsed) and whose call sites `memo` doesn't already keep,
 * and the length of those texts, counted until it reaches `countUpTo` (files are read only as far
 * as the answer needs). Only those grammars need loading; none at all when nothing is to be parsed.
 */
export function sourcesToParse(snapshot: RepoSnapshot, settings: RepoSettings, memo?: IndexMemo, countUpTo = 0): SourcesToParse {
  const isSource = sourceMatcher(settings);
  const functions = settings.callSites.functions;
  const needed = new Set<SourceLanguage>();
  let chars = 0;
  for (const path of snapshot.paths) {
    const language = sourceLanguageForPath(path);
    if (!language || (needed.has(language) && chars >= countUpTo) || !isSource(path)) continue;
    const read = (): string | undefined => snapshot.read(path);
    if (memo?.hasCallSites(path, language, functions, read)) continue;
    const text = read();
    if (text !== undefined && text.length <= MAX_SOURCE_BYTES && mayContainCallSites(text, functions)) {
      needed.add(language);
      chars += text.length;
    }
  }
  return { languages: [...needed], chars };
}

/**
 * The findings of a repository in named groups, so an edit recomputes only the groups it touches:
 * `layout`, `settings`, `version:<dir>` (metadata, eval set, template syntax) and `cross:<prompt>`
 * (the cross-check of one prompt with its call sites and eval examples).
 */
export type FindingGroups = Map<string, FileFinding[]>;

/** What the editor reads of a repository's index, whether the index is built here or in the index worker. */
export interface RepoIndexView {
  readonly root: string;
  /** Every finding of the repository, by group. */
  readonly findingGroups: ReadonlyMap<string, readonly FileFinding[]>;
  /** All findings, flattened. */
  allFindings(): FileFinding[];
  /** The prompt versions, by directory. */
  promptVersions(): CheckedVersion[];
  /** How many prompt versions there are. */
  readonly versionCount: number;
  /** The checked version in directory `dir`. */
  version(dir: string): CheckedVersion | undefined;
  /** The checked versions of one prompt. */
  versionsOf(promptName: string): CheckedVersion[];
  /** The versions of one prompt as the cross-check sees them. */
  contractsOf(promptName: string): VersionContract[];
  /** Every call site, or those naming one prompt. */
  callSites(promptName?: string): LocatedCallSite[];
  /** The call sites of one source file. */
  callSitesIn(path: string): LocatedCallSite[];
}

/**
 * An incremental index of one prompt repository: its prompt versions, their parsed templates and
 * eval examples, and every call site in its sources. `update(path)` re-reads one file and returns
 * the groups whose findings were recomputed. The snapshot decides what "the text of a file" is (disk,
 * or disk overlaid by open editors).
 */
export class RepoIndex implements RepoIndexView {
  private versions = new Map<string, CheckedVersion>();
  private callSitesByFile = new Map<string, LocatedCallSite[]>();
  /** Prompt name → the source files with a call site naming it (so one prompt's cross-check needn't scan every site). */
  private filesNaming = new Map<string, Set<string>>();
  /** Prompt name → its versions' directories. */
  private versionsNamed = new Map<string, Set<string>>();
  private readonly groups: FindingGroups = new Map();
  private isSource: (path: string) => boolean;

  constructor(
    readonly root: string,
    private snapshot: RepoSnapshot,
    private settings: RepoSettings,
    private readonly parser: SourceParser,
    private readonly settingsProblems: string[] = [],
    private readonly memo?: IndexMemo,
  ) {
    this.isSource = sourceMatcher(settings);
  }

  /** Every finding of the repository, by group. */
  get findingGroups(): ReadonlyMap<string, readonly FileFinding[]> {
    return this.groups;
  }

  /** All findings, flattened. */
  allFindings(): FileFinding[] {
    return [...this.groups.values()].flat();
  }

  /** Reads and checks everything. */
  build(): void {
    this.groups.clear();
    this.groups.set(
      'settings',
      this.settingsProblems.map((message) => ({ file: 'prompt-ci.yaml', code: 'settings/invalid', severity: 'warning' as const, range: START_OF_FILE, message })),
    );
    this.rebuildLayout();
    this.callSitesByFile.clear();
    this.filesNaming.clear();
    for (const path of this.snapshot.paths) if (this.isSource(path)) this.readSource(path);
    for (const name of this.promptNames()) this.crossCheck(name);
  }

  /** Re-reads one file whose text changed; returns the groups recomputed. */
  update(path: string): string[] {
    const versionDir = versionDirOf(path);
    if (versionDir) {
      const checked = this.versions.get(versionDir);
      if (!checked) return [];
      this.checkVersion(checked.version);
      return [`version:${versionDir}`, this.crossCheck(checked.version.name)];
    }
    if (this.isSource(path)) {
      const before = new Set((this.callSitesByFile.get(path) ?? []).map((s) => s.promptName));
      this.readSource(path);
      for (const site of this.callSitesByFile.get(path) ?? []) before.add(site.promptName);
      return [...before].map((name) => this.crossCheck(name));
    }
    return [];
  }

  /** Files appeared or vanished: re-list and recompute what the new layout changes. */
  replaceSnapshot(snapshot: RepoSnapshot): void {
    this.snapshot = snapshot;
    this.build();
  }

  /** The prompt versions, by directory. */
  promptVersions(): CheckedVersion[] {
    return [...this.versions.values()];
  }

  get versionCount(): number {
    return this.versions.size;
  }

  /** The checked version in directory `dir`. */
  version(dir: string): CheckedVersion | undefined {
    return this.versions.get(dir);
  }

  /** The versions of one prompt as the cross-check sees them. */
  contractsOf(promptName: string): VersionContract[] {
    return this.versionsOf(promptName)
      .map(contractOf)
      .filter((c): c is VersionContract => c !== undefined);
  }

  /** The checked versions of one prompt, in the order of `promptVersions()`. */
  versionsOf(promptName: string): CheckedVersion[] {
    const dirs = this.versionsNamed.get(promptName);
    if (!dirs) return [];
    return [...dirs].map((dir) => this.versions.get(dir)).filter((v): v is CheckedVersion => v !== undefined);
  }

  /** Every call site, or those naming one prompt (in file order either way). */
  callSites(promptName?: string): LocatedCallSite[] {
    if (promptName === undefined) return [...this.callSitesByFile.values()].flat();
    const files = this.filesNaming.get(promptName);
    if (!files) return [];
    const sites: LocatedCallSite[] = [];
    for (const file of [...files].sort(byCodeUnit)) for (const s of this.callSitesByFile.get(file) ?? []) if (s.promptName === promptName) sites.push(s);
    return sites;
  }

  /** The call sites of one source file. */
  callSitesIn(path: string): LocatedCallSite[] {
    return this.callSitesByFile.get(path) ?? [];
  }

  private rebuildLayout(): void {
    for (const key of [...this.groups.keys()]) if (key.startsWith('version:') || key.startsWith('cross:')) this.groups.delete(key);
    const layout = discoverPrompts(this.snapshot.paths, { linked: (path) => this.snapshot.linked?.(path) ?? false });
    this.groups.set('layout', layout.findings);
    this.versions = new Map();
    this.versionsNamed = new Map();
    for (const version of layout.versions) {
      this.checkVersion(version);
      addTo(this.versionsNamed, version.name, version.dir);
    }
  }

  private checkVersion(version: PromptVersion): void {
    const checked = this.memo ? this.memo.checkedVersion(version, this.snapshot, (s) => checkPromptVersion(version, s)) : checkPromptVersion(version, this.snapshot);
    this.versions.set(version.dir, checked);
    this.groups.set(`version:${version.dir}`, checked.findings);
  }

  private readSource(path: string): void {
    const sites = this.sourceSites(path);
    for (const s of this.callSitesByFile.get(path) ?? []) this.filesNaming.get(s.promptName)?.delete(path);
    if (sites.length) this.callSitesByFile.set(path, sites);
    else this.callSitesByFile.delete(path);
    for (const s of sites) addTo(this.filesNaming, s.promptName, path);
  }

  private sourceSites(path: string): LocatedCallSite[] {
    const read = (): string | undefined => this.snapshot.read(path);
    const language = sourceLanguageForPath(path);
    if (!this.memo || !language) {
      const text = read();
      return text === undefined ? [] : callSitesOfFile(this.parser, this.settings.callSites.functions, path, text);
    }
    return this.memo.callSites(path, language, this.settings.callSites.functions, read, (text) => callSitesOfFile(this.parser, this.settings.callSites.functions, path, text));
  }

  /** The prompts that have a version directory. */
  private declaredPromptNames(): string[] {
    return [...new Set([...this.versions.values()].map((v) => v.version.name))];
  }

  private promptNames(): Set<string> {
    const names = new Set(this.versionsNamed.keys());
    for (const [name, files] of this.filesNaming) if (files.size > 0) names.add(name);
    return names;
  }

  /** Recomputes the cross-check group of one prompt; returns its key. */
  private crossCheck(promptName: string): string {
    const key = `cross:${promptName}`;
    const declared = (this.versionsNamed.get(promptName)?.size ?? 0) > 0;
    const contracts = this.contractsOf(promptName);
    const sites = this.callSites(promptName);
    // A prompt whose templates can't be read has nothing to check its call sites against.
    if ((declared && contracts.length === 0) || (!declared && sites.length === 0)) this.groups.delete(key);
    else this.groups.set(key, crossCheckPrompt(promptName, contracts, sites, declared ? [] : this.declaredPromptNames()));
    return key;
  }
}

function addTo(map: Map<string, Set<string>>, key: string, value: string): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** True for the paths the index reads for call sites under these settings. */
export function sourceMatcher(settings: RepoSettings): (path: string) => boolean {
  const matches = callSiteSourceMatcher(settings.callSites);
  return (path) => sourceLanguageForPath(path) !== undefined && matches(path);
}
