import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { callSiteSourceMatcher, mayContainCallSites, sourceLanguageForPath } from '../core/callSites';
import type { CallSite } from '../core/callSites';
import { baseFromPush, changedCallSitePrompts, planChangedPrompts } from '../core/gate/changedPrompts';
import { splitNul } from '../core/gitOutput';
import type { CallSiteChange, ChangedPromptVersion, PushedRef } from '../core/gate/changedPrompts';
import { discoverPrompts, versionDirOf, versionOfDirName } from '../core/promptLayout';
import type { RepoSettings } from '../core/repoSettings';
import { DEFAULT_BASELINE_REFS } from './baseline';
import type { GitRunner } from './git';
import { gitTopLevel, isGitAnswer, isShallowRepository, listRemotes, missingRefMessage, resolveCommit, runGit, showFileAt } from './git';
import { MAX_SOURCE_BYTES } from './repoIndex';
import { isLink, listRepoFiles } from './repoFiles';
import type { SourceParser } from './treeSitter';

/** What changed since the merge-base with the base ref, and the prompt versions that makes gate-worthy. */
export interface ChangedPrompts {
  /** The ref the changes are measured against (`--base`, else `baselineRef`, else origin/main or main). */
  baseRef: string;
  /** The base for people: the ref, or "the remote's main (3f2c1a9b0d1e)" for a push to the base branch. */
  baseLabel: string;
  baseCommit: string;
  /** `git merge-base <baseRef> HEAD`. */
  mergeBase: string;
  /** HEAD is the merge-base and the checked-out branch is the base branch itself: committed changes are part of the base. */
  onBaseBranch: boolean;
  /** Every changed file under the repository root (repo-relative POSIX): committed, staged, unstaged and untracked. */
  changedPaths: string[];
  /** The prompt versions to gate, sorted by name and version. */
  prompts: ChangedPromptVersion[];
}

/** The gate can't work out what changed (no git repository, a missing base ref, no merge-base): an environment error. */
export class GateSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GateSetupError';
  }
}

/** What `findChangedPrompts` needs. */
export interface FindChangedPromptsOptions {
  /** The prompt repository root (where `prompt-ci.yaml` and `prompts/` are); may be below the git top level. */
  repoRoot: string;
  /** `--base`; default `settings.baselineRef`, else origin/main then main. */
  base?: string;
  settings: RepoSettings;
  git?: GitRunner;
  /** Made only when a changed source file may hold call sites (most changes need no parser). */
  parser: () => Promise<SourceParser>;
  /** The refs a `git push` is updating (from the pre-push hook): a push to the base branch is measured against the remote's commit of it. */
  pushed?: readonly PushedRef[];
}

async function gitText(git: GitRunner, cwd: string, args: string[]): Promise<string> {
  return (await git(args, { cwd })).toString('utf8');
}

/** The base ref and its commit, or a GateSetupError that says how to fetch it. */
async function resolveBase(
  git: GitRunner,
  root: string,
  refs: readonly string[],
  configured: boolean,
  resolve: (rev: string) => Promise<string | undefined> = (rev) => resolveCommit(git, root, rev),
): Promise<{ ref: string; commit: string }> {
  for (const ref of refs) {
    const commit = await resolve(ref);
    if (commit) return { ref, commit };
  }
  throw new GateSetupError(await missingRefMessage(git, root, { role: 'base', refs, configured, instead: '--base REF' }));
}

/**
 * Finds the prompt versions changed since the merge-base of HEAD and the base ref: files under
 * `prompts/<name>/v<N>/` that differ between the merge-base and the working tree (so committed,
 * staged and unstaged edits all count, and an edit reverted before committing does not), untracked
 * files that git does not ignore, and prompts whose call sites changed in a changed source file.
 * Reads git only; the working tree, index and HEAD are left alone.
 * @throws GateSetupError when there is no git repository, base ref or merge-base.
 */
export async function findChangedPrompts(options: FindChangedPromptsOptions): Promise<ChangedPrompts> {
  const git = options.git ?? runGit;
  const root = options.repoRoot;
  const refs = options.base !== undefined ? [options.base] : options.settings.baselineRef !== undefined ? [options.settings.baselineRef] : DEFAULT_BASELINE_REFS;
  // HEAD and the base refs are asked of git while the top level is (one process each, at once); their answers are used in the order below.
  const early = new Map<string, Promise<string | undefined>>();
  const resolveEarly = (rev: string): Promise<string | undefined> => {
    let answer = early.get(rev);
    if (!answer) {
      answer = resolveCommit(git, root, rev);
      answer.catch(() => undefined); // awaited below, or not needed
      early.set(rev, answer);
    }
    return answer;
  };
  if (!options.pushed?.length) for (const rev of ['HEAD', ...refs]) resolveEarly(rev);
  const topLevel = await gitTopLevel(git, root);
  if (topLevel === undefined) throw new GateSetupError(`${root} is not in a git repository: the gate compares against a base ref`);

  const fromPush = options.pushed?.length ? baseFromPush(options.pushed, refs, await listRemotes(git, root)) : undefined;
  // The remote's commit is usually known locally (fetched before); when it isn't, git refuses the push as non-fast-forward anyway.
  const pushedBase = fromPush !== undefined && (await resolveCommit(git, root, fromPush)) !== undefined ? fromPush : undefined;
  const base = pushedBase !== undefined ? { ref: pushedBase, commit: pushedBase } : await resolveBase(git, root, refs, options.base !== undefined || options.settings.baselineRef !== undefined, resolveEarly);
  const head = await resolveEarly('HEAD');
  if (head === undefined) throw new GateSetupError('HEAD has no commit yet: commit something first, then the gate can compare with the base ref');

  let mergeBase: string;
  try {
    mergeBase = (await gitText(git, root, ['merge-base', base.commit, head])).trim();
  } catch (error) {
    if (!isGitAnswer(error)) throw error;
    const shallow = await isShallowRepository(git, root);
    throw new GateSetupError(
      shallow
        ? `no merge-base of HEAD and ${base.ref} in this shallow clone: fetch more history (git fetch --unshallow, or actions/checkout with fetch-depth: 0)`
        : `HEAD and ${base.ref} have no common ancestor, so nothing can be measured against it; pass --base REF`,
    );
  }

  // Both run in the repository root: `--relative` and ls-files then give paths under it, relative to it.
  const [diffOut, untrackedOut, branchOut] = await Promise.all([
    gitText(git, root, ['diff', '--name-only', '--no-renames', '--no-ext-diff', '--no-color', '--relative', '-z', mergeBase, '--']),
    gitText(git, root, ['ls-files', '--others', '--exclude-standard', '-z']),
    gitText(git, root, ['rev-parse', '--abbrev-ref', 'HEAD']).catch(() => ''),
  ]);
  const changedPaths = [...new Set([...splitNul(diffOut), ...splitNul(untrackedOut)])].sort();

  const branch = branchOut.trim();
  const onBaseBranch = head === mergeBase && branch !== '' && branch !== 'HEAD' && (base.ref === branch || base.ref.endsWith(`/${branch}`));

  const layout = discoverPrompts(listRepoFiles(root, 'prompts'), { linked: (path) => isLink(join(root, path)) });
  // A version directory that is a link, or a file, is present, not removed: evaluating it is refused with its own sentence.
  const linked = layout.findings
    .filter((f) => (f.code === 'file/refused' || f.code === 'layout/not-a-directory') && versionDirOf(f.file) === f.file)
    .map((f) => ({ name: f.file.split('/')[1], version: versionOfDirName(f.file.split('/')[2])!, dir: f.file, files: {}, missing: [] }));
  const versions = [...layout.versions, ...linked];
  const callSiteChanges = await findCallSiteChanges(git, root, mergeBase, changedPaths, options);
  return {
    baseRef: base.ref,
    baseLabel: pushedBase !== undefined ? `the remote's ${options.pushed?.find((p) => p.remoteSha === pushedBase)?.remoteRef.slice('refs/heads/'.length)} (${pushedBase.slice(0, 12)})` : base.ref,
    baseCommit: base.commit,
    mergeBase,
    onBaseBranch,
    changedPaths,
    prompts: planChangedPrompts({ changedPaths, versions, callSiteChanges }),
  };
}

async function findCallSiteChanges(
  git: GitRunner,
  root: string,
  mergeBase: string,
  changedPaths: readonly string[],
  options: FindChangedPromptsOptions,
): Promise<CallSiteChange[]> {
  const { functions } = options.settings.callSites;
  const isSource = callSiteSourceMatcher(options.settings.callSites);
  const candidates = changedPaths.filter((p) => isSource(p) && sourceLanguageForPath(p) !== undefined);
  if (candidates.length === 0) return [];

  const texts = await Promise.all(
    candidates.map(async (path) => {
      const [before, after] = await Promise.all([
        // `./` makes the path relative to the working directory: the repository root, which may be below the top level.
        showFileAt(git, root, mergeBase, `./${path}`),
        readFile(join(root, path), 'utf8').catch(() => undefined),
      ]);
      return { path, before: before ?? '', after: after ?? '' };
    }),
  );
  // Text search first: most changed sources name no render function and need no parse.
  const worth = texts.filter(
    (t) =>
      t.before !== t.after &&
      (mayContainCallSites(t.before, functions) || mayContainCallSites(t.after, functions)) &&
      t.before.length <= MAX_SOURCE_BYTES &&
      t.after.length <= MAX_SOURCE_BYTES,
  );
  if (worth.length === 0) return [];

  const parser = await options.parser();
  const sitesOf = (path: string, text: string): CallSite[] => {
    const language = sourceLanguageForPath(path);
    return language && text !== '' ? parser.callSitesOf(text, language, functions) : [];
  };
  return worth.flatMap((t) =>
    changedCallSitePrompts(t.path, { text: t.before, sites: sitesOf(t.path, t.before) }, { text: t.after, sites: sitesOf(t.path, t.after) }),
  );
}
