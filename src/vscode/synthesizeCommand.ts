import { join } from 'node:path';
import * as vscode from 'vscode';
import { sanitizeUntrusted } from '../core/escaping/untrusted';
import { describeRedactionReport } from '../core/redaction';
import { SynthesisReplyError } from '../core/synthesis';
import { HarvestError } from '../node/harvest';
import type { SuiteTarget } from '../node/harvest';
import { MissingApiKeyError, ModelCallError } from '../node/modelClient';
import { DEFAULT_SYNTHESIS_COUNT, prepareSynthesis, synthesisCounts } from '../node/synthesize';
import type { EvalReport } from '../shared/evalReport';
import { isFailingExample } from '../shared/evalReport';
import { MAX_SYNTHESIS_SELECTION } from '../shared/webviewProtocol';
import { resolveApiConfig } from './apiKey';
import { abortOnCancel } from './cancellation';
import { COMMANDS } from './commandTable';
import { confirmCost, estimateText } from './costConfirmation';
import { Disposable } from './disposable';
import type { EvalResults, EvalTarget } from './evalResults';
import { targetKey, targetLabel, targetOfPath } from './evalResults';
import { appendedLineOf, showAppendedLines } from './harvestCommand';
import { readSettings } from './settings';

/**
 * "Synthesize cases from these failures": the results panel's action on the examples a user selects
 * (and the command `promptCi.synthesizeFromFailures` behind it). The same node code as
 * `prompt-ci synthesize` (one redacted request through the eval's cache, pool and cost estimate),
 * the same cost confirmation as Run Eval, the same append-only write; then eval.jsonl opens at the
 * first new line and the counts are reported.
 */

/** What the command did; returned for the tests (and the panel's notice). */
export type SynthesisCommandOutcome =
  | {
      status: 'appended' | 'nothing-new';
      evalPath: string;
      appended: number;
      duplicates: number;
      invalid: number;
      beyondCount: number;
      /** 0-based line of the first appended case. */
      firstLine: number;
      fromCache: boolean;
      message: string;
    }
  | { status: 'cancelled'; message: string }
  | { status: 'failed'; message: string };

/** The command's argument: a prompt version (its directory or a file in it), the example ids, and `confirmed` to skip the cost question. */
interface SynthesisArgs {
  uri?: vscode.Uri;
  exampleIds?: string[];
  confirmed: boolean;
}

function argsOf(arg: unknown): SynthesisArgs {
  if (arg instanceof vscode.Uri) return { uri: arg, confirmed: false };
  if (typeof arg !== 'object' || arg === null) return { confirmed: false };
  const a = arg as { uri?: unknown; exampleIds?: unknown; confirmed?: unknown };
  const uri = a.uri instanceof vscode.Uri ? a.uri : typeof a.uri === 'string' ? vscode.Uri.file(a.uri) : undefined;
  const ids = Array.isArray(a.exampleIds) ? a.exampleIds.filter((id): id is string => typeof id === 'string' && id !== '') : undefined;
  return { ...(uri ? { uri } : {}), ...(ids ? { exampleIds: ids } : {}), confirmed: a.confirmed === true };
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

export class SynthesisCommand extends Disposable {
  /** Prompt versions with a synthesis in progress (one at a time each: they append to one file). */
  private readonly running = new Set<string>();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly results: EvalResults,
    private readonly log: vscode.LogOutputChannel,
  ) {
    super();
    this._register(vscode.commands.registerCommand(COMMANDS.synthesizeFromFailures.id, (arg?: unknown) => this.fromCommand(argsOf(arg))));
  }

  /** The command: the prompt version of `uri` (else the active editor), its stored report, the given examples (default: every failing one). */
  private async fromCommand(args: SynthesisArgs): Promise<SynthesisCommandOutcome> {
    const from = args.uri ?? vscode.window.activeTextEditor?.document.uri;
    const target = from?.scheme === 'file' ? targetOfPath(from.fsPath) : undefined;
    if (!target) return this.fail('open a file of a prompt version (prompts/<name>/v<N>) whose eval has run, or use the results panel');
    const report = await this.results.load(targetKey(target));
    if (!report) return this.fail(`no eval results for ${targetLabel(target)} yet: run "Prompt CI: Run Eval vs Baseline" first`);
    return this.synthesize(target, report, args.exampleIds, { confirmed: args.confirmed });
  }

  /**
   * Synthesises cases from `exampleIds` of `report` (each must be a failing example of it; default
   * every failing one), asking before spending above the threshold unless `confirmed`.
   */
  async synthesize(target: EvalTarget, report: EvalReport, exampleIds: readonly string[] | undefined, options: { confirmed?: boolean } = {}): Promise<SynthesisCommandOutcome> {
    const label = targetLabel(target);
    if (!vscode.workspace.isTrusted) return this.fail('Prompt CI does not call a model in an untrusted workspace: trust the folder (Manage Workspace Trust) to synthesize cases');
    const byId = new Map(report.examples.map((e) => [e.id, e]));
    const ids = exampleIds ?? report.examples.filter(isFailingExample).map((e) => e.id);
    if (ids.length === 0) return this.fail(`the last eval of ${label} has no regressed or failing example to start from`);
    if (ids.length > MAX_SYNTHESIS_SELECTION) return this.fail(`select at most ${MAX_SYNTHESIS_SELECTION} examples (${ids.length} were selected): each one is sent in the request`);
    const unknown = ids.filter((id) => !byId.has(id));
    if (unknown.length) return this.fail(`the last eval of ${label} has no example ${unknown.slice(0, 3).map((id) => JSON.stringify(id)).join(', ')}${unknown.length > 3 ? ', …' : ''}`);
    const passing = ids.filter((id) => !isFailingExample(byId.get(id)!));
    if (passing.length) return this.fail(`${passing.slice(0, 3).map((id) => JSON.stringify(id)).join(', ')}${passing.length > 3 ? ', …' : ''} did not fail: synthesis starts from regressed examples or ones the challenger got wrong`);
    const key = targetKey(target);
    if (this.running.has(key)) return this.fail(`cases for ${label} are already being synthesized`);
    this.running.add(key);
    try {
      return await this.run(target, report, [...ids], options.confirmed === true);
    } catch (error) {
      if (error instanceof HarvestError || error instanceof SynthesisReplyError || error instanceof ModelCallError) return this.fail(error.message);
      if (error instanceof MissingApiKeyError) return this.fail('no Anthropic API key: set one with "Prompt CI: Set Anthropic API Key" (or ANTHROPIC_API_KEY). No call was made.');
      this.log.error(`synthesize ${label}: ${(error as Error).stack ?? String(error)}`);
      return this.fail(`the cases could not be synthesized: ${(error as Error).message}`);
    } finally {
      this.running.delete(key);
    }
  }

  private async run(target: EvalTarget, report: EvalReport, ids: string[], confirmed: boolean): Promise<SynthesisCommandOutcome> {
    const label = targetLabel(target);
    const suite: SuiteTarget = { repoRoot: target.repoRoot, name: target.name, version: target.version, dir: target.promptDir };
    const settings = readSettings(vscode.Uri.file(join(target.repoRoot, target.promptDir)));
    const api = await resolveApiConfig(this.context.secrets, settings);
    const controller = new AbortController();
    const prepared = await prepareSynthesis({
      target: suite,
      report,
      onlyExampleIds: ids,
      count: DEFAULT_SYNTHESIS_COUNT,
      api,
      // Only what was resolved above: the key and base URL come from one place.
      env: {},
      signal: controller.signal,
    });
    const { estimate } = prepared;
    const spend = estimate.calls - estimate.cachedCalls;
    if (spend > 0 && !api.apiKey) throw new MissingApiKeyError();
    this.log.info(
      `synthesize ${label}: ${DEFAULT_SYNTHESIS_COUNT} cases from ${plural(ids.length, 'example')}, model ${prepared.model}; redacted before sending: ${describeRedactionReport(prepared.redaction)}; ${estimateText(estimate)}; calls to ${api.source.host}`,
    );
    if (!confirmed) {
      const yes = await confirmCost({
        question: `Synthesize ${DEFAULT_SYNTHESIS_COUNT} cases for ${label}?`,
        scope: `From ${plural(ids.length, 'failing example')}, model ${prepared.model}`,
        action: 'Synthesize',
        estimate,
        thresholdUsd: settings.confirmAboveUsd,
        api: api.source,
        signal: controller.signal,
      });
      if (!yes) {
        this.log.info(`synthesize ${label}: not started (cost not confirmed)`);
        return { status: 'cancelled', message: 'Nothing was sent: the cost was not confirmed.' };
      }
    }
    const evalUri = vscode.Uri.file(join(target.repoRoot, target.promptDir, 'eval.jsonl'));
    const firstLine = await appendedLineOf(evalUri);
    const outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Synthesizing cases for ${label} with ${prepared.model}…`, cancellable: true },
      (_progress, token) => {
        const listener = abortOnCancel(token, controller);
        return prepared.run().finally(() => listener.dispose());
      },
    );
    const counts = synthesisCounts(outcome.plan, outcome.written);
    const parts = [
      `${plural(counts.appended, 'case')} appended to ${outcome.evalPath}`,
      `${counts.duplicates} dropped as duplicates`,
      `${counts.invalid} invalid`,
      ...(counts.beyondCount > 0 ? [`${counts.beyondCount} beyond the ${DEFAULT_SYNTHESIS_COUNT} asked for`] : []),
    ];
    const tail = counts.appended > 0 ? ', tagged synthetic and needs-review (the gate counts them once a reviewer removes needs-review).' : '.';
    const message = `${parts.join(', ')}${outcome.fromCache ? ' (the answer came from the cache)' : ''}${tail}`;
    this.log.info(`synthesize ${label}: ${message} Redacted in the new cases: ${describeRedactionReport(outcome.plan.redaction)}`);
    if (counts.appended > 0) {
      await showAppendedLines(evalUri, firstLine, vscode.ViewColumn.One);
      void vscode.window.showInformationMessage(`Prompt CI: ${message}`);
    } else {
      void vscode.window.showInformationMessage(`Prompt CI: nothing new for ${label}: ${message}`);
    }
    return { status: counts.appended > 0 ? 'appended' : 'nothing-new', evalPath: outcome.evalPath, ...counts, firstLine, fromCache: outcome.fromCache, message };
  }

  private fail(message: string): SynthesisCommandOutcome {
    // Example ids and model errors are repository and model text: shown, never interpreted.
    const shown = sanitizeUntrusted(message);
    this.log.warn(`synthesize: ${shown}`);
    void vscode.window.showErrorMessage(`Prompt CI: ${shown}`);
    return { status: 'failed', message: shown };
  }
}
