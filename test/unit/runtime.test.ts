import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { connectPostgres } from '../../src/node/controlPlane/driver';
import { openEmbedded } from '../../src/node/controlPlane/embedded';
import { migrate } from '../../src/node/controlPlane/migrate';
import { ControlStore } from '../../src/node/controlPlane/store';
import type { PromptRuntime } from '../../src/runtime';
import { ControlPlaneError, createPromptRuntime, rolloutBucket } from '../../src/runtime';
import type { AppProcess } from '../support/appProcess';
import { startApp } from '../support/appProcess';
import type { TestPostgres } from '../support/postgres';
import { startTestPostgres } from '../support/postgres';
import { makePromptRepo } from '../support/promptRepo';

const variables = { customer_name: 'Acme', plan: 'pro', document: 'A ticket.', ticket_priority: 'high' };
const author = { actor: 'ops@example.com', reason: 'test' };
const known = [1, 2];

/** Waits until `check` holds, polling (the runtime reacts to events in other processes). */
async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('prompt runtime against a real Postgres', function () {
  this.timeout(180_000);
  let pg: TestPostgres;
  let repo: ReturnType<typeof makePromptRepo>;
  let store: ControlStore;
  const runtimes: PromptRuntime[] = [];
  const apps: AppProcess[] = [];

  before(async () => {
    pg = await startTestPostgres();
    repo = makePromptRepo();
  });
  beforeEach(async function () {
    const url = pg.createDatabase(`rt_${Date.now()}_${Math.floor(Math.random() * 1e6)}`);
    (this as unknown as { url: string }).url = url;
    store = new ControlStore(await connectPostgres(url));
    await migrate(store.driver);
  });
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.stop();
    for (const r of runtimes.splice(0)) await r.close();
    await store.driver.close();
  });
  after(() => {
    pg.stop();
    rmSync(repo.root, { recursive: true, force: true });
  });

  const start = async (url: string, extra: Record<string, unknown> = {}) => {
    const logs: string[] = [];
    const runtime = await createPromptRuntime({ prompts: join(repo.root, 'prompts'), controlPlane: url, log: (l) => logs.push(l), auditFlushMs: 50, ...extra });
    runtimes.push(runtime);
    return { runtime, logs };
  };

  it('migrates at start, serves a 10% rollout to 10% of conversations, each on one version, and audits the split', async function () {
    const { runtime } = await start((this as unknown as { url: string }).url);
    assert.equal(runtime.render('summarisation', { tenantId: 'acme', requestId: 'r0', variables }).reason, 'no-rollout');
    await store.rollout({ prompt: 'summarisation', version: 2, basisPoints: 1000, knownVersions: known }, author);
    await until(() => runtime.render('summarisation', { tenantId: 'acme', requestId: 'r0', variables }).reason === 'rollout', 'the rollout to arrive');
    const byConversation = new Map<string, number>();
    let v2 = 0;
    for (let i = 0; i < 5000; i++) {
      for (let message = 0; message < 3; message++) {
        const r = runtime.render('summarisation', { tenantId: 'acme', requestId: `c${i}-m${message}`, stickyKey: `c${i}`, variables });
        const before = byConversation.get(`c${i}`);
        if (before !== undefined) assert.equal(r.version, before, 'a conversation stays on one version');
        byConversation.set(`c${i}`, r.version);
      }
      if (byConversation.get(`c${i}`) === 2) v2++;
    }
    assert.ok(Math.abs(v2 / 5000 - 0.1) < 0.015, `${v2} of 5000`);
    const answer = await runtime.versionAt('acme', 'summarisation', new Date());
    assert.deepEqual(answer.map((a) => [a.version, a.reason, a.basisPoints]).sort(), [[1, 'rollout', 9000], [2, 'rollout', 1000]]);
    const before = await runtime.versionAt('acme', 'summarisation', new Date(Date.now() - 3_600_000 * 5));
    assert.deepEqual(before, []);
  });

  it('keeps a pinned tenant on its version until the pin expires, then logs the expiry once', async function () {
    let clock = Date.now();
    const { runtime, logs } = await start((this as unknown as { url: string }).url, { now: () => clock });
    await store.promote({ prompt: 'summarisation', version: 2, knownVersions: known }, author);
    await store.pin({ tenantId: 'acme', prompt: 'summarisation', version: 1, expiresAt: new Date(clock + 60_000), knownVersions: known }, author);
    await runtime.refresh();
    for (let i = 0; i < 50; i++) assert.equal(runtime.render('summarisation', { tenantId: 'acme', requestId: `r${i}`, variables }).version, 1);
    assert.equal(runtime.render('summarisation', { tenantId: 'globex', requestId: 'r', variables }).version, 2);
    clock += 61_000;
    for (let i = 0; i < 5; i++) assert.deepEqual(runtime.render('summarisation', { tenantId: 'acme', requestId: `r${i}`, variables }).reason, 'rollout');
    assert.equal(logs.filter((l) => /the pin of tenant "acme" to summarisation v1 expired/.test(l)).length, 1, logs.join('\n'));
  });

  it('fails at start with a clear error when the database is down, and with allowStale serves and reconnects', async () => {
    await assert.rejects(
      createPromptRuntime({ prompts: join(repo.root, 'prompts'), controlPlane: 'postgresql://postgres@127.0.0.1:1/none', log: () => undefined }),
      (e: Error) => e instanceof ControlPlaneError && /can't reach the control plane at postgresql:\/\/postgres@127\.0\.0\.1:1\/none: .*ECONNREFUSED.*pass allowStale: true/.test(e.message),
    );
    const spare = await startTestPostgres();
    spare.stopServer();
    try {
      const { runtime, logs } = await start(spare.url, { allowStale: true });
      assert.equal(runtime.controlPlaneState, 'stale');
      assert.equal(runtime.render('classification', { tenantId: 'a', requestId: 'r', variables: { customer_tier: 'x', subject: 's', body: 'b' } }).reason, 'only-version');
      assert.ok(logs.some((l) => /unreachable at start .*serving without a snapshot.*reconnecting with backoff/.test(l)), logs.join('\n'));
      spare.startServer();
      await until(() => runtime.controlPlaneState === 'live', 'the reconnect');
      assert.ok(logs.some((l) => /reachable again after .* s; snapshot reloaded; listening/.test(l)), logs.join('\n'));
      assert.ok(logs.some((l) => /migrated the schema from version 0 to 1/.test(l)), 'a fresh database is migrated by the runtime');
      await runtime.close();
    } finally {
      spare.stop();
    }
  });

  it('keeps serving its snapshot when the database goes away mid-traffic, and catches up when it is back', async () => {
    const spare = await startTestPostgres();
    try {
      const spareStore = new ControlStore(await connectPostgres(spare.url));
      const { runtime, logs } = await start(spare.url, { pollIntervalMs: 100, backoffMs: 50 });
      await spareStore.rollout({ prompt: 'summarisation', version: 2, basisPoints: 5000, knownVersions: known }, author);
      await until(() => runtime.render('summarisation', { tenantId: 'acme', requestId: 'r', variables }).reason === 'rollout', 'the rollout');
      const before = runtime.render('summarisation', { tenantId: 'acme', requestId: 'r', variables }).version;
      await spareStore.driver.close();
      spare.stopServer();
      await until(() => runtime.controlPlaneState === 'stale', 'the runtime to notice');
      for (let i = 0; i < 100; i++) assert.equal(runtime.render('summarisation', { tenantId: 'acme', requestId: 'r', variables }).version, before, 'the last snapshot still serves');
      assert.equal(runtime.render('summarisation', { tenantId: 'acme', requestId: 'other', variables }).reason, 'rollout');
      assert.ok(logs.some((l) => /unreachable while serving .*serving the snapshot loaded at/.test(l)), logs.join('\n'));
      spare.startServer();
      await until(() => runtime.controlPlaneState === 'live', 'the reconnect');
      const back = new ControlStore(await connectPostgres(spare.url));
      await back.rollback({ prompt: 'summarisation' }, author);
      await until(() => runtime.render('summarisation', { tenantId: 'acme', requestId: 'r', variables }).reason === 'rollback', 'the rollback after the outage');
      assert.equal(runtime.render('summarisation', { tenantId: 'acme', requestId: 'r', variables }).version, 1);
      await back.driver.close();
      await runtime.close();
    } finally {
      spare.stop();
    }
  });

  it('falls back to polling when the LISTEN connection drops, logs it, and listens again', async function () {
    const url = (this as unknown as { url: string }).url;
    const { runtime, logs } = await start(url, { pollIntervalMs: 200 });
    assert.equal(runtime.controlPlaneState, 'live');
    const admin = new Client({ connectionString: url });
    await admin.connect();
    const killed = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND datname = current_database()`);
    await admin.end();
    assert.equal(killed.rowCount, 1);
    await until(() => logs.some((l) => /the LISTEN connection dropped/.test(l)), 'the drop to be logged');
    await store.rollout({ prompt: 'summarisation', version: 2, basisPoints: 10_000, knownVersions: known }, author);
    await until(() => runtime.render('summarisation', { tenantId: 'acme', requestId: 'r', variables }).version === 2, 'the change, by polling or the new LISTEN');
    await until(() => logs.some((l) => /listening on prompt_ci_control again/.test(l)), 'listening again');
    assert.equal(runtime.controlPlaneState, 'live');
  });

  it('propagates a rollback to every one of three application processes', async function () {
    const url = (this as unknown as { url: string }).url;
    await store.promote({ prompt: 'summarisation', version: 1, knownVersions: known }, author);
    await store.rollout({ prompt: 'summarisation', version: 2, basisPoints: 10_000, knownVersions: known }, author);
    await store.promote({ prompt: 'summarisation', version: 1, knownVersions: known }, author);
    await store.rollout({ prompt: 'summarisation', version: 2, basisPoints: 9999, knownVersions: known }, author);
    // Conversations that the 99.99% rollout puts on v2.
    const keys = Array.from({ length: 100 }, (_, i) => `conv-${i}`).filter((k) => rolloutBucket('summarisation', 'acme', k) >= 1).slice(0, 3);
    for (const key of keys) apps.push(startApp({ prompts: join(repo.root, 'prompts'), controlPlane: url, stickyKey: key }));
    await Promise.all(apps.map((a) => a.waitFor((e) => e.ready === true, { past: true })));
    for (const a of apps) assert.equal((await a.waitFor((e) => e.version !== undefined, { past: true })).version, 2);
    const issued = Date.now();
    await store.rollback({ prompt: 'summarisation' }, author);
    const seen = await Promise.all(apps.map((a) => a.waitFor((e) => e.reason === 'rollback', { past: true })));
    for (const e of seen) {
      assert.equal(e.version, 1);
      assert.ok(e.at >= issued);
    }
    for (const a of apps) assert.ok(a.events.some((e) => /summarisation: rollback in force, serving v1/.test(e.log ?? '')), 'each process logs the transition');
  });
});

describe('prompt runtime on the embedded store', function () {
  this.timeout(240_000);
  let repo: ReturnType<typeof makePromptRepo>;
  const apps: AppProcess[] = [];
  before(() => {
    repo = makePromptRepo();
  });
  after(async () => {
    for (const a of apps) await a.stop();
    rmSync(repo.root, { recursive: true, force: true });
  });

  it('shares one store between processes: the first serves it on its socket, the others connect and see changes by polling', async () => {
    const env = { PROMPT_CI_POLL_MS: '200' };
    const first = startApp({ prompts: join(repo.root, 'prompts'), env });
    apps.push(first);
    await first.waitFor((e) => e.ready === true, { past: true, timeoutMs: 120_000 });
    assert.ok(first.events.some((e) => /this process \(\d+\) holds the embedded store/.test(e.log ?? '')), JSON.stringify(first.events));
    const second = startApp({ prompts: join(repo.root, 'prompts'), env, stickyKey: 'other' });
    apps.push(second);
    await second.waitFor((e) => e.ready === true, { past: true, timeoutMs: 120_000 });
    assert.ok(second.events.some((e) => new RegExp(`connected to the embedded store .* served by process ${first.child.pid}`).test(e.log ?? '')), JSON.stringify(second.events));
    const driver = await openEmbedded(join(repo.root, '.prompt-ci', 'control'));
    const store = new ControlStore(driver);
    await store.rollout({ prompt: 'summarisation', version: 2, basisPoints: 10_000, knownVersions: known }, author);
    await Promise.all([first, second].map((a) => a.waitFor((e) => e.version === 2 && e.reason === 'rollout', { past: true })));
    await driver.close();
  });

  it('says which process holds the store when that process does not serve it', async () => {
    const dir = join(repo.root, 'held', 'control');
    mkdirSync(dir, { recursive: true });
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dir, 'holder.json'), JSON.stringify({ pid: holder.pid, startedAt: '2026-03-01T10:00:00.000Z', command: 'app.js' }));
      await assert.rejects(
        openEmbedded(dir, { waitForHolderMs: 300 }),
        (e: Error) => e instanceof ControlPlaneError && new RegExp(`held by process ${holder.pid} \\(app\\.js, since 2026-03-01T10:00:00\\.000Z\\), which does not answer on .*\\.s\\.PGSQL\\.5432; stop that process, or set PROMPT_CI_DATABASE_URL`).test(e.message),
      );
    } finally {
      holder.kill();
    }
  });
});
