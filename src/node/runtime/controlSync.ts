import type { ControlSnapshot } from '../../core/runtime/snapshot';
import type { ControlPlaneLocation } from '../controlPlane/connection';
import { describeLocation, openControlPlane } from '../controlPlane/connection';
import type { ControlDriver } from '../controlPlane/driver';
import { ControlPlaneError, isConnectionError } from '../controlPlane/driver';
import { migrate, schemaVersion } from '../controlPlane/migrate';
import { CONTROL_CHANNEL, SCHEMA_VERSION } from '../controlPlane/migrations';
import { ControlStore } from '../controlPlane/store';
import type { ControlSyncState } from './controlSyncState';

/**
 * Keeps a runtime's snapshot of the control plane current (DESIGN.md section 7): reloads on
 * `NOTIFY prompt_ci_control`, polls the control log's last id as the fallback (the only mechanism
 * on the embedded store across processes), keeps serving the last snapshot while the database is
 * away, reconnects with backoff, and logs one line at each transition.
 */

// In its own module so that the runtime's declaration files reach no driver (nor pg's types).
export type { ControlSyncState };

/** Options of `ControlSync.start`. */
export interface ControlSyncOptions {
  location: ControlPlaneLocation;
  /** Milliseconds between polls. Default 5000. */
  pollMs?: number;
  /** Start without a database, serving what needs no control plane, and keep trying. */
  allowStale?: boolean;
  /** First reconnect delay; doubles up to `maxBackoffMs`. Defaults 250 and 30000. */
  backoffMs?: number;
  maxBackoffMs?: number;
  log: (line: string) => void;
  onSnapshot: (snapshot: ControlSnapshot) => void;
}

/** The runtime's link to the control plane. */
export class ControlSync {
  state: ControlSyncState = 'connecting';
  private driver: ControlDriver | undefined;
  private storeValue: ControlStore | undefined;
  private marker = -1;
  private pollTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopListening: (() => Promise<void>) | undefined;
  private attempt = 0;
  private staleSince = 0;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  private snapshotLoadedAt = 0;
  private readonly pollMs: number;

  private constructor(private readonly options: ControlSyncOptions) {
    this.pollMs = options.pollMs ?? 5000;
  }

  /**
   * Connects, migrates a schema that is behind, loads the first snapshot and starts listening.
   * @throws ControlPlaneError when the database can't be reached, unless `allowStale`.
   */
  static async start(options: ControlSyncOptions): Promise<ControlSync> {
    const sync = new ControlSync(options);
    try {
      await sync.connect();
    } catch (error) {
      if (!options.allowStale || !isConnectionError(error)) {
        throw error instanceof ControlPlaneError
          ? new ControlPlaneError(`${error.message} (at start; pass allowStale: true to serve without it until it is back)`, error.code)
          : error;
      }
      sync.goStale(error as Error, 'at start');
    }
    return sync;
  }

  /** The store, when connected. */
  get store(): ControlStore | undefined {
    return this.state === 'stale' || this.state === 'closed' ? undefined : this.storeValue;
  }

  /** Reloads now (after a change this process made, or in tests). */
  async reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    const run = async () => {
      try {
        do {
          this.reloadAgain = false;
          const store = this.store;
          if (!store) return;
          const snapshot = await store.readSnapshot();
          this.marker = snapshot.marker;
          this.snapshotLoadedAt = snapshot.loadedAt;
          this.options.onSnapshot(snapshot);
        } while (this.reloadAgain);
      } catch (error) {
        this.failed(error);
      } finally {
        this.reloading = undefined;
      }
    };
    this.reloading = run();
    return this.reloading;
  }

  async close(): Promise<void> {
    this.state = 'closed';
    clearInterval(this.pollTimer);
    clearTimeout(this.retryTimer);
    await this.stopListening?.().catch(() => undefined);
    await this.driver?.close().catch(() => undefined);
    this.driver = undefined;
  }

  private async connect(): Promise<void> {
    const driver = await openControlPlane(this.options.location, { log: this.options.log });
    try {
      const version = await schemaVersion(driver);
      if (version < SCHEMA_VERSION) {
        const outcome = await migrate(driver);
        if (outcome.applied.length) this.options.log(`control plane: migrated the schema from version ${outcome.from} to ${outcome.to}`);
      } else if (version > SCHEMA_VERSION) {
        throw new ControlPlaneError(`the control plane at ${driver.description} has schema version ${version}, newer than this runtime knows (${SCHEMA_VERSION}); upgrade prompt-ci`, 'schema');
      }
      this.driver = driver;
      this.storeValue = new ControlStore(driver);
      const snapshot = await this.storeValue.readSnapshot();
      this.marker = snapshot.marker;
      this.snapshotLoadedAt = snapshot.loadedAt;
      this.options.onSnapshot(snapshot);
      this.stopListening = await driver.listen(CONTROL_CHANNEL, () => void this.reload(), (error) => this.listenLost(error));
    } catch (error) {
      await driver.close().catch(() => undefined);
      this.driver = undefined;
      throw error;
    }
    const wasStale = this.state === 'stale';
    this.state = this.stopListening ? 'live' : 'polling';
    this.attempt = 0;
    const how = this.stopListening ? `listening on ${CONTROL_CHANNEL}, polling every ${this.pollMs} ms as a fallback` : `polling every ${this.pollMs} ms (this database has no cross-process notifications)`;
    this.options.log(
      wasStale
        ? `control plane: reachable again after ${Math.round((Date.now() - this.staleSince) / 100) / 10} s; snapshot reloaded; ${how}`
        : `control plane: connected to ${describeLocation(this.options.location)}; ${how}`,
    );
    clearInterval(this.pollTimer);
    this.pollTimer = setInterval(() => void this.poll(), this.pollMs);
    this.pollTimer.unref();
  }

  private async poll(): Promise<void> {
    const store = this.store;
    if (!store || this.reloading) return;
    try {
      if ((await store.marker()) !== this.marker) await this.reload();
    } catch (error) {
      this.failed(error);
    }
  }

  private failed(error: unknown): void {
    if (this.state === 'closed') return;
    if (isConnectionError(error)) this.goStale(error as Error, 'while serving');
    else this.options.log(`control plane: reading the control plane failed: ${(error as Error).message}; keeping the last snapshot`);
  }

  private listenLost(error: Error): void {
    if (this.state !== 'live') return;
    this.state = 'polling';
    this.stopListening = undefined;
    this.options.log(`control plane: the LISTEN connection dropped (${error.message}); polling every ${this.pollMs} ms and listening again with backoff`);
    this.relisten(0);
  }

  private relisten(attempt: number): void {
    const delay = this.backoff(attempt);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(async () => {
      if (this.state !== 'polling' || !this.driver) return;
      try {
        this.stopListening = await this.driver.listen(CONTROL_CHANNEL, () => void this.reload(), (e) => this.listenLost(e));
        if (this.state !== 'polling') return;
        this.state = 'live';
        this.options.log(`control plane: listening on ${CONTROL_CHANNEL} again`);
        await this.reload();
      } catch (error) {
        if (isConnectionError(error)) this.relisten(attempt + 1);
      }
    }, delay);
    this.retryTimer.unref();
  }

  private goStale(error: Error, when: string): void {
    if (this.state === 'stale' || this.state === 'closed') return;
    this.state = 'stale';
    this.staleSince = Date.now();
    clearInterval(this.pollTimer);
    const stop = this.stopListening;
    this.stopListening = undefined;
    void stop?.().catch(() => undefined);
    const driver = this.driver;
    this.driver = undefined;
    void driver?.close().catch(() => undefined);
    const served = this.snapshotLoadedAt ? `serving the snapshot loaded at ${new Date(this.snapshotLoadedAt).toISOString()}` : 'serving without a snapshot (only versions that need no rollout decision)';
    this.options.log(`control plane: unreachable ${when} (${error.message}); ${served}; reconnecting with backoff`);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = this.backoff(this.attempt++);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(async () => {
      if (this.state !== 'stale') return;
      try {
        await this.connect();
      } catch {
        if (this.state === 'stale') this.scheduleReconnect();
      }
    }, delay);
    this.retryTimer.unref();
  }

  private backoff(attempt: number): number {
    const base = this.options.backoffMs ?? 250;
    const cap = this.options.maxBackoffMs ?? 30_000;
    const delay = Math.min(cap, base * 2 ** Math.min(attempt, 20));
    return delay / 2 + Math.random() * (delay / 2);
  }
}
