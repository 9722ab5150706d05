/**
 * Writes docs/factors-page.png, the picture of the "Two-factor methods"
 * section of the example's account page: starts the example app on an
 * ephemeral port (http://localhost:<port>, the relying party `localhost`),
 * and in headless Chromium with virtual authenticators (DevTools protocol)
 * signs up a demo user, adds a security key (MFA on with the key alone),
 * adds an authenticator app after a step-up with that key, then a synced
 * passkey after a step-up with a code, and photographs the section.
 *
 *   node --import tsx scripts/screenshot-factors.ts [output.png]
 *
 * Needs Chromium (CHROMIUM_PATH, default /usr/bin/chromium). Every run makes
 * new keys and dates; the account is a throwaway in memory.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CDPSession, Page } from 'playwright-core';
import { generateTotp } from 'twofold';
import { createApp } from '../examples/express/app.ts';
import { CHROMIUM_PATH, launchChromium } from '../test/support/chromium.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const output = resolve(process.argv[2] ?? resolve(ROOT, 'docs/factors-page.png'));
const USERNAME = 'alice';
const VIEWPORT = { width: 1000, height: 1400 } as const;

/** A virtual authenticator: a USB key, or (`synced`) a platform passkey that reports itself backed up. */
async function addAuthenticator(cdp: CDPSession, synced: boolean): Promise<string> {
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: synced ? 'internal' : 'usb',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
      ...(synced ? { defaultBackupEligibility: true, defaultBackupState: true } : {}),
    },
  });
  return authenticatorId;
}

async function clickAndLoad(page: Page, selector: string): Promise<void> {
  await Promise.all([page.waitForEvent('load'), page.click(selector)]);
}

/** Click a key button (the ceremony runs, then the form posts) and wait for `to`. */
async function useKey(page: Page, selector: string, to: string): Promise<void> {
  await Promise.all([page.waitForURL((u) => u.pathname === to), page.click(selector)]);
  await page.waitForLoadState('load');
}

function expectPath(page: Page, path: string): void {
  const at = new URL(page.url()).pathname;
  if (at !== path) throw new Error(`expected ${path}, the page is at ${at}`);
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`Chromium not found at ${CHROMIUM_PATH} (install Debian's chromium package, or set CHROMIUM_PATH)`);

  // The app's clock runs a little ahead on demand, so a second TOTP code is a new one (no replay) without waiting.
  let ahead = 0;
  const example = createApp({
    secretKey: randomBytes(32),
    sessionSecret: randomBytes(32).toString('base64url'),
    issuer: 'twofold example',
    now: () => Date.now() + ahead,
  });
  const server = await example.listen(0, '127.0.0.1');
  const baseUrl = example.origin.origin;
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: VIEWPORT, deviceScaleFactor: 1 });
    page.setDefaultTimeout(15_000);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const usbKey = await addAuthenticator(cdp, false);

    await page.goto(`${baseUrl}/signup`);
    await page.fill('#username', USERNAME);
    const password = randomBytes(12).toString('base64url');
    await page.fill('#password', password);
    await clickAndLoad(page, 'button[type=submit]:has-text("Sign up")');

    // A security key first: the password again, then the browser's registration.
    await page.fill('#key-name', 'YubiKey 5C');
    await clickAndLoad(page, '#add-key');
    await page.fill('#password', password);
    await clickAndLoad(page, 'button[type=submit]:has-text("Continue")');
    await useKey(page, '#register-key', '/mfa/recovery-codes');

    // An authenticator app, after a step-up with the key.
    await page.goto(`${baseUrl}/account`);
    await clickAndLoad(page, '#add-totp');
    await useKey(page, '#use-key', '/mfa/setup');
    const secret = ((await page.textContent('#secret')) ?? '').replace(/\s+/g, '');
    await page.fill('#code', generateTotp(secret, { now: Date.now() + ahead }));
    await clickAndLoad(page, 'button[type=submit]:has-text("Add the authenticator app")');
    expectPath(page, '/account');

    // A synced passkey on "this laptop", after a step-up with a new code.
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: usbKey });
    await addAuthenticator(cdp, true);
    await page.fill('#key-name', 'MacBook passkey');
    await clickAndLoad(page, '#add-key');
    expectPath(page, '/mfa/step-up');
    ahead += 30_000;
    await page.fill('#code', generateTotp(secret, { now: Date.now() + ahead }));
    await clickAndLoad(page, 'button[type=submit]:has-text("Verify")');
    expectPath(page, '/mfa/keys/new');
    await useKey(page, '#register-key', '/account');

    await page.goto(`${baseUrl}/account`);
    const labels = (await page.locator('#factors li.factor .factor-label').allTextContents()).map((t) => t.trim());
    const expected = ['YubiKey 5C', 'Authenticator app', 'MacBook passkey'];
    if (JSON.stringify(labels) !== JSON.stringify(expected)) throw new Error(`the account page lists ${JSON.stringify(labels)}, expected ${JSON.stringify(expected)}`);
    if ((await page.locator('#factors .badge.passkey').count()) !== 1) throw new Error('the passkey has no passkey badge');

    await page.mouse.move(0, 0);
    // The section with a margin of the page around it.
    const box = await page.locator('#factors').boundingBox();
    if (box === null) throw new Error('the factors section is not visible');
    const margin = 16;
    const clip = { x: Math.max(0, box.x - margin), y: Math.max(0, box.y - margin), width: box.width + 2 * margin, height: box.height + 2 * margin };
    const png = await page.screenshot({ type: 'png', clip, animations: 'disabled', caret: 'hide' });
    await mkdir(dirname(output), { recursive: true });
    await writeFile(output, png);
    console.log(`wrote ${relative(process.cwd(), output) || output} (${png.length} bytes): ${expected.join(', ')}`);
  } finally {
    await browser.close();
    server.closeAllConnections();
    server.close();
  }
}

main().catch((error: unknown) => {
  console.error(`screenshot-factors: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
