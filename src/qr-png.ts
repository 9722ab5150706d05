import { MfaError } from './errors.ts';

/**
 * A minimal PNG encoder for bilevel images (ISO/IEC 15948: colour type 0,
 * bit depth 1), which is what a QR code is: 1 bit per pixel instead of the
 * 32 of an RGBA image, so the file is several times smaller and faster to
 * compress. It needs no canvas, DOM or `fs`, only a zlib compressor:
 * `node:zlib` where the runtime has it, else the web `CompressionStream`
 * (Node, Deno, Bun, Cloudflare Workers).
 */

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const BIT_DEPTH = 1;
const COLOR_TYPE_GRAYSCALE = 0;
const FILTER_NONE = 0;

/**
 * Encodes a black-and-white image as a PNG.
 *
 * `rows` holds `height` rows of `Math.ceil(width / 8)` bytes each, 8 pixels
 * per byte, leftmost pixel in the high bit; a set bit is white, a clear bit
 * black (PNG's grayscale sample), and the padding bits of a row are ignored.
 *
 * @throws {MfaError} `unsupported_runtime` when the runtime has neither
 * `node:zlib` nor `CompressionStream`, so no PNG can be made.
 */
export async function encodeBilevelPng(width: number, height: number, rows: Uint8Array): Promise<Uint8Array> {
  const stride = Math.ceil(width / 8);
  // Every scanline starts with its filter type; 0 keeps encoding a plain copy.
  const scanlines = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    scanlines[y * (stride + 1)] = FILTER_NONE;
    scanlines.set(rows.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = BIT_DEPTH;
  header[9] = COLOR_TYPE_GRAYSCALE;
  // Bytes 10..12: compression 0 (deflate), filter method 0, no interlace.
  return concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', await deflate(scanlines)), chunk('IEND', new Uint8Array(0))]);
}

/** A zlib stream (RFC 1950) of `data`, as the IDAT chunk holds it. */
async function deflate(data: Uint8Array): Promise<Uint8Array> {
  const zlib = nodeZlib();
  if (zlib) return zlib.deflateSync(data);
  if (typeof CompressionStream === 'function') return deflateWithCompressionStream(data);
  throw new MfaError(
    'unsupported_runtime',
    'PNG encoding needs node:zlib or CompressionStream, and this runtime has neither; render the QR code as svg instead',
  );
}

/** The web platform's zlib compressor ('deflate' is the RFC 1950 wrapping PNG wants). */
export async function deflateWithCompressionStream(data: Uint8Array): Promise<Uint8Array> {
  const stream = new CompressionStream('deflate');
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  // Written and read at once: a write waits for its chunk to be read.
  const writing = writer.write(data).then(() => writer.close());
  const reading = (async () => {
    const chunks: Uint8Array[] = [];
    for (let next = await reader.read(); !next.done; next = await reader.read()) chunks.push(next.value);
    return chunks;
  })();
  const [, chunks] = await Promise.all([writing, reading]);
  return concat(chunks);
}

/**
 * `node:zlib` through `process.getBuiltinModule`, so that no bundler has to
 * resolve a `node:` import: Node ≥ 20.16, Bun, Deno and workerd with
 * nodejs_compat have it; elsewhere this is undefined.
 */
function nodeZlib(): { deflateSync: (data: Uint8Array) => Uint8Array } | undefined {
  try {
    const zlib = globalThis.process?.getBuiltinModule?.('node:zlib');
    return typeof zlib?.deflateSync === 'function' ? zlib : undefined;
  } catch {
    return undefined;
  }
}

/** Length, type, data, and the CRC-32 of type and data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

const CRC_TABLE = /* @__PURE__ */ (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO 3309, reflected polynomial 0xEDB88320), as PNG chunks carry it. */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
