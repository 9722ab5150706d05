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
import { PASSWORD, SECOND, startServer, uniqueName, type TestServer } from './helpers.ts';

const ARTIFACT = new URL('../../.artifacts/setup-page.png', import.meta.url);
const skipReason = browserSkipReason();

describe.skipIf(skipReason !== null)('the example app in a real browser', () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Console errors, page errors and failed requests: a broken stylesheet or a CSP violation shows up here. */
  const problems: string[] = [];

  const username = uniqueName('browser');
  let otp: ParsedOtpauthUri;
  let recoveryCodes: string[];

  beforeAll(async () => {
    [server, browser] = await Promise.all([startServer(), launchChromium()]);
    server.clock.ms = Date.now();
    context = await browser.newContext({ viewport: SETUP_VIEWPORT, acceptDownloads: true });
    page = await context.newPage();
    // Fail fast, well inside vitest's 30 s test timeout.
    page.setDefaultTimeout(10_000);
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
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
    await clickAndLoad('main a:has-text("Sign up")');
    expect(path()).toBe('/signup');
    expect(await heading()).toBe('Sign up');

    await page.fill('#username', username);
    await page.fill('#password', PASSWORD);
    await clickAndLoad('main button:has-text("Sign up")');
    await expectAccountPage('Off');
    expect(await page.getAttribute('#mfa-state', 'data-state')).toBe('registered');
    expect(await page.textContent('header')).toContain(`Account (${username})`);
  });

  step('asks for the password again before setting up two-factor authentication', async () => {
    await clickAndLoad('#setup-mfa');
    expect(path()).toBe('/mfa/setup');
    expect(await heading()).toBe('Confirm your password');
    expect(await page.isVisible('#qr')).toBe(false);
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
  });

  step('shows the same key for manual entry, in blocks of four', async () => {
    const shown = (await page.textContent('#secret'))!.trim();
    expect(shown).toMatch(/^[A-Z2-7]{4}( [A-Z2-7]{1,4})*$/);
    expect(shown.replace(/\s+/g, '')).toBe(otp.secret);
    // captureSetupPage opened "Can't scan it?", so the key was in the picture too.
    expect(await page.isVisible('#secret')).toBe(true);
    expect(await mainText()).toContain(`Account: ${username}, time-based, 6 digits`);
  });

  step('turns MFA on with a code generated by twofold from the scanned URI', async () => {
    await page.fill('#code', generateTotp(otp.secret, { now: server.clock.ms, algorithm: otp.algorithm, digits: otp.digits, period: otp.period }));
    await clickAndLoad('main button:has-text("Turn on two-factor authentication")');
    expect(path()).toBe('/mfa/recovery-codes');
    expect(await heading()).toBe('Your recovery codes');
    expect(await mainText()).toContain('this is the only time they are shown');
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

  step('refuses to show the codes a second time; the account page says MFA is on with 10 codes', async () => {
    await page.goto(url('/mfa/recovery-codes'));
    expect(await heading()).toBe('Recovery codes already shown');
    expect(await page.content()).not.toContain(recoveryCodes[0]);

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
    await passwordStep();
    expect(path()).toBe('/login/mfa');
    expect(await heading()).toBe('Two-factor authentication');
    expect(await mainText()).toContain('Your password was right.');
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

  step('turns MFA off after confirming a code (step-up); the account page then says MFA is off', async () => {
    await clickAndLoad('#disable-mfa');
    expect(path()).toBe('/mfa/step-up');
    expect(await heading()).toBe('Confirm it is you');
    expect(await mainText()).toContain('To turn off two-factor authentication, confirm it is you');
    await page.fill('#code', nextCode());
    await clickAndLoad('main button:has-text("Verify")');
    expect(path()).toBe('/mfa/disable');
    expect(await heading()).toBe('Turn off two-factor authentication');
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
});
