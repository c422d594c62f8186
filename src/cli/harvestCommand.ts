import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { describeRedactionReport } from '../core/redaction';
import { NEAR_DUPLICATE_THRESHOLD } from '../core/suiteGrowth';
import type { HarvestOutcome, SkipReason, SpanExport, SuiteTarget } from '../node/harvest';
import { DEFAULT_HARVEST_SAMPLE, DEFAULT_HARVEST_SEED, HarvestError, SKIP_REASON_TEXT, harvestSpans, resolveSuiteTarget as resolveNodeSuiteTarget } from '../node/harvest';
import type { CliIo } from './cliIo';
import { EXIT_OK, EXIT_USAGE, UsageError } from './cliIo';
import { JSON_OUTPUT } from './options';


/**
 * `prompt-ci harvest SPANS... --prompt PROMPT_DIR`: appends a redacted, deduplicated sample of the
 * prompt's production spans to PROMPT_DIR's eval.jsonl, tagged production and needs-review.
 * Exit 0 (also when nothing was new), 2 for bad input.
 */
export async function runHarvestCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      prompt: { type: 'string' },
      sample: { type: 'string' },
      since: { type: 'string' },
      tenant: { type: 'string', multiple: true },
      seed: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      ...JSON_OUTPUT.spec,
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length === 0) throw new UsageError('SPANS is required: one or more span export files (OTLP/JSON, Jaeger, Zipkin v2, the console exporter, attribute maps)');
  if (values.prompt === undefined) throw new UsageError('--prompt PROMPT_DIR is required: the prompt version (prompts/<name>/v<N>) whose eval.jsonl grows');
  const sample = values.sample === undefined ? DEFAULT_HARVEST_SAMPLE : Number(values.sample);
  if (!Number.isInteger(sample) || sample < 1) throw new UsageError(`--sample must be a positive whole number, got "${values.sample}"`);
  if (values.since !== undefined && !isIsoInstant(values.since)) {
    throw new UsageError(`--since must be an ISO 8601 date or time, e.g. 2026-12-01 or 2026-12-01T00:00:00Z, got "${values.since}"`);
  }
  const target = resolveSuiteTarget(values.prompt, io.cwd);
  const exports = await Promise.all(positionals.map((p) => readSpanExport(p, io.cwd)));
  try {
    const outcome = await harvestSpans({
      target,
      exports,
      sample,
      seed: values.seed ?? DEFAULT_HARVEST_SEED,
      ...(values.since !== undefined ? { since: values.since } : {}),
      ...(values.tenant ? { tenants: values.tenant } : {}),
      dryRun: values['dry-run'],
      signal: io.signal,
    });
    if (values.json) io.stdout(`${JSON.stringify(harvestJson(outcome, values['dry-run']), null, 2)}\n`);
    else io.stdout(harvestText(outcome, { dryRun: values['dry-run'], seed: values.seed ?? DEFAULT_HARVEST_SEED, files: exports.length, sample }));
    return EXIT_OK;
  } catch (error) {
    if (error instanceof HarvestError) {
      io.stderr(`prompt-ci harvest: ${error.message}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
}

/** The prompt version PROMPT_DIR names (see `resolveSuiteTarget` in node), as a usage error when it names none. */
export function resolveSuiteTarget(arg: string, cwd: string): SuiteTarget {
  try {
    return resolveNodeSuiteTarget(arg, cwd);
  } catch (error) {
    if (error instanceof HarvestError) throw new UsageError(error.message);
    throw error;
  }
}

/** A span file named on the command line: checked here (usage errors name it), read or streamed by `harvestSpans`. */
async function readSpanExport(path: string, cwd: string): Promise<SpanExport> {
  const abs = resolve(cwd, path);
  try {
    const info = await stat(abs);
    if (!info.isFile()) throw new UsageError(`span file ${path} is not a file`);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`span file ${path} can't be read: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return { label: path, path: abs };
}

function isIsoInstant(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/.test(text) && !Number.isNaN(Date.parse(text));
}

/** The `--json` document: what was (or would be) added, and the counts. */
export function harvestJson(outcome: HarvestOutcome, dryRun: boolean): Record<string, unknown> {
  return {
    evalPath: outcome.evalPath,
    dryRun,
    spans: outcome.spans,
    candidates: outcome.candidates,
    skipped: outcome.skipped,
    strata: outcome.plan.strata,
    duplicates: { ...outcome.plan.duplicates, measure: 'jaccard-char-4gram', threshold: NEAR_DUPLICATE_THRESHOLD },
    notDrawn: outcome.plan.notDrawn,
    redaction: outcome.plan.redaction,
    added: outcome.plan.lines,
    written: outcome.written,
  };
}

function harvestText(outcome: HarvestOutcome, options: { dryRun: boolean; seed: string; files: number; sample: number }): string {
  const { plan } = outcome;
  const out: string[] = [];
  if (options.dryRun) for (const line of plan.lines) out.push(JSON.stringify(line));
  out.push(`${outcome.spans} LLM span${outcome.spans === 1 ? '' : 's'} in ${options.files} file${options.files === 1 ? '' : 's'}; ${outcome.candidates} of them could become examples of ${outcome.evalPath.replace(/\/eval\.jsonl$/, '')}`);
  const skipped = (Object.entries(outcome.skipped) as [SkipReason, number][]).filter(([, n]) => n > 0);
  if (skipped.length) out.push(`  left out: ${skipped.map(([reason, n]) => `${n} ${SKIP_REASON_TEXT[reason]}`).join('; ')}`);
  if (plan.strata.length) {
    const shown = plan.strata.slice(0, 8).map((s) => `${s.tenant ?? '(no tenant)'} ${s.taken}/${s.available}`);
    out.push(`  drawn by tenant (seed ${options.seed}, at most ${options.sample}): ${shown.join(', ')}${plan.strata.length > 8 ? `, and ${plan.strata.length - 8} more tenants` : ''}`);
  }
  const d = plan.duplicates;
  if (d.exact + d.near > 0) {
    out.push(`  dropped ${d.exact} exact and ${d.near} near duplicate${d.exact + d.near === 1 ? '' : 's'} (inputs' character 4-gram Jaccard similarity >= ${NEAR_DUPLICATE_THRESHOLD}), ${d.ofExisting} of them of examples already in the suite`);
  }
  out.push(`  redacted: ${describeRedactionReport(plan.redaction)}`);
  if (plan.lines.length === 0) out.push(`nothing new to add to ${outcome.evalPath}`);
  else if (options.dryRun) out.push(`would append ${plan.lines.length} example${plan.lines.length === 1 ? '' : 's'} to ${outcome.evalPath} (--dry-run: nothing written)`);
  else {
    out.push(
      `appended ${outcome.written} example${outcome.written === 1 ? '' : 's'} to ${outcome.evalPath}, tagged production and needs-review: ` +
        'the gate counts them once a reviewer removes needs-review',
    );
  }
  return `${out.join('\n')}\n`;
}
