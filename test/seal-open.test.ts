/**
 * Performance issue 13: `KeyRing.open` builds its associated data from
 * cached parts and returns the plaintext without extra copies; the service
 * MACs short inputs from cached HMAC key states (`hmacSha256Into`). None of
 * that may change a byte: the new code is checked against the code it
 * replaced (the oracle below, copied from before the change) and against
 * `node:crypto`.
 */
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { bytesOf, prng } from './support/prng.ts';
import { MfaError } from '../src/errors.ts';
import { checkWellFormed, lengthPrefixed } from '../src/length-prefixed.ts';
import { createKeyRing, hmacSha256Into, type HmacKey, type KeyRing, type MacPurpose } from '../src/seal.ts';

// ---- The oracle: sealing and opening as they were before issue 13. ----

function oracleLengthPrefixed(fields: readonly (string | Uint8Array)[]): Buffer {
  const parts = fields.map((field) => {
    if (typeof field !== 'string') return field;
    if (!field.isWellFormed()) {
      throw new MfaError('invalid_argument', 'a string to encode is not well-formed Unicode (it holds a lone surrogate)');
    }
    return Buffer.from(field, 'utf8');
  });
  const out = Buffer.alloc(parts.reduce((sum, part) => sum + 4 + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    offset = out.writeUInt32BE(part.length, offset);
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MAX_SEALED_CHARS = 65_536;
const SEALED_FORMAT = /^v1\.([0-9a-f]{8})\.([A-Za-z0-9_-]+)$/;

interface OracleKey {
  keyId: string;
  sealKey: KeyObject;
}

function oracleDerive(root: Uint8Array): OracleKey {
  const derive = (label: string, length: number) => hkdf(sha256, root, undefined, utf8ToBytes(`twofold/v1/${label}`), length);
  return { keyId: bytesToHex(derive('key-id', 4)), sealKey: createSecretKey(derive('seal', 32)) };
}

function oracleParseSealed(sealed: unknown): { keyId: string; body: Buffer } | null {
  if (typeof sealed !== 'string' || sealed.length > MAX_SEALED_CHARS) return null;
  const match = SEALED_FORMAT.exec(sealed);
  if (match === null) return null;
  const [, keyId, encoded] = match as unknown as [string, string, string];
  const body = Buffer.from(encoded, 'base64url');
  if (body.toString('base64url') !== encoded) return null;
  return { keyId, body };
}

function oracleCheckBinding(userId: unknown, purpose: unknown): Buffer {
  if (typeof userId !== 'string' || userId.length === 0) {
    throw new MfaError('invalid_argument', 'userId must be a non-empty string');
  }
  if (typeof purpose !== 'string') {
    throw new MfaError('invalid_argument', 'purpose must be a string');
  }
  return oracleLengthPrefixed([userId, purpose]);
}

function oracleAssociatedData(keyId: string, binding: Buffer): Uint8Array {
  return Buffer.concat([oracleLengthPrefixed([VERSION, keyId]), binding]);
}

function oracleSealInvalid(): MfaError {
  return new MfaError('seal_invalid', 'sealed value is invalid, tampered with, or not for this user, purpose or key ring');
}

class OracleRing {
  readonly #keys: OracleKey[];
  constructor(roots: Uint8Array[]) {
    this.#keys = roots.map(oracleDerive);
  }

  seal(plaintext: Uint8Array | string, userId: string, purpose = 'default'): string {
    let data: Uint8Array;
    if (typeof plaintext === 'string') {
      if (!plaintext.isWellFormed()) throw new MfaError('invalid_argument', 'plaintext must be well-formed Unicode');
      data = Buffer.from(plaintext, 'utf8');
    } else if (plaintext instanceof Uint8Array) data = plaintext;
    else throw new MfaError('invalid_argument', 'seal: plaintext must be a string or a Uint8Array');
    const binding = oracleCheckBinding(userId, purpose);
    const current = this.#keys[0]!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', current.sealKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(oracleAssociatedData(current.keyId, binding));
    const body = Buffer.concat([iv, cipher.update(data), cipher.final(), cipher.getAuthTag()]);
    return `${VERSION}.${current.keyId}.${body.toString('base64url')}`;
  }

  open(sealed: string, userId: string, purpose = 'default'): Uint8Array {
    const binding = oracleCheckBinding(userId, purpose);
    const parsed = oracleParseSealed(sealed);
    if (parsed === null || parsed.body.length < IV_BYTES + TAG_BYTES) throw oracleSealInvalid();
    const { keyId, body } = parsed;
    const iv = body.subarray(0, IV_BYTES);
    const ciphertext = body.subarray(IV_BYTES, body.length - TAG_BYTES);
    const tag = body.subarray(body.length - TAG_BYTES);
    for (const key of this.#keys) {
      if (key.keyId !== keyId) continue;
      const decipher = createDecipheriv('aes-256-gcm', key.sealKey, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(oracleAssociatedData(keyId, binding));
      decipher.setAuthTag(tag);
      try {
        return new Uint8Array(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
      } catch {
        // Authentication failed under this key.
      }
    }
    throw oracleSealInvalid();
  }

  openText(sealed: string, userId: string, purpose = 'default'): string {
    const bytes = this.open(sealed, userId, purpose);
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      throw oracleSealInvalid();
    }
  }
}

// ---- Helpers. ----

function randomText(rand: () => number, maxLength: number): string {
  const pool = [...'abcXYZ019-_. ', 'é', 'ß', '例', 'え', '🚀', '\uD83D\uDE00', '\uFEFF', '\u0000', '\uFFFD'];
  let text = '';
  const length = Math.floor(rand() * (maxLength + 1));
  for (let i = 0; i < length; i++) text += pool[Math.floor(rand() * pool.length)]!;
  return text;
}

type Outcome = { ok: true; value: string } | { ok: false; error: string };

/** What a call returned (hex of bytes, or text) or threw (MfaError code and message). */
function outcome(fn: () => Uint8Array | string): Outcome {
  try {
    const value = fn();
    return { ok: true, value: typeof value === 'string' ? `text:${value}` : `bytes:${Buffer.from(value).toString('hex')}` };
  } catch (error) {
    return { ok: false, error: error instanceof MfaError ? `${error.code}: ${error.message}` : `other: ${String(error)}` };
  }
}

function expectSameOpen(ring: KeyRing, oracle: OracleRing, sealed: unknown, userId: unknown, purpose: unknown, label: string): Outcome {
  const args = [sealed, userId, purpose] as [string, string, string];
  const expected = outcome(() => oracle.open(...args));
  expect(outcome(() => ring.open(...args)), label).toStrictEqual(expected);
  expect(outcome(() => ring.openText(...args)), `${label} (text)`).toStrictEqual(outcome(() => oracle.openText(...args)));
  return expected;
}

/** Rebuilds a sealed string around a modified payload. */
function withPayload(sealed: string, edit: (payload: Buffer) => Buffer): string {
  const [version, keyId, encoded] = sealed.split('.') as [string, string, string];
  return `${version}.${keyId}.${edit(Buffer.from(encoded, 'base64url')).toString('base64url')}`;
}

const CURRENT_ROOT = randomBytes(32);
const PREVIOUS_ROOT = randomBytes(32);
const ring = createKeyRing({ secretKey: CURRENT_ROOT, previousSecretKeys: [PREVIOUS_ROOT] });
const oracle = new OracleRing([CURRENT_ROOT, PREVIOUS_ROOT]);
const oldRing = createKeyRing({ secretKey: PREVIOUS_ROOT });
const oldOracle = new OracleRing([PREVIOUS_ROOT]);

describe('KeyRing.open agrees with the implementation it replaced (issue 13)', () => {
  it('round-trips both ways with the old sealing, for random plaintexts, users and purposes', () => {
    const rand = prng(13);
    for (let n = 0; n < 600; n++) {
      const userId = randomText(rand, 20) || 'u';
      const purpose = rand() < 0.3 ? undefined : randomText(rand, 12);
      const plaintext = rand() < 0.5 ? bytesOf(rand, Math.floor(rand() * 70)) : randomText(rand, 40);
      const label = `#${n} ${JSON.stringify([userId, purpose])}`;
      const sealers: [string, () => string][] = [
        ['new', () => (purpose === undefined ? ring.seal(plaintext, userId) : ring.seal(plaintext, userId, purpose))],
        ['old', () => (purpose === undefined ? oracle.seal(plaintext, userId) : oracle.seal(plaintext, userId, purpose))],
        ['old key', () => (purpose === undefined ? oldOracle.seal(plaintext, userId) : oldOracle.seal(plaintext, userId, purpose))],
      ];
      for (const [by, seal] of sealers) {
        const sealed = seal();
        const opened = purpose === undefined ? ring.open(sealed, userId) : ring.open(sealed, userId, purpose);
        const expected = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
        expect(Buffer.from(opened).equals(Buffer.from(expected)), `${label} sealed by ${by}`).toBe(true);
        expectSameOpen(ring, oracle, sealed, userId, purpose, `${label} sealed by ${by}`);
      }
    }
  });

  it('refuses the same tampered values, with the same error', () => {
    const rand = prng(1313);
    for (let n = 0; n < 12; n++) {
      const sealed = (n % 3 === 2 ? oldRing : ring).seal(bytesOf(rand, n === 0 ? 0 : 20), 'user-1234', 'totp-secret');
      const length = Buffer.from(sealed.split('.')[2]!, 'base64url').length;
      const variants: string[] = [];
      for (let i = 0; i < length; i++) {
        for (const mask of [0x01, 0x80, 0xff]) {
          variants.push(
            withPayload(sealed, (p) => {
              p[i]! ^= mask;
              return p;
            }),
          );
        }
      }
      for (let cut = 1; cut <= length; cut++) variants.push(withPayload(sealed, (p) => p.subarray(0, length - cut)));
      variants.push(withPayload(sealed, (p) => Buffer.concat([p, Buffer.of(0)])), withPayload(sealed, (p) => Buffer.concat([p, randomBytes(16)])));
      // Every character of the text: replaced, deleted, doubled.
      for (let i = 0; i < sealed.length; i++) {
        for (const char of ['A', 'B', 'g', '-', '_', '.', '=', '+', '/', ' ', 'é', '0', 'f', 'F']) {
          if (char !== sealed[i]) variants.push(sealed.slice(0, i) + char + sealed.slice(i + 1));
        }
        variants.push(sealed.slice(0, i) + sealed.slice(i + 1), sealed.slice(0, i) + sealed[i] + sealed.slice(i));
      }
      for (const last of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_') {
        if (last !== sealed.at(-1)) variants.push(sealed.slice(0, -1) + last);
      }
      variants.push(`${sealed}=`, `${sealed}==`, sealed.toUpperCase(), sealed.replace(/^v1/, 'v2'), `${sealed}\n`, ` ${sealed}`);
      let opened = 0;
      for (const variant of variants) {
        if (expectSameOpen(ring, oracle, variant, 'user-1234', 'totp-secret', `tampered #${n}: ${variant}`).ok) opened++;
      }
      // Only other spellings of the same bytes could open, and the format has none.
      expect(opened).toBe(0);
      expectSameOpen(ring, oracle, sealed, 'user-1234', 'totp-secret', `untampered #${n}`);
    }
  });

  it('refuses wrong users and purposes alike, including the length-prefix boundaries', () => {
    const rand = prng(7);
    const pairs: [string, string][] = [
      ['user-1234', 'totp-secret'],
      ['ab', 'c'],
      ['a', 'bc'],
      ['abc', ''],
      ['例', 'x'],
      ['\uD83D\uDE00', 'default'],
    ];
    for (const [userId, purpose] of pairs) {
      const sealed = ring.seal(bytesOf(rand, 20), userId, purpose);
      const others: [unknown, unknown][] = [
        [userId, purpose],
        [`${userId} `, purpose],
        [` ${userId}`, purpose],
        [userId.slice(0, -1) || 'x', purpose],
        [userId.toUpperCase(), purpose],
        [`${userId}\u0000`, purpose],
        [userId, `${purpose}x`],
        [userId, purpose.slice(1)],
        [userId, undefined],
        [userId + purpose, ''],
        [userId.slice(0, 1), userId.slice(1) + purpose],
        ...pairs,
        ...Array.from({ length: 10 }, (): [string, string] => [randomText(rand, 8) || 'y', randomText(rand, 8)]),
      ];
      for (const [otherUser, otherPurpose] of others) {
        expectSameOpen(ring, oracle, sealed, otherUser, otherPurpose, `${JSON.stringify([userId, purpose])} as ${JSON.stringify([otherUser, otherPurpose])}`);
      }
    }
  });

  it('throws the same invalid_argument and seal_invalid errors for bad arguments, in the same order', () => {
    const sealed = ring.seal('secret', 'user-1');
    const userIds: unknown[] = ['user-1', '', 42, null, undefined, {}, 'user\uD800', '\uDC00', new String('user-1')];
    const purposes: unknown[] = ['default', undefined, '', 7, null, 'p\uD800', '\uDFFF', {}];
    const sealeds: unknown[] = [sealed, 42, null, undefined, {}, '', 'v1', `v1.${ring.currentKeyId}.`, `v1.${ring.currentKeyId}.AAAA`, `${sealed}A`.repeat(2), `v1.0123abcd.${'A'.repeat(100_000)}`];
    for (const userId of userIds) {
      for (const purpose of purposes) {
        for (const value of sealeds) {
          expectSameOpen(ring, oracle, value, userId, purpose, `open(${String(value).slice(0, 40)}, ${String(userId)}, ${String(purpose)})`);
        }
      }
    }
    // seal: the plaintext is checked first, then the binding.
    for (const plaintext of ['x', '\uD800', 42, null, Uint8Array.of(1)]) {
      for (const userId of userIds) {
        for (const purpose of purposes) {
          const args = [plaintext, userId, purpose] as [string, string, string];
          const expected = outcome(() => oracle.seal(...args));
          const actual = outcome(() => ring.seal(...args));
          if (expected.ok) expect(actual.ok).toBe(true);
          else expect(actual).toStrictEqual(expected);
        }
      }
    }
  });

  it('keeps a lone surrogate purpose refused every time, and any number of purposes correct (the purpose cache)', () => {
    for (let i = 0; i < 3; i++) expect(outcome(() => ring.open(ring.seal('x', 'u'), 'u', 'p\uD800'))).toStrictEqual(outcome(() => oracle.open(ring.seal('x', 'u'), 'u', 'p\uD800')));
    // Many purposes (more than the cache holds), and long ones (which it does not keep).
    const purposes = [...Array.from({ length: 200 }, (_, i) => `purpose-${i}`), 'p'.repeat(64), 'p'.repeat(65), 'q'.repeat(5000)];
    const sealedByPurpose = purposes.map((purpose, i) => [purpose, `secret-${i}`, ring.seal(`secret-${i}`, 'user-1', purpose)] as const);
    for (let round = 0; round < 2; round++) {
      for (const [purpose, secret, sealed] of sealedByPurpose) {
        expect(ring.openText(sealed, 'user-1', purpose)).toBe(secret);
        expect(oracle.openText(sealed, 'user-1', purpose)).toBe(secret);
        expect(() => ring.open(sealed, 'user-1', `${purpose}0`)).toThrow(MfaError);
        expect(() => ring.open(sealed, 'user-1', purpose.slice(1))).toThrow(MfaError);
      }
    }
  });

  it('returns a plain Uint8Array over memory of its own, exactly the plaintext, that the caller may wipe', () => {
    for (const length of [0, 1, 20, 64, 4096, 5000]) {
      const plaintext = randomBytes(length);
      const sealed = ring.seal(plaintext, 'user-1', 'totp-secret');
      const opened = ring.open(sealed, 'user-1', 'totp-secret');
      expect(Object.getPrototypeOf(opened)).toBe(Uint8Array.prototype);
      expect(opened.byteOffset).toBe(0);
      expect(opened.buffer.byteLength).toBe(length);
      expect(Buffer.from(opened).equals(plaintext)).toBe(true);
      opened.fill(0);
      expect(Buffer.from(ring.open(sealed, 'user-1', 'totp-secret')).equals(plaintext)).toBe(true);
      expect(ring.open(sealed, 'user-1', 'totp-secret')).not.toBe(ring.open(sealed, 'user-1', 'totp-secret'));
    }
  });

  it('seal leaves the caller’s bytes alone', () => {
    const plaintext = randomBytes(20);
    const copy = Buffer.from(plaintext);
    const sealed = ring.seal(plaintext, 'user-1');
    expect(plaintext.equals(copy)).toBe(true);
    expect(Buffer.from(oracle.open(sealed, 'user-1')).equals(copy)).toBe(true);
  });

  it('openText decodes as before: a BOM is kept, invalid UTF-8 is seal_invalid', () => {
    for (const bytes of [Buffer.from('\uFEFFabc', 'utf8'), Buffer.of(0xff, 0xfe), Buffer.of(0xc3), Buffer.of(0xed, 0xa0, 0x80), Buffer.of(0xef, 0xbb, 0xbf), Buffer.from('zoë 🚀', 'utf8')]) {
      const sealed = ring.seal(bytes, 'user-1');
      expectSameOpen(ring, oracle, sealed, 'user-1', undefined, `text ${bytes.toString('hex')}`);
    }
  });

  it('keyIdOf still names the key of any sealed value and nothing else', () => {
    expect(ring.keyIdOf(oldRing.seal('x', 'u'))).toBe(oldRing.currentKeyId);
    expect(ring.keyIdOf(ring.seal('x', 'u'))).toBe(ring.currentKeyId);
    expect(ring.keyIdOf(createKeyRing({ secretKey: randomBytes(32) }).seal('x', 'u'))).toMatch(/^[0-9a-f]{8}$/);
    expect(ring.keyIdOf('v1.0123abcd.AA=')).toBeNull();
  });
});

describe('hmacSha256Into (the cached-state MAC, issue 13) equals node:crypto HMAC-SHA256', () => {
  const PURPOSES: readonly MacPurpose[] = ['challenge', 'recovery-code', 'email-token', 'step-up', 'webauthn-challenge', 'device-token'];
  const rings = [ring, oldRing, createKeyRing({ secretKey: randomBytes(48) })];
  const pairs: [HmacKey, Uint8Array][] = rings.flatMap((r) =>
    PURPOSES.flatMap((purpose) => r.hmacKeys(purpose).map((key, i): [HmacKey, Uint8Array] => [key, r.macKeys(purpose)[i]!])),
  );
  // Keys that are not a ring's: raw bytes (also one longer than a block, which HMAC hashes first) and a foreign KeyObject.
  const foreign = randomBytes(32);
  const long = randomBytes(100);
  pairs.push([foreign, foreign], [createSecretKey(foreign), foreign], [long, long]);

  it('on random keys and inputs of every length around the switch to createHmac, interleaved', () => {
    const rand = prng(99);
    const out = new Uint8Array(32);
    for (let n = 0; n < 4000; n++) {
      const [key, raw] = pairs[Math.floor(rand() * pairs.length)]!;
      const length = n < 600 ? n % 300 : Math.floor(rand() * (rand() < 0.9 ? 260 : 5000));
      const data = bytesOf(rand, length);
      const input = rand() < 0.3 ? Buffer.from(data) : rand() < 0.5 ? data : new Uint8Array([0, ...data, 0]).subarray(1, length + 1);
      hmacSha256Into(key, input, out);
      expect(Buffer.from(out).toString('hex'), `#${n}, ${length} bytes`).toBe(createHmac('sha256', raw).update(data).digest('hex'));
    }
  });

  it('writes only the first 32 bytes of a larger output, and leaves the input unchanged', () => {
    const [key, raw] = pairs[0]!;
    const data = randomBytes(50);
    const before = Buffer.from(data);
    const out = new Uint8Array(40).fill(7);
    hmacSha256Into(key, data, out);
    expect(Buffer.from(out.subarray(0, 32)).equals(createHmac('sha256', raw).update(data).digest())).toBe(true);
    expect([...out.subarray(32)]).toEqual(Array(8).fill(7));
    expect(data.equals(before)).toBe(true);
  });

  it('survives a failed call: the next MAC is still right', () => {
    const [key, raw] = pairs[0]!;
    expect(() => hmacSha256Into(key, 'not bytes' as unknown as Uint8Array, new Uint8Array(32))).toThrow();
    const out = new Uint8Array(32);
    hmacSha256Into(key, Buffer.from('abc'), out);
    expect(Buffer.from(out).equals(createHmac('sha256', raw).update('abc').digest())).toBe(true);
  });
});

describe('lengthPrefixed agrees with the implementation it replaced (issue 13)', () => {
  it('on random lists of strings and bytes', () => {
    const rand = prng(5);
    for (let n = 0; n < 2000; n++) {
      const fields = Array.from({ length: Math.floor(rand() * 5) }, () => (rand() < 0.6 ? randomText(rand, 10) : bytesOf(rand, Math.floor(rand() * 10))));
      const actual = lengthPrefixed(fields);
      expect(actual.toString('hex')).toBe(oracleLengthPrefixed(fields).toString('hex'));
      expect(actual.byteOffset === 0 && actual.buffer.byteLength === actual.length).toBe(true);
    }
  });

  it('throws the same error for a lone surrogate in any field, before writing anything', () => {
    for (const fields of [['\uD800'], ['a', 'b\uDFFF'], [Uint8Array.of(1), 'x\uD83D', 'ok'], ['ok', '\uDE00\uD83D']]) {
      expect(outcome(() => lengthPrefixed(fields))).toStrictEqual(outcome(() => oracleLengthPrefixed(fields)));
      expect(outcome(() => lengthPrefixed(fields)).ok).toBe(false);
    }
    expect(() => checkWellFormed('a\uD800')).toThrow('not well-formed');
    expect(() => checkWellFormed('a\uD83D\uDE00')).not.toThrow();
  });
});
