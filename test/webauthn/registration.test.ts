/**
 * verifyRegistration: a wrapper over @simplewebauthn/server's
 * verifyRegistrationResponse with twofold's own checks around it. Each case
 * also runs the library alone, so the table shows where the wrapper is
 * stricter, and why.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { verifyRegistrationResponse } from '@simplewebauthn/server';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { isMfaError } from '../../src/errors.ts';
import { verifyAssertion } from '../../src/webauthn/assertion.ts';
import {
  verifyRegistration,
  type RegistrationFailure,
  type VerifyRegistrationInput,
} from '../../src/webauthn/registration.ts';
import type { UserVerificationRequirement } from '../../src/webauthn/webauthn-json.ts';
import { encodeCbor, type Encodable } from './cbor-encoder.ts';
import { b64, FLAG, SOFT_ALGORITHMS, SoftAuthenticator, type RegisterKnobs, type SoftAlgorithm } from './soft-authenticator.ts';

const RP_ID = 'example.com';
const ORIGIN = 'https://example.com';
const ORIGINS = [ORIGIN];
const CHALLENGE = randomBytes(32).toString('base64url');

interface Case {
  name: string;
  algs?: readonly SoftAlgorithm[];
  knobs?: Partial<RegisterKnobs> | ((auth: SoftAuthenticator) => Partial<RegisterKnobs>);
  mutate?: (response: any) => unknown;
  userVerification?: UserVerificationRequirement;
  expect: 'accept' | RegistrationFailure;
  /** Only where @simplewebauthn/server alone decides otherwise. */
  simplewebauthn?: { decision: 'accept' | 'refuse'; why: string };
}

const WHY = {
  crossOrigin: "@simplewebauthn/server's registration check never looks at crossOrigin or topOrigin",
  idBinding:
    '@simplewebauthn/server returns the credential id of the authenticator data and never compares it with ' +
    "the response's id; twofold requires them equal (and at most 1023 bytes, WebAuthn §7.1)",
  key: 'twofold refuses at registration a key verifyAssertion would refuse at login (RSA under 2048 bits, extra COSE labels)',
  transports: '@simplewebauthn/server passes `transports` through unchecked',
  size: 'twofold caps every field (clientDataJSON 4 KB) before parsing; @simplewebauthn/server has no size limits',
} as const;

const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' });
const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
const bytes = (field: string | undefined) => Uint8Array.from(Buffer.from(field!, 'base64url'));

const CASES: Case[] = [
  { name: 'valid registration', expect: 'accept' },
  { name: 'UV missing, userVerification preferred', knobs: { flags: FLAG.UP }, expect: 'accept' },
  { name: 'UV missing, userVerification required', knobs: { flags: FLAG.UP }, userVerification: 'required', expect: 'not_verified' },
  { name: 'UP missing', knobs: { flags: FLAG.UV }, expect: 'not_verified' },
  { name: 'a synced passkey (BE, BS)', knobs: { flags: FLAG.UP | FLAG.UV | FLAG.BE | FLAG.BS }, expect: 'accept' },
  { name: 'BS without BE', knobs: { flags: FLAG.UP | FLAG.BS }, expect: 'malformed_authenticator_data' },
  { name: 'a non-zero counter', knobs: { counter: 5 }, expect: 'accept' },
  { name: 'extension outputs', knobs: { extensions: { credProtect: 2 } }, expect: 'accept' },
  { name: 'unknown transports', knobs: { transports: ['usb', 'warp-drive'] }, expect: 'accept' },
  { name: 'no transports', knobs: { transports: undefined }, expect: 'accept' },
  {
    name: 'transports not an array',
    knobs: { transports: 'usb' },
    expect: 'malformed_response',
    simplewebauthn: { decision: 'accept', why: WHY.transports },
  },
  {
    name: 'transports not strings',
    knobs: { transports: [1, 2] },
    expect: 'malformed_response',
    simplewebauthn: { decision: 'accept', why: WHY.transports },
  },
  { name: 'wrong challenge', knobs: { challenge: randomBytes(32).toString('base64url') }, expect: 'challenge_mismatch' },
  { name: 'wrong origin', knobs: { origin: 'https://evil.example' }, expect: 'origin_mismatch' },
  { name: 'type webauthn.get', knobs: { clientData: { type: 'webauthn.get' } }, expect: 'wrong_type' },
  { name: 'clientDataJSON not JSON', knobs: { clientDataText: () => '{' }, expect: 'malformed_client_data' },
  {
    name: 'crossOrigin true',
    knobs: { clientData: { crossOrigin: true } },
    expect: 'cross_origin',
    simplewebauthn: { decision: 'accept', why: WHY.crossOrigin },
  },
  {
    name: 'a topOrigin',
    knobs: { clientData: { crossOrigin: true, topOrigin: 'https://evil.example' } },
    expect: 'cross_origin',
    simplewebauthn: { decision: 'accept', why: WHY.crossOrigin },
  },
  {
    name: 'clientDataJSON over 4 KB',
    knobs: { clientData: { padding: 'x'.repeat(5000) } },
    expect: 'malformed_response',
    simplewebauthn: { decision: 'accept', why: WHY.size },
  },
  { name: 'credential of another RP ID', knobs: { rpId: 'evil.example' }, expect: 'not_verified' },
  {
    name: 'attested credential id differs from the response id',
    knobs: { attestedCredentialId: Uint8Array.from(randomBytes(32)) },
    expect: 'credential_mismatch',
    simplewebauthn: { decision: 'accept', why: WHY.idBinding },
  },
  { name: 'fmt packed without a statement', knobs: { fmt: 'packed' }, expect: 'not_verified' },
  { name: 'fmt none with a statement', knobs: { attStmt: { sig: new Uint8Array(8) } }, expect: 'not_verified' },
  { name: 'an unknown fmt', knobs: { fmt: 'selfie' }, expect: 'not_verified' },
  {
    name: 'an ES384 key',
    algs: ['ES256'],
    knobs: { cose: encodeCbor(new Map<number, Encodable>([[1, 2], [3, -35], [-1, 2], [-2, bytes(p384.x)], [-3, bytes(p384.y)]])) },
    expect: 'not_verified',
  },
  {
    name: 'an RSA key of 1024 bits',
    algs: ['RS256'],
    knobs: { cose: encodeCbor(new Map<number, Encodable>([[1, 3], [3, -257], [-1, bytes(rsa1024.n)], [-2, bytes(rsa1024.e)]])) },
    expect: 'unsupported_key',
    simplewebauthn: { decision: 'accept', why: WHY.key },
  },
  {
    name: 'a COSE key with a kid',
    algs: ['EdDSA'],
    // One more map entry, kid (label 2) = h'07', after the four of an Ed25519 key.
    knobs: (auth) => ({ cose: Uint8Array.from([auth.cose[0]! + 1, ...auth.cose.subarray(1), 0x02, 0x41, 0x07]) }),
    expect: 'unsupported_key',
    simplewebauthn: { decision: 'accept', why: WHY.key },
  },
  {
    name: 'attestation object in non-canonical CBOR',
    mutate: (r) => {
      // Re-encode the leading map header {3 entries} as a one-byte length (0xb8 0x03).
      const object = Buffer.from(r.response.attestationObject, 'base64url');
      r.response.attestationObject = Buffer.concat([Buffer.of(0xb8, 0x03), object.subarray(1)]).toString('base64url');
    },
    expect: 'malformed_authenticator_data',
  },
  {
    name: 'attestation object not CBOR',
    mutate: (r) => {
      r.response.attestationObject = b64(Uint8Array.of(0xff, 0x00));
    },
    expect: 'malformed_authenticator_data',
  },
  {
    name: 'attestation object without authData',
    mutate: (r) => {
      r.response.attestationObject = b64(encodeCbor({ fmt: 'none', attStmt: {} }));
    },
    expect: 'malformed_authenticator_data',
  },
  {
    name: 'authenticator data without attested credential data',
    knobs: {
      authData: (data) => {
        const out = data.slice(0, 37);
        out[32] = out[32]! & ~FLAG.AT;
        return out;
      },
    },
    expect: 'malformed_authenticator_data',
  },
  {
    name: 'id ≠ rawId',
    mutate: (r) => {
      r.rawId = b64(randomBytes(32));
    },
    expect: 'malformed_response',
  },
  {
    name: 'type not public-key',
    mutate: (r) => {
      r.type = 'password';
    },
    expect: 'malformed_response',
  },
  {
    name: 'attestationObject missing',
    mutate: (r) => {
      delete r.response.attestationObject;
    },
    expect: 'malformed_response',
  },
  { name: 'response null', mutate: () => null, expect: 'malformed_response' },
  { name: 'response a string', mutate: () => 'public-key', expect: 'malformed_response' },
];

const input = (response: unknown, userVerification: UserVerificationRequirement = 'preferred'): VerifyRegistrationInput => ({
  response,
  expectedChallenge: CHALLENGE,
  origins: ORIGINS,
  rpId: RP_ID,
  userVerification,
});

async function simpleWebAuthnDecision(response: unknown, userVerification: UserVerificationRequirement) {
  try {
    const result = await verifyRegistrationResponse({
      response: response as never,
      expectedChallenge: CHALLENGE,
      expectedOrigin: ORIGINS,
      expectedRPID: RP_ID,
      requireUserVerification: userVerification === 'required',
      supportedAlgorithmIDs: [-8, -7, -257],
    });
    return result.verified ? 'accept' : 'refuse';
  } catch {
    return 'refuse';
  }
}

describe.each(SOFT_ALGORITHMS)('verifyRegistration with %s, beside @simplewebauthn/server alone', (alg) => {
  let auth: SoftAuthenticator;
  beforeAll(() => {
    auth = new SoftAuthenticator(alg);
  });

  it.each(CASES.filter((c) => c.algs === undefined || c.algs.includes(alg)).map((c) => [c.name, c] as const))(
    '%s',
    async (_name, c) => {
      const knobs = typeof c.knobs === 'function' ? c.knobs(auth) : c.knobs;
      let response: unknown = auth.register({ challenge: CHALLENGE, origin: ORIGIN, rpId: RP_ID, counter: 0, ...knobs });
      if (c.mutate) {
        const replaced = c.mutate(response);
        if (replaced !== undefined) response = replaced;
      }
      const userVerification = c.userVerification ?? 'preferred';
      const ours = await verifyRegistration(input(structuredClone(response), userVerification));
      expect(ours.ok ? 'accept' : ours.detail).toBe(c.expect);
      const theirs = await simpleWebAuthnDecision(structuredClone(response), userVerification);
      expect(theirs).toBe(c.simplewebauthn?.decision ?? (c.expect === 'accept' ? 'accept' : 'refuse'));
    },
  );

  it('returns what the service stores, and the stored key verifies the next login', async () => {
    const result = await verifyRegistration(
      input(
        auth.register({
          challenge: CHALLENGE,
          origin: ORIGIN,
          rpId: RP_ID,
          counter: 3,
          flags: FLAG.UP | FLAG.UV | FLAG.BE,
          aaguid: Uint8Array.from(Buffer.from('adce000235bcc60a648b0b25f1f05503', 'hex')),
          transports: ['usb', 'internal', 'warp-drive', 'usb'],
        }),
      ),
    );
    expect(result).toEqual({
      ok: true,
      credentialId: auth.id,
      publicKey: auth.storedKey,
      alg: auth.coseAlg,
      signCount: 3,
      transports: ['internal', 'usb'],
      userVerified: true,
      backedUp: false,
      backupEligible: true,
      aaguid: 'adce0002-35bc-c60a-648b-0b25f1f05503',
    });
    if (!result.ok) return;
    const login = verifyAssertion({
      response: auth.assert({ challenge: CHALLENGE, origin: ORIGIN, rpId: RP_ID, counter: 4 }),
      expectedChallenge: CHALLENGE,
      origins: ORIGINS,
      rpId: RP_ID,
      userVerification: 'preferred',
      credential: { id: result.credentialId, publicKey: result.publicKey, signCount: result.signCount },
    });
    expect(login.ok).toBe(true);
  });
});

describe('verifyRegistration', () => {
  it('accepts any one of several expected challenges', async () => {
    const auth = new SoftAuthenticator('ES256');
    const response = auth.register({ challenge: CHALLENGE, origin: ORIGIN, rpId: RP_ID });
    const other = randomBytes(32).toString('base64url');
    expect((await verifyRegistration({ ...input(response), expectedChallenge: [other, CHALLENGE] })).ok).toBe(true);
    expect(await verifyRegistration({ ...input(response), expectedChallenge: [other] })).toEqual({
      ok: false,
      reason: 'invalid_response',
      detail: 'challenge_mismatch',
    });
  });

  it(`refuses a credential id over 1023 bytes (WebAuthn §7.1)`, async () => {
    const auth = new SoftAuthenticator('EdDSA', { credentialIdBytes: 1024 });
    const response = auth.register({ challenge: CHALLENGE, origin: ORIGIN, rpId: RP_ID });
    expect(await verifyRegistration(input(response))).toEqual({
      ok: false,
      reason: 'invalid_response',
      detail: 'malformed_response',
    });
    // @simplewebauthn/server has no such limit.
    expect(await simpleWebAuthnDecision(response, 'preferred')).toBe('accept');
  });

  it.each<[string, (base: VerifyRegistrationInput) => unknown]>([
    ['an empty origin list', (base) => ({ ...base, origins: [] })],
    ['an empty rpId', (base) => ({ ...base, rpId: '' })],
    ['an expected challenge not base64url', (base) => ({ ...base, expectedChallenge: '?' })],
    ['an unknown userVerification', (base) => ({ ...base, userVerification: 'sometimes' })],
  ])('throws MfaError invalid_argument on misuse: %s', async (_name, edit) => {
    const error = await verifyRegistration(edit(input({})) as VerifyRegistrationInput).catch((e: unknown) => e);
    expect(isMfaError(error, 'invalid_argument')).toBe(true);
  });

  it('never throws on arbitrary values', async () => {
    await fc.assert(
      fc.asyncProperty(fc.anything(), async (response) => {
        expect((await verifyRegistration(input(response))).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('loads @simplewebauthn/server only when called (no static import)', () => {
    const source = readFileSync(new URL('../../src/webauthn/registration.ts', import.meta.url), 'utf8');
    expect(source).not.toMatch(/^import(?!\s+type)[^;]*['"]@simplewebauthn\/server['"]/m);
    expect(source).toMatch(/import\('@simplewebauthn\/server'\)/);
  });
});
