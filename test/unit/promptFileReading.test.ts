import * as assert from 'node:assert/strict';
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReplayError } from '../../src/core/replay';
import { checkRepoOnDisk, readRepoSettings } from '../../src/node/checkRepo';
import { runGit } from '../../src/node/git';
import { readPromptAtCommit, readPromptVersionFromGit } from '../../src/node/promptAtCommit';
import { readFileNoFollowSync, readPromptFile, readPromptFileSync } from '../../src/node/promptFileRead';
import { PromptFilesError, readPromptVersionFromDisk } from '../../src/node/promptFiles';
import { git } from '../support/git';

const V1 = 'prompts/classification/v1';
const SECRET = 'root:x:0:0:secret-of-the-machine';


describe('reading prompt files: one reader, from the working tree and from git', function () {
  this.timeout(60_000);
  let repo: string;
  let outside: string;
  const dir = (): string => join(repo, V1);

  beforeEach(() => {
    repo = mkdtempSync(join(tmpdir(), 'prompt-ci-read-'));
    outside = mkdtempSync(join(tmpdir(), 'prompt-ci-outside-'));
    writeFileSync(join(outside, 'passwd'), `${SECRET}\n`);
    cpSync(join(__dirname, '..', '..', 'examples', 'prompts', 'classification'), join(repo, 'prompts', 'classification'), { recursive: true });
  });
  afterEach(() => {
    rmSync(repo, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  const linkSystem = (): void => {
    unlinkSync(join(dir(), 'system.md'));
    symlinkSync(join(outside, 'passwd'), join(dir(), 'system.md'));
  };

  it('refuses a symlinked system.md in check, with one finding on the file', async () => {
    linkSystem();
    const { findings } = await checkRepoOnDisk(repo);
    const onSystem = findings.filter((f) => f.file === `${V1}/system.md` || /system\.md/.test(f.message));
    assert.deepEqual(onSystem.map((f) => [f.file, f.severity, f.code]), [[`${V1}/system.md`, 'error', 'file/refused']]);
    assert.match(onSystem[0].message, /is a symbolic link/);
  });

  it('refuses it in the eval reader, so nothing of it reaches a request', async () => {
    linkSystem();
    await assert.rejects(readPromptVersionFromDisk(dir()), (error: unknown) => {
      assert.ok(error instanceof PromptFilesError);
      assert.match((error as Error).message, /system\.md is a symbolic link/);
      assert.doesNotMatch((error as Error).message, /root:x/);
      return true;
    });
  });

  it('refuses a symlinked prompt-ci.yaml, and a symlink committed to git (mode 120000)', async () => {
    symlinkSync(join(outside, 'passwd'), join(repo, 'prompt-ci.yaml'));
    assert.match(readRepoSettings(repo).problems.join('\n'), /prompt-ci\.yaml is a symbolic link/);
    rmSync(join(repo, 'prompt-ci.yaml'));

    linkSystem();
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'a link');
    const head = git(repo, 'rev-parse', 'HEAD').trim();
    await assert.rejects(readPromptVersionFromGit(runGit, repo, head, V1), /system\.md at [0-9a-f]{12} is a symbolic link/);
    await assert.rejects(readPromptAtCommit(repo, { commitSha: head, promptName: 'classification', promptVersion: 1 }), (error: unknown) => {
      assert.ok(error instanceof ReplayError);
      assert.equal((error as ReplayError).code, 'file-refused-at-commit');
      return true;
    });
  });

  it('refuses a file swapped for a link after it was looked at, rather than reading through the link', async () => {
    // What the index knows of a file (its lstat, taken earlier in the same request) said a regular
    // file; by the read it is a link out of the repository. The read itself refuses to follow it.
    const path = join(dir(), 'system.md');
    const regular = { stat: lstatSync(path) };
    linkSystem();
    for (const read of [readPromptFileSync(path, `${V1}/system.md`, repo, undefined, { lstat: regular }), await readPromptFile(path, `${V1}/system.md`)]) {
      assert.equal(read.kind, 'refused');
      assert.match((read as { message: string }).message, /system\.md is a symbolic link/);
    }
    assert.throws(() => readFileNoFollowSync(path), (error: NodeJS.ErrnoException) => error.code === 'ELOOP');
  });

  it('reads a whole file whatever size the lstat taken before said: shorter, exact, longer, nothing; a file grown or shrunk since', () => {
    const path = join(dir(), 'system.md');
    const bytes = Buffer.concat([Buffer.from('é\r\n\u{1D11E}'), Buffer.alloc(70_000, 0x61), Buffer.from([0xff, 0x00])]);
    writeFileSync(path, bytes);
    for (const hint of [0, 1, 3, 4096, bytes.length - 1, bytes.length, bytes.length + 1, 1_000_000]) {
      assert.deepStrictEqual(readFileNoFollowSync(path, hint), bytes, `hint ${hint}`);
    }
    const stale = { stat: lstatSync(path) };
    writeFileSync(path, Buffer.concat([bytes, bytes]));
    assert.deepStrictEqual(readPromptFileSync(path, `${V1}/system.md`, repo, undefined, { lstat: stale }), readPromptFileSync(path, `${V1}/system.md`, repo));
    writeFileSync(path, 'short');
    assert.strictEqual((readPromptFileSync(path, `${V1}/system.md`, repo, undefined, { lstat: stale }) as { text: string }).text, 'short');
    writeFileSync(path, '');
    assert.deepStrictEqual(readFileNoFollowSync(path, 0), Buffer.alloc(0));
  });

  it('names a prompt file that is a directory, or a symlink loop, in a sentence', async () => {
    rmSync(join(dir(), 'user.template.md'));
    mkdirSync(join(dir(), 'user.template.md'));
    await assert.rejects(readPromptVersionFromDisk(dir()), /user\.template\.md is a directory, not a file/);
    rmSync(join(dir(), 'user.template.md'), { recursive: true });
    symlinkSync(join(dir(), 'user.template.md'), join(dir(), 'user.template.md'));
    await assert.rejects(readPromptVersionFromDisk(dir()), /user\.template\.md is a symbolic link/);
  });

  it('normalises CRLF and a leading BOM from disk and from git alike, and check says so as information', async () => {
    const system = readFileSync(join(dir(), 'system.md'), 'utf8');
    writeFileSync(join(dir(), 'system.md'), `\uFEFF${system.replace(/\n/g, '\r\n')}`);
    const evalText = readFileSync(join(dir(), 'eval.jsonl'), 'utf8');
    writeFileSync(join(dir(), 'eval.jsonl'), `\uFEFF${evalText}`);
    const fromDisk = await readPromptVersionFromDisk(dir());
    assert.equal(fromDisk.system, system);
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'windows');
    const fromGit = await readPromptVersionFromGit(runGit, repo, git(repo, 'rev-parse', 'HEAD').trim(), V1);
    assert.equal(fromGit.system, system);
    const { findings } = await checkRepoOnDisk(repo);
    const about = findings.filter((f) => f.file === `${V1}/system.md` || f.file === `${V1}/eval.jsonl`).map((f) => `${f.file.slice(V1.length + 1)} ${f.severity} ${f.code}`);
    assert.deepEqual(about.sort(), ['eval.jsonl information file/bom', 'system.md information file/bom', 'system.md information file/crlf']);
  });

  it('reports invalid UTF-8 as an error at the first bad byte', async () => {
    const template = readFileSync(join(dir(), 'user.template.md'));
    const bad = Buffer.concat([Buffer.from('line one\nabc'), Buffer.from([0xff, 0xfe]), Buffer.from('\n'), template]);
    writeFileSync(join(dir(), 'user.template.md'), bad);
    const { findings } = await checkRepoOnDisk(repo);
    const utf8 = findings.filter((f) => f.code === 'file/invalid-utf8');
    assert.equal(utf8.length, 1);
    assert.equal(utf8[0].file, `${V1}/user.template.md`);
    assert.deepEqual(utf8[0].range.start, { line: 1, character: 3 });
    await assert.rejects(readPromptVersionFromDisk(dir()), /user\.template\.md is not valid UTF-8 \(first bad byte at offset 12\)/);
  });
});
