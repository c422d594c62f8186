// Traffic for the summariser: a request per tenant every few seconds, printing which version of
// summarisation each tenant got (and every change), and appending each request's span to a file as
// OTLP/JSON, one export per line, as the OpenTelemetry Collector's file exporter writes them.
//
//   npm run traffic                      (in app/; Ctrl+C stops)
//   npm run traffic -- --rounds 1 --tenants 200 --interval 0 --json
//
// Options:
//   --rounds N      stop after N rounds (default: until stopped)
//   --interval MS   pause between rounds (default 3000)
//   --tenants N     N generated tenants instead of the ten named ones
//   --spans FILE    where spans go (default spans.jsonl beside this script)
//   --json          one JSON line per request instead of the table
//   --help          this text
import { appendFileSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Summary, Ticket } from './service';
import { startSummariser } from './service';

const NAMED_TENANTS: [string, string][] = [
  ['acme', 'enterprise'],
  ['globex', 'enterprise'],
  ['initech', 'pro'],
  ['umbrella', 'pro'],
  ['hooli', 'pro'],
  ['stark', 'pro'],
  ['wayne', 'free'],
  ['wonka', 'free'],
  ['tyrell', 'free'],
  ['soylent', 'free'],
];
const TIERS = ['free', 'pro', 'enterprise'];
const THREADS = [
  'Customer: our nightly CSV export has failed twice this week with "job timed out". Agent: we raised the export timeout; please retry tonight.',
  'Customer: two agents were charged for seats they no longer use. Agent: I have opened a refund request for the two seats.',
  'Customer: SSO logins fail since we rotated our IdP certificate. Agent: please upload the new certificate under Settings > Security.',
];

function tenants(count: number | undefined): Ticket[] {
  const list: [string, string][] = count === undefined ? NAMED_TENANTS : Array.from({ length: count }, (_, i) => [`tenant-${String(i + 1).padStart(4, '0')}`, TIERS[i % TIERS.length]]);
  return list.map(([tenantId, tier], i) => ({
    tenantId,
    tier,
    customerName: tenantId.replace(/^./, (c) => c.toUpperCase()),
    plan: tier,
    priority: i % 4 === 0 ? 'high' : 'normal',
    thread: THREADS[i % THREADS.length],
  }));
}

function options() {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string' },
      interval: { type: 'string' },
      tenants: { type: 'string' },
      spans: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    // The comment at the top of this file.
    const source = readFileSync(__filename, 'utf8');
    console.log(source.slice(0, source.indexOf('\nimport')).replace(/^\/\/ ?/gm, '').trim());
    process.exit(0);
  }
  const count = (name: string, value: string | undefined, min: number): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} needs a whole number of at least ${min}, not ${JSON.stringify(value)}`);
    return n;
  };
  return {
    rounds: count('rounds', values.rounds, 1),
    interval: count('interval', values.interval, 0) ?? 3000,
    tenants: count('tenants', values.tenants, 1),
    spans: resolve(values.spans ?? join(__dirname, 'spans.jsonl')),
    json: values.json ?? false,
  };
}

const served = (s: Summary) => `v${s.version} ${s.reason}${s.sharePercent === null ? '' : ` ${s.sharePercent}%`}`;

async function main(): Promise<void> {
  const opts = options();
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'helpdesk-app' }),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  const repoRoot = resolve(__dirname, '..');
  const summariser = await startSummariser({
    repoRoot,
    tracer: provider.getTracer('helpdesk-app'),
    controlPlane: process.env.PROMPT_CI_DATABASE_URL || undefined,
    log: (line) => console.error(`runtime: ${line}`),
  });
  const list = tenants(opts.tenants);
  if (!opts.json) console.log(`${list.length} tenants; spans go to ${opts.spans}; Ctrl+C stops`);
  const last = new Map<string, string>();
  let stopping = false;
  process.once('SIGINT', () => (stopping = true));
  process.once('SIGTERM', () => (stopping = true));
  try {
    for (let round = 1; !stopping && (opts.rounds === undefined || round <= opts.rounds); round++) {
      const at = new Date().toISOString();
      const summaries = await Promise.all(list.map((ticket) => summariser.summarise(ticket, `${ticket.tenantId}-r${round}`)));
      await provider.forceFlush();
      const spanIds = new Map<string, string>();
      for (const span of exporter.getFinishedSpans()) {
        spanIds.set(String(span.attributes['request.id']), span.spanContext().spanId);
        appendFileSync(opts.spans, `${Buffer.from(JsonTraceSerializer.serializeRequest([span]) as Uint8Array).toString('utf8')}\n`);
      }
      exporter.reset();
      if (opts.json) {
        for (const s of summaries) {
          const ticket = list.find((t) => t.tenantId === s.tenantId)!;
          console.log(JSON.stringify({ round, at, tenantId: s.tenantId, tier: ticket.tier, requestId: s.requestId, version: s.version, reason: s.reason, sharePercent: s.sharePercent, spanId: spanIds.get(s.requestId) ?? null }));
        }
      } else {
        printRound(round, at, list, summaries, last, spanIds);
      }
      for (const s of summaries) last.set(s.tenantId, served(s));
      if (opts.rounds === undefined || round < opts.rounds) await new Promise((r) => setTimeout(r, opts.interval));
    }
  } finally {
    await summariser.close();
    await provider.shutdown();
  }
}

function printRound(round: number, at: string, list: Ticket[], summaries: Summary[], last: Map<string, string>, spanIds: Map<string, string>): void {
  const counts = new Map<number, number>();
  for (const s of summaries) counts.set(s.version, (counts.get(s.version) ?? 0) + 1);
  const shares = [...counts].sort(([a], [b]) => a - b).map(([v, n]) => `v${v} ${n}`).join(' · ');
  const changed = summaries.filter((s) => last.get(s.tenantId) !== served(s));
  console.log(`${at.slice(11, 19)}  round ${round}  summarisation: ${shares}${changed.length === 0 ? '  (no change)' : ''}`);
  if (changed.length === 0) return;
  const width = Math.max(...list.map((t) => t.tenantId.length));
  for (const s of changed) {
    const ticket = list.find((t) => t.tenantId === s.tenantId)!;
    const before = last.get(s.tenantId);
    console.log(`  ${s.tenantId.padEnd(width)}  ${ticket.tier.padEnd(10)}  ${served(s).padEnd(16)}${before ? ` (was ${before})` : ''}  span ${spanIds.get(s.requestId) ?? '?'}`);
  }
}

main().catch((error: Error) => {
  console.error(`traffic: ${error.message}`);
  process.exit(1);
});
