import { randomBytes } from 'node:crypto';
import type {
  PublicKeyCredentialCreationOptionsJSON as SimpleCreationOptions,
  PublicKeyCredentialRequestOptionsJSON as SimpleRequestOptions,
} from '@simplewebauthn/server';
import { describe, expect, it } from 'vitest';
import { isMfaError } from '../../src/errors.ts';
import {
  buildCreationOptions,
  buildRequestOptions,
  type CreationOptionsInput,
  type RequestOptionsInput,
} from '../../src/webauthn/options.ts';

const CHALLENGE = randomBytes(32).toString('base64url');
const HANDLE = Uint8Array.from(randomBytes(32));
const KEY_A = randomBytes(32).toString('base64url');
const KEY_B = randomBytes(64).toString('base64url');

const creation: CreationOptionsInput = {
  rpId: 'example.com',
  rpName: 'Example App',
  userHandle: HANDLE,
  userName: 'ada@example.com',
  displayName: 'Ada Lovelace',
  challenge: CHALLENGE,
  timeoutMs: 300_000,
  excludeCredentials: [{ id: KEY_A, transports: ['usb', 'nfc', 'warp-drive'] }, { id: KEY_B }],
  userVerification: 'preferred',
};

const request: RequestOptionsInput = {
  rpId: 'example.com',
  challenge: CHALLENGE,
  timeoutMs: 120_000,
  allowCredentials: [{ id: KEY_A, transports: ['internal', 'hybrid'] }, { id: KEY_B, transports: [] }],
  userVerification: 'required',
};

function expectMisuse(fn: () => unknown): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(isMfaError(error, 'invalid_argument'), String(error)).toBe(true);
}

describe('buildCreationOptions', () => {
  it('builds PublicKeyCredentialCreationOptionsJSON', () => {
    const options = buildCreationOptions(creation);
    expect(options).toEqual({
      rp: { id: 'example.com', name: 'Example App' },
      user: { id: Buffer.from(HANDLE).toString('base64url'), name: 'ada@example.com', displayName: 'Ada Lovelace' },
      challenge: CHALLENGE,
      pubKeyCredParams: [
        { type: 'public-key', alg: -8 },
        { type: 'public-key', alg: -7 },
        { type: 'public-key', alg: -257 },
      ],
      timeout: 300_000,
      excludeCredentials: [
        { id: KEY_A, type: 'public-key', transports: ['nfc', 'usb'] },
        { id: KEY_B, type: 'public-key' },
      ],
      authenticatorSelection: { residentKey: 'preferred', requireResidentKey: false, userVerification: 'preferred' },
      attestation: 'none',
    });
    // The shape @simplewebauthn/browser's startRegistration() takes.
    const simple: SimpleCreationOptions = options;
    expect(JSON.parse(JSON.stringify(simple))).toEqual(options);
  });

  it('takes the user handle as bytes or base64url', () => {
    const text = Buffer.from(HANDLE).toString('base64url');
    expect(buildCreationOptions({ ...creation, userHandle: text }).user.id).toBe(text);
  });

  it('defaults displayName to userName', () => {
    const { displayName: _, ...rest } = creation;
    expect(buildCreationOptions(rest).user.displayName).toBe('ada@example.com');
  });

  it.each<[string, Partial<Record<keyof CreationOptionsInput, unknown>>]>([
    ['an empty user handle', { userHandle: new Uint8Array(0) }],
    ['a 65-byte user handle', { userHandle: new Uint8Array(65) }],
    ['a user handle not base64url', { userHandle: 'ada!' }],
    ['a 65-byte user handle in base64url', { userHandle: Buffer.alloc(65).toString('base64url') }],
    ['a user handle as a number', { userHandle: 7 }],
    ['a 15-byte challenge', { challenge: randomBytes(15).toString('base64url') }],
    ['a challenge not base64url', { challenge: `${CHALLENGE}=` }],
    ['a zero timeout', { timeoutMs: 0 }],
    ['a fractional timeout', { timeoutMs: 1.5 }],
    ['an empty rpId', { rpId: '' }],
    ['an empty rpName', { rpName: '' }],
    ['an empty userName', { userName: '' }],
    ['a displayName not a string', { displayName: 7 }],
    ['an unknown userVerification', { userVerification: 'always' }],
    ['excludeCredentials not an array', { excludeCredentials: { id: KEY_A } }],
    ['an excluded id not base64url', { excludeCredentials: [{ id: 'a+b' }] }],
    ['an excluded credential null', { excludeCredentials: [null] }],
  ])('throws MfaError invalid_argument on %s', (_name, edit) => {
    expectMisuse(() => buildCreationOptions({ ...creation, ...edit } as CreationOptionsInput));
  });
});

describe('buildRequestOptions', () => {
  it('builds PublicKeyCredentialRequestOptionsJSON', () => {
    const options = buildRequestOptions(request);
    expect(options).toEqual({
      challenge: CHALLENGE,
      timeout: 120_000,
      rpId: 'example.com',
      allowCredentials: [
        { id: KEY_A, type: 'public-key', transports: ['hybrid', 'internal'] },
        { id: KEY_B, type: 'public-key' },
      ],
      userVerification: 'required',
    });
    // The shape @simplewebauthn/browser's startAuthentication() takes.
    const simple: SimpleRequestOptions = options;
    expect(simple.allowCredentials).toHaveLength(2);
  });

  it.each<[string, Partial<Record<keyof RequestOptionsInput, unknown>>]>([
    ['an empty rpId', { rpId: '' }],
    ['a short challenge', { challenge: 'AAAA' }],
    ['a negative timeout', { timeoutMs: -1 }],
    ['an unknown userVerification', { userVerification: undefined }],
    ['allowCredentials missing', { allowCredentials: undefined }],
    ['an empty allowed id', { allowCredentials: [{ id: '' }] }],
  ])('throws MfaError invalid_argument on %s', (_name, edit) => {
    expectMisuse(() => buildRequestOptions({ ...request, ...edit } as RequestOptionsInput));
  });
});
