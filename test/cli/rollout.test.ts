import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
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

  it('rollout refuses a version the gate has not passed, naming why, unless --force --reason; on the embedded PGlite store', () => {
    const repo = makePromptRepo();
    const env = { PROMPT_CI_ACTOR: 'ops@example.com' };
    // v1 is what production serves with no rollout recorded: giving it all the traffic is not held.
    let r = runCli(['rollout', 'summarisation', '1', '--share', '100', '--reason', 'v1 is production'], repo.root, env);
    assert.equal(r.status, 0, r.stderr);
    r = runCli(['rollout', 'summarisation', '2', '--share', '10'], repo.root, env);
    assert.equal(r.status, 1, r.stdout);
    assert.equal(r.stderr, 'prompt-ci rollout: the gate has not passed summarisation v2: .prompt-ci/history.jsonl has no passing run of it (run `prompt-ci gate`); or --force --reason TEXT\n');
    r = runCli(['rollout', 'summarisation', '2', '--share', '10', '--force'], repo.root, env);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^prompt-ci rollout: --force needs --reason TEXT: the control log keeps why the policy was overridden\n/);
    r = runCli(['status', 'summarisation'], repo.root, env);
    assert.match(r.stdout, /v1 +100% /, 'nothing changed while refused');
    assert.doesNotMatch(r.stdout, /v2 /);
    r = runCli(['rollout', 'summarisation', '2', '--share', '10', '--force', '--reason', 'soak before the gate runs'], repo.root, env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^summarisation v2 now has 10% of the traffic \(policy overridden with --force\)\n/);
    assert.match(r.stdout, /v1 +90% .*\n {2}v2 +10% /s);
    // Once the gate has passed v2 (its line in history.jsonl), the rollout needs no --force.
    mkdirSync(join(repo.root, '.prompt-ci'), { recursive: true });
    const record = { prompt: 'summarisation', version: 2, dir: 'prompts/summarisation/v2', winRate: 0.9, scored: 20, correct: 18, model: 'claude-haiku-4-5', judgeModel: 'claude-haiku-4-5', date: '2026-03-01T00:00:00Z', commit: repo.commit, source: 'gate' };
    writeFileSync(join(repo.root, '.prompt-ci', 'history.jsonl'), `${JSON.stringify(record)}\n`);
    r = runCli(['rollout', 'summarisation', '2', '--share', '25'], repo.root, env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^summarisation v2 now has 25% of the traffic\n/);
    // classification v1 is its only version: served with no rollout recorded, so never held.
    r = runCli(['rollout', 'classification', '1', '--share', '100'], repo.root, env);
    assert.equal(r.status, 0, r.stderr);
  });

  it('pass the end-to-end check of the runtime from the built package (scripts/runtimeDoneWhen.ts)', () => {
    const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', join(__dirname, '..', '..', 'scripts', 'runtimeDoneWhen.ts')], { encoding: 'utf8', timeout: 500_000 });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /done: every check of the runtime holds/);
  });
});
