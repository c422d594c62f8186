/**
 * The Anthropic models Prompt CI knows: lifecycle dates, output limit, whether the Messages API
 * accepts sampling parameters for them, and list prices. The one owner of these facts: metadata
 * diagnostics, model-name completion, the cost estimate (`DEFAULT_PRICING`) and rollout pin
 * warnings all read this table.
 *
 * Sources, checked 2026-12-01:
 * - model ids: the `Model` union of `@anthropic-ai/sdk` 1.13.0 (`resources/messages/messages.d.ts`);
 * - deprecation and retirement dates: the SDK's `internal/data/deprecated-models` table and
 *   https://platform.claude.com/docs/en/about-claude/model-deprecations;
 * - limits and prices: each model's page under https://platform.claude.com/docs/en/models/
 *   (context window, max output, input and output USD per million tokens);
 * - sampling parameters: API version `2026-10-21` (the version the SDK sends, `anthropic-version`
 *   in its client) has no `temperature`, `top_p` or `top_k` for any model; under `2023-06-01` the
 *   models from Claude Opus 4.7 on refuse non-default values.
 *
 * A team whose contract prices differ overrides them in `prompt-ci.yaml` `pricing:`.
 */

import { closestName } from './closestName';

/** The `anthropic-version` the bundled SDK speaks. */
export const SDK_API_VERSION = '2026-10-21';
/** The API version from which no model accepts sampling parameters. */
export const NO_SAMPLING_API_VERSION = '2026-10-21';

/** Where a model is in Anthropic's lifecycle, on a given day. */
export type ModelLifecycle = 'active' | 'legacy' | 'deprecated' | 'retired';

/** One known model id (an alias and its dated snapshot are separate entries). */
export interface ModelInfo {
  id: string;
  /** The name Anthropic's docs use, e.g. "Claude Sonnet 4.6". */
  displayName: string;
  /** Active models superseded by a newer one of the same tier. */
  legacy?: boolean;
  /** Deprecated: still served, no longer recommended, with a retirement date. */
  deprecated?: boolean;
  /** ISO date requests start failing, when one is set. */
  retires?: string;
  /** The replacement Anthropic recommends, for deprecated and retired models. */
  replacement?: string;
  /** Largest `max_tokens` the Messages API accepts (synchronous calls). */
  maxOutputTokens?: number;
  /** Under API version 2023-06-01: `any` accepts temperature/top_p/top_k; `default-only` refuses non-default values. */
  sampling2023?: 'any' | 'default-only';
  /** List prices, USD per million tokens; absent where Anthropic's docs give none. */
  price?: { input: number; output: number };
}

const K = 1000;

/** Every model id the catalog knows, newest first within a family. */
export const MODEL_CATALOG: readonly ModelInfo[] = [
  { id: 'claude-fable-5-2', displayName: 'Claude Fable 5.2', sampling2023: 'default-only' },
  { id: 'claude-fable-5-1', displayName: 'Claude Fable 5.1', maxOutputTokens: 128 * K, sampling2023: 'default-only', price: { input: 10, output: 50 } },
  { id: 'claude-fable-5', displayName: 'Claude Fable 5', legacy: true, sampling2023: 'default-only' },
  { id: 'claude-mythos-5-2', displayName: 'Claude Mythos 5.2', sampling2023: 'default-only' },
  { id: 'claude-mythos-5-1', displayName: 'Claude Mythos 5.1', sampling2023: 'default-only' },
  { id: 'claude-mythos-5', displayName: 'Claude Mythos 5', legacy: true, sampling2023: 'default-only' },
  {
    id: 'claude-mythos-preview',
    displayName: 'Claude Mythos Preview',
    deprecated: true,
    retires: '2026-06-30',
    sampling2023: 'default-only',
  },
  { id: 'claude-opus-5-5', displayName: 'Claude Opus 5.5', maxOutputTokens: 128 * K, sampling2023: 'default-only', price: { input: 4, output: 20 } },
  { id: 'claude-opus-5', displayName: 'Claude Opus 5', legacy: true, maxOutputTokens: 128 * K, sampling2023: 'default-only', price: { input: 5, output: 25 } },
  { id: 'claude-opus-4-8', displayName: 'Claude Opus 4.8', legacy: true, maxOutputTokens: 128 * K, sampling2023: 'default-only', price: { input: 5, output: 25 } },
  { id: 'claude-opus-4-7', displayName: 'Claude Opus 4.7', legacy: true, maxOutputTokens: 128 * K, sampling2023: 'default-only', price: { input: 5, output: 25 } },
  { id: 'claude-opus-4-6', displayName: 'Claude Opus 4.6', legacy: true, maxOutputTokens: 128 * K, sampling2023: 'any', price: { input: 5, output: 25 } },
  {
    id: 'claude-opus-4-5',
    displayName: 'Claude Opus 4.5',
    deprecated: true,
    retires: '2027-01-22',
    maxOutputTokens: 64 * K,
    sampling2023: 'any',
    price: { input: 5, output: 25 },
  },
  {
    id: 'claude-opus-4-5-20251101',
    displayName: 'Claude Opus 4.5',
    deprecated: true,
    retires: '2027-01-22',
    maxOutputTokens: 64 * K,
    sampling2023: 'any',
    price: { input: 5, output: 25 },
  },
  {
    id: 'claude-opus-4-1-20250805',
    displayName: 'Claude Opus 4.1',
    deprecated: true,
    retires: '2026-08-05',
    maxOutputTokens: 32 * K,
    sampling2023: 'any',
    price: { input: 15, output: 75 },
  },
  {
    id: 'claude-opus-4-20250514',
    displayName: 'Claude Opus 4',
    deprecated: true,
    retires: '2026-06-15',
    replacement: 'claude-opus-4-8',
    maxOutputTokens: 32 * K,
    sampling2023: 'any',
    price: { input: 15, output: 75 },
  },
  { id: 'claude-sonnet-5-5', displayName: 'Claude Sonnet 5.5', maxOutputTokens: 128 * K, sampling2023: 'default-only', price: { input: 2, output: 10 } },
  { id: 'claude-sonnet-5', displayName: 'Claude Sonnet 5', legacy: true, maxOutputTokens: 128 * K, sampling2023: 'default-only', price: { input: 2, output: 10 } },
  { id: 'claude-sonnet-4-6', displayName: 'Claude Sonnet 4.6', legacy: true, maxOutputTokens: 64 * K, sampling2023: 'any', price: { input: 3, output: 15 } },
  {
    id: 'claude-sonnet-4-5',
    displayName: 'Claude Sonnet 4.5',
    deprecated: true,
    retires: '2026-11-30',
    replacement: 'claude-sonnet-4-6',
    maxOutputTokens: 64 * K,
    sampling2023: 'any',
    price: { input: 3, output: 15 },
  },
  {
    id: 'claude-sonnet-4-5-20250929',
    displayName: 'Claude Sonnet 4.5',
    deprecated: true,
    retires: '2026-11-30',
    replacement: 'claude-sonnet-4-6',
    maxOutputTokens: 64 * K,
    sampling2023: 'any',
    price: { input: 3, output: 15 },
  },
  {
    id: 'claude-sonnet-4-20250514',
    displayName: 'Claude Sonnet 4',
    deprecated: true,
    retires: '2026-06-15',
    replacement: 'claude-sonnet-4-6',
    maxOutputTokens: 64 * K,
    sampling2023: 'any',
    price: { input: 3, output: 15 },
  },
  { id: 'claude-haiku-5-5', displayName: 'Claude Haiku 5.5', maxOutputTokens: 128 * K, sampling2023: 'default-only', price: { input: 0.1, output: 0.5 } },
  { id: 'claude-haiku-4-5', displayName: 'Claude Haiku 4.5', legacy: true, maxOutputTokens: 64 * K, sampling2023: 'any', price: { input: 1, output: 5 } },
  { id: 'claude-haiku-4-5-20251001', displayName: 'Claude Haiku 4.5', legacy: true, maxOutputTokens: 64 * K, sampling2023: 'any', price: { input: 1, output: 5 } },
];

const BY_ID = new Map(MODEL_CATALOG.map((m) => [m.id, m]));

/** The catalog entry of a model id, if known. */
export function modelInfo(id: string): ModelInfo | undefined {
  return BY_ID.get(id);
}

/** Where a known model is in its lifecycle on `today` (an ISO date, `YYYY-MM-DD…`); `unknown` for ids not in the catalog. */
export function modelLifecycle(id: string, today: string): ModelLifecycle | 'unknown' {
  const info = BY_ID.get(id);
  if (!info) return 'unknown';
  const day = today.slice(0, 10);
  if (info.retires && day >= info.retires) return 'retired';
  if (info.deprecated) return 'deprecated';
  return info.legacy ? 'legacy' : 'active';
}

/**
 * Whether a request to `model` under `apiVersion` may carry `temperature` (or `top_p`/`top_k`) at a
 * value other than the API's default. Unknown models under an old API version: assumed yes.
 */
export function acceptsSamplingParameters(model: string, apiVersion: string = SDK_API_VERSION): boolean {
  if (apiVersion >= NO_SAMPLING_API_VERSION) return false;
  return BY_ID.get(model)?.sampling2023 !== 'default-only';
}

/** The models to offer a user choosing one: not retired on `today`, current ones first, aliases before dated snapshots. */
export function selectableModels(today: string): ModelInfo[] {
  const rank = { active: 0, legacy: 1, deprecated: 2, retired: 3, unknown: 4 } as const;
  return MODEL_CATALOG.filter((m) => modelLifecycle(m.id, today) !== 'retired')
    .map((m, index) => ({ m, index }))
    .sort((a, b) => rank[modelLifecycle(a.m.id, today)] - rank[modelLifecycle(b.m.id, today)] || a.index - b.index)
    .map(({ m }) => m);
}

/** Prices by model id, from the catalog: the defaults `prompt-ci.yaml` `pricing:` overrides. */
export function catalogPricing(): Record<string, { input: number; output: number }> {
  const pricing: Record<string, { input: number; output: number }> = {};
  for (const m of MODEL_CATALOG) if (m.price) pricing[m.id] = { ...m.price };
  return pricing;
}

/** The closest known model id to a misspelt one, or undefined when nothing is close. */
export function closestModel(id: string): string | undefined {
  return closestName(id, MODEL_CATALOG.map((m) => m.id), Math.max(2, Math.floor(id.length / 5)));
}
