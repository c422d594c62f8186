import Anthropic from '@anthropic-ai/sdk';
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

/** A counting semaphore whose waiters leave the queue at once when their signal aborts. */
export class CallPool {
  private active = 0;
  private readonly waiting: { resolve: () => void; reject: (e: Error) => void; signal?: AbortSignal; onAbort: () => void }[] = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`pool size must be a positive integer, got ${size}`);
  }

  /** Calls in flight now. */
  get inFlight(): number {
    return this.active;
  }

  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError());
    if (this.active < this.size) {
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
      this.waiting.push(entry);
    });
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) {
      next.signal?.removeEventListener('abort', next.onAbort);
      next.resolve(); // the slot passes straight to the next waiter
    } else {
      this.active -= 1;
    }
  }
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
 * The Anthropic Messages API behind one bounded pool. The SDK's own retries are off: this client
 * retries, so one policy and one concurrency limit cover task and judge calls alike:
 * - 429 and 529 wait the server's `retry-after` (and hold back every other call of the pool until
 *   then, since they would be refused too), else back off;
 * - 5xx, 408, 409 and network errors back off exponentially, capped, with jitter;
 * - a call that times out fails with a timeout error (a hung connection usually stays hung);
 * - an abort stops queued calls at once and aborts the ones in flight.
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
  /** No attempt starts before this time: set by a 429/529 that said how long to wait. */
  private pausedUntil = 0;

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
    this.pool = new CallPool(options.concurrency ?? 8);
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

  /**
   * One Messages API call through the pool, with retries.
   * @throws ModelCallError when it fails; an AbortError when cancelled.
   */
  async complete(
    request: ModelRequest & { temperature?: number },
    callOptions: { signal?: AbortSignal; headers?: Record<string, string> } = {},
  ): Promise<ClientReply> {
    const { signal, unlink } = this.callSignal(this.options.signal, callOptions.signal);
    try {
      await this.pool.acquire(signal);
    } catch (error) {
      unlink();
      throw error;
    }
    try {
      // Rate-limit retries and error retries are counted apart: a storm of 429s doesn't use up the
      // budget for 5xx, nor the reverse.
      let errorRetries = 0;
      let rateLimitRetries = 0;
      for (let retry = 0; ; retry++) {
        const wait = this.pausedUntil - this.now();
        if (wait > 0) await this.sleep(wait, signal);
        if (signal?.aborted) throw abortError();
        const started = this.now();
        try {
          const message = await this.sdk.messages.create(
            { ...request, stream: false },
            { signal, timeout: this.timeoutMs, maxRetries: 0, ...(callOptions.headers ? { headers: callOptions.headers } : {}) },
          );
          const latencyMs = this.now() - started;
          const text = message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
          return {
            text,
            inputTokens: message.usage?.input_tokens ?? 0,
            outputTokens: message.usage?.output_tokens ?? 0,
            latencyMs,
            stopReason: message.stop_reason ?? null,
            model: message.model,
          };
        } catch (error) {
          if (signal?.aborted || error instanceof Anthropic.APIUserAbortError) throw abortError();
          const rateLimited = error instanceof Anthropic.APIError && (error.status === 429 || error.status === 529);
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
          await this.sleep(decision.delayMs, signal);
        }
      }
    } finally {
      this.pool.release();
      unlink();
    }
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
      return { kind: 'fail', error: new ModelCallError(`no response from ${where} within ${this.timeoutMs} ms (per-call timeout)`, 'timeout', false) };
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
        if (after !== undefined) this.pausedUntil = Math.max(this.pausedUntil, this.now() + after);
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
