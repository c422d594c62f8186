import { diffLines } from 'diff';
import { escapeMarkdown, fence, tableCell } from './escaping/markdown';
import type { CommitInfo, TreeEntry } from './gitOutput';
import type { PromptMetadata } from './metadataSchema';
import { validateMetadata } from './metadata';
import type { RecoveryOutcome } from './replayRecovery';
import { recoverVariables } from './replayRecovery';
import type { ParsedSpanInfo, RecordedMessage, SpanConvention } from './span';
import { conventionLabel, quoteForMessage, spanShapeLabel } from './span';
import { parseTemplate, renderTemplate } from './template/template';

/**
 * Replay of a production span (DESIGN.md section 5): the prompt files of the commit the span
 * names, rendered with the span's variables into the exact Messages API request that was sent,
 * compared byte for byte with what the span recorded, and written up as an audit record.
 * Pure: the caller reads git and files and hands the text in.
 */

/** Why a replay could not be produced; every code is a bad input (exit 2 in the CLI). */
export type ReplayErrorCode =
  | 'commit-not-found'
  | 'prompt-not-at-commit'
  | 'file-missing-at-commit'
  | 'file-refused-at-commit'
  | 'metadata-invalid'
  | 'template-error'
  | 'missing-variables'
  | 'render-error'
  | 'bad-inputs-file';

/** A replay that can't be done, with a message that names what is wrong. */
export class ReplayError extends Error {
  constructor(
    readonly code: ReplayErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ReplayError';
  }
}

/** A prompt version as it was at one commit: what `readPromptAtCommit` reads from git. */
export interface PromptSnapshot {
  name: string;
  version: number;
  /** Repo-relative POSIX path, `prompts/<name>/v<N>`. */
  dir: string;
  commit: CommitInfo;
  /** system.md at the commit; undefined when the version had none. */
  system?: string;
  /** user.template.md at the commit. */
  userTemplate: string;
  /** metadata.yaml at the commit, as written. */
  metadataText: string;
  metadata: PromptMetadata;
  /** The directory's files at the commit with their blob ids: what an auditor can check the text against. */
  files: TreeEntry[];
  warnings: string[];
}

/** Variables given by the user, e.g. from `--inputs FILE`. */
export interface ReplayInputs {
  values: Record<string, unknown>;
  /** Where they came from, for the record (a file name). */
  source: string;
}

/** The Messages API request body of one call. */
export interface MessagesRequest {
  model: string;
  max_tokens: number;
  /**
   * Only when the span recorded `gen_ai.request.temperature`: the Messages API version the SDK
   * speaks has no sampling parameters, so a span without one (the runtime's) was sent without it.
   */
  temperature?: number;
  system?: string;
  messages: { role: 'user'; content: string }[];
}

/** A request parameter whose value on the span differs from the metadata at the commit. */
export interface ParameterMismatch {
  parameter: 'model' | 'temperature' | 'max_tokens';
  span: string | number;
  metadata: string | number;
  /** The request uses what the span recorded: that is what the calling code sent. */
  used: 'span';
}

/** One recorded text compared with the re-rendered one. */
export interface TextComparison {
  matches: boolean;
  recorded: string;
  rendered: string;
  /** Unified-style line diff (`-` recorded, `+` rendered), when they differ. */
  diff?: string;
  /** Where they first differ (UTF-16 offset, 1-based line and column), when they differ. */
  firstDifference?: { offset: number; line: number; column: number };
  /** A plain-words note for differences a line diff shows badly (trailing newline, whitespace, line endings). */
  note?: string;
  /** Both texts around the first difference (up to 40 characters either side), when they differ. */
  around?: { recorded: string; rendered: string };
}

/** The re-rendered messages against what the span recorded. */
export interface RecordedComparison {
  /** Which parts the span recorded and were compared. */
  compared: ('system' | 'user')[];
  system?: TextComparison;
  user?: TextComparison;
  /** Input messages the span recorded besides the one user message the template renders. */
  extraMessages?: RecordedMessage[];
}

/** Variables as the replay used them. */
export interface ReplayVariables {
  values: Record<string, unknown>;
  /**
   * `span`: span attributes; `inputs`: an inputs file; `recovered`: read back from the recorded
   * user message by matching it against the template; `none`: the template's variables are not known.
   */
  source: 'span' | 'inputs' | 'span+inputs' | 'recovered' | 'span+recovered' | 'none';
  /** The span attributes the variables came from (`prompt.variables`, `gen_ai.prompt.variable.<name>`…). */
  spanSources: string[];
  /** Required variables nobody supplied (`source: 'none'`, or partly recovered). */
  missing: string[];
  /** Notes of the recovery (padding or precision the message doesn't pin down). */
  recoveryNotes?: string[];
  /** The template's variables, in template order. */
  required: string[];
  /** Supplied but not used by the template. */
  unused: string[];
  /** The inputs file, when one was given. */
  inputsSource?: string;
}

/** Where the replay's commit came from: the span, or git when the span names none. */
export type CommitSource =
  | { source: 'span'; attribute: string; convention: SpanConvention }
  | {
      source: 'inferred';
      /** The baseline ref whose history was searched, e.g. `origin/main`. */
      ref: string;
      /** The span's start time the search was bounded by; null when the span has none (the ref's tip was used). */
      at: string | null;
      /** One sentence: how the commit was chosen. */
      how: string;
    };

/**
 * The replay's answer, one kind per situation, with `summary` the sentence every renderer shows:
 * `match` and `differs` compare the re-rendered text byte for byte; `not-produced`: the recorded
 * message can't come from this template; `ambiguous`: it fits in several ways; `variables-unknown`:
 * the recorded text can't be re-rendered (no variables, and nothing to recover them from);
 * `nothing-recorded`: the span holds no content, `enable` names what would allow a comparison.
 */
export type ReplayVerdict =
  | { kind: 'match'; summary: string; compared: ('system' | 'user')[] }
  | { kind: 'differs'; summary: string; compared: ('system' | 'user')[] }
  | {
      kind: 'not-produced';
      summary: string;
      reason: string;
      /** Where the recorded message stops fitting the template, and both texts there. */
      at: { offset: number; line: number; column: number };
      around: { recorded: string; template: string };
    }
  | { kind: 'ambiguous'; summary: string; reason: string }
  | { kind: 'variables-unknown'; summary: string; reason: string }
  | { kind: 'nothing-recorded'; summary: string; enable: string };

/** Everything a replay produced. */
export interface ReplayResult {
  span: ParsedSpanInfo;
  prompt: PromptSnapshot;
  metadata: PromptMetadata;
  commit: CommitSource;
  variables: ReplayVariables;
  /** `user` is null when the variables are not known; then the request carries the template text unrendered. */
  rendered: { system: string | null; user: string | null; matchesRecorded: boolean | null };
  comparison: RecordedComparison | null;
  verdict: ReplayVerdict;
  /** The request that was sent; when `rendered.user` is null its user message is the template, unrendered. */
  request: MessagesRequest;
  mismatches: ParameterMismatch[];
  warnings: string[];
}

/** A fresh call of the reconstructed request and how its output compares with the recorded one. */
export interface ReplayCallOutcome {
  model: string;
  text: string;
  stopReason: string | null;
  usage: { inputTokens: number; outputTokens: number };
  latencyMs: number;
  /** Null when the span recorded no output. */
  comparedWithRecorded: TextComparison | null;
}

// ---------------------------------------------------------------------------------------------
// Metadata at a commit

/**
 * The metadata.yaml of a prompt version at a commit, validated with the same rules as `check`:
 * unknown keys are warnings (an old commit may predate a key's removal), errors refuse the replay.
 */
export function readMetadataAtCommit(
  text: string,
  context: { promptName: string; version: number; dir: string; shortSha: string },
): { metadata: PromptMetadata; warnings: string[] } {
  const validation = validateMetadata(text, {
    promptName: context.promptName,
    version: context.version,
    versionDir: context.dir,
    // output_schema doesn't take part in rendering; its presence at the commit isn't checked here.
    exists: () => true,
  });
  const errors = validation.findings.filter((f) => f.severity === 'error');
  const warnings = validation.findings
    .filter((f) => f.severity !== 'error')
    .map((f) => `${context.dir}/metadata.yaml at ${context.shortSha}, line ${f.range.start.line + 1}: ${f.message}`);
  if (errors.length || !validation.metadata) {
    const list = errors.map((f) => `line ${f.range.start.line + 1}: ${f.message}`).join('; ');
    throw new ReplayError(
      'metadata-invalid',
      `${context.dir}/metadata.yaml at commit ${context.shortSha} is not valid, so the request can't be rebuilt: ${list || 'no usable metadata'}`,
    );
  }
  return { metadata: validation.metadata, warnings };
}

// ---------------------------------------------------------------------------------------------
// Inputs file

/**
 * The variables of an inputs file: a JSON object of variables, or one eval example
 * (`{"id":…,"inputs":{…}}`). A JSON Lines file must hold exactly one example.
 */
export function parseInputsFile(text: string, fileName: string): Record<string, unknown> {
  const body = text.replace(/^\uFEFF/, '').trim();
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    const lines = body.split(/\r?\n/).filter((l) => l.trim() !== '');
    if (lines.length > 1 && lines.every((l) => l.trim().startsWith('{'))) {
      throw new ReplayError(
        'bad-inputs-file',
        `${fileName} holds ${lines.length} lines; give one JSON object of variables (or one eval example) to replay with`,
      );
    }
    throw new ReplayError('bad-inputs-file', `${fileName} is not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ReplayError('bad-inputs-file', `${fileName} must hold a JSON object of variables, e.g. {"document": "…"}`);
  }
  const obj = value as Record<string, unknown>;
  if (typeof obj.inputs === 'object' && obj.inputs !== null && !Array.isArray(obj.inputs)) {
    return obj.inputs as Record<string, unknown>;
  }
  return obj;
}

// ---------------------------------------------------------------------------------------------
// Replay

/** Where the variables came from, in words: `the span's prompt.variables`, `recovered from the recorded user message`… */
export function describeVariablesSource(v: ReplayVariables): string {
  const span = `the span's ${v.spanSources.join(' and ') || 'attributes'}`;
  const inputs = v.inputsSource ?? 'the inputs file';
  switch (v.source) {
    case 'span':
      return span;
    case 'inputs':
      return inputs;
    case 'span+inputs':
      return `${span}, overridden by ${inputs}`;
    case 'recovered':
      return 'recovered from the recorded user message by matching it against the template';
    case 'span+recovered':
      return `${span}, the rest recovered from the recorded user message`;
    case 'none':
      return 'none known';
  }
}

/** How the commit was found, in words: `prompt.commit_sha on the span` or the inference. */
export function describeCommitSource(c: CommitSource): string {
  return c.source === 'span' ? `named by the span (${c.attribute}, ${conventionLabel(c.convention)})` : `inferred: ${c.how}`;
}

/** Options of `replayPrompt`. */
export interface ReplayPromptOptions {
  /** How the commit was found; default: the span's own attribute. */
  commit?: CommitSource;
}

/**
 * Renders the prompt of the span's commit and rebuilds the request. The variables come from the
 * span, an inputs file, or, when neither has them and the span recorded the rendered user message,
 * from that message matched against the template. Throws `ReplayError` when the template is
 * malformed, an inputs file lacks variables, or rendering fails.
 */
export function replayPrompt(span: ParsedSpanInfo, prompt: PromptSnapshot, inputs?: ReplayInputs, options: ReplayPromptOptions = {}): ReplayResult {
  const metadata = prompt.metadata;
  const format = metadata.template_format;
  const shortSha = prompt.commit.sha.slice(0, 12);
  const warnings = [...span.warnings, ...prompt.warnings];
  const commit: CommitSource =
    options.commit ??
    (span.identity.commit
      ? { source: 'span', attribute: span.identity.commit.attribute, convention: span.identity.commit.convention }
      : { source: 'span', attribute: 'prompt.commit_sha', convention: 'prompt-ci' });

  const parsed = parseTemplate(prompt.userTemplate, format);
  if (parsed.errors.length) {
    const e = parsed.errors[0];
    const at = lineColumnOf(prompt.userTemplate, e.offset);
    throw new ReplayError(
      'template-error',
      `${prompt.dir}/user.template.md at commit ${shortSha} is not a valid ${format} template: ${e.message} (line ${at.line}, column ${at.column})`,
    );
  }
  const required = [...new Set(parsed.variables)];

  const fromSpan = span.variables ?? {};
  const fromInputs = inputs?.values ?? {};
  let values: Record<string, unknown> = { ...fromSpan, ...fromInputs };
  let source: ReplayVariables['source'] = inputs && span.variables ? 'span+inputs' : inputs ? 'inputs' : span.variables ? 'span' : 'none';
  let missing = required.filter((v) => !(v in values));
  if (missing.length && inputs) {
    const where: string[] = [];
    where.push(span.variables ? `the span's variables (${span.variableSources?.join(', ')}) have ${listOrNone(Object.keys(fromSpan))}` : 'the span records no variables');
    where.push(`${inputs.source} has ${listOrNone(Object.keys(fromInputs))}`);
    throw new ReplayError(
      'missing-variables',
      `${prompt.dir}/user.template.md at commit ${shortSha} needs ${missing.length === 1 ? 'variable' : 'variables'} ${missing.map((m) => `"${m}"`).join(', ')} that ${missing.length === 1 ? 'is' : 'are'} not supplied: ${where.join('; ')}`,
    );
  }
  let recovery: RecoveryOutcome | undefined;
  const recordedUser = span.recorded?.user;
  if (missing.length && recordedUser !== undefined) {
    recovery = recoverVariables(prompt.userTemplate, format, recordedUser);
    if (recovery.kind === 'recovered') {
      for (const [name, value] of Object.entries(recovery.values)) {
        if (!(name in values)) values[name] = value;
        else if (JSON.stringify(values[name]) !== JSON.stringify(value)) {
          warnings.push(`variable "${name}" on the span (${quoteForMessage(values[name], 40)}) differs from the text the recorded message has in its place (${quoteForMessage(value, 40)})`);
        }
      }
      source = span.variables ? 'span+recovered' : 'recovered';
      missing = required.filter((v) => !(v in values));
    }
  }
  const unused = Object.keys(values).filter((k) => !required.includes(k));
  if (unused.length) warnings.push(`variables not used by the template at ${shortSha}: ${unused.join(', ')}`);
  if (missing.length) values = Object.fromEntries(Object.entries(values).filter(([k]) => required.includes(k) || k in fromSpan || k in fromInputs));

  let user: string | null = null;
  if (missing.length === 0) {
    try {
      user = renderTemplate(prompt.userTemplate, values, format);
    } catch (error) {
      throw new ReplayError(
        'render-error',
        `rendering ${prompt.dir}/user.template.md at commit ${shortSha} failed: ${(error as Error).message}`,
      );
    }
  }
  const system = prompt.system ?? null;
  if (system === null) warnings.push(`${prompt.dir} has no system.md at ${shortSha}: the request has no system prompt`);

  const mismatches: ParameterMismatch[] = [];
  const model = pick('model', span.model ?? undefined, metadata.model, mismatches);
  const temperature = pick('temperature', span.temperature, metadata.temperature, mismatches);
  const maxTokens = pick('max_tokens', span.maxTokens, metadata.max_output_tokens, mismatches);
  for (const m of mismatches) {
    warnings.push(`the span's ${m.parameter} (${m.span}) differs from metadata.yaml at ${shortSha} (${m.metadata}); the request uses the span's, which is what was sent`);
  }

  // Key order is the order the Messages API documents; `system` only when the version has one.
  const messages: MessagesRequest['messages'] = [{ role: 'user', content: user ?? prompt.userTemplate }];
  const sampling = span.temperature !== undefined ? { temperature } : {};
  const request: MessagesRequest =
    system !== null
      ? { model, max_tokens: maxTokens, ...sampling, system, messages }
      : { model, max_tokens: maxTokens, ...sampling, messages };

  const comparison = compareWithRecorded(span, system, user);
  // With the user message unknown, only a differing system message decides; a matching one alone proves nothing of the call.
  const matchesRecorded =
    comparison === null || comparison.compared.length === 0 ? null : user !== null ? comparisonMatches(comparison) : comparison.system?.matches === false ? false : null;
  const variables: ReplayVariables = {
    values,
    source,
    spanSources: span.variableSources ?? [],
    required,
    unused,
    missing,
    ...(inputs ? { inputsSource: inputs.source } : {}),
    ...(recovery?.kind === 'recovered' && recovery.notes.length ? { recoveryNotes: recovery.notes } : {}),
  };
  const verdict = verdictOf({ span, prompt, comparison, user, missing, recovery, matchesRecorded });

  return {
    span,
    prompt,
    metadata,
    commit,
    variables,
    rendered: { system, user, matchesRecorded },
    comparison,
    verdict,
    request,
    mismatches,
    warnings,
  };
}

/** The verdict and its sentence, from what was compared or why nothing could be. */
function verdictOf(r: {
  span: ParsedSpanInfo;
  prompt: PromptSnapshot;
  comparison: RecordedComparison | null;
  user: string | null;
  missing: string[];
  recovery: RecoveryOutcome | undefined;
  matchesRecorded: boolean | null;
}): ReplayVerdict {
  const names = (parts: ('system' | 'user')[]) => parts.map((p) => (p === 'system' ? 'system message' : 'user message')).join(' and ');
  const recordedUser = r.span.recorded?.user;
  if (r.recovery && r.recovery.kind === 'not-produced' && recordedUser !== undefined) {
    const at = lineColumnOf(recordedUser, r.recovery.offset);
    return {
      kind: 'not-produced',
      summary: `NOT FROM THIS TEMPLATE: ${r.prompt.dir}/user.template.md at ${r.prompt.commit.sha.slice(0, 12)} can't have rendered the recorded user message: ${r.recovery.reason}.`,
      reason: r.recovery.reason,
      at: { offset: r.recovery.offset, line: at.line, column: at.column },
      around: { recorded: recordedUser.slice(Math.max(0, r.recovery.offset - 40), r.recovery.offset + 40), template: r.recovery.expected.slice(0, 80) },
    };
  }
  if (r.recovery && r.recovery.kind === 'ambiguous') {
    return { kind: 'ambiguous', summary: `UNDECIDED: ${r.recovery.reason}. Supply the variables to compare.`, reason: r.recovery.reason };
  }
  if (r.user === null) {
    const c = r.comparison;
    if (c?.system && !c.system.matches) {
      return { kind: 'differs', summary: differsSummary(c, ['system']), compared: ['system'] };
    }
    if (recordedUser === undefined && !r.span.variables && !c?.system) {
      const enable = captureHint(r.span);
      return { kind: 'nothing-recorded', summary: `NOTHING TO COMPARE: the span recorded neither the messages nor the variables. ${enable}`, enable };
    }
    const reason =
      r.recovery?.kind === 'unsupported'
        ? `the variables can't be read back from the recorded message: ${r.recovery.reason}`
        : recordedUser === undefined
          ? `the span records no user message and no value for ${r.missing.map((m) => `"${m}"`).join(', ')}`
          : `no value for ${r.missing.map((m) => `"${m}"`).join(', ')}`;
    const systemPart = c?.system?.matches ? ' The system message matches the recorded one byte for byte.' : '';
    return { kind: 'variables-unknown', summary: `USER MESSAGE NOT RE-RENDERED: ${reason}. Supply the variables to compare.${systemPart}`, reason };
  }
  const c = r.comparison;
  if (!c || c.compared.length === 0) {
    const enable = captureHint(r.span);
    return { kind: 'nothing-recorded', summary: `NOTHING TO COMPARE: the span recorded no messages, so the re-rendered prompt is shown without a comparison. ${enable}`, enable };
  }
  if (r.matchesRecorded) {
    return { kind: 'match', summary: `MATCH: the re-rendered ${names(c.compared)} ${c.compared.length === 1 ? 'is' : 'are'} byte for byte what the span recorded.`, compared: c.compared };
  }
  return { kind: 'differs', summary: differsSummary(c, c.compared), compared: c.compared };
}

function differsSummary(c: RecordedComparison, compared: ('system' | 'user')[]): string {
  const parts: string[] = [];
  for (const part of compared) {
    const cmp = part === 'system' ? c.system : c.user;
    if (!cmp || cmp.matches) continue;
    const at = cmp.firstDifference ? ` at line ${cmp.firstDifference.line}, column ${cmp.firstDifference.column}` : '';
    const around = cmp.around ? `: recorded ${quoteForMessage(cmp.around.recorded, 90)}, re-rendered ${quoteForMessage(cmp.around.rendered, 90)}` : cmp.note ? `: ${cmp.note}` : '';
    parts.push(`the ${part} message differs${at}${around}`);
  }
  if (c.extraMessages?.length) parts.push(`the span recorded ${c.extraMessages.length} more input message(s) (${c.extraMessages.map((m) => m.role).join(', ')}) than the template renders`);
  return `DIFFERENT: ${parts.join('; ')}.`;
}

/** Which attributes would let this span be compared, in the words of the conventions it uses. */
export function captureHint(span: ParsedSpanInfo): string {
  const conventions = span.identity.conventions;
  const hints: string[] = [];
  if (conventions.includes('openinference')) hints.push('llm.input_messages.N.message.content (OpenInference) or llm.prompt_template.variables');
  if (conventions.includes('openllmetry')) hints.push('gen_ai.prompt.N.content (OpenLLMetry records it unless TRACELOOP_TRACE_CONTENT=false) or traceloop.prompt.template_variables');
  if (conventions.includes('langfuse')) hints.push('langfuse.observation.input (Langfuse)');
  if (hints.length === 0 || conventions.includes('prompt-ci') || conventions.includes('opentelemetry')) {
    hints.push(
      'gen_ai.input.messages with gen_ai.system_instructions (OpenTelemetry GenAI instrumentations write them with OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true; prompt-ci/runtime with captureContent: true), or the variables in prompt.variables or gen_ai.prompt.variable.<name>',
    );
  }
  return `A span with ${hints.join('; or ')} can be compared.`;
}

function pick<T extends string | number>(
  parameter: ParameterMismatch['parameter'],
  fromSpan: T | undefined,
  fromMetadata: T,
  mismatches: ParameterMismatch[],
): T {
  if (fromSpan === undefined || fromSpan === fromMetadata) return fromMetadata;
  mismatches.push({ parameter, span: fromSpan, metadata: fromMetadata, used: 'span' });
  return fromSpan;
}

function listOrNone(keys: string[]): string {
  return keys.length ? keys.map((k) => `"${k}"`).join(', ') : 'no variables';
}

function compareWithRecorded(span: ParsedSpanInfo, system: string | null, user: string | null): RecordedComparison | null {
  const recorded = span.recorded;
  if (!recorded || (recorded.system === undefined && recorded.messages === undefined)) return null;
  const comparison: RecordedComparison = { compared: [] };
  if (recorded.system !== undefined) {
    comparison.compared.push('system');
    comparison.system = compareTexts(recorded.system, system ?? '');
  }
  if (recorded.messages !== undefined && user !== null) {
    comparison.compared.push('user');
    comparison.user = compareTexts(recorded.user ?? '', user);
    const lastUser = recorded.messages.map((m) => m.role).lastIndexOf('user');
    const extra = recorded.messages.filter((_, i) => i !== lastUser);
    if (extra.length) comparison.extraMessages = extra;
    if (lastUser >= 0 && recorded.messages[lastUser].hasNonTextParts) {
      comparison.user.matches = false;
      comparison.user.note = 'the recorded user message also holds non-text parts, which the template does not produce';
    }
  }
  return comparison;
}

function comparisonMatches(c: RecordedComparison): boolean {
  return (c.system?.matches ?? true) && (c.user?.matches ?? true) && !c.extraMessages?.length;
}

/** Compares two texts byte for byte; when they differ, a line diff and where they first part. */
export function compareTexts(recorded: string, rendered: string): TextComparison {
  if (recorded === rendered) return { matches: true, recorded, rendered };
  let i = 0;
  while (i < recorded.length && i < rendered.length && recorded[i] === rendered[i]) i++;
  const at = lineColumnOf(rendered, i);
  const result: TextComparison = {
    matches: false,
    recorded,
    rendered,
    diff: lineDiff(recorded, rendered),
    firstDifference: { offset: i, line: at.line, column: at.column },
    around: { recorded: recorded.slice(Math.max(0, i - 40), i + 40), rendered: rendered.slice(Math.max(0, i - 40), i + 40) },
  };
  const note = differenceNote(recorded, rendered);
  if (note) result.note = note;
  return result;
}

function differenceNote(a: string, b: string): string | undefined {
  if (a.replace(/\r\n/g, '\n') === b.replace(/\r\n/g, '\n')) return 'they differ only in line endings (CRLF against LF)';
  if (a.replace(/\s+$/, '') === b.replace(/\s+$/, '')) return 'they differ only in trailing whitespace or a final newline';
  if (a.trim() === b.trim()) return 'they differ only in leading or trailing whitespace';
  if (a.replace(/\s+/g, ' ') === b.replace(/\s+/g, ' ')) return 'they differ only in whitespace';
  return undefined;
}

/** A unified-style line diff of two texts, `-` for `before` and `+` for `after`, with the "no newline" marker git uses. */
export function lineDiff(before: string, after: string, maxChangedLines = 4000): string {
  const changes = diffLines(before, after, { maxEditLength: maxChangedLines });
  if (!changes) return `(the texts differ in more than ${maxChangedLines} lines; no line diff)\n`;
  let out = '';
  const lastOld = before.length ? before.length : -1;
  const lastNew = after.length ? after.length : -1;
  let oldPos = 0;
  let newPos = 0;
  for (const change of changes) {
    const prefix = change.added ? '+' : change.removed ? '-' : ' ';
    const lines = change.value.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (const line of lines) out += `${prefix}${line}\n`;
    if (!change.added) oldPos += change.value.length;
    if (!change.removed) newPos += change.value.length;
    const endsOld = !change.added && oldPos === lastOld && !before.endsWith('\n');
    const endsNew = !change.removed && newPos === lastNew && !after.endsWith('\n');
    if ((endsOld || endsNew) && change.value.length) out += '\\ No newline at end of text\n';
  }
  return out;
}

/** Compares a fresh model output with the recorded one; null when nothing was recorded. */
export function compareOutputs(recorded: string | undefined, fresh: string): TextComparison | null {
  return recorded === undefined ? null : compareTexts(recorded, fresh);
}

function lineColumnOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}

// ---------------------------------------------------------------------------------------------
// Audit record

/** The JSON audit record: everything needed to answer "how was this output produced". */
export interface ReplayAuditRecord {
  schema: 'prompt-ci/replay-audit@1';
  generatedAt: string;
  span: {
    shape: string;
    traceId: string | null;
    spanId: string | null;
    spanName: string | null;
    tenantId: string | null;
    requestId: string | null;
  };
  prompt: {
    name: string;
    version: number;
    dir: string;
    commit: CommitInfo;
    templateFormat: string;
    files: { path: string; blob: string }[];
    system: string | null;
    userTemplate: string;
    metadataYaml: string;
  };
  /** How the commit was found: named by the span, or inferred from git (and how). */
  commitSource: CommitSource & { description: string };
  /** The attributes that named the prompt, and any disagreement between conventions. */
  identity: ParsedSpanInfo['identity'];
  inputs: { source: string; values: Record<string, unknown>; missing: string[]; recoveryNotes: string[] };
  model: string;
  parameters: { temperature: number; max_tokens: number };
  request: MessagesRequest;
  recorded: {
    system: string | null;
    user: string | null;
    output: string | null;
    usage: { inputTokens: number | null; outputTokens: number | null };
    sources: string[];
  };
  verdict: {
    kind: ReplayVerdict['kind'];
    summary: string;
    matchesRecorded: boolean | null;
    compared: string[];
    systemDiff: string | null;
    userDiff: string | null;
    notes: string[];
  };
  mismatches: ParameterMismatch[];
  replayedCall: ReplayCallOutcome | null;
  warnings: string[];
}

/** The JSON form of the audit record. `generatedAt` is passed in so the record is reproducible. */
export function toAuditRecord(result: ReplayResult, options: { generatedAt: string; call?: ReplayCallOutcome }): ReplayAuditRecord {
  const { span, prompt, comparison } = result;
  const notes: string[] = [];
  if (comparison?.system?.note) notes.push(`system: ${comparison.system.note}`);
  if (comparison?.user?.note) notes.push(`user: ${comparison.user.note}`);
  if (comparison?.extraMessages?.length) {
    notes.push(`the span recorded ${comparison.extraMessages.length} more input message(s) than the template renders`);
  }
  const inputsSource = describeVariablesSource(result.variables);
  return {
    schema: 'prompt-ci/replay-audit@1',
    generatedAt: options.generatedAt,
    span: {
      shape: spanShapeLabel(span.shape),
      traceId: span.traceId ?? null,
      spanId: span.spanId ?? null,
      spanName: span.spanName ?? null,
      tenantId: span.tenantId,
      requestId: span.requestId,
    },
    prompt: {
      name: prompt.name,
      version: prompt.version,
      dir: prompt.dir,
      commit: prompt.commit,
      templateFormat: result.metadata.template_format,
      files: prompt.files.filter((f) => f.type === 'blob').map((f) => ({ path: `${prompt.dir}/${f.path}`, blob: f.object })),
      system: prompt.system ?? null,
      userTemplate: prompt.userTemplate,
      metadataYaml: prompt.metadataText,
    },
    commitSource: { ...result.commit, description: describeCommitSource(result.commit) },
    identity: span.identity,
    inputs: { source: inputsSource, values: result.variables.values, missing: result.variables.missing, recoveryNotes: result.variables.recoveryNotes ?? [] },
    model: result.request.model,
    parameters: { temperature: result.request.temperature ?? result.metadata.temperature, max_tokens: result.request.max_tokens },
    request: result.request,
    recorded: {
      system: span.recorded?.system ?? null,
      user: span.recorded?.user ?? null,
      output: span.recorded?.output ?? null,
      usage: { inputTokens: span.usage?.inputTokens ?? null, outputTokens: span.usage?.outputTokens ?? null },
      sources: span.recorded?.sources ?? [],
    },
    verdict: {
      kind: result.verdict.kind,
      summary: result.verdict.summary,
      matchesRecorded: result.rendered.matchesRecorded,
      compared: comparison?.compared ?? [],
      systemDiff: comparison?.system?.diff ?? null,
      userDiff: comparison?.user?.diff ?? null,
      notes,
    },
    mismatches: result.mismatches,
    replayedCall: options.call ?? null,
    warnings: result.warnings,
  };
}

/** The Markdown audit record, for a ticket or an incident review; the JSON record closes it. */
export function toAuditMarkdown(record: ReplayAuditRecord): string {
  const c = record.prompt.commit;
  const verdict = escapeMarkdown(record.verdict.summary);
  const rows: [string, string][] = [
    ['Prompt', `\`${record.prompt.dir}\``],
    ['Commit', `\`${c.sha}\``],
    ['Commit found', record.commitSource.description],
    ['Prompt named by', identityLine(record.identity)],
    ['Commit author', `${c.author} <${c.authorEmail}>`],
    ['Commit date', c.authorDate],
    ['Commit subject', c.subject],
    ['Model', `\`${record.model}\``],
    ['Temperature', String(record.parameters.temperature)],
    ['Max tokens', String(record.parameters.max_tokens)],
    ['Template format', record.prompt.templateFormat],
    ['Trace id', record.span.traceId ?? '(none)'],
    ['Span id', record.span.spanId ?? '(none)'],
    ['Span name', record.span.spanName ?? '(none)'],
    ['Span format', record.span.shape],
    ['Tenant', record.span.tenantId ?? '(none)'],
    ['Request id', record.span.requestId ?? '(none)'],
    ['Inputs from', record.inputs.source],
    ['Recorded usage', `${record.recorded.usage.inputTokens ?? '?'} input / ${record.recorded.usage.outputTokens ?? '?'} output tokens`],
    ['Generated', record.generatedAt],
  ];
  const out: string[] = [];
  out.push(`# Replay audit: ${record.prompt.name} v${record.prompt.version} at ${c.sha.slice(0, 12)}`, '');
  out.push('| | |', '|---|---|');
  for (const [k, v] of rows) out.push(`| ${k} | ${tableCell(v)} |`);
  out.push('', '## Verdict', '', verdict);
  for (const note of record.verdict.notes) out.push('', `- ${note}`);
  for (const m of record.mismatches) {
    out.push('', `- The span's \`${m.parameter}\` (${m.span}) differs from metadata.yaml at the commit (${m.metadata}); the request uses the span's value.`);
  }
  if (record.verdict.systemDiff) out.push('', '### System prompt: recorded (-) against re-rendered (+)', '', fence(record.verdict.systemDiff, 'diff'));
  if (record.verdict.userDiff) out.push('', '### User message: recorded (-) against re-rendered (+)', '', fence(record.verdict.userDiff, 'diff'));
  out.push('', '## System prompt (system.md at the commit)', '', record.prompt.system === null ? '(none)' : fence(record.prompt.system, 'markdown'));
  out.push('', '## User template (user.template.md at the commit)', '', fence(record.prompt.userTemplate, 'text'));
  out.push('', '## Inputs', '', `From ${record.inputs.source}.`, '', fence(JSON.stringify(record.inputs.values, null, 2), 'json'));
  out.push('', '## Rendered user message', '', fence(record.request.messages[0]?.content ?? '', 'text'));
  out.push('', '## Messages API request', '', fence(JSON.stringify(record.request, null, 2), 'json'));
  out.push('', '## metadata.yaml at the commit', '', fence(record.prompt.metadataYaml, 'yaml'));
  out.push('', '## Files at the commit', '');
  for (const f of record.prompt.files) out.push(`- \`${f.path}\` blob \`${f.blob}\``);
  out.push('', '## Recorded output', '', record.recorded.output === null ? '(the span recorded no output)' : fence(record.recorded.output, 'text'));
  if (record.replayedCall) {
    const r = record.replayedCall;
    out.push('', '## Replayed call', '', `Model \`${r.model}\`, ${r.latencyMs} ms, ${r.usage.inputTokens} input / ${r.usage.outputTokens} output tokens, stop reason ${r.stopReason ?? '(none)'}.`);
    out.push('', fence(r.text, 'text'));
    if (r.comparedWithRecorded) {
      out.push(
        '',
        r.comparedWithRecorded.matches
          ? 'The new output is identical to the recorded one.'
          : 'The new output differs from the recorded one: recorded (-) against new (+).',
      );
      if (r.comparedWithRecorded.diff) out.push('', fence(r.comparedWithRecorded.diff, 'diff'));
    }
  }
  if (record.warnings.length) {
    out.push('', '## Warnings', '');
    for (const w of record.warnings) out.push(`- ${w}`);
  }
  out.push('', '## Record (JSON)', '', fence(JSON.stringify(record, null, 2), 'json'), '');
  return out.join('\n');
}

/** `prompt.name (prompt-ci), prompt.version (prompt-ci), …`: which attributes named the prompt. */
export function identityLine(identity: ParsedSpanInfo['identity']): string {
  const parts = [identity.name, identity.version, ...(identity.commit ? [identity.commit] : [])].map((v) => `${v.attribute} (${conventionLabel(v.convention)})`);
  return parts.join(', ') + (identity.disagreements.length ? `; disagreeing: ${identity.disagreements.join('; ')}` : '');
}
