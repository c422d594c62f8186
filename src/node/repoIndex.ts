import { callSiteSourceMatcher, sourceLanguageForPath } from '../core/callSites';
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
export function callSitesOfFile(parser: SourceParser, settings: RepoSettings, path: string, text: string): LocatedCallSite[] {
  const language = sourceLanguageForPath(path);
  if (!language || text.length > MAX_SOURCE_BYTES) return [];
  return parser.callSitesOf(text, language, settings.callSites.functions).map((site) => ({ ...site, file: path }));
}

/**
 * The findings of a repository in named groups, so an edit recomputes only the groups it touches:
 * `layout`, `settings`, `version:<dir>` (metadata, eval set, template syntax) and `cross:<prompt>`
 * (the cross-check of one prompt with its call sites and eval examples).
 */
export type FindingGroups = Map<string, FileFinding[]>;

/**
 * An incremental index of one prompt repository: its prompt versions, their parsed templates and
 * eval examples, and every call site in its sources. `update(path)` re-reads one file and returns
 * the groups whose findings were recomputed. The snapshot decides what "the text of a file" is (disk,
 * or disk overlaid by open editors).
 */
export class RepoIndex {
  private versions = new Map<string, CheckedVersion>();
  private callSitesByFile = new Map<string, LocatedCallSite[]>();
  private readonly groups: FindingGroups = new Map();
  private isSource: (path: string) => boolean;

  constructor(
    readonly root: string,
    private snapshot: RepoSnapshot,
    private settings: RepoSettings,
    private readonly parser: SourceParser,
    private readonly settingsProblems: string[] = [],
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

  /** The versions of one prompt as the cross-check sees them. */
  contractsOf(promptName: string): VersionContract[] {
    return this.promptVersions()
      .filter((v) => v.version.name === promptName)
      .map(contractOf)
      .filter((c): c is VersionContract => c !== undefined);
  }

  /** Every call site, or those naming one prompt. */
  callSites(promptName?: string): LocatedCallSite[] {
    const all = [...this.callSitesByFile.values()].flat();
    return promptName === undefined ? all : all.filter((s) => s.promptName === promptName);
  }

  /** The call sites of one source file. */
  callSitesIn(path: string): LocatedCallSite[] {
    return this.callSitesByFile.get(path) ?? [];
  }

  private rebuildLayout(): void {
    for (const key of [...this.groups.keys()]) if (key.startsWith('version:') || key.startsWith('cross:')) this.groups.delete(key);
    const layout = discoverPrompts(this.snapshot.paths);
    this.groups.set('layout', layout.findings);
    this.versions = new Map();
    for (const version of layout.versions) this.checkVersion(version);
  }

  private checkVersion(version: PromptVersion): void {
    const checked = checkPromptVersion(version, this.snapshot);
    this.versions.set(version.dir, checked);
    this.groups.set(`version:${version.dir}`, checked.findings);
  }

  private readSource(path: string): void {
    const text = this.snapshot.read(path);
    const sites = text === undefined ? [] : callSitesOfFile(this.parser, this.settings, path, text);
    if (sites.length) this.callSitesByFile.set(path, sites);
    else this.callSitesByFile.delete(path);
  }

  private promptNames(): Set<string> {
    const names = new Set([...this.versions.values()].map((v) => v.version.name));
    for (const sites of this.callSitesByFile.values()) for (const s of sites) names.add(s.promptName);
    return names;
  }

  /** Recomputes the cross-check group of one prompt; returns its key. */
  private crossCheck(promptName: string): string {
    const key = `cross:${promptName}`;
    const declared = [...this.versions.values()].some((v) => v.version.name === promptName);
    const contracts = this.contractsOf(promptName);
    const sites = this.callSites(promptName);
    // A prompt whose templates can't be read has nothing to check its call sites against.
    if ((declared && contracts.length === 0) || (!declared && sites.length === 0)) this.groups.delete(key);
    else this.groups.set(key, crossCheckPrompt(promptName, contracts, sites));
    return key;
  }
}

function sourceMatcher(settings: RepoSettings): (path: string) => boolean {
  const matches = callSiteSourceMatcher(settings.callSites);
  return (path) => sourceLanguageForPath(path) !== undefined && matches(path);
}
