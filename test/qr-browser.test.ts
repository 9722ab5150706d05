/**
 * renderQr with the build of qrcode a Workers bundler picks: wrangler bundles
 * with esbuild for the browser platform (conditions workerd, worker,
 * browser), so qrcode's package.json "browser" field swaps its Node entry for
 * lib/browser.js, which has no toBuffer (issue 12). twofold only needs
 * QRCode.create, which both builds have.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { build } from 'esbuild';
import QRCode from 'qrcode';
import { describe, expect, it, vi } from 'vitest';
import { renderQr } from '../src/qr.ts';
import { decodeQrFromPng } from './support/setup-screenshot.ts';

const require = createRequire(import.meta.url);

/** The file the "browser" field of qrcode's package.json puts in place of its main entry. */
function browserEntry(): string {
  const pkg = require('qrcode/package.json') as { main: string; browser: Record<string, string | false> };
  const entry = pkg.browser[pkg.main];
  if (typeof entry !== 'string') throw new Error('qrcode no longer maps its main entry in "browser"');
  return require.resolve(`qrcode/${entry.replace(/^\.\//, '')}`);
}

vi.mock('qrcode', async () => {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const pkg = require('qrcode/package.json') as { main: string; browser: Record<string, string | false> };
  return { default: require(`qrcode/${String(pkg.browser[pkg.main]).replace(/^\.\//, '')}`) };
});

const URI = 'otpauth://totp/Example%20App:alice%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Example%20App';

/** The PNG bytes of a `data:image/png;base64,` URL. */
function dataUrlBytes(url: string): Buffer {
  expect(url).toMatch(/^data:image\/png;base64,/);
  return Buffer.from(url.slice(url.indexOf(',') + 1), 'base64');
}

describe("renderQr with qrcode's browser build (what wrangler bundles)", () => {
  it('is the build from the "browser" field, without the toBuffer issue 12 tripped on', () => {
    expect(browserEntry()).toMatch(/qrcode[\\/]lib[\\/]browser\.js$/);
    expect(QRCode).toBe(require(browserEntry()));
    expect('toBuffer' in QRCode).toBe(false);
    expect(typeof QRCode.create).toBe('function');
  });

  it('renders every format, PNG and data URL decoding to the URI', async () => {
    expect(decodeQrFromPng(await renderQr(URI, { format: 'png' }))).toBe(URI);
    expect(decodeQrFromPng(dataUrlBytes(await renderQr(URI, { format: 'dataUrl', scale: 3 })))).toBe(URI);
    expect(await renderQr(URI, { format: 'svg' })).toMatch(/^<svg [^>]*viewBox="0 0 53 53"/);
    expect(await renderQr(URI, { format: 'terminal' })).toContain('█');
  });
});

describe('renderQr bundled as wrangler does, run with only web-platform globals', () => {
  const bundle = build({
    entryPoints: [fileURLToPath(new URL('../src/qr.ts', import.meta.url))],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: 'twofoldQr',
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    metafile: true,
    logLevel: 'silent',
  });

  it("takes qrcode's browser build, and nothing of its Node renderer, pngjs or fs", async () => {
    const inputs = Object.keys((await bundle).metafile.inputs);
    // (Paths are relative to where node_modules really is: a symlinked checkout prefixes them.)
    expect(inputs.filter((path) => path.endsWith('node_modules/qrcode/lib/browser.js'))).toHaveLength(1);
    expect(inputs.filter((path) => /qrcode\/lib\/(index|server)\.js|renderer\/png|pngjs|\bfs\b/.test(path))).toEqual([]);
  });

  // A Worker without nodejs_compat (no process: CompressionStream deflates), and with it (node:zlib does).
  const runtimes: [string, Record<string, unknown>][] = [
    ['no process, no Buffer', {}],
    ['process.getBuiltinModule (nodejs_compat)', { process: { getBuiltinModule: (id: string) => process.getBuiltinModule(id) } }],
  ];

  it.each(runtimes)('renders every format: %s', async (_, extra) => {
    const context = vm.createContext({ TextEncoder, CompressionStream, btoa, ...extra });
    vm.runInContext((await bundle).outputFiles[0]!.text, context);
    const qr = (context as { twofoldQr: { renderQr: typeof renderQr } }).twofoldQr;

    expect(decodeQrFromPng(await qr.renderQr(URI, { format: 'png' }))).toBe(URI);
    expect(decodeQrFromPng(dataUrlBytes(await qr.renderQr(URI, { format: 'dataUrl' })))).toBe(URI);
    expect(await qr.renderQr(URI, { format: 'svg' })).toBe(await renderQr(URI, { format: 'svg' }));
    expect(await qr.renderQr(URI, { format: 'terminal' })).toBe(await renderQr(URI, { format: 'terminal' }));
    const error = await qr.renderQr(URI, { format: 'png', scale: 0 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'MfaError', code: 'invalid_argument' });
  });

  it('fails with an MfaError, not a TypeError, where no compressor exists at all', async () => {
    const context = vm.createContext({ TextEncoder, btoa });
    vm.runInContext((await bundle).outputFiles[0]!.text, context);
    const qr = (context as { twofoldQr: { renderQr: typeof renderQr } }).twofoldQr;
    const error = await qr.renderQr(URI, { format: 'dataUrl' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'MfaError', code: 'unsupported_runtime' });
    expect(await qr.renderQr(URI, { format: 'svg' })).toMatch(/^<svg/);
  });
});
