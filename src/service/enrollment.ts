/**
 * Adding an authenticator app: begin (a fresh secret, pending until
 * confirmed) and confirm (the first valid code proves the app holds it; the
 * app becomes a factor, and the first factor enables MFA with a recovery-code
 * set, revealable once). A user who already holds a factor must prove it
 * first (`proof`, e.g. a step-up grant): a stolen session alone can never
 * add the thief's factor.
 */
import { MfaError } from '../errors.ts';
import type { MfaRecord } from '../stores/types.ts';
import { assertUserId, SEAL_TOTP, type Decision, type ServiceContext } from './context.ts';
import { addFactor, withAddFactorProof } from './factor-management.ts';
import { checkLabel } from './factors/factor.ts';
import { isTotpCode, matchTotpStep, newTotpSecret, totpFactorOf } from './factors/totp.ts';
import { moveToCurrentKey, underDroppedKey } from './key-rotation.ts';
import { activeLock, lockedResult } from './lock.ts';
import { DEFAULT_TOTP_LABEL, newFactorId, withChanges } from './record.ts';
import { newCodeSet } from './recovery-code-set.ts';
import type { BeginEnrollmentResult, BeginEnrollmentSuccess, ConfirmEnrollmentResult, Proof } from './results.ts';
import { encodeBase32 } from '../otp/base32.ts';
import { buildOtpauthUri } from '../otp/index.ts';
import { renderQr } from '../qr.ts';

/** Options of `MfaService.beginEnrollment`. */
export interface BeginEnrollmentOptions {
  /** Shown in the authenticator app beside the issuer (e.g. the email address). No ":". */
  accountName: string;
  /** The factor's name in `listFactors`. Default "Authenticator app". */
  label?: string;
  /** Required when the user already holds a factor: a step-up grant or a code. */
  proof?: Proof;
  /**
   * Default false: while a pending enrollment is live, the same one is
   * shown again (same secret, same QR code, same expiry; `resumed: true`),
   * so a mistyped code or a reload never replaces the entry the user just
   * scanned. `true` starts over with a new secret.
   */
  restart?: boolean;
}

/** `MfaService.beginEnrollment`. */
export async function beginEnrollment(ctx: ServiceContext, userId: string, options: BeginEnrollmentOptions): Promise<BeginEnrollmentResult> {
  assertUserId(userId);
  const given = (options ?? {}) as Partial<Record<keyof BeginEnrollmentOptions, unknown>>;
  const label = given.label === undefined ? null : checkLabel(given.label);
  if (label === null && given.label !== undefined) throw new MfaError('invalid_argument', 'label must be 1 to 64 characters without control characters');
  if (given.restart !== undefined && typeof given.restart !== 'boolean') throw new MfaError('invalid_argument', 'restart must be a boolean');
  const { secret, uri, sealed } = await newTotpSecret(ctx, userId, given.accountName);
  // Rendered only when the new secret is what gets shown (not when a live pending one is shown again), once.
  let qrDataUrl: Promise<string> | null = null;
  const o = ctx.options;
  const start = async (record: MfaRecord, now: number): Promise<Decision<BeginEnrollmentResult>> => {
    const pending = record.pendingTotp;
    // (One sealed under a key the service no longer holds can never be shown or confirmed: a new one replaces it.)
    if (given.restart !== true && pending !== null && pending.factorEpoch === record.factorEpoch && pending.expiresAt > now && !underDroppedKey(ctx, pending.secret)) {
      // The live one again. Reached only past the same gate as a new one (a
      // proof for a user who holds a factor), so it shows nothing a new call would not.
      // (`record` is written back unchanged but for what a proof changed, and
      // for what a retired key sealed, sealed again under the current one.)
      return { write: moveToCurrentKey(ctx, userId, record, now).record, result: { ...(await showPendingTotp(ctx, userId, record, pending)), resumed: true } };
    }
    const expiresAt = now + o.enrollmentTtlMs;
    return {
      write: withChanges(record, {
        pendingTotp: { secret: sealed, expiresAt, algorithm: o.algorithm, digits: o.digits, period: o.period, label, factorEpoch: record.factorEpoch },
        accountName: given.accountName as string,
      }),
      result: { ok: true, secret, uri, qrDataUrl: await (qrDataUrl ??= renderQr(uri, { format: 'dataUrl' })), expiresAt },
      events: [{ type: 'enrollment.started', userId, at: now, expiresAt }],
    };
  };
  // At most one app: remove it first to replace it.
  const refuse = (record: MfaRecord): BeginEnrollmentResult | null =>
    totpFactorOf(record) !== null ? { ok: false, reason: 'already_enabled' } : null;
  return withAddFactorProof<BeginEnrollmentResult>(ctx, userId, given.proof as Proof | undefined, refuse, start) as Promise<BeginEnrollmentResult>;
}

/** The secret, URI and QR code of a live pending enrollment, as first shown. */
async function showPendingTotp(
  ctx: ServiceContext,
  userId: string,
  record: MfaRecord,
  pending: NonNullable<MfaRecord['pendingTotp']>,
): Promise<BeginEnrollmentSuccess> {
  const key = ctx.ring.open(pending.secret, userId, SEAL_TOTP);
  const secret = encodeBase32(key);
  key.fill(0);
  const uri = buildOtpauthUri({
    issuer: ctx.options.issuer,
    accountName: record.accountName ?? userId,
    secret,
    algorithm: pending.algorithm,
    digits: pending.digits,
    period: pending.period,
  });
  return { ok: true, secret, uri, qrDataUrl: await renderQr(uri, { format: 'dataUrl' }), expiresAt: pending.expiresAt };
}

/** `MfaService.confirmEnrollment`. */
export async function confirmEnrollment(ctx: ServiceContext, userId: string, code: string): Promise<ConfirmEnrollmentResult> {
  assertUserId(userId);
  const set = newCodeSet(ctx);
  const factorId = newFactorId();
  let codes: { hashes: string[]; generation: number } | null = null;
  return ctx.update<ConfirmEnrollmentResult>(userId, (record, now) => {
    // A lock holds against whoever holds the pending secret: support may have
    // locked the account on a suspected takeover. The code is not looked at.
    const lock = activeLock(record, now);
    if (lock) return { write: null, result: lockedResult(lock) };
    if (totpFactorOf(record) !== null) return { write: null, result: { ok: false, reason: 'already_enabled' } };
    const pending = record.pendingTotp;
    // Begun before a factor was added or removed: it was allowed under other factors, so it is void.
    if (pending === null || pending.factorEpoch !== record.factorEpoch) return { write: null, result: { ok: false, reason: 'not_enrolling' } };
    if (pending.expiresAt <= now) return { write: null, result: { ok: false, reason: 'expired' } };
    // Sealed under a key the service no longer holds: it can never be confirmed; begin again.
    if (underDroppedKey(ctx, pending.secret)) return { write: null, result: { ok: false, reason: 'not_enrolling' } };
    if (!isTotpCode(code, pending.digits)) return { write: null, result: { ok: false, reason: 'malformed' } };
    const step = matchTotpStep(ctx, userId, pending.secret, pending, code, now);
    if (step === null) return { write: null, result: { ok: false, reason: 'invalid_code' } };
    const added = addFactor(ctx, userId, withChanges(record, { pendingTotp: null }), {
      id: factorId,
      kind: 'totp',
      label: pending.label ?? DEFAULT_TOTP_LABEL,
      createdAt: now,
      lastUsedAt: null,
      secret: pending.secret,
      algorithm: pending.algorithm,
      digits: pending.digits,
      period: pending.period,
      // The confirming code's step is spent: it cannot be replayed for a login.
      lastStep: step,
    }, now, set);
    codes = added.codes;
    // Begun before a key rotation: the new factor's secret is sealed again under the current key.
    return { write: moveToCurrentKey(ctx, userId, added.write, now).record, result: { ok: true, factorId }, events: added.events };
  }, async () => {
    // After the record commits: the store learns the new set. Should this
    // fail, the old set is already dead (hashes are bound to the set id)
    // and revealRecoveryCodes writes the set again before showing it.
    if (codes !== null) await ctx.codes.replace(userId, codes.hashes, codes.generation);
  });
}
