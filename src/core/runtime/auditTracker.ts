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

/** The intervals of one runtime. */
export class AuditTracker {
  private readonly open = new Map<string, OpenInterval>();
  private closing = new Map<string, ServedRecord>();
  private closed = new Map<string, AuditBatch['closed'][number]>();

  constructor(readonly idleMs: number) {}

  /** On the request path: the tenant got `version` of `prompt` for `reason` at `now`. */
  touch(tenantId: string, prompt: string, version: number, reason: SelectionReason, basisPoints: number | null, tier: string | undefined, now: number): void {
    const key = `${prompt}\u0000${version}\u0000${tenantId}`;
    const entry = this.open.get(key);
    if (entry !== undefined && entry.reason === reason && entry.basisPoints === basisPoints) {
      if (now > entry.lastAt) entry.lastAt = now;
      entry.tier = tier;
      return;
    }
    if (entry !== undefined) this.close(key, entry, now);
    this.open.set(key, { tenantId, prompt, version, reason, basisPoints, tier, firstAt: now, lastAt: now, writtenAt: -1 });
  }

  /**
   * After a control change (and on every flush, for pins that expired): closes, at `now`, each open
   * interval whose version the control plane no longer routes to its tenant for the same reason and
   * share; closes idle ones at their last request.
   */
  reconcile(table: RoutingTable, now: number): void {
    for (const [key, entry] of this.open) {
      if (now - entry.lastAt >= this.idleMs) {
        this.close(key, entry, entry.lastAt);
        continue;
      }
      const route = table.routeOf(entry.prompt, entry.tenantId, entry.tier, entry.version, now);
      if (!route || route.reason !== entry.reason || route.basisPoints !== entry.basisPoints) this.close(key, entry, now);
    }
  }

  private close(key: string, entry: OpenInterval, endedAt: number): void {
    this.open.delete(key);
    if (entry.lastAt !== entry.writtenAt) {
      const earlier = this.closing.get(key);
      this.closing.set(key, { ...record(entry), firstAt: Math.min(entry.firstAt, earlier?.firstAt ?? entry.firstAt) });
    }
    this.closed.set(key, { tenantId: entry.tenantId, prompt: entry.prompt, version: entry.version, endedAt });
  }

  /** What changed since the last drain, marked as written; give it back with `restore` when the write failed. */
  drain(): AuditBatch {
    const served: ServedRecord[] = [];
    for (const entry of this.open.values()) {
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
    for (const entry of this.open.values()) if (entry.lastAt !== entry.writtenAt) return true;
    return false;
  }

  /** Puts back a batch the writer could not write, so the next drain sends it again. */
  restore(batch: AuditBatch): void {
    for (const c of batch.closing) {
      const key = `${c.prompt}\u0000${c.version}\u0000${c.tenantId}`;
      if (!this.closing.has(key)) this.closing.set(key, c);
    }
    for (const c of batch.closed) {
      const key = `${c.prompt}\u0000${c.version}\u0000${c.tenantId}`;
      if (!this.closed.has(key)) this.closed.set(key, c);
    }
    for (const s of batch.served) {
      const entry = this.open.get(`${s.prompt}\u0000${s.version}\u0000${s.tenantId}`);
      if (entry && entry.writtenAt === s.lastAt) entry.writtenAt = -1;
    }
  }

  /** Open intervals held. */
  get size(): number {
    return this.open.size;
  }
}

function record(entry: OpenInterval): ServedRecord {
  return { tenantId: entry.tenantId, prompt: entry.prompt, version: entry.version, reason: entry.reason, basisPoints: entry.basisPoints, firstAt: entry.firstAt, lastAt: entry.lastAt };
}
