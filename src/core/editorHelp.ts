/**
 * The editor help of templates and call sites (hover, go to definition, find references,
 * completion, quick fixes) as plain data: what is at an offset, who supplies a template variable,
 * the hover text, and the text edits of the quick fixes. The extension turns these into VS Code
 * objects; nothing here knows about the editor.
 */
import type { Node } from 'web-tree-sitter';
import { findNodeAtLocation, modify, parseTree } from 'jsonc-parser';
import type { CallSite, CallSiteInsertion, SourceLanguage } from './callSites';
import { variableInsertionText } from './callSites';
import type { LocatedCallSite, VersionContract } from './crossCheck';
import type { EvalExample } from './evalSet';
import type { Position, Range } from './finding';
import { codeSpan, markdownLink } from './escaping/markdown';
import { LineIndex } from './lineIndex';
import { byVersionNumber } from './promptLayout';
import type { TemplateField } from './template/template';

/** Whether `position` is inside `range`, both ends included (a cursor just after a word is on it). */
export function rangeContains(range: Range, position: Position): boolean {
  const afterStart =
    position.line > range.start.line || (position.line === range.start.line && position.character >= range.start.character);
  const beforeEnd = position.line < range.end.line || (position.line === range.end.line && position.character <= range.end.character);
  return afterStart && beforeEnd;
}

/**
 * The template field at `offset`, both ends included; the innermost one when fields nest (`{width}`
 * inside `{name:>{width}}`).
 */
export function fieldAt(fields: readonly TemplateField[], offset: number): TemplateField | undefined {
  let best: TemplateField | undefined;
  for (const field of fields) {
    if (offset < field.start || offset > field.end) continue;
    if (!best || field.end - field.start < best.end - best.start) best = field;
  }
  return best;
}

/** The call site whose prompt-name literal holds `position` (the quotes' insides, ends included). */
export function callSiteAtPromptName<T extends CallSite>(sites: readonly T[], position: Position): T | undefined {
  return sites.find((s) => rangeContains(s.promptNameRange, position));
}

/** The call site and the passed variable whose key holds `position`. */
export function callSiteVariableAt<T extends CallSite>(
  sites: readonly T[],
  position: Position,
): { site: T; variable: CallSite['variables'][number] } | undefined {
  for (const site of sites) {
    const variable = site.variables.find((v) => rangeContains(v.range, position));
    if (variable) return { site, variable };
  }
  return undefined;
}

/**
 * The versions a call site renders: the version it names, else every version (DESIGN.md section 3).
 * Empty when it names a version that doesn't exist.
 */
export function versionsRenderedBy<V extends { version: { version: number } }>(site: Pick<CallSite, 'version'>, versions: readonly V[]): V[] {
  if (site.version === undefined) return [...versions];
  return versions.filter((v) => v.version.version === site.version);
}

/** Whether `site` renders the version `contract` (same prompt, and that version or none named). */
export function rendersVersion(site: Pick<CallSite, 'promptName' | 'version'>, contract: VersionContract): boolean {
  return site.promptName === contract.version.name && (site.version === undefined || site.version === contract.version.version);
}

/**
 * Where the go-to-definition of a call site's prompt name leads: the template of the version it
 * names; when it names none (or one that doesn't exist), every version's, in `byVersionNumber`
 * order (the hover's), since the cross-check holds an unpinned call against each of them.
 */
export function definitionTargets(site: Pick<CallSite, 'version'>, versions: readonly VersionContract[]): VersionContract[] {
  const named = site.version === undefined ? [] : versionsRenderedBy(site, versions);
  const targets = named.length > 0 ? named : [...versions];
  return targets.sort((a, b) => byVersionNumber(a.version.version, b.version.version));
}

/** Who supplies one variable of one prompt version, and who leaves it out. */
export interface VariableSupply {
  /** Call sites passing it, with the range of the key (keyword, dict key, property). */
  passing: { site: LocatedCallSite; range: Range }[];
  /** Call sites that pass variables but not this one. */
  missing: LocatedCallSite[];
  /** Call sites whose variables can't be known statically (`**kwargs`, a spread): not cross-checked. */
  unchecked: LocatedCallSite[];
  /** Call sites that pass nothing (`load_prompt("x")`): the template is rendered elsewhere. */
  passNothing: LocatedCallSite[];
  /** Eval examples with the input, and those without it. */
  examples: { supplying: EvalExample[]; missing: EvalExample[] };
}

/** Sorts out who supplies `variable` of `contract` among `sites` (any prompt's; others are ignored) and the eval examples. */
export function supplyOf(contract: VersionContract, variable: string, sites: readonly LocatedCallSite[]): VariableSupply {
  const supply: VariableSupply = { passing: [], missing: [], unchecked: [], passNothing: [], examples: { supplying: [], missing: [] } };
  for (const site of sites) {
    if (!rendersVersion(site, contract)) continue;
    const passed = site.variables.find((v) => v.name === variable);
    if (passed) supply.passing.push({ site, range: passed.range });
    else if (site.dynamic) supply.unchecked.push(site);
    else if (!site.passesVariables) supply.passNothing.push(site);
    else supply.missing.push(site);
  }
  for (const example of contract.examples) {
    if (Object.prototype.hasOwnProperty.call(example.inputs, variable)) supply.examples.supplying.push(example);
    else supply.examples.missing.push(example);
  }
  return supply;
}

/**
 * The variables a call site leaves out, in template order: those of every version it renders
 * (versions with a malformed template aside, as in the cross-check). Empty for a site whose
 * variables can't be known or that passes none.
 */
export function missingVariables(site: CallSite, versions: readonly VersionContract[]): string[] {
  if (site.dynamic || !site.passesVariables) return [];
  const passed = new Set(site.variables.map((v) => v.name));
  const missing: string[] = [];
  for (const v of versionsRenderedBy(site, versions)) {
    if (v.template.errors.length > 0) continue;
    for (const name of v.template.variables) if (!passed.has(name) && !missing.includes(name)) missing.push(name);
  }
  return missing;
}

/** The variables a call site passes that no version it renders uses (candidates for a misspelling). */
export function unusedVariables(site: CallSite, versions: readonly VersionContract[]): string[] {
  const used = new Set(versionsRenderedBy(site, versions).flatMap((v) => v.template.variables));
  return [...new Set(site.variables.map((v) => v.name))].filter((name) => !used.has(name));
}

// ---------------------------------------------------------------------------------------------
// Hover text

/** Turns a repo-relative file (and optionally a range in it) into a link target (a URI string). */
export type LinkTo = (file: string, range?: Range) => string;

const MAX_HOVER_ITEMS = 8;

function siteLink(site: LocatedCallSite, link: LinkTo, range: Range = site.calleeRange): string {
  return markdownLink(`${site.file}:${site.range.start.line + 1}`, link(site.file, range));
}

function capped(items: string[], total = items.length): string {
  const shown = items.slice(0, MAX_HOVER_ITEMS).join(', ');
  return total > MAX_HOVER_ITEMS ? `${shown} and ${total - MAX_HOVER_ITEMS} more` : shown;
}

/** The hover of a template field: who passes its variable, who doesn't, and the eval coverage. */
export function fieldHoverMarkdown(field: Pick<TemplateField, 'variable'>, contract: VersionContract, supply: VariableSupply, link: LinkTo): string {
  const name = contract.version.name;
  // Each entry is a paragraph.
  const paragraphs: string[] = [`${codeSpan(`{${field.variable}}`)}: variable of ${codeSpan(name)} v${contract.version.version}`];
  const calls = supply.passing.length + supply.missing.length;
  const ofCalls = `${calls} call ${calls === 1 ? 'site' : 'sites'}`;
  if (calls + supply.unchecked.length + supply.passNothing.length === 0) {
    paragraphs.push(`No call site renders ${codeSpan(name)} v${contract.version.version}.`);
  }
  if (supply.passing.length > 0) {
    paragraphs.push(`Passed by ${supply.passing.length} of ${ofCalls}: ${capped(supply.passing.map((p) => siteLink(p.site, link, p.range)))}`);
  }
  if (supply.missing.length > 0) {
    const lead = supply.passing.length > 0 ? '' : `Passed by 0 of ${ofCalls}. `;
    paragraphs.push(`${lead}**Not passed** by ${capped(supply.missing.map((s) => siteLink(s, link)))}`);
  }
  if (supply.unchecked.length > 0) {
    paragraphs.push(`Not checked (variables not known statically): ${capped(supply.unchecked.map((s) => siteLink(s, link, s.dynamic?.range)))}`);
  }
  if (supply.passNothing.length > 0) {
    paragraphs.push(`Loaded without variables (rendered elsewhere): ${capped(supply.passNothing.map((s) => siteLink(s, link)))}`);
  }
  const { supplying, missing } = supply.examples;
  const total = supplying.length + missing.length;
  if (!contract.evalPath) paragraphs.push('No eval.jsonl.');
  else if (total === 0) paragraphs.push(`No eval examples in ${markdownLink(contract.evalPath, link(contract.evalPath))}.`);
  else {
    const coverage = `${supplying.length} of ${total} eval ${total === 1 ? 'example supplies' : 'examples supply'} it`;
    const missingIds = missing.map((e) => markdownLink(e.id, link(contract.evalPath!, exampleRange(e))));
    paragraphs.push(missing.length === 0 ? `${coverage}.` : `${coverage}; **missing** in ${capped(missingIds)}.`);
  }
  return paragraphs.join('\n\n');
}

/** What the hover of a prompt name shows of one version. */
export interface VersionSummary {
  version: number;
  /** Repo-relative path of user.template.md, when there is one. */
  templatePath?: string;
  variables: string[];
  model?: string;
  /** The template has syntax errors: its variables are not known. */
  malformed: boolean;
}

/** The hover of a call site's prompt name: the prompt, its versions and their variables, what this call leaves out. */
export function promptHoverMarkdown(site: CallSite, versions: readonly VersionSummary[], missing: readonly string[], link: LinkTo): string {
  const lines: string[] = [];
  if (versions.length === 0) {
    lines.push(`Prompt ${codeSpan(site.promptName)}: no ${codeSpan(`prompts/${site.promptName}/v<N>/`)} directory.`);
    return lines.join('\n\n');
  }
  const sorted = [...versions].sort((a, b) => byVersionNumber(a.version, b.version));
  const rendered = new Set(versionsRenderedBy(site, sorted.map((v) => ({ version: { version: v.version } }))).map((v) => v.version.version));
  const which =
    site.version === undefined
      ? `this call renders every version`
      : rendered.size > 0
        ? `this call renders v${site.version}`
        : `this call names v${site.version}, which does not exist`;
  lines.push(`Prompt ${codeSpan(site.promptName)}: ${sorted.length} ${sorted.length === 1 ? 'version' : 'versions'}, ${which}`);
  for (const v of sorted) {
    const label = v.templatePath ? markdownLink(`v${v.version}`, link(v.templatePath)) : `v${v.version}`;
    const variables = v.malformed
      ? 'template has syntax errors'
      : v.templatePath === undefined
        ? 'no user.template.md'
        : v.variables.length === 0
          ? 'no variables'
          : v.variables.map(codeSpan).join(', ');
    lines.push(`- ${label}${v.model ? ` (${codeSpan(v.model)})` : ''}: ${variables}`);
  }
  const body = [lines[0], lines.slice(1).join('\n')];
  if (site.dynamic) body.push(`Variables not known statically: not cross-checked.`);
  else if (missing.length > 0) body.push(`**Missing** here: ${missing.map(codeSpan).join(', ')}`);
  return body.join('\n\n');
}

/** The range of an eval example's line. */
export function exampleRange(example: Pick<EvalExample, 'line' | 'length'>): Range {
  return { start: { line: example.line, character: 0 }, end: { line: example.line, character: example.length } };
}

/**
 * Offsets within one eval.jsonl line of the key `"name"` in its `inputs` object (quotes included),
 * or undefined when the line has no such input.
 */
export function inputKeyOffsets(lineText: string, name: string): { start: number; end: number } | undefined {
  const root = parseTree(lineText, [], { disallowComments: true });
  const value = root && findNodeAtLocation(root, ['inputs', name]);
  const key = value?.parent?.children?.[0];
  if (!key || key.type !== 'string') return undefined;
  return { start: key.offset, end: key.offset + key.length };
}

// ---------------------------------------------------------------------------------------------
// Completion

/** Where the cursor is when a template variable name would fit there. */
export interface VariableCompletionContext {
  site: CallSite;
  /** A keyword argument, a dict key or an object-literal key. */
  style: 'python-kwarg' | 'python-dict' | 'object-literal';
  /** The word to replace (the typed prefix and the rest of the word after the cursor), as offsets. */
  replaceStart: number;
  replaceEnd: number;
  /** The key is being typed inside quotes: insert the bare name. */
  quoted: boolean;
  /** The word is already followed by its `=` or `:`: insert the bare name. */
  separated: boolean;
  /** The variables the call already passes, the one being typed aside. */
  passed: Set<string>;
}

const WORD_CHAR = /[A-Za-z0-9_$]/;

/**
 * Whether `offset` in `text` is where a template variable name goes in one of `sites`' calls: a
 * keyword argument of a Python call (or of its chained `.format(...)`), or a key of the dict or
 * object literal passed to it. `root` is the syntax tree of `text` and `sites` its call sites
 * (`extractCallSites` of the same tree). Tolerates the half-typed code of a completion request:
 * tree-sitter keeps the container around an unfinished entry.
 */
export function variableCompletionContext(root: Node, text: string, offset: number, sites: readonly CallSite[]): VariableCompletionContext | undefined {
  let replaceStart = offset;
  while (replaceStart > 0 && WORD_CHAR.test(text[replaceStart - 1])) replaceStart--;
  let replaceEnd = offset;
  while (replaceEnd < text.length && WORD_CHAR.test(text[replaceEnd])) replaceEnd++;
  let before = replaceStart;
  const quoted = before > 0 && (text[before - 1] === '"' || text[before - 1] === "'");
  if (quoted) before--;
  while (before > 0 && /\s/.test(text[before - 1])) before--;
  const previous = before > 0 ? text[before - 1] : '';
  if (previous !== ',' && previous !== '(' && previous !== '{') return undefined;
  let after = replaceEnd;
  if (quoted && (text[after] === '"' || text[after] === "'")) after++;
  while (after < text.length && (text[after] === ' ' || text[after] === '\t')) after++;
  const separated = text[after] === ':' || (text[after] === '=' && text[after + 1] !== '=');

  // The innermost argument list, dict or object around the cursor.
  let node: Node | null = root.descendantForIndex(Math.max(0, before - 1), Math.max(0, before - 1));
  while (node && !['argument_list', 'arguments', 'dictionary', 'object'].includes(node.type)) node = node.parent;
  if (!node) return undefined;
  // A bracket of the container itself is a child of it; a bracket of the entry being typed is not reached here.
  if (previous === '(' && node.type !== 'argument_list') return undefined;
  if (previous === '{' && node.type !== 'dictionary' && node.type !== 'object') return undefined;

  const siteOf = (call: Node | null): CallSite | undefined => {
    if (!call || (call.type !== 'call' && call.type !== 'call_expression')) return undefined;
    return sites.find((s) => sameRange(s.range, call));
  };
  if (node.type === 'argument_list') {
    const site = siteOf(node.parent);
    if (!site || site.language !== 'python' || offset <= node.startIndex) return undefined;
    // Not before the prompt name: the first argument of the render call is the name literal.
    if (!isChainedFormat(node.parent!) && before - 1 < firstArgumentEnd(node)) return undefined;
    return context(site, 'python-kwarg');
  }
  if (node.type === 'arguments') return undefined;
  let up: Node | null = node.parent;
  while (up && (up.type === 'parenthesized_expression' || up.type === 'dictionary_splat')) up = up.parent;
  if (!up || (up.type !== 'argument_list' && up.type !== 'arguments')) return undefined;
  const site = siteOf(up.parent);
  if (!site) return undefined;
  return context(site, node.type === 'dictionary' ? 'python-dict' : 'object-literal');

  function context(site: CallSite, style: VariableCompletionContext['style']): VariableCompletionContext {
    // A shorthand property being typed (`{ a, ti| }`) is read as passed: it is the word being replaced.
    const lines = new LineIndex(text);
    const typing = (r: Range): boolean => lines.offsetAt(r.start) <= replaceEnd && lines.offsetAt(r.end) >= replaceStart;
    const passed = new Set(site.variables.filter((v) => !typing(v.range)).map((v) => v.name));
    return { site, style, replaceStart, replaceEnd, quoted, separated, passed };
  }
}

function sameRange(range: Range, node: Node): boolean {
  return (
    range.start.line === node.startPosition.row &&
    range.start.character === node.startPosition.column &&
    range.end.line === node.endPosition.row &&
    range.end.character === node.endPosition.column
  );
}

/** `x.format(...)` where `x` is itself a call: the arguments are the template's variables. */
function isChainedFormat(call: Node): boolean {
  const fn = call.childForFieldName('function');
  return !!fn && fn.type === 'attribute' && fn.childForFieldName('object')?.type === 'call';
}

function firstArgumentEnd(argList: Node): number {
  for (const c of argList.namedChildren) if (c && c.type !== 'comment') return c.endIndex;
  return argList.endIndex;
}

/** The text a completion inserts for `name` in `context` (replacing the typed word). */
export function completionInsertText(context: Pick<VariableCompletionContext, 'style' | 'quoted' | 'separated'>, name: string): string {
  if (context.quoted || context.separated) return name;
  switch (context.style) {
    case 'python-kwarg':
      return `${name}=`;
    case 'python-dict':
      return `${JSON.stringify(name)}: `;
    case 'object-literal':
      return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? `${name}: ` : `'${name.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}': `;
  }
}

/** Whether a completion of `name` fits `context` (a Python keyword argument must be an identifier). */
export function completionFits(context: Pick<VariableCompletionContext, 'style' | 'quoted'>, name: string): boolean {
  if (context.style === 'python-kwarg') return !context.quoted && isPythonIdentifier(name);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Quick fixes

/** One insertion into a text: `text` goes at `offset` (UTF-16 code units). */
export interface TextInsertion {
  offset: number;
  text: string;
}

const PYTHON_KEYWORDS = new Set(
  (
    'False None True and as assert async await break class continue def del elif else except finally for from ' +
    'global if import in is lambda nonlocal not or pass raise return try while with yield'
  ).split(' '),
);
const SCRIPT_RESERVED = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false finally for ' +
    'function if import in instanceof new null return super switch this throw true try typeof var void while with ' +
    'yield let static implements interface package private protected public await'
  ).split(' '),
);

function isPythonIdentifier(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !PYTHON_KEYWORDS.has(name);
}

/**
 * The value a quick fix writes for a missing variable: the variable's own name, as an expression
 * (`ticket=ticket`, `{ ticket }`). When the caller has a binding of that name it is very likely
 * the value meant; when it has none, the language's own checks (Pyright/mypy, tsc, a NameError on
 * the first run) point straight at it, where `None` or `""` would render a wrong prompt without a
 * word. A name that can't be an expression gets `None` / `undefined`.
 */
export function placeholderValue(name: string, language: SourceLanguage): string {
  if (language === 'python') return isPythonIdentifier(name) ? name : 'None';
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) && !SCRIPT_RESERVED.has(name) ? name : 'undefined';
}

/**
 * The insertion that adds `names` (in order) to a call site, built with `variableInsertionText`
 * for each name in turn; undefined when the site has no literal to add them to, its variables
 * can't be known statically, or a name can't be written there (a Python keyword as a keyword argument).
 */
export function addVariablesInsertion(
  site: Pick<CallSite, 'insertion' | 'language' | 'dynamic'>,
  names: readonly string[],
  /** The value written for each name; default `placeholderValue`. The editor passes a snippet placeholder for the user to type. */
  valueOf: (name: string) => string = (name) => placeholderValue(name, site.language),
): TextInsertion | undefined {
  if (!site.insertion || site.dynamic || names.length === 0) return undefined;
  let insertion: CallSiteInsertion = site.insertion;
  let text = '';
  // Where, inside `text`, the next entry goes: after the last entry written, inside any brackets written.
  let at = 0;
  for (const name of names) {
    const piece = variableInsertionText(insertion, name, valueOf(name));
    if (piece === undefined) return undefined;
    text = text.slice(0, at) + piece + text.slice(at);
    if (insertion.style === 'object-argument') {
      // `, { a }`: the next entry goes before the ` }` just written, into that object.
      at += piece.lastIndexOf(' }');
      insertion = { offset: 0, position: insertion.position, style: 'object-literal', empty: false, needsComma: true, trailingComma: false };
    } else if (insertion.empty && insertion.style === 'object-literal') {
      // `{}` became `{ a }`: the next entry goes before the closing space.
      at += piece.length - 1;
      insertion = { ...insertion, empty: false, needsComma: true };
    } else {
      at += piece.length;
      // On their own lines, entries keep the trailing-comma style; on one line, each new one starts with a comma.
      const ownLines = insertion.indent !== undefined;
      insertion = { ...insertion, empty: false, needsComma: ownLines ? !insertion.trailingComma : true, trailingComma: ownLines && insertion.trailingComma };
    }
  }
  return { offset: site.insertion.offset, text };
}

/**
 * The insertion that adds the input `name` (an empty string) to the `inputs` object of one
 * eval.jsonl line, written with jsonc-parser's `modify` before the object's closing brace and
 * kept on the line, spaced as the line's other members are. Undefined when the line has no
 * `inputs` object or already has the input.
 */
export function addEvalInputInsertion(lineText: string, name: string): TextInsertion | undefined {
  const root = parseTree(lineText, [], { disallowComments: true });
  const inputs = root && findNodeAtLocation(root, ['inputs']);
  if (!inputs || inputs.type !== 'object') return undefined;
  if (findNodeAtLocation(root, ['inputs', name])) return undefined;
  const edits = modify(lineText, ['inputs', name], '', {});
  if (edits.length !== 1 || edits[0].length !== 0) return undefined;
  const { offset, content } = edits[0];
  // `modify` writes `,"name": ""`; follow the line's own spacing (`", "` and `": "` as json.dumps writes them).
  const itemSeparator = /,\s/.test(lineText.slice(inputs.offset, inputs.offset + inputs.length)) || /,\s"/.test(lineText) ? ', ' : ',';
  const keySeparator = /":\s/.test(lineText) ? ': ' : ':';
  const member = `${JSON.stringify(name)}${keySeparator}""`;
  const text = content.startsWith(',') ? `${itemSeparator}${member}` : member;
  return { offset, text };
}

/** Applies insertions (any order) to `text`. */
export function applyInsertions(text: string, insertions: readonly TextInsertion[]): string {
  let out = text;
  for (const i of [...insertions].sort((a, b) => b.offset - a.offset)) out = out.slice(0, i.offset) + i.text + out.slice(i.offset);
  return out;
}

/** The insertion adding several inputs to one eval line: each added in turn, merged into one insertion. */
export function addEvalInputsInsertion(lineText: string, names: readonly string[]): TextInsertion | undefined {
  let current = lineText;
  let first: number | undefined;
  for (const name of names) {
    const insertion = addEvalInputInsertion(current, name);
    if (!insertion) return undefined;
    first ??= insertion.offset;
    current = applyInsertions(current, [insertion]);
  }
  if (first === undefined) return undefined;
  // Each input went after the previous one: all the new text is one run starting at the first offset.
  return { offset: first, text: current.slice(first, first + current.length - lineText.length) };
}

/** The template variables an eval example (parsed from `lineText`) lacks, in template order. */
export function missingInputs(example: Pick<EvalExample, 'inputs'>, variables: readonly string[]): string[] {
  return variables.filter((v) => !Object.prototype.hasOwnProperty.call(example.inputs, v));
}

/** A replacement of `length` characters at `offset` (line-relative for eval lines, document offsets for sources). */
export interface TextReplacement {
  offset: number;
  length: number;
  text: string;
}

/**
 * Renames the variable `from` of a call site to `to`, keeping its value: the keyword or key is
 * replaced; a shorthand property (`{ customer_nmae }`) becomes `to: customer_nmae`, so the code
 * still passes the variable it had. `offsetOf` maps a position of the site's file to an offset.
 */
export function renameVariableReplacement(
  site: Pick<CallSite, 'variables'>,
  from: string,
  to: string,
  offsetOf: (position: Position) => number,
): TextReplacement | undefined {
  const variable = site.variables.find((v) => v.name === from);
  if (!variable) return undefined;
  const offset = offsetOf(variable.range.start);
  const length = offsetOf(variable.range.end) - offset;
  return { offset, length, text: variable.valueRange ? to : `${to}: ${from}` };
}

/** Renames the key `from` of an eval line's `inputs` object to `to` (inside its quotes), keeping the value. */
export function renameEvalInputReplacement(lineText: string, from: string, to: string): TextReplacement | undefined {
  const root = parseTree(lineText, [], { disallowComments: true });
  const inputs = root && findNodeAtLocation(root, ['inputs']);
  if (!inputs || inputs.type !== 'object') return undefined;
  const property = inputs.children?.find((p) => p.children?.[0]?.value === from);
  const key = property?.children?.[0];
  if (!key) return undefined;
  return { offset: key.offset, length: key.length, text: JSON.stringify(to) };
}
