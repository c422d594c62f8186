import * as vscode from 'vscode';
import type { Finding, Range, Severity } from '../core/finding';

/** The `source` of every diagnostic Prompt CI publishes. */
export const DIAGNOSTIC_SOURCE = 'prompt-ci';

const SEVERITY: Record<Severity, vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  information: vscode.DiagnosticSeverity.Information,
};

/** A core range as a VS Code range. */
export function toRange(range: Range): vscode.Range {
  return new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
}

/**
 * The one adapter from a core finding to a VS Code diagnostic. `resolve` turns the repo-relative
 * paths of related locations into URIs.
 */
export function toDiagnostic(finding: Finding, resolve: (file: string) => vscode.Uri): vscode.Diagnostic {
  const diagnostic = new vscode.Diagnostic(toRange(finding.range), finding.message, SEVERITY[finding.severity]);
  diagnostic.source = DIAGNOSTIC_SOURCE;
  diagnostic.code = finding.code;
  if (finding.related?.length) {
    diagnostic.relatedInformation = finding.related.map(
      (r) => new vscode.DiagnosticRelatedInformation(new vscode.Location(resolve(r.file), toRange(r.range)), r.message),
    );
  }
  return diagnostic;
}
