import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isMfaError, type MfaError, type MfaErrorCode } from '../src/errors.ts';
import { createKeyRing, parseSecretKey, type KeyRing, type MacPurpose } from '../src/seal.ts';

const OLD_KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
const NEW_KEY = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
const PURPOSES: readonly MacPurpose[] = ['challenge', 'recovery-code', 'email-token'];

function expectMfaError(fn: () => unknown, code: MfaErrorCode): MfaError {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(isMfaError(error, code), `expected MfaError ${code}, got ${String(error)}`).toBe(true);
  return error as MfaError;
}

/** Rebuilds a sealed string around a modified payload. */
function withPayload(sealed: string, edit: (payload: Buffer) => Buffer): string {
  const [version, keyId, encoded] = sealed.split('.') as [string, string, string];
  return `${version}.${keyId}.${edit(Buffer.from(encoded, 'base64url')).toString('base64url')}`;
}

/** A fixed key (its base64 holds digits and symbols, so no legacy rule refuses it), and 31 bytes of it. */
const KEY_32 = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 255));
const KEY_31 = KEY_32.subarray(0, 31);

/** Every process warning of `type` emitted while `fn` runs (none reach the test output). */
function warningsDuring(fn: () => unknown, type = 'TwofoldKeyFormatWarning'): string[] {
  const spy = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  try {
    fn();
    return spy.mock.calls
      .filter(([, options]) => (options as { type?: string } | undefined)?.type === type)
      .map(([message]) => String(message));
  } finally {
    spy.mockRestore();
  }
}

/** A fresh copy of seal.ts, whose one-time warning has not been shown yet. */
async function freshSealModule(): Promise<typeof import('../src/seal.ts')> {
  vi.resetModules();
  return import('../src/seal.ts');
}

describe('parseSecretKey', () => {
  // Unprefixed strings warn once per module; these tests swallow it (the point 3 tests count it).
  beforeEach(() => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each([
    ['raw bytes', Uint8Array.from(KEY_32)],
    ['a Buffer', KEY_32],
    ['hex:', `hex:${KEY_32.toString('hex')}`],
    ['hex: in uppercase digits', `hex:${KEY_32.toString('hex').toUpperCase()}`],
    ['base64:', `base64:${KEY_32.toString('base64')}`],
    ['base64: without padding', `base64:${KEY_32.toString('base64').replace(/=+$/, '')}`],
    ['base64: in the URL-safe alphabet', `base64:${KEY_32.toString('base64url')}`],
    ['hex: with a trailing newline', `hex:${KEY_32.toString('hex')}\n`],
    ['unprefixed hex (0.x)', KEY_32.toString('hex')],
    ['unprefixed uppercase hex (0.x)', KEY_32.toString('hex').toUpperCase()],
    ['unprefixed base64 (0.x)', KEY_32.toString('base64')],
    ['unprefixed base64 without padding (0.x)', KEY_32.toString('base64').replace(/=+$/, '')],
    ['unprefixed base64url (0.x)', KEY_32.toString('base64url')],
    ['unprefixed hex with a trailing newline (0.x)', `${KEY_32.toString('hex')}\n`],
  ])('accepts 32 bytes as %s', (_, key) => {
    expect(Buffer.from(parseSecretKey(key))).toEqual(KEY_32);
  });

  it('accepts more than 32 bytes', () => {
    expect(parseSecretKey(`base64:${randomBytes(64).toString('base64')}`)).toHaveLength(64);
    expect(parseSecretKey(randomBytes(64).toString('base64'))).toHaveLength(64);
  });

  it.each([
    ['raw bytes', Uint8Array.from(KEY_31)],
    ['hex:', `hex:${KEY_31.toString('hex')}`],
    ['base64:', `base64:${KEY_31.toString('base64')}`],
    ['unprefixed hex', KEY_31.toString('hex')],
    ['unprefixed base64', KEY_31.toString('base64')],
    ['unprefixed base64url', KEY_31.toString('base64url')],
    ['an empty string', ''],
    ['an empty hex:', 'hex:'],
    ['empty bytes', new Uint8Array(0)],
  ])('rejects 31 bytes or fewer as %s with weak_secret_key, naming the option only', (_, key) => {
    const error = expectMfaError(() => parseSecretKey(key, 'previousSecretKeys[0]'), 'weak_secret_key');
    expect(error.message).toContain('previousSecretKeys[0]');
    if (typeof key === 'string' && key.length > 8) expect(error.message).not.toContain(key.replace(/^\w+:/, ''));
  });

  it.each([
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['an array of numbers', Array.from(KEY_32)],
    ['an ArrayBuffer', KEY_32.buffer],
    ['a string with spaces inside', 'abcd efgh'.repeat(8)],
    ['a string with punctuation', '!'.repeat(64)],
    ['mixed base64 alphabets', `${'A'.repeat(41)}+_`],
    ['base64 of length 4n+1', 'A'.repeat(45)],
    ['base64 with stray bits in the last character', `${'A'.repeat(42)}B`],
  ])('rejects %s with invalid_option', (_, key) => {
    const error = expectMfaError(() => parseSecretKey(key as string), 'invalid_option');
    expect(error.message).toContain('secretKey');
  });

  it('copies the bytes it is given', () => {
    const key = Uint8Array.from(KEY_32);
    const parsed = parseSecretKey(key);
    key.fill(0);
    expect(Buffer.from(parsed)).toEqual(KEY_32);
  });
});

describe('issue 15 point 3: key strings are read by their prefix, never guessed', () => {
  const hex = KEY_32.toString('hex');
  const base64 = KEY_32.toString('base64');
  // Letters only, 44 of them: 0.1 read this as a 33-byte base64 key.
  const passphrase = 'correcthorsebatterystaplecorrecthorsebattery';
  // Ends in '0', so with any other digit dropped it is canonical base64 of 47 bytes: 0.1 took it as a different key.
  const hexEndingInZero = `${'5a'.repeat(31)}c0`;

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each([
    ['bytes', KEY_32],
    ['hex:', `hex:${hex}`],
    ['base64:', `base64:${base64}`],
    ['base64: (URL-safe)', `base64:${KEY_32.toString('base64url')}`],
  ])('a key given as %s is read without any warning', (_, key) => {
    expect(warningsDuring(() => expect(Buffer.from(parseSecretKey(key))).toEqual(KEY_32))).toEqual([]);
  });

  it('a 44-character passphrase is refused (invalid_option), not read as a 33-byte base64 key', () => {
    expect(passphrase).toHaveLength(44);
    const error = expectMfaError(() => parseSecretKey(passphrase), 'invalid_option');
    expect(error.message).toMatch(/passphrase/);
    expect(error.message).toContain("'base64:");
    expect(error.message).not.toContain(passphrase.slice(0, 8));
    for (const letters of [passphrase.toUpperCase(), 'CorrectHorseBatteryStapleCorrectHorseBattery', 'Q'.repeat(64)]) {
      expectMfaError(() => parseSecretKey(letters), 'invalid_option');
    }
    // Said to be base64, it is taken as such: the prefix is the operator's word.
    expect(parseSecretKey(`base64:${passphrase}`)).toHaveLength(33);
  });

  it('a 64-digit hex key with any one digit missing is refused (invalid_option), never read as base64', () => {
    for (let i = 0; i < 64; i++) {
      const typo = hexEndingInZero.slice(0, i) + hexEndingInZero.slice(i + 1);
      const error = expectMfaError(() => parseSecretKey(typo), 'invalid_option');
      expect(error.message).toMatch(/odd number of hex digits/);
      expectMfaError(() => parseSecretKey(`hex:${typo}`), 'invalid_option');
    }
    // One extra digit, too.
    expectMfaError(() => parseSecretKey(`${hexEndingInZero}7`), 'invalid_option');
  });

  it.each([
    ['hex: with an odd number of digits', `hex:${hex.slice(1)}`],
    ['hex: holding base64', `hex:${base64}`],
    ['hex: with a space after the colon', `hex: ${hex}`],
    ['hex: with a 0x', `hex:0x${hex}`],
    ['base64: with mixed alphabets', `base64:${'A'.repeat(41)}+_`],
    ['base64: of length 4n+1', `base64:${'A'.repeat(45)}`],
    ['base64: with stray bits in the last character', `base64:${'A'.repeat(42)}B`],
    ['base64: with padding where none belongs', `base64:${'A'.repeat(44)}==`],
    ['base64: with one = too many', `base64:${KEY_32.toString('base64')}=`],
    ['an uppercase prefix', `HEX:${hex}`],
    ['an unknown prefix', `base32:${hex}`],
    ['a bare colon', `:${hex}`],
  ])('refuses %s with invalid_option, never echoing the key', (_, key) => {
    const error = expectMfaError(() => parseSecretKey(key, 'previousSecretKeys[2]'), 'invalid_option');
    expect(error.message).toContain('previousSecretKeys[2]');
    expect(error.message).not.toContain(hex.slice(2, 12));
    expect(error.message).not.toContain(base64.slice(2, 12));
  });

  it.each([
    ['hex', hex, "'hex:'"],
    ['base64', base64, "'base64:'"],
    ['base64url', KEY_32.toString('base64url'), "'base64:'"],
  ])('an unprefixed %s key still works in 0.x, with a TwofoldKeyFormatWarning naming the option and the prefix, never the key', async (_, key, prefix) => {
    const seal = await freshSealModule();
    const warnings = warningsDuring(() => expect(Buffer.from(seal.parseSecretKey(key, 'previousSecretKeys[1]'))).toEqual(KEY_32));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('previousSecretKeys[1]');
    expect(warnings[0]).toContain(prefix);
    for (let i = 0; i + 8 <= key.length; i += 4) expect(warnings[0]).not.toContain(key.slice(i, i + 8));
  });

  it('warns once per process, however many unprefixed keys are read; a refused key does not use up the warning', async () => {
    const seal = await freshSealModule();
    const warnings = warningsDuring(() => {
      expect(() => seal.parseSecretKey(passphrase)).toThrow();
      expect(() => seal.parseSecretKey(KEY_31.toString('hex'))).toThrow();
      seal.createKeyRing({ secretKey: hex, previousSecretKeys: [base64] });
      seal.createKeyRing({ secretKey: hex });
      seal.parseSecretKey(KEY_32.toString('base64url'));
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('secretKey');
    expect(warnings[0]).toContain("'hex:'");
  });

  it('an unprefixed key and its prefixed spelling make the same key ring', () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    for (const [legacy, prefixed] of [
      [hex, `hex:${hex}`],
      [base64, `base64:${base64}`],
    ] as const) {
      const sealed = createKeyRing({ secretKey: legacy }).seal('secret', 'user-1');
      expect(createKeyRing({ secretKey: prefixed }).openText(sealed, 'user-1')).toBe('secret');
      expect(createKeyRing({ secretKey: prefixed }).currentKeyId).toBe(createKeyRing({ secretKey: KEY_32 }).currentKeyId);
    }
  });
});

describe('createKeyRing', () => {
  it('rejects a weak key anywhere in the ring, naming which', () => {
    expectMfaError(() => createKeyRing({ secretKey: randomBytes(31) }), 'weak_secret_key');
    const error = expectMfaError(
      () => createKeyRing({ secretKey: NEW_KEY, previousSecretKeys: [OLD_KEY, randomBytes(16)] }),
      'weak_secret_key',
    );
    expect(error.message).toContain('previousSecretKeys[1]');
  });

  it.each([
    ['no options', undefined],
    ['null options', null],
    ['no secretKey', {}],
    ['previousSecretKeys not an array', { secretKey: NEW_KEY, previousSecretKeys: OLD_KEY }],
    ['a junk previous key', { secretKey: NEW_KEY, previousSecretKeys: [42] }],
  ])('rejects %s with invalid_option', (_, options) => {
    expectMfaError(() => createKeyRing(options as never), 'invalid_option');
  });
});

describe('seal and open', () => {
  const ring = createKeyRing({ secretKey: NEW_KEY });

  it.each([
    ['a string', 'JBSWY3DPEHPK3PXP'],
    ['an empty string', ''],
    ['unicode text', 'zoë 例え 🚀'],
  ])('round-trips %s', (_, text) => {
    const sealed = ring.seal(text, 'user-1', 'totp-secret');
    expect(ring.openText(sealed, 'user-1', 'totp-secret')).toBe(text);
  });

  it.each([
    ['bytes', randomBytes(20)],
    ['empty bytes', new Uint8Array(0)],
    ['1 KiB', randomBytes(1024)],
  ])('round-trips %s', (_, bytes) => {
    const sealed = ring.seal(bytes, 'user-1');
    expect(Buffer.from(ring.open(sealed, 'user-1'))).toEqual(Buffer.from(bytes));
  });

  it('writes v1.<keyId>.<base64url of iv ‖ ciphertext ‖ tag>', () => {
    const sealed = ring.seal('abc', 'user-1');
    expect(sealed).toMatch(/^v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]+$/);
    expect(sealed.split('.')[1]).toBe(ring.currentKeyId);
    expect(Buffer.from(sealed.split('.')[2]!, 'base64url')).toHaveLength(12 + 3 + 16);
  });

  it('uses a fresh IV for every seal', () => {
    const seen = new Set(Array.from({ length: 100 }, () => ring.seal('same', 'user-1').split('.')[2]!.slice(0, 16)));
    expect(seen.size).toBe(100);
  });

  it('fails on a change to any single byte of the payload', () => {
    const sealed = ring.seal('JBSWY3DPEHPK3PXP', 'user-1');
    const length = Buffer.from(sealed.split('.')[2]!, 'base64url').length;
    for (let i = 0; i < length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const tampered = withPayload(sealed, (p) => {
          p[i]! ^= mask;
          return p;
        });
        expectMfaError(() => ring.open(tampered, 'user-1'), 'seal_invalid');
      }
    }
  });

  it('fails when truncated or extended', () => {
    const sealed = ring.seal('JBSWY3DPEHPK3PXP', 'user-1');
    const length = Buffer.from(sealed.split('.')[2]!, 'base64url').length;
    for (let cut = 1; cut <= length; cut++) {
      expectMfaError(() => ring.open(withPayload(sealed, (p) => p.subarray(0, length - cut)), 'user-1'), 'seal_invalid');
    }
    for (const extra of [Buffer.from([0]), randomBytes(16)]) {
      expectMfaError(() => ring.open(withPayload(sealed, (p) => Buffer.concat([p, extra])), 'user-1'), 'seal_invalid');
    }
    expectMfaError(() => ring.open(sealed.slice(0, -1), 'user-1'), 'seal_invalid');
    expectMfaError(() => ring.open(`${sealed}A`, 'user-1'), 'seal_invalid');
  });

  it('fails for another user', () => {
    const sealed = ring.seal('secret', 'user-1');
    expectMfaError(() => ring.open(sealed, 'user-2'), 'seal_invalid');
    expectMfaError(() => ring.open(sealed, 'user-1 '), 'seal_invalid');
  });

  it('fails for another purpose', () => {
    const sealed = ring.seal('secret', 'user-1', 'totp-secret');
    expectMfaError(() => ring.open(sealed, 'user-1', 'recovery-codes'), 'seal_invalid');
    expectMfaError(() => ring.open(sealed, 'user-1'), 'seal_invalid');
  });

  it('binds user and purpose unambiguously: ("ab", "c") is not ("a", "bc")', () => {
    const sealed = ring.seal('secret', 'ab', 'c');
    expect(ring.openText(sealed, 'ab', 'c')).toBe('secret');
    expectMfaError(() => ring.open(sealed, 'a', 'bc'), 'seal_invalid');
    expectMfaError(() => ring.open(sealed, 'abc', ''), 'seal_invalid');
  });

  it('fails on a changed header', () => {
    const sealed = ring.seal('secret', 'user-1');
    const [, keyId, payload] = sealed.split('.') as [string, string, string];
    const otherId = keyId.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    for (const changed of [`v2.${keyId}.${payload}`, `v1.${otherId}.${payload}`, `v1.${keyId.toUpperCase()}x.${payload}`]) {
      expectMfaError(() => ring.open(changed, 'user-1'), 'seal_invalid');
    }
  });

  it.each([
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['an object', { sealed: 'v1' }],
    ['bytes', new Uint8Array(40)],
    ['an empty string', ''],
    ['plain text', 'hello'],
    ['a header only', 'v1.0123abcd.'],
    ['base64 padding', 'v1.0123abcd.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=='],
    ['a huge string', `v1.0123abcd.${'A'.repeat(100_000)}`],
  ])('fails on garbage (%s) with seal_invalid, never echoing it', (_, garbage) => {
    const error = expectMfaError(() => ring.open(garbage as string, 'user-1'), 'seal_invalid');
    if (typeof garbage === 'string' && garbage !== '') expect(error.message).not.toContain(garbage);
    expect(ring.keyIdOf(garbage as string)).toBeNull();
  });

  it('openText fails with seal_invalid on bytes that are not UTF-8', () => {
    const sealed = ring.seal(Uint8Array.of(0xff, 0xfe), 'user-1');
    expectMfaError(() => ring.openText(sealed, 'user-1'), 'seal_invalid');
  });

  it.each([
    ['an empty userId', () => ring.seal('x', '')],
    ['a numeric userId', () => ring.seal('x', 42 as unknown as string)],
    ['a userId with a lone surrogate', () => ring.seal('x', 'user\uD800')],
    ['a non-string purpose', () => ring.seal('x', 'user-1', 7 as unknown as string)],
    ['a numeric plaintext', () => ring.seal(42 as unknown as string, 'user-1')],
    ['a plaintext with a lone surrogate', () => ring.seal('\uDC00', 'user-1')],
    ['opening with an empty userId', () => ring.open(ring.seal('x', 'user-1'), '')],
  ])('rejects %s with invalid_argument', (_, fn) => {
    expectMfaError(fn, 'invalid_argument');
  });
});

describe('key rotation', () => {
  const oldRing = createKeyRing({ secretKey: OLD_KEY });
  const rotated = createKeyRing({ secretKey: NEW_KEY, previousSecretKeys: [OLD_KEY] });
  const newOnly = createKeyRing({ secretKey: NEW_KEY });

  it('opens a value sealed under a previous key', () => {
    const sealed = oldRing.seal('secret', 'user-1', 'totp-secret');
    expect(rotated.openText(sealed, 'user-1', 'totp-secret')).toBe('secret');
  });

  it('fails with a ring that no longer holds the old key', () => {
    const sealed = oldRing.seal('secret', 'user-1');
    expectMfaError(() => newOnly.open(sealed, 'user-1'), 'seal_invalid');
  });

  it('seals under the current key, and keyIdOf tells old from current', () => {
    const old = oldRing.seal('secret', 'user-1');
    const fresh = rotated.seal('secret', 'user-1');
    expect(rotated.currentKeyId).toBe(newOnly.currentKeyId);
    expect(rotated.currentKeyId).not.toBe(oldRing.currentKeyId);
    expect(rotated.keyIdOf(old)).toBe(oldRing.currentKeyId);
    expect(rotated.keyIdOf(fresh)).toBe(rotated.currentKeyId);
    expectMfaError(() => oldRing.open(fresh, 'user-1'), 'seal_invalid');
  });

  it('keyIdOf is null for anything that is not a sealed value', () => {
    for (const value of ['', 'v1', 'v2.0123abcd.AAAA', 42, null, 'v1.0123abcd.AA=']) {
      expect(rotated.keyIdOf(value as string)).toBeNull();
    }
  });

  it('key ids are derived, not a prefix of the key or of a subkey', () => {
    const ring = createKeyRing({ secretKey: NEW_KEY });
    const hexes = [Buffer.from(NEW_KEY).toString('hex'), ...PURPOSES.map((p) => Buffer.from(ring.macKeys(p)[0]!).toString('hex'))];
    for (const hex of hexes) expect(hex.startsWith(ring.currentKeyId)).toBe(false);
    expect(createKeyRing({ secretKey: Buffer.from(NEW_KEY).toString('base64') }).currentKeyId).toBe(ring.currentKeyId);
  });
});

describe('macKeys', () => {
  const rotated = createKeyRing({ secretKey: NEW_KEY, previousSecretKeys: [OLD_KEY] });

  it('gives the current key first, then previous keys', () => {
    const current = createKeyRing({ secretKey: NEW_KEY });
    const old = createKeyRing({ secretKey: OLD_KEY });
    for (const purpose of PURPOSES) {
      expect(rotated.macKeys(purpose)).toEqual([current.macKeys(purpose)[0], old.macKeys(purpose)[0]]);
    }
  });

  it('subkeys are 32 bytes and differ by purpose and by root key', () => {
    const all = PURPOSES.flatMap((p) => rotated.macKeys(p)).map((k) => Buffer.from(k).toString('hex'));
    expect(all).toHaveLength(6);
    expect(new Set(all).size).toBe(6);
    for (const hex of all) {
      expect(hex).toHaveLength(64);
      expect(hex).not.toBe(Buffer.from(NEW_KEY).toString('hex'));
      expect(hex).not.toBe(Buffer.from(OLD_KEY).toString('hex'));
    }
  });

  it('returns copies that cannot change the ring', () => {
    const [key] = rotated.macKeys('challenge');
    const before = Buffer.from(key!).toString('hex');
    key!.fill(0);
    expect(Buffer.from(rotated.macKeys('challenge')[0]!).toString('hex')).toBe(before);
  });

  it('rejects an unknown purpose', () => {
    expectMfaError(() => rotated.macKeys('seal' as MacPurpose), 'invalid_argument');
  });
});

describe('logging a key ring', () => {
  const ring: KeyRing = createKeyRing({ secretKey: NEW_KEY, previousSecretKeys: [OLD_KEY] });
  const secrets = [NEW_KEY, OLD_KEY, ...PURPOSES.flatMap((p) => ring.macKeys(p))].flatMap((bytes) => {
    const b = Buffer.from(bytes);
    return [b.toString('hex'), b.toString('base64'), b.toString('base64url'), b.toString('hex').slice(0, 16)];
  });
  const bytesLists = [NEW_KEY, OLD_KEY].map((k) => Array.from(k).join(', '));

  it.each([
    ['JSON.stringify', () => JSON.stringify(ring)],
    ['util.inspect', () => inspect(ring, { depth: Infinity, showHidden: true })],
    ['template string of inspect', () => `${inspect({ ring })}`],
    ['own property names', () => JSON.stringify(Object.getOwnPropertyNames(ring).map((name) => [name, String((ring as never)[name])]))],
  ])('%s shows key ids and no key bytes', (_, show) => {
    const text = show();
    for (const secret of [...secrets, ...bytesLists]) expect(text).not.toContain(secret);
  });

  it('JSON shows the key ids, current first', () => {
    expect(JSON.parse(JSON.stringify(ring))).toEqual({ keyIds: [ring.currentKeyId, ring.keyIdOf(createKeyRing({ secretKey: OLD_KEY }).seal('x', 'u'))] });
    expect(inspect(ring)).toContain(ring.currentKeyId);
  });
});
