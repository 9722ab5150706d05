/**
 * Checking a proof (a TOTP code or a recovery code) for an enabled user,
 * with the replay and lockout rules, for every flow that asks for one:
 * login, disable, regenerate.
 */
import { hashRecoveryCode, normalizeRecoveryCode } from '../recovery-codes.ts';
import type { MfaRecord } from '../stores/types.ts';
import type { ChallengeClaims } from './challenge.ts';
import type { Decision, ServiceContext } from './context.ts';
import type { MfaEvent } from './events.ts';
import { isTotpCode, matchTotpStep } from './factors/totp.ts';
import { resealUnderCurrentKey } from './key-rotation.ts';
import { activeLock, attemptsLeft, failureDecision, lockedResult, type ProofContext } from './lock.ts';
import { clearLock } from './record.ts';
import { remainingCodes, setKey } from './recovery-code-set.ts';
import type { LockedFailure, ProofFailureResult, ProofMethod } from './results.ts';

/** A parsed proof: exactly one TOTP code or one canonical recovery code. */
type ParsedProof = { method: 'totp'; code: string } | { method: 'recovery_code'; code: string };

/** `{ totp }` or `{ recoveryCode }` with a well-formed code, else null. Never throws. */
function parseProof(proof: unknown, digits: number): ParsedProof | null {
  if (typeof proof !== 'object' || proof === null) return null;
  const totp = (proof as { totp?: unknown }).totp;
  const recoveryCode = (proof as { recoveryCode?: unknown }).recoveryCode;
  if (totp !== undefined && recoveryCode === undefined) {
    return isTotpCode(totp, digits) ? { method: 'totp', code: totp } : null;
  }
  if (recoveryCode !== undefined && totp === undefined) {
    const code = normalizeRecoveryCode(recoveryCode);
    return code === null ? null : { method: 'recovery_code', code };
  }
  return null;
}

export interface ProofHandlers<T> {
  onSuccess: (record: MfaRecord, now: number, method: ProofMethod, remaining: number) => Decision<T>;
  /** Unused codes after a success, read before the commit; defaults to the store's count. */
  remainingAfter?: () => number;
  afterCommit?: () => Promise<void>;
}

/**
 * Check a TOTP or recovery-code proof for an enabled user and apply the
 * lockout rules. A valid proof resets the failure count and lets
 * `onSuccess` add its change to the same compare-and-set write. A
 * recovery code is consumed before that write and restored if the write
 * cannot happen, so a store fault never costs the user a code.
 */
export async function withProof<T extends { ok: boolean }>(
  ctx: ServiceContext,
  userId: string,
  rawProof: unknown,
  context: ProofContext,
  claims: ChallengeClaims | null,
  handlers: ProofHandlers<T>,
): Promise<T | ProofFailureResult | LockedFailure | { ok: false; reason: 'challenge_invalid' }> {
  type Outcome = T | ProofFailureResult | LockedFailure | { ok: false; reason: 'challenge_invalid' };
  let consumed: { hash: string; setId: string } | null = null;
  let committed = false;
  try {
    const outcome = await ctx.update<Outcome>(userId, async (record, now) => {
      // A code consumed on an earlier attempt whose write then lost a race
      // was valid, on a live challenge, before whatever concurrent requests
      // wrote since (failures, a lock that moved the challenge epoch): the
      // success is ordered first, and what came after it stays. The set is
      // unchanged (else this is false), so nothing but those moved the epoch.
      const alreadyConsumed = consumed !== null && consumed.setId === record.recoveryCodeSet;
      const lock = activeLock(record, now);
      // The lock is answered first so a locked user learns when to retry.
      if (lock && !alreadyConsumed) return { write: null, result: lockedResult(lock) };
      if (claims !== null) {
        const spent = record.spentChallenges.some((c) => c.id === claims.id);
        if (spent || (!alreadyConsumed && record.challengeEpoch !== claims.epoch)) {
          return { write: null, result: { ok: false, reason: 'challenge_invalid' } };
        }
      }
      if (record.state !== 'enabled' || record.secret === null) {
        return { write: null, result: claims !== null ? { ok: false, reason: 'challenge_invalid' } : { ok: false, reason: 'not_enrolled' } };
      }
      const proof = parseProof(rawProof, record.digits);
      if (proof === null) return { write: null, result: { ok: false, reason: 'malformed' } };

      let failure: 'invalid_code' | 'replayed' | null = null;
      let next: MfaRecord = record;
      if (proof.method === 'totp') {
        const step = matchTotpStep(ctx, userId, record.secret, record, proof.code, now);
        if (step === null) failure = 'invalid_code';
        // A double submit (a double click, a form posted twice, two tabs): the very
        // step just accepted. Refused, but no failure: the owner must not lock
        // themselves out by succeeding. Every older step still counts.
        else if (step === record.lastStep) return { write: null, result: { ok: false, reason: 'replayed', attemptsLeft: attemptsLeft(ctx.options, record) } };
        else if (record.lastStep !== null && step < record.lastStep) failure = 'replayed';
        else next = { ...record, lastStep: step };
      } else if (!alreadyConsumed) {
        if (consumed !== null) {
          // The set changed while our write was losing a race: the old set is dead, give the code back anyway.
          await ctx.codes.restore(userId, consumed.hash);
          consumed = null;
        }
        if (record.recoveryCodeSet !== null) {
          for (const key of ctx.ring.macKeys('recovery-code')) {
            const hash = hashRecoveryCode(userId, proof.code, setKey(key, record.recoveryCodeSet));
            // Should consume itself fail, whether the store spent the code is
            // unknown: it is treated as spent (fail closed, never usable twice).
            if (await ctx.codes.consume(userId, hash)) {
              consumed = { hash, setId: record.recoveryCodeSet };
              break;
            }
          }
        }
        if (consumed === null) failure = 'invalid_code';
      }
      // else: consumed on an earlier attempt whose write lost a race; still ours.

      if (failure !== null) return failureDecision(ctx.options, userId, record, now, proof.method, failure, context);
      next = resealUnderCurrentKey(ctx, next, userId);
      // Read before the commit, so nothing can fail once the record is written.
      const remaining = handlers.remainingAfter ? handlers.remainingAfter() : await remainingCodes(ctx, userId, next);
      const success = handlers.onSuccess(alreadyConsumed ? next : clearLock(next), now, proof.method, remaining);
      const events: MfaEvent[] = [];
      if (context === 'login') events.push({ type: 'login.succeeded', userId, at: now, method: proof.method, recoveryCodesRemaining: remaining });
      if (proof.method === 'recovery_code') {
        events.push({ type: 'recovery_code.used', userId, at: now, context, recoveryCodesRemaining: remaining });
      }
      return { ...success, events: [...events, ...(success.events ?? [])] };
    }, async () => {
      committed = true;
      if (handlers.afterCommit) await handlers.afterCommit();
    });
    if (consumed !== null && !committed) {
      // Ended without writing (the user was disabled or the challenge spent
      // meanwhile): the code was not used, so it must still work.
      await ctx.codes.restore(userId, (consumed as { hash: string }).hash);
    }
    return outcome;
  } catch (error) {
    if (consumed !== null && !committed) {
      // The operation failed before committing, so the code must still work. Best effort: the original error wins.
      const { hash } = consumed as { hash: string };
      await ctx.codes.restore(userId, hash).catch(() => undefined);
    }
    throw error;
  }
}
