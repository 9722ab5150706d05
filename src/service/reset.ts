import { MfaError } from '../errors.ts';
import { assertUserId, type ServiceContext } from './context.ts';
import { forgetAllEvents } from './devices.ts';
import type { MfaEvent } from './events.ts';
import { clearLock, resetFactors } from './record.ts';
import type { ResetMfaResult } from './results.ts';

function checkText(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 200 || !value.isWellFormed()) {
    throw new MfaError('invalid_argument', `resetMfa ${name} must be a non-empty string of at most 200 characters`);
  }
  return value;
}

/**
 * `MfaService.resetMfa`: for support, after verifying the person by other
 * means. Factors, codes, pending enrollments and recovery, and every lock
 * are gone; every challenge and grant dies; `mfa.reset` names the actor and
 * the reason for the audit log.
 */
export async function resetMfa(ctx: ServiceContext, userId: string, options: { actor: string; reason: string }): Promise<ResetMfaResult> {
  assertUserId(userId);
  const actor = checkText((options as { actor?: unknown } | undefined)?.actor, 'actor');
  const reason = checkText((options as { reason?: unknown } | undefined)?.reason, 'reason');
  return ctx.update<ResetMfaResult>(userId, (record, now) => {
    const events: MfaEvent[] = [];
    if (record.emailRecovery?.status === 'pending' && record.emailRecovery.expiresAt > now) {
      events.push({ type: 'email_recovery.cancelled', userId, at: now, cause: 'mfa_reset' });
    }
    events.push(...forgetAllEvents(record, userId, now, 'mfa_reset'));
    events.push({ type: 'mfa.reset', userId, at: now, actor, reason });
    return { write: resetFactors(clearLock(record)), result: { ok: true }, events };
  }, async () => {
    await ctx.codes.clear(userId);
  });
}
