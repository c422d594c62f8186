import { statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CostTally, planSideCalls, sized } from '../core/eval/cost';
import type { CostEstimate, SizedCall } from '../core/eval/cost';
import { DEFAULT_JUDGE_MAX_TOKENS } from '../core/eval/judge';
import type { JudgeConfig } from '../core/eval/judge';
import { buildEvalReport } from '../core/eval/report';
import { runPairedEval } from '../core/eval/runner';
import type { CallEvent, EvalSideConfig } from '../core/eval/runner';
import type { EvalProgress, ModelGateway } from '../core/eval/types';
import { EvalJsonlParser, parseEvalJsonl } from '../core/evalSet';
import type { EvalExample } from '../core/evalSet';
import type { ExampleResult } from '../shared/evalReport';
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
import { readEvalJsonl } from './evalJsonlStream';
import type { EvalJsonlFileFacts } from './evalJsonlStream';
import { readPromptFileSync } from './promptFileRead';
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

/** What `PreparedEval.run` can be asked. */
export interface RunOptions {
  onResult?: (result: ExampleResult, index: number) => ExampleResult | void;
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
  /** How many examples the run will make (those `onlyExampleIds` selects, if given). */
  exampleCount: number;
  /**
   * The examples. Read from eval.jsonl again on each access when the file is streamed (it is unless
   * the challenger's eval.jsonl comes from `challengerOverrides`): use `exampleCount` for the count.
   */
  readonly examples: EvalExample[];
  judge: JudgeConfig & { rubric: 'default' | 'judge.md' };
  /** Calls, tokens and dollars before the run; calls already in the cache are counted as free. */
  estimate: CostEstimate;
  /** How the cache is used: normal, offline or no-cache. */
  cacheMode: CacheMode;
  concurrency: number;
  /**
   * Runs it. Rejects with a fatal model error (no key, key refused, API unreachable); anything else is per example.
   * `onResult` sees each example's whole result in order as soon as it is done; what it returns is
   * kept in the report's `examples` instead (the CLI writes the whole result out and keeps less).
   */
  run(options?: RunOptions): Promise<EvalReport>;
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

/**
 * Counts the calls an example will make and which of them the cache already holds: a task call is
 * looked up directly; its judge calls can be looked up only when the task output is cached.
 */
async function planExample(gateway: ModelGateway, example: EvalExample, sides: readonly EvalSideConfig[], judge: JudgeConfig): Promise<SizedCall[]> {
  const planned: SizedCall[] = [];
  const perSide = await Promise.all(
    sides.map(async (side): Promise<SizedCall[]> => {
      const first = planSideCalls(side, judge, example);
      if (!first.task) return [];
      const task = await gateway.peek?.(first.task.request, 0);
      if (!task) return [sized(first.task), ...first.judge.map((c) => sized(c))];
      const known = planSideCalls(side, judge, example, task.text);
      const judged = await Promise.all(known.judge.map(async (c) => sized(c, (await gateway.peek?.(c.request, c.repeat)) !== undefined)));
      return [sized(first.task, true), ...judged];
    }),
  );
  for (const calls of perSide) planned.push(...calls);
  return planned;
}

/** Examples planned at once while eval.jsonl is read. */
const PLANNED_AT_ONCE = 16;

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

  // eval.jsonl is streamed (read a line at a time, twice: to check and plan, then to run), unless
  // the editor's unsaved text stands in for it.
  const streamed = options.challengerOverrides?.evalJsonl === undefined;
  const challengerFiles = await readPromptVersionFromDisk(challengerAbs, { overrides: options.challengerOverrides, root: repoRoot, streamEval: streamed });
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

  const evalPath = join(challengerAbs, 'eval.jsonl');
  const evalName = relativeDir(repoRoot, evalPath);
  const overriddenExamples = streamed ? undefined : parseEvalJsonl(challengerFiles.evalJsonl);
  const wanted = options.onlyExampleIds ? new Set(options.onlyExampleIds) : undefined;
  /** Every example of the file, read as they come; `parser` collects the findings. */
  const readAll = (parser: EvalJsonlParser, facts?: Partial<EvalJsonlFileFacts>): Iterable<EvalExample> | AsyncIterable<EvalExample> =>
    overriddenExamples ? overriddenExamples.examples : readEvalJsonl(evalPath, parser, { path: evalName, root: repoRoot, ...(facts ? { facts } : {}) });
  /** The examples the run makes. */
  const readExamples = async function* (parser: EvalJsonlParser): AsyncGenerator<EvalExample> {
    for await (const example of readAll(parser)) if (!wanted || wanted.has(example.id)) yield example;
  };

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
  let client: ModelClient | undefined;
  // The examples are checked and planned in one read; a problem with the settings is reported after
  // the examples' own, as when they were read first.
  let setup: { gateway: ModelGateway; makeClient: () => ModelClient } | undefined;
  let setupError: unknown;
  try {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new EvalSetupError(`concurrency must be a positive integer, got ${concurrency}`);
    const timeoutMs = options.timeoutMs ?? settings.eval.timeoutMs;
    const cache = new ResponseCache(join(repoRoot, CACHE_DIR));
    const api = options.api ?? resolveModelApi({ apiKey: options.apiKey, baseURL: options.baseURL, env: options.env });
    const makeClient = (): ModelClient =>
      (client ??= new ModelClient({
        ...options.client,
        api,
        concurrency,
        timeoutMs,
        signal: options.signal,
      }));
    const endpoint = normaliseEndpoint(api.baseURL);
    setup = { gateway: cachedGateway({ cache, mode: cacheMode, client: makeClient, endpoint }), makeClient };
  } catch (error) {
    setupError = error;
  }

  const challenger = sideConfig('challenger', challengerFiles, challengerMeta);
  const baselineSide = sideConfig('baseline', baseline.files, baselineMeta);
  // The plan is tallied in the examples' order (as one list would be), a few examples looked up at once.
  const tally = new CostTally();
  const planning: Promise<SizedCall[]>[] = [];
  const settle = async (): Promise<void> => {
    for (const call of await planning.shift()!) tally.add(call);
  };
  const checkParser = new EvalJsonlParser();
  const facts: Partial<EvalJsonlFileFacts> = {};
  const seen = new Set<string>();
  let exampleCount = 0;
  let inFile = 0;
  for await (const example of readAll(checkParser, facts)) {
    inFile += 1;
    if (wanted && !wanted.has(example.id)) continue;
    exampleCount += 1;
    if (wanted) seen.add(example.id);
    if (!setup || checkParser.findings.length > 0) continue;
    planning.push(planExample(setup.gateway, example, [challenger, baselineSide], judge));
    if (planning.length >= PLANNED_AT_ONCE) await settle();
  }
  while (planning.length > 0) await settle();

  const bad = (overriddenExamples?.findings ?? checkParser.findings).filter((f) => f.severity === 'error');
  if (bad.length > 0) {
    const shown = bad.slice(0, 3).map((f) => `line ${f.range.start.line + 1}: ${f.message}`);
    throw new EvalSetupError(
      `${evalPath} has ${bad.length} invalid line${bad.length === 1 ? '' : 's'} (${shown.join('; ')}${bad.length > 3 ? '; …' : ''}); fix them first (prompt-ci check lists them all)`,
    );
  }
  if (inFile === 0) throw new EvalSetupError(`${evalPath} has no examples: an eval needs at least one line`);
  if (wanted) {
    const unknown = [...wanted].filter((id) => !seen.has(id));
    if (unknown.length > 0) throw new EvalSetupError(`no example with id ${unknown.map((id) => JSON.stringify(id)).join(', ')} in ${evalPath}`);
  }
  if (exampleCount === 0) throw new EvalSetupError('onlyExampleIds selects no example');
  if (!setup) throw setupError;
  const { gateway, makeClient } = setup;
  const estimate = tally.estimate(settings.pricing);
  const challengerRel = relativeDir(repoRoot, challengerAbs);
  const headCommit = await resolveCommit(git, repoRoot, 'HEAD').catch(() => undefined);
  const readAgain = (): EvalExample[] => {
    if (overriddenExamples) return overriddenExamples.examples.filter((e) => !wanted || wanted.has(e.id));
    const read = readPromptFileSync(evalPath, evalName, repoRoot);
    if (read.kind !== 'text') throw new EvalSetupError(read.kind === 'missing' ? `${evalName} is missing` : read.message);
    return parseEvalJsonl(read.text).examples.filter((e) => !wanted || wanted.has(e.id));
  };
  /** The examples to run, read again from the file, which must not have changed since it was planned. */
  const runExamples = (): readonly EvalExample[] | AsyncIterable<EvalExample> => {
    if (overriddenExamples) return readAgain();
    const now = statSync(evalPath, { throwIfNoEntry: false });
    if (!now || `${now.size}:${now.mtimeMs}` !== facts.stamp) {
      throw new EvalSetupError(`${evalName} changed after the eval was prepared (its cost estimated); start the eval again`);
    }
    const runParser = new EvalJsonlParser();
    return (async function* () {
      for await (const example of readExamples(runParser)) {
        if (runParser.findings.length > 0) break;
        yield example;
      }
      if (runParser.findings.length > 0) throw new EvalSetupError(`${evalName} changed during the eval: line ${runParser.findings[0].range.start.line + 1}: ${runParser.findings[0].message}`);
    })();
  };
  if (streamed) {
    // The text is not kept: asked for, it is read again.
    Object.defineProperty(challengerFiles, 'evalJsonl', {
      enumerable: true,
      get: (): string => {
        const read = readPromptFileSync(evalPath, evalName, repoRoot);
        return read.kind === 'text' ? read.text : '';
      },
    });
  }

  const prepared: PreparedEval = {
    prompt: { name: challengerMeta.name, version: challengerMeta.version },
    challenger: { dir: challengerRel, commit: headCommit ?? null, metadata: challengerMeta, files: challengerFiles },
    baseline: { ...baseline, metadata: baselineMeta },
    exampleCount,
    get examples(): EvalExample[] {
      return readAgain();
    },
    judge,
    estimate,
    cacheMode,
    concurrency,
    async run(runOptions: RunOptions = {}): Promise<EvalReport> {
      // The key is checked before the first call, not when nothing needs the API (offline, all cached).
      if (cacheMode !== 'offline' && estimate.calls > estimate.cachedCalls) makeClient();
      const startedAt = new Date().toISOString();
      const started = performance.now();
      const run = await runPairedEval({
        examples: runExamples(),
        total: exampleCount,
        ...(runOptions.onResult ? { onResult: runOptions.onResult } : {}),
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
