/**
 * Issue 8, point 6: password holders can make a lock permanent (100 failed
 * codes, ~14 h), which proves the password is known. The owner is emailed
 * so, with a link to reset it; "forgot your password?" resets it by emailed
 * single-use link, ends every session, and ends a lock caused by failures,
 * never support's manual lock.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { emailTime } from '../../../examples/express/time.ts';
import {
  Client,
  csrfOf,
  emailedLink,
  followText,
  HOUR,
  lastEmail,
  lockByFailureLimit,
  loginWithCode,
  MINUTE,
  nextCode,
  PASSWORD,
  SECOND,
  sharedServer,
  signup,
  signupAndEnroll,
  submitPassword,
  textOf,
  uniqueName,
  wrongCode,
  type TestUser,
} from './helpers.ts';

const { server, client } = sharedServer();
const NEW_PASSWORD = 'a brand new passphrase';
const idOf = async (user: TestUser) => (await server.accounts.byUsername(user.username))!.id;
const mailOf = (user: TestUser) => server.outbox.to(`${user.username}@example.test`);

/** Ask for a reset link as `login` (username or email) and return the emailed link's path and query. */
async function requestReset(user: TestUser, login = user.username, c = client()): Promise<string> {
  const reply = await c.submit('/forgot-password', '/forgot-password', { login });
  // Post, redirect, get: a reload does not send another email.
  expect(reply).toMatchObject({ status: 303, location: '/forgot-password/sent' });
  const link = emailedLink(lastEmail(server, user, 'Reset your password').text, '/reset-password');
  return link.pathname + link.search;
}

/** Open the emailed link and send the form with `password`; returns the reply to the POST. */
async function completeReset(path: string, password = NEW_PASSWORD, c = client()) {
  const form = await c.get(path);
  expect(form.status).toBe(200);
  const fields = Object.fromEntries([...form.body.matchAll(/<input [^>]*name="(user|token|_csrf)"[^>]*value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
  return c.post('/reset-password', { ...fields, _csrf: csrfOf(form.body, '/reset-password'), password });
}

describe('issue 8 point 6: a lock by the failure limit proves the password is known', () => {
  it('point 6: account.locked with cause failure_limit emails the owner that the password is known, linking the reset page', async () => {
    const user = await signupAndEnroll(server, client());
    await lockByFailureLimit(server, user);
    const email = lastEmail(server, user, 'Your account is locked: your password is known').text;
    expect(email).toContain('whoever typed them knows your password');
    expect(email).toContain('This lock does not end by itself. Reset your password here:');
    const link = emailedLink(email, '/forgot-password');
    expect(link.origin).toBe(`http://localhost:${new URL(server.baseUrl).port}`);
    expect(link.searchParams.get('username')).toBe(user.username);
    // The event email carries no secret: the link is to the request page, which prefills the username.
    expect(email).not.toMatch(/token=/);
    const page = await client().get(link.pathname + link.search);
    expect(page.status).toBe(200);
    expect(page.body).toContain(`value="${user.username}"`);
  });

  it('point 6: the reset ends the failure_limit lock, every session, and the old password; login works with the new one and a code', async () => {
    const owner = client();
    const user = await signupAndEnroll(server, owner);
    await lockByFailureLimit(server, user);
    expect((await server.mfa.status(await idOf(user))).lockCause).toBe('failure_limit');
    const generation = (await server.accounts.byId(await idOf(user)))!.sessionGeneration;

    const c = client();
    const reply = await completeReset(await requestReset(user), NEW_PASSWORD, c);
    expect(reply).toMatchObject({ status: 303, location: '/login' });
    expect(await followText(c, reply)).toContain('The lock on your account has ended.');
    const status = await server.mfa.status(await idOf(user));
    expect(status.state).toBe('enabled');
    expect(status.lockCause).toBeUndefined();
    expect((await server.accounts.byId(await idOf(user)))!.sessionGeneration).toBe(generation + 1);
    expect((await owner.get('/account')).location).toBe('/login');

    const changed = lastEmail(server, user, 'Your password was changed').text;
    expect(changed).toContain('Every session of your account was signed out.');
    expect(changed).toContain('The lock that wrong codes had put on your account has ended.');

    expect((await submitPassword(client(), user)).status).toBe(401);
    const fresh = { ...user, password: NEW_PASSWORD };
    expect((await loginWithCode(server, client(), fresh)).location).toBe('/account');
  });

  it('point 6: the reset also ends a temporary lock (cause failures)', async () => {
    const user = await signupAndEnroll(server, client());
    const c = client();
    await submitPassword(c, user);
    const csrf = await c.csrf('/login/mfa');
    for (let i = 0; i < 5; i++) await c.post('/login/mfa', { _csrf: csrf, code: wrongCode(server, user.secret) });
    expect((await server.mfa.status(await idOf(user))).lockCause).toBe('failures');
    const browser = client();
    const reply = await completeReset(await requestReset(user), NEW_PASSWORD, browser);
    expect(await followText(browser, reply)).toContain('The lock on your account has ended.');
    expect((await server.mfa.status(await idOf(user))).state).toBe('enabled');
  });

  it('point 6: the reset NEVER ends a manual lock (support), and says so', async () => {
    const user = await signupAndEnroll(server, client());
    await server.mfa.lock(await idOf(user), { reason: 'suspected takeover' });
    const c = client();
    const reply = await completeReset(await requestReset(user), NEW_PASSWORD, c);
    expect(reply.location).toBe('/login');
    expect(await followText(c, reply)).toContain('Your account stays locked by support: only support can unlock it.');
    expect(await server.mfa.status(await idOf(user))).toMatchObject({ state: 'locked', lockCause: 'manual' });
    expect(lastEmail(server, user, 'Your password was changed').text).toContain('Your account stays locked by support');
    // The password did change.
    expect(await server.accounts.checkPassword(user.username, NEW_PASSWORD)).not.toBeNull();
  });
});

describe('issue 8 point 6: "forgot your password?" by emailed link', () => {
  it('point 6: the login page links it; the request answers the same for a username, an email address and an unknown name', async () => {
    expect((await client().get('/login')).body).toContain('href="/forgot-password"');
    const user = await signup(client());
    const before = server.outbox.list().length;
    const byName = await client().submit('/forgot-password', '/forgot-password', { login: user.username.toUpperCase() });
    const byEmail = await client().submit('/forgot-password', '/forgot-password', { login: `${user.username}@example.test` });
    const unknown = await client().submit('/forgot-password', '/forgot-password', { login: uniqueName('ghost') });
    const unknownEmail = await client().submit('/forgot-password', '/forgot-password', { login: 'ghost@elsewhere.test' });
    for (const reply of [byName, byEmail, unknown, unknownEmail]) expect(reply).toMatchObject({ status: 303, location: '/forgot-password/sent' });
    expect(new Set([byName, byEmail, unknown, unknownEmail].map((r) => `${r.location} ${r.body}`)).size).toBe(1);
    const sentPage = await client().get('/forgot-password/sent');
    expect(textOf(sentPage.body)).toContain('If that is the username or email address of an account, we sent an email');
    // Two emails, both to the owner's address; nothing for the unknown names.
    const sent = server.outbox.list().slice(before);
    expect(sent.map((e) => [e.to, e.subject])).toEqual([
      [`${user.username}@example.test`, 'Reset your password'],
      [`${user.username}@example.test`, 'Reset your password'],
    ]);
  });

  it('point 6: the link is single-use, built from the public origin; GET shows a form and uses nothing, the CSRF-protected POST uses it', async () => {
    const user = await signup(client());
    const path = await requestReset(user);
    const url = new URL(path, 'http://x');
    expect(url.searchParams.get('user')).toBe(user.username);
    expect(url.searchParams.get('token')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(emailedLink(lastEmail(server, user, 'Reset your password').text, '/reset-password').origin).toBe(`http://localhost:${new URL(server.baseUrl).port}`);

    // Opening it (twice: a mail scanner, then the person) changes nothing.
    const c = client();
    for (let i = 0; i < 2; i++) {
      const form = await c.get(path);
      expect(form.status).toBe(200);
      expect(form.body).toContain('action="/reset-password"');
      expect(form.body).toContain('autocomplete="new-password"');
    }
    expect(await server.accounts.checkPassword(user.username, PASSWORD)).not.toBeNull();
    // Without the CSRF token: refused, token still good.
    expect((await c.post('/reset-password', { user: user.username, token: url.searchParams.get('token')!, password: NEW_PASSWORD })).status).toBe(403);

    expect((await completeReset(path, NEW_PASSWORD, c)).location).toBe('/login');
    expect(await server.accounts.checkPassword(user.username, NEW_PASSWORD)).not.toBeNull();
    // Used up: the link and a replay of the form are refused.
    const again = await client().get(path);
    expect(again.status).toBe(400);
    expect(textOf(again.body)).toContain('This password reset link is not valid.');
    const replay = await c.post('/reset-password', { _csrf: await c.csrf('/login'), user: user.username, token: url.searchParams.get('token')!, password: 'yet another one' });
    expect(replay.status).toBe(400);
    expect(await server.accounts.checkPassword(user.username, NEW_PASSWORD)).not.toBeNull();
  });

  it('point 6: a newer request replaces the older link; a link expires after 1 hour', async () => {
    const user = await signup(client());
    const first = await requestReset(user);
    const second = await requestReset(user);
    expect(textOf((await client().get(first)).body)).toContain('This password reset link is not valid.');
    const requestedAt = server.clock.ms;
    expect(lastEmail(server, user, 'Reset your password').text).toContain(`It works once, until ${emailTime(requestedAt + HOUR)}.`);
    server.clock.advance(HOUR);
    const expired = await client().get(second);
    expect(expired.status).toBe(400);
    expect(textOf(expired.body)).toContain('This password reset link has expired.');
    expect((await completeReset(await requestReset(user))).location).toBe('/login');
  });

  it('point 6: only a SHA-256 hash of the token is kept in the accounts module', async () => {
    const user = await signup(client());
    const token = new URL(await requestReset(user), 'http://x').searchParams.get('token')!;
    const stored = (await server.accounts.store.byId(await idOf(user)))!;
    expect(stored.resetTokenHash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(stored.resetExpiresAt).toBe(server.clock.ms + HOUR);
    expect(JSON.stringify(stored)).not.toContain(token);
  });

  it('point 6: the new password follows the signup rules; a refused one leaves the link usable', async () => {
    const user = await signup(client());
    const path = await requestReset(user);
    const c = client();
    const weak = await completeReset(path, 'short', c);
    expect(weak.status).toBe(400);
    expect(textOf(weak.body)).toContain('Password must be at least 8 characters.');
    expect(weak.body).toContain('action="/reset-password"');
    expect((await completeReset(path, 'x'.repeat(129), c)).status).toBe(400);
    expect((await completeReset(path, NEW_PASSWORD, c)).location).toBe('/login');
  });

  it('point 6: refuses a wrong token, another user, a missing token, repeated parameters with the same message', async () => {
    const user = await signup(client());
    const other = await signup(client());
    const path = await requestReset(user);
    for (const bad of [
      path.replace(/token=[^&]+/, `token=${'A'.repeat(43)}`),
      path.replace(/user=[^&]+/, `user=${other.username}`),
      path.replace(/&token=[^&]+/, ''),
      `${path}&token=again`,
    ]) {
      const reply = await client().get(bad);
      expect(reply.status).toBe(400);
      expect(textOf(reply.body)).toContain('This password reset link is not valid.');
    }
    expect((await completeReset(path)).location).toBe('/login');
  });

  it('point 6: completing a reset ends every session of the account (this browser too), not other accounts\'', async () => {
    const owner = client();
    const user = await signup(owner);
    const stolen = owner.clone();
    const bystander = client();
    await signup(bystander);
    const c = client();
    await submitPassword(c, user);
    expect((await c.get('/account')).status).toBe(200);
    const reply = await completeReset(await requestReset(user), NEW_PASSWORD, c);
    expect(await followText(c, reply)).toContain('Your password was changed and every session of your account was signed out.');
    for (const session of [owner, stolen, c]) expect((await session.get('/account')).location).toBe('/login');
    expect((await bystander.get('/account')).status).toBe(200);
    expect(lastEmail(server, user, 'Your password was changed').text).toContain('with a reset link');
  });

  it('point 6: a second factor is still needed after a reset (the mailbox alone does not sign in)', async () => {
    const user = await signupAndEnroll(server, client());
    await completeReset(await requestReset(user));
    const c = client();
    expect((await submitPassword(c, { ...user, password: NEW_PASSWORD })).location).toBe('/login/mfa');
    expect((await c.get('/account')).location).toBe('/login');
    expect((await c.submit('/login/mfa', '/login/mfa', { code: nextCode(server, user.secret) })).location).toBe('/account');
    expect(mailOf(user).some((e) => e.subject === 'Two-factor authentication is off')).toBe(false);
  });
});

describe('issue 8 point 6: the reset forms are rate-limited like /login', () => {
  const limited = sharedServer({ rateLimit: { windowMs: MINUTE, limit: 3 } });

  it('point 6: POST /forgot-password answers 429 after the per-IP limit', async () => {
    const c = limited.client();
    const csrf = await c.csrf('/forgot-password');
    for (let i = 0; i < 3; i++) expect((await c.post('/forgot-password', { _csrf: csrf, login: uniqueName('x') })).status).toBe(303);
    const blocked = await c.post('/forgot-password', { _csrf: csrf, login: uniqueName('x') });
    expect(blocked.status).toBe(429);
    expect(textOf(blocked.body)).toContain('Too many attempts');
    expect((await c.post('/reset-password', { _csrf: csrf, user: 'x', token: 'y', password: NEW_PASSWORD })).status).toBe(429);
    limited.server.clock.advance(SECOND);
    expect((await new Client(limited.server.baseUrl).get('/forgot-password')).status).toBe(200);
  });
});
