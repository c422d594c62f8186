// The usage line of every `prompt-ci` subcommand, apart from the commands' code so that `--help`
// and the command table load none of it (each command's module is loaded only when it runs).
// The options several commands share are shown as options.ts defines them.
import { BUNDLE_FILE, CACHE_MODE, CHECK_FORMAT, CONCURRENCY, GATE_FORMAT, FORCE, JSON_OUTPUT, JSON_REPORT, JUNIT_REPORT, MARKDOWN_REPORT, MAX_MINUTES, REASON } from './options';

const line = (...parts: string[]): string => parts.join(' ');

export const CHECK_USAGE = line('prompt-ci check [PATH...]', CHECK_FORMAT.usage);
export const DRIFT_USAGE = line('prompt-ci drift [PROMPT_DIR...]', CONCURRENCY.usage, '[--record]', GATE_FORMAT.usage, JSON_REPORT.usage);
export const EVAL_USAGE = line(
  'prompt-ci eval <prompt-dir> [--baseline DIR|REF:PATH]',
  CONCURRENCY.usage,
  CACHE_MODE.usage,
  MAX_MINUTES.usage,
  JSON_REPORT.usage,
  MARKDOWN_REPORT.usage,
  JUNIT_REPORT.usage,
  '[--yes]',
);
export const GATE_USAGE = line(
  'prompt-ci gate [--base REF]',
  GATE_FORMAT.usage,
  CACHE_MODE.usage,
  CONCURRENCY.usage,
  MAX_MINUTES.usage,
  MARKDOWN_REPORT.usage,
  JSON_REPORT.usage,
  '[--pushing REMOTE_REF=SHA...]',
);
export const INSTALL_HOOK_USAGE = 'prompt-ci install-hook [--uninstall]';
export const NEW_USAGE = line('prompt-ci new PROMPT_DIR', JSON_OUTPUT.usage);
/** What `prompt-ci new --help` says beyond the usage line and the summary. */
export const NEW_HELP = [
  'PROMPT_DIR is prompts/<name> (copies its highest version) or prompts/<name>/v<N> (copies that one).',
  'The copy, v<N+1>, holds every file of the source with metadata.yaml\'s version bumped; a v<N+1>',
  'that exists is never overwritten (exit 1). --json prints {from, to, version, files}.',
].join('\n');
export const REPLAY_USAGE = line('prompt-ci replay [FILE|-] [--inputs FILE]', JSON_OUTPUT.usage, '[--call] [--span-id ID] [--audit FILE.md|FILE.json]');
export const DB_USAGE = 'prompt-ci db migrate';
export const BUNDLE_USAGE = 'prompt-ci bundle [--out FILE] [--allow-dirty]';
export const ROLLOUT_USAGE = line('prompt-ci rollout NAME VERSION --share PERCENT [--exclude-tier TIER]...', FORCE.usage, REASON.usage, BUNDLE_FILE.usage);
export const PROMOTE_USAGE = line('prompt-ci promote NAME VERSION', FORCE.usage, REASON.usage, BUNDLE_FILE.usage);
export const ROLLBACK_USAGE = line('prompt-ci rollback NAME', REASON.usage);
export const PIN_USAGE = line('prompt-ci pin TENANT NAME VERSION [--expires ISO_DATE]', REASON.usage, BUNDLE_FILE.usage);
export const UNPIN_USAGE = line('prompt-ci unpin TENANT NAME', REASON.usage);
export const STATUS_USAGE = line('prompt-ci status [NAME]', JSON_OUTPUT.usage);
export const AUDIT_USAGE = line('prompt-ci audit TENANT NAME (--at ISO_TIME | --from ISO_TIME --to ISO_TIME)', JSON_OUTPUT.usage);

export const HARVEST_USAGE = line('prompt-ci harvest SPANS... --prompt PROMPT_DIR [--sample N] [--since ISO] [--tenant ID]... [--seed S] [--dry-run]', JSON_OUTPUT.usage);
export const SYNTHESIZE_USAGE = line('prompt-ci synthesize PROMPT_DIR --from FAILURES [--count N] [--model M] [--example ID]... [--dry-run]', CACHE_MODE.usage, '[--yes]', JSON_OUTPUT.usage);
