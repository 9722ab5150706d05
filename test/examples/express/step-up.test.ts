/**
 * Step-up ("sudo mode") in the example host: the step-up page (code, recovery
 * code or key, like the login), the grant kept in the session with its
 * expiry, returning to the page that asked (allow-listed paths only), the
 * grant's lifetime by the app clock, and what happens when twofold says the
 * grant is dead.
 */
import { describe, expect, it } from 'vitest';
import { safeReturnPath } from '../../../examples/express/step-up.ts';
import {
  addKey,
  answerStepUp,
  csrfOf,
  disableMfa,
  followText,
  keyOptionsOf,
  MINUTE,
  nextCode,
  openWithStepUp,
  regenerateCodes,
  SECOND,
  sessionOf,
  sharedServer,
  signup,
  signupAndEnroll,
  signupWithKey,
  TestKey,
  textOf,
  toStepUp,
  withCode,
  wrongCode,
} from './helpers.ts';

const { server, client } = sharedServer();

describe('the step-up page', () => {
  it('asks for a code (and offers the key button to a user with a key), says what for, and returns to the page that asked', async () => {
    const c = client();
    const user = await signupAndEnroll(server, c);
    await addKey(server, c, user, new TestKey(), { answer: withCode(server, user) });
    const page = await c.get('/mfa/step-up?return=/mfa/recovery-codes/regenerate');
    expect(page.status).toBe(200);
    expect(textOf(page.body)).toContain(
      'To generate new recovery codes, confirm it is you with your second factor: use your security key, or enter a code from your authenticator app.',
    );
    expect(page.body).toContain('action="/mfa/step-up"');
    expect(page.body).toContain('action="/mfa/step-up/webauthn"');
    expect(page.body).toContain('Use your security key');
    const pending = (await sessionOf(server, c))!.pendingStepUp as Record<string, unknown>;
    expect(pending).toMatchObject({ returnTo: '/mfa/recovery-codes/regenerate', methods: ['webauthn', 'totp', 'recovery_code'] });
    expect(page.body).not.toContain(pending.challenge as string);

    const done = await answerStepUp(server, c, page, { code: nextCode(server, user.secret) });
    expect(done.status).toBe(303);
    expect(done.location).toBe('/mfa/recovery-codes/regenerate');
    expect((await c.get(done.location!)).status).toBe(200);
  });

  it('works with a key (a key-only user)', async () => {
    const c = client();
    const user = await signupWithKey(server, c);
    const page = await c.get('/mfa/step-up?return=/mfa/disable');
    expect(page.body).toMatch(/<label for="code">Recovery code<\/label>/);
    const done = await answerStepUp(server, c, page, { key: user.key });
    expect(done.location).toBe('/mfa/disable');
  });

  it('keeps the grant and its expiry in the session (never in the page), under a new session id: a copy of the old cookie is signed out', async () => {
    const c = client();
    const user = await signupAndEnroll(server, c);
    const page = await c.get('/mfa/step-up?return=/mfa/disable');
    const before = c.cookies.get('twofold.sid');
    const stolen = c.clone();
    const done = await answerStepUp(server, c, page, { code: nextCode(server, user.secret) });
    expect(done.setCookies).toHaveLength(1);
    expect(c.cookies.get('twofold.sid')).not.toBe(before);
    const data = await sessionOf(server, c);
    const stepUp = data!.stepUp as { grant: string; expiresAt: number };
    expect(stepUp.expiresAt).toBe(server.clock.ms + 10 * MINUTE);
    expect(stepUp.grant).toEqual(expect.any(String));
    expect(data!.pendingStepUp).toBeUndefined();
    expect(data!.userId).toBe((await server.accounts.byUsername(user.username))!.id);
    const confirm = await c.get('/mfa/disable');
    expect(confirm.status).toBe(200);
    expect(confirm.body).not.toContain(stepUp.grant);
    expect((await stolen.get('/mfa/disable')).location).toBe('/login');
  });

  it('one grant serves several changes while it lives: new codes, then turning MFA off, with one step-up', async () => {
    const c = client();
    const user = await signupAndEnroll(server, c);
    let stepUps = 0;
    const answer = () => {
      stepUps += 1;
      return { code: nextCode(server, user.secret) };
    };
    expect((await regenerateCodes(server, c, answer)).location).toBe('/mfa/recovery-codes');
    server.clock.advance(5 * MINUTE);
    expect(textOf((await c.get('/account')).body)).toContain('You confirmed your second factor');
    expect((await disableMfa(server, c, answer)).location).toBe('/account');
    expect(stepUps).toBe(1);
    // Turning MFA off killed the grant; the app dropped it.
    expect((await sessionOf(server, c))!.stepUp).toBeUndefined();
  });

  it('a wrong key at the step-up counts towards the lockout like a wrong code', async () => {
    const c = client();
    const user = await signupWithKey(server, c);
    const page = await c.get('/mfa/step-up?return=/mfa/disable');
    const wrong = await answerStepUp(server, c, page, { key: user.key, knobs: { origin: 'https://evil.example' } });
    expect(wrong.status).toBe(401);
    expect(textOf(wrong.body)).toContain('That security key was not accepted (not one of yours, or not for this site). 4 attempts left');
    const stranger = await answerStepUp(server, c, wrong, { key: new TestKey() });
    expect(textOf(stranger.body)).toContain('3 attempts left');
    const garbage = await c.post('/mfa/step-up/webauthn', { _csrf: csrfOf(wrong.body, '/mfa/step-up/webauthn'), response: '' });
    expect(garbage.status).toBe(400);
    expect(textOf(garbage.body)).toContain('Your browser sent no answer from a security key.');
    expect((await answerStepUp(server, c, garbage, { key: user.key })).location).toBe('/mfa/disable');
  });

  it('a user without MFA has nothing to confirm; without a session it is the login', async () => {
    const c = client();
    await signup(c);
    const reply = await c.get('/mfa/step-up?return=/mfa/disable');
    expect(reply.location).toBe('/account');
    expect(await followText(c, reply)).toContain('Two-factor authentication is off: there is nothing to confirm.');
    expect((await client().get('/mfa/step-up')).location).toBe('/login');
  });

  it('a step-up challenge that expired (5 minutes) starts a new one', async () => {
    const c = client();
    const user = await signupAndEnroll(server, c);
    const page = await c.get('/mfa/step-up?return=/mfa/disable');
    server.clock.advance(5 * MINUTE + SECOND);
    const late = await answerStepUp(server, c, page, { code: nextCode(server, user.secret) });
    expect(late.status).toBe(400);
    expect(textOf(late.body)).toContain('That took too long. Confirm again.');
    expect((await answerStepUp(server, c, late, { code: nextCode(server, user.secret) })).location).toBe('/mfa/disable');
  });
});

describe('the grant dies', () => {
  it('after its lifetime by the app clock: the confirmation pages ask again, nothing changes', async () => {
    const c = client();
    const user = await signupAndEnroll(server, c);
    expect((await openWithStepUp(server, c, '/mfa/disable', withCode(server, user))).status).toBe(200);
    const csrf = await c.csrf('/account');
    server.clock.advance(10 * MINUTE);
    expect(toStepUp(await c.get('/mfa/disable'))).toBe(true);
    const post = await c.post('/mfa/disable', { _csrf: csrf });
    expect(post.location).toBe('/mfa/step-up?return=%2Fmfa%2Fdisable');
    expect((await sessionOf(server, c))!.stepUp).toBeUndefined();
    expect((await server.mfa.status((await server.accounts.byUsername(user.username))!.id)).state).toBe('enabled');
    expect(textOf((await c.get('/account')).body)).not.toContain('You confirmed your second factor');
  });

  it('when twofold kills it (a factor added in another session): step_up_invalid, dropped, the user steps up again', async () => {
    const phone = client();
    const user = await signupAndEnroll(server, phone);
    const confirm = await openWithStepUp(server, phone, '/mfa/disable', withCode(server, user));
    expect(confirm.status).toBe(200);
    // Meanwhile, on the laptop: a step-up of its own, and a new key (the factor epoch moves).
    const laptop = client();
    await loginWithCodeNow(laptop, user);
    await addKey(server, laptop, user, new TestKey(), { answer: withCode(server, user) });

    // The phone's grant still looks alive to the app, but twofold refuses it.
    const reply = await phone.post('/mfa/disable', { _csrf: csrfOf(confirm.body, '/mfa/disable') });
    expect(reply.status).toBe(303);
    expect(reply.location).toBe('/mfa/step-up?return=%2Fmfa%2Fdisable');
    expect((await sessionOf(server, phone))!.stepUp).toBeUndefined();
    const page = await phone.get(reply.location!);
    expect(textOf(page.body)).toContain('Please confirm your second factor again.');
    expect((await server.mfa.status((await server.accounts.byUsername(user.username))!.id)).state).toBe('enabled');
    // Stepping up again works, and so does the change.
    expect((await answerStepUp(server, phone, page, { code: nextCode(server, user.secret) })).location).toBe('/mfa/disable');
  });

  it('when the account locks (wrong codes elsewhere): the next change asks again', async () => {
    const c = client();
    const user = await signupAndEnroll(server, c);
    await openWithStepUp(server, c, '/mfa/recovery-codes/regenerate', withCode(server, user));
    const thief = client();
    let form = await thiefAtCode(thief, user);
    for (let i = 0; i < 5; i++) form = await thief.post('/login/mfa', { _csrf: csrfOf(form.body, '/login/mfa'), code: wrongCode(server, user.secret) });
    expect(form.status).toBe(429);
    server.clock.advance(MINUTE);
    const reply = await c.post('/mfa/recovery-codes/regenerate', { _csrf: await c.csrf('/account') });
    expect(reply.location).toBe('/mfa/step-up?return=%2Fmfa%2Frecovery-codes%2Fregenerate');
  });
});

describe('return paths are allow-listed', () => {
  it.each([
    ['/mfa/disable', '/mfa/disable'],
    ['/mfa/recovery-codes/regenerate', '/mfa/recovery-codes/regenerate'],
    ['/mfa/setup', '/mfa/setup'],
    ['/mfa/factors/AbC_-9/remove', '/mfa/factors/AbC_-9/remove'],
    ['/mfa/keys/new?name=Blue%20key&evil=1', '/mfa/keys/new?name=Blue+key'],
    ['/mfa/disable?next=https://evil.example', '/mfa/disable'],
    ['https://evil.example/mfa/disable', '/account'],
    ['//evil.example/mfa/disable', '/account'],
    ['/\\evil.example/mfa/disable', '/account'],
    ['/%2F%2Fevil.example', '/account'],
    ['javascript:alert(1)', '/account'],
    ['/logout', '/account'],
    ['/mfa/factors/../../logout', '/account'],
    ['/mfa/factors/x/y/remove', '/account'],
    ['', '/account'],
  ])('%j → %s', (raw, expected) => {
    expect(safeReturnPath(raw)).toBe(expected);
  });

  it('a step-up that was asked to return elsewhere returns to /account', async () => {
    const c = client();
    const user = await signupAndEnroll(server, c);
    const page = await c.get(`/mfa/step-up?return=${encodeURIComponent('https://evil.example/')}`);
    const done = await answerStepUp(server, c, page, { code: nextCode(server, user.secret) });
    expect(done.location).toBe('/account');
    // With a live grant the page does not ask again, and still only goes to allowed places.
    expect((await c.get('/mfa/step-up?return=//evil.example')).location).toBe('/account');
  });

  it('the key form of the step-up page carries request options for this site', async () => {
    const c = client();
    const user = await signupWithKey(server, c);
    const page = await c.get('/mfa/step-up?return=/mfa/disable');
    const options = keyOptionsOf<{ rpId: string; allowCredentials: Array<{ id: string }> }>(page.body, '/mfa/step-up/webauthn');
    expect(options.rpId).toBe('localhost');
    expect(options.allowCredentials.map((c) => c.id)).toEqual([user.key.id]);
  });
});

/** Password step then a fresh code on a new client (a second device). */
async function loginWithCodeNow(c: ReturnType<typeof client>, user: { username: string; password: string; secret: string }): Promise<void> {
  const form = await thiefAtCode(c, user);
  const reply = await c.post('/login/mfa', { _csrf: csrfOf(form.body, '/login/mfa'), code: nextCode(server, user.secret) });
  expect(reply.location).toBe('/account');
}

/** The code page after the password step. */
async function thiefAtCode(c: ReturnType<typeof client>, user: { username: string; password: string }) {
  const login = await c.get('/login');
  const password = await c.post('/login', { _csrf: csrfOf(login.body), username: user.username, password: user.password });
  expect(password.location).toBe('/login/mfa');
  return c.get('/login/mfa');
}
