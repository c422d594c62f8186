import type { ControlSnapshot, PromptRollout, RolloutShare, TenantPin } from '../../core/runtime/snapshot';
import { pinKey } from '../../core/runtime/snapshot';
import { FULL_SHARE, ShareError, formatBasisPoints, productionVersion, sharesAfterRollout, validateShares } from '../../core/runtime/shares';
import { isWellFormedText } from '../../core/runtime/text';
import type { ControlDriver, SqlRunner } from './driver';

/**
 * The typed API of the control plane (DESIGN.md sections 7 and 8): reading the snapshot the
 * runtime selects from, the operators' changes (each one transaction, written to the control log
 * with actor and reason, notified on `prompt_ci_control`), and the serving-audit intervals.
 * The CLI, the runtime and the VS Code Rollouts view all go through it; SQL lives only here and in
 * the migrations.
 */

/** A change that can't be made as asked: bad input (the CLI exits 2). */
export class ControlInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControlInputError';
  }
}

/** Another change of the same rollout won: nothing was changed (the CLI exits 1). */
export class ControlConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControlConflictError';
  }
}

/** A refusal of policy: the change is valid but not allowed now (the CLI exits 1). */
export class ControlPolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControlPolicyError';
  }
}

/** Who makes a change and why: every change carries both into the control log. */
export interface ChangeAuthor {
  actor: string;
  reason?: string;
  /**
   * The revision of the prompt's rollout the operator looked at. When given and the rollout has
   * moved on since, the change is refused with `ControlConflictError`.
   */
  expectedRevision?: number;
}

/** One control-log entry. */
export interface ControlLogEntry {
  id: number;
  at: Date;
  actor: string;
  action: 'rollout' | 'promote' | 'rollback' | 'set-shares' | 'pin' | 'unpin';
  prompt: string;
  tenantId: string | null;
  version: number | null;
  reason: string;
  detail: Record<string, unknown>;
}

/** What a change did: the rollout before and after, and its control-log entry. */
export interface RolloutChange {
  before: PromptRollout | undefined;
  after: PromptRollout;
  log: ControlLogEntry;
}

/** What a pin change did. */
export interface PinChange {
  before: TenantPin | undefined;
  after: TenantPin | undefined;
  log: ControlLogEntry;
}

/** One serving-audit interval: a tenant got a version of a prompt from `startedAt` to `endedAt` (null: still open). */
export interface AuditInterval {
  id: number;
  tenantId: string;
  prompt: string;
  version: number;
  reason: string;
  basisPoints: number | null;
  startedAt: Date;
  lastSeenAt: Date;
  endedAt: Date | null;
}

/** A batch entry of what a runtime served: the interval is opened, or its last request moved on. */
export interface ServedEntry {
  tenantId: string;
  prompt: string;
  version: number;
  reason: string;
  basisPoints: number | null;
  firstAt: Date;
  lastAt: Date;
}

/** A batch entry closing an open interval. */
export interface ClosedEntry {
  tenantId: string;
  prompt: string;
  version: number;
  endedAt: Date;
}

/** Limits on what the control plane stores of a caller's text. */
export const MAX_TENANT_ID_LENGTH = 256;
const MAX_REASON_LENGTH = 2000;

type RolloutRow = { prompt: string; revision: string; last_full_version: number | null; rollback_version: number | null; rollback_at: Date | null; updated_at: Date; updated_by: string };
type ShareRow = { prompt: string; version: number; basis_points: number; excluded_tiers: string[]; since: Date };
type PinRow = { tenant_id: string; prompt: string; version: number; expires_at: Date | null; reason: string; created_at: Date; created_by: string };
type LogRow = { id: string; at: Date; actor: string; action: ControlLogEntry['action']; prompt: string; tenant_id: string | null; version: number | null; reason: string; detail: Record<string, unknown> };
type IntervalRow = { id: string; tenant_id: string; prompt: string; version: number; reason: string; basis_points: number | null; started_at: Date; last_seen_at: Date; ended_at: Date | null };

/** The control plane on one driver. */
export class ControlStore {
  constructor(readonly driver: ControlDriver) {}

  // -------------------------------------------------------------------------------------------
  // Reading

  /** The id of the last control-log entry: it moves with every change, so polling compares it. */
  async marker(): Promise<number> {
    const [row] = await this.driver.query<{ id: string | null }>('SELECT MAX(id) AS id FROM prompt_ci_control_log');
    return Number(row?.id ?? 0);
  }

  /** Everything selection needs, read in one transaction so it is consistent. */
  async readSnapshot(): Promise<ControlSnapshot> {
    return this.driver.transaction(async (tx) => {
      // REPEATABLE READ would be nicer; a transaction's statements run on one connection either way.
      const [marker] = await tx.query<{ id: string | null; now: Date }>('SELECT MAX(id) AS id, now() AS now FROM prompt_ci_control_log');
      const rollouts = await readRollouts(tx);
      const pins = (await tx.query<PinRow>('SELECT * FROM prompt_ci_pin')).map(toPin);
      return {
        marker: Number(marker?.id ?? 0),
        loadedAt: Date.now(),
        rollouts: new Map(rollouts.map((r) => [r.prompt, r])),
        pins: new Map(pins.map((p) => [pinKey(p.prompt, p.tenantId), p])),
      };
    });
  }

  /** One prompt's rollout, or undefined when none was recorded. */
  async readRollout(prompt: string): Promise<PromptRollout | undefined> {
    return (await readRollouts(this.driver, prompt))[0];
  }

  /** Every prompt's rollout. */
  async readRollouts(): Promise<PromptRollout[]> {
    return readRollouts(this.driver);
  }

  /** The pins, of one prompt or all, expired ones included (selection ignores those). */
  async readPins(prompt?: string): Promise<TenantPin[]> {
    const rows = prompt === undefined
      ? await this.driver.query<PinRow>('SELECT * FROM prompt_ci_pin ORDER BY prompt, tenant_id')
      : await this.driver.query<PinRow>('SELECT * FROM prompt_ci_pin WHERE prompt = $1 ORDER BY tenant_id', [prompt]);
    return rows.map(toPin);
  }

  /** The control log, newest first. */
  async controlLog(options: { prompt?: string; limit?: number } = {}): Promise<ControlLogEntry[]> {
    const limit = Math.max(1, Math.min(options.limit ?? 100, 10_000));
    const rows = options.prompt === undefined
      ? await this.driver.query<LogRow>('SELECT * FROM prompt_ci_control_log ORDER BY id DESC LIMIT $1', [limit])
      : await this.driver.query<LogRow>('SELECT * FROM prompt_ci_control_log WHERE prompt = $1 ORDER BY id DESC LIMIT $2', [options.prompt, limit]);
    return rows.map(toLog);
  }

  // -------------------------------------------------------------------------------------------
  // Changes

  /**
   * Gives `version` `basisPoints` of the prompt's traffic; the rest stays with the versions that had
   * it, in proportion. `knownVersions` are the versions the bundle or repository has: a version not
   * among them is refused, and the lowest of them has the traffic when no rollout was recorded.
   * Clears a rollback in force (a new decision replaces it).
   */
  async rollout(
    input: { prompt: string; version: number; basisPoints: number; excludedTiers?: string[]; knownVersions: readonly number[] },
    author: ChangeAuthor,
  ): Promise<RolloutChange> {
    checkVersionKnown(input.prompt, input.version, input.knownVersions);
    if (!Number.isInteger(input.basisPoints) || input.basisPoints < 0 || input.basisPoints > FULL_SHARE) {
      throw new ControlInputError(`share ${input.basisPoints} basis points of ${input.prompt} v${input.version} is not a whole number from 0 to 10000`);
    }
    const tiers = checkTiers(input.excludedTiers ?? []);
    return this.changeRollout(input.prompt, author, 'rollout', input.version, (before) => {
      const current = new Map((before?.shares ?? []).map((s) => [s.version, s.basisPoints]));
      const defaultVersion = productionVersion(before, input.knownVersions);
      const next = wrapShare(() => sharesAfterRollout(input.prompt, current, input.version, input.basisPoints, defaultVersion));
      const excluded = new Map((before?.shares ?? []).map((s) => [s.version, s.excludedTiers]));
      excluded.set(input.version, tiers);
      // With no rollout recorded the default version had all the traffic: it is what a rollback restores.
      const implicitFull = !before?.shares.some((s) => s.basisPoints > 0) && before?.lastFullVersion == null ? defaultVersion : undefined;
      return { shares: next, excluded, lastFull: implicitFull, detail: { basisPoints: input.basisPoints, share: formatBasisPoints(input.basisPoints), excludedTiers: tiers } };
    });
  }

  /** Sets every share of a prompt at once (integer basis points summing to exactly 10,000). */
  async setShares(
    input: { prompt: string; shares: ReadonlyMap<number, number>; excludedTiers?: ReadonlyMap<number, string[]>; knownVersions: readonly number[] },
    author: ChangeAuthor,
  ): Promise<RolloutChange> {
    wrapShare(() => validateShares(input.prompt, input.shares));
    for (const version of input.shares.keys()) checkVersionKnown(input.prompt, version, input.knownVersions);
    return this.changeRollout(input.prompt, author, 'set-shares', null, (before) => {
      const next = new Map(input.shares);
      for (const s of before?.shares ?? []) if (!next.has(s.version)) next.set(s.version, 0);
      const excluded = new Map<number, string[]>();
      for (const [v, tiers] of input.excludedTiers ?? []) excluded.set(v, checkTiers(tiers));
      return { shares: next, excluded, detail: { shares: Object.fromEntries(input.shares) } };
    });
  }

  /** Gives `version` all the traffic (after its soak; the policy is the caller's) and makes it what a rollback restores. */
  async promote(input: { prompt: string; version: number; knownVersions: readonly number[] }, author: ChangeAuthor): Promise<RolloutChange> {
    checkVersionKnown(input.prompt, input.version, input.knownVersions);
    return this.changeRollout(input.prompt, author, 'promote', input.version, (before) => {
      const next = new Map<number, number>((before?.shares ?? []).map((s) => [s.version, 0]));
      next.set(input.version, FULL_SHARE);
      const excluded = new Map<number, string[]>([[input.version, []]]);
      return { shares: next, excluded, detail: {} };
    });
  }

  /**
   * The kill switch: serves the version that last had 100% to everyone (pins included) until the
   * next rollout or promote, and gives it all the shares.
   * @throws ControlPolicyError when no version of the prompt ever had all the traffic.
   */
  async rollback(input: { prompt: string }, author: ChangeAuthor): Promise<RolloutChange & { restored: number }> {
    let restored = 0;
    const change = await this.changeRollout(input.prompt, author, 'rollback', null, (before) => {
      if (!before || before.lastFullVersion === null) {
        throw new ControlPolicyError(
          `no version of ${input.prompt} has had all of its traffic yet, so there is nothing to roll back to; give one version 100% with \`prompt-ci rollout ${input.prompt} VERSION --share 100\``,
        );
      }
      restored = before.lastFullVersion;
      const current = before.shares.find((s) => s.basisPoints === FULL_SHARE);
      if (current?.version === restored && !before.rollback) {
        throw new ControlPolicyError(
          `v${restored} already has all the traffic of ${input.prompt} and is the version that last had 100%, so a rollback would change nothing; to go back to an earlier version, give it the traffic: \`prompt-ci rollout ${input.prompt} VERSION --share 100\``,
        );
      }
      const next = new Map<number, number>(before.shares.map((s) => [s.version, 0]));
      next.set(restored, FULL_SHARE);
      return { shares: next, excluded: new Map([[restored, []]]), rollback: restored, detail: { restored, from: before.shares.filter((s) => s.basisPoints > 0).map((s) => ({ version: s.version, basisPoints: s.basisPoints })) } };
    });
    return { ...change, restored };
  }

  /**
   * Pins a tenant to a version until `expiresAt` (none: until unpinned).
   * @throws ControlInputError for an unknown version, an expiry in the past, or an unusable tenant id.
   */
  async pin(
    input: { tenantId: string; prompt: string; version: number; expiresAt?: Date | null; knownVersions: readonly number[]; now?: Date },
    author: ChangeAuthor,
  ): Promise<PinChange> {
    checkTenantId(input.tenantId);
    checkVersionKnown(input.prompt, input.version, input.knownVersions);
    const now = input.now ?? new Date();
    if (input.expiresAt && input.expiresAt.getTime() <= now.getTime()) {
      throw new ControlInputError(`the pin's expiry ${input.expiresAt.toISOString()} is in the past (it is ${now.toISOString()}); give a future time, or no --expires for a pin until unpinned`);
    }
    const reason = checkReason(author.reason);
    return this.driver.transaction(async (tx) => {
      const before = (await tx.query<PinRow>('SELECT * FROM prompt_ci_pin WHERE tenant_id = $1 AND prompt = $2 FOR UPDATE', [input.tenantId, input.prompt])).map(toPin)[0];
      const [row] = await tx.query<PinRow>(
        `INSERT INTO prompt_ci_pin (tenant_id, prompt, version, expires_at, reason, created_by) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant_id, prompt) DO UPDATE SET version = EXCLUDED.version, expires_at = EXCLUDED.expires_at,
           reason = EXCLUDED.reason, created_by = EXCLUDED.created_by, created_at = now()
         RETURNING *`,
        [input.tenantId, input.prompt, input.version, input.expiresAt ?? null, reason, author.actor],
      );
      const log = await writeLog(tx, author.actor, 'pin', input.prompt, input.tenantId, input.version, reason, {
        expiresAt: input.expiresAt?.toISOString() ?? null,
        previous: before ? { version: before.version, expiresAt: before.expiresAt } : null,
      });
      return { before, after: toPin(row), log };
    });
  }

  /**
   * Removes a tenant's pin.
   * @throws ControlInputError when the tenant has no pin of that prompt.
   */
  async unpin(input: { tenantId: string; prompt: string }, author: ChangeAuthor): Promise<PinChange> {
    checkTenantId(input.tenantId);
    const reason = checkReason(author.reason);
    return this.driver.transaction(async (tx) => {
      const rows = await tx.query<PinRow>('DELETE FROM prompt_ci_pin WHERE tenant_id = $1 AND prompt = $2 RETURNING *', [input.tenantId, input.prompt]);
      if (rows.length === 0) throw new ControlInputError(`tenant "${input.tenantId}" has no pin of ${input.prompt}; \`prompt-ci status ${input.prompt}\` lists the pins`);
      const before = toPin(rows[0]);
      const log = await writeLog(tx, author.actor, 'unpin', input.prompt, input.tenantId, before.version, reason, {});
      return { before, after: undefined, log };
    });
  }

  // -------------------------------------------------------------------------------------------
  // Serving audit

  /**
   * Records a batch of what a runtime served: opens an interval for each entry without an open one,
   * and moves the last request time of the open ones. One statement for the whole batch.
   */
  async recordServed(entries: readonly ServedEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.driver.query(
      `INSERT INTO prompt_ci_audit_interval (tenant_id, prompt, version, reason, basis_points, started_at, last_seen_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::int[], $6::timestamptz[], $7::timestamptz[])
       ON CONFLICT (tenant_id, prompt, version) WHERE ended_at IS NULL
       DO UPDATE SET last_seen_at = GREATEST(prompt_ci_audit_interval.last_seen_at, EXCLUDED.last_seen_at)`,
      [
        entries.map((e) => e.tenantId),
        entries.map((e) => e.prompt),
        entries.map((e) => e.version),
        entries.map((e) => e.reason),
        entries.map((e) => e.basisPoints),
        entries.map((e) => e.firstAt),
        entries.map((e) => e.lastAt),
      ],
    );
  }

  /** Closes the open intervals of a batch (the control plane stopped routing those versions to those tenants). */
  async closeIntervals(entries: readonly ClosedEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.driver.query(
      `UPDATE prompt_ci_audit_interval AS a SET ended_at = GREATEST(c.ended_at, a.started_at)
       FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[]) AS c(tenant_id, prompt, version, ended_at)
       WHERE a.ended_at IS NULL AND a.tenant_id = c.tenant_id AND a.prompt = c.prompt AND a.version = c.version`,
      [entries.map((e) => e.tenantId), entries.map((e) => e.prompt), entries.map((e) => e.version), entries.map((e) => e.endedAt)],
    );
  }

  /** Closes, at their last request, the open intervals with no request since `idleSince`. Returns how many. */
  async closeIdleIntervals(idleSince: Date): Promise<number> {
    const rows = await this.driver.query('UPDATE prompt_ci_audit_interval SET ended_at = last_seen_at WHERE ended_at IS NULL AND last_seen_at < $1 RETURNING id', [idleSince]);
    return rows.length;
  }

  /** The intervals of a tenant's prompt that overlap `[from, to]` (one instant when `to` is omitted), oldest first. */
  async auditIntervals(tenantId: string, prompt: string, from: Date, to: Date = from): Promise<AuditInterval[]> {
    const rows = await this.driver.query<IntervalRow>(
      `SELECT * FROM prompt_ci_audit_interval
       WHERE tenant_id = $1 AND prompt = $2 AND started_at <= $4 AND (ended_at IS NULL OR ended_at >= $3)
       ORDER BY started_at, version`,
      [tenantId, prompt, from, to],
    );
    return rows.map(toInterval);
  }

  // -------------------------------------------------------------------------------------------

  private async changeRollout(
    prompt: string,
    author: ChangeAuthor,
    action: 'rollout' | 'promote' | 'rollback' | 'set-shares',
    version: number | null,
    plan: (before: PromptRollout | undefined) => {
      shares: Map<number, number>;
      excluded: Map<number, string[]>;
      rollback?: number;
      lastFull?: number;
      detail: Record<string, unknown>;
    },
  ): Promise<RolloutChange> {
    const reason = checkReason(author.reason);
    return this.driver.transaction(async (tx) => {
      // NOWAIT: a second operator changing the same prompt at this moment is told, not queued.
      let locked: RolloutRow[];
      try {
        locked = await tx.query<RolloutRow>('SELECT * FROM prompt_ci_rollout WHERE prompt = $1 FOR UPDATE NOWAIT', [prompt]);
      } catch (error) {
        if ((error as { code?: string }).code === '55P03') {
          throw new ControlConflictError(`another change to the rollout of ${prompt} is being made right now; nothing was changed: check \`prompt-ci status ${prompt}\` and run yours again if it still applies`);
        }
        throw error;
      }
      const before = locked.length ? (await readRollouts(tx, prompt))[0] : undefined;
      const revision = before?.revision ?? 0;
      if (author.expectedRevision !== undefined && author.expectedRevision !== revision) {
        const [last] = await tx.query<LogRow>('SELECT * FROM prompt_ci_control_log WHERE prompt = $1 ORDER BY id DESC LIMIT 1', [prompt]);
        const by = last ? `: ${last.action} by ${last.actor} at ${last.at.toISOString()}${last.reason ? ` (${last.reason})` : ''}` : '';
        throw new ControlConflictError(`the rollout of ${prompt} changed while this change was prepared (revision ${author.expectedRevision}, now ${revision}${by}); nothing was changed: check \`prompt-ci status ${prompt}\` and run yours again if it still applies`);
      }
      const planned = plan(before);
      const full = [...planned.shares].find(([, p]) => p === FULL_SHARE)?.[0];
      const lastFull = full ?? before?.lastFullVersion ?? planned.lastFull ?? null;
      const rollbackVersion = planned.rollback ?? null;
      if (before) {
        await tx.query(
          `UPDATE prompt_ci_rollout SET revision = revision + 1, last_full_version = $2, rollback_version = $3,
             rollback_at = CASE WHEN $3::int IS NULL THEN NULL ELSE now() END, updated_at = now(), updated_by = $4 WHERE prompt = $1`,
          [prompt, lastFull, rollbackVersion, author.actor],
        );
      } else {
        await tx.query(
          `INSERT INTO prompt_ci_rollout (prompt, revision, last_full_version, rollback_version, rollback_at, updated_by)
           VALUES ($1, 1, $2, $3, CASE WHEN $3::int IS NULL THEN NULL ELSE now() END, $4)`,
          [prompt, lastFull, rollbackVersion, author.actor],
        );
      }
      const had = new Map((before?.shares ?? []).map((s) => [s.version, s]));
      for (const [v, points] of planned.shares) {
        const previous = had.get(v);
        const tiers = planned.excluded.get(v) ?? previous?.excludedTiers ?? [];
        // The soak starts when a version goes from no traffic to some.
        const restart = !previous || previous.basisPoints === 0;
        await tx.query(
          `INSERT INTO prompt_ci_share (prompt, version, basis_points, excluded_tiers, since) VALUES ($1, $2, $3, $4, now())
           ON CONFLICT (prompt, version) DO UPDATE SET basis_points = EXCLUDED.basis_points, excluded_tiers = EXCLUDED.excluded_tiers,
             since = CASE WHEN $5 AND EXCLUDED.basis_points > 0 THEN now() ELSE prompt_ci_share.since END`,
          [prompt, v, points, tiers, restart],
        );
      }
      const after = (await readRollouts(tx, prompt))[0];
      const log = await writeLog(tx, author.actor, action, prompt, null, version ?? planned.rollback ?? null, reason, {
        ...planned.detail,
        revision: after.revision,
        shares: after.shares.filter((s) => s.basisPoints > 0).map((s) => ({ version: s.version, basisPoints: s.basisPoints })),
      });
      return { before, after, log };
    });
  }
}

async function readRollouts(runner: SqlRunner, prompt?: string): Promise<PromptRollout[]> {
  const where = prompt === undefined ? '' : ' WHERE prompt = $1';
  const params = prompt === undefined ? [] : [prompt];
  const rollouts = await runner.query<RolloutRow>(`SELECT * FROM prompt_ci_rollout${where} ORDER BY prompt`, params);
  const shares = await runner.query<ShareRow>(`SELECT * FROM prompt_ci_share${where} ORDER BY prompt, version`, params);
  const byPrompt = new Map<string, RolloutShare[]>();
  for (const s of shares) {
    const list = byPrompt.get(s.prompt) ?? [];
    list.push({ version: s.version, basisPoints: s.basis_points, excludedTiers: s.excluded_tiers ?? [], since: s.since.getTime() });
    byPrompt.set(s.prompt, list);
  }
  return rollouts.map((r) => ({
    prompt: r.prompt,
    revision: Number(r.revision),
    shares: byPrompt.get(r.prompt) ?? [],
    lastFullVersion: r.last_full_version,
    rollback: r.rollback_version === null ? null : { version: r.rollback_version, at: (r.rollback_at ?? r.updated_at).getTime() },
    updatedAt: r.updated_at.getTime(),
    updatedBy: r.updated_by,
  }));
}

async function writeLog(
  tx: SqlRunner,
  actor: string,
  action: ControlLogEntry['action'],
  prompt: string,
  tenantId: string | null,
  version: number | null,
  reason: string,
  detail: Record<string, unknown>,
): Promise<ControlLogEntry> {
  const [row] = await tx.query<LogRow>(
    'INSERT INTO prompt_ci_control_log (actor, action, prompt, tenant_id, version, reason, detail) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *',
    [actor, action, prompt, tenantId, version, reason, JSON.stringify(detail)],
  );
  return toLog(row);
}

function toPin(r: PinRow): TenantPin {
  return {
    tenantId: r.tenant_id,
    prompt: r.prompt,
    version: r.version,
    expiresAt: r.expires_at ? r.expires_at.getTime() : null,
    reason: r.reason,
    createdAt: r.created_at.getTime(),
    createdBy: r.created_by,
  };
}

function toLog(r: LogRow): ControlLogEntry {
  return { id: Number(r.id), at: r.at, actor: r.actor, action: r.action, prompt: r.prompt, tenantId: r.tenant_id, version: r.version, reason: r.reason, detail: r.detail };
}

function toInterval(r: IntervalRow): AuditInterval {
  return {
    id: Number(r.id),
    tenantId: r.tenant_id,
    prompt: r.prompt,
    version: r.version,
    reason: r.reason,
    basisPoints: r.basis_points,
    startedAt: r.started_at,
    lastSeenAt: r.last_seen_at,
    endedAt: r.ended_at,
  };
}

function wrapShare<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof ShareError) throw new ControlInputError(error.message);
    throw error;
  }
}

function checkVersionKnown(prompt: string, version: number, known: readonly number[]): void {
  if (!Number.isInteger(version) || version < 1) throw new ControlInputError(`"${version}" is not a version of ${prompt}: versions are positive integers (2 or v2)`);
  if (known.length === 0) throw new ControlInputError(`there is no prompt "${prompt}" in the bundle: check the name (\`prompt-ci status\` lists the prompts)`);
  if (!known.includes(version)) {
    throw new ControlInputError(`${prompt} v${version} is not in the bundle: it has ${[...known].sort((a, b) => a - b).map((v) => `v${v}`).join(', ')}`);
  }
}

/** Checks a tenant id the control plane stores: well-formed Unicode, at most 256 characters. */
export function checkTenantId(tenantId: string): void {
  if (typeof tenantId !== 'string' || tenantId.length === 0) throw new ControlInputError('a tenant id is required');
  if (tenantId.length > MAX_TENANT_ID_LENGTH) {
    throw new ControlInputError(`tenant id is ${tenantId.length} characters long; the limit is ${MAX_TENANT_ID_LENGTH}`);
  }
  if (!isWellFormedText(tenantId)) throw new ControlInputError('tenant id is not well-formed Unicode (it holds a lone surrogate)');
  if (tenantId.includes('\u0000')) throw new ControlInputError('tenant id holds a NUL character');
}

function checkTiers(tiers: readonly string[]): string[] {
  for (const tier of tiers) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(tier)) {
      throw new ControlInputError(`tier "${tier.slice(0, 80)}" is not a tier name: letters, digits, "_", "." and "-", at most 64`);
    }
  }
  return [...new Set(tiers)];
}

function checkReason(reason: string | undefined): string {
  const text = reason ?? '';
  if (text.length > MAX_REASON_LENGTH) throw new ControlInputError(`the reason is ${text.length} characters long; the limit is ${MAX_REASON_LENGTH}`);
  if (text.includes('\u0000')) throw new ControlInputError('the reason holds a NUL character');
  return text;
}
