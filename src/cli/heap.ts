import { setFlagsFromString } from 'node:v8';

/**
 * Asks V8 to keep this process's heap small: to collect before it grows the heap rather than after.
 * An eval makes tens of thousands of calls, and each leaves garbage behind (the HTTP client's request
 * and response objects, the cache entries read and written), while what the run keeps is a few KB
 * per example. With its default heuristics V8 let the heap grow to several times what was live: a
 * 4,800-example suite held about 40 MB and peaked at 282 MB; with this flag, under 150 MB
 * (scripts/benchEval.ts measures it, with the run's time). Only the CLI's own process sets it: the
 * Node API and the extension run in someone else's process, whose heap is not ours to tune.
 */
export function preferSmallHeap(): void {
  setFlagsFromString('--optimize-for-size');
}
