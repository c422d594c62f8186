/**
 * The one normalisation of prompt text, for text read from disk and from git alike: a leading
 * byte order mark is dropped and CRLF line endings become LF. So a checkout with
 * `core.autocrlf=true` sends the model the same bytes as an LF clone, and caches and baselines
 * agree. `check` reports either as information, so the file can be fixed at the source.
 */

/** Prompt file bytes, decoded, with what the normalisation changed. */
export interface DecodedPromptText {
  /** The normalised text. */
  text: string;
  /** The file started with a UTF-8 byte order mark (dropped). */
  bom: boolean;
  /** The file had CRLF line endings (made LF). */
  crlf: boolean;
  /** Byte offset of the first byte that is not UTF-8, when there is one (then such bytes read as U+FFFD). */
  invalidUtf8At?: number;
}

/** Normalises text already decoded (an editor's unsaved text, a string from elsewhere). */
export function normalisePromptText(text: string): string {
  return (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).replace(/\r\n/g, '\n');
}

/** Decodes prompt file bytes as UTF-8 and normalises them; notes a BOM, CRLF and the first invalid byte. */
export function decodePromptText(bytes: Uint8Array): DecodedPromptText {
  // The strict decoder's one native pass settles the common case; only text it rejects is scanned
  // (in JavaScript) for the offset of the first bad byte, then decoded with U+FFFD replacements.
  let raw: string;
  let invalid: number | undefined;
  try {
    raw = STRICT_UTF8.decode(bytes);
  } catch {
    raw = LENIENT_UTF8.decode(bytes);
    invalid = firstInvalidUtf8Byte(bytes);
  }
  const bom = raw.charCodeAt(0) === 0xfeff;
  const crlf = raw.includes('\r\n');
  // Most files have neither: their text is the decoded string itself, not scanned again for CRLF.
  const decoded: DecodedPromptText = { text: crlf ? normalisePromptText(raw) : bom ? raw.slice(1) : raw, bom, crlf };
  if (invalid !== undefined) decoded.invalidUtf8At = invalid;
  return decoded;
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const LENIENT_UTF8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** The offset of the first byte that doesn't belong to a well-formed UTF-8 sequence, or undefined. */
export function firstInvalidUtf8Byte(bytes: Uint8Array): number | undefined {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b < 0x80) {
      i += 1;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [need, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    if (i + need >= bytes.length) return i;
    let cp = b & (0xff >> (need + 2));
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return undefined;
}

/** Line and column (0-based, in characters of the decoded text) of a byte offset. */
export function positionOfByte(bytes: Uint8Array, offset: number): { line: number; character: number } {
  const before = new TextDecoder('utf-8').decode(bytes.subarray(0, offset));
  const lines = before.split('\n');
  return { line: lines.length - 1, character: lines[lines.length - 1].length };
}
