/**
 * Step-up grants ("sudo mode"): what `verifyStepUp` hands the host after a
 * fresh second factor, accepted as `{ stepUp: grant }` by the sensitive
 * calls for `stepUpTtlMs`. Signed (HMAC-SHA256 under the ring's step-up
 * subkey) and bound to the user and to the record's factor epoch, so a
 * grant dies when a factor is added or removed, MFA is disabled or reset,
 * or the account locks. Not single use: a few minutes of changes.
 *
 * Layout: `g1.<userId b64url>.<expiresAt>.<factorEpoch>.<mac b64url>`.
 */
import type { HmacKey } from '../seal.ts';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { MAX_USER_ID_BYTES } from './context.ts';

export interface GrantClaims {
  userId: string;
  expiresAt: number;
  factorEpoch: number;
}

const PREFIX = 'g1';
/**
 * Longer strings are refused before any parsing or hashing. The longest
 * grant the service issues: the largest legal user id in base64url (65,536
 * characters) and the other fields (at most 81).
 */
const MAX_GRANT_LENGTH = Math.ceil((MAX_USER_ID_BYTES * 4) / 3) + 128;
const INTEGER = /^(0|[1-9][0-9]{0,15})$/;
const B64URL = /^[A-Za-z0-9_-]+$/;

function mac(key: HmacKey, payload: string): Buffer {
  return createHmac('sha256', key).update(payload).digest();
}

export function signGrant(key: HmacKey, claims: GrantClaims): string {
  const payload = `${PREFIX}.${Buffer.from(claims.userId, 'utf8').toString('base64url')}.${claims.expiresAt}.${claims.factorEpoch}`;
  return `${payload}.${mac(key, payload).toString('base64url')}`;
}

/** The claims of a grant signed under one of `keys`, or null for anything else. Expiry and epoch are the caller's to check. */
export function openGrant(keys: readonly HmacKey[], grant: unknown): GrantClaims | null {
  if (typeof grant !== 'string' || grant.length > MAX_GRANT_LENGTH) return null;
  const parts = grant.split('.');
  if (parts.length !== 5) return null;
  const [prefix, user, expiresAt, epoch, signature] = parts as [string, string, string, string, string];
  if (prefix !== PREFIX || !INTEGER.test(expiresAt) || !INTEGER.test(epoch)) return null;
  if (!B64URL.test(user) || !B64URL.test(signature) || signature.length !== 43) return null;
  const given = Buffer.from(signature, 'base64url');
  if (given.toString('base64url') !== signature) return null;
  const payload = grant.slice(0, grant.length - signature.length - 1);
  let valid = false;
  // Constant-time compare; every key is tried so timing does not tell which matched.
  for (const key of keys) if (timingSafeEqual(mac(key, payload), given)) valid = true;
  if (!valid) return null;
  return { userId: Buffer.from(user, 'base64url').toString('utf8'), expiresAt: Number(expiresAt), factorEpoch: Number(epoch) };
}

/**
 * The step-up rule: a grant is accepted only when it verifies, names this
 * user, was issued under the record's current factor epoch (no factor added
 * or removed, no disable, reset or lock since) and is within its lifetime.
 * Null when accepted, else why not. Refusals are not failures: a grant is
 * signed, so it cannot be guessed.
 */
export function checkGrant(
  keys: readonly HmacKey[],
  grant: unknown,
  userId: string,
  factorEpoch: number,
  now: number,
): 'step_up_invalid' | 'step_up_expired' | null {
  const claims = openGrant(keys, grant);
  if (claims === null || claims.userId !== userId || claims.factorEpoch !== factorEpoch) return 'step_up_invalid';
  if (claims.expiresAt <= now) return 'step_up_expired';
  return null;
}
