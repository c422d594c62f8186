import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BaselineError, resolveBaseline } from '../../src/node/baseline';
import { fetchCommandFor } from '../../src/node/git';
import { parseLsTree } from '../../src/core/gitOutput';
import { git } from '../support/git';


function writePrompt(root: string, dir: string, tag: string, extra: Record<string, string> = {}): void {
  const abs = join(root, dir);
  mkdirSync(abs, { recursive: true });
  const [, name, v] = /([^/]+)\/v(\d+)$/.exec(dir) ?? [];
  writeFileSync(join(abs, 'system.md'), `system ${tag}\n`);
  writeFileSync(join(abs, 'user.template.md'), `user {document} ${tag}\n`);
  writeFileSync(join(abs, 'eval.jsonl'), '{"id": "a", "inputs": {"document": "x"}}\n');
  writeFileSync(join(abs, 'metadata.yaml'), `name: ${name}\nversion: ${v}\nmodel: claude-sonnet-4-6\n`);
  for (const [file, text] of Object.entries(extra)) writeFileSync(join(abs, file), text);
}

/** A repository whose `main` holds summarisation v1 and v2 and classification v1. */
function makeRepo(): string {
  const root = mkdtempSync(join(tmpdir(), 'prompt-ci-baseline-'));
  git(root, 'init', '-q', '-b', 'main');
  writePrompt(root, 'prompts/summarisation/v1', 'main-v1');
  writePrompt(root, 'prompts/summarisation/v2', 'main-v2', { 'judge.md': 'judge {reference} {candidate}\n' });
  writePrompt(root, 'prompts/classification/v1', 'main-c1');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'prompts');
  return root;
}

describe('baseline resolution', () => {
  const cleanup: string[] = [];
  const repo = (): string => {
    const root = makeRepo();
    cleanup.push(root);
    return root;
  };
  after(() => {
    for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
  });

  it('takes the same path at main when origin/main does not exist, from git, not the working tree', async () => {
    const root = repo();
    git(root, 'checkout', '-q', '-b', 'feature');
    writeFileSync(join(root, 'prompts/summarisation/v2/system.md'), 'edited, uncommitted\n');
    const statusBefore = git(root, 'status', '--porcelain');
    const baseline = await resolveBaseline({ repoRoot: root, challengerDir: 'prompts/summarisation/v2' });
    assert.equal(baseline.source, 'git');
    assert.equal(baseline.how, 'same-path');
    assert.equal(baseline.ref, 'main');
    assert.equal(baseline.commit, git(root, 'rev-parse', 'main'));
    assert.equal(baseline.dir, 'prompts/summarisation/v2');
    assert.equal(baseline.files.system, 'system main-v2\n');
    assert.equal(baseline.files.judge, 'judge {reference} {candidate}\n');
    assert.equal(readFileSync(join(root, 'prompts/summarisation/v2/system.md'), 'utf8'), 'edited, uncommitted\n');
    assert.equal(git(root, 'status', '--porcelain'), statusBefore, 'the working tree and index are untouched');
  });

  it('prefers origin/main over main', async () => {
    const root = repo();
    const remote = mkdtempSync(join(tmpdir(), 'prompt-ci-remote-'));
    cleanup.push(remote);
    git(remote, 'init', '-q', '--bare');
    git(root, 'remote', 'add', 'origin', remote);
    git(root, 'push', '-q', 'origin', 'main');
    git(root, 'fetch', '-q', 'origin');
    // main moves on locally; origin/main stays.
    writeFileSync(join(root, 'prompts/summarisation/v2/system.md'), 'local main change\n');
    git(root, 'commit', '-q', '-am', 'local');
    const baseline = await resolveBaseline({ repoRoot: root, challengerDir: 'prompts/summarisation/v2' });
    assert.equal(baseline.ref, 'origin/main');
    assert.equal(baseline.files.system, 'system main-v2\n');
  });

  it('falls back to the highest lower version at the ref for a new version', async () => {
    const root = repo();
    writePrompt(root, 'prompts/summarisation/v4', 'new');
    const baseline = await resolveBaseline({ repoRoot: root, challengerDir: join(root, 'prompts/summarisation/v4') });
    assert.equal(baseline.how, 'lower-version');
    assert.equal(baseline.dir, 'prompts/summarisation/v2');
    assert.equal(baseline.files.system, 'system main-v2\n');
    assert.match(baseline.description, /^prompts\/summarisation\/v2 at main \([0-9a-f]{12}\), the highest version below v4 there$/);
  });

  it('uses baselineRef from settings', async () => {
    const root = repo();
    git(root, 'tag', 'prod');
    writeFileSync(join(root, 'prompts/summarisation/v2/system.md'), 'after the tag\n');
    git(root, 'commit', '-q', '-am', 'after');
    const baseline = await resolveBaseline({ repoRoot: root, challengerDir: 'prompts/summarisation/v2', baselineRef: 'prod' });
    assert.equal(baseline.ref, 'prod');
    assert.equal(baseline.files.system, 'system main-v2\n');
  });

  it('a prompt that does not exist at the ref is a clear error naming what was looked for', async () => {
    const root = repo();
    writePrompt(root, 'prompts/brand-new/v3', 'x');
    await assert.rejects(resolveBaseline({ repoRoot: root, challengerDir: 'prompts/brand-new/v3' }), (error: unknown) => {
      assert.ok(error instanceof BaselineError);
      assert.match(
        (error as Error).message,
        /^no baseline for prompts\/brand-new\/v3: main \([0-9a-f]{12}\) has neither prompts\/brand-new\/v3\/ nor a lower version \(v1 to v2\) of prompts\/brand-new\/\. .*pass --baseline DIR\|REF:PATH/,
      );
      return true;
    });
    writePrompt(root, 'prompts/other/v1', 'x');
    await assert.rejects(resolveBaseline({ repoRoot: root, challengerDir: 'prompts/other/v1' }), /prompts\/other\/v1\/ does not exist at main .*, and v1 has no lower version/);
  });

  it('a missing ref in a shallow clone names the ref and the fetch that gets it', async () => {
    const source = repo();
    const clone = mkdtempSync(join(tmpdir(), 'prompt-ci-shallow-'));
    cleanup.push(clone);
    git(clone, 'clone', '-q', '--depth', '1', '--branch', 'main', `file://${source}`, 'c');
    const root = join(clone, 'c');
    // A CI checkout: a detached HEAD on the PR commit, no local main, no origin/main.
    git(root, 'checkout', '-q', '--detach');
    git(root, 'branch', '-q', '-D', 'main');
    git(root, 'update-ref', '-d', 'refs/remotes/origin/main');
    git(root, 'update-ref', '-d', 'refs/remotes/origin/HEAD');
    await assert.rejects(resolveBaseline({ repoRoot: root, challengerDir: 'prompts/summarisation/v2' }), (error: unknown) => {
      assert.ok(error instanceof BaselineError);
      assert.equal(
        (error as Error).message,
        'neither baseline ref "origin/main" nor "main" exists in this shallow clone. Fetch it with: git fetch origin main:refs/remotes/origin/main (or set baselineRef in prompt-ci.yaml), or pass --baseline DIR|REF:PATH',
      );
      return true;
    });
    // The fetch it suggests works, and then so does the baseline.
    git(root, 'fetch', '-q', 'origin', 'main:refs/remotes/origin/main');
    const baseline = await resolveBaseline({ repoRoot: root, challengerDir: 'prompts/summarisation/v2' });
    assert.equal(baseline.ref, 'origin/main');
  });

  it('works on a detached HEAD', async () => {
    const root = repo();
    git(root, 'checkout', '-q', '--detach', 'HEAD');
    const baseline = await resolveBaseline({ repoRoot: root, challengerDir: 'prompts/classification/v1' });
    assert.equal(baseline.files.system, 'system main-c1\n');
  });

  it('--baseline DIR reads a directory from disk', async () => {
    const root = repo();
    writePrompt(root, 'elsewhere/summarisation/v9', 'disk');
    const baseline = await resolveBaseline({ repoRoot: root, challengerDir: 'prompts/summarisation/v2', override: 'elsewhere/summarisation/v9' });
    assert.equal(baseline.source, 'directory');
    assert.equal(baseline.dir, 'elsewhere/summarisation/v9');
    assert.equal(baseline.files.system, 'system disk\n');
    assert.equal(baseline.commit, null);
  });

  it('--baseline REF:PATH reads that path at that ref', async () => {
    const root = repo();
    const first = git(root, 'rev-parse', 'HEAD');
    writeFileSync(join(root, 'prompts/summarisation/v1/system.md'), 'newer v1\n');
    git(root, 'commit', '-q', '-am', 'v1 change');
    const baseline = await resolveBaseline({ repoRoot: root, challengerDir: 'prompts/summarisation/v2', override: `${first}:prompts/summarisation/v1` });
    assert.equal(baseline.how, 'override');
    assert.equal(baseline.commit, first);
    assert.equal(baseline.files.system, 'system main-v1\n');
    await assert.rejects(
      resolveBaseline({ repoRoot: root, challengerDir: 'prompts/summarisation/v2', override: 'main:prompts/nothing/v1' }),
      /--baseline main:prompts\/nothing\/v1: prompts\/nothing\/v1 is not a directory at main/,
    );
    await assert.rejects(
      resolveBaseline({ repoRoot: root, challengerDir: 'prompts/summarisation/v2', override: 'no-such-ref:prompts/summarisation/v1' }),
      /the baseline ref "no-such-ref" does not exist in this repository/,
    );
    await assert.rejects(resolveBaseline({ repoRoot: root, challengerDir: 'prompts/summarisation/v2', override: 'not-a-dir' }), /not a directory, and not REF:PATH/);
  });

  it('a prompt directory at the ref missing a required file is named', async () => {
    const root = repo();
    git(root, 'rm', '-q', 'prompts/classification/v1/system.md');
    git(root, 'commit', '-q', '-m', 'break');
    await assert.rejects(resolveBaseline({ repoRoot: root, challengerDir: 'prompts/classification/v1' }), /prompts\/classification\/v1 at [0-9a-f]{12} has no system\.md/);
  });

  it('handles a repository root below the git top level', async () => {
    const top = mkdtempSync(join(tmpdir(), 'prompt-ci-nested-'));
    cleanup.push(top);
    git(top, 'init', '-q', '-b', 'main');
    writePrompt(top, 'examples/prompts/summarisation/v1', 'nested');
    git(top, 'add', '-A');
    git(top, 'commit', '-q', '-m', 'x');
    writePrompt(top, 'examples/prompts/summarisation/v2', 'new');
    const baseline = await resolveBaseline({ repoRoot: join(top, 'examples'), challengerDir: 'prompts/summarisation/v2' });
    assert.equal(baseline.dir, 'prompts/summarisation/v1');
    assert.equal(baseline.files.system, 'system nested\n');
  });

  it('fetchCommandFor names the remote branch form', () => {
    assert.equal(fetchCommandFor('origin/main', ['origin']), 'git fetch origin main:refs/remotes/origin/main');
    assert.equal(fetchCommandFor('upstream/release/2', ['origin', 'upstream']), 'git fetch upstream release/2:refs/remotes/upstream/release/2');
    assert.equal(fetchCommandFor('main', ['origin']), 'git fetch origin main:main');
    assert.equal(fetchCommandFor('main', ['upstream']), 'git fetch upstream main:main');
    assert.equal(fetchCommandFor('origin/main', []), undefined, 'no remote: no fetch command to name');
  });

  it('parseLsTree reads -z output, names verbatim', () => {
    const out = '100644 blob 1111111111111111111111111111111111111111\tmetadata.yaml\x00040000 tree 2222222222222222222222222222222222222222\tv1\x00100644 blob 3333333333333333333333333333333333333333\tname with\ttab\x00';
    assert.deepEqual(parseLsTree(out).map((e) => [e.type, e.path]), [
      ['blob', 'metadata.yaml'],
      ['tree', 'v1'],
      ['blob', 'name with\ttab'],
    ]);
  });
});
