import { MfaError } from '../errors.ts';
import { parseAuthenticatorData, MAX_CREDENTIAL_ID_BYTES } from './authenticator-data.ts';
import { decodeBase64Url, isBase64Url } from './base64url.ts';
import { checkCeremonyExpectations, expectedChallenges, isRecord, type CeremonyExpectations } from './ceremony.ts';
import { CborError, decodeCbor, MAX_CBOR_BYTES } from './cbor.ts';
import { checkClientData, MAX_CLIENT_DATA_BYTES, type ClientDataFailure } from './client-data.ts';
import { COSE_ALGORITHMS, importCoseKey, type CoseAlgorithm } from './cose.ts';
import { knownTransports, type AuthenticatorTransport } from './webauthn-json.ts';

/**
 * Input of {@link verifyRegistration}: what the server expects, and the
 * client's response.
 *
 * @inline
 */
export interface VerifyRegistrationInput extends CeremonyExpectations {
  /** The client's RegistrationResponseJSON, untrusted and unchecked: any value is accepted here. */
  response: unknown;
}

/**
 * Why a registration was refused; all are `reason: 'invalid_response'`. The
 * client-data reasons are `malformed_client_data`, `wrong_type`,
 * `challenge_mismatch`, `origin_mismatch` and `cross_origin`, as for
 * {@link AssertionFailure}.
 */
export type RegistrationFailure =
  /** Not a RegistrationResponseJSON: a missing or non-string field, not strict base64url, over a size limit. */
  | 'malformed_response'
  | ClientDataFailure
  /** Refused by @simplewebauthn/server (attestation, RP ID, flags, algorithm…). */
  | 'not_verified'
  /** Authenticator data or attestation object refused by twofold's stricter parser. */
  | 'malformed_authenticator_data'
  /** The response's id is not the credential id the authenticator attested. */
  | 'credential_mismatch'
  /** A key twofold cannot verify assertions with (algorithm, curve, RSA size). */
  | 'unsupported_key';

/**
 * Result of {@link verifyRegistration}: the credential to store, or why the
 * response was refused (`detail`, for logs).
 */
export type RegistrationResult =
  | {
      /** The response is a valid registration for the expected challenge and origin. */
      ok: true;
      /** base64url credential id. */
      credentialId: string;
      /** Stored form of the public key (base64url COSE_Key), for `verifyAssertion`. */
      publicKey: string;
      /** COSE algorithm of the key: -7 ES256, -8 EdDSA, -257 RS256. */
      alg: CoseAlgorithm;
      /** The authenticator's signature counter (0 for one without a counter). */
      signCount: number;
      /** How the browser says it can reach the authenticator again (unknown values dropped). */
      transports: AuthenticatorTransport[];
      /** Whether the authenticator verified the user (UV flag: PIN, biometrics). */
      userVerified: boolean;
      /** Whether the credential is currently synced, e.g. a passkey in a password manager (BS flag). */
      backedUp: boolean;
      /** Whether the credential may be synced (BE flag). */
      backupEligible: boolean;
      /** The authenticator model as a UUID string (all zeros under attestation `none`). */
      aaguid: string;
    }
  | { ok: false; reason: 'invalid_response'; detail: RegistrationFailure };

const MAX_TRANSPORTS = 16;
/** Attestation `none` objects are a few hundred bytes; this still fits a full certificate chain. */
const MAX_ATTESTATION_OBJECT_BYTES = MAX_CBOR_BYTES;

type SimpleWebAuthn = typeof import('@simplewebauthn/server');

/**
 * Verifies a registration response (WebAuthn §7.1) through
 * @simplewebauthn/server's `verifyRegistrationResponse`, loaded only on the
 * first call so hosts without WebAuthn never load the peer. twofold adds its
 * own checks around it: sizes and shapes first (before any parsing by the
 * library), no cross-origin frames (the library does not look), strict CBOR
 * and authenticator data, the response id equal to the attested credential
 * id, a credential id of at most 1023 bytes, and a key `verifyAssertion`
 * can use, so no credential is stored that could never log in.
 *
 * Hostile responses never throw; they are `{ ok: false }`.
 *
 * @throws {MfaError} `invalid_argument` on malformed expectations,
 * `invalid_option` when @simplewebauthn/server is not installed.
 *
 * @example
 * ```ts
 * import { verifyRegistration } from 'twofold/webauthn';
 *
 * const result = await verifyRegistration({
 *   rpId: 'example.com',
 *   origins: ['https://example.com'],
 *   userVerification: 'preferred',
 *   expectedChallenge: challenge,  // the base64url challenge of the creation options
 *   response: req.body.response,   // RegistrationResponseJSON from the browser
 * });
 * if (result.ok) {
 *   const { credentialId, publicKey, signCount, transports } = result; // store these for verifyAssertion
 * } else {
 *   console.warn('registration refused:', result.detail);
 * }
 * ```
 */
export async function verifyRegistration(input: VerifyRegistrationInput): Promise<RegistrationResult> {
  checkCeremonyExpectations(input);
  const challenges = expectedChallenges(input);
  const parts = readResponse(input.response);
  if (parts === null) return invalid('malformed_response');
  const clientData = checkClientData(parts.clientDataJSON, {
    type: 'webauthn.create',
    challenges,
    origins: input.origins,
  });
  if (!clientData.ok) return invalid(clientData.reason);

  const authData = readAuthenticatorData(parts.attestationObject);
  if (authData === null) return invalid('malformed_authenticator_data');
  const { flags, signCount, attestedCredential } = authData;
  if (attestedCredential === null) return invalid('malformed_authenticator_data');

  const library = await loadSimpleWebAuthn();
  let verified: boolean;
  try {
    const result = await library.verifyRegistrationResponse({
      response: input.response as Parameters<SimpleWebAuthn['verifyRegistrationResponse']>[0]['response'],
      expectedChallenge: (challenge: string) => challenges.includes(challenge),
      expectedOrigin: [...input.origins],
      expectedRPID: input.rpId,
      expectedType: 'webauthn.create',
      requireUserPresence: true,
      requireUserVerification: input.userVerification === 'required',
      supportedAlgorithmIDs: [...COSE_ALGORITHMS],
    });
    verified = result.verified;
  } catch {
    verified = false;
  }
  if (!verified) return invalid('not_verified');

  if (Buffer.from(attestedCredential.credentialId).toString('base64url') !== parts.id) {
    return invalid('credential_mismatch');
  }
  const key = importCoseKey(attestedCredential.publicKey);
  if (!key.ok) return invalid('unsupported_key');
  return {
    ok: true,
    credentialId: parts.id,
    publicKey: key.key.stored,
    alg: key.key.alg,
    signCount,
    transports: parts.transports,
    userVerified: flags.userVerified,
    backedUp: flags.backedUp,
    backupEligible: flags.backupEligible,
    aaguid: formatUuid(attestedCredential.aaguid),
  };
}

function invalid(detail: RegistrationFailure): RegistrationResult {
  return { ok: false, reason: 'invalid_response', detail };
}

let simpleWebAuthn: Promise<SimpleWebAuthn> | undefined;

function loadSimpleWebAuthn(): Promise<SimpleWebAuthn> {
  simpleWebAuthn ??= import('@simplewebauthn/server').catch((error: unknown) => {
    simpleWebAuthn = undefined;
    throw new MfaError('invalid_option', 'WebAuthn registration needs the @simplewebauthn/server package', {
      cause: error,
    });
  });
  return simpleWebAuthn;
}

interface ResponseParts {
  id: string;
  clientDataJSON: Uint8Array;
  attestationObject: Uint8Array;
  transports: AuthenticatorTransport[];
}

function readResponse(response: unknown): ResponseParts | null {
  if (!isRecord(response)) return null;
  const { id, rawId, type, response: inner } = response;
  if (!isBase64Url(id, MAX_CREDENTIAL_ID_BYTES) || id === '' || rawId !== id || type !== 'public-key') return null;
  if (!isRecord(inner)) return null;
  const clientDataJSON = decodeBase64Url(inner.clientDataJSON, MAX_CLIENT_DATA_BYTES);
  const attestationObject = decodeBase64Url(inner.attestationObject, MAX_ATTESTATION_OBJECT_BYTES);
  if (clientDataJSON === null || attestationObject === null) return null;
  const { transports } = inner;
  if (transports !== undefined) {
    if (!Array.isArray(transports) || transports.length > MAX_TRANSPORTS) return null;
    if (!transports.every((transport) => typeof transport === 'string' && transport.length <= 32)) return null;
  }
  return { id, clientDataJSON, attestationObject, transports: knownTransports(transports) };
}

/** The authenticator data inside an attestation object (a CBOR map with `fmt`, `attStmt`, `authData`). */
function readAuthenticatorData(attestationObject: Uint8Array) {
  let decoded: unknown;
  try {
    decoded = decodeCbor(attestationObject);
  } catch (error) {
    if (error instanceof CborError) return null;
    throw error;
  }
  if (!(decoded instanceof Map)) return null;
  const authData: unknown = decoded.get('authData');
  if (typeof decoded.get('fmt') !== 'string' || !(authData instanceof Uint8Array)) return null;
  const parsed = parseAuthenticatorData(authData);
  return parsed.ok ? parsed.authenticatorData : null;
}

function formatUuid(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
