import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

/** A git command that failed: the arguments, exit code and git's own stderr (and what it printed on stdout before it failed). */
export class GitError extends Error {
  override name = 'GitError';
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly stdout = '',
  ) {
    super(`git ${args.join(' ')} failed${exitCode === null ? '' : ` (exit ${exitCode})`}: ${stderr.trim() || 'no output'}`);
  }
}

/**
 * git can't work here at all, whatever the command: it isn't installed (or not on PATH), or it
 * refuses the repository because another user owns it (git's "dubious ownership" check). The
 * message says which and what to do. The helpers below that answer "no such ref/path/repository"
 * for an ordinary GitError never swallow this one, so every command that needs git stops on it
 * instead of reporting "not in a git repository".
 */
export class GitUnavailableError extends GitError {
  override name = 'GitUnavailableError';
  constructor(
    args: readonly string[],
    readonly reason: 'not-installed' | 'dubious-ownership',
    stderr: string,
    /** The repository git refused (dubious ownership only). */
    readonly repository?: string,
  ) {
    super(args, null, stderr);
    this.message =
      reason === 'not-installed'
        ? 'git is not installed or not on PATH: Prompt CI reads prompt versions, baselines and commits through git. Install git, or add the folder that holds it to the PATH of this process, then run again'
        : `git refuses to work in ${repository ?? 'this repository'}: it is owned by another user than the one running Prompt CI (git's "dubious ownership" check). If you trust it, run: git config --global --add safe.directory ${shellWord(repository ?? '<path>')} (or run as the user who owns it)`;
  }
}

/** `word` as one shell argument in the command we suggest: quoted when it holds anything but plain path characters. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:@+-]+$/.test(word) ? word : `"${word.replace(/(["\\$`])/g, '\\$1')}"`;
}

/** The repository git refused as owned by someone else, from its stderr (git 2.36+ and 2.35.2's wording), or undefined. */
export function dubiousOwnershipIn(stderr: string): string | undefined {
  return (/detected dubious ownership in repository at '([^'\n]*)'/.exec(stderr) ?? /unsafe repository \('([^'\n]*)' is owned by someone else\)/.exec(stderr))?.[1];
}

/** True for a git failure that answers the question asked (no such ref, path, repository), as opposed to git being unusable here. */
export function isGitAnswer(error: unknown): error is GitError {
  return error instanceof GitError && !(error instanceof GitUnavailableError);
}

/** Options of one git invocation. */
export interface GitRunOptions {
  cwd: string;
  signal?: AbortSignal;
  /** Bytes of stdout kept; larger output is an error rather than silently cut. Default 256 MiB. */
  maxBuffer?: number;
}

/**
 * Runs git with an argument list (never a shell string) and returns stdout as a Buffer.
 * Git's own prompts and pagers are disabled: nothing we run waits on a terminal.
 */
export type GitRunner = (args: readonly string[], options: GitRunOptions) => Promise<Buffer>;

/** The real runner, through `execFile`. */
export const runGit: GitRunner = (args, options) =>
  new Promise((resolve, reject) => {
    execFile(
      'git',
      [...args],
      {
        cwd: options.cwd,
        signal: options.signal,
        encoding: 'buffer',
        maxBuffer: options.maxBuffer ?? 256 * 1024 * 1024,
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat', LC_ALL: 'C', GIT_OPTIONAL_LOCKS: '0' },
        windowsHide: true,
      },
      (error, stdout, stderr) => {
        if (error) {
          const code = typeof (error as NodeJS.ErrnoException & { code?: unknown }).code === 'number'
            ? ((error as unknown as { code: number }).code)
            : null;
          const text = stderr.toString('utf8');
          const refused = dubiousOwnershipIn(text);
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
            // spawn says ENOENT for a missing working directory too; that one isn't git's absence.
            reject(existsSync(options.cwd) ? new GitUnavailableError(args, 'not-installed', 'git is not installed or not on PATH') : new GitError(args, null, `the folder ${options.cwd} does not exist`));
          } else if (error.name === 'AbortError') {
            reject(error);
          } else if (refused !== undefined) {
            reject(new GitUnavailableError(args, 'dubious-ownership', text, refused));
          } else {
            reject(new GitError(args, code, text, stdout.toString('utf8')));
          }
          return;
        }
        resolve(stdout);
      },
    );
  });

/** The text of `path` at `rev` (`git show rev:path`), or undefined when the path isn't there. */
export async function showFileAt(git: GitRunner, cwd: string, rev: string, path: string): Promise<string | undefined> {
  try {
    return (await git(['cat-file', 'blob', `${rev}:${path}`], { cwd })).toString('utf8');
  } catch (error) {
    if (isGitAnswer(error)) return undefined;
    throw error;
  }
}

/** The full SHA `rev` names as a commit, or undefined when it names none. */
export async function resolveCommit(git: GitRunner, cwd: string, rev: string): Promise<string | undefined> {
  try {
    const out = await git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`], { cwd });
    return out.toString('utf8').trim() || undefined;
  } catch (error) {
    if (isGitAnswer(error)) return undefined;
    throw error;
  }
}

/**
 * The repository's top-level directory for `cwd`, or undefined outside a git repository.
 * @throws GitUnavailableError when git isn't installed or refuses the repository (not "outside").
 */
export async function gitTopLevel(git: GitRunner, cwd: string): Promise<string | undefined> {
  try {
    return (await git(['rev-parse', '--show-toplevel'], { cwd })).toString('utf8').trim();
  } catch (error) {
    if (isGitAnswer(error)) return undefined;
    throw error;
  }
}

/**
 * The repository's top-level directory for `cwd` and the full SHA `rev` names as a commit there,
 * asked of one git process: git prints the top level, then the commit, or with `--quiet` nothing
 * more and exits 1 when `rev` names none. Both undefined outside a git repository.
 * @throws GitUnavailableError when git isn't installed or refuses the repository (not "outside").
 */
export async function topLevelAndCommit(git: GitRunner, cwd: string, rev: string): Promise<{ topLevel?: string; commit?: string }> {
  try {
    const [topLevel, commit] = (await git(['rev-parse', '--show-toplevel', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`], { cwd })).toString('utf8').split('\n');
    return { topLevel, commit: commit || undefined };
  } catch (error) {
    if (!isGitAnswer(error)) throw error;
    const topLevel = error.exitCode === 1 ? error.stdout.split('\n')[0] : '';
    return topLevel ? { topLevel } : {};
  }
}

/** The repository's remotes (`git remote`), empty when it has none or git can't say. */
export async function listRemotes(git: GitRunner, cwd: string): Promise<string[]> {
  try {
    return (await git(['remote'], { cwd })).toString('utf8').split('\n').map((s) => s.trim()).filter(Boolean);
  } catch (error) {
    if (isGitAnswer(error)) return [];
    throw error;
  }
}

/** True in a shallow clone (`git rev-parse --is-shallow-repository`). */
export async function isShallowRepository(git: GitRunner, cwd: string): Promise<boolean> {
  try {
    return (await git(['rev-parse', '--is-shallow-repository'], { cwd })).toString('utf8').trim() === 'true';
  } catch (error) {
    if (isGitAnswer(error)) return false;
    throw error;
  }
}

/**
 * The `git fetch` that makes `ref` available locally, from a remote the repository has:
 * `<remote>/<branch>` from that remote, else the ref of the same name from origin (or the first
 * remote). Undefined when the repository has no remote to fetch from.
 */
export function fetchCommandFor(ref: string, remotes: readonly string[]): string | undefined {
  const slash = ref.indexOf('/');
  if (slash > 0 && remotes.includes(ref.slice(0, slash))) {
    const remote = ref.slice(0, slash);
    const branch = ref.slice(slash + 1);
    return `git fetch ${remote} ${branch}:refs/remotes/${remote}/${branch}`;
  }
  const remote = remotes.includes('origin') ? 'origin' : remotes[0];
  return remote === undefined ? undefined : `git fetch ${remote} ${ref}:${ref}`;
}

/** What a missing ref is for, and what else the user may do instead of fetching it. */
export interface MissingRefContext {
  /** `base` (the gate's) or `baseline` (an eval's). */
  role: string;
  /** The refs tried, in order. */
  refs: readonly string[];
  /** True when the user named the ref (so "set baselineRef" is no advice). */
  configured: boolean;
  /** The option that avoids the ref, e.g. `--base REF`. */
  instead: string;
}

/**
 * The one "missing ref, fetch it with …" message: which refs are missing in this repository (or
 * shallow clone), the fetch command from a remote that exists (or how to add one), and the ways
 * around it.
 */
export async function missingRefMessage(git: GitRunner, cwd: string, context: MissingRefContext): Promise<string> {
  const [shallow, remotes] = await Promise.all([isShallowRepository(git, cwd), listRemotes(git, cwd)]);
  const where = shallow ? 'this shallow clone' : 'this repository';
  const quoted = context.refs.map((r) => `"${r}"`);
  const what =
    quoted.length === 1
      ? `the ${context.role} ref ${quoted[0]} does not exist in ${where}`
      : `neither ${context.role} ref ${quoted.slice(0, -1).join(', ')} nor ${quoted[quoted.length - 1]} exists in ${where}`;
  const fetch = fetchCommandFor(context.refs[0], remotes);
  const how = fetch !== undefined ? `Fetch it with: ${fetch}` : 'The repository has no remote to fetch it from: add one (git remote add origin URL) and fetch (git fetch origin)';
  return `${what}. ${how}${context.configured ? '' : ' (or set baselineRef in prompt-ci.yaml)'}, or pass ${context.instead}`;
}
