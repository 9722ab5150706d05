import type { HmacKey } from '../seal.ts';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
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

function mac(key: HmacKey, payload: string): Buffer {
  return createHmac('sha256', key).update(payload).digest();
}

export function signChallenge(key: HmacKey, claims: Omit<ChallengeClaims, 'id'>, purpose: ChallengePurpose = 'login'): { challenge: string; id: string } {
  const id = randomBytes(16).toString('base64url');
  const payload = `${PREFIX[purpose]}.${Buffer.from(claims.userId, 'utf8').toString('base64url')}.${claims.expiresAt}.${claims.epoch}.${id}`;
  return { challenge: `${payload}.${mac(key, payload).toString('base64url')}`, id };
}

const INTEGER = /^(0|[1-9][0-9]{0,15})$/;
const B64URL = /^[A-Za-z0-9_-]*$/;

/**
 * The claims of a challenge whose signature verifies under one of `keys`,
 * or null for anything else (wrong type, malformed, forged, foreign key).
 * Expiry is the caller's to check.
 */
export function openChallenge(keys: readonly HmacKey[], challenge: unknown, purpose: ChallengePurpose = 'login'): ChallengeClaims | null {
  if (typeof challenge !== 'string' || challenge.length > MAX_CHALLENGE_LENGTH) return null;
  const parts = challenge.split('.');
  if (parts.length !== 6) return null;
  const [prefix, user, expiresAt, epoch, id, signature] = parts as [string, string, string, string, string, string];
  if (prefix !== PREFIX[purpose] || !INTEGER.test(expiresAt) || !INTEGER.test(epoch)) return null;
  if (!B64URL.test(user) || !B64URL.test(id) || !B64URL.test(signature) || id.length !== 22 || signature.length !== 43) return null;
  const given = Buffer.from(signature, 'base64url');
  // Canonical spelling only: 43 characters carry 258 bits and the decoder ignores the 2 spare ones.
  if (given.toString('base64url') !== signature) return null;
  const payload = challenge.slice(0, challenge.length - signature.length - 1);
  let valid = false;
  for (const key of keys) {
    // Constant-time compare; every key is tried so timing does not tell which matched.
    if (timingSafeEqual(mac(key, payload), given)) valid = true;
  }
  if (!valid) return null;
  const userBytes = Buffer.from(user, 'base64url');
  const userId = userBytes.toString('utf8');
  return { userId, expiresAt: Number(expiresAt), epoch: Number(epoch), id };
}
