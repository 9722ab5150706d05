/** Sign up, password login without MFA, generic errors, session rotation, logout. */
import { describe, expect, it } from 'vitest';
import { csrfOf, followText, PASSWORD, sharedServer, signup, submitPassword, textOf, uniqueName } from './helpers.ts';

const { server, client } = sharedServer();

describe('signup', () => {
  it('shows the form with a CSRF token and the field names', async () => {
    const page = await client().get('/signup');
    expect(page.status).toBe(200);
    expect(page.body).toContain('action="/signup"');
    expect(page.body).toContain('name="username"');
    expect(page.body).toContain('name="password"');
    expect(csrfOf(page.body)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('creates the user, signs in with a new session id and redirects to /account', async () => {
    const c = client();
    const form = await c.get('/signup');
    const before = c.cookieHeader();
    const username = uniqueName('new');
    const reply = await c.post('/signup', { _csrf: csrfOf(form.body), username, password: PASSWORD });
    expect(reply.status).toBe(303);
    expect(reply.location).toBe('/account');
    expect(reply.setCookies).toHaveLength(1);
    expect(c.cookieHeader()).not.toBe(before);
    const account = await c.get('/account');
    expect(account.status).toBe(200);
    expect(textOf(account.body)).toContain(`Signed in as ${username}`);
    expect((await server.accounts.byUsername(username))?.email).toBe(`${username}@example.test`);
  });

  it.each([
    ['ab', PASSWORD, 'Username must be at least 3 characters.'],
    ['a'.repeat(33), PASSWORD, 'Username must be at most 32 characters.'],
    ['bad name', PASSWORD, 'Username may only contain letters a–z, digits, dots, underscores and hyphens.'],
    ['émile', PASSWORD, 'Username may only contain letters a–z, digits, dots, underscores and hyphens.'],
    ['<script>', PASSWORD, 'Username may only contain letters a–z, digits, dots, underscores and hyphens.'],
    [uniqueName('pw'), 'short', 'Password must be at least 8 characters.'],
    [uniqueName('pw'), 'x'.repeat(129), 'Password must be at most 128 characters.'],
    ['', PASSWORD, 'Username must be at least 3 characters.'],
  ])('refuses username %j / password %j: %s', async (username, password, message) => {
    const c = client();
    const reply = await c.submit('/signup', '/signup', { username, password });
    expect(reply.status).toBe(400);
    expect(textOf(reply.body)).toContain(message);
    expect(reply.body).not.toContain('<script>');
    expect((await c.get('/account')).location).toBe('/login');
  });

  it('accepts the length limits exactly (3 and 32 characters, 8 and 128 characters)', async () => {
    for (const [username, password] of [
      [`a${uniqueName('').slice(0, 2)}`, 'x'.repeat(8)],
      [uniqueName('l').padEnd(32, 'z'), '€'.repeat(128)],
    ] as const) {
      const reply = await client().submit('/signup', '/signup', { username, password });
      expect(reply.status, `${username}: ${textOf(reply.body)}`).toBe(303);
    }
  });

  it('keeps usernames unique, ignoring case; the name is stored in lower case', async () => {
    const username = uniqueName('dup');
    await signup(client(), { username });
    const again = await client().submit('/signup', '/signup', { username: username.toUpperCase(), password: PASSWORD });
    expect(again.status).toBe(409);
    expect(textOf(again.body)).toContain('That username is taken.');
    const upper = uniqueName('Mixed').toUpperCase();
    await signup(client(), { username: upper });
    expect((await server.accounts.byUsername(upper))?.username).toBe(upper.toLowerCase());
  });

  it('never stores the password, only a salted Argon2id hash (two users, same password, different salts and hashes)', async () => {
    const a = await signup(client());
    const b = await signup(client());
    const rowA = (await server.accounts.store.byUsername(a.username))!;
    const rowB = (await server.accounts.store.byUsername(b.username))!;
    const partsA = rowA.passwordHash.split('$');
    const partsB = rowB.passwordHash.split('$');
    // ['', 'argon2id', 'v=19', 'm=…,t=…,p=…', salt, hash]
    expect(partsA.slice(0, 4)).toEqual(['', 'argon2id', 'v=19', 'm=512,t=1,p=1']);
    expect(partsA[4]).not.toBe(partsB[4]);
    expect(partsA[5]).not.toBe(partsB[5]);
    expect(JSON.stringify(rowA)).not.toContain(PASSWORD);
    // What the routes get has no hash at all.
    expect(Object.keys((await server.accounts.byUsername(a.username))!).sort()).toEqual(['email', 'id', 'sessionGeneration', 'username']);
  });
});

describe('login without MFA', () => {
  it('signs in with the password alone and a new session id', async () => {
    const user = await signup(client());
    const c = client();
    const form = await c.get('/login');
    const preLogin = c.cookieHeader();
    expect(preLogin).toMatch(/^twofold\.sid=/);
    const reply = await c.post('/login', { _csrf: csrfOf(form.body), username: user.username, password: user.password });
    expect(reply.status).toBe(303);
    expect(reply.location).toBe('/account');
    expect(c.cookieHeader()).not.toBe(preLogin);
    expect((await c.get('/account')).status).toBe(200);
  });

  it('accepts the username in any case', async () => {
    const user = await signup(client());
    const reply = await submitPassword(client(), { ...user, username: `  ${user.username.toUpperCase()} ` });
    expect(reply.location).toBe('/account');
  });

  it('gives the same answer for an unknown user and a wrong password', async () => {
    const user = await signup(client());
    const wrongPassword = await submitPassword(client(), { username: user.username, password: 'wrong password' });
    const unknownUser = await submitPassword(client(), { username: uniqueName('ghost'), password: 'wrong password' });
    expect(wrongPassword.status).toBe(401);
    expect(unknownUser.status).toBe(401);
    // Same words; only the echoed username (an attribute) and the CSRF token differ, and textOf drops attributes.
    expect(textOf(wrongPassword.body)).toBe(textOf(unknownUser.body));
    expect(textOf(wrongPassword.body)).toContain('Wrong username or password.');
  });

  it('asks for both fields when one is empty', async () => {
    const reply = await submitPassword(client(), { username: '', password: '' });
    expect(reply.status).toBe(400);
    expect(textOf(reply.body)).toContain('Enter your username and password.');
  });

  it('escapes the echoed username', async () => {
    const reply = await submitPassword(client(), { username: '"><img src=x onerror=alert(1)>', password: 'whatever1' });
    expect(reply.body).not.toContain('<img src=x');
    expect(reply.body).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
  });

  it('ignores fields sent twice (arrays) instead of failing', async () => {
    const c = client();
    const token = await c.csrf('/login');
    const reply = await c.request('POST', '/login', new URLSearchParams([['_csrf', token], ['username', 'a'], ['username', 'b'], ['password', 'x']]));
    expect(reply.status).toBe(400);
  });
});

describe('logout', () => {
  it('destroys the session and clears the cookie', async () => {
    const c = client();
    await signup(c);
    const stolen = c.clone();
    const reply = await c.submit('/account', '/logout');
    expect(reply.status).toBe(303);
    expect(reply.location).toBe('/?logged-out=1');
    expect(reply.setCookies.join()).toMatch(/twofold\.sid=;.*Expires=Thu, 01 Jan 1970/);
    // The home page says so (issue 14.11), without a session to carry it.
    const home = await c.get(reply.location!);
    expect(textOf(home.body)).toContain('You are logged out.');
    expect(home.body).toContain('id="logged-out"');
    expect(home.setCookies).toEqual([]);
    expect((await c.get('/account')).location).toBe('/login');
    // The old cookie is dead on the server too.
    expect((await stolen.get('/account')).location).toBe('/login');
  });
});

describe('pages for signed-out visitors', () => {
  it('the home page explains the demo and links signup, login and the dev outbox', async () => {
    const home = await client().get('/');
    expect(home.status).toBe(200);
    expect(home.body).toContain('href="/signup"');
    expect(home.body).toContain('href="/login"');
    expect(home.body).toContain('href="/dev/outbox"');
    expect(home.body).toContain('<link rel="stylesheet" href="/style.css">');
    // No form, so no session and no cookie for a mere visitor.
    expect(home.setCookies).toHaveLength(0);
  });

  it('the home page links the account when signed in', async () => {
    const c = client();
    await signup(c);
    const home = await c.get('/');
    expect(home.body).toContain('href="/account"');
    expect(home.body).toContain('action="/logout"');
  });

  it('GET /account without a session redirects to /login', async () => {
    const reply = await client().get('/account');
    expect(reply.status).toBe(303);
    expect(reply.location).toBe('/login');
  });

  it.each(['/mfa/setup', '/mfa/recovery-codes'])('GET %s without a session redirects to /login', async (path) => {
    expect((await client().get(path)).location).toBe('/login');
  });

  it('GET /login/mfa without the password step sends back to /login with a message', async () => {
    const c = client();
    const reply = await c.get('/login/mfa');
    expect(reply.location).toBe('/login');
    expect(await followText(c, reply)).toContain('Log in with your password first.');
  });

  it('serves the stylesheet', async () => {
    const css = await client().get('/style.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(css.setCookies).toHaveLength(0);
  });

  it('answers unknown paths with a 404 page', async () => {
    const reply = await client().get('/nope');
    expect(reply.status).toBe(404);
    expect(textOf(reply.body)).toContain('Not found');
  });
});
