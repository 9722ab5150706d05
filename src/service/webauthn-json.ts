/**
 * The WebAuthn JSON shapes twofold hands to and takes from the browser
 * (WebAuthn Level 3 `toJSON()` / `parse*OptionsFromJSON` forms, the same as
 * `@simplewebauthn/browser` uses). Declared here so the main entry's types
 * never reference the optional `@simplewebauthn/server` peer. Every binary
 * value is a base64url string.
 */

/** How the browser can reach an authenticator: USB, NFC, Bluetooth, the platform itself, or a phone (`hybrid`). */
export type AuthenticatorTransport = 'ble' | 'cable' | 'hybrid' | 'internal' | 'nfc' | 'smart-card' | 'usb';
/** Whether the authenticator must verify the user (PIN, biometrics): WebAuthn's `userVerification`. */
export type UserVerificationRequirement = 'discouraged' | 'preferred' | 'required';
/** Which kind of authenticator the browser should offer first (WebAuthn Level 3 `hints`). */
export type PublicKeyCredentialHint = 'hybrid' | 'security-key' | 'client-device';


/** A credential named in the options: one to exclude, or one allowed to answer. */
export interface PublicKeyCredentialDescriptorJSON {
  /** Credential id, base64url. */
  id: string;
  /** Always `'public-key'`. */
  type: 'public-key';
  /** Transports to try, as reported at registration. */
  transports?: AuthenticatorTransport[];
}

/** What `navigator.credentials.create()` needs, as JSON. */
export interface PublicKeyCredentialCreationOptionsJSON {
  /** The relying party: your site's name and RP ID. */
  rp: { name: string; id?: string };
  /** The user: a random handle (base64url, never the user id), a name and a display name. */
  user: { id: string; name: string; displayName: string };
  /** base64url challenge the response must sign. */
  challenge: string;
  /** COSE algorithms accepted, in order of preference. */
  pubKeyCredParams: Array<{ alg: number; type: 'public-key' }>;
  /** How long the browser waits for the user, in ms. */
  timeout?: number;
  /** Keys the user already holds, so the same key is not registered twice. */
  excludeCredentials?: PublicKeyCredentialDescriptorJSON[];
  /** Which authenticators may answer, and whether they must verify the user or keep a resident key. */
  authenticatorSelection?: {
    /** Only a platform authenticator (the device itself) or only a roaming one (a key, a phone); absent: either. */
    authenticatorAttachment?: 'platform' | 'cross-platform';
    /** Level 1 form of `residentKey: 'required'`. */
    requireResidentKey?: boolean;
    /** Whether the credential should be discoverable (a passkey). */
    residentKey?: 'discouraged' | 'preferred' | 'required';
    /** Whether the authenticator must verify the user. */
    userVerification?: UserVerificationRequirement;
  };
  /** Which kind of authenticator to offer first. */
  hints?: PublicKeyCredentialHint[];
  /** Attestation asked for; twofold asks for `'none'`. */
  attestation?: 'none' | 'indirect' | 'direct' | 'enterprise';
  /** WebAuthn extensions, passed through. */
  extensions?: Record<string, unknown>;
}

/** What `navigator.credentials.get()` needs, as JSON. */
export interface PublicKeyCredentialRequestOptionsJSON {
  /** base64url challenge the assertion must sign. */
  challenge: string;
  /** How long the browser waits for the user, in ms. */
  timeout?: number;
  /** The RP ID the credentials are scoped to. */
  rpId?: string;
  /** The user's keys: only these may answer. */
  allowCredentials?: PublicKeyCredentialDescriptorJSON[];
  /** Whether the authenticator must verify the user. */
  userVerification?: UserVerificationRequirement;
  /** Which kind of authenticator to offer first. */
  hints?: PublicKeyCredentialHint[];
  /** WebAuthn extensions, passed through. */
  extensions?: Record<string, unknown>;
}

/** The result of `navigator.credentials.create()`, as JSON. */
export interface RegistrationResponseJSON {
  /** Credential id, base64url. */
  id: string;
  /** The same id, base64url (must equal `id`). */
  rawId: string;
  /** Always `'public-key'`. */
  type: 'public-key';
  /** The authenticator's answer, every binary field base64url. */
  response: {
    /** The client data the browser built (type, challenge, origin). */
    clientDataJSON: string;
    /** CBOR attestation object holding the authenticator data and the new public key. */
    attestationObject: string;
    /** The authenticator data alone, when the browser provides it. */
    authenticatorData?: string;
    /** As the browser reports them; unknown values are dropped when stored. */
    transports?: string[];
    /** COSE algorithm of the new key, when the browser provides it. */
    publicKeyAlgorithm?: number;
    /** The new public key as SPKI, when the browser provides it. */
    publicKey?: string;
  };
  /** Whether a platform or a roaming authenticator answered. */
  authenticatorAttachment?: 'platform' | 'cross-platform';
  /** Results of WebAuthn extensions. */
  clientExtensionResults: object;
}

/** The result of `navigator.credentials.get()`, as JSON. */
export interface AuthenticationResponseJSON {
  /** Credential id, base64url. */
  id: string;
  /** The same id, base64url (must equal `id`). */
  rawId: string;
  /** Always `'public-key'`. */
  type: 'public-key';
  /** The authenticator's answer, every binary field base64url. */
  response: {
    /** The client data the browser built (type, challenge, origin). */
    clientDataJSON: string;
    /** RP ID hash, flags and signature counter. */
    authenticatorData: string;
    /** Signature over authenticatorData and the SHA-256 of clientDataJSON. */
    signature: string;
    /** The user handle the credential was registered with, if it returns one. */
    userHandle?: string;
  };
  /** Whether a platform or a roaming authenticator answered. */
  authenticatorAttachment?: 'platform' | 'cross-platform';
  /** Results of WebAuthn extensions. */
  clientExtensionResults: object;
}
