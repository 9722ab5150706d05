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
import type { MfaRecord, TotpFactorRecord } from '../../stores/types.ts';
import { SEAL_TOTP, type ServiceContext } from '../context.ts';
import { underDroppedKey } from '../key-rotation.ts';
import type { EveryField } from '../record.ts';
import type { FactorCheck } from './factor.ts';

/** Bytes of TOTP key material for new enrollments (RFC 4226 recommends 160 bits). */
const SECRET_BYTES = 20;

/** A new secret for `userId`: what to show, and the sealed form for the record. */
export interface NewTotpSecret {
  secret: string;
  uri: string;
  sealed: string;
}

/** A fresh secret and its otpauth URI (the caller renders the QR code once it knows it is shown); the secret is sealed to the user before it is kept. */
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
  const sealed = ctx.ring.seal(key, userId, SEAL_TOTP);
  key.fill(0);
  return { secret, uri, sealed };
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

/** TOTP parameters a secret was enrolled with. */
type TotpParams = Pick<TotpFactorRecord, 'algorithm' | 'digits' | 'period'>;

/**
 * The time step `code` matches for the sealed secret, within the drift
 * window around `now`, or null. Uses the parameters the factor was enrolled
 * with, so a configuration change never breaks enrolled users.
 */
export function matchTotpStep(ctx: ServiceContext, userId: string, sealed: string, params: TotpParams, code: string, now: number): number | null {
  const key = ctx.ring.open(sealed, userId, SEAL_TOTP);
  const match = verifyTotp(key, code, { now, algorithm: params.algorithm, digits: params.digits, period: params.period, window: ctx.options.window });
  return match === null ? null : Math.floor(now / (params.period * 1000)) + match.delta;
}

/** The user's authenticator app, if any. */
export function totpFactorOf(record: MfaRecord): TotpFactorRecord | null {
  for (const f of record.factors) {
    if (f.kind === 'totp') return f;
  }
  return null;
}

/** Digits a TOTP code must have for this user (their app's, or the configured default). */
export function totpDigitsOf(ctx: ServiceContext, record: MfaRecord): number {
  return totpFactorOf(record)?.digits ?? ctx.options.digits;
}

/**
 * The replay rule (DESIGN §3): a code is accepted at most once, and after
 * it only a strictly later time step. Re-sending exactly the step just
 * accepted (a double click, a form posted twice, two tabs) is refused as
 * `replayed` but is not a failure: the owner must not lock themselves out
 * by succeeding. Every older step still counts. The step is written in the
 * same compare-and-set as the rest of the success, so two racing requests
 * cannot both pass. A secret sealed under a key the service no longer
 * holds can check no code: refused without counting (nothing is being
 * guessed, and the owner must not lock themselves out of their recovery
 * codes by trying); `status` reports `totp_reenroll`.
 */
export function checkTotp(ctx: ServiceContext, userId: string, record: MfaRecord, code: string, now: number): FactorCheck {
  const factor = totpFactorOf(record);
  if (factor === null) return { ok: false, reason: 'invalid_code', counted: true };
  let step: number | null;
  try {
    step = matchTotpStep(ctx, userId, factor.secret, factor, code, now);
  } catch (error) {
    // Asked only once the secret failed to open (a success never pays for the lookup).
    if (underDroppedKey(ctx, factor.secret)) return { ok: false, reason: 'invalid_code', counted: false };
    throw error;
  }
  if (step === null) return { ok: false, reason: 'invalid_code', counted: true };
  if (step === factor.lastStep) return { ok: false, reason: 'replayed', counted: false };
  if (factor.lastStep !== null && step < factor.lastStep) return { ok: false, reason: 'replayed', counted: true };
  const used: EveryField<TotpFactorRecord> = {
    id: factor.id,
    kind: factor.kind,
    label: factor.label,
    createdAt: factor.createdAt,
    lastUsedAt: now,
    secret: factor.secret,
    algorithm: factor.algorithm,
    digits: factor.digits,
    period: factor.period,
    lastStep: step,
  };
  // (One literal rather than a spread, as copyRecord explains.)
  return { ok: true, factor: used };
}
