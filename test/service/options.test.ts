/**
 * Every option is validated at construction: a bad one throws
 * MfaError('invalid_option') naming it (or 'weak_secret_key' for a short
 * key), and the defaults of DESIGN.md apply when an option is left out.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { isMfaError } from '../../src/errors.ts';
import { parseOtpauthUri } from '../../src/otp/index.ts';
import { MfaService } from '../../src/service/mfa-service.ts';
import type { MfaServiceOptions } from '../../src/service/options.ts';
import { MemoryRecoveryCodeStore, MemoryUserStore } from '../../src/stores/index.ts';
import { codeAt, DAY, Harness, HOUR, KEY_1, MINUTE, ok, SECOND, wrongCodeAt } from './fixtures.ts';

function base(): MfaServiceOptions {
  return { issuer: 'Example App', secretKey: KEY_1, users: new MemoryUserStore(), recoveryCodes: new MemoryRecoveryCodeStore() };
}

function constructionError(options: unknown): Error & { code: string } {
  let error: unknown = null;
  try {
    new MfaService(options as MfaServiceOptions);
  } catch (e) {
    error = e;
  }
  expect(isMfaError(error), `expected an MfaError, got ${String(error)}`).toBe(true);
  return error as Error & { code: string };
}

/** A store object with every method of `store` except `missing`. */
function without(store: object, missing: string): object {
  const copy: Record<string, unknown> = {};
  const proto = Object.getPrototypeOf(store) as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(proto)) {
    if (name === 'constructor' || name === missing) continue;
    const value = Object.getOwnPropertyDescriptor(proto, name)?.value;
    if (typeof value === 'function') copy[name] = (value as (...args: unknown[]) => unknown).bind(store);
  }
  return copy;
}

describe('secretKey: at least 32 bytes', () => {
  it.each([
    ['31 raw bytes', randomBytes(31)],
    ['31 bytes as hex', randomBytes(31).toString('hex')],
    ['31 bytes as base64', randomBytes(31).toString('base64')],
    ['16 bytes', randomBytes(16)],
    ['empty', new Uint8Array(0)],
  ])('refuses %s with weak_secret_key', (_label, secretKey) => {
    const error = constructionError({ ...base(), secretKey });
    expect(error.code).toBe('weak_secret_key');
    expect(error.message).toContain('secretKey');
  });

  it('refuses a short previous key, naming it', () => {
    const error = constructionError({ ...base(), previousSecretKeys: [KEY_1, randomBytes(31)] });
    expect(error.code).toBe('weak_secret_key');
    expect(error.message).toContain('previousSecretKeys[1]');
  });

  it.each([
    ['missing', undefined],
    ['a number', 42],
    ['not hex nor base64', 'this is not a key at all, not even close!!'],
    ['an array of bytes', Array.from({ length: 32 }, () => 1)],
  ])('refuses a secretKey that is %s', (_label, secretKey) => {
    const error = constructionError({ ...base(), secretKey });
    expect(['invalid_option', 'weak_secret_key']).toContain(error.code);
    expect(error.message).toContain('secretKey');
  });

  it('accepts 32 bytes as bytes, hex: and base64: (and, with a warning, unprefixed hex and base64)', () => {
    const key = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 255));
    for (const secretKey of [key, `hex:${key.toString('hex')}`, `base64:${key.toString('base64')}`, `base64:${key.toString('base64url')}`]) {
      expect(() => new MfaService({ ...base(), secretKey })).not.toThrow();
    }
    const warnings = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      for (const secretKey of [key.toString('hex'), key.toString('base64'), key.toString('base64url')]) {
        expect(() => new MfaService({ ...base(), secretKey })).not.toThrow();
      }
    } finally {
      warnings.mockRestore();
    }
  });

  it('issue 15 point 3: refuses a passphrase-like or odd-length-hex secretKey (invalid_option) instead of guessing', () => {
    const passphrase = 'correcthorsebatterystaplecorrecthorsebattery';
    const hexTypo = `${'5a'.repeat(31)}c`;
    for (const [secretKey, previousSecretKeys] of [[passphrase, []], [hexTypo, []], [KEY_1, [hexTypo]]] as const) {
      const error = constructionError({ ...base(), secretKey, previousSecretKeys });
      expect(error.code).toBe('invalid_option');
      expect(error.message).toContain(previousSecretKeys.length > 0 ? 'previousSecretKeys[0]' : 'secretKey');
      expect(error.message).not.toContain(passphrase.slice(0, 10));
      expect(error.message).not.toContain(hexTypo.slice(0, 10));
    }
  });

  it('keeps the key out of errors', () => {
    const key = randomBytes(31).toString('hex');
    const error = constructionError({ ...base(), secretKey: key });
    expect(error.message).not.toContain(key);
    expect(String(error.stack)).not.toContain(key);
  });
});

/** [label, options patch, name the message must contain] */
const INVALID: Array<[string, Record<string, unknown>, string]> = [
  ['options not an object', { __replace: null }, 'options'],
  ['issuer missing', { issuer: undefined }, 'issuer'],
  ['issuer empty', { issuer: '' }, 'issuer'],
  ['issuer blank', { issuer: '   ' }, 'issuer'],
  ['issuer with ":"', { issuer: 'Evil:Corp' }, 'issuer'],
  ['issuer too long', { issuer: 'x'.repeat(201) }, 'issuer'],
  ['issuer a number', { issuer: 42 }, 'issuer'],
  ['now not a function', { now: 1234 }, 'now'],
  ['onEvent not a function', { onEvent: 'log' }, 'onEvent'],
  ['onEvent an object', { onEvent: {} }, 'onEvent'],
  ['users missing', { users: undefined }, 'users'],
  ['users without get', { users: without(new MemoryUserStore(), 'get') }, 'users'],
  ['users without put', { users: without(new MemoryUserStore(), 'put') }, 'users'],
  ['recoveryCodes missing', { recoveryCodes: undefined }, 'recoveryCodes'],
  ...(['replace', 'consume', 'restore', 'countUnused', 'clear'].map(
    (method) => [`recoveryCodes without ${method}`, { recoveryCodes: without(new MemoryRecoveryCodeStore(), method) }, 'recoveryCodes'] as [string, Record<string, unknown>, string],
  )),
  ['totp not an object', { totp: 'SHA1' }, 'totp'],
  ['unknown algorithm', { totp: { algorithm: 'MD5' } }, 'totp.algorithm'],
  ['lower-case algorithm', { totp: { algorithm: 'sha1' } }, 'totp.algorithm'],
  ['digits 5', { totp: { digits: 5 } }, 'totp.digits'],
  ['digits 9', { totp: { digits: 9 } }, 'totp.digits'],
  ['digits "6"', { totp: { digits: '6' } }, 'totp.digits'],
  ['period 0', { totp: { period: 0 } }, 'totp.period'],
  ['period 121', { totp: { period: 121 } }, 'totp.period'],
  ['period 30.5', { totp: { period: 30.5 } }, 'totp.period'],
  ['period NaN', { totp: { period: Number.NaN } }, 'totp.period'],
  ['window not an object', { totp: { window: 1 } }, 'totp.window'],
  ['window past -1', { totp: { window: { past: -1, future: 1 } } }, 'totp.window.past'],
  ['window future -1', { totp: { window: { past: 1, future: -1 } } }, 'totp.window.future'],
  ['window past 11', { totp: { window: { past: 11, future: 1 } } }, 'totp.window.past'],
  ['window future 11', { totp: { window: { past: 1, future: 11 } } }, 'totp.window.future'],
  ['enrollmentTtlMs 0', { enrollmentTtlMs: 0 }, 'enrollmentTtlMs'],
  ['enrollmentTtlMs Infinity', { enrollmentTtlMs: Number.POSITIVE_INFINITY }, 'enrollmentTtlMs'],
  ['challengeTtlMs -1', { challengeTtlMs: -1 }, 'challengeTtlMs'],
  ['challengeTtlMs a string', { challengeTtlMs: '300000' }, 'challengeTtlMs'],
  ['lockout not an object', { lockout: 5 }, 'lockout'],
  ['maxFailures 0', { lockout: { maxFailures: 0 } }, 'lockout.maxFailures'],
  ['maxFailures 1.5', { lockout: { maxFailures: 1.5 } }, 'lockout.maxFailures'],
  ['baseMs 0', { lockout: { baseMs: 0 } }, 'lockout.baseMs'],
  ['maxMs < baseMs', { lockout: { baseMs: 2 * MINUTE, maxMs: MINUTE } }, 'lockout.maxMs'],
  ['hardLimit 101', { lockout: { hardLimit: 101 } }, 'lockout.hardLimit'],
  ['hardLimit < maxFailures', { lockout: { maxFailures: 10, hardLimit: 5 } }, 'lockout.hardLimit'],
  ['recovery not an object', { recovery: [] }, 'recovery'],
  ['codeCount 0', { recovery: { codeCount: 0 } }, 'recovery.codeCount'],
  ['codeCount 101', { recovery: { codeCount: 101 } }, 'recovery.codeCount'],
  ['emailDelayMs -1', { recovery: { emailDelayMs: -1 } }, 'recovery.emailDelayMs'],
  ['emailTtlMs == emailDelayMs', { recovery: { emailDelayMs: HOUR, emailTtlMs: HOUR } }, 'recovery.emailTtlMs'],
  ['emailTtlMs < emailDelayMs', { recovery: { emailDelayMs: 2 * HOUR, emailTtlMs: HOUR } }, 'recovery.emailTtlMs'],
  ['emailTtlMs <= default emailDelayMs', { recovery: { emailTtlMs: DAY } }, 'recovery.emailTtlMs'],
];

describe('every other option: MfaError(invalid_option) naming the option', () => {
  it.each(INVALID)('%s', (_label, patch, name) => {
    const options = '__replace' in patch ? patch.__replace : { ...base(), ...patch };
    const error = constructionError(options);
    expect(error.code).toBe('invalid_option');
    expect(error.message).toContain(name);
  });

  it('refuses a clock that returns something other than a finite number, at call time', async () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, '2025', undefined]) {
      const mfa = new MfaService({ ...base(), now: () => bad as number });
      let error: unknown = null;
      try {
        await mfa.startLogin('alice');
        await mfa.beginEnrollment('alice', { accountName: 'alice' });
      } catch (e) {
        error = e;
      }
      expect(isMfaError(error, 'invalid_option'), `now() returning ${String(bad)}`).toBe(true);
      expect((error as Error).message).toContain('now');
    }
  });
});

describe('defaults', () => {
  it('TOTP SHA1 / 6 digits / 30 s, window ±1', async () => {
    const h = new Harness();
    const begun = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice' }));
    expect(parseOtpauthUri(begun.uri)).toMatchObject({ algorithm: 'SHA1', digits: 6, period: 30 });
    ok(await h.mfa.confirmEnrollment('alice', codeAt(begun.secret, h.now)));
    h.clock.advance(10 * 30 * SECOND);
    expect(await h.login('alice', { totp: codeAt(begun.secret, h.now + 60 * SECOND) })).toMatchObject({ reason: 'invalid_code' });
    ok(await h.login('alice', { totp: codeAt(begun.secret, h.now - 30 * SECOND) }));
    ok(await h.login('alice', { totp: codeAt(begun.secret, h.now + 30 * SECOND) }));
  });

  it('enrollment lasts 10 min, challenges 5 min', async () => {
    const h = new Harness();
    const begun = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice' }));
    expect(begun.expiresAt - h.now).toBe(10 * MINUTE);
    ok(await h.mfa.confirmEnrollment('alice', codeAt(begun.secret, h.now)));
    const started = await h.mfa.startLogin('alice');
    expect(started).toMatchObject({ ok: true, mfaRequired: true, expiresAt: h.now + 5 * MINUTE });
  });

  it('lockout 5 failures, 1 min doubling to at most 1 h, 100 failures lock until unlock', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    const challenge = await h.challenge('alice');
    let result;
    for (let i = 0; i < 5; i++) result = await h.mfa.verifyLogin(challenge, { totp: wrongCodeAt(u.secret, h.now) });
    expect(result).toEqual({ ok: false, reason: 'locked', retryAt: h.now + MINUTE });
    // The hard limit default is covered in rules.test.ts (100 failures through lock expiries).
  });

  it('10 recovery codes; email recovery waits 24 h and expires after 72 h', async () => {
    const h = new Harness();
    const u = await h.enroll('alice');
    expect(u.codes).toHaveLength(10);
    const r = ok(await h.mfa.requestEmailRecovery('alice'));
    expect(r.notBefore - h.now).toBe(24 * HOUR);
    expect(r.expiresAt - h.now).toBe(72 * HOUR);
  });

  it('the clock defaults to Date.now', async () => {
    const mfa = new MfaService(base());
    const before = Date.now();
    const begun = ok(await mfa.beginEnrollment('alice', { accountName: 'alice' }));
    const after = Date.now();
    expect(begun.expiresAt).toBeGreaterThanOrEqual(before + 10 * MINUTE);
    expect(begun.expiresAt).toBeLessThanOrEqual(after + 10 * MINUTE);
  });

  it('onEvent is optional', async () => {
    const mfa = new MfaService({ ...base(), now: () => 1_735_689_605_000 });
    const begun = ok(await mfa.beginEnrollment('alice', { accountName: 'alice' }));
    ok(await mfa.confirmEnrollment('alice', codeAt(begun.secret, 1_735_689_605_000)));
  });

  it('custom values are used', async () => {
    const h = new Harness({
      totp: { algorithm: 'SHA512', digits: 8, period: 60, window: { past: 0, future: 0 } },
      enrollmentTtlMs: MINUTE,
      challengeTtlMs: 30 * SECOND,
      recovery: { codeCount: 3 },
    });
    const begun = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice' }));
    expect(begun.expiresAt - h.now).toBe(MINUTE);
    expect(parseOtpauthUri(begun.uri)).toMatchObject({ algorithm: 'SHA512', digits: 8, period: 60 });
    const params = { algorithm: 'SHA512', digits: 8, period: 60 } as const;
    ok(await h.mfa.confirmEnrollment('alice', codeAt(begun.secret, h.now, params)));
    expect(ok(await h.mfa.revealRecoveryCodes('alice')).codes).toHaveLength(3);
    h.clock.advance(60 * SECOND);
    expect(await h.login('alice', { totp: codeAt(begun.secret, h.now - 60 * SECOND, params) })).toMatchObject({ reason: expect.stringMatching(/invalid_code|replayed/) });
    const started = await h.mfa.startLogin('alice');
    expect(started).toMatchObject({ expiresAt: h.now + 30 * SECOND });
    ok(await h.mfa.verifyLogin((started as { challenge: string }).challenge, { totp: codeAt(begun.secret, h.now, params) }));
  });
});
