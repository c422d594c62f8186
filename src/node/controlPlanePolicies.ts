import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { FileFinding } from '../core/finding';
import { controlPlaneFindings } from '../core/gate/controlPlanePolicies';
import type { VersionModel } from '../core/gate/controlPlanePolicies';
import { MAX_ALIAS_COUNT, metadataNodeRange } from '../core/metadata';
import { discoverPrompts } from '../core/promptLayout';
import type { RepoSettings } from '../core/repoSettings';
import { ControlPlaneError } from './controlPlane/controlPlaneError';
import { EMBEDDED_DIR, embeddedPaths } from './controlPlane/embeddedLayout';
import { listRepoFiles } from './repoFiles';

/** What the control-plane policies found, and whether they could be checked at all (said either way). */
export interface ControlPlaneCheck {
  checked: boolean;
  /** One line for people: what was checked against, or why nothing was. */
  status: string;
  findings: FileFinding[];
}

/** The working tree's version directories with their models (from metadata.yaml as it is on disk). */
function versionModels(repoRoot: string): Map<string, VersionModel> {
  const out = new Map<string, VersionModel>();
  for (const v of discoverPrompts(listRepoFiles(repoRoot, 'prompts')).versions) {
    const file = `${v.dir}/metadata.yaml`;
    let text = '';
    try {
      text = readFileSync(join(repoRoot, file), 'utf8');
    } catch {
      // no metadata.yaml: check reports it
    }
    let model: string | undefined;
    try {
      const raw = parseYaml(text, { maxAliasCount: MAX_ALIAS_COUNT }) as { model?: unknown } | null;
      model = typeof raw?.model === 'string' ? raw.model : undefined;
    } catch {
      model = undefined;
    }
    out.set(v.dir, { file, model, modelRange: metadataNodeRange(text, ['model'], 'value') });
  }
  return out;
}

/** What `check` says when there is no control plane to read. */
const NOT_CONFIGURED: ControlPlaneCheck = {
  checked: false,
  status:
    'control plane: not checked: none is configured (PROMPT_CI_DATABASE_URL, controlPlane.url in prompt-ci.yaml) and the repository has no embedded store in .prompt-ci/control, so deletions of serving versions and pins were not checked',
  findings: [],
};

/**
 * Checks the control-plane policies of the gate (see `controlPlaneFindings`) against the
 * repository's control plane, by the CLI's connection rules. When none is configured (no URL and no
 * embedded store yet) or it can't be reached, nothing is found and `status` says why: the absence
 * is stated, never silent. An embedded store is not created by looking for one.
 */
export async function checkControlPlanePolicies(input: {
  repoRoot: string;
  settings: RepoSettings;
  env: Record<string, string | undefined>;
  removed: readonly { dir: string; name: string; version: number }[];
  now?: number;
}): Promise<ControlPlaneCheck> {
  const configured = Boolean(input.env.PROMPT_CI_DATABASE_URL?.trim() || input.settings.controlPlane.url?.trim());
  if (!configured && !existsSync(embeddedPaths(join(input.repoRoot, EMBEDDED_DIR)).data)) return NOT_CONFIGURED;
  // The drivers (pg, PGlite) load only when there is a control plane to read, so `check` starts light.
  /* eslint-disable @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- typed, lazy requires */
  const { resolveControlPlane } = require('./controlPlane/connection') as typeof import('./controlPlane/connection');
  const { openControlSession } = require('./controlPlane/session') as typeof import('./controlPlane/session');
  /* eslint-enable @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports */
  let location;
  try {
    location = resolveControlPlane({ env: input.env, settingsUrl: input.settings.controlPlane.url, repoRoot: input.repoRoot });
  } catch (error) {
    if (!(error instanceof ControlPlaneError)) throw error;
    return { checked: false, status: `control plane: not checked: ${error.message}`, findings: [] };
  }
  if (location.kind === 'embedded' && !existsSync(embeddedPaths(location.dir).data)) return NOT_CONFIGURED;
  let session;
  try {
    session = await openControlSession({ repoRoot: input.repoRoot, env: input.env, settingsUrl: input.settings.controlPlane.url, connectTimeoutMs: 3000 });
  } catch (error) {
    if (!(error instanceof ControlPlaneError)) throw error;
    return { checked: false, status: `control plane: not checked: ${error.message}`, findings: [] };
  }
  try {
    const [rollouts, pins] = await Promise.all([session.store.readRollouts(), session.store.readPins()]);
    const findings = controlPlaneFindings({ rollouts, pins, removed: input.removed, versions: versionModels(input.repoRoot), now: input.now ?? Date.now() });
    return {
      checked: true,
      status: `control plane: checked against ${session.description} (${rollouts.length} prompt${rollouts.length === 1 ? '' : 's'} with a rollout, ${pins.length} pin${pins.length === 1 ? '' : 's'})`,
      findings,
    };
  } catch (error) {
    if (!(error instanceof ControlPlaneError)) throw error;
    return { checked: false, status: `control plane: not checked: ${error.message}`, findings: [] };
  } finally {
    await session.close().catch(() => undefined);
  }
}
