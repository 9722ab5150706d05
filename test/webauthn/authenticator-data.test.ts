import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_AUTHENTICATOR_DATA_BYTES,
  MAX_CREDENTIAL_ID_BYTES,
  parseAuthenticatorData,
  type AuthenticatorDataFailure,
} from '../../src/webauthn/authenticator-data.ts';
import { decodeCbor } from '../../src/webauthn/cbor.ts';
import { encodeCbor } from './cbor-encoder.ts';
import { attestedCredentialData, concat, FLAG, sha256, SoftAuthenticator } from './soft-authenticator.ts';

const RP_ID_HASH = sha256(new TextEncoder().encode('example.com'));
const AAGUID = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
const auth = new SoftAuthenticator('ES256');

/** rpIdHash ‖ flags ‖ counter ‖ rest. */
function authData(flags: number, counter = 0x0102_0304, ...rest: Uint8Array[]): Uint8Array {
  const count = Buffer.alloc(4);
  count.writeUInt32BE(counter);
  return concat(RP_ID_HASH, Uint8Array.of(flags), count, ...rest);
}

const attested = (id: Uint8Array = auth.credentialId, key: Uint8Array = auth.cose) => attestedCredentialData(AAGUID, id, key);

describe('parseAuthenticatorData', () => {
  it('parses the 37 fixed bytes: RP ID hash, flags, big-endian counter', () => {
    expect(parseAuthenticatorData(authData(FLAG.UP | FLAG.UV))).toEqual({
      ok: true,
      authenticatorData: {
        rpIdHash: RP_ID_HASH,
        flags: {
          userPresent: true,
          userVerified: true,
          backupEligible: false,
          backedUp: false,
          attestedCredentialData: false,
          extensionData: false,
        },
        signCount: 0x0102_0304,
        attestedCredential: null,
        extensions: null,
      },
    });
  });

  it.each([
    ['UP', FLAG.UP, 'userPresent'],
    ['UV', FLAG.UV, 'userVerified'],
    ['BE', FLAG.BE, 'backupEligible'],
    ['BS', FLAG.BE | FLAG.BS, 'backedUp'],
  ] as const)('reads flag %s', (_name, flags, field) => {
    const result = parseAuthenticatorData(authData(flags));
    if (!result.ok) throw new Error(result.reason);
    expect(result.authenticatorData.flags[field]).toBe(true);
  });

  it('ignores the reserved flag bits', () => {
    const result = parseAuthenticatorData(authData(FLAG.RFU1 | FLAG.RFU2));
    expect(result.ok && Object.values(result.authenticatorData.flags).every((flag) => !flag)).toBe(true);
  });

  it('reads a counter of 2^32-1', () => {
    const result = parseAuthenticatorData(authData(FLAG.UP, 0xffff_ffff));
    expect(result.ok && result.authenticatorData.signCount).toBe(0xffff_ffff);
  });

  it('parses attested credential data: AAGUID, credential id, COSE key bytes', () => {
    const result = parseAuthenticatorData(authData(FLAG.UP | FLAG.AT, 0, attested()));
    if (!result.ok) throw new Error(result.reason);
    expect(result.authenticatorData.attestedCredential).toEqual({
      aaguid: AAGUID,
      credentialId: auth.credentialId,
      publicKey: auth.cose,
    });
  });

  it('parses attested credential data followed by extensions', () => {
    const extensions = encodeCbor({ credProtect: 2, 'hmac-secret': true });
    const result = parseAuthenticatorData(authData(FLAG.UP | FLAG.AT | FLAG.ED, 0, attested(), extensions));
    if (!result.ok) throw new Error(result.reason);
    expect(result.authenticatorData.attestedCredential?.publicKey).toEqual(auth.cose);
    expect(result.authenticatorData.extensions).toEqual(decodeCbor(extensions));
  });

  it(`accepts a ${MAX_CREDENTIAL_ID_BYTES}-byte credential id`, () => {
    const id = randomBytes(MAX_CREDENTIAL_ID_BYTES);
    const result = parseAuthenticatorData(authData(FLAG.AT, 0, attested(id)));
    expect(result.ok && result.authenticatorData.attestedCredential?.credentialId).toEqual(Uint8Array.from(id));
  });

  it('returns fields that do not alias the input, also for a Buffer', () => {
    const input = Buffer.from(authData(FLAG.AT, 0, attested()));
    const result = parseAuthenticatorData(input);
    if (!result.ok) throw new Error(result.reason);
    input.fill(0);
    expect(result.authenticatorData.rpIdHash).toEqual(RP_ID_HASH);
    expect(result.authenticatorData.attestedCredential?.credentialId).toEqual(auth.credentialId);
    expect(Buffer.isBuffer(result.authenticatorData.rpIdHash)).toBe(false);
  });

  const idLength = (length: number) => Uint8Array.of(length >> 8, length & 0xff);
  it.each<[string, Uint8Array, AuthenticatorDataFailure]>([
    ['empty', new Uint8Array(0), 'bad_length'],
    ['36 bytes', authData(FLAG.UP).slice(0, 36), 'bad_length'],
    [`over ${MAX_AUTHENTICATOR_DATA_BYTES} bytes`, authData(FLAG.UP | FLAG.ED, 0, encodeCbor({ x: new Uint8Array(4100) })), 'bad_length'],
    ['BS without BE', authData(FLAG.UP | FLAG.BS), 'invalid_backup_flags'],
    ['a byte after the counter', authData(FLAG.UP, 1, Uint8Array.of(0)), 'trailing_bytes'],
    ['AT without attested data', authData(FLAG.UP | FLAG.AT), 'malformed_attested_credential'],
    ['AT cut inside the AAGUID', authData(FLAG.AT, 0, AAGUID.slice(0, 10)), 'malformed_attested_credential'],
    ['AT cut before the id length', authData(FLAG.AT, 0, AAGUID, Uint8Array.of(0)), 'malformed_attested_credential'],
    ['AT with an empty credential id', authData(FLAG.AT, 0, AAGUID, idLength(0), auth.cose), 'malformed_attested_credential'],
    [
      `AT with a ${MAX_CREDENTIAL_ID_BYTES + 1}-byte credential id`,
      authData(FLAG.AT, 0, AAGUID, idLength(MAX_CREDENTIAL_ID_BYTES + 1), randomBytes(MAX_CREDENTIAL_ID_BYTES + 1), auth.cose),
      'malformed_attested_credential',
    ],
    ['AT with an id longer than the data', authData(FLAG.AT, 0, AAGUID, idLength(40), randomBytes(20)), 'malformed_attested_credential'],
    ['AT without a key', authData(FLAG.AT, 0, AAGUID, idLength(4), randomBytes(4)), 'malformed_attested_credential'],
    ['AT with a key that is not CBOR', authData(FLAG.AT, 0, attested(auth.credentialId, Uint8Array.of(0xff))), 'malformed_attested_credential'],
    ['AT with a key that is a CBOR array', authData(FLAG.AT, 0, attested(auth.credentialId, encodeCbor([1, 2]))), 'malformed_attested_credential'],
    ['AT with a key cut short', authData(FLAG.AT, 0, attested(auth.credentialId, auth.cose.slice(0, -1))), 'malformed_attested_credential'],
    ['AT with a byte after the key', authData(FLAG.AT, 0, attested(), Uint8Array.of(0)), 'trailing_bytes'],
    ['ED without extensions', authData(FLAG.UP | FLAG.ED), 'malformed_extensions'],
    ['ED with an array', authData(FLAG.UP | FLAG.ED, 0, encodeCbor([1])), 'malformed_extensions'],
    ['ED with integer keys', authData(FLAG.UP | FLAG.ED, 0, encodeCbor(new Map([[1, 2]]))), 'malformed_extensions'],
    ['ED with indefinite-length CBOR', authData(FLAG.UP | FLAG.ED, 0, Uint8Array.of(0xbf, 0xff)), 'malformed_extensions'],
    ['ED with a byte after the map', authData(FLAG.UP | FLAG.ED, 0, encodeCbor({ a: 1 }), Uint8Array.of(0)), 'trailing_bytes'],
    ['extensions without ED', authData(FLAG.UP, 0, encodeCbor({ a: 1 })), 'trailing_bytes'],
    ['attested data without AT', authData(FLAG.UP, 0, attested()), 'trailing_bytes'],
  ])('refuses %s', (_name, bytes, reason) => {
    expect(parseAuthenticatorData(bytes)).toEqual({ ok: false, reason });
  });

  it('refuses what is not bytes', () => {
    expect(parseAuthenticatorData('AAAA' as unknown as Uint8Array)).toEqual({ ok: false, reason: 'bad_length' });
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(typeof parseAuthenticatorData(bytes).ok).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on random bytes after a header announcing attested data and extensions', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 300 }), (flags, rest) => {
        expect(typeof parseAuthenticatorData(authData(flags | FLAG.AT | FLAG.ED, 0, rest)).ok).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
  });
});
