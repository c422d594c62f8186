/**
 * The control plane's state as the runtime holds it in memory (DESIGN.md section 7): what
 * selection reads on every request, so no request waits on the database. Plain data; times are
 * epoch milliseconds so selection compares numbers.
 */

/** One version's share of a prompt's traffic. */
export interface RolloutShare {
  version: number;
  /** Integer basis points; a prompt's shares sum to exactly 10,000. */
  basisPoints: number;
  /** Tiers that don't get this version: they get the versions that had the traffic before it. */
  excludedTiers: string[];
  /** When this version last went from no traffic to some (the start of its soak), epoch ms. */
  since: number;
}

/** The rollout state of one prompt. */
export interface PromptRollout {
  prompt: string;
  /** Bumped by every change: an operator's change is checked against the revision it read. */
  revision: number;
  /** In version order. Empty when no rollout was ever recorded. */
  shares: RolloutShare[];
  /** The version that last had 100% of the traffic: what a rollback restores. */
  lastFullVersion: number | null;
  /** A rollback in force. */
  rollback: { version: number; at: number } | null;
  updatedAt: number;
  updatedBy: string;
}

/** A tenant's pin of one prompt to one version. */
export interface TenantPin {
  tenantId: string;
  prompt: string;
  version: number;
  /** Epoch ms; null pins never expire. */
  expiresAt: number | null;
  reason: string;
  createdAt: number;
  createdBy: string;
}

/** Everything selection needs, loaded in one read. */
export interface ControlSnapshot {
  /** The id of the last control-log entry when it was read: a reload is needed when the log moved past it. */
  marker: number;
  /** Epoch ms of the read. */
  loadedAt: number;
  rollouts: Map<string, PromptRollout>;
  /** By `${prompt}\u0000${tenantId}`; use `pinKey`. */
  pins: Map<string, TenantPin>;
}

/** The key of a pin in `ControlSnapshot.pins`. */
export function pinKey(prompt: string, tenantId: string): string {
  return `${prompt}\u0000${tenantId}`;
}

/** A snapshot with no rollouts and no pins (a fresh control plane). */
export function emptySnapshot(now = 0): ControlSnapshot {
  return { marker: 0, loadedAt: now, rollouts: new Map(), pins: new Map() };
}
