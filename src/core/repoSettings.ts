import * as z from 'zod';
import { parseDocument } from 'yaml';
import { catalogPricing } from './modelCatalog';

/** Default render functions whose calls count as call sites (DESIGN.md section 3). */
export const DEFAULT_RENDER_FUNCTIONS = [
  'render_prompt',
  'renderPrompt',
  'load_prompt',
  'loadPrompt',
  'render_user_template',
  'renderUserTemplate',
];

/**
 * Default prices in USD per million tokens: the model catalog's list prices. A team overrides them
 * in `prompt-ci.yaml` `pricing:`.
 */
export const DEFAULT_PRICING: Record<string, { input: number; output: number }> = catalogPricing();

const priceSchema = z.object({ input: z.number().min(0), output: z.number().min(0) }).strict();

/**
 * `prompt-ci.yaml`: team settings shared by the CLI, CI and the extension. Every key is optional;
 * `parseRepoSettings` fills the defaults.
 */
export const repoSettingsSchema = z
  .object({
    baselineRef: z.string().min(1).optional().describe('Ref holding production prompts; default origin/main, then main.'),
    callSites: z
      .object({
        functions: z.array(z.string().min(1)).default(DEFAULT_RENDER_FUNCTIONS),
        include: z.array(z.string().min(1)).default(['**/*.{py,ts,tsx,js,jsx,mjs,cjs}']),
        exclude: z.array(z.string().min(1)).default(['**/node_modules/**', '**/.git/**', '**/dist/**', '**/out/**']),
      })
      .strict()
      .default(() => ({
        functions: DEFAULT_RENDER_FUNCTIONS,
        include: ['**/*.{py,ts,tsx,js,jsx,mjs,cjs}'],
        exclude: ['**/node_modules/**', '**/.git/**', '**/dist/**', '**/out/**'],
      })),
    pricing: z.record(z.string(), priceSchema).default({}),
    eval: z
      .object({
        concurrency: z.number().int().min(1).max(64).default(8),
        timeoutMs: z.number().int().positive().default(120_000),
      })
      .strict()
      .default(() => ({ concurrency: 8, timeoutMs: 120_000 })),
    releasedVersions: z
      .enum(['immutable', 'warn'])
      .default('immutable')
      .describe('A change to a released version (one on the baseline ref): immutable blocks it in the gate, warn reports it.'),
    drift: z
      .object({ thresholdPoints: z.number().positive().default(3) })
      .strict()
      .default(() => ({ thresholdPoints: 3 })),
    controlPlane: z
      .object({ url: z.string().min(1).optional().describe('Postgres URL of the rollout control plane; PROMPT_CI_DATABASE_URL overrides it; default: the embedded store in .prompt-ci/control/.') })
      .strict()
      .default(() => ({})),
    rollout: z
      .object({ soakHours: z.number().min(0).default(24) })
      .strict()
      .default(() => ({ soakHours: 24 })),
  })
  .strict();

/** Validated `prompt-ci.yaml` with defaults; `pricing` is merged over `DEFAULT_PRICING`. */
export type RepoSettings = z.infer<typeof repoSettingsSchema>;

/** The settings of a repository without `prompt-ci.yaml`. */
export function defaultRepoSettings(): RepoSettings {
  return { ...repoSettingsSchema.parse({}), pricing: { ...DEFAULT_PRICING } };
}

/**
 * Parses `prompt-ci.yaml` text. Returns the settings, the problems that make the file unusable
 * (YAML errors, wrong values: defaults are used and commands that depend on the settings refuse to
 * run) and warnings: an unknown key is one warning, and every known setting still applies, the
 * same for `check`, `eval`, `gate` and `drift`.
 */
export function parseRepoSettings(text: string | undefined): { settings: RepoSettings; problems: string[]; warnings: string[] } {
  const warnings: string[] = [];
  if (text === undefined || text.trim() === '') return { settings: defaultRepoSettings(), problems: [], warnings };
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    return { settings: defaultRepoSettings(), problems: doc.errors.map((e) => `prompt-ci.yaml: ${e.message}`), warnings };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return { settings: defaultRepoSettings(), problems: [`prompt-ci.yaml: refused: ${(error as Error).message}`], warnings };
  }
  raw ??= {};
  // Unknown keys are dropped (each a warning) and the rest parsed again: one round per level of nesting.
  for (let round = 0; round < 8; round++) {
    const result = repoSettingsSchema.safeParse(raw);
    if (result.success) {
      return { settings: { ...result.data, pricing: { ...DEFAULT_PRICING, ...result.data.pricing } }, problems: [], warnings };
    }
    const unknown = result.error.issues.filter((i) => i.code === 'unrecognized_keys');
    const others = result.error.issues.filter((i) => i.code !== 'unrecognized_keys');
    if (others.length > 0 || unknown.length === 0) {
      return {
        settings: defaultRepoSettings(),
        problems: others.map((i) => `prompt-ci.yaml: ${i.path.join('.') || '(root)'}: ${i.message}`),
        warnings: [...warnings, ...unknown.flatMap((i) => unknownKeyWarnings(i.path, (i as { keys: string[] }).keys))],
      };
    }
    for (const issue of unknown) {
      const keys = (issue as { keys: string[] }).keys;
      warnings.push(...unknownKeyWarnings(issue.path, keys));
      let at: unknown = raw;
      for (const part of issue.path) at = (at as Record<PropertyKey, unknown>)[part as PropertyKey];
      for (const key of keys) delete (at as Record<string, unknown>)[key];
    }
  }
  return { settings: defaultRepoSettings(), problems: ['prompt-ci.yaml: too many unknown keys'], warnings };
}

function unknownKeyWarnings(path: readonly PropertyKey[], keys: readonly string[]): string[] {
  const where = path.length > 0 ? ` in ${path.map(String).join('.')}` : '';
  return keys.map((key) => `prompt-ci.yaml: unknown key "${key}"${where}: ignored; the other settings apply`);
}
