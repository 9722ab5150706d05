/**
 * Hostile WebAuthn assertions through the service (DESIGN.md §6.1, §6.2).
 * A table of junk, truncated, oversized, mistyped and misspelt responses:
 * each answer is a typed value (`malformed`, not counted, when the value is
 * not an assertion at all or its credential id is unreadable;
 * `invalid_credential`, counted, otherwise), never a throw, and the record
 * changes by at most the counted failure. Then properties: arbitrary values
 * never throw, and for mutated valid assertions the service decides as
 * @simplewebauthn/server's verifyAuthenticationResponse does, except where
 * test/webauthn/assertion.test.ts documents twofold as stricter.
 */
import { randomBytes } from 'node:crypto';
import { verifyAuthenticationResponse } from '@simplewebauthn/server';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuthenticationResponseJSON } from '../../src/service/webauthn-json.ts';
import type { WebAuthnFactorRecord } from '../../src/stores/index.ts';
import { b64, flipByte } from '../webauthn/soft-authenticator.ts';
import { Harness, ok } from './fixtures.ts';
import { grantWith, halved, Key, keyChallenge, ORIGIN, padded, plugin, registerKey, RP_ID, standardBase64, TEN_MB } from './webauthn-keys.ts';

type Expected = 'malformed' | 'invalid_credential';
type Purpose = 'login' | 'step_up';

interface Case {
  name: string;
  /** The value sent as `{ webauthn }`, from a valid assertion of the user's key for the WebAuthn `challenge`. */
  make: (valid: any, ctx: { key: Key; challenge: string }) => unknown;
  expect: Expected;
}

/** A case that edits a copy of the valid assertion. */
const edit = (name: string, expected: Expected, edits: (r: any) => void): Case => ({
  name,
  expect: expected,
  make: (valid) => {
    edits(valid);
    return valid;
  },
});
const setId = (value: unknown) => (r: any) => {
  r.id = r.rawId = value;
};
const FIELDS = ['clientDataJSON', 'authenticatorData', 'signature'] as const;
type Field = (typeof FIELDS)[number];

/** base64url cut to a length no base64url string has (4n + 1 characters). */
const impossibleLength = (text: string) => text.slice(0, Math.floor((text.length - 2) / 4) * 4 + 1);
/** The decoded bytes less the last one, re-encoded: valid base64url, one byte short. */
const oneByteShort = (text: string) => b64(Buffer.from(text, 'base64url').subarray(0, -1));

const CASES: Case[] = [
  // Not an assertion at all: malformed, not counted.
  { name: 'null', make: () => null, expect: 'malformed' },
  { name: 'undefined', make: () => undefined, expect: 'malformed' },
  ...[0, 42, -1, Number.NaN, Number.POSITIVE_INFINITY].map((n): Case => ({ name: `the number ${n}`, make: () => n, expect: 'malformed' })),
  { name: 'an empty string', make: () => '', expect: 'malformed' },
  { name: 'a string', make: () => 'public-key', expect: 'malformed' },
  { name: 'the assertion as a JSON string', make: (valid) => JSON.stringify(valid), expect: 'malformed' },
  { name: 'a 10 MB string', make: () => 'A'.repeat(TEN_MB), expect: 'malformed' },
  { name: 'true', make: () => true, expect: 'malformed' },
  { name: 'an empty array', make: () => [], expect: 'malformed' },
  { name: 'an array holding the assertion', make: (valid) => [valid], expect: 'malformed' },
  { name: 'an empty object', make: () => ({}), expect: 'malformed' },
  { name: 'only the response member', make: (valid) => ({ response: valid.response }), expect: 'malformed' },

  // An unreadable credential id: malformed, not counted.
  edit('id missing', 'malformed', (r) => delete r.id),
  edit('rawId missing', 'malformed', (r) => delete r.rawId),
  edit('id ≠ rawId', 'malformed', (r) => (r.rawId = new Key().id)),
  ...(
    [
      ['a number', 42],
      ['null', null],
      ['true', true],
      ['an array', ['id']],
      ['an object', { id: 'x' }],
      ['empty', ''],
      ['of 10 MB', 'A'.repeat(TEN_MB)],
      ['over 1023 bytes', b64(randomBytes(1024))],
      ['not base64url', 'not base64url!'],
    ] as const
  ).map(([name, value]) => edit(`id and rawId ${name}`, 'malformed', setId(value))),
  edit('id and rawId in standard base64 (+, /, =)', 'malformed', (r) => {
    const standard = standardBase64(r.id);
    expect(standard).toMatch(/[+/]/);
    setId(standard)(r);
  }),
  edit('id and rawId with = padding', 'malformed', (r) => setId(padded(r.id))(r)),
  edit('id and rawId cut to an impossible base64url length', 'malformed', (r) => setId(impossibleLength(r.id))(r)),

  // A readable id, but not a valid assertion of the user's key: invalid_credential, counted.
  edit('id and rawId of a key registered nowhere', 'invalid_credential', setId(new Key().id)),
  edit('id and rawId cut to a shorter, valid base64url', 'invalid_credential', (r) => setId(halved(r.id))(r)),
  edit('type missing', 'invalid_credential', (r) => delete r.type),
  edit("type 'public_key'", 'invalid_credential', (r) => (r.type = 'public_key')),
  edit('type a number', 'invalid_credential', (r) => (r.type = 1)),
  edit('type null', 'invalid_credential', (r) => (r.type = null)),
  edit('response missing', 'invalid_credential', (r) => delete r.response),
  edit('response null', 'invalid_credential', (r) => (r.response = null)),
  edit('response a string', 'invalid_credential', (r) => (r.response = JSON.stringify(r.response))),
  edit('response an array', 'invalid_credential', (r) => (r.response = [r.response])),
  edit('response a number', 'invalid_credential', (r) => (r.response = 7)),
  edit('response an empty object', 'invalid_credential', (r) => (r.response = {})),
  ...FIELDS.flatMap((field): Case[] => [
    edit(`response.${field} missing`, 'invalid_credential', (r) => delete r.response[field]),
    edit(`response.${field} null`, 'invalid_credential', (r) => (r.response[field] = null)),
    edit(`response.${field} a number`, 'invalid_credential', (r) => (r.response[field] = 123)),
    edit(`response.${field} true`, 'invalid_credential', (r) => (r.response[field] = true)),
    edit(`response.${field} an array`, 'invalid_credential', (r) => (r.response[field] = [r.response[field]])),
    edit(`response.${field} an object`, 'invalid_credential', (r) => (r.response[field] = { value: r.response[field] })),
    edit(`response.${field} empty`, 'invalid_credential', (r) => (r.response[field] = '')),
    edit(`response.${field} of 10 MB`, 'invalid_credential', (r) => (r.response[field] = 'A'.repeat(TEN_MB))),
    edit(`response.${field} truncated to half`, 'invalid_credential', (r) => (r.response[field] = halved(r.response[field]))),
    edit(`response.${field} one byte short`, 'invalid_credential', (r) => (r.response[field] = oneByteShort(r.response[field]))),
    edit(`response.${field} cut to an impossible base64url length`, 'invalid_credential', (r) => (r.response[field] = impossibleLength(r.response[field]))),
    edit(`response.${field} with = padding`, 'invalid_credential', (r) => (r.response[field] = padded(r.response[field]))),
    edit(`response.${field} in standard base64 with padding`, 'invalid_credential', (r) => (r.response[field] = standardBase64(r.response[field]))),
  ]),
  {
    name: 'response.clientDataJSON in standard base64 (+ and /, no padding)',
    expect: 'invalid_credential',
    make: (_valid, { key, challenge }) => {
      // '???' encodes as 'Pz8/' and '>>>' as 'Pj4+' wherever they fall.
      const r: any = key.assertion(challenge, { clientData: { note: '?????>>>>>' } });
      const standard = Buffer.from(r.response.clientDataJSON, 'base64url').toString('base64').replace(/=+$/, '');
      expect(standard).toMatch(/[+/]/);
      r.response.clientDataJSON = standard;
      return r;
    },
  },
  edit('response.userHandle a number', 'invalid_credential', (r) => (r.response.userHandle = 5)),
  edit('response.userHandle an object', 'invalid_credential', (r) => (r.response.userHandle = {})),
  edit('response.userHandle not base64url', 'invalid_credential', (r) => (r.response.userHandle = 'not base64url!')),
  edit('response.userHandle of 65 bytes', 'invalid_credential', (r) => (r.response.userHandle = b64(randomBytes(65)))),
  edit('response.userHandle of 10 MB', 'invalid_credential', (r) => (r.response.userHandle = 'A'.repeat(TEN_MB))),
];

async function aliceWithKey(purpose: Purpose) {
  const h = new Harness({ webauthn: plugin() });
  const key = new Key('ES256');
  // A credential id whose base64url has '-' and '_' ('-_-_…'), so its standard-alphabet spelling differs.
  key.auth.credentialId.set([0xfb, 0xff, 0xbf], 0);
  await registerKey(h, 'alice', key);
  const { challenge, webauthnChallenge } = await keyChallenge(h, 'alice', purpose);
  const verify = (value: unknown) =>
    purpose === 'login' ? h.mfa.verifyLogin(challenge, { webauthn: value as never }) : h.mfa.verifyStepUp(challenge, { webauthn: value as never });
  return { h, key, webauthnChallenge, verify };
}

describe.each<Purpose>(['login', 'step_up'])('hostile assertions answering a %s challenge', (purpose) => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s: a typed refusal, never a throw, the record changed by at most the counted failure', async (_name, c) => {
    const { h, key, webauthnChallenge, verify } = await aliceWithKey(purpose);
    const value = c.make(structuredClone(key.assertion(webauthnChallenge)), { key, challenge: webauthnChallenge });
    const before = (await h.record('alice'))!;
    const mark = h.events.length;

    const result = await verify(value).catch((error: unknown) => ({ threw: String(error) }));
    if (c.expect === 'malformed') {
      expect(result).toEqual({ ok: false, reason: 'malformed' });
      expect(await h.record('alice')).toEqual(before);
      expect(h.events.length).toBe(mark);
    } else {
      expect(result).toEqual({ ok: false, reason: 'invalid_credential', attemptsLeft: 4 });
      expect(await h.record('alice')).toEqual({ ...before, failures: before.failures + 1, failuresSinceSuccess: before.failuresSinceSuccess + 1 });
      expect(h.typesSince(mark)).toEqual(['login.failed']);
    }
    // The challenge is still open and the key still answers it.
    ok(await verify(key.assertion(webauthnChallenge)));
  });

  it('arbitrary values: never a throw, malformed or invalid_credential, and only the latter counted', async () => {
    const { h, key, webauthnChallenge, verify } = await aliceWithKey(purpose);
    const valid = key.assertion(webauthnChallenge);
    const idLike = fc.oneof(fc.constant(valid.id), fc.uint8Array({ maxLength: 40 }).map(b64), fc.string(), fc.anything());
    const value = fc.oneof(
      fc.anything(),
      fc.record({ id: idLike, rawId: idLike, type: fc.oneof(fc.constant('public-key'), fc.anything()), response: fc.anything() }, { requiredKeys: [] }),
    );
    await fc.assert(
      fc.asyncProperty(value, async (v) => {
        const before = (await h.record('alice'))!;
        const result = await verify(v);
        expect(result.ok).toBe(false);
        const reason = (result as { reason: string }).reason;
        expect(['malformed', 'invalid_credential']).toContain(reason);
        expect((await h.record('alice'))!.failures).toBe(before.failures + (reason === 'invalid_credential' ? 1 : 0));
        if (reason === 'invalid_credential') {
          // Reset the count with a success on a fresh challenge, so the run never reaches the lockout.
          const fresh = await keyChallenge(h, 'alice');
          ok(await h.mfa.verifyLogin(fresh.challenge, { webauthn: key.assertion(fresh.webauthnChallenge) }));
        }
      }),
      { numRuns: 100 },
    );
  });

  it('arbitrary field values under the real credential id: never a throw, always invalid_credential, counted', async () => {
    const { h, key, webauthnChallenge, verify } = await aliceWithKey(purpose);
    const valid = key.assertion(webauthnChallenge);
    const field = fc.oneof(fc.string(), fc.base64String(), fc.anything(), fc.uint8Array().map(b64));
    await fc.assert(
      fc.asyncProperty(
        fc.record({ clientDataJSON: field, authenticatorData: field, signature: field, userHandle: field }, { requiredKeys: [] }),
        async (fields) => {
          fc.pre(Object.keys(fields).some((k) => k !== 'userHandle'));
          const before = (await h.record('alice'))!;
          expect(await verify({ ...valid, response: { ...valid.response, ...fields } })).toMatchObject({ ok: false, reason: 'invalid_credential' });
          expect((await h.record('alice'))!.failures).toBe(before.failures + 1);
          const fresh = await keyChallenge(h, 'alice');
          ok(await h.mfa.verifyLogin(fresh.challenge, { webauthn: key.assertion(fresh.webauthnChallenge) }));
        },
      ),
      { numRuns: 100 },
    );
  });
});

// ---------------------------------------------------------------------------

/**
 * Where twofold refuses what @simplewebauthn/server accepts, as documented
 * (and argued) in test/webauthn/assertion.test.ts:
 * - idBinding: @simplewebauthn/server trusts its caller to have looked the
 *   credential up by `id` and never compares them; twofold binds the
 *   response id to the stored credential itself.
 * - der: @simplewebauthn/server's ASN.1 parser ignores the ECDSA signature's
 *   SEQUENCE tag class and length (bytes 0 and 1); node:crypto takes exactly
 *   one DER encoding.
 */
type Mutation =
  | { kind: 'none' }
  | { kind: 'flip'; field: Field; position: number; bit: number }
  | { kind: 'id'; to: 'random' | 'flipped' | 'another key of the user' | "another user's key"; bytes: Uint8Array; position: number; bit: number };

const mutations: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('flip' as const), field: fc.constantFrom(...FIELDS), position: fc.nat(), bit: fc.nat(7) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('id' as const),
      to: fc.constantFrom('random' as const, 'flipped' as const, 'another key of the user' as const, "another user's key" as const),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }),
      position: fc.nat(),
      bit: fc.nat(7),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
);

describe('mutated valid assertions: the service decides as @simplewebauthn/server does, or is stricter where documented', () => {
  const h = new Harness({ webauthn: plugin() });
  const keys = [new Key('ES256'), new Key('EdDSA'), new Key('RS256')];
  const bobKey = new Key('ES256');

  beforeAll(async () => {
    await registerKey(h, 'alice', keys[0]!);
    for (const key of keys.slice(1)) await registerKey(h, 'alice', key, { proof: { stepUp: await grantWith(h, 'alice', keys[0]!) } });
    await registerKey(h, 'bob', bobKey);
  });

  function mutate(response: any, mutation: Mutation, signer: Key): AuthenticationResponseJSON {
    if (mutation.kind === 'flip') {
      const length = Buffer.from(response.response[mutation.field], 'base64url').length;
      response.response[mutation.field] = flipByte(response.response[mutation.field], mutation.position % length, 1 << mutation.bit);
    } else if (mutation.kind === 'id') {
      const others = keys.filter((k) => k !== signer);
      const id =
        mutation.to === 'random'
          ? b64(mutation.bytes)
          : mutation.to === 'flipped'
            ? flipByte(response.id, mutation.position % signer.auth.credentialId.length, 1 << mutation.bit)
            : mutation.to === 'another key of the user'
              ? others[mutation.position % others.length]!.id
              : bobKey.id;
      response.id = response.rawId = id;
    }
    return response;
  }

  async function simpleWebAuthnDecision(response: unknown, credential: WebAuthnFactorRecord, challenge: string): Promise<'accept' | 'refuse'> {
    try {
      const result = await verifyAuthenticationResponse({
        response: response as never,
        expectedChallenge: challenge,
        expectedOrigin: [ORIGIN],
        expectedRPID: RP_ID,
        credential: {
          id: credential.credentialId,
          publicKey: Uint8Array.from(Buffer.from(credential.publicKey, 'base64url')),
          counter: credential.signCount,
        },
        requireUserVerification: false,
      });
      return result.verified ? 'accept' : 'refuse';
    } catch {
      return 'refuse';
    }
  }

  it('over flipped bits in clientDataJSON, authenticatorData and signature, and changed ids (ES256, EdDSA, RS256)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(keys.length - 1), mutations, async (which, mutation) => {
        const signer = keys[which]!;
        const { challenge, webauthnChallenge } = await keyChallenge(h, 'alice');
        const original = signer.assertion(webauthnChallenge);
        const response = mutate(structuredClone(original), mutation, signer);

        // What a host hands @simplewebauthn/server: the credential the response names, else (no lookup) the signer's.
        const factors = (await h.record('alice'))!.factors.filter((f): f is WebAuthnFactorRecord => f.kind === 'webauthn');
        const named = factors.find((f) => f.credentialId === response.id);
        const credential = named ?? factors.find((f) => f.credentialId === signer.id)!;
        const theirs = await simpleWebAuthnDecision(structuredClone(response), credential, webauthnChallenge);

        const result = await h.mfa.verifyLogin(challenge, { webauthn: structuredClone(response) });
        const ours = result.ok ? 'accept' : 'refuse';
        if (result.ok) expect(theirs, 'twofold accepted what @simplewebauthn/server refused').toBe('accept');

        const idBinding = mutation.kind === 'id' && named === undefined;
        const der = mutation.kind === 'flip' && signer.auth.alg === 'ES256' && mutation.field === 'signature' && mutation.position % Buffer.from(original.response.signature, 'base64url').length < 2;
        if (idBinding) {
          expect(ours).toBe('refuse');
          expect(theirs).toBe('accept');
        } else if (der) {
          expect(ours).toBe('refuse');
        } else {
          expect(ours).toBe(theirs);
        }
        if (mutation.kind === 'none') expect(ours).toBe('accept');
        else {
          // Only the mutation made the difference: the original answers the same challenge (and resets the count).
          expect(ours).toBe('refuse');
          ok(await h.mfa.verifyLogin(challenge, { webauthn: original }));
        }
      }),
      { numRuns: 200 },
    );
  });
});
