/**
 * verifyAssertion, cross-checked against @simplewebauthn/server's
 * verifyAuthenticationResponse: every case runs through both with the same
 * inputs. Where the two decide differently, the case says so and why
 * (`simplewebauthn`); every such difference is twofold being stricter.
 */
import { randomBytes } from 'node:crypto';
import { verifyAuthenticationResponse } from '@simplewebauthn/server';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { isMfaError } from '../../src/errors.ts';
import {
  assertionCredentialId,
  verifyAssertion,
  type AssertionFailure,
  type VerifyAssertionInput,
} from '../../src/webauthn/assertion.ts';
import { importStoredCoseKey } from '../../src/webauthn/cose.ts';
import type { UserVerificationRequirement } from '../../src/webauthn/webauthn-json.ts';
import {
  b64,
  concat,
  derToIntegers,
  derToRaw,
  FLAG,
  flipByte,
  integersToDer,
  malleateEcdsa,
  SOFT_ALGORITHMS,
  SoftAuthenticator,
  type AssertKnobs,
  type SoftAlgorithm,
} from './soft-authenticator.ts';

const RP_ID = 'example.com';
const ORIGIN = 'https://example.com';
const ORIGINS = [ORIGIN, 'https://login.example.com'];
const CHALLENGE = randomBytes(32).toString('base64url');

type Decision = 'accept' | 'counter_regressed' | AssertionFailure;

interface Context {
  alg: SoftAlgorithm;
  /** The credential the server stored. */
  auth: SoftAuthenticator;
  /** Another credential of the same algorithm. */
  other: SoftAuthenticator;
  /** A credential of another algorithm. */
  foreign: SoftAuthenticator;
}

interface Case {
  name: string;
  /** Default: every algorithm. */
  algs?: readonly SoftAlgorithm[];
  /** Soft authenticator knobs over `{ challenge, origin, rpId, counter: 1 }`. */
  knobs?: Partial<AssertKnobs> | ((ctx: Context) => Partial<AssertKnobs>);
  /** Edits the response JSON after signing; may return a replacement. */
  mutate?: (response: any, ctx: Context) => unknown;
  /** Overrides of the stored credential (default: auth's id and key, signCount 0). */
  stored?: (ctx: Context) => Partial<{ id: string; publicKey: string; signCount: number }>;
  /** Default 'preferred'. */
  userVerification?: UserVerificationRequirement;
  expect: Decision;
  /** Only where @simplewebauthn/server decides otherwise by design. */
  simplewebauthn?: { decision: 'accept' | 'refuse'; why: string };
}

const WHY = {
  idBinding:
    '@simplewebauthn/server trusts the caller to have looked the credential up by `id` and never compares them; ' +
    'twofold binds the response id (strict base64url, at most 1023 bytes) to the stored credential itself',
  crossOrigin:
    '@simplewebauthn/server lets `crossOrigin: true` through when there is no `topOrigin` (Safari sends none); ' +
    'twofold never runs inside a cross-origin frame, so any truthy crossOrigin is refused',
  base64url:
    '@simplewebauthn/server tolerates padding and stray bits; twofold takes only strict, canonical base64url, ' +
    'so one byte string has one spelling',
  size: 'twofold caps every field (clientDataJSON 4 KB) before decoding; @simplewebauthn/server has no size limits',
  tokenBinding:
    'WebAuthn Level 3 retired token binding and twofold ignores the member; @simplewebauthn/server still ' +
    'validates it (and, for assertions, knows only the spelling "notSupported")',
  attested:
    'WebAuthn §6.3.3: assertions carry no attested credential data; twofold refuses AT in an assertion ' +
    '(keeping COSE parsing off the login path), @simplewebauthn/server parses and ignores it',
  utf8: 'twofold decodes clientDataJSON as strict UTF-8; @simplewebauthn/server replaces invalid bytes with U+FFFD',
  der:
    'ECDSA signatures are DER (WebAuthn §6.5.5); node:crypto (OpenSSL) takes exactly one DER encoding, ' +
    "@simplewebauthn/server's ASN.1 parser ignores the sequence's tag class, its length and bytes after it " +
    '(the same r and s: encoding malleability, not a forgery)',
  userHandle:
    '@simplewebauthn/server only checks that userHandle is a string; twofold also requires strict base64url ' +
    'of at most 64 bytes (WebAuthn §5.4.3)',
} as const;

/** Pads JSON text with spaces (still valid JSON) so its byte length is not a multiple of 3: base64 then needs `=`. */
const unalignedJson = (text: string): string => {
  let out = text;
  while (Buffer.byteLength(out) % 3 === 0) out += ' ';
  return out;
};

/** The byte offset of `needle` in the ASCII JSON of clientData. */
const at = (json: Uint8Array, needle: string): number => Buffer.from(json).indexOf(needle);

/** Edits one clientDataJSON byte at the first occurrence of `needle` plus `offset`. */
const editClientData =
  (needle: string, offset: number, value: (byte: number) => number) =>
  (bytes: Uint8Array): Uint8Array => {
    const out = Uint8Array.from(bytes);
    const index = at(out, needle) + offset;
    out[index] = value(out[index]!);
    return out;
  };

/** A base64url string whose last character carries stray (non-zero unused) bits. */
const withStrayBits = (text: string): string => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const unusedBits = text.length % 4 === 2 ? 4 : 2;
  const last = alphabet.indexOf(text.at(-1)!);
  return text.slice(0, -1) + alphabet[last | ((1 << unusedBits) - 1)];
};

const CASES: Case[] = [
  // Valid assertions.
  { name: 'valid assertion', expect: 'accept' },
  { name: 'counter 0 → 0: an authenticator without a counter (both accept)', knobs: { counter: 0 }, expect: 'accept' },
  { name: 'counter 5 → 6', knobs: { counter: 6 }, stored: () => ({ signCount: 5 }), expect: 'accept' },
  {
    name: 'counter 2^32-2 → 2^32-1',
    knobs: { counter: 0xffff_ffff },
    stored: () => ({ signCount: 0xffff_fffe }),
    expect: 'accept',
  },
  { name: 'second allowed origin', knobs: { origin: 'https://login.example.com' }, expect: 'accept' },
  { name: 'UV missing, userVerification preferred', knobs: { flags: FLAG.UP }, expect: 'accept' },
  {
    name: 'UV missing, userVerification discouraged',
    knobs: { flags: FLAG.UP },
    userVerification: 'discouraged',
    expect: 'accept',
  },
  { name: 'UV set, userVerification required', userVerification: 'required', expect: 'accept' },
  { name: 'BE set: a passkey, not backed up', knobs: { flags: FLAG.UP | FLAG.UV | FLAG.BE }, expect: 'accept' },
  { name: 'BE and BS set: a synced passkey', knobs: { flags: FLAG.UP | FLAG.UV | FLAG.BE | FLAG.BS }, expect: 'accept' },
  {
    name: 'reserved flag bits set (ignored, as WebAuthn requires)',
    knobs: { flags: FLAG.UP | FLAG.UV | FLAG.RFU1 | FLAG.RFU2 },
    expect: 'accept',
  },
  { name: 'authenticator extension outputs', knobs: { extensions: { credProtect: 2, appid: true } }, expect: 'accept' },
  { name: 'userHandle present', knobs: { userHandle: b64(randomBytes(16)) }, expect: 'accept' },
  { name: 'userHandle null', knobs: { userHandle: null }, expect: 'accept' },
  { name: 'userHandle empty', knobs: { userHandle: '' }, expect: 'accept' },
  {
    name: 'unknown client data members',
    knobs: { clientData: { other_keys_can_be_added_here: 'do not compare clientDataJSON against a template' } },
    expect: 'accept',
  },
  {
    name: 'client data members reordered and indented',
    knobs: {
      clientDataText: (json) => JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(json)).reverse()), null, 2),
    },
    expect: 'accept',
  },
  { name: 'crossOrigin absent', knobs: { clientData: { crossOrigin: undefined } }, expect: 'accept' },
  { name: 'tokenBinding "supported"', knobs: { clientData: { tokenBinding: { status: 'supported' } } }, expect: 'accept' },
  {
    name: 'tokenBinding "not-supported" (older Chrome)',
    knobs: { clientData: { tokenBinding: { status: 'not-supported' } } },
    expect: 'accept',
    simplewebauthn: { decision: 'refuse', why: WHY.tokenBinding },
  },
  {
    name: 'tokenBinding not an object',
    knobs: { clientData: { tokenBinding: 'present' } },
    expect: 'accept',
    simplewebauthn: { decision: 'refuse', why: WHY.tokenBinding },
  },
  {
    name: 'no authenticatorAttachment nor clientExtensionResults',
    mutate: (r) => {
      delete r.authenticatorAttachment;
      delete r.clientExtensionResults;
    },
    expect: 'accept',
  },
  {
    name: 'clientDataJSON with a UTF-8 byte order mark',
    knobs: { clientDataBytes: (bytes) => concat(Uint8Array.of(0xef, 0xbb, 0xbf), bytes) },
    expect: 'accept',
  },
  {
    // ECDSA signatures are malleable and WebAuthn does not ask for low S; both accept.
    name: 'ECDSA signature with high S (malleated)',
    algs: ['ES256'],
    knobs: { signature: malleateEcdsa },
    expect: 'accept',
  },

  // Client data.
  { name: 'wrong origin', knobs: { origin: 'https://evil.example' }, expect: 'origin_mismatch' },
  { name: 'origin with a trailing slash', knobs: { origin: 'https://example.com/' }, expect: 'origin_mismatch' },
  { name: 'origin over http', knobs: { origin: 'http://example.com' }, expect: 'origin_mismatch' },
  { name: 'origin with another port', knobs: { origin: 'https://example.com:8443' }, expect: 'origin_mismatch' },
  { name: 'origin of a subdomain', knobs: { origin: 'https://evil.example.com' }, expect: 'origin_mismatch' },
  { name: 'origin missing', knobs: { clientData: { origin: undefined } }, expect: 'malformed_client_data' },
  { name: 'origin not a string', knobs: { clientData: { origin: [ORIGIN] } }, expect: 'malformed_client_data' },
  { name: 'type webauthn.create', knobs: { clientData: { type: 'webauthn.create' } }, expect: 'wrong_type' },
  { name: 'type payment.get', knobs: { clientData: { type: 'payment.get' } }, expect: 'wrong_type' },
  { name: 'type missing', knobs: { clientData: { type: undefined } }, expect: 'malformed_client_data' },
  { name: 'type not a string', knobs: { clientData: { type: 1 } }, expect: 'malformed_client_data' },
  { name: 'wrong challenge', knobs: { challenge: randomBytes(32).toString('base64url') }, expect: 'challenge_mismatch' },
  { name: 'challenge with padding', knobs: { challenge: `${CHALLENGE}=` }, expect: 'challenge_mismatch' },
  {
    name: 'challenge differing in case',
    knobs: { challenge: CHALLENGE.replace(/[a-z]/, (c) => c.toUpperCase()) },
    expect: 'challenge_mismatch',
  },
  { name: 'challenge cut short', knobs: { challenge: CHALLENGE.slice(0, -1) }, expect: 'challenge_mismatch' },
  { name: 'challenge empty', knobs: { challenge: '' }, expect: 'challenge_mismatch' },
  { name: 'challenge missing', knobs: { clientData: { challenge: undefined } }, expect: 'malformed_client_data' },
  { name: 'challenge not a string', knobs: { clientData: { challenge: 42 } }, expect: 'malformed_client_data' },
  {
    name: 'crossOrigin true, no topOrigin',
    knobs: { clientData: { crossOrigin: true } },
    expect: 'cross_origin',
    simplewebauthn: { decision: 'accept', why: WHY.crossOrigin },
  },
  {
    name: 'crossOrigin "true" as a string',
    knobs: { clientData: { crossOrigin: 'true' } },
    expect: 'cross_origin',
    simplewebauthn: { decision: 'accept', why: WHY.crossOrigin },
  },
  {
    name: 'crossOrigin true with a topOrigin',
    knobs: { clientData: { crossOrigin: true, topOrigin: 'https://evil.example' } },
    expect: 'cross_origin',
  },
  {
    name: 'topOrigin without crossOrigin',
    knobs: { clientData: { topOrigin: 'https://example.com' } },
    expect: 'cross_origin',
  },
  { name: 'clientDataJSON not JSON', knobs: { clientDataText: () => 'not json' }, expect: 'malformed_client_data' },
  { name: 'clientDataJSON a JSON array', knobs: { clientDataText: () => '[]' }, expect: 'malformed_client_data' },
  { name: 'clientDataJSON JSON null', knobs: { clientDataText: () => 'null' }, expect: 'malformed_client_data' },
  { name: 'clientDataJSON empty', knobs: { clientDataText: () => '' }, expect: 'malformed_client_data' },
  {
    name: 'clientDataJSON invalid UTF-8 in an unchecked member',
    knobs: {
      clientData: { note: 'A' },
      clientDataBytes: editClientData('"note":"A', 8, () => 0xff),
    },
    expect: 'malformed_client_data',
    simplewebauthn: { decision: 'accept', why: WHY.utf8 },
  },
  {
    name: 'clientDataJSON over 4 KB, validly signed',
    knobs: { clientData: { padding: 'x'.repeat(5000) } },
    expect: 'malformed_response',
    simplewebauthn: { decision: 'accept', why: WHY.size },
  },
  {
    name: 'clientDataJSON in padded base64url',
    knobs: { clientDataText: unalignedJson },
    mutate: (r) => {
      r.response.clientDataJSON = Buffer.from(r.response.clientDataJSON, 'base64url').toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    },
    expect: 'malformed_response',
    simplewebauthn: { decision: 'accept', why: WHY.base64url },
  },

  // Authenticator data.
  { name: 'credential of another RP ID', knobs: { rpId: 'evil.example' }, expect: 'rp_id_mismatch' },
  { name: 'RP ID of a subdomain', knobs: { rpId: 'login.example.com' }, expect: 'rp_id_mismatch' },
  { name: 'RP ID of the parent domain', knobs: { rpId: 'com' }, expect: 'rp_id_mismatch' },
  { name: 'RP ID differing in case', knobs: { rpId: 'Example.com' }, expect: 'rp_id_mismatch' },
  { name: 'UP missing', knobs: { flags: FLAG.UV }, expect: 'user_not_present' },
  { name: 'UP and UV missing', knobs: { flags: 0 }, expect: 'user_not_present' },
  {
    name: 'UP missing, userVerification discouraged',
    knobs: { flags: 0 },
    userVerification: 'discouraged',
    expect: 'user_not_present',
  },
  { name: 'UV missing when required', knobs: { flags: FLAG.UP }, userVerification: 'required', expect: 'user_not_verified' },
  {
    name: 'UV missing when required, with BE and BS',
    knobs: { flags: FLAG.UP | FLAG.BE | FLAG.BS },
    userVerification: 'required',
    expect: 'user_not_verified',
  },
  { name: 'BS without BE', knobs: { flags: FLAG.UP | FLAG.UV | FLAG.BS }, expect: 'malformed_authenticator_data' },
  {
    name: 'authenticator data truncated to 36 bytes, signed',
    knobs: { authData: (bytes) => bytes.slice(0, 36) },
    expect: 'malformed_authenticator_data',
  },
  {
    name: 'authenticator data cut inside the counter, signed',
    knobs: { authData: (bytes) => bytes.slice(0, 34) },
    expect: 'malformed_authenticator_data',
  },
  {
    name: 'authenticator data with a trailing byte, signed',
    knobs: { authData: (bytes) => concat(bytes, Uint8Array.of(0)) },
    expect: 'malformed_authenticator_data',
  },
  {
    name: 'ED set without extensions, signed',
    knobs: {
      authData: (bytes) => {
        const out = Uint8Array.from(bytes);
        out[32] = out[32]! | FLAG.ED;
        return out;
      },
    },
    expect: 'malformed_authenticator_data',
  },
  { name: 'extensions not a map', knobs: { extensions: [1, 2] }, expect: 'malformed_authenticator_data' },
  {
    name: 'extensions in non-canonical CBOR',
    knobs: {
      authData: (bytes) => {
        const out = concat(bytes, Uint8Array.of(0xa1, 0x78, 0x01, 0x61, 0x01)); // {"a": 1}, key length not shortest
        out[32] = out[32]! | FLAG.ED;
        return out;
      },
    },
    expect: 'malformed_authenticator_data',
  },
  {
    name: 'attested credential data in an assertion, signed',
    knobs: { attestedData: true },
    expect: 'unexpected_attested_data',
    simplewebauthn: { decision: 'accept', why: WHY.attested },
  },
  {
    name: 'authenticator data empty',
    mutate: (r) => {
      r.response.authenticatorData = '';
    },
    expect: 'malformed_authenticator_data',
  },
  {
    name: 'authenticator data in padded base64url',
    mutate: (r) => {
      r.response.authenticatorData += '='.repeat((4 - (r.response.authenticatorData.length % 4)) % 4) || '====';
    },
    expect: 'malformed_response',
    simplewebauthn: { decision: 'accept', why: WHY.base64url },
  },
  {
    name: 'authenticator data with stray bits in the last character',
    mutate: (r) => {
      r.response.authenticatorData = withStrayBits(r.response.authenticatorData);
    },
    expect: 'malformed_response',
    simplewebauthn: { decision: 'accept', why: WHY.base64url },
  },

  // Signature.
  { name: 'signature by another key', knobs: (ctx) => ({ signer: ctx.other }), expect: 'bad_signature' },
  {
    name: 'signature over other data',
    knobs: { signedData: (data) => concat(data, Uint8Array.of(0)) },
    expect: 'bad_signature',
  },
  {
    name: 'signature over authenticator data only',
    knobs: { signedData: (data) => data.slice(0, -32) },
    expect: 'bad_signature',
  },
  { name: 'signature empty', knobs: { signature: () => new Uint8Array(0) }, expect: 'bad_signature' },
  {
    name: 'signature with a trailing byte',
    algs: ['EdDSA', 'RS256'],
    knobs: { signature: (s) => concat(s, Uint8Array.of(0)) },
    expect: 'bad_signature',
  },
  {
    name: 'ECDSA signature with a trailing byte after the DER sequence',
    algs: ['ES256'],
    knobs: { signature: (s) => concat(s, Uint8Array.of(0)) },
    expect: 'bad_signature',
    simplewebauthn: { decision: 'accept', why: WHY.der },
  },
  { name: 'signature cut by one byte', knobs: { signature: (s) => s.slice(0, -1) }, expect: 'bad_signature' },
  { name: 'signature of zeros', knobs: { signature: (s) => new Uint8Array(s.length) }, expect: 'bad_signature' },
  { name: 'signature over 512 bytes', knobs: { signature: () => randomBytes(513) }, expect: 'malformed_response' },
  {
    name: 'ECDSA signature with the DER sequence tag altered (0x30 → 0xb0)',
    algs: ['ES256'],
    knobs: { signature: (s) => concat(Uint8Array.of(0xb0), s.slice(1)) },
    expect: 'bad_signature',
    simplewebauthn: { decision: 'accept', why: WHY.der },
  },
  {
    name: 'ECDSA signature with the DER sequence length one short',
    algs: ['ES256'],
    knobs: { signature: (s) => concat(Uint8Array.of(0x30, s[1]! - 1), s.slice(2)) },
    expect: 'bad_signature',
    simplewebauthn: { decision: 'accept', why: WHY.der },
  },
  {
    name: 'ECDSA signature as raw r ‖ s (IEEE P1363)',
    algs: ['ES256'],
    knobs: { signature: derToRaw },
    expect: 'bad_signature',
  },
  {
    name: 'ECDSA signature in non-canonical DER (r with a superfluous zero byte)',
    algs: ['ES256'],
    knobs: {
      signature: (der) => {
        const { r, s } = derToIntegers(der);
        return integersToDer(r, s, 1);
      },
    },
    expect: 'bad_signature',
  },
  {
    name: 'ECDSA signature with s = 0',
    algs: ['ES256'],
    knobs: { signature: (der) => integersToDer(derToIntegers(der).r, 0n) },
    expect: 'bad_signature',
  },
  {
    name: 'stored key of another algorithm',
    stored: (ctx) => ({ publicKey: ctx.foreign.storedKey }),
    expect: 'bad_signature',
  },

  // Flipped bytes, field by field.
  { name: 'clientDataJSON: first byte flipped', knobs: { clientDataBytes: editClientData('{', 0, (b) => b ^ 1) }, expect: 'malformed_client_data' },
  { name: 'clientDataJSON: last byte flipped', knobs: { clientDataBytes: (b) => editClientData('}', b.length - 1 - at(b, '}'), (x) => x ^ 1)(b) }, expect: 'malformed_client_data' },
  { name: 'clientDataJSON: a challenge byte flipped', knobs: { clientDataBytes: editClientData(CHALLENGE, 3, (b) => b ^ 1) }, expect: 'challenge_mismatch' },
  { name: 'clientDataJSON: an origin byte flipped', knobs: { clientDataBytes: editClientData('example.com', 0, (b) => b ^ 1) }, expect: 'origin_mismatch' },
  { name: 'clientDataJSON: a type byte flipped', knobs: { clientDataBytes: editClientData('webauthn.get', 9, (b) => b ^ 1) }, expect: 'wrong_type' },
  {
    name: 'clientDataJSON: an unchecked byte flipped after signing',
    knobs: { clientData: { note: 'AAAA' } },
    mutate: (r) => {
      const bytes = Buffer.from(r.response.clientDataJSON, 'base64url');
      const index = bytes.indexOf('"note":"AAAA') + 9;
      bytes[index] = bytes[index]! ^ 1;
      r.response.clientDataJSON = bytes.toString('base64url');
    },
    expect: 'bad_signature',
  },
  ...(
    [
      [0, 'rp_id_mismatch'],
      [31, 'rp_id_mismatch'],
      [32, 'user_not_present'],
      [33, 'bad_signature'],
      [36, 'bad_signature'],
    ] as const
  ).map(
    ([index, expected]): Case => ({
      name: `authenticatorData: byte ${index} flipped after signing`,
      mutate: (r) => {
        r.response.authenticatorData = flipByte(r.response.authenticatorData, index);
      },
      expect: expected,
    }),
  ),
  ...[0, 10, -1].map(
    (index): Case => ({
      name: `signature: byte ${index} flipped`,
      mutate: (r) => {
        r.response.signature = flipByte(r.response.signature, index);
      },
      expect: 'bad_signature',
    }),
  ),
  {
    // The user handle is not signed, and a second factor already knows its user: both ignore its value.
    name: 'userHandle: a byte flipped',
    knobs: { userHandle: b64(Buffer.alloc(16, 7)) },
    mutate: (r) => {
      r.response.userHandle = flipByte(r.response.userHandle, 0);
    },
    expect: 'accept',
  },

  // Credential id and type.
  {
    name: 'id and rawId of another credential',
    mutate: (r, ctx) => {
      r.id = r.rawId = ctx.other.id;
    },
    expect: 'credential_mismatch',
    simplewebauthn: { decision: 'accept', why: WHY.idBinding },
  },
  {
    name: 'id and rawId with a byte flipped',
    mutate: (r) => {
      r.id = r.rawId = flipByte(r.id, 0);
    },
    expect: 'credential_mismatch',
    simplewebauthn: { decision: 'accept', why: WHY.idBinding },
  },
  {
    name: 'stored credential is another one',
    stored: (ctx) => ({ id: ctx.other.id }),
    expect: 'credential_mismatch',
    simplewebauthn: { decision: 'accept', why: WHY.idBinding },
  },
  {
    name: 'id ≠ rawId',
    mutate: (r, ctx) => {
      r.rawId = ctx.other.id;
    },
    expect: 'malformed_response',
  },
  {
    name: 'id and rawId not base64url',
    mutate: (r) => {
      r.id = r.rawId = 'not base64url!';
    },
    expect: 'malformed_response',
    simplewebauthn: { decision: 'accept', why: WHY.idBinding },
  },
  {
    name: 'id and rawId empty',
    mutate: (r) => {
      r.id = r.rawId = '';
    },
    expect: 'malformed_response',
  },
  {
    name: 'id and rawId numbers',
    mutate: (r) => {
      r.id = r.rawId = 123;
    },
    expect: 'malformed_response',
    simplewebauthn: { decision: 'accept', why: WHY.idBinding },
  },
  {
    name: 'id and rawId of 1 MB',
    mutate: (r) => {
      r.id = r.rawId = 'A'.repeat(1 << 20);
    },
    expect: 'malformed_response',
    simplewebauthn: { decision: 'accept', why: WHY.idBinding },
  },
  {
    name: 'type not public-key',
    mutate: (r) => {
      r.type = 'public_key';
    },
    expect: 'malformed_response',
  },

  // Counter.
  { name: 'counter equal (5 → 5)', knobs: { counter: 5 }, stored: () => ({ signCount: 5 }), expect: 'counter_regressed' },
  { name: 'counter lower (5 → 4)', knobs: { counter: 4 }, stored: () => ({ signCount: 5 }), expect: 'counter_regressed' },
  { name: 'counter reset (5 → 0)', knobs: { counter: 0 }, stored: () => ({ signCount: 5 }), expect: 'counter_regressed' },
  {
    name: 'counter at its maximum, again',
    knobs: { counter: 0xffff_ffff },
    stored: () => ({ signCount: 0xffff_ffff }),
    expect: 'counter_regressed',
  },
  {
    // The counter is only judged once the signature holds: only the real authenticator can raise the alarm.
    name: 'counter lower and a bad signature',
    knobs: (ctx) => ({ counter: 4, signer: ctx.other }),
    stored: () => ({ signCount: 5 }),
    expect: 'bad_signature',
  },

  // Shapes, sizes, missing and mistyped fields.
  { name: 'response null', mutate: () => null, expect: 'malformed_response' },
  { name: 'response a string', mutate: () => 'public-key', expect: 'malformed_response' },
  { name: 'response an array', mutate: (r) => [r], expect: 'malformed_response' },
  {
    name: 'response.response null',
    mutate: (r) => {
      r.response = null;
    },
    expect: 'malformed_response',
  },
  ...(['id', 'rawId', 'type', 'response'] as const).map(
    (field): Case => ({
      name: `${field} missing`,
      mutate: (r) => {
        delete r[field];
      },
      expect: 'malformed_response',
    }),
  ),
  ...(['clientDataJSON', 'authenticatorData', 'signature'] as const).flatMap((field): Case[] => [
    {
      name: `response.${field} missing`,
      mutate: (r) => {
        delete r.response[field];
      },
      expect: 'malformed_response',
    },
    {
      name: `response.${field} a number`,
      mutate: (r) => {
        r.response[field] = 123;
      },
      expect: 'malformed_response',
    },
    {
      name: `response.${field} an array`,
      mutate: (r) => {
        r.response[field] = [r.response[field]];
      },
      expect: 'malformed_response',
    },
    {
      name: `response.${field} 1 MB`,
      mutate: (r) => {
        r.response[field] = 'A'.repeat(1 << 20);
      },
      expect: 'malformed_response',
    },
  ]),
  {
    name: 'userHandle a number',
    mutate: (r) => {
      r.response.userHandle = 5;
    },
    expect: 'malformed_response',
  },
  {
    name: 'userHandle not base64url',
    mutate: (r) => {
      r.response.userHandle = 'not base64url!';
    },
    expect: 'malformed_response',
    simplewebauthn: { decision: 'accept', why: WHY.userHandle },
  },
  {
    name: 'userHandle of 65 bytes',
    knobs: { userHandle: b64(randomBytes(65)) },
    expect: 'malformed_response',
    simplewebauthn: { decision: 'accept', why: WHY.userHandle },
  },
];

function outcome(result: ReturnType<typeof verifyAssertion>): Decision {
  if (result.ok) return 'accept';
  return result.reason === 'counter_regressed' ? 'counter_regressed' : result.detail;
}

async function simpleWebAuthnDecision(
  response: unknown,
  stored: { id: string; publicKey: string; signCount: number },
  userVerification: UserVerificationRequirement,
): Promise<'accept' | 'refuse'> {
  try {
    const result = await verifyAuthenticationResponse({
      response: response as never,
      expectedChallenge: CHALLENGE,
      expectedOrigin: ORIGINS,
      expectedRPID: RP_ID,
      credential: {
        id: stored.id,
        publicKey: Uint8Array.from(Buffer.from(stored.publicKey, 'base64url')),
        counter: stored.signCount,
      },
      requireUserVerification: userVerification === 'required',
    });
    return result.verified ? 'accept' : 'refuse';
  } catch {
    return 'refuse';
  }
}

describe.each(SOFT_ALGORITHMS)('verifyAssertion with %s, cross-checked with @simplewebauthn/server', (alg) => {
  const ctx = {} as Context;
  beforeAll(() => {
    Object.assign(ctx, {
      alg,
      auth: new SoftAuthenticator(alg),
      other: new SoftAuthenticator(alg),
      foreign: new SoftAuthenticator(alg === 'EdDSA' ? 'ES256' : 'EdDSA'),
    });
  });

  it.each(CASES.filter((c) => c.algs === undefined || c.algs.includes(alg)).map((c) => [c.name, c] as const))(
    '%s',
    async (_name, c) => {
      const knobs = typeof c.knobs === 'function' ? c.knobs(ctx) : c.knobs;
      let response: unknown = ctx.auth.assert({ challenge: CHALLENGE, origin: ORIGIN, rpId: RP_ID, counter: 1, ...knobs });
      if (c.mutate) {
        const replaced = c.mutate(response, ctx);
        if (replaced !== undefined) response = replaced;
      }
      const stored = { id: ctx.auth.id, publicKey: ctx.auth.storedKey, signCount: 0, ...c.stored?.(ctx) };
      const userVerification = c.userVerification ?? 'preferred';

      const ours = verifyAssertion({
        response: structuredClone(response),
        expectedChallenge: CHALLENGE,
        origins: ORIGINS,
        rpId: RP_ID,
        userVerification,
        credential: stored,
      });
      expect(outcome(ours)).toBe(c.expect);
      if (ours.ok) expect(ours.signCount).toBe(knobs?.counter ?? 1);

      const theirs = await simpleWebAuthnDecision(structuredClone(response), stored, userVerification);
      expect(theirs).toBe(c.simplewebauthn?.decision ?? (c.expect === 'accept' ? 'accept' : 'refuse'));
    },
  );
});

describe('verifyAssertion results', () => {
  const auth = new SoftAuthenticator('ES256');
  const input = (knobs: Partial<AssertKnobs> = {}, signCount = 0): VerifyAssertionInput => ({
    response: auth.assert({ challenge: CHALLENGE, origin: ORIGIN, rpId: RP_ID, counter: 7, ...knobs }),
    expectedChallenge: CHALLENGE,
    origins: ORIGINS,
    rpId: RP_ID,
    userVerification: 'preferred',
    credential: { id: auth.id, publicKey: auth.storedKey, signCount },
  });

  it('reports the new counter and the flags', () => {
    expect(verifyAssertion(input({ flags: FLAG.UP | FLAG.BE | FLAG.BS }))).toEqual({
      ok: true,
      signCount: 7,
      userVerified: false,
      backedUp: true,
      backupEligible: true,
    });
    expect(verifyAssertion(input())).toEqual({
      ok: true,
      signCount: 7,
      userVerified: true,
      backedUp: false,
      backupEligible: false,
    });
  });

  it('reports a counter that did not increase apart from other refusals', () => {
    expect(verifyAssertion(input({}, 7))).toEqual({ ok: false, reason: 'counter_regressed', detail: 'counter_not_increased' });
  });

  it('accepts any one of several expected challenges (a rotating key ring), and only those', () => {
    const others = [randomBytes(32).toString('base64url'), randomBytes(32).toString('base64url')];
    expect(verifyAssertion({ ...input(), expectedChallenge: [others[0]!, CHALLENGE] }).ok).toBe(true);
    expect(verifyAssertion({ ...input(), expectedChallenge: others })).toEqual({
      ok: false,
      reason: 'invalid',
      detail: 'challenge_mismatch',
    });
  });

  it('takes an already imported key', () => {
    const key = importStoredCoseKey(auth.storedKey);
    if (!key.ok) throw new Error('import failed');
    const base = input();
    expect(verifyAssertion({ ...base, credential: { ...base.credential, publicKey: key.key } }).ok).toBe(true);
  });

  it.each<[string, (base: VerifyAssertionInput) => unknown]>([
    ['no input', () => undefined],
    ['an empty origin list', (base) => ({ ...base, origins: [] })],
    ['origins not an array', (base) => ({ ...base, origins: ORIGIN })],
    ['an empty origin', (base) => ({ ...base, origins: [''] })],
    ['an empty rpId', (base) => ({ ...base, rpId: '' })],
    ['an empty expected challenge', (base) => ({ ...base, expectedChallenge: '' })],
    ['an expected challenge not base64url', (base) => ({ ...base, expectedChallenge: 'a+b/' })],
    ['an empty list of expected challenges', (base) => ({ ...base, expectedChallenge: [] })],
    ['17 expected challenges', (base) => ({ ...base, expectedChallenge: Array(17).fill(CHALLENGE) })],
    ['a list with a bad challenge', (base) => ({ ...base, expectedChallenge: [CHALLENGE, 7] })],
    ['an unknown userVerification', (base) => ({ ...base, userVerification: 'always' })],
    ['no credential', (base) => ({ ...base, credential: undefined })],
    ['a credential id not base64url', (base) => ({ ...base, credential: { ...base.credential, id: 'a b' } })],
    ['a negative signCount', (base) => ({ ...base, credential: { ...base.credential, signCount: -1 } })],
    ['a signCount over 2^32-1', (base) => ({ ...base, credential: { ...base.credential, signCount: 2 ** 32 } })],
    ['a fractional signCount', (base) => ({ ...base, credential: { ...base.credential, signCount: 1.5 } })],
    ['a stored key that does not import', (base) => ({ ...base, credential: { ...base.credential, publicKey: 'AAAA' } })],
    ['a stored key that is not a key', (base) => ({ ...base, credential: { ...base.credential, publicKey: { alg: -7 } } })],
  ])('throws MfaError invalid_argument on misuse: %s', (_name, edit) => {
    let error: unknown;
    try {
      verifyAssertion(edit(input()) as VerifyAssertionInput);
    } catch (e) {
      error = e;
    }
    expect(isMfaError(error, 'invalid_argument')).toBe(true);
  });
});

describe('assertionCredentialId', () => {
  const auth = new SoftAuthenticator('EdDSA');
  const valid = auth.assert({ challenge: CHALLENGE, origin: ORIGIN, rpId: RP_ID });

  it('names the credential of a response, unverified', () => {
    expect(assertionCredentialId(valid)).toBe(auth.id);
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['a string', auth.id],
    ['id ≠ rawId', { ...valid, rawId: b64(randomBytes(32)) }],
    ['an empty id', { ...valid, id: '', rawId: '' }],
    ['an id not base64url', { ...valid, id: 'a b', rawId: 'a b' }],
    ['an id over 1023 bytes', { ...valid, id: b64(randomBytes(1024)), rawId: b64(randomBytes(1024)) }],
    ['a numeric id', { ...valid, id: 1, rawId: 1 }],
  ])('is null for %s', (_name, response) => {
    expect(assertionCredentialId(response)).toBeNull();
  });

  it('never throws', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expect(assertionCredentialId(value)).toBeNull();
      }),
    );
  });
});

describe('verifyAssertion on hostile input', () => {
  const auth = new SoftAuthenticator('ES256');
  const valid = auth.assert({ challenge: CHALLENGE, origin: ORIGIN, rpId: RP_ID, counter: 1 });
  const run = (response: unknown) =>
    verifyAssertion({
      response,
      expectedChallenge: CHALLENGE,
      origins: ORIGINS,
      rpId: RP_ID,
      userVerification: 'preferred',
      credential: { id: auth.id, publicKey: auth.storedKey, signCount: 0 },
    });

  it('never throws and never accepts arbitrary values', () => {
    fc.assert(
      fc.property(fc.anything(), (response) => {
        expect(run(response).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws and never accepts arbitrary field values', () => {
    const field = fc.oneof(fc.string(), fc.base64String(), fc.anything(), fc.uint8Array().map(b64));
    fc.assert(
      fc.property(
        fc.record({ clientDataJSON: field, authenticatorData: field, signature: field, userHandle: field }, { requiredKeys: [] }),
        (fields) => {
          fc.pre(Object.keys(fields).some((key) => key !== 'userHandle'));
          expect(run({ ...valid, response: { ...valid.response, ...fields } }).ok).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses any single bit flipped in a signed field, as @simplewebauthn/server does', async () => {
    const fields = ['clientDataJSON', 'authenticatorData', 'signature'] as const;
    const authenticators = SOFT_ALGORITHMS.map((alg) => new SoftAuthenticator(alg));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...authenticators),
        fc.constantFrom(...fields),
        fc.nat(),
        fc.nat(7),
        async (authenticator, field, position, bit) => {
          const response = authenticator.assert({ challenge: CHALLENGE, origin: ORIGIN, rpId: RP_ID, counter: 1 });
          const length = Buffer.from(response.response[field], 'base64url').length;
          const index = position % length;
          response.response[field] = flipByte(response.response[field], index, 1 << bit);
          const stored = { id: authenticator.id, publicKey: authenticator.storedKey, signCount: 0 };
          const ours = verifyAssertion({
            response: structuredClone(response),
            expectedChallenge: CHALLENGE,
            origins: ORIGINS,
            rpId: RP_ID,
            userVerification: 'preferred',
            credential: stored,
          });
          expect(ours.ok).toBe(false);
          const theirs = await simpleWebAuthnDecision(response, stored, 'preferred');
          // The one documented difference: the DER sequence header of an ECDSA signature (WHY.der).
          const derHeader = authenticator.alg === 'ES256' && field === 'signature' && index < 2;
          if (!derHeader) expect(theirs).toBe('refuse');
        },
      ),
      { numRuns: 300 },
    );
  });
});
