import { formatterParse } from '../template/pythonFormat';
import type { TemplateFormat } from '../template/template';
import { parseTemplate, renderTemplate } from '../template/template';
import type { BundleVersion } from './bundle';

/**
 * A prompt version made ready to render many times: its template read once by the same template
 * code `check` and `eval` use. Templates of plain `{name}` fields render string values by
 * concatenating the pieces `string.Formatter().parse` returns, which is what `str.format` does for
 * a `str` with an empty spec; anything else goes through the full renderer.
 */

/** A template variable the request did not supply (DESIGN.md section 7): never a silent `None`. */
export class PromptVariableError extends Error {
  constructor(
    readonly prompt: string,
    readonly version: number,
    readonly variable: string,
    readonly missing: string[],
  ) {
    super(
      `${prompt} v${version} needs template ${missing.length === 1 ? 'variable' : 'variables'} ${missing.map((m) => `"${m}"`).join(', ')}, which the request's variables don't supply`,
    );
    this.name = 'PromptVariableError';
  }
}

/** A prompt version ready to render. */
export interface CompiledPrompt {
  name: string;
  version: number;
  dir: string;
  sha256: string;
  model: string;
  maxTokens: number;
  system: string | undefined;
  template: string;
  format: TemplateFormat;
  /** The variables the template needs. */
  variables: readonly string[];
  /** Literal pieces and field names alternating (`literal, name, literal, …, literal`), when the fast path applies. */
  pieces: string[] | null;
}

/** A prompt version whose template can't be used (it is malformed): found at start, not per request. */
export class TemplateCompileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateCompileError';
  }
}

const IDENTIFIER = /^[\p{L}_][\p{L}\p{N}_]*$/u;

/**
 * Reads a bundle version's template once.
 * @throws TemplateCompileError for a malformed template.
 */
export function compilePrompt(version: BundleVersion): CompiledPrompt {
  const format = version.metadata.template_format;
  const template = version.files.userTemplate;
  const parsed = parseTemplate(template, format);
  if (parsed.errors.length) {
    throw new TemplateCompileError(`${version.dir}/user.template.md is not a valid ${format} template: ${parsed.errors[0].message} (offset ${parsed.errors[0].offset})`);
  }
  let pieces: string[] | null = null;
  if (format === 'python') {
    const { items, error } = formatterParse(template);
    if (!error && items.every((i) => i.fieldName === null || (IDENTIFIER.test(i.fieldName) && i.formatSpec === '' && i.conversion === null))) {
      pieces = [];
      let pendingLiteral = '';
      for (const item of items) {
        pendingLiteral += item.literal;
        if (item.fieldName !== null) {
          pieces.push(pendingLiteral, item.fieldName);
          pendingLiteral = '';
        }
      }
      pieces.push(pendingLiteral);
    }
  }
  return {
    name: version.name,
    version: version.version,
    dir: version.dir,
    sha256: version.sha256,
    model: version.metadata.model,
    maxTokens: version.metadata.max_output_tokens,
    system: version.files.system,
    template,
    format,
    variables: parsed.variables,
    pieces,
  };
}

/**
 * Renders the user message with `variables`.
 * @throws PromptVariableError naming the prompt, version and the first missing variable.
 */
export function renderCompiled(prompt: CompiledPrompt, variables: Readonly<Record<string, unknown>>): string {
  let missing: string[] | undefined;
  for (const name of prompt.variables) {
    if (variables[name] === undefined || !Object.prototype.hasOwnProperty.call(variables, name)) (missing ??= []).push(name);
  }
  if (missing) throw new PromptVariableError(prompt.name, prompt.version, missing[0], missing);
  const pieces = prompt.pieces;
  if (pieces !== null) {
    let out = pieces[0];
    for (let i = 1; i < pieces.length; i += 2) {
      const value = variables[pieces[i]];
      if (typeof value !== 'string') return renderTemplate(prompt.template, variables as Record<string, unknown>, prompt.format);
      out += value + pieces[i + 1];
    }
    return out;
  }
  return renderTemplate(prompt.template, variables as Record<string, unknown>, prompt.format);
}
