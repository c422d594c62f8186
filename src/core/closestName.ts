/**
 * "Did you mean …?": the closest of some known names to a misspelt one. The one owner of edit
 * distance for metadata keys, model ids, template variables and prompt names.
 */

/** Levenshtein distance; small strings only (keys, ids, variable names). */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

/**
 * The known name closest to `name` (case-insensitive), when it is close enough to be a typo: at
 * most `max(2, ⌊length / 4⌋)` edits, or `maxDistance` when given. Undefined when none is, or when
 * `name` is itself known.
 */
export function closestName(name: string, known: Iterable<string>, maxDistance?: number): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    if (candidate === name) return undefined;
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  const limit = maxDistance ?? Math.max(2, Math.floor(name.length / 4));
  return best !== undefined && bestDistance <= limit ? best : undefined;
}

/**
 * A passed name that is probably a misspelling of a missing one (`customer_nmae` for
 * `customer_name`): among the names given but not used, the closest to `missing`. Undefined when
 * none is close. The cross-check's "did you mean" and the editor's rename fix both ask this.
 */
export function misspeltAs(missing: string, givenUnused: Iterable<string>): string | undefined {
  return closestName(missing, givenUnused);
}

/** The words of a finding's suggestion, `did you mean "customer_name"?`: the quick fixes read it back with `suggestionIn`. */
export function didYouMean(name: string): string {
  return `did you mean "${name}"?`;
}

const SUGGESTION = /did you mean "([^"]+)"\?/;

/** The name a finding's message suggests (`didYouMean`'s), if any. */
export function suggestionIn(message: string): string | undefined {
  return SUGGESTION.exec(message)?.[1];
}
