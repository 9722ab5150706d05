/**
 * Issue 10 in the example host: "Remember this browser for 30 days".
 *
 * The box on the second-factor page (code form and key form) becomes
 * `verifyLogin(..., { rememberDevice: { label } })`, and the token goes into
 * its own cookie (`twofold.device`; `__Host-twofold.device`, Secure, in
 * production). The password step hands it to `startLogin(userId, {
 * deviceToken })`: accepted, it skips the code and comes back rotated; a
 * normal challenge clears it. The account page lists remembered browsers
 * (forget one, forget all); a password change (new page) and a password reset
 * forget them all; a copied cookie used after the grace period is caught
 * (device.token_reused: the owner is emailed, the device forgotten).
 *
 * The test client's cookie jar expires cookies by the real clock, like a
 * browser, and the device cookie expires at the device's `expiresAt` (the
 * app clock): so the app clock starts at the real time here.
 */
import { whenText } from '../../../examples/express/time.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { browserLabel, safeLabel, UNKNOWN_BROWSER } from '../../../examples/express/browser-label.ts';
import { REMEMBER_DEVICE_MS } from '../../../examples/express/device-cookie.ts';
import {
  Client,
  addKey,
  clearsCookie,
  confirmChange,
  csrfOf,
  DEVICE_COOKIE,
  disableMfa,
  factorsOf,
  followText,
  keyOptionsOf,
  keyOrigin,
  lastEmail,
  loginRemembering,
  loginWithCode,
  MINUTE,
  nextCode,
  resetPasswordByEmail,
  SECOND,
  sessionOf,
  setCookieLine,
  sharedServer,
  signup,
  signupAndEnroll,
  signupWithKey,
  submitPassword,
  TestKey,
  textOf,
  withCode,
  wrongCode,
  type EnrolledUser,
  type TestServer,
  type TestUser,
} from './helpers.ts';

const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const REUSED_SUBJECT = 'A copy of your sign-in cookie was used';

const { server, client } = sharedServer();
beforeAll(() => {
  server.clock.ms = Date.now();
});

const idOf = async (user: TestUser, s: TestServer = server) => (await s.accounts.byUsername(user.username))!.id;
const devicesOf = async (user: TestUser, s: TestServer = server) => s.mfa.listDevices(await idOf(user, s));
/** A browser with a User-Agent of its own. */
const browser = (userAgent = FIREFOX_LINUX) => new Client(server.baseUrl, { 'user-agent': userAgent });

/** A user with MFA on, signed in (code + box ticked) on a new browser that is now remembered; the owner's enrolment browser is signed out. */
async function rememberedUser(userAgent = FIREFOX_LINUX): Promise<{ user: EnrolledUser; owner: Client }> {
  const user = await signupAndEnroll(server, client());
  const owner = browser(userAgent);
  const reply = await loginRemembering(server, owner, user);
  expect(reply).toMatchObject({ status: 303, location: '/account' });
  expect(owner.cookies.get(DEVICE_COOKIE)).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}$/);
  return { user, owner };
}

/** Log out (the device cookie stays), then the password step: the reply (303 to /account when the code was skipped). */
async function logOutAndIn(c: Client, user: TestUser) {
  await c.submit('/account', '/logout');
  expect(c.cookies.has('twofold.sid')).toBe(false);
  return submitPassword(c, user);
}

describe('issue 10: "Remember this browser" on the second-factor page', () => {
  it('the code form and the security-key form each offer "Remember this browser for 30 days"; the recovery-code page and step-up do not', async () => {
    const keyOwner = client();
    const keyUser = await signupWithKey(server, keyOwner);
    const c = client();
    await submitPassword(c, keyUser);
    const page = (await c.get('/login/mfa')).body;
    const forms = page.match(/<form[^>]*method="post"[\s\S]*?<\/form>/g)!;
    const keyForm = forms.find((f) => f.includes('action="/login/webauthn"'))!;
    const codeForm = forms.find((f) => f.includes('action="/login/mfa"'))!;
    for (const form of [keyForm, codeForm]) {
      expect(form).toMatch(/<input type="checkbox" id="[a-z-]+" name="remember" value="1">/);
      expect(textOf(form)).toContain('Remember this browser for 30 days');
    }
    expect(REMEMBER_DEVICE_MS).toBe(30 * 24 * 60 * MINUTE);
    expect((await c.get('/login/recovery')).body).not.toContain('name="remember"');
    expect((await keyOwner.get('/mfa/step-up?return=/account')).body).not.toContain('name="remember"');
  });

  it('ticking the box sets the device cookie: HttpOnly, SameSite=Lax, Path=/, not Secure in development, expiring with the device 30 days on', async () => {
    const user = await signupAndEnroll(server, client());
    const c = browser();
    const reply = await loginRemembering(server, c, user);
    expect(reply).toMatchObject({ status: 303, location: '/account' });

    const [device] = await devicesOf(user);
    expect(device).toMatchObject({ label: 'Firefox on Linux', createdAt: server.clock.ms, expiresAt: server.clock.ms + REMEMBER_DEVICE_MS });
    const line = setCookieLine(reply, DEVICE_COOKIE)!;
    expect(line).toBeDefined();
    const attributes = line.split(';').slice(1).map((a) => a.trim());
    expect(attributes).toContain('HttpOnly');
    expect(attributes).toContain('SameSite=Lax');
    expect(attributes).toContain('Path=/');
    expect(attributes).toContain(`Expires=${new Date(device!.expiresAt).toUTCString()}`);
    expect(attributes.some((a) => /^(Secure|Domain=)/i.test(a))).toBe(false);
    // Its own cookie, next to the session's; the session notes which device this browser is.
    expect(c.cookies.get('twofold.sid')).toBeDefined();
    expect((await sessionOf(server, c))?.deviceId).toBe(device!.id);
  });

  it('without the box nothing is remembered: no device cookie, no device listed', async () => {
    const user = await signupAndEnroll(server, client());
    const c = browser();
    const reply = await loginWithCode(server, c, user);
    expect(reply).toMatchObject({ status: 303, location: '/account' });
    expect(setCookieLine(reply, DEVICE_COOKIE)).toBeUndefined();
    expect(c.cookies.has(DEVICE_COOKIE)).toBe(false);
    expect(await devicesOf(user)).toEqual([]);
    // A wrong code with the box ticked remembers nothing either, and keeps the box ticked.
    const other = browser();
    await submitPassword(other, user);
    const wrong = await other.submit('/login/mfa', '/login/mfa', { code: wrongCode(server, user.secret), remember: '1' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatch(/name="remember" value="1" checked>/);
    expect(setCookieLine(wrong, DEVICE_COOKIE)).toBeUndefined();
    expect(await devicesOf(user)).toEqual([]);
  });

  it('the security-key form remembers too', async () => {
    const keyUser = await signupWithKey(server, client());
    const c = browser(SAFARI_IPHONE);
    await submitPassword(c, keyUser);
    const page = await c.get('/login/mfa');
    const response = keyUser.key.assert(keyOptionsOf(page.body, '/login/webauthn'), keyOrigin(server));
    const reply = await c.post('/login/webauthn', { _csrf: csrfOf(page.body, '/login/webauthn'), response: JSON.stringify(response), remember: '1' });
    expect(reply).toMatchObject({ status: 303, location: '/account' });
    expect(setCookieLine(reply, DEVICE_COOKIE)).toBeDefined();
    expect((await devicesOf(keyUser)).map((d) => d.label)).toEqual(['Safari on iOS']);
    expect((await logOutAndIn(c, keyUser)).location).toBe('/account');
  });

  it('the next login with the password alone skips the code: signed in with a fresh session id, and the cookie is rotated', async () => {
    const { user, owner } = await rememberedUser();
    const first = owner.cookies.get(DEVICE_COOKIE)!;
    const [before] = await devicesOf(user);
    await owner.submit('/account', '/logout');
    const pendingSid = owner.cookies.get('twofold.sid');

    server.clock.advance(5 * MINUTE);
    const reply = await submitPassword(owner, user);
    expect(reply).toMatchObject({ status: 303, location: '/account' });
    const rotated = owner.cookies.get(DEVICE_COOKIE)!;
    expect(rotated).not.toBe(first);
    // Same device (the id leads the token), new secret; the cookie's expiry stays the device's.
    expect(rotated.split('.')[0]).toBe(first.split('.')[0]);
    expect(setCookieLine(reply, DEVICE_COOKIE)).toContain(`Expires=${new Date(before!.expiresAt).toUTCString()}`);
    expect(owner.cookies.get('twofold.sid')).not.toBe(pendingSid);
    const account = await owner.get('/account');
    expect(account.status).toBe(200);
    expect(textOf(account.body)).toContain('Signed in without a code: this browser is remembered until');
    const [after] = await devicesOf(user);
    expect(after).toMatchObject({ id: before!.id, createdAt: before!.createdAt, lastUsedAt: server.clock.ms, expiresAt: before!.expiresAt });

    // The token before the rotation is dead: a copy of it (within the grace: no alarm) only gets the code page.
    const stale = client();
    stale.cookies.set(DEVICE_COOKIE, first);
    expect((await submitPassword(stale, user)).location).toBe('/login/mfa');
    // Once more with the new one.
    expect((await logOutAndIn(owner, user)).location).toBe('/account');
    expect(server.outbox.to(`${user.username}@example.test`).map((e) => e.subject)).not.toContain(REUSED_SUBJECT);
  });

  it('the cookie never skips the password: with a wrong password it does nothing, and is neither used nor rotated', async () => {
    const { user, owner } = await rememberedUser();
    const token = owner.cookies.get(DEVICE_COOKIE);
    await owner.submit('/account', '/logout');
    const wrong = await submitPassword(owner, { ...user, password: 'not the password' });
    expect(wrong.status).toBe(401);
    expect(setCookieLine(wrong, DEVICE_COOKIE)).toBeUndefined();
    expect(owner.cookies.get(DEVICE_COOKIE)).toBe(token);
    expect((await owner.get('/account')).location).toBe('/login');
  });

  it('a junk or foreign cookie just gives the code page, and the cookie is cleared; the other user\'s browser stays remembered', async () => {
    const user = await signupAndEnroll(server, client());
    const { user: other, owner: otherBrowser } = await rememberedUser();
    const foreign = otherBrowser.cookies.get(DEVICE_COOKIE)!;
    const madeUp = `${'A'.repeat(22)}.${'B'.repeat(43)}.${'C'.repeat(22)}`;
    for (const value of ['junk', madeUp, foreign, foreign.slice(0, -1) + (foreign.endsWith('A') ? 'B' : 'A'), 'x'.repeat(3000), '%E0%A4%A']) {
      const c = client();
      c.cookies.set(DEVICE_COOKIE, value);
      const reply = await submitPassword(c, user);
      expect(reply.location, value.slice(0, 40)).toBe('/login/mfa');
      expect(clearsCookie(reply, DEVICE_COOKIE)).toBe(true);
      expect(c.cookies.has(DEVICE_COOKIE)).toBe(false);
      expect((await c.get('/login/mfa')).status).toBe(200);
    }
    expect(await devicesOf(user)).toEqual([]);
    expect(await devicesOf(other)).toHaveLength(1);
    expect((await logOutAndIn(otherBrowser, other)).location).toBe('/account');
    expect(server.outbox.to(`${other.username}@example.test`).map((e) => e.subject)).not.toContain(REUSED_SUBJECT);
  });

  it('a lock beats the cookie: the usual lock message, no sign-in, no rotation; once the lock has ended the cookie works again', async () => {
    const { user, owner } = await rememberedUser();
    await owner.submit('/account', '/logout');
    const token = owner.cookies.get(DEVICE_COOKIE);
    // Someone with the password fails five codes: a temporary lock.
    const thief = client();
    await submitPassword(thief, user);
    const csrf = await thief.csrf('/login/mfa');
    for (let i = 0; i < 5; i++) await thief.post('/login/mfa', { _csrf: csrf, code: wrongCode(server, user.secret) });
    const { lockedUntil } = await server.mfa.status(await idOf(user));
    expect(lockedUntil).toBeGreaterThan(server.clock.ms);

    const reply = await submitPassword(owner, user);
    expect(reply.status).toBe(429);
    expect(textOf(reply.body)).toContain('Too many wrong codes were entered. Try again in ');
    expect(setCookieLine(reply, DEVICE_COOKIE)).toBeUndefined();
    expect(owner.cookies.get(DEVICE_COOKIE)).toBe(token);
    expect((await owner.get('/account')).location).toBe('/login');
    expect(await devicesOf(user)).toHaveLength(1);

    server.clock.ms = lockedUntil! + SECOND;
    const after = await submitPassword(owner, user);
    expect(after).toMatchObject({ status: 303, location: '/account' });
    expect(owner.cookies.get(DEVICE_COOKIE)).not.toBe(token);
  });

  it('a user whose MFA is off signs in with the password, and a stale device cookie is cleared', async () => {
    const user = await signup(client());
    const c = client();
    c.cookies.set(DEVICE_COOKIE, 'left over');
    const reply = await submitPassword(c, user);
    expect(reply).toMatchObject({ status: 303, location: '/account' });
    expect(clearsCookie(reply, DEVICE_COOKIE)).toBe(true);
  });
});

describe('issue 10: a copied device cookie', () => {
  it('theft: the thief\'s copy skips MFA once and rotates; the owner\'s old cookie after the grace period gets the code page, the owner is emailed and the device is forgotten', async () => {
    const { user, owner } = await rememberedUser();
    await owner.submit('/account', '/logout');
    const stolen = owner.cookies.get(DEVICE_COOKIE)!;

    // The thief copies the cookie to another computer and knows the password.
    const thief = browser(SAFARI_IPHONE);
    thief.cookies.set(DEVICE_COOKIE, stolen);
    const theft = await submitPassword(thief, user);
    expect(theft).toMatchObject({ status: 303, location: '/account' });
    expect(thief.cookies.get(DEVICE_COOKIE)).not.toBe(stolen);
    expect((await thief.get('/account')).status).toBe(200);

    // Later than the grace period (60 s), the owner signs in with the cookie they still hold.
    server.clock.advance(61 * SECOND);
    const reply = await submitPassword(owner, user);
    expect(reply.location).toBe('/login/mfa');
    expect(clearsCookie(reply, DEVICE_COOKIE)).toBe(true);
    expect(owner.cookies.has(DEVICE_COOKIE)).toBe(false);

    // The dev outbox has the email, and the device is gone from the list.
    const email = lastEmail(server, user, REUSED_SUBJECT).text;
    expect(email).toContain('cookie was copied to another computer');
    const outbox = await owner.get('/dev/outbox');
    expect(textOf(outbox.body)).toContain(REUSED_SUBJECT);
    expect(await devicesOf(user)).toEqual([]);
    expect((await owner.submit('/login/mfa', '/login/mfa', { code: nextCode(server, user.secret) })).location).toBe('/account');
    const account = await owner.get('/account');
    expect(account.body).toContain('id="no-devices"');
    expect(account.body).not.toContain('class="device"');

    // Which session came from the copy is unknown: every session of the account was signed out, the thief's too
    // (the owner's is the new one, made after the alarm). The thief's rotated copy is dead: the code is asked.
    expect((await thief.get('/account')).location).toBe('/login');
    expect(email).toContain('Every session of your account was signed out, in case one was signed in with the copy.');
    const again = await submitPassword(thief, user);
    expect(again.location).toBe('/login/mfa');
    expect(clearsCookie(again, DEVICE_COOKIE)).toBe(true);
  });

  it('within the grace period an old cookie (a second tab, a double submit) only gets the code page: no alarm, the device kept', async () => {
    const { user, owner } = await rememberedUser();
    await owner.submit('/account', '/logout');
    const old = owner.cookies.get(DEVICE_COOKIE)!;
    expect((await submitPassword(owner, user)).location).toBe('/account');

    server.clock.advance(30 * SECOND);
    const tab = client();
    tab.cookies.set(DEVICE_COOKIE, old);
    expect((await submitPassword(tab, user)).location).toBe('/login/mfa');
    expect(server.outbox.to(`${user.username}@example.test`).map((e) => e.subject)).not.toContain(REUSED_SUBJECT);
    expect(await devicesOf(user)).toHaveLength(1);
    expect((await logOutAndIn(owner, user)).location).toBe('/account');
  });
});

describe('issue 10: remembered browsers on the account page', () => {
  it('lists each remembered browser with its label, when it was added, last used and expires; this browser is marked', async () => {
    const { user, owner } = await rememberedUser(FIREFOX_LINUX);
    const added = server.clock.ms;
    const phone = browser(SAFARI_IPHONE);
    await loginRemembering(server, phone, user);
    const page = await owner.get('/account');
    const text = textOf(page.body);
    expect(text).toContain('Remembered browsers');
    const devices = await devicesOf(user);
    expect(devices.map((d) => d.label)).toEqual(['Firefox on Linux', 'Safari on iOS']);
    const [mine, theirs] = devices;
    expect(page.body).toMatch(new RegExp(`<li class="device" id="device-${mine!.id}" data-device-id="${mine!.id}" data-current="true">`));
    expect(page.body).toMatch(new RegExp(`<li class="device" id="device-${theirs!.id}" data-device-id="${theirs!.id}">`));
    expect(text).toContain('Firefox on Linux This browser');
    expect(text).not.toContain('Safari on iOS This browser');
    // Times in words, the absolute time in a <time datetime> element (issue 14.8).
    const now = server.clock.ms;
    expect(text).toContain(`Added ${whenText(added, now)} · last used ${whenText(mine!.lastUsedAt!, now)} · expires ${whenText(mine!.expiresAt, now)}`);
    expect(text).toContain('expires in 30 days, on ');
    expect(page.body).toContain(`<time datetime="${new Date(mine!.expiresAt).toISOString()}">`);
    expect(page.body).toContain(`action="/account/devices/${mine!.id}/forget"`);
    expect(page.body).toContain('action="/account/devices/forget-all"');
    // The phone sees itself as "this browser".
    expect(textOf((await phone.get('/account')).body)).toContain('Safari on iOS This browser');
  });

  it('forget one: that browser is asked for the code again (its stale cookie is cleared then); forgetting this browser clears its cookie at once', async () => {
    const { user, owner } = await rememberedUser();
    const phone = browser(SAFARI_IPHONE);
    await loginRemembering(server, phone, user);
    const [mine, theirs] = await devicesOf(user);

    const forgetPhone = await owner.submit('/account', `/account/devices/${theirs!.id}/forget`);
    expect(forgetPhone).toMatchObject({ status: 303, location: '/account' });
    expect(setCookieLine(forgetPhone, DEVICE_COOKIE)).toBeUndefined();
    expect(await followText(owner, forgetPhone)).toContain('Forgot "Safari on iOS": that browser will ask for your second factor at the next sign-in.');
    expect((await devicesOf(user)).map((d) => d.id)).toEqual([mine!.id]);
    const phoneLogin = await logOutAndIn(phone, user);
    expect(phoneLogin.location).toBe('/login/mfa');
    expect(clearsCookie(phoneLogin, DEVICE_COOKIE)).toBe(true);

    const forgetMine = await owner.submit('/account', `/account/devices/${mine!.id}/forget`);
    expect(forgetMine).toMatchObject({ status: 303, location: '/account' });
    expect(clearsCookie(forgetMine, DEVICE_COOKIE)).toBe(true);
    expect(owner.cookies.has(DEVICE_COOKIE)).toBe(false);
    expect(await followText(owner, forgetMine)).toContain('Forgot this browser: it will ask for your second factor at the next sign-in.');
    expect(await devicesOf(user)).toEqual([]);
    expect((await owner.get('/account')).status).toBe(200); // still signed in
    expect((await logOutAndIn(owner, user)).location).toBe('/login/mfa');
  });

  it('forget all: every browser is asked for the code again and this browser\'s cookie is cleared', async () => {
    const { user, owner } = await rememberedUser();
    const phone = browser(SAFARI_IPHONE);
    await loginRemembering(server, phone, user);
    expect(await devicesOf(user)).toHaveLength(2);

    const reply = await owner.submit('/account', '/account/devices/forget-all');
    expect(reply).toMatchObject({ status: 303, location: '/account' });
    expect(clearsCookie(reply, DEVICE_COOKIE)).toBe(true);
    expect(await followText(owner, reply)).toContain('Forgot all 2 remembered browsers: every browser will ask for your second factor at the next sign-in.');
    expect(await devicesOf(user)).toEqual([]);
    expect((await owner.get('/account')).body).toContain('id="no-devices"');
    for (const c of [owner, phone]) expect((await logOutAndIn(c, user)).location).toBe('/login/mfa');
  });

  it('forgetting a browser that is not on the account (unknown, someone else\'s, malformed) changes nothing and says so', async () => {
    const { user } = await rememberedUser();
    const { owner: stranger } = await rememberedUser();
    const [device] = await devicesOf(user);
    const csrf = await stranger.csrf('/account');
    for (const id of [device!.id, 'nope', 'x'.repeat(65)]) {
      const reply = await stranger.post(`/account/devices/${id}/forget`, { _csrf: csrf });
      expect(reply).toMatchObject({ status: 303, location: '/account' });
      expect(setCookieLine(reply, DEVICE_COOKIE)).toBeUndefined();
      expect(await followText(stranger, reply)).toContain('That browser is not remembered (any more).');
    }
    expect(await devicesOf(user)).toHaveLength(1);
  });

  it('the forget forms need the session\'s CSRF token', async () => {
    const { user, owner } = await rememberedUser();
    const [device] = await devicesOf(user);
    expect((await owner.post(`/account/devices/${device!.id}/forget`, {})).status).toBe(403);
    expect((await owner.post('/account/devices/forget-all', { _csrf: await client().csrf() })).status).toBe(403);
    expect(await devicesOf(user)).toHaveLength(1);
    expect(owner.cookies.has(DEVICE_COOKIE)).toBe(true);
  });

  it('turning MFA off forgets every browser (twofold) and clears this browser\'s cookie', async () => {
    const { user, owner } = await rememberedUser();
    const reply = await disableMfa(server, owner, withCode(server, user));
    expect(reply.location).toBe('/account');
    expect(clearsCookie(reply, DEVICE_COOKIE)).toBe(true);
    expect(await devicesOf(user)).toEqual([]);
    expect((await owner.get('/account')).body).not.toContain('id="devices"');
  });

  it('removing a method forgets every browser (twofold) and clears this browser\'s cookie; the code is asked again', async () => {
    const { user, owner } = await rememberedUser();
    const key = new TestKey();
    expect((await addKey(server, owner, user, key, { name: 'Spare key', answer: withCode(server, user) })).location).toBe('/account');
    expect(await devicesOf(user)).toHaveLength(1);
    const spare = (await factorsOf(server, user)).find((f) => f.label === 'Spare key')!;
    const reply = await confirmChange(server, owner, `/mfa/factors/${spare.id}/remove`, withCode(server, user));
    expect(reply.location).toBe('/account');
    expect(clearsCookie(reply, DEVICE_COOKIE)).toBe(true);
    expect(await devicesOf(user)).toEqual([]);
    expect((await logOutAndIn(owner, user)).location).toBe('/login/mfa');
  });
});

describe('issue 10: the password change page', () => {
  const NEW_PASSWORD = 'an entirely new passphrase';

  it('the account page links it; it asks for the current password and the new one twice; signed out it leads to the login page', async () => {
    const c = client();
    await signup(c);
    expect((await c.get('/account')).body).toContain('href="/account/password"');
    const page = await c.get('/account/password');
    expect(page.status).toBe(200);
    for (const name of ['currentPassword', 'newPassword', 'newPasswordAgain']) expect(page.body).toContain(`name="${name}"`);
    expect(page.body).toContain('autocomplete="current-password"');
    expect(page.body).toContain('minlength="8" maxlength="128"');
    expect((await client().get('/account/password')).location).toBe('/login');
    const nobody = client();
    const post = await nobody.post('/account/password', { _csrf: await nobody.csrf('/login'), currentPassword: 'x', newPassword: NEW_PASSWORD, newPasswordAgain: NEW_PASSWORD });
    expect(post.location).toBe('/login');
  });

  it('refuses a wrong current password (counted: five sign the session out), a new one that breaks the sign-up rules, two different new ones, and the current one again', async () => {
    const c = client();
    const user = await signup(c);
    const change = (fields: Record<string, string>) => c.submit('/account/password', '/account/password', fields);
    const cases: Array<[Record<string, string>, number, string]> = [
      [{ currentPassword: '', newPassword: NEW_PASSWORD, newPasswordAgain: NEW_PASSWORD }, 400, 'Enter your current password, and the new one twice.'],
      [{ currentPassword: user.password, newPassword: 'short', newPasswordAgain: 'short' }, 400, 'Password must be at least 8 characters.'],
      [{ currentPassword: user.password, newPassword: 'x'.repeat(129), newPasswordAgain: 'x'.repeat(129) }, 400, 'Password must be at most 128 characters.'],
      [{ currentPassword: user.password, newPassword: NEW_PASSWORD, newPasswordAgain: NEW_PASSWORD + '!' }, 400, 'The two new passwords are not the same.'],
      [{ currentPassword: user.password, newPassword: user.password, newPasswordAgain: user.password }, 400, 'The new password is your current one.'],
      [{ currentPassword: 'not my password', newPassword: NEW_PASSWORD, newPasswordAgain: NEW_PASSWORD }, 401, 'That password is not right. 4 attempts left before you are signed out.'],
    ];
    for (const [fields, status, message] of cases) {
      const reply = await change(fields);
      expect(reply.status, message).toBe(status);
      expect(textOf(reply.body)).toContain(message);
    }
    expect(await server.accounts.checkPassword(user.username, user.password)).not.toBeNull();
    expect(server.outbox.to(`${user.username}@example.test`)).toHaveLength(0);
    for (let i = 0; i < 3; i++) await change({ currentPassword: 'wrong again', newPassword: NEW_PASSWORD, newPasswordAgain: NEW_PASSWORD });
    const last = await change({ currentPassword: 'wrong again', newPassword: NEW_PASSWORD, newPasswordAgain: NEW_PASSWORD });
    expect(last.location).toBe('/login');
    expect(await followText(c, last)).toContain('You were signed out after too many wrong passwords.');
    expect(await server.accounts.checkPassword(user.username, user.password)).not.toBeNull();
  });

  it('a password change ends every other session, keeps this one under a new id, forgets every remembered browser (this one\'s cookie cleared) and emails the owner', async () => {
    const { user, owner } = await rememberedUser();
    const phone = browser(SAFARI_IPHONE);
    await loginRemembering(server, phone, user);
    expect((await phone.get('/account')).status).toBe(200);
    const sid = owner.cookies.get('twofold.sid');

    const reply = await owner.submit('/account/password', '/account/password', { currentPassword: user.password, newPassword: NEW_PASSWORD, newPasswordAgain: NEW_PASSWORD });
    expect(reply).toMatchObject({ status: 303, location: '/account' });
    expect(clearsCookie(reply, DEVICE_COOKIE)).toBe(true);
    expect(owner.cookies.get('twofold.sid')).not.toBe(sid);
    expect(await followText(owner, reply)).toContain(
      'Your password was changed. Your other sessions were signed out. 2 remembered browsers were forgotten: they will ask for your second factor again.',
    );
    expect((await owner.get('/account')).status).toBe(200);
    expect(await devicesOf(user)).toEqual([]);
    // The phone's session is over, and its cookie no longer skips the code (with the new password).
    const phoneAccount = await phone.get('/account');
    expect(phoneAccount.location).toBe('/login');
    const fresh = { ...user, password: NEW_PASSWORD };
    expect((await submitPassword(phone, fresh)).location).toBe('/login/mfa');
    expect((await submitPassword(client(), user)).status).toBe(401);

    const email = lastEmail(server, user, 'Your password was changed').text;
    expect(email).toContain('from your account page');
    expect(email).toContain('Your other sessions were signed out. 2 remembered browsers were forgotten');
    expect(email).toContain('If this was not you, someone knows your password');
  });

  it('works for a user without MFA too (no browser to forget)', async () => {
    const c = client();
    const user = await signup(c);
    const reply = await c.submit('/account/password', '/account/password', { currentPassword: user.password, newPassword: NEW_PASSWORD, newPasswordAgain: NEW_PASSWORD });
    expect(reply.location).toBe('/account');
    expect(await followText(c, reply)).toContain('Your password was changed. Your other sessions were signed out.');
    expect(setCookieLine(reply, DEVICE_COOKIE)).toBeUndefined();
    expect(lastEmail(server, user, 'Your password was changed').text).not.toContain('remembered');
    expect((await submitPassword(client(), { ...user, password: NEW_PASSWORD })).location).toBe('/account');
  });

  describe('rate limit', () => {
    const limited = sharedServer({ rateLimit: { windowMs: MINUTE, limit: 3 } });
    it('shares the budget of /login: after the limit, the password change answers 429', async () => {
      const c = limited.client();
      const user = await signup(c);
      const csrf = await c.csrf('/account/password');
      for (let i = 0; i < 2; i++) expect((await c.post('/login', { _csrf: csrf, username: 'nobody', password: 'wrong password' })).status).toBe(401);
      expect((await c.post('/account/password', { _csrf: csrf, currentPassword: 'nope', newPassword: NEW_PASSWORD, newPasswordAgain: NEW_PASSWORD })).status).toBe(401);
      const blocked = await c.post('/account/password', { _csrf: csrf, currentPassword: user.password, newPassword: NEW_PASSWORD, newPasswordAgain: NEW_PASSWORD });
      expect(blocked.status).toBe(429);
      expect(await limited.server.accounts.checkPassword(user.username, user.password)).not.toBeNull();
    });
  });
});

describe('issue 10: a password reset forgets every remembered browser', () => {
  it('the reset by emailed link forgets them: the cookie no longer skips the code, and the email says so', async () => {
    const { user, owner } = await rememberedUser();
    await owner.submit('/account', '/logout');
    const NEW_PASSWORD = 'reset to something new';
    const reply = await resetPasswordByEmail(server, user, NEW_PASSWORD);
    expect(reply).toMatchObject({ status: 303, location: '/login' });
    expect(await devicesOf(user)).toEqual([]);
    const fresh = { ...user, password: NEW_PASSWORD };
    const login = await submitPassword(owner, fresh);
    expect(login.location).toBe('/login/mfa');
    expect(clearsCookie(login, DEVICE_COOKIE)).toBe(true);
    expect(lastEmail(server, user, 'Your password was changed').text).toContain(
      'The remembered browser of your account was forgotten: it will ask for your second factor again.',
    );
  });

  it('the browser that resets drops its own device cookie', async () => {
    const { user, owner } = await rememberedUser();
    await owner.submit('/account', '/logout');
    const reply = await resetPasswordByEmail(server, user, 'reset once more, longer', owner);
    expect(reply.location).toBe('/login');
    expect(clearsCookie(reply, DEVICE_COOKIE)).toBe(true);
    expect(await followText(owner, reply)).toContain('The remembered browser of your account was forgotten');
  });
});

describe('issue 10: production', () => {
  const prod = sharedServer({ production: true, publicUrl: 'https://app.example.test' });
  beforeAll(() => {
    prod.server.clock.ms = Date.now();
  });
  const https = () => new Client(prod.server.baseUrl, { 'x-forwarded-proto': 'https', 'user-agent': FIREFOX_LINUX });

  it('the device cookie is __Host-twofold.device: Secure, HttpOnly, SameSite=Lax, Path=/, no Domain; the next login skips the code with it', async () => {
    const user = await signupAndEnroll(prod.server, https());
    const c = https();
    const reply = await loginRemembering(prod.server, c, user);
    expect(reply.location).toBe('/account');
    const line = setCookieLine(reply, '__Host-twofold.device')!;
    expect(line).toBeDefined();
    expect(setCookieLine(reply, DEVICE_COOKIE)).toBeUndefined();
    const attributes = line.split(';').slice(1).map((a) => a.trim());
    for (const flag of ['Secure', 'HttpOnly', 'SameSite=Lax', 'Path=/']) expect(attributes).toContain(flag);
    expect(attributes.some((a) => a.startsWith('Domain='))).toBe(false);
    const token = c.cookies.get('__Host-twofold.device');
    await c.submit('/account', '/logout');
    expect((await submitPassword(c, user)).location).toBe('/account');
    expect(c.cookies.get('__Host-twofold.device')).not.toBe(token);
    // The development name means nothing in production.
    const plain = https();
    plain.cookies.set(DEVICE_COOKIE, c.cookies.get('__Host-twofold.device')!);
    expect((await submitPassword(plain, user)).location).toBe('/login/mfa');
  });
});

describe('issue 10: the label comes from the User-Agent, as a name only', () => {
  it.each([
    [FIREFOX_LINUX, 'Firefox on Linux'],
    [SAFARI_IPHONE, 'Safari on iOS'],
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36', 'Chrome on Linux'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0', 'Edge on Windows'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15', 'Safari on macOS'],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36', 'Chrome on Android'],
    ['Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36', 'Chrome on ChromeOS'],
    ['Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0', 'Opera on Windows'],
    ['curl/8.5.0', UNKNOWN_BROWSER],
    ['', UNKNOWN_BROWSER],
    [undefined, UNKNOWN_BROWSER],
    ['<script>alert(1)</script> Firefox/1\u0000\n on Evil', 'Firefox'],
  ])('%j → %j', (userAgent, label) => {
    expect(browserLabel(userAgent)).toBe(label);
  });

  it('only the first 512 characters of a huge header are looked at', () => {
    expect(browserLabel('x'.repeat(100_000) + ' Firefox/128.0')).toBe(UNKNOWN_BROWSER);
    expect(browserLabel('Firefox/128.0 (X11; Linux) ' + 'x'.repeat(100_000))).toBe('Firefox on Linux');
  });

  it('safeLabel strips control characters, caps at 64 without splitting a character, and never returns nothing', () => {
    expect(safeLabel('Fire\u0000fox\u001b on\n\tLinux\u007f')).toBe('Firefox on Linux');
    expect(safeLabel('é'.repeat(100))).toHaveLength(64);
    const capped = safeLabel('a' + '😀'.repeat(40));
    expect(capped.length).toBeLessThanOrEqual(64);
    expect(capped.isWellFormed()).toBe(true);
    expect(safeLabel('\u0000\u0001 ')).toBe(UNKNOWN_BROWSER);
  });

  it('a crafted User-Agent never reaches the page: only the fixed vocabulary is stored and shown', async () => {
    const user = await signupAndEnroll(server, client());
    const c = browser('"><img src=x> Firefox/1 (Windows)');
    await loginRemembering(server, c, user);
    expect((await devicesOf(user)).map((d) => d.label)).toEqual(['Firefox on Windows']);
    const page = (await c.get('/account')).body;
    expect(page).not.toContain('<img src=x>');
    expect(textOf(page)).toContain('Firefox on Windows This browser');
  });
});
