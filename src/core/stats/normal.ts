import erfc from '@stdlib/math-base-special-erfc';

/**
 * z with P(Z > z) = tail for a standard normal Z (scipy's `norm.isf`), for tail in (0, 1).
 * A rational first guess (Abramowitz & Stegun 26.2.23, error < 4.5e-4) refined by Halley
 * steps against the exact tail erfc(z / sqrt 2) / 2; convergence is cubic, so three steps
 * reach the precision of erfc itself.
 * @throws RangeError unless 0 < tail < 1.
 */
export function normalUpperQuantile(tail: number): number {
  if (!(tail > 0 && tail < 1)) {
    throw new RangeError(`normal quantile needs a tail in (0, 1), got ${tail}`);
  }
  if (tail > 0.5) {
    return -normalUpperQuantile(1 - tail);
  }
  const t = Math.sqrt(-2 * Math.log(tail));
  let z = t - (2.515517 + t * (0.802853 + t * 0.010328)) / (1 + t * (1.432788 + t * (0.189269 + t * 0.001308)));
  for (let step = 0; step < 4; step++) {
    const density = Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI);
    const r = (normalSf(z) - tail) / density;
    const next = z + r / (1 - (z * r) / 2);
    if (next === z) {
      break;
    }
    z = next;
  }
  return z;
}

/** P(Z > z) for a standard normal Z, without the cancellation of 1 - cdf in the upper tail. */
export function normalSf(z: number): number {
  return erfc(z / Math.SQRT2) / 2;
}
