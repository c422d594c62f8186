import * as vscode from 'vscode';

/** Shows a Replay Trace error with its actions (not awaited: the message stays until dismissed). */
export function showReplayError(message: string, actions: Record<string, () => unknown>): void {
  void (async () => {
    const picked = await vscode.window.showErrorMessage(`Replay Trace: ${message}`, ...Object.keys(actions));
    if (picked) await actions[picked]();
  })();
}

/** A plain object argument of a command (not an array, not a Uri). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof vscode.Uri);
}

/** True when `uri` names something that exists. */
export async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}
