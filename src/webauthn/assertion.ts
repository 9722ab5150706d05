import { createHash, KeyObject, timingSafeEqual } from 'node:crypto';
import { MfaError } from '../errors.ts';
import { MAX_CREDENTIAL_ID_BYTES, parseAuthenticatorData } from './authenticator-data.ts';
import { decodeBase64Url, isBase64Url } from './base64url.ts';
import { checkCeremonyExpectations, expectedChallenges, isRecord, type CeremonyExpectations } from './ceremony.ts';
import { checkClientData, MAX_CLIENT_DATA_BYTES, type ClientDataFailure } from './client-data.ts';
import {
  COSE_ALGORITHMS,
  importStoredCoseKey,
  verifyCoseSignature,
  type CoseAlgorithm,
  type CosePublicKey,
} from './cose.ts';

/** The credential an assertion must come from, as stored at registration. */
export interface StoredCredential {
  /** base64url credential id. */
  id: string;
  /** The stored key (`publicKey` of a registration), or a key already imported. */
  publicKey: string | CosePublicKey;
  /** The last counter accepted, 0..2^32-1. */
  signCount: number;
}

/**
 * Input of {@link verifyAssertion}: what the server expects, the client's
 * response, and the stored credential.
 *
 * @inline
 */
export interface VerifyAssertionInput extends CeremonyExpectations {
  /** The client's AuthenticationResponseJSON, untrusted and unchecked: any value is accepted here. */
  response: unknown;
  /** The credential the response must come from, as stored at registration. */
  credential: StoredCredential;
}

/**
 * Why an assertion was refused as `'invalid'`. The client-data reasons are
 * `malformed_client_data`, `wrong_type` (a registration replayed as a
 * login), `challenge_mismatch`, `origin_mismatch` (a phishing site relaying
 * the ceremony) and `cross_origin` (run inside a cross-origin frame).
 */
export type AssertionFailure =
  /**
   * Not an AuthenticationResponseJSON: a missing or non-string field, not
   * strict base64url, over a size limit, `id` ≠ `rawId`, `type` ≠ `'public-key'`.
   */
  | 'malformed_response'
  /** Signed by another credential than the expected one. */
  | 'credential_mismatch'
  | ClientDataFailure
  /** Authenticator data cut short, with trailing bytes, or with BS set without BE. */
  | 'malformed_authenticator_data'
  /** Attested credential data (AT) in an assertion, which WebAuthn §6.3.3 never puts there. */
  | 'unexpected_attested_data'
  /** Scoped to another RP ID: a credential of another site. */
  | 'rp_id_mismatch'
  /** UP not set: nobody touched the authenticator. */
  | 'user_not_present'
  /** UV not set while user verification is required. */
  | 'user_not_verified'
  /** The signature does not verify with the stored key. */
  | 'bad_signature';

/**
 * Result of {@link verifyAssertion}. On `ok: true`, store `signCount` as the
 * credential's new counter; `userVerified`, `backedUp` and
 * `backupEligible` are the authenticator's UV, BS and BE flags. `ok: false`
 * with `reason: 'invalid'` says why in `detail` (for logs, not for the
 * user).
 */
export type AssertionResult =
  | { ok: true; signCount: number; userVerified: boolean; backedUp: boolean; backupEligible: boolean }
  | { ok: false; reason: 'invalid'; detail: AssertionFailure }
  /**
   * A validly signed assertion whose counter did not increase: the mark of a
   * cloned authenticator. Reported apart so the service can emit an event.
   */
  | { ok: false; reason: 'counter_regressed'; detail: 'counter_not_increased' };

/** An assertion has no attested data; extensions are small. */
const MAX_AUTHENTICATOR_DATA_BYTES = 1024;
/** An RSA-4096 signature is 512 bytes, ECDSA P-256 at most 72, Ed25519 64. */
const MAX_SIGNATURE_BYTES = 512;
/** WebAuthn §5.4.3: a user handle is at most 64 bytes. */
const MAX_USER_HANDLE_BYTES = 64;
const MAX_COUNTER = 0xffff_ffff;

/**
 * Verifies a WebAuthn assertion (WebAuthn §7.2) over node:crypto: shape and
 * sizes of every field, the credential id, the client data (type
 * `webauthn.get`, challenge, origin, not cross-origin), the RP ID hash, user
 * presence and, when required, verification, the signature over
 * authenticatorData ‖ SHA-256(clientDataJSON) with the stored key, then the
 * counter. The counter is judged only once the signature holds, so only the
 * real authenticator (or its clone) can trigger `counter_regressed`.
 *
 * Hostile responses never throw; they are `{ ok: false }`. Misuse of the
 * other arguments (an empty origin list, a stored key that does not import)
 * throws `MfaError` `invalid_argument`.
 *
 * @example
 * ```ts
 * import { verifyAssertion } from 'twofold/webauthn';
 *
 * const result = verifyAssertion({
 *   rpId: 'example.com',
 *   origins: ['https://example.com'],
 *   userVerification: 'preferred',
 *   expectedChallenge: challenge,  // the base64url challenge your server issued
 *   response: req.body.response,   // AuthenticationResponseJSON from the browser
 *   credential: { id: stored.credentialId, publicKey: stored.publicKey, signCount: stored.signCount },
 * });
 * if (result.ok) stored.signCount = result.signCount;
 * ```
 */
export function verifyAssertion(input: VerifyAssertionInput): AssertionResult {
  const { key, storedCount, rpIdHash } = checkArguments(input);

  const parts = readResponse(input.response);
  if (parts === null) return invalid('malformed_response');
  // Credential ids are public (the request options list them): a plain compare will do.
  if (parts.id !== input.credential.id) return invalid('credential_mismatch');

  const clientData = checkClientData(parts.clientDataJSON, {
    type: 'webauthn.get',
    challenges: expectedChallenges(input),
    origins: input.origins,
  });
  if (!clientData.ok) return invalid(clientData.reason);

  const parsed = parseAuthenticatorData(parts.authenticatorData);
  if (!parsed.ok) return invalid('malformed_authenticator_data');
  const { flags, signCount } = parsed.authenticatorData;
  if (flags.attestedCredentialData) return invalid('unexpected_attested_data');
  if (!timingSafeEqual(parsed.authenticatorData.rpIdHash, rpIdHash)) return invalid('rp_id_mismatch');
  if (!flags.userPresent) return invalid('user_not_present');
  if (input.userVerification === 'required' && !flags.userVerified) return invalid('user_not_verified');

  const clientDataHash = createHash('sha256').update(parts.clientDataJSON).digest();
  const signed = Buffer.concat([parts.authenticatorData, clientDataHash]);
  if (!verifyCoseSignature(key, signed, parts.signature)) return invalid('bad_signature');

  if ((signCount !== 0 || storedCount !== 0) && signCount <= storedCount) {
    return { ok: false, reason: 'counter_regressed', detail: 'counter_not_increased' };
  }
  return {
    ok: true,
    signCount,
    userVerified: flags.userVerified,
    backedUp: flags.backedUp,
    backupEligible: flags.backupEligible,
  };
}

/**
 * The credential id an AuthenticationResponseJSON names (strict base64url,
 * `id` equal to `rawId`), or null when it names none: lets the caller find
 * the stored credential to verify against. Unverified; never throws.
 *
 * @example
 * ```ts
 * import { assertionCredentialId } from 'twofold/webauthn';
 *
 * const credentialId = assertionCredentialId(req.body.response); // base64url, or null
 * if (credentialId === null) throw new Error('not an assertion');
 * ```
 */
export function assertionCredentialId(response: unknown): string | null {
  if (!isRecord(response)) return null;
  const { id, rawId } = response;
  return isBase64Url(id, MAX_CREDENTIAL_ID_BYTES) && id !== '' && rawId === id ? id : null;
}

function invalid(detail: AssertionFailure): AssertionResult {
  return { ok: false, reason: 'invalid', detail };
}

interface ResponseParts {
  id: string;
  clientDataJSON: Uint8Array;
  authenticatorData: Uint8Array;
  signature: Uint8Array;
}

/** The decoded fields of an AuthenticationResponseJSON, or null when any is missing, mistyped or oversized. */
function readResponse(response: unknown): ResponseParts | null {
  if (!isRecord(response)) return null;
  const id = assertionCredentialId(response);
  const { type, response: inner } = response;
  if (id === null || type !== 'public-key' || !isRecord(inner)) return null;
  const clientDataJSON = decodeBase64Url(inner.clientDataJSON, MAX_CLIENT_DATA_BYTES);
  const authenticatorData = decodeBase64Url(inner.authenticatorData, MAX_AUTHENTICATOR_DATA_BYTES);
  const signature = decodeBase64Url(inner.signature, MAX_SIGNATURE_BYTES);
  if (clientDataJSON === null || authenticatorData === null || signature === null) return null;
  // Not checked against anything (a second factor names its user already), but it must be well formed.
  const { userHandle } = inner;
  if (userHandle !== undefined && userHandle !== null && !isBase64Url(userHandle, MAX_USER_HANDLE_BYTES)) return null;
  return { id, clientDataJSON, authenticatorData, signature };
}

function checkArguments(input: VerifyAssertionInput): { key: CosePublicKey; storedCount: number; rpIdHash: Buffer } {
  checkCeremonyExpectations(input);
  const { credential } = input;
  if (!isRecord(credential) || !isBase64Url(credential.id, MAX_CREDENTIAL_ID_BYTES) || credential.id === '') {
    throw new MfaError('invalid_argument', 'credential.id must be a base64url credential id');
  }
  const storedCount = credential.signCount;
  if (!Number.isInteger(storedCount) || storedCount < 0 || storedCount > MAX_COUNTER) {
    throw new MfaError('invalid_argument', 'credential.signCount must be an integer 0..2^32-1');
  }
  const rpIdHash = createHash('sha256').update(input.rpId, 'utf8').digest();
  return { key: storedKey(credential.publicKey), storedCount, rpIdHash };
}

function storedKey(publicKey: unknown): CosePublicKey {
  if (typeof publicKey === 'string') {
    const imported = importStoredCoseKey(publicKey);
    if (imported.ok) return imported.key;
  } else if (
    isRecord(publicKey) &&
    COSE_ALGORITHMS.includes(publicKey.alg as CoseAlgorithm) &&
    publicKey.keyObject instanceof KeyObject
  ) {
    return publicKey as unknown as CosePublicKey;
  }
  throw new MfaError('invalid_argument', 'credential.publicKey is not a usable stored key');
}
