import { diffLines } from 'diff';
import type { CommitInfo, TreeEntry } from './gitOutput';
import type { PromptMetadata } from './metadataSchema';
import { validateMetadata } from './metadata';
import type { ParsedSpanInfo, RecordedMessage } from './span';
import { spanShapeLabel } from './span';
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
  temperature: number;
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
  source: 'span' | 'inputs' | 'span+inputs';
  /** The template's variables, in template order. */
  required: string[];
  /** Supplied but not used by the template. */
  unused: string[];
  /** The inputs file, when one was given. */
  inputsSource?: string;
}

/** Everything a replay produced. */
export interface ReplayResult {
  span: ParsedSpanInfo;
  prompt: PromptSnapshot;
  metadata: PromptMetadata;
  variables: ReplayVariables;
  rendered: { system: string | null; user: string; matchesRecorded: boolean | null };
  comparison: RecordedComparison | null;
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

/**
 * Renders the prompt of the span's commit and rebuilds the request. Throws `ReplayError` when the
 * template is malformed, variables are missing, or rendering fails.
 */
export function replayPrompt(span: ParsedSpanInfo, prompt: PromptSnapshot, inputs?: ReplayInputs): ReplayResult {
  const metadata = prompt.metadata;
  const format = metadata.template_format;
  const shortSha = prompt.commit.sha.slice(0, 12);
  const warnings = [...span.warnings, ...prompt.warnings];

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
  const values: Record<string, unknown> = { ...fromSpan, ...fromInputs };
  const source: ReplayVariables['source'] =
    inputs && span.variables ? 'span+inputs' : inputs ? 'inputs' : 'span';
  const missing = required.filter((v) => !(v in values));
  if (missing.length) {
    const where: string[] = [];
    if (span.variables) where.push(`the span's prompt.variables has ${listOrNone(Object.keys(fromSpan))}`);
    else where.push('the span has no prompt.variables attribute');
    if (inputs) where.push(`${inputs.source} has ${listOrNone(Object.keys(fromInputs))}`);
    else where.push('no inputs file was given (--inputs FILE)');
    throw new ReplayError(
      'missing-variables',
      `${prompt.dir}/user.template.md at commit ${shortSha} needs ${missing.length === 1 ? 'variable' : 'variables'} ${missing.map((m) => `"${m}"`).join(', ')} that ${missing.length === 1 ? 'is' : 'are'} not supplied: ${where.join('; ')}`,
    );
  }
  const unused = Object.keys(values).filter((k) => !required.includes(k));
  if (unused.length) warnings.push(`variables not used by the template at ${shortSha}: ${unused.join(', ')}`);

  let user: string;
  try {
    user = renderTemplate(prompt.userTemplate, values, format);
  } catch (error) {
    throw new ReplayError(
      'render-error',
      `rendering ${prompt.dir}/user.template.md at commit ${shortSha} failed: ${(error as Error).message}`,
    );
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
  const messages: MessagesRequest['messages'] = [{ role: 'user', content: user }];
  const request: MessagesRequest =
    system !== null
      ? { model, max_tokens: maxTokens, temperature, system, messages }
      : { model, max_tokens: maxTokens, temperature, messages };

  const comparison = compareWithRecorded(span, system, user);
  const matchesRecorded = comparison === null ? null : comparisonMatches(comparison);

  return {
    span,
    prompt,
    metadata,
    variables: {
      values,
      source,
      required,
      unused,
      ...(inputs ? { inputsSource: inputs.source } : {}),
    },
    rendered: { system, user, matchesRecorded },
    comparison,
    request,
    mismatches,
    warnings,
  };
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

function compareWithRecorded(span: ParsedSpanInfo, system: string | null, user: string): RecordedComparison | null {
  const recorded = span.recorded;
  if (!recorded || (recorded.system === undefined && recorded.messages === undefined)) return null;
  const comparison: RecordedComparison = { compared: [] };
  if (recorded.system !== undefined) {
    comparison.compared.push('system');
    comparison.system = compareTexts(recorded.system, system ?? '');
  }
  if (recorded.messages !== undefined) {
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
  inputs: { source: string; values: Record<string, unknown> };
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
  const inputsSource =
    result.variables.source === 'span'
      ? 'span attribute prompt.variables'
      : result.variables.source === 'inputs'
        ? (result.variables.inputsSource ?? 'inputs file')
        : `span attribute prompt.variables, overridden by ${result.variables.inputsSource ?? 'inputs file'}`;
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
    inputs: { source: inputsSource, values: result.variables.values },
    model: result.request.model,
    parameters: { temperature: result.request.temperature, max_tokens: result.request.max_tokens },
    request: result.request,
    recorded: {
      system: span.recorded?.system ?? null,
      user: span.recorded?.user ?? null,
      output: span.recorded?.output ?? null,
      usage: { inputTokens: span.usage?.inputTokens ?? null, outputTokens: span.usage?.outputTokens ?? null },
      sources: span.recorded?.sources ?? [],
    },
    verdict: {
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
  const verdict =
    record.verdict.matchesRecorded === null
      ? 'The span recorded no input messages: nothing to compare.'
      : record.verdict.matchesRecorded
        ? `The re-rendered ${record.verdict.compared.join(' and ')} match${record.verdict.compared.length === 1 ? 'es' : ''} the recorded input byte for byte.`
        : `The re-rendered messages **differ** from the recorded input (compared: ${record.verdict.compared.join(', ')}).`;
  const rows: [string, string][] = [
    ['Prompt', `\`${record.prompt.dir}\``],
    ['Commit', `\`${c.sha}\``],
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

/** A fenced block whose fence is longer than any backtick run in the text, so the text can't close it. */
function fence(text: string, lang: string): string {
  let longest = 0;
  for (const run of text.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  const ticks = '`'.repeat(Math.max(3, longest + 1));
  return `${ticks}${lang}\n${text}${text.endsWith('\n') ? '' : '\n'}${ticks}`;
}

function tableCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}
