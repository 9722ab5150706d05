/** "Lost your phone and your codes?": email recovery, its waiting period, and how the owner stops it. */
import { request } from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import { emailTime, whenText } from '../../../examples/express/time.ts';
import {
  Client,
  followText,
  HOUR,
  loginWithCode,
  MINUTE,
  openSetup,
  SECOND,
  setupOf,
  sharedServer,
  signupAndEnroll,
  startServer,
  submitPassword,
  textOf,
  type EnrolledUser,
} from './helpers.ts';

const DELAY = 30 * SECOND;

const { server, client } = sharedServer({ emailRecoveryDelayMs: DELAY, publicUrl: 'http://demo.example.test' });
beforeAll(async () => {
  await signupAndEnroll(server, client(), { username: 'someone-else' });
});
const mailOf = (user: EnrolledUser) => server.outbox.to(`${user.username}@example.test`);

/** Someone with the password asks for a recovery; returns the emailed link's path and query. */
async function requestRecovery(user: EnrolledUser, c = client()): Promise<{ path: string; c: Client; page: string }> {
  expect((await submitPassword(c, user)).location).toBe('/login/mfa');
  const posted = await c.submit('/login/recover', '/login/recover');
  // Post, redirect, get: a reload of the page does not ask for another link.
  expect(posted.status).toBe(303);
  expect(posted.location).toBe('/login/recover/sent');
  const reply = await c.get(posted.location!);
  expect(reply.status).toBe(200);
  const email = mailOf(user).findLast((e) => e.subject === 'Your recovery link');
  const link = /http:\/\/demo\.example\.test(\/login\/recover\/complete\?\S+)/.exec(email!.text);
  expect(link).not.toBeNull();
  return { path: link![1]!, c, page: reply.body };
}

describe('GET and POST /login/recover', () => {
  it('needs the password step first', async () => {
    const c = client();
    const reply = await c.get('/login/recover');
    expect(reply.location).toBe('/login');
    expect(await followText(c, reply)).toContain('Log in with your password first.');
    const post = await c.post('/login/recover', { _csrf: await c.csrf('/login') });
    expect(post.location).toBe('/login');
    expect(server.outbox.list().some((e) => e.subject === 'Your recovery link')).toBe(false);
  });

  it('needs a fresh password step', async () => {
    const user = await signupAndEnroll(server, client());
    const c = client();
    await submitPassword(c, user);
    server.clock.advance(5 * MINUTE + SECOND);
    const reply = await c.get('/login/recover');
    expect(reply.location).toBe('/login');
    expect(await followText(c, reply)).toContain('That sign-in took too long.');
  });

  it('explains the waiting period and that the owner is told', async () => {
    const user = await signupAndEnroll(server, client());
    const c = client();
    await submitPassword(c, user);
    const page = await c.get('/login/recover');
    expect(page.status).toBe(200);
    const text = textOf(page.body);
    expect(text).toContain('works only after a waiting period of 30 seconds');
    expect(text).toContain('we also email the address on the account right away that a recovery was asked for');
    expect(text).not.toContain('the account owner is told');
    expect(page.body).toContain('action="/login/recover"');
  });

  it('emails the link and a notice to the owner, and says when the link works', async () => {
    const user = await signupAndEnroll(server, client());
    const requestedAt = server.clock.ms;
    const { path, page } = await requestRecovery(user);
    const text = textOf(page);
    expect(text).toContain(`We emailed a recovery link to ${user.username.slice(0, 2)}…@example.test`);
    expect(text).toContain('with a note that a recovery was asked for');
    expect(text).not.toContain('told the account owner');
    expect(text).toContain(`The link starts working ${whenText(requestedAt + DELAY, server.clock.ms, 'up')}, and stops working`);
    expect(text).toContain('in 30 seconds, at 09:');
    expect(path).toMatch(new RegExp(`^/login/recover/complete\\?user=${user.username}&token=[A-Za-z0-9_-]{43}$`));
    const notice = mailOf(user).find((e) => e.subject === 'Someone asked to remove your second factor');
    expect(notice?.text).toContain(`It can be completed from ${emailTime(requestedAt + DELAY, 'up')}`);
    expect(notice?.text).toContain('sign in with your authenticator app or a recovery code, which cancels the recovery');
    expect(notice?.text).not.toContain('token=');
    const status = await server.mfa.status((await server.accounts.byUsername(user.username))!.id);
    expect(status.pendingEmailRecovery?.notBefore).toBe(requestedAt + DELAY);
  });

  it('does not sign anyone in', async () => {
    const user = await signupAndEnroll(server, client());
    const { c } = await requestRecovery(user);
    expect((await c.get('/account')).location).toBe('/login');
  });
});

describe('GET /login/recover/complete', () => {
  it('too early: says when the link will work, and changes nothing', async () => {
    const user = await signupAndEnroll(server, client());
    const requestedAt = server.clock.ms;
    const { path } = await requestRecovery(user);
    server.clock.advance(10 * SECOND);
    const reply = await client().get(path);
    expect(reply.status).toBe(400);
    expect(textOf(reply.body)).toContain(`This recovery link does not work yet. It starts working ${whenText(requestedAt + DELAY, server.clock.ms, 'up')}.`);
    expect(textOf(reply.body)).toContain('in 20 seconds, at 09:');
    expect((await server.mfa.status((await server.accounts.byUsername(user.username))!.id)).state).toBe('enabled');
  });

  it('after the wait: removes MFA; the user logs in with the password alone and can set it up again', async () => {
    const user = await signupAndEnroll(server, client());
    const { path } = await requestRecovery(user);
    server.clock.advance(DELAY);
    const reply = await client().get(path);
    expect(reply.status).toBe(200);
    const text = textOf(reply.body);
    expect(text).toContain('Two-factor authentication was removed from your account.');
    expect(text).toContain('Log in with your password, then set up two-factor authentication again');
    expect(reply.body).toContain('href="/login"');
    expect((await server.mfa.status((await server.accounts.byUsername(user.username))!.id)).state).toBe('registered');
    expect(mailOf(user).map((e) => e.subject)).toContain('Two-factor authentication removed by email recovery');

    const c = client();
    expect((await submitPassword(c, user)).location).toBe('/account');
    const account = await c.get('/account');
    expect(account.body).toContain('href="/mfa/setup"');
    expect(setupOf((await openSetup(c, user)).body).secret).toMatch(/^[A-Z2-7]{32}$/);

    // The link works once; opened again it says so (not "not valid"): already used, log in (issue 14.11).
    const reused = await client().get(path);
    expect(reused.status).toBe(410);
    expect(textOf(reused.body)).toContain('This recovery link was already used.');
    expect(textOf(reused.body)).toContain('Log in with your password');
    expect(reused.body).toContain('href="/login"');
  });

  it('ends the sessions the user had', async () => {
    const owner = client();
    const user = await signupAndEnroll(server, owner);
    const { path } = await requestRecovery(user);
    server.clock.advance(DELAY);
    // The owner's session was created before the recovery completed. (Had the
    // owner used it for an MFA login, the recovery would have been cancelled.)
    expect((await owner.get('/account')).status).toBe(200);
    await client().get(path);
    expect((await owner.get('/account')).location).toBe('/login');
  });

  it('cancelled by a login of the real owner with the second factor', async () => {
    const user = await signupAndEnroll(server, client());
    const { path } = await requestRecovery(user);
    expect((await loginWithCode(server, client(), user)).location).toBe('/account');
    const cancelled = mailOf(user).find((e) => e.subject === 'Email recovery cancelled');
    expect(cancelled?.text).toContain('because you signed in with your second factor');
    server.clock.advance(DELAY);
    const reply = await client().get(path);
    expect(reply.status).toBe(400);
    expect(textOf(reply.body)).toContain('This recovery was cancelled.');
    expect((await server.mfa.status((await server.accounts.byUsername(user.username))!.id)).state).toBe('enabled');
  });

  it('cancelled from the account page, which shows the pending recovery', async () => {
    const owner = client();
    const user = await signupAndEnroll(server, owner);
    const { path } = await requestRecovery(user);
    const account = await owner.get('/account');
    expect(account.body).toContain('id="pending-recovery"');
    expect(account.body).toContain('action="/mfa/email-recovery/cancel"');
    const reply = await owner.submit('/account', '/mfa/email-recovery/cancel', { password: user.password });
    expect(reply.location).toBe('/account');
    const after = await owner.get('/account');
    expect(textOf(after.body)).toContain('The email recovery was cancelled.');
    expect(after.body).not.toContain('id="pending-recovery"');
    expect(mailOf(user).find((e) => e.subject === 'Email recovery cancelled')?.text).toContain('from your account page');
    server.clock.advance(DELAY);
    expect(textOf((await client().get(path)).body)).toContain('This recovery was cancelled.');

    // A second cancel (say, from another tab) has nothing left to cancel (the password was confirmed a moment ago).
    const again = await owner.post('/mfa/email-recovery/cancel', { _csrf: await owner.csrf('/account') });
    expect(await followText(owner, again)).toContain('No email recovery was pending.');
  });

  it('expired: after the waiting period plus 48 hours', async () => {
    const user = await signupAndEnroll(server, client());
    const { path } = await requestRecovery(user);
    server.clock.advance(DELAY + 48 * HOUR);
    expect(textOf((await client().get(path)).body)).toContain('This recovery link has expired.');
  });

  it('a newer request replaces the older link', async () => {
    const user = await signupAndEnroll(server, client());
    const first = await requestRecovery(user);
    const second = await requestRecovery(user);
    server.clock.advance(DELAY);
    expect(textOf((await client().get(first.path)).body)).toContain('This recovery link is not valid.');
    expect(textOf((await client().get(second.path)).body)).toContain('Two-factor authentication was removed');
  });

  it.each([
    ['a wrong token', (path: string) => path.replace(/token=[^&]+/, `token=${'A'.repeat(43)}`)],
    ['a malformed token', (path: string) => path.replace(/token=[^&]+/, 'token=short')],
    ['no token', (path: string) => path.replace(/&token=[^&]+/, '')],
    ['an unknown user', (path: string) => path.replace(/user=[^&]+/, 'user=nobody-here')],
    ['another user', (path: string) => path.replace(/user=[^&]+/, 'user=someone-else')],
    ['repeated parameters', (path: string) => `${path}&token=again`],
  ])('refuses %s with the same message', async (_name, change) => {
    const user = await signupAndEnroll(server, client());
    const { path } = await requestRecovery(user);
    server.clock.advance(DELAY);
    const reply = await client().get(change(path));
    expect(reply.status).toBe(400);
    expect(textOf(reply.body)).toContain('This recovery link is not valid.');
    expect((await server.mfa.status((await server.accounts.byUsername(user.username))!.id)).state).toBe('enabled');
  });

  it('builds the link from the configured public URL, not from the Host header', async () => {
    const user = await signupAndEnroll(server, client());
    const c = client();
    await submitPassword(c, user);
    const csrf = await c.csrf('/login/recover');
    // fetch will not send a Host header of our choosing; node:http will.
    const status = await new Promise<number>((resolve, reject) => {
      const body = new URLSearchParams({ _csrf: csrf }).toString();
      const req = request(`${server.baseUrl}/login/recover`, {
        method: 'POST',
        headers: { host: 'evil.example', cookie: c.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(status).toBe(303);
    const email = mailOf(user).findLast((e) => e.subject === 'Your recovery link');
    expect(email!.text).toContain('http://demo.example.test/login/recover/complete?');
    expect(email!.text).not.toContain('evil.example');
  });
});

describe('without a configured public URL (development)', () => {
  it('builds the link from http://localhost and the port the server listens on', async () => {
    const dev = await startServer({ emailRecoveryDelayMs: DELAY });
    try {
      const user = await signupAndEnroll(dev, new Client(dev.baseUrl));
      const c = new Client(dev.baseUrl);
      await submitPassword(c, user);
      await c.submit('/login/recover', '/login/recover');
      const email = dev.outbox.to(`${user.username}@example.test`).find((e) => e.subject === 'Your recovery link');
      const port = new URL(dev.baseUrl).port;
      expect(email?.text).toContain(`http://localhost:${port}/login/recover/complete?user=${user.username}&token=`);
    } finally {
      await dev.close();
    }
  });
});
