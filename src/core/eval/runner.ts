import type { EvalExample } from '../evalSet';
import type { PromptMetadata } from '../metadataSchema';
import { renderTemplate } from '../template/template';
import type { ExampleOutcome, ExampleResult, ExampleSide, JudgeVote } from '../../shared/evalReport';
import { aggregateVotes, judgeRequest, parseJudgeReply } from './judge';
import type { JudgeConfig } from './judge';
import type { CallPurpose, EvalProgress, ModelGateway, ModelReply, ModelRequest } from './types';
import { isAbortError, isFatalModelError } from './types';

/** Which side of the comparison. */
export type SideRole = 'challenger' | 'baseline';

/** One side's prompt as the runner needs it: its texts and its own metadata. */
export interface EvalSideConfig {
  role: SideRole;
  system: string;
  userTemplate: string;
  metadata: Pick<PromptMetadata, 'model' | 'temperature' | 'max_output_tokens' | 'template_format'>;
}

/**
 * The task request of one side for one example. The system prompt is sent as written, the user
 * template rendered with the example's inputs in the side's own `template_format`. `temperature`
 * from metadata.yaml is not sent: the Messages API version the SDK speaks (2026-10-21) has no
 * sampling parameters and refuses a request that carries one.
 * @throws Error with the renderer's message when the template can't be rendered with these inputs.
 */
export function taskRequest(side: EvalSideConfig, example: Pick<EvalExample, 'inputs'>): ModelRequest {
  const user = renderTemplate(side.userTemplate, example.inputs, side.metadata.template_format);
  return {
    model: side.metadata.model,
    max_tokens: side.metadata.max_output_tokens,
    ...(side.system.length > 0 ? { system: side.system } : {}),
    messages: [{ role: 'user', content: user }],
  };
}

/** One call's outcome, for logs (the extension's output channel). */
export interface CallEvent {
  exampleId: string;
  side: SideRole;
  purpose: CallPurpose;
  repeat: number;
  fromCache: boolean;
  latencyMs?: number;
  error?: string;
}

/** Tokens of calls, split by model so each can be priced. */
export type TokensByModel = Record<string, { inputTokens: number; outputTokens: number }>;

/** Call totals of a run. */
export interface CallTotals {
  apiCalls: number;
  cacheHits: number;
  /** Tokens of the API calls this run made. */
  api: TokensByModel;
  /** Tokens of every call, cached or not: what the eval costs uncached. */
  all: TokensByModel;
}

/** What `runPairedEval` needs. */
export interface PairedEvalOptions {
  /** The examples, or a stream of them (read as the run goes: only the window's are held). */
  examples: readonly EvalExample[] | AsyncIterable<EvalExample>;
  /** How many examples a stream holds (for progress); an array's own length otherwise. */
  total?: number;
  /**
   * Each example's result as soon as it and every example before it are done, in order. What it
   * returns is kept in the run's `examples` instead of the result itself (a smaller copy, once the
   * whole result has been written elsewhere).
   */
  onResult?: (result: ExampleResult, index: number) => ExampleResult | void;
  challenger: EvalSideConfig;
  baseline: EvalSideConfig;
  judge: JudgeConfig;
  gateway: ModelGateway;
  /** Aborting keeps finished examples and marks the rest `cancelled`; no call starts after it. */
  signal?: AbortSignal;
  onProgress?: (progress: EvalProgress) => void;
  onCall?: (event: CallEvent) => void;
  /**
   * Examples in flight at once. Enough to keep the model pool busy (each example in flight always
   * has a call waiting), few enough that examples finish in order and memory stays flat.
   * Default 16.
   */
  window?: number;
}

/** The results of a paired run, examples in the order given. */
export interface PairedEvalResult {
  examples: ExampleResult[];
  cancelled: boolean;
  totals: CallTotals;
}

type SideState =
  | { kind: 'scored'; side: ExampleSide }
  | { kind: 'error'; side: ExampleSide }
  | { kind: 'cancelled'; side: ExampleSide };

/**
 * Runs both sides of every example through the model and the judge. Per example and side: render,
 * one task call, then `judge.repeats` judge calls on the output. A template that can't render,
 * a failed call or an unreadable judge reply is an error for that example only. A fatal gateway
 * error (see `ModelGateway`) stops the run and is rethrown once everything in flight has settled.
 */
export async function runPairedEval(options: PairedEvalOptions): Promise<PairedEvalResult> {
  const { examples, judge, gateway } = options;
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) controller.abort(options.signal.reason);
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  const signal = controller.signal;
  let fatal: unknown;

  const totals: CallTotals = { apiCalls: 0, cacheHits: 0, api: {}, all: {} };
  const source = examples;
  const total = isExampleArray(source) ? source.length : (options.total ?? 0);
  const progress: EvalProgress = { done: 0, total, calls: 0, cacheHits: 0, inputTokens: 0, outputTokens: 0, errors: 0 };
  const emit = (): void => options.onProgress?.({ ...progress });

  const addTokens = (into: TokensByModel, model: string, reply: ModelReply): void => {
    const entry = (into[model] ??= { inputTokens: 0, outputTokens: 0 });
    entry.inputTokens += reply.inputTokens;
    entry.outputTokens += reply.outputTokens;
  };

  const call = async (request: ModelRequest, repeat: number, purpose: CallPurpose, exampleId: string, side: SideRole): Promise<ModelReply> => {
    // Checked before every call, so nothing starts once the run is cancelled or has failed.
    if (signal.aborted) throw abortError();
    try {
      const reply = await gateway.complete(request, { repeat, purpose, signal, ...(purpose === 'judge' ? { accept: judgeReplyReadable } : {}) });
      addTokens(totals.all, request.model, reply);
      if (reply.fromCache) {
        totals.cacheHits += 1;
        progress.cacheHits += 1;
      } else {
        totals.apiCalls += 1;
        progress.calls += 1;
        progress.inputTokens += reply.inputTokens;
        progress.outputTokens += reply.outputTokens;
        addTokens(totals.api, request.model, reply);
      }
      options.onCall?.({ exampleId, side, purpose, repeat, fromCache: reply.fromCache, latencyMs: reply.latencyMs });
      emit();
      return reply;
    } catch (error) {
      if (isFatalModelError(error) && fatal === undefined) {
        fatal = error;
        controller.abort(error);
      }
      if (!signal.aborted) options.onCall?.({ exampleId, side, purpose, repeat, fromCache: false, error: messageOf(error) });
      throw error;
    }
  };

  const judgeReplyReadable = (text: string): boolean => parseJudgeReply(text).ok;

  const runSide = async (config: EvalSideConfig, example: EvalExample): Promise<SideState> => {
    const side: ExampleSide = { output: null, correct: null, score: null, votes: [], unstable: false, latencyMs: null, cached: false, error: null };
    let request: ModelRequest;
    try {
      request = taskRequest(config, example);
    } catch (error) {
      side.error = `the ${config.role} template can't be rendered with this example's inputs: ${messageOf(error)}`;
      return { kind: 'error', side };
    }
    let reply: ModelReply;
    try {
      reply = await call(request, 0, 'task', example.id, config.role);
    } catch (error) {
      if (signal.aborted) return cancelled(side);
      side.error = `${config.role} task call failed: ${messageOf(error)}`;
      return { kind: 'error', side };
    }
    side.output = reply.text;
    side.latencyMs = reply.latencyMs;
    side.cached = reply.fromCache;

    const request2 = judgeRequest(judge, example.reference ?? '', reply.text);
    const settled = await Promise.allSettled(
      Array.from({ length: judge.repeats }, (_, repeat) => call(request2, repeat, 'judge', example.id, config.role)),
    );
    const votes: JudgeVote[] = [];
    const problems: string[] = [];
    for (const [repeat, result] of settled.entries()) {
      if (result.status === 'rejected') {
        if (signal.aborted) return cancelled(side);
        problems.push(`judge call ${repeat + 1} of ${judge.repeats} failed: ${messageOf(result.reason)}`);
        continue;
      }
      const parsed = parseJudgeReply(result.value.text);
      if (parsed.ok) votes.push(parsed.vote);
      else problems.push(judge.repeats > 1 ? `judge repeat ${repeat + 1} of ${judge.repeats}: ${parsed.error}` : parsed.error);
    }
    side.votes = votes;
    if (problems.length > 0) {
      side.error = problems.join('; ');
      return { kind: 'error', side };
    }
    const verdict = aggregateVotes(votes);
    side.correct = verdict.correct;
    side.score = verdict.score;
    side.unstable = verdict.unstable;
    return { kind: 'scored', side };
  };

  const runExample = async (example: EvalExample): Promise<ExampleResult> => {
    const [challenger, baseline] = await Promise.all([runSide(options.challenger, example), runSide(options.baseline, example)]);
    return exampleResult(example, outcomeOf(challenger, baseline), challenger.side, baseline.side);
  };

  const results: ExampleResult[] = isExampleArray(source) ? new Array(source.length) : [];
  // Results waiting for an earlier example to finish before `onResult` sees them (at most the window's).
  const waiting = new Map<number, ExampleResult>();
  let emitted = 0;
  const finish = (index: number, result: ExampleResult): void => {
    if (!options.onResult) {
      results[index] = result;
      return;
    }
    waiting.set(index, result);
    for (let r = waiting.get(emitted); r !== undefined; r = waiting.get(emitted)) {
      waiting.delete(emitted);
      results[emitted] = options.onResult(r, emitted) ?? r;
      emitted += 1;
    }
  };
  let next = 0;
  const iterator = isExampleArray(source) ? undefined : source[Symbol.asyncIterator]();
  // The next example and its index; a stream's are handed out in the order it yields them.
  const take = async (): Promise<{ example: EvalExample; index: number } | undefined> => {
    if (!iterator) {
      const array = source as readonly EvalExample[];
      return next < array.length ? { example: array[next], index: next++ } : undefined;
    }
    const step = await iterator.next();
    return step.done ? undefined : { example: step.value, index: next++ };
  };
  const worker = async (): Promise<void> => {
    for (let item = await take(); item !== undefined; item = await take()) {
      const { example, index } = item;
      const result = signal.aborted ? cancelledExample(example) : await runExample(example);
      progress.done += 1;
      if (result.outcome === 'error') progress.errors += 1;
      finish(index, result);
      emit();
    }
  };
  try {
    const window = Math.max(1, Math.floor(options.window ?? 16));
    await Promise.all(Array.from({ length: isExampleArray(source) ? Math.min(window, source.length) : window }, worker));
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (fatal !== undefined) throw fatal;
  return { examples: results, cancelled: results.some((r) => r.outcome === 'cancelled'), totals };
}

function isExampleArray(examples: PairedEvalOptions['examples']): examples is readonly EvalExample[] {
  return Array.isArray(examples);
}

function cancelled(side: ExampleSide): SideState {
  side.error = 'cancelled before this side was scored';
  return { kind: 'cancelled', side };
}

function outcomeOf(challenger: SideState, baseline: SideState): ExampleOutcome {
  // A real failure outranks a cancellation: it would recur on a re-run.
  if (challenger.kind === 'error' || baseline.kind === 'error') return 'error';
  if (challenger.kind === 'cancelled' || baseline.kind === 'cancelled') return 'cancelled';
  const c = challenger.side.correct === true;
  const b = baseline.side.correct === true;
  if (c && b) return 'both-correct';
  if (c) return 'improved';
  if (b) return 'regressed';
  return 'both-wrong';
}

function exampleResult(example: EvalExample, outcome: ExampleOutcome, challenger: ExampleSide, baseline: ExampleSide): ExampleResult {
  return {
    id: example.id,
    line: example.line,
    inputs: example.inputs,
    reference: example.reference ?? null,
    tags: example.tags ?? [],
    ...(example.cluster !== undefined ? { cluster: example.cluster } : {}),
    outcome,
    unstable: challenger.unstable || baseline.unstable,
    challenger,
    baseline,
  };
}

function cancelledExample(example: EvalExample): ExampleResult {
  const side = (): ExampleSide => ({
    output: null,
    correct: null,
    score: null,
    votes: [],
    unstable: false,
    latencyMs: null,
    cached: false,
    error: 'cancelled before this side was scored',
  });
  return exampleResult(example, 'cancelled', side(), side());
}

function abortError(): Error {
  const error = new Error('the eval run was cancelled');
  error.name = 'AbortError';
  return error;
}

/** The message of an error, for an example's `error` field. */
export function messageOf(error: unknown): string {
  if (isAbortError(error)) return 'cancelled';
  return error instanceof Error ? error.message : String(error);
}
