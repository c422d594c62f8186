import Anthropic from '@anthropic-ai/sdk';
import type { ApiSource } from '../shared/webviewProtocol';

/**
 * The model API's configuration, worked out in one place: which key and which base URL a call
 * uses, and where each came from. The CLI, the Node API, the extension's eval, gate and replay all
 * ask {@link resolveModelApi}; the one SDK client is made by {@link createAnthropicSdk}.
 */

/** The public Messages API. */
export const PUBLIC_API_URL = 'https://api.anthropic.com';
const PUBLIC_API_HOST = 'api.anthropic.com';

/** Where the key came from, for messages (never the key itself). */
export type ApiKeyFrom = 'secret-storage' | 'option' | 'environment' | 'none';

/** Which key and base URL calls use. The key is never shown, logged or sent to the webview. */
export interface ModelApiConfig {
  apiKey: string | undefined;
  /** Without a trailing slash; undefined: the public API. */
  baseURL: string | undefined;
  keyFrom: ApiKeyFrom;
  /** Where calls go, for reports and the UI: the host, and whether it is the public API, another endpoint or the demo server. */
  source: ApiSource;
}

/** What the caller knows beyond the environment. */
export interface ModelApiInputs {
  /** A key given explicitly: an option of the Node API, or the extension's SecretStorage entry. */
  apiKey?: string;
  /** Where `apiKey` came from. Default `option`. */
  apiKeyFrom?: 'secret-storage' | 'option';
  /** A base URL given explicitly: an option, or the `promptCi.anthropicBaseUrl` setting. */
  baseURL?: string;
  /** Where `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL` and `PROMPT_CI_DEMO` are read. Default `process.env`. */
  env?: Record<string, string | undefined>;
}

function blankToUndefined(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/**
 * What is wrong with a base URL, or undefined when it is an http(s) URL. `ModelClient` refuses to
 * start on one (a fatal error: every call would fail alike).
 */
export function baseUrlProblem(baseURL: string | undefined): string | undefined {
  if (baseURL === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(baseURL);
  } catch {
    return `the base URL ${JSON.stringify(baseURL)} is not a URL; give the Messages API's base URL (ANTHROPIC_BASE_URL or the baseURL setting), e.g. ${PUBLIC_API_URL}`;
  }
  return url.protocol === 'https:' || url.protocol === 'http:' ? undefined : `the base URL ${JSON.stringify(baseURL)} is not an http(s) URL (ANTHROPIC_BASE_URL or the baseURL setting)`;
}

function normalisedBaseUrl(value: string): string {
  return value.replace(/\/+$/, '');
}

function hostOf(baseURL: string | undefined): string {
  if (!baseURL) return PUBLIC_API_HOST;
  try {
    return new URL(baseURL).host;
  } catch {
    return baseURL;
  }
}

/**
 * The key: the explicit one (option or SecretStorage), else `ANTHROPIC_API_KEY`. The base URL: the
 * explicit one (option or setting), else `ANTHROPIC_BASE_URL`, else the public API. In the demo
 * (`PROMPT_CI_DEMO=1`, as `npm start` sets it with the stand-in's URL and key in the environment)
 * the environment's pair is used together, unless an explicit base URL points elsewhere: a stored
 * real key is never sent to the demo server. The base URL is not checked here: see {@link baseUrlProblem}.
 */
export function resolveModelApi(inputs: ModelApiInputs = {}): ModelApiConfig {
  const env = inputs.env ?? process.env;
  const envKey = blankToUndefined(env.ANTHROPIC_API_KEY);
  const envBase = blankToUndefined(env.ANTHROPIC_BASE_URL);
  const givenBase = blankToUndefined(inputs.baseURL);
  if (env.PROMPT_CI_DEMO === '1' && givenBase === undefined && envBase !== undefined) {
    const baseURL = normalisedBaseUrl(envBase);
    return { apiKey: envKey, baseURL, keyFrom: envKey ? 'environment' : 'none', source: { kind: 'demo', host: hostOf(baseURL) } };
  }
  const givenKey = blankToUndefined(inputs.apiKey);
  const rawBase = givenBase ?? envBase;
  const baseURL = rawBase === undefined ? undefined : normalisedBaseUrl(rawBase);
  const host = hostOf(baseURL);
  return {
    apiKey: givenKey ?? envKey,
    baseURL,
    keyFrom: givenKey ? (inputs.apiKeyFrom ?? 'option') : envKey ? 'environment' : 'none',
    source: { kind: host === PUBLIC_API_HOST ? 'anthropic' : 'custom', host },
  };
}

/** Where the key came from, in words for a message. */
export function describeKeyFrom(keyFrom: ApiKeyFrom): string {
  switch (keyFrom) {
    case 'secret-storage':
      return "VS Code's secret storage";
    case 'option':
      return 'the apiKey option';
    case 'environment':
      return 'ANTHROPIC_API_KEY';
    case 'none':
      return 'nowhere';
  }
}

/**
 * The one `@anthropic-ai/sdk` client constructor. The SDK's own retries are off: `ModelClient`
 * retries, so every call (eval, judge, gate, replay) has one policy.
 */
export function createAnthropicSdk(config: { apiKey: string; baseURL: string | undefined }, timeoutMs: number): Anthropic {
  return new Anthropic({
    apiKey: config.apiKey,
    // The SDK reads ANTHROPIC_BASE_URL from process.env itself; pass ours (or the public API) so the resolver decides.
    baseURL: config.baseURL ?? PUBLIC_API_URL,
    maxRetries: 0,
    timeout: timeoutMs,
    logLevel: 'off',
  });
}
