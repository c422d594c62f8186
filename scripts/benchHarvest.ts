/**
 * Benchmark of harvest's duplicate search: tens of thousands of candidates (ticket-like texts, one
 * in five a near variant of an earlier one) through `DuplicateIndex` (a prefix filter, confirmed by
 * the exact 4-gram Jaccard), and the pairwise scan it replaced on the first few thousand, with the
 * two checked to answer the same. Prints figures and the ratio to the target; asserts nothing.
 *
 *   npx tsx scripts/benchHarvest.ts [--candidates N] [--pairwise N]
 */
import { parseArgs } from 'node:util';
import type { Fingerprint } from '../src/core/suiteGrowth';
import { DuplicateIndex, NEAR_DUPLICATE_THRESHOLD, fingerprintOf, seededRandom, similarity } from '../src/core/suiteGrowth';

const { values } = parseArgs({
  options: {
    candidates: { type: 'string', default: '20000' },
    pairwise: { type: 'string', default: '3000' },
    // `npm run bench -- --memory` hands it to every bench; this one measures time only.
    memory: { type: 'boolean', default: false },
  },
});
const CANDIDATES = Number(values.candidates);
const PAIRWISE = Math.min(CANDIDATES, Number(values.pairwise));
/** A harvest of a day of spans without --sample: every candidate checked against the suite and the others. */
const TARGET_MS_PER_20K = 5000;

const rng = seededRandom('bench-harvest');
const letters = 'etaoinshrdlcumwfgypbvkjxqz';
/** Words of 2 to 9 letters, drawn with English-like letter frequencies; used with a Zipf-like skew. */
const vocabulary = Array.from({ length: 5000 }, () => Array.from({ length: 2 + Math.floor(rng() * 8) }, () => letters[Math.floor(rng() ** 1.5 * letters.length)]).join(''));
const word = (): string => vocabulary[Math.floor(rng() ** 2 * vocabulary.length)];

function candidates(n: number): Fingerprint[] {
  const texts: string[][] = [];
  const out: Fingerprint[] = [];
  for (let i = 0; i < n; i++) {
    let words: string[];
    if (texts.length > 0 && rng() < 0.2) {
      words = [...texts[Math.floor(rng() * texts.length)]];
      for (let e = Math.floor(rng() * 3); e > 0; e--) words[Math.floor(rng() * words.length)] = word();
    } else {
      words = Array.from({ length: 20 + Math.floor(rng() * 120) }, word);
    }
    texts.push(words);
    out.push(fingerprintOf({ customer: `customer ${i % 40}`, ticket: words.join(' ') }));
  }
  return out;
}

function pairwiseFind(all: Fingerprint[], fp: Fingerprint): number {
  const exact = all.findIndex((o) => o.text === fp.text);
  if (exact >= 0) return exact;
  const size = fp.shingles.size;
  return all.findIndex((o) => Math.min(size, o.shingles.size) >= NEAR_DUPLICATE_THRESHOLD * Math.max(size, o.shingles.size) && similarity(fp, o) >= NEAR_DUPLICATE_THRESHOLD);
}

function main(): void {
  const made = performance.now();
  const fps = candidates(CANDIDATES);
  console.log(`harvest duplicate search: ${CANDIDATES.toLocaleString('en-US')} candidates made in ${(performance.now() - made).toFixed(0)} ms`);

  const started = performance.now();
  // As harvest does: every set to come is announced, so the index orders 4-grams rarest first.
  const index = new DuplicateIndex(fps);
  const found: number[] = [];
  let duplicates = 0;
  for (const fp of fps) {
    const d = index.find(fp);
    found.push(d ? d.of : -1);
    if (d) duplicates += 1;
    else index.add(fp, false);
  }
  const ms = performance.now() - started;
  const target = (TARGET_MS_PER_20K * CANDIDATES) / 20000;
  console.log(`  prefix filter: ${CANDIDATES.toLocaleString('en-US')} candidates, ${duplicates.toLocaleString('en-US')} duplicates, ${ms.toFixed(0)} ms (target ${target.toFixed(0)} ms: ratio ${(ms / target).toFixed(2)})`);

  // The pairwise scan on the first PAIRWISE candidates: the time it took, and the same answers.
  const pStarted = performance.now();
  const kept: Fingerprint[] = [];
  const keptAt: number[] = [];
  let same = 0;
  for (let i = 0; i < PAIRWISE; i++) {
    const at = pairwiseFind(kept, fps[i]);
    // `found` holds the index's own numbering: the order the kept sets were added in.
    if (at === found[i]) same += 1;
    if (at < 0) {
      kept.push(fps[i]);
      keptAt.push(i);
    }
  }
  const pMs = performance.now() - pStarted;
  const iStarted = performance.now();
  const small = new DuplicateIndex(fps.slice(0, PAIRWISE));
  for (let i = 0; i < PAIRWISE; i++) if (!small.find(fps[i])) small.add(fps[i], false);
  const iMs = performance.now() - iStarted;
  console.log(
    `  first ${PAIRWISE.toLocaleString('en-US')}: pairwise ${pMs.toFixed(0)} ms, prefix filter ${iMs.toFixed(0)} ms (${(pMs / Math.max(iMs, 1)).toFixed(1)}x); same answer for ${same.toLocaleString('en-US')} of ${PAIRWISE.toLocaleString('en-US')}`,
  );
  if (same !== PAIRWISE) process.exitCode = 1;
}

main();
