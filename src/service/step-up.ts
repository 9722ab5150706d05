/**
 * Step-up ("sudo mode"): a signed-in user answers a fresh second-factor
 * challenge and gets a grant (step-up-grant.ts) that the sensitive calls
 * accept as `{ stepUp: grant }` for `stepUpTtlMs`: disable, regenerate,
 * remove a factor, add a factor. The same proofs and lockout as a login.
 */
import { openChallenge } from './challenge.ts';
import { assertUserId, type ServiceContext } from './context.ts';
import type { MfaEvent } from './events.ts';
import { cancelOnPossession } from './email-recovery.ts';
import { activeLock, lockedResult } from './lock.ts';
import { issueChallenge, spendChallenge } from './mfa-challenge.ts';
import { withProof } from './proof.ts';
import { isEnabled, withChanges } from './record.ts';
import type { Proof, StartStepUpResult, VerifyStepUpResult } from './results.ts';
import { signGrant } from './step-up-grant.ts';

/** `MfaService.startStepUp`. */
export async function startStepUp(ctx: ServiceContext, userId: string): Promise<StartStepUpResult> {
  assertUserId(userId);
  const now = ctx.now();
  const record = (await ctx.read(userId))?.record;
  if (record) {
    const lock = activeLock(record, now);
    if (lock) return { ...lockedResult(lock), mfaRequired: true };
  }
  if (!record || !isEnabled(record)) return { ok: false, reason: 'not_enrolled' };
  return issueChallenge(ctx, userId, record, now, 'step_up');
}

/** `MfaService.verifyStepUp`. */
export async function verifyStepUp(ctx: ServiceContext, challenge: string, proof: Proof): Promise<VerifyStepUpResult> {
  const claims = openChallenge(ctx.ring.hmacKeys('challenge'), challenge, 'step_up');
  if (claims === null) return { ok: false, reason: 'challenge_invalid' };
  if (claims.expiresAt <= ctx.now()) return { ok: false, reason: 'challenge_expired' };
  const userId = claims.userId;
  return withProof<VerifyStepUpResult>(ctx, userId, proof, 'step_up', claims, {
    onSuccess: (record, now, { method, factorId }) => {
      const events: MfaEvent[] = [];
      const emailRecovery = cancelOnPossession(record, userId, now, 'step_up', events);
      const fresh = method as Exclude<typeof method, 'step_up'>;
      events.push({ type: 'step_up.succeeded', userId, at: now, method: fresh, ...(factorId ? { factorId } : {}) });
      const expiresAt = now + ctx.options.stepUpTtlMs;
      const grant = signGrant(ctx.ring.hmacKeys('step-up')[0]!, { userId, expiresAt, factorEpoch: record.factorEpoch });
      return {
        write: withChanges(record, { emailRecovery, ...spendChallenge(ctx, record, claims, now) }),
        result: { ok: true, userId, method: fresh, ...(factorId ? { factorId } : {}), grant, expiresAt },
        events,
      };
    },
  });
}
