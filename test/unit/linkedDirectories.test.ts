import * as assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BundleError } from '../../src/core/runtime/bundle';
import { BaselineError, resolveBaseline } from '../../src/node/baseline';
import { checkRepoOnDisk } from '../../src/node/checkRepo';
import { runGit } from '../../src/node/git';
import { readPromptAtCommit, readPromptVersionFromGit } from '../../src/node/promptAtCommit';
import type { DirectoryKinds } from '../../src/node/promptFileRead';
import { readPromptFileSync } from '../../src/node/promptFileRead';
import { PromptFilesError, readPromptVersionFromDisk } from '../../src/node/promptFiles';
import { readPromptTree } from '../../src/node/runtime/promptSource';
import { git } from '../support/git';

const SECRET = 'root:x:0:0:secret-of-the-machine';
const LINK = /is a symbolic link; Prompt CI reads prompt files only through real directories/;


/**
 * A directory on the way to the prompt files that is a symbolic link: `prompts/x/v2 -> /elsewhere`,
 * `prompts/x -> …`, `prompts -> ../elsewhere`. Each is one refusal naming the link, from the
 * working tree and from git, and nothing behind it is read.
 */
describe('symbolic links among the directories of prompt files', function () {
  this.timeout(60_000);
  let repo: string;
  let outside: string;

  beforeEach(() => {
    repo = mkdtempSync(join(tmpdir(), 'prompt-ci-linkdir-'));
    outside = mkdtempSync(join(tmpdir(), 'prompt-ci-outside-'));
    cpSync(join(__dirname, '..', '..', 'examples', 'prompts', 'classification'), join(repo, 'prompts', 'classification'), { recursive: true });
    // What lies behind the links: a complete prompt version whose system prompt is a secret of the machine.
    cpSync(join(repo, 'prompts', 'classification', 'v1'), join(outside, 'classification', 'v2'), { recursive: true });
    writeFileSync(join(outside, 'classification', 'v2', 'system.md'), `${SECRET}\n`);
  });
  afterEach(() => {
    rmSync(repo, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  const refusals = async (): Promise<Array<[string, string]>> =>
    (await checkRepoOnDisk(repo)).findings.filter((f) => f.code === 'file/refused' || f.code.startsWith('layout/')).map((f) => [f.file, f.code]);

  it('a version directory that is a link: one finding in check; eval and the bundle refuse it', async () => {
    symlinkSync(join(outside, 'classification', 'v2'), join(repo, 'prompts', 'classification', 'v2'));
    assert.deepEqual(await refusals(), [['prompts/classification/v2', 'file/refused']]);
    const v2 = join(repo, 'prompts', 'classification', 'v2');
    await assert.rejects(readPromptVersionFromDisk(v2, { root: repo }), (error: unknown) => {
      assert.ok(error instanceof PromptFilesError);
      // One sentence for the link, not one per file behind it.
      assert.equal((error as Error).message, 'prompts/classification/v2 is a symbolic link; Prompt CI reads prompt files only through real directories (a link could point outside the repository): replace it with the directory itself');
      return true;
    });
    assert.throws(() => readPromptTree(repo), (error: unknown) => error instanceof BundleError && LINK.test((error as Error).message));
  });

  it('one walk of the directories for many files still refuses a file below a linked directory, whatever was read before it', () => {
    const root = mkdtempSync(join(tmpdir(), 'prompt-ci-linked-walk-'));
    try {
      mkdirSync(join(root, 'a', 'b'), { recursive: true });
      mkdirSync(join(root, 'outside'), { recursive: true });
      for (const file of ['a/one.md', 'a/b/two.md', 'outside/three.md']) writeFileSync(join(root, file), file);
      symlinkSync(join(root, 'outside'), join(root, 'a', 'linked'));
      symlinkSync(join(root, 'outside'), join(root, 'a', 'b', 'deeper'));
      const known: DirectoryKinds = new Map();
      const read = (path: string): string => readPromptFileSync(join(root, path), path, root, known).kind;
      assert.equal(read('a/one.md'), 'text');
      assert.equal(read('a/b/two.md'), 'text');
      assert.equal(read('a/linked/three.md'), 'refused');
      assert.equal(read('a/b/deeper/three.md'), 'refused');
      assert.equal(read('a/b/two.md'), 'text');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a prompt directory that is a link', async () => {
    renameSync(join(repo, 'prompts', 'classification'), join(outside, 'moved'));
    symlinkSync(join(outside, 'moved'), join(repo, 'prompts', 'classification'));
    assert.deepEqual(await refusals(), [['prompts/classification', 'file/refused']]);
    await assert.rejects(readPromptVersionFromDisk(join(repo, 'prompts', 'classification', 'v1'), { root: repo }), /^PromptFilesError: prompts\/classification is a symbolic link/);
  });

  it('prompts/ itself a link (prompts -> ../elsewhere)', async () => {
    renameSync(join(repo, 'prompts'), join(outside, 'prompts'));
    symlinkSync(join(outside, 'prompts'), join(repo, 'prompts'));
    writeFileSync(join(repo, 'prompt-ci.yaml'), '');
    assert.deepEqual(await refusals(), [['prompts', 'file/refused']]);
    await assert.rejects(readPromptVersionFromDisk(join(repo, 'prompts', 'classification', 'v1'), { root: repo }), /^PromptFilesError: prompts is a symbolic link/);
    assert.throws(() => readPromptTree(repo), /prompts is a symbolic link/);
  });

  it('from git: a committed link (mode 120000) as a version directory, read as baseline, --baseline REF:PATH and replay', async () => {
    symlinkSync(join(outside, 'classification', 'v2'), join(repo, 'prompts', 'classification', 'v2'));
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'a linked version');
    const head = git(repo, 'rev-parse', 'HEAD').trim();
    await assert.rejects(readPromptVersionFromGit(runGit, repo, head, 'prompts/classification/v2'), /prompts\/classification\/v2 at [0-9a-f]{12} is a symbolic link/);
    await assert.rejects(readPromptAtCommit(repo, { commitSha: head, promptName: 'classification', promptVersion: 2 }), LINK);
    await assert.rejects(
      resolveBaseline({ repoRoot: repo, challengerDir: 'prompts/classification/v1', override: 'main:prompts/classification/v2' }),
      (error: unknown) => error instanceof BaselineError && /^--baseline main:prompts\/classification\/v2: prompts\/classification\/v2 at [0-9a-f]{12} is a symbolic link/.test((error as Error).message),
    );
    // The challenger v2 as a real directory on a branch: production's copy of v2 on main is the link, refused rather than skipped for v1.
    git(repo, 'checkout', '-qb', 'feature');
    git(repo, 'rm', '-q', 'prompts/classification/v2');
    cpSync(join(repo, 'prompts', 'classification', 'v1'), join(repo, 'prompts', 'classification', 'v2'), { recursive: true });
    await assert.rejects(resolveBaseline({ repoRoot: repo, challengerDir: 'prompts/classification/v2', baselineRef: 'main' }), (error: unknown) => error instanceof BaselineError && LINK.test((error as Error).message));
  });
});
