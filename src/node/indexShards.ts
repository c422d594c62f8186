import { availableParallelism, cpus, loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { SourceLanguage } from '../core/callSites';
import { checkPromptVersion } from '../core/check';
import type { PromptVersion } from '../core/promptLayout';
import type { CacheEntries } from './indexCache';
import { IndexCache } from './indexCache';
import { callSitesOfFile } from './repoIndex';
import { diskSnapshot } from './repoFiles';
import type { SourceParser } from './treeSitter';

/**
 * Index shards: the reading, parsing and checking of a cold build, split across threads. Each
 * shard gets part of the files a build would parse or check anew and answers with the cache
 * entries it made; the index takes them into its own cache and then builds as from a warm one, so
 * the findings are those of one thread by construction (the same keys, the same checks).
 */

/** One shard's part of the work. */
export interface ShardTask {
  root: string;
  today: string | undefined;
  /** The render functions looked for. */
  functions: string[];
  /** The open editors' text for the paths of this task. */
  open: [string, string][];
  sources: [string, SourceLanguage][];
  versions: PromptVersion[];
}

/** Fewer parsed files and checked versions than this are done by the index's own thread, however many threads are asked for. */
export const MIN_SHARDED_WORK = 200;

/**
 * Fewer parsed files and checked versions than this are done by the index's own thread when the
 * threads are left to `shardThreads`. Since only the statements around a render call are parsed,
 * a shard thread's start (its bundle, its grammars, its cache entries posted back) costs about
 * what it saves on a build this size: measured on 2 cores, 1,000 versions and 5,000 source files
 * took 1.0-1.1 s on one thread and 1.07-1.14 s on two, with twice the processor time; three
 * times that took 2.3-2.8 s on one and 2.1-2.3 s on two.
 */
export const AUTO_SHARDED_WORK = 12_000;

/** Work is handed out in pieces of about this many items, so that a thread that starts late takes less. */
const PIECE = 40;

/** At most this many threads parse at once, the index's own included. */
const MAX_THREADS = 4;

/** The processors' time so far, in milliseconds: all cores' (from `os.cpus()`) and this process's own (all its threads). */
export interface CpuReading {
  busy: number;
  idle: number;
  own: number;
}

/** The processors' time so far, read now (see `CpuReading`). */
export function cpuReading(): CpuReading {
  let busy = 0;
  let idle = 0;
  for (const { times } of cpus()) {
    busy += times.user + times.nice + times.sys + times.irq;
    idle += times.idle;
  }
  const { user, system } = process.cpuUsage();
  return { busy, idle, own: (user + system) / 1000 };
}

/** Below this much processor time (all cores') between two readings, they say too little (the counters move in 10 ms steps) and the load average decides. */
const MIN_READ_MS = 60;

/** A core counts as free when the rest of the machine left at least this share of it. */
const FREE_CORE = 0.7;

/**
 * The step the cores' counters move in (`os.cpus()`: ticks of 10 ms), while this process's own time
 * is exact: so each core's busy time between two readings may read up to one step more than was
 * spent, and that much of what this process didn't spend is not counted as another program's.
 */
const TICK_MS = 10;

/**
 * The threads a cold build is split across: its own, and one more for each core the rest of the
 * machine left free between `since` (taken as the request came in) and `now` (as the build
 * splits), at most `MAX_THREADS`. The index's own thread was working meanwhile, and this process's
 * other threads (the grammars' compilation, the collector) are its own passing work, so the rest
 * of the machine is what the cores did beyond this process. When the readings span too little
 * time, the 1-minute load average decides instead (it lags: a machine gone quiet a minute ago
 * still reads busy). On a machine whose cores are all busy, a split build was measured to take
 * about twice the processor time and twice as long (each thread parses and compiles its own copy
 * of the code it runs), so there it isn't split.
 */
export function threadsFor(cores: number, since: CpuReading | undefined, now: CpuReading, loadAverage: number): number {
  let free: number;
  const busy = since ? now.busy - since.busy : 0;
  const idle = since ? now.idle - since.idle : 0;
  if (since && busy >= 0 && idle >= 0 && busy + idle >= MIN_READ_MS) {
    const span = (busy + idle) / cores;
    const others = Math.max(0, busy - (now.own - since.own) - TICK_MS * cores) / span;
    free = Math.floor(cores - 1 - others + (1 - FREE_CORE));
  } else free = Math.floor(cores - loadAverage);
  return Math.max(1, Math.min(MAX_THREADS, cores, free + 1));
}

/** `threadsFor` this machine now, `since` a reading taken as the build started. */
export function shardThreads(since?: CpuReading): number {
  return threadsFor(availableParallelism(), since, cpuReading(), loadavg()[0]);
}

/**
 * Does one shard's work into `cache` (the index's own, when its thread does a piece), or into a new
 * cache whose entries it returns (in a shard thread). `parser` is needed when there are sources.
 */
export function runShardTask(task: ShardTask, parser: SourceParser | undefined): CacheEntries;
export function runShardTask(task: ShardTask, parser: SourceParser | undefined, into: IndexCache): undefined;
export function runShardTask(task: ShardTask, parser: SourceParser | undefined, into?: IndexCache): CacheEntries | undefined {
  const open = new Map(task.open);
  const cache = into ?? new IndexCache({ root: task.root, tag: '', overlay: (p) => open.get(p) });
  const snapshot = { ...diskSnapshot(task.root, [], (p) => open.get(p), (p) => cache.justRead(p)), today: task.today };
  const work = (): void => {
    for (const [path, language] of task.sources) {
      cache.callSites(path, language, task.functions, () => snapshot.read(path), (text) => {
        if (!parser) throw new Error('a shard with source files was given no parser');
        return callSitesOfFile(parser, task.functions, path, text);
      });
    }
    for (const version of task.versions) cache.checkedVersion(version, snapshot, (s) => checkPromptVersion(version, s));
  };
  if (into) {
    into.ahead(work);
    return undefined;
  }
  // Its cache's own: each file is looked at once for its record (as the index does while it answers a request).
  cache.holdStatsSync(work);
  return cache.entries();
}

/** Splits the pending work into pieces, keeping each version whole and files in their listed order: the versions' pieces first, then the source files'. */
export function shardPieces(base: Omit<ShardTask, 'sources' | 'versions' | 'open'>, open: ReadonlyMap<string, string>, sources: [string, SourceLanguage][], versions: PromptVersion[]): ShardTask[] {
  const pieces: ShardTask[] = [];
  const openFor = (paths: string[]): [string, string][] => paths.filter((p) => open.has(p)).map((p) => [p, open.get(p) as string]);
  for (let i = 0; i < versions.length; i += PIECE / 2) {
    const part = versions.slice(i, i + PIECE / 2);
    pieces.push({ ...base, sources: [], versions: part, open: openFor(part.flatMap((v) => Object.values(v.files))) });
  }
  for (let i = 0; i < sources.length; i += PIECE) {
    const part = sources.slice(i, i + PIECE);
    pieces.push({ ...base, sources: part, versions: [], open: openFor(part.map(([p]) => p)) });
  }
  return pieces;
}

/** What the calling thread posts to a shard thread: all the pieces, and where each piece's claim is kept (see `runSharded`). */
export interface ShardAssignment {
  pieces: ShardTask[];
  /** One 32-bit cell per piece: 0 while no thread has claimed it, else the claiming thread's `owner`. */
  claims: SharedArrayBuffer;
  owner: number;
}

/** What a shard thread posts back: one `done` per piece it did, or one `failed` (after which it claims nothing more). */
export type ShardMessage = { kind: 'done'; piece: number; entries: CacheEntries } | { kind: 'failed'; piece: number; message: string };

/** The calling thread's owner number in the claims; shard threads are 2, 3 and so on. */
const CALLING_THREAD = 1;

/**
 * Claims the next piece nobody else has, walking from the front (`step` 1) or the back (`step` -1)
 * from `from`: one nobody has claimed (a compare-and-swap from 0, so each piece goes to exactly one
 * thread), or one set aside for `owner` as it started. Returns its index, or -1 when there is none.
 */
export function claimPiece(claims: Int32Array, owner: number, from: number, step: 1 | -1): number {
  for (let i = from; i >= 0 && i < claims.length; i += step) {
    const was = Atomics.compareExchange(claims, i, 0, owner);
    if (was === 0 || was === owner) return i;
  }
  return -1;
}

/**
 * A shard thread's loop: claims pieces from the back of `assignment` (the source files, whose
 * grammars it loads as it starts), does each with `run` and posts what it made, until every piece
 * is claimed; after a piece that fails it posts why and claims no more.
 */
export async function runShardAssignment(assignment: ShardAssignment, run: (task: ShardTask) => Promise<CacheEntries>, post: (message: ShardMessage) => void): Promise<void> {
  const claims = new Int32Array(assignment.claims);
  for (let at = claims.length - 1; ; ) {
    const piece = claimPiece(claims, assignment.owner, at, -1);
    if (piece < 0) return;
    at = piece - 1;
    try {
      post({ kind: 'done', piece, entries: await run(assignment.pieces[piece]) });
    } catch (error) {
      post({ kind: 'failed', piece, message: (error as Error).message || String(error) });
      return;
    }
  }
}

/**
 * Runs pieces of work on shard threads (the index worker's bundle started as a shard) and on the
 * calling thread at once. Each shard thread is posted all the pieces once, and every thread claims
 * its next piece itself in an array they share (`claimPiece`): the calling thread from the front
 * (the prompt versions, which need no grammars), the shard threads from the back (the source
 * files). So no thread waits for another to be handed work: a shard thread done with a piece takes
 * the next at once, even while the calling thread is busy with one of its own. Resolves to the shard
 * threads' entries (the calling thread's own go straight where `local` puts them). The pieces of a
 * shard thread that fails or stops, claimed and not done, are done by the calling thread.
 */
export async function runSharded(
  pieces: ShardTask[],
  options: { workerFile: string; wasmDir?: string; threads: number; local: (task: ShardTask) => Promise<void>; log?: (message: string) => void },
): Promise<CacheEntries[]> {
  const claims = new Int32Array(new SharedArrayBuffer(4 * pieces.length));
  const results: CacheEntries[] = [];
  /** Pieces done, by any thread. */
  const done = new Set<number>();
  /** Pieces a lost shard thread had claimed and not done: the calling thread's now. */
  const orphans: number[] = [];
  const workers = new Map<number, Worker>();
  let settle: (() => void) | undefined;
  const wake = (): void => settle?.();
  const retire = (owner: number, why: string | undefined): void => {
    const worker = workers.get(owner);
    if (!worker) return;
    workers.delete(owner);
    worker.removeAllListeners('exit');
    void worker.terminate();
    const left = orphans.length;
    for (let i = 0; i < claims.length; i++) if (Atomics.load(claims, i) === owner && !done.has(i)) orphans.push(i);
    // A shard thread ends by itself once every piece is claimed: only one that left work undone is told of.
    if (why && orphans.length > left) options.log?.(`an index shard ${why}; the index's own thread does its part`);
    wake();
  };

  for (let owner = CALLING_THREAD + 1; owner <= options.threads; owner++) {
    const worker = new Worker(options.workerFile, { workerData: { role: 'shard', wasmDir: options.wasmDir }, execArgv: [] });
    workers.set(owner, worker);
    worker.on('message', (message: ShardMessage) => {
      // (What a retired thread had posted before it was stopped is left to the calling thread, which does those pieces itself.)
      if (!workers.has(owner)) return;
      if (message.kind === 'failed') {
        retire(owner, `could not do its part (${message.message})`);
        return;
      }
      if (message.kind !== 'done' || done.has(message.piece)) return;
      done.add(message.piece);
      results.push(message.entries);
      wake();
    });
    worker.on('error', (error) => retire(owner, `stopped (${error.message || String(error)})`));
    worker.on('exit', (code) => retire(owner, `stopped (it exited with code ${code})`));
    // Its first piece is set aside for it from the start (so a shard thread started does a part, however quick the others are).
    const first = pieces.length - owner + CALLING_THREAD;
    if (first >= 0) Atomics.store(claims, first, owner);
    const assignment: ShardAssignment = { pieces, claims: claims.buffer as SharedArrayBuffer, owner };
    worker.postMessage(assignment);
  }
  try {
    // The calling thread claims pieces too, and between pieces lets the shard threads' answers in.
    for (let at = 0; ; ) {
      const claimed = claimPiece(claims, CALLING_THREAD, at, 1);
      const piece = claimed >= 0 ? claimed : orphans.shift();
      if (piece !== undefined) {
        if (claimed >= 0) at = claimed + 1;
        await options.local(pieces[piece]);
        done.add(piece);
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      if (done.size === pieces.length) break;
      await new Promise<void>((resolve) => (settle = resolve));
      settle = undefined;
    }
  } finally {
    for (const owner of [...workers.keys()]) retire(owner, undefined);
  }
  return results;
}
