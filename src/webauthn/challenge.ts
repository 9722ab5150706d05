import { createHmac } from 'node:crypto';
import { MfaError } from '../errors.ts';

/** HMAC keys shorter than this would be the weakest link of the challenge. */
const MIN_KEY_BYTES = 32;
const LABEL = 'webauthn-challenge:';

/**
 * The WebAuthn challenge of a login or step-up: base64url of
 * HMAC-SHA256(key, 'webauthn-challenge:' + challengeId). Deriving it from
 * the signed twofold challenge's id keeps the server stateless and makes the
 * WebAuthn challenge die with it; the label keeps this MAC apart from any
 * other MAC made with the same key. Unpredictable without the key, so an
 * attacker cannot pre-compute an assertion for a future challenge.
 *
 * @throws {MfaError} `invalid_argument` when `key` has fewer than 32 bytes
 * or `challengeId` is not a non-empty string.
 *
 * @example
 * ```ts
 * import { randomBytes } from 'node:crypto';
 * import { deriveWebAuthnChallenge } from 'twofold/webauthn';
 *
 * const key = randomBytes(32); // in practice a stable secret shared by every server
 * const challenge = deriveWebAuthnChallenge(key, 'login-1f8c2a'); // 43 base64url characters
 * ```
 */
export function deriveWebAuthnChallenge(key: Uint8Array, challengeId: string): string {
  if (!(key instanceof Uint8Array) || key.length < MIN_KEY_BYTES) {
    throw new MfaError('invalid_argument', `key must be at least ${MIN_KEY_BYTES} bytes`);
  }
  if (typeof challengeId !== 'string' || challengeId.length === 0) {
    throw new MfaError('invalid_argument', 'challengeId must be a non-empty string');
  }
  return createHmac('sha256', key).update(LABEL + challengeId, 'utf8').digest('base64url');
}
