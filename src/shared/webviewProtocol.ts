import * as z from 'zod';
import { evalReportSchema } from './evalReport';

/**
 * The message protocol of the eval results panel: one discriminated union per direction, each
 * validated with zod on arrival (the webview validates what the extension sends, the extension
 * what the webview sends). Model outputs and eval data travel as plain strings inside the report;
 * the webview renders them as text only.
 *
 * The handshake: the webview posts `ready` once its script runs (and again after every reload of
 * its frame); the extension answers with `show`, then `run` messages while a run is in progress.
 */

/** The view type of the results panel (also its `onWebviewPanel:` activation event). */
export const RESULTS_VIEW_TYPE = 'promptCi.evalResults';

/** Where the model answers came from, so the panel can say it plainly. */
export const apiSourceSchema = z.object({
  /** `demo`: the project's deterministic stand-in (PROMPT_CI_DEMO=1), not a model. */
  kind: z.enum(['anthropic', 'custom', 'demo']),
  /** The host the calls went to, e.g. `api.anthropic.com` or `127.0.0.1:41234`; never a key. */
  host: z.string(),
});
export type ApiSource = z.infer<typeof apiSourceSchema>;

/** Where the latest verdict came from and whether it still holds (the panel labels the report with it). */
export const latestVerdictSchema = z.object({
  source: z.enum(['eval', 'gate', 'test']),
  status: z.enum(['pass', 'blocked', 'inconclusive', 'error']),
  /** The prompt's files changed after it was computed. */
  stale: z.boolean(),
  /** Files whose unsaved editor text the run used. */
  unsavedFiles: z.array(z.string()),
  /** Why the latest run failed (the report shown, if any, is from an earlier run). */
  error: z.string().nullable(),
  savedAt: z.string(),
});
export type LatestVerdict = z.infer<typeof latestVerdictSchema>;

/** Progress of a run, as the engine reports it. */
export const runProgressSchema = z.object({
  done: z.number().int().min(0),
  total: z.number().int().min(0),
  calls: z.number().int().min(0),
  cacheHits: z.number().int().min(0),
  errors: z.number().int().min(0),
});
export type RunProgress = z.infer<typeof runProgressSchema>;

/** A run of this panel's prompt version: started, progressing, or over. */
export const runStateSchema = z.discriminatedUnion('phase', [
  z.object({
    phase: z.literal('running'),
    /** Reading both sides and estimating; waiting for the user to confirm the cost; calling the model. */
    stage: z.enum(['preparing', 'confirming', 'running']),
    /** What is being run, e.g. "all 12 examples" or "3 selected examples". */
    scope: z.string(),
    /** While confirming: the baseline and the estimate, as one line of text. */
    detail: z.string().optional(),
    progress: runProgressSchema.nullable(),
  }),
  z.object({ phase: z.literal('failed'), message: z.string() }),
  z.object({ phase: z.literal('idle') }),
]);
export type RunState = z.infer<typeof runStateSchema>;

/** Messages from the extension to the webview. */
export const hostMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('show'),
    /** Names this panel's prompt version; the webview keeps it in its state for the serializer. */
    key: z.string().regex(/^[0-9a-f]{16,64}$/),
    /** The last finished run of this prompt version; null before the first one finishes. */
    report: evalReportSchema.nullable(),
    /** "summarisation v2", for the header when there is no report yet. */
    title: z.string(),
    /** The prompt version directory, repo-relative. */
    dir: z.string(),
    api: apiSourceSchema.nullable(),
    /** When the report was saved (ISO 8601). */
    savedAt: z.string().nullable(),
    run: runStateSchema,
    /** The latest verdict of this prompt version in the extension's one verdict store. */
    verdict: latestVerdictSchema.nullable().optional(),
  }),
  z.object({ type: z.literal('run'), run: runStateSchema }),
  /** A short confirmation or problem to show in the panel, e.g. after copying. */
  z.object({ type: z.literal('notice'), kind: z.enum(['info', 'error']), text: z.string() }),
]);
export type HostMessage = z.infer<typeof hostMessageSchema>;

/** Most examples one synthesis request starts from (each is sent, redacted, in the request). */
export const MAX_SYNTHESIS_SELECTION = 50;

/** Messages from the webview to the extension. Example ids are looked up in the extension's own copy of the report. */
export const webviewMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('copy-markdown') }),
  z.object({ type: z.literal('open-json') }),
  z.object({ type: z.literal('rerun'), scope: z.enum(['all', 'regressed']) }),
  z.object({ type: z.literal('cancel-run') }),
  z.object({ type: z.literal('open-example'), exampleId: z.string().max(10_000) }),
  /** "Synthesize cases from these failures": the selected examples (looked up, and checked to be failing, in the extension's copy of the report). */
  z.object({ type: z.literal('synthesize'), exampleIds: z.array(z.string().min(1).max(10_000)).min(1).max(MAX_SYNTHESIS_SELECTION) }),
]);
export type WebviewMessage = z.infer<typeof webviewMessageSchema>;

/** Outcome filters of the examples list; `all` shows every outcome. */
export const outcomeFilterSchema = z.enum(['all', 'regressed', 'improved', 'error', 'both-wrong', 'both-correct', 'cancelled']);
export type OutcomeFilter = z.infer<typeof outcomeFilterSchema>;

/**
 * What the webview keeps with `setState` and VS Code hands back to the serializer after a window
 * reload: which results it shows (a key the extension resolves itself) and the reader's place.
 */
export const panelStateSchema = z.object({
  key: z.string().regex(/^[0-9a-f]{16,64}$/),
  filter: outcomeFilterSchema.default('all'),
  search: z.string().max(1000).default(''),
  expanded: z.array(z.string().max(10_000)).max(200).default([]),
});
export type PanelState = z.infer<typeof panelStateSchema>;

/** Parses a message from the extension; undefined when it doesn't follow the protocol. */
export function parseHostMessage(data: unknown): HostMessage | undefined {
  const parsed = hostMessageSchema.safeParse(data);
  return parsed.success ? parsed.data : undefined;
}

/** Parses a message from the webview; undefined when it doesn't follow the protocol. */
export function parseWebviewMessage(data: unknown): WebviewMessage | undefined {
  const parsed = webviewMessageSchema.safeParse(data);
  return parsed.success ? parsed.data : undefined;
}

/** Parses saved panel state; undefined when it is missing or malformed. */
export function parsePanelState(data: unknown): PanelState | undefined {
  const parsed = panelStateSchema.safeParse(data);
  return parsed.success ? parsed.data : undefined;
}

/** Makes a `switch` over a union exhaustive: a new member that isn't handled fails the type check. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
