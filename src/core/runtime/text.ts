/** True when `text` is well-formed UTF-16 (no lone surrogate), so its UTF-8 bytes are exactly its characters. */
export function isWellFormedText(text: string): boolean {
  // With the u flag a surrogate pair is one code point, so only a lone surrogate matches.
  return !/[\uD800-\uDFFF]/u.test(text);
}
