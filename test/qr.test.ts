import jsqr from 'jsqr';
import { PNG } from 'pngjs';
import QRCode from 'qrcode';
import { describe, expect, it } from 'vitest';
import { isMfaError } from '../src/errors.ts';
import { renderQr, renderQrAtLevel, type ErrorCorrectionLevel, type RenderQrOptions } from '../src/qr.ts';

// jsqr is CommonJS with `exports.default`: typed as the module object, at runtime also the function.
const jsQR = jsqr.default;

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
/** 64 bytes of base32 (103 characters unpadded), the size a SHA512 secret may have. */
const SECRET_64_BYTES = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA';

const URIS: readonly [string, string][] = [
  ['typical', `otpauth://totp/Example%20App:alice%40example.com?secret=${SECRET}&issuer=Example%20App`],
  ['long issuer', `otpauth://totp/${'Very%20Long%20Issuer%20Name%20'.repeat(6)}:bob?secret=${SECRET}&issuer=${'Very%20Long%20Issuer%20Name%20'.repeat(6)}`],
  ['unicode account name', `otpauth://totp/Ünïcødé:zoë@例え.jp?secret=${SECRET}&issuer=Ünïcødé`],
  ['emoji', `otpauth://totp/Rocket:🚀 launch?secret=${SECRET}`],
  ['SHA512 with a 64-byte secret', `otpauth://totp/Example:carol?secret=${SECRET_64_BYTES}&issuer=Example&algorithm=SHA512&digits=8&period=60`],
  ['ampersand, percent and spaces', 'otpauth://totp/A & B %25 Co:dave smith?secret=ABC&issuer=A & B %25 Co'],
];

const LEVELS: readonly ErrorCorrectionLevel[] = ['L', 'M', 'Q', 'H'];
/** A sample of the scales 1..32 renderQr accepts. */
const SCALES = [1, 2, 3, 6, 12, 32];

/** Decodes an RGBA image with jsQR, reading the payload bytes back as strict UTF-8. */
function decodeImage(data: Uint8Array, width: number, height: number): string {
  const result = jsQR(new Uint8ClampedArray(data), width, height);
  expect(result).not.toBeNull();
  return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(result!.binaryData));
}

function decodePng(png: Uint8Array): string {
  const image = PNG.sync.read(Buffer.from(png));
  return decodeImage(image.data, image.width, image.height);
}

/** Paints a module grid (true = dark) at 4 px per module. */
function rasterize(grid: boolean[][]): { data: Uint8Array; size: number } {
  const scale = 4;
  const size = grid.length * scale;
  const data = new Uint8Array(size * size * 4).fill(255);
  grid.forEach((row, y) =>
    row.forEach((dark, x) => {
      if (!dark) return;
      for (let dy = 0; dy < scale; dy++) {
        for (let dx = 0; dx < scale; dx++) {
          const i = ((y * scale + dy) * size + x * scale + dx) * 4;
          data.fill(0, i, i + 3);
        }
      }
    }),
  );
  return { data, size };
}

/**
 * Rebuilds the module grid, quiet zone included, from the stroked path of an
 * SVG ("M x y.5", "m dx 0", "h n"): twofold's, or qrcode's own for reference.
 */
function svgToGrid(svg: string): boolean[][] {
  const side = Number(/viewBox="0 0 (\d+) \1"/.exec(svg)![1]);
  const grid = Array.from({ length: side }, () => Array<boolean>(side).fill(false));
  const d = /<path stroke="#000(?:000)?" d="([^"]*)"/.exec(svg)![1]!;
  let x = 0;
  let y = 0;
  for (const [, cmd, a, b] of d.matchAll(/([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?/g)) {
    if (cmd === 'M') [x, y] = [Number(a), Math.floor(Number(b))];
    else if (cmd === 'm') x += Number(a);
    else for (let n = Number(a); n > 0; n--) grid[y]![x++] = true;
  }
  return grid;
}

const stripAnsi = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '');

/** Rebuilds the module grid from half blocks: each character is two module rows. */
function terminalToGrid(text: string): boolean[][] {
  const grid: boolean[][] = [];
  for (const line of stripAnsi(text).replace(/\n$/, '').split('\n')) {
    const chars = [...line];
    grid.push(chars.map((c) => c === '█' || c === '▀'));
    grid.push(chars.map((c) => c === '█' || c === '▄'));
  }
  return grid;
}

describe('renderQr', () => {
  describe.each(URIS)('%s URI', (_, uri) => {
    it('PNG decodes back to exactly the URI', async () => {
      const png = await renderQr(uri, { format: 'png' });
      expect(png).toBeInstanceOf(Uint8Array);
      expect(decodePng(png)).toBe(uri);
    });

    it('data URL decodes back to exactly the URI', async () => {
      const url = await renderQr(uri, { format: 'dataUrl' });
      expect(url).toMatch(/^data:image\/png;base64,[A-Za-z0-9+/]+=*$/);
      expect(decodePng(Buffer.from(url.slice(url.indexOf(',') + 1), 'base64'))).toBe(uri);
    });

    it('SVG is well-formed and its path decodes back to the URI', async () => {
      const svg = await renderQr(uri, { format: 'svg' });
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg.endsWith('</svg>')).toBe(true);
      expect(svg).toMatch(/viewBox="0 0 \d+ \d+"/);
      expect(svg).toContain('shape-rendering="crispEdges"');
      // A white background and one path for every dark module.
      expect(svg.match(/<rect [^>]*fill="#fff"\/>/g)).toHaveLength(1);
      expect(svg.match(/<path /g)).toHaveLength(1);
      expect(svg.match(/\/>/g)).toHaveLength(2);
      const { data, size } = rasterize(svgToGrid(svg));
      expect(decodeImage(data, size, size)).toBe(uri);
    });

    it('terminal text has equal lines and decodes back to the URI', async () => {
      const text = await renderQr(uri, { format: 'terminal' });
      const lines = text.trimEnd().split('\n');
      expect(lines.length).toBeGreaterThan(10);
      const widths = new Set(lines.map((line) => [...stripAnsi(line)].length));
      expect(widths.size).toBe(1);
      const { data, size } = rasterize(terminalToGrid(text));
      expect(decodeImage(data, size, size)).toBe(uri);
    });
  });

  describe.each(LEVELS)('error correction %s', (level) => {
    const uri = URIS[0]![1];

    it.each(SCALES)('PNG and data URL at scale %i decode back to exactly the URI', async (scale) => {
      const png = (await renderQrAtLevel(uri, { format: 'png', scale }, level)) as Uint8Array;
      expect(decodePng(png)).toBe(uri);
      const url = (await renderQrAtLevel(uri, { format: 'dataUrl', scale }, level)) as string;
      expect(url).toBe(`data:image/png;base64,${Buffer.from(png).toString('base64')}`);
    });

    it('SVG and terminal text decode back to exactly the URI', async () => {
      const svg = (await renderQrAtLevel(uri, { format: 'svg' }, level)) as string;
      const fromSvg = rasterize(svgToGrid(svg));
      expect(decodeImage(fromSvg.data, fromSvg.size, fromSvg.size)).toBe(uri);
      const text = (await renderQrAtLevel(uri, { format: 'terminal' }, level)) as string;
      const fromText = rasterize(terminalToGrid(text));
      expect(decodeImage(fromText.data, fromText.size, fromText.size)).toBe(uri);
    });

    it.each(URIS)('draws the same modules as qrcode itself (%s URI)', async (_, uri) => {
      const segments = [{ data: new TextEncoder().encode(uri), mode: 'byte' as const }];
      const reference = svgToGrid(await QRCode.toString(segments, { errorCorrectionLevel: level, margin: 4, type: 'svg' }));
      expect(svgToGrid((await renderQrAtLevel(uri, { format: 'svg' }, level)) as string)).toEqual(reference);
      expect(terminalToGrid((await renderQrAtLevel(uri, { format: 'terminal' }, level)) as string).slice(0, reference.length)).toEqual(reference);
      // Pixel for pixel the RGBA PNG qrcode's Node renderer made before.
      for (const scale of [1, 3]) {
        const ours = PNG.sync.read(Buffer.from((await renderQrAtLevel(uri, { format: 'png', scale }, level)) as Uint8Array));
        const theirs = PNG.sync.read(await QRCode.toBuffer(segments, { errorCorrectionLevel: level, margin: 4, scale, type: 'png' }));
        expect([ours.width, ours.height]).toEqual([theirs.width, theirs.height]);
        expect(ours.data.equals(theirs.data)).toBe(true);
      }
    });
  });

  it('uses error correction level M by default', async () => {
    const uri = URIS[0]![1];
    for (const format of ['png', 'dataUrl', 'svg', 'terminal'] as const) {
      expect(await renderQr(uri, { format })).toEqual(await renderQrAtLevel(uri, { format }, 'M'));
      expect(await renderQr(uri, { format })).not.toEqual(await renderQrAtLevel(uri, { format }, 'L'));
    }
  });

  it('defaults to scale 6', async () => {
    const uri = URIS[0]![1];
    expect(await renderQr(uri, { format: 'png' })).toEqual(await renderQr(uri, { format: 'png', scale: 6 }));
  });

  it('keeps the 4-module quiet zone the QR spec requires', async () => {
    const svg = await renderQr(URIS[0]![1], { format: 'svg' });
    const grid = svgToGrid(svg);
    const border = [...grid.slice(0, 4), ...grid.slice(-4)].flat().concat(grid.flatMap((row) => [...row.slice(0, 4), ...row.slice(-4)]));
    expect(border.some(Boolean)).toBe(false);
    expect(grid[4]!.slice(4, 11).every(Boolean)).toBe(true); // top of the finder pattern
  });

  it('scale sets pixels per module', async () => {
    const svg = await renderQr(URIS[0]![1], { format: 'svg' });
    const side = Number(/viewBox="0 0 (\d+)/.exec(svg)![1]);
    for (const scale of [2, 10]) {
      const image = PNG.sync.read(Buffer.from(await renderQr(URIS[0]![1], { format: 'png', scale })));
      expect(image.width).toBe(side * scale);
      expect(image.height).toBe(side * scale);
    }
  });

  it('renders the longest URI a QR code holds (2331 bytes)', async () => {
    const svg = await renderQr('a'.repeat(2331), { format: 'svg' });
    expect(svg).toContain('viewBox="0 0 185 185"'); // version 40
  });

  it.each([
    ['L', 2953],
    ['M', 2331],
    ['Q', 1663],
    ['H', 1273],
  ] as const)('level %s holds %i bytes, and one more is invalid_argument', async (level, max) => {
    const svg = (await renderQrAtLevel('a'.repeat(max), { format: 'svg' }, level)) as string;
    expect(svg).toContain('viewBox="0 0 185 185"');
    const error = await renderQrAtLevel('a'.repeat(max + 1), { format: 'svg' }, level).catch((e: unknown) => e);
    expect(isMfaError(error, 'invalid_argument')).toBe(true);
  });

  const secretUri = `otpauth://totp/X:y?secret=${SECRET}`;
  const invalid: [string, unknown, unknown][] = [
    ['a number', 42, { format: 'png' }],
    ['null', null, { format: 'png' }],
    ['undefined', undefined, { format: 'svg' }],
    ['an object', { uri: secretUri }, { format: 'svg' }],
    ['an empty string', '', { format: 'dataUrl' }],
    ['a lone surrogate', `${secretUri}\uD800`, { format: 'png' }],
    ['2332 bytes', `${secretUri}&pad=${'x'.repeat(2332)}`, { format: 'svg' }],
    ['too many multibyte characters', `${secretUri}&pad=${'é'.repeat(1200)}`, { format: 'terminal' }],
    ['no options', secretUri, undefined],
    ['an unknown format', secretUri, { format: 'jpeg' }],
    ['a missing format', secretUri, {}],
    ['scale 0', secretUri, { format: 'png', scale: 0 }],
    ['scale 2.5', secretUri, { format: 'png', scale: 2.5 }],
    ['scale 33', secretUri, { format: 'dataUrl', scale: 33 }],
    ['a string scale', secretUri, { format: 'png', scale: '4' }],
  ];

  it.each(invalid)('rejects %s with invalid_argument, without the URI in the message', async (_, uri, options) => {
    const error = await renderQr(uri as string, options as RenderQrOptions).catch((e: unknown) => e);
    expect(isMfaError(error, 'invalid_argument')).toBe(true);
    expect((error as Error).message).not.toContain(SECRET);
    expect((error as Error).message).not.toContain('otpauth');
  });
});
