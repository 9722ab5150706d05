/**
 * Strict base64url (RFC 4648 §5) as WebAuthn's JSON forms use it: the
 * URL-safe alphabet, no padding, canonical (no stray bits in the last
 * character). Rejecting every other spelling means one byte string has one
 * text form, so comparing ids and challenges as strings is sound.
 */

const ALPHABET = /^[A-Za-z0-9_-]*$/;

/** base64url of `bytes`, unpadded. */
export function encodeBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/**
 * Decodes strict base64url into at most `maxBytes` bytes, or `null` for
 * anything else (not a string, too long, padding, `+`/`/`, a length of
 * 4n+1, stray bits). The length is checked before any decoding, so a huge
 * string costs nothing.
 */
export function decodeBase64Url(text: unknown, maxBytes: number): Uint8Array | null {
  if (typeof text !== 'string' || text.length > Math.ceil((maxBytes * 4) / 3)) return null;
  if (text.length % 4 === 1 || !ALPHABET.test(text)) return null;
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.length > maxBytes || bytes.toString('base64url') !== text) return null;
  return Uint8Array.from(bytes);
}

/** True when `text` is strict base64url of at most `maxBytes` bytes. */
export function isBase64Url(text: unknown, maxBytes: number): text is string {
  return decodeBase64Url(text, maxBytes) !== null;
}
