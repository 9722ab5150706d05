import { MfaError } from '../errors.ts';
import { isBase64Url } from './base64url.ts';
import type { UserVerificationRequirement } from './webauthn-json.ts';

/** What the server expects of a registration or an assertion: set by the host, never by the client. */
export interface CeremonyExpectations {
  /**
   * The base64url challenge issued for this ceremony, or several when any
   * one may do (one per key of a rotating ring).
   */
  expectedChallenge: string | readonly string[];
  /** Exact origins the ceremony may run on, e.g. `['https://example.com']`. */
  origins: readonly string[];
  /** The RP ID credentials are scoped to, e.g. `'example.com'`. */
  rpId: string;
  /** `'required'` refuses a response without user verification (UV). */
  userVerification: UserVerificationRequirement;
}

const USER_VERIFICATION: readonly UserVerificationRequirement[] = ['required', 'preferred', 'discouraged'];
const MAX_CHALLENGE_BYTES = 1024;
const MAX_CHALLENGES = 16;

/**
 * Checks the host's side of a ceremony. These are programming or
 * configuration errors, not client input, so they throw: an empty origin
 * list must never quietly refuse (or accept) everyone.
 *
 * @throws {MfaError} `invalid_argument`.
 */
export function checkCeremonyExpectations(expected: CeremonyExpectations): void {
  if (!isRecord(expected)) throw new MfaError('invalid_argument', 'expected an options object');
  const { expectedChallenge, origins, rpId, userVerification } = expected;
  const challenges = typeof expectedChallenge === 'string' ? [expectedChallenge] : expectedChallenge;
  if (
    !Array.isArray(challenges) ||
    challenges.length === 0 ||
    challenges.length > MAX_CHALLENGES ||
    !challenges.every((c) => isBase64Url(c, MAX_CHALLENGE_BYTES) && c !== '')
  ) {
    throw new MfaError('invalid_argument', 'expectedChallenge must be base64url, or a short list of base64url strings');
  }
  if (!Array.isArray(origins) || origins.length === 0 || !origins.every((o) => typeof o === 'string' && o !== '')) {
    throw new MfaError('invalid_argument', 'origins must be a non-empty array of origins');
  }
  if (typeof rpId !== 'string' || rpId === '') {
    throw new MfaError('invalid_argument', 'rpId must be a non-empty string');
  }
  if (!USER_VERIFICATION.includes(userVerification)) {
    throw new MfaError('invalid_argument', "userVerification must be 'required', 'preferred' or 'discouraged'");
  }
}

/** The expected challenges as a list. */
export function expectedChallenges(expected: CeremonyExpectations): readonly string[] {
  return typeof expected.expectedChallenge === 'string' ? [expected.expectedChallenge] : expected.expectedChallenge;
}

/** A non-null, non-array object: the shape every JSON dictionary of WebAuthn must have. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
