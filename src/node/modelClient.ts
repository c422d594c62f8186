import Anthropic from '@anthropic-ai/sdk';
import { sanitizeUntrusted } from '../core/escaping/untrusted';
import type { ModelRequest } from '../core/eval/types';
import type { ModelApiConfig } from './modelApi';
import { baseUrlProblem, createAnthropicSdk, resolveModelApi } from './modelApi';

/** A model reply as the client returns it (before the cache marks where it came from). */
export interface ClientReply {
  text: string;
  inputTokens: number;
  outputTokens: number;
  /** Duration of the attempt that succeeded: queueing in the pool and retry waits are not counted. */
  latencyMs: number;
  stopReason: string | null;
  /** The model that answered, as the API names it (the real client always sets it). */
  model?: string;
}

/** Why a call was retried, for logs and tests. */
export interface RetryEvent {
  /** 1 for the first retry. */
  retry: number;
  delayMs: number;
  reason: 'rate-limit' | 'overloaded' | 'server-error' | 'network';
  /** The server's `retry-after` in milliseconds, when it sent one. */
  retryAfterMs?: number;
  status?: number;
}

/** How to build a client. Everything is optional; side effects (sleep, clock, randomness) can be passed in. */
export interface ModelClientOptions {
  /** API key; else `env.ANTHROPIC_API_KEY` (see `resolveModelApi`). Ignored when `api` is given. */
  apiKey?: string;
  /** Base URL; else `env.ANTHROPIC_BASE_URL`; else the public API. Ignored when `api` is given. */
  baseURL?: string;
  /** Where the fallbacks are read. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** The configuration `resolveModelApi` worked out already (the extension's, with its stored key). */
  api?: ModelApiConfig;
  /** Calls in flight at once, task and judge together. Default 8. */
  concurrency?: number;
  /** Per-attempt timeout in milliseconds. Default 120,000. A timed-out call is not retried. */
  timeoutMs?: number;
  /** Retries of one call after 5xx and network errors. Default 6. */
  maxRetries?: number;
  /**
   * Retries of one call after 429 and 529. Default 30: in a rate-limit storm every call of the pool
   * is refused in turn, and the server says when to come back, so these are cheap to wait out.
   */
  maxRateLimitRetries?: number;
  /** Exponential backoff for 5xx and network errors: first delay and cap, in ms. Default 500 and 16,000. */
  backoff?: { baseMs: number; maxMs: number };
  /**
   * After a 429/529 at some number of calls in flight, how long before that number is tried again.
   * Default 30,000 ms; doubled (to two minutes) each time the probe is refused too.
   */
  probeMs?: number;
  /** A `retry-after` longer than this fails the call instead of waiting. Default 120,000 ms. */
  maxRetryAfterMs?: number;
  /** Aborts every call of this client: queued calls reject at once, in-flight ones are aborted. */
  signal?: AbortSignal;
  onRetry?: (event: RetryEvent) => void;
  sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

/** No API key anywhere: raised when the client is built, before any call. */
export class MissingApiKeyError extends Error {
  readonly fatal = true;
  constructor() {
    super(
      'no Anthropic API key: set ANTHROPIC_API_KEY (or pass one with the apiKey option / the extension\'s "Set Anthropic API Key" command); no call was made',
    );
    this.name = 'MissingApiKeyError';
  }
}

/** What went wrong with a call. */
export type ModelCallErrorKind =
  | 'rate-limit'
  | 'overloaded'
  | 'server-error'
  | 'network'
  | 'unreachable'
  | 'timeout'
  | 'auth'
  | 'invalid-request'
  | 'api-error';

/**
 * A call that failed after any retries. `fatal` errors (a rejected key, nothing listening at the
 * base URL) would fail every call alike, so the runner stops the whole run on them.
 */
export class ModelCallError extends Error {
  constructor(
    message: string,
    readonly kind: ModelCallErrorKind,
    readonly fatal: boolean,
    readonly status?: number,
    readonly attempts = 1,
  ) {
    super(message);
    this.name = 'ModelCallError';
  }
}

/** An abort, as the rest of the code recognises it (`name === 'AbortError'`). */
function abortError(): Error {
  const error = new Error('the call was cancelled');
  error.name = 'AbortError';
  return error;
}

/**
 * A counting semaphore whose limit can move (between 1 and `size`) and which can be held shut
 * until a time: the one pool of a client's calls. Waiters leave the queue at once when their
 * signal aborts; a waiter with `first` (a call coming back for a retry) goes ahead of new ones.
 */
export class CallPool {
  private active = 0;
  private currentLimit: number;
  private heldUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly waiting: { resolve: () => void; reject: (e: Error) => void; signal?: AbortSignal; onAbort: () => void }[] = [];

  constructor(
    readonly size: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`pool size must be a positive integer, got ${size}`);
    this.currentLimit = size;
  }

  /** Calls in flight now. */
  get inFlight(): number {
    return this.active;
  }

  /** Calls allowed in flight now (at most `size`). */
  get limit(): number {
    return this.currentLimit;
  }

  set limit(value: number) {
    this.currentLimit = Math.max(1, Math.min(this.size, Math.floor(value)));
    this.drain();
  }

  /** Milliseconds until the pool opens again (0 when open). */
  get holdMs(): number {
    return Math.max(0, this.heldUntil - this.now());
  }

  /** No call starts before `time` (calls in flight go on). */
  holdUntil(time: number): void {
    if (time <= this.heldUntil) return;
    this.heldUntil = time;
    this.schedule();
  }

  acquire(signal?: AbortSignal, options: { first?: boolean } = {}): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError());
    if (this.waiting.length === 0 && this.canStart(this.now())) {
      this.active += 1;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const entry = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const at = this.waiting.indexOf(entry);
          if (at !== -1) this.waiting.splice(at, 1);
          reject(abortError());
        },
      };
      signal?.addEventListener('abort', entry.onAbort, { once: true });
      if (options.first) this.waiting.unshift(entry);
      else this.waiting.push(entry);
      // Not only a timer: the hold may have ended since `canStart` looked.
      this.drain();
    });
  }

  release(): void {
    this.active -= 1;
    this.drain();
  }

  private canStart(now: number): boolean {
    return this.active < this.currentLimit && now >= this.heldUntil;
  }

  /**
   * Starts waiters while there is room; when held, wakes up when the hold ends. One reading of the
   * clock decides both: read twice, the hold could end between "held, don't start" and "not held,
   * no timer needed", and with no call in flight to release a slot, the waiters would wait forever.
   */
  private drain(): void {
    const now = this.now();
    while (this.waiting.length > 0 && this.canStart(now)) {
      const next = this.waiting.shift()!;
      next.signal?.removeEventListener('abort', next.onAbort);
      this.active += 1;
      next.resolve();
    }
    this.schedule(now);
  }

  private schedule(now: number = this.now()): void {
    if (this.timer || this.waiting.length === 0 || now >= this.heldUntil) return;
    // A timer can fire a little early by this clock: `drain` then sets another.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.drain();
    }, this.heldUntil - now);
  }
}

/** Why and how far a client holds its calls back (see `ModelClient`). */
export interface ThrottleState {
  /** Calls allowed in flight now. */
  limit: number;
  /** `--concurrency`. */
  max: number;
  /** Milliseconds until the next call may start (a retry-after, or the rate-limit headers' window). */
  waitMs: number;
  /** Why it is held back: refused (429/529), or near the limits the API's headers report. */
  reason: 'rate-limited' | 'near-limit';
}

/** One `anthropic-ratelimit-<dimension>-*` reading. */
interface LimitReading {
  limit: number;
  remaining: number;
  /** When the reading was taken. */
  at: number;
  /** Spent by calls started since (requests: 1 each; tokens: their estimated input). */
  spentSince: number;
}

const LIMIT_DIMENSIONS = ['requests', 'tokens', 'input-tokens', 'output-tokens'] as const;
type LimitDimension = (typeof LIMIT_DIMENSIONS)[number];

/** Input tokens of a request, roughly (4 characters a token): what a call will take from a token window. */
function estimatedInputTokens(request: ModelRequest): number {
  let chars = request.system?.length ?? 0;
  for (const m of request.messages) chars += m.content.length;
  return Math.ceil(chars / 4);
}

/**
 * A connection that closed while the body was being read: undici's `TypeError: terminated`, with
 * the socket error (`UND_ERR_SOCKET`, "other side closed") as its cause.
 */
function isBodyCutOff(error: unknown): boolean {
  if (!(error instanceof TypeError)) return false;
  if (error.message === 'terminated') return true;
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET';
}

/** Line breaks and tabs shown too: the start of a body is quoted inside a one-line message. */
function oneLine(text: string): string {
  return text.replace(/\n/g, '\u240a').replace(/\t/g, '\u2409');
}

/** The text blocks and usage of a Messages API response body, or a fatal error naming what came instead. */
function messageOf(body: string, status: number): Anthropic.Message {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const candidate = parsed as Partial<Anthropic.Message> | undefined;
  if (candidate && typeof candidate === 'object' && Array.isArray(candidate.content) && candidate.content.every((b) => b && typeof b === 'object' && typeof b.type === 'string')) {
    return candidate as Anthropic.Message;
  }
  const start = Array.from(body.trim()).slice(0, 80).join('');
  // Every call to this base URL would get the same: stop the run rather than fail each example.
  throw new ModelCallError(
    `the API answered HTTP ${status} with a body that is not a Messages API response: "${oneLine(sanitizeUntrusted(start))}${body.trim().length > start.length ? '…' : ''}"`,
    'api-error',
    true,
    status,
  );
}

function defaultSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `retry-after-ms`, else `retry-after` (seconds, fractions allowed, or an HTTP date), in ms. */
export function retryAfterMs(headers: Headers | undefined, now: number): number | undefined {
  const millis = headers?.get('retry-after-ms');
  if (millis) {
    const value = Number.parseFloat(millis);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const after = headers?.get('retry-after');
  if (!after) return undefined;
  const seconds = Number(after.trim());
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The system error code (ECONNREFUSED, ENOTFOUND…) somewhere in an error's cause chain. */
function causeCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors)) {
      for (const inner of errors) {
        const c = causeCode(inner);
        if (c) return c;
      }
    }
  }
  return undefined;
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_INVALID_URL']);

function apiDetail(error: InstanceType<typeof Anthropic.APIError>): string {
  const body = error.error as { error?: { type?: string; message?: string } } | undefined;
  const type = body?.error?.type;
  const message = body?.error?.message ?? error.message;
  return `${error.status ?? ''}${type ? ` ${type}` : ''}: ${message}`.trim();
}

/**
 * The Anthropic Messages API behind one bounded, adaptive pool. The SDK's own retries are off: this
 * client retries, so one policy and one concurrency limit cover task, judge and replayed calls:
 * - 429 and 529 wait the server's `retry-after`, and hold the whole pool until then (the other
 *   calls would be refused too), else back off;
 * - the pool's limit follows rate limiting (additive increase, multiplicative decrease): halved on
 *   a 429/529 (once per episode: refusals of calls started before the cut don't cut again), one
 *   more slot after as many successes in a row as the limit, never above `concurrency`. The level
 *   that was refused is not tried again before `probeMs` (doubling, to two minutes, each time the
 *   probe is refused too): under a fixed cap that costs one 429 per probe, not one per climb;
 * - where the API sends `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-limit`
 *   and `-remaining`, calls start only while those windows (token buckets refilled at the
 *   per-minute limit) have room, so the limit is not hit in the first place;
 * - 5xx, 408, 409 and network errors back off exponentially, capped, with jitter;
 * - a call that times out fails with a timeout error (a hung connection usually stays hung);
 * - an abort stops queued calls at once and aborts the ones in flight.
 * A call waiting to retry gives its slot up meanwhile, and comes back ahead of calls not started.
 */
export class ModelClient {
  readonly baseURL: string;
  private readonly sdk: Anthropic;
  private readonly pool: CallPool;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly maxRateLimitRetries: number;
  private readonly backoff: { baseMs: number; maxMs: number };
  private readonly maxRetryAfterMs: number;
  private readonly sleep: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;
  /** Rate-limit episodes so far: a refusal of a call started in an earlier one doesn't cut the limit again. */
  private episode = 0;
  /** The calls in flight when the API last refused one; not tried again before `probeMs` has passed. */
  private refusedLevel: number | undefined;
  private refusedAt = 0;
  private probeMs: number;
  private readonly baseProbeMs: number;
  /** Calls timed out since the last answer: a hung server times every call out. */
  private timeoutsInARow = 0;
  /** Successes in a row since the limit last moved. */
  private successes = 0;
  /** Why the pool was last held: a retry-after, or the headers' windows. */
  private holdReason: ThrottleState['reason'] = 'rate-limited';
  private readonly readings = new Map<LimitDimension, LimitReading>();
  /** Mean output tokens of a call so far (what an output-token window will be charged). */
  private meanOutputTokens = 0;
  private answered = 0;

  /**
   * @throws MissingApiKeyError when neither the option nor the environment has a key;
   *   a fatal ModelCallError (`unreachable`) when the base URL is not an http(s) URL.
   */
  constructor(private readonly options: ModelClientOptions = {}) {
    const api = options.api ?? resolveModelApi({ apiKey: options.apiKey, baseURL: options.baseURL, env: options.env });
    const apiKey = api.apiKey;
    if (!apiKey) throw new MissingApiKeyError();
    const problem = baseUrlProblem(api.baseURL);
    if (problem) throw new ModelCallError(`${problem}; no call was made`, 'unreachable', true);
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.sdk = createAnthropicSdk({ apiKey, baseURL: api.baseURL }, this.timeoutMs);
    this.baseURL = this.sdk.baseURL;
    this.pool = new CallPool(options.concurrency ?? 8, this.options.now ?? Date.now);
    this.baseProbeMs = options.probeMs ?? 30_000;
    this.probeMs = this.baseProbeMs;
    this.maxRetries = options.maxRetries ?? 6;
    this.maxRateLimitRetries = options.maxRateLimitRetries ?? 30;
    this.backoff = options.backoff ?? { baseMs: 500, maxMs: 16_000 };
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 120_000;
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  /** Calls in flight now (for tests and diagnostics). */
  get inFlight(): number {
    return this.pool.inFlight;
  }

  /** Set while the client holds calls back (a lowered limit, or a wait), for the progress line. */
  get throttle(): ThrottleState | undefined {
    const waitMs = this.pool.holdMs;
    if (this.pool.limit >= this.pool.size && waitMs === 0) return undefined;
    return { limit: this.pool.limit, max: this.pool.size, waitMs, reason: this.pool.limit < this.pool.size ? 'rate-limited' : this.holdReason };
  }

  /**
   * One Messages API call through the pool, with retries.
   * @throws ModelCallError when it fails; an AbortError when cancelled.
   */
  async complete(
    request: ModelRequest & { temperature?: number },
    callOptions: { signal?: AbortSignal; headers?: Record<string, string> } = {},
  ): Promise<ClientReply> {
    const { signal, unlink } = this.callSignal(this.options.signal, callOptions.signal);
    const inputEstimate = estimatedInputTokens(request);
    try {
      // Rate-limit retries and error retries are counted apart: a storm of 429s doesn't use up the
      // budget for 5xx, nor the reverse.
      let errorRetries = 0;
      let rateLimitRetries = 0;
      for (let retry = 0; ; retry++) {
        // A retry goes ahead of calls that haven't started: it is older.
        await this.startSlot(signal, retry > 0, inputEstimate);
        const episode = this.episode;
        const level = this.pool.inFlight;
        const started = this.now();
        let delayMs: number;
        try {
          const response = await this.sdk.messages
            .create({ ...request, stream: false }, { signal, timeout: this.timeoutMs, maxRetries: 0, ...(callOptions.headers ? { headers: callOptions.headers } : {}) })
            .asResponse();
          // The body is read here, not by the SDK: a connection closed mid-body is a network error
          // to retry, and a 200 that is not a message is named rather than read as one.
          const message = messageOf(await response.text(), response.status);
          const latencyMs = this.now() - started;
          this.readLimits(response.headers);
          const outputTokens = message.usage?.output_tokens ?? 0;
          this.answered += 1;
          this.meanOutputTokens += (outputTokens - this.meanOutputTokens) / this.answered;
          this.succeeded();
          this.timeoutsInARow = 0;
          const text = message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
          return {
            text,
            inputTokens: message.usage?.input_tokens ?? 0,
            outputTokens,
            latencyMs,
            stopReason: message.stop_reason ?? null,
            model: message.model,
          };
        } catch (error) {
          if (signal?.aborted || error instanceof Anthropic.APIUserAbortError) throw abortError();
          if (error instanceof Anthropic.APIError) this.readLimits(error.headers);
          const rateLimited = error instanceof Anthropic.APIError && (error.status === 429 || error.status === 529);
          if (rateLimited) this.rateLimited(episode, level);
          const decision = this.classify(error, rateLimited ? rateLimitRetries : errorRetries);
          if (decision.kind === 'fail') throw decision.error;
          if (rateLimited ? rateLimitRetries >= this.maxRateLimitRetries : errorRetries >= this.maxRetries) throw decision.exhausted(retry + 1);
          if (rateLimited) rateLimitRetries += 1;
          else errorRetries += 1;
          this.options.onRetry?.({
            retry: retry + 1,
            delayMs: decision.delayMs,
            reason: decision.reason,
            ...(decision.retryAfterMs !== undefined ? { retryAfterMs: decision.retryAfterMs } : {}),
            ...(decision.status !== undefined ? { status: decision.status } : {}),
          });
          delayMs = decision.delayMs;
        } finally {
          this.pool.release();
        }
        // The wait is spent outside the pool: the slot serves other calls meanwhile.
        await this.sleep(delayMs, signal);
      }
    } finally {
      unlink();
    }
  }

  /**
   * Waits for a slot of the pool and for room in the API's windows as its last headers reported
   * them; holds the whole pool when a window is about to run out.
   */
  private async startSlot(signal: AbortSignal, first: boolean, inputEstimate: number): Promise<void> {
    for (;;) {
      await this.pool.acquire(signal, { first });
      const wait = this.windowWaitMs(inputEstimate);
      if (wait <= 0) break;
      this.holdReason = 'near-limit';
      this.pool.holdUntil(this.now() + wait);
      this.pool.release();
      first = true;
    }
    for (const [dimension, reading] of this.readings) reading.spentSince += dimension === 'requests' ? 1 : dimension === 'output-tokens' ? 0 : inputEstimate;
  }

  /**
   * How long until the API's windows have room for one more call: each window refills at its
   * per-minute limit (a token bucket, as the API describes its limits), minus what calls started
   * since the reading took and what the calls in flight will take (their output, and, to stay on
   * the safe side, their input again).
   */
  private windowWaitMs(inputEstimate: number): number {
    const now = this.now();
    const others = Math.max(0, this.pool.inFlight - 1);
    let wait = 0;
    for (const [dimension, r] of this.readings) {
      if (!(r.limit > 0)) continue;
      const perMs = r.limit / 60_000;
      const output = Math.max(1, this.meanOutputTokens);
      const need = dimension === 'requests' ? 1 : dimension === 'input-tokens' ? inputEstimate : dimension === 'output-tokens' ? output : inputEstimate + output;
      const available = Math.min(r.limit, r.remaining + (now - r.at) * perMs) - r.spentSince - others * need;
      // A call needing more than the whole window could never start: let the API say so.
      if (available < Math.min(need, r.limit)) wait = Math.max(wait, (Math.min(need, r.limit) - available) / perMs);
    }
    return wait;
  }

  /** Takes in the `anthropic-ratelimit-*-limit` / `-remaining` headers of a response, where the API sent them. */
  private readLimits(headers: Headers | undefined): void {
    if (!headers) return;
    const now = this.now();
    for (const dimension of LIMIT_DIMENSIONS) {
      const limit = Number(headers.get(`anthropic-ratelimit-${dimension}-limit`) ?? NaN);
      const remaining = Number(headers.get(`anthropic-ratelimit-${dimension}-remaining`) ?? NaN);
      if (Number.isFinite(limit) && Number.isFinite(remaining) && limit > 0 && remaining >= 0) {
        this.readings.set(dimension, { limit, remaining, at: now, spentSince: 0 });
      }
    }
  }

  /** A 429/529 of a call started in `episode` with `level` calls in flight: halve the limit, once per episode. */
  private rateLimited(episode: number, level: number): void {
    this.holdReason = 'rate-limited';
    if (episode !== this.episode) {
      // Another refusal of the same burst: it tells the lowest level that was refused.
      this.refusedLevel = Math.min(this.refusedLevel ?? level, level);
      return;
    }
    // A probe of a level already refused, refused again: wait longer before the next.
    if (this.refusedLevel !== undefined && level >= this.refusedLevel) this.probeMs = Math.min(120_000, this.probeMs * 2);
    this.episode += 1;
    this.refusedLevel = level;
    this.refusedAt = this.now();
    this.successes = 0;
    this.pool.limit = Math.max(1, Math.floor(this.pool.limit / 2));
  }

  /** A success: one more slot after as many successes in a row as the limit, up to `--concurrency`. */
  private succeeded(): void {
    this.successes += 1;
    if (this.successes < this.pool.limit) return;
    this.successes = 0;
    if (this.refusedLevel !== undefined && this.pool.limit >= this.refusedLevel) {
      // The refused level held a full round: it is not the cap any more.
      this.refusedLevel = undefined;
      this.probeMs = this.baseProbeMs;
    }
    if (this.pool.limit >= this.pool.size) return;
    const next = this.pool.limit + 1;
    if (this.refusedLevel !== undefined && next >= this.refusedLevel && this.now() - this.refusedAt < this.probeMs) return;
    this.pool.limit = next;
  }

  /** Per caller signal, the calls it must abort: one listener per signal, however many calls share it. */
  private readonly links = new WeakMap<AbortSignal, Set<AbortController>>();

  /**
   * A signal for one call that aborts when any of `signals` does. Hundreds of calls share the run's
   * signal; each gets its own controller (which the SDK, the pool and the sleep listen to) so the
   * shared signal carries one listener rather than one per call.
   */
  private callSignal(...signals: (AbortSignal | undefined)[]): { signal: AbortSignal; unlink: () => void } {
    const controller = new AbortController();
    const linked: AbortSignal[] = [];
    for (const s of signals) {
      if (!s) continue;
      if (s.aborted) {
        controller.abort(s.reason);
        continue;
      }
      let calls = this.links.get(s);
      if (!calls) {
        const set = new Set<AbortController>();
        calls = set;
        this.links.set(s, set);
        s.addEventListener(
          'abort',
          () => {
            for (const c of set) c.abort(s.reason);
            set.clear();
          },
          { once: true },
        );
      }
      calls.add(controller);
      linked.push(s);
    }
    return { signal: controller.signal, unlink: () => linked.forEach((s) => this.links.get(s)?.delete(controller)) };
  }

  private backoffMs(retry: number): number {
    const ceiling = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** retry);
    // "Equal jitter": at least half the step, so retries never bunch up at zero.
    return ceiling / 2 + (ceiling / 2) * this.random();
  }

  private classify(
    error: unknown,
    retry: number,
  ):
    | { kind: 'fail'; error: Error }
    | {
        kind: 'retry';
        delayMs: number;
        reason: RetryEvent['reason'];
        retryAfterMs?: number;
        status?: number;
        exhausted: (attempts: number) => ModelCallError;
      } {
    const where = this.baseURL;
    if (error instanceof Anthropic.APIConnectionTimeoutError) {
      // One hung call fails alone; as many in a row as the pool holds, with no answer between, is
      // a hung server: stop the run (what finished is kept) rather than wait out wave after wave.
      this.timeoutsInARow += 1;
      const seconds = this.timeoutMs < 10_000 ? `${this.timeoutMs} ms` : `${Math.round(this.timeoutMs / 1000)} s`;
      if (this.timeoutsInARow >= Math.max(2, this.pool.size)) {
        return {
          kind: 'fail',
          error: new ModelCallError(
            `no response from ${where} to ${this.timeoutsInARow} calls in a row, each given ${seconds} (the per-call timeout, eval.timeoutMs in prompt-ci.yaml): the API seems hung, so the run stops here`,
            'timeout',
            true,
          ),
        };
      }
      return { kind: 'fail', error: new ModelCallError(`no response from ${where} within ${seconds} (the per-call timeout, eval.timeoutMs in prompt-ci.yaml)`, 'timeout', false) };
    }
    if (isBodyCutOff(error)) {
      return {
        kind: 'retry',
        delayMs: this.backoffMs(retry),
        reason: 'network',
        exhausted: (attempts) =>
          new ModelCallError(`the connection to ${where} was closed before the whole answer arrived (after ${attempts} attempts)`, 'network', false, undefined, attempts),
      };
    }
    if (error instanceof Anthropic.APIConnectionError) {
      const code = causeCode(error);
      if (code && UNREACHABLE_CODES.has(code)) {
        const what = code === 'ECONNREFUSED' ? 'connection refused' : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'host not found' : code;
        return {
          kind: 'retry',
          delayMs: this.backoffMs(retry),
          reason: 'network',
          exhausted: (attempts) =>
            new ModelCallError(
              `cannot reach the Anthropic API at ${where}: ${what} (after ${attempts} attempts). Check the base URL (ANTHROPIC_BASE_URL or the baseURL setting).`,
              'unreachable',
              true,
              undefined,
              attempts,
            ),
        };
      }
      const detail = code ?? (error.cause instanceof Error ? error.cause.message : error.message);
      return {
        kind: 'retry',
        delayMs: this.backoffMs(retry),
        reason: 'network',
        exhausted: (attempts) => new ModelCallError(`network error talking to ${where}: ${detail} (after ${attempts} attempts)`, 'network', false, undefined, attempts),
      };
    }
    if (error instanceof Anthropic.APIError && typeof error.status === 'number') {
      const status = error.status;
      const detail = apiDetail(error);
      if (status === 401 || status === 403) {
        return {
          kind: 'fail',
          error: new ModelCallError(`the Anthropic API refused the API key (${detail}); check ANTHROPIC_API_KEY`, 'auth', true, status),
        };
      }
      const shouldRetry = error.headers?.get('x-should-retry');
      if (status === 429 || status === 529) {
        const after = retryAfterMs(error.headers, this.now());
        const reason = status === 429 ? 'rate-limit' : 'overloaded';
        if (after !== undefined && after > this.maxRetryAfterMs) {
          return {
            kind: 'fail',
            error: new ModelCallError(
              `${detail}; the API asks to wait ${Math.round(after / 1000)} s, longer than the ${Math.round(this.maxRetryAfterMs / 1000)} s allowed`,
              reason,
              false,
              status,
            ),
          };
        }
        // Honour retry-after, with a little jitter upwards so held-back calls don't all return at once.
        const delayMs = after !== undefined ? after * (1 + 0.1 * this.random()) : this.backoffMs(retry);
        // The whole pool waits: the other calls would be refused too.
        if (after !== undefined) this.pool.holdUntil(this.now() + after);
        return {
          kind: 'retry',
          delayMs,
          reason,
          status,
          ...(after !== undefined ? { retryAfterMs: after } : {}),
          exhausted: (attempts) => new ModelCallError(`${detail} (still failing after ${attempts} attempts)`, reason, false, status, attempts),
        };
      }
      if ((status >= 500 || status === 408 || status === 409) && shouldRetry !== 'false') {
        return {
          kind: 'retry',
          delayMs: this.backoffMs(retry),
          reason: 'server-error',
          status,
          exhausted: (attempts) => new ModelCallError(`${detail} (still failing after ${attempts} attempts)`, 'server-error', false, status, attempts),
        };
      }
      return { kind: 'fail', error: new ModelCallError(detail, status === 400 ? 'invalid-request' : 'api-error', false, status) };
    }
    return { kind: 'fail', error: error instanceof Error ? error : new Error(String(error)) };
  }
}
