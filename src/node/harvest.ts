import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseEvalJsonl } from '../core/evalSet';
import { validateMetadata } from '../core/metadata';
import { promptVersionDir, promptVersionOfPath, PROMPT_NAME_PATTERN, versionNumbersIn } from '../core/promptLayout';
import { parseTemplate } from '../core/template/template';
import type { PromptMetadata } from '../core/metadataSchema';
import type { PromptSnapshot, ReplayResult } from '../core/replay';
import { ReplayError, replayPrompt } from '../core/replay';
import type { CandidateSpan, ParsedSpanInfo } from '../core/span';
import { MAX_SPAN_INPUT_BYTES, SpanError, findLlmSpans, isLlmSpan, readSpans, spanInfoOf } from '../core/span';
import type { HarvestCandidate, HarvestPlan, SuiteLine } from '../core/suiteGrowth';
import { planHarvest, suiteLinesText } from '../core/suiteGrowth';
import { readRepoSettings } from './checkRepo';
import type { GitRunner } from './git';
import { runGit } from './git';
import { readPromptAtCommit } from './promptAtCommit';
import { readPromptFile } from './promptFileRead';
import { inferCommit } from './replayCommit';
import { findRepoRoot, toRepoPath } from './repoFiles';

/**
 * `prompt-ci harvest` and "Add Spans to Eval Suite…": span exports in, redacted eval lines appended
 * to a prompt version's eval.jsonl. Each span goes through replay's own path (its shape, identity,
 * commit, the template of that commit, variables from the span or recovered from the recorded
 * message); `planHarvest` (core) redacts, samples and deduplicates; this module reads and appends.
 */

/** A prompt version whose suite grows. */
export interface SuiteTarget {
  repoRoot: string;
  name: string;
  version: number;
  /** Repo-relative POSIX path, `prompts/<name>/v<N>`. */
  dir: string;
}

/** One span export to read: its text, or a file (read whole up to the limit of one export, streamed line by line above it). */
export type SpanExport = TextSpanExport | FileSpanExport;

/** A span export in memory (an editor's text or selection, a file read whole). */
export interface TextSpanExport {
  /** How the export is named in messages (a path, or "the selection"). */
  label: string;
  text: string;
}

/** A span export on disk, read by `harvestSpans` itself. */
export interface FileSpanExport {
  label: string;
  /** Absolute path. */
  path: string;
}

/** What `harvestSpans` is asked. */
export interface HarvestRequest {
  target: SuiteTarget;
  exports: readonly SpanExport[];
  /** Spans already read and identified (the span of a replay document): they take the same path as the exports' spans. */
  spans?: readonly ParsedSpanInfo[];
  sample: number;
  seed: string;
  /** Only spans that started at or after this instant (ISO 8601); spans without a start time are then left out. */
  since?: string;
  /** Only spans of these tenants. */
  tenants?: readonly string[];
  /** Print what would be added; write nothing. */
  dryRun?: boolean;
  git?: GitRunner;
  signal?: AbortSignal;
}

/** Why a span did not become a candidate. Counted by reason; span content is never quoted. */
export type SkipReason =
  | 'other-prompt'
  | 'bad-identity'
  | 'before-since'
  | 'no-start-time'
  | 'other-tenant'
  | 'commit-unknown'
  | 'variables-unknown'
  | 'not-from-template'
  | 'prompt-unreadable'
  | 'lacks-target-variables';

/** A readable phrase per skip reason. */
export const SKIP_REASON_TEXT: Record<SkipReason, string> = {
  'other-prompt': 'of another prompt',
  'bad-identity': 'with an invalid prompt name, version or commit',
  'before-since': 'started before --since',
  'no-start-time': 'without a start time (with --since)',
  'other-tenant': 'of other tenants',
  'commit-unknown': 'whose commit is not in this repository (or could not be inferred)',
  'variables-unknown': 'whose variables are neither recorded nor recoverable from the recorded message',
  'not-from-template': 'whose recorded message the template cannot have rendered (or fits it in several ways)',
  'prompt-unreadable': 'whose prompt version could not be read at its commit',
  'lacks-target-variables': "of a version whose variables lack some the target version's template needs",
};

/** What a harvest did. */
export interface HarvestOutcome {
  plan: HarvestPlan;
  /** LLM spans found in the exports. */
  spans: number;
  /** Spans of the prompt that became candidates. */
  candidates: number;
  skipped: Partial<Record<SkipReason, number>>;
  /** eval.jsonl, repo-relative. */
  evalPath: string;
  /** Lines appended (0 with dryRun). */
  written: number;
}

/** Examples a harvest adds when no sample size is given. */
export const DEFAULT_HARVEST_SAMPLE = 100;
/** The seed when none is given: the draw is reproducible either way. */
export const DEFAULT_HARVEST_SEED = '0';

/** A span export that can't be read at all: names the export; never quotes its content. */
export class HarvestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HarvestError';
  }
}

/** Reads the exports, turns the target prompt's spans into candidates, plans the draw and appends it (unless `dryRun`). */
export async function harvestSpans(request: HarvestRequest): Promise<HarvestOutcome> {
  const git = request.git ?? runGit;
  const { target } = request;
  const metadata = await readTargetMetadata(target);
  const targetVariables = await readTargetVariables(target, metadata);
  const evalPath = `${target.dir}/eval.jsonl`;
  const existingText = await readEvalText(target);
  const existing = parseEvalJsonl(existingText).examples;

  const skipped: Partial<Record<SkipReason, number>> = {};
  const skip = (reason: SkipReason) => (skipped[reason] = (skipped[reason] ?? 0) + 1);
  const spans: (CandidateSpan | ParsedSpanInfo)[] = [];
  for (const e of request.exports) {
    if ('path' in e) {
      // Only the target prompt's spans are kept from a file: the rest is counted and dropped as it is read.
      await readSpanFile(e, (span) => {
        const name = promptNameOf(span);
        if (name === undefined || name === target.name) spans.push(span);
        else skip('other-prompt');
      }, request.signal);
      continue;
    }
    spans.push(...llmSpansOfText(e.text, e.label));
  }
  spans.push(...(request.spans ?? []));
  const since = request.since !== undefined ? Date.parse(request.since) : undefined;
  const tenants = request.tenants?.length ? new Set(request.tenants) : undefined;
  const snapshots = new Map<string, Promise<PromptSnapshot>>();
  const inferred = new Map<string, Promise<string>>();
  const baselineRef = readRepoSettings(target.repoRoot).settings.baselineRef;

  const candidates: HarvestCandidate[] = [];
  for (const candidate of spans) {
    request.signal?.throwIfAborted();
    let info: ParsedSpanInfo;
    try {
      info = isParsedSpanInfo(candidate) ? candidate : spanInfoOf(candidate);
    } catch (error) {
      if (error instanceof SpanError) {
        skip('bad-identity');
        continue;
      }
      throw error;
    }
    if (info.promptName !== target.name) {
      skip('other-prompt');
      continue;
    }
    if (since !== undefined) {
      if (!info.startTime) {
        skip('no-start-time');
        continue;
      }
      if (Date.parse(info.startTime) < since) {
        skip('before-since');
        continue;
      }
    }
    if (tenants && (info.tenantId === null || !tenants.has(info.tenantId))) {
      skip('other-tenant');
      continue;
    }
    let commit = info.commitSha;
    if (commit === null) {
      const key = `${info.promptVersion}\u0000${info.startTime ?? ''}`;
      let found = inferred.get(key);
      if (!found) {
        found = inferCommit(
          target.repoRoot,
          { promptName: info.promptName, promptVersion: info.promptVersion, ...(info.startTime ? { startTime: info.startTime } : {}) },
          { git, signal: request.signal, ...(baselineRef !== undefined ? { baselineRef } : {}) },
        ).then((r) => r.commit);
        inferred.set(key, found);
      }
      try {
        commit = await found;
      } catch (error) {
        if (error instanceof ReplayError || error instanceof SpanError) {
          skip('commit-unknown');
          continue;
        }
        throw error;
      }
    }
    const key = `${commit}\u0000${info.promptVersion}`;
    let snapshot = snapshots.get(key);
    if (!snapshot) {
      snapshot = readPromptAtCommit(target.repoRoot, { commitSha: commit, promptName: info.promptName, promptVersion: info.promptVersion }, { git, signal: request.signal });
      snapshots.set(key, snapshot);
    }
    let result: ReplayResult;
    try {
      result = replayPrompt(info, await snapshot);
    } catch (error) {
      if (error instanceof ReplayError) {
        skip(error.code === 'commit-not-found' ? 'commit-unknown' : 'prompt-unreadable');
        continue;
      }
      if (error instanceof SpanError) {
        skip('bad-identity');
        continue;
      }
      throw error;
    }
    if (result.verdict.kind === 'not-produced' || result.verdict.kind === 'ambiguous') {
      skip('not-from-template');
      continue;
    }
    if (result.variables.missing.length > 0 || result.rendered.user === null) {
      skip('variables-unknown');
      continue;
    }
    // Any version's spans are harvested (inputs are inputs), as long as they supply what the target's template needs.
    if (targetVariables.some((name) => !(name in result.variables.values))) {
      skip('lacks-target-variables');
      continue;
    }
    const inputs = Object.fromEntries(targetVariables.map((name) => [name, result.variables.values[name]]));
    candidates.push({
      traceId: info.traceId ?? null,
      spanId: info.spanId ?? null,
      version: info.promptVersion,
      commit: (await snapshot).commit.sha,
      time: info.startTime ?? null,
      tenant: info.tenantId,
      inputs,
      ...(info.recorded?.output !== undefined ? { output: info.recorded.output } : {}),
    });
  }

  const plan = planHarvest(candidates, {
    sample: request.sample,
    seed: request.seed,
    existing,
    sensitiveVariables: metadata.eval.sensitive_variables ?? [],
    phoneRegion: metadata.eval.phone_region,
  });
  const written = request.dryRun ? 0 : await appendSuiteLines(target, existingText, plan.lines);
  return { plan, spans: spans.length, candidates: candidates.length, skipped, evalPath, written };
}

function isParsedSpanInfo(span: CandidateSpan | ParsedSpanInfo): span is ParsedSpanInfo {
  return 'promptName' in span;
}

/** The target version's metadata.yaml from the working tree, validated as `check` does. */
export async function readTargetMetadata(target: SuiteTarget): Promise<PromptMetadata> {
  const path = join(target.repoRoot, target.dir, 'metadata.yaml');
  const read = await readPromptFile(path, `${target.dir}/metadata.yaml`);
  if (read.kind !== 'text') throw new HarvestError(read.kind === 'refused' ? read.message : `${target.dir} has no metadata.yaml`);
  const validation = validateMetadata(read.text, {
    promptName: target.name,
    version: target.version,
    versionDir: target.dir,
    exists: (p) => existsSync(join(target.repoRoot, p)),
  });
  if (!validation.metadata) {
    const first = validation.findings.find((f) => f.severity === 'error');
    throw new HarvestError(`${target.dir}/metadata.yaml is not valid${first ? ` (line ${first.range.start.line + 1}: ${first.message})` : ''}; run prompt-ci check ${target.dir}`);
  }
  return validation.metadata;
}

/** The variables of the target version's user.template.md, in template order. */
export async function readTargetVariables(target: SuiteTarget, metadata: PromptMetadata): Promise<string[]> {
  const read = await readPromptFile(join(target.repoRoot, target.dir, 'user.template.md'), `${target.dir}/user.template.md`);
  if (read.kind !== 'text') throw new HarvestError(read.kind === 'refused' ? read.message : `${target.dir} has no user.template.md`);
  const parsed = parseTemplate(read.text, metadata.template_format);
  if (parsed.errors.length) throw new HarvestError(`${target.dir}/user.template.md is not a valid ${metadata.template_format} template (${parsed.errors[0].message}); run prompt-ci check ${target.dir}`);
  return [...new Set(parsed.variables)];
}

async function readEvalText(target: SuiteTarget): Promise<string> {
  const read = await readPromptFile(join(target.repoRoot, target.dir, 'eval.jsonl'), `${target.dir}/eval.jsonl`);
  if (read.kind === 'refused') throw new HarvestError(read.message);
  return read.kind === 'text' ? read.text : '';
}

/**
 * Appends lines to the target's eval.jsonl in one write, after a line ending when the file lacks a
 * final one; the lines already there are never rewritten. Uses the file's own line ending.
 */
export async function appendSuiteLines(target: SuiteTarget, existingText: string, lines: readonly SuiteLine[]): Promise<number> {
  if (lines.length === 0) return 0;
  const path = join(target.repoRoot, target.dir, 'eval.jsonl');
  const raw = existsSync(path) ? await readFile(path, 'utf8') : '';
  const eol = /\r\n/.test(existingText || raw) ? '\r\n' : '\n';
  const lead = raw.length > 0 && !raw.endsWith('\n') ? eol : '';
  const handle = await open(path, 'a');
  try {
    await handle.write(lead + suiteLinesText(lines, eol));
  } finally {
    await handle.close();
  }
  return lines.length;
}

/**
 * The prompt version a directory names: `prompts/<name>/v<N>`, or `prompts/<name>` for its highest
 * version. `arg` is how the user wrote it (for messages), resolved against `cwd`.
 */
export function resolveSuiteTarget(arg: string, cwd: string): SuiteTarget {
  const abs = resolve(cwd, arg);
  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new HarvestError(`${arg}: no such directory`);
  const repoRoot = findRepoRoot(abs);
  const rel = repoRoot === undefined ? undefined : toRepoPath(repoRoot, abs);
  if (repoRoot === undefined || rel === undefined) throw new HarvestError(`${arg} is not inside a git repository`);
  const version = promptVersionOfPath(rel);
  if (version && version.root === '') return { repoRoot, name: version.name, version: version.version, dir: version.dir };
  const parts = rel.split('/');
  if (parts.length === 2 && parts[0] === 'prompts' && PROMPT_NAME_PATTERN.test(parts[1])) {
    const versions = promptVersionsOf(repoRoot, parts[1]);
    if (versions.length > 0) return versions[versions.length - 1];
    throw new HarvestError(`${arg} has no version directories (v1, v2, …)`);
  }
  throw new HarvestError(`${arg} is not a prompt version directory (prompts/<name>/v<N>) or a prompt (prompts/<name>)`);
}

/** The versions of `prompts/<name>` in the working tree, lowest first (none when the prompt isn't there). */
export function promptVersionsOf(repoRoot: string, name: string): SuiteTarget[] {
  if (!PROMPT_NAME_PATTERN.test(name)) return [];
  let entries: string[];
  try {
    entries = readdirSync(join(repoRoot, 'prompts', name));
  } catch {
    return [];
  }
  return versionNumbersIn(entries).map((version) => ({ repoRoot, name, version, dir: promptVersionDir(name, version) }));
}

/** What span exports hold before a target is chosen: LLM spans per prompt name, and how many have no usable identity. */
export interface SpanExportSurvey {
  /** Prompt name → LLM spans naming it, most spans first. */
  prompts: { name: string; spans: number }[];
  /** LLM spans in all. */
  spans: number;
  /** LLM spans whose prompt name, version or commit is invalid. */
  badIdentity: number;
}

/** The LLM spans of one whole export's text; a text that isn't a span export is a {@link HarvestError} naming `label`, never quoting the text. */
function llmSpansOfText(text: string, label: string): CandidateSpan[] {
  try {
    return findLlmSpans(text);
  } catch (error) {
    if (error instanceof SpanError) throw new HarvestError(`${label}: ${spanErrorWithoutContent(error)}`);
    throw error;
  }
}

/** Reads the exports (as `harvestSpans` does) and counts their LLM spans by prompt; a file that isn't a span export is a {@link HarvestError}. */
export function surveySpanExports(exports: readonly TextSpanExport[]): SpanExportSurvey {
  const counts = new Map<string, number>();
  let spans = 0;
  let badIdentity = 0;
  for (const e of exports) {
    for (const span of llmSpansOfText(e.text, e.label)) {
      spans += 1;
      try {
        const name = spanInfoOf(span).promptName;
        counts.set(name, (counts.get(name) ?? 0) + 1);
      } catch (error) {
        if (!(error instanceof SpanError)) throw error;
        badIdentity += 1;
      }
    }
  }
  const prompts = [...counts].map(([name, n]) => ({ name, spans: n })).sort((a, b) => b.spans - a.spans || a.name.localeCompare(b.name));
  return { prompts, spans, badIdentity };
}

/** A span's prompt name, or undefined when its identity is invalid (then `harvestSpans` counts it as such). */
function promptNameOf(span: CandidateSpan): string | undefined {
  try {
    return spanInfoOf(span).promptName;
  } catch (error) {
    if (error instanceof SpanError) return undefined;
    throw error;
  }
}

/**
 * Reads a span export file and hands over its LLM spans one at a time. A file up to
 * `MAX_SPAN_INPUT_BYTES` is read whole, in every shape replay reads. A larger one is streamed a line
 * at a time, each line one JSON document (the collector's file exporter writes OTLP/JSON lines;
 * JSONL of spans or attribute maps): memory holds one line, never the file, and a line over the
 * limit is refused as soon as it passes it. A larger file that is one JSON document (its first line
 * is not a whole document) is refused with what to do. Errors never quote the file's content.
 */
export async function readSpanFile(file: FileSpanExport, onSpan: (span: CandidateSpan) => void, signal?: AbortSignal): Promise<void> {
  let size: number;
  try {
    size = (await stat(file.path)).size;
  } catch (error) {
    throw new HarvestError(`span file ${file.label} can't be read: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : ((error as NodeJS.ErrnoException).code ?? 'error')}`);
  }
  if (size <= MAX_SPAN_INPUT_BYTES) {
    for (const span of llmSpansOfText(await readFile(file.path, 'utf8'), file.label)) onSpan(span);
    return;
  }
  const limit = mib(MAX_SPAN_INPUT_BYTES);
  const seen = new Set<string>();
  let lineNo = 0;
  let found = 0;
  for await (const line of fileLines(file.path, MAX_SPAN_INPUT_BYTES, (n) => new HarvestError(
    `${file.label} is ${mib(size)}, over the ${limit} limit of one JSON document, and its line ${n} is over ${limit} too: a larger export is read a line at a time, one JSON document per line (OTLP/JSON lines, as the collector's file exporter writes them, or JSONL); split that line's document into smaller ones`,
  ))) {
    signal?.throwIfAborted();
    lineNo += 1;
    if (line.trim() === '') continue;
    let scan;
    try {
      scan = readSpans(line);
    } catch (error) {
      if (!(error instanceof SpanError)) throw error;
      if (error.code === 'unrecognised-shape') continue;
      if (lineNo === 1 || found === 0) {
        throw new HarvestError(
          `${file.label} is ${mib(size)}, over the ${limit} limit of one JSON document, so it is read a line at a time, one JSON document per line (OTLP/JSON lines, as the collector's file exporter writes them, or JSONL of spans), but its line ${lineNo} is not a whole JSON document: ` +
            `it looks like one large document. Export it as JSON lines (the collector's file exporter does; \`jq -c '.resourceSpans[] | {resourceSpans: [.]}'\` turns an OTLP/JSON document into lines), or split it into files under ${limit}`,
        );
      }
      throw new HarvestError(`${file.label}: line ${lineNo}: ${spanErrorWithoutContent(error)}`);
    }
    for (const span of scan.spans) {
      if (!isLlmSpan(span)) continue;
      found += 1;
      // A span repeated across lines (a re-export) is read once, as in one document.
      if (span.traceId && span.spanId) {
        const key = `${span.traceId}/${span.spanId}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      onSpan(span);
    }
  }
  if (found === 0) throw new HarvestError(`${file.label}: no LLM span in its ${lineNo} lines (a span with gen_ai.* attributes or a prompt.name)`);
}

const mib = (bytes: number): string => `${(bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MB`;

/**
 * The lines of a file, decoded as UTF-8, read in chunks: at most one line (up to `maxLineBytes`)
 * and one chunk are in memory. A line longer than that throws `tooLong(lineNumber)` before it is
 * read to its end.
 */
async function* fileLines(path: string, maxLineBytes: number, tooLong: (line: number) => Error): AsyncGenerator<string> {
  const stream = createReadStream(path, { highWaterMark: 1024 * 1024 });
  let parts: Buffer[] = [];
  let partBytes = 0;
  let line = 1;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let start = 0;
      for (let nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
        const piece = chunk.subarray(start, nl);
        if (partBytes + piece.length > maxLineBytes) throw tooLong(line);
        yield (parts.length ? Buffer.concat([...parts, piece]) : piece).toString('utf8').replace(/\r$/, '');
        parts = [];
        partBytes = 0;
        line += 1;
        start = nl + 1;
      }
      if (start < chunk.length) {
        const rest = chunk.subarray(start);
        partBytes += rest.length;
        if (partBytes > maxLineBytes) throw tooLong(line);
        parts.push(Buffer.from(rest));
      }
    }
    if (partBytes > 0) yield Buffer.concat(parts).toString('utf8').replace(/\r$/, '');
  } finally {
    stream.destroy();
  }
}

/** A span export's error without the quoted content some messages carry (a value from the export could be personal data). */
function spanErrorWithoutContent(error: SpanError): string {
  switch (error.code) {
    case 'not-json':
    case 'truncated-json':
    case 'too-large':
    case 'too-deep':
    case 'empty':
      return error.message.replace(/[;,]? near .*$/s, '');
    case 'unrecognised-shape':
      return 'no spans found: the file is JSON but not a span export replay reads (OTLP/JSON, an OTLP span, Jaeger JSON, Zipkin v2, the OpenTelemetry console exporter, or a flat attribute map)';
    default:
      return `not a span export replay reads (${error.code})`;
  }
}
