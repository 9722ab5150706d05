/**
 * The login flow: `startLogin` after the host's password step (no session
 * yet when MFA is required), `verifyLogin` with the second factor (the host
 * creates the session only on `ok: true`). Challenges are signed and
 * stateless; single use comes from the record (spent ids, epoch).
 */
import { assertUserId, type ServiceContext } from './context.ts';
import { openChallenge, signChallenge } from './challenge.ts';
import type { MfaEvent } from './events.ts';
import { activeLock, lockedResult } from './lock.ts';
import { withProof } from './proof.ts';
import type { Proof, StartLoginResult, VerifyLoginResult } from './results.ts';

/** Spent challenge ids kept per user; past this the epoch moves on and every open challenge dies. */
const MAX_SPENT_CHALLENGES = 256;

/** `MfaService.startLogin`. */
export async function startLogin(ctx: ServiceContext, userId: string): Promise<StartLoginResult> {
  assertUserId(userId);
  const now = ctx.now();
  const record = (await ctx.read(userId))?.record;
  if (!record) return { ok: true, mfaRequired: false };
  const lock = activeLock(record, now);
  if (lock) return { ...lockedResult(lock), mfaRequired: true };
  if (record.state !== 'enabled') return { ok: true, mfaRequired: false };
  const expiresAt = now + ctx.options.challengeTtlMs;
  const [key] = ctx.ring.macKeys('challenge');
  const { challenge } = signChallenge(key!, { userId, expiresAt, epoch: record.challengeEpoch });
  return { ok: true, mfaRequired: true, challenge, expiresAt };
}

/** `MfaService.verifyLogin`. */
export async function verifyLogin(ctx: ServiceContext, challenge: string, proof: Proof): Promise<VerifyLoginResult> {
  const claims = openChallenge(ctx.ring.macKeys('challenge'), challenge);
  if (claims === null) return { ok: false, reason: 'challenge_invalid' };
  if (claims.expiresAt <= ctx.now()) return { ok: false, reason: 'challenge_expired' };
  const userId = claims.userId;
  return withProof<VerifyLoginResult>(ctx, userId, proof, 'login', claims, {
    onSuccess: (record, now, method, remaining) => {
      const events: MfaEvent[] = [];
      // The real owner just proved possession: a pending email recovery is cancelled.
      let emailRecovery = record.emailRecovery;
      if (emailRecovery?.status === 'pending' && emailRecovery.expiresAt > now) {
        emailRecovery = { ...emailRecovery, status: 'cancelled' };
        events.push({ type: 'email_recovery.cancelled', userId, at: now, cause: 'mfa_login' });
      }
      let spent = record.spentChallenges.filter((c) => c.expiresAt > now);
      let epoch = record.challengeEpoch;
      if (spent.length >= MAX_SPENT_CHALLENGES) {
        epoch += 1;
        spent = [];
      } else {
        spent.push({ id: claims.id, expiresAt: claims.expiresAt });
      }
      return {
        write: { ...record, emailRecovery, spentChallenges: spent, challengeEpoch: epoch },
        result: { ok: true, userId, method, recoveryCodesRemaining: remaining },
        events,
      };
    },
  });
}
