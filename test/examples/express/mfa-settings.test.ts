/** Setting up MFA, the recovery codes shown once, regenerating them, turning MFA off, ending other sessions. */
import jsqr from 'jsqr';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { generateTotp, normalizeRecoveryCode, parseOtpauthUri } from 'twofold';
import { whenText } from '../../../examples/express/time.ts';
import {
  answerStepUp,
  codeNow,
  csrfOf,
  disableMfa,
  followText,
  loginWithCode,
  nextCode,
  openSetup,
  PASSWORD,
  recoveryCodesOf,
  regenerateCodes,
  sessionOf,
  setupOf,
  sharedServer,
  signup,
  signupAndEnroll,
  submitPassword,
  textOf,
  withCode,
  wrongCode,
} from './helpers.ts';

const jsQR = jsqr.default;

const { server, client } = sharedServer();

/** The otpauth URI a phone would read from the page's QR image. */
function scan(qrDataUrl: string): string {
  expect(qrDataUrl).toMatch(/^data:image\/png;base64,/);
  const image = PNG.sync.read(Buffer.from(qrDataUrl.slice(qrDataUrl.indexOf(',') + 1), 'base64'));
  const result = jsQR(new Uint8ClampedArray(image.data), image.width, image.height);
  expect(result).not.toBeNull();
  return result!.data;
}

async function mfaState(username: string): Promise<string> {
  return (await server.mfa.status((await server.accounts.byUsername(username))!.id)).state;
}

describe('GET /mfa/setup', () => {
  it('shows a QR code and the same key for manual entry, in blocks of 4, and the code form', async () => {
    const c = client();
    const user = await signup(c);
    const account = await c.get('/account');
    expect(account.body).toContain('href="/mfa/setup"');
    const page = await openSetup(c, user);
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/<img id="qr" src="data:image\/png;base64,[^"]+" alt="[^"]+"/);
    expect(page.body).toMatch(/<code id="secret">([A-Z2-7]{4} )+[A-Z2-7]{1,4}<\/code>/);
    // On a phone (issue 14.3): the otpauth:// link, the key with a copy button (JS), the account as the app shows it.
    expect(page.body).toMatch(/<a class="button secondary" id="open-app" href="otpauth:\/\/totp\/[^"]+">Open in authenticator app<\/a>/);
    expect(page.body).toContain(`id="copy-secret" data-copy="${setupOf(page.body).secret}"`);
    expect(page.body).toContain('<script src="/copy.js" defer></script>');
    expect(textOf(page.body)).toContain(`The account will show as twofold example (${user.username})`);
    // The code field (issue 14.4): 6 digits with an optional space, a sensible maxlength, a hint.
    expect(page.body).toMatch(/<input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" required spellcheck="false" autocapitalize="none" pattern="\\s\*\[0-9\]\{3\}\\s\?\[0-9\]\{3\}\\s\*" maxlength="10"/);
    expect(textOf(page.body)).toContain('6 digits, spaces are fine.');
    expect(textOf(page.body)).toMatch(/This setup expires in 10 minutes, at \d\d:\d\d UTC\./);
    expect(page.body).toContain('action="/mfa/setup"');
    expect(page.body).toMatch(/name="code" autocomplete="one-time-code" inputmode="numeric"/);
    const { qrDataUrl, secret } = setupOf(page.body);
    const uri = parseOtpauthUri(scan(qrDataUrl));
    expect(uri).toMatchObject({ issuer: 'twofold example', accountName: user.username, secret, digits: 6, period: 30, algorithm: 'SHA1' });
    expect(await mfaState(user.username)).toBe('enrolling');
  });

  it('a code from the scanned QR turns MFA on and leads to the recovery codes; the owner gets an email', async () => {
    const c = client();
    const user = await signup(c);
    const page = await openSetup(c, user);
    const { secret } = parseOtpauthUri(scan(setupOf(page.body).qrDataUrl));
    const reply = await c.post('/mfa/setup', { _csrf: csrfOf(page.body, '/mfa/setup'), code: generateTotp(secret, { now: server.clock.ms }) });
    expect(reply.status).toBe(303);
    expect(reply.location).toBe('/mfa/recovery-codes');
    expect(await mfaState(user.username)).toBe('enabled');
    expect(server.outbox.to(`${user.username}@example.test`).map((e) => e.subject)).toContain('Two-factor authentication is on');
    const account = textOf((await c.get('/account')).body);
    expect(account).toContain('Two-factor authentication On');
  });

  it('after a wrong code shows the error and the SAME QR code, whose next code works (issue 14.1)', async () => {
    const c = client();
    const first = await openSetup(c, await signup(c));
    const old = setupOf(first.body);
    const wrong = await c.post('/mfa/setup', { _csrf: csrfOf(first.body, '/mfa/setup'), code: wrongCode(server, old.secret) });
    expect(wrong.status).toBe(400);
    expect(textOf(wrong.body)).toContain('That code did not match.');
    expect(textOf(wrong.body)).toContain('try again');
    const again = setupOf(wrong.body);
    expect(again.secret).toBe(old.secret);
    expect(parseOtpauthUri(scan(again.qrDataUrl)).secret).toBe(old.secret);
    // The entry already scanned stays right.
    const csrf = csrfOf(wrong.body, '/mfa/setup');
    expect((await c.post('/mfa/setup', { _csrf: csrf, code: codeNow(server, old.secret) })).location).toBe('/mfa/recovery-codes');
  });

  it('a malformed code shows the same QR code again; an expired setup says so and offers a fresh start (issue 14.2)', async () => {
    const c = client();
    const page = await openSetup(c, await signup(c));
    const malformed = await c.post('/mfa/setup', { _csrf: csrfOf(page.body), code: 'abc' });
    expect(malformed.status).toBe(400);
    expect(textOf(malformed.body)).toContain('Enter the 6-digit code your app shows');
    const { secret } = setupOf(malformed.body);
    expect(secret).toBe(setupOf(page.body).secret);
    const expiresAt = server.clock.ms + 10 * 60_000;
    server.clock.advance(11 * 60_000);
    // The password confirmation (5 minutes) ran out before the setup (10 minutes): confirm again, then post the old code.
    expect((await c.post('/mfa/setup/password', { _csrf: csrfOf(page.body), password: PASSWORD })).location).toBe('/mfa/setup');
    const expired = await c.post('/mfa/setup', { _csrf: csrfOf(page.body), code: codeNow(server, secret) });
    expect(expired).toMatchObject({ status: 303, location: '/mfa/setup' });
    // What happened, when, and a fresh start: no new QR code until asked for.
    const news = await c.get('/mfa/setup');
    expect(news.status).toBe(200);
    expect(news.body).toContain('<title>This setup expired');
    expect(news.body).not.toContain('id="qr"');
    const text = textOf(news.body);
    expect(text).toContain(`The QR code and key you were shown expired ${whenText(expiresAt, server.clock.ms)}`);
    expect(text).toContain('1 minute ago');
    expect(text).toContain('If you added the entry to your authenticator app, remove it');
    expect(news.body).toContain('action="/mfa/setup/restart"');
    // A reload says the same (nothing was begun meanwhile).
    expect((await c.get('/mfa/setup')).body).not.toContain('id="qr"');
    const restart = await c.post('/mfa/setup/restart', { _csrf: csrfOf(news.body, '/mfa/setup/restart') });
    expect(restart).toMatchObject({ status: 303, location: '/mfa/setup' });
    const fresh = await c.get('/mfa/setup');
    expect(setupOf(fresh.body).secret).not.toBe(secret);
    expect(textOf(fresh.body)).toContain('This setup expires in 10 minutes');
    // And that one works.
    expect((await c.post('/mfa/setup', { _csrf: csrfOf(fresh.body, '/mfa/setup'), code: codeNow(server, setupOf(fresh.body).secret) })).location).toBe('/mfa/recovery-codes');
  });

  it('"Start over with a new QR code" begins again (restart: true) while the setup is still live', async () => {
    const c = client();
    const page = await openSetup(c, await signup(c));
    const old = setupOf(page.body).secret;
    expect(page.body).toContain('id="start-over"');
    const restart = await c.post('/mfa/setup/restart', { _csrf: csrfOf(page.body, '/mfa/setup/restart') });
    expect(restart).toMatchObject({ status: 303, location: '/mfa/setup' });
    const fresh = setupOf((await c.get('/mfa/setup')).body).secret;
    expect(fresh).not.toBe(old);
    // The same new one on a reload (resumed).
    expect(setupOf((await c.get('/mfa/setup')).body).secret).toBe(fresh);
  });

  it('a restart without the password again (a stolen cookie) shows no QR code', async () => {
    const owner = client();
    const user = await signup(owner);
    const csrf = csrfOf((await owner.get('/mfa/setup')).body);
    const reply = await owner.post('/mfa/setup/restart', { _csrf: csrf });
    expect(reply.status).toBe(403);
    expect(reply.body).not.toContain('id="qr"');
    expect(await mfaState(user.username)).toBe('registered');
  });

  it('sends a user whose MFA is already on back to the account page', async () => {
    const c = client();
    await signupAndEnroll(server, c);
    const reply = await c.get('/mfa/setup');
    expect(reply.location).toBe('/account');
    expect(await followText(c, reply)).toContain('Two-factor authentication is already on with an authenticator app.');
    const post = await c.post('/mfa/setup', { _csrf: await c.csrf('/account'), code: '123456' });
    expect(post.location).toBe('/account');
  });
});

describe('GET /mfa/recovery-codes', () => {
  it('shows the codes once, one per <li>, with a download link of the same codes', async () => {
    const c = client();
    const user = await signup(c);
    const page = await openSetup(c, user);
    await c.post('/mfa/setup', { _csrf: csrfOf(page.body), code: codeNow(server, setupOf(page.body).secret) });
    const codesPage = await c.get('/mfa/recovery-codes');
    expect(codesPage.status).toBe(200);
    expect(codesPage.headers.get('cache-control')).toBe('no-store');
    const { codes, filename, downloadText } = recoveryCodesOf(codesPage.body);
    expect(codes).toHaveLength(10);
    for (const code of codes) expect(code).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){5}$/);
    expect(new Set(codes).size).toBe(10);
    expect(filename).toBe('twofold-example-recovery-codes.txt');
    const fileCodes = [...downloadText.matchAll(/^\s*\d+\. (\S+)$/gm)].map((m) => m[1]);
    expect(fileCodes).toEqual(codes);
    expect(downloadText).toContain(`recovery codes for ${user.username}`);

    const again = await c.get('/mfa/recovery-codes');
    expect(again.status).toBe(200);
    expect(textOf(again.body)).toContain('Your recovery codes were already shown once');
    expect(again.body).not.toContain('id="recovery-codes"');
    for (const code of codes) expect(again.body).not.toContain(code);
    expect(again.body).toContain('href="/mfa/recovery-codes/regenerate"');
  });

  it('the shown codes work for login', async () => {
    const user = await signupAndEnroll(server, client());
    const c = client();
    await submitPassword(c, user);
    expect((await c.submit('/login/recovery', '/login/recovery', { recoveryCode: user.codes[9]! })).location).toBe('/account');
  });

  it('without MFA sends to the account page', async () => {
    const c = client();
    await signup(c);
    const reply = await c.get('/mfa/recovery-codes');
    expect(reply.location).toBe('/account');
    expect(await followText(c, reply)).toContain('Set up two-factor authentication first.');
  });
});

describe('new recovery codes, after a step-up', () => {
  it('with a TOTP code at the step-up: new codes, shown once; the old ones are dead', async () => {
    const c = client();
    const user = await signupAndEnroll(server, c);
    const reply = await regenerateCodes(server, c, withCode(server, user));
    expect(reply.status).toBe(303);
    expect(reply.location).toBe('/mfa/recovery-codes');
    const { codes } = recoveryCodesOf((await c.get('/mfa/recovery-codes')).body);
    expect(codes).toHaveLength(10);
    expect(codes.some((code) => user.codes.includes(code))).toBe(false);

    const login = client();
    await submitPassword(login, user);
    expect((await login.submit('/login/recovery', '/login/recovery', { recoveryCode: user.codes[0]! })).status).toBe(401);
    expect((await login.submit('/login/recovery', '/login/recovery', { recoveryCode: codes[0]! })).location).toBe('/account');
    expect(server.outbox.to(`${user.username}@example.test`).map((e) => e.subject)).toContain('New recovery codes');
  });

  it('with a recovery code in the code field of the step-up', async () => {
    const c = client();
    const user = await signupAndEnroll(server, c);
    const reply = await regenerateCodes(server, c, () => ({ code: user.codes[3]! }));
    expect(reply.location).toBe('/mfa/recovery-codes');
    const used = server.outbox.to(`${user.username}@example.test`).find((e) => e.subject === 'A recovery code was used');
    expect(used?.text).toContain('to confirm a sensitive change');
  });

  it('the account page offers unseen codes after a regeneration that was not followed', async () => {
    const c = client();
    const user = await signupAndEnroll(server, c);
    await regenerateCodes(server, c, withCode(server, user));
    const account = await c.get('/account');
    expect(textOf(account.body)).toContain('You have new recovery codes you have not seen yet.');
    expect(account.body).toContain('href="/mfa/recovery-codes"');
  });

  it('without a step-up, the page and its POST send to the step-up page and change nothing', async () => {
    const c = client();
    const user = await signupAndEnroll(server, c);
    const account = await c.get('/account');
    expect(account.body).toContain('href="/mfa/recovery-codes/regenerate"');
    expect(account.body).not.toContain('action="/mfa/recovery-codes/regenerate"');
    const page = await c.get('/mfa/recovery-codes/regenerate');
    expect(page.location).toBe('/mfa/step-up?return=%2Fmfa%2Frecovery-codes%2Fregenerate');
    const post = await c.post('/mfa/recovery-codes/regenerate', { _csrf: csrfOf(account.body), code: nextCode(server, user.secret) });
    expect(post.location).toBe('/mfa/step-up?return=%2Fmfa%2Frecovery-codes%2Fregenerate');
    const status = await server.mfa.status((await server.accounts.byUsername(user.username))!.id);
    expect(status).toMatchObject({ recoveryCodesRemaining: 10, recoveryCodesUnrevealed: false });
  });

  it.each([
    ['a wrong code', (s: string) => wrongCode(server, s), 401, 'That code is not right. 4 attempts left'],
    ['a malformed code', () => '12', 400, 'Enter the 6-digit code from your authenticator app'],
    ['nothing', () => '', 400, 'Enter a code from your authenticator app or a recovery code.'],
  ])('refuses %s on the step-up page', async (_name, code, status, message) => {
    const c = client();
    const user = await signupAndEnroll(server, c);
    const page = await c.get((await c.get('/mfa/recovery-codes/regenerate')).location!);
    expect(page.status).toBe(200);
    const reply = await answerStepUp(server, c, page, { code: code(user.secret) });
    expect(reply.status).toBe(status);
    expect(textOf(reply.body)).toContain(message);
    expect(reply.body).toContain('action="/mfa/step-up"');
    expect(textOf((await c.get('/account')).body)).toContain('Recovery codes left 10');
  });

  it('without a session redirects to /login', async () => {
    const c = client();
    const reply = await c.post('/mfa/recovery-codes/regenerate', { _csrf: await c.csrf('/login'), code: '123456' });
    expect(reply.location).toBe('/login');
  });
});

describe('turning MFA off, after a step-up', () => {
  it('with a TOTP code at the step-up turns MFA off; login then needs only the password', async () => {
    const c = client();
    const user = await signupAndEnroll(server, c);
    const reply = await disableMfa(server, c, withCode(server, user));
    expect(reply.status).toBe(303);
    expect(reply.location).toBe('/account');
    const account = await followText(c, reply);
    expect(account).toContain('Two-factor authentication is off.');
    expect(account).toContain('Two-factor authentication Off');
    expect(await mfaState(user.username)).toBe('registered');
    expect((await submitPassword(client(), user)).location).toBe('/account');
    const email = server.outbox.to(`${user.username}@example.test`).find((e) => e.subject === 'Two-factor authentication is off');
    expect(email?.text).toContain('confirmed with a recent confirmation of your second factor');
  });

  it('with a recovery code at the step-up', async () => {
    const c = client();
    const user = await signupAndEnroll(server, c);
    const reply = await disableMfa(server, c, () => ({ code: user.codes[5]! }));
    expect(reply.location).toBe('/account');
    expect(await mfaState(user.username)).toBe('registered');
    const used = server.outbox.to(`${user.username}@example.test`).find((e) => e.subject === 'A recovery code was used');
    expect(used?.text).toContain('to confirm a sensitive change');
  });

  it('without a step-up, GET and POST /mfa/disable send to the step-up page and MFA stays on', async () => {
    const c = client();
    const user = await signupAndEnroll(server, c);
    const account = await c.get('/account');
    expect(account.body).toContain('href="/mfa/disable"');
    expect((await c.get('/mfa/disable')).location).toBe('/mfa/step-up?return=%2Fmfa%2Fdisable');
    const post = await c.post('/mfa/disable', { _csrf: csrfOf(account.body), code: nextCode(server, user.secret) });
    expect(post.location).toBe('/mfa/step-up?return=%2Fmfa%2Fdisable');
    expect(await mfaState(user.username)).toBe('enabled');
  });

  it('refuses wrong codes at the step-up and keeps MFA on', async () => {
    const c = client();
    const user = await signupAndEnroll(server, c);
    const page = await c.get('/mfa/step-up?return=/mfa/disable');
    const reply = await answerStepUp(server, c, page, { code: wrongCode(server, user.secret) });
    expect(reply.status).toBe(401);
    expect(textOf(reply.body)).toContain('That code is not right.');
    const recovery = await answerStepUp(server, c, reply, { code: 'AAAA-AAAA-AAAA-AAAA-AAAA-AAAA' });
    expect(recovery.status).toBe(401);
    expect(textOf(recovery.body)).toContain('3 attempts left');
    expect((await c.get('/mfa/disable')).location).toBe('/mfa/step-up?return=%2Fmfa%2Fdisable');
    expect(await mfaState(user.username)).toBe('enabled');
  });

  it('refuses a replayed code at the step-up', async () => {
    const c = client();
    const user = await signupAndEnroll(server, c);
    const page = await c.get('/mfa/step-up?return=/mfa/disable');
    const reply = await answerStepUp(server, c, page, { code: codeNow(server, user.secret) });
    expect(reply.status).toBe(401);
    expect(textOf(reply.body)).toContain('That code was already used.');
  });

  it('locks after repeated wrong codes at the step-up and says until when', async () => {
    const c = client();
    const user = await signupAndEnroll(server, c);
    let reply = await c.get('/mfa/step-up?return=/mfa/disable');
    for (let i = 0; i < 5; i++) reply = await answerStepUp(server, c, reply, { code: wrongCode(server, user.secret) });
    expect(reply.status).toBe(429);
    // The lock screen (issue 14.7): no code field, how long in words.
    expect(textOf(reply.body)).toContain('Too many wrong codes were entered. Try again in 1 minute, at ');
    expect(reply.body).not.toContain('name="code"');
    expect(textOf((await c.get('/account')).body)).toContain('On (locked)');
  });
});

describe('other sessions end when MFA is turned on or off', () => {
  it('turning MFA on signs out the other sessions, not this one', async () => {
    const phone = client();
    const user = await signup(phone);
    const laptop = client();
    expect((await submitPassword(laptop, user)).location).toBe('/account');
    const stolen = laptop.clone();

    const page = await openSetup(phone, user);
    await phone.post('/mfa/setup', { _csrf: csrfOf(page.body), code: codeNow(server, setupOf(page.body).secret) });
    expect((await phone.get('/account')).status).toBe(200);

    const reply = await laptop.get('/account');
    expect(reply.location).toBe('/login');
    expect(await followText(laptop, reply)).toContain('You were signed out because the password or the two-factor settings of your account changed.');
    expect((await stolen.get('/account')).location).toBe('/login');
    expect((await sessionOf(server, laptop))?.userId).toBeUndefined();
  });

  it('turning MFA off signs out the other sessions, not this one', async () => {
    const phone = client();
    const user = await signupAndEnroll(server, phone);
    const laptop = client();
    expect((await loginWithCode(server, laptop, user)).location).toBe('/account');
    expect((await laptop.get('/account')).status).toBe(200);

    await disableMfa(server, phone, withCode(server, user));
    expect((await phone.get('/account')).status).toBe(200);
    expect((await laptop.get('/account')).location).toBe('/login');
  });

  it('regenerating codes does not end other sessions', async () => {
    const phone = client();
    const user = await signupAndEnroll(server, phone);
    const laptop = client();
    await loginWithCode(server, laptop, user);
    await regenerateCodes(server, phone, withCode(server, user));
    expect((await laptop.get('/account')).status).toBe(200);
  });
});

describe('the signed-in session', () => {
  it('holds the user id and the session generation, no pending marker', async () => {
    const user = await signupAndEnroll(server, client());
    const c = client();
    await loginWithCode(server, c, user);
    await c.get('/account');
    const data = await sessionOf(server, c);
    expect(data?.userId).toBe((await server.accounts.byUsername(user.username))!.id);
    expect(data?.generation).toBe((await server.accounts.byUsername(user.username))!.sessionGeneration);
    expect(data?.pendingMfa).toBeUndefined();
  });

  it('never holds a TOTP secret or recovery codes', async () => {
    const c = client();
    const user = await signupAndEnroll(server, c);
    const stored = JSON.stringify(await sessionOf(server, c));
    expect(stored).not.toContain(user.secret);
    for (const code of user.codes) {
      expect(stored).not.toContain(code);
      expect(stored).not.toContain(normalizeRecoveryCode(code));
    }
  });
});
