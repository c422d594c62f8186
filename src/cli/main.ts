import { sanitizeUntrusted } from '../core/escaping/untrusted';
import type { CliIo } from './cliIo';
import { EXIT_USAGE, UsageError } from './cliIo';
import { CHECK_USAGE, runCheckCommand } from './checkCommand';
import { DRIFT_USAGE, runDriftCommand } from './driftCommand';
import { EVAL_USAGE, runEvalCommand } from './evalCommand';
import { GATE_USAGE, runGateCommand } from './gateCommand';
import { INSTALL_HOOK_USAGE, runInstallHookCommand } from './installHookCommand';
import { NEW_USAGE, runNewCommand } from './newCommand';
import { REDRAW_LINE } from './progress';
import { REPLAY_USAGE, runReplayCommand } from './replayCommand';
import {
  AUDIT_USAGE,
  BUNDLE_USAGE,
  DB_USAGE,
  PIN_USAGE,
  PROMOTE_USAGE,
  ROLLBACK_USAGE,
  ROLLOUT_USAGE,
  STATUS_USAGE,
  UNPIN_USAGE,
  runAuditCommand,
  runBundleCommand,
  runDbCommand,
  runPinCommand,
  runPromoteCommand,
  runRollbackCommand,
  runRolloutCommand,
  runStatusCommand,
  runUnpinCommand,
} from './rolloutCommands';

/** A subcommand: its usage line and what runs it. */
interface CliCommand {
  usage: string;
  summary: string;
  run: (argv: string[], io: CliIo) => Promise<number>;
}

/** The command table: every subcommand of `prompt-ci`. */
const COMMANDS: Record<string, CliCommand> = {
  check: { usage: CHECK_USAGE, summary: 'validate prompt versions, templates and call sites', run: runCheckCommand },
  eval: {
    usage: EVAL_USAGE,
    summary: 'run the eval suite on a prompt version and its production baseline; gate on a paired McNemar test',
    run: runEvalCommand,
  },
  gate: {
    usage: GATE_USAGE,
    summary: 'check the repository and eval every prompt version changed since the merge-base with the base ref; exit 1 when one regresses',
    run: runGateCommand,
  },
  drift: {
    usage: DRIFT_USAGE,
    summary: 're-run each prompt without the cache and flag a win rate that moved from its last passing run',
    run: runDriftCommand,
  },
  'install-hook': {
    usage: INSTALL_HOOK_USAGE,
    summary: 'install a git pre-push hook that runs the gate (never overwrites a hook it did not write)',
    run: (argv, io) => runInstallHookCommand(argv, io),
  },
  new: {
    usage: NEW_USAGE,
    summary: 'copy a prompt version vN to vN+1 with version bumped (released versions are immutable; change a new one)',
    run: runNewCommand,
  },
  replay: {
    usage: REPLAY_USAGE,
    summary: 'rebuild, from a production span, the exact prompt and request it was produced by',
    run: (argv, io) => runReplayCommand(argv, io),
  },
  bundle: { usage: BUNDLE_USAGE, summary: 'write the deployable bundle of every prompt version and the commit it was built from', run: (argv, io) => runBundleCommand(argv, io) },
  db: { usage: DB_USAGE, summary: "create or upgrade the rollout control plane's schema", run: runDbCommand },
  rollout: { usage: ROLLOUT_USAGE, summary: 'give a prompt version a share of the traffic; the rest stays with the versions that had it', run: (argv, io) => runRolloutCommand(argv, io) },
  promote: { usage: PROMOTE_USAGE, summary: 'give a version all the traffic after its soak, when its last gate passed', run: (argv, io) => runPromoteCommand(argv, io) },
  rollback: { usage: ROLLBACK_USAGE, summary: 'the kill switch: serve the version that last had all the traffic to everyone', run: (argv, io) => runRollbackCommand(argv, io) },
  pin: { usage: PIN_USAGE, summary: 'keep a tenant on a version, until an expiry or until unpinned', run: (argv, io) => runPinCommand(argv, io) },
  unpin: { usage: UNPIN_USAGE, summary: "remove a tenant's pin", run: (argv, io) => runUnpinCommand(argv, io) },
  status: { usage: STATUS_USAGE, summary: 'shares, soak age, pins and rollbacks of the control plane', run: (argv, io) => runStatusCommand(argv, io) },
  audit: { usage: AUDIT_USAGE, summary: 'which version(s) a tenant was getting at a time, with the reason and share', run: (argv, io) => runAuditCommand(argv, io) },
};

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
    io.stdout(`usage: ${command.usage}\n      ${command.summary}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`prompt-ci ${name}: ${(error as Error).message}\nusage: ${command.usage}\n`);
      return EXIT_USAGE;
    }
    io.stderr(`prompt-ci ${name}: ${(error as Error).message}\n`);
    return EXIT_USAGE;
  }
}

declare const PROMPT_CI_VERSION: string;
