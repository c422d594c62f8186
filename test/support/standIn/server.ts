/**
 * A loopback stand-in for the Anthropic Messages API, for tests, benchmarks and the demo.
 *
 * It is a deterministic demo server, not a model. It speaks the real wire format closely
 * enough for the official `@anthropic-ai/sdk` client to be pointed at it unchanged
 * (`new Anthropic({ apiKey, baseURL: standIn.url })`):
 *
 * - `POST /v1/messages`, JSON or `stream: true` server-sent events
 *   (`message_start`, `content_block_start`, `ping`, `content_block_delta` with `text_delta`,
 *   `content_block_stop`, `message_delta` with the final usage, `message_stop`);
 * - `POST /v1/messages/count_tokens`, answering `{"input_tokens": N}`;
 * - errors as `{"type":"error","error":{"type","message"},"request_id"}` with the real status
 *   codes: 400 `invalid_request_error`, 401 `authentication_error`, 404 `not_found_error`,
 *   413 `request_too_large`, 429 `rate_limit_error` (with `retry-after` in seconds),
 *   500 `api_error`, 529 `overloaded_error`;
 * - `request-id` and `anthropic-ratelimit-*` headers on every response.
 *
 * It binds 127.0.0.1 only, and checks the API key (`x-api-key`, or `Authorization: Bearer`, which
 * is how current SDKs send it) and the `anthropic-version` header. Token counts are
 * approximations: `ceil(chars / 4)`.
 * `max_tokens` and `stop_sequences` are honoured, so `stop_reason` can be `end_turn`,
 * `max_tokens` or `stop_sequence`.
 *
 * Unless told otherwise (`answer`, or a `text` behaviour) it answers with `demoAnswer` of
 * `demoAnswers.ts`, whose rules are written there; requests are checked by `requestValidation.ts`.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { demoAnswer } from './demoAnswers';
import type { StandInRateLimits } from './rateLimits';
import { RateLimiter } from './rateLimits';
import type { MessagesBody } from './requestValidation';
import { approxTokens, inputTokens, validateRequest } from './requestValidation';

/** How to start a stand-in. Every field is optional. */
export interface StandInOptions {
  /** Port to listen on; 0 (the default) picks a free one. The server binds 127.0.0.1 only. */
  port?: number;
  /**
   * The API key every request must carry, as `x-api-key: <key>` or `Authorization: Bearer <key>`
   * (the SDK sends the latter); missing or wrong is a 401. Default `test-key`.
   */
  apiKey?: string;
  /** A fixed delay before each answer, in milliseconds (errors and hangs included). */
  latencyMs?: number;
  /**
   * Chooses how to answer one authenticated, valid `/v1/messages` request; `undefined` means `ok`.
   * Called once per request, in arrival order.
   */
  behaviour?: (req: StandInRequest) => StandInBehaviour | undefined;
  /** The text of a successful answer. Default: {@link demoAnswer} of the request body. */
  answer?: (req: StandInRequest) => string;
  /**
   * Requests- and tokens-per-minute windows and a cap on requests in flight, enforced as the API
   * does (see `rateLimits.ts`); none by default. They apply to requests a `behaviour` lets through
   * as answers (`ok`, `delay`, `text`).
   */
  rateLimits?: StandInRateLimits;
}

/** One `POST /v1/messages` request as the stand-in received it. */
export interface StandInRequest {
  /** Position among the `/v1/messages` requests received since start, from 0. */
  index: number;
  /**
   * The parsed JSON body: a Messages API request, or whatever the client sent. Left untyped on
   * purpose, so that tests and hooks can read any field the client put there.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  /** The request headers, names lower-cased. */
  headers: Record<string, string | string[] | undefined>;
}

/**
 * How the stand-in answers one request.
 * - `ok`: a normal answer (text from `answer`, else {@link demoAnswer});
 * - `rate-limit`: 429 `rate_limit_error` with `retry-after: retryAfterSeconds` (fractions allowed);
 * - `overloaded`: 529 `overloaded_error`, with `retry-after` when given;
 * - `server-error`: 500 `api_error`;
 * - `hang`: never answers; the request ends when the client aborts or the stand-in closes;
 * - `invalid-request`: 400 `invalid_request_error` with `message`;
 * - `text`: a normal answer with exactly `text`;
 * - `delay`: a normal answer after `ms` milliseconds instead of `latencyMs`;
 * - `stream-error`: for a streaming request, the stream starts, sends part of the answer, then
 *   an `error` event of type `overloaded_error` (as the real API does mid-stream); for a
 *   non-streaming request, a 529;
 * - `cut-body`: a 200 whose JSON body stops half-way and whose connection is then destroyed (a
 *   proxy or the network dropping it: the client sees "terminated");
 * - `raw`: exactly `body` with `status` and `contentType` (an HTML error page from a proxy, a
 *   body that is not JSON, JSON that is not a message).
 */
export type StandInBehaviour =
  | { kind: 'ok' }
  | { kind: 'rate-limit'; retryAfterSeconds: number }
  | { kind: 'overloaded'; retryAfterSeconds?: number }
  | { kind: 'server-error' }
  | { kind: 'hang' }
  | { kind: 'invalid-request'; message: string }
  | { kind: 'text'; text: string }
  | { kind: 'delay'; ms: number }
  | { kind: 'stream-error' }
  | { kind: 'cut-body' }
  | { kind: 'raw'; status: number; contentType: string; body: string };

/** A running stand-in. */
export interface StandIn {
  /** Base URL for the SDK's `baseURL`, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  url: string;
  port: number;
  /** Every `/v1/messages` request whose body was JSON, in arrival order (`requests[i].index === i`). */
  requests: StandInRequest[];
  /**
   * Counts over every HTTP request on any path: `total` received, `byStatus` of the answers
   * written (a request that hung and was aborted has none), and the peak number in flight at once.
   */
  stats(): { total: number; byStatus: Record<number, number>; maxConcurrent: number };
  /** Stops listening, destroys every open connection (hung requests included) and cancels pending answers. */
  close(): Promise<void>;
}

const DEFAULT_API_KEY = 'test-key';
const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** Starts a stand-in on 127.0.0.1 and resolves once it is listening. */
export function startStandIn(options: StandInOptions = {}): Promise<StandIn> {
  const apiKey = options.apiKey ?? DEFAULT_API_KEY;
  const requests: StandInRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const byStatus: Record<number, number> = {};
  let total = 0;
  let inFlight = 0;
  let maxConcurrent = 0;
  let closed = false;
  const limiter = new RateLimiter(options.rateLimits ?? {});
  /** Output tokens of the answer each admitted response sent, charged when it closes. */
  const outputTokensSent = new WeakMap<ServerResponse, number>();

  /** Runs `fn` after `ms` unless the response has gone (client abort, or close()). */
  function later(res: ServerResponse, ms: number, fn: () => void): void {
    if (ms <= 0) {
      fn();
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!res.destroyed && !res.writableEnded) fn();
    }, ms);
    timers.add(timer);
    res.once('close', () => {
      clearTimeout(timer);
      timers.delete(timer);
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = newId('req_');
    res.setHeader('request-id', requestId);
    const path = (req.url ?? '/').split('?')[0];
    const isMessages = path === '/v1/messages';
    const isCount = path === '/v1/messages/count_tokens';

    if (req.method !== 'POST' || (!isMessages && !isCount)) {
      req.resume();
      sendError(res, requestId, 404, 'not_found_error', 'Not Found');
      return;
    }

    let raw: Buffer;
    try {
      raw = await readBody(req);
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        sendError(res, requestId, 413, 'request_too_large', 'Request exceeds the maximum allowed number of bytes.');
      }
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      sendError(res, requestId, 400, 'invalid_request_error', 'There was an issue with the format of your request: the body is not valid JSON');
      return;
    }

    let request: StandInRequest | undefined;
    if (isMessages) {
      request = { index: requests.length, body, headers: { ...req.headers } };
      requests.push(request);
    }

    // The key may come as `x-api-key` or, as recent SDKs send it, `Authorization: Bearer <key>`.
    const xApiKey = req.headers['x-api-key'];
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (xApiKey === undefined && bearer === undefined) {
      sendError(res, requestId, 401, 'authentication_error', 'x-api-key header is required');
      return;
    }
    if (xApiKey !== undefined ? xApiKey !== apiKey : bearer !== apiKey) {
      sendError(res, requestId, 401, 'authentication_error', xApiKey !== undefined ? 'invalid x-api-key' : 'Invalid bearer token');
      return;
    }
    if (req.headers['anthropic-version'] === undefined) {
      sendError(res, requestId, 400, 'invalid_request_error', 'anthropic-version: header is required');
      return;
    }

    const problem = validateRequest(body, isMessages, String(req.headers['anthropic-version']));
    if (problem) {
      sendError(res, requestId, problem.status, problem.type, problem.message);
      return;
    }

    const valid = body as MessagesBody;
    if (isCount) {
      later(res, options.latencyMs ?? 0, () => sendJson(res, 200, { input_tokens: inputTokens(valid) }, limiter.headers()));
      return;
    }

    const standInRequest = request as StandInRequest;
    const behaviour = options.behaviour?.(standInRequest) ?? { kind: 'ok' };
    if (behaviour.kind === 'ok' || behaviour.kind === 'delay' || behaviour.kind === 'text') {
      // The API refuses at once, before any work: no latency for a 429.
      const refusal = limiter.admit(inputTokens(valid));
      if (refusal) {
        sendError(res, requestId, 429, 'rate_limit_error', refusal.message, { 'retry-after': String(refusal.retryAfterSeconds), ...limiter.headers() });
        return;
      }
      res.once('close', () => limiter.finish(outputTokensSent.get(res) ?? 0));
    }
    const latency = behaviour.kind === 'delay' ? behaviour.ms : (options.latencyMs ?? 0);
    later(res, latency, () => respond(res, requestId, standInRequest, valid, behaviour));
  }

  function respond(
    res: ServerResponse,
    requestId: string,
    req: StandInRequest,
    body: MessagesBody,
    behaviour: StandInBehaviour,
  ): void {
    switch (behaviour.kind) {
      case 'hang':
        // Deliberately left open: the client's abort or close() ends it.
        return;
      case 'rate-limit': {
        const resetAt = new Date(Date.now() + behaviour.retryAfterSeconds * 1000);
        sendError(
          res,
          requestId,
          429,
          'rate_limit_error',
          `This request would exceed the rate limit for your organization of ${limiter.headers()["anthropic-ratelimit-requests-limit"]} requests per minute. Please try again after ${behaviour.retryAfterSeconds} seconds.`,
          {
            'retry-after': String(behaviour.retryAfterSeconds),
            ...limiter.headers(),
            'anthropic-ratelimit-requests-remaining': '0',
            'anthropic-ratelimit-requests-reset': resetAt.toISOString().replace(/\.\d+Z$/, 'Z'),
          },
        );
        return;
      }
      case 'overloaded':
        sendError(
          res,
          requestId,
          529,
          'overloaded_error',
          'Overloaded',
          behaviour.retryAfterSeconds === undefined ? {} : { 'retry-after': String(behaviour.retryAfterSeconds) },
        );
        return;
      case 'server-error':
        sendError(res, requestId, 500, 'api_error', 'Internal server error');
        return;
      case 'invalid-request':
        sendError(res, requestId, 400, 'invalid_request_error', behaviour.message);
        return;
      case 'stream-error':
        if (body.stream !== true) {
          sendError(res, requestId, 529, 'overloaded_error', 'Overloaded');
          return;
        }
        sendStream(res, requestId, body, completion(body, demoOrCustom(req)), true);
        return;
      case 'text':
        answer(res, requestId, body, behaviour.text);
        return;
      case 'cut-body': {
        const text = JSON.stringify(messageJson(body, completion(body, demoOrCustom(req))));
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...limiter.headers() });
        res.write(text.slice(0, Math.floor(text.length / 2)));
        // Let the half reach the client before the connection goes.
        setTimeout(() => res.destroy(), 20);
        return;
      }
      case 'raw':
        res.writeHead(behaviour.status, { 'content-type': behaviour.contentType, 'content-length': Buffer.byteLength(behaviour.body) });
        res.end(behaviour.body);
        return;
      case 'ok':
      case 'delay':
        answer(res, requestId, body, demoOrCustom(req));
        return;
      default:
        assertNever(behaviour);
    }
  }

  function demoOrCustom(req: StandInRequest): string {
    return options.answer ? options.answer(req) : demoAnswer(req.body);
  }

  function answer(res: ServerResponse, requestId: string, body: MessagesBody, text: string): void {
    const done = completion(body, text);
    outputTokensSent.set(res, done.outputTokens);
    if (body.stream === true) {
      sendStream(res, requestId, body, done, false);
      return;
    }
    sendJson(res, 200, messageJson(body, done), limiter.headers());
  }

  function sendStream(res: ServerResponse, requestId: string, body: MessagesBody, done: Completion, failMidway: boolean): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      ...limiter.headers(),
    });
    const event = (type: string, data: unknown): void => {
      res.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const start = messageJson(body, { ...done, text: '', stopReason: null, stopSequence: null, outputTokens: 1 });
    event('message_start', { type: 'message_start', message: { ...start, content: [] } });
    event('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    event('ping', { type: 'ping' });
    const chunks = textChunks(done.text);
    const sent = failMidway ? chunks.slice(0, Math.ceil(chunks.length / 2)) : chunks;
    for (const chunk of sent) {
      event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: chunk } });
    }
    if (failMidway) {
      event('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' }, request_id: requestId });
      res.end();
      return;
    }
    event('content_block_stop', { type: 'content_block_stop', index: 0 });
    event('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: done.stopReason, stop_sequence: done.stopSequence },
      usage: {
        input_tokens: done.inputTokens,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: done.outputTokens,
      },
    });
    event('message_stop', { type: 'message_stop' });
    res.end();
  }

  const server: Server = createServer((req, res) => {
    total += 1;
    inFlight += 1;
    maxConcurrent = Math.max(maxConcurrent, inFlight);
    res.once('finish', () => {
      byStatus[res.statusCode] = (byStatus[res.statusCode] ?? 0) + 1;
    });
    res.once('close', () => {
      inFlight -= 1;
    });
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        sendError(res, String(res.getHeader('request-id') ?? ''), 500, 'api_error', `Internal server error: ${String(err)}`);
      } else {
        res.destroy();
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  return new Promise<StandIn>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        requests,
        stats: () => ({ total, byStatus: { ...byStatus }, maxConcurrent }),
        close: () => {
          if (closed) return Promise.resolve();
          closed = true;
          for (const timer of timers) clearTimeout(timer);
          timers.clear();
          return new Promise<void>((done) => {
            server.close(() => done());
            for (const socket of sockets) socket.destroy();
          });
        },
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Wire format

interface Completion {
  text: string;
  stopReason: 'end_turn' | 'max_tokens' | 'stop_sequence' | null;
  stopSequence: string | null;
  inputTokens: number;
  outputTokens: number;
}

/** Applies `stop_sequences` and `max_tokens` to an answer text, as the real API would. */
function completion(body: MessagesBody, fullText: string): Completion {
  let text = fullText;
  let stopReason: Completion['stopReason'] = 'end_turn';
  let stopSequence: string | null = null;
  if (body.stop_sequences) {
    let cut = -1;
    for (const seq of body.stop_sequences) {
      if (seq === '') continue;
      const at = text.indexOf(seq);
      if (at >= 0 && (cut < 0 || at < cut)) {
        cut = at;
        stopSequence = seq;
      }
    }
    if (cut >= 0) {
      text = text.slice(0, cut);
      stopReason = 'stop_sequence';
    }
  }
  const maxChars = body.max_tokens * 4;
  if (text.length > maxChars) {
    text = Array.from(text).slice(0, maxChars).join('');
    stopReason = 'max_tokens';
    stopSequence = null;
  }
  return { text, stopReason, stopSequence, inputTokens: inputTokens(body), outputTokens: approxTokens(text.length) };
}

function messageJson(body: MessagesBody, done: Completion): Record<string, unknown> {
  return {
    id: newId('msg_'),
    type: 'message',
    role: 'assistant',
    model: body.model,
    content: [{ type: 'text', text: done.text }],
    stop_reason: done.stopReason,
    stop_sequence: done.stopSequence,
    usage: {
      input_tokens: done.inputTokens,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
      output_tokens: done.outputTokens,
      service_tier: 'standard',
    },
  };
}

function sendJson(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendError(
  res: ServerResponse,
  requestId: string,
  status: number,
  type: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { type: 'error', error: { type, message }, request_id: requestId }, headers);
}

/** Splits text into deltas of up to three words; concatenated, they are the text exactly. */
function textChunks(text: string): string[] {
  const words = text.match(/\s*\S+\s*/g);
  if (!words) return text === '' ? [] : [text];
  const chunks: string[] = [];
  for (let i = 0; i < words.length; i += 3) chunks.push(words.slice(i, i + 3).join(''));
  return chunks;
}

const ID_ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

function newId(prefix: string): string {
  const bytes = randomBytes(22);
  let id = `${prefix}01`;
  for (const byte of bytes) id += ID_ALPHABET[byte % ID_ALPHABET.length];
  return id;
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

function assertNever(value: never): never {
  throw new Error(`unexpected value ${JSON.stringify(value)}`);
}

