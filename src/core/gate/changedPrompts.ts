import type { CallSite } from '../callSites';
import { LineIndex } from '../lineIndex';
import { byVersionNumber, comparePromptNames, versionDirOf, versionOfDirName } from '../promptLayout';

/**
 * What a call site is, for deciding whether it changed: the prompt and version it names, the
 * variables it passes and the text of the call with its whitespace collapsed. Where the call sits
 * in the file is left out, so a call that only moved (lines added above it) is unchanged; any edit
 * of the call itself (a variable's value, the version, the callee) is a change.
 */
export function callSiteSignature(site: CallSite, text: string, lines: LineIndex = new LineIndex(text)): string {
  const callText = text.slice(lines.offsetAt(site.range.start), lines.offsetAt(site.range.end)).replace(/\s+/g, ' ').trim();
  return JSON.stringify([site.promptName, site.version ?? null, site.variables.map((v) => v.name), site.dynamic ? 'dynamic' : '', callText]);
}

/** One prompt whose call sites in one source file differ between the merge-base and the working tree. */
export interface CallSiteChange {
  promptName: string;
  /** Repo-relative POSIX path of the source file. */
  file: string;
  /** The versions the changed call sites name (`undefined`: a site that names no version). */
  versions: Array<number | undefined>;
}

/**
 * The prompts whose call sites in one file changed: a site added, removed or edited, compared as
 * multisets of {@link callSiteSignature}. `before` is empty for a new file, `after` for a deleted one.
 */
export function changedCallSitePrompts(
  file: string,
  before: { text: string; sites: readonly CallSite[] },
  after: { text: string; sites: readonly CallSite[] },
): CallSiteChange[] {
  const count = (side: { text: string; sites: readonly CallSite[] }): Map<string, { site: CallSite; n: number }> => {
    const lines = new LineIndex(side.text);
    const out = new Map<string, { site: CallSite; n: number }>();
    for (const site of side.sites) {
      const key = callSiteSignature(site, side.text, lines);
      const entry = out.get(key);
      if (entry) entry.n += 1;
      else out.set(key, { site, n: 1 });
    }
    return out;
  };
  const was = count(before);
  const now = count(after);
  const byPrompt = new Map<string, Set<number | undefined>>();
  const note = (site: CallSite): void => {
    const versions = byPrompt.get(site.promptName) ?? new Set<number | undefined>();
    versions.add(site.version);
    byPrompt.set(site.promptName, versions);
  };
  for (const [key, { site, n }] of now) if ((was.get(key)?.n ?? 0) !== n) note(site);
  for (const [key, { site, n }] of was) if ((now.get(key)?.n ?? 0) !== n) note(site);
  return [...byPrompt]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([promptName, versions]) => ({ promptName, file, versions: [...versions] }));
}

/** A prompt version in the working tree, as far as the gate needs to know it. */
export interface KnownVersion {
  dir: string;
  name: string;
  version: number;
}

/** A prompt version the gate evaluates (or reports as removed), and why it is on the list. */
export interface ChangedPromptVersion {
  /** Repo-relative POSIX path, e.g. `prompts/summarisation/v2`. */
  dir: string;
  name: string;
  version: number;
  /** Files of the version directory that changed (repo-relative POSIX), sorted. */
  files: string[];
  /** Source files whose call sites of this prompt changed, sorted. */
  callSiteFiles: string[];
  /** Its files changed but the directory is no longer in the working tree: nothing to evaluate. */
  removed: boolean;
}

/**
 * Maps what changed since the merge-base to the prompt versions to gate: every version directory
 * with a changed file (committed, staged, unstaged or untracked: the caller lists them all), and,
 * for every prompt whose call sites changed, the version those sites name, or the highest version
 * in the working tree when they name none. A call site naming a version that does not exist is
 * left to `check`, which reports it. Sorted by prompt name, then version.
 */
export function planChangedPrompts(input: {
  changedPaths: readonly string[];
  versions: readonly KnownVersion[];
  callSiteChanges: readonly CallSiteChange[];
}): ChangedPromptVersion[] {
  const known = new Map(input.versions.map((v) => [v.dir, v]));
  const planned = new Map<string, ChangedPromptVersion>();
  const entry = (dir: string): ChangedPromptVersion => {
    let e = planned.get(dir);
    if (!e) {
      const [, name, v] = dir.split('/');
      // Every dir here came from versionDirOf, so its version number is readable.
      e = { dir, name, version: versionOfDirName(v)!, files: [], callSiteFiles: [], removed: !known.has(dir) };
      planned.set(dir, e);
    }
    return e;
  };

  for (const path of input.changedPaths) {
    const dir = versionDirOf(path);
    if (dir) entry(dir).files.push(path);
  }

  const highest = new Map<string, KnownVersion>();
  for (const v of input.versions) {
    const best = highest.get(v.name);
    if (!best || v.version > best.version) highest.set(v.name, v);
  }
  for (const change of input.callSiteChanges) {
    for (const version of change.versions) {
      const target = version === undefined ? highest.get(change.promptName) : known.get(`prompts/${change.promptName}/v${version}`);
      if (!target) continue;
      const e = entry(target.dir);
      if (!e.callSiteFiles.includes(change.file)) e.callSiteFiles.push(change.file);
    }
  }

  return [...planned.values()]
    .map((e) => ({ ...e, files: [...new Set(e.files)].sort(), callSiteFiles: [...e.callSiteFiles].sort() }))
    .sort((a, b) => comparePromptNames(a.name, b.name) || byVersionNumber(a.version, b.version));
}

/** One ref a `git push` updates, as git hands it to the pre-push hook. */
export interface PushedRef {
  /** `refs/heads/main`. */
  remoteRef: string;
  /** What the remote has there now; all zeros when the push creates the ref. */
  remoteSha: string;
}

/** Reads `--pushing REMOTE_REF=REMOTE_SHA` values; undefined for one that isn't such a pair. */
export function parsePushedRef(value: string): PushedRef | undefined {
  const m = /^(refs\/[^\s=]+)=([0-9a-f]{40}|[0-9a-f]{64})$/.exec(value.trim());
  return m ? { remoteRef: m[1], remoteSha: m[2] } : undefined;
}

/**
 * When a push updates the base branch itself on the remote (a team that works on `main`), the
 * commits being pushed are not on the remote yet, but a local base ref such as `main` already has
 * them: measured against it, the pushed change would be its own baseline. The remote's current
 * commit of that branch is then the base. `baseRefs` are the base refs the gate would try
 * (`--base`, `baselineRef`, or origin/main and main), `remotes` the repository's remote names.
 * Returns the commit to use as the base, or undefined to keep the usual one.
 */
export function baseFromPush(pushed: readonly PushedRef[], baseRefs: readonly string[], remotes: readonly string[]): string | undefined {
  const branchOf = (ref: string): string => {
    const local = ref.replace(/^refs\/heads\//, '').replace(/^refs\/remotes\//, '');
    const slash = local.indexOf('/');
    return slash > 0 && remotes.includes(local.slice(0, slash)) ? local.slice(slash + 1) : local;
  };
  const branches = new Set(baseRefs.map(branchOf));
  for (const ref of pushed) {
    if (!ref.remoteRef.startsWith('refs/heads/') || /^0+$/.test(ref.remoteSha)) continue;
    if (branches.has(ref.remoteRef.slice('refs/heads/'.length))) return ref.remoteSha;
  }
  return undefined;
}
