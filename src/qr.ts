import QRCode from 'qrcode';
import { MfaError } from './errors.ts';
import { encodeBilevelPng } from './qr-png.ts';

/** Output formats of {@link renderQr}. */
export type QrFormat = 'dataUrl' | 'png' | 'svg' | 'terminal';

/** Options of {@link renderQr}. */
export interface RenderQrOptions {
  /**
   * `dataUrl`: a `data:image/png;base64,...` string for an `<img src>`;
   * `png`: the PNG bytes; `svg`: an `<svg>` document that scales to its box;
   * `terminal`: text with ANSI colours for a console.
   */
  format: QrFormat;
  /**
   * Pixels per QR module for `png` and `dataUrl`, an integer 1..32
   * (default 6: a typical otpauth URI gives a ~320 px image). Ignored by
   * `svg` and `terminal`.
   */
  scale?: number;
}

/**
 * Error correction 'M' recovers ~15% damage: enough for glare and moiré when
 * a phone films a screen, while keeping the symbol a version or two smaller
 * than 'Q'/'H', so each module stays larger at the same image size.
 */
const ERROR_CORRECTION = 'M';
/** The quiet zone the QR spec (ISO/IEC 18004) requires: 4 modules of light border. */
const MARGIN_MODULES = 4;
const DEFAULT_SCALE = 6;
const MAX_SCALE = 32;

/** The four error-correction levels of ISO/IEC 18004, from ~7% to ~30% recoverable damage. */
export type ErrorCorrectionLevel = 'L' | 'M' | 'Q' | 'H';
/** Byte-mode capacity of the largest symbol (version 40) at each level. */
const MAX_BYTES: Record<ErrorCorrectionLevel, number> = { L: 2953, M: 2331, Q: 1663, H: 1273 };

const ANSI_DARK_ON_LIGHT = '\x1b[30;47m';
const ANSI_RESET = '\x1b[0m';

/** A QR symbol without its quiet zone: `size × size` modules, row by row, 1 = dark. */
interface Modules {
  size: number;
  data: Uint8Array;
}

/**
 * Renders `uri` (normally an otpauth:// URI) as a QR code a phone camera can
 * scan: a PNG data URL, PNG bytes, an SVG document, or terminal text.
 *
 * The text is encoded as a single UTF-8 byte segment, so every scanner reads
 * back exactly the same string. Error correction is level M (robust enough for
 * a photographed screen, modules stay large) with the 4-module quiet zone the
 * spec requires, in every format, terminal included; every format is dark on
 * light whatever the page or terminal theme, since many scanners cannot read
 * an inverted code. The PNG is 1 bit per pixel, made without canvas, DOM or
 * `fs`, so every format works in Node, Deno, Bun and Cloudflare Workers.
 *
 * The URI holds the TOTP secret, so error messages never include it.
 *
 * @throws {MfaError} `invalid_argument` when `uri` is not a non-empty,
 * well-formed string, is too long for a QR code, or `options` are invalid;
 * also for `png` and `dataUrl` on a runtime with neither `node:zlib` nor
 * `CompressionStream`.
 *
 * @example
 * ```ts
 * import { buildOtpauthUri, generateSecret, renderQr } from 'twofold';
 *
 * const uri = buildOtpauthUri({ issuer: 'Example App', accountName: 'alice@example.com', secret: generateSecret() });
 * const dataUrl = await renderQr(uri, { format: 'dataUrl' });     // 'data:image/png;base64,...' for <img src>
 * const png = await renderQr(uri, { format: 'png', scale: 8 });   // Uint8Array
 * console.log(await renderQr(uri, { format: 'terminal' }));       // scan it from the console
 * ```
 */
export function renderQr(uri: string, options: { format: 'png'; scale?: number }): Promise<Uint8Array>;
export function renderQr(uri: string, options: { format: 'dataUrl' | 'svg' | 'terminal'; scale?: number }): Promise<string>;
export function renderQr(uri: string, options: RenderQrOptions): Promise<string | Uint8Array>;
export function renderQr(uri: string, options: RenderQrOptions): Promise<string | Uint8Array> {
  return renderQrAtLevel(uri, options, ERROR_CORRECTION);
}

/**
 * {@link renderQr} at any error-correction level. Internal: not exported by
 * the package; the tests decode every format at every level through it.
 */
export async function renderQrAtLevel(uri: string, options: RenderQrOptions, level: ErrorCorrectionLevel): Promise<string | Uint8Array> {
  const bytes = encodeUri(uri, level);
  const { format, scale } = checkOptions(options);
  const modules = createModules(bytes, level);
  switch (format) {
    case 'png':
      return renderPng(modules, scale);
    case 'dataUrl':
      return `data:image/png;base64,${toBase64(await renderPng(modules, scale))}`;
    case 'svg':
      return renderSvg(modules);
    case 'terminal':
      return renderTerminal(modules);
  }
}

function encodeUri(uri: unknown, level: ErrorCorrectionLevel): Uint8Array {
  if (typeof uri !== 'string' || uri.length === 0) {
    throw new MfaError('invalid_argument', 'renderQr: uri must be a non-empty string');
  }
  // A lone surrogate would be encoded as U+FFFD and scan back as another string.
  if (/\p{Cs}/u.test(uri)) {
    throw new MfaError('invalid_argument', 'renderQr: uri must be well-formed Unicode');
  }
  const bytes = new TextEncoder().encode(uri);
  if (bytes.length > MAX_BYTES[level]) {
    throw new MfaError('invalid_argument', `renderQr: uri is ${bytes.length} bytes, a QR code holds at most ${MAX_BYTES[level]}`);
  }
  return bytes;
}

function checkOptions(options: unknown): { format: QrFormat; scale: number } {
  if (typeof options !== 'object' || options === null) {
    throw new MfaError('invalid_argument', 'renderQr: options must be an object with a format');
  }
  const { format, scale = DEFAULT_SCALE } = options as Partial<RenderQrOptions>;
  if (format !== 'dataUrl' && format !== 'png' && format !== 'svg' && format !== 'terminal') {
    throw new MfaError('invalid_argument', "renderQr: format must be 'dataUrl', 'png', 'svg' or 'terminal'");
  }
  if (!Number.isInteger(scale) || scale < 1 || scale > MAX_SCALE) {
    throw new MfaError('invalid_argument', `renderQr: scale must be an integer from 1 to ${MAX_SCALE}`);
  }
  return { format, scale };
}

/**
 * The symbol from qrcode's matrix API, which its Node and browser builds
 * (the one a Workers bundler picks) both have; twofold draws every format itself.
 */
function createModules(bytes: Uint8Array, level: ErrorCorrectionLevel): Modules {
  if (typeof QRCode?.create !== 'function') {
    throw new MfaError('unsupported_runtime', 'renderQr: the qrcode package was bundled without its create() function');
  }
  return QRCode.create([{ data: bytes, mode: 'byte' }], { errorCorrectionLevel: level }).modules;
}

/** `scale` pixels per module, quiet zone included, as a 1-bit PNG. */
function renderPng({ size, data }: Modules, scale: number): Promise<Uint8Array> {
  const side = (size + 2 * MARGIN_MODULES) * scale;
  const stride = Math.ceil(side / 8);
  const rows = new Uint8Array(stride * side).fill(0xff); // all white
  for (let r = 0; r < size; r++) {
    const top = (r + MARGIN_MODULES) * scale * stride;
    for (let c = 0; c < size; c++) {
      if (data[r * size + c] !== 1) continue;
      const left = (c + MARGIN_MODULES) * scale;
      for (let x = left; x < left + scale; x++) rows[top + (x >> 3)]! &= ~(0x80 >> (x & 7));
    }
    for (let k = 1; k < scale; k++) rows.copyWithin(top + k * stride, top, top + stride);
  }
  return encodeBilevelPng(side, side, rows);
}

/**
 * One `<path>` stroking each horizontal run of dark modules, on a white
 * background, in a viewBox that includes the quiet zone.
 */
function renderSvg({ size, data }: Modules): string {
  const side = size + 2 * MARGIN_MODULES;
  let path = '';
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      if (data[r * size + c] !== 1) continue;
      const start = c;
      while (c + 1 < size && data[r * size + c + 1] === 1) c++;
      path += `M${start + MARGIN_MODULES} ${r + MARGIN_MODULES + 0.5}h${c + 1 - start}`;
    }
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${side} ${side}" shape-rendering="crispEdges">` +
    `<rect width="${side}" height="${side}" fill="#fff"/><path stroke="#000" d="${path}"/></svg>`
  );
}

/**
 * Two module rows per text line with half blocks, so modules come out about
 * square in a terminal cell, black on white whatever the terminal theme.
 */
function renderTerminal({ size, data }: Modules): string {
  const full = size + 2 * MARGIN_MODULES;
  const dark = (row: number, col: number): boolean => {
    const r = row - MARGIN_MODULES;
    const c = col - MARGIN_MODULES;
    return r >= 0 && r < size && c >= 0 && c < size && data[r * size + c] === 1;
  };
  const lines: string[] = [];
  for (let row = 0; row < full; row += 2) {
    let line = '';
    for (let col = 0; col < full; col++) {
      const top = dark(row, col);
      const bottom = dark(row + 1, col);
      line += top ? (bottom ? '█' : '▀') : bottom ? '▄' : ' ';
    }
    lines.push(ANSI_DARK_ON_LIGHT + line + ANSI_RESET);
  }
  return `${lines.join('\n')}\n`;
}

/** Standard base64 with `btoa`, which every runtime has (unlike `Buffer`). */
function toBase64(bytes: Uint8Array): string {
  let binary = '';
  // In slices, since String.fromCharCode takes its bytes as arguments.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
