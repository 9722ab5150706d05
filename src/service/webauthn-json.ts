/**
 * The WebAuthn JSON shapes twofold hands to and takes from the browser
 * (WebAuthn Level 3 `toJSON()` / `parse*OptionsFromJSON` forms, the same as
 * `@simplewebauthn/browser` uses). Declared here so the main entry's types
 * never reference the optional `@simplewebauthn/server` peer. Every binary
 * value is a base64url string.
 */

export type AuthenticatorTransport = 'ble' | 'cable' | 'hybrid' | 'internal' | 'nfc' | 'smart-card' | 'usb';
export type UserVerificationRequirement = 'discouraged' | 'preferred' | 'required';
export type PublicKeyCredentialHint = 'hybrid' | 'security-key' | 'client-device';


export interface PublicKeyCredentialDescriptorJSON {
  id: string;
  type: 'public-key';
  transports?: AuthenticatorTransport[];
}

/** What `navigator.credentials.create()` needs, as JSON. */
export interface PublicKeyCredentialCreationOptionsJSON {
  rp: { name: string; id?: string };
  user: { id: string; name: string; displayName: string };
  challenge: string;
  pubKeyCredParams: Array<{ alg: number; type: 'public-key' }>;
  timeout?: number;
  excludeCredentials?: PublicKeyCredentialDescriptorJSON[];
  authenticatorSelection?: {
    authenticatorAttachment?: 'platform' | 'cross-platform';
    requireResidentKey?: boolean;
    residentKey?: 'discouraged' | 'preferred' | 'required';
    userVerification?: UserVerificationRequirement;
  };
  hints?: PublicKeyCredentialHint[];
  attestation?: 'none' | 'indirect' | 'direct' | 'enterprise';
  extensions?: Record<string, unknown>;
}

/** What `navigator.credentials.get()` needs, as JSON. */
export interface PublicKeyCredentialRequestOptionsJSON {
  challenge: string;
  timeout?: number;
  rpId?: string;
  allowCredentials?: PublicKeyCredentialDescriptorJSON[];
  userVerification?: UserVerificationRequirement;
  hints?: PublicKeyCredentialHint[];
  extensions?: Record<string, unknown>;
}

/** The result of `navigator.credentials.create()`, as JSON. */
export interface RegistrationResponseJSON {
  id: string;
  rawId: string;
  type: 'public-key';
  response: {
    clientDataJSON: string;
    attestationObject: string;
    authenticatorData?: string;
    /** As the browser reports them; unknown values are dropped when stored. */
    transports?: string[];
    publicKeyAlgorithm?: number;
    publicKey?: string;
  };
  authenticatorAttachment?: 'platform' | 'cross-platform';
  clientExtensionResults: object;
}

/** The result of `navigator.credentials.get()`, as JSON. */
export interface AuthenticationResponseJSON {
  id: string;
  rawId: string;
  type: 'public-key';
  response: {
    clientDataJSON: string;
    authenticatorData: string;
    signature: string;
    userHandle?: string;
  };
  authenticatorAttachment?: 'platform' | 'cross-platform';
  clientExtensionResults: object;
}
