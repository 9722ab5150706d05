import { hmacSha256Into, type HmacKey } from '../seal.ts';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { MAX_USER_ID_BYTES } from './context.ts';

/**
 * Second-factor challenges: what `startLogin` (or `startStepUp`) hands the
 * host and `verifyLogin` (or `verifyStepUp`) takes back. Stateless and
 * signed (HMAC-SHA256 under the key ring's challenge subkey), so they cannot
 * be forged or moved to another user or from one purpose to the other;
 * single use comes from the user record (spent ids, epoch).
 *
 * Layout: `<c1 | s1>.<userId b64url>.<expiresAt>.<epoch>.<id>.<mac b64url>`
 * (`c1` a login, `s1` a step-up).
 */

/** What a challenge is for: a login can never be answered as a step-up, nor the reverse. */
export type ChallengePurpose = 'login' | 'step_up';

export interface ChallengeClaims {
  userId: string;
  expiresAt: number;
  /** The record's `challengeEpoch` at issue; a changed epoch kills the challenge. */
  epoch: number;
  /** Random id, recorded as spent after a success. */
  id: string;
}

/**
 * Longer strings are refused before any parsing or hashing. The longest
 * challenge the service issues: the largest legal user id in base64url
 * (65,536 characters) and the other fields (at most 104), so every user who
 * may log in can.
 */
const MAX_CHALLENGE_LENGTH = Math.ceil((MAX_USER_ID_BYTES * 4) / 3) + 128;
const PREFIX: Record<ChallengePurpose, string> = { login: 'c1', step_up: 's1' };

export function signChallenge(key: HmacKey, claims: Omit<ChallengeClaims, 'id'>, purpose: ChallengePurpose = 'login'): { challenge: string; id: string } {
  const id = randomBytes(16).toString('base64url');
  const payload = `${PREFIX[purpose]}.${Buffer.from(claims.userId, 'utf8').toString('base64url')}.${claims.expiresAt}.${claims.epoch}.${id}`;
  // The same MAC openChallenge checks: over the payload's bytes (ASCII, so latin1 is its UTF-8).
  const signature = Buffer.alloc(SIGNATURE_BYTES);
  hmacSha256Into(key, Buffer.from(payload, 'latin1'), signature);
  return { challenge: `${payload}.${signature.toString('base64url')}`, id };
}

/** Characters of the random id and of the signature: 16 and 32 bytes in unpadded base64url. */
const ID_LENGTH = 22;
const SIGNATURE_LENGTH = 43;
const SIGNATURE_BYTES = 32;
const DOT = 0x2e;

/** The 6-bit value of each base64url character (indexed by UTF-16 code unit below 128), -1 for any other. */
const B64URL_VALUE = /* @__PURE__ */ (() => {
  const values = new Int8Array(128).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (let value = 0; value < alphabet.length; value++) values[alphabet.charCodeAt(value)] = value;
  return values;
})();

function b64urlValue(code: number): number {
  return code < 128 ? B64URL_VALUE[code]! : -1;
}

/** `text[from, to)` is base64url characters only (possibly none). */
function isB64url(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    if (b64urlValue(text.charCodeAt(i)) < 0) return false;
  }
  return true;
}

/** `text[from, to)` is a decimal integer of 1 to 16 digits without a leading zero (`0` itself allowed). */
function isInteger(text: string, from: number, to: number): boolean {
  const length = to - from;
  if (length < 1 || length > 16) return false;
  const first = text.charCodeAt(from);
  if (first === 0x30) return length === 1;
  if (first < 0x31 || first > 0x39) return false;
  for (let i = from + 1; i < to; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x30 || code > 0x39) return false;
  }
  return true;
}

/**
 * Decodes the base64url characters `text[from, to)` into `out` (which has
 * room for them), as `Buffer.from(…, 'base64url')` does: the spare bits of
 * a last partial group are dropped, a lone last character gives nothing.
 * The number of bytes written, or -1 if a character is not base64url.
 */
function decodeB64urlInto(text: string, from: number, to: number, out: Uint8Array): number {
  let o = 0;
  let i = from;
  for (; i + 4 <= to; i += 4) {
    // A character that is not base64url has value -1, which makes the whole group negative.
    const group =
      (b64urlValue(text.charCodeAt(i)) << 18) |
      (b64urlValue(text.charCodeAt(i + 1)) << 12) |
      (b64urlValue(text.charCodeAt(i + 2)) << 6) |
      b64urlValue(text.charCodeAt(i + 3));
    if (group < 0) return -1;
    out[o++] = group >>> 16;
    out[o++] = (group >>> 8) & 0xff;
    out[o++] = group & 0xff;
  }
  const left = to - i;
  if (left >= 2) {
    const group = (b64urlValue(text.charCodeAt(i)) << 18) | (b64urlValue(text.charCodeAt(i + 1)) << 12) | (left === 3 ? b64urlValue(text.charCodeAt(i + 2)) << 6 : 0);
    if (group < 0) return -1;
    out[o++] = group >>> 16;
    if (left === 3) out[o++] = (group >>> 8) & 0xff;
  } else if (left === 1 && b64urlValue(text.charCodeAt(i)) < 0) {
    return -1;
  }
  return o;
}

/**
 * Decodes the 43 characters at `text[from]` into `out` (32 bytes), or
 * returns false unless they are the canonical base64url of 32 bytes: 43
 * characters carry 258 bits, and the 2 spare bits of the last one must be
 * zero (it is one of `AEIMQUYcgkosw048`), so one MAC has one spelling.
 */
function decodeSignature(text: string, from: number, out: Uint8Array): boolean {
  return decodeB64urlInto(text, from, from + SIGNATURE_LENGTH, out) === SIGNATURE_BYTES && (b64urlValue(text.charCodeAt(from + SIGNATURE_LENGTH - 1)) & 0b11) === 0;
}

/** Scratch space of `decodeUserId` for the usual short id (public data). */
const userIdScratch = Buffer.alloc(192);

/**
 * The user id that `text[from, to)` encodes (base64url characters only,
 * checked, under a MAC that verified, so the UTF-8 of a well-formed id).
 * The usual short id is decoded through a scratch buffer; a long one
 * through `Buffer.from`.
 */
function decodeUserId(text: string, from: number, to: number): string {
  if (Math.floor(((to - from) * 3) / 4) > userIdScratch.length) return Buffer.from(text.slice(from, to), 'base64url').toString('utf8');
  return userIdScratch.toString('utf8', 0, decodeB64urlInto(text, from, to, userIdScratch));
}

/**
 * Scratch space of `openChallenge`, which is synchronous and never
 * re-entered: the given and the expected MAC (wiped after each use), and the
 * payload's bytes for the usual short challenge (public data).
 */
const givenMac = new Uint8Array(SIGNATURE_BYTES);
const expectedMac = new Uint8Array(SIGNATURE_BYTES);
const PAYLOAD_SCRATCH_BYTES = 256;
const payloadScratch = Buffer.alloc(PAYLOAD_SCRATCH_BYTES);

/**
 * The claims of a challenge whose signature verifies under one of `keys`,
 * or null for anything else (wrong type, malformed, forged, foreign key).
 * Expiry is the caller's to check.
 *
 * One pass over the text checks the layout (six dot-separated fields:
 * the purpose's prefix, base64url user id, two integers, a 22-character
 * id, a canonical 43-character signature), all before any key is used; the
 * user id is decoded only once the MAC matches.
 */
export function openChallenge(keys: readonly HmacKey[], challenge: unknown, purpose: ChallengePurpose = 'login'): ChallengeClaims | null {
  if (typeof challenge !== 'string' || challenge.length > MAX_CHALLENGE_LENGTH) return null;
  // Own keys only: any other purpose opens nothing.
  const prefix = purpose === 'login' ? PREFIX.login : purpose === 'step_up' ? PREFIX.step_up : null;
  if (prefix === null || !challenge.startsWith(prefix) || challenge.charCodeAt(prefix.length) !== DOT) return null;
  const userStart = prefix.length + 1;
  const userEnd = challenge.indexOf('.', userStart);
  if (userEnd < 0) return null;
  const expiresEnd = challenge.indexOf('.', userEnd + 1);
  if (expiresEnd < 0 || !isInteger(challenge, userEnd + 1, expiresEnd)) return null;
  const epochEnd = challenge.indexOf('.', expiresEnd + 1);
  if (epochEnd < 0 || !isInteger(challenge, expiresEnd + 1, epochEnd)) return null;
  // The id and the signature have fixed lengths, so the last dot has one place; neither may hold a dot (base64url).
  const idEnd = epochEnd + 1 + ID_LENGTH;
  if (challenge.length !== idEnd + 1 + SIGNATURE_LENGTH || challenge.charCodeAt(idEnd) !== DOT) return null;
  if (!isB64url(challenge, epochEnd + 1, idEnd) || !isB64url(challenge, userStart, userEnd)) return null;
  // Every character of the payload is checked above: ASCII, so its UTF-8 is one byte a character.
  const payload = idEnd <= PAYLOAD_SCRATCH_BYTES ? payloadScratch.subarray(0, idEnd) : Buffer.alloc(idEnd);
  try {
    if (!decodeSignature(challenge, idEnd + 1, givenMac)) return null;
    // A loop of char codes: for a payload this short it is faster than a call into Buffer.write.
    for (let i = 0; i < idEnd; i++) payload[i] = challenge.charCodeAt(i);
    let valid = false;
    for (const key of keys) {
      hmacSha256Into(key, payload, expectedMac);
      // Constant-time compare; every key is tried so timing does not tell which matched.
      if (timingSafeEqual(expectedMac, givenMac)) valid = true;
    }
    if (!valid) return null;
  } finally {
    givenMac.fill(0);
    expectedMac.fill(0);
  }
  const userId = decodeUserId(challenge, userStart, userEnd);
  return {
    userId,
    expiresAt: Number(challenge.slice(userEnd + 1, expiresEnd)),
    epoch: Number(challenge.slice(expiresEnd + 1, epochEnd)),
    // A string of its own, not a slice of the challenge: the record keeps it
    // (no challenge text kept with it), and it is compared with every spent id.
    id: payload.toString('latin1', epochEnd + 1, idEnd),
  };
}
