/**
 * The lockout (DESIGN §3): when a lock is in force and what caused it,
 * what a counted failure does to the record, and the manual lock/unlock.
 * While locked, codes are not evaluated, no factor is confirmed, no code is
 * revealed, and every challenge issued before the lock is dead.
 */
import { MfaError } from '../errors.ts';
import type { MfaRecord } from '../stores/types.ts';
import { assertUserId, type Decision, type ServiceContext } from './context.ts';
import type { MfaEvent, ProofContext } from './events.ts';
import type { ResolvedOptions } from './options.ts';
import { clearLock, withChanges } from './record.ts';
import type { LockCause, LockedFailure, LockResult, ProofFailureResult, ProofMethod, UnlockResult } from './results.ts';

/** An active lock: when codes may be tried again (null: only `unlock` ends it) and what caused it. */
export interface ActiveLock {
  retryAt: number | null;
  cause: LockCause;
}

/** Null when codes may be tried now, else the lock in force. */
export function activeLock(record: MfaRecord, now: number): ActiveLock | null {
  if (record.lockedIndefinitely) return { retryAt: null, cause: indefiniteLockCause(record) };
  if (record.lockedUntil !== null && record.lockedUntil > now) return { retryAt: record.lockedUntil, cause: 'failures' };
  return null;
}

/** Records written by 0.1.0 have no `lockCause`: there, only the failure limit set `lockReason` to 'failure_limit'. */
function indefiniteLockCause(record: MfaRecord): LockCause {
  if (record.lockCause === 'failure_limit' || record.lockCause === 'manual') return record.lockCause;
  return record.lockCause === undefined && record.lockReason === 'failure_limit' ? 'failure_limit' : 'manual';
}

export function lockedResult(lock: { retryAt: number | null }): LockedFailure {
  return { ok: false, reason: 'locked', retryAt: lock.retryAt };
}

/**
 * A lock cancels a pending email recovery. A locked owner can neither sign
 * in nor reach the account page to stop it, so a thief holding the password
 * and the mailbox could otherwise lock the owner out by failing codes and
 * wait out the delay undisturbed. Failing codes during the wait is what the
 * waiting period exists to catch.
 */
function cancelRecoveryOnLock(record: MfaRecord, userId: string, now: number, events: MfaEvent[]): MfaRecord {
  const pending = record.emailRecovery;
  if (pending?.status !== 'pending' || pending.expiresAt <= now) return record;
  events.push({ type: 'email_recovery.cancelled', userId, at: now, cause: 'account_locked' });
  return withChanges(record, { emailRecovery: { ...pending, status: 'cancelled' } });
}

/**
 * The record locked: every challenge and step-up grant issued before dies
 * with the lock (both epochs move on), so one issued before a lock never
 * works after `unlock`, and a pending email recovery is cancelled (see
 * cancelRecoveryOnLock).
 */
function locked(record: MfaRecord, userId: string, now: number, events: MfaEvent[]): MfaRecord {
  return withChanges(cancelRecoveryOnLock(record, userId, now, events), {
    challengeEpoch: record.challengeEpoch + 1,
    factorEpoch: record.factorEpoch + 1,
  });
}

/** Failures left before a lock, from the counters as they stand. */
export function attemptsLeft(options: ResolvedOptions, counts: { failures: number; failuresSinceSuccess: number }): number {
  return Math.max(0, Math.min(options.maxFailures - counts.failures, options.hardLimit - counts.failuresSinceSuccess));
}

/**
 * A counted failure: `login.failed`, and a lock once `maxFailures`
 * consecutive failures (backoff `baseMs * 2^locks`, capped) or `hardLimit`
 * failures without a success (until `unlock`) are reached.
 */
export function failureDecision(
  options: ResolvedOptions,
  userId: string,
  record: MfaRecord,
  now: number,
  method: Exclude<ProofMethod, 'step_up'>,
  reason: 'invalid_code' | 'replayed' | 'invalid_credential',
  context: ProofContext,
  reported: readonly MfaEvent[] = [],
): Decision<ProofFailureResult | LockedFailure> {
  const failures = record.failures + 1;
  const failuresSinceSuccess = record.failuresSinceSuccess + 1;
  const left = attemptsLeft(options, { failures, failuresSinceSuccess });
  const events: MfaEvent[] = [...reported, { type: 'login.failed', userId, at: now, method, reason, context, attemptsLeft: left }];
  if (failuresSinceSuccess >= options.hardLimit) {
    events.push({ type: 'account.locked', userId, at: now, cause: 'failure_limit', retryAt: null });
    return {
      write: withChanges(locked(record, userId, now, events), {
        failures: 0,
        failuresSinceSuccess,
        lockedIndefinitely: true,
        lockReason: 'failure_limit',
        lockCause: 'failure_limit',
      }),
      result: lockedResult({ retryAt: null }),
      events,
    };
  }
  if (failures >= options.maxFailures) {
    const retryAt = now + Math.min(options.lockBaseMs * 2 ** record.lockCount, options.lockMaxMs);
    events.push({ type: 'account.locked', userId, at: now, cause: 'failures', retryAt });
    return {
      write: withChanges(locked(record, userId, now, events), {
        failures: 0,
        failuresSinceSuccess,
        lockCount: record.lockCount + 1,
        lockedUntil: retryAt,
        lockReason: 'failures',
        lockCause: 'failures',
      }),
      result: lockedResult({ retryAt }),
      events,
    };
  }
  return {
    write: withChanges(record, { failures, failuresSinceSuccess }),
    result: { ok: false, reason, attemptsLeft: left },
    events,
  };
}

/** `MfaService.lock`. */
export async function lock(ctx: ServiceContext, userId: string, options: { reason?: string } = {}): Promise<LockResult> {
  assertUserId(userId);
  const reason = (options as { reason?: unknown } | undefined)?.reason;
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > 200)) {
    throw new MfaError('invalid_argument', 'lock reason must be a string of at most 200 characters');
  }
  return ctx.update<LockResult>(userId, (record, now) => {
    const events: MfaEvent[] = [{ type: 'account.locked', userId, at: now, cause: 'manual', ...(reason === undefined ? {} : { reason }), retryAt: null }];
    return {
      write: withChanges(locked(record, userId, now, events), { lockedIndefinitely: true, lockReason: reason ?? 'manual', lockCause: 'manual' }),
      result: { ok: true },
      events,
    };
  });
}

/** `MfaService.unlock`. */
export async function unlock(ctx: ServiceContext, userId: string, options: { causes?: readonly LockCause[] } = {}): Promise<UnlockResult> {
  assertUserId(userId);
  const causes = (options as { causes?: unknown } | undefined)?.causes;
  if (causes !== undefined && (!Array.isArray(causes) || !causes.every((c) => c === 'failures' || c === 'failure_limit' || c === 'manual'))) {
    throw new MfaError('invalid_argument', "unlock causes must be an array of 'failures', 'failure_limit' or 'manual'");
  }
  return ctx.update<UnlockResult>(userId, (record, now) => {
    const lock = activeLock(record, now);
    if (!lock) return { write: null, result: { ok: false, reason: 'not_locked' } };
    if (causes !== undefined && !(causes as LockCause[]).includes(lock.cause)) {
      return { write: null, result: { ok: false, reason: 'cause_mismatch', cause: lock.cause } };
    }
    return {
      write: clearLock(record),
      result: { ok: true },
      events: [{ type: 'account.unlocked', userId, at: now, cause: 'manual' }],
    };
  });
}
