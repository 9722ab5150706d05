/** Login with a second factor: no session before it, challenges that die, replay, lockout, recovery codes. */
import { describe, expect, it } from 'vitest';
import { emailTime, whenText } from '../../../examples/express/time.ts';
import {
  codeNow,
  csrfOf,
  disableMfa,
  followText,
  loginWithCode,
  MINUTE,
  nextCode,
  sessionOf,
  SECOND,
  sharedServer,
  signupAndEnroll,
  submitPassword,
  textOf,
  withCode,
  wrongCode,
} from './helpers.ts';

const { server, client } = sharedServer();

/** A user with MFA, and a fresh client that passed only the password step (showing the code form). */
async function atCodeStep() {
  const user = await signupAndEnroll(server, client());
  const c = client();
  const password = await submitPassword(c, user);
  expect(password.status).toBe(303);
  expect(password.location).toBe('/login/mfa');
  const form = await c.get('/login/mfa');
  expect(form.status).toBe(200);
  return { user, c, form, csrf: csrfOf(form.body, '/login/mfa') };
}

describe('the password step of a user with MFA', () => {
  it('creates no signed-in session: /account redirects to /login', async () => {
    const { c } = await atCodeStep();
    const account = await c.get('/account');
    expect(account.status).toBe(303);
    expect(account.location).toBe('/login');
    expect((await c.get('/mfa/setup')).location).toBe('/login');
  });

  it('keeps only the pending marker (challenge and user id) in the session, not a signed-in user', async () => {
    const { c, user } = await atCodeStep();
    const data = await sessionOf(server, c);
    expect(Object.keys(data!).sort()).toEqual(['cookie', 'csrfToken', 'pendingMfa']);
    const pending = data!.pendingMfa as Record<string, unknown>;
    // No `webauthn` request options: this user holds no security key.
    expect(Object.keys(pending).sort()).toEqual(['challenge', 'expiresAt', 'methods', 'userId']);
    expect(pending.methods).toEqual(['totp', 'recovery_code']);
    expect(pending.userId).toBe((await server.accounts.byUsername(user.username))!.id);
    expect((await c.get('/')).body).not.toContain(user.username);
  });

  it('shows the code form: field "code", one-time-code, numeric, links to the alternatives', async () => {
    const { form } = await atCodeStep();
    expect(form.body).toMatch(/<input id="code" name="code" autocomplete="one-time-code" inputmode="numeric"/);
    expect(form.body).toContain('href="/login/recovery"');
    expect(form.body).toContain('href="/login/recover"');
    expect(textOf(form.body)).toContain('Lost your phone and your codes?');
  });

  it('rotates the session id at the password step and again after the code', async () => {
    const user = await signupAndEnroll(server, client());
    const c = client();
    const form = await c.get('/login');
    const anonymous = c.cookies.get('twofold.sid');
    const password = await c.post('/login', { _csrf: csrfOf(form.body), username: user.username, password: user.password });
    const pending = c.cookies.get('twofold.sid');
    expect(password.setCookies).toHaveLength(1);
    expect(pending).not.toBe(anonymous);
    const verified = await c.submit('/login/mfa', '/login/mfa', { code: nextCode(server, user.secret) });
    expect(verified.status).toBe(303);
    expect(verified.location).toBe('/account');
    expect(verified.setCookies).toHaveLength(1);
    const signedIn = c.cookies.get('twofold.sid');
    expect(signedIn).not.toBe(pending);
    expect(signedIn).not.toBe(anonymous);
    expect((await c.get('/account')).status).toBe(200);
  });
});

describe('the code step', () => {
  it('signs in with a valid code', async () => {
    const { c, csrf, user } = await atCodeStep();
    const reply = await c.post('/login/mfa', { _csrf: csrf, code: nextCode(server, user.secret) });
    expect(reply.location).toBe('/account');
    expect(textOf((await c.get('/account')).body)).toContain(`Signed in as ${user.username}`);
  });

  it('accepts the code with a space in the middle, as apps show it', async () => {
    const { c, csrf, user } = await atCodeStep();
    const code = nextCode(server, user.secret);
    const reply = await c.post('/login/mfa', { _csrf: csrf, code: `${code.slice(0, 3)} ${code.slice(3)}` });
    expect(reply.location).toBe('/account');
  });

  it('shows attempts left after a wrong code, and stays on the code form', async () => {
    const { c, csrf, user } = await atCodeStep();
    const reply = await c.post('/login/mfa', { _csrf: csrf, code: wrongCode(server, user.secret) });
    expect(reply.status).toBe(401);
    expect(textOf(reply.body)).toContain('That code is not right. 4 attempts left before your account is locked for a while.');
    expect(reply.body).toContain('action="/login/mfa"');
    expect((await c.get('/account')).location).toBe('/login');
  });

  it('refuses a malformed code without counting it', async () => {
    const { c, csrf, user } = await atCodeStep();
    const reply = await c.post('/login/mfa', { _csrf: csrf, code: '12345' });
    expect(reply.status).toBe(400);
    expect(textOf(reply.body)).toContain('Enter the 6-digit code from your authenticator app');
    const next = await c.post('/login/mfa', { _csrf: csrf, code: wrongCode(server, user.secret) });
    expect(textOf(next.body)).toContain('4 attempts left');
  });

  it('asks for a code when the field is empty', async () => {
    const { c, csrf } = await atCodeStep();
    const reply = await c.post('/login/mfa', { _csrf: csrf, code: ' ' });
    expect(reply.status).toBe(400);
    expect(textOf(reply.body)).toContain('Enter the 6-digit code from your app.');
  });

  it('refuses a replayed code (the one just used to sign in), without counting a double submit of it', async () => {
    const { c, csrf, user } = await atCodeStep();
    const code = nextCode(server, user.secret);
    expect((await c.post('/login/mfa', { _csrf: csrf, code })).location).toBe('/account');

    const again = client();
    await submitPassword(again, user);
    const replay = await again.submit('/login/mfa', '/login/mfa', { code });
    expect(replay.status).toBe(401);
    expect(textOf(replay.body)).toContain('That code was already used. Wait for the next code in your app. 5 attempts left');
    expect((await again.get('/account')).location).toBe('/login');
  });

  it('refuses the enrollment code for the first login (replay)', async () => {
    const user = await signupAndEnroll(server, client());
    const c = client();
    await submitPassword(c, user);
    const reply = await c.submit('/login/mfa', '/login/mfa', { code: codeNow(server, user.secret) });
    expect(textOf(reply.body)).toContain('That code was already used.');
  });

  it('locks after 5 wrong codes and shows when the lock ends, at login too', async () => {
    const { c, csrf, user } = await atCodeStep();
    let reply;
    for (let i = 0; i < 4; i++) reply = await c.post('/login/mfa', { _csrf: csrf, code: wrongCode(server, user.secret) });
    expect(textOf(reply!.body)).toContain('1 attempt left');
    const lockedAt = server.clock.ms;
    reply = await c.post('/login/mfa', { _csrf: csrf, code: wrongCode(server, user.secret) });
    expect(reply.status).toBe(429);
    expect(textOf(reply.body)).toContain(`Too many wrong codes were entered. Try again ${whenText(lockedAt + MINUTE, server.clock.ms, 'up')}.`);
    // The lock screen has no code field.
    expect(reply.body).not.toContain('name="code"');

    // While locked even the right code is not evaluated.
    const right = await c.post('/login/mfa', { _csrf: csrf, code: nextCode(server, user.secret) });
    expect(right.status).toBe(429);

    // A new login shows the lock after the password step.
    const later = await submitPassword(client(), user);
    expect(later.status).toBe(429);
    expect(textOf(later.body)).toContain('Try again in 30 seconds');

    // The owner was told.
    const email = server.outbox.to(`${user.username}@example.test`).find((e) => e.subject === 'Your account is locked');
    expect(email?.text).toContain(`You can try again in 1 minute, after ${emailTime(lockedAt + MINUTE, 'up')}.`);

    // After the lock, the right code works.
    server.clock.advance(MINUTE);
    expect((await loginWithCode(server, client(), user)).location).toBe('/account');
  });

  it('does not show the lock to someone without the password', async () => {
    const { c, csrf, user } = await atCodeStep();
    for (let i = 0; i < 5; i++) await c.post('/login/mfa', { _csrf: csrf, code: wrongCode(server, user.secret) });
    const stranger = await submitPassword(client(), { username: user.username, password: 'not the password' });
    expect(stranger.status).toBe(401);
    expect(textOf(stranger.body)).toContain('Wrong username or password.');
    expect(textOf(stranger.body)).not.toContain('locked');
  });
});

describe('a pending marker that is missing, forged, expired or spent sends back to /login', () => {
  it('forged: a random session cookie', async () => {
    const c = client();
    c.cookies.set('twofold.sid', 's%3Aforged-session-id.c2lnbmF0dXJl');
    const reply = await c.get('/login/mfa');
    expect(reply.location).toBe('/login');
    expect(await followText(c, reply)).toContain('Log in with your password first.');
    expect((await c.get('/account')).location).toBe('/login');
  });

  it('forged: a POST without the password step', async () => {
    const c = client();
    const csrf = await c.csrf('/login');
    const reply = await c.post('/login/mfa', { _csrf: csrf, code: '123456' });
    expect(reply.status).toBe(303);
    expect(reply.location).toBe('/login');
    expect(await followText(c, reply)).toContain('Log in with your password first.');
  });

  it('expired: the code form after challengeTtl', async () => {
    const { c } = await atCodeStep();
    server.clock.advance(5 * MINUTE + SECOND);
    const reply = await c.get('/login/mfa');
    expect(reply.location).toBe('/login');
    expect(await followText(c, reply)).toContain('That sign-in took too long. Please enter your password again.');
    expect((await c.get('/login/mfa')).location).toBe('/login');
  });

  it('expired: a right code posted after challengeTtl', async () => {
    const { c, csrf, user } = await atCodeStep();
    server.clock.advance(5 * MINUTE + SECOND);
    const reply = await c.post('/login/mfa', { _csrf: csrf, code: codeNow(server, user.secret) });
    expect(reply.location).toBe('/login');
    expect(await followText(c, reply)).toContain('That sign-in took too long.');
    expect((await c.get('/account')).location).toBe('/login');
  });

  it('spent: a copy of the pre-login cookie after the login succeeded', async () => {
    const { c, csrf, user } = await atCodeStep();
    const copy = c.clone();
    expect((await c.post('/login/mfa', { _csrf: csrf, code: nextCode(server, user.secret) })).location).toBe('/account');

    const reply = await copy.get('/login/mfa');
    expect(reply.location).toBe('/login');
    expect(await followText(copy, reply)).toContain('Log in with your password first.');
    expect((await copy.get('/account')).location).toBe('/login');
    // Posting the old form with another fresh code gets nowhere either (its session, and token, are gone).
    const post = await copy.post('/login/mfa', { _csrf: csrf, code: nextCode(server, user.secret) });
    expect(post.status).toBe(403);
    expect((await copy.get('/account')).location).toBe('/login');
  });

  it('spent: the second tab of the same pending session cannot sign in twice', async () => {
    const { c, csrf, user } = await atCodeStep();
    const [first, second] = await Promise.all([
      c.clone().post('/login/mfa', { _csrf: csrf, code: nextCode(server, user.secret) }),
      c.clone().post('/login/mfa', { _csrf: csrf, code: codeNow(server, user.secret) }),
    ]);
    const locations = [first.location, second.location];
    expect(locations.filter((l) => l === '/account')).toHaveLength(1);
  });

  it('invalid: MFA was turned off between the password step and the code', async () => {
    const owner = client();
    const user = await signupAndEnroll(server, owner);
    const c = client();
    await submitPassword(c, user);
    const form = await c.get('/login/mfa');
    expect((await disableMfa(server, owner, withCode(server, user))).location).toBe('/account');
    const reply = await c.post('/login/mfa', { _csrf: csrfOf(form.body), code: nextCode(server, user.secret) });
    expect(reply.location).toBe('/login');
    expect(await followText(c, reply)).toContain('That sign-in attempt is no longer valid. Please enter your password again.');
  });
});

describe('login with a recovery code', () => {
  it('shows the recovery-code form from the code form', async () => {
    const { c } = await atCodeStep();
    const page = await c.get('/login/recovery');
    expect(page.status).toBe(200);
    expect(page.body).toContain('action="/login/recovery"');
    expect(page.body).toContain('name="recoveryCode"');
    expect(page.body).toContain('href="/login/recover"');
  });

  it('signs in, rotates the session id, and says how many codes remain', async () => {
    const { c, user } = await atCodeStep();
    const pending = c.cookies.get('twofold.sid');
    const reply = await c.submit('/login/recovery', '/login/recovery', { recoveryCode: user.codes[0]! });
    expect(reply.status).toBe(303);
    expect(reply.location).toBe('/account');
    expect(c.cookies.get('twofold.sid')).not.toBe(pending);
    const account = textOf((await c.get('/account')).body);
    expect(account).toContain('Signed in with a recovery code. 9 recovery codes left.');
    expect(account).toContain('Recovery codes left 9');
    expect(account).not.toContain('Generate new ones below before you run out.');
  });

  it('forgives case and dashes', async () => {
    const { c, user } = await atCodeStep();
    const typed = user.codes[1]!.toLowerCase().replace(/-/g, ' ');
    expect((await c.submit('/login/recovery', '/login/recovery', { recoveryCode: typed })).location).toBe('/account');
  });

  it('each code works once', async () => {
    const { c, user } = await atCodeStep();
    expect((await c.submit('/login/recovery', '/login/recovery', { recoveryCode: user.codes[0]! })).location).toBe('/account');
    const again = client();
    await submitPassword(again, user);
    const reply = await again.submit('/login/recovery', '/login/recovery', { recoveryCode: user.codes[0]! });
    expect(reply.status).toBe(401);
    // A recovery code gets words about recovery codes (issue 14.6).
    expect(textOf(reply.body)).toContain('That recovery code is not right, or it was already used (each one works once). 4 attempts left');
    expect(reply.body).toContain('action="/login/recovery"');
  });

  it('prompts to regenerate when 2 or fewer codes are left (twofold\'s recovery_codes_low)', async () => {
    const user = await signupAndEnroll(server, client());
    let c = client();
    for (let i = 0; i < 8; i++) {
      c = client();
      await submitPassword(c, user);
      expect((await c.submit('/login/recovery', '/login/recovery', { recoveryCode: user.codes[i]! })).location).toBe('/account');
    }
    const account = await c.get('/account');
    expect(textOf(account.body)).toContain('Signed in with a recovery code. 2 recovery codes left. Generate new ones below before you run out.');
    expect(account.body).toContain('id="few-codes"');
    expect(textOf(account.body)).toContain('Only 2 recovery codes left. Generate new ones before you run out.');
    expect(account.body).toContain('href="/mfa/recovery-codes/regenerate"');
  });

  it('the code field of the code form also takes a recovery code', async () => {
    const { c, csrf, user } = await atCodeStep();
    expect((await c.post('/login/mfa', { _csrf: csrf, code: user.codes[2]! })).location).toBe('/account');
  });

  it('an empty recovery code asks for one', async () => {
    const { c } = await atCodeStep();
    const reply = await c.submit('/login/recovery', '/login/recovery', { recoveryCode: '' });
    expect(reply.status).toBe(400);
    expect(textOf(reply.body)).toContain('Enter a recovery code.');
  });
});
