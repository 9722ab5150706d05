/**
 * DESIGN §3, lockout: "while locked, codes are not evaluated at all, no
 * factor can be confirmed or added, codes are not revealed, and every
 * challenge issued before the lock is dead". Every public method is checked
 * against an active lock, temporary (failures) and manual (`lock()`); the
 * README's lock table is this file in words. Issue 8, points 1 and 2.
 */
import { describe, expect, it } from 'vitest';
import type { MfaService } from '../../src/service/mfa-service.ts';
import type { MfaRecord } from '../../src/stores/types.ts';
import { codeAt, expectMfaError, Harness, MINUTE, ok, SECOND, wrongCodeAt } from './fixtures.ts';

type LockKind = 'temporary' | 'manual';

/** Lock `userId` the way `kind` says; returns the retryAt a locked result must carry. */
async function lockUser(h: Harness, userId: string, secret: string | null, kind: LockKind): Promise<number | null> {
  if (kind === 'manual') {
    ok(await h.mfa.lock(userId, { reason: 'suspected takeover' }));
    return null;
  }
  if (secret !== null) {
    const challenge = await h.challenge(userId);
    let last;
    for (let i = 0; i < 5; i++) last = await h.mfa.verifyLogin(challenge, { totp: wrongCodeAt(secret, h.now) });
    expect(last).toMatchObject({ ok: false, reason: 'locked' });
    return (last as { retryAt: number }).retryAt;
  }
  // A user without an enabled factor cannot fail codes: write the lock a failure run leaves.
  const current = (await h.users.get(userId))!;
  const retryAt = h.now + MINUTE;
  const record: MfaRecord = { ...(current.record as MfaRecord), lockedUntil: retryAt, lockCount: 1, lockReason: 'failures', lockCause: 'failures' };
  expect(await h.users.put(userId, record, current.version)).toBe(true);
  return retryAt;
}

const KINDS: LockKind[] = ['temporary', 'manual'];

describe('Locks hold against every public method (issue 8.1)', () => {
  it.each(KINDS)('%s lock: confirmEnrollment of a pending enrollment is refused with locked and every lock field is kept', async (kind) => {
    const h = new Harness();
    const begun = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice' }));
    const retryAt = await lockUser(h, 'alice', null, kind);
    const before = (await h.record('alice'))!;
    const eventsBefore = h.events.length;
    expect(await h.mfa.confirmEnrollment('alice', codeAt(begun.secret, h.now))).toEqual({ ok: false, reason: 'locked', retryAt });
    const after = (await h.record('alice'))!;
    expect(after).toEqual(before);
    expect(after.pendingTotp).not.toBeNull();
    expect(after.factors).toEqual([]);
    expect(await h.mfa.status('alice')).toMatchObject({ state: 'locked', lockedUntil: retryAt, lockCause: kind === 'manual' ? 'manual' : 'failures' });
    expect(h.typesSince(eventsBefore)).toEqual([]);
  });

  it.each(KINDS)('%s lock: every method answers for the lock, nothing is evaluated, revealed or changed', async (kind) => {
    const h = new Harness();
    const begun = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice' }));
    ok(await h.mfa.confirmEnrollment('alice', codeAt(begun.secret, h.now)));
    // The codes are still unrevealed when the lock comes.
    h.clock.advance(30 * SECOND);
    const retryAt = await lockUser(h, 'alice', begun.secret, kind);
    const locked = { ok: false, reason: 'locked', retryAt };
    const valid = codeAt(begun.secret, h.now);
    const before = (await h.record('alice'))!;
    const unusedBefore = await h.codes.countUnused('alice');

    expect(await h.mfa.status('alice')).toMatchObject({ state: 'locked', lockedUntil: retryAt });
    expect(await h.mfa.startLogin('alice')).toEqual({ ...locked, mfaRequired: true });
    expect(await h.mfa.revealRecoveryCodes('alice')).toEqual(locked);
    expect(await h.mfa.beginEnrollment('alice', { accountName: 'alice' })).toEqual(locked);
    expect(await h.mfa.confirmEnrollment('alice', valid)).toEqual(locked);
    expect(await h.mfa.disable('alice', { totp: valid })).toEqual(locked);
    expect(await h.mfa.regenerateRecoveryCodes('alice', { totp: valid })).toEqual(locked);
    expect(await h.mfa.requestEmailRecovery('alice')).toEqual(locked);
    expect(await h.mfa.cancelEmailRecovery('alice')).toEqual({ ok: false, reason: 'not_requested' });
    expect((await h.record('alice'))!).toEqual(before);
    expect(await h.codes.countUnused('alice')).toBe(unusedBefore);

    // unlock ends it; the codes can then be revealed and the valid code works on a new challenge.
    ok(await h.mfa.unlock('alice'));
    expect(ok(await h.mfa.revealRecoveryCodes('alice')).codes).toHaveLength(10);
    ok(await h.login('alice', { totp: valid }));
  });

  it('a temporary lock ends by itself; a manual one and the failure limit only by unlock', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const retryAt = (await lockUser(h, 'alice', u.secret, 'temporary'))!;
    h.clock.set(retryAt);
    expect((await h.mfa.status('alice')).state).toBe('enabled');
    await lockUser(h, 'alice', u.secret, 'manual');
    h.clock.advance(365 * 24 * 60 * MINUTE);
    expect(await h.mfa.status('alice')).toMatchObject({ state: 'locked', lockedUntil: null, lockCause: 'manual' });
  });

  it('a manual lock on a temporarily locked user makes it manual (retryAt null) until unlock', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    await lockUser(h, 'alice', u.secret, 'temporary');
    ok(await h.mfa.lock('alice'));
    expect(await h.mfa.status('alice')).toMatchObject({ state: 'locked', lockedUntil: null, lockCause: 'manual' });
    expect(await h.mfa.revealRecoveryCodes('alice')).toEqual({ ok: false, reason: 'locked', retryAt: null });
  });
});

describe('A lock kills every open challenge (issue 8.2)', () => {
  async function openChallenges(h: Harness, mfa: MfaService = h.mfa): Promise<string[]> {
    return [await h.challenge('alice', mfa), await h.challenge('alice', mfa)];
  }

  it('a challenge issued before lock() does not work after unlock()', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const challenges = await openChallenges(h);
    ok(await h.mfa.lock('alice', { reason: 'support' }));
    ok(await h.mfa.unlock('alice'));
    const code = h.freshCode(u.secret);
    for (const challenge of challenges) {
      expect(await h.mfa.verifyLogin(challenge, { totp: code })).toEqual({ ok: false, reason: 'challenge_invalid' });
      expect(await h.mfa.verifyLogin(challenge, { recoveryCode: u.codes[0]! })).toEqual({ ok: false, reason: 'challenge_invalid' });
    }
    // Nothing was evaluated or spent on the dead challenges.
    expect(await h.codes.countUnused('alice')).toBe(10);
    ok(await h.login('alice', { totp: code }));
  });

  it('a challenge issued before a failure lock does not work after it expires or is unlocked', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const [spare] = await openChallenges(h);
    const retryAt = (await lockUser(h, 'alice', u.secret, 'temporary'))!;
    h.clock.set(retryAt);
    expect(await h.mfa.verifyLogin(spare!, { totp: h.freshCode(u.secret) })).toEqual({ ok: false, reason: 'challenge_invalid' });
  });

  it('a challenge issued before the failure-limit lock does not work after unlock', async () => {
    const h = new Harness({ lockout: { maxFailures: 100 } });
    const u = await h.enroll('alice');
    const spare = await h.challenge('alice');
    const failing = await h.challenge('alice');
    for (let i = 0; i < 100; i++) await h.mfa.verifyLogin(failing, { totp: h.wrongCode(u.secret) });
    expect(await h.mfa.status('alice')).toMatchObject({ state: 'locked', lockedUntil: null, lockCause: 'failure_limit' });
    ok(await h.mfa.unlock('alice'));
    expect(await h.mfa.verifyLogin(spare, { totp: h.freshCode(u.secret) })).toEqual({ ok: false, reason: 'challenge_invalid' });
  });
});

describe('unlock with causes ends only a lock of those causes, atomically', () => {
  it('ends a failure-limit or temporary lock but keeps a manual one', async () => {
    const h = new Harness({ lockout: { maxFailures: 100 } });
    const u = await h.enroll('alice');
    const challenge = await h.challenge('alice');
    for (let i = 0; i < 100; i++) await h.mfa.verifyLogin(challenge, { totp: h.wrongCode(u.secret) });
    ok(await h.mfa.unlock('alice', { causes: ['failures', 'failure_limit'] }));
    expect((await h.mfa.status('alice')).state).toBe('enabled');

    ok(await h.mfa.lock('alice', { reason: 'support' }));
    const before = (await h.record('alice'))!;
    expect(await h.mfa.unlock('alice', { causes: ['failures', 'failure_limit'] })).toEqual({ ok: false, reason: 'cause_mismatch', cause: 'manual' });
    expect(await h.record('alice')).toEqual(before);
    expect(h.eventsOf('account.unlocked')).toHaveLength(1);
    ok(await h.mfa.unlock('alice', { causes: ['manual'] }));
  });

  it("a manual lock with the reason 'failure_limit' is still manual", async () => {
    const h = new Harness();
    await h.enroll('alice');
    ok(await h.mfa.lock('alice', { reason: 'failure_limit' }));
    expect(await h.mfa.status('alice')).toMatchObject({ lockCause: 'manual' });
    expect(await h.mfa.unlock('alice', { causes: ['failure_limit'] })).toMatchObject({ ok: false, reason: 'cause_mismatch' });
  });

  it('not_locked without a lock; junk causes are misuse', async () => {
    const h = new Harness();
    await h.enroll('alice');
    expect(await h.mfa.unlock('alice', { causes: ['failures'] })).toEqual({ ok: false, reason: 'not_locked' });
    await expectMfaError(h.mfa.unlock('alice', { causes: ['everything'] as never }), 'invalid_argument');
    await expectMfaError(h.mfa.unlock('alice', { causes: 'failures' as never }), 'invalid_argument');
  });
});
