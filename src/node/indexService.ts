import { performance } from 'node:perf_hooks';
import type { CheckedVersion } from '../core/check';
import type { LocatedCallSite } from '../core/crossCheck';
import type { FileFinding } from '../core/finding';
import type { SourceLanguage } from '../core/callSites';
import { sourceLanguageForPath } from '../core/callSites';
import type { RepoSnapshot } from '../core/check';
import { discoverPrompts, versionDirOf } from '../core/promptLayout';
import { readRepoSettings } from './checkRepo';
import type { CacheStats, RecordedBuild } from './indexCache';
import { IndexCache } from './indexCache';
import type { CpuReading } from './indexShards';
import { AUTO_SHARDED_WORK, MIN_SHARDED_WORK, cpuReading, runShardTask, runSharded, shardPieces, shardThreads } from './indexShards';
import { RepoIndex, sourceMatcher } from './repoIndex';
import { diskSnapshot, listRepoFiles } from './repoFiles';
import { createSourceParser } from './treeSitter';
import type { SourceParser } from './treeSitter';

/**
 * The requests the editor sends the index (in the index worker, or in-process when the worker
 * can't run) and its answers. Requests are answered one at a time, in the order sent.
 */
export type IndexRequest =
  /** Lists, reads and checks a repository in full; `open` is the text of its open editors. */
  | { kind: 'index'; id: number; root: string; open: [string, string][] }
  /** One file's text changed: an editor's text, or `null` when the disk's counts again (closed, saved). */
  | { kind: 'update'; id: number; root: string; path: string; text: string | null }
  /** The repository left the workspace. */
  | { kind: 'forget'; id: number; root: string };

/**
 * A whole index, as plain data (what crosses to the editor's thread). The checked versions (their
 * eval examples are most of an index) cross as one buffer of serialised versions, moved rather than
 * copied, which the editor deserialises one version at a time when it asks for one.
 */
export interface IndexState {
  root: string;
  versions: { dir: string; name: string; start: number; end: number }[];
  versionBytes: ArrayBuffer;
  callSites: [string, LocatedCallSite[]][];
  groups: [string, FileFinding[]][];
}

/** What an update changed: the groups recomputed (`null`: gone), the edited version or file's call sites. */
export interface IndexDelta {
  groups: [string, FileFinding[] | null][];
  version?: { dir: string; checked: CheckedVersion | null };
  callSites?: [string, LocatedCallSite[]];
}

/** How a build went, for the log and the tests. */
export interface BuildStats {
  /** Building the index, in the thread that built it. */
  ms: number;
  /** The threads its parsing and checking was split across (1: the index's own only). */
  threads: number;
  /** The pieces of that work the other threads did. */
  shardedPieces: number;
  cache: CacheStats;
}

export type IndexResponse =
  | { kind: 'indexed'; id: number; state: IndexState; stats: BuildStats }
  | { kind: 'updated'; id: number; delta: IndexDelta }
  | { kind: 'forgotten'; id: number }
  | { kind: 'failed'; id: number; message: string };

/**
 * An answer as the index worker posts it: an index's call sites go as JSON text, which the
 * receiving thread reads back in about half the time the structured clone of their many small
 * objects takes (they are plain data: strings, integers, booleans, arrays and objects, an absent
 * field left out rather than set to undefined, so the text gives back the same values).
 */
export type PostedIndexResponse = Exclude<IndexResponse, { kind: 'indexed' }> | { kind: 'indexed'; id: number; state: Omit<IndexState, 'callSites'>; callSitesJson: string; stats: BuildStats };

export function postedResponse(response: IndexResponse): PostedIndexResponse {
  if (response.kind !== 'indexed') return response;
  const { callSites, ...state } = response.state;
  return { ...response, state, callSitesJson: JSON.stringify(callSites) };
}

export function receivedResponse(posted: PostedIndexResponse): IndexResponse {
  if (posted.kind !== 'indexed') return posted;
  const { callSitesJson, ...rest } = posted;
  return { ...rest, state: { ...posted.state, callSites: JSON.parse(callSitesJson) as IndexState['callSites'] } };
}

export interface IndexServiceOptions {
  /** Where the grammars' .wasm files are. */
  wasmDir?: string;
  /** The workspace's storage folder for the index cache; undefined keeps it in memory. */
  cacheDir?: string;
  /** The extension's and parser's versions: a cache written by another is not used. */
  cacheTag: string;
  /** The index worker's bundle, started again as index shards to split a cold build across threads; absent, one thread does it all. */
  shardFile?: string;
  /** How many threads a cold build is split across (the index's own included); default `shardThreads()`, asked at each build of `AUTO_SHARDED_WORK` or more. */
  threads?: number;
  log?: (message: string) => void;
}

interface Repo {
  /** Undefined only until the index is built from the cache, right after a reused build was published. */
  index?: RepoIndex;
  overlay: Map<string, string>;
  cache: IndexCache;
  saveTimer?: NodeJS.Timeout;
}

/** Delay after the last edit before the cache is written again. */
const SAVE_AFTER_EDITS_MS = 2_000;

/** Indexes repositories on request; the same code runs in the index worker and, as a fallback, in-process. */
export class IndexService {
  private parser: Promise<SourceParser> | undefined;
  private readonly repos = new Map<string, Repo>();
  private queue: Promise<unknown> = Promise.resolve();
  /** Work that follows an answer, before the next request (building the index behind a published cached build). */
  private afterAnswer: (() => Promise<void>) | undefined;

  constructor(private readonly options: IndexServiceOptions) {}

  /** Answers `request` after every request sent before it. */
  handle(request: IndexRequest): Promise<IndexResponse> {
    const answer = this.queue.then(() => this.answer(request));
    this.queue = answer
      .catch(() => undefined)
      .then(() => {
        const next = this.afterAnswer;
        this.afterAnswer = undefined;
        return next?.();
      });
    return answer;
  }

  /** Writes every repository's cache and frees the parser. */
  async dispose(): Promise<void> {
    await this.queue;
    for (const repo of this.repos.values()) {
      clearTimeout(repo.saveTimer);
      repo.cache.save();
    }
    this.repos.clear();
    (await this.parser?.catch(() => undefined))?.dispose();
  }

  private async answer(request: IndexRequest): Promise<IndexResponse> {
    try {
      switch (request.kind) {
        case 'index':
          return await this.index(request);
        case 'update':
          return { kind: 'updated', id: request.id, delta: this.update(request) };
        case 'forget': {
          const repo = this.repos.get(request.root);
          if (repo) clearTimeout(repo.saveTimer);
          repo?.cache.save();
          this.repos.delete(request.root);
          return { kind: 'forgotten', id: request.id };
        }
      }
    } catch (error) {
      return { kind: 'failed', id: request.id, message: (error as Error).message || String(error) };
    }
  }

  private async index(request: Extract<IndexRequest, { kind: 'index' }>): Promise<IndexResponse> {
    const started = performance.now();
    // What the processors do while this request is read decides, for a cold build, how many threads it is split across.
    const cpuAtStart = this.options.threads === undefined ? cpuReading() : undefined;
    const { root } = request;
    const previous = this.repos.get(root);
    const overlay = new Map(request.open);
    const cache =
      previous?.cache ??
      new IndexCache({ dir: this.options.cacheDir, root, tag: this.options.cacheTag, overlay: (p) => this.repos.get(root)?.overlay.get(p), log: this.options.log });
    cache.resetStats();
    const { settings, problems, warnings } = readRepoSettings(root);
    const settingsProblems = [...problems, ...warnings];
    const disk = diskSnapshot(root, listRepoFiles(root), (p) => overlay.get(p), (p) => cache.justRead(p));
    // The layout is discovered twice while a request is answered (to plan the shards' work, then to build): each directory is looked at once.
    const snapshot: RepoSnapshot = { ...disk, linked: (p) => cache.heldLink(p) ?? disk.linked?.(p) ?? false };
    if (previous) clearTimeout(previous.saveTimer);
    const repo: Repo = { overlay, cache };
    this.repos.set(root, repo);
    const isSource = sourceMatcher(settings);
    // A cold build's reading, parsing and checking is split across threads first; what follows then finds it all in the cache.
    const sources: [string, SourceLanguage][] = [];
    for (const path of snapshot.paths) {
      const language = isSource(path) ? sourceLanguageForPath(path) : undefined;
      if (language) sources.push([path, language]);
    }
    // Each file is looked at once while this request is answered (the build behind a reused one looks again).
    return cache.holdStats(async () => {
      const fingerprintNow = (): string =>
        cache.fingerprint(
          JSON.stringify([settings, settingsProblems]),
          snapshot.today,
          snapshot.paths,
          (p) => (isSource(p) ? 't' : p.startsWith('prompts/') ? 'b' : undefined),
          (p) => snapshot.read(p),
        );
      // With a last build in the cache (a reopened workspace), whether it still holds is asked first.
      let fingerprint = cache.hasRecordedBuild ? fingerprintNow() : undefined;
      const reused = fingerprint === undefined ? undefined : cache.reusedBuild(fingerprint, (p) => snapshot.exists(p), sources.length);
      const split = reused ? { threads: 1, shardedPieces: 0 } : await this.shard(root, snapshot, settings.callSites.functions, sources, overlay, cache, cpuAtStart);
      const build = async (): Promise<RepoIndex> => {
        const index = new RepoIndex(root, snapshot, settings, await this.sourceParser(), settingsProblems, cache);
        index.build();
        if (this.repos.get(root) === repo) repo.index = index;
        return index;
      };

      if (reused) {
        // Published as it was; the index itself (for the edits to come) is built right after, from the cache.
        const state = stateOfParts(root, reused);
        const stats: BuildStats = { ms: performance.now() - started, ...split, cache: { ...cache.stats } };
        this.afterAnswer = async () => {
          await new Promise((resolve) => setImmediate(resolve));
          if (this.repos.get(root) !== repo) return;
          try {
            await build();
          } catch (error) {
            this.options.log?.(`the index of ${root} could not be rebuilt from its cache: ${(error as Error).message}`);
          }
          this.scheduleSave(repo, 0);
        };
        return { kind: 'indexed', id: request.id, state, stats };
      }
      const index = await build();
      // Taken after the build, which has hashed every file it read: so no file is read twice for it.
      fingerprint ??= fingerprintNow();
      const parts = partsOf(index, (v) => cache.serialised(v));
      cache.recordBuild(fingerprint, parts);
      const stats: BuildStats = { ms: performance.now() - started, ...split, cache: { ...cache.stats } };
      this.scheduleSave(repo, 0);
      return { kind: 'indexed', id: request.id, state: stateOfParts(root, parts), stats };
    });
  }

  /** Parses and checks, across threads, what the cache doesn't hold, when that is much (a cold build); the results go into the cache. */
  private async shard(
    root: string,
    snapshot: RepoSnapshot,
    functions: string[],
    sources: [string, SourceLanguage][],
    open: ReadonlyMap<string, string>,
    cache: IndexCache,
    cpuAtStart: CpuReading | undefined,
  ): Promise<{ threads: number; shardedPieces: number }> {
    const { shardFile } = this.options;
    const alone = { threads: 1, shardedPieces: 0 };
    // Each file is one source or part of one version: a listing shorter than the work worth splitting holds less than that.
    const minimum = this.options.threads === undefined ? AUTO_SHARDED_WORK : MIN_SHARDED_WORK;
    if (!shardFile || snapshot.paths.length < minimum) return alone;
    const threads = this.options.threads ?? shardThreads(cpuAtStart);
    if (threads < 2) return alone;
    const layout = discoverPrompts(snapshot.paths, { linked: (p) => snapshot.linked?.(p) ?? false });
    const pending = cache.pending(sources, functions, layout.versions, snapshot.today, (p) => snapshot.exists(p));
    if (pending.sources.length + pending.versions.length < minimum) return alone;
    const pieces = shardPieces({ root, today: snapshot.today, functions }, open, pending.sources as [string, SourceLanguage][], pending.versions);
    const results = await runSharded(pieces, {
      workerFile: shardFile,
      wasmDir: this.options.wasmDir,
      threads,
      local: async (task) => void runShardTask(task, task.sources.length > 0 ? await this.sourceParser() : undefined, cache),
      log: this.options.log,
    });
    for (const entries of results) cache.absorb(entries);
    return { threads, shardedPieces: results.length };
  }

  private update(request: Extract<IndexRequest, { kind: 'update' }>): IndexDelta {
    const repo = this.repos.get(request.root);
    if (!repo) return { groups: [] };
    if (request.text === null) repo.overlay.delete(request.path);
    else repo.overlay.set(request.path, request.text);
    const { index } = repo;
    if (!index) return { groups: [] };
    const groups = index.update(request.path);
    const delta: IndexDelta = { groups: groups.map((g) => [g, (index.findingGroups.get(g) as FileFinding[] | undefined) ?? null]) };
    const dir = versionDirOf(request.path);
    if (dir) delta.version = { dir, checked: index.version(dir) ?? null };
    else delta.callSites = [request.path, index.callSitesIn(request.path)];
    if (groups.length > 0) this.scheduleSave(repo, SAVE_AFTER_EDITS_MS);
    return delta;
  }

  private scheduleSave(repo: Repo, delayMs: number): void {
    clearTimeout(repo.saveTimer);
    repo.saveTimer = setTimeout(() => {
      if ([...this.repos.values()].includes(repo)) repo.cache.save();
    }, delayMs);
    repo.saveTimer.unref?.();
  }

  /** Loads the grammars now, before the first request needs them (the worker does this as it starts). */
  preload(): void {
    this.sourceParser().catch(() => undefined);
  }

  private sourceParser(): Promise<SourceParser> {
    if (!this.parser) {
      this.parser = createSourceParser({ wasmDir: this.options.wasmDir });
      this.parser.catch(() => (this.parser = undefined));
    }
    return this.parser;
  }
}

/** The parts of an index's state, each version serialised (by `serialise`, which may know it already). */
function partsOf(index: RepoIndex, serialise: (checked: CheckedVersion) => Uint8Array): RecordedBuild {
  const callSites = new Map<string, LocatedCallSite[]>();
  for (const site of index.callSites()) {
    let list = callSites.get(site.file);
    if (!list) callSites.set(site.file, (list = []));
    list.push(site);
  }
  return {
    versions: index.promptVersions().map((v) => ({ dir: v.version.dir, name: v.version.name, bytes: serialise(v) })),
    callSites: [...callSites],
    groups: [...index.findingGroups].map(([k, v]) => [k, [...v]]),
  };
}

/** The state to send, its versions' bytes in one new buffer (moved to the receiver, so never one the cache holds). */
function stateOfParts(root: string, parts: RecordedBuild): IndexState {
  const versionBytes = new Uint8Array(parts.versions.reduce((n, p) => n + p.bytes.length, 0));
  const versions: IndexState['versions'] = [];
  let at = 0;
  for (const { dir, name, bytes } of parts.versions) {
    versionBytes.set(bytes, at);
    versions.push({ dir, name, start: at, end: at + bytes.length });
    at += bytes.length;
  }
  return { root, versions, versionBytes: versionBytes.buffer, callSites: parts.callSites, groups: parts.groups };
}
