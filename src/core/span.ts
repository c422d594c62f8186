import { PROMPT_NAME_PATTERN } from './promptLayout';

/**
 * Reading a pasted production span: which prompt, version and commit produced an LLM call, with
 * what model, parameters, variables and recorded messages (DESIGN.md section 5).
 *
 * The shape of the paste is found from its content: an OTLP/JSON export (also one JSON export per
 * line, as the collector's file exporter writes), a single OTLP span, Jaeger JSON, Zipkin v2, the
 * OpenTelemetry Python console exporter's span, or a flat attribute map. Everything here is pure:
 * a string in, plain data or an `Error` that names the problem out.
 */

/** The largest paste read, in UTF-8 bytes. Larger input is refused up front rather than parsed. */
export const MAX_SPAN_INPUT_BYTES = 20 * 1024 * 1024;

/** How a span reached us, as detected from the paste's content. */
export type SpanShape =
  | 'otlp-export'
  | 'otlp-span'
  | 'jaeger'
  | 'zipkin-v2'
  | 'otel-console'
  | 'attribute-map';

const SHAPE_LABELS: Record<SpanShape, string> = {
  'otlp-export': 'OTLP/JSON export',
  'otlp-span': 'OTLP span',
  jaeger: 'Jaeger JSON',
  'zipkin-v2': 'Zipkin v2',
  'otel-console': 'OpenTelemetry console exporter span',
  'attribute-map': 'flat attribute map',
};

/** A readable name for a shape, for messages and summaries. */
export function spanShapeLabel(shape: SpanShape): string {
  return SHAPE_LABELS[shape];
}

/** An attribute value once the exporter's typing is removed (OTLP `intValue` strings become numbers when exact). */
export type AttributeValue = string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };

/** Attributes by key. */
export type SpanAttributes = Record<string, AttributeValue>;

/** One span found in a paste, whatever its shape. */
export interface CandidateSpan {
  shape: SpanShape;
  traceId?: string;
  spanId?: string;
  /** The span (operation) name, e.g. `chat claude-sonnet-4-6`. */
  name?: string;
  /** The span's own attributes; attributes recorded on its GenAI events fill keys the span lacks. */
  attributes: SpanAttributes;
  /** Resource (OTLP) or process (Jaeger) attributes: a fallback for `tenant.id` and the service name. */
  resourceAttributes?: SpanAttributes;
  /** When the span started, ISO 8601 UTC, from the shape's own start field (OTLP `startTimeUnixNano`, Jaeger `startTime`, Zipkin `timestamp`…). */
  startTime?: string;
}

/** Error codes of `SpanError`, stable for callers that branch on them. */
export type SpanErrorCode =
  | 'too-large'
  | 'too-deep'
  | 'empty'
  | 'not-json'
  | 'truncated-json'
  | 'unrecognised-shape'
  | 'no-llm-span'
  | 'several-llm-spans'
  | 'span-not-found'
  | 'missing-attribute'
  | 'bad-commit-sha'
  | 'bad-prompt-name'
  | 'bad-prompt-version';

/** A paste that can't be replayed, with a message that names what is wrong. */
export class SpanError extends Error {
  constructor(
    readonly code: SpanErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SpanError';
  }
}

/** One message recorded on the span, its text parts joined. */
export interface RecordedMessage {
  role: string;
  content: string;
  /** True when the message also held non-text parts (tool calls, images) that `content` leaves out. */
  hasNonTextParts?: boolean;
}

/** What the span recorded of the call's input and output. */
export interface RecordedCall {
  /** The system prompt, from `gen_ai.system_instructions` or the input's system message(s). */
  system?: string;
  /** The last user message of the input. */
  user?: string;
  /** The model's text output. */
  output?: string;
  /** Every input message other than the system prompt, in order. */
  messages?: RecordedMessage[];
  /** The attributes these came from, for the reader: e.g. `gen_ai.input.messages`. */
  sources: string[];
}

/** Token usage the span recorded. */
export interface RecordedUsage {
  inputTokens?: number;
  outputTokens?: number;
}

/**
 * The LLM span of a paste, validated: what `parseSpan` returns and the Node API exposes.
 * `promptName` is a safe path segment, `promptVersion` a positive integer, `commitSha` 7 to 40
 * lowercase hex digits.
 */
export interface ParsedSpanInfo {
  promptName: string;
  promptVersion: number;
  /** The commit the span names; null when it names none (the replay then infers it from git). */
  commitSha: string | null;
  /** Which attribute of which convention gave the name, version and commit, and where conventions disagree. */
  identity: SpanIdentity;
  /** When the span started (ISO 8601 UTC), if the export says. */
  startTime?: string;
  /** `gen_ai.request.model`, else `gen_ai.response.model`; null when the span has neither. */
  model: string | null;
  tenantId: string | null;
  requestId: string | null;
  traceId?: string;
  spanId?: string;
  spanName?: string;
  shape: SpanShape;
  recorded?: RecordedCall;
  /**
   * The template variables the span recorded: `prompt.variables` (a JSON object string, a map
   * attribute, or `prompt.variables.<name>` keys), `gen_ai.prompt.variable.<name>`,
   * `llm.prompt_template.variables`, `traceloop.prompt.template_variables`.
   */
  variables?: Record<string, unknown>;
  /** The attributes `variables` came from. */
  variableSources?: string[];
  usage?: RecordedUsage;
  temperature?: number;
  maxTokens?: number;
  /** Things that didn't stop the parse but that a reader should know (e.g. unreadable `prompt.variables`). */
  warnings: string[];
}

/** The `span` object of `prompt-ci replay --json`. */
export interface SpanSummary {
  promptName: string;
  promptVersion: number;
  /** The commit the span names; null when the replay inferred it (see the replay's `commit`). */
  commitSha: string | null;
  model: string | null;
  tenantId: string | null;
  requestId: string | null;
  traceId: string | null;
  spanId: string | null;
}

/** The tracing conventions whose attributes name a prompt. */
export type SpanConvention = 'prompt-ci' | 'opentelemetry' | 'langfuse' | 'openllmetry' | 'openinference';

/** One attribute that named part of the prompt's identity. */
export interface IdentityValue<T> {
  value: T;
  /** The attribute key, e.g. `gen_ai.prompt.name`. */
  attribute: string;
  convention: SpanConvention;
}

/** Where the prompt's name, version and commit came from. */
export interface SpanIdentity {
  name: IdentityValue<string>;
  version: IdentityValue<number>;
  commit: IdentityValue<string> | null;
  /** Every convention that named the prompt, in precedence order. */
  conventions: SpanConvention[];
  /** One sentence per disagreement between conventions, e.g. `prompt.name "a" but gen_ai.prompt.name "b"`. */
  disagreements: string[];
}

const CONVENTION_LABELS: Record<SpanConvention, string> = {
  'prompt-ci': 'prompt-ci',
  opentelemetry: 'OpenTelemetry GenAI',
  langfuse: 'Langfuse',
  openllmetry: 'OpenLLMetry',
  openinference: 'OpenInference',
};

/** A readable name of a convention. */
export function conventionLabel(convention: SpanConvention): string {
  return CONVENTION_LABELS[convention];
}

type IdentityKey = readonly [attribute: string, convention: SpanConvention];

/**
 * The attributes that name a prompt, in precedence order: ours first, then OpenTelemetry's GenAI
 * registry (`gen_ai.prompt.name`/`.version`), Langfuse's `attributes.py`, OpenLLMetry's
 * `semconv_ai` (`traceloop.prompt.*`, and association properties set by the application), and
 * OpenInference (`llm.prompt_template.version`; its `prompt.id` names the prompt for a vendor).
 */
export const PROMPT_NAME_ATTRIBUTES: readonly IdentityKey[] = [
  ['prompt.name', 'prompt-ci'],
  ['gen_ai.prompt.name', 'opentelemetry'],
  ['langfuse.observation.prompt.name', 'langfuse'],
  ['traceloop.prompt.key', 'openllmetry'],
  ['traceloop.association.properties.prompt.name', 'openllmetry'],
  ['traceloop.association.properties.prompt_name', 'openllmetry'],
  ['prompt.id', 'openinference'],
];
/** The attributes that name a prompt's version, in precedence order. */
export const PROMPT_VERSION_ATTRIBUTES: readonly IdentityKey[] = [
  ['prompt.version', 'prompt-ci'],
  ['gen_ai.prompt.version', 'opentelemetry'],
  ['langfuse.observation.prompt.version', 'langfuse'],
  ['traceloop.prompt.version', 'openllmetry'],
  ['traceloop.association.properties.prompt.version', 'openllmetry'],
  ['traceloop.association.properties.prompt_version', 'openllmetry'],
  ['llm.prompt_template.version', 'openinference'],
];
/** The attributes that name the commit, in precedence order. */
export const PROMPT_COMMIT_ATTRIBUTES: readonly IdentityKey[] = [
  ['prompt.commit_sha', 'prompt-ci'],
  ['traceloop.association.properties.prompt.commit_sha', 'openllmetry'],
  ['traceloop.association.properties.prompt_commit_sha', 'openllmetry'],
  ['traceloop.association.properties.commit_sha', 'openllmetry'],
];

/** Options of `parseSpan`. */
export interface ParseSpanOptions {
  /** Which LLM span to take when the paste holds several. */
  spanId?: string;
}

/** Every span of a paste, and the shapes they came in. */
export interface SpanScan {
  shapes: SpanShape[];
  spans: CandidateSpan[];
}

/** What `prompt.commit_sha` must be: 7 to 40 hex digits (an abbreviated or full SHA-1). */
export const COMMIT_SHA_PATTERN = /^[0-9a-fA-F]{7,40}$/;

// ---------------------------------------------------------------------------------------------
// Public entry points

/**
 * The LLM span of a paste, validated. Throws `SpanError` naming the problem: too large, not JSON
 * (with the position), truncated, no span with `prompt.name`, several of them without
 * `options.spanId`, or a prompt name, version or commit SHA that isn't valid.
 */
export function parseSpan(text: string, options: ParseSpanOptions = {}): ParsedSpanInfo {
  const scan = readSpans(text);
  const llm = scan.spans.filter(isLlmSpan);
  let chosen: CandidateSpan;
  if (options.spanId !== undefined) {
    const wanted = options.spanId.trim().toLowerCase();
    const match = llm.find((s) => s.spanId?.toLowerCase() === wanted);
    if (!match) {
      const other = scan.spans.find((s) => s.spanId?.toLowerCase() === wanted);
      if (other) {
        throw new SpanError(
          'span-not-found',
          `span ${quoteForMessage(options.spanId)} names no prompt (${PROMPT_NAME_ATTRIBUTES.map(([k]) => k).join(', ')}), so it is not an LLM span of a prompt. ` +
            (llm.length ? `LLM spans in this paste: ${llm.map(describeSpan).join('; ')}` : 'This paste has no LLM span.'),
        );
      }
      throw new SpanError(
        'span-not-found',
        `no span with id ${quoteForMessage(options.spanId)} in this paste. ` +
          (llm.length ? `LLM spans in it: ${listSpans(llm)}` : 'It has no LLM span.'),
      );
    }
    chosen = match;
  } else if (llm.length === 0) {
    throw new SpanError('no-llm-span', noLlmSpanMessage(scan));
  } else if (llm.length > 1) {
    throw new SpanError(
      'several-llm-spans',
      `this paste holds ${llm.length} LLM spans; choose one by its span id: ${listSpans(llm)}`,
    );
  } else {
    chosen = llm[0];
  }
  return spanInfoOf(chosen);
}

/** How many spans a message lists before it says how many more there are. */
const LISTED_SPANS = 10;

/** The first spans of a paste, described, and how many more it holds: a file of 400 spans is not one line of 400 ids. */
function listSpans(spans: readonly CandidateSpan[]): string {
  const listed = spans.slice(0, LISTED_SPANS).map(describeSpan).join('; ');
  return spans.length > LISTED_SPANS ? `${listed}; … and ${spans.length - LISTED_SPANS} more` : listed;
}

/** The spans of a paste that name a prompt (in any convention), in paste order. Throws `SpanError` when the paste isn't readable. */
export function findLlmSpans(text: string): CandidateSpan[] {
  return readSpans(text).spans.filter(isLlmSpan);
}

/** True when the span names a prompt or a prompt version in any of the conventions read. */
export function isLlmSpan(span: CandidateSpan): boolean {
  return [...PROMPT_NAME_ATTRIBUTES, ...PROMPT_VERSION_ATTRIBUTES].some(([key]) => present(span.attributes[key]));
}

function present(v: AttributeValue | undefined): boolean {
  return v !== undefined && v !== null && v !== '';
}

/** Every span of a paste, whatever its shape. Throws `SpanError` for input that is too large, not JSON, or of no known shape. */
export function readSpans(text: string): SpanScan {
  const documents = parseJsonDocuments(text);
  const collector = new SpanCollector();
  for (const doc of documents) collector.visitRoot(doc);
  if (collector.spans.length === 0) {
    throw new SpanError(
      'unrecognised-shape',
      'no spans found: the paste is JSON but not a shape this reads. Expected an OTLP/JSON export ' +
        '({"resourceSpans":[{"scopeSpans":[{"spans":[…]}]}]}), a single OTLP span ({"attributes":[{"key":…,"value":{…}}]}), ' +
        'Jaeger JSON ({"data":[{"spans":[{"tags":[…]}]}]}), Zipkin v2 ([{"traceId":…,"id":…,"tags":{…}}]) ' +
        `or a flat attribute map ({"prompt.name":…,"prompt.version":…,"prompt.commit_sha":…}); got ${describeJsonValue(documents[0])}.`,
    );
  }
  return { shapes: [...new Set(collector.spans.map((s) => s.shape))], spans: dedupe(collector.spans) };
}

/**
 * A span's validated replay information. Throws `SpanError` for a missing or invalid prompt name
 * or version, or an invalid SHA; a span without a SHA is valid (`commitSha` null).
 */
export function spanInfoOf(span: CandidateSpan): ParsedSpanInfo {
  const attrs = span.attributes;
  const warnings: string[] = [];
  const identity = readIdentity(span);
  if (identity.disagreements.length) {
    warnings.push(`the span's prompt identity attributes disagree: ${identity.disagreements.join('; ')}; the replay uses the first of each (precedence: prompt-ci, OpenTelemetry, Langfuse, OpenLLMetry, OpenInference)`);
  }
  const promptName = identity.name.value;
  const promptVersion = identity.version.value;
  const commitSha = identity.commit?.value ?? null;

  const invocation = invocationParameters(attrs);
  const info: ParsedSpanInfo = {
    promptName,
    promptVersion,
    commitSha,
    identity,
    model:
      attrText(attrs, 'gen_ai.request.model') ??
      attrText(attrs, 'gen_ai.response.model') ??
      attrText(attrs, 'llm.request.model_name') ??
      attrText(attrs, 'llm.model_name') ??
      attrText(attrs, 'langfuse.observation.model.name') ??
      null,
    tenantId: attrText(attrs, 'tenant.id') ?? (span.resourceAttributes ? attrText(span.resourceAttributes, 'tenant.id') : undefined) ?? null,
    requestId: attrText(attrs, 'request.id') ?? null,
    shape: span.shape,
    warnings,
  };
  if (span.traceId) info.traceId = span.traceId;
  if (span.spanId) info.spanId = span.spanId;
  if (span.name) info.spanName = span.name;
  if (span.startTime) info.startTime = span.startTime;

  const temperature = attrNumber(attrs, 'gen_ai.request.temperature') ?? numberOf(invocation?.temperature);
  if (temperature !== undefined) info.temperature = temperature;
  const maxTokens = attrNumber(attrs, 'gen_ai.request.max_tokens') ?? numberOf(invocation?.max_tokens);
  if (maxTokens !== undefined) info.maxTokens = maxTokens;

  const usage: RecordedUsage = {};
  const inputTokens = firstNumber(attrs, [
    'gen_ai.usage.input_tokens',
    'gen_ai.response.input_tokens',
    'gen_ai.usage.prompt_tokens',
    'llm.token_count.prompt',
  ]);
  const outputTokens = firstNumber(attrs, [
    'gen_ai.usage.output_tokens',
    'gen_ai.response.output_tokens',
    'gen_ai.usage.completion_tokens',
    'llm.token_count.completion',
  ]);
  if (inputTokens !== undefined) usage.inputTokens = inputTokens;
  if (outputTokens !== undefined) usage.outputTokens = outputTokens;
  if (Object.keys(usage).length) info.usage = usage;

  const recorded = readRecordedCall(attrs, warnings);
  if (recorded) info.recorded = recorded;
  const variables = readVariables(attrs, warnings);
  if (variables) {
    info.variables = variables.values;
    info.variableSources = variables.sources;
  }
  return info;
}

/**
 * The prompt's name, version and commit from every convention the span uses, validated, with the
 * conventions' disagreements in words. Throws `SpanError` when no name or no version is there, or
 * when the value used is not valid.
 */
export function readIdentity(span: CandidateSpan): SpanIdentity {
  const attrs = span.attributes;
  const where = `the LLM span (${describeSpan(span)})`;
  const found = <T>(keys: readonly IdentityKey[], validate: (v: unknown, key: string) => T): { used?: IdentityValue<T>; all: IdentityValue<T>[]; raw: [string, AttributeValue][] } => {
    const all: IdentityValue<T>[] = [];
    const raw: [string, AttributeValue][] = [];
    let used: IdentityValue<T> | undefined;
    for (const [attribute, convention] of keys) {
      const v = attrs[attribute];
      if (!present(v)) continue;
      raw.push([attribute, v!]);
      if (!used) {
        used = { value: validate(v, attribute), attribute, convention };
        all.push(used);
        continue;
      }
      try {
        all.push({ value: validate(v, attribute), attribute, convention });
      } catch {
        all.push({ value: v as unknown as T, attribute, convention });
      }
    }
    return used ? { used, all, raw } : { all, raw };
  };
  const names = found(PROMPT_NAME_ATTRIBUTES, validatePromptName);
  const versions = found(PROMPT_VERSION_ATTRIBUTES, validatePromptVersion);
  const commits = found(PROMPT_COMMIT_ATTRIBUTES, validateCommitSha);
  if (!names.used) {
    const version = versions.used ? ` It names version ${versions.used.value} (${versions.used.attribute}) but no prompt.` : '';
    throw new SpanError(
      'missing-attribute',
      `${where} names no prompt.${version} Replay reads the name from ${PROMPT_NAME_ATTRIBUTES.map(([k]) => k).join(', ')}; set one of them (prompt.name, or OpenTelemetry's gen_ai.prompt.name) where the call is made`,
    );
  }
  if (!versions.used) {
    throw new SpanError(
      'missing-attribute',
      `${where} names prompt ${quoteForMessage(names.used.value)} (${names.used.attribute}) but no version: replay reads it from ${PROMPT_VERSION_ATTRIBUTES.map(([k]) => k).join(', ')}`,
    );
  }
  const disagreements: string[] = [];
  const compare = <T>(what: string, list: IdentityValue<T>[], same: (a: T, b: T) => boolean) => {
    const first = list[0];
    for (const other of list.slice(1)) {
      if (!same(first.value, other.value)) {
        disagreements.push(`${what}: ${first.attribute} ${quoteForMessage(first.value)} but ${other.attribute} ${quoteForMessage(other.value)}`);
      }
    }
  };
  compare('name', names.all, (a, b) => a === b);
  compare('version', versions.all, (a, b) => a === b);
  compare('commit', commits.all, (a, b) => typeof a === 'string' && typeof b === 'string' && (a.startsWith(b) || b.startsWith(a)));
  const conventions = [...new Set([...names.all, ...versions.all, ...commits.all].map((v) => v.convention))];
  return { name: names.used, version: versions.used, commit: commits.used ?? null, conventions, disagreements };
}

/** The `span` object of `prompt-ci replay --json`. */
export function spanSummary(info: ParsedSpanInfo): SpanSummary {
  return {
    promptName: info.promptName,
    promptVersion: info.promptVersion,
    commitSha: info.commitSha,
    model: info.model,
    tenantId: info.tenantId,
    requestId: info.requestId,
    traceId: info.traceId ?? null,
    spanId: info.spanId ?? null,
  };
}

// ---------------------------------------------------------------------------------------------
// Validation of the three values that become a git revision and a path

/** A commit SHA of 7 to 40 hex digits, lowercased; anything else throws `SpanError` showing the value safely. */
export function validateCommitSha(value: unknown, attribute = 'prompt.commit_sha'): string {
  if (typeof value !== 'string' || !COMMIT_SHA_PATTERN.test(value)) {
    throw new SpanError(
      'bad-commit-sha',
      `${attribute} ${quoteForMessage(value)} is not a commit SHA: expected 7 to 40 hexadecimal digits`,
    );
  }
  return value.toLowerCase();
}

/** A prompt name that is one safe path segment; anything else throws `SpanError`. */
export function validatePromptName(value: unknown, attribute = 'prompt.name'): string {
  if (typeof value !== 'string' || !PROMPT_NAME_PATTERN.test(value)) {
    const why =
      typeof value === 'string' && (value.includes('/') || value.includes('\\') || value.includes('..'))
        ? ' (it must be a single directory name: no "/", "\\" or "..")'
        : '';
    throw new SpanError(
      'bad-prompt-name',
      `${attribute} ${quoteForMessage(value)} is not a prompt name: expected a path segment of [a-z0-9][a-z0-9_-]*${why}`,
    );
  }
  return value;
}

/** A positive integer version (`3`, `"3"` or `"v3"`); anything else throws `SpanError`. */
export function validatePromptVersion(value: unknown, attribute = 'prompt.version'): number {
  let n: number | undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value)) n = value;
  else if (typeof value === 'string' && /^v?[0-9]{1,15}$/.test(value.trim())) n = Number(value.trim().replace(/^v/, ''));
  if (n === undefined || n < 1) {
    throw new SpanError(
      'bad-prompt-version',
      `${attribute} ${quoteForMessage(value)} is not a version: expected a positive integer (the N of prompts/<name>/vN)`,
    );
  }
  return n;
}

/**
 * A value quoted for an error message: JSON-escaped (so control characters, quotes and
 * bidirectional overrides can't disturb a terminal), non-ASCII as `\uXXXX`, cut at `max` characters.
 */
export function quoteForMessage(value: unknown, max = 60): string {
  if (value === undefined) return 'undefined';
  let text: string;
  if (typeof value === 'string') {
    const cut = value.length > max ? value.slice(0, max) : value;
    text = JSON.stringify(cut).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    if (value.length > max) text += ` (${value.length} characters, cut)`;
    return text;
  }
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  text = text.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return text.length > max ? `${text.slice(0, max)}… (${typeof value})` : `${text} (${Array.isArray(value) ? 'array' : typeof value})`;
}

/** `"chat claude" (span 00f067aa0ba902b7, trace 4bf92f35…)`: how a span is named in messages and pickers. */
export function describeSpan(span: CandidateSpan): string {
  const parts: string[] = [];
  if (span.spanId) parts.push(`span ${span.spanId}`);
  else parts.push('span without id');
  if (span.name) parts.push(`name ${quoteForMessage(span.name, 80)}`);
  const prompt = firstPresent(span.attributes, PROMPT_NAME_ATTRIBUTES);
  if (prompt !== undefined) {
    const version = firstPresent(span.attributes, PROMPT_VERSION_ATTRIBUTES);
    const shownVersion =
      typeof version === 'number' || (typeof version === 'string' && /^v?[0-9]{1,15}$/.test(version))
        ? ` v${String(version).replace(/^v/, '')}`
        : version !== undefined && version !== null
          ? ` version ${quoteForMessage(version, 20)}`
          : '';
    parts.push(`prompt ${quoteForMessage(prompt, 40)}${shownVersion}`);
  }
  return parts.join(', ');
}

/** The first present value among `keys`. */
export function firstPresent(attrs: SpanAttributes, keys: readonly IdentityKey[]): AttributeValue | undefined {
  for (const [key] of keys) if (present(attrs[key])) return attrs[key];
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// JSON with useful errors

/** The JSON documents of a paste: one value, or one per line (JSON Lines). Throws `SpanError`. */
const NOT_PARSED = Symbol('not parsed');

/** Arrays and objects nested deeper than this are refused: an OTLP export nests about ten deep, and reading deeper would overflow the stack. */
export const MAX_SPAN_JSON_DEPTH = 256;

/** True when `value` nests arrays and objects deeper than `max`. Iterative, so any depth is safe to ask about. */
function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v as object)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** The documents, refused when one nests too deeply for the readers after it. */
function boundedDepth(documents: unknown[]): unknown[] {
  if (documents.some((d) => nestsDeeperThan(d, MAX_SPAN_JSON_DEPTH))) {
    throw new SpanError(
      'too-deep',
      `the paste nests arrays and objects more than ${MAX_SPAN_JSON_DEPTH} deep, and a span export nests far less: it is refused; export only the trace (or the span) of the call`,
    );
  }
  return documents;
}

export function parseJsonDocuments(text: string): unknown[] {
  if (text.length > MAX_SPAN_INPUT_BYTES || utf8Length(text) > MAX_SPAN_INPUT_BYTES) {
    throw new SpanError(
      'too-large',
      `the paste is ${formatBytes(utf8Length(text))}, over the ${formatBytes(MAX_SPAN_INPUT_BYTES)} limit for a span export; export only the trace (or the span) of the call`,
    );
  }
  let body = text.replace(/^\uFEFF/, '');
  const fenced = /^\s*```[a-zA-Z]*[ \t]*\r?\n([\s\S]*?)\r?\n[ \t]*```\s*$/.exec(body);
  if (fenced) body = fenced[1];
  if (body.trim() === '') throw new SpanError('empty', 'the paste is empty: expected a span export (JSON)');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = NOT_PARSED;
  }
  if (parsed !== NOT_PARSED) return boundedDepth([parsed]);
  const problem = findJsonSyntaxProblem(body);
  if (problem && problem.kind === 'trailing-data') {
    const lines = jsonLines(body);
    if (lines) return boundedDepth(lines);
  }
  if (!problem) {
    // JSON.parse failed but the scanner found nothing: keep JSON.parse's own words.
    try {
      JSON.parse(body);
    } catch (error) {
      throw new SpanError('not-json', `the paste is not JSON: ${(error as Error).message}`);
    }
    return boundedDepth([JSON.parse(body)]);
  }
  throw problemToError(body, problem);
}

function jsonLines(body: string): unknown[] | undefined {
  const docs: unknown[] = [];
  for (const line of body.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    try {
      docs.push(JSON.parse(line));
    } catch {
      return undefined;
    }
  }
  return docs.length > 1 ? docs : undefined;
}

/** Where and why a text fails to be JSON. */
export interface JsonSyntaxProblem {
  kind: 'truncated' | 'unexpected' | 'trailing-data';
  offset: number;
  /** What was expected there, in words. */
  expected: string;
  /** Offsets of the brackets still open at `offset`, outermost first. */
  open: number[];
}

/**
 * The first syntax problem of a JSON text, or undefined when it is valid. Iterative, so a deeply
 * nested or 20 MB paste can't overflow the stack; used only after `JSON.parse` has failed.
 */
export function findJsonSyntaxProblem(text: string): JsonSyntaxProblem | undefined {
  const n = text.length;
  const stack: number[] = []; // offsets of open '{' / '['
  type Expect = 'value' | 'value-or-close' | 'key' | 'key-or-close' | 'colon' | 'comma-or-close' | 'end';
  let expect: Expect = 'value';
  let i = 0;
  const problem = (kind: JsonSyntaxProblem['kind'], offset: number, expected: string): JsonSyntaxProblem => ({
    kind,
    offset,
    expected,
    open: [...stack],
  });
  const afterValue = (): Expect => (stack.length === 0 ? 'end' : 'comma-or-close');
  const expectedWords: Record<Expect, string> = {
    value: 'a value',
    'value-or-close': "a value or ']'",
    key: 'a property name in double quotes',
    'key-or-close': "a property name in double quotes or '}'",
    colon: "':' after the property name",
    'comma-or-close': "',' or a closing bracket",
    end: 'the end of the input',
  };
  while (true) {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    if (i >= n) {
      if (expect === 'end') return undefined;
      return problem('truncated', n, expectedWords[expect]);
    }
    const ch = text[i];
    switch (expect) {
      case 'end':
        return problem('trailing-data', i, expectedWords.end);
      case 'colon':
        if (ch !== ':') return problem('unexpected', i, expectedWords.colon);
        i++;
        expect = 'value';
        continue;
      case 'comma-or-close': {
        const top = text[stack[stack.length - 1]];
        if (ch === ',') {
          i++;
          expect = top === '{' ? 'key' : 'value';
          continue;
        }
        if ((ch === '}' && top === '{') || (ch === ']' && top === '[')) {
          stack.pop();
          i++;
          expect = afterValue();
          continue;
        }
        return problem('unexpected', i, top === '{' ? "',' or '}'" : "',' or ']'");
      }
      case 'key':
      case 'key-or-close': {
        if (ch === '}' && expect === 'key-or-close') {
          stack.pop();
          i++;
          expect = afterValue();
          continue;
        }
        if (ch !== '"') {
          return problem('unexpected', i, ch === '}' ? "a property name after ',' (a trailing comma is not JSON)" : expectedWords[expect]);
        }
        const end = scanString(text, i);
        if (typeof end !== 'number') return { ...end, open: [...stack] };
        i = end;
        expect = 'colon';
        continue;
      }
      case 'value':
      case 'value-or-close': {
        if (ch === ']' && expect === 'value-or-close') {
          stack.pop();
          i++;
          expect = afterValue();
          continue;
        }
        if (ch === '{' || ch === '[') {
          stack.push(i);
          i++;
          expect = ch === '{' ? 'key-or-close' : 'value-or-close';
          continue;
        }
        if (ch === '"') {
          const end = scanString(text, i);
          if (typeof end !== 'number') return { ...end, open: [...stack] };
          i = end;
          expect = afterValue();
          continue;
        }
        if (ch === '-' || (ch >= '0' && ch <= '9')) {
          const m = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
          m.lastIndex = i;
          const found = m.exec(text);
          const len = found ? found[0].length : 0;
          if (len === 0 || (len === 1 && ch === '-')) {
            if (i + 1 >= n) return problem('truncated', n, 'the digits of a number');
            return problem('unexpected', i + (ch === '-' ? 1 : 0), 'a number');
          }
          const next = i + len;
          if (next < n && /[.eE0-9]/.test(text[next])) {
            if (next + 1 >= n) return problem('truncated', n, 'the rest of a number');
            return problem('unexpected', next, 'a well-formed number');
          }
          i = next;
          expect = afterValue();
          continue;
        }
        let literalMatched = false;
        for (const word of ['true', 'false', 'null']) {
          if (ch !== word[0]) continue;
          const have = text.slice(i, i + word.length);
          if (have === word) {
            i += word.length;
            literalMatched = true;
            break;
          }
          if (i + have.length >= n && word.startsWith(have)) return problem('truncated', n, `the rest of "${word}"`);
          return problem('unexpected', i, 'a value');
        }
        if (literalMatched) {
          expect = afterValue();
          continue;
        }
        if (ch === ']' || ch === '}') {
          return problem('unexpected', i, expect === 'value' && stack.length ? 'a value (a trailing comma is not JSON)' : 'a value');
        }
        return problem('unexpected', i, ch === "'" ? 'a value (strings take double quotes in JSON)' : expectedWords[expect]);
      }
    }
  }
}

/** The offset after the closing quote of the string starting at `start`, or the problem in it. */
function scanString(text: string, start: number): number | Omit<JsonSyntaxProblem, 'open'> {
  const n = text.length;
  let i = start + 1;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c === 0x5c) {
      if (i + 1 >= n) return { kind: 'truncated', offset: n, expected: 'the rest of a string' };
      const e = text[i + 1];
      if (e === 'u') {
        const hex = text.slice(i + 2, i + 6);
        if (/^[0-9a-fA-F]{4}$/.test(hex)) {
          i += 6;
          continue;
        }
        if (i + 2 + hex.length >= n && /^[0-9a-fA-F]*$/.test(hex)) return { kind: 'truncated', offset: n, expected: 'the rest of a string' };
        return { kind: 'unexpected', offset: i, expected: 'a \\uXXXX escape with four hex digits' };
      }
      if ('"\\/bfnrt'.includes(e)) {
        i += 2;
        continue;
      }
      return { kind: 'unexpected', offset: i, expected: 'a valid escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)' };
    }
    if (c < 0x20) return { kind: 'unexpected', offset: i, expected: 'the end of the string (a raw control character or line break must be escaped)' };
    i++;
  }
  return { kind: 'truncated', offset: n, expected: `the closing quote of the string opened at offset ${start}` };
}

function problemToError(text: string, p: JsonSyntaxProblem): SpanError {
  const at = lineColumn(text, p.offset);
  if (p.kind === 'truncated') {
    const outer = p.open.length ? lineColumn(text, p.open[0]) : undefined;
    const still = p.open.length
      ? ` with ${p.open.length} bracket${p.open.length === 1 ? '' : 's'} still open (the outermost '${text[p.open[0]]}' at line ${outer!.line}, column ${outer!.column})`
      : '';
    return new SpanError(
      'truncated-json',
      `the paste is truncated JSON: it ends at line ${at.line}, column ${at.column}${still}, where ${p.expected} should follow. Was the export cut off? Paste the whole of it.`,
    );
  }
  const found = text.codePointAt(p.offset)!;
  const shown = quoteForMessage(String.fromCodePoint(found), 10);
  const excerpt = quoteForMessage(text.slice(Math.max(0, p.offset - 20), p.offset + 20), 40);
  if (p.kind === 'trailing-data') {
    return new SpanError(
      'not-json',
      `the paste is not JSON: unexpected ${shown} at line ${at.line}, column ${at.column} (offset ${p.offset}) after a complete JSON value, near ${excerpt}`,
    );
  }
  return new SpanError(
    'not-json',
    `the paste is not JSON: unexpected ${shown} at line ${at.line}, column ${at.column} (offset ${p.offset}), expected ${p.expected}; near ${excerpt}`,
  );
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1).replace(/\.0$/, '')} KB`;
  return `${bytes} bytes`;
}

function describeJsonValue(value: unknown): string {
  if (Array.isArray(value)) return value.length ? `an array of ${describeJsonValue(value[0])}` : 'an empty array';
  if (value === null) return 'null';
  if (typeof value === 'object') {
    const keys = Object.keys(value as object);
    return keys.length ? `an object with keys ${keys.slice(0, 6).map((k) => quoteForMessage(k, 30)).join(', ')}${keys.length > 6 ? ', …' : ''}` : 'an empty object';
  }
  return `a ${typeof value}`;
}

// ---------------------------------------------------------------------------------------------
// Shapes

type Json = unknown;
type JsonObject = Record<string, unknown>;

function isObject(v: Json): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isKeyValueList(v: Json): v is JsonObject[] {
  return Array.isArray(v) && v.every((e) => isObject(e) && typeof e.key === 'string');
}

class SpanCollector {
  readonly spans: CandidateSpan[] = [];

  visitRoot(value: Json, depth = 0): void {
    if (depth > 8) return;
    if (Array.isArray(value)) {
      for (const item of value) this.visitRoot(item, depth + 1);
      return;
    }
    if (!isObject(value)) return;
    if (Array.isArray(value.resourceSpans) || Array.isArray(value.resource_spans)) {
      for (const rs of (value.resourceSpans ?? value.resource_spans) as Json[]) this.visitResourceSpans(rs);
      return;
    }
    if (isObject(value.result) && (Array.isArray(value.result.resourceSpans) || Array.isArray(value.result.resource_spans))) {
      this.visitRoot(value.result, depth + 1); // Jaeger api_v3 wraps an OTLP export in `result`
      return;
    }
    if (Array.isArray(value.scopeSpans) || Array.isArray(value.instrumentationLibrarySpans) || Array.isArray(value.scope_spans)) {
      this.visitResourceSpans(value);
      return;
    }
    if (Array.isArray(value.spans) && (isObject(value.scope) || isObject(value.instrumentationLibrary))) {
      this.visitScopeSpans(value, undefined);
      return;
    }
    if (Array.isArray(value.data) && value.data.some((d) => isObject(d) && Array.isArray(d.spans))) {
      for (const trace of value.data) if (isObject(trace)) this.visitJaegerTrace(trace);
      return;
    }
    if (Array.isArray(value.spans) && (typeof value.traceID === 'string' || isObject(value.processes))) {
      this.visitJaegerTrace(value);
      return;
    }
    if (Array.isArray(value.tags) && isKeyValueList(value.tags) && (value.spanID !== undefined || value.operationName !== undefined || value.tags.length)) {
      this.visitJaegerSpan(value, undefined);
      return;
    }
    if (Array.isArray(value.attributes) && isKeyValueList(value.attributes)) {
      this.visitOtlpSpan(value, undefined, 'otlp-span');
      return;
    }
    if (isObject(value.tags) && (typeof value.traceId === 'string' || typeof value.id === 'string' || isObject(value.localEndpoint))) {
      this.visitZipkinSpan(value);
      return;
    }
    if (isObject(value.attributes) && (isObject(value.context) || typeof value.name === 'string')) {
      this.visitConsoleSpan(value);
      return;
    }
    if (typeof value.traceId === 'string' && typeof value.id === 'string') {
      this.visitZipkinSpan(value);
      return;
    }
    if (Array.isArray(value.spans)) {
      for (const s of value.spans) this.visitRoot(s, depth + 1);
      return;
    }
    if (looksLikeAttributeMap(value)) this.visitAttributeMap(value);
  }

  private visitResourceSpans(rs: Json): void {
    if (!isObject(rs)) return;
    const resource = isObject(rs.resource) ? decodeKeyValues(rs.resource.attributes) : undefined;
    const scopes = (rs.scopeSpans ?? rs.scope_spans ?? rs.instrumentationLibrarySpans ?? []) as Json[];
    if (!Array.isArray(scopes)) return;
    for (const ss of scopes) this.visitScopeSpans(ss, resource);
  }

  private visitScopeSpans(ss: Json, resource: SpanAttributes | undefined): void {
    if (!isObject(ss) || !Array.isArray(ss.spans)) return;
    for (const span of ss.spans) this.visitOtlpSpan(span, resource, 'otlp-export');
  }

  private visitOtlpSpan(span: Json, resource: SpanAttributes | undefined, shape: SpanShape): void {
    if (!isObject(span)) return;
    const attributes = decodeKeyValues(span.attributes);
    if (Array.isArray(span.events)) {
      for (const event of span.events) {
        if (isObject(event)) fillFromEvent(attributes, String(event.name ?? ''), decodeKeyValues(event.attributes));
      }
    }
    this.spans.push(
      withOptional({
        shape,
        attributes,
        traceId: otlpId(span.traceId ?? span.trace_id, 16),
        spanId: otlpId(span.spanId ?? span.span_id, 8),
        name: typeof span.name === 'string' ? span.name : undefined,
        resourceAttributes: resource,
        startTime: fromUnixNanos(span.startTimeUnixNano ?? span.start_time_unix_nano),
      }),
    );
  }

  private visitJaegerTrace(trace: JsonObject): void {
    const processes = isObject(trace.processes) ? trace.processes : {};
    for (const span of (trace.spans as Json[]) ?? []) {
      if (!isObject(span)) continue;
      const process = isObject(span.process)
        ? span.process
        : typeof span.processID === 'string' && isObject(processes[span.processID])
          ? (processes[span.processID] as JsonObject)
          : undefined;
      this.visitJaegerSpan(span, process);
    }
  }

  private visitJaegerSpan(span: JsonObject, process: JsonObject | undefined): void {
    const attributes = decodeJaegerTags(span.tags);
    if (Array.isArray(span.logs)) {
      for (const log of span.logs) {
        if (!isObject(log)) continue;
        const fields = decodeJaegerTags(log.fields);
        fillFromEvent(attributes, typeof fields.event === 'string' ? fields.event : '', fields);
      }
    }
    let resourceAttributes: SpanAttributes | undefined;
    if (process) {
      resourceAttributes = decodeJaegerTags(process.tags);
      if (typeof process.serviceName === 'string') resourceAttributes['service.name'] ??= process.serviceName;
    }
    this.spans.push(
      withOptional({
        shape: 'jaeger' as const,
        attributes,
        traceId: hexId(span.traceID ?? span.traceId),
        spanId: hexId(span.spanID ?? span.spanId),
        name: typeof span.operationName === 'string' ? span.operationName : undefined,
        resourceAttributes,
        startTime: fromUnixMicros(span.startTime),
      }),
    );
  }

  private visitZipkinSpan(span: JsonObject): void {
    const attributes: SpanAttributes = {};
    if (isObject(span.tags)) for (const [k, v] of Object.entries(span.tags)) attributes[k] = plainValue(v);
    const local = isObject(span.localEndpoint) ? span.localEndpoint : undefined;
    this.spans.push(
      withOptional({
        shape: 'zipkin-v2' as const,
        attributes,
        traceId: hexId(span.traceId),
        spanId: hexId(span.id),
        name: typeof span.name === 'string' ? span.name : undefined,
        resourceAttributes: typeof local?.serviceName === 'string' ? { 'service.name': local.serviceName } : undefined,
        startTime: fromUnixMicros(span.timestamp),
      }),
    );
  }

  private visitConsoleSpan(span: JsonObject): void {
    const attributes: SpanAttributes = {};
    for (const [k, v] of Object.entries(span.attributes as JsonObject)) attributes[k] = plainValue(v);
    if (Array.isArray(span.events)) {
      for (const event of span.events) {
        if (!isObject(event) || !isObject(event.attributes)) continue;
        const eventAttrs: SpanAttributes = {};
        for (const [k, v] of Object.entries(event.attributes)) eventAttrs[k] = plainValue(v);
        fillFromEvent(attributes, String(event.name ?? ''), eventAttrs);
      }
    }
    const context = isObject(span.context) ? span.context : {};
    const resource = isObject(span.resource) && isObject(span.resource.attributes) ? span.resource.attributes : undefined;
    this.spans.push(
      withOptional({
        shape: 'otel-console' as const,
        attributes,
        traceId: hexId(context.trace_id),
        spanId: hexId(context.span_id),
        name: typeof span.name === 'string' ? span.name : undefined,
        resourceAttributes: resource ? (Object.fromEntries(Object.entries(resource).map(([k, v]) => [k, plainValue(v)])) as SpanAttributes) : undefined,
        startTime: fromIsoText(span.start_time),
      }),
    );
  }

  private visitAttributeMap(map: JsonObject): void {
    const attributes: SpanAttributes = {};
    for (const [k, v] of Object.entries(map)) attributes[k] = plainValue(v);
    const id = (keys: string[]) => {
      for (const k of keys) if (typeof map[k] === 'string') return hexId(map[k]);
      return undefined;
    };
    this.spans.push(
      withOptional({
        shape: 'attribute-map' as const,
        attributes,
        traceId: id(['trace_id', 'traceId', 'trace.id']),
        spanId: id(['span_id', 'spanId', 'span.id']),
        name: typeof map.name === 'string' ? map.name : undefined,
        startTime: fromIsoText(map.start_time ?? map.startTime) ?? fromUnixNanos(map.startTimeUnixNano),
      }),
    );
  }
}

function looksLikeAttributeMap(value: JsonObject): boolean {
  return Object.keys(value).some((k) => /^(prompt|gen_ai|langfuse|traceloop|llm)\./.test(k));
}

/** OTLP's `startTimeUnixNano` (a decimal string in OTLP/JSON) as ISO 8601. */
function fromUnixNanos(v: Json): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return isoOf(v / 1e6);
  if (typeof v === 'string' && /^[0-9]{1,20}$/.test(v)) {
    const ms = Number(BigInt(v) / 1_000_000n);
    return ms > 0 ? isoOf(ms) : undefined;
  }
  return undefined;
}

/** Jaeger's `startTime` and Zipkin's `timestamp` (microseconds since the epoch) as ISO 8601. */
function fromUnixMicros(v: Json): string | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^[0-9]{1,17}$/.test(v) ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? isoOf(n / 1000) : undefined;
}

function fromIsoText(v: Json): string | undefined {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(v)) return undefined;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? isoOf(ms) : undefined;
}

function isoOf(ms: number): string | undefined {
  const d = new Date(Math.floor(ms));
  return Number.isFinite(d.getTime()) ? d.toISOString() : undefined;
}

/** GenAI content recorded on span events (older conventions) fills keys the span itself lacks. */
function fillFromEvent(attributes: SpanAttributes, eventName: string, eventAttrs: SpanAttributes): void {
  const useful =
    eventName.startsWith('gen_ai.') ||
    Object.keys(eventAttrs).some((k) => k.startsWith('gen_ai.') || k.startsWith('prompt.') || k.startsWith('llm.'));
  if (!useful) return;
  for (const [k, v] of Object.entries(eventAttrs)) {
    if (k === 'event') continue;
    if (attributes[k] === undefined) attributes[k] = v;
  }
}

function withOptional<T extends object>(obj: T): T {
  for (const key of Object.keys(obj) as (keyof T)[]) if (obj[key] === undefined) delete obj[key];
  return obj;
}

function dedupe(spans: CandidateSpan[]): CandidateSpan[] {
  const seen = new Map<string, CandidateSpan>();
  const out: CandidateSpan[] = [];
  for (const span of spans) {
    if (!span.traceId || !span.spanId) {
      out.push(span);
      continue;
    }
    const key = `${span.traceId}/${span.spanId}`;
    const earlier = seen.get(key);
    if (!earlier) {
      seen.set(key, span);
      out.push(span);
    } else if (!isLlmSpan(earlier) && isLlmSpan(span)) {
      // Zipkin shares one id between the client and server halves of a call: keep the half that names the prompt.
      out[out.indexOf(earlier)] = span;
      seen.set(key, span);
    }
  }
  return out;
}

function decodeKeyValues(list: Json): SpanAttributes {
  const out: SpanAttributes = {};
  if (!Array.isArray(list)) return out;
  for (const kv of list) {
    if (isObject(kv) && typeof kv.key === 'string') out[kv.key] = decodeAnyValue(kv.value);
  }
  return out;
}

/** An OTLP/JSON `AnyValue` as a plain value; `intValue` (a string in OTLP/JSON) becomes a number when exact. */
export function decodeAnyValue(value: Json): AttributeValue {
  if (!isObject(value)) return plainValue(value);
  const v = value;
  const pick = (camel: string, snake: string) => (camel in v ? v[camel] : v[snake]);
  if ('stringValue' in v || 'string_value' in v) return String(pick('stringValue', 'string_value') ?? '');
  if ('intValue' in v || 'int_value' in v) return toInteger(pick('intValue', 'int_value'));
  if ('doubleValue' in v || 'double_value' in v) {
    const d = pick('doubleValue', 'double_value');
    return typeof d === 'number' ? d : typeof d === 'string' ? Number(d) : null;
  }
  if ('boolValue' in v || 'bool_value' in v) {
    const b = pick('boolValue', 'bool_value');
    return b === true || b === 'true';
  }
  if ('arrayValue' in v || 'array_value' in v) {
    const arr = pick('arrayValue', 'array_value');
    return isObject(arr) && Array.isArray(arr.values) ? arr.values.map(decodeAnyValue) : [];
  }
  if ('kvlistValue' in v || 'kvlist_value' in v) {
    const kv = pick('kvlistValue', 'kvlist_value');
    return isObject(kv) ? decodeKeyValues(kv.values) : {};
  }
  if ('bytesValue' in v || 'bytes_value' in v) return String(pick('bytesValue', 'bytes_value') ?? '');
  return null;
}

function decodeJaegerTags(list: Json): SpanAttributes {
  const out: SpanAttributes = {};
  if (!Array.isArray(list)) return out;
  for (const tag of list) {
    if (!isObject(tag) || typeof tag.key !== 'string') continue;
    if ('value' in tag) {
      const type = typeof tag.type === 'string' ? tag.type.toLowerCase() : 'string';
      if (type === 'int64') out[tag.key] = toInteger(tag.value);
      else if (type === 'float64') out[tag.key] = typeof tag.value === 'number' ? tag.value : Number(tag.value);
      else if (type === 'bool') out[tag.key] = tag.value === true || tag.value === 'true';
      else out[tag.key] = plainValue(tag.value);
    } else {
      // jaeger-query's api_v2 JSON: {"key","vType","vStr"|"vInt64"|"vFloat64"|"vBool"|"vBinary"}
      const vType = String(tag.vType ?? 'STRING').toUpperCase();
      if (vType === 'INT64') out[tag.key] = toInteger(tag.vInt64 ?? 0);
      else if (vType === 'FLOAT64') out[tag.key] = Number(tag.vFloat64 ?? 0);
      else if (vType === 'BOOL') out[tag.key] = tag.vBool === true;
      else if (vType === 'BINARY') out[tag.key] = String(tag.vBinary ?? '');
      else out[tag.key] = String(tag.vStr ?? '');
    }
  }
  return out;
}

function plainValue(v: Json): AttributeValue {
  if (v === undefined) return null;
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map(plainValue);
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainValue(x)])) as AttributeValue;
  return String(v);
}

function toInteger(v: Json): AttributeValue {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?[0-9]+$/.test(v)) {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : v;
  }
  return typeof v === 'string' ? v : null;
}

function hexId(v: Json): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  return v.replace(/^0x/i, '').toLowerCase();
}

/** OTLP/JSON ids are hex; some older exporters wrote the protobuf bytes as base64. */
function otlpId(v: Json, bytes: number): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  if (/^[0-9a-fA-F]+$/.test(v)) return v.toLowerCase();
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(v) && typeof atob === 'function') {
    try {
      const raw = atob(v);
      if (raw.length === bytes) {
        return [...raw].map((c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('');
      }
    } catch {
      // not base64 after all: keep as written
    }
  }
  return v;
}

function noLlmSpanMessage(scan: SpanScan): string {
  const shapes = scan.shapes.map(spanShapeLabel).join(', ');
  const genAi = scan.spans.filter((s) => Object.keys(s.attributes).some((k) => k.startsWith('gen_ai.')));
  let message =
    `no LLM span found: looked for a span that names a prompt (${PROMPT_NAME_ATTRIBUTES.map(([k]) => k).join(', ')}) among ${scan.spans.length} span${scan.spans.length === 1 ? '' : 's'} (${shapes})`;
  const names = scan.spans.slice(0, 5).map((s) => (s.name ? quoteForMessage(s.name, 40) : s.spanId ?? 'unnamed'));
  if (names.length) message += `; spans seen: ${names.join(', ')}${scan.spans.length > 5 ? ', …' : ''}`;
  if (genAi.length) {
    message += `. ${genAi.length === 1 ? 'One span has' : `${genAi.length} spans have`} gen_ai.* attributes but names no prompt: the calling code must set the prompt's name and version on the span (prompt.name and prompt.version, or gen_ai.prompt.name and gen_ai.prompt.version)`;
  }
  return message;
}

// ---------------------------------------------------------------------------------------------
// Attribute readers

function attrText(attrs: SpanAttributes, key: string): string | undefined {
  const v = attrs[key];
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function attrNumber(attrs: SpanAttributes, key: string): number | undefined {
  const v = attrs[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

function firstNumber(attrs: SpanAttributes, keys: string[]): number | undefined {
  for (const k of keys) {
    const n = attrNumber(attrs, k);
    if (n !== undefined) return n;
  }
  return undefined;
}

/** A JSON string attribute parsed, a structured one as is; undefined when absent or not JSON. */
function structured(v: AttributeValue | undefined): unknown {
  if (typeof v === 'string') {
    const t = v.trim();
    if (!(t.startsWith('[') || t.startsWith('{'))) return undefined;
    try {
      return JSON.parse(t);
    } catch {
      return undefined;
    }
  }
  return v ?? undefined;
}

/** The text of one message's content: a string, parts (`{type:"text",content}`), or Anthropic blocks (`{type:"text",text}`). */
function textOfContent(content: unknown): { text: string; nonText: boolean } | undefined {
  if (typeof content === 'string') {
    const blocks = structured(content);
    if (Array.isArray(blocks) && blocks.length && blocks.every((b) => isObject(b) && typeof b.type === 'string')) {
      const asBlocks = textOfContent(blocks);
      if (asBlocks && blocks.every((b) => (b as JsonObject).type !== 'text' || typeof (b as JsonObject).text === 'string' || typeof (b as JsonObject).content === 'string')) {
        return asBlocks;
      }
    }
    return { text: content, nonText: false };
  }
  if (Array.isArray(content)) {
    let text = '';
    let nonText = false;
    for (const part of content) {
      if (typeof part === 'string') text += part;
      else if (isObject(part) && (part.type === 'text' || part.type === undefined) && (typeof part.content === 'string' || typeof part.text === 'string')) {
        text += (typeof part.content === 'string' ? part.content : part.text) as string;
      } else nonText = true;
    }
    return { text, nonText };
  }
  return undefined;
}

function messageOf(m: unknown): RecordedMessage | undefined {
  if (!isObject(m) || typeof m.role !== 'string') return undefined;
  const body = textOfContent(m.parts !== undefined ? m.parts : m.content);
  if (!body) return { role: m.role, content: '', hasNonTextParts: m.parts !== undefined || m.content !== undefined };
  return body.nonText ? { role: m.role, content: body.text, hasNonTextParts: true } : { role: m.role, content: body.text };
}

function indexedMessages(attrs: SpanAttributes, prefix: string): RecordedMessage[] | undefined {
  const byIndex = new Map<number, { role?: string; content?: string }>();
  const pattern = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.(\\d+)\\.(role|content)$`);
  for (const [key, value] of Object.entries(attrs)) {
    const m = pattern.exec(key);
    if (!m) continue;
    const entry = byIndex.get(Number(m[1])) ?? {};
    if (m[2] === 'role' && typeof value === 'string') entry.role = value;
    if (m[2] === 'content') entry.content = typeof value === 'string' ? value : JSON.stringify(value);
    byIndex.set(Number(m[1]), entry);
  }
  if (byIndex.size === 0) return undefined;
  return [...byIndex.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, e]) => messageOf({ role: e.role ?? 'user', content: e.content ?? '' })!)
    .filter(Boolean);
}


/** Messages recorded as a JSON array under `gen_ai.input.messages` / `gen_ai.output.messages`; anything else is a warning. */
function messagesAttribute(
  attrs: SpanAttributes,
  key: 'gen_ai.input.messages' | 'gen_ai.output.messages',
  what: 'input' | 'output',
  sources: string[],
  warnings: string[],
): RecordedMessage[] | undefined {
  const raw = attrs[key];
  if (raw === undefined || raw === null) return undefined;
  const parsed = structured(raw);
  if (!Array.isArray(parsed)) {
    warnings.push(`${key} is not a JSON array of messages; the recorded ${what} is ignored`);
    return undefined;
  }
  sources.push(key);
  return parsed.map(messageOf).filter((m): m is RecordedMessage => !!m);
}

/** Messages recorded under an older GenAI attribute: `KEY.N.role/content`, or one JSON (or plain) string at `KEY`. */
function olderConventionMessages(
  attrs: SpanAttributes,
  key: 'gen_ai.prompt' | 'gen_ai.completion',
  role: 'user' | 'assistant',
  sources: string[],
): RecordedMessage[] | undefined {
  const indexed = indexedMessages(attrs, key);
  if (indexed) {
    sources.push(`${key}.N`);
    return indexed;
  }
  const raw = attrs[key];
  if (typeof raw !== 'string') return undefined;
  const parsed = structured(raw);
  sources.push(key);
  return Array.isArray(parsed) ? parsed.map(messageOf).filter((m): m is RecordedMessage => !!m) : [{ role, content: raw }];
}

/**
 * OpenInference's flattened messages: `llm.input_messages.N.message.role` / `.content`, or the
 * multimodal `…message.contents.M.message_content.type` / `.text`.
 */
function openInferenceMessages(attrs: SpanAttributes, prefix: 'llm.input_messages' | 'llm.output_messages'): RecordedMessage[] | undefined {
  const byIndex = new Map<number, { role?: string; content?: string; parts: Map<number, { type?: string; text?: string }> }>();
  const escaped = prefix.replace(/\./g, '\\.');
  const plain = new RegExp(`^${escaped}\\.(\\d+)\\.message\\.(role|content)$`);
  const part = new RegExp(`^${escaped}\\.(\\d+)\\.message\\.contents\\.(\\d+)\\.message_content\\.(type|text)$`);
  const entry = (i: number) => {
    let e = byIndex.get(i);
    if (!e) byIndex.set(i, (e = { parts: new Map() }));
    return e;
  };
  for (const [key, value] of Object.entries(attrs)) {
    let m = plain.exec(key);
    if (m) {
      const e = entry(Number(m[1]));
      if (m[2] === 'role' && typeof value === 'string') e.role = value;
      if (m[2] === 'content') e.content = typeof value === 'string' ? value : JSON.stringify(value);
      continue;
    }
    m = part.exec(key);
    if (m) {
      const e = entry(Number(m[1]));
      const p = e.parts.get(Number(m[2])) ?? {};
      if (m[3] === 'type' && typeof value === 'string') p.type = value;
      if (m[3] === 'text' && typeof value === 'string') p.text = value;
      e.parts.set(Number(m[2]), p);
    }
  }
  if (byIndex.size === 0) return undefined;
  return [...byIndex.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, e]) => {
      if (e.content !== undefined || e.parts.size === 0) return { role: e.role ?? 'user', content: e.content ?? '' };
      const parts = [...e.parts.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
      const message: RecordedMessage = { role: e.role ?? 'user', content: parts.filter((p) => p.type === undefined || p.type === 'text').map((p) => p.text ?? '').join('') };
      if (parts.some((p) => p.type !== undefined && p.type !== 'text')) message.hasNonTextParts = true;
      return message;
    });
}

/** OpenInference's `llm.invocation_parameters` (a JSON object string): where its Anthropic instrumentation puts `system`. */
function invocationParameters(attrs: SpanAttributes): JsonObject | undefined {
  const parsed = structured(attrs['llm.invocation_parameters']);
  return isObject(parsed) ? parsed : undefined;
}

function numberOf(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Langfuse's `langfuse.observation.input` / `.output`: JSON of what the SDK was given (messages, an object with messages, or text). */
function langfuseMessages(attrs: SpanAttributes, key: 'langfuse.observation.input' | 'langfuse.observation.output', role: 'user' | 'assistant'): { messages: RecordedMessage[]; system?: string } | undefined {
  const raw = attrs[key];
  if (raw === undefined || raw === null || raw === '') return undefined;
  const parsed = structured(raw);
  const list = (v: unknown[]) => v.map(messageOf).filter((m): m is RecordedMessage => !!m);
  if (Array.isArray(parsed)) return { messages: list(parsed) };
  if (isObject(parsed)) {
    if (Array.isArray(parsed.messages)) {
      const system = textOfContent(parsed.system);
      return { messages: list(parsed.messages), ...(system ? { system: system.text } : {}) };
    }
    const one = messageOf(parsed);
    if (one) return { messages: [one] };
    return undefined;
  }
  return typeof raw === 'string' ? { messages: [{ role, content: raw }] } : undefined;
}

function readRecordedCall(attrs: SpanAttributes, warnings: string[]): RecordedCall | undefined {
  const sources: string[] = [];
  let system: string | undefined;

  let input = messagesAttribute(attrs, 'gen_ai.input.messages', 'input', sources, warnings);
  let output = messagesAttribute(attrs, 'gen_ai.output.messages', 'output', sources, warnings);
  const systemRaw = attrs['gen_ai.system_instructions'];
  if (systemRaw !== undefined && systemRaw !== null) {
    const parsed = structured(systemRaw);
    const text = Array.isArray(parsed) ? textOfContent(parsed) : typeof systemRaw === 'string' ? { text: systemRaw, nonText: false } : undefined;
    if (text) {
      system = text.text;
      sources.push('gen_ai.system_instructions');
    }
  }

  // The older conventions: gen_ai.prompt.N.role/content, gen_ai.completion.N.role/content, or one JSON string.
  input ??= olderConventionMessages(attrs, 'gen_ai.prompt', 'user', sources);
  output ??= olderConventionMessages(attrs, 'gen_ai.completion', 'assistant', sources);

  // OpenInference: flattened llm.input_messages / llm.output_messages; Anthropic's system prompt sits in llm.invocation_parameters.
  if (!input) {
    input = openInferenceMessages(attrs, 'llm.input_messages');
    if (input) sources.push('llm.input_messages.N');
  }
  if (!output) {
    output = openInferenceMessages(attrs, 'llm.output_messages');
    if (output) sources.push('llm.output_messages.N');
  }
  if (system === undefined && input && sources.includes('llm.input_messages.N') && !input.some((m) => m.role === 'system')) {
    const fromParameters = textOfContent(invocationParameters(attrs)?.system);
    if (fromParameters) {
      system = fromParameters.text;
      sources.push('llm.invocation_parameters.system');
    }
  }

  // Langfuse: the generation's input and output as JSON.
  if (!input) {
    const langfuse = langfuseMessages(attrs, 'langfuse.observation.input', 'user');
    if (langfuse) {
      input = langfuse.messages;
      sources.push('langfuse.observation.input');
      if (system === undefined && langfuse.system !== undefined) system = langfuse.system;
    }
  }
  if (!output) {
    const langfuse = langfuseMessages(attrs, 'langfuse.observation.output', 'assistant');
    if (langfuse) {
      output = langfuse.messages;
      sources.push('langfuse.observation.output');
    }
  }
  if (!input && !output && system === undefined) return undefined;

  const recorded: RecordedCall = { sources };
  if (input) {
    const systemMessages = input.filter((m) => m.role === 'system');
    const rest = input.filter((m) => m.role !== 'system');
    if (system === undefined && systemMessages.length) system = systemMessages.map((m) => m.content).join('\n');
    recorded.messages = rest;
    const lastUser = [...rest].reverse().find((m) => m.role === 'user');
    if (lastUser) recorded.user = lastUser.content;
  }
  if (system !== undefined) recorded.system = system;
  if (output) {
    const texts = output.filter((m) => m.role === 'assistant' || m.role === 'model' || output!.length === 1);
    if (texts.length) recorded.output = texts.map((m) => m.content).join('\n');
  }
  return recorded;
}

/** One attribute that holds the template's variables as a JSON object (or a map). */
function jsonObjectAttribute(attrs: SpanAttributes, key: string, warnings: string[]): Record<string, unknown> | undefined {
  const raw = attrs[key];
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (isObject(raw)) return { ...raw };
  if (typeof raw === 'string') {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (isObject(parsed)) return parsed;
      warnings.push(`${key} is JSON but not an object (${describeJsonValue(parsed)}); its variables are not used`);
    } catch (error) {
      warnings.push(`${key} is not valid JSON (${(error as Error).message}); its variables are not used`);
    }
  } else {
    warnings.push(`${key} is not a JSON object string; its variables are not used`);
  }
  return undefined;
}

/** `PREFIX.<name>` keys as variables (a map attribute flattened by the exporter). */
function prefixedVariables(attrs: SpanAttributes, prefix: string): Record<string, unknown> | undefined {
  const flat: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith(prefix) && key.length > prefix.length) flat[key.slice(prefix.length)] = value;
  }
  return Object.keys(flat).length ? flat : undefined;
}

/**
 * The template variables of every convention, merged in precedence order (ours, OpenTelemetry's
 * `gen_ai.prompt.variable.<name>`, OpenInference, OpenLLMetry); a variable two of them give
 * differently is a warning, and the first is used.
 */
function readVariables(attrs: SpanAttributes, warnings: string[]): { values: Record<string, unknown>; sources: string[] } | undefined {
  const candidates: [string, Record<string, unknown> | undefined][] = [
    ['prompt.variables', jsonObjectAttribute(attrs, 'prompt.variables', warnings)],
    ['prompt.variables.<name>', prefixedVariables(attrs, 'prompt.variables.')],
    ['gen_ai.prompt.variable.<name>', prefixedVariables(attrs, 'gen_ai.prompt.variable.')],
    ['llm.prompt_template.variables', jsonObjectAttribute(attrs, 'llm.prompt_template.variables', warnings)],
    ['traceloop.prompt.template_variables', jsonObjectAttribute(attrs, 'traceloop.prompt.template_variables', warnings)],
  ];
  const values: Record<string, unknown> = {};
  const from: Record<string, string> = {};
  const sources: string[] = [];
  for (const [source, vars] of candidates) {
    if (!vars) continue;
    sources.push(source);
    for (const [name, value] of Object.entries(vars)) {
      if (!(name in values)) {
        values[name] = value;
        from[name] = source;
      } else if (JSON.stringify(values[name]) !== JSON.stringify(value)) {
        warnings.push(`variable "${name}" differs between ${from[name]} and ${source}; the replay uses ${from[name]}`);
      }
    }
  }
  return sources.length ? { values, sources } : undefined;
}
