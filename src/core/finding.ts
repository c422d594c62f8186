/** A zero-based position in a text document, as VS Code and LSP count it (UTF-16 code units). */
export interface Position {
  line: number;
  character: number;
}

/** A half-open range `[start, end)` in a text document. */
export interface Range {
  start: Position;
  end: Position;
}

/** How bad a finding is. Maps one-to-one onto VS Code's DiagnosticSeverity and the CLI's labels. */
export type Severity = 'error' | 'warning' | 'information';

/**
 * One problem found in one file. Core produces these from strings; the extension turns them into
 * diagnostics and the CLI prints them, so both show exactly the same thing.
 * `code` is stable across releases (e.g. `metadata/unknown-key`).
 */
export interface Finding {
  code: string;
  severity: Severity;
  range: Range;
  message: string;
  /** Other places the same finding concerns, e.g. the template field of a call-site finding. */
  related?: RelatedLocation[];
}

/** A place elsewhere in the repository that a finding points at. */
export interface RelatedLocation {
  /** Repo-relative POSIX path. */
  file: string;
  range: Range;
  message: string;
}

/** A finding tied to a file: the unit the CLI prints and the extension groups by URI. */
export interface FileFinding extends Finding {
  /** Repo-relative POSIX path. */
  file: string;
}

/** The range covering the first line of a file: where findings about a whole file or directory sit. */
export const START_OF_FILE: Range = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };

/** Counts findings by severity. */
export function countBySeverity(findings: readonly Finding[]): Record<Severity, number> {
  const counts: Record<Severity, number> = { error: 0, warning: 0, information: 0 };
  for (const f of findings) counts[f.severity] += 1;
  return counts;
}
