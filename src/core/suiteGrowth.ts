import { createHash } from 'node:crypto';
import type { EvalExample } from './evalSet';
import type { RedactionOptions, RedactionReport } from './redaction';
import { ExampleRedactor, emptyRedactionReport, mergeRedactionReports } from './redaction';

/**
 * Growing an eval suite from production spans (harvest) and from a stronger model's new cases
 * (synthesize): the pure half. Redaction of every candidate before anything else sees it, a
 * reproducible sample stratified by tenant, and the removal of exact and near duplicates, of each
 * other and of the examples the suite already has. The suite only grows: these functions return
 * lines to append, never a rewritten file.
 */

/** The tag every harvested or synthesised example gets until a person has read it; the gate leaves such examples out of its decision. */
export const NEEDS_REVIEW_TAG = 'needs-review';
/** The tag of harvested examples. */
export const PRODUCTION_TAG = 'production';
/** The tag of synthesised examples. */
export const SYNTHETIC_TAG = 'synthetic';

/**
 * Near duplicates: two examples whose inputs, lowercased with whitespace runs collapsed, share at
 * least this Jaccard similarity of their character 4-gram sets.
 */
export const NEAR_DUPLICATE_THRESHOLD = 0.9;
const SHINGLE = 4;

/** Where a harvested example came from: the span and the prompt version that produced it. */
export interface ProductionSource {
  kind: 'production';
  traceId: string | null;
  spanId: string | null;
  /** The prompt version of the span (any version of the prompt is harvested: inputs are inputs). */
  version: number;
  /** The commit the span names, or the one inferred from the baseline ref; null when neither is known. */
  commit: string | null;
  /** The span's start time, ISO 8601 UTC. */
  time: string | null;
  /** The span's tenant, redacted like the rest. */
  tenant: string | null;
}

/** Where a synthesised example came from: the failing examples it exercises, and the model that wrote it. */
export interface SyntheticSource {
  kind: 'synthetic';
  /** Ids of the examples whose failure it exercises. */
  from: string[];
  model: string;
  /** The report it was written from: its prompt version and start time. */
  report: { prompt: string; startedAt: string } | null;
}

/** One eval.jsonl line to append. Key order is the order written. */
export interface SuiteLine {
  id: string;
  inputs: Record<string, unknown>;
  reference?: string;
  tags: string[];
  source: ProductionSource | SyntheticSource;
}

/** A production span ready to become an example: its variables recovered, nothing redacted yet. */
export interface HarvestCandidate extends Omit<ProductionSource, 'kind'> {
  /** The template variables, as recovered from the span. */
  inputs: Record<string, unknown>;
  /** The output the span recorded: the example's reference, for review. */
  output?: string;
}

/** What `planHarvest` needs besides the candidates. */
export interface HarvestOptions extends RedactionOptions {
  /** At most this many examples are added. */
  sample: number;
  /** The seed of the draw: the same seed and spans give the same sample. */
  seed: string;
  /** The suite's examples now: new lines duplicating one are dropped, and ids never repeat. */
  existing: readonly Pick<EvalExample, 'id' | 'inputs'>[];
}

/** One tenant's share of the draw. */
export interface Stratum {
  /** The tenant id, redacted (null: spans without a tenant). */
  tenant: string | null;
  /** Spans of this tenant that could be drawn. */
  available: number;
  /** Examples drawn from them. */
  taken: number;
}

/** What a harvest adds, and why the rest was left. */
export interface HarvestPlan {
  lines: SuiteLine[];
  /** What was replaced in `lines` (by kind, counts only). */
  redaction: RedactionReport;
  strata: Stratum[];
  duplicates: { exact: number; near: number; ofExisting: number };
  /** Candidates not drawn once the sample was full. */
  notDrawn: number;
}

/**
 * The lines a harvest appends: every candidate redacted, shuffled with the seed within its tenant,
 * drawn round-robin across tenants (so one large tenant can't fill the suite; a tenant with fewer
 * spans than its share leaves the rest to the others), and each drawn one kept unless its inputs
 * duplicate (exactly, or above `NEAR_DUPLICATE_THRESHOLD`) an existing example or one already drawn.
 * Deterministic: candidates are put in a canonical order first, so file order doesn't matter.
 */
export function planHarvest(candidates: readonly HarvestCandidate[], options: HarvestOptions): HarvestPlan {
  const redactionOptions = { sensitiveVariables: options.sensitiveVariables, phoneRegion: options.phoneRegion };
  const redacted = candidates.map((c) => redactCandidate(c, redactionOptions));
  redacted.sort((a, b) => compareStrings(a.order, b.order));

  const byTenant = new Map<string, RedactedCandidate[]>();
  for (const c of redacted) {
    const key = c.rawTenant ?? '\u0000';
    const list = byTenant.get(key) ?? [];
    list.push(c);
    byTenant.set(key, list);
  }
  const rng = seededRandom(options.seed);
  const strata = [...byTenant.keys()].sort(compareStrings);
  shuffle(strata, rng);
  const queues = strata.map((key) => shuffle([...byTenant.get(key)!], rng));
  const order: RedactedCandidate[] = [];
  for (let round = 0; order.length < redacted.length; round++) {
    for (const q of queues) if (round < q.length) order.push(q[round]);
  }

  const dedup = new DuplicateIndex();
  const existingIds = new Set(options.existing.map((e) => e.id));
  for (const e of options.existing) dedup.add(fingerprintOf(new ExampleRedactor(redactionOptions).redactInputs(e.inputs)), true);

  const lines: SuiteLine[] = [];
  let report = emptyRedactionReport();
  const duplicates = { exact: 0, near: 0, ofExisting: 0 };
  const taken = new Map<string, number>();
  let considered = 0;
  for (const c of order) {
    if (lines.length >= options.sample) break;
    considered += 1;
    const id = c.line.id;
    if (existingIds.has(id)) {
      duplicates.exact += 1;
      duplicates.ofExisting += 1;
      continue;
    }
    const found = dedup.find(c.fingerprint);
    if (found) {
      duplicates[found.kind] += 1;
      if (found.existing) duplicates.ofExisting += 1;
      continue;
    }
    dedup.add(c.fingerprint, false);
    existingIds.add(id);
    lines.push(c.line);
    report = mergeRedactionReports(report, c.report);
    const key = c.rawTenant ?? '\u0000';
    taken.set(key, (taken.get(key) ?? 0) + 1);
  }
  return {
    lines,
    redaction: report,
    strata: [...byTenant.entries()]
      .map(([key, list]) => ({ tenant: list[0].line.source.kind === 'production' ? list[0].line.source.tenant : null, available: list.length, taken: taken.get(key) ?? 0, key }))
      .sort((a, b) => b.available - a.available || compareStrings(a.key, b.key))
      .map(({ key: _key, ...s }) => s),
    duplicates,
    notDrawn: order.length - considered,
  };
}

interface RedactedCandidate {
  line: SuiteLine & { source: ProductionSource };
  fingerprint: Fingerprint;
  report: RedactionReport;
  rawTenant: string | null;
  order: string;
}

function redactCandidate(c: HarvestCandidate, options: RedactionOptions): RedactedCandidate {
  const redactor = new ExampleRedactor(options);
  const inputs = redactor.redactInputs(c.inputs);
  const reference = c.output !== undefined ? redactor.redactText(c.output) : undefined;
  const tenant = c.tenant !== null ? redactor.redactText(c.tenant) : null;
  const id = `prod-${c.spanId ? c.spanId.toLowerCase().replace(/[^0-9a-z]/g, '').slice(0, 32) : shortHash(`${c.traceId}\u0000${c.time}\u0000${canonicalJson(inputs)}`)}`;
  const line: SuiteLine & { source: ProductionSource } = {
    id,
    inputs,
    ...(reference !== undefined ? { reference } : {}),
    tags: [PRODUCTION_TAG, NEEDS_REVIEW_TAG],
    source: { kind: 'production', traceId: c.traceId, spanId: c.spanId, version: c.version, commit: c.commit, time: c.time, tenant },
  };
  return {
    line,
    fingerprint: fingerprintOf(inputs),
    report: redactor.report(),
    rawTenant: c.tenant,
    order: `${c.traceId ?? ''}\u0000${c.spanId ?? ''}\u0000${c.time ?? ''}\u0000${canonicalJson(inputs)}`,
  };
}

/** An example's inputs as compared for duplicates: the normalised text and its 4-gram set. */
export interface Fingerprint {
  text: string;
  shingles: Set<string>;
}

/** The duplicate key of some inputs: values in key order, lowercased, whitespace runs collapsed. */
export function fingerprintOf(inputs: Record<string, unknown>): Fingerprint {
  const text = Object.keys(inputs)
    .sort()
    .map((k) => `${k}=${typeof inputs[k] === 'string' ? (inputs[k] as string) : canonicalJson(inputs[k])}`)
    .join('\u0001')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
  const shingles = new Set<string>();
  if (text.length <= SHINGLE) shingles.add(text);
  else for (let i = 0; i + SHINGLE <= text.length; i++) shingles.add(text.slice(i, i + SHINGLE));
  return { text, shingles };
}

/** Jaccard similarity of two fingerprints' 4-gram sets. */
export function similarity(a: Fingerprint, b: Fingerprint): number {
  const [small, large] = a.shingles.size <= b.shingles.size ? [a.shingles, b.shingles] : [b.shingles, a.shingles];
  if (large.size === 0) return 1;
  let common = 0;
  for (const s of small) if (large.has(s)) common += 1;
  return common / (small.size + large.size - common);
}

/** The examples kept so far, for exact (hash) and near (4-gram Jaccard) duplicate checks. */
export class DuplicateIndex {
  private readonly exact = new Map<string, boolean>();
  private readonly all: { fingerprint: Fingerprint; existing: boolean }[] = [];

  add(fingerprint: Fingerprint, existing: boolean): void {
    if (!this.exact.has(fingerprint.text)) this.exact.set(fingerprint.text, existing);
    this.all.push({ fingerprint, existing });
  }

  /** The duplicate a fingerprint has among those added, exact first; undefined when it has none. */
  find(fingerprint: Fingerprint): { kind: 'exact' | 'near'; existing: boolean } | undefined {
    const exact = this.exact.get(fingerprint.text);
    if (exact !== undefined) return { kind: 'exact', existing: exact };
    const size = fingerprint.shingles.size;
    for (const other of this.all) {
      const o = other.fingerprint.shingles.size;
      // Jaccard is at most min/max of the set sizes: most pairs are ruled out without counting.
      if (Math.min(size, o) < NEAR_DUPLICATE_THRESHOLD * Math.max(size, o)) continue;
      if (similarity(fingerprint, other.fingerprint) >= NEAR_DUPLICATE_THRESHOLD) return { kind: 'near', existing: other.existing };
    }
    return undefined;
  }
}

/** A uniform [0, 1) generator from a seed string (mulberry32 seeded from the seed's SHA-256). */
export function seededRandom(seed: string): () => number {
  let a = createHash('sha256').update(seed, 'utf8').digest().readUInt32BE(0);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates in place with the given generator; returns the array. */
export function shuffle<T>(items: T[], rng: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** JSON with object keys sorted, so equal values have one text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value as Record<string, unknown>)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function shortHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 16);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The eval.jsonl text of lines to append: one JSON object per line, each ending with the file's line ending. */
export function suiteLinesText(lines: readonly SuiteLine[], eol = '\n'): string {
  return lines.map((l) => JSON.stringify(l) + eol).join('');
}
