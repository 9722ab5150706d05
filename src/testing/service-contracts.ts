/**
 * The conformance suite's end-to-end group: {@link MfaService} over the
 * adapter — enrollment, logins, replay and races of codes, keys and device
 * tokens, disable, awkward ids, and a key rotation with `rekeyAll`.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect } from 'vitest';
import { rekeyAll, secretKeyId } from '../maintenance/rekey-all.ts';
import { generateTotp } from '../otp/totp.ts';
import { MfaService } from '../service/mfa-service.ts';
import { blankRecord } from '../service/record.ts';
import type { MfaRecord } from '../stores/types.ts';
import { parallel, type Contract, type Stores } from './conformance-support.ts';

/** Registers the MfaService group with `contract`, racing `concurrency` callers. */
export function serviceContracts(contract: Contract, concurrency: number): void {
  describe('MfaService over the adapter', () => {
    const START = 1_700_000_000_000;
    const STEP_MS = 30_000;

    function service(stores: Stores) {
      let now = START;
      const mfa = new MfaService({
        issuer: 'Conformance',
        secretKey: randomBytes(32),
        users: stores.users,
        recoveryCodes: stores.recoveryCodes,
        now: () => now,
      });
      return {
        mfa,
        now: () => now,
        advance(ms: number) {
          now += ms;
        },
        totp: (secret: string) => generateTotp(secret, { now }),
      };
    }

    /** Enroll and reveal codes, then move to the next time step so a fresh code is usable. */
    async function enroll(s: ReturnType<typeof service>, userId: string): Promise<{ secret: string; codes: string[] }> {
      const begun = await s.mfa.beginEnrollment(userId, { accountName: 'alice@example.com' });
      if (!begun.ok) throw new Error(`beginEnrollment failed: ${begun.reason}`);
      expect(await s.mfa.confirmEnrollment(userId, s.totp(begun.secret))).toMatchObject({ ok: true });
      const revealed = await s.mfa.revealRecoveryCodes(userId);
      if (!revealed.ok) throw new Error(`revealRecoveryCodes failed: ${revealed.reason}`);
      s.advance(STEP_MS);
      return { secret: begun.secret, codes: revealed.codes };
    }

    async function challenge(s: ReturnType<typeof service>, userId: string): Promise<string> {
      const started = await s.mfa.startLogin(userId);
      if (!started.ok || !started.mfaRequired) throw new Error('startLogin did not issue a challenge');
      return started.challenge;
    }

    contract('a key rotation over the adapter: rekeyAll moves every user to the new key, reports who must act, and then the old key can go', async (stores) => {
      const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];
      let now = START;
      const make = (secretKey: Uint8Array, previousSecretKeys: Uint8Array[] = []) =>
        new MfaService({ issuer: 'Conformance', secretKey, previousSecretKeys, users: stores.users, recoveryCodes: stores.recoveryCodes, now: () => now });
      const before = make(oldKey);
      const totp = (secret: string) => generateTotp(secret, { now });
      // Under the old key: alice revealed her codes, bob did not, carol is enrolling.
      const secrets: Record<string, string> = {};
      for (const userId of ['alice', 'bob', 'carol']) {
        const begun = await before.beginEnrollment(userId, { accountName: `${userId}@example.com` });
        if (!begun.ok) throw new Error(`beginEnrollment failed: ${begun.reason}`);
        secrets[userId] = begun.secret;
        if (userId !== 'carol') expect(await before.confirmEnrollment(userId, totp(begun.secret))).toMatchObject({ ok: true });
      }
      const aliceCodes = await before.revealRecoveryCodes('alice');
      if (!aliceCodes.ok) throw new Error('reveal failed');
      now += STEP_MS;

      const rotated = make(newKey, [oldKey]);
      const walkUsers = stores.users.scan ? { users: stores.users } : { userIds: ['alice', 'bob', 'carol'] };
      const first = await rekeyAll({ service: rotated, ...walkUsers, limit: 2 });
      // Only alice's revealed codes still need the old key: they are hashes, only she can replace them.
      expect(first).toMatchObject({ users: 3, resealed: 4, needsUser: { recovery_codes: 1, totp: 0 }, unnamed: 0 });
      expect(first.dependsOn).toEqual({ [secretKeyId(oldKey)]: 1 });
      expect((await rotated.status('alice')).attention).toContain('recovery_codes_rekey');
      // alice is told, and regenerates.
      expect(await rotated.regenerateRecoveryCodes('alice', { totp: totp(secrets.alice!) })).toMatchObject({ ok: true });
      const fresh = await rotated.revealRecoveryCodes('alice');
      if (!fresh.ok) throw new Error('reveal failed');
      const second = await rekeyAll({ service: rotated, ...walkUsers });
      expect(second).toEqual({ users: 3, resealed: 0, needsUser: { recovery_codes: 0, totp: 0 }, dependsOn: {}, unnamed: 0 });

      // The old key goes: everyone still logs in, with the app and with codes.
      const after = make(newKey);
      now += STEP_MS;
      expect(await after.confirmEnrollment('carol', totp(secrets.carol!))).toMatchObject({ ok: true });
      const bobCodes = await after.revealRecoveryCodes('bob');
      if (!bobCodes.ok) throw new Error('reveal failed');
      now += STEP_MS;
      for (const [userId, code] of [['alice', fresh.codes[0]!], ['bob', bobCodes.codes[0]!]] as const) {
        const started = await after.startLogin(userId);
        if (!started.ok || !started.mfaRequired) throw new Error('startLogin did not issue a challenge');
        expect(await after.verifyLogin(started.challenge, { totp: totp(secrets[userId]!) })).toMatchObject({ ok: true });
        const again = await after.startLogin(userId);
        if (!again.ok || !again.mfaRequired) throw new Error('startLogin did not issue a challenge');
        expect(await after.verifyLogin(again.challenge, { recoveryCode: code })).toMatchObject({ ok: true, method: 'recovery_code' });
      }
    });

    contract('enrollment is confirmed with the first TOTP code; codes are revealed once and held by the stores', async (stores) => {
      const s = service(stores);
      const userId = 'alice';
      expect(await s.mfa.startLogin(userId)).toEqual({ ok: true, mfaRequired: false });
      const begun = await s.mfa.beginEnrollment(userId, { accountName: 'alice@example.com' });
      expect(begun.ok).toBe(true);
      if (!begun.ok) return;
      expect((await s.mfa.status(userId)).state).toBe('enrolling');
      expect(await s.mfa.confirmEnrollment(userId, s.totp(begun.secret))).toMatchObject({ ok: true });

      const revealed = await s.mfa.revealRecoveryCodes(userId);
      expect(revealed.ok).toBe(true);
      expect(revealed.ok && revealed.codes).toHaveLength(10);
      expect(await s.mfa.revealRecoveryCodes(userId)).toEqual({ ok: false, reason: 'already_revealed' });

      const stored = await stores.users.get(userId);
      expect(stored?.record).toMatchObject({ schema: 2, factors: [{ kind: 'totp' }], unrevealedCodes: null });
      expect(JSON.stringify(stored)).not.toContain(begun.secret);
      expect(await stores.recoveryCodes.countUnused(userId)).toBe(10);
      expect(await s.mfa.status(userId)).toMatchObject({ state: 'enabled', recoveryCodesRemaining: 10 });
      expect((await s.mfa.startLogin(userId)).mfaRequired).toBe(true);
    });

    contract('login with TOTP succeeds; the same code is then refused as replayed', async (stores) => {
      const s = service(stores);
      const { secret } = await enroll(s, 'alice');
      const code = s.totp(secret);
      const [factor] = await s.mfa.listFactors('alice');
      expect(await s.mfa.verifyLogin(await challenge(s, 'alice'), { totp: code })).toEqual({
        ok: true,
        userId: 'alice',
        method: 'totp',
        factorId: factor!.id,
        recoveryCodesRemaining: 10,
      });
      expect(await s.mfa.verifyLogin(await challenge(s, 'alice'), { totp: code })).toMatchObject({ ok: false, reason: 'replayed' });
      s.advance(STEP_MS);
      expect(await s.mfa.verifyLogin(await challenge(s, 'alice'), { totp: s.totp(secret) })).toMatchObject({ ok: true });
    });

    contract('login with a recovery code consumes exactly that code; reusing it is refused', async (stores) => {
      const s = service(stores);
      const { codes } = await enroll(s, 'alice');
      expect(await s.mfa.verifyLogin(await challenge(s, 'alice'), { recoveryCode: codes[0]! })).toEqual({
        ok: true,
        userId: 'alice',
        method: 'recovery_code',
        recoveryCodesRemaining: 9,
      });
      expect(await stores.recoveryCodes.countUnused('alice')).toBe(9);
      expect(await s.mfa.verifyLogin(await challenge(s, 'alice'), { recoveryCode: codes[0]! })).toMatchObject({ ok: false, reason: 'invalid_code' });
      expect(await s.mfa.verifyLogin(await challenge(s, 'alice'), { recoveryCode: codes[1]!.toLowerCase() })).toMatchObject({
        ok: true,
        recoveryCodesRemaining: 8,
      });
    });

    contract(`${concurrency} parallel verifyLogin of one TOTP code on ${concurrency} challenges: exactly one success`, async (stores) => {
      const s = service(stores);
      const { secret } = await enroll(s, 'alice');
      const challenges = await parallel(concurrency, () => challenge(s, 'alice'));
      const code = s.totp(secret);
      const results = await parallel(concurrency, (i) => s.mfa.verifyLogin(challenges[i]!, { totp: code }));
      expect(results.filter((result) => result.ok)).toHaveLength(1);
      for (const result of results) {
        if (!result.ok) expect(['replayed', 'locked']).toContain(result.reason);
      }
      expect(((await stores.users.get('alice'))?.record as MfaRecord).factors[0]).toMatchObject({ lastStep: Math.floor(s.now() / STEP_MS) });
    });

    contract(`${concurrency} parallel verifyLogin of one recovery code: exactly one success, exactly one code spent`, async (stores) => {
      const s = service(stores);
      const { codes } = await enroll(s, 'alice');
      const challenges = await parallel(concurrency, () => challenge(s, 'alice'));
      const results = await parallel(concurrency, (i) => s.mfa.verifyLogin(challenges[i]!, { recoveryCode: codes[0]! }));
      expect(results.filter((result) => result.ok)).toHaveLength(1);
      for (const result of results) {
        if (!result.ok) expect(['invalid_code', 'locked']).toContain(result.reason);
      }
      expect(await stores.recoveryCodes.countUnused('alice')).toBe(codes.length - 1);
      // The spent code stays spent.
      await s.mfa.unlock('alice');
      const again = await s.mfa.verifyLogin(await challenge(s, 'alice'), { recoveryCode: codes[0]! });
      expect(again).toMatchObject({ ok: false, reason: 'invalid_code' });
    });

    contract('disable with a TOTP code removes the factor and every recovery code', async (stores) => {
      const s = service(stores);
      const { secret, codes } = await enroll(s, 'alice');
      expect(await s.mfa.disable('alice', { totp: s.totp(secret) })).toEqual({ ok: true, method: 'totp' });
      expect(await s.mfa.status('alice')).toMatchObject({ state: 'registered', recoveryCodesRemaining: 0 });
      expect(await stores.recoveryCodes.countUnused('alice')).toBe(0);
      expect((await stores.users.get('alice'))?.record).toMatchObject({ schema: 2, factors: [], pendingTotp: null, unrevealedCodes: null });
      expect(await s.mfa.startLogin('alice')).toEqual({ ok: true, mfaRequired: false });
      s.advance(STEP_MS);
      expect(await s.mfa.disable('alice', { recoveryCode: codes[1]! })).toEqual({ ok: false, reason: 'not_enrolled' });
    });

    contract('users whose ids differ only by a NUL, case or SQL quoting never share a factor', async (stores) => {
      const s = service(stores);
      const ids = ['user', 'user\u0000', 'User', "'; DROP TABLE users; --", 'émoji 🔐👩‍💻'];
      const secrets: string[] = [];
      for (const userId of ids) {
        const begun = await s.mfa.beginEnrollment(userId, { accountName: 'someone' });
        if (!begun.ok) throw new Error(`beginEnrollment failed: ${begun.reason}`);
        expect(await s.mfa.confirmEnrollment(userId, s.totp(begun.secret))).toMatchObject({ ok: true });
        secrets.push(begun.secret);
      }
      expect(await s.mfa.status('USER')).toMatchObject({ state: 'registered' });
      s.advance(STEP_MS);
      for (const [i, userId] of ids.entries()) {
        const own = s.totp(secrets[i]!);
        const other = s.totp(secrets[(i + 1) % ids.length]!);
        if (other !== own) {
          expect(await s.mfa.verifyLogin(await challenge(s, userId), { totp: other })).toMatchObject({ ok: false, reason: 'invalid_code' });
        }
        const result = await s.mfa.verifyLogin(await challenge(s, userId), { totp: own });
        expect(result).toMatchObject({ ok: true, method: 'totp' });
        expect(result.ok && result.userId).toBe(userId);
      }
    });

    /**
     * A user whose only factor is a security key (an ES256 key made here),
     * written straight into the record: the registration ceremony is the
     * plugin's business, not the store's, and needs no optional peer here.
     * Returns the service with the WebAuthn plugin and a signer of assertions.
     */
    async function webAuthnUser(stores: Stores, userId: string) {
      const { createHash, generateKeyPairSync, sign } = await import('node:crypto');
      const { webauthn } = await import('../webauthn/index.ts');
      const RP_ID = 'example.com';
      const ORIGIN = 'https://example.com';
      const now = START;
      const mfa = new MfaService({
        issuer: 'Conformance',
        secretKey: randomBytes(32),
        users: stores.users,
        recoveryCodes: stores.recoveryCodes,
        now: () => now,
        webauthn: webauthn({ rpId: RP_ID, rpName: 'Conformance', origins: [ORIGIN] }),
        lockout: { maxFailures: 100, hardLimit: 100 },
      });
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const jwk = publicKey.export({ format: 'jwk' });
      // COSE_Key {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}
      const cose = Buffer.concat([
        Buffer.from([0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20]),
        Buffer.from(jwk.x!, 'base64url'),
        Buffer.from([0x22, 0x58, 0x20]),
        Buffer.from(jwk.y!, 'base64url'),
      ]);
      const credentialId = randomBytes(32).toString('base64url');
      const factorId = 'conformance-key';
      const record: MfaRecord = {
        ...blankRecord(),
        factors: [
          {
            id: factorId,
            kind: 'webauthn',
            label: 'Security key',
            createdAt: now,
            lastUsedAt: null,
            credentialId,
            publicKey: cose.toString('base64url'),
            signCount: 1,
            transports: ['usb'],
            backupEligible: false,
            backedUp: false,
          },
        ],
        webauthnUserHandle: randomBytes(32).toString('base64url'),
        enabledAt: now,
      };
      expect(await stores.users.put(userId, record, null)).toBe(true);
      const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest();
      /** A valid assertion by the key for a login challenge, with signature counter `counter`. */
      const assertion = (webauthnChallenge: string, counter: number) => {
        const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: webauthnChallenge, origin: ORIGIN, crossOrigin: false }));
        const count = Buffer.alloc(4);
        count.writeUInt32BE(counter);
        const authenticatorData = Buffer.concat([sha256(RP_ID), Buffer.from([0x05]), count]); // UP | UV
        const signature = sign('sha256', Buffer.concat([authenticatorData, sha256(clientDataJSON)]), { key: privateKey, dsaEncoding: 'der' });
        return {
          id: credentialId,
          rawId: credentialId,
          type: 'public-key' as const,
          response: {
            clientDataJSON: clientDataJSON.toString('base64url'),
            authenticatorData: authenticatorData.toString('base64url'),
            signature: signature.toString('base64url'),
          },
          clientExtensionResults: {},
        };
      };
      const start = async () => {
        const started = await mfa.startLogin(userId);
        if (!started.ok || !started.mfaRequired || !started.webauthn) throw new Error('startLogin did not issue a WebAuthn challenge');
        return { challenge: started.challenge, webauthnChallenge: started.webauthn.challenge };
      };
      const storedKey = async () => ((await stores.users.get(userId))?.record as MfaRecord).factors.find((f) => f.id === factorId);
      return { mfa, factorId, assertion, start, storedKey };
    }

    contract(`${concurrency} parallel verifyLogin of one WebAuthn assertion on one challenge: exactly one success, its counter stored`, async (stores) => {
      const key = await webAuthnUser(stores, 'alice');
      const { challenge, webauthnChallenge } = await key.start();
      const proof = { webauthn: key.assertion(webauthnChallenge, 5) };
      const results = await parallel(concurrency, () => key.mfa.verifyLogin(challenge, proof));
      expect(results.filter((result) => result.ok)).toEqual([
        { ok: true, userId: 'alice', method: 'webauthn', factorId: key.factorId, recoveryCodesRemaining: 0 },
      ]);
      // The challenge is spent by the success: every other call is refused without counting a failure.
      for (const result of results) if (!result.ok) expect(result.reason).toBe('challenge_invalid');
      expect(await key.storedKey()).toMatchObject({ kind: 'webauthn', signCount: 5 });
      expect((await stores.users.get('alice'))?.record).toMatchObject({ failures: 0 });
    });

    contract(`a cloned key: ${concurrency} parallel verifyLogin, each on its own challenge with the same counter, exactly one success`, async (stores) => {
      const key = await webAuthnUser(stores, 'alice');
      const challenges = await parallel(concurrency, () => key.start());
      const results = await parallel(concurrency, (i) =>
        key.mfa.verifyLogin(challenges[i]!.challenge, { webauthn: key.assertion(challenges[i]!.webauthnChallenge, 9) }),
      );
      expect(results.filter((result) => result.ok)).toHaveLength(1);
      // After the success the counter did not increase: refused (counted), or locked once the refusals add up.
      for (const result of results) if (!result.ok) expect(['invalid_credential', 'locked']).toContain(result.reason);
      expect(await key.storedKey()).toMatchObject({ kind: 'webauthn', signCount: 9 });
      const refused = results.filter((result) => !result.ok && result.reason === 'invalid_credential').length;
      expect(refused).toBe(Math.min(concurrency - 1, 99));
    });

    contract(`${concurrency} parallel startLogin with one remembered-device token: exactly one skips the second factor with a new token; after the grace the old token forgets the device once`, async (stores) => {
      let now = START;
      const events: Array<{ type: string; cause?: string }> = [];
      const mfa = new MfaService({
        issuer: 'Conformance',
        secretKey: randomBytes(32),
        users: stores.users,
        recoveryCodes: stores.recoveryCodes,
        now: () => now,
        onEvent: (event) => {
          events.push(event);
        },
      });
      const begun = await mfa.beginEnrollment('alice', { accountName: 'alice@example.com' });
      if (!begun.ok) throw new Error(`beginEnrollment failed: ${begun.reason}`);
      expect(await mfa.confirmEnrollment('alice', generateTotp(begun.secret, { now }))).toMatchObject({ ok: true });
      now += STEP_MS;
      const started = await mfa.startLogin('alice');
      if (!started.ok || !started.mfaRequired) throw new Error('startLogin did not issue a challenge');
      const verified = await mfa.verifyLogin(started.challenge, { totp: generateTotp(begun.secret, { now }) }, { rememberDevice: { label: 'Firefox — « maison »' } });
      if (!verified.ok || !verified.device) throw new Error('verifyLogin did not remember the device');
      const { id, token } = verified.device;
      expect(await mfa.listDevices('alice')).toMatchObject([{ id, label: 'Firefox — « maison »' }]);
      expect(JSON.stringify(await stores.users.get('alice'))).not.toContain(token);

      const results = await parallel(concurrency, () => mfa.startLogin('alice', { deviceToken: token }));
      const skipped = results.filter((result) => result.ok && !result.mfaRequired);
      expect(skipped).toHaveLength(1);
      const rotated = (skipped[0] as { rememberedDevice?: { id: string; token: string } }).rememberedDevice;
      expect(rotated?.id).toBe(id);
      expect(typeof rotated?.token).toBe('string');
      expect(rotated!.token).not.toBe(token);
      // Every other call found the token rotated away a moment ago: a normal challenge, no alarm.
      for (const result of results) if (result !== skipped[0]) expect(result).toMatchObject({ ok: true, mfaRequired: true, challenge: expect.any(String) });
      expect(events.filter((e) => e.type === 'device.token_reused')).toEqual([]);
      expect((await mfa.listDevices('alice')).map((d) => d.id)).toEqual([id]);
      expect(await mfa.startLogin('alice', { deviceToken: rotated!.token })).toMatchObject({ ok: true, mfaRequired: false, rememberedDevice: { id } });

      // Later than the grace (60 s) the old token is a copy: the device is forgotten, once.
      now += 60_001;
      const reused = await parallel(Math.min(concurrency, 20), () => mfa.startLogin('alice', { deviceToken: token }));
      for (const result of reused) expect(result).toMatchObject({ ok: true, mfaRequired: true });
      expect(events.filter((e) => e.type === 'device.token_reused')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'device.forgotten')).toMatchObject([{ cause: 'token_reused' }]);
      expect(await mfa.listDevices('alice')).toEqual([]);
      expect(((await stores.users.get('alice'))?.record as MfaRecord).devices).toEqual([]);
    });
  });
}
