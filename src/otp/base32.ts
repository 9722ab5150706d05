/**
 * RFC 4648 base32 (the alphabet authenticator apps use for TOTP secrets).
 * Decoding sits on the verify hot path, so it is a single pass over a
 * lookup table rather than a generic codec.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const INVALID = -1;
const SKIP = -2;
const PAD = -3;

/** Character code → 5-bit value; lowercase accepted, spaces skipped, `=` is padding. */
const TABLE = new Int8Array(128).fill(INVALID);
for (let i = 0; i < ALPHABET.length; i++) {
  TABLE[ALPHABET.charCodeAt(i)] = i;
  TABLE[ALPHABET.toLowerCase().charCodeAt(i)] = i;
}
TABLE[0x20] = SKIP;
TABLE[0x3d] = PAD;

/** Encode bytes as uppercase base32 without `=` padding (the form otpauth URIs use). */
export function encodeBase32(bytes: Uint8Array): string {
  let out = '';
  let value = 0;
  let bits = 0;
  for (let i = 0; i < bytes.length; i++) {
    value = (value << 8) | bytes[i]!;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(value >>> bits) & 31];
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/**
 * Decode base32 into `out`, case-insensitively, ignoring spaces and
 * trailing `=` padding; returns the number of bytes written, or -1 for
 * anything else: a character outside the alphabet, data after padding, a
 * length no byte string encodes to, or non-zero unused trailing bits (so
 * every key has exactly one canonical encoding, as in @scure/base, which
 * otplib uses). `out` must hold `floor(text.length * 5 / 8)` bytes.
 */
export function decodeBase32Into(text: string, out: Uint8Array): number {
  let length = 0;
  let value = 0;
  let bits = 0;
  let padded = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const v = code < 128 ? TABLE[code]! : INVALID;
    if (v >= 0) {
      if (padded) return -1;
      value = (value << 5) | v;
      bits += 5;
      if (bits >= 8) {
        bits -= 8;
        out[length++] = value >>> bits;
        value &= (1 << bits) - 1;
      }
    } else if (v === PAD) {
      padded = true;
    } else if (v !== SKIP) {
      return -1;
    }
  }
  // 5+ leftover bits means 1, 3 or 6 characters in the last group: no byte string encodes to that.
  return bits >= 5 || value !== 0 ? -1 : length;
}

/** {@link decodeBase32Into} a new array; null where it returns -1. */
export function decodeBase32(text: string): Uint8Array | null {
  const out = new Uint8Array((text.length * 5) >>> 3);
  const length = decodeBase32Into(text, out);
  return length < 0 ? null : out.subarray(0, length);
}
