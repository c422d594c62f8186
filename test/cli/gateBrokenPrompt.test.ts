import * as assert from 'node:assert/strict';
import { chmodSync, lchownSync, cpSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from './cliHarness';
import { gitEnv, harmlessEdit, runAsync, useGateRepo } from './gateRepo';

const KEY = 'gate-broken-key';
/** An unprivileged user to run the gate as when the tests run as root (root reads a file of mode 000). */
const NOBODY = 65534;

/** A new classification version `v<n>` copied from v1, with `version` bumped, then broken by `breakIt`. */
function brokenVersion(repo: string, n: number, breakIt: (dir: string) => void): string {
  const dir = join(repo, 'prompts', 'classification', `v${n}`);
  cpSync(join(repo, 'prompts', 'classification', 'v1'), dir, { recursive: true });
  const metadata = join(dir, 'metadata.yaml');
  writeFileSync(metadata, readFileSync(metadata, 'utf8').replace(/^version: 1$/m, `version: ${n}`));
  breakIt(dir);
  return `prompts/classification/v${n}`;
}

function chownTree(path: string, uid: number): void {
  lchownSync(path, uid, uid);
  if (lstatSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), uid);
}

/**
 * One broken prompt version does not stop the gate: it gets its own finding and verdict, and the
 * other changed prompt of the same gate run is still evaluated and reported.
 */
describe('prompt-ci gate with broken prompt files beside a good one', function () {
  this.timeout(120_000);
  const shared = useGateRepo(KEY);
  let home: string | undefined;
  afterEach(() => {
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('reports each broken version (a file for a directory, a link loop, an unreadable file, bad UTF-8) and still evaluates the good one', async () => {
    const { repo, env } = shared;
    harmlessEdit(repo);
    const asFile = 'prompts/classification/v3';
    writeFileSync(join(repo, asFile), 'a file where the version directory should be\n');
    const loop = brokenVersion(repo, 4, (dir) => {
      unlinkSync(join(dir, 'system.md'));
      symlinkSync('system.md', join(dir, 'system.md'));
    });
    const unreadable = brokenVersion(repo, 5, (dir) => chmodSync(join(dir, 'user.template.md'), 0o000));
    const badUtf8 = brokenVersion(repo, 6, (dir) => writeFileSync(join(dir, 'eval.jsonl'), Buffer.concat([readFileSync(join(dir, 'eval.jsonl')).subarray(0, 40), Buffer.from([0xff, 0xfe, 0x0a])])));

    let run;
    if (process.getuid?.() === 0) {
      // As an unprivileged user (root reads mode 000), owning the repository so git does not refuse it.
      home = mkdtempSync(join(tmpdir(), 'prompt-ci-home-'));
      chownTree(repo, NOBODY);
      chownTree(home, NOBODY);
      run = await runAsync('runuser', ['-u', 'nobody', '--', process.execPath, CLI, 'gate'], repo, { ...gitEnv(home), ...env });
    } else {
      run = await runAsync(process.execPath, [CLI, 'gate'], repo, { ...gitEnv(repo), ...env });
    }
    const out = run.stdout;
    assert.equal(run.status, 1, out + run.stderr);
    assert.doesNotMatch(out + run.stderr, /\n\s+at |EISDIR|ELOOP|EACCES/, 'sentences, not stack traces or errno codes');

    // The good prompt ran and passed.
    assert.match(out, /^prompts\/summarisation\/v2: PASS · pass rate 100\.0%/m);
    // Each broken one: its finding in the check step, and its own verdict.
    assert.match(out, new RegExp(`^${loop}/system\\.md:1:1: error file/refused: ${loop}/system\\.md is a symbolic link`, 'm'));
    assert.match(out, new RegExp(`^${unreadable}/user\\.template\\.md:1:1: error file/refused: ${unreadable}/user\\.template\\.md can't be read: permission denied`, 'm'));
    assert.match(out, new RegExp(`^${badUtf8}/eval\\.jsonl:\\d+:\\d+: error file/invalid-utf8: `, 'm'));
    assert.match(out, new RegExp(`^${asFile}:1:1: error layout/not-a-directory: ${asFile} is a file; a prompt version is a directory`, 'm'));
    // Messages name files as the repository does, not by this machine's absolute paths.
    assert.doesNotMatch(out, new RegExp(repo.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    for (const dir of [asFile, loop, unreadable, badUtf8]) assert.match(out, new RegExp(`^${dir}: ERROR\\n {2}- .*${dir}`, 'm'), dir);
    assert.doesNotMatch(out, new RegExp(`^${asFile}: REMOVED`, 'm'), 'a file is not a removed version');
    assert.match(out, /^gate: BLOCKED \(4 could not run, 1 passed, check found 5 errors\)$/m);
  });
});
