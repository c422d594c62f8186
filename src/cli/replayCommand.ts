import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ReplayCallOutcome, ReplayInputs, ReplayResult, TextComparison } from '../core/replay';
import { ReplayError, describeCommitSource, describeVariablesSource, identityLine, parseInputsFile, toAuditMarkdown, toAuditRecord } from '../core/replay';
import { MAX_SPAN_INPUT_BYTES, SpanError, spanShapeLabel, spanSummary } from '../core/span';
import type { GitRunner } from '../node/git';
import { gitTopLevel, runGit } from '../node/git';
import { resolveModelApi } from '../node/modelApi';
import { ModelCallError } from '../node/modelClient';
import { OutputFileError, writeOutputFile } from '../node/outputFiles';
import { callReplay, replaySpanText } from '../node/replayRunner';
import type { CliIo } from './cliIo';
import { EXIT_OK, EXIT_USAGE, UsageError, errorKindOf, exitCodeOfError, reportCommandError } from './cliIo';
import { JSON_OUTPUT } from './options';
import { REPLAY_USAGE } from './usages';
export { REPLAY_USAGE } from './usages';

/** Inputs files are a few variables; anything this big is a wrong file. */
const MAX_INPUTS_BYTES = 20 * 1024 * 1024;

/** What the command reaches beyond `CliIo`; tests pass fakes, the real process passes nothing. */
export interface ReplayCommandDeps {
  /** Reads stdin up to `limit` bytes; `overLimit` when there was more. Default: the process's stdin. */
  readStdin?: (limit: number, signal: AbortSignal) => Promise<{ text: string; overLimit: boolean }>;
  git?: GitRunner;
  /** The call of `--call`. Default: `callReplay`, through the eval's `ModelClient`. */
  call?: typeof callReplay;
  /** The clock of the audit record. */
  now?: () => Date;
}

/**
 * `prompt-ci replay`: reads a span export from FILE or stdin, renders the prompt of the commit it
 * names and prints the rebuilt request (text, or `--json`). `--call` sends it again and diffs the
 * output with the recorded one; `--audit` writes the audit record. Exit 0, or 2 with the reason on
 * stderr for any bad input.
 */
export async function runReplayCommand(argv: string[], io: CliIo, deps: ReplayCommandDeps = {}): Promise<number> {
  const fail = (message: string): number => {
    io.stderr(`prompt-ci replay: ${message}\n`);
    return EXIT_USAGE;
  };
  let values: { inputs?: string; json?: boolean; call?: boolean; 'span-id'?: string; audit?: string };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        inputs: { type: 'string' },
        ...JSON_OUTPUT.spec,
        call: { type: 'boolean' },
        'span-id': { type: 'string' },
        audit: { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    }));
    if (positionals.length > 1) throw new UsageError(`one span file at a time (got ${positionals.length})`);
  } catch (error) {
    return reportCommandError(io, 'replay', REPLAY_USAGE, error);
  }

  try {
    const git = deps.git ?? runGit;
    const source = positionals[0] ?? '-';
    const text = source === '-' ? await readStdinSpan(io, deps) : await readLimited(resolve(io.cwd, source), source, MAX_SPAN_INPUT_BYTES, 'span file');

    const repoRoot = await gitTopLevel(git, io.cwd);
    if (!repoRoot) return fail(`${io.cwd} is not inside a git repository; run replay from the repository the span's commit belongs to`);

    let inputs: ReplayInputs | undefined;
    if (values.inputs !== undefined) {
      const inputsText = await readLimited(resolve(io.cwd, values.inputs), values.inputs, MAX_INPUTS_BYTES, 'inputs file');
      inputs = { values: parseInputsFile(inputsText, values.inputs), source: values.inputs };
    }

    const result = await withCliHints(() => replaySpanText(text, {
      repoRoot,
      git,
      signal: io.signal,
      ...(inputs ? { inputs } : {}),
      ...(values['span-id'] !== undefined ? { spanId: values['span-id'] } : {}),
    }));

    let call: ReplayCallOutcome | undefined;
    if (values.call && result.rendered.user === null) {
      return fail(`--call needs the rendered request, but the variables are not known: ${result.verdict.summary} Give them with --inputs FILE`);
    }
    if (values.call) {
      const api = resolveModelApi({ env: io.env });
      if (!api.apiKey) return fail('--call needs ANTHROPIC_API_KEY in the environment (and ANTHROPIC_BASE_URL for a gateway)');
      try {
        call = await (deps.call ?? callReplay)(result.request, result.span.recorded?.output, { api, signal: io.signal });
      } catch (error) {
        if (error instanceof ModelCallError) return fail(`the replayed call failed: ${error.message}`);
        throw error;
      }
    }

    for (const warning of result.warnings) io.stderr(`warning: ${warning}\n`);
    if (values.audit !== undefined) {
      const record = toAuditRecord(result, { generatedAt: (deps.now ?? (() => new Date()))().toISOString(), ...(call ? { call } : {}) });
      const target = resolve(io.cwd, values.audit);
      try {
        await writeOutputFile(target, values.audit.toLowerCase().endsWith('.json') ? `${JSON.stringify(record, null, 2)}\n` : toAuditMarkdown(record), values.audit);
      } catch (error) {
        if (error instanceof OutputFileError) return fail(`--audit ${error.message}`);
        throw error;
      }
      io.stderr(`audit record written to ${values.audit}\n`);
    }
    io.stdout(values.json ? `${JSON.stringify(replayJson(result, call), null, 2)}\n` : replayText(result, call));
    return EXIT_OK;
  } catch (error) {
    if ((error as Error).name === 'AbortError') return fail('interrupted');
    // A bad input file or span, git, the repository: the reason alone (a usage error here names a file, not the command's use).
    if (errorKindOf(error) === undefined) throw error;
    io.stderr(`prompt-ci replay: ${(error as Error).message}\n`);
    return exitCodeOfError(error);
  }
}

/** The document `--json` prints: `{ span, rendered, request, metadata }` and the rest of the replay. */
export function replayJson(result: ReplayResult, call?: ReplayCallOutcome): Record<string, unknown> {
  return {
    span: { ...spanSummary(result.span), shape: result.span.shape, startTime: result.span.startTime ?? null },
    identity: result.span.identity,
    commitSource: result.commit,
    verdict: result.verdict,
    rendered: result.rendered,
    request: result.request,
    metadata: result.metadata,
    commit: result.prompt.commit,
    prompt: {
      dir: result.prompt.dir,
      files: result.prompt.files.map((f) => ({ path: `${result.prompt.dir}/${f.path}`, type: f.type, object: f.object })),
    },
    variables: result.variables,
    comparison: result.comparison,
    mismatches: result.mismatches,
    recorded: result.span.recorded ?? null,
    usage: result.span.usage ?? null,
    replay: call ?? null,
    warnings: result.warnings,
  };
}

/** The human summary: where the prompt came from, the verdict, then the messages as they were sent. */
export function replayText(result: ReplayResult, call?: ReplayCallOutcome): string {
  const { span, prompt, request, comparison } = result;
  const c = prompt.commit;
  const lines: string[] = [];
  lines.push(`${prompt.dir} at commit ${c.sha.slice(0, 12)} "${c.subject}" by ${c.author}, ${c.authorDate}`);
  lines.push(`prompt named by ${identityLine(span.identity)}`);
  lines.push(`commit ${describeCommitSource(result.commit)}`);
  const ids = [
    span.spanId ? `span ${span.spanId}` : 'span without id',
    span.traceId ? `trace ${span.traceId}` : undefined,
    `(${spanShapeLabel(span.shape)})`,
  ].filter(Boolean);
  lines.push(ids.join(' '));
  lines.push(`tenant ${span.tenantId ?? '(none)'}, request ${span.requestId ?? '(none)'}`);
  lines.push(`model ${request.model}, temperature ${request.temperature ?? `not sent (${result.metadata.temperature} in metadata.yaml)`}, max_tokens ${request.max_tokens}`);
  lines.push(`variables ${describeVariablesSource(result.variables)}: ${result.variables.required.join(', ') || '(none needed)'}`);
  for (const note of result.variables.recoveryNotes ?? []) lines.push(`  ${note}`);
  const v = result.verdict;
  lines.push(v.kind === 'ambiguous' || v.kind === 'variables-unknown' ? `${v.summary} (--inputs FILE)` : v.summary);
  if (v.kind === 'not-produced') {
    lines.push(`  at line ${v.at.line}, column ${v.at.column} the recorded message has ${JSON.stringify(v.around.recorded)}`);
    lines.push(`  where the template has ${JSON.stringify(v.around.template || '(the end of its text)')}`);
  }
  const out: string[] = [lines.join('\n'), ''];
  for (const [label, cmp] of [['system', comparison?.system], ['user', comparison?.user]] as [string, TextComparison | undefined][]) {
    if (!cmp || cmp.matches) continue;
    out.push(`── ${label}: recorded (-) against re-rendered (+)${cmp.firstDifference ? `, first difference at line ${cmp.firstDifference.line}, column ${cmp.firstDifference.column}` : ''} ──`);
    if (cmp.note) out.push(cmp.note);
    out.push((cmp.diff ?? '').replace(/\n$/, ''), '');
  }
  if (comparison?.extraMessages?.length) {
    out.push(`the span recorded ${comparison.extraMessages.length} more input message(s) (${comparison.extraMessages.map((m) => m.role).join(', ')}) than the template renders`, '');
  }
  out.push('── system ──', request.system ?? '(no system prompt)', '', result.rendered.user === null ? '── user (the template, not rendered) ──' : '── user ──', request.messages[0].content, '');
  if (call) {
    out.push(`── replayed call: ${call.model}, ${call.latencyMs} ms, ${call.usage.inputTokens} in / ${call.usage.outputTokens} out, stop ${call.stopReason ?? '(none)'} ──`, call.text, '');
    const cmp = call.comparedWithRecorded;
    if (!cmp) out.push('the span recorded no output to compare with', '');
    else if (cmp.matches) out.push('new output: identical to the recorded output', '');
    else out.push('new output: differs from the recorded output, recorded (-) against new (+):', (cmp.diff ?? '').replace(/\n$/, ''), '');
  }
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}

/** Adds the CLI's own way out to messages the core words without naming a flag. */
async function withCliHints<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof SpanError && error.code === 'several-llm-spans') throw new SpanError(error.code, `${error.message} (--span-id ID)`);
    if (error instanceof ReplayError && error.code === 'missing-variables') throw new ReplayError(error.code, `${error.message}; give every variable in the --inputs file`);
    throw error;
  }
}

/** Reads a file of at most `limit` bytes, refusing larger ones before reading them. */
async function readLimited(path: string, shown: string, limit: number, what: string): Promise<string> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new UsageError(`${what} ${shown} is not a file`);
    size = info.size;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${what} ${shown} can't be read: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  if (size > limit) {
    throw new SpanError('too-large', `${what} ${shown} is ${(size / (1024 * 1024)).toFixed(1)} MB, over the ${limit / (1024 * 1024)} MB limit; export only the trace (or the span) of the call`);
  }
  const handle = await open(path, 'r');
  try {
    return (await handle.readFile()).toString('utf8');
  } finally {
    await handle.close();
  }
}

async function readStdinSpan(io: CliIo, deps: ReplayCommandDeps): Promise<string> {
  const reader = deps.readStdin ?? readProcessStdin;
  const { text, overLimit } = await reader(MAX_SPAN_INPUT_BYTES, io.signal);
  if (overLimit) {
    throw new SpanError('too-large', `stdin holds more than ${MAX_SPAN_INPUT_BYTES / (1024 * 1024)} MB, over the limit for a span export; export only the trace (or the span) of the call`);
  }
  return text;
}

/** Reads the process's stdin, stopping (without waiting for the rest) once `limit` bytes are passed. */
async function readProcessStdin(limit: number, signal: AbortSignal): Promise<{ text: string; overLimit: boolean }> {
  const stdin = process.stdin;
  if (stdin.isTTY) throw new UsageError(`give a span FILE, or pipe the span export on stdin\nusage: ${REPLAY_USAGE}`);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stdin) {
    if (signal.aborted) break;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    total += buf.length;
    if (total > limit) {
      stdin.destroy();
      return { text: '', overLimit: true };
    }
    chunks.push(buf);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), overLimit: false };
}
