import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ControlDriver } from '../../src/node/controlPlane/driver';
import { connectPostgres } from '../../src/node/controlPlane/driver';
import { openEmbedded } from '../../src/node/controlPlane/embedded';
import { migrate, schemaVersion } from '../../src/node/controlPlane/migrate';
import { SCHEMA_VERSION } from '../../src/node/controlPlane/migrations';
import { ControlConflictError, ControlInputError, ControlPolicyError, ControlStore } from '../../src/node/controlPlane/store';
import type { TestPostgres } from '../support/postgres';
import { startTestPostgres } from '../support/postgres';

/** One suite, two databases: a throwaway Postgres server and the embedded PGlite store. */
interface Backend {
  name: string;
  /** A fresh, empty control plane, and a second connection to the same one. */
  fresh(): Promise<{ a: ControlDriver; b: ControlDriver }>;
  cleanup(): Promise<void>;
}

function postgresBackend(): Backend {
  let server: TestPostgres | undefined;
  let n = 0;
  const open: ControlDriver[] = [];
  return {
    name: 'Postgres server',
    async fresh() {
      server ??= await startTestPostgres();
      const url = server.createDatabase(`cp_${process.pid}_${++n}`);
      const a = await connectPostgres(url);
      const b = await connectPostgres(url);
      open.push(a, b);
      return { a, b };
    },
    async cleanup() {
      for (const d of open) await d.close();
      server?.stop();
    },
  };
}

function pgliteBackend(): Backend {
  const dirs: string[] = [];
  const open: ControlDriver[] = [];
  return {
    name: 'embedded PGlite',
    async fresh() {
      const dir = mkdtempSync(join(tmpdir(), 'pcp-'));
      dirs.push(dir);
      const a = await openEmbedded(join(dir, 'control'));
      const b = await openEmbedded(join(dir, 'control'));
      open.push(b, a);
      return { a, b };
    },
    async cleanup() {
      for (const d of open) await d.close();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}

const author = { actor: 'ops@example.com', reason: 'test' };

for (const backend of [postgresBackend(), pgliteBackend()]) {
  describe(`control plane on ${backend.name}`, function () {
    this.timeout(120_000);
    let a: ControlDriver;
    let b: ControlDriver;
    let store: ControlStore;
    let other: ControlStore;

    before(async () => {
      ({ a, b } = await backend.fresh());
      store = new ControlStore(a);
      other = new ControlStore(b);
    });
    after(() => backend.cleanup());

    it('migrates once, even when two connections migrate at the same moment', async () => {
      assert.equal(await schemaVersion(a), 0);
      const [first, second] = await Promise.all([migrate(a), migrate(b)]);
      const applied = [...first.applied, ...second.applied].map((m) => m.version);
      assert.deepEqual(applied, [1]);
      assert.equal(await schemaVersion(b), SCHEMA_VERSION);
      assert.deepEqual((await migrate(a)).applied, []);
    });

    it('starts with no rollout; a 10% rollout leaves the rest with the version that had it', async () => {
      assert.equal(await store.readRollout('summarisation'), undefined);
      const change = await store.rollout({ prompt: 'summarisation', version: 2, basisPoints: 1000, knownVersions: [1, 2] }, author);
      assert.equal(change.before, undefined);
      assert.deepEqual(change.after.shares.map((s) => [s.version, s.basisPoints]), [[1, 9000], [2, 1000]]);
      assert.equal(change.after.lastFullVersion, 1, 'v1 had all the traffic implicitly: a rollback restores it');
      assert.equal(change.log.action, 'rollout');
      assert.equal(change.log.actor, 'ops@example.com');
      assert.equal(change.log.reason, 'test');
      const snapshot = await other.readSnapshot();
      assert.equal(snapshot.marker, change.log.id);
      assert.deepEqual(snapshot.rollouts.get('summarisation')?.shares.map((s) => s.basisPoints), [9000, 1000]);
    });

    it('keeps the rest in proportion over several versions, summing to exactly 10,000', async () => {
      await store.rollout({ prompt: 'classification', version: 1, basisPoints: 10_000, knownVersions: [1, 2, 3] }, author);
      await store.rollout({ prompt: 'classification', version: 2, basisPoints: 3333, knownVersions: [1, 2, 3] }, author);
      const { after } = await store.rollout({ prompt: 'classification', version: 3, basisPoints: 1, knownVersions: [1, 2, 3] }, author);
      const shares = after.shares.map((s) => s.basisPoints);
      assert.equal(shares.reduce((x, y) => x + y, 0), 10_000);
      assert.deepEqual(shares, [6666, 3333, 1]);
      assert.equal(after.lastFullVersion, 1);
    });

    it('refuses shares that do not add up, naming the sum, and the database refuses them too', async () => {
      await assert.rejects(
        store.setShares({ prompt: 'summarisation', shares: new Map([[1, 5000], [2, 4000]]), knownVersions: [1, 2] }, author),
        (e: Error) => e instanceof ControlInputError && /sum to 9000 basis points \(90%\); they must sum to exactly 10000/.test(e.message),
      );
      await assert.rejects(
        a.transaction((tx) => tx.query(`UPDATE prompt_ci_share SET basis_points = 1 WHERE prompt = 'summarisation' AND version = 2`)),
        /the shares of summarisation sum to 9001 basis points; they must sum to exactly 10000/,
      );
      assert.deepEqual((await store.readRollout('summarisation'))?.shares.map((s) => s.basisPoints), [9000, 1000]);
    });

    it('refuses a negative or above-100% share and a version that is not in the bundle', async () => {
      await assert.rejects(store.rollout({ prompt: 'summarisation', version: 2, basisPoints: -1, knownVersions: [1, 2] }, author), /not a whole number from 0 to 10000/);
      await assert.rejects(store.rollout({ prompt: 'summarisation', version: 2, basisPoints: 10_001, knownVersions: [1, 2] }, author), /not a whole number from 0 to 10000/);
      await assert.rejects(store.rollout({ prompt: 'summarisation', version: 7, basisPoints: 100, knownVersions: [1, 2] }, author), /summarisation v7 is not in the bundle: it has v1, v2/);
      await assert.rejects(store.rollout({ prompt: 'nosuch', version: 1, basisPoints: 100, knownVersions: [] }, author), /there is no prompt "nosuch" in the bundle/);
    });

    it('tells the second of two operators changing the same rollout that the first won, and changes nothing', async () => {
      const seen = await store.readRollout('summarisation');
      assert.ok(seen);
      await other.rollout({ prompt: 'summarisation', version: 2, basisPoints: 2000, knownVersions: [1, 2] }, { ...author, actor: 'first@example.com', expectedRevision: seen.revision });
      await assert.rejects(
        store.rollout({ prompt: 'summarisation', version: 2, basisPoints: 5000, knownVersions: [1, 2] }, { ...author, actor: 'second@example.com', expectedRevision: seen.revision }),
        (e: Error) => e instanceof ControlConflictError && /changed while this change was prepared .*rollout by first@example\.com/.test(e.message),
      );
      assert.deepEqual((await store.readRollout('summarisation'))?.shares.map((s) => s.basisPoints), [8000, 2000]);
    });

    if (backend.name === 'Postgres server') {
      it('tells an operator whose change meets one in progress, without waiting for it', async () => {
        let release: () => void = () => undefined;
        const held = new Promise<void>((resolve) => (release = resolve));
        let locked: () => void = () => undefined;
        const isLocked = new Promise<void>((resolve) => (locked = resolve));
        const holder = a.transaction(async (tx) => {
          await tx.query(`SELECT * FROM prompt_ci_rollout WHERE prompt = 'summarisation' FOR UPDATE`);
          locked();
          await held;
        });
        await isLocked;
        await assert.rejects(
          other.rollout({ prompt: 'summarisation', version: 2, basisPoints: 3000, knownVersions: [1, 2] }, author),
          (e: Error) => e instanceof ControlConflictError && /another change to the rollout of summarisation is being made right now; nothing was changed/.test(e.message),
        );
        release();
        await holder;
      });
    }

    it('rolls back to the version that last had 100%, and refuses when none had', async () => {
      await store.promote({ prompt: 'summarisation', version: 2, knownVersions: [1, 2] }, author);
      await store.rollout({ prompt: 'summarisation', version: 1, basisPoints: 500, knownVersions: [1, 2] }, author);
      const change = await store.rollback({ prompt: 'summarisation' }, { actor: 'oncall@example.com', reason: 'four-word answers' });
      assert.equal(change.restored, 2);
      assert.deepEqual(change.after.rollback?.version, 2);
      assert.deepEqual(change.after.shares.map((s) => [s.version, s.basisPoints]), [[1, 0], [2, 10_000]]);
      assert.equal(change.log.action, 'rollback');
      assert.equal(change.log.reason, 'four-word answers');
      await store.rollout({ prompt: 'fresh', version: 2, basisPoints: 500, knownVersions: [1, 2] }, author);
      assert.equal((await store.rollback({ prompt: 'fresh' }, author)).restored, 1, 'the first rollout is rolled back to the version that had the traffic before it');
      await assert.rejects(store.rollback({ prompt: 'never' }, author), (e: Error) => e instanceof ControlPolicyError && /nothing to roll back to/.test(e.message));
      const next = await store.rollout({ prompt: 'summarisation', version: 1, basisPoints: 100, knownVersions: [1, 2] }, author);
      assert.equal(next.after.rollback, null, 'a new rollout replaces the rollback');
    });

    it('pins a tenant until an expiry, refusing an unknown version, a past expiry and unusable tenant ids', async () => {
      const now = new Date();
      const expires = new Date(now.getTime() + 3_600_000);
      const change = await store.pin({ tenantId: 'acme', prompt: 'summarisation', version: 1, expiresAt: expires, knownVersions: [1, 2] }, { actor: 'csm@example.com', reason: 'contract freeze' });
      assert.equal(change.after?.version, 1);
      assert.equal(change.after?.expiresAt, expires.getTime());
      await assert.rejects(store.pin({ tenantId: 'acme', prompt: 'summarisation', version: 9, knownVersions: [1, 2] }, author), /summarisation v9 is not in the bundle/);
      await assert.rejects(
        store.pin({ tenantId: 'acme', prompt: 'summarisation', version: 1, expiresAt: new Date(now.getTime() - 1000), knownVersions: [1, 2] }, author),
        /the pin's expiry .* is in the past/,
      );
      await assert.rejects(store.pin({ tenantId: 'x'.repeat(10_240), prompt: 'summarisation', version: 1, knownVersions: [1, 2] }, author), /tenant id is 10240 characters long; the limit is 256/);
      await assert.rejects(store.pin({ tenantId: 'bad\uD800', prompt: 'summarisation', version: 1, knownVersions: [1, 2] }, author), /not well-formed Unicode/);
      const unicode = await store.pin({ tenantId: 'Ünïcødé-租户-🚀', prompt: 'summarisation', version: 2, knownVersions: [1, 2] }, author);
      assert.equal(unicode.after?.tenantId, 'Ünïcødé-租户-🚀');
      const pins = (await other.readSnapshot()).pins;
      assert.equal(pins.size, 2);
      const removed = await store.unpin({ tenantId: 'Ünïcødé-租户-🚀', prompt: 'summarisation' }, author);
      assert.equal(removed.before?.version, 2);
      await assert.rejects(store.unpin({ tenantId: 'Ünïcødé-租户-🚀', prompt: 'summarisation' }, author), /has no pin of summarisation/);
      const log = await store.controlLog({ prompt: 'summarisation', limit: 3 });
      assert.deepEqual(log.map((e) => e.action), ['unpin', 'pin', 'pin']);
    });

    it('keeps at most one open audit interval per tenant, prompt and version, closes them, and answers which versions were served', async () => {
      const t0 = new Date('2026-03-01T10:00:00Z');
      const at = (minutes: number) => new Date(t0.getTime() + minutes * 60_000);
      await store.recordServed([
        { tenantId: 'acme', prompt: 'summarisation', version: 1, reason: 'rollout', basisPoints: 9000, firstAt: at(0), lastAt: at(1) },
        { tenantId: 'acme', prompt: 'summarisation', version: 2, reason: 'rollout', basisPoints: 1000, firstAt: at(2), lastAt: at(3) },
      ]);
      // Another process serving the same tenant moves the open interval instead of opening another.
      await other.recordServed([{ tenantId: 'acme', prompt: 'summarisation', version: 1, reason: 'rollout', basisPoints: 9000, firstAt: at(4), lastAt: at(5) }]);
      let intervals = await store.auditIntervals('acme', 'summarisation', at(2.5));
      assert.deepEqual(intervals.map((i) => [i.version, i.reason, i.basisPoints, i.endedAt]), [[1, 'rollout', 9000, null], [2, 'rollout', 1000, null]]);
      assert.equal(intervals[0].lastSeenAt.getTime(), at(5).getTime());
      await store.closeIntervals([{ tenantId: 'acme', prompt: 'summarisation', version: 2, endedAt: at(6) }]);
      assert.deepEqual((await store.auditIntervals('acme', 'summarisation', at(7))).map((i) => i.version), [1]);
      assert.deepEqual((await store.auditIntervals('acme', 'summarisation', at(5.5))).map((i) => i.version), [1, 2]);
      assert.equal(await store.closeIdleIntervals(at(60)), 1);
      intervals = await store.auditIntervals('acme', 'summarisation', at(0), at(100));
      assert.deepEqual(intervals.map((i) => [i.version, i.endedAt?.getTime()]), [[1, at(5).getTime()], [2, at(6).getTime()]]);
      assert.deepEqual(await store.auditIntervals('acme', 'summarisation', at(30)), []);
      // The next request after closing opens a new interval.
      await store.recordServed([{ tenantId: 'acme', prompt: 'summarisation', version: 1, reason: 'pin', basisPoints: null, firstAt: at(70), lastAt: at(70) }]);
      assert.deepEqual((await store.auditIntervals('acme', 'summarisation', at(70))).map((i) => i.reason), ['pin']);
    });

    if (backend.name === 'Postgres server') {
      it('notifies prompt_ci_control on every control change', async () => {
        let notified = 0;
        let lost: Error | undefined;
        let wake: () => void = () => undefined;
        const stop = await b.listen('prompt_ci_control', () => {
          notified++;
          wake();
        }, (e) => (lost = e));
        assert.ok(stop);
        const arrived = new Promise<void>((resolve) => (wake = resolve));
        await store.pin({ tenantId: 'globex', prompt: 'summarisation', version: 1, knownVersions: [1, 2] }, author);
        await arrived;
        assert.ok(notified >= 1);
        await stop();
        assert.equal(lost, undefined);
      });
    }
  });
}
