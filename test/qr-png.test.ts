import { crc32 as zlibCrc32, inflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isMfaError } from '../src/errors.ts';
import { crc32, deflateWithCompressionStream, encodeBilevelPng } from '../src/qr-png.ts';
import { renderQr, renderQrAtLevel, type ErrorCorrectionLevel } from '../src/qr.ts';
import { decodeQrFromPng } from './support/setup-screenshot.ts';

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const TYPICAL = `otpauth://totp/Example%20App:alice%40example.com?secret=${SECRET}&issuer=Example%20App`;
const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

interface Chunk {
  type: string;
  data: Buffer;
  crc: number;
  /** CRC-32 of type and data computed by node:zlib, independently of twofold's table. */
  expectedCrc: number;
}

function readChunks(png: Uint8Array): Chunk[] {
  const bytes = Buffer.from(png);
  expect([...bytes.subarray(0, 8)]).toEqual(SIGNATURE);
  const chunks: Chunk[] = [];
  for (let at = 8; at < bytes.length; ) {
    const length = bytes.readUInt32BE(at);
    chunks.push({
      type: bytes.toString('latin1', at + 4, at + 8),
      data: bytes.subarray(at + 8, at + 8 + length),
      crc: bytes.readUInt32BE(at + 8 + length),
      expectedCrc: zlibCrc32(bytes.subarray(at + 4, at + 8 + length)),
    });
    at += 12 + length;
  }
  return chunks;
}

function readHeader(png: Uint8Array) {
  const ihdr = readChunks(png)[0]!.data;
  return {
    width: ihdr.readUInt32BE(0),
    height: ihdr.readUInt32BE(4),
    bitDepth: ihdr[8],
    colorType: ihdr[9],
    compression: ihdr[10],
    filter: ihdr[11],
    interlace: ihdr[12],
  };
}

describe('the QR code PNG', () => {
  it('is signature, IHDR, one IDAT, IEND, each chunk with its CRC-32', async () => {
    const chunks = readChunks(await renderQr(TYPICAL, { format: 'png' }));
    expect(chunks.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    expect(chunks[0]!.data).toHaveLength(13);
    expect(chunks[2]!.data).toHaveLength(0);
    for (const chunk of chunks) expect(chunk.crc).toBe(chunk.expectedCrc);
  });

  it('is 1-bit grayscale, deflate, no interlace, and as wide as the symbol and quiet zone times the scale', async () => {
    for (const scale of [1, 6, 32]) {
      const png = await renderQr(TYPICAL, { format: 'png', scale });
      // The typical URI (108 bytes) needs version 7 at level M: 45 modules, 53 with the quiet zone.
      expect(readHeader(png)).toEqual({ width: 53 * scale, height: 53 * scale, bitDepth: 1, colorType: 0, compression: 0, filter: 0, interlace: 0 });
    }
  });

  it.each([1, 3, 6, 32])('holds exactly 1 bit per pixel, rows packed 8 pixels a byte after filter byte 0 (scale %i)', async (scale) => {
    const png = await renderQr(TYPICAL, { format: 'png', scale });
    const { width, height } = readHeader(png);
    const raw = inflateSync(readChunks(png)[1]!.data);
    const stride = 1 + Math.ceil(width / 8);
    expect(raw).toHaveLength(height * stride);
    for (let y = 0; y < height; y++) expect(raw[y * stride]).toBe(0);
    // Only pure black and pure white once decoded, white in the corners (the quiet zone).
    const image = PNG.sync.read(Buffer.from(png));
    expect(new Set(image.data)).toEqual(new Set([0, 255]));
    expect([...image.data.subarray(0, 4)]).toEqual([255, 255, 255, 255]);
  });

  it('makes a typical otpauth data URL of at most 4,000 characters at the default scale', async () => {
    const url = await renderQr(TYPICAL, { format: 'dataUrl' });
    console.info(`typical otpauth URI: PNG ${(await renderQr(TYPICAL, { format: 'png' })).length} bytes, data URL ${url.length} characters`);
    expect(url.length).toBeLessThanOrEqual(4000);
  });

  it.each(['L', 'M', 'Q', 'H'] as ErrorCorrectionLevel[])('stays small at level %s and the largest scale', async (level) => {
    const url = (await renderQrAtLevel(TYPICAL, { format: 'dataUrl', scale: 32 }, level)) as string;
    expect(url.length).toBeLessThanOrEqual(16_000);
  });

  it('renders the largest image the API offers, version 40 at scale 32, in 1 bit per pixel', async () => {
    const png = await renderQr('a'.repeat(2331), { format: 'png', scale: 32 });
    // 177 modules, 185 with the quiet zone.
    expect(readHeader(png)).toMatchObject({ width: 185 * 32, height: 185 * 32, bitDepth: 1 });
    expect(inflateSync(readChunks(png)[1]!.data)).toHaveLength(185 * 32 * (1 + 185 * 4));
  });
});

describe('encodeBilevelPng', () => {
  it('stores set bits as white and clear bits as black, ignoring the padding bits', async () => {
    // 10 × 2: row 0 alternates black and white from black; row 1 is white but for its last pixel.
    const png = await encodeBilevelPng(10, 2, Uint8Array.of(0b0101_0101, 0b0111_1111, 0b1111_1111, 0b1011_1111));
    const image = PNG.sync.read(Buffer.from(png));
    const gray = [...image.data].filter((_, i) => i % 4 === 0);
    expect(gray).toEqual([0, 255, 0, 255, 0, 255, 0, 255, 0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0]);
  });
});

describe('crc32', () => {
  it.each([
    ['', 0],
    ['123456789', 0xcbf43926], // the check value of CRC-32/ISO-HDLC
    ['IEND', 0xae426082], // the CRC every PNG ends with
  ])('of %j is %i', (text, expected) => {
    expect(crc32(new TextEncoder().encode(text))).toBe(expected);
  });
});

describe('without node:zlib (a Worker without nodejs_compat, a browser)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllGlobals();
  });

  const hideNodeZlib = () => vi.spyOn(process, 'getBuiltinModule').mockReturnValue(undefined as never);

  it('deflates with CompressionStream into a zlib stream node:zlib inflates', async () => {
    const data = new Uint8Array(100_000).map((_, i) => (i * 7) % 251);
    expect(inflateSync(await deflateWithCompressionStream(data)).equals(data)).toBe(true);
  });

  it('renders PNG and data URL through CompressionStream, decoding to the URI', async () => {
    const spy = hideNodeZlib();
    const png = await renderQr(TYPICAL, { format: 'png' });
    const url = await renderQr(TYPICAL, { format: 'dataUrl' });
    expect(spy).toHaveBeenCalledWith('node:zlib');
    expect(decodeQrFromPng(png)).toBe(TYPICAL);
    expect(url).toBe(`data:image/png;base64,${Buffer.from(png).toString('base64')}`);
    expect(readChunks(png).every((c) => c.crc === c.expectedCrc)).toBe(true);
  });

  it('fails with an MfaError naming the way out, not a TypeError, when there is no compressor either', async () => {
    hideNodeZlib();
    vi.stubGlobal('CompressionStream', undefined);
    for (const format of ['png', 'dataUrl'] as const) {
      const error = await renderQr(TYPICAL, { format }).catch((e: unknown) => e);
      expect(isMfaError(error, 'unsupported_runtime')).toBe(true);
      expect((error as Error).message).toMatch(/node:zlib or CompressionStream.*svg/);
      expect((error as Error).message).not.toContain(SECRET);
    }
    // SVG and terminal text need no compressor.
    await expect(renderQr(TYPICAL, { format: 'svg' })).resolves.toMatch(/^<svg/);
    await expect(renderQr(TYPICAL, { format: 'terminal' })).resolves.toContain('█');
  });
});
