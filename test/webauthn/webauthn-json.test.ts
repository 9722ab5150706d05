import type {
  AuthenticationResponseJSON as SimpleAuthenticationResponseJSON,
  RegistrationResponseJSON as SimpleRegistrationResponseJSON,
} from '@simplewebauthn/server';
import { describe, expect, it } from 'vitest';
import {
  knownTransports,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from '../../src/webauthn/webauthn-json.ts';
import { SoftAuthenticator } from './soft-authenticator.ts';

describe('WebAuthn JSON types', () => {
  it('accept what @simplewebauthn/browser sends, and the reverse (checked by tsc)', () => {
    const auth = new SoftAuthenticator('EdDSA');
    const knobs = { challenge: 'AAAA', origin: 'https://example.com', rpId: 'example.com' };
    const assertion: AuthenticationResponseJSON = auth.assert(knobs) satisfies SimpleAuthenticationResponseJSON;
    const fromSimple: AuthenticationResponseJSON = assertion as SimpleAuthenticationResponseJSON;
    const registration: RegistrationResponseJSON = auth.register(knobs) satisfies SimpleRegistrationResponseJSON;
    const fromSimpleRegistration: RegistrationResponseJSON = registration as SimpleRegistrationResponseJSON;
    expect(fromSimple.type).toBe('public-key');
    expect(fromSimpleRegistration.type).toBe('public-key');
  });
});

describe('knownTransports', () => {
  it.each<[unknown, string[]]>([
    [['usb', 'nfc'], ['nfc', 'usb']],
    [['hybrid', 'hybrid', 'cable'], ['cable', 'hybrid']],
    [['warp-drive', 42, null], []],
    ['usb', []],
    [undefined, []],
  ])('keeps the known transports of %j, once each', (values, expected) => {
    expect(knownTransports(values)).toEqual(expected);
  });
});
