/**
 * A second, independent decoder: zbarimg (Debian's zbar-tools, reading
 * through ImageMagick), on the PNGs renderQr writes and, through headless
 * Chromium, on its SVG and data URL as a browser shows them. Under CI=true a
 * missing zbarimg fails; elsewhere these tests skip and say why.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderQr, renderQrAtLevel, type ErrorCorrectionLevel } from '../src/qr.ts';
import { browserSkipReason, launchChromium } from './support/chromium.ts';

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const URIS: readonly [string, string][] = [
  ['typical', `otpauth://totp/Example%20App:alice%40example.com?secret=${SECRET}&issuer=Example%20App`],
  ['unicode account name', `otpauth://totp/Ünïcødé:zoë@例え.jp?secret=${SECRET}&issuer=Ünïcødé`],
  ['emoji', `otpauth://totp/Rocket:🚀 launch?secret=${SECRET}`],
  ['ampersand, percent and spaces', 'otpauth://totp/A & B %25 Co:dave smith?secret=ABC&issuer=A & B %25 Co'],
];
const TYPICAL = URIS[0]![1];
const LEVELS: readonly ErrorCorrectionLevel[] = ['L', 'M', 'Q', 'H'];
/** A sample of the scales renderQr accepts above 1 (scale 1 has its own test below). */
const SCALES = [2, 3, 6, 12, 32];

function zbarSkipReason(): string | null {
  if (spawnSync('zbarimg', ['--version']).status === 0) return null;
  const reason = 'zbarimg not found (install the Debian package zbar-tools)';
  if (process.env.CI === 'true') throw new Error(`CI=true: the zbarimg tests must run, but ${reason}`);
  console.warn(`skipping zbarimg tests: ${reason}`);
  return reason;
}

const skipReason = zbarSkipReason();

describe.skipIf(skipReason !== null)('zbarimg', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'twofold-qr-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The payload zbarimg reads from an image, as exact bytes read as strict UTF-8; null when it finds no code. */
  function zbar(image: Uint8Array, name = 'qr.png'): string | null {
    const file = join(dir, name);
    writeFileSync(file, image);
    // -Sbinary: the payload bytes as they are, no guessing of a character set.
    const run = spawnSync('zbarimg', ['--quiet', '--raw', '-Sbinary', file]);
    if (run.status === 4) return null; // no symbol found
    if (run.status !== 0) throw new Error(`zbarimg exited with ${run.status}: ${run.stderr.toString()}`);
    const payload = run.stdout.subarray(0, run.stdout.at(-1) === 0x0a ? -1 : undefined);
    return new TextDecoder('utf-8', { fatal: true }).decode(payload);
  }

  describe.each(LEVELS)('error correction %s', (level) => {
    it.each(SCALES)('reads the PNG back at scale %i', async (scale) => {
      expect(zbar((await renderQrAtLevel(TYPICAL, { format: 'png', scale }, level)) as Uint8Array)).toBe(TYPICAL);
    });

    it.each(URIS)('reads the data URL of the %s URI back', async (_, uri) => {
      const url = (await renderQrAtLevel(uri, { format: 'dataUrl' }, level)) as string;
      expect(zbar(Buffer.from(url.slice(url.indexOf(',') + 1), 'base64'))).toBe(uri);
    });

    // With 1-pixel modules zbarimg often finds nothing, in qrcode's own RGBA PNG as well:
    // the pixels are the same (test/qr.test.ts), so it must read ours exactly when it reads that one.
    it.each(URIS)('at scale 1 reads the %s URI exactly when it reads qrcode’s own PNG', async (_, uri) => {
      const ours = zbar((await renderQrAtLevel(uri, { format: 'png', scale: 1 }, level)) as Uint8Array);
      const segments = [{ data: new TextEncoder().encode(uri), mode: 'byte' as const }];
      const theirs = zbar(await QRCode.toBuffer(segments, { errorCorrectionLevel: level, margin: 4, scale: 1, type: 'png' }), 'reference.png');
      expect(ours).toBe(theirs);
      if (ours !== null) expect(ours).toBe(uri);
    });
  });

  const browserSkip = browserSkipReason();

  describe.skipIf(browserSkip !== null)('on a screenshot of headless Chromium', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchChromium();
    });
    afterAll(() => browser?.close());

    /** A screenshot of `html` on a black page, so a missing white background would show. */
    async function screenshot(html: string): Promise<Buffer> {
      const page = await browser.newPage({ viewport: { width: 400, height: 400 } });
      try {
        await page.setContent(`<body style="margin:0;padding:41px;background:#000">${html}</body>`);
        await page.locator('img, svg').first().waitFor({ state: 'visible' });
        await page.evaluate('Promise.all([...document.images].map((img) => img.decode()))');
        return await page.screenshot({ type: 'png' });
      } finally {
        await page.close();
      }
    }

    it.each(LEVELS)('reads the SVG at level %s', async (level) => {
      const svg = (await renderQrAtLevel(TYPICAL, { format: 'svg' }, level)) as string;
      const html = svg.replace('<svg ', '<svg style="display:block;width:318px;height:318px" ');
      expect(zbar(await screenshot(html), 'svg.png')).toBe(TYPICAL);
    });

    it('reads the data URL in an <img>, as the setup page shows it', async () => {
      const url = await renderQr(TYPICAL, { format: 'dataUrl' });
      expect(zbar(await screenshot(`<img src="${url}" style="display:block">`), 'img.png')).toBe(TYPICAL);
    });
  });
});
