import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lchownSync, cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './cliHarness';
import { EXAMPLES, gitEnv } from './gateRepo';

const SPAN = join(__dirname, '..', 'fixtures', 'spans', 'otlp-span.json');

/** The commands that need git, each as a user would type it in the example repository. */
const GIT_COMMANDS: string[][] = [
  ['gate', '--offline'],
  ['eval', '--offline', 'prompts/classification/v1'],
  ['install-hook'],
  ['replay', SPAN],
  ['bundle'],
];

/** A committed copy of the example repository, on `main`. */
function exampleRepo(home: string): string {
  const repo = mkdtempSync(join(tmpdir(), 'prompt-ci-nogit-'));
  cpSync(EXAMPLES, repo, { recursive: true });
  const run = (...args: string[]) => execFileSync('git', args, { cwd: repo, env: gitEnv(home), stdio: 'pipe' });
  run('init', '-q', '-b', 'main');
  run('add', '-A');
  run('commit', '-qm', 'examples');
  return repo;
}

/** Changes the owner of everything under `path` (lchown: links stay links). */
function chownTree(path: string, uid: number, gid: number): void {
  lchownSync(path, uid, gid);
  if (!lstatSync(path).isDirectory()) return;
  for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
}

function assertSaysNotRepository(stderr: string): void {
  assert.doesNotMatch(stderr, /not (in|inside) a git repository|no prompt repository/);
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
}

describe('git missing or refusing the repository', function () {
  this.timeout(120_000);
  let home: string;
  let repo: string;
  before(() => {
    home = mkdtempSync(join(tmpdir(), 'prompt-ci-home-'));
    repo = exampleRepo(home);
  });
  after(() => {
    rmSync(home, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
  });

  describe('git not on PATH', () => {
    let bin: string;
    before(() => {
      // A PATH that holds node and nothing else: git can't be found, as on a machine without it.
      bin = mkdtempSync(join(tmpdir(), 'prompt-ci-bin-'));
      symlinkSync(process.execPath, join(bin, 'node'));
    });
    after(() => rmSync(bin, { recursive: true, force: true }));

    for (const args of GIT_COMMANDS) {
      it(`${args[0]} says git is missing and what to do`, () => {
        const run = runCli(args, repo, { PATH: bin, HOME: home });
        assert.equal(run.status, 2, run.stderr);
        assert.match(run.stderr, new RegExp(`^prompt-ci ${args[0]}: git is not installed or not on PATH: .*Install git, or add the folder that holds it to the PATH`));
        assertSaysNotRepository(run.stderr);
      });
    }

    it('check still checks, and warns that released versions were not checked', () => {
      const run = runCli(['check'], repo, { PATH: bin, HOME: home });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /warning git\/unavailable: released versions were not checked: git is not installed or not on PATH/);
      assert.match(run.stdout, /in 3 prompt versions/);
    });
  });

  describe('a repository owned by another user ("dubious ownership")', () => {
    let owned: string;
    before(function () {
      if (process.getuid?.() !== 0) {
        // Only root can hand a folder to another user; git refuses the same way for any user.
        this.skip();
      }
      owned = exampleRepo(home);
      chownTree(owned, 65534, 65534);
    });
    after(() => {
      if (owned) rmSync(owned, { recursive: true, force: true });
    });

    for (const args of GIT_COMMANDS) {
      it(`${args[0]} names the ownership refusal and the safe.directory command`, () => {
        const run = runCli(args, owned, gitEnv(home));
        assert.equal(run.status, 2, run.stderr);
        assert.ok(
          run.stderr.includes(`git refuses to work in ${owned}: it is owned by another user`) &&
            run.stderr.includes(`git config --global --add safe.directory ${owned}`),
          run.stderr,
        );
        assertSaysNotRepository(run.stderr);
      });
    }

    it('check warns about it, and the advice works', () => {
      const before = runCli(['check'], owned, gitEnv(home));
      assert.equal(before.status, 0, before.stderr);
      assert.match(before.stdout, /warning git\/unavailable: released versions were not checked: git refuses to work in/);

      const gitHome = mkdtempSync(join(tmpdir(), 'prompt-ci-home-'));
      try {
        mkdirSync(gitHome, { recursive: true });
        execFileSync('git', ['config', '--global', '--add', 'safe.directory', owned], { env: gitEnv(gitHome) });
        const after = runCli(['check'], owned, gitEnv(gitHome));
        assert.equal(after.status, 0, after.stderr);
        assert.doesNotMatch(after.stdout, /git\/unavailable/);
      } finally {
        rmSync(gitHome, { recursive: true, force: true });
      }
    });
  });
});
