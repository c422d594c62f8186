import { resolve } from 'node:path';
import { adjustForMultiplePrompts } from '../core/eval/report';
import type { GateSettings } from '../core/eval/gate';
import type { EvalProgress } from '../core/eval/types';
import type { EvalReport } from '../shared/evalReport';
import type { FileFinding } from '../core/finding';
import type { ChangedPromptVersion, PushedRef } from '../core/gate/changedPrompts';
import type { HistoryRecord } from '../core/gate/history';
import { resultBlockedByPolicy, resultFromError, resultFromReport, resultRemoved, summariseGate } from '../core/gate/verdicts';
import type { GateSummary, PromptGateResult } from '../core/gate/verdicts';
import type { RepoSettings } from '../core/repoSettings';
import { BaselineError, NotAtBaseError } from './baseline';
import type { ResolvedBase } from './baseline';
import { findChangedPrompts, GateSetupError } from './changedPrompts';
import type { ChangedPrompts } from './changedPrompts';
import { checkRepoOnDisk, readRepoSettings } from './checkRepo';
import type { GitRunner } from './git';
import type { ModelApiConfig } from './modelApi';
import { recordPassingRun } from './history';
import { checkControlPlanePolicies } from './controlPlanePolicies';
import type { ControlPlaneCheck } from './controlPlanePolicies';
import { releasedVersionFindingsOnDisk } from './releasedVersions';
import { PromptFilesError } from './promptFiles';
import { EvalSetupError, prepareEval } from './runEval';
import type { PreparedEval, RunEvalOptions } from './runEval';
import { createSourceParser } from './treeSitter';
import type { SourceParser } from './treeSitter';

/** What the gate is doing, as it goes: for progress lines, logs and the VS Code view. */
export type GateEvent =
  | { kind: 'changes'; changes: ChangedPrompts }
  | { kind: 'check'; findings: FileFinding[] }
  | { kind: 'control-plane'; check: ControlPlaneCheck }
  | { kind: 'eval-start'; prompt: ChangedPromptVersion; prepared: PreparedEval; isNew: boolean }
  | { kind: 'eval-progress'; prompt: ChangedPromptVersion; progress: EvalProgress }
  | { kind: 'result'; result: PromptGateResult };

/** What `runGate` needs; everything but `repoRoot` is optional. */
export interface RunGateOptions {
  /** The prompt repository root (where `prompt-ci.yaml` and `prompts/` are). */
  repoRoot: string;
  /** The ref to diff against and read baselines from; default `prompt-ci.yaml` `baselineRef`, else origin/main then main. */
  base?: string;
  /** The refs a `git push` is updating (the pre-push hook passes them): see `baseFromPush`. */
  pushed?: readonly PushedRef[];
  offline?: boolean;
  noCache?: boolean;
  /** Calls in flight at once in each eval; default `prompt-ci.yaml` `eval.concurrency`. */
  concurrency?: number;
  apiKey?: string;
  baseURL?: string;
  env?: Record<string, string | undefined>;
  /** Key and base URL resolved already (see `RunEvalOptions.api`). */
  api?: ModelApiConfig;
  /** Cancels the gate: the eval in flight keeps what finished; prompts not started are inconclusive. */
  signal?: AbortSignal;
  git?: GitRunner;
  /** A parser to reuse (the extension's); else one is made when needed and disposed at the end. */
  parser?: SourceParser;
  /** Passed on to the repository check: see `CheckRepoOptions.unoptimisedGrammarsWhenSmall` (the CLI's). */
  unoptimisedGrammarsWhenSmall?: boolean;
  /** Append passing runs to `.prompt-ci/history.jsonl` (the reference of `prompt-ci drift`). Default true. */
  recordHistory?: boolean;
  onEvent?: (event: GateEvent) => void;
  /** Lower-level model client settings, for tests. */
  client?: RunEvalOptions['client'];
}

/** Everything a gate run found. */
export interface GateRun {
  changes: ChangedPrompts;
  /** Every `check` finding of the repository; null when nothing changed and check was not needed. */
  findings: FileFinding[] | null;
  results: PromptGateResult[];
  summary: GateSummary;
  /** The records appended to `.prompt-ci/history.jsonl`. */
  historyWritten: HistoryRecord[];
  /** Whether the control-plane policies were checked, and against what (or why not); null when nothing changed. */
  controlPlane: { checked: boolean; status: string } | null;
}

/** The settings of the repository, or a GateSetupError when `prompt-ci.yaml` is broken (every eval would fail). */
function settingsOf(repoRoot: string): RepoSettings {
  const { settings, problems } = readRepoSettings(repoRoot);
  if (problems.length > 0) throw new GateSetupError(`prompt-ci.yaml is invalid: ${problems.join('; ')}`);
  return settings;
}

/**
 * The pre-PR gate: finds the prompt versions changed since the merge-base with the base ref
 * (committed or not, and those whose call sites changed), runs `check` over the whole repository
 * and the eval of each changed version against its baseline, cache first. With nothing changed it
 * stops after git, without starting a parser or reading prompts.
 * @throws GateSetupError (no git repository, base ref or merge-base; broken prompt-ci.yaml),
 *   MissingApiKeyError, or a fatal ModelCallError (API unreachable, key refused): environment errors.
 *   A prompt whose own files stop its eval is an `error` verdict instead.
 */
export async function runGate(options: RunGateOptions): Promise<GateRun> {
  const repoRoot = resolve(options.repoRoot);
  const settings = settingsOf(repoRoot);
  let ownParser: SourceParser | undefined;
  const parser = async (): Promise<SourceParser> => options.parser ?? (ownParser ??= await createSourceParser());
  try {
    const changes = await findChangedPrompts({ repoRoot, base: options.base, pushed: options.pushed, settings, git: options.git, parser });
    options.onEvent?.({ kind: 'changes', changes });
    if (changes.prompts.length === 0) {
      return { changes, findings: null, results: [], summary: summariseGate([], 0), historyWritten: [], controlPlane: null };
    }

    // Without a parser of the caller's, check makes its own with the grammars this repository needs
    // (and, for a small one, unoptimised ones: see checkRepoOnDisk) rather than all four.
    const checked = await checkRepoOnDisk(repoRoot, options.parser ? { parser: options.parser } : { unoptimisedGrammarsWhenSmall: options.unoptimisedGrammarsWhenSmall });
    const releaseFindings = await releasedVersionFindingsOnDisk({
      repoRoot,
      settings,
      base: { baseRef: changes.baseLabel, baseCommit: changes.baseCommit, mergeBase: changes.mergeBase },
      dirs: changes.prompts.filter((p) => !p.removed).map((p) => p.dir),
      git: options.git,
    });
    const controlPlane = await checkControlPlanePolicies({
      repoRoot,
      settings,
      env: options.env ?? process.env,
      removed: changes.prompts.filter((p) => p.removed),
    });
    options.onEvent?.({ kind: 'control-plane', check: controlPlane });
    const policyFindings = [...releaseFindings, ...controlPlane.findings];
    const findings = [...checked.findings, ...policyFindings];
    options.onEvent?.({ kind: 'check', findings });

    // Baselines come from the commit the changes were measured against, resolved once.
    const base: ResolvedBase = { ref: changes.baseRef, commit: changes.baseCommit };
    const gated: Array<{ result: PromptGateResult; settings?: GateSettings }> = [];
    for (const prompt of changes.prompts) {
      const policyErrors = policyFindings.filter((f) => f.severity === 'error' && f.file.startsWith(`${prompt.dir}/`));
      gated.push(
        options.signal?.aborted
          ? { result: { ...resultFromError(prompt, 'the gate was cancelled before this prompt ran'), verdict: 'inconclusive' as const } }
          : policyErrors.length > 0
            ? { result: resultBlockedByPolicy(prompt, policyErrors.map((f) => `${f.code}: ${f.file.slice(prompt.dir.length + 1)}: ${f.message}`)) }
            : await gatePrompt(prompt, repoRoot, settings, base, options),
      );
    }
    // Several prompts' McNemar tests are adjusted together (Holm), so verdicts are final only now.
    const results = adjustVerdicts(gated);
    const historyWritten: HistoryRecord[] = [];
    for (const result of results) {
      options.onEvent?.({ kind: 'result', result });
      if ((options.recordHistory ?? true) && result.verdict === 'pass' && result.report) {
        const written = await recordPassingRun(repoRoot, result.report, result.prompt.dir, 'gate');
        if (written) historyWritten.push(written);
      }
    }
    const checkErrors = findings.filter((f) => f.severity === 'error').length;
    return { changes, findings, results, summary: summariseGate(results, checkErrors), historyWritten, controlPlane: { checked: controlPlane.checked, status: controlPlane.status } };
  } finally {
    ownParser?.dispose();
  }
}

/** Holm's adjustment over the prompts whose eval ran; every other result stays as it is. */
function adjustVerdicts(gated: ReadonlyArray<{ result: PromptGateResult; settings?: GateSettings }>): PromptGateResult[] {
  const evaluated = gated.filter((g) => g.result.report && g.settings);
  const adjusted = adjustForMultiplePrompts(
    evaluated.map((g) => g.result.report as EvalReport),
    evaluated.map((g) => g.settings as GateSettings),
  );
  const byResult = new Map(evaluated.map((g, i) => [g.result, adjusted[i]]));
  return gated.map(({ result }) => {
    const report = byResult.get(result);
    return report && report !== result.report ? resultFromReport(result.prompt, report, result.baseline ?? '', result.isNew) : result;
  });
}

async function gatePrompt(
  prompt: ChangedPromptVersion,
  repoRoot: string,
  settings: RepoSettings,
  base: ResolvedBase,
  options: RunGateOptions,
): Promise<{ result: PromptGateResult; settings?: GateSettings }> {
  if (prompt.removed) return { result: resultRemoved(prompt) };
  const evalOptions: RunEvalOptions = {
    repoRoot,
    promptDir: prompt.dir,
    settings,
    base,
    concurrency: options.concurrency,
    offline: options.offline,
    noCache: options.noCache,
    apiKey: options.apiKey,
    baseURL: options.baseURL,
    env: options.env,
    ...(options.api ? { api: options.api } : {}),
    signal: options.signal,
    git: options.git,
    client: options.client,
    onProgress: (progress) => options.onEvent?.({ kind: 'eval-progress', prompt, progress }),
  };
  let prepared: PreparedEval;
  let isNew = false;
  try {
    try {
      prepared = await prepareEval(evalOptions);
    } catch (error) {
      // The prompt has no version at the base commit: it is new there, and is compared with itself,
      // which leaves its absolute thresholds to gate it. Any other baseline error is an error verdict.
      if (!(error instanceof NotAtBaseError)) throw error;
      isNew = true;
      prepared = await prepareEval({ ...evalOptions, baseline: resolve(repoRoot, prompt.dir) });
    }
  } catch (error) {
    if (error instanceof EvalSetupError || error instanceof PromptFilesError || error instanceof BaselineError) {
      return { result: resultFromError(prompt, error.message) };
    }
    throw error;
  }
  options.onEvent?.({ kind: 'eval-start', prompt, prepared, isNew });
  const report = await prepared.run();
  const baseline = isNew ? `none at ${base.ref}: a new prompt, compared with itself` : prepared.baseline.description;
  return { result: resultFromReport(prompt, report, baseline, isNew), settings: prepared.challenger.metadata };
}
