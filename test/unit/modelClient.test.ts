import { strict as assert } from 'node:assert';
import { createServer } from 'node:net';
import { startStandIn } from '../support/standIn/server';
import type { StandIn, StandInBehaviour, StandInOptions } from '../support/standIn/server';
import { CallPool, MissingApiKeyError, ModelCallError, ModelClient, retryAfterMs } from '../../src/node/modelClient';
import type { ModelClientOptions, RetryEvent } from '../../src/node/modelClient';
import type { ModelRequest } from '../../src/core/eval/types';

const REQUEST: ModelRequest = {
  model: 'claude-sonnet-4-6',
  max_tokens: 100,
  system: 'Summarise in one sentence.',
  messages: [{ role: 'user', content: 'The parcel arrived late. The customer asked for a refund.' }],
};

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('modelClient', () => {
  let standIn: StandIn | undefined;
  const start = async (options: StandInOptions = {}): Promise<StandIn> => (standIn = await startStandIn(options));
  const client = (server: StandIn, options: ModelClientOptions = {}): ModelClient =>
    new ModelClient({ apiKey: 'test-key', baseURL: server.url, env: {}, backoff: { baseMs: 1, maxMs: 4 }, ...options });

  afterEach(async () => {
    await standIn?.close();
    standIn = undefined;
  });

  it('answers through the real SDK with text, usage and a measured latency', async () => {
    const server = await start();
    const reply = await client(server).complete(REQUEST);
    assert.match(reply.text, /refund|late/);
    assert.ok(reply.inputTokens > 0 && reply.outputTokens > 0);
    assert.ok(reply.latencyMs >= 0);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0].body.model, REQUEST.model);
    assert.equal('temperature' in server.requests[0].body, false);
  });

  it('refuses to start without an API key, before any call', async () => {
    const server = await start();
    assert.throws(() => new ModelClient({ baseURL: server.url, env: {} }), (error: unknown) => {
      assert.ok(error instanceof MissingApiKeyError);
      assert.match((error as Error).message, /ANTHROPIC_API_KEY/);
      assert.equal((error as MissingApiKeyError).fatal, true);
      return true;
    });
    assert.equal(server.stats().total, 0);
  });

  it('reads the key and base URL from the environment it is given', async () => {
    const server = await start({ apiKey: 'env-key' });
    const c = new ModelClient({ env: { ANTHROPIC_API_KEY: 'env-key', ANTHROPIC_BASE_URL: server.url } });
    assert.equal(c.baseURL, server.url);
    await c.complete(REQUEST);
    assert.equal(server.requests.length, 1);
  });

  it('a rejected key is fatal with a clear message', async () => {
    const server = await start({ apiKey: 'right' });
    await assert.rejects(client(server, { apiKey: 'wrong' }).complete(REQUEST), (error: unknown) => {
      assert.ok(error instanceof ModelCallError);
      assert.equal(error.kind, 'auth');
      assert.equal(error.fatal, true);
      assert.match(error.message, /refused the API key.*401/);
      return true;
    });
  });

  it('a wrong base URL (connection refused) is fatal and names the URL', async () => {
    const port = await closedPort();
    const c = new ModelClient({ apiKey: 'k', baseURL: `http://127.0.0.1:${port}`, env: {}, maxRetries: 2, backoff: { baseMs: 1, maxMs: 2 } });
    await assert.rejects(c.complete(REQUEST), (error: unknown) => {
      assert.ok(error instanceof ModelCallError);
      assert.equal(error.kind, 'unreachable');
      assert.equal(error.fatal, true);
      assert.match(error.message, new RegExp(`cannot reach the Anthropic API at http://127\\.0\\.0\\.1:${port}: connection refused \\(after 3 attempts\\)`));
      assert.match(error.message, /ANTHROPIC_BASE_URL/);
      return true;
    });
  });

  it('honours retry-after through a 429 storm, holding back the whole pool', async () => {
    // The first 12 requests are refused with retry-after 0.05 s; then it recovers.
    const server = await start({
      behaviour: (req): StandInBehaviour => (req.index < 12 ? { kind: 'rate-limit', retryAfterSeconds: 0.05 } : { kind: 'ok' }),
    });
    const retries: RetryEvent[] = [];
    const c = client(server, { concurrency: 4, onRetry: (e) => retries.push(e) });
    const replies = await Promise.all(Array.from({ length: 6 }, (_, i) => c.complete({ ...REQUEST, max_tokens: 100 + i })));
    assert.equal(replies.length, 6);
    assert.ok(retries.length >= 3, `expected retries, got ${retries.length}`);
    for (const r of retries) {
      assert.equal(r.reason, 'rate-limit');
      assert.equal(r.status, 429);
      assert.equal(r.retryAfterMs, 50);
      assert.ok(r.delayMs >= 50, `waited ${r.delayMs} ms, less than retry-after`);
    }
    assert.equal(server.stats().byStatus[429], 12);
    assert.equal(server.stats().byStatus[200], 6);
    assert.ok(server.stats().maxConcurrent <= 4);
  });

  describe('network edge cases', () => {
    it('retries a connection closed mid-body ("terminated") like any network error', async () => {
      const server = await start({ behaviour: (req): StandInBehaviour | undefined => (req.index === 0 ? { kind: 'cut-body' } : undefined) });
      const retries: RetryEvent[] = [];
      const reply = await client(server, { onRetry: (e) => retries.push(e) }).complete(REQUEST);
      assert.match(reply.text, /refund|late/);
      assert.deepEqual(retries.map((r) => r.reason), ['network']);
      assert.equal(server.requests.length, 2);
    });

    it('says so after its retries when every answer is cut off', async () => {
      const server = await start({ behaviour: () => ({ kind: 'cut-body' }) });
      await assert.rejects(client(server, { maxRetries: 1 }).complete(REQUEST), (e: unknown) => {
        assert.ok(e instanceof ModelCallError);
        assert.equal(e.kind, 'network');
        assert.match(e.message, /closed before the whole answer arrived \(after 2 attempts\)$/);
        return true;
      });
    });

    for (const [what, contentType, body, shown] of [
      ['an HTML page', 'text/html; charset=utf-8', '<!DOCTYPE html>\n<html><head><title>Sign in to the proxy</title></head><body>' + 'x'.repeat(200), '<!DOCTYPE html>␊<html><head><title>Sign in to the proxy</title></head><body>xxxx…'],
      ['invalid JSON', 'application/json', '{"id": "msg_01", "content": [', '{"id": "msg_01", "content": ['],
      ['JSON that is not a message', 'application/json', '{"status":"ok","\u001b[2Jbanner":1}', '{"status":"ok","␛[2Jbanner":1}'],
    ] as const) {
      it(`names a 200 carrying ${what} instead of a message, once, with its start made visible`, async () => {
        const server = await start({ behaviour: () => ({ kind: 'raw', status: 200, contentType, body }) });
        await assert.rejects(client(server).complete(REQUEST), (e: unknown) => {
          assert.ok(e instanceof ModelCallError);
          assert.equal(e.fatal, true);
          assert.equal(e.message, `the API answered HTTP 200 with a body that is not a Messages API response: "${shown}"`);
          assert.doesNotMatch(e.message, /[\u0000-\u001f]/);
          return true;
        });
        assert.equal(server.requests.length, 1);
      });
    }
  });

  describe('under the API\'s rate limits', () => {
    const many = (c: ModelClient, n: number): Promise<unknown[]> => Promise.all(Array.from({ length: n }, (_, i) => c.complete({ ...REQUEST, max_tokens: 100 + i })));

    it('a 429 pauses the whole pool and halves its limit, so a cap on calls in flight costs a few 429s, not one per call', async () => {
      const server = await start({ latencyMs: 30, rateLimits: { maxInFlight: 2, maxInFlightRetryAfterSeconds: 0.2 } });
      const states: string[] = [];
      const c = client(server, { concurrency: 6 });
      const timer = setInterval(() => {
        const t = c.throttle;
        if (t) states.push(`${t.reason} ${t.limit}/${t.max}`);
      }, 5);
      try {
        await many(c, 40);
      } finally {
        clearInterval(timer);
      }
      const { byStatus } = server.stats();
      assert.equal(byStatus[200], 40);
      // A fixed pool of 6 against a cap of 2 had 4 of every 6 requests refused: about 80 429s here.
      assert.ok((byStatus[429] ?? 0) <= 10, `${byStatus[429]} requests refused`);
      assert.ok(states.some((s) => /^rate-limited [1-3]\/6$/.test(s)), `throttle states seen: ${[...new Set(states)].join(', ')}`);
      assert.ok(states.every((s) => Number(s.split(' ')[1].split('/')[0]) <= 6));
    });

    it('climbs back additively to --concurrency once the API admits more, never above it', async () => {
      const limits = { maxInFlight: 2, maxInFlightRetryAfterSeconds: 0.05 };
      const server = await start({ latencyMs: 10, rateLimits: limits });
      const c = client(server, { concurrency: 5, probeMs: 20 });
      const seen: number[] = [];
      const call = async (i: number): Promise<void> => {
        await c.complete({ ...REQUEST, max_tokens: 100 + i });
        seen.push(c.throttle?.limit ?? 5);
      };
      await Promise.all(Array.from({ length: 30 }, (_, i) => call(i)));
      assert.ok(Math.min(...seen) <= 2, `lowest limit ${Math.min(...seen)}`);
      // The API admits more now (the stand-in reads maxInFlight on every request).
      limits.maxInFlight = 100;
      await Promise.all(Array.from({ length: 150 }, (_, i) => call(1000 + i)));
      assert.equal(c.throttle, undefined, 'the limit is back at --concurrency and nothing is held');
      assert.ok(Math.max(...seen) <= 5);
      assert.ok(server.stats().maxConcurrent <= 5);
    });

    it('keeps under a requests-per-minute window from the anthropic-ratelimit headers, before the API refuses', async function () {
      this.timeout(40_000);
      // 20 a minute: the bucket holds 20 and refills one every 3 s, so the last 2 of 22 calls wait for it however fast the machine is.
      const server = await start({ rateLimits: { requestsPerMinute: 20 } });
      const c = client(server, { concurrency: 8 });
      let nearLimit = false;
      const timer = setInterval(() => (nearLimit ||= c.throttle?.reason === 'near-limit'), 5);
      try {
        await many(c, 22);
      } finally {
        clearInterval(timer);
      }
      assert.equal(server.stats().byStatus[200], 22);
      assert.equal(server.stats().byStatus[429], undefined, 'no request was refused');
      assert.ok(nearLimit, 'the progress line was told it is held back');
    });

    it('keeps under a tokens-per-minute window the same way', async function () {
      this.timeout(40_000);
      const probe = await start();
      const one = await client(probe).complete(REQUEST);
      await probe.close();
      const perCall = one.inputTokens + one.outputTokens;
      const server = await start({ rateLimits: { tokensPerMinute: perCall * 20 } });
      const c = client(server, { concurrency: 8 });
      let nearLimit = false;
      const timer = setInterval(() => (nearLimit ||= c.throttle?.reason === 'near-limit'), 5);
      try {
        await Promise.all(Array.from({ length: 22 }, () => c.complete(REQUEST)));
      } finally {
        clearInterval(timer);
      }
      assert.equal(server.stats().byStatus[200], 22);
      assert.equal(server.stats().byStatus[429], undefined, 'no request was refused');
      assert.ok(nearLimit, 'the progress line was told it is held back');
    });
  });

  it('counts rate-limit retries apart from error retries, and gives up after its own budget', async () => {
    const server = await start({ behaviour: () => ({ kind: 'rate-limit', retryAfterSeconds: 0 }) });
    await assert.rejects(client(server, { maxRetries: 0, maxRateLimitRetries: 3 }).complete(REQUEST), (error: unknown) => {
      assert.ok(error instanceof ModelCallError);
      assert.equal(error.kind, 'rate-limit');
      assert.equal(error.attempts, 4);
      assert.match(error.message, /^429 rate_limit_error: .* \(still failing after 4 attempts\)$/);
      return true;
    });
  });

  it('a retry-after longer than allowed fails the call instead of waiting', async () => {
    const server = await start({ behaviour: () => ({ kind: 'rate-limit', retryAfterSeconds: 3600 }) });
    await assert.rejects(client(server, { maxRetryAfterMs: 60_000 }).complete(REQUEST), /the API asks to wait 3600 s, longer than the 60 s allowed/);
    assert.equal(server.requests.length, 1);
  });

  it('retries 529 overloaded with its retry-after', async () => {
    const server = await start({
      behaviour: (req): StandInBehaviour => (req.index === 0 ? { kind: 'overloaded', retryAfterSeconds: 0.02 } : { kind: 'ok' }),
    });
    const retries: RetryEvent[] = [];
    await client(server, { onRetry: (e) => retries.push(e) }).complete(REQUEST);
    assert.deepEqual(retries.map((r) => [r.reason, r.status, r.retryAfterMs]), [['overloaded', 529, 20]]);
  });

  it('backs off exponentially with jitter on 500s, capped, then succeeds', async () => {
    const server = await start({ behaviour: (req): StandInBehaviour => (req.index < 4 ? { kind: 'server-error' } : { kind: 'ok' }) });
    const retries: RetryEvent[] = [];
    const slept: number[] = [];
    const c = client(server, {
      backoff: { baseMs: 100, maxMs: 400 },
      random: () => 1,
      sleep: async (ms) => {
        slept.push(ms);
      },
      onRetry: (e) => retries.push(e),
    });
    await c.complete(REQUEST);
    assert.deepEqual(retries.map((r) => r.reason), ['server-error', 'server-error', 'server-error', 'server-error']);
    // Equal jitter with random() = 1 gives the full step: 100, 200, 400, then the 400 cap.
    assert.deepEqual(slept, [100, 200, 400, 400]);
  });

  it('gives up on 500s after maxRetries with the API error quoted', async () => {
    const server = await start({ behaviour: () => ({ kind: 'server-error' }) });
    await assert.rejects(client(server, { maxRetries: 2 }).complete(REQUEST), (error: unknown) => {
      assert.ok(error instanceof ModelCallError);
      assert.equal(error.kind, 'server-error');
      assert.equal(error.fatal, false);
      assert.equal(error.attempts, 3);
      assert.match(error.message, /500 api_error: Internal server error \(still failing after 3 attempts\)/);
      return true;
    });
    assert.equal(server.stats().byStatus[500], 3);
  });

  it('does not retry a 400, and says what the API said', async () => {
    const server = await start({ behaviour: () => ({ kind: 'invalid-request', message: 'prompt is too long' }) });
    await assert.rejects(client(server).complete(REQUEST), /400 invalid_request_error: prompt is too long/);
    assert.equal(server.requests.length, 1);
  });

  it('a hung server: as many timeouts in a row as the pool holds stop the run, instead of wave after wave', async () => {
    const server = await start({ behaviour: () => ({ kind: 'hang' }) });
    const c = client(server, { concurrency: 3, timeoutMs: 150 });
    const settled = await Promise.allSettled(Array.from({ length: 3 }, () => c.complete(REQUEST)));
    const errors = settled.map((r) => (r.status === 'rejected' ? (r.reason as ModelCallError) : undefined));
    assert.ok(errors.every((e) => e instanceof ModelCallError && e.kind === 'timeout'));
    assert.deepEqual(errors.map((e) => e?.fatal), [false, false, true]);
    assert.match(errors[0]?.message ?? '', /^no response from http:\/\/127\.0\.0\.1:\d+ within 150 ms \(the per-call timeout, eval\.timeoutMs in prompt-ci\.yaml\)$/);
    assert.match(errors[2]?.message ?? '', /to 3 calls in a row, each given 150 ms .*: the API seems hung, so the run stops here$/);
  });

  it('an answer between timeouts resets the count: one slow call is not a hung server', async () => {
    const server = await start({ behaviour: (req): StandInBehaviour | undefined => (req.index % 2 === 0 ? { kind: 'hang' } : undefined) });
    const c = client(server, { concurrency: 2, timeoutMs: 150 });
    for (let i = 0; i < 4; i++) {
      const outcome = await c.complete({ ...REQUEST, max_tokens: 100 + i }).then(
        () => 'answered',
        (e: ModelCallError) => (e.fatal ? 'fatal' : 'timeout'),
      );
      assert.equal(outcome, i % 2 === 0 ? 'timeout' : 'answered');
    }
  });

  it('a hung connection hits the per-call timeout and is not retried', async () => {
    const server = await start({ behaviour: () => ({ kind: 'hang' }) });
    await assert.rejects(client(server, { timeoutMs: 150 }).complete(REQUEST), (error: unknown) => {
      assert.ok(error instanceof ModelCallError);
      assert.equal(error.kind, 'timeout');
      assert.match(error.message, /no response from .* within 150 ms/);
      return true;
    });
    assert.equal(server.requests.length, 1);
  });

  it('never has more calls in flight than the pool allows', async () => {
    const server = await start({ latencyMs: 20 });
    const c = client(server, { concurrency: 3 });
    await Promise.all(Array.from({ length: 12 }, (_, i) => c.complete({ ...REQUEST, max_tokens: 50 + i })));
    assert.equal(server.stats().maxConcurrent, 3);
    assert.equal(server.requests.length, 12);
  });

  it('aborting stops queued calls at once and aborts the ones in flight', async () => {
    let arrived!: () => void;
    const twoArrived = new Promise<void>((resolve) => (arrived = resolve));
    const server = await start({
      behaviour: (req) => {
        if (req.index === 1) arrived();
        return { kind: 'hang' };
      },
    });
    const controller = new AbortController();
    const c = client(server, { concurrency: 2, signal: controller.signal });
    const calls = Array.from({ length: 6 }, (_, i) => c.complete({ ...REQUEST, max_tokens: 10 + i }));
    const settled = Promise.allSettled(calls);
    await twoArrived;
    controller.abort();
    const results = await settled;
    assert.ok(results.every((r) => r.status === 'rejected' && (r.reason as Error).name === 'AbortError'));
    assert.equal(server.requests.length, 2, 'the four queued calls never reached the server');
    assert.equal(c.inFlight, 0);
  });

  it('a per-call signal cancels only that call', async () => {
    const server = await start({ behaviour: (req) => (req.index === 0 ? { kind: 'hang' } : { kind: 'ok' }) });
    const c = client(server);
    const controller = new AbortController();
    const hung = c.complete(REQUEST, { signal: controller.signal });
    const other = await c.complete({ ...REQUEST, max_tokens: 7 });
    assert.ok(other.text.length > 0);
    controller.abort();
    await assert.rejects(hung, { name: 'AbortError' });
  });
});

describe('retryAfterMs', () => {
  const h = (entries: Record<string, string>): Headers => new Headers(entries);
  it('reads seconds, fractions, milliseconds and HTTP dates', () => {
    assert.equal(retryAfterMs(h({ 'retry-after': '3' }), 0), 3000);
    assert.equal(retryAfterMs(h({ 'retry-after': '0.25' }), 0), 250);
    assert.equal(retryAfterMs(h({ 'retry-after-ms': '1500', 'retry-after': '9' }), 0), 1500);
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(retryAfterMs(h({ 'retry-after': 'Wed, 01 Jan 2025 00:00:05 GMT' }), now), 5000);
    assert.equal(retryAfterMs(h({}), 0), undefined);
    assert.equal(retryAfterMs(h({ 'retry-after': 'soon' }), 0), undefined);
  });
});

describe('CallPool', () => {
  it('hands slots over in order and frees a waiter that aborts', async () => {
    const pool = new CallPool(1);
    await pool.acquire();
    const controller = new AbortController();
    const order: string[] = [];
    const a = pool.acquire(controller.signal).then(() => order.push('a'), () => order.push('a aborted'));
    const b = pool.acquire().then(() => order.push('b'));
    controller.abort();
    await a;
    pool.release();
    await b;
    assert.deepEqual(order, ['a aborted', 'b']);
    assert.equal(pool.inFlight, 1);
    pool.release();
    assert.equal(pool.inFlight, 0);
  });

  it('starts a waiter whose hold ends between two readings of the clock', async () => {
    // The clock moves on by a millisecond each time it is read. The hold ends at 1: the first
    // reading (0) finds the pool held, the next (1) finds it open. Read apart, the first said
    // "queue it" and the second "no timer needed", and with no call in flight to hand a slot
    // over, the waiter never started.
    for (const holdMs of [1, 2, 3]) {
      let time = 0;
      const pool = new CallPool(2, () => time++);
      pool.holdUntil(holdMs);
      let stuck: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        pool.acquire().then(() => 'started'),
        new Promise<string>((resolve) => (stuck = setTimeout(() => resolve('still waiting'), 2_000))),
      ]);
      clearTimeout(stuck);
      assert.equal(outcome, 'started', `held until ${holdMs}`);
      assert.equal(pool.inFlight, 1);
    }
  });
});
