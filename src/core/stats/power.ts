import { normalUpperQuantile } from './normal';

/**
 * Connor's (1987) normal-approximation sample size for McNemar's test ("Sample size for testing
 * differences in proportions for the paired-sample design", Biometrics 43:207-211, eq. 3):
 *   n = (z_{1-α/2} sqrt(ψ) + z_{1-β} sqrt(ψ - δ²))² / δ²
 * for a two-sided level α, power 1 - β, discordant share ψ and a difference δ of the two
 * proportions. Not rounded (callers round up to whole examples).
 * @throws RangeError unless 0 < δ, δ² <= ψ <= 1, and α, power in (0, 1).
 */
export function connorSampleSize(discordantShare: number, delta: number, alpha: number, power = 0.8): number {
  check(discordantShare, alpha, power);
  if (!(delta > 0 && delta * delta <= discordantShare)) {
    throw new RangeError(`Connor's formula needs 0 < delta and delta² <= the discordant share, got delta ${delta} with ${discordantShare}`);
  }
  const za = normalUpperQuantile(alpha / 2);
  const zb = normalUpperQuantile(1 - power);
  return (za * Math.sqrt(discordantShare) + zb * Math.sqrt(discordantShare - delta * delta)) ** 2 / (delta * delta);
}

/**
 * The smallest difference δ that `n` paired examples detect with the given power: Connor's
 * equation solved for δ. With A = z_{1-α/2} sqrt(ψ) and B = z_{1-β}, δ sqrt(n) - A = B sqrt(ψ - δ²)
 * squares to (n + B²) δ² - 2A sqrt(n) δ + A² - B² ψ = 0, whose larger root is
 *   δ = (A sqrt(n) + B sqrt(ψ (n + B²) - A²)) / (n + B²).
 * Null when even δ = sqrt(ψ) (the largest the formula allows) needs more than n examples.
 */
export function detectableDifference(n: number, discordantShare: number, alpha: number, power = 0.8): number | null {
  check(discordantShare, alpha, power);
  if (!(n > 0) || discordantShare === 0) return null;
  const a = normalUpperQuantile(alpha / 2) * Math.sqrt(discordantShare);
  const b = normalUpperQuantile(1 - power);
  const inner = discordantShare * (n + b * b) - a * a;
  if (inner < 0) return null;
  const delta = (a * Math.sqrt(n) + b * Math.sqrt(inner)) / (n + b * b);
  return delta * delta > discordantShare * (1 + 1e-12) ? null : delta;
}

function check(discordantShare: number, alpha: number, power: number): void {
  if (!(discordantShare >= 0 && discordantShare <= 1)) throw new RangeError(`discordant share must be in [0, 1], got ${discordantShare}`);
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  if (!(power > 0 && power < 1)) throw new RangeError(`power must be in (0, 1), got ${power}`);
}
