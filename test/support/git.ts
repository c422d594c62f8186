import { execFileSync } from 'node:child_process';

/**
 * Runs the real git in `cwd` for a test's repository: a fixed author and committer, no system
 * configuration, and `cwd` as HOME so that the user's own configuration plays no part. Returns
 * what git printed, trimmed.
 */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com', GIT_CONFIG_NOSYSTEM: '1', HOME: cwd },
  }).trim();
}
