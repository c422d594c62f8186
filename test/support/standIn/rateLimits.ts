/**
 * The stand-in's rate limits, enforced the way the Messages API describes its own: per-minute
 * limits as token buckets that hold one minute's worth and refill continuously, `429
 * rate_limit_error` with `retry-after` (whole seconds) when a request would exceed one, and the
 * `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}`
 * headers on every response (`reset`: the RFC 3339 time at which the bucket is full again).
 * Source: Anthropic's "Rate limits" page (response headers table), mirrored in the Claude Platform
 * on AWS user guide's "Rate limit headers".
 *
 * Input tokens are charged when a request is admitted; output tokens when its answer is sent (the
 * API estimates them from `max_tokens` and corrects at the end; charging the real count is the
 * corrected figure). `tokens` counts input and output together.
 *
 * Besides the per-minute windows, `maxInFlight` caps the requests being answered at once: one more
 * is a 429 with `retry-after: maxInFlightRetryAfterSeconds`, as a busy organisation sees.
 */

/** Limits the stand-in enforces; every field is optional, and an absent one is not enforced. */
export interface StandInRateLimits {
  requestsPerMinute?: number;
  /** Input plus output tokens per minute. */
  tokensPerMinute?: number;
  inputTokensPerMinute?: number;
  outputTokensPerMinute?: number;
  /** `/v1/messages` requests answered at once. Read on every request, so a test can change it while the stand-in runs. */
  maxInFlight?: number;
  /** `retry-after` of a 429 for `maxInFlight`. Default 1. */
  maxInFlightRetryAfterSeconds?: number;
}

/** The figures the headers report for a limit that isn't enforced (a generous tier). */
const NOMINAL_REQUESTS_PER_MINUTE = 4000;
const NOMINAL_TOKENS_PER_MINUTE = 400_000;

/** A bucket of one minute's capacity, refilled continuously. */
class Bucket {
  private level: number;
  private at: number;
  constructor(
    readonly perMinute: number,
    now: number,
  ) {
    this.level = perMinute;
    this.at = now;
  }

  private refill(now: number): void {
    this.level = Math.min(this.perMinute, this.level + ((now - this.at) * this.perMinute) / 60_000);
    this.at = now;
  }

  available(now: number): number {
    this.refill(now);
    return this.level;
  }

  take(amount: number, now: number): void {
    this.refill(now);
    this.level -= amount;
  }

  /** Milliseconds until `amount` is available. */
  msUntil(amount: number, now: number): number {
    this.refill(now);
    return this.level >= amount ? 0 : ((amount - this.level) * 60_000) / this.perMinute;
  }

  /** When the bucket is full again. */
  fullAt(now: number): number {
    this.refill(now);
    return now + ((this.perMinute - this.level) * 60_000) / this.perMinute;
  }
}

type Dimension = 'requests' | 'tokens' | 'input-tokens' | 'output-tokens';
const DIMENSIONS: Dimension[] = ['requests', 'tokens', 'input-tokens', 'output-tokens'];

/** A refusal: the 429's message and `retry-after`, and the headers to send with it. */
export interface RateLimitRefusal {
  message: string;
  retryAfterSeconds: number;
}

/** The rate limiter of one stand-in. */
export class RateLimiter {
  private readonly buckets = new Map<Dimension, Bucket>();
  private active = 0;

  constructor(
    private readonly limits: StandInRateLimits,
    private readonly now: () => number = Date.now,
  ) {
    const start = now();
    const perMinute: Record<Dimension, number | undefined> = {
      requests: limits.requestsPerMinute,
      tokens: limits.tokensPerMinute,
      'input-tokens': limits.inputTokensPerMinute,
      'output-tokens': limits.outputTokensPerMinute,
    };
    for (const d of DIMENSIONS) {
      const value = perMinute[d];
      if (value !== undefined) {
        if (!(value > 0)) throw new RangeError(`${d} per minute must be positive, got ${value}`);
        this.buckets.set(d, new Bucket(value, start));
      }
    }
  }

  /**
   * Admits a request of `inputTokens`, or says why not. An admitted request holds a slot of
   * `maxInFlight` until `finish` is called.
   */
  admit(inputTokens: number): RateLimitRefusal | undefined {
    const now = this.now();
    const max = this.limits.maxInFlight;
    if (max !== undefined && this.active >= max) {
      const seconds = this.limits.maxInFlightRetryAfterSeconds ?? 1;
      return { message: `Too many concurrent requests for your organization (at most ${max} at once). Please try again after ${seconds} seconds.`, retryAfterSeconds: seconds };
    }
    const needs: [Dimension, number, string][] = [
      ['requests', 1, 'requests per minute'],
      ['input-tokens', inputTokens, 'input tokens per minute'],
      // Output tokens are charged at the end; a request starts only while some are left.
      ['output-tokens', 1, 'output tokens per minute'],
      ['tokens', inputTokens, 'tokens per minute'],
    ];
    for (const [d, need, words] of needs) {
      const bucket = this.buckets.get(d);
      if (!bucket) continue;
      // A request larger than the whole bucket could never pass: the API refuses it the same way.
      const wait = bucket.msUntil(Math.min(need, bucket.perMinute), now);
      if (wait > 0) {
        const seconds = Math.max(1, Math.ceil(wait / 1000));
        return {
          message: `This request would exceed the rate limit for your organization of ${bucket.perMinute} ${words}. Please try again after ${seconds} seconds.`,
          retryAfterSeconds: seconds,
        };
      }
    }
    this.buckets.get('requests')?.take(1, now);
    this.buckets.get('input-tokens')?.take(inputTokens, now);
    this.buckets.get('tokens')?.take(inputTokens, now);
    this.active += 1;
    return undefined;
  }

  /** The end of an admitted request: frees its slot and charges its output tokens (0 when it sent no answer). */
  finish(outputTokens: number): void {
    const now = this.now();
    this.active = Math.max(0, this.active - 1);
    this.buckets.get('output-tokens')?.take(outputTokens, now);
    this.buckets.get('tokens')?.take(outputTokens, now);
  }

  /** The `anthropic-ratelimit-*` headers as of now. */
  headers(): Record<string, string> {
    const now = this.now();
    const headers: Record<string, string> = {};
    for (const d of DIMENSIONS) {
      const bucket = this.buckets.get(d);
      const limit = bucket?.perMinute ?? (d === 'requests' ? NOMINAL_REQUESTS_PER_MINUTE : NOMINAL_TOKENS_PER_MINUTE);
      const remaining = bucket ? Math.max(0, Math.floor(bucket.available(now))) : limit - (d === 'requests' ? 1 : 0);
      const reset = bucket ? bucket.fullAt(now) : now + 60_000;
      headers[`anthropic-ratelimit-${d}-limit`] = String(limit);
      headers[`anthropic-ratelimit-${d}-remaining`] = String(remaining);
      headers[`anthropic-ratelimit-${d}-reset`] = rfc3339(reset);
    }
    return headers;
  }
}

/** RFC 3339 in UTC, to the second, as the API writes it. Rounded up: the bucket is full by then. */
function rfc3339(ms: number): string {
  return new Date(Math.ceil(ms / 1000) * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
}
