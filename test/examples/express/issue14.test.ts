/**
 * Issue 14, over HTTP: what the example's pages and emails say and how they
 * are marked up. The browser checks (focus, the Copy and Print buttons, the
 * warning before leaving the codes, axe-core, computed colours) are in
 * browser.test.ts and browser-a11y.test.ts.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { absoluteTime, relativeTime, roughDuration, whenText } from '../../../examples/express/time.ts';
import { contrastRatio } from './a11y.ts';
import {
  answerStepUp,
  codeNow,
  csrfOf,
  emailedLink,
  followText,
  HOUR,
  lastEmail,
  MINUTE,
  openSetup,
  PASSWORD,
  recoveryCodesOf,
  SECOND,
  setupOf,
  sharedServer,
  signup,
  signupAndEnroll,
  submitPassword,
  T0,
  textOf,
  wrongCode,
} from './helpers.ts';

const DELAY = 30 * SECOND;
const { server, client } = sharedServer({ emailRecoveryDelayMs: DELAY });
const idOf = async (username: string) => (await server.accounts.byUsername(username))!.id;

/** The `<title>` of a page. */
const titleOf = (html: string) => /<title>([^<]*)<\/title>/.exec(html)?.[1] ?? '';

describe('issue 14.8: times in words', () => {
  it('relative words, rounded as people say them', () => {
    expect(roughDuration(30 * SECOND)).toBe('30 seconds');
    expect(roughDuration(4 * MINUTE + 10 * SECOND)).toBe('4 minutes');
    expect(roughDuration(10 * MINUTE)).toBe('10 minutes');
    expect(roughDuration(HOUR + 5 * MINUTE)).toBe('1 hour 5 minutes');
    expect(roughDuration(30 * 24 * HOUR)).toBe('30 days');
    expect(relativeTime(T0 + 4 * MINUTE, T0)).toBe('in 4 minutes');
    expect(relativeTime(T0 - 3 * 24 * HOUR, T0)).toBe('3 days ago');
    expect(relativeTime(T0, T0)).toBe('just now');
  });

  it('the absolute time beside them: the clock on the same day, the date on another; rounded the safe way', () => {
    // T0 is 09:00:05 UTC on 1 January 2025.
    expect(absoluteTime(T0 + 4 * MINUTE, T0, 'up')).toBe('at 09:05 UTC');
    expect(absoluteTime(T0 + 4 * MINUTE, T0, 'down')).toBe('at 09:04 UTC');
    expect(absoluteTime(T0 + 24 * HOUR, T0)).toBe('on 2 January 2025 at 09:00 UTC');
    expect(whenText(T0 + 4 * MINUTE, T0, 'up')).toBe('in 4 minutes, at 09:05 UTC');
  });

  it('pages write times as words and a <time datetime> element with non-breaking spaces; none in the old ISO form', async () => {
    const c = client();
    await signup(c);
    const setup = await openSetup(c, { username: '', password: PASSWORD });
    const expiresAt = /This setup expires in 10 minutes, at <time datetime="([^"]+)">(\d\d:\d\d)\u00a0UTC<\/time>\./.exec(setup.body);
    expect(expiresAt, 'the expiry in words with a <time> element').not.toBeNull();
    expect(Date.parse(expiresAt![1]!)).toBe(server.clock.ms + 10 * MINUTE);
    expect(setup.body).not.toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    // The stylesheet keeps a time on one line too.
    const css = (await client().get('/style.css')).body;
    expect(css).toMatch(/time \{ white-space: nowrap; \}/);
  });

  it('emails write times in words with the date, never in the ISO form', async () => {
    const user = await signupAndEnroll(server, client());
    const c = client();
    await submitPassword(c, user);
    const csrf = await c.csrf('/login/mfa');
    for (let i = 0; i < 5; i++) await c.post('/login/mfa', { _csrf: csrf, code: wrongCode(server, user.secret) });
    const email = lastEmail(server, user, 'Your account is locked').text;
    expect(email).toMatch(/locked at \d\d:\d\d UTC on 1 January 2025 after too many wrong codes/);
    expect(email).toMatch(/You can try again in 1 minute, after \d\d:\d\d UTC on 1 January 2025\./);
    for (const sent of server.outbox.to(`${user.username}@example.test`)) expect(sent.text).not.toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    // The dev outbox shows when each was sent, in words.
    expect((await client().get('/dev/outbox')).body).toMatch(/sent (just now|\d+ (seconds?|minutes?) ago), at <time datetime=/);
    server.clock.advance(MINUTE);
  });
});

describe('issue 14.2 to 14.4: the setup page', () => {
  it('says when it expires in words; names the account as the app shows it; links otpauth://; the key grouped with a copy button', async () => {
    const c = client();
    const user = await signup(c);
    const page = await openSetup(c, user);
    const text = textOf(page.body);
    expect(text).toMatch(/This setup expires in 10 minutes, at \d\d:\d\d UTC\./);
    expect(text).toContain(`The account will show as twofold example (${user.username})`);
    expect(page.body).toContain(`<strong id="app-account">twofold example (${user.username})</strong>: time-based, 6 digits.`);
    const href = /id="open-app" href="([^"]+)"/.exec(page.body)![1]!.replace(/&amp;/g, '&');
    expect(href).toMatch(/^otpauth:\/\/totp\//);
    expect(href).toContain(`secret=${setupOf(page.body).secret}`);
    expect(page.body).toMatch(/<code id="secret">[A-Z2-7]{4}( [A-Z2-7]{1,4})+<\/code>/);
    // Without JavaScript the copy button stays hidden (the key is plain text); public/copy.js shows it.
    expect(page.body).toMatch(/<button type="button" class="secondary" id="copy-secret" data-copy="[A-Z2-7]{32}" data-status="copy-secret-status" hidden>Copy key<\/button>/);
    const script = await client().get('/copy.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect(script.body).toContain('navigator.clipboard.writeText');
  });

  it('the code field: a pattern for 6 digits with an optional space, maxlength 10, the hint; "123 456" is accepted', async () => {
    const c = client();
    const user = await signup(c);
    const page = await openSetup(c, user);
    const input = /<input id="code"[^>]*>/.exec(page.body)![0];
    const pattern = /pattern="([^"]+)"/.exec(input)![1]!;
    const anchored = new RegExp(`^(?:${pattern})$`, 'v');
    for (const ok of ['123456', '123 456', ' 123456 ']) expect(anchored.test(ok), ok).toBe(true);
    for (const bad of ['12345', '1234567', '12 34 56', 'abcdef']) expect(anchored.test(bad), bad).toBe(false);
    expect(input).toContain('maxlength="10"');
    expect(input).toContain('aria-describedby="code-hint"');
    expect(textOf(page.body)).toContain('6 digits, spaces are fine.');
    const code = codeNow(server, setupOf(page.body).secret);
    const reply = await c.post('/mfa/setup', { _csrf: csrfOf(page.body, '/mfa/setup'), code: `${code.slice(0, 3)} ${code.slice(3)}` });
    expect(reply.location).toBe('/mfa/recovery-codes');
  });

  it('after an error the field carries it: aria-invalid, aria-describedby (error, hint), autofocus, "Error:" in the title', async () => {
    const c = client();
    const page = await openSetup(c, await signup(c));
    const reply = await c.post('/mfa/setup', { _csrf: csrfOf(page.body, '/mfa/setup'), code: wrongCode(server, setupOf(page.body).secret) });
    expect(reply.status).toBe(400);
    expect(titleOf(reply.body)).toMatch(/^Error: Set up two-factor authentication/);
    expect(reply.body).toMatch(/<p class="field-error" id="code-error"><span class="visually-hidden">Error: <\/span>That code did not match\./);
    expect(reply.body).toMatch(/<input id="code"[^>]* aria-invalid="true" aria-describedby="code-error code-hint" autofocus>/);
    // One autofocus on the page, and the error is at the field (not repeated at the top).
    expect(reply.body.match(/ autofocus/g)).toHaveLength(1);
    expect(reply.body).not.toContain('id="page-error"');
    // The label comes first, then the hint and the error, then the field.
    expect(reply.body.indexOf('<label for="code">')).toBeLessThan(reply.body.indexOf('id="code-error"'));
    expect(reply.body.indexOf('id="code-error"')).toBeLessThan(reply.body.indexOf('<input id="code"'));
  });
});

describe('issue 14.5: the recovery codes', () => {
  it('Download, Copy and Print; what to do if they are lost; "I have saved my recovery codes" is a POST; the leave warning is a same-origin script', async () => {
    const c = client();
    const user = await signup(c);
    const setup = await openSetup(c, user);
    await c.post('/mfa/setup', { _csrf: csrfOf(setup.body, '/mfa/setup'), code: codeNow(server, setupOf(setup.body).secret) });
    const page = await c.get('/mfa/recovery-codes');
    const { codes } = recoveryCodesOf(page.body);
    expect(page.body).toContain('id="download-codes"');
    expect(page.body).toContain(`id="copy-codes" data-copy="${codes.join('\n')}" data-status="codes-status" hidden>Copy</button>`);
    expect(page.body).toContain('<button type="button" class="secondary" id="print-codes" hidden>Print</button>');
    expect(page.body).toContain('<script src="/copy.js" defer></script>');
    expect(page.body).toContain('<script src="/codes.js" defer></script>');
    expect(page.body).not.toMatch(/<script>(?!<\/script>)/);
    const text = textOf(page.body);
    expect(text).toContain('Reloading or leaving this page loses them.');
    expect(text).toContain('Lost them later? While you can still sign in with your authenticator app or security key, generate a new set on your account page');
    expect(page.body).toMatch(/<form method="post" action="\/mfa\/recovery-codes\/saved" class="card" id="codes-saved-form">[\s\S]*<button type="submit" id="codes-saved">I have saved my recovery codes<\/button>/);
    const script = (await client().get('/codes.js')).body;
    expect(script).toContain("addEventListener('beforeunload'");
    expect(script).toContain('window.print()');

    const saved = await c.post('/mfa/recovery-codes/saved', { _csrf: csrfOf(page.body, '/mfa/recovery-codes/saved'), after: 'enabled' });
    expect(saved).toMatchObject({ status: 303, location: '/account' });
    expect(await followText(c, saved)).toContain('Two-factor authentication is on.');
  });

  it('after new codes the confirmation says the old ones no longer work', async () => {
    const c = client();
    const user = await signupAndEnroll(server, c);
    const page = await c.get('/mfa/step-up?return=/mfa/recovery-codes/regenerate');
    const done = await answerStepUp(server, c, page, { code: user.codes[0]! });
    const confirm = await c.get(done.location!);
    await c.post('/mfa/recovery-codes/regenerate', { _csrf: csrfOf(confirm.body, '/mfa/recovery-codes/regenerate') });
    const codes = await c.get('/mfa/recovery-codes');
    expect(codes.body).toContain('name="after" value="regenerated"');
    const saved = await c.post('/mfa/recovery-codes/saved', { _csrf: csrfOf(codes.body, '/mfa/recovery-codes/saved'), after: 'regenerated' });
    expect(await followText(c, saved)).toContain('Your new recovery codes are saved. Your old ones no longer work.');
  });
});

describe('issue 14.6: a mistyped recovery code gets its own message', () => {
  it.each([
    ['the recovery-code page', '/login/recovery', 'recoveryCode'],
    ['the code field of the code page', '/login/mfa', 'code'],
  ])('on %s: not about 6-digit codes, at the field', async (_where, path, name) => {
    const user = await signupAndEnroll(server, client());
    const c = client();
    await submitPassword(c, user);
    const reply = await c.submit(path, path, { [name]: 'ABCD-EFGH-IJKL' });
    expect(reply.status).toBe(400);
    const error = textOf(/<p class="field-error" id="[^"]+-error">[\s\S]*?<\/p>/.exec(reply.body)![0]);
    expect(error).toContain('That is not a recovery code. Recovery codes have 24 letters and digits in 6 groups of 4');
    expect(error).not.toContain('6-digit');
    expect(reply.body).toMatch(new RegExp(`<input id="${name}"[^>]* aria-invalid="true" aria-describedby="${name}-error ${name}-hint" autofocus>`));
    // A wrong (well-formed) one says so in its own words.
    const wrong = await c.submit(path, path, { [name]: 'AAAA-AAAA-AAAA-AAAA-AAAA-AAAA' });
    expect(textOf(wrong.body)).toContain('That recovery code is not right, or it was already used (each one works once).');
  });

  it('a 6-digit code that is wrong still gets the words about codes', async () => {
    const user = await signupAndEnroll(server, client());
    const c = client();
    await submitPassword(c, user);
    const reply = await c.submit('/login/mfa', '/login/mfa', { code: wrongCode(server, user.secret) });
    expect(textOf(reply.body)).toContain('That code is not right.');
  });
});

describe('issue 14.7: the lock screen', () => {
  it('the code page, opened again while locked, is the lock screen: no code field', async () => {
    const user = await signupAndEnroll(server, client());
    const c = client();
    await submitPassword(c, user);
    const csrf = await c.csrf('/login/mfa');
    for (let i = 0; i < 5; i++) await c.post('/login/mfa', { _csrf: csrf, code: wrongCode(server, user.secret) });
    for (const path of ['/login/mfa', '/login/recovery']) {
      const page = await c.get(path);
      expect(titleOf(page.body)).toMatch(/^Your account is locked/);
      expect(page.body).not.toMatch(/name="(code|recoveryCode)"/);
      const text = textOf(page.body);
      expect(text).toMatch(/Try again in (1 minute|\d+ seconds), at \d\d:\d\d UTC\./);
      expect(text).toContain('recovery codes and security keys are refused too, and email recovery cannot be requested');
    }
    server.clock.advance(MINUTE);
  });

  it('at the step-up too: the lock screen, and back to the account page', async () => {
    const c = client();
    const user = await signupAndEnroll(server, c);
    let reply = await c.get('/mfa/step-up?return=/mfa/disable');
    for (let i = 0; i < 5; i++) reply = await answerStepUp(server, c, reply, { code: wrongCode(server, user.secret) });
    expect(reply.status).toBe(429);
    expect(titleOf(reply.body)).toMatch(/^Your account is locked/);
    expect(reply.body).not.toContain('name="code"');
    expect(reply.body).toContain('href="/account"');
    // Opening the step-up page again shows the lock screen, not a code field.
    const again = await c.get('/mfa/step-up?return=/mfa/disable');
    expect(again.body).not.toContain('name="code"');
    expect(textOf(again.body)).toContain('Try again in');
    server.clock.advance(MINUTE);
  });

  it('a lock by support: only support ends it, no code field', async () => {
    const user = await signupAndEnroll(server, client());
    await server.mfa.lock(await idOf(user.username));
    const reply = await submitPassword(client(), user);
    expect(reply.status).toBe(429);
    expect(textOf(reply.body)).toContain('Your account was locked by support. Only support can unlock it.');
    expect(reply.body).not.toContain('name="code"');
  });
});

describe('issue 14.9: errors tied to their fields', () => {
  it.each([
    ['log in: a wrong password', '/login', '/login', (u: string) => ({ username: u, password: 'not the password' }), 'password', 'Wrong username or password.'],
    ['sign up: a taken username', '/signup', '/signup', (u: string) => ({ username: u, password: PASSWORD }), 'username', 'That username is taken.'],
    ['sign up: a short password', '/signup', '/signup', () => ({ username: `fresh${Date.now() % 100000}`, password: 'short' }), 'password', 'Password must be at least'],
    ['forgot password: nothing typed', '/forgot-password', '/forgot-password', () => ({ login: '' }), 'login', 'Enter your username or email address.'],
  ])('%s', async (_name, page, action, fields, id, words) => {
    const owner = client();
    const user = await signup(owner);
    const reply = await client().submit(page, action, fields(user.username));
    expect(reply.status).toBeGreaterThanOrEqual(400);
    expect(titleOf(reply.body)).toMatch(/^Error: /);
    expect(reply.body).toMatch(new RegExp(`<p class="field-error" id="${id}-error"><span class="visually-hidden">Error: </span>${words}`));
    expect(reply.body).toMatch(new RegExp(`<input id="${id}"[^>]* aria-invalid="true" aria-describedby="${id}-error[^"]*" autofocus>`));
    expect(reply.body.match(/ autofocus/g)).toHaveLength(1);
  });

  it('change password: the mismatch sits at "New password again", a wrong current password at "Current password"', async () => {
    const c = client();
    const user = await signup(c);
    const mismatch = await c.submit('/account/password', '/account/password', { currentPassword: user.password, newPassword: 'a new passphrase', newPasswordAgain: 'another one' });
    expect(mismatch.body).toMatch(/<input id="new-password-again"[^>]* aria-invalid="true" aria-describedby="new-password-again-error" autofocus>/);
    expect(mismatch.body).not.toMatch(/<input id="current-password"[^>]* autofocus/);
    const wrong = await c.submit('/account/password', '/account/password', { currentPassword: 'nope nope nope', newPassword: 'a new passphrase', newPasswordAgain: 'a new passphrase' });
    expect(wrong.body).toMatch(/<input id="current-password"[^>]* aria-invalid="true" aria-describedby="current-password-error" autofocus>/);
  });

  it('a page-level error (no field) is at the top, role=alert, "Error:" first, and in the title', async () => {
    const c = client();
    const reply = await c.get('/login/mfa');
    const page = await c.get(reply.location!);
    expect(titleOf(page.body)).toMatch(/^Error: Log in/);
    expect(page.body).toContain('<p class="notice error" role="alert" id="page-error"><strong>Error:</strong> Log in with your password first.</p>');
  });

  it('every page has a skip link to the main content first, and <main id="main">', async () => {
    const page = (await client().get('/login')).body;
    expect(page.indexOf('<a class="skip-link" href="#main">Skip to main content</a>')).toBeLessThan(page.indexOf('<header>'));
    expect(page).toContain('<main id="main" tabindex="-1">');
  });
});

describe('issue 14.10: contrast of field borders and the focus ring, from the stylesheet (WCAG 1.4.11)', () => {
  it('both at least 3:1 against the page and the card backgrounds', async () => {
    const css = await readFile(new URL('../../../examples/express/public/style.css', import.meta.url), 'utf8');
    const variable = (name: string) => {
      const value = new RegExp(`--${name}:\\s*(#[0-9a-fA-F]{3,6})\\s*;`).exec(css)?.[1];
      if (value === undefined) throw new Error(`no --${name} in style.css`);
      return value;
    };
    // The input border and the focus outline are these variables (and nothing else).
    expect(css).toMatch(/input \{[^}]*border: 1px solid var\(--field-border\);/);
    expect(css).toMatch(/input:focus, button:focus-visible, a:focus-visible[^{]*\{ outline: 3px solid var\(--focus\);/);
    for (const background of ['paper', 'wash']) {
      for (const foreground of ['field-border', 'focus']) {
        const ratio = contrastRatio(variable(foreground), variable(background));
        expect(ratio, `--${foreground} on --${background}: ${ratio.toFixed(2)}:1`).toBeGreaterThanOrEqual(3);
      }
    }
  });
});

describe('issue 14.11: confirmations', () => {
  it('after an email recovery, the account page asks to set two-factor authentication up again until it is on', async () => {
    const user = await signupAndEnroll(server, client());
    const c = client();
    await submitPassword(c, user);
    await c.submit('/login/recover', '/login/recover');
    const link = emailedLink(lastEmail(server, user, 'Your recovery link').text, '/login/recover/complete');
    server.clock.advance(DELAY);
    expect((await client().get(link.pathname + link.search)).status).toBe(200);

    const owner = client();
    expect((await submitPassword(owner, user)).location).toBe('/account');
    const account = await owner.get('/account');
    expect(account.body).toContain('id="removed-by-recovery"');
    expect(textOf(account.body)).toContain('Two-factor authentication was removed by email recovery: set it up again');
    expect(textOf(account.body)).toMatch(/removed every two-factor method and recovery code (just now|\d+ seconds? ago), at \d\d:\d\d UTC/);
    // It stays on every visit, until MFA is on again.
    expect((await owner.get('/account')).body).toContain('id="removed-by-recovery"');
    const setup = await openSetup(owner, user);
    expect((await owner.get('/account')).body).toContain('id="removed-by-recovery"');
    await owner.post('/mfa/setup', { _csrf: csrfOf(setup.body, '/mfa/setup'), code: codeNow(server, setupOf(setup.body).secret) });
    expect((await owner.get('/account')).body).not.toContain('id="removed-by-recovery"');

    // The used link, opened again: already used, log in (only the token's hash was kept).
    const used = await client().get(link.pathname + link.search);
    expect(textOf(used.body)).toContain('This recovery link was already used.');
    const note = await server.accounts.emailRecoveryOf(await idOf(user.username));
    expect(note?.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(note)).not.toContain(link.searchParams.get('token')!);
  });
});
