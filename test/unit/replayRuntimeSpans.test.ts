import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { replaySpanText } from '../../src/node/replayRunner';
import type { PromptRuntime } from '../../src/runtime';
import { createPromptRuntime } from '../../src/runtime';
import { makePromptRepo } from '../support/promptRepo';
import type { StandIn } from '../support/standIn/server';
import { startStandIn } from '../support/standIn/server';

/**
 * The spans `prompt-ci/runtime` emits, written as OTLP/JSON by the OTLP transformer's own serializer
 * and replayed: with content they match byte for byte; without `prompt.variables` the variables are
 * recovered from `gen_ai.input.messages`; without `prompt.commit_sha` the commit is inferred; without
 * content the replay still shows the request and names what would allow a comparison.
 */
describe('replay of the runtime spans', function () {
  this.timeout(120_000);
  let standIn: StandIn;
  let repo: ReturnType<typeof makePromptRepo>;
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const runtimes: PromptRuntime[] = [];

  before(async () => {
    standIn = await startStandIn();
    repo = makePromptRepo();
  });
  after(async () => {
    for (const r of runtimes) await r.close();
    await standIn.close();
    rmSync(repo.root, { recursive: true, force: true });
  });
  beforeEach(() => exporter.reset());

  const call = async (captureContent: boolean) => {
    const runtime = await createPromptRuntime({ prompts: join(repo.root, 'prompts'), tracer: provider.getTracer('test'), captureContent, log: () => undefined });
    runtimes.push(runtime);
    const rendered = runtime.render('classification', { tenantId: 'acme', requestId: 'req-7', variables: { customer_tier: 'gold', subject: 'Invoice “missing”', body: 'Where is it?\n{not a field}' } });
    await runtime.createMessage(new Anthropic({ apiKey: 'test-key', baseURL: standIn.url, maxRetries: 0 }), rendered);
    await provider.forceFlush();
    const [span] = exporter.getFinishedSpans();
    return { rendered, span };
  };
  /** The span as OTLP/JSON, with some attributes removed (what another exporter or a redaction would leave). */
  const otlp = (span: ReadableSpan, without: string[] = []): string => {
    const json = JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest([span]) as Uint8Array).toString('utf8'));
    const s = json.resourceSpans[0].scopeSpans[0].spans[0];
    s.attributes = s.attributes.filter((a: { key: string }) => !without.includes(a.key));
    return JSON.stringify(json);
  };

  it('with content: prompt-ci and OpenTelemetry identity agree, and the request matches byte for byte', async () => {
    const { rendered, span } = await call(true);
    const result = await replaySpanText(otlp(span), { repoRoot: repo.root });
    assert.deepEqual(result.span.identity.conventions, ['prompt-ci', 'opentelemetry']);
    assert.deepEqual(result.span.identity.disagreements, []);
    assert.equal(result.verdict.kind, 'match', result.verdict.summary);
    assert.equal(result.variables.source, 'span');
    assert.deepEqual(result.request, rendered.request);
  });

  it('without prompt.variables and prompt.commit_sha: commit inferred, variables recovered, still byte for byte', async () => {
    const { rendered, span } = await call(true);
    const result = await replaySpanText(otlp(span, ['prompt.variables', 'prompt.commit_sha']), { repoRoot: repo.root });
    assert.equal(result.commit.source, 'inferred');
    assert.equal(result.prompt.commit.sha, repo.commit);
    assert.equal(result.variables.source, 'recovered');
    assert.deepEqual(result.variables.values, rendered.variables);
    assert.equal(result.verdict.kind, 'match', result.verdict.summary);
    assert.deepEqual(result.request, rendered.request);
  });

  it('without content: the request of that commit, and which attributes would allow a comparison', async () => {
    const { span } = await call(false);
    const result = await replaySpanText(otlp(span), { repoRoot: repo.root });
    assert.equal(result.verdict.kind, 'nothing-recorded');
    assert.match(result.verdict.summary, /prompt-ci\/runtime with captureContent: true/);
    assert.equal(result.prompt.commit.sha, repo.commit);
  });
});
