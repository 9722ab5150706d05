/**
 * Result values of {@link MfaService} methods. Every expected outcome is a
 * value: `{ ok: true, ... }` or `{ ok: false, reason }`, with `reason` a
 * string-literal union so a `switch` over it is exhaustive.
 */

import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from './webauthn-json.ts';

/**
 * What a user presents: a TOTP code, a recovery code, a WebAuthn assertion
 * (only against a challenge: `verifyLogin`, `verifyStepUp`), or a step-up
 * grant from `verifyStepUp` (for sensitive changes; not for `verifyLogin`).
 */
export type Proof =
  | { totp: string; recoveryCode?: never; webauthn?: never; stepUp?: never }
  | { recoveryCode: string; totp?: never; webauthn?: never; stepUp?: never }
  | { webauthn: AuthenticationResponseJSON; totp?: never; recoveryCode?: never; stepUp?: never }
  | { stepUp: string; totp?: never; recoveryCode?: never; webauthn?: never };

/** Which kind of proof succeeded. */
export type ProofMethod = 'totp' | 'recovery_code' | 'webauthn' | 'step_up';

/** The kinds of second factor a user can hold. */
export type FactorKind = 'totp' | 'webauthn';

/** What a login (or step-up) may use, strongest first. */
export type LoginMethod = 'webauthn' | 'totp' | 'recovery_code';

/** The MFA state of a user. `locked` is an `enabled` user who may not try codes now. */
export type MfaState = 'registered' | 'enrolling' | 'enabled' | 'locked';

/** Why a proof (TOTP or recovery code) was refused. */
export type ProofFailure =
  /** Not a well-formed code or proof object; nothing was evaluated and no failure counted. */
  | 'malformed'
  /**
   * Wrong code; counts towards the lockout. Also the answer, not counted,
   * to any TOTP code while the authenticator app's secret is sealed under a
   * key the service no longer holds (dropped too early in a key rotation):
   * no code can be checked, and `status().attention` says `totp_reenroll`.
   */
  | 'invalid_code'
  /**
   * A TOTP code for a time step already used. Counts towards the lockout,
   * except exactly the step accepted last (a double submit), which is refused
   * without counting.
   */
  | 'replayed'
  /** A WebAuthn assertion that failed a check (origin, rpId, challenge, presence, signature, counter, unknown key); counts towards the lockout. */
  | 'invalid_credential'
  /** A step-up grant that is forged, for another user, or dead (a factor changed, a lock, a reset). Not counted: it cannot be guessed. */
  | 'step_up_invalid'
  /** A step-up grant past its lifetime. Not counted. */
  | 'step_up_expired'
  /** The user is locked; the code was not evaluated. */
  | 'locked'
  /** The user has no enabled second factor. */
  | 'not_enrolled';

/** An expected failure: `ok: false` and a string-literal `reason`. */
export type Failure<R extends string> = { ok: false; reason: R };

/**
 * What caused a lock: `failures` (too many consecutive failures; temporary,
 * ends at `retryAt`), `failure_limit` (too many failures without a success;
 * ends only by `unlock`), `manual` (`lock()`; ends only by `unlock`).
 */
export type LockCause = 'failures' | 'failure_limit' | 'manual';

/** The user is locked: codes were not evaluated. */
export interface LockedFailure {
  /** Refused. */
  ok: false;
  /** The account is locked. */
  reason: 'locked';
  /** When codes will be evaluated again (ms since epoch), or null for a lock that lasts until `unlock`. */
  retryAt: number | null;
}

/** A refused proof other than a lock. */
export interface ProofFailureResult {
  /** Refused. */
  ok: false;
  /** Why the proof was refused. */
  reason: Exclude<ProofFailure, 'locked'>;
  /** Failures left before the account locks (present for `invalid_code`, `replayed` and `invalid_credential`, counted or not). */
  attemptsLeft?: number;
}

/** Something that calls for the host's attention (banners on the account page). */
export type Attention =
  /** A recovery-code set is waiting to be shown once. */
  | 'recovery_codes_unrevealed'
  /** Two or fewer unused recovery codes. */
  | 'recovery_codes_low'
  /** One factor and nothing else but recovery codes: add a second one. */
  | 'single_factor'
  /** Enabled more than 28 days ago and never used since (GitHub's check-up). */
  | 'checkup_due'
  /**
   * During a key rotation: the unused recovery codes are hashed under a key
   * being retired, and only a regeneration moves them to the new one (the
   * plaintext is gone). Ask the user to regenerate (and save) new codes
   * before the old key is dropped; after it, the old codes no longer work.
   */
  | 'recovery_codes_rekey'
  /**
   * The authenticator app's secret is sealed under a key the service no
   * longer holds (the key was dropped before `rekey` moved it): the app's
   * codes cannot be checked. Ask the user to remove the app (with another
   * factor or a recovery code) and add it again.
   */
  | 'totp_reenroll';

/** A factor as listed to its owner: never a secret or a key. */
export interface FactorInfo {
  /** Stable id: pass it to `renameFactor` and `removeFactor`. */
  id: string;
  /** An authenticator app or a security key. */
  kind: FactorKind;
  /** The user's name for it ("Phone", "YubiKey 5C"). */
  label: string;
  /** When it was added (ms since epoch). */
  createdAt: number;
  /** Last successful proof with it (ms since epoch), or null. */
  lastUsedAt: number | null;
  /** WebAuthn only: transports the browser reported. */
  transports?: string[];
  /** WebAuthn only: whether the credential is synced (a passkey). */
  backedUp?: boolean;
}

/** What {@link MfaService.status} reports. Holds no secret. */
export interface StatusResult {
  /** Where the user stands: no factor, enrolling, enabled, or locked. */
  state: MfaState;
  /** Unused recovery codes (0 unless enabled). */
  recoveryCodesRemaining: number;
  /** Whether a recovery-code set is waiting to be shown once. */
  recoveryCodesUnrevealed: boolean;
  /** Present while locked: when the lock ends (ms since epoch), or null: only `unlock` ends it. */
  lockedUntil?: number | null;
  /** Present while locked: what caused the lock. */
  lockCause?: LockCause;
  /** Present while an email recovery is pending. */
  pendingEmailRecovery?: { requestedAt: number; notBefore: number; expiresAt: number };
  /** Present while enrolling: when the pending enrollment expires. */
  enrollmentExpiresAt?: number;
  /** What a login may use now (empty unless enabled). */
  methods: LoginMethod[];
  /** What the host should point out to the user. */
  attention: Attention[];
}

/** A started enrollment: show `qrDataUrl` and `secret` to the user, then ask for a code. */
export interface BeginEnrollmentSuccess {
  /** The enrollment started. */
  ok: true;
  /** Base32 secret for manual entry: show it to the user, never log or store it. */
  secret: string;
  /** otpauth:// URI (holds the secret). */
  uri: string;
  /** PNG data URL of the QR code of `uri`. */
  qrDataUrl: string;
  /** The pending enrollment must be confirmed before this instant (ms since epoch). */
  expiresAt: number;
  /** Present (true) when this is the live pending enrollment shown again, not a new secret. */
  resumed?: true;
}
/**
 * Result of `beginEnrollment`. `already_enabled`: the user already has an
 * authenticator app (remove it first). `proof_required`: the user has other
 * factors, so adding one needs a proof.
 */
export type BeginEnrollmentResult = BeginEnrollmentSuccess | Failure<'already_enabled' | 'proof_required'> | ProofFailureResult | LockedFailure;

/** Result of `confirmEnrollment`. `factorId` names the new factor. */
export type ConfirmEnrollmentResult =
  | { ok: true; factorId: string }
  | Failure<'not_enrolling' | 'already_enabled' | 'expired' | 'malformed' | 'invalid_code'>
  /** Refused while locked, before the code is looked at: a lock (e.g. support's, on a suspected takeover) holds. */
  | LockedFailure;

/** Result of `revealRecoveryCodes`: the plaintext codes, exactly once. */
export type RevealRecoveryCodesResult =
  | {
      /** The codes, shown this once. */
      ok: true;
      /** The codes as shown to the user, `XXXX-XXXX-XXXX-XXXX-XXXX-XXXX`. */
      codes: string[];
      /** A ready-to-save text file holding every code and how to use them. */
      text: string;
      /** Suggested file name for `text`. */
      filename: string;
    }
  | Failure<'already_revealed' | 'not_enrolled'>
  /** Codes are not shown while the account is locked. */
  | LockedFailure;

/** What only the user can move to the current key: revealed recovery codes (regenerate them), an authenticator app under a dropped key (re-enroll it). */
export type RekeyNeed = 'recovery_codes' | 'totp';

/** Result of `rekey`: what moved to the current key, and what still needs an old one. */
export interface RekeyResult {
  /** Always: the record was read, and written if anything moved. */
  ok: true;
  /** Sealed values moved to the current key (TOTP secrets, a pending enrollment's, an unrevealed code set). */
  resealed: number;
  /** Ids of keys other than the current one the record still needs (sorted); empty when none. */
  dependsOn: string[];
  /** What only the user can move; each also shows in `status().attention`. */
  needsUser: RekeyNeed[];
}

/** Result of `regenerateRecoveryCodes`; `method` is the kind of proof that was accepted. */
export type RegenerateRecoveryCodesResult = { ok: true; method: ProofMethod } | ProofFailureResult | LockedFailure;

/** A second-factor challenge (login or step-up): keep `challenge` server-side, send `webauthn` to the browser. */
export interface MfaChallenge {
  /** A challenge was issued. */
  ok: true;
  /** The user must answer with a second factor before the host creates a session. */
  mfaRequired: true;
  /** Opaque, signed, single-use. Keep it server-side (a pending-login session field), never in a URL. */
  challenge: string;
  /** The challenge must be answered before this instant (ms since epoch). */
  expiresAt: number;
  /** What the user may answer with, strongest first. */
  methods: LoginMethod[];
  /** For `navigator.credentials.get()` when the user has security keys; its challenge is derived from `challenge`. */
  webauthn?: PublicKeyCredentialRequestOptionsJSON;
}

/** A remembered browser's new token: set it as the device cookie (the old one is dead). */
export interface RememberedDevice {
  /** The device's id, as `listDevices` shows it. */
  id: string;
  /** Secret: keep it in an httpOnly cookie, never log it. */
  token: string;
  /** The device stops skipping the second factor at this instant (ms): give the cookie the same expiry. */
  expiresAt: number;
}

/** Result of `startLogin`: whether the host may create a session now, or must ask for the second factor. */
export type StartLoginResult =
  /** `rememberedDevice`: a remembered browser's token was accepted and rotated; replace the cookie. */
  | { ok: true; mfaRequired: false; rememberedDevice?: RememberedDevice }
  | MfaChallenge
  /** `mfaRequired: true` is set here too, so `if (!r.mfaRequired) createSession()` can never let a locked user in. */
  | (LockedFailure & { mfaRequired: true });

/** Result of `verifyLogin`: on `ok: true`, and only then, the host creates the session for `userId`. */
export type VerifyLoginResult =
  | {
      /** The second factor is verified: create the session now. */
      ok: true;
      /** The user the challenge was issued for: the session's user. */
      userId: string;
      /** The kind of proof that was accepted. */
      method: Exclude<ProofMethod, 'step_up'>;
      /** The factor that answered (absent for a recovery code). */
      factorId?: string;
      /** Unused recovery codes left: prompt to regenerate when low. */
      recoveryCodesRemaining: number;
      /** Present when `rememberDevice` was asked for: the new device's token for the cookie. */
      device?: RememberedDevice;
    }
  | ProofFailureResult
  | LockedFailure
  | Failure<'challenge_invalid' | 'challenge_expired'>;

/** A remembered browser as listed to its owner (never the token or its hash). */
export interface DeviceInfo {
  /** Stable id: pass it to `forgetDevice`. */
  id: string;
  /** The label given at `verifyLogin` ("Firefox on Linux"), or null. */
  label: string | null;
  /** When it was remembered (ms since epoch). */
  createdAt: number;
  /** When it last skipped the second factor (ms since epoch), or null. */
  lastUsedAt: number | null;
  /** When it stops skipping the second factor (ms since epoch). */
  expiresAt: number;
}

/** Result of `forgetDevice`. */
export type ForgetDeviceResult = { ok: true } | Failure<'not_found'>;

/** Result of `forgetDevices`: how many were forgotten. */
export type ForgetDevicesResult = { ok: true; count: number };

/** Result of `startStepUp`: a challenge like a login's, or why none can be issued. */
export type StartStepUpResult = MfaChallenge | Failure<'not_enrolled'> | (LockedFailure & { mfaRequired: true });

/** Result of `verifyStepUp`: a grant to pass as `{ stepUp: grant }` to sensitive calls until `expiresAt`. */
export type VerifyStepUpResult =
  | {
      /** The second factor is verified: store the grant. */
      ok: true;
      /** The user the challenge was issued for. */
      userId: string;
      /** The kind of proof that was accepted. */
      method: Exclude<ProofMethod, 'step_up'>;
      /** The factor that answered (absent for a recovery code). */
      factorId?: string;
      /** Signed, bound to the user and the current factors; keep it server-side (the session). */
      grant: string;
      /** The grant works until this instant (ms since epoch). */
      expiresAt: number;
    }
  | ProofFailureResult
  | LockedFailure
  | Failure<'challenge_invalid' | 'challenge_expired'>;

/** Result of `listFactors`. */
export type ListFactorsResult = FactorInfo[];

/** Result of `beginWebAuthnRegistration`. */
export type BeginWebAuthnRegistrationResult =
  | { ok: true; options: PublicKeyCredentialCreationOptionsJSON; expiresAt: number }
  | Failure<'proof_required' | 'limit_reached'>
  | ProofFailureResult
  | LockedFailure;

/** Result of `finishWebAuthnRegistration`. */
export type FinishWebAuthnRegistrationResult =
  | { ok: true; factorId: string }
  | Failure<'not_registering' | 'expired' | 'invalid_response' | 'already_registered' | 'limit_reached'>
  | LockedFailure;

/** Result of `renameFactor`. */
export type RenameFactorResult = { ok: true } | Failure<'not_found'>;

/** Result of `removeFactor`: `state` is `registered` when the last factor went (that is `disable`). */
export type RemoveFactorResult = { ok: true; state: MfaState; method: ProofMethod } | Failure<'not_found'> | ProofFailureResult | LockedFailure;

/** Result of `resetMfa`. */
export type ResetMfaResult = { ok: true };

/** Result of `disable`. */
export type DisableResult = { ok: true; method: ProofMethod } | ProofFailureResult | LockedFailure;

/** Result of `requestEmailRecovery`. */
export type RequestEmailRecoveryResult =
  | {
      /** The recovery is pending. */
      ok: true;
      /** Send this to the user's verified email address as a link; never log it. */
      token: string;
      /** The token works from this instant (after the waiting period). */
      notBefore: number;
      /** The token stops working at this instant (ms since epoch). */
      expiresAt: number;
    }
  | Failure<'not_enrolled'>
  /** Refused while locked: a locked owner could not sign in to stop the recovery. */
  | LockedFailure;

/** Result of `completeEmailRecovery`. */
export type CompleteEmailRecoveryResult =
  | { ok: true }
  | Failure<'too_early' | 'expired' | 'cancelled' | 'invalid_token' | 'not_requested' | 'malformed'>;

/** Result of `cancelEmailRecovery`. */
export type CancelEmailRecoveryResult = { ok: true } | Failure<'not_requested'>;

/** Result of `lock`. */
export type LockResult = { ok: true };
/**
 * Result of `unlock`: `not_locked` when there was no lock to end,
 * `cause_mismatch` when the lock's cause is not among the `causes` asked for
 * (the lock stays).
 */
export type UnlockResult = { ok: true } | Failure<'not_locked'> | (Failure<'cause_mismatch'> & { cause: LockCause });
