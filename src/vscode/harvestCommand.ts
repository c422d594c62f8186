import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeRedactionReport } from '../core/redaction';
import type { HarvestOutcome, SkipReason, SuiteTarget, TextSpanExport } from '../node/harvest';
import { DEFAULT_HARVEST_SAMPLE, DEFAULT_HARVEST_SEED, HarvestError, SKIP_REASON_TEXT, harvestSpans, promptVersionsOf, surveySpanExports } from '../node/harvest';
import { findRepoRoot } from '../node/repoFiles';
import { COMMANDS } from './commandTable';
import { Disposable } from './disposable';
import { REPLAY_SCHEME } from './replayDocuments';
import type { ReplaySession } from './replayDocuments';
import type { ParsedSpanInfo } from '../core/span';

/**
 * "Prompt CI: Add Spans to Eval Suite…": the active editor's selection (or its whole file) as a span
 * export, or the span a replay document replayed, through the same node code as `prompt-ci harvest` (survey, dry run, append). Asks for the
 * prompt (when the spans name several) and the version, shows the redaction report and the number
 * of lines in a modal confirmation, appends, and opens eval.jsonl at the first appended line.
 */

/** What the command did; returned for the tests. */
export type HarvestCommandOutcome =
  | { status: 'appended'; evalPath: string; written: number; firstLine: number; redaction: string; confirmation: { message: string; detail: string } }
  | { status: 'nothing-new'; evalPath: string; message: string }
  | { status: 'cancelled' }
  | { status: 'failed'; message: string };

/** The confirmation's button. */
export const APPEND_BUTTON = 'Append';

/** Where the replays of this window are found (Replay Trace keeps them). */
export interface ReplaySessions {
  replayOf(uri: vscode.Uri): ReplaySession | undefined;
}

export class HarvestCommand extends Disposable {
  constructor(
    private readonly log: vscode.LogOutputChannel,
    private readonly replays: ReplaySessions,
  ) {
    super();
    this._register(vscode.commands.registerCommand(COMMANDS.addSpansToEvalSuite.id, (args: unknown) => this.run(args)));
  }

  /** `args.confirmed: true` skips the modal confirmation (VS Code refuses modal dialogs under test; the question is still returned). */
  async run(args?: unknown): Promise<HarvestCommandOutcome> {
    const confirmed = typeof args === 'object' && args !== null && (args as { confirmed?: unknown }).confirmed === true;
    try {
      return await this.harvest(confirmed);
    } catch (error) {
      if (error instanceof HarvestError) return this.fail(error.message);
      this.log.error(`add spans to eval suite: ${(error as Error).stack ?? String(error)}`);
      return this.fail(`the spans could not be added: ${(error as Error).message}`);
    }
  }

  private async harvest(confirmed: boolean): Promise<HarvestCommandOutcome> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) return this.fail('no editor is active: open a span export (OTLP/JSON, Jaeger, Zipkin v2, the console exporter, an attribute map) or select spans in one');
    const document = editor.document;
    let source: { label: string; exports: TextSpanExport[]; spans: ParsedSpanInfo[]; name: string | undefined; repoRoot: string | undefined };
    if (document.uri.scheme === REPLAY_SCHEME) {
      // A replay document: the span it replayed, kept in memory by the replay (never its text on disk).
      const session = this.replays.replayOf(document.uri);
      if (!session) return this.fail('this replay is no longer in memory (only the last 20 are kept, and none survive a reload): replay the span again, or run Add Spans to Eval Suite… on the span file');
      const span = session.result.span;
      const label = `the replayed span${span.spanId ? ` ${span.spanId}` : ''}`;
      source = { label, exports: [], spans: [span], name: span.promptName, repoRoot: session.repoRoot };
    } else {
      const selected = editor.selections.some((s) => !s.isEmpty);
      const label = selected ? 'the selection' : vscode.workspace.asRelativePath(document.uri, false);
      const text = selected ? editor.selections.filter((s) => !s.isEmpty).map((s) => document.getText(s)).join('\n') : document.getText();
      source = { label, exports: [{ label, text }], spans: [], name: undefined, repoRoot: undefined };
    }
    const { label, exports, spans } = source;

    let name = source.name;
    if (name === undefined) {
      const survey = surveySpanExports(exports);
      if (survey.prompts.length === 0) {
        const why = survey.spans === 0 ? 'holds no LLM span (a span with gen_ai.* attributes or a prompt.name)' : `has ${survey.spans} LLM span${survey.spans === 1 ? '' : 's'}, none with a valid prompt.name and prompt.version`;
        return this.fail(`${label} ${why}: the spans of a prompt carry prompt.name, prompt.version and, ideally, prompt.commit_sha`);
      }
      name = await this.pickPrompt(survey.prompts);
      if (name === undefined) return { status: 'cancelled' };
    }
    const repoRoot = source.repoRoot ?? this.repoOf(name, document.uri);
    if (repoRoot === undefined) return this.fail(`the spans are of prompt ${name}, but no open workspace folder has prompts/${name}: open the repository it lives in`);
    const versions = promptVersionsOf(repoRoot, name);
    if (versions.length === 0) return this.fail(`prompts/${name} has no version directories (v1, v2, …)`);
    const target = await this.pickVersion(versions);
    if (target === undefined) return { status: 'cancelled' };

    const request = { target, exports, spans, sample: DEFAULT_HARVEST_SAMPLE, seed: DEFAULT_HARVEST_SEED };
    const planned = await harvestSpans({ ...request, dryRun: true });
    const lines = planned.plan.lines.length;
    const redaction = describeRedactionReport(planned.plan.redaction);
    if (lines === 0) {
      const message = `Nothing to add to ${planned.evalPath}: ${notAddedText(planned) || `${planned.spans} LLM span${planned.spans === 1 ? '' : 's'} read, none new.`}`;
      void vscode.window.showInformationMessage(message);
      return { status: 'nothing-new', evalPath: planned.evalPath, message };
    }
    const detail = [
      `${lines} line${lines === 1 ? '' : 's'} will be appended, tagged production and needs-review (the gate treats them as informational until the tag is removed).`,
      `Redacted: ${redaction}.`,
      notAddedText(planned),
    ]
      .filter((line) => line !== '')
      .join('\n');
    const message = `Append ${lines} example${lines === 1 ? '' : 's'} from ${label} to ${planned.evalPath}?`;
    if (!confirmed) {
      const answer = await vscode.window.showWarningMessage(message, { modal: true, detail }, APPEND_BUTTON);
      if (answer !== APPEND_BUTTON) return { status: 'cancelled' };
    }

    const evalUri = vscode.Uri.file(join(target.repoRoot, planned.evalPath));
    const firstLine = await appendedLineOf(evalUri);
    const done = await harvestSpans(request);
    await showAppendedLines(evalUri, firstLine);
    this.log.info(`add spans to eval suite: ${done.written} line(s) appended to ${done.evalPath} from ${label}; redacted: ${describeRedactionReport(done.plan.redaction)}`);
    return { status: 'appended', evalPath: done.evalPath, written: done.written, firstLine, redaction: describeRedactionReport(done.plan.redaction), confirmation: { message, detail } };
  }

  private async pickPrompt(prompts: { name: string; spans: number }[]): Promise<string | undefined> {
    if (prompts.length === 1) return prompts[0].name;
    const picked = await vscode.window.showQuickPick(
      prompts.map((p) => ({ label: p.name, description: `${p.spans} span${p.spans === 1 ? '' : 's'}` })),
      { title: 'Add Spans to Eval Suite: the spans name several prompts', placeHolder: 'Which prompt’s suite grows?' },
    );
    return picked?.label;
  }

  private async pickVersion(versions: SuiteTarget[]): Promise<SuiteTarget | undefined> {
    const newestFirst = [...versions].reverse();
    const picked = await vscode.window.showQuickPick(
      newestFirst.map((target, i) => ({ label: `v${target.version}`, description: i === 0 ? `${target.dir} (newest)` : target.dir, target })),
      { title: `Add Spans to Eval Suite: which version of ${versions[0].name}?`, placeHolder: 'The version whose eval.jsonl grows (spans of any version are inputs)' },
    );
    return picked?.target;
  }

  /** The workspace's repository with `prompts/<name>`: the active file's first, then the folders'. */
  private repoOf(name: string, active: vscode.Uri): string | undefined {
    const starts = [...(active.scheme === 'file' ? [active.fsPath] : []), ...(vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath)];
    for (const start of starts) {
      const root = findRepoRoot(start);
      if (root !== undefined && existsSync(join(root, 'prompts', name))) return root;
    }
    return undefined;
  }

  private fail(message: string): HarvestCommandOutcome {
    this.log.warn(`add spans to eval suite: ${message}`);
    void vscode.window.showErrorMessage(`Prompt CI: ${message}`);
    return { status: 'failed', message };
  }
}

/**
 * The 0-based line where lines appended to `uri` now will start: appends never rewrite what is
 * there, and add a line ending first when the file lacks a final one. Read from disk, before the append.
 */
export async function appendedLineOf(uri: vscode.Uri): Promise<number> {
  let raw: string;
  try {
    raw = await readFile(uri.fsPath, 'utf8');
  } catch {
    return 0;
  }
  const newlines = raw.split('\n').length - 1;
  return newlines + (raw.length > 0 && !raw.endsWith('\n') ? 1 : 0);
}

/**
 * Opens an eval.jsonl that just grew with the cursor on `line`, the first appended line. An editor
 * already open on it may not have read the new lines yet: waits (briefly) until it has.
 */
export async function showAppendedLines(uri: vscode.Uri, line: number, viewColumn: vscode.ViewColumn = vscode.ViewColumn.Active): Promise<void> {
  const file = await vscode.workspace.openTextDocument(uri);
  const hasLine = (): boolean => file.lineCount > line && !file.lineAt(line).isEmptyOrWhitespace;
  if (!hasLine()) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => done(), 3000);
      const listener = vscode.workspace.onDidChangeTextDocument((e) => e.document === file && hasLine() && done());
      function done(): void {
        clearTimeout(timer);
        listener.dispose();
        resolve();
      }
    });
  }
  const position = new vscode.Position(Math.min(line, file.lineCount - 1), 0);
  await vscode.window.showTextDocument(file, { selection: new vscode.Range(position, position), preview: false, viewColumn });
}

/** Why spans were not added: left out by reason, duplicates, not drawn. No span content. */
function notAddedText(outcome: HarvestOutcome): string {
  const parts: string[] = [];
  const skipped = (Object.entries(outcome.skipped) as [SkipReason, number][]).filter(([, n]) => n > 0);
  if (skipped.length) parts.push(`left out: ${skipped.map(([reason, n]) => `${n} ${SKIP_REASON_TEXT[reason]}`).join('; ')}`);
  const d = outcome.plan.duplicates;
  if (d.exact + d.near > 0) parts.push(`${d.exact + d.near} duplicate${d.exact + d.near === 1 ? '' : 's'} dropped (${d.ofExisting} of examples already in the suite)`);
  if (outcome.plan.notDrawn > 0) parts.push(`${outcome.plan.notDrawn} not drawn (sample of ${DEFAULT_HARVEST_SAMPLE})`);
  return parts.length ? `${parts.join('; ')}.` : '';
}
