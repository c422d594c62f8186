import { appendFile, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { historyLine, historyRecordOf, isNewMeasurement, lastPassingRun, parseHistory } from '../core/gate/history';
import type { HistoryRecord } from '../core/gate/history';
import type { EvalReport } from '../shared/evalReport';
import { makeDirectories } from './outputFiles';

/** Where the history lives, relative to the repository root. Committed with the prompts (unlike the cache). */
export const HISTORY_FILE = join('.prompt-ci', 'history.jsonl');

/** Every readable record of the repository's history (none when the file doesn't exist yet). */
export async function readHistory(repoRoot: string): Promise<{ records: HistoryRecord[]; skipped: number }> {
  let text: string;
  try {
    text = await readFile(join(repoRoot, HISTORY_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], skipped: 0 };
    throw error;
  }
  return parseHistory(text);
}

/** Appends one record (creating `.prompt-ci/` when needed). */
export async function appendHistory(repoRoot: string, record: HistoryRecord): Promise<void> {
  const path = join(repoRoot, HISTORY_FILE);
  await makeDirectories(dirname(path));
  await appendFile(path, historyLine(record), 'utf8');
}

/** The last passing run recorded for one prompt version. */
export async function readLastPassingRun(repoRoot: string, prompt: string, version: number): Promise<HistoryRecord | undefined> {
  return lastPassingRun((await readHistory(repoRoot)).records, prompt, version);
}

/**
 * Records a passing run unless the history already holds the same measurement (a cached re-run).
 * Returns the record written, or undefined when nothing was written.
 */
export async function recordPassingRun(
  repoRoot: string,
  report: EvalReport,
  dir: string,
  source: HistoryRecord['source'],
): Promise<HistoryRecord | undefined> {
  const record = historyRecordOf(report, dir, source);
  if (!record) return undefined;
  const { records } = await readHistory(repoRoot);
  if (!isNewMeasurement(records, record)) return undefined;
  await appendHistory(repoRoot, record);
  return record;
}
