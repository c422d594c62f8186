import { trace } from '@opentelemetry/api';
import type { Tracer } from '@opentelemetry/api';
import { dirname, join, resolve } from 'node:path';
import { AuditTracker } from '../../core/runtime/auditTracker';
import type { AuditBatch } from '../../core/runtime/auditTracker';
import type { CompiledPrompt } from '../../core/runtime/compiledPrompt';
import { compilePrompt } from '../../core/runtime/compiledPrompt';
import type { RenderRequest, RenderedPrompt } from '../../core/runtime/render';
import { renderPrompt } from '../../core/runtime/render';
import type { SelectionNote, SelectionReason } from '../../core/runtime/selection';
import { RoutingTable } from '../../core/runtime/selection';
import type { ControlSnapshot } from '../../core/runtime/snapshot';
import { emptySnapshot } from '../../core/runtime/snapshot';
import { formatBasisPoints } from '../../core/runtime/shares';
import type { ControlPlaneLocation } from '../controlPlane/connection';
import { EMBEDDED_DIR, resolveControlPlane } from '../controlPlane/connection';
import { ControlPlaneError } from '../controlPlane/controlPlaneError';
import type { ControlStore } from '../controlPlane/store';
import { ControlSync } from './controlSync';
import type { ControlSyncState } from './controlSyncState';
import type { CreateMessageOptions, MessageResult } from './messageSpan';
import { createMessageInSpan } from './messageSpan';
import { loadPrompts } from './promptSource';

/**
 * `createPromptRuntime` (DESIGN.md section 7): what a production service links to serve prompt
 * versions by rollback, pin and rollout. Start-up loads the prompts and the control plane's
 * snapshot; `render` reads only memory; audit intervals go to the database in the background.
 */

/** Options of `createPromptRuntime`. */
export interface PromptRuntimeOptions {
  /** A bundle file from `prompt-ci bundle`, or a prompts/ directory (development). */
  prompts: string;
  /** A Postgres URL; omitted: the embedded store in `.prompt-ci/control/` (of the repository, or beside the bundle). */
  controlPlane?: string;
  /** Default `trace.getTracer('prompt-ci')`. */
  tracer?: Tracer;
  /** Record variables and messages on spans. Default false. */
  captureContent?: boolean;
  /** Start without a reachable control plane, and keep trying. Default false. */
  allowStale?: boolean;
  /** Milliseconds between polls of the control plane. Default 5000. */
  pollIntervalMs?: number;
  /** Write serving-audit intervals. Default true. */
  audit?: boolean;
  /**
   * An interval with no request for this long is closed. Default one hour. While an interval is
   * open, its last request is written again at most every sixtieth of this (at most a minute).
   */
  auditIdleMs?: number;
  /** Milliseconds between audit batches. Default 1000. */
  auditFlushMs?: number;
  /** Where log lines go. Default: stderr, prefixed `prompt-ci runtime: `. */
  log?: (line: string) => void;
  /** The embedded store's folder when `controlPlane` is omitted. */
  embeddedDir?: string;
  /** Working directory for relative paths. Default `process.cwd()`. */
  cwd?: string;
  /** The clock (tests). */
  now?: () => number;
}

/** One version a tenant was getting at a time, as `versionAt` answers. */
export interface VersionAtAnswer {
  version: number;
  reason: string;
  /** For a rollout: the version's share, in basis points, when the interval opened. */
  basisPoints: number | null;
  startedAt: Date;
  /** Null while open. */
  endedAt: Date | null;
}

/** The runtime a service holds. */
export interface PromptRuntime {
  /** Selects the version for the request and renders it; memory only. */
  render(name: string, request: RenderRequest): RenderedPrompt;
  /** Sends the rendered request with the application's `@anthropic-ai/sdk` client, inside a span. */
  createMessage<M extends MessageResult>(
    client: { messages: { create(body: RenderedPrompt['request'] & { stream?: false }, options?: { signal?: AbortSignal }): PromiseLike<M> } },
    rendered: RenderedPrompt,
    options?: CreateMessageOptions,
  ): Promise<M>;
  /** Which version(s) the tenant was getting at `at`, from the audit intervals (every runtime's), with reason and share. */
  versionAt(tenantId: string, name: string, at: Date): Promise<VersionAtAnswer[]>;
  /** Writes what is pending and closes the connection. */
  close(): Promise<void>;
  /** The commit the prompts were built from. */
  readonly commitSha: string;
  /** The control-plane link's state: `live`, `polling` or `stale`. */
  readonly controlPlaneState: ControlSyncState;
  /** Reloads the snapshot now (normally a notification or the poll does it). */
  refresh(): Promise<void>;
}

/**
 * Starts a runtime.
 * @throws BundleError for unusable prompts; ControlPlaneError when the control plane can't be reached (unless `allowStale`).
 */
export async function createPromptRuntime(options: PromptRuntimeOptions): Promise<PromptRuntime> {
  const log = options.log ?? ((line: string) => process.stderr.write(`prompt-ci runtime: ${line}\n`));
  const now = options.now ?? Date.now;
  const cwd = options.cwd ?? process.cwd();
  if (!options || typeof options.prompts !== 'string') throw new TypeError('createPromptRuntime({ prompts }): prompts must be a bundle file or a prompts/ directory');
  const loaded = await loadPrompts(options.prompts, cwd);
  const bundle = loaded.bundle;
  if (bundle.dirty) log(`the bundle was built from uncommitted prompt changes (${bundle.dirtyPaths.join(', ') || 'prompts/'}); spans say so (prompt.bundle_dirty)`);

  const prompts = new Map<string, Map<number, CompiledPrompt>>();
  for (const v of bundle.versions) {
    let versions = prompts.get(v.name);
    if (!versions) prompts.set(v.name, (versions = new Map()));
    versions.set(v.version, compilePrompt(v));
  }
  const bundleVersions = new Map([...prompts].map(([name, versions]) => [name, [...versions.keys()]]));

  const location: ControlPlaneLocation = options.controlPlane
    ? resolveControlPlane({ env: { PROMPT_CI_DATABASE_URL: options.controlPlane }, repoRoot: cwd })
    : { kind: 'embedded', dir: resolve(cwd, options.embeddedDir ?? join(loaded.kind === 'directory' ? loaded.baseDir : dirname(resolve(cwd, options.prompts)), EMBEDDED_DIR)), source: 'embedded' };

  const auditOn = options.audit ?? true;
  const tracker = new AuditTracker(options.auditIdleMs ?? 3_600_000);
  const logged = new Set<string>();
  const onNote = (note: SelectionNote) => {
    const key = JSON.stringify(note);
    if (logged.has(key)) return;
    logged.add(key);
    if (note.kind === 'pin-expired') log(`the pin of tenant ${JSON.stringify(note.tenantId)} to ${note.prompt} v${note.version} expired at ${new Date(note.expiresAt).toISOString()}; it is ignored`);
    else if (note.kind === 'needs-rollout') log(`${note.prompt} has several versions and no rollout: serving the lowest, v${note.version}; record one with \`prompt-ci rollout ${note.prompt} VERSION --share PERCENT\``);
    else log(`the control plane routes ${note.prompt} v${note.version} (${note.source}) but this bundle doesn't have it; that traffic goes to the versions it has`);
  };

  let table = new RoutingTable(emptySnapshot(now()), bundleVersions);
  const applySnapshot = (snapshot: ControlSnapshot) => {
    const previous = table;
    table = new RoutingTable(snapshot, bundleVersions);
    table.notes.forEach(onNote);
    if (previous.snapshot.marker !== snapshot.marker) logChanges(previous, table, log);
    if (auditOn) tracker.reconcile(table, now());
  };

  const sync = await ControlSync.start({
    location,
    allowStale: options.allowStale ?? false,
    log,
    onSnapshot: applySnapshot,
    ...(options.pollIntervalMs !== undefined ? { pollMs: options.pollIntervalMs } : {}),
  });
  if (sync.state === 'stale') table.notes.forEach(onNote);

  // The background writer of audit batches: never on the request path.
  let flushing: Promise<void> | undefined;
  let lastIdleSweep = 0;
  const flush = async (): Promise<void> => {
    if (!auditOn) return;
    // A flush in flight drained before the latest requests: wait for it, then write what came since.
    while (flushing) await flushing;
    flushing = (async () => {
      const t = now();
      tracker.reconcile(table, t);
      const store = sync.store;
      if (!store || !tracker.pending) return;
      const batch = tracker.drain();
      try {
        await writeBatch(store, batch);
        if (t - lastIdleSweep > 60_000) {
          lastIdleSweep = t;
          await store.closeIdleIntervals(new Date(t - tracker.idleMs));
        }
      } catch (error) {
        tracker.restore(batch);
        log(`writing serving-audit intervals failed (${(error as Error).message}); they are kept and written with the next batch`);
      }
    })().finally(() => {
      flushing = undefined;
    });
    return flushing;
  };
  const flushTimer = setInterval(() => {
    if (!flushing) void flush();
  }, options.auditFlushMs ?? 1000);
  flushTimer.unref();

  const tracer = options.tracer ?? trace.getTracer('prompt-ci');
  const captureContent = options.captureContent ?? false;
  let closed = false;

  return {
    commitSha: bundle.commitSha,
    get controlPlaneState() {
      return sync.state;
    },
    render(name, request) {
      if (closed) throw new Error('the prompt runtime is closed');
      const t = now();
      const { rendered, selection } = renderPrompt({ table, prompts, commitSha: bundle.commitSha, dirty: bundle.dirty, now: t, onNote }, name, request);
      if (auditOn) tracker.touch(request.tenantId, name, selection.version, selection.reason, selection.basisPoints, request.tier, t);
      return rendered;
    },
    createMessage(client, rendered, callOptions) {
      return createMessageInSpan(tracer, client, rendered, captureContent, callOptions);
    },
    async versionAt(tenantId, name, at) {
      if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw new TypeError('versionAt(tenantId, name, at): at must be a valid Date');
      await flush();
      const store = sync.store;
      if (!store) throw new ControlPlaneError('the control plane is unreachable, so the serving audit can\'t be read now; try again when it is back');
      return (await store.auditIntervals(tenantId, name, at)).map((i) => ({
        version: i.version,
        reason: i.reason,
        basisPoints: i.basisPoints,
        startedAt: i.startedAt,
        endedAt: i.endedAt ?? (at.getTime() - i.lastSeenAt.getTime() > tracker.idleMs ? i.lastSeenAt : null),
      })).filter((i) => i.endedAt === null || i.endedAt.getTime() >= at.getTime());
    },
    async refresh() {
      await sync.reload();
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(flushTimer);
      await flush();
      await sync.close();
    },
  };
}

async function writeBatch(store: ControlStore, batch: AuditBatch): Promise<void> {
  const chunk = 2000;
  const served = (list: AuditBatch['served']) =>
    list.map((s) => ({ ...s, firstAt: new Date(s.firstAt), lastAt: new Date(s.lastAt) }));
  for (let i = 0; i < batch.closing.length; i += chunk) await store.recordServed(served(batch.closing.slice(i, i + chunk)));
  for (let i = 0; i < batch.closed.length; i += chunk) {
    await store.closeIntervals(batch.closed.slice(i, i + chunk).map((c) => ({ ...c, endedAt: new Date(c.endedAt) })));
  }
  for (let i = 0; i < batch.served.length; i += chunk) await store.recordServed(served(batch.served.slice(i, i + chunk)));
}

/** One log line per prompt whose routing changed with a new snapshot. */
function logChanges(before: RoutingTable, after: RoutingTable, log: (line: string) => void): void {
  for (const [prompt, rollout] of after.snapshot.rollouts) {
    const old = before.snapshot.rollouts.get(prompt);
    if (old && old.revision === rollout.revision) continue;
    if (!after.has(prompt)) continue;
    const shares = rollout.shares.filter((s) => s.basisPoints > 0).map((s) => `v${s.version} ${formatBasisPoints(s.basisPoints)}`).join(', ');
    log(rollout.rollback ? `${prompt}: rollback in force, serving v${rollout.rollback.version}` : `${prompt}: now ${shares || 'no shares'}`);
  }
}

export type { SelectionReason };
