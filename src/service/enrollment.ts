/**
 * Enrollment of the authenticator app: begin (a fresh secret, pending until
 * confirmed) and confirm (the first valid code proves the app holds it, and
 * MFA is enabled with a first recovery-code set, revealable once).
 */
import { assertUserId, type ServiceContext } from './context.ts';
import { isTotpCode, matchTotpStep, newTotpSecret } from './factors/totp.ts';
import { activeLock, lockedResult } from './lock.ts';
import { clearLock } from './record.ts';
import { hashCodes, installCodeSet, newCodeSet } from './recovery-code-set.ts';
import type { BeginEnrollmentResult, ConfirmEnrollmentResult } from './results.ts';

/** `MfaService.beginEnrollment`. */
export async function beginEnrollment(ctx: ServiceContext, userId: string, options: { accountName: string }): Promise<BeginEnrollmentResult> {
  assertUserId(userId);
  const accountName = (options as { accountName?: unknown } | undefined)?.accountName;
  const { secret, uri, qrDataUrl, sealed } = await newTotpSecret(ctx, userId, accountName);
  const o = ctx.options;
  return ctx.update<BeginEnrollmentResult>(userId, (record, now) => {
    const lock = activeLock(record, now);
    if (lock) return { write: null, result: lockedResult(lock) };
    if (record.state === 'enabled') return { write: null, result: { ok: false, reason: 'already_enabled' } };
    const expiresAt = now + o.enrollmentTtlMs;
    return {
      write: {
        ...record,
        state: 'enrolling',
        pendingSecret: sealed,
        pendingExpiresAt: expiresAt,
        accountName: accountName as string,
        algorithm: o.algorithm,
        digits: o.digits,
        period: o.period,
      },
      result: { ok: true, secret, uri, qrDataUrl, expiresAt },
      events: [{ type: 'enrollment.started', userId, at: now, expiresAt }],
    };
  });
}

/** `MfaService.confirmEnrollment`. */
export async function confirmEnrollment(ctx: ServiceContext, userId: string, code: string): Promise<ConfirmEnrollmentResult> {
  assertUserId(userId);
  const set = newCodeSet(ctx);
  let hashes: string[] = [];
  let generation = 0;
  return ctx.update<ConfirmEnrollmentResult>(userId, (record, now) => {
    // A lock holds against whoever holds the pending secret: support may have
    // locked the account on a suspected takeover. The code is not looked at.
    const lock = activeLock(record, now);
    if (lock) return { write: null, result: lockedResult(lock) };
    if (record.state === 'enabled') return { write: null, result: { ok: false, reason: 'already_enabled' } };
    if (record.state !== 'enrolling' || record.pendingSecret === null) {
      return { write: null, result: { ok: false, reason: 'not_enrolling' } };
    }
    if (record.pendingExpiresAt === null || record.pendingExpiresAt <= now) {
      return { write: null, result: { ok: false, reason: 'expired' } };
    }
    if (!isTotpCode(code, record.digits)) return { write: null, result: { ok: false, reason: 'malformed' } };
    const step = matchTotpStep(ctx, userId, record.pendingSecret, record, code, now);
    if (step === null) return { write: null, result: { ok: false, reason: 'invalid_code' } };
    hashes = hashCodes(ctx, userId, set.setId, set.codes);
    generation = record.recoveryCodeGeneration + 1;
    return {
      write: {
        ...clearLock(record),
        state: 'enabled',
        secret: record.pendingSecret,
        pendingSecret: null,
        pendingExpiresAt: null,
        enabledAt: now,
        // The confirming code's step is spent: it cannot be replayed for a login.
        lastStep: step,
        ...installCodeSet(ctx, userId, set, generation, now),
        challengeEpoch: record.challengeEpoch + 1,
        spentChallenges: [],
        emailRecovery: null,
      },
      result: { ok: true },
      events: [{ type: 'mfa.enabled', userId, at: now }],
    };
  }, async () => {
    // After the record commits: the store learns the new set. Should this
    // fail, the old set is already dead (hashes are bound to the set id)
    // and revealRecoveryCodes writes the set again before showing it.
    await ctx.codes.replace(userId, hashes, generation);
  });
}
