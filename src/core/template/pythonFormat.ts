/**
 * CPython's `str.format` template language, read and rendered the way CPython 3.11 does it.
 *
 * The reading follows `Objects/stringlib/unicode_format.h` step by step (`MarkupIterator_next`,
 * `parse_field`, `field_name_split`, `FieldNameIterator_next`, `build_string` with its recursion
 * depth of 2), and the rendering follows `Python/formatter_unicode.c` (the format-spec
 * mini-language for `str`, `int`, `bool` and `float`) and `Python/pystrtod.c` (float to text).
 * Everything works on code points, as Python's `str` does; offsets handed back are UTF-16 offsets
 * into the JavaScript string, as editors count them.
 *
 * Values are plain JSON-like data, read as Python's `json.loads` would read their JSON text:
 * string -> `str`, integral number below 1e21 (or bigint) -> `int`, other number -> `float`,
 * boolean -> `bool`, null -> `None`, array -> `list`, plain object -> `dict`.
 *
 * Where JavaScript can't say what Python would see, we follow the JSON text and say so:
 * - a JavaScript object lists integer-like keys (`"2"`, `"10"`) first, so a dict printed whole
 *   (`{d}`, `{d!r}`) orders such keys as the object does, not as the JSON text did;
 * - `1.0` and `1` are the same JavaScript number, so both are the int `1`;
 * - the `n` presentation type uses the C locale, as CPython does unless the program calls `setlocale`;
 * - attributes that are methods (`{name.upper}`) are refused: CPython prints a memory address.
 */

const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const DOT = 0x2e;
const COLON = 0x3a;
const BANG = 0x21;

/** `PY_SSIZE_T_MAX` on a 64-bit build: the bound of CPython's `get_integer` helpers. */
const PY_SSIZE_T_MAX = 9223372036854775807n;
/** `INT_MAX`: the largest float precision CPython accepts. */
const INT_MAX = 2147483647;
/** Above this many code points we refuse to pad rather than let the JavaScript engine fail. */
const MAX_RENDERED_WIDTH = 1 << 27;
/**
 * The largest width or precision a format spec may ask for (`{document:>1000000}`, `{n:.1000000f}`).
 * CPython allows more, but a field padded to more characters than a model's whole context is a
 * mistake, and a few such fields go past what a JavaScript string can hold. `check` reports a
 * larger one written in the template; rendering refuses it, whatever the value.
 */
export const MAX_FORMAT_WIDTH = 1_000_000;

/**
 * CPython raised an exception while formatting. `message` is what
 * `f"{type(e).__name__}: {e}"` prints in Python, e.g. `KeyError: 'name'` or
 * `ValueError: Single '}' encountered in format string`.
 */
export class PythonFormatError extends Error {
  /** The Python exception class name, e.g. `ValueError`. */
  readonly pythonType: string;
  /** `str(e)` in Python, e.g. `'name'` for a KeyError. */
  readonly pythonMessage: string;
  /** UTF-16 offset in the template of the character or field the error is about. */
  readonly offset: number;

  constructor(pythonType: string, pythonMessage: string, offset: number) {
    super(`${pythonType}: ${pythonMessage}`);
    this.name = 'PythonFormatError';
    this.pythonType = pythonType;
    this.pythonMessage = pythonMessage;
    this.offset = offset;
  }
}

/**
 * A value can't be rendered the way CPython would render it, so we refuse rather than guess:
 * a method looked up as an attribute (CPython prints its memory address), or a value that has no
 * JSON counterpart (a function, a Map, a class instance). Also our limits: a format spec width or
 * precision over `MAX_FORMAT_WIDTH`, and a result longer than a JavaScript string can hold.
 */
export class UnsupportedTemplateValueError extends Error {
  /** UTF-16 offset in the template of the field whose value is refused. */
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(message);
    this.name = 'UnsupportedTemplateValueError';
    this.offset = offset;
  }
}

/** A Python exception in flight; `pos` is a code point index in the template, -1 if not yet known. */
class Fault {
  constructor(
    readonly type: string,
    readonly message: string,
    public pos: number,
  ) {}
}

/** A refusal in flight (see UnsupportedTemplateValueError). */
class Refusal {
  constructor(
    readonly message: string,
    public pos: number,
  ) {}
}

function valueError(message: string, pos = -1): Fault {
  return new Fault('ValueError', message, pos);
}

// ---------------------------------------------------------------------------------------------
// Unicode tables, taken from Python 3.11 (unicodedata 14.0.0) so that results don't depend on the
// Unicode version of the JavaScript engine. Each table is a run-length list in base 36:
// gap from the end of the previous range, then range length, alternating.
// Non-printable: `not chr(c).isprintable()` (categories C* and Z* except U+0020), used by repr().
// Decimal: `chr(c).isdecimal()` (category Nd, ranges of whole 0..9 runs), used by CPython's
// `Py_UNICODE_TODECIMAL` when it reads indexes and widths.

const NON_PRINTABLE_RANGES =
  '0 w 2n y c 1 ju 2 6 4 7 1 1 1 k 1 b1 1 12 2 1e 2 3 1 1j 8 r 4 6 h m 1 5c 1 1c 2 1n 2 2t e 1n 2 ' +
  '1d 2 f 1 s 2 1 1 b 5 v 9 22 1 4h 1 8 2 2 2 m 1 7 1 1 3 4 2 9 2 2 2 4 8 1 4 2 1 5 2 p 2 3 1 6 4 ' +
  '2 2 m 1 7 1 2 1 2 1 2 2 1 1 5 4 2 2 3 3 1 7 4 1 1 7 h a 3 1 9 1 3 1 m 1 7 1 2 1 5 2 a 1 3 1 3 2 ' +
  '1 f 4 2 c 7 7 1 3 1 8 2 2 2 m 1 7 1 2 1 5 2 9 2 2 2 3 7 3 4 2 1 5 2 i a 2 1 6 3 3 1 4 3 2 1 1 1 ' +
  '2 3 2 3 3 3 c 4 5 3 3 1 4 2 1 6 1 e l 5 d 1 3 1 n 1 g 2 9 1 3 1 4 7 2 1 3 2 1 2 4 2 a 7 m 1 3 1 ' +
  'n 1 a 1 5 2 9 1 3 1 4 7 2 6 2 1 4 2 a 1 2 d d 1 3 1 1f 1 3 1 6 4 g 2 q 1 3 1 i 3 o 1 9 1 1 2 7 ' +
  '3 1 4 6 1 1 1 8 6 a 2 3 c 1m 4 t 11 2 1 1 1 5 1 o 1 1 1 n 2 5 1 1 1 6 2 a 2 4 w 20 1 10 4 13 1 ' +
  '10 1 f 1 d 11 5i 1 1 5 1 2 ah 1 4 2 7 1 1 1 4 2 15 1 4 2 x 1 4 2 7 1 1 1 4 2 f 1 1l 1 4 2 1v 2 ' +
  'w 3 q 6 2e 2 6 2 hs 1 s 3 2h 7 m 9 o 9 k c d 1 3 1 2 c 2m 2 a 6 a 6 e 1 b 6 2h 7 17 5 1y a v 1 ' +
  'c 4 c 4 1 3 16 2 5 b 18 4 q 6 b 3 1q 2 1t 1 t 2 b 6 a 6 e 2 v 1d 25 3 1b 1 38 8 1o 3 f 3 1o 7 ' +
  '17 2 b 8 17 5 eu 2 6 2 12 2 6 2 8 1 1 1 1 1 1 1 v 2 1h 1 f 1 e 2 6 1 j 2 3 1 9 h o 8 1b h 2 2 r ' +
  '1 d 3 x f x f 3w 4 if p b l 1ec 2 w 1 9p 5 19 1 1 5 1 2 1k 7 2 e o 9 7 1 7 1 7 1 7 1 7 1 7 1 7 ' +
  '1 7 1 3i y q 1 2h c 5y q c 5 1r 1 2e 2 2v 5 17 1 2m 1 2c c 1b 1 mlp 3 1j 9 9o k 54 8 5n 5 2 1 1 ' +
  '1 5 o 1n 3 a 6 1k 8 1y 8 c 6 38 b u 3 26 1 b 4 x 1 1j 9 e 2 a 2 2v o s a 6 2 6 2 6 9 7 1 7 1 1o ' +
  '4 3i 2 a 6 8mc c n 4 1d 6is a6 2 2y 12 7 c 5 5 q 1 5 1 1 1 2 1 2 1 3h g cd 2 1i 7 1 w 16 6 1f 1 ' +
  'j 1 4 4 5 1 3r 4 5a 3 6 2 6 2 6 2 3 3 7 1 7 d 2 2 c 1 q 1 j 1 2 1 f 2 e y 3f 5 3 4 19 3 2g 1 d ' +
  '3 1 1b 1a 3m t 3 1d f s 4 10 9 u 5 17 5 u 1 11 4 e 16 4e 2 a 6 10 4 10 4 14 8 1g b c 1 f 1 7 1 ' +
  '2 1 b 1 f 1 7 1 2 1v 8n 9 m a 8 o 6 1 16 1 9 1x 6 2 1 1 18 1 2 3 1 2 n 1 20 8 9 1c j 1 2 5 x 3 ' +
  'r 5 1 1s 1k 4 k 2 1e 1 2 5 8 1 3 1 t 2 3 4 a 7 9 7 1s w 13 4 c 9 1i 3 t 2 r 5 q 7 4 c 7 28 21 ' +
  '1j 1f d 1f 7 1a 8 a 86 v 1 16 1 3 2 2 26 14 8 16 m q 12 s k n 9 26 4 10 9 1q 1 5 d p 7 a 6 1h 1 ' +
  'i 8 13 9 2o 1 k b i 1 18 1t 7 1 1 1 4 1 f 1 b 6 1n 5 a 6 4 1 8 2 2 2 m 1 7 1 2 1 5 1 a 2 2 2 3 ' +
  '2 1 6 1 5 7 2 7 3 5 3v 2k 1 5 u 20 8 a 4m 1i 2 12 y 1x b a 6 d j 1m 6 a 1i r 2 f 4 n 55 1o 2s ' +
  '2b c 8 2 1 2 8 1 2 1 u 1 2 2 c 9 a 1y 8 2 1a 2 b r 20 8 2b d 21 7b 9 1 19 1 e a t 3 w 2 m 1 e ' +
  '21 7 1 2 1 18 3 1 1 2 1 9 8 a 6 6 1 2 1 11 1 2 1 6 7 a 8m p 53 1 f 1e d pn 2u 33 1 5 b 5g 218 ' +
  '2r d tr 34h g7 6nt ft 7 v 1 a 4 29 1 a 6 u 2 6 a 1y a a 1 7 1 l 5 j j4 2j 2t 23 4 1l 7 h 1s 5 b ' +
  '2 e 4qg 8 ye 16 9 6w7 4 1 7 1 2 1 83 19 3 h 4 8 b0 1s4 2z 5 d 3 9 7 a 2 4 3mo 1a 2 n 9 38 1o 6u ' +
  'a 13 2 22 8 34 l 1y 4a k c 2f 9 p 3r 2d 1 1z 1 2 2 1 2 2 2 4 1 c 1 1 1 7 1 1t 1 4 2 8 1 7 1 s 1 ' +
  '4 1 5 1 1 3 7 1 9g 2 84 2 ji f 5 1 f uo v 69 7 1 h 2 7 1 2 1 5 5x 19 3 e 2 a 4 2 8w v h 1m 5 1 ' +
  'yo 7 1 4 1 2 1 f 1 5h 2 g 15 24 4 a 4 2 lt 1w 24 1p 5e 4 1 r 1 2 1 1 2 1 1 a 1 4 1 1 1 1 6 1 4 ' +
  '1 1 1 1 1 1 3 1 2 1 1 2 1 1 1 1 1 1 1 1 1 1 2 1 1 2 4 1 7 1 4 1 4 1 1 1 a 1 h 5 3 1 5 1 h 1g 2 ' +
  '7i 18 4 2s c f 2 f 1 f 1 11 a 4u 1k t d 18 4 9 7 2 e 6 4a rc 5 g 3 d 3 38 c 2h 7 c 4 1 f c 4 1k ' +
  '8 a 6 14 8 u 2 2 26 9g c e 2 5 3 5 3 7 9 t 3 b 5 6 a a 6 8 8 7 9 43 1 1j 11 a sm wyo w 37d 7 66 ' +
  '2 4g2 e 5rl 2e7 f2 15u 3t7 fcmt 6o 47bk';

const DECIMAL_RANGES =
  '1c a 17q a 3q a 5i a bg a 3a a 3a a 3a a 3a a 3a a 3a a 3a a 3a a 3a a 2o a 3a a 1y a 7q a 1y a ' +
  '1fq a 12 a 8c a 3k a 4m a 6 a 52 a 2e a 3q a 6 a r7q a iu a 12 a 5i a m a 2e a ba a geu a 13a a ' +
  '1om a mk a 3k a 1o a 40 a 7q a 9i a 3a a ae a 2u a 2u a bq a 2u a l2 a 6u a 1y a f5i a 2e a 3q ' +
  'a lf8 1e 1ts a bq a 192 a 3o6 a';

function decodeRanges(encoded: string): number[] {
  const bounds: number[] = [];
  let at = 0;
  const parts = encoded.trim().split(' ');
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const start = at + parseInt(parts[i], 36);
    const end = start + parseInt(parts[i + 1], 36);
    bounds.push(start, end);
    at = end;
  }
  return bounds;
}

let nonPrintable: number[] | undefined;
let decimals: number[] | undefined;

/** Index of the range holding `c` in a flat [start, end) list, or -1. */
function findRange(bounds: number[], c: number): number {
  let lo = 0;
  let hi = bounds.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (c < bounds[2 * mid]) hi = mid - 1;
    else if (c >= bounds[2 * mid + 1]) lo = mid + 1;
    else return mid;
  }
  return -1;
}

function isPrintable(c: number): boolean {
  if (c >= 0x20 && c < 0x7f) return true;
  nonPrintable ??= decodeRanges(NON_PRINTABLE_RANGES);
  return findRange(nonPrintable, c) < 0;
}

/** `Py_UNICODE_TODECIMAL`: the value of a decimal digit of any script, or -1. */
function decimalValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c < 0x80) return -1;
  decimals ??= decodeRanges(DECIMAL_RANGES);
  const r = findRange(decimals, c);
  return r < 0 ? -1 : (c - decimals[2 * r]) % 10;
}

// ---------------------------------------------------------------------------------------------
// Code points.

function toCodePoints(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; ) {
    const c = s.codePointAt(i)!;
    out.push(c);
    i += c > 0xffff ? 2 : 1;
  }
  return out;
}

function fromCodePoints(cps: readonly number[], start = 0, end = cps.length): string {
  let out = '';
  for (let i = start; i < end; i++) out += String.fromCodePoint(cps[i]);
  return out;
}

function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** The first `n` code points of `s`. */
function codePointPrefix(s: string, n: number): string {
  let i = 0;
  for (let k = 0; k < n && i < s.length; k++) {
    const c = s.codePointAt(i)!;
    i += c > 0xffff ? 2 : 1;
  }
  return s.slice(0, i);
}

/** A template as Python sees it (code points), with the way back to UTF-16 offsets. */
class Source {
  readonly cps: number[] = [];
  private readonly offsets: number[] = [];

  constructor(readonly text: string) {
    for (let i = 0; i < text.length; ) {
      const c = text.codePointAt(i)!;
      this.cps.push(c);
      this.offsets.push(i);
      i += c > 0xffff ? 2 : 1;
    }
    this.offsets.push(text.length);
  }

  get length(): number {
    return this.cps.length;
  }

  /** UTF-16 offset of code point `i` (the text length for `i` at or past the end). */
  offset(i: number): number {
    if (i < 0) return 0;
    return this.offsets[Math.min(i, this.cps.length)];
  }

  slice(start: number, end: number): string {
    return this.text.slice(this.offset(start), this.offset(end));
  }
}

// ---------------------------------------------------------------------------------------------
// Markup: MarkupIterator_next and parse_field.

/** One replacement field as parse_field reads it. Positions are code point indexes. */
interface RawField {
  /** The opening `{`. */
  open: number;
  nameStart: number;
  nameEnd: number;
  /** The conversion character, 0 if none (a NUL conversion character also counts as none, as in CPython). */
  conversion: number;
  conversionPos: number;
  /** The `:` that starts the spec, -1 if the field has none. */
  colon: number;
  specStart: number;
  specEnd: number;
  /** The spec contains a `{`, so CPython formats it as a template before using it. */
  needsExpanding: boolean;
  /** The closing `}`. */
  close: number;
}

interface MarkupItem {
  literalStart: number;
  literalEnd: number;
  field: RawField | null;
}

function parseField(s: readonly number[], open: number, start: number, end: number): { field: RawField; pos: number } {
  let pos = start;
  let c = 0;
  scan: while (pos < end) {
    c = s[pos++];
    switch (c) {
      case LBRACE:
        throw valueError("unexpected '{' in field name", pos - 1);
      case LBRACKET:
        while (pos < end && s[pos] !== RBRACKET) pos++;
        continue;
      case RBRACE:
      case COLON:
      case BANG:
        break scan;
      default:
        continue;
    }
  }
  const field: RawField = {
    open,
    nameStart: start,
    nameEnd: pos - 1,
    conversion: 0,
    conversionPos: -1,
    colon: -1,
    specStart: -1,
    specEnd: -1,
    needsExpanding: false,
    close: -1,
  };
  if (c === BANG || c === COLON) {
    if (c === BANG) {
      if (pos >= end) throw valueError('end of string while looking for conversion specifier', pos - 1);
      field.conversionPos = pos;
      field.conversion = s[pos++];
      if (pos < end) {
        const next = s[pos++];
        if (next === RBRACE) {
          field.close = pos - 1;
          return { field, pos };
        }
        if (next !== COLON) throw valueError("expected ':' after conversion specifier", pos - 1);
        field.colon = pos - 1;
      }
    } else {
      field.colon = pos - 1;
    }
    field.specStart = pos;
    let count = 1;
    while (pos < end) {
      c = s[pos++];
      if (c === LBRACE) {
        field.needsExpanding = true;
        count++;
      } else if (c === RBRACE) {
        count--;
        if (count === 0) {
          field.specEnd = pos - 1;
          field.close = pos - 1;
          return { field, pos };
        }
      }
    }
    throw valueError("unmatched '{' in format spec", open);
  }
  if (c !== RBRACE) throw valueError("expected '}' before end of string", open);
  field.close = pos - 1;
  return { field, pos };
}

/** Literal text and fields of `s[start, end)`, lazily, throwing where CPython throws. */
function* iterateMarkup(s: readonly number[], start: number, end: number): Generator<MarkupItem> {
  let pos = start;
  while (pos < end) {
    const literalStart = pos;
    let c = 0;
    let markupFollows = false;
    while (pos < end) {
      c = s[pos++];
      if (c === LBRACE || c === RBRACE) {
        markupFollows = true;
        break;
      }
    }
    const atEnd = pos >= end;
    let len = pos - literalStart;
    if (c === RBRACE && (atEnd || s[pos] !== RBRACE)) {
      throw valueError("Single '}' encountered in format string", pos - 1);
    }
    if (atEnd && c === LBRACE) throw valueError("Single '{' encountered in format string", pos - 1);
    if (!atEnd) {
      if (c === s[pos]) {
        // An escaped brace: the literal keeps one of the two.
        pos++;
        markupFollows = false;
      } else {
        len--;
      }
    }
    if (!markupFollows) {
      yield { literalStart, literalEnd: literalStart + len, field: null };
      continue;
    }
    const parsed = parseField(s, pos - 1, pos, end);
    pos = parsed.pos;
    yield { literalStart, literalEnd: literalStart + len, field: parsed.field };
  }
}

// ---------------------------------------------------------------------------------------------
// Field names: field_name_split and FieldNameIterator_next.

/** CPython's `get_integer` on a field name part: its value if all decimal digits, else -1. */
function fieldInteger(s: readonly number[], start: number, end: number): bigint {
  if (start >= end) return -1n;
  let acc = 0n;
  for (let i = start; i < end; i++) {
    const d = decimalValue(s[i]);
    if (d < 0) return -1n;
    const digit = BigInt(d);
    if (acc > (PY_SSIZE_T_MAX - digit) / 10n) throw valueError('Too many decimal digits in format string', start);
    acc = acc * 10n + digit;
  }
  return acc;
}

/** End of the first part of a field name: the first `.` or `[`, else the end. */
function firstPartEnd(s: readonly number[], start: number, end: number): number {
  let i = start;
  while (i < end && s[i] !== DOT && s[i] !== LBRACKET) i++;
  return i;
}

interface AccessPart {
  isAttribute: boolean;
  /** The `.` or `[`. */
  marker: number;
  keyStart: number;
  keyEnd: number;
  /** For `[digits]`, the index; otherwise -1. */
  index: bigint;
  /** One past the part (after `]` for an index). */
  end: number;
}

function* iterateAccess(s: readonly number[], start: number, end: number): Generator<AccessPart> {
  let pos = start;
  while (pos < end) {
    const marker = pos;
    const c = s[pos++];
    let keyStart: number;
    let keyEnd: number;
    let index = -1n;
    let isAttribute: boolean;
    if (c === DOT) {
      isAttribute = true;
      keyStart = pos;
      while (pos < end && s[pos] !== DOT && s[pos] !== LBRACKET) pos++;
      keyEnd = pos;
    } else if (c === LBRACKET) {
      isAttribute = false;
      keyStart = pos;
      let closed = false;
      while (pos < end) {
        if (s[pos++] === RBRACKET) {
          closed = true;
          break;
        }
      }
      if (!closed) throw valueError("Missing ']' in format string", marker);
      keyEnd = pos - 1;
      index = fieldInteger(s, keyStart, keyEnd);
    } else {
      throw valueError("Only '.' or '[' may follow ']' in format field specifier", marker);
    }
    if (keyStart === keyEnd) throw valueError('Empty attribute in format string', marker);
    yield { isAttribute, marker, keyStart, keyEnd, index, end: pos };
  }
}

// ---------------------------------------------------------------------------------------------
// string.Formatter().parse

/** One tuple of `string.Formatter().parse(template)`: `(literal_text, field_name, format_spec, conversion)`. */
export interface FormatterParseItem {
  literal: string;
  fieldName: string | null;
  formatSpec: string | null;
  conversion: string | null;
}

/** A Python exception as plain data: class name, `str(e)`, and the UTF-16 offset it is about. */
export interface PythonErrorInfo {
  type: string;
  message: string;
  offset: number;
}

/**
 * What `list(string.Formatter().parse(text))` returns, tuple for tuple, or, where it raises, the
 * tuples before the error and the error. Like CPython, this only reads the markup: field names
 * and nested specs are not checked here (see analyzePythonTemplate).
 */
export function formatterParse(text: string): { items: FormatterParseItem[]; error?: PythonErrorInfo } {
  const src = new Source(text);
  const items: FormatterParseItem[] = [];
  try {
    for (const item of iterateMarkup(src.cps, 0, src.length)) {
      const literal = src.slice(item.literalStart, item.literalEnd);
      const f = item.field;
      if (!f) {
        items.push({ literal, fieldName: null, formatSpec: null, conversion: null });
        continue;
      }
      items.push({
        literal,
        fieldName: src.slice(f.nameStart, f.nameEnd),
        formatSpec: f.specStart >= 0 ? src.slice(f.specStart, f.specEnd) : '',
        conversion: f.conversion === 0 ? null : String.fromCodePoint(f.conversion),
      });
    }
  } catch (e) {
    if (!(e instanceof Fault)) throw e;
    return { items, error: { type: e.type, message: e.message, offset: src.offset(e.pos) } };
  }
  return { items };
}

// ---------------------------------------------------------------------------------------------
// Static reading: fields, variables, and the errors that don't depend on the values.

/** One `.attr` or `[key]` step of a field name. */
export interface PythonFieldAccess {
  kind: 'attribute' | 'index';
  /** The attribute name or the text between the brackets. */
  key: string;
  /** For `[digits]`, the integer CPython uses as a sequence index. */
  index?: number;
  /** UTF-16 offsets of the whole step, `.` or `[` included. */
  start: number;
  end: number;
}

/** A replacement field, as CPython reads it. Offsets are UTF-16 offsets into the template. */
export interface PythonTemplateField {
  /** Offset of the opening `{`. */
  start: number;
  /** Offset just past the closing `}`. */
  end: number;
  /** The full field name, e.g. `user.name[0]`. */
  name: string;
  nameStart: number;
  nameEnd: number;
  /** The part of the name before the first `.` or `[`: the keyword the caller must pass. */
  first: string;
  /** The field is positional (`{}`, `{0}`, `{0.x}`): `first` is empty or all decimal digits. */
  positional: boolean;
  /** The attribute/index chain, as far as it could be read. */
  access: PythonFieldAccess[];
  /** The conversion character after `!`, if any. */
  conversion?: string;
  /** The format spec after `:` as written (nested fields unexpanded), if the field has a `:`. */
  formatSpec?: string;
  specStart?: number;
  specEnd?: number;
  /** 0 for a field of the template, 1 for a field inside another field's format spec. */
  depth: number;
}

/** A problem CPython would raise whatever string values were passed, or a limit of ours. */
export interface PythonTemplateError {
  /** Set for a limit of ours rather than an error of CPython's: `'limit'` for a width or precision over `MAX_FORMAT_WIDTH`. */
  kind?: 'limit';
  /** CPython's `str(e)` (or, for positional fields, our explanation). */
  message: string;
  /** The Python exception class CPython raises (`ValueError`, or `IndexError` for a positional field). */
  pythonType: string;
  /** UTF-16 offset of the offending character (for an unterminated field: its `{`). */
  offset: number;
}

/** The result of analyzePythonTemplate. */
export interface PythonTemplateAnalysis {
  /** Unique first names of all non-positional fields, nested ones included, in order of appearance. */
  variables: string[];
  /** Every field read, in the order CPython reaches them (an outer field before its nested ones). */
  fields: PythonTemplateField[];
  /** In the order CPython would meet them: the first is what `str.format` raises. */
  errors: PythonTemplateError[];
}

/** The message for a positional field: CPython would raise IndexError, since prompts get keywords only. */
export function positionalFieldMessage(fieldName: string): string {
  return `positional field {${fieldName}}: prompts are rendered with keyword arguments; name the field`;
}

/**
 * Reads a template as `str.format` does, without values: every field (nested specs included, to
 * the depth CPython allows), the variables a caller must supply, and the errors CPython raises
 * whatever values are passed: malformed markup, malformed field names, unknown conversions, specs
 * nested too deeply, and positional fields. Errors that depend on a value (an unknown format code
 * for a `str`, a missing key) are left to renderPythonTemplate.
 *
 * The first error is the one `str.format` raises (given every variable as a string); after an error
 * inside one field, reading goes on with the next field so that all of them can be reported, while
 * an error in the markup itself ends the reading of that level.
 */
export function analyzePythonTemplate(text: string): PythonTemplateAnalysis {
  const src = new Source(text);
  const s = src.cps;
  const fields: PythonTemplateField[] = [];
  const errors: PythonTemplateError[] = [];
  const variables: string[] = [];
  const seen = new Set<string>();

  const report = (fault: Fault): void => {
    errors.push({ message: fault.message, pythonType: fault.type, offset: src.offset(fault.pos) });
  };

  const readField = (f: RawField, depth: number): void => {
    const firstEnd = firstPartEnd(s, f.nameStart, f.nameEnd);
    const field: PythonTemplateField = {
      start: src.offset(f.open),
      end: src.offset(f.close + 1),
      name: src.slice(f.nameStart, f.nameEnd),
      nameStart: src.offset(f.nameStart),
      nameEnd: src.offset(f.nameEnd),
      first: src.slice(f.nameStart, firstEnd),
      positional: false,
      access: [],
      depth: 2 - depth,
    };
    if (f.conversion !== 0) field.conversion = String.fromCodePoint(f.conversion);
    if (f.colon >= 0) {
      field.formatSpec = src.slice(f.specStart, f.specEnd);
      field.specStart = src.offset(f.specStart);
      field.specEnd = src.offset(f.specEnd);
    }
    fields.push(field);

    let nameFault: Fault | undefined;
    try {
      const index = fieldInteger(s, f.nameStart, firstEnd);
      if (index >= 0n || firstEnd === f.nameStart) {
        field.positional = true;
        nameFault = new Fault('IndexError', positionalFieldMessage(field.name), f.open);
      } else if (!seen.has(field.first)) {
        seen.add(field.first);
        variables.push(field.first);
      }
    } catch (e) {
      if (!(e instanceof Fault)) throw e;
      field.positional = true;
      nameFault = e;
    }
    try {
      for (const part of iterateAccess(s, firstEnd, f.nameEnd)) {
        const access: PythonFieldAccess = {
          kind: part.isAttribute ? 'attribute' : 'index',
          key: src.slice(part.keyStart, part.keyEnd),
          start: src.offset(part.marker),
          end: src.offset(part.end),
        };
        if (part.index >= 0n) access.index = Number(part.index);
        field.access.push(access);
      }
    } catch (e) {
      if (!(e instanceof Fault)) throw e;
      nameFault ??= e;
    }
    if (nameFault) report(nameFault);

    if (f.conversion !== 0 && !isKnownConversion(f.conversion)) report(conversionFault(f.conversion, f.conversionPos));

    if (f.colon >= 0 && !f.needsExpanding) {
      try {
        // Only the width and precision are read here; what the spec means depends on the value's type.
        parseFormatSpec(s.slice(f.specStart, f.specEnd), 'str', 0x73 /* s */, 0x3c /* < */);
      } catch (e) {
        if (e instanceof Refusal) errors.push({ kind: 'limit', message: e.message, pythonType: 'ValueError', offset: src.offset(f.specStart) });
        else if (!(e instanceof Fault)) throw e;
      }
    }

    if (f.needsExpanding) {
      if (depth - 1 <= 0) report(valueError('Max string recursion exceeded', firstBrace(s, f.specStart, f.specEnd)));
      else readLevel(f.specStart, f.specEnd, depth - 1);
    }
  };

  const readLevel = (start: number, end: number, depth: number): void => {
    try {
      for (const item of iterateMarkup(s, start, end)) {
        if (item.field) readField(item.field, depth);
      }
    } catch (e) {
      if (!(e instanceof Fault)) throw e;
      report(e);
    }
  };

  readLevel(0, s.length, 2);
  return { variables, fields, errors };
}

function firstBrace(s: readonly number[], start: number, end: number): number {
  for (let i = start; i < end; i++) if (s[i] === LBRACE) return i;
  return start;
}

function isKnownConversion(c: number): boolean {
  return c === 0x72 /* r */ || c === 0x73 /* s */ || c === 0x61 /* a */;
}

/** do_conversion's message for an unknown conversion character. */
function conversionFault(c: number, pos: number): Fault {
  const shown = c > 32 && c < 127 ? String.fromCharCode(c) : `\\x${c.toString(16)}`;
  return valueError(`Unknown conversion specifier ${shown}`, pos);
}

// ---------------------------------------------------------------------------------------------
// Values: JSON-like JavaScript data seen as the Python objects `json.loads` would make.

type PyType = 'str' | 'int' | 'float' | 'bool' | 'NoneType' | 'list' | 'dict';

/** Numbers JSON.stringify prints without exponent or fraction are Python ints. */
function isPythonInt(v: number): boolean {
  return Number.isInteger(v) && Math.abs(v) < 1e21;
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function pyType(v: unknown): PyType {
  switch (typeof v) {
    case 'string':
      return 'str';
    case 'number':
      return isPythonInt(v) ? 'int' : 'float';
    case 'bigint':
      return 'int';
    case 'boolean':
      return 'bool';
    case 'undefined':
      return 'NoneType';
    case 'object':
      if (v === null) return 'NoneType';
      if (Array.isArray(v)) return 'list';
      if (isPlainObject(v)) return 'dict';
      break;
    default:
      break;
  }
  throw new Refusal(`a ${describeJs(v)} has no Python counterpart here; pass strings, numbers, booleans, null, arrays or plain objects`, -1);
}

function describeJs(v: unknown): string {
  if (typeof v === 'object' && v !== null) return `${v.constructor?.name ?? 'object'} object`;
  return `JavaScript ${typeof v}`;
}

/**
 * The Python int a value stands for. A large JavaScript number is read from the digits
 * JSON.stringify writes for it (1e20 + 1e13 is written `100000010000000010000`, while the double
 * holds ...008192), as Python would read that JSON.
 */
function toBigInt(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  return BigInt(String(v));
}

/** The entries a dict has: own enumerable keys whose value JSON.stringify would keep. */
function dictEntries(v: Record<string, unknown>): [string, unknown][] {
  return Object.keys(v)
    .filter((k) => v[k] !== undefined && typeof v[k] !== 'function' && typeof v[k] !== 'symbol')
    .map((k) => [k, v[k]]);
}

/** A list item as JSON.stringify would write it (holes and functions become null). */
function listItem(v: unknown): unknown {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol' ? null : v;
}

/** `repr(s)` for a `str`, CPython's quoting and escapes; with `asciiOnly`, what `ascii(s)` gives. */
export function pythonStrRepr(s: string, asciiOnly = false): string {
  let single = false;
  let double = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x27) single = true;
    else if (c === 0x22) double = true;
  }
  const quote = single && !double ? 0x22 : 0x27;
  let out = String.fromCharCode(quote);
  for (let i = 0; i < s.length; ) {
    const c = s.codePointAt(i)!;
    i += c > 0xffff ? 2 : 1;
    if (c === quote || c === 0x5c) out += '\\' + String.fromCharCode(c);
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + hex(c, 2);
    else if (c < 0x7f) out += String.fromCharCode(c);
    else if (!asciiOnly && isPrintable(c)) out += String.fromCodePoint(c);
    else out += escapeCodePoint(c);
  }
  return out + String.fromCharCode(quote);
}

function hex(c: number, width: number): string {
  return c.toString(16).padStart(width, '0');
}

function escapeCodePoint(c: number): string {
  if (c <= 0xff) return '\\x' + hex(c, 2);
  if (c <= 0xffff) return '\\u' + hex(c, 4);
  return '\\U' + hex(c, 8);
}

/** `ascii()` after `repr()`: every non-ASCII code point backslash-escaped. */
function asciiEscape(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; ) {
    const c = s.codePointAt(i)!;
    i += c > 0xffff ? 2 : 1;
    out += c < 0x80 ? String.fromCharCode(c) : escapeCodePoint(c);
  }
  return out;
}

/** `repr(v)` of a JSON-like value. */
function pyRepr(v: unknown, active: Set<object> = new Set()): string {
  switch (pyType(v)) {
    case 'str':
      return pythonStrRepr(v as string);
    case 'int':
      return toBigInt(v).toString();
    case 'float':
      return floatRepr(v as number);
    case 'bool':
      return v ? 'True' : 'False';
    case 'NoneType':
      return 'None';
    case 'list': {
      const list = v as unknown[];
      // CPython prints a container that contains itself as [...] / {...}.
      if (active.has(list)) return '[...]';
      active.add(list);
      const items: string[] = [];
      for (let i = 0; i < list.length; i++) items.push(pyRepr(listItem(list[i]), active));
      active.delete(list);
      return `[${items.join(', ')}]`;
    }
    case 'dict': {
      const dict = v as Record<string, unknown>;
      if (active.has(dict)) return '{...}';
      active.add(dict);
      const items = dictEntries(dict).map(([k, x]) => `${pythonStrRepr(k)}: ${pyRepr(x, active)}`);
      active.delete(dict);
      return `{${items.join(', ')}}`;
    }
  }
}

/** `str(v)`: the string itself for a `str`, `repr(v)` for everything else here. */
function pyStr(v: unknown): string {
  return typeof v === 'string' ? v : pyRepr(v);
}

/**
 * Names `dir()` lists for each type in Python 3.11. Looking one of these up gives a method or a
 * descriptor whose rendering CPython bases on memory addresses or docstrings: we refuse those.
 */
const OBJECT_ATTRIBUTES =
  '__class__ __delattr__ __dir__ __doc__ __eq__ __format__ __ge__ __getattribute__ __getstate__ __gt__ ' +
  '__hash__ __init__ __init_subclass__ __le__ __lt__ __ne__ __new__ __reduce__ __reduce_ex__ __repr__ ' +
  '__setattr__ __sizeof__ __str__ __subclasshook__';
const INT_ATTRIBUTES =
  '__abs__ __add__ __and__ __bool__ __ceil__ __divmod__ __float__ __floor__ __floordiv__ __getnewargs__ ' +
  '__index__ __int__ __invert__ __lshift__ __mod__ __mul__ __neg__ __or__ __pos__ __pow__ __radd__ __rand__ ' +
  '__rdivmod__ __rfloordiv__ __rlshift__ __rmod__ __rmul__ __ror__ __round__ __rpow__ __rrshift__ __rshift__ ' +
  '__rsub__ __rtruediv__ __rxor__ __sub__ __truediv__ __trunc__ __xor__ as_integer_ratio bit_count bit_length ' +
  'conjugate denominator from_bytes imag numerator real to_bytes';
const TYPE_ATTRIBUTES: Record<PyType, string> = {
  str:
    '__add__ __contains__ __getitem__ __getnewargs__ __iter__ __len__ __mod__ __mul__ __rmod__ __rmul__ ' +
    'capitalize casefold center count encode endswith expandtabs find format format_map index isalnum isalpha ' +
    'isascii isdecimal isdigit isidentifier islower isnumeric isprintable isspace istitle isupper join ljust ' +
    'lower lstrip maketrans partition removeprefix removesuffix replace rfind rindex rjust rpartition rsplit ' +
    'rstrip split splitlines startswith strip swapcase title translate upper zfill',
  int: INT_ATTRIBUTES,
  bool: INT_ATTRIBUTES,
  float:
    '__abs__ __add__ __bool__ __ceil__ __divmod__ __float__ __floor__ __floordiv__ __getformat__ __getnewargs__ ' +
    '__int__ __mod__ __mul__ __neg__ __pos__ __pow__ __radd__ __rdivmod__ __rfloordiv__ __rmod__ __rmul__ ' +
    '__round__ __rpow__ __rsub__ __rtruediv__ __sub__ __truediv__ __trunc__ as_integer_ratio conjugate fromhex ' +
    'hex imag is_integer real',
  NoneType: '__bool__',
  list:
    '__add__ __class_getitem__ __contains__ __delitem__ __getitem__ __iadd__ __imul__ __iter__ __len__ __mul__ ' +
    '__reversed__ __rmul__ __setitem__ append clear copy count extend index insert pop remove reverse sort',
  dict:
    '__class_getitem__ __contains__ __delitem__ __getitem__ __ior__ __iter__ __len__ __or__ __reversed__ __ror__ ' +
    '__setitem__ clear copy fromkeys get items keys pop popitem setdefault update values',
};
let attributeSets: Map<PyType, Set<string>> | undefined;

function hasPythonAttribute(type: PyType, name: string): boolean {
  if (!attributeSets) {
    attributeSets = new Map();
    for (const [t, names] of Object.entries(TYPE_ATTRIBUTES)) {
      attributeSets.set(t as PyType, new Set(`${OBJECT_ATTRIBUTES} ${names}`.split(' ')));
    }
  }
  return attributeSets.get(type)!.has(name);
}

/** `getattr(obj, name)`: data values have no attributes of their own. */
function getAttribute(obj: unknown, name: string): never {
  const type = pyType(obj);
  if (hasPythonAttribute(type, name)) {
    throw new Refusal(
      `'.${name}' looks up a built-in attribute of a ${type} value, which CPython renders with a memory address or internal text; look up data instead`,
      -1,
    );
  }
  throw new Fault('AttributeError', `'${type}' object has no attribute '${name}'`, -1);
}

/** `obj[key]` for a non-digit key (getitem_str). */
function getItemByKey(obj: unknown, key: string): unknown {
  const type = pyType(obj);
  switch (type) {
    case 'dict': {
      const dict = obj as Record<string, unknown>;
      if (Object.prototype.hasOwnProperty.call(dict, key) && dict[key] !== undefined && typeof dict[key] !== 'function') {
        return dict[key];
      }
      throw new Fault('KeyError', pythonStrRepr(key), -1);
    }
    case 'str':
      throw new Fault('TypeError', "string indices must be integers, not 'str'", -1);
    case 'list':
      throw new Fault('TypeError', 'list indices must be integers or slices, not str', -1);
    default:
      throw new Fault('TypeError', `'${type}' object is not subscriptable`, -1);
  }
}

/** `obj[index]` for a `[digits]` key (getitem_sequence, or getitem_idx for a non-sequence). */
function getItemByIndex(obj: unknown, index: bigint): unknown {
  const type = pyType(obj);
  switch (type) {
    case 'str': {
      const s = obj as string;
      if (index < BigInt(s.length)) {
        const cps = toCodePoints(s);
        if (index < BigInt(cps.length)) return String.fromCodePoint(cps[Number(index)]);
      }
      throw new Fault('IndexError', 'string index out of range', -1);
    }
    case 'list': {
      const list = obj as unknown[];
      if (index < BigInt(list.length)) return listItem(list[Number(index)]);
      throw new Fault('IndexError', 'list index out of range', -1);
    }
    case 'dict':
      // JSON object keys are strings, so an int key is never there.
      throw new Fault('KeyError', index.toString(), -1);
    default:
      throw new Fault('TypeError', `'${type}' object is not subscriptable`, -1);
  }
}

// ---------------------------------------------------------------------------------------------
// The format-spec mini-language (Python/formatter_unicode.c).

const NO_GROUPING = 0;
const COMMA_GROUPING = 1;
const UNDERSCORE_GROUPING = 2;
const UNDERSCORE_FOUR_GROUPING = 3;

interface FormatSpec {
  fill: number;
  align: number;
  alternate: boolean;
  noNegativeZero: boolean;
  /** `+`, `-`, ` `, or 0 for none. */
  sign: number;
  /** -1 when not given. */
  width: number;
  grouping: number;
  /** -1 when not given. */
  precision: number;
  /** The presentation type code point; 0 is a real (NUL) type, distinct from the default. */
  type: number;
}

function isAlignment(c: number): boolean {
  return c === 0x3c /* < */ || c === 0x3e /* > */ || c === 0x3d /* = */ || c === 0x5e /* ^ */;
}

function isSign(c: number): boolean {
  return c === 0x20 || c === 0x2b /* + */ || c === 0x2d /* - */;
}

/** formatter_unicode.c's get_integer: digits consumed and their value, or a fault on overflow. */
function specInteger(spec: readonly number[], pos: number): { consumed: number; value: number; pos: number } {
  let acc = 0n;
  let i = pos;
  for (; i < spec.length; i++) {
    const d = decimalValue(spec[i]);
    if (d < 0) break;
    const digit = BigInt(d);
    if (acc > (PY_SSIZE_T_MAX - digit) / 10n) throw valueError('Too many decimal digits in format string');
    acc = acc * 10n + digit;
  }
  return { consumed: i - pos, value: Number(acc), pos: i };
}

/** How CPython names a code point in its messages: itself if printable ASCII, else `\x..`. */
function shownCode(c: number): string {
  return c > 32 && c < 128 ? String.fromCharCode(c) : `\\x${c.toString(16)}`;
}

function groupingChar(grouping: number): string {
  return grouping === COMMA_GROUPING ? ',' : '_';
}

/** A width or precision, refused above MAX_FORMAT_WIDTH (a limit of ours, not CPython's). */
function overLimit(value: number, what: 'width' | 'precision'): number {
  if (value > MAX_FORMAT_WIDTH) {
    throw new Refusal(`format spec ${what} ${value} is over the limit of ${MAX_FORMAT_WIDTH.toLocaleString('en-US')}`, -1);
  }
  return value;
}

/** parse_internal_render_format_spec. */
function parseFormatSpec(spec: readonly number[], typeName: string, defaultType: number, defaultAlign: number): FormatSpec {
  const end = spec.length;
  let pos = 0;
  const format: FormatSpec = {
    fill: 0x20,
    align: defaultAlign,
    alternate: false,
    noNegativeZero: false,
    sign: 0,
    width: -1,
    grouping: NO_GROUPING,
    precision: -1,
    type: defaultType,
  };
  let alignSpecified = false;
  let fillSpecified = false;

  if (end - pos >= 2 && isAlignment(spec[pos + 1])) {
    format.align = spec[pos + 1];
    format.fill = spec[pos];
    fillSpecified = true;
    alignSpecified = true;
    pos += 2;
  } else if (end - pos >= 1 && isAlignment(spec[pos])) {
    format.align = spec[pos];
    alignSpecified = true;
    pos++;
  }
  if (end - pos >= 1 && isSign(spec[pos])) format.sign = spec[pos++];
  if (end - pos >= 1 && spec[pos] === 0x7a /* z */) {
    format.noNegativeZero = true;
    pos++;
  }
  if (end - pos >= 1 && spec[pos] === 0x23 /* # */) {
    format.alternate = true;
    pos++;
  }
  if (!fillSpecified && end - pos >= 1 && spec[pos] === 0x30 /* 0 */) {
    format.fill = 0x30;
    if (!alignSpecified && defaultAlign === 0x3e) format.align = 0x3d;
    pos++;
  }
  const width = specInteger(spec, pos);
  pos = width.pos;
  if (width.consumed > 0) format.width = overLimit(width.value, 'width');

  if (end - pos >= 1 && spec[pos] === 0x2c /* , */) {
    format.grouping = COMMA_GROUPING;
    pos++;
  }
  if (end - pos >= 1 && spec[pos] === 0x5f /* _ */) {
    if (format.grouping !== NO_GROUPING) throw valueError("Cannot specify both ',' and '_'.");
    format.grouping = UNDERSCORE_GROUPING;
    pos++;
  }
  if (end - pos >= 1 && spec[pos] === 0x2c && format.grouping === UNDERSCORE_GROUPING) {
    throw valueError("Cannot specify both ',' and '_'.");
  }
  if (end - pos >= 1 && spec[pos] === DOT) {
    pos++;
    const precision = specInteger(spec, pos);
    pos = precision.pos;
    if (precision.consumed === 0) throw valueError('Format specifier missing precision');
    format.precision = overLimit(precision.value, 'precision');
  }
  if (end - pos > 1) {
    throw valueError(`Invalid format specifier '${fromCodePoints(spec)}' for object of type '${typeName}'`);
  }
  if (end - pos === 1) format.type = spec[pos++];

  if (format.grouping !== NO_GROUPING) {
    const type = String.fromCodePoint(format.type);
    if (type.length === 1 && 'defgEFG%\0boxX'.includes(type)) {
      // Underscores group bin/oct/hex digits by four; commas are for decimal presentations only.
      if ('boxX'.includes(type)) {
        if (format.grouping !== UNDERSCORE_GROUPING) throw invalidGrouping(format);
        format.grouping = UNDERSCORE_FOUR_GROUPING;
      }
    } else {
      throw invalidGrouping(format);
    }
  }
  return format;
}

function invalidGrouping(format: FormatSpec): Fault {
  return valueError(`Cannot specify '${groupingChar(format.grouping)}' with '${shownCode(format.type)}'.`);
}

function unknownPresentationType(type: number, typeName: string): Fault {
  return valueError(`Unknown format code '${shownCode(type)}' for object of type '${typeName}'`);
}

function repeatCodePoint(c: number, n: number): string {
  if (n <= 0) return '';
  if (n > MAX_RENDERED_WIDTH) throw new Fault('MemoryError', '', -1);
  return String.fromCodePoint(c).repeat(n);
}

/** format_string_internal, after the type has been checked. */
function formatStr(value: string, spec: readonly number[]): string {
  if (spec.length === 0) return value;
  const format = parseFormatSpec(spec, 'str', 0x73 /* s */, 0x3c /* < */);
  if (format.type !== 0x73) throw unknownPresentationType(format.type, 'str');
  if (format.sign !== 0) {
    throw valueError(format.sign === 0x20 ? 'Space not allowed in string format specifier' : 'Sign not allowed in string format specifier');
  }
  if (format.noNegativeZero) throw valueError('Negative zero coercion (z) not allowed in string format specifier');
  if (format.alternate) throw valueError('Alternate form (#) not allowed in string format specifier');
  if (format.align === 0x3d) throw valueError("'=' alignment not allowed in string format specifier");

  let len = codePointLength(value);
  if ((format.width === -1 || format.width <= len) && (format.precision === -1 || format.precision >= len)) return value;
  let text = value;
  if (format.precision >= 0 && len >= format.precision) {
    len = format.precision;
    text = codePointPrefix(value, len);
  }
  const total = format.width >= 0 && format.width > len ? format.width : len;
  let left = 0;
  if (format.align === 0x3e) left = total - len;
  else if (format.align === 0x5e) left = Math.floor((total - len) / 2);
  const right = total - len - left;
  return repeatCodePoint(format.fill, left) + text + repeatCodePoint(format.fill, right);
}

/** The pieces of a formatted number before padding (calc_number_widths' inputs). */
interface NumberParts {
  /** '-' when the number is negative, else ''. */
  signChar: string;
  /** `0x` and friends. */
  prefix: string;
  /** The digits that get grouped (integer part). */
  digits: string;
  hasDecimal: boolean;
  /** Everything after the decimal point (or after the digits when there is none). */
  remainder: string;
}

/** _PyUnicode_InsertThousandsGrouping with a repeating group size, or none (size 0). */
function groupDigits(digits: string, minWidth: number, separator: string, size: number): string {
  let remaining = digits.length;
  let min = Math.max(0, minWidth);
  let at = digits.length;
  const groups: string[] = [];
  if (size > 0) {
    for (;;) {
      const len = Math.min(size, Math.max(remaining, min, 1));
      const zeros = Math.max(0, len - remaining);
      const chars = Math.max(0, Math.min(remaining, len));
      groups.unshift('0'.repeat(zeros) + digits.slice(at - chars, at));
      at -= chars;
      remaining -= chars;
      min -= len;
      if (remaining <= 0 && min <= 0) break;
      min -= separator.length;
    }
    return groups.join(separator);
  }
  const len = Math.max(remaining, min, 1);
  if (len > MAX_RENDERED_WIDTH) throw new Fault('MemoryError', '', -1);
  return '0'.repeat(Math.max(0, len - remaining)) + digits;
}

/** calc_number_widths followed by fill_number. `grouping` is the effective locale kind. */
function layoutNumber(parts: NumberParts, format: FormatSpec, grouping: number, upper: boolean): string {
  let sign = '';
  if (format.sign === 0x2b) sign = parts.signChar === '-' ? '-' : '+';
  else if (format.sign === 0x20) sign = parts.signChar === '-' ? '-' : ' ';
  else if (parts.signChar === '-') sign = '-';

  const nonDigits = sign.length + parts.prefix.length + (parts.hasDecimal ? 1 : 0) + codePointLength(parts.remainder);
  const minWidth = format.fill === 0x30 && format.align === 0x3d ? format.width - nonDigits : 0;
  let grouped = '';
  if (parts.digits.length > 0) {
    const separator = grouping === NO_GROUPING ? '' : grouping === COMMA_GROUPING ? ',' : '_';
    const size = grouping === NO_GROUPING ? 0 : grouping === UNDERSCORE_FOUR_GROUPING ? 4 : 3;
    grouped = groupDigits(parts.digits, minWidth, separator, size);
  }
  let prefix = parts.prefix;
  if (upper) {
    prefix = prefix.toUpperCase();
    grouped = grouped.toUpperCase();
  }
  const padding = format.width - (nonDigits + grouped.length);
  let left = 0;
  let inner = 0;
  let right = 0;
  if (padding > 0) {
    switch (format.align) {
      case 0x3c:
        right = padding;
        break;
      case 0x5e:
        left = Math.floor(padding / 2);
        right = padding - left;
        break;
      case 0x3d:
        inner = padding;
        break;
      default:
        left = padding;
        break;
    }
  }
  return (
    repeatCodePoint(format.fill, left) +
    sign +
    prefix +
    repeatCodePoint(format.fill, inner) +
    grouped +
    (parts.hasDecimal ? '.' : '') +
    parts.remainder +
    repeatCodePoint(format.fill, right)
  );
}

/** format(v, spec) for an int (or bool, named by `typeName`): _PyLong_FormatAdvancedWriter. */
function formatInt(value: bigint, spec: readonly number[], typeName: string): string {
  const format = parseFormatSpec(spec, typeName, 0x64 /* d */, 0x3e /* > */);
  const type = String.fromCodePoint(format.type);
  switch (type) {
    case 'b': case 'c': case 'd': case 'o': case 'x': case 'X': case 'n':
      return formatLong(value, format, type);
    case 'e': case 'E': case 'f': case 'F': case 'g': case 'G': case '%': {
      const x = Number(value);
      if (!Number.isFinite(x)) throw new Fault('OverflowError', 'int too large to convert to float', -1);
      return formatFloatInternal(x, format);
    }
    default:
      throw unknownPresentationType(format.type, typeName);
  }
}

/** format_long_internal. */
function formatLong(value: bigint, format: FormatSpec, type: string): string {
  if (format.precision !== -1) throw valueError('Precision not allowed in integer format specifier');
  if (format.noNegativeZero) throw valueError('Negative zero coercion (z) not allowed in integer format specifier');
  let parts: NumberParts;
  if (type === 'c') {
    if (format.sign !== 0) throw valueError("Sign not allowed with integer format specifier 'c'");
    if (format.alternate) throw valueError("Alternate form (#) not allowed with integer format specifier 'c'");
    if (value > PY_SSIZE_T_MAX || value < -PY_SSIZE_T_MAX - 1n) {
      throw new Fault('OverflowError', 'Python int too large to convert to C long', -1);
    }
    if (value < 0n || value > 0x10ffffn) throw new Fault('OverflowError', '%c arg not in range(0x110000)', -1);
    parts = { signChar: '', prefix: '', digits: '', hasDecimal: false, remainder: String.fromCodePoint(Number(value)) };
  } else {
    const base = type === 'b' ? 2 : type === 'o' ? 8 : type === 'x' || type === 'X' ? 16 : 10;
    const prefix = format.alternate && base !== 10 ? `0${type === 'X' ? 'x' : type}` : '';
    const negative = value < 0n;
    parts = {
      signChar: negative ? '-' : '',
      prefix,
      digits: (negative ? -value : value).toString(base),
      hasDecimal: false,
      remainder: '',
    };
  }
  // 'n' uses the current locale: the C locale unless the program called setlocale, so no grouping.
  const grouping = type === 'n' ? NO_GROUPING : format.grouping;
  return layoutNumber(parts, format, grouping, type === 'X');
}

/** format(v, spec) for a float: _PyFloat_FormatAdvancedWriter. */
function formatFloat(value: number, spec: readonly number[]): string {
  const format = parseFormatSpec(spec, 'float', 0, 0x3e /* > */);
  switch (String.fromCodePoint(format.type)) {
    case '\0': case 'e': case 'E': case 'f': case 'F': case 'g': case 'G': case 'n': case '%':
      return formatFloatInternal(value, format);
    default:
      throw unknownPresentationType(format.type, 'float');
  }
}

/** format_float_internal. `format.type` 0 means "no type given". */
function formatFloatInternal(value: number, format: FormatSpec): string {
  if (format.precision > INT_MAX) throw valueError('precision too big');
  let precision = format.precision;
  let defaultPrecision = 6;
  let type = format.type === 0 ? 'r' : String.fromCodePoint(format.type);
  let addDot0 = false;
  let x = value;
  let percent = false;
  if (format.type === 0) {
    addDot0 = true;
    defaultPrecision = 0;
  }
  if (type === 'n') type = 'g';
  if (type === '%') {
    type = 'f';
    x *= 100;
    percent = true;
  }
  if (precision < 0) precision = defaultPrecision;
  else if (type === 'r') type = 'g';

  let text = doubleToString(x, type, precision, { addDot0, alternate: format.alternate, noNegativeZero: format.noNegativeZero });
  if (percent) text += '%';

  let signChar = '';
  if (text.startsWith('-')) {
    signChar = '-';
    text = text.slice(1);
  }
  let i = 0;
  while (i < text.length && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
  const hasDecimal = text[i] === '.';
  const parts: NumberParts = {
    signChar,
    prefix: '',
    digits: text.slice(0, i),
    hasDecimal,
    remainder: text.slice(hasDecimal ? i + 1 : i),
  };
  const grouping = format.type === 0x6e /* n */ ? NO_GROUPING : format.grouping;
  return layoutNumber(parts, format, grouping, false);
}

// ---------------------------------------------------------------------------------------------
// Float to text (Python/pystrtod.c), with exact decimal rounding done on BigInts so that ties
// round half-even on the exact binary value, as David Gay's dtoa does.

/** |x| as an exact fraction num/den (x finite, non-zero). */
function exactFraction(x: number): { num: bigint; den: bigint } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exponent = -1074;
  if (biased !== 0) {
    mantissa |= 1n << 52n;
    exponent = biased - 1075;
  }
  return exponent >= 0 ? { num: mantissa << BigInt(exponent), den: 1n } : { num: mantissa, den: 1n << BigInt(-exponent) };
}

function roundHalfEven(num: bigint, den: bigint): bigint {
  const q = num / den;
  const r2 = (num % den) * 2n;
  if (r2 > den || (r2 === den && q % 2n === 1n)) return q + 1n;
  return q;
}

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

/** Shortest round-tripping digits (dtoa mode 0), from the engine's own shortest conversion. */
function shortestDigits(x: number): { digits: string; decpt: number } {
  const [mantissa, exponent] = Math.abs(x).toExponential().split('e');
  return { digits: mantissa.replace('.', ''), decpt: Number(exponent) + 1 };
}

function stripTrailingZeros(digits: string): string {
  let end = digits.length;
  while (end > 1 && digits.charCodeAt(end - 1) === 0x30) end--;
  return digits.slice(0, end);
}

/** dtoa mode 2: `n` significant digits, trailing zeros stripped. */
function significantDigits(x: number, n: number): { digits: string; decpt: number } {
  const { num, den } = exactFraction(x);
  let e = Math.floor(Math.log10(Math.abs(x)));
  // Make 10^e <= num/den < 10^(e+1) exactly; the floating-point estimate can be off by one.
  const atLeast = (k: number): boolean => (k >= 0 ? num >= den * pow10(k) : num * pow10(-k) >= den);
  while (!atLeast(e)) e--;
  while (atLeast(e + 1)) e++;
  const scale = n - 1 - e;
  let scaled = scale >= 0 ? roundHalfEven(num * pow10(scale), den) : roundHalfEven(num, den * pow10(-scale));
  if (scaled === pow10(n)) {
    scaled = pow10(n - 1);
    e++;
  }
  return { digits: stripTrailingZeros(scaled.toString()), decpt: e + 1 };
}

/** dtoa mode 3: `n` digits after the decimal point, trailing zeros stripped. */
function fixedDigits(x: number, n: number): { digits: string; decpt: number } {
  const { num, den } = exactFraction(x);
  const scaled = roundHalfEven(num * pow10(n), den);
  if (scaled === 0n) return { digits: '', decpt: -n };
  const s = scaled.toString();
  return { digits: stripTrailingZeros(s), decpt: s.length - n };
}

/** PyOS_double_to_string + format_float_short, for the codes str.format uses. */
function doubleToString(
  x: number,
  code: string,
  requestedPrecision: number,
  flags: { addDot0: boolean; alternate: boolean; noNegativeZero: boolean },
): string {
  const upper = code === 'E' || code === 'F' || code === 'G';
  const kind = code.toLowerCase();
  let precision = requestedPrecision;
  if (kind === 'e') precision++;
  if (kind === 'g' && precision === 0) precision = 1;

  let negative = x < 0 || Object.is(x, -0);
  if (Number.isNaN(x)) return upper ? 'NAN' : 'nan';
  if (!Number.isFinite(x)) return (negative ? '-' : '') + (upper ? 'INF' : 'inf');

  let digits: string;
  let decpt: number;
  if (x === 0) {
    digits = '0';
    decpt = 1;
  } else if (kind === 'r') {
    ({ digits, decpt } = shortestDigits(x));
  } else if (kind === 'f') {
    ({ digits, decpt } = fixedDigits(x, precision));
  } else {
    ({ digits, decpt } = significantDigits(x, precision));
  }
  if (flags.noNegativeZero && negative && (digits === '' || digits === '0')) negative = false;

  let vdigitsEnd = digits.length;
  let useExp = false;
  switch (kind) {
    case 'e':
      useExp = true;
      vdigitsEnd = precision;
      break;
    case 'f':
      vdigitsEnd = decpt + precision;
      break;
    case 'g':
      if (decpt <= -4 || decpt > (flags.addDot0 ? precision - 1 : precision)) useExp = true;
      if (flags.alternate) vdigitsEnd = precision;
      break;
    default:
      // repr switches to exponent notation at 1e16.
      if (decpt <= -4 || decpt > 16) useExp = true;
      break;
  }
  let exp = 0;
  if (useExp) {
    exp = decpt - 1;
    decpt = 1;
  }
  const vdigitsStart = decpt <= 0 ? decpt - 1 : 0;
  if (!useExp && flags.addDot0) vdigitsEnd = vdigitsEnd > decpt ? vdigitsEnd : decpt + 1;
  else vdigitsEnd = vdigitsEnd > decpt ? vdigitsEnd : decpt;
  if (vdigitsEnd - vdigitsStart > MAX_RENDERED_WIDTH) throw new Fault('MemoryError', '', -1);

  let out = negative ? '-' : '';
  if (decpt <= 0) out += '0'.repeat(decpt - vdigitsStart) + '.' + '0'.repeat(-decpt);
  else out += '0'.repeat(-vdigitsStart);
  if (decpt > 0 && decpt <= digits.length) out += digits.slice(0, decpt) + '.' + digits.slice(decpt);
  else out += digits;
  if (digits.length < decpt) out += '0'.repeat(decpt - digits.length) + '.' + '0'.repeat(vdigitsEnd - decpt);
  else out += '0'.repeat(vdigitsEnd - digits.length);
  if (out.endsWith('.') && !flags.alternate) out = out.slice(0, -1);
  if (useExp) out += (upper ? 'E' : 'e') + (exp < 0 ? '-' : '+') + String(Math.abs(exp)).padStart(2, '0');
  return out;
}

/** `repr(x)` for a float. */
function floatRepr(x: number): string {
  return doubleToString(x, 'r', 0, { addDot0: true, alternate: false, noNegativeZero: false });
}

/** `format(value, spec)`, dispatched on the Python type as render_field does. */
function formatValue(value: unknown, spec: readonly number[]): string {
  const type = pyType(value);
  if (spec.length === 0) return pyStr(value);
  switch (type) {
    case 'str':
      return formatStr(value as string, spec);
    case 'int':
    case 'bool':
      return formatInt(toBigInt(value), spec, type);
    case 'float':
      return formatFloat(value as number, spec);
    default:
      throw new Fault('TypeError', `unsupported format string passed to ${type}.__format__`, -1);
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering: build_string / output_markup / get_field_object.

/**
 * `template.format(**values)`, exactly as CPython 3.11 computes it.
 *
 * @throws PythonFormatError whose message is `f"{type(e).__name__}: {e}"` of the exception CPython
 *   raises, e.g. `KeyError: 'name'`, `ValueError: Sign not allowed in string format specifier`,
 *   `IndexError: Replacement index 0 out of range for positional args tuple`; `offset` points at the
 *   offending character or at the field being rendered.
 * @throws UnsupportedTemplateValueError for values CPython would render from memory addresses
 *   (methods) or that have no Python counterpart.
 */
export function renderPythonTemplate(text: string, values: Record<string, unknown>): string {
  const src = new Source(text);
  const s = src.cps;

  const lookup = (key: string): unknown => {
    if (Object.prototype.hasOwnProperty.call(values, key) && values[key] !== undefined) return values[key];
    throw new Fault('KeyError', pythonStrRepr(key), -1);
  };

  const fieldObject = (f: RawField): unknown => {
    const firstEnd = firstPartEnd(s, f.nameStart, f.nameEnd);
    const index = fieldInteger(s, f.nameStart, firstEnd);
    if (index >= 0n || firstEnd === f.nameStart) {
      // str.format(**values) has an empty args tuple: the first positional field is out of range.
      const shown = index >= 0n ? index : 0n;
      throw new Fault('IndexError', `Replacement index ${shown} out of range for positional args tuple`, f.open);
    }
    let obj = lookup(src.slice(f.nameStart, firstEnd));
    for (const part of iterateAccess(s, firstEnd, f.nameEnd)) {
      try {
        if (part.isAttribute) obj = getAttribute(obj, src.slice(part.keyStart, part.keyEnd));
        else if (part.index >= 0n) obj = getItemByIndex(obj, part.index);
        else obj = getItemByKey(obj, src.slice(part.keyStart, part.keyEnd));
      } catch (e) {
        if ((e instanceof Fault || e instanceof Refusal) && e.pos < 0) e.pos = part.marker;
        throw e;
      }
    }
    return obj;
  };

  const outputMarkup = (f: RawField, depth: number): string => {
    try {
      let obj = fieldObject(f);
      if (f.conversion !== 0) {
        switch (f.conversion) {
          case 0x72:
            obj = pyRepr(obj);
            break;
          case 0x73:
            obj = pyStr(obj);
            break;
          case 0x61:
            obj = asciiEscape(pyRepr(obj));
            break;
          default:
            throw conversionFault(f.conversion, f.conversionPos);
        }
      }
      let spec: readonly number[] = [];
      if (f.needsExpanding) spec = toCodePoints(build(f.specStart, f.specEnd, depth - 1));
      else if (f.specStart >= 0) spec = s.slice(f.specStart, f.specEnd);
      return formatValue(obj, spec);
    } catch (e) {
      if ((e instanceof Fault || e instanceof Refusal) && e.pos < 0) e.pos = f.open;
      throw e;
    }
  };

  const build = (start: number, end: number, depth: number): string => {
    if (depth <= 0) throw valueError('Max string recursion exceeded', firstBrace(s, start, end));
    let out = '';
    for (const item of iterateMarkup(s, start, end)) {
      if (item.literalEnd > item.literalStart) out += src.slice(item.literalStart, item.literalEnd);
      if (item.field) out += outputMarkup(item.field, depth);
    }
    return out;
  };

  try {
    return build(0, s.length, 2);
  } catch (e) {
    if (e instanceof Fault) throw new PythonFormatError(e.type, e.message, src.offset(e.pos));
    if (e instanceof Refusal) throw new UnsupportedTemplateValueError(e.message, src.offset(e.pos));
    // The engine's "Invalid string length": many wide fields together, or huge values.
    if (e instanceof RangeError) throw new UnsupportedTemplateValueError('the rendered template would be longer than a string can hold', 0);
    throw e;
  }
}
