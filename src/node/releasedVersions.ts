import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { START_OF_FILE } from '../core/finding';
import type { FileFinding } from '../core/finding';
import { splitNul } from '../core/gitOutput';
import { releasedVersionFindings } from '../core/gate/releasedVersions';
import type { VersionTexts } from '../core/gate/releasedVersions';
import { discoverPrompts, promptVersionOfPath, versionDirOf, versionOfDirName } from '../core/promptLayout';
import type { RepoSettings } from '../core/repoSettings';
import { DEFAULT_BASELINE_REFS } from './baseline';
import type { GitRunner } from './git';
import { GitUnavailableError, isGitAnswer, resolveCommit, runGit, showFileAt, topLevelAndCommit } from './git';
import { listRepoFiles } from './repoFiles';

/** The commits a released-version check compares against. */
export interface ReleaseBase {
  /** The baseline ref, for people (`main`). */
  baseRef: string;
  /** Its commit: a version directory there is released. */
  baseCommit: string;
  /** `git merge-base` of HEAD and that commit: what this branch started from, so its own changes are what is compared. */
  mergeBase: string;
}

/** The files of a version the released-version check compares. */
export const RELEASED_VERSION_FILES: ReadonlyArray<keyof VersionTexts> = ['system.md', 'user.template.md', 'metadata.yaml', 'eval.jsonl'];

/** What `releasedVersionFindingsOnDisk` needs. */
export interface ReleasedVersionsOptions {
  repoRoot: string;
  settings: RepoSettings;
  base: ReleaseBase;
  /** The version directories to look at (repo-relative POSIX); the ones not on the base ref are skipped. */
  dirs: readonly string[];
  git?: GitRunner;
  /** Text of a file that differs from the disk (an unsaved editor), by repo-relative path. */
  overlay?: (repoPath: string) => string | undefined;
}

/**
 * The released-version findings (DESIGN.md section 11) of the given version directories: each one
 * that exists on the base ref is compared, as it was at the merge-base (or, when this branch
 * started before it was released, as it is on the base ref), with the working tree. A directory
 * that is gone from the working tree is not compared: deleting is the control plane's question.
 * Reads git objects and files only.
 */
export async function releasedVersionFindingsOnDisk(options: ReleasedVersionsOptions): Promise<FileFinding[]> {
  const git = options.git ?? runGit;
  const { repoRoot, base } = options;
  const versions = discoverPrompts(listRepoFiles(repoRoot, 'prompts')).versions;
  const present = new Set(versions.map((v) => v.dir));
  const highest = new Map<string, number>();
  for (const v of versions) highest.set(v.name, Math.max(highest.get(v.name) ?? 0, v.version));

  const findings: FileFinding[] = [];
  for (const dir of [...new Set(options.dirs)].sort()) {
    if (!present.has(dir)) continue;
    const released = await releasedTextsOf(repoRoot, base, dir, git);
    if (!released) continue;
    const current: VersionTexts = {};
    for (const file of RELEASED_VERSION_FILES) {
      const path = `${dir}/${file}`;
      const text = options.overlay?.(path) ?? (await readFile(join(repoRoot, path), 'utf8').catch(() => undefined));
      if (text !== undefined) current[file] = text;
    }
    const [, name, v] = dir.split('/');
    const version = versionOfDirName(v)!; // dir came from versionDirOf
    findings.push(
      ...releasedVersionFindings({
        dir,
        version,
        baseRef: base.baseRef,
        released,
        current,
        nextVersion: (highest.get(name) ?? version) + 1,
        mode: options.settings.releasedVersions,
      }),
    );
  }
  return findings;
}

/** The files of `dir` at `rev`; undefined when it has none of them there. */
async function versionTextsAt(git: GitRunner, repoRoot: string, rev: string, dir: string): Promise<VersionTexts | undefined> {
  const texts: VersionTexts = {};
  let any = false;
  for (const file of RELEASED_VERSION_FILES) {
    // `./` resolves against the working directory: the repository root, which may be below git's top level.
    const text = await showFileAt(git, repoRoot, rev, `./${dir}/${file}`);
    if (text !== undefined) {
      texts[file] = text;
      any = true;
    }
  }
  return any ? texts : undefined;
}

/**
 * What the released-version findings compare `dir` with: its files at the merge-base (or, when
 * this branch started before it was released, on the base ref); undefined when `dir` is not on
 * the base ref (not released).
 */
export async function releasedTextsOf(repoRoot: string, base: ReleaseBase, dir: string, git: GitRunner = runGit): Promise<VersionTexts | undefined> {
  if ((await versionTextsAt(git, repoRoot, base.baseCommit, dir)) === undefined) return undefined;
  return (await versionTextsAt(git, repoRoot, base.mergeBase, dir)) ?? (await versionTextsAt(git, repoRoot, base.baseCommit, dir));
}

/**
 * The base `prompt-ci check` compares released versions with: the configured `baselineRef`, else
 * origin/main, else main, and its merge-base with HEAD; undefined outside a git repository or when
 * no such ref exists (then there is nothing released to protect, and check says nothing about it).
 */
export async function findReleaseBase(repoRoot: string, settings: RepoSettings, git: GitRunner = runGit): Promise<ReleaseBase | undefined> {
  const at = await findBaseCommit(repoRoot, settings, git);
  return at && withMergeBase(repoRoot, at, git);
}

/** The first baseline ref (configured, else origin/main, else main) that names a commit; undefined outside git or when none does. */
async function findBaseCommit(repoRoot: string, settings: RepoSettings, git: GitRunner): Promise<Omit<ReleaseBase, 'mergeBase'> | undefined> {
  const refs = settings.baselineRef !== undefined ? [settings.baselineRef] : DEFAULT_BASELINE_REFS;
  // The top level and the candidate refs are independent questions, asked at once: the top level
  // with the first ref (one git process), each other ref in one more.
  const asked = [topLevelAndCommit(git, repoRoot, refs[0]), ...refs.slice(1).map(async (ref) => ({ commit: await resolveCommit(git, repoRoot, ref) }))];
  const [first, ...others] = (await settleAll(asked)).map((answer) => answer.value);
  if (first.topLevel === undefined) return undefined;
  const commits = [first.commit, ...others.map((answer) => answer.commit)];
  for (let i = 0; i < refs.length; i++) {
    const commit = commits[i];
    if (commit) return { baseRef: refs[i], baseCommit: commit };
  }
  return undefined;
}

/** `at` with its merge-base with HEAD; undefined when git finds none (no common history, an unborn HEAD). */
async function withMergeBase(repoRoot: string, at: Omit<ReleaseBase, 'mergeBase'>, git: GitRunner): Promise<ReleaseBase | undefined> {
  try {
    const mergeBase = (await git(['merge-base', at.baseCommit, 'HEAD'], { cwd: repoRoot })).toString('utf8').trim();
    return { ...at, mergeBase };
  } catch (error) {
    if (isGitAnswer(error)) return undefined;
    throw error;
  }
}

/**
 * Waits for every promise, then throws the first rejection in the given order (so an error means
 * what it meant when the questions were asked one after the other) or returns the values.
 */
async function settleAll<T>(promises: Promise<T>[]): Promise<{ value: T }[]> {
  const settled = await Promise.allSettled(promises);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return settled.map((s) => ({ value: (s as PromiseFulfilledResult<T>).value }));
}

/** What the released-version checks of `check` compare: the base, and the version directories changed since its merge-base. */
export interface ReleaseChanges {
  /** The base; absent when nothing changed (its merge-base is then not asked for: there is nothing to compare with it). */
  base?: ReleaseBase;
  /** Version directories with a file that differs between the merge-base and the working tree. */
  changed: string[];
}

/**
 * The base and the changed version directories, asked of git once for both of `check`'s
 * released-version questions (`checkReleasedVersions`, `versionDirsRemovedSinceRelease`); undefined
 * outside git or without a base ref. Throws GitUnavailableError when git can't work here.
 */
export async function findReleaseChanges(repoRoot: string, settings: RepoSettings, git: GitRunner = runGit): Promise<ReleaseChanges | undefined> {
  const at = await findBaseCommit(repoRoot, settings, git);
  if (!at) return undefined;
  // Git >= 2.30 diffs the working tree against the merge-base itself: one process, not two, and
  // when nothing changed (the common case) the merge-base is never needed. Any refusal (an older
  // git, several merge-bases, none) is left to the two questions asked separately, as before.
  let changed: string[] | undefined;
  try {
    changed = await versionDirsChangedSince(repoRoot, ['--merge-base', at.baseCommit], git);
  } catch (error) {
    if (!isGitAnswer(error)) throw error;
  }
  if (changed?.length === 0) return { changed };
  const base = await withMergeBase(repoRoot, at, git);
  return base && { base, changed: changed ?? (await versionDirsChangedSince(repoRoot, [base.mergeBase], git)) };
}

/** The version directories with a file that differs between `rev` and the working tree (committed or not); `rev` may be `['--merge-base', commit]`. */
export async function versionDirsChangedSince(repoRoot: string, rev: readonly string[], git: GitRunner = runGit): Promise<string[]> {
  const out = await git(['diff', '--name-only', '--no-renames', '--no-ext-diff', '--no-color', '--relative', '-z', ...rev, '--', 'prompts'], { cwd: repoRoot });
  const dirs = new Set<string>();
  for (const path of splitNul(out.toString('utf8'))) {
    const dir = versionDirOf(path);
    if (dir) dirs.add(dir);
  }
  return [...dirs].sort();
}

/**
 * Everything `check` adds for released versions of the repository at `repoRoot`: nothing outside
 * git or without a base ref. `changes` is what `findReleaseChanges` answered, when the caller
 * asked already (a rejection of it counts as git's).
 */
export async function checkReleasedVersions(
  repoRoot: string,
  settings: RepoSettings,
  git: GitRunner = runGit,
  changes: Promise<ReleaseChanges | undefined> = findReleaseChanges(repoRoot, settings, git),
): Promise<FileFinding[]> {
  let found: ReleaseChanges | undefined;
  try {
    found = await changes;
  } catch (error) {
    // The rest of check needs no git: say what was skipped and why, and let the other findings stand.
    if (!(error instanceof GitUnavailableError)) throw error;
    return [{ file: 'prompts', code: 'git/unavailable', severity: 'warning', range: START_OF_FILE, message: `released versions were not checked: ${error.message}` }];
  }
  if (!found?.base) return [];
  const { base, changed: dirs } = found;
  return dirs.length === 0 ? [] : releasedVersionFindingsOnDisk({ repoRoot, settings, base, dirs, git });
}

/**
 * The version directories released at the base `check` compares with (see `findReleaseBase`) that
 * the working tree no longer has: what the control-plane deletion policy checks. Empty outside git
 * or without a base ref, and when git is missing or refuses the repository. `changes` as for
 * `checkReleasedVersions`.
 */
export async function versionDirsRemovedSinceRelease(
  repoRoot: string,
  settings: RepoSettings,
  git: GitRunner = runGit,
  changes: Promise<ReleaseChanges | undefined> = findReleaseChanges(repoRoot, settings, git),
): Promise<{ dir: string; name: string; version: number }[]> {
  let found: ReleaseChanges | undefined;
  try {
    found = await changes;
  } catch (error) {
    // Without git nothing can be compared; checkReleasedVersions' git/unavailable warning says so once.
    if (!(error instanceof GitUnavailableError)) throw error;
    return [];
  }
  if (!found) return [];
  const onDisk = new Set(discoverPrompts(listRepoFiles(repoRoot, 'prompts')).versions.map((v) => v.dir));
  const removed: { dir: string; name: string; version: number }[] = [];
  for (const dir of found.changed) {
    if (onDisk.has(dir)) continue;
    const at = promptVersionOfPath(`${dir}/metadata.yaml`);
    if (at) removed.push({ dir, name: at.name, version: at.version });
  }
  return removed;
}
