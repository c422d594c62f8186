import type * as vscode from 'vscode';
import { Disposable } from './disposable';
import type { PromptDiagnostics } from './promptDiagnostics';
import { PromptLookup } from './promptLookup';
import { registerPromptNavigation } from './promptNavigation';
import { registerMetadataHelp } from './metadataHelp';
import { registerQuickFixes } from './quickFixes';
import { registerTemplateHover } from './templateHover';
import { registerVariableCompletion } from './variableCompletion';

/**
 * Hover, go to definition, find references, completion and quick fixes for templates and call
 * sites, answered from the repository index that the diagnostics keep current and from the current
 * text of the document asked about (see `PromptLookup`).
 */
export function registerEditorHelp(diagnostics: PromptDiagnostics): vscode.Disposable {
  return new EditorHelp(diagnostics);
}

class EditorHelp extends Disposable {
  constructor(diagnostics: PromptDiagnostics) {
    super();
    const lookup = this._register(new PromptLookup(diagnostics));
    this._register(registerTemplateHover(lookup));
    this._register(registerPromptNavigation(lookup));
    this._register(registerVariableCompletion(lookup));
    this._register(registerQuickFixes(lookup));
    this._register(registerMetadataHelp());
  }
}

