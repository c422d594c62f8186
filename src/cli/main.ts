import { sanitizeUntrusted } from '../core/escaping/untrusted';
import type { CliIo } from './cliIo';
import { EXIT_USAGE, reportCommandError } from './cliIo';
import { REDRAW_LINE } from './progress';
import {
  AUDIT_USAGE,
  BUNDLE_USAGE,
  CHECK_USAGE,
  DB_USAGE,
  DRIFT_USAGE,
  EVAL_USAGE,
  GATE_USAGE,
  HARVEST_USAGE,
  INSTALL_HOOK_USAGE,
  NEW_HELP,
  NEW_USAGE,
  PIN_USAGE,
  PROMOTE_USAGE,
  REPLAY_USAGE,
  ROLLBACK_USAGE,
  ROLLOUT_USAGE,
  STATUS_USAGE,
  SYNTHESIZE_USAGE,
  UNPIN_USAGE,
} from './usages';

/** What runs a subcommand: its arguments after the command's name, and the io. Returns the exit code. */
type CommandRun = (argv: string[], io: CliIo) => Promise<number>;

/**
 * A subcommand: its usage line, and `load`, which loads the command's module (a bundle of its own
 * in dist/cli/) only when the command runs, so that `--version`, `--help` and each command load no
 * other command's code (the SDK, the parsers, the database drivers).
 */
interface CliCommand {
  usage: string;
  summary: string;
  /** More for `prompt-ci COMMAND --help`, below the summary (lines, no indent). */
  help?: string;
  load: () => Promise<CommandRun>;
}

/** The command table: every subcommand of `prompt-ci`. Each `load` is a literal require of its module, inside the function so it runs only then. */
/* eslint-disable @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- typed, lazy requires of the command bundles */
const COMMANDS: Record<string, CliCommand> = {
  check: { usage: CHECK_USAGE, summary: 'validate prompt versions, templates and call sites', load: async () => (require('./checkCommand') as typeof import('./checkCommand')).runCheckCommand },
  eval: {
    usage: EVAL_USAGE,
    summary: 'run the eval suite on a prompt version and its production baseline; gate on a paired McNemar test',
    load: async () => (require('./evalCommand') as typeof import('./evalCommand')).runEvalCommand,
  },
  gate: {
    usage: GATE_USAGE,
    summary: 'check the repository and eval every prompt version changed since the merge-base with the base ref; exit 1 when one regresses',
    load: async () => (require('./gateCommand') as typeof import('./gateCommand')).runGateCommand,
  },
  drift: {
    usage: DRIFT_USAGE,
    summary: 're-run each prompt without the cache and flag a pass rate that moved from its last passing run',
    load: async () => (require('./driftCommand') as typeof import('./driftCommand')).runDriftCommand,
  },
  'install-hook': {
    usage: INSTALL_HOOK_USAGE,
    summary: 'install a git pre-push hook that runs the gate (never overwrites a hook it did not write)',
    load: async () => (require('./installHookCommand') as typeof import('./installHookCommand')).runInstallHookCommand,
  },
  new: {
    usage: NEW_USAGE,
    summary: 'copy a prompt version vN to vN+1 with version bumped (released versions are immutable; change a new one)',
    help: NEW_HELP,
    load: async () => (require('./newCommand') as typeof import('./newCommand')).runNewCommand,
  },
  replay: {
    usage: REPLAY_USAGE,
    summary: 'rebuild, from a production span, the exact prompt and request it was produced by',
    load: async () => (require('./replayCommand') as typeof import('./replayCommand')).runReplayCommand,
  },
  harvest: {
    usage: HARVEST_USAGE,
    summary: "append a redacted, deduplicated sample of a prompt's production spans to its eval.jsonl, tagged production and needs-review",
    load: async () => (require('./harvestCommand') as typeof import('./harvestCommand')).runHarvestCommand,
  },
  synthesize: {
    usage: SYNTHESIZE_USAGE,
    summary: "ask a stronger model for new cases exercising an eval report's failures; append the valid ones, tagged synthetic and needs-review",
    load: async () => (require('./synthesizeCommand') as typeof import('./synthesizeCommand')).runSynthesizeCommand,
  },
  bundle: { usage: BUNDLE_USAGE, summary: 'write the deployable bundle of every prompt version and the commit it was built from', load: async () => (require('./rolloutCommands') as typeof import('./rolloutCommands')).runBundleCommand },
  db: { usage: DB_USAGE, summary: "create or upgrade the rollout control plane's schema", load: async () => (require('./rolloutCommands') as typeof import('./rolloutCommands')).runDbCommand },
  rollout: { usage: ROLLOUT_USAGE, summary: 'give a prompt version a share of the traffic; the rest stays with the versions that had it', load: async () => (require('./rolloutCommands') as typeof import('./rolloutCommands')).runRolloutCommand },
  promote: { usage: PROMOTE_USAGE, summary: 'give a version all the traffic after its soak, when its last gate passed', load: async () => (require('./rolloutCommands') as typeof import('./rolloutCommands')).runPromoteCommand },
  rollback: { usage: ROLLBACK_USAGE, summary: 'the kill switch: serve the version that last had all the traffic to everyone', load: async () => (require('./rolloutCommands') as typeof import('./rolloutCommands')).runRollbackCommand },
  pin: { usage: PIN_USAGE, summary: 'keep a tenant on a version, until an expiry or until unpinned', load: async () => (require('./rolloutCommands') as typeof import('./rolloutCommands')).runPinCommand },
  unpin: { usage: UNPIN_USAGE, summary: "remove a tenant's pin", load: async () => (require('./rolloutCommands') as typeof import('./rolloutCommands')).runUnpinCommand },
  status: { usage: STATUS_USAGE, summary: 'shares, soak age, pins and rollbacks of the control plane', load: async () => (require('./rolloutCommands') as typeof import('./rolloutCommands')).runStatusCommand },
  audit: { usage: AUDIT_USAGE, summary: 'which version(s) a tenant was getting at a time, with the reason and share', load: async () => (require('./rolloutCommands') as typeof import('./rolloutCommands')).runAuditCommand },
};
/* eslint-enable @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports */

function usage(): string {
  const lines = Object.values(COMMANDS).map((c) => `  ${c.usage}\n      ${c.summary}`);
  return `Usage:\n${lines.join('\n')}\n`;
}

/**
 * The output streams every command writes through: untrusted text (model output, file names, eval
 * ids, metadata values) can't reach the terminal with its control characters; they are shown
 * visibly instead. The progress line's own redraw sequence is the one control sequence let through.
 */
export function sanitizedIo(io: CliIo): CliIo {
  const safe = (write: (text: string) => void) => (text: string) =>
    write(text.startsWith(REDRAW_LINE) ? REDRAW_LINE + sanitizeUntrusted(text.slice(REDRAW_LINE.length)) : sanitizeUntrusted(text));
  return { ...io, stdout: safe(io.stdout), stderr: safe(io.stderr) };
}

/** Runs `prompt-ci` with its arguments (without `node` and the script). Returns the exit code. */
export async function main(argv: string[], rawIo: CliIo): Promise<number> {
  const io = sanitizedIo(rawIo);
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    (name ? io.stdout : io.stderr)(usage());
    return name ? 0 : EXIT_USAGE;
  }
  if (name === '--version') {
    io.stdout(`${PROMPT_CI_VERSION}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`prompt-ci: unknown command "${name}"\n${usage()}`);
    return EXIT_USAGE;
  }
  // `prompt-ci COMMAND --help` (before any `--`, after which it would be a name): the command's usage, exit 0.
  const end = rest.indexOf('--');
  if (rest.some((arg, i) => (arg === '--help' || arg === '-h') && (end < 0 || i < end))) {
    const more = command.help ? `\n${command.help.split('\n').map((l) => `  ${l}`).join('\n')}\n` : '';
    io.stdout(`usage: ${command.usage}\n      ${command.summary}\n${more}`);
    return 0;
  }
  try {
    const run = await command.load();
    return await run(rest, io);
  } catch (error) {
    return reportCommandError(io, name, command.usage, error);
  }
}

declare const PROMPT_CI_VERSION: string;
