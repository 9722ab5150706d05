import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
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

describe('parseSecretKey', () => {
  const key32 = randomBytes(32);
  const key31 = randomBytes(31);

  it.each([
    ['raw bytes', Uint8Array.from(key32)],
    ['a Buffer', key32],
    ['hex', key32.toString('hex')],
    ['uppercase hex', key32.toString('hex').toUpperCase()],
    ['base64', key32.toString('base64')],
    ['base64 without padding', key32.toString('base64').replace(/=+$/, '')],
    ['base64url', key32.toString('base64url')],
    ['hex with a trailing newline', `${key32.toString('hex')}\n`],
  ])('accepts 32 bytes as %s', (_, key) => {
    expect(Buffer.from(parseSecretKey(key))).toEqual(key32);
  });

  it('accepts more than 32 bytes', () => {
    expect(parseSecretKey(randomBytes(64).toString('base64'))).toHaveLength(64);
  });

  it.each([
    ['raw bytes', Uint8Array.from(key31)],
    ['hex', key31.toString('hex')],
    ['base64', key31.toString('base64')],
    ['base64url', key31.toString('base64url')],
    ['an empty string', ''],
    ['empty bytes', new Uint8Array(0)],
  ])('rejects 31 bytes or fewer as %s with weak_secret_key, naming the option only', (_, key) => {
    const error = expectMfaError(() => parseSecretKey(key, 'previousSecretKeys[0]'), 'weak_secret_key');
    expect(error.message).toContain('previousSecretKeys[0]');
    if (typeof key === 'string' && key !== '') expect(error.message).not.toContain(key);
  });

  it.each([
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['an array of numbers', Array.from(key32)],
    ['an ArrayBuffer', key32.buffer],
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
    const key = Uint8Array.from(key32);
    const parsed = parseSecretKey(key);
    key.fill(0);
    expect(Buffer.from(parsed)).toEqual(key32);
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
