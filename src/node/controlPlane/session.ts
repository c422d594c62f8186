import type { GitRunner } from '../git';
import { runGit } from '../git';
import type { ControlPlaneLocation } from './connection';
import { describeLocation, openControlPlane, resolveControlPlane } from './connection';
import type { ControlDriver } from './driver';
import { ControlPlaneError } from './driver';
import { migrate, schemaVersion } from './migrate';
import { CONTROL_CHANNEL, SCHEMA_VERSION } from './migrations';
import { ControlStore } from './store';

/**
 * A connection to a repository's control plane for an operator's tool (the VS Code Rollouts view,
 * the gate's control-plane policies): the CLI's connection rules, a schema check, and a watch that
 * fires on every control change (LISTEN where the database offers it, else polling the control log).
 */

/** How often a watch polls the control log when it can't LISTEN (the embedded store), in ms. */
export const POLL_INTERVAL_MS = 2000;

/** An open control plane: where it is, its store, and how to close it. */
export interface ControlSession {
  location: ControlPlaneLocation;
  /** For people: "the embedded store in …", or the host and database (never a password). */
  description: string;
  store: ControlStore;
  driver: ControlDriver;
  close(): Promise<void>;
}

/**
 * Opens the control plane of `repoRoot` by the CLI's rules: `databaseUrl` (a URL the caller holds,
 * e.g. VS Code's secret storage), else `PROMPT_CI_DATABASE_URL`, else `prompt-ci.yaml`
 * `controlPlane.url`, else the embedded store. The embedded store is brought to the current schema
 * (it belongs to the repository); a server is only read when `prompt-ci db migrate` was run on it.
 * @throws ControlPlaneError when it can't be reached, or its schema isn't what this code speaks.
 */
export async function openControlSession(input: {
  repoRoot: string;
  env: Record<string, string | undefined>;
  settingsUrl?: string;
  databaseUrl?: string;
  log?: (line: string) => void;
  connectTimeoutMs?: number;
}): Promise<ControlSession> {
  const location: ControlPlaneLocation = input.databaseUrl?.trim()
    ? resolveControlPlane({ env: { PROMPT_CI_DATABASE_URL: input.databaseUrl.trim() }, repoRoot: input.repoRoot })
    : resolveControlPlane({ env: input.env, settingsUrl: input.settingsUrl, repoRoot: input.repoRoot });
  const driver = await openControlPlane(location, { log: input.log, connectTimeoutMs: input.connectTimeoutMs ?? 5000 });
  try {
    if (location.kind === 'embedded') await migrate(driver);
    else {
      const version = await schemaVersion(driver);
      if (version < SCHEMA_VERSION) {
        throw new ControlPlaneError(
          `the control plane at ${describeLocation(location)} has schema version ${version}, older than this prompt-ci's ${SCHEMA_VERSION}: run \`prompt-ci db migrate\` against it`,
          'schema',
        );
      }
    }
  } catch (error) {
    await driver.close().catch(() => undefined);
    throw error;
  }
  return { location, description: describeLocation(location), store: new ControlStore(driver), driver, close: () => driver.close() };
}

/**
 * Calls `onChange` after every control change: through `LISTEN prompt_ci_control` when the
 * database offers it, and by polling the control log's marker otherwise (and after the listening
 * connection is lost). Returns the function that stops watching.
 */
export async function watchControlPlane(
  session: ControlSession,
  onChange: () => void,
  options: { pollMs?: number; onError?: (error: Error) => void } = {},
): Promise<() => Promise<void>> {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let last = await session.store.marker().catch(() => -1);
  const poll = (): void => {
    timer = setTimeout(async () => {
      if (stopped) return;
      try {
        const marker = await session.store.marker();
        if (marker !== last) {
          last = marker;
          onChange();
        }
      } catch (error) {
        options.onError?.(error as Error);
      }
      if (!stopped) poll();
    }, options.pollMs ?? POLL_INTERVAL_MS);
  };
  const stopListening = await session.driver
    .listen(CONTROL_CHANNEL, onChange, (error) => {
      options.onError?.(error);
      if (!stopped && timer === undefined) poll();
    })
    .catch(() => undefined);
  if (!stopListening) poll();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await stopListening?.();
  };
}

/**
 * Who makes a control change, for the control log: `PROMPT_CI_ACTOR`, else git's `user.email` in
 * the repository, else the operating-system user.
 */
export async function resolveActor(repoRoot: string, env: Record<string, string | undefined>, git: GitRunner = runGit): Promise<string> {
  const fromEnv = env.PROMPT_CI_ACTOR?.trim();
  if (fromEnv) return fromEnv;
  const email = await git(['config', 'user.email'], { cwd: repoRoot })
    .then((out) => out.toString('utf8').trim())
    .catch(() => '');
  return email || env.USER || env.USERNAME || 'unknown';
}
