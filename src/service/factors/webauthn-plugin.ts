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
  /** Credential id, base64url. */
  id: string;
  /** Transports the browser reported at registration. */
  transports: readonly string[];
}

/** A verified registration: what the service stores for the new factor. */
export interface WebAuthnRegistration {
  /** The registration verified. */
  ok: true;
  /** Credential id, base64url. */
  credentialId: string;
  /** COSE public key, base64url. */
  publicKey: string;
  /** The authenticator's signature counter at registration. */
  signCount: number;
  /** Transports the browser reported. */
  transports: string[];
  /** Whether the credential may be synced (BE flag). */
  backupEligible: boolean;
  /** Whether the credential is synced now (BS flag): a passkey. */
  backedUp: boolean;
}

/**
 * What the plugin says of an assertion: valid (with the authenticator's new
 * counter and backup state), or refused.
 */
export type WebAuthnAssertionCheck =
  | { ok: true; signCount: number; backedUp: boolean }
  /** `counter_regressed`: validly signed, but the counter did not increase (a cloned authenticator?). */
  | { ok: false; reason: 'invalid' | 'counter_regressed' };

/**
 * The WebAuthn factor plugin, as `new MfaService({ webauthn })` takes it.
 * Make one with `webauthn()` from `twofold/webauthn`; the service refuses
 * anything else. Hosts never call its methods: the service does.
 */
export interface WebAuthnPlugin {
  /** Brand: the service refuses anything else passed as `webauthn`. */
  readonly plugin: 'twofold/webauthn';
  /** The relying party id credentials are scoped to. */
  readonly rpId: string;
  /** Whether user verification (PIN, biometrics) is required, preferred or discouraged. */
  readonly userVerification: UserVerificationRequirement;
  /** WebAuthn credentials a user may hold. */
  readonly maxCredentials: number;
  /** How long a ceremony may take (the browser's timeout and the registration's expiry). */
  readonly timeoutMs: number;
  /** The options of `navigator.credentials.create()` for a new key of the user, excluding the keys they hold. */
  creationOptions(input: {
    challenge: string;
    userHandle: string;
    userName: string;
    displayName: string;
    exclude: readonly WebAuthnCredentialRef[];
  }): PublicKeyCredentialCreationOptionsJSON;
  /** The options of `navigator.credentials.get()` for a login or step-up, naming the keys the user holds. */
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
