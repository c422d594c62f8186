import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommitInfo, TreeEntry } from '../core/gitOutput';
import { COMMIT_INFO_FORMAT, isSymlinkEntry, parseCommitInfo, parseLsTree } from '../core/gitOutput';
import { decodePromptText } from '../core/promptText';
import type { PromptVersionFiles } from '../core/promptLayout';
import { PROMPT_FILE_NAMES, linkedDirectoryRefusal, promptVersionDir, versionNumbersIn } from '../core/promptLayout';
import type { PromptSnapshot } from '../core/replay';
import { ReplayError, readMetadataAtCommit } from '../core/replay';
import { validateCommitSha, validatePromptName, validatePromptVersion } from '../core/span';
import type { GitRunner } from './git';
import { GitError, isGitAnswer, isShallowRepository, listRemotes, resolveCommit, runGit } from './git';
import { symlinkRefusal } from './promptFileRead';
import { PromptFilesError, assemblePromptFiles } from './promptFiles';
import type { ReadPromptOptions as RequiredPromptFiles } from './promptFiles';

/**
 * Reading a prompt version as it was at a commit, from the object database only: `git rev-parse`,
 * `git ls-tree`, `git cat-file` and `git show -s`. Nothing here checks out, so the user's HEAD,
 * index and working tree are never touched; `openWorktree` is the one exception, and it works in
 * a detached worktree in a temporary directory.
 *
 * The one reader of prompt files from git: baseline resolution, the gate and replay all list and
 * read through `listTreeAt` and `readPromptFilesAt`.
 */

/**
 * The entries of `<commit>:<dir>` (`dir` relative to the top level of the repository `cwd` is in),
 * or undefined when that isn't a directory at the commit.
 */
export async function listTreeAt(git: GitRunner, cwd: string, commit: string, dir: string, signal?: AbortSignal): Promise<TreeEntry[] | undefined> {
  try {
    return parseLsTree((await git(['ls-tree', '-z', '--end-of-options', `${commit}:${dir}`], { cwd, signal })).toString('utf8'));
  } catch (error) {
    if (isGitAnswer(error)) return undefined;
    throw error;
  }
}

/**
 * The first directory of `dir` (itself included) that is a symbolic link (mode 120000) at `commit`,
 * or undefined: `commit:dir` names no tree then, and the link, not "missing", is what to report.
 */
async function linkedDirectoryAt(git: GitRunner, cwd: string, commit: string, dir: string, signal?: AbortSignal): Promise<string | undefined> {
  const parts = dir.split('/').filter(Boolean);
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  if (prefixes.length === 0) return undefined;
  let entries: TreeEntry[];
  try {
    entries = parseLsTree((await git(['ls-tree', '-z', '--full-tree', '--end-of-options', commit, '--', ...prefixes], { cwd, signal })).toString('utf8'));
  } catch (error) {
    if (isGitAnswer(error)) return undefined;
    throw error;
  }
  return prefixes.find((prefix) => entries.some((e) => e.path === prefix && isSymlinkEntry(e)));
}

/** The prompt files of a version directory at a commit, as `readPromptFilesAt` found them. */
export interface PromptFilesAtCommit {
  /** Every entry of the directory at the commit. */
  listing: TreeEntry[];
  /** The texts of the prompt files it holds, by field. */
  texts: Partial<PromptVersionFiles>;
  /** What the reader noticed about the files (bytes that are not UTF-8). */
  warnings: string[];
  /** Files refused (a symbolic link, mode 120000): their text is not read, and the callers stop on it. */
  refused: string[];
}

/**
 * Lists `dir` at `commit` and reads the prompt files in it (system.md, user.template.md,
 * eval.jsonl, metadata.yaml, judge.md; `fields` narrows that), decoded as UTF-8.
 * Undefined when `dir` is not a directory at the commit.
 */
export async function readPromptFilesAt(
  git: GitRunner,
  cwd: string,
  commit: string,
  dir: string,
  options: { signal?: AbortSignal; fields?: readonly (keyof PromptVersionFiles)[] } = {},
): Promise<PromptFilesAtCommit | undefined> {
  const listing = await listTreeAt(git, cwd, commit, dir, options.signal);
  const shortSha = commit.slice(0, 12);
  if (!listing) {
    const linked = await linkedDirectoryAt(git, cwd, commit, dir, options.signal);
    return linked === undefined ? undefined : { listing: [], texts: {}, warnings: [], refused: [linkedDirectoryRefusal(linked, ` at ${shortSha}`)] };
  }
  const warnings: string[] = [];
  const refused: string[] = [];
  const texts: Partial<PromptVersionFiles> = {};
  const fields = options.fields ?? (Object.keys(PROMPT_FILE_NAMES) as (keyof PromptVersionFiles)[]);
  await Promise.all(
    fields.map(async (field) => {
      const file = PROMPT_FILE_NAMES[field];
      const entry = listing.find((e) => e.path === file && e.type === 'blob');
      if (!entry) return;
      if (isSymlinkEntry(entry)) {
        refused.push(symlinkRefusal(`${dir}/${file}`, ` at ${shortSha}`));
        return;
      }
      const decoded = decodePromptText(await git(['cat-file', 'blob', entry.object], { cwd, signal: options.signal }));
      if (decoded.invalidUtf8At !== undefined) warnings.push(`${dir}/${file} at ${shortSha} is not valid UTF-8; undecodable bytes were replaced`);
      texts[field] = decoded.text;
    }),
  );
  return { listing, texts, warnings, refused };
}

/**
 * Reads a prompt version directory at a commit (never a checkout: the working tree, index and
 * HEAD are untouched). `path` is relative to the repository's top level.
 * @throws PromptFilesError naming the missing files.
 */
export async function readPromptVersionFromGit(
  git: GitRunner,
  topLevel: string,
  commit: string,
  path: string,
  options: RequiredPromptFiles = {},
): Promise<PromptVersionFiles> {
  // A baseline's eval.jsonl is never used (both sides run the challenger's): it is not read, however large.
  const fields = options.requireEval === false ? (Object.keys(PROMPT_FILE_NAMES) as (keyof PromptVersionFiles)[]).filter((f) => f !== 'evalJsonl') : undefined;
  const read = await readPromptFilesAt(git, topLevel, commit, path, fields ? { fields } : {});
  if (read?.refused.length) throw new PromptFilesError(read.refused.join('; '));
  return assemblePromptFiles(`${path} at ${commit.slice(0, 12)}`, read?.texts ?? {}, options);
}

/** Which prompt version, at which commit. Validated again here: these become a revision and a path. */
export interface PromptAtCommitRequest {
  commitSha: string;
  promptName: string;
  promptVersion: number;
}

/** Options of `readPromptAtCommit`. */
export interface ReadPromptOptions {
  git?: GitRunner;
  signal?: AbortSignal;
}

/**
 * The prompt version `prompts/<name>/v<N>/` at the commit: system.md, user.template.md, the
 * validated metadata.yaml, the directory's blob ids and the commit's author, date and subject.
 * Throws `SpanError` for an invalid SHA, name or version, and `ReplayError` when the commit isn't
 * in the repository, the directory isn't at that commit, or its files can't be used.
 */
export async function readPromptAtCommit(
  repoRoot: string,
  request: PromptAtCommitRequest,
  options: ReadPromptOptions = {},
): Promise<PromptSnapshot> {
  const git = options.git ?? runGit;
  const sha = validateCommitSha(request.commitSha);
  const name = validatePromptName(request.promptName);
  const version = validatePromptVersion(request.promptVersion);
  const run = (args: string[]) => git(args, { cwd: repoRoot, signal: options.signal });

  const commit = await resolveCommit(git, repoRoot, sha);
  if (!commit) throw await commitNotFound(git, repoRoot, sha);
  const shortSha = commit.slice(0, 12);
  const dir = promptVersionDir(name, version);

  const [read, commitInfo] = await Promise.all([
    readPromptFilesAt(git, repoRoot, commit, dir, { signal: options.signal, fields: ['system', 'userTemplate', 'metadataYaml'] }),
    run(['show', '-s', '--no-show-signature', `--format=${COMMIT_INFO_FORMAT}`, commit]).then((out) => parseCommitInfo(out.toString('utf8'))),
  ]);
  if (!read) throw await promptNotAtCommit(git, repoRoot, commit, name, version, options.signal);
  const { listing, warnings } = read;
  if (read.refused.length > 0) throw new ReplayError('file-refused-at-commit', read.refused.join('; '));
  const { system, userTemplate, metadataYaml: metadataText } = read.texts;
  const present = listing.map((e) => e.path).join(', ') || 'nothing';
  if (userTemplate === undefined) {
    throw new ReplayError('file-missing-at-commit', `${dir} at commit ${shortSha} has no user.template.md (it holds: ${present})`);
  }
  if (metadataText === undefined) {
    throw new ReplayError('file-missing-at-commit', `${dir} at commit ${shortSha} has no metadata.yaml (it holds: ${present}), so the model and parameters are unknown`);
  }
  const { metadata, warnings: metadataWarnings } = readMetadataAtCommit(metadataText, { promptName: name, version, dir, shortSha });
  warnings.push(...metadataWarnings);

  const snapshot: PromptSnapshot = {
    name,
    version,
    dir,
    commit: commitInfo,
    userTemplate,
    metadataText,
    metadata,
    files: listing,
    warnings,
  };
  if (system !== undefined) snapshot.system = system;
  return snapshot;
}

/** The commit's author, date and subject. */
export async function readCommitInfo(git: GitRunner, repoRoot: string, commit: string): Promise<CommitInfo> {
  const out = await git(['show', '-s', '--no-show-signature', `--format=${COMMIT_INFO_FORMAT}`, validateCommitSha(commit)], { cwd: repoRoot });
  return parseCommitInfo(out.toString('utf8'));
}

async function promptNotAtCommit(
  git: GitRunner,
  cwd: string,
  commit: string,
  name: string,
  version: number,
  signal?: AbortSignal,
): Promise<ReplayError> {
  const shortSha = commit.slice(0, 12);
  const versions = await listTreeAt(git, cwd, commit, `prompts/${name}`, signal);
  if (versions) {
    const there = versionNumbersIn(versions.filter((e) => e.type === 'tree').map((e) => e.path));
    return new ReplayError(
      'prompt-not-at-commit',
      `${promptVersionDir(name, version)} does not exist at commit ${shortSha}; versions of "${name}" there: ${there.length ? there.map((v) => `v${v}`).join(', ') : 'none'}`,
    );
  }
  const prompts = await listTreeAt(git, cwd, commit, 'prompts', signal);
  const names = (prompts ?? []).filter((e) => e.type === 'tree').map((e) => e.path);
  return new ReplayError(
    'prompt-not-at-commit',
    prompts
      ? `prompts/${name} does not exist at commit ${shortSha}; prompts there: ${names.length ? names.join(', ') : 'none'}`
      : `commit ${shortSha} has no prompts/ directory, so ${promptVersionDir(name, version)} is not there`,
  );
}

/** Says why a well-formed SHA names no commit here: unknown (the usual case), ambiguous, or not a commit. */
async function commitNotFound(git: GitRunner, cwd: string, sha: string): Promise<ReplayError> {
  const quiet = async (args: string[]): Promise<string | undefined> => {
    try {
      return (await git(args, { cwd })).toString('utf8').trim();
    } catch (error) {
      if (isGitAnswer(error)) return undefined;
      throw error;
    }
  };
  if (sha.length < 40) {
    const candidates = (await quiet(['rev-parse', `--disambiguate=${sha}`]))?.split('\n').filter(Boolean) ?? [];
    if (candidates.length > 1) {
      return new ReplayError(
        'commit-not-found',
        `commit ${sha} is ambiguous in this repository: ${candidates.length} objects start with it; the span needs more digits of the SHA`,
      );
    }
  }
  const type = await quiet(['cat-file', '-t', sha]);
  if (type && type !== 'commit') {
    return new ReplayError('commit-not-found', `${sha} names a ${type} in this repository, not a commit`);
  }
  const [shallow, remotes] = await Promise.all([isShallowRepository(git, cwd), listRemotes(git, cwd)]);
  // Name a remote this repository has: origin when there is one, else the first; none, and say so.
  const remote = remotes.includes('origin') ? 'origin' : remotes[0];
  if (!remote) {
    return new ReplayError(
      'commit-not-found',
      `commit ${sha} is not in this repository, and the repository has no remote to fetch it from: replay in a clone of the repository the span's service was built from`,
    );
  }
  return new ReplayError(
    'commit-not-found',
    `commit ${sha} is not in this repository; \`git fetch ${remote}\` may bring it` +
      (shallow ? ` (this clone is shallow: \`git fetch --unshallow ${remote}\` fetches the whole history)` : ''),
  );
}

/** A detached worktree of one commit in a temporary directory. `dispose()` removes it; calling it twice is harmless. */
export interface CommitWorktree {
  path: string;
  commit: string;
  dispose(): Promise<void>;
}

/**
 * Checks the commit out in a new detached worktree under the system's temporary directory, for
 * running the calling code as it was. The user's own worktree, HEAD and index are not touched;
 * git records the extra worktree under `.git/worktrees/` until `dispose()` removes and prunes it.
 * Hooks are not run for the checkout.
 */
export async function openWorktree(repoRoot: string, sha: string, options: { git?: GitRunner; tmpDir?: string } = {}): Promise<CommitWorktree> {
  const git = options.git ?? runGit;
  const wanted = validateCommitSha(sha);
  const commit = await resolveCommit(git, repoRoot, wanted);
  if (!commit) throw await commitNotFound(git, repoRoot, wanted);
  const parent = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'prompt-ci-replay-'));
  const path = join(parent, commit.slice(0, 12));
  // An empty hooks directory keeps a post-checkout hook of the repository from running here.
  const noHooks = join(parent, 'no-hooks');
  try {
    await git(['-c', `core.hooksPath=${noHooks}`, 'worktree', 'add', '--detach', path, commit], { cwd: repoRoot });
  } catch (error) {
    await rm(parent, { recursive: true, force: true });
    throw error;
  }
  let disposed: Promise<void> | undefined;
  return {
    path,
    commit,
    dispose() {
      disposed ??= (async () => {
        try {
          await git(['worktree', 'remove', '--force', path], { cwd: repoRoot });
        } catch (error) {
          if (!(error instanceof GitError)) throw error;
        } finally {
          await rm(parent, { recursive: true, force: true });
          try {
            await git(['worktree', 'prune'], { cwd: repoRoot });
          } catch (error) {
            if (!(error instanceof GitError)) throw error;
          }
        }
      })();
      return disposed;
    },
  };
}
