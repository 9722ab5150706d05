/** Host-side defences: CSRF, headers, rate limit, production mode, and what the dev outbox may contain. */
import { describe, expect, it } from 'vitest';
import { normalizeRecoveryCode } from 'twofold';
import {
  Client,
  codeNow,
  csrfOf,
  disableMfa,
  emailedLink,
  factorsOf,
  lastEmail,
  loginRemembering,
  loginWithCode,
  MINUTE,
  openSetup,
  openWithStepUp,
  PASSWORD,
  regenerateCodes,
  sessionOf,
  setupOf,
  sharedServer,
  signup,
  signupAndEnroll,
  signupWithKey,
  startServer,
  submitPassword,
  textOf,
  uniqueName,
  withCode,
  wrongCode,
} from './helpers.ts';

const { server, client } = sharedServer();

describe('CSRF', () => {
  const POST_ROUTES = [
    '/signup',
    '/login',
    '/login/mfa',
    '/login/recovery',
    '/login/recover',
    '/logout',
    '/mfa/setup',
    '/mfa/setup/password',
    '/mfa/setup/restart',
    '/mfa/recovery-codes/regenerate',
    '/mfa/recovery-codes/saved',
    '/mfa/disable',
    '/mfa/email-recovery/cancel',
    '/login/webauthn',
    '/mfa/step-up',
    '/mfa/step-up/webauthn',
    '/mfa/keys',
    '/mfa/keys/password',
    '/mfa/factors/:id/rename',
    '/mfa/factors/:id/remove',
    '/forgot-password',
    '/reset-password',
    '/account/password',
    '/account/devices/:id/forget',
    '/account/devices/forget-all',
  ];

  it('every POST form on the pages carries a _csrf field', async () => {
    const c = client();
    const user = await signupAndEnroll(server, c);
    const pages = [await c.get('/account'), await client().get('/signup'), await client().get('/login')];
    const pending = client();
    await submitPassword(pending, user);
    pages.push(await pending.get('/login/mfa'), await pending.get('/login/recovery'), await pending.get('/login/recover'));
    await pending.submit('/login/recover', '/login/recover');
    pages.push(await c.get('/account')); // now with "cancel the email recovery"
    const plain = client();
    const plainUser = await signup(plain);
    pages.push(await plain.get('/mfa/setup')); // the password step
    pages.push(await openSetup(plain, plainUser));
    // The recovery codes (shown once) with "I have saved my recovery codes".
    const fresh = client();
    const freshUser = await signup(fresh);
    const freshSetup = await openSetup(fresh, freshUser);
    await fresh.post('/mfa/setup', { _csrf: csrfOf(freshSetup.body, '/mfa/setup'), code: codeNow(server, setupOf(freshSetup.body).secret) });
    pages.push(await fresh.get('/mfa/recovery-codes'));
    pages.push(await client().get('/forgot-password'));
    const reset = client();
    await reset.submit('/forgot-password', '/forgot-password', { login: plainUser.username });
    const link = emailedLink(lastEmail(server, plainUser, 'Reset your password').text, '/reset-password');
    pages.push(await reset.get(link.pathname + link.search));
    // Step-up, the confirmation pages, and the forms of a user with a security key.
    pages.push(await c.get('/mfa/step-up?return=/mfa/disable'));
    pages.push(await openWithStepUp(server, c, '/mfa/disable', withCode(server, user)));
    pages.push(await c.get('/mfa/recovery-codes/regenerate'));
    const [factor] = await factorsOf(server, user);
    pages.push(await c.get(`/mfa/factors/${factor!.id}/remove`));
    const keyed = client();
    pages.push(await keyed.get('/mfa/keys/new')); // nobody signed in: the login page
    const keyUser = await signupWithKey(server, keyed);
    pages.push(await keyed.get('/account'), await keyed.get('/mfa/step-up?return=/account'));
    const keyLogin = client();
    await submitPassword(keyLogin, keyUser);
    pages.push(await keyLogin.get('/login/mfa'));
    const firstKey = client();
    await signup(firstKey);
    pages.push(await firstKey.get('/mfa/keys/new')); // the password step
    pages.push(await openWithStepUp(server, keyed, '/mfa/keys/new', () => ({ key: keyUser.key })));
    // A remembered browser on the account page (forget, forget all), and the password change page.
    const remembered = client();
    await loginRemembering(server, remembered, user);
    pages.push(await remembered.get('/account'), await remembered.get('/account/password'));
    const actions = new Set<string>();
    for (const page of pages) {
      for (const form of page.body.match(/<form[^>]*method="post"[\s\S]*?<\/form>/g) ?? []) {
        actions.add(
          /action="([^"]+)"/
            .exec(form)![1]!
            .replace(/^\/mfa\/factors\/[A-Za-z0-9_-]+\//, '/mfa/factors/:id/')
            .replace(/^\/account\/devices\/[A-Za-z0-9_-]+\/forget$/, '/account/devices/:id/forget'),
        );
        expect(form).toMatch(/<input type="hidden" name="_csrf" value="[A-Za-z0-9_-]{43}">/);
      }
    }
    expect([...actions].sort()).toEqual([...POST_ROUTES].sort());
  });

  it.each(POST_ROUTES)('POST %s without a token is refused with 403', async (path) => {
    const c = client();
    await signupAndEnroll(server, c);
    const reply = await c.post(path, { code: '123456', username: 'x', password: 'y' });
    expect(reply.status).toBe(403);
    expect(textOf(reply.body)).toContain('This form was too old or did not come from this site.');
  });

  it.each(POST_ROUTES)('POST %s with a wrong token is refused with 403', async (path) => {
    const c = client();
    await signupAndEnroll(server, c);
    await c.get('/account');
    const other = await client().csrf('/login');
    expect((await c.post(path, { _csrf: other, code: '123456' })).status).toBe(403);
    expect((await c.post(path, { _csrf: '', code: '123456' })).status).toBe(403);
    expect((await c.post(path, { _csrf: 'x'.repeat(500), code: '123456' })).status).toBe(403);
  });

  it('a refused POST changes nothing (disable with a live step-up grant but no token)', async () => {
    const c = client();
    const user = await signupAndEnroll(server, c);
    expect((await openWithStepUp(server, c, '/mfa/disable', withCode(server, user))).status).toBe(200);
    const reply = await c.post('/mfa/disable', {});
    expect(reply.status).toBe(403);
    expect((await server.mfa.status((await server.accounts.byUsername(user.username))!.id)).state).toBe('enabled');
  });

  it('a JSON body is refused too', async () => {
    const c = client();
    const csrf = await c.csrf('/login');
    const response = await fetch(`${server.baseUrl}/login`, {
      method: 'POST',
      headers: { cookie: c.cookieHeader(), 'content-type': 'application/json' },
      body: JSON.stringify({ _csrf: csrf, username: 'a', password: 'b' }),
      redirect: 'manual',
    });
    expect(response.status).toBe(403);
  });
});

describe('security headers', () => {
  it('sets a CSP without inline scripts that allows the data: QR image, and helmet headers', async () => {
    const c = client();
    const page = await openSetup(c, await signup(c));
    const csp = page.headers.get('content-security-policy')!;
    const directives = Object.fromEntries(csp.split(';').map((d) => { const [name, ...values] = d.trim().split(/\s+/); return [name, values.join(' ')]; }));
    expect(directives['default-src']).toBe("'self'");
    expect(directives['script-src']).toBe("'self'");
    expect(directives['script-src-attr']).toBe("'none'");
    expect(directives['style-src']).toBe("'self'");
    expect(directives['img-src']).toBe("'self' data:");
    expect(directives['frame-ancestors']).toBe("'none'");
    expect(directives['form-action']).toBe("'self'");
    expect(directives['object-src']).toBe("'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('upgrade-insecure-requests');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(page.headers.get('x-powered-by')).toBeNull();
    expect(page.headers.get('strict-transport-security')).toBeNull();
    expect(page.headers.get('cache-control')).toBe('no-store');
  });

  it('pages have no inline scripts, styles or event handlers', async () => {
    const c = client();
    await signupAndEnroll(server, c);
    for (const path of ['/', '/account', '/dev/outbox', '/signup']) {
      const body = (await c.get(path)).body;
      expect(body).not.toMatch(/<script|<style|\sstyle=|\son[a-z]+=/i);
    }
  });

  it('the session cookie is HttpOnly and SameSite=Lax, and not Secure in development', async () => {
    const reply = await client().get('/login');
    const cookie = reply.setCookies[0]!;
    expect(cookie).toMatch(/^twofold\.sid=/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Lax');
    expect(cookie).not.toContain('Secure');
  });
});

describe('rate limit on /login*', () => {
  const limited = sharedServer({ rateLimit: { windowMs: MINUTE, limit: 3 } });

  it('answers 429 after the limit of POSTs per IP; GETs are not counted', async () => {
    const c = limited.client();
    const csrf = await c.csrf('/login');
    for (let i = 0; i < 3; i++) {
      expect((await c.post('/login', { _csrf: csrf, username: 'nobody', password: 'wrong password' })).status).toBe(401);
    }
    const blocked = await c.post('/login', { _csrf: csrf, username: 'nobody', password: 'wrong password' });
    expect(blocked.status).toBe(429);
    expect(textOf(blocked.body)).toContain('Too many attempts');
    expect(blocked.headers.get('ratelimit-policy')).toContain('3');
    // The code forms share the limit; reading pages does not count.
    expect((await c.post('/login/mfa', { _csrf: csrf, code: '123456' })).status).toBe(429);
    expect((await c.get('/login')).status).toBe(200);
    // Sign-up is limited separately.
    expect((await c.post('/signup', { _csrf: csrf, username: uniqueName(), password: PASSWORD })).status).toBe(303);
  });
});

describe('production mode', () => {
  const { server: prod, client: http } = sharedServer({ production: true, publicUrl: 'https://app.example.test' });
  /** Requests as they arrive from the TLS-terminating proxy. */
  const https = () => new Client(prod.baseUrl, { 'x-forwarded-proto': 'https' });

  it('/dev/outbox does not exist', async () => {
    const reply = await https().get('/dev/outbox');
    expect(reply.status).toBe(404);
    expect((await https().get('/')).body).not.toContain('/dev/outbox');
  });

  it('the session cookie is Secure, HttpOnly, SameSite=Lax, with the __Host- prefix', async () => {
    const reply = await https().get('/login');
    const cookie = reply.setCookies[0]!;
    expect(cookie).toMatch(/^__Host-twofold\.sid=/);
    expect(cookie).toContain('Secure');
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Lax');
    expect(cookie).toContain('Path=/');
    expect(cookie).not.toContain('Domain=');
  });

  it('sends no session cookie over plain HTTP', async () => {
    const reply = await http().get('/login');
    expect(reply.setCookies).toHaveLength(0);
  });

  it('sends HSTS and upgrade-insecure-requests', async () => {
    const reply = await https().get('/');
    expect(reply.headers.get('strict-transport-security')).toContain('max-age=');
    expect(reply.headers.get('content-security-policy')).toContain('upgrade-insecure-requests');
  });

  it('works end to end behind the proxy', async () => {
    const c = https();
    const user = await signupAndEnroll(prod, c);
    const login = https();
    expect((await loginWithCode(prod, login, user)).location).toBe('/account');
    expect((await login.get('/account')).status).toBe(200);
  });

  it('refuses to start without a public URL', async () => {
    await expect(startServer({ production: true })).rejects.toThrow('publicUrl is required in production');
  });
});

describe('the dev outbox', () => {
  it('shows the emails of the whole journey, and never a TOTP secret, a recovery code or a challenge', async () => {
    const phone = client();
    const user = await signupAndEnroll(server, phone);
    const address = `${user.username}@example.test`;
    // Recovery-code login, regeneration, a lock, a recovery request and its cancellation, disable.
    const c = client();
    await submitPassword(c, user);
    await c.submit('/login/recovery', '/login/recovery', { recoveryCode: user.codes[0]! });
    await regenerateCodes(server, phone, withCode(server, user));
    const regenerated = (await phone.get('/mfa/recovery-codes')).body;
    const pending = client();
    await submitPassword(pending, user);
    const challenge = ((await sessionOf(server, pending))?.pendingMfa as { challenge: string }).challenge;
    await pending.submit('/login/recover', '/login/recover');
    await phone.submit('/account', '/mfa/email-recovery/cancel', { password: user.password });
    for (let i = 0; i < 5; i++) await pending.submit('/login/mfa', '/login/mfa', { code: wrongCode(server, user.secret) });
    server.clock.advance(MINUTE);
    await disableMfa(server, phone, withCode(server, user));

    const outbox = await phone.get('/dev/outbox');
    expect(outbox.status).toBe(200);
    const subjects = server.outbox.to(address).map((e) => e.subject);
    expect(subjects).toEqual([
      'Two-factor authentication is on',
      'An authenticator app was added',
      'A recovery code was used',
      'New recovery codes',
      'Someone asked to remove your second factor',
      'Your recovery link',
      'Email recovery cancelled',
      'Your account is locked',
      'Two-factor authentication is off',
    ]);
    for (const subject of subjects) expect(outbox.body).toContain(subject);
    expect(textOf(outbox.body)).toContain(`to ${address}`);
    expect(server.outbox.to(address).find((e) => e.subject === 'A recovery code was used')?.text).toContain('9 unused codes left.');

    // Nothing secret, except the emailed recovery token in its own email.
    const newCodes = [...regenerated.matchAll(/<li><code>([^<]+)<\/code><\/li>/g)].map((m) => m[1]!);
    expect(newCodes).toHaveLength(10);
    const secrets = [user.secret, ...user.codes, ...newCodes, ...[...user.codes, ...newCodes].map((code) => normalizeRecoveryCode(code)!), challenge];
    for (const secret of secrets) expect(outbox.body).not.toContain(secret);
    const tokens = [...outbox.body.matchAll(/token=([A-Za-z0-9_-]+)/g)].map((m) => m[1]);
    expect(tokens.length).toBeGreaterThan(0);
    for (const email of server.outbox.list()) {
      if (email.subject !== 'Your recovery link' && email.subject !== 'Reset your password') expect(email.text).not.toMatch(/token=/);
    }
  });

  it('makes the recovery link clickable', async () => {
    const user = await signupAndEnroll(server, client());
    const c = client();
    await submitPassword(c, user);
    await c.submit('/login/recover', '/login/recover');
    const outbox = await c.get('/dev/outbox');
    expect(outbox.body).toMatch(/<a href="http:\/\/localhost:\d+\/login\/recover\/complete\?user=[^"&]+&amp;token=[A-Za-z0-9_-]{43}">/);
  });

  it('escapes what it shows', async () => {
    server.outbox.send({ to: 'x@example.test', subject: '<b>hi</b>', text: '<script>alert(1)</script> http://a.test/"><x' });
    const body = (await client().get('/dev/outbox')).body;
    expect(body).not.toContain('<b>hi</b>');
    expect(body).not.toContain('<script>');
    expect(body).toContain('&lt;b&gt;hi&lt;/b&gt;');
    expect(body).not.toContain('"><x');
  });
});

describe('the setup page for a person', () => {
  it('shows the key in blocks of four next to the QR code', async () => {
    const c = client();
    const page = await openSetup(c, await signup(c));
    const { secret } = setupOf(page.body);
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(page.body).toContain(`<code id="secret">${secret.match(/.{4}/g)!.join(' ')}</code>`);
    expect(csrfOf(page.body, '/mfa/setup')).toBeTruthy();
  });
});

describe('state-changing GET pages refuse cross-site navigations (SameSite=Lax sends the cookie on them)', () => {
  function crossSite(c: Client): Client {
    const cross = new Client(c.baseUrl, { 'sec-fetch-site': 'cross-site' });
    for (const [name, value] of c.cookies) cross.cookies.set(name, value);
    return cross;
  }

  it('GET /mfa/setup and /mfa/recovery-codes from another site change nothing; from our own pages they work', async () => {
    const c = client();
    const user = await signup(c);
    const id = (await server.accounts.byUsername(user.username))!.id;

    const refused = await crossSite(c).get('/mfa/setup');
    expect(refused.status).toBe(200);
    expect(textOf(refused.body)).toContain('You followed a link from another site to set up two-factor authentication.');
    expect(refused.body).toContain('href="/mfa/setup"');
    expect((await server.mfa.status(id)).state).toBe('registered');

    // A setup in progress is not replaced by a cross-site visit: its code still confirms it.
    const page = await openSetup(c, user);
    const { secret } = setupOf(page.body);
    await crossSite(c).get('/mfa/setup');
    const confirm = await c.post('/mfa/setup', { _csrf: csrfOf(page.body, '/mfa/setup'), code: codeNow(server, secret) });
    expect(confirm).toMatchObject({ status: 303, location: '/mfa/recovery-codes' });

    // The one-time reveal is not used up by a cross-site visit.
    const notShown = await crossSite(c).get('/mfa/recovery-codes');
    expect(textOf(notShown.body)).toContain('show your recovery codes (they are shown only once)');
    expect(await server.mfa.status(id)).toMatchObject({ state: 'enabled', recoveryCodesUnrevealed: true });
    const shown = await c.get('/mfa/recovery-codes');
    expect(shown.body).toContain('id="recovery-codes"');
    expect(await server.mfa.status(id)).toMatchObject({ recoveryCodesUnrevealed: false });
  });
});
