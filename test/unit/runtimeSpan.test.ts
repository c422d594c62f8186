import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { runReplayCommand } from '../../src/cli/replayCommand';
import type { PromptRuntime } from '../../src/runtime';
import { createPromptRuntime } from '../../src/runtime';
import type { TestPostgres } from '../support/postgres';
import { startTestPostgres } from '../support/postgres';
import { makePromptRepo } from '../support/promptRepo';
import type { StandIn } from '../support/standIn/server';
import { startStandIn } from '../support/standIn/server';

/**
 * What `createMessage` emits: the span of DESIGN.md section 7, collected with the SDK's in-memory
 * exporter and written as OTLP/JSON with the OTLP transformer's own JSON serializer (the bytes the
 * OTLP/HTTP JSON exporter sends), then replayed with `prompt-ci replay`.
 */
describe('runtime spans', function () {
  this.timeout(120_000);
  let pg: TestPostgres;
  let standIn: StandIn;
  let repo: ReturnType<typeof makePromptRepo>;
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const runtimes: PromptRuntime[] = [];
  const variables = { customer_name: 'Zoë “Acme” Ltd', plan: 'enterprise', document: 'Line one.\n{not a field}\nLine 3 — naïve café ✓', ticket_priority: 'P1' };

  before(async () => {
    pg = await startTestPostgres();
    standIn = await startStandIn();
    repo = makePromptRepo();
  });
  after(async () => {
    for (const r of runtimes) await r.close();
    await standIn.close();
    pg.stop();
    rmSync(repo.root, { recursive: true, force: true });
  });
  beforeEach(() => exporter.reset());

  const start = async (captureContent: boolean) => {
    const runtime = await createPromptRuntime({
      prompts: join(repo.root, 'prompts'),
      controlPlane: pg.url,
      tracer: provider.getTracer('test'),
      captureContent,
      log: () => undefined,
    });
    runtimes.push(runtime);
    return runtime;
  };
  const client = () => new Anthropic({ apiKey: 'test-key', baseURL: standIn.url, maxRetries: 0 });

  it('names the commit, version and selection on a CLIENT span with the GenAI attributes, and replays to the identical request', async () => {
    const runtime = await start(true);
    const rendered = runtime.render('classification', { tenantId: 'acme', requestId: 'req-42', variables: { customer_tier: 'gold', subject: 'Invoice — “missing”', body: 'Where is my invoice?\n{not a field}' } });
    const message = (await runtime.createMessage(client(), rendered)) as Anthropic.Message;
    assert.equal(standIn.requests.at(-1)?.body.model, rendered.request.model);
    await provider.forceFlush();
    const [span] = exporter.getFinishedSpans();
    assert.equal(span.name, `chat ${rendered.model}`);
    assert.equal(span.kind, SpanKind.CLIENT);
    const a = span.attributes;
    assert.equal(a['gen_ai.operation.name'], 'chat');
    assert.equal(a['gen_ai.provider.name'], 'anthropic');
    assert.equal(a['gen_ai.request.model'], rendered.request.model);
    assert.equal(a['gen_ai.request.max_tokens'], rendered.request.max_tokens);
    assert.equal(a['gen_ai.response.id'], message.id);
    assert.equal(a['gen_ai.response.model'], message.model);
    assert.deepEqual(a['gen_ai.response.finish_reasons'], [message.stop_reason]);
    assert.equal(a['gen_ai.usage.input_tokens'], message.usage.input_tokens);
    assert.equal(a['gen_ai.usage.output_tokens'], message.usage.output_tokens);
    assert.equal(a['gen_ai.prompt.name'], 'classification');
    assert.equal(a['gen_ai.prompt.version'], '1');
    assert.equal(a['prompt.name'], 'classification');
    assert.equal(a['prompt.version'], 1);
    assert.equal(a['prompt.commit_sha'], repo.commit);
    assert.equal(a['prompt.selection_reason'], 'only-version');
    assert.equal(a['tenant.id'], 'acme');
    assert.equal(a['request.id'], 'req-42');
    assert.deepEqual(JSON.parse(a['prompt.variables'] as string), rendered.variables);
    assert.deepEqual(JSON.parse(a['gen_ai.input.messages'] as string), [{ role: 'user', parts: [{ type: 'text', content: rendered.request.messages[0].content }] }]);
    assert.deepEqual(JSON.parse(a['gen_ai.system_instructions'] as string), [{ type: 'text', content: rendered.request.system }]);
    const text = message.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
    assert.deepEqual(JSON.parse(a['gen_ai.output.messages'] as string), [{ role: 'assistant', parts: [{ type: 'text', content: text }], finish_reason: message.stop_reason }]);

    // OTLP/JSON as the exporter writes it, replayed by the CLI command in the repository.
    const file = join(repo.root, 'span.otlp.json');
    writeFileSync(file, Buffer.from(JsonTraceSerializer.serializeRequest([span]) as Uint8Array));
    let stdout = '';
    let stderr = '';
    const code = await runReplayCommand([file, '--json'], {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      isTty: false,
      env: {},
      cwd: repo.root,
      signal: new AbortController().signal,
    });
    assert.equal(code, 0, stderr);
    const replayed = JSON.parse(stdout);
    assert.equal(replayed.rendered.matchesRecorded, true, 'the re-rendered system and user messages equal the recorded ones byte for byte');
    assert.equal(replayed.rendered.user, rendered.request.messages[0].content);
    assert.equal(replayed.rendered.system, rendered.request.system);
    assert.deepEqual(replayed.request, rendered.request, 'replay rebuilds exactly the request the runtime sent');
  });

  it('records no content without captureContent', async () => {
    const runtime = await start(false);
    const rendered = runtime.render('summarisation', { tenantId: 'acme', requestId: 'req-43', variables });
    await runtime.createMessage(client(), rendered);
    await provider.forceFlush();
    const [span] = exporter.getFinishedSpans();
    for (const key of ['prompt.variables', 'gen_ai.input.messages', 'gen_ai.output.messages', 'gen_ai.system_instructions']) {
      assert.equal(span.attributes[key], undefined, key);
    }
    assert.equal(span.attributes['prompt.selection_reason'], 'no-rollout');
    assert.equal(span.attributes['prompt.commit_sha'], repo.commit);
  });

  it('sets the error status and records the exception when the call fails', async () => {
    const runtime = await start(false);
    const failing = await startStandIn({ behaviour: () => ({ kind: 'invalid-request', message: 'max_tokens: too large' }) });
    try {
      const rendered = runtime.render('summarisation', { tenantId: 'acme', requestId: 'req-44', variables });
      await assert.rejects(runtime.createMessage(new Anthropic({ apiKey: 'test-key', baseURL: failing.url, maxRetries: 0 }), rendered), /max_tokens: too large/);
    } finally {
      await failing.close();
    }
    await provider.forceFlush();
    const [span] = exporter.getFinishedSpans();
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    assert.match(span.status.message ?? '', /max_tokens: too large/);
    assert.equal(span.events[0]?.name, 'exception');
    assert.equal(span.attributes['error.type'], '400');
  });
});
