import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatUsd } from '../core/eval/cost';
import { describeRedactionReport } from '../core/redaction';
import { SynthesisReplyError } from '../core/synthesis';
import type { CaseRejection } from '../core/synthesis';
import { HarvestError } from '../node/harvest';
import { MissingApiKeyError, ModelCallError } from '../node/modelClient';
import { CacheMissError } from '../node/responseCache';
import { DEFAULT_SYNTHESIS_COUNT, prepareSynthesis, readEvalReportFile } from '../node/synthesize';
import type { CliIo } from './cliIo';
import { EXIT_FAIL, EXIT_OK, EXIT_USAGE, UsageError } from './cliIo';
import { CACHE_MODE, JSON_OUTPUT } from './options';
import { CONFIRM_ABOVE_USD, estimateLine } from './evalCommand';
import { resolveSuiteTarget } from './harvestCommand';

const REJECTION_TEXT: Record<CaseRejection, string> = {
  'not-an-object': 'not an object with inputs',
  'missing-variables': "lacking a template variable",
  'unknown-variables': 'with variables the template does not have',
  'bad-reference': 'with a reference that is not text',
  duplicate: 'duplicating an example or another new case',
  'beyond-count': 'beyond --count',
};

/**
 * `prompt-ci synthesize PROMPT_DIR --from FAILURES`: asks the synthesis model for new cases that
 * exercise the report's regressed or failing examples and appends the valid ones, tagged synthetic
 * and needs-review. Exit 0, 1 when the model's answer held no usable case, 2 for bad input or a failed call.
 */
export async function runSynthesizeCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      from: { type: 'string' },
      count: { type: 'string' },
      model: { type: 'string' },
      example: { type: 'string', multiple: true },
      'dry-run': { type: 'boolean', default: false },
      ...CACHE_MODE.spec,
      yes: { type: 'boolean', default: false },
      ...JSON_OUTPUT.spec,
    },
    allowPositionals: true,
    strict: true,
  });
  const { offline, noCache } = CACHE_MODE.read(values);
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'PROMPT_DIR is required: the prompt version whose eval.jsonl grows' : `unexpected argument "${positionals[1]}"`);
  if (values.from === undefined) throw new UsageError('--from FAILURES is required: the JSON report of prompt-ci eval --json FILE');
  const count = values.count === undefined ? DEFAULT_SYNTHESIS_COUNT : Number(values.count);
  if (!Number.isInteger(count) || count < 1 || count > 50) throw new UsageError(`--count must be a whole number from 1 to 50, got "${values.count}"`);
  if (values.model !== undefined && values.model.trim() === '') throw new UsageError('--model must name a model');
  const target = resolveSuiteTarget(positionals[0], io.cwd);
  try {
    const report = await readEvalReportFile(resolve(io.cwd, values.from), values.from);
    const prepared = await prepareSynthesis({
      target,
      report,
      count,
      ...(values.example ? { onlyExampleIds: values.example } : {}),
      ...(values.model ? { model: values.model } : {}),
      cacheMode: offline ? 'offline' : noCache ? 'no-cache' : 'normal',
      env: io.env,
      signal: io.signal,
    });
    if (!values.json) {
      io.stdout(
        `synthesis: ${count} new case${count === 1 ? '' : 's'} for ${target.dir} from ${prepared.failures.length} failing example${prepared.failures.length === 1 ? '' : 's'} (${prepared.failures.slice(0, 5).join(', ')}${prepared.failures.length > 5 ? ', …' : ''}) · model ${prepared.model}\n` +
          `redacted before sending: ${describeRedactionReport(prepared.redaction)}\n` +
          `estimate: ${estimateLine(prepared.estimate)}\n`,
      );
    }
    const { estimate } = prepared;
    if (io.isTty && !values.yes && estimate.usdTypical !== null && estimate.usdTypical > CONFIRM_ABOVE_USD) {
      io.stderr(`prompt-ci synthesize: the estimate is over ${formatUsd(CONFIRM_ABOVE_USD)}; re-run with --yes to spend it\n`);
      return EXIT_USAGE;
    }
    const outcome = await prepared.run({ dryRun: values['dry-run'] });
    const { plan } = outcome;
    if (values.json) {
      io.stdout(`${JSON.stringify({ evalPath: outcome.evalPath, dryRun: values['dry-run'], model: prepared.model, failures: prepared.failures, estimate, requestRedaction: prepared.redaction, proposed: plan.proposed, rejected: plan.rejected, redaction: plan.redaction, added: plan.lines, written: outcome.written, fromCache: outcome.fromCache }, null, 2)}\n`);
    } else {
      const out: string[] = [];
      if (values['dry-run']) for (const line of plan.lines) out.push(JSON.stringify(line));
      const rejected = (Object.entries(plan.rejected) as [CaseRejection, number][]).filter(([, n]) => n > 0);
      out.push(`the model proposed ${plan.proposed} case${plan.proposed === 1 ? '' : 's'}${outcome.fromCache ? ' (from the cache)' : ''}${rejected.length ? `; refused ${rejected.map(([why, n]) => `${n} ${REJECTION_TEXT[why]}`).join(', ')}` : ''}`);
      out.push(`redacted in the new cases: ${describeRedactionReport(plan.redaction)}`);
      if (plan.lines.length === 0) out.push(`nothing to add to ${outcome.evalPath}`);
      else if (values['dry-run']) out.push(`would append ${plan.lines.length} case${plan.lines.length === 1 ? '' : 's'} to ${outcome.evalPath} (--dry-run: nothing written)`);
      else out.push(`appended ${outcome.written} case${outcome.written === 1 ? '' : 's'} to ${outcome.evalPath}, tagged synthetic and needs-review: the gate counts them once a reviewer removes needs-review`);
      io.stdout(`${out.join('\n')}\n`);
    }
    return plan.lines.length > 0 || plan.proposed > 0 ? EXIT_OK : EXIT_FAIL;
  } catch (error) {
    if (error instanceof HarvestError || error instanceof SynthesisReplyError || error instanceof MissingApiKeyError || error instanceof ModelCallError) {
      io.stderr(`prompt-ci synthesize: ${error.message}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof CacheMissError) {
      io.stderr('prompt-ci synthesize: --offline and the cache has no answer to this request; run without --offline\n');
      return EXIT_USAGE;
    }
    throw error;
  }
}
