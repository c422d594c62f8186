import * as assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCommitInfo, parseLsTree } from '../../src/core/gitOutput';
import { ReplayError } from '../../src/core/replay';
import type { ReplayErrorCode } from '../../src/core/replay';
import { SpanError } from '../../src/core/span';
import type { GitRunner } from '../../src/node/git';
import { runGit } from '../../src/node/git';
import { openWorktree, readPromptAtCommit } from '../../src/node/promptAtCommit';
import { HISTORY, SHA, commitHistory, fileAt, git, repoState } from './promptHistory';
import type { History } from './promptHistory';

async function replayError(promise: Promise<unknown>, code: ReplayErrorCode): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ReplayError, `expected a ReplayError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error.message;
  }
  assert.fail(`expected a ReplayError ${code}`);
}

async function spanError(promise: Promise<unknown>, code: string): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof SpanError, `expected a SpanError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error.message;
  }
  assert.fail(`expected a SpanError ${code}`);
}

describe('readPromptAtCommit: reading a prompt version from git, at the commit', function () {
  let root: string;
  let repo: string;
  let untouched: Record<string, string>;

  before(function () {
    root = mkdtempSync(join(tmpdir(), 'prompt-ci-at-commit-'));
    repo = join(root, 'repo');
    const shas = commitHistory(repo, HISTORY);
    assert.deepEqual(shas, [SHA.a, SHA.b, SHA.c, SHA.d], 'the fixed history gives the SHAs the span fixtures name');
    // The user's work in progress: a modified tracked file, a staged change, an untracked file.
    writeFileSync(join(repo, 'prompts/summarisation/v1/user.template.md'), 'Work in progress {document}\n');
    writeFileSync(join(repo, 'prompts/summarisation/v2/system.md'), 'Staged system prompt\n');
    git(repo, ['add', 'prompts/summarisation/v2/system.md']);
    writeFileSync(join(repo, 'notes.txt'), 'untracked\n');
    git(repo, ['update-index', '-q', '--refresh']);
    untouched = repoState(repo);
  });

  after(function () {
    // Every test above ran against this repository: none may have changed it.
    assert.deepEqual(repoState(repo), untouched);
    rmSync(root, { recursive: true, force: true });
  });

  it('reads system.md, user.template.md and metadata.yaml as they were at each commit, not as they are now', async () => {
    for (const [index, sha] of [[0, SHA.a], [1, SHA.b], [3, SHA.d]] as const) {
      const prompt = await readPromptAtCommit(repo, { commitSha: sha, promptName: 'summarisation', promptVersion: 1 });
      assert.equal(prompt.dir, 'prompts/summarisation/v1');
      assert.equal(prompt.system, fileAt(index, 'prompts/summarisation/v1/system.md'));
      assert.equal(prompt.userTemplate, fileAt(index, 'prompts/summarisation/v1/user.template.md'));
      assert.equal(prompt.metadataText, fileAt(index, 'prompts/summarisation/v1/metadata.yaml'));
      assert.equal(prompt.commit.sha, sha);
    }
    const atA = await readPromptAtCommit(repo, { commitSha: SHA.a, promptName: 'summarisation', promptVersion: 1 });
    const atB = await readPromptAtCommit(repo, { commitSha: SHA.b, promptName: 'summarisation', promptVersion: 1 });
    assert.equal(atA.metadata.max_output_tokens, 800);
    assert.equal(atB.metadata.max_output_tokens, 600);
    assert.equal(atB.metadata.model, 'claude-sonnet-4-6');
    assert.deepEqual(atB.warnings, []);
  });

  it("gives the commit's author, dates and subject", async () => {
    const prompt = await readPromptAtCommit(repo, { commitSha: SHA.b, promptName: 'summarisation', promptVersion: 1 });
    assert.deepEqual(prompt.commit, {
      sha: SHA.b,
      author: 'Ada Lovelace',
      authorEmail: 'ada@example.com',
      authorDate: '2025-02-03T14:30:00+01:00',
      committer: 'Ada Lovelace',
      commitDate: '2025-02-03T14:30:00+01:00',
      subject: 'summarisation v1: ask for a sentence budget',
    });
  });

  it('lists the files of the directory with their blob ids', async () => {
    const prompt = await readPromptAtCommit(repo, { commitSha: SHA.c, promptName: 'summarisation', promptVersion: 2 });
    assert.deepEqual(prompt.files.map((f) => f.path), ['eval.jsonl', 'metadata.yaml', 'system.md', 'user.template.md']);
    const blob = git(repo, ['rev-parse', `${SHA.c}:prompts/summarisation/v2/user.template.md`]).trim();
    assert.equal(prompt.files.find((f) => f.path === 'user.template.md')?.object, blob);
    assert.equal(prompt.metadata.template_format, 'mustache');
  });

  it('accepts an abbreviated SHA and upper-case hex, and reports the full one', async () => {
    const prompt = await readPromptAtCommit(repo, { commitSha: SHA.c.slice(0, 7).toUpperCase(), promptName: 'classification', promptVersion: 1 });
    assert.equal(prompt.commit.sha, SHA.c);
  });

  it('a SHA that is not in the repository', async () => {
    const message = await replayError(
      readPromptAtCommit(repo, { commitSha: 'abc1234', promptName: 'summarisation', promptVersion: 1 }),
      'commit-not-found',
    );
    assert.equal(
      message,
      "commit abc1234 is not in this repository, and the repository has no remote to fetch it from: replay in a clone of the repository the span's service was built from",
    );
    await replayError(readPromptAtCommit(repo, { commitSha: '0'.repeat(40), promptName: 'summarisation', promptVersion: 1 }), 'commit-not-found');
  });

  it('the fetch hint names a remote the repository has', async () => {
    git(repo, ['remote', 'add', 'upstream', 'https://example.invalid/prompts.git']);
    try {
      const message = await replayError(readPromptAtCommit(repo, { commitSha: 'abc1234', promptName: 'summarisation', promptVersion: 1 }), 'commit-not-found');
      assert.equal(message, 'commit abc1234 is not in this repository; `git fetch upstream` may bring it');
    } finally {
      git(repo, ['remote', 'remove', 'upstream']);
    }
  });

  it('a SHA that names a blob or a tree, not a commit', async () => {
    const blob = git(repo, ['rev-parse', `${SHA.a}:README.md`]).trim();
    assert.match(await replayError(readPromptAtCommit(repo, { commitSha: blob, promptName: 'summarisation', promptVersion: 1 }), 'commit-not-found'), /names a blob in this repository, not a commit/);
    const tree = git(repo, ['rev-parse', `${SHA.a}^{tree}`]).trim();
    assert.match(await replayError(readPromptAtCommit(repo, { commitSha: tree, promptName: 'summarisation', promptVersion: 1 }), 'commit-not-found'), /names a tree/);
  });

  it('a version that is not at that commit lists the versions that are', async () => {
    const message = await replayError(readPromptAtCommit(repo, { commitSha: SHA.a, promptName: 'summarisation', promptVersion: 2 }), 'prompt-not-at-commit');
    assert.equal(message, `prompts/summarisation/v2 does not exist at commit ${SHA.a.slice(0, 12)}; versions of "summarisation" there: v1`);
    const later = await replayError(readPromptAtCommit(repo, { commitSha: SHA.d, promptName: 'summarisation', promptVersion: 7 }), 'prompt-not-at-commit');
    assert.match(later, /versions of "summarisation" there: v1, v2$/);
  });

  it('a prompt that is not at that commit lists the prompts that are', async () => {
    const message = await replayError(readPromptAtCommit(repo, { commitSha: SHA.a, promptName: 'classification', promptVersion: 1 }), 'prompt-not-at-commit');
    assert.equal(message, `prompts/classification does not exist at commit ${SHA.a.slice(0, 12)}; prompts there: summarisation`);
  });

  it('refuses a bad SHA, name or version before running git at all', async () => {
    const calls: string[][] = [];
    const recording: GitRunner = (args, options) => {
      calls.push([...args]);
      return runGit(args, options);
    };
    const cwdBefore = readdirSync(repo).sort();
    for (const commitSha of ['abc123; rm -rf /', '$(touch x)', '`touch x`', '--output=x', 'HEAD', 'main~1', `${SHA.a}:README.md`]) {
      await spanError(readPromptAtCommit(repo, { commitSha, promptName: 'summarisation', promptVersion: 1 }, { git: recording }), 'bad-commit-sha');
    }
    for (const promptName of ['../summarisation', '../../etc', 'a/b', '..', '.git']) {
      await spanError(readPromptAtCommit(repo, { commitSha: SHA.a, promptName, promptVersion: 1 }, { git: recording }), 'bad-prompt-name');
    }
    for (const promptVersion of [0, -1, 1.5, Number.NaN]) {
      await spanError(readPromptAtCommit(repo, { commitSha: SHA.a, promptName: 'summarisation', promptVersion }, { git: recording }), 'bad-prompt-version');
    }
    assert.deepEqual(calls, []);
    assert.deepEqual(readdirSync(repo).sort(), cwdBefore, 'no file "x" appeared');
    assert.ok(!existsSync(join(repo, 'x')));
  });

  it('runs only reading git commands', async () => {
    const calls: string[] = [];
    const recording: GitRunner = (args, options) => {
      calls.push(args[0] === '-c' ? args[2] : args[0]);
      return runGit(args, options);
    };
    await readPromptAtCommit(repo, { commitSha: SHA.b, promptName: 'summarisation', promptVersion: 1 }, { git: recording });
    await readPromptAtCommit(repo, { commitSha: 'abc1234', promptName: 'summarisation', promptVersion: 1 }, { git: recording }).catch(() => undefined);
    await readPromptAtCommit(repo, { commitSha: SHA.a, promptName: 'nope', promptVersion: 1 }, { git: recording }).catch(() => undefined);
    assert.deepEqual([...new Set(calls)].sort(), ['cat-file', 'ls-tree', 'remote', 'rev-parse', 'show']);
  });
});

describe('readPromptAtCommit: what a commit may hold', function () {
  let root: string;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'prompt-ci-at-commit-odd-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  const oddHistory = (files: Record<string, string | null>): History => ({
    ...HISTORY,
    commits: [...HISTORY.commits, { date: '2025-05-01T12:00:00+00:00', message: 'odd commit', files }],
  });

  it('metadata.yaml that is invalid at the commit refuses the replay, naming the line', async () => {
    const dir = join(root, 'bad-metadata');
    const shas = commitHistory(dir, oddHistory({ 'prompts/summarisation/v1/metadata.yaml': 'name: summarisation\nversion: 1\nmodel: claude-sonnet-4-6\ntemperature: hot\n' }));
    const message = await replayError(readPromptAtCommit(dir, { commitSha: shas[4], promptName: 'summarisation', promptVersion: 1 }), 'metadata-invalid');
    assert.match(message, /prompts\/summarisation\/v1\/metadata\.yaml at commit [0-9a-f]{12} is not valid/);
    assert.match(message, /line 4/);
  });

  it('an unknown metadata key is a warning, not a refusal', async () => {
    const dir = join(root, 'unknown-key');
    const shas = commitHistory(dir, oddHistory({ 'prompts/summarisation/v1/metadata.yaml': `${fileAt(1, 'prompts/summarisation/v1/metadata.yaml')}legacy_flag: true\n` }));
    const prompt = await readPromptAtCommit(dir, { commitSha: shas[4], promptName: 'summarisation', promptVersion: 1 });
    assert.equal(prompt.metadata.max_output_tokens, 600);
    assert.match(prompt.warnings.join('\n'), /unknown key "legacy_flag"/);
  });

  it('a version without user.template.md, or without system.md', async () => {
    const dir = join(root, 'missing-files');
    const shas = commitHistory(dir, oddHistory({ 'prompts/summarisation/v1/user.template.md': null, 'prompts/summarisation/v2/system.md': null }));
    const message = await replayError(readPromptAtCommit(dir, { commitSha: shas[4], promptName: 'summarisation', promptVersion: 1 }), 'file-missing-at-commit');
    assert.match(message, /has no user\.template\.md \(it holds: eval\.jsonl, metadata\.yaml, system\.md\)/);
    const noSystem = await readPromptAtCommit(dir, { commitSha: shas[4], promptName: 'summarisation', promptVersion: 2 });
    assert.equal(noSystem.system, undefined);
  });

  it('says when the clone is shallow', async () => {
    const origin = join(root, 'origin');
    commitHistory(origin, HISTORY);
    const shallow = join(root, 'shallow');
    git(root, ['clone', '-q', '--depth', '1', `file://${origin}`, shallow]);
    const message = await replayError(readPromptAtCommit(shallow, { commitSha: SHA.a, promptName: 'summarisation', promptVersion: 1 }), 'commit-not-found');
    assert.match(message, /^commit 1754a881f90c9d249853440fffe3f27ab4c0d5d9 is not in this repository; `git fetch origin` may bring it \(this clone is shallow/);
  });
});

describe('openWorktree', function () {
  let root: string;
  let repo: string;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'prompt-ci-worktree-'));
    repo = join(root, 'repo');
    commitHistory(repo, HISTORY);
    writeFileSync(join(repo, 'README.md'), 'edited, not committed\n');
    // A hook that would leave a trace if the worktree checkout ran it.
    const hook = join(repo, '.git', 'hooks', 'post-checkout');
    writeFileSync(hook, `#!/bin/sh\ntouch "${join(root, 'hook-ran')}"\n`);
    chmodSync(hook, 0o755);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('checks the commit out detached in a temporary directory, and removes it on dispose', async () => {
    const initial = repoState(repo);
    const worktree = await openWorktree(repo, SHA.b.slice(0, 8));
    assert.equal(worktree.commit, SHA.b);
    assert.ok(worktree.path.startsWith(tmpdir()));
    assert.equal(readFileSync(join(worktree.path, 'prompts/summarisation/v1/user.template.md'), 'utf8'), fileAt(1, 'prompts/summarisation/v1/user.template.md'));
    assert.equal(git(worktree.path, ['rev-parse', 'HEAD']).trim(), SHA.b);
    assert.equal(git(worktree.path, ['rev-parse', '--abbrev-ref', 'HEAD']).trim(), 'HEAD', 'detached');
    assert.ok(!existsSync(join(root, 'hook-ran')), 'the post-checkout hook did not run');
    const during = repoState(repo);
    assert.deepEqual({ ...during, worktrees: '' }, { ...initial, worktrees: '' }, 'the main worktree, HEAD and index are untouched');
    await worktree.dispose();
    await worktree.dispose();
    assert.ok(!existsSync(worktree.path));
    assert.deepEqual(repoState(repo), initial, 'nothing is left registered');
  });

  it('refuses a SHA that is not in the repository', async () => {
    await replayError(openWorktree(repo, 'abcdef1'), 'commit-not-found');
    await spanError(openWorktree(repo, '$(touch x)'), 'bad-commit-sha');
  });
});

describe('git output parsers', () => {
  it('reads ls-tree -z output, names with spaces and tabs included', () => {
    const out = '100644 blob aa11\tsystem.md\u0000040000 tree bb22\tsub dir\u0000100644 blob cc33\tname\twith tab\u0000';
    assert.deepEqual(parseLsTree(out), [
      { mode: '100644', type: 'blob', object: 'aa11', path: 'system.md' },
      { mode: '040000', type: 'tree', object: 'bb22', path: 'sub dir' },
      { mode: '100644', type: 'blob', object: 'cc33', path: 'name\twith tab' },
    ]);
    assert.deepEqual(parseLsTree(''), []);
    assert.throws(() => parseLsTree('garbage\u0000'), /unexpected git ls-tree output/);
  });

  it('reads show -s output, a subject with a NUL-free odd character set included', () => {
    const out = `${SHA.a}\u0000Zoë\u0000z@example.com\u00002025-01-06T09:00:00+00:00\u0000CI Bot\u00002025-01-07T09:00:00+00:00\u0000Fix "quotes" | pipes\n`;
    assert.deepEqual(parseCommitInfo(out), {
      sha: SHA.a,
      author: 'Zoë',
      authorEmail: 'z@example.com',
      authorDate: '2025-01-06T09:00:00+00:00',
      committer: 'CI Bot',
      commitDate: '2025-01-07T09:00:00+00:00',
      subject: 'Fix "quotes" | pipes',
    });
    assert.throws(() => parseCommitInfo('fatal: bad object\n'), /unexpected git show output/);
  });
});
