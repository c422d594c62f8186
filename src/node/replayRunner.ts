import type { MessagesRequest, ReplayCallOutcome, ReplayInputs, ReplayResult } from '../core/replay';
import { compareOutputs, replayPrompt } from '../core/replay';
import type { ParseSpanOptions } from '../core/span';
import { parseSpan } from '../core/span';
import type { GitRunner } from './git';
import { runGit } from './git';
import type { ModelApiConfig } from './modelApi';
import { ModelClient } from './modelClient';
import { readPromptAtCommit } from './promptAtCommit';

/**
 * Replay from a pasted span to the rebuilt request (the path the CLI and the extension share),
 * and the optional fresh call of that request. The call goes straight through `@anthropic-ai/sdk`
 * with no cache and no retries beyond the SDK's own: a replay is one deliberate call.
 */

/** What `replaySpanText` needs besides the paste. */
export interface ReplaySpanOptions extends ParseSpanOptions {
  repoRoot: string;
  inputs?: ReplayInputs;
  git?: GitRunner;
  signal?: AbortSignal;
}

/**
 * Paste to rendered prompt: parses the span, reads the prompt version at its commit and renders
 * it. Throws `SpanError` or `ReplayError` (both bad input) with a message naming the problem.
 */
export async function replaySpanText(text: string, options: ReplaySpanOptions): Promise<ReplayResult> {
  const span = parseSpan(text, options.spanId !== undefined ? { spanId: options.spanId } : {});
  const prompt = await readPromptAtCommit(
    options.repoRoot,
    { commitSha: span.commitSha, promptName: span.promptName, promptVersion: span.promptVersion },
    { git: options.git ?? runGit, signal: options.signal },
  );
  return replayPrompt(span, prompt, options.inputs);
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
