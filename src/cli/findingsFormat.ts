import type { FileFinding, Severity } from '../core/finding';
import { workflowCommand } from '../core/escaping/workflowCommands';
import { countBySeverity } from '../core/finding';

/** Output formats of `prompt-ci check`. */
export type FindingsFormat = 'text' | 'json' | 'github';

/** The `--format json` document: the same findings the extension shows, 0-based, repo-relative POSIX paths. */
export interface FindingsJson {
  diagnostics: Array<Pick<FileFinding, 'file' | 'range' | 'severity' | 'code' | 'message'>>;
}

/** `--format json`. */
export function findingsToJson(findings: readonly FileFinding[]): string {
  const doc: FindingsJson = {
    diagnostics: findings.map(({ file, range, severity, code, message }) => ({ file, range, severity, code, message })),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/**
 * Compiler-style text: `path:line:col: severity code: message`, 1-based, then a summary line.
 */
export function findingsToText(findings: readonly FileFinding[], checkedVersions: number): string {
  const lines = findings.map(
    (f) => `${f.file}:${f.range.start.line + 1}:${f.range.start.character + 1}: ${f.severity} ${f.code}: ${f.message}`,
  );
  const counts = countBySeverity(findings);
  lines.push(
    `${plural(counts.error, 'error')}, ${plural(counts.warning, 'warning')}, ${plural(counts.information, 'note')} in ${plural(checkedVersions, 'prompt version')}`,
  );
  return `${lines.join('\n')}\n`;
}

const GITHUB_LEVEL: Record<Severity, 'error' | 'warning' | 'notice'> = { error: 'error', warning: 'warning', information: 'notice' };

/** GitHub Actions workflow commands (`::error file=…,line=…::message`). */
export function findingsToGithub(findings: readonly FileFinding[]): string {
  return findings
    .map((f) => {
      const props = {
        file: f.file,
        line: f.range.start.line + 1,
        col: f.range.start.character + 1,
        endLine: f.range.end.line + 1,
        endColumn: f.range.end.character + 1,
        title: `prompt-ci ${f.code}`,
      };
      return workflowCommand(GITHUB_LEVEL[f.severity], props, f.message);
    })
    .join('');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
