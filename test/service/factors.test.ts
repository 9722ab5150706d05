/**
 * Factors (DESIGN.md §6.1): several per user, at most one authenticator
 * app, a proof before adding one to an enabled user, listing without
 * secrets, renaming, and removing (the last removal is `disable`). Each
 * test is named after the rule it checks and fails if the rule goes.
 */
import { describe, expect, it } from 'vitest';
import type { Proof } from '../../src/service/results.ts';
import type { WebAuthnFactorRecord } from '../../src/stores/index.ts';
import type { SoftAuthenticator } from '../webauthn/soft-authenticator.ts';
import { codeAt, expectMfaError, expectNoSecrets, type Enrolled, type Harness, ok, stringsIn } from './fixtures.ts';
import { grantFor, keyHarness, loginWithKey, newKey, ORIGIN, registerKey, RP, stepUpWithKey } from './webauthn-fixtures.ts';

interface AppAndTwoKeys {
  u: Enrolled;
  totpId: string;
  k1: SoftAuthenticator;
  k2: SoftAuthenticator;
  f1: string;
  f2: string;
}

/** alice with an authenticator app (codes revealed), then two keys, each added with a fresh TOTP code as proof. */
async function appAndTwoKeys(h: Harness, userId = 'alice'): Promise<AppAndTwoKeys> {
  const u = await h.enroll(userId);
  const totpId = (await h.totpFactor(userId))!.id;
  const k1 = newKey();
  const f1 = await registerKey(h, userId, k1, { proof: { totp: h.freshCode(u.secret) } });
  const k2 = newKey();
  const f2 = await registerKey(h, userId, k2, { proof: { totp: h.freshCode(u.secret) } });
  return { u, totpId, k1, k2, f1, f2 };
}

/** alice with one key only (codes revealed): a user who may still add an authenticator app. */
async function keyOnly(h: Harness, userId = 'alice'): Promise<{ key: SoftAuthenticator; factorId: string; codes: string[] }> {
  const key = newKey();
  const factorId = await registerKey(h, userId, key);
  const codes = ok(await h.mfa.revealRecoveryCodes(userId)).codes;
  return { key, factorId, codes };
}

// ---------------------------------------------------------------------------

describe('a user holds several factors (§6.1)', () => {
  it('a user with an authenticator app and two keys logs in with any of them', async () => {
    const h = keyHarness();
    const { u, totpId, k1, k2, f1, f2 } = await appAndTwoKeys(h);
    expect((await h.mfa.listFactors('alice')).map((f) => [f.id, f.kind])).toEqual([
      [totpId, 'totp'],
      [f1, 'webauthn'],
      [f2, 'webauthn'],
    ]);

    expect(ok(await loginWithKey(h, 'alice', k1))).toMatchObject({ userId: 'alice', method: 'webauthn', factorId: f1 });
    expect(ok(await loginWithKey(h, 'alice', k2))).toMatchObject({ userId: 'alice', method: 'webauthn', factorId: f2 });
    expect(ok(await h.login('alice', { totp: h.freshCode(u.secret) }))).toMatchObject({ method: 'totp', factorId: totpId });
    const byCode = ok(await h.login('alice', { recoveryCode: u.codes[0]! }));
    expect(byCode).toMatchObject({ method: 'recovery_code', recoveryCodesRemaining: 9 });
    expect(byCode.factorId).toBeUndefined();
  });

  it('a login offers methods strongest first (webauthn, totp, recovery_code) and names every key of the user', async () => {
    const h = keyHarness();
    const { k1, k2 } = await appAndTwoKeys(h);
    const started = await h.mfa.startLogin('alice');
    expect(started).toMatchObject({ ok: true, mfaRequired: true, methods: ['webauthn', 'totp', 'recovery_code'] });
    const options = (started as { webauthn?: { allowCredentials?: Array<{ id: string }>; rpId?: string } }).webauthn;
    expect(options?.rpId).toBe(RP.rpId);
    expect(options?.allowCredentials?.map((c) => c.id).sort()).toEqual([k1.id, k2.id].sort());

    // Only what the user holds is offered.
    const keyUser = keyHarness();
    await keyOnly(keyUser);
    expect(await keyUser.mfa.startLogin('alice')).toMatchObject({ methods: ['webauthn', 'recovery_code'] });
    const appUser = keyHarness();
    await appUser.enroll('alice');
    const appStarted = await appUser.mfa.startLogin('alice');
    expect(appStarted).toMatchObject({ methods: ['totp', 'recovery_code'] });
    expect((appStarted as { webauthn?: unknown }).webauthn).toBeUndefined();
  });

  it('at most one authenticator app: beginEnrollment for a user who has one is already_enabled, with or without proof', async () => {
    const h = keyHarness();
    const u = await h.enroll('alice');
    expect(await h.mfa.beginEnrollment('alice', { accountName: 'a@example.com' })).toEqual({ ok: false, reason: 'already_enabled' });
    const grant = await grantFor(h, 'alice', u.secret);
    expect(await h.mfa.beginEnrollment('alice', { accountName: 'a@example.com', proof: { stepUp: grant } })).toEqual({
      ok: false,
      reason: 'already_enabled',
    });
    expect(await h.mfa.beginEnrollment('alice', { accountName: 'a@example.com', proof: { totp: h.freshCode(u.secret) } })).toEqual({
      ok: false,
      reason: 'already_enabled',
    });
    const record = await h.record('alice');
    expect(record?.pendingTotp).toBeNull();
    expect(record?.factors.filter((f) => f.kind === 'totp')).toHaveLength(1);
  });
});

describe('adding any factor to an enabled user needs a proof (§6.1)', () => {
  it('without a proof: proof_required for an app and for a key, and nothing is pending', async () => {
    const h = keyHarness();
    await keyOnly(h);
    expect(await h.mfa.beginEnrollment('alice', { accountName: 'a@example.com' })).toEqual({ ok: false, reason: 'proof_required' });
    expect(await h.mfa.beginWebAuthnRegistration('alice', { userName: 'alice@example.com' })).toEqual({ ok: false, reason: 'proof_required' });
    const record = await h.record('alice');
    expect(record?.pendingTotp).toBeNull();
    expect(record?.pendingWebAuthn).toBeNull();
    expect(h.eventsOf('enrollment.started')).toEqual([]);
  });

  it('accepted with a step-up grant (app and key)', async () => {
    const h = keyHarness();
    const { key } = await keyOnly(h);
    const grant = ok(await stepUpWithKey(h, 'alice', key)).grant;
    const begun = ok(await h.mfa.beginEnrollment('alice', { accountName: 'a@example.com', proof: { stepUp: grant } }));
    const totpId = ok(await h.mfa.confirmEnrollment('alice', codeAt(begun.secret, h.now))).factorId;
    // The grant died with the factor change: a key needs a fresh one.
    const again = ok(await stepUpWithKey(h, 'alice', key)).grant;
    const keyId = await registerKey(h, 'alice', newKey(), { proof: { stepUp: again } });
    expect((await h.mfa.listFactors('alice')).map((f) => f.id)).toEqual([expect.any(String), totpId, keyId]);
  });

  it('accepted with a TOTP code, whose step is then spent', async () => {
    const h = keyHarness();
    const u = await h.enroll('alice');
    h.clock.advance(30_000);
    const code = codeAt(u.secret, h.now);
    ok(await h.mfa.beginWebAuthnRegistration('alice', { userName: 'alice@example.com', proof: { totp: code } }));
    expect(await h.login('alice', { totp: code })).toMatchObject({ ok: false, reason: 'replayed' });
  });

  it('accepted with a recovery code, which is then used up', async () => {
    const h = keyHarness();
    const { codes } = await keyOnly(h);
    ok(await h.mfa.beginEnrollment('alice', { accountName: 'a@example.com', proof: { recoveryCode: codes[0]! } }));
    expect(await h.codes.countUnused('alice')).toBe(9);
    expect(h.eventsOf('recovery_code.used').at(-1)).toMatchObject({ context: 'add_factor', recoveryCodesRemaining: 9 });
    ok(await h.mfa.beginWebAuthnRegistration('alice', { userName: 'alice@example.com', proof: { recoveryCode: codes[1]! } }));
    expect(await h.codes.countUnused('alice')).toBe(8);
    expect(await h.login('alice', { recoveryCode: codes[0]! })).toMatchObject({ ok: false, reason: 'invalid_code' });
  });

  it('a wrong code counts as a failure towards the lockout and starts nothing', async () => {
    const h = keyHarness();
    const u = await h.enroll('alice');
    const wrong = (): Proof => ({ totp: h.wrongCode(u.secret) });
    for (let left = 4; left >= 1; left--) {
      expect(await h.mfa.beginWebAuthnRegistration('alice', { userName: 'alice@example.com', proof: wrong() })).toEqual({
        ok: false,
        reason: 'invalid_code',
        attemptsLeft: left,
      });
    }
    expect(h.eventsOf('login.failed').map((e) => e.context)).toEqual(['add_factor', 'add_factor', 'add_factor', 'add_factor']);
    expect((await h.record('alice'))?.pendingWebAuthn).toBeNull();
    expect(await h.mfa.beginWebAuthnRegistration('alice', { userName: 'alice@example.com', proof: wrong() })).toMatchObject({
      ok: false,
      reason: 'locked',
    });
    expect((await h.mfa.status('alice')).state).toBe('locked');
    // A wrong recovery code offered to add an app counts too.
    const k = keyHarness();
    await keyOnly(k);
    expect(await k.mfa.beginEnrollment('alice', { accountName: 'a@example.com', proof: { recoveryCode: 'AAAA-AAAA-AAAA-AAAA-AAAA-AAAA' } })).toEqual({
      ok: false,
      reason: 'invalid_code',
      attemptsLeft: 4,
    });
    expect((await k.record('alice'))?.failures).toBe(1);
  });

  it('a stolen session alone cannot add a factor', async () => {
    const h = keyHarness();
    const { factorId } = await keyOnly(h);
    const before = await h.mfa.listFactors('alice');
    const thief = newKey();
    // All a session holder can send without the owner's factor.
    const attempts: Array<Proof | undefined> = [undefined, { stepUp: 'g1.YWxpY2U.9999999999999.0.' + 'A'.repeat(43) }, { stepUp: 'junk' }];
    for (const proof of attempts) {
      const withProof = proof === undefined ? {} : { proof };
      expect((await h.mfa.beginEnrollment('alice', { accountName: 'thief@example.com', ...withProof })).ok).toBe(false);
      expect((await h.mfa.beginWebAuthnRegistration('alice', { userName: 'thief@example.com', ...withProof })).ok).toBe(false);
    }
    const forged = thief.register({ challenge: 'A'.repeat(43), origin: ORIGIN, rpId: RP.rpId });
    expect(await h.mfa.finishWebAuthnRegistration('alice', forged)).toEqual({ ok: false, reason: 'not_registering' });
    const record = await h.record('alice');
    expect(record?.pendingTotp).toBeNull();
    expect(record?.pendingWebAuthn).toBeNull();
    expect(await h.mfa.listFactors('alice')).toEqual(before);
    expect(before.map((f) => f.id)).toEqual([factorId]);
    expect(h.eventsOf('factor.added')).toHaveLength(1);
  });

  it("a registered user's first factor needs no proof (key or app) and enables MFA", async () => {
    const h = keyHarness();
    const key = newKey();
    const keyId = await registerKey(h, 'alice', key);
    expect(h.typesSince(0)).toEqual(['mfa.enabled', 'factor.added']);
    expect(h.eventsOf('factor.added')[0]).toMatchObject({ factorId: keyId, kind: 'webauthn' });
    expect(await h.mfa.status('alice')).toMatchObject({ state: 'enabled', recoveryCodesUnrevealed: true });
    expect(ok(await h.mfa.revealRecoveryCodes('alice')).codes).toHaveLength(10);

    const begun = ok(await h.mfa.beginEnrollment('bob', { accountName: 'bob@example.com' }));
    ok(await h.mfa.confirmEnrollment('bob', codeAt(begun.secret, h.now)));
    expect((await h.mfa.status('bob')).state).toBe('enabled');
  });

  it('a pending app enrollment begun before another factor was added is void (not_enrolling)', async () => {
    const h = keyHarness();
    // Begun without proof while registered; then a key enables MFA.
    const begun = ok(await h.mfa.beginEnrollment('alice', { accountName: 'a@example.com' }));
    const key = newKey();
    await registerKey(h, 'alice', key);
    expect(await h.mfa.confirmEnrollment('alice', codeAt(begun.secret, h.now))).toEqual({ ok: false, reason: 'not_enrolling' });

    // Begun with proof by an enabled user; then another key is added.
    const grant = ok(await stepUpWithKey(h, 'alice', key)).grant;
    const again = ok(await h.mfa.beginEnrollment('alice', { accountName: 'a@example.com', proof: { stepUp: grant } }));
    await registerKey(h, 'alice', newKey(), { proof: { stepUp: grant } });
    expect(await h.mfa.confirmEnrollment('alice', codeAt(again.secret, h.now))).toEqual({ ok: false, reason: 'not_enrolling' });
    expect((await h.mfa.listFactors('alice')).every((f) => f.kind === 'webauthn')).toBe(true);
  });

  it('a pending key registration begun before another factor was added is void (not_registering)', async () => {
    const h = keyHarness();
    const pendingKey = newKey();
    const begun = ok(await h.mfa.beginWebAuthnRegistration('alice', { userName: 'alice@example.com' }));
    await h.enroll('alice'); // the app enables MFA first
    const response = pendingKey.register({ challenge: begun.options.challenge, origin: ORIGIN, rpId: RP.rpId });
    expect(await h.mfa.finishWebAuthnRegistration('alice', response)).toEqual({ ok: false, reason: 'not_registering' });
    expect(await h.mfa.listFactors('alice')).toHaveLength(1);
  });

  it('a pending key registration begun before a factor was removed is void (not_registering)', async () => {
    const h = keyHarness();
    const { u, f1 } = await appAndTwoKeys(h);
    const grant = await grantFor(h, 'alice', u.secret);
    const pendingKey = newKey();
    const begun = ok(await h.mfa.beginWebAuthnRegistration('alice', { userName: 'alice@example.com', proof: { stepUp: grant } }));
    ok(await h.mfa.removeFactor('alice', f1, { stepUp: grant }));
    const response = pendingKey.register({ challenge: begun.options.challenge, origin: ORIGIN, rpId: RP.rpId });
    expect(await h.mfa.finishWebAuthnRegistration('alice', response)).toEqual({ ok: false, reason: 'not_registering' });
    expect(await h.mfa.listFactors('alice')).toHaveLength(2);
  });
});

describe('listFactors never returns a secret or a key (§6.1)', () => {
  it('lists id, kind, label, dates (and transports, backedUp for keys) and nothing of the sealed secret or the public key', async () => {
    const h = keyHarness();
    const { u, k1, k2 } = await appAndTwoKeys(h);
    const record = (await h.record('alice'))!;
    const totp = (await h.totpFactor('alice'))!;
    const keys = record.factors.filter((f): f is WebAuthnFactorRecord => f.kind === 'webauthn');
    const list = await h.mfa.listFactors('alice');

    expect(list.map((f) => Object.keys(f).sort())).toEqual([
      ['createdAt', 'id', 'kind', 'label', 'lastUsedAt'],
      ['backedUp', 'createdAt', 'id', 'kind', 'label', 'lastUsedAt', 'transports'],
      ['backedUp', 'createdAt', 'id', 'kind', 'label', 'lastUsedAt', 'transports'],
    ]);
    expect(list[1]).toMatchObject({ kind: 'webauthn', label: 'Security key', backedUp: false, lastUsedAt: null });
    expect([...(list[1]?.transports ?? [])].sort()).toEqual(['nfc', 'usb']);

    const json = JSON.stringify(list);
    const needles = [
      totp.secret,
      u.secret,
      ...keys.map((k) => k.publicKey),
      ...[k1, k2].flatMap((k) => [k.storedKey, Buffer.from(k.cose).toString('hex'), Buffer.from(k.cose).toString('base64')]),
    ];
    for (const needle of needles) expect(json.includes(needle), 'a secret or key in listFactors').toBe(false);
    expectNoSecrets(stringsIn(list), needles, 'listFactors');
  });

  it('lists nothing for an unknown or registered user', async () => {
    const h = keyHarness();
    expect(await h.mfa.listFactors('nobody')).toEqual([]);
    await expectMfaError(h.mfa.listFactors(42 as unknown as string), 'invalid_argument');
  });
});

describe('renameFactor', () => {
  it('renames a factor of the user (label trimmed) and answers not_found for any other id', async () => {
    const h = keyHarness();
    const { totpId, f1 } = await appAndTwoKeys(h);
    expect(await h.mfa.renameFactor('alice', f1, '  YubiKey 5C  ')).toEqual({ ok: true });
    expect(await h.mfa.renameFactor('alice', totpId, 'Phone')).toEqual({ ok: true });
    const labels = Object.fromEntries((await h.mfa.listFactors('alice')).map((f) => [f.id, f.label]));
    expect(labels[f1]).toBe('YubiKey 5C');
    expect(labels[totpId]).toBe('Phone');

    const bob = await h.enroll('bob');
    const bobTotp = (await h.totpFactor(bob.userId))!.id;
    expect(await h.mfa.renameFactor('alice', 'no-such-factor', 'x')).toEqual({ ok: false, reason: 'not_found' });
    expect(await h.mfa.renameFactor('alice', bobTotp, 'mine now')).toEqual({ ok: false, reason: 'not_found' });
    expect(await h.mfa.renameFactor('alice', 42 as unknown as string, 'x')).toEqual({ ok: false, reason: 'not_found' });
    expect(await h.mfa.renameFactor('nobody', f1, 'x')).toEqual({ ok: false, reason: 'not_found' });
    expect((await h.mfa.listFactors('bob'))[0]?.label).toBe('Authenticator app');
  });

  it.each([
    ['empty', ''],
    ['blank', '   '],
    ['65 characters', 'x'.repeat(65)],
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['an object', { label: 'x' }],
    ['a lone surrogate', 'Key \ud800'],
  ])('junk labels throw invalid_argument: %s', async (_name, label) => {
    const h = keyHarness();
    const { f1 } = await appAndTwoKeys(h);
    await expectMfaError(h.mfa.renameFactor('alice', f1, label as string), 'invalid_argument');
    expect((await h.mfa.listFactors('alice'))[1]?.label).toBe('Security key');
  });

  it('a 64-character label is accepted', async () => {
    const h = keyHarness();
    const { f1 } = await appAndTwoKeys(h);
    ok(await h.mfa.renameFactor('alice', f1, 'x'.repeat(64)));
  });

  it.each([
    ['a newline', 'Yubi\nKey'],
    ['a NUL', 'Yubi\u0000Key'],
    ['an escape', 'Yubi\u001b[31mKey'],
    ['DEL', 'Yubi\u007fKey'],
    ['a C1 control', 'Yubi\u009bKey'],
  ])('control characters in a label are refused: %s', async (_name, label) => {
    const h = keyHarness();
    const { u, f1 } = await appAndTwoKeys(h);
    await expectMfaError(h.mfa.renameFactor('alice', f1, label), 'invalid_argument');
    // Also where a label is first given.
    const grant = await grantFor(h, 'alice', u.secret);
    await expectMfaError(h.mfa.beginWebAuthnRegistration('alice', { userName: 'alice@example.com', label, proof: { stepUp: grant } }), 'invalid_argument');
    await expectMfaError(h.mfa.beginEnrollment('bob', { accountName: 'bob@example.com', label }), 'invalid_argument');
    expect((await h.mfa.listFactors('alice'))[1]?.label).toBe('Security key');
  });
});

describe('removeFactor (§6.1)', () => {
  it('not_found for an id the user does not hold, and nothing is removed', async () => {
    const h = keyHarness();
    const { u } = await appAndTwoKeys(h);
    const bob = await h.enroll('bob');
    const bobTotp = (await h.totpFactor(bob.userId))!.id;
    expect(await h.mfa.removeFactor('alice', 'no-such-factor', { totp: h.freshCode(u.secret) })).toEqual({ ok: false, reason: 'not_found' });
    expect(await h.mfa.removeFactor('alice', bobTotp, { totp: h.freshCode(u.secret) })).toEqual({ ok: false, reason: 'not_found' });
    expect(await h.mfa.listFactors('alice')).toHaveLength(3);
    expect(await h.mfa.listFactors('bob')).toHaveLength(1);
    expect(h.eventsOf('factor.removed')).toEqual([]);
  });

  it('needs a proof: none is malformed, a wrong one counts as a failure and removes nothing', async () => {
    const h = keyHarness();
    const { u, f1 } = await appAndTwoKeys(h);
    expect(await h.mfa.removeFactor('alice', f1, undefined as unknown as Proof)).toEqual({ ok: false, reason: 'malformed' });
    expect(await h.mfa.removeFactor('alice', f1, {} as Proof)).toEqual({ ok: false, reason: 'malformed' });
    expect((await h.record('alice'))?.failures).toBe(0);
    expect(await h.mfa.removeFactor('alice', f1, { totp: h.wrongCode(u.secret) })).toEqual({ ok: false, reason: 'invalid_code', attemptsLeft: 4 });
    expect(await h.mfa.removeFactor('alice', f1, { recoveryCode: 'AAAA-AAAA-AAAA-AAAA-AAAA-AAAA' })).toEqual({
      ok: false,
      reason: 'invalid_code',
      attemptsLeft: 3,
    });
    expect(h.eventsOf('login.failed').map((e) => e.context)).toEqual(['remove_factor', 'remove_factor']);
    expect(await h.mfa.listFactors('alice')).toHaveLength(3);
  });

  it('removing one of several keeps MFA on, and kills step-up grants', async () => {
    const h = keyHarness();
    const { u, totpId, k1, k2, f1, f2 } = await appAndTwoKeys(h);
    const grant = await grantFor(h, 'alice', u.secret);
    const mark = h.events.length;
    expect(await h.mfa.removeFactor('alice', f1, { stepUp: grant })).toEqual({ ok: true, state: 'enabled', method: 'step_up' });
    expect(h.events.slice(mark)).toEqual([{ type: 'factor.removed', userId: 'alice', at: h.now, factorId: f1, kind: 'webauthn' }]);
    expect((await h.mfa.listFactors('alice')).map((f) => f.id)).toEqual([totpId, f2]);
    expect(await h.mfa.status('alice')).toMatchObject({ state: 'enabled', recoveryCodesRemaining: 10, methods: ['webauthn', 'totp', 'recovery_code'] });

    // The grant that removed it is dead now.
    expect(await h.mfa.removeFactor('alice', f2, { stepUp: grant })).toEqual({ ok: false, reason: 'step_up_invalid' });
    expect(await h.mfa.regenerateRecoveryCodes('alice', { stepUp: grant })).toEqual({ ok: false, reason: 'step_up_invalid' });
    // The removed key no longer logs in; the others still do.
    expect(await loginWithKey(h, 'alice', k1)).toMatchObject({ ok: false, reason: 'invalid_credential' });
    ok(await loginWithKey(h, 'alice', k2));
    // Removing by a code works too.
    expect(await h.mfa.removeFactor('alice', totpId, { totp: h.freshCode(u.secret) })).toEqual({ ok: true, state: 'enabled', method: 'totp' });
    expect(await h.mfa.startLogin('alice')).toMatchObject({ mfaRequired: true, methods: ['webauthn', 'recovery_code'] });
  });

  it('removing the last factor is disable: codes cleared, mfa.disabled, pending email recovery cancelled, state registered', async () => {
    const h = keyHarness();
    const u = await h.enroll('alice');
    const totpId = (await h.totpFactor('alice'))!.id;
    const requested = ok(await h.mfa.requestEmailRecovery('alice'));
    const mark = h.events.length;
    expect(await h.mfa.removeFactor('alice', totpId, { totp: h.freshCode(u.secret) })).toEqual({ ok: true, state: 'registered', method: 'totp' });
    expect(h.events.slice(mark)).toEqual([
      { type: 'factor.removed', userId: 'alice', at: h.now, factorId: totpId, kind: 'totp' },
      { type: 'mfa.disabled', userId: 'alice', at: h.now, method: 'totp' },
      { type: 'email_recovery.cancelled', userId: 'alice', at: h.now, cause: 'mfa_disabled' },
    ]);
    expect(await h.codes.countUnused('alice')).toBe(0);
    expect(await h.mfa.status('alice')).toEqual({ state: 'registered', recoveryCodesRemaining: 0, recoveryCodesUnrevealed: false, methods: [], attention: [] });
    expect(await h.mfa.startLogin('alice')).toEqual({ ok: true, mfaRequired: false });
    const record = (await h.record('alice'))!;
    expect(record).toMatchObject({ factors: [], recoveryCodeSet: null, unrevealedCodes: null, emailRecovery: null });
    h.clock.set(requested.notBefore);
    expect((await h.mfa.completeEmailRecovery('alice', requested.token)).ok).toBe(false);
    // Back to registered: a new first factor needs no proof, and the old codes stay dead.
    const key = newKey();
    await registerKey(h, 'alice', key);
    expect(await h.login('alice', { recoveryCode: u.codes[0]! })).toMatchObject({ ok: false, reason: 'invalid_code' });
  });

  it('removing the last key with a step-up grant is disable too', async () => {
    const h = keyHarness();
    const { key, factorId } = await keyOnly(h);
    const grant = ok(await stepUpWithKey(h, 'alice', key)).grant;
    expect(await h.mfa.removeFactor('alice', factorId, { stepUp: grant })).toEqual({ ok: true, state: 'registered', method: 'step_up' });
    expect(h.eventsOf('mfa.disabled')).toEqual([{ type: 'mfa.disabled', userId: 'alice', at: h.now, method: 'step_up' }]);
    expect(await h.codes.countUnused('alice')).toBe(0);
    expect(await h.mfa.startLogin('alice')).toEqual({ ok: true, mfaRequired: false });
  });
});

describe('disable with several factors removes them all', () => {
  it('an app and two keys go at once, with the codes', async () => {
    const h = keyHarness();
    const { u, k1, f1 } = await appAndTwoKeys(h);
    expect(await h.mfa.disable('alice', { totp: h.freshCode(u.secret) })).toEqual({ ok: true, method: 'totp' });
    expect(await h.mfa.listFactors('alice')).toEqual([]);
    expect((await h.record('alice'))?.factors).toEqual([]);
    expect(await h.codes.countUnused('alice')).toBe(0);
    expect(await h.mfa.startLogin('alice')).toEqual({ ok: true, mfaRequired: false });
    // A removed key can be registered again as a new first factor, without proof.
    const again = await registerKey(h, 'alice', k1);
    expect(again).not.toBe(f1);
    expect((await h.mfa.listFactors('alice')).map((f) => f.id)).toEqual([again]);
  });
});
