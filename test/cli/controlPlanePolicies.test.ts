import * as assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ControlDriver } from '../../src/node/controlPlane/driver';
import { connectPostgres } from '../../src/node/controlPlane/driver';
import { openEmbedded } from '../../src/node/controlPlane/embedded';
import { migrate } from '../../src/node/controlPlane/migrate';
import { ControlStore } from '../../src/node/controlPlane/store';
import type { TestPostgres } from '../support/postgres';
import { startTestPostgres } from '../support/postgres';
import { git, runCliAsync, useGateRepo } from './gateRepo';

/*
 * The gate's control-plane policies on a real git repository, against the embedded store (held by
 * this test process, so the CLI reaches it over its socket, as a second process does) and against a
 * throwaway Postgres server. Summarisation v1 serves 95%, v2 5%.
 */
describe('prompt-ci gate: control-plane policies', function () {
  this.timeout(90_000);
  let repo: string;
  let env: Record<string, string>;
  const shared = useGateRepo('control-key');
  beforeEach(() => {
    ({ repo, env } = shared);
  });

  async function serveSummarisation(driver: ControlDriver): Promise<void> {
    await migrate(driver);
    const store = new ControlStore(driver);
    const author = { actor: 'ops@example.com', reason: 'test' };
    await store.rollout({ prompt: 'summarisation', version: 1, basisPoints: 10_000, knownVersions: [1, 2] }, author);
    await store.rollout({ prompt: 'summarisation', version: 2, basisPoints: 500, knownVersions: [1, 2] }, author);
    await store.pin({ tenantId: 'acme', prompt: 'summarisation', version: 2, expiresAt: new Date(Date.now() + 3 * 86_400_000), knownVersions: [1, 2] }, author);
  }

  const deleteV1 = (): void => {
    git(repo, 'rm', '-rq', 'prompts/summarisation/v1');
    git(repo, 'commit', '-qm', 'Drop summarisation v1');
  };

  it('states that nothing was checked when no control plane is configured', async () => {
    deleteV1();
    const run = await runCliAsync(['gate'], repo, env);
    assert.match(run.stdout, /^control plane: not checked: none is configured \(PROMPT_CI_DATABASE_URL, controlPlane\.url in prompt-ci\.yaml\) and the repository has no embedded store/m);
    assert.doesNotMatch(run.stdout, /control\/serving-version-deleted/);
  });

  it('refuses deleting a version the embedded store says serves traffic, and warns about an expiring pin', async () => {
    const driver = await openEmbedded(join(repo, '.prompt-ci', 'control'));
    try {
      await serveSummarisation(driver);
      deleteV1();
      const run = await runCliAsync(['gate'], repo, env);
      assert.equal(run.status, 1, run.stdout + run.stderr);
      assert.match(run.stdout, /^control plane: checked against the embedded store in .+ \(1 prompt with a rollout, 1 pin\)$/m);
      assert.match(run.stdout, /^prompts\/summarisation\/v1\/metadata\.yaml:1:1: error control\/serving-version-deleted: v1 serves 95% of summarisation; deleting it breaks production/m);
      assert.match(run.stdout, /^prompts\/summarisation\/v2\/metadata\.yaml:1:1: warning control\/pin-expiring: the pin of tenant "acme" to summarisation v2 expires in 2 d 23 h/m);
      assert.match(run.stdout, /^prompts\/summarisation\/v1: BLOCKED/m);
      // check runs the same policies, against the released base (main here).
      const check = await runCliAsync(['check'], repo, env);
      assert.equal(check.status, 1, check.stdout + check.stderr);
      assert.match(check.stdout, /^prompts\/summarisation\/v1\/metadata\.yaml:1:1: error control\/serving-version-deleted: v1 serves 95% of summarisation; deleting it breaks production/m);
      assert.match(check.stdout, /warning control\/pin-expiring: the pin of tenant "acme" to summarisation v2 expires in 2 d 23 h/);
      assert.match(check.stdout, /^control plane: checked against the embedded store in .+ \(1 prompt with a rollout, 1 pin\)$/m);
    } finally {
      await driver.close();
      rmSync(join(repo, '.prompt-ci'), { recursive: true, force: true });
    }
  });

  describe('against a Postgres server', () => {
    let server: TestPostgres;
    before(async () => {
      server = await startTestPostgres();
    });
    after(() => server?.stop());

    it('refuses the deletion through PROMPT_CI_DATABASE_URL, and says the server is unreachable when it is down', async () => {
      const url = server.createDatabase(`gate_${process.pid}`);
      const driver = await connectPostgres(url);
      try {
        await serveSummarisation(driver);
      } finally {
        await driver.close();
      }
      deleteV1();
      const run = await runCliAsync(['gate'], repo, { ...env, PROMPT_CI_DATABASE_URL: url });
      assert.equal(run.status, 1, run.stdout + run.stderr);
      assert.match(run.stdout, /^control plane: checked against .+ \(from PROMPT_CI_DATABASE_URL\)/m);
      assert.match(run.stdout, /error control\/serving-version-deleted: v1 serves 95% of summarisation; deleting it breaks production/);
      const check = await runCliAsync(['check'], repo, { ...env, PROMPT_CI_DATABASE_URL: url });
      assert.equal(check.status, 1, check.stdout + check.stderr);
      assert.match(check.stdout, /error control\/serving-version-deleted: v1 serves 95% of summarisation; deleting it breaks production/);
      assert.match(check.stdout, /^control plane: checked against .+ \(from PROMPT_CI_DATABASE_URL\)/m);
      // promote: the soak and the gate's history, both named, by the policy the Rollouts view uses too.
      const promote = await runCliAsync(['promote', 'summarisation', '2'], repo, { ...env, PROMPT_CI_DATABASE_URL: url, PROMPT_CI_ACTOR: 'ops@example.com' });
      assert.equal(promote.status, 1, promote.stdout + promote.stderr);
      assert.match(promote.stderr, /summarisation v2 has soaked [^;]+ of the 24 h soak \(rollout\.soakHours in prompt-ci\.yaml\); it can be promoted after \S+; the gate has not passed summarisation v2: \.prompt-ci\/history\.jsonl has no passing run of it \(run `prompt-ci gate`\); or --force --reason TEXT/);

      server.stopServer();
      try {
        const down = await runCliAsync(['gate'], repo, { ...env, PROMPT_CI_DATABASE_URL: url });
        assert.match(down.stdout, /^control plane: not checked: .+/m);
        const checkDown = await runCliAsync(['check', '--format', 'json'], repo, { ...env, PROMPT_CI_DATABASE_URL: url });
        assert.ok(Array.isArray(JSON.parse(checkDown.stdout)) || typeof JSON.parse(checkDown.stdout) === 'object', 'stdout stays JSON');
        assert.match(checkDown.stderr, /^control plane: not checked: .+$/m);
        assert.doesNotMatch(checkDown.stdout + checkDown.stderr, /control\/serving-version-deleted|\n\s+at /);
        assert.doesNotMatch(down.stdout, /control\/serving-version-deleted/);
        assert.doesNotMatch(down.stdout + down.stderr, /\n\s+at /, 'no stack trace');
      } finally {
        server.startServer();
      }
    });
  });
});
