/**
 * One way to photograph the example's /mfa/setup page, shared by the browser
 * test (which decodes the QR code from the picture) and by
 * scripts/screenshot-setup.ts (which writes docs/setup-page.png for the
 * README), so the README shows exactly what the test checks.
 */
import jsqr from 'jsqr';
import type { Page } from 'playwright-core';
import { PNG } from 'pngjs';

// jsqr is CommonJS with `exports.default`: typed as the module object, at runtime also the function.
const jsQR = jsqr.default;

/** Wide enough for the centred 40rem column, tall enough for the whole setup page without scrolling. */
export const SETUP_VIEWPORT = { width: 1000, height: 1100 } as const;

export interface CaptureOptions {
  /** Open "Can't scan it? Enter the key by hand" so the key is in the picture too. Default true. */
  revealKey?: boolean;
}

/**
 * A full-page PNG of the /mfa/setup page `page` shows, at {@link SETUP_VIEWPORT}
 * and device scale 1, once the QR image has loaded and decoded. Throws if
 * `page` is not on the setup page.
 */
export async function captureSetupPage(page: Page, options: CaptureOptions = {}): Promise<Buffer> {
  if (new URL(page.url()).pathname !== '/mfa/setup') throw new Error(`captureSetupPage: expected /mfa/setup, the page is at ${page.url()}`);
  await page.setViewportSize(SETUP_VIEWPORT);
  const qr = page.locator('img#qr');
  await qr.waitFor({ state: 'visible' });
  // The QR is a data: URL, so normally decoded at once; wait anyway rather than photograph a blank box.
  // (decode() waits for the load and rejects if the image is broken.)
  const width = await qr.evaluate(async (element) => {
    const img = element as unknown as { decode(): Promise<void>; naturalWidth: number };
    await img.decode();
    return img.naturalWidth;
  });
  if (width === 0) throw new Error('captureSetupPage: the QR image did not load');
  if (options.revealKey ?? true) {
    // The key is shown beside the QR code (older pages hid it in a <details>: open that if there is one).
    const details = page.locator('details', { has: page.locator('#secret') });
    if ((await details.count()) > 0 && (await details.getAttribute('open')) === null) await details.locator('summary').click();
    await page.locator('#secret').waitFor({ state: 'visible' });
  }
  // No hover effect in the picture.
  await page.mouse.move(0, 0);
  return page.screenshot({ type: 'png', fullPage: true, animations: 'disabled', caret: 'hide' });
}

/**
 * The text of the first QR code found in a PNG (payload bytes read as strict
 * UTF-8), or null when there is none.
 */
export function decodeQrFromPng(png: Uint8Array): string | null {
  const image = PNG.sync.read(Buffer.from(png));
  const result = jsQR(new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.length), image.width, image.height);
  if (result === null) return null;
  return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(result.binaryData));
}
