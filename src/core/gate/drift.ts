import type { HistoryRecord } from './history';

/**
 * How a fresh re-run compares with the last passing run: `drifted` when the win rate moved by more
 * than the threshold (either way: a jump up is as suspicious as a drop, the model changed under the
 * prompt), `stable` when it did not, `no-reference` when no passing run is recorded for the version,
 * `unscored` when the re-run scored no example.
 */
export type DriftStatus = 'stable' | 'drifted' | 'no-reference' | 'unscored';

/** One prompt version's drift. */
export interface DriftComparison {
  status: DriftStatus;
  /** The re-run's win rate (0..1), or null when it scored nothing. */
  winRate: number | null;
  reference: HistoryRecord | null;
  /** Percentage points, re-run minus reference; null without both. */
  deltaPoints: number | null;
  thresholdPoints: number;
  /** Things that make the comparison less like-for-like (another model or judge, another example count). */
  notes: string[];
}

/** The measurements of a fresh re-run that drift compares. */
export interface DriftMeasurement {
  winRate: number | null;
  scored: number;
  model: string;
  judgeModel: string;
}

/**
 * Compares a re-run with the last passing run. Moves of exactly the threshold are not drift ("more
 * than N points"); the comparison is made on points rounded to 1e-9 so that 0.1 + 0.2 arithmetic
 * never tips it.
 */
export function compareDrift(current: DriftMeasurement, reference: HistoryRecord | undefined, thresholdPoints: number): DriftComparison {
  const notes: string[] = [];
  if (reference) {
    if (reference.model !== current.model) notes.push(`the declared model changed since the recorded run (${reference.model} then, ${current.model} now)`);
    if (reference.judgeModel !== current.judgeModel) notes.push(`the judge model changed since the recorded run (${reference.judgeModel} then, ${current.judgeModel} now)`);
    if (reference.scored !== current.scored) notes.push(`the recorded run scored ${reference.scored} examples, this one ${current.scored}`);
  }
  if (current.winRate === null) {
    return { status: 'unscored', winRate: null, reference: reference ?? null, deltaPoints: null, thresholdPoints, notes };
  }
  if (!reference) {
    return { status: 'no-reference', winRate: current.winRate, reference: null, deltaPoints: null, thresholdPoints, notes };
  }
  const deltaPoints = Math.round((current.winRate - reference.winRate) * 100 * 1e9) / 1e9;
  return {
    status: Math.abs(deltaPoints) > thresholdPoints ? 'drifted' : 'stable',
    winRate: current.winRate,
    reference,
    deltaPoints,
    thresholdPoints,
    notes,
  };
}

/** A signed number of points for people: `+4.2`, `-3.1`, `0.0`. */
export function formatPoints(points: number): string {
  const fixed = points.toFixed(1);
  return points > 0 && fixed !== '0.0' ? `+${fixed}` : fixed === '-0.0' ? '0.0' : fixed;
}
