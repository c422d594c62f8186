import type {
  DifferenceSummary,
  ExampleResult,
  McnemarSummary,
  NonInferiority,
  PowerSummary,
  ScoreTest,
  Slice,
} from '../../shared/evalReport';
import { fleissKappa } from '../stats/agreement';
import { clusteredDifference, newcombePairedInterval, pairedTInterval } from '../stats/pairedDifference';
import type { DifferenceInterval, PairedCells } from '../stats/pairedDifference';
import { connorSampleSize, detectableDifference } from '../stats/power';
import { wilcoxonSignedRank } from '../stats/wilcoxon';

/** The power the report speaks of: the conventional 80%. */
export const REPORTED_POWER = 0.8;

const PAIRED = new Set(['improved', 'regressed', 'both-correct', 'both-wrong']);

/** The examples both sides were scored on, the only ones the paired statistics use. */
export function pairedExamples(examples: readonly ExampleResult[]): ExampleResult[] {
  return examples.filter((e) => PAIRED.has(e.outcome));
}

/** Newcombe's cells of a set of paired examples. */
export function cellsOf(examples: readonly ExampleResult[]): PairedCells {
  const cells = { a: 0, b: 0, c: 0, d: 0 };
  for (const e of examples) {
    if (e.outcome === 'both-correct') cells.a += 1;
    else if (e.outcome === 'improved') cells.b += 1;
    else if (e.outcome === 'regressed') cells.c += 1;
    else if (e.outcome === 'both-wrong') cells.d += 1;
  }
  return cells;
}

/** Percentage points for people: 0.041 → "4.1". */
export function points(x: number): string {
  return String(Number((x * 100).toFixed(1)));
}

/** Signed percentage points: "+1.2", "-4.1", "0". */
export function signedPoints(x: number): string {
  const p = points(x);
  return x > 0 && p !== '0' ? `+${p}` : p;
}

/** A win-rate difference for people: "-2.6 points [-6.1, +0.9]". */
export function pointsInterval(d: DifferenceInterval): string {
  return `${signedPoints(d.estimate)} points [${signedPoints(d.lower)}, ${signedPoints(d.upper)}]`;
}

/** A score difference for people: "-0.12 [-0.25, +0.01]". */
export function scoreInterval(d: DifferenceInterval): string {
  const f = (x: number): string => `${x > 0 ? '+' : ''}${x.toFixed(2)}`;
  return `${f(d.estimate)} [${f(d.lower)}, ${f(d.upper)}]`;
}

/**
 * `difference`: challenger minus baseline win rate (Newcombe's paired interval), mean judge score
 * (paired t), and, when examples carry `cluster`, the win-rate difference with a clustered
 * standard error. Examples without a cluster are clusters of their own.
 */
export function differenceOf(examples: readonly ExampleResult[]): DifferenceSummary {
  const paired = pairedExamples(examples);
  const winRate = paired.length > 0 ? { ...newcombePairedInterval(cellsOf(paired)), method: 'newcombe-hybrid-score' as const } : null;
  const scoreDiffs = paired
    .filter((e) => e.challenger.score !== null && e.baseline.score !== null)
    .map((e) => (e.challenger.score as number) - (e.baseline.score as number));
  const t = pairedTInterval(scoreDiffs);
  const out: DifferenceSummary = { winRate, score: t ? { ...t, method: 'paired-t' } : null };
  if (paired.some((e) => e.cluster !== undefined)) {
    const diffs = paired.map((e) => Number(e.challenger.correct === true) - Number(e.baseline.correct === true));
    // A NUL can't be in a cluster value read from JSON text that is shown anywhere, so ids never collide with clusters.
    const clusters = paired.map((e) => (e.cluster !== undefined ? `c:${e.cluster}` : `\u0000${e.id}`));
    const clustered = clusteredDifference(diffs, clusters);
    if (clustered) out.clustered = { ...clustered, method: 'cluster-robust' };
  }
  return out;
}

/**
 * `power` (Connor 1987): from the discordant share of this run (or, with no discordant pair, of the
 * last passing run in history.jsonl), the smallest drop the suite detects at 80% power and the gate's
 * alpha (two-sided), and the examples needed to detect `eval.detect_regression`. A drop δ implies
 * at least δ of the examples are discordant, so that need is computed with max(ψ, δ).
 */
export function powerOf(
  table: McnemarSummary,
  alpha: number,
  detectRegression: number,
  historyDiscordantShare?: number,
): PowerSummary {
  const n = table.improved + table.regressed + table.bothCorrect + table.bothWrong;
  const observed = n > 0 ? (table.improved + table.regressed) / n : 0;
  const fromHistory = observed === 0 && historyDiscordantShare !== undefined && historyDiscordantShare > 0;
  const share = observed > 0 ? observed : fromHistory ? (historyDiscordantShare as number) : null;
  const source = observed > 0 ? 'this-run' : fromHistory ? 'history' : null;
  const detectable = share !== null && n > 0 ? detectableDifference(n, share, alpha, REPORTED_POWER) : null;
  const needShare = share === null ? null : Math.max(share, detectRegression);
  const needed = needShare !== null && detectRegression ** 2 <= needShare ? Math.ceil(connorSampleSize(needShare, detectRegression, alpha, REPORTED_POWER)) : null;
  const target = `${points(detectRegression)} points`;
  let summary: string;
  if (share === null) {
    summary =
      n === 0
        ? 'the smallest detectable drop cannot be estimated: no example was scored on both sides'
        : `the smallest detectable drop cannot be estimated: no example changed outcome and history.jsonl has no earlier passing run with a discordant share`;
  } else {
    const head =
      detectable === null
        ? `${n} examples cannot detect a drop at 80% power with ${points(share)}% of examples changing outcome`
        : `${n} examples can detect a drop of ${points(detectable)} points (80% power)`;
    summary = `${head}; detecting ${target} needs about ${needed === null ? '–' : needed.toLocaleString('en-US')}`;
    if (source === 'history') summary += ` (discordant share ${points(share)}% from the last passing run in history.jsonl: no example changed outcome in this run)`;
  }
  return {
    discordantShare: share,
    source,
    n,
    alpha,
    power: REPORTED_POWER,
    detectableRegression: detectable,
    examplesNeeded: { regression: detectRegression, n: needed },
    summary,
  };
}

/**
 * `nonInferiority`: pass when the win-rate interval's lower bound is above -margin, blocked when its
 * upper bound is below -margin, else inconclusive. For inconclusive, the number of paired examples
 * that would settle it if the difference held, from the half-width shrinking as 1/sqrt(n).
 */
export function nonInferiorityOf(winRate: DifferenceInterval, margin: number, n: number): NonInferiority {
  const { estimate, lower, upper } = winRate;
  const interval = `[${signedPoints(lower)}, ${signedPoints(upper)}] points`;
  if (lower > -margin) {
    return { margin, status: 'pass', lower, upper, examplesToSettle: null, message: `win-rate difference ${interval} is above minus non_inferiority_margin (${signedPoints(-margin)} points): non-inferior` };
  }
  if (upper < -margin) {
    return {
      margin,
      status: 'blocked',
      lower,
      upper,
      examplesToSettle: null,
      message: `win-rate difference ${interval} is below minus non_inferiority_margin (${signedPoints(-margin)} points): worse than the margin allows`,
    };
  }
  const gap = Math.abs(estimate + margin);
  const halfWidth = estimate > -margin ? estimate - lower : upper - estimate;
  const settle = gap > 0 && n > 0 ? Math.ceil(n * (halfWidth / gap) ** 2) : null;
  return {
    margin,
    status: 'inconclusive',
    lower,
    upper,
    examplesToSettle: settle,
    message:
      `win-rate difference ${interval} spans minus non_inferiority_margin (${signedPoints(-margin)} points): ` +
      (settle === null ? 'add examples to settle it' : `about ${settle} paired examples would settle it if the difference stays at ${signedPoints(estimate)} points (${n} now)`),
  };
}

/** `scoreTest`: Wilcoxon signed-rank on challenger minus baseline judge scores; null when none differs. */
export function scoreTestOf(examples: readonly ExampleResult[], gating: boolean): (ScoreTest & { worse: boolean }) | null {
  const diffs = pairedExamples(examples)
    .filter((e) => e.challenger.score !== null && e.baseline.score !== null)
    .map((e) => (e.challenger.score as number) - (e.baseline.score as number));
  const test = wilcoxonSignedRank(diffs);
  if (!test) return null;
  return { statistic: test.statistic, pValue: test.pValue, method: test.method, n: test.n, gating, worse: test.rankSumNegative > test.rankSumPositive };
}

/**
 * `slices`: per tag, over the paired examples with it. A slice is `concentrated` when its own
 * interval lies below zero while the examples outside it show no such drop.
 */
export function slicesOf(examples: readonly ExampleResult[]): Slice[] {
  const paired = pairedExamples(examples);
  const tags = [...new Set(paired.flatMap((e) => e.tags))].sort();
  return tags.map((tag) => {
    const inside = paired.filter((e) => e.tags.includes(tag));
    const outside = paired.filter((e) => !e.tags.includes(tag));
    const cells = cellsOf(inside);
    const n = inside.length;
    const difference = newcombePairedInterval(cells);
    const rest = outside.length > 0 ? newcombePairedInterval(cellsOf(outside)) : null;
    return {
      tag,
      n,
      challengerWinRate: (cells.a + cells.b) / n,
      baselineWinRate: (cells.a + cells.c) / n,
      improved: cells.b,
      regressed: cells.c,
      difference,
      concentrated: difference.upper < 0 && rest !== null && rest.upper >= 0,
    };
  });
}

/**
 * Agreement of the judge's repeats on `correct` over every output judged the full number of times:
 * the share where all repeats agreed, Fleiss' kappa, and the examples with a split vote.
 */
export function judgeReliabilityOf(
  examples: readonly ExampleResult[],
  repeats: number,
): { unanimousShare: number | null; fleissKappa: number | null; unstable: string[] } {
  const unstable = examples.filter((e) => e.unstable).map((e) => e.id);
  if (repeats < 2) return { unanimousShare: null, fleissKappa: null, unstable };
  const rows: number[][] = [];
  for (const e of examples) {
    for (const side of [e.challenger, e.baseline]) {
      if (side.votes.length !== repeats) continue;
      const yes = side.votes.filter((v) => v.correct).length;
      rows.push([yes, repeats - yes]);
    }
  }
  if (rows.length === 0) return { unanimousShare: null, fleissKappa: null, unstable };
  const unanimous = rows.filter((r) => r[0] === 0 || r[1] === 0).length;
  return { unanimousShare: unanimous / rows.length, fleissKappa: fleissKappa(rows), unstable };
}

/**
 * The slices worth a line where space is short (terminal, PR comment, panel): those where some
 * example changed outcome, the concentrated ones first, then by difference (worst first), at most
 * `max`; `hidden` counts the rest (the JSON report has them all).
 */
export function slicesToShow(slices: readonly Slice[], max: number): { shown: Slice[]; hidden: number } {
  const changed = slices
    .filter((s) => s.improved + s.regressed > 0)
    .sort((x, y) => Number(y.concentrated) - Number(x.concentrated) || x.difference.estimate - y.difference.estimate || x.tag.localeCompare(y.tag));
  const shown = changed.slice(0, max);
  return { shown, hidden: slices.length - shown.length };
}
