import type { ParseArgsConfig } from 'node:util';
import { UsageError } from './cliIo';

// The options several commands share, each defined once: its parseArgs entries (spread into the
// command's own options), how the usage line shows it, and how its value is checked, with the
// message a bad value gets. The usage lines (usages.ts) and the commands both take them from
// here, so `--help` and the parsing cannot drift apart. Light on purpose: dist/cli.js holds it.

type OptionSpecs = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | string[] | undefined>;

/** A shared option: `spec` goes into the command's parseArgs options, `read` checks the parsed value. */
export interface SharedOption<S extends OptionSpecs, T> {
  /** The parseArgs entries of the option (two for a pair such as `--offline|--no-cache`). */
  readonly spec: S;
  /** The option as the usage line shows it, e.g. `[--concurrency N]`. */
  readonly usage: string;
  /** The checked value; a bad one is a {@link UsageError} naming the option and what it takes. */
  read(values: Values): T;
  /** For the tests: arguments every command taking the option refuses, and the message they get. */
  readonly invalid?: { readonly args: readonly string[]; readonly message: string };
}

function sharedOption<const S extends OptionSpecs, T>(option: SharedOption<S, T>): SharedOption<S, T> {
  return option;
}

/** `--concurrency N`: the model calls in flight at once. */
export const CONCURRENCY = sharedOption({
  spec: { concurrency: { type: 'string' } },
  usage: '[--concurrency N]',
  read: (values): number | undefined => {
    const value = values.concurrency as string | undefined;
    if (value === undefined) return undefined;
    if (!/^[1-9][0-9]*$/.test(value)) throw new UsageError(`--concurrency must be a positive integer, not "${value}"`);
    return Number(value);
  },
  invalid: { args: ['--concurrency', '0'], message: '--concurrency must be a positive integer, not "0"' },
});

/** `--offline` (answers from the cache only) or `--no-cache` (no cache at all): never both. */
export const CACHE_MODE = sharedOption({
  spec: { offline: { type: 'boolean', default: false }, 'no-cache': { type: 'boolean', default: false } },
  usage: '[--offline|--no-cache]',
  read: (values): { offline: boolean; noCache: boolean } => {
    const offline = values.offline === true;
    const noCache = values['no-cache'] === true;
    if (offline && noCache) throw new UsageError('--offline and --no-cache contradict each other: pick one');
    return { offline, noCache };
  },
  invalid: { args: ['--offline', '--no-cache'], message: '--offline and --no-cache contradict each other: pick one' },
});

/** The minutes of `--max-minutes`, or undefined when not given. Fractions are allowed (0.5 is 30 s). */
export function parseMaxMinutes(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const minutes = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !(minutes > 0) || minutes > 7 * 24 * 60) {
    throw new UsageError(`--max-minutes must be a positive number of minutes (at most a week), not "${value}"`);
  }
  return minutes;
}

/** `--max-minutes N`: a cap on the run's wall time (see runDeadline.ts). */
export const MAX_MINUTES = sharedOption({
  spec: { 'max-minutes': { type: 'string' } },
  usage: '[--max-minutes N]',
  read: (values): number | undefined => parseMaxMinutes(values['max-minutes'] as string | undefined),
  invalid: { args: ['--max-minutes', '0'], message: '--max-minutes must be a positive number of minutes (at most a week), not "0"' },
});

/** `--format A|B…`: how findings and verdicts are printed; `text` by default. */
export function formatOption<const F extends readonly [string, ...string[]]>(choices: F) {
  const listed = choices.length === 1 ? choices[0] : `${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}`;
  return sharedOption({
    spec: { format: { type: 'string', default: 'text' } },
    usage: `[--format ${choices.join('|')}]`,
    read: (values): F[number] => {
      const value = values.format as string;
      if (!choices.includes(value)) throw new UsageError(`--format must be ${listed}, not "${value}"`);
      return value;
    },
    invalid: { args: ['--format', 'xml'], message: `--format must be ${listed}, not "xml"` },
  });
}

/** `check --format`: findings as text, the JSON document or workflow annotations. */
export const CHECK_FORMAT = formatOption(['text', 'json', 'github']);
/** `gate` and `drift --format`: text, or text with workflow annotations and the step summary. */
export const GATE_FORMAT = formatOption(['text', 'github']);

/** A report written to FILE once the run is over (`--json FILE`, `--markdown FILE`, `--junit FILE`). */
function reportFileOption<const N extends string>(name: N) {
  return sharedOption({
    spec: { [name]: { type: 'string' } } as { [K in N]: { type: 'string' } },
    usage: `[--${name} FILE]`,
    read: (values): string | undefined => values[name] as string | undefined,
  });
}

export const JSON_REPORT = reportFileOption('json');
export const MARKDOWN_REPORT = reportFileOption('markdown');
export const JUNIT_REPORT = reportFileOption('junit');

/** `--json`: print the result as JSON instead of text. */
export const JSON_OUTPUT = sharedOption({
  spec: { json: { type: 'boolean', default: false } },
  usage: '[--json]',
  read: (values): boolean => values.json === true,
});

/** `--reason TEXT`: why, for the control log. */
export const REASON = sharedOption({
  spec: { reason: { type: 'string' } },
  usage: '[--reason TEXT]',
  read: (values): string | undefined => values.reason as string | undefined,
});

/** `--force`: go ahead although a policy refuses; it needs `--reason`, which the control log keeps. */
export const FORCE = sharedOption({
  spec: { force: { type: 'boolean', default: false } },
  usage: '[--force]',
  read: (values): boolean => {
    const force = values.force === true;
    if (force && !(typeof values.reason === 'string' && values.reason.trim())) throw new UsageError('--force needs --reason TEXT: the control log keeps why the policy was overridden');
    return force;
  },
});

/** `--bundle FILE`: the versions a change may name come from this bundle instead of prompts/. */
export const BUNDLE_FILE = sharedOption({
  spec: { bundle: { type: 'string' } },
  usage: '[--bundle FILE]',
  read: (values): string | undefined => values.bundle as string | undefined,
});

/** Every shared option, for the tests that check each command shows and checks them alike. */
export const SHARED_OPTIONS = { CHECK_FORMAT, GATE_FORMAT, CONCURRENCY, CACHE_MODE, MAX_MINUTES, JSON_REPORT, MARKDOWN_REPORT, JUNIT_REPORT, JSON_OUTPUT, REASON, FORCE, BUNDLE_FILE } as const;
