import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makePromptRepo } from '../support/promptRepo';
import { runCli } from './cliHarness';

describe('prompt-ci rollout commands', function () {
  this.timeout(600_000);

  it('answer --help with their usage and exit 0', () => {
    const repo = makePromptRepo();
    for (const [command, usage] of [['db', 'prompt-ci db migrate'], ['bundle', 'prompt-ci bundle'], ['rollout', 'prompt-ci rollout NAME VERSION --share PERCENT'], ['promote', 'prompt-ci promote'], ['rollback', 'prompt-ci rollback NAME'], ['pin', 'prompt-ci pin TENANT'], ['unpin', 'prompt-ci unpin'], ['status', 'prompt-ci status'], ['audit', 'prompt-ci audit TENANT NAME']]) {
      const r = runCli([command, '--help'], repo.root);
      assert.equal(r.status, 0, `${command}: ${r.stderr}`);
      assert.ok(r.stdout.includes(usage), r.stdout);
    }
  });

  it('refuse a bundle from a dirty tree unless --allow-dirty, which marks it dirty; refuse bad shares with exit 2', () => {
    const repo = makePromptRepo();
    writeFileSync(join(repo.root, 'prompts/summarisation/v2/system.md'), 'changed\n');
    let r = runCli(['bundle'], repo.root);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /prompts\/ has uncommitted changes \(prompts\/summarisation\/v2\/system\.md\).*--allow-dirty/);
    r = runCli(['bundle', '--allow-dirty', '--out', 'b.json'], repo.root);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /DIRTY: 1 uncommitted prompt file/);
    for (const [share, message] of [['-5', /negative/], ['150', /above 100%/], ['abc', /not a percentage/]] as const) {
      r = runCli(['rollout', 'summarisation', '2', `--share=${share}`], repo.root, { PROMPT_CI_DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/x' });
      assert.equal(r.status, 2);
      assert.match(r.stderr, message);
    }
    r = runCli(['rollout', 'summarisation', '2', '--share', '5'], repo.root, { PROMPT_CI_DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/x' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /can't reach the control plane at postgresql:\/\/postgres@127\.0\.0\.1:1\/x/);
  });

  it('pass the end-to-end check of the runtime from the built package (scripts/runtimeDoneWhen.ts)', () => {
    const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', join(__dirname, '..', '..', 'scripts', 'runtimeDoneWhen.ts')], { encoding: 'utf8', timeout: 500_000 });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /done: every check of the runtime holds/);
  });
});
