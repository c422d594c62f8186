import type { FileFinding, Finding } from './finding';
import { START_OF_FILE } from './finding';
import type { VersionContract } from './crossCheck';
import { parseEvalJsonl } from './evalSet';
import type { EvalExample } from './evalSet';
import { validateMetadata } from './metadata';
import type { PromptMetadata } from './metadataSchema';
import type { PromptVersion } from './promptLayout';
import { LineIndex } from './lineIndex';
import { parseTemplate } from './template/template';
import type { ParsedTemplate } from './template/template';

/**
 * What a check reads of a repository. The CLI backs it with the file system; the extension with
 * the file system overlaid by open editors, so unsaved text counts.
 */
export interface RepoSnapshot {
  /** Every repo-relative POSIX file path under `prompts/` (and any other path checks may ask about). */
  readonly paths: readonly string[];
  /** The text of a repo-relative path, or undefined when it can't be read. */
  read(path: string): string | undefined;
  exists(path: string): boolean;
  /** Today (ISO date), for model retirement dates; absent: not checked. */
  readonly today?: string;
  /**
   * What reading a path noticed, for findings: a file refused (a symbolic link, a directory), bytes
   * that are not UTF-8, a BOM or CRLF line endings (normalised away in `read`). Absent: nothing.
   */
  describe?(path: string): FileReadNotes | undefined;
  /** True when a listed path is a symbolic link (see discoverPrompts). Absent: none is. */
  linked?(path: string): boolean;
}

/** What a snapshot noticed reading one file. */
export interface FileReadNotes {
  /** Why the file was not read (then `read` gives undefined). */
  refused?: string;
  /** Line and character (0-based) of the first byte that is not UTF-8. */
  invalidUtf8At?: { line: number; character: number };
  bom?: boolean;
  crlf?: boolean;
}

/** The findings about how a prompt file reads: refused, not UTF-8 (errors), BOM or CRLF (information). */
export function fileReadFindings(notes: FileReadNotes | undefined): Finding[] {
  if (!notes) return [];
  const out: Finding[] = [];
  if (notes.refused) out.push({ code: 'file/refused', severity: 'error', range: START_OF_FILE, message: notes.refused });
  if (notes.invalidUtf8At) {
    const at = notes.invalidUtf8At;
    out.push({
      code: 'file/invalid-utf8',
      severity: 'error',
      range: { start: at, end: { line: at.line, character: at.character + 1 } },
      message: `not valid UTF-8 from here (line ${at.line + 1}, character ${at.character + 1}): save the file as UTF-8`,
    });
  }
  if (notes.bom) out.push({ code: 'file/bom', severity: 'information', range: START_OF_FILE, message: 'starts with a byte order mark; Prompt CI drops it when reading (save without BOM to match)' });
  if (notes.crlf) out.push({ code: 'file/crlf', severity: 'information', range: START_OF_FILE, message: 'has CRLF line endings; Prompt CI reads them as LF, so the model sees LF (a .gitattributes `* text=auto` keeps them LF in the repository)' });
  return out;
}

/** What checking one prompt version learned: its findings and the parts later checks build on. */
export interface CheckedVersion {
  version: PromptVersion;
  findings: FileFinding[];
  metadata?: PromptMetadata;
  examples: EvalExample[];
  /** user.template.md, parsed with the metadata's `template_format` (python when unknown). */
  template?: { path: string; text: string; parsed: ParsedTemplate };
}

/** Checks one prompt version: its metadata.yaml and eval.jsonl. Layout findings come from discovery. */
export function checkPromptVersion(version: PromptVersion, snapshot: RepoSnapshot): CheckedVersion {
  const findings: FileFinding[] = [];
  const onFile = (file: string, list: Finding[]): void => {
    for (const f of list) findings.push({ ...f, file });
  };
  let metadata: PromptMetadata | undefined;
  let examples: EvalExample[] = [];
  const refused = new Set<string>();
  for (const path of Object.values(version.files)) {
    const notes = snapshot.describe?.(path);
    if (notes?.refused) refused.add(path);
    onFile(path, fileReadFindings(notes));
  }
  const readable = (path: string | undefined): string | undefined => (path && !refused.has(path) ? path : undefined);

  const metadataPath = readable(version.files['metadata.yaml']);
  if (metadataPath) {
    const text = snapshot.read(metadataPath);
    if (text === undefined) onFile(metadataPath, [unreadable(metadataPath)]);
    else {
      const result = validateMetadata(text, {
        promptName: version.name,
        version: version.version,
        versionDir: version.dir,
        exists: (p) => snapshot.exists(p),
        today: snapshot.today,
      });
      onFile(metadataPath, result.findings);
      metadata = result.metadata;
    }
  }
  const evalPath = readable(version.files['eval.jsonl']);
  if (evalPath) {
    const text = snapshot.read(evalPath);
    if (text === undefined) onFile(evalPath, [unreadable(evalPath)]);
    else {
      const result = parseEvalJsonl(text);
      examples = result.examples;
      onFile(evalPath, result.findings);
      if (result.examples.length === 0 && result.findings.length === 0) {
        onFile(evalPath, [
          {
            code: 'eval/empty',
            severity: 'warning',
            range: START_OF_FILE,
            message: 'eval.jsonl has no examples: this prompt cannot be gated',
          },
        ]);
      }
    }
  }
  let template: CheckedVersion['template'];
  const templatePath = readable(version.files['user.template.md']);
  if (templatePath) {
    const text = snapshot.read(templatePath);
    if (text === undefined) onFile(templatePath, [unreadable(templatePath)]);
    else {
      const format = metadata?.template_format ?? 'python';
      const parsed = parseTemplate(text, format);
      template = { path: templatePath, text, parsed };
      const lines = new LineIndex(text);
      onFile(
        templatePath,
        parsed.errors.map((e) => ({
          code: e.kind === 'limit' ? 'template/limit' : e.kind === 'depth' ? 'template/too-deep' : 'template/syntax',
          severity: 'error' as const,
          range: lines.rangeOf(e.offset, Math.min(text.length, e.offset + 1)),
          message: e.message,
        })),
      );
    }
  }
  return { version, findings, metadata, examples, template };
}

/** The cross-check's view of a checked version; undefined without a readable template. */
export function contractOf(checked: CheckedVersion): VersionContract | undefined {
  if (!checked.template) return undefined;
  return {
    version: checked.version,
    templatePath: checked.template.path,
    templateText: checked.template.text,
    template: checked.template.parsed,
    evalPath: checked.version.files['eval.jsonl'],
    examples: checked.examples,
  };
}

function unreadable(path: string): Finding {
  return { code: 'file/unreadable', severity: 'error', range: START_OF_FILE, message: `${path} could not be read` };
}

/** Orders findings for printing: by file, then position. */
export function sortFindings<T extends FileFinding>(findings: T[]): T[] {
  return findings.sort(
    (a, b) =>
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
      a.range.start.line - b.range.start.line ||
      a.range.start.character - b.range.start.character ||
      a.code.localeCompare(b.code),
  );
}
