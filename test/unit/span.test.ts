import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  MAX_SPAN_INPUT_BYTES,
  MAX_SPAN_JSON_DEPTH,
  SpanError,
  decodeAnyValue,
  findJsonSyntaxProblem,
  findLlmSpans,
  parseSpan,
  quoteForMessage,
  readSpans,
  spanSummary,
} from '../../src/core/span';
import type { SpanErrorCode } from '../../src/core/span';

const FIXTURES = join(__dirname, '..', 'fixtures', 'spans');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

/** The commits of test/fixtures/spans/prompt-history.json, as the span fixtures name them. */
const SHA = {
  a: '1754a881f90c9d249853440fffe3f27ab4c0d5d9',
  b: 'f5ab86dcbfb5a5c3fd2f78f399a681931f694b45',
  c: 'bcf22543399ea9fb7b3bcaf0507a9caddd5623eb',
  d: '27e1c51d51981f01ddf5d0bf7de4b8eea668cc3c',
};

const USER_B =
  'Summarise the document below for Grace Hopper in at most 3 sentences.\n\n<document>\n' +
  'Invoice INV-1042 was charged twice on 2 March.\nThe customer asks for a refund of the second charge.\n</document>\n';
const SYSTEM_A = "You are a careful assistant that summarises customer documents.\nKeep the customer's own terms for products and plans.\n";
const SYSTEM_D = `${SYSTEM_A}Never invent facts that are not in the document.\n`;

/** Asserts `fn` throws a SpanError with `code` and returns its message. */
function spanError(fn: () => unknown, code: SpanErrorCode): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof SpanError, `expected a SpanError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error.message;
  }
  assert.fail(`expected a SpanError ${code}`);
}

/** A minimal flat span with the three prompt attributes, overridable. */
const flat = (overrides: Record<string, unknown> = {}): string =>
  JSON.stringify({ 'prompt.name': 'summarisation', 'prompt.version': 1, 'prompt.commit_sha': SHA.b, ...overrides });

describe('parseSpan: every shape, found by content', () => {
  it('reads an OTLP/JSON export, picking the LLM span among the HTTP and retrieval spans', () => {
    const span = parseSpan(fixture('otlp-export.json'));
    assert.equal(span.shape, 'otlp-export');
    assert.deepEqual(spanSummary(span), {
      promptName: 'summarisation',
      promptVersion: 1,
      commitSha: SHA.b,
      model: 'claude-sonnet-4-6',
      tenantId: 'acme-corp',
      requestId: 'req_7f3a9c2e41',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
    });
    assert.equal(span.spanName, 'chat claude-sonnet-4-6');
    assert.equal(span.temperature, 0);
    assert.equal(span.maxTokens, 600, 'intValue "600" (a string in OTLP/JSON) is read as a number');
    assert.deepEqual(span.usage, { inputTokens: 96, outputTokens: 31 });
    assert.equal(span.recorded?.system, SYSTEM_A);
    assert.equal(span.recorded?.user, USER_B);
    assert.deepEqual(span.recorded?.messages, [{ role: 'user', content: USER_B }]);
    assert.match(span.recorded?.output ?? '', /^Grace Hopper was charged twice/);
    assert.deepEqual(span.recorded?.sources, ['gen_ai.input.messages', 'gen_ai.output.messages', 'gen_ai.system_instructions']);
    assert.deepEqual(span.variables, {
      customer_name: 'Grace Hopper',
      document: 'Invoice INV-1042 was charged twice on 2 March.\nThe customer asks for a refund of the second charge.',
      max_sentences: 3,
    });
    assert.deepEqual(span.warnings, []);
  });

  it('reads the collector file exporter (one export per line) and the older gen_ai.prompt.N attributes', () => {
    const span = parseSpan(fixture('otlp-collector-file-exporter.json'));
    assert.equal(span.shape, 'otlp-export');
    assert.equal(span.commitSha, SHA.a.slice(0, 12));
    assert.equal(span.promptVersion, 1, 'a version recorded as the string "1"');
    assert.equal(span.spanId, '5fb397be34d26b51');
    assert.equal(span.recorded?.system, SYSTEM_A);
    assert.match(span.recorded?.user ?? '', /^Summarise the document below for Grace Hopper\.\n/);
    assert.deepEqual(span.recorded?.sources, ['gen_ai.prompt.N', 'gen_ai.completion.N']);
    assert.deepEqual(span.usage, { inputTokens: 88, outputTokens: 31 }, 'gen_ai.usage.prompt_tokens / completion_tokens');
    assert.equal(span.maxTokens, 800);
  });

  it('reads a single OTLP span with gen_ai.response.*_tokens and a kvlist prompt.variables', () => {
    const span = parseSpan(fixture('otlp-span.json'));
    assert.equal(span.shape, 'otlp-span');
    assert.equal(span.commitSha, SHA.d);
    assert.equal(span.tenantId, 'globex');
    assert.deepEqual(span.usage, { inputTokens: 104, outputTokens: 31 });
    assert.equal(span.recorded?.system, SYSTEM_D);
    assert.equal(span.recorded?.user, USER_B);
    assert.equal(span.variables?.max_sentences, 3);
    assert.equal(span.variables?.customer_name, 'Grace Hopper');
  });

  it('reads the older instrumentationLibrarySpans with base64 ids, and falls back to the resource for tenant.id', () => {
    const span = parseSpan(fixture('otlp-instrumentation-library.json'));
    assert.equal(span.shape, 'otlp-export');
    assert.equal(span.traceId, '6e0c63257de34c92bf9efcd03927272e');
    assert.equal(span.spanId, '0bc4a5fe53e8ab72');
    assert.equal(span.commitSha, '1754a88');
    assert.equal(span.tenantId, 'initech');
    assert.equal(span.recorded, undefined, 'nothing recorded on this span');
  });

  it('reads Jaeger JSON (data[].spans[].tags[]) with the tenant on the process', () => {
    const span = parseSpan(fixture('jaeger.json'));
    assert.equal(span.shape, 'jaeger');
    assert.equal(span.promptVersion, 2);
    assert.equal(span.commitSha, SHA.c);
    assert.equal(span.traceId, '7d2c1f0e9b8a7c6d5e4f3a2b1c0d9e8f');
    assert.equal(span.spanId, 'f1c3a5b7d9e2f4a6');
    assert.equal(span.tenantId, 'umbrella');
    assert.equal(span.temperature, 0.2);
    assert.deepEqual(span.usage, { inputTokens: 71, outputTokens: 28 });
    assert.equal(span.recorded?.system, 'You summarise support documents in plain English.\n');
  });

  it('reads Zipkin v2 (string tags) with the system prompt recorded as a system message', () => {
    const span = parseSpan(fixture('zipkin-v2.json'));
    assert.equal(span.shape, 'zipkin-v2');
    assert.equal(span.promptName, 'classification');
    assert.equal(span.promptVersion, 1);
    assert.equal(span.commitSha, SHA.c.slice(0, 10));
    assert.equal(span.maxTokens, 20, 'the string tag "20" is read as a number');
    assert.equal(span.temperature, 0);
    assert.equal(span.recorded?.system, 'Classify the support ticket. Labels: billing, bug, account, other.\nAnswer with the label only.\n');
    assert.deepEqual(span.recorded?.messages?.map((m) => m.role), ['user'], 'the system message is not among the messages');
    assert.equal(span.recorded?.output, 'billing');
    assert.deepEqual(span.variables?.customer, { name: 'Alan Turing', plan: 'Free' });
  });

  it('reads a flat attribute map, with trace_id/span_id keys', () => {
    const span = parseSpan(fixture('attribute-map.json'));
    assert.equal(span.shape, 'attribute-map');
    assert.equal(span.model, 'claude-sonnet-4-5');
    assert.equal(span.traceId, '2c7e9f1a3b5d4e6f8a9b0c1d2e3f4a5b');
    assert.equal(span.spanId, '7e6d5c4b3a291807');
  });

  it("reads the OpenTelemetry Python console exporter's span (0x ids, plain attributes)", () => {
    const span = parseSpan(fixture('otel-console.json'));
    assert.equal(span.shape, 'otel-console');
    assert.equal(span.traceId, '8f2b1c9d7e6a5f4b3c2d1e0f9a8b7c6d');
    assert.equal(span.spanId, '1a2b3c4d5e6f7a8b');
    assert.equal(span.commitSha, SHA.d);
    assert.equal(span.recorded?.system, SYSTEM_D);
  });

  it('reads jaeger-query api_v2 tags (vType/vStr/vInt64) and a bare Jaeger span', () => {
    const text = JSON.stringify({
      traceId: 'abc',
      spanId: 'def',
      operationName: 'chat',
      tags: [
        { key: 'prompt.name', vStr: 'summarisation' },
        { key: 'prompt.version', vType: 'INT64', vInt64: '3' },
        { key: 'prompt.commit_sha', vStr: 'ABCDEF0' },
        { key: 'gen_ai.request.temperature', vType: 'FLOAT64', vFloat64: 0.5 },
      ],
    });
    const span = parseSpan(text);
    assert.equal(span.shape, 'jaeger');
    assert.equal(span.promptVersion, 3);
    assert.equal(span.commitSha, 'abcdef0', 'upper-case hex is accepted and lowered');
    assert.equal(span.temperature, 0.5);
  });

  it('accepts a paste wrapped in a Markdown code fence, and a byte-order mark', () => {
    assert.equal(parseSpan('```json\n' + flat() + '\n```\n').promptName, 'summarisation');
    assert.equal(parseSpan('\uFEFF' + flat()).promptName, 'summarisation');
  });

  it('keeps the half of a Zipkin shared span that names the prompt', () => {
    const base = { traceId: 'aa'.repeat(8), id: 'bb'.repeat(8), name: 'chat' };
    const text = JSON.stringify([
      { ...base, kind: 'SERVER', tags: { 'http.method': 'POST' } },
      { ...base, kind: 'CLIENT', tags: { 'prompt.name': 'summarisation', 'prompt.version': '1', 'prompt.commit_sha': SHA.a } },
    ]);
    assert.equal(readSpans(text).spans.length, 1);
    assert.equal(parseSpan(text).commitSha, SHA.a);
  });

  it('reads messages recorded on span events (older conventions) when the span lacks them', () => {
    const text = JSON.stringify({
      traceId: '11'.repeat(16),
      spanId: '22'.repeat(8),
      name: 'chat',
      attributes: [
        { key: 'prompt.name', value: { stringValue: 'summarisation' } },
        { key: 'prompt.version', value: { intValue: '1' } },
        { key: 'prompt.commit_sha', value: { stringValue: SHA.a } },
      ],
      events: [
        { name: 'gen_ai.content.prompt', attributes: [{ key: 'gen_ai.prompt', value: { stringValue: JSON.stringify([{ role: 'user', content: 'hi' }]) } }] },
        { name: 'gen_ai.content.completion', attributes: [{ key: 'gen_ai.completion', value: { stringValue: JSON.stringify([{ role: 'assistant', content: 'hello' }]) } }] },
        { name: 'exception', attributes: [{ key: 'exception.message', value: { stringValue: 'ignored' } }] },
      ],
    });
    const span = parseSpan(text);
    assert.equal(span.recorded?.user, 'hi');
    assert.equal(span.recorded?.output, 'hello');
  });

  it('reads Anthropic content blocks recorded as a JSON string, and flags non-text parts', () => {
    const blocks = JSON.stringify([{ type: 'text', text: 'part one ' }, { type: 'text', text: 'part two' }]);
    const span = parseSpan(flat({ 'gen_ai.prompt.0.role': 'user', 'gen_ai.prompt.0.content': blocks }));
    assert.equal(span.recorded?.user, 'part one part two');
    const withTool = JSON.stringify([
      { role: 'user', parts: [{ type: 'text', content: 'look' }, { type: 'blob', modality: 'image', content: 'AAAA' }] },
    ]);
    const span2 = parseSpan(flat({ 'gen_ai.input.messages': withTool }));
    assert.deepEqual(span2.recorded?.messages, [{ role: 'user', content: 'look', hasNonTextParts: true }]);
  });

  it('takes prompt.variables flattened as prompt.variables.<name>', () => {
    const span = parseSpan(flat({ 'prompt.variables.customer_name': 'Grace', 'prompt.variables.document': 'x' }));
    assert.deepEqual(span.variables, { customer_name: 'Grace', document: 'x' });
  });

  it('warns, without failing, when prompt.variables is not a JSON object', () => {
    const span = parseSpan(flat({ 'prompt.variables': '{"customer_name": ' }));
    assert.equal(span.variables, undefined);
    assert.match(span.warnings[0], /prompt\.variables is not valid JSON/);
    const arr = parseSpan(flat({ 'prompt.variables': '["a"]' }));
    assert.match(arr.warnings[0], /not an object/);
  });
});

describe('parseSpan: several spans', () => {
  it('lists every LLM span and asks to choose, naming them by id, name and prompt', () => {
    const text = fixture('several-llm-spans.json');
    assert.equal(findLlmSpans(text).length, 2);
    const message = spanError(() => parseSpan(text), 'several-llm-spans');
    assert.match(message, /2 LLM spans/);
    assert.match(message, /span 00f067aa0ba902b7, name "chat claude-sonnet-4-6", prompt "summarisation" v1/);
    assert.match(message, /span d4e5f6a7b8c9d0e1, name "chat claude-haiku-4-5", prompt "classification" v1/);
    assert.match(message, /choose one by its span id/);
    assert.doesNotMatch(message, /--/, 'no command-line flag: the extension shows this message too');
  });

  it('names the versions of string-tagged spans plainly', () => {
    const tags = (id: string, name: string) => ({ traceId: 'aa'.repeat(16), id, name: 'chat', tags: { 'prompt.name': name, 'prompt.version': '2', 'prompt.commit_sha': SHA.c } });
    const message = spanError(() => parseSpan(JSON.stringify([tags('1'.repeat(16), 'summarisation'), tags('2'.repeat(16), 'classification')])), 'several-llm-spans');
    assert.match(message, /prompt "summarisation" v2; span 2222222222222222, name "chat", prompt "classification" v2$/);
  });

  it('lists the first ten spans of a large paste and says how many more it holds', () => {
    const tags = (n: number) => ({ traceId: 'aa'.repeat(16), id: n.toString(16).padStart(16, '0'), name: 'chat', tags: { 'prompt.name': 'summarisation', 'prompt.version': '2', 'prompt.commit_sha': SHA.c } });
    const message = spanError(() => parseSpan(JSON.stringify(Array.from({ length: 430 }, (_, i) => tags(i + 1)))), 'several-llm-spans');
    assert.match(message, /^this paste holds 430 LLM spans; /);
    assert.equal(message.match(/span [0-9a-f]{16}/g)?.length, 10);
    assert.match(message, /span 000000000000000a, name "chat", prompt "summarisation" v2; … and 420 more$/);
  });

  it('takes the span chosen by id, whatever its case', () => {
    const text = fixture('several-llm-spans.json');
    assert.equal(parseSpan(text, { spanId: 'D4E5F6A7B8C9D0E1' }).promptName, 'classification');
    assert.equal(parseSpan(text, { spanId: '00f067aa0ba902b7' }).promptName, 'summarisation');
  });

  it('says when the chosen id is not an LLM span, or not in the paste', () => {
    const text = fixture('several-llm-spans.json');
    assert.match(spanError(() => parseSpan(text, { spanId: 'a2fb4a1d1a96d312' }), 'span-not-found'), /names no prompt \(prompt\.name, gen_ai\.prompt\.name, langfuse\.observation\.prompt\.name/);
    assert.match(spanError(() => parseSpan(text, { spanId: 'ffffffffffffffff' }), 'span-not-found'), /no span with id "ffffffffffffffff"/);
  });
});

describe('parseSpan: bad input gets a message naming the problem', () => {
  it('no LLM span: says what was looked for and what was seen', () => {
    const message = spanError(() => parseSpan(fixture('no-llm-span.json')), 'no-llm-span');
    assert.match(message, /looked for a span that names a prompt \(prompt\.name, gen_ai\.prompt\.name, .*\) among 3 spans \(OTLP\/JSON export\)/);
    assert.match(message, /"POST \/v1\/summaries", "retrieve document", "chat claude-sonnet-4-6"/);
    assert.match(message, /gen_ai\.\* attributes but names no prompt: the calling code must set/);
    assert.deepEqual(findLlmSpans(fixture('no-llm-span.json')), []);
  });

  it('JSON of no known shape', () => {
    const message = spanError(() => parseSpan('{"hello": "world"}'), 'unrecognised-shape');
    assert.match(message, /resourceSpans/);
    assert.match(message, /an object with keys "hello"/);
    spanError(() => parseSpan('42'), 'unrecognised-shape');
    spanError(() => parseSpan('[]'), 'unrecognised-shape');
  });

  it('empty input', () => {
    spanError(() => parseSpan(''), 'empty');
    spanError(() => parseSpan('  \n\t '), 'empty');
  });

  it('not JSON: the line, column and offset of the problem, and what was expected', () => {
    const message = spanError(() => parseSpan('{\n  "prompt.name": \'summarisation\'\n}'), 'not-json');
    assert.match(message, /unexpected "'" at line 2, column 18 \(offset 19\)/);
    assert.match(message, /strings take double quotes/);
    const trailing = spanError(() => parseSpan('{"prompt.name": "x",\n}'), 'not-json');
    assert.match(trailing, /line 2, column 1/);
    assert.match(trailing, /trailing comma/);
    const prose = spanError(() => parseSpan('here is my span: {"a": 1}'), 'not-json');
    assert.match(prose, /unexpected "h" at line 1, column 1/);
  });

  it('truncated JSON: says it was cut off, where, and how many brackets are open', () => {
    const whole = fixture('otlp-export.json');
    const cut = whole.slice(0, Math.floor(whole.length / 2));
    const message = spanError(() => parseSpan(cut), 'truncated-json');
    assert.match(message, /truncated JSON: it ends at line \d+, column \d+ with \d+ brackets still open \(the outermost '\{' at line 1, column 1\)/);
    assert.match(message, /cut off/);
    const midString = spanError(() => parseSpan('{"prompt.name": "summari'), 'truncated-json');
    assert.match(midString, /closing quote/);
  });

  it('a JSON Lines paste with one bad line is not JSON', () => {
    spanError(() => parseSpan(`${flat()}\n{"prompt.name": }\n`), 'not-json');
  });

  it('refuses a paste nested 100,000 brackets deep with a clear error, not a stack overflow', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const message = spanError(() => parseSpan(deep), 'too-deep');
    assert.equal(message, `the paste nests arrays and objects more than ${MAX_SPAN_JSON_DEPTH} deep, and a span export nests far less: it is refused; export only the trace (or the span) of the call`);
    spanError(() => parseSpan(`{"a":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_001)}`), 'too-deep');
    // Unbalanced: the truncation is what is wrong, and said so.
    spanError(() => parseSpan('['.repeat(100_000)), 'truncated-json');
  });

  it('refuses a 50 MB paste at once, with the size and the limit', () => {
    // Cut short of its closing brackets: had it been parsed, the error would be truncated JSON, not its size.
    const big = `{"resourceSpans": [${'{"resource": {}, "scopeSpans": []},'.repeat(1_500_000)}{}`;
    assert.ok(big.length > 50 * 1024 * 1024);
    const message = spanError(() => parseSpan(big), 'too-large');
    assert.match(message, /is 5\d(\.\d)? MB, over the 20 MB limit/);
  });

  it('counts the limit in UTF-8 bytes, not characters', () => {
    const chars = Math.floor(MAX_SPAN_INPUT_BYTES / 3) + 10; // each "é€" char is 2-3 bytes
    const wide = JSON.stringify({ note: '€'.repeat(chars) });
    spanError(() => parseSpan(wide), 'too-large');
  });

  it('reads a large but allowed export (8 MB of other spans)', () => {
    const other = { traceId: '1'.repeat(32), spanId: '2'.repeat(16), name: 'db query', attributes: [{ key: 'db.statement', value: { stringValue: 'x'.repeat(1000) } }] };
    const doc = JSON.parse(fixture('otlp-export.json'));
    doc.resourceSpans[0].scopeSpans[0].spans.push(...Array.from({ length: 8000 }, (_, i) => ({ ...other, spanId: i.toString(16).padStart(16, '0') })));
    const text = JSON.stringify(doc);
    assert.ok(text.length > 8 * 1024 * 1024);
    assert.equal(parseSpan(text).spanId, '00f067aa0ba902b7');
  });

  it('a SHA that is not 7 to 40 hex digits, shown escaped and cut', () => {
    for (const bad of ['abc123; rm -rf /', '$(touch x)', '`touch x`', 'abc123', 'a'.repeat(41), 'HEAD', 'main', '1754a88^', '-1754a88', 'g754a88']) {
      const message = spanError(() => parseSpan(flat({ 'prompt.commit_sha': bad })), 'bad-commit-sha');
      assert.match(message, /expected 7 to 40 hexadecimal digits/);
      assert.ok(message.includes(JSON.stringify(bad.slice(0, 60))), message);
    }
    const control = spanError(() => parseSpan(flat({ 'prompt.commit_sha': 'abc\u001b[31m\u202edef0' })), 'bad-commit-sha');
    assert.ok(!/[\u001b\u202e]/.test(control), 'control and bidi characters are escaped');
    assert.match(control, /\\u001b\[31m\\u202edef0/);
    const long = spanError(() => parseSpan(flat({ 'prompt.commit_sha': 'f'.repeat(10_000) })), 'bad-commit-sha');
    assert.ok(long.length < 300);
    assert.match(long, /10000 characters, cut/);
    spanError(() => parseSpan(flat({ 'prompt.commit_sha': 1754881 })), 'bad-commit-sha');
  });

  it('a prompt name that is not one safe path segment', () => {
    for (const bad of ['../etc', '../../secrets', 'a/b', '..', 'summarisation/../../x', 'a\\b']) {
      const message = spanError(() => parseSpan(flat({ 'prompt.name': bad })), 'bad-prompt-name');
      assert.match(message, /no "\/", "\\" or "\.\."/);
    }
    for (const bad of ['Summarisation', '-x', '_x', 'a b', 'é', 'x\n']) {
      const message = spanError(() => parseSpan(flat({ 'prompt.name': bad })), 'bad-prompt-name');
      assert.match(message, /\[a-z0-9\]\[a-z0-9_-\]\*/);
    }
  });

  it('a version that is not a positive integer', () => {
    for (const bad of ['two', 0, -1, 1.5, '1.0', '', ' ', '1; rm', 'v', true]) {
      if (bad === '' || bad === ' ') {
        spanError(() => parseSpan(flat({ 'prompt.version': bad })), bad === '' ? 'missing-attribute' : 'bad-prompt-version');
        continue;
      }
      assert.match(spanError(() => parseSpan(flat({ 'prompt.version': bad })), 'bad-prompt-version'), /positive integer/);
    }
    assert.equal(parseSpan(flat({ 'prompt.version': 'v2' })).promptVersion, 2);
    assert.equal(parseSpan(flat({ 'prompt.version': '12' })).promptVersion, 12);
  });

  it('a missing version names the attributes read and the span; a missing commit is not an error (it is inferred)', () => {
    const text = JSON.stringify({ 'prompt.name': 'summarisation', span_id: 'abcdef0123456789' });
    const message = spanError(() => parseSpan(text), 'missing-attribute');
    assert.match(message, /span abcdef0123456789.*names prompt "summarisation" \(prompt\.name\) but no version: replay reads it from prompt\.version, gen_ai\.prompt\.version/);
    const noSha = parseSpan(JSON.stringify({ 'prompt.name': 'summarisation', 'prompt.version': 1 }));
    assert.equal(noSha.commitSha, null);
    assert.equal(noSha.identity.commit, null);
  });
});

describe('OTLP typed values', () => {
  it('decodes every AnyValue kind', () => {
    assert.equal(decodeAnyValue({ stringValue: 'x' }), 'x');
    assert.equal(decodeAnyValue({ intValue: '42' }), 42);
    assert.equal(decodeAnyValue({ intValue: 42 }), 42);
    assert.equal(decodeAnyValue({ intValue: '9007199254740993' }), '9007199254740993', 'beyond 2^53 stays exact as a string');
    assert.equal(decodeAnyValue({ doubleValue: 0.25 }), 0.25);
    assert.equal(decodeAnyValue({ boolValue: true }), true);
    assert.deepEqual(decodeAnyValue({ arrayValue: { values: [{ stringValue: 'a' }, { intValue: '1' }] } }), ['a', 1]);
    assert.deepEqual(decodeAnyValue({ kvlistValue: { values: [{ key: 'k', value: { boolValue: false } }] } }), { k: false });
    assert.equal(decodeAnyValue({ bytesValue: 'AAEC' }), 'AAEC');
    assert.equal(decodeAnyValue({}), null);
    assert.deepEqual(decodeAnyValue({ arrayValue: {} }), []);
  });
});

describe('findJsonSyntaxProblem', () => {
  it('returns nothing for valid JSON and survives very deep nesting', () => {
    assert.equal(findJsonSyntaxProblem('{"a": [1, -2.5e3, true, null, "\\u00e9"]}'), undefined);
    const deep = '['.repeat(300_000);
    const problem = findJsonSyntaxProblem(deep);
    assert.equal(problem?.kind, 'truncated');
    assert.equal(problem?.open.length, 300_000);
  });

  it('finds bad escapes, raw control characters and bad numbers', () => {
    assert.equal(findJsonSyntaxProblem('"a\\x"')?.kind, 'unexpected');
    assert.equal(findJsonSyntaxProblem('"a\nb"')?.offset, 2);
    assert.equal(findJsonSyntaxProblem('[01]')?.kind, 'unexpected');
    assert.equal(findJsonSyntaxProblem('{"a": 1} {"b": 2}')?.kind, 'trailing-data');
  });
});

describe('quoteForMessage', () => {
  it('quotes strings as JSON with non-ASCII escaped, and labels other types', () => {
    assert.equal(quoteForMessage('a"b'), '"a\\"b"');
    assert.equal(quoteForMessage('é'), '"\\u00e9"');
    assert.equal(quoteForMessage(12), '12 (number)');
    assert.equal(quoteForMessage(['a']), '["a"] (array)');
  });
});
