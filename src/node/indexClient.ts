import { existsSync } from 'node:fs';
import { deserialize } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { CheckedVersion } from '../core/check';
import { contractOf } from '../core/check';
import type { LocatedCallSite, VersionContract } from '../core/crossCheck';
import type { FileFinding } from '../core/finding';
import type { BuildStats, IndexDelta, IndexRequest, IndexResponse, IndexServiceOptions, IndexState, PostedIndexResponse } from './indexService';
import { IndexService, receivedResponse } from './indexService';
import type { RepoIndexView } from './repoIndex';

/**
 * The editor's copy of an index built elsewhere (the index worker): the data the editor reads,
 * kept current by the deltas of updates.
 */
export class IndexMirror implements RepoIndexView {
  readonly root: string;
  /** By directory: the version once read, else its serialised bytes. */
  private readonly versions = new Map<string, { name: string; bytes?: Uint8Array; checked?: CheckedVersion }>();
  private readonly sitesByFile: Map<string, LocatedCallSite[]>;
  private readonly groups: Map<string, FileFinding[]>;

  constructor(state: IndexState) {
    this.root = state.root;
    for (const v of state.versions) this.versions.set(v.dir, { name: v.name, bytes: new Uint8Array(state.versionBytes, v.start, v.end - v.start) });
    this.sitesByFile = new Map(state.callSites);
    this.groups = new Map(state.groups);
  }

  /** How many prompt versions the repository has. */
  get versionCount(): number {
    return this.versions.size;
  }

  version(dir: string): CheckedVersion | undefined {
    const entry = this.versions.get(dir);
    if (!entry) return undefined;
    if (!entry.checked && entry.bytes) {
      entry.checked = deserialize(entry.bytes) as CheckedVersion;
      entry.bytes = undefined;
    }
    return entry.checked;
  }

  versionsOf(promptName: string): CheckedVersion[] {
    const out: CheckedVersion[] = [];
    for (const [dir, entry] of this.versions) if (entry.name === promptName) out.push(this.version(dir) as CheckedVersion);
    return out;
  }

  get findingGroups(): ReadonlyMap<string, readonly FileFinding[]> {
    return this.groups;
  }

  allFindings(): FileFinding[] {
    return [...this.groups.values()].flat();
  }

  promptVersions(): CheckedVersion[] {
    return [...this.versions.keys()].map((dir) => this.version(dir) as CheckedVersion);
  }

  contractsOf(promptName: string): VersionContract[] {
    return this.versionsOf(promptName)
      .map(contractOf)
      .filter((c): c is VersionContract => c !== undefined);
  }

  callSites(promptName?: string): LocatedCallSite[] {
    const all = [...this.sitesByFile.values()].flat();
    return promptName === undefined ? all : all.filter((s) => s.promptName === promptName);
  }

  callSitesIn(path: string): LocatedCallSite[] {
    return this.sitesByFile.get(path) ?? [];
  }

  /** Takes in what an update changed; returns the groups to publish again. */
  apply(delta: IndexDelta): string[] {
    for (const [group, findings] of delta.groups) {
      if (findings) this.groups.set(group, findings);
      else this.groups.delete(group);
    }
    if (delta.version) {
      const { dir, checked } = delta.version;
      if (checked) this.versions.set(dir, { name: checked.version.name, checked });
      else this.versions.delete(delta.version.dir);
    }
    if (delta.callSites) {
      const [file, sites] = delta.callSites;
      if (sites.length) this.sitesByFile.set(file, sites);
      else this.sitesByFile.delete(file);
    }
    return delta.groups.map(([g]) => g);
  }
}

/** Where an index was built. */
export type IndexBuiltBy = 'worker' | 'in-process';

export interface IndexClientOptions extends Omit<IndexServiceOptions, 'log'> {
  /** The bundled worker (dist/indexWorker.js); absent or failing three times, the index is built in-process. */
  workerFile?: string;
  log: { info(message: string): void; warn(message: string): void; error(message: string): void };
}

/** Worker crashes after which the index is built in-process for the rest of the session. */
const MAX_WORKER_FAILURES = 3;

interface Pending {
  resolve: (response: IndexResponse) => void;
  reject: (error: Error) => void;
}

/**
 * Sends index requests to the index worker, so that reading, parsing and checking never run on the
 * caller's thread. When the worker stops (a crash, an out-of-memory), the requests in flight fail
 * with a message naming it, the next request starts a new worker, and `onRestart` lets the caller
 * index again; after three failures the index is built in-process, with a warning.
 */
export class IndexClient {
  private worker: Worker | undefined;
  private local: IndexService | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failures = 0;
  private disposed = false;
  /** Called after the worker stopped unexpectedly and a new one will serve the next request. */
  onRestart: (() => void) | undefined;

  constructor(private readonly options: IndexClientOptions) {
    if (!options.workerFile || !existsSync(options.workerFile)) {
      options.log.warn(`the index worker${options.workerFile ? ` (${options.workerFile})` : ''} is missing: indexing runs on the extension host's thread`);
      this.failures = MAX_WORKER_FAILURES;
    } else {
      // Started now, so that its start-up and the grammars' loading overlap the caller's own.
      this.startWorker();
    }
  }

  /** Where the next index is built. */
  get builtBy(): IndexBuiltBy {
    return this.failures >= MAX_WORKER_FAILURES ? 'in-process' : 'worker';
  }

  /** Indexes a repository in full. */
  async index(root: string, open: [string, string][]): Promise<{ mirror: IndexMirror; stats: BuildStats; builtBy: IndexBuiltBy }> {
    const builtBy = this.builtBy;
    const response = await this.request({ kind: 'index', id: this.nextId++, root, open });
    if (response.kind !== 'indexed') throw new Error(`unexpected answer ${response.kind} to an index request`);
    return { mirror: new IndexMirror(response.state), stats: response.stats, builtBy };
  }

  /** One file's text changed (`null`: the disk's counts). */
  async update(root: string, path: string, text: string | null): Promise<IndexDelta> {
    const response = await this.request({ kind: 'update', id: this.nextId++, root, path, text });
    if (response.kind !== 'updated') throw new Error(`unexpected answer ${response.kind} to an update`);
    return response.delta;
  }

  async forget(root: string): Promise<void> {
    await this.request({ kind: 'forget', id: this.nextId++, root });
  }

  /** Stops the worker (its caches are written first); a later request starts a new one. */
  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 5_000);
        worker.once('message', () => {
          clearTimeout(timer);
          resolve();
        });
        worker.postMessage({ kind: 'dispose' });
      });
      worker.removeAllListeners('exit');
      await worker.terminate();
    }
    await this.local?.dispose();
    this.local = undefined;
  }

  /** Stops the worker and starts a new one at once, with nothing in memory (as a reopened workspace starts). */
  async restart(): Promise<void> {
    await this.stop();
    if (this.builtBy === 'worker' && !this.disposed) this.startWorker();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await this.stop();
    this.failAll(new Error('the index was closed'));
  }

  private async request(request: IndexRequest): Promise<IndexResponse> {
    if (this.disposed) throw new Error('the index was closed');
    let response: IndexResponse;
    if (this.builtBy === 'in-process') {
      this.local ??= new IndexService({ ...this.serviceOptions(), log: (m) => this.options.log.warn(m) });
      response = await this.local.handle(request);
    } else {
      const worker = this.startWorker();
      response = await new Promise<IndexResponse>((resolve, reject) => {
        this.pending.set(request.id, { resolve, reject });
        worker.postMessage(request);
      });
    }
    if (response.kind === 'failed') throw new Error(response.message);
    return response;
  }

  private serviceOptions(): Omit<IndexServiceOptions, 'log'> {
    return { wasmDir: this.options.wasmDir, cacheDir: this.options.cacheDir, cacheTag: this.options.cacheTag };
  }

  private startWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.options.workerFile as string, { workerData: this.serviceOptions(), execArgv: [] });
    worker.on('message', (message: PostedIndexResponse | { kind: 'log'; message: string } | { kind: 'disposed' }) => {
      if (message.kind === 'log') this.options.log.warn(message.message);
      else if (message.kind !== 'disposed') {
        const pending = this.pending.get(message.id);
        this.pending.delete(message.id);
        pending?.resolve(receivedResponse(message));
      }
    });
    const stopped = (why: string): void => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.failures += 1;
      const next = this.builtBy === 'worker' ? 'a new worker takes over' : `after ${this.failures} failures, indexing runs on the extension host's thread`;
      this.options.log.error(`the index worker stopped: ${why}; ${next}`);
      this.failAll(new Error(`the index worker stopped (${why}); the index is being rebuilt`));
      if (!this.disposed) this.onRestart?.();
    };
    worker.on('error', (error) => stopped(error.message || String(error)));
    worker.on('exit', (code) => stopped(`it exited with code ${code}`));
    this.worker = worker;
    return worker;
  }

  private failAll(error: Error): void {
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}
