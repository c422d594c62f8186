import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { EvalExample, EvalJsonlParser } from '../core/evalSet';
import { MAX_EVAL_LINE_CHARS } from '../core/evalSet';
import { firstInvalidUtf8Byte } from '../core/promptText';
import { promptFileFailure, promptFileRefusal } from './promptFileRead';
import { PromptFilesError } from './promptFiles';

/** Bytes read from the file at a time. */
const CHUNK_BYTES = 64 * 1024;
/**
 * Bytes of one line gathered before it is certainly over `MAX_EVAL_LINE_CHARS` characters (UTF-8
 * spends at most three bytes per UTF-16 unit): past this the line is counted, not kept.
 */
const LINE_BYTES_KEPT = 3 * MAX_EVAL_LINE_CHARS;

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** What a file read says about the whole file once every line has been read. */
export interface EvalJsonlFileFacts {
  /** Lines read (the last one counted even without a final newline). */
  lines: number;
  /** Bytes read. */
  bytes: number;
  /** The file's size and modification time when it was opened: a second read can tell the file changed. */
  stamp: string;
}

/**
 * Reads `eval.jsonl` a piece at a time and hands each line to `parser` as it comes, yielding the
 * examples; only the line being read is held. It reads the file as `readPromptFile` and
 * `decodePromptText` would have (the same refusals of links, the same message for bytes that are not
 * UTF-8, a leading byte order mark dropped, CRLF line endings read as LF), so lines, offsets and
 * findings are the ones `parseEvalJsonl` gives for the whole text. A line over `MAX_EVAL_LINE_CHARS`
 * is counted, not kept, and refused as `parseEvalJsonl` refuses it. `facts` is filled in at the end.
 * @throws PromptFilesError for a missing or refused file, or bytes that are not UTF-8.
 */
export async function* readEvalJsonl(
  absolute: string,
  parser: EvalJsonlParser,
  options: { path?: string; root?: string; facts?: Partial<EvalJsonlFileFacts>; chunkBytes?: number } = {},
): AsyncGenerator<EvalExample> {
  const path = options.path ?? absolute;
  const refused = await promptFileRefusal(absolute, path, options.root);
  if (refused?.kind === 'missing') throw new PromptFilesError(`${path} is missing: a prompt version needs an eval.jsonl`);
  if (refused) throw new PromptFilesError(refused.message);
  let file: FileHandle;
  try {
    // O_NOFOLLOW: a link put in place after the check above is refused too.
    file = await open(absolute, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (error) {
    const read = promptFileFailure(path, error);
    throw new PromptFilesError(read.kind === 'refused' ? read.message : `${path} is missing: a prompt version needs an eval.jsonl`);
  }
  try {
    const stat = await file.stat();
    const buffer = Buffer.allocUnsafe(options.chunkBytes ?? CHUNK_BYTES);
    let pieces: Buffer[] = []; // the current line's bytes so far
    let kept = 0; // bytes in `pieces`
    let counted = -1; // UTF-16 units of an over-long line, once it is only counted (else -1)
    let lineStartByte = 0;
    let position = 0;
    let line = 0;
    let offset = 0; // of the line's first character in the normalised text

    const count = (bytes: Uint8Array): void => {
      for (const b of bytes) {
        if ((b & 0xc0) !== 0x80) counted += 1; // each sequence's first byte is one unit...
        if (b >= 0xf0) counted += 1; // ...and four-byte sequences are two
      }
    };
    const endLine = (): EvalExample | undefined => {
      let example: EvalExample | undefined;
      let chars: number;
      if (counted >= 0) {
        chars = counted;
        parser.tooLong(line, chars);
      } else {
        let bytes = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, kept);
        if (line === 0 && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
          bytes = bytes.subarray(3);
          lineStartByte += 3;
        }
        let text: string;
        try {
          text = STRICT_UTF8.decode(bytes);
        } catch {
          const at = lineStartByte + (firstInvalidUtf8Byte(bytes) ?? 0);
          throw new PromptFilesError(`${path} is not valid UTF-8 (first bad byte at offset ${at})`);
        }
        if (text.endsWith('\r')) text = text.slice(0, -1);
        chars = text.length;
        example = parser.line(text, line, offset);
      }
      offset += chars + 1;
      line += 1;
      pieces = [];
      kept = 0;
      counted = -1;
      return example;
    };
    const keep = (bytes: Buffer): void => {
      if (counted >= 0) {
        count(bytes);
        return;
      }
      if (kept + bytes.length > LINE_BYTES_KEPT) {
        // Certainly too long: count what was kept and what comes, keep nothing more.
        counted = 0;
        for (const piece of pieces) count(piece);
        count(bytes);
        pieces = [];
        kept = 0;
        return;
      }
      // A copy: the read buffer is reused for the next piece.
      pieces.push(Buffer.from(bytes));
      kept += bytes.length;
    };

    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      let from = 0;
      for (;;) {
        const newline = chunk.indexOf(0x0a, from);
        if (newline < 0) break;
        keep(chunk.subarray(from, newline));
        const example = endLine();
        lineStartByte = position + newline + 1;
        if (example) yield example;
        from = newline + 1;
      }
      if (from < bytesRead) keep(chunk.subarray(from));
      position += bytesRead;
    }
    // The last line, with no newline after it (an empty one is a blank line, as in the whole text).
    const example = endLine();
    if (example) yield example;
    if (options.facts) {
      options.facts.lines = line;
      options.facts.bytes = position;
      options.facts.stamp = `${stat.size}:${stat.mtimeMs}`;
    }
  } finally {
    await file.close();
  }
}
