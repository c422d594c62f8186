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

/** Fewer parsed files and checked versions than this are done by the index's own thread. */
export const MIN_SHARDED_WORK = 200;

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
    const others = Math.max(0, busy - (now.own - since.own)) / span;
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

interface ShardThread {
  worker: Worker;
  busy: boolean;
}

/**
 * Runs pieces of work on shard threads (the index worker's bundle started as a shard) and on the
 * calling thread at once: each shard thread is given a piece as it starts, and every thread takes
 * the next piece when it is done with one. Resolves to
 * the shard threads' entries (the calling thread's own go straight where `local` puts them). A
 * shard thread that fails gives its piece back to the calling thread, which does it itself.
 */
export async function runSharded(
  pieces: ShardTask[],
  options: { workerFile: string; wasmDir?: string; threads: number; local: (task: ShardTask) => Promise<void>; log?: (message: string) => void },
): Promise<CacheEntries[]> {
  const queue = [...pieces];
  const results: CacheEntries[] = [];
  const threads: ShardThread[] = [];
  let settle: (() => void) | undefined;
  let running = 0;
  const wake = (): void => settle?.();
  const retire = (thread: ShardThread): void => {
    const at = threads.indexOf(thread);
    if (at < 0) return;
    threads.splice(at, 1);
    thread.worker.removeAllListeners('exit');
    void thread.worker.terminate();
  };

  // The shard threads take pieces from the end of the queue (the source files, which they load the
  // grammars for as they start), the calling thread from its front (the prompt versions): so each
  // thread mostly runs, and compiles, the code of one kind of work.
  const dispatch = (thread: ShardThread): ShardTask | undefined => {
    const task = queue.pop();
    if (!task) return undefined;
    thread.busy = true;
    running += 1;
    thread.worker.postMessage(task);
    return task;
  };
  for (let i = 1; i < options.threads; i++) {
    const worker = new Worker(options.workerFile, { workerData: { role: 'shard', wasmDir: options.wasmDir }, execArgv: [] });
    const thread: ShardThread = { worker, busy: false };
    let current: ShardTask | undefined;
    worker.on('message', (message: { kind: 'ready' } | { kind: 'done'; entries: CacheEntries } | { kind: 'failed'; message: string }) => {
      if (message.kind === 'ready') return;
      running -= 1;
      thread.busy = false;
      if (message.kind === 'failed') {
        // Not given more: its piece goes back to the queue for the calling thread.
        options.log?.(`an index shard could not do its part (${message.message}); the index's own thread does it`);
        if (current) queue.unshift(current);
        current = undefined;
        retire(thread);
        wake();
        return;
      }
      results.push(message.entries);
      current = dispatch(thread);
      wake();
    });
    const lost = (why: string): void => {
      if (!threads.includes(thread)) return;
      threads.splice(threads.indexOf(thread), 1);
      if (thread.busy && current) {
        running -= 1;
        thread.busy = false;
        queue.unshift(current);
        current = undefined;
        options.log?.(`an index shard stopped (${why}); the index's own thread does its part`);
      }
      wake();
    };
    worker.on('error', (error) => lost(error.message || String(error)));
    worker.on('exit', (code) => lost(`it exited with code ${code}`));
    threads.push(thread);
    // Its first piece is its own from the start (done once it has loaded); it asks for more as it goes.
    current = dispatch(thread);
  }
  try {
    // The calling thread takes pieces too, and between pieces lets the shard threads' answers in.
    for (;;) {
      const task = queue.shift();
      if (task) {
        await options.local(task);
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      if (running === 0) break;
      await new Promise<void>((resolve) => (settle = resolve));
      settle = undefined;
    }
  } finally {
    for (const thread of [...threads]) retire(thread);
  }
  return results;
}
