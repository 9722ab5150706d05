/**
 * The whole MFA journey of the example host in a real browser (Debian's
 * Chromium, headless, driven by playwright-core): sign up, confirm the
 * password, scan the QR code (decoded from a screenshot of the page, as a
 * phone would), confirm with a code computed by twofold itself, save the
 * recovery codes, log in with a code, log in with a recovery code, remember
 * the browser at the code and log in with the password alone, forget it on
 * the account page and be asked for the code again, turn MFA off after a
 * step-up with a code.
 *
 * Issue 14 on the way: the same QR code after a wrong setup code, the error
 * tied to its field (aria-invalid, aria-describedby, the focus back on it,
 * "Error:" in the title), the key to copy and the otpauth:// link, the
 * recovery codes' Copy and Print buttons, the warning before leaving them
 * and their POSTed confirmation, the lock screen, "You are logged out"; and
 * axe-core finds nothing on any page of the journey at 1280 and 375 px.
 *
 * The server's clock is the test's: it starts at the real time and is moved
 * on by one 30 s step before each new code, so replay protection never makes
 * the test wait.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { generateTotp, parseOtpauthUri, type ParsedOtpauthUri } from 'twofold';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { browserSkipReason, launchChromium } from '../../support/chromium.ts';
import { captureSetupPage, decodeQrFromPng, SETUP_VIEWPORT } from '../../support/setup-screenshot.ts';
import { axeAtWidths, focusedAfterAutofocus } from './a11y.ts';
import { MINUTE, PASSWORD, SECOND, startServer, uniqueName, type TestServer } from './helpers.ts';

const ARTIFACT = new URL('../../.artifacts/setup-page.png', import.meta.url);
const skipReason = browserSkipReason();

describe.skipIf(skipReason !== null)('the example app in a real browser', () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Console errors, page errors and failed requests: a broken stylesheet or a CSP violation shows up here. */
  const problems: string[] = [];
  /** What axe-core found on the pages of the journey (checked at the end, all pages listed). */
  const violations: string[] = [];
  const checked: string[] = [];

  const username = uniqueName('browser');
  let otp: ParsedOtpauthUri;
  let recoveryCodes: string[];

  beforeAll(async () => {
    [server, browser] = await Promise.all([startServer(), launchChromium()]);
    server.clock.ms = Date.now();
    context = await browser.newContext({ viewport: SETUP_VIEWPORT, acceptDownloads: true });
    // The Copy buttons write to the clipboard; the test reads it back.
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    page = await context.newPage();
    // Fail fast, well inside vitest's 30 s test timeout.
    page.setDefaultTimeout(10_000);
    page.on('console', (message) => {
      // A page answered with 400, 401 or 429 (a wrong code, the lock screen) is logged so by Chromium: expected.
      // A stylesheet or script answered with an error is not: `response` below catches that.
      if (message.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4(00|01|29) /.test(message.text())) {
        problems.push(`console: ${message.text()}`);
      }
    });
    page.on('response', (response) => {
      if (response.request().resourceType() !== 'document' && response.status() >= 400) problems.push(`subresource ${response.status()}: ${response.url()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`));
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
  });

  // The steps share one browser page; after a failure the rest are skipped rather than fail for the same reason.
  let broken = false;
  function step(name: string, body: () => Promise<void>): void {
    it(name, async (ctx: TestContext) => {
      if (broken) ctx.skip();
      try {
        await body();
      } catch (error) {
        broken = true;
        throw error;
      }
    });
  }

  const url = (path: string) => server.baseUrl + path;
  const path = () => new URL(page.url()).pathname;
  const heading = async () => (await page.textContent('main h1'))?.trim();
  const notice = async () => (await page.textContent('main .notice'))?.trim();
  const mainText = async () => (await page.innerText('main')).replace(/\s+/g, ' ');

  /** axe-core on the page as it is, at 1280 and 375 px. */
  async function a11y(label: string): Promise<void> {
    checked.push(label);
    violations.push(...(await axeAtWidths(page, label)));
  }

  /** Click something that loads a new page (a link, a form's button) and wait until that page has loaded. */
  async function clickAndLoad(selector: string): Promise<void> {
    await Promise.all([page.waitForEvent('load'), page.click(selector)]);
  }

  /** The TOTP code an authenticator app holding the scanned URI shows one step later. */
  function nextCode(): string {
    server.clock.advance(30 * SECOND);
    return generateTotp(otp.secret, { now: server.clock.ms, algorithm: otp.algorithm, digits: otp.digits, period: otp.period });
  }

  async function logOut(): Promise<void> {
    await clickAndLoad('header button:has-text("Log out")');
    expect(path()).toBe('/');
    expect(await heading()).toBe('Welcome');
    expect((await page.textContent('#logged-out'))?.trim()).toBe('You are logged out.');
    expect(await page.isVisible('header a[href="/login"]')).toBe(true);
    expect(await page.textContent('header')).not.toContain(username);
  }

  async function passwordStep(): Promise<void> {
    await page.goto(url('/login'));
    expect(await heading()).toBe('Log in');
    await page.fill('#username', username);
    await page.fill('#password', PASSWORD);
    await clickAndLoad('main button:has-text("Log in")');
  }

  async function expectAccountPage(mfa: 'On' | 'Off'): Promise<void> {
    expect(path()).toBe('/account');
    expect(await heading()).toBe('Your account');
    expect(await mainText()).toContain(`Signed in as ${username}`);
    expect(await page.textContent('#mfa-state')).toBe(mfa);
  }

  step('signs up from the welcome page and lands on the account page with MFA off', async () => {
    await page.goto(url('/'));
    expect(await heading()).toBe('Welcome');
    await a11y('welcome');
    await clickAndLoad('main a:has-text("Sign up")');
    expect(path()).toBe('/signup');
    expect(await heading()).toBe('Sign up');
    await a11y('sign up');

    await page.fill('#username', username);
    await page.fill('#password', PASSWORD);
    await clickAndLoad('main button:has-text("Sign up")');
    await expectAccountPage('Off');
    expect(await page.getAttribute('#mfa-state', 'data-state')).toBe('registered');
    expect(await page.textContent('header')).toContain(`Account (${username})`);
    await a11y('account, MFA off');
  });

  step('asks for the password again before setting up two-factor authentication', async () => {
    await clickAndLoad('#setup-mfa');
    expect(path()).toBe('/mfa/setup');
    expect(await heading()).toBe('Confirm your password');
    expect(await page.isVisible('#qr')).toBe(false);
    await a11y('confirm password');
    await page.fill('#password', PASSWORD);
    await clickAndLoad('main button:has-text("Continue")');
  });

  step('shows a QR code that, decoded from a screenshot, holds an otpauth URI for this user', async () => {
    expect(path()).toBe('/mfa/setup');
    expect(await heading()).toBe('Set up two-factor authentication');

    const png = await captureSetupPage(page);
    await mkdir(new URL('.', ARTIFACT), { recursive: true });
    await writeFile(ARTIFACT, png);

    const uri = decodeQrFromPng(png);
    expect(uri, 'no QR code found in test/.artifacts/setup-page.png').not.toBeNull();
    otp = parseOtpauthUri(uri!);
    expect(otp).toMatchObject({ issuer: 'twofold example', accountName: username, algorithm: 'SHA1', digits: 6, period: 30 });
    expect(otp.secret).toMatch(/^[A-Z2-7]{32}$/);
    await a11y('setup');
  });

  step('shows the same key for manual entry, in blocks of four, names the account as the app will, and copies the key (issue 14.3)', async () => {
    const shown = (await page.textContent('#secret'))!.trim();
    expect(shown).toMatch(/^[A-Z2-7]{4}( [A-Z2-7]{1,4})*$/);
    expect(shown.replace(/\s+/g, '')).toBe(otp.secret);
    expect(await page.isVisible('#secret')).toBe(true);
    expect(await mainText()).toContain(`The account will show as twofold example (${username}): time-based, 6 digits`);
    // On a phone the QR code cannot be scanned by that phone: the otpauth:// link opens the app.
    const uri = parseOtpauthUri((await page.getAttribute('#open-app', 'href'))!);
    expect(uri.secret).toBe(otp.secret);
    expect(uri.accountName).toBe(username);
    // The Copy button (public/copy.js: hidden without JavaScript) puts the key, without spaces, on the clipboard.
    expect(await page.isVisible('#copy-secret')).toBe(true);
    await page.click('#copy-secret');
    await expect.poll(() => page.textContent('#copy-secret-status')).toBe('Copied to the clipboard.');
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(otp.secret);
  });

  step('a wrong code: the error at the field (aria-invalid, aria-describedby, focus, "Error:" title) and the SAME QR code (issues 14.1, 14.4, 14.9)', async () => {
    const now = generateTotp(otp.secret, { now: server.clock.ms });
    const wrong = now === '000000' ? '111111' : '000000';
    await page.fill('#code', `${wrong.slice(0, 3)} ${wrong.slice(3)}`);
    await clickAndLoad('main button:has-text("Turn on two-factor authentication")');
    expect(path()).toBe('/mfa/setup');
    expect(await page.title()).toMatch(/^Error: Set up two-factor authentication/);
    expect(await page.getAttribute('#code', 'aria-invalid')).toBe('true');
    expect(await page.getAttribute('#code', 'aria-describedby')).toBe('code-error code-hint');
    expect((await page.textContent('#code-error'))?.trim()).toBe('Error: That code did not match. Check the time on your phone and try again with the code your app shows now.');
    expect(await page.textContent('#code-hint')).toBe('6 digits, spaces are fine.');
    expect(await focusedAfterAutofocus(page, 'code')).toBe('code');
    // The field: 6 digits with an optional space, and a maxlength that allows it.
    expect(await page.getAttribute('#code', 'maxlength')).toBe('10');
    expect(await page.evaluate(`(() => { const f = document.getElementById('code'); f.value = '123 456'; const ok = f.checkValidity(); f.value = '12 3456x'; return [ok, f.checkValidity()]; })()`)).toEqual([true, false]);
    await page.fill('#code', '');
    // The same QR code, decoded again from a picture of the page: the entry already scanned stays right.
    const again = decodeQrFromPng(await captureSetupPage(page));
    expect(again).not.toBeNull();
    expect(parseOtpauthUri(again!).secret).toBe(otp.secret);
    expect((await page.textContent('#secret'))!.replace(/\s+/g, '')).toBe(otp.secret);
    await a11y('setup, after a wrong code');
  });

  step('turns MFA on with a code generated by twofold from the scanned URI', async () => {
    await page.fill('#code', generateTotp(otp.secret, { now: server.clock.ms, algorithm: otp.algorithm, digits: otp.digits, period: otp.period }));
    await clickAndLoad('main button:has-text("Turn on two-factor authentication")');
    expect(path()).toBe('/mfa/recovery-codes');
    expect(await heading()).toBe('Your recovery codes');
    expect(await mainText()).toContain('this is the only time they are shown');
    await a11y('recovery codes');
  });

  step('shows ten distinct recovery codes once', async () => {
    recoveryCodes = (await page.locator('#recovery-codes li code').allTextContents()).map((code) => code.trim());
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const code of recoveryCodes) expect(code).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){5}$/);
  });

  step('offers the same codes as a .txt download', async () => {
    const link = page.locator('#download-codes');
    expect((await link.textContent())?.trim()).toBe('Download .txt');
    const filename = await link.getAttribute('download');
    expect(filename).toMatch(/\.txt$/);
    const href = (await link.getAttribute('href'))!;
    const prefix = 'data:text/plain;charset=utf-8,';
    expect(href.startsWith(prefix)).toBe(true);
    const linkText = decodeURIComponent(href.slice(prefix.length));

    // What the browser actually saves when the link is clicked.
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toBe(filename);
    const saved = await readFile((await download.path())!, 'utf8');
    expect(saved).toBe(linkText);
    const savedCodes = saved.match(/[0-9A-Z]{4}(?:-[0-9A-Z]{4}){5}/g);
    expect(savedCodes).toEqual(recoveryCodes);
    expect(saved).toContain('twofold example');
    expect(path()).toBe('/mfa/recovery-codes');
  });

  step('offers Copy and Print beside Download, and says what to do if the codes are lost (issue 14.5)', async () => {
    expect(await page.isVisible('#copy-codes')).toBe(true);
    expect(await page.isVisible('#print-codes')).toBe(true);
    await page.click('#copy-codes');
    await expect.poll(() => page.textContent('#codes-status')).toBe('Copied to the clipboard.');
    expect(String(await page.evaluate('navigator.clipboard.readText()')).split('\n')).toEqual(recoveryCodes);
    // Print opens the browser's print dialog: replaced here by a stand-in that records the call.
    await page.evaluate('window.print = () => { window.__printed = true; }');
    await page.click('#print-codes');
    expect(await page.evaluate('window.__printed === true')).toBe(true);
    expect(await mainText()).toContain('Lost them later? While you can still sign in with your authenticator app or security key, generate a new set');
  });

  step('warns before the codes page is left (reload) until "I have saved my recovery codes" is pressed (issue 14.5)', async () => {
    const dialogs: string[] = [];
    const dismiss = (dialog: import('playwright-core').Dialog) => {
      dialogs.push(dialog.type());
      void dialog.dismiss();
    };
    page.on('dialog', dismiss);
    try {
      // A reload would lose the codes: the browser asks first; staying keeps them on the page.
      await page.reload({ timeout: 2000 }).catch(() => {});
      expect(dialogs).toEqual(['beforeunload']);
      expect(path()).toBe('/mfa/recovery-codes');
      expect((await page.locator('#recovery-codes li code').allTextContents()).map((c) => c.trim())).toEqual(recoveryCodes);
    } finally {
      page.off('dialog', dismiss);
    }
  });

  step('"I have saved my recovery codes" POSTs; no warning then, and the account page says two-factor authentication is on', async () => {
    const dialogs: string[] = [];
    const record = (dialog: import('playwright-core').Dialog) => {
      dialogs.push(dialog.type());
      void dialog.accept();
    };
    page.on('dialog', record);
    const posted = page.waitForRequest((request) => request.method() === 'POST' && new URL(request.url()).pathname === '/mfa/recovery-codes/saved');
    await clickAndLoad('#codes-saved');
    await posted;
    page.off('dialog', record);
    expect(dialogs).toEqual([]);
    expect(path()).toBe('/account');
    expect(await notice()).toBe('Two-factor authentication is on. You will be asked for a code (or your key) when you log in.');
    await a11y('account, MFA on');
  });

  step('refuses to show the codes a second time; the account page says MFA is on with 10 codes', async () => {
    await page.goto(url('/mfa/recovery-codes'));
    expect(await heading()).toBe('Recovery codes already shown');
    expect(await page.content()).not.toContain(recoveryCodes[0]);
    await a11y('recovery codes already shown');

    await page.goto(url('/account'));
    await expectAccountPage('On');
    expect(await page.getAttribute('#mfa-state', 'data-state')).toBe('enabled');
    expect(await page.textContent('#codes-remaining')).toBe('10');
    expect(await page.isVisible('#setup-mfa')).toBe(false);
  });

  step('logs out: the account page now asks for a login', async () => {
    await logOut();
    await page.goto(url('/account'));
    expect(path()).toBe('/login');
    expect(await heading()).toBe('Log in');
  });

  step('logs in with the password, then an authenticator code', async () => {
    await page.goto(url('/login'));
    await a11y('log in');
    await passwordStep();
    expect(path()).toBe('/login/mfa');
    expect(await heading()).toBe('Two-factor authentication');
    expect(await mainText()).toContain('Your password was right.');
    await a11y('code page');
    // Not signed in yet: the header still offers to log in.
    expect(await page.textContent('header')).not.toContain(username);

    await page.fill('#code', nextCode());
    await clickAndLoad('main button:has-text("Verify")');
    await expectAccountPage('On');
    expect(await page.textContent('#codes-remaining')).toBe('10');
    await logOut();
  });

  step('logs in with the password, then a recovery code, and is told how many remain', async () => {
    await passwordStep();
    expect(path()).toBe('/login/mfa');
    await clickAndLoad('main a:has-text("Use a recovery code")');
    expect(path()).toBe('/login/recovery');
    expect(await heading()).toBe('Use a recovery code');
    // A mistyped recovery code gets words about recovery codes, at the field (issue 14.6).
    await page.fill('#recoveryCode', 'ABCD-EFGH');
    await clickAndLoad('main button:has-text("Verify")');
    expect(path()).toBe('/login/recovery');
    expect(await page.textContent('#recoveryCode-error')).toContain('That is not a recovery code. Recovery codes have 24 letters and digits');
    expect(await page.textContent('#recoveryCode-error')).not.toContain('6-digit');
    expect(await page.getAttribute('#recoveryCode', 'aria-invalid')).toBe('true');
    expect(await focusedAfterAutofocus(page, 'recoveryCode')).toBe('recoveryCode');
    await a11y('recovery code page, after a mistyped code');

    await page.fill('#recoveryCode', recoveryCodes[0]!);
    await clickAndLoad('main button:has-text("Verify")');
    await expectAccountPage('On');
    expect(await notice()).toBe('Signed in with a recovery code. 9 recovery codes left.');
    expect(await page.textContent('#codes-remaining')).toBe('9');
  });

  step('remembers this browser: the box ticked at the code, then after logging out the password alone signs in (no code asked)', async () => {
    await logOut();
    await passwordStep();
    expect(path()).toBe('/login/mfa');
    expect(await mainText()).toContain('Remember this browser for 30 days');
    expect(await page.isChecked('#remember')).toBe(false);
    await page.check('#remember');
    await page.fill('#code', nextCode());
    await clickAndLoad('main button:has-text("Verify")');
    await expectAccountPage('On');

    const cookie = (await context.cookies()).find((c) => c.name === 'twofold.device');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', secure: false, path: '/' });
    expect(Math.abs(cookie!.expires * 1000 - (server.clock.ms + 30 * 24 * 3600 * SECOND))).toBeLessThan(2 * SECOND);
    // HttpOnly: no script of the page can read it.
    // (A string, evaluated in the page: the test's own types have no DOM.)
    expect(String(await page.evaluate('document.cookie'))).not.toContain('twofold.device');
    expect((await page.textContent('#device-list li[data-current="true"] .device-label'))?.trim()).toBe('Chrome on Linux');
    expect(await page.textContent('#device-list li[data-current="true"]')).toContain('This browser');

    await logOut();
    await passwordStep();
    await expectAccountPage('On');
    expect(await notice()).toContain('Signed in without a code: this browser is remembered until');
    // Every use rotates the token.
    const rotated = (await context.cookies()).find((c) => c.name === 'twofold.device');
    expect(rotated?.value).toBeDefined();
    expect(rotated!.value).not.toBe(cookie!.value);
  });

  step('forgets this browser on the account page; after logging out, the code is asked again', async () => {
    await clickAndLoad('#device-list li[data-current="true"] button:has-text("Forget")');
    await expectAccountPage('On');
    expect(await notice()).toBe('Forgot this browser: it will ask for your second factor at the next sign-in.');
    expect((await context.cookies()).some((c) => c.name === 'twofold.device')).toBe(false);
    expect(await page.isVisible('#no-devices')).toBe(true);

    await logOut();
    await passwordStep();
    expect(path()).toBe('/login/mfa');
    expect(await heading()).toBe('Two-factor authentication');
    await page.fill('#code', nextCode());
    await clickAndLoad('main button:has-text("Verify")');
    await expectAccountPage('On');
  });

  step('five wrong codes at the login: the lock screen says how long in words, that recovery codes and email recovery wait too, and has no code field (issue 14.7)', async () => {
    await logOut();
    await passwordStep();
    expect(path()).toBe('/login/mfa');
    // The first wrong code: the error at the code field, focus on it.
    await page.fill('#code', '000000' === generateTotp(otp.secret, { now: server.clock.ms }) ? '111111' : '000000');
    await clickAndLoad('main button:has-text("Verify")');
    expect(await page.getAttribute('#code', 'aria-invalid')).toBe('true');
    expect(await page.getAttribute('#code', 'aria-describedby')).toBe('code-error code-hint');
    expect(await focusedAfterAutofocus(page, 'code')).toBe('code');
    expect(await page.title()).toMatch(/^Error: /);
    await a11y('code page, after a wrong code');
    for (let i = 0; i < 4; i++) {
      await page.fill('#code', '000000' === generateTotp(otp.secret, { now: server.clock.ms }) ? '111111' : '000000');
      await clickAndLoad('main button:has-text("Verify")');
    }
    expect(await heading()).toBe('Your account is locked');
    const retryAt = new Date(server.clock.ms + MINUTE);
    const hhmm = new Date(Math.ceil(retryAt.getTime() / MINUTE) * MINUTE).toISOString().slice(11, 16);
    expect(await page.textContent('#lock-when')).toContain(`Try again in 1 minute, at ${hhmm}\u00a0UTC.`);
    expect(await page.getAttribute('#lock-when time', 'datetime')).toBe(retryAt.toISOString());
    expect(await mainText()).toContain('recovery codes and security keys are refused too, and email recovery cannot be requested');
    expect(await page.locator('input[name="code"], input[name="recoveryCode"]').count()).toBe(0);
    await a11y('lock screen');
    // The code page itself, opened again, is the lock screen too.
    await page.goto(url('/login/mfa'));
    expect(await heading()).toBe('Your account is locked');
    expect(await page.locator('input[name="code"]').count()).toBe(0);
    // Once the lock has ended: log in.
    server.clock.advance(MINUTE);
    await passwordStep();
    await page.fill('#code', nextCode());
    await clickAndLoad('main button:has-text("Verify")');
    await expectAccountPage('On');
  });

  step('turns MFA off after confirming a code (step-up); the account page then says MFA is off', async () => {
    await clickAndLoad('#disable-mfa');
    expect(path()).toBe('/mfa/step-up');
    expect(await heading()).toBe('Confirm it is you');
    expect(await mainText()).toContain('To turn off two-factor authentication, confirm it is you');
    // The warning comes before the form, which is a fieldset "Confirm with …" (issue 14.9).
    expect(await page.textContent('#step-up-warning')).toContain('removes every method and every recovery code');
    expect(await page.textContent('#code-form legend')).toBe('Confirm with a code from your authenticator app');
    expect(await page.evaluate(`!!(document.getElementById('step-up-warning').compareDocumentPosition(document.getElementById('code-form')) & Node.DOCUMENT_POSITION_FOLLOWING)`)).toBe(true);
    await a11y('step-up');
    await page.fill('#code', nextCode());
    await clickAndLoad('main button:has-text("Verify")');
    expect(path()).toBe('/mfa/disable');
    expect(await heading()).toBe('Turn off two-factor authentication');
    expect(await page.textContent('#confirm-form legend')).toBe('Turn off two-factor authentication');
    expect(await page.evaluate(`!!(document.getElementById('confirm-warning').compareDocumentPosition(document.getElementById('confirm-change')) & Node.DOCUMENT_POSITION_FOLLOWING)`)).toBe(true);
    await a11y('confirm turning off');
    await clickAndLoad('main button:has-text("Turn off")');
    await expectAccountPage('Off');
    expect(await notice()).toContain('Two-factor authentication is off.');
    expect(await page.getAttribute('#mfa-state', 'data-state')).toBe('registered');
    expect(await page.isVisible('#codes-remaining')).toBe(false);
    expect(await page.isVisible('#setup-mfa')).toBe(true);
  });

  step('then logs in with the password alone', async () => {
    await logOut();
    await passwordStep();
    await expectAccountPage('Off');
  });

  step('saw no console error, script error or failed request on the way', async () => {
    expect(problems).toEqual([]);
  });

  step('axe-core found no violation on any page of the journey, at 1280 and 375 px', async () => {
    expect(checked.length).toBeGreaterThanOrEqual(15);
    expect(violations).toEqual([]);
  });
});
