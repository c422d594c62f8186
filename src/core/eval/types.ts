/**
 * The contracts core's eval runner asks of its callers. Everything with a side effect (the model,
 * the cache, the clock) comes in through these interfaces; `src/node` provides the real ones.
 */

/** One Messages API request, exactly as sent (and as hashed for the response cache). */
export interface ModelRequest {
  model: string;
  max_tokens: number;
  system?: string;
  messages: { role: 'user' | 'assistant'; content: string }[];
}

/** Why a call is made; the client and cache don't care, progress and logs do. */
export type CallPurpose = 'task' | 'judge' | 'synthesis';

/** What the runner gets back from one call. */
export interface ModelReply {
  text: string;
  inputTokens: number;
  outputTokens: number;
  /** Latency of the call as recorded when it was made: cached replies keep the original figure. */
  latencyMs: number;
  fromCache: boolean;
}

/** Per-call options. `repeat` distinguishes otherwise identical requests (judge repeats) in the cache. */
export interface ModelCallOptions {
  repeat: number;
  purpose: CallPurpose;
  signal?: AbortSignal;
  /**
   * Whether a reply is usable (a judge reply its parser reads). A reply this rejects is returned
   * but not cached, and a cached reply it rejects is asked again: an unreadable judge answer is
   * not replayed as INCONCLUSIVE on every later run.
   */
  accept?: (text: string) => boolean;
}

/**
 * The model as core sees it: the API behind a bounded pool, usually with the response cache in
 * front. A rejection is an error for the example that made the call; a rejection whose error has
 * `fatal: true` (no key, bad key, nothing listening at the base URL) stops the whole run.
 */
export interface ModelGateway {
  complete(request: ModelRequest, options: ModelCallOptions): Promise<ModelReply>;
  /** The cached reply for a request, if any, without calling the API (used by the cost estimate). */
  peek?(request: ModelRequest, repeat: number): Promise<ModelReply | undefined>;
}

/** Running totals reported while an eval runs. `calls` counts API calls; cache hits are separate. */
export interface EvalProgress {
  /** Examples finished (scored, errored or cancelled). */
  done: number;
  total: number;
  calls: number;
  cacheHits: number;
  /** Tokens of API calls made by this run (cache hits cost nothing). */
  inputTokens: number;
  outputTokens: number;
  /** Examples that ended in an error so far. */
  errors: number;
  /**
   * Set while the client holds calls back: `limit` of `max` calls allowed in flight (lowered after
   * the API refused calls), `waitMs` until the next may start, and why.
   */
  throttle?: { limit: number; max: number; waitMs: number; reason: 'rate-limited' | 'near-limit' };
}

/** The progress line's note on a throttle, e.g. ` · throttled: 4/8 in flight (rate limited), next call in 1.0 s`; empty when not throttled. */
export function throttleNote(throttle: EvalProgress['throttle']): string {
  if (!throttle) return '';
  const why = throttle.reason === 'rate-limited' ? 'rate limited' : 'near the rate limit';
  const wait = throttle.waitMs > 0 ? `, next call in ${(throttle.waitMs / 1000).toFixed(1)} s` : '';
  return ` · throttled: ${throttle.limit}/${throttle.max} in flight (${why})${wait}`;
}

/** True when an error from the gateway should stop the whole run rather than one example. */
export function isFatalModelError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { fatal?: unknown }).fatal === true;
}

/** True for the error an aborted signal produces. */
export function isAbortError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
}
