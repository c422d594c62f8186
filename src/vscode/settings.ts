import * as vscode from 'vscode';

/** The personal settings of Prompt CI (VS Code settings), validated. Team settings live in prompt-ci.yaml. */
export interface ExtensionSettings {
  /** Re-check as the user types (unsaved text counts). */
  checkOnType: boolean;
  /** Quiet time after the last keystroke before a re-check. */
  debounceMs: number;
}

/** Reads the settings for `scope` now; never cache the result across events (the user may change them). */
export function readSettings(scope?: vscode.ConfigurationScope): ExtensionSettings {
  const config = vscode.workspace.getConfiguration('promptCi', scope);
  const debounce = config.get<number>('debounceMs', 200);
  return {
    checkOnType: config.get<boolean>('checkOnType', true) !== false,
    debounceMs: Number.isFinite(debounce) ? Math.min(5000, Math.max(0, Math.round(debounce))) : 200,
  };
}
