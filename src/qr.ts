import QRCode from 'qrcode';
import { MfaError } from './errors.ts';

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
   * (default 6: a typical otpauth URI gives a ~340 px image). Ignored by
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
/** Byte-mode capacity of the largest symbol (version 40) at level M. */
const MAX_BYTES = 2331;

const ANSI_DARK_ON_LIGHT = '\x1b[30;47m';
const ANSI_RESET = '\x1b[0m';

/**
 * Renders `uri` (normally an otpauth:// URI) as a QR code a phone camera can
 * scan: a PNG data URL, PNG bytes, an SVG document, or terminal text.
 *
 * The text is encoded as a single UTF-8 byte segment, so every scanner reads
 * back exactly the same string. Error correction is level M (robust enough for
 * a photographed screen, modules stay large) with the 4-module quiet zone the
 * spec requires, in every format, terminal included; the terminal form forces
 * dark-on-light ANSI colours, since many scanners cannot read the inverted
 * code a dark terminal theme would otherwise show.
 *
 * The URI holds the TOTP secret, so error messages never include it.
 *
 * @throws {MfaError} `invalid_argument` when `uri` is not a non-empty,
 * well-formed string, is too long for a QR code, or `options` are invalid.
 */
export function renderQr(uri: string, options: { format: 'png'; scale?: number }): Promise<Uint8Array>;
export function renderQr(uri: string, options: { format: 'dataUrl' | 'svg' | 'terminal'; scale?: number }): Promise<string>;
export function renderQr(uri: string, options: RenderQrOptions): Promise<string | Uint8Array>;
export async function renderQr(uri: string, options: RenderQrOptions): Promise<string | Uint8Array> {
  const bytes = encodeUri(uri);
  const { format, scale } = checkOptions(options);
  const segments: QRCode.QRCodeSegment[] = [{ data: bytes, mode: 'byte' }];
  const base = { errorCorrectionLevel: ERROR_CORRECTION, margin: MARGIN_MODULES } as const;

  switch (format) {
    case 'png':
    case 'dataUrl': {
      // Filter "up" makes the repeated rows of a module zero: several times
      // faster than pngjs's adaptive default, for a slightly larger file.
      const rendererOpts = { deflateLevel: 9, filterType: 2 };
      const png = await QRCode.toBuffer(segments, { ...base, scale, type: 'png', rendererOpts });
      return format === 'png' ? png : `data:image/png;base64,${png.toString('base64')}`;
    }
    case 'svg':
      return (await QRCode.toString(segments, { ...base, type: 'svg' })).trimEnd();
    case 'terminal':
      return renderTerminal(QRCode.create(segments, base));
  }
}

function encodeUri(uri: unknown): Uint8Array {
  if (typeof uri !== 'string' || uri.length === 0) {
    throw new MfaError('invalid_argument', 'renderQr: uri must be a non-empty string');
  }
  // A lone surrogate would be encoded as U+FFFD and scan back as another string.
  if (/\p{Cs}/u.test(uri)) {
    throw new MfaError('invalid_argument', 'renderQr: uri must be well-formed Unicode');
  }
  const bytes = new TextEncoder().encode(uri);
  if (bytes.length > MAX_BYTES) {
    throw new MfaError('invalid_argument', `renderQr: uri is ${bytes.length} bytes, a QR code holds at most ${MAX_BYTES}`);
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
 * Two module rows per text line with half blocks, so modules come out about
 * square in a terminal cell, black on white whatever the terminal theme.
 */
function renderTerminal(qr: QRCode.QRCode): string {
  const size = qr.modules.size;
  const full = size + 2 * MARGIN_MODULES;
  const dark = (row: number, col: number): boolean => {
    const r = row - MARGIN_MODULES;
    const c = col - MARGIN_MODULES;
    return r >= 0 && r < size && c >= 0 && c < size && qr.modules.get(r, c) === 1;
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
