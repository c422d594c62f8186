import { execFile } from 'node:child_process';

/** A git command that failed: the arguments, exit code and git's own stderr. */
export class GitError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`git ${args.join(' ')} failed${exitCode === null ? '' : ` (exit ${exitCode})`}: ${stderr.trim() || 'no output'}`);
  }
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
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
            reject(new GitError(args, null, 'git is not installed or not on PATH'));
          } else if (error.name === 'AbortError') {
            reject(error);
          } else {
            reject(new GitError(args, code, stderr.toString('utf8')));
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
    if (error instanceof GitError) return undefined;
    throw error;
  }
}

/** The full SHA `rev` names as a commit, or undefined when it names none. */
export async function resolveCommit(git: GitRunner, cwd: string, rev: string): Promise<string | undefined> {
  try {
    const out = await git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`], { cwd });
    return out.toString('utf8').trim() || undefined;
  } catch (error) {
    if (error instanceof GitError) return undefined;
    throw error;
  }
}

/** The repository's top-level directory for `cwd`, or undefined outside a git repository. */
export async function gitTopLevel(git: GitRunner, cwd: string): Promise<string | undefined> {
  try {
    return (await git(['rev-parse', '--show-toplevel'], { cwd })).toString('utf8').trim();
  } catch (error) {
    if (error instanceof GitError) return undefined;
    throw error;
  }
}
