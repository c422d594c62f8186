/**
 * `template_format: mustache`: the `mustache` package reads and renders the template; this module
 * turns its tokens into fields and variables with offsets, and its exceptions into errors at an
 * offset.
 *
 * Prompts are not HTML, so `{{name}}` renders the value as it is, exactly like `{{{name}}}`:
 * Mustache's HTML escaping would turn a quote in a customer's message into `&quot;` before the
 * model ever saw it.
 */
import Mustache from 'mustache';

/** A tag that names a value: `{{name}}`, `{{{name}}}`, `{{&name}}`, `{{#name}}` or `{{^name}}`. */
export interface MustacheField {
  /** The name as written (trimmed), e.g. `user.name`; `.` for the current item of a section. */
  name: string;
  /** The first segment of the dotted name: what a caller supplies at the top level. */
  variable: string;
  /** The tag kind: `name` (escaped in Mustache, not here), `&` (unescaped), `#` (section), `^` (inverted section). */
  kind: 'name' | '&' | '#' | '^';
  /** UTF-16 offsets of the whole opening tag. */
  start: number;
  end: number;
  /** UTF-16 offsets of the name inside the tag. */
  nameStart: number;
  nameEnd: number;
  /** Inside a `{{#section}}`: the name is looked up in the section's item first. */
  inSection: boolean;
}

/** A Mustache syntax problem: the package's message and the offset it names. */
export interface MustacheError {
  message: string;
  offset: number;
  /** `depth`: sections nested deeper than MAX_SECTION_DEPTH (a limit of ours, not a syntax error). */
  kind?: 'depth';
}

/**
 * Sections nested deeper than this are refused: a prompt nests a handful, and reading or
 * rendering thousands would overflow the stack.
 */
export const MAX_SECTION_DEPTH = 100;

/** What parseMustacheTemplate finds. */
export interface MustacheAnalysis {
  /**
   * Unique first segments of names outside any `{{#section}}` (inverted sections don't change
   * the context, so their names count), section names included, in order of appearance. Names
   * inside a section usually belong to the section's items, so they are not required of callers.
   */
  variables: string[];
  fields: MustacheField[];
  errors: MustacheError[];
}

type Token = Mustache.TemplateSpans[number];

/** Reads a Mustache template with `Mustache.parse`. Partials are reported as errors: prompts have none. */
export function parseMustacheTemplate(text: string): MustacheAnalysis {
  const fields: MustacheField[] = [];
  const errors: MustacheError[] = [];
  const variables: string[] = [];
  const seen = new Set<string>();
  let tokens: Mustache.TemplateSpans;
  try {
    tokens = Mustache.parse(text);
  } catch (e) {
    if (e instanceof RangeError) {
      return { variables, fields, errors: [{ kind: 'depth', message: `sections are nested too deeply to read (over ${MAX_SECTION_DEPTH} is refused); flatten the template`, offset: 0 }] };
    }
    return { variables, fields, errors: [toMustacheError(e)] };
  }

  const walk = (list: Mustache.TemplateSpans, inSection: boolean, depth: number): void => {
    for (const token of list) {
      const kind = token[0];
      if (kind === '>') {
        errors.push({ message: `partial {{> ${token[1]}}} is not supported: prompt templates are rendered without partials`, offset: token[2] });
        continue;
      }
      if (kind !== 'name' && kind !== '&' && kind !== '#' && kind !== '^') continue;
      const field = toField(text, token, kind, inSection);
      fields.push(field);
      if (!inSection && field.name !== '.' && field.variable !== '' && !seen.has(field.variable)) {
        seen.add(field.variable);
        variables.push(field.variable);
      }
      if (kind === '#' || kind === '^') {
        if (depth >= MAX_SECTION_DEPTH) {
          errors.push({
            kind: 'depth',
            message: `sections are nested more than ${MAX_SECTION_DEPTH} deep here ({{${kind}${field.name}}}); flatten the template`,
            offset: token[2],
          });
          continue;
        }
        const children = token[4];
        if (Array.isArray(children)) walk(children as Mustache.TemplateSpans, inSection || kind === '#', depth + 1);
      }
    }
  };
  walk(tokens, false, 0);
  return { variables, fields, errors };
}

function toField(text: string, token: Token, kind: MustacheField['kind'], inSection: boolean): MustacheField {
  const name = token[1];
  const start = token[2];
  const end = token[3];
  const at = name === '' ? -1 : text.slice(start, end).lastIndexOf(name);
  const nameStart = at >= 0 ? start + at : start;
  return {
    name,
    variable: name === '.' ? '.' : name.split('.')[0],
    kind,
    start,
    end,
    nameStart,
    nameEnd: at >= 0 ? nameStart + name.length : start,
    inSection,
  };
}

/** Mustache's parse errors end in "at <offset>" (e.g. `Unclosed tag at 12`); others sit at 0. */
function toMustacheError(e: unknown): MustacheError {
  const message = e instanceof Error ? e.message : String(e);
  const match = / at (\d+)$/.exec(message);
  return { message, offset: match ? Number(match[1]) : 0 };
}

/**
 * Renders with `Mustache.render`, values inserted without HTML escaping. A missing value renders
 * as empty text, as Mustache specifies.
 *
 * @throws Error with Mustache's own message for a malformed template, or ours for a partial.
 */
export function renderMustacheTemplate(text: string, values: Record<string, unknown>): string {
  const parsed = parseMustacheTemplate(text);
  if (parsed.errors.length > 0) throw new Error(parsed.errors[0].message);
  return Mustache.render(text, values, {}, { escape: (value: unknown) => String(value) });
}
