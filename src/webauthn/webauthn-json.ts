/**
 * The JSON forms of WebAuthn Level 3 that twofold sends and receives (one
 * declaration, in the core: ../service/webauthn-json.ts; tests check they
 * are interchangeable with @simplewebauthn/server's types), and the known
 * transports.
 */
import type { AuthenticatorTransport } from '../service/webauthn-json.ts';

export type {
  AuthenticationResponseJSON,
  AuthenticatorTransport,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialDescriptorJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
  UserVerificationRequirement,
} from '../service/webauthn-json.ts';

export const AUTHENTICATOR_TRANSPORTS: readonly AuthenticatorTransport[] = [
  'ble',
  'cable',
  'hybrid',
  'internal',
  'nfc',
  'smart-card',
  'usb',
];

/** The known transports among `values`, once each; anything else (a future transport, junk) is dropped. */
export function knownTransports(values: unknown): AuthenticatorTransport[] {
  if (!Array.isArray(values)) return [];
  return AUTHENTICATOR_TRANSPORTS.filter((transport) => values.includes(transport));
}

