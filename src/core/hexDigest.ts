import * as crypto from 'node:crypto';

/**
 * `crypto.hash` (Node 20.12 and later): one call, with no Hash object per digest. Older Node 20
 * releases take `createHash`, which gives the same digests, so what one writes the other reads.
 */
const oneShot = (crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: 'hex') => string }).hash;

/**
 * The hex digest of `data` (a string is hashed as its UTF-8 bytes). Hex rather than a Buffer: on a
 * hot path a Buffer per digest is an off-heap allocation that the collector must free too, and it
 * cost more than the hash (the runtime's rollout bucket, the index cache's content hashes).
 */
export function hexDigest(algorithm: 'sha1' | 'sha256', data: string | Uint8Array): string {
  return oneShot !== undefined ? oneShot(algorithm, data, 'hex') : crypto.createHash(algorithm).update(data).digest('hex');
}
