import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { devNull } from 'node:os';
import { dirname, join } from 'node:path';

/** A scripted git history: fixed authors and dates make the same SHAs on every machine. */
export interface History {
  author: { name: string; email: string };
  committer: { name: string; email: string };
  commits: { date: string; message: string; files: Record<string, string | null> }[];
}

/** The history of a prompt over four commits (test/fixtures/spans/prompt-history.json). */
export const HISTORY: History = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'spans', 'prompt-history.json'), 'utf8'));

/** The SHAs `HISTORY` produces on every machine (the span fixtures name them). */
export const SHA = {
  a: '1754a881f90c9d249853440fffe3f27ab4c0d5d9',
  b: 'f5ab86dcbfb5a5c3fd2f78f399a681931f694b45',
  c: 'bcf22543399ea9fb7b3bcaf0507a9caddd5623eb',
  d: '27e1c51d51981f01ddf5d0bf7de4b8eea668cc3c',
};

const GIT_ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: devNull, GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' };

/** Runs git with no user or system configuration. */
export const git = (cwd: string, args: string[], env: Record<string, string> = {}): string =>
  execFileSync('git', args, { cwd, env: { ...GIT_ENV, ...env }, encoding: 'utf8' });

/** Writes the commits of `history` into `dir` (a repository, made if needed) and returns their SHAs. */
export function commitHistory(dir: string, history: History = HISTORY): string[] {
  mkdirSync(dir, { recursive: true });
  if (!existsSync(join(dir, '.git'))) git(dir, ['init', '-q', '-b', 'main']);
  return history.commits.map((commit) => {
    for (const [path, text] of Object.entries(commit.files)) {
      const file = join(dir, path);
      if (text === null) rmSync(file, { force: true });
      else {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, text);
      }
    }
    git(dir, ['add', '-A']);
    git(dir, ['-c', 'commit.gpgsign=false', 'commit', '-q', '--no-verify', '-m', commit.message], {
      GIT_AUTHOR_NAME: history.author.name,
      GIT_AUTHOR_EMAIL: history.author.email,
      GIT_AUTHOR_DATE: commit.date,
      GIT_COMMITTER_NAME: history.committer.name,
      GIT_COMMITTER_EMAIL: history.committer.email,
      GIT_COMMITTER_DATE: commit.date,
    });
    return git(dir, ['rev-parse', 'HEAD']).trim();
  });
}

/** The text of `path` as of commit `commitIndex` of `HISTORY`. */
export function fileAt(commitIndex: number, path: string): string {
  let text: string | undefined;
  for (const commit of HISTORY.commits.slice(0, commitIndex + 1)) {
    if (path in commit.files) text = commit.files[path] ?? undefined;
  }
  assert.ok(text !== undefined, `${path} is not in the history at commit ${commitIndex}`);
  return text;
}

/** Everything a replay must leave alone: HEAD, refs, the index file, status, worktrees and every working-tree byte. */
export function repoState(dir: string): Record<string, string> {
  const hash = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
  const files: string[] = [];
  const walk = (abs: string, rel: string) => {
    for (const entry of readdirSync(abs, { withFileTypes: true }).sort((x, y) => x.name.localeCompare(y.name))) {
      if (rel === '' && entry.name === '.git') continue;
      const path = join(abs, entry.name);
      if (entry.isDirectory()) walk(path, `${rel}${entry.name}/`);
      else files.push(`${rel}${entry.name} ${hash(readFileSync(path))} ${statSync(path).mtimeMs}`);
    }
  };
  walk(dir, '');
  return {
    headFile: readFileSync(join(dir, '.git', 'HEAD'), 'utf8'),
    head: git(dir, ['rev-parse', 'HEAD']),
    refs: git(dir, ['for-each-ref']),
    index: hash(readFileSync(join(dir, '.git', 'index'))),
    status: git(dir, ['status', '--porcelain=v1', '-z', '--untracked-files=all']),
    worktrees: git(dir, ['worktree', 'list', '--porcelain']),
    files: files.join('\n'),
  };
}
