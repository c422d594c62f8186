import * as z from 'zod';

/**
 * The eval report (`schema: "prompt-ci/eval-report@1"`): the one document `prompt-ci eval --json`
 * writes, `runEval()` returns and the results webview renders. The zod schema is the single source
 * of truth; `schemas/eval-report.schema.json` is generated from it (see `evalReportJsonSchema`).
 * Additions stay backwards compatible within `@1`: new optional fields only.
 */
export const EVAL_REPORT_SCHEMA_ID = 'prompt-ci/eval-report@1';

/** How one example came out, comparing the two sides' judged correctness. */
export const exampleOutcomeSchema = z
  .enum(['improved', 'regressed', 'both-correct', 'both-wrong', 'error', 'cancelled'])
  .describe(
    'improved: challenger correct, baseline not; regressed: the reverse; error: a side could not be scored; cancelled: the run stopped first.',
  );
export type ExampleOutcome = z.infer<typeof exampleOutcomeSchema>;

/** One judge call's verdict on one output. */
/** Longest judge reason kept in a report (characters); longer ones are cut with an ellipsis. */
export const JUDGE_REASON_LIMIT = 500;

export const judgeVoteSchema = z.object({
  correct: z.boolean(),
  score: z.number().min(1).max(5),
  reason: z.string().max(JUDGE_REASON_LIMIT + 1).optional().describe("The judge's short reason for its verdict, when it gave one."),
});
export type JudgeVote = z.infer<typeof judgeVoteSchema>;

/** What one side (challenger or baseline) produced for one example. */
export const exampleSideSchema = z.object({
  output: z.string().nullable().describe('The model output, or null when the task call did not complete.'),
  correct: z.boolean().nullable().describe('Majority of the judge votes (ties: not correct); null when not judged.'),
  score: z.number().nullable().describe('Median judge score 1..5; null when not judged.'),
  votes: z.array(judgeVoteSchema).describe('Every judge vote, in repeat order.'),
  unstable: z.boolean().describe('The judge votes disagreed on `correct`.'),
  latencyMs: z.number().nullable().describe('Latency of the task call as recorded when it was made (cached calls keep theirs).'),
  cached: z.boolean().describe('The task call was served from the response cache.'),
  error: z.string().nullable().describe('Why this side could not be scored, or null.'),
});
export type ExampleSide = z.infer<typeof exampleSideSchema>;

/** One eval example with both sides' results. */
export const exampleResultSchema = z.object({
  id: z.string(),
  line: z.number().int().min(0).describe('0-based line of the example in the challenger eval.jsonl.'),
  inputs: z.record(z.string(), z.unknown()),
  reference: z.string().nullable(),
  tags: z.array(z.string()),
  cluster: z.string().optional().describe('The eval.jsonl `cluster` key: examples that share one are not independent (cut from one document).'),
  outcome: exampleOutcomeSchema,
  unstable: z.boolean().describe('Either side had judge votes that disagreed.'),
  challenger: exampleSideSchema,
  baseline: exampleSideSchema,
});
export type ExampleResult = z.infer<typeof exampleResultSchema>;

/**
 * Whether synthesis may start from this example: it regressed, or the challenger got it wrong (an
 * example with an error or that never ran is not a failure of the prompt). The results panel offers
 * these for selection and `prompt-ci synthesize` takes them by default.
 */
export function isFailingExample(e: Pick<ExampleResult, 'outcome' | 'challenger'>): boolean {
  return e.outcome === 'regressed' || (e.outcome !== 'cancelled' && e.outcome !== 'error' && e.challenger.correct === false);
}

const intervalSchema = z.object({ low: z.number(), high: z.number() });
const latencySchema = z.object({ p50: z.number(), p95: z.number() });

/** Where a side's prompt came from and how it did overall. */
export const sideSummarySchema = z.object({
  source: z.enum(['working-tree', 'git', 'directory']),
  dir: z.string().describe('Prompt version directory (repo-relative POSIX path when inside the repository).'),
  ref: z.string().nullable().describe('The git ref the side was read at (null for the working tree or a directory).'),
  commit: z.string().nullable().describe('The commit the side was read at; for the working tree, HEAD (which may have uncommitted changes on top).'),
  model: z.string(),
  scored: z.number().int().min(0).describe('Paired examples (both sides scored): both win rates are over these, so they compare like with like.'),
  correct: z.number().int().min(0),
  winRate: z.number().min(0).max(1).nullable().describe('correct / scored; null when nothing was scored.'),
  winRateInterval: intervalSchema.nullable().describe('Wilson 95% interval of the win rate.'),
  meanScore: z.number().nullable().describe('Mean of the per-example median judge scores.'),
  latencyMs: latencySchema.nullable().describe("Task-call latency percentiles (numpy's default 'linear' definition)."),
  errors: z.number().int().min(0).describe('Examples where this side hit an error (cancellations not counted).'),
});
export type SideSummary = z.infer<typeof sideSummarySchema>;

/** One reason behind the gate's verdict. */
export const gateReasonSchema = z.object({
  code: z.enum(['win-rate', 'regression', 'latency', 'unscored', 'no-examples', 'cancelled', 'non-inferiority', 'score-test']),
  message: z.string(),
  /** The status this reason alone would give. */
  effect: z.enum(['blocked', 'inconclusive']),
});
export type GateReason = z.infer<typeof gateReasonSchema>;

/** The verdict of DESIGN.md section 4. */
export const gateSchema = z.object({
  status: z.enum(['pass', 'blocked', 'inconclusive']),
  reasons: z.array(gateReasonSchema).describe('Every reason found, blocking or not.'),
  blocking: z.boolean().describe('false when metadata ci.block_on_eval_regression is false: reasons are reported, status stays pass.'),
  unblockedStatus: z.enum(['pass', 'blocked', 'inconclusive']).describe('The status the reasons alone give, before ci.block_on_eval_regression.'),
  notes: z.array(z.string()),
  thresholds: z.object({
    winRate: z.number(),
    p95LatencyMs: z.number().nullable(),
    alpha: z.number(),
  }),
});
export type Gate = z.infer<typeof gateSchema>;

/** The paired McNemar test on the 2x2 table of outcomes. */
export const mcnemarSchema = z.object({
  improved: z.number().int().min(0),
  regressed: z.number().int().min(0),
  bothCorrect: z.number().int().min(0),
  bothWrong: z.number().int().min(0),
  statistic: z.number().nullable(),
  pValue: z.number().min(0).max(1),
  method: z.enum(['exact', 'chi2-corrected', 'chi2']),
  note: z.string().optional(),
  holm: z
    .object({
      adjustedPValue: z.number().min(0).max(1),
      prompts: z.number().int().min(2).describe('How many prompts the gate tested together.'),
    })
    .optional()
    .describe("Holm's adjustment when one gate evaluated several prompts; the gate decides on the adjusted p."),
});
export type McnemarSummary = z.infer<typeof mcnemarSchema>;

const tokensUsdSchema = z.object({
  inputTokens: z.number().int().min(0),
  outputTokens: z.number().int().min(0),
  usd: z.number().nullable().describe('null when a model has no price in prompt-ci.yaml pricing.'),
});

const intervalEstimate = {
  estimate: z.number(),
  lower: z.number(),
  upper: z.number(),
};

/** Challenger minus baseline, with 95% intervals (DESIGN.md section 9). */
export const differenceSchema = z.object({
  winRate: z
    .object({ ...intervalEstimate, method: z.literal('newcombe-hybrid-score') })
    .nullable()
    .describe('Win-rate difference over the paired examples; Newcombe 1998 method 10. null when nothing was paired.'),
  score: z
    .object({ ...intervalEstimate, method: z.literal('paired-t') })
    .nullable()
    .describe('Mean judge-score difference with the paired t interval; null with fewer than two paired scores.'),
  clustered: z
    .object({
      ...intervalEstimate,
      method: z.literal('cluster-robust'),
      standardError: z.number().min(0),
      clusters: z.number().int().min(2),
    })
    .optional()
    .describe('Present when eval examples carry `cluster`: the win-rate difference with its standard error clustered on it.'),
});
export type DifferenceSummary = z.infer<typeof differenceSchema>;

/** What this suite can detect (Connor 1987). */
export const powerSchema = z.object({
  discordantShare: z.number().min(0).max(1).nullable().describe('(improved + regressed) / paired, or from history.jsonl when this run had none.'),
  source: z.enum(['this-run', 'history']).nullable().describe('Where the discordant share came from; null when it could not be estimated.'),
  n: z.number().int().min(0).describe('Paired examples.'),
  alpha: z.number(),
  power: z.number(),
  detectableRegression: z.number().nullable().describe('Smallest win-rate drop detected at this power and alpha (two-sided); null when it cannot be estimated.'),
  examplesNeeded: z.object({
    regression: z.number().describe('eval.detect_regression'),
    n: z.number().int().nullable().describe('Paired examples needed to detect it; null when it cannot be estimated.'),
  }),
  summary: z.string(),
});
export type PowerSummary = z.infer<typeof powerSchema>;

/** The non-inferiority verdict of `eval.non_inferiority_margin`. */
export const nonInferioritySchema = z.object({
  margin: z.number(),
  status: z.enum(['pass', 'blocked', 'inconclusive']),
  lower: z.number(),
  upper: z.number(),
  examplesToSettle: z.number().int().nullable().describe('Inconclusive: about how many paired examples would settle it if the difference held; else null.'),
  message: z.string(),
});
export type NonInferiority = z.infer<typeof nonInferioritySchema>;

/** Wilcoxon signed-rank on the paired judge scores. */
export const scoreTestSchema = z.object({
  statistic: z.number().describe('min(R+, R-), as scipy reports it.'),
  pValue: z.number().min(0).max(1),
  method: z.enum(['exact', 'approx']),
  n: z.number().int().min(1).describe('Non-zero score differences (zeros are dropped).'),
  gating: z.boolean().describe('eval.score_test is wilcoxon: a significant drop blocks.'),
});
export type ScoreTest = z.infer<typeof scoreTestSchema>;

/** One tag's share of the suite. */
export const sliceSchema = z.object({
  tag: z.string(),
  n: z.number().int().min(1).describe('Paired examples with this tag.'),
  challengerWinRate: z.number().min(0).max(1),
  baselineWinRate: z.number().min(0).max(1),
  improved: z.number().int().min(0),
  regressed: z.number().int().min(0),
  difference: z.object(intervalEstimate),
  concentrated: z.boolean().describe('This slice regressed clearly (its interval is below 0) while the rest of the suite did not.'),
});
export type Slice = z.infer<typeof sliceSchema>;

/** What the run spent (API calls only) and what the whole eval costs uncached. */
export const costSchema = z.object({
  apiCalls: z.number().int().min(0),
  cacheHits: z.number().int().min(0),
  inputTokens: z.number().int().min(0),
  outputTokens: z.number().int().min(0),
  usd: z.number().nullable(),
  uncached: tokensUsdSchema.describe('Tokens and price of every call of this run, cached or not.'),
  estimate: z
    .object({
      calls: z.number().int().min(0),
      cachedCalls: z.number().int().min(0),
      inputTokens: z.number().int().min(0),
      outputTokensTypical: z.number().int().min(0),
      outputTokensMax: z.number().int().min(0),
      usdTypical: z.number().nullable(),
      usdMax: z.number().nullable(),
    })
    .optional()
    .describe('The estimate made before the run.'),
});
export type CostSummary = z.infer<typeof costSchema>;

/** The eval report. */
export const evalReportSchema = z.object({
  schema: z.literal(EVAL_REPORT_SCHEMA_ID),
  prompt: z.object({ name: z.string(), version: z.number().int() }),
  startedAt: z.string().describe('ISO 8601 time the run started.'),
  durationMs: z.number().min(0),
  cancelled: z.boolean(),
  partial: z
    .object({ onlyExampleIds: z.array(z.string()) })
    .optional()
    .describe('Present when only some examples were run.'),
  gate: gateSchema,
  mcnemar: mcnemarSchema,
  challenger: sideSummarySchema,
  baseline: sideSummarySchema,
  judge: z.object({
    model: z.string(),
    repeats: z.number().int().min(1),
    rubric: z.enum(['default', 'judge.md']),
    unanimousShare: z.number().min(0).max(1).nullable().optional().describe('Share of judged outputs whose repeats all agreed on `correct`; null with one repeat.'),
    fleissKappa: z.number().nullable().optional().describe("Fleiss' kappa of the repeats on `correct`; null when undefined (one repeat, or every vote the same)."),
    unstable: z.array(z.string()).optional().describe('Ids of the examples whose judge repeats disagreed.'),
  }),
  difference: differenceSchema.optional(),
  power: powerSchema.optional(),
  nonInferiority: nonInferioritySchema.optional().describe('Present when eval.non_inferiority_margin is set.'),
  scoreTest: scoreTestSchema.nullable().optional().describe('null when no paired score differs.'),
  slices: z.array(sliceSchema).optional(),
  cost: costSchema,
  unstableCount: z.number().int().min(0),
  informational: z
    .object({
      tag: z.literal('needs-review'),
      count: z.number().int().min(1),
      improved: z.number().int().min(0),
      regressed: z.number().int().min(0),
      ids: z.array(z.string()),
    })
    .optional()
    .describe('Examples tagged needs-review (harvested or synthesised, not yet reviewed): run and shown, in the slices, but left out of the McNemar table, the pass rates and the gate until the tag is removed.'),
  examples: z.array(exampleResultSchema),
});
/** The eval report as JSON data. */
export type EvalReport = z.infer<typeof evalReportSchema>;

/** The JSON Schema of the report, committed as `schemas/eval-report.schema.json`. */
export function evalReportJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(evalReportSchema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  return {
    ...schema,
    $id: 'https://prompt-ci.dev/schemas/eval-report.schema.json',
    title: 'Prompt CI eval report (prompt-ci/eval-report@1)',
  };
}
