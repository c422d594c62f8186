/** The line that marks a hook as written by `prompt-ci install-hook`: only such hooks are replaced or removed. */
export const HOOK_MARKER = '# prompt-ci pre-push hook: written by `prompt-ci install-hook`';

/** The file a foreign pre-push hook can call to run the gate (same directory as the hook). */
export const CHAIN_SCRIPT_NAME = 'prompt-ci-pre-push';

/** True when `text` is a hook this tool wrote. */
export function isOwnHook(text: string): boolean {
  return text.split(/\r?\n/).some((line) => line.trim() === HOOK_MARKER);
}

/** `text` as one single-quoted word of POSIX sh. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** What the hook needs to know. */
export interface HookScriptOptions {
  /** The prompt repository root relative to the git top level (POSIX; '' when it is the top level). */
  promptRoot: string;
  /**
   * The CLI that installed the hook (an absolute path to its `cli.js`), tried after
   * `node_modules/.bin/prompt-ci` and `prompt-ci` on PATH; absent when unknown.
   */
  installedCli?: string;
}

/**
 * The pre-push hook: a POSIX sh script that runs `prompt-ci gate` in the prompt repository and
 * exits with its code, so a blocked gate stops the push. It finds the CLI at push time, in order:
 * `node_modules/.bin/prompt-ci` in the prompt repository or a folder above it up to the top level
 * (the project's own pinned version), `prompt-ci` on PATH, then the CLI that installed the hook.
 * It resolves the CLI itself rather than through `npx`, which costs a second or more on every push
 * and may offer to download a package. A push that only deletes remote refs is let through.
 */
export function preHookScript(options: HookScriptOptions): string {
  const fallback = options.installedCli
    ? [`elif [ -f ${shellQuote(options.installedCli)} ]; then`, `  set -- node ${shellQuote(options.installedCli)}`]
    : [];
  const looked = `node_modules/.bin, PATH${options.installedCli ? ` and ${options.installedCli}` : ''}`;
  return [
    '#!/bin/sh',
    HOOK_MARKER,
    '# It runs `prompt-ci gate` before each push and stops the push when a changed prompt regresses.',
    '# Skip it once with `git push --no-verify`; remove it with `prompt-ci install-hook --uninstall`.',
    '',
    '# Git passes one line per ref on stdin (when another hook calls this one after reading them,',
    '# there is nothing to read). A push that only deletes remote refs changes no prompt; the others',
    '# go to the gate, which measures a push to the base branch itself against the remote\'s commit.',
    'pushing=',
    'if [ ! -t 0 ]; then',
    '  saw=0',
    '  while read -r local_ref local_sha remote_ref remote_sha; do',
    '    saw=1',
    '    case "$local_sha" in',
    '      *[!0]*) pushing="$pushing --pushing $remote_ref=$remote_sha" ;;',
    '    esac',
    '  done',
    '  if [ "$saw" = 1 ] && [ -z "$pushing" ]; then exit 0; fi',
    'fi',
    '',
    'top=$(git rev-parse --show-toplevel) || exit 1',
    '# Git may hand hooks a relative GIT_DIR; make it absolute before changing directory.',
    'if [ -n "${GIT_DIR:-}" ]; then GIT_DIR=$(git rev-parse --absolute-git-dir) && export GIT_DIR; fi',
    'if [ -n "${GIT_WORK_TREE:-}" ]; then GIT_WORK_TREE=$top && export GIT_WORK_TREE; fi',
    `root=${options.promptRoot === '' ? '"$top"' : `"$top"/${shellQuote(options.promptRoot)}`}`,
    'cd "$root" || { echo "prompt-ci pre-push: $root is gone; run prompt-ci install-hook again from the prompt repository" >&2; exit 1; }',
    '',
    'cli=',
    'dir=$root',
    'while :; do',
    '  if [ -x "$dir/node_modules/.bin/prompt-ci" ]; then cli=$dir/node_modules/.bin/prompt-ci; break; fi',
    '  if [ "$dir" = "$top" ] || [ "$dir" = / ]; then break; fi',
    '  dir=$(dirname "$dir")',
    'done',
    'if [ -n "$cli" ]; then',
    '  set -- "$cli"',
    'elif command -v prompt-ci >/dev/null 2>&1; then',
    '  set -- prompt-ci',
    ...fallback,
    'else',
    `  echo ${shellQuote(`prompt-ci pre-push: cannot find the prompt-ci CLI (looked in ${looked}). Install it in the project (npm install --save-dev prompt-ci), or push with --no-verify to skip the gate once.`)} >&2`,
    '  exit 1',
    'fi',
    '',
    'echo "prompt-ci: gating the push (git push --no-verify skips this)" >&2',
    '# The report goes where git prints its own push errors. Ref names hold no spaces or glob',
    '# characters (git check-ref-format), so $pushing splits into exactly its words.',
    'set -f',
    '# shellcheck disable=SC2086',
    'exec "$@" gate $pushing >&2',
    '',
  ].join('\n');
}

/**
 * The script a foreign hook calls to chain the gate (written next to it as `prompt-ci-pre-push`):
 * the same as the hook, so it behaves the same whether git or another hook runs it.
 */
export function chainScript(options: HookScriptOptions): string {
  return preHookScript(options);
}

/** The line to add to a foreign pre-push hook so that it runs the gate too. */
export function chainLine(): string {
  return `"$(dirname "$0")/${CHAIN_SCRIPT_NAME}" "$@" || exit $?`;
}
