import * as vscode from 'vscode';
import { REQUEST_FILES, promptFileGlob } from '../core/promptLayout';
import { COMMANDS } from './commandTable';
import { targetOfPath, verdictText } from './evalResults';
import type { EvalStatusSource } from './evalResults';

/** The files that get the CodeLens: the ones an author edits to change a prompt. */
const SELECTOR: vscode.DocumentFilter[] = REQUEST_FILES.map((file) => ({
  scheme: 'file',
  pattern: promptFileGlob(file),
}));

/**
 * "Run Eval vs Baseline" at the top of a prompt version's metadata.yaml, system.md and
 * user.template.md, with the last verdict (or the run in progress) beside it.
 */
class EvalCodeLensProvider implements vscode.CodeLensProvider {
  readonly onDidChangeCodeLenses: vscode.Event<void>;

  constructor(private readonly source: EvalStatusSource) {
    this.onDidChangeCodeLenses = source.onDidChange;
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const target = targetOfPath(document.uri.fsPath);
    if (!target) return [];
    const top = new vscode.Range(0, 0, 0, 0);
    const lenses = [new vscode.CodeLens(top, { title: '$(beaker) Run Eval vs Baseline', command: COMMANDS.runEval.id, arguments: [document.uri] })];
    const running = this.source.running(target);
    const last = this.source.summary(target);
    if (running) {
      const p = running.progress;
      lenses.push(new vscode.CodeLens(top, { title: `$(sync~spin) running ${p ? `${p.done}/${p.total}` : ''}`.trimEnd(), command: COMMANDS.showEvalResults.id, arguments: [document.uri] }));
    } else if (last) {
      const counts = last.status === 'error' ? (last.error ?? '') : `${last.regressed} regressed, ${last.improved} improved`;
      const from = last.source === 'gate' ? ' (gate)' : last.source === 'test' ? ' (Test Explorer)' : '';
      const title = `Last eval${from}: ${verdictText(last)} · ${counts.length > 80 ? `${counts.slice(0, 80)}…` : counts}`;
      lenses.push(new vscode.CodeLens(top, { title, command: COMMANDS.showEvalResults.id, arguments: [document.uri] }));
    }
    return lenses;
  }
}

/** Registers the CodeLens provider. */
export function registerEvalCodeLens(source: EvalStatusSource): vscode.Disposable {
  return vscode.languages.registerCodeLensProvider(SELECTOR, new EvalCodeLensProvider(source));
}
