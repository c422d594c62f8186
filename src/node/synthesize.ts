import { join } from 'node:path';
import type { CostEstimate } from '../core/eval/cost';
import { approxTokens, estimateCost } from '../core/eval/cost';
import type { ModelGateway } from '../core/eval/types';
import { parseEvalJsonl } from '../core/evalSet';
import type { SynthesisPlan } from '../core/synthesis';
import { SYNTHESIS_MAX_TOKENS, failingExamples, parseSynthesisReply, planSynthesis, synthesisRequest } from '../core/synthesis';
import type { RedactionReport } from '../core/redaction';
import type { EvalReport } from '../shared/evalReport';
import { evalReportSchema } from '../shared/evalReport';
import { readRepoSettings } from './checkRepo';
import type { SuiteTarget } from './harvest';
import { HarvestError, appendSuiteLines, readTargetMetadata, readTargetVariables } from './harvest';
import type { ModelApiConfig } from './modelApi';
import { resolveModelApi } from './modelApi';
import { ModelClient } from './modelClient';
import { readPromptFile } from './promptFileRead';
import type { CacheMode } from './responseCache';
import { CACHE_DIR, ResponseCache, cachedGateway, normaliseEndpoint } from './responseCache';

/**
 * `prompt-ci synthesize` and the results panel's "Synthesize cases from these failures": one call
 * to the synthesis model through the eval's own gateway (response cache, pool, retries), priced
 * with the eval's estimate before it is made, its answer validated and appended.
 */

/** New cases asked for when no count is given (`--count`, the results panel). */
export const DEFAULT_SYNTHESIS_COUNT = 5;

/** What a synthesis starts from. */
export interface SynthesizeOptions {
  target: SuiteTarget;
  /** The eval report (JSON) whose failures to start from. */
  report: EvalReport;
  /** Only these examples of the report (a selection in the results panel); default every regressed or failing one. */
  onlyExampleIds?: readonly string[];
  count: number;
  /** Overrides `eval.synthesis.model` (default: the judge model, else the task model). */
  model?: string;
  cacheMode?: CacheMode;
  api?: ModelApiConfig;
  env?: Record<string, string | undefined>;
  signal?: AbortSignal;
}

/** A synthesis ready to run: the redacted request's cost, known before any call. */
export interface PreparedSynthesis {
  model: string;
  failures: string[];
  estimate: CostEstimate;
  /** What redaction replaced in the request. */
  redaction: RedactionReport;
  /** Makes the call (or reads it from the cache) and appends the valid cases, unless `dryRun`. */
  run(options?: { dryRun?: boolean }): Promise<SynthesisOutcome>;
}

/** What a synthesis added. */
export interface SynthesisOutcome {
  plan: SynthesisPlan;
  evalPath: string;
  written: number;
  fromCache: boolean;
}

/** A synthesis outcome in counts: appended, dropped as duplicates, invalid (not a case, wrong variables, a reference that is not text), over the count. */
export function synthesisCounts(plan: SynthesisPlan, written: number): { appended: number; duplicates: number; invalid: number; beyondCount: number } {
  const r = plan.rejected;
  return {
    appended: written,
    duplicates: r.duplicate ?? 0,
    invalid: (r['not-an-object'] ?? 0) + (r['missing-variables'] ?? 0) + (r['unknown-variables'] ?? 0) + (r['bad-reference'] ?? 0),
    beyondCount: r['beyond-count'] ?? 0,
  };
}

/** Reads an eval report written by `prompt-ci eval --json`. Throws `HarvestError` naming the problem. */
export async function readEvalReportFile(path: string, shown: string): Promise<EvalReport> {
  const read = await readPromptFile(path, shown);
  if (read.kind !== 'text') throw new HarvestError(read.kind === 'refused' ? read.message : `${shown}: no such file`);
  let json: unknown;
  try {
    json = JSON.parse(read.text);
  } catch {
    throw new HarvestError(`${shown} is not JSON: --from takes the report prompt-ci eval --json FILE writes`);
  }
  const parsed = evalReportSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HarvestError(`${shown} is not an eval report (prompt-ci/eval-report@1): ${issue.path.join('.') || 'the document'}: ${issue.message}`);
  }
  return parsed.data;
}

/** Builds the request from the report's failures and estimates its cost (looking in the cache). */
export async function prepareSynthesis(options: SynthesizeOptions): Promise<PreparedSynthesis> {
  const { target, report } = options;
  const metadata = await readTargetMetadata(target);
  const variables = await readTargetVariables(target, metadata);
  const templateRead = await readPromptFile(join(target.repoRoot, target.dir, 'user.template.md'), `${target.dir}/user.template.md`);
  const template = templateRead.kind === 'text' ? templateRead.text : '';
  const failures = failingExamples(report.examples, options.onlyExampleIds);
  if (options.onlyExampleIds?.length) {
    const unknown = options.onlyExampleIds.filter((id) => !report.examples.some((e) => e.id === id));
    if (unknown.length) throw new HarvestError(`the report has no example ${unknown.map((id) => JSON.stringify(id)).join(', ')}`);
  }
  if (failures.length === 0) throw new HarvestError('the report has no regressed or failing example to start from');
  const model = options.model ?? metadata.eval.synthesis?.model ?? metadata.eval.judge?.model ?? metadata.model;
  const redactionOptions = { sensitiveVariables: metadata.eval.sensitive_variables ?? [], phoneRegion: metadata.eval.phone_region };
  const { request, redaction } = synthesisRequest({ model, template, variables, failures, count: options.count }, redactionOptions);

  const { settings } = readRepoSettings(target.repoRoot);
  const api = options.api ?? resolveModelApi({ env: options.env });
  const mode = options.cacheMode ?? 'normal';
  let client: ModelClient | undefined;
  const gateway: ModelGateway = cachedGateway({
    cache: new ResponseCache(join(target.repoRoot, CACHE_DIR)),
    mode,
    endpoint: normaliseEndpoint(api.baseURL),
    client: () => (client ??= new ModelClient({ api, concurrency: settings.eval.concurrency, timeoutMs: settings.eval.timeoutMs, signal: options.signal })),
  });
  const cached = await gateway.peek?.(request, 0);
  const inputTokens = approxTokens((request.system?.length ?? 0) + request.messages.reduce((n, m) => n + m.content.length, 0));
  const estimate = estimateCost(
    [{ model, inputTokens, inputTokensMax: inputTokens, outputTokensTypical: Math.min(SYNTHESIS_MAX_TOKENS, 200 * options.count), outputTokensMax: SYNTHESIS_MAX_TOKENS, cached: cached !== undefined }],
    settings.pricing,
  );
  const evalPath = `${target.dir}/eval.jsonl`;
  return {
    model,
    failures: failures.map((f) => f.id),
    estimate,
    redaction,
    async run(runOptions = {}) {
      const reply = await gateway.complete(request, {
        repeat: 0,
        purpose: 'synthesis',
        ...(options.signal ? { signal: options.signal } : {}),
        accept: (text) => {
          try {
            parseSynthesisReply(text);
            return true;
          } catch {
            return false;
          }
        },
      });
      const cases = parseSynthesisReply(reply.text);
      const evalRead = await readPromptFile(join(target.repoRoot, evalPath), evalPath);
      const existingText = evalRead.kind === 'text' ? evalRead.text : '';
      const plan = planSynthesis(cases, {
        ...redactionOptions,
        variables,
        existing: parseEvalJsonl(existingText).examples,
        failures,
        model,
        report: { prompt: `${report.prompt.name}/v${report.prompt.version}`, startedAt: report.startedAt },
        count: options.count,
      });
      const written = runOptions.dryRun ? 0 : await appendSuiteLines(target, existingText, plan.lines);
      return { plan, evalPath, written, fromCache: reply.fromCache };
    },
  };
}
