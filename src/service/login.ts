/**
 * The login flow: `startLogin` after the host's password step (no session
 * yet when MFA is required), `verifyLogin` with the second factor (the host
 * creates the session only on `ok: true`). Challenges are signed and
 * stateless; single use comes from the record (spent ids, epoch).
 */
import { openChallenge } from './challenge.ts';
import { assertUserId, type ServiceContext } from './context.ts';
import type { MfaEvent } from './events.ts';
import { activeLock, lockedResult } from './lock.ts';
import { issueChallenge, spendChallenge } from './mfa-challenge.ts';
import { withProof } from './proof.ts';
import { isEnabled } from './record.ts';
import type { Proof, StartLoginResult, VerifyLoginResult } from './results.ts';

/** `MfaService.startLogin`. */
export async function startLogin(ctx: ServiceContext, userId: string): Promise<StartLoginResult> {
  assertUserId(userId);
  const now = ctx.now();
  const record = (await ctx.read(userId))?.record;
  if (!record) return { ok: true, mfaRequired: false };
  const lock = activeLock(record, now);
  if (lock) return { ...lockedResult(lock), mfaRequired: true };
  if (!isEnabled(record)) return { ok: true, mfaRequired: false };
  return issueChallenge(ctx, userId, record, now, 'login');
}

/** `MfaService.verifyLogin`. */
export async function verifyLogin(ctx: ServiceContext, challenge: string, proof: Proof): Promise<VerifyLoginResult> {
  const claims = openChallenge(ctx.ring.macKeys('challenge'), challenge, 'login');
  if (claims === null) return { ok: false, reason: 'challenge_invalid' };
  if (claims.expiresAt <= ctx.now()) return { ok: false, reason: 'challenge_expired' };
  const userId = claims.userId;
  return withProof<VerifyLoginResult>(ctx, userId, proof, 'login', claims, {
    onSuccess: (record, now, { method, factorId, remaining }) => {
      const events: MfaEvent[] = [];
      // The real owner just proved possession: a pending email recovery is cancelled.
      let emailRecovery = record.emailRecovery;
      if (emailRecovery?.status === 'pending' && emailRecovery.expiresAt > now) {
        emailRecovery = { ...emailRecovery, status: 'cancelled' };
        events.push({ type: 'email_recovery.cancelled', userId, at: now, cause: 'mfa_login' });
      }
      return {
        write: { ...record, emailRecovery, ...spendChallenge(record, claims, now) },
        // withProof never hands a step-up grant to a login.
        result: { ok: true, userId, method: method as Exclude<typeof method, 'step_up'>, ...(factorId ? { factorId } : {}), recoveryCodesRemaining: remaining },
        events,
      };
    },
  });
}
