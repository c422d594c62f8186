import { writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { promoteDecision, rolloutDecision } from '../core/gate/promotePolicy';
import type { PromptBundle } from '../core/runtime/bundle';
import { BundleError, buildBundle } from '../core/runtime/bundle';
import { formatBasisPoints, percentToBasisPoints } from '../core/runtime/shares';
import type { PromptRollout, TenantPin } from '../core/runtime/snapshot';
import { quoteForMessage } from '../core/span';
import { readRepoSettings } from '../node/checkRepo';
import type { ControlPlaneLocation } from '../node/controlPlane/connection';
import { describeLocation, openControlPlane, resolveControlPlane } from '../node/controlPlane/connection';
import { migrate, schemaVersion } from '../node/controlPlane/migrate';
import { SCHEMA_VERSION } from '../node/controlPlane/migrations';
import type { AuditInterval } from '../node/controlPlane/store';
import { ControlPolicyError, ControlStore } from '../node/controlPlane/store';
import type { GitRunner } from '../node/git';
import { GitError, isGitAnswer, runGit } from '../node/git';
import { readHistory } from '../node/history';
import { findRepoRoot } from '../node/repoFiles';
import { loadPrompts, readPromptTree } from '../node/runtime/promptSource';
import type { CliIo } from './cliIo';
import { EXIT_FAIL, EXIT_OK, EXIT_USAGE, UsageError, errorKindOf, exitCodeOfError } from './cliIo';
import { BUNDLE_FILE, FORCE, JSON_OUTPUT, REASON } from './options';
export { DB_USAGE, BUNDLE_USAGE, ROLLOUT_USAGE, PROMOTE_USAGE, ROLLBACK_USAGE, PIN_USAGE, UNPIN_USAGE, STATUS_USAGE, AUDIT_USAGE } from './usages';

/**
 * The rollout commands of DESIGN.md section 8: `db migrate`, `bundle`, `rollout`, `promote`,
 * `rollback`, `pin`, `unpin`, `status`, `audit`. Each change is one transaction of the control
 * plane's store, written to the control log with the actor and `--reason`, and prints what the
 * traffic looks like afterwards. Exit 0 done, 1 refused by policy (or by a concurrent change),
 * 2 usage or connection errors.
 */


/** What the commands reach beyond `CliIo`; tests pass their own. */
export interface RolloutDeps {
  git?: GitRunner;
  now?: () => Date;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses a rollout command's arguments: `options`, and between `min` and `max` positionals (`--help` is main's). */
function parse(argv: string[], options: Options, positionals: number | [number, number]) {
  const parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const args = parsed.positionals;
  const [min, max] = typeof positionals === 'number' ? [positionals, positionals] : positionals;
  if (args.length < min) throw new UsageError(`missing ${min - args.length === 1 ? 'an argument' : 'arguments'}`);
  if (args.length > max) throw new UsageError(`unexpected argument ${quoteForMessage(args[max])}`);
  return { values, args };
}

/** The repository, its settings and where its control plane is. */
interface RepoContext {
  root: string;
  location: ControlPlaneLocation;
  soakHours: number;
}

function repoContext(io: CliIo): RepoContext {
  const root = findRepoRoot(io.cwd) ?? io.cwd;
  const { settings } = readRepoSettings(root);
  const location = resolveControlPlane({ env: io.env, settingsUrl: settings.controlPlane?.url, repoRoot: root });
  return { root, location, soakHours: settings.rollout?.soakHours ?? 24 };
}

/** Opens the store (migrating a schema that is behind), runs `fn`, closes; maps the store's errors to exit codes. */
async function withStore(io: CliIo, command: string, fn: (store: ControlStore, repo: RepoContext) => Promise<number>): Promise<number> {
  let repo: RepoContext;
  try {
    repo = repoContext(io);
  } catch (error) {
    return fail(io, command, (error as Error).message, EXIT_USAGE);
  }
  let driver;
  try {
    driver = await openControlPlane(repo.location);
  } catch (error) {
    return fail(io, command, (error as Error).message, EXIT_USAGE);
  }
  try {
    const version = await schemaVersion(driver);
    if (version < SCHEMA_VERSION) {
      const outcome = await migrate(driver);
      if (outcome.applied.length) io.stderr(`migrated the control plane's schema from version ${outcome.from} to ${outcome.to}\n`);
    }
    return await fn(new ControlStore(driver), repo);
  } catch (error) {
    // Refusals (policy, a concurrent change) exit 1; bad input and the database exit 2 (cliIo's error map).
    if (errorKindOf(error) === undefined) throw error;
    return fail(io, command, (error as Error).message, exitCodeOfError(error));
  } finally {
    await driver.close();
  }
}

function fail(io: CliIo, command: string, message: string, code: number): number {
  io.stderr(`prompt-ci ${command}: ${message}\n`);
  return code;
}

/** The versions a change may name: the bundle's (`--bundle FILE`) or the repository's prompts/. */
async function knownVersions(io: CliIo, repo: RepoContext, prompt: string, bundleFile: string | undefined): Promise<number[]> {
  if (bundleFile !== undefined) {
    const loaded = await loadPrompts(bundleFile, io.cwd);
    return loaded.bundle.versions.filter((v) => v.name === prompt).map((v) => v.version);
  }
  return readPromptTree(repo.root).filter((v) => v.name === prompt).map((v) => v.version);
}

/** `2` or `v2`. */
function parseVersion(text: string): number {
  const match = /^v?([1-9][0-9]{0,8})$/.exec(text.trim());
  if (!match) throw new UsageError(`VERSION ${quoteForMessage(text)} is not a version: give 2 or v2`);
  return Number(match[1]);
}

function parseName(text: string): string {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(text)) throw new UsageError(`NAME ${quoteForMessage(text)} is not a prompt name (the <name> of prompts/<name>/vN)`);
  return text;
}

function parseTime(text: string, option: string): Date {
  const date = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim()) ? new Date(text.trim()) : new Date(NaN);
  if (Number.isNaN(date.getTime())) throw new UsageError(`${option} ${quoteForMessage(text)} is not an ISO date or time, e.g. 2026-03-01 or 2026-03-01T14:05:00Z`);
  return date;
}

/** Who is making the change: PROMPT_CI_ACTOR, else git's user.email. */
async function actorOf(io: CliIo, repo: RepoContext, git: GitRunner): Promise<string> {
  const fromEnv = io.env.PROMPT_CI_ACTOR?.trim();
  if (fromEnv) return fromEnv;
  try {
    const email = (await git(['config', 'user.email'], { cwd: repo.root })).toString('utf8').trim();
    if (email) return email;
  } catch (error) {
    if (!(error instanceof GitError)) throw error;
  }
  throw new UsageError('who is making this change? Set PROMPT_CI_ACTOR, or git config user.email; the control log records it');
}

/** Untrusted text (tenant ids, reasons, actors) as it may reach a terminal. */
function shown(text: string, max = 120): string {
  return /^[\x20-\x7e]*$/.test(text) && text.length <= max ? text : quoteForMessage(text, max);
}

function age(ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  return days ? `${days}d ${hours}h` : hours ? `${hours}h ${rest}m` : `${rest}m`;
}

/** What traffic looks like now, for people. */
export function trafficText(prompt: string, rollout: PromptRollout | undefined, pins: TenantPin[], now: Date): string {
  const lines: string[] = [];
  if (!rollout || rollout.shares.every((s) => s.basisPoints === 0)) {
    lines.push(`${prompt}: no rollout recorded: its only version (or its lowest) gets all the traffic`);
  } else {
    lines.push(`${prompt}: revision ${rollout.revision}, last change by ${shown(rollout.updatedBy)} at ${new Date(rollout.updatedAt).toISOString()}`);
    if (rollout.rollback) lines.push(`  ROLLBACK in force since ${new Date(rollout.rollback.at).toISOString()}: every request gets v${rollout.rollback.version}, pins included`);
    for (const s of rollout.shares) {
      if (s.basisPoints === 0) continue;
      const bar = '#'.repeat(Math.round(s.basisPoints / 250));
      const tiers = s.excludedTiers.length ? `, not for tier ${s.excludedTiers.join(', ')}` : '';
      lines.push(`  v${s.version}  ${formatBasisPoints(s.basisPoints).padStart(7)}  ${bar.padEnd(40)} soaking ${age(now.getTime() - s.since)}${tiers}`);
    }
    if (rollout.lastFullVersion !== null) lines.push(`  a rollback restores v${rollout.lastFullVersion}`);
  }
  const active = pins.filter((p) => p.prompt === prompt);
  for (const p of active) {
    const expired = p.expiresAt !== null && p.expiresAt <= now.getTime();
    const until = p.expiresAt === null ? 'until unpinned' : `${expired ? 'expired' : 'until'} ${new Date(p.expiresAt).toISOString()}`;
    lines.push(`  pin: tenant ${shown(p.tenantId)} → v${p.version} ${until}${p.reason ? ` (${shown(p.reason)})` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/** `prompt-ci db migrate`. */
export async function runDbCommand(argv: string[], io: CliIo): Promise<number> {
  const parsed = parse(argv, {}, 1);
  if (parsed.args[0] !== 'migrate') throw new UsageError(`unknown db command ${quoteForMessage(parsed.args[0])}; the one there is: migrate`);
  let repo: RepoContext;
  try {
    repo = repoContext(io);
  } catch (error) {
    return fail(io, 'db migrate', (error as Error).message, EXIT_USAGE);
  }
  let driver;
  try {
    driver = await openControlPlane(repo.location);
  } catch (error) {
    return fail(io, 'db migrate', (error as Error).message, EXIT_USAGE);
  }
  try {
    const outcome = await migrate(driver);
    io.stdout(
      outcome.applied.length
        ? `${describeLocation(repo.location)}: migrated from schema version ${outcome.from} to ${outcome.to}: ${outcome.applied.map((m) => `${m.version} (${m.name})`).join(', ')}\n`
        : `${describeLocation(repo.location)}: the schema is up to date (version ${outcome.to})\n`,
    );
    return EXIT_OK;
  } catch (error) {
    if (errorKindOf(error) === undefined) throw error;
    return fail(io, 'db migrate', (error as Error).message, exitCodeOfError(error));
  } finally {
    await driver.close();
  }
}

/** `prompt-ci bundle`. */
export async function runBundleCommand(argv: string[], io: CliIo, deps: RolloutDeps = {}): Promise<number> {
  const parsed = parse(argv, { out: { type: 'string' }, 'allow-dirty': { type: 'boolean' } }, 0);
  const git = deps.git ?? runGit;
  const root = findRepoRoot(io.cwd);
  if (!root || !existsSync(join(root, 'prompts'))) return fail(io, 'bundle', `no prompts/ directory in ${io.cwd} or above it`, EXIT_USAGE);
  let commitSha: string;
  let status: string;
  try {
    commitSha = (await git(['rev-parse', '--verify', 'HEAD^{commit}'], { cwd: root })).toString('utf8').trim();
    status = (await git(['status', '--porcelain=v1', '-z', '--untracked-files=all', '--', 'prompts'], { cwd: root })).toString('utf8');
  } catch (error) {
    if (isGitAnswer(error)) return fail(io, 'bundle', `the bundle names the commit it was built from, and git could not tell it: ${error.stderr.trim() || error.message} (is this a git repository with a commit?)`, EXIT_USAGE);
    throw error;
  }
  const dirtyPaths = status.split('\0').filter((r) => r.length > 3).map((r) => r.slice(3));
  if (dirtyPaths.length && !parsed.values['allow-dirty']) {
    return fail(
      io,
      'bundle',
      `prompts/ has uncommitted changes (${dirtyPaths.slice(0, 5).map((p) => shown(p)).join(', ')}${dirtyPaths.length > 5 ? `, and ${dirtyPaths.length - 5} more` : ''}): a bundle must be the text of a commit, so spans can be replayed. Commit them, or pass --allow-dirty (the bundle and its spans then say it is dirty)`,
      EXIT_FAIL,
    );
  }
  let bundle: PromptBundle;
  try {
    bundle = buildBundle({ versions: readPromptTree(root), commitSha, dirty: dirtyPaths.length > 0, dirtyPaths, builtAt: (deps.now?.() ?? new Date()).toISOString(), exists: (p) => existsSync(join(root, p)) });
  } catch (error) {
    if (error instanceof BundleError) return fail(io, 'bundle', error.message, EXIT_FAIL);
    throw error;
  }
  const out = resolve(io.cwd, (parsed.values.out as string | undefined) ?? 'prompt-bundle.json');
  await writeFile(out, `${JSON.stringify(bundle, null, 2)}\n`);
  const names = new Set(bundle.versions.map((v) => v.name));
  io.stdout(`wrote ${(parsed.values.out as string | undefined) ?? 'prompt-bundle.json'}: ${names.size} prompt${names.size === 1 ? '' : 's'}, ${bundle.versions.length} version${bundle.versions.length === 1 ? '' : 's'} at commit ${commitSha.slice(0, 12)}${bundle.dirty ? ` (DIRTY: ${dirtyPaths.length} uncommitted prompt file${dirtyPaths.length === 1 ? '' : 's'})` : ''}\n`);
  return EXIT_OK;
}

/** `prompt-ci rollout NAME VERSION --share PERCENT`: refuses a version the gate has not passed, unless `--force --reason`. */
export async function runRolloutCommand(argv: string[], io: CliIo, deps: RolloutDeps = {}): Promise<number> {
  const parsed = parse(argv, { share: { type: 'string' }, 'exclude-tier': { type: 'string', multiple: true }, ...FORCE.spec, ...REASON.spec, ...BUNDLE_FILE.spec }, 2);
  const prompt = parseName(parsed.args[0]);
  const version = parseVersion(parsed.args[1]);
  if (parsed.values.share === undefined) throw new UsageError('--share PERCENT is required, e.g. --share 10');
  const basisPoints = percentToBasisPoints(parsed.values.share as string);
  const reason = REASON.read(parsed.values);
  const force = FORCE.read(parsed.values);
  return withStore(io, 'rollout', async (store, repo) => {
    const known = await knownVersions(io, repo, prompt, BUNDLE_FILE.read(parsed.values));
    const actor = await actorOf(io, repo, deps.git ?? runGit);
    const before = await store.readRollout(prompt);
    if (!force) {
      const { records } = await readHistory(repo.root);
      const decision = rolloutDecision({ prompt, version, basisPoints, rollout: before, knownVersions: known, history: records });
      if (!decision.allowed) throw new ControlPolicyError(`${decision.holds.map((h) => h.message).join('; ')}; or --force --reason TEXT`);
    }
    const change = await store.rollout(
      { prompt, version, basisPoints, excludedTiers: (parsed.values['exclude-tier'] as string[] | undefined) ?? [], knownVersions: known },
      { actor, reason, expectedRevision: before?.revision ?? 0 },
    );
    io.stdout(`${prompt} v${version} now has ${formatBasisPoints(basisPoints)} of the traffic${force ? ' (policy overridden with --force)' : ''}\n${trafficText(prompt, change.after, await store.readPins(prompt), deps.now?.() ?? new Date())}`);
    return EXIT_OK;
  });
}

/** `prompt-ci promote NAME VERSION`: 100% after the soak, when its last gate passed. */
export async function runPromoteCommand(argv: string[], io: CliIo, deps: RolloutDeps = {}): Promise<number> {
  const parsed = parse(argv, { ...FORCE.spec, ...REASON.spec, ...BUNDLE_FILE.spec }, 2);
  const prompt = parseName(parsed.args[0]);
  const version = parseVersion(parsed.args[1]);
  const reason = REASON.read(parsed.values);
  const force = FORCE.read(parsed.values);
  const now = deps.now?.() ?? new Date();
  return withStore(io, 'promote', async (store, repo) => {
    const known = await knownVersions(io, repo, prompt, BUNDLE_FILE.read(parsed.values));
    const actor = await actorOf(io, repo, deps.git ?? runGit);
    const before = await store.readRollout(prompt);
    if (!force) {
      const { records } = await readHistory(repo.root);
      const decision = promoteDecision({ prompt, version, rollout: before, history: records, soakHours: repo.soakHours, now: now.getTime() });
      if (!decision.allowed) throw new ControlPolicyError(`${decision.holds.map((h) => h.message).join('; ')}; or --force --reason TEXT`);
    }
    const change = await store.promote({ prompt, version, knownVersions: known }, { actor, reason, expectedRevision: before?.revision ?? 0 });
    io.stdout(`${prompt} v${version} now has all the traffic${force ? ' (policy overridden with --force)' : ''}\n${trafficText(prompt, change.after, await store.readPins(prompt), now)}`);
    return EXIT_OK;
  });
}

/** `prompt-ci rollback NAME`: the kill switch. */
export async function runRollbackCommand(argv: string[], io: CliIo, deps: RolloutDeps = {}): Promise<number> {
  const parsed = parse(argv, { ...REASON.spec }, 1);
  const prompt = parseName(parsed.args[0]);
  return withStore(io, 'rollback', async (store, repo) => {
    const actor = await actorOf(io, repo, deps.git ?? runGit);
    const change = await store.rollback({ prompt }, { actor, reason: REASON.read(parsed.values) });
    const reach = repo.location.kind === 'embedded'
      ? 'runtimes on the embedded store poll: they serve it within their poll interval (5 s by default)'
      : 'runtimes listening on prompt_ci_control serve it within about a second; one whose LISTEN connection is down, within its poll interval (5 s by default)';
    io.stdout(`rolled back ${prompt} to v${change.restored}, the version that last had all the traffic; ${reach}\n${trafficText(prompt, change.after, await store.readPins(prompt), deps.now?.() ?? new Date())}`);
    return EXIT_OK;
  });
}

/** `prompt-ci pin TENANT NAME VERSION`. */
export async function runPinCommand(argv: string[], io: CliIo, deps: RolloutDeps = {}): Promise<number> {
  const parsed = parse(argv, { expires: { type: 'string' }, ...REASON.spec, ...BUNDLE_FILE.spec }, 3);
  const [tenantId] = parsed.args;
  const prompt = parseName(parsed.args[1]);
  const version = parseVersion(parsed.args[2]);
  const expiresAt = parsed.values.expires === undefined ? null : parseTime(parsed.values.expires as string, '--expires');
  const now = deps.now?.() ?? new Date();
  return withStore(io, 'pin', async (store, repo) => {
    const known = await knownVersions(io, repo, prompt, BUNDLE_FILE.read(parsed.values));
    const actor = await actorOf(io, repo, deps.git ?? runGit);
    await store.pin({ tenantId, prompt, version, expiresAt, knownVersions: known, now }, { actor, reason: REASON.read(parsed.values) });
    io.stdout(`pinned tenant ${shown(tenantId)} to ${prompt} v${version} ${expiresAt ? `until ${expiresAt.toISOString()}` : 'until unpinned'}\n${trafficText(prompt, await store.readRollout(prompt), await store.readPins(prompt), now)}`);
    return EXIT_OK;
  });
}

/** `prompt-ci unpin TENANT NAME`. */
export async function runUnpinCommand(argv: string[], io: CliIo, deps: RolloutDeps = {}): Promise<number> {
  const parsed = parse(argv, { ...REASON.spec }, 2);
  const [tenantId] = parsed.args;
  const prompt = parseName(parsed.args[1]);
  return withStore(io, 'unpin', async (store, repo) => {
    const actor = await actorOf(io, repo, deps.git ?? runGit);
    const change = await store.unpin({ tenantId, prompt }, { actor, reason: REASON.read(parsed.values) });
    io.stdout(`unpinned tenant ${shown(tenantId)} from ${prompt} v${change.before?.version}\n${trafficText(prompt, await store.readRollout(prompt), await store.readPins(prompt), deps.now?.() ?? new Date())}`);
    return EXIT_OK;
  });
}

/** `prompt-ci status [NAME]`. */
export async function runStatusCommand(argv: string[], io: CliIo, deps: RolloutDeps = {}): Promise<number> {
  const parsed = parse(argv, { ...JSON_OUTPUT.spec }, [0, 1]);
  const only = parsed.args[0] === undefined ? undefined : parseName(parsed.args[0]);
  const now = deps.now?.() ?? new Date();
  return withStore(io, 'status', async (store, repo) => {
    const rollouts = only === undefined ? await store.readRollouts() : [await store.readRollout(only)].filter((r): r is PromptRollout => r !== undefined);
    const pins = await store.readPins(only);
    const inRepo = readPromptTree(repo.root);
    const names = new Set<string>([...rollouts.map((r) => r.prompt), ...pins.map((p) => p.prompt), ...inRepo.map((v) => v.name)]);
    const prompts = [...names].filter((n) => only === undefined || n === only).sort();
    if (JSON_OUTPUT.read(parsed.values)) {
      io.stdout(`${JSON.stringify({
        controlPlane: describeLocation(repo.location),
        prompts: prompts.map((name) => {
          const r = rollouts.find((x) => x.prompt === name);
          return {
            prompt: name,
            versions: inRepo.filter((v) => v.name === name).map((v) => v.version),
            revision: r?.revision ?? 0,
            shares: (r?.shares ?? []).map((s) => ({ version: s.version, basisPoints: s.basisPoints, excludedTiers: s.excludedTiers, since: new Date(s.since).toISOString(), soakHours: (now.getTime() - s.since) / 3_600_000 })),
            lastFullVersion: r?.lastFullVersion ?? null,
            rollback: r?.rollback ? { version: r.rollback.version, at: new Date(r.rollback.at).toISOString() } : null,
            pins: pins.filter((p) => p.prompt === name).map((p) => ({ tenantId: p.tenantId, version: p.version, expiresAt: p.expiresAt === null ? null : new Date(p.expiresAt).toISOString(), expired: p.expiresAt !== null && p.expiresAt <= now.getTime(), reason: p.reason, createdBy: p.createdBy })),
          };
        }),
      }, null, 2)}\n`);
      return EXIT_OK;
    }
    if (prompts.length === 0) {
      io.stdout(only ? `${only}: no rollout, no pins, and no such prompt in prompts/\n` : 'no prompts and no rollouts recorded\n');
      return EXIT_OK;
    }
    io.stdout(`control plane: ${describeLocation(repo.location)}\n${prompts.map((name) => trafficText(name, rollouts.find((r) => r.prompt === name), pins, now)).join('')}`);
    return EXIT_OK;
  });
}

/** `prompt-ci audit TENANT NAME --at T | --from T --to T`. */
export async function runAuditCommand(argv: string[], io: CliIo, deps: RolloutDeps = {}): Promise<number> {
  const parsed = parse(argv, { at: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, ...JSON_OUTPUT.spec }, 2);
  const [tenantId] = parsed.args;
  const prompt = parseName(parsed.args[1]);
  const { at, from, to } = parsed.values as { at?: string; from?: string; to?: string };
  if ((at === undefined) === (from === undefined && to === undefined)) throw new UsageError('give --at ISO_TIME, or --from ISO_TIME --to ISO_TIME');
  if (at === undefined && (from === undefined || to === undefined)) throw new UsageError('--from and --to go together');
  const start = parseTime((at ?? from) as string, at !== undefined ? '--at' : '--from');
  const end = at !== undefined ? start : parseTime(to as string, '--to');
  if (end.getTime() < start.getTime()) throw new UsageError('--to is before --from');
  const now = deps.now?.() ?? new Date();
  return withStore(io, 'audit', async (store, repo) => {
    void repo;
    const idleMs = 3_600_000;
    const intervals = (await store.auditIntervals(tenantId, prompt, start, end))
      .map((i) => ({ ...i, endedAt: i.endedAt ?? (now.getTime() - i.lastSeenAt.getTime() > idleMs ? i.lastSeenAt : null) }))
      .filter((i) => i.endedAt === null || i.endedAt.getTime() >= start.getTime());
    if (JSON_OUTPUT.read(parsed.values)) {
      io.stdout(`${JSON.stringify({ tenantId, prompt, from: start.toISOString(), to: end.toISOString(), versions: [...new Set(intervals.map((i) => i.version))], intervals: intervals.map(intervalJson) }, null, 2)}\n`);
      return EXIT_OK;
    }
    const when = at !== undefined ? `at ${start.toISOString()}` : `from ${start.toISOString()} to ${end.toISOString()}`;
    if (intervals.length === 0) {
      io.stdout(`tenant ${shown(tenantId)} was served no version of ${prompt} ${when} that the audit recorded\n`);
      return EXIT_OK;
    }
    const versions = [...new Set(intervals.map((i) => i.version))];
    const head = versions.length === 1
      ? `tenant ${shown(tenantId)} was getting ${prompt} v${versions[0]} ${when}`
      : `tenant ${shown(tenantId)} was getting ${versions.length} versions of ${prompt} ${when} (${versions.map((v) => `v${v}`).join(', ')}): a rollout split its conversations between them`;
    io.stdout(`${head}\n${intervals.map((i) => `  ${intervalText(i)}\n`).join('')}`);
    return EXIT_OK;
  });
}

function intervalText(i: AuditInterval): string {
  const why = i.reason === 'rollout' && i.basisPoints !== null ? `rollout at ${formatBasisPoints(i.basisPoints)}` : i.reason;
  return `v${i.version} (${why}) from ${i.startedAt.toISOString()} to ${i.endedAt ? i.endedAt.toISOString() : 'now (still served)'}, last request ${i.lastSeenAt.toISOString()}`;
}

function intervalJson(i: AuditInterval): Record<string, unknown> {
  return { version: i.version, reason: i.reason, basisPoints: i.basisPoints, startedAt: i.startedAt.toISOString(), endedAt: i.endedAt?.toISOString() ?? null, lastSeenAt: i.lastSeenAt.toISOString() };
}
