import type { FileFinding, Range } from '../finding';
import { START_OF_FILE } from '../finding';
import { modelInfo, modelLifecycle } from '../modelCatalog';
import { formatBasisPoints } from '../runtime/shares';
import type { PromptRollout, TenantPin } from '../runtime/snapshot';
import { PIN_EXPIRY_WARNING_DAYS, formatDuration, pinState } from '../runtime/rolloutStatus';

/**
 * The gate's policies that need the control plane (what production serves): a version directory
 * deleted while it still serves traffic or is pinned, pins of a version whose model is deprecated or
 * retired, and pins past or near their expiry.
 */

/** A deleted version directory still serves traffic, is pinned, or is what a rollback in force serves. */
export const CONTROL_SERVING_VERSION_DELETED = 'control/serving-version-deleted';
/** A pin's version runs on a deprecated or retired model. */
export const CONTROL_PIN_MODEL_DEPRECATED = 'control/pin-model-deprecated';
/** A pin past its expiry (the runtime ignores it) or within {@link PIN_EXPIRY_WARNING_DAYS} days of it. */
export const CONTROL_PIN_EXPIRING = 'control/pin-expiring';

/** A version directory of the working tree, as far as these policies need it. */
export interface VersionModel {
  /** Repo-relative POSIX path of its metadata.yaml. */
  file: string;
  model: string | undefined;
  /** Where `model:` sits in it, for the finding. */
  modelRange: Range;
}

const tenants = (pins: readonly TenantPin[]): string => {
  const names = pins.slice(0, 3).map((p) => JSON.stringify(p.tenantId)).join(', ');
  return pins.length > 3 ? `${names} and ${pins.length - 3} more` : names;
};

/**
 * The findings, at `now` (epoch ms): an error for each deleted version (`removed`, repo-relative
 * `prompts/<name>/v<N>` directories) that the control plane still routes to; a warning for each pin
 * of a version whose model the catalog marks deprecated or retired, and for each pin expired or
 * expiring soon. `versions` maps a version directory to its model.
 */
export function controlPlaneFindings(input: {
  rollouts: readonly PromptRollout[];
  pins: readonly TenantPin[];
  removed: readonly { dir: string; name: string; version: number }[];
  versions: ReadonlyMap<string, VersionModel>;
  now: number;
}): FileFinding[] {
  const findings: FileFinding[] = [];
  const today = new Date(input.now).toISOString().slice(0, 10);

  for (const gone of input.removed) {
    const rollout = input.rollouts.find((r) => r.prompt === gone.name);
    const share = rollout?.shares.find((s) => s.version === gone.version)?.basisPoints ?? 0;
    const pinned = input.pins.filter((p) => p.prompt === gone.name && p.version === gone.version && pinState(p, input.now) !== 'expired');
    const why: string[] = [];
    if (rollout?.rollback?.version === gone.version) why.push(`a rollback in force serves v${gone.version} of ${gone.name} to everyone`);
    else if (share > 0) why.push(`v${gone.version} serves ${formatBasisPoints(share)} of ${gone.name}`);
    if (pinned.length > 0) why.push(`${pinned.length} tenant${pinned.length === 1 ? ' is' : 's are'} pinned to it (${tenants(pinned)})`);
    if (why.length === 0) continue;
    findings.push({
      file: `${gone.dir}/metadata.yaml`,
      code: CONTROL_SERVING_VERSION_DELETED,
      severity: 'error',
      range: START_OF_FILE,
      message: `${why.join(', and ')}; deleting it breaks production. Move its traffic first (prompt-ci rollout, prompt-ci unpin), then delete it`,
    });
  }

  for (const pin of [...input.pins].sort((a, b) => a.prompt.localeCompare(b.prompt) || a.tenantId.localeCompare(b.tenantId))) {
    const dir = `prompts/${pin.prompt}/v${pin.version}`;
    const version = input.versions.get(dir);
    const file = version?.file ?? `${dir}/metadata.yaml`;
    const state = pinState(pin, input.now);
    const who = `the pin of tenant ${JSON.stringify(pin.tenantId)} to ${pin.prompt} v${pin.version}`;
    if (state !== 'expired' && version?.model) {
      const lifecycle = modelLifecycle(version.model, today);
      if (lifecycle === 'deprecated' || lifecycle === 'retired') {
        const info = modelInfo(version.model);
        const when = lifecycle === 'retired' ? `was retired on ${info?.retires}` : `is deprecated${info?.retires ? ` and retires on ${info.retires}` : ''}`;
        findings.push({
          file,
          code: CONTROL_PIN_MODEL_DEPRECATED,
          severity: 'warning',
          range: version.modelRange,
          message: `${who}: its model ${version.model} ${when}${lifecycle === 'retired' ? ', so its requests fail' : ''}; move the tenant to a version on ${info?.replacement ?? 'a current model'}`,
        });
      }
    }
    if (state !== 'active' && pin.expiresAt !== null) {
      const at = new Date(pin.expiresAt).toISOString();
      findings.push({
        file,
        code: CONTROL_PIN_EXPIRING,
        severity: 'warning',
        range: START_OF_FILE,
        message:
          state === 'expired'
            ? `${who} expired ${formatDuration(input.now - pin.expiresAt)} ago (${at}): the runtime ignores it, so the tenant gets the rollout; unpin it or pin again with a new --expires`
            : `${who} expires in ${formatDuration(pin.expiresAt - input.now)} (${at}), within ${PIN_EXPIRY_WARNING_DAYS} days: then the tenant gets the rollout`,
      });
    }
  }
  return findings;
}
