import type { EvalExample } from '../evalSet';
import { judgeRequest } from './judge';
import type { JudgeConfig } from './judge';
import { taskRequest } from './runner';
import type { EvalSideConfig, TokensByModel } from './runner';
import type { ModelRequest } from './types';

/** Prices in USD per million tokens, by model id (`prompt-ci.yaml` `pricing:` over the defaults). */
export type Pricing = Record<string, { input: number; output: number }>;

/**
 * Output tokens a judge call typically writes: the JSON object and maybe a sentence. Only the
 * typical estimate uses it; the bound uses the judge's max_tokens.
 */
export const TYPICAL_JUDGE_OUTPUT_TOKENS = 40;
/** Typical task output when an example has no reference to size it by. */
export const TYPICAL_TASK_OUTPUT_TOKENS = 256;

/** Approximate tokens of a text: characters / 4, the usual rule of thumb for English. */
export function approxTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

/** One call the eval expects to make, sized before it is made. */
export interface PlannedCall {
  request: ModelRequest;
  repeat: number;
  purpose: 'task' | 'judge';
  inputTokens: number;
  /** Input tokens at most: the judge's input grows with the candidate it grades. */
  inputTokensMax: number;
  outputTokensTypical: number;
  outputTokensMax: number;
}

function requestChars(request: ModelRequest): number {
  return (request.system?.length ?? 0) + request.messages.reduce((n, m) => n + m.content.length, 0);
}

/**
 * The calls one example will make on one side: the task call, then the judge repeats. The judge's
 * candidate isn't known yet, so its request is sized with `candidate` (a cached output, when the
 * caller has one) or a stand-in of the typical output's length. Empty when the template can't render.
 */
export function planSideCalls(
  side: EvalSideConfig,
  judge: JudgeConfig,
  example: EvalExample,
  candidate?: string,
): { task?: PlannedCall; judge: PlannedCall[] } {
  let task: ModelRequest;
  try {
    task = taskRequest(side, example);
  } catch {
    return { judge: [] };
  }
  const maxOut = side.metadata.max_output_tokens;
  const typicalOut =
    candidate !== undefined
      ? approxTokens(candidate.length)
      : Math.min(maxOut, example.reference ? approxTokens(example.reference.length) : TYPICAL_TASK_OUTPUT_TOKENS);
  const taskCall: PlannedCall = {
    request: task,
    repeat: 0,
    purpose: 'task',
    inputTokens: approxTokens(requestChars(task)),
    inputTokensMax: approxTokens(requestChars(task)),
    outputTokensTypical: typicalOut,
    outputTokensMax: maxOut,
  };
  const judgeReq = judgeRequest(judge, example.reference ?? '', candidate ?? 'x'.repeat(typicalOut * 4));
  const judgeInput = approxTokens(requestChars(judgeReq));
  // The bound: a candidate as long as max_output_tokens allows.
  const judgeInputMax = candidate !== undefined ? judgeInput : judgeInput + Math.max(0, maxOut - typicalOut);
  const judgeCalls = Array.from({ length: judge.repeats }, (_, repeat): PlannedCall => ({
    request: judgeReq,
    repeat,
    purpose: 'judge',
    inputTokens: judgeInput,
    inputTokensMax: judgeInputMax,
    outputTokensTypical: Math.min(judge.maxTokens, TYPICAL_JUDGE_OUTPUT_TOKENS),
    outputTokensMax: judge.maxTokens,
  }));
  return { task: taskCall, judge: judgeCalls };
}

/** The estimate shown before a run. */
export interface CostEstimate {
  /** Calls the run makes in all, cached or not. */
  calls: number;
  /** Of those, calls the response cache already answers (free). */
  cachedCalls: number;
  /** Approximate input tokens of the calls that will reach the API. */
  inputTokens: number;
  /** Output tokens of those calls, typically and at most (every call hitting max_tokens). */
  outputTokensTypical: number;
  outputTokensMax: number;
  usdTypical: number | null;
  usdMax: number | null;
  /** Models with no price: their calls make the USD figures null. */
  unpricedModels: string[];
}

/** A planned call reduced to what the estimate needs: its model, sizes and whether the cache holds it. */
export interface SizedCall {
  model: string;
  inputTokens: number;
  inputTokensMax: number;
  outputTokensTypical: number;
  outputTokensMax: number;
  cached?: boolean;
}

/** Drops the request text of a planned call, so a long plan doesn't hold every prompt in memory. */
export function sized(call: PlannedCall, cached = false): SizedCall {
  return {
    model: call.request.model,
    inputTokens: call.inputTokens,
    inputTokensMax: call.inputTokensMax,
    outputTokensTypical: call.outputTokensTypical,
    outputTokensMax: call.outputTokensMax,
    cached,
  };
}

/** Totals and prices a list of planned calls; calls flagged cached cost nothing. */
export function estimateCost(calls: readonly SizedCall[], pricing: Pricing): CostEstimate {
  const tally = new CostTally();
  for (const call of calls) tally.add(call);
  return tally.estimate(pricing);
}

/** `estimateCost` one call at a time, for a plan too long to keep: add the calls in plan order, then price them. */
export class CostTally {
  private readonly typical: TokensByModel = {};
  private readonly max: TokensByModel = {};
  private calls = 0;
  private cachedCalls = 0;
  private inputTokens = 0;
  private outputTokensTypical = 0;
  private outputTokensMax = 0;

  add(call: SizedCall): void {
    this.calls += 1;
    if (call.cached) {
      this.cachedCalls += 1;
      return;
    }
    const model = call.model;
    const t = (this.typical[model] ??= { inputTokens: 0, outputTokens: 0 });
    const m = (this.max[model] ??= { inputTokens: 0, outputTokens: 0 });
    t.inputTokens += call.inputTokens;
    m.inputTokens += call.inputTokensMax;
    t.outputTokens += call.outputTokensTypical;
    m.outputTokens += call.outputTokensMax;
    this.inputTokens += call.inputTokens;
    this.outputTokensTypical += call.outputTokensTypical;
    this.outputTokensMax += call.outputTokensMax;
  }

  estimate(pricing: Pricing): CostEstimate {
    const typicalPrice = priceTokens(this.typical, pricing);
    const maxPrice = priceTokens(this.max, pricing);
    return {
      calls: this.calls,
      cachedCalls: this.cachedCalls,
      inputTokens: this.inputTokens,
      outputTokensTypical: this.outputTokensTypical,
      outputTokensMax: this.outputTokensMax,
      usdTypical: typicalPrice.usd,
      usdMax: maxPrice.usd,
      unpricedModels: typicalPrice.unpricedModels,
    };
  }
}

/** USD of tokens by model; null (with the models named) when a model that used tokens has no price. */
export function priceTokens(tokens: TokensByModel, pricing: Pricing): { usd: number | null; unpricedModels: string[] } {
  let usd = 0;
  const unpricedModels: string[] = [];
  for (const [model, used] of Object.entries(tokens)) {
    if (used.inputTokens === 0 && used.outputTokens === 0) continue;
    const price = pricing[model];
    if (!price) {
      unpricedModels.push(model);
      continue;
    }
    usd += (used.inputTokens * price.input + used.outputTokens * price.output) / 1_000_000;
  }
  return { usd: unpricedModels.length > 0 ? null : usd, unpricedModels };
}

/** Sums tokens over models. */
export function sumTokens(tokens: TokensByModel): { inputTokens: number; outputTokens: number } {
  let inputTokens = 0;
  let outputTokens = 0;
  for (const used of Object.values(tokens)) {
    inputTokens += used.inputTokens;
    outputTokens += used.outputTokens;
  }
  return { inputTokens, outputTokens };
}

/** Dollars for people: cents above a dollar, more digits below. */
export function formatUsd(usd: number | null): string {
  if (usd === null) return 'unknown (no price for a model; add it to prompt-ci.yaml pricing)';
  if (usd === 0) return '$0.00';
  if (usd < 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toFixed(2)}`;
}
