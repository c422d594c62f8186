/**
 * The template languages of `user.template.md`, behind one contract: `python` (CPython's
 * `str.format`, the default) and `mustache`. See DESIGN.md section 2.
 */
import { analyzePythonTemplate, renderPythonTemplate } from './pythonFormat';
import { parseMustacheTemplate, renderMustacheTemplate } from './mustacheFormat';

/** The `template_format` of a prompt version's metadata. */
export type TemplateFormat = 'python' | 'mustache';

/** One place in a template that inserts a value. Offsets are UTF-16 offsets into the template text. */
export interface TemplateField {
  /** The full field name as written, e.g. `user.name[0]` (python) or `user.name` (mustache). */
  name: string;
  /**
   * The first identifier of the name: the value a caller passes. For a positional python field
   * (`{}`, `{0}`) it is the empty string or the digits; such a field is an error and is not a variable.
   */
  variable: string;
  /** Offset of the opening brace of the field (`{` or the mustache tag's opening delimiter). */
  start: number;
  /** Offset just past the closing brace of the field. */
  end: number;
  nameStart: number;
  nameEnd: number;
  /** python: the conversion character after `!` (`r`, `s`, `a`; anything else is an error). */
  conversion?: string;
  /** python: the format spec after `:` as written, nested fields unexpanded (`>{width}`). */
  formatSpec?: string;
  /**
   * python: the field sits inside another field's format spec (`{width}` in `{name:>{width}}`).
   * mustache: the tag sits inside a `{{#section}}`, so its name is looked up in the section's item first.
   */
  nested: boolean;
}

/** A syntax error in a template, at the offending character (UTF-16 offset). */
export interface TemplateError {
  /**
   * Absent for a syntax error. `limit`: a format spec width or precision over `MAX_FORMAT_WIDTH`.
   * `depth`: sections nested deeper than `MAX_SECTION_DEPTH`. Either way rendering refuses the template.
   */
  kind?: 'limit' | 'depth';
  /** python: CPython's own message, e.g. `Single '}' encountered in format string`. mustache: the package's. */
  message: string;
  offset: number;
}

/** What a template needs and what is wrong with it. */
export interface ParsedTemplate {
  /** The values a caller must supply, unique, in order of first appearance (nested python specs included). */
  variables: string[];
  fields: TemplateField[];
  /** Empty for a well-formed template. For python, the first is the error `str.format` raises. */
  errors: TemplateError[];
}

/**
 * Reads a template without rendering it.
 *
 * python: fields and variables as CPython's `string.Formatter().parse` and `str.format` read them,
 * with the errors `str.format` raises whatever string values are passed (CPython's messages), and
 * positional fields (`{}`, `{0}`) as errors of ours, since prompts are rendered with keywords.
 * mustache: tags read by `Mustache.parse`; variables are the names outside sections plus section names.
 */
export function parseTemplate(text: string, format: TemplateFormat = 'python'): ParsedTemplate {
  if (format === 'mustache') {
    const parsed = parseMustacheTemplate(text);
    return {
      variables: parsed.variables,
      fields: parsed.fields.map((f) => ({
        name: f.name,
        variable: f.variable,
        start: f.start,
        end: f.end,
        nameStart: f.nameStart,
        nameEnd: f.nameEnd,
        nested: f.inSection,
      })),
      errors: parsed.errors.map((e) => ({ message: e.message, offset: e.offset, ...(e.kind ? { kind: e.kind } : {}) })),
    };
  }
  const parsed = analyzePythonTemplate(text);
  return {
    variables: parsed.variables,
    fields: parsed.fields.map((f) => {
      const field: TemplateField = {
        name: f.name,
        variable: f.first,
        start: f.start,
        end: f.end,
        nameStart: f.nameStart,
        nameEnd: f.nameEnd,
        nested: f.depth > 0,
      };
      if (f.conversion !== undefined) field.conversion = f.conversion;
      if (f.formatSpec !== undefined) field.formatSpec = f.formatSpec;
      return field;
    }),
    errors: parsed.errors.map((e) => ({ message: e.message, offset: e.offset, ...(e.kind ? { kind: e.kind } : {}) })),
  };
}

/**
 * Renders a template with the given values.
 *
 * python: exactly `template.format(**values)` in CPython 3.11, values read as `json.loads` would
 * read their JSON (strings, numbers, booleans, null, arrays as lists, plain objects as dicts).
 * Throws a `PythonFormatError` whose message is `f"{type(e).__name__}: {e}"` of CPython's exception,
 * e.g. `KeyError: 'customer_name'` or `ValueError: Single '}' encountered in format string`; for a
 * positional field that is CPython's `IndexError: Replacement index 0 out of range for positional args tuple`.
 * mustache: `Mustache.render` without HTML escaping; missing values render empty; throws for a
 * malformed template with Mustache's message.
 */
export function renderTemplate(text: string, values: Record<string, unknown>, format: TemplateFormat = 'python'): string {
  if (format === 'mustache') return renderMustacheTemplate(text, values);
  return renderPythonTemplate(text, values);
}
