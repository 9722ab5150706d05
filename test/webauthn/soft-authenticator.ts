/**
 * A software WebAuthn authenticator and client for tests: real keys
 * (node:crypto), real encodings, and a knob for every field so a test can
 * produce exactly the malformed or hostile response it needs.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '../../src/webauthn/webauthn-json.ts';
import { encodeCbor, type Encodable } from './cbor-encoder.ts';

export type SoftAlgorithm = 'ES256' | 'EdDSA' | 'RS256';
export const SOFT_ALGORITHMS: readonly SoftAlgorithm[] = ['ES256', 'EdDSA', 'RS256'];

export const FLAG = { UP: 0x01, RFU1: 0x02, UV: 0x04, BE: 0x08, BS: 0x10, RFU2: 0x20, AT: 0x40, ED: 0x80 } as const;

/** Members of clientDataJSON; `undefined` removes a default member. */
export type ClientDataMembers = Record<string, unknown>;

interface CeremonyKnobs {
  challenge: string;
  origin: string;
  rpId: string;
  /** Default UP | UV. */
  flags?: number;
  counter?: number;
  /** Merged over `{ type, challenge, origin, crossOrigin: false }`. */
  clientData?: ClientDataMembers;
  /** Replaces the whole clientDataJSON text (after `clientData`). */
  clientDataText?: (json: string) => string;
  /** Replaces the clientDataJSON bytes (after `clientDataText`). */
  clientDataBytes?: (bytes: Uint8Array) => Uint8Array;
  /** Authenticator extension outputs: sets ED and appends the map. */
  extensions?: Encodable;
  /** Edits the authenticator data before it is signed. */
  authData?: (bytes: Uint8Array) => Uint8Array;
}

export interface AssertKnobs extends CeremonyKnobs {
  /** Default none; `null` sends `userHandle: null`. */
  userHandle?: string | null;
  /** Sets AT and inserts attested credential data, which assertions must not carry. */
  attestedData?: boolean;
  /** Signs with another key (of this algorithm unless given). */
  signer?: SoftAuthenticator;
  /** Edits the signed message before signing (the signature then covers something else). */
  signedData?: (bytes: Uint8Array) => Uint8Array;
  /** Edits the signature after signing. */
  signature?: (bytes: Uint8Array) => Uint8Array;
}

export interface RegisterKnobs extends CeremonyKnobs {
  /** Default 16 zero bytes (attestation `none`). */
  aaguid?: Uint8Array;
  transports?: unknown;
  /** Overrides the COSE key bytes put in the attested credential data. */
  cose?: Uint8Array;
  /** Overrides the credential id in the authenticator data (the JSON keeps the real one). */
  attestedCredentialId?: Uint8Array;
  fmt?: string;
  attStmt?: Encodable;
}

export class SoftAuthenticator {
  readonly alg: SoftAlgorithm;
  readonly coseAlg: -7 | -8 | -257;
  readonly credentialId: Uint8Array;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The COSE_Key of the public key. */
  readonly cose: Uint8Array;

  constructor(alg: SoftAlgorithm, options: { credentialIdBytes?: number; rsaBits?: number } = {}) {
    this.alg = alg;
    this.credentialId = Uint8Array.from(randomBytes(options.credentialIdBytes ?? 32));
    const pair =
      alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : alg === 'EdDSA'
          ? generateKeyPairSync('ed25519')
          : generateKeyPairSync('rsa', { modulusLength: options.rsaBits ?? 2048 });
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey;
    this.coseAlg = alg === 'ES256' ? -7 : alg === 'EdDSA' ? -8 : -257;
    this.cose = encodeCbor(coseMapOf(this.publicKey, this.coseAlg));
  }

  get id(): string {
    return b64(this.credentialId);
  }

  /** The stored form `verifyAssertion` takes. */
  get storedKey(): string {
    return b64(this.cose);
  }

  signRaw(data: Uint8Array): Uint8Array {
    if (this.alg === 'ES256') return sign('sha256', data, { key: this.privateKey, dsaEncoding: 'der' });
    if (this.alg === 'EdDSA') return sign(null, data, this.privateKey);
    return sign('sha256', data, this.privateKey);
  }

  assert(knobs: AssertKnobs): AuthenticationResponseJSON {
    const clientDataJSON = clientDataOf('webauthn.get', knobs);
    let flags = knobs.flags ?? FLAG.UP | FLAG.UV;
    let attested: Uint8Array = new Uint8Array(0);
    if (knobs.attestedData) {
      flags |= FLAG.AT;
      attested = attestedCredentialData(new Uint8Array(16), this.credentialId, this.cose);
    }
    const authData = authenticatorData(knobs, flags, attested);
    const signedData = concat(authData, sha256(clientDataJSON));
    const signer = knobs.signer ?? this;
    let signature = signer.signRaw(knobs.signedData ? knobs.signedData(signedData) : signedData);
    if (knobs.signature) signature = knobs.signature(signature);
    const response: AuthenticationResponseJSON = {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: { clientDataJSON: b64(clientDataJSON), authenticatorData: b64(authData), signature: b64(signature) },
      authenticatorAttachment: 'cross-platform',
      clientExtensionResults: {},
    };
    if (knobs.userHandle !== undefined) {
      (response.response as Record<string, unknown>).userHandle = knobs.userHandle;
    }
    return response;
  }

  register(knobs: RegisterKnobs): RegistrationResponseJSON {
    const clientDataJSON = clientDataOf('webauthn.create', knobs);
    const attested = attestedCredentialData(
      knobs.aaguid ?? new Uint8Array(16),
      knobs.attestedCredentialId ?? this.credentialId,
      knobs.cose ?? this.cose,
    );
    const authData = authenticatorData(knobs, (knobs.flags ?? FLAG.UP | FLAG.UV) | FLAG.AT, attested);
    const attestationObject = encodeCbor(
      new Map<string, Encodable>([
        ['fmt', knobs.fmt ?? 'none'],
        ['attStmt', knobs.attStmt ?? new Map()],
        ['authData', authData],
      ]),
    );
    const response: RegistrationResponseJSON = {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64(clientDataJSON),
        attestationObject: b64(attestationObject),
        transports: ['usb', 'nfc'],
      },
      clientExtensionResults: {},
    };
    if ('transports' in knobs) (response.response as Record<string, unknown>).transports = knobs.transports;
    return response;
  }
}

function coseMapOf(publicKey: KeyObject, alg: -7 | -8 | -257): Map<number, Encodable> {
  const jwk = publicKey.export({ format: 'jwk' });
  const bytes = (field: string | undefined) => Uint8Array.from(Buffer.from(field!, 'base64url'));
  if (alg === -7) {
    return new Map<number, Encodable>([[1, 2], [3, -7], [-1, 1], [-2, bytes(jwk.x)], [-3, bytes(jwk.y)]]);
  }
  if (alg === -8) return new Map<number, Encodable>([[1, 1], [3, -8], [-1, 6], [-2, bytes(jwk.x)]]);
  return new Map<number, Encodable>([[1, 3], [3, -257], [-1, bytes(jwk.n)], [-2, bytes(jwk.e)]]);
}

function clientDataOf(type: string, knobs: CeremonyKnobs): Uint8Array {
  const members: ClientDataMembers = { type, challenge: knobs.challenge, origin: knobs.origin, crossOrigin: false };
  for (const [key, value] of Object.entries(knobs.clientData ?? {})) {
    if (value === undefined) delete members[key];
    else members[key] = value;
  }
  let text = JSON.stringify(members);
  if (knobs.clientDataText) text = knobs.clientDataText(text);
  const bytes = new TextEncoder().encode(text);
  return knobs.clientDataBytes ? knobs.clientDataBytes(bytes) : bytes;
}

function authenticatorData(knobs: CeremonyKnobs, baseFlags: number, attested: Uint8Array): Uint8Array {
  const flags = knobs.extensions === undefined ? baseFlags : baseFlags | FLAG.ED;
  const counter = Buffer.alloc(4);
  counter.writeUInt32BE(knobs.counter ?? 1);
  const extensions = knobs.extensions === undefined ? new Uint8Array(0) : encodeCbor(knobs.extensions);
  const bytes = concat(sha256(new TextEncoder().encode(knobs.rpId)), Uint8Array.of(flags), counter, attested, extensions);
  return knobs.authData ? knobs.authData(bytes) : bytes;
}

export function attestedCredentialData(aaguid: Uint8Array, credentialId: Uint8Array, cose: Uint8Array): Uint8Array {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(credentialId.length);
  return concat(aaguid, length, credentialId, cose);
}

export function sha256(bytes: Uint8Array): Uint8Array {
  return Uint8Array.from(createHash('sha256').update(bytes).digest());
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

export function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** base64url `text` with the byte at `index` (negative: from the end) XORed with `mask`. */
export function flipByte(text: string, index: number, mask = 0x01): string {
  const bytes = Buffer.from(text, 'base64url');
  const at = index < 0 ? bytes.length + index : index;
  bytes[at] = bytes[at]! ^ mask;
  return bytes.toString('base64url');
}

/** The order of the P-256 group. */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** r and s of a DER ECDSA signature (SEQUENCE { INTEGER r, INTEGER s }, short lengths). */
export function derToIntegers(der: Uint8Array): { r: bigint; s: bigint } {
  const rLength = der[3]!;
  const r = der.subarray(4, 4 + rLength);
  const s = der.subarray(6 + rLength, 6 + rLength + der[5 + rLength]!);
  return { r: BigInt(`0x${Buffer.from(r).toString('hex')}`), s: BigInt(`0x${Buffer.from(s).toString('hex')}`) };
}

/** DER of (r, s); `extraZeros` adds that many non-canonical leading zero bytes to r. */
export function integersToDer(r: bigint, s: bigint, extraZeros = 0): Uint8Array {
  const integer = (value: bigint, zeros: number) => {
    let hex = value.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    let bytes = Buffer.from(hex, 'hex');
    if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.of(0), bytes]);
    bytes = Buffer.concat([Buffer.alloc(zeros), bytes]);
    return Buffer.concat([Buffer.of(0x02, bytes.length), bytes]);
  };
  const body = Buffer.concat([integer(r, extraZeros), integer(s, 0)]);
  return Uint8Array.from(Buffer.concat([Buffer.of(0x30, body.length), body]));
}

/** The other valid ECDSA signature of the same message: (r, n − s). */
export function malleateEcdsa(der: Uint8Array): Uint8Array {
  const { r, s } = derToIntegers(der);
  return integersToDer(r, P256_N - s);
}

/** The IEEE P1363 form r ‖ s (32 bytes each) that WebAuthn does not use. */
export function derToRaw(der: Uint8Array): Uint8Array {
  const { r, s } = derToIntegers(der);
  return Uint8Array.from(Buffer.from(r.toString(16).padStart(64, '0') + s.toString(16).padStart(64, '0'), 'hex'));
}
