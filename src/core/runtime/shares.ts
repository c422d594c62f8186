/**
 * Rollout share arithmetic in integer basis points (10,000 = all the traffic), so shares sum to
 * exactly 10,000 with no float drift (DESIGN.md sections 7 and 8).
 */

/** All the traffic, in basis points. */
export const FULL_SHARE = 10_000;

/** A share that can't be used: the message names the value and the rule it breaks. */
export class ShareError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShareError';
  }
}

/**
 * Reads a percentage as an operator types it (`10`, `12.5`, `0.01`, `100`, `10%`) into basis
 * points. Exact decimal reading: no float is involved.
 * @throws ShareError for text that isn't a number, a negative share, one above 100%, or more than two decimals.
 */
export function percentToBasisPoints(text: string): number {
  const trimmed = text.trim().replace(/%$/, '');
  const match = /^([+-]?)(\d+)(?:\.(\d*))?$/.exec(trimmed);
  if (!match) throw new ShareError(`share "${text}" is not a percentage: give a number from 0 to 100, e.g. --share 10 or --share 2.5`);
  const [, sign, whole, fraction = ''] = match;
  if (sign === '-' && /[1-9]/.test(whole + fraction)) throw new ShareError(`share ${text}% is negative: give a number from 0 to 100`);
  if (fraction.replace(/0+$/, '').length > 2) {
    throw new ShareError(`share ${text}% has more than two decimals: shares are kept in basis points (0.01%), e.g. --share 12.34`);
  }
  const points = Number(whole) * 100 + Number(fraction.padEnd(2, '0').slice(0, 2));
  if (points > FULL_SHARE) throw new ShareError(`share ${text}% is above 100%: give a number from 0 to 100`);
  return points;
}

/** Basis points as a percentage for people: `1000` → `10%`, `1234` → `12.34%`. */
export function formatBasisPoints(points: number): string {
  const whole = Math.trunc(points / 100);
  const rest = points % 100;
  return rest === 0 ? `${whole}%` : `${whole}.${String(rest).padStart(2, '0').replace(/0$/, '')}%`;
}

/**
 * Checks a complete set of shares: integers from 0 to 10,000 that sum to exactly 10,000.
 * @throws ShareError naming the offending version or the sum.
 */
export function validateShares(prompt: string, shares: ReadonlyMap<number, number>): void {
  if (shares.size === 0) throw new ShareError(`no shares given for ${prompt}`);
  let total = 0;
  for (const [version, points] of shares) {
    if (!Number.isInteger(version) || version < 1) throw new ShareError(`${prompt}: "${version}" is not a version number (1, 2, …)`);
    if (!Number.isInteger(points)) throw new ShareError(`${prompt} v${version}: share ${points} is not a whole number of basis points`);
    if (points < 0) throw new ShareError(`${prompt} v${version}: share ${points} basis points is negative`);
    if (points > FULL_SHARE) throw new ShareError(`${prompt} v${version}: share ${points} basis points is above 10000 (100%)`);
    total += points;
  }
  if (total !== FULL_SHARE) {
    throw new ShareError(`the shares of ${prompt} sum to ${total} basis points (${formatBasisPoints(total)}); they must sum to exactly 10000 (100%)`);
  }
}

/**
 * Splits `total` basis points over `weights` in proportion, with integer results that sum to
 * exactly `total` (largest remainder; ties go to the lower version). Weights are basis points too.
 */
export function apportion(total: number, weights: ReadonlyMap<number, number>): Map<number, number> {
  const entries = [...weights].filter(([, w]) => w > 0).sort((a, b) => a[0] - b[0]);
  const sum = entries.reduce((s, [, w]) => s + w, 0);
  const result = new Map<number, number>();
  if (sum === 0) return result;
  let given = 0;
  const remainders: { version: number; remainder: number }[] = [];
  for (const [version, weight] of entries) {
    const exact = total * weight;
    const floor = Math.floor(exact / sum);
    result.set(version, floor);
    given += floor;
    remainders.push({ version, remainder: exact - floor * sum });
  }
  remainders.sort((a, b) => b.remainder - a.remainder || a.version - b.version);
  for (let i = 0; given < total; i++, given++) {
    const v = remainders[i % remainders.length].version;
    result.set(v, (result.get(v) ?? 0) + 1);
  }
  return result;
}

/**
 * The version production serves when a rollout starts: the last one to have all the traffic, else
 * (none had it yet) the lowest version known, which the runtime serves with no rollout recorded
 * (DESIGN.md section 7, rule 4). Undefined when no version is known.
 */
export function productionVersion(rollout: { lastFullVersion: number | null } | undefined, knownVersions: readonly number[]): number | undefined {
  return rollout?.lastFullVersion ?? (knownVersions.length > 0 ? Math.min(...knownVersions) : undefined);
}

/**
 * The shares after `prompt-ci rollout NAME VERSION --share S`: VERSION gets S, and the rest stays
 * with the version or versions that had it, in proportion. `current` is the prompt's shares now
 * (empty when none was recorded); `defaultVersion` is the version that has the traffic when none
 * was recorded (DESIGN.md section 7, rule 4).
 * @throws ShareError when nothing else has traffic to give the rest to.
 */
export function sharesAfterRollout(
  prompt: string,
  current: ReadonlyMap<number, number>,
  version: number,
  points: number,
  defaultVersion: number | undefined,
): Map<number, number> {
  const others = new Map([...current].filter(([v, p]) => v !== version && p > 0));
  if (others.size === 0 && current.size === 0 && defaultVersion !== undefined && defaultVersion !== version) {
    others.set(defaultVersion, FULL_SHARE);
  }
  const rest = FULL_SHARE - points;
  if (rest > 0 && others.size === 0) {
    throw new ShareError(
      `v${version} has all the traffic of ${prompt} and no other version had any, so there is nowhere for the other ${formatBasisPoints(rest)} to go; roll out the version that should have it instead`,
    );
  }
  const next = apportion(rest, others);
  if (points > 0) next.set(version, points);
  // Versions that had a share and now have none stay listed at 0 so their soak history is kept.
  for (const v of current.keys()) if (!next.has(v)) next.set(v, 0);
  return new Map([...next].sort((a, b) => a[0] - b[0]));
}
