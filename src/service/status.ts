import { assertUserId, type ServiceContext } from './context.ts';
import { activeLock } from './lock.ts';
import { remainingCodes } from './recovery-code-set.ts';
import type { StatusResult } from './results.ts';

/** `MfaService.status`: where the user stands (state, codes left, lock, pending recovery). Holds no secret. */
export async function status(ctx: ServiceContext, userId: string): Promise<StatusResult> {
  assertUserId(userId);
  const now = ctx.now();
  const record = (await ctx.read(userId))?.record;
  if (!record) return { state: 'registered', recoveryCodesRemaining: 0, recoveryCodesUnrevealed: false };
  const lock = activeLock(record, now);
  const enabled = record.state === 'enabled';
  const enrolling = record.state === 'enrolling' && record.pendingExpiresAt !== null && record.pendingExpiresAt > now;
  const result: StatusResult = {
    state: lock ? 'locked' : enabled ? 'enabled' : enrolling ? 'enrolling' : 'registered',
    recoveryCodesRemaining: enabled ? await remainingCodes(ctx, userId, record) : 0,
    recoveryCodesUnrevealed: enabled && record.unrevealedCodes !== null,
  };
  if (lock) {
    result.lockedUntil = lock.retryAt;
    result.lockCause = lock.cause;
  }
  if (enrolling) result.enrollmentExpiresAt = record.pendingExpiresAt!;
  const pending = record.emailRecovery;
  if (enabled && pending?.status === 'pending' && pending.expiresAt > now) {
    result.pendingEmailRecovery = { requestedAt: pending.requestedAt, notBefore: pending.notBefore, expiresAt: pending.expiresAt };
  }
  return result;
}
