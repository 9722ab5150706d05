/**
 * The "Two-factor methods" section of the account page: every factor from
 * twofold's listFactors (the authenticator app as one factor among keys),
 * renaming (CSRF only), removing (after a step-up), adding an app or a key
 * when the user already holds a factor (after a step-up), and the banners
 * of status().attention.
 */
import { describe, expect, it } from 'vitest';
import type { StatusResult } from 'twofold';
import { accountPage } from '../../../examples/express/views/mfa.ts';
import {
  addKey,
  codeNow,
  csrfOf,
  factorsOf,
  followText,
  loginWith,
  loginWithKey,
  nextCode,
  openWithStepUp,
  setupOf,
  sharedServer,
  signup,
  signupAndEnroll,
  signupWithKey,
  submitPassword,
  TestKey,
  textOf,
  toStepUp,
  withCode,
} from './helpers.ts';

const { server, client } = sharedServer();

async function userId(user: { username: string }): Promise<string> {
  return (await server.accounts.byUsername(user.username))!.id;
}

/** A user with an authenticator app and a key named "Blue key" (added after a step-up with a code); signed in on `c`. */
async function appAndKey() {
  const c = client();
  const user = await signupAndEnroll(server, c);
  const key = new TestKey();
  const added = await addKey(server, c, user, key, { name: 'Blue key', answer: withCode(server, user) });
  expect(added.location).toBe('/account');
  return { c, user, key };
}

describe('the list of two-factor methods', () => {
  it('shows the app and each key: name, kind, added and last used, a rename form and a remove link for each', async () => {
    const { c, user, key } = await appAndKey();
    expect((await loginWithKey(server, client(), user, key)).location).toBe('/account');
    const factors = await factorsOf(server, user);
    expect(factors.map((f) => [f.kind, f.label])).toEqual([
      ['totp', 'Authenticator app'],
      ['webauthn', 'Blue key'],
    ]);
    const page = await c.get('/account');
    const text = textOf(page.body);
    expect(text).toContain('Two-factor methods');
    expect(text).toContain('Authenticator app Authenticator app');
    expect(text).toContain('Blue key Security key');
    for (const factor of factors) {
      expect(page.body).toContain(`id="factor-${factor.id}" data-factor-id="${factor.id}" data-kind="${factor.kind}"`);
      expect(page.body).toContain(`action="/mfa/factors/${factor.id}/rename"`);
      expect(page.body).toContain(`href="/mfa/factors/${factor.id}/remove"`);
    }
    // Times in words, with the absolute time in a <time datetime> element (issue 14.8).
    expect(text).toMatch(/Blue key Security key Added (just now|\d+ (seconds?|minutes?) ago), at \d\d:\d\d UTC · last used (just now|\d+ (seconds?|minutes?) ago), at \d\d:\d\d UTC/);
    expect(page.body).toMatch(/Added [^<]*, at <time datetime="2025-01-01T\d\d:\d\d:\d\d\.\d{3}Z">\d\d:\d\d\u00a0UTC<\/time>/);
    // An app is there already; a key can always be added; two factors: no single-factor banner.
    expect(page.body).not.toContain('href="/mfa/setup"');
    expect(page.body).toContain('action="/mfa/keys/new"');
    expect(page.body).not.toContain('id="single-factor"');
  });

  it('a user without factors is offered both an app and a key (each works alone)', async () => {
    const c = client();
    await signup(c);
    const page = await c.get('/account');
    expect(page.body).toContain('id="no-factors"');
    expect(page.body).toContain('id="setup-mfa"');
    expect(page.body).toContain('<form method="get" action="/mfa/keys/new" class="card" id="add-key-form">');
    expect(textOf(page.body)).toContain('Works on its own: no authenticator app needed.');
    expect(page.body).not.toContain('href="/mfa/disable"');
  });
});

describe('renaming', () => {
  it('renames a factor with a CSRF-protected POST; no step-up needed', async () => {
    const { c, user } = await appAndKey();
    const [, blue] = await factorsOf(server, user);
    const page = await c.get('/account');
    const reply = await c.post(`/mfa/factors/${blue!.id}/rename`, { _csrf: csrfOf(page.body, `/mfa/factors/${blue!.id}/rename`), label: '  YubiKey 5C <b>  ' });
    expect(reply.status).toBe(303);
    expect(reply.location).toBe('/account');
    const after = await c.get('/account');
    expect(textOf(after.body)).toContain('Renamed to "YubiKey 5C <b>".');
    expect(after.body).toContain('YubiKey 5C &lt;b&gt;');
    expect(after.body).not.toContain('YubiKey 5C <b>');
    expect((await factorsOf(server, user))[1]!.label).toBe('YubiKey 5C <b>');
    expect((await c.post(`/mfa/factors/${blue!.id}/rename`, { label: 'no token' })).status).toBe(403);
  });

  it.each([
    ['an empty name', '   ', 400, 'A name must be 1 to 64 characters'],
    ['a name of 65 characters', 'x'.repeat(65), 400, 'A name must be 1 to 64 characters'],
    ['a name with a line break', 'a\nb', 400, 'A name must be 1 to 64 characters'],
  ])('refuses %s', async (_name, label, _status, message) => {
    const { c, user } = await appAndKey();
    const [, blue] = await factorsOf(server, user);
    const reply = await c.post(`/mfa/factors/${blue!.id}/rename`, { _csrf: await c.csrf('/account'), label });
    // Post, redirect, get (issue 14.9): the error sits at that form's field, which gets the focus.
    expect(reply.status).toBe(303);
    expect(reply.location).toBe(`/account#rename-${blue!.id}`);
    const page = await c.get('/account');
    expect(textOf(page.body)).toContain(message);
    expect(page.body).toContain(`<p class="field-error" id="rename-${blue!.id}-error">`);
    expect(page.body).toMatch(new RegExp(`<input id="rename-${blue!.id}"[^>]* aria-invalid="true" aria-describedby="rename-${blue!.id}-error" autofocus>`));
    expect(page.body).toContain('<title>Error: Your account');
    expect((await factorsOf(server, user))[1]!.label).toBe('Blue key');
  });

  it("refuses an unknown id and another user's factor", async () => {
    const { c } = await appAndKey();
    const other = await signupWithKey(server, client());
    const [theirs] = await factorsOf(server, other);
    for (const id of ['nope', theirs!.id, '..%2F..%2Faccount']) {
      const reply = await c.post(`/mfa/factors/${id}/rename`, { _csrf: await c.csrf('/account'), label: 'Mine now' });
      expect(reply.status).toBe(303);
      expect(await followText(c, reply)).toContain('That method is not on your account (any more).');
    }
    expect((await factorsOf(server, other))[0]!.label).toBe('My key');
  });
});

describe('removing a factor needs a step-up', () => {
  it('is refused without one: the page and the POST send to the step-up page and nothing is removed', async () => {
    const { c, user } = await appAndKey();
    const [, blue] = await factorsOf(server, user);
    const path = `/mfa/factors/${blue!.id}/remove`;
    const page = await c.get(path);
    expect(page.location).toBe(`/mfa/step-up?return=${encodeURIComponent(path)}`);
    const post = await c.post(path, { _csrf: await c.csrf('/account') });
    expect(post.location).toBe(`/mfa/step-up?return=${encodeURIComponent(path)}`);
    expect(await factorsOf(server, user)).toHaveLength(2);
  });

  it('removes a key after a step-up with a code; the owner is emailed; the grant is gone with the factor change', async () => {
    const { c, user } = await appAndKey();
    const [, blue] = await factorsOf(server, user);
    const path = `/mfa/factors/${blue!.id}/remove`;
    const page = await openWithStepUp(server, c, path, withCode(server, user));
    expect(page.status).toBe(200);
    expect(textOf(page.body)).toContain('Remove Blue key Blue key (security key) will be removed from your account. It will no longer sign you in.');
    expect(page.body).toContain('<legend>Remove Blue key</legend>');
    const reply = await c.post(path, { _csrf: csrfOf(page.body, path) });
    expect(reply.location).toBe('/account');
    expect(await followText(c, reply)).toContain('"Blue key" was removed.');
    expect((await factorsOf(server, user)).map((f) => f.kind)).toEqual(['totp']);
    expect(server.outbox.to(`${user.username}@example.test`).map((e) => e.subject)).toContain('A security key was removed');
    // twofold killed the grant (a factor change); the app dropped it: the next change asks again.
    expect(toStepUp(await c.get('/mfa/disable'))).toBe(true);
    // MFA stays on, with the app.
    expect((await server.mfa.status(await userId(user))).state).toBe('enabled');
  });

  it('removing the last factor (after a step-up with that key) turns MFA off; this session stays, others end', async () => {
    const c = client();
    const user = await signupWithKey(server, c);
    const laptop = client();
    await loginWithKey(server, laptop, user, user.key);
    const [only] = await factorsOf(server, user);
    const path = `/mfa/factors/${only!.id}/remove`;
    const page = await openWithStepUp(server, c, path, () => ({ key: user.key }));
    expect(textOf(page.body)).toContain('It is your only method: removing it turns off two-factor authentication');
    const reply = await c.post(path, { _csrf: csrfOf(page.body, path) });
    expect(reply.location).toBe('/account');
    const account = await followText(c, reply);
    expect(account).toContain('"My key" was removed. Two-factor authentication is off.');
    expect(account).toContain('Two-factor authentication Off');
    expect((await server.mfa.status(await userId(user))).state).toBe('registered');
    expect((await laptop.get('/account')).location).toBe('/login');
    expect((await submitPassword(client(), user)).location).toBe('/account');
  });

  it("cannot remove another user's factor even with a live grant", async () => {
    const { c, user } = await appAndKey();
    const other = await signupWithKey(server, client());
    const [theirs] = await factorsOf(server, other);
    // A live grant of our own.
    await openWithStepUp(server, c, '/mfa/disable', withCode(server, user));
    const reply = await c.post(`/mfa/factors/${theirs!.id}/remove`, { _csrf: await c.csrf('/account') });
    expect(reply.location).toBe('/account');
    expect(await followText(c, reply)).toContain('That method is not on your account (any more).');
    expect(await factorsOf(server, other)).toHaveLength(1);
  });
});

describe('adding a factor when the user already holds one needs a step-up', () => {
  it('an authenticator app after a key: step-up with the key, then the QR code; no new recovery codes; both offered at login', async () => {
    const c = client();
    const user = await signupWithKey(server, c);
    const first = await c.get('/mfa/setup');
    expect(first.location).toBe('/mfa/step-up?return=%2Fmfa%2Fsetup');
    const setup = await openWithStepUp(server, c, '/mfa/setup', () => ({ key: user.key }));
    expect(setup.status).toBe(200);
    const { secret } = setupOf(setup.body);
    const reply = await c.post('/mfa/setup', { _csrf: csrfOf(setup.body, '/mfa/setup'), code: codeNow(server, secret) });
    expect(reply.location).toBe('/account');
    expect(await followText(c, reply)).toContain('Your authenticator app was added.');
    expect((await factorsOf(server, user)).map((f) => f.kind)).toEqual(['webauthn', 'totp']);
    const status = await server.mfa.status(await userId(user));
    expect(status).toMatchObject({ state: 'enabled', recoveryCodesRemaining: 10, recoveryCodesUnrevealed: false, methods: ['webauthn', 'totp', 'recovery_code'] });

    // The code page now shows both.
    const login = client();
    await submitPassword(login, user);
    const page = await login.get('/login/mfa');
    expect(page.body).toContain('id="use-key"');
    expect(page.body).toMatch(/<input id="code" name="code" autocomplete="one-time-code" inputmode="numeric"/);
    expect((await login.post('/login/mfa', { _csrf: csrfOf(page.body, '/login/mfa'), code: nextCode(server, secret) })).location).toBe('/account');
  });

  it('a second key after a step-up with the first one', async () => {
    const c = client();
    const user = await signupWithKey(server, c);
    const second = new TestKey('RS256');
    const reply = await addKey(server, c, user, second, { name: 'Spare key', answer: () => ({ key: user.key }) });
    expect(reply.location).toBe('/account');
    expect(await followText(c, reply)).toContain('"Spare key" was added. It can now be used to sign in.');
    expect((await factorsOf(server, user)).map((f) => f.label)).toEqual(['My key', 'Spare key']);
    // The recovery codes were not replaced.
    expect((await server.mfa.status(await userId(user))).recoveryCodesUnrevealed).toBe(false);
    expect((await loginWithKey(server, client(), user, second)).location).toBe('/account');
  });

  it('adding the same key twice is refused', async () => {
    const c = client();
    const user = await signupWithKey(server, c);
    const reply = await addKey(server, c, user, user.key, { answer: () => ({ key: user.key }) });
    expect(reply.status).toBe(400);
    expect(textOf(reply.body)).toContain('That security key is already on your account. Use another one.');
    expect(await factorsOf(server, user)).toHaveLength(1);
  });

  it('an app user who already has an app is sent back', async () => {
    const c = client();
    await signupAndEnroll(server, c);
    const reply = await c.get('/mfa/setup');
    expect(reply.location).toBe('/account');
    expect(await followText(c, reply)).toContain('Two-factor authentication is already on with an authenticator app.');
  });

  it('the recovery codes of a key-first user keep working after the app is added', async () => {
    const c = client();
    const user = await signupWithKey(server, c);
    const setup = await openWithStepUp(server, c, '/mfa/setup', () => ({ key: user.key }));
    await c.post('/mfa/setup', { _csrf: csrfOf(setup.body, '/mfa/setup'), code: codeNow(server, setupOf(setup.body).secret) });
    expect((await loginWith(server, client(), user, { code: user.codes[0]! })).location).toBe('/account');
  });
});

describe('status banners (status().attention)', () => {
  const base: StatusResult = { state: 'enabled', recoveryCodesRemaining: 10, recoveryCodesUnrevealed: false, methods: ['totp', 'recovery_code'], attention: [] };
  const render = (status: StatusResult) =>
    textOf(accountPage({ csrfToken: 'x', username: 'alice', dev: false, now: 0 }, { status, factors: [], keys: true, devices: [] }).toString());

  it.each([
    ['single_factor', 'You have only one two-factor method. If you lose it, only your recovery codes get you in: add a second one below'],
    ['recovery_codes_low', 'Only 2 recovery codes left. Generate new ones before you run out.'],
    ['checkup_due', 'You turned on two-factor authentication more than four weeks ago and have not used it since.'],
    ['recovery_codes_unrevealed', 'You have new recovery codes you have not seen yet. Show them now (once).'],
  ] as const)('%s, in plain words', (attention, words) => {
    const text = render({ ...base, recoveryCodesRemaining: 2, attention: [attention] });
    expect(text).toContain(words);
    expect(render(base)).not.toContain(words);
  });

  it('single_factor shows for one factor and goes with the second', async () => {
    const c = client();
    const user = await signupAndEnroll(server, c);
    expect((await c.get('/account')).body).toContain('id="single-factor"');
    await addKey(server, c, user, new TestKey(), { answer: withCode(server, user) });
    expect((await c.get('/account')).body).not.toContain('id="single-factor"');
  });
});
