import * as assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { createPromptRuntime } from '../../src/runtime';
import type { Planted } from '../support/piiSamples';
import { randomDocument, seededRandom } from '../support/piiSamples';
import { makePromptRepo } from '../support/promptRepo';
import type { StandIn } from '../support/standIn/server';
import { startStandIn } from '../support/standIn/server';
import { runCliAsync } from './gateRepo';

/**
 * The whole path with the built CLI: spans with planted personal data (e-mails, phones, cards,
 * IBANs, IPs, a sensitive variable) from `prompt-ci/runtime` → harvest → eval → synthesize against
 * the stand-in. No planted value may reach eval.jsonl, the response cache, the requests the
 * stand-in received, or anything printed.
 */
describe('growing the suite: harvest, eval, synthesize, with nothing personal leaking', function () {
  this.timeout(600_000);
  let standIn: StandIn;
  let repo: ReturnType<typeof makePromptRepo>;
  const planted: Planted[] = [];
  const printed: string[] = [];
  let dir = '';

  before(async () => {
    standIn = await startStandIn();
    repo = makePromptRepo();
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const runtime = await createPromptRuntime({ prompts: join(repo.root, 'prompts'), tracer: provider.getTracer('test'), captureContent: true, log: () => undefined });
    const client = new Anthropic({ apiKey: 'test-key', baseURL: standIn.url, maxRetries: 0 });
    const rng = seededRandom(1818);
    const spans: ReadableSpan[] = [];
    for (let i = 0; i < 24; i++) {
      const customer = `Zyx${Math.floor(rng() * 1e6)} Fennimore`;
      const doc = randomDocument(rng, 4);
      planted.push(...doc.planted, { kind: 'sensitive', text: customer });
      const rendered = runtime.render('summarisation', {
        tenantId: ['acme', 'globex', 'initech'][i % 3],
        requestId: `req-${i}`,
        variables: { customer_name: customer, plan: 'Business', ticket_priority: 'high', document: `Ticket ${i}. The customer ${customer} writes: ${doc.text}` },
      });
      await runtime.createMessage(client, rendered);
      await provider.forceFlush();
      spans.push(...exporter.getFinishedSpans());
      exporter.reset();
    }
    await runtime.close();
    const version = (spans[0].attributes as Record<string, number>)['prompt.version'];
    dir = `prompts/summarisation/v${version}`;
    const metadataPath = join(repo.root, dir, 'metadata.yaml');
    writeFileSync(metadataPath, readFileSync(metadataPath, 'utf8').replace('eval:\n', 'eval:\n  sensitive_variables: [customer_name]\n  judge: { model: claude-opus-4-7, repeats: 1 }\n').replace(/  judge: \{ model: claude-opus-4-7, repeats: 3 \}\n/, ''));
    repo.git('commit', '-qam', 'customer_name is sensitive');
    writeFileSync(join(repo.root, 'spans.json'), Buffer.from(JsonTraceSerializer.serializeRequest(spans) as Uint8Array).toString('utf8'));
    // The requests the runtime itself sent carried the data: only what the commands send counts.
    standIn.requests.length = 0;
  });
  after(async () => {
    await standIn?.close();
    if (repo) rmSync(repo.root, { recursive: true, force: true });
  });

  const env = () => ({ ANTHROPIC_BASE_URL: standIn.url, ANTHROPIC_API_KEY: 'test-key' });
  // The stand-in runs in this process: the CLI is spawned without blocking it.
  const cli = async (args: string[]) => {
    const r = await runCliAsync(args, repo.root, env());
    printed.push(r.stdout, r.stderr);
    return r;
  };

  it('harvest, then eval with the harvested examples informational, then synthesize from two of them', async () => {
    const evalPath = join(repo.root, dir, 'eval.jsonl');
    const before = readFileSync(evalPath, 'utf8');
    const harvest = await cli(['harvest', 'spans.json', '--prompt', dir, '--sample', '12', '--seed', '18']);
    assert.equal(harvest.status, 0, harvest.stderr);
    assert.match(harvest.stdout, /appended 12 examples/);
    assert.match(harvest.stdout, /redacted: .*sensitive variable values/);

    const evalRun = await cli(['eval', dir, '--json', 'report.json']);
    assert.ok(evalRun.status === 0 || evalRun.status === 1, `status ${evalRun.status}: ${evalRun.stderr} ${evalRun.stdout.slice(-2000)}`);
    assert.match(evalRun.stdout, /informational: 12 examples are tagged needs-review/);
    const report = JSON.parse(readFileSync(join(repo.root, 'report.json'), 'utf8'));
    assert.equal(report.informational.count, 12);
    assert.ok(report.slices.some((s: { tag: string; n: number }) => s.tag === 'production' && s.n === 12));

    const harvested = readFileSync(evalPath, 'utf8').slice(before.length).trim().split('\n').map((l) => JSON.parse(l));
    const from = harvested.slice(0, 2).map((l) => l.id);
    const sentBefore = standIn.requests.length;
    const synth = await cli(['synthesize', dir, '--from', 'report.json', '--count', '3', '--example', from[0], '--example', from[1]]);
    assert.equal(synth.status, 0, synth.stderr);
    assert.match(synth.stdout, /model claude-opus-4-7/);
    assert.match(synth.stdout, /refused 1 lacking a template variable, 1 duplicating an example or another new case/);
    assert.match(synth.stdout, /appended 3 cases to .*, tagged synthetic and needs-review/);
    assert.equal(standIn.requests.length, sentBefore + 1);
    const lines = readFileSync(evalPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const synthetic = lines.filter((l) => l.tags?.includes('synthetic'));
    assert.equal(synthetic.length, 3);
    for (const l of synthetic) {
      assert.deepEqual(l.tags, ['synthetic', 'needs-review']);
      assert.equal(l.source.kind, 'synthetic');
      assert.ok(l.source.from.every((id: string) => from.includes(id)));
    }
    // Asked again, the answer comes from the cache and every case is a duplicate now.
    const again = await cli(['synthesize', dir, '--from', 'report.json', '--count', '3', '--example', from[0], '--example', from[1], '--json']);
    assert.equal(again.status, 0, again.stderr);
    const json = JSON.parse(again.stdout);
    assert.equal(json.fromCache, true);
    assert.equal(json.written, 0);
    assert.equal(standIn.requests.length, sentBefore + 1);
    const check = await cli(['check', dir]);
    assert.equal(check.status, 0, check.stdout);
  });

  it('no planted value is in eval.jsonl, the cache, the requests the stand-in received, or the output', () => {
    const written = readFileSync(join(repo.root, dir, 'eval.jsonl'), 'utf8');
    const cacheDir = join(repo.root, '.prompt-ci', 'cache');
    const cache: string[] = [];
    const walk = (d: string) => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else cache.push(readFileSync(p, 'utf8'));
      }
    };
    walk(cacheDir);
    assert.ok(cache.length > 10, `${cache.length} cache files`);
    const requests = standIn.requests.map((r) => JSON.stringify(r.body));
    assert.ok(requests.length > 10);
    const places: [string, string][] = [['eval.jsonl', written], ['the cache', cache.join('\n')], ['the stand-in requests', requests.join('\n')], ['stdout/stderr', printed.join('\n')]];
    let checked = 0;
    for (const p of planted) {
      for (const [where, text] of places) {
        // JSON escapes nothing in these values, so the planted text is what a leak would show.
        assert.ok(!text.includes(p.text), `${p.kind} ${p.text} reached ${where}`);
        checked += 1;
      }
    }
    assert.ok(planted.length >= 100, `${planted.length} planted values`);
    assert.ok(checked >= 400);
  });
});
