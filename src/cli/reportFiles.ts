import { resolve } from 'node:path';
import { OutputFileError, checkOutputPath, writeOutputFile } from '../node/outputFiles';
import type { CliIo } from './cliIo';

/** A report file a command was asked for: `--json FILE`, `--markdown FILE`, `--junit FILE`. */
export interface RequestedReport {
  /** The option as typed, for messages: `--json`. */
  option: string;
  /** The path as the user gave it; undefined when the option wasn't given. */
  file: string | undefined;
  /** The report's text, made only when it is written; in pieces for a report that grows with the suite. */
  render: () => string | Iterable<string>;
}

/**
 * Refuses, before any work, report paths that obviously can't be written (a folder, a file where a
 * folder should be). Returns the message to print, or undefined when every path looks writable.
 */
export async function reportPathProblem(reports: readonly RequestedReport[], cwd: string): Promise<string | undefined> {
  for (const report of reports) {
    if (report.file === undefined) continue;
    try {
      await checkOutputPath(resolve(cwd, report.file), report.file);
    } catch (error) {
      if (error instanceof OutputFileError) return `${report.option} ${error.message}`;
      throw error;
    }
  }
  return undefined;
}

/**
 * Writes every requested report after the verdict. One that can't be written is one sentence on
 * stderr naming its path; the others are still written. Returns the paths written (as `display`
 * shows them) and whether any failed.
 */
export async function writeReports(
  reports: readonly RequestedReport[],
  io: CliIo,
  command: string,
  display: (absolute: string) => string,
): Promise<{ written: string[]; failed: boolean }> {
  const written: string[] = [];
  let failed = false;
  for (const report of reports) {
    if (report.file === undefined) continue;
    const path = resolve(io.cwd, report.file);
    try {
      await writeOutputFile(path, report.render(), report.file);
      written.push(display(path));
    } catch (error) {
      if (!(error instanceof OutputFileError)) throw error;
      io.stderr(`prompt-ci ${command}: ${report.option} ${error.message}\n`);
      failed = true;
    }
  }
  return { written, failed };
}
