import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isMfaError } from '../../src/errors.ts';
import { deriveWebAuthnChallenge } from '../../src/webauthn/challenge.ts';

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i);

describe('deriveWebAuthnChallenge', () => {
  it("is base64url of HMAC-SHA256(key, 'webauthn-challenge:' + id)", () => {
    const expected = createHmac('sha256', KEY).update('webauthn-challenge:ch_123').digest('base64url');
    expect(deriveWebAuthnChallenge(KEY, 'ch_123')).toBe(expected);
    expect(deriveWebAuthnChallenge(KEY, 'ch_123')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('is stable for one id and differs across ids and keys', () => {
    const other = Uint8Array.from(randomBytes(32));
    expect(deriveWebAuthnChallenge(KEY, 'a')).toBe(deriveWebAuthnChallenge(Uint8Array.from(KEY), 'a'));
    expect(deriveWebAuthnChallenge(KEY, 'a')).not.toBe(deriveWebAuthnChallenge(KEY, 'b'));
    expect(deriveWebAuthnChallenge(KEY, 'a')).not.toBe(deriveWebAuthnChallenge(other, 'a'));
  });

  it('is not the bare HMAC of the id (domain separation from other MACs under the same key)', () => {
    expect(deriveWebAuthnChallenge(KEY, 'x')).not.toBe(createHmac('sha256', KEY).update('x').digest('base64url'));
  });

  it.each<[string, unknown, unknown]>([
    ['a 31-byte key', new Uint8Array(31), 'id'],
    ['a key as text', 'k'.repeat(64), 'id'],
    ['an empty id', KEY, ''],
    ['an id not a string', KEY, 42],
  ])('throws MfaError invalid_argument on %s', (_name, key, id) => {
    let error: unknown;
    try {
      deriveWebAuthnChallenge(key as Uint8Array, id as string);
    } catch (e) {
      error = e;
    }
    expect(isMfaError(error, 'invalid_argument')).toBe(true);
  });
});
