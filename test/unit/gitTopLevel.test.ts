import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGit, topLevelAndCommit } from '../../src/node/git';

describe("git's top level and a ref's commit, asked of one process", () => {
  let dir: string;
  let repo: string;
  let head: string;
  before(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'prompt-ci-toplevel-')));
    repo = join(dir, 'repo');
    mkdirSync(join(repo, 'prompts'), { recursive: true });
    writeFileSync(join(repo, 'prompts', 'a.md'), 'a\n');
    const env = { PATH: process.env.PATH ?? '', HOME: dir, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' };
    for (const args of [['init', '-q', '-b', 'main'], ['add', '-A'], ['commit', '-qm', 'a']]) execFileSync('git', args, { cwd: repo, env, stdio: 'pipe' });
    head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('gives both, from a folder below the top level', async () => {
    assert.deepEqual(await topLevelAndCommit(runGit, join(repo, 'prompts'), 'main'), { topLevel: repo, commit: head });
  });

  it('gives the top level alone when the ref names no commit', async () => {
    assert.deepEqual(await topLevelAndCommit(runGit, repo, 'origin/main'), { topLevel: repo });
    assert.deepEqual(await topLevelAndCommit(runGit, repo, '--no-such-option'), { topLevel: repo }, 'a ref is never taken for an option');
  });

  it('gives neither outside a git repository', async () => {
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    assert.deepEqual(await topLevelAndCommit(runGit, outside, 'main'), {});
  });
});
