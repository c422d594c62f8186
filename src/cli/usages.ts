// The usage line of every `prompt-ci` subcommand, apart from the commands' code so that `--help`
// and the command table load none of it (each command's module is loaded only when it runs).
export const CHECK_USAGE = 'prompt-ci check [PATH...] [--format text|json|github]';
export const DRIFT_USAGE = 'prompt-ci drift [PROMPT_DIR...] [--concurrency N] [--record] [--format text|github] [--json FILE]';
export const EVAL_USAGE =
  'prompt-ci eval <prompt-dir> [--baseline DIR|REF:PATH] [--concurrency N] [--offline|--no-cache] [--max-minutes N] [--json FILE] [--markdown FILE] [--junit FILE] [--yes]';
export const GATE_USAGE =
  'prompt-ci gate [--base REF] [--format text|github] [--offline|--no-cache] [--concurrency N] [--max-minutes N] [--markdown FILE] [--json FILE] [--pushing REMOTE_REF=SHA...]';
export const INSTALL_HOOK_USAGE = 'prompt-ci install-hook [--uninstall]';
export const NEW_USAGE = 'prompt-ci new PROMPT_DIR [--json]';
export const REPLAY_USAGE = 'prompt-ci replay [FILE|-] [--inputs FILE] [--json] [--call] [--span-id ID] [--audit FILE.md|FILE.json]';
export const DB_USAGE = 'prompt-ci db migrate';
export const BUNDLE_USAGE = 'prompt-ci bundle [--out FILE] [--allow-dirty]';
export const ROLLOUT_USAGE = 'prompt-ci rollout NAME VERSION --share PERCENT [--exclude-tier TIER]... [--reason TEXT] [--bundle FILE]';
export const PROMOTE_USAGE = 'prompt-ci promote NAME VERSION [--force] [--reason TEXT] [--bundle FILE]';
export const ROLLBACK_USAGE = 'prompt-ci rollback NAME [--reason TEXT]';
export const PIN_USAGE = 'prompt-ci pin TENANT NAME VERSION [--expires ISO_DATE] [--reason TEXT] [--bundle FILE]';
export const UNPIN_USAGE = 'prompt-ci unpin TENANT NAME [--reason TEXT]';
export const STATUS_USAGE = 'prompt-ci status [NAME] [--json]';
export const AUDIT_USAGE = 'prompt-ci audit TENANT NAME (--at ISO_TIME | --from ISO_TIME --to ISO_TIME) [--json]';

export const HARVEST_USAGE = 'prompt-ci harvest SPANS... --prompt PROMPT_DIR [--sample N] [--since ISO] [--tenant ID]... [--seed S] [--dry-run] [--json]';
export const SYNTHESIZE_USAGE = 'prompt-ci synthesize PROMPT_DIR --from FAILURES [--count N] [--model M] [--example ID]... [--dry-run] [--offline|--no-cache] [--yes] [--json]';
