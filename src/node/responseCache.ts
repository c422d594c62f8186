import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelCallOptions, ModelGateway, ModelReply, ModelRequest } from '../core/eval/types';
import type { ClientReply } from './modelClient';
import { makeIgnoredDirectory } from './outputFiles';

/** Where the cache lives under a repository root. Git-ignored. */
export const CACHE_DIR = join('.prompt-ci', 'cache');

/**
 * A temporary file older than this is left over from a writer that was killed between writing and
 * renaming it (a writer renames within milliseconds), and is removed by the next run's sweep.
 */
export const STALE_TEMP_MS = 60 * 60 * 1000;

/** Bumped when the entry format changes; older entries are then misses, never misread. */
const ENTRY_FORMAT = 1;

/** One cached response: what the model said, its usage and the latency recorded when it was made. */
export interface CacheEntry {
  format: number;
  key: string;
  text: string;
  usage: { inputTokens: number; outputTokens: number };
  latencyMs: number;
  stopReason: string | null;
  createdAt: string;
  /** The model of the request, to make entries readable by hand. */
  model: string;
}

/**
 * JSON with object keys sorted at every level, so equal requests hash equally whatever order
 * their keys were built in. `undefined` members are left out, as JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const json = JSON.stringify(value);
    return json === undefined ? 'null' : json;
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  const keys = Object.keys(value as object)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** The public API; the endpoint part of keys made without one. */
export const DEFAULT_ENDPOINT = 'https://api.anthropic.com';

/**
 * The cache key of a request: sha256 of the canonical JSON of the whole request, the repeat index
 * and the endpoint it is sent to, so answers of a stand-in or a proxy are never served as the
 * public API's (or the reverse).
 */
export function cacheKey(request: ModelRequest, repeat: number, endpoint: string = DEFAULT_ENDPOINT): string {
  return createHash('sha256').update(canonicalJson({ endpoint, request, repeat })).digest('hex');
}

/** An endpoint as keys use it: trimmed, without trailing slashes; the public API when none is set. */
export function normaliseEndpoint(baseURL: string | undefined | null): string {
  const trimmed = (baseURL ?? '').trim().replace(/\/+$/, '');
  return trimmed === '' ? DEFAULT_ENDPOINT : trimmed;
}

/**
 * The on-disk response cache: one JSON file per key under `<root>/ab/<key>.json`. Writes go to a
 * unique temporary file that is renamed into place, so a reader sees a whole entry or none, and two
 * runs writing the same key at once both succeed (they write the same content). An entry that can't
 * be read or parsed is a miss.
 */
export class ResponseCache {
  /** Shard directories known to exist, so a long run doesn't ask the file system 38,000 times. */
  private readonly madeDirs = new Set<string>();
  /** The root made (with its `.gitignore`) and swept once per instance, at its first write. */
  private prepared?: Promise<void>;

  constructor(readonly root: string) {}

  /**
   * Removes temporary files left by writers killed mid-write (`kill -9`): those older than
   * `STALE_TEMP_MS`. A live writer's temporary file is younger, and is never touched. Returns how
   * many were removed; files that vanish or can't be removed meanwhile are skipped.
   */
  async sweepStaleTemps(now: number = Date.now()): Promise<number> {
    let removed = 0;
    let shards: string[];
    try {
      shards = await readdir(this.root);
    } catch {
      return 0;
    }
    for (const shard of shards) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      let names: string[];
      try {
        names = await readdir(join(this.root, shard));
      } catch {
        continue;
      }
      for (const name of names) {
        if (!name.endsWith('.tmp')) continue;
        const path = join(this.root, shard, name);
        try {
          if (now - (await stat(path)).mtimeMs < STALE_TEMP_MS) continue;
          await unlink(path);
          removed += 1;
        } catch {
          // Renamed or removed by its writer or another sweep meanwhile.
        }
      }
    }
    return removed;
  }

  private pathOf(key: string): string {
    return join(this.root, key.slice(0, 2), `${key}.json`);
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    let text: string;
    try {
      text = await readFile(this.pathOf(key), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const entry = JSON.parse(text) as CacheEntry;
      if (entry.format !== ENTRY_FORMAT || entry.key !== key || typeof entry.text !== 'string') return undefined;
      return entry;
    } catch {
      return undefined;
    }
  }

  async put(entry: CacheEntry): Promise<void> {
    const path = this.pathOf(entry.key);
    const shard = join(this.root, entry.key.slice(0, 2));
    if (!this.madeDirs.has(shard)) {
      this.prepared ??= makeIgnoredDirectory(this.root).then(async () => {
        await this.sweepStaleTemps();
      });
      try {
        await this.prepared;
      } catch (error) {
        this.prepared = undefined;
        throw error;
      }
      await mkdir(shard).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
      this.madeDirs.add(shard);
    }
    const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temp, JSON.stringify(entry), { encoding: 'utf8', flag: 'wx' });
      await rename(temp, path);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      // Someone may have removed the cache directory during the run: forget it was made.
      this.madeDirs.delete(shard);
      throw error;
    }
  }
}

/** How calls use the cache: `normal` reads and writes; `offline` only reads (a miss is an error); `no-cache` never reads but still records. */
export type CacheMode = 'normal' | 'offline' | 'no-cache';

/** Raised for a miss in offline mode: an error for that example, not for the run. */
export class CacheMissError extends Error {
  constructor(readonly key: string) {
    super(`offline: no cached response for this call (cache key ${key.slice(0, 12)}…); run without --offline to make it`);
    this.name = 'CacheMissError';
  }
}

/** The part of the model client the cached gateway uses. */
export interface CompletingClient {
  complete(request: ModelRequest, options: { signal?: AbortSignal }): Promise<ClientReply>;
}

/**
 * The gateway core's runner calls: the cache in front of the client. `client` is a function so the
 * client (and the API-key check) is only made when a call actually has to reach the API. Identical
 * requests in flight at once make one call (the others count as cache hits).
 * A write that fails (disk full, read-only checkout) loses the cache entry, not the result.
 */
export function cachedGateway(options: {
  cache: ResponseCache;
  mode: CacheMode;
  /** The base URL calls go to (see `normaliseEndpoint`); part of every key. */
  endpoint?: string;
  client: () => CompletingClient;
  onCacheWriteError?: (error: unknown) => void;
}): ModelGateway {
  const { cache, mode } = options;
  const endpoint = normaliseEndpoint(options.endpoint);
  const inFlight = new Map<string, Promise<ModelReply>>();
  const fromEntry = (entry: CacheEntry): ModelReply => ({
    text: entry.text,
    inputTokens: entry.usage.inputTokens,
    outputTokens: entry.usage.outputTokens,
    latencyMs: entry.latencyMs,
    fromCache: true,
  });
  return {
    async complete(request: ModelRequest, callOptions: ModelCallOptions): Promise<ModelReply> {
      const key = cacheKey(request, callOptions.repeat, endpoint);
      if (mode !== 'no-cache') {
        const hit = await cache.get(key);
        // A cached reply the caller can't use (an unreadable judge answer) is asked again, unless offline.
        if (hit && (mode === 'offline' || !callOptions.accept || callOptions.accept(hit.text))) return fromEntry(hit);
        if (mode === 'offline') throw new CacheMissError(key);
      }
      // The same request already on its way (both sides identical, say): share its answer, don't pay twice.
      const pending = inFlight.get(key);
      if (pending) return { ...(await pending), fromCache: true };
      const call = (async (): Promise<ModelReply> => {
        const reply = await options.client().complete(request, { signal: callOptions.signal });
        if (callOptions.accept && !callOptions.accept(reply.text)) {
          return { text: reply.text, inputTokens: reply.inputTokens, outputTokens: reply.outputTokens, latencyMs: reply.latencyMs, fromCache: false };
        }
        try {
          await cache.put({
            format: ENTRY_FORMAT,
            key,
            text: reply.text,
            usage: { inputTokens: reply.inputTokens, outputTokens: reply.outputTokens },
            latencyMs: reply.latencyMs,
            stopReason: reply.stopReason,
            createdAt: new Date().toISOString(),
            model: request.model,
          });
        } catch (error) {
          options.onCacheWriteError?.(error);
        }
        return { text: reply.text, inputTokens: reply.inputTokens, outputTokens: reply.outputTokens, latencyMs: reply.latencyMs, fromCache: false };
      })();
      inFlight.set(key, call);
      try {
        return await call;
      } finally {
        inFlight.delete(key);
      }
    },
    async peek(request: ModelRequest, repeat: number): Promise<ModelReply | undefined> {
      if (mode === 'no-cache') return undefined;
      const hit = await cache.get(cacheKey(request, repeat, endpoint));
      return hit ? fromEntry(hit) : undefined;
    },
  };
}
