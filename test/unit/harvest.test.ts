import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { parseEvalJsonl } from '../../src/core/evalSet';
import { checkRepoOnDisk } from '../../src/node/checkRepo';
import { harvestSpans } from '../../src/node/harvest';
import type { SuiteTarget } from '../../src/node/harvest';
import { createPromptRuntime } from '../../src/runtime';
import type { PromptRuntime } from '../../src/runtime';
import type { Planted } from '../support/piiSamples';
import { randomDocument, randomEmail, seededRandom } from '../support/piiSamples';
import { makePromptRepo } from '../support/promptRepo';
import type { StandIn } from '../support/standIn/server';
import { startStandIn } from '../support/standIn/server';
import { commitHistory } from './promptHistory';

/**
 * Harvest from the spans `prompt-ci/runtime` emits (OTLP/JSON by the OTLP transformer's own
 * serializer) with planted personal data, and from the replay fixtures of each exporter's shape.
 */
describe('harvest', function () {
  this.timeout(180_000);
  let standIn: StandIn;
  let repo: ReturnType<typeof makePromptRepo>;
  let runtime: PromptRuntime;
  let target: SuiteTarget;
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const planted: Planted[] = [];
  let exportText = '';
  const tenants = [...Array(40).fill('acme'), ...Array(6).fill('globex'), ...Array(3).fill('initech')];

  before(async () => {
    standIn = await startStandIn();
    repo = makePromptRepo();
    runtime = await createPromptRuntime({ prompts: join(repo.root, 'prompts'), tracer: provider.getTracer('test'), captureContent: true, log: () => undefined });
    const client = new Anthropic({ apiKey: 'test-key', baseURL: standIn.url, maxRetries: 0 });
    const rng = seededRandom(7);
    const spans: ReadableSpan[] = [];
    for (let i = 0; i < tenants.length; i++) {
      const customer = `Customer ${String.fromCharCode(65 + (i % 26))}${i} Holdings`;
      const doc = randomDocument(rng, 3, [{ kind: 'email', text: randomEmail(rng) }]);
      planted.push(...doc.planted, { kind: 'sensitive', text: customer });
      // Span 41 repeats span 0's inputs exactly.
      const document = i === 41 ? lastDocument(0) : `Ticket ${i}: ${doc.text}`;
      const rendered = runtime.render('summarisation', {
        tenantId: tenants[i],
        requestId: `req-${i}`,
        variables: { customer_name: i === 41 ? 'Customer A0 Holdings' : customer, plan: 'Business', ticket_priority: 'normal', document },
      });
      await runtime.createMessage(client, rendered);
      await provider.forceFlush();
      spans.push(...exporter.getFinishedSpans());
      exporter.reset();
    }
    // The version the runtime served; the team then marks the customer's name sensitive in it.
    const version = (spans[0].attributes as Record<string, number>)['prompt.version'];
    target = { repoRoot: repo.root, name: 'summarisation', version, dir: `prompts/summarisation/v${version}` };
    const metadataPath = join(repo.root, target.dir, 'metadata.yaml');
    writeFileSync(metadataPath, readFileSync(metadataPath, 'utf8').replace('eval:\n', 'eval:\n  sensitive_variables: [customer_name]\n'));
    repo.git('commit', '-qam', 'customer_name is sensitive');
    function lastDocument(index: number): string {
      const attrs = spans[index].attributes as Record<string, string>;
      return JSON.parse(attrs['prompt.variables']).document;
    }
    // Without prompt.variables: the variables are recovered from the recorded message, as replay does.
    exportText = Buffer.from(JsonTraceSerializer.serializeRequest(spans) as Uint8Array).toString('utf8');
    const json = JSON.parse(exportText);
    for (const s of json.resourceSpans[0].scopeSpans[0].spans) s.attributes = s.attributes.filter((a: { key: string }) => a.key !== 'prompt.variables');
    exportText = JSON.stringify(json);
  });
  after(async () => {
    await runtime?.close();
    await standIn?.close();
    if (repo) rmSync(repo.root, { recursive: true, force: true });
  });

  const run = (options: Partial<Parameters<typeof harvestSpans>[0]> = {}) =>
    harvestSpans({ target, exports: [{ label: 'spans.json', text: exportText }], sample: 12, seed: '42', ...options });

  it('draws a reproducible sample stratified by tenant, redacted, with source and reference; --dry-run writes nothing', async () => {
    const before = readFileSync(join(repo.root, target.dir, 'eval.jsonl'), 'utf8');
    const a = await run({ dryRun: true });
    const b = await run({ dryRun: true });
    assert.deepEqual(a.plan.lines, b.plan.lines, 'same seed, same sample');
    const other = await run({ dryRun: true, seed: '43' });
    assert.notDeepEqual(other.plan.lines.map((l) => l.id), a.plan.lines.map((l) => l.id));
    assert.equal(readFileSync(join(repo.root, target.dir, 'eval.jsonl'), 'utf8'), before, 'dry run leaves eval.jsonl alone');
    assert.equal(a.written, 0);
    assert.equal(a.spans, tenants.length);
    assert.equal(a.plan.lines.length, 12);
    // Round-robin across tenants: the small ones give all they have before acme fills the rest.
    const byTenant = Object.fromEntries(a.plan.strata.map((s) => [s.tenant, [s.taken, s.available]]));
    assert.deepEqual(byTenant.initech, [3, 3]);
    assert.ok(Math.abs(byTenant.acme[0] - byTenant.globex[0]) <= 1, JSON.stringify(byTenant));
    assert.equal(byTenant.acme[0] + byTenant.globex[0], 9);
    for (const line of a.plan.lines) {
      assert.deepEqual(line.tags, ['production', 'needs-review']);
      assert.equal(line.source.kind, 'production');
      if (line.source.kind !== 'production') continue;
      assert.match(line.source.traceId ?? '', /^[0-9a-f]{32}$/);
      assert.match(line.source.spanId ?? '', /^[0-9a-f]{16}$/);
      assert.equal(line.source.commit, repo.git('rev-parse', 'HEAD~1'));
      assert.equal(line.source.version, target.version);
      assert.ok(line.source.time);
      assert.equal(line.inputs.customer_name, '<CUSTOMER_NAME_1>');
      assert.ok(Object.keys(line.inputs).includes('document'));
      assert.equal(typeof line.reference, 'string');
    }
    assert.ok(a.plan.redaction.byKind.email >= 12);
  });

  it('appends without rewriting a byte, drops duplicates of what is there, and the suite still checks clean', async () => {
    const path = join(repo.root, target.dir, 'eval.jsonl');
    const before = readFileSync(path, 'utf8');
    const first = await run({ sample: 100 });
    assert.ok(first.written > 0);
    // 49 spans: one exact repeat of another's inputs (after redaction, the customer names are one placeholder each).
    assert.equal(first.plan.duplicates.exact + first.plan.duplicates.near, 1);
    assert.equal(first.written, tenants.length - 1);
    const after = readFileSync(path, 'utf8');
    assert.ok(after.startsWith(before));
    const parsed = parseEvalJsonl(after);
    assert.deepEqual(parsed.findings, []);
    assert.equal(parsed.examples.filter((e) => e.tags?.includes('production')).length, first.written);
    const check = await checkRepoOnDisk(repo.root);
    assert.deepEqual(check.findings.filter((f) => f.file.includes('summarisation/v2') && f.severity === 'error'), []);
    // Harvesting again adds nothing: every span is in the suite already.
    const second = await run({ sample: 100 });
    assert.equal(second.written, 0);
    assert.equal(second.plan.duplicates.ofExisting, tenants.length);
    assert.equal(readFileSync(path, 'utf8'), after);
    for (const p of planted) assert.ok(!after.includes(p.text), `${p.kind} ${p.text} reached eval.jsonl`);
  });

  it('--since and --tenant narrow the spans', async () => {
    const tenantOnly = await run({ dryRun: true, tenants: ['initech'], sample: 100 });
    assert.equal(tenantOnly.skipped['other-tenant'], tenants.length - 3);
    const future = await run({ dryRun: true, since: '2999-01-01T00:00:00Z' });
    assert.equal(future.skipped['before-since'], tenants.length);
    assert.equal(future.plan.lines.length, 0);
  });
});

describe('harvest: every span shape replay reads', function () {
  this.timeout(120_000);
  let repo: string;
  const DIR = join(__dirname, '..', 'fixtures', 'spans', 'conventions');
  before(() => {
    repo = join(mkdtempSync(join(tmpdir(), 'prompt-ci-harvest-shapes-')), 'repo');
    commitHistory(repo);
  });
  after(() => rmSync(repo, { recursive: true, force: true }));

  it('turns each exporter fixture with content into a candidate of its prompt', async () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));
    for (const [name, version] of [['summarisation', 1], ['summarisation', 2], ['classification', 1]] as const) {
      const exports = files.map((f) => ({ label: f, text: readFileSync(join(DIR, f), 'utf8') }));
      const outcome = await harvestSpans({ target: { repoRoot: repo, name, version, dir: `prompts/${name}/v${version}` }, exports, sample: 100, seed: '1', dryRun: true });
      assert.ok(outcome.spans >= files.length, `${name} v${version}: ${outcome.spans} spans`);
      assert.ok(outcome.skipped['other-prompt']);
      if (name === 'classification') assert.ok(outcome.candidates >= 2, JSON.stringify(outcome.skipped));
      if (name === 'summarisation' && version === 1) assert.ok(outcome.candidates >= 4, JSON.stringify(outcome.skipped));
    }
  });
});
