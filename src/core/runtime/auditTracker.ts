import type { RoutingTable, SelectionReason } from './selection';

/**
 * The serving-audit intervals as one runtime sees them (DESIGN.md section 7): an interval opens at
 * a tenant's first request for a version, and closes when the control plane stops routing that
 * version to the tenant (or routes it for another reason or share), or after an idle time with no
 * such request. The request path only touches a map entry; `drain` hands what changed to the
 * background writer in one batch. Pure: times are passed in as epoch milliseconds.
 */

/** An interval this runtime holds open. */
interface OpenInterval {
  tenantId: string;
  prompt: string;
  version: number;
  reason: SelectionReason;
  basisPoints: number | null;
  tier: string | undefined;
  firstAt: number;
  lastAt: number;
  /** The `lastAt` the database has; -1 before the interval was first written. */
  writtenAt: number;
}

/** An interval to open, or whose last request moved on. */
export interface ServedRecord {
  tenantId: string;
  prompt: string;
  version: number;
  reason: string;
  basisPoints: number | null;
  firstAt: number;
  lastAt: number;
}

/**
 * What the writer sends, in this order: `closing` (the last requests of intervals about to close),
 * `closed`, then `served` (intervals open now). Keys are unique within each list.
 */
export interface AuditBatch {
  closing: ServedRecord[];
  closed: { tenantId: string; prompt: string; version: number; endedAt: number }[];
  served: ServedRecord[];
}

/** The open intervals of one version of one prompt, by tenant. */
type TenantIntervals = Map<string, OpenInterval>;

/**
 * The intervals of one runtime. Open intervals are held in nested maps, prompt → version → tenant,
 * so the request path builds no key: the prompt name is the caller's (usually a literal, whose hash
 * V8 keeps), the version a small integer, and only the tenant id is hashed. A concatenated key cost
 * an allocation and the hash of a fresh string on every render (issue 17's overhead target).
 */
export class AuditTracker {
  private readonly open = new Map<string, Map<number, TenantIntervals>>();
  private openCount = 0;
  /** The last (prompt, version) touched and its tenants: consecutive renders mostly share them. */
  private lastPrompt: string | undefined;
  private lastVersion = -1;
  private lastTenants: TenantIntervals | undefined;
  private closing = new Map<string, ServedRecord>();
  private closed = new Map<string, AuditBatch['closed'][number]>();

  constructor(readonly idleMs: number) {}

  /** On the request path: the tenant got `version` of `prompt` for `reason` at `now`. */
  touch(tenantId: string, prompt: string, version: number, reason: SelectionReason, basisPoints: number | null, tier: string | undefined, now: number): void {
    let tenants = this.lastTenants;
    if (prompt !== this.lastPrompt || version !== this.lastVersion || tenants === undefined) {
      tenants = this.tenantsOf(prompt, version);
      this.lastPrompt = prompt;
      this.lastVersion = version;
      this.lastTenants = tenants;
    }
    const entry = tenants.get(tenantId);
    if (entry !== undefined) {
      if (entry.reason === reason && entry.basisPoints === basisPoints) {
        if (now > entry.lastAt) entry.lastAt = now;
        entry.tier = tier;
        return;
      }
      this.close(tenants, entry, now);
    }
    tenants.set(tenantId, { tenantId, prompt, version, reason, basisPoints, tier, firstAt: now, lastAt: now, writtenAt: -1 });
    this.openCount++;
  }

  private tenantsOf(prompt: string, version: number): TenantIntervals {
    let versions = this.open.get(prompt);
    if (versions === undefined) this.open.set(prompt, (versions = new Map()));
    let tenants = versions.get(version);
    if (tenants === undefined) versions.set(version, (tenants = new Map()));
    return tenants;
  }

  private *openEntries(): Generator<[TenantIntervals, OpenInterval]> {
    for (const versions of this.open.values()) for (const tenants of versions.values()) for (const entry of tenants.values()) yield [tenants, entry];
  }

  /**
   * After a control change (and on every flush, for pins that expired): closes, at `now`, each open
   * interval whose version the control plane no longer routes to its tenant for the same reason and
   * share; closes idle ones at their last request.
   */
  reconcile(table: RoutingTable, now: number): void {
    for (const [tenants, entry] of this.openEntries()) {
      if (now - entry.lastAt >= this.idleMs) {
        this.close(tenants, entry, entry.lastAt);
        continue;
      }
      const route = table.routeOf(entry.prompt, entry.tenantId, entry.tier, entry.version, now);
      if (!route || route.reason !== entry.reason || route.basisPoints !== entry.basisPoints) this.close(tenants, entry, now);
    }
  }

  /** Off the request path: closing is rare, so its maps keep a composite key. */
  private close(tenants: TenantIntervals, entry: OpenInterval, endedAt: number): void {
    // Deleting the current entry while iterating a Map is safe: iteration goes on with the next one.
    tenants.delete(entry.tenantId);
    this.openCount--;
    const key = intervalKey(entry);
    if (entry.lastAt !== entry.writtenAt) {
      const earlier = this.closing.get(key);
      this.closing.set(key, { ...record(entry), firstAt: Math.min(entry.firstAt, earlier?.firstAt ?? entry.firstAt) });
    }
    this.closed.set(key, { tenantId: entry.tenantId, prompt: entry.prompt, version: entry.version, endedAt });
  }

  /** What changed since the last drain, marked as written; give it back with `restore` when the write failed. */
  drain(): AuditBatch {
    const served: ServedRecord[] = [];
    for (const [, entry] of this.openEntries()) {
      if (entry.lastAt === entry.writtenAt) continue;
      served.push(record(entry));
      entry.writtenAt = entry.lastAt;
    }
    const batch = { closing: [...this.closing.values()], closed: [...this.closed.values()], served };
    this.closing = new Map();
    this.closed = new Map();
    return batch;
  }

  /** True when a drain would send something. */
  get pending(): boolean {
    if (this.closing.size || this.closed.size) return true;
    for (const [, entry] of this.openEntries()) if (entry.lastAt !== entry.writtenAt) return true;
    return false;
  }

  /** Puts back a batch the writer could not write, so the next drain sends it again. */
  restore(batch: AuditBatch): void {
    for (const c of batch.closing) {
      const key = intervalKey(c);
      if (!this.closing.has(key)) this.closing.set(key, c);
    }
    for (const c of batch.closed) {
      const key = intervalKey(c);
      if (!this.closed.has(key)) this.closed.set(key, c);
    }
    for (const s of batch.served) {
      const entry = this.open.get(s.prompt)?.get(s.version)?.get(s.tenantId);
      if (entry && entry.writtenAt === s.lastAt) entry.writtenAt = -1;
    }
  }

  /** Open intervals held. */
  get size(): number {
    return this.openCount;
  }
}

function intervalKey(i: { prompt: string; version: number; tenantId: string }): string {
  return `${i.prompt}\u0000${i.version}\u0000${i.tenantId}`;
}

function record(entry: OpenInterval): ServedRecord {
  return { tenantId: entry.tenantId, prompt: entry.prompt, version: entry.version, reason: entry.reason, basisPoints: entry.basisPoints, firstAt: entry.firstAt, lastAt: entry.lastAt };
}
