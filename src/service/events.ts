import type { FactorKind, ProofMethod } from './results.ts';

/** Why remembered devices were forgotten. */
export type DeviceForgottenCause =
  | 'manual'
  | 'evicted'
  | 'token_reused'
  | 'factor_removed'
  | 'mfa_disabled'
  | 'mfa_reset'
  | 'email_recovery';

/** Where a proof was asked for: a login or step-up challenge, or an action of a signed-in user. */
export type ProofContext = 'login' | 'step_up' | 'disable' | 'regenerate' | 'add_factor' | 'remove_factor';

/** Fields every event has. */
interface BaseEvent<T extends string> {
  /** What happened: see {@link MfaEventType}. */
  type: T;
  /** The user it happened to. */
  userId: string;
  /** When it happened, ms since epoch (the service clock). */
  at: number;
}

/**
 * Everything the service reports through `onEvent`. Events are for audit
 * logs and for the emails a host sends to the account owner. They never carry
 * secrets, codes, hashes, tokens or challenges.
 *
 * Every event has `type` (see {@link MfaEventType}), `userId` and `at` (when
 * it happened, ms since epoch, by the service clock), and the details its
 * type lists below.
 */
export type MfaEvent =
  | (BaseEvent<'enrollment.started'> & { expiresAt: number })
  | BaseEvent<'mfa.enabled'>
  | (BaseEvent<'login.succeeded'> & {
      /** The kind of proof that was accepted. */
      method: Exclude<ProofMethod, 'step_up'>;
      /** The factor that answered (absent for a recovery code). */
      factorId?: string;
      /** Unused recovery codes left. */
      recoveryCodesRemaining: number;
    })
  /** `startLogin` accepted a remembered browser's token (and rotated it). */
  | (BaseEvent<'login.succeeded'> & { method: 'remembered_device'; deviceId: string })
  | (BaseEvent<'login.failed'> & {
      /** The kind of proof that was refused. */
      method: Exclude<ProofMethod, 'step_up'>;
      /** Why it was refused. */
      reason: 'invalid_code' | 'replayed' | 'invalid_credential';
      /** Where the failure happened: a login or step-up challenge, or an action of a signed-in user. */
      context: ProofContext;
      /** Failures left before the account locks. */
      attemptsLeft: number;
    })
  | (BaseEvent<'recovery_code.used'> & { context: ProofContext; recoveryCodesRemaining: number })
  | (BaseEvent<'recovery_codes.regenerated'> & { count: number })
  | BaseEvent<'recovery_codes.revealed'>
  | (BaseEvent<'mfa.disabled'> & { method: ProofMethod })
  | (BaseEvent<'account.locked'> & {
      /** `failures`: too many consecutive failures; `failure_limit`: too many failures without a success; `manual`: `lock()`. */
      cause: 'failures' | 'failure_limit' | 'manual';
      /** Caller-supplied reason for a manual lock. */
      reason?: string;
      /** When the lock ends (ms since epoch), or null: only `unlock` ends it. */
      retryAt: number | null;
    })
  | (BaseEvent<'account.unlocked'> & { cause: 'manual' })
  | (BaseEvent<'email_recovery.requested'> & { notBefore: number; expiresAt: number })
  | (BaseEvent<'email_recovery.cancelled'> & { cause: 'mfa_login' | 'step_up' | 'manual' | 'superseded' | 'mfa_disabled' | 'account_locked' | 'mfa_reset' })
  | BaseEvent<'email_recovery.completed'>
  | (BaseEvent<'factor.added'> & { factorId: string; kind: FactorKind })
  | (BaseEvent<'factor.removed'> & { factorId: string; kind: FactorKind })
  | (BaseEvent<'step_up.succeeded'> & { method: Exclude<ProofMethod, 'step_up'>; factorId?: string })
  /** A validly signed assertion whose counter did not increase: possibly a cloned authenticator. Refused. */
  | (BaseEvent<'webauthn.counter_regressed'> & { factorId: string })
  | (BaseEvent<'device.remembered'> & { deviceId: string })
  /** `deviceId` null: every device of the user at once. */
  | (BaseEvent<'device.forgotten'> & { deviceId: string | null; cause: DeviceForgottenCause })
  /** A token rotated away came back after the grace: a copied cookie? The device is forgotten. */
  | (BaseEvent<'device.token_reused'> & { deviceId: string })
  /** Support reset the user's MFA (`resetMfa`). */
  | (BaseEvent<'mfa.reset'> & { actor: string; reason: string });

/** The `type` of every {@link MfaEvent}. */
export type MfaEventType = MfaEvent['type'];
