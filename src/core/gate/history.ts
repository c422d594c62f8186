import * as z from 'zod';
import type { EvalReport } from '../../shared/evalReport';

/**
 * One line of `.prompt-ci/history.jsonl`: a passing eval run of one prompt version, the reference
 * `prompt-ci drift` compares later re-runs with. The file is committed with the prompts, so the
 * run that let a version in travels with it.
 */
export const historyRecordSchema = z.object({
  prompt: z.string(),
  version: z.number().int().positive(),
  /** Repo-relative POSIX directory of the version. */
  dir: z.string(),
  /** Challenger win rate, 0..1, over `scored` examples. */
  winRate: z.number().min(0).max(1),
  scored: z.number().int().min(0),
  correct: z.number().int().min(0),
  /** The model the prompt declared (metadata.yaml `model`). */
  model: z.string(),
  judgeModel: z.string(),
  /** ISO 8601 time of the run. */
  date: z.string(),
  /** HEAD when the run was made (the working tree may have had changes on top), or null outside git. */
  commit: z.string().nullable(),
  /** What recorded it: a `gate` run, or `drift --record`. */
  source: z.enum(['gate', 'drift', 'eval']),
  /** (improved + regressed) / paired examples of the run: the power estimate's fallback when a later run has none. */
  discordantShare: z.number().min(0).max(1).optional(),
});

/** A history record. */
export type HistoryRecord = z.infer<typeof historyRecordSchema>;

/** The history record of a report, or undefined when the run did not pass or scored nothing. */
export function historyRecordOf(report: EvalReport, dir: string, source: HistoryRecord['source']): HistoryRecord | undefined {
  const side = report.challenger;
  if (report.gate.status !== 'pass' || side.winRate === null || report.cancelled || report.partial) return undefined;
  return {
    prompt: report.prompt.name,
    version: report.prompt.version,
    dir,
    winRate: side.winRate,
    scored: side.scored,
    correct: side.correct,
    model: side.model,
    judgeModel: report.judge.model,
    date: report.startedAt,
    commit: side.commit,
    source,
    ...(report.power?.source === 'this-run' && report.power.discordantShare !== null ? { discordantShare: report.power.discordantShare } : {}),
  };
}

/** The discordant share of the last passing run of a prompt (any version) that recorded one above 0. */
export function lastDiscordantShare(records: readonly HistoryRecord[], prompt: string): number | undefined {
  for (let i = records.length - 1; i >= 0; i--) {
    const share = records[i].discordantShare;
    if (records[i].prompt === prompt && share !== undefined && share > 0) return share;
  }
  return undefined;
}

/** Reads history text: one JSON record a line; lines that aren't valid records are skipped (and counted). */
export function parseHistory(text: string): { records: HistoryRecord[]; skipped: number } {
  const records: HistoryRecord[] = [];
  let skipped = 0;
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    try {
      const parsed = historyRecordSchema.safeParse(JSON.parse(line));
      if (parsed.success) records.push(parsed.data);
      else skipped += 1;
    } catch {
      skipped += 1;
    }
  }
  return { records, skipped };
}

/** One record as its line of the file (with the newline). */
export function historyLine(record: HistoryRecord): string {
  return `${JSON.stringify(record)}\n`;
}

/** The last recorded passing run of one prompt version (the file is in run order), or undefined. */
export function lastPassingRun(records: readonly HistoryRecord[], prompt: string, version: number): HistoryRecord | undefined {
  for (let i = records.length - 1; i >= 0; i--) {
    if (records[i].prompt === prompt && records[i].version === version) return records[i];
  }
  return undefined;
}

/**
 * Whether `record` says something the history doesn't: a gate run replayed from the cache on every
 * push measures the same thing again and is not recorded twice.
 */
export function isNewMeasurement(records: readonly HistoryRecord[], record: HistoryRecord): boolean {
  const last = lastPassingRun(records, record.prompt, record.version);
  return (
    !last ||
    last.winRate !== record.winRate ||
    last.scored !== record.scored ||
    last.correct !== record.correct ||
    last.model !== record.model ||
    last.judgeModel !== record.judgeModel
  );
}
