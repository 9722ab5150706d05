/**
 * Remembered devices (DESIGN.md §6.3, issue 10): `verifyLogin(..., {
 * rememberDevice })` hands out a device token, `startLogin(userId, {
 * deviceToken })` skips the second factor for a live one and rotates it, a
 * rotated-away token coming back after the grace forgets the device, junk
 * gets a normal challenge, a lock always wins, and devices are forgotten
 * with the second factor. Hand clock, memory stores; each test is named
 * after the rule it checks and fails if the rule goes.
 */
import { createHash, createHmac } from 'node:crypto';
import { lengthPrefixed } from '../../src/length-prefixed.ts';
import { createKeyRing } from '../../src/seal.ts';
import { parseDeviceToken } from '../../src/service/devices.ts';
import { describe, expect, it } from 'vitest';
import type { MfaEvent } from '../../src/service/events.ts';
import type { MfaService } from '../../src/service/mfa-service.ts';
import type { MfaServiceOptions } from '../../src/service/options.ts';
import type { RememberedDevice, StartLoginResult } from '../../src/service/results.ts';
import type { DeviceRecord, MfaRecord } from '../../src/stores/index.ts';
import {
  DAY,
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
import { keyHarness, newKey, registerKey } from './webauthn-fixtures.ts';

const GRACE = 60 * SECOND;

/** A fresh-code login of `u` asking to remember the browser: the device it returns (must succeed). */
async function remember(h: Harness, u: Enrolled, rememberDevice: { label?: string } = {}, mfa: MfaService = h.mfa): Promise<RememberedDevice> {
  const challenge = await h.challenge(u.userId, mfa);
  const result = ok(await mfa.verifyLogin(challenge, { totp: h.freshCode(u.secret) }, { rememberDevice }));
  expect(result.device, 'verifyLogin returned no device').toBeDefined();
  return result.device!;
}

/** startLogin with a device token (any value: the service must cope with whatever a cookie holds). */
function withToken(h: Harness, userId: string, deviceToken: unknown, mfa: MfaService = h.mfa): Promise<StartLoginResult> {
  return mfa.startLogin(userId, { deviceToken } as { deviceToken: string });
}

/** The result of a device login that skipped the second factor: the rotated device. */
function expectSkipped(result: StartLoginResult): RememberedDevice {
  expect(result, JSON.stringify(result)).toMatchObject({ ok: true, mfaRequired: false });
  const device = (result as { rememberedDevice?: RememberedDevice }).rememberedDevice;
  expect(device, 'no rotated token').toBeDefined();
  return device!;
}

/** A normal login challenge, exactly the shape `startLogin` without a token gives. */
function expectChallenge(result: StartLoginResult): string {
  expect(result, JSON.stringify(result)).toMatchObject({ ok: true, mfaRequired: true, methods: ['totp', 'recovery_code'] });
  expect(Object.keys(result).sort()).toEqual(['challenge', 'expiresAt', 'methods', 'mfaRequired', 'ok']);
  expect((result as { rememberedDevice?: unknown }).rememberedDevice).toBeUndefined();
  return (result as { challenge: string }).challenge;
}

async function version(h: Harness, userId: string): Promise<number> {
  return (await h.users.get(userId))!.version;
}

async function storedDevices(h: Harness, userId: string): Promise<DeviceRecord[]> {
  return (await h.record(userId))!.devices;
}

/** The secret part of a token (what must never be written or logged, beside the token itself). */
function secretPartOf(token: string): string {
  const [, secret] = token.split('.');
  expect(secret!.length).toBeGreaterThanOrEqual(43);
  return secret!;
}

async function aliceWithDevice(overrides: ConstructorParameters<typeof Harness>[0] = {}, label?: string) {
  const h = new Harness(overrides);
  const u = await h.enroll('alice');
  const device = await remember(h, u, label === undefined ? {} : { label });
  return { h, u, device };
}

// ---------------------------------------------------------------------------

describe('remembering a device at verifyLogin (rememberDevice)', () => {
  it('verifyLogin with rememberDevice returns device { id, token, expiresAt } (30 days by default) and emits device.remembered', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const challenge = await h.challenge('alice');
    const from = h.events.length;
    const result = ok(await h.mfa.verifyLogin(challenge, { totp: h.freshCode(u.secret) }, { rememberDevice: { label: 'Firefox on Linux' } }));
    const device = result.device!;
    expect(Object.keys(device).sort()).toEqual(['expiresAt', 'id', 'token']);
    expect(device.expiresAt).toBe(h.now + 30 * DAY);
    expect(typeof device.id).toBe('string');
    expect(typeof device.token).toBe('string');
    expect(device.token.startsWith(`${device.id}.`)).toBe(true);
    // 256 random bits at least: the secret part alone is 43 base64url characters.
    expect(secretPartOf(device.token)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(result).toMatchObject({ ok: true, userId: 'alice', method: 'totp' });
    expect(h.events.slice(from).map((e) => e.type)).toEqual(['login.succeeded', 'device.remembered']);
    expect(h.eventsOf('device.remembered')).toEqual([{ type: 'device.remembered', userId: 'alice', at: h.now, deviceId: device.id }]);
    // And it works.
    expectSkipped(await withToken(h, 'alice', device.token));
  });

  it('without rememberDevice nothing is remembered and the result has no device', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const result = ok(await h.login('alice', { totp: h.freshCode(u.secret) }));
    expect(result.device).toBeUndefined();
    expect(await storedDevices(h, 'alice')).toEqual([]);
    expect(h.eventsOf('device.remembered')).toEqual([]);
  });

  it('two remembered browsers get different ids and tokens; a recovery-code login may remember one too', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const a = await remember(h, u);
    const byCode = ok(await h.mfa.verifyLogin(await h.challenge('alice'), { recoveryCode: u.codes[0]! }, { rememberDevice: {} }));
    const b = byCode.device!;
    expect(b.id).not.toBe(a.id);
    expect(b.token).not.toBe(a.token);
    expect((await h.mfa.listDevices('alice')).map((d) => d.id)).toEqual([a.id, b.id]);
  });

  it('a failed proof remembers nothing', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const from = await version(h, 'alice');
    const result = await h.mfa.verifyLogin(await h.challenge('alice'), { totp: h.wrongCode(u.secret) }, { rememberDevice: {} });
    expect(result).toMatchObject({ ok: false, reason: 'invalid_code' });
    expect((result as { device?: unknown }).device).toBeUndefined();
    expect(await storedDevices(h, 'alice')).toEqual([]);
    expect(await version(h, 'alice')).toBe(from + 1); // the counted failure only
  });

  it('the record keeps only a keyed hash of the token: never the token nor its secret part, and not a plain hash', async () => {
    const { h, device } = await aliceWithDevice();
    const json = JSON.stringify(await h.users.get('alice'));
    expect(json).not.toContain(device.token);
    expect(json).not.toContain(secretPartOf(device.token));
    const [stored] = await storedDevices(h, 'alice');
    for (const digest of ['sha256', 'sha512']) {
      for (const encoding of ['hex', 'base64url', 'base64'] as const) {
        const plain = createHash(digest).update(device.token).digest(encoding);
        expect(json).not.toContain(plain);
        expect(stored!.tokenHash).not.toBe(plain);
      }
    }
    // Keyed: a service under another root key over the same stores cannot match it.
    const otherKey = h.service({ secretKey: KEY_2 });
    const before = await version(h, 'alice');
    expectChallenge(await withToken(h, 'alice', device.token, otherKey));
    expect(await version(h, 'alice')).toBe(before);
    expectSkipped(await withToken(h, 'alice', device.token));
  });

  it('the hash is bound to the user: the same device record copied into another user does not accept the token', async () => {
    const h = new Harness();
    const alice = await h.enroll('alice');
    await h.enroll('bob');
    const device = await remember(h, alice);
    const aliceDevices = await storedDevices(h, 'alice');
    const bob = (await h.users.get('bob'))!;
    expect(await h.users.put('bob', { ...(bob.record as MfaRecord), devices: aliceDevices }, bob.version)).toBe(true);
    const before = await version(h, 'bob');
    expectChallenge(await withToken(h, 'bob', device.token));
    expect(await version(h, 'bob')).toBe(before);
    expect(h.eventsOf('login.succeeded').filter((e) => e.userId === 'bob')).toEqual([]);
    // Still alice's.
    expectSkipped(await withToken(h, 'alice', device.token));
  });

  it('the record keeps the label, createdAt, lastUsedAt and expiresAt of each device', async () => {
    const { h, device } = await aliceWithDevice({}, '  Firefox on Linux — « maison »  ');
    const createdAt = h.now;
    const [stored] = await storedDevices(h, 'alice');
    expect(stored).toMatchObject({ id: device.id, label: 'Firefox on Linux — « maison »', createdAt, lastUsedAt: createdAt, expiresAt: createdAt + 30 * DAY });
    expect(typeof stored!.tokenHash).toBe('string');
    h.clock.advance(HOUR);
    expectSkipped(await withToken(h, 'alice', device.token));
    expect((await storedDevices(h, 'alice'))[0]).toMatchObject({ createdAt, lastUsedAt: h.now, expiresAt: createdAt + 30 * DAY });
    // No label: null.
    const u2 = await h.enroll('bob');
    await remember(h, u2);
    expect((await h.mfa.listDevices('bob'))[0]!.label).toBeNull();
  });

  it('rememberDevice.label is checked like a factor label (MfaError invalid_argument), before anything is spent', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const challenge = await h.challenge('alice');
    const code = h.freshCode(u.secret);
    for (const label of ['', '   ', 'x'.repeat(65), 'a\u0000b', 'tab\there', '\ud800', 42, {}]) {
      await expectMfaError(h.mfa.verifyLogin(challenge, { totp: code }, { rememberDevice: { label } as { label: string } }), 'invalid_argument');
    }
    // The challenge and the code are still good.
    expect(ok(await h.mfa.verifyLogin(challenge, { totp: code }, { rememberDevice: { label: 'x'.repeat(64) } })).device).toBeDefined();
  });

  it('only an object asks to remember: rememberDevice false or null remembers nothing; other non-objects throw invalid_argument', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    for (const rememberDevice of [false, null]) {
      const result = ok(await h.mfa.verifyLogin(await h.challenge('alice'), { totp: h.freshCode(u.secret) }, { rememberDevice } as never));
      expect(result.device).toBeUndefined();
    }
    expect(await storedDevices(h, 'alice')).toEqual([]);
    for (const rememberDevice of [true, 'yes', 1, ['label']]) {
      await expectMfaError(h.mfa.verifyLogin(await h.challenge('alice'), { totp: h.freshCode(u.secret) }, { rememberDevice } as never), 'invalid_argument');
    }
    expect(await storedDevices(h, 'alice')).toEqual([]);
  });

  it('at most maxDevices: remembering one more forgets the oldest, with device.forgotten cause evicted', async () => {
    const h = new Harness({ rememberDevice: { maxDevices: 2 } });
    const u = await h.enroll('alice');
    const first = await remember(h, u);
    const second = await remember(h, u);
    const from = h.events.length;
    const third = await remember(h, u);
    expect(h.events.slice(from).filter((e) => e.type.startsWith('device.'))).toEqual([
      { type: 'device.remembered', userId: 'alice', at: h.now, deviceId: third.id },
      { type: 'device.forgotten', userId: 'alice', at: h.now, deviceId: first.id, cause: 'evicted' },
    ]);
    expect((await h.mfa.listDevices('alice')).map((d) => d.id)).toEqual([second.id, third.id]);
    expectChallenge(await withToken(h, 'alice', first.token));
    expect(h.eventsOf('device.token_reused')).toEqual([]);
    expectSkipped(await withToken(h, 'alice', second.token));
    expectSkipped(await withToken(h, 'alice', third.token));
  });

  it('maxDevices defaults to 10: the 11th device evicts the first', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const devices: RememberedDevice[] = [];
    for (let i = 0; i < 11; i++) devices.push(await remember(h, u));
    expect((await h.mfa.listDevices('alice')).map((d) => d.id)).toEqual(devices.slice(1).map((d) => d.id));
    expect(h.eventsOf('device.forgotten')).toEqual([{ type: 'device.forgotten', userId: 'alice', at: h.now, deviceId: devices[0]!.id, cause: 'evicted' }]);
  });
});

describe('a remembered device at startLogin', () => {
  it('a live token skips the second factor: mfaRequired false with a rotated token, event login.succeeded method remembered_device with deviceId', async () => {
    const { h, device } = await aliceWithDevice();
    h.clock.advance(HOUR);
    const from = h.events.length;
    const result = await withToken(h, 'alice', device.token);
    const rotated = expectSkipped(result);
    expect(Object.keys(result).sort()).toEqual(['mfaRequired', 'ok', 'rememberedDevice']);
    expect(rotated.id).toBe(device.id);
    expect(rotated.token).not.toBe(device.token);
    expect(rotated.token.startsWith(`${device.id}.`)).toBe(true);
    expect(rotated.expiresAt).toBe(device.expiresAt);
    expect(h.events.slice(from)).toEqual([{ type: 'login.succeeded', userId: 'alice', at: h.now, method: 'remembered_device', deviceId: device.id }]);
    expect((await h.mfa.listDevices('alice'))[0]!.lastUsedAt).toBe(h.now);
  });

  it('the old token dies in the same compare-and-set write that accepts it', async () => {
    const { h, device } = await aliceWithDevice();
    const before = await h.users.get('alice');
    const puts: unknown[] = [];
    const put = h.users.put.bind(h.users);
    h.users.put = async (userId, record, expected) => {
      puts.push(structuredClone(record));
      return put(userId, record, expected);
    };
    const rotated = expectSkipped(await withToken(h, 'alice', device.token));
    // One write, on top of the version read, and it already holds the new hash in place of the old.
    expect(puts).toHaveLength(1);
    expect(await version(h, 'alice')).toBe(before!.version + 1);
    const [was] = (before!.record as { devices: DeviceRecord[] }).devices;
    const [now] = (puts[0] as { devices: DeviceRecord[] }).devices;
    expect(now!.tokenHash).not.toBe(was!.tokenHash);
    // The old token is dead from then on; the new one is live.
    expectChallenge(await withToken(h, 'alice', device.token));
    expectSkipped(await withToken(h, 'alice', rotated.token));
  });

  it('a compare-and-set lost to another writer is decided again: the accepted token is the one written', async () => {
    const { h, device } = await aliceWithDevice();
    const put = h.users.put.bind(h.users);
    let interfered = false;
    h.users.put = async (userId, record, expected) => {
      if (!interfered) {
        // Another app server writes first (an unrelated change): this write loses and is decided again.
        interfered = true;
        const current = (await h.users.get(userId))!;
        expect(await put(userId, { ...(current.record as MfaRecord), failures: 1 }, current.version)).toBe(true);
      }
      return put(userId, record, expected);
    };
    const rotated = expectSkipped(await withToken(h, 'alice', device.token));
    h.users.put = put;
    expect(h.eventsOf('login.succeeded').filter((e) => e.method === 'remembered_device')).toHaveLength(1);
    expectSkipped(await withToken(h, 'alice', rotated.token));
  });

  it('each use rotates: every returned token works exactly once', async () => {
    const { h, device } = await aliceWithDevice();
    const tokens = [device.token];
    for (let i = 0; i < 5; i++) {
      h.clock.advance(2 * MINUTE);
      tokens.push(expectSkipped(await withToken(h, 'alice', tokens.at(-1)!)).token);
    }
    expect(new Set(tokens).size).toBe(tokens.length);
    expect(h.eventsOf('login.succeeded').filter((e) => e.method === 'remembered_device')).toHaveLength(5);
    expect(await h.mfa.listDevices('alice')).toHaveLength(1);
  });

  it('within reuseGraceMs a rotated-away token gets a normal challenge and no alarm; the device stays', async () => {
    const { h, device } = await aliceWithDevice();
    const rotated = expectSkipped(await withToken(h, 'alice', device.token));
    const rotatedAt = h.now;
    const from = h.events.length;
    const before = await version(h, 'alice');
    for (const after of [0, 1, GRACE / 2, GRACE]) {
      h.clock.set(rotatedAt + after);
      expectChallenge(await withToken(h, 'alice', device.token));
    }
    expect(h.events.slice(from)).toEqual([]);
    expect(await version(h, 'alice')).toBe(before);
    expect((await h.mfa.listDevices('alice')).map((d) => d.id)).toEqual([device.id]);
    expectSkipped(await withToken(h, 'alice', rotated.token));
  });

  it('the challenge a rotated-away token gets is a normal one: the second factor completes the login', async () => {
    const { h, u, device } = await aliceWithDevice();
    expectSkipped(await withToken(h, 'alice', device.token));
    const challenge = expectChallenge(await withToken(h, 'alice', device.token));
    expect(ok(await h.mfa.verifyLogin(challenge, { totp: h.freshCode(u.secret) }))).toMatchObject({ userId: 'alice', method: 'totp' });
  });

  it('later than reuseGraceMs a rotated-away token forgets the device: device.token_reused and device.forgotten cause token_reused', async () => {
    const { h, device } = await aliceWithDevice();
    const rotated = expectSkipped(await withToken(h, 'alice', device.token));
    const rotatedAt = h.now;
    h.clock.set(rotatedAt + GRACE + 1);
    const from = h.events.length;
    expectChallenge(await withToken(h, 'alice', device.token));
    expect(h.events.slice(from)).toEqual([
      { type: 'device.token_reused', userId: 'alice', at: h.now, deviceId: device.id },
      { type: 'device.forgotten', userId: 'alice', at: h.now, deviceId: device.id, cause: 'token_reused' },
    ]);
    expect(await h.mfa.listDevices('alice')).toEqual([]);
    // The copy and the original both stop working: whoever holds the rotated token must prove a factor again.
    expectChallenge(await withToken(h, 'alice', rotated.token));
    expectChallenge(await withToken(h, 'alice', device.token));
    expect(h.eventsOf('device.token_reused')).toHaveLength(1);
  });

  it('a copied cookie used first: the owner presenting the original after the grace raises the alarm and the copy dies', async () => {
    const { h, device } = await aliceWithDevice();
    // The thief uses the copy (it rotates); the owner comes back later with the same original.
    const thief = expectSkipped(await withToken(h, 'alice', device.token));
    h.clock.advance(2 * HOUR);
    expectChallenge(await withToken(h, 'alice', device.token));
    expect(h.eventsOf('device.token_reused')).toEqual([{ type: 'device.token_reused', userId: 'alice', at: h.now, deviceId: device.id }]);
    expectChallenge(await withToken(h, 'alice', thief.token));
  });

  it('a token rotated away several rotations ago also raises the alarm after the grace (a copy used twice cannot hide)', async () => {
    const { h, device } = await aliceWithDevice();
    const t1 = expectSkipped(await withToken(h, 'alice', device.token));
    h.clock.advance(10 * MINUTE);
    const t2 = expectSkipped(await withToken(h, 'alice', t1.token));
    h.clock.advance(10 * MINUTE);
    const t3 = expectSkipped(await withToken(h, 'alice', t2.token));
    h.clock.advance(GRACE + 1);
    expectChallenge(await withToken(h, 'alice', device.token));
    expect(h.eventsOf('device.token_reused')).toEqual([{ type: 'device.token_reused', userId: 'alice', at: h.now, deviceId: device.id }]);
    expect(h.eventsOf('device.forgotten')).toEqual([{ type: 'device.forgotten', userId: 'alice', at: h.now, deviceId: device.id, cause: 'token_reused' }]);
    expectChallenge(await withToken(h, 'alice', t3.token));
  });

  it('reuseGraceMs is an option: 5 s of grace, then the alarm', async () => {
    const { h, device } = await aliceWithDevice({ rememberDevice: { reuseGraceMs: 5 * SECOND } });
    expectSkipped(await withToken(h, 'alice', device.token));
    h.clock.advance(5 * SECOND);
    expectChallenge(await withToken(h, 'alice', device.token));
    expect(h.eventsOf('device.token_reused')).toEqual([]);
    h.clock.advance(1);
    expectChallenge(await withToken(h, 'alice', device.token));
    expect(h.eventsOf('device.token_reused')).toHaveLength(1);
  });

  it('unknown, expired, foreign, malformed, 10 MB and non-string tokens fall back to a normal challenge: never an error, never a write', async () => {
    const h = new Harness({ rememberDevice: { ttlMs: DAY } });
    const alice = await h.enroll('alice');
    const bob = await h.enroll('bob');
    const live = await remember(h, alice);
    const bobs = await remember(h, bob);
    const expired = await remember(h, alice, {}, h.service({ rememberDevice: { ttlMs: HOUR } }));
    h.clock.set(expired.expiresAt);
    // Expired, yet still in the record (nothing has written it since).
    expect((await storedDevices(h, 'alice')).map((d) => d.id)).toContain(expired.id);
    const [id, secret] = live.token.split('.') as [string, string];
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    const junk: unknown[] = [
      `${'A'.repeat(22)}.${'B'.repeat(43)}`,
      live.token.replace(`${id}.`, `${flip(id)}.`), // unknown device
      live.token.replace(`.${secret}`, `.${flip(secret)}`), // the device's id with a wrong secret
      expired.token, // expired
      bobs.token, // foreign: bob's live token
      '',
      'x',
      '.',
      `${id}.`,
      `${live.token}x`,
      `x${live.token}`,
      ` ${live.token}`,
      `${live.token}\n`,
      live.token.slice(0, -1),
      live.token.toUpperCase(),
      live.token.replace('.', ':'),
      live.token.replace(/./g, '\u00e9'),
      `${live.token}${'A'.repeat(10 * 1024 * 1024)}`, // 10 MB behind a live token
      'A'.repeat(10 * 1024 * 1024),
      42,
      0,
      true,
      {},
      [],
      [live.token],
      { token: live.token },
      { toString: () => live.token },
      Buffer.from(live.token),
      new String(live.token),
      Symbol('token'),
      () => live.token,
      Number.NaN,
    ];
    const before = { alice: await version(h, 'alice'), bob: await version(h, 'bob') };
    const from = h.events.length;
    for (const token of junk) {
      expectChallenge(await withToken(h, 'alice', token));
    }
    // null/undefined or no options at all: the plain flow.
    expectChallenge(await withToken(h, 'alice', null));
    expectChallenge(await withToken(h, 'alice', undefined));
    expectChallenge(await h.mfa.startLogin('alice', null as never));
    expectChallenge(await h.mfa.startLogin('alice', 'junk' as never));
    expect(h.events.slice(from)).toEqual([]);
    expect({ alice: await version(h, 'alice'), bob: await version(h, 'bob') }).toEqual(before);
    // Nothing was disturbed: the live tokens still work, bob's for bob only.
    expectSkipped(await withToken(h, 'alice', live.token));
    expectSkipped(await withToken(h, 'bob', bobs.token));
  });

  it('a device expires rememberDevice.ttlMs after it was remembered (using it does not extend it)', async () => {
    const { h, device } = await aliceWithDevice({ rememberDevice: { ttlMs: 2 * HOUR } });
    expect(device.expiresAt).toBe(h.now + 2 * HOUR);
    h.clock.set(device.expiresAt - 1);
    const rotated = expectSkipped(await withToken(h, 'alice', device.token));
    expect(rotated.expiresAt).toBe(device.expiresAt);
    h.clock.set(device.expiresAt);
    const before = await version(h, 'alice');
    expectChallenge(await withToken(h, 'alice', rotated.token));
    expect(await version(h, 'alice')).toBe(before);
    expect(await h.mfa.listDevices('alice')).toEqual([]);
    expect(h.eventsOf('device.token_reused')).toEqual([]);
  });

  it('a lock always wins over a device: locked by failures', async () => {
    const { h, u, device } = await aliceWithDevice();
    for (let i = 0; i < 5; i++) await h.mfa.verifyLogin(await h.challenge('alice'), { totp: h.wrongCode(u.secret) });
    const status = await h.mfa.status('alice');
    expect(status).toMatchObject({ state: 'locked', lockCause: 'failures' });
    const before = await version(h, 'alice');
    const from = h.events.length;
    expect(await withToken(h, 'alice', device.token)).toEqual({ ok: false, reason: 'locked', retryAt: status.lockedUntil, mfaRequired: true });
    // Whatever the token: never a challenge either.
    for (const token of ['junk', `${device.id}.${'A'.repeat(43)}`, undefined]) {
      expect(await withToken(h, 'alice', token)).toEqual({ ok: false, reason: 'locked', retryAt: status.lockedUntil, mfaRequired: true });
    }
    expect(await version(h, 'alice')).toBe(before);
    expect(h.events.slice(from)).toEqual([]);
    // Once the lock is over the device works again.
    h.clock.set(status.lockedUntil!);
    expectSkipped(await withToken(h, 'alice', device.token));
  });

  it('a lock always wins over a device: a manual lock, even for a token rotated within the grace', async () => {
    const { h, device } = await aliceWithDevice();
    const rotated = expectSkipped(await withToken(h, 'alice', device.token));
    ok(await h.mfa.lock('alice', { reason: 'support' }));
    const before = await version(h, 'alice');
    for (const token of [rotated.token, device.token]) {
      expect(await withToken(h, 'alice', token)).toEqual({ ok: false, reason: 'locked', retryAt: null, mfaRequired: true });
    }
    h.clock.advance(HOUR);
    expect(await withToken(h, 'alice', device.token)).toMatchObject({ ok: false, reason: 'locked' });
    expect(await version(h, 'alice')).toBe(before);
    expect(h.eventsOf('device.token_reused')).toEqual([]);
    ok(await h.mfa.unlock('alice'));
    expectSkipped(await withToken(h, 'alice', rotated.token));
  });

  it('a lock taken between the read and the write still wins', async () => {
    const { h, device } = await aliceWithDevice();
    const put = h.users.put.bind(h.users);
    let locked = false;
    h.users.put = async (userId, record, expected) => {
      if (!locked) {
        locked = true;
        ok(await h.mfa.lock('alice'));
        return put(userId, record, expected); // loses: the lock was written meanwhile
      }
      return put(userId, record, expected);
    };
    expect(await withToken(h, 'alice', device.token)).toEqual({ ok: false, reason: 'locked', retryAt: null, mfaRequired: true });
    expect(h.eventsOf('login.succeeded').filter((e) => e.method === 'remembered_device')).toEqual([]);
  });

  it('a device login does not cancel a pending email recovery (an owner with a remembered browser but no phone keeps their recovery)', async () => {
    const { h, device } = await aliceWithDevice();
    const requested = ok(await h.mfa.requestEmailRecovery('alice'));
    const rotated = expectSkipped(await withToken(h, 'alice', device.token));
    expect(h.eventsOf('email_recovery.cancelled')).toEqual([]);
    expect((await h.mfa.status('alice')).pendingEmailRecovery).toEqual({
      requestedAt: requested.notBefore - DAY,
      notBefore: requested.notBefore,
      expiresAt: requested.expiresAt,
    });
    expect((await h.record('alice'))!.emailRecovery).toMatchObject({ status: 'pending' });
    h.clock.set(requested.notBefore);
    expectSkipped(await withToken(h, 'alice', rotated.token));
    ok(await h.mfa.completeEmailRecovery('alice', requested.token));
  });

  it('a device login does not count as MFA use: checkup_due stays', async () => {
    const { h, device } = await aliceWithDevice();
    // Make the remembering login count as no use either (as if remembered right at enabling).
    const current = (await h.users.get('alice'))!;
    expect(await h.users.put('alice', { ...(current.record as MfaRecord), lastMfaAt: (current.record as MfaRecord).enabledAt }, current.version)).toBe(true);
    h.clock.advance(29 * DAY);
    expect((await h.mfa.status('alice')).attention).toContain('checkup_due');
    const rotated = expectSkipped(await withToken(h, 'alice', device.token));
    expect((await h.mfa.status('alice')).attention).toContain('checkup_due');
    expect((await h.record('alice'))!.lastMfaAt).toBe((current.record as MfaRecord).enabledAt);
    expect(rotated).toBeDefined();
  });

  it('a device login leaves the failure count alone (it proves no factor)', async () => {
    const { h, u, device } = await aliceWithDevice();
    await h.mfa.verifyLogin(await h.challenge('alice'), { totp: h.wrongCode(u.secret) });
    await h.mfa.verifyLogin(await h.challenge('alice'), { totp: h.wrongCode(u.secret) });
    expectSkipped(await withToken(h, 'alice', device.token));
    expect(await h.record('alice')).toMatchObject({ failures: 2, failuresSinceSuccess: 2 });
  });

  it('a user without MFA needs no second factor: a device token changes nothing', async () => {
    const { h, u, device } = await aliceWithDevice();
    ok(await h.mfa.disable('alice', { totp: h.freshCode(u.secret) }));
    expect(await withToken(h, 'alice', device.token)).toEqual({ ok: true, mfaRequired: false });
    expect(await withToken(h, 'nobody', device.token)).toEqual({ ok: true, mfaRequired: false });
  });
});

describe('listing and forgetting devices', () => {
  it('listDevices lists the live devices, oldest first, as { id, label, createdAt, lastUsedAt, expiresAt }: never the token or its hash', async () => {
    const h = new Harness({ rememberDevice: { ttlMs: DAY } });
    const u = await h.enroll('alice');
    const gone = await remember(h, u, { label: 'Old laptop' });
    h.clock.advance(DAY - MINUTE);
    const a = await remember(h, u, { label: 'Firefox' });
    const b = await remember(h, u);
    h.clock.advance(MINUTE); // `gone` has expired
    const listed = await h.mfa.listDevices('alice');
    expect(listed.map((d) => d.id)).toEqual([a.id, b.id]);
    for (const d of listed) expect(Object.keys(d).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'label', 'lastUsedAt']);
    expect(listed[0]).toMatchObject({ label: 'Firefox', expiresAt: a.expiresAt });
    const hashes = (await storedDevices(h, 'alice')).map((d) => d.tokenHash);
    expectNoSecrets(stringsIn(listed), [a.token, b.token, gone.token, secretPartOf(a.token), secretPartOf(b.token), ...hashes], 'listDevices');
    expect(await h.mfa.listDevices('nobody')).toEqual([]);
  });

  it('forgetDevice forgets one device (its token stops working) with device.forgotten cause manual; not_found otherwise, without a write', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const bob = await h.enroll('bob');
    const a = await remember(h, u);
    const b = await remember(h, u);
    const bobs = await remember(h, bob);
    const from = h.events.length;
    expect(await h.mfa.forgetDevice('alice', a.id)).toEqual({ ok: true });
    expect(h.events.slice(from)).toEqual([{ type: 'device.forgotten', userId: 'alice', at: h.now, deviceId: a.id, cause: 'manual' }]);
    expect((await h.mfa.listDevices('alice')).map((d) => d.id)).toEqual([b.id]);
    expectChallenge(await withToken(h, 'alice', a.token));
    expect(h.eventsOf('device.token_reused')).toEqual([]);
    const before = await version(h, 'alice');
    for (const id of [a.id, bobs.id, 'nope', '', a.token, 42, null]) {
      expect(await h.mfa.forgetDevice('alice', id as string)).toEqual({ ok: false, reason: 'not_found' });
    }
    expect(await h.mfa.forgetDevice('nobody', b.id)).toEqual({ ok: false, reason: 'not_found' });
    expect(await version(h, 'alice')).toBe(before);
    expectSkipped(await withToken(h, 'alice', b.token));
    expectSkipped(await withToken(h, 'bob', bobs.token));
  });

  it('forgetDevices forgets every device and says how many ({ count }), with one device.forgotten { deviceId: null, cause: manual }', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const a = await remember(h, u);
    const b = await remember(h, u);
    const from = h.events.length;
    expect(await h.mfa.forgetDevices('alice')).toEqual({ ok: true, count: 2 });
    expect(h.events.slice(from)).toEqual([{ type: 'device.forgotten', userId: 'alice', at: h.now, deviceId: null, cause: 'manual' }]);
    expect(await h.mfa.listDevices('alice')).toEqual([]);
    expectChallenge(await withToken(h, 'alice', a.token));
    expectChallenge(await withToken(h, 'alice', b.token));
    const before = await version(h, 'alice');
    expect(await h.mfa.forgetDevices('alice')).toEqual({ ok: true, count: 0 });
    expect(await h.mfa.forgetDevices('nobody')).toEqual({ ok: true, count: 0 });
    expect(await version(h, 'alice')).toBe(before);
    expect(h.eventsOf('device.forgotten')).toHaveLength(1);
  });
});

describe('devices are forgotten with the second factor', () => {
  it('removing a factor (not the last) forgets every device: device.forgotten { deviceId: null, cause: factor_removed }', async () => {
    const h = keyHarness();
    const u = await h.enroll('alice');
    const keyId = await registerKey(h, 'alice', newKey(), { proof: { totp: h.freshCode(u.secret) } });
    const device = await remember(h, u);
    const from = h.events.length;
    expect(await h.mfa.removeFactor('alice', keyId, { totp: h.freshCode(u.secret) })).toMatchObject({ ok: true, state: 'enabled' });
    expect(h.events.slice(from).filter((e) => e.type === 'device.forgotten')).toEqual([
      { type: 'device.forgotten', userId: 'alice', at: h.now, deviceId: null, cause: 'factor_removed' },
    ]);
    expect(await h.mfa.listDevices('alice')).toEqual([]);
    expect(await storedDevices(h, 'alice')).toEqual([]);
    const started = await withToken(h, 'alice', device.token);
    expect(started).toMatchObject({ ok: true, mfaRequired: true });
    expect(h.eventsOf('device.token_reused')).toEqual([]);
  });

  it('disable forgets every device: device.forgotten { deviceId: null, cause: mfa_disabled } (removing the last factor too)', async () => {
    for (const how of ['disable', 'removeFactor'] as const) {
      const { h, u, device } = await aliceWithDevice();
      const from = h.events.length;
      const proof = { totp: h.freshCode(u.secret) };
      if (how === 'disable') ok(await h.mfa.disable('alice', proof));
      else ok(await h.mfa.removeFactor('alice', (await h.totpFactor('alice'))!.id, proof));
      expect(h.events.slice(from).filter((e) => e.type === 'device.forgotten')).toEqual([
        { type: 'device.forgotten', userId: 'alice', at: h.now, deviceId: null, cause: 'mfa_disabled' },
      ]);
      expect(await storedDevices(h, 'alice')).toEqual([]);
      // Enabled again: the old device is not back.
      const again = await h.enroll('alice');
      expectChallenge(await withToken(h, 'alice', device.token));
      expect(again.userId).toBe('alice');
    }
  });

  it('resetMfa forgets every device: device.forgotten { deviceId: null, cause: mfa_reset }', async () => {
    const { h, device } = await aliceWithDevice();
    const from = h.events.length;
    ok(await h.mfa.resetMfa('alice', { actor: 'support-7', reason: 'verified by phone' }));
    expect(h.events.slice(from).filter((e) => e.type === 'device.forgotten')).toEqual([
      { type: 'device.forgotten', userId: 'alice', at: h.now, deviceId: null, cause: 'mfa_reset' },
    ]);
    expect(await storedDevices(h, 'alice')).toEqual([]);
    await h.enroll('alice');
    expectChallenge(await withToken(h, 'alice', device.token));
  });

  it('a completed email recovery forgets every device: device.forgotten { deviceId: null, cause: email_recovery }', async () => {
    const { h, device } = await aliceWithDevice();
    const events = await h.completeEmailRecovery('alice');
    expect(events.filter((e) => e.type === 'device.forgotten')).toEqual([
      { type: 'device.forgotten', userId: 'alice', at: h.now, deviceId: null, cause: 'email_recovery' },
    ]);
    expect(await storedDevices(h, 'alice')).toEqual([]);
    await h.enroll('alice');
    expectChallenge(await withToken(h, 'alice', device.token));
  });

  it('with no live device, forgetting them all emits no device.forgotten', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    ok(await h.mfa.disable('alice', { totp: h.freshCode(u.secret) }));
    await h.enroll('bob');
    ok(await h.mfa.resetMfa('bob', { actor: 'support', reason: 'test' }));
    expect(h.eventsOf('device.forgotten')).toEqual([]);
  });
});

describe('rememberDevice options', () => {
  const base = (h: Harness, rememberDevice: unknown): MfaServiceOptions => ({ ...h.options(), rememberDevice } as MfaServiceOptions);

  it('rememberDevice { ttlMs, maxDevices, reuseGraceMs } is validated: MfaError invalid_option naming the option', async () => {
    const h = new Harness();
    const bad: unknown[] = [
      null,
      'yes',
      [],
      { ttlMs: 0 },
      { ttlMs: MINUTE - 1 },
      { ttlMs: 400 * DAY + 1 },
      { ttlMs: 1.5 * MINUTE + 0.5 },
      { ttlMs: '30d' },
      { ttlMs: Number.POSITIVE_INFINITY },
      { maxDevices: 0 },
      { maxDevices: 101 },
      { maxDevices: 2.5 },
      { maxDevices: '10' },
      { reuseGraceMs: -1 },
      { reuseGraceMs: 10 * MINUTE + 1 },
      { reuseGraceMs: Number.NaN },
    ];
    const { MfaService } = await import('../../src/service/mfa-service.ts');
    for (const rememberDevice of bad) {
      let error: unknown = null;
      try {
        new MfaService(base(h, rememberDevice));
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(rememberDevice)).toMatchObject({ code: 'invalid_option' });
      expect(String((error as Error).message)).toContain('rememberDevice');
    }
    for (const rememberDevice of [{}, { ttlMs: MINUTE, maxDevices: 1, reuseGraceMs: 0 }, { ttlMs: 400 * DAY, maxDevices: 100, reuseGraceMs: 10 * MINUTE }]) {
      expect(() => new MfaService(base(h, rememberDevice))).not.toThrow();
    }
  });

  it('defaults: 30 days, 10 devices, 60 s of grace', async () => {
    const { h, device } = await aliceWithDevice();
    expect(device.expiresAt - (await storedDevices(h, 'alice'))[0]!.createdAt).toBe(30 * DAY);
    expectSkipped(await withToken(h, 'alice', device.token));
    h.clock.advance(GRACE);
    expectChallenge(await withToken(h, 'alice', device.token));
    expect(h.eventsOf('device.token_reused')).toEqual([]);
    h.clock.advance(1);
    expectChallenge(await withToken(h, 'alice', device.token));
    expect(h.eventsOf('device.token_reused')).toHaveLength(1);
  });
});

describe('key rotation', () => {
  it('a token issued under an old key still works (previousSecretKeys); the rotated one is under the new key', async () => {
    const { h, device } = await aliceWithDevice({ secretKey: KEY_1 });
    const rotatedService = h.service({ secretKey: KEY_2, previousSecretKeys: [KEY_1] });
    const newOnly = h.service({ secretKey: KEY_2 });
    // Without the old key it is unknown; with it, it works.
    expectChallenge(await withToken(h, 'alice', device.token, newOnly));
    const rotated = expectSkipped(await withToken(h, 'alice', device.token, rotatedService));
    // The rotated token no longer needs the old key.
    const again = expectSkipped(await withToken(h, 'alice', rotated.token, newOnly));
    expect(again.id).toBe(device.id);
  });

  it('a rotated-away token issued under an old key still raises the alarm after the grace', async () => {
    const { h, device } = await aliceWithDevice({ secretKey: KEY_1 });
    const rotatedService = h.service({ secretKey: KEY_2, previousSecretKeys: [KEY_1] });
    expectSkipped(await withToken(h, 'alice', device.token, rotatedService));
    h.clock.advance(GRACE + 1);
    expectChallenge(await withToken(h, 'alice', device.token, rotatedService));
    expect(h.eventsOf('device.token_reused')).toHaveLength(1);
  });
});

describe('secrets: device tokens are never in events, results (beyond the token fields) or listDevices, and never stored', () => {
  it('a whole device life (remember, rotate, double submit, copy alarm, eviction, forgetting) leaks no token, secret part or stored hash', async () => {
    const h = new Harness({ rememberDevice: { maxDevices: 2 } });
    const u = await h.enroll('alice');
    const outputs: unknown[] = [];
    const tokens: string[] = [];
    const hashes = new Set<string>();
    const noteHashes = async () => {
      for (const d of await storedDevices(h, 'alice')) {
        hashes.add(d.tokenHash);
      }
    };
    const strip = (result: object) => {
      const { device, rememberedDevice, ...rest } = result as { device?: RememberedDevice; rememberedDevice?: RememberedDevice };
      const handed = device ?? rememberedDevice;
      if (handed) {
        tokens.push(handed.token);
        outputs.push({ ...handed, token: undefined });
      }
      outputs.push(rest);
    };
    const login = async () => {
      const result = await h.mfa.verifyLogin(await h.challenge('alice'), { totp: h.freshCode(u.secret) }, { rememberDevice: { label: 'Browser' } });
      strip(result);
      await noteHashes();
      return (result as { device: RememberedDevice }).device;
    };
    const a = await login();
    const b = await login();
    const startWith = async (token: string) => {
      const result = await withToken(h, 'alice', token);
      strip(result);
      await noteHashes();
      return result;
    };
    const a1 = expectSkipped(await startWith(a.token));
    await startWith(a.token); // double submit
    h.clock.advance(GRACE + 1);
    await startWith(a.token); // the alarm
    expectSkipped(await startWith(b.token));
    await login(); // evicts nothing (a was forgotten)
    await login(); // evicts the oldest
    outputs.push(await h.mfa.listDevices('alice'));
    outputs.push(await h.mfa.forgetDevice('alice', (await h.mfa.listDevices('alice'))[0]!.id));
    outputs.push(await h.mfa.forgetDevices('alice'));
    outputs.push(await h.mfa.status('alice'));
    expect(a1.token).not.toBe(a.token);
    expect(h.eventsOf('device.token_reused')).toHaveLength(1);
    expect(h.eventsOf('device.forgotten').map((e) => e.cause)).toEqual(['token_reused', 'evicted', 'manual', 'manual']);

    expect(tokens.length).toBeGreaterThanOrEqual(6);
    expect(hashes.size).toBeGreaterThanOrEqual(6);
    const needles = [...tokens, ...tokens.map(secretPartOf), ...hashes];
    expectNoSecrets(stringsIn(h.events), needles, 'events');
    expectNoSecrets(stringsIn(outputs), needles, 'results and listDevices');
    // The record holds hashes only.
    const record = JSON.stringify(await h.users.get('alice'));
    for (const token of tokens) {
      expect(record).not.toContain(token);
      expect(record).not.toContain(secretPartOf(token));
    }
    // Every event is one of the documented shapes.
    const deviceEvents = h.events.filter((e: MfaEvent) => e.type.startsWith('device.') || (e.type === 'login.succeeded' && e.method === 'remembered_device'));
    for (const e of deviceEvents) {
      const keys = Object.keys(e).sort();
      expect([
        ['at', 'deviceId', 'type', 'userId'],
        ['at', 'cause', 'deviceId', 'type', 'userId'],
        ['at', 'deviceId', 'method', 'type', 'userId'],
      ]).toContainEqual(keys);
    }
  });
});

describe('issue 13: the device-token MAC is the HMAC-SHA256 it always was (now from precomputed pad states)', () => {
  it("the record's hash and the token's tag equal node:crypto's HMAC-SHA256 under the ring's device-token key, before and after a rotation", async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const [key] = createKeyRing({ secretKey: KEY_1 }).hmacKeys('device-token');
    const expectMac = async (token: string) => {
      const [id, secret, tag] = token.split('.') as [string, string, string];
      const mac = createHmac('sha256', key!).update(lengthPrefixed(['alice', id, secret])).digest();
      const device = (await h.record('alice'))!.devices.find((d) => d.id === id)!;
      expect(device.tokenHash).toBe(mac.toString('base64url'));
      expect(tag).toBe(mac.subarray(0, 16).toString('base64url'));
    };
    const first = await remember(h, u);
    await expectMac(first.token);
    const rotated = expectSkipped(await withToken(h, 'alice', first.token));
    await expectMac(rotated.token);
  });

  it('a user id too long for the JavaScript MAC (node:crypto computes it) gets the same MAC', async () => {
    const h = new Harness();
    const userId = 'ü'.repeat(2_000);
    const u = await h.enroll(userId);
    const [key] = createKeyRing({ secretKey: KEY_1 }).hmacKeys('device-token');
    const device = await remember(h, u);
    const [id, secret] = device.token.split('.') as [string, string];
    const mac = createHmac('sha256', key!).update(lengthPrefixed([userId, id, secret])).digest();
    expect((await h.record(userId))!.devices[0]!.tokenHash).toBe(mac.toString('base64url'));
    expectSkipped(await withToken(h, userId, device.token));
  });
});

describe('issue 13: the token check without a regular expression accepts exactly what the pattern did', () => {
  const PATTERN = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{22})$/;
  const oracle = (token: unknown) => (typeof token === 'string' ? (PATTERN.exec(token)?.[1] ?? null) : null);
  /** The device id a token names, as the parser reads it. */
  const deviceIdOf = (token: unknown) => parseDeviceToken(token)?.id ?? null;
  it('on issued tokens and every single-character replacement, deletion and insertion of them', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const tokens = [(await remember(h, u)).token, (await remember(h, u)).token];
    const alphabet = ['A', 'z', '0', '9', '-', '_', '.', '+', '/', '=', ' ', '\n', '\u0000', 'é', '😀', '\uD800'];
    let checked = 0;
    for (const token of tokens) {
      expect(deviceIdOf(token)).toBe(oracle(token));
      for (let i = 0; i <= token.length; i++) {
        const variants = [token.slice(0, i) + token.slice(i + 1), ...alphabet.flatMap((c) => [token.slice(0, i) + c + token.slice(i + 1), token.slice(0, i) + c + token.slice(i)])];
        for (const variant of variants) {
          expect(deviceIdOf(variant), JSON.stringify(variant)).toBe(oracle(variant));
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(5_000);
    for (const junk of [undefined, null, 42, {}, [], '', 'x'.repeat(89), `${'a'.repeat(22)}.${'b'.repeat(43)}.${'c'.repeat(22)}`]) {
      expect(deviceIdOf(junk)).toBe(oracle(junk));
    }
  });
});

describe('issue 13: the token check decodes into fixed scratch buffers and still matches only the exact stored hash', () => {
  /** Remembers alice's browser, rewrites her device's stored hash with `edit`, then presents the live token. */
  async function presentAfterEditingHash(edit: (hash: string) => string): Promise<{ h: Harness; result: StartLoginResult }> {
    const h = new Harness();
    const u = await h.enroll('alice');
    const device = await remember(h, u);
    const current = (await h.users.get('alice'))!;
    const record = current.record as MfaRecord;
    const devices = record.devices.map((d) => ({ ...d, tokenHash: edit(d.tokenHash) }));
    expect(await h.users.put('alice', { ...record, devices }, current.version)).toBe(true);
    return { h, result: await withToken(h, 'alice', device.token) };
  }

  it('the unchanged hash is live: the token skips the second factor', async () => {
    const { result } = await presentAfterEditingHash((hash) => hash);
    expectSkipped(result);
  });

  // A 32-byte scratch takes the first 32 bytes of a longer encoding: only the length check keeps these from matching.
  for (const [name, edit] of [
    ['one character more', (hash: string) => `${hash}A`],
    ['padding added', (hash: string) => `${hash}=`],
    ['a second hash appended', (hash: string) => hash + hash],
    ['the last character dropped', (hash: string) => hash.slice(0, -1)],
    ['one character changed', (hash: string) => (hash[0] === 'A' ? 'B' : 'A') + hash.slice(1)],
    ['one character replaced by one outside base64url', (hash: string) => `!${hash.slice(1)}`],
  ] as const) {
    it(`a stored hash with ${name} never makes the token live: a normal challenge`, async () => {
      const { result } = await presentAfterEditingHash(edit);
      expectChallenge(result);
    });
  }
});
