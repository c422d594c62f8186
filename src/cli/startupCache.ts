/**
 * The caches that only make the CLI start and check faster, never change what it says: the V8 code
 * cache of the command bundles (in the user's cache folder) and check's cache of parsed files (in
 * the repository's `.prompt-ci/index/`). `PROMPT_CI_NO_STARTUP_CACHE=1` turns both off: nothing is
 * read from them or written to them.
 */
export const NO_STARTUP_CACHE_ENV = 'PROMPT_CI_NO_STARTUP_CACHE';

/** True when the environment turns the start-up caches off (any value but empty or `0`). */
export function startupCacheDisabled(env: Record<string, string | undefined>): boolean {
  const value = env[NO_STARTUP_CACHE_ENV]?.trim();
  return value !== undefined && value !== '' && value !== '0';
}
