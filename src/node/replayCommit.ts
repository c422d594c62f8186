import type { CommitSource } from '../core/replay';
import { ReplayError } from '../core/replay';
import { DEFAULT_BASELINE_REFS } from './baseline';
import type { GitRunner } from './git';
import { fetchCommandFor, isGitAnswer, resolveCommit } from './git';

/**
 * The commit of a span that names none (DESIGN.md section 10): the last commit on the baseline ref,
 * at or before the span's start time, that holds the version directory. Released versions are
 * immutable, so any commit holding the directory renders the same text; the record says which was
 * taken and why. Read from git's object database only (`rev-parse`, `rev-list`, `log`, `cat-file`).
 */

/** What to infer the commit of. */
export interface InferCommitRequest {
  promptName: string;
  promptVersion: number;
  /** The span's start, ISO 8601; without it the ref's tip is used. */
  startTime?: string;
}

/** Options of `inferCommit`. */
export interface InferCommitOptions {
  git: GitRunner;
  /** `prompt-ci.yaml` `baselineRef`; when absent, origin/main then main. */
  baselineRef?: string;
  signal?: AbortSignal;
}

/** The inferred commit (full SHA), how it was found, and what a reader should know about the choice. */
export interface InferredCommit {
  commit: string;
  source: Extract<CommitSource, { source: 'inferred' }>;
  warnings: string[];
}

/** Infers the commit a span without `prompt.commit_sha` was rendered from. Throws `ReplayError` naming what is missing. */
export async function inferCommit(repoRoot: string, request: InferCommitRequest, options: InferCommitOptions): Promise<InferredCommit> {
  const { git } = options;
  const run = async (args: string[]): Promise<string | undefined> => {
    try {
      return (await git(args, { cwd: repoRoot, signal: options.signal })).toString('utf8').trim();
    } catch (error) {
      if (isGitAnswer(error)) return undefined;
      throw error;
    }
  };
  const refs = options.baselineRef !== undefined ? [options.baselineRef] : DEFAULT_BASELINE_REFS;
  let ref: string | undefined;
  let tip: string | undefined;
  for (const candidate of refs) {
    tip = await resolveCommit(git, repoRoot, candidate);
    if (tip) {
      ref = candidate;
      break;
    }
  }
  if (!ref || !tip) {
    const remotes = ((await run(['remote'])) ?? '').split('\n').map((r) => r.trim()).filter(Boolean);
    const fetch = remotes.length ? `; fetch it with: ${fetchCommandFor(refs[0], remotes)}` : '';
    throw new ReplayError(
      'commit-not-found',
      `the span names no commit, and the baseline ref ${refs.map((r) => `"${r}"`).join(' or ')} to infer it from is not in this repository${fetch}`,
    );
  }
  const dir = `prompts/${request.promptName}/v${request.promptVersion}`;
  const holds = async (commit: string) => (await run(['cat-file', '-t', `${commit}:${dir}`])) === 'tree';
  const short = (sha: string) => sha.slice(0, 12);
  const at = request.startTime ?? null;
  const warnings: string[] = [];

  const atTime = at ? await run(['rev-list', '-1', `--before=${at}`, tip]) : tip;
  if (atTime && (await holds(atTime))) {
    const lastChange = await run(['log', '-1', '--format=%H', atTime, '--', `${dir}/`]);
    const changed = lastChange && lastChange !== atTime ? `; its files last changed in ${short(lastChange)}` : '';
    const how = at
      ? `${short(atTime)} is the last commit on ${ref} at or before the span's start (${at}), and it holds ${dir}${changed}`
      : `the span has no start time, so the tip of ${ref} (${short(atTime)}) was used; it holds ${dir}${changed}`;
    return { commit: atTime, source: { source: 'inferred', ref, at, how }, warnings };
  }

  // The ref had no such directory at that time: look at the commits that touched it.
  const touched = ((await run(['log', '--format=%H %cI', tip, '--', `${dir}/`])) ?? '')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [sha, date] = line.split(' ');
      return { sha, date };
    });
  const before = at ? touched.filter((c) => Date.parse(c.date) <= Date.parse(at)) : touched;
  for (const c of before) {
    if (await holds(c.sha)) {
      const how = `${dir} is not on ${ref} at the span's start (${at}); ${short(c.sha)} (${c.date}) is the last commit before it that holds it`;
      warnings.push(`${dir} was removed from ${ref} before the span started; the replay uses ${short(c.sha)}, the last commit that held it`);
      return { commit: c.sha, source: { source: 'inferred', ref, at, how }, warnings };
    }
  }
  const later = [...touched].reverse().filter((c) => !before.includes(c));
  for (const c of later) {
    if (await holds(c.sha)) {
      const how = `${dir} reached ${ref} only after the span's start (${at}): ${short(c.sha)} (${c.date}) is the first commit there that holds it; a released version doesn't change, so it renders what was served`;
      warnings.push(`${dir} was not on ${ref} when the span started (${at}); it was served from elsewhere (a branch or an unreleased build), and the replay uses ${short(c.sha)}, the first commit of ${ref} that holds it`);
      return { commit: c.sha, source: { source: 'inferred', ref, at, how }, warnings };
    }
  }
  const versions = ((await run(['ls-tree', '--name-only', `${tip}:prompts/${request.promptName}`])) ?? '')
    .split('\n')
    .filter((n) => /^v[1-9][0-9]*$/.test(n));
  throw new ReplayError(
    'prompt-not-at-commit',
    `the span names no commit, and no commit of ${ref} holds ${dir}` +
      (versions.length ? `; versions of "${request.promptName}" on ${ref}: ${versions.join(', ')}` : `; ${ref} has no prompt "${request.promptName}"`),
  );
}
