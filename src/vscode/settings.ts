import * as vscode from 'vscode';

/** The personal settings of Prompt CI (VS Code settings), validated. Team settings live in prompt-ci.yaml. */
export interface ExtensionSettings {
  /** Re-check as the user types (unsaved text counts). */
  checkOnType: boolean;
  /** Quiet time after the last keystroke before a re-check. */
  debounceMs: number;
  /** Where model calls go; undefined: `ANTHROPIC_BASE_URL`, else the public API. */
  anthropicBaseUrl: string | undefined;
  /** Calls in flight at once; undefined: `prompt-ci.yaml` `eval.concurrency`. */
  evalConcurrency: number | undefined;
  /** Judge calls per output; undefined: the prompt's `eval.judge.repeats`. */
  judgeRepeats: number | undefined;
  /** An eval estimated above this many dollars asks before it starts. */
  confirmAboveUsd: number;
}

function positiveInt(value: unknown, max: number): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 ? Math.min(max, value) : undefined;
}

function httpUrl(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  try {
    const url = new URL(value.trim());
    return url.protocol === 'http:' || url.protocol === 'https:' ? value.trim().replace(/\/+$/, '') : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the settings for `scope` now; never cache the result across events (the user may change them). */
export function readSettings(scope?: vscode.ConfigurationScope): ExtensionSettings {
  const config = vscode.workspace.getConfiguration('promptCi', scope);
  const debounce = config.get<number>('debounceMs', 200);
  const confirm = config.get<number>('eval.confirmAboveUsd', 1);
  return {
    checkOnType: config.get<boolean>('checkOnType', true) !== false,
    debounceMs: Number.isFinite(debounce) ? Math.min(5000, Math.max(0, Math.round(debounce))) : 200,
    anthropicBaseUrl: httpUrl(config.get('anthropicBaseUrl')),
    evalConcurrency: positiveInt(config.get('eval.concurrency'), 64),
    judgeRepeats: positiveInt(config.get('eval.judgeRepeats'), 9),
    confirmAboveUsd: typeof confirm === 'number' && Number.isFinite(confirm) && confirm >= 0 ? confirm : 1,
  };
}
