import { join } from 'node:path';
import type { ControlDriver } from './driver';
import { ControlPlaneError, connectPostgres, describeUrl } from './driver';
import type { EmbeddedOptions } from './embedded';
import { EMBEDDED_DIR } from './embeddedLayout';
import { openEmbedded } from './embedded';

/**
 * Which database is the control plane (DESIGN.md section 8): `PROMPT_CI_DATABASE_URL`, else
 * `controlPlane.url` in `prompt-ci.yaml`, else the embedded PGlite store of the repository in
 * `.prompt-ci/control/`.
 */

/** The embedded store's folder, relative to the repository root. */
export { EMBEDDED_DIR };

/** Where the control plane is, and which rule chose it. */
export type ControlPlaneLocation =
  | { kind: 'postgres'; url: string; source: 'PROMPT_CI_DATABASE_URL' | 'prompt-ci.yaml controlPlane.url' | 'option' }
  | { kind: 'embedded'; dir: string; source: 'embedded' };

/** Applies the rules: the environment, then the repository's settings, then the embedded store under `repoRoot`. */
export function resolveControlPlane(input: {
  env?: Record<string, string | undefined>;
  /** `controlPlane.url` of `prompt-ci.yaml`. */
  settingsUrl?: string;
  repoRoot: string;
}): ControlPlaneLocation {
  const fromEnv = input.env?.PROMPT_CI_DATABASE_URL?.trim();
  if (fromEnv) return { kind: 'postgres', url: checkUrl(fromEnv, 'PROMPT_CI_DATABASE_URL'), source: 'PROMPT_CI_DATABASE_URL' };
  if (input.settingsUrl?.trim()) {
    return { kind: 'postgres', url: checkUrl(input.settingsUrl.trim(), 'prompt-ci.yaml controlPlane.url'), source: 'prompt-ci.yaml controlPlane.url' };
  }
  return { kind: 'embedded', dir: join(input.repoRoot, EMBEDDED_DIR), source: 'embedded' };
}

/** For messages: where the control plane is and why. */
export function describeLocation(location: ControlPlaneLocation): string {
  return location.kind === 'embedded' ? `the embedded store in ${location.dir}` : `${describeUrl(location.url)} (from ${location.source})`;
}

/**
 * Connects to the control plane at `location`.
 * @throws ControlPlaneError when it can't be reached (or the embedded store is held by a process that doesn't serve it).
 */
export async function openControlPlane(location: ControlPlaneLocation, options: EmbeddedOptions & { connectTimeoutMs?: number } = {}): Promise<ControlDriver> {
  if (location.kind === 'embedded') return openEmbedded(location.dir, options);
  return connectPostgres(location.url, options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {});
}

function checkUrl(url: string, source: string): string {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new ControlPlaneError(`${source} is not a Postgres connection string: it must start with postgres:// or postgresql://`, 'config');
  }
  try {
    new URL(url);
  } catch {
    throw new ControlPlaneError(`${source} is not a valid URL (${describeUrl(url)}); percent-encode special characters in the password`, 'config');
  }
  return url;
}
