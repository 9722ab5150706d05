/**
 * The authenticator-app factor: a fresh secret with its otpauth URI and QR
 * code, and checking a code against a sealed secret. The replay rule (only
 * a step later than the last accepted one) is applied by the caller, which
 * owns the record.
 */
import { randomBytes } from 'node:crypto';
import { MfaError } from '../../errors.ts';
import { encodeBase32 } from '../../otp/base32.ts';
import { buildOtpauthUri, verifyTotp } from '../../otp/index.ts';
import { renderQr } from '../../qr.ts';
import type { MfaRecord } from '../../stores/types.ts';
import { SEAL_TOTP, type ServiceContext } from '../context.ts';

/** Bytes of TOTP key material for new enrollments (RFC 4226 recommends 160 bits). */
const SECRET_BYTES = 20;

/** A new secret for `userId`: what to show, and the sealed form for the record. */
export interface NewTotpSecret {
  secret: string;
  uri: string;
  qrDataUrl: string;
  sealed: string;
}

/** A fresh secret, its otpauth URI and QR code; the secret is sealed to the user before it is kept. */
export async function newTotpSecret(ctx: ServiceContext, userId: string, accountName: unknown): Promise<NewTotpSecret> {
  if (typeof accountName !== 'string' || accountName.trim() === '' || accountName.length > 200 || accountName.includes(':')) {
    throw new MfaError('invalid_argument', 'accountName must be a non-empty string of at most 200 characters without ":"');
  }
  const o = ctx.options;
  const key = randomBytes(SECRET_BYTES);
  const secret = encodeBase32(key);
  let uri: string;
  try {
    uri = buildOtpauthUri({ issuer: o.issuer, accountName, secret, algorithm: o.algorithm, digits: o.digits, period: o.period });
  } catch (error) {
    // The issuer was checked at construction, so the account name is what the URI refused.
    if (error instanceof MfaError && error.code === 'invalid_uri') {
      throw new MfaError('invalid_argument', `accountName is not usable in an otpauth URI: ${error.message}`);
    }
    throw error;
  }
  const qrDataUrl = await renderQr(uri, { format: 'dataUrl' });
  const sealed = ctx.ring.seal(key, userId, SEAL_TOTP);
  key.fill(0);
  return { secret, uri, qrDataUrl, sealed };
}

/** Exactly `digits` ASCII digits. */
export function isTotpCode(value: unknown, digits: number): value is string {
  if (typeof value !== 'string' || value.length !== digits) return false;
  for (let i = 0; i < digits; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * The time step `code` matches for the sealed secret, within the drift
 * window around `now`, or null. Uses the parameters the factor was enrolled
 * with, so a configuration change never breaks enrolled users.
 */
export function matchTotpStep(ctx: ServiceContext, userId: string, sealed: string, record: MfaRecord, code: string, now: number): number | null {
  const key = ctx.ring.open(sealed, userId, SEAL_TOTP);
  const match = verifyTotp(key, code, { now, algorithm: record.algorithm, digits: record.digits, period: record.period, window: ctx.options.window });
  return match === null ? null : Math.floor(now / (record.period * 1000)) + match.delta;
}
