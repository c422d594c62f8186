import { quoteForMessage } from './span';
import { parseMustacheTemplate } from './template/mustacheFormat';
import { formatterParse } from './template/pythonFormat';
import type { TemplateFormat } from './template/template';

/**
 * Recovering a template's variables from the message it rendered (DESIGN.md section 10): a span
 * that recorded the rendered user message but not the variables is matched against the template
 * of its commit. The literal text between the fields anchors the match; a field's format spec and
 * conversion say what its text can be (`{n:d}` an integer, `{x!r}` a Python string literal,
 * `{x:>10}` padded to ten). When the message fits the template in more than one way, that is
 * reported and nothing is guessed; when it fits in none, the reason names the template text that
 * is missing and where. The caller re-renders the recovered values and compares byte for byte.
 * Pure: strings in, plain data out.
 */

/** The outcome of matching a recorded message against a template. */
export type RecoveryOutcome =
  | {
      kind: 'recovered';
      /** The variables, as a caller would pass them (objects for `{customer[name]}` fields). */
      values: Record<string, unknown>;
      /** What the match could not pin down exactly but that doesn't change the rendered text (padding, truncation). */
      notes: string[];
    }
  | {
      kind: 'not-produced';
      /** Why this template cannot have rendered the message, in words. */
      reason: string;
      /** Where in the recorded message the template's text stops fitting (UTF-16 offset). */
      offset: number;
      /** The template's literal text expected there. */
      expected: string;
    }
  | { kind: 'ambiguous'; reason: string }
  | { kind: 'unsupported'; reason: string };

/** How a field's text becomes a value. */
interface FieldDecoder {
  /** The field as written, for messages: `{count:d}`. */
  label: string;
  /** The variable path: `['customer', 'name']` for `{customer[name]}`. */
  path: string[];
  decode(text: string): { value: unknown; note?: string } | { error: string };
}

interface Shape {
  /** literals[0] before the first field, literals[i + 1] after field i. */
  literals: string[];
  fields: FieldDecoder[];
}

/** Work allowed for one match; beyond it the message is reported as too ambiguous to tell. */
const MAX_STEPS = 200_000;

/** Matches `recorded` against `template` and returns the variables that render it, or why there are none. */
export function recoverVariables(template: string, format: TemplateFormat, recorded: string): RecoveryOutcome {
  const shape = format === 'mustache' ? mustacheShape(template) : pythonShape(template);
  if ('unsupported' in shape) return { kind: 'unsupported', reason: shape.unsupported };
  return match(shape, recorded);
}

// ---------------------------------------------------------------------------------------------
// Templates as literals and fields

function pythonShape(template: string): Shape | { unsupported: string } {
  const parsed = formatterParse(template);
  if (parsed.error) return { unsupported: `the template is not valid: ${parsed.error.message}` };
  const literals: string[] = [''];
  const fields: FieldDecoder[] = [];
  for (const item of parsed.items) {
    literals[literals.length - 1] += item.literal;
    if (item.fieldName === null) continue;
    const spec = item.formatSpec ?? '';
    const label = `{${item.fieldName}${item.conversion ? `!${item.conversion}` : ''}${spec ? `:${spec}` : ''}}`;
    const path = fieldPath(item.fieldName);
    if (typeof path === 'string') return { unsupported: `${label} ${path}` };
    if (spec.includes('{')) return { unsupported: `${label} takes its format spec from another variable, so its text can't be read back` };
    const decoder = pythonDecoder(label, path, item.conversion, spec);
    if (typeof decoder === 'string') return { unsupported: `${label} ${decoder}` };
    fields.push(decoder);
    literals.push('');
  }
  return { literals, fields };
}

/** `customer[name]` as `['customer', 'name']`; a string saying why when the name can't be recovered into JSON values. */
function fieldPath(name: string): string[] | string {
  const m = /^([^.[]+)((?:\[[^\]]*\]|\.[^.[]+)*)$/.exec(name);
  if (!m || /^[0-9]*$/.test(m[1])) return 'is positional';
  const path = [m[1]];
  for (const step of m[2].match(/\[[^\]]*\]|\.[^.[]+/g) ?? []) {
    if (step.startsWith('.')) return `reads attribute ${step}, which a JSON value doesn't have`;
    const key = step.slice(1, -1);
    if (/^[0-9]+$/.test(key)) return `indexes a list (${step}); list items can't be recovered one by one`;
    path.push(key);
  }
  return path;
}

const SPEC = /^(?:(.)?([<>=^]))?([+\- ])?(z)?(#)?(0)?([0-9]+)?([_,])?(?:\.([0-9]+))?([bcdeEfFgGnosxX%])?$/su;

function pythonDecoder(label: string, path: string[], conversion: string | null, spec: string): FieldDecoder | string {
  const m = SPEC.exec(spec);
  if (!m) return `has a format spec ${quoteForMessage(spec)} this can't read back`;
  const [, fillChar, align, sign, , alternate, zero, widthText, grouping, precisionText, type] = m;
  const width = widthText ? Number(widthText) : 0;
  const precision = precisionText !== undefined ? Number(precisionText) : undefined;
  const numeric = type !== undefined && type !== 's';
  if (type === 'c' || type === 'n') return `uses presentation type "${type}", which can't be read back`;
  if (conversion && numeric) return `converts with !${conversion} and then formats as a number`;
  if (!numeric && (sign || alternate || grouping || zero)) return 'has number options on a text field';

  const fill = fillChar ?? (zero && !align ? '0' : ' ');
  const defaultAlign = numeric ? '>' : '<';
  const unpad = (text: string): { text: string; padded: boolean } | { error: string } => {
    if (text.length < width) return { error: `renders at least ${width} characters, but the recorded message has ${text.length} there (${quoteForMessage(text, 40)})` };
    if (width === 0 || text.length > width) return { text, padded: false };
    const a = align ?? defaultAlign;
    let start = 0;
    let end = text.length;
    if (a === '<' || a === '^') while (end > start && text[end - 1] === fill) end--;
    if (a === '>' || a === '^' || a === '=') while (start < end && text[start] === fill) start++;
    return { text: text.slice(start, end), padded: start > 0 || end < text.length };
  };

  return {
    label,
    path,
    decode(text) {
      const inner = unpad(text);
      if ('error' in inner) return inner;
      const notes: string[] = [];
      if (inner.padded) notes.push(`${label}: the value's own leading or trailing ${quoteForMessage(fill)} can't be told from the padding`);
      if (!numeric) {
        let value = inner.text;
        if (conversion === 'r' || conversion === 'a') {
          const literal = parsePythonStringLiteral(value);
          if (literal === undefined) return { error: `is a Python string literal (!${conversion}), but the recorded message has ${quoteForMessage(value, 40)} there` };
          value = literal;
        }
        if (precision !== undefined) {
          if (value.length > precision) return { error: `keeps at most ${precision} characters, but the recorded message has ${value.length} there` };
          if (value.length === precision) notes.push(`${label}: the value may have been longer than the ${precision} characters shown`);
        }
        return notes.length ? { value, note: notes.join('; ') } : { value };
      }
      const value = readNumber(inner.text, type!, grouping, alternate !== undefined);
      if (value === undefined) {
        const what = 'bdoxX'.includes(type!) ? 'an integer' : 'a number';
        return { error: `needs ${what}, but the recorded message has ${quoteForMessage(text, 40)} there` };
      }
      if ('eEfFgG%'.includes(type!)) notes.push(`${label}: the number is known to the precision shown`);
      return notes.length ? { value, note: notes.join('; ') } : { value };
    },
  };
}

function readNumber(text: string, type: string, grouping: string | undefined, alternate: boolean): number | undefined {
  let t = text.trim();
  if (grouping) t = t.split(grouping).join('');
  let sign = 1;
  if (t.startsWith('-')) {
    sign = -1;
    t = t.slice(1);
  } else if (t.startsWith('+') || t.startsWith(' ')) t = t.slice(1);
  const base = { b: 2, o: 8, x: 16, X: 16, d: 10 }[type as 'b'];
  if (base !== undefined) {
    if (alternate && base !== 10) t = t.replace(/^0[bBoOxX]/, '');
    const digits = base === 2 ? /^[01]+$/ : base === 8 ? /^[0-7]+$/ : base === 16 ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/;
    if (!digits.test(t)) return undefined;
    const n = parseInt(t, base);
    return Number.isSafeInteger(n) ? sign * n : undefined;
  }
  let percent = false;
  if (type === '%') {
    if (!t.endsWith('%')) return undefined;
    t = t.slice(0, -1);
    percent = true;
  }
  if (!/^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(t)) return undefined;
  const n = Number(t) * sign;
  return percent ? n / 100 : n;
}

/** The text of a Python `str` literal as `repr()` writes it (`'it''s'` forms aside); undefined when it isn't one. */
export function parsePythonStringLiteral(text: string): string | undefined {
  const quote = text[0];
  if ((quote !== "'" && quote !== '"') || text.length < 2 || text[text.length - 1] !== quote) return undefined;
  const body = text.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === quote) return undefined;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    const hex = (n: number) => {
      const h = body.slice(i + 1, i + 1 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h)) return undefined;
      i += n;
      return String.fromCodePoint(parseInt(h, 16));
    };
    const simple: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', r: '\r', t: '\t' };
    if (e !== undefined && e in simple) out += simple[e];
    else if (e === 'x' || e === 'u' || e === 'U') {
      const ch = hex(e === 'x' ? 2 : e === 'u' ? 4 : 8);
      if (ch === undefined) return undefined;
      out += ch;
    } else return undefined;
  }
  return out;
}

function mustacheShape(template: string): Shape | { unsupported: string } {
  if (/\{\{\s*[!=>]/.test(template)) return { unsupported: 'the template has comments, partials or changed delimiters, which take text out of the rendered message' };
  const parsed = parseMustacheTemplate(template);
  if (parsed.errors.length) return { unsupported: `the template is not valid: ${parsed.errors[0].message}` };
  const literals: string[] = [];
  const fields: FieldDecoder[] = [];
  let at = 0;
  for (const f of parsed.fields) {
    const label = template.slice(f.start, f.end);
    if (f.kind === '#' || f.kind === '^' || f.inSection) return { unsupported: `${label} is a section, whose text depends on the value in ways that can't be read back` };
    if (f.name === '.') return { unsupported: `${label} names the current item` };
    literals.push(template.slice(at, f.start));
    fields.push({ label, path: f.name.split('.'), decode: (text) => ({ value: text }) });
    at = f.end;
  }
  literals.push(template.slice(at));
  return { literals, fields };
}

// ---------------------------------------------------------------------------------------------
// Matching

interface Failure {
  depth: number;
  offset: number;
  reason: string;
  expected: string;
}

interface Capture {
  field: FieldDecoder;
  start: number;
  text: string;
  value: unknown;
  note?: string;
}

function match(shape: Shape, recorded: string): RecoveryOutcome {
  const { literals, fields } = shape;
  const opening = literals[0];
  if (!recorded.startsWith(opening)) {
    let i = 0;
    while (i < opening.length && i < recorded.length && opening[i] === recorded[i]) i++;
    return {
      kind: 'not-produced',
      reason: `the recorded message does not start with the template's opening text ${quoteForMessage(opening, 80)}: it starts ${quoteForMessage(recorded.slice(0, Math.max(opening.length, 20)), 80)}`,
      offset: i,
      expected: opening.slice(i),
    };
  }
  if (fields.length === 0) {
    if (recorded === opening) return { kind: 'recovered', values: {}, notes: [] };
    return { kind: 'not-produced', reason: `the template has no fields, and the recorded message goes on after its text: ${quoteForMessage(recorded.slice(opening.length), 60)}`, offset: opening.length, expected: '' };
  }
  const closing = literals[literals.length - 1];
  if (!recorded.endsWith(closing) || recorded.length - closing.length < opening.length) {
    let i = 0;
    while (i < closing.length && i < recorded.length && closing[closing.length - 1 - i] === recorded[recorded.length - 1 - i]) i++;
    return {
      kind: 'not-produced',
      reason: `the recorded message does not end with the template's closing text ${quoteForMessage(closing, 80)}: it ends ${quoteForMessage(recorded.slice(-Math.max(closing.length, 20)), 80)}`,
      offset: recorded.length - i,
      expected: closing.slice(0, closing.length - i),
    };
  }

  const solutions: Capture[][] = [];
  let steps = 0;
  let best: Failure | undefined;
  const fail = (f: Failure) => {
    if (!best || f.depth > best.depth || (f.depth === best.depth && f.offset > best.offset)) best = f;
  };
  const captures: Capture[] = [];
  const bound = new Map<string, Capture>();

  const search = (i: number, pos: number): void => {
    if (solutions.length >= 2 || steps > MAX_STEPS) return;
    steps++;
    const field = fields[i];
    const after = literals[i + 1];
    const last = i === fields.length - 1;
    const ends: number[] = [];
    if (last) ends.push(recorded.length - closing.length);
    else if (after === '') for (let e = pos; e <= recorded.length - closing.length; e++) ends.push(e);
    else for (let e = recorded.indexOf(after, pos); e !== -1 && e + after.length <= recorded.length - closing.length; e = recorded.indexOf(after, e + 1)) ends.push(e);
    if (ends.length === 0) {
      fail({
        depth: i,
        offset: pos,
        reason: `the template's text ${quoteForMessage(after, 60)} after ${field.label} is not in the recorded message after ${where(recorded, pos)}`,
        expected: after,
      });
      return;
    }
    for (const end of ends) {
      if (solutions.length >= 2 || steps > MAX_STEPS) return;
      if (end < pos) continue;
      const text = recorded.slice(pos, end);
      const decoded = field.decode(text);
      if ('error' in decoded) {
        fail({ depth: i, offset: pos, reason: `${field.label} ${decoded.error} (${where(recorded, pos)})`, expected: '' });
        continue;
      }
      const key = field.path.join('\u0000');
      const earlier = bound.get(key);
      if (earlier && JSON.stringify(earlier.value) !== JSON.stringify(decoded.value)) {
        fail({
          depth: i,
          offset: pos,
          reason: `${field.label} appears more than once in the template, but the recorded message has ${quoteForMessage(earlier.text, 40)} (${where(recorded, earlier.start)}) and ${quoteForMessage(text, 40)} (${where(recorded, pos)}) in those places`,
          expected: earlier.text,
        });
        continue;
      }
      const capture: Capture = { field, start: pos, text, value: decoded.value, ...(decoded.note ? { note: decoded.note } : {}) };
      captures.push(capture);
      if (!earlier) bound.set(key, capture);
      if (last) solutions.push([...captures]);
      else search(i + 1, end + after.length);
      captures.pop();
      if (!earlier) bound.delete(key);
    }
  };
  search(0, opening.length);

  if (solutions.length === 0) {
    if (steps > MAX_STEPS) return { kind: 'ambiguous', reason: 'the recorded message can be split between the template\'s fields in too many ways to tell which one rendered it' };
    const f = best!;
    return { kind: 'not-produced', reason: f.reason, offset: f.offset, expected: f.expected };
  }
  const values = toValues(solutions[0]);
  if (typeof values === 'string') return { kind: 'unsupported', reason: values };
  if (solutions.length > 1 || steps > MAX_STEPS) {
    const other = solutions[1];
    if (other) {
      const k = solutions[0].findIndex((c, n) => c.text !== other[n].text);
      const a = solutions[0][k];
      const b = other[k];
      return {
        kind: 'ambiguous',
        reason: `the recorded message fits the template in more than one way: ${a.field.label} could be ${quoteForMessage(a.text, 50)} or ${quoteForMessage(b.text, 50)}, so the variables can't be told from the message`,
      };
    }
    return { kind: 'ambiguous', reason: "the recorded message can be split between the template's fields in too many ways to tell which one rendered it" };
  }
  const notes = [...new Set(solutions[0].map((c) => c.note).filter((n): n is string => !!n))];
  return { kind: 'recovered', values, notes };
}

/** The captures as nested variables; a string when one variable is both a value and an object of keys. */
function toValues(captures: Capture[]): Record<string, unknown> | string {
  const values: Record<string, unknown> = {};
  for (const c of captures) {
    let target: Record<string, unknown> = values;
    const path = c.field.path;
    for (let n = 0; n < path.length - 1; n++) {
      const next = target[path[n]];
      if (next === undefined) target = target[path[n]] = {} as Record<string, unknown>;
      else if (typeof next === 'object' && next !== null && !Array.isArray(next)) target = next as Record<string, unknown>;
      else return `"${path.slice(0, n + 1).join('.')}" is used both as a value and as an object of keys`;
    }
    const leaf = path[path.length - 1];
    if (typeof target[leaf] === 'object' && target[leaf] !== null) {
      return `"${path.join('.')}" is used both as a value and as an object of keys`;
    }
    target[leaf] = c.value;
  }
  return values;
}

function where(text: string, offset: number): string {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return `line ${line}, column ${offset - start + 1}`;
}
