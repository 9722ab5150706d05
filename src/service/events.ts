import type { ProofMethod } from './results.ts';

interface BaseEvent<T extends string> {
  type: T;
  userId: string;
  /** When it happened, ms since epoch (the service clock). */
  at: number;
}

/**
 * Everything the service reports through `onEvent`. Events are for audit
 * logs and for the emails a host sends to the account owner. They never carry
 * secrets, codes, hashes, tokens or challenges.
 */
export type MfaEvent =
  | (BaseEvent<'enrollment.started'> & { expiresAt: number })
  | BaseEvent<'mfa.enabled'>
  | (BaseEvent<'login.succeeded'> & { method: ProofMethod; recoveryCodesRemaining: number })
  | (BaseEvent<'login.failed'> & {
      method: ProofMethod;
      reason: 'invalid_code' | 'replayed';
      /** Where the failure happened: a login challenge, or an action of a signed-in user. */
      context: 'login' | 'disable' | 'regenerate';
      attemptsLeft: number;
    })
  | (BaseEvent<'recovery_code.used'> & { context: 'login' | 'disable' | 'regenerate'; recoveryCodesRemaining: number })
  | (BaseEvent<'recovery_codes.regenerated'> & { count: number })
  | BaseEvent<'recovery_codes.revealed'>
  | (BaseEvent<'mfa.disabled'> & { method: ProofMethod })
  | (BaseEvent<'account.locked'> & {
      /** `failures`: too many consecutive failures; `failure_limit`: too many failures without a success; `manual`: `lock()`. */
      cause: 'failures' | 'failure_limit' | 'manual';
      /** Caller-supplied reason for a manual lock. */
      reason?: string;
      retryAt: number | null;
    })
  | (BaseEvent<'account.unlocked'> & { cause: 'manual' })
  | (BaseEvent<'email_recovery.requested'> & { notBefore: number; expiresAt: number })
  | (BaseEvent<'email_recovery.cancelled'> & { cause: 'mfa_login' | 'manual' | 'superseded' | 'mfa_disabled' | 'account_locked' })
  | BaseEvent<'email_recovery.completed'>;

/** The `type` of every {@link MfaEvent}. */
export type MfaEventType = MfaEvent['type'];
