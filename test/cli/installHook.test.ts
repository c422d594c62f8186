import * as assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { HOOK_MARKER } from '../../src/core/gate/hookScript';
import type { StandIn } from '../support/standIn/server';
import { CLI } from './cliHarness';
import { git, gitEnv, harmlessEdit, regressingEdit, runAsync, runCliAsync, useGateRepo } from './gateRepo';

const KEY = 'hook-test-key';
const FOREIGN_HOOK = '#!/bin/sh\n# the team\'s own checks\necho "lint ok"\n';

function isExecutable(path: string): boolean {
  return process.platform === 'win32' || (statSync(path).mode & 0o111) !== 0;
}

describe('prompt-ci install-hook', function () {
  this.timeout(60_000);
  let standIn: StandIn;
  let repo: string;
  let remote: string;

  const shared = useGateRepo(KEY);
  beforeEach(() => {
    ({ standIn, repo } = shared);
    remote = mkdtempSync(join(tmpdir(), 'prompt-ci-remote-'));
    git(remote, 'init', '-q', '--bare');
    git(repo, 'remote', 'add', 'origin', remote);
    git(repo, 'push', '-q', 'origin', 'main');
  });
  afterEach(() => {
    rmSync(remote, { recursive: true, force: true });
  });

  const push = (cwd: string, ...args: string[]) =>
    runAsync('git', ['push', 'origin', ...args], cwd, gitEnv(cwd, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: standIn.url }));
  const remoteHas = (branch: string): boolean => git(remote, 'branch', '--list', branch).trim() !== '';

  it('installs an executable pre-push hook, updates its own, and uninstalls it', async () => {
    const hook = join(repo, '.git', 'hooks', 'pre-push');
    const run = await runCliAsync(['install-hook'], repo);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^installed \.git\/hooks\/pre-push: `git push` now runs `prompt-ci gate`/);
    const text = readFileSync(hook, 'utf8');
    assert.ok(text.startsWith(`#!/bin/sh\n${HOOK_MARKER}\n`));
    assert.ok(isExecutable(hook));

    const again = await runCliAsync(['install-hook'], repo);
    assert.equal(again.status, 0);
    assert.match(again.stdout, /^updated \.git\/hooks\/pre-push/);

    const off = await runCliAsync(['install-hook', '--uninstall'], repo);
    assert.equal(off.status, 0);
    assert.equal(off.stdout, 'removed .git/hooks/pre-push\n');
    assert.ok(!existsSync(hook));
    const none = await runCliAsync(['install-hook', '--uninstall'], repo);
    assert.match(none.stdout, /no prompt-ci hook in \.git\/hooks: nothing to remove/);
  });

  it('refuses a pre-push that is a symbolic link (dangling or not) or a folder, writing nothing anywhere', async () => {
    const hook = join(repo, '.git', 'hooks', 'pre-push');
    const outside = mkdtempSync(join(tmpdir(), 'prompt-ci-outside-'));
    try {
      const target = join(outside, 'planted', 'pre-push');
      symlinkSync(target, hook);
      const run = await runCliAsync(['install-hook'], repo);
      assert.equal(run.status, 2);
      assert.equal(run.stdout, '');
      assert.equal(
        run.stderr,
        `prompt-ci install-hook: .git/hooks/pre-push is a symbolic link (to ${target}): prompt-ci never writes through one; remove the link, or install the hook by hand\n`,
      );
      assert.ok(!existsSync(join(outside, 'planted')), 'nothing created outside the repository');
      assert.ok(lstatSync(hook).isSymbolicLink(), 'the link is left as it is');
      rmSync(hook);

      mkdirSync(hook);
      const dir = await runCliAsync(['install-hook'], repo);
      assert.equal(dir.status, 2);
      assert.equal(dir.stderr, 'prompt-ci install-hook: .git/hooks/pre-push is a folder, not a hook file: remove or rename it, then run install-hook again\n');
      rmSync(hook, { recursive: true });
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('writes into core.hooksPath, creating the folder', async () => {
    git(repo, 'config', 'core.hooksPath', '.githooks');
    const run = await runCliAsync(['install-hook'], join(repo, 'prompts'));
    assert.equal(run.status, 0, run.stderr);
    assert.ok(readFileSync(join(repo, '.githooks', 'pre-push'), 'utf8').includes(HOOK_MARKER));
    assert.ok(!existsSync(join(repo, '.git', 'hooks', 'pre-push')));
  });

  it('leaves a foreign pre-push hook as it is and says how to chain the gate from it', async () => {
    const hook = join(repo, '.git', 'hooks', 'pre-push');
    writeFileSync(hook, FOREIGN_HOOK);
    chmodSync(hook, 0o755);
    const run = await runCliAsync(['install-hook'], repo);
    assert.equal(run.status, 1, run.stderr);
    assert.equal(readFileSync(hook, 'utf8'), FOREIGN_HOOK);
    assert.match(run.stdout, /\.git\/hooks\/pre-push already exists and was not written by prompt-ci: left as it is/);
    const chainLine = /^ {4}(.+prompt-ci-pre-push.+)$/m.exec(run.stdout)?.[1];
    assert.equal(chainLine, '"$(dirname "$0")/prompt-ci-pre-push" "$@" || exit $?');
    assert.ok(isExecutable(join(repo, '.git', 'hooks', 'prompt-ci-pre-push')));

    // Chained as told, the gate stops a regressing push after the team's own checks ran.
    writeFileSync(hook, `${FOREIGN_HOOK}${chainLine}\n`);
    regressingEdit(repo);
    git(repo, 'commit', '-qam', 'Shorter summaries');
    const blocked = await push(repo, 'feature');
    assert.notEqual(blocked.status, 0);
    assert.match(blocked.stdout + blocked.stderr, /lint ok/);
    assert.match(blocked.stderr, /prompts\/summarisation\/v2: BLOCKED/);
    assert.ok(!remoteHas('feature'));

    const off = await runCliAsync(['install-hook', '--uninstall'], repo);
    assert.equal(off.status, 0);
    assert.match(off.stdout, /removed \.git\/hooks\/prompt-ci-pre-push/);
    assert.match(off.stdout, /pre-push was not written by prompt-ci: left as it is; remove the line that calls prompt-ci-pre-push from it/);
    assert.ok(existsSync(hook));
  });

  it('blocks a push that regresses a prompt, listing the regressed examples, and lets a harmless one through', async () => {
    const install = await runCliAsync(['install-hook'], repo);
    assert.equal(install.status, 0, install.stderr);

    regressingEdit(repo);
    git(repo, 'commit', '-qam', 'Shorter summaries');
    const blocked = await push(repo, 'feature');
    assert.notEqual(blocked.status, 0, blocked.stderr);
    assert.match(blocked.stderr, /prompt-ci: gating the push/);
    assert.match(blocked.stderr, /^prompts\/summarisation\/v2: BLOCKED · pass rate 0\.0% \(0\/8\) vs baseline 100\.0% \(8\/8\)/m);
    assert.match(blocked.stderr, /^ {4}sum-001 \(eval\.jsonl line 1\): baseline correct \(score 5\), challenger wrong/m);
    assert.match(blocked.stderr, /failed to push some refs/);
    assert.ok(!remoteHas('feature'), 'the branch did not reach the remote');

    // Deleting a remote branch changes no prompt: not gated.
    git(repo, 'push', '-q', '--no-verify', 'origin', 'feature:doomed');
    const deleted = await push(repo, '--delete', 'doomed');
    assert.equal(deleted.status, 0, deleted.stderr);
    assert.doesNotMatch(deleted.stderr, /gating the push/);

    git(repo, 'reset', '-q', '--hard', 'main');
    harmlessEdit(repo);
    git(repo, 'commit', '-qam', 'Punctuation');
    const passed = await push(repo, 'feature');
    assert.equal(passed.status, 0, passed.stderr);
    assert.match(passed.stderr, /^gate: PASS \(1 passed\)$/m);
    assert.ok(remoteHas('feature'));
  });

  it('blocks a push of the base branch itself, measured against the remote\'s commit of it', async () => {
    // The example settings name `main` as the baseline ref: working on main, the local main already
    // holds the pushed commits, so only the remote's main can show what they change.
    git(repo, 'checkout', '-q', 'main');
    assert.equal((await runCliAsync(['install-hook'], repo)).status, 0);
    regressingEdit(repo);
    git(repo, 'commit', '-qam', 'Shorter summaries, straight on main');
    const blocked = await push(repo, 'main');
    assert.notEqual(blocked.status, 0, blocked.stderr);
    assert.match(blocked.stderr, /^gate: 1 prompt version changed since the remote's main \([0-9a-f]{12}\)/m);
    assert.match(blocked.stderr, /^prompts\/summarisation\/v2: BLOCKED · pass rate 0\.0% \(0\/8\) vs baseline 100\.0% \(8\/8\)/m);
    assert.equal(git(remote, 'rev-parse', 'main'), git(repo, 'rev-parse', 'main~1'));
  });

  it('runs the project\'s own node_modules/.bin/prompt-ci, from a prompt repository below the top level', async () => {
    // A monorepo: the prompt repository is app/, node_modules/ sits at the top level.
    const mono = mkdtempSync(join(tmpdir(), 'prompt-ci-mono-'));
    renameSync(join(repo, '.git'), join(mono, '.git'));
    renameSync(repo, join(mono, 'app'));
    repo = mono;
    git(mono, 'add', '-A');
    git(mono, 'commit', '-q', '-m', 'Move the prompts into app/');
    git(mono, 'push', '-q', '--no-verify', 'origin', 'HEAD:main');
    git(mono, 'fetch', '-q', 'origin');
    git(mono, 'branch', '-f', 'main', 'HEAD');
    const bin = join(mono, 'node_modules', '.bin', 'prompt-ci');
    mkdirSync(dirname(bin), { recursive: true });
    const used = join(mono, 'used-local-bin');
    writeFileSync(bin, `#!/bin/sh\ntouch ${JSON.stringify(used)}\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`);
    chmodSync(bin, 0o755);
    writeFileSync(join(mono, '.gitignore'), 'node_modules/\nused-local-bin\n');
    git(mono, 'add', '.gitignore');
    git(mono, 'commit', '-q', '-m', 'Ignore node_modules');

    const install = await runCliAsync(['install-hook'], join(mono, 'app', 'prompts'));
    assert.equal(install.status, 0, install.stderr);
    assert.match(install.stdout, /runs `prompt-ci gate` in app and stops/);

    regressingEdit(join(mono, 'app'));
    git(mono, 'commit', '-qam', 'Shorter summaries');
    const blocked = await push(mono, 'feature');
    assert.notEqual(blocked.status, 0, blocked.stderr);
    assert.match(blocked.stderr, /^prompts\/summarisation\/v2: BLOCKED/m);
    assert.ok(existsSync(used), 'the hook ran node_modules/.bin/prompt-ci');
  });
});
