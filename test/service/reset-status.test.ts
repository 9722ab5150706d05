/**
 * Support and hints (DESIGN.md §6.4): `resetMfa` for support, and what
 * `status` tells the host (`methods`, `attention`). Each test is named after
 * the rule it checks and fails if the rule goes.
 */
import { describe, expect, it } from 'vitest';
import type { Attention } from '../../src/service/results.ts';
import { codeAt, DAY, expectMfaError, type Harness, MINUTE, ok } from './fixtures.ts';
import { grantFor, keyHarness, newKey, ORIGIN, registerKey, RP, stepUp, stepUpChallenge, stepUpWithKey } from './webauthn-fixtures.ts';

const SUPPORT = { actor: 'support:carol', reason: 'lost phone and codes; identity checked by video call' };

async function attentionOf(h: Harness, userId = 'alice'): Promise<Attention[]> {
  return [...(await h.mfa.status(userId)).attention].sort();
}

// ---------------------------------------------------------------------------

describe('resetMfa (§6.4)', () => {
  it('removes every factor, the codes, pending enrollments and email recovery, and emits mfa.reset {actor, reason}', async () => {
    const h = keyHarness();
    const key = newKey();
    await registerKey(h, 'alice', key);
    const codes = ok(await h.mfa.revealRecoveryCodes('alice')).codes;
    const grant = ok(await stepUpWithKey(h, 'alice', key)).grant;
    await registerKey(h, 'alice', newKey(), { proof: { stepUp: grant } });
    const again = ok(await stepUpWithKey(h, 'alice', key)).grant;
    const pendingApp = ok(await h.mfa.beginEnrollment('alice', { accountName: 'a@example.com', proof: { stepUp: again } }));
    const pendingKey = ok(await h.mfa.beginWebAuthnRegistration('alice', { userName: 'alice@example.com', proof: { stepUp: again } }));
    const requested = ok(await h.mfa.requestEmailRecovery('alice'));
    expect(await h.codes.countUnused('alice')).toBe(10);

    const mark = h.events.length;
    expect(await h.mfa.resetMfa('alice', SUPPORT)).toEqual({ ok: true });
    expect(h.events.slice(mark)).toEqual([
      { type: 'email_recovery.cancelled', userId: 'alice', at: h.now, cause: 'mfa_reset' },
      { type: 'mfa.reset', userId: 'alice', at: h.now, ...SUPPORT },
    ]);

    expect(await h.mfa.listFactors('alice')).toEqual([]);
    expect(await h.codes.countUnused('alice')).toBe(0);
    expect(await h.record('alice')).toMatchObject({
      factors: [],
      pendingTotp: null,
      pendingWebAuthn: null,
      emailRecovery: null,
      recoveryCodeSet: null,
      unrevealedCodes: null,
    });
    expect(await h.mfa.status('alice')).toEqual({ state: 'registered', recoveryCodesRemaining: 0, recoveryCodesUnrevealed: false, methods: [], attention: [] });
    expect(await h.mfa.startLogin('alice')).toEqual({ ok: true, mfaRequired: false });
    // Nothing that was pending can be finished.
    expect(await h.mfa.confirmEnrollment('alice', codeAt(pendingApp.secret, h.now))).toEqual({ ok: false, reason: 'not_enrolling' });
    const late = newKey().register({ challenge: pendingKey.options.challenge, origin: ORIGIN, rpId: RP.rpId });
    expect(await h.mfa.finishWebAuthnRegistration('alice', late)).toEqual({ ok: false, reason: 'not_registering' });
    h.clock.set(requested.notBefore);
    expect((await h.mfa.completeEmailRecovery('alice', requested.token)).ok).toBe(false);
    // The first factor after a reset needs no proof, and the old codes stay dead.
    await registerKey(h, 'alice', key);
    expect(await h.login('alice', { recoveryCode: codes[0]! })).toMatchObject({ ok: false, reason: 'invalid_code' });
  });

  it('kills every open challenge and step-up grant', async () => {
    const h = keyHarness();
    const u = await h.enroll('alice');
    const login = await h.challenge('alice');
    const sudo = (await stepUpChallenge('alice', h.mfa)).challenge;
    const grant = await grantFor(h, 'alice', u.secret);
    ok(await h.mfa.resetMfa('alice', SUPPORT));
    expect(await h.mfa.verifyLogin(login, { totp: h.freshCode(u.secret) })).toEqual({ ok: false, reason: 'challenge_invalid' });
    // Enabled again: what was issued before still does not work.
    const again = await h.enroll('alice');
    expect(await h.mfa.verifyLogin(login, { totp: h.freshCode(again.secret) })).toEqual({ ok: false, reason: 'challenge_invalid' });
    expect(await h.mfa.verifyStepUp(sudo, { totp: h.freshCode(again.secret) })).toEqual({ ok: false, reason: 'challenge_invalid' });
    expect(await h.mfa.regenerateRecoveryCodes('alice', { stepUp: grant })).toEqual({ ok: false, reason: 'step_up_invalid' });
    ok(await h.login('alice', { totp: h.freshCode(again.secret) }));
  });

  const LOCKS = [
    { cause: 'manual', lockout: {}, lockIt: async (h: Harness) => void ok(await h.mfa.lock('alice', { reason: 'suspected takeover' })) },
    { cause: 'failures', lockout: {}, lockIt: failFive },
    { cause: 'failure_limit', lockout: { maxFailures: 5, hardLimit: 5 }, lockIt: failFive },
  ] as const;
  async function failFive(h: Harness, secret: string): Promise<void> {
    for (let i = 0; i < 5; i++) await h.login('alice', { totp: h.wrongCode(secret) });
  }

  it.each(LOCKS)('ends every lock: $cause', async ({ cause, lockout, lockIt }) => {
    const h = keyHarness({ lockout });
    const u = await h.enroll('alice');
    await lockIt(h, u.secret);
    expect(await h.mfa.status('alice')).toMatchObject({ state: 'locked', lockCause: cause });
    ok(await h.mfa.resetMfa('alice', SUPPORT));
    const status = await h.mfa.status('alice');
    expect(status.state).toBe('registered');
    expect(status.lockedUntil).toBeUndefined();
    expect(await h.record('alice')).toMatchObject({
      failures: 0,
      failuresSinceSuccess: 0,
      lockCount: 0,
      lockedUntil: null,
      lockedIndefinitely: false,
      lockCause: null,
    });
    // Enrolling again works at once, and the next lock starts afresh (base length, counters from zero).
    const again = await h.enroll('alice');
    for (let i = 0; i < 4; i++) expect(await h.login('alice', { totp: h.wrongCode(again.secret) })).toMatchObject({ reason: 'invalid_code' });
    const retryAt = cause === 'failure_limit' ? null : h.now + MINUTE;
    expect(await h.login('alice', { totp: h.wrongCode(again.secret) })).toEqual({ ok: false, reason: 'locked', retryAt });
  });

  it.each([
    ['no options', undefined],
    ['an empty object', {}],
    ['an empty actor', { actor: '', reason: 'x' }],
    ['a blank actor', { actor: '   ', reason: 'x' }],
    ['a non-string actor', { actor: 42, reason: 'x' }],
    ['an actor of 201 characters', { actor: 'a'.repeat(201), reason: 'x' }],
    ['an actor with a lone surrogate', { actor: 'support \ud800', reason: 'x' }],
    ['no reason', { actor: 'support:carol' }],
    ['an empty reason', { actor: 'support:carol', reason: '' }],
    ['a non-string reason', { actor: 'support:carol', reason: ['x'] }],
    ['a reason of 201 characters', { actor: 'support:carol', reason: 'r'.repeat(201) }],
  ])('invalid actor or reason throws invalid_argument and changes nothing: %s', async (_name, options) => {
    const h = keyHarness();
    await h.enroll('alice');
    await expectMfaError(h.mfa.resetMfa('alice', options as unknown as typeof SUPPORT), 'invalid_argument');
    expect(await h.mfa.listFactors('alice')).toHaveLength(1);
    expect(await h.codes.countUnused('alice')).toBe(10);
    expect(h.eventsOf('mfa.reset')).toEqual([]);
  });

  it('a 200-character actor and reason are accepted', async () => {
    const h = keyHarness();
    await h.enroll('alice');
    ok(await h.mfa.resetMfa('alice', { actor: 'a'.repeat(200), reason: 'r'.repeat(200) }));
  });
});

describe('status().methods: what a login may use, strongest first', () => {
  it('for each combination of factors, and the same as startLogin offers', async () => {
    const h = keyHarness();
    const cases: Array<[string, () => Promise<void>, string[]]> = [
      ['unknown', async () => {}, []],
      ['enrolling', async () => void ok(await h.mfa.beginEnrollment('enrolling', { accountName: 'e@example.com' })), []],
      ['app', async () => void (await h.enroll('app')), ['totp', 'recovery_code']],
      ['key', async () => void (await registerKey(h, 'key', newKey())), ['webauthn', 'recovery_code']],
      ['keys', async () => {
        const key = newKey();
        await registerKey(h, 'keys', key);
        await registerKey(h, 'keys', newKey(), { proof: { stepUp: ok(await stepUpWithKey(h, 'keys', key)).grant } });
      }, ['webauthn', 'recovery_code']],
      ['both', async () => {
        const u = await h.enroll('both');
        await registerKey(h, 'both', newKey(), { proof: { totp: h.freshCode(u.secret) } });
      }, ['webauthn', 'totp', 'recovery_code']],
    ];
    for (const [userId, setUp, methods] of cases) {
      await setUp();
      expect((await h.mfa.status(userId)).methods, userId).toEqual(methods);
      const started = await h.mfa.startLogin(userId);
      if (methods.length > 0) expect(started, userId).toMatchObject({ methods });
      else expect(started, userId).toEqual({ ok: true, mfaRequired: false });
    }
  });
});

describe('status().attention (§6.4)', () => {
  it('recovery_codes_unrevealed while a set waits to be shown once', async () => {
    const h = keyHarness();
    const begun = ok(await h.mfa.beginEnrollment('alice', { accountName: 'a@example.com' }));
    ok(await h.mfa.confirmEnrollment('alice', codeAt(begun.secret, h.now)));
    expect(await attentionOf(h)).toEqual(['recovery_codes_unrevealed', 'single_factor']);
    ok(await h.mfa.revealRecoveryCodes('alice'));
    expect(await attentionOf(h)).toEqual(['single_factor']);
    ok(await h.mfa.regenerateRecoveryCodes('alice', { totp: h.freshCode(begun.secret) }));
    expect(await attentionOf(h)).toEqual(['recovery_codes_unrevealed', 'single_factor']);
  });

  it('recovery_codes_low with two or fewer unused codes', async () => {
    const h = keyHarness();
    const u = await h.enroll('alice');
    for (const code of u.codes.slice(0, 7)) ok(await h.login('alice', { recoveryCode: code }));
    expect((await h.mfa.status('alice')).recoveryCodesRemaining).toBe(3);
    expect(await attentionOf(h)).toEqual(['single_factor']);
    ok(await h.login('alice', { recoveryCode: u.codes[7]! }));
    expect(await attentionOf(h)).toEqual(['recovery_codes_low', 'single_factor']);
    for (const code of u.codes.slice(8)) ok(await h.login('alice', { recoveryCode: code }));
    expect((await h.mfa.status('alice')).recoveryCodesRemaining).toBe(0);
    expect(await attentionOf(h)).toEqual(['recovery_codes_low', 'single_factor']);
    ok(await h.mfa.regenerateRecoveryCodes('alice', { totp: h.freshCode(u.secret) }));
    ok(await h.mfa.revealRecoveryCodes('alice'));
    expect(await attentionOf(h)).toEqual(['single_factor']);
  });

  it('single_factor with exactly one factor (an app or a key), gone with a second', async () => {
    const h = keyHarness();
    const u = await h.enroll('alice');
    expect(await attentionOf(h)).toEqual(['single_factor']);
    const keyId = await registerKey(h, 'alice', newKey(), { proof: { totp: h.freshCode(u.secret) } });
    expect(await attentionOf(h)).toEqual([]);
    ok(await h.mfa.removeFactor('alice', keyId, { totp: h.freshCode(u.secret) }));
    expect(await attentionOf(h)).toEqual(['single_factor']);

    const key = newKey();
    await registerKey(h, 'bob', key);
    ok(await h.mfa.revealRecoveryCodes('bob'));
    expect(await attentionOf(h, 'bob')).toEqual(['single_factor']);
    await registerKey(h, 'bob', newKey(), { proof: { stepUp: ok(await stepUpWithKey(h, 'bob', key)).grant } });
    expect(await attentionOf(h, 'bob')).toEqual([]);
  });

  it.each([
    ['a login', async (h: Harness, secret: string) => void ok(await h.login('alice', { totp: h.freshCode(secret) }))],
    ['a step-up', async (h: Harness, secret: string) => void ok(await stepUp(h, 'alice', { totp: h.freshCode(secret) }))],
  ])('checkup_due when enabled more than 28 days ago with no MFA since; cleared by %s', async (_name, useMfa) => {
    const h = keyHarness();
    const u = await h.enroll('alice');
    h.clock.set(u.confirmedAt + 28 * DAY);
    expect(await attentionOf(h)).toEqual(['single_factor']);
    h.clock.set(u.confirmedAt + 28 * DAY + 1);
    expect(await attentionOf(h)).toEqual(['checkup_due', 'single_factor']);
    await useMfa(h, u.secret);
    expect(await attentionOf(h)).toEqual(['single_factor']);
    h.clock.advance(365 * DAY);
    expect(await attentionOf(h)).toEqual(['single_factor']);
  });

  it('checkup_due never comes for a user who used MFA after enabling it', async () => {
    const h = keyHarness();
    const u = await h.enroll('alice');
    h.clock.advance(DAY);
    ok(await h.login('alice', { totp: h.freshCode(u.secret) }));
    h.clock.advance(60 * DAY);
    expect(await attentionOf(h)).toEqual(['single_factor']);
  });

  it('none for registered users: unknown, enrolling, disabled, reset', async () => {
    const h = keyHarness();
    ok(await h.mfa.beginEnrollment('enrolling', { accountName: 'e@example.com' }));
    const disabled = await h.enroll('disabled');
    ok(await h.mfa.disable('disabled', { totp: h.freshCode(disabled.secret) }));
    await h.enroll('reset');
    ok(await h.mfa.resetMfa('reset', SUPPORT));
    h.clock.advance(60 * DAY);
    for (const userId of ['unknown', 'enrolling', 'disabled', 'reset']) {
      const status = await h.mfa.status(userId);
      expect(status.state, userId).toBe('registered');
      expect(status.attention, userId).toEqual([]);
      expect(status.methods, userId).toEqual([]);
    }
    const enrolling = ok(await h.mfa.beginEnrollment('fresh', { accountName: 'f@example.com' }));
    expect(await h.mfa.status('fresh')).toMatchObject({ state: 'enrolling', enrollmentExpiresAt: enrolling.expiresAt, attention: [] });
  });
});
