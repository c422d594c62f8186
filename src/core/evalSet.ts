import { parse as parseJsonc, printParseErrorCode } from 'jsonc-parser';
import type { ParseError } from 'jsonc-parser';
import type { Finding } from './finding';
import { LineIndex } from './lineIndex';

/** One example of an eval suite: a line of `eval.jsonl`. */
export interface EvalExample {
  id: string;
  /** The template variables this example supplies. */
  inputs: Record<string, unknown>;
  /** What a correct answer looks like; the judge compares against it. */
  reference?: string;
  tags?: string[];
  /** Examples sharing a cluster (e.g. cut from one document) are not independent: the report clusters its standard error on this. */
  cluster?: string;
  /** Where the example came from (harvest: the span; synthesize: the failing examples and the model), as written. */
  source?: Record<string, unknown>;
  /** 0-based line in eval.jsonl. */
  line: number;
  /** Offset of the line's first character in eval.jsonl. */
  offset: number;
  /** Characters in the line, without its line ending. */
  length: number;
}

/** Lines longer than this are refused: an example is text, not a data dump. */
export const MAX_EVAL_LINE_CHARS = 2 * 1024 * 1024;

/**
 * Parses `eval.jsonl`: every line on its own, so one bad line is one finding on that line and
 * never hides the examples around it. Blank lines are skipped.
 */
export function parseEvalJsonl(text: string): { examples: EvalExample[]; findings: Finding[] } {
  const lines = new LineIndex(text);
  const examples: EvalExample[] = [];
  const parser = new EvalJsonlParser();
  for (let line = 0; line < lines.lineCount; line++) {
    const start = lines.offsetAt({ line, character: 0 });
    const example = parser.line(text.slice(start, lines.lineEnd(line)), line, start);
    if (example) examples.push(example);
  }
  return { examples, findings: parser.findings };
}

/**
 * The line-by-line reading of `eval.jsonl` that `parseEvalJsonl` and the streaming reader share:
 * each line is validated as it comes and handed back as an example or recorded as findings. What it
 * keeps between lines is the first line of each id (for the "duplicate id" finding) and the
 * findings, never the examples.
 */
export class EvalJsonlParser {
  readonly findings: Finding[] = [];
  private readonly firstLineOfId = new Map<string, number>();

  /**
   * One line, without its line ending: `line` is its 0-based number, `offset` the offset of its
   * first character in the (normalised) text. Returns the example, or undefined for a blank or
   * refused line (then its findings are in `findings`).
   */
  line(source: string, line: number, offset: number): EvalExample | undefined {
    if (source.trim() === '') return undefined;
    const lineRange = { start: { line, character: 0 }, end: { line, character: source.length } };
    const at = (message: string, code: string, from = 0, to = source.length): void => {
      this.findings.push({ code, severity: 'error', range: { start: { line, character: from }, end: { line, character: to } }, message });
    };

    if (source.length > MAX_EVAL_LINE_CHARS) {
      this.tooLong(line, source.length);
      return undefined;
    }
    const errors: ParseError[] = [];
    const value = parseJsonLine(source, errors);
    if (errors.length > 0) {
      const first = errors[0];
      // An error at the end of the line (a missing brace) is shown on the line's last character.
      const from = Math.min(first.offset, Math.max(0, source.length - 1));
      at(`not valid JSON: ${jsonMessage(source, first)} at column ${first.offset + 1}`, 'eval/invalid-json', from, Math.min(source.length, from + Math.max(1, first.length)));
      return undefined;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      at(`each line must be a JSON object, this one is ${Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`}`, 'eval/not-object');
      return undefined;
    }
    const record = value as Record<string, unknown>;
    let ok = true;
    if (!('id' in record)) {
      at('example has no "id"', 'eval/missing-id');
      ok = false;
    } else if (typeof record.id !== 'string' || record.id.trim() === '') {
      at(`"id" must be a non-empty string, got ${JSON.stringify(record.id)}`, 'eval/invalid-id');
      ok = false;
    }
    if (!('inputs' in record)) {
      at(`example ${typeof record.id === 'string' ? `"${record.id}" ` : ''}has no "inputs"`, 'eval/missing-inputs');
      ok = false;
    } else if (typeof record.inputs !== 'object' || record.inputs === null || Array.isArray(record.inputs)) {
      at('"inputs" must be an object of template variables', 'eval/invalid-inputs');
      ok = false;
    }
    if ('reference' in record && typeof record.reference !== 'string') {
      at('"reference" must be a string', 'eval/invalid-reference');
      ok = false;
    }
    if ('tags' in record && (!Array.isArray(record.tags) || record.tags.some((t) => typeof t !== 'string'))) {
      at('"tags" must be a list of strings', 'eval/invalid-tags');
      ok = false;
    }
    if ('cluster' in record && !(typeof record.cluster === 'string' && record.cluster !== '') && !Number.isFinite(record.cluster)) {
      at('"cluster" must be a non-empty string or a number (examples that share one, e.g. cut from one document)', 'eval/invalid-cluster');
      ok = false;
    }
    if ('source' in record && (typeof record.source !== 'object' || record.source === null || Array.isArray(record.source))) {
      at('"source" must be an object (where the example came from: {"kind": "production", "traceId": …} or {"kind": "synthetic", "from": […]})', 'eval/invalid-source');
      ok = false;
    }
    if (typeof record.id === 'string' && record.id.trim() !== '') {
      const previous = this.firstLineOfId.get(record.id);
      if (previous !== undefined) {
        this.findings.push({
          code: 'eval/duplicate-id',
          severity: 'error',
          range: lineRange,
          message: `id "${record.id}" repeats line ${previous + 1}; ids must be unique`,
        });
        ok = false;
      } else this.firstLineOfId.set(record.id, line);
    }
    if (!ok) return undefined;
    return {
      id: record.id as string,
      inputs: record.inputs as Record<string, unknown>,
      reference: record.reference as string | undefined,
      tags: record.tags as string[] | undefined,
      ...('cluster' in record ? { cluster: String(record.cluster) } : {}),
      ...('source' in record ? { source: record.source as Record<string, unknown> } : {}),
      line,
      offset,
      length: source.length,
    };
  }

  /** A line over `MAX_EVAL_LINE_CHARS`, refused without being read whole (a streaming reader counts its characters and skips it). */
  tooLong(line: number, length: number): void {
    this.findings.push({
      code: 'eval/line-too-large',
      severity: 'error',
      range: { start: { line, character: 0 }, end: { line, character: length } },
      message: `line ${line + 1} is ${length} characters; lines over ${MAX_EVAL_LINE_CHARS} are refused`,
    });
  }
}

/**
 * One line's JSON value as the strict JSONC parse gives it (no comments, no trailing comma), its
 * errors into `errors`. The engine's `JSON.parse` settles the common line in one native pass: what
 * it accepts is strict JSON, which the JSONC parse accepts without error and reads as the same
 * value, except for a `"__proto__"` key (an own property here, the object's prototype there), so a
 * value holding one, and any line it refuses, is parsed again by the JSONC parser.
 */
export function parseJsonLine(source: string, errors: ParseError[]): unknown {
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch {
    return parseJsonc(source, errors, { disallowComments: true, allowTrailingComma: false });
  }
  return hasProtoKey(value) ? parseJsonc(source, errors, { disallowComments: true, allowTrailingComma: false }) : value;
}

/** True when an object anywhere in a parsed JSON value has its own `__proto__` key (walked without recursion: JSON.parse takes any depth). */
function hasProtoKey(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next !== 'object' || next === null) continue;
    if (Array.isArray(next)) for (const item of next as unknown[]) pending.push(item);
    else if (Object.hasOwn(next, '__proto__')) return true;
    else for (const key in next) pending.push((next as Record<string, unknown>)[key]);
  }
  return false;
}

function jsonMessage(source: string, error: ParseError): string {
  try {
    JSON.parse(source);
  } catch (e) {
    // The engine's own wording ("Unexpected token '}'…") without its copy of the whole line.
    const message = (e as Error).message.replace(/, ".*" is not valid JSON$/s, '').replace(/ in JSON at position \d+.*$/s, '')
      .replace(/ at position \d+.*$/s, '');
    if (message) return message;
  }
  return printParseErrorCode(error.error);
}
