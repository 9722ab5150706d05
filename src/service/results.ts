/**
 * Result values of {@link MfaService} methods. Every expected outcome is a
 * value: `{ ok: true, ... }` or `{ ok: false, reason }`, with `reason` a
 * string-literal union so a `switch` over it is exhaustive.
 */

/** A second factor presented by the user: a TOTP code or a recovery code. */
export type Proof = { totp: string } | { recoveryCode: string };

/** Which kind of proof succeeded. */
export type ProofMethod = 'totp' | 'recovery_code';

/** The MFA state of a user. `locked` is an `enabled` user who may not try codes now. */
export type MfaState = 'registered' | 'enrolling' | 'enabled' | 'locked';

/** Why a proof (TOTP or recovery code) was refused. */
export type ProofFailure =
  /** Not a well-formed code or proof object; nothing was evaluated and no failure counted. */
  | 'malformed'
  /** Wrong code; counts towards the lockout. */
  | 'invalid_code'
  /**
   * A TOTP code for a time step already used. Counts towards the lockout,
   * except exactly the step accepted last (a double submit), which is refused
   * without counting.
   */
  | 'replayed'
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
  ok: false;
  reason: 'locked';
  /** When codes will be evaluated again (ms since epoch), or null for a lock that lasts until `unlock`. */
  retryAt: number | null;
}

/** A refused proof other than a lock. */
export interface ProofFailureResult {
  ok: false;
  reason: Exclude<ProofFailure, 'locked'>;
  /** Failures left before the account locks (present for `invalid_code` and `replayed`). */
  attemptsLeft?: number;
}

/** What {@link MfaService.status} reports. Holds no secret. */
export interface StatusResult {
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
}

/** A started enrollment: show `qrDataUrl` and `secret` to the user, then ask for a code. */
export interface BeginEnrollmentSuccess {
  ok: true;
  /** Base32 secret for manual entry: show it to the user, never log or store it. */
  secret: string;
  /** otpauth:// URI (holds the secret). */
  uri: string;
  /** PNG data URL of the QR code of `uri`. */
  qrDataUrl: string;
  /** The pending enrollment must be confirmed before this instant (ms since epoch). */
  expiresAt: number;
}
/** Result of `beginEnrollment`. */
export type BeginEnrollmentResult = BeginEnrollmentSuccess | Failure<'already_enabled'> | LockedFailure;

/** Result of `confirmEnrollment`. */
export type ConfirmEnrollmentResult =
  | { ok: true }
  | Failure<'not_enrolling' | 'already_enabled' | 'expired' | 'malformed' | 'invalid_code'>
  /** Refused while locked, before the code is looked at: a lock (e.g. support's, on a suspected takeover) holds. */
  | LockedFailure;

/** Result of `revealRecoveryCodes`: the plaintext codes, exactly once. */
export type RevealRecoveryCodesResult =
  | {
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

/** Result of `regenerateRecoveryCodes`; `method` is the kind of proof that was accepted. */
export type RegenerateRecoveryCodesResult = { ok: true; method: ProofMethod } | ProofFailureResult | LockedFailure;

/** Result of `startLogin`: whether the host may create a session now, or must ask for the second factor. */
export type StartLoginResult =
  | { ok: true; mfaRequired: false }
  | {
      ok: true;
      mfaRequired: true;
      /** Opaque, signed, single-use. Keep it server-side (a pending-login session field), never in a URL. */
      challenge: string;
      expiresAt: number;
    }
  /** `mfaRequired: true` is set here too, so `if (!r.mfaRequired) createSession()` can never let a locked user in. */
  | (LockedFailure & { mfaRequired: true });

/** Result of `verifyLogin`: on `ok: true`, and only then, the host creates the session for `userId`. */
export type VerifyLoginResult =
  | { ok: true; userId: string; method: ProofMethod; recoveryCodesRemaining: number }
  | ProofFailureResult
  | LockedFailure
  | Failure<'challenge_invalid' | 'challenge_expired'>;

/** Result of `disable`. */
export type DisableResult = { ok: true; method: ProofMethod } | ProofFailureResult | LockedFailure;

/** Result of `requestEmailRecovery`. */
export type RequestEmailRecoveryResult =
  | {
      ok: true;
      /** Send this to the user's verified email address as a link; never log it. */
      token: string;
      /** The token works from this instant (after the waiting period). */
      notBefore: number;
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
