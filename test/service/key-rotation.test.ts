/**
 * Key rotation (issue 15): whatever a retired key sealed is sealed again
 * whenever the service holds it open (a reveal, any successful proof,
 * `rekey`); nothing sealed under a dropped key ever makes a login throw;
 * the record says which keys it still needs (sealed values by their key
 * id, recovery-code hashes by `recoveryCodeKeyIds`), `rekey` reports it,
 * and `status().attention` tells a user who must act.
 */
import { describe, expect, it } from 'vitest';
import { secretKeyId } from '../../src/maintenance/index.ts';
import type { MfaRecord } from '../../src/stores/index.ts';
import { codeAt, DAY, Harness, KEY_1, KEY_2, KEY_3, MINUTE, ok } from './fixtures.ts';

const K1 = secretKeyId(KEY_1);
const K2 = secretKeyId(KEY_2);
const K3 = secretKeyId(KEY_3);

/** The key id in a sealed value's header. */
function keyIdOf(sealed: string | null | undefined): string | undefined {
  return sealed?.split('.')[1];
}

/** A harness under K1, and services for each stage of a rotation over the same stores and clock. */
function rotation() {
  const h = new Harness({ secretKey: KEY_1 });
  return {
    h,
    rotated: h.service({ secretKey: KEY_2, previousSecretKeys: [KEY_1] }),
    k2Only: h.service({ secretKey: KEY_2 }),
  };
}

/** Confirm under K1, leaving the codes unrevealed: the secret and the code set are sealed under K1. */
async function confirmOnly(h: Harness, userId: string): Promise<{ secret: string }> {
  const begun = ok(await h.mfa.beginEnrollment(userId, { accountName: `${userId}@example.com` }));
  ok(await h.mfa.confirmEnrollment(userId, codeAt(begun.secret, h.now)));
  return { secret: begun.secret };
}

describe('Issue 15.1: dropping the old key after a reveal never blocks a valid login', () => {
  it('confirm under K1, rotate to K2, reveal, drop K1: recovery-code and TOTP logins still succeed', async () => {
    const { h, rotated, k2Only } = rotation();
    const { secret } = await confirmOnly(h, 'alice');
    const codes = ok(await rotated.revealRecoveryCodes('alice')).codes;
    ok(await h.login('alice', { recoveryCode: codes[0]! }, k2Only));
    ok(await h.login('alice', { totp: h.freshCode(secret) }, k2Only));
    // The reveal held the record open: the TOTP secret moved to K2 with the codes.
    expect(keyIdOf((await h.totpFactor('alice'))!.secret)).toBe(K2);
    expect((await k2Only.status('alice')).attention).not.toContain('totp_reenroll');
  });

  it('a reveal also moves a pending enrollment to the current key', async () => {
    const { h, rotated } = rotation();
    await confirmOnly(h, 'alice');
    // A TOTP enrollment pending under K1 beside the unrevealed set (the app's own K1-sealed secret stands in for it).
    const stored = (await h.users.get('alice'))!;
    const record = stored.record as MfaRecord;
    const sealed = (record.factors[0] as { secret: string }).secret;
    const pendingTotp = { secret: sealed, expiresAt: h.now + 10 * MINUTE, algorithm: 'SHA1' as const, digits: 6 as const, period: 30, label: null, factorEpoch: record.factorEpoch };
    expect(await h.users.put('alice', { ...record, pendingTotp }, stored.version)).toBe(true);
    ok(await rotated.revealRecoveryCodes('alice'));
    expect(keyIdOf((await h.record('alice'))!.pendingTotp!.secret)).toBe(K2);
  });

  it('any successful proof moves the TOTP secret: a recovery-code login under the rotated service', async () => {
    const { h, rotated, k2Only } = rotation();
    const alice = await h.enroll('alice');
    ok(await h.login('alice', { recoveryCode: alice.codes[0]! }, rotated));
    expect(keyIdOf((await h.totpFactor('alice'))!.secret)).toBe(K2);
    ok(await h.login('alice', { totp: h.freshCode(alice.secret) }, k2Only));
  });

  it('a TOTP secret under a dropped key: its codes are refused as a value, never counted; a recovery-code login succeeds and status reports it', async () => {
    const { h, rotated, k2Only } = rotation();
    const { secret } = await confirmOnly(h, 'bob');
    const underK1 = (await h.totpFactor('bob'))!.secret;
    const codes = ok(await rotated.revealRecoveryCodes('bob')).codes;
    // As if the secret had stayed under K1 (a record written before the fix): put it back.
    const stored = (await h.users.get('bob'))!;
    const record = stored.record as MfaRecord;
    const factors = record.factors.map((f) => (f.kind === 'totp' ? { ...f, secret: underK1 } : f));
    expect(await h.users.put('bob', { ...record, factors }, stored.version)).toBe(true);

    // More wrong-looking attempts than the lockout allows: refused, never locked.
    for (let i = 0; i < 8; i++) {
      expect(await h.login('bob', { totp: h.freshCode(secret) }, k2Only)).toMatchObject({ ok: false, reason: 'invalid_code' });
    }
    expect((await h.record('bob'))!.failures).toBe(0);
    const status = await k2Only.status('bob');
    expect(status.state).toBe('enabled');
    expect(status.attention).toContain('totp_reenroll');
    expect(await k2Only.rekey('bob')).toEqual({ ok: true, resealed: 0, dependsOn: [K1], needsUser: ['totp'] });

    // The recovery code works, and the user can remove the dead app and add it again.
    ok(await h.login('bob', { recoveryCode: codes[0]! }, k2Only));
    const factorId = (await h.totpFactor('bob'))!.id;
    ok(await k2Only.removeFactor('bob', factorId, { recoveryCode: codes[1]! }));
    const again = ok(await k2Only.beginEnrollment('bob', { accountName: 'bob@example.com' }));
    ok(await k2Only.confirmEnrollment('bob', codeAt(again.secret, h.now)));
    expect((await k2Only.status('bob')).attention).not.toContain('totp_reenroll');
    expect(await k2Only.rekey('bob')).toMatchObject({ dependsOn: [], needsUser: [] });
  });

  it('a pending enrollment under a dropped key cannot be confirmed (begin again), and never throws', async () => {
    const { h, k2Only } = rotation();
    const begun = ok(await h.mfa.beginEnrollment('carol', { accountName: 'carol@example.com' }));
    expect(await k2Only.confirmEnrollment('carol', codeAt(begun.secret, h.now))).toEqual({ ok: false, reason: 'not_enrolling' });
    // Beginning again gives a new secret (the live one cannot be shown again).
    const again = ok(await k2Only.beginEnrollment('carol', { accountName: 'carol@example.com' }));
    expect(again.secret).not.toBe(begun.secret);
    expect(again.resumed).toBeUndefined();
    ok(await k2Only.confirmEnrollment('carol', codeAt(again.secret, h.now)));
  });

  it('a pending enrollment begun under K1 and shown again after the rotation moves to K2', async () => {
    const { h, rotated } = rotation();
    const begun = ok(await h.mfa.beginEnrollment('dan', { accountName: 'dan@example.com' }));
    const shown = ok(await rotated.beginEnrollment('dan', { accountName: 'dan@example.com' }));
    expect(shown).toMatchObject({ secret: begun.secret, resumed: true });
    expect(keyIdOf((await h.record('dan'))!.pendingTotp!.secret)).toBe(K2);
  });

  it('a pending enrollment begun under K1 and confirmed after the rotation is sealed under K2', async () => {
    const { h, rotated } = rotation();
    const begun = ok(await h.mfa.beginEnrollment('dan', { accountName: 'dan@example.com' }));
    ok(await rotated.confirmEnrollment('dan', codeAt(begun.secret, h.now)));
    const record = (await h.record('dan'))!;
    expect(keyIdOf((record.factors[0] as { secret: string }).secret)).toBe(K2);
    expect(keyIdOf(record.unrevealedCodes)).toBe(K2);
    expect(record.recoveryCodeKeyIds).toEqual([K2]);
  });
});

describe('Issue 15.2: the record says which keys it needs; rekey moves what it can and reports the rest', () => {
  it('every set records the key its hashes are under: confirm, reveal and regenerate under the current key', async () => {
    const { h, rotated } = rotation();
    const alice = await h.enroll('alice');
    expect((await h.record('alice'))!.recoveryCodeKeyIds).toEqual([K1]);
    ok(await rotated.regenerateRecoveryCodes('alice', { totp: h.freshCode(alice.secret) }));
    expect((await h.record('alice'))!.recoveryCodeKeyIds).toEqual([K2]);
    ok(await rotated.revealRecoveryCodes('alice'));
    expect((await h.record('alice'))!.recoveryCodeKeyIds).toEqual([K2]);
    ok(await rotated.disable('alice', { totp: h.freshCode(alice.secret) }));
    expect((await h.record('alice'))!.recoveryCodeKeyIds).toEqual([]);
  });

  it('rekey re-seals the TOTP secret, a pending enrollment and an unrevealed set without the user, then finds nothing to do', async () => {
    const { h, rotated, k2Only } = rotation();
    const { secret } = await confirmOnly(h, 'alice');
    const before = (await h.users.get('alice'))!;
    const first = await rotated.rekey('alice');
    expect(first).toEqual({ ok: true, resealed: 2, dependsOn: [], needsUser: [] });
    const record = (await h.record('alice'))!;
    expect(keyIdOf((record.factors[0] as { secret: string }).secret)).toBe(K2);
    expect(keyIdOf(record.unrevealedCodes)).toBe(K2);
    // Nothing the user sees changed.
    expect(record.recoveryCodeSet).toBe((before.record as MfaRecord).recoveryCodeSet);
    expect(record.lastMfaAt).toBe((before.record as MfaRecord).lastMfaAt);
    const version = (await h.users.get('alice'))!.version;
    expect(await rotated.rekey('alice')).toEqual({ ok: true, resealed: 0, dependsOn: [], needsUser: [] });
    expect((await h.users.get('alice'))!.version).toBe(version);
    // K1 dropped: the app, the reveal and the codes all work.
    ok(await h.login('alice', { totp: h.freshCode(secret) }, k2Only));
    const codes = ok(await k2Only.revealRecoveryCodes('alice')).codes;
    ok(await h.login('alice', { recoveryCode: codes[0]! }, k2Only));

    const begun = ok(await h.mfa.beginEnrollment('bob', { accountName: 'bob@example.com' }));
    expect(await rotated.rekey('bob')).toEqual({ ok: true, resealed: 1, dependsOn: [], needsUser: [] });
    ok(await k2Only.confirmEnrollment('bob', codeAt(begun.secret, h.now)));
  });

  it('revealed codes hashed under the old key need the user: rekey says so, status asks for a regeneration, which clears it', async () => {
    const { h, rotated, k2Only } = rotation();
    const alice = await h.enroll('alice');
    expect(await rotated.rekey('alice')).toEqual({ ok: true, resealed: 1, dependsOn: [K1], needsUser: ['recovery_codes'] });
    expect((await rotated.status('alice')).attention).toContain('recovery_codes_rekey');
    // Not before a rotation.
    expect((await h.mfa.status('alice')).attention).not.toContain('recovery_codes_rekey');
    // The old codes still work while K1 is held (and a use does not move the others).
    ok(await h.login('alice', { recoveryCode: alice.codes[0]! }, rotated));
    expect(await rotated.rekey('alice')).toMatchObject({ dependsOn: [K1], needsUser: ['recovery_codes'] });
    ok(await rotated.regenerateRecoveryCodes('alice', { totp: h.freshCode(alice.secret) }));
    const fresh = ok(await rotated.revealRecoveryCodes('alice')).codes;
    expect(await rotated.rekey('alice')).toEqual({ ok: true, resealed: 0, dependsOn: [], needsUser: [] });
    expect((await rotated.status('alice')).attention).not.toContain('recovery_codes_rekey');
    ok(await h.login('alice', { recoveryCode: fresh[0]! }, k2Only));
  });

  it('a set with no unused code left needs nothing', async () => {
    const { h, rotated } = rotation();
    const alice = await h.enroll('alice', h.mfa);
    for (const code of alice.codes) {
      h.clock.advance(MINUTE);
      ok(await h.login('alice', { recoveryCode: code }, h.mfa));
    }
    // (The app's secret moves; the spent set needs nothing.)
    expect(await rotated.rekey('alice')).toEqual({ ok: true, resealed: 1, dependsOn: [], needsUser: [] });
    expect((await rotated.status('alice')).attention).not.toContain('recovery_codes_rekey');
  });

  it('a record written before recoveryCodeKeyIds existed: its set may be under any ring key until a code or rekey tells', async () => {
    const { h, rotated } = rotation();
    const alice = await h.enroll('alice');
    const bob = await h.enroll('bob');
    for (const userId of ['alice', 'bob', 'nobody-enrolled']) {
      const stored = await h.users.get(userId);
      if (stored === null) {
        // A registered user's leftover record (a lock once) from before.
        const { recoveryCodeKeyIds: _, ...legacy } = { ...(await h.record('alice'))!, factors: [], recoveryCodeSet: null, unrevealedCodes: null };
        expect(await h.users.put(userId, legacy as MfaRecord, null)).toBe(true);
        continue;
      }
      const { recoveryCodeKeyIds: _, ...legacy } = stored.record as MfaRecord;
      expect(await h.users.put(userId, legacy as MfaRecord, stored.version)).toBe(true);
    }
    // With K1 alone, nothing to say; with K1 retired, the set may be under it.
    expect((await h.mfa.status('alice')).attention).not.toContain('recovery_codes_rekey');
    expect((await rotated.status('alice')).attention).toContain('recovery_codes_rekey');
    // A code that matches tells: alice's set is under K1.
    ok(await h.login('alice', { recoveryCode: alice.codes[0]! }, rotated));
    expect((await h.record('alice'))!.recoveryCodeKeyIds).toEqual([K1]);
    // rekey writes what it learned (every ring key) so a later ring cannot forget it.
    const version = (await h.users.get('bob'))!.version;
    expect(await rotated.rekey('bob')).toEqual({ ok: true, resealed: 1, dependsOn: [K1], needsUser: ['recovery_codes'] });
    expect((await h.users.get('bob'))!.version).toBe(version + 1);
    expect((await h.record('bob'))!.recoveryCodeKeyIds).toEqual([K2, K1]);
    void bob;
    // Even a record with nothing to re-seal is written once.
    const nobody = (await h.users.get('nobody-enrolled'))!.version;
    expect(await rotated.rekey('nobody-enrolled')).toEqual({ ok: true, resealed: 0, dependsOn: [], needsUser: [] });
    expect((await h.users.get('nobody-enrolled'))!.version).toBe(nobody + 1);
    expect((await h.record('nobody-enrolled'))!.recoveryCodeKeyIds).toEqual([]);
  });

  it('an unrevealed set under a dropped key: rekey puts a fresh set in its place (nobody has seen either), and its reveal works', async () => {
    const { h, k2Only } = rotation();
    await confirmOnly(h, 'erin');
    const setBefore = (await h.record('erin'))!.recoveryCodeSet;
    const result = await k2Only.rekey('erin');
    // The app's secret under K1 cannot move: the user must re-enroll it.
    expect(result).toEqual({ ok: true, resealed: 1, dependsOn: [K1], needsUser: ['totp'] });
    const record = (await h.record('erin'))!;
    expect(record.recoveryCodeSet).not.toBe(setBefore);
    expect(keyIdOf(record.unrevealedCodes)).toBe(K2);
    const codes = ok(await k2Only.revealRecoveryCodes('erin')).codes;
    ok(await h.login('erin', { recoveryCode: codes[0]! }, k2Only));
  });

  it('rekey of a user without a record writes nothing; of a locked user, works (it proves and grants nothing)', async () => {
    const { h, rotated } = rotation();
    expect(await rotated.rekey('ghost')).toEqual({ ok: true, resealed: 0, dependsOn: [], needsUser: [] });
    expect(await h.users.get('ghost')).toBeNull();
    await confirmOnly(h, 'frank');
    ok(await h.mfa.lock('frank', { reason: 'support' }));
    expect(await rotated.rekey('frank')).toMatchObject({ resealed: 2 });
    expect((await rotated.status('frank')).state).toBe('locked');
  });

  it('several retired keys: each is reported by its own id', async () => {
    const h = new Harness({ secretKey: KEY_1 });
    const alice = await h.enroll('alice');
    const k2 = h.service({ secretKey: KEY_2, previousSecretKeys: [KEY_1] });
    const bob = await h.enroll('bob', k2);
    const k3 = h.service({ secretKey: KEY_3, previousSecretKeys: [KEY_2, KEY_1] });
    expect(await k3.rekey('alice')).toEqual({ ok: true, resealed: 1, dependsOn: [K1], needsUser: ['recovery_codes'] });
    expect(await k3.rekey('bob')).toEqual({ ok: true, resealed: 1, dependsOn: [K2], needsUser: ['recovery_codes'] });
    expect(keyIdOf((await h.totpFactor('bob'))!.secret)).toBe(K3);
    void alice;
    void bob;
    h.clock.advance(DAY);
  });
});
