import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  exportCoseKey,
  importCoseKey,
  importStoredCoseKey,
  MAX_COSE_KEY_BYTES,
  STORED_KEY_CACHE_SIZE,
  verifyCoseSignature,
  type CoseKeyFailure,
} from '../../src/webauthn/cose.ts';
import { encodeCbor, type Encodable } from './cbor-encoder.ts';
import { b64, SOFT_ALGORITHMS, SoftAuthenticator } from './soft-authenticator.ts';

const jwkBytes = (field: string | undefined) => Uint8Array.from(Buffer.from(field!, 'base64url'));

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
const ed = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' });

type Entries = Array<[number | string, Encodable]>;
const EC2: Entries = [[1, 2], [3, -7], [-1, 1], [-2, jwkBytes(ec.x)], [-3, jwkBytes(ec.y)]];
const OKP: Entries = [[1, 1], [3, -8], [-1, 6], [-2, jwkBytes(ed.x)]];
const RSA: Entries = [[1, 3], [3, -257], [-1, jwkBytes(rsa.n)], [-2, jwkBytes(rsa.e)]];

/** A COSE key from `base` with labels replaced (`undefined` removes one). */
function cose(base: Entries, edits: Array<[number | string, Encodable | undefined]> = []): Uint8Array {
  const map = new Map<number | string, Encodable>(base);
  for (const [label, value] of edits) {
    if (value === undefined) map.delete(label);
    else map.set(label, value);
  }
  return encodeCbor(map);
}

const flipped = (bytes: Uint8Array) => {
  const out = Uint8Array.from(bytes);
  out[5] = out[5]! ^ 1;
  return out;
};

describe('importCoseKey', () => {
  it.each(SOFT_ALGORITHMS)('imports the %s key of an authenticator and verifies its signatures', (alg) => {
    const auth = new SoftAuthenticator(alg);
    const result = importCoseKey(auth.cose);
    if (!result.ok) throw new Error(result.reason);
    expect(result.key.alg).toBe(auth.coseAlg);
    expect(result.key.keyObject.type).toBe('public');
    expect(result.key.keyObject.equals(auth.publicKey)).toBe(true);
    expect(exportCoseKey(result.key)).toBe(auth.storedKey);
    const data = randomBytes(64);
    expect(verifyCoseSignature(result.key, data, auth.signRaw(data))).toBe(true);
    expect(verifyCoseSignature(result.key, randomBytes(64), auth.signRaw(data))).toBe(false);
  });

  it.each<[string, Uint8Array | unknown, CoseKeyFailure]>([
    // Generic.
    ['not CBOR', Uint8Array.of(0xff), 'malformed'],
    ['a CBOR array', encodeCbor([1, 2]), 'malformed'],
    ['an empty map', encodeCbor(new Map()), 'malformed'],
    ['a map followed by a byte', Uint8Array.from([...cose(EC2), 0]), 'malformed'],
    ['not bytes', 'pQECAyYgASFYIA', 'malformed'],
    [`over ${MAX_COSE_KEY_BYTES} bytes`, cose(RSA, [[-1, new Uint8Array(1100).fill(1)]]), 'malformed'],
    ['a text label', cose(EC2, [['alg', -7]]), 'malformed'],
    ['kty missing', cose(EC2, [[1, undefined]]), 'malformed'],
    ['alg missing', cose(EC2, [[3, undefined]]), 'malformed'],
    ['kty as text (Firefox 117)', cose(OKP, [[1, 'OKP']]), 'malformed'],
    ['alg as text', cose(EC2, [[3, 'ES256']]), 'malformed'],
    ['the broken EdDSA key of Firefox 117', Uint8Array.from(Buffer.from('a301634f4b500327206745643235353139', 'hex')), 'malformed'],
    ['kty Symmetric (4)', cose(EC2, [[1, 4]]), 'unsupported_algorithm'],
    // EC2.
    ['EC2 with alg EdDSA', cose(EC2, [[3, -8]]), 'unsupported_algorithm'],
    ['EC2 with alg ES384', cose(EC2, [[3, -35]]), 'unsupported_algorithm'],
    ['EC2 with alg RS256', cose(EC2, [[3, -257]]), 'unsupported_algorithm'],
    ['EC2 on P-384', cose(EC2, [[-1, 2], [-2, jwkBytes(p384.x)], [-3, jwkBytes(p384.y)]]), 'unsupported_algorithm'],
    ['EC2 with crv as text', cose(EC2, [[-1, 'P-256']]), 'unsupported_algorithm'],
    ['EC2 with crv missing', cose(EC2, [[-1, undefined]]), 'unsupported_algorithm'],
    ['EC2 with a 31-byte x', cose(EC2, [[-2, jwkBytes(ec.x).slice(1)]]), 'invalid_key'],
    ['EC2 with a 33-byte y', cose(EC2, [[-3, Uint8Array.from([0, ...jwkBytes(ec.y)])]]), 'invalid_key'],
    ['EC2 with x missing', cose(EC2, [[-2, undefined]]), 'malformed'],
    ['EC2 with y missing', cose(EC2, [[-3, undefined]]), 'malformed'],
    ['EC2 compressed (y a boolean)', cose(EC2, [[-3, true]]), 'malformed'],
    ['EC2 with x as text', cose(EC2, [[-2, ec.x!]]), 'malformed'],
    ['EC2 point off the curve', cose(EC2, [[-2, flipped(jwkBytes(ec.x))]]), 'invalid_key'],
    ['EC2 point at zero', cose(EC2, [[-2, new Uint8Array(32)], [-3, new Uint8Array(32)]]), 'invalid_key'],
    ['EC2 with a private key d', cose(EC2, [[-4, randomBytes(32)]]), 'malformed'],
    ['EC2 with a kid', cose(EC2, [[2, randomBytes(8)]]), 'malformed'],
    ['EC2 with key_ops', cose(EC2, [[4, [2]]]), 'malformed'],
    // OKP.
    ['OKP with alg ES256', cose(OKP, [[3, -7]]), 'unsupported_algorithm'],
    ['OKP on X25519', cose(OKP, [[-1, 4]]), 'unsupported_algorithm'],
    ['OKP on Ed448', cose(OKP, [[-1, 7], [-2, randomBytes(57)]]), 'unsupported_algorithm'],
    ['OKP with a 31-byte x', cose(OKP, [[-2, randomBytes(31)]]), 'invalid_key'],
    ['OKP with a 33-byte x', cose(OKP, [[-2, randomBytes(33)]]), 'invalid_key'],
    ['OKP with x missing', cose(OKP, [[-2, undefined]]), 'malformed'],
    ['OKP with a y', cose(OKP, [[-3, randomBytes(32)]]), 'malformed'],
    // RSA.
    ['RSA with alg PS256', cose(RSA, [[3, -37]]), 'unsupported_algorithm'],
    ['RSA with alg RS1', cose(RSA, [[3, -65535]]), 'unsupported_algorithm'],
    ['RSA with alg ES256', cose(RSA, [[3, -7]]), 'unsupported_algorithm'],
    ['RSA of 1024 bits', cose(RSA, [[-1, jwkBytes(rsa1024.n)]]), 'invalid_key'],
    ['RSA of 4104 bits', cose(RSA, [[-1, new Uint8Array(513).fill(0xc5)]]), 'invalid_key'],
    ['RSA with a leading zero in n', cose(RSA, [[-1, Uint8Array.from([0, ...jwkBytes(rsa.n)])]]), 'invalid_key'],
    ['RSA with an empty e', cose(RSA, [[-2, new Uint8Array(0)]]), 'invalid_key'],
    ['RSA with e = 1', cose(RSA, [[-2, Uint8Array.of(1)]]), 'invalid_key'],
    ['RSA with an even e', cose(RSA, [[-2, Uint8Array.of(1, 0, 0)]]), 'invalid_key'],
    ['RSA with a 5-byte e', cose(RSA, [[-2, Uint8Array.of(1, 0, 0, 0, 1)]]), 'invalid_key'],
    ['RSA with n missing', cose(RSA, [[-1, undefined]]), 'malformed'],
    ['RSA with e as an integer', cose(RSA, [[-2, 65537]]), 'malformed'],
    ['RSA with a private exponent d', cose(RSA, [[-3, randomBytes(256)]]), 'malformed'],
  ])('refuses %s', (_name, bytes, reason) => {
    expect(importCoseKey(bytes as Uint8Array)).toEqual({ ok: false, reason });
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(importCoseKey(bytes).ok).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on random maps of COSE labels', () => {
    const value = fc.oneof(fc.integer({ min: -300, max: 10 }), fc.uint8Array({ maxLength: 300 }), fc.string(), fc.boolean());
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.integer({ min: -4, max: 4 }), value), { selector: ([label]) => label, maxLength: 6 }),
        (entries) => {
          const result = importCoseKey(encodeCbor(new Map(entries)));
          expect(typeof result.ok).toBe('boolean');
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('verifyCoseSignature', () => {
  it.each(SOFT_ALGORITHMS)('is false, never an exception, for junk %s signatures', (alg) => {
    const auth = new SoftAuthenticator(alg);
    const result = importCoseKey(auth.cose);
    if (!result.ok) throw new Error(result.reason);
    for (const signature of [new Uint8Array(0), randomBytes(1), randomBytes(64), randomBytes(256), randomBytes(1000)]) {
      expect(verifyCoseSignature(result.key, randomBytes(32), signature)).toBe(false);
    }
  });

  it('verifies under the algorithm fixed at import, not one the signer chose', () => {
    // An Ed25519 key never checks a signature as ECDSA or RSA: there is no algorithm argument to confuse.
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const bytes = cose(OKP, [[-2, jwkBytes(publicKey.export({ format: 'jwk' }).x)]]);
    const result = importCoseKey(bytes);
    if (!result.ok) throw new Error(result.reason);
    const data = randomBytes(16);
    expect(verifyCoseSignature(result.key, data, sign(null, data, privateKey))).toBe(true);
    expect(verifyCoseSignature({ ...result.key, alg: -7 }, data, sign(null, data, privateKey))).toBe(false);
  });
});

describe('importStoredCoseKey', () => {
  it('round-trips the stored form and caches the imported key', () => {
    const auth = new SoftAuthenticator('ES256');
    const first = importStoredCoseKey(auth.storedKey);
    const second = importStoredCoseKey(auth.storedKey);
    if (!first.ok || !second.ok) throw new Error('import failed');
    expect(second.key).toBe(first.key);
    expect(exportCoseKey(first.key)).toBe(auth.storedKey);
  });

  it.each([
    ['not base64url', 'pQECAyYg+AE/'],
    ['padded', `${b64(new SoftAuthenticator('EdDSA').cose)}=`],
    ['empty', ''],
    ['far too long', 'A'.repeat(100_000)],
    ['base64url of a non-key', b64(encodeCbor([1]))],
  ])('refuses a stored form %s, and caches no failure', (_name, stored) => {
    expect(importStoredCoseKey(stored).ok).toBe(false);
    expect(importStoredCoseKey(stored).ok).toBe(false);
  });

  it(`keeps at most ${STORED_KEY_CACHE_SIZE} keys, dropping the least recently used`, () => {
    const stored = Array.from({ length: STORED_KEY_CACHE_SIZE + 1 }, () =>
      b64(cose(OKP, [[-2, jwkBytes(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x)]])),
    );
    const imported = stored.map((text) => importStoredCoseKey(text));
    const again = (index: number) => {
      const before = imported[index]!;
      const after = importStoredCoseKey(stored[index]!);
      return before.ok && after.ok && before.key === after.key;
    };
    expect(again(0)).toBe(false);
    expect(again(STORED_KEY_CACHE_SIZE)).toBe(true);
  });
});
