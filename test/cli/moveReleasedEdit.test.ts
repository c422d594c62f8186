import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultRepoSettings } from '../../src/core/repoSettings';
import { MoveEditError, moveEditToNewVersion, planMoveEdit } from '../../src/node/moveReleasedEdit';
import { checkReleasedVersions } from '../../src/node/releasedVersions';

/*
 * Moving an edit of a released version into a new version, on a real git repository: main holds
 * v1 and v2 of a prompt (both released); v1 is edited in the working tree.
 */
describe('move an edit of a released version into a new version', () => {
  let repo: string;
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();
  const write = (rel: string, text: string): void => {
    mkdirSync(join(repo, rel, '..'), { recursive: true });
    writeFileSync(join(repo, rel), text);
  };
  const meta = (v: number, model = 'claude-haiku-4-5') => `name: tickets\nversion: ${v}\nmodel: ${model}\nmax_output_tokens: 200\n`;

  beforeEach(() => {
    repo = mkdtempSync(join(tmpdir(), 'move-edit-'));
    git('init', '-q', '-b', 'main');
    git('config', 'user.email', 'dev@example.com');
    git('config', 'user.name', 'Dev');
    for (const v of [1, 2]) {
      write(`prompts/tickets/v${v}/system.md`, `System of v${v}.\n`);
      write(`prompts/tickets/v${v}/user.template.md`, '{ticket}\n');
      write(`prompts/tickets/v${v}/metadata.yaml`, meta(v));
      write(`prompts/tickets/v${v}/eval.jsonl`, '{"id":"a","inputs":{"ticket":"x"}}\n{"id":"b","inputs":{"ticket":"y"}}\n');
    }
    git('add', '.');
    git('commit', '-qm', 'v1 and v2');
  });
  afterEach(() => rmSync(repo, { recursive: true, force: true }));

  it('creates v3 from v1 with the edits and restores v1, leaving the index and HEAD alone', async () => {
    const head = git('rev-parse', 'HEAD');
    write('prompts/tickets/v1/system.md', 'System of v1, edited.\n');
    write('prompts/tickets/v1/metadata.yaml', meta(1, 'claude-sonnet-4-6'));
    write('prompts/tickets/v1/eval.jsonl', '{"id":"a","inputs":{"ticket":"x"}}\n');
    const before = await checkReleasedVersions(repo, defaultRepoSettings());
    assert.deepEqual(before.map((f) => [f.file, f.code]).sort(), [
      ['prompts/tickets/v1/eval.jsonl', 'release/eval-shrank'],
      ['prompts/tickets/v1/metadata.yaml', 'release/request-changed'],
      ['prompts/tickets/v1/system.md', 'release/request-changed'],
    ]);

    const plan = await planMoveEdit(repo, defaultRepoSettings(), 'prompts/tickets/v1');
    assert.deepEqual(Object.keys(plan.edited).sort(), ['eval.jsonl', 'metadata.yaml', 'system.md']);
    assert.equal(plan.toVersion, 3);
    const created = await moveEditToNewVersion(repo, plan);
    assert.equal(created.toDir, 'prompts/tickets/v3');
    assert.equal(readFileSync(join(repo, 'prompts/tickets/v3/system.md'), 'utf8'), 'System of v1, edited.\n');
    assert.equal(readFileSync(join(repo, 'prompts/tickets/v3/metadata.yaml'), 'utf8'), meta(3, 'claude-sonnet-4-6'));
    assert.equal(readFileSync(join(repo, 'prompts/tickets/v3/eval.jsonl'), 'utf8'), '{"id":"a","inputs":{"ticket":"x"}}\n');
    assert.equal(readFileSync(join(repo, 'prompts/tickets/v3/user.template.md'), 'utf8'), '{ticket}\n');
    assert.equal(git('status', '--porcelain'), '?? prompts/tickets/v3/', 'v1 is back to what is committed; v3 is untracked');
    assert.equal(git('rev-parse', 'HEAD'), head);
    assert.equal(git('diff', '--cached', '--name-only'), '');
    assert.deepEqual(await checkReleasedVersions(repo, defaultRepoSettings()), []);
  });

  it('refuses a version with no edit, and one that is not released', async () => {
    await assert.rejects(planMoveEdit(repo, defaultRepoSettings(), 'prompts/tickets/v2'), (e: Error) => e instanceof MoveEditError && /^prompts\/tickets\/v2 holds no edit of its released files/.test(e.message));
    write('prompts/tickets/v3/system.md', 'new\n');
    write('prompts/tickets/v3/metadata.yaml', meta(3));
    await assert.rejects(planMoveEdit(repo, defaultRepoSettings(), 'prompts/tickets/v3'), /^MoveEditError: prompts\/tickets\/v3 is not released: it is not on main, so it can be edited in place$/);
    assert.ok(existsSync(join(repo, 'prompts/tickets/v3/system.md')));
  });

  it('moves an editor\'s unsaved text, and restores a file deleted from the released version (the new version goes without it)', async () => {
    const head = git('rev-parse', 'HEAD');
    unlinkSync(join(repo, 'prompts/tickets/v1/user.template.md'));
    // system.md is unchanged on disk; an editor holds an edit of it unsaved.
    const unsaved = (file: string): string | undefined => (file === 'system.md' ? 'System of v1, edited in the editor.\n' : undefined);
    const plan = await planMoveEdit(repo, defaultRepoSettings(), 'prompts/tickets/v1', { unsaved });
    assert.deepEqual(plan.edited, { 'system.md': 'System of v1, edited in the editor.\n' });
    assert.deepEqual(plan.deleted, ['user.template.md']);
    assert.deepEqual(plan.released, { 'system.md': 'System of v1.\n', 'user.template.md': '{ticket}\n' });
    const created = await moveEditToNewVersion(repo, plan);
    assert.equal(created.toDir, 'prompts/tickets/v3');
    assert.equal(readFileSync(join(repo, 'prompts/tickets/v3/system.md'), 'utf8'), 'System of v1, edited in the editor.\n');
    assert.equal(existsSync(join(repo, 'prompts/tickets/v3/user.template.md')), false, 'the deletion went to v3');
    assert.equal(readFileSync(join(repo, 'prompts/tickets/v1/user.template.md'), 'utf8'), '{ticket}\n');
    assert.equal(readFileSync(join(repo, 'prompts/tickets/v1/system.md'), 'utf8'), 'System of v1.\n');
    assert.equal(git('status', '--porcelain'), '?? prompts/tickets/v3/', 'v1 is back to what is committed');
    assert.equal(git('rev-parse', 'HEAD'), head);
  });

  it('gives the new version the released metadata.yaml when it was deleted, and restores it', async () => {
    unlinkSync(join(repo, 'prompts/tickets/v1/metadata.yaml'));
    const plan = await planMoveEdit(repo, defaultRepoSettings(), 'prompts/tickets/v1');
    assert.deepEqual(plan.deleted, ['metadata.yaml']);
    await moveEditToNewVersion(repo, plan);
    assert.equal(readFileSync(join(repo, 'prompts/tickets/v3/metadata.yaml'), 'utf8'), meta(3));
    assert.equal(readFileSync(join(repo, 'prompts/tickets/v1/metadata.yaml'), 'utf8'), meta(1));
  });
});
