/** How the stand-in checks a request, in the real API's words, and counts its tokens (approximately). */
/** A content block as it travels; only text blocks are read. */
export interface WireBlock {
  type: string;
  text?: unknown;
}

/** A Messages API request body that passed {@link validateRequest}: the fields the stand-in reads. */
export interface MessagesBody {
  model: string;
  /** Absent on count_tokens requests. */
  max_tokens: number;
  messages: Array<{ role: 'user' | 'assistant'; content: string | WireBlock[] }>;
  system?: string | WireBlock[];
  stream?: boolean;
  stop_sequences?: string[];
  tools?: unknown;
}

// ---------------------------------------------------------------------------------------------
// Validation, in the real API's words

/** A refused request: status, error type and message. */
export interface Problem {
  status: number;
  type: string;
  message: string;
}

function invalid(message: string): Problem {
  return { status: 400, type: 'invalid_request_error', message };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The API version from which the Messages API has no sampling parameters (temperature, top_p, top_k). */
export const NO_SAMPLING_API_VERSION = '2026-10-21';

/** The first problem of a request body, as the real API words it; undefined when it is valid. */
export function validateRequest(body: unknown, needsMaxTokens: boolean, apiVersion: string): Problem | undefined {
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

/** Tokens of `chars` characters, approximately (`ceil(chars / 4)`). */
export function approxTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

/** Input tokens of a request, approximately. */
export function inputTokens(body: Pick<MessagesBody, 'system' | 'messages' | 'tools'>): number {
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

/** The text of a `system` or message `content` value: a string, or its text blocks joined by newlines. */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const texts: string[] = [];
  for (const block of content as unknown[]) {
    if (isRecord(block) && block.type === 'text' && typeof block.text === 'string') texts.push(block.text);
  }
  return texts.join('\n');
}
