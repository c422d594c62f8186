import type { RoutingTable, SelectionReason } from './selection';

/**
 * The serving-audit intervals as one runtime sees them (DESIGN.md section 7): an interval opens at
 * a tenant's first request for a version, and closes when the control plane stops routing that
 * version to the tenant (or routes it for another reason or share), or after an idle time with no
 * such request. The request path only touches a map entry; `drain` hands what changed to the
 * background writer in one batch. Pure: times are passed in as epoch milliseconds.
 *
 * Precision of the written `last_seen_at`: an interval is written when it opens and when it closes
 * (with its exact last request), and while open only once its last request has moved `refreshMs`
 * past what was written (default: a sixtieth of the idle time, at most a minute). What `last_seen_at`
 * is read for is the idle rule (an interval idle for `idleMs` is over) and the end of an interval
 * whose runtime stopped without closing it; a lag of a minute against an idle time of an hour
 * changes neither answer for a live runtime. Without it every flush rewrote every active tenant's
 * interval (10,000 rows a second at 10,000 active tenants).
 *
 * Routing checks on a flush: an open interval's route depends only on the routing table, the clock
 * through pin expiries, and the interval's own (prompt, tenant, tier, version, reason, share). So
 * `reconcile` checks every open interval only when the table is another one or a pin expired since
 * the last check; otherwise it checks only the intervals opened or moved to another tier since then
 * (its dirty slots), and the idle time of all of them, which reads two typed arrays.
 */

/** An interval this runtime holds open; its last request is in the tracker's `lastAt` array, at `slot`. */
interface OpenInterval {
  tenantId: string;
  prompt: string;
  version: number;
  reason: SelectionReason;
  basisPoints: number | null;
  tier: string | undefined;
  firstAt: number;
  slot: number;
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

/**
 * The open intervals of one version of one prompt: each tenant's slot. `code` names the last
 * (reason, share, tier) touched here: a request with the same three matches an interval by its
 * slot's code alone.
 */
interface VersionIntervals {
  tenants: Map<string, number>;
  reason: SelectionReason | undefined;
  basisPoints: number | null;
  tier: string | undefined;
  code: number;
}

/**
 * The intervals of one runtime. Open intervals are held in nested maps, prompt → version → tenant,
 * so the request path builds no key: the prompt name is the caller's (usually a literal, whose hash
 * V8 keeps), the version a small integer, and only the tenant id is hashed. A concatenated key cost
 * an allocation and the hash of a fresh string on every render (issue 17's overhead target). The
 * tenant map holds a slot number; the slot's last request and (reason, share, tier) code are in
 * typed arrays, so a request that extends an open interval reads no interval object.
 */
export class AuditTracker {
  private readonly open = new Map<string, Map<number, VersionIntervals>>();
  private openCount = 0;
  /** The last (prompt, version) touched: consecutive renders mostly share it. */
  private lastPrompt: string | undefined;
  private lastVersion = -1;
  private lastIntervals: VersionIntervals | undefined;
  /** Codes of (reason, share, tier), by `reason\0share\0tier`. */
  private readonly codes = new Map<string, number>();
  /** By slot: the open interval, its last request, its (reason, share, tier) code. */
  private entries: (OpenInterval | undefined)[] = [];
  private lastAt = new Float64Array(1024);
  /** By slot: the `lastAt` the database has; -1 before the interval was first written. */
  private writtenAt = new Float64Array(1024);
  private slotCodes = new Int32Array(1024);
  /** By slot: 1 while an interval is open there. */
  private live = new Uint8Array(1024);
  /** By slot: 1 when its interval opened or changed tier since the last routing check; the slots are in `dirty`. */
  private dirtyFlags = new Uint8Array(1024);
  private dirty: number[] = [];
  private readonly freeSlots: number[] = [];
  /** The table of the last full routing check, and its time. */
  private checkedTable: RoutingTable | undefined;
  private checkedAt = 0;
  /** The checked table's pin expiries, ascending, and the index of the first one after `checkedAt`. */
  private pinExpiries: number[] = [];
  private nextExpiry = 0;
  private closing = new Map<string, ServedRecord>();
  private closed = new Map<string, AuditBatch['closed'][number]>();

  /**
   * @param idleMs an interval with no request for this long is closed at its last request
   * @param refreshMs an open interval's `lastAt` is sent again once it moved this far past the one written
   */
  constructor(
    readonly idleMs: number,
    readonly refreshMs = defaultRefreshMs(idleMs),
  ) {}

  /** On the request path: the tenant got `version` of `prompt` for `reason` at `now`. */
  touch(tenantId: string, prompt: string, version: number, reason: SelectionReason, basisPoints: number | null, tier: string | undefined, now: number): void {
    let intervals = this.lastIntervals;
    if (prompt !== this.lastPrompt || version !== this.lastVersion || intervals === undefined) {
      intervals = this.intervalsOf(prompt, version);
      this.lastPrompt = prompt;
      this.lastVersion = version;
      this.lastIntervals = intervals;
    }
    if (reason !== intervals.reason || basisPoints !== intervals.basisPoints || tier !== intervals.tier) {
      intervals.code = this.codeOf(reason, basisPoints, tier);
      intervals.reason = reason;
      intervals.basisPoints = basisPoints;
      intervals.tier = tier;
    }
    const slot = intervals.tenants.get(tenantId);
    if (slot !== undefined && this.slotCodes[slot] === intervals.code) {
      if (now > this.lastAt[slot]) this.lastAt[slot] = now;
      return;
    }
    this.touchSlow(intervals, slot, tenantId, prompt, version, reason, basisPoints, tier, now);
  }

  /** A new interval, or an open one whose reason, share or tier differs from this request's. */
  private touchSlow(intervals: VersionIntervals, slot: number | undefined, tenantId: string, prompt: string, version: number, reason: SelectionReason, basisPoints: number | null, tier: string | undefined, now: number): void {
    if (slot !== undefined) {
      const entry = this.entries[slot] as OpenInterval;
      if (entry.reason === reason && entry.basisPoints === basisPoints) {
        // Only the tier moved: the same interval, now with the latest tier.
        entry.tier = tier;
        this.slotCodes[slot] = intervals.code;
        if (now > this.lastAt[slot]) this.lastAt[slot] = now;
        this.markDirty(slot);
        return;
      }
      this.close(entry, now);
    }
    const free = this.freeSlots.pop() ?? this.grow();
    this.entries[free] = { tenantId, prompt, version, reason, basisPoints, tier, firstAt: now, slot: free };
    this.lastAt[free] = now;
    this.writtenAt[free] = -1;
    this.slotCodes[free] = intervals.code;
    this.live[free] = 1;
    this.markDirty(free);
    intervals.tenants.set(tenantId, free);
    this.openCount++;
  }

  private markDirty(slot: number): void {
    if (this.dirtyFlags[slot]) return;
    this.dirtyFlags[slot] = 1;
    this.dirty.push(slot);
  }

  /** A new slot at the end, the typed arrays doubled when full. */
  private grow(): number {
    const slot = this.entries.length;
    this.entries.push(undefined);
    if (slot >= this.lastAt.length) {
      const size = this.lastAt.length * 2;
      this.lastAt = grown(new Float64Array(size), this.lastAt);
      this.writtenAt = grown(new Float64Array(size), this.writtenAt);
      this.slotCodes = grown(new Int32Array(size), this.slotCodes);
      this.live = grown(new Uint8Array(size), this.live);
      this.dirtyFlags = grown(new Uint8Array(size), this.dirtyFlags);
    }
    return slot;
  }

  private codeOf(reason: SelectionReason, basisPoints: number | null, tier: string | undefined): number {
    const key = `${reason}\u0000${basisPoints}\u0000${tier === undefined ? '' : `=${tier}`}`;
    let code = this.codes.get(key);
    if (code === undefined) this.codes.set(key, (code = this.codes.size));
    return code;
  }

  private intervalsOf(prompt: string, version: number): VersionIntervals {
    let versions = this.open.get(prompt);
    if (versions === undefined) this.open.set(prompt, (versions = new Map()));
    let intervals = versions.get(version);
    if (intervals === undefined) versions.set(version, (intervals = { tenants: new Map(), reason: undefined, basisPoints: null, tier: undefined, code: -1 }));
    return intervals;
  }

  /**
   * On a control change and on every flush: closes, at `now`, each open interval whose version the
   * control plane no longer routes to its tenant for the same reason and share; closes idle ones at
   * their last request. Every open interval's route is checked only when `table` is not the one of
   * the last full check, or a pin of it expired since (or the clock went back); otherwise only the
   * intervals opened or moved to another tier since the last check are.
   */
  reconcile(table: RoutingTable, now: number): void {
    const slots = this.entries.length;
    for (let slot = 0; slot < slots; slot++) {
      if (this.live[slot] && now - this.lastAt[slot] >= this.idleMs) this.close(this.entries[slot] as OpenInterval, this.lastAt[slot]);
    }
    const full = table !== this.checkedTable || now < this.checkedAt || (this.nextExpiry < this.pinExpiries.length && this.pinExpiries[this.nextExpiry] <= now);
    if (full) {
      for (let slot = 0; slot < slots; slot++) if (this.live[slot]) this.checkRoute(table, slot, now);
      if (table !== this.checkedTable) {
        this.checkedTable = table;
        this.pinExpiries = pinExpiriesOf(table);
      }
    } else {
      for (const slot of this.dirty) if (this.live[slot]) this.checkRoute(table, slot, now);
    }
    for (const slot of this.dirty) this.dirtyFlags[slot] = 0;
    this.dirty = [];
    this.checkedAt = now;
    // The first expiry after now: a pin expires at `expiresAt <= now`, so the next change is the first one greater.
    let next = 0;
    while (next < this.pinExpiries.length && this.pinExpiries[next] <= now) next++;
    this.nextExpiry = next;
  }

  private checkRoute(table: RoutingTable, slot: number, now: number): void {
    const entry = this.entries[slot] as OpenInterval;
    const route = table.routeOf(entry.prompt, entry.tenantId, entry.tier, entry.version, now);
    if (!route || route.reason !== entry.reason || route.basisPoints !== entry.basisPoints) this.close(entry, now);
  }

  /** Off the request path: closing is rare, so its maps keep a composite key. */
  private close(entry: OpenInterval, endedAt: number): void {
    this.open.get(entry.prompt)?.get(entry.version)?.tenants.delete(entry.tenantId);
    this.openCount--;
    const lastAt = this.lastAt[entry.slot];
    this.entries[entry.slot] = undefined;
    this.live[entry.slot] = 0;
    this.freeSlots.push(entry.slot);
    const key = intervalKey(entry);
    if (lastAt !== this.writtenAt[entry.slot]) {
      const earlier = this.closing.get(key);
      this.closing.set(key, { ...record(entry, lastAt), firstAt: Math.min(entry.firstAt, earlier?.firstAt ?? entry.firstAt) });
    }
    this.closed.set(key, { tenantId: entry.tenantId, prompt: entry.prompt, version: entry.version, endedAt });
  }

  /** What changed since the last drain, marked as written; give it back with `restore` when the write failed. */
  drain(): AuditBatch {
    const served: ServedRecord[] = [];
    const slots = this.entries.length;
    for (let slot = 0; slot < slots; slot++) {
      if (!this.due(slot)) continue;
      const lastAt = this.lastAt[slot];
      served.push(record(this.entries[slot] as OpenInterval, lastAt));
      this.writtenAt[slot] = lastAt;
    }
    const batch = { closing: [...this.closing.values()], closed: [...this.closed.values()], served };
    this.closing = new Map();
    this.closed = new Map();
    return batch;
  }

  /** True when a drain would send something. */
  get pending(): boolean {
    if (this.closing.size || this.closed.size) return true;
    const slots = this.entries.length;
    for (let slot = 0; slot < slots; slot++) if (this.due(slot)) return true;
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
      const slot = this.open.get(s.prompt)?.get(s.version)?.tenants.get(s.tenantId);
      if (slot !== undefined && this.writtenAt[slot] === s.lastAt) this.writtenAt[slot] = -1;
    }
  }

  /** An open interval a drain sends: never written, or its last request moved `refreshMs` past the one written. */
  private due(slot: number): boolean {
    if (!this.live[slot]) return false;
    const writtenAt = this.writtenAt[slot];
    return writtenAt < 0 || this.lastAt[slot] - writtenAt >= this.refreshMs;
  }

  /** Open intervals held. */
  get size(): number {
    return this.openCount;
  }
}

/** A sixtieth of the idle time, at most a minute, at least a millisecond. */
export function defaultRefreshMs(idleMs: number): number {
  return Math.max(1, Math.min(60_000, Math.floor(idleMs / 60)));
}

/** A copy of `from` at the start of the larger `to`. */
function grown<T extends Float64Array | Int32Array | Uint8Array>(to: T, from: T): T {
  to.set(from);
  return to;
}

/** The expiry times of a table's pins, ascending. */
function pinExpiriesOf(table: RoutingTable): number[] {
  const times: number[] = [];
  for (const pin of table.snapshot.pins.values()) if (pin.expiresAt !== null) times.push(pin.expiresAt);
  return times.sort((a, b) => a - b);
}

function intervalKey(i: { prompt: string; version: number; tenantId: string }): string {
  return `${i.prompt}\u0000${i.version}\u0000${i.tenantId}`;
}

function record(entry: OpenInterval, lastAt: number): ServedRecord {
  return { tenantId: entry.tenantId, prompt: entry.prompt, version: entry.version, reason: entry.reason, basisPoints: entry.basisPoints, firstAt: entry.firstAt, lastAt };
}
