import * as assert from 'node:assert/strict';
import type { Fingerprint } from '../../src/core/suiteGrowth';
import { DuplicateIndex, NEAR_DUPLICATE_THRESHOLD, fingerprintOf, seededRandom, similarity } from '../../src/core/suiteGrowth';

/**
 * The near-duplicate index (a prefix filter over 4-gram sets) against the pairwise scan it replaced:
 * the same answer, the same example first, for every query of a seeded suite full of near misses
 * (variants whose Jaccard falls on both sides of 0.9).
 */

/** The pairwise scan: every earlier set, oldest first. */
function pairwise(all: { fingerprint: Fingerprint; existing: boolean }[], fp: Fingerprint): { kind: 'exact' | 'near'; existing: boolean; of: number } | undefined {
  const exact = all.findIndex((e) => e.fingerprint.text === fp.text);
  if (exact >= 0) return { kind: 'exact', existing: all[exact].existing, of: exact };
  const near = all.findIndex((e) => sizesAllow(e.fingerprint, fp, NEAR_DUPLICATE_THRESHOLD) && similarity(e.fingerprint, fp) >= NEAR_DUPLICATE_THRESHOLD);
  return near >= 0 ? { kind: 'near', existing: all[near].existing, of: near } : undefined;
}

/** Jaccard is at most min/max of the sizes: a bound, so skipping on it changes no answer. */
const sizesAllow = (a: Fingerprint, b: Fingerprint, t: number): boolean => Math.min(a.shingles.size, b.shingles.size) >= t * Math.max(a.shingles.size, b.shingles.size);

const WORDS = 'refund invoice charge march outage sync timeout export nightly account owner seats plan cancel webhook delivery error billing duplicate customer ticket api key rotation credit quarter translate template mobile blank screen update'.split(' ');

function suite(seed: string, n: number): { inputs: Record<string, unknown>; existing: boolean }[] {
  const rng = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];
  const bases: string[][] = [];
  const out: { inputs: Record<string, unknown>; existing: boolean }[] = [];
  for (let i = 0; i < n; i++) {
    let words: string[];
    if (bases.length === 0 || rng() < 0.3) {
      words = Array.from({ length: 8 + Math.floor(rng() * 60) }, () => pick(WORDS));
      bases.push(words);
    } else {
      // A variant: a few words changed, inserted or dropped; short texts move further per edit.
      words = [...pick(bases)];
      const edits = Math.floor(rng() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rng() * words.length);
        const r = rng();
        if (r < 0.4) words[at] = pick(WORDS);
        else if (r < 0.7) words.splice(at, 0, pick(WORDS));
        else if (words.length > 1) words.splice(at, 1);
      }
      if (rng() < 0.2) words = words.map((w) => (rng() < 0.5 ? w.toUpperCase() : w));
    }
    out.push({ inputs: { customer: pick(['Northwind', 'Contoso', 'Fabrikam']), ticket: words.join(rng() < 0.1 ? '  ' : ' ') }, existing: i < n / 4 });
  }
  return out;
}

describe('DuplicateIndex', () => {
  for (const seed of ['a', 'b', 'c']) {
    it(`answers as the pairwise scan does, the same example first (seed ${seed})`, () => {
      const cases = suite(seed, 800);
      // Half the runs announce the sets (rarest 4-grams first), half don't (the hash order).
      const index = seed === 'b' ? new DuplicateIndex() : new DuplicateIndex(cases.map((e) => fingerprintOf(e.inputs)));
      const all: { fingerprint: Fingerprint; existing: boolean }[] = [];
      const kinds = { exact: 0, near: 0, none: 0, nearMiss: 0 };
      for (const e of cases) {
        const fp = fingerprintOf(e.inputs);
        const expected = pairwise(all, fp);
        assert.deepEqual(index.find(fp), expected);
        kinds[expected?.kind ?? 'none'] += 1;
        // How many queries had a set just under the threshold (the cases a filter could get wrong).
        if (!expected && all.some((o) => sizesAllow(o.fingerprint, fp, 0.8) && similarity(o.fingerprint, fp) >= 0.8)) kinds.nearMiss += 1;
        if (!expected || e.existing) {
          index.add(fp, e.existing);
          all.push({ fingerprint: fp, existing: e.existing });
        }
      }
      // The suite exercises every branch: exact and near duplicates, new ones, and near misses.
      assert.ok(kinds.exact > 10 && kinds.near > 50 && kinds.none > 200 && kinds.nearMiss > 50, JSON.stringify(kinds));
    });
  }

  it('finds sets of one 4-gram and texts shorter than one', () => {
    const index = new DuplicateIndex();
    index.add(fingerprintOf({ a: 'abcd' }), true);
    index.add(fingerprintOf({ a: '' }), false);
    assert.deepEqual(index.find(fingerprintOf({ a: 'ABCD' })), { kind: 'exact', existing: true, of: 0 });
    assert.deepEqual(index.find(fingerprintOf({ a: ' ' })), { kind: 'exact', existing: false, of: 1 });
    assert.equal(index.find(fingerprintOf({ a: 'abce' })), undefined);
  });
});
