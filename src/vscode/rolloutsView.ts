import * as vscode from 'vscode';
import { discoverPrompts } from '../core/promptLayout';
import { promoteDecision, rolloutDecision } from '../core/gate/promotePolicy';
import type { PromoteHold } from '../core/gate/promotePolicy';
import { ReplayError } from '../core/replay';
import { describeRollouts, formatDuration } from '../core/runtime/rolloutStatus';
import type { PinStatus, PromptStatus, VersionStatus } from '../core/runtime/rolloutStatus';
import { ShareError, formatBasisPoints, percentToBasisPoints } from '../core/runtime/shares';
import type { PromptRollout } from '../core/runtime/snapshot';
import { readRepoSettings } from '../node/checkRepo';
import { readHistory } from '../node/history';
import { ControlPlaneError } from '../node/controlPlane/driver';
import { openControlSession, resolveActor, watchControlPlane } from '../node/controlPlane/session';
import type { ControlSession } from '../node/controlPlane/session';
import { ControlConflictError, ControlInputError, ControlPolicyError } from '../node/controlPlane/store';
import type { AuditInterval } from '../node/controlPlane/store';
import { runGit } from '../node/git';
import { inferCommit } from '../node/replayCommit';
import { findRepoRoot, listRepoFiles } from '../node/repoFiles';
import { COMMANDS } from './commandTable';
import { Disposable } from './disposable';

/** The id of the Rollouts tree view (package.json `contributes.views.promptCi`). */
export const ROLLOUTS_VIEW_ID = 'promptCi.rollouts';

/** The SecretStorage entry of the control plane's database URL (it may hold a password). */
const DATABASE_URL_SECRET = 'promptCi.controlPlaneDatabaseUrl';

type RolloutRow =
  | { kind: 'connection'; label: string; description: string; ok: boolean }
  | { kind: 'prompt'; status: PromptStatus }
  | { kind: 'rollback'; status: PromptStatus }
  | { kind: 'version'; status: PromptStatus; version: VersionStatus }
  | { kind: 'pin'; status: PromptStatus; pin: PinStatus };

/**
 * Arguments the view's actions take from a row, or, for scripts and tests, as a plain object: what
 * is given is not asked for. `confirmed` skips the modal confirmation of a rollback, of a promote
 * the policy holds, or of a rollout of a version the gate has not passed (only ever passed
 * programmatically; the action then resolves with the text the modal would have shown).
 */
export interface RolloutActionArgs {
  prompt?: string;
  version?: number;
  share?: string;
  excludedTiers?: string[];
  tenantId?: string;
  expires?: string;
  reason?: string;
  confirmed?: boolean;
}

const PIN_ICON: Record<PinStatus['state'], vscode.ThemeIcon> = {
  active: new vscode.ThemeIcon('pinned'),
  expiring: new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground')),
  expired: new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground')),
};

/**
 * The Rollouts view: each prompt of the workspace's prompt repository, its versions with their live
 * share (a bar), soak age and excluded tiers, the tenants pinned to each (expired and soon-expiring
 * pins marked), and a rollback in force; with the operator's actions (start or change a rollout,
 * promote, roll back, pin, unpin). It connects by the CLI's rules (a database URL kept in secret
 * storage comes first), and refreshes on every control change (LISTEN, or polling the control log).
 */
export class RolloutsView extends Disposable implements vscode.TreeDataProvider<RolloutRow> {
  private readonly changed = this._register(new vscode.EventEmitter<RolloutRow | undefined>());
  readonly onDidChangeTreeData = this.changed.event;
  private readonly view: vscode.TreeView<RolloutRow>;
  private rows: RolloutRow[] = [];
  private session: ControlSession | undefined;
  private stopWatch: (() => Promise<void>) | undefined;
  private repoRoot: string | undefined;
  private statuses: PromptStatus[] = [];
  private rollouts: PromptRollout[] = [];
  private connecting: Promise<void> | undefined;
  /** Fires after every refresh of the view's data (tests wait on it). */
  private readonly refreshed = this._register(new vscode.EventEmitter<PromptStatus[]>());
  readonly onDidRefresh = this.refreshed.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    /** Opens a version directory's files at a commit, read-only (Replay's documents). */
    private readonly openAtCommit: (repoRoot: string, commit: string, dir: string) => Promise<vscode.Uri[]>,
  ) {
    super();
    this.view = this._register(vscode.window.createTreeView(ROLLOUTS_VIEW_ID, { treeDataProvider: this, showCollapseAll: true }));
    this._register(this.view.onDidChangeVisibility((e) => e.visible && void this.ensureConnected()));
    // Every action resolves with what the view shows afterwards (for scripts and tests), with the
    // text of the confirmation it asked (or skipped, given `confirmed`), or undefined when it failed.
    const register = (id: string, run: (args?: unknown) => Promise<{ confirmation?: string } | void>): void => {
      this._register(
        vscode.commands.registerCommand(id, (args?: unknown) =>
          run(args).then(
            (done) => ({ ...this.current, ...(done?.confirmation !== undefined ? { confirmation: done.confirmation } : {}) }),
            (error: unknown) => this.fail(error),
          ),
        ),
      );
    };
    // `{ reconnect: false }` only reports what the view shows (a test waiting for a change made elsewhere).
    register(COMMANDS.rolloutsRefresh.id, (a) => ((a as { reconnect?: unknown } | undefined)?.reconnect === false ? Promise.resolve() : this.reconnect()));
    register(COMMANDS.rolloutsStart.id, (a) => this.startRollout(argsOf(a)));
    register(COMMANDS.rolloutsPromote.id, (a) => this.promote(argsOf(a)));
    register(COMMANDS.rolloutsRollback.id, (a) => this.rollback(argsOf(a)));
    register(COMMANDS.rolloutsPin.id, (a) => this.pin(argsOf(a)));
    register(COMMANDS.rolloutsUnpin.id, (a) => this.unpin(argsOf(a)));
    register(COMMANDS.setDatabaseUrl.id, () => this.setDatabaseUrl());
    this._register(
      vscode.commands.registerCommand(COMMANDS.whichVersion.id, (a?: unknown) => this.whichVersion(argsOf(a), a).catch((error: unknown) => this.fail(error))),
    );
    register(COMMANDS.clearDatabaseUrl.id, async () => {
      await this.context.secrets.delete(DATABASE_URL_SECRET);
      await this.reconnect();
    });
    this._register({ dispose: () => void this.disconnect() });
    if (this.view.visible) void this.ensureConnected();
  }

  /** The status the view shows now (for tests and the which-version command). */
  get current(): { statuses: PromptStatus[]; connected: boolean; description: string | undefined } {
    return { statuses: this.statuses, connected: this.session !== undefined, description: this.session?.description };
  }

  getTreeItem(row: RolloutRow): vscode.TreeItem {
    switch (row.kind) {
      case 'connection': {
        const item = new vscode.TreeItem(row.label);
        item.description = row.description;
        item.tooltip = `${row.label}: ${row.description}`;
        item.iconPath = new vscode.ThemeIcon(row.ok ? 'database' : 'warning', row.ok ? undefined : new vscode.ThemeColor('list.warningForeground'));
        item.contextValue = 'connection';
        return item;
      }
      case 'prompt': {
        const { status } = row;
        const item = new vscode.TreeItem(status.prompt, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `prompt:${status.prompt}`;
        const live = status.versions.filter((v) => v.basisPoints > 0).map((v) => `v${v.version} ${v.share}`);
        item.description = status.rollback ? `rolled back to v${status.rollback.version}` : status.noRollout ? 'no rollout recorded' : live.join(' · ');
        item.iconPath = new vscode.ThemeIcon(status.rollback ? 'debug-step-back' : 'rocket');
        item.contextValue = status.lastFullVersion !== null ? 'prompt.canRollBack' : 'prompt';
        return item;
      }
      case 'rollback': {
        const { rollback } = row.status;
        const item = new vscode.TreeItem(`rollback in force: v${rollback?.version}`);
        item.description = rollback ? `since ${new Date(rollback.at).toISOString().replace('T', ' ').slice(0, 16)} UTC (${formatDuration(Date.now() - rollback.at)} ago)` : '';
        item.tooltip = 'Every tenant, pinned ones included, gets this version until the next rollout or promote.';
        item.iconPath = new vscode.ThemeIcon('debug-step-back', new vscode.ThemeColor('list.warningForeground'));
        return item;
      }
      case 'version': {
        const { version: v } = row;
        const item = new vscode.TreeItem(`v${v.version}`, v.pins.length > 0 ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
        // VS Code remembers a row's expansion by its id: a version row gets a new id when its pins
        // change, so a row that had none (collapsed) opens to show a newly pinned tenant.
        item.id = `version:${row.status.prompt}:${v.version}:${JSON.stringify(v.pins.map((p) => p.tenantId).sort())}`;
        const parts = [`${v.bar} ${v.share}`];
        if (v.servedByDefault) parts.push('no rollout recorded: served to every request');
        if (v.soakMs !== null) parts.push(`soak ${formatDuration(v.soakMs)}`);
        if (v.excludedTiers.length > 0) parts.push(`excludes ${v.excludedTiers.join(', ')}`);
        if (v.pins.length > 0) parts.push(`${v.pins.length} pinned`);
        if (!v.inRepository) parts.push('not in the repository');
        item.description = parts.join(' · ');
        item.iconPath = new vscode.ThemeIcon(v.basisPoints > 0 ? 'circle-filled' : 'circle-outline');
        item.contextValue = 'version';
        return item;
      }
      case 'pin': {
        const { pin } = row;
        const item = new vscode.TreeItem(pin.tenantId);
        item.id = `pin:${row.status.prompt}:${pin.tenantId}`;
        item.description = `pinned · ${pin.expiry}${pin.state === 'expired' ? ' (ignored)' : ''}`;
        item.tooltip = `${pin.tenantId} is pinned to ${row.status.prompt} v${pin.version}${pin.reason ? `: ${pin.reason}` : ''}`;
        item.iconPath = PIN_ICON[pin.state];
        item.contextValue = 'pin';
        return item;
      }
    }
  }

  getChildren(row?: RolloutRow): RolloutRow[] {
    if (!row) return this.rows;
    if (row.kind === 'prompt') {
      const children: RolloutRow[] = [];
      if (row.status.rollback) children.push({ kind: 'rollback', status: row.status });
      for (const version of row.status.versions) children.push({ kind: 'version', status: row.status, version });
      return children;
    }
    if (row.kind === 'version') return row.version.pins.map((pin) => ({ kind: 'pin', status: row.status, pin }));
    return [];
  }

  /** Connects (once) and loads the view. */
  async ensureConnected(): Promise<void> {
    if (this.session) return;
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async reconnect(): Promise<void> {
    await this.disconnect();
    await this.ensureConnected();
  }

  private async disconnect(): Promise<void> {
    const [stop, session] = [this.stopWatch, this.session];
    this.stopWatch = undefined;
    this.session = undefined;
    await stop?.().catch(() => undefined);
    await session?.close().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    this.repoRoot = (vscode.workspace.workspaceFolders ?? []).map((f) => (f.uri.scheme === 'file' ? findRepoRoot(f.uri.fsPath) : undefined)).find((r) => r !== undefined);
    if (!this.repoRoot) {
      this.show([{ kind: 'connection', label: 'No prompt repository', description: 'open a folder with prompts/ or prompt-ci.yaml', ok: false }]);
      return;
    }
    const { settings } = readRepoSettings(this.repoRoot);
    try {
      const session = await openControlSession({
        repoRoot: this.repoRoot,
        env: process.env,
        settingsUrl: settings.controlPlane.url,
        databaseUrl: await this.context.secrets.get(DATABASE_URL_SECRET),
        log: (line) => this.log.info(line),
      });
      this.session = session;
      this.log.info(`rollouts: connected to ${session.description}`);
      this.stopWatch = await watchControlPlane(session, () => void this.load(), { onError: (error) => this.log.warn(`rollouts: ${error.message}`) });
      await this.load();
    } catch (error) {
      const message = error instanceof ControlPlaneError ? error.message : error instanceof Error ? error.message : String(error);
      this.log.error(`rollouts: ${message}`);
      this.show([{ kind: 'connection', label: 'Control plane unreachable', description: message, ok: false }]);
    }
  }

  /** Reads the control plane again and redraws. */
  async load(): Promise<void> {
    const session = this.session;
    const root = this.repoRoot;
    if (!session || !root) return;
    const [rollouts, pins] = await Promise.all([session.store.readRollouts(), session.store.readPins()]);
    this.rollouts = rollouts;
    this.statuses = describeRollouts({ rollouts, pins, versions: this.repoVersions(), now: Date.now() });
    this.show([
      { kind: 'connection', label: 'Control plane', description: session.description, ok: true },
      ...this.statuses.map((status): RolloutRow => ({ kind: 'prompt', status })),
    ]);
  }

  private show(rows: RolloutRow[]): void {
    this.rows = rows;
    this.changed.fire(undefined);
    this.refreshed.fire(this.statuses);
  }

  private repoVersions(): Map<string, number[]> {
    const versions = new Map<string, number[]>();
    if (!this.repoRoot) return versions;
    for (const v of discoverPrompts(listRepoFiles(this.repoRoot, 'prompts')).versions) versions.set(v.name, [...(versions.get(v.name) ?? []), v.version].sort((a, b) => a - b));
    return versions;
  }

  private async requireSession(): Promise<ControlSession> {
    await this.ensureConnected();
    if (!this.session) throw new ControlPlaneError('the control plane is not connected: see the Rollouts view for why', 'unreachable');
    return this.session;
  }

  private async author(args: RolloutActionArgs, prompt: string, ask: boolean): Promise<{ actor: string; reason?: string; expectedRevision?: number } | undefined> {
    const reason = args.reason ?? (ask ? await vscode.window.showInputBox({ title: 'Reason (for the control log)', prompt: 'Optional: why this change is made' }) : undefined);
    if (reason === undefined && ask && args.reason === undefined) return undefined;
    const revision = this.rollouts.find((r) => r.prompt === prompt)?.revision;
    return { actor: await resolveActor(this.repoRoot ?? process.cwd(), process.env), reason: reason || undefined, expectedRevision: revision };
  }

  private async pickPrompt(args: RolloutActionArgs): Promise<string | undefined> {
    if (args.prompt) return args.prompt;
    const names = this.statuses.map((s) => s.prompt);
    return vscode.window.showQuickPick(names, { title: 'Prompt CI: which prompt?' });
  }

  private async pickVersion(args: RolloutActionArgs, prompt: string, title: string): Promise<number | undefined> {
    if (args.version !== undefined) return args.version;
    const versions = this.repoVersions().get(prompt) ?? [];
    const picked = await vscode.window.showQuickPick(versions.map((v) => `v${v}`), { title });
    return picked ? Number(picked.slice(1)) : undefined;
  }

  private knownVersions(prompt: string): number[] {
    return this.repoVersions().get(prompt) ?? [];
  }

  private async startRollout(args: RolloutActionArgs): Promise<{ confirmation?: string } | void> {
    const session = await this.requireSession();
    const prompt = await this.pickPrompt(args);
    if (!prompt) return;
    const version = await this.pickVersion(args, prompt, `Roll out which version of ${prompt}?`);
    if (version === undefined) return;
    const share =
      args.share ??
      (await vscode.window.showInputBox({
        title: `Share of ${prompt} traffic for v${version}`,
        prompt: 'Percent, e.g. 10 or 2.5; the rest stays with the versions that have it, in proportion',
        value: '10',
        validateInput: (text) => {
          try {
            percentToBasisPoints(text.trim());
            return undefined;
          } catch (error) {
            return (error as Error).message;
          }
        },
      }));
    if (share === undefined) return;
    const basisPoints = percentToBasisPoints(share.trim());
    const { records } = await readHistory(this.repoRoot ?? '');
    const decision = rolloutDecision({ prompt, version, basisPoints, rollout: this.rollouts.find((r) => r.prompt === prompt), knownVersions: this.knownVersions(prompt), history: records });
    const confirmation = decision.allowed ? undefined : rolloutConfirmation(prompt, version, formatBasisPoints(basisPoints), decision.holds);
    if (confirmation !== undefined && !args.confirmed) {
      const choice = await vscode.window.showWarningMessage(confirmation, { modal: true }, ROLL_OUT_ANYWAY);
      if (choice !== ROLL_OUT_ANYWAY) return { confirmation };
    }
    const tiersText =
      args.excludedTiers?.join(',') ??
      (args.share === undefined ? await vscode.window.showInputBox({ title: 'Excluded tiers (optional)', prompt: 'Comma-separated tiers that keep the previous version during the soak, e.g. enterprise' }) : '');
    if (tiersText === undefined) return;
    const author = await this.author(args, prompt, args.share === undefined);
    if (!author) return;
    const change = await session.store.rollout(
      { prompt, version, basisPoints, excludedTiers: tiersText.split(',').map((t) => t.trim()).filter(Boolean), knownVersions: this.knownVersions(prompt) },
      author,
    );
    await this.load();
    void vscode.window.showInformationMessage(`${prompt}: ${trafficLine(change.after)}`);
    return { confirmation };
  }

  private async promote(args: RolloutActionArgs): Promise<{ confirmation?: string } | void> {
    const session = await this.requireSession();
    const prompt = await this.pickPrompt(args);
    if (!prompt) return;
    const version = await this.pickVersion(args, prompt, `Promote which version of ${prompt} to 100%?`);
    if (version === undefined) return;
    const { settings } = readRepoSettings(this.repoRoot ?? '');
    const { records } = await readHistory(this.repoRoot ?? '');
    const rollout = this.rollouts.find((r) => r.prompt === prompt);
    const decision = promoteDecision({ prompt, version, rollout, history: records, soakHours: settings.rollout.soakHours, now: Date.now() });
    const confirmation = decision.allowed ? undefined : promoteConfirmation(prompt, version, decision.holds);
    if (confirmation !== undefined && !args.confirmed) {
      const choice = await vscode.window.showWarningMessage(confirmation, { modal: true }, PROMOTE_ANYWAY);
      if (choice !== PROMOTE_ANYWAY) return { confirmation };
    }
    const author = await this.author(args, prompt, !args.confirmed);
    if (!author) return { confirmation };
    const change = await session.store.promote({ prompt, version, knownVersions: this.knownVersions(prompt) }, author);
    await this.load();
    void vscode.window.showInformationMessage(`${prompt}: ${trafficLine(change.after)}`);
    return { confirmation };
  }

  private async rollback(args: RolloutActionArgs): Promise<void> {
    const session = await this.requireSession();
    const prompt = await this.pickPrompt(args);
    if (!prompt) return;
    const target = this.rollouts.find((r) => r.prompt === prompt)?.lastFullVersion ?? null;
    if (target === null) {
      void vscode.window.showWarningMessage(`No version of ${prompt} has had all of its traffic yet, so there is nothing to roll back to.`);
      return;
    }
    if (!args.confirmed) {
      const choice = await vscode.window.showWarningMessage(
        `Roll back ${prompt}? Traffic returns to v${target} for every tenant, pinned ones included, until the next rollout or promote.`,
        { modal: true },
        `Roll Back to v${target}`,
      );
      if (choice !== `Roll Back to v${target}`) return;
    }
    const author = await this.author(args, prompt, !args.confirmed);
    if (!author) return;
    const change = await session.store.rollback({ prompt }, author);
    await this.load();
    void vscode.window.showInformationMessage(`${prompt} rolled back: ${trafficLine(change.after)}. Runtimes that LISTEN have it within a second; polling ones within their interval (5 s by default).`);
  }

  private async pin(args: RolloutActionArgs): Promise<void> {
    const session = await this.requireSession();
    const prompt = await this.pickPrompt(args);
    if (!prompt) return;
    const version = await this.pickVersion(args, prompt, `Pin a tenant to which version of ${prompt}?`);
    if (version === undefined) return;
    const tenantId = args.tenantId ?? (await vscode.window.showInputBox({ title: `Pin a tenant to ${prompt} v${version}`, prompt: 'Tenant id', validateInput: (t) => (t.trim() ? undefined : 'a tenant id') }));
    if (!tenantId) return;
    const expires =
      args.expires ??
      (args.tenantId === undefined
        ? await vscode.window.showInputBox({
            title: 'Expiry (optional)',
            prompt: 'An ISO date or time (2026-12-31, 2026-12-31T18:00Z); empty: until unpinned',
            validateInput: (t) => (t.trim() === '' || !Number.isNaN(Date.parse(t.trim())) ? undefined : 'an ISO date such as 2026-12-31'),
          })
        : '');
    if (expires === undefined) return;
    const author = await this.author(args, prompt, args.tenantId === undefined);
    if (!author) return;
    const expiresAt = expires.trim() ? new Date(expires.trim()) : null;
    if (expiresAt && Number.isNaN(expiresAt.getTime())) throw new ControlInputError(`"${expires}" is not an ISO date such as 2026-12-31`);
    await session.store.pin({ tenantId: tenantId.trim(), prompt, version, expiresAt, knownVersions: this.knownVersions(prompt) }, author);
    await this.load();
    void vscode.window.showInformationMessage(`${tenantId.trim()} is pinned to ${prompt} v${version}${expiresAt ? ` until ${expiresAt.toISOString()}` : ''}.`);
  }

  private async unpin(args: RolloutActionArgs): Promise<void> {
    const session = await this.requireSession();
    const prompt = await this.pickPrompt(args);
    if (!prompt) return;
    const pins = this.statuses.find((s) => s.prompt === prompt)?.versions.flatMap((v) => v.pins) ?? [];
    const tenantId = args.tenantId ?? (await vscode.window.showQuickPick(pins.map((p) => p.tenantId), { title: `Unpin which tenant of ${prompt}?` }));
    if (!tenantId) return;
    const author = await this.author(args, prompt, false);
    if (!author) return;
    await session.store.unpin({ tenantId, prompt }, author);
    await this.load();
    void vscode.window.showInformationMessage(`${tenantId} is no longer pinned: it gets the rollout of ${prompt}.`);
  }

  /**
   * "Which version did a tenant get?": the audit intervals of the tenant's prompt within an hour of
   * the time, those in force at that time first (a rollout splits conversations, so two may be),
   * and the prompt text of the chosen version at its commit (the last one on the baseline ref at or
   * before the time that holds the version). Resolves with the intervals and the documents opened.
   */
  private async whichVersion(args: RolloutActionArgs, raw: unknown): Promise<{ intervals: AuditInterval[]; atTime: AuditInterval[]; opened: string[] } | undefined> {
    const session = await this.requireSession();
    const tenantId = args.tenantId ?? (await vscode.window.showInputBox({ title: 'Which version did a tenant get? Tenant id', validateInput: (t) => (t.trim() ? undefined : 'a tenant id') }));
    if (!tenantId) return undefined;
    const prompt = await this.pickPrompt(args);
    if (!prompt) return undefined;
    const given = raw && typeof raw === 'object' && typeof (raw as { at?: unknown }).at === 'string' ? (raw as { at: string }).at : undefined;
    const atText =
      given ??
      (await vscode.window.showInputBox({
        title: 'At what time?',
        prompt: 'An ISO time (2026-12-01T14:05Z), "now", or "N min ago" / "N h ago"',
        value: 'now',
        validateInput: (t) => (parseWhen(t, Date.now()) === undefined ? 'an ISO time, now, or N min ago' : undefined),
      }));
    if (atText === undefined) return undefined;
    const at = parseWhen(atText, Date.now());
    if (at === undefined) throw new ControlInputError(`"${atText}" is not a time: give an ISO time, now, or N min ago`);
    const hour = 3_600_000;
    const intervals = await session.store.auditIntervals(tenantId.trim(), prompt, new Date(at - hour), new Date(at + hour));
    const covers = (i: AuditInterval): boolean => i.startedAt.getTime() <= at && (i.endedAt === null || i.endedAt.getTime() >= at);
    const atTime = intervals.filter(covers);
    const when = new Date(at).toISOString();
    if (intervals.length === 0) {
      void vscode.window.showInformationMessage(`No audit interval of ${prompt} for tenant ${tenantId.trim()} within an hour of ${when}: it made no request then, or the runtime had not written its audit yet.`);
      return { intervals, atTime, opened: [] };
    }
    const stamp = (d: Date | null): string => (d ? d.toISOString().replace('T', ' ').slice(0, 19) : 'open');
    const items = [...atTime, ...intervals.filter((i) => !covers(i))].map((i) => ({
      label: `v${i.version}`,
      description: `${covers(i) ? 'at that time · ' : ''}${i.reason}${i.basisPoints !== null ? ` ${formatBasisPoints(i.basisPoints)}` : ''}`,
      detail: `${stamp(i.startedAt)} – ${stamp(i.endedAt)} UTC (last request ${stamp(i.lastSeenAt)})`,
      interval: i,
    }));
    const overlap = atTime.length > 1 ? ` (${atTime.length} versions at once: a rollout splits the tenant's conversations)` : '';
    const picked = args.version !== undefined ? items.find((i) => i.interval.version === args.version) : items.length === 1 || args.confirmed ? items[0] : await vscode.window.showQuickPick(items, { title: `${tenantId.trim()} · ${prompt} around ${when}${overlap}`, matchOnDescription: true });
    if (!picked || !this.repoRoot) return { intervals, atTime, opened: [] };
    const { settings } = readRepoSettings(this.repoRoot);
    const request = { promptName: prompt, promptVersion: picked.interval.version, startTime: when };
    let commit;
    try {
      commit = await inferCommit(this.repoRoot, request, { git: runGit, baselineRef: settings.baselineRef });
    } catch (error) {
      if (!(error instanceof ReplayError) || error.code !== 'prompt-not-at-commit') throw error;
      // Not on the baseline ref: served from a branch (a soak before the merge); the checkout's history holds it.
      commit = await inferCommit(this.repoRoot, request, { git: runGit, baselineRef: 'HEAD' });
    }
    const opened = await this.openAtCommit(this.repoRoot, commit.commit, `prompts/${prompt}/v${picked.interval.version}`);
    void vscode.window.showInformationMessage(`${tenantId.trim()} got ${prompt} v${atTime.map((i) => i.version).join(' and v') || picked.interval.version} at ${when}${overlap}; showing v${picked.interval.version} at ${commit.commit.slice(0, 12)}.`);
    return { intervals, atTime, opened: opened.map((u) => u.toString()) };
  }

  private async setDatabaseUrl(): Promise<void> {
    const url = await vscode.window.showInputBox({
      title: 'Prompt CI: control-plane database URL',
      prompt: "postgres://… Kept in VS Code's secret storage on this machine; it comes before PROMPT_CI_DATABASE_URL and prompt-ci.yaml.",
      password: true,
      ignoreFocusOut: true,
      validateInput: (t) => (/^postgres(ql)?:\/\//.test(t.trim()) ? undefined : 'a URL starting with postgres:// or postgresql://'),
    });
    if (!url) return;
    await this.context.secrets.store(DATABASE_URL_SECRET, url.trim());
    await this.reconnect();
  }

  private fail(error: unknown): undefined {
    const known =
      error instanceof ControlInputError || error instanceof ControlConflictError || error instanceof ControlPolicyError || error instanceof ControlPlaneError || error instanceof ShareError;
    const message = error instanceof Error ? error.message : String(error);
    this.log.error(`rollouts: ${known ? message : error instanceof Error ? (error.stack ?? message) : message}`);
    void vscode.window.showErrorMessage(`Prompt CI: ${message}`);
    if (error instanceof ControlConflictError) void this.load();
    return undefined;
  }
}

/** A time typed by a person: an ISO time, `now`, or `N s|min|h|d ago`; epoch ms, or undefined. */
export function parseWhen(text: string, now: number): number | undefined {
  const t = text.trim().toLowerCase();
  if (t === 'now') return now;
  const ago = /^(\d+(?:\.\d+)?)\s*(s|sec|seconds?|m|min|minutes?|h|hours?|d|days?)\s+ago$/.exec(t);
  if (ago) {
    const unit = ago[2].startsWith('s') ? 1000 : ago[2].startsWith('m') ? 60_000 : ago[2].startsWith('h') ? 3_600_000 : 86_400_000;
    return now - Number(ago[1]) * unit;
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(t)) return undefined;
  const parsed = Date.parse(text.trim());
  return Number.isNaN(parsed) ? undefined : parsed;
}

/** "v1 90% · v2 10%". */
function trafficLine(rollout: PromptRollout): string {
  return rollout.shares.filter((s) => s.basisPoints > 0).map((s) => `v${s.version} ${formatBasisPoints(s.basisPoints)}`).join(' · ') || 'no traffic';
}

/** Reads the arguments of an action: a row of the view, or a plain object from a script or test. */
function argsOf(value: unknown): RolloutActionArgs {
  if (!value || typeof value !== 'object') return {};
  const row = value as Partial<RolloutRow> & RolloutActionArgs;
  if (row.kind === 'prompt' || row.kind === 'rollback') return { prompt: row.status?.prompt };
  if (row.kind === 'version') return { prompt: row.status?.prompt, version: row.version?.version };
  if (row.kind === 'pin') return { prompt: row.status?.prompt, version: row.pin?.version, tenantId: row.pin?.tenantId };
  return {
    prompt: typeof row.prompt === 'string' ? row.prompt : undefined,
    version: typeof row.version === 'number' ? row.version : undefined,
    share: typeof row.share === 'string' ? row.share : undefined,
    excludedTiers: Array.isArray(row.excludedTiers) ? row.excludedTiers.filter((t): t is string => typeof t === 'string') : undefined,
    tenantId: typeof row.tenantId === 'string' ? row.tenantId : undefined,
    expires: typeof row.expires === 'string' ? row.expires : undefined,
    reason: typeof row.reason === 'string' ? row.reason : undefined,
    confirmed: row.confirmed === true,
  };
}

/** A policy sentence at the start of a message. */
const ROLL_OUT_ANYWAY = 'Roll Out Anyway';
const PROMOTE_ANYWAY = 'Promote Anyway';

/** The modal's text before a rollout the policy holds (the gate has not passed the version): every hold, then the question. */
export function rolloutConfirmation(prompt: string, version: number, share: string, holds: readonly PromoteHold[]): string {
  return `${holds.map((h) => capitalised(h.message)).join('. ')}. Roll out ${prompt} v${version} to ${share} of ${prompt} anyway?`;
}

/** The modal's text before a promote the policy holds: every hold (traffic, soak, gate), then the question. */
export function promoteConfirmation(prompt: string, version: number, holds: readonly PromoteHold[]): string {
  return `${holds.map((h) => capitalised(h.message)).join('. ')}. Promote ${prompt} v${version} to 100% of ${prompt} anyway?`;
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
