import type * as vscode from 'vscode';

/**
 * The one bridge from VS Code's cancellation to the `AbortSignal` that the Node side takes: aborts
 * `controller` when `token` is cancelled (at once if it already is). Dispose the result to remove
 * the listener, so a long-lived token does not keep the controller (and what it holds) alive.
 */
export function abortOnCancel(token: vscode.CancellationToken, controller: AbortController): vscode.Disposable {
  if (token.isCancellationRequested) {
    controller.abort();
    return { dispose: () => undefined };
  }
  return token.onCancellationRequested(() => controller.abort());
}

/**
 * Runs `work` with a signal that aborts when `token` is cancelled, and removes the listener when
 * it settles. Pass `controller` when the signal is shared with other steps (a run that is also
 * stopped from elsewhere, or by the token of a later step).
 */
export async function withCancellation<T>(
  token: vscode.CancellationToken,
  work: (signal: AbortSignal) => Promise<T>,
  controller: AbortController = new AbortController(),
): Promise<T> {
  const listener = abortOnCancel(token, controller);
  try {
    return await work(controller.signal);
  } finally {
    listener.dispose();
  }
}
