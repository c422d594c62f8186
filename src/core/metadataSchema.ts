import * as z from 'zod';

/**
 * The contract of `metadata.yaml`, the single source of truth: the validator, the types and the
 * JSON Schema contributed to VS Code's YAML tooling (`media/metadata.schema.json`) all come from it.
 * Objects are strict so unknown keys surface (as warnings: see `validateMetadata`).
 */
export const judgeSchema = z
  .object({
    model: z.string().min(1).describe('Model that grades each output against the reference.'),
    repeats: z
      .number()
      .int()
      .min(1)
      .max(15)
      .default(3)
      .describe('Judge calls per output; majority decides `correct`, the median decides `score`.'),
  })
  .strict();

export const synthesisSchema = z
  .object({
    model: z.string().min(1).describe('Model that writes new eval cases from failing examples (prompt-ci synthesize).'),
  })
  .strict();

export const evalSettingsSchema = z
  .object({
    threshold_win_rate: z
      .number()
      .min(0)
      .max(1)
      .default(0.9)
      .describe('Absolute floor for the challenger win rate (0..1).'),
    threshold_p95_latency_ms: z
      .number()
      .positive()
      .optional()
      .describe('Blocks when the p95 latency of the challenger task calls exceeds this.'),
    paired_test: z.literal('mcnemar').default('mcnemar').describe('The paired test on outcomes.'),
    mcnemar_exact: z
      .union([z.literal('auto'), z.boolean()])
      .default('auto')
      .describe('auto: exact binomial when improved+regressed < 25, else chi-square with continuity correction.'),
    noise_envelope_alpha: z
      .number()
      .gt(0)
      .lt(1)
      .default(0.05)
      .describe('A regression blocks only when McNemar p is below this.'),
    detect_regression: z
      .number()
      .gt(0)
      .lt(1)
      .default(0.03)
      .describe('The win-rate drop (0..1) the report says how many examples it takes to detect at 80% power.'),
    non_inferiority_margin: z
      .number()
      .gt(0)
      .lt(1)
      .optional()
      .describe('For migrations and refactors: passes when the win-rate difference interval is above minus this, blocks when it is below, else inconclusive.'),
    score_test: z
      .enum(['none', 'wilcoxon'])
      .default('none')
      .describe('wilcoxon: a significant drop in the paired judge scores (Wilcoxon signed-rank, p < noise_envelope_alpha) blocks too.'),
    judge: judgeSchema.optional().describe('The LLM judge; defaults to the task model with 3 repeats.'),
    sensitive_variables: z
      .array(z.string().min(1))
      .optional()
      .describe('Template variables whose values are personal data: harvest and synthesize replace them (and their occurrences elsewhere in the example) with placeholders.'),
    phone_region: z
      .string()
      .regex(/^[A-Z]{2}$/, 'must be an ISO 3166 alpha-2 region code, e.g. US, GB, DE')
      .default('US')
      .describe('Region whose national phone numbers redaction recognises (numbers written with +country code are found for every region).'),
    synthesis: synthesisSchema.optional().describe('prompt-ci synthesize: the model that writes new cases; defaults to the judge model.'),
  })
  .strict();

export const ciSettingsSchema = z
  .object({
    required_reviewers: z.number().int().min(0).optional().describe('Reviewers a PR changing this prompt needs.'),
    block_on_eval_regression: z
      .boolean()
      .default(true)
      .describe('false: the gate reports a regression without blocking.'),
  })
  .strict();

export const promptMetadataSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be a path segment of [a-z0-9][a-z0-9_-]*')
      .describe('Must equal the <name> directory.'),
    version: z.number().int().positive().describe('Must equal N in the v<N> directory.'),
    model: z.string().min(1).describe('Anthropic model id, e.g. claude-sonnet-4-6.'),
    temperature: z.number().min(0).max(1).default(0).describe('Sampling temperature, 0..1 for Anthropic models.'),
    max_output_tokens: z.number().int().positive().default(1024).describe('max_tokens of each task call.'),
    output_schema: z
      .string()
      .min(1)
      .optional()
      .describe('JSON Schema of the output; resolved in the prompt directory first, then the repo root.'),
    template_format: z
      .enum(['python', 'mustache'])
      .default('python')
      .describe('python: str.format (the default); mustache: the mustache package.'),
    eval: evalSettingsSchema.default(() => evalSettingsSchema.parse({})).describe('Eval gate settings.'),
    owners: z.array(z.string().min(1)).optional().describe('Owners of this prompt, e.g. ["@platform-team"].'),
    ci: ciSettingsSchema.default(() => ciSettingsSchema.parse({})).describe('CI policy for this prompt.'),
  })
  .strict();

/** A validated metadata.yaml with defaults filled in. Keys keep their YAML (snake_case) names. */
export type PromptMetadata = z.infer<typeof promptMetadataSchema>;
/** The `eval:` block with defaults filled in. */
export type EvalSettings = z.infer<typeof evalSettingsSchema>;
/** The `eval.judge:` block. */
export type JudgeSettings = z.infer<typeof judgeSchema>;

/** The JSON Schema for `yamlValidation`, generated from `promptMetadataSchema`. */
export function metadataJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(promptMetadataSchema, { io: 'input', target: 'draft-7' }) as Record<string, unknown>;
  return { ...schema, title: 'Prompt CI metadata.yaml', $id: 'https://prompt-ci.dev/schemas/metadata.schema.json' };
}
