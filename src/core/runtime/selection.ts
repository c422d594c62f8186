import { hexDigest } from '../hexDigest';
import type { ControlSnapshot, PromptRollout, TenantPin } from './snapshot';
import { FULL_SHARE, apportion } from './shares';

/**
 * Which version of a prompt a request gets (DESIGN.md section 7), the first rule that applies:
 * a rollback in force, an unexpired pin of the tenant, the sticky rollout bucket, and for a
 * prompt with no rollout recorded its only (else lowest) version. Pure: the snapshot and the
 * clock are passed in.
 */

/** Why a request got its version. `no-rollout`: several versions and no rollout recorded, so the lowest. */
export type SelectionReason = 'rollback' | 'pin' | 'rollout' | 'only-version' | 'no-rollout';

/** Something selection noticed that the runtime logs (once per prompt, pin or version). */
export type SelectionNote =
  | { kind: 'pin-expired'; prompt: string; tenantId: string; version: number; expiresAt: number }
  | { kind: 'needs-rollout'; prompt: string; version: number }
  | { kind: 'version-not-in-bundle'; prompt: string; version: number; source: 'rollback' | 'pin' | 'rollout' };

/** The outcome of selection. */
export interface Selection {
  version: number;
  reason: SelectionReason;
  /** For `rollout`: the share of the chosen version for this request's tier, in basis points. */
  basisPoints: number | null;
}

/**
 * The rollout bucket of a request: SHA-256 of the UTF-8 bytes of `name:tenantId:stickyKey`, read
 * as a big-endian unsigned integer, mod 10,000 (Python:
 * `int.from_bytes(hashlib.sha256(key.encode()).digest(), 'big') % 10000`).
 */
export function rolloutBucket(name: string, tenantId: string, stickyKey: string): number {
  const key = `${name}:${tenantId}:${stickyKey}`;
  return bucketOfHex(hexDigest('sha256', key));
}

/**
 * A hex SHA-256 digest as a big-endian integer mod 10,000, eight hex digits (four bytes) at a time:
 * r < 10,000, so r * 2^32 + word stays below 2^53 and exact (hex: see `hexDigest`).
 */
function bucketOfHex(hex: string): number {
  let r = 0;
  for (let i = 0; i < 64; i += 8) {
    let word = 0;
    for (let k = i; k < i + 8; k++) {
      const c = hex.charCodeAt(k);
      word = word * 16 + (c < 58 ? c - 48 : c - 87);
    }
    r = (r * 0x1_0000_0000 + word) % FULL_SHARE;
  }
  return r;
}

/** One prompt's shares ready for the bucket scan: versions and their cumulative upper bounds. */
interface Cumulative {
  versions: number[];
  bounds: number[];
  points: number[];
}

/** A prompt's routing, derived once per snapshot from its rollout and the versions the bundle has. */
interface PromptRoute {
  /** Versions in the bundle, ascending. */
  versions: number[];
  rollout: PromptRollout | undefined;
  rollbackVersion: number | null;
  /** Shares for requests of no excluded tier; null when no rollout applies. */
  all: Cumulative | null;
  /** Shares per tier that some version excludes (filled lazily). */
  byTier: Map<string, Cumulative | null>;
  /** What a request gets when no share applies. */
  fallback: Selection;
  /** The prompt's pins by tenant id: keyed by the caller's string itself, whose hash V8 then keeps for the audit's lookup. */
  pins: Map<string, TenantPin>;
}

/**
 * Selection over one snapshot and one bundle: built when either changes, then read by every request
 * with no allocation beyond the result.
 */
export class RoutingTable {
  private readonly routes = new Map<string, PromptRoute>();
  readonly notes: SelectionNote[] = [];

  constructor(
    readonly snapshot: ControlSnapshot,
    bundleVersions: ReadonlyMap<string, readonly number[]>,
  ) {
    const pinsByPrompt = new Map<string, Map<string, TenantPin>>();
    for (const pin of snapshot.pins.values()) {
      let pins = pinsByPrompt.get(pin.prompt);
      if (!pins) pinsByPrompt.set(pin.prompt, (pins = new Map()));
      pins.set(pin.tenantId, pin);
    }
    for (const [prompt, list] of bundleVersions) {
      const versions = [...list].sort((a, b) => a - b);
      const rollout = snapshot.rollouts.get(prompt);
      const inBundle = new Set(versions);
      let rollbackVersion: number | null = null;
      if (rollout?.rollback) {
        if (inBundle.has(rollout.rollback.version)) rollbackVersion = rollout.rollback.version;
        else this.notes.push({ kind: 'version-not-in-bundle', prompt, version: rollout.rollback.version, source: 'rollback' });
      }
      for (const share of rollout?.shares ?? []) {
        if (share.basisPoints > 0 && !inBundle.has(share.version)) {
          this.notes.push({ kind: 'version-not-in-bundle', prompt, version: share.version, source: 'rollout' });
        }
      }
      const route: PromptRoute = { versions, rollout, rollbackVersion, all: null, byTier: new Map(), fallback: { version: versions[0], reason: 'only-version', basisPoints: null }, pins: pinsByPrompt.get(prompt) ?? new Map() };
      route.all = cumulativeFor(route, undefined);
      const hasShares = (rollout?.shares ?? []).some((s) => s.basisPoints > 0 && inBundle.has(s.version));
      if (hasShares && rollout?.lastFullVersion != null && inBundle.has(rollout.lastFullVersion)) {
        route.fallback = { version: rollout.lastFullVersion, reason: 'rollout', basisPoints: null };
      } else if (versions.length > 1) {
        route.fallback = { version: versions[0], reason: 'no-rollout', basisPoints: null };
        if (!hasShares) this.notes.push({ kind: 'needs-rollout', prompt, version: versions[0] });
      }
      this.routes.set(prompt, route);
    }
  }

  /** True when the bundle has this prompt. */
  has(prompt: string): boolean {
    return this.routes.has(prompt);
  }

  /**
   * Selects the version of `prompt` for one request. `onNote` hears an expired or unusable pin.
   * The prompt must be in the bundle (`has`).
   */
  select(prompt: string, tenantId: string, stickyKey: string, tier: string | undefined, now: number, onNote?: (note: SelectionNote) => void): Selection {
    const route = this.routes.get(prompt) as PromptRoute;
    if (route.rollbackVersion !== null) return { version: route.rollbackVersion, reason: 'rollback', basisPoints: null };
    const pin = route.pins.get(tenantId);
    if (pin) {
      const usable = pinUsable(pin, route, now, onNote);
      if (usable) return { version: pin.version, reason: 'pin', basisPoints: null };
    }
    const table = tier === undefined ? route.all : this.tierTable(route, tier);
    if (table === null) return route.fallback;
    const bucket = rolloutBucket(prompt, tenantId, stickyKey);
    const { bounds } = table;
    for (let i = 0; i < bounds.length; i++) {
      if (bucket < bounds[i]) return { version: table.versions[i], reason: 'rollout', basisPoints: table.points[i] };
    }
    return route.fallback; // unreachable: the last bound is 10,000
  }

  /**
   * What the control plane routes to this tenant for `version` now, ignoring the sticky bucket:
   * the reason and share a request could get it with, or undefined when no request of the tenant
   * can get that version any more (its share went to zero, a rollback, a pin to another version).
   */
  routeOf(prompt: string, tenantId: string, tier: string | undefined, version: number, now: number): Selection | undefined {
    const route = this.routes.get(prompt);
    if (!route) return undefined;
    if (route.rollbackVersion !== null) return route.rollbackVersion === version ? { version, reason: 'rollback', basisPoints: null } : undefined;
    const pin = route.pins.get(tenantId);
    if (pin && pinUsable(pin, route, now)) return pin.version === version ? { version, reason: 'pin', basisPoints: null } : undefined;
    const table = tier === undefined ? route.all : this.tierTable(route, tier);
    if (table === null) return route.fallback.version === version ? route.fallback : undefined;
    const i = table.versions.indexOf(version);
    return i >= 0 ? { version, reason: 'rollout', basisPoints: table.points[i] } : undefined;
  }

  private tierTable(route: PromptRoute, tier: string): Cumulative | null {
    if (!route.rollout?.shares.some((s) => s.excludedTiers.includes(tier))) return route.all;
    let table = route.byTier.get(tier);
    if (table === undefined) {
      table = cumulativeFor(route, tier);
      route.byTier.set(tier, table);
    }
    return table;
  }
}

function pinUsable(pin: TenantPin, route: PromptRoute, now: number, onNote?: (note: SelectionNote) => void): boolean {
  if (pin.expiresAt !== null && pin.expiresAt <= now) {
    onNote?.({ kind: 'pin-expired', prompt: pin.prompt, tenantId: pin.tenantId, version: pin.version, expiresAt: pin.expiresAt });
    return false;
  }
  if (!route.versions.includes(pin.version)) {
    onNote?.({ kind: 'version-not-in-bundle', prompt: pin.prompt, version: pin.version, source: 'pin' });
    return false;
  }
  return true;
}

/**
 * The shares a request of `tier` is routed by: the versions in the bundle with traffic, minus the
 * ones that exclude the tier; when some are removed, the remaining versions take the whole traffic
 * in proportion to their shares, which is the traffic they had before the excluded version's soak.
 */
function cumulativeFor(route: PromptRoute, tier: string | undefined): Cumulative | null {
  const inBundle = new Set(route.versions);
  const eligible = new Map<number, number>();
  for (const share of route.rollout?.shares ?? []) {
    if (share.basisPoints <= 0 || !inBundle.has(share.version)) continue;
    if (tier !== undefined && share.excludedTiers.includes(tier)) continue;
    eligible.set(share.version, share.basisPoints);
  }
  if (eligible.size === 0) return null;
  const total = [...eligible.values()].reduce((s, p) => s + p, 0);
  const shares = total === FULL_SHARE ? eligible : apportion(FULL_SHARE, eligible);
  const versions = [...shares.keys()].sort((a, b) => a - b);
  const points = versions.map((v) => shares.get(v) as number);
  const bounds: number[] = [];
  let cumulative = 0;
  for (const p of points) bounds.push((cumulative += p));
  return { versions, bounds, points };
}
