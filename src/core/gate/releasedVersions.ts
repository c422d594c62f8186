import { parse as parseYaml } from 'yaml';
import { parseEvalJsonl } from '../evalSet';
import type { FileFinding, Range, Severity } from '../finding';
import { START_OF_FILE } from '../finding';
import { LineIndex } from '../lineIndex';
import { MAX_ALIAS_COUNT, metadataNodeRange } from '../metadata';
import { promptMetadataSchema } from '../metadataSchema';

/**
 * Released versions are immutable (DESIGN.md section 11): production spans, pins and audit records
 * name a version, and mean nothing if its text changes after release. A version directory that
 * exists on the baseline ref is released; these findings compare what it holds there with the
 * working tree.
 */

/** `prompt-ci.yaml` `releasedVersions`: `immutable` blocks a change, `warn` only reports it. */
export type ReleasedVersionsMode = 'immutable' | 'warn';

/** A released version's change to what production requests are built from. */
export const RELEASE_REQUEST_CHANGED = 'release/request-changed';
/** A released version's eval suite lost examples. */
export const RELEASE_EVAL_SHRANK = 'release/eval-shrank';

/** The keys of `metadata.yaml` that shape the request production sends; owners, ci and eval may change. */
export const REQUEST_METADATA_KEYS = ['model', 'max_output_tokens', 'temperature', 'template_format', 'output_schema'] as const;

/** The files of a version that go into the request as written. */
const REQUEST_FILES = ['system.md', 'user.template.md'] as const;

/** The texts of a version's files; a file that isn't there is absent. */
export type VersionTexts = Partial<Record<'system.md' | 'user.template.md' | 'metadata.yaml' | 'eval.jsonl', string>>;

/** One released version to compare: where it is, what it was released as and what the working tree holds. */
export interface ReleasedVersionInput {
  /** Repo-relative POSIX path, `prompts/summarisation/v2`. */
  dir: string;
  version: number;
  /** The ref it is released on, for people: `main`. */
  baseRef: string;
  /** The files as released (at the merge-base with the baseline ref). */
  released: VersionTexts;
  /** The files in the working tree. */
  current: VersionTexts;
  /** The version a new directory would get: one above the prompt's highest in the working tree. */
  nextVersion: number;
  mode: ReleasedVersionsMode;
}

/** The value `metadata.yaml` gives a request key, with the schema's default when it is silent; undefined when the text isn't YAML. */
function requestValues(text: string | undefined): Map<string, unknown> | undefined {
  if (text === undefined) return new Map();
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: MAX_ALIAS_COUNT, prettyErrors: false });
  } catch {
    return undefined;
  }
  const object = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const values = new Map<string, unknown>();
  for (const key of REQUEST_METADATA_KEYS) {
    const parsed = promptMetadataSchema.shape[key].safeParse(object[key]);
    values.set(key, parsed.success ? parsed.data : object[key]);
  }
  return values;
}

const shown = (value: unknown): string => (value === undefined ? '(not set)' : JSON.stringify(value));

/** The range from the first character where `after` differs from `before` to the end of that line. */
function firstDifference(before: string, after: string): Range {
  let i = 0;
  while (i < before.length && i < after.length && before.charCodeAt(i) === after.charCodeAt(i)) i++;
  const lines = new LineIndex(after);
  const start = lines.positionAt(i);
  return { start, end: { line: start.line, character: Math.max(start.character, lines.lineRange(start.line).end.character) } };
}

/**
 * The policy findings of one released version: an error (a warning when `mode` is `warn`) for
 * each change to system.md, user.template.md or a request key of metadata.yaml, on the changed
 * text or key; a warning when eval.jsonl lost examples (ids released that are gone). A metadata.yaml
 * that isn't YAML any more is left to `check`, which reports it.
 */
export function releasedVersionFindings(input: ReleasedVersionInput): FileFinding[] {
  const findings: FileFinding[] = [];
  const severity: Severity = input.mode === 'immutable' ? 'error' : 'warning';
  const remedy = `v${input.version} is released (it is on ${input.baseRef}); create v${input.nextVersion} instead (prompt-ci new ${input.dir}, or the quick fix "Move the edit to v${input.nextVersion}")`;
  const suffix = input.mode === 'warn' ? ' (releasedVersions: warn in prompt-ci.yaml, so this does not block)' : '';

  for (const file of REQUEST_FILES) {
    const before = input.released[file];
    const after = input.current[file];
    if (before === after || before === undefined) continue;
    findings.push({
      file: `${input.dir}/${file}`,
      code: RELEASE_REQUEST_CHANGED,
      severity,
      range: after === undefined ? START_OF_FILE : firstDifference(before, after),
      message: `${file} ${after === undefined ? 'was deleted' : 'changed'}, which changes what production sends: ${remedy}${suffix}`,
    });
  }

  const was = requestValues(input.released['metadata.yaml']);
  const now = requestValues(input.current['metadata.yaml']);
  if (was && now && input.released['metadata.yaml'] !== undefined) {
    const metadataFile = `${input.dir}/metadata.yaml`;
    for (const key of REQUEST_METADATA_KEYS) {
      if (JSON.stringify(was.get(key)) === JSON.stringify(now.get(key))) continue;
      const text = input.current['metadata.yaml'];
      findings.push({
        file: metadataFile,
        code: RELEASE_REQUEST_CHANGED,
        severity,
        range: text === undefined ? START_OF_FILE : metadataNodeRange(text, [key], 'value'),
        message: `${key} changed from ${shown(was.get(key))} to ${shown(now.get(key))}: ${remedy}${suffix}`,
      });
    }
  }

  const releasedSuite = input.released['eval.jsonl'];
  if (releasedSuite !== undefined) {
    const ids = (text: string | undefined): Set<string> => new Set(text === undefined ? [] : parseEvalJsonl(text).examples.map((e) => e.id));
    const now = ids(input.current['eval.jsonl']);
    const lost = [...ids(releasedSuite)].filter((id) => !now.has(id));
    if (lost.length > 0) {
      const listed = lost.slice(0, 5).map((id) => JSON.stringify(id)).join(', ') + (lost.length > 5 ? `, and ${lost.length - 5} more` : '');
      findings.push({
        file: `${input.dir}/eval.jsonl`,
        code: RELEASE_EVAL_SHRANK,
        severity: 'warning',
        range: START_OF_FILE,
        message: `the eval suite of released v${input.version} lost ${lost.length} example${lost.length === 1 ? '' : 's'} it had on ${input.baseRef} (${listed}): a released version's suite grows and never shrinks, so put them back (a new version may drop them)`,
      });
    }
  }
  return findings;
}
