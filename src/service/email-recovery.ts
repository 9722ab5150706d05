/**
 * Email recovery, for a user who lost both the app and the codes: a token
 * the host emails as a link, usable only after a waiting period and before
 * it expires. Any MFA login and any lock cancel it, and every step emits an
 * event the host turns into an email, so the real owner sees a thief
 * holding only the mailbox and stops them.
 */
import type { HmacKey } from '../seal.ts';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { lengthPrefixed } from '../length-prefixed.ts';
import { assertUserId, type ServiceContext } from './context.ts';
import { forgetAllEvents } from './devices.ts';
import type { MfaEvent } from './events.ts';
import type { MfaRecord } from '../stores/types.ts';
import { activeLock, lockedResult } from './lock.ts';
import { clearLock, isEnabled, resetFactors, withChanges } from './record.ts';
import type { CancelEmailRecoveryResult, CompleteEmailRecoveryResult, RequestEmailRecoveryResult } from './results.ts';

const EMAIL_TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** Keyed hash of an emailed token, bound to the user; the token itself is never stored. */
function tokenHash(key: HmacKey, userId: string, token: string): string {
  return createHmac('sha256', key).update(lengthPrefixed([userId])).update(token).digest('hex');
}

/**
 * The rule that makes the wait worth it: a successful second factor (a
 * login or a step-up) proves the real owner is here, so a pending email
 * recovery is cancelled and the owner told. (A remembered device does not:
 * an owner who lost the phone may still hold a remembered browser.)
 */
export function cancelOnPossession(
  record: MfaRecord,
  userId: string,
  now: number,
  cause: 'mfa_login' | 'step_up',
  events: MfaEvent[],
): MfaRecord['emailRecovery'] {
  const pending = record.emailRecovery;
  if (pending?.status !== 'pending' || pending.expiresAt <= now) return pending;
  events.push({ type: 'email_recovery.cancelled', userId, at: now, cause });
  return { ...pending, status: 'cancelled' };
}

/** `MfaService.requestEmailRecovery`. */
export async function requestEmailRecovery(ctx: ServiceContext, userId: string): Promise<RequestEmailRecoveryResult> {
  assertUserId(userId);
  const token = randomBytes(32).toString('base64url');
  const [key] = ctx.ring.hmacKeys('email-token');
  const hash = tokenHash(key!, userId, token);
  return ctx.update<RequestEmailRecoveryResult>(userId, (record, now) => {
    if (!isEnabled(record)) return { write: null, result: { ok: false, reason: 'not_enrolled' } };
    // While locked the owner could not sign in to stop it (a lock cancels a pending one for the same reason).
    const lock = activeLock(record, now);
    if (lock) return { write: null, result: lockedResult(lock) };
    const notBefore = now + ctx.options.emailDelayMs;
    const expiresAt = now + ctx.options.emailTtlMs;
    const events: MfaEvent[] = [];
    if (record.emailRecovery?.status === 'pending' && record.emailRecovery.expiresAt > now) {
      events.push({ type: 'email_recovery.cancelled', userId, at: now, cause: 'superseded' });
    }
    events.push({ type: 'email_recovery.requested', userId, at: now, notBefore, expiresAt });
    return {
      write: withChanges(record, { emailRecovery: { tokenHash: hash, requestedAt: now, notBefore, expiresAt, status: 'pending' } }),
      result: { ok: true, token, notBefore, expiresAt },
      events,
    };
  });
}

/** `MfaService.completeEmailRecovery`. */
export async function completeEmailRecovery(ctx: ServiceContext, userId: string, token: string): Promise<CompleteEmailRecoveryResult> {
  assertUserId(userId);
  if (typeof token !== 'string' || !EMAIL_TOKEN.test(token)) return { ok: false, reason: 'malformed' };
  const hashes = ctx.ring.hmacKeys('email-token').map((key) => Buffer.from(tokenHash(key, userId, token), 'hex'));
  return ctx.update<CompleteEmailRecoveryResult>(userId, (record, now) => {
    const pending = record.emailRecovery;
    if (!isEnabled(record) || pending === null) return { write: null, result: { ok: false, reason: 'not_requested' } };
    const stored = Buffer.from(pending.tokenHash, 'hex');
    let match = false;
    for (const hash of hashes) if (hash.length === stored.length && timingSafeEqual(hash, stored)) match = true;
    if (!match) return { write: null, result: { ok: false, reason: 'invalid_token' } };
    if (pending.status === 'cancelled') return { write: null, result: { ok: false, reason: 'cancelled' } };
    if (now >= pending.expiresAt) return { write: null, result: { ok: false, reason: 'expired' } };
    if (now < pending.notBefore) return { write: null, result: { ok: false, reason: 'too_early' } };
    // No lock can be active here: a lock cancels a pending recovery, and none can be requested while locked.
    return {
      write: resetFactors(clearLock(record)),
      result: { ok: true },
      events: [{ type: 'email_recovery.completed', userId, at: now }, ...forgetAllEvents(record, userId, now, 'email_recovery')],
    };
  }, async () => {
    await ctx.codes.clear(userId);
  });
}

/** `MfaService.cancelEmailRecovery`. */
export async function cancelEmailRecovery(ctx: ServiceContext, userId: string): Promise<CancelEmailRecoveryResult> {
  assertUserId(userId);
  return ctx.update<CancelEmailRecoveryResult>(userId, (record, now) => {
    const pending = record.emailRecovery;
    if (pending?.status !== 'pending' || pending.expiresAt <= now) return { write: null, result: { ok: false, reason: 'not_requested' } };
    return {
      write: withChanges(record, { emailRecovery: { ...pending, status: 'cancelled' } }),
      result: { ok: true },
      events: [{ type: 'email_recovery.cancelled', userId, at: now, cause: 'manual' }],
    };
  });
}
