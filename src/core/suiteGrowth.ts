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

  const existingPrints = options.existing.map((e) => fingerprintOf(new ExampleRedactor(redactionOptions).redactInputs(e.inputs)));
  // Every set that will be added or looked up is known now: the index orders 4-grams rarest first.
  const dedup = new DuplicateIndex([...existingPrints, ...order.map((c) => c.fingerprint)]);
  const existingIds = new Set(options.existing.map((e) => e.id));
  for (const fp of existingPrints) dedup.add(fp, true);

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

/** A duplicate found: exact or near, of an existing example or a new one, and which (the order it was added in, from 0). */
export interface DuplicateFound {
  kind: 'exact' | 'near';
  existing: boolean;
  of: number;
}

/**
 * The examples kept so far, for exact (hash) and near (4-gram Jaccard ≥ `NEAR_DUPLICATE_THRESHOLD`)
 * duplicate checks. Near duplicates are found with a prefix filter, not by comparing every pair:
 * the 4-grams are put in one global order, and two sets with Jaccard ≥ t share a 4-gram among the
 * first |x| − ⌈t·|x|⌉ + 1 of each (they share at least t·max(|x|, |y|) 4-grams). Only the sets
 * indexed under one of a query's prefix 4-grams are candidates, each confirmed by the exact
 * Jaccard, oldest first. The filter is exact, not probabilistic (as MinHash with LSH banding would
 * be): `find` answers what the pairwise scan answered, the same example first, in any order.
 *
 * The order is rarest first when the sets to come are given to the constructor (their document
 * frequencies), so that prefixes hold rare 4-grams and few sets share one; 4-grams it hasn't seen
 * come first, then by a fixed hash.
 */
export class DuplicateIndex {
  /** Normalised text → the first set added with it. */
  private readonly exact = new Map<string, { existing: boolean; of: number }>();
  private readonly all: { fingerprint: Fingerprint; existing: boolean }[] = [];
  /** Prefix 4-gram → the indexes in `all` of the sets whose prefix holds it, ascending. */
  private readonly byPrefix = new Map<string, number[]>();
  /** 4-gram → in how many of the announced sets it occurs. */
  private readonly frequency = new Map<string, number>();
  private readonly prefixes = new WeakMap<Fingerprint, string[]>();
  /** The query each set was last a candidate of (a mark, so candidates are collected without a Set). */
  private seenBy = new Int32Array(64);
  private query = 0;

  constructor(sets: Iterable<Fingerprint> = []) {
    for (const fp of sets) for (const gram of fp.shingles) this.frequency.set(gram, (this.frequency.get(gram) ?? 0) + 1);
  }

  add(fingerprint: Fingerprint, existing: boolean): void {
    const index = this.all.push({ fingerprint, existing }) - 1;
    if (!this.exact.has(fingerprint.text)) this.exact.set(fingerprint.text, { existing, of: index });
    if (index >= this.seenBy.length) {
      const grown = new Int32Array(this.seenBy.length * 2);
      grown.set(this.seenBy);
      this.seenBy = grown;
    }
    for (const gram of this.prefixOf(fingerprint)) {
      const list = this.byPrefix.get(gram);
      if (list) list.push(index);
      else this.byPrefix.set(gram, [index]);
    }
  }

  /** The duplicate a fingerprint has among those added, exact first, then the oldest near one; undefined when it has none. */
  find(fingerprint: Fingerprint): DuplicateFound | undefined {
    const exact = this.exact.get(fingerprint.text);
    if (exact !== undefined) return { kind: 'exact', ...exact };
    const size = fingerprint.shingles.size;
    const mark = ++this.query;
    const candidates: number[] = [];
    for (const gram of this.prefixOf(fingerprint)) {
      for (const index of this.byPrefix.get(gram) ?? []) {
        if (this.seenBy[index] === mark) continue;
        this.seenBy[index] = mark;
        // Jaccard is at most min/max of the set sizes: most candidates are ruled out without counting.
        const o = this.all[index].fingerprint.shingles.size;
        if (Math.min(size, o) >= NEAR_DUPLICATE_THRESHOLD * Math.max(size, o)) candidates.push(index);
      }
    }
    candidates.sort((a, b) => a - b);
    for (const index of candidates) {
      const other = this.all[index];
      if (nearEnough(fingerprint, other.fingerprint)) return { kind: 'near', existing: other.existing, of: index };
    }
    return undefined;
  }

  /** The first |x| − ⌈t·|x|⌉ + 1 4-grams of a set in the global order (frequency, hash, the 4-gram). */
  private prefixOf(fingerprint: Fingerprint): string[] {
    let prefix = this.prefixes.get(fingerprint);
    if (prefix) return prefix;
    const size = fingerprint.shingles.size;
    // The epsilon keeps a product such as 0.9 × 10 = 9.000000000000002 from shortening the prefix.
    const length = size - Math.ceil(NEAR_DUPLICATE_THRESHOLD * size - 1e-9) + 1;
    prefix = [...fingerprint.shingles]
      .map((gram) => ({ gram, f: this.frequency.get(gram) ?? 0, h: fnv1a(gram) }))
      .sort((a, b) => a.f - b.f || a.h - b.h || (a.gram < b.gram ? -1 : a.gram > b.gram ? 1 : 0))
      .slice(0, length)
      .map((x) => x.gram);
    this.prefixes.set(fingerprint, prefix);
    return prefix;
  }
}

/**
 * `similarity(a, b) >= NEAR_DUPLICATE_THRESHOLD`, stopping early: Jaccard ≥ t needs at least
 * t·(|a| + |b|)/(1 + t) 4-grams in common, so once more of the smaller set's are missing from the
 * larger than that allows, the answer is no. The final comparison is `similarity`'s own.
 */
function nearEnough(a: Fingerprint, b: Fingerprint): boolean {
  const [small, large] = a.shingles.size <= b.shingles.size ? [a.shingles, b.shingles] : [b.shingles, a.shingles];
  const t = NEAR_DUPLICATE_THRESHOLD;
  // The epsilon only lowers the bound (more is counted), so no pair similarity accepts is cut short.
  const allowedMisses = small.size - Math.ceil((t * (small.size + large.size)) / (1 + t) - 1e-9);
  let misses = 0;
  for (const gram of small) {
    if (large.has(gram)) continue;
    misses += 1;
    if (misses > allowedMisses) return false;
  }
  return similarity(a, b) >= t;
}

/** 32-bit FNV-1a of the UTF-16 code units: one fixed order of all 4-grams. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
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
