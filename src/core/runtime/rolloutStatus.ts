import { FULL_SHARE, formatBasisPoints } from './shares';
import type { PromptRollout, TenantPin } from './snapshot';

/**
 * What the Rollouts view (and the pin policies of the gate) say about the control plane's state:
 * plain data from the rollouts, the pins and the versions the repository holds, at a given time.
 */

/** A pin within this many days of its expiry is marked as soon expiring. */
export const PIN_EXPIRY_WARNING_DAYS = 14;

const DAY_MS = 86_400_000;

/** Where a pin stands: in force, in force but expiring within {@link PIN_EXPIRY_WARNING_DAYS}, or past its expiry (ignored by the runtime). */
export type PinState = 'active' | 'expiring' | 'expired';

/** The state of a pin at `now` (epoch ms). */
export function pinState(pin: Pick<TenantPin, 'expiresAt'>, now: number): PinState {
  if (pin.expiresAt === null) return 'active';
  if (pin.expiresAt <= now) return 'expired';
  return pin.expiresAt - now <= PIN_EXPIRY_WARNING_DAYS * DAY_MS ? 'expiring' : 'active';
}

/** A duration for people: `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 24) return `${h} h${min % 60 ? ` ${min % 60} min` : ''}`;
  const d = Math.floor(h / 24);
  return `${d} d${h % 24 ? ` ${h % 24} h` : ''}`;
}

/** A share as a bar of `width` cells (full and empty blocks), so shares read at a glance in a tree. */
export function shareBar(basisPoints: number, width = 10): string {
  const full = Math.round((Math.max(0, Math.min(FULL_SHARE, basisPoints)) / FULL_SHARE) * width);
  return `${'█'.repeat(full)}${'░'.repeat(width - full)}`;
}

/** One pin, as shown. */
export interface PinStatus {
  tenantId: string;
  version: number;
  expiresAt: number | null;
  state: PinState;
  /** `no expiry`, `expires in 3 d 2 h`, `expired 5 h ago`. */
  expiry: string;
  reason: string;
}

/** One version of a prompt, as shown. */
export interface VersionStatus {
  version: number;
  basisPoints: number;
  /** `10%`, `33.33%`. */
  share: string;
  bar: string;
  /** How long it has had traffic (its soak); null without traffic. */
  soakMs: number | null;
  excludedTiers: string[];
  pins: PinStatus[];
  /** The repository has this version directory (a rollout may name one that was deleted). */
  inRepository: boolean;
  /**
   * No rollout is recorded and this is the version the runtime serves anyway (the only or lowest
   * one, DESIGN.md section 7): shown with all the traffic, marked as served by default.
   */
  servedByDefault: boolean;
}

/** One prompt, as shown. */
export interface PromptStatus {
  prompt: string;
  /** The rollout's revision (changes are checked against it); null when none was recorded. */
  revision: number | null;
  /** In version order: every version the repository has or the control plane names. */
  versions: VersionStatus[];
  rollback: { version: number; at: number } | null;
  /** The version a rollback would restore; null when none had all the traffic yet. */
  lastFullVersion: number | null;
  /** No rollout recorded: the runtime serves the only (or lowest) version. */
  noRollout: boolean;
}

/**
 * The status of every prompt the repository or the control plane knows, sorted by name: each
 * version's share, soak and excluded tiers, the tenants pinned to it (with their expiry state),
 * and a rollback in force. `versions` are the repository's versions per prompt.
 */
export function describeRollouts(input: {
  rollouts: readonly PromptRollout[];
  pins: readonly TenantPin[];
  versions: ReadonlyMap<string, readonly number[]>;
  now: number;
}): PromptStatus[] {
  const byPrompt = new Map(input.rollouts.map((r) => [r.prompt, r]));
  const names = [...new Set([...input.versions.keys(), ...byPrompt.keys(), ...input.pins.map((p) => p.prompt)])].sort();
  return names.map((prompt) => {
    const rollout = byPrompt.get(prompt);
    const repoVersions = input.versions.get(prompt) ?? [];
    const pins = input.pins.filter((p) => p.prompt === prompt);
    const all = [...new Set([...repoVersions, ...(rollout?.shares.map((s) => s.version) ?? []), ...pins.map((p) => p.version)])].sort((a, b) => a - b);
    const noRollout = !rollout || rollout.shares.length === 0;
    const defaultVersion = noRollout && repoVersions.length > 0 ? Math.min(...repoVersions) : null;
    const versions = all.map((version): VersionStatus => {
      const share = rollout?.shares.find((s) => s.version === version);
      const basisPoints = version === defaultVersion ? 10_000 : (share?.basisPoints ?? 0);
      return {
        version,
        basisPoints,
        share: formatBasisPoints(basisPoints),
        bar: shareBar(basisPoints),
        soakMs: share && basisPoints > 0 ? Math.max(0, input.now - share.since) : null,
        excludedTiers: share?.excludedTiers ?? [],
        pins: pins
          .filter((p) => p.version === version)
          .sort((a, b) => a.tenantId.localeCompare(b.tenantId))
          .map((p) => ({ tenantId: p.tenantId, version: p.version, expiresAt: p.expiresAt, state: pinState(p, input.now), expiry: expiryText(p.expiresAt, input.now), reason: p.reason })),
        inRepository: repoVersions.includes(version),
        servedByDefault: version === defaultVersion,
      };
    });
    return {
      prompt,
      revision: rollout?.revision ?? null,
      versions,
      rollback: rollout?.rollback ?? null,
      lastFullVersion: rollout?.lastFullVersion ?? null,
      noRollout,
    };
  });
}

function expiryText(expiresAt: number | null, now: number): string {
  if (expiresAt === null) return 'no expiry';
  return expiresAt <= now ? `expired ${formatDuration(now - expiresAt)} ago` : `expires in ${formatDuration(expiresAt - now)}`;
}
