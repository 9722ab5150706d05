import { assertUserId, type ServiceContext } from './context.ts';
import { forgetAllEvents } from './devices.ts';
import type { MfaEvent } from './events.ts';
import { withProof } from './proof.ts';
import { resetFactors } from './record.ts';
import type { DisableResult, Proof } from './results.ts';

/**
 * `MfaService.disable`: turn MFA off after a valid proof. Every factor, the
 * codes and a pending email recovery are gone; every open challenge and
 * step-up grant dies.
 */
export async function disable(ctx: ServiceContext, userId: string, proof: Proof): Promise<DisableResult> {
  assertUserId(userId);
  return withProof<DisableResult>(ctx, userId, proof, 'disable', null, {
    remainingAfter: () => 0,
    onSuccess: (record, now, { method }) => {
      const events: MfaEvent[] = [{ type: 'mfa.disabled', userId, at: now, method }];
      if (record.emailRecovery?.status === 'pending' && record.emailRecovery.expiresAt > now) {
        events.push({ type: 'email_recovery.cancelled', userId, at: now, cause: 'mfa_disabled' });
      }
      events.push(...forgetAllEvents(record, userId, now, 'mfa_disabled'));
      return { write: resetFactors(record), result: { ok: true, method }, events };
    },
    afterCommit: async () => {
      await ctx.codes.clear(userId);
    },
  }) as Promise<DisableResult>;
}
