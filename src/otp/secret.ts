import { randomBytes } from 'node:crypto';
import { MfaError } from '../errors.ts';
import { decodeBase32Into, encodeBase32 } from './base32.ts';

/**
 * Fewest key bytes accepted from anyone else (80 bits). RFC 4226 asks for
 * 128, but many providers still issue 80-bit secrets, and refusing them
 * would make their accounts impossible to import; we never generate fewer
 * than {@link MIN_GENERATED_SECRET_BYTES}.
 */
export const MIN_SECRET_BYTES = 10;
/** Most key bytes accepted (1024 bits), far above any block size: a bound against absurd input, not a strength limit. */
export const MAX_SECRET_BYTES = 128;
/** Fewest bytes {@link generateSecret} produces: RFC 4226's 128-bit minimum. */
export const MIN_GENERATED_SECRET_BYTES = 16;
/** Longest base32 secret read: room for the largest key with spaces between groups and padding. */
const MAX_SECRET_CHARS = 4 * MAX_SECRET_BYTES;

/**
 * Where string secrets are decoded, so that the verify hot path allocates
 * no key: one buffer and one view per key length, reused by every call.
 * Safe because JavaScript runs one call at a time and every user of
 * {@link secretToKey} finishes with the key (and wipes it) before returning.
 */
const scratch = new Uint8Array((MAX_SECRET_CHARS * 5) >>> 3);
const scratchViews: Uint8Array[] = [];

/**
 * A new TOTP secret: `bytes` random bytes (default 20, i.e. 160 bits as
 * RFC 4226 recommends) from the platform CSPRNG, as uppercase base32
 * without padding, ready for an otpauth URI. Fewer than 16 bytes is
 * refused because it would fall below RFC 4226's 128-bit minimum.
 *
 * @throws {MfaError} `invalid_argument` unless `bytes` is an integer 16..128.
 *
 * @example
 * ```ts
 * import { generateSecret } from 'twofold';
 *
 * const secret = generateSecret();   // 32 base32 characters, e.g. 'AJS4WDCXFHYPI3FU6J5SZZJSWUPLYJAR'
 * const longer = generateSecret(32); // 256 bits
 * ```
 */
export function generateSecret(bytes = 20): string {
  if (!Number.isInteger(bytes) || bytes < MIN_GENERATED_SECRET_BYTES || bytes > MAX_SECRET_BYTES) {
    throw new MfaError(
      'invalid_argument',
      `generateSecret: bytes must be an integer from ${MIN_GENERATED_SECRET_BYTES} to ${MAX_SECRET_BYTES}`,
    );
  }
  return encodeBase32(randomBytes(bytes));
}

/**
 * The HMAC key behind a secret given as base32 (case-insensitive, spaces
 * and `=` padding tolerated) or as raw bytes. Throws
 * `MfaError('invalid_secret')` for anything that is not base32 or is
 * outside {@link MIN_SECRET_BYTES}..{@link MAX_SECRET_BYTES}; the message
 * never contains the secret.
 *
 * A byte secret is returned as is. A string secret is decoded into shared
 * scratch memory: the caller must finish with the key before it returns
 * (no await in between) and then wipe it with {@link wipeKey}.
 */
export function secretToKey(secret: string | Uint8Array): Uint8Array {
  let length: number;
  if (typeof secret === 'string') {
    length = secret.length <= MAX_SECRET_CHARS ? decodeBase32Into(secret, scratch) : -1;
    if (length < 0) {
      scratch.fill(0);
      throw new MfaError('invalid_secret', 'secret is not valid base32');
    }
  } else if (secret instanceof Uint8Array) {
    length = secret.length;
  } else {
    throw new MfaError('invalid_secret', 'secret must be a base32 string or a Uint8Array');
  }
  if (length < MIN_SECRET_BYTES || length > MAX_SECRET_BYTES) {
    scratch.fill(0);
    throw new MfaError('invalid_secret', `secret must be ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes, got ${length}`);
  }
  if (typeof secret !== 'string') return secret;
  return (scratchViews[length] ??= scratch.subarray(0, length));
}

/** Zero a key from {@link secretToKey} if it was decoded into scratch memory (never the caller's own bytes). */
export function wipeKey(key: Uint8Array, secret: string | Uint8Array): void {
  if (key !== secret) key.fill(0);
}
