import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { CheckedVersion, RepoSnapshot } from '../core/check';
import type { FileFinding } from '../core/finding';
import type { LocatedCallSite } from '../core/crossCheck';
import { hexDigest } from '../core/hexDigest';
import type { PromptVersion } from '../core/promptLayout';
import type { KnownFile } from './promptFileRead';
import { readFileNoFollowSync } from './promptFileRead';
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
 * - The last whole build is kept too, under the fingerprint of everything it read (settings, the
 *   list of files, their contents): a reopened workspace where none of it changed publishes that
 *   build's findings without checking anything again.
 * - The whole cache is tagged with the extension and parser versions: an upgrade starts afresh.
 * - It is one file per repository, replaced atomically (written beside, then renamed); a file that
 *   can't be read back is ignored (and said so), and one above `MAX_CACHE_BYTES` isn't written.
 */

/** A cache file above this size is not written (a repository that large is indexed cold each time). */
export const MAX_CACHE_BYTES = 64 * 1024 * 1024;

const FORMAT = 2;

/** Part of the index cache's tag (the extension's and check's): changes when what the index computes from a file changes. */
export const INDEX_CACHE_TAG = 'index-2';

export interface FileRecord {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  /** 't' hashes the decoded text (sources), 'b' the bytes (prompt files). */
  kind: 't' | 'b';
  hash: string;
}

export interface VersionEntry {
  /** The checked version, v8-serialised: read back only when a build or the editor needs it. */
  bytes: Uint8Array;
  /** The checked version itself, once made or read back in this session (never written: `bytes` is). */
  checked?: CheckedVersion;
  /** The existence questions the check asked, with their answers then. */
  exists: [string, boolean][];
}

/**
 * The outcome of the last whole build, under the fingerprint of everything it read (see
 * `fingerprint`): a reopened, unchanged workspace publishes it as it is.
 */
interface BuildRecord {
  fingerprint: string;
  /** The versions, in the build's order, by the key of their entry in `versions`. */
  versions: { dir: string; name: string; key: string }[];
  callSites: [string, LocatedCallSite[]][];
  groups: [string, FileFinding[]][];
}

interface CacheFile {
  format: number;
  tag: string;
  files: Map<string, FileRecord>;
  sites: Map<string, Omit<LocatedCallSite, 'file'>[]>;
  versions: Map<string, VersionEntry>;
  build?: BuildRecord;
}

/** What `fingerprint` hashes a listed path as: its decoded text (a source file), its bytes (a prompt file), or nothing but its name. */
export type FingerprintKind = 't' | 'b' | undefined;

/** A whole build, as `reusedBuild` gives it back and `recordBuild` takes it. */
export interface RecordedBuild {
  versions: { dir: string; name: string; bytes: Uint8Array }[];
  callSites: [string, LocatedCallSite[]][];
  groups: [string, FileFinding[]][];
}

/** Entries made by one cache, to be taken into another (what an index shard sends back). */
export interface CacheEntries {
  files: [string, FileRecord][];
  sites: [string, Omit<LocatedCallSite, 'file'>[]][];
  versions: [string, VersionEntry][];
  /** How many of them were parsed or checked anew. */
  misses: number;
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
  /** The last build's findings were published as they were: nothing it read had changed. */
  reusedBuild: boolean;
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
  readonly stats: CacheStats = { hits: 0, misses: 0, unread: 0, loaded: 'none', reusedBuild: false };
  private readonly file: string | undefined;
  /** The serialised form of each checked version this cache gave or took, so none is serialised twice. */
  private readonly bytesOf = new WeakMap<CheckedVersion, Uint8Array>();
  /** The entry key of the check each version directory was last given. */
  private readonly versionKeyOf = new Map<string, string>();
  /** Entries taken from elsewhere and counted there as misses: their first use here is no hit. */
  private readonly fresh = new Set<string>();
  /** Set while entries are made ahead of the build that will use them (see `ahead`). */
  private makingAhead = false;
  /** While one request is answered, each path is looked at once (see `holdStats`). */
  private held: Map<string, Stats | undefined> | undefined;
  /** Files read and hashed since the counters were cleared (their records are new or renewed). */
  private hashed = 0;
  /** The bytes of the prompt files read to key the version being checked, for its check to take rather than read again (see `justRead`). */
  private readForKey: Map<string, Uint8Array> | undefined;

  constructor(private readonly options: IndexCacheOptions) {
    this.file = options.dir && join(options.dir, `index-${hashOf(options.root).slice(0, 16)}.bin`);
    this.data = this.load();
  }

  /** Clears the counters (the next build's hits and misses are counted from zero). */
  resetStats(): void {
    Object.assign(this.stats, { hits: 0, misses: 0, unread: 0, reusedBuild: false });
    this.hashed = 0;
  }

  /** True when `callSites` would answer from what it keeps, without calling `compute`. */
  hasCallSites(path: string, language: string, functions: readonly string[], read: () => string | undefined): boolean {
    const hash = this.textHash(path, () => read());
    return hash !== 'unreadable' && this.data.sites.has(hashOf(`${language}\0${functions.join('\0')}\0${hash}`));
  }

  /** Whether a save would write anything new: a result computed, a file hashed anew, or an entry no longer used. */
  get changed(): boolean {
    return (
      this.stats.misses > 0 ||
      this.hashed > 0 ||
      this.live.files.size !== this.data.files.size ||
      this.live.sites.size !== this.data.sites.size ||
      this.live.versions.size !== this.data.versions.size
    );
  }

  /**
   * The hash of everything a build of the repository reads: the settings, today's date, the list
   * of files, and the content of each listed file that `kindOf` names (an open editor's text where
   * there is one; a symbolic link as a link, since it is refused, not read). Unchanged files are
   * taken at their recorded hash, as everywhere here.
   */
  fingerprint(settings: string, today: string | undefined, paths: readonly string[], kindOf: (path: string) => FingerprintKind, readText: (path: string) => string | undefined): string {
    const hash = createHash('sha1').update(`${settings}\0${today ?? ''}\0`);
    for (const path of paths) {
      const kind = kindOf(path);
      hash.update(`${path}\0${kind === undefined ? '' : kind === 'b' ? this.fileHash(path) : this.textHash(path, readText)}\n`);
    }
    return hash.digest('hex');
  }

  /** Whether the cache holds a last build at all (see `reusedBuild`). */
  get hasRecordedBuild(): boolean {
    return this.data.build !== undefined;
  }

  /**
   * The last build, when it was made under `fingerprint` and what its checks asked of other files
   * (the existence of output schemas) still holds; its entries count as used, and as reused: its
   * versions and the `sourceFiles` it read for call sites.
   */
  reusedBuild(fingerprint: string, exists: (path: string) => boolean, sourceFiles: number): RecordedBuild | undefined {
    const record = this.data.build;
    if (!record || record.fingerprint !== fingerprint) return undefined;
    const entries = record.versions.map((v) => this.data.versions.get(v.key));
    if (!entries.every((e): e is VersionEntry => e !== undefined && e.exists.every(([p, was]) => exists(p) === was))) return undefined;
    record.versions.forEach((v) => this.live.versions.add(v.key));
    this.stats.reusedBuild = true;
    this.stats.hits += record.versions.length + sourceFiles;
    return { versions: record.versions.map((v, i) => ({ dir: v.dir, name: v.name, bytes: entries[i].bytes })), callSites: record.callSites, groups: record.groups };
  }

  /** Keeps a whole build under the fingerprint of what it read (not kept when a version didn't go through this cache). */
  recordBuild(fingerprint: string, build: { versions: { dir: string; name: string }[]; callSites: [string, LocatedCallSite[]][]; groups: [string, FileFinding[]][] }): void {
    const versions = build.versions.map((v) => ({ dir: v.dir, name: v.name, key: this.versionKeyOf.get(v.dir) }));
    if (!versions.every((v): v is BuildRecord['versions'][number] => v.key !== undefined && this.data.versions.has(v.key))) {
      this.data.build = undefined;
      return;
    }
    this.data.build = { fingerprint, versions, callSites: build.callSites, groups: build.groups };
  }

  /** The serialised form of a checked version (made once). */
  serialised(checked: CheckedVersion): Uint8Array {
    let bytes = this.bytesOf.get(checked);
    if (!bytes) this.bytesOf.set(checked, (bytes = serialize(checked)));
    return bytes;
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
      if (!this.fresh.delete(key)) this.stats.hits += 1;
      return known.map((s) => ({ ...s, file: path }));
    }
    text ??= read();
    if (text === undefined) return [];
    const sites = compute(text);
    this.stats.misses += 1;
    this.data.sites.set(key, sites.map(({ file: _file, ...s }) => s));
    this.live.sites.add(key);
    if (this.makingAhead) this.fresh.add(key);
    return sites;
  }

  /**
   * What this cache has just learnt of a file, for a snapshot's `justRead`: the `lstat` it holds
   * while a request is answered (see `holdStats`), and the bytes of a prompt file it read to key
   * the version being checked (handed over once). The check then looks at and reads each file once.
   */
  justRead(path: string): KnownFile | undefined {
    const bytes = this.readForKey?.get(path);
    this.readForKey?.delete(path);
    // Only a stat taken: a path that couldn't be looked at is looked at again, for the reader's own words on why.
    const stat = this.held?.get(path);
    const lstat = stat ? { stat } : undefined;
    return bytes || lstat ? { bytes, lstat } : undefined;
  }

  checkedVersion(version: PromptVersion, snapshot: RepoSnapshot, compute: (snapshot: RepoSnapshot) => CheckedVersion): CheckedVersion {
    this.readForKey = new Map();
    try {
      return this.checkVersion(version, snapshot, compute);
    } finally {
      this.readForKey = undefined;
    }
  }

  private checkVersion(version: PromptVersion, snapshot: RepoSnapshot, compute: (snapshot: RepoSnapshot) => CheckedVersion): CheckedVersion {
    const key = this.versionKey(version, snapshot.today, (path) => this.fileHash(path)) as string;
    this.versionKeyOf.set(version.dir, key);
    const known = this.data.versions.get(key);
    if (known && known.exists.every(([p, was]) => snapshot.exists(p) === was)) {
      this.live.versions.add(key);
      if (!this.fresh.delete(key)) this.stats.hits += 1;
      if (!known.checked) {
        known.checked = deserialize(known.bytes) as CheckedVersion;
        this.bytesOf.set(known.checked, known.bytes);
      }
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
    this.data.versions.set(key, { bytes: this.serialised(checked), checked, exists });
    this.live.versions.add(key);
    if (this.makingAhead) this.fresh.add(key);
    return checked;
  }

  /**
   * The source files (with their language) whose call sites this cache doesn't hold, and the
   * versions whose check it doesn't hold, without reading any file: what a build would parse and
   * check anew. A file that changed since it was recorded counts as not held.
   */
  pending(sources: readonly [string, string][], functions: readonly string[], versions: readonly PromptVersion[], today: string | undefined, exists: (path: string) => boolean): { sources: [string, string][]; versions: PromptVersion[] } {
    const peek = (path: string, kind: FileRecord['kind']): string | undefined => {
      const open = this.options.overlay?.(path);
      return open !== undefined ? hashOf(`o\0${open}`) : this.recorded(path, kind, false);
    };
    const pendingSources = sources.filter(([path, language]) => {
      const hash = peek(path, 't');
      return hash === undefined || (hash !== 'link' && !this.data.sites.has(hashOf(`${language}\0${functions.join('\0')}\0${hash}`)));
    });
    const pendingVersions = versions.filter((version) => {
      const key = this.versionKey(version, today, (path) => peek(path, 'b'));
      const known = key === undefined ? undefined : this.data.versions.get(key);
      return !known || !known.exists.every(([p, was]) => exists(p) === was);
    });
    return { sources: pendingSources, versions: pendingVersions };
  }

  /** Every entry this cache holds (an index shard's, sent back whole), the versions as their bytes only. */
  entries(): CacheEntries {
    return { files: [...this.data.files], sites: [...this.data.sites], versions: [...this.data.versions].map(([k, { bytes, exists }]) => [k, { bytes, exists }]), misses: this.stats.misses };
  }

  /** Takes in entries made elsewhere, as if made here: they count as used, and as the misses they were there. */
  absorb(entries: CacheEntries): void {
    for (const [path, record] of entries.files) {
      this.data.files.set(path, record);
      this.live.files.add(path);
    }
    for (const [key, sites] of entries.sites) {
      this.data.sites.set(key, sites);
      this.fresh.add(key);
    }
    for (const [key, entry] of entries.versions) {
      this.data.versions.set(key, entry);
      this.fresh.add(key);
    }
    this.stats.misses += entries.misses;
  }

  /** Runs `make`, whose misses are parsed ahead of a build: that build's first use of them is no hit. */
  ahead<T>(make: () => T): T {
    this.makingAhead = true;
    try {
      return make();
    } finally {
      this.makingAhead = false;
    }
  }

  /**
   * Looks at each path once while `during` runs (one request: the same files are asked about to
   * plan the work, to fingerprint it and to build), instead of at each question.
   */
  async holdStats<T>(during: () => Promise<T>): Promise<T> {
    this.held = new Map();
    try {
      return await during();
    } finally {
      this.held = undefined;
    }
  }

  /** Whether a path is a symbolic link, from the lstat held while a request is answered (see `holdStats`); undefined outside one. */
  heldLink(path: string): boolean | undefined {
    return this.held ? this.lstat(path)?.isSymbolicLink() === true : undefined;
  }

  /** `holdStats` for synchronous work (an index shard's piece): each path is looked at once while `during` runs. */
  holdStatsSync<T>(during: () => T): T {
    if (this.held) return during();
    this.held = new Map();
    try {
      return during();
    } finally {
      this.held = undefined;
    }
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
      versions: new Map([...keep(this.data.versions, this.live.versions)].map(([k, { bytes, exists }]) => [k, { bytes, exists }])),
      build: this.data.build && this.data.build.versions.every((v) => this.live.versions.has(v.key)) ? this.data.build : undefined,
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

  /** A source file's content hash, as `callSites` takes it: an open editor's text, else the decoded text on disk. */
  private textHash(path: string, readText: (path: string) => string | undefined): string {
    const open = this.options.overlay?.(path);
    if (open !== undefined) return hashOf(`o\0${open}`);
    const known = this.recorded(path, 't');
    if (known !== undefined) return known;
    const text = readText(path);
    if (text === undefined) return 'unreadable';
    const hash = hashOf(text);
    this.record(path, 't', hash);
    return hash;
  }

  /** A prompt file's content hash: an open editor's text, else the bytes on disk (or why it isn't a file). */
  private fileHash(path: string): string {
    const open = this.options.overlay?.(path);
    if (open !== undefined) return hashOf(`o\0${open}`);
    const known = this.recorded(path, 'b');
    // A link is refused, whatever it points to: that it is one is all that counts ('link').
    if (known !== undefined) return known;
    let bytes: Buffer;
    try {
      bytes = readFileNoFollowSync(join(this.options.root, path), this.held?.get(path)?.size);
    } catch (error) {
      return `unreadable:${(error as NodeJS.ErrnoException).code ?? ''}`;
    }
    const hash = hashOf(bytes);
    this.record(path, 'b', hash);
    this.readForKey?.set(path, bytes);
    return hash;
  }

  /**
   * The hash recorded for a path whose file is unchanged since; `link` for a symbolic link (never
   * taken on trust, never read: it is refused); undefined when it must be read.
   */
  private recorded(path: string, kind: FileRecord['kind'], use = true): string | undefined {
    const stat = this.lstat(path);
    if (stat?.isSymbolicLink()) return 'link';
    const record = this.data.files.get(path);
    if (!record || record.kind !== kind) return undefined;
    if (!stat?.isFile() || stat.size !== record.size || stat.mtimeMs !== record.mtimeMs || stat.ctimeMs !== record.ctimeMs || stat.ino !== record.ino) return undefined;
    if (use) {
      this.live.files.add(path);
      this.stats.unread += 1;
    }
    return record.hash;
  }

  /** The key of a version's check, from its files' hashes (`hashOf` of one of them undefined: none). */
  private versionKey(version: PromptVersion, today: string | undefined, hashOfFile: (path: string) => string | undefined): string | undefined {
    const parts = [JSON.stringify(version), today ?? ''];
    for (const path of Object.values(version.files).sort()) {
      const hash = hashOfFile(path);
      if (hash === undefined) return undefined;
      parts.push(`${path}\0${hash}`);
    }
    return hashOf(parts.join('\0'));
  }

  private record(path: string, kind: FileRecord['kind'], hash: string): void {
    this.hashed += 1;
    const stat = this.lstat(path);
    if (!stat?.isFile()) {
      this.data.files.delete(path);
      return;
    }
    this.data.files.set(path, { size: stat.size, mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs, ino: stat.ino, kind, hash });
    this.live.files.add(path);
  }

  /** What is at a path, links not followed; undefined when nothing is. */
  private lstat(path: string): Stats | undefined {
    if (this.held?.has(path)) return this.held.get(path);
    let stat: Stats | undefined;
    try {
      stat = lstatSync(join(this.options.root, path), { throwIfNoEntry: false });
    } catch {
      stat = undefined;
    }
    this.held?.set(path, stat);
    return stat;
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
  return hexDigest('sha1', content);
}
