import { MfaError } from '../errors.ts';
import { decodeBase64Url, encodeBase64Url, isBase64Url } from './base64url.ts';
import { COSE_ALGORITHMS } from './cose.ts';
import {
  knownTransports,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialDescriptorJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type UserVerificationRequirement,
} from './webauthn-json.ts';

/** A credential the browser should exclude (registration) or may use (login). */
export interface CredentialDescriptorInput {
  /** base64url credential id. */
  id: string;
  /** As reported at registration; unknown values are dropped. */
  transports?: readonly string[];
}

export interface CreationOptionsInput {
  rpId: string;
  /** Shown by the browser and authenticator, e.g. 'Example App'. */
  rpName: string;
  /**
   * The WebAuthn user handle, 1..64 bytes (or their base64url): random and
   * stable per user, never the user id or an e-mail address, because
   * authenticators keep it and may disclose it (WebAuthn §14.6.1).
   */
  userHandle: Uint8Array | string;
  userName: string;
  /** Default `userName`. */
  displayName?: string;
  /** base64url challenge of this registration. */
  challenge: string;
  timeoutMs: number;
  /** The user's existing credentials, so one authenticator is not registered twice. */
  excludeCredentials: readonly CredentialDescriptorInput[];
  userVerification: UserVerificationRequirement;
}

export interface RequestOptionsInput {
  rpId: string;
  /** base64url challenge of this login or step-up (see `deriveWebAuthnChallenge`). */
  challenge: string;
  timeoutMs: number;
  /** The user's credentials: a second factor always names them, so no discoverable-credential lookup is needed. */
  allowCredentials: readonly CredentialDescriptorInput[];
  userVerification: UserVerificationRequirement;
}

const MAX_USER_HANDLE_BYTES = 64;
const MAX_CHALLENGE_BYTES = 64;
const MIN_CHALLENGE_BYTES = 16;
const MAX_CREDENTIAL_ID_BYTES = 1023;
const USER_VERIFICATION: readonly UserVerificationRequirement[] = ['required', 'preferred', 'discouraged'];

/**
 * PublicKeyCredentialCreationOptionsJSON for `navigator.credentials.create()`:
 * the three supported algorithms (EdDSA, ES256, RS256), attestation `none`
 * (twofold trusts no vendor list, and none keeps the authenticator model
 * private), resident key `preferred` so passkeys work.
 *
 * @throws {MfaError} `invalid_argument` on a malformed argument.
 */
export function buildCreationOptions(input: CreationOptionsInput): PublicKeyCredentialCreationOptionsJSON {
  const { rpId, rpName, userHandle, userName, displayName = userName } = input;
  requireText(rpId, 'rpId');
  requireText(rpName, 'rpName');
  requireText(userName, 'userName');
  if (typeof displayName !== 'string') throw new MfaError('invalid_argument', 'displayName must be a string');
  const handle = typeof userHandle === 'string' ? decodeBase64Url(userHandle, MAX_USER_HANDLE_BYTES) : userHandle;
  if (!(handle instanceof Uint8Array) || handle.length === 0 || handle.length > MAX_USER_HANDLE_BYTES) {
    throw new MfaError('invalid_argument', `userHandle must be 1..${MAX_USER_HANDLE_BYTES} bytes or their base64url`);
  }
  return {
    rp: { id: rpId, name: rpName },
    user: { id: encodeBase64Url(handle), name: userName, displayName },
    challenge: checkChallenge(input.challenge),
    pubKeyCredParams: COSE_ALGORITHMS.map((alg) => ({ type: 'public-key', alg })),
    timeout: checkTimeout(input.timeoutMs),
    excludeCredentials: descriptors(input.excludeCredentials, 'excludeCredentials'),
    authenticatorSelection: {
      residentKey: 'preferred',
      requireResidentKey: false,
      userVerification: checkUserVerification(input.userVerification),
    },
    attestation: 'none',
  };
}

/**
 * PublicKeyCredentialRequestOptionsJSON for `navigator.credentials.get()`.
 *
 * @throws {MfaError} `invalid_argument` on a malformed argument.
 */
export function buildRequestOptions(input: RequestOptionsInput): PublicKeyCredentialRequestOptionsJSON {
  requireText(input.rpId, 'rpId');
  return {
    challenge: checkChallenge(input.challenge),
    timeout: checkTimeout(input.timeoutMs),
    rpId: input.rpId,
    allowCredentials: descriptors(input.allowCredentials, 'allowCredentials'),
    userVerification: checkUserVerification(input.userVerification),
  };
}

function requireText(value: unknown, name: string): void {
  if (typeof value !== 'string' || value === '') {
    throw new MfaError('invalid_argument', `${name} must be a non-empty string`);
  }
}

/** At least 16 bytes (WebAuthn §13.4.3), so a challenge cannot be guessed. */
function checkChallenge(challenge: unknown): string {
  const bytes = decodeBase64Url(challenge, MAX_CHALLENGE_BYTES);
  if (bytes === null || bytes.length < MIN_CHALLENGE_BYTES) {
    throw new MfaError('invalid_argument', `challenge must be base64url of ${MIN_CHALLENGE_BYTES}..${MAX_CHALLENGE_BYTES} bytes`);
  }
  return challenge as string;
}

function checkTimeout(timeoutMs: unknown): number {
  if (!Number.isSafeInteger(timeoutMs) || (timeoutMs as number) <= 0) {
    throw new MfaError('invalid_argument', 'timeoutMs must be a positive integer');
  }
  return timeoutMs as number;
}

function checkUserVerification(value: unknown): UserVerificationRequirement {
  if (!USER_VERIFICATION.includes(value as UserVerificationRequirement)) {
    throw new MfaError('invalid_argument', "userVerification must be 'required', 'preferred' or 'discouraged'");
  }
  return value as UserVerificationRequirement;
}

function descriptors(credentials: unknown, name: string): PublicKeyCredentialDescriptorJSON[] {
  if (!Array.isArray(credentials)) throw new MfaError('invalid_argument', `${name} must be an array`);
  return credentials.map((credential: CredentialDescriptorInput) => {
    if (!isBase64Url(credential?.id, MAX_CREDENTIAL_ID_BYTES) || credential.id === '') {
      throw new MfaError('invalid_argument', `${name} ids must be base64url credential ids`);
    }
    const transports = knownTransports(credential.transports);
    return transports.length > 0
      ? { id: credential.id, type: 'public-key', transports }
      : { id: credential.id, type: 'public-key' };
  });
}
