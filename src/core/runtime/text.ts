/** True when `text` is well-formed UTF-16 (no lone surrogate), so its UTF-8 bytes are exactly its characters. */
export function isWellFormedText(text: string): boolean {
  // The engine's own check where it has one: it knows a one-byte string holds no surrogate without
  // reading it, and it is on every request's tenant id, request id and sticky key.
  return nativeIsWellFormed !== undefined ? nativeIsWellFormed.call(text) : !LONE_SURROGATE.test(text);
}

// With the u flag a surrogate pair is one code point, so only a lone surrogate matches.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

const nativeIsWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;
