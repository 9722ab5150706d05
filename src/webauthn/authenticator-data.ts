import { CborError, decodeCborPrefix, type CborMap } from './cbor.ts';

/** The flags byte of authenticator data (WebAuthn §6.1), bit by bit. */
export interface AuthenticatorFlags {
  /** UP: a person touched the authenticator. */
  userPresent: boolean;
  /** UV: the authenticator verified who that person is (PIN, biometric). */
  userVerified: boolean;
  /** BE: the credential may be synced to other devices (a passkey). */
  backupEligible: boolean;
  /** BS: the credential is currently backed up. */
  backedUp: boolean;
  /** AT: attested credential data follows the counter. */
  attestedCredentialData: boolean;
  /** ED: an extension output map ends the data. */
  extensionData: boolean;
}

/** Attested credential data: present at registration only. */
export interface AttestedCredential {
  /** 16 bytes naming the authenticator model (all zero under attestation `none`). */
  aaguid: Uint8Array;
  /** 1..1023 bytes. */
  credentialId: Uint8Array;
  /** The credential public key as COSE_Key bytes (a CBOR map; import with `importCoseKey`). */
  publicKey: Uint8Array;
}

export interface AuthenticatorData {
  /** SHA-256 of the RP ID the authenticator scoped the credential to. */
  rpIdHash: Uint8Array;
  flags: AuthenticatorFlags;
  /** The signature counter, an unsigned 32-bit integer (0 when the authenticator keeps none). */
  signCount: number;
  attestedCredential: AttestedCredential | null;
  /** Authenticator extension outputs, keyed by extension identifier. */
  extensions: CborMap | null;
}

/** Why authenticator data was refused. */
export type AuthenticatorDataFailure =
  /** Shorter than 37 bytes or longer than {@link MAX_AUTHENTICATOR_DATA_BYTES}. */
  | 'bad_length'
  /** BS set without BE: a credential that cannot be backed up claims to be. */
  | 'invalid_backup_flags'
  /** AT set but the attested credential data is cut short, empty, over 1023 bytes or its key is not a CBOR map. */
  | 'malformed_attested_credential'
  /** ED set but no CBOR map with text keys follows. */
  | 'malformed_extensions'
  /** Bytes left after everything the flags announce. */
  | 'trailing_bytes';

export type AuthenticatorDataResult =
  | { ok: true; authenticatorData: AuthenticatorData }
  | { ok: false; reason: AuthenticatorDataFailure };

/** Far above a registration with a 1023-byte id, an RSA-4096 key and extensions. */
export const MAX_AUTHENTICATOR_DATA_BYTES = 4096;
/** WebAuthn §7.1: a credential id longer than this is refused. */
export const MAX_CREDENTIAL_ID_BYTES = 1023;
const FIXED_BYTES = 37;
const AAGUID_BYTES = 16;

const UP = 0x01;
const UV = 0x04;
const BE = 0x08;
const BS = 0x10;
const AT = 0x40;
const ED = 0x80;

/**
 * Parses authenticator data (WebAuthn §6.1) strictly: every byte must be
 * accounted for by the flags, so what the signature covers is exactly what
 * was read. Reserved flag bits are ignored, as the specification requires.
 * Never throws.
 */
export function parseAuthenticatorData(bytes: Uint8Array): AuthenticatorDataResult {
  if (!(bytes instanceof Uint8Array) || bytes.length < FIXED_BYTES || bytes.length > MAX_AUTHENTICATOR_DATA_BYTES) {
    return { ok: false, reason: 'bad_length' };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const flagsByte = bytes[32]!;
  const flags: AuthenticatorFlags = {
    userPresent: (flagsByte & UP) !== 0,
    userVerified: (flagsByte & UV) !== 0,
    backupEligible: (flagsByte & BE) !== 0,
    backedUp: (flagsByte & BS) !== 0,
    attestedCredentialData: (flagsByte & AT) !== 0,
    extensionData: (flagsByte & ED) !== 0,
  };
  if (flags.backedUp && !flags.backupEligible) return { ok: false, reason: 'invalid_backup_flags' };
  const signCount = view.getUint32(33, false);
  let pos = FIXED_BYTES;

  let attestedCredential: AttestedCredential | null = null;
  if (flags.attestedCredentialData) {
    const parsed = parseAttestedCredential(bytes, view, pos);
    if (parsed === null) return { ok: false, reason: 'malformed_attested_credential' };
    attestedCredential = parsed.credential;
    pos = parsed.end;
  }

  let extensions: CborMap | null = null;
  if (flags.extensionData) {
    const parsed = readCborMap(bytes, pos);
    if (parsed === null || [...parsed.map.keys()].some((key) => typeof key !== 'string')) {
      return { ok: false, reason: 'malformed_extensions' };
    }
    extensions = parsed.map;
    pos = parsed.end;
  }

  if (pos !== bytes.length) return { ok: false, reason: 'trailing_bytes' };
  return {
    ok: true,
    authenticatorData: { rpIdHash: copy(bytes, 0, 32), flags, signCount, attestedCredential, extensions },
  };
}

function parseAttestedCredential(
  bytes: Uint8Array,
  view: DataView,
  start: number,
): { credential: AttestedCredential; end: number } | null {
  let pos = start;
  if (bytes.length - pos < AAGUID_BYTES + 2) return null;
  const aaguid = copy(bytes, pos, pos + AAGUID_BYTES);
  pos += AAGUID_BYTES;
  const idLength = view.getUint16(pos, false);
  pos += 2;
  if (idLength === 0 || idLength > MAX_CREDENTIAL_ID_BYTES || bytes.length - pos < idLength) return null;
  const credentialId = copy(bytes, pos, pos + idLength);
  pos += idLength;
  const key = readCborMap(bytes, pos);
  if (key === null) return null;
  return { credential: { aaguid, credentialId, publicKey: copy(bytes, pos, key.end) }, end: key.end };
}

function readCborMap(bytes: Uint8Array, pos: number): { map: CborMap; end: number } | null {
  try {
    const { value, end } = decodeCborPrefix(bytes, pos);
    return value instanceof Map ? { map: value, end } : null;
  } catch (error) {
    if (error instanceof CborError) return null;
    throw error;
  }
}

/** A copy, never a view (a Buffer's `slice` is one): parsed fields must not alias the input. */
function copy(bytes: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(bytes.subarray(start, end));
}
