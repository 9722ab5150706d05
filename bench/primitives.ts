/**
 * Primitives: TOTP verify/generate against the raw node:crypto limit,
 * otplib and otpauth on the same work, QR rendering, recovery codes, sealing.
 */
import { createHmac } from 'node:crypto';
import * as OTPAuth from 'otpauth';
import { verifySync as otplibVerifySync } from 'otplib';
import QRCode from 'qrcode';
import {
  generateRecoveryCodes,
  generateSecret,
  generateTotp,
  hashRecoveryCode,
  renderQr,
  verifyTotp,
} from '../src/index.ts';
import { createKeyRing } from '../src/seal.ts';
import { measureAsync, measurePaired, measureSync, printPaired, printTable, type Result } from './harness.ts';

/** A fixed instant in the middle of a 30 s step, so nothing crosses a boundary mid-run. */
const NOW = 1_764_000_015_000;
const STEP = Math.floor(NOW / 30_000);

export async function benchPrimitives(): Promise<Record<string, Result>> {
  const secret = generateSecret();
  const otpauthSecret = OTPAuth.Secret.fromBase32(secret);
  const keyBytes = Buffer.from(otpauthSecret.bytes);
  const valid = generateTotp(secret, { now: NOW });
  // An invalid code that is not valid at any step of the ±1 window.
  let invalid = '000000';
  for (let i = 0; verifyTotp(secret, invalid, { now: NOW }) !== null; i++) invalid = String(i).padStart(6, '0');

  // The raw limit: HMAC-SHA1 + dynamic truncation, key already decoded.
  const counter = Buffer.alloc(8);
  const rawSteps = (steps: number) => {
    let acc = 0;
    for (let i = 0; i < steps; i++) {
      counter.writeUInt32BE(STEP - 1 + i, 4);
      const mac = createHmac('sha1', keyBytes).update(counter).digest();
      const offset = mac[mac.length - 1]! & 0x0f;
      acc ^= (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
    }
    return acc;
  };

  const raw3 = measureSync('raw node:crypto HMAC+truncate ×3', () => rawSteps(3));
  const raw1 = measureSync('raw node:crypto HMAC+truncate ×1', () => rawSteps(1));
  const verifyInvalid = measureSync('verifyTotp invalid (±1, 3 HMACs)', () => verifyTotp(secret, invalid, { now: NOW }));
  const verifyValid = measureSync('verifyTotp valid current step', () => verifyTotp(secret, valid, { now: NOW }));
  const generate = measureSync('generateTotp', () => generateTotp(secret, { now: NOW }));
  const otplibInvalid = measureSync('otplib verifySync invalid (±1)', () =>
    otplibVerifySync({ secret, token: invalid, epoch: NOW / 1000, epochTolerance: 30 }),
  );
  const otplibValid = measureSync('otplib verifySync valid', () =>
    otplibVerifySync({ secret, token: valid, epoch: NOW / 1000, epochTolerance: 30 }),
  );
  const otpauthInvalid = measureSync('otpauth validate invalid (±1)', () =>
    OTPAuth.TOTP.validate({ token: invalid, secret: OTPAuth.Secret.fromBase32(secret), timestamp: NOW, window: 1 }),
  );
  const otpauthValid = measureSync('otpauth validate valid', () =>
    OTPAuth.TOTP.validate({ token: valid, secret: OTPAuth.Secret.fromBase32(secret), timestamp: NOW, window: 1 }),
  );

  const rawName = 'raw node:crypto HMAC+truncate ×3';
  printPaired('TOTP targets (alternating slices, same run)', [
    { paired: measurePaired(rawName, () => rawSteps(3), 'verifyTotp invalid (±1, 3 HMACs)', () => verifyTotp(secret, invalid, { now: NOW })), target: '≥ 0.8×' },
    { paired: measurePaired(rawName, () => rawSteps(3), 'verifyTotp valid current step', () => verifyTotp(secret, valid, { now: NOW })), target: '≥ 2×' },
    {
      paired: measurePaired('otplib verifySync invalid (±1)', () => otplibVerifySync({ secret, token: invalid, epoch: NOW / 1000, epochTolerance: 30 }), 'verifyTotp invalid (±1, 3 HMACs)', () => verifyTotp(secret, invalid, { now: NOW })),
      target: '> 1×',
    },
    {
      paired: measurePaired('otpauth validate invalid (±1)', () => OTPAuth.TOTP.validate({ token: invalid, secret: OTPAuth.Secret.fromBase32(secret), timestamp: NOW, window: 1 }), 'verifyTotp invalid (±1, 3 HMACs)', () => verifyTotp(secret, invalid, { now: NOW })),
      target: '> 1×',
    },
  ]);

  printTable('TOTP (ratio to the raw node:crypto limit for the same number of steps)', [
    { result: raw3 },
    { result: verifyInvalid, baseline: raw3, target: '≥ 0.8×' },
    { result: verifyValid, baseline: raw3, target: '≥ 2×' },
    { result: otplibInvalid, baseline: raw3 },
    { result: otplibValid, baseline: raw3 },
    { result: otpauthInvalid, baseline: raw3 },
    { result: otpauthValid, baseline: raw3 },
    { result: raw1 },
    { result: generate, baseline: raw1 },
  ]);
  printTable('verifyTotp against the other libraries on the same work', [
    { result: verifyInvalid, baseline: otplibInvalid, target: '> 1×' },
    { result: verifyInvalid, baseline: otpauthInvalid, target: '> 1×' },
    { result: verifyValid, baseline: otplibValid, target: '> 1×' },
    { result: verifyValid, baseline: otpauthValid, target: '> 1×' },
  ]);

  const uri = `otpauth://totp/Example%20App:alice%40example.com?secret=${secret}&issuer=Example%20App`;
  // The baseline: renderQr's data URL before 0.2, qrcode's RGBA PNG (Node renderer, pngjs) at the same
  // level, quiet zone, scale and encoder options, measured in this run.
  const oldDataUrl = async () => {
    const segments = [{ data: new TextEncoder().encode(uri), mode: 'byte' as const }];
    const rendererOpts = { deflateLevel: 9, filterType: 2 };
    const png = await QRCode.toBuffer(segments, { errorCorrectionLevel: 'M', margin: 4, scale: 6, type: 'png', rendererOpts });
    return `data:image/png;base64,${png.toString('base64')}`;
  };
  const qrDataUrlOld = await measureAsync('qrcode RGBA PNG data URL (old renderQr path)', oldDataUrl);
  const qrDataUrl = await measureAsync('renderQr dataUrl (1-bit PNG)', () => renderQr(uri, { format: 'dataUrl' }));
  const qrPng = await measureAsync('renderQr png (1-bit PNG)', () => renderQr(uri, { format: 'png' }));
  const qrSvg = await measureAsync('renderQr svg', () => renderQr(uri, { format: 'svg' }));
  const qrTerminal = await measureAsync('renderQr terminal', () => renderQr(uri, { format: 'terminal' }));
  const recovery = measureSync('generateRecoveryCodes(10) + hash 10', () => {
    const codes = generateRecoveryCodes(10);
    for (const code of codes) hashRecoveryCode('user-123', code);
    return codes;
  });
  const ring = createKeyRing({ secretKey: new Uint8Array(32).fill(7) });
  const sealed = ring.seal(secret, 'user-123');
  const seal = measureSync('seal a TOTP secret', () => ring.seal(secret, 'user-123'));
  const open = measureSync('open a sealed TOTP secret', () => ring.open(sealed, 'user-123'));
  printTable('QR codes (ratio: ops/s over the old path; ≥ 2× ops/s is ≤ 0.5× time)', [
    { result: qrDataUrlOld },
    { result: qrDataUrl, baseline: qrDataUrlOld, target: '≤ 0.5× time, median < 5 ms' },
    { result: qrPng, baseline: qrDataUrlOld },
    { result: qrSvg, baseline: qrDataUrlOld },
    { result: qrTerminal, baseline: qrDataUrlOld },
  ]);
  const oldLength = (await oldDataUrl()).length;
  const newLength = (await renderQr(uri, { format: 'dataUrl' })).length;
  console.log('\n| QR data URL, typical otpauth URI, scale 6 | characters | ratio | target |');
  console.log('|---|---:|---:|---|');
  console.log(`| qrcode RGBA PNG (old renderQr path) | ${oldLength.toLocaleString('en-US')} | | |`);
  console.log(`| renderQr dataUrl (1-bit PNG) | ${newLength.toLocaleString('en-US')} | ${(newLength / oldLength).toFixed(2)}× | ≤ 4,000 |`);

  printTable('Recovery codes, sealing', [
    { result: recovery },
    { result: seal },
    { result: open },
  ]);

  return { raw3, raw1, verifyInvalid, verifyValid, generate, qrDataUrl };
}
