/**
 * Writes docs/setup-page.png, the picture of the MFA setup page in the
 * README: starts the example app on an ephemeral port, signs up a demo user
 * in headless Chromium, opens /mfa/setup and photographs it the same way the
 * browser test does (test/support/setup-screenshot.ts). The QR code is
 * decoded back from the PNG before the script reports success.
 *
 *   node --import tsx scripts/screenshot-setup.ts [output.png]
 *
 * Needs Chromium (CHROMIUM_PATH, default /usr/bin/chromium). Every run makes
 * a new random secret, so the PNG changes each time; the secret in it belongs
 * to a throwaway in-memory account.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOtpauthUri } from 'twofold';
import { createApp } from '../examples/express/app.ts';
import { CHROMIUM_PATH, launchChromium } from '../test/support/chromium.ts';
import { captureSetupPage, decodeQrFromPng, SETUP_VIEWPORT } from '../test/support/setup-screenshot.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const output = resolve(process.argv[2] ?? resolve(ROOT, 'docs/setup-page.png'));
const USERNAME = 'alice';

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`Chromium not found at ${CHROMIUM_PATH} (install Debian's chromium package, or set CHROMIUM_PATH)`);

  const { app } = createApp({ secretKey: randomBytes(32), sessionSecret: randomBytes(32).toString('base64url'), issuer: 'twofold example' });
  const server = await new Promise<Server>((done) => {
    const s = app.listen(0, '127.0.0.1', () => done(s));
  });
  const baseUrl = `http://localhost:${(server.address() as AddressInfo).port}`;
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: SETUP_VIEWPORT, deviceScaleFactor: 1 });
    await page.goto(`${baseUrl}/signup`);
    await page.fill('#username', USERNAME);
    const password = randomBytes(12).toString('base64url');
    await page.fill('#password', password);
    await Promise.all([page.waitForURL(`${baseUrl}/account`), page.click('button[type=submit]:has-text("Sign up")')]);
    await page.goto(`${baseUrl}/mfa/setup`);
    // The example asks for the password again before it shows a QR code.
    await page.fill('#password', password);
    await Promise.all([page.waitForEvent('load'), page.click('button[type=submit]:has-text("Continue")')]);
    const png = await captureSetupPage(page);

    // The picture must hold a scannable QR code for the key shown beside it.
    const uri = decodeQrFromPng(png);
    if (uri === null) throw new Error('no QR code could be decoded from the screenshot');
    const parsed = parseOtpauthUri(uri);
    const shown = ((await page.textContent('#secret')) ?? '').replace(/\s+/g, '');
    if (parsed.secret !== shown) throw new Error(`the QR code holds secret ${parsed.secret}, the page shows ${shown}`);
    if (parsed.accountName !== USERNAME) throw new Error(`the QR code names account ${parsed.accountName}, expected ${USERNAME}`);

    await mkdir(dirname(output), { recursive: true });
    await writeFile(output, png);
    console.log(`wrote ${relative(process.cwd(), output) || output} (${png.length} bytes); its QR code decodes to ${uri.replace(/secret=[^&]+/, 'secret=…')}`);
  } finally {
    await browser.close();
    server.closeAllConnections();
    server.close();
  }
}

main().catch((error: unknown) => {
  console.error(`screenshot-setup: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
