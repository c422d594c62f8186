import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, posix, relative, resolve, sep } from 'node:path';
import type { GitRunner } from './git';
import { gitTopLevel, missingRefMessage, resolveCommit, runGit } from './git';
import type { TreeEntry } from '../core/gitOutput';
import type { PromptVersionFiles } from '../core/promptLayout';
import { versionDirName, versionNumbersIn, versionOfDirName } from '../core/promptLayout';
import { listTreeAt, readPromptFilesAt, readPromptVersionFromGit } from './promptAtCommit';
import { readPromptVersionFromDisk } from './promptFiles';

/** The refs tried, in order, when `prompt-ci.yaml` names no `baselineRef`. */
export const DEFAULT_BASELINE_REFS = ['origin/main', 'main'];

/** The production prompt the challenger is compared with, and where it was found. */
export interface ResolvedBaseline {
  source: 'git' | 'directory';
  files: PromptVersionFiles;
  /** The baseline directory: repo-relative POSIX when inside the repository, else absolute. */
  dir: string;
  ref: string | null;
  commit: string | null;
  /** `same-path`: the challenger's path at the ref; `lower-version`: the highest lower version there; `override`: `--baseline`. */
  how: 'same-path' | 'lower-version' | 'override';
  /** One line for people, e.g. `prompts/summarisation/v1 at origin/main (3f2c1a9b0d1e), highest lower version`. */
  description: string;
}

/** No baseline could be found; the message says what was looked for and what to do. */
export class BaselineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BaselineError';
  }
}

/**
 * The challenger's prompt has no version at the base commit (neither its own path nor a lower
 * version): a new prompt. The one baseline error the gate reads as "compare it with itself";
 * every other `BaselineError` is a real problem.
 */
export class NotAtBaseError extends BaselineError {
  // Named as its parent: to the user it is a baseline error like the others.
}

/** A base already resolved to a commit (the gate's): baselines are read from it, no ref is resolved again. */
export interface ResolvedBase {
  /** The ref it was resolved from, or the commit itself (a push's remote commit). */
  ref: string;
  commit: string;
}

/** What `resolveBaseline` needs. */
export interface ResolveBaselineOptions {
  /** The repository root (where prompt-ci.yaml lives); paths in REF:PATH are relative to it. */
  repoRoot: string;
  /** The challenger directory, absolute or relative to `repoRoot`. */
  challengerDir: string;
  /** `--baseline`: a directory (absolute or relative to `repoRoot`) or `REF:PATH`. */
  override?: string;
  /** `prompt-ci.yaml` `baselineRef`; when absent, origin/main then main. */
  baselineRef?: string;
  /** The base commit, when the caller resolved it (the gate); `baselineRef` is then not looked at. */
  base?: ResolvedBase;
  git?: GitRunner;
}

const toPosix = (p: string): string => p.split(sep).join('/');

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** `path` relative to `root` as POSIX, or undefined when it is outside. */
function inside(root: string, path: string): string | undefined {
  const rel = relative(real(root), real(path));
  if (rel.startsWith('..') || isAbsolute(rel)) return undefined;
  return toPosix(rel);
}

function hasMetadata(entries: TreeEntry[] | undefined): boolean {
  return entries?.some((e) => e.path === 'metadata.yaml' && e.type === 'blob') ?? false;
}

async function missingRefError(git: GitRunner, topLevel: string, refs: readonly string[], configured: boolean): Promise<BaselineError> {
  return new BaselineError(await missingRefMessage(git, topLevel, { role: 'baseline', refs, configured, instead: '--baseline DIR|REF:PATH' }));
}

/** Throws a BaselineError when `path` (or a directory above it) is a symbolic link at `commit`. */
async function refuseLinkedAt(git: GitRunner, topLevel: string, commit: string, path: string, prefix: string): Promise<void> {
  const refused = (await readPromptFilesAt(git, topLevel, commit, path, { fields: [] }))?.refused ?? [];
  if (refused.length > 0) throw new BaselineError(`${prefix}${refused.join('; ')}`);
}

/**
 * Finds the baseline prompt version without touching the working tree, index or HEAD:
 * `--baseline` when given (a directory, or `REF:PATH`), else the challenger's path at the
 * baseline ref, else the highest lower version of the same prompt at that ref.
 * @throws BaselineError naming what was looked for.
 */
export async function resolveBaseline(options: ResolveBaselineOptions): Promise<ResolvedBaseline> {
  const git = options.git ?? runGit;
  const repoRoot = resolve(options.repoRoot);
  const challengerAbs = resolve(repoRoot, options.challengerDir);

  if (options.override !== undefined) {
    const asDir = resolve(repoRoot, options.override);
    if (isDirectory(asDir)) {
      const files = await readPromptVersionFromDisk(asDir, { requireEval: false, streamEval: true, root: repoRoot });
      const dir = inside(repoRoot, asDir) ?? asDir;
      return { source: 'directory', files, dir, ref: null, commit: null, how: 'override', description: `${dir} (directory, from --baseline)` };
    }
  }

  const topLevel = await gitTopLevel(git, repoRoot);
  if (topLevel === undefined) {
    throw new BaselineError(
      options.override !== undefined
        ? `--baseline ${options.override}: not a directory, and ${repoRoot} is not in a git repository to read REF:PATH from`
        : `${repoRoot} is not in a git repository, so there is no baseline ref to read the production prompt from; pass --baseline DIR`,
    );
  }
  const rootInTop = inside(topLevel, repoRoot) ?? '';
  const toTop = (repoRelative: string): string => posix.normalize(posix.join(rootInTop, repoRelative)).replace(/\/$/, '');
  const fromTop = (topRelative: string): string => (rootInTop === '' ? topRelative : posix.relative(rootInTop, topRelative));

  if (options.override !== undefined) {
    const colon = options.override.indexOf(':');
    if (colon <= 0) {
      throw new BaselineError(`--baseline ${options.override}: not a directory, and not REF:PATH (e.g. origin/main:prompts/summarisation/v1)`);
    }
    const ref = options.override.slice(0, colon);
    const path = toTop(options.override.slice(colon + 1).replace(/^\.\//, ''));
    const commit = await resolveCommit(git, topLevel, ref);
    if (commit === undefined) throw await missingRefError(git, topLevel, [ref], true);
    const entries = await listTreeAt(git, topLevel, commit, path);
    if (!entries?.length) {
      await refuseLinkedAt(git, topLevel, commit, path, `--baseline ${options.override}: `);
      throw new BaselineError(`--baseline ${options.override}: ${path} is not a directory at ${ref} (${commit.slice(0, 12)})`);
    }
    const files = await readPromptVersionFromGit(git, topLevel, commit, path, { requireEval: false });
    const dir = fromTop(path);
    return { source: 'git', files, dir, ref, commit, how: 'override', description: `${dir} at ${ref} (${commit.slice(0, 12)}), from --baseline` };
  }

  const challengerInTop = inside(topLevel, challengerAbs);
  if (challengerInTop === undefined) {
    throw new BaselineError(`${challengerAbs} is outside the git repository at ${topLevel}; pass --baseline DIR|REF:PATH`);
  }

  const refs = options.baselineRef !== undefined ? [options.baselineRef] : DEFAULT_BASELINE_REFS;
  let ref = options.base?.ref;
  let commit = options.base?.commit;
  for (const candidate of options.base ? [] : refs) {
    commit = await resolveCommit(git, topLevel, candidate);
    if (commit !== undefined) {
      ref = candidate;
      break;
    }
  }
  if (ref === undefined || commit === undefined) throw await missingRefError(git, topLevel, refs, options.baselineRef !== undefined);
  const at = `${ref} (${commit.slice(0, 12)})`;

  const same = await listTreeAt(git, topLevel, commit, challengerInTop);
  // Production's copy being a link is refused, not taken for "no such version there" (which would pick the previous one).
  if (same === undefined) await refuseLinkedAt(git, topLevel, commit, challengerInTop, '');
  if (hasMetadata(same)) {
    const files = await readPromptVersionFromGit(git, topLevel, commit, challengerInTop, { requireEval: false });
    const dir = fromTop(challengerInTop);
    return { source: 'git', files, dir, ref, commit, how: 'same-path', description: `${dir} at ${at}` };
  }

  const parent = posix.dirname(challengerInTop);
  const n = versionOfDirName(posix.basename(challengerInTop));
  if (n === undefined) {
    throw new NotAtBaseError(
      `no baseline: ${fromTop(challengerInTop)} does not exist at ${at}, and it is not a v<N> directory, so there is no lower version to fall back to; pass --baseline DIR|REF:PATH`,
    );
  }
  const siblings = (await listTreeAt(git, topLevel, commit, parent)) ?? [];
  const lower = versionNumbersIn(siblings.filter((e) => e.type === 'tree').map((e) => e.path))
    .filter((m) => m < n)
    .reverse();
  for (const m of lower) {
    const path = `${parent}/${versionDirName(m)}`;
    if (!hasMetadata(await listTreeAt(git, topLevel, commit, path))) continue;
    const files = await readPromptVersionFromGit(git, topLevel, commit, path, { requireEval: false });
    const dir = fromTop(path);
    return { source: 'git', files, dir, ref, commit, how: 'lower-version', description: `${dir} at ${at}, the highest version below v${n} there` };
  }
  const what = fromTop(challengerInTop);
  const looked =
    n > 1
      ? `${at} has neither ${what}/ nor a lower version (v1 to v${n - 1}) of ${fromTop(parent)}/`
      : `${what}/ does not exist at ${at}, and v1 has no lower version`;
  throw new NotAtBaseError(
    `no baseline for ${what}: ${looked}. A new prompt has no production version to compare with; pass --baseline DIR|REF:PATH to choose one`,
  );
}
