/**
 * Security keys and passkeys through the service (DESIGN.md §6.1, §6.2):
 * registering one (the first enables MFA), logging in and stepping up with
 * an assertion, and every check that refuses one. Memory stores, a clock
 * moved by hand, real keys (ES256, EdDSA, RS256) from the software
 * authenticator. Each test is named after the rule it checks and fails if
 * the rule goes.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { WebAuthnOptions } from '../../src/webauthn/index.ts';
import { b64, FLAG, SOFT_ALGORITHMS, SoftAuthenticator, type AssertKnobs } from '../webauthn/soft-authenticator.ts';
import { codeAt, expectMfaError, expectNoSecrets, Harness, MINUTE, ok, stringsIn, type ServiceOverrides } from './fixtures.ts';
import {
  grantWith,
  halved,
  Key,
  keyChallenge,
  keyFactor,
  padded,
  plugin,
  registerKey,
  RP_ID,
  standardBase64,
  TEN_MB,
} from './webauthn-keys.ts';

function keyHarness(pluginOptions: Partial<WebAuthnOptions> = {}, overrides: ServiceOverrides = {}): Harness {
  return new Harness({ webauthn: plugin(pluginOptions), ...overrides });
}

const userName = 'alice@example.com';

// ---------------------------------------------------------------------------

describe('registering a security key or passkey (§6.1)', () => {
  it('the first key enables MFA exactly as confirming an authenticator app does: mfa.enabled then factor.added, codes revealable once', async () => {
    const h = keyHarness();
    // alice enables with an app, bob with a key, side by side.
    const app = ok(await h.mfa.beginEnrollment('alice', { accountName: 'alice@example.com' }));
    let mark = h.events.length;
    const appId = ok(await h.mfa.confirmEnrollment('alice', codeAt(app.secret, h.now))).factorId;
    const byApp = h.events.slice(mark);

    const key = new Key();
    const begun = ok(await h.mfa.beginWebAuthnRegistration('bob', { userName: 'bob@example.com' }));
    expect(await h.mfa.status('bob')).toMatchObject({ state: 'enrolling' });
    mark = h.events.length;
    const keyId = ok(await h.mfa.finishWebAuthnRegistration('bob', key.registration(begun.options.challenge))).factorId;
    const byKey = h.events.slice(mark);

    expect(byApp).toEqual([
      { type: 'mfa.enabled', userId: 'alice', at: h.now },
      { type: 'factor.added', userId: 'alice', at: h.now, factorId: appId, kind: 'totp' },
    ]);
    expect(byKey).toEqual([
      { type: 'mfa.enabled', userId: 'bob', at: h.now },
      { type: 'factor.added', userId: 'bob', at: h.now, factorId: keyId, kind: 'webauthn' },
    ]);
    const [aliceStatus, bobStatus] = [await h.mfa.status('alice'), await h.mfa.status('bob')];
    expect(bobStatus).toEqual({ ...aliceStatus, methods: ['webauthn', 'recovery_code'] });
    expect(bobStatus).toMatchObject({ state: 'enabled', recoveryCodesRemaining: 10, recoveryCodesUnrevealed: true });
    const [aliceRecord, bobRecord] = [(await h.record('alice'))!, (await h.record('bob'))!];
    for (const field of ['enabledAt', 'recoveryCodeGeneration', 'challengeEpoch', 'factorEpoch', 'failures', 'lockedUntil'] as const) {
      expect(bobRecord[field], field).toEqual(aliceRecord[field]);
    }
    expect(bobRecord.pendingWebAuthn).toBeNull();

    // Revealable exactly once, and they work.
    const codes = ok(await h.mfa.revealRecoveryCodes('bob')).codes;
    expect(codes).toHaveLength(10);
    expect(await h.mfa.revealRecoveryCodes('bob')).toEqual({ ok: false, reason: 'already_revealed' });
    expect(ok(await h.login('bob', { recoveryCode: codes[0]! }))).toMatchObject({ userId: 'bob', method: 'recovery_code', recoveryCodesRemaining: 9 });
  });

  it("creation options ask for attestation 'none' and list the user's keys (and only theirs) in excludeCredentials", async () => {
    const h = keyHarness();
    const first = ok(await h.mfa.beginWebAuthnRegistration('alice', { userName }));
    expect(first.options).toMatchObject({
      attestation: 'none',
      rp: { id: RP_ID, name: 'Example App' },
      user: { name: userName, displayName: userName },
      excludeCredentials: [],
    });
    expect(first.options.pubKeyCredParams.map((p) => p.alg).sort((a, b) => a - b)).toEqual([-257, -8, -7]);
    const k1 = new Key();
    ok(await h.mfa.finishWebAuthnRegistration('alice', k1.registration(first.options.challenge)));
    await registerKey(h, 'bob', new Key());
    const k2 = new Key();
    await registerKey(h, 'alice', k2, { proof: { stepUp: await grantWith(h, 'alice', k1) } });

    const third = ok(await h.mfa.beginWebAuthnRegistration('alice', { userName, proof: { stepUp: await grantWith(h, 'alice', k1) } }));
    expect(third.options.attestation).toBe('none');
    expect(third.options.excludeCredentials).toEqual([
      { id: k1.id, type: 'public-key', transports: expect.arrayContaining(['usb', 'nfc']) },
      { id: k2.id, type: 'public-key', transports: expect.arrayContaining(['usb', 'nfc']) },
    ]);
  });

  it('the WebAuthn user handle is random, never the user id, and the same for every registration of the user', async () => {
    const h = keyHarness();
    const first = ok(await h.mfa.beginWebAuthnRegistration('alice', { userName }));
    const handle = first.options.user.id;
    const bytes = Buffer.from(handle, 'base64url');
    expect(bytes.length).toBeGreaterThanOrEqual(16);
    for (const idForm of ['alice', b64(Buffer.from('alice')), Buffer.from('alice').toString('hex'), userName]) {
      expect(handle).not.toContain(idForm);
    }
    expect(bytes.toString('latin1')).not.toContain('alice');
    // Random, not derived: another user, and the same user id under another deployment with the same key, get others.
    expect(ok(await h.mfa.beginWebAuthnRegistration('bob', { userName: 'bob@example.com' })).options.user.id).not.toBe(handle);
    expect(ok(await keyHarness().mfa.beginWebAuthnRegistration('alice', { userName })).options.user.id).not.toBe(handle);

    // Stable: a second begin, a finished registration, and the next key all use it.
    expect(ok(await h.mfa.beginWebAuthnRegistration('alice', { userName })).options.user.id).toBe(handle);
    const again = ok(await h.mfa.beginWebAuthnRegistration('alice', { userName }));
    const k1 = new Key();
    ok(await h.mfa.finishWebAuthnRegistration('alice', k1.registration(again.options.challenge)));
    const next = ok(await h.mfa.beginWebAuthnRegistration('alice', { userName, proof: { stepUp: await grantWith(h, 'alice', k1) } }));
    expect(next.options.user.id).toBe(handle);
  });

  it('a user holds at most maxCredentials keys: beginWebAuthnRegistration answers limit_reached and starts nothing', async () => {
    const h = keyHarness({ maxCredentials: 2 });
    const k1 = new Key();
    await registerKey(h, 'alice', k1);
    await registerKey(h, 'alice', new Key(), { proof: { stepUp: await grantWith(h, 'alice', k1) } });
    const grant = await grantWith(h, 'alice', k1);
    const before = await h.record('alice');
    expect(await h.mfa.beginWebAuthnRegistration('alice', { userName, proof: { stepUp: grant } })).toEqual({ ok: false, reason: 'limit_reached' });
    expect(await h.record('alice')).toEqual(before);
    expect(before?.pendingWebAuthn).toBeNull();
  });

  it('finishWebAuthnRegistration re-checks maxCredentials: limit_reached when the limit was lowered since begin', async () => {
    const h = keyHarness({ maxCredentials: 3 });
    const lowered = h.service({ webauthn: plugin({ maxCredentials: 2 }) });
    const k1 = new Key();
    await registerKey(h, 'alice', k1);
    await registerKey(h, 'alice', new Key(), { proof: { stepUp: await grantWith(h, 'alice', k1) } });
    const begun = ok(await h.mfa.beginWebAuthnRegistration('alice', { userName, proof: { stepUp: await grantWith(h, 'alice', k1) } }));
    const before = await h.record('alice');
    const response = new Key().registration(begun.options.challenge);
    expect(await lowered.finishWebAuthnRegistration('alice', response)).toEqual({ ok: false, reason: 'limit_reached' });
    expect(await h.record('alice')).toEqual(before);
    // The same response under the old limit goes through: only the limit refused it.
    ok(await h.mfa.finishWebAuthnRegistration('alice', response));
  });

  it('one credential is registered once per user: the same key again is already_registered, and nothing changes', async () => {
    const h = keyHarness();
    const key = new Key();
    await registerKey(h, 'alice', key);
    const begun = ok(await h.mfa.beginWebAuthnRegistration('alice', { userName, proof: { stepUp: await grantWith(h, 'alice', key) } }));
    const before = await h.record('alice');
    expect(await h.mfa.finishWebAuthnRegistration('alice', key.registration(begun.options.challenge))).toEqual({
      ok: false,
      reason: 'already_registered',
    });
    expect(await h.record('alice')).toEqual(before);
    expect(h.eventsOf('factor.added')).toHaveLength(1);
    // The registration is still open for another key.
    ok(await h.mfa.finishWebAuthnRegistration('alice', new Key().registration(begun.options.challenge)));
  });

  it('finishing needs a begun registration: not_registering without begin, and for the same response twice', async () => {
    const h = keyHarness();
    const key = new Key();
    const made = key.registration(b64(randomBytes(32)));
    expect(await h.mfa.finishWebAuthnRegistration('nobody', made)).toEqual({ ok: false, reason: 'not_registering' });
    expect(await h.record('nobody')).toBeNull();

    const begun = ok(await h.mfa.beginWebAuthnRegistration('alice', { userName }));
    const response = key.registration(begun.options.challenge);
    ok(await h.mfa.finishWebAuthnRegistration('alice', response));
    const before = await h.record('alice');
    expect(await h.mfa.finishWebAuthnRegistration('alice', response)).toEqual({ ok: false, reason: 'not_registering' });
    expect(await h.mfa.finishWebAuthnRegistration('alice', new Key().registration(begun.options.challenge))).toEqual({
      ok: false,
      reason: 'not_registering',
    });
    expect(await h.record('alice')).toEqual(before);
  });

  it('a registration begun before a factor change is void: not_registering', async () => {
    const h = keyHarness();
    const begun = ok(await h.mfa.beginWebAuthnRegistration('alice', { userName }));
    await h.enroll('alice'); // an authenticator app is added (and enables MFA) meanwhile
    const before = await h.record('alice');
    expect(before?.pendingWebAuthn).not.toBeNull();
    expect(await h.mfa.finishWebAuthnRegistration('alice', new Key().registration(begun.options.challenge))).toEqual({
      ok: false,
      reason: 'not_registering',
    });
    expect(await h.record('alice')).toEqual(before);
    expect((await h.mfa.listFactors('alice')).map((f) => f.kind)).toEqual(['totp']);
  });

  it('a registration expires timeoutMs after begin: expired', async () => {
    const h = keyHarness({ timeoutMs: MINUTE });
    const alice = ok(await h.mfa.beginWebAuthnRegistration('alice', { userName }));
    const bob = ok(await h.mfa.beginWebAuthnRegistration('bob', { userName: 'bob@example.com' }));
    expect(alice.expiresAt).toBe(h.now + MINUTE);
    expect(alice.options.timeout).toBe(MINUTE);
    h.clock.set(alice.expiresAt - 1);
    ok(await h.mfa.finishWebAuthnRegistration('alice', new Key().registration(alice.options.challenge)));
    h.clock.set(bob.expiresAt);
    const before = await h.record('bob');
    expect(await h.mfa.finishWebAuthnRegistration('bob', new Key().registration(bob.options.challenge))).toEqual({ ok: false, reason: 'expired' });
    expect(await h.record('bob')).toEqual(before);
  });

  it("a response made for another registration's challenge is invalid_response (a begin replaced by a later one, another user's)", async () => {
    const h = keyHarness();
    const key = new Key();
    const stale = ok(await h.mfa.beginWebAuthnRegistration('alice', { userName }));
    const bobs = ok(await h.mfa.beginWebAuthnRegistration('bob', { userName: 'bob@example.com' }));
    const current = ok(await h.mfa.beginWebAuthnRegistration('alice', { userName }));
    expect(current.options.challenge).not.toBe(stale.options.challenge);
    const before = await h.record('alice');
    for (const challenge of [stale.options.challenge, bobs.options.challenge, b64(randomBytes(32))]) {
      expect(await h.mfa.finishWebAuthnRegistration('alice', key.registration(challenge))).toEqual({ ok: false, reason: 'invalid_response' });
    }
    expect(await h.record('alice')).toEqual(before);
    ok(await h.mfa.finishWebAuthnRegistration('alice', key.registration(current.options.challenge)));
  });

  interface BadRegistration {
    name: string;
    /** The response to send, made for the begun registration's `challenge` unless it says otherwise. */
    make: (ctx: { key: Key; challenge: string }) => unknown;
    userVerification?: 'required';
  }
  const edit = (edits: (r: any) => void) => (ctx: { key: Key; challenge: string }) => {
    const response = ctx.key.registration(ctx.challenge);
    edits(response);
    return response;
  };
  const BAD_REGISTRATIONS: BadRegistration[] = [
    { name: 'null', make: () => null },
    { name: 'a number', make: () => 42 },
    { name: 'a string', make: () => 'public-key' },
    { name: 'the response as a JSON string', make: ({ key, challenge }) => JSON.stringify(key.registration(challenge)) },
    { name: 'an array', make: ({ key, challenge }) => [key.registration(challenge)] },
    { name: 'an empty object', make: () => ({}) },
    { name: 'a 10 MB string', make: () => 'A'.repeat(TEN_MB) },
    { name: 'clientDataJSON truncated', make: edit((r) => (r.response.clientDataJSON = halved(r.response.clientDataJSON))) },
    { name: 'attestationObject truncated', make: edit((r) => (r.response.attestationObject = halved(r.response.attestationObject))) },
    { name: 'attestationObject cut by one byte', make: edit((r) => (r.response.attestationObject = b64(Buffer.from(r.response.attestationObject, 'base64url').subarray(0, -1)))) },
    { name: 'clientDataJSON of 10 MB', make: edit((r) => (r.response.clientDataJSON = 'A'.repeat(TEN_MB))) },
    { name: 'attestationObject of 10 MB', make: edit((r) => (r.response.attestationObject = 'A'.repeat(TEN_MB))) },
    { name: 'id and rawId of 10 MB', make: edit((r) => (r.id = r.rawId = 'A'.repeat(TEN_MB))) },
    { name: 'id and rawId numbers', make: edit((r) => (r.id = r.rawId = 42)) },
    { name: 'id ≠ rawId', make: edit((r) => (r.rawId = new Key().id)) },
    { name: 'id and rawId of another credential than the attested one', make: edit((r) => (r.id = r.rawId = new Key().id)) },
    { name: 'type not public-key', make: edit((r) => (r.type = 'public_key')) },
    { name: 'response a string', make: edit((r) => (r.response = 'response')) },
    { name: 'response missing', make: edit((r) => delete r.response) },
    { name: 'clientDataJSON a number', make: edit((r) => (r.response.clientDataJSON = 7)) },
    { name: 'clientDataJSON missing', make: edit((r) => delete r.response.clientDataJSON) },
    { name: 'attestationObject an array', make: edit((r) => (r.response.attestationObject = [r.response.attestationObject])) },
    { name: 'attestationObject an object', make: edit((r) => (r.response.attestationObject = { value: r.response.attestationObject })) },
    { name: 'transports a string', make: edit((r) => (r.response.transports = 'usb')) },
    { name: 'transports not strings', make: edit((r) => (r.response.transports = [1, 2])) },
    {
      name: 'clientDataJSON in standard base64 (+, /, =)',
      make: ({ key, challenge }) => {
        // '???' encodes as 'Pz8/' and '>>>' as 'Pj4+' wherever they fall: the standard spelling has '/' and '+'.
        const response: any = key.registration(challenge, { clientData: { note: '?????>>>>>' } });
        const standard = standardBase64(response.response.clientDataJSON);
        expect(standard).toMatch(/[+/]/);
        response.response.clientDataJSON = standard;
        return response;
      },
    },
    { name: 'attestationObject with = padding', make: edit((r) => (r.response.attestationObject = padded(r.response.attestationObject))) },
    { name: 'clientData type webauthn.get', make: ({ key, challenge }) => key.registration(challenge, { clientData: { type: 'webauthn.get' } }) },
    { name: 'clientData of another origin', make: ({ key, challenge }) => key.registration(challenge, { origin: 'https://evil.example' }) },
    { name: 'a credential scoped to another RP ID', make: ({ key, challenge }) => key.registration(challenge, { rpId: 'evil.example' }) },
    {
      name: "attestation fmt 'packed' with a garbage statement",
      make: ({ key, challenge }) =>
        key.registration(challenge, { fmt: 'packed', attStmt: new Map<string, Uint8Array | number>([['alg', -7], ['sig', randomBytes(70)]]) }),
    },
    { name: "attestation fmt 'none' with a statement", make: ({ key, challenge }) => key.registration(challenge, { attStmt: { sig: randomBytes(8) } }) },
    { name: 'user presence (UP) missing', make: ({ key, challenge }) => key.registration(challenge, { flags: FLAG.UV }) },
    {
      name: 'user verification (UV) missing when required',
      make: ({ key, challenge }) => key.registration(challenge, { flags: FLAG.UP }),
      userVerification: 'required',
    },
    { name: 'an RSA key under 2048 bits', make: ({ challenge }) => new Key('RS256', { rsaBits: 1024 }).registration(challenge) },
  ];

  it.each(BAD_REGISTRATIONS.map((c) => [c.name, c] as const))(
    'a registration response that is %s is invalid_response, never a throw, and changes nothing',
    async (_name, c) => {
      const h = keyHarness(c.userVerification ? { userVerification: c.userVerification } : {});
      const key = new Key();
      const begun = ok(await h.mfa.beginWebAuthnRegistration('alice', { userName }));
      const before = await h.record('alice');
      const mark = h.events.length;
      const response = c.make({ key, challenge: begun.options.challenge });
      await expect(h.mfa.finishWebAuthnRegistration('alice', response as never)).resolves.toEqual({ ok: false, reason: 'invalid_response' });
      expect(await h.record('alice')).toEqual(before);
      expect(h.events.length).toBe(mark);
      // The registration is still open: the real response goes through.
      ok(await h.mfa.finishWebAuthnRegistration('alice', key.registration(begun.options.challenge)));
    },
  );

  it.each(SOFT_ALGORITHMS)('%s keys register and log in', async (alg) => {
    const h = keyHarness();
    const key = new Key(alg);
    const factorId = await registerKey(h, 'alice', key);
    const { challenge, webauthnChallenge } = await keyChallenge(h, 'alice');
    expect(await h.mfa.verifyLogin(challenge, { webauthn: key.assertion(webauthnChallenge) })).toEqual({
      ok: true,
      userId: 'alice',
      method: 'webauthn',
      factorId,
      recoveryCodesRemaining: 10,
    });
  });
});

// ---------------------------------------------------------------------------

describe('logging in with a key (§6.1, §6.2)', () => {
  it("startLogin offers 'webauthn' with request options whose allowCredentials are exactly the user's keys", async () => {
    const h = keyHarness();
    const [k1, k2, bobKey] = [new Key(), new Key('EdDSA'), new Key()];
    await registerKey(h, 'alice', k1);
    await registerKey(h, 'alice', k2, { proof: { stepUp: await grantWith(h, 'alice', k1) } });
    await registerKey(h, 'bob', bobKey);
    const started = await h.mfa.startLogin('alice');
    expect(started).toMatchObject({
      ok: true,
      mfaRequired: true,
      methods: ['webauthn', 'recovery_code'],
      webauthn: { rpId: RP_ID, userVerification: 'preferred', timeout: 5 * MINUTE },
    });
    const { webauthn } = started as { webauthn: { allowCredentials: Array<{ id: string; type: string }> } };
    expect(webauthn.allowCredentials.map((c) => [c.id, c.type])).toEqual([
      [k1.id, 'public-key'],
      [k2.id, 'public-key'],
    ]);
    // A user holding an app too is offered both, keys first.
    const carol = await h.enroll('carol');
    const carolKey = new Key();
    await registerKey(h, 'carol', carolKey, { proof: { totp: h.freshCode(carol.secret) } });
    const carols = await h.mfa.startLogin('carol');
    expect(carols).toMatchObject({ methods: ['webauthn', 'totp', 'recovery_code'], webauthn: { allowCredentials: [{ id: carolKey.id }] } });
  });

  it('each startLogin carries its own WebAuthn challenge', async () => {
    const h = keyHarness();
    await registerKey(h, 'alice', new Key());
    const seen = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const { webauthnChallenge } = await keyChallenge(h, 'alice');
      expect(Buffer.from(webauthnChallenge, 'base64url').length).toBeGreaterThanOrEqual(16);
      seen.add(webauthnChallenge);
    }
    expect(seen.size).toBe(5);
    seen.add((await keyChallenge(h, 'alice', 'step_up')).webauthnChallenge);
    expect(seen.size).toBe(6);
  });

  it('a valid assertion logs in and names the key that answered (login.succeeded, counter and last use stored)', async () => {
    const h = keyHarness();
    const [k1, k2] = [new Key(), new Key()];
    await registerKey(h, 'alice', k1);
    const f2 = await registerKey(h, 'alice', k2, { proof: { stepUp: await grantWith(h, 'alice', k1) } });
    h.clock.advance(MINUTE);
    const { challenge, webauthnChallenge } = await keyChallenge(h, 'alice');
    const mark = h.events.length;
    expect(await h.mfa.verifyLogin(challenge, { webauthn: k2.assertion(webauthnChallenge) })).toEqual({
      ok: true,
      userId: 'alice',
      method: 'webauthn',
      factorId: f2,
      recoveryCodesRemaining: 10,
    });
    expect(h.events.slice(mark)).toEqual([
      { type: 'login.succeeded', userId: 'alice', at: h.now, method: 'webauthn', factorId: f2, recoveryCodesRemaining: 10 },
    ]);
    expect(await keyFactor(h, 'alice', k2)).toMatchObject({ signCount: k2.counter, lastUsedAt: h.now });
  });

  interface Refusal {
    name: string;
    make: (ctx: { key: Key; bobKey: Key; challenge: string; otherChallenge: string }) => unknown;
    userVerification?: 'required';
    /** A validly signed assertion whose counter did not increase: also reported. */
    counterRegressed?: boolean;
  }
  /** The stored counter in these cases (the key reports it at registration). */
  const STORED_COUNT = 5;
  const by = (knobs: Partial<AssertKnobs>) => ({ key, challenge }: { key: Key; challenge: string }) => key.assertion(challenge, knobs);
  const REFUSALS: Refusal[] = [
    { name: 'an origin not in the list', make: by({ origin: 'https://evil.example' }) },
    { name: 'a subdomain origin not in the list', make: by({ origin: 'https://login.example.com' }) },
    { name: 'a credential of another RP ID (rpIdHash)', make: by({ rpId: 'evil.example' }) },
    { name: "clientData type 'webauthn.create'", make: by({ clientData: { type: 'webauthn.create' } }) },
    { name: "the challenge of another startLogin", make: ({ key, otherChallenge }) => key.assertion(otherChallenge) },
    { name: 'user presence (UP) missing', make: by({ flags: FLAG.UV }) },
    { name: "user verification (UV) missing when userVerification is 'required'", make: by({ flags: FLAG.UP }), userVerification: 'required' },
    { name: 'a signature by another key', make: by({ signer: new SoftAuthenticator('ES256') }) },
    { name: 'a signature over other data', make: by({ signedData: (data) => data.slice(0, -1) }) },
    { name: 'an unknown credential id (a key registered nowhere)', make: ({ challenge }) => new Key().assertion(challenge) },
    { name: "another user's key (bob's, on alice's challenge)", make: ({ bobKey, challenge }) => bobKey.assertion(challenge) },
    { name: 'a counter equal to the stored one', make: by({ counter: STORED_COUNT }), counterRegressed: true },
    { name: 'a counter lower than the stored one', make: by({ counter: STORED_COUNT - 1 }), counterRegressed: true },
    { name: 'a counter back to 0 after a non-zero one', make: by({ counter: 0 }), counterRegressed: true },
  ];

  it.each(REFUSALS.map((c) => [c.name, c] as const))(
    'refuses an assertion with %s: invalid_credential with attemptsLeft, counted towards the lockout',
    async (_name, c) => {
      const h = keyHarness(c.userVerification ? { userVerification: c.userVerification } : {});
      const key = new Key('ES256', { counter: STORED_COUNT });
      const factorId = await registerKey(h, 'alice', key);
      const bobKey = new Key();
      await registerKey(h, 'bob', bobKey);
      const other = await keyChallenge(h, 'alice');
      const { challenge, webauthnChallenge } = await keyChallenge(h, 'alice');
      const refused = c.make({ key, bobKey, challenge: webauthnChallenge, otherChallenge: other.webauthnChallenge });
      const before = (await h.record('alice'))!;
      const mark = h.events.length;

      expect(await h.mfa.verifyLogin(challenge, { webauthn: refused as never })).toEqual({ ok: false, reason: 'invalid_credential', attemptsLeft: 4 });
      expect(await h.record('alice')).toEqual({ ...before, failures: 1, failuresSinceSuccess: 1 });
      expect(h.events.slice(mark)).toEqual([
        ...(c.counterRegressed ? [{ type: 'webauthn.counter_regressed', userId: 'alice', at: h.now, factorId }] : []),
        { type: 'login.failed', userId: 'alice', at: h.now, method: 'webauthn', reason: 'invalid_credential', context: 'login', attemptsLeft: 4 },
      ]);
      // Only the defect refused it: the key's own assertion on the same challenge logs in.
      expect(await h.mfa.verifyLogin(challenge, { webauthn: key.assertion(webauthnChallenge) })).toMatchObject({ ok: true, factorId });
    },
  );

  it("user verification (UV) missing is accepted when userVerification is 'preferred'", async () => {
    const h = keyHarness({ userVerification: 'preferred' });
    const key = new Key();
    const begun = ok(await h.mfa.beginWebAuthnRegistration('alice', { userName }));
    const factorId = ok(await h.mfa.finishWebAuthnRegistration('alice', key.registration(begun.options.challenge, { flags: FLAG.UP }))).factorId;
    const { challenge, webauthnChallenge } = await keyChallenge(h, 'alice');
    expect(await h.mfa.verifyLogin(challenge, { webauthn: key.assertion(webauthnChallenge, { flags: FLAG.UP }) })).toMatchObject({ ok: true, factorId });
  });

  it('a counter that does not increase is refused and reported: webauthn.counter_regressed with the factor id and nothing secret', async () => {
    const h = keyHarness();
    const key = new Key();
    const factorId = await registerKey(h, 'alice', key);
    for (let i = 0; i < 2; i++) {
      const { challenge, webauthnChallenge } = await keyChallenge(h, 'alice');
      ok(await h.mfa.verifyLogin(challenge, { webauthn: key.assertion(webauthnChallenge) }));
    }
    const stored = await keyFactor(h, 'alice', key);
    expect(stored.signCount).toBe(3);

    // A clone of the key, a step behind the original.
    const { challenge, webauthnChallenge } = await keyChallenge(h, 'alice');
    const cloned = key.assertion(webauthnChallenge, { counter: 3 });
    expect(await h.mfa.verifyLogin(challenge, { webauthn: cloned })).toEqual({ ok: false, reason: 'invalid_credential', attemptsLeft: 4 });
    const reported = h.eventsOf('webauthn.counter_regressed');
    expect(reported).toEqual([{ type: 'webauthn.counter_regressed', userId: 'alice', at: h.now, factorId }]);
    expect((await keyFactor(h, 'alice', key)).signCount).toBe(3);
    expectNoSecrets(
      stringsIn(h.events),
      [
        key.id,
        stored.publicKey,
        key.auth.storedKey,
        challenge,
        webauthnChallenge,
        cloned.response.signature,
        cloned.response.clientDataJSON,
        cloned.response.authenticatorData,
      ],
      'events',
    );
    ok(await h.mfa.verifyLogin(challenge, { webauthn: key.assertion(webauthnChallenge) }));
  });

  it('a key without a signature counter (0 → 0) is accepted every time, and nothing is reported', async () => {
    const h = keyHarness();
    const key = new Key('EdDSA', { counting: false });
    const factorId = await registerKey(h, 'alice', key);
    for (let i = 0; i < 3; i++) {
      const { challenge, webauthnChallenge } = await keyChallenge(h, 'alice');
      expect(await h.mfa.verifyLogin(challenge, { webauthn: key.assertion(webauthnChallenge) })).toMatchObject({ ok: true, factorId });
    }
    expect((await keyFactor(h, 'alice', key)).signCount).toBe(0);
    expect(h.eventsOf('webauthn.counter_regressed')).toEqual([]);
  });

  it('five refused assertions lock the account (account.locked); then even a valid one is refused', async () => {
    const h = keyHarness();
    const key = new Key();
    await registerKey(h, 'alice', key);
    const { challenge, webauthnChallenge } = await keyChallenge(h, 'alice');
    const refused = [
      key.assertion(webauthnChallenge, { origin: 'https://evil.example' }),
      key.assertion(webauthnChallenge, { signer: new SoftAuthenticator('ES256') }),
      new Key().assertion(webauthnChallenge),
      key.assertion(webauthnChallenge, { flags: FLAG.UV }),
    ];
    for (const [i, assertion] of refused.entries()) {
      expect(await h.mfa.verifyLogin(challenge, { webauthn: assertion })).toEqual({ ok: false, reason: 'invalid_credential', attemptsLeft: 4 - i });
    }
    expect(h.eventsOf('account.locked')).toEqual([]);
    const fifth = key.assertion(webauthnChallenge, { counter: 1 }); // the counter the key registered with
    expect(await h.mfa.verifyLogin(challenge, { webauthn: fifth })).toEqual({ ok: false, reason: 'locked', retryAt: h.now + MINUTE });
    expect(h.eventsOf('account.locked')).toEqual([{ type: 'account.locked', userId: 'alice', at: h.now, cause: 'failures', retryAt: h.now + MINUTE }]);
    expect(await h.mfa.verifyLogin(challenge, { webauthn: key.assertion(webauthnChallenge) })).toMatchObject({ ok: false, reason: 'locked' });
    expect(await h.mfa.startLogin('alice')).toEqual({ ok: false, mfaRequired: true, reason: 'locked', retryAt: h.now + MINUTE });
    expect(h.eventsOf('login.succeeded')).toEqual([]);
  });

  it('an assertion answers its challenge once: replayed on the same challenge it fails, on any instance', async () => {
    // No counter: only the single-use challenge stands between a replay and a second login.
    const h = keyHarness();
    const key = new Key('ES256', { counting: false });
    await registerKey(h, 'alice', key);
    const { challenge, webauthnChallenge } = await keyChallenge(h, 'alice');
    const assertion = key.assertion(webauthnChallenge);
    ok(await h.mfa.verifyLogin(challenge, { webauthn: structuredClone(assertion) }));
    expect(await h.mfa.verifyLogin(challenge, { webauthn: structuredClone(assertion) })).toEqual({ ok: false, reason: 'challenge_invalid' });
    expect(await h.service().verifyLogin(challenge, { webauthn: structuredClone(assertion) })).toEqual({ ok: false, reason: 'challenge_invalid' });
    expect(h.eventsOf('login.succeeded')).toHaveLength(1);
  });

  it('50 parallel submissions of one valid assertion on one challenge: exactly one logs in', async () => {
    const h = keyHarness();
    const other = h.service();
    const key = new Key('ES256', { counting: false });
    await registerKey(h, 'alice', key);
    const { challenge, webauthnChallenge } = await keyChallenge(h, 'alice');
    const assertion = key.assertion(webauthnChallenge);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? h.mfa : other).verifyLogin(challenge, { webauthn: structuredClone(assertion) })),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok)).toEqual(Array(49).fill({ ok: false, reason: 'challenge_invalid' }));
    expect(h.eventsOf('login.succeeded')).toHaveLength(1);
    expect((await h.record('alice'))?.failures).toBe(0);
  });

  it('a login challenge is not accepted by verifyStepUp, nor a step-up challenge by verifyLogin', async () => {
    const h = keyHarness();
    const key = new Key('ES256', { counting: false });
    const factorId = await registerKey(h, 'alice', key);
    const login = await keyChallenge(h, 'alice', 'login');
    const stepUp = await keyChallenge(h, 'alice', 'step_up');
    const forLogin = key.assertion(login.webauthnChallenge);
    const forStepUp = key.assertion(stepUp.webauthnChallenge);

    expect(await h.mfa.verifyStepUp(login.challenge, { webauthn: forLogin })).toEqual({ ok: false, reason: 'challenge_invalid' });
    expect(await h.mfa.verifyLogin(stepUp.challenge, { webauthn: forStepUp })).toEqual({ ok: false, reason: 'challenge_invalid' });
    expect(h.eventsOf('step_up.succeeded')).toEqual([]);
    expect(h.eventsOf('login.succeeded')).toEqual([]);
    // Each where it belongs.
    expect(await h.mfa.verifyStepUp(stepUp.challenge, { webauthn: forStepUp })).toMatchObject({ ok: true, method: 'webauthn', factorId });
    expect(await h.mfa.verifyLogin(login.challenge, { webauthn: forLogin })).toMatchObject({ ok: true, method: 'webauthn', factorId });
  });

  it('a key proves a step-up: a grant, the factor that answered, step_up.succeeded', async () => {
    const h = keyHarness();
    const key = new Key();
    const factorId = await registerKey(h, 'alice', key);
    const { challenge, webauthnChallenge } = await keyChallenge(h, 'alice', 'step_up');
    const result = ok(await h.mfa.verifyStepUp(challenge, { webauthn: key.assertion(webauthnChallenge) }));
    expect(result).toMatchObject({ userId: 'alice', method: 'webauthn', factorId, expiresAt: h.now + 10 * MINUTE });
    expect(h.eventsOf('step_up.succeeded')).toEqual([{ type: 'step_up.succeeded', userId: 'alice', at: h.now, method: 'webauthn', factorId }]);
    ok(await h.mfa.regenerateRecoveryCodes('alice', { stepUp: result.grant }));
  });

  it('an assertion needs a challenge: { webauthn } as proof for disable, regenerate, removeFactor or adding a factor is malformed, not counted', async () => {
    const h = keyHarness();
    const key = new Key();
    const factorId = await registerKey(h, 'alice', key);
    const { challenge, webauthnChallenge } = await keyChallenge(h, 'alice');
    const proof = { webauthn: key.assertion(webauthnChallenge) };
    const before = await h.record('alice');
    const malformed = { ok: false, reason: 'malformed' };
    expect(await h.mfa.disable('alice', proof)).toEqual(malformed);
    expect(await h.mfa.regenerateRecoveryCodes('alice', proof)).toEqual(malformed);
    expect(await h.mfa.removeFactor('alice', factorId, proof)).toEqual(malformed);
    expect(await h.mfa.beginEnrollment('alice', { accountName: userName, proof })).toEqual(malformed);
    expect(await h.mfa.beginWebAuthnRegistration('alice', { userName, proof })).toEqual(malformed);
    expect(await h.record('alice')).toEqual(before);
    expect(h.eventsOf('login.failed')).toEqual([]);
    // The assertion is still good where it belongs.
    expect(await h.mfa.verifyLogin(challenge, proof)).toMatchObject({ ok: true, factorId });
  });
});

// ---------------------------------------------------------------------------

describe('without the WebAuthn plugin', () => {
  it('beginWebAuthnRegistration and finishWebAuthnRegistration throw MfaError invalid_option', async () => {
    const h = new Harness();
    await expectMfaError(h.mfa.beginWebAuthnRegistration('alice', { userName }), 'invalid_option');
    await expectMfaError(h.mfa.finishWebAuthnRegistration('alice', new Key().registration(b64(randomBytes(32)))), 'invalid_option');
    expect(await h.record('alice')).toBeNull();
    // Also for an enabled user.
    await h.enroll('bob');
    await expectMfaError(h.mfa.beginWebAuthnRegistration('bob', { userName: 'bob@example.com' }), 'invalid_option');
  });

  it.each([
    ['without the plugin', () => new Harness()],
    ['with the plugin', () => keyHarness()],
  ])('startLogin and startStepUp of a user with only an authenticator app have no webauthn member (%s)', async (_name, make) => {
    const h = make();
    await h.enroll('alice');
    const started = await h.mfa.startLogin('alice');
    expect(started).toMatchObject({ ok: true, mfaRequired: true, methods: ['totp', 'recovery_code'] });
    expect('webauthn' in started).toBe(false);
    const stepUp = await h.mfa.startStepUp('alice');
    expect(stepUp).toMatchObject({ ok: true, methods: ['totp', 'recovery_code'] });
    expect('webauthn' in stepUp).toBe(false);
  });
});
