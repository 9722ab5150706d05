import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkClientData, clientDataChallenge, MAX_CLIENT_DATA_BYTES } from '../../src/webauthn/client-data.ts';
import { b64 } from './soft-authenticator.ts';

const CHALLENGE = randomBytes(32).toString('base64url');
const expected = { type: 'webauthn.get', challenges: [CHALLENGE], origins: ['https://example.com'] } as const;
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const valid = { type: 'webauthn.get', challenge: CHALLENGE, origin: 'https://example.com', crossOrigin: false };

describe('checkClientData', () => {
  it('accepts the expected type, challenge and origin', () => {
    expect(checkClientData(json(valid), expected)).toEqual({ ok: true });
  });

  it(`refuses more than ${MAX_CLIENT_DATA_BYTES} bytes before parsing`, () => {
    const padded = json({ ...valid, pad: 'x'.repeat(MAX_CLIENT_DATA_BYTES) });
    expect(checkClientData(padded, expected)).toEqual({ ok: false, reason: 'malformed_client_data' });
  });

  it('checks the type before the challenge, so a registration replayed as a login says so', () => {
    expect(checkClientData(json({ ...valid, type: 'webauthn.create', challenge: 'x' }), expected)).toEqual({
      ok: false,
      reason: 'wrong_type',
    });
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(checkClientData(bytes, expected).ok).toBe(false);
      }),
    );
  });

  it('never throws on random JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(checkClientData(json(value), expected).ok).toBe(false);
      }),
    );
  });
});

describe('clientDataChallenge', () => {
  it('reads the challenge of a response, unverified', () => {
    expect(clientDataChallenge({ response: { clientDataJSON: b64(json(valid)) } })).toBe(CHALLENGE);
  });

  it.each<[string, unknown]>([
    ['undefined', undefined],
    ['no response', {}],
    ['clientDataJSON not base64url', { response: { clientDataJSON: '{}' } }],
    ['clientDataJSON not JSON', { response: { clientDataJSON: b64(new TextEncoder().encode('{')) } }],
    ['clientDataJSON null', { response: { clientDataJSON: b64(json(null)) } }],
    ['a numeric challenge', { response: { clientDataJSON: b64(json({ challenge: 1 })) } }],
    ['clientDataJSON over 4 KB', { response: { clientDataJSON: b64(json({ ...valid, pad: 'x'.repeat(5000) })) } }],
  ])('is null for %s', (_name, response) => {
    expect(clientDataChallenge(response)).toBeNull();
  });

  it('never throws', () => {
    fc.assert(
      fc.property(fc.anything(), fc.jsonValue(), (value, clientData) => {
        clientDataChallenge(value);
        clientDataChallenge({ response: { clientDataJSON: b64(json(clientData)) } });
      }),
    );
  });
});
