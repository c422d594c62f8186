import * as vscode from 'vscode';
import type { ModelApiConfig } from '../node/modelApi';
import { resolveModelApi } from '../node/modelApi';
import type { ExtensionSettings } from './settings';

/** The SecretStorage entry holding the Anthropic API key: the only place its name is written. */
const SECRET_NAME = 'promptCi.anthropicApiKey';

/** How an eval, a gate or a replayed call reaches the model (see `resolveModelApi`). */
export type ApiConfig = ModelApiConfig;

/**
 * The key and base URL of the extension's calls: `resolveModelApi` with the SecretStorage key and
 * the `promptCi.anthropicBaseUrl` setting. A stored key that can't be read is logged by the caller
 * through `onStoreError` and the environment's key is used.
 */
export async function resolveApiConfig(
  secrets: vscode.SecretStorage,
  settings: Pick<ExtensionSettings, 'anthropicBaseUrl'>,
  env: Record<string, string | undefined> = process.env,
  onStoreError?: (error: Error) => void,
): Promise<ApiConfig> {
  let stored: string | undefined;
  try {
    stored = await secrets.get(SECRET_NAME);
  } catch (error) {
    onStoreError?.(error as Error);
  }
  return resolveModelApi({ apiKey: stored, apiKeyFrom: 'secret-storage', baseURL: settings.anthropicBaseUrl, env });
}

/** Asks for the key in a password box and stores it in SecretStorage. Resolves true when one was stored. */
export async function promptForApiKey(secrets: vscode.SecretStorage): Promise<boolean> {
  const value = await vscode.window.showInputBox({
    title: 'Prompt CI: Anthropic API key',
    prompt: "Kept in VS Code's secret storage on this machine; never written to settings, logs or reports.",
    placeHolder: 'sk-ant-…',
    password: true,
    ignoreFocusOut: true,
    validateInput: (text) => (text.trim() === '' ? 'Paste the key, or press Escape.' : /\s/.test(text.trim()) ? 'A key has no spaces.' : undefined),
  });
  if (value === undefined || value.trim() === '') return false;
  await secrets.store(SECRET_NAME, value.trim());
  const demo = resolveModelApi().source.kind === 'demo';
  void vscode.window.showInformationMessage(
    demo
      ? 'Anthropic API key stored. This window runs the demo (PROMPT_CI_DEMO=1): evals go to the local demo server until you start without it or set promptCi.anthropicBaseUrl.'
      : "Anthropic API key stored in VS Code's secret storage.",
  );
  return true;
}

/** Removes the stored key; the `ANTHROPIC_API_KEY` fallback still applies. */
export async function clearApiKey(secrets: vscode.SecretStorage): Promise<void> {
  await secrets.delete(SECRET_NAME);
  void vscode.window.showInformationMessage(
    process.env.ANTHROPIC_API_KEY ? 'Stored API key removed; evals now use ANTHROPIC_API_KEY from the environment.' : 'Stored API key removed.',
  );
}
