/**
 * The whole flow of DESIGN.md §1, as one user lives it: a walk through
 * every state, with the host's decision (create a session or not) at each
 * login.
 */
import { describe, expect, it } from 'vitest';
import type { MfaService } from '../../src/service/mfa-service.ts';
import type { Proof } from '../../src/service/results.ts';
import { codeAt, DAY, Harness, HOUR, MINUTE, ok, wrongCodeAt } from './fixtures.ts';

/** What a host does after the password check: true when it may create a session. */
async function hostLogin(mfa: MfaService, userId: string, secondFactor?: () => Proof): Promise<boolean> {
  const started = await mfa.startLogin(userId);
  if (!started.mfaRequired) return true;
  if (!started.ok || secondFactor === undefined) return false;
  const verified = await mfa.verifyLogin(started.challenge, secondFactor());
  return verified.ok && verified.userId === userId;
}

describe('the flow of DESIGN.md §1', () => {
  it('signup → enroll → login → lock → recovery codes → disable → re-enroll → email recovery → enroll again', async () => {
    const h = new Harness();
    const { mfa, clock } = h;
    const user = 'user-1';

    // Signup (host): registered, no record needed; login needs no second factor.
    expect(await mfa.status(user)).toEqual({ state: 'registered', recoveryCodesRemaining: 0, recoveryCodesUnrevealed: false, methods: [], attention: [] });
    expect(await mfa.startLogin(user)).toEqual({ ok: true, mfaRequired: false });
    expect(h.users.size).toBe(0);

    // beginEnrollment: enrolling; the pending secret does not affect login yet.
    const begun = ok(await mfa.beginEnrollment(user, { accountName: 'ada@example.com' }));
    expect(begun.qrDataUrl).toMatch(/^data:image\/png;base64,/);
    expect(begun.uri).toContain(begun.secret);
    expect((await mfa.status(user)).state).toBe('enrolling');
    expect(await hostLogin(mfa, user)).toBe(true);
    const secret = begun.secret;

    // confirmEnrollment with the first code: enabled.
    clock.advance(20_000);
    expect(await mfa.confirmEnrollment(user, wrongCodeAt(secret, clock.ms))).toEqual({ ok: false, reason: 'invalid_code' });
    ok(await mfa.confirmEnrollment(user, codeAt(secret, clock.ms)));
    expect(await mfa.status(user)).toMatchObject({ state: 'enabled', recoveryCodesRemaining: 10, recoveryCodesUnrevealed: true });

    // revealRecoveryCodes: once.
    const revealed = ok(await mfa.revealRecoveryCodes(user));
    expect(revealed.codes).toHaveLength(10);
    expect(revealed.text).toContain('ada@example.com');
    expect(await mfa.revealRecoveryCodes(user)).toEqual({ ok: false, reason: 'already_revealed' });
    const codes = [...revealed.codes];

    // Login: the password alone is not enough any more.
    expect(await hostLogin(mfa, user)).toBe(false);
    clock.advance(HOUR);
    expect(await hostLogin(mfa, user, () => ({ totp: codeAt(secret, clock.ms) }))).toBe(true);
    // The same code again (a shoulder-surfer replaying it) is refused.
    expect(await hostLogin(mfa, user, () => ({ totp: codeAt(secret, clock.ms) }))).toBe(false);

    // Too many wrong codes: locked, even the right code is refused; the lock expires.
    clock.advance(MINUTE);
    const challenge = await h.challenge(user);
    for (let i = 0; i < 5; i++) await mfa.verifyLogin(challenge, { totp: h.wrongCode(secret) });
    expect(await mfa.status(user)).toMatchObject({ state: 'locked', lockedUntil: clock.ms + MINUTE });
    expect(await mfa.startLogin(user)).toMatchObject({ ok: false, reason: 'locked', mfaRequired: true });
    expect(await hostLogin(mfa, user, () => ({ totp: codeAt(secret, clock.ms) }))).toBe(false);
    expect(await mfa.verifyLogin(challenge, { totp: codeAt(secret, clock.ms) })).toMatchObject({ ok: false, reason: 'locked' });
    clock.advance(MINUTE);
    expect((await mfa.status(user)).state).toBe('enabled');
    expect(await hostLogin(mfa, user, () => ({ totp: codeAt(secret, clock.ms) }))).toBe(true);

    // Lost phone: a recovery code logs in, once.
    clock.advance(DAY);
    const mark = h.events.length;
    const byCode = ok(await mfa.verifyLogin(await h.challenge(user), { recoveryCode: codes[0]!.toLowerCase() }));
    expect(byCode).toEqual({ ok: true, userId: user, method: 'recovery_code', recoveryCodesRemaining: 9 });
    expect(h.typesSince(mark)).toEqual(['login.succeeded', 'recovery_code.used']);
    expect(await hostLogin(mfa, user, () => ({ recoveryCode: codes[0]! }))).toBe(false);

    // Regenerate (proof: another recovery code): every old code dies.
    expect(await mfa.regenerateRecoveryCodes(user, { recoveryCode: codes[1]! })).toEqual({ ok: true, method: 'recovery_code' });
    const regenerated = ok(await mfa.revealRecoveryCodes(user)).codes;
    expect(await hostLogin(mfa, user, () => ({ recoveryCode: codes[2]! }))).toBe(false);
    expect((await mfa.status(user)).recoveryCodesRemaining).toBe(10);

    // Disable with a recovery code: registered again, login needs no second factor.
    expect(await mfa.disable(user, { recoveryCode: regenerated[0]! })).toEqual({ ok: true, method: 'recovery_code' });
    expect(await mfa.status(user)).toEqual({ state: 'registered', recoveryCodesRemaining: 0, recoveryCodesUnrevealed: false, methods: [], attention: [] });
    expect(await hostLogin(mfa, user)).toBe(true);

    // Re-enroll with a new phone.
    clock.advance(DAY);
    const second = await h.enroll(user);
    expect(second.secret).not.toBe(secret);
    expect(await hostLogin(mfa, user, () => ({ recoveryCode: regenerated[1]! }))).toBe(false);
    expect(await hostLogin(mfa, user, () => ({ totp: codeAt(secret, clock.ms + 30_000) }))).toBe(false);
    expect(await hostLogin(mfa, user, () => ({ totp: h.freshCode(second.secret) }))).toBe(true);

    // Someone with access to the mailbox asks for email recovery; the real
    // owner is told (event), signs in with the phone during the wait, and the
    // recovery is cancelled.
    const theft = ok(await mfa.requestEmailRecovery(user));
    expect(h.events.at(-1)).toMatchObject({ type: 'email_recovery.requested', notBefore: theft.notBefore });
    expect((await mfa.status(user)).pendingEmailRecovery).toBeDefined();
    clock.advance(2 * HOUR);
    expect(await hostLogin(mfa, user, () => ({ totp: h.freshCode(second.secret) }))).toBe(true);
    expect(h.events.at(-1)).toMatchObject({ type: 'email_recovery.cancelled', cause: 'mfa_login' });
    clock.set(theft.notBefore);
    expect(await mfa.completeEmailRecovery(user, theft.token)).toEqual({ ok: false, reason: 'cancelled' });
    expect((await mfa.status(user)).state).toBe('enabled');

    // Now the owner really loses phone and codes: request, wait, complete.
    const real = ok(await mfa.requestEmailRecovery(user));
    expect(await mfa.completeEmailRecovery(user, real.token)).toEqual({ ok: false, reason: 'too_early' });
    clock.set(real.notBefore);
    const before = h.events.length;
    ok(await mfa.completeEmailRecovery(user, real.token));
    expect(h.typesSince(before)).toEqual(['email_recovery.completed']);
    expect(await mfa.status(user)).toEqual({ state: 'registered', recoveryCodesRemaining: 0, recoveryCodesUnrevealed: false, methods: [], attention: [] });
    expect(await hostLogin(mfa, user)).toBe(true);
    expect(await mfa.completeEmailRecovery(user, real.token)).toEqual({ ok: false, reason: 'not_requested' });

    // And can enroll again; nothing of the old factor works.
    const third = await h.enroll(user);
    expect(await hostLogin(mfa, user, () => ({ totp: codeAt(second.secret, clock.ms + 30_000) }))).toBe(false);
    expect(await hostLogin(mfa, user, () => ({ recoveryCode: second.codes[0]! }))).toBe(false);
    expect(await hostLogin(mfa, user, () => ({ totp: h.freshCode(third.secret) }))).toBe(true);
    expect(await hostLogin(mfa, user, () => ({ recoveryCode: third.codes[0]! }))).toBe(true);
    expect(await mfa.status(user)).toMatchObject({ state: 'enabled', recoveryCodesRemaining: 9 });

    // Every event was about this user, in time order.
    expect(new Set(h.events.map((e) => e.userId))).toEqual(new Set([user]));
    expect(h.events.map((e) => e.at)).toEqual([...h.events.map((e) => e.at)].sort((a, b) => a - b));
  });
});
