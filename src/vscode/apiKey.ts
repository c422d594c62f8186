import * as vscode from 'vscode';
import type { ApiSource } from '../shared/webviewProtocol';
import type { ExtensionSettings } from './settings';

/** The SecretStorage entry holding the Anthropic API key. */
const SECRET_NAME = 'promptCi.anthropicApiKey';
const PUBLIC_API_HOST = 'api.anthropic.com';

/** How an eval reaches the model: the key (never shown, logged or sent to the webview) and where calls go. */
export interface ApiConfig {
  apiKey: string | undefined;
  /** Undefined: the SDK's default, the public API. */
  baseURL: string | undefined;
  /** Where the key came from, for messages (never the key itself). */
  keyFrom: 'secret-storage' | 'environment' | 'none';
  source: ApiSource;
}

function hostOf(url: string | undefined): string {
  if (!url) return PUBLIC_API_HOST;
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/**
 * Works out the key and base URL of an eval. The key: SecretStorage, else `ANTHROPIC_API_KEY`. The
 * base URL: the `promptCi.anthropicBaseUrl` setting, else `ANTHROPIC_BASE_URL`. In the demo
 * (`PROMPT_CI_DEMO=1`, as `npm start` sets it with the stand-in's URL and key in the environment)
 * the environment's pair is used together, unless the setting points elsewhere.
 */
export async function resolveApiConfig(
  secrets: vscode.SecretStorage,
  settings: Pick<ExtensionSettings, 'anthropicBaseUrl'>,
  env: Record<string, string | undefined> = process.env,
): Promise<ApiConfig> {
  const envKey = env.ANTHROPIC_API_KEY?.trim() || undefined;
  const envBase = env.ANTHROPIC_BASE_URL?.trim() || undefined;
  if (env.PROMPT_CI_DEMO === '1' && settings.anthropicBaseUrl === undefined && envBase !== undefined) {
    return { apiKey: envKey, baseURL: envBase, keyFrom: envKey ? 'environment' : 'none', source: { kind: 'demo', host: hostOf(envBase) } };
  }
  const stored = (await secrets.get(SECRET_NAME))?.trim() || undefined;
  const baseURL = settings.anthropicBaseUrl ?? envBase;
  const host = hostOf(baseURL);
  return {
    apiKey: stored ?? envKey,
    baseURL,
    keyFrom: stored ? 'secret-storage' : envKey ? 'environment' : 'none',
    source: { kind: host === PUBLIC_API_HOST ? 'anthropic' : 'custom', host },
  };
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
  const demo = process.env.PROMPT_CI_DEMO === '1' && process.env.ANTHROPIC_BASE_URL;
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
