import type { CommitSource, MessagesRequest, ReplayCallOutcome, ReplayInputs, ReplayResult } from '../core/replay';
import { compareOutputs, replayPrompt } from '../core/replay';
import type { CandidateSpan, ParseSpanOptions, ParsedSpanInfo } from '../core/span';
import { parseSpan, spanInfoOf } from '../core/span';
import { readRepoSettings } from './checkRepo';
import type { GitRunner } from './git';
import { runGit } from './git';
import type { ModelApiConfig } from './modelApi';
import { ModelClient } from './modelClient';
import { readPromptAtCommit } from './promptAtCommit';
import { inferCommit } from './replayCommit';

/**
 * Replay from a pasted span to the rebuilt request (the path the CLI and the extension share),
 * and the optional fresh call of that request. The call goes straight through `@anthropic-ai/sdk`
 * with no cache and no retries beyond the SDK's own: a replay is one deliberate call.
 */

/** What `replaySpanText` needs besides the paste. */
export interface ReplaySpanOptions extends ParseSpanOptions {
  /** The git top-level to read from, or a function choosing it once the span is read (VS Code with several repositories). */
  repoRoot: string | ((span: ParsedSpanInfo) => Promise<string>);
  /** The span already chosen from the paste (e.g. picked in VS Code); `spanId` is then not needed. */
  candidate?: CandidateSpan;
  inputs?: ReplayInputs;
  /** The ref a commit is inferred from when the span names none; default `prompt-ci.yaml` `baselineRef`, then origin/main, main. */
  baselineRef?: string;
  git?: GitRunner;
  signal?: AbortSignal;
}

/**
 * Paste to rendered prompt, the one path the CLI, the extension and the Node API share: parses the
 * span, finds its commit (named by the span, or inferred from the baseline ref's history), reads
 * the prompt version at that commit and renders it. Throws `SpanError` or `ReplayError` (both bad
 * input) with a message naming the problem.
 */
export async function replaySpanText(text: string, options: ReplaySpanOptions): Promise<ReplayResult> {
  const span = options.candidate ? spanInfoOf(options.candidate) : parseSpan(text, options.spanId !== undefined ? { spanId: options.spanId } : {});
  const git = options.git ?? runGit;
  const repoRoot = typeof options.repoRoot === 'string' ? options.repoRoot : await options.repoRoot(span);
  let commitSha = span.commitSha;
  let commit: CommitSource | undefined;
  const warnings: string[] = [];
  if (commitSha === null) {
    const baselineRef = options.baselineRef ?? readRepoSettings(repoRoot).settings.baselineRef;
    const inferred = await inferCommit(
      repoRoot,
      { promptName: span.promptName, promptVersion: span.promptVersion, ...(span.startTime ? { startTime: span.startTime } : {}) },
      { git, signal: options.signal, ...(baselineRef !== undefined ? { baselineRef } : {}) },
    );
    commitSha = inferred.commit;
    commit = inferred.source;
    warnings.push(...inferred.warnings);
  }
  const prompt = await readPromptAtCommit(
    repoRoot,
    { commitSha, promptName: span.promptName, promptVersion: span.promptVersion },
    { git, signal: options.signal },
  );
  const result = replayPrompt(span, prompt, options.inputs, commit ? { commit } : {});
  result.warnings.unshift(...warnings);
  return result;
}

/** Where the replayed call goes. */
export interface ReplayCallOptions {
  /** Key and base URL, as `resolveModelApi` worked them out. */
  api: ModelApiConfig;
  signal?: AbortSignal;
  /** Per-call timeout in milliseconds. Default 120 s. */
  timeoutMs?: number;
}

/**
 * Sends the rebuilt request once and compares the new text with the output the span recorded.
 * @throws MissingApiKeyError without a key; ModelCallError when the call fails (after retries).
 */
export async function callReplay(
  request: MessagesRequest,
  recordedOutput: string | undefined,
  options: ReplayCallOptions,
): Promise<ReplayCallOutcome> {
  const client = new ModelClient({ api: options.api, concurrency: 1, timeoutMs: options.timeoutMs ?? 120_000 });
  // A request recorded with a sampling parameter was sent under the API version that had them;
  // replaying it under the current one (no sampling parameters) would be refused, or would differ.
  const sampling = (request as { temperature?: unknown }).temperature !== undefined;
  const reply = await client.complete(request, {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(sampling ? { headers: { 'anthropic-version': '2023-06-01' } } : {}),
  });
  return {
    model: reply.model ?? request.model,
    text: reply.text,
    stopReason: reply.stopReason,
    usage: { inputTokens: reply.inputTokens, outputTokens: reply.outputTokens },
    latencyMs: Math.round(reply.latencyMs),
    comparedWithRecorded: compareOutputs(recordedOutput, reply.text),
  };
}
