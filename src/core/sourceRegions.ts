import type { SourceLanguage } from './callSites';

/**
 * The parts of a source file a call-site search needs parsed. A call site lies inside one
 * top-level statement (the call, its arguments and a chained `.format(...)`), so only the
 * statements holding an occurrence of a render function's name need parsing: in a module of a
 * hundred functions, one or two. The statements are found with a scan of the text that follows
 * strings, comments, template literals and brackets, and nothing else; where the scan can't be
 * sure of where a statement starts, the whole file is parsed instead.
 */

/** A run of whole top-level statements: UTF-16 offsets, and the 0-based lines its ends are on (both ends start a line, or `end` ends the text). */
export interface SourceRegion {
  start: number;
  end: number;
  startLine: number;
  /** The line `end` is on, and its column (0 unless `end` is the end of a text whose last line has no newline). */
  endLine: number;
  endColumn: number;
}

/**
 * The regions of `text` that hold every occurrence of the names in `functions`, each a run of
 * whole top-level statements, in order and apart; `undefined` when the whole file should be
 * parsed: the scan found something it can't place for certain (an unterminated string, an
 * unbalanced bracket, a Python f-string with quotes in its expressions, a `/` after `)` or `}`
 * whose reading as a regular expression or a division changes what follows on its line), the
 * language is TSX, or the JavaScript holds JSX (`</`, `/>`). No occurrence: no region.
 */
export function callSiteRegions(text: string, language: SourceLanguage, functions: readonly string[]): SourceRegion[] | undefined {
  if (language === 'tsx') return undefined;
  if (language === 'javascript' && (text.includes('</') || text.includes('/>'))) return undefined;
  const starts = language === 'python' ? pythonStatementStarts(text) : scriptStatementStarts(text);
  if (!starts) return undefined;
  starts.push(text.length);
  // The statements holding an occurrence, by index into `starts`.
  const wanted = new Set<number>();
  for (const name of functions) {
    if (name.length === 0) continue;
    for (let at = text.indexOf(name); at !== -1; at = text.indexOf(name, at + name.length)) wanted.add(statementAt(starts, at));
  }
  const regions: SourceRegion[] = [];
  const lines = new LineCounter(text);
  for (const k of [...wanted].sort((a, b) => a - b)) {
    const start = starts[k];
    const end = starts[k + 1];
    const last = regions[regions.length - 1];
    if (last && last.end === start) {
      last.end = end;
      continue;
    }
    regions.push({ start, end, startLine: 0, endLine: 0, endColumn: 0 });
  }
  for (const region of regions) {
    region.startLine = lines.lineOf(region.start);
    region.endLine = lines.lineOf(region.end);
    region.endColumn = region.end - lines.lineStart;
  }
  return regions;
}

/** The index `k` of the statement holding offset `at`: `starts[k] <= at < starts[k + 1]`. */
function statementAt(starts: number[], at: number): number {
  let lo = 0;
  let hi = starts.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= at) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Lines of offsets asked for in increasing order, counted once through the text. */
class LineCounter {
  private line = 0;
  /** The offset where the line of the last `lineOf` starts (the newlines before it are counted). */
  lineStart = 0;

  constructor(private readonly text: string) {}

  lineOf(offset: number): number {
    for (let i = this.text.indexOf('\n', this.lineStart); i !== -1 && i < offset; i = this.text.indexOf('\n', i + 1)) {
      this.line += 1;
      this.lineStart = i + 1;
    }
    return this.line;
  }
}

const NEWLINE = 10;
const CR = 13;
const BACKSLASH = 92;

function isIdentifierChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 36 || c > 127;
}

function isIdentifierStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 36;
}

/** The word of identifier characters starting at `at`. */
function wordAt(text: string, at: number): string {
  let end = at;
  while (end < text.length && isIdentifierChar(text.charCodeAt(end))) end++;
  return text.slice(at, end);
}

/** Column-0 words that continue the statement above them rather than start one. */
const PYTHON_CONTINUATIONS = new Set(['else', 'elif', 'except', 'finally']);

/**
 * Where Python's top-level statements start: offsets of lines that begin, in column 0, a
 * statement outside any bracket, string or backslash continuation (not a comment, not `else:`
 * and its kin, not the `def` under a decorator). `undefined` when the file can't be read that far
 * for certain: an unterminated string or bracket, or an f-string whose replacement fields hold
 * quotes, comments or line breaks (whose reading depends on the Python version).
 */
export function pythonStatementStarts(text: string): number[] | undefined {
  const starts: number[] = [0];
  let depth = 0;
  let continued = false;
  let decorated = false;
  const n = text.length;
  let i = 0;
  while (i < n) {
    // At a line's start (the text's own start is the first statement's).
    if (depth === 0 && !continued) {
      const c = text.charCodeAt(i);
      const code = c !== 32 && c !== 9 && c !== 12 && c !== NEWLINE && c !== CR && c !== 35; // not indented, blank or a comment
      if (code) {
        const word = isIdentifierStart(c) ? wordAt(text, i) : '';
        if (i > 0 && !PYTHON_CONTINUATIONS.has(word) && !decorated) starts.push(i);
        decorated = c === 64; // `@`: the next statement line is what it decorates
      }
    }
    continued = false;
    // Through the line's end.
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === NEWLINE) {
        i++;
        break;
      }
      if (c === 35) {
        // A comment, to the line's end.
        const eol = text.indexOf('\n', i);
        i = eol === -1 ? n : eol;
        continue;
      }
      if (c === BACKSLASH) {
        const next = text.charCodeAt(i + 1);
        if (next === NEWLINE || (next === CR && text.charCodeAt(i + 2) === NEWLINE)) {
          continued = true;
          i = next === NEWLINE ? i + 2 : i + 3;
          break;
        }
        i++;
        continue;
      }
      if (c === 39 || c === 34) {
        // (A string that spans lines is stepped over whole: the lines it covers start nothing.)
        const end = pythonStringEnd(text, i);
        if (end === undefined) return undefined;
        i = end;
        continue;
      }
      if (c === 40 || c === 91 || c === 123) depth++;
      else if (c === 41 || c === 93 || c === 125) {
        depth--;
        if (depth < 0) return undefined;
      }
      i++;
    }
  }
  if (depth !== 0 || continued) return undefined;
  return starts;
}

/**
 * The offset just past the Python string literal whose opening quote is at `at` (its prefix, if
 * any, is read back from before the quote); `undefined` when it isn't terminated or is an f-string
 * this scan won't follow.
 */
function pythonStringEnd(text: string, at: number): number | undefined {
  const quote = text.charCodeAt(at);
  // The prefix: up to three letters right before the quote, not part of a longer name.
  let p = at;
  while (p > 0 && at - p < 3 && /[rRbBuUfFtT]/.test(text[p - 1])) p--;
  const prefix = p > 0 && isIdentifierChar(text.charCodeAt(p - 1)) ? '' : text.slice(p, at).toLowerCase();
  const formatted = prefix.includes('f') || prefix.includes('t');
  const triple = text.charCodeAt(at + 1) === quote && text.charCodeAt(at + 2) === quote;
  let i = at + (triple ? 3 : 1);
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (!triple) return i + 1;
      if (text.charCodeAt(i + 1) === quote && text.charCodeAt(i + 2) === quote) return i + 3;
      i++;
      continue;
    }
    if (c === NEWLINE && !triple) return undefined;
    if (formatted && c === 123) {
      if (text.charCodeAt(i + 1) === 123) {
        i += 2;
        continue;
      }
      const end = replacementFieldEnd(text, i);
      if (end === undefined) return undefined;
      i = end;
      continue;
    }
    i++;
  }
  return undefined;
}

/** Past the `}` closing the f-string replacement field opened at `at`; `undefined` when it holds a quote, a `#` or a line break. */
function replacementFieldEnd(text: string, at: number): number | undefined {
  let depth = 0;
  for (let i = at; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 39 || c === 34 || c === 35 || c === NEWLINE || c === BACKSLASH) return undefined;
    if (c === 123 || c === 40 || c === 91) depth++;
    else if (c === 125 || c === 41 || c === 93) {
      depth--;
      if (depth === 0) return c === 125 ? i + 1 : undefined;
    }
  }
  return undefined;
}

/** Words after which a `/` starts a regular expression (after any other word it divides). */
const REGEX_AFTER_WORDS = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await', 'extends']);

/**
 * Where TypeScript's and JavaScript's top-level statements may start: offsets of lines that begin,
 * in column 0, with a name or `@`, outside any bracket, string, comment, template literal or
 * regular expression, after a line that doesn't end in an operator (`exports.`, `=`, `new`). (A line split off from a statement that goes on above it parses as a
 * statement of its own, or with an error, which has the whole file parsed: the calls inside it
 * read the same either way.) `undefined` when the file can't be read that far for certain.
 */
export function scriptStatementStarts(text: string): number[] | undefined {
  const starts: number[] = [0];
  /** Open brackets, and `${` of template literals (as '$'), innermost last. */
  const stack: string[] = [];
  const n = text.length;
  /**
   * What the last token was: 'value' (a `/` after it divides), 'operator' (a regex follows; and the
   * statement goes on: `exports.` at a line's end, `new`, `=`), 'close' (`)`, `}`, `++`, `--`: a
   * `/` after it is either), 'end' (`;` or the text's start: a regex follows).
   */
  let before: 'value' | 'operator' | 'close' | 'end' = 'end';
  let lineStart = true;
  let i = 0;
  /** Steps over a template literal's text from `from`: to past its closing backtick, or into its next `${` field. False when it never ends. */
  const templateText = (from: number): boolean => {
    const end = templateTextEnd(text, from);
    if (end === undefined) return false;
    if (text.charCodeAt(end) === 96) {
      i = end + 1;
      before = 'value';
    } else {
      stack.push('$');
      i = end + 2;
      before = 'operator';
    }
    return true;
  };
  if (text.startsWith('#!')) {
    const eol = text.indexOf('\n');
    i = eol === -1 ? n : eol;
  }
  while (i < n) {
    const c = text.charCodeAt(i);
    if (lineStart) {
      lineStart = false;
      if (i > 0 && stack.length === 0 && before !== 'operator' && (isIdentifierStart(c) || c === 64)) starts.push(i);
    }
    if (c === NEWLINE) {
      lineStart = true;
      i++;
      continue;
    }
    if (c === 32 || c === 9 || c === CR || c === 12) {
      i++;
      continue;
    }
    if (c === 47) {
      const next = text.charCodeAt(i + 1);
      if (next === 47) {
        const eol = text.indexOf('\n', i);
        i = eol === -1 ? n : eol;
        continue;
      }
      if (next === 42) {
        const end = text.indexOf('*/', i + 2);
        if (end === -1) return undefined;
        // A comment that spans lines: the line after its end starts nothing (code may follow it on its last line).
        i = end + 2;
        continue;
      }
      if (before === 'close') {
        // `)`, `}`, `++` or `--` then `/`: a regex (`if (x) /re/.test(y)`) or a division (`(a + b) / 2`). Either
        // reading ends the line the same when nothing that opens or closes anything follows on it.
        const eol = text.indexOf('\n', i);
        const rest = text.slice(i + 1, eol === -1 ? n : eol);
        if (/[`'"/()[\]{}\\]/.test(rest)) return undefined;
        i = eol === -1 ? n : eol;
        continue;
      }
      if (before === 'operator' || before === 'end') {
        const end = regexEnd(text, i);
        if (end === undefined) return undefined;
        i = end;
        before = 'value';
        continue;
      }
      i++;
      before = 'operator';
      continue;
    }
    if (c === 39 || c === 34) {
      const end = quotedEnd(text, i);
      if (end === undefined) return undefined;
      i = end;
      before = 'value';
      continue;
    }
    if (c === 96) {
      if (!templateText(i + 1)) return undefined;
      continue;
    }
    if (c === 40 || c === 91 || c === 123) {
      stack.push(text[i]);
      i++;
      before = 'operator';
      continue;
    }
    if (c === 41 || c === 93 || c === 125) {
      const open = stack.pop();
      if (open === undefined) return undefined;
      if (open === '$') {
        // Back in the template's text.
        if (c !== 125 || !templateText(i + 1)) return undefined;
        continue;
      }
      if ((c === 41 && open !== '(') || (c === 93 && open !== '[') || (c === 125 && open !== '{')) return undefined;
      i++;
      before = c === 93 ? 'value' : 'close';
      continue;
    }
    if (isIdentifierChar(c)) {
      const word = wordAt(text, i);
      i += word.length;
      before = REGEX_AFTER_WORDS.has(word) ? 'operator' : 'value';
      continue;
    }
    if ((c === 43 || c === 45) && text.charCodeAt(i + 1) === c) {
      // `++` or `--`: after a value (`i++ / 2`) or before one (`++i`), so a `/` next is either.
      i += 2;
      before = 'close';
      continue;
    }
    // Any other punctuation or operator.
    before = c === 59 ? 'end' : 'operator';
    i++;
  }
  if (stack.length > 0) return undefined;
  return starts;
}

/** Past the closing quote of the string opened at `at`; `undefined` if a line ends first (a backslash before the line break continues it). */
function quotedEnd(text: string, at: number): number | undefined {
  const quote = text.charCodeAt(at);
  for (let i = at + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === quote) return i + 1;
    else if (c === NEWLINE) return undefined;
  }
  return undefined;
}

/** The offset of the backtick closing a template's text from `from`, or of the `$` of its next `${`; `undefined` if unterminated. */
function templateTextEnd(text: string, from: number): number | undefined {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === 96) return i;
    else if (c === 36 && text.charCodeAt(i + 1) === 123) return i;
  }
  return undefined;
}

/** Past the flags of the regular expression literal opened at `at`; `undefined` if a line ends first. */
function regexEnd(text: string, at: number): number | undefined {
  let inClass = false;
  for (let i = at + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === NEWLINE) return undefined;
    else if (c === 91) inClass = true;
    else if (c === 93) inClass = false;
    else if (c === 47 && !inClass) {
      let end = i + 1;
      while (end < text.length && isIdentifierChar(text.charCodeAt(end))) end++;
      return end;
    }
  }
  return undefined;
}
