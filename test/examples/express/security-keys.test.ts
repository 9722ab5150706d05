/**
 * Security keys and passkeys in the example host, over HTTP, with the
 * software authenticator of test/webauthn making real registration and
 * assertion JSON: MFA with a key alone, logging in with a key, refused
 * answers (counted like wrong codes), the relying party taken from the
 * public URL, and the scripts under the CSP.
 */
import { describe, expect, it } from 'vitest';
import { FLAG } from '../../webauthn/soft-authenticator.ts';
import {
  addKey,
  asksPassword,
  Client,
  csrfOf,
  factorsOf,
  followText,
  keyOptionsOf,
  keyOrigin,
  loginWith,
  loginWithKey,
  recoveryCodesOf,
  sessionOf,
  sharedServer,
  signup,
  signupWithKey,
  submitPassword,
  TestKey,
  textOf,
  type TestServer,
} from './helpers.ts';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from 'twofold';

const { server, client } = sharedServer();

async function userId(s: TestServer, user: { username: string }): Promise<string> {
  return (await s.accounts.byUsername(user.username))!.id;
}

/** The CSP of a reply as a map of directive → value. */
function cspOf(headers: Headers): Record<string, string> {
  const csp = headers.get('content-security-policy')!;
  return Object.fromEntries(
    csp.split(';').map((d) => {
      const [name, ...values] = d.trim().split(/\s+/);
      return [name!, values.join(' ')];
    }),
  );
}

describe('a first security key turns MFA on by itself', () => {
  it('asks for the password again first (keeping the name), then shows creation options for this user and this site', async () => {
    const c = client();
    const user = await signup(c);
    const first = await c.get('/mfa/keys/new?name=Blue%20key');
    expect(first.status).toBe(200);
    expect(asksPassword(first.body, '/mfa/keys/password')).toBe(true);
    expect(first.body).toContain('<input type="hidden" name="name" value="Blue key">');
    expect(first.body).not.toContain('data-options');

    const wrong = await c.post('/mfa/keys/password', { _csrf: csrfOf(first.body), name: 'Blue key', password: 'not the password' });
    expect(wrong.status).toBe(401);
    expect(textOf(wrong.body)).toContain('That password is not right.');
    const right = await c.post('/mfa/keys/password', { _csrf: csrfOf(first.body), name: 'Blue key', password: user.password });
    expect(right.status).toBe(303);
    expect(right.location).toBe('/mfa/keys/new?name=Blue+key');

    const page = await c.get(right.location!);
    expect(page.status).toBe(200);
    const options = keyOptionsOf<PublicKeyCredentialCreationOptionsJSON>(page.body, '/mfa/keys');
    expect(options.rp).toEqual({ id: 'localhost', name: 'twofold example' });
    expect(options.user.name).toBe(user.username);
    expect(options.attestation).toBe('none');
    expect(options.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(page.body).toMatch(/<input id="key-name" name="name" value="Blue key"/);
    // The two same-origin scripts that run the ceremony, and no inline script.
    expect(page.body).toContain('<script src="/assets/simplewebauthn-browser.js" defer></script>');
    expect(page.body).toContain('<script src="/webauthn.js" defer></script>');
    expect((await server.mfa.status(await userId(server, user))).state).toBe('enrolling');
  });

  it('the key turns MFA on: recovery codes shown once, the key listed, the owner emailed, other sessions signed out', async () => {
    const c = client();
    const user = await signup(c);
    const laptop = client();
    await submitPassword(laptop, user);
    const key = new TestKey();
    const added = await addKey(server, c, user, key, { name: 'Blue key' });
    expect(added.status).toBe(303);
    expect(added.location).toBe('/mfa/recovery-codes');

    const codes = await c.get('/mfa/recovery-codes');
    expect(recoveryCodesOf(codes.body).codes).toHaveLength(10);
    expect(textOf((await c.get('/mfa/recovery-codes')).body)).toContain('Your recovery codes were already shown once');

    const status = await server.mfa.status(await userId(server, user));
    expect(status).toMatchObject({ state: 'enabled', methods: ['webauthn', 'recovery_code'], attention: ['single_factor'] });
    const [factor] = await factorsOf(server, user);
    expect(factor).toMatchObject({ kind: 'webauthn', label: 'Blue key', lastUsedAt: null, backedUp: false });

    const account = await c.get('/account');
    expect(account.status).toBe(200);
    const text = textOf(account.body);
    expect(text).toContain('Two-factor authentication On');
    expect(text).toContain('Blue key Security key');
    expect(text).toContain('last used never');
    expect(account.body).not.toContain('class="badge passkey"');
    expect(account.body).toContain('id="single-factor"');
    expect(text).toContain('You have only one two-factor method.');
    // A key alone: an authenticator app can still be added.
    expect(account.body).toContain('id="add-totp"');

    const subjects = server.outbox.to(`${user.username}@example.test`).map((e) => e.subject);
    expect(subjects).toEqual(['Two-factor authentication is on', 'A security key was added']);
    expect((await laptop.get('/account')).location).toBe('/login');
  });

  it('an empty name gives "Security key"; a synced credential is labelled "Passkey" and gets the passkey badge', async () => {
    const c = client();
    const user = await signup(c);
    await addKey(server, c, user, new TestKey());
    const c2 = client();
    const user2 = await signup(c2);
    await addKey(server, c2, user2, new TestKey('EdDSA'), { knobs: { flags: FLAG.UP | FLAG.UV | FLAG.BE | FLAG.BS } });
    expect((await factorsOf(server, user))[0]).toMatchObject({ label: 'Security key', backedUp: false });
    expect((await factorsOf(server, user2))[0]).toMatchObject({ label: 'Passkey', backedUp: true });
    const account = await c2.get('/account');
    expect(account.body).toContain('<span class="badge kind passkey" title="Synced across your devices by your password manager or platform">Passkey</span>');
    expect(textOf(account.body)).toContain('Passkey Passkey Added');
  });

  it.each([
    ['made for another site', { origin: 'https://evil.example' }],
    ['for another relying party id', { knobs: { rpId: 'evil.example' } }],
    ['with another challenge', { knobs: { challenge: 'A'.repeat(43) } }],
  ])('refuses a registration %s, says so and adds nothing', async (_name, options) => {
    const c = client();
    const user = await signup(c);
    const reply = await addKey(server, c, user, new TestKey(), { name: 'Evil', ...options });
    expect(reply.status).toBe(400);
    expect(textOf(reply.body)).toContain('The answer from your security key could not be verified (made for another site, or damaged). Try again.');
    // A new registration to try again with, the name kept.
    expect(keyOptionsOf<PublicKeyCredentialCreationOptionsJSON>(reply.body, '/mfa/keys').challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(reply.body).toMatch(/<input id="key-name" name="name" value="Evil"/);
    expect(await factorsOf(server, user)).toEqual([]);
    expect((await server.mfa.status(await userId(server, user))).state).not.toBe('enabled');
  });

  it('refuses a form without an answer (no JavaScript), and a bad name, with a message', async () => {
    const c = client();
    const user = await signup(c);
    await addKey(server, c, user, new TestKey(), { origin: 'https://evil.example' });
    const page = await c.get('/mfa/keys/new');
    const empty = await c.post('/mfa/keys', { _csrf: csrfOf(page.body, '/mfa/keys'), name: 'x', response: '' });
    expect(empty.status).toBe(400);
    expect(textOf(empty.body)).toContain('Your browser sent no answer from a security key.');
    const garbage = await c.post('/mfa/keys', { _csrf: csrfOf(page.body, '/mfa/keys'), name: 'x', response: '{not json' });
    expect(garbage.status).toBe(400);
    const long = await c.post('/mfa/keys', { _csrf: csrfOf(page.body, '/mfa/keys'), name: 'x'.repeat(65), response: '{}' });
    expect(long.status).toBe(400);
    expect(textOf(long.body)).toContain('A name must be 1 to 64 characters');
    expect(await factorsOf(server, user)).toEqual([]);
  });

  it('a navigation from another site to /mfa/keys/new begins nothing', async () => {
    const c = client();
    const user = await signup(c);
    await c.post('/mfa/keys/password', { _csrf: await c.csrf('/account'), password: user.password });
    const crossSite = new Client(server.baseUrl, { 'sec-fetch-site': 'cross-site' });
    for (const [name, value] of c.cookies) crossSite.cookies.set(name, value);
    const reply = await crossSite.get('/mfa/keys/new');
    expect(reply.status).toBe(200);
    expect(textOf(reply.body)).toContain('You followed a link from another site to add a security key or passkey.');
    expect(reply.body).not.toContain('data-options');
    expect((await server.mfa.status(await userId(server, user))).state).toBe('registered');
  });
});

describe('logging in with a security key', () => {
  it('the second-factor page carries the request options for the user\'s keys and a key button; the session keeps the challenge', async () => {
    const user = await signupWithKey(server, client());
    const c = client();
    expect((await submitPassword(c, user)).location).toBe('/login/mfa');
    const page = await c.get('/login/mfa');
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/<button type="submit" id="use-key"[^>]*>Use your security key<\/button>/);
    expect(page.body).toContain('<script src="/webauthn.js" defer></script>');
    const options = keyOptionsOf<PublicKeyCredentialRequestOptionsJSON>(page.body, '/login/webauthn');
    expect(options.rpId).toBe('localhost');
    expect(options.allowCredentials?.map((c) => c.id)).toEqual([user.key.id]);
    // A key-only user: the code field takes a recovery code.
    expect(page.body).toMatch(/<label for="code">Recovery code<\/label>/);
    expect(textOf(page.body)).toContain('Now use your security key or passkey, or enter one of your recovery codes.');

    const pending = (await sessionOf(server, c))!.pendingMfa as Record<string, unknown>;
    expect(pending.methods).toEqual(['webauthn', 'recovery_code']);
    expect(pending.webauthn).toEqual(options);
    // The twofold challenge stays server-side: the page holds only the derived WebAuthn one.
    expect(page.body).not.toContain(pending.challenge as string);
  });

  it('signs in with the key: a new session id, the key\'s last use recorded', async () => {
    const user = await signupWithKey(server, client());
    const c = client();
    const reply = await loginWithKey(server, c, user, user.key);
    expect(reply.status).toBe(303);
    expect(reply.location).toBe('/account');
    expect(reply.setCookies).toHaveLength(1);
    const data = await sessionOf(server, c);
    expect(data?.userId).toBe(await userId(server, user));
    expect(data?.pendingMfa).toBeUndefined();
    expect((await factorsOf(server, user))[0]!.lastUsedAt).toBe(server.clock.ms);
    expect(textOf((await c.get('/account')).body)).toContain(`Signed in as ${user.username}`);
  });

  it('a recovery code in the code field works for a key-only user', async () => {
    const user = await signupWithKey(server, client());
    expect((await loginWith(server, client(), user, { code: user.codes[0]! })).location).toBe('/account');
  });

  it('refuses an assertion made for another site with a clear message, counts it, and the right key still works', async () => {
    const user = await signupWithKey(server, client());
    const c = client();
    const wrong = await loginWithKey(server, c, user, user.key, { origin: 'https://evil.example' });
    expect(wrong.status).toBe(401);
    expect(textOf(wrong.body)).toContain('That security key was not accepted (not one of yours, or not for this site). 4 attempts left');
    // Still the second-factor page, with the key button to try again.
    expect(wrong.body).toContain('action="/login/webauthn"');
    const again = await c.post('/login/webauthn', {
      _csrf: csrfOf(wrong.body, '/login/webauthn'),
      response: JSON.stringify(user.key.assert(keyOptionsOf(wrong.body, '/login/webauthn'), keyOrigin(server))),
    });
    expect(again.location).toBe('/account');
  });

  it('refuses a key that is not on the account (counted), and an assertion of an earlier challenge (counted)', async () => {
    const user = await signupWithKey(server, client());
    const stranger = new TestKey();
    const c = client();
    const unknown = await loginWithKey(server, c, user, stranger);
    expect(unknown.status).toBe(401);
    expect(textOf(unknown.body)).toContain('4 attempts left');

    // An answer captured from one login, replayed on the next.
    const first = client();
    await submitPassword(first, user);
    const old = user.key.assert(keyOptionsOf((await first.get('/login/mfa')).body, '/login/webauthn'), keyOrigin(server));
    await submitPassword(c, user);
    const replay = await c.post('/login/webauthn', { _csrf: await c.csrf('/login/mfa'), response: JSON.stringify(old) });
    expect(replay.status).toBe(401);
    expect(textOf(replay.body)).toContain('That security key was not accepted');
  });

  it('garbage: no answer or unreadable JSON is refused without counting; a damaged signature is counted', async () => {
    const user = await signupWithKey(server, client());
    const c = client();
    await submitPassword(c, user);
    const csrf = await c.csrf('/login/mfa');
    const none = await c.post('/login/webauthn', { _csrf: csrf, response: '' });
    expect(none.status).toBe(400);
    expect(textOf(none.body)).toContain('Your browser sent no answer from a security key.');
    const notJson = await c.post('/login/webauthn', { _csrf: csrf, response: 'AAAA' });
    expect(notJson.status).toBe(400);
    const noAssertion = await c.post('/login/webauthn', { _csrf: csrf, response: JSON.stringify({ hello: 'world' }) });
    expect(noAssertion.status).toBe(400);
    expect(textOf(noAssertion.body)).toContain('The answer from your security key could not be read. Try again, or enter a code.');
    const damaged = await c.post('/login/webauthn', {
      _csrf: csrf,
      response: JSON.stringify(user.key.assert(keyOptionsOf(none.body, '/login/webauthn'), keyOrigin(server), { signature: (s) => s.map((b) => b ^ 1) })),
    });
    expect(damaged.status).toBe(401);
    // The first counted failure.
    expect(textOf(damaged.body)).toContain('4 attempts left');
  });

  it('five refused keys lock the account like five wrong codes', async () => {
    const user = await signupWithKey(server, client());
    const c = client();
    let reply = await loginWithKey(server, c, user, user.key, { origin: 'https://evil.example' });
    for (let i = 1; i < 5; i++) {
      reply = await c.post('/login/webauthn', {
        _csrf: csrfOf(reply.body, '/login/webauthn'),
        response: JSON.stringify(user.key.assert(keyOptionsOf(reply.body, '/login/webauthn'), 'https://evil.example')),
      });
    }
    expect(reply.status).toBe(429);
    expect(textOf(reply.body)).toContain('Too many wrong codes were entered. Try again in ');
    expect((await server.mfa.status(await userId(server, user))).state).toBe('locked');
  });

  it('a signature counter that goes back is refused and the owner is told the key may be cloned', async () => {
    const user = await signupWithKey(server, client());
    expect((await loginWithKey(server, client(), user, user.key)).location).toBe('/account');
    user.key.counter = 0; // the clone starts where the key was registered
    const reply = await loginWithKey(server, client(), user, user.key);
    expect(reply.status).toBe(401);
    expect(textOf(reply.body)).toContain('That security key was not accepted');
    expect(server.outbox.to(`${user.username}@example.test`).map((e) => e.subject)).toContain('A security key may have been copied');
  });
});

describe('the relying party is the public URL', () => {
  describe('with PUBLIC_URL=https://app.example.test', () => {
    const https = sharedServer({ publicUrl: 'https://app.example.test' });

    it('rpId is its host and only its origin is accepted, whatever the Host header', async () => {
      const c = https.client();
      const user = await signup(c);
      const refused = await addKey(https.server, c, user, new TestKey(), { origin: https.server.baseUrl });
      expect(refused.status).toBe(400);
      const options = keyOptionsOf<PublicKeyCredentialCreationOptionsJSON>(refused.body, '/mfa/keys');
      expect(options.rp.id).toBe('app.example.test');
      const key = new TestKey();
      const added = await addKey(https.server, c, user, key, { origin: 'https://app.example.test' });
      expect(added.location).toBe('/mfa/recovery-codes');
      const login = https.client();
      expect((await loginWithKey(https.server, login, user, key, { origin: 'http://localhost' })).status).toBe(401);
      const again = https.client();
      expect((await loginWithKey(https.server, again, user, key, { origin: 'https://app.example.test' })).location).toBe('/account');
    });
  });

  describe('with PUBLIC_URL=http://demo.example.test (no secure context)', () => {
    const plain = sharedServer({ publicUrl: 'http://demo.example.test' });

    it('offers no security keys, and /mfa/keys/new says why', async () => {
      const c = plain.client();
      await signup(c);
      const account = await c.get('/account');
      expect(account.body).not.toContain('action="/mfa/keys/new"');
      expect(account.body).toContain('id="setup-mfa"');
      const reply = await c.get('/mfa/keys/new');
      expect(reply.location).toBe('/account');
      expect(await followText(c, reply)).toContain('Security keys are not available on this server');
    });
  });
});

describe('scripts and the CSP', () => {
  it('pages with a key button load two same-origin scripts, nothing inline; the CSP allows scripts from self only', async () => {
    const user = await signupWithKey(server, client());
    const c = client();
    await submitPassword(c, user);
    const signedIn = client();
    await loginWithKey(server, signedIn, user, user.key);
    const pages = [await c.get('/login/mfa'), await signedIn.get('/mfa/step-up?return=/account')];
    for (const page of pages) {
      expect(page.status).toBe(200);
      const csp = cspOf(page.headers);
      expect(csp['script-src']).toBe("'self'");
      expect(csp['script-src-attr']).toBe("'none'");
      expect(csp['default-src']).toBe("'self'");
      expect(csp['connect-src']).toBe("'self'");
      expect(page.headers.get('content-security-policy')).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
      const scripts = [...page.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
      expect(scripts.map((m) => /src="([^"]+)"/.exec(m[1]!)?.[1])).toEqual(['/assets/simplewebauthn-browser.js', '/webauthn.js']);
      for (const script of scripts) expect(script[2]).toBe('');
      // No inline event handlers or javascript: URLs anywhere.
      expect(page.body).not.toMatch(/\son[a-z]+\s*=/i);
      expect(page.body).not.toMatch(/javascript:/i);
    }
  });

  it('pages without a key button load no script at all', async () => {
    const c = client();
    await signup(c);
    expect((await c.get('/account')).body).not.toContain('<script');
    expect((await client().get('/login')).body).not.toContain('<script');
  });

  it('serves @simplewebauthn/browser and webauthn.js as JavaScript from this origin', async () => {
    const c = client();
    const lib = await c.get('/assets/simplewebauthn-browser.js');
    expect(lib.status).toBe(200);
    expect(lib.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(lib.headers.get('x-content-type-options')).toBe('nosniff');
    expect(lib.body).toContain('SimpleWebAuthnBrowser');
    expect(lib.body).toContain('@simplewebauthn/browser@14');
    const own = await c.get('/webauthn.js');
    expect(own.status).toBe(200);
    expect(own.headers.get('content-type')).toMatch(/javascript/);
    expect(own.body).toContain('startAuthentication');
    expect(own.body).toContain('startRegistration');
    // Neither sets a session cookie: static files come before sessions.
    expect(lib.setCookies).toEqual([]);
    expect(own.setCookies).toEqual([]);
  });
});
