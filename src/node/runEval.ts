import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import { estimateCost, planSideCalls, sized } from '../core/eval/cost';
import type { CostEstimate, SizedCall } from '../core/eval/cost';
import { DEFAULT_JUDGE_MAX_TOKENS } from '../core/eval/judge';
import type { JudgeConfig } from '../core/eval/judge';
import { buildEvalReport } from '../core/eval/report';
import { runPairedEval } from '../core/eval/runner';
import type { CallEvent, EvalSideConfig } from '../core/eval/runner';
import type { EvalProgress, ModelGateway } from '../core/eval/types';
import { parseEvalJsonl } from '../core/evalSet';
import type { EvalExample } from '../core/evalSet';
import { validateMetadata } from '../core/metadata';
import type { PromptMetadata } from '../core/metadataSchema';
import { versionOfDirName } from '../core/promptLayout';
import type { PromptVersionFiles } from '../core/promptLayout';
import type { RepoSettings } from '../core/repoSettings';
import type { EvalReport } from '../shared/evalReport';
import { lastDiscordantShare } from '../core/gate/history';
import { resolveBaseline } from './baseline';
import { readRepoSettings } from './checkRepo';
import type { ResolvedBase, ResolvedBaseline } from './baseline';
import type { GitRunner } from './git';
import { resolveCommit, runGit } from './git';
import { readHistory } from './history';
import { ModelClient } from './modelClient';
import type { ModelClientOptions, ThrottleState } from './modelClient';
import { readPromptVersionFromDisk } from './promptFiles';
import type { ModelApiConfig } from './modelApi';
import { resolveModelApi } from './modelApi';
import { CACHE_DIR, ResponseCache, cachedGateway, normaliseEndpoint } from './responseCache';
import type { CacheMode } from './responseCache';

/** Options of `runEval` / `prepareEval`: what the CLI flags, the extension and API users can set. */
export interface RunEvalOptions {
  /** The repository root: where `prompt-ci.yaml` and `.prompt-ci/cache/` live. */
  repoRoot: string;
  /** The challenger prompt version directory, absolute or relative to `repoRoot`. */
  promptDir: string;
  /** `--baseline`: a directory (absolute or relative to `repoRoot`) or `REF:PATH`. */
  baseline?: string;
  /** A base already resolved to a commit (the gate's): the baseline is read from it instead of `baselineRef`. */
  base?: ResolvedBase;
  /** Calls in flight at once; default `prompt-ci.yaml` `eval.concurrency` (8). */
  concurrency?: number;
  /** Cache only: a call with no cached response is an error for its example. */
  offline?: boolean;
  /** Never read the cache (fresh calls; their responses are still recorded). */
  noCache?: boolean;
  /** Else `ANTHROPIC_API_KEY`. Only needed when a call must reach the API. */
  apiKey?: string;
  /** Else `ANTHROPIC_BASE_URL`, else the public API. */
  baseURL?: string;
  /** Where the key and base URL fallbacks are read; default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Key and base URL as `resolveModelApi` worked them out already (the extension's); `apiKey`, `baseURL` and `env` are then unused. */
  api?: ModelApiConfig;
  /** Per-call timeout in ms; default `prompt-ci.yaml` `eval.timeoutMs` (120,000). */
  timeoutMs?: number;
  /** Cancels the run: finished examples are kept, the rest marked `cancelled`. */
  signal?: AbortSignal;
  onProgress?: (progress: EvalProgress) => void;
  /** Every call's outcome (for a log). */
  onCall?: (event: CallEvent) => void;
  /** Unsaved editor text of the challenger's files, over what is on disk. */
  challengerOverrides?: Partial<PromptVersionFiles>;
  /** Judge calls per output instead of the prompt's `eval.judge.repeats` (a personal setting while iterating). */
  judgeRepeats?: number;
  /** Run only these examples (e.g. re-run the regressed ones). */
  onlyExampleIds?: string[];
  /** Settings to use instead of reading `prompt-ci.yaml`. */
  settings?: RepoSettings;
  git?: GitRunner;
  /** Lower-level client settings (retry policy, sleep, randomness), for tests and benchmarks. */
  client?: Omit<ModelClientOptions, 'apiKey' | 'baseURL' | 'env' | 'api' | 'concurrency' | 'timeoutMs' | 'signal'>;
}

/** A problem with the inputs of an eval (not with the model): the message says what to fix. */
export class EvalSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvalSetupError';
  }
}

/** An eval that is ready to run: both sides read, the examples parsed, the cost estimated. */
export interface PreparedEval {
  prompt: { name: string; version: number };
  challenger: { dir: string; commit: string | null; metadata: PromptMetadata; files: PromptVersionFiles };
  baseline: ResolvedBaseline & { metadata: PromptMetadata };
  examples: EvalExample[];
  judge: JudgeConfig & { rubric: 'default' | 'judge.md' };
  /** Calls, tokens and dollars before the run; calls already in the cache are counted as free. */
  estimate: CostEstimate;
  /** How the cache is used: normal, offline or no-cache. */
  cacheMode: CacheMode;
  concurrency: number;
  /** Runs it. Rejects with a fatal model error (no key, key refused, API unreachable); anything else is per example. */
  run(): Promise<EvalReport>;
}

async function readSettings(repoRoot: string): Promise<RepoSettings> {
  const { settings, problems } = readRepoSettings(repoRoot);
  if (problems.length > 0) throw new EvalSetupError(`prompt-ci.yaml is invalid: ${problems.join('; ')}`);
  return settings;
}

/** Layout facts of a version directory: `<...>/<name>/v<N>`; falls back to the metadata's own. */
function layoutOf(dir: string): { promptName: string; version: number } | undefined {
  const version = versionOfDirName(basename(dir));
  return version !== undefined ? { promptName: basename(dirname(dir)), version } : undefined;
}

function parseMetadata(text: string, where: string, dir: string): PromptMetadata {
  const layout = layoutOf(dir) ?? { promptName: '', version: 0 };
  const { metadata, findings } = validateMetadata(text, { ...layout, versionDir: dir, exists: () => true });
  if (!metadata) {
    const errors = findings
      .filter((f) => f.severity === 'error')
      .map((f) => `line ${f.range.start.line + 1}: ${f.message}`)
      .slice(0, 5);
    throw new EvalSetupError(`${where} metadata.yaml is not usable: ${errors.join('; ') || 'invalid'}`);
  }
  return metadata;
}

function sideConfig(role: 'challenger' | 'baseline', files: PromptVersionFiles, metadata: PromptMetadata): EvalSideConfig {
  return { role, system: files.system, userTemplate: files.userTemplate, metadata };
}

/** Runs `fn` over `items` with at most `limit` at once. */
async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Counts the calls the run will make and which of them the cache already holds: a task call is
 * looked up directly; its judge calls can be looked up only when the task output is cached.
 */
async function planWithCache(
  gateway: ModelGateway,
  examples: readonly EvalExample[],
  sides: readonly EvalSideConfig[],
  judge: JudgeConfig,
): Promise<SizedCall[]> {
  const planned: SizedCall[][] = new Array(examples.length * sides.length);
  const jobs = examples.flatMap((example, i) => sides.map((side, s) => ({ example, side, slot: i * sides.length + s })));
  await forEachLimited(jobs, 32, async ({ example, side, slot }) => {
    const first = planSideCalls(side, judge, example);
    if (!first.task) {
      planned[slot] = [];
      return;
    }
    const task = await gateway.peek?.(first.task.request, 0);
    if (!task) {
      planned[slot] = [sized(first.task), ...first.judge.map((c) => sized(c))];
      return;
    }
    const known = planSideCalls(side, judge, example, task.text);
    const judged = await Promise.all(known.judge.map(async (c) => sized(c, (await gateway.peek?.(c.request, c.repeat)) !== undefined)));
    planned[slot] = [sized(first.task, true), ...judged];
  });
  return planned.flat();
}

/**
 * Reads both sides, the examples and the settings, resolves the baseline and estimates the cost,
 * without calling the model. `run()` then makes the calls.
 * @throws EvalSetupError, BaselineError or PromptFilesError with a message naming the problem.
 */
export async function prepareEval(options: RunEvalOptions): Promise<PreparedEval> {
  const repoRoot = resolve(options.repoRoot);
  const challengerAbs = resolve(repoRoot, options.promptDir);
  const git = options.git ?? runGit;
  const settings = options.settings ?? (await readSettings(repoRoot));

  const challengerFiles = await readPromptVersionFromDisk(challengerAbs, { overrides: options.challengerOverrides, root: repoRoot });
  const challengerMeta = parseMetadata(challengerFiles.metadataYaml, 'the challenger', challengerAbs);
  const baseline = await resolveBaseline({
    repoRoot,
    challengerDir: challengerAbs,
    override: options.baseline,
    baselineRef: settings.baselineRef,
    base: options.base,
    git,
  });
  const baselineMeta = parseMetadata(baseline.files.metadataYaml, `the baseline (${baseline.description})`, baseline.dir);

  const parsed = parseEvalJsonl(challengerFiles.evalJsonl);
  const evalPath = join(challengerAbs, 'eval.jsonl');
  const bad = parsed.findings.filter((f) => f.severity === 'error');
  if (bad.length > 0) {
    const shown = bad.slice(0, 3).map((f) => `line ${f.range.start.line + 1}: ${f.message}`);
    throw new EvalSetupError(
      `${evalPath} has ${bad.length} invalid line${bad.length === 1 ? '' : 's'} (${shown.join('; ')}${bad.length > 3 ? '; …' : ''}); fix them first (prompt-ci check lists them all)`,
    );
  }
  let examples = parsed.examples;
  if (examples.length === 0) throw new EvalSetupError(`${evalPath} has no examples: an eval needs at least one line`);
  if (options.onlyExampleIds) {
    const wanted = new Set(options.onlyExampleIds);
    const known = new Set(examples.map((e) => e.id));
    const unknown = [...wanted].filter((id) => !known.has(id));
    if (unknown.length > 0) throw new EvalSetupError(`no example with id ${unknown.map((id) => JSON.stringify(id)).join(', ')} in ${evalPath}`);
    examples = examples.filter((e) => wanted.has(e.id));
    if (examples.length === 0) throw new EvalSetupError('onlyExampleIds selects no example');
  }

  const judgeSettings = challengerMeta.eval.judge ?? { model: challengerMeta.model, repeats: 3 };
  const judge: PreparedEval['judge'] = {
    model: judgeSettings.model,
    repeats: options.judgeRepeats ?? judgeSettings.repeats,
    maxTokens: DEFAULT_JUDGE_MAX_TOKENS,
    ...(challengerFiles.judge !== undefined ? { template: challengerFiles.judge } : {}),
    rubric: challengerFiles.judge !== undefined ? 'judge.md' : 'default',
  };

  const cacheMode: CacheMode = options.offline ? 'offline' : options.noCache ? 'no-cache' : 'normal';
  const concurrency = options.concurrency ?? settings.eval.concurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new EvalSetupError(`concurrency must be a positive integer, got ${concurrency}`);
  const timeoutMs = options.timeoutMs ?? settings.eval.timeoutMs;
  const cache = new ResponseCache(join(repoRoot, CACHE_DIR));
  const api = options.api ?? resolveModelApi({ apiKey: options.apiKey, baseURL: options.baseURL, env: options.env });
  let client: ModelClient | undefined;
  const makeClient = (): ModelClient =>
    (client ??= new ModelClient({
      ...options.client,
      api,
      concurrency,
      timeoutMs,
      signal: options.signal,
    }));
  const endpoint = normaliseEndpoint(api.baseURL);
  const gateway = cachedGateway({ cache, mode: cacheMode, client: makeClient, endpoint });

  const challenger = sideConfig('challenger', challengerFiles, challengerMeta);
  const baselineSide = sideConfig('baseline', baseline.files, baselineMeta);
  const plan = await planWithCache(gateway, examples, [challenger, baselineSide], judge);
  const estimate = estimateCost(plan, settings.pricing);
  const challengerRel = relativeDir(repoRoot, challengerAbs);
  const headCommit = await resolveCommit(git, repoRoot, 'HEAD').catch(() => undefined);

  const prepared: PreparedEval = {
    prompt: { name: challengerMeta.name, version: challengerMeta.version },
    challenger: { dir: challengerRel, commit: headCommit ?? null, metadata: challengerMeta, files: challengerFiles },
    baseline: { ...baseline, metadata: baselineMeta },
    examples,
    judge,
    estimate,
    cacheMode,
    concurrency,
    async run(): Promise<EvalReport> {
      // The key is checked before the first call, not when nothing needs the API (offline, all cached).
      if (cacheMode !== 'offline' && estimate.calls > estimate.cachedCalls) makeClient();
      const startedAt = new Date().toISOString();
      const started = performance.now();
      const run = await runPairedEval({
        examples,
        challenger,
        baseline: baselineSide,
        judge,
        gateway,
        signal: options.signal,
        // The client's throttle joins the runner's counts: the progress line says when calls are held back.
        onProgress: options.onProgress && ((p) => options.onProgress?.(withThrottle(p, client?.throttle))),
        onCall: options.onCall,
        window: Math.max(4, concurrency * 2),
      });
      const history = await readHistory(repoRoot).catch(() => undefined);
      const historyDiscordantShare = history ? lastDiscordantShare(history.records, prepared.prompt.name) : undefined;
      return buildEvalReport({
        prompt: prepared.prompt,
        ...(historyDiscordantShare !== undefined ? { historyDiscordantShare } : {}),
        startedAt,
        durationMs: Math.round(performance.now() - started),
        run,
        challenger: {
          provenance: { source: 'working-tree', dir: challengerRel, ref: null, commit: headCommit ?? null },
          metadata: challengerMeta,
        },
        baseline: {
          provenance: { source: baseline.source, dir: baseline.dir, ref: baseline.ref, commit: baseline.commit },
          metadata: baselineMeta,
        },
        judge: { model: judge.model, repeats: judge.repeats, rubric: judge.rubric },
        pricing: settings.pricing,
        estimate,
        ...(options.onlyExampleIds ? { onlyExampleIds: options.onlyExampleIds } : {}),
      });
    },
  };
  return prepared;
}

function withThrottle(progress: EvalProgress, throttle: ThrottleState | undefined): EvalProgress {
  return throttle ? { ...progress, throttle } : progress;
}

/** `dir` relative to `root` as POSIX; absolute when outside it. */
function relativeDir(root: string, dir: string): string {
  const rel = relative(root, dir);
  if (rel.startsWith('..') || isAbsolute(rel)) return dir;
  return rel.split(sep).join('/') || '.';
}

/**
 * Runs the eval of DESIGN.md section 4 for one prompt version against its baseline and returns the
 * report. Cached calls cost nothing; cancellation (`signal`) keeps what finished.
 * @throws EvalSetupError / BaselineError / PromptFilesError before any call when the inputs are wrong;
 *   MissingApiKeyError before any call when the API is needed and there is no key; ModelCallError
 *   with `fatal: true` when the API can't be reached or refuses the key.
 */
export async function runEval(options: RunEvalOptions): Promise<EvalReport> {
  return (await prepareEval(options)).run();
}
