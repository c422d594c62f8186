import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { parseEvalJsonl } from '../core/evalSet';
import { promptFileGlob } from '../core/promptLayout';
import type { EvalReport, ExampleResult, ExampleSide } from '../shared/evalReport';
import { Disposable } from './disposable';
import type { EvalController } from './evalCommand';
import { targetKey, targetLabel, targetOfPath } from './evalResults';
import type { EvalTarget } from './evalResults';
import { abortOnCancel } from './cancellation';

/** The id of the Test Explorer controller of eval suites. */
export const EVAL_TEST_CONTROLLER_ID = 'promptCi.evals';

/** What a test item stands for: a prompt version, or one example of it. */
type ItemData = { kind: 'version'; target: EvalTarget } | { kind: 'example'; target: EvalTarget; exampleId: string };

function sideWord(side: ExampleSide): string {
  return side.correct === null ? 'not judged' : `${side.correct ? 'correct' : 'wrong'}, score ${side.score ?? '–'}`;
}

/** The judge's reasons of one side, one line per vote that gave one. */
function reasons(side: ExampleSide): string[] {
  return side.votes.flatMap((vote, i) => (vote.reason ? [`  repeat ${i + 1} (${vote.correct ? 'correct' : 'wrong'}, ${vote.score}): ${vote.reason}`] : []));
}

/** The failure message of an example: what each side got, the judges' reasons, and the diff of the two outputs. */
export function exampleMessage(e: ExampleResult): vscode.TestMessage {
  const lines = [
    e.outcome === 'regressed' ? 'Regressed: the baseline was correct and the challenger is wrong.' : 'Wrong on both sides (not a regression).',
    `Baseline: ${sideWord(e.baseline)}`,
    ...reasons(e.baseline),
    `Challenger: ${sideWord(e.challenger)}`,
    ...reasons(e.challenger),
    'Expected: the baseline output · Actual: the challenger output',
  ];
  const message = vscode.TestMessage.diff(lines.join('\n'), e.baseline.output ?? '', e.challenger.output ?? '');
  return message;
}

/**
 * The eval suites in VS Code's Test Explorer: each prompt version a test item, each eval example a
 * child. Running an item runs the eval of those examples (one, a tag, a version, all) through the
 * same engine, cache and verdict store as Run Eval vs Baseline; a regressed example fails with the
 * diff of the two outputs and the judge's reasons, and the prompt's verdict is on the parent.
 * Results of a gate run are shown here too.
 */
export class EvalTests extends Disposable {
  private readonly controller = this._register(vscode.tests.createTestController(EVAL_TEST_CONTROLLER_ID, 'Prompt CI Evals'));
  private readonly data = new WeakMap<vscode.TestItem, ItemData>();
  /** Version items by verdict-store key. */
  private readonly versions = new Map<string, vscode.TestItem>();

  constructor(private readonly evals: EvalController) {
    super();
    this.controller.resolveHandler = async (item) => {
      if (!item) await this.discover();
      else await this.loadExamples(item);
    };
    this.controller.refreshHandler = async () => this.discover();
    this.controller.createRunProfile('Run Eval', vscode.TestRunProfileKind.Run, (request, token) => this.runTests(request, token), true);
    this.controller.createRunProfile('Run Eval of a Tag…', vscode.TestRunProfileKind.Run, (request, token) => this.runTag(request, token), false);
    // Every change under prompts/: a new version directory may arrive before or after its files.
    const watcher = this._register(vscode.workspace.createFileSystemWatcher('**/prompts/**'));
    const rediscover = (uri: vscode.Uri): void => {
      const target = uri.scheme === 'file' ? targetOfPath(uri.fsPath) : undefined;
      const item = target ? this.versions.get(targetKey(target)) : undefined;
      if (item && uri.fsPath.endsWith('eval.jsonl')) void this.loadExamples(item);
      else if (!item || uri.fsPath.endsWith('metadata.yaml')) void this.discover();
    };
    this._register(watcher.onDidCreate(rediscover));
    this._register(watcher.onDidChange(rediscover));
    this._register(watcher.onDidDelete(() => void this.discover()));
    // A verdict from the gate (or a run elsewhere) shows up on the items as a run of its own.
    this._register(evals.verdicts.onDidChange((key) => void this.showStoredVerdict(key)));
  }

  /** Finds every prompt version of the workspace (test items of the top level). */
  async discover(): Promise<void> {
    const found = await vscode.workspace.findFiles(promptFileGlob('metadata.yaml'), '**/node_modules/**', 5000);
    const seen = new Set<string>();
    for (const uri of found) {
      const target = uri.scheme === 'file' ? targetOfPath(uri.fsPath) : undefined;
      if (!target) continue;
      const key = targetKey(target);
      seen.add(key);
      if (this.versions.has(key)) continue;
      const item = this.controller.createTestItem(key, targetLabel(target), uri);
      item.description = vscode.workspace.asRelativePath(dirname(uri.fsPath));
      item.canResolveChildren = true;
      this.data.set(item, { kind: 'version', target });
      this.versions.set(key, item);
      this.controller.items.add(item);
    }
    for (const [key, item] of this.versions) {
      if (seen.has(key)) continue;
      this.controller.items.delete(item.id);
      this.versions.delete(key);
    }
  }

  /** The examples of a version item, from its eval.jsonl (unsaved editor text wins). */
  private async loadExamples(item: vscode.TestItem): Promise<void> {
    const data = this.data.get(item);
    if (data?.kind !== 'version') return;
    const file = join(data.target.repoRoot, data.target.promptDir, 'eval.jsonl');
    const open = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === file);
    let text: string;
    try {
      text = open ? open.getText() : await readFile(file, 'utf8');
    } catch {
      item.children.replace([]);
      item.error = 'no eval.jsonl';
      return;
    }
    item.error = undefined;
    const uri = vscode.Uri.file(file);
    const children = parseEvalJsonl(text).examples.map((example) => {
      const child = this.controller.createTestItem(`${item.id}/${example.id}`, example.id, uri);
      child.range = new vscode.Range(example.line, 0, example.line, 0);
      child.tags = (example.tags ?? []).map((tag) => new vscode.TestTag(tag));
      if (example.tags?.length) child.description = example.tags.join(', ');
      this.data.set(child, { kind: 'example', target: data.target, exampleId: example.id });
      return child;
    });
    item.children.replace(children);
  }

  /** The version items a request covers, with the example ids asked for (undefined: all of them). */
  private async plan(request: vscode.TestRunRequest): Promise<Map<string, { item: vscode.TestItem; ids?: Set<string> }>> {
    if (this.versions.size === 0) await this.discover();
    const plan = new Map<string, { item: vscode.TestItem; ids?: Set<string> }>();
    const excluded = new Set((request.exclude ?? []).map((i) => i.id));
    const include = request.include ?? [...this.versions.values()];
    for (const item of include) {
      const data = this.data.get(item);
      if (!data || excluded.has(item.id)) continue;
      const key = targetKey(data.target);
      const version = this.versions.get(key);
      if (!version) continue;
      if (data.kind === 'version') {
        plan.set(key, { item: version });
      } else {
        const entry = plan.get(key) ?? { item: version, ids: new Set<string>() };
        entry.ids?.add(data.exampleId);
        plan.set(key, entry);
      }
    }
    for (const entry of plan.values()) {
      if (entry.item.children.size === 0) await this.loadExamples(entry.item);
      if (entry.ids) continue;
      const kept = [...entry.item.children].map(([, child]) => child).filter((child) => !excluded.has(child.id));
      if (kept.length < entry.item.children.size) entry.ids = new Set(kept.map((child) => (this.data.get(child) as { exampleId: string }).exampleId));
    }
    return plan;
  }

  /** Runs the eval of what the request includes, one prompt version after another. */
  private async runTests(request: vscode.TestRunRequest, token: vscode.CancellationToken, onlyTag?: string): Promise<void> {
    const plan = await this.plan(request);
    const run = this.controller.createTestRun(request, onlyTag ? `Eval of tag ${onlyTag}` : 'Eval', true);
    const controller = new AbortController();
    const cancel = abortOnCancel(token, controller);
    try {
      for (const [, entry] of plan) {
        if (token.isCancellationRequested) break;
        const data = this.data.get(entry.item) as Extract<ItemData, { kind: 'version' }>;
        let ids = entry.ids ? [...entry.ids] : undefined;
        if (onlyTag) {
          ids = [...entry.item.children]
            .map(([, child]) => child)
            .filter((child) => child.tags.some((t) => t.id === onlyTag) && (!entry.ids || entry.ids.has((this.data.get(child) as { exampleId: string }).exampleId)))
            .map((child) => (this.data.get(child) as { exampleId: string }).exampleId);
          if (ids.length === 0) continue;
        }
        const items = this.itemsOf(entry.item, ids);
        run.started(entry.item);
        for (const child of items) run.started(child);
        const report = await this.evals.run({ target: data.target, onlyExampleIds: ids, source: 'test', quiet: true, signal: controller.signal });
        if (!report) {
          const summary = this.evals.summary(data.target);
          const message = new vscode.TestMessage(summary?.status === 'error' ? (summary.error ?? 'the eval failed') : 'The eval did not run (cancelled, or not confirmed).');
          run.errored(entry.item, message);
          for (const child of items) run.skipped(child);
          continue;
        }
        this.apply(run, entry.item, report);
      }
    } finally {
      cancel.dispose();
      run.end();
    }
  }

  /** Asks for a tag, then runs the examples carrying it. */
  private async runTag(request: vscode.TestRunRequest, token: vscode.CancellationToken): Promise<void> {
    const plan = await this.plan(request);
    const tags = new Set<string>();
    for (const { item } of plan.values()) for (const [, child] of item.children) for (const tag of child.tags) tags.add(tag.id);
    if (tags.size === 0) {
      void vscode.window.showInformationMessage('No example of these prompt versions has a tag.');
      return;
    }
    const tag = await vscode.window.showQuickPick([...tags].sort(), { title: 'Run the examples tagged', placeHolder: 'Tag' });
    if (tag) await this.runTests(request, token, tag);
  }

  private itemsOf(version: vscode.TestItem, ids: string[] | undefined): vscode.TestItem[] {
    const children = [...version.children].map(([, child]) => child);
    if (!ids) return children;
    const wanted = new Set(ids);
    return children.filter((child) => wanted.has((this.data.get(child) as { exampleId: string }).exampleId));
  }

  /** Marks the items of a version with a report's outcomes. */
  private apply(run: vscode.TestRun, version: vscode.TestItem, report: EvalReport): void {
    const byId = new Map(report.examples.map((e) => [e.id, e]));
    for (const [, child] of version.children) {
      const data = this.data.get(child);
      const e = data?.kind === 'example' ? byId.get(data.exampleId) : undefined;
      if (!e) continue;
      const duration = e.challenger.latencyMs ?? undefined;
      switch (e.outcome) {
        case 'improved':
        case 'both-correct':
          run.passed(child, duration);
          break;
        case 'regressed':
        case 'both-wrong': {
          const message = exampleMessage(e);
          message.location = child.uri && child.range ? new vscode.Location(child.uri, child.range) : undefined;
          run.failed(child, message, duration);
          break;
        }
        case 'error':
          run.errored(child, new vscode.TestMessage(e.challenger.error ?? e.baseline.error ?? 'error'), duration);
          break;
        case 'cancelled':
          run.skipped(child);
          break;
      }
    }
    const gate = report.gate;
    const verdictLine = `${targetLabel({ name: report.prompt.name, version: report.prompt.version })}: ${gate.status}${gate.reasons.length ? `\n${gate.reasons.map((r) => `• ${r.message}`).join('\n')}` : ''}`;
    if (gate.status === 'pass') run.passed(version, report.durationMs);
    else if (gate.status === 'blocked') run.failed(version, new vscode.TestMessage(verdictLine), report.durationMs);
    else run.errored(version, new vscode.TestMessage(verdictLine), report.durationMs);
  }

  /** A verdict stored by another run (the gate): shown as a finished run of its own. */
  private async showStoredVerdict(key: string): Promise<void> {
    const summary = this.evals.verdicts.summary(key);
    if (!summary || summary.source !== 'gate') return;
    if (this.versions.size === 0) await this.discover();
    const version = this.versions.get(key);
    if (!version) return;
    if (version.children.size === 0) await this.loadExamples(version);
    const report = summary.status === 'error' ? undefined : await this.evals.verdicts.load(key);
    const run = this.controller.createTestRun(new vscode.TestRunRequest([version]), 'Pre-PR gate', false);
    if (report) this.apply(run, version, report);
    else run.errored(version, new vscode.TestMessage(summary.error ?? 'the gate could not evaluate it'));
    run.end();
  }
}
