/**
 * What the service needs of the WebAuthn factor plugin (`webauthn()` from
 * `twofold/webauthn`): the ceremonies' options and the checks of a
 * registration and an assertion. The plugin knows nothing of records or
 * rules; the service decides what a result means (factors/webauthn.ts).
 * Declared here so the main entry never loads the plugin or its peer.
 */
import type {
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  UserVerificationRequirement,
} from '../webauthn-json.ts';

/** A stored credential as the options name it. */
export interface WebAuthnCredentialRef {
  id: string;
  transports: readonly string[];
}

/** A verified registration: what the service stores for the new factor. */
export interface WebAuthnRegistration {
  ok: true;
  credentialId: string;
  /** COSE public key, base64url. */
  publicKey: string;
  signCount: number;
  transports: string[];
  backupEligible: boolean;
  backedUp: boolean;
}

export type WebAuthnAssertionCheck =
  | { ok: true; signCount: number; backedUp: boolean }
  /** `counter_regressed`: validly signed, but the counter did not increase (a cloned authenticator?). */
  | { ok: false; reason: 'invalid' | 'counter_regressed' };

export interface WebAuthnPlugin {
  /** Brand: the service refuses anything else passed as `webauthn`. */
  readonly plugin: 'twofold/webauthn';
  readonly rpId: string;
  readonly userVerification: UserVerificationRequirement;
  /** WebAuthn credentials a user may hold. */
  readonly maxCredentials: number;
  /** How long a ceremony may take (the browser's timeout and the registration's expiry). */
  readonly timeoutMs: number;
  creationOptions(input: {
    challenge: string;
    userHandle: string;
    userName: string;
    displayName: string;
    exclude: readonly WebAuthnCredentialRef[];
  }): PublicKeyCredentialCreationOptionsJSON;
  requestOptions(input: { challenge: string; allow: readonly WebAuthnCredentialRef[] }): PublicKeyCredentialRequestOptionsJSON;
  /** The challenge a registration response was made for (from its client data), or null when unreadable. */
  registrationChallenge(response: unknown): string | null;
  /** Check a RegistrationResponseJSON made for `expectedChallenge`. Never throws on hostile input. */
  verifyRegistration(response: unknown, expectedChallenge: string): Promise<WebAuthnRegistration | { ok: false }>;
  /** The credential id an AuthenticationResponseJSON names, or null when it is not one. Never throws. */
  credentialIdOf(response: unknown): string | null;
  /**
   * Check an assertion against the stored credential, for any one of
   * `expectedChallenges` (one per key of the ring: a rotation mid-login
   * still works). The login hot path. Never throws on hostile input.
   */
  verifyAssertion(
    response: unknown,
    input: { expectedChallenges: readonly string[]; credential: { id: string; publicKey: string; signCount: number } },
  ): WebAuthnAssertionCheck;
}
