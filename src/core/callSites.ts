import type { Node } from 'web-tree-sitter';
import picomatch from 'picomatch/posix';
import type { Position, Range } from './finding';
import { VERSION_DIR_PATTERN, versionOfDirName } from './promptLayout';
import type { RepoSettings } from './repoSettings';

/** The source languages whose calls are read as call sites. `tsx` is TypeScript with JSX. */
export type SourceLanguage = 'python' | 'typescript' | 'tsx' | 'javascript';

/** One variable a call site supplies to the template. */
export interface CallSiteVariable {
  /** The variable's name as the template sees it (`customer_name`). */
  name: string;
  /** The keyword, key or shorthand property; for a quoted key, the text inside the quotes. */
  range: Range;
  /** The value expression; absent for a shorthand property (`{ customerName }`) and a method. */
  valueRange?: Range;
}

/**
 * How a quick fix adds a variable to a call site. `python-kwarg`: a keyword argument in a call's
 * argument list; `python-dict`: a key in a dict literal; `object-literal`: a property in an object
 * literal; `object-argument`: a new object literal argument after the last argument (a TS/JS call
 * that passes no object yet). Build the inserted text with `variableInsertionText`.
 */
export type InsertionStyle = 'python-kwarg' | 'python-dict' | 'object-literal' | 'object-argument';

/** Where a quick fix inserts a missing variable, and what the text around it needs. */
export interface CallSiteInsertion {
  /** Offset in the source text (UTF-16 code units) where the text goes. */
  offset: number;
  /** The same place as a position. */
  position: Position;
  style: InsertionStyle;
  /** The last existing entry has no comma after it: the inserted text starts with one. */
  needsComma: boolean;
  /**
   * Set when the entries sit on their own lines: the new entry goes on a new line with this
   * indentation (that of the last entry's line).
   */
  indent?: string;
  /** The last entry is followed by a comma: a new entry on its own line keeps that style. */
  trailingComma: boolean;
  /** The container has no entries yet (`{}`, `()` after the name). */
  empty: boolean;
  /** The quote the existing string keys use, for `python-dict` and quoted `object-literal` keys. */
  quote?: '"' | "'";
}

/** Why a call site's variables (or version) can't be known without running the code. */
export interface DynamicReason {
  reason: string;
  /** The expression responsible (`**kwargs`, `...vars`, the variable passed as the mapping). */
  range: Range;
}

/**
 * A call of a render function found in source code (DESIGN.md section 3): the callee's last name is
 * one of the configured functions and its first argument is a string literal naming a prompt.
 * All ranges are 0-based lines and UTF-16 characters, as `Finding` ranges are.
 */
export interface CallSite {
  /** `summarisation`, from `"summarisation"` or `"summarisation/v2"`. */
  promptName: string;
  /** From `"name/vN"`, a `version=N` keyword or a `version: N` property. */
  version?: number;
  /** Where the version was read: the `vN` in the name literal or the version value. */
  versionRange?: Range;
  /** A `version` whose value isn't an integer literal: the site names one version, but not which. */
  unknownVersion?: DynamicReason;
  /** A version written as a number beyond `MAX_VERSION` (`"x/v99999999999999999999"`): an error. */
  versionTooLarge?: { text: string; range: Range };
  /** The callee's last name, e.g. `render_prompt` for `llm.prompts.render_prompt(...)`. */
  callee: string;
  /** The whole call; with a chained `.format(...)`, the whole chain. */
  range: Range;
  calleeRange: Range;
  /** The prompt-name literal, inside the quotes. */
  promptNameRange: Range;
  /** The variables passed, in source order (duplicates kept). `version` is not one of them. */
  variables: CallSiteVariable[];
  /**
   * Set when some variables can't be known statically (`**kwargs`, a spread, a variable passed as
   * the mapping, a computed key): `variables` is then incomplete and the site isn't cross-checked.
   */
  dynamic?: DynamicReason;
  /**
   * False only for a loader (see `isLoaderFunction`) called with nothing besides the name (and
   * version) and not chained with `.format(...)`, as in `template = load_prompt("x")`: the template
   * is rendered elsewhere, so an empty `variables` doesn't mean the caller supplies nothing. A
   * render function called with no variables (`render_prompt("x")`) passes none, and is checked.
   */
  passesVariables: boolean;
  /** Where a quick fix adds a missing variable; absent when there is no literal to add it to. */
  insertion?: CallSiteInsertion;
  language: SourceLanguage;
}

/**
 * A function that returns the template for the caller to render later, by its name: one that
 * starts with the word `load` (`load_prompt`, `loadPrompt`, `load`). Any other render function
 * renders where it is called, so calling it without variables is forgetting all of them.
 */
export function isLoaderFunction(callee: string): boolean {
  return /^(?:load|Load|LOAD)(?:$|_|[A-Z0-9])/.test(callee);
}

/** The language of a source file by its extension; undefined for files that aren't read for call sites. */
export function sourceLanguageForPath(path: string): SourceLanguage | undefined {
  const dot = path.lastIndexOf('.');
  if (dot < 0 || dot < path.lastIndexOf('/')) return undefined;
  switch (path.slice(dot + 1).toLowerCase()) {
    case 'py':
    case 'pyi':
      return 'python';
    case 'ts':
    case 'mts':
    case 'cts':
      return 'typescript';
    case 'tsx':
      return 'tsx';
    case 'js':
    case 'mjs':
    case 'cjs':
    case 'jsx':
      // The JavaScript grammar parses JSX too.
      return 'javascript';
    default:
      return undefined;
  }
}

/**
 * A predicate for repo-relative POSIX paths: matches one of `callSites.include` and none of
 * `callSites.exclude`. Include patterns don't enter dot directories unless they name them (so
 * `.venv/` stays out by default); exclude patterns do, so `**‍/node_modules/**` also covers
 * `node_modules/.pnpm/...`.
 */
export function callSiteSourceMatcher(callSites: RepoSettings['callSites']): (path: string) => boolean {
  const include = picomatch(callSites.include, { dot: false });
  const exclude = callSites.exclude.length > 0 ? picomatch(callSites.exclude, { dot: true }) : () => false;
  return (path) => {
    const p = path.startsWith('./') ? path.slice(2) : path;
    return include(p) && !exclude(p);
  };
}

const matcherMemo = new WeakMap<RepoSettings['callSites'], (path: string) => boolean>();

/**
 * Whether a repo-relative POSIX path is read for call sites under `prompt-ci.yaml` `callSites`.
 * The compiled globs are remembered per settings object, so calling this for every file is cheap.
 */
export function isCallSiteSource(path: string, callSites: RepoSettings['callSites']): boolean {
  let matcher = matcherMemo.get(callSites);
  if (!matcher) {
    matcher = callSiteSourceMatcher(callSites);
    matcherMemo.set(callSites, matcher);
  }
  return matcher(path);
}

/** A prompt reference read from a name literal: `summarisation` or `summarisation/v2`. */
export interface PromptReference {
  promptName: string;
  version?: number;
  /** Offset of the `vN` within the literal, when there is one. */
  versionOffset?: number;
  /** Set, instead of `version`, for a `vN` whose N is beyond `MAX_VERSION`: the `vN` as written. */
  versionTooLarge?: string;
}

/** Splits `name/vN` into name and version; any other text is the name as written. */
export function parsePromptReference(literal: string): PromptReference {
  const slash = literal.lastIndexOf('/');
  if (slash > 0) {
    const segment = literal.slice(slash + 1);
    const version = versionOfDirName(segment);
    if (version !== undefined) return { promptName: literal.slice(0, slash), version, versionOffset: slash + 1 };
    if (VERSION_DIR_PATTERN.test(segment)) return { promptName: literal.slice(0, slash), versionOffset: slash + 1, versionTooLarge: segment };
  }
  return { promptName: literal };
}

const PYTHON_KEYWORDS = new Set(
  (
    'False None True and as assert async await break class continue def del elif else except finally for from ' +
    'global if import in is lambda nonlocal not or pass raise return try while with yield'
  ).split(' '),
);

/**
 * The exact text a quick fix inserts at `insertion.offset` to add `name` with the value `valueText`
 * (source text, e.g. `customer_name` or `None`). An object-literal entry whose value is the name
 * itself becomes a shorthand property. Undefined when `name` can't be written in that position
 * (a Python keyword as a keyword argument).
 */
export function variableInsertionText(insertion: CallSiteInsertion, name: string, valueText: string): string | undefined {
  let entry: string;
  switch (insertion.style) {
    case 'python-kwarg':
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || PYTHON_KEYWORDS.has(name)) return undefined;
      entry = `${name}=${valueText}`;
      break;
    case 'python-dict': {
      const q = insertion.quote ?? '"';
      entry = `${q}${escapeQuoted(name, q)}${q}: ${valueText}`;
      break;
    }
    case 'object-literal':
    case 'object-argument': {
      const q = insertion.quote;
      const bare = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name);
      if (q !== undefined || !bare) {
        const quote = q ?? "'";
        entry = `${quote}${escapeQuoted(name, quote)}${quote}: ${valueText}`;
      } else {
        entry = valueText === name ? name : `${name}: ${valueText}`;
      }
      if (insertion.style === 'object-argument') entry = `{ ${entry} }`;
      break;
    }
  }
  if (insertion.indent !== undefined) {
    return `${insertion.needsComma ? ',' : ''}\n${insertion.indent}${entry}${insertion.trailingComma ? ',' : ''}`;
  }
  if (insertion.empty) return insertion.style === 'object-literal' ? ` ${entry} ` : entry;
  return `${insertion.needsComma ? ',' : ''} ${entry}`;
}

function escapeQuoted(text: string, quote: string): string {
  return text.replace(/\\/g, '\\\\').split(quote).join(`\\${quote}`);
}

/**
 * False when `text` can't hold a call site: none of `functions` occurs in it. A callee matches only
 * when its source text is exactly a configured name, so a file without any of the names has no call
 * site and needn't be parsed; most source files of a repository are like that. This never finds a
 * site, it only proves there is none.
 */
export function mayContainCallSites(text: string, functions: readonly string[]): boolean {
  // One pass of a literal alternation of the names (each escaped), not one search per name.
  const names = namesPattern(functions);
  return names !== undefined && names.test(text);
}

/** The last names asked about, and their pattern (undefined: no non-empty name). */
let lastNames: { key: string; pattern: RegExp | undefined } | undefined;

function namesPattern(functions: readonly string[]): RegExp | undefined {
  const key = JSON.stringify(functions);
  if (lastNames?.key !== key) {
    const names = functions.filter((name) => name.length > 0);
    lastNames = { key, pattern: names.length === 0 ? undefined : new RegExp(names.map((name) => name.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')).join('|')) };
  }
  return lastNames.pattern;
}

/**
 * Finds the call sites in one parsed source file. `root` is the tree's root node, `text` the exact
 * text that was parsed (positions and offsets are read from the tree, which web-tree-sitter reports
 * in UTF-16 code units for string input, the units of `text` and of `Range`). Only the syntax tree
 * is inspected: a name built at run time (f-string, concatenation, variable) is not a call site.
 */
export function extractCallSites(
  root: Node,
  text: string,
  language: SourceLanguage,
  functions: readonly string[],
): CallSite[] {
  const names = new Set(functions);
  const sites: CallSite[] = [];
  const extractor = language === 'python' ? new PythonExtractor(text) : new ScriptExtractor(text, language);
  for (const call of callsNaming(root, text, extractor.callType, names)) {
    const site = extractor.site(call, names);
    if (site) sites.push(site);
  }
  return sites;
}

/**
 * The calls that may be call sites, in document order: a call site's callee ends in one of `names`,
 * so only the calls enclosing an occurrence of a name need looking at (the nearest call around
 * each), not every call in the file, which a large module has by the thousand.
 */
function callsNaming(root: Node, text: string, callType: string, names: ReadonlySet<string>): Node[] {
  const calls = new Map<number, Node>();
  for (const name of names) {
    if (name.length === 0) continue;
    for (let at = text.indexOf(name); at !== -1; at = text.indexOf(name, at + name.length)) {
      let node: Node | null = root.descendantForIndex(at, at + name.length);
      while (node && node.type !== callType) node = node.parent;
      if (node && !calls.has(node.id)) calls.set(node.id, node);
    }
  }
  // Pre-order, as a walk of the tree meets them: by start, the outer of two calls starting together first.
  return [...calls.values()].sort((a, b) => a.startIndex - b.startIndex || b.endIndex - a.endIndex);
}

function pos(p: { row: number; column: number }): Position {
  return { line: p.row, character: p.column };
}

function rangeOf(node: Node): Range {
  return { start: pos(node.startPosition), end: pos(node.endPosition) };
}

/** The named children that are code, not comments. */
function entries(node: Node): Node[] {
  const out: Node[] = [];
  for (const c of node.namedChildren) if (c && c.type !== 'comment') out.push(c);
  return out;
}

/** A string literal's value and the range of its contents (inside the quotes). */
interface Literal {
  value: string;
  range: Range;
  start: Node;
}

/** Collects what the extractors find for one call. */
class SiteBuilder {
  variables: CallSiteVariable[] = [];
  dynamic?: DynamicReason;
  version?: number;
  versionRange?: Range;
  unknownVersion?: DynamicReason;
  versionTooLarge?: { text: string; range: Range };
  insertion?: CallSiteInsertion;
  passesVariables = false;

  markDynamic(reason: string, range: Range): void {
    this.passesVariables = true;
    // The first reason in source order is the one reported.
    if (!this.dynamic) this.dynamic = { reason, range };
  }

  addVariable(name: string, range: Range, valueRange?: Range): void {
    this.passesVariables = true;
    this.variables.push(valueRange ? { name, range, valueRange } : { name, range });
  }
}

/** The parts shared by both languages' extractors. */
abstract class Extractor {
  abstract readonly callType: string;
  protected abstract readonly language: SourceLanguage;

  constructor(protected readonly text: string) {}

  /** The callee's last name node, e.g. `render_prompt` of `llm.prompts.render_prompt`. */
  protected abstract calleeName(fn: Node): Node | undefined;
  /** The value of a string literal written without interpolation or escapes. */
  protected abstract literal(node: Node): Literal | undefined;
  /**
   * Reads the arguments after the name, and a chained `.format(...)`, into `out`. Returns the
   * outer `.format(...)` call when there is one: the site's range then covers the whole chain.
   */
  protected abstract readArguments(call: Node, args: Node[], out: SiteBuilder): Node | undefined;

  site(call: Node, names: Set<string>): CallSite | undefined {
    const fn = call.childForFieldName('function');
    if (!fn) return undefined;
    const nameNode = this.calleeName(fn);
    if (!nameNode) return undefined;
    const callee = this.slice(nameNode);
    if (!names.has(callee)) return undefined;
    const argList = call.childForFieldName('arguments');
    if (!argList || argList.type !== this.argumentListType) return undefined;
    const args = entries(argList);
    if (args.length === 0) return undefined;
    const nameLiteral = this.literal(this.unwrap(args[0]));
    if (!nameLiteral) return undefined;

    const ref = parsePromptReference(nameLiteral.value);
    const out = new SiteBuilder();
    if (ref.version !== undefined && ref.versionOffset !== undefined && !nameLiteral.value.includes('\n')) {
      out.version = ref.version;
      const start = nameLiteral.range.start;
      out.versionRange = {
        start: { line: start.line, character: start.character + ref.versionOffset },
        end: { line: start.line, character: start.character + nameLiteral.value.length },
      };
    }
    if (ref.versionTooLarge !== undefined && ref.versionOffset !== undefined && !nameLiteral.value.includes('\n')) {
      const start = nameLiteral.range.start;
      out.versionTooLarge = {
        text: ref.versionTooLarge,
        range: {
          start: { line: start.line, character: start.character + ref.versionOffset },
          end: { line: start.line, character: start.character + nameLiteral.value.length },
        },
      };
    }
    const outer = this.readArguments(call, args, out) ?? call;
    return {
      promptName: ref.promptName,
      ...(out.version !== undefined ? { version: out.version, versionRange: out.versionRange } : {}),
      ...(out.unknownVersion && out.version === undefined ? { unknownVersion: out.unknownVersion } : {}),
      ...(out.versionTooLarge && out.version === undefined ? { versionTooLarge: out.versionTooLarge } : {}),
      callee,
      range: rangeOf(outer),
      calleeRange: rangeOf(nameNode),
      promptNameRange: nameLiteral.range,
      variables: out.variables,
      ...(out.dynamic ? { dynamic: out.dynamic } : {}),
      passesVariables: out.passesVariables || !isLoaderFunction(callee),
      ...(out.insertion ? { insertion: out.insertion } : {}),
      language: this.language,
    };
  }

  protected abstract readonly argumentListType: string;

  /** Strips parentheses and type-only wrappers that don't change the value. */
  protected abstract unwrap(node: Node): Node;

  protected slice(node: Node): string {
    return this.text.slice(node.startIndex, node.endIndex);
  }

  /** A short quote of an expression for a message. */
  protected quote(node: Node): string {
    const t = this.slice(node).replace(/\s+/g, ' ');
    return t.length > 40 ? `${t.slice(0, 39)}…` : t;
  }

  /** Reads `version=` / `version:` values. */
  protected readVersion(value: Node, out: SiteBuilder): void {
    if (out.version !== undefined) return; // `name/vN` in the literal was first; it wins.
    const v = this.integer(this.unwrap(value));
    if (typeof v === 'number') {
      out.version = v;
      out.versionRange = rangeOf(value);
    } else if (v !== undefined) {
      out.versionTooLarge ??= { text: v.tooLarge, range: rangeOf(value) };
    } else if (!out.unknownVersion) {
      out.unknownVersion = { reason: `the version \`${this.quote(value)}\` can't be known statically`, range: rangeOf(value) };
    }
  }

  /** A positive integer literal's value; `tooLarge` (the digits) beyond `MAX_VERSION`. */
  private integer(node: Node): number | { tooLarge: string } | undefined {
    const lit = this.literal(node);
    const raw = lit ? lit.value : node.type === 'integer' || node.type === 'number' ? this.slice(node).replace(/_/g, '') : undefined;
    if (raw === undefined || !/^[0-9]+$/.test(raw)) return undefined;
    const n = Number(raw);
    if (!Number.isSafeInteger(n)) return /^0*$/.test(raw) ? undefined : { tooLarge: raw.replace(/^0+/, '') };
    return n > 0 ? n : undefined;
  }

  /**
   * The insertion point after the last entry of a bracketed container (argument list, dict,
   * object), or just inside its opening bracket when it has none.
   */
  protected insertionIn(container: Node, style: InsertionStyle, items: Node[], quote?: '"' | "'"): CallSiteInsertion {
    const open = container.child(0);
    const close = container.child(container.childCount - 1);
    const withQuote = quote ? { quote } : {};
    if (!open || !close) {
      return { offset: container.endIndex, position: pos(container.endPosition), style, needsComma: false, trailingComma: false, empty: true, ...withQuote };
    }
    if (items.length === 0) {
      return { offset: open.endIndex, position: pos(open.endPosition), style, needsComma: false, trailingComma: false, empty: true, ...withQuote };
    }
    const last = items[items.length - 1];
    let after: Node = last;
    let trailingComma = false;
    for (let s = last.nextSibling; s && s.id !== close.id; s = s.nextSibling) {
      if (!trailingComma && s.type === ',') {
        trailingComma = true;
        after = s;
      } else if (trailingComma && s.type === 'comment' && s.startPosition.row === after.endPosition.row) {
        // `a=1,  # why` then a new line: the new entry goes after the comment, not inside the line.
        after = s;
      } else {
        break;
      }
    }
    const multiLine = close.startPosition.row > last.endPosition.row;
    return {
      offset: after.endIndex,
      position: pos(after.endPosition),
      style,
      needsComma: !trailingComma,
      ...(multiLine ? { indent: this.lineIndent(last.startIndex) } : {}),
      trailingComma,
      empty: false,
      ...withQuote,
    };
  }

  private lineIndent(offset: number): string {
    const lineStart = this.text.lastIndexOf('\n', offset - 1) + 1;
    let end = lineStart;
    while (end < this.text.length && (this.text[end] === ' ' || this.text[end] === '\t')) end++;
    return this.text.slice(lineStart, end);
  }
}

class PythonExtractor extends Extractor {
  readonly callType = 'call';
  protected readonly language = 'python' as const;
  protected readonly argumentListType = 'argument_list';

  protected calleeName(fn: Node): Node | undefined {
    if (fn.type === 'identifier') return fn;
    if (fn.type === 'attribute') return fn.childForFieldName('attribute') ?? undefined;
    return undefined;
  }

  protected unwrap(node: Node): Node {
    let n = node;
    while (n.type === 'parenthesized_expression') {
      const inner = entries(n);
      if (inner.length !== 1) break;
      n = inner[0];
    }
    return n;
  }

  protected literal(node: Node): Literal | undefined {
    if (node.type !== 'string') return undefined;
    const start = node.child(0);
    const end = node.child(node.childCount - 1);
    if (!start || !end || start.type !== 'string_start' || end.type !== 'string_end') return undefined;
    const prefix = this.slice(start).replace(/['"]+$/, '').toLowerCase();
    // Bytes and template strings aren't `str`; an f-string counts only without replacement fields.
    if (prefix.includes('b') || prefix.includes('t')) return undefined;
    const raw = prefix.includes('r');
    for (const c of node.namedChildren) {
      if (!c) continue;
      if (c.type === 'interpolation') return undefined;
      if (c.type === 'string_content' && !raw) {
        for (const e of c.namedChildren) if (e && e.type === 'escape_sequence') return undefined;
      }
    }
    const value = this.text.slice(start.endIndex, end.startIndex);
    if (prefix.includes('f') && /[{}]/.test(value)) return undefined;
    return { value, range: { start: pos(start.endPosition), end: pos(end.startPosition) }, start };
  }

  protected readArguments(call: Node, args: Node[], out: SiteBuilder): Node | undefined {
    const argList = call.childForFieldName('arguments')!;
    const chained = this.formatCall(call);
    let positional = 0;
    let mappingContainer: CallSiteInsertion | undefined;
    for (const arg of args.slice(1)) {
      switch (arg.type) {
        case 'keyword_argument': {
          const name = arg.childForFieldName('name');
          const value = arg.childForFieldName('value');
          if (!name || !value) break;
          const key = this.slice(name);
          if (key === 'version') this.readVersion(value, out);
          else if (!chained) out.addVariable(key, rangeOf(name), rangeOf(value));
          break;
        }
        case 'dictionary_splat':
          if (!chained) this.readSplat(arg, out, true);
          break;
        case 'list_splat':
          if (!chained) out.markDynamic(`\`${this.quote(arg)}\` passes arguments that can't be known statically`, rangeOf(arg));
          break;
        default:
          positional++;
          if (positional === 1 && !chained) mappingContainer = this.readMapping(this.unwrap(arg), out, true);
      }
    }
    if (chained) {
      const { outer, method } = chained;
      const fmtArgs = outer.childForFieldName('arguments')!;
      out.passesVariables = true;
      const fmtEntries = entries(fmtArgs);
      if (method === 'format_map') {
        const first = fmtEntries[0];
        out.insertion = first ? this.readMapping(this.unwrap(first), out, false) : undefined;
      } else {
        for (const arg of fmtEntries) {
          if (arg.type === 'keyword_argument') {
            const name = arg.childForFieldName('name');
            const value = arg.childForFieldName('value');
            if (name && value) out.addVariable(this.slice(name), rangeOf(name), rangeOf(value));
          } else if (arg.type === 'dictionary_splat') {
            this.readSplat(arg, out, false);
          }
          // Positional arguments fill positional fields, which templates don't have.
        }
        out.insertion = this.insertionIn(fmtArgs, 'python-kwarg', fmtEntries);
      }
      return outer;
    }
    out.insertion = mappingContainer ?? this.insertionIn(argList, 'python-kwarg', args);
    return undefined;
  }

  /** `load_prompt("x").format(...)` / `.format_map(...)`: the outer call, when there is one. */
  private formatCall(call: Node): { outer: Node; method: 'format' | 'format_map' } | undefined {
    const attr = call.parent;
    if (!attr || attr.type !== 'attribute') return undefined;
    const object = attr.childForFieldName('object');
    const name = attr.childForFieldName('attribute');
    if (!object || object.id !== call.id || !name) return undefined;
    const method = this.slice(name);
    if (method !== 'format' && method !== 'format_map') return undefined;
    const outer = attr.parent;
    if (!outer || outer.type !== 'call') return undefined;
    const fn = outer.childForFieldName('function');
    const args = outer.childForFieldName('arguments');
    if (!fn || fn.id !== attr.id || !args || args.type !== 'argument_list') return undefined;
    return { outer, method };
  }

  /** `**{"a": 1}` and `**dict(a=1)` are as static as what they unpack; `**kwargs` is not. */
  private readSplat(splat: Node, out: SiteBuilder, versionKey: boolean): void {
    const inner = entries(splat)[0];
    const value = inner ? this.unwrap(inner) : undefined;
    if (value && (value.type === 'dictionary' || this.isDictCall(value))) {
      this.readMapping(value, out, versionKey);
      return;
    }
    out.markDynamic(`\`${this.quote(splat)}\` passes variables that can't be known statically`, rangeOf(splat));
  }

  private isDictCall(node: Node): boolean {
    if (node.type !== 'call') return false;
    const fn = node.childForFieldName('function');
    const args = node.childForFieldName('arguments');
    return !!fn && fn.type === 'identifier' && this.slice(fn) === 'dict' && !!args && args.type === 'argument_list';
  }

  /**
   * Reads a mapping argument: a dict literal, `dict(a=...)`, `None`, or something dynamic. A
   * `version` key is the version when the mapping goes to the render call (`versionKey`), and a
   * template variable when it goes to `.format_map(...)`.
   */
  private readMapping(node: Node, out: SiteBuilder, versionKey: boolean): CallSiteInsertion | undefined {
    if (node.type === 'none') return undefined;
    if (node.type === 'dictionary') {
      out.passesVariables = true;
      const items = entries(node);
      let quote: '"' | "'" | undefined;
      for (const item of items) {
        if (item.type === 'pair') {
          const key = item.childForFieldName('key');
          const value = item.childForFieldName('value');
          if (!key || !value) continue;
          const lit = this.literal(this.unwrap(key));
          if (!lit) {
            out.markDynamic(`the key \`${this.quote(key)}\` isn't a string literal, so it can't be known statically`, rangeOf(key));
            continue;
          }
          quote = this.slice(lit.start).endsWith("'") ? "'" : '"';
          if (versionKey && lit.value === 'version') this.readVersion(value, out);
          else out.addVariable(lit.value, lit.range, rangeOf(value));
        } else if (item.type === 'dictionary_splat') {
          this.readSplat(item, out, versionKey);
        } else {
          out.markDynamic(`\`${this.quote(item)}\` can't be known statically`, rangeOf(item));
        }
      }
      return this.insertionIn(node, 'python-dict', items, quote);
    }
    if (this.isDictCall(node)) {
      const args = node.childForFieldName('arguments');
      if (args) {
        out.passesVariables = true;
        const items = entries(args);
        for (const item of items) {
          const name = item.type === 'keyword_argument' ? item.childForFieldName('name') : null;
          const value = item.type === 'keyword_argument' ? item.childForFieldName('value') : null;
          if (name && value) {
            if (versionKey && this.slice(name) === 'version') this.readVersion(value, out);
            else out.addVariable(this.slice(name), rangeOf(name), rangeOf(value));
          } else {
            out.markDynamic(`\`${this.quote(item)}\` passes variables that can't be known statically`, rangeOf(item));
          }
        }
        return this.insertionIn(args, 'python-kwarg', items);
      }
    }
    out.markDynamic(`the variables are passed as \`${this.quote(node)}\`, which can't be known statically`, rangeOf(node));
    return undefined;
  }
}

/** TypeScript, TSX and JavaScript share the node types read here. */
class ScriptExtractor extends Extractor {
  readonly callType = 'call_expression';
  protected readonly argumentListType = 'arguments';

  constructor(
    text: string,
    protected readonly language: SourceLanguage,
  ) {
    super(text);
  }

  protected calleeName(fn: Node): Node | undefined {
    let f = fn;
    // `await x.renderPrompt<T>(...)` parses with the await around the callee.
    while (f.type === 'await_expression' || f.type === 'parenthesized_expression' || f.type === 'non_null_expression') {
      const inner = entries(f);
      if (inner.length !== 1) return undefined;
      f = inner[0];
    }
    if (f.type === 'identifier') return f;
    if (f.type === 'member_expression') {
      const p = f.childForFieldName('property');
      return p && p.type === 'property_identifier' ? p : undefined;
    }
    return undefined;
  }

  protected unwrap(node: Node): Node {
    let n = node;
    for (;;) {
      switch (n.type) {
        case 'parenthesized_expression':
        case 'as_expression':
        case 'satisfies_expression':
        case 'non_null_expression':
        case 'type_assertion': {
          const inner = entries(n).filter((c) => c.type !== 'type_arguments');
          // `x as T`: the expression is the first named child, the type after it.
          const first = n.type === 'type_assertion' ? inner[inner.length - 1] : inner[0];
          if (!first) return n;
          n = first;
          break;
        }
        default:
          return n;
      }
    }
  }

  protected literal(node: Node): Literal | undefined {
    if (node.type !== 'string' && node.type !== 'template_string') return undefined;
    const open = node.child(0);
    const close = node.child(node.childCount - 1);
    if (!open || !close || node.childCount < 2) return undefined;
    for (const c of node.namedChildren) {
      if (c && c.type !== 'string_fragment') return undefined; // escapes, `${...}`
    }
    return {
      value: this.text.slice(open.endIndex, close.startIndex),
      range: { start: pos(open.endPosition), end: pos(close.startPosition) },
      start: open,
    };
  }

  protected readArguments(call: Node, args: Node[], out: SiteBuilder): Node | undefined {
    const argList = call.childForFieldName('arguments')!;
    const chained = this.formatCall(call);
    if (chained) {
      out.passesVariables = true;
      const fmtArgs = chained.childForFieldName('arguments')!;
      const fmtEntries = entries(fmtArgs);
      const first = fmtEntries[0];
      out.insertion = first
        ? this.readMapping(this.unwrap(first), out, false)
        : this.insertionIn(fmtArgs, 'object-argument', fmtEntries);
      // The render call's own object may still carry the version.
      const own = args[1] ? this.unwrap(args[1]) : undefined;
      if (own && own.type === 'object') this.readVersionOnly(own, out);
      return chained;
    }
    const mapping = args[1];
    if (!mapping) {
      out.insertion = this.insertionIn(argList, 'object-argument', args);
      return undefined;
    }
    out.insertion = this.readMapping(this.unwrap(mapping), out, true);
    return undefined;
  }

  /** `loadPrompt("x").format({...})`: the outer call, when there is one. */
  private formatCall(call: Node): Node | undefined {
    const member = call.parent;
    if (!member || member.type !== 'member_expression') return undefined;
    const object = member.childForFieldName('object');
    const prop = member.childForFieldName('property');
    if (!object || object.id !== call.id || !prop || this.slice(prop) !== 'format') return undefined;
    const outer = member.parent;
    if (!outer || outer.type !== 'call_expression') return undefined;
    const fn = outer.childForFieldName('function');
    const args = outer.childForFieldName('arguments');
    if (!fn || fn.id !== member.id || !args || args.type !== 'arguments') return undefined;
    return outer;
  }

  private readVersionOnly(object: Node, out: SiteBuilder): void {
    for (const item of entries(object)) {
      if (item.type !== 'pair') continue;
      const key = item.childForFieldName('key');
      const value = item.childForFieldName('value');
      if (key && value && this.keyName(key) === 'version') this.readVersion(value, out);
    }
  }

  /** A property key's static name, or undefined when it's computed from a non-literal. */
  private keyName(key: Node): string | undefined {
    if (key.type === 'property_identifier' || key.type === 'number') return this.slice(key);
    if (key.type === 'string') return this.literal(key)?.value;
    if (key.type === 'computed_property_name') {
      const inner = entries(key)[0];
      return inner ? this.literal(this.unwrap(inner))?.value : undefined;
    }
    return undefined;
  }

  /** Reads the variables argument: an object literal, `undefined`/`null`, or something dynamic. */
  private readMapping(node: Node, out: SiteBuilder, versionKey: boolean): CallSiteInsertion | undefined {
    if (node.type === 'undefined' || node.type === 'null') return undefined;
    if (node.type !== 'object') {
      out.markDynamic(`the variables are passed as \`${this.quote(node)}\`, which can't be known statically`, rangeOf(node));
      return undefined;
    }
    out.passesVariables = true;
    const items = entries(node);
    // New keys are quoted only when every existing key is (a JSON-like object).
    let quote: '"' | "'" | undefined;
    let bareKeys = false;
    for (const item of items) {
      switch (item.type) {
        case 'shorthand_property_identifier':
          bareKeys = true;
          if (versionKey && this.slice(item) === 'version') this.readVersion(item, out);
          else out.addVariable(this.slice(item), rangeOf(item));
          break;
        case 'pair': {
          const key = item.childForFieldName('key');
          const value = item.childForFieldName('value');
          if (!key || !value) break;
          const name = this.keyName(key);
          if (name === undefined) {
            out.markDynamic(`the key \`${this.quote(key)}\` can't be known statically`, rangeOf(key));
            break;
          }
          const lit = key.type === 'string' ? this.literal(key) : undefined;
          if (lit) quote = this.slice(lit.start) === "'" ? "'" : '"';
          else bareKeys = true;
          if (versionKey && name === 'version') this.readVersion(value, out);
          else out.addVariable(name, lit ? lit.range : rangeOf(key), rangeOf(value));
          break;
        }
        case 'method_definition': {
          const key = item.childForFieldName('name');
          const name = key ? this.keyName(key) : undefined;
          if (key && name !== undefined) out.addVariable(name, rangeOf(key));
          else out.markDynamic(`\`${this.quote(item)}\` can't be known statically`, rangeOf(item));
          break;
        }
        case 'spread_element':
          out.markDynamic(`\`${this.quote(item)}\` spreads variables that can't be known statically`, rangeOf(item));
          break;
        default:
          out.markDynamic(`\`${this.quote(item)}\` can't be known statically`, rangeOf(item));
      }
    }
    return this.insertionIn(node, 'object-literal', items, bareKeys ? undefined : quote);
  }
}
