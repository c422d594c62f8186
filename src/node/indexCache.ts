import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { CheckedVersion, RepoSnapshot } from '../core/check';
import type { LocatedCallSite } from '../core/crossCheck';
import type { PromptVersion } from '../core/promptLayout';
import type { IndexMemo } from './repoIndex';

/**
 * The parsed results of a repository's files by the hash of their content, kept between sessions
 * so that a reopened workspace re-reads, re-parses and re-checks only what changed.
 *
 * - A source file's call sites are kept under the hash of its text (with its language and the
 *   render functions looked for); a prompt version's check under the hashes of its files' bytes
 *   (with its layout, today's date and the answers to the existence questions the check asked).
 * - A file whose size, modification and change times and inode are those recorded with its hash is
 *   taken at that hash without being read again (as git's index does); any difference, it is read
 *   and hashed.
 * - The whole cache is tagged with the extension and parser versions: an upgrade starts afresh.
 * - It is one file per repository, replaced atomically (written beside, then renamed); a file that
 *   can't be read back is ignored (and said so), and one above `MAX_CACHE_BYTES` isn't written.
 */

/** A cache file above this size is not written (a repository that large is indexed cold each time). */
export const MAX_CACHE_BYTES = 64 * 1024 * 1024;

const FORMAT = 1;

interface FileRecord {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  /** 't' hashes the decoded text (sources), 'b' the bytes (prompt files). */
  kind: 't' | 'b';
  hash: string;
}

interface VersionEntry {
  checked: CheckedVersion;
  /** The existence questions the check asked, with their answers then. */
  exists: [string, boolean][];
}

interface CacheFile {
  format: number;
  tag: string;
  files: Map<string, FileRecord>;
  sites: Map<string, Omit<LocatedCallSite, 'file'>[]>;
  versions: Map<string, VersionEntry>;
}

/** What a session of the cache did, for the log and the tests. */
export interface CacheStats {
  /** Source files and prompt versions whose parsed result came from the cache. */
  hits: number;
  /** Those parsed or checked anew. */
  misses: number;
  /** Files taken at their recorded hash without being read. */
  unread: number;
  /** Why the cache file was not used when it wasn't (absent, another version, unreadable). */
  loaded: 'loaded' | 'absent' | 'stale' | 'corrupt' | 'none';
}

export interface IndexCacheOptions {
  /** The folder of the cache files (the workspace's storage); undefined keeps the cache in memory only. */
  dir?: string;
  /** The repository's root: its files are read for hashes, and it names the cache file. */
  root: string;
  /** Changes whenever a parse or check could give another result: the extension's and parser's versions. */
  tag: string;
  /** The text an open editor holds for a path, which counts instead of the disk's. */
  overlay?: (path: string) => string | undefined;
  /** Says why a cache file was ignored or not written. */
  log?: (message: string) => void;
}

/** The content-hashed cache of one repository's parsed files. */
export class IndexCache implements IndexMemo {
  private data: CacheFile;
  /** Entries used since the last save: only these are written (what the repository still has). */
  private readonly live = { files: new Set<string>(), sites: new Set<string>(), versions: new Set<string>() };
  readonly stats: CacheStats = { hits: 0, misses: 0, unread: 0, loaded: 'none' };
  private readonly file: string | undefined;

  constructor(private readonly options: IndexCacheOptions) {
    this.file = options.dir && join(options.dir, `index-${hashOf(options.root).slice(0, 16)}.bin`);
    this.data = this.load();
  }

  /** Clears the counters (the next build's hits and misses are counted from zero). */
  resetStats(): void {
    Object.assign(this.stats, { hits: 0, misses: 0, unread: 0 });
  }

  callSites(path: string, language: string, functions: readonly string[], read: () => string | undefined, compute: (text: string) => LocatedCallSite[]): LocatedCallSite[] {
    const open = this.options.overlay?.(path);
    let text: string | undefined = open;
    let hash: string | undefined = open === undefined ? this.recorded(path, 't') : hashOf(`o\0${open}`);
    if (hash === undefined) {
      text = read();
      if (text === undefined) return [];
      hash = hashOf(text);
      this.record(path, 't', hash);
    }
    const key = hashOf(`${language}\0${functions.join('\0')}\0${hash}`);
    const known = this.data.sites.get(key);
    if (known) {
      this.live.sites.add(key);
      this.stats.hits += 1;
      return known.map((s) => ({ ...s, file: path }));
    }
    text ??= read();
    if (text === undefined) return [];
    const sites = compute(text);
    this.stats.misses += 1;
    this.data.sites.set(key, sites.map(({ file: _file, ...s }) => s));
    this.live.sites.add(key);
    return sites;
  }

  checkedVersion(version: PromptVersion, snapshot: RepoSnapshot, compute: (snapshot: RepoSnapshot) => CheckedVersion): CheckedVersion {
    const parts = [JSON.stringify(version), snapshot.today ?? ''];
    for (const path of Object.values(version.files).sort()) parts.push(`${path}\0${this.fileHash(path)}`);
    const key = hashOf(parts.join('\0'));
    const known = this.data.versions.get(key);
    if (known && known.exists.every(([p, was]) => snapshot.exists(p) === was)) {
      this.live.versions.add(key);
      this.stats.hits += 1;
      return known.checked;
    }
    const exists: [string, boolean][] = [];
    const recording: RepoSnapshot = {
      paths: snapshot.paths,
      today: snapshot.today,
      read: (p) => snapshot.read(p),
      describe: snapshot.describe && ((p) => snapshot.describe?.(p)),
      exists: (p) => {
        const answer = snapshot.exists(p);
        exists.push([p, answer]);
        return answer;
      },
    };
    const checked = compute(recording);
    this.stats.misses += 1;
    this.data.versions.set(key, { checked, exists });
    this.live.versions.add(key);
    return checked;
  }

  /** Writes what this session used, atomically; a no-op without a folder. */
  save(): void {
    if (!this.file || !this.options.dir) return;
    const keep = <V>(map: Map<string, V>, live: Set<string>): Map<string, V> => new Map([...map].filter(([k]) => live.has(k)));
    const out: CacheFile = {
      format: FORMAT,
      tag: this.options.tag,
      files: keep(this.data.files, this.live.files),
      sites: keep(this.data.sites, this.live.sites),
      versions: keep(this.data.versions, this.live.versions),
    };
    const bytes = serialize(out);
    if (bytes.length > MAX_CACHE_BYTES) {
      this.options.log?.(`index cache not written: ${(bytes.length / 2 ** 20).toFixed(0)} MB is above the ${MAX_CACHE_BYTES / 2 ** 20} MB bound`);
      return;
    }
    const partial = `${this.file}.${process.pid}.partial`;
    try {
      mkdirSync(this.options.dir, { recursive: true });
      writeFileSync(partial, bytes);
      renameSync(partial, this.file);
    } catch (error) {
      rmSync(partial, { force: true });
      this.options.log?.(`index cache not written to ${this.file}: ${(error as Error).message}`);
    }
  }

  /** A prompt file's content hash: an open editor's text, else the bytes on disk (or why it isn't a file). */
  private fileHash(path: string): string {
    const open = this.options.overlay?.(path);
    if (open !== undefined) return hashOf(`o\0${open}`);
    const known = this.recorded(path, 'b');
    if (known !== undefined) return known;
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(this.options.root, path));
    } catch (error) {
      return `unreadable:${(error as NodeJS.ErrnoException).code ?? ''}`;
    }
    const hash = hashOf(bytes);
    this.record(path, 'b', hash);
    return hash;
  }

  /** The hash recorded for a path whose file is unchanged since; undefined when it must be read. */
  private recorded(path: string, kind: FileRecord['kind']): string | undefined {
    const record = this.data.files.get(path);
    if (!record || record.kind !== kind) return undefined;
    const stat = this.stat(path);
    if (!stat || stat.size !== record.size || stat.mtimeMs !== record.mtimeMs || stat.ctimeMs !== record.ctimeMs || stat.ino !== record.ino) return undefined;
    this.live.files.add(path);
    this.stats.unread += 1;
    return record.hash;
  }

  private record(path: string, kind: FileRecord['kind'], hash: string): void {
    const stat = this.stat(path);
    if (!stat) {
      this.data.files.delete(path);
      return;
    }
    this.data.files.set(path, { size: stat.size, mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs, ino: stat.ino, kind, hash });
    this.live.files.add(path);
  }

  /** A regular file's stat; undefined for anything else (links and directories are never taken on trust). */
  private stat(path: string): { size: number; mtimeMs: number; ctimeMs: number; ino: number } | undefined {
    try {
      const stat = lstatSync(join(this.options.root, path), { throwIfNoEntry: false });
      return stat?.isFile() ? stat : undefined;
    } catch {
      return undefined;
    }
  }

  private load(): CacheFile {
    const empty: CacheFile = { format: FORMAT, tag: this.options.tag, files: new Map(), sites: new Map(), versions: new Map() };
    if (!this.file) return empty;
    let bytes: Buffer;
    try {
      bytes = readFileSync(this.file);
    } catch {
      this.stats.loaded = 'absent';
      return empty;
    }
    try {
      const data = deserialize(bytes) as Partial<CacheFile>;
      if (!data || data.format !== FORMAT || !(data.files instanceof Map) || !(data.sites instanceof Map) || !(data.versions instanceof Map)) throw new Error('not an index cache');
      if (data.tag !== this.options.tag) {
        this.stats.loaded = 'stale';
        return empty;
      }
      this.stats.loaded = 'loaded';
      return data as CacheFile;
    } catch (error) {
      this.stats.loaded = 'corrupt';
      this.options.log?.(`index cache ${this.file} ignored: it can't be read back (${(error as Error).message}); the repository is indexed afresh`);
      return empty;
    }
  }
}

function hashOf(content: string | Uint8Array): string {
  return createHash('sha1').update(content).digest('hex');
}
