/**
 * Step-up, "sudo mode" (DESIGN.md §6.2): a fresh second factor against a
 * step-up challenge gives a grant that the sensitive calls accept for
 * `stepUpTtlMs`, bound to the user and the factor epoch. Each test is named
 * after the rule it checks and fails if the rule goes.
 */
import { describe, expect, it } from 'vitest';
import type { MfaService } from '../../src/service/mfa-service.ts';
import type { Proof } from '../../src/service/results.ts';
import {
  codeAt,
  type Enrolled,
  expectMfaError,
  expectNoSecrets,
  Harness,
  HOUR,
  KEY_1,
  KEY_2,
  MINUTE,
  ok,
  SECOND,
  stringsIn,
} from './fixtures.ts';
import {
  assertionFor,
  grantFor,
  keyHarness,
  newKey,
  ORIGIN,
  registerKey,
  RP,
  stepUp,
  stepUpChallenge,
  stepUpWithKey,
} from './webauthn-fixtures.ts';

/** alice with an authenticator app (codes revealed). */
async function appUser(h: Harness, userId = 'alice'): Promise<Enrolled & { totpId: string }> {
  const u = await h.enroll(userId);
  return { ...u, totpId: (await h.totpFactor(userId))!.id };
}

/** The grant is still accepted: regenerate with it succeeds. */
async function expectLive(mfa: MfaService, userId: string, grant: string): Promise<void> {
  expect(await mfa.regenerateRecoveryCodes(userId, { stepUp: grant })).toEqual({ ok: true, method: 'step_up' });
}

/** The grant is refused as `reason` (never counted). */
async function expectDead(h: Harness, userId: string, grant: string, reason: 'step_up_invalid' | 'step_up_expired' = 'step_up_invalid'): Promise<void> {
  expect(await h.mfa.regenerateRecoveryCodes(userId, { stepUp: grant })).toEqual({ ok: false, reason });
  expect(await h.mfa.disable(userId, { stepUp: grant })).toEqual({ ok: false, reason });
}

// ---------------------------------------------------------------------------

describe('startStepUp / verifyStepUp with each kind of proof', () => {
  it('with a TOTP code: a grant for stepUpTtlMs (default 10 min), method and factor named', async () => {
    const h = keyHarness();
    const u = await appUser(h);
    const started = await stepUpChallenge('alice', h.mfa);
    expect(started.methods).toEqual(['totp', 'recovery_code']);
    expect(started.webauthn).toBeUndefined();
    const result = ok(await h.mfa.verifyStepUp(started.challenge, { totp: h.freshCode(u.secret) }));
    expect(result).toEqual({ ok: true, userId: 'alice', method: 'totp', factorId: u.totpId, grant: expect.any(String), expiresAt: h.now + 10 * MINUTE });
    await expectLive(h.mfa, 'alice', result.grant);
    // The challenge is single use.
    expect(await h.mfa.verifyStepUp(started.challenge, { totp: h.freshCode(u.secret) })).toEqual({ ok: false, reason: 'challenge_invalid' });
  });

  it('with a recovery code, which is used up', async () => {
    const h = keyHarness();
    const u = await appUser(h);
    const result = ok(await stepUp(h, 'alice', { recoveryCode: u.codes[0]! }));
    expect(result).toMatchObject({ userId: 'alice', method: 'recovery_code' });
    expect(result.factorId).toBeUndefined();
    expect(await h.codes.countUnused('alice')).toBe(9);
    expect(h.eventsOf('recovery_code.used').at(-1)).toMatchObject({ context: 'step_up', recoveryCodesRemaining: 9 });
    await expectLive(h.mfa, 'alice', result.grant);
  });

  it('with a security key: request options name the key, the assertion answers the derived challenge', async () => {
    const h = keyHarness();
    const u = await appUser(h);
    const key = newKey();
    const keyId = await registerKey(h, 'alice', key, { proof: { totp: h.freshCode(u.secret) } });
    const started = await stepUpChallenge('alice', h.mfa);
    expect(started.methods).toEqual(['webauthn', 'totp', 'recovery_code']);
    expect(started.webauthn?.allowCredentials?.map((c) => c.id)).toEqual([key.id]);
    const result = ok(await h.mfa.verifyStepUp(started.challenge, { webauthn: assertionFor(key, started) }));
    expect(result).toMatchObject({ userId: 'alice', method: 'webauthn', factorId: keyId });
    await expectLive(h.mfa, 'alice', result.grant);
  });

  it('not_enrolled for a user without factors', async () => {
    const h = keyHarness();
    expect(await h.mfa.startStepUp('nobody')).toEqual({ ok: false, reason: 'not_enrolled' });
    ok(await h.mfa.beginEnrollment('alice', { accountName: 'a@example.com' }));
    expect(await h.mfa.startStepUp('alice')).toEqual({ ok: false, reason: 'not_enrolled' });
  });
});

describe('a step-up grant is accepted as proof by the sensitive calls, reusable within its lifetime', () => {
  it('regenerateRecoveryCodes (twice with one grant), beginWebAuthnRegistration, removeFactor, then disable', async () => {
    const h = keyHarness();
    const u = await appUser(h);
    const k1 = newKey();
    const f1 = await registerKey(h, 'alice', k1, { proof: { totp: h.freshCode(u.secret) } });
    const grant = await grantFor(h, 'alice', u.secret);
    expect(await h.mfa.regenerateRecoveryCodes('alice', { stepUp: grant })).toEqual({ ok: true, method: 'step_up' });
    expect(await h.mfa.regenerateRecoveryCodes('alice', { stepUp: grant })).toEqual({ ok: true, method: 'step_up' });
    ok(await h.mfa.beginWebAuthnRegistration('alice', { userName: 'alice@example.com', proof: { stepUp: grant } }));
    expect(await h.mfa.removeFactor('alice', f1, { stepUp: grant })).toEqual({ ok: true, state: 'enabled', method: 'step_up' });

    const again = await grantFor(h, 'alice', u.secret);
    expect(await h.mfa.disable('alice', { stepUp: again })).toEqual({ ok: true, method: 'step_up' });
    expect(h.eventsOf('mfa.disabled').at(-1)).toMatchObject({ method: 'step_up' });
    expect(await h.mfa.startLogin('alice')).toEqual({ ok: true, mfaRequired: false });
  });

  it('beginEnrollment (adding an app to a key-only user)', async () => {
    const h = keyHarness();
    const key = newKey();
    await registerKey(h, 'alice', key);
    const grant = ok(await stepUpWithKey(h, 'alice', key)).grant;
    const begun = ok(await h.mfa.beginEnrollment('alice', { accountName: 'a@example.com', proof: { stepUp: grant } }));
    ok(await h.mfa.confirmEnrollment('alice', codeAt(begun.secret, h.now)));
    expect((await h.mfa.listFactors('alice')).map((f) => f.kind)).toEqual(['webauthn', 'totp']);
  });

  it('a grant does not reset the failure count: it proves a recent step-up, not a factor', async () => {
    const h = keyHarness();
    const u = await appUser(h);
    const grant = await grantFor(h, 'alice', u.secret);
    await h.login('alice', { totp: h.wrongCode(u.secret) });
    await expectLive(h.mfa, 'alice', grant);
    expect((await h.record('alice'))?.failures).toBe(1);
  });
});

describe('a grant dies', () => {
  it('after stepUpTtlMs (step_up_expired)', async () => {
    const h = keyHarness({ stepUpTtlMs: 2 * MINUTE });
    const u = await appUser(h);
    const result = ok(await stepUp(h, 'alice', { totp: h.freshCode(u.secret) }));
    expect(result.expiresAt).toBe(h.now + 2 * MINUTE);
    h.clock.set(result.expiresAt - 1);
    await expectLive(h.mfa, 'alice', result.grant);
    h.clock.set(result.expiresAt);
    await expectDead(h, 'alice', result.grant, 'step_up_expired');
  });

  it('for another user (step_up_invalid)', async () => {
    const h = keyHarness();
    await appUser(h, 'alice');
    const bob = await appUser(h, 'bob');
    const bobGrant = await grantFor(h, 'bob', bob.secret);
    await expectDead(h, 'alice', bobGrant);
    expect(await h.mfa.removeFactor('alice', (await h.totpFactor('alice'))!.id, { stepUp: bobGrant })).toEqual({ ok: false, reason: 'step_up_invalid' });
    await expectLive(h.mfa, 'bob', bobGrant);
  });

  it('after a factor is added', async () => {
    const h = keyHarness();
    const u = await appUser(h);
    const grant = await grantFor(h, 'alice', u.secret);
    await registerKey(h, 'alice', newKey(), { proof: { totp: h.freshCode(u.secret) } });
    await expectDead(h, 'alice', grant);
  });

  it('after a factor is removed', async () => {
    const h = keyHarness();
    const u = await appUser(h);
    const keyId = await registerKey(h, 'alice', newKey(), { proof: { totp: h.freshCode(u.secret) } });
    const grant = await grantFor(h, 'alice', u.secret);
    ok(await h.mfa.removeFactor('alice', keyId, { totp: h.freshCode(u.secret) }));
    await expectDead(h, 'alice', grant);
  });

  it('after disable: a grant from before does not work once MFA is on again', async () => {
    const h = keyHarness();
    const u = await appUser(h);
    const grant = await grantFor(h, 'alice', u.secret);
    ok(await h.mfa.disable('alice', { totp: h.freshCode(u.secret) }));
    expect(await h.mfa.regenerateRecoveryCodes('alice', { stepUp: grant })).toEqual({ ok: false, reason: 'not_enrolled' });
    await h.enroll('alice');
    await expectDead(h, 'alice', grant);
  });

  it('after resetMfa: a grant from before does not work once MFA is on again', async () => {
    const h = keyHarness();
    const u = await appUser(h);
    const grant = await grantFor(h, 'alice', u.secret);
    ok(await h.mfa.resetMfa('alice', { actor: 'support:bob', reason: 'lost phone' }));
    await h.enroll('alice');
    await expectDead(h, 'alice', grant);
  });

  it('after a manual lock, even once unlocked (refused as locked meanwhile)', async () => {
    const h = keyHarness();
    const u = await appUser(h);
    const grant = await grantFor(h, 'alice', u.secret);
    ok(await h.mfa.lock('alice'));
    expect(await h.mfa.regenerateRecoveryCodes('alice', { stepUp: grant })).toEqual({ ok: false, reason: 'locked', retryAt: null });
    expect(await h.mfa.startStepUp('alice')).toEqual({ ok: false, mfaRequired: true, reason: 'locked', retryAt: null });
    ok(await h.mfa.unlock('alice'));
    await expectDead(h, 'alice', grant);
  });

  it('after a lock by failures, even once it has run out', async () => {
    const h = keyHarness();
    const u = await appUser(h);
    const grant = await grantFor(h, 'alice', u.secret);
    for (let i = 0; i < 5; i++) await h.login('alice', { totp: h.wrongCode(u.secret) });
    const status = await h.mfa.status('alice');
    expect(status).toMatchObject({ state: 'locked', lockCause: 'failures' });
    h.clock.set(status.lockedUntil!);
    expect((await h.mfa.status('alice')).state).toBe('enabled');
    await expectDead(h, 'alice', grant);
  });

  it('after the failure-limit lock, even once unlocked', async () => {
    const h = keyHarness({ lockout: { maxFailures: 3, hardLimit: 3 } });
    const u = await appUser(h);
    const grant = await grantFor(h, 'alice', u.secret);
    for (let i = 0; i < 3; i++) await h.login('alice', { totp: h.wrongCode(u.secret) });
    expect(await h.mfa.status('alice')).toMatchObject({ state: 'locked', lockCause: 'failure_limit' });
    ok(await h.mfa.unlock('alice'));
    await expectDead(h, 'alice', grant);
  });
});

describe('forged, tampered and junk grants are step_up_invalid and never counted', () => {
  /** Swap the character at `index` (negative: from the end) for another base64url character. */
  function swapChar(text: string, index: number, to?: string): string {
    const at = index < 0 ? text.length + index : index;
    const c = text[at]!;
    const replacement = to ?? (c === 'A' ? 'B' : 'A');
    return text.slice(0, at) + replacement + text.slice(at + 1);
  }
  /** The same MAC bytes spelled with the 2 spare bits of the last character set: a non-canonical spelling. */
  function nonCanonical(grant: string): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(grant.at(-1)!);
    return grant.slice(0, -1) + alphabet[last ^ 0b01]!;
  }
  function field(grant: string, index: number, value: string): string {
    const parts = grant.split('.');
    parts[index] = value;
    return parts.join('.');
  }

  it('refuses each variant, counts none, and the real grant still works', async () => {
    const h = keyHarness();
    const u = await appUser(h);
    await appUser(h, 'bob');
    const grant = await grantFor(h, 'alice', u.secret);
    const [, user, expiresAt, epoch] = grant.split('.');
    // The same user and claims under another secret key.
    const foreignHarness = keyHarness({ secretKey: KEY_2 });
    const foreign = await appUser(foreignHarness);
    const foreignGrant = await grantFor(foreignHarness, 'alice', foreign.secret);

    const variants: Array<[string, string]> = [
      ['junk', 'junk'],
      ['empty', ''],
      ['just the prefix', 'g1'],
      ['empty fields', 'g1....'],
      ['a challenge-like shape', `c1.${user}.${expiresAt}.${epoch}.AAAAAAAAAAAAAAAAAAAAAA.${grant.split('.')[4]}`],
      ['one MAC character changed', swapChar(grant, -5)],
      ['a non-canonical MAC spelling', nonCanonical(grant)],
      ['the MAC truncated', grant.slice(0, -1)],
      ['a character appended', `${grant}A`],
      ['another prefix', field(grant, 0, 'g2')],
      ['the user changed to bob', field(grant, 1, Buffer.from('bob').toString('base64url'))],
      ['the expiry extended', field(grant, 2, String(Number(expiresAt) + HOUR))],
      ['the epoch changed', field(grant, 3, String(Number(epoch) + 1))],
      ['a leading zero in the epoch', field(grant, 3, `0${epoch}`)],
      ['signed under another key', foreignGrant],
      ['surrounded by spaces', ` ${grant} `],
      ['very long', `${grant}${'A'.repeat(70_000)}`],
    ];
    for (const [name, variant] of variants) {
      expect(variant, name).not.toBe(grant);
      expect(await h.mfa.regenerateRecoveryCodes('alice', { stepUp: variant }), name).toEqual({ ok: false, reason: 'step_up_invalid' });
      expect(await h.mfa.removeFactor('alice', u.totpId, { stepUp: variant }), name).toEqual({ ok: false, reason: 'step_up_invalid' });
    }
    // Not a string at all: malformed, not counted either.
    for (const junk of [42, null, {}, [grant]]) {
      expect(await h.mfa.disable('alice', { stepUp: junk } as unknown as Proof)).toEqual({ ok: false, reason: 'malformed' });
    }
    const record = (await h.record('alice'))!;
    expect(record).toMatchObject({ failures: 0, failuresSinceSuccess: 0, lockedUntil: null, lockedIndefinitely: false });
    expect(h.eventsOf('login.failed').filter((e) => e.userId === 'alice')).toEqual([]);
    expect(h.eventsOf('account.locked')).toEqual([]);
    expect(await h.mfa.listFactors('alice')).toHaveLength(1);
    await expectLive(h.mfa, 'alice', grant);
  });
});

describe('a step-up grant is no answer to a challenge', () => {
  it('verifyLogin and verifyStepUp refuse { stepUp } as malformed, uncounted, and the challenge stays usable', async () => {
    const h = keyHarness();
    const u = await appUser(h);
    const grant = await grantFor(h, 'alice', u.secret);
    const login = await h.challenge('alice');
    expect(await h.mfa.verifyLogin(login, { stepUp: grant })).toEqual({ ok: false, reason: 'malformed' });
    const sudo = (await stepUpChallenge('alice', h.mfa)).challenge;
    expect(await h.mfa.verifyStepUp(sudo, { stepUp: grant })).toEqual({ ok: false, reason: 'malformed' });
    expect((await h.record('alice'))?.failures).toBe(0);
    ok(await h.mfa.verifyLogin(login, { totp: h.freshCode(u.secret) }));
    ok(await h.mfa.verifyStepUp(sudo, { totp: h.freshCode(u.secret) }));
  });
});

describe('a login challenge is never a step-up challenge, nor the reverse', () => {
  it('verifyStepUp refuses a login challenge and verifyLogin a step-up challenge (challenge_invalid), uncounted', async () => {
    const h = keyHarness();
    const u = await appUser(h);
    const login = await h.challenge('alice');
    const sudo = (await stepUpChallenge('alice', h.mfa)).challenge;
    const code = h.freshCode(u.secret);
    expect(await h.mfa.verifyStepUp(login, { totp: code })).toEqual({ ok: false, reason: 'challenge_invalid' });
    expect(await h.mfa.verifyLogin(sudo, { totp: code })).toEqual({ ok: false, reason: 'challenge_invalid' });
    // The purpose is signed: relabelling one as the other breaks it.
    expect(await h.mfa.verifyStepUp(`s1${login.slice(2)}`, { totp: code })).toEqual({ ok: false, reason: 'challenge_invalid' });
    expect(await h.mfa.verifyLogin(`c1${sudo.slice(2)}`, { totp: code })).toEqual({ ok: false, reason: 'challenge_invalid' });
    expect((await h.record('alice'))?.failures).toBe(0);
    expect(h.eventsOf('login.succeeded')).toEqual([]);
    expect(h.eventsOf('step_up.succeeded')).toHaveLength(0);
    // Neither was spent, and the code was not used up.
    ok(await h.mfa.verifyLogin(login, { totp: code }));
    ok(await h.mfa.verifyStepUp(sudo, { totp: h.freshCode(u.secret) }));
  });
});

describe('step-up failures count towards the lockout like a login', () => {
  it('five wrong step-up codes lock the account; each is reported with context step_up', async () => {
    const h = keyHarness();
    const u = await appUser(h);
    for (let left = 4; left >= 1; left--) {
      expect(await stepUp(h, 'alice', { totp: h.wrongCode(u.secret) })).toEqual({ ok: false, reason: 'invalid_code', attemptsLeft: left });
    }
    const locked = await stepUp(h, 'alice', { totp: h.wrongCode(u.secret) });
    expect(locked).toEqual({ ok: false, reason: 'locked', retryAt: h.now + MINUTE });
    expect(h.eventsOf('login.failed').map((e) => e.context)).toEqual(Array(5).fill('step_up'));
    expect(h.eventsOf('account.locked')).toEqual([{ type: 'account.locked', userId: 'alice', at: h.now, cause: 'failures', retryAt: h.now + MINUTE }]);
    expect(await h.mfa.startLogin('alice')).toMatchObject({ ok: false, reason: 'locked' });
  });

  it('login and step-up failures add up, a refused key counts too, and a step-up success resets the count', async () => {
    const h = keyHarness();
    const u = await appUser(h);
    const key = newKey();
    await registerKey(h, 'alice', key, { proof: { totp: h.freshCode(u.secret) } });
    const stranger = newKey();
    await h.login('alice', { totp: h.wrongCode(u.secret) });
    const started = await stepUpChallenge('alice', h.mfa);
    const forgedAssertion = key.assert({ challenge: started.webauthn!.challenge, origin: ORIGIN, rpId: RP.rpId, counter: 99, signer: stranger });
    expect(await h.mfa.verifyStepUp(started.challenge, { webauthn: forgedAssertion })).toEqual({ ok: false, reason: 'invalid_credential', attemptsLeft: 3 });
    await stepUp(h, 'alice', { totp: h.wrongCode(u.secret) });
    ok(await stepUp(h, 'alice', { totp: h.freshCode(u.secret) }));
    expect((await h.record('alice'))?.failures).toBe(0);
    await stepUp(h, 'alice', { totp: h.wrongCode(u.secret) });
    await h.login('alice', { totp: h.wrongCode(u.secret) });
    await stepUp(h, 'alice', { totp: h.wrongCode(u.secret) });
    await h.login('alice', { totp: h.wrongCode(u.secret) });
    expect((await h.mfa.status('alice')).state).toBe('enabled');
    expect(await stepUp(h, 'alice', { totp: h.wrongCode(u.secret) })).toMatchObject({ ok: false, reason: 'locked' });
  });
});

describe('a step-up success proves possession like a login', () => {
  it('cancels a pending email recovery (cause step_up) and emits step_up.succeeded without secrets', async () => {
    const h = keyHarness();
    const u = await appUser(h);
    const key = newKey();
    const keyId = await registerKey(h, 'alice', key, { proof: { totp: h.freshCode(u.secret) } });
    const requested = ok(await h.mfa.requestEmailRecovery('alice'));
    const mark = h.events.length;
    const started = await stepUpChallenge('alice', h.mfa);
    const assertion = assertionFor(key, started);
    const result = ok(await h.mfa.verifyStepUp(started.challenge, { webauthn: assertion }));
    expect(h.events.slice(mark)).toEqual([
      { type: 'email_recovery.cancelled', userId: 'alice', at: h.now, cause: 'step_up' },
      { type: 'step_up.succeeded', userId: 'alice', at: h.now, method: 'webauthn', factorId: keyId },
    ]);
    expect((await h.mfa.status('alice')).pendingEmailRecovery).toBeUndefined();
    h.clock.set(requested.notBefore);
    expect(await h.mfa.completeEmailRecovery('alice', requested.token)).toEqual({ ok: false, reason: 'cancelled' });

    // A TOTP step-up reports its factor and method too; nothing secret in any event.
    const code = h.freshCode(u.secret);
    const second = ok(await stepUp(h, 'alice', { totp: code }));
    expect(h.events.at(-1)).toEqual({ type: 'step_up.succeeded', userId: 'alice', at: h.now, method: 'totp', factorId: u.totpId });
    const needles = [
      result.grant,
      second.grant,
      started.challenge,
      started.webauthn!.challenge,
      assertion.response.signature,
      assertion.response.clientDataJSON,
      requested.token,
      u.secret,
      (await h.totpFactor('alice'))!.secret,
      ...u.codes,
      code,
    ];
    expectNoSecrets(stringsIn(h.events), needles, 'events');
  });
});

describe('grants across service instances', () => {
  it('a grant from one instance works on another with the same key, and a step-up may finish on another instance', async () => {
    const h = keyHarness();
    const u = await appUser(h);
    const other = h.service();
    const grant = await grantFor(h, 'alice', u.secret);
    await expectLive(other, 'alice', grant);
    const started = await stepUpChallenge('alice', h.mfa);
    ok(await other.verifyStepUp(started.challenge, { totp: h.freshCode(u.secret) }));
  });

  it('a grant survives a key rotation (previousSecretKeys) and dies when the old key is dropped', async () => {
    const h = new Harness({ secretKey: KEY_1 });
    const u = await appUser(h);
    const grant = await grantFor(h, 'alice', u.secret);
    const rotated = h.service({ secretKey: KEY_2, previousSecretKeys: [KEY_1] });
    await expectLive(rotated, 'alice', grant);
    const dropped = h.service({ secretKey: KEY_2 });
    expect(await dropped.regenerateRecoveryCodes('alice', { stepUp: grant })).toEqual({ ok: false, reason: 'step_up_invalid' });
    // A grant issued after the rotation works on the rotated service.
    const fresh = await grantFor(h, 'alice', u.secret, rotated);
    await expectLive(rotated, 'alice', fresh);
  });
});

describe('stepUpTtlMs option: 1 min to 1 h', () => {
  it.each([0, -MINUTE, MINUTE - 1, HOUR + 1, 90 * SECOND + 0.5, Number.NaN, Number.POSITIVE_INFINITY, '600000', null])(
    'refuses %s with MfaError invalid_option',
    async (ttl) => {
      const h = new Harness();
      const error = await expectMfaError((async () => h.service({ stepUpTtlMs: ttl as number }))(), 'invalid_option');
      expect(error.message).toContain('stepUpTtlMs');
    },
  );

  it.each([MINUTE, HOUR])('accepts %s ms and grants last exactly that long', async (ttl) => {
    const h = new Harness({ stepUpTtlMs: ttl });
    const u = await appUser(h);
    const result = ok(await stepUp(h, 'alice', { totp: h.freshCode(u.secret) }));
    expect(result.expiresAt).toBe(h.now + ttl);
  });
});
