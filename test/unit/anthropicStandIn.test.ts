import { strict as assert } from 'node:assert';
import { performance } from 'node:perf_hooks';
import Anthropic, {
  APIConnectionError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  RateLimitError,
} from '@anthropic-ai/sdk';
import { startStandIn } from '../support/standIn/server';
import { demoAnswer } from '../support/standIn/demoAnswers';
import type { StandIn, StandInOptions, StandInRequest } from '../support/standIn/server';

const MODEL = 'claude-sonnet-4-6';
const DOCUMENT =
  'Acme Corp ordered 40 laptops on 3 March. The shipment arrived late on 12 March because of a warehouse strike. ' +
  'Two laptops had cracked screens. The customer asked for a refund of $2,400 for the damaged units. ' +
  'Our support team approved the refund on 14 March. The customer also asked about faster shipping options.';

/** The Messages API error body. */
interface ErrorBody {
  type: string;
  error: { type: string; message: string };
  request_id: string;
}

/** A promise plus the function that settles it: how these tests wait on events instead of sleeping. */
function signal<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function user(text: string): Anthropic.MessageParam[] {
  return [{ role: 'user', content: text }];
}

describe('anthropicStandIn', () => {
  let standIn: StandIn | undefined;

  async function start(options: StandInOptions = {}): Promise<StandIn> {
    standIn = await startStandIn(options);
    return standIn;
  }

  function client(server: StandIn, overrides: Partial<ConstructorParameters<typeof Anthropic>[0]> = {}): Anthropic {
    return new Anthropic({ apiKey: 'test-key', baseURL: server.url, maxRetries: 0, ...overrides });
  }

  afterEach(async () => {
    await standIn?.close();
    standIn = undefined;
  });

  describe('rate limits, as the API enforces them', () => {
    const body = { model: MODEL, max_tokens: 50, messages: user(DOCUMENT) };

    it('enforces requests per minute with a refilling bucket: headers count down, then a 429 with retry-after', async () => {
      const server = await start({ rateLimits: { requestsPerMinute: 3 } });
      const remaining: string[] = [];
      for (let i = 0; i < 3; i++) {
        const { response } = await client(server).messages.create(body).withResponse();
        remaining.push(response.headers.get('anthropic-ratelimit-requests-remaining') ?? '');
        assert.equal(response.headers.get('anthropic-ratelimit-requests-limit'), '3');
        assert.match(response.headers.get('anthropic-ratelimit-requests-reset') ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      }
      assert.deepEqual(remaining, ['2', '1', '0']);
      const refused = await client(server).messages.create(body).then(
        () => assert.fail('a fourth request within the minute was admitted'),
        (e: unknown) => e as InstanceType<typeof Anthropic.APIError>,
      );
      assert.equal(refused.status, 429);
      // One request refills in 20 s at 3 per minute.
      assert.ok(Number(refused.headers?.get('retry-after')) >= 19, `retry-after ${refused.headers?.get('retry-after')}`);
      assert.match((refused.error as ErrorBody).error.message, /3 requests per minute/);
    });

    it('enforces tokens per minute on input at admission and output when answered', async () => {
      const input = Math.ceil(DOCUMENT.length / 4);
      const server = await start({ rateLimits: { tokensPerMinute: input * 2 + 10 } });
      const first = await client(server).messages.create(body).withResponse();
      const left = Number(first.response.headers.get('anthropic-ratelimit-tokens-remaining'));
      // Charged the input; the output is charged once the answer is sent.
      assert.ok(left <= input + 10 && left >= 10, `remaining ${left}`);
      await client(server).messages.create(body).then(
        () => assert.fail('a request over the tokens-per-minute window was admitted'),
        (e: unknown) => assert.equal((e as { status?: number }).status, 429),
      );
    });

    it('answers more than maxInFlight requests at once with 429 and the configured retry-after', async () => {
      const server = await start({ latencyMs: 100, rateLimits: { maxInFlight: 2, maxInFlightRetryAfterSeconds: 1 } });
      const results = await Promise.allSettled([1, 2, 3, 4].map(() => client(server).messages.create(body)));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 2);
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as InstanceType<typeof Anthropic.APIError>);
      assert.deepEqual(refused.map((e) => [e.status, e.headers?.get('retry-after')]), [[429, '1'], [429, '1']]);
      // The slots are free again once the answers are sent.
      await client(server).messages.create(body);
    });
  });

  describe('through the real SDK', () => {
    it('answers a message with the real response shape and headers', async () => {
      const server = await start();
      const body = { model: MODEL, max_tokens: 200, system: 'Summarise in two sentences.', messages: user(DOCUMENT) };
      const { data, response } = await client(server).messages.create(body).withResponse();

      assert.match(data.id, /^msg_01[1-9A-HJ-NP-Za-km-z]{22}$/);
      assert.equal(data.type, 'message');
      assert.equal(data.role, 'assistant');
      assert.equal(data.model, MODEL);
      assert.equal(data.stop_reason, 'end_turn');
      assert.equal(data.stop_sequence, null);
      assert.equal(data.content.length, 1);
      const block = data.content[0];
      assert.equal(block.type, 'text');
      const text = block.type === 'text' ? block.text : '';
      assert.equal(text, demoAnswer(body));
      assert.equal(data.usage.input_tokens, Math.ceil(('Summarise in two sentences.'.length + DOCUMENT.length) / 4));
      assert.equal(data.usage.output_tokens, Math.ceil(text.length / 4));
      assert.equal(data.usage.cache_creation_input_tokens, 0);
      assert.equal(data.usage.cache_read_input_tokens, 0);

      assert.match(response.headers.get('request-id') ?? '', /^req_01/);
      assert.equal(response.headers.get('anthropic-ratelimit-requests-limit'), '4000');
      assert.match(response.headers.get('anthropic-ratelimit-tokens-reset') ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

      assert.equal(server.requests.length, 1);
      assert.equal(server.requests[0].index, 0);
      assert.equal(server.requests[0].body.max_tokens, 200);
      assert.equal(server.requests[0].headers.authorization, 'Bearer test-key');
      assert.deepEqual(server.stats(), { total: 1, byStatus: { 200: 1 }, maxConcurrent: 1 });
    });

    it('streams the SSE event sequence, and finalMessage() assembles the same answer', async () => {
      const server = await start();
      const body = { model: MODEL, max_tokens: 200, system: 'Summarise in three sentences.', messages: user(DOCUMENT) };
      const stream = client(server).messages.stream(body);
      const eventTypes: string[] = [];
      let streamed = '';
      stream.on('streamEvent', (event) => eventTypes.push(event.type));
      stream.on('text', (delta) => (streamed += delta));
      const message = await stream.finalMessage();

      const expected = demoAnswer(body);
      assert.equal(streamed, expected);
      assert.deepEqual(message.content, [{ type: 'text', text: expected }]);
      assert.equal(message.stop_reason, 'end_turn');
      assert.equal(message.usage.output_tokens, Math.ceil(expected.length / 4));
      assert.equal(message.usage.input_tokens, Math.ceil(('Summarise in three sentences.'.length + DOCUMENT.length) / 4));
      assert.equal(eventTypes[0], 'message_start');
      assert.equal(eventTypes[1], 'content_block_start');
      assert.ok(eventTypes.filter((t) => t === 'content_block_delta').length > 1, 'the text arrives in several deltas');
      assert.deepEqual(eventTypes.slice(-3), ['content_block_stop', 'message_delta', 'message_stop']);
      assert.equal(server.requests[0].body.stream, true);
    });

    it('rejects a missing key and a wrong key with 401 authentication_error', async () => {
      const server = await start({ apiKey: 'the-right-key' });
      // Null headers make the SDK send no credentials at all.
      const keyless = client(server, { apiKey: 'unused', defaultHeaders: { 'x-api-key': null, authorization: null } });
      await assert.rejects(keyless.messages.create({ model: MODEL, max_tokens: 10, messages: user('hi') }), (err: unknown) => {
        assert.ok(err instanceof AuthenticationError);
        assert.equal(err.status, 401);
        assert.equal(err.type, 'authentication_error');
        assert.match(err.requestID ?? '', /^req_01/);
        return true;
      });
      assert.equal(server.requests[0].headers['x-api-key'], undefined);
      assert.equal(server.requests[0].headers.authorization, undefined);

      const wrong = client(server, { apiKey: 'not-the-key' });
      await assert.rejects(wrong.messages.create({ model: MODEL, max_tokens: 10, messages: user('hi') }), AuthenticationError);
      assert.deepEqual(server.stats().byStatus, { 401: 2 });
    });

    it('accepts the key as an x-api-key header too', async () => {
      const server = await start({ apiKey: 'the-right-key' });
      const viaHeader = client(server, { apiKey: 'unused', defaultHeaders: { 'x-api-key': 'the-right-key', authorization: null } });
      const message = await viaHeader.messages.create({ model: MODEL, max_tokens: 10, messages: user('hi') });
      assert.equal(message.type, 'message');
      assert.equal(server.requests[0].headers['x-api-key'], 'the-right-key');

      const wrongHeader = client(server, { apiKey: 'unused', defaultHeaders: { 'x-api-key': 'nope', authorization: null } });
      await assert.rejects(wrongHeader.messages.create({ model: MODEL, max_tokens: 10, messages: user('hi') }), (err: unknown) => {
        assert.ok(err instanceof AuthenticationError);
        assert.equal(err.apiMessage, 'invalid x-api-key');
        return true;
      });
    });

    it('sends 429 with retry-after, and the SDK waits that long before its own retry', async () => {
      const arrivals: number[] = [];
      const server = await start({
        behaviour: (req) => {
          arrivals.push(performance.now());
          return req.index === 0 ? { kind: 'rate-limit', retryAfterSeconds: 1 } : undefined;
        },
      });
      const message = await client(server, { maxRetries: 2 }).messages.create({
        model: MODEL,
        max_tokens: 50,
        messages: user(DOCUMENT),
      });

      assert.equal(message.type, 'message');
      assert.equal(server.requests.length, 2);
      assert.deepEqual(server.stats().byStatus, { 429: 1, 200: 1 });
      // Without the header the SDK's first backoff is at most 500 ms, so a 1 s gap proves it was read.
      const waited = arrivals[1] - arrivals[0];
      assert.ok(waited >= 950, `the retry came after ${waited.toFixed(0)} ms`);
    });

    it('exposes the 429 body and headers to a client that does not retry', async () => {
      const server = await start({ behaviour: () => ({ kind: 'rate-limit', retryAfterSeconds: 7 }) });
      await assert.rejects(client(server).messages.create({ model: MODEL, max_tokens: 10, messages: user('hi') }), (err: unknown) => {
        assert.ok(err instanceof RateLimitError);
        assert.equal(err.headers.get('retry-after'), '7');
        assert.equal(err.headers.get('anthropic-ratelimit-requests-remaining'), '0');
        assert.equal(err.type, 'rate_limit_error');
        assert.deepEqual(Object.keys(err.error as object).sort(), ['error', 'request_id', 'type']);
        const body = err.error as ErrorBody;
        assert.equal(body.type, 'error');
        assert.equal(body.request_id, err.requestID);
        return true;
      });
    });

    it('answers 529 overloaded_error, which the SDK raises as its overloaded server error', async () => {
      const server = await start({ behaviour: () => ({ kind: 'overloaded' }) });
      await assert.rejects(client(server).messages.create({ model: MODEL, max_tokens: 10, messages: user('hi') }), (err: unknown) => {
        assert.ok(err instanceof InternalServerError);
        assert.equal(err.status, 529);
        assert.equal(err.constructor.name, 'OverloadedError');
        assert.equal(err.type, 'overloaded_error');
        return true;
      });
    });

    it('retries 529 after its retry-after and then succeeds', async () => {
      const server = await start({
        behaviour: (req) => (req.index === 0 ? { kind: 'overloaded', retryAfterSeconds: 0.05 } : undefined),
      });
      const message = await client(server, { maxRetries: 1 }).messages.create({ model: MODEL, max_tokens: 10, messages: user('hi') });
      assert.equal(message.type, 'message');
      assert.deepEqual(server.stats().byStatus, { 529: 1, 200: 1 });
    });

    it('answers 500 api_error as an InternalServerError', async () => {
      const server = await start({ behaviour: () => ({ kind: 'server-error' }) });
      await assert.rejects(client(server).messages.create({ model: MODEL, max_tokens: 10, messages: user('hi') }), (err: unknown) => {
        assert.ok(err instanceof InternalServerError);
        assert.equal(err.status, 500);
        assert.equal(err.type, 'api_error');
        return true;
      });
    });

    it('holds a hung request until the client aborts it', async () => {
      const arrived = signal();
      const server = await start({
        behaviour: () => {
          arrived.resolve();
          return { kind: 'hang' };
        },
      });
      const controller = new AbortController();
      const call = client(server).messages.create({ model: MODEL, max_tokens: 10, messages: user('hi') }, { signal: controller.signal });
      await arrived.promise;
      controller.abort();
      await assert.rejects(call, APIUserAbortError);
      assert.deepEqual(server.stats().byStatus, {});
    });

    it('ends hung requests when it closes', async () => {
      const arrived = signal();
      const server = await start({
        behaviour: () => {
          arrived.resolve();
          return { kind: 'hang' };
        },
      });
      const call = client(server).messages.create({ model: MODEL, max_tokens: 10, messages: user('hi') });
      await arrived.promise;
      await server.close();
      await assert.rejects(call, APIConnectionError);
    });

    it('counts the peak number of requests in flight', async () => {
      const all = signal();
      const server = await start({
        behaviour: (req) => {
          if (req.index === 3) all.resolve();
          return { kind: 'hang' };
        },
      });
      const controller = new AbortController();
      const anthropic = client(server);
      const calls = [0, 1, 2, 3].map((i) =>
        anthropic.messages.create({ model: MODEL, max_tokens: 10, messages: user(`call ${i}`) }, { signal: controller.signal }),
      );
      await all.promise;
      assert.equal(server.stats().maxConcurrent, 4);
      controller.abort();
      for (const call of calls) await assert.rejects(call, APIUserAbortError);
      assert.equal(server.stats().total, 4);
    });

    it('rejects a request without max_tokens with 400 invalid_request_error', async () => {
      const server = await start();
      const request = { model: MODEL, messages: user('hi') } as unknown as Anthropic.MessageCreateParamsNonStreaming;
      await assert.rejects(client(server).messages.create(request), (err: unknown) => {
        assert.ok(err instanceof BadRequestError);
        assert.equal(err.type, 'invalid_request_error');
        assert.equal(err.apiMessage, 'max_tokens: Field required');
        return true;
      });
    });

    it('validates the other required fields in the real API words', async () => {
      const server = await start();
      const anthropic = client(server);
      const cases: Array<[unknown, string]> = [
        [{ max_tokens: 10, messages: user('hi') }, 'model: Field required'],
        [{ model: MODEL, max_tokens: 10 }, 'messages: Field required'],
        [{ model: MODEL, max_tokens: 10, messages: [] }, 'messages: at least one message is required'],
        [{ model: MODEL, max_tokens: 0, messages: user('hi') }, 'max_tokens: Input should be greater than or equal to 1'],
        [{ model: MODEL, max_tokens: 10, messages: [{ role: 'robot', content: 'hi' }] }, "messages.0.role: Input should be 'user' or 'assistant'"],
        [{ model: MODEL, max_tokens: 10, temperature: 0, messages: user('hi') }, 'temperature: Extra inputs are not permitted'],
        [{ model: MODEL, max_tokens: 10, top_p: 0.9, messages: user('hi') }, 'top_p: Extra inputs are not permitted'],
      ];
      for (const [request, message] of cases) {
        await assert.rejects(anthropic.messages.create(request as Anthropic.MessageCreateParamsNonStreaming), (err: unknown) => {
          assert.ok(err instanceof BadRequestError, message);
          assert.equal(err.apiMessage, message);
          return true;
        });
      }
    });

    it('answers an unknown model with 404 not_found_error', async () => {
      const server = await start();
      await assert.rejects(client(server).messages.create({ model: 'gpt-4o', max_tokens: 10, messages: user('hi') }), (err: unknown) => {
        assert.ok(err instanceof NotFoundError);
        assert.equal(err.type, 'not_found_error');
        assert.equal(err.apiMessage, 'model: gpt-4o');
        return true;
      });
    });

    it('forces a 400 with an invalid-request behaviour', async () => {
      const server = await start({ behaviour: () => ({ kind: 'invalid-request', message: 'prompt is too long: 250000 tokens > 200000 maximum' }) });
      await assert.rejects(client(server).messages.create({ model: MODEL, max_tokens: 10, messages: user('hi') }), (err: unknown) => {
        assert.ok(err instanceof BadRequestError);
        assert.equal(err.apiMessage, 'prompt is too long: 250000 tokens > 200000 maximum');
        return true;
      });
    });

    it('sends an error event mid-stream, which the SDK raises from the stream', async () => {
      const server = await start({ behaviour: () => ({ kind: 'stream-error' }) });
      const stream = client(server).messages.stream({ model: MODEL, max_tokens: 200, messages: user(DOCUMENT) });
      let streamed = '';
      stream.on('text', (delta) => (streamed += delta));
      await assert.rejects(stream.finalMessage(), (err: unknown) => {
        assert.ok(err instanceof APIError);
        assert.equal(err.type, 'overloaded_error');
        return true;
      });
      assert.ok(streamed.length > 0, 'part of the answer arrived before the error');
    });

    it('answers with the answer hook or a text behaviour, honouring max_tokens and stop_sequences', async () => {
      const server = await start({
        answer: (req: StandInRequest) => `answer number ${req.index} END and more`,
        behaviour: (req) => (req.index === 2 ? { kind: 'text', text: 'x'.repeat(100) } : undefined),
      });
      const anthropic = client(server);
      const first = await anthropic.messages.create({ model: MODEL, max_tokens: 100, messages: user('hi') });
      assert.deepEqual(first.content, [{ type: 'text', text: 'answer number 0 END and more' }]);

      const stopped = await anthropic.messages.create({ model: MODEL, max_tokens: 100, stop_sequences: [' END'], messages: user('hi') });
      assert.deepEqual(stopped.content, [{ type: 'text', text: 'answer number 1' }]);
      assert.equal(stopped.stop_reason, 'stop_sequence');
      assert.equal(stopped.stop_sequence, ' END');

      const truncated = await anthropic.messages.create({ model: MODEL, max_tokens: 5, messages: user('hi') });
      assert.deepEqual(truncated.content, [{ type: 'text', text: 'x'.repeat(20) }]);
      assert.equal(truncated.stop_reason, 'max_tokens');
      assert.equal(truncated.usage.output_tokens, 5);
    });

    it('delays answers by latencyMs and by a delay behaviour', async () => {
      const server = await start({
        latencyMs: 30,
        behaviour: (req) => (req.index === 1 ? { kind: 'delay', ms: 80 } : undefined),
      });
      const anthropic = client(server);
      let began = performance.now();
      await anthropic.messages.create({ model: MODEL, max_tokens: 10, messages: user('hi') });
      assert.ok(performance.now() - began >= 25);
      began = performance.now();
      await anthropic.messages.create({ model: MODEL, max_tokens: 10, messages: user('hi') });
      assert.ok(performance.now() - began >= 75);
    });

    it('counts tokens as ceil(chars / 4)', async () => {
      const server = await start();
      const result = await client(server).messages.countTokens({ model: MODEL, system: 'Be brief.', messages: user('hello world!') });
      assert.deepEqual(result, { input_tokens: Math.ceil(('Be brief.'.length + 'hello world!'.length) / 4) });
      assert.equal(server.requests.length, 0, 'count_tokens is not a messages request');
    });

    it('binds loopback only and answers unknown paths with 404', async () => {
      const server = await start();
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const response = await fetch(`${server.url}/v1/complete`, { method: 'POST', body: '{}' });
      assert.equal(response.status, 404);
      const body = (await response.json()) as ErrorBody;
      assert.equal(body.type, 'error');
      assert.equal(body.error.type, 'not_found_error');
    });
  });

  describe('demoAnswer', () => {
    const rubric =
      'You grade answers. The reference answer is between <reference> and </reference> tags and the candidate ' +
      'between <candidate> and </candidate> tags. Reply with a JSON object {"correct": bool, "score": 1..5}.';
    const judge = (reference: string, candidate: string) =>
      demoAnswer({
        model: MODEL,
        max_tokens: 200,
        system: rubric,
        messages: user(`<reference>${reference}</reference>\n<candidate>${candidate}</candidate>`),
      });
    const parseVerdict = (text: string) => JSON.parse(text.replace(/^```json\n|\n```$/g, ''));

    it('judges by token-set F1 between the candidate and reference blocks', () => {
      const reference = 'A refund of $2,400 was approved on 14 March.';
      assert.deepEqual(
        { ...parseVerdict(judge(reference, 'The refund of $2,400 was approved on 14 March.')), reason: undefined },
        { correct: true, score: 5, reason: undefined },
      );
      const wrong = parseVerdict(judge(reference, 'The laptops were delivered on time.'));
      assert.equal(wrong.correct, false);
      assert.equal(wrong.score, 1);
      const partial = parseVerdict(judge(reference, 'refund approved 14 March'));
      // Candidate {refund, approv, 14, march} against {refund, 2, 400, approv, 14, march}: P 1, R 4/6, F1 0.8.
      assert.equal(partial.correct, true);
      assert.equal(partial.score, 5);
      // Candidate {refund, delay} against the same reference: P 1/2, R 1/6, F1 0.25, the pass mark.
      const borderline = parseVerdict(judge(reference, 'refund delayed'));
      assert.deepEqual([borderline.correct, borderline.score], [true, 3]);
      const below = parseVerdict(judge(reference, 'refund delayed twice by finance'));
      assert.equal(below.correct, false);
    });

    it('wraps some verdicts in a json fence, chosen by a hash of the request', () => {
      const answers = ['yes', 'no', 'maybe', 'refund', 'laptops', 'March', 'strike', 'screens'].map((c) => judge('refund', c));
      assert.ok(answers.some((a) => a.startsWith('```json\n')));
      assert.ok(answers.some((a) => a.startsWith('{')));
      for (const answer of answers) assert.equal(typeof parseVerdict(answer).correct, 'boolean');
      assert.equal(judge('refund', 'yes'), judge('refund', 'yes'));
    });

    it('extracts as many sentences as the system prompt asks for', () => {
      const summarise = (system: string) => demoAnswer({ system, messages: user(`Summarise this for Dana:\n\n${DOCUMENT}`) });
      const sentences = (text: string) => text.split(/(?<=\.)\s+/).length;
      assert.equal(sentences(summarise('Summarise the document.')), 2);
      assert.equal(sentences(summarise('Summarise the document in three sentences.')), 3);
      assert.equal(sentences(summarise('Summarise the document in a single sentence.')), 1);
      assert.equal(summarise('Summarise in 2 bullet points.').split('\n').filter((l) => l.startsWith('- ')).length, 2);
      assert.ok(summarise('Summarise in three sentences, at most 12 words.').split(/\s+/).length <= 12);
      assert.ok(!summarise('Summarise.').includes('Dana'), 'the instruction line is not part of the document');
    });

    it('lets a focus in the system prompt change which sentences are chosen', () => {
      const plain = demoAnswer({ system: 'Summarise in one sentence.', messages: user(`<document>${DOCUMENT}</document>`) });
      const focused = demoAnswer({
        system: 'Summarise in one sentence. Focus on the warehouse strike.',
        messages: user(`<document>${DOCUMENT}</document>`),
      });
      assert.notEqual(plain, focused);
      assert.equal(focused, 'The shipment arrived late on 12 March because of a warehouse strike.');
    });

    it('picks a label from the system prompt by keyword match, descriptions included', () => {
      const ticket = user('My invoice shows a double charge, please refund it.');
      assert.equal(demoAnswer({ system: 'Classify the ticket. Labels: billing, technical, other.', messages: user('I was billed twice.') }), 'billing');
      // Without descriptions nothing matches, so the fallback label wins; describing the labels changes that.
      assert.equal(demoAnswer({ system: 'Classify into one of these categories: billing, technical, other.', messages: ticket }), 'other');
      assert.equal(
        demoAnswer({
          system: 'Classify the ticket.\nLabels:\n- billing: invoices, charges, refunds\n- technical: crashes, errors\n- other',
          messages: ticket,
        }),
        'billing',
      );
      assert.equal(demoAnswer({ system: 'Answer with one of billing, technical or account.', messages: user('hello') }), 'billing');
    });

    it('reads descriptions wrapped over indented lines, and answers in the JSON shape the prompt shows', () => {
      const system = [
        'Labels:',
        '- billing: invoices and plan changes,',
        '  refunds and duplicate charges.',
        '- outage: the service is down',
        '  for many users at once.',
        '',
        'Reply with one JSON object, for example {"label": "billing"}.',
      ].join('\n');
      assert.equal(demoAnswer({ system, messages: user('We see a duplicate charge on our card.') }), '{"label":"billing"}');
      assert.equal(demoAnswer({ system, messages: user('Down for all users since noon.') }), '{"label":"outage"}');
    });

    it('does not mistake ordinary prose for a label list', () => {
      const answer = demoAnswer({ system: 'You are one of the best summarisers, concise and accurate.', messages: user(DOCUMENT) });
      assert.ok(answer.startsWith('Acme Corp ordered'));
    });

    it('continues from an assistant prefill', () => {
      const body = { system: rubric, messages: [...user('<reference>a b</reference><candidate>a b</candidate>'), { role: 'assistant', content: '{' }] };
      const full = demoAnswer({ ...body, messages: body.messages.slice(0, 1) });
      const continued = demoAnswer(body);
      if (full.startsWith('{')) assert.equal(`{${continued}`, full);
      else assert.equal(continued, full);
    });
  });
});
