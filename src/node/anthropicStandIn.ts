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
 * Unless told otherwise (`answer`, or a `text` behaviour) it answers with {@link demoAnswer},
 * whose rules are:
 *
 * **Judge requests.** A request is a judge request when it contains both a
 * `<reference>…</reference>` block and a `<candidate>…</candidate>` block (tag names are
 * case-insensitive). Each block is looked for in the user messages first, then in the system
 * prompt; when a tag pair occurs more than once in the same place (a rubric that describes
 * the tags before using them), the last block wins. The answer is a JSON object
 * `{"correct": bool, "score": 1..5, "rationale": string}` where, with F1 the token-set F1
 * between candidate and reference (lower-cased words, crude suffix stemming, common English
 * stop words dropped unless that leaves nothing), `correct = F1 >= 0.25` and
 * `score = min(5, 1 + round(8 * F1))`. A hash of the request decides whether the object is wrapped in
 * a fenced ```json block, so clients exercise tolerant parsing.
 *
 * **Label requests.** When the system prompt lists labels (`Labels: a, b, c`,
 * `categories: a, b or c`, `one of: a | b | c`, a bare `one of a, b or c` (it needs the "or"
 * or a "|", so prose like "one of the best writers" is not a list), or such an introduction ending its line,
 * followed by `- label: description` bullets), the answer is exactly one of those labels:
 * the one whose words, plus the words of its description in the system prompt, occur most
 * often in the user message. Ties go to the earlier label; when nothing matches, a label
 * named other/unknown/none/general/misc if listed, else the first.
 *
 * **Other task requests** are answered extractively from the last user message's document:
 * the content of its first `<document>` (or `<text>`, `<article>`, `<email>`, `<ticket>`,
 * `<transcript>`, `<context>`, `<input>`) block, else the message without its instruction
 * lines (lines ending in `:`, and a leading instruction paragraph). The answer is the N most
 * salient sentences in document order, where:
 * - N comes from the system prompt, else the user message: "three sentences",
 *   "2 sentences", "a single sentence", "in one sentence"; "N bullet points" gives N lines
 *   starting with `- `; by default N = 2;
 * - salience is twice the number of the system prompt's topical words the sentence contains
 *   ("Focus on refunds and dates" favours sentences about refunds and dates) plus the mean
 *   document frequency of its words; ties go to the earlier sentence;
 * - "at most / no more than / under / up to N words" in the system prompt truncates the
 *   answer to N words.
 *
 * An assistant prefill in the last message is honoured: when the answer starts with it, the
 * answer continues from it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

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
 *   non-streaming request, a 529.
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
  | { kind: 'stream-error' };

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
const REQUESTS_PER_MINUTE = 4000;
const TOKENS_PER_MINUTE = 400_000;

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
      later(res, options.latencyMs ?? 0, () => sendJson(res, 200, { input_tokens: inputTokens(valid) }, rateLimitHeaders()));
      return;
    }

    const standInRequest = request as StandInRequest;
    const behaviour = options.behaviour?.(standInRequest) ?? { kind: 'ok' };
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
          `This request would exceed the rate limit for your organization of ${REQUESTS_PER_MINUTE} requests per minute. Please try again after ${behaviour.retryAfterSeconds} seconds.`,
          { 'retry-after': String(behaviour.retryAfterSeconds), ...rateLimitHeaders(0, resetAt) },
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
    if (body.stream === true) {
      sendStream(res, requestId, body, done, false);
      return;
    }
    sendJson(res, 200, messageJson(body, done), rateLimitHeaders());
  }

  function sendStream(res: ServerResponse, requestId: string, body: MessagesBody, done: Completion, failMidway: boolean): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      ...rateLimitHeaders(),
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

/** A content block as it travels; only text blocks are read. */
interface WireBlock {
  type: string;
  text?: unknown;
}

/** A Messages API request body that passed {@link validateRequest}: the fields the stand-in reads. */
interface MessagesBody {
  model: string;
  /** Absent on count_tokens requests. */
  max_tokens: number;
  messages: Array<{ role: 'user' | 'assistant'; content: string | WireBlock[] }>;
  system?: string | WireBlock[];
  stream?: boolean;
  stop_sequences?: string[];
  tools?: unknown;
}

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

function rateLimitHeaders(requestsRemaining = REQUESTS_PER_MINUTE - 1, resetAt = new Date(Date.now() + 60_000)): Record<string, string> {
  const reset = resetAt.toISOString().replace(/\.\d+Z$/, 'Z');
  const tokensRemaining = requestsRemaining === 0 ? 0 : TOKENS_PER_MINUTE;
  const headers: Record<string, string> = {
    'anthropic-ratelimit-requests-limit': String(REQUESTS_PER_MINUTE),
    'anthropic-ratelimit-requests-remaining': String(requestsRemaining),
    'anthropic-ratelimit-requests-reset': reset,
  };
  for (const kind of ['tokens', 'input-tokens', 'output-tokens']) {
    headers[`anthropic-ratelimit-${kind}-limit`] = String(TOKENS_PER_MINUTE);
    headers[`anthropic-ratelimit-${kind}-remaining`] = String(tokensRemaining);
    headers[`anthropic-ratelimit-${kind}-reset`] = reset;
  }
  return headers;
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

// ---------------------------------------------------------------------------------------------
// Validation, in the real API's words

interface Problem {
  status: number;
  type: string;
  message: string;
}

function invalid(message: string): Problem {
  return { status: 400, type: 'invalid_request_error', message };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The API version from which the Messages API has no sampling parameters (temperature, top_p, top_k). */
export const NO_SAMPLING_API_VERSION = '2026-10-21';

function validateRequest(body: unknown, needsMaxTokens: boolean, apiVersion: string): Problem | undefined {
  if (!isRecord(body)) {
    return invalid('Input should be a valid dictionary or object to extract fields from');
  }
  if (body.model === undefined) return invalid('model: Field required');
  if (typeof body.model !== 'string') return invalid('model: Input should be a valid string');
  if (needsMaxTokens) {
    if (body.max_tokens === undefined) return invalid('max_tokens: Field required');
    if (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens)) {
      return invalid('max_tokens: Input should be a valid integer');
    }
    if (body.max_tokens < 1) return invalid('max_tokens: Input should be greater than or equal to 1');
  }
  if (body.messages === undefined) return invalid('messages: Field required');
  if (!Array.isArray(body.messages)) return invalid('messages: Input should be a valid list');
  if (body.messages.length === 0) return invalid('messages: at least one message is required');
  for (let i = 0; i < body.messages.length; i++) {
    const problem = validateMessage(body.messages[i], `messages.${i}`);
    if (problem) return problem;
  }
  if (body.system !== undefined) {
    if (Array.isArray(body.system)) {
      for (let i = 0; i < body.system.length; i++) {
        const block: unknown = body.system[i];
        if (!isRecord(block) || block.type !== 'text' || typeof block.text !== 'string') {
          return invalid(`system.${i}: Input should be a valid text block`);
        }
      }
    } else if (typeof body.system !== 'string') {
      return invalid('system: Input should be a valid string or a list of text blocks');
    }
  }
  // As the real API: under 2026-10-21 a sampling parameter is an unknown field, whatever its value.
  if (apiVersion >= NO_SAMPLING_API_VERSION) {
    for (const name of ['temperature', 'top_p', 'top_k']) {
      if (body[name] !== undefined) return invalid(`${name}: Extra inputs are not permitted`);
    }
  }
  if (body.temperature !== undefined) {
    if (typeof body.temperature !== 'number') return invalid('temperature: Input should be a valid number');
    if (body.temperature < 0 || body.temperature > 1) return invalid('temperature: range: 0..1');
  }
  if (body.stream !== undefined && typeof body.stream !== 'boolean') {
    return invalid('stream: Input should be a valid boolean');
  }
  if (body.stop_sequences !== undefined && (!Array.isArray(body.stop_sequences) || body.stop_sequences.some((s: unknown) => typeof s !== 'string'))) {
    return invalid('stop_sequences: Input should be a valid list of strings');
  }
  if (!body.model.startsWith('claude-')) {
    return { status: 404, type: 'not_found_error', message: `model: ${body.model}` };
  }
  return undefined;
}

function validateMessage(message: unknown, where: string): Problem | undefined {
  if (!isRecord(message)) {
    return invalid(`${where}: Input should be a valid dictionary`);
  }
  if (message.role === undefined) return invalid(`${where}.role: Field required`);
  if (message.role !== 'user' && message.role !== 'assistant') {
    return invalid(`${where}.role: Input should be 'user' or 'assistant'`);
  }
  if (message.content === undefined) return invalid(`${where}.content: Field required`);
  if (typeof message.content === 'string') return undefined;
  if (!Array.isArray(message.content)) return invalid(`${where}.content: Input should be a valid string or list`);
  for (let i = 0; i < message.content.length; i++) {
    const block: unknown = message.content[i];
    if (!isRecord(block) || typeof block.type !== 'string') {
      return invalid(`${where}.content.${i}.type: Field required`);
    }
    if (block.type === 'text') {
      if (typeof block.text !== 'string') return invalid(`${where}.content.${i}.text: Field required`);
      if (block.text === '') return invalid('messages: text content blocks must be non-empty');
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Token approximations

function approxTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

function inputTokens(body: Pick<MessagesBody, 'system' | 'messages' | 'tools'>): number {
  let chars = textOf(body.system).length;
  for (const message of body.messages) {
    if (typeof message.content === 'string') {
      chars += message.content.length;
      continue;
    }
    for (const block of message.content) {
      chars += block.type === 'text' ? String(block.text).length : JSON.stringify(block).length;
    }
  }
  if (Array.isArray(body.tools)) chars += JSON.stringify(body.tools).length;
  return approxTokens(chars);
}

// ---------------------------------------------------------------------------------------------
// The deterministic answerer

/** The text of a `system` or message `content` value: a string, or its text blocks joined by newlines. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const texts: string[] = [];
  for (const block of content as unknown[]) {
    if (isRecord(block) && block.type === 'text' && typeof block.text === 'string') texts.push(block.text);
  }
  return texts.join('\n');
}

/**
 * The stand-in's default answer to a Messages request body: a judge verdict for a judge
 * request, a label for a label request, else extracted sentences. Deterministic: the same
 * body always gets the same text. The rules are at the top of this file.
 */
export function demoAnswer(body: unknown): string {
  const request = isRecord(body) ? body : {};
  const messages = (Array.isArray(request.messages) ? (request.messages as unknown[]) : []).filter(isRecord);
  const system = textOf(request.system);
  const userTexts = messages.filter((m) => m.role === 'user').map((m) => textOf(m.content));
  const lastUser = userTexts.length > 0 ? userTexts[userTexts.length - 1] : '';
  const last = messages[messages.length - 1];
  const prefill = last?.role === 'assistant' ? textOf(last.content) : '';

  const judged = judgeAnswer(userTexts.join('\n'), system, hashOf(body));
  const text = judged ?? labelAnswer(system, lastUser) ?? extractiveAnswer(system, lastUser);
  return prefill !== '' && text.startsWith(prefill) ? text.slice(prefill.length) : text;
}

function hashOf(value: unknown): Buffer {
  return createHash('sha256').update(JSON.stringify(value) ?? '').digest();
}

function lastBlock(text: string, tag: string): string | undefined {
  const pattern = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'gi');
  let found: string | undefined;
  for (const match of text.matchAll(pattern)) found = match[1];
  return found;
}

/**
 * Word overlap from which the demo judge calls a candidate correct. An extractive answer shares about
 * a third of its words with a hand-written summary of the same ticket; 0.25 makes the bundled example
 * suites pass most examples, as a reasonable prompt would with a real judge.
 */
export const JUDGE_PASS_F1 = 0.25;

function judgeAnswer(user: string, system: string, hash: Buffer): string | undefined {
  // The user messages carry the example; a system prompt may only describe the tags.
  const reference = lastBlock(user, 'reference') ?? lastBlock(system, 'reference');
  const candidate = lastBlock(user, 'candidate') ?? lastBlock(system, 'candidate');
  if (reference === undefined || candidate === undefined) return undefined;
  const f1 = tokenSetF1(candidate, reference);
  const verdict = {
    correct: f1 >= JUDGE_PASS_F1,
    score: Math.min(5, 1 + Math.round(8 * f1)),
    rationale: `Token-set F1 between candidate and reference is ${f1.toFixed(2)}.`,
  };
  const json = JSON.stringify(verdict);
  return hash[0] % 2 === 0 ? json : '```json\n' + JSON.stringify(verdict, null, 2) + '\n```';
}

function tokenSetF1(candidate: string, reference: string): number {
  let c = new Set(words(candidate).map(stem));
  let r = new Set(words(reference).map(stem));
  const cContent = new Set([...c].filter((t) => !STOPWORDS.has(t)));
  const rContent = new Set([...r].filter((t) => !STOPWORDS.has(t)));
  if (cContent.size > 0 && rContent.size > 0) {
    c = cContent;
    r = rContent;
  }
  if (c.size === 0 && r.size === 0) return 1;
  if (c.size === 0 || r.size === 0) return 0;
  let common = 0;
  for (const t of c) if (r.has(t)) common += 1;
  if (common === 0) return 0;
  const precision = common / c.size;
  const recall = common / r.size;
  return (2 * precision * recall) / (precision + recall);
}

interface Label {
  name: string;
  keywords: Set<string>;
}

const LABEL_INTRO =
  /\b(?:one of(?: the following| these)?(?: labels| categories| classes)?|labels?|categories|category|classes)\s*(?:are|is)?\s*:\s*([^\n]*)$/gim;
const ONE_OF_INLINE = /\bone of\s+([^\n:]*)$/gim;
const BULLET = /^\s*(?:[-*\u2022]|\d+[.)])\s+(.*)$/;
const FALLBACK_LABELS = new Set(['other', 'unknown', 'none', 'general', 'misc']);

function cleanLabel(item: string): string {
  return item.trim().replace(/^[`"'*_]+|[`"'*_.;]+$/g, '').trim();
}

function splitLabelList(list: string): string[] {
  const sentence = list.split(/[.!?](?:\s|$)/)[0];
  return sentence
    .split(/,|\|| or |\/|;/)
    .map((s) => cleanLabel(s.replace(/^\s*(?:or|and)\s+/, '')))
    .filter((s) => s !== '' && s.split(/\s+/).length <= 4 && s.length <= 40);
}

/** Reads the label list from a system prompt, or undefined when there is none. */
function readLabels(system: string): Label[] | undefined {
  const lines = system.split(/\r?\n/);
  let names: string[] = [];
  const descriptions = new Map<string, string>();

  for (let i = 0; i < lines.length && names.length < 2; i++) {
    const line = lines[i];
    LABEL_INTRO.lastIndex = 0;
    ONE_OF_INLINE.lastIndex = 0;
    const intro = LABEL_INTRO.exec(line) ?? ONE_OF_INLINE.exec(line);
    if (!intro) continue;
    const inline = intro[1].trim();
    if (inline !== '') {
      // A bare "one of ..." is a list only when it reads like one: "one of billing, technical or other".
      const isBareOneOf = intro[0].trimStart().toLowerCase().startsWith('one of') && !intro[0].includes(':');
      if (isBareOneOf && !/ or |\|/.test(inline)) continue;
      names = splitLabelList(inline);
      continue;
    }
    // The list follows as bullets: "- billing: invoices, charges, refunds".
    names = [];
    for (let j = i + 1; j < lines.length; j++) {
      if (lines[j].trim() === '') {
        if (names.length === 0) continue;
        break;
      }
      const bullet = BULLET.exec(lines[j]);
      if (!bullet) {
        // An indented line continues the previous bullet's description.
        const last = names[names.length - 1];
        if (last !== undefined && /^\s+\S/.test(lines[j])) {
          descriptions.set(last, `${descriptions.get(last) ?? ''} ${lines[j].trim()}`);
          continue;
        }
        break;
      }
      const [head, ...rest] = bullet[1].split(/\s*(?::|\u2014|\u2013| - |=)\s*/);
      const name = cleanLabel(head);
      if (name === '') continue;
      names.push(name);
      if (rest.length > 0) descriptions.set(name, rest.join(' '));
    }
  }
  if (names.length < 2) return undefined;

  // Descriptions given elsewhere, as "billing: questions about invoices".
  for (const line of lines) {
    const bullet = BULLET.exec(line);
    const content = bullet ? bullet[1] : line;
    for (const name of names) {
      const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const match = new RegExp(`^\\s*[\`"'*_]*${escaped}[\`"'*_]*\\s*(?::|\\u2014|\\u2013| - |=)\\s*(.+)$`, 'i').exec(content);
      if (match && !descriptions.has(name)) descriptions.set(name, match[1]);
    }
  }

  return names.map((name) => ({
    name,
    keywords: new Set(
      [...words(name), ...words(descriptions.get(name) ?? '')].map(stem).filter((t) => !STOPWORDS.has(t)),
    ),
  }));
}

function labelAnswer(system: string, user: string): string | undefined {
  const labels = readLabels(system);
  if (!labels) return undefined;
  const tokens = words(user).map(stem);
  let best: Label | undefined;
  let bestScore = 0;
  for (const label of labels) {
    let score = 0;
    for (const t of tokens) if (label.keywords.has(t)) score += 1;
    if (score > bestScore) {
      best = label;
      bestScore = score;
    }
  }
  const fallback = labels.find((l) => FALLBACK_LABELS.has(l.name.toLowerCase()));
  const name = (best ?? fallback ?? labels[0]).name;
  // A prompt that shows the answer as a JSON object (`{"label": "billing"}`) gets one back.
  const jsonKey = /\{\s*"([A-Za-z_][\w-]*)"\s*:\s*"[^"]*"\s*\}/.exec(system)?.[1];
  return jsonKey ? JSON.stringify({ [jsonKey]: name }) : name;
}

const NUMBER_WORDS: Record<string, number> = {
  one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10,
  eleven: 11, twelve: 12, single: 1, a: 1,
};
const COUNT = '(\\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a single|single|a)';
const SENTENCE_COUNT = new RegExp(`\\b${COUNT}\\s+(?:(?:short|concise|brief|complete|full|clear|plain)\\s+)?sentences?\\b`, 'i');
const BULLET_COUNT = new RegExp(`\\b${COUNT}\\s+(?:(?:short|concise|brief)\\s+)?bullet(?:\\s+point)?s?\\b`, 'i');
const WORD_LIMIT = new RegExp(`\\b(?:at most|no more than|under|fewer than|less than|up to|maximum of|max\\.?)\\s+${COUNT}\\s+words\\b`, 'i');
const DOCUMENT_TAG = /<(document|text|article|email|ticket|transcript|context|input)>([\s\S]*?)<\/\1>/i;
const INSTRUCTION_START = /^\s*(?:please\s+)?(?:summari[sz]e|classify|categori[sz]e|read|write|given|using|answer|respond|extract|translate|rewrite|you are|here is|below is|the following)\b/i;
/** Words that say what to do rather than what to look for; they don't steer sentence choice. */
const INSTRUCTION_WORDS = new Set(
  [
    'summarise', 'summarize', 'summary', 'sentence', 'sentences', 'document', 'text', 'write', 'concise', 'brief',
    'clear', 'plain', 'short', 'user', 'customer', 'reader', 'following', 'given', 'assistant', 'helpful', 'answer',
    'respond', 'response', 'reply', 'output', 'return', 'words', 'word', 'bullet', 'bullets', 'point', 'points',
    'most', 'important', 'key', 'main', 'only', 'use', 'keep', 'make', 'sure', 'include', 'focus', 'mention',
    'language', 'tone', 'style', 'format', 'markdown', 'one', 'two', 'three', 'four', 'five', 'single',
  ].map(stem),
);

function countOf(word: string): number {
  const lower = word.toLowerCase();
  if (/^\d+$/.test(lower)) return Number(lower);
  return NUMBER_WORDS[lower.replace(/^a /, '')] ?? 1;
}

/** The document part of a user message: a tagged block, else the text without its instruction lines. */
function documentOf(user: string): string {
  const tagged = DOCUMENT_TAG.exec(user);
  if (tagged) return tagged[2];
  const paragraphs = user.split(/\n\s*\n/).filter((p) => p.trim() !== '');
  if (paragraphs.length > 1 && (INSTRUCTION_START.test(paragraphs[0]) || paragraphs[0].trim().endsWith(':'))) {
    paragraphs.shift();
  }
  return paragraphs
    .join('\n\n')
    .split(/\r?\n/)
    .filter((line) => !line.trim().endsWith(':'))
    .join('\n');
}

function sentencesOf(document: string): string[] {
  const sentences: string[] = [];
  for (const line of document.split(/\r?\n/)) {
    const text = line.replace(BULLET, '$1').trim();
    if (text === '') continue;
    for (const s of text.split(/(?<=[.!?])\s+(?=["'(\[]?[\p{Lu}\p{N}])/u)) {
      if (s.trim() !== '') sentences.push(s.trim());
    }
  }
  return sentences;
}

function extractiveAnswer(system: string, user: string): string {
  const sentences = sentencesOf(documentOf(user));
  if (sentences.length === 0) return 'There is no document to work from.';

  const bulletMatch = BULLET_COUNT.exec(system) ?? BULLET_COUNT.exec(user);
  const sentenceMatch = SENTENCE_COUNT.exec(system) ?? SENTENCE_COUNT.exec(user);
  const count = bulletMatch ? countOf(bulletMatch[1]) : sentenceMatch ? countOf(sentenceMatch[1]) : 2;

  const frequency = new Map<string, number>();
  const sentenceTokens = sentences.map((s) => words(s).map(stem).filter((t) => !STOPWORDS.has(t)));
  for (const tokens of sentenceTokens) for (const t of tokens) frequency.set(t, (frequency.get(t) ?? 0) + 1);
  const focus = new Set(
    words(system)
      .map(stem)
      .filter((t) => !STOPWORDS.has(t) && !INSTRUCTION_WORDS.has(t)),
  );

  const ranked = sentences
    .map((sentence, position) => {
      const tokens = sentenceTokens[position];
      const distinct = new Set(tokens);
      let hits = 0;
      for (const t of distinct) if (focus.has(t)) hits += 1;
      const meanFrequency = tokens.length === 0 ? 0 : tokens.reduce((sum, t) => sum + (frequency.get(t) ?? 0), 0) / tokens.length;
      return { sentence, position, score: 2 * hits + meanFrequency };
    })
    .sort((a, b) => b.score - a.score || a.position - b.position)
    .slice(0, Math.max(1, count))
    .sort((a, b) => a.position - b.position)
    .map((r) => r.sentence);

  let text = bulletMatch ? ranked.map((s) => `- ${s}`).join('\n') : ranked.join(' ');
  const limit = WORD_LIMIT.exec(system);
  if (limit) {
    const max = countOf(limit[1]);
    const parts = text.split(/(\s+)/);
    let seen = 0;
    let cut = parts.length;
    for (let i = 0; i < parts.length; i++) {
      if (parts[i].trim() !== '' && ++seen > max) {
        cut = i;
        break;
      }
    }
    text = parts.slice(0, cut).join('').trimEnd();
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// Words

function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+(?:'[\p{L}]+)?/gu) ?? [];
}

/** A crude suffix stripper: enough for "refunds", "refunded" and "refunding" to meet. */
function stem(word: string): string {
  for (const suffix of ['ing', 'ed', 'es', 's', 'ly']) {
    if (word.length > suffix.length + 2 && word.endsWith(suffix)) {
      const base = word.slice(0, -suffix.length);
      // "stopped" -> "stop", but "billing" -> "bill" and "passes" -> "pass" keep their double letter.
      const last = base[base.length - 1];
      return base.length > 3 && last === base[base.length - 2] && !'lsz'.includes(last) ? base.slice(0, -1) : base;
    }
  }
  // "charge" meets "charges" and "charged".
  return word.length > 4 && word.endsWith('e') ? word.slice(0, -1) : word;
}

const STOPWORDS = new Set(
  [
    'a', 'an', 'the', 'and', 'or', 'but', 'if', 'then', 'of', 'to', 'in', 'on', 'at', 'by', 'for', 'with', 'from',
    'as', 'is', 'are', 'was', 'were', 'be', 'been', 'being', 'it', 'its', "it's", 'this', 'that', 'these', 'those',
    'i', 'you', 'he', 'she', 'we', 'they', 'me', 'him', 'her', 'us', 'them', 'my', 'your', 'his', 'our', 'their',
    'do', 'does', 'did', 'have', 'has', 'had', 'not', 'no', 'so', 'than', 'too', 'very', 'can', 'will', 'would',
    'should', 'could', 'may', 'might', 'must', 'shall', 'about', 'into', 'over', 'after', 'before', 'also', 'there',
    'here', 'what', 'which', 'who', 'whom', 'when', 'where', 'why', 'how', 'all', 'any', 'each', 'some', 'such',
    'only', 'own', 'same', 'just', 'up', 'out', 'off', 'again', 'more', 'most', 'other', 'both', 'few', 'nor',
  ].map(stem),
);
